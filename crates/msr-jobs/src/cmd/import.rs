//! `msr import`: turn Freddie Mac's and Fannie Mae's public loan-level data,
//! or a servicer's CSV tape, into our Parquet tape (docs/import.md).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use indicatif::ProgressStyle;
use msr_io::import::{
    import_csv, import_fannie, import_freddie, CsvMapping, ImportError, ImportOptions,
    ImportReport, Input, YearMonth, DEFAULT_SERVICING_FEE,
};
use msr_io::parquet_out::check_replaceable;
use msr_io::{RejectWriter, TapeWriteOptions};

use crate::common::progress;
use crate::exit::{input, output, CliError, Failure};

/// Flags of `msr import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Which layout to import.
    #[command(subcommand)]
    pub source: Source,
}

/// What to import.
#[derive(Debug, Subcommand)]
pub enum Source {
    /// Freddie Mac Single-Family Loan-Level Dataset: an origination file and
    /// its monthly performance file (pipe-delimited, no header).
    Freddie(FreddieArgs),
    /// Fannie Mae Single-Family Loan Performance Data: one performance file
    /// (pipe-delimited, no header, acquisition fields on every line).
    Fannie(FannieArgs),
    /// A servicer's CSV tape, through a TOML column mapping.
    Csv(CsvArgs),
}

/// Flags of `msr import freddie`.
#[derive(Debug, Args)]
pub struct FreddieArgs {
    /// Origination data file (e.g. historical_data_2023Q1.txt).
    #[arg(long, value_name = "FILE")]
    pub origination: PathBuf,
    /// Monthly performance data file (e.g. historical_data_time_2023Q1.txt).
    #[arg(long, value_name = "FILE")]
    pub performance: PathBuf,
    /// The GSE files.
    #[command(flatten)]
    pub gse: GseArgs,
    /// Where the tape and rejects go.
    #[command(flatten)]
    pub out: OutArgs,
}

/// Flags of `msr import fannie`.
#[derive(Debug, Args)]
pub struct FannieArgs {
    /// Performance file (e.g. 2023Q1.csv).
    #[arg(long, value_name = "FILE")]
    pub performance: PathBuf,
    /// The GSE files.
    #[command(flatten)]
    pub gse: GseArgs,
    /// Where the tape and rejects go.
    #[command(flatten)]
    pub out: OutArgs,
}

/// Flags of `msr import csv`.
#[derive(Debug, Args)]
pub struct CsvArgs {
    /// Column mapping (TOML: [columns], [values.*], [constants], [scale]).
    #[arg(long, value_name = "FILE")]
    pub mapping: PathBuf,
    /// The servicer's tape (CSV with a header row).
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,
    /// Where the tape and rejects go.
    #[command(flatten)]
    pub out: OutArgs,
}

/// Flags shared by the GSE importers.
#[derive(Debug, Args)]
pub struct GseArgs {
    /// Valuation month: each loan's record for this reporting period is
    /// imported.
    #[arg(long, value_name = "YYYYMM")]
    pub as_of: YearMonth,
    /// Annual servicing fee given to every loan, decimal (0.0025 = 25 bp).
    #[arg(long, value_name = "X", default_value_t = DEFAULT_SERVICING_FEE)]
    pub servicing_fee: f64,
    /// Credit score for loans whose score is not available (default: reject them).
    #[arg(long, value_name = "N")]
    pub missing_fico: Option<i32>,
    /// Current LTV (percent) for loans with no LTV to estimate from (default: reject them).
    #[arg(long, value_name = "X")]
    pub missing_ltv: Option<f64>,
}

