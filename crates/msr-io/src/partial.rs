//! Partial results of a sharded run (`msr value --shard K/N`) and the checks
//! `msr merge` makes before adding them up.
//!
//! A shard values a deterministic slice of the tape ([`ShardPlan`]: contiguous
//! row groups, or contiguous rows when the tape has fewer row groups than
//! shards) and writes a *partial directory*:
//!
//! | file | what |
//! |---|---|
//! | `loan_values.parquet`, `marks.csv`, `rejects.csv` | the shard's rows, same schema as an unsharded run |
//! | `partial.json` | the portfolio accumulator's raw fixed-point sums ([`PartialSums`]) |
//! | `partial_cf.parquet` | the raw `CF[p,t]` sums, month-major, each `i128` as `hi`/`lo` `i64` columns (no rows when the run kept no matrix, as `msr value`) |
//! | `manifest.json` | [`PartialManifest`]: shard, inputs' hashes, seed, paths, and the sha256 of every file above; written last, it marks the partial complete |
//!
//! Every sum is an exact integer (`msr_core::ExactSum`'s raw `i128` at
//! 2^-48), written losslessly — decimal strings in JSON, two 64-bit halves in
//! Parquet — so adding partials reproduces the unsharded totals bit for bit.
//! Floats that must survive a round trip exactly (the OAS, a non-finite
//! loan's fields) are written as Rust's shortest round-trip decimal text,
//! because JSON parsers need not read every float back to the same bits.
//!
//! This module knows files and formats only; turning [`PartialSums`] into the
//! engine's accumulator is the binary's job (msr-io does not depend on the
//! engine).

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use arrow_array::{Array, Int64Array};
use msr_core::{DqState, Investor, Loan};
use serde::{Deserialize, Serialize};

use crate::error::IoError;
use crate::parquet_in::{
    batch_reader, info_from, next_batch, open_parquet, FloatColumn, IntColumn, ParquetInfo,
    TextColumn,
};
use crate::parquet_out::{write_parquet, Column, ColumnKind, ParquetOptions};

/// Version of the partial format; partials of another version are refused.
pub const PARTIAL_FORMAT: u32 = 1;
/// The `kind` of a partial's manifest.
pub const PARTIAL_KIND: &str = "msr-value-partial";
/// The `kind` of the manifest of a partial of `msr risk --shard K/N`.
pub const RISK_PARTIAL_KIND: &str = "msr-risk-partial";
/// A risk partial's index: the scenarios and their files ([`RiskPartialIndex`]).
pub const RISK_PARTIAL_INDEX: &str = "risk_partial.json";
/// Files every risk partial holds besides its manifest (plus the scenario
/// files its index names).
pub const RISK_PARTIAL_FILES: [&str; 2] = ["rejects.csv", RISK_PARTIAL_INDEX];
/// The completion marker of a partial directory.
pub const PARTIAL_MANIFEST: &str = "manifest.json";
/// The raw sums of a partial.
pub const PARTIAL_SUMS: &str = "partial.json";
/// The raw `CF[p,t]` sums of a partial.
pub const PARTIAL_CF: &str = "partial_cf.parquet";
/// Files every partial holds besides its manifest.
pub const PARTIAL_FILES: [&str; 5] = [
    "loan_values.parquet",
    "marks.csv",
    "rejects.csv",
    PARTIAL_SUMS,
    PARTIAL_CF,
];

/// Which shard of how many: `K/N` on the command line, `K` 0-based
/// (`0/3`, `1/3`, `2/3`), as Kubernetes' `JOB_COMPLETION_INDEX` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ShardSpec {
    /// 0-based shard index, `< count`.
    pub index: u32,
    /// Number of shards, `>= 1`.
    pub count: u32,
}

impl FromStr for ShardSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<ShardSpec, String> {
        let (k, n) = s.split_once('/').ok_or_else(|| {
            format!("`{s}` is not K/N (e.g. 0/4: shard 0 of 4, K counted from 0)")
        })?;
        let count: u32 = n
            .trim()
            .parse()
            .map_err(|_| format!("`{s}`: shard count `{n}` is not a whole number"))?;
        let index: u32 = k
            .trim()
            .parse()
            .map_err(|_| format!("`{s}`: shard index `{k}` is not a whole number"))?;
        if count == 0 {
            return Err(format!("`{s}`: the shard count must be at least 1"));
        }
        if index >= count {
            return Err(format!(
                "`{s}`: shard index {index} is out of range; shards are counted from 0, so K must be in 0..={}",
                count - 1
            ));
        }
        Ok(ShardSpec { index, count })
    }
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// How a tape is cut into shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShardBy {
    /// Contiguous ranges of whole row groups (the tape has at least as many
    /// row groups as there are shards).
    RowGroups,
    /// Contiguous ranges of rows: the shard reads the row groups covering its
    /// rows and keeps only its own (fewer row groups than shards).
    Rows,
}

/// How far above the even share `R/N` a shard of whole row groups may be
/// before the tape is cut by rows instead.
pub const BALANCE_TOLERANCE_PCT: u128 = 10;

/// The slice of a tape one shard values: a pure function of the tape's row
/// group sizes and `K/N`, so every shard and the merge agree on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardPlan {
    /// The shard.
    pub shard: ShardSpec,
    /// How the tape is cut.
    pub by: ShardBy,
    /// Row groups read (for [`ShardBy::Rows`], those covering `rows`).
    pub row_groups: Range<usize>,
    /// 0-based file rows that belong to the shard.
    pub rows: Range<u64>,
}

