//! `msr value`: value every loan of a tape on every rate path and write the
//! per-loan marks, projected cash flows, summary, manifest and rejects.
//!
//! With `--shard K/N` it values only shard K (0-based) of N — a deterministic
//! slice of the tape ([`msr_io::partial::ShardPlan`]) — and writes a partial
//! result instead of the portfolio files; `msr merge` adds the partials up
//! into exactly the outputs of an unsharded run (docs/cluster.md).
//!
//! With `--group-by COLUMN` it also writes `marks_by_<COLUMN>.csv`, the marks
//! summed by the value of an extra column of the tape, and carries the column
//! into loan_values.parquet (docs/rollforward.md, "Marks"). Grouping is not
//! offered with `--shard` (a usage error): the partial-result format does not
//! carry the groups.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Instant, SystemTime};

use anyhow::Result;
use clap::Args;
use msr_core::loan::Loan;
use msr_core::Config;
use msr_engine::{value_loans_with, Context, Detail, PortfolioAccum};
use msr_io::docs::run::{InputFile, RunInputs};
use msr_io::docs::value::{Manifest, ValueTimings};
use msr_io::docs::write_document;
use msr_io::partial::{
    ConfigInput, PartialInputs, PartialManifest, ShardBy, ShardPlan, ShardTally, ShardTimings,
    TapeInput, PARTIAL_CF, PARTIAL_FORMAT, PARTIAL_KIND, PARTIAL_MANIFEST, PARTIAL_SUMS,
};
use msr_io::tape::TapeOptions;
use msr_io::{
    Column, ColumnKind, IoError, ParquetOptions, ParquetTableWriter, RejectWriter, TapeReader,
};
use msr_model::{Market, ModelParams};

use crate::common::{
    init_threads, load_config, progress, resolve_rates, sha256, timestamp, InputArgs, PathArgs,
    RunArgs, Staging,
};
use crate::exit::{input, output};
use crate::outputs::{
    accum_to_partial, data_checks, loan_value_columns, loan_value_rows, print_summary,
    summary_document, warn_non_finite, write_cashflows, GroupMarks, Marks, RunTimings,
    SummarySettings,
};
use crate::shard::{keep_rows, Provenance, ShardArgs};
use crate::spreads::{OasTableArgs, Spreads};

/// Flags of `msr value`.
#[derive(Debug, Args)]
pub struct ValueArgs {
    /// The tape and configuration.
    #[command(flatten)]
    pub input: InputArgs,
    /// The rate paths.
    #[command(flatten)]
    pub paths: PathArgs,
    /// Threads, OAS and progress.
    #[command(flatten)]
    pub run: RunArgs,
    /// Output directory.
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub out: PathBuf,
    /// Also write the rate paths used, as DIR/paths.parquet (MODEL.md §C.5).
    /// With --shard, only shard 0 writes them (the merge copies them).
    #[arg(long)]
    pub export_paths: bool,
    /// Which shard of the tape to value.
    #[command(flatten)]
    pub sharding: ShardArgs,
    /// Also write marks_by_COLUMN.csv: the marks summed by the value of this
    /// column of the tape (e.g. pool_id, custodian; strings or integers, a
    /// null value is the group `(null)`), and carry the column into
    /// loan_values.parquet. Not with --shard.
    #[arg(long, value_name = "COLUMN", conflicts_with = "shard", value_parser = parse_column)]
    pub group_by: Option<String>,
    /// Marks only: skip the monthly cash-flow projection (no cashflows.parquet,
    /// no expected events in summary.json). Every value, mark and total is
    /// the same bits as a full run, in about 6 % less time.
    /// Not with --shard.
    #[arg(long, conflicts_with = "shard")]
    pub no_cashflows: bool,
    /// OAS by cohort.
    #[command(flatten)]
    pub oas_table: OasTableArgs,
    /// Also write marks.xlsx: sheets Marks (the marks.csv rows), By
    /// investor and Summary (docs/accounting.md). Not with --shard.
    #[arg(long, conflicts_with = "shard")]
    pub xlsx: bool,
}

fn parse_column(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        Err("the column name is empty".to_string())
    } else {
        Ok(s.to_string())
    }
}

