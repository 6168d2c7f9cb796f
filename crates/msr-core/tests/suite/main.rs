//! Tests of msr-core's configuration: the defaults and property tests.
//!
//! One test binary per crate (each links Arrow and Parquet, so every
//! extra binary costs a link): `cargo test --workspace --test suite
//! MODULE::` runs one module.

mod default_config;
mod proptest_config;
