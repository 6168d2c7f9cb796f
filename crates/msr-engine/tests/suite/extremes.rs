//! Extreme but valid inputs (issue 5): a zero note rate, one and 480 months
//! remaining, age 600, a negative-rate curve, 5 % normal volatility, a $50m
//! balance, FICO 300 and 850, LTV 300. Each must give finite, sensible
//! results, checked against specific properties (closed forms, exact
//! scaling, saturation of the ramp), not just "no NaN".
//!
//! Then the non-finite guard: a loan whose valuation is not finite is
//! reported in `PortfolioAccum::non_finite` with its inputs and left out of
//! every total. It is reachable with valid inputs (a path file's discount of
//! 1e308, `servicing.cost_inflation = 1e10`); both are tested here. So is
//! its range check: a finite amount too large for the exact totals
//! (≥ 2^63) is reported the same way.
//!
//! The last section pins defects found while writing these (docs/robustness.md,
//! findings 1 and 2): totals beyond the fixed-point range, and `0·∞` in the
//! roll and the CPR hidden behind their caps. All are fixed; the tests run.

use crate::common::pv;
use msr_core::loan::{DqState, Investor, Loan};
use msr_core::schedule::balance_factor;
use msr_core::tolerance::{close, SPEC_ABS_DOLLARS, SPEC_REL};
use msr_core::Config;
use msr_engine::{
    expected_month, value_book, value_loans, Context, Detail, LoanResult, PortfolioAccum,
};
use msr_model::{Market, ModelParams, MonthlyField, COMPONENTS};
use msr_rates::{NormalGenerator, PathSet, RateModel};

/// Exact-arithmetic identities: a few ulps over up to 480 monthly terms.
const REL: f64 = 1e-12;

fn loan(id: &str) -> Loan {
    Loan {
        loan_id: id.into(),
        upb: 300_000.0,
        note_rate: 0.065,
        servicing_fee: 0.0025,
        remaining_term: 300,
        loan_age: 40,
        fico: 700,
        ltv: 95.0,
        investor: Investor::Fnma,
        dq_status: DqState::C,
        property_state: *b"TX",
        escrow_monthly: 400.0,
        loan_count: 1,
        advance_balance: 0.0,
    }
}

/// No prepayment and no credit transitions: every loan stays current.
fn quiet(mut c: Config) -> Config {
    c.prepay.turnover_cpr = 0.0;
    c.prepay.refi_max_cpr = 0.0;
    c.credit.base_roll = 0.0;
    c.validate().unwrap();
    c
}

fn static_path(c: &Config) -> PathSet {
    RateModel::from_config(&c.curve, &c.hull_white, &c.mortgage_rate)
        .unwrap()
        .static_path(480)
}

fn hw_paths(c: &Config, n: usize) -> PathSet {
    let model = RateModel::from_config(&c.curve, &c.hull_white, &c.mortgage_rate).unwrap();
    model.paths(
        &NormalGenerator::new(c.valuation.seed, true).normals(n, 480),
        480,
    )
}

/// Finite, every component ≥ 0 (default economics), in the totals, and the
/// mass conserved every month.
fn assert_sound(loans: &[Loan], res: &[LoanResult], acc: &PortfolioAccum) {
    assert!(acc.non_finite.is_empty(), "{:?}", acc.non_finite);
    assert_eq!(acc.total.records, loans.len() as u64);
    for (l, r) in loans.iter().zip(res) {
        assert!(r.is_finite(), "{}: {r:?}", l.loan_id);
        for (k, (_, name, _)) in COMPONENTS.iter().enumerate() {
            assert!(r.pv[k] >= 0.0, "{}: pv_{name} = {}", l.loan_id, r.pv[k]);
        }
    }
    if acc.monthly.is_empty() {
        return;
    }
    let count: f64 = loans.iter().map(|l| f64::from(l.loan_count)).sum();
    let mut absorbed = 0.0;
    for t in 1..=acc.months {
        let m = expected_month(acc, t);
        absorbed += m[MonthlyField::Prepaid as usize]
            + m[MonthlyField::DeedInLieu as usize]
            + m[MonthlyField::Liquidated as usize];
        // Loans shorter than the book leave the count at maturity.
        let matured: f64 = loans
            .iter()
            .filter(|l| (l.remaining_term as usize) < t)
            .map(|l| f64::from(l.loan_count))
            .sum();
        let alive_or_gone = m[MonthlyField::Surviving as usize] + absorbed;
        assert!(alive_or_gone <= count * (1.0 + 1e-12), "month {t}");
        if matured == 0.0 {
            assert!(
                close(alive_or_gone, count, 1e-11, 0.0),
                "month {t}: {alive_or_gone} vs {count}"
            );
        }
    }
}

