//! Exit codes and the one-line error type of the `msr` binary.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | internal error (a bug: please report it) |
//! | 2 | command-line usage error (unknown flag, a value of the wrong type or out of its range) |
//! | 3 | bad input: a tape, config, path or note file that cannot be used |
//! | 4 | an output cannot be written (permissions, read-only, full disk, or the path is a FIFO, device, link or directory) |
//! | 5 | completed and outputs written, but the data needs attention: rejected rows above the configured share, or loans whose valuation was not finite or too large to sum exactly |
//! | 6 | a request that cannot be met (e.g. an OAS target no spread reaches) |
//!
//! docs/errors.md lists them with examples.

use std::fmt;
use std::process::ExitCode;

/// The class of a failure, which fixes the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Unexpected: a bug.
    Internal = 1,
    /// Bad command-line usage.
    Usage = 2,
    /// An input file or the configuration cannot be used.
    Input = 3,
    /// An output cannot be written.
    Output = 4,
    /// The run completed but the data needs attention.
    Data = 5,
    /// The request cannot be met.
    Unreachable = 6,
}

/// An error with its exit class; its message is one line.
#[derive(Debug)]
pub struct CliError {
    /// The class.
    pub failure: Failure,
    /// The message.
    pub message: String,
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

impl CliError {
    /// Build an error of a class (as `anyhow::Error`, ready for `?`).
    #[allow(clippy::new_ret_no_self)]
    pub fn new(failure: Failure, message: impl fmt::Display) -> anyhow::Error {
        anyhow::Error::new(CliError {
            failure,
            message: message.to_string(),
        })
    }
}

/// Tag an error as bad input.
pub fn input(e: impl fmt::Display) -> anyhow::Error {
    CliError::new(Failure::Input, e)
}

/// Tag an error as an output failure.
pub fn output(e: impl fmt::Display) -> anyhow::Error {
    CliError::new(Failure::Output, e)
}

/// The class of an error: the first [`CliError`] in its chain, else
/// [`Failure::Internal`].
pub fn failure_of(err: &anyhow::Error) -> Failure {
    err.chain()
        .find_map(|e| e.downcast_ref::<CliError>())
        .map(|e| e.failure)
        .unwrap_or(Failure::Internal)
}

/// The exit code for an error.
pub fn code_of(err: &anyhow::Error) -> ExitCode {
    ExitCode::from(failure_of(err) as u8)
}

/// Where the last panic happened (`file:line:column`), kept by the hook of
/// [`install_panic_hook`].
static PANIC_LOCATION: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Replace the panic hook by one that prints nothing and keeps where the
/// panic happened, for [`panic_message`]: a panic is a bug, reported as one
/// line (a bug report needs the location), not a backtrace. msr-io catches
/// the parquet crate's panics on corrupt files and turns them into input
/// errors; the quiet hook keeps those silent too, and a cancelled job
/// ([`crate::common::Cancelled`]) unwinds silently.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        if let Some(loc) = info.location() {
            if let Ok(mut last) = PANIC_LOCATION.lock() {
                *last = Some(format!("{}:{}:{}", loc.file(), loc.line(), loc.column()));
            }
        }
    }));
}

/// The one-line report of a caught panic: its message and, when the hook of
/// [`install_panic_hook`] saw it, where it happened.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
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
    format!(
        "internal error (please report): {}{at}",
        one_line(&anyhow::anyhow!(msg))
    )
}

/// The error as one line: every cause joined with ": ".
pub fn one_line(err: &anyhow::Error) -> String {
    format!("{err:#}").replace('\n', " ")
}
