//! Property tests of the engine's invariants (issue 5) for arbitrary valid
//! loans (every field anywhere in its MODEL.md §B range, boundaries
//! included), on the static path and on eight antithetic Hull–White paths:
//!
//! * **mass conservation** — every month, surviving loans plus the loans
//!   absorbed so far (prepaid, deed in lieu, liquidated) equal `loan_count`;
//! * **additivity** — valuing a book gives each loan the bits it gets when
//!   valued alone, and portfolio aggregates equal to the merged single-loan
//!   aggregates, exactly, in any loan order;
//! * **monotone cost** — raising `cost_multiplier`, any `cost_annual` entry,
//!   `cost_inflation`, `fc_cost` or `dil_cost` never raises the value, raises
//!   only the cost component it feeds and leaves every other component's bits
//!   alone; `pv_cost` is linear in `cost_multiplier`;
//! * **signs and bounds** — every component PV is ≥ 0 under the default
//!   economics, `value` = income − costs, the fee PV is at most the
//!   undiscounted-balance bound `s/12·B0·Σ_t E[D_t e^{−oas·τ_t}]`;
//! * **the non-finite guard** — for configurations drawn across the whole
//!   accepted range, every loan is either finite and in the totals, or
//!   reported in `non_finite` and in no total, and the totals are the sums
//!   of the finite loans.
//!
//! Case counts are modest by default so `cargo test` stays fast; set
//! `PROPTEST_CASES` to run longer and `PROPTEST_RNG_SEED` to change the draw.

use crate::common::pv;
use std::sync::OnceLock;

use msr_core::loan::{DqState, Investor, Loan};
use msr_core::tolerance::close;
use msr_core::Config;
use msr_engine::{expected_month, value_book, Detail, LoanResult, PortfolioAccum};
use msr_model::{MonthlyField, COMPONENTS};
use msr_rates::{NormalGenerator, PathSet, RateModel};
use proptest::prelude::*;

/// The default model's static path and 8 antithetic Hull–White paths, 480 months.
fn default_paths() -> &'static [(PathSet, bool); 2] {
    static PATHS: OnceLock<[(PathSet, bool); 2]> = OnceLock::new();
    PATHS.get_or_init(|| {
        let c = Config::default();
        let model = RateModel::from_config(&c.curve, &c.hull_white, &c.mortgage_rate).unwrap();
        let normals = NormalGenerator::new(c.valuation.seed, true).normals(8, 480);
        [
            (model.static_path(480), false),
            (model.paths(&normals, 480), true),
        ]
    })
}

/// A loan valid under every rule of §B, from anywhere in each range.
fn valid_loan() -> impl Strategy<Value = Loan> {
    let upb = prop_oneof![8 => 1.0e3..2.0e6, 1 => Just(0.01), 1 => Just(5.0e7)];
    let note_rate = prop_oneof![8 => 0.0f64..0.25, 1 => Just(0.0), 1 => Just(0.249_999)];
    let fee_share = prop_oneof![6 => 0.0f64..=1.0, 1 => Just(0.0), 1 => Just(1.0)];
    let term = prop_oneof![6 => 1u32..=480, 1 => Just(1u32), 1 => Just(480u32)];
    let age = prop_oneof![6 => 0u32..=600, 1 => Just(0u32), 1 => Just(600u32)];
    let fico = prop_oneof![6 => 300i32..=850, 1 => Just(300i32), 1 => Just(850i32)];
    let ltv = prop_oneof![6 => 1.0..300.0, 1 => Just(300.0), 1 => Just(1e-6)];
    let head = (upb, note_rate, fee_share, term, age, fico, ltv);
    let tail = (
        prop::sample::select(Investor::ALL.to_vec()),
        prop::sample::select(DqState::ALL.to_vec()),
        prop::sample::select(vec![*b"TX", *b"NY", *b"CA", *b"FL", *b"ZZ"]),
        prop_oneof![3 => 0.0..3000.0, 1 => Just(0.0)],
        prop_oneof![6 => Just(1u32), 2 => 1u32..=1000, 1 => Just(1_000_000u32)],
        0.0..1.0e5,
    );
    (head, tail).prop_map(
        |((upb, c, share, n, age, fico, ltv), (inv, dq, st, escrow, count, adv))| Loan {
            loan_id: String::new(),
            upb,
            note_rate: c,
            servicing_fee: (c * share).min(c),
            remaining_term: n,
            loan_age: age,
            fico,
            ltv,
            investor: inv,
            dq_status: dq,
            property_state: st,
            escrow_monthly: escrow,
            loan_count: count,
            advance_balance: if dq == DqState::C { 0.0 } else { adv },
        },
    )
}

