//! Integration tests of the engine, one module per area.
//!
//! One test binary per crate (each links Arrow and Parquet, so every
//! extra binary costs a link): `cargo test --workspace --test suite
//! MODULE::` runs one module.

mod common;
mod determinism;
mod extremes;
mod golden;
mod hand_derived;
mod notes;
mod properties;
mod replines;
mod risk;
mod rollforward;
