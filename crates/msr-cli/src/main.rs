//! `msr`: loan-level valuation of mortgage servicing rights.
//!
//! The binary is glue: it parses flags into the argument structs of
//! `msr-jobs`, calls the job and turns its result into an exit code and one
//! line on stderr. See `msr --help` and README.md.

use std::process::ExitCode;

use clap::Parser;
use msr_jobs::{exit, Command};

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

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    // Panics are bugs: reported as one line with exit code 1 and where
    // they happened, not a backtrace.
    exit::install_panic_hook();
    match std::panic::catch_unwind(|| cli.command.run()) {
        Ok(Ok(code)) => code,
        Ok(Err(err)) => {
            eprintln!("error: {}", exit::one_line(&err));
            exit::code_of(&err)
        }
        Err(payload) => {
            eprintln!("error: {}", exit::panic_message(payload.as_ref()));
            ExitCode::from(exit::Failure::Internal as u8)
        }
    }
}