/// Loans with distinct ids.
fn book(max: usize) -> impl Strategy<Value = Vec<Loan>> {
    prop::collection::vec(valid_loan(), 1..max).prop_map(|mut loans| {
        for (k, l) in loans.iter_mut().enumerate() {
            l.loan_id = format!("P{k:03}");
        }
        loans
    })
}

fn value(
    c: &Config,
    which: usize,
    loans: &[Loan],
    detail: Detail,
) -> (Vec<LoanResult>, PortfolioAccum) {
    let (paths, antithetic) = &default_paths()[which];
    value_book(c, paths, loans, *antithetic, detail)
}

proptest! {
    #![proptest_config(msr_testkit::proptest_settings(96))]

    /// Surviving + Σ absorbed (prepaid, DIL, liquidated) = loan_count, every month.
    #[test]
    fn mass_is_conserved_for_any_loan(loan in valid_loan(), which in 0usize..2) {
        let c = Config::default();
        let (res, acc) = value(&c, which, std::slice::from_ref(&loan), Detail::Full);
        prop_assert!(res[0].is_finite() && acc.non_finite.is_empty(), "{loan:?}: {:?}", res[0]);
        let n = f64::from(loan.loan_count);
        let mut absorbed = 0.0;
        for t in 1..=loan.remaining_term as usize {
            let m = expected_month(&acc, t);
            let events = [MonthlyField::Prepaid, MonthlyField::DeedInLieu, MonthlyField::Liquidated, MonthlyField::Modified];
            for f in events.into_iter().chain([MonthlyField::Surviving]) {
                prop_assert!(m[f as usize] >= 0.0, "month {t}: {f:?} = {}", m[f as usize]);
            }
            absorbed += m[MonthlyField::Prepaid as usize]
                + m[MonthlyField::DeedInLieu as usize]
                + m[MonthlyField::Liquidated as usize];
            let total = m[MonthlyField::Surviving as usize] + absorbed;
            prop_assert!((total - n).abs() <= 1e-11 * n, "month {t}: {total} vs {n}");
        }
    }

    /// A book's loans get the bits they get alone, and its aggregates are the
    /// merged single-loan aggregates, exactly, in any loan order.
    #[test]
    fn value_is_additive_over_loans(loans in book(8), which in 0usize..2) {
        let c = Config::default();
        let (all, acc) = value(&c, which, &loans, Detail::Full);
        let months = loans.iter().map(|l| l.remaining_term as usize).max().unwrap();
        let mut merged = PortfolioAccum::new(acc.num_paths, months, Detail::Full);
        let mut sum = 0.0;
        for (l, r) in loans.iter().zip(&all) {
            let (one, one_acc) = value(&c, which, std::slice::from_ref(l), Detail::Full);
            prop_assert_eq!(&one[0], r, "{} valued alone", &l.loan_id);
            merged.merge(&one_acc);
            sum += r.value;
        }
        prop_assert!(acc == merged, "book aggregates differ from merged single-loan aggregates");
        prop_assert!(close(acc.total.value.value(), sum, 1e-12, 1e-6));
        let mut reversed = loans.clone();
        reversed.reverse();
        let (_, acc_rev) = value(&c, which, &reversed, Detail::Full);
        prop_assert!(acc == acc_rev, "loan order changed the aggregates");
    }

    /// Costs only ever lower the value, and only through their component.
    #[test]
    fn value_falls_when_costs_rise(
        loan in valid_loan(),
        which in 0usize..2,
        state in 0usize..6,
        bump in 1.0f64..5000.0,
        multiplier in 1.0f64..3.0,
    ) {
        let base = Config::default();
        let (r0, _) = value(&base, which, std::slice::from_ref(&loan), Detail::Values);
        let r0 = &r0[0];
        let mut stressed = Vec::new();
        let mut c = base.clone();
        c.servicing.cost_multiplier = 1.2;
        stressed.push(("cost_multiplier 1.2", c, "cost"));
        let mut c = base.clone();
        c.servicing.cost_multiplier = multiplier;
        stressed.push(("cost_multiplier", c, "cost"));
        let mut c = base.clone();
        let entry = match state {
            0 => &mut c.servicing.cost_annual.c,
            1 => &mut c.servicing.cost_annual.d30,
            2 => &mut c.servicing.cost_annual.d60,
            3 => &mut c.servicing.cost_annual.d90,
            4 => &mut c.servicing.cost_annual.d120,
            _ => &mut c.servicing.cost_annual.fc,
        };
        *entry += bump;
        stressed.push(("cost_annual", c, "cost"));
        let mut c = base.clone();
        c.servicing.cost_inflation += 0.05;
        stressed.push(("cost_inflation", c, "cost"));
        let mut c = base.clone();
        c.servicing.fc_cost += bump;
        stressed.push(("fc_cost", c, "liq_loss"));
        let mut c = base.clone();
        c.servicing.dil_cost += bump;
        stressed.push(("dil_cost", c, "liq_loss"));
        for (what, c, component) in &stressed {
            c.validate().unwrap();
            let (r1, _) = value(c, which, std::slice::from_ref(&loan), Detail::Values);
            let r1 = &r1[0];
            prop_assert!(r1.value <= r0.value, "{what}: value rose {} -> {}", r0.value, r1.value);
            prop_assert!(pv(r1, component) >= pv(r0, component), "{what}");
            for (k, (_, name, _)) in COMPONENTS.iter().enumerate() {
                if name != component {
                    prop_assert_eq!(r1.pv[k].to_bits(), r0.pv[k].to_bits(), "{}: pv_{} moved", what, name);
                }
            }
            if *what == "cost_multiplier" || *what == "cost_multiplier 1.2" {
                let m = c.servicing.cost_multiplier;
                prop_assert!(close(pv(r1, "cost"), m * pv(r0, "cost"), 1e-12, 1e-9), "{what}: not linear");
            }
        }
    }

    /// Component signs, value = income − costs, and the fee bound.
    #[test]
    fn components_have_their_signs_and_bounds(loan in valid_loan(), which in 0usize..2) {
        let c = Config::default();
        let (res, _) = value(&c, which, std::slice::from_ref(&loan), Detail::Values);
        let r = &res[0];
        let mut income = 0.0;
        let mut costs = 0.0;
        for (k, (_, name, is_cost)) in COMPONENTS.iter().enumerate() {
            prop_assert!(r.pv[k] >= 0.0 && r.pv[k].is_finite(), "pv_{name} = {}", r.pv[k]);
            if *is_cost { costs += r.pv[k] } else { income += r.pv[k] }
        }
        let scale = income + costs;
        prop_assert!(close(r.value, income - costs, 1e-12, 1e-12 * scale + 1e-9), "{} vs {}", r.value, income - costs);
        if let Some(se) = r.std_error {
            prop_assert!(se.is_finite() && se >= 0.0);
        }
        // fee_t = (s/12)·B0·b_{t−1}·π_t(C) ≤ (s/12)·B0 on every path.
        let (paths, _) = &default_paths()[which];
        let n = loan.remaining_term as usize;
        let mean_df: f64 = (1..=n)
            .map(|t| {
                let oas_df = (-c.valuation.oas * t as f64 / 12.0).exp();
                (0..paths.num_paths()).map(|p| paths.discount[[p, t - 1]] * oas_df).sum::<f64>()
                    / paths.num_paths() as f64
            })
            .sum();
        let bound = loan.servicing_fee / 12.0 * loan.upb * mean_df;
        prop_assert!(pv(r, "fee") <= bound * (1.0 + 1e-12), "fee {} > bound {bound}", pv(r, "fee"));
        if loan.servicing_fee == 0.0 {
            prop_assert_eq!(pv(r, "fee"), 0.0);
        }
        if loan.servicing_fee == loan.note_rate {
            prop_assert_eq!(pv(r, "comp_int"), 0.0);
        }
    }
}

