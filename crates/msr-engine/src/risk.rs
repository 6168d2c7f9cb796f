//! Risk (MODEL.md §C.4, §F, §J "Risk"): effective duration and convexity,
//! key-rate durations, a parallel rate-shock grid, assumption stresses in the
//! style of ASC 820 disclosures, and the static value and option cost — every
//! scenario of `msr risk`, in one pass over the loans held in memory.
//!
//! What every scenario shares with the base run (docs/risk.md has the full
//! definitions):
//! * **common random numbers**: shocked rate paths are generated from the base
//!   run's [`Normals`], so a scenario's change is the shock's effect, not noise;
//! * **the base mortgage spread** `s_m` ([`RateModel`] keeps it through shocks);
//! * **the base OAS** for every rate shock and for the static value (§J);
//! * the loans, and for assumption stresses the base paths and market arrays.
//!
//! OAS stresses need no new valuation: net cash flows do not depend on the
//! OAS, so they are read off the base run's cash-flow matrix
//! ([`DiscountedFlows`]), exactly as the OAS solve does.
//!
//! Every valuation's totals are exact sums ([`crate::valuation`]), so the whole
//! report is bit-identical for any thread count.

use msr_core::{Config, Loan};
use msr_model::{Market, MarketTangent, ModelParams};
use msr_rates::{Normals, PathSet, RateModel, KEY_RATE_TENORS};

use crate::cohorts::{value_loans_grouped, LoanSpreads};
use crate::oas::DiscountedFlows;
use crate::valuation::{
    std_error, value_loans, Context, Detail, NonFinite, PortfolioAccum, SeUnits,
};

/// Loans valued per call between progress reports (totals do not depend on
/// it). Large, because the engine shares prepayment work between the loans
/// of one call (`value_loans`).
const LOAN_CHUNK: usize = 1 << 18;

/// The scenarios to run. [`RiskSpec::default`] is the set of `msr risk`
/// (the bumped grid of MODEL.md §J).
#[derive(Debug, Clone, PartialEq)]
pub struct RiskSpec {
    /// Size of the parallel shock behind effective duration and convexity, and
    /// of every key-rate shock, in basis points (§J: 25).
    pub shock_bp: f64,
    /// Parallel rate-shock grid, basis points.
    pub rate_shocks_bp: Vec<f64>,
    /// Cost-to-service stresses, percent change of every `cost_annual`.
    pub cost_stresses_pct: Vec<f64>,
    /// Prepayment-speed stresses, percent change of CPR (before the cap).
    pub prepay_stresses_pct: Vec<f64>,
    /// Delinquency stresses, percent change of the roll from current (before the cap).
    pub roll_stresses_pct: Vec<f64>,
    /// OAS stresses, basis points added to the base OAS.
    pub oas_stresses_bp: Vec<f64>,
    /// How effective duration and the key-rate durations are computed.
    pub derivatives: Derivatives,
}

/// How `msr risk` computes effective duration and the key-rate durations
/// (docs/risk.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Derivatives {
    /// Central differences of revaluations at ±δ (MODEL.md §F, §J): twelve
    /// key-rate runs. The default, as the model contract defines the
    /// figures.
    #[default]
    Bump,
    /// Pathwise derivatives of the path values in the base run
    /// ([`msr_model::tangent`]): no key-rate runs; effective duration is
    /// the sum of the six key-rate derivatives (the tents sum to one).
    /// Convexity stays the ±δ difference of the parallel runs, which the
    /// shock grid holds anyway. An option (`--derivatives tangent`): the
    /// derivatives at zero shock differ from the contract's ±δ differences
    /// by their third-order term (0.1–0.4 % on the sample book).
    Tangent,
}

impl Derivatives {
    /// The name in configurations and outputs: `bump` or `tangent`.
    pub fn code(self) -> &'static str {
        match self {
            Derivatives::Bump => "bump",
            Derivatives::Tangent => "tangent",
        }
    }

    /// The method named `code`.
    pub fn from_code(code: &str) -> Option<Derivatives> {
        match code {
            "bump" => Some(Derivatives::Bump),
            "tangent" => Some(Derivatives::Tangent),
            _ => None,
        }
    }
}

/// The step of the central differences of the rate paths behind the
/// tangents (1 bp): the paths are affine in the curve, so any step gives the
/// derivative up to rounding.
const TANGENT_PATH_STEP: f64 = 1e-4;

impl Default for RiskSpec {
    fn default() -> Self {
        let pct = vec![-20.0, -10.0, 10.0, 20.0];
        RiskSpec {
            shock_bp: 25.0,
            rate_shocks_bp: vec![
                -300.0, -200.0, -100.0, -50.0, -25.0, 25.0, 50.0, 100.0, 200.0, 300.0,
            ],
            cost_stresses_pct: pct.clone(),
            prepay_stresses_pct: pct.clone(),
            roll_stresses_pct: pct,
            oas_stresses_bp: vec![-100.0, 100.0],
            derivatives: Derivatives::Bump,
        }
    }
}

