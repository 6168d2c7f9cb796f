//! `msr paths`: export the rate paths the engine would use (MODEL.md §C.5).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use crate::common::{load_config, resolve_rates, PathArgs, MAX_MONTHS};
use crate::exit::output;

/// Flags of `msr paths`.
#[derive(Debug, Args)]
pub struct PathsArgs {
    /// Configuration (curve, Hull–White, seed, path count).
    #[arg(long, value_name = "FILE", default_value = crate::common::BUILTIN_CONFIG)]
    pub config: PathBuf,
    /// Number of paths (overrides valuation.num_paths).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub num_paths: Option<u32>,
    /// Seed (overrides valuation.seed).
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Months per path.
    #[arg(long, value_name = "T", default_value_t = MAX_MONTHS)]
    pub months: usize,
    /// Export the static path (§C.3) instead of Hull–White paths.
    #[arg(long = "static")]
    pub static_path: bool,
    /// Output file (Parquet).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Run `msr paths`.
///
/// # Errors
/// Input errors for the config; output errors for the file.
pub fn run(args: &PathsArgs) -> Result<ExitCode> {
    if args.months == 0 || args.months > MAX_MONTHS {
        return Err(crate::exit::CliError::new(
            crate::exit::Failure::Usage,
            format!("--months must be 1..={MAX_MONTHS}, got {}", args.months),
        ));
    }
    let flags = PathArgs {
        num_paths: args.num_paths,
        seed: args.seed,
        ..PathArgs::default()
    };
    let config = load_config(&args.config, &flags)?;
    let rates = resolve_rates(&config, &flags)?;
    let paths = if args.static_path {
        rates.model.static_path(args.months)
    } else {
        let normals = rates
            .normals
            .as_ref()
            .expect("generated paths have normals");
        rates.model.paths(normals, args.months)
    };
    if let Some(parent) = args.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| output(format!("{}: {e}", parent.display())))?;
    }
    msr_io::write_path_file(&args.out, &paths).map_err(output)?;
    println!(
        "wrote {} path(s) x {} months to {}",
        paths.num_paths(),
        paths.months(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
