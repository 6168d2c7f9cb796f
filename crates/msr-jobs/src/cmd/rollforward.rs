//! `msr rollforward`: explain the change in fair value between two valuation
//! dates (docs/rollforward.md) — loans removed, loans added, runoff and
//! performance, market, assumptions — as an exact sequence of substitutions
//! on common random numbers ([`msr_engine::rollforward`]), in total and by
//! investor. Writes `rollforward.csv`, `rollforward.json`, the rejects of
//! both tapes and `manifest.json`, staged and moved into place like
//! `msr value`.
//!
//! The simulation settings (`num_paths`, `seed`, `antithetic`,
//! `path_scheme`) are the current configuration's, overridden by
//! `--num-paths`/`--seed`, and serve all four valuations; a path file is not
//! offered, since the market step regenerates the paths on the new curve.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Instant, SystemTime};

use anyhow::Result;
use clap::Args;
use msr_core::loan::Investor;
use msr_core::{Config, Loan};
use msr_engine::rollforward::{market_substituted, RollforwardRun};
use msr_engine::{
    rollforward, Rollforward, RollforwardInputs, RollforwardProgress, RollforwardTable, Step,
};
use msr_io::docs::rollforward::{
    ResolvedConfigs, RollGroup, RollLoans, RollStep, RollforwardManifest, RollforwardNonFinite,
    RollforwardPaths, RollforwardRow, RollforwardTimings, TableRef, TapeFile,
};
use msr_io::docs::run::InputFile;
use msr_io::docs::{self, write_document};
use msr_io::TapeStats;
use msr_rates::NormalGenerator;

use crate::cmd::calibrate::read_cohort_table;
use crate::common::{
    init_threads, load_config, progress, sha256, timestamp, InputArgs, PathArgs, RunArgs, Staging,
    MAX_MONTHS,
};
use crate::exit::{input, output, CliError, Failure};
use msr_engine::TableKind;

/// Rejects of the prior tape.
pub const REJECTS_PRIOR: &str = "rejects_prior.csv";
/// Rejects of the current tape.
pub const REJECTS_CURRENT: &str = "rejects.csv";

/// The label of the all-investor block in rollforward.csv.
pub const ALL: &str = "ALL";

/// Flags of `msr rollforward`.
#[derive(Debug, Args)]
pub struct RollforwardArgs {
    /// Loan tape of the prior valuation date (Parquet, MODEL.md §B).
    #[arg(long, value_name = "FILE")]
    pub prior_loans: PathBuf,
    /// Configuration of the prior valuation date (TOML).
    #[arg(long, value_name = "FILE")]
    pub prior_config: PathBuf,
    /// The current tape (--loans) and configuration (--config).
    #[command(flatten)]
    pub input: InputArgs,
    /// Number of Hull–White paths of every valuation (default: the current
    /// config's valuation.num_paths).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub num_paths: Option<u32>,
    /// Random seed of the paths of every valuation (default: the current
    /// config's valuation.seed).
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Threads, OAS and progress.
    #[command(flatten)]
    pub run: RunArgs,
    /// Output directory.
    #[arg(long, value_name = "DIR", default_value = "out/rollforward")]
    pub out: PathBuf,
    /// Value the current date (runs 3 and 4) with each loan at its cohort's
    /// OAS from this table (cohort columns and `oas`, e.g. the
    /// oas_by_cohort.csv of `msr calibrate oas`) instead of the current
    /// config's valuation.oas: the market step then carries the change of
    /// spreads.
    #[arg(long, value_name = "FILE")]
    pub oas_table: Option<PathBuf>,
    /// Likewise for the prior date (runs 1 and 2).
    #[arg(long, value_name = "FILE")]
    pub prior_oas_table: Option<PathBuf>,
}

/// One tape read whole, with its rejects.
struct Tape {
    loans: Vec<Loan>,
    rejects: Vec<msr_core::Reject>,
    stats: TapeStats,
}

