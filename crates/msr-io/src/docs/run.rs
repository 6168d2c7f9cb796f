//! What every command's provenance is made of: input files with their
//! hashes ([`RunInputs`]), the `run` block of risk.json, oas.json and the
//! accounting documents ([`RunProvenance`]), the outputs a completion marker
//! lists ([`OutputFile`]), the partials of a merged run ([`MergedFrom`]) and
//! the loans left out of a total ([`NonFiniteId`]).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::partial::{PartialManifest, RatePathsInfo};

/// A file named in a manifest with its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFile {
    /// Path as given to the run.
    pub path: PathBuf,
    /// Hex SHA-256.
    pub sha256: String,
    /// Rows (tapes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
}

/// The inputs of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInputs {
    /// The loan tape.
    pub loans: InputFile,
    /// The configuration file.
    pub config: InputFile,
    /// The amortization basis (`msr amortize`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<InputFile>,
}

/// The OAS table of a run with `--oas-table`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OasTableRef {
    /// Path as given.
    pub path: PathBuf,
    /// Hex SHA-256.
    pub sha256: String,
    /// Cohorts in the table.
    pub cohorts: u64,
    /// The distinct spreads, one market each.
    pub distinct_oas: Vec<f64>,
}

/// One partial of a merged run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergedPartial {
    /// The partial's directory.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: PartialManifest,
}

/// The `merged_from` block of a merged run's manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergedFrom {
    /// Shards merged.
    pub shards: u64,
    /// When (RFC 3339).
    pub merged_at: String,
    /// Every partial.
    pub partials: Vec<MergedPartial>,
}

/// An output listed in a completion marker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputFile {
    /// Hex SHA-256.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// A loan left out of a document's totals, by id (risk, rep lines).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NonFiniteId {
    /// Loan id.
    pub loan_id: String,
    /// What was not finite.
    pub what: String,
}

/// The `run` block of risk.json, oas.json, disclosure.json, fit.json (OAS
/// calibration) and amortization.json: who ran what on which inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunProvenance {
    /// `msr-engine`.
    #[serde(default)]
    pub engine: String,
    /// Engine version.
    #[serde(default)]
    pub version: String,
    /// The command line.
    #[serde(default)]
    pub command: Vec<String>,
    /// Start time (RFC 3339; the earliest shard's for a merge).
    #[serde(default)]
    pub started_at: String,
    /// End time (RFC 3339).
    #[serde(default)]
    pub finished_at: String,
    /// Inputs with hashes.
    pub inputs: RunInputs,
    /// Rate-path provenance.
    pub rate_paths: RatePathsInfo,
    /// Worker threads (summed over the shards of a merge).
    #[serde(default)]
    pub threads: u64,
    /// The partials of a merged run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_from: Option<MergedFrom>,
}
