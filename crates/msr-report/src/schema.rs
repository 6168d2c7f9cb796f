//! The files other commands write, as the report reads them: summary.json
//! and manifest.json (`msr value`, `msr merge`), risk.json (`msr risk`),
//! repline_summary.json (`msr repline`) and rollforward.json
//! (`msr rollforward`). Only the fields the page shows are declared; unknown
//! fields are ignored, so a later version that adds fields still reads, and
//! a missing required field is an input error naming the file.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

/// Totals of one group of loans (an investor, a status, a note-rate bucket).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Group {
    /// Tape rows.
    pub records: u64,
    /// Unpaid principal balance ($).
    pub upb: f64,
    /// Value ($).
    pub value: f64,
    /// Value in bp of UPB.
    pub value_bps: Option<f64>,
    /// Value over the fee strip `Σ s·UPB`.
    pub multiple: Option<f64>,
}

/// summary.json, the fields the report shows.
#[derive(Debug, Clone, Deserialize)]
pub struct Summary {
    /// Valuation date.
    pub as_of: String,
    /// Option-adjusted spread (decimal).
    pub oas: f64,
    /// Paths valued.
    pub paths: u64,
    /// Months projected.
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
    /// PV of each component (costs positive).
    #[serde(default)]
    pub pv: BTreeMap<String, f64>,
    /// Totals by investor code.
    #[serde(default)]
    pub by_investor: BTreeMap<String, Group>,
    /// Totals by delinquency status code.
    #[serde(default)]
    pub by_dq_status: BTreeMap<String, Group>,
    /// Expected event counts over the projection.
    #[serde(default)]
    pub expected_events: BTreeMap<String, f64>,
    /// Tape rows read.
    #[serde(default)]
    pub loans_read: u64,
    /// Tape rows rejected.
    #[serde(default)]
    pub rejected_rows: u64,
    /// Loans left out because their value was not finite.
    #[serde(default)]
    pub non_finite_loans: u64,
}
/// A file named in a manifest with its hash.
#[derive(Debug, Clone, Deserialize)]
pub struct InputFile {
    /// Path as given to the run.
    pub path: PathBuf,
    /// Hex SHA-256.
    pub sha256: String,
    /// Rows (tapes).
    #[serde(default)]
    pub rows: Option<u64>,
}

/// The inputs of a run.
#[derive(Debug, Clone, Deserialize)]
pub struct ManifestInputs {
    /// The loan tape.
    pub loans: InputFile,
    /// The configuration file.
    pub config: InputFile,
}

/// Where a run's rate paths came from.
#[derive(Debug, Clone, Deserialize)]
pub struct RatePaths {
    /// `hull_white` or `file`.
    pub source: String,
    /// Generator seed.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Antithetic pairs.
    #[serde(default)]
    pub antithetic: Option<bool>,
    /// Path file.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Path file hash.
    #[serde(default)]
    pub sha256: Option<String>,
}

/// manifest.json.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    /// Engine version.
    #[serde(default)]
    pub version: String,
    /// Run id.
    pub run_id: String,
    /// Start time (RFC 3339).
    #[serde(default)]
    pub started_at: Option<String>,
    /// End time (RFC 3339).
    #[serde(default)]
    pub finished_at: Option<String>,
    /// Inputs with hashes.
    pub inputs: ManifestInputs,
    /// Rate-path provenance.
    pub rate_paths: RatePaths,
    /// Seed.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Worker threads.
    #[serde(default)]
    pub threads: Option<u64>,
    /// The configuration as resolved.
    #[serde(default)]
    pub resolved_config: Option<serde_json::Value>,
}
/// A risk scenario of risk.json.
#[derive(Debug, Clone, Deserialize)]
pub struct Scenario {
    /// Name (`parallel_+25bp`).
    pub scenario: String,
    /// Shock size in `unit`.
    pub shock: f64,
    /// `bp` or `pct`.
    #[serde(default)]
    pub unit: String,
    /// Value ($).
    pub value: f64,
    /// Value in bp of UPB.
    #[serde(default)]
    pub value_bps: Option<f64>,
    /// Change from the base ($).
    pub change: f64,
    /// Change in percent of |base|.
    #[serde(default)]
    pub change_pct: Option<f64>,
    /// Standard error ($).
    #[serde(default)]
    pub std_error: Option<f64>,
}

/// A key-rate duration.
#[derive(Debug, Clone, Deserialize)]
pub struct KeyRate {
    /// Tenor in years.
    pub tenor_years: f64,
    /// Duration.
    pub duration: Option<f64>,
}

/// Provenance of a risk run (the fields compared with the valuation).
#[derive(Debug, Clone, Deserialize)]
pub struct RiskRun {
    /// Inputs with hashes.
    pub inputs: ManifestInputs,
}

/// risk.json.
#[derive(Debug, Clone, Deserialize)]
pub struct Risk {
    /// Valuation date.
    pub as_of: String,
    /// Base OAS.
    pub oas: f64,
    /// Paths.
    pub paths: u64,
    /// Seed.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Tape rows valued.
    pub records: u64,
    /// UPB.
    pub upb: f64,
    /// Base value.
    pub value: f64,
    /// Base value in bp.
    #[serde(default)]
    pub value_bps: Option<f64>,
    /// Base standard error.
    #[serde(default)]
    pub std_error: Option<f64>,
    /// Shock of the durations (bp).
    pub shock_bp: f64,
    /// Effective duration.
    pub effective_duration: Option<f64>,
    /// Effective convexity.
    pub effective_convexity: Option<f64>,
    /// Key-rate durations.
    pub key_rate_durations: Vec<KeyRate>,
    /// Parallel shocks.
    pub rate_shocks: Vec<Scenario>,
    /// Assumption and OAS stresses.
    pub assumption_stresses: Vec<Scenario>,
    /// Value on the static path.
    pub static_value: f64,
    /// Static value minus stochastic value.
    pub option_cost: f64,
    /// Option cost in bp.
    #[serde(default)]
    pub option_cost_bps: Option<f64>,
    /// Provenance.
    #[serde(default)]
    pub run: Option<RiskRun>,
}

