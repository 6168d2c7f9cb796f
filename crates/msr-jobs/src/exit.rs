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

/// The exit code for an error.
pub fn code_of(err: &anyhow::Error) -> ExitCode {
    let failure = err
        .chain()
        .find_map(|e| e.downcast_ref::<CliError>())
        .map(|e| e.failure)
        .unwrap_or(Failure::Internal);
    ExitCode::from(failure as u8)
}

/// The error as one line: every cause joined with ": ".
pub fn one_line(err: &anyhow::Error) -> String {
    format!("{err:#}").replace('\n', " ")
}
