//! End-to-end tests of the `msr` binary, one module per area.
//!
//! One test binary per crate (each links Arrow and Parquet, so every
//! extra binary costs a link): `cargo test --workspace --test suite
//! MODULE::` runs one module.

mod accounting;
mod behaviour;
mod calibrate;
mod cli;
mod faults;
mod import_cli;
mod input_limits;
mod report;
mod risk_cli;
mod rollforward;
mod shards;
mod support;
