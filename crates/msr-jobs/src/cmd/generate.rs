//! `msr generate`: a realistic synthetic loan tape, deterministic in the seed.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use crate::exit::output;

/// Flags of `msr generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Number of loan records.
    #[arg(long = "loans", value_name = "N")]
    pub loans: usize,
    /// Random seed.
    #[arg(long, value_name = "S", default_value_t = 20261121)]
    pub seed: u64,
    /// Output tape (Parquet).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Rows per row group (several row groups let a run be sharded).
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub row_group_size: usize,
}

/// Run `msr generate`.
///
/// # Errors
/// Output error when the file cannot be written.
pub fn run(args: &GenerateArgs) -> Result<ExitCode> {
    if let Some(parent) = args.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| output(format!("{}: {e}", parent.display())))?;
    }
    msr_io::write_generated_book(&args.out, args.loans, args.seed, args.row_group_size)
        .map_err(output)?;
    println!(
        "wrote {} loans (seed {}) to {}",
        args.loans,
        args.seed,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