/// An error opening the tape, with a clearer message when it is the
/// `--group-by` column that is missing.
fn open_error(e: IoError, group_by: Option<&str>) -> anyhow::Error {
    match (&e, group_by) {
        (IoError::MissingColumn { file, column, ours }, Some(g)) if ours == g => {
            let mut names = msr_io::parquet_info(file)
                .map(|i| i.columns)
                .unwrap_or_default();
            if names.len() > 20 {
                names.truncate(20);
                names.push("...".into());
            }
            input(format!(
                "{}: no column `{column}` to group by (--group-by {g}); the tape's columns are: {}",
                file.display(),
                names.join(", ")
            ))
        }
        _ => input(e),
    }
}

/// Loans valued in one call of the engine: it orders them so that loans
/// with the same prepayment inputs follow one another and share that work,
/// so a larger window shares more, at the cost of memory: the window's loans
/// and results are held until it is written, about 0.3 KiB per loan
/// (docs/PERFORMANCE.md, "The hot loop").
const WINDOW_LOANS: usize = 1 << 20;

/// Run `msr value`.
///
/// # Errors
/// Input, output or internal errors, each one line.
pub fn run(args: &ValueArgs) -> Result<ExitCode> {
    let started = SystemTime::now();
    let clock = Instant::now();
    let threads = init_threads(args.run.threads)?;
    crate::common::check_default_input(&args.input.loans, crate::common::SAMPLE_LOANS, "--loans")?;
    if let Some(g) = &args.group_by {
        // The group file's name must be one the file system takes: refused
        // before any work, not after the run.
        let name = GroupMarks::file_name(g);
        if name.len() > 255 {
            return Err(crate::exit::CliError::new(
                crate::exit::Failure::Usage,
                format!(
                    "--group-by: a column name of {} bytes makes the file name {name:.40}... longer than 255 bytes",
                    g.len()
                ),
            ));
        }
    }
    let config = load_config(&args.input.config, &args.paths)?;
    let plan = match args.sharding.shard {
        None => None,
        Some(s) => Some(ShardPlan::new(
            &msr_io::parquet_info(&args.input.loans).map_err(input)?,
            s,
        )),
    };
    let options = TapeOptions {
        row_groups: plan.as_ref().map(ShardPlan::row_group_list),
        extra_column: args.group_by.clone(),
    };
    let mut reader = TapeReader::open_with(&args.input.loans, &config.tape, &options)
        .map_err(|e| open_error(e, args.group_by.as_deref()))?;
    if reader.num_rows() == 0 {
        return Err(input(format!(
            "{}: the tape has no rows; nothing to value",
            args.input.loans.display()
        )));
    }
    let rows_to_value = plan
        .as_ref()
        .map_or(reader.selected_rows(), |p| p.rows.end - p.rows.start);
    if args.xlsx && rows_to_value > msr_io::xlsx::MAX_DATA_ROWS as u64 {
        return Err(crate::exit::CliError::new(
            crate::exit::Failure::Usage,
            format!(
                "--xlsx: {rows_to_value} loans do not fit a worksheet (Excel holds {} rows under \
                 the header); drop --xlsx (marks.csv has every loan) or value shards",
                msr_io::xlsx::MAX_DATA_ROWS
            ),
        ));
    }
    let rates = resolve_rates(&config, &args.paths)?;
    let params = ModelParams::from_config(&config);
    let months = rates.paths.months().min(crate::common::MAX_MONTHS);
    let market = Market::new(&rates.paths, &params, config.valuation.oas, months);
    let spreads = Spreads::load(&args.oas_table, &rates.paths, &params, months)?;
    if spreads.is_some() && args.group_by.is_some() {
        return Err(crate::exit::CliError::new(
            crate::exit::Failure::Usage,
            "--oas-table is not offered with --group-by (a group's marks would mix spreads)",
        ));
    }
    if spreads.is_some() && args.sharding.shard.is_some() {
        return Err(crate::exit::CliError::new(
            crate::exit::Failure::Usage,
            "--oas-table is not offered with --shard (the partial results do not record the table)",
        ));
    }
    let ctx = Context {
        params: &params,
        market: &market,
        config: &config,
        units: rates.units,
        tangent: None,
    };
    let num_paths = market.num_paths();
    let prov = Provenance::new(&args.input, &config, &rates.source, num_paths)?;
    let setup_seconds = clock.elapsed().as_secs_f64();

    let staging = Staging::create(&args.out)?
        .reading(&args.input.files(&args.paths))
        .reading(&args.oas_table.files());
    let run_id = prov.run_id(
        args.sharding.run_id.as_ref(),
        args.sharding.shard.is_some(),
        &config,
        started,
        "",
    );
    let mut marks = Marks::create(&staging, &config, &run_id, num_paths)?;
    let mut columns = loan_value_columns();
    // The group column joins loan_values.parquet as its labels (text, nulls as
    // `(null)`), unless a column of that name is already there.
    let group_column = args
        .group_by
        .as_ref()
        .filter(|g| columns.iter().all(|(n, _)| n != *g));
    if let Some(g) = group_column {
        columns.push((g.clone(), ColumnKind::Utf8));
    }
    let mut groups = args.group_by.as_deref().map(GroupMarks::new);
    let column_refs: Vec<(&str, ColumnKind)> =
        columns.iter().map(|(n, k)| (n.as_str(), *k)).collect();
    let mut values = ParquetTableWriter::create(
        staging.path("loan_values.parquet"),
        &column_refs,
        ParquetOptions::default(),
    )
    .map_err(output)?;
    let mut rejects = RejectWriter::create(staging.path("rejects.csv")).map_err(output)?;

    let rows = rows_to_value;
    let bar = progress(rows, "valuing loans", args.run.quiet);
    // Nothing here solves an OAS, so no CF[p,t] matrix (`msr oas` and the
    // base run of `msr risk` keep one): the same outputs with less work.
    let detail = if args.no_cashflows {
        Detail::Values
    } else {
        Detail::Monthly
    };
    let mut accum = PortfolioAccum::new(num_paths, months, detail);
    let mut tally = ShardTally::default();
    let mut read_seconds = 0.0;
    let engine_clock = Instant::now();
    let mut done = false;
    while !done {
        // A window of batches valued in one call, so that loans far apart on
        // the tape can share their prepayment work (`value_loans`); their
        // outputs are then written batch by batch, in tape order.
        let t0 = Instant::now();
        let mut window = Vec::new();
        let mut in_window = 0;
        while in_window < WINDOW_LOANS {
            let Some(batch) = reader.next_batch().map_err(input)? else {
                done = true;
                break;
            };
            let batch = match &plan {
                Some(p) => keep_rows(batch, p),
                None => batch,
            };
            for r in &batch.rejects {
                rejects.write(r).map_err(output)?;
            }
            bar.inc(batch.rejects.len() as u64);
            in_window += batch.loans.len();
            window.push(batch);
        }
        read_seconds += t0.elapsed().as_secs_f64();
        let loans: Vec<Loan> = window
            .iter_mut()
            .flat_map(|b| std::mem::take(&mut b.loans))
            .collect();
        if let Some(long) = loans.iter().find(|l| l.remaining_term as usize > months) {
            let source = match &args.paths.rate_paths {
                Some(file) => format!("{}: the rate-path file", file.display()),
                None => "the rate paths".to_string(),
            };
            return Err(input(format!(
                "{source} has {months} months but loan {} needs {} (remaining_term)",
                msr_io::text::terminal_safe(&long.loan_id),
                long.remaining_term
            )));
        }
        let progress = |n: usize| bar.inc(n as u64);
        let (results, part) = match &spreads {
            None => value_loans_with(&ctx, &loans, detail, &progress),
            Some(spreads) => spreads.value(&ctx, &loans, detail, &progress)?,
        };
        accum.merge(&part);
        for l in &loans {
            tally.max_term = tally.max_term.max(l.remaining_term as usize);
            tally.loan_months += u64::from(l.remaining_term);
        }
        let mut at = 0;
        for batch in &window {
            let n = batch.rows.len();
            let (loans, results) = (&loans[at..at + n], &results[at..at + n]);
            at += n;
            tally.valid += n as u64;
            tally.rejected += batch.rejects.len() as u64;
            tally.rows_read += (n + batch.rejects.len()) as u64;
            // loan_values.parquet and marks.csv are written side by side
            // (each file in its own order, so the same bytes): with few
            // paths, writing the rows is a large part of a run.
            let (parquet, csv) = rayon::join(
                || {
                    let mut rows = loan_value_rows(loans, results);
                    if let Some(g) = group_column {
                        let labels = batch.extra.iter().map(|v| v.label().into_owned()).collect();
                        rows.push(Column::utf8(g.clone(), labels));
                    }
                    values.write(rows).map_err(output)
                },
                || match &spreads {
                    None => marks.write(loans, results),
                    Some(spreads) => marks.write_at(loans, results, &spreads.oas_of(loans)?),
                },
            );
            parquet?;
            csv?;
            if let Some(groups) = groups.as_mut() {
                groups.add(loans, results, &batch.extra);
            }
        }
    }
    bar.finish_and_clear();
    let engine_seconds = engine_clock.elapsed().as_secs_f64() - read_seconds;
    values.finish().map_err(output)?;
    rejects.finish().map_err(output)?;
    marks.finish()?;
    if let Some(groups) = &groups {
        groups.write(&staging, &config, &run_id, num_paths)?;
    }
    let timings = ShardTimings {
        setup_seconds,
        read_seconds,
        engine_seconds,
        wall_seconds: 0.0,
    };
    let export_paths = args.export_paths && plan.as_ref().is_none_or(|p| p.shard.index == 0);
    if export_paths {
        msr_io::write_path_file(staging.path("paths.parquet"), &rates.paths).map_err(output)?;
    }

    let whole = Whole {
        args,
        spreads: spreads.as_ref(),
        config: &config,
        prov: &prov,
        run_id: &run_id,
        num_paths,
        antithetic: rates.antithetic,
        units: rates.units,
        threads,
        started,
        clock,
        tape_rows: reader.num_rows(),
        tape_row_groups: reader.num_row_groups(),
    };
    match plan {
        Some(plan) => whole.finish_shard(staging, &plan, &accum, tally, timings, export_paths),
        None => whole.finish_unsharded(staging, &accum, &tally, timings),
    }
}

