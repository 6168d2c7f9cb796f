//! `msr history`: loan-month panels for `msr calibrate behaviour`
//! (docs/calibration.md) — from Freddie Mac's or Fannie Mae's loan-level
//! files (the layouts, mapping and sentinels of `msr import`, streamed), or
//! simulated from MODEL.md §D with known parameters.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use msr_fit::{simulate, SimSpec};
use msr_io::import::{
    history_fannie, history_freddie, HistoryReport, ImportError, ImportOptions, Input, YearMonth,
};

use crate::cmd::behaviour::{write_panel, write_rates};
use crate::common::{load_config, progress, PathArgs, BUILTIN_CONFIG};
use crate::exit::{input, output, CliError, Failure};

/// Flags of `msr history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Where the history comes from.
    #[command(subcommand)]
    pub what: HistoryCommand,
}

/// Where the history comes from.
#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// Simulate a loan-month panel and its rate history from MODEL.md §D with
    /// the configuration's parameters (the truth a fit should recover).
    Simulate(SimulateArgs),
    /// Freddie Mac Single-Family Loan-Level Dataset: origination and monthly
    /// performance files → a loan-month panel.
    Freddie(FreddieArgs),
    /// Fannie Mae Single-Family Loan Performance Data: a performance file →
    /// a loan-month panel.
    Fannie(FannieArgs),
}

/// Flags shared by `msr history freddie` and `msr history fannie`.
#[derive(Debug, Args)]
pub struct GseHistoryArgs {
    /// Credit score for loans whose score is not available (default: such
    /// months are left out, counted).
    #[arg(long, value_name = "N")]
    pub missing_fico: Option<i32>,
    /// Current LTV (percent) for loans with no LTV to estimate from.
    #[arg(long, value_name = "X")]
    pub missing_ltv: Option<f64>,
    /// The panel (Parquet).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// No progress bar or summary.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Flags of `msr history freddie`.
#[derive(Debug, Args)]
pub struct FreddieArgs {
    /// Origination file (e.g. sample_orig_2023.txt).
    #[arg(long, value_name = "FILE")]
    pub origination: PathBuf,
    /// Monthly performance file (e.g. sample_svcg_2023.txt).
    #[arg(long, value_name = "FILE")]
    pub performance: PathBuf,
    /// Options and output.
    #[command(flatten)]
    pub gse: GseHistoryArgs,
}

/// Flags of `msr history fannie`.
#[derive(Debug, Args)]
pub struct FannieArgs {
    /// Performance file (e.g. 2023Q1.csv).
    #[arg(long, value_name = "FILE")]
    pub performance: PathBuf,
    /// Options and output.
    #[command(flatten)]
    pub gse: GseHistoryArgs,
}

/// Flags of `msr history simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Loans to simulate.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub loans: usize,
    /// First observed month (YYYYMM).
    #[arg(long, value_name = "YYYYMM", default_value_t = 201801)]
    pub first_period: i64,
    /// Observed months.
    #[arg(long, value_name = "N", default_value_t = 60)]
    pub months: i32,
    /// Loans start paying up to this many months before the first observed one.
    #[arg(long, value_name = "N", default_value_t = 48)]
    pub seasoning: i32,
    /// Random seed.
    #[arg(long, default_value_t = 23)]
    pub seed: u64,
    /// Configuration whose §D parameters are the truth.
    #[arg(long, value_name = "FILE", default_value = BUILTIN_CONFIG)]
    pub config: PathBuf,
    /// The panel (Parquet).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// The rate history (CSV: period,mortgage_rate).
    #[arg(long, value_name = "FILE")]
    pub rates_out: PathBuf,
    /// No summary on the terminal.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Run `msr history`.
///
/// # Errors
/// As the subcommand.
pub fn run(args: &HistoryArgs) -> Result<ExitCode> {
    match &args.what {
        HistoryCommand::Simulate(a) => run_simulate(a),
        HistoryCommand::Freddie(a) => run_gse(
            &a.gse,
            &[a.origination.as_path(), a.performance.as_path()],
            "Freddie Mac",
            |out, options, bar| {
                history_freddie(
                    Input::open(&a.origination)?,
                    Input::open(&a.performance)?,
                    out,
                    options,
                    bar,
                )
            },
        ),
        HistoryCommand::Fannie(a) => run_gse(
            &a.gse,
            &[a.performance.as_path()],
            "Fannie Mae",
            |out, options, bar| history_fannie(Input::open(&a.performance)?, out, options, bar),
        ),
    }
}

fn run_gse(
    args: &GseHistoryArgs,
    inputs: &[&Path],
    what: &str,
    build: impl FnOnce(&Path, &ImportOptions, &mut dyn FnMut(u64)) -> Result<HistoryReport, ImportError>,
) -> Result<ExitCode> {
    crate::common::refuse_output_over_input(inputs, &[args.out.as_path()])?;
    let mut options = ImportOptions::new(YearMonth {
        year: 2000,
        month: 1,
    });
    options.missing_fico = args.missing_fico;
    options.missing_ltv = args.missing_ltv;
    let mut total = 0;
    for path in inputs {
        total += std::fs::metadata(path)
            .map_err(|e| input(format!("{}: cannot open: {e}", path.display())))?
            .len();
    }
    let bar = progress(total, "history (bytes)", args.quiet);
    let result = build(&args.out, &options, &mut |bytes| bar.set_position(bytes));
    bar.finish_and_clear();
    let report = result.map_err(|e| match &e {
        ImportError::Io(io) if io.file() == args.out.as_path() => output(e),
        ImportError::Options(_) => CliError::new(Failure::Usage, e),
        _ => input(e),
    })?;
    if !args.quiet {
        println!(
            "{what}: {} records of {} loans → {} panel rows in {}",
            report.records_read,
            report.loans,
            report.rows_written,
            args.out.display()
        );
        for (next, n) in &report.by_next {
            println!("  next_status {next}: {n}");
        }
        for (why, n) in &report.not_written {
            println!("  not written: {why}: {n}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Run `msr history simulate`.
///
/// # Errors
/// Usage errors for bad sizes; input errors for the configuration; output errors.
pub fn run_simulate(args: &SimulateArgs) -> Result<ExitCode> {
    if args.loans == 0
        || args.months < 2
        || args.seasoning < 1
        || args.months > 600
        || args.seasoning > 600
    {
        return Err(CliError::new(
            Failure::Usage,
            "--loans must be ≥ 1, --months 2..=600 and --seasoning 1..=600",
        ));
    }
    let config = load_config(&args.config, &PathArgs::default())?;
    let truth = msr_fit::model::values_of(&config);
    let sim = simulate(
        &config,
        &truth,
        &SimSpec {
            loans: args.loans,
            first_period: args.first_period,
            months: args.months,
            seasoning: args.seasoning,
            seed: args.seed,
        },
    )
    .map_err(|e| CliError::new(Failure::Usage, format!("--first-period: {e}")))?;
    write_panel(&args.out, &sim.panel)?;
    write_rates(&args.rates_out, &sim.rates)?;
    if !args.quiet {
        println!(
            "simulated {} loan-months of {} loans into {}; rates in {}",
            sim.panel.rows.len(),
            args.loans,
            args.out.display(),
            args.rates_out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