impl RiskSpec {
    fn validate(&self) -> Result<(), RiskError> {
        let bad =
            |what: &str, x: f64, rule: &str| Err(RiskError::Spec(format!("{what} {x}: {rule}")));
        if !(self.shock_bp.is_finite() && self.shock_bp > 0.0) {
            return bad("shock_bp", self.shock_bp, "must be finite and > 0");
        }
        for (what, xs) in [
            ("rate shock (bp)", &self.rate_shocks_bp),
            ("OAS stress (bp)", &self.oas_stresses_bp),
        ] {
            if let Some(&x) = xs.iter().find(|x| !x.is_finite()) {
                return bad(what, x, "must be finite");
            }
        }
        for (what, xs) in [
            ("cost stress (%)", &self.cost_stresses_pct),
            ("prepayment stress (%)", &self.prepay_stresses_pct),
            ("delinquency stress (%)", &self.roll_stresses_pct),
        ] {
            if let Some(&x) = xs.iter().find(|x| !(x.is_finite() && **x >= -100.0)) {
                return bad(what, x, "must be finite and ≥ −100");
            }
        }
        Ok(())
    }
}

/// What a scenario changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScenarioKind {
    /// The base run.
    Base,
    /// The static path (§C.3) at the base OAS.
    Static,
    /// Every knot zero rate moved by the shock (§C.4).
    Parallel,
    /// One key-rate tent shock (§C.4).
    KeyRate,
    /// Every `cost_annual` scaled.
    CostToService,
    /// CPR scaled before the cap.
    PrepaymentSpeed,
    /// Roll from current scaled before the cap.
    DelinquencyRoll,
    /// The OAS moved.
    Oas,
}

impl ScenarioKind {
    /// The kind's name in outputs.
    pub fn code(self) -> &'static str {
        match self {
            ScenarioKind::Base => "base",
            ScenarioKind::Static => "static",
            ScenarioKind::Parallel => "parallel",
            ScenarioKind::KeyRate => "key_rate",
            ScenarioKind::CostToService => "cost_to_service",
            ScenarioKind::PrepaymentSpeed => "prepayment_speed",
            ScenarioKind::DelinquencyRoll => "delinquency_roll",
            ScenarioKind::Oas => "oas",
        }
    }

    /// Unit of [`Scenario::shock`]: `bp`, `pct` or empty.
    pub fn unit(self) -> &'static str {
        match self {
            ScenarioKind::Base | ScenarioKind::Static => "",
            ScenarioKind::Parallel | ScenarioKind::KeyRate | ScenarioKind::Oas => "bp",
            ScenarioKind::CostToService
            | ScenarioKind::PrepaymentSpeed
            | ScenarioKind::DelinquencyRoll => "pct",
        }
    }
}

/// One scenario's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Unique name, e.g. `parallel_+100bp`, `key_rate_10y_-25bp`, `cost_to_service_+20pct`.
    pub name: String,
    /// What is shocked.
    pub kind: ScenarioKind,
    /// Key-rate tenor in years (key-rate scenarios only).
    pub tenor: Option<f64>,
    /// Size of the shock in [`ScenarioKind::unit`]s (0 for base and static).
    pub shock: f64,
    /// Portfolio value ($).
    pub value: f64,
    /// `value − base value` ($).
    pub change: f64,
    /// `100·change/|base value|`; `None` when the base value is 0.
    pub change_pct: Option<f64>,
    /// Standard error of `value` over paths (§J); `None` for the static path
    /// and the OAS stresses (read off the base run's cash flows).
    pub std_error: Option<f64>,
    /// Loans left out of this scenario's total because their value was not finite.
    pub non_finite: usize,
}

/// One key-rate duration.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRateDuration {
    /// Key tenor (years).
    pub tenor: f64,
    /// `(V₋ₖ − V₊ₖ)/(2·V₀·δ)`, or with [`Derivatives::Tangent`]
    /// `−(∂V/∂z_k)/V₀`; `None` when `V₀ = 0`.
    pub duration: Option<f64>,
    /// Value with the key rate down by δ (bumped only).
    pub value_down: Option<f64>,
    /// Value with the key rate up by δ (bumped only).
    pub value_up: Option<f64>,
    /// Standard error of `duration` over the paths' own durations
    /// (the same units as the values' standard errors); `None` when
    /// `V₀ = 0` or with fewer than two units.
    pub std_error: Option<f64>,
}