impl ShardPlan {
    /// Cut a tape of the given shape into `N` contiguous slices of about
    /// `R/N` of its `R` rows each.
    ///
    /// By row group when the row groups split the tape evenly: row group `g`
    /// (first row `s_g`) goes to shard `⌊s_g·N/R⌋`, and this cut is used when
    /// no shard gets more than [`BALANCE_TOLERANCE_PCT`] % above `R/N` rows.
    /// Otherwise (too few row groups, e.g. fewer than shards, or too uneven)
    /// by rows: shard `k` takes rows `⌊kR/N⌋..⌊(k+1)R/N⌋` and reads the row
    /// groups covering them (some shards may be empty when `R < N`).
    pub fn new(info: &ParquetInfo, shard: ShardSpec) -> ShardPlan {
        let n = u128::from(shard.count);
        let total = u128::from(info.num_rows);
        let starts = info.row_group_starts();
        let row_at = |g: usize| starts.get(g).copied().unwrap_or(info.num_rows);
        // First row group of shard k in the row-group cut.
        let first_group = |k: u128| starts.partition_point(|&s| u128::from(s) * n < k * total);
        let balanced = total > 0
            && (0..n).all(|k| {
                let rows = row_at(first_group(k + 1)) - row_at(first_group(k));
                u128::from(rows) * n * 100 <= total * (100 + BALANCE_TOLERANCE_PCT)
            });
        let k = u128::from(shard.index);
        if balanced {
            // The last shard also takes any trailing empty row groups.
            let end = if k + 1 == n {
                starts.len()
            } else {
                first_group(k + 1)
            };
            let row_groups = first_group(k)..end;
            let rows = row_at(row_groups.start)..row_at(row_groups.end);
            return ShardPlan {
                shard,
                by: ShardBy::RowGroups,
                row_groups,
                rows,
            };
        }
        let cut = |k: u128| (k * total / n) as u64;
        let rows = cut(k)..cut(k + 1);
        // Row groups overlapping `rows`.
        let row_groups = if rows.is_empty() {
            0..0
        } else {
            let first = starts
                .partition_point(|&s| s <= rows.start)
                .saturating_sub(1);
            let last = starts.partition_point(|&s| s < rows.end);
            first..last
        };
        ShardPlan {
            shard,
            by: ShardBy::Rows,
            row_groups,
            rows,
        }
    }

    /// The row groups to read, in file order.
    pub fn row_group_list(&self) -> Vec<usize> {
        self.row_groups.clone().collect()
    }

    /// Whether file row `row` belongs to this shard.
    pub fn contains_row(&self, row: u64) -> bool {
        self.rows.contains(&row)
    }
}

/// Raw sums of one group of loans (an investor, a status, the total).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RawGroup {
    /// Records valued.
    pub records: u64,
    /// Raw Σ UPB.
    pub upb: i128,
    /// Raw Σ value.
    pub value: i128,
    /// Raw Σ s·UPB.
    pub fee_base: i128,
}

/// A loan left out of the totals because its valuation was not finite.
#[derive(Debug, Clone, PartialEq)]
pub struct NonFiniteLoan {
    /// The loan.
    pub loan: Loan,
    /// Which output was not finite.
    pub what: String,
}

/// Counts of the rows a shard read (its own rows only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardTally {
    /// Rows of the shard read (valid + rejected).
    pub rows_read: u64,
    /// Rows that became loans.
    pub valid: u64,
    /// Rows rejected.
    pub rejected: u64,
    /// Σ remaining_term of the loans (for the loan-path-month count).
    pub loan_months: u64,
    /// Longest remaining_term (the months of cashflows.parquet).
    pub max_term: usize,
}

impl ShardTally {
    /// Add another shard's counts.
    pub fn merge(&mut self, o: &ShardTally) {
        self.rows_read += o.rows_read;
        self.valid += o.valid;
        self.rejected += o.rejected;
        self.loan_months += o.loan_months;
        self.max_term = self.max_term.max(o.max_term);
    }
}

/// A portfolio accumulator as raw fixed-point integers (mirrors
/// `msr_engine::PortfolioAccum` field by field), plus the shard's tally.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PartialSums {
    /// Number of paths.
    pub num_paths: usize,
    /// Months of the monthly arrays.
    pub months: usize,
    /// All loans valued.
    pub total: RawGroup,
    /// Σ loan_count.
    pub loan_count: u64,
    /// Raw Σ component PVs.
    pub pv: Vec<i128>,
    /// By investor, index order.
    pub by_investor: Vec<RawGroup>,
    /// By status, index order.
    pub by_status: Vec<RawGroup>,
    /// Raw Σ over loans of `V_p`, per path.
    pub path_values: Vec<i128>,
    /// Raw Σ over loans of each path's cost PV (risk's base run only; else
    /// empty).
    pub path_costs: Vec<i128>,
    /// Raw Σ over loans of each path's rate derivatives, direction-major
    /// (risk's base run with tangent derivatives only; else empty).
    pub path_tangents: Vec<i128>,
    /// Raw monthly sums, `[t][field]` (empty without full detail).
    pub monthly: Vec<Vec<i128>>,
    /// Raw `CF[p,t]`, month-major `[t·P + p]` (empty without full detail).
    pub cf: Vec<i128>,
    /// Loans left out of the totals.
    pub non_finite: Vec<NonFiniteLoan>,
    /// Row counts.
    pub tally: ShardTally,
}

// ---------------------------------------------------------------------------
// partial.json / partial_cf.parquet

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireSums {
    format: u32,
    encoding: String,
    num_paths: usize,
    months: usize,
    total: WireGroup,
    loan_count: u64,
    pv: Vec<String>,
    by_investor: Vec<WireGroup>,
    by_status: Vec<WireGroup>,
    path_values: Vec<String>,
    /// Absent (empty) except in a risk shard's base run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    path_costs: Vec<String>,
    /// Absent (empty) except in the base run of a risk shard with tangent
    /// derivatives.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    path_tangents: Vec<String>,
    monthly: Vec<Vec<String>>,
    cf_cells: usize,
    non_finite: Vec<WireNonFinite>,
    tally: ShardTally,
}