fn read(path: &Path, config: &Config) -> Result<Tape> {
    let (loans, rejects, stats) = msr_io::read_tape(path, &config.tape).map_err(input)?;
    // As for every command that values a tape: no rows is an input error
    // (an empty tape would roll forward as a whole book removed or added).
    if stats.rows_read == 0 {
        return Err(input(format!(
            "{}: the tape has no rows; nothing to value",
            path.display()
        )));
    }
    Ok(Tape {
        loans,
        rejects,
        stats,
    })
}

/// Progress over the four runs: one bar on a terminal, one line per run on
/// stderr otherwise, nothing when quiet.
struct Progress {
    bar: crate::common::Progress,
    /// Loans of each run, to place a run's progress on the whole bar.
    sizes: [u64; 4],
    last: usize,
    quiet: bool,
}

impl Progress {
    fn new(counts: &[usize; 4], quiet: bool) -> Progress {
        let sizes = counts.map(|n| n as u64);
        Progress {
            bar: progress(sizes.iter().sum(), "roll-forward", quiet),
            sizes,
            last: 0,
            quiet,
        }
    }

    fn update(&mut self, p: &RollforwardProgress) {
        let done = p.index.saturating_sub(1).min(self.sizes.len());
        let before: u64 = self.sizes[..done].iter().sum();
        self.bar.set_position(before + p.loans_done as u64);
        if p.index != self.last {
            self.last = p.index;
            if !self.quiet && !std::io::stderr().is_terminal() {
                eprintln!(
                    "valuation {} of {}: {} ({} loans)",
                    p.index,
                    p.runs,
                    p.run.describe(),
                    p.loans
                );
            }
        }
    }
}

/// Run `msr rollforward`.
///
/// # Errors
/// Input errors for a configuration or tape, output errors for the directory,
/// a data error (exit 5, outputs written) when a tape's rejects exceed its
/// `tape.max_reject_share` or a loan's value was not finite.
pub fn run(args: &RollforwardArgs) -> Result<ExitCode> {
    let started = SystemTime::now();
    let clock = Instant::now();
    let threads = init_threads(args.run.threads)?;
    let flags = PathArgs {
        num_paths: args.num_paths,
        seed: args.seed,
        ..PathArgs::default()
    };
    let prior_config = load_config(&args.prior_config, &flags)?;
    let config = load_config(&args.input.config, &flags)?;
    let prior = read(&args.prior_loans, &prior_config)?;
    let current = read(&args.input.loans, &config)?;
    let staging = Staging::create(&args.out)?
        .reading(&[
            args.prior_loans.as_path(),
            args.prior_config.as_path(),
            args.input.loans.as_path(),
            args.input.config.as_path(),
        ])
        .reading(
            &[&args.oas_table, &args.prior_oas_table]
                .into_iter()
                .filter_map(|t| t.as_deref())
                .collect::<Vec<_>>(),
        );
    for (name, tape) in [(REJECTS_PRIOR, &prior), (REJECTS_CURRENT, &current)] {
        msr_io::write_rejects(staging.path(name), &tape.rejects).map_err(output)?;
    }

    let v = &config.valuation;
    let num_paths = v.num_paths as usize;
    crate::common::check_path_memory(num_paths as u64, crate::common::BYTES_PER_PATH)?;
    let normals = NormalGenerator::from_config(v).normals(num_paths, MAX_MONTHS);
    let read_table = |p: &Option<PathBuf>| {
        p.as_deref()
            .map(|p| read_cohort_table(p, TableKind::Oas))
            .transpose()
    };
    let (current_spreads, prior_spreads) = (
        read_table(&args.oas_table)?,
        read_table(&args.prior_oas_table)?,
    );
    let inputs = RollforwardInputs {
        prior_loans: &prior.loans,
        current_loans: &current.loans,
        prior_config: &prior_config,
        current_config: &config,
        normals: &normals,
        months: MAX_MONTHS,
        units: msr_engine::SeUnits::of(v),
        prior_spreads: prior_spreads.as_ref(),
        current_spreads: current_spreads.as_ref(),
    };
    let continuing = count_continuing(&prior.loans, &current.loans);
    let mut bar = Progress::new(
        &[
            prior.loans.len(),
            continuing,
            continuing,
            current.loans.len(),
        ],
        args.run.quiet,
    );
    let setup_seconds = clock.elapsed().as_secs_f64();
    let engine_clock = Instant::now();
    let rf = rollforward(&inputs, &mut |p| bar.update(p)).map_err(input)?;
    bar.bar.finish_and_clear();
    let engine_seconds = engine_clock.elapsed().as_secs_f64();

    let investors = investors_present(&prior.loans, &current.loans);
    std::fs::write(staging.path("rollforward.csv"), csv(&rf, &investors)).map_err(|e| {
        output(format!(
            "{}: {e}",
            args.out.join("rollforward.csv").display()
        ))
    })?;
    let mut doc = document(&rf, &investors, &prior_config, &config)?;
    let table_ref = |path: &Option<PathBuf>| -> Result<Option<TableRef>> {
        path.as_ref()
            .map(|p| {
                Ok(TableRef {
                    path: p.clone(),
                    sha256: sha256(p)?,
                })
            })
            .transpose()
    };
    doc.oas_table = table_ref(&args.oas_table)?;
    doc.prior_oas_table = table_ref(&args.prior_oas_table)?;
    write_document(staging.path("rollforward.json"), &doc).map_err(output)?;
    let manifest = Manifest {
        args,
        prior: &prior,
        current: &current,
        prior_config: &prior_config,
        config: &config,
        rf: &rf,
        threads,
        started,
        timings: RollforwardTimings {
            setup_seconds,
            engine_seconds,
            wall_seconds: clock.elapsed().as_secs_f64(),
        },
    }
    .document()?;
    write_document(staging.path("manifest.json"), &manifest).map_err(output)?;
    staging.commit("manifest.json")?;

    if !args.run.quiet {
        print!("{}", table(&rf, &investors, &prior_config, &config));
        println!(
            "{} valuations on {} paths in {:.1} s; outputs in {}",
            RollforwardRun::ALL.len(),
            rf.num_paths,
            clock.elapsed().as_secs_f64(),
            args.out.display()
        );
        for nf in &rf.non_finite {
            eprintln!(
                "warning: loan {} counted as 0 in the valuation of {}: {}",
                msr_io::text::terminal_safe(&nf.loan.loan.loan_id),
                nf.run.describe(),
                nf.loan.reason()
            );
        }
    }
    data_checks(
        &args.out,
        &[
            (&args.prior_loans, &prior, &prior_config),
            (&args.input.loans, &current, &config),
        ],
        rf.non_finite.len(),
    )
}

