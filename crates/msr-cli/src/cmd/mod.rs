//! One module per subcommand.

pub mod generate;
pub mod paths;
pub mod validate;
pub mod value;