#[test]
fn a_zero_note_rate_amortises_linearly_and_earns_no_fee() {
    let mut l = loan("Z");
    l.note_rate = 0.0;
    l.servicing_fee = 0.0;
    l.remaining_term = 240;
    // Quiet world: the balance is B0·(1 − t/n) exactly.
    let c = quiet(Config::default());
    let (res, acc) = value_book(
        &c,
        &static_path(&c),
        std::slice::from_ref(&l),
        false,
        Detail::Full,
    );
    assert_sound(std::slice::from_ref(&l), &res, &acc);
    assert_eq!(pv(&res[0], "fee"), 0.0);
    assert_eq!(pv(&res[0], "comp_int"), 0.0);
    assert!(pv(&res[0], "float_pi") > 0.0);
    for t in 1..=240 {
        let upb = expected_month(&acc, t)[MonthlyField::UpbC as usize];
        let want = l.upb * (1.0 - t as f64 / 240.0);
        assert!(close(upb, want, REL, 1e-9), "month {t}: {upb} vs {want}");
    }
    // And with the full model, on the static path and on Hull–White paths.
    let c = Config::default();
    for (paths, anti) in [(static_path(&c), false), (hw_paths(&c, 16), true)] {
        let (res, acc) = value_book(&c, &paths, std::slice::from_ref(&l), anti, Detail::Full);
        assert_sound(std::slice::from_ref(&l), &res, &acc);
        assert_eq!(pv(&res[0], "fee"), 0.0);
        assert_eq!(pv(&res[0], "comp_int"), 0.0);
    }
}

