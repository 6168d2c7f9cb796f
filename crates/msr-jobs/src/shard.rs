//! What the sharded commands (`msr value --shard K/N`, `msr risk --shard
//! K/N`) share: reading one shard's slice of the tape, the identity of a
//! run's inputs ([`Provenance`]) and the run id every shard agrees on.

use std::path::Path;
use std::time::SystemTime;

use anyhow::Result;
use clap::Args;
use msr_core::config::Tape;
use msr_core::{Config, Loan, Reject};
use msr_io::partial::{RatePathsInfo, ShardBy, ShardPlan, ShardSpec};
use msr_io::{TapeBatch, TapeReader, TapeStats};
use serde_json::Value;

use crate::common::{sha256, timestamp, InputArgs, PathSource};
use crate::exit::{input, CliError, Failure};

/// `--shard K/N` and `--run-id`, shared by `msr value` and `msr risk`.
#[derive(Debug, Clone, Args)]
pub struct ShardArgs {
    /// Run only shard K of N of the tape (K counted from 0: 0/4 .. 3/4) and
    /// write a partial result into --out for `msr merge` (docs/cluster.md).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<ShardSpec>,
    /// Run id carried by the outputs and the manifest (and every mark).
    /// Default: a hash of the inputs and the start time; with --shard, of
    /// the inputs only (tape, config, seed, paths), so every shard agrees.
    #[arg(long, value_name = "ID", value_parser = parse_run_id)]
    pub run_id: Option<String>,
}

/// Check a `--run-id` value.
///
/// # Errors
/// A message for clap when the id is empty, too long or has other characters.
pub fn parse_run_id(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 128
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:+@".contains(c));
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "`{s}`: a run id is 1 to 128 characters of A-Z a-z 0-9 - _ . : + @"
        ))
    }
}

/// The identity of a run's inputs, hashed once.
pub struct Provenance {
    /// SHA-256 of the tape file.
    pub tape_sha: String,
    /// SHA-256 of the configuration file.
    pub config_sha: String,
    /// SHA-256 of the resolved configuration as canonical JSON.
    pub resolved_sha: String,
    /// The resolved configuration (file plus command-line overrides).
    pub resolved: Value,
    /// Where the rate paths came from.
    pub paths: RatePathsInfo,
}

impl Provenance {
    /// Hash the inputs of a run.
    ///
    /// # Errors
    /// Input errors for unreadable files.
    pub fn new(
        input_args: &InputArgs,
        config: &Config,
        source: &PathSource,
        num_paths: usize,
    ) -> Result<Self> {
        let resolved =
            serde_json::to_value(config).map_err(|e| CliError::new(Failure::Internal, e))?;
        let canonical =
            serde_json::to_vec(&resolved).map_err(|e| CliError::new(Failure::Internal, e))?;
        let paths = rate_paths_info(source, num_paths, config, true)?;
        Ok(Provenance {
            tape_sha: sha256(&input_args.loans)?,
            config_sha: crate::common::config_sha256(&input_args.config)?,
            resolved_sha: msr_io::hash::sha256_bytes(&canonical),
            resolved,
            paths,
        })
    }

    /// The run id: `explicit` (`--run-id`), or a hash of the inputs, the
    /// seed, the path count and — unsharded only — the start time, so every
    /// shard of a run computes the same id. `command` tells runs of
    /// different commands apart (empty for `msr value`).
    pub fn run_id(
        &self,
        explicit: Option<&String>,
        sharded: bool,
        config: &Config,
        started: SystemTime,
        command: &str,
    ) -> String {
        if let Some(id) = explicit {
            return id.clone();
        }
        let num_paths = self.paths.num_paths;
        let key = if sharded {
            format!(
                "{}|{}|{}|{}|{num_paths}|{}{command}",
                self.tape_sha,
                self.config_sha,
                self.resolved_sha,
                config.valuation.seed,
                self.paths.identity()
            )
        } else {
            format!(
                "{}|{}|{}|{num_paths}|{}{command}",
                self.tape_sha,
                self.config_sha,
                config.valuation.seed,
                timestamp(started)
            )
        };
        msr_io::hash::sha256_bytes(key.as_bytes())[..16].to_string()
    }
}

