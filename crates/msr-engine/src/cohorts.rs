//! Cohorts of a book for spread calibration (issue #24,
//! docs/calibration-market.md): a table whose rows name cohorts by tape
//! columns and numeric bands, each with one number — a target (`multiple` or
//! `value_bps`, the grid of `msr calibrate oas`) or an OAS (the table of
//! `--oas-table`) — and the valuation of a book with each loan at its
//! cohort's market.
//!
//! A row names its cohort by
//! * key columns, compared exactly: `investor`, `dq_status`,
//!   `property_state` (text) and `fico`, `loan_age`, `remaining_term`,
//!   `loan_count` (integers);
//! * bands `<column>_min`, `<column>_max` on a numeric tape column, half-open
//!   `[min, max)`; an empty cell leaves that end open.
//!
//! Every row gives every column. Two rows whose keys agree and whose bands all
//! intersect overlap (a loan could fall in both) and are refused; after
//! assignment every loan must fall in exactly one cohort and every cohort
//! must hold a loan.
//!
//! The kernel discounts with the market's `D[p,t]·e^{−oas·τ_t}` array, shared
//! read-only by every loan valued against it. A per-cohort OAS is therefore
//! one [`Market`] per distinct OAS and the loans valued group by group
//! ([`value_loans_grouped`]): nothing per loan, nothing new in the hot loop.
//! The groups' exact accumulators merge into the same totals whatever the
//! grouping.

use std::fmt;

use msr_core::Loan;
use msr_model::Market;

use crate::valuation::{value_loans_with, Context, Detail, LoanResult, PortfolioAccum};

/// A tape column compared exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyColumn {
    /// `investor` (FNMA, FHLMC, GNMA, PLS).
    Investor,
    /// `dq_status` (C, D30, …, FC).
    DqStatus,
    /// `property_state` (two letters).
    PropertyState,
    /// `fico`.
    Fico,
    /// `loan_age`.
    LoanAge,
    /// `remaining_term`.
    RemainingTerm,
    /// `loan_count`.
    LoanCount,
}

impl KeyColumn {
    const ALL: [KeyColumn; 7] = [
        KeyColumn::Investor,
        KeyColumn::DqStatus,
        KeyColumn::PropertyState,
        KeyColumn::Fico,
        KeyColumn::LoanAge,
        KeyColumn::RemainingTerm,
        KeyColumn::LoanCount,
    ];

    /// The tape column's name.
    pub fn name(self) -> &'static str {
        match self {
            KeyColumn::Investor => "investor",
            KeyColumn::DqStatus => "dq_status",
            KeyColumn::PropertyState => "property_state",
            KeyColumn::Fico => "fico",
            KeyColumn::LoanAge => "loan_age",
            KeyColumn::RemainingTerm => "remaining_term",
            KeyColumn::LoanCount => "loan_count",
        }
    }

    /// A loan's value of this column, as the table spells it.
    fn of(self, loan: &Loan) -> String {
        match self {
            KeyColumn::Investor => loan.investor.code().to_string(),
            KeyColumn::DqStatus => loan.dq_status.code().to_string(),
            KeyColumn::PropertyState => String::from_utf8_lossy(&loan.property_state).into_owned(),
            KeyColumn::Fico => loan.fico.to_string(),
            KeyColumn::LoanAge => loan.loan_age.to_string(),
            KeyColumn::RemainingTerm => loan.remaining_term.to_string(),
            KeyColumn::LoanCount => loan.loan_count.to_string(),
        }
    }

    /// The cell in canonical form, or the rule it breaks.
    fn canonical(self, cell: &str) -> Result<String, String> {
        let text = |allowed: &[&str]| {
            if allowed.contains(&cell) {
                Ok(cell.to_string())
            } else {
                Err(format!("`{cell}` is not one of {}", allowed.join(", ")))
            }
        };
        match self {
            KeyColumn::Investor => text(&["FNMA", "FHLMC", "GNMA", "PLS"]),
            KeyColumn::DqStatus => text(&["C", "D30", "D60", "D90", "D120", "FC"]),
            KeyColumn::PropertyState => {
                if cell.len() == 2 && cell.bytes().all(|b| b.is_ascii_uppercase()) {
                    Ok(cell.to_string())
                } else {
                    Err(format!("`{cell}` is not a two-letter state code"))
                }
            }
            _ => cell
                .parse::<i64>()
                .map(|v| v.to_string())
                .map_err(|_| format!("`{cell}` is not an integer")),
        }
    }
}