#[test]
fn a_one_month_loan_is_valued_by_hand() {
    let mut l = loan("ONE");
    l.remaining_term = 1;
    let c = quiet(Config::default());
    let paths = static_path(&c);
    let (res, acc) = value_book(&c, &paths, std::slice::from_ref(&l), false, Detail::Full);
    assert_sound(std::slice::from_ref(&l), &res, &acc);
    // Quiet: the loan is current for its one month, fee = s/12·B0, discounted.
    let df = paths.discount[[0, 0]] * (-c.valuation.oas / 12.0).exp();
    let fee = l.servicing_fee / 12.0 * l.upb * df;
    assert!(
        close(pv(&res[0], "fee"), fee, REL, 0.0),
        "{} vs {fee}",
        pv(&res[0], "fee")
    );

    // The full model, every component from MODEL.md §D–E by hand.
    let c = Config::default();
    let paths = static_path(&c);
    let (res, acc) = value_book(&c, &paths, std::slice::from_ref(&l), false, Detail::Full);
    assert_sound(std::slice::from_ref(&l), &res, &acc);
    let (p, cr, sv) = (&c.prepay, &c.credit, &c.servicing);
    let (b0, cpn, s) = (l.upb, l.note_rate, l.servicing_fee);
    let m = paths.mortgage_rate[[0, 0]];
    let r = paths.short_rate[[0, 0]].max(0.0);
    let iota = 100.0 * (cpn - m);
    let ramp = f64::from(l.loan_age + 1).min(f64::from(p.ramp_months)) / f64::from(p.ramp_months);
    let seas = p.seasonality[(c.as_of_month() as usize - 1 + 1) % 12];
    let turnover = p.turnover_cpr * ramp * seas * (p.lockin * iota.min(0.0)).exp();
    let logistic = 1.0 / (1.0 + (-p.refi_slope * (iota - p.refi_midpoint)).exp());
    let refi =
        p.refi_max_cpr * logistic * ramp * (p.refi_fico * f64::from(l.fico - 700) / 100.0).exp();
    let cpr = (turnover + refi).min(p.cpr_cap);
    let smm = 1.0 - (1.0 - cpr).powf(1.0 / 12.0);
    let roll = (cr.base_roll
        * (cr.fico_beta * f64::from(700 - l.fico) / 100.0).exp()
        * (cr.ltv_beta * (l.ltv - 80.0) / 100.0).exp())
    .min(cr.roll_cap);
    let (pi_c, pi_30, pp) = ((1.0 - smm) * (1.0 - roll), (1.0 - smm) * roll, smm);
    // n = 1: Bal = B0, scheduled principal B0, PMT = B0·(1 + c/12).
    let pmt = b0 * (1.0 + cpn / 12.0);
    let adv = pi_30 * (b0 * (cpn - s) / 12.0 + b0) + pi_30 * l.escrow_monthly;
    let want = [
        ("fee", s / 12.0 * b0 * pi_c),
        (
            "float_pi",
            (pi_c * pmt + pp * b0) * r * sv.float_days / 365.0,
        ),
        (
            "float_escrow",
            pi_c * l.escrow_monthly * sv.escrow_hold_months * r / 12.0,
        ),
        (
            "late_fee",
            sv.late_fee_rate * pmt * pi_30 * sv.late_fee_collect,
        ),
        ("ancillary", sv.ancillary_annual / 12.0 * (pi_c + pi_30)),
        (
            "recapture",
            sv.recapture_rate * pp * b0 * sv.recapture_value,
        ),
        (
            "cost",
            (pi_c * sv.cost_annual.c + pi_30 * sv.cost_annual.d30) / 12.0,
        ),
        ("adv_finance", adv * (r + sv.advance_spread) / 12.0),
        ("comp_int", pp * b0 * ((cpn - s) / 12.0) * 0.5),
        ("liq_loss", 0.0),
    ];
    let df = paths.discount[[0, 0]] * (-c.valuation.oas / 12.0).exp();
    for (name, x) in want {
        let got = pv(&res[0], name);
        assert!(
            close(got, x * df, SPEC_REL, SPEC_ABS_DOLLARS),
            "{name}: {got} vs {}",
            x * df
        );
    }
    assert!(
        smm > 0.0 && roll > 0.0 && r > 0.0,
        "every term is exercised"
    );
}

#[test]
fn a_480_month_loan_runs_its_whole_term() {
    let mut l = loan("LONG");
    l.remaining_term = 480;
    l.loan_age = 0;
    let c = Config::default();
    for (paths, anti) in [(static_path(&c), false), (hw_paths(&c, 16), true)] {
        let (res, acc) = value_book(&c, &paths, std::slice::from_ref(&l), anti, Detail::Full);
        assert_sound(std::slice::from_ref(&l), &res, &acc);
        assert_eq!(acc.months, 480);
        let last = expected_month(&acc, 480);
        assert!(
            last[MonthlyField::Surviving as usize] > 0.0,
            "some loans reach maturity"
        );
        assert!(
            last[MonthlyField::UpbC as usize].abs() < 1e-6,
            "fully amortised at maturity"
        );
        assert!(res[0].value > 0.0 && res[0].value < l.servicing_fee * l.upb * 40.0);
    }
}

#[test]
fn age_600_is_fully_seasoned() {
    // The ramp is min(age + t, 30)/30: every age from 29 on is fully seasoned
    // from month 1, so ages 29 and 600 value to the same bits.
    let c = Config::default();
    let paths = hw_paths(&c, 16);
    let at = |age: u32| {
        let mut l = loan("AGE");
        l.loan_age = age;
        let (res, acc) = value_book(&c, &paths, std::slice::from_ref(&l), true, Detail::Full);
        assert_sound(std::slice::from_ref(&l), &res, &acc);
        res[0].clone()
    };
    let old = at(600);
    assert_eq!(old, at(29));
    assert_ne!(old, at(28), "at age 28 month 1 is not yet seasoned");
}