/// Loans of `current` whose id is also in `prior` (for the progress bar; the
/// engine matches them again).
fn count_continuing(prior: &[Loan], current: &[Loan]) -> usize {
    let ids: std::collections::HashSet<&str> = prior.iter().map(|l| l.loan_id.as_str()).collect();
    current
        .iter()
        .filter(|l| ids.contains(l.loan_id.as_str()))
        .count()
}

/// Investors with a loan in either tape, in [`Investor::ALL`] order.
fn investors_present(prior: &[Loan], current: &[Loan]) -> Vec<Investor> {
    Investor::ALL
        .into_iter()
        .filter(|i| prior.iter().chain(current).any(|l| l.investor == *i))
        .collect()
}

fn steps(t: &RollforwardTable) -> Vec<RollStep> {
    Step::ALL
        .iter()
        .map(|&s| RollStep {
            name: s.name().to_string(),
            change: t.change(s),
        })
        .collect()
}

/// rollforward.json (the schema docs/rollforward.md documents; nothing else
/// goes in it — provenance is in manifest.json).
///
/// # Errors
/// Internal error when a valuation.as_of is not a date (validated before).
pub fn document(
    rf: &Rollforward,
    investors: &[Investor],
    prior_config: &Config,
    config: &Config,
) -> Result<docs::rollforward::Rollforward> {
    let n = &rf.loans;
    Ok(docs::rollforward::Rollforward {
        as_of_prior: crate::outputs::as_of(prior_config)?,
        as_of: crate::outputs::as_of(config)?,
        num_paths: rf.num_paths as u64,
        seed: config.valuation.seed,
        beginning_value: rf.total.beginning(),
        ending_value: rf.total.ending(),
        steps: steps(&rf.total),
        by_investor: investors
            .iter()
            .map(|i| {
                let t = &rf.by_investor[i.index()];
                let group = RollGroup {
                    beginning_value: t.beginning(),
                    ending_value: t.ending(),
                    steps: steps(t),
                };
                (i.code().to_string(), group)
            })
            .collect(),
        loans: Some(RollLoans {
            prior: n.prior as u64,
            current: n.current as u64,
            removed: n.removed as u64,
            added: n.added as u64,
            continuing: n.continuing as u64,
        }),
        oas_table: None,
        prior_oas_table: None,
    })
}

