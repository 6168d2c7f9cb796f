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
use msr_io::{RejectWriter, TapeWriteOptions};

use crate::common::progress;
use crate::exit::{input, output, CliError, Failure};

/// Flags of `msr import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
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
    #[command(flatten)]
    pub gse: GseArgs,
    #[command(flatten)]
    pub out: OutArgs,
}

/// Flags of `msr import fannie`.
#[derive(Debug, Args)]
pub struct FannieArgs {
    /// Performance file (e.g. 2023Q1.csv).
    #[arg(long, value_name = "FILE")]
    pub performance: PathBuf,
    #[command(flatten)]
    pub gse: GseArgs,
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
/// import, close the rejects file and report.
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
    }
    let mut total = 0;
    for path in inputs {
        let meta = std::fs::metadata(path)
            .map_err(|e| input(format!("{}: cannot open: {e}", path.display())))?;
        total += meta.len();
    }
    let bar = progress(total, "import", out.quiet);
    bar.set_style(
        ProgressStyle::with_template(
            "import [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, ETA {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let mut rejects = RejectWriter::create(&rejects_path).map_err(output)?;
    let result = import(&out.out, &mut rejects, &mut |bytes| bar.set_position(bytes));
    bar.finish_and_clear();
    let report = result.map_err(|e| classify(e, &out.out, &rejects_path))?;
    rejects.finish().map_err(output)?;
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

/// Exit class of an import error: writing our outputs is an output error,
/// anything about the inputs or the mapping is bad input.
fn classify(e: ImportError, tape: &Path, rejects: &Path) -> anyhow::Error {
    match &e {
        ImportError::Options(_) => usage(e.to_string()),
        ImportError::Io(io) if io.file() == tape || io.file() == rejects => output(e),
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