/// A numeric tape column a band can bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BandColumn {
    /// `upb`.
    Upb,
    /// `note_rate`.
    NoteRate,
    /// `servicing_fee`.
    ServicingFee,
    /// `remaining_term`.
    RemainingTerm,
    /// `loan_age`.
    LoanAge,
    /// `fico`.
    Fico,
    /// `ltv`.
    Ltv,
    /// `escrow_monthly`.
    EscrowMonthly,
    /// `loan_count`.
    LoanCount,
    /// `advance_balance`.
    AdvanceBalance,
}

impl BandColumn {
    const ALL: [BandColumn; 10] = [
        BandColumn::Upb,
        BandColumn::NoteRate,
        BandColumn::ServicingFee,
        BandColumn::RemainingTerm,
        BandColumn::LoanAge,
        BandColumn::Fico,
        BandColumn::Ltv,
        BandColumn::EscrowMonthly,
        BandColumn::LoanCount,
        BandColumn::AdvanceBalance,
    ];

    /// The tape column's name.
    pub fn name(self) -> &'static str {
        match self {
            BandColumn::Upb => "upb",
            BandColumn::NoteRate => "note_rate",
            BandColumn::ServicingFee => "servicing_fee",
            BandColumn::RemainingTerm => "remaining_term",
            BandColumn::LoanAge => "loan_age",
            BandColumn::Fico => "fico",
            BandColumn::Ltv => "ltv",
            BandColumn::EscrowMonthly => "escrow_monthly",
            BandColumn::LoanCount => "loan_count",
            BandColumn::AdvanceBalance => "advance_balance",
        }
    }

    fn of(self, loan: &Loan) -> f64 {
        match self {
            BandColumn::Upb => loan.upb,
            BandColumn::NoteRate => loan.note_rate,
            BandColumn::ServicingFee => loan.servicing_fee,
            BandColumn::RemainingTerm => f64::from(loan.remaining_term),
            BandColumn::LoanAge => f64::from(loan.loan_age),
            BandColumn::Fico => f64::from(loan.fico),
            BandColumn::Ltv => loan.ltv,
            BandColumn::EscrowMonthly => loan.escrow_monthly,
            BandColumn::LoanCount => f64::from(loan.loan_count),
            BandColumn::AdvanceBalance => loan.advance_balance,
        }
    }
}

/// The number each row of a cohort table carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CohortNumber {
    /// A target multiple of the annual fee `Σ s·UPB` (column `multiple`).
    Multiple,
    /// A target value in bp of UPB (column `value_bps`).
    ValueBps,
    /// An OAS (column `oas`).
    Oas,
}

impl CohortNumber {
    /// The column's name.
    pub fn name(self) -> &'static str {
        match self {
            CohortNumber::Multiple => "multiple",
            CohortNumber::ValueBps => "value_bps",
            CohortNumber::Oas => "oas",
        }
    }
}

/// What kind of table is expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// A calibration grid: one target column, `multiple` or `value_bps`.
    Targets,
    /// An OAS table: an `oas` column; the other outputs of
    /// `msr calibrate oas` (`target`, `model`, `loans`, `upb`) are ignored.
    Oas,
}

/// Columns an OAS table carries besides the cohorts and `oas`, ignored when
/// read back.
pub const OAS_TABLE_OUTPUTS: [&str; 4] = ["target", "model", "loans", "upb"];