#[test]
fn a_negative_rate_curve_gives_no_float_income() {
    let mut c = Config::default();
    c.curve.zero_rates = vec![-0.01; c.curve.tenors.len()];
    c.validate().unwrap();
    let mut l = loan("NEG");
    l.dq_status = DqState::D60;
    l.advance_balance = 3000.0;
    let loans = [l, loan("NEG2")];
    let paths = static_path(&c);
    assert!(paths.short_rate.iter().all(|&r| r < 0.0));
    assert!(paths.discount.iter().all(|&d| d > 1.0));
    let (res, acc) = value_book(&c, &paths, &loans, false, Detail::Full);
    assert_sound(&loans, &res, &acc);
    for r in &res {
        // max(r, 0) = 0 on every month: no float on P&I or escrow ...
        assert_eq!(pv(r, "float_pi"), 0.0);
        assert_eq!(pv(r, "float_escrow"), 0.0);
        assert!(r.value > 0.0);
    }
    // ... but advances still cost the spread.
    assert!(pv(&res[0], "adv_finance") > 0.0);
    // Hull–White paths around the negative curve: finite, some float income.
    let paths = hw_paths(&c, 64);
    let (res, acc) = value_book(&c, &paths, &loans, true, Detail::Full);
    assert_sound(&loans, &res, &acc);
    assert!(pv(&res[1], "float_pi") > 0.0);
}

#[test]
fn five_percent_volatility_on_64_paths() {
    let mut c = Config::default();
    c.hull_white.sigma = 0.05;
    c.validate().unwrap();
    let paths = hw_paths(&c, 64);
    let mut loans = msr_io::generate_book(40, 5);
    loans[0].remaining_term = 480;
    let (res, acc) = value_book(&c, &paths, &loans, true, Detail::Full);
    assert_sound(&loans, &res, &acc);
    let oas_df = |t: usize| (-c.valuation.oas * t as f64 / 12.0).exp();
    for (l, r) in loans.iter().zip(&res) {
        let se = r.std_error.expect("32 antithetic pairs");
        assert!(se.is_finite() && se > 0.0);
        // fee_t ≤ (s/12)·B0 on every path, so the PV is below the bound.
        let bound: f64 = (1..=l.remaining_term as usize)
            .map(|t| (0..64).map(|p| paths.discount[[p, t - 1]]).sum::<f64>() / 64.0 * oas_df(t))
            .sum::<f64>()
            * l.servicing_fee
            / 12.0
            * l.upb;
        assert!(pv(r, "fee") <= bound * (1.0 + REL), "{}", l.loan_id);
        assert!(r.value.abs() < l.upb, "{}: {}", l.loan_id, r.value);
    }
    let sum: f64 = res.iter().map(|r| r.value).sum();
    assert!(close(acc.total.value.value(), sum, 1e-12, 1e-6));
}

#[test]
fn a_50m_balance_scales_like_its_500k_twin() {
    let mut small = loan("SMALL");
    small.upb = 500_000.0;
    small.escrow_monthly = 0.0;
    small.dq_status = DqState::D30;
    let big = Loan {
        loan_id: "BIG".into(),
        upb: 50_000_000.0,
        ..small.clone()
    };
    let c = Config::default();
    let paths = hw_paths(&c, 16);
    let (res, acc) = value_book(
        &c,
        &paths,
        &[small.clone(), big.clone()],
        true,
        Detail::Full,
    );
    assert_sound(&[small.clone(), big.clone()], &res, &acc);
    let (s, b) = (&res[0], &res[1]);
    // Balance-driven components scale by exactly 100 (behaviour does not
    // depend on the balance) ...
    for name in [
        "fee",
        "float_pi",
        "late_fee",
        "recapture",
        "adv_finance",
        "comp_int",
    ] {
        assert!(
            close(pv(b, name), 100.0 * pv(s, name), REL, 0.0),
            "{name}: {} vs {}",
            pv(b, name),
            pv(s, name)
        );
    }
    // ... per-loan dollar items do not scale at all.
    for name in ["cost", "ancillary", "float_escrow"] {
        assert_eq!(pv(b, name).to_bits(), pv(s, name).to_bits(), "{name}");
    }
    // With the per-loan dollar items switched off, the value itself scales.
    let mut c = Config::default();
    c.servicing.cost_multiplier = 0.0;
    c.servicing.ancillary_annual = 0.0;
    c.servicing.fc_cost = 0.0;
    c.servicing.dil_cost = 0.0;
    let (res, _) = value_book(&c, &paths, &[small, big], true, Detail::Values);
    assert!(
        close(res[1].value, 100.0 * res[0].value, REL, 0.0),
        "{} vs {}",
        res[1].value,
        res[0].value
    );
    assert!(close(
        res[1].std_error.unwrap(),
        100.0 * res[0].std_error.unwrap(),
        1e-10,
        0.0
    ));
}

