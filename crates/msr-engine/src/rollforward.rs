//! The fair-value roll-forward (docs/rollforward.md): the change in a book's
//! fair value between two valuation dates explained as an exact sequence of
//! substitutions, loans matched by `loan_id`, every valuation on the same
//! random numbers.
//!
//! With `V(row, config)` one loan's value and the *continuing* loans those in
//! both tapes:
//!
//! | level / step | value |
//! |---|---|
//! | beginning `L0` | Σ prior loans `V(prior row, prior config)` |
//! | `loans_removed` | − Σ loans only in the prior tape `V(prior row, prior config)` |
//! | `loans_added` | + Σ loans only in the current tape `V(current row, current config)` |
//! | `runoff_and_performance` | Σ continuing `V(current row, prior config)` − `V(prior row, prior config)` |
//! | `market` | Σ continuing `V(current row, mixed config)` − `V(current row, prior config)` |
//! | `assumptions` | Σ continuing `V(current row, current config)` − `V(current row, mixed config)` |
//! | ending | Σ current loans `V(current row, current config)` |
//!
//! where the *mixed* configuration is the prior one with the current market
//! ([`market_substituted`]: `[curve]`, `[mortgage_rate]`, `[hull_white]`,
//! `valuation.oas`, `valuation.as_of`); everything else (prepayment, credit,
//! servicing, investor rules and any other model table) counts as
//! assumptions. Four valuations give every term: the prior tape at the prior
//! configuration, the continuing loans of the current tape at the prior and
//! at the mixed configuration, and the current tape at the current one.
//!
//! Every level is an exact fixed-point sum ([`ExactSum`]) of per-loan values,
//! so the steps telescope exactly: `beginning + Σ changes = ending` in the
//! integers, to within one rounding of each printed figure in `f64`. The same
//! holds per investor, each level summed by the investor of the row valued
//! (the prior row for the beginning and the removed loans, the current row
//! otherwise).
//!
//! The rate paths of both markets come from the same [`Normals`] (common
//! random numbers), so the market step is the effect of the curve and
//! volatility change, not Monte Carlo noise; for identical inputs every step
//! is exactly zero.

use std::collections::HashMap;

use msr_core::loan::{Loan, NUM_INVESTORS};
use msr_core::{Config, ExactSum};
use msr_model::{Market, ModelParams};
use msr_rates::{Normals, PathSet, RateModel};

use crate::cohorts::{value_loans_grouped, CohortTable};
use crate::valuation::{
    value_loans, Context, Detail, LoanResult, NonFinite, PortfolioAccum, SeUnits,
};

/// Loans valued per call between progress reports (totals do not depend on
/// it). Large, because the engine shares prepayment work between the loans
/// of one call (`value_loans`).
const LOAN_CHUNK: usize = 1 << 18;

/// Number of steps between the beginning and the ending value.
pub const NUM_STEPS: usize = 5;

/// One step of the roll-forward, in the order applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// Loans in the prior tape only (paid off, sold, transferred out).
    LoansRemoved,
    /// Loans in the current tape only (purchased, boarded).
    LoansAdded,
    /// Continuing loans: the current rows (aged, paid down, rolled) against
    /// the prior rows, both at the prior configuration.
    RunoffAndPerformance,
    /// Continuing loans: the current market (curve, mortgage rate,
    /// Hull–White, OAS, as-of date) against the prior one.
    Market,
    /// Continuing loans: the current model assumptions against the prior ones.
    Assumptions,
}

impl Step {
    /// Every step, in the order applied.
    pub const ALL: [Step; NUM_STEPS] = [
        Step::LoansRemoved,
        Step::LoansAdded,
        Step::RunoffAndPerformance,
        Step::Market,
        Step::Assumptions,
    ];

    /// The step's name in outputs.
    pub fn name(self) -> &'static str {
        match self {
            Step::LoansRemoved => "loans_removed",
            Step::LoansAdded => "loans_added",
            Step::RunoffAndPerformance => "runoff_and_performance",
            Step::Market => "market",
            Step::Assumptions => "assumptions",
        }
    }

    /// Position in [`Step::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// The configuration of the market step: `assumptions_from` (the prior
