//! The outputs of `msr rollforward`: rollforward.json ([`Rollforward`], the
//! schema docs/rollforward.md documents), rollforward.csv
//! ([`RollforwardRow`]) and its manifest.json ([`RollforwardManifest`]).

use std::collections::BTreeMap;
use std::path::PathBuf;

use msr_core::Date;
use msr_rates::PathScheme;
use serde::{Deserialize, Serialize};

use super::run::InputFile;
use super::{csv_text, Cell, CsvRow};

/// One step of a roll-forward.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollStep {
    /// Step name (`loans_removed`, `market`, …).
    pub name: String,
    /// Change in value ($).
    pub change: f64,
}

/// A roll-forward of one investor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollGroup {
    /// Value at the prior date ($).
    pub beginning_value: f64,
    /// Value at the current date ($).
    pub ending_value: f64,
    /// Steps.
    pub steps: Vec<RollStep>,
}

/// Loan counts of a roll-forward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollLoans {
    /// At the prior date.
    pub prior: u64,
    /// At the current date.
    pub current: u64,
    /// Paid off or sold.
    pub removed: u64,
    /// Boarded.
    pub added: u64,
    /// In both books.
    pub continuing: u64,
}

/// An OAS table of a roll-forward run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRef {
    /// Path as given.
    pub path: PathBuf,
    /// Hex SHA-256.
    pub sha256: String,
}

/// rollforward.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollforward {
    /// Prior valuation date.
    pub as_of_prior: Date,
    /// Current valuation date.
    pub as_of: Date,
    /// Paths.
    pub num_paths: u64,
    /// Seed.
    pub seed: u64,
    /// Value at the prior date.
    pub beginning_value: f64,
    /// Value at the current date.
    pub ending_value: f64,
    /// Steps in order.
    pub steps: Vec<RollStep>,
    /// By investor.
    #[serde(default)]
    pub by_investor: BTreeMap<String, RollGroup>,
    /// Loan counts.
    #[serde(default)]
    pub loans: Option<RollLoans>,
    /// The current OAS table (`--oas-table`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oas_table: Option<TableRef>,
    /// The prior OAS table (`--prior-oas-table`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_oas_table: Option<TableRef>,
}

/// A row of rollforward.csv: for the total (`ALL`) and then each investor, a
/// `beginning` row (step 0, no change), the steps and an `ending` row (whose
/// change is the whole period's).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RollforwardRow {
    /// Investor code or `ALL`.
    #[serde(deserialize_with = "csv_text")]
    pub investor: String,
    /// Step number.
    pub step: u64,
    /// Step name.
    pub name: String,
    /// Change in value ($); none on the `beginning` row.
    pub change: Option<f64>,
    /// Value after the step ($).
    pub level_after: f64,
}

impl RollforwardRow {
    /// The header.
    pub const HEADER: [&'static str; 5] = ["investor", "step", "name", "change", "level_after"];
}

impl CsvRow for RollforwardRow {
    fn cells(&self) -> Vec<Cell<'_>> {
        vec![
            Cell::Text(&self.investor),
            Cell::Int(self.step),
            Cell::Text(&self.name),
            Cell::OptNum(self.change),
            Cell::Num(self.level_after),
        ]
    }
}

/// A tape of a roll-forward with its hash and counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TapeFile {
    /// Path as given.
    pub path: PathBuf,
    /// Hex SHA-256.
    pub sha256: String,
    /// Rows read.
    pub rows: u64,
    /// Rows rejected.
    pub rejected: u64,
}

/// The inputs of a roll-forward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollforwardInputs {
    /// The prior tape.
    pub prior_loans: TapeFile,
    /// The prior configuration.
    pub prior_config: InputFile,
    /// The current tape.
    pub loans: TapeFile,
    /// The current configuration.
    pub config: InputFile,
}

/// The generated paths of a roll-forward (common to its four valuations).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollforwardPaths {
    /// `hull_white`.
    pub source: String,
    /// Seed.
    pub seed: u64,
    /// Antithetic pairs.
    pub antithetic: bool,
    /// valuation.path_scheme.
    #[serde(with = "super::path_scheme")]
    pub path_scheme: PathScheme,
    /// Paths.
    pub num_paths: u64,
    /// Months generated.
    pub months: u64,
}

/// A loan valuation that was not finite (counted as 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollforwardNonFinite {
    /// Which of the four valuations.
    pub valuation: String,
    /// Loan id.
    pub loan_id: String,
    /// What was not finite.
    pub what: String,
}

/// The resolved configurations of a roll-forward.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResolvedConfigs {
    /// At the prior date.
    pub prior: serde_json::Value,
    /// At the current date.
    pub current: serde_json::Value,
    /// The market step's: the prior one with the current market.
    pub market_step: serde_json::Value,
}

/// How long a roll-forward took (reported, never compared).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RollforwardTimings {
    /// Configurations, tapes, paths.
    pub setup_seconds: f64,
    /// In the engine.
    pub engine_seconds: f64,
    /// Start to end.
    pub wall_seconds: f64,
}

/// manifest.json of `msr rollforward`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollforwardManifest {
    /// `msr-engine`.
    pub engine: String,
    /// Engine version.
    pub version: String,
    /// The command line.
    pub command: Vec<String>,
    /// Start time (RFC 3339).
    pub started_at: String,
    /// End time (RFC 3339).
    pub finished_at: String,
    /// Inputs with hashes.
    pub inputs: RollforwardInputs,
    /// The rate paths.
    pub rate_paths: RollforwardPaths,
    /// The configuration keys the market step takes from the current date.
    pub market: Vec<String>,
    /// Valuations that were not finite.
    pub non_finite: Vec<RollforwardNonFinite>,
    /// Worker threads.
    pub threads: u64,
    /// Timings.
    pub timings: RollforwardTimings,
    /// The configurations as resolved.
    pub resolved_config: ResolvedConfigs,
    /// Every output with its hash, added when the run commits.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, super::run::OutputFile>,
}
