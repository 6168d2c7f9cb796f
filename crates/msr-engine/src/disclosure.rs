//! Accounting outputs (docs/accounting.md): the ASC 820 Level 3 disclosure
//! of `msr disclose` — fair value, the weighted-average key inputs with
//! their loan-level ranges, and the change in fair value under a 10 % and a
//! 20 % adverse change in each key input — and the ASC 860-50 amortization
//! schedules and impairment test of `msr amortize`.
//!
//! Everything is computed by group (an investor, a stratum) from one
//! valuation per group ([`value_groups`]): the group's loans valued on the
//! run's paths with [`Detail::Monthly`] (with [`Detail::Profile`] for the
//! disclosure: each loan's lifetime figures, the loan-level ranges), so each
//! group has its per-loan results and its projected monthly sums. The totals are the groups'
//! accumulators merged (exact sums: the same bits as one valuation of all
//! loans, so the fair value equals `msr value`'s, and a group's equals
//! `msr value --group-by`'s).
//!
//! The stresses are `msr risk`'s: the configuration built by the same
//! function (`risk::stressed`), the same paths (regenerated from the base
//! run's normals: common random numbers), the same market arrays and the
//! same net-only pass (`Detail::Net`), so a prepayment or delinquency stress
//! gives `msr risk`'s value to the bit (a cost stress, which `msr risk` reads
//! off its base run, to rounding).
//! The discount-rate sensitivity needs no valuation: it revalues the
//! expected net cash flows at the moved rate.

use msr_core::loan::DqState;
use msr_core::{Config, ExactSum, Loan};
use msr_model::{Market, ModelParams, MonthlyField, COMPONENTS, NUM_MONTHLY};

pub use crate::lifetime::{pv_at_rate, solve_rate};
use crate::lifetime::{upb_end, Lifetime};
use crate::risk::{check_inputs, stressed, RiskError, RiskInputs, RiskSpec, ScenarioKind};
use crate::summary::expected_month;
use crate::valuation::{value_loans, Context, Detail, LoanResult, PortfolioAccum};

/// The adverse changes the disclosure reports, percent of the input.
pub const ADVERSE_PCT: [f64; 2] = [10.0, 20.0];

/// The stresses that need a valuation, in output order, with the kind of
/// `msr risk` scenario each is (the discount rate comes after them).
pub const VALUED_STRESSES: [ScenarioKind; 3] = [
    ScenarioKind::PrepaymentSpeed,
    ScenarioKind::CostToService,
    ScenarioKind::DelinquencyRoll,
];

/// Each loan's group: `names[of_loan[i]]` is loan `i`'s group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Groups {
    /// Group names, in output order.
    pub names: Vec<String>,
    /// Index into `names` for every loan, aligned with the loans.
    pub of_loan: Vec<usize>,
}

impl Groups {
    /// Group loans by a label each: groups in ascending label order.
    pub fn from_labels<S: AsRef<str>>(labels: &[S]) -> Groups {
        let mut names: Vec<String> = labels.iter().map(|s| s.as_ref().to_string()).collect();
        names.sort();
        names.dedup();
        let of_loan = labels
            .iter()
            .map(|s| {
                names
                    .binary_search_by(|n| n.as_str().cmp(s.as_ref()))
                    .expect("every label is a name")
            })
            .collect();
        Groups { names, of_loan }
    }

    /// The loans of each group, in loan order.
    fn members(&self) -> Vec<Vec<usize>> {
        let mut members = vec![Vec::new(); self.names.len()];
        for (i, &g) in self.of_loan.iter().enumerate() {
            members[g].push(i);
        }
        members
    }
}

/// One group's base valuation: its loans, their results and its sums.
#[derive(Debug, Clone)]
pub struct GroupValuation {
    /// The group's name.
    pub name: String,
    /// Its loans (copies, in loan order).
    pub loans: Vec<Loan>,
    /// Their results, aligned.
    pub results: Vec<LoanResult>,
    /// Its exact sums with the monthly projection.
    pub accum: PortfolioAccum,
}

/// Value every group's loans in `ctx` (one [`value_loans`] call per group), calling `progress` with the loans
/// done after each group.
fn value_each(
    loans: &[Loan],
    members: &[Vec<usize>],
    names: &[String],
    ctx: &Context<'_>,
    detail: Detail,
    progress: &mut dyn FnMut(usize),
) -> Vec<GroupValuation> {
    members
        .iter()
        .zip(names)
        .map(|(idx, name)| {
            let loans: Vec<Loan> = idx.iter().map(|&i| loans[i].clone()).collect();
            let (results, accum) = value_loans(ctx, &loans, detail);
            progress(loans.len());
            GroupValuation {
                name: name.clone(),
                loans,
                results,
                accum,
            }
        })
        .collect()
}

