//! The output files of a valuation, shared by `msr value` (whole tape or one
//! shard) and `msr merge` (which must write exactly what an unsharded run
//! writes): the loan_values.parquet schema and rows, marks.csv, cashflows.parquet,
//! summary.json, the terminal summary and the data-quality exit; and the
//! conversion between the engine's accumulator and a partial's raw sums.
//! Also `marks_by_<COLUMN>.csv` ([`GroupMarks`], `msr value --group-by`,
//! unsharded runs only).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use msr_core::{Config, Date, ExactSum};
use msr_engine::valuation::GroupAccum;
use msr_engine::{expected_month, LoanResult, NonFinite, PortfolioAccum, Summary};
use msr_io::docs::{
    self,
    value::{GroupMarksRow, MarksRow, MARKS_METHOD},
    CsvWriter,
};
use msr_io::partial::{NonFiniteLoan, PartialSums, RawGroup, ShardTally};
use msr_io::tape::ExtraValue;
use msr_io::text::terminal_safe;
use msr_io::{Column, ColumnKind, ParquetOptions};
use msr_model::{MonthlyField, COMPONENTS, NUM_MONTHLY};

use crate::common::Staging;
use crate::exit::{input, output, CliError, Failure};

/// Columns of loan_values.parquet, in order.
pub fn loan_value_columns() -> Vec<(String, ColumnKind)> {
    let mut cols = vec![
        ("loan_id".to_string(), ColumnKind::Utf8),
        ("investor".to_string(), ColumnKind::Utf8),
        ("dq_status".to_string(), ColumnKind::Utf8),
        ("upb".to_string(), ColumnKind::F64),
        ("note_rate".to_string(), ColumnKind::F64),
        ("servicing_fee".to_string(), ColumnKind::F64),
        ("value".to_string(), ColumnKind::F64),
        ("value_bps".to_string(), ColumnKind::F64),
        ("multiple".to_string(), ColumnKind::F64Nullable),
        ("std_error".to_string(), ColumnKind::F64Nullable),
    ];
    cols.extend(
        COMPONENTS
            .iter()
            .map(|(_, name, _)| (format!("pv_{name}"), ColumnKind::F64)),
    );
    cols
}

/// Rows of loan_values.parquet for one batch of loans.
pub fn loan_value_rows(loans: &[msr_core::Loan], results: &[LoanResult]) -> Vec<Column> {
    let mut cols = vec![
        Column::utf8("loan_id", loans.iter().map(|l| l.loan_id.clone()).collect()),
        Column::utf8(
            "investor",
            loans
                .iter()
                .map(|l| l.investor.code().to_string())
                .collect(),
        ),
        Column::utf8(
            "dq_status",
            loans
                .iter()
                .map(|l| l.dq_status.code().to_string())
                .collect(),
        ),
        Column::f64("upb", loans.iter().map(|l| l.upb).collect()),
        Column::f64("note_rate", loans.iter().map(|l| l.note_rate).collect()),
        Column::f64(
            "servicing_fee",
            loans.iter().map(|l| l.servicing_fee).collect(),
        ),
        Column::f64("value", results.iter().map(|r| r.value).collect()),
        Column::f64(
            "value_bps",
            loans
                .iter()
                .zip(results)
                .map(|(l, r)| 1e4 * r.value / l.upb)
                .collect(),
        ),
        Column::f64_nullable(
            "multiple",
            loans
                .iter()
                .zip(results)
                .map(|(l, r)| (l.servicing_fee > 0.0).then(|| r.value / (l.servicing_fee * l.upb)))
                .collect(),
        ),
        Column::f64_nullable("std_error", results.iter().map(|r| r.std_error).collect()),
    ];
    for (k, (_, name, _)) in COMPONENTS.iter().enumerate() {
        cols.push(Column::f64(
            format!("pv_{name}"),
            results.iter().map(|r| r.pv[k]).collect(),
        ));
    }
    cols
}