/// Output flags shared by every importer.
#[derive(Debug, Args)]
pub struct OutArgs {
    /// Output tape (Parquet, MODEL.md §B).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Rejects file (CSV: row, loan_id, column, value, rule); default: the
    /// tape's name with `.rejects.csv`.
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,
    /// Rows per row group; also the write chunk, so it bounds memory.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub row_group_size: usize,
    /// Exit 5 (after writing the outputs) when more than this share of the
    /// active records is rejected.
    #[arg(long, value_name = "X", default_value_t = 0.01)]
    pub max_reject_share: f64,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Run `msr import`. Exits 5 when the rejected share exceeds
/// `--max-reject-share`.
///
/// # Errors
/// Usage errors for bad flags, input errors for unusable inputs, output
/// errors when the tape or rejects cannot be written.
pub fn run(args: &ImportArgs) -> Result<ExitCode> {
    match &args.source {
        Source::Freddie(a) => {
            let options = gse_options(&a.gse, &a.out)?;
            let what = format!("Freddie Mac loans (FHLMC) as of {}", a.gse.as_of);
            with_outputs(
                &a.out,
                &[&a.origination, &a.performance],
                &what,
                |tape, rejects, bar| {
                    import_freddie(
                        Input::open(&a.origination)?,
                        Input::open(&a.performance)?,
                        tape,
                        rejects,
                        &options,
                        bar,
                    )
                },
            )
        }
        Source::Fannie(a) => {
            let options = gse_options(&a.gse, &a.out)?;
            let what = format!("Fannie Mae loans (FNMA) as of {}", a.gse.as_of);
            with_outputs(&a.out, &[&a.performance], &what, |tape, rejects, bar| {
                import_fannie(Input::open(&a.performance)?, tape, rejects, &options, bar)
            })
        }
        Source::Csv(a) => {
            check_out(&a.out)?;
            crate::common::refuse_output_over_input(
                &[a.input.as_path(), a.mapping.as_path()],
                &[a.out.out.as_path()],
            )?;
            let mapping = CsvMapping::load(&a.mapping).map_err(input)?;
            let tape_options = TapeWriteOptions {
                max_row_group_rows: a.out.row_group_size,
            };
            let what = format!("loans from {}", a.input.display());
            with_outputs(&a.out, &[&a.input], &what, |tape, rejects, bar| {
                import_csv(
                    &mapping,
                    Input::open(&a.input)?,
                    tape,
                    rejects,
                    tape_options,
                    bar,
                )
            })
        }
    }
}

fn usage(message: String) -> anyhow::Error {
    CliError::new(Failure::Usage, message)
}

fn check_out(out: &OutArgs) -> Result<()> {
    if out.row_group_size == 0 {
        return Err(usage("--row-group-size must be at least 1".into()));
    }
    if !(0.0..=1.0).contains(&out.max_reject_share) {
        return Err(usage(format!(
            "--max-reject-share {} must be in [0, 1]",
            out.max_reject_share
        )));
    }
    Ok(())
}

fn gse_options(gse: &GseArgs, out: &OutArgs) -> Result<ImportOptions> {
    check_out(out)?;
    let mut options = ImportOptions::new(gse.as_of);
    options.servicing_fee = gse.servicing_fee;
    options.missing_fico = gse.missing_fico;
    options.missing_ltv = gse.missing_ltv;
    options.tape.max_row_group_rows = out.row_group_size;
    Ok(options)
}

/// Open the rejects file and a progress bar over the inputs' bytes, run the
/// import, then commit the tape and the rejects file together.
///
/// Both are written under staging names beside their targets
/// (`<tape>.import.tmp`, `<rejects>.import.tmp`, each itself written as
/// `….tmp` and renamed when complete). Only when both are complete does the
/// commit run, in this order: remove the old tape, remove the old rejects
/// file, rename the new rejects file into place, rename the new tape into
/// place. So a tape is only ever beside the rejects file of its own import:
/// a failure before the commit leaves the old pair untouched, a kill during
/// it leaves no tape (at most a rejects file, new or old, without one), and a
/// failure removes the staging files.
fn with_outputs(
    out: &OutArgs,
    inputs: &[&Path],
    what: &str,
    import: impl FnOnce(
        &Path,
        &mut RejectWriter,
        &mut dyn FnMut(u64),
    ) -> Result<ImportReport, ImportError>,
) -> Result<ExitCode> {
    let rejects_path = out
        .rejects
        .clone()
        .unwrap_or_else(|| out.out.with_extension("rejects.csv"));
    crate::common::refuse_output_over_input(inputs, &[out.out.as_path(), rejects_path.as_path()])?;
    for path in [&out.out, &rejects_path] {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| output(format!("{}: {e}", parent.display())))?;
        }
        check_replaceable(path).map_err(output)?;
    }
    let mut total = 0;
    for path in inputs {
        let meta = std::fs::metadata(path)
            .map_err(|e| input(format!("{}: cannot open: {e}", path.display())))?;
        total += meta.len();
    }
    let staged = StagedPair::new(&out.out, &rejects_path)?;
    let bar = progress(total, "import", out.quiet);
    bar.set_style(
        ProgressStyle::with_template(
            "import [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, ETA {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let mut rejects = RejectWriter::create(&staged.rejects).map_err(output)?;
    let result = import(&staged.tape, &mut rejects, &mut |bytes| {
        bar.set_position(bytes)
    });
    bar.finish_and_clear();
    let report = result.map_err(|e| classify(e, &staged))?;
    rejects.finish().map_err(output)?;
    staged.commit()?;
    print_report(&report, what, &out.out, &rejects_path);

    let share = report.reject_share();
    if share > out.max_reject_share {
        return Err(CliError::new(
            Failure::Data,
            format!(
                "{:.2} % of the active records rejected, above --max-reject-share {:.2} % (see {})",
                100.0 * share,
                100.0 * out.max_reject_share,
                rejects_path.display()
            ),
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// The tape and rejects file of one import, written under staging names
/// and committed together ([`StagedPair::commit`]); dropped uncommitted, the
/// staging files are removed.
struct StagedPair {
    tape: PathBuf,
    rejects: PathBuf,
    tape_target: PathBuf,
    rejects_target: PathBuf,
    committed: bool,
}

impl StagedPair {
    fn new(tape: &Path, rejects: &Path) -> Result<StagedPair> {
        let staging = |target: &Path| -> Result<PathBuf> {
            let mut name = target
                .file_name()
                .ok_or_else(|| {
                    output(format!(
                        "{}: an output path must name a file",
                        target.display()
                    ))
                })?
                .to_os_string();
            name.push(".import.tmp");
            Ok(target.with_file_name(name))
        };
        let pair = StagedPair {
            tape: staging(tape)?,
            rejects: staging(rejects)?,
            tape_target: tape.to_path_buf(),
            rejects_target: rejects.to_path_buf(),
            committed: false,
        };
        for path in [&pair.tape, &pair.rejects] {
            check_replaceable(path).map_err(output)?;
        }
        Ok(pair)
    }

    /// Whether an error's file is one of ours (a target, a staging file, or
    /// the `.tmp` a staging file is written as).
    fn owns(&self, file: &Path) -> bool {
        [
            &self.tape,
            &self.rejects,
            &self.tape_target,
            &self.rejects_target,
        ]
        .iter()
        .any(|p| {
            let mut tmp = p.as_os_str().to_os_string();
            tmp.push(".tmp");
            file == p.as_path() || file == Path::new(&tmp)
        })
    }

    /// Move both staged files into place: old tape out, old rejects out,
    /// new rejects in, new tape in (see [`with_outputs`]).
    fn commit(mut self) -> Result<()> {
        let fail = |path: &Path, action: &str, e: std::io::Error| {
            output(format!("{}: cannot {action}: {e}", path.display()))
        };
        for target in [&self.tape_target, &self.rejects_target] {
            check_replaceable(target).map_err(output)?;
        }
        for target in [&self.tape_target, &self.rejects_target] {
            match std::fs::remove_file(target) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(fail(target, "remove the old file", e)),
            }
        }
        std::fs::rename(&self.rejects, &self.rejects_target).map_err(|e| {
            fail(
                &self.rejects,
                &format!("rename to {}", self.rejects_target.display()),
                e,
            )
        })?;
        std::fs::rename(&self.tape, &self.tape_target).map_err(|e| {
            fail(
                &self.tape,
                &format!("rename to {}", self.tape_target.display()),
                e,
            )
        })?;
        self.committed = true;
        for target in [&self.tape_target, &self.rejects_target] {
            let dir = target
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

impl Drop for StagedPair {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tape);
            let _ = std::fs::remove_file(&self.rejects);
        }
    }
}

/// Exit class of an import error: writing our outputs is an output error,
/// an import that yields no loans or anything about the inputs or the
/// mapping is bad input.
fn classify(e: ImportError, staged: &StagedPair) -> anyhow::Error {
    match &e {
        ImportError::Options(_) => usage(e.to_string()),
        ImportError::Io(io) if staged.owns(io.file()) => output(e),
        _ => input(e),
    }
}

fn print_report(r: &ImportReport, what: &str, tape: &Path, rejects: &Path) {
    println!("imported {} {what} into {}", r.imported, tape.display());
    println!(
        "  read {} records ({} bytes); {} loans seen",
        r.records_read, r.bytes_read, r.loans_seen
    );
    if !r.skipped.is_empty() {
        println!(
            "  skipped {} loans not active at the as-of month:",
            r.skipped_total()
        );
        for (reason, n) in &r.skipped {
            println!("    {n:>9}  {reason}");
        }
    }
    if !r.estimated.is_empty() {
        println!("  estimated or filled in (loans imported):");
        for (what, n) in &r.estimated {
            println!("    {n:>9}  {what}");
        }
    }
    if r.orphan_records > 0 {
        println!(
            "  ignored {} performance records of loans absent from the origination file",
            r.orphan_records
        );
    }
    println!(
        "  rejected {} records, written to {}",
        r.rejected,
        rejects.display()
    );
}