#[test]
fn fico_and_ltv_at_their_limits() {
    let c = Config::default();
    let paths = hw_paths(&c, 16);
    let with = |fico: i32, ltv: f64| Loan {
        fico,
        ltv,
        ..loan(&format!("F{fico}L{ltv}"))
    };
    let loans = [
        with(300, 95.0),
        with(850, 95.0),
        with(700, 300.0),
        with(300, 300.0),
        with(700, 80.0),
    ];
    let (res, acc) = value_book(&c, &paths, &loans, true, Detail::Full);
    assert_sound(&loans, &res, &acc);
    // Worse credit is worth less: more delinquency, costs and losses.
    assert!(
        res[0].value < res[1].value,
        "FICO 300 {} vs 850 {}",
        res[0].value,
        res[1].value
    );
    assert!(
        res[2].value < res[4].value,
        "LTV 300 {} vs 80 {}",
        res[2].value,
        res[4].value
    );
    assert!(pv(&res[3], "liq_loss") > pv(&res[4], "liq_loss"));
    // FICO 300 at LTV 300: the roll from current is at its cap (0.5), so with
    // prepayment off exactly half the mass is in D30 after month 1.
    let mut q = Config::default();
    q.prepay.turnover_cpr = 0.0;
    q.prepay.refi_max_cpr = 0.0;
    let l = &loans[3];
    let (_, acc) = value_book(&q, &paths, std::slice::from_ref(l), true, Detail::Full);
    let m1 = expected_month(&acc, 1);
    let bal_end = l.upb * balance_factor(l.note_rate, l.remaining_term, 1);
    assert!(close(
        m1[MonthlyField::UpbD30 as usize],
        0.5 * bal_end,
        REL,
        0.0
    ));
    assert!(close(
        m1[MonthlyField::UpbC as usize],
        0.5 * bal_end,
        REL,
        0.0
    ));
}

// ---------------------------------------------------------------------------
// The non-finite guard
// ---------------------------------------------------------------------------

/// The static path twice, with the discount factor of path 1, month 3 set to
/// 1e308: finite (PathSet accepts it) but any cash flow times it overflows.
fn huge_discount_paths(c: &Config) -> PathSet {
    let one = static_path(c);
    let two =
        |a: &ndarray::Array2<f64>| ndarray::concatenate![ndarray::Axis(0), a.view(), a.view()];
    let mut discount = two(&one.discount);
    discount[[1, 2]] = 1e308;
    PathSet::new(two(&one.short_rate), two(&one.mortgage_rate), discount).unwrap()
}

