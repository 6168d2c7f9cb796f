//! The native half of the `msr_engine` Python package.
//!
//! One function, [`run`]: it parses a command line with the `msr` binary's
//! own definitions ([`msr_jobs::Command`]) into the same typed argument
//! structs and calls the same job, so the files it writes are the CLI's bit
//! for bit. The Python half (msr_engine/__init__.py) builds the command line
//! from typed keyword arguments, points `--out` at a directory and reads the
//! files back as Arrow tables and dicts.
//!
//! While the job runs the GIL is released; the calling thread wakes every
//! 100 ms to let Python handle signals, and on Ctrl-C asks the job to stop
//! ([`msr_jobs::common::request_cancel`]): the job unwinds at its next
//! progress report, its staging directory is removed and nothing is
//! committed, then `KeyboardInterrupt` is raised. A panic never crosses into
//! Python: it comes back as exit class 1 with its message.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Mutex, TryLockError};
use std::time::Duration;

use clap::Parser;
use msr_jobs::common::{check_cancelled, clear_cancel, request_cancel, Cancelled, MAX_THREADS};
use msr_jobs::exit::{failure_of, install_panic_hook, one_line, panic_message, Failure};
use msr_jobs::Command;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// The command line, as the binary parses it.
#[derive(Debug, Parser)]
#[command(name = "msr")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Exit class of a cancelled job (128 + SIGINT, as a shell reports it).
const CANCELLED: u8 = 130;

/// One job at a time in a process: the cancellation flag and the global
/// thread pool are the process's, so a second call (from another Python
/// thread) waits for the first to finish — a Ctrl-C stops only the job it
/// was meant for. Each job uses every core it is given anyway.
static ONE_JOB: Mutex<()> = Mutex::new(());

/// Stack of the job thread: as the binary's main thread.
const JOB_STACK_BYTES: usize = 8 << 20;

/// Run one `msr` command (`argv` without the program name) and return its
/// exit class and one-line message: 0 and "" on success, else the codes of
/// docs/errors.md (2 usage, 3 input, 4 output, 5 completed but needs
/// attention, 6 unreachable, 1 internal). With `threads`, the job runs in
/// its own pool of that many threads (results do not depend on it).
///
/// Raises `KeyboardInterrupt` (after the job has stopped and cleaned up)
/// when Ctrl-C arrives while it runs. Calls from several Python threads run
/// one after another ([`ONE_JOB`]).
#[pyfunction]
#[pyo3(signature = (argv, threads=None))]
fn run(py: Python<'_>, argv: Vec<String>, threads: Option<usize>) -> PyResult<(u8, String)> {
    if let Some(n) = threads {
        if n == 0 || n > MAX_THREADS {
            return Err(PyValueError::new_err(format!(
                "threads must be 1..={MAX_THREADS}, got {n}"
            )));
        }
    }
    let cli = match Cli::try_parse_from(std::iter::once("msr".to_string()).chain(argv)) {
        Ok(cli) => cli,
        Err(e) => return Ok((Failure::Usage as u8, one_line(&anyhow::anyhow!("{e}")))),
    };
    // Wait for our turn with the GIL released, still answering Ctrl-C.
    let _turn = loop {
        match ONE_JOB.try_lock() {
            Ok(turn) => break turn,
            Err(TryLockError::Poisoned(p)) => break p.into_inner(),
            Err(TryLockError::WouldBlock) => {
                py.detach(|| std::thread::sleep(Duration::from_millis(20)));
                py.check_signals()?;
            }
        }
    };
    clear_cancel();
    let (tx, rx) = mpsc::channel();
    // Waited on with the GIL released, which wants a `Sync` borrow.
    let rx = Mutex::new(rx);
    let job = std::thread::Builder::new()
        .name("msr-job".into())
        .stack_size(JOB_STACK_BYTES)
        .spawn(move || {
            let outcome = catch_unwind(AssertUnwindSafe(|| in_pool(threads, &cli.command)));
            let _ = tx.send(classify(outcome));
        })
        .map_err(|e| PyValueError::new_err(format!("cannot start the job thread: {e}")))?;
    loop {
        match py.detach(|| recv(&rx, Some(Duration::from_millis(100)))) {
            Ok(result) => {
                let _ = job.join();
                return Ok(result);
            }
            Err(RecvTimeoutError::Timeout) => {
                if let Err(interrupt) = py.check_signals() {
                    request_cancel();
                    py.detach(|| {
                        let _ = recv(&rx, None);
                        let _ = job.join();
                    });
                    clear_cancel();
                    return Err(interrupt);
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                let _ = job.join();
                return Ok((
                    Failure::Internal as u8,
                    "internal error (please report): the job ended without a result".into(),
                ));
            }
        }
    }
}

/// The job's result, waiting at most `timeout` (or until it ends).
fn recv(
    rx: &Mutex<mpsc::Receiver<(u8, String)>>,
    timeout: Option<Duration>,
) -> Result<(u8, String), RecvTimeoutError> {
    let rx = rx.lock().map_err(|_| RecvTimeoutError::Disconnected)?;
    match timeout {
        Some(t) => rx.recv_timeout(t),
        None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
    }
}

/// Run the command in a pool of `threads` threads, or the global pool.
fn in_pool(threads: Option<usize>, command: &Command) -> anyhow::Result<()> {
    check_cancelled();
    match threads {
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map_err(|e| anyhow::anyhow!("cannot start {n} threads: {e}"))?
            .install(|| command.run().map(drop)),
        None => command.run().map(drop),
    }
}

/// The exit class and message of a job's outcome.
fn classify(outcome: std::thread::Result<anyhow::Result<()>>) -> (u8, String) {
    match outcome {
        Ok(Ok(())) => (0, String::new()),
        Ok(Err(err)) => (failure_of(&err) as u8, one_line(&err)),
        Err(payload) if payload.is::<Cancelled>() => (CANCELLED, "cancelled".into()),
        Err(payload) => (Failure::Internal as u8, panic_message(payload.as_ref())),
    }
}

/// The engine's version (the `msr` binary's).
#[pyfunction]
fn engine_version() -> &'static str {
    msr_jobs::VERSION
}

/// The native module `msr_engine._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    install_panic_hook();
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(engine_version, m)?)?;
    m.add("CANCELLED", CANCELLED)?;
    Ok(())
}
