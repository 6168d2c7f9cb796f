//! One module per subcommand.

pub mod amortize;
pub mod behaviour;
pub mod calibrate;
pub mod config;
pub mod disclose;
pub mod generate;
pub mod history;
pub mod import;
pub mod merge;
pub mod notes;
pub mod oas;
pub mod paths;
pub mod repline;
pub mod report;
pub mod risk;
pub mod rollforward;
pub mod validate;
pub mod value;
pub mod workbook;