#[test]
fn a_non_finite_loan_is_reported_and_left_out_of_every_total() {
    let c = Config::default();
    let paths = huge_discount_paths(&c);
    let mut short = loan("SHORT");
    short.remaining_term = 2; // never reaches month 3
    short.investor = Investor::Gnma;
    let mut long = loan("LONG");
    long.dq_status = DqState::D90;
    long.advance_balance = 5000.0;
    let loans = [short.clone(), long.clone()];
    // Through an explicit context, as the CLI builds it.
    let params = ModelParams::from_config(&c);
    let market = Market::new(&paths, &params, c.valuation.oas, 300);
    let ctx = Context {
        params: &params,
        market: &market,
        config: &c,
        units: false.into(),
        tangent: None,
    };
    let (res, acc) = value_loans(&ctx, &loans, Detail::Full);
    assert!(res[0].is_finite());
    assert!(!res[1].is_finite(), "{:?}", res[1]);
    assert_eq!(acc.non_finite.len(), 1);
    let nf = &acc.non_finite[0];
    assert_eq!(nf.loan, long, "reported with its inputs");
    assert!(
        nf.what == "value" || nf.what.starts_with("pv_"),
        "{}",
        nf.what
    );
    // Only the finite loan is in the totals, groups, path values and monthly fields.
    let (alone, alone_acc) = value_loans(&ctx, &[short.clone()], Detail::Full);
    assert_eq!(res[0], alone[0]);
    assert_eq!(acc.total, alone_acc.total);
    assert_eq!(acc.by_investor, alone_acc.by_investor);
    assert_eq!(acc.by_status, alone_acc.by_status);
    assert_eq!(acc.pv, alone_acc.pv);
    assert_eq!(acc.path_values, alone_acc.path_values);
    assert_eq!(acc.monthly, alone_acc.monthly);
    assert_eq!(acc.cf, alone_acc.cf);
    assert_eq!(acc.loan_count, 1);
    assert_eq!(acc.by_investor[Investor::Fnma.index()].records, 0);
    assert!(acc.total.value.value().is_finite());
}

#[test]
fn a_valid_config_can_overflow_and_is_caught() {
    // cost_inflation need only be finite and > -1: (1 + 1e10)^((t−1)/12)
    // overflows from month 371 on, so a 480-month loan's cost is infinite;
    // a 300-month loan's is finite but ~1e250, beyond what the totals can
    // sum (it was summed, saturated, before the range guard); a one-year
    // loan's is ordinary.
    let mut c = Config::default();
    c.servicing.cost_inflation = 1e10;
    c.validate().unwrap();
    let mut l = loan("INFL");
    l.remaining_term = 480;
    let mut ok = loan("OK");
    ok.remaining_term = 12;
    let (res, acc) = value_book(
        &c,
        &static_path(&c),
        &[l.clone(), loan("MID"), ok],
        false,
        Detail::Full,
    );
    assert!(!res[0].is_finite() && !res[0].value.is_finite());
    assert!(!res[1].is_finite() && res[1].value.is_finite());
    assert!(res[2].is_finite());
    assert_eq!(acc.non_finite.len(), 2);
    assert_eq!(acc.non_finite[0].loan.loan_id, "INFL");
    assert_eq!(acc.non_finite[1].loan.loan_id, "MID");
    assert!(
        acc.non_finite[1].what.starts_with("value = -")
            && acc.non_finite[1]
                .what
                .ends_with("is beyond the exact-sum range ±2^63 ≈ 9.2e18"),
        "{}",
        acc.non_finite[1].what
    );
    assert_eq!(acc.total.records, 1);
    assert_eq!(acc.total.value.value(), {
        let mut s = msr_core::ExactSum::ZERO;
        s.add(res[2].value);
        s.value()
    });
}

// ---------------------------------------------------------------------------
// Defects found here, now fixed (docs/robustness.md, findings 1 and 2)
// ---------------------------------------------------------------------------

