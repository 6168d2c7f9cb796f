//! The outputs of a valuation (`msr value`, and `msr merge`, which writes
//! exactly what an unsharded run writes): summary.json ([`Summary`]),
//! manifest.json ([`Manifest`], also the shape of the other commands'
//! provenance blocks), marks.csv ([`MarksRow`]) and marks_by_<COLUMN>.csv
//! ([`GroupMarksRow`]). The blocks manifests share are in [`super::run`].

use std::collections::BTreeMap;

use msr_core::Date;
use serde::{Deserialize, Serialize};

use super::run::{MergedFrom, OasTableRef, OutputFile, RunInputs};
use super::{csv_opt_text, csv_text, Cell, CsvRow};
use crate::partial::RatePathsInfo;

/// Totals of one group of loans (an investor, a status).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupTotals {
    /// Tape rows.
    pub records: u64,
    /// Unpaid principal balance ($).
    pub upb: f64,
    /// Value ($).
    pub value: f64,
    /// Value in bp of UPB (`null` for a group without balance).
    pub value_bps: Option<f64>,
    /// Value over the fee strip `Σ s·UPB` (`null` without a fee).
    pub multiple: Option<f64>,
}

/// A loan left out of the totals because its valuation was not finite.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NonFiniteLoan {
    /// Loan id.
    pub loan_id: String,
    /// What was not finite (`value`, `pv_<component>`, …) and why.
    pub what: String,
    /// UPB.
    pub upb: f64,
    /// Note rate.
    pub note_rate: f64,
    /// Servicing fee.
    pub servicing_fee: f64,
    /// Remaining term (months).
    pub remaining_term: u32,
    /// Loan age (months).
    pub loan_age: u32,
    /// FICO.
    pub fico: i32,
    /// LTV.
    pub ltv: f64,
    /// Investor code.
    pub investor: String,
    /// Delinquency status code.
    pub dq_status: String,
}

impl NonFiniteLoan {
    /// The entry of `loan`.
    pub fn of(loan: &msr_core::Loan, what: &str) -> NonFiniteLoan {
        NonFiniteLoan {
            loan_id: loan.loan_id.clone(),
            what: what.to_string(),
            upb: loan.upb,
            note_rate: loan.note_rate,
            servicing_fee: loan.servicing_fee,
            remaining_term: loan.remaining_term,
            loan_age: loan.loan_age,
            fico: loan.fico,
            ltv: loan.ltv,
            investor: loan.investor.code().to_string(),
            dq_status: loan.dq_status.code().to_string(),
        }
    }
}

/// How long a valuation took (reported, never compared).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ValueTimings {
    /// Configuration, paths and market.
    pub setup_seconds: f64,
    /// Reading the tape.
    pub read_seconds: f64,
    /// In the engine.
    pub engine_seconds: f64,
    /// Start to end (summed over the shards of a merge).
    pub wall_seconds: f64,
    /// The merge itself (`msr merge` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_seconds: Option<f64>,
}

/// summary.json of `msr value` and `msr merge`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Valuation date.
    pub as_of: Date,
    /// Option-adjusted spread (decimal).
    pub oas: f64,
    /// Paths valued.
    pub paths: u64,
    /// Months projected (the longest remaining term).
    #[serde(default)]
    pub months: u64,
    /// Tape rows valued.
    pub records: u64,
    /// Loans (Σ loan_count).
    #[serde(default)]
    pub loan_count: u64,
    /// Unpaid principal balance.
    pub upb: f64,
    /// Portfolio value ($).
    pub value: f64,
    /// Value in bp of UPB.
    pub value_bps: Option<f64>,
    /// Multiple of the fee strip.
    pub multiple: Option<f64>,
    /// Monte Carlo standard error of the value ($).
    pub std_error: Option<f64>,
    /// Independent scrambles behind `std_error` (randomized QMC,
    /// `valuation.scrambles`): the standard error is over their means.
    /// Absent with one scramble (over paths or antithetic pairs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scrambles: Option<u32>,
    /// PV of each component (costs positive).
    #[serde(default)]
    pub pv: BTreeMap<String, f64>,
    /// Expected event counts over the projection (empty without the monthly
    /// projection).
    #[serde(default)]
    pub expected_events: BTreeMap<String, f64>,
    /// Totals by investor code.
    #[serde(default)]
    pub by_investor: BTreeMap<String, GroupTotals>,
    /// Totals by delinquency status code.
    #[serde(default)]
    pub by_dq_status: BTreeMap<String, GroupTotals>,
    /// Tape rows read.
    #[serde(default)]
    pub loans_read: u64,
    /// Tape rows valued (= `records`).
    #[serde(default)]
    pub loans_valued: u64,
    /// Tape rows rejected.
    #[serde(default)]
    pub rejected_rows: u64,
    /// Loans left out because their value was not finite.
    #[serde(default)]
    pub non_finite_loans: u64,
    /// Those loans.
    #[serde(default)]
    pub non_finite: Vec<NonFiniteLoan>,
    /// Timings.
    #[serde(default)]
    pub timings: ValueTimings,
    /// Σ remaining_term × paths.
    #[serde(default)]
    pub loan_path_months: f64,
    /// `loan_path_months` per engine second.
    #[serde(default)]
    pub loan_path_months_per_second: f64,
    /// Worker threads (summed over the shards of a merge).
    #[serde(default)]
    pub threads: u64,
}