/// One cohort: a row of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Cohort {
    /// Line of the file (the header is line 1).
    pub line: usize,
    /// The cohort columns' cells as written, in [`CohortTable::columns`] order.
    pub cells: Vec<String>,
    /// Canonical key values, one per key column.
    keys: Vec<String>,
    /// `[min, max)` per band column (open ends infinite).
    bands: Vec<(f64, f64)>,
    /// The row's number (target or OAS).
    pub number: f64,
}

/// A parsed cohort table.
#[derive(Debug, Clone, PartialEq)]
pub struct CohortTable {
    /// The cohort columns as written in the header (keys and band ends), in
    /// file order.
    pub columns: Vec<String>,
    key_columns: Vec<KeyColumn>,
    band_columns: Vec<BandColumn>,
    /// The kind of each row's number.
    pub number: CohortNumber,
    /// The cohorts, in file order.
    pub cohorts: Vec<Cohort>,
}

/// A cohort table that cannot be used, or a book it does not partition.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CohortError {
    /// The header is unusable.
    #[error("line 1: {0}")]
    Header(String),
    /// A cell breaks a rule.
    #[error("line {line}, column `{column}`: {rule}")]
    Cell {
        /// Line (header = 1).
        line: usize,
        /// Column.
        column: String,
        /// The rule broken.
        rule: String,
    },
    /// Two cohorts overlap.
    #[error("the cohorts on lines {first} ({first_label}) and {second} ({second_label}) overlap: a loan could fall in both")]
    Overlap {
        /// The first cohort's line.
        first: usize,
        /// Its description.
        first_label: String,
        /// The second cohort's line.
        second: usize,
        /// Its description.
        second_label: String,
    },
    /// The table has no rows.
    #[error("no cohorts (only a header)")]
    Empty,
    /// Loans outside every cohort.
    #[error("{count} loan(s) fall in no cohort: {examples}; the cohorts are: {cohorts}")]
    Unassigned {
        /// How many.
        count: usize,
        /// The first few, with their values of the table's columns.
        examples: String,
        /// Every cohort, by line.
        cohorts: String,
    },
    /// A cohort without loans.
    #[error("{count} cohort(s) hold no loans: {cohorts}")]
    NoLoans {
        /// How many.
        count: usize,
        /// Those cohorts, by line.
        cohorts: String,
    },
}

fn cell_error(line: usize, column: &str, rule: impl Into<String>) -> CohortError {
    CohortError::Cell {
        line,
        column: column.to_string(),
        rule: rule.into(),
    }
}

impl CohortTable {
    /// The distinct numbers of the rows, in first-seen order (bit-equal
    /// numbers are one), and for each cohort the index of its number there:
    /// for an OAS table, the markets to build and which one each cohort
    /// values on.
    pub fn distinct_numbers(&self) -> (Vec<f64>, Vec<usize>) {
        let mut distinct: Vec<f64> = Vec::new();
        let index = self
            .cohorts
            .iter()
            .map(|c| {
                match distinct
                    .iter()
                    .position(|x| x.to_bits() == c.number.to_bits())
                {
                    Some(i) => i,
                    None => {
                        distinct.push(c.number);
                        distinct.len() - 1
                    }
                }
            })
            .collect();
        (distinct, index)
    }

