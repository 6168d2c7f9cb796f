//! Shared plumbing of the subcommands: input flags, configuration loading with
//! command-line overrides, rate-path resolution, the thread pool, progress
//! bars and the staged output directory.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use msr_core::Config;
use msr_engine::SeUnits;
use msr_rates::{NormalGenerator, Normals, PathSet, RateModel};

use crate::exit::{input, output, CliError, Failure};

/// Longest projection: paths are generated for this many months.
pub const MAX_MONTHS: usize = msr_model::params::MAX_MONTHS;

/// `--config` value that selects the built-in defaults (MODEL.md §I, the
/// values configs/default.toml spells out), and the default of every
/// `--config`: msr runs from any directory without a configuration file.
pub const BUILTIN_CONFIG: &str = "built-in";

/// The bundled sample tape, the default `--loans` (from the repository root).
pub const SAMPLE_LOANS: &str = "data/sample_loans.parquet";

/// The loan tape and configuration.
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// Loan tape (Parquet, MODEL.md §B); the default is the bundled sample,
    /// found from the repository root.
    #[arg(long, value_name = "FILE", default_value = SAMPLE_LOANS)]
    pub loans: PathBuf,
    /// Configuration (TOML); keys it omits take the MODEL.md §I defaults.
    /// `built-in` (the default): those defaults, no file (`msr config
    /// --defaults` prints them).
    #[arg(long, value_name = "FILE", default_value = BUILTIN_CONFIG)]
    pub config: PathBuf,
}

/// Refuse, with a message that says what to pass, a default input file
/// (`default`) that is not where it is looked for: run outside the
/// repository, the bundled sample is not there.
///
/// # Errors
/// Usage error naming the flag.
pub fn check_default_input(path: &Path, default: &str, flag: &str) -> Result<()> {
    if path == Path::new(default) && !path.exists() {
        return Err(CliError::new(
            Failure::Usage,
            format!(
                "no {flag} given, and the bundled sample {default} is not in this directory \
                 (it is in the repository); pass {flag} FILE"
            ),
        ));
    }
    Ok(())
}

/// The SHA-256 of a configuration: of the file, or for [`BUILTIN_CONFIG`]
/// of the built-in defaults written as TOML.
///
/// # Errors
/// Input error for an unreadable file.
pub fn config_sha256(path: &Path) -> Result<String> {
    if path == Path::new(BUILTIN_CONFIG) {
        Ok(msr_io::hash::sha256_bytes(
            Config::default().to_toml_string().as_bytes(),
        ))
    } else {
        sha256(path)
    }
}

impl InputArgs {
    /// The files a run reads: the tape, the configuration and a path file.
    pub fn files<'a>(&'a self, paths: &'a PathArgs) -> Vec<&'a Path> {
        let mut files = vec![self.loans.as_path(), self.config.as_path()];
        files.extend(paths.rate_paths.as_deref());
        files
    }
}

/// Where the rate paths come from, and the spread.
#[derive(Debug, Clone, Args, Default)]
pub struct PathArgs {
    /// Use the rate paths in this file (MODEL.md §C.5) instead of generating them.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["num_paths", "seed", "path_scheme"])]
    pub rate_paths: Option<PathBuf>,
    /// Number of Hull–White paths to generate, 1..=1000000 (overrides valuation.num_paths).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub num_paths: Option<u32>,
    /// Random seed of the path generator (overrides valuation.seed).
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// How the shocks are drawn: pseudo, sobol (scrambled Sobol + Brownian
    /// bridge) or sobol-pca (+ principal components); overrides
    /// valuation.path_scheme; docs/qmc.md.
    #[arg(long, value_name = "SCHEME", value_parser = ["pseudo", "sobol", "sobol-pca"])]
    pub path_scheme: Option<String>,
    /// Option-adjusted spread, annual decimal (overrides valuation.oas).
    #[arg(long, value_name = "X", allow_hyphen_values = true)]
    pub oas: Option<f64>,
}