/// rollforward.csv: for the total (`ALL`) and then each investor, a
/// `beginning` row (step 0), the five steps (1–5) and an `ending` row (step 6,
/// whose change is the whole period's).
pub fn csv(rf: &Rollforward, investors: &[Investor]) -> Vec<u8> {
    let blocks = std::iter::once((ALL, &rf.total)).chain(
        investors
            .iter()
            .map(|i| (i.code(), &rf.by_investor[i.index()])),
    );
    let mut rows = Vec::new();
    for (name, t) in blocks {
        let row = |step: usize, what: &str, change: Option<f64>, level_after: f64| RollforwardRow {
            investor: name.to_string(),
            step: step as u64,
            name: what.to_string(),
            change,
            level_after,
        };
        rows.push(row(0, "beginning", None, t.beginning()));
        for (k, s) in Step::ALL.iter().enumerate() {
            rows.push(row(k + 1, s.name(), Some(t.change(*s)), t.level_after(*s)));
        }
        rows.push(row(
            Step::ALL.len() + 1,
            "ending",
            Some(t.period_change()),
            t.ending(),
        ));
    }
    docs::to_csv(&RollforwardRow::HEADER, &rows)
}

/// `-1,234,567.89`.
fn money(x: f64) -> String {
    let s = format!("{x:.2}");
    let (sign, digits) = match s.strip_prefix('-') {
        Some(d) if d != "0.00" => ("-", d),
        Some(d) => ("", d),
        None => ("", s.as_str()),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "00"));
    let mut grouped = String::new();
    for (k, c) in int.chars().enumerate() {
        if k > 0 && (int.len() - k) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}.{frac}")
}

/// The terminal table: one column for the total and one per investor.
pub fn table(
    rf: &Rollforward,
    investors: &[Investor],
    prior_config: &Config,
    config: &Config,
) -> String {
    let mut out = String::new();
    let n = &rf.loans;
    let _ = writeln!(
        out,
        "fair-value roll-forward {} -> {} ({} paths, seed {})",
        prior_config.valuation.as_of, config.valuation.as_of, rf.num_paths, config.valuation.seed
    );
    let _ = writeln!(
        out,
        "loans: {} prior, {} current ({} removed, {} added, {} continuing)",
        n.prior, n.current, n.removed, n.added, n.continuing
    );
    let tables: Vec<(&str, &RollforwardTable)> = std::iter::once((ALL, &rf.total))
        .chain(
            investors
                .iter()
                .map(|i| (i.code(), &rf.by_investor[i.index()])),
        )
        .collect();
    let row = |out: &mut String, label: &str, cells: Vec<String>| {
        let _ = write!(out, "{label:<24}");
        for c in cells {
            let _ = write!(out, "{c:>18}");
        }
        out.push('\n');
    };
    row(
        &mut out,
        "",
        tables.iter().map(|(name, _)| name.to_string()).collect(),
    );
    row(
        &mut out,
        "beginning value",
        tables.iter().map(|(_, t)| money(t.beginning())).collect(),
    );
    for s in Step::ALL {
        row(
            &mut out,
            &format!("  {}", s.name()),
            tables.iter().map(|(_, t)| money(t.change(s))).collect(),
        );
    }
    row(
        &mut out,
        "ending value",
        tables.iter().map(|(_, t)| money(t.ending())).collect(),
    );
    out
}