const ENCODING: &str = "raw fixed-point sums (i128 at 2^-48) as decimal strings; CF[p,t] in partial_cf.parquet as hi/lo i64";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireGroup {
    records: u64,
    upb: String,
    value: String,
    fee_base: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireNonFinite {
    what: String,
    loan: WireLoan,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireLoan {
    loan_id: String,
    #[serde(with = "f64_text")]
    upb: f64,
    #[serde(with = "f64_text")]
    note_rate: f64,
    #[serde(with = "f64_text")]
    servicing_fee: f64,
    remaining_term: u32,
    loan_age: u32,
    fico: i32,
    #[serde(with = "f64_text")]
    ltv: f64,
    investor: String,
    dq_status: String,
    property_state: String,
    #[serde(with = "f64_text")]
    escrow_monthly: f64,
    loan_count: u32,
    #[serde(with = "f64_text")]
    advance_balance: f64,
}

/// `f64` as Rust's shortest round-trip text (`{:?}`), read back with
/// `str::parse`: exact, including NaN and infinities.
mod f64_text {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{x:?}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        let text = String::deserialize(d)?;
        text.parse()
            .map_err(|_| D::Error::custom(format!("`{text}` is not a number")))
    }
}

fn group_to_wire(g: &RawGroup) -> WireGroup {
    WireGroup {
        records: g.records,
        upb: g.upb.to_string(),
        value: g.value.to_string(),
        fee_base: g.fee_base.to_string(),
    }
}

fn loan_to_wire(l: &Loan) -> WireLoan {
    WireLoan {
        loan_id: l.loan_id.clone(),
        upb: l.upb,
        note_rate: l.note_rate,
        servicing_fee: l.servicing_fee,
        remaining_term: l.remaining_term,
        loan_age: l.loan_age,
        fico: l.fico,
        ltv: l.ltv,
        investor: l.investor.code().to_string(),
        dq_status: l.dq_status.code().to_string(),
        property_state: l.state_code().to_string(),
        escrow_monthly: l.escrow_monthly,
        loan_count: l.loan_count,
        advance_balance: l.advance_balance,
    }
}

/// Reads the wire form back, naming the file and field of the first problem.
struct Decoder<'p> {
    file: &'p Path,
}

impl Decoder<'_> {
    fn bad(&self, what: String) -> IoError {
        IoError::bad_data(self.file, what)
    }

    fn int(&self, field: &str, text: &str) -> Result<i128, IoError> {
        text.parse().map_err(|_| {
            self.bad(format!(
                "`{field}`: `{text}` is not a raw fixed-point integer"
            ))
        })
    }

    fn ints(&self, field: &str, texts: &[String]) -> Result<Vec<i128>, IoError> {
        texts.iter().map(|t| self.int(field, t)).collect()
    }

    fn group(&self, field: &str, g: &WireGroup) -> Result<RawGroup, IoError> {
        Ok(RawGroup {
            records: g.records,
            upb: self.int(field, &g.upb)?,
            value: self.int(field, &g.value)?,
            fee_base: self.int(field, &g.fee_base)?,
        })
    }

    fn loan(&self, l: WireLoan) -> Result<Loan, IoError> {
        let investor: Investor = l.investor.parse().map_err(|()| {
            self.bad(format!(
                "non_finite: loan {}: investor `{}`",
                l.loan_id, l.investor
            ))
        })?;
        let dq_status: DqState = l.dq_status.parse().map_err(|()| {
            self.bad(format!(
                "non_finite: loan {}: dq_status `{}`",
                l.loan_id, l.dq_status
            ))
        })?;
        let property_state = match l.property_state.as_bytes() {
            &[a, b] => [a, b],
            _ => {
                return Err(self.bad(format!(
                    "non_finite: loan {}: property_state `{}`",
                    l.loan_id, l.property_state
                )))
            }
        };
        Ok(Loan {
            loan_id: l.loan_id,
            upb: l.upb,
            note_rate: l.note_rate,
            servicing_fee: l.servicing_fee,
            remaining_term: l.remaining_term,
            loan_age: l.loan_age,
            fico: l.fico,
            ltv: l.ltv,
            investor,
            dq_status,
            property_state,
            escrow_monthly: l.escrow_monthly,
            loan_count: l.loan_count,
            advance_balance: l.advance_balance,
        })
    }
}

/// Write a partial's sums: `json` (everything but `CF[p,t]`) and `cf` (the
/// `CF[p,t]` matrix as `hi`/`lo` `i64` columns).
///
/// # Errors
/// [`IoError`] when either file cannot be written.
pub fn write_partial_sums(
    json: impl AsRef<Path>,
    cf: impl AsRef<Path>,
    sums: &PartialSums,
) -> Result<(), IoError> {
    let wire = WireSums {
        format: PARTIAL_FORMAT,
        encoding: ENCODING.to_string(),
        num_paths: sums.num_paths,
        months: sums.months,
        total: group_to_wire(&sums.total),
        loan_count: sums.loan_count,
        pv: sums.pv.iter().map(i128::to_string).collect(),
        by_investor: sums.by_investor.iter().map(group_to_wire).collect(),
        by_status: sums.by_status.iter().map(group_to_wire).collect(),
        path_values: sums.path_values.iter().map(i128::to_string).collect(),
        path_costs: sums.path_costs.iter().map(i128::to_string).collect(),
        path_tangents: sums.path_tangents.iter().map(i128::to_string).collect(),
        monthly: sums
            .monthly
            .iter()
            .map(|row| row.iter().map(i128::to_string).collect())
            .collect(),
        cf_cells: sums.cf.len(),
        non_finite: sums
            .non_finite
            .iter()
            .map(|nf| WireNonFinite {
                what: nf.what.clone(),
                loan: loan_to_wire(&nf.loan),
            })
            .collect(),
        tally: sums.tally,
    };
    crate::json::write_json_pretty(json, &wire)?;
    // i128 = hi·2^64 + lo, lo's 64 bits stored in an i64.
    let hi = sums.cf.iter().map(|&v| (v >> 64) as i64).collect();
    let lo = sums.cf.iter().map(|&v| v as u64 as i64).collect();
    write_parquet(
        cf,
        vec![Column::i64("hi", hi), Column::i64("lo", lo)],
        ParquetOptions::default(),
    )
}