/// configuration) with the market of `market_from` (the current one).
///
/// Market: `[curve]`, `[mortgage_rate]`, `[hull_white]`, `valuation.oas` (a
/// pricing spread) and `valuation.as_of` (the date of the curve, which also
/// fixes the calendar month of the projection's seasonality). Everything else
/// is taken from `assumptions_from`, so a table added to [`Config`] later
/// counts as an assumption until it is named here.
pub fn market_substituted(assumptions_from: &Config, market_from: &Config) -> Config {
    let mut mixed = assumptions_from.clone();
    mixed.curve = market_from.curve.clone();
    mixed.mortgage_rate = market_from.mortgage_rate.clone();
    mixed.hull_white = market_from.hull_white.clone();
    mixed.valuation.oas = market_from.valuation.oas;
    mixed.valuation.as_of = market_from.valuation.as_of.clone();
    mixed
}

/// One roll-forward table: the beginning level and the level after each step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RollforwardTable {
    /// `levels[0]` is the beginning value, `levels[k + 1]` the level after
    /// step `k` of [`Step::ALL`]; the last is the ending value.
    pub levels: [ExactSum; NUM_STEPS + 1],
}

impl RollforwardTable {
    /// The beginning value `L0` ($).
    pub fn beginning(&self) -> f64 {
        self.levels[0].value()
    }

    /// The ending value ($).
    pub fn ending(&self) -> f64 {
        self.levels[NUM_STEPS].value()
    }

    /// The change of `step` ($): the exact difference of two levels, rounded
    /// once to `f64`.
    pub fn change(&self, step: Step) -> f64 {
        let k = step.index();
        difference(self.levels[k + 1], self.levels[k])
    }

    /// The change over the whole period, `ending − beginning` ($), exact
    /// before the one rounding.
    pub fn period_change(&self) -> f64 {
        difference(self.levels[NUM_STEPS], self.levels[0])
    }

    /// The level after `step` ($).
    pub fn level_after(&self, step: Step) -> f64 {
        self.levels[step.index() + 1].value()
    }

    /// Every change, in [`Step::ALL`] order.
    pub fn changes(&self) -> [f64; NUM_STEPS] {
        Step::ALL.map(|s| self.change(s))
    }

    fn merge(&mut self, o: &RollforwardTable) {
        for (a, b) in self.levels.iter_mut().zip(&o.levels) {
            a.merge(*b);
        }
    }
}

/// `a − b` exactly, rounded once; NaN if either sum overflowed (which the
/// engine's guard on per-loan amounts rules out).
fn difference(a: ExactSum, b: ExactSum) -> f64 {
    if a.overflowed() || b.overflowed() {
        return f64::NAN;
    }
    a.raw()
        .checked_sub(b.raw())
        .map_or(f64::NAN, |d| ExactSum::from_raw(d).value())
}

/// How the two tapes' loans match up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoanCounts {
    /// Loans in the prior tape.
    pub prior: usize,
    /// Loans in the current tape.
    pub current: usize,
    /// Loans in the prior tape only.
    pub removed: usize,
    /// Loans in the current tape only.
    pub added: usize,
    /// Loans in both.
    pub continuing: usize,
}

/// One of the four valuations behind a roll-forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RollforwardRun {
    /// The prior tape at the prior configuration.
    PriorAtPrior,
    /// The continuing loans' current rows at the prior configuration.
    CurrentAtPrior,
    /// The continuing loans' current rows at the prior assumptions and the
    /// current market.
    CurrentAtMixed,
    /// The current tape at the current configuration.
    CurrentAtCurrent,
}

impl RollforwardRun {
    /// Every run, in the order performed.
    pub const ALL: [RollforwardRun; 4] = [
        RollforwardRun::PriorAtPrior,
        RollforwardRun::CurrentAtPrior,
        RollforwardRun::CurrentAtMixed,
        RollforwardRun::CurrentAtCurrent,
    ];

