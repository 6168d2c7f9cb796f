//! `msr report DIR`: turn the outputs of a run (`msr value` or `msr merge`,
//! plus `msr risk`, `msr repline` and `msr rollforward` when present) into
//! one self-contained `report.html` (docs/report.md).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use crate::exit::{input, output};
use msr_report::{self as report, Sources};

/// Flags of `msr report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Output directory of `msr value` (holds summary.json).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Where to write the page (default: DIR/report.html).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Directory (or file) of `msr risk` outputs (default: DIR/risk.json if present).
    #[arg(long, value_name = "DIR")]
    pub risk: Option<PathBuf>,
    /// Directory (or file) of `msr repline` outputs (default: DIR/repline_summary.json if present).
    #[arg(long, value_name = "DIR")]
    pub repline: Option<PathBuf>,
    /// Directory (or file) holding rollforward.json (default: DIR/rollforward.json if present).
    #[arg(long, value_name = "DIR")]
    pub rollforward: Option<PathBuf>,
    /// Output directory (or fit.json) of `msr calibrate rates`, `msr
    /// calibrate oas` or `msr calibrate behaviour`: market vs model vols,
    /// cohort targets vs model, actual vs fitted prepayment and roll rates.
    /// May be given once for each.
    #[arg(long, value_name = "DIR")]
    pub calibration: Vec<PathBuf>,
    /// Directory (or file) of `msr disclose` outputs (default:
    /// DIR/disclosure.json if present): the ASC 820 table.
    #[arg(long, value_name = "DIR")]
    pub disclosure: Option<PathBuf>,
    /// Print nothing on success.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Run `msr report`.
///
/// # Errors
/// Input error (exit 3) for a missing directory, summary.json or flagged
/// input, or an unreadable file; output error (exit 4) when the page cannot
/// be written.
pub fn run(args: &ReportArgs) -> Result<ExitCode> {
    let data = report::load(&Sources {
        dir: args.dir.clone(),
        risk: args.risk.clone(),
        repline: args.repline.clone(),
        rollforward: args.rollforward.clone(),
        calibration: args.calibration.clone(),
        disclosure: args.disclosure.clone(),
    })
    .map_err(|e| {
        // The report tags the inputs it cannot use; they are bad input here.
        if e.chain().any(|c| c.is::<report::InputError>()) {
            input(format!("{e:#}"))
        } else {
            e
        }
    })?;
    let html = report::render(&data);
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.dir.join("report.html"));
    write_page(&out, &html)?;
    if !args.quiet {
        let absent: Vec<&str> = data
            .inputs
            .iter()
            .filter(|i| !i.present)
            .map(|i| i.name.as_str())
            .collect();
        println!(
            "wrote {} ({} KB){}",
            out.display(),
            html.len().div_ceil(1024),
            if absent.is_empty() {
                String::new()
            } else {
                format!("; absent: {}", absent.join(", "))
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Write the page atomically (a temporary file renamed into place).
fn write_page(out: &std::path::Path, html: &str) -> Result<()> {
    use std::io::Write;
    let mut file = msr_io::AtomicFile::create(out).map_err(output)?;
    file.write_all(html.as_bytes())
        .map_err(|e| output(format!("{}: cannot write: {e}", out.display())))?;
    file.commit().map_err(output)
}
