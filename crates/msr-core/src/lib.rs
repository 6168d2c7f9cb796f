//! Domain types of msr-engine: the loan record, delinquency states, investors,
//! the model configuration (MODEL.md §I) and the amortisation schedule (§E.1).
//!
//! This crate does no IO and knows nothing about Arrow, Parquet or rate paths.
//! Everything in it is plain data plus validation; the numerics that consume it
//! live in `msr-rates`, `msr-model` and `msr-engine`.

pub mod config;
pub mod date;
pub mod fixed;
pub mod loan;
pub mod note;
pub mod schedule;
pub mod tolerance;

pub use config::{Config, ConfigError};
pub use date::{Date, DateError};
pub use fixed::ExactSum;
pub use loan::{DqState, Investor, Loan, Reject};