    /// A short description for progress reports and warnings.
    pub fn describe(self) -> &'static str {
        match self {
            RollforwardRun::PriorAtPrior => "prior loans at prior config",
            RollforwardRun::CurrentAtPrior => "continuing loans at prior config",
            RollforwardRun::CurrentAtMixed => {
                "continuing loans at prior assumptions, current market"
            }
            RollforwardRun::CurrentAtCurrent => "current loans at current config",
        }
    }
}

/// A loan whose value was not finite in one of the runs; it counts as 0 in
/// that run's sums.
#[derive(Debug, Clone, PartialEq)]
pub struct RunNonFinite {
    /// The run.
    pub run: RollforwardRun,
    /// The loan and what was not finite.
    pub loan: NonFinite,
}

/// The roll-forward of a book, in total and by investor.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollforward {
    /// All loans.
    pub total: RollforwardTable,
    /// By investor (index order of [`msr_core::Investor::ALL`]); each level
    /// summed by the investor of the row valued.
    pub by_investor: [RollforwardTable; NUM_INVESTORS],
    /// How the tapes matched.
    pub loans: LoanCounts,
    /// Paths every valuation used.
    pub num_paths: usize,
    /// Loans left out (counted as 0) of a run's sums because their value was
    /// not finite, in run order.
    pub non_finite: Vec<RunNonFinite>,
}

/// The inputs of a roll-forward.
#[derive(Debug, Clone, Copy)]
pub struct RollforwardInputs<'a> {
    /// The prior tape's valid loans.
    pub prior_loans: &'a [Loan],
    /// The current tape's valid loans.
    pub current_loans: &'a [Loan],
    /// The prior configuration.
    pub prior_config: &'a Config,
    /// The current configuration.
    pub current_config: &'a Config,
    /// The standard normals behind every valuation's paths (one row per
    /// path); the configurations' `num_paths`, `seed` and `antithetic` are
    /// not used.
    pub normals: &'a Normals,
    /// Months to project (paths are generated for this many).
    pub months: usize,
    /// The independent units of the standard errors.
    pub units: SeUnits,
    /// The prior date's OAS table (`--prior-oas-table`): runs 1 and 2 value
    /// each loan at its cohort's OAS; `None`: `prior_config.valuation.oas`.
    pub prior_spreads: Option<&'a CohortTable>,
    /// The current date's OAS table (`--oas-table`): runs 3 and 4 (so the
    /// market step carries the change of spreads); `None`:
    /// `current_config.valuation.oas`.
    pub current_spreads: Option<&'a CohortTable>,
}

/// Where a roll-forward stands, for progress reports.
#[derive(Debug, Clone, Copy)]
pub struct RollforwardProgress {
    /// The running valuation.
    pub run: RollforwardRun,
    /// 1-based index of the run.
    pub index: usize,
    /// Number of runs.
    pub runs: usize,
    /// Loans of this run valued so far.
    pub loans_done: usize,
    /// Loans this run values.
    pub loans: usize,
}

/// Why a roll-forward cannot start.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RollforwardError {
    /// A `loan_id` appears twice in one tape, so loans cannot be matched.
    #[error("the {tape} tape holds loan_id `{loan_id}` more than once")]
    DuplicateLoanId {
        /// `prior` or `current`.
        tape: &'static str,
        /// The id.
        loan_id: String,
    },
    /// A loan needs more months than the run projects.
    #[error(
        "{tape} loan {loan_id} needs {need} months (remaining_term) but the run projects {have}"
    )]
    TooShort {
        /// `prior` or `current`.
        tape: &'static str,
        /// The loan.
        loan_id: String,
        /// Its remaining term.
        need: usize,
        /// Months projected.
        have: usize,
    },
    /// The normals hold fewer months than the run projects.
    #[error("the random numbers cover {have} months but the run projects {need}")]
    NormalsTooShort {
        /// Months needed.
        need: usize,
        /// Months held.
        have: usize,
    },
    /// No months or no paths.
    #[error("a roll-forward needs at least one month and one path")]
    Empty,
    /// A loan falls in no cohort of an OAS table.
    #[error("{which} OAS table: {detail}")]
    Spreads {
        /// `prior` or `current`.
        which: &'static str,
        /// The table's message.
        detail: String,
    },
    /// A configuration's market data cannot build a rate model.
    #[error("{which} config: {detail}")]
    Market {
        /// `prior` or `current`.
        which: &'static str,
        /// The rate model's message.
        detail: String,
    },
}