fn check(inputs: &RiskInputs<'_>, groups: &Groups) -> Result<(), RiskError> {
    let spec = RiskSpec::default();
    check_inputs(inputs, &spec)?;
    if inputs.spreads.is_some() {
        return Err(RiskError::Spec(
            "the accounting outputs value every loan at valuation.oas (no OAS table)".into(),
        ));
    }
    if groups.of_loan.len() != inputs.loans.len() {
        return Err(RiskError::Spec(format!(
            "{} group labels for {} loans",
            groups.of_loan.len(),
            inputs.loans.len()
        )));
    }
    if let Some(l) = inputs
        .loans
        .iter()
        .find(|l| l.remaining_term as usize > inputs.months)
    {
        return Err(RiskError::TooShort {
            loan_id: l.loan_id.clone(),
            need: l.remaining_term as usize,
            have: inputs.months,
        });
    }
    Ok(())
}

/// The base valuation of every group at `detail` (at least the monthly
/// projection: [`Detail::Monthly`], or [`Detail::Profile`] for the loans'
/// lifetime figures too), on the paths regenerated from `inputs.normals` at
/// `valuation.oas` — what `msr value` computes, split by group.
///
/// # Errors
/// [`RiskError`] when the normals are too short, a loan needs more months
/// than the run, or the labels do not match the loans.
pub fn value_groups(
    inputs: &RiskInputs<'_>,
    groups: &Groups,
    detail: Detail,
    progress: &mut dyn FnMut(usize),
) -> Result<Vec<GroupValuation>, RiskError> {
    check(inputs, groups)?;
    let params = ModelParams::from_config(inputs.config);
    let paths = inputs.rate_model.paths(inputs.normals, inputs.months);
    let market = Market::new(&paths, &params, inputs.config.valuation.oas, inputs.months);
    let ctx = Context {
        params: &params,
        market: &market,
        config: inputs.config,
        units: inputs.units,
        tangent: None,
    };
    Ok(value_each(
        inputs.loans,
        &groups.members(),
        &groups.names,
        &ctx,
        detail,
        progress,
    ))
}

/// A weighted average with the loan-level range behind it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ranged {
    /// The weighted average.
    pub average: f64,
    /// Smallest loan-level figure.
    pub min: f64,
    /// Largest loan-level figure.
    pub max: f64,
}

impl Ranged {
    /// `Σ wᵢxᵢ / Σ wᵢ`, min and max of `xᵢ` over the pairs with `wᵢ > 0`;
    /// `None` when there are none.
    fn of(pairs: impl Iterator<Item = (f64, f64)>) -> Option<Ranged> {
        let (mut sw, mut swx) = (0.0, 0.0);
        let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
        for (w, x) in pairs.filter(|(w, _)| *w > 0.0) {
            sw += w;
            swx += w * x;
            min = min.min(x);
            max = max.max(x);
        }
        (sw > 0.0).then(|| Ranged {
            average: swx / sw,
            min,
            max,
        })
    }
}

/// The change in fair value under one adverse change of one input.
#[derive(Debug, Clone, PartialEq)]
pub struct Sensitivity {
    /// `prepayment_speed`, `discount_rate`, `cost_to_service`, `delinquency_roll`.
    pub input: &'static str,
    /// The adverse change, percent of the input (10, 20).
    pub adverse_pct: f64,
    /// The fair value under the change.
    pub value: f64,
    /// `value − fair value` ($).
    pub change: f64,
    /// `100·change/|fair value|`; `None` when the fair value is 0.
    pub change_pct: Option<f64>,
}

