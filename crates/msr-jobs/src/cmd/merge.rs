//! `msr merge`: add up the partial results of `msr value --shard K/N` into
//! exactly the outputs of an unsharded run — loan_values.parquet (shards
//! concatenated in shard order, so rows stay in tape order), marks.csv,
//! rejects.csv, cashflows.parquet and summary.json read off the merged exact
//! accumulator, and a manifest.json that lists the partials. Partials of
//! `msr risk --shard K/N` are recognised by their manifest's kind and merged
//! into risk.json and risk.csv ([`super::risk::merge`]).
//!
//! Before writing anything it refuses, with a one-line input error (exit 3),
//! partials that disagree on the tape, configuration, seed, path count, path
//! source or run id, a shard given twice, missing shards, or an incomplete
//! partial (no manifest.json marker, a file missing or changed), and partials
//! of another engine version than this binary's. While it concatenates the
//! loan rows it refuses a loan found in two partials (a shard copied under
//! another shard's name) and a partial whose sums are not those of its rows
//! (edited counts or sums); the staged outputs are then discarded.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Instant, SystemTime};

use anyhow::Result;
use clap::Args;
use msr_core::ExactSum;
use msr_engine::{Detail, PortfolioAccum};
use msr_io::docs::run::{InputFile, MergedFrom, MergedPartial, RunInputs};
use msr_io::docs::value::{Manifest, MarksRow, ValueTimings};
use msr_io::docs::write_document;
use msr_io::partial::{
    check_partials, read_partial, read_partial_sums, Partial, ShardTally, RISK_PARTIAL_KIND,
};
use msr_io::{ColumnKind, ColumnValues, ParquetOptions, ParquetTableWriter};

use crate::common::{timestamp, Staging};
use crate::exit::{input, output};
use crate::outputs::{
    data_checks, loan_value_columns, partial_to_accum, print_summary, summary_document,
    warn_non_finite, write_cashflows, RunTimings, SummarySettings,
};

/// Flags of `msr merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Partial directories written by `msr value --shard K/N` (or all by
    /// `msr risk --shard K/N`), one per shard, in any order (e.g. parts/*).
    #[arg(value_name = "PART_DIR", required = true)]
    pub parts: Vec<PathBuf>,
    /// Output directory: the same files as an unsharded `msr value`.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// No summary on the terminal.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Run `msr merge`.
///
/// # Errors
/// Input errors (exit 3) for partials that cannot be merged, output errors.
pub fn run(args: &MergeArgs) -> Result<ExitCode> {
    let started = SystemTime::now();
    let clock = Instant::now();
    let mut parts = Vec::with_capacity(args.parts.len());
    for dir in &args.parts {
        parts.push(read_partial(dir).map_err(input)?);
    }
    let order = check_partials(&parts).map_err(input)?;
    let parts: Vec<&Partial> = order.iter().map(|&i| &parts[i]).collect();
    refuse_output_inside(args, &parts)?;
    let first = &parts[0].manifest;
    // Partials are sums in this build's format and arithmetic: another
    // version's are not merged, even when they agree with one another.
    let this = env!("CARGO_PKG_VERSION");
    if first.version != this {
        return Err(input(format!(
            "{}: written by msr-engine {}, this binary is {this}; run the shards again with this build (or merge with theirs)",
            parts[0].dir.display(),
            first.version
        )));
    }
    if first.kind == RISK_PARTIAL_KIND {
        return super::risk::merge(args, &parts, started, clock);
    }

    // Sums first: a partial whose sums do not fit fails before any output.
    let mut accum: Option<PortfolioAccum> = None;
    let mut tally = ShardTally::default();
    let mut claims = Vec::with_capacity(parts.len());
    for p in &parts {
        let json_path = p.file(msr_io::partial::PARTIAL_SUMS);
        let sums =
            read_partial_sums(&json_path, p.file(msr_io::partial::PARTIAL_CF)).map_err(input)?;
        if sums.num_paths != first.num_paths {
            return Err(input(format!(
                "{}: incomplete partial: sums over {} paths, the manifest says {}",
                json_path.display(),
                sums.num_paths,
                first.num_paths
            )));
        }
        tally.merge(&sums.tally);
        claims.push(Claims::of(&sums));
        let part = partial_to_accum(sums, &json_path)?;
        let acc = accum
            .get_or_insert_with(|| PortfolioAccum::new(part.num_paths, part.months, Detail::Full));
        if part.months != acc.months {
            return Err(input(format!(
                "{}: incomplete partial: {} months, other shards have {}",
                json_path.display(),
                part.months,
                acc.months
            )));
        }
        acc.merge(&part);
    }
    let accum = accum.unwrap_or_else(|| PortfolioAccum::new(first.num_paths, 0, Detail::Full));

    let staging = Staging::create(&args.out)?;
    concat_loan_values(&staging, &parts, &claims, &tally)?;
    concat_marks(&staging, &parts)?;
    merge_rejects(&staging, &parts)?;
    write_cashflows(&staging, &accum, tally.max_term)?;
    if let Some(p) = parts
        .iter()
        .find(|p| p.manifest.files.contains_key("paths.parquet"))
    {
        std::fs::copy(p.file("paths.parquet"), staging.path("paths.parquet"))
            .map_err(|e| output(format!("{}: {e}", staging.path("paths.parquet").display())))?;
    }

    let sum = |f: fn(&msr_io::partial::ShardTimings) -> f64| {
        parts.iter().map(|p| f(&p.manifest.timings)).sum::<f64>()
    };
    let engine_seconds = sum(|t| t.engine_seconds);
    let threads: usize = parts.iter().map(|p| p.manifest.threads).sum();
    let merge_seconds = clock.elapsed().as_secs_f64();
    let timings = RunTimings {
        // Work summed over the shards (they may have run in parallel), plus the merge itself.
        timings: ValueTimings {
            setup_seconds: sum(|t| t.setup_seconds),
            read_seconds: sum(|t| t.read_seconds),
            engine_seconds,
            wall_seconds: sum(|t| t.wall_seconds),
            merge_seconds: Some(merge_seconds),
        },
        engine_seconds,
        threads,
    };
    let settings = SummarySettings {
        as_of: first.as_of,
        oas: first.oas,
        num_paths: first.num_paths,
        units: crate::common::units_of(first.antithetic, first.scrambles),
    };
    let (summary, summary_json) = summary_document(&accum, &settings, &tally, &timings);
    write_document(staging.path("summary.json"), &summary_json).map_err(output)?;
    let manifest = manifest(&parts, &tally, threads, started);
    write_document(staging.path("manifest.json"), &manifest).map_err(output)?;
    staging.commit("manifest.json")?;

    if !args.quiet {
        let lpm = tally.loan_months as f64 * first.num_paths as f64;
        println!("merged {} shards of run {}", parts.len(), first.run_id);
        print_summary(
            &summary,
            &tally,
            first.num_paths,
            clock.elapsed().as_secs_f64(),
            lpm / engine_seconds.max(1e-9),
            &args.out,
        );
        warn_non_finite(&accum.non_finite);
    }
    data_checks(
        &tally,
        first.max_reject_share,
        accum.non_finite.len(),
        &args.out,
    )
}

