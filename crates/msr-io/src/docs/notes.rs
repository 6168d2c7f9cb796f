//! note_summary.json ([`NoteSummary`]), the summary and completion marker of
//! `msr notes` (MODEL.md §H).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::notes_tape::TapeFormat;

/// Where the outcome probabilities came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbSource {
    /// Notes priced with the model's probabilities.
    pub model: u64,
    /// Notes priced with the tape's.
    pub tape: u64,
}

/// The notes with an asking price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Asks {
    /// The tape's asking-price column, if any.
    pub column: Option<String>,
    /// Notes with an ask.
    pub notes: u64,
    /// Σ ask ($).
    pub ask_price: Option<f64>,
    /// Σ bid of those notes ($).
    pub price: Option<f64>,
}

/// note_summary.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteSummary {
    /// How the tape was read.
    pub format: TapeFormat,
    /// Tape rows read.
    pub rows_read: u64,
    /// Notes priced.
    pub notes_priced: u64,
    /// Rows rejected.
    pub notes_rejected: u64,
    /// UPB.
    pub upb: f64,
    /// Property value.
    pub property_value: f64,
    /// Σ bid ($).
    pub price: f64,
    /// Bid in % of UPB.
    pub price_pct_upb: Option<f64>,
    /// Bid in % of property value.
    pub price_pct_value: Option<f64>,
    /// UPB-weighted outcome mix, by outcome.
    pub mix_upb_weighted: BTreeMap<String, f64>,
    /// Contribution of each outcome to the bid ($).
    pub contributions: BTreeMap<String, f64>,
    /// Required ROI of each outcome.
    pub required_roi: BTreeMap<String, f64>,
    /// Where the probabilities came from.
    pub prob_source: ProbSource,
    /// Asking prices.
    pub ask: Asks,
    /// The note tape.
    pub notes_file: PathBuf,
    /// The configuration.
    pub config_file: PathBuf,
    /// Loan ids of notes whose price was not finite.
    pub non_finite: Vec<String>,
    /// Start to end (reported, never compared).
    #[serde(default)]
    pub seconds: f64,
}