/// One row of the disclosure: a group or the total.
#[derive(Debug, Clone, PartialEq)]
pub struct DisclosureRow {
    /// The group's name (`total` for the total row, see [`Disclosure::total`]).
    pub group: String,
    /// Records valued (finite).
    pub loans: u64,
    /// Σ UPB.
    pub upb: f64,
    /// Fair value: Σ loan values.
    pub fair_value: f64,
    /// `1e4·fair_value/upb`.
    pub value_bps: Option<f64>,
    /// `fair_value / Σ s·UPB`.
    pub multiple: Option<f64>,
    /// Lifetime CPR from the projected prepayments (docs/accounting.md).
    pub prepayment_cpr: Option<f64>,
    /// The loans' own lifetime CPRs: min, max (and their UPB-weighted average).
    pub prepayment_cpr_range: Option<Ranged>,
    /// Weighted-average life of the UPB, years.
    pub weighted_average_life_years: Option<f64>,
    /// The loans' own WALs.
    pub weighted_average_life_range: Option<Ranged>,
    /// The one annual rate (monthly compounding) that discounts the expected
    /// net cash flows to the fair value.
    pub discount_rate: Option<f64>,
    /// The loans' own discount rates (each loan's expected net cash flows to
    /// its value).
    pub discount_rate_range: Option<Ranged>,
    /// The option-adjusted spread (`valuation.oas`).
    pub oas: f64,
    /// Annual cost to service a performing loan (the configured cost in C,
    /// times the cost multiplier).
    pub cost_performing: f64,
    /// Annual cost to service a loan at its current status, loan-count
    /// weighted, with its loan-level range.
    pub cost_now: Option<Ranged>,
    /// Projected annual cost per surviving loan over the life (all states,
    /// with inflation): `12·Σ E[cost_t] / Σ E[surviving_t]`.
    pub cost_lifetime: Option<f64>,
    /// UPB share 30+ days delinquent now.
    pub delinquency_30plus_now: Option<f64>,
    /// UPB-month weighted share 30+ days delinquent over the projection.
    pub delinquency_30plus_lifetime: Option<f64>,
    /// The loans' own lifetime delinquency shares.
    pub delinquency_30plus_lifetime_range: Option<Ranged>,
    /// PV of float earnings (P&I and escrow).
    pub float_pv: f64,
    /// Annual float earnings over the projection as a share of the UPB
    /// outstanding: `12·Σ E[float_t] / Σ UPB_{t−1}`.
    pub float_earnings_rate: Option<f64>,
    /// UPB-weighted note rate, with its range.
    pub note_rate: Option<Ranged>,
    /// UPB-weighted servicing fee, with its range.
    pub servicing_fee: Option<Ranged>,
    /// Range of the loans' values in bp of UPB (average: `value_bps`).
    pub value_bps_range: Option<Ranged>,
    /// The sensitivities: each input of [`VALUED_STRESSES`] and then the
    /// discount rate, each at [`ADVERSE_PCT`].
    pub sensitivities: Vec<Sensitivity>,
}

/// The disclosure: the total and every group.
#[derive(Debug, Clone, PartialEq)]
pub struct Disclosure {
    /// The total row (group `total`).
    pub total: DisclosureRow,
    /// One row per group, in group order.
    pub groups: Vec<DisclosureRow>,
    /// Paths valued.
    pub num_paths: usize,
    /// Each loan's base value, aligned with the loans; `None` for a loan
    /// the guard left out of the totals.
    pub loan_values: Vec<Option<f64>>,
}

/// Index of a component in [`COMPONENTS`].
fn component(name: &str) -> usize {
    COMPONENTS
        .iter()
        .position(|(_, n, _)| *n == name)
        .expect("a component")
}

/// The expected monthly amounts `E[field_t]`, t = 1..T, of an accumulator.
fn expected(acc: &PortfolioAccum) -> Vec<[f64; NUM_MONTHLY]> {
    (1..=acc.monthly.len())
        .map(|t| expected_month(acc, t))
        .collect()
}