/// Writing the merge into a partial directory would replace its manifest.
fn refuse_output_inside(args: &MergeArgs, parts: &[&Partial]) -> Result<()> {
    let Ok(out) = args.out.canonicalize() else {
        return Ok(());
    };
    for p in parts {
        if p.dir.canonicalize().is_ok_and(|d| d == out) {
            return Err(input(format!(
                "{}: --out is a partial directory; write the merge elsewhere",
                args.out.display()
            )));
        }
    }
    Ok(())
}

/// What a partial's sums say about its own loan_values.parquet: checked
/// against the rows, so a partial whose sums were edited, or whose rows are
/// another shard's, is refused.
struct Claims {
    /// Loans valued (rows of loan_values.parquet).
    valid: u64,
    /// Loans left out of the totals, by id.
    left_out: HashSet<String>,
    /// The totals over the loans summed: records, raw Σ UPB, raw Σ value.
    total: (u64, i128, i128),
}

impl Claims {
    fn of(sums: &msr_io::partial::PartialSums) -> Claims {
        Claims {
            valid: sums.tally.valid,
            left_out: sums
                .non_finite
                .iter()
                .map(|n| n.loan.loan_id.clone())
                .collect(),
            total: (sums.total.records, sums.total.upb, sums.total.value),
        }
    }
}

