//! repline_summary.json ([`ReplineSummary`]), the output of `msr repline`:
//! the rep-line valuation compared with the loan-level one.

use serde::{Deserialize, Serialize};

use super::run::{NonFiniteId, OasTableRef};
use crate::partial::RatePathsInfo;

/// A rep-line bucket compared with its loans.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    /// Bucket id (`RL:investor=FNMA|dq_status=C|…`).
    pub bucket: String,
    /// Tape rows.
    pub records: u64,
    /// Loans (Σ loan_count).
    #[serde(default)]
    pub loans: u64,
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
    /// |diff| over Σ |diff|.
    #[serde(default)]
    pub abs_share: Option<f64>,
}

/// The rate paths of a rep-line run, with the OAS they were valued at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplinePaths {
    /// Generator and seed, or the path file (without its hash).
    #[serde(flatten)]
    pub paths: RatePathsInfo,
    /// valuation.oas.
    pub oas: f64,
}

/// repline_summary.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplineSummary {
    /// Tape rows valued.
    pub loans: u64,
    /// Loans (Σ loan_count).
    #[serde(default)]
    pub loan_count: u64,
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
    /// Loan-level engine seconds.
    #[serde(default)]
    pub seconds_loans: f64,
    /// Rep-line engine seconds.
    #[serde(default)]
    pub seconds_replines: f64,
    /// Building the rep lines (seconds).
    #[serde(default)]
    pub seconds_build: f64,
    /// Loan-level engine seconds ÷ rep-line engine seconds.
    #[serde(default)]
    pub time_ratio: Option<f64>,
    /// The largest |diff| buckets.
    #[serde(default)]
    pub top_buckets: Vec<Bucket>,
    /// Bucket keys.
    #[serde(default)]
    pub keys: Vec<String>,
    /// repline.note_rate_step_bps.
    #[serde(default)]
    pub note_rate_step_bps: f64,
    /// Advances a current rep line could not carry ($).
    #[serde(default)]
    pub advance_dropped: f64,
    /// Tape rows rejected.
    #[serde(default)]
    pub rejected_rows: u64,
    /// Loans left out of the totals.
    #[serde(default)]
    pub non_finite: Vec<NonFiniteId>,
    /// The rate paths.
    #[serde(default)]
    pub paths: Option<ReplinePaths>,
    /// The OAS table (`--oas-table`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oas_table: Option<OasTableRef>,
    /// Worker threads.
    #[serde(default)]
    pub threads: u64,
}
