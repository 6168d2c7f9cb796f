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
    #[arg(long, value_name = "FILE", default_value = "configs/default.toml")]
    pub config: PathBuf,
    /// Where to write the rejects (CSV: row, loan_id, column, value, rule).
    #[arg(long, value_name = "FILE", default_value = "rejects.csv")]
    pub rejects: PathBuf,
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
    let config = load_config(&args.config, &PathArgs::default())?;
    crate::common::refuse_output_over_input(
        &[args.loans.as_path(), args.config.as_path()],
        &[args.rejects.as_path()],
    )?;
    let mut reader = TapeReader::open(&args.loans, &config.tape).map_err(input)?;
    if let Some(parent) = args.rejects.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| output(format!("{}: {e}", parent.display())))?;
    }
    let mut writer = RejectWriter::create(&args.rejects).map_err(output)?;
    let mut shown = Vec::new();
    while let Some(batch) = reader.next_batch().map_err(input)? {
        for r in batch.rejects {
            writer.write(&r).map_err(output)?;
            if shown.len() < args.show {
                shown.push(r);
            }
        }
    }
    writer.finish().map_err(output)?;
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
    println!("rejects written to {}", args.rejects.display());
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