/// Read a partial's sums written by [`write_partial_sums`].
///
/// # Errors
/// [`IoError`] when a file cannot be read or is not a partial's sums
/// ([`IoError::BadData`] names the field).
pub fn read_partial_sums(
    json: impl AsRef<Path>,
    cf: impl AsRef<Path>,
) -> Result<PartialSums, IoError> {
    let json = json.as_ref();
    let wire: WireSums = crate::json::read_json(json)?;
    let d = Decoder { file: json };
    if wire.format != PARTIAL_FORMAT {
        return Err(d.bad(format!(
            "partial format {} (this build reads format {PARTIAL_FORMAT})",
            wire.format
        )));
    }
    let cf = read_cf(cf.as_ref())?;
    if cf.len() != wire.cf_cells {
        return Err(IoError::bad_data(
            json,
            format!(
                "partial_cf.parquet holds {} cells, partial.json says {}",
                cf.len(),
                wire.cf_cells
            ),
        ));
    }
    let mut non_finite = Vec::with_capacity(wire.non_finite.len());
    for nf in wire.non_finite {
        non_finite.push(NonFiniteLoan {
            loan: d.loan(nf.loan)?,
            what: nf.what,
        });
    }
    Ok(PartialSums {
        num_paths: wire.num_paths,
        months: wire.months,
        total: d.group("total", &wire.total)?,
        loan_count: wire.loan_count,
        pv: d.ints("pv", &wire.pv)?,
        by_investor: wire
            .by_investor
            .iter()
            .map(|g| d.group("by_investor", g))
            .collect::<Result<_, _>>()?,
        by_status: wire
            .by_status
            .iter()
            .map(|g| d.group("by_status", g))
            .collect::<Result<_, _>>()?,
        path_values: d.ints("path_values", &wire.path_values)?,
        path_costs: d.ints("path_costs", &wire.path_costs)?,
        path_tangents: d.ints("path_tangents", &wire.path_tangents)?,
        monthly: wire
            .monthly
            .iter()
            .map(|row| d.ints("monthly", row))
            .collect::<Result<_, _>>()?,
        cf,
        non_finite,
        tally: wire.tally,
    })
}

fn read_cf(path: &Path) -> Result<Vec<i128>, IoError> {
    let mut hi = Vec::new();
    let mut lo = Vec::new();
    read_table_chunks(
        path,
        &[("hi", ColumnKind::I64), ("lo", ColumnKind::I64)],
        |cols| {
            for (col, out) in cols.into_iter().zip([&mut hi, &mut lo]) {
                if let crate::parquet_out::ColumnValues::I64(v) = col.values {
                    out.extend(v);
                }
            }
            Ok(())
        },
    )?;
    Ok(hi
        .into_iter()
        .zip(lo)
        .map(|(h, l)| (i128::from(h) << 64) | i128::from(l as u64))
        .collect())
}

/// Stream a Parquet table whose columns are exactly `columns` (names, order
/// and kinds, as written by [`crate::ParquetTableWriter`]) in chunks of
/// [`Column`]s, calling `visit` on each; returns the rows read. Used to
/// concatenate partial tables without holding them whole.
///
/// # Errors
/// [`IoError::BadData`] when the file's columns differ from `columns` or a
/// non-nullable column holds a null; errors of `visit`; reading errors.
pub fn read_table_chunks(
    path: impl AsRef<Path>,
    columns: &[(&str, ColumnKind)],
    mut visit: impl FnMut(Vec<Column>) -> Result<(), IoError>,
) -> Result<u64, IoError> {
    let path = path.as_ref();
    let (file, metadata) = open_parquet(path)?;
    let names: Vec<String> = metadata
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    if names
        .iter()
        .map(String::as_str)
        .ne(columns.iter().map(|(n, _)| *n))
    {
        return Err(IoError::bad_data(
            path,
            format!(
                "columns are `{}`, expected `{}`",
                names.join(","),
                columns
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        ));
    }
    if info_from(&metadata).num_rows == 0 || columns.is_empty() {
        return Ok(0);
    }
    let roots: Vec<usize> = (0..columns.len()).collect();
    let mut reader = batch_reader(path, &file, &metadata, &roots, None)?;
    let mut rows = 0u64;
    while let Some(batch) = next_batch(path, &mut reader)? {
        let n = batch.num_rows();
        rows += n as u64;
        let mut out = Vec::with_capacity(columns.len());
        for (k, (name, kind)) in columns.iter().enumerate() {
            let array: &Arc<dyn Array> = batch.column(k);
            let array = array.as_ref();
            let wrong = || IoError::bad_data(path, format!("column `{name}` is not {kind:?}"));
            let null = |i: usize| {
                IoError::bad_data(path, format!("column `{name}`: null in row {i} of a batch"))
            };
            let col = match kind {
                ColumnKind::Utf8 => {
                    let c = TextColumn::new(array).ok_or_else(wrong)?;
                    let v = (0..n)
                        .map(|i| c.get(i).map(str::to_string).ok_or_else(|| null(i)))
                        .collect::<Result<_, _>>()?;
                    Column::utf8(*name, v)
                }
                ColumnKind::F64 => {
                    let c = FloatColumn::new(array).ok_or_else(wrong)?;
                    let v = (0..n)
                        .map(|i| c.get(i).ok_or_else(|| null(i)))
                        .collect::<Result<_, _>>()?;
                    Column::f64(*name, v)
                }
                ColumnKind::F64Nullable => {
                    let c = FloatColumn::new(array).ok_or_else(wrong)?;
                    Column::f64_nullable(*name, (0..n).map(|i| c.get(i)).collect())
                }
                ColumnKind::I32 => {
                    let c = IntColumn::new(array).ok_or_else(wrong)?;
                    let v = (0..n)
                        .map(|i| {
                            c.get(i)
                                .and_then(|x| i32::try_from(x).ok())
                                .ok_or_else(|| null(i))
                        })
                        .collect::<Result<_, _>>()?;
                    Column::i32(*name, v)
                }
                ColumnKind::I64 => {
                    // Only exact Int64 arrays: an i64 must not pass through f64.
                    let c = array
                        .as_any()
                        .downcast_ref::<Int64Array>()
                        .ok_or_else(wrong)?;
                    if c.null_count() > 0 {
                        return Err(null(0));
                    }
                    Column::i64(*name, c.values().to_vec())
                }
            };
            out.push(col);
        }
        visit(out)?;
    }
    Ok(rows)
}

// ---------------------------------------------------------------------------
// risk_partial.json

/// One scenario of a risk partial: its name and the files of its sums
/// (written by [`write_partial_sums`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskScenarioFiles {
    /// Scenario name, e.g. `parallel_+100bp`.
    pub name: String,
    /// Its sums (JSON).
    pub sums: String,
    /// Its `CF[p,t]` sums (Parquet; empty except for the base).
    pub cf: String,
}