/// Inputs of one row from its loans, results and monthly sums (the
/// sensitivities are added by the caller).
fn row(
    name: &str,
    loans: &[Loan],
    results: &[LoanResult],
    acc: &PortfolioAccum,
    config: &Config,
) -> DisclosureRow {
    let g = &acc.total;
    let (upb, fv, fee_base) = (g.upb.value(), g.value.value(), g.fee_base.value());
    // The projection's months: through the last month with any amount (the
    // arrays run to the run's horizon, past every loan's term).
    let mut m = expected(acc);
    let horizon = m
        .iter()
        .rposition(|mt| mt.iter().any(|&x| x != 0.0))
        .map_or(0, |k| k + 1);
    m.truncate(horizon);
    // The loans in the totals (the guard leaves non-finite ones out).
    let kept: Vec<(&Loan, &LoanResult)> = loans
        .iter()
        .zip(results)
        .filter(|(_, r)| r.is_finite())
        .collect();
    let loan_count: f64 = acc.loan_count as f64;

    // The lifetime figures (speed, WAL, delinquency, discount rate).
    let life = Lifetime::of(&m, upb, loan_count, fv);
    // Float: Σ float_t and Σ UPB_{t−1}.
    let mut upb_prev = upb;
    let (mut float_sum, mut float_upb) = (0.0, 0.0);
    // Cost: Σ cost_t and Σ surviving_t.
    let (mut cost_sum, mut surviving_sum) = (0.0, 0.0);
    let (fpi, fesc, cost) = (
        component("float_pi"),
        component("float_escrow"),
        component("cost"),
    );
    for mt in &m {
        float_sum += mt[fpi] + mt[fesc];
        float_upb += upb_prev;
        upb_prev = upb_end(mt);
        cost_sum += mt[cost];
        surviving_sum += mt[MonthlyField::Surviving as usize];
    }
    // Loan-level ranges of the lifetime figures (a loan without a figure is
    // left out of its range; results without a profile give none).
    let profiles: Vec<(f64, &Lifetime)> = kept
        .iter()
        .filter_map(|(l, r)| r.profile.as_deref().map(|p| (l.upb, p)))
        .collect();
    let range = |get: &dyn Fn(&Lifetime) -> Option<f64>| {
        Ranged::of(profiles.iter().filter_map(|(w, p)| get(p).map(|x| (*w, x))))
    };
    let pos = |x: f64| (x > 0.0).then_some(x);
    let states = config.servicing.cost_annual.by_state();
    let mult = config.servicing.cost_multiplier;
    DisclosureRow {
        group: name.to_string(),
        loans: g.records,
        upb,
        fair_value: fv,
        value_bps: pos(upb).map(|u| 1e4 * fv / u),
        multiple: pos(fee_base).map(|f| fv / f),
        prepayment_cpr: life.cpr,
        prepayment_cpr_range: range(&|p| p.cpr),
        weighted_average_life_years: life.wal_years,
        weighted_average_life_range: range(&|p| p.wal_years),
        discount_rate: life.discount_rate,
        discount_rate_range: range(&|p| p.discount_rate),
        oas: config.valuation.oas,
        cost_performing: states[DqState::C.index()] * mult,
        cost_now: Ranged::of(
            kept.iter()
                .map(|(l, _)| (f64::from(l.loan_count), states[l.dq_status.index()] * mult)),
        ),
        cost_lifetime: pos(surviving_sum).map(|s| 12.0 * cost_sum / s),
        delinquency_30plus_now: pos(upb).map(|u| {
            let dq: f64 = kept
                .iter()
                .filter(|(l, _)| l.dq_status != DqState::C)
                .map(|(l, _)| l.upb)
                .sum();
            // (+ 0.0: an empty float sum is −0.0, printed as such.)
            (dq + 0.0) / u
        }),
        delinquency_30plus_lifetime: life.delinquency_30plus,
        delinquency_30plus_lifetime_range: range(&|p| p.delinquency_30plus),
        float_pv: acc.pv[fpi].value() + acc.pv[fesc].value(),
        float_earnings_rate: pos(float_upb).map(|u| 12.0 * float_sum / u),
        note_rate: Ranged::of(kept.iter().map(|(l, _)| (l.upb, l.note_rate))),
        servicing_fee: Ranged::of(kept.iter().map(|(l, _)| (l.upb, l.servicing_fee))),
        value_bps_range: Ranged::of(kept.iter().map(|(l, r)| (l.upb, 1e4 * r.value / l.upb))),
        sensitivities: Vec::new(),
    }
}

fn sensitivity(input: &'static str, adverse_pct: f64, value: f64, fv: f64) -> Sensitivity {
    let change = value - fv;
    Sensitivity {
        input,
        adverse_pct,
        value,
        change,
        change_pct: (fv != 0.0).then(|| 100.0 * change / fv.abs()),
    }
}

/// The disclosure's name of a stressed input.
pub fn input_name(kind: ScenarioKind) -> &'static str {
    match kind {
        ScenarioKind::PrepaymentSpeed => "prepayment_speed",
        ScenarioKind::CostToService => "cost_to_service",
        ScenarioKind::DelinquencyRoll => "delinquency_roll",
        _ => "discount_rate",
    }
}

/// One valued stress: its kind and size, the value of each group and the total.
struct Stressed {
    kind: ScenarioKind,
    pct: f64,
    by_group: Vec<f64>,
    total: f64,
}

