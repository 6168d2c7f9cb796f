//! The outputs of `msr risk` (and of `msr merge` of risk partials):
//! risk.json ([`Risk`]) and risk.csv ([`RiskRow`]).

use msr_core::Date;
use serde::{Deserialize, Serialize};

use super::run::{NonFiniteId, OasTableRef, RunProvenance};
use super::{csv_text, Cell, CsvRow};

/// A risk scenario of risk.json (a rate shock or an assumption stress).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    /// Name (`parallel_+25bp`).
    pub scenario: String,
    /// Kind (`parallel`, `key_rate`, `cost_to_service`, …).
    #[serde(default)]
    pub kind: String,
    /// Key-rate tenor in years.
    #[serde(default)]
    pub tenor_years: Option<f64>,
    /// Shock size in `unit`.
    pub shock: f64,
    /// `bp`, `pct` or empty.
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
    /// Loans left out of this scenario's total.
    #[serde(default)]
    pub non_finite_loans: u64,
}

/// A key-rate duration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyRate {
    /// Tenor in years.
    pub tenor_years: f64,
    /// Duration.
    pub duration: Option<f64>,
    /// Value with the key rate down (null with tangent derivatives: no
    /// run).
    #[serde(default)]
    pub value_down: Option<f64>,
    /// Value with the key rate up (null with tangent derivatives).
    #[serde(default)]
    pub value_up: Option<f64>,
    /// Standard error of the duration over the paths' own durations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std_error: Option<f64>,
}

/// How long a risk run took (reported, never compared).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RiskTimings {
    /// Configuration, tape, paths.
    pub setup_seconds: f64,
    /// In the engine (summed over shards).
    pub engine_seconds: f64,
    /// Start to end (summed over shards).
    pub wall_seconds: f64,
    /// The merge itself (`msr merge` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_seconds: Option<f64>,
    /// Engine seconds per scenario.
    pub seconds_per_scenario: f64,
}

/// risk.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Risk {
    /// Valuation date.
    pub as_of: Date,
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
    /// Fee strip `Σ s·UPB`.
    #[serde(default)]
    pub fee_base: f64,
    /// Base value.
    pub value: f64,
    /// Base value in bp.
    #[serde(default)]
    pub value_bps: Option<f64>,
    /// Base value over the fee strip.
    #[serde(default)]
    pub multiple: Option<f64>,
    /// Base standard error.
    #[serde(default)]
    pub std_error: Option<f64>,
    /// Shock of the durations (bp).
    pub shock_bp: f64,
    /// How durations were computed: `bump` or `tangent` (`bump` in files
    /// written before the option).
    #[serde(default = "bump")]
    pub derivatives: String,
    /// Effective duration.
    pub effective_duration: Option<f64>,
    /// Its standard error over the paths' own durations.
    #[serde(default)]
    pub effective_duration_std_error: Option<f64>,
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
    /// Scenarios valued (risk.csv's rows).
    #[serde(default)]
    pub scenarios: u64,
    /// Run id (shared with the valuation's manifest when given).
    #[serde(default)]
    pub run_id: String,
    /// The OAS table (`--oas-table`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oas_table: Option<OasTableRef>,
    /// Tape rows read.
    #[serde(default)]
    pub loans_read: u64,
    /// Tape rows rejected.
    #[serde(default)]
    pub rejected_rows: u64,
    /// Loans left out of the base.
    #[serde(default)]
    pub non_finite_loans: u64,
    /// Those loans.
    #[serde(default)]
    pub non_finite: Vec<NonFiniteId>,
    /// Timings.
    #[serde(default)]
    pub timings: RiskTimings,
    /// Provenance.
    #[serde(default)]
    pub run: Option<RunProvenance>,
}

/// A row of risk.csv: one scenario, in run order (base first).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RiskRow {
    /// Name.
    #[serde(deserialize_with = "csv_text")]
    pub scenario: String,
    /// Kind.
    pub kind: String,
    /// Key-rate tenor in years.
    pub tenor_years: Option<f64>,
    /// Shock in `unit`.
    pub shock: f64,
    /// `bp`, `pct` or empty.
    pub unit: String,
    /// Value ($).
    pub value: f64,
    /// Value in bp of UPB.
    pub value_bps: Option<f64>,
    /// Change from the base ($).
    pub change: f64,
    /// Change in percent of |base|.
    pub change_pct: Option<f64>,
    /// Standard error ($).
    pub std_error: Option<f64>,
}

impl RiskRow {
    /// The header.
    pub const HEADER: [&'static str; 10] = [
        "scenario",
        "kind",
        "tenor_years",
        "shock",
        "unit",
        "value",
        "value_bps",
        "change",
        "change_pct",
        "std_error",
    ];
}

impl CsvRow for RiskRow {
    fn cells(&self) -> Vec<Cell<'_>> {
        vec![
            Cell::Text(&self.scenario),
            Cell::Text(&self.kind),
            Cell::OptNum(self.tenor_years),
            Cell::Num(self.shock),
            Cell::Text(&self.unit),
            Cell::Num(self.value),
            Cell::OptNum(self.value_bps),
            Cell::Num(self.change),
            Cell::OptNum(self.change_pct),
            Cell::OptNum(self.std_error),
        ]
    }
}

/// The method of every risk.json written before `derivatives` existed.
fn bump() -> String {
    "bump".to_string()
}
