//! oas.json ([`Oas`]), the output of `msr oas`: the spread that prices the
//! book at a target, with the reachable range and the base valuation.

use msr_core::Date;
use serde::{Deserialize, Serialize};

use super::run::RunProvenance;

/// The target an OAS was solved for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// `value`, `bps` or `multiple`.
    pub kind: String,
    /// The target as quoted, in its unit.
    pub quoted: f64,
    /// The target in dollars.
    pub value: f64,
}

/// The values the OAS domain can reach.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReachableRange {
    /// Lowest OAS searched.
    pub oas_lo: f64,
    /// Highest OAS searched.
    pub oas_hi: f64,
    /// Lowest value on the domain ($).
    pub min_value: f64,
    /// Where it is reached.
    pub oas_at_min: f64,
    /// Highest value on the domain ($).
    pub max_value: f64,
    /// Where it is reached.
    pub oas_at_max: f64,
}

/// The valuation at the configured OAS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Base {
    /// valuation.oas.
    pub oas: f64,
    /// Value ($).
    pub value: f64,
    /// In bp of UPB.
    pub value_bps: Option<f64>,
    /// Over the fee strip.
    pub multiple: Option<f64>,
}

/// How long the solve took (reported, never compared).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OasTimings {
    /// Configuration, tape, paths.
    pub setup_seconds: f64,
    /// In the engine.
    pub engine_seconds: f64,
    /// Start to end.
    pub wall_seconds: f64,
}

/// oas.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Oas {
    /// The solved OAS.
    pub oas: f64,
    /// Solver iterations.
    pub iterations: u64,
    /// Valuations.
    pub evaluations: u64,
    /// Solver tolerance on the OAS.
    pub tolerance: f64,
    /// The target.
    pub target: Target,
    /// Value at the solved OAS ($).
    pub value: f64,
    /// In bp of UPB.
    pub value_bps: Option<f64>,
    /// Over the fee strip.
    pub multiple: Option<f64>,
    /// Value on the static path at the solved OAS.
    pub static_value: f64,
    /// Static minus stochastic value.
    pub option_cost: f64,
    /// In bp of UPB.
    pub option_cost_bps: Option<f64>,
    /// Other spreads that give the target (value not monotone).
    pub other_roots: Vec<f64>,
    /// The reachable range.
    pub reachable_range: ReachableRange,
    /// The valuation at the configured OAS.
    pub base: Base,
    /// Valuation date.
    pub as_of: Date,
    /// Paths.
    pub paths: u64,
    /// Months projected.
    pub months: u64,
    /// Tape rows valued.
    pub records: u64,
    /// Loans (Σ loan_count).
    pub loan_count: u64,
    /// UPB.
    pub upb: f64,
    /// Fee strip.
    pub fee_base: f64,
    /// Tape rows read.
    pub loans_read: u64,
    /// Tape rows rejected.
    pub rejected_rows: u64,
    /// Loans left out of the totals.
    pub non_finite_loans: u64,
    /// Seed.
    pub seed: u64,
    /// Timings.
    #[serde(default)]
    pub timings: OasTimings,
    /// Provenance.
    pub run: RunProvenance,
}