/// Everything `msr risk` reports.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskReport {
    /// The base OAS every scenario uses (except the OAS stresses).
    pub oas: f64,
    /// Paths per stochastic valuation.
    pub num_paths: usize,
    /// Records valued in the base run.
    pub records: u64,
    /// Σ UPB of the base run.
    pub upb: f64,
    /// Σ s·UPB of the base run.
    pub fee_base: f64,
    /// Base value `V₀` ($).
    pub base_value: f64,
    /// Standard error of the base value.
    pub base_std_error: Option<f64>,
    /// δ of duration, convexity and key rates, in basis points.
    pub shock_bp: f64,
    /// How duration and key-rate durations were computed.
    pub derivatives: Derivatives,
    /// `(V₋ − V₊)/(2·V₀·δ)`, or with [`Derivatives::Tangent`] `−(∂V/∂z)/V₀`;
    /// `None` when `V₀ = 0`.
    pub effective_duration: Option<f64>,
    /// Standard error of `effective_duration` over the paths' own
    /// durations.
    pub duration_std_error: Option<f64>,
    /// `(V₊ + V₋ − 2V₀)/(V₀·δ²)`; `None` when `V₀ = 0`.
    pub effective_convexity: Option<f64>,
    /// One per [`KEY_RATE_TENORS`].
    pub key_rate_durations: Vec<KeyRateDuration>,
    /// The parallel grid, in [`RiskSpec::rate_shocks_bp`] order.
    pub rate_shocks: Vec<Scenario>,
    /// Cost, prepayment, delinquency and OAS stresses, in that order.
    pub assumption_stresses: Vec<Scenario>,
    /// Value on the static path at the base OAS.
    pub static_value: f64,
    /// `static_value − base_value`.
    pub option_cost: f64,
    /// Every scenario once, in run order, base first.
    pub scenarios: Vec<Scenario>,
    /// Loans left out of the base run's totals.
    pub non_finite: Vec<NonFinite>,
}

impl RiskReport {
    /// The scenario named `name`.
    pub fn scenario(&self, name: &str) -> Option<&Scenario> {
        self.scenarios.iter().find(|s| s.name == name)
    }
}

/// Where a risk run stands, for progress reports.
#[derive(Debug, Clone, Copy)]
pub struct RiskProgress<'a> {
    /// 1-based index of the running scenario.
    pub scenario: usize,
    /// Number of scenarios.
    pub scenarios: usize,
    /// Its name.
    pub name: &'a str,
    /// Loans of this scenario valued so far.
    pub loans_done: usize,
    /// Loans per scenario.
    pub loans: usize,
}

/// Why a risk run cannot start.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RiskError {
    /// A scenario definition is unusable.
    #[error("risk spec: {0}")]
    Spec(String),
    /// A loan needs more months than the run projects.
    #[error("loan {loan_id} needs {need} months (remaining_term) but the run projects {have}")]
    TooShort {
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
    /// No months to project.
    #[error("a risk run needs at least one month")]
    NoMonths,
    /// Partial results that do not belong to this run's scenarios.
    #[error("risk partial does not match the run: {0}")]
    Partial(String),
}

/// The inputs of a risk run, resolved once and shared by every scenario.
#[derive(Debug, Clone, Copy)]
pub struct RiskInputs<'a> {
    /// The valid loans.
    pub loans: &'a [Loan],
    /// The configuration; `valuation.oas` is the base OAS, and stress
    /// multipliers already set in it are the base that stresses scale.
    pub config: &'a Config,
    /// The base rate model (curve, Hull–White, `s_m`).
    pub rate_model: &'a RateModel,
    /// The base run's standard normals (one row per path).
    pub normals: &'a Normals,
    /// Months to project (paths are generated for this many).
    pub months: usize,
    /// The independent units of the standard errors.
    pub units: SeUnits,
    /// Each loan's OAS from an OAS table (`--oas-table`), aligned with
    /// `loans`; `None`: every loan at `valuation.oas`. With spreads, every
    /// scenario builds one market per distinct OAS, and the OAS stresses are
    /// valued (each spread moved by the stress) rather than read off the
    /// base cash flows, which sum loans at different spreads.
    pub spreads: Option<&'a LoanSpreads>,
}

/// One valuation with each loan at its spread (`inputs.spreads`) moved by
/// `shift`: one market per distinct OAS on `paths`, the loans valued by
/// group in chunks for progress.
#[allow(clippy::too_many_arguments)]
fn value_spreads(
    inputs: &RiskInputs<'_>,
    spreads: &LoanSpreads,
    params: &ModelParams,
    paths: &PathSet,
    shift: f64,
    detail: Detail,
    tangent: Option<&MarketTangent>,
    report: &mut dyn FnMut(usize),
) -> PortfolioAccum {
    let months = inputs.months;
    let markets: Vec<Market> = spreads
        .oas
        .iter()
        .map(|&x| Market::new(paths, params, x + shift, months))
        .collect();
    let refs: Vec<&Market> = markets.iter().collect();
    let ctx = Context {
        params,
        market: &markets[0],
        config: inputs.config,
        units: inputs.units,
        tangent,
    };
    let mut accum = PortfolioAccum::new(markets[0].num_paths(), months, detail);
    let mut done = 0;
    report(done);
    for (chunk, groups) in inputs
        .loans
        .chunks(LOAN_CHUNK)
        .zip(spreads.group_of.chunks(LOAN_CHUNK))
    {
        let (_, parts) = value_loans_grouped(&ctx, &refs, groups, chunk, detail, &|_| {});
        for part in &parts {
            accum.merge(part);
        }
        done += chunk.len();
        report(done);
    }
    accum
}

