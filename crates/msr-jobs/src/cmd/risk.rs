//! `msr risk`: effective duration and convexity, key-rate durations, the
//! parallel rate-shock grid, assumption stresses, static value and option
//! cost (MODEL.md §C.4, §F, §J; docs/risk.md), all in one process on common
//! random numbers. Writes `risk.json` and `risk.csv` (one row per scenario).
//!
//! Rate shocks regenerate the paths from the base run's random numbers, so the
//! command needs generated paths: a path file (`--rate-paths`) is refused
//! with a usage error (exit 2) rather than valued without its rate risk.
//!
//! With `--shard K/N` it values only shard K of N of the tape (the cut of
//! `msr value --shard`) in every scenario and writes a partial: each valued
//! scenario's exact sums (msr-io `partial.rs`), `risk_partial.json` naming
//! them with the risk spec, rejects.csv and a manifest of kind
//! `msr-risk-partial`. `msr merge` adds the partials up per scenario and
//! writes exactly the risk.json and risk.csv of an unsharded run
//! ([`merge`]; docs/cluster.md).

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Result;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use msr_core::Config;
use msr_engine::{
    assemble_risk, risk_partial, Derivatives, RiskInputs, RiskPartial, RiskProgress, RiskReport,
    RiskSpec, Scenario,
};
use msr_io::docs::risk::{RiskRow, RiskTimings};
use msr_io::docs::run::{InputFile, NonFiniteId, RunInputs, RunProvenance};
use msr_io::docs::{self, write_document};
use msr_io::partial::{
    read_partial_sums, read_risk_index, ConfigInput, Partial, PartialInputs, PartialManifest,
    RiskPartialIndex, RiskSpecRecord, ShardTally, ShardTimings, TapeInput, PARTIAL_FORMAT,
    PARTIAL_MANIFEST, RISK_PARTIAL_INDEX, RISK_PARTIAL_KIND,
};

use super::merge::{merge_rejects, merged_from, MergeArgs};
use super::oas::{data_checks, load, provenance, Loaded};
use crate::common::{resolve_rates, sha256, timestamp, InputArgs, PathArgs, RunArgs, Staging};
use crate::exit::{input, output, CliError, Failure};
use crate::outputs::{accum_to_partial, partial_to_accum};
use crate::shard::{Provenance, ShardArgs, ShardSlice};
use crate::spreads::{OasTableArgs, Spreads};

/// Flags of `msr risk`: those of `msr value`.
#[derive(Debug, Args)]
pub struct RiskArgs {
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
    /// Also write the base rate paths, as DIR/paths.parquet (MODEL.md §C.5).
    /// With --shard, only shard 0 writes them (the merge copies them).
    #[arg(long)]
    pub export_paths: bool,
    /// Which shard of the tape to value.
    #[command(flatten)]
    pub sharding: ShardArgs,
    /// With --oas-table, every scenario values each loan at its cohort's
    /// spread (the OAS stresses move every spread), not with --shard.
    #[command(flatten)]
    pub oas_table: OasTableArgs,
    /// How effective duration and the key-rate durations are computed:
    /// `bump` (the default, MODEL.md §F/§J: central differences of
    /// revaluations at ±25 bp, with the key-rate scenarios in risk.csv) or
    /// `tangent` (derivatives at zero shock, pathwise in the base run: twelve
    /// runs fewer); docs/risk.md, "Durations without bumps".
    #[arg(long, value_name = "METHOD", default_value = "bump", value_parser = ["bump", "tangent"])]
    pub derivatives: String,
}

/// Progress: a bar on a terminal; one line per scenario on stderr otherwise
/// (a long run in a log still shows where it is); nothing when quiet.
struct Progress {
    bar: Option<ProgressBar>,
    last: usize,
    quiet: bool,
}

impl Progress {
    fn new(quiet: bool) -> Progress {
        Progress {
            bar: None,
            last: 0,
            quiet,
        }
    }

