//! `msr`: loan-level valuation of mortgage servicing rights.
//!
//! The binary is glue: it parses arguments, loads inputs through `msr-io`,
//! runs `msr-engine` and writes outputs. See `msr --help` and README.md.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;
mod common;
mod exit;
mod outputs;
mod report;
mod shard;
mod spreads;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Loan-level valuation of mortgage servicing rights (MSRs): every loan on every
/// interest-rate path, per MODEL.md.
#[derive(Debug, Parser)]
#[command(name = "msr", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Value a loan tape on every rate path (the nightly job). With no
    /// arguments, values the bundled sample into out/.
    Value(cmd::value::ValueArgs),
    /// Check a loan tape against the tape rules; print counts and the first
    /// rejects and write the rejects file.
    Validate(cmd::validate::ValidateArgs),
    /// Generate a realistic synthetic loan tape.
    Generate(cmd::generate::GenerateArgs),
    /// Export the rate paths the engine would use (or the static path).
    Paths(cmd::paths::PathsArgs),
    /// Import Freddie Mac or Fannie Mae loan-level data, or a servicer's CSV
    /// tape, as a loan tape (docs/import.md).
    Import(cmd::import::ImportArgs),
    /// Build rep lines from a tape, value them and the loans on the same
    /// paths, and show what the rep lines miss (docs/replines.md).
    Repline(cmd::repline::ReplineArgs),
    /// Price whole-loan notes by outcome probabilities (MODEL.md §H): a bid
    /// from the probability, cash flows and required ROI of each outcome.
    Notes(cmd::notes::NotesArgs),
    /// Solve the OAS at which the portfolio is worth a target value, bp or
    /// multiple, from the CF[p,t] matrix without re-running loans.
    Oas(cmd::oas::OasArgs),
    /// Risk: effective duration and convexity, key-rate durations, a rate-shock
    /// grid, assumption stresses, static value and option cost (docs/risk.md).
    Risk(cmd::risk::RiskArgs),
    /// Combine the partial results of `msr value --shard K/N` into exactly the
    /// outputs of an unsharded run (docs/cluster.md).
    Merge(cmd::merge::MergeArgs),
    /// Turn a run's outputs (and any risk, rep-line and roll-forward
    /// outputs) into one self-contained report.html (docs/report.md).
    Report(cmd::report::ReportArgs),
    /// Explain the change in fair value between two valuation dates: loans
    /// removed and added, runoff, market, assumptions (docs/rollforward.md).
    Rollforward(cmd::rollforward::RollforwardArgs),
    /// Print the configuration msr uses: the built-in defaults (`--defaults`,
    /// what every `--config` defaults to) or a file resolved.
    Config(cmd::config::ConfigArgs),
    /// Calibrate to the market: Hull–White a and sigma to swaption
    /// volatilities (docs/calibration-market.md).
    Calibrate(cmd::calibrate::CalibrateArgs),
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Value(args) => cmd::value::run(&args),
        Command::Validate(args) => cmd::validate::run(&args),
        Command::Generate(args) => cmd::generate::run(&args),
        Command::Paths(args) => cmd::paths::run(&args),
        Command::Import(args) => cmd::import::run(&args),
        Command::Merge(args) => cmd::merge::run(&args),
        Command::Report(args) => cmd::report::run(&args),
        Command::Repline(args) => cmd::repline::run(&args),
        Command::Notes(args) => cmd::notes::run(&args),
        Command::Oas(args) => cmd::oas::run(&args),
        Command::Risk(args) => cmd::risk::run(&args),
        Command::Rollforward(args) => cmd::rollforward::run(&args),
        Command::Config(args) => cmd::config::run(&args),
        Command::Calibrate(args) => cmd::calibrate::run(&args),
    }
}

/// Where the last panic happened (`file:line:column`), kept by the panic hook.
static PANIC_LOCATION: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    // Panics are bugs: report them as one line with exit code 1, not a
    // backtrace. (msr-io catches the parquet crate's panics on corrupt files
    // and turns them into input errors; the quiet hook keeps those silent.)
    // The hook prints nothing but keeps where the panic happened, for the
    // one-line report below (a bug report needs the location).
    std::panic::set_hook(Box::new(|info| {
        if let Some(loc) = info.location() {
            if let Ok(mut last) = PANIC_LOCATION.lock() {
                *last = Some(format!("{}:{}:{}", loc.file(), loc.line(), loc.column()));
            }
        }
    }));
    match std::panic::catch_unwind(|| run(cli)) {
        Ok(Ok(code)) => code,
        Ok(Err(err)) => {
            eprintln!("error: {}", exit::one_line(&err));
            exit::code_of(&err)
        }
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".to_string());
            let at = PANIC_LOCATION
                .lock()
                .ok()
                .and_then(|mut l| l.take())
                .map(|l| format!(" at {l}"))
                .unwrap_or_default();
            eprintln!(
                "error: internal error (please report): {}{at}",
                exit::one_line(&anyhow::anyhow!(msg))
            );
            ExitCode::from(exit::Failure::Internal as u8)
        }
    }
}