/// Names of the monthly fields in cashflows.parquet, in `NUM_MONTHLY` order.
pub fn monthly_names() -> [&'static str; NUM_MONTHLY] {
    let mut names = [""; NUM_MONTHLY];
    for (k, (_, name, _)) in COMPONENTS.iter().enumerate() {
        names[k] = name;
    }
    let rest: [(MonthlyField, &str); NUM_MONTHLY - COMPONENTS.len()] = [
        (MonthlyField::Net, "net"),
        (MonthlyField::PvNet, "pv_net"),
        (MonthlyField::UpbC, "upb_C"),
        (MonthlyField::UpbD30, "upb_D30"),
        (MonthlyField::UpbD60, "upb_D60"),
        (MonthlyField::UpbD90, "upb_D90"),
        (MonthlyField::UpbD120, "upb_D120"),
        (MonthlyField::UpbFc, "upb_FC"),
        (MonthlyField::Surviving, "surviving_loans"),
        (MonthlyField::Prepaid, "prepaid_loans"),
        (MonthlyField::Modified, "modified_loans"),
        (MonthlyField::DeedInLieu, "deed_in_lieu_loans"),
        (MonthlyField::Liquidated, "liquidated_loans"),
    ];
    for (f, name) in rest {
        names[f as usize] = name;
    }
    names
}

/// cashflows.parquet: the expected portfolio amounts of months `1..=max_term`.
///
/// # Errors
/// Output error.
pub fn write_cashflows(staging: &Staging, accum: &PortfolioAccum, max_term: usize) -> Result<()> {
    let names = monthly_names();
    let rows: Vec<[f64; NUM_MONTHLY]> = (1..=max_term).map(|t| expected_month(accum, t)).collect();
    let total_loans = accum.loan_count.max(1) as f64;
    let mut cols = vec![Column::i32("month", (1..=max_term as i32).collect())];
    for (k, name) in names.iter().enumerate() {
        cols.push(Column::f64(*name, rows.iter().map(|r| r[k]).collect()));
    }
    cols.push(Column::f64(
        "survival",
        rows.iter()
            .map(|r| r[MonthlyField::Surviving as usize] / total_loans)
            .collect(),
    ));
    msr_io::write_parquet(
        staging.path("cashflows.parquet"),
        cols,
        ParquetOptions::default(),
    )
    .map_err(output)?;
    Ok(())
}

fn group_totals(g: &msr_engine::GroupSummary) -> (String, docs::value::GroupTotals) {
    let totals = docs::value::GroupTotals {
        records: g.records,
        upb: g.upb,
        value: g.value,
        value_bps: Some(g.value_bps),
        multiple: g.multiple,
    };
    (g.name.clone(), totals)
}

/// The valuation settings summary.json reports.
#[derive(Debug, Clone)]
pub struct SummarySettings {
    /// valuation.as_of.
    pub as_of: Date,
    /// valuation.oas.
    pub oas: f64,
    /// Paths valued.
    pub num_paths: usize,
    /// The independent units of the standard error.
    pub units: msr_engine::SeUnits,
}

impl SummarySettings {
    /// The settings of a run's configuration.
    ///
    /// # Errors
    /// Internal error when valuation.as_of is not a date (validated before).
    pub fn of(config: &Config, num_paths: usize, units: msr_engine::SeUnits) -> Result<Self> {
        Ok(SummarySettings {
            as_of: as_of(config)?,
            oas: config.valuation.oas,
            num_paths,
            units,
        })
    }
}

/// valuation.as_of as a date.
///
/// # Errors
/// Internal error: the configuration was validated when loaded.
pub fn as_of(config: &Config) -> Result<Date> {
    config
        .valuation
        .as_of
        .parse()
        .map_err(|e| CliError::new(Failure::Internal, e))
}

/// How long a run took and on how many threads (reported, never compared:
/// the only part of summary.json that differs between a sharded and an
/// unsharded run).
#[derive(Debug, Clone)]
pub struct RunTimings {
    /// The `timings` object.
    pub timings: docs::value::ValueTimings,
    /// Seconds spent in the engine (for the throughput).
    pub engine_seconds: f64,
    /// Worker threads.
    pub threads: usize,
}

