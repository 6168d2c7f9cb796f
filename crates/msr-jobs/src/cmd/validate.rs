//! `msr validate`: check a loan tape against MODEL.md §B without valuing it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use msr_io::{RejectWriter, TapeReader};

use crate::common::{load_config, PathArgs};
use crate::exit::{input, output, CliError, Failure};

/// Flags of `msr validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Loan tape (Parquet).
    #[arg(long, value_name = "FILE", default_value = "data/sample_loans.parquet")]
    pub loans: PathBuf,
    /// Configuration (for `[tape.columns]` and `tape.max_reject_share`).
    #[arg(long, value_name = "FILE", default_value = crate::common::BUILTIN_CONFIG)]
    pub config: PathBuf,
    /// Where to write the rejects (CSV: row, loan_id, column, value, rule);
    /// without it no file is written (nothing lands in the current directory
    /// unless asked).
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,
    /// How many rejects to print.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub show: usize,
}

/// Run `msr validate`. Exits 5 when the rejected share exceeds
/// `tape.max_reject_share`.
///
/// # Errors
/// Input errors for an unusable tape or config; output errors for the rejects file.
pub fn run(args: &ValidateArgs) -> Result<ExitCode> {
    crate::common::check_default_input(&args.loans, crate::common::SAMPLE_LOANS, "--loans")?;
    let config = load_config(&args.config, &PathArgs::default())?;
    if let Some(rejects) = &args.rejects {
        crate::common::refuse_output_over_input(
            &[args.loans.as_path(), args.config.as_path()],
            &[rejects.as_path()],
        )?;
    }
    let mut reader = TapeReader::open(&args.loans, &config.tape).map_err(input)?;
    let mut writer = match &args.rejects {
        None => None,
        Some(path) => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .map_err(|e| output(format!("{}: {e}", parent.display())))?;
            }
            Some(RejectWriter::create(path).map_err(output)?)
        }
    };
    let mut shown = Vec::new();
    while let Some(batch) = reader.next_batch().map_err(input)? {
        for r in batch.rejects {
            if let Some(w) = writer.as_mut() {
                w.write(&r).map_err(output)?;
            }
            if shown.len() < args.show {
                shown.push(r);
            }
        }
    }
    if let Some(w) = writer {
        w.finish().map_err(output)?;
    }
    let stats = reader.stats();
    println!(
        "{}: {} rows read = {} valid + {} rejected ({} row groups)",
        args.loans.display(),
        stats.rows_read,
        stats.valid,
        stats.rejected,
        reader.num_row_groups()
    );
    for r in &shown {
        println!(
            "  row {} loan_id {:?}: {} = {:?}: {}",
            r.row, r.loan_id, r.column, r.value, r.rule
        );
    }
    if stats.rejected as usize > shown.len() {
        println!("  ... {} more", stats.rejected as usize - shown.len());
    }
    match &args.rejects {
        Some(path) => println!("rejects written to {}", path.display()),
        None if stats.rejected > 0 => println!("rejects not written (pass --rejects FILE)"),
        None => {}
    }
    if stats.reject_share() > config.tape.max_reject_share {
        return Err(CliError::new(
            Failure::Data,
            format!(
                "{:.2} % of rows rejected, above tape.max_reject_share {:.2} %",
                100.0 * stats.reject_share(),
                100.0 * config.tape.max_reject_share
            ),
        ));
    }
    Ok(ExitCode::SUCCESS)
}
