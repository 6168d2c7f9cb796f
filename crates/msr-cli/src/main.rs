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
    match std::panic::catch_unwind(|| cli.command.run()) {
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