/// Per-investor exact sums of one set of values.
type ByInvestor = [ExactSum; NUM_INVESTORS];

/// Runs the valuations: each loan's value, `None` when not finite (recorded
/// in `non_finite`), with progress reports.
struct Valuer<'a> {
    inputs: &'a RollforwardInputs<'a>,
    progress: &'a mut dyn FnMut(&RollforwardProgress),
    non_finite: &'a mut Vec<RunNonFinite>,
}

impl Valuer<'_> {
    fn run(
        &mut self,
        run: RollforwardRun,
        loans: &[Loan],
        config: &Config,
        params: &ModelParams,
        market: &Market,
    ) -> Vec<Option<f64>> {
        let ctx = Context {
            params,
            market,
            config,
            units: self.inputs.units,
            tangent: None,
        };
        let index = RollforwardRun::ALL
            .iter()
            .position(|r| *r == run)
            .unwrap_or(0)
            + 1;
        let mut report = |done: usize| {
            (self.progress)(&RollforwardProgress {
                run,
                index,
                runs: RollforwardRun::ALL.len(),
                loans_done: done,
                loans: loans.len(),
            })
        };
        let mut values = Vec::with_capacity(loans.len());
        report(0);
        for chunk in loans.chunks(LOAN_CHUNK) {
            let (results, accum) = value_loans(&ctx, chunk, Detail::Values);
            values.extend(results.iter().map(|r| r.is_finite().then_some(r.value)));
            self.non_finite.extend(
                accum
                    .non_finite
                    .into_iter()
                    .map(|loan| RunNonFinite { run, loan }),
            );
            report(values.len());
        }
        values
    }
}

impl Valuer<'_> {
    /// [`Valuer::run`], or with an OAS table each loan at its cohort's OAS
    /// on one market per distinct OAS (built from `paths`).
    ///
    /// # Errors
    /// [`RollforwardError::Spreads`] when a loan falls in no cohort.
    #[allow(clippy::too_many_arguments)]
    fn run_at(
        &mut self,
        run: RollforwardRun,
        loans: &[Loan],
        config: &Config,
        params: &ModelParams,
        market: &Market,
        paths: &PathSet,
        spreads: Option<(&CohortTable, &'static str)>,
    ) -> Result<Vec<Option<f64>>, RollforwardError> {
        let Some((table, which)) = spreads else {
            return Ok(self.run(run, loans, config, params, market));
        };
        let cohort_of = table
            .cohort_of(loans)
            .map_err(|e| RollforwardError::Spreads {
                which,
                detail: e.to_string(),
            })?;
        let (oas, market_of_cohort) = table.distinct_numbers();
        let group_of: Vec<usize> = cohort_of.iter().map(|&c| market_of_cohort[c]).collect();
        let markets: Vec<Market> = oas
            .iter()
            .map(|&x| Market::new(paths, params, x, market.months()))
            .collect();
        let refs: Vec<&Market> = markets.iter().collect();
        let ctx = Context {
            params,
            market,
            config,
            units: self.inputs.units,
            tangent: None,
        };
        let mut values = Vec::with_capacity(loans.len());
        (self.progress)(&RollforwardProgress {
            run,
            index: run_index(run),
            runs: RollforwardRun::ALL.len(),
            loans_done: 0,
            loans: loans.len(),
        });
        for (chunk, groups) in loans.chunks(LOAN_CHUNK).zip(group_of.chunks(LOAN_CHUNK)) {
            let (results, parts): (Vec<LoanResult>, Vec<PortfolioAccum>) =
                value_loans_grouped(&ctx, &refs, groups, chunk, Detail::Values, &|_| {});
            values.extend(results.iter().map(|r| r.is_finite().then_some(r.value)));
            for part in parts {
                self.non_finite.extend(
                    part.non_finite
                        .into_iter()
                        .map(|loan| RunNonFinite { run, loan }),
                );
            }
            (self.progress)(&RollforwardProgress {
                run,
                index: run_index(run),
                runs: RollforwardRun::ALL.len(),
                loans_done: values.len(),
                loans: loans.len(),
            });
        }
        Ok(values)
    }
}