/// manifest.json of `msr value` and `msr merge`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// `msr-engine`.
    #[serde(default)]
    pub engine: String,
    /// Engine version.
    #[serde(default)]
    pub version: String,
    /// Run id.
    pub run_id: String,
    /// The command line.
    #[serde(default)]
    pub command: Vec<String>,
    /// Start time (RFC 3339).
    #[serde(default)]
    pub started_at: Option<String>,
    /// End time (RFC 3339).
    #[serde(default)]
    pub finished_at: Option<String>,
    /// Inputs with hashes.
    pub inputs: RunInputs,
    /// Rate-path provenance.
    pub rate_paths: RatePathsInfo,
    /// Seed.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Paths.
    #[serde(default)]
    pub num_paths: Option<u64>,
    /// valuation.oas.
    #[serde(default)]
    pub oas: Option<f64>,
    /// Worker threads.
    #[serde(default)]
    pub threads: Option<u64>,
    /// The configuration as resolved.
    #[serde(default)]
    pub resolved_config: Option<serde_json::Value>,
    /// The OAS table (`--oas-table`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oas_table: Option<OasTableRef>,
    /// The partials of a merged run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_from: Option<MergedFrom>,
    /// Every output with its hash, added when the run commits.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, OutputFile>,
}

/// The `method` cell of marks.
pub const MARKS_METHOD: &str = "loan-level OAS";

/// A row of marks.csv: one loan's accounting mark, tied to the manifest by
/// run id.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MarksRow {
    /// Valuation date.
    pub as_of: Date,
    /// Loan id.
    #[serde(deserialize_with = "csv_text")]
    pub loan_id: String,
    /// Investor code.
    pub investor: String,
    /// UPB.
    pub upb: f64,
    /// Value ($).
    pub fair_value: f64,
    /// Value in bp of UPB.
    pub value_bps: f64,
    /// Value over the fee strip (empty without a fee).
    pub multiple: Option<f64>,
    /// [`MARKS_METHOD`].
    pub method: String,
    /// Paths.
    pub paths: u64,
    /// The loan's OAS.
    pub oas: f64,
    /// Run id.
    pub run_id: String,
}

impl MarksRow {
    /// The header.
    pub const HEADER: [&'static str; 11] = [
        "as_of",
        "loan_id",
        "investor",
        "upb",
        "fair_value",
        "value_bps",
        "multiple",
        "method",
        "paths",
        "oas",
        "run_id",
    ];
}

impl CsvRow for MarksRow {
    fn cells(&self) -> Vec<Cell<'_>> {
        vec![
            Cell::Date(self.as_of),
            Cell::Text(&self.loan_id),
            Cell::Text(&self.investor),
            Cell::Num(self.upb),
            Cell::Num(self.fair_value),
            Cell::Num(self.value_bps),
            Cell::OptNum(self.multiple),
            Cell::Text(&self.method),
            Cell::Int(self.paths),
            Cell::Num(self.oas),
            Cell::Raw(&self.run_id),
        ]
    }
}

/// A row of marks_by_<COLUMN>.csv (`msr value --group-by COLUMN`): the marks
/// summed over the loans with one value of the column. The second column is
/// named after the grouping column, so rows are read by position
/// ([`read_group_marks`]). A null group is an empty cell and an empty text
/// a quoted empty cell `""` (as DuckDB and Polars read them: NULL and ''),
/// so neither reads as the other there, nor as a text `(null)`; this reader
/// reads both as `None` (the `csv` crate does not report quoting).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GroupMarksRow {
    /// Valuation date.
    pub as_of: Date,
    /// The column's value as text (an integer in decimal); `None` for a
    /// null.
    #[serde(deserialize_with = "csv_opt_text")]
    pub group: Option<String>,
    /// Tape rows.
    pub loans: u64,
    /// UPB.
    pub upb: f64,
    /// Value ($).
    pub fair_value: f64,
    /// Value in bp of UPB (empty without balance).
    pub value_bps: Option<f64>,
    /// Value over the fee strip (empty without a fee).
    pub multiple: Option<f64>,
    /// [`MARKS_METHOD`].
    pub method: String,
    /// Paths.
    pub paths: u64,
    /// valuation.oas.
    pub oas: f64,
    /// Run id.
    pub run_id: String,
}

impl GroupMarksRow {
    /// The header for grouping by `column`.
    pub fn header(column: &str) -> [&str; 11] {
        [
            "as_of",
            column,
            "loans",
            "upb",
            "fair_value",
            "value_bps",
            "multiple",
            "method",
            "paths",
            "oas",
            "run_id",
        ]
    }
}

impl CsvRow for GroupMarksRow {
    fn cells(&self) -> Vec<Cell<'_>> {
        let key = match &self.group {
            None => Cell::Empty,
            Some(t) if t.is_empty() => Cell::EmptyText,
            Some(t) => Cell::Text(t),
        };
        vec![
            Cell::Date(self.as_of),
            key,
            Cell::Int(self.loans),
            Cell::Num(self.upb),
            Cell::Num(self.fair_value),
            Cell::OptNum(self.value_bps),
            Cell::OptNum(self.multiple),
            Cell::Text(&self.method),
            Cell::Int(self.paths),
            Cell::Num(self.oas),
            Cell::Raw(&self.run_id),
        ]
    }
}

/// Read marks_by_<COLUMN>.csv: the grouping column's name and the rows.
///
/// # Errors
/// As [`super::read_csv_rows`].
pub fn read_group_marks(
    path: impl AsRef<std::path::Path>,
) -> Result<(String, Vec<GroupMarksRow>), crate::IoError> {
    let path = path.as_ref();
    let err = |e: csv::Error| super::csv_error(path, e);
    let mut reader = csv::ReaderBuilder::new().from_path(path).map_err(err)?;
    let column = reader
        .headers()
        .map_err(err)?
        .get(1)
        .map(|c| crate::text::csv_cell_original(c).to_string())
        .unwrap_or_default();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(err)?;
        rows.push(record.deserialize(None).map_err(err)?);
    }
    Ok((column, rows))
}