/// summary.json and the [`Summary`] behind it, read off the accumulator: the
/// same function for an unsharded run and a merge, so equal accumulators and
/// tallies give equal documents (timings aside).
pub fn summary_document(
    accum: &PortfolioAccum,
    settings: &SummarySettings,
    tally: &ShardTally,
    timings: &RunTimings,
) -> (Summary, docs::value::Summary) {
    let summary = Summary::from_accum(accum, settings.units);
    let lpm = tally.loan_months as f64 * settings.num_paths as f64;
    let doc = docs::value::Summary {
        as_of: settings.as_of,
        oas: settings.oas,
        paths: settings.num_paths as u64,
        months: tally.max_term as u64,
        records: summary.total.records,
        loan_count: summary.loan_count,
        upb: summary.total.upb,
        value: summary.total.value,
        value_bps: Some(summary.total.value_bps),
        multiple: summary.total.multiple,
        std_error: summary.std_error,
        scrambles: match settings.units {
            msr_engine::SeUnits::Scrambles(r) => Some(r as u32),
            _ => None,
        },
        pv: summary.pv.iter().cloned().collect(),
        expected_events: summary.expected_events.iter().flatten().cloned().collect(),
        by_investor: summary.by_investor.iter().map(group_totals).collect(),
        by_dq_status: summary.by_status.iter().map(group_totals).collect(),
        loans_read: tally.rows_read,
        loans_valued: summary.total.records,
        rejected_rows: tally.rejected,
        non_finite_loans: accum.non_finite.len() as u64,
        non_finite: accum
            .non_finite
            .iter()
            .map(|nf| docs::value::NonFiniteLoan::of(&nf.loan, &nf.what))
            .collect(),
        timings: timings.timings.clone(),
        loan_path_months: lpm,
        loan_path_months_per_second: lpm / timings.engine_seconds.max(1e-9),
        threads: timings.threads as u64,
    };
    (summary, doc)
}

/// marks.csv: the accounting marks, one row per loan, tied to the manifest by
/// run id.
pub struct Marks {
    writer: CsvWriter,
    as_of: Date,
    num_paths: usize,
    oas: f64,
    run_id: String,
}

impl Marks {
    /// Create the file in the staging directory and write the header.
    ///
    /// # Errors
    /// Output error.
    pub fn create(
        staging: &Staging,
        config: &Config,
        run_id: &str,
        num_paths: usize,
    ) -> Result<Marks> {
        let writer =
            CsvWriter::create(staging.path("marks.csv"), &MarksRow::HEADER).map_err(output)?;
        Ok(Marks {
            writer,
            as_of: as_of(config)?,
            num_paths,
            oas: config.valuation.oas,
            run_id: run_id.to_string(),
        })
    }

    /// Append the marks of a batch of loans, all valued at the
    /// configuration's OAS.
    ///
    /// # Errors
    /// Output error.
    pub fn write(&mut self, loans: &[msr_core::Loan], results: &[LoanResult]) -> Result<()> {
        let oas = self.oas;
        self.write_rows(loans, results, |_| oas)
    }

    /// Append the marks of a batch of loans valued at their own spreads
    /// (`--oas-table`): `oas[i]` is loan `i`'s.
    ///
    /// # Errors
    /// Output error.
    pub fn write_at(
        &mut self,
        loans: &[msr_core::Loan],
        results: &[LoanResult],
        oas: &[f64],
    ) -> Result<()> {
        self.write_rows(loans, results, |i| oas[i])
    }

    fn write_rows(
        &mut self,
        loans: &[msr_core::Loan],
        results: &[LoanResult],
        oas_of: impl Fn(usize) -> f64,
    ) -> Result<()> {
        // Loans whose valuation was not finite are left out of the marks, as
        // out of every total; summary.json lists them under `non_finite`.
        for (i, (l, r)) in loans
            .iter()
            .zip(results)
            .enumerate()
            .filter(|(_, (_, r))| r.is_finite())
        {
            let row = MarksRow {
                as_of: self.as_of,
                loan_id: l.loan_id.clone(),
                investor: l.investor.code().to_string(),
                upb: l.upb,
                fair_value: r.value,
                value_bps: 1e4 * r.value / l.upb,
                multiple: (l.servicing_fee > 0.0).then(|| r.value / (l.servicing_fee * l.upb)),
                method: MARKS_METHOD.to_string(),
                paths: self.num_paths as u64,
                oas: oas_of(i),
                run_id: self.run_id.clone(),
            };
            self.writer.row(&row).map_err(output)?;
        }
        Ok(())
    }