/// The risk spec a shard of `msr risk` ran (`msr_engine::RiskSpec`, field
/// for field): every shard of a run must share it. Fields in alphabetical
/// order, the order risk_partial.json has always been written in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskSpecRecord {
    /// Cost-to-service stresses (%).
    pub cost_stresses_pct: Vec<f64>,
    /// OAS stresses (bp).
    pub oas_stresses_bp: Vec<f64>,
    /// Prepayment-speed stresses (%).
    pub prepay_stresses_pct: Vec<f64>,
    /// Parallel rate shocks (bp).
    pub rate_shocks_bp: Vec<f64>,
    /// Delinquency-roll stresses (%).
    pub roll_stresses_pct: Vec<f64>,
    /// Shock of the durations (bp).
    pub shock_bp: f64,
    /// `tangent` when durations are carried by tangents; absent for bumps
    /// (the default, and every partial written before the option).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derivatives: Option<String>,
}

/// `risk_partial.json`: what a shard of `msr risk` computed — the months
/// projected, the risk spec (every shard of a run must share it) and each
/// valued scenario's files, in run order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskPartialIndex {
    /// [`PARTIAL_FORMAT`].
    pub format: u32,
    /// Months projected.
    pub months: usize,
    /// The risk spec.
    pub spec: RiskSpecRecord,
    /// The valued scenarios in run order.
    pub scenarios: Vec<RiskScenarioFiles>,
}

impl RiskPartialIndex {
    /// The file names of scenario `k` (0-based, run order).
    pub fn scenario_files(name: &str, k: usize) -> RiskScenarioFiles {
        RiskScenarioFiles {
            name: name.to_string(),
            sums: format!("scenario_{k:03}.json"),
            cf: format!("scenario_{k:03}_cf.parquet"),
        }
    }
}

/// Read a risk partial's index, checking its format and that every file it
/// names is a plain file name.
///
/// # Errors
/// [`IoError`] for an unreadable file, another format or a bad file name.
pub fn read_risk_index(path: impl AsRef<Path>) -> Result<RiskPartialIndex, IoError> {
    let path = path.as_ref();
    let index: RiskPartialIndex = crate::json::read_json(path)?;
    if index.format != PARTIAL_FORMAT {
        return Err(IoError::bad_data(
            path,
            format!(
                "partial format {} (this build reads format {PARTIAL_FORMAT})",
                index.format
            ),
        ));
    }
    for s in &index.scenarios {
        for f in [&s.sums, &s.cf] {
            if f.contains(['/', '\\']) || f.starts_with('.') || f.is_empty() {
                return Err(IoError::bad_data(
                    path,
                    format!(
                        "scenario `{}`: `{f}` is not a file of the directory",
                        s.name
                    ),
                ));
            }
        }
    }
    Ok(index)
}

// ---------------------------------------------------------------------------
// manifest.json

/// The tape a shard read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TapeInput {
    /// As given on the command line.
    pub path: PathBuf,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Rows in the whole file.
    pub rows: u64,
    /// Row groups in the whole file.
    pub row_groups: usize,
}

/// The configuration a shard ran with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigInput {
    /// As given on the command line.
    pub path: PathBuf,
    /// SHA-256 of the file.
    pub sha256: String,
    /// SHA-256 of the resolved configuration (the file plus command-line
    /// overrides such as `--oas`), as canonical JSON.
    pub resolved_sha256: String,
}

/// The inputs of a shard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialInputs {
    /// The loan tape.
    pub loans: TapeInput,
    /// The configuration.
    pub config: ConfigInput,
}

/// Where a shard's rate paths came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatePathsInfo {
    /// `hull_white` (generated) or `file`.
    pub source: String,
    /// Seed of generated paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Antithetic pairs of generated paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub antithetic: Option<bool>,
    /// `valuation.path_scheme` of generated paths (`pseudo`, `sobol`,
    /// `sobol-pca`; docs/qmc.md).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::docs::path_scheme::option"
    )]
    pub scheme: Option<msr_rates::PathScheme>,
    /// Path file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// SHA-256 of the path file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Number of paths.
    #[serde(default)]
    pub num_paths: usize,
}

