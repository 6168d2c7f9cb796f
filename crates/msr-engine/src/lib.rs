//! The valuation engine: loan-level valuation over loans × paths in parallel,
//! portfolio aggregation, and (in later modules) OAS, risk, rep lines and note
//! pricing. Pure computation: no IO.

pub mod summary;
pub mod valuation;

pub use summary::{expected_month, GroupSummary, Summary};
pub use valuation::{value_loans, Context, Detail, LoanResult, NonFinite, PortfolioAccum};
