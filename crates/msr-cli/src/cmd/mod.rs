//! One module per subcommand.

pub mod generate;
pub mod import;
pub mod merge;
pub mod notes;
pub mod paths;
pub mod repline;
pub mod validate;
pub mod value;
