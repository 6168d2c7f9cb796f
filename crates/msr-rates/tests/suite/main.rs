//! Integration tests of the rate paths, QMC and swaption calibration.
//!
//! One test binary per crate (each links Arrow and Parquet, so every
//! extra binary costs a link): `cargo test --workspace --test suite
//! MODULE::` runs one module.

mod paths;
mod qmc;
mod swaption;
