//! The outputs of `msr amortize` (ASC 860-50, docs/accounting.md):
//! amortization.json ([`Amortization`]), amortization.csv
//! ([`AmortizationRow`]) and impairment.csv ([`ImpairmentRow`]).

use msr_core::Date;
use serde::{Deserialize, Serialize};

use super::run::RunProvenance;
use super::{csv_text, Cell, CsvRow};

/// One stratum's amortization and impairment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stratum {
    /// The stratum's value of the stratum columns.
    pub stratum: String,
    /// Tape rows.
    pub loans: u64,
    /// Carrying amount ($, from the basis file).
    pub carrying_amount: f64,
    /// Fair value ($).
    pub fair_value: f64,
    /// max(0, carrying − fair).
    pub valuation_allowance: f64,
    /// Months of the schedule.
    pub months: u64,
    /// Amortization of the first twelve months ($).
    pub amortization_first_12_months: f64,
}

/// amortization.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Amortization {
    /// Valuation date.
    pub as_of: Date,
    /// valuation.oas.
    pub oas: f64,
    /// Paths.
    pub paths: u64,
    /// Seed.
    pub seed: u64,
    /// The tape columns a stratum is a value of.
    pub stratum_columns: Vec<String>,
    /// The method, in words.
    pub method: String,
    /// The strata.
    pub strata: Vec<Stratum>,
    /// Σ valuation allowance ($).
    pub total_valuation_allowance: f64,
    /// Start to end (reported, never compared).
    #[serde(default)]
    pub wall_seconds: f64,
    /// Provenance (the basis file among the inputs).
    pub run: RunProvenance,
}

/// A row of amortization.csv: one month of one stratum's schedule.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AmortizationRow {
    /// The stratum.
    #[serde(deserialize_with = "csv_text")]
    pub stratum: String,
    /// Month after the valuation date (1 = the first).
    pub month: u64,
    /// Its calendar month, `YYYY-MM`.
    pub period: String,
    /// Carrying amount at the start ($).
    pub beginning: f64,
    /// Amortized in the month ($).
    pub amortization: f64,
    /// Carrying amount at the end ($).
    pub ending: f64,
}

impl AmortizationRow {
    /// The header.
    pub const HEADER: [&'static str; 6] = [
        "stratum",
        "month",
        "period",
        "beginning",
        "amortization",
        "ending",
    ];
}

impl CsvRow for AmortizationRow {
    fn cells(&self) -> Vec<Cell<'_>> {
        vec![
            Cell::Text(&self.stratum),
            Cell::Int(self.month),
            Cell::Text(&self.period),
            Cell::Num(self.beginning),
            Cell::Num(self.amortization),
            Cell::Num(self.ending),
        ]
    }
}

/// A row of impairment.csv: one stratum.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ImpairmentRow {
    /// The stratum.
    #[serde(deserialize_with = "csv_text")]
    pub stratum: String,
    /// Tape rows.
    pub loans: u64,
    /// UPB.
    pub upb: f64,
    /// Carrying amount ($).
    pub carrying_amount: f64,
    /// Fair value ($).
    pub fair_value: f64,
    /// max(0, carrying − fair).
    pub valuation_allowance: f64,
}

impl ImpairmentRow {
    /// The header.
    pub const HEADER: [&'static str; 6] = [
        "stratum",
        "loans",
        "upb",
        "carrying_amount",
        "fair_value",
        "valuation_allowance",
    ];
}

impl CsvRow for ImpairmentRow {
    fn cells(&self) -> Vec<Cell<'_>> {
        vec![
            Cell::Text(&self.stratum),
            Cell::Int(self.loans),
            Cell::Num(self.upb),
            Cell::Num(self.carrying_amount),
            Cell::Num(self.fair_value),
            Cell::Num(self.valuation_allowance),
        ]
    }
}
