//! The jobs of `msr`, as a library: each command's typed arguments in, its
//! outputs written (staged, locked, with a manifest) and a typed status out.
//!
//! The `msr` binary (crates/msr-cli) only parses flags into these argument
//! structs, calls [`cmd`]'s `run` functions and turns the result into an exit
//! code; the Python package (python/) calls the same functions, so both give
//! the same bytes. Errors carry their class ([`exit::Failure`]) in an
//! [`exit::CliError`] inside the `anyhow::Error`, and their message is one
//! line.
//!
//! The argument structs derive `clap::Args` so the binary can parse them,
//! but they are plain structs with public fields: a caller builds them
//! directly.

/// The engine version, as `msr --version` prints it and manifests record.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub mod cmd;
pub mod common;
pub mod exit;
pub mod outputs;
pub mod shard;
pub mod spreads;

use std::process::ExitCode;

use clap::Subcommand;

/// The commands of `msr`, parsed by the binary or built by a caller.
#[derive(Debug, Subcommand)]
pub enum Command {
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
    /// volatilities (docs/calibration-market.md); cohort OAS; the behaviour
    /// to loan-level history (docs/calibration.md).
    Calibrate(cmd::calibrate::CalibrateArgs),
    /// The ASC 820 Level 3 disclosure: fair value, weighted-average key
    /// inputs with ranges, and the change in fair value under 10 % and 20 %
    /// adverse changes, total and by group (docs/accounting.md).
    Disclose(cmd::disclose::DiscloseArgs),
    /// ASC 860-50 amortization method: each stratum's carrying amount
    /// amortized in proportion to projected net servicing income, and the
    /// impairment test against fair value (docs/accounting.md).
    Amortize(cmd::amortize::AmortizeArgs),
    /// Build a loan-month panel for `msr calibrate behaviour`: simulated
    /// from MODEL.md §D (docs/calibration.md).
    History(cmd::history::HistoryArgs),
}

impl Command {
    /// Run the command: its outputs written, or an error with its class.
    ///
    /// # Errors
    /// The command's error, one line, its class in an [`exit::CliError`].
    pub fn run(&self) -> anyhow::Result<ExitCode> {
        match self {
            Command::Value(args) => cmd::value::run(args),
            Command::Validate(args) => cmd::validate::run(args),
            Command::Generate(args) => cmd::generate::run(args),
            Command::Paths(args) => cmd::paths::run(args),
            Command::Import(args) => cmd::import::run(args),
            Command::Merge(args) => cmd::merge::run(args),
            Command::Report(args) => cmd::report::run(args),
            Command::Repline(args) => cmd::repline::run(args),
            Command::Notes(args) => cmd::notes::run(args),
            Command::Oas(args) => cmd::oas::run(args),
            Command::Risk(args) => cmd::risk::run(args),
            Command::Rollforward(args) => cmd::rollforward::run(args),
            Command::Config(args) => cmd::config::run(args),
            Command::Calibrate(args) => cmd::calibrate::run(args),
            Command::Disclose(args) => cmd::disclose::run(args),
            Command::Amortize(args) => cmd::amortize::run(args),
            Command::History(args) => cmd::history::run(args),
        }
    }
}