/// loan_values.parquet: the shards' rows in shard order (= tape order).
/// Each partial's rows must be what its sums claim — as many, and summing
/// (exactly) to its totals — and no loan may appear in two partials (a
/// valid tape has unique ids: a copied shard shows as duplicates).
fn concat_loan_values(
    staging: &Staging,
    parts: &[&Partial],
    claims: &[Claims],
    tally: &ShardTally,
) -> Result<()> {
    let columns = loan_value_columns();
    let decl: Vec<(&str, ColumnKind)> = columns.iter().map(|(n, k)| (n.as_str(), *k)).collect();
    let position = |name: &str| decl.iter().position(|(n, _)| *n == name);
    let (Some(id_col), Some(upb_col), Some(value_col)) =
        (position("loan_id"), position("upb"), position("value"))
    else {
        return Err(input("loan_values.parquet lacks loan_id, upb or value"));
    };
    let mut writer = ParquetTableWriter::create(
        staging.path("loan_values.parquet"),
        &decl,
        ParquetOptions::default(),
    )
    .map_err(output)?;
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut rows = 0;
    for (k, (p, claim)) in parts.iter().zip(claims).enumerate() {
        let (mut records, mut upb, mut value) = (0u64, ExactSum::default(), ExactSum::default());
        let mut duplicate: Option<(String, usize)> = None;
        let file = p.file("loan_values.parquet");
        let part_rows = msr_io::partial::read_table_chunks(&file, &decl, |cols| {
            let (ColumnValues::Utf8(ids), ColumnValues::F64(upbs), ColumnValues::F64(values)) = (
                &cols[id_col].values,
                &cols[upb_col].values,
                &cols[value_col].values,
            ) else {
                return Err(msr_io::IoError::BadData {
                    file: file.clone(),
                    problem: "loan_id, upb or value of the wrong type".into(),
                });
            };
            for ((id, u), v) in ids.iter().zip(upbs).zip(values) {
                if let Some(&j) = seen.get(id) {
                    duplicate.get_or_insert((id.clone(), j));
                } else {
                    seen.insert(id.clone(), k);
                }
                if !claim.left_out.contains(id) {
                    records += 1;
                    upb.add(*u);
                    value.add(*v);
                }
            }
            writer.write(cols)
        })
        .map_err(input)?;
        if let Some((id, j)) = duplicate {
            return Err(input(format!(
                "loan {} is in the partials {} and {}: a shard given twice under another shard's name (copied?)",
                msr_io::text::terminal_safe(&id),
                parts[j].dir.display(),
                p.dir.display()
            )));
        }
        if part_rows != claim.valid || (records, upb.raw(), value.raw()) != claim.total {
            return Err(input(format!(
                "{}: the partial's sums do not match its loan_values.parquet ({part_rows} rows, sums claim {} loans valued; \
                 totals over the rows differ from partial.json): edited or from another run",
                p.dir.display(),
                claim.valid
            )));
        }
        rows += part_rows;
    }
    if rows != tally.valid {
        return Err(input(format!(
            "the partials' loan_values.parquet hold {rows} rows but {} loans were valued",
            tally.valid
        )));
    }
    writer.finish().map_err(output)
}

/// marks.csv: each shard's rows (the same run id throughout) in shard order.
fn concat_marks(staging: &Staging, parts: &[&Partial]) -> Result<()> {
    let target = staging.path("marks.csv");
    let mut out = msr_io::AtomicFile::create(&target).map_err(output)?;
    let header = msr_io::docs::csv_header(&MarksRow::HEADER);
    out.write_all(&header)
        .map_err(|e| output(format!("{}: {e}", target.display())))?;
    for p in parts {
        let path = p.file("marks.csv");
        let text = std::fs::read(&path).map_err(|e| input(format!("{}: {e}", path.display())))?;
        let body = text.strip_prefix(header.as_slice()).ok_or_else(|| {
            input(format!(
                "{}: not a marks file (header differs)",
                path.display()
            ))
        })?;
        out.write_all(body)
            .map_err(|e| output(format!("{}: {e}", target.display())))?;
    }
    out.commit().map_err(output)
}

/// rejects.csv: every shard's rejects by file row, as the unsharded run writes them.
pub(crate) fn merge_rejects(staging: &Staging, parts: &[&Partial]) -> Result<()> {
    let mut rejects = Vec::new();
    for p in parts {
        rejects.extend(msr_io::read_rejects(p.file("rejects.csv")).map_err(input)?);
    }
    rejects.sort_by_key(|r| r.row);
    msr_io::write_rejects(staging.path("rejects.csv"), &rejects).map_err(output)
}

/// manifest.json of the merged run: the unsharded manifest's fields, plus the
/// partials' manifests under `merged_from`.
fn manifest(
    parts: &[&Partial],
    tally: &ShardTally,
    threads: usize,
    merged_at: SystemTime,
) -> Manifest {
    let m = &parts[0].manifest;
    let started = parts
        .iter()
        .map(|p| p.manifest.started_at.as_str())
        .min()
        .unwrap_or_default();
    Manifest {
        engine: m.engine.clone(),
        version: m.version.clone(),
        run_id: m.run_id.clone(),
        command: std::env::args().collect(),
        started_at: Some(started.to_string()),
        finished_at: Some(timestamp(SystemTime::now())),
        inputs: RunInputs {
            loans: InputFile {
                path: m.inputs.loans.path.clone(),
                sha256: m.inputs.loans.sha256.clone(),
                rows: Some(tally.rows_read),
            },
            config: InputFile {
                path: m.inputs.config.path.clone(),
                sha256: m.inputs.config.sha256.clone(),
                rows: None,
            },
            basis: None,
        },
        rate_paths: m.rate_paths.clone(),
        seed: Some(m.seed),
        num_paths: Some(m.num_paths as u64),
        oas: Some(m.oas),
        threads: Some(threads as u64),
        resolved_config: Some(m.resolved_config.clone()),
        oas_table: None,
        merged_from: Some(merged_from(parts, merged_at)),
        outputs: Default::default(),
    }
}

/// The `merged_from` block of a merged manifest: shard count, merge time and
/// every partial's directory and manifest.
pub(crate) fn merged_from(parts: &[&Partial], merged_at: SystemTime) -> MergedFrom {
    MergedFrom {
        shards: parts.len() as u64,
        merged_at: timestamp(merged_at),
        partials: parts
            .iter()
            .map(|p| MergedPartial {
                dir: p.dir.clone(),
                manifest: p.manifest.clone(),
            })
            .collect(),
    }
}