/// A rep-line bucket compared with its loans.
#[derive(Debug, Clone, Deserialize)]
pub struct Bucket {
    /// Bucket id (`RL:investor=FNMA|dq_status=C|…`).
    pub bucket: String,
    /// Tape rows.
    pub records: u64,
    /// UPB.
    pub upb: f64,
    /// Loan-level value.
    pub value_loans: f64,
    /// Rep-line value.
    pub value_repline: f64,
    /// Rep line − loans ($).
    pub diff: f64,
    /// diff in bp of the bucket's UPB.
    #[serde(default)]
    pub diff_bps: Option<f64>,
}

/// repline_summary.json.
#[derive(Debug, Clone, Deserialize)]
pub struct ReplineSummary {
    /// Tape rows valued.
    pub loans: u64,
    /// Rep lines.
    pub replines: u64,
    /// Rows per rep line.
    pub compression_ratio: f64,
    /// UPB.
    pub upb: f64,
    /// Loan-level value.
    pub value_loans: f64,
    /// Rep-line value.
    pub value_repline: f64,
    /// In bp.
    #[serde(default)]
    pub value_loans_bps: Option<f64>,
    /// In bp.
    #[serde(default)]
    pub value_repline_bps: Option<f64>,
    /// Rep lines − loans ($).
    pub diff: f64,
    /// In bp.
    #[serde(default)]
    pub diff_bps: Option<f64>,
    /// Σ |diff| over buckets ($).
    pub abs_diff: f64,
    /// In bp.
    #[serde(default)]
    pub abs_diff_bps: Option<f64>,
    /// Bucket keys.
    #[serde(default)]
    pub keys: Vec<String>,
    /// Loan-level engine seconds ÷ rep-line engine seconds.
    #[serde(default)]
    pub time_ratio: Option<f64>,
    /// The largest |diff| buckets.
    #[serde(default)]
    pub top_buckets: Vec<Bucket>,
    /// Advances a current rep line could not carry ($).
    #[serde(default)]
    pub advance_dropped: f64,
}
/// One step of a roll-forward.
#[derive(Debug, Clone, Deserialize)]
pub struct RollStep {
    /// Step name (`loans_removed`, `market`, …).
    pub name: String,
    /// Change in value ($).
    pub change: f64,
}

/// A roll-forward of one investor.
#[derive(Debug, Clone, Deserialize)]
pub struct RollGroup {
    /// Value at the prior date ($).
    pub beginning_value: f64,
    /// Value at the current date ($).
    pub ending_value: f64,
    /// Steps.
    pub steps: Vec<RollStep>,
}

/// Loan counts of a roll-forward.
#[derive(Debug, Clone, Deserialize)]
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

/// rollforward.json (`msr rollforward`).
#[derive(Debug, Clone, Deserialize)]
pub struct Rollforward {
    /// Prior valuation date.
    pub as_of_prior: String,
    /// Current valuation date.
    pub as_of: String,
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
}

/// fit.json of `msr calibrate rates`, the fields the report shows.
#[derive(Debug, Clone, Deserialize)]
pub struct RatesFit {
    /// Mean reversion.
    pub a: f64,
    /// Volatility.
    pub sigma: f64,
    /// Whether `a` was held fixed.
    #[serde(default)]
    pub fixed_a: bool,
    /// Root mean square vol error (bp).
    pub rmse_bp: f64,
    /// The quotes.
    pub quotes: Vec<FitQuote>,
}

/// One quote of a rates fit.
#[derive(Debug, Clone, Deserialize)]
pub struct FitQuote {
    /// Expiry (years).
    pub expiry_years: f64,
    /// Tenor (years).
    pub tenor_years: f64,
    /// Market normal vol (bp).
    pub market_bp: f64,
    /// Model normal vol (bp).
    pub model_bp: f64,
    /// The engine's monthly model's vol (bp), where defined.
    #[serde(default)]
    pub monthly_model_bp: Option<f64>,
}

/// fit.json of `msr calibrate oas`, the fields the report shows.
#[derive(Debug, Clone, Deserialize)]
pub struct OasFit {
    /// `multiple` or `value_bps`.
    pub target_kind: String,
    /// The cohorts, in grid order.
    pub cohorts: Vec<FitCohort>,
}

/// One cohort of an OAS fit.
#[derive(Debug, Clone, Deserialize)]
pub struct FitCohort {
    /// The cohort's cells by column.
    pub cohort: BTreeMap<String, String>,
    /// Solved OAS; `None` when not solved.
    pub oas: Option<f64>,
    /// Target.
    pub target: f64,
    /// Model at the solved OAS.
    pub model: Option<f64>,
    /// Loans (records).
    pub loans: u64,
    /// UPB ($).
    pub upb: f64,
    /// Why the cohort was not solved.
    #[serde(default)]
    pub error: Option<String>,
}