/// One valuation: the loans on `market` with `params`, in chunks for progress.
fn value_chunked(
    inputs: &RiskInputs<'_>,
    params: &ModelParams,
    market: &Market,
    detail: Detail,
    tangent: Option<&MarketTangent>,
    report: &mut dyn FnMut(usize),
) -> PortfolioAccum {
    let ctx = Context {
        params,
        market,
        config: inputs.config,
        units: inputs.units,
        tangent,
    };
    let mut accum = PortfolioAccum::new(market.num_paths(), market.months(), detail);
    let mut done = 0;
    report(done);
    for chunk in inputs.loans.chunks(LOAN_CHUNK) {
        let (_, part) = value_loans(&ctx, chunk, detail);
        accum.merge(&part);
        done += chunk.len();
        report(done);
    }
    accum
}

/// The tangents of the six key-rate directions (per unit of shock) of the
/// base paths, from paths on curves moved by ±[`TANGENT_PATH_STEP`] with the
/// same normals.
fn key_rate_tangent(
    model: &RateModel,
    normals: &Normals,
    base: &PathSet,
    months: usize,
) -> Result<MarketTangent, RiskError> {
    let h = TANGENT_PATH_STEP;
    // One direction's up and down path sets at a time (two scenarios'
    // paths, no market arrays), not twelve.
    MarketTangent::from_differences(
        base,
        KEY_RATE_TENORS.len(),
        |k| {
            (
                model.shocked_key_rate(k, h).paths(normals, months),
                model.shocked_key_rate(k, -h).paths(normals, months),
            )
        },
        h,
        months,
    )
    .map_err(|e| RiskError::Spec(format!("tangent derivatives: {e}")))
}

/// `+25`, `-300`, `+12.5`: a signed shock for scenario names.
fn signed(x: f64) -> String {
    format!("{x:+}")
}

/// A configuration with one stress multiplier scaled by `1 + pct/100`.
pub(crate) fn stressed(config: &Config, kind: ScenarioKind, pct: f64) -> Config {
    let mut c = config.clone();
    let m = 1.0 + pct / 100.0;
    match kind {
        ScenarioKind::CostToService => c.servicing.cost_multiplier *= m,
        ScenarioKind::PrepaymentSpeed => c.prepay.cpr_multiplier *= m,
        ScenarioKind::DelinquencyRoll => c.credit.roll_multiplier *= m,
        _ => unreachable!("not an assumption stress"),
    }
    c
}

/// What one planned scenario runs.
enum Plan {
    Base,
    Static,
    Curve(RateModel),
    Assumption(Box<Config>),
    /// A cost-to-service stress of this many percent: no run. A path's value
    /// is linear in `servicing.cost_multiplier` (MODEL.md §E.3: the
    /// multiplier scales `cost_annual`, which enters nothing but the cost
    /// component), so the stressed value is the base value less `pct/100` of
    /// the base run's cost PV, path by path ([`Detail::Risk`]).
    Cost(f64),
    Oas(f64),
}

/// One planned scenario: name, kind, tenor, shock and what to run.
struct Planned {
    name: String,
    kind: ScenarioKind,
    tenor: Option<f64>,
    shock: f64,
    what: Plan,
}

impl Planned {
    /// Whether the scenario values loans: every kind but the cost stresses
    /// (linear in the base run's cost PVs) and the OAS stresses (read off
    /// the base run's cash flows — unless the loans carry their own spreads,
    /// when they too are valued).
    fn values_loans(&self, spreads: bool) -> bool {
        match self.what {
            Plan::Cost(_) => false,
            Plan::Oas(_) => spreads,
            _ => true,
        }
    }
}

/// Check the spec and the run's shape; the loans are checked separately.
pub(crate) fn check_inputs(inputs: &RiskInputs<'_>, spec: &RiskSpec) -> Result<(), RiskError> {
    spec.validate()?;
    let months = inputs.months;
    if months == 0 {
        return Err(RiskError::NoMonths);
    }
    if inputs.normals.months() < months {
        return Err(RiskError::NormalsTooShort {
            need: months,
            have: inputs.normals.months(),
        });
    }
    Ok(())
}