impl RatePathsInfo {
    /// What identifies the paths: generator and seed, or the file's hash.
    pub fn identity(&self) -> String {
        match (&self.sha256, self.seed) {
            (Some(sha), _) => format!("{} sha256 {}", self.source, short(sha)),
            (None, Some(seed)) => format!(
                "{} {} seed {seed}{}",
                self.source,
                self.scheme.unwrap_or_default(),
                if self.antithetic == Some(true) {
                    " antithetic"
                } else {
                    ""
                }
            ),
            (None, None) => self.source.clone(),
        }
    }
}

/// Timings of one shard (reported, never compared).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ShardTimings {
    /// Configuration, paths and market arrays.
    pub setup_seconds: f64,
    /// Reading and validating the tape.
    pub read_seconds: f64,
    /// Valuation.
    pub engine_seconds: f64,
    /// The whole process.
    pub wall_seconds: f64,
}

/// `manifest.json` of a partial directory: the completion marker, written
/// after every other file, naming each with its SHA-256.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartialManifest {
    /// [`PARTIAL_KIND`] or [`RISK_PARTIAL_KIND`].
    pub kind: String,
    /// [`PARTIAL_FORMAT`].
    pub format: u32,
    /// Engine name.
    pub engine: String,
    /// Engine version: partials of different builds are not merged.
    pub version: String,
    /// Run id shared by every shard of the run (and by each mark).
    pub run_id: String,
    /// The slice of the tape valued.
    pub shard: ShardPlan,
    /// The command line.
    pub command: Vec<String>,
    /// Start, RFC 3339.
    pub started_at: String,
    /// End, RFC 3339.
    pub finished_at: String,
    /// Tape and configuration.
    pub inputs: PartialInputs,
    /// Rate paths.
    pub rate_paths: RatePathsInfo,
    /// valuation.seed.
    pub seed: u64,
    /// Paths valued.
    pub num_paths: usize,
    /// valuation.oas (exact text).
    #[serde(with = "f64_text")]
    pub oas: f64,
    /// valuation.as_of.
    pub as_of: msr_core::Date,
    /// Whether standard errors use antithetic pair means.
    pub antithetic: bool,
    /// valuation.scrambles (randomized QMC: standard errors over the
    /// scrambles' means); written only when above 1.
    #[serde(default = "one_scramble", skip_serializing_if = "is_one_scramble")]
    pub scrambles: u32,
    /// tape.max_reject_share (exact text), applied by the merge.
    #[serde(with = "f64_text")]
    pub max_reject_share: f64,
    /// Worker threads.
    pub threads: usize,
    /// Timings.
    pub timings: ShardTimings,
    /// Every file of the partial besides the manifest, with its SHA-256.
    pub files: BTreeMap<String, String>,
    /// The resolved configuration (provenance).
    pub resolved_config: serde_json::Value,
}

fn one_scramble() -> u32 {
    1
}

fn is_one_scramble(x: &u32) -> bool {
    *x == 1
}

/// A partial directory whose manifest was read and whose files were checked.
#[derive(Debug, Clone)]
pub struct Partial {
    /// The directory.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: PartialManifest,
}