    /// Move the file into place in the staging directory.
    ///
    /// # Errors
    /// Output error.
    pub fn finish(self) -> Result<()> {
        self.writer.commit().map_err(output)
    }
}

/// marks_by_<COLUMN>.csv: the marks summed by the value of one tape column
/// (`msr value --group-by COLUMN`), one row per value in ascending order
/// (integers numerically, null last as [`ExtraValue::NULL_LABEL`]). Sums are
/// exact ([`ExactSum`]) over the same loans as marks.csv and summary.json
/// (non-finite loans left out), so the groups add up to the summary's totals.
#[derive(Debug, Clone)]
pub struct GroupMarks {
    column: String,
    groups: BTreeMap<ExtraValue, GroupAccum>,
}

impl GroupMarks {
    /// Empty sums for grouping by `column` (the name given on the command line).
    pub fn new(column: &str) -> GroupMarks {
        GroupMarks {
            column: column.to_string(),
            groups: BTreeMap::new(),
        }
    }

    /// The file name: `marks_by_<COLUMN>.csv`, with every character of the
    /// column name other than `A-Z a-z 0-9 _ - .` replaced by `_`.
    pub fn file_name(column: &str) -> String {
        let safe: String = column
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "_-.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("marks_by_{safe}.csv")
    }

    /// Add a batch of loans with their values of the column (same order).
    pub fn add(&mut self, loans: &[msr_core::Loan], results: &[LoanResult], extra: &[ExtraValue]) {
        for ((l, r), key) in loans.iter().zip(results).zip(extra) {
            self.add_one(l, r.is_finite().then_some(r.value), key);
        }
    }

    /// Add one loan's value (`None`: left out, as from every total).
    fn add_one(&mut self, l: &msr_core::Loan, value: Option<f64>, key: &ExtraValue) {
        let Some(value) = value else {
            return;
        };
        let g = match self.groups.get_mut(key) {
            Some(g) => g,
            None => self.groups.entry(key.clone()).or_default(),
        };
        g.records += 1;
        g.upb.add(l.upb);
        g.value.add(value);
        g.fee_base.add(l.servicing_fee * l.upb);
    }

    /// Write the file into the staging directory.
    ///
    /// # Errors
    /// Output error.
    pub fn write(
        &self,
        staging: &Staging,
        config: &Config,
        run_id: &str,
        num_paths: usize,
    ) -> Result<()> {
        let name = GroupMarks::file_name(&self.column);
        let mut w = CsvWriter::create(staging.path(&name), &GroupMarksRow::header(&self.column))
            .map_err(output)?;
        let as_of = as_of(config)?;
        for (key, g) in &self.groups {
            let (upb, value, fee_base) = (g.upb.value(), g.value.value(), g.fee_base.value());
            let row = GroupMarksRow {
                as_of,
                group: match key {
                    ExtraValue::Null => None,
                    other => Some(other.label().into_owned()),
                },
                loans: g.records,
                upb,
                fair_value: value,
                value_bps: (upb > 0.0).then(|| 1e4 * value / upb),
                multiple: (fee_base > 0.0).then(|| value / fee_base),
                method: MARKS_METHOD.to_string(),
                paths: num_paths as u64,
                oas: config.valuation.oas,
                run_id: run_id.to_string(),
            };
            w.row(&row).map_err(output)?;
        }
        w.commit().map_err(output)
    }
}

/// Print the portfolio summary on the terminal.
pub fn print_summary(
    s: &Summary,
    tally: &ShardTally,
    paths: usize,
    seconds: f64,
    lpm_rate: f64,
    out: &Path,
) {
    println!(
        "portfolio value ${:.2} = {:.2} bp of ${:.0} UPB, multiple {}",
        s.total.value,
        s.total.value_bps,
        s.total.upb,
        s.total
            .multiple
            .map_or("n/a".to_string(), |m| format!("{m:.3}x")),
    );
    println!(
        "{} loans valued, {} rejected of {} rows; {} paths; std error {}",
        s.total.records,
        tally.rejected,
        tally.rows_read,
        paths,
        s.std_error
            .map_or("n/a".to_string(), |e| format!("${e:.2}"))
    );
    println!(
        "{seconds:.2} s ({lpm_rate:.3e} loan-path-months/s); outputs in {}",
        out.display()
    );
}