/// Every scenario of `spec`, in run order: base, static, the parallel grid
/// (with ±δ), key rates, assumption stresses, OAS stresses.
fn plan(inputs: &RiskInputs<'_>, spec: &RiskSpec) -> Vec<Planned> {
    let oas = inputs.config.valuation.oas;
    let base_model = inputs.rate_model;
    let planned = |name: String, kind, tenor, shock, what| Planned {
        name,
        kind,
        tenor,
        shock,
        what,
    };
    let mut plan = vec![
        planned("base".into(), ScenarioKind::Base, None, 0.0, Plan::Base),
        planned(
            "static".into(),
            ScenarioKind::Static,
            None,
            0.0,
            Plan::Static,
        ),
    ];
    let mut parallel: Vec<f64> = spec.rate_shocks_bp.clone();
    parallel.extend([-spec.shock_bp, spec.shock_bp]);
    parallel.sort_by(f64::total_cmp);
    parallel.dedup();
    for &bp in &parallel {
        plan.push(planned(
            format!("parallel_{}bp", signed(bp)),
            ScenarioKind::Parallel,
            None,
            bp,
            Plan::Curve(base_model.shocked_parallel(bp / 1e4)),
        ));
    }
    let key_rates: &[f64] = match spec.derivatives {
        Derivatives::Bump => &KEY_RATE_TENORS,
        Derivatives::Tangent => &[],
    };
    for (k, &tenor) in key_rates.iter().enumerate() {
        for bp in [-spec.shock_bp, spec.shock_bp] {
            plan.push(planned(
                format!("key_rate_{tenor}y_{}bp", signed(bp)),
                ScenarioKind::KeyRate,
                Some(tenor),
                bp,
                Plan::Curve(base_model.shocked_key_rate(k, bp / 1e4)),
            ));
        }
    }
    for (kind, pcts) in [
        (ScenarioKind::CostToService, &spec.cost_stresses_pct),
        (ScenarioKind::PrepaymentSpeed, &spec.prepay_stresses_pct),
        (ScenarioKind::DelinquencyRoll, &spec.roll_stresses_pct),
    ] {
        for &pct in pcts {
            let what = match kind {
                ScenarioKind::CostToService => Plan::Cost(pct),
                _ => Plan::Assumption(Box::new(stressed(inputs.config, kind, pct))),
            };
            plan.push(planned(
                format!("{}_{}pct", kind.code(), signed(pct)),
                kind,
                None,
                pct,
                what,
            ));
        }
    }
    for &bp in &spec.oas_stresses_bp {
        plan.push(planned(
            format!("oas_{}bp", signed(bp)),
            ScenarioKind::Oas,
            None,
            bp,
            Plan::Oas(oas + bp / 1e4),
        ));
    }
    plan
}

/// The exact accumulators of every scenario that values loans, over some of
/// the book's loans: what one shard of a sharded risk run computes. Partials
/// of disjoint loan sets add up ([`RiskPartial::merge`]) to the partial of
/// their union, bit for bit, and [`assemble_risk`] turns the total into the
/// report — so a report is identical however the book was split.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskPartial {
    /// Months projected.
    pub months: usize,
    /// `(scenario name, accumulator)` in run order; the base (first) carries
    /// the cash-flow matrix and each path's cost PV ([`Detail::Risk`]), the
    /// others values only. The cost and OAS stresses are not here: they are
    /// read off the base at assembly.
    pub scenarios: Vec<(String, PortfolioAccum)>,
}

impl RiskPartial {
    /// Add another partial of the same run (disjoint loans).
    ///
    /// # Errors
    /// [`RiskError::Partial`] when the two are not partials of the same
    /// scenarios, months and paths.
    pub fn merge(&mut self, other: &RiskPartial) -> Result<(), RiskError> {
        let mismatch = |what: String| Err(RiskError::Partial(what));
        if self.months != other.months {
            return mismatch(format!("{} months against {}", self.months, other.months));
        }
        if self.scenarios.len() != other.scenarios.len() {
            return mismatch(format!(
                "{} scenarios against {}",
                self.scenarios.len(),
                other.scenarios.len()
            ));
        }
        for ((name, acc), (other_name, other_acc)) in
            self.scenarios.iter_mut().zip(&other.scenarios)
        {
            if name != other_name {
                return mismatch(format!("scenario `{name}` against `{other_name}`"));
            }
            if acc.num_paths != other_acc.num_paths
                || acc.months != other_acc.months
                || acc.cf.len() != other_acc.cf.len()
            {
                return mismatch(format!("scenario `{name}`: different path or month counts"));
            }
            acc.merge(other_acc);
        }
        Ok(())
    }
}