/// Execution flags.
#[derive(Debug, Clone, Args, Default)]
pub struct RunArgs {
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// No progress bar or summary on the terminal.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Read and validate a configuration file (or take the built-in defaults,
/// [`BUILTIN_CONFIG`]), then apply command-line overrides.
///
/// # Errors
/// Input errors naming the file and the key.
pub fn load_config(path: &Path, flags: &PathArgs) -> Result<Config> {
    let mut config = if path == Path::new(BUILTIN_CONFIG) {
        Config::default()
    } else {
        // Bounded: a path naming an endless source fails at once.
        let text =
            msr_io::read_text_bounded(path, msr_io::MAX_TEXT_FILE_BYTES, "configuration file")
                .map_err(|e| match e {
                    msr_io::IoError::Io { source, .. } => {
                        input(format!("{}: cannot read config: {source}", path.display()))
                    }
                    other => input(other),
                })?;
        Config::from_toml_str(&text).map_err(|e| input(format!("{}: {e}", path.display())))?
    };
    if let Some(n) = flags.num_paths {
        config.valuation.num_paths = n;
    }
    if let Some(s) = flags.seed {
        config.valuation.seed = s;
    }
    if let Some(scheme) = &flags.path_scheme {
        config.valuation.path_scheme.clone_from(scheme);
    }
    if let Some(x) = flags.oas {
        config.valuation.oas = x;
    }
    config
        .validate()
        .map_err(|e| input(format!("command line: {e}")))?;
    Ok(config)
}

/// Where a run's paths came from.
#[derive(Debug, Clone)]
pub enum PathSource {
    /// Generated by the Hull–White model.
    Generated {
        /// Seed.
        seed: u64,
        /// Antithetic pairs.
        antithetic: bool,
    },
    /// Read from a file.
    File {
        /// The file.
        path: PathBuf,
    },
}

/// Resolved market data for a run.
#[derive(Debug)]
pub struct Rates {
    /// The curve, Hull–White model and mortgage spread.
    pub model: RateModel,
    /// Normals behind generated paths (for common-random-number shocks).
    pub normals: Option<Normals>,
    /// The paths valued.
    pub paths: PathSet,
    /// Provenance.
    pub source: PathSource,
    /// Whether the paths come in antithetic pairs.
    pub antithetic: bool,
    /// The independent units of the standard errors: scrambles
    /// (`valuation.scrambles`), else pairs or paths.
    pub units: SeUnits,
}

/// The standard-error units of a partial's manifest: its scrambles when
/// above 1, else pairs or paths.
pub fn units_of(antithetic: bool, scrambles: u32) -> SeUnits {
    if scrambles > 1 {
        SeUnits::Scrambles(scrambles as usize)
    } else {
        SeUnits::from(antithetic)
    }
}

/// The scrambles a partial's manifest records for these units (1 without).
pub fn scrambles_of(units: SeUnits) -> u32 {
    match units {
        SeUnits::Scrambles(r) => r as u32,
        _ => 1,
    }
}

/// Generate or read the rate paths of a run.
///
/// # Errors
/// Input errors for a bad curve or an unusable path file.
pub fn resolve_rates(config: &Config, flags: &PathArgs) -> Result<Rates> {
    let model = RateModel::from_config(&config.curve, &config.hull_white, &config.mortgage_rate)
        .map_err(|e| input(format!("config: {e}")))?;
    match &flags.rate_paths {
        Some(path) => {
            let paths = msr_io::read_path_file(path, None).map_err(input)?;
            Ok(Rates {
                model,
                normals: None,
                paths,
                source: PathSource::File { path: path.clone() },
                antithetic: config.valuation.antithetic,
                units: SeUnits::of(&config.valuation),
            })
        }
        None => {
            let v = &config.valuation;
            check_path_memory(u64::from(v.num_paths), BYTES_PER_PATH)?;
            let normals = NormalGenerator::from_config(v).normals(v.num_paths as usize, MAX_MONTHS);
            let paths = model.paths(&normals, MAX_MONTHS);
            Ok(Rates {
                model,
                normals: Some(normals),
                paths,
                source: PathSource::Generated {
                    seed: v.seed,
                    antithetic: v.antithetic,
                },
                antithetic: v.antithetic,
                units: SeUnits::of(v),
            })
        }
    }
}

/// Most worker threads a run may ask for. Results do not depend on the
/// count; past the cores there is no gain, and thousands of threads cost
/// seconds of start-up (1,024 threads: 12 s on 20 loans) or hang.
pub const MAX_THREADS: usize = 256;

/// Memory a run holds per generated rate path, measured (peak RSS over path
/// counts, docs/robustness.md): about 50 KiB for `msr value`, `oas`,
/// `repline` and `rollforward` (the path set, its normals and the per-path
/// market arrays), rounded up.
pub const BYTES_PER_PATH: u64 = 56 << 10;

/// Memory `msr risk` holds per path (the base paths and one scenario's
/// shocked paths and market at a time): about 93 KiB, rounded up.
pub const BYTES_PER_PATH_RISK: u64 = 100 << 10;

/// What a run needs besides its paths (binary, tape window, buffers).
const BASE_BYTES: u64 = 256 << 20;

/// Refuse, before allocating, a path count whose memory the machine does not
/// have: `num_paths · bytes_per_path` plus a base, against the memory
/// available (`MemAvailable`, or a cgroup limit when lower). Where neither can
/// be read, nothing is refused.
///
/// # Errors
/// Usage error (exit 2) naming the need and what is available.
pub fn check_path_memory(num_paths: u64, bytes_per_path: u64) -> Result<()> {
    let Some(available) = available_memory()? else {
        return Ok(());
    };
    let need = BASE_BYTES.saturating_add(num_paths.saturating_mul(bytes_per_path));
    if need > available {
        let gib = |b: u64| b as f64 / f64::from(1u32 << 30);
        let fits = available.saturating_sub(BASE_BYTES) / bytes_per_path;
        return Err(CliError::new(
            Failure::Usage,
            format!(
                "{num_paths} paths need about {:.1} GiB of memory and {:.1} GiB is available; \
                 use at most {fits} paths here (sharding splits loans, not paths)",
                gib(need),
                gib(available)
            ),
        ));
    }
    Ok(())
}

/// The environment variable that caps the memory a run may plan for
/// (bytes, or with a `K`, `M` or `G` suffix, powers of 1024): an operator's
/// limit below what the machine has.
pub const MAX_MEMORY_ENV: &str = "MSR_MAX_MEMORY";

/// Memory available to this process, in bytes: `MemAvailable` of
/// /proc/meminfo, lowered to the memory limit of this process's cgroup (v2,
/// the lowest `memory.max` of it and its ancestors) and to [`MAX_MEMORY_ENV`]
/// when set. `None` when nothing can be read.
///
/// # Errors
/// Usage error when [`MAX_MEMORY_ENV`] is set but is not a size.
fn available_memory() -> Result<Option<u64>> {
    let cap = match std::env::var(MAX_MEMORY_ENV) {
        Err(_) => None,
        Ok(v) => Some(parse_size(&v).ok_or_else(|| {
            CliError::new(
                Failure::Usage,
                format!("{MAX_MEMORY_ENV}={v:?} is not a size (bytes, or a whole number with K, M or G)"),
            )
        })?),
    };
    let system = mem_available().map(|m| cgroup_limit().map_or(m, |l| l.min(m)));
    Ok(match (system, cap) {
        (Some(m), Some(c)) => Some(m.min(c)),
        (m, c) => m.or(c),
    })
}

/// `123`, `512M`, `8G` (powers of 1024) as bytes.
fn parse_size(v: &str) -> Option<u64> {
    let v = v.trim();
    let (digits, unit) = match v.chars().last()? {
        'K' | 'k' => (&v[..v.len() - 1], 1u64 << 10),
        'M' | 'm' => (&v[..v.len() - 1], 1 << 20),
        'G' | 'g' => (&v[..v.len() - 1], 1 << 30),
        _ => (v, 1),
    };
    digits.trim().parse::<u64>().ok()?.checked_mul(unit)
}

/// `MemAvailable` of /proc/meminfo, in bytes.
fn mem_available() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib.saturating_mul(1024))
}