/// Warn about each loan left out of the totals.
pub fn warn_non_finite(non_finite: &[NonFinite]) {
    for nf in non_finite {
        eprintln!(
            "warning: loan {} left out of the totals: {} (upb {}, note_rate {}, remaining_term {})",
            terminal_safe(&nf.loan.loan_id),
            nf.reason(),
            nf.loan.upb,
            nf.loan.note_rate,
            nf.loan.remaining_term
        );
    }
}

/// Exit 5 (outputs written, data needs attention) when too many rows were
/// rejected or some loan's valuation was not finite.
///
/// # Errors
/// The data error, one line.
pub fn data_checks(
    tally: &ShardTally,
    max_reject_share: f64,
    non_finite: usize,
    out: &Path,
) -> Result<ExitCode> {
    let share = if tally.rows_read == 0 {
        0.0
    } else {
        tally.rejected as f64 / tally.rows_read as f64
    };
    if share > max_reject_share {
        return Err(CliError::new(
            Failure::Data,
            format!(
                "{} of {} rows rejected ({:.2} %, above tape.max_reject_share {:.2} %); outputs written to {}, see rejects.csv",
                tally.rejected,
                tally.rows_read,
                100.0 * share,
                100.0 * max_reject_share,
                out.display()
            ),
        ));
    }
    if non_finite > 0 {
        return Err(CliError::new(
            Failure::Data,
            format!(
                "{non_finite} loans had a non-finite valuation and were left out of the totals (listed in summary.json)"
            ),
        ));
    }
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------
// Accumulator <-> partial sums. Exhaustive destructuring and struct literals:
// a field added to `PortfolioAccum` fails to compile here until the partial
// format carries it.

fn raw_group(g: &GroupAccum) -> RawGroup {
    RawGroup {
        records: g.records,
        upb: g.upb.raw(),
        value: g.value.raw(),
        fee_base: g.fee_base.raw(),
    }
}

fn group_accum(g: &RawGroup) -> GroupAccum {
    GroupAccum {
        records: g.records,
        upb: ExactSum::from_raw(g.upb),
        value: ExactSum::from_raw(g.value),
        fee_base: ExactSum::from_raw(g.fee_base),
    }
}

/// A shard's accumulator and tally as raw sums.
pub fn accum_to_partial(acc: &PortfolioAccum, tally: ShardTally) -> PartialSums {
    let PortfolioAccum {
        num_paths,
        months,
        total,
        loan_count,
        pv,
        by_investor,
        by_status,
        path_values,
        path_costs,
        path_tangents,
        monthly,
        cf,
        non_finite,
    } = acc;
    PartialSums {
        num_paths: *num_paths,
        months: *months,
        total: raw_group(total),
        loan_count: *loan_count,
        pv: pv.iter().map(|s| s.raw()).collect(),
        by_investor: by_investor.iter().map(raw_group).collect(),
        by_status: by_status.iter().map(raw_group).collect(),
        path_values: path_values.iter().map(|s| s.raw()).collect(),
        path_costs: path_costs.iter().map(|s| s.raw()).collect(),
        path_tangents: path_tangents.iter().map(|s| s.raw()).collect(),
        monthly: monthly
            .iter()
            .map(|row| row.iter().map(|s| s.raw()).collect())
            .collect(),
        cf: cf.clone(),
        non_finite: non_finite
            .iter()
            .map(|nf| NonFiniteLoan {
                loan: nf.loan.clone(),
                what: nf.what.clone(),
            })
            .collect(),
        tally,
    }
}

/// Rebuild an accumulator from a partial's raw sums, checking every shape.
///
/// # Errors
/// Input error naming `file` when a length does not fit this build.
pub fn partial_to_accum(p: PartialSums, file: &Path) -> Result<PortfolioAccum> {
    let bad = |what: String| input(format!("{}: incomplete partial: {what}", file.display()));
    fn array<T: Copy, const N: usize>(v: &[T]) -> Option<[T; N]> {
        v.try_into().ok()
    }
    let pv = array(
        &p.pv
            .iter()
            .map(|&r| ExactSum::from_raw(r))
            .collect::<Vec<_>>(),
    )
    .ok_or_else(|| bad(format!("{} component sums", p.pv.len())))?;
    let by_investor = array(&p.by_investor.iter().map(group_accum).collect::<Vec<_>>())
        .ok_or_else(|| bad(format!("{} investor groups", p.by_investor.len())))?;
    let by_status = array(&p.by_status.iter().map(group_accum).collect::<Vec<_>>())
        .ok_or_else(|| bad(format!("{} status groups", p.by_status.len())))?;
    if p.path_values.len() != p.num_paths {
        return Err(bad(format!(
            "{} path sums for {} paths",
            p.path_values.len(),
            p.num_paths
        )));
    }
    if !(p.path_costs.is_empty() || p.path_costs.len() == p.num_paths) {
        return Err(bad(format!(
            "{} path cost sums for {} paths",
            p.path_costs.len(),
            p.num_paths
        )));
    }
    if !p.path_tangents.len().is_multiple_of(p.num_paths.max(1)) {
        return Err(bad(format!(
            "{} path derivative sums for {} paths",
            p.path_tangents.len(),
            p.num_paths
        )));
    }
    let mut monthly = Vec::with_capacity(p.monthly.len());
    for row in &p.monthly {
        let row: [ExactSum; NUM_MONTHLY] = array(
            &row.iter()
                .map(|&r| ExactSum::from_raw(r))
                .collect::<Vec<_>>(),
        )
        .ok_or_else(|| bad(format!("{} monthly fields", row.len())))?;
        monthly.push(row);
    }
    // The CF matrix is kept only beside the monthly sums (Detail::Full), and
    // not always then (Detail::Monthly).
    if !(p.monthly.is_empty() || p.monthly.len() == p.months)
        || !(p.cf.is_empty() || p.cf.len() == p.monthly.len() * p.num_paths)
    {
        return Err(bad(format!(
            "{} months of sums and {} CF cells for {} months x {} paths",
            p.monthly.len(),
            p.cf.len(),
            p.months,
            p.num_paths
        )));
    }
    Ok(PortfolioAccum {
        num_paths: p.num_paths,
        months: p.months,
        total: group_accum(&p.total),
        loan_count: p.loan_count,
        pv,
        by_investor,
        by_status,
        path_values: p
            .path_values
            .iter()
            .map(|&r| ExactSum::from_raw(r))
            .collect(),
        path_costs: p
            .path_costs
            .iter()
            .map(|&r| ExactSum::from_raw(r))
            .collect(),
        path_tangents: p
            .path_tangents
            .iter()
            .map(|&r| ExactSum::from_raw(r))
            .collect(),
        monthly,
        cf: p.cf,
        non_finite: p
            .non_finite
            .into_iter()
            .map(|nf| NonFinite {
                loan: nf.loan,
                what: nf.what,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_marks_sum_exactly_by_value_nulls_last() {
        use msr_io::tape::ExtraValue::{Int, Null};
        let loans = msr_io::generate_book(5, 11);
        let values = [Some(100.25), Some(50.5), None, Some(-7.0), Some(1000.0)];
        let keys = [Int(10), Null, Int(10), Int(9), Int(10)];
        let mut groups = GroupMarks::new("facility id");
        for ((l, v), k) in loans.iter().zip(values).zip(&keys) {
            groups.add_one(l, v, k);
        }

        let dir = tempfile::tempdir().unwrap();
        let staging = Staging::create(dir.path()).unwrap();
        let config = Config::default();
        groups.write(&staging, &config, "RUN1", 8).unwrap();
        let name = GroupMarks::file_name("facility id");
        assert_eq!(name, "marks_by_facility_id.csv");
        assert_eq!(GroupMarks::file_name("../x/y"), "marks_by_.._x_y.csv");
        let text = std::fs::read_to_string(staging.path(&name)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "as_of,facility id,loans,upb,fair_value,value_bps,multiple,method,paths,oas,run_id"
        );
        let fields: Vec<Vec<&str>> = lines[1..].iter().map(|l| l.split(',').collect()).collect();
        let keys: Vec<&str> = fields.iter().map(|f| f[1]).collect();
        assert_eq!(keys, ["9", "10", ""], "the null group is an empty field");
        let ten = &fields[1];
        assert_eq!(ten[2], "2");
        assert_eq!(ten[3].parse::<f64>().unwrap(), loans[0].upb + loans[4].upb);
        assert_eq!(ten[4], "1100.25");
        let bps: f64 = ten[5].parse().unwrap();
        assert!((bps - 1e4 * 1100.25 / (loans[0].upb + loans[4].upb)).abs() < 1e-9);
        let fee = loans[0].servicing_fee * loans[0].upb + loans[4].servicing_fee * loans[4].upb;
        let multiple: f64 = ten[6].parse().unwrap();
        assert!((multiple - 1100.25 / fee).abs() < 1e-12);
        assert_eq!(&ten[7..], ["loan-level OAS", "8", "0.065", "RUN1"]);
        assert_eq!(fields[0][4], "-7");
        assert_eq!(fields[2][4], "50.5");
        assert!(fields.iter().all(|f| f[0] == "2026-11-30"));
    }

    #[test]
    fn a_null_group_an_empty_string_and_the_text_null_read_apart() {
        use msr_io::tape::ExtraValue::{Null, Text};
        let loans = msr_io::generate_book(4, 12);
        let keys = [
            Null,
            Text("(null)".into()),
            Text(String::new()),
            Text("=1+1".into()),
        ];
        let mut groups = GroupMarks::new("pool");
        for (l, k) in loans.iter().zip(&keys) {
            groups.add_one(l, Some(1.0), k);
        }
        let dir = tempfile::tempdir().unwrap();
        let staging = Staging::create(dir.path()).unwrap();
        groups.write(&staging, &Config::default(), "R", 2).unwrap();
        let text = std::fs::read_to_string(staging.path("marks_by_pool.csv")).unwrap();
        let cells: Vec<&str> = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(1).unwrap())
            .collect();
        // Bytewise order of the texts, the null last.
        assert_eq!(cells, ["\"\"", "(null)", "'=1+1", ""]);
    }

    #[test]
    fn accumulator_round_trips_through_a_partial() {
        let mut acc = PortfolioAccum::new(3, 2, msr_engine::Detail::Full);
        acc.total.records = 2;
        acc.total.value.add(1.25e9);
        acc.loan_count = 4;
        acc.pv[1].add(-3.5);
        acc.by_investor[2].upb.add(7e5);
        acc.by_status[5].fee_base.add(0.1);
        acc.path_values[2].add(f64::MAX / 1e300);
        acc.monthly[1][4].add(1e-9);
        acc.cf[5] = i128::MIN / 3;
        acc.non_finite.push(NonFinite {
            loan: msr_io::generate_book(1, 3).remove(0),
            what: "value".into(),
        });
        let tally = ShardTally {
            rows_read: 3,
            ..ShardTally::default()
        };
        let p = accum_to_partial(&acc, tally);
        assert_eq!(p.tally, tally);
        assert_eq!(partial_to_accum(p, Path::new("x")).unwrap(), acc);
        let values_only = PortfolioAccum::new(5, 480, msr_engine::Detail::Values);
        let p = accum_to_partial(&values_only, tally);
        assert_eq!(partial_to_accum(p, Path::new("x")).unwrap(), values_only);
        let mut monthly = PortfolioAccum::new(5, 480, msr_engine::Detail::Monthly);
        monthly.monthly[479][0].add(2.5);
        assert!(monthly.cf.is_empty());
        let p = accum_to_partial(&monthly, tally);
        assert_eq!(partial_to_accum(p, Path::new("x")).unwrap(), monthly);
        // A CF matrix of the wrong shape is still refused.
        let mut p = accum_to_partial(&monthly, tally);
        p.cf = vec![0; 7];
        assert!(partial_to_accum(p, Path::new("x")).is_err());
    }
}