/// Keep only the rows of a batch that belong to the shard (row-range shards
/// read whole covering row groups).
pub fn keep_rows(batch: TapeBatch, plan: &ShardPlan) -> TapeBatch {
    if plan.by == ShardBy::RowGroups {
        return batch;
    }
    let mut out = TapeBatch {
        loans: Vec::with_capacity(batch.loans.len()),
        rows: Vec::with_capacity(batch.rows.len()),
        rejects: batch
            .rejects
            .into_iter()
            .filter(|r| plan.contains_row(r.row))
            .collect(),
        extra: Vec::new(),
    };
    // `extra` is empty or parallel to `loans`.
    let mut extra = batch.extra.into_iter();
    for (loan, row) in batch.loans.into_iter().zip(batch.rows) {
        let value = extra.next();
        if plan.contains_row(row) {
            out.loans.push(loan);
            out.rows.push(row);
            out.extra.extend(value);
        }
    }
    out
}

/// Which slice of which tape a shard read.
#[derive(Debug, Clone)]
pub struct ShardSlice {
    /// The slice of the tape.
    pub plan: ShardPlan,
    /// Rows in the whole file.
    pub tape_rows: u64,
    /// Row groups in the whole file.
    pub tape_row_groups: usize,
}

/// One shard of a tape read whole into memory.
pub struct ShardRead {
    /// The shard's valid loans, in tape order.
    pub loans: Vec<Loan>,
    /// The shard's rejected rows.
    pub rejects: Vec<Reject>,
    /// Counts of the shard's rows.
    pub stats: TapeStats,
    /// Where they came from.
    pub slice: ShardSlice,
}

/// Read shard `spec` of the tape at `path`: its row groups, cut to its rows.
///
/// # Errors
/// Input errors for an unreadable tape.
pub fn read_shard(path: &Path, tape: &Tape, spec: ShardSpec) -> Result<ShardRead> {
    let plan = ShardPlan::new(&msr_io::parquet_info(path).map_err(input)?, spec);
    let mut reader =
        TapeReader::open_row_groups(path, tape, &plan.row_group_list()).map_err(input)?;
    let mut loans = Vec::new();
    let mut rejects = Vec::new();
    while let Some(batch) = reader.next_batch().map_err(input)? {
        let batch = keep_rows(batch, &plan);
        loans.extend(batch.loans);
        rejects.extend(batch.rejects);
    }
    let rejected = rejects.len() as u64;
    let stats = TapeStats {
        rows_read: loans.len() as u64 + rejected,
        valid: loans.len() as u64,
        rejected,
    };
    Ok(ShardRead {
        loans,
        rejects,
        stats,
        slice: ShardSlice {
            plan,
            tape_rows: reader.num_rows(),
            tape_row_groups: reader.num_row_groups(),
        },
    })
}

/// The provenance of a run's rate paths (manifests and documents): the
/// generator's seed, pairing and scheme, or the path file (with its SHA-256
/// when `hash_file`).
///
/// # Errors
/// Internal error for an unknown scheme (validated before); input error when
/// the path file cannot be hashed.
pub(crate) fn rate_paths_info(
    source: &PathSource,
    num_paths: usize,
    config: &Config,
    hash_file: bool,
) -> Result<RatePathsInfo> {
    Ok(match source {
        PathSource::Generated { seed, antithetic } => RatePathsInfo {
            source: "hull_white".into(),
            seed: Some(*seed),
            antithetic: Some(*antithetic),
            scheme: Some(
                config
                    .valuation
                    .path_scheme
                    .parse()
                    .map_err(|e| CliError::new(Failure::Internal, e))?,
            ),
            path: None,
            sha256: None,
            num_paths,
        },
        PathSource::File { path } => RatePathsInfo {
            source: "file".into(),
            seed: None,
            antithetic: None,
            scheme: None,
            path: Some(path.clone()),
            sha256: if hash_file { Some(sha256(path)?) } else { None },
            num_paths,
        },
    })
}