/// The memory limit of this process's cgroup (v2): the lowest `memory.max`
/// of its cgroup (`0::/path` in /proc/self/cgroup) and every ancestor, under
/// /sys/fs/cgroup. The limit, not limit minus use: the use counts page cache
/// the kernel gives back, and would refuse runs that fit.
fn cgroup_limit() -> Option<u64> {
    let line = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = line.lines().find_map(|l| l.strip_prefix("0::"))?.trim();
    let mut dir = PathBuf::from("/sys/fs/cgroup").join(path.trim_start_matches('/'));
    let mut lowest: Option<u64> = None;
    loop {
        if let Some(max) = std::fs::read_to_string(dir.join("memory.max"))
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok())
        {
            lowest = Some(lowest.map_or(max, |l| l.min(max)));
        }
        if dir == Path::new("/sys/fs/cgroup") || !dir.pop() {
            break;
        }
    }
    lowest
}

/// Size the global rayon pool.
///
/// # Errors
/// Usage error for zero threads or more than [`MAX_THREADS`].
pub fn init_threads(threads: Option<usize>) -> Result<usize> {
    if let Some(n) = threads {
        if n == 0 || n > MAX_THREADS {
            return Err(CliError::new(
                Failure::Usage,
                format!("--threads must be 1..={MAX_THREADS}, got {n}"),
            ));
        }
        // A second call (tests in one process) keeps the first pool.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    Ok(rayon::current_num_threads())
}

/// Set by [`request_cancel`]; read by [`check_cancelled`].
static CANCEL: AtomicBool = AtomicBool::new(false);

/// The panic payload with which a cancelled job unwinds ([`check_cancelled`]).
///
/// A caller that offers cancellation (the Python package, on Ctrl-C) runs the
/// job under `catch_unwind` and reads this payload as "cancelled", not as a
/// bug. Unwinding drops the job's [`Staging`], which removes the staging
/// directory and releases the output lock: nothing is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled;

/// Ask the running job to stop at its next progress report. The flag stays
/// set until [`clear_cancel`] (a caller clears it before each job).
pub fn request_cancel() {
    CANCEL.store(true, Ordering::Relaxed);
}

/// Clear a cancellation request.
pub fn clear_cancel() {
    CANCEL.store(false, Ordering::Relaxed);
}

/// Unwind with [`Cancelled`] when a cancellation was requested. Called at
/// every progress report (a chunk of loans, a scenario), so a job stops
/// within one chunk. The `msr` binary never requests it: Ctrl-C ends the
/// process there.
pub fn check_cancelled() {
    if CANCEL.load(Ordering::Relaxed) {
        std::panic::panic_any(Cancelled);
    }
}

/// A progress bar that is also a cancellation point: [`Progress::inc`] and
/// [`Progress::set_position`] call [`check_cancelled`] first. Everything else
/// is the bar's (it dereferences to [`ProgressBar`]).
#[derive(Debug, Clone)]
pub struct Progress(ProgressBar);

impl std::ops::Deref for Progress {
    type Target = ProgressBar;
    fn deref(&self) -> &ProgressBar {
        &self.0
    }
}

impl Progress {
    /// Advance by `delta`, after a cancellation check.
    pub fn inc(&self, delta: u64) {
        check_cancelled();
        self.0.inc(delta);
    }

    /// Move to `pos`, after a cancellation check.
    pub fn set_position(&self, pos: u64) {
        check_cancelled();
        self.0.set_position(pos);
    }
}

/// A progress bar on stderr, hidden when quiet or not a terminal.
pub fn progress(total: u64, what: &str, quiet: bool) -> Progress {
    Progress(progress_bar(total, what, quiet))
}

fn progress_bar(total: u64, what: &str, quiet: bool) -> ProgressBar {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{what} [{{bar:40}}] {{pos}}/{{len}} ({{per_sec}}, ETA {{eta}})"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// An output directory written through a staging subdirectory: files are
/// written there and moved into place only when the run succeeds, the
/// completion marker (`manifest.json`, or the command's summary document)
/// last. A run that dies leaves the staging directory, never a
/// complete-looking set of outputs; the next run in the same directory
/// removes it (see [`remove_stale_staging`]).
///
/// One run at a time: [`Staging::create`] takes an exclusive lock on
/// `OUT/.msr-lock` (held until the staging is committed or dropped), so two
/// runs into the same directory cannot interleave their files; the second is
/// refused (exit 4). [`Staging::commit`] lists every output with its SHA-256
/// in the marker and removes the outputs of the previous run that this run
/// did not write, so the marker always describes exactly the files beside it.
#[derive(Debug)]
pub struct Staging {
    out: PathBuf,
    dir: PathBuf,
    committed: bool,
    /// Whether this run created `out`: a run that fails before committing
    /// then removes it again (with its lock file), so a refused run leaves
    /// nothing behind.
    created_out: bool,
    /// Held for the staging's life; closing the file releases the lock.
    _lock: std::fs::File,
    /// Files this run reads: no output may replace one of them.
    inputs: Vec<PathBuf>,
}

/// The lock file of an output directory.
pub const OUTPUT_LOCK: &str = ".msr-lock";

/// Outputs a run of an earlier version may have left without listing them
/// in its manifest (before manifests listed their outputs): removed when a
/// new `manifest.json` is committed without them.
fn legacy_unlisted_output(marker: &str, name: &str) -> bool {
    marker == "manifest.json"
        && (name == "cashflows.parquet"
            || name == "paths.parquet"
            || (name.starts_with("marks_by_") && name.ends_with(".csv")))
}

impl Staging {
    /// Create `out` (if needed), lock it, and a fresh staging directory inside it.
    /// Dropped uncommitted (the run failed), the staging directory goes, and
    /// so does `out` when this call created it and nothing else is in it.
    ///
    /// # Errors
    /// Output error when the directory cannot be created or written, or when
    /// another run holds its lock.
    pub fn create(out: &Path) -> Result<Staging> {
        let created_out = !out.exists();
        std::fs::create_dir_all(out).map_err(|e| {
            output(format!(
                "{}: cannot create output directory: {e}",
                out.display()
            ))
        })?;
        let lock = lock_output_dir(out)?;
        remove_stale_staging(out);
        let dir = out.join(format!("{STAGING_PREFIX}{}", std::process::id()));
        if dir.exists() {
            let _ = std::fs::remove_dir_all(&dir);
        }
        std::fs::create_dir(&dir).map_err(|e| {
            output(format!(
                "{}: cannot write to output directory: {e}",
                out.display()
            ))
        })?;
        if let Some(owner) = ProcessId::current() {
            // Best effort: without it the directory is merely never collected.
            let _ = std::fs::write(dir.join(STAGING_OWNER), owner.to_line());
        }
        Ok(Staging {
            out: out.to_path_buf(),
            dir,
            committed: false,
            created_out,
            _lock: lock,
            inputs: Vec::new(),
        })
    }

    /// Name the files this run reads: [`Staging::commit`] refuses, before
    /// anything moves, an output that would replace one of them.
    #[must_use]
    pub fn reading(mut self, inputs: &[&Path]) -> Staging {
        self.inputs.extend(inputs.iter().map(|p| p.to_path_buf()));
        self
    }

    /// Where to write output `name` while staging.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Move every staged file into place, `marker` last, after listing every
    /// other output with its SHA-256 and size under `outputs` in the marker
    /// (a JSON object). The previous run's outputs that this run did not
    /// write are removed after its marker and before the new marker appears,
    /// so a directory with a marker holds exactly the files it lists (a kill
    /// in between leaves no marker: an incomplete directory).
    ///
    /// # Errors
    /// Output error when a target exists and is not a regular file, or is an
    /// input of the run (checked for every file before any moves: nothing is
    /// replaced, the old result stays whole), or when a rename fails.
    pub fn commit(self, marker: &str) -> Result<()> {
        self.commit_inner(marker, true)
    }

    /// [`Staging::commit`] for a marker that lists its files itself (a
    /// shard's partial manifest): nothing is added to it.
    ///
    /// # Errors
    /// As [`Staging::commit`].
    pub fn commit_unlisted(self, marker: &str) -> Result<()> {
        self.commit_inner(marker, false)
    }

    fn commit_inner(mut self, marker: &str, list: bool) -> Result<()> {
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)
            .map_err(|e| output(format!("{}: {e}", self.dir.display())))?
            .filter_map(|e| e.ok().and_then(|e| e.file_name().into_string().ok()))
            .collect();
        names.sort();
        names.retain(|n| n != marker && n != STAGING_OWNER);
        // Before anything moves: a target that exists as a FIFO, a device, a
        // link or a directory would be replaced by the rename, and so would
        // an input of this run.
        for name in names.iter().map(String::as_str).chain([marker]) {
            let target = self.out.join(name);
            msr_io::parquet_out::check_replaceable(&target).map_err(output)?;
            if let Some(input) = self.inputs.iter().find(|i| same_file(i, &target)) {
                return Err(CliError::new(
                    Failure::Usage,
                    format!(
                        "{}: this output would replace the input {}; nothing was replaced, choose another --out",
                        target.display(),
                        input.display()
                    ),
                ));
            }
        }
        if list {
            self.list_outputs(marker, &names)?;
        }
        let old_marker = self.out.join(marker);
        // The previous run's outputs this run does not write go, unless this
        // run reads one (`--rate-paths OUT/paths.parquet`): an input is never
        // removed.
        let stale = previous_outputs(&old_marker, marker)
            .into_iter()
            .filter(|n| n != marker && !names.contains(n))
            .filter(|n| !self.inputs.iter().any(|i| same_file(i, &self.out.join(n))))
            .collect::<Vec<_>>();
        if old_marker.exists() {
            std::fs::remove_file(&old_marker)
                .map_err(|e| output(format!("{}: {e}", old_marker.display())))?;
        }
        for name in &names {
            let from = self.dir.join(name);
            let to = self.out.join(name);
            std::fs::rename(&from, &to)
                .map_err(|e| output(format!("{}: cannot move into place: {e}", to.display())))?;
        }
        for name in &stale {
            let path = self.out.join(name);
            if path.is_file() {
                std::fs::remove_file(&path).map_err(|e| {
                    output(format!(
                        "{}: cannot remove the previous run's output: {e}",
                        path.display()
                    ))
                })?;
            }
        }
        let from = self.dir.join(marker);
        if from.exists() {
            std::fs::rename(&from, &old_marker).map_err(|e| {
                output(format!(
                    "{}: cannot move into place: {e}",
                    old_marker.display()
                ))
            })?;
        }
        let _ = std::fs::remove_file(self.dir.join(STAGING_OWNER));
        let _ = std::fs::remove_dir(&self.dir);
        self.committed = true;
        Ok(())
    }

    /// Add `outputs: {name: {sha256, bytes}}` to the staged marker.
    fn list_outputs(&self, marker: &str, names: &[String]) -> Result<()> {
        let path = self.dir.join(marker);
        let mut doc: serde_json::Value = msr_io::json::read_json(&path).map_err(output)?;
        let mut outputs = serde_json::Map::new();
        for name in names {
            let file = self.dir.join(name);
            let bytes = std::fs::metadata(&file)
                .map_err(|e| output(format!("{}: {e}", file.display())))?
                .len();
            let sha = msr_io::hash::sha256_file(&file).map_err(output)?;
            let entry = msr_io::docs::run::OutputFile { sha256: sha, bytes };
            outputs.insert(
                name.clone(),
                msr_io::docs::to_value(&path, &entry).map_err(output)?,
            );
        }
        let obj = doc.as_object_mut().ok_or_else(|| {
            output(format!(
                "{}: the marker is not a JSON object",
                path.display()
            ))
        })?;
        obj.insert("outputs".into(), serde_json::Value::Object(outputs));
        msr_io::write_json_pretty(&path, &doc).map_err(output)
    }
}

/// Lock `out` for one run ([`OUTPUT_LOCK`]).
fn lock_output_dir(out: &Path) -> Result<std::fs::File> {
    let path = out.join(OUTPUT_LOCK);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| {
            output(format!(
                "{}: cannot write to output directory: cannot create {OUTPUT_LOCK}: {e}",
                out.display()
            ))
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(output(format!(
            "{}: another msr run is writing to this directory (it holds {OUTPUT_LOCK}); \
             wait for it to finish or choose another --out",
            out.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(output(format!("{}: cannot lock: {e}", path.display())))
        }
    }
}

/// The outputs the previous run in this directory wrote and may not write
/// again: those its marker lists, and for a marker of an older version that
/// lists none, the optional outputs of [`legacy_unlisted_output`] present.
fn previous_outputs(old_marker: &Path, marker: &str) -> Vec<String> {
    let Ok(doc) = msr_io::json::read_json::<serde_json::Value>(old_marker) else {
        return Vec::new();
    };
    if let Some(listed) = doc.get("outputs").and_then(|o| o.as_object()) {
        return listed
            .keys()
            .filter(|n| !n.contains(['/', '\\']) && !n.starts_with('.'))
            .cloned()
            .collect();
    }
    let Some(dir) = old_marker.parent() else {
        return Vec::new();
    };
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| legacy_unlisted_output(marker, n))
        .collect()
}

/// Refuse (usage error, exit 2) an output file that is one of the inputs:
/// writing it would destroy the input. Checked before anything is written.
///
/// # Errors
/// The usage error naming both flags' files.
pub fn refuse_output_over_input(inputs: &[&Path], outputs: &[&Path]) -> Result<()> {
    for o in outputs {
        if let Some(i) = inputs.iter().find(|i| same_file(i, o)) {
            return Err(CliError::new(
                Failure::Usage,
                format!(
                    "{}: this output would replace the input {}; nothing was written, choose another output",
                    o.display(),
                    i.display()
                ),
            ));
        }
    }
    Ok(())
}

/// Whether `a` and `b` name the same existing file (device and inode, so
/// links, `..` and relative paths are seen through).
pub fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// Staging directories are `OUT/.msr-staging-<pid>`.
const STAGING_PREFIX: &str = ".msr-staging-";

/// The file in a staging directory naming the process that owns it.
const STAGING_OWNER: &str = ".owner";

/// A process, identified well enough to tell whether it still runs: the
/// machine's boot, the pid namespace, the pid and the process's start time
/// (so a reused pid is not mistaken for the owner). Linux only (`/proc`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct ProcessId {
    boot: String,
    pid_namespace: String,
    pid: u32,
    start: String,
}

impl ProcessId {
    /// This process.
    fn current() -> Option<ProcessId> {
        let pid = std::process::id();
        let (boot, pid_namespace) = this_boot_and_namespace()?;
        Some(ProcessId {
            boot,
            pid_namespace,
            pid,
            start: start_time(pid)?,
        })
    }

    fn to_line(&self) -> String {
        format!(
            "{} {} {} {}\n",
            self.boot, self.pid_namespace, self.pid, self.start
        )
    }

    fn parse(line: &str) -> Option<ProcessId> {
        let mut it = line.split_whitespace();
        let id = ProcessId {
            boot: it.next()?.to_string(),
            pid_namespace: it.next()?.to_string(),
            pid: it.next()?.parse().ok()?,
            start: it.next()?.to_string(),
        };
        it.next().is_none().then_some(id)
    }

    /// True when this process has surely ended: it ran on this boot and in
    /// this pid namespace (else we cannot see it, and it may be running on
    /// another machine or in another container), and no process with its
    /// pid and start time exists.
    fn has_ended(&self) -> bool {
        let Some((boot, ns)) = this_boot_and_namespace() else {
            return false;
        };
        self.boot == boot
            && self.pid_namespace == ns
            && start_time(self.pid).as_deref() != Some(self.start.as_str())
    }
}

/// The boot id and pid namespace of this process (`/proc`).
fn this_boot_and_namespace() -> Option<(String, String)> {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let ns = std::fs::read_link("/proc/self/ns/pid").ok()?;
    let ns = ns.to_str()?.replace(char::is_whitespace, "");
    Some((boot.trim().to_string(), ns))
}

/// A process's start time in clock ticks since boot (`/proc/<pid>/stat`,
/// field 22), or `None` if there is no such process.
fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let after_name = stat.rsplit_once(')')?.1;
    after_name.split_whitespace().nth(19).map(str::to_string)
}