// ---------------------------------------------------------------------------
// The non-finite guard across the accepted configuration range
// ---------------------------------------------------------------------------

/// A number from anywhere in `[lo, hi]`, often at its extremes.
fn wide(lo: f64, hi: f64) -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => lo..=hi,
        1 => Just(lo),
        1 => Just(hi),
        1 => Just(0.0f64.clamp(lo, hi)),
    ]
}

/// A configuration accepted by `validate`, with the parameters whose only
/// bound is "finite" (or a loose one) drawn across their whole range. With
/// `extreme`, the amounts that scale cash flows (cost inflation, the FC
/// servicing cost, the recapture value, a negative OAS) go to the edge of
/// what `validate` accepts, so loan values can be finite but beyond the fixed-point range
/// of the portfolio sums (|x| ≥ 2^79 ≈ 6e23).
fn accepted_config(extreme: bool) -> impl Strategy<Value = Config> {
    let big = 1e300;
    // An OAS of −1 discounts a 40-year cash flow up by e^40: with a rep line
    // of a million loans that alone passes 6e23.
    let (inflation, fc, recapture, oas) = if extreme {
        (100.0, 1e9, big, -1.0)
    } else {
        (0.5, 1e4, 1e3, -0.2)
    };
    let rates = (
        wide(oas, 1.0),
        wide(-0.05, 0.2),
        wide(0.0, 5.0),
        wide(0.0, 0.05),
        wide(-1.0, 1.0),
    );
    let prepay = (
        wide(-big, big),
        wide(-big, big),
        wide(0.0, 10.0),
        wide(0.0, big),
    );
    let credit = (
        wide(-big, big),
        wide(-big, big),
        wide(-0.999, 10.0),
        wide(0.0, big),
    );
    let servicing = (
        wide(-0.999, inflation),
        wide(-1.0, 1.0),
        wide(-recapture, recapture),
        wide(0.0, fc),
        wide(0.0, 1e6),
    );
    (rates, prepay, credit, servicing).prop_map(|(r, p, cr, s)| {
        let mut c = Config::default();
        c.valuation.oas = r.0;
        c.curve.zero_rates = vec![r.1; c.curve.tenors.len()];
        c.hull_white.a = r.2;
        c.hull_white.sigma = r.3;
        c.mortgage_rate.m0 = r.4;
        c.prepay.refi_midpoint = p.0;
        c.prepay.refi_fico = p.1;
        c.prepay.cpr_multiplier = p.2;
        c.prepay.burnout = p.3.min(5.0);
        c.prepay.refi_slope = 7.0;
        c.credit.fico_beta = cr.0;
        c.credit.ltv_beta = cr.1;
        c.credit.hpa = cr.2;
        c.credit.roll_multiplier = cr.3;
        c.servicing.cost_inflation = s.0;
        c.servicing.advance_spread = s.1;
        c.servicing.recapture_value = s.2;
        c.servicing.cost_annual.fc = s.3;
        c.servicing.fc_cost = s.4;
        c.valuation.num_paths = 8;
        c
    })
}