/// Where a disclosure run stands.
#[derive(Debug, Clone, Copy)]
pub struct DisclosureProgress<'a> {
    /// 1-based valuation (base first).
    pub valuation: usize,
    /// Valuations in all.
    pub valuations: usize,
    /// Its name.
    pub name: &'a str,
    /// Loans valued in it so far.
    pub loans_done: usize,
}

/// The disclosure of `inputs.loans` by `groups`: the base valuation with the
/// monthly projection, and one valuation per adverse change of
/// [`VALUED_STRESSES`] (the `msr risk` configuration and market), every one
/// by group.
///
/// # Errors
/// As [`value_groups`].
pub fn disclose(
    inputs: &RiskInputs<'_>,
    groups: &Groups,
    progress: &mut dyn FnMut(&DisclosureProgress<'_>),
) -> Result<Disclosure, RiskError> {
    check(inputs, groups)?;
    let valuations = 1 + VALUED_STRESSES.len() * ADVERSE_PCT.len();
    let mut done = 0;
    let base = value_groups(inputs, groups, Detail::Profile, &mut |n| {
        done += n;
        progress(&DisclosureProgress {
            valuation: 1,
            valuations,
            name: "base",
            loans_done: done,
        });
    })?;
    let base_params = ModelParams::from_config(inputs.config);
    let paths = inputs.rate_model.paths(inputs.normals, inputs.months);
    let market = Market::new(
        &paths,
        &base_params,
        inputs.config.valuation.oas,
        inputs.months,
    );
    let members = groups.members();
    // Stressed values by group and in total.
    let mut stressed_values: Vec<Stressed> = Vec::new();
    for kind in VALUED_STRESSES {
        for pct in ADVERSE_PCT {
            let config = stressed(inputs.config, kind, pct);
            let params = ModelParams::from_config(&config);
            let name = format!("{}_+{pct}pct", kind.code());
            let k = stressed_values.len() + 2;
            let mut done = 0;
            let ctx = Context {
                params: &params,
                market: &market,
                config: &config,
                units: inputs.units,
                tangent: None,
            };
            let vals = value_each(
                inputs.loans,
                &members,
                &groups.names,
                &ctx,
                // As `msr risk` values its stresses: the same bits.
                Detail::Net,
                &mut |n| {
                    done += n;
                    progress(&DisclosureProgress {
                        valuation: k,
                        valuations,
                        name: &name,
                        loans_done: done,
                    });
                },
            );
            let mut total = ExactSum::ZERO;
            for v in &vals {
                total.merge(v.accum.total.value);
            }
            stressed_values.push(Stressed {
                kind,
                pct,
                by_group: vals.iter().map(|v| v.accum.total.value.value()).collect(),
                total: total.value(),
            });
        }
    }

    let mut all = PortfolioAccum::new(paths.num_paths(), inputs.months, Detail::Monthly);
    for g in &base {
        all.merge(&g.accum);
    }
    let sens = |row: &mut DisclosureRow, value_of: &dyn Fn(&Stressed) -> f64, flows: &[f64]| {
        let fv = row.fair_value;
        for s in &stressed_values {
            row.sensitivities
                .push(sensitivity(input_name(s.kind), s.pct, value_of(s), fv));
        }
        for pct in ADVERSE_PCT {
            if let Some(y) = row.discount_rate {
                // y + |y|·pct: up, the adverse way (the PV falls through the
                // fair value at y, see solve_rate), whatever y's sign.
                let value = pv_at_rate(flows, y + y.abs() * pct / 100.0);
                row.sensitivities
                    .push(sensitivity("discount_rate", pct, value, fv));
            }
        }
    };
    let net_of = |acc: &PortfolioAccum| -> Vec<f64> {
        expected(acc)
            .iter()
            .map(|m| m[MonthlyField::Net as usize])
            .collect()
    };
    let mut results: Vec<Option<LoanResult>> = vec![None; inputs.loans.len()];
    for (g, idx) in base.iter().zip(&members) {
        for (&i, r) in idx.iter().zip(&g.results) {
            results[i] = Some(r.clone());
        }
    }
    let results: Vec<LoanResult> = results
        .into_iter()
        .map(|r| r.expect("every loan in a group"))
        .collect();
    let loan_values = results
        .iter()
        .map(|r| r.is_finite().then_some(r.value))
        .collect();
    let mut total = row("total", inputs.loans, &results, &all, inputs.config);
    sens(&mut total, &|s| s.total, &net_of(&all));
    let rows = base
        .iter()
        .enumerate()
        .map(|(k, g)| {
            let mut r = row(&g.name, &g.loans, &g.results, &g.accum, inputs.config);
            sens(&mut r, &|s| s.by_group[k], &net_of(&g.accum));
            r
        })
        .collect();
    Ok(Disclosure {
        total,
        groups: rows,
        num_paths: paths.num_paths(),
        loan_values,
    })
}

/// One month of a stratum's amortization schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AmortizationMonth {
    /// Month, 1-based from the valuation date.
    pub month: usize,
    /// Carrying amount at the start of the month.
    pub beginning: f64,
    /// Amortization in the month.
    pub amortization: f64,
    /// Carrying amount at the end of the month.
    pub ending: f64,
}