#[test]
fn totals_beyond_the_fixed_point_range_are_refused() {
    // Valid inputs whose loan values are finite but beyond 6e23: a balance of
    // 1e30 (§B only asks for > 0); an OAS of −1 (the accepted minimum) and
    // −3.5 % rates on a 431-month rep line of a million loans; cost inflation
    // of 22.36 a year on a 173-month rep line of 3000.
    let mut huge = loan("HUGE");
    huge.upb = 1e30;
    let mut rep = loan("REP");
    rep.remaining_term = 431;
    rep.loan_count = 1_000_000;
    // (No prepayment or default, so the loans live their whole term.)
    let mut negative_oas = quiet(Config::default());
    negative_oas.valuation.oas = -1.0;
    negative_oas.curve.zero_rates = vec![-0.035; negative_oas.curve.tenors.len()];
    let mut inflation = quiet(Config::default());
    inflation.servicing.cost_inflation = 22.36;
    let mut long = loan("LONG");
    long.remaining_term = 173;
    long.loan_count = 3000;
    let cases = [
        (Config::default(), huge),
        (negative_oas, rep),
        (inflation, long),
    ];
    let mut wrong = Vec::new();
    for (c, l) in cases {
        c.validate().unwrap();
        // Next to an ordinary two-year loan, which must be summed exactly as
        // if alone (the accumulators' month counts differ: compare its months).
        let mut plain = loan("PLAIN");
        plain.remaining_term = 24;
        let book = [l.clone(), plain];
        let paths = static_path(&c);
        let (res, acc) = value_book(&c, &paths, &book, false, Detail::Full);
        let (alone, alone_acc) = value_book(&c, &paths, &book[1..], false, Detail::Full);
        let zero =
            |xs: &[msr_core::ExactSum; msr_model::NUM_MONTHLY]| xs.iter().all(|x| x.value() == 0.0);
        // The value is finite: it is not the NaN/inf guard that catches it.
        assert!(res[0].value.is_finite(), "{}: {:?}", l.loan_id, res[0]);
        // Either the loan is reported (and not summed) or the totals are right.
        let reported = acc.non_finite.len() == 1
            && acc.non_finite[0].loan == l
            && !res[0].is_finite()
            && acc.total.records == 1
            && acc.total == alone_acc.total
            && acc.path_values == alone_acc.path_values
            && acc.monthly[..24] == alone_acc.monthly[..]
            && acc.monthly[24..].iter().all(zero)
            && acc.cf[..24] == alone_acc.cf[..]
            && acc.cf[24..].iter().all(|&x| x == 0)
            && res[1] == alone[0];
        let summed = close(acc.total.upb.value(), l.upb + book[1].upb, 1e-12, 0.0)
            && close(
                acc.total.value.value(),
                res[0].value + res[1].value,
                1e-12,
                0.0,
            );
        if !(reported || summed) {
            wrong.push(format!(
                "{}: value {:e} summed as {:e}",
                l.loan_id,
                res[0].value,
                acc.total.value.value()
            ));
        }
        assert!(!acc.overflowed(), "{}", l.loan_id);
        if reported {
            let why = acc.non_finite[0].reason();
            assert!(
                why.contains("is beyond the exact-sum range ±2^63"),
                "{}: {why}",
                l.loan_id
            );
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// Each amount the guard screens, with what it says.
#[test]
fn the_guard_names_the_amount_beyond_the_exact_sum_range() {
    let c = Config::default();
    let paths = static_path(&c);
    let mut huge = loan("HUGE");
    huge.upb = 1e30;
    let (_, acc) = value_book(&c, &paths, &[huge], false, Detail::Values);
    // The value (~1e28) is checked before the balance.
    let what = &acc.non_finite[0].what;
    assert!(what.starts_with("value = 1.2"), "{what}");
    assert!(
        what.ends_with("e28 is beyond the exact-sum range ±2^63 ≈ 9.2e18"),
        "{what}"
    );
    // A balance of 1e19 (value ~1e17, within range) is caught by the UPB.
    let mut big = loan("BIG");
    big.upb = 1e19;
    let (res, acc) = value_book(&c, &paths, &[big], false, Detail::Full);
    assert!(
        res[0].value.abs() < 1e18 && !res[0].is_finite(),
        "{:?}",
        res[0]
    );
    assert_eq!(
        acc.non_finite[0].what,
        "upb = 1e19 is beyond the exact-sum range ±2^63 ≈ 9.2e18"
    );
    assert_eq!(acc.total.records, 0);
    assert!(
        acc.cf.iter().all(|&x| x == 0),
        "its cash flows are taken back out"
    );
    assert!(acc.monthly.iter().flatten().all(|x| x.value() == 0.0));
    // Just below the bound a balance is summed exactly.
    let mut edge = loan("EDGE");
    edge.upb = 9e18;
    edge.servicing_fee = 0.0;
    edge.escrow_monthly = 0.0;
    let (res, acc) = value_book(&quiet(c.clone()), &paths, &[edge], false, Detail::Values);
    assert!(res[0].is_finite(), "{:?}", acc.non_finite);
    assert_eq!(acc.total.upb.value(), 9e18);
    // A non-finite one keeps its plain name and reason.
    let mut inflation = Config::default();
    inflation.servicing.cost_inflation = 1e10;
    let mut l = loan("INF");
    l.remaining_term = 480;
    let (_, acc) = value_book(&inflation, &paths, &[l], false, Detail::Full);
    let nf = &acc.non_finite[0];
    assert!(
        nf.what == "value" || nf.what.starts_with("pv_"),
        "{}",
        nf.what
    );
    assert_eq!(nf.reason(), format!("{} is not finite", nf.what));
}

#[test]
fn a_zero_base_roll_means_no_delinquency_even_when_prices_fall() {
    let mut c = Config::default();
    c.credit.base_roll = 0.0;
    c.credit.hpa = -0.25;
    c.validate().unwrap();
    let mut l = loan("HPA");
    l.remaining_term = 480;
    l.loan_age = 0;
    l.ltv = 80.0;
    let (_, acc) = value_book(
        &c,
        &static_path(&c),
        std::slice::from_ref(&l),
        false,
        Detail::Full,
    );
    for t in 1..=480 {
        let m = expected_month(&acc, t);
        assert_eq!(
            m[MonthlyField::UpbD30 as usize],
            0.0,
            "month {t}: loans rolled with base_roll = 0"
        );
    }
}

#[test]
fn a_zero_cpr_multiplier_means_no_prepayment() {
    let mut c = Config::default();
    c.prepay.cpr_multiplier = 0.0;
    c.prepay.refi_fico = 1000.0;
    // The CPR governs payoffs from C only; D30 pays off at pp30 (§D.3),
    // which the multiplier does not scale: switch that off too, so every
    // payoff would be the CPR's.
    c.credit.pp30 = 0.0;
    c.validate().unwrap();
    let mut l = loan("CPR");
    l.fico = 850;
    let (_, acc) = value_book(
        &c,
        &static_path(&c),
        std::slice::from_ref(&l),
        false,
        Detail::Full,
    );
    for t in 1..=l.remaining_term as usize {
        let m = expected_month(&acc, t);
        assert_eq!(
            m[MonthlyField::Prepaid as usize],
            0.0,
            "month {t}: prepaid with cpr_multiplier = 0"
        );
    }
}

#[test]
fn a_zero_roll_multiplier_means_no_delinquency() {
    let mut c = Config::default();
    c.credit.roll_multiplier = 0.0;
    c.credit.fico_beta = 200.0;
    c.validate().unwrap();
    let mut l = loan("ROLL");
    l.fico = 300;
    let (_, acc) = value_book(
        &c,
        &static_path(&c),
        std::slice::from_ref(&l),
        false,
        Detail::Full,
    );
    let m = expected_month(&acc, 1);
    assert_eq!(
        m[MonthlyField::UpbD30 as usize],
        0.0,
        "loans rolled with roll_multiplier = 0"
    );
}

/// A CPR floating point cannot form (a refinance FICO factor of e^1500 = ∞
/// times an S-curve of exactly 0, with `refi_midpoint` = 300) is NaN, and
/// the NaN reaches the guard: the loan is reported, not prepaid at the cap.
#[test]
fn an_undefined_cpr_is_reported_not_capped() {
    let mut c = Config::default();
    c.prepay.refi_fico = 1000.0;
    c.prepay.refi_midpoint = 300.0;
    c.validate().unwrap();
    let mut l = loan("NAN");
    l.fico = 850;
    let (res, acc) = value_book(&c, &static_path(&c), &[l, loan("OK")], false, Detail::Full);
    assert!(res[0].value.is_nan(), "{:?}", res[0]);
    assert_eq!(acc.non_finite.len(), 1);
    assert_eq!(acc.non_finite[0].loan.loan_id, "NAN");
    // At FICO 700 the same configuration is ordinary: the S-curve is 0 and
    // so is the refinance term.
    assert!(res[1].is_finite());
    assert_eq!(acc.total.records, 1);
}