/// Remove the staging directories in `out` left by runs that were killed
/// (and so could not clean up): those whose owner file names a process of
/// this machine and pid namespace that no longer runs. A directory without
/// an owner file, or owned by a process that runs or that this process
/// cannot see (another host sharing the directory, another container), is
/// left alone. Failures are ignored: a stale directory is untidy, not wrong.
pub fn remove_stale_staging(out: &Path) {
    let Ok(entries) = std::fs::read_dir(out) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(STAGING_PREFIX))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let dir = entry.path();
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let owner = std::fs::read_to_string(dir.join(STAGING_OWNER))
            .ok()
            .and_then(|line| ProcessId::parse(&line));
        if owner.is_some_and(|o| o.pid == pid && o.has_ended()) {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.dir);
            if self.created_out {
                // The lock file, then the directory if nothing else is in it.
                let _ = std::fs::remove_file(self.out.join(OUTPUT_LOCK));
                let _ = std::fs::remove_dir(&self.out);
            }
        }
    }
}

/// SHA-256 of a file, as an input error when unreadable.
///
/// # Errors
/// Input error.
pub fn sha256(path: &Path) -> Result<String> {
    msr_io::hash::sha256_file(path).map_err(input)
}

/// Seconds since the Unix epoch as an RFC 3339 timestamp.
pub fn timestamp(t: std::time::SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}
