//! Integration tests of msr-io: importers, input limits, property tests and the fuzz targets.
//!
//! One test binary per crate (each links Arrow and Parquet, so every
//! extra binary costs a link): `cargo test --workspace --test suite
//! MODULE::` runs one module.

mod fuzz_inputs;
mod import;
mod import_limits;
mod proptest_readers;