/// 1-based position of a run.
fn run_index(run: RollforwardRun) -> usize {
    RollforwardRun::ALL
        .iter()
        .position(|r| *r == run)
        .unwrap_or(0)
        + 1
}

/// Index loans by id, refusing duplicates.
fn index_by_id<'a>(
    loans: &'a [Loan],
    tape: &'static str,
) -> Result<HashMap<&'a str, usize>, RollforwardError> {
    let mut map = HashMap::with_capacity(loans.len());
    for (k, l) in loans.iter().enumerate() {
        if map.insert(l.loan_id.as_str(), k).is_some() {
            return Err(RollforwardError::DuplicateLoanId {
                tape,
                loan_id: l.loan_id.clone(),
            });
        }
    }
    Ok(map)
}

fn rate_model(config: &Config, which: &'static str) -> Result<RateModel, RollforwardError> {
    RateModel::from_config(&config.curve, &config.hull_white, &config.mortgage_rate).map_err(|e| {
        RollforwardError::Market {
            which,
            detail: e.to_string(),
        }
    })
}

/// Add `value` (if finite) to the investor of `loan`.
fn add(sums: &mut ByInvestor, loan: &Loan, value: Option<f64>) {
    if let Some(v) = value {
        sums[loan.investor.index()].add(v);
    }
}

