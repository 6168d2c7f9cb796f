//! Behaviour and servicing cash flows of MODEL.md §D–E, per loan, per path,
//! per month.
//!
//! The layers, from the outside in:
//! * [`ModelParams`]: the configuration resolved into the constants the kernel
//!   uses (built once per run).
//! * [`Market`]: per-run, per-path, per-month market arrays derived once from
//!   the rate paths and shared read-only by every loan (block-major, so one
//!   block of paths streams contiguous memory).
//! * [`LoanTerms`]: one loan's constants and its path-independent month arrays
//!   (schedule, roll rate, ramp and seasonality), hoisted out of the path loop.
//! * [`RateFactors`]: the prepayment factors that depend on a loan only through
//!   its note rate, resolved once per rate for every path-month and shared by
//!   the loans with that rate.
//! * [`kernel::run_block`]: one loan over one block of [`LANES`] paths for all its
//!   months — the hot loop, allocation-free and branch-light so the lane loops
//!   vectorise.
//! * [`tangent`]: the derivatives of a block's path values along a few
//!   curve moves, by an adjoint sweep over its months (key-rate durations
//!   without bumps).
//! * [`chain`]: the delinquency transition of §D.3 for one mass vector, shared
//!   with note pricing so the two never disagree about a loan's credit.
//! * [`fastmath`]: the vectorisable SMM and fixed-point split the hot loops use
//!   instead of libm; [`simd`]: the runtime choice of AVX-512 / AVX2 / baseline
//!   copies of the hot loops (the crate's only `unsafe`), all giving the same
//!   bits. docs/PERFORMANCE.md has the measurements.

pub mod chain;
pub mod fastmath;
pub mod kernel;
pub mod lanes;
pub mod loan_terms;
pub mod market;
pub mod params;
pub mod rate_factors;
pub mod simd;
pub mod tangent;

pub use kernel::{
    add_fixed_lanes, run_block, run_block_at, run_block_net_at, BlockAccum, BlockDetail,
    BlockScratch, Component, LaneRows, MonthlyField, MonthlyLanes, NetCells, COMPONENTS, LANES,
    NUM_COMPONENTS, NUM_MONTHLY,
};
pub use loan_terms::LoanTerms;
pub use market::Market;
pub use params::ModelParams;
pub use rate_factors::RateFactors;
pub use tangent::{
    run_block_tangent_at, MarketTangent, TangentError, TangentRows, TangentScratch, MAX_DIRECTIONS,
};
