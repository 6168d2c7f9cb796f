//! Market data for msr-engine: the initial zero curve (MODEL.md §C.1), the
//! exact-fit Hull–White path generator (§C.2), the static path (§C.3) and curve
//! shocks (§C.4). This crate knows nothing about loans.

pub mod paths;

pub use paths::{PathError, PathSet};