/// Compute the roll-forward. `progress` is called as each run starts and
/// after each chunk of loans.
///
/// # Errors
/// [`RollforwardError`] when a tape repeats a `loan_id`, a loan is longer than
/// `inputs.months`, the normals are too short, or a configuration's market
/// data is unusable.
pub fn rollforward(
    inputs: &RollforwardInputs<'_>,
    progress: &mut dyn FnMut(&RollforwardProgress),
) -> Result<Rollforward, RollforwardError> {
    let months = inputs.months;
    if months == 0 || inputs.normals.num_paths() == 0 {
        return Err(RollforwardError::Empty);
    }
    if inputs.normals.months() < months {
        return Err(RollforwardError::NormalsTooShort {
            need: months,
            have: inputs.normals.months(),
        });
    }
    for (tape, loans) in [
        ("prior", inputs.prior_loans),
        ("current", inputs.current_loans),
    ] {
        if let Some(l) = loans.iter().find(|l| l.remaining_term as usize > months) {
            return Err(RollforwardError::TooShort {
                tape,
                loan_id: l.loan_id.clone(),
                need: l.remaining_term as usize,
                have: months,
            });
        }
    }
    let prior_ids = index_by_id(inputs.prior_loans, "prior")?;
    let current_ids = index_by_id(inputs.current_loans, "current")?;
    let prior_model = rate_model(inputs.prior_config, "prior")?;
    let current_model = rate_model(inputs.current_config, "current")?;

    // Continuing loans: (prior index, current index), in current-tape order;
    // their current rows, valued twice more on their own.
    let continuing: Vec<(usize, usize)> = inputs
        .current_loans
        .iter()
        .enumerate()
        .filter_map(|(c, l)| prior_ids.get(l.loan_id.as_str()).map(|&p| (p, c)))
        .collect();
    let continuing_rows: Vec<Loan> = continuing
        .iter()
        .map(|&(_, c)| inputs.current_loans[c].clone())
        .collect();
    let in_current: Vec<bool> = inputs
        .prior_loans
        .iter()
        .map(|l| current_ids.contains_key(l.loan_id.as_str()))
        .collect();
    let is_continuing_current: Vec<bool> = inputs
        .current_loans
        .iter()
        .map(|l| prior_ids.contains_key(l.loan_id.as_str()))
        .collect();
    let loans = LoanCounts {
        prior: inputs.prior_loans.len(),
        current: inputs.current_loans.len(),
        removed: inputs.prior_loans.len() - continuing.len(),
        added: inputs.current_loans.len() - continuing.len(),
        continuing: continuing.len(),
    };

    let mut non_finite = Vec::new();
    let mut valuer = Valuer {
        inputs,
        progress,
        non_finite: &mut non_finite,
    };

    // Runs 1 and 2: the prior market.
    let (a, b) = {
        let config = inputs.prior_config;
        let paths = prior_model.paths(inputs.normals, months);
        let params = ModelParams::from_config(config);
        let market = Market::new(&paths, &params, config.valuation.oas, months);
        let prior = inputs.prior_spreads.map(|t| (t, "prior"));
        let a = valuer.run_at(
            RollforwardRun::PriorAtPrior,
            inputs.prior_loans,
            config,
            &params,
            &market,
            &paths,
            prior,
        )?;
        let b = valuer.run_at(
            RollforwardRun::CurrentAtPrior,
            &continuing_rows,
            config,
            &params,
            &market,
            &paths,
            prior,
        )?;
        (a, b)
    };
    // Runs 3 and 4: the current market, first with the prior assumptions.
    let (c, d) = {
        let paths = current_model.paths(inputs.normals, months);
        let mixed = market_substituted(inputs.prior_config, inputs.current_config);
        let current = inputs.current_spreads.map(|t| (t, "current"));
        let c = {
            let params = ModelParams::from_config(&mixed);
            let market = Market::new(&paths, &params, mixed.valuation.oas, months);
            valuer.run_at(
                RollforwardRun::CurrentAtMixed,
                &continuing_rows,
                &mixed,
                &params,
                &market,
                &paths,
                current,
            )?
        };
        let config = inputs.current_config;
        let params = ModelParams::from_config(config);
        let market = Market::new(&paths, &params, config.valuation.oas, months);
        let d = valuer.run_at(
            RollforwardRun::CurrentAtCurrent,
            inputs.current_loans,
            config,
            &params,
            &market,
            &paths,
            current,
        )?;
        (c, d)
    };

    // The sums behind the levels, by investor of the row valued.
    let zero = [ExactSum::ZERO; NUM_INVESTORS];
    let (mut a_all, mut a_cont) = (zero, zero);
    for ((l, &v), &kept) in inputs.prior_loans.iter().zip(&a).zip(&in_current) {
        add(&mut a_all, l, v);
        if kept {
            add(&mut a_cont, l, v);
        }
    }
    let (mut b_cont, mut c_cont) = (zero, zero);
    for ((l, &vb), &vc) in continuing_rows.iter().zip(&b).zip(&c) {
        add(&mut b_cont, l, vb);
        add(&mut c_cont, l, vc);
    }
    let (mut d_cont, mut d_added) = (zero, zero);
    for ((l, &v), &cont) in inputs
        .current_loans
        .iter()
        .zip(&d)
        .zip(&is_continuing_current)
    {
        if cont {
            add(&mut d_cont, l, v);
        } else {
            add(&mut d_added, l, v);
        }
    }

    let plus = |x: ExactSum, y: ExactSum| {
        let mut s = x;
        s.merge(y);
        s
    };
    let mut by_investor = [RollforwardTable::default(); NUM_INVESTORS];
    for (i, table) in by_investor.iter_mut().enumerate() {
        table.levels = [
            a_all[i],
            a_cont[i],
            plus(a_cont[i], d_added[i]),
            plus(b_cont[i], d_added[i]),
            plus(c_cont[i], d_added[i]),
            plus(d_cont[i], d_added[i]),
        ];
    }
    let mut total = RollforwardTable::default();
    for table in &by_investor {
        total.merge(table);
    }
    Ok(Rollforward {
        total,
        by_investor,
        loans,
        num_paths: inputs.normals.num_paths(),
        non_finite,
    })
}
