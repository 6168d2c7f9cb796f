//! Convenience entry point: value a book of loans on a set of paths under a
//! configuration, building the model constants and market arrays on the way.

use msr_core::loan::Loan;
use msr_core::Config;
use msr_model::{Market, ModelParams};
use msr_rates::PathSet;

use crate::valuation::{value_loans, Context, Detail, LoanResult, PortfolioAccum, SeUnits};

/// Value `loans` on `paths` at the configuration's OAS. The projection covers
/// the longest remaining term; `antithetic` selects pair-mean standard errors.
///
/// # Panics
/// If the paths are shorter than a loan's remaining term (callers check with
/// [`PathSet::require_months`]).
pub fn value_book(
    config: &Config,
    paths: &PathSet,
    loans: &[Loan],
    units: impl Into<SeUnits>,
    detail: Detail,
) -> (Vec<LoanResult>, PortfolioAccum) {
    let params = ModelParams::from_config(config);
    let months = loans
        .iter()
        .map(|l| l.remaining_term as usize)
        .max()
        .unwrap_or(1);
    let market = Market::new(paths, &params, config.valuation.oas, months);
    let ctx = Context {
        params: &params,
        market: &market,
        config,
        units: units.into(),
        tangent: None,
    };
    value_loans(&ctx, loans, detail)
}