    fn update(&mut self, p: &RiskProgress<'_>) {
        crate::common::check_cancelled();
        if self.quiet {
            return;
        }
        let total = (p.scenarios * p.loans.max(1)) as u64;
        let pos = ((p.scenario - 1) * p.loans.max(1) + p.loans_done) as u64;
        if !std::io::stderr().is_terminal() {
            if p.scenario != self.last {
                eprintln!("scenario {} of {}: {}", p.scenario, p.scenarios, p.name);
                self.last = p.scenario;
            }
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("risk [{bar:30}] {msg} (ETA {eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        bar.set_position(pos);
        bar.set_message(format!(
            "scenario {} of {}: {}",
            p.scenario, p.scenarios, p.name
        ));
    }

    fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Run `msr risk`.
///
/// # Errors
/// Usage error for a path file; input, output or internal errors.
pub fn run(args: &RiskArgs) -> Result<ExitCode> {
    if args.paths.rate_paths.is_some() {
        return Err(CliError::new(
            Failure::Usage,
            "msr risk needs generated rate paths: rate shocks regenerate the paths from the base run's random numbers \
             (MODEL.md §C.4), which a path file does not have; drop --rate-paths (use --num-paths/--seed), \
             or value the file's scenarios with msr value",
        ));
    }
    // Risk holds more per path than a valuation: check its need up front.
    let config = crate::common::load_config(&args.input.config, &args.paths)?;
    crate::common::check_path_memory(
        u64::from(config.valuation.num_paths),
        crate::common::BYTES_PER_PATH_RISK,
    )?;
    let started = SystemTime::now();
    let clock = Instant::now();
    let export_paths = args.export_paths && args.sharding.shard.is_none_or(|s| s.index == 0);
    let (loaded, staging) = load(
        &args.input,
        &args.paths,
        &args.run,
        &args.out,
        export_paths,
        args.sharding.shard,
    )?;
    let staging = staging.reading(&args.oas_table.files());
    let normals = loaded.rates.normals.as_ref().ok_or_else(|| {
        CliError::new(
            Failure::Internal,
            "generated paths without their random numbers",
        )
    })?;
    let params = msr_model::ModelParams::from_config(&loaded.config);
    let table = Spreads::load(&args.oas_table, &loaded.rates.paths, &params, loaded.months)?;
    if table.is_some() && args.sharding.shard.is_some() {
        return Err(CliError::new(
            Failure::Usage,
            "--oas-table is not offered with --shard (the partial results do not record the table)",
        ));
    }
    let spreads = table
        .as_ref()
        .map(|t| t.loan_spreads(&loaded.loans))
        .transpose()?;
    let inputs = RiskInputs {
        loans: &loaded.loans,
        config: &loaded.config,
        rate_model: &loaded.rates.model,
        normals,
        months: loaded.months,
        units: loaded.rates.units,
        spreads: spreads.as_ref(),
    };
    let prov = Provenance::new(
        &args.input,
        &loaded.config,
        &loaded.rates.source,
        loaded.rates.paths.num_paths(),
    )?;
    let run_id = prov.run_id(
        args.sharding.run_id.as_ref(),
        args.sharding.shard.is_some(),
        &loaded.config,
        started,
        "|risk",
    );
    let spec = RiskSpec {
        derivatives: Derivatives::from_code(&args.derivatives).ok_or_else(|| {
            CliError::new(
                Failure::Usage,
                format!("--derivatives {}", args.derivatives),
            )
        })?,
        ..RiskSpec::default()
    };
    let engine_clock = Instant::now();
    let mut progress = Progress::new(args.run.quiet);
    let partial = risk_partial(&inputs, &spec, &mut |p| progress.update(p))
        .map_err(|e| CliError::new(Failure::Input, e))?;
    progress.finish();
    let engine_seconds = engine_clock.elapsed().as_secs_f64();
    if let Some(slice) = &loaded.shard {
        let shard = ShardRun {
            args,
            loaded: &loaded,
            prov: &prov,
            run_id: &run_id,
            started,
            clock,
            engine_seconds,
            export_paths,
        };
        return shard.finish(staging, slice, &spec, &partial);
    }
    let report =
        assemble_risk(&inputs, &spec, &partial).map_err(|e| CliError::new(Failure::Input, e))?;

    std::fs::write(staging.path("risk.csv"), risk_csv(&report))
        .map_err(|e| output(format!("{}: {e}", args.out.join("risk.csv").display())))?;
    let mut doc = risk_doc(&report, &loaded.config)?;
    doc.run_id = run_id.clone();
    doc.oas_table = table.as_ref().map(|t| t.provenance());
    doc.loans_read = loaded.stats.rows_read;
    doc.rejected_rows = loaded.stats.rejected;
    doc.non_finite_loans = report.non_finite.len() as u64;
    doc.non_finite = non_finite_ids(&report);
    doc.timings = RiskTimings {
        setup_seconds: loaded.setup_seconds,
        engine_seconds,
        wall_seconds: clock.elapsed().as_secs_f64(),
        merge_seconds: None,
        seconds_per_scenario: engine_seconds / report.scenarios.len() as f64,
    };
    doc.run = Some(provenance(&args.input, &loaded, started)?);
    write_document(staging.path("risk.json"), &doc).map_err(output)?;
    staging.commit("risk.json")?;
    if !args.run.quiet {
        print!("{}", risk_table(&report));
        println!(
            "{} scenarios on {} loans x {} paths in {:.1} s; outputs in {}",
            report.scenarios.len(),
            report.records,
            report.num_paths,
            clock.elapsed().as_secs_f64(),
            args.out.display()
        );
        warn_risk_non_finite(&report);
    }
    // A scenario that lost loans is not comparable with the base: flag it.
    let non_finite = report
        .scenarios
        .iter()
        .map(|s| s.non_finite)
        .max()
        .unwrap_or(0);
    data_checks(&loaded, non_finite, &args.out)
}

/// The risk spec as recorded in a partial: every shard of a run must share it.
fn spec_record(spec: &RiskSpec) -> RiskSpecRecord {
    RiskSpecRecord {
        shock_bp: spec.shock_bp,
        rate_shocks_bp: spec.rate_shocks_bp.clone(),
        cost_stresses_pct: spec.cost_stresses_pct.clone(),
        prepay_stresses_pct: spec.prepay_stresses_pct.clone(),
        roll_stresses_pct: spec.roll_stresses_pct.clone(),
        oas_stresses_bp: spec.oas_stresses_bp.clone(),
        derivatives: (spec.derivatives != Derivatives::Bump)
            .then(|| spec.derivatives.code().to_string()),
    }
}

/// What the shard ending of `msr risk` needs.
struct ShardRun<'a> {
    args: &'a RiskArgs,
    loaded: &'a Loaded,
    prov: &'a Provenance,
    run_id: &'a str,
    started: SystemTime,
    clock: Instant,
    engine_seconds: f64,
    export_paths: bool,
}

impl ShardRun<'_> {
    /// Write the partial: every valued scenario's exact sums, the index, and
    /// the manifest last (the completion marker, naming every file with its
    /// hash). Data checks are the merge's, as for `msr value --shard`.
    fn finish(
        &self,
        staging: Staging,
        slice: &ShardSlice,
        spec: &RiskSpec,
        partial: &RiskPartial,
    ) -> Result<ExitCode> {
        let loaded = self.loaded;
        let tally = ShardTally {
            rows_read: loaded.stats.rows_read,
            valid: loaded.stats.valid,
            rejected: loaded.stats.rejected,
            loan_months: loaded
                .loans
                .iter()
                .map(|l| u64::from(l.remaining_term))
                .sum(),
            max_term: loaded
                .loans
                .iter()
                .map(|l| l.remaining_term as usize)
                .max()
                .unwrap_or(0),
        };
        let mut index = RiskPartialIndex {
            format: PARTIAL_FORMAT,
            months: partial.months,
            spec: spec_record(spec),
            scenarios: Vec::with_capacity(partial.scenarios.len()),
        };
        for (k, (name, acc)) in partial.scenarios.iter().enumerate() {
            let files = RiskPartialIndex::scenario_files(name, k);
            msr_io::partial::write_partial_sums(
                staging.path(&files.sums),
                staging.path(&files.cf),
                &accum_to_partial(acc, tally),
            )
            .map_err(output)?;
            index.scenarios.push(files);
        }
        msr_io::write_json_pretty(staging.path(RISK_PARTIAL_INDEX), &index).map_err(output)?;
        let mut names: Vec<String> = vec!["rejects.csv".into(), RISK_PARTIAL_INDEX.into()];
        for f in &index.scenarios {
            names.extend([f.sums.clone(), f.cf.clone()]);
        }
        if self.export_paths {
            names.push("paths.parquet".into());
        }
        let mut files = std::collections::BTreeMap::new();
        for name in names {
            let sha = sha256(&staging.path(&name))?;
            files.insert(name, sha);
        }
        let config = &loaded.config;
        let manifest = PartialManifest {
            kind: RISK_PARTIAL_KIND.to_string(),
            format: PARTIAL_FORMAT,
            engine: "msr-engine".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            run_id: self.run_id.to_string(),
            shard: slice.plan.clone(),
            command: std::env::args().collect(),
            started_at: timestamp(self.started),
            finished_at: timestamp(SystemTime::now()),
            inputs: PartialInputs {
                loans: TapeInput {
                    path: self.args.input.loans.clone(),
                    sha256: self.prov.tape_sha.clone(),
                    rows: slice.tape_rows,
                    row_groups: slice.tape_row_groups,
                },
                config: ConfigInput {
                    path: self.args.input.config.clone(),
                    sha256: self.prov.config_sha.clone(),
                    resolved_sha256: self.prov.resolved_sha.clone(),
                },
            },
            rate_paths: self.prov.paths.clone(),
            seed: config.valuation.seed,
            num_paths: loaded.rates.paths.num_paths(),
            oas: config.valuation.oas,
            as_of: crate::outputs::as_of(config)?,
            antithetic: loaded.rates.antithetic,
            scrambles: crate::common::scrambles_of(loaded.rates.units),
            max_reject_share: config.tape.max_reject_share,
            threads: loaded.threads,
            timings: ShardTimings {
                setup_seconds: loaded.setup_seconds,
                read_seconds: 0.0,
                engine_seconds: self.engine_seconds,
                wall_seconds: self.clock.elapsed().as_secs_f64(),
            },
            files,
            resolved_config: self.prov.resolved.clone(),
        };
        msr_io::write_json_pretty(staging.path(PARTIAL_MANIFEST), &manifest).map_err(output)?;
        staging.commit_unlisted(PARTIAL_MANIFEST)?;
        if !self.args.run.quiet {
            let plan = &slice.plan;
            println!(
                "risk shard {}: rows {}..{}; {} loans in {} scenarios, {} rejected; partial in {} ({:.2} s)",
                plan.shard,
                plan.rows.start,
                plan.rows.end,
                tally.valid,
                partial.scenarios.len(),
                tally.rejected,
                self.args.out.display(),
                self.clock.elapsed().as_secs_f64()
            );
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// `msr merge` of `msr risk --shard` partials (already checked to be the
/// complete set of one run, in shard order): add every scenario's sums,
/// assemble the report on the paths regenerated from the shards' resolved
/// configuration, and write the risk.json and risk.csv of an unsharded run,
/// plus rejects.csv (and paths.parquet when the shards exported it).
///
/// # Errors
/// Input errors for partials that disagree on the risk spec or whose sums
/// are incomplete; output errors.
pub fn merge(
    args: &MergeArgs,
    parts: &[&Partial],
    started: SystemTime,
    clock: Instant,
) -> Result<ExitCode> {
    let first = &parts[0].manifest;
    // The method of the derivatives is the run's choice (the shards
    // recorded it); everything else is this build's spec.
    let first_index = read_risk_index(parts[0].file(RISK_PARTIAL_INDEX)).map_err(input)?;
    let spec = RiskSpec {
        derivatives: match first_index.spec.derivatives.as_deref() {
            None => Derivatives::Bump,
            Some(code) => Derivatives::from_code(code).ok_or_else(|| {
                input(format!(
                    "{}: unknown derivatives `{code}`",
                    parts[0].file(RISK_PARTIAL_INDEX).display()
                ))
            })?,
        },
        ..RiskSpec::default()
    };
    let mut total: Option<RiskPartial> = None;
    let mut tally = ShardTally::default();
    for p in parts {
        let index_path = p.file(RISK_PARTIAL_INDEX);
        let index = read_risk_index(&index_path).map_err(input)?;
        if index.spec != spec_record(&spec) {
            let text = |s: &RiskSpecRecord| serde_json::to_string(s).unwrap_or_default();
            return Err(input(format!(
                "{}: the partial's risk spec {} is not this build's {}",
                index_path.display(),
                text(&index.spec),
                text(&spec_record(&spec))
            )));
        }
        let mut scenarios = Vec::with_capacity(index.scenarios.len());
        for (k, s) in index.scenarios.iter().enumerate() {
            for f in [&s.sums, &s.cf] {
                if !p.manifest.files.contains_key(f) {
                    return Err(input(format!(
                        "{}: incomplete partial: {PARTIAL_MANIFEST} does not list {f}",
                        p.dir.display()
                    )));
                }
            }
            let sums_path = p.file(&s.sums);
            let sums = read_partial_sums(&sums_path, p.file(&s.cf)).map_err(input)?;
            // The base runs on the manifest's paths (the static scenario on one).
            if k == 0 {
                if sums.num_paths != first.num_paths {
                    return Err(input(format!(
                        "{}: incomplete partial: sums over {} paths, the manifest says {}",
                        sums_path.display(),
                        sums.num_paths,
                        first.num_paths
                    )));
                }
                tally.merge(&sums.tally);
            }
            scenarios.push((s.name.clone(), partial_to_accum(sums, &sums_path)?));
        }
        let part = RiskPartial {
            months: index.months,
            scenarios,
        };
        match total.as_mut() {
            None => total = Some(part),
            Some(t) => t
                .merge(&part)
                .map_err(|e| input(format!("{}: {e}", p.dir.display())))?,
        }
    }
    let total = total.ok_or_else(|| input("no partial directories given"))?;

    // The paths, regenerated exactly as every shard generated them.
    let config: Config = serde_json::from_value(first.resolved_config.clone()).map_err(|e| {
        input(format!(
            "{}: resolved_config: {e}",
            parts[0].file(PARTIAL_MANIFEST).display()
        ))
    })?;
    let rates = resolve_rates(&config, &PathArgs::default())?;
    let normals = rates.normals.as_ref().ok_or_else(|| {
        CliError::new(
            Failure::Internal,
            "generated paths without their random numbers",
        )
    })?;
    let inputs = RiskInputs {
        loans: &[],
        config: &config,
        rate_model: &rates.model,
        normals,
        months: total.months,
        units: rates.units,
        spreads: None,
    };
    let report =
        assemble_risk(&inputs, &spec, &total).map_err(|e| CliError::new(Failure::Input, e))?;

    let staging = Staging::create(&args.out)?;
    merge_rejects(&staging, parts)?;
    if let Some(p) = parts
        .iter()
        .find(|p| p.manifest.files.contains_key("paths.parquet"))
    {
        std::fs::copy(p.file("paths.parquet"), staging.path("paths.parquet"))
            .map_err(|e| output(format!("{}: {e}", staging.path("paths.parquet").display())))?;
    }
    std::fs::write(staging.path("risk.csv"), risk_csv(&report))
        .map_err(|e| output(format!("{}: {e}", args.out.join("risk.csv").display())))?;
    let mut doc = risk_doc(&report, &config)?;
    doc.run_id = first.run_id.clone();
    doc.loans_read = tally.rows_read;
    doc.rejected_rows = tally.rejected;
    doc.non_finite_loans = report.non_finite.len() as u64;
    doc.non_finite = non_finite_ids(&report);
    let sum =
        |f: fn(&ShardTimings) -> f64| parts.iter().map(|p| f(&p.manifest.timings)).sum::<f64>();
    let engine_seconds = sum(|t| t.engine_seconds);
    doc.timings = RiskTimings {
        setup_seconds: sum(|t| t.setup_seconds),
        engine_seconds,
        wall_seconds: sum(|t| t.wall_seconds),
        merge_seconds: Some(clock.elapsed().as_secs_f64()),
        seconds_per_scenario: engine_seconds / report.scenarios.len() as f64,
    };
    doc.run = Some(RunProvenance {
        engine: first.engine.clone(),
        version: first.version.clone(),
        command: std::env::args().collect(),
        started_at: parts
            .iter()
            .map(|p| p.manifest.started_at.as_str())
            .min()
            .unwrap_or_default()
            .to_string(),
        finished_at: timestamp(SystemTime::now()),
        inputs: RunInputs {
            loans: InputFile {
                path: first.inputs.loans.path.clone(),
                sha256: first.inputs.loans.sha256.clone(),
                rows: Some(tally.rows_read),
            },
            config: InputFile {
                path: first.inputs.config.path.clone(),
                sha256: first.inputs.config.sha256.clone(),
                rows: None,
            },
            basis: None,
        },
        rate_paths: first.rate_paths.clone(),
        threads: parts.iter().map(|p| p.manifest.threads as u64).sum(),
        merged_from: Some(merged_from(parts, started)),
    });
    write_document(staging.path("risk.json"), &doc).map_err(output)?;
    staging.commit("risk.json")?;
    if !args.quiet {
        println!("merged {} risk shards of run {}", parts.len(), first.run_id);
        print!("{}", risk_table(&report));
        println!(
            "{} scenarios on {} loans x {} paths; outputs in {}",
            report.scenarios.len(),
            report.records,
            report.num_paths,
            args.out.display()
        );
        warn_risk_non_finite(&report);
    }
    let non_finite = report
        .scenarios
        .iter()
        .map(|s| s.non_finite)
        .max()
        .unwrap_or(0);
    crate::outputs::data_checks(&tally, first.max_reject_share, non_finite, &args.out)
}

/// The non-finite loans of the base run, for risk.json.
fn non_finite_ids(report: &RiskReport) -> Vec<NonFiniteId> {
    report
        .non_finite
        .iter()
        .map(|nf| NonFiniteId {
            loan_id: nf.loan.loan_id.clone(),
            what: nf.what.clone(),
        })
        .collect()
}

/// Warnings for loans left out of the base or of a scenario.
fn warn_risk_non_finite(report: &RiskReport) {
    for nf in &report.non_finite {
        eprintln!(
            "warning: loan {} left out of the totals: {}",
            msr_io::text::terminal_safe(&nf.loan.loan_id),
            nf.reason()
        );
    }
    for s in report.scenarios.iter().filter(|s| s.non_finite > 0) {
        eprintln!(
            "warning: scenario {}: {} loans left out of the total (value not finite)",
            s.name, s.non_finite
        );
    }
}

fn bps(report: &RiskReport, v: f64) -> Option<f64> {
    (report.upb > 0.0).then(|| 1e4 * v / report.upb)
}

fn scenario_doc(report: &RiskReport, s: &Scenario) -> docs::risk::Scenario {
    docs::risk::Scenario {
        scenario: s.name.clone(),
        kind: s.kind.code().to_string(),
        tenor_years: s.tenor,
        shock: s.shock,
        unit: s.kind.unit().to_string(),
        value: s.value,
        value_bps: bps(report, s.value),
        change: s.change,
        change_pct: s.change_pct,
        std_error: s.std_error,
        non_finite_loans: s.non_finite as u64,
    }
}

/// The risk.json document (without run accounting, added by the caller).
///
/// # Errors
/// Internal error when valuation.as_of is not a date (validated before).
pub fn risk_doc(report: &RiskReport, config: &msr_core::Config) -> Result<docs::risk::Risk> {
    Ok(docs::risk::Risk {
        as_of: crate::outputs::as_of(config)?,
        oas: report.oas,
        paths: report.num_paths as u64,
        seed: Some(config.valuation.seed),
        records: report.records,
        upb: report.upb,
        fee_base: report.fee_base,
        value: report.base_value,
        value_bps: bps(report, report.base_value),
        multiple: (report.fee_base > 0.0).then(|| report.base_value / report.fee_base),
        std_error: report.base_std_error,
        shock_bp: report.shock_bp,
        derivatives: report.derivatives.code().to_string(),
        effective_duration: report.effective_duration,
        effective_duration_std_error: report.duration_std_error,
        effective_convexity: report.effective_convexity,
        key_rate_durations: report
            .key_rate_durations
            .iter()
            .map(|k| docs::risk::KeyRate {
                tenor_years: k.tenor,
                duration: k.duration,
                value_down: k.value_down,
                value_up: k.value_up,
                std_error: k.std_error,
            })
            .collect(),
        rate_shocks: report
            .rate_shocks
            .iter()
            .map(|s| scenario_doc(report, s))
            .collect(),
        assumption_stresses: report
            .assumption_stresses
            .iter()
            .map(|s| scenario_doc(report, s))
            .collect(),
        static_value: report.static_value,
        option_cost: report.option_cost,
        option_cost_bps: bps(report, report.option_cost),
        scenarios: report.scenarios.len() as u64,
        run_id: String::new(),
        oas_table: None,
        loans_read: 0,
        rejected_rows: 0,
        non_finite_loans: 0,
        non_finite: Vec::new(),
        timings: RiskTimings::default(),
        run: None,
    })
}

/// risk.csv: one row per scenario, in run order (base first).
pub fn risk_csv(report: &RiskReport) -> Vec<u8> {
    let rows: Vec<RiskRow> = report
        .scenarios
        .iter()
        .map(|s| {
            // The row is the document's scenario less its non-finite count.
            let d = scenario_doc(report, s);
            RiskRow {
                scenario: d.scenario,
                kind: d.kind,
                tenor_years: d.tenor_years,
                shock: d.shock,
                unit: d.unit,
                value: d.value,
                value_bps: d.value_bps,
                change: d.change,
                change_pct: d.change_pct,
                std_error: d.std_error,
            }
        })
        .collect();
    docs::to_csv(&RiskRow::HEADER, &rows)
}

/// The terminal summary.
fn risk_table(r: &RiskReport) -> String {
    let mut t = String::new();
    let f = |x: Option<f64>| x.map_or("n/a".to_string(), |v| format!("{v:.3}"));
    let _ = writeln!(
        t,
        "base value ${:.2} = {:.2} bp of ${:.0} UPB at OAS {:.4} %",
        r.base_value,
        bps(r, r.base_value).unwrap_or(f64::NAN),
        r.upb,
        100.0 * r.oas
    );
    let how = match r.derivatives {
        Derivatives::Bump => format!("±{} bp", r.shock_bp),
        Derivatives::Tangent => format!("pathwise; convexity ±{} bp", r.shock_bp),
    };
    let _ = writeln!(
        t,
        "effective duration {}  convexity {}  ({how})",
        f(r.effective_duration),
        f(r.effective_convexity),
    );
    let krd: Vec<String> = r
        .key_rate_durations
        .iter()
        .map(|k| format!("{}y {}", k.tenor, f(k.duration)))
        .collect();
    let _ = writeln!(t, "key-rate durations: {}", krd.join("  "));
    let _ = writeln!(
        t,
        "static value ${:.2}, option cost ${:.2} ({:.2} bp)",
        r.static_value,
        r.option_cost,
        bps(r, r.option_cost).unwrap_or(f64::NAN)
    );
    let _ = writeln!(
        t,
        "{:<28} {:>18} {:>16} {:>9}",
        "scenario", "value $", "change $", "change %"
    );
    for s in r.rate_shocks.iter().chain(&r.assumption_stresses) {
        let _ = writeln!(
            t,
            "{:<28} {:>18.2} {:>16.2} {:>9}",
            s.name,
            s.value,
            s.change,
            s.change_pct
                .map_or("n/a".to_string(), |p| format!("{p:+.2}"))
        );
    }
    t
}