/// Value `loans` under `config` on 8 generated paths and check the guard:
/// every loan finite and summed, or reported and in no total; the totals
/// the sums of the finite loans.
fn check_guard(config: &Config, loans: &[Loan]) -> Result<(), TestCaseError> {
    prop_assert!(config.validate().is_ok(), "{:?}", config.validate());
    let model =
        RateModel::from_config(&config.curve, &config.hull_white, &config.mortgage_rate).unwrap();
    let normals = NormalGenerator::new(1, true).normals(8, 480);
    let paths = model.paths(&normals, 480);
    let (res, acc) = value_book(config, &paths, loans, true, Detail::Full);
    let reported: Vec<&str> = acc
        .non_finite
        .iter()
        .map(|nf| nf.loan.loan_id.as_str())
        .collect();
    let mut sum = 0.0;
    let mut upb = 0.0;
    let mut finite = 0;
    for (l, r) in loans.iter().zip(&res) {
        let listed = reported.contains(&l.loan_id.as_str());
        prop_assert_eq!(r.is_finite(), !listed, "{}: {:?}", &l.loan_id, r);
        if r.is_finite() {
            sum += r.value;
            upb += l.upb;
            finite += 1;
        }
    }
    prop_assert_eq!(acc.total.records, finite);
    prop_assert!(!acc.overflowed());
    let total = acc.total.value.value();
    prop_assert!(total.is_finite());
    prop_assert!(close(total, sum, 1e-9, 1e-6), "total {total} vs Σ {sum}");
    prop_assert!(close(acc.total.upb.value(), upb, 1e-12, 1e-6));
    for k in 0..acc.num_paths {
        prop_assert!(acc.path_value(k).is_finite());
    }
    Ok(())
}

proptest! {
    #![proptest_config(msr_testkit::proptest_settings(64))]

    /// For any accepted configuration whose cash-flow amounts stay below
    /// ~1e20 a loan, every loan is either finite and in the totals or
    /// reported as non-finite and in none, and the totals are the sums of
    /// the finite loans.
    #[test]
    fn every_loan_is_summed_or_reported(config in accepted_config(false), loans in book(5)) {
        check_guard(&config, &loans)?;
    }

    /// The same across the whole accepted range, where loan values can be
    /// finite but far beyond what the exact sums hold: such a loan is
    /// reported like a non-finite one (its `is_finite()` is false).
    #[test]
    fn every_loan_is_summed_or_reported_across_the_whole_range(
        config in accepted_config(true),
        loans in book(5),
    ) {
        check_guard(&config, &loans)?;
    }
}