    /// Parse a table from its header and rows (`(line, cells)`).
    ///
    /// # Errors
    /// [`CohortError`] for an unknown column, a band without its other end, a
    /// missing or second number column, a bad cell, a band with `min ≥ max`,
    /// overlapping cohorts, or no rows.
    pub fn parse(
        headers: &[String],
        rows: &[(usize, Vec<String>)],
        kind: TableKind,
    ) -> Result<CohortTable, CohortError> {
        let mut number: Option<(CohortNumber, usize)> = None;
        let mut keys: Vec<(KeyColumn, usize)> = Vec::new();
        let mut band_ends: Vec<(BandColumn, Option<usize>, Option<usize>)> = Vec::new();
        let mut columns = Vec::new();
        let mut cohort_index = Vec::new();
        for (k, h) in headers.iter().enumerate() {
            let as_number = match (kind, h.as_str()) {
                (TableKind::Targets, "multiple") => Some(CohortNumber::Multiple),
                (TableKind::Targets, "value_bps") => Some(CohortNumber::ValueBps),
                (TableKind::Oas, "oas") => Some(CohortNumber::Oas),
                _ => None,
            };
            if let Some(n) = as_number {
                if let Some((first, _)) = number {
                    return Err(CohortError::Header(format!(
                        "two target columns, `{}` and `{}`: give one",
                        first.name(),
                        n.name()
                    )));
                }
                number = Some((n, k));
                continue;
            }
            if kind == TableKind::Oas && OAS_TABLE_OUTPUTS.contains(&h.as_str()) {
                continue;
            }
            if let Some(key) = KeyColumn::ALL.into_iter().find(|c| c.name() == h) {
                keys.push((key, k));
            } else if let Some((band, is_min)) = BandColumn::ALL.into_iter().find_map(|c| {
                if h.strip_suffix("_min") == Some(c.name()) {
                    Some((c, true))
                } else if h.strip_suffix("_max") == Some(c.name()) {
                    Some((c, false))
                } else {
                    None
                }
            }) {
                let slot = match band_ends.iter().position(|(c, _, _)| *c == band) {
                    Some(i) => i,
                    None => {
                        band_ends.push((band, None, None));
                        band_ends.len() - 1
                    }
                };
                if is_min {
                    band_ends[slot].1 = Some(k);
                } else {
                    band_ends[slot].2 = Some(k);
                }
            } else {
                let wanted = match kind {
                    TableKind::Targets => "one of `multiple`, `value_bps`",
                    TableKind::Oas => "`oas`",
                };
                return Err(CohortError::Header(format!(
                    "unknown column `{h}`: cohort columns are {} (exact) or `<column>_min`/`<column>_max` bands on {}, and the number column is {wanted}",
                    KeyColumn::ALL.map(KeyColumn::name).join(", "),
                    BandColumn::ALL.map(BandColumn::name).join(", "),
                )));
            }
            columns.push(h.clone());
            cohort_index.push(k);
        }
        let Some((number, number_at)) = number else {
            return Err(CohortError::Header(match kind {
                TableKind::Targets => {
                    "no target column: give `multiple` or `value_bps`".to_string()
                }
                TableKind::Oas => "no `oas` column".to_string(),
            }));
        };
        let mut bands = Vec::new();
        for (band, lo, hi) in band_ends {
            match (lo, hi) {
                (Some(lo), Some(hi)) => bands.push((band, lo, hi)),
                _ => {
                    return Err(CohortError::Header(format!(
                        "band `{0}` needs both `{0}_min` and `{0}_max`",
                        band.name()
                    )))
                }
            }
        }
        let mut cohorts = Vec::with_capacity(rows.len());
        for (line, cells) in rows {
            let line = *line;
            let mut key_values = Vec::with_capacity(keys.len());
            for &(key, k) in &keys {
                key_values.push(
                    key.canonical(&cells[k])
                        .map_err(|r| cell_error(line, &headers[k], r))?,
                );
            }
            let mut intervals = Vec::with_capacity(bands.len());
            for &(band, lo, hi) in &bands {
                let end = |k: usize, open: f64| -> Result<f64, CohortError> {
                    let cell = cells[k].as_str();
                    if cell.is_empty() {
                        return Ok(open);
                    }
                    match cell.parse::<f64>() {
                        Ok(x) if x.is_finite() => Ok(x),
                        _ => Err(cell_error(
                            line,
                            &headers[k],
                            format!("`{cell}` is not a finite number"),
                        )),
                    }
                };
                let (min, max) = (end(lo, f64::NEG_INFINITY)?, end(hi, f64::INFINITY)?);
                if min >= max {
                    return Err(cell_error(
                        line,
                        &headers[hi],
                        format!(
                            "the band [{min}, {max}) on `{}` is empty (min must be below max)",
                            band.name()
                        ),
                    ));
                }
                intervals.push((min, max));
            }
            let text = cells[number_at].as_str();
            let value = match text.parse::<f64>() {
                Ok(x) if x.is_finite() => x,
                _ => {
                    return Err(cell_error(
                        line,
                        &headers[number_at],
                        format!("`{text}` is not a finite number"),
                    ))
                }
            };
            if number == CohortNumber::Oas && !(-1.0..=1.0).contains(&value) {
                return Err(cell_error(
                    line,
                    "oas",
                    format!("{value} is outside [-1, 1]"),
                ));
            }
            cohorts.push(Cohort {
                line,
                cells: cohort_index.iter().map(|&k| cells[k].clone()).collect(),
                keys: key_values,
                bands: intervals,
                number: value,
            });
        }
        if cohorts.is_empty() {
            return Err(CohortError::Empty);
        }
        let table = CohortTable {
            columns,
            key_columns: keys.iter().map(|(c, _)| *c).collect(),
            band_columns: bands.iter().map(|(c, _, _)| *c).collect(),
            number,
            cohorts,
        };
        table.check_overlaps()?;
        Ok(table)
    }

