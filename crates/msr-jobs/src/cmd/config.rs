//! `msr config`: the configuration msr would use, as TOML. `--defaults`
//! prints the built-in defaults (MODEL.md §I), which every `--config`
//! defaults to and configs/default.toml spells out; a FILE is checked and
//! printed resolved (every key, the defaults filling what it omits).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use crate::common::{load_config, PathArgs};
use crate::exit::{CliError, Failure};

/// Flags of `msr config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Print the built-in defaults (MODEL.md §I) as TOML.
    #[arg(long, conflicts_with = "file")]
    pub defaults: bool,
    /// A configuration file to check and print resolved.
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
}

/// Run `msr config`.
///
/// # Errors
/// Usage error without `--defaults` or a FILE; input errors for a bad file.
pub fn run(args: &ConfigArgs) -> Result<ExitCode> {
    let path = match (&args.file, args.defaults) {
        (Some(file), false) => file.clone(),
        (None, true) => PathBuf::from(crate::common::BUILTIN_CONFIG),
        _ => {
            return Err(CliError::new(
                Failure::Usage,
                "msr config needs --defaults or a FILE",
            ))
        }
    };
    let config = load_config(&path, &PathArgs::default())?;
    print!("{}", config.to_toml_string());
    Ok(ExitCode::SUCCESS)
}