/// What both endings of a run need.
struct Whole<'a> {
    args: &'a ValueArgs,
    spreads: Option<&'a Spreads>,
    config: &'a Config,
    prov: &'a Provenance,
    run_id: &'a str,
    num_paths: usize,
    antithetic: bool,
    units: msr_engine::SeUnits,
    threads: usize,
    started: SystemTime,
    clock: Instant,
    tape_rows: u64,
    tape_row_groups: usize,
}

impl Whole<'_> {
    /// The unsharded ending: portfolio files, summary, manifest, data checks.
    fn finish_unsharded(
        &self,
        staging: Staging,
        accum: &PortfolioAccum,
        tally: &ShardTally,
        t: ShardTimings,
    ) -> Result<ExitCode> {
        // Without the projection, a previous full run's cashflows.parquet is
        // removed at the commit (it is not among this run's outputs).
        if !self.args.no_cashflows {
            write_cashflows(&staging, accum, tally.max_term)?;
        }
        let wall = self.clock.elapsed().as_secs_f64();
        let timings = RunTimings {
            timings: ValueTimings {
                setup_seconds: t.setup_seconds,
                read_seconds: t.read_seconds,
                engine_seconds: t.engine_seconds,
                wall_seconds: wall,
                merge_seconds: None,
            },
            engine_seconds: t.engine_seconds,
            threads: self.threads,
        };
        if self.args.xlsx {
            crate::cmd::workbook::write_value_workbook(
                &staging.path("marks.csv"),
                &staging.path("marks.xlsx"),
                self.config,
                self.num_paths,
            )?;
        }
        let settings = SummarySettings::of(self.config, self.num_paths, self.units)?;
        let (summary, summary_doc) = summary_document(accum, &settings, tally, &timings);
        write_document(staging.path("summary.json"), &summary_doc).map_err(output)?;
        let manifest = self.manifest(tally.rows_read);
        write_document(staging.path("manifest.json"), &manifest).map_err(output)?;
        staging.commit("manifest.json")?;

        if !self.args.run.quiet {
            let lpm = tally.loan_months as f64 * self.num_paths as f64;
            print_summary(
                &summary,
                tally,
                self.num_paths,
                wall,
                lpm / t.engine_seconds.max(1e-9),
                &self.args.out,
            );
            warn_non_finite(&accum.non_finite);
        }
        data_checks(
            tally,
            self.config.tape.max_reject_share,
            accum.non_finite.len(),
            &self.args.out,
        )
    }

    /// The shard ending: the partial sums and the partial manifest (the
    /// completion marker, naming every file with its hash). Data checks
    /// (reject share, non-finite loans) are the merge's: a shard that wrote
    /// its partial succeeds, so a scheduler does not retry it.
    fn finish_shard(
        &self,
        staging: Staging,
        plan: &ShardPlan,
        accum: &PortfolioAccum,
        tally: ShardTally,
        mut timings: ShardTimings,
        export_paths: bool,
    ) -> Result<ExitCode> {
        msr_io::partial::write_partial_sums(
            staging.path(PARTIAL_SUMS),
            staging.path(PARTIAL_CF),
            &accum_to_partial(accum, tally),
        )
        .map_err(output)?;
        let mut files = std::collections::BTreeMap::new();
        let mut names = msr_io::partial::PARTIAL_FILES.to_vec();
        if export_paths {
            names.push("paths.parquet");
        }
        for name in names {
            files.insert(name.to_string(), sha256(&staging.path(name))?);
        }
        timings.wall_seconds = self.clock.elapsed().as_secs_f64();
        let manifest = PartialManifest {
            kind: PARTIAL_KIND.to_string(),
            format: PARTIAL_FORMAT,
            engine: "msr-engine".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            run_id: self.run_id.to_string(),
            shard: plan.clone(),
            command: std::env::args().collect(),
            started_at: timestamp(self.started),
            finished_at: timestamp(SystemTime::now()),
            inputs: PartialInputs {
                loans: TapeInput {
                    path: self.args.input.loans.clone(),
                    sha256: self.prov.tape_sha.clone(),
                    rows: self.tape_rows,
                    row_groups: self.tape_row_groups,
                },
                config: ConfigInput {
                    path: self.args.input.config.clone(),
                    sha256: self.prov.config_sha.clone(),
                    resolved_sha256: self.prov.resolved_sha.clone(),
                },
            },
            rate_paths: self.prov.paths.clone(),
            seed: self.config.valuation.seed,
            num_paths: self.num_paths,
            oas: self.config.valuation.oas,
            as_of: crate::outputs::as_of(self.config)?,
            antithetic: self.antithetic,
            scrambles: crate::common::scrambles_of(self.units),
            max_reject_share: self.config.tape.max_reject_share,
            threads: self.threads,
            timings,
            files,
            resolved_config: self.prov.resolved.clone(),
        };
        msr_io::write_json_pretty(staging.path(PARTIAL_MANIFEST), &manifest).map_err(output)?;
        staging.commit_unlisted(PARTIAL_MANIFEST)?;
        if !self.args.run.quiet {
            let cut = match plan.by {
                ShardBy::RowGroups => "whole row groups",
                ShardBy::Rows => "a row range of row groups",
            };
            println!(
                "shard {}: rows {}..{} ({cut} {}..{}); {} loans valued, {} rejected; partial in {} ({:.2} s)",
                plan.shard,
                plan.rows.start,
                plan.rows.end,
                plan.row_groups.start,
                plan.row_groups.end,
                tally.valid,
                tally.rejected,
                self.args.out.display(),
                timings.wall_seconds
            );
            warn_non_finite(&accum.non_finite);
        }
        Ok(ExitCode::SUCCESS)
    }

    fn manifest(&self, rows: u64) -> Manifest {
        Manifest {
            engine: "msr-engine".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            run_id: self.run_id.to_string(),
            command: std::env::args().collect(),
            started_at: Some(timestamp(self.started)),
            finished_at: Some(timestamp(SystemTime::now())),
            inputs: RunInputs {
                loans: InputFile {
                    path: self.args.input.loans.clone(),
                    sha256: self.prov.tape_sha.clone(),
                    rows: Some(rows),
                },
                config: InputFile {
                    path: self.args.input.config.clone(),
                    sha256: self.prov.config_sha.clone(),
                    rows: None,
                },
                basis: None,
            },
            rate_paths: self.prov.paths.clone(),
            seed: Some(self.config.valuation.seed),
            num_paths: Some(self.num_paths as u64),
            oas: Some(self.config.valuation.oas),
            threads: Some(self.threads as u64),
            resolved_config: Some(self.prov.resolved.clone()),
            oas_table: self.spreads.map(Spreads::provenance),
            merged_from: None,
            outputs: Default::default(),
        }
    }
}