/// Value `inputs.loans` in every scenario of `spec` that values loans, and
/// return the exact accumulators ([`RiskPartial`]). `progress` is called as
/// each scenario starts and after each chunk of loans.
///
/// # Errors
/// [`RiskError`] when the spec is unusable, the normals are too short, or a
/// loan needs more months than `inputs.months`.
pub fn risk_partial(
    inputs: &RiskInputs<'_>,
    spec: &RiskSpec,
    progress: &mut dyn FnMut(&RiskProgress<'_>),
) -> Result<RiskPartial, RiskError> {
    check_inputs(inputs, spec)?;
    let months = inputs.months;
    if let Some(l) = inputs
        .loans
        .iter()
        .find(|l| l.remaining_term as usize > months)
    {
        return Err(RiskError::TooShort {
            loan_id: l.loan_id.clone(),
            need: l.remaining_term as usize,
            have: months,
        });
    }
    // Progress counts every scenario of the plan, the cost and OAS stresses
    // (read off the base at assembly, instantly) included.
    let plan = plan(inputs, spec);
    let total = plan.len();
    let num_loans = inputs.loans.len();
    let oas = inputs.config.valuation.oas;
    let base_model = inputs.rate_model;
    let base_params = ModelParams::from_config(inputs.config);
    let base_paths = base_model.paths(inputs.normals, months);
    let base_market = Market::new(&base_paths, &base_params, oas, months);
    let tangent = (spec.derivatives == Derivatives::Tangent)
        .then(|| key_rate_tangent(base_model, inputs.normals, &base_paths, months))
        .transpose()?;

    let mut scenarios = Vec::with_capacity(total);
    for (i, p) in plan.into_iter().enumerate() {
        let mut report = |done: usize| {
            progress(&RiskProgress {
                scenario: i + 1,
                scenarios: total,
                name: &p.name,
                loans_done: done,
                loans: num_loans,
            })
        };
        if matches!(p.what, Plan::Cost(_)) {
            report(0);
            report(num_loans);
            continue;
        }
        if let Some(spreads) = inputs.spreads {
            // Each loan at its own spread: every scenario (the OAS stresses
            // too) values loans on one market per distinct OAS.
            let (scenario_inputs, params, paths, shift, detail) = match &p.what {
                Plan::Base => (*inputs, base_params.clone(), None, 0.0, Detail::Risk),
                Plan::Static => (
                    *inputs,
                    base_params.clone(),
                    Some(base_model.static_path(months)),
                    0.0,
                    Detail::Values,
                ),
                Plan::Curve(model) => (
                    *inputs,
                    base_params.clone(),
                    Some(model.paths(inputs.normals, months)),
                    0.0,
                    Detail::Net,
                ),
                Plan::Assumption(config) => (
                    RiskInputs { config, ..*inputs },
                    ModelParams::from_config(config),
                    None,
                    0.0,
                    Detail::Net,
                ),
                Plan::Oas(_) => (
                    *inputs,
                    base_params.clone(),
                    None,
                    p.shock / 1e4,
                    Detail::Net,
                ),
                Plan::Cost(_) => unreachable!("not valued"),
            };
            let acc = value_spreads(
                &scenario_inputs,
                spreads,
                &params,
                paths.as_ref().unwrap_or(&base_paths),
                shift,
                detail,
                if matches!(p.what, Plan::Base) {
                    tangent.as_ref()
                } else {
                    None
                },
                &mut report,
            );
            scenarios.push((p.name, acc));
            continue;
        }
        let acc = match &p.what {
            Plan::Base => value_chunked(
                inputs,
                &base_params,
                &base_market,
                Detail::Risk,
                tangent.as_ref(),
                &mut report,
            ),
            Plan::Static | Plan::Curve(_) => {
                let paths: PathSet = match &p.what {
                    Plan::Curve(model) => model.paths(inputs.normals, months),
                    _ => base_model.static_path(months),
                };
                let market = Market::new(&paths, &base_params, oas, months);
                // The static value as `msr oas` computes it ([`static_value`]).
                let detail = match p.what {
                    Plan::Static => Detail::Values,
                    _ => Detail::Net,
                };
                value_chunked(inputs, &base_params, &market, detail, None, &mut report)
            }
            Plan::Assumption(config) => {
                let params = ModelParams::from_config(config);
                // The market arrays depend on the prepayment shape parameters
                // only, which no stress changes: the base arrays serve.
                debug_assert!(
                    params.lockin == base_params.lockin
                        && params.refi_slope == base_params.refi_slope
                        && params.burnout == base_params.burnout
                );
                let ctx_inputs = RiskInputs { config, ..*inputs };
                value_chunked(
                    &ctx_inputs,
                    &params,
                    &base_market,
                    Detail::Net,
                    None,
                    &mut report,
                )
            }
            Plan::Oas(_) => {
                report(0);
                report(num_loans);
                continue;
            }
            Plan::Cost(_) => unreachable!("not valued"),
        };
        scenarios.push((p.name, acc));
    }
    Ok(RiskPartial { months, scenarios })
}

/// Turn the accumulators of a whole book into the report: scenario values
/// and standard errors, the OAS stresses off the base cash flows, duration,
/// convexity, key-rate durations and option cost. `inputs.loans` is not
/// read (the merge of a sharded run passes none).
///
/// # Errors
/// [`RiskError`] when the spec or the normals are unusable, or `partial` is
/// not the partial of this spec ([`RiskError::Partial`]).
pub fn assemble_risk(
    inputs: &RiskInputs<'_>,
    spec: &RiskSpec,
    partial: &RiskPartial,
) -> Result<RiskReport, RiskError> {
    check_inputs(inputs, spec)?;
    let months = inputs.months;
    if partial.months != months {
        return Err(RiskError::Partial(format!(
            "the partial projects {} months, the run {months}",
            partial.months
        )));
    }
    let plan = plan(inputs, spec);
    let valued = plan
        .iter()
        .filter(|p| p.values_loans(inputs.spreads.is_some()))
        .count();
    if valued != partial.scenarios.len() {
        return Err(RiskError::Partial(format!(
            "the spec has {valued} valued scenarios, the partial {}",
            partial.scenarios.len()
        )));
    }
    let oas = inputs.config.valuation.oas;
    let delta = spec.shock_bp / 1e4;
    let base_acc = &partial.scenarios[0].1;
    let base_paths = inputs.rate_model.paths(inputs.normals, months);
    let flows = DiscountedFlows::from_accum(base_acc, &base_paths)
        .map_err(|e| RiskError::Partial(format!("base scenario: {e}")))?;

    let mut accums = partial.scenarios.iter();
    let mut scenarios: Vec<Scenario> = Vec::with_capacity(plan.len());
    for p in plan {
        let (value, std_err, non_finite) = match p.what {
            Plan::Oas(x) if inputs.spreads.is_none() => (flows.value(x), None, 0),
            Plan::Cost(pct) => cost_stress(base_acc, pct, inputs.units)?,
            _ => {
                let (name, acc) = accums.next().expect("counted above");
                if *name != p.name {
                    return Err(RiskError::Partial(format!(
                        "scenario `{name}` where the spec has `{}`",
                        p.name
                    )));
                }
                let units = if p.kind == ScenarioKind::Static {
                    SeUnits::Paths
                } else {
                    inputs.units
                };
                let (v, se, nf) = summarise(acc, units);
                (
                    v,
                    if p.kind == ScenarioKind::Static {
                        None
                    } else {
                        se
                    },
                    nf,
                )
            }
        };
        scenarios.push(Scenario {
            name: p.name,
            kind: p.kind,
            tenor: p.tenor,
            shock: p.shock,
            value,
            change: 0.0,
            change_pct: None,
            std_error: std_err,
            non_finite,
        });
    }

    let v0 = base_acc.total.value.value();
    for s in &mut scenarios {
        s.change = s.value - v0;
        s.change_pct = (v0 != 0.0).then(|| 100.0 * s.change / v0.abs());
    }
    let find = |kind: ScenarioKind, tenor: Option<f64>, bp: f64| -> &Scenario {
        scenarios
            .iter()
            .find(|s| s.kind == kind && s.tenor == tenor && s.shock == bp)
            .expect("planned scenario")
    };
    let per_v0 = |x: f64| (v0 != 0.0).then_some(x / v0);
    let (v_dn, v_up) = (
        find(ScenarioKind::Parallel, None, -spec.shock_bp).value,
        find(ScenarioKind::Parallel, None, spec.shock_bp).value,
    );
    let effective_convexity = per_v0((v_up + v_dn - 2.0 * v0) / (delta * delta));
    // Each path's duration: −∂V_p/∂z / V₀, by difference or by tangent.
    let path_durations = |dn: &PortfolioAccum, up: &PortfolioAccum| -> Vec<f64> {
        (0..dn.num_paths)
            .map(|p| (dn.path_value(p) - up.path_value(p)) / (2.0 * delta * v0))
            .collect()
    };
    let se = |paths: &[f64]| {
        if v0 == 0.0 {
            None
        } else {
            std_error(paths, inputs.units)
        }
    };
    let (effective_duration, duration_std_error, key_rate_durations) = match spec.derivatives {
        Derivatives::Bump => {
            let run = |kind, tenor, bp| -> Result<&PortfolioAccum, RiskError> {
                let name = &find(kind, tenor, bp).name;
                partial
                    .scenarios
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, acc)| acc)
                    .ok_or_else(|| RiskError::Partial(format!("no run of `{name}`")))
            };
            let parallel = path_durations(
                run(ScenarioKind::Parallel, None, -spec.shock_bp)?,
                run(ScenarioKind::Parallel, None, spec.shock_bp)?,
            );
            let mut krds = Vec::with_capacity(KEY_RATE_TENORS.len());
            for &tenor in &KEY_RATE_TENORS {
                let value_down = find(ScenarioKind::KeyRate, Some(tenor), -spec.shock_bp).value;
                let value_up = find(ScenarioKind::KeyRate, Some(tenor), spec.shock_bp).value;
                let paths = path_durations(
                    run(ScenarioKind::KeyRate, Some(tenor), -spec.shock_bp)?,
                    run(ScenarioKind::KeyRate, Some(tenor), spec.shock_bp)?,
                );
                krds.push(KeyRateDuration {
                    tenor,
                    duration: per_v0((value_down - value_up) / (2.0 * delta)),
                    value_down: Some(value_down),
                    value_up: Some(value_up),
                    std_error: se(&paths),
                });
            }
            (per_v0((v_dn - v_up) / (2.0 * delta)), se(&parallel), krds)
        }
        Derivatives::Tangent => {
            let np = base_acc.num_paths;
            let dirs = KEY_RATE_TENORS.len();
            // A base run that summed no loan kept no derivatives: all zero.
            let tangents: Vec<f64> =
                if base_acc.path_tangents.is_empty() && base_acc.total.records == 0 {
                    vec![0.0; dirs * np]
                } else if base_acc.path_tangents.len() == dirs * np {
                    base_acc.path_tangents.iter().map(|s| s.value()).collect()
                } else {
                    return Err(RiskError::Partial(format!(
                        "the base scenario kept {} rate derivatives, not {dirs} per path",
                        base_acc.path_tangents.len()
                    )));
                };
            let tangent = |k: usize, p: usize| tangents[k * np + p];
            let mut sum = vec![0.0; np];
            let mut krds = Vec::with_capacity(dirs);
            for (k, &tenor) in KEY_RATE_TENORS.iter().enumerate() {
                let paths: Vec<f64> = (0..np).map(|p| -tangent(k, p) / v0).collect();
                for (a, x) in sum.iter_mut().zip(&paths) {
                    *a += x;
                }
                let dv = (0..np).map(|p| tangent(k, p)).sum::<f64>() / np as f64;
                krds.push(KeyRateDuration {
                    tenor,
                    duration: per_v0(-dv),
                    value_down: None,
                    value_up: None,
                    std_error: se(&paths),
                });
            }
            let dv: f64 = (0..dirs)
                .map(|k| (0..np).map(|p| tangent(k, p)).sum::<f64>())
                .sum::<f64>()
                / np as f64;
            (per_v0(-dv), se(&sum), krds)
        }
    };
    let rate_shocks = spec
        .rate_shocks_bp
        .iter()
        .map(|&bp| find(ScenarioKind::Parallel, None, bp).clone())
        .collect();
    let assumption_stresses = scenarios
        .iter()
        .filter(|s| {
            matches!(
                s.kind,
                ScenarioKind::CostToService
                    | ScenarioKind::PrepaymentSpeed
                    | ScenarioKind::DelinquencyRoll
                    | ScenarioKind::Oas
            )
        })
        .cloned()
        .collect();
    let static_value = find(ScenarioKind::Static, None, 0.0).value;
    Ok(RiskReport {
        oas,
        num_paths: base_acc.num_paths,
        records: base_acc.total.records,
        upb: base_acc.total.upb.value(),
        fee_base: base_acc.total.fee_base.value(),
        base_value: v0,
        base_std_error: scenarios[0].std_error,
        shock_bp: spec.shock_bp,
        derivatives: spec.derivatives,
        effective_duration,
        duration_std_error,
        effective_convexity,
        key_rate_durations,
        rate_shocks,
        assumption_stresses,
        static_value,
        option_cost: static_value - v0,
        non_finite: base_acc.non_finite.clone(),
        scenarios,
    })
}

