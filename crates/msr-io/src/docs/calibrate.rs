//! fit.json of `msr calibrate rates` ([`RatesFit`]: Hull–White to swaption
//! vols) and of `msr calibrate oas` ([`OasFit`]: one OAS per cohort).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::run::{InputFile, RunProvenance};

/// One quote of a rates fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitQuote {
    /// Expiry (years).
    pub expiry_years: f64,
    /// Tenor (whole years).
    pub tenor_years: u32,
    /// Market normal vol (bp).
    pub market_bp: f64,
    /// Model normal vol (bp).
    pub model_bp: f64,
    /// Model − market (bp).
    #[serde(default)]
    pub residual_bp: f64,
    /// The engine's monthly model's vol (bp), where the expiry is a whole
    /// number of months.
    #[serde(default)]
    pub monthly_model_bp: Option<f64>,
    /// The swap's forward par rate.
    #[serde(default)]
    pub strike: f64,
    /// The swap's annuity.
    #[serde(default)]
    pub annuity: f64,
}

/// The curve a rates fit used.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FitCurve {
    /// Knot tenors (years).
    pub tenors: Vec<f64>,
    /// Zero rates at the knots.
    pub zero_rates: Vec<f64>,
}

/// The inputs of a rates fit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatesFitInputs {
    /// The swaption quotes.
    pub swaptions: InputFile,
    /// The configuration.
    pub config: InputFile,
}

/// fit.json of `msr calibrate rates`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatesFit {
    /// `swaption_calibration`.
    #[serde(default)]
    pub kind: String,
    /// Mean reversion.
    pub a: f64,
    /// Volatility.
    pub sigma: f64,
    /// Whether `a` was held fixed.
    #[serde(default)]
    pub fixed_a: bool,
    /// Root mean square vol error (bp).
    pub rmse_bp: f64,
    /// Optimiser iterations.
    #[serde(default)]
    pub iterations: u64,
    /// Gradient of the objective in (ln a, ln σ) at the fit.
    #[serde(default)]
    pub gradient_ln_a_ln_sigma: [f64; 2],
    /// Gradient relative to the objective.
    #[serde(default)]
    pub relative_gradient: f64,
    /// The quotes.
    pub quotes: Vec<FitQuote>,
    /// The pricing conventions, in words.
    #[serde(default)]
    pub conventions: String,
    /// The curve.
    #[serde(default)]
    pub curve: FitCurve,
    /// Inputs with hashes.
    #[serde(default)]
    pub inputs: Option<RatesFitInputs>,
    /// `msr-engine`.
    #[serde(default)]
    pub engine: String,
    /// Engine version.
    #[serde(default)]
    pub version: String,
    /// The command line.
    #[serde(default)]
    pub command: Vec<String>,
    /// Start time (RFC 3339).
    #[serde(default)]
    pub started_at: String,
}

/// One cohort of an OAS fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitCohort {
    /// The cohort's line in the grid file.
    #[serde(default)]
    pub line: u64,
    /// The cohort's cells by column.
    pub cohort: BTreeMap<String, String>,
    /// Solved OAS; `None` when not solved.
    pub oas: Option<f64>,
    /// Target, in the grid's unit.
    pub target: f64,
    /// Model at the solved OAS, in the grid's unit.
    pub model: Option<f64>,
    /// Target in dollars.
    #[serde(default)]
    pub target_dollars: Option<f64>,
    /// Model in dollars.
    #[serde(default)]
    pub model_dollars: Option<f64>,
    /// Loans (records).
    pub loans: u64,
    /// UPB ($).
    pub upb: f64,
    /// Fee strip ($).
    #[serde(default)]
    pub fee_base: f64,
    /// Solver iterations.
    #[serde(default)]
    pub iterations: Option<u64>,
    /// Other spreads that give the target.
    #[serde(default)]
    pub other_roots: Vec<f64>,
    /// Why the cohort was not solved.
    #[serde(default)]
    pub error: Option<String>,
}

/// The OAS domain searched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OasDomain {
    /// Lowest OAS.
    pub lo: f64,
    /// Highest OAS.
    pub hi: f64,
}

/// The cohort grid of an OAS fit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridFile {
    /// Path as given.
    pub path: PathBuf,
    /// Hex SHA-256.
    pub sha256: String,
}

/// fit.json of `msr calibrate oas`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OasFit {
    /// `oas_calibration`.
    #[serde(default)]
    pub kind: String,
    /// `multiple` or `value_bps`.
    pub target_kind: String,
    /// The cohorts, in grid order.
    pub cohorts: Vec<FitCohort>,
    /// Cohorts whose target is out of reach.
    #[serde(default)]
    pub unreachable: u64,
    /// The domain searched.
    #[serde(default)]
    pub oas_domain: Option<OasDomain>,
    /// valuation.oas.
    #[serde(default)]
    pub base_oas: f64,
    /// Solver tolerance on the OAS.
    #[serde(default)]
    pub tolerance: f64,
    /// Paths.
    #[serde(default)]
    pub paths: u64,
    /// Months projected.
    #[serde(default)]
    pub months: u64,
    /// The grid.
    #[serde(default)]
    pub grid: Option<GridFile>,
    /// Provenance.
    #[serde(default)]
    pub run: Option<RunProvenance>,
}