    /// Refuse two cohorts with the same keys whose bands all intersect.
    fn check_overlaps(&self) -> Result<(), CohortError> {
        for (j, b) in self.cohorts.iter().enumerate() {
            for a in &self.cohorts[..j] {
                let same_keys = a.keys == b.keys;
                let bands_meet = a
                    .bands
                    .iter()
                    .zip(&b.bands)
                    .all(|(x, y)| x.0.max(y.0) < x.1.min(y.1));
                if same_keys && bands_meet {
                    return Err(CohortError::Overlap {
                        first: a.line,
                        first_label: self.label(a),
                        second: b.line,
                        second_label: self.label(b),
                    });
                }
            }
        }
        Ok(())
    }

    /// `investor=FNMA, note_rate_min=0.05, note_rate_max=0.06`.
    pub fn label(&self, cohort: &Cohort) -> String {
        self.columns
            .iter()
            .zip(&cohort.cells)
            .map(|(c, v)| format!("{c}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn contains(&self, cohort: &Cohort, loan: &Loan, key_values: &[String]) -> bool {
        cohort.keys == key_values
            && self
                .band_columns
                .iter()
                .zip(&cohort.bands)
                .all(|(c, &(lo, hi))| {
                    let x = c.of(loan);
                    lo <= x && x < hi
                })
    }

    /// The cohort of each loan (an index into [`cohorts`](Self::cohorts)),
    /// with every cohort holding at least one loan (a calibration grid).
    ///
    /// # Errors
    /// As [`cohort_of`](Self::cohort_of), and [`CohortError::NoLoans`]
    /// listing cohorts without loans.
    pub fn assign(&self, loans: &[Loan]) -> Result<Vec<usize>, CohortError> {
        let cohort_of = self.cohort_of(loans)?;
        let mut count = vec![0usize; self.cohorts.len()];
        for &i in &cohort_of {
            count[i] += 1;
        }
        let empty = count.iter().filter(|&&n| n == 0).count();
        if empty > 0 {
            return Err(CohortError::NoLoans {
                count: empty,
                cohorts: self.list(|i| count[i] == 0),
            });
        }
        Ok(cohort_of)
    }

    /// The cohort of each loan (an index into [`cohorts`](Self::cohorts));
    /// cohorts may be left empty (an OAS table applied to part of a book).
    ///
    /// # Errors
    /// [`CohortError::Unassigned`] listing loans outside every cohort (the
    /// first ten, with their values of the table's columns) and the cohorts.
    pub fn cohort_of(&self, loans: &[Loan]) -> Result<Vec<usize>, CohortError> {
        let mut cohort_of = Vec::with_capacity(loans.len());
        let mut unassigned = Vec::new();
        for loan in loans {
            let key_values: Vec<String> = self.key_columns.iter().map(|c| c.of(loan)).collect();
            match self
                .cohorts
                .iter()
                .position(|c| self.contains(c, loan, &key_values))
            {
                Some(i) => cohort_of.push(i),
                None => {
                    unassigned.push(loan);
                    cohort_of.push(usize::MAX);
                }
            }
        }
        if unassigned.is_empty() {
            return Ok(cohort_of);
        }
        let show = |loan: &Loan| {
            let mut fields: Vec<String> = self
                .key_columns
                .iter()
                .map(|c| format!("{}={}", c.name(), c.of(loan)))
                .collect();
            fields.extend(
                self.band_columns
                    .iter()
                    .map(|c| format!("{}={}", c.name(), c.of(loan))),
            );
            format!("{} ({})", loan.loan_id, fields.join(", "))
        };
        let mut examples: Vec<String> = unassigned.iter().take(10).map(|l| show(l)).collect();
        if unassigned.len() > 10 {
            examples.push(format!("and {} more", unassigned.len() - 10));
        }
        Err(CohortError::Unassigned {
            count: unassigned.len(),
            examples: examples.join("; "),
            cohorts: self.list(|_| true),
        })
    }

    fn list(&self, pick: impl Fn(usize) -> bool) -> String {
        self.cohorts
            .iter()
            .enumerate()
            .filter(|(i, _)| pick(*i))
            .map(|(_, c)| format!("line {} ({})", c.line, self.label(c)))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl fmt::Display for CohortNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Each loan's spread as an index into a list of distinct OAS values: what
/// risk needs to build one market per distinct OAS in every scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct LoanSpreads {
    /// The distinct OAS values.
    pub oas: Vec<f64>,
    /// For each loan (in the order of the loans valued), its index into `oas`.
    pub group_of: Vec<usize>,
}

/// Value `loans` with loan `i` against `markets[group_of[i]]`: the loans of
/// each group in one engine call (so they share prepayment work as in
/// [`value_loans_with`]), the results back in input order, and one
/// accumulator per group (`Detail::Full` keeps each group's `CF[p,t]`).
/// Merged, the accumulators are the book's totals, exact whatever the
/// grouping.
///
/// # Panics
/// If a group index is out of range or the markets differ in paths or
/// months.
pub fn value_loans_grouped(
    ctx: &Context<'_>,
    markets: &[&Market],
    group_of: &[usize],
    loans: &[Loan],
    detail: Detail,
    progress: &(dyn Fn(usize) + Sync),
) -> (Vec<LoanResult>, Vec<PortfolioAccum>) {
    assert_eq!(group_of.len(), loans.len(), "one group per loan");
    for m in markets {
        assert!(
            m.num_paths() == ctx.market.num_paths() && m.months() == ctx.market.months(),
            "every market has the paths and months of the context's"
        );
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); markets.len()];
    for (i, &g) in group_of.iter().enumerate() {
        members[g].push(i);
    }
    let mut results: Vec<Option<LoanResult>> = vec![None; loans.len()];
    let mut accums = Vec::with_capacity(markets.len());
    for (market, idx) in markets.iter().zip(&members) {
        let group_ctx = Context { market, ..*ctx };
        let group: Vec<Loan> = idx.iter().map(|&i| loans[i].clone()).collect();
        let (r, accum) = value_loans_with(&group_ctx, &group, detail, progress);
        for (&i, r) in idx.iter().zip(r) {
            results[i] = Some(r);
        }
        accums.push(accum);
    }
    let results = results
        .into_iter()
        .map(|r| r.expect("every loan in a group"))
        .collect();
    (results, accums)
}
