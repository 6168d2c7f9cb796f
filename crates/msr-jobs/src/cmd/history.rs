//! `msr history`: loan-month panels for `msr calibrate behaviour`
//! (docs/calibration.md) — simulated from MODEL.md §D with known
//! parameters.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use msr_fit::{simulate, SimSpec};

use crate::cmd::behaviour::{write_panel, write_rates};
use crate::common::{load_config, PathArgs, BUILTIN_CONFIG};
use crate::exit::{CliError, Failure};

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
    }
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
