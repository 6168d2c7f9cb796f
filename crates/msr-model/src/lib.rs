//! Behaviour and servicing cash flows of MODEL.md §D–E, per loan, per path,
//! per month.
//!
//! The layers, from the outside in:
//! * [`ModelParams`]: the configuration resolved into the constants the kernel
//!   uses (built once per run).
//! * [`Market`]: per-run, per-path, per-month market arrays derived once from
//!   the rate paths and shared read-only by every loan (month-major, so a block
//!   of paths at one month is contiguous).
//! * [`LoanTerms`]: one loan's constants and its path-independent month arrays
//!   (schedule, roll rate, ramp and seasonality), hoisted out of the path loop.
//! * [`kernel::run_block`]: one loan over one block of [`LANES`] paths for all its
//!   months — the hot loop, allocation-free and branch-light so the lane loops
//!   vectorise.
//! * [`chain`]: the delinquency transition of §D.3 for one mass vector, shared
//!   with note pricing so the two never disagree about a loan's credit.

pub mod chain;
pub mod kernel;
pub mod loan_terms;
pub mod market;
pub mod params;

pub use kernel::{
    run_block, BlockAccum, Component, MonthlyField, COMPONENTS, LANES, NUM_COMPONENTS, NUM_MONTHLY,
};
pub use loan_terms::LoanTerms;
pub use market::Market;
pub use params::ModelParams;
