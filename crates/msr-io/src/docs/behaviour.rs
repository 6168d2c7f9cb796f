//! fit.json of `msr calibrate behaviour` ([`BehaviourFit`]): MODEL.md §D
//! estimated from a loan-month panel (docs/calibration.md).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::run::InputFile;

/// One estimated parameter (a configuration key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Parameter {
    /// The estimate (`null` only in a broken file).
    pub estimate: Option<f64>,
    /// Its standard error, where identified.
    #[serde(default)]
    pub std_error: Option<f64>,
    /// The base configuration's value.
    #[serde(default)]
    pub initial: Option<f64>,
    /// Whether the data identify it.
    #[serde(default)]
    pub identified: bool,
    /// Held at its base value (`--fix`).
    #[serde(default)]
    pub fixed: bool,
    /// Why it is not identified, or other remarks.
    #[serde(default)]
    pub note: Option<String>,
}

/// The inputs of a behaviour fit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BehaviourInputs {
    /// The loan-month panel.
    pub panel: InputFile,
    /// The mortgage-rate history.
    pub rates: InputFile,
    /// The base configuration.
    pub config: InputFile,
}

/// fit.json of `msr calibrate behaviour`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BehaviourFit {
    /// `behaviour_calibration`.
    pub kind: String,
    /// The parameters by configuration key.
    pub parameters: BTreeMap<String, Parameter>,
    /// Log-likelihood at the estimates.
    #[serde(default)]
    pub log_likelihood: Option<f64>,
    /// Loan-months in sample.
    #[serde(default)]
    pub loan_months: u64,
    /// Loans in sample.
    #[serde(default)]
    pub loans: u64,
    /// Whether the optimiser converged.
    #[serde(default)]
    pub converged: bool,
    /// Optimiser iterations.
    #[serde(default)]
    pub iterations: u64,
    /// Panel rows read.
    #[serde(default)]
    pub rows_read: u64,
    /// Rows in sample.
    #[serde(default)]
    pub rows_in_sample: u64,
    /// Rows held out.
    #[serde(default)]
    pub rows_out_of_sample: u64,
    /// First held-out month, `YYYYMM`.
    #[serde(default)]
    pub holdout_from: Option<i64>,
    /// Moves left out of the fit, by reason.
    #[serde(default)]
    pub excluded_moves: BTreeMap<String, u64>,
    /// Σ of those.
    #[serde(default)]
    pub excluded_total: u64,
    /// The `--fix`ed keys.
    #[serde(default)]
    pub fixed: Vec<String>,
    /// Why the estimates do not make a valid configuration, if they do not.
    #[serde(default)]
    pub valid_configuration: Option<String>,
    /// The model, in words.
    #[serde(default)]
    pub model: String,
    /// Inputs with hashes.
    #[serde(default)]
    pub inputs: Option<BehaviourInputs>,
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
    /// Start to end (reported, never compared).
    #[serde(default)]
    pub elapsed_seconds: f64,
}