/// manifest.json: inputs with their hashes, the simulation, the resolved
/// configurations (prior, current and the market step's mixed one).
struct Manifest<'a> {
    args: &'a RollforwardArgs,
    prior: &'a Tape,
    current: &'a Tape,
    prior_config: &'a Config,
    config: &'a Config,
    rf: &'a Rollforward,
    threads: usize,
    started: SystemTime,
    timings: RollforwardTimings,
}

impl Manifest<'_> {
    fn document(&self) -> Result<RollforwardManifest> {
        let resolved =
            |c: &Config| serde_json::to_value(c).map_err(|e| CliError::new(Failure::Internal, e));
        let mixed = market_substituted(self.prior_config, self.config);
        let v = &self.config.valuation;
        let a = self.args;
        let tape = |path: &PathBuf, t: &Tape| -> Result<TapeFile> {
            Ok(TapeFile {
                path: path.clone(),
                sha256: sha256(path)?,
                rows: t.stats.rows_read,
                rejected: t.stats.rejected,
            })
        };
        let config_file = |path: &PathBuf| -> Result<InputFile> {
            Ok(InputFile {
                path: path.clone(),
                sha256: crate::common::config_sha256(path)?,
                rows: None,
            })
        };
        Ok(RollforwardManifest {
            engine: "msr-engine".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            command: std::env::args().collect(),
            started_at: timestamp(self.started),
            finished_at: timestamp(SystemTime::now()),
            inputs: docs::rollforward::RollforwardInputs {
                prior_loans: tape(&a.prior_loans, self.prior)?,
                prior_config: config_file(&a.prior_config)?,
                loans: tape(&a.input.loans, self.current)?,
                config: config_file(&a.input.config)?,
            },
            rate_paths: RollforwardPaths {
                source: "hull_white".into(),
                seed: v.seed,
                antithetic: v.antithetic,
                path_scheme: v
                    .path_scheme
                    .parse()
                    .map_err(|e| CliError::new(Failure::Internal, e))?,
                num_paths: self.rf.num_paths as u64,
                months: MAX_MONTHS as u64,
            },
            market: [
                "curve",
                "mortgage_rate",
                "hull_white",
                "valuation.oas",
                "valuation.as_of",
            ]
            .map(String::from)
            .to_vec(),
            non_finite: self
                .rf
                .non_finite
                .iter()
                .map(|nf| RollforwardNonFinite {
                    valuation: nf.run.describe().to_string(),
                    loan_id: nf.loan.loan.loan_id.clone(),
                    what: nf.loan.what.clone(),
                })
                .collect(),
            threads: self.threads as u64,
            timings: self.timings.clone(),
            resolved_config: ResolvedConfigs {
                prior: resolved(self.prior_config)?,
                current: resolved(self.config)?,
                market_step: resolved(&mixed)?,
            },
            outputs: Default::default(),
        })
    }
}

/// After the outputs are in place: exit 5 when a tape's rejects exceed its
/// configuration's `tape.max_reject_share` or a loan's value was not finite.
fn data_checks(
    out: &Path,
    tapes: &[(&PathBuf, &Tape, &Config)],
    non_finite: usize,
) -> Result<ExitCode> {
    let mut problems = Vec::new();
    for (path, tape, config) in tapes {
        let share = tape.stats.reject_share();
        if share > config.tape.max_reject_share {
            problems.push(format!(
                "{}: {} of {} rows rejected ({:.2} %, above tape.max_reject_share {:.2} %)",
                path.display(),
                tape.stats.rejected,
                tape.stats.rows_read,
                100.0 * share,
                100.0 * config.tape.max_reject_share
            ));
        }
    }
    if non_finite > 0 {
        problems.push(format!(
            "{non_finite} loan valuations were not finite and counted as 0 (listed in manifest.json)"
        ));
    }
    if problems.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    Err(CliError::new(
        Failure::Data,
        format!(
            "{}; outputs written to {}, see {REJECTS_PRIOR} and {REJECTS_CURRENT}",
            problems.join("; "),
            out.display()
        ),
    ))
}