/// Run every scenario of `spec` and assemble the report: [`risk_partial`]
/// over all of `inputs.loans`, then [`assemble_risk`]. `progress` is called
/// as each scenario starts and after each chunk of loans.
///
/// # Errors
/// [`RiskError`] when the spec is unusable, the normals are too short, or a
/// loan needs more months than `inputs.months`.
pub fn run_risk(
    inputs: &RiskInputs<'_>,
    spec: &RiskSpec,
    progress: &mut dyn FnMut(&RiskProgress<'_>),
) -> Result<RiskReport, RiskError> {
    let partial = risk_partial(inputs, spec, progress)?;
    assemble_risk(inputs, spec, &partial)
}

/// Value, standard error and non-finite count of a cost-to-service stress of
/// `pct` percent, from the base run: each path's value less `pct/100` of its
/// cost PV (the loans left out are the base run's).
fn cost_stress(
    base: &PortfolioAccum,
    pct: f64,
    units: SeUnits,
) -> Result<(f64, Option<f64>, usize), RiskError> {
    if base.path_costs.len() != base.num_paths {
        return Err(RiskError::Partial(
            "the base scenario kept no per-path cost PVs".into(),
        ));
    }
    let k = pct / 100.0;
    let cost = base.pv[msr_model::Component::Cost as usize].value();
    let value = base.total.value.value() - k * cost;
    let path_values: Vec<f64> = (0..base.num_paths)
        .map(|p| base.path_value(p) - k * base.path_costs[p].value())
        .collect();
    Ok((value, std_error(&path_values, units), base.non_finite.len()))
}

/// Value, standard error and non-finite count of one run.
fn summarise(acc: &PortfolioAccum, units: SeUnits) -> (f64, Option<f64>, usize) {
    let path_values: Vec<f64> = (0..acc.num_paths).map(|p| acc.path_value(p)).collect();
    (
        acc.total.value.value(),
        std_error(&path_values, units),
        acc.non_finite.len(),
    )
}

/// The static value (MODEL.md §C.3: one path, `x ≡ 0`) of `loans` at `oas`;
/// the option cost is this minus the stochastic value at the same OAS. Used
/// by `msr oas` at the solved OAS.
pub fn static_value(
    loans: &[Loan],
    config: &Config,
    rate_model: &RateModel,
    oas: f64,
    months: usize,
) -> f64 {
    let params = ModelParams::from_config(config);
    let paths = rate_model.static_path(months);
    let market = Market::new(&paths, &params, oas, months);
    let ctx = Context {
        params: &params,
        market: &market,
        config,
        units: SeUnits::Paths,
        tangent: None,
    };
    // `Values`, not `Net`: one path is cheap, and the kernel's component
    // sums keep the static value the bits of `msr value` on this path.
    let (_, acc) = value_loans(&ctx, loans, Detail::Values);
    acc.total.value.value()
}