/// The amortization schedule of `basis` in proportion to the projected
/// expected net servicing income `income` (month 1 first): month `t`
/// amortizes `basis·max(0, income_t)/Σ max(0, income_s)`; the last month
/// with positive income amortizes what is left, so the schedule sums to
/// the basis and ends at zero exactly. `None` when no month has positive
/// income (nothing to amortize in proportion to) and the basis is not 0.
pub fn amortization_schedule(basis: f64, income: &[f64]) -> Option<Vec<AmortizationMonth>> {
    let weights: Vec<f64> = income.iter().map(|&x| x.max(0.0)).collect();
    let total: f64 = weights.iter().sum();
    if total <= 0.0 || !total.is_finite() {
        return (basis == 0.0).then(Vec::new);
    }
    let last = weights
        .iter()
        .rposition(|&w| w > 0.0)
        .expect("a positive month");
    let mut beginning = basis;
    let mut rows = Vec::with_capacity(last + 1);
    for (k, w) in weights.iter().take(last + 1).enumerate() {
        let amortization = if k == last {
            beginning
        } else {
            basis * w / total
        };
        let ending = if k == last {
            0.0
        } else {
            beginning - amortization
        };
        rows.push(AmortizationMonth {
            month: k + 1,
            beginning,
            amortization,
            ending,
        });
        beginning = ending;
    }
    Some(rows)
}

/// The expected net servicing income by month of a group, t = 1..T.
pub fn expected_net(acc: &PortfolioAccum) -> Vec<f64> {
    expected(acc)
        .iter()
        .map(|m| m[MonthlyField::Net as usize])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_sums_to_the_basis_and_follows_income() {
        let income = [10.0, 30.0, -5.0, 60.0, 0.0];
        let s = amortization_schedule(1000.0, &income).expect("positive income");
        assert_eq!(s.len(), 4);
        assert!((s[0].amortization - 100.0).abs() < 1e-9);
        assert!((s[1].amortization - 300.0).abs() < 1e-9);
        assert_eq!(s[2].amortization, 0.0);
        assert!((s[3].amortization - 600.0).abs() < 1e-9);
        assert_eq!(s[3].ending, 0.0);
        let sum: f64 = s.iter().map(|m| m.amortization).sum();
        assert!((sum - 1000.0).abs() < 1e-9);
        for w in s.windows(2) {
            assert_eq!(w[0].ending, w[1].beginning);
        }
        assert!(amortization_schedule(5.0, &[-1.0, 0.0]).is_none());
        assert_eq!(amortization_schedule(0.0, &[-1.0]), Some(Vec::new()));
    }

    #[test]
    fn rate_solve_inverts_the_pv() {
        // A 10-year level annuity of 1 a month at 6 %: PV by the closed form.
        let flows = vec![1.0; 120];
        let i: f64 = 0.06 / 12.0;
        let pv = (1.0 - (1.0 + i).powi(-120)) / i;
        assert!((pv_at_rate(&flows, 0.06) - pv).abs() < 1e-9);
        let y = solve_rate(&flows, pv).expect("bracketed");
        assert!((y - 0.06).abs() < 1e-12, "{y}");
        assert!(solve_rate(&flows, 1e6).is_none());
    }

    #[test]
    fn ranged_weights_and_range() {
        let r = Ranged::of([(1.0, 2.0), (3.0, 4.0), (0.0, 100.0)].into_iter()).expect("weights");
        assert!((r.average - 3.5).abs() < 1e-15);
        assert_eq!((r.min, r.max), (2.0, 4.0));
        assert!(Ranged::of(std::iter::empty()).is_none());
    }

    #[test]
    fn groups_sort_labels() {
        let g = Groups::from_labels(&["b", "a", "b"]);
        assert_eq!(g.names, vec!["a".to_string(), "b".to_string()]);
        assert_eq!(g.of_loan, vec![1, 0, 1]);
    }
}