impl Partial {
    /// Path of one of its files.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// Why a set of partials cannot be merged. Each message is one line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PartialError {
    /// The shard did not finish, or a file was removed or changed since.
    #[error("{}: incomplete partial: {what}", dir.display())]
    Incomplete {
        /// The partial directory.
        dir: PathBuf,
        /// What is missing or wrong.
        what: String,
    },
    /// The directory holds something other than a partial.
    #[error("{}: not a partial of `msr value --shard` or `msr risk --shard`: {what}", dir.display())]
    NotPartial {
        /// The directory.
        dir: PathBuf,
        /// Why.
        what: String,
    },
    /// Two partials come from different runs.
    #[error("partials disagree on {what}: {} has {a}, {} has {b}", a_dir.display(), b_dir.display())]
    Disagree {
        /// The property (the tape, the config, the seed, ...).
        what: &'static str,
        /// The first partial.
        a_dir: PathBuf,
        /// Its value.
        a: String,
        /// The disagreeing partial.
        b_dir: PathBuf,
        /// Its value.
        b: String,
    },
    /// The same shard twice.
    #[error("shard {shard} given twice: {} and {}", first.display(), second.display())]
    DuplicateShard {
        /// The shard.
        shard: ShardSpec,
        /// One directory.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// Shards of the run are not among the partials.
    #[error("missing shard(s) {missing} of {count} (shards are numbered 0..={}; given: {given})", count - 1)]
    MissingShards {
        /// Shards in the run.
        count: u32,
        /// The missing indices.
        missing: String,
        /// The indices given.
        given: String,
    },
    /// The shards' rows do not tile the tape (a bug or a tampered manifest).
    #[error("{}: shard {shard} holds rows {}..{} but the previous shard ended at row {expected}", dir.display(), rows.start, rows.end)]
    Gap {
        /// The partial.
        dir: PathBuf,
        /// Its shard.
        shard: ShardSpec,
        /// Its rows.
        rows: Range<u64>,
        /// Where it should start.
        expected: u64,
    },
    /// No partial directories.
    #[error("no partial directories given")]
    Empty,
    /// A file could not be read.
    #[error(transparent)]
    Io(#[from] IoError),
}

fn short(sha: &str) -> String {
    sha.chars().take(12).collect()
}

/// Read a partial directory's manifest and check that the partial is
/// complete: the marker exists, names every file a partial holds, and each
/// file exists with the SHA-256 recorded.
///
/// # Errors
/// [`PartialError::Incomplete`] for a missing marker or file or a hash
/// mismatch, [`PartialError::NotPartial`] for another kind of directory.
pub fn read_partial(dir: impl AsRef<Path>) -> Result<Partial, PartialError> {
    let dir = dir.as_ref();
    let incomplete = |what: String| PartialError::Incomplete {
        dir: dir.to_path_buf(),
        what,
    };
    if !dir.is_dir() {
        return Err(PartialError::NotPartial {
            dir: dir.to_path_buf(),
            what: "no such directory".into(),
        });
    }
    let marker = dir.join(PARTIAL_MANIFEST);
    if !marker.exists() {
        return Err(incomplete(format!(
            "no {PARTIAL_MANIFEST} (the shard has not finished, or failed)"
        )));
    }
    let value: serde_json::Value = crate::json::read_json(&marker)
        .map_err(|e| incomplete(format!("{PARTIAL_MANIFEST} is unreadable: {e}")))?;
    let kind = value.get("kind").and_then(|k| k.as_str()).unwrap_or("");
    let required: &[&str] = match kind {
        PARTIAL_KIND => &PARTIAL_FILES,
        RISK_PARTIAL_KIND => &RISK_PARTIAL_FILES,
        _ => &[],
    };
    if required.is_empty() {
        let what = if kind.is_empty() {
            format!("{PARTIAL_MANIFEST} has no `kind` (an unsharded or merged result?)")
        } else {
            format!(
                "{PARTIAL_MANIFEST} is of kind `{kind}`, expected `{PARTIAL_KIND}` or `{RISK_PARTIAL_KIND}`"
            )
        };
        return Err(PartialError::NotPartial {
            dir: dir.to_path_buf(),
            what,
        });
    }
    let manifest: PartialManifest =
        serde_json::from_value(value).map_err(|e| PartialError::NotPartial {
            dir: dir.to_path_buf(),
            what: format!(
                "{PARTIAL_MANIFEST}: {}",
                crate::error::one_line(&e.to_string())
            ),
        })?;
    if manifest.format != PARTIAL_FORMAT {
        return Err(PartialError::NotPartial {
            dir: dir.to_path_buf(),
            what: format!(
                "partial format {} (this build reads format {PARTIAL_FORMAT})",
                manifest.format
            ),
        });
    }
    for &name in required {
        if !manifest.files.contains_key(name) {
            return Err(incomplete(format!(
                "{PARTIAL_MANIFEST} does not list {name}"
            )));
        }
    }
    for (name, sha) in &manifest.files {
        if name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(PartialError::NotPartial {
                dir: dir.to_path_buf(),
                what: format!("{PARTIAL_MANIFEST} lists `{name}`, not a file of the directory"),
            });
        }
        let file = dir.join(name);
        if !file.is_file() {
            return Err(incomplete(format!("{name} is missing")));
        }
        let actual = crate::hash::sha256_file(&file)?;
        if &actual != sha {
            return Err(incomplete(format!(
                "{name} has sha256 {}, the manifest says {} (changed or truncated after the shard finished)",
                short(&actual),
                short(sha)
            )));
        }
    }
    Ok(Partial {
        dir: dir.to_path_buf(),
        manifest,
    })
}

/// Check that `parts` are the complete set of shards of one run: the same
/// engine version, tape, configuration, seed, path count, path source, run id
/// and shard count; no shard twice; none missing; rows tiling the tape.
/// Returns the indices of `parts` in shard order.
///
/// # Errors
/// The first problem found, as a [`PartialError`].
pub fn check_partials(parts: &[Partial]) -> Result<Vec<usize>, PartialError> {
    let first = parts.first().ok_or(PartialError::Empty)?;
    let a = &first.manifest;
    type Key = fn(&PartialManifest) -> String;
    let keys: [(&'static str, Key); 11] = [
        ("the kind of partial (msr value or msr risk)", |m| {
            m.kind.clone()
        }),
        ("the engine version", |m| m.version.clone()),
        ("the tape (sha256)", |m| short(&m.inputs.loans.sha256)),
        ("the config file (sha256)", |m| {
            short(&m.inputs.config.sha256)
        }),
        ("the seed", |m| m.seed.to_string()),
        ("the path count", |m| m.num_paths.to_string()),
        ("the path source", |m| m.rate_paths.identity()),
        ("the resolved config, e.g. --oas (sha256)", |m| {
            short(&m.inputs.config.resolved_sha256)
        }),
        ("the run id (--run-id)", |m| m.run_id.clone()),
        ("the shard count", |m| m.shard.shard.count.to_string()),
        ("how the tape is cut", |m| {
            format!("{:?} of {} rows", m.shard.by, m.inputs.loans.rows)
        }),
    ];
    for p in &parts[1..] {
        for (what, key) in &keys {
            let (x, y) = (key(a), key(&p.manifest));
            if x != y {
                return Err(PartialError::Disagree {
                    what,
                    a_dir: first.dir.clone(),
                    a: x,
                    b_dir: p.dir.clone(),
                    b: y,
                });
            }
        }
    }
    let count = a.shard.shard.count;
    let mut by_index: BTreeMap<u32, usize> = BTreeMap::new();
    for (i, p) in parts.iter().enumerate() {
        let shard = p.manifest.shard.shard;
        if let Some(&j) = by_index.get(&shard.index) {
            return Err(PartialError::DuplicateShard {
                shard,
                first: parts[j].dir.clone(),
                second: p.dir.clone(),
            });
        }
        by_index.insert(shard.index, i);
    }
    let missing: Vec<String> = (0..count)
        .filter(|k| !by_index.contains_key(k))
        .map(|k| k.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(PartialError::MissingShards {
            count,
            missing: missing.join(", "),
            given: by_index
                .keys()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let order: Vec<usize> = by_index.into_values().collect();
    let mut expected = 0u64;
    for &i in &order {
        let m = &parts[i].manifest;
        if m.shard.rows.start != expected {
            return Err(PartialError::Gap {
                dir: parts[i].dir.clone(),
                shard: m.shard.shard,
                rows: m.shard.rows.clone(),
                expected,
            });
        }
        expected = m.shard.rows.end;
    }
    if expected != a.inputs.loans.rows {
        let last = &parts[*order.last().unwrap_or(&0)];
        return Err(PartialError::Gap {
            dir: last.dir.clone(),
            shard: last.manifest.shard.shard,
            rows: last.manifest.shard.rows.clone(),
            expected: a.inputs.loans.rows,
        });
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(groups: &[u64]) -> ParquetInfo {
        ParquetInfo {
            num_rows: groups.iter().sum(),
            row_group_rows: groups.to_vec(),
            columns: Vec::new(),
        }
    }

    #[test]
    fn shard_spec_parses_zero_based() {
        assert_eq!("0/3".parse(), Ok(ShardSpec { index: 0, count: 3 }));
        assert_eq!("2/3".parse::<ShardSpec>().unwrap().to_string(), "2/3");
        assert!("3/3".parse::<ShardSpec>().unwrap_err().contains("0..=2"));
        assert!("0/0".parse::<ShardSpec>().is_err());
        assert!("1".parse::<ShardSpec>().is_err());
        assert!("-1/2".parse::<ShardSpec>().is_err());
    }

    /// Every plan tiles the file: shards in order cover each row once.
    fn tiles(groups: &[u64], n: u32) -> Vec<ShardPlan> {
        let info = info(groups);
        let plans: Vec<ShardPlan> = (0..n)
            .map(|k| ShardPlan::new(&info, ShardSpec { index: k, count: n }))
            .collect();
        let mut next = 0;
        for p in &plans {
            assert_eq!(p.rows.start, next, "{groups:?} {n}: {p:?}");
            next = p.rows.end;
            let starts = info.row_group_starts();
            // The row groups read cover the shard's rows.
            if !p.rows.is_empty() && p.by == ShardBy::Rows {
                let g0 = p.row_groups.start;
                let g1 = p.row_groups.end;
                assert!(starts[g0] <= p.rows.start);
                assert!(g1 == groups.len() || starts[g1] >= p.rows.end);
                assert!(starts[g1 - 1] < p.rows.end);
            }
        }
        assert_eq!(next, info.num_rows);
        plans
    }

    #[test]
    fn plans_tile_the_tape() {
        // Even row groups: one or more whole groups per shard.
        let p = tiles(&[40, 40, 40, 40, 40], 5);
        assert!(p.iter().all(|p| p.by == ShardBy::RowGroups));
        assert_eq!(p[3].row_groups, 3..4);
        let p = tiles(&[10; 20], 3);
        assert!(p.iter().all(|p| p.by == ShardBy::RowGroups));
        assert_eq!(
            p.iter().map(|p| p.row_groups.clone()).collect::<Vec<_>>(),
            [0..7, 7..14, 14..20]
        );
        // 5 groups into 3 shards would be 80/80/40 rows: cut by rows instead.
        let p = tiles(&[40, 40, 40, 40, 40], 3);
        assert!(p.iter().all(|p| p.by == ShardBy::Rows));
        assert_eq!(p[1].rows, 66..133);
        assert_eq!(p[1].row_groups, 1..4);
        // Fewer row groups than shards.
        let p = tiles(&[100, 100], 7);
        assert!(p.iter().all(|p| p.by == ShardBy::Rows));
        assert_eq!(p[3].row_groups, 0..2, "{p:?}");
        tiles(&[3], 7);
        tiles(&[], 4);
        tiles(&[0, 5, 0, 7], 5);
        tiles(&[0, 5, 0, 7, 0], 2);
        tiles(&[10, 10, 10], 1);
        tiles(&[1; 13], 13);
        tiles(&[7, 1, 1, 1, 1, 1, 1, 1, 1], 2);
    }

    #[test]
    fn sums_round_trip_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let big = [i128::MAX, i128::MIN, -1, 0, 1, 1 << 100, -(1 << 70) + 12345];
        let g = RawGroup {
            records: 3,
            upb: i128::MAX,
            value: -(1 << 90),
            fee_base: 7,
        };
        let mut loan = crate::generate_book(1, 5).remove(0);
        loan.upb = 0.1 + 0.2;
        loan.ltv = f64::MAX;
        let sums = PartialSums {
            num_paths: 2,
            months: 3,
            total: g,
            loan_count: 9,
            pv: big.to_vec(),
            by_investor: vec![g, RawGroup::default()],
            by_status: vec![RawGroup::default(); 6],
            path_values: vec![1, -1],
            path_costs: vec![-(1 << 100), 5],
            path_tangents: vec![3, -(1 << 95), 0, 1],
            monthly: vec![big.to_vec(); 3],
            cf: big.iter().copied().cycle().take(6).collect(),
            non_finite: vec![NonFiniteLoan {
                loan,
                what: "value".into(),
            }],
            tally: ShardTally {
                rows_read: 5,
                valid: 4,
                rejected: 1,
                loan_months: 1000,
                max_term: 360,
            },
        };
        let (j, c) = (dir.path().join("p.json"), dir.path().join("p.parquet"));
        write_partial_sums(&j, &c, &sums).unwrap();
        assert_eq!(read_partial_sums(&j, &c).unwrap(), sums);
        let empty = PartialSums::default();
        write_partial_sums(&j, &c, &empty).unwrap();
        assert_eq!(read_partial_sums(&j, &c).unwrap(), empty);
    }
}
