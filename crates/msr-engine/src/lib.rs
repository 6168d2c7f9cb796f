//! The valuation engine: loan-level valuation over loans × paths in parallel,
//! portfolio aggregation, and (in later modules) OAS, risk, rep lines and note
//! pricing. Pure computation: no IO.

pub mod book;
pub mod cohorts;
pub mod disclosure;
pub mod lifetime;
pub mod notes;
pub mod oas;
pub mod replines;
pub mod risk;
pub mod rollforward;
pub mod summary;
pub mod valuation;

pub use book::value_book;
pub use cohorts::{
    value_loans_grouped, CohortError, CohortNumber, CohortTable, LoanSpreads, TableKind,
};
pub use oas::{DiscountedFlows, OasDomain, OasError, OasSolution, OasTarget, ValueRange};
pub use replines::{
    build_replines, compare, BucketCompare, Bucketing, Comparison, RepLine, RepLines, ReplineError,
};
pub use risk::{
    assemble_risk, risk_partial, run_risk, Derivatives, KeyRateDuration, RiskError, RiskInputs,
    RiskPartial, RiskProgress, RiskReport, RiskSpec, Scenario, ScenarioKind,
};
pub use rollforward::{
    rollforward, Rollforward, RollforwardError, RollforwardInputs, RollforwardProgress,
    RollforwardTable, Step,
};
pub use summary::{expected_month, GroupSummary, Summary};
pub use valuation::{
    std_error, value_loans, value_loans_with, Context, Detail, LoanResult, NonFinite,
    PortfolioAccum, SeUnits,
};
