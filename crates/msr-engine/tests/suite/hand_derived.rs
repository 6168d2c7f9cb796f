//! Tests with hand-derived numbers (issue 3): closed-form annuities, advance
//! balances month by month under GSE and Ginnie rules, mass conservation, the
//! delinquent cost ratios and per-loan scaling of `loan_count`.
//!
//! Every test builds a zero-rate world (flat zero curve, static path: r = 0,
//! D = 1) so the numbers can be derived on paper; prepayment and credit
//! transitions are switched off or on as each case needs.

use crate::common::pv;
use msr_core::loan::{DqState, Investor, Loan};
use msr_core::tolerance::close;
use msr_core::Config;
use msr_engine::{expected_month, value_book, Detail, LoanResult, PortfolioAccum};
use msr_model::{Component, MonthlyField};
use msr_rates::{PathSet, RateModel};

const REL: f64 = 1e-12;

fn loan(dq: DqState, investor: Investor) -> Loan {
    Loan {
        loan_id: "L1".into(),
        upb: 200_000.0,
        note_rate: 0.06,
        servicing_fee: 0.0025,
        remaining_term: 360,
        loan_age: 24,
        fico: 700,
        ltv: 80.0,
        investor,
        dq_status: dq,
        property_state: *b"TX",
        escrow_monthly: 300.0,
        loan_count: 1,
        advance_balance: 0.0,
    }
}

/// A world with zero rates, no prepayment and no credit transitions.
fn quiet_config() -> Config {
    let mut c = Config::default();
    c.curve.zero_rates = vec![0.0; c.curve.tenors.len()];
    c.valuation.oas = 0.0;
    c.prepay.turnover_cpr = 0.0;
    c.prepay.refi_max_cpr = 0.0;
    c.credit.base_roll = 0.0;
    c.servicing.cost_inflation = 0.0;
    c.validate().unwrap();
    c
}

fn static_paths(c: &Config) -> PathSet {
    RateModel::from_config(&c.curve, &c.hull_white, &c.mortgage_rate)
        .unwrap()
        .static_path(480)
}

fn value(c: &Config, loans: &[Loan]) -> (Vec<LoanResult>, PortfolioAccum) {
    value_book(c, &static_paths(c), loans, false, Detail::Full)
}

#[test]
fn fee_pv_is_the_closed_form_annuity() {
    for oas in [0.0, 0.065] {
        let mut c = quiet_config();
        c.valuation.oas = oas;
        let l = loan(DqState::C, Investor::Fnma);
        let (res, _) = value(&c, std::slice::from_ref(&l));
        // fee_t = (s/12)·B0·b_{t−1}, b_k = (G − g^k)/(G − 1), g = 1 + c/12, G = g^n,
        // discounted by v^t, v = e^{−oas/12}:
        // Σ_{t=1}^{n} v^t (G − g^{t−1})/(G − 1) = [G·S(v) − S(g·v)/g]/(G − 1),
        // with S(x) = Σ_{t=1}^{n} x^t = x(1 − x^n)/(1 − x)  (n·x when x = 1).
        let n = l.remaining_term as f64;
        let g = 1.0 + l.note_rate / 12.0;
        let big_g = g.powf(n);
        let v = (-oas / 12.0f64).exp();
        let s = |x: f64| {
            if x == 1.0 {
                n
            } else {
                x * (1.0 - x.powf(n)) / (1.0 - x)
            }
        };
        let annuity = (big_g * s(v) - s(g * v) / g) / (big_g - 1.0);
        let expected = l.servicing_fee / 12.0 * l.upb * annuity;
        let got = pv(&res[0], "fee");
        assert!(
            close(got, expected, REL, 0.0),
            "oas {oas}: fee pv {got} vs closed form {expected}"
        );
        // Nothing prepays, defaults or floats at zero rates.
        for name in [
            "float_pi",
            "float_escrow",
            "late_fee",
            "recapture",
            "adv_finance",
            "comp_int",
            "liq_loss",
        ] {
            assert_eq!(pv(&res[0], name), 0.0, "{name}");
        }
    }
}

/// The advance recursion of MODEL.md §E.2 written out for one loan that starts
/// in D30, with no prepayment and zero rates: returns AdvBal_t for t = 1..=months.
fn advances_by_hand(c: &Config, l: &Loan, pi_states: &[usize], months: usize) -> Vec<f64> {
    let cr = &c.credit;
    let h = 1.0 / cr.fc_months_nonjudicial; // TX is non-judicial
    let i = l.note_rate / 12.0;
    let n = l.remaining_term as f64;
    let b = |k: f64| ((1.0 + i).powf(n) - (1.0 + i).powf(k)) / ((1.0 + i).powf(n) - 1.0);
    // States C, D30, D60, D90, D120, FC.
    let mut pi = [0.0, 1.0, 0.0, 0.0, 0.0, 0.0];
    let mut adv = [0.0; 6];
    let mut out = Vec::new();
    for t in 1..=months {
        let bal = l.upb * b(t as f64 - 1.0);
        let sched = l.upb * (b(t as f64 - 1.0) - b(t as f64));
        let new_pi = [
            pi[0]
                + pi[1] * cr.cure30
                + pi[2] * cr.cure60
                + pi[3] * cr.cure90
                + pi[4] * (cr.cure120 + cr.mod120)
                + pi[5] * cr.reinstate,
            pi[1] * (1.0 - cr.cure30 - cr.roll30 - cr.pp30),
            pi[1] * cr.roll30 + pi[2] * (1.0 - cr.cure60 - cr.roll60),
            pi[2] * cr.roll60 + pi[3] * (1.0 - cr.cure90 - cr.roll90),
            pi[3] * cr.roll90 + pi[4] * (1.0 - cr.cure120 - cr.mod120 - cr.dil120 - cr.fc120),
            pi[4] * cr.fc120 + pi[5] * (1.0 - cr.reinstate - h),
        ];
        let carried = [
            0.0,
            adv[1] * (1.0 - cr.cure30 - cr.roll30 - cr.pp30),
            adv[1] * cr.roll30 + adv[2] * (1.0 - cr.cure60 - cr.roll60),
            adv[2] * cr.roll60 + adv[3] * (1.0 - cr.cure90 - cr.roll90),
            adv[3] * cr.roll90 + adv[4] * (1.0 - cr.cure120 - cr.mod120 - cr.dil120 - cr.fc120),
            adv[4] * cr.fc120 + adv[5] * (1.0 - cr.reinstate - h),
        ];
        for k in 1..6 {
            let pi_adv = if pi_states.contains(&k) {
                bal * (l.note_rate - l.servicing_fee) / 12.0 + sched
            } else {
                0.0
            };
            adv[k] = carried[k] + new_pi[k] * (pi_adv + l.escrow_monthly);
        }
        pi = new_pi;
        out.push(adv.iter().sum());
    }
    out
}

#[test]
fn d30_advances_month_by_month_under_gse_and_ginnie_rules() {
    let c = quiet_config();
    let spread = c.servicing.advance_spread;
    let mut by_investor = Vec::new();
    for (investor, states) in [
        (Investor::Fnma, vec![1, 2, 3]),
        (Investor::Gnma, vec![1, 2, 3, 4, 5]),
    ] {
        let l = loan(DqState::D30, investor);
        let (_, acc) = value(&c, std::slice::from_ref(&l));
        let hand = advances_by_hand(&c, &l, &states, 24);
        // At r = 0, adv_finance_t = AdvBal_t · spread / 12.
        let engine: Vec<f64> = (1..=24)
            .map(|t| expected_month(&acc, t)[Component::AdvFinance as usize] * 12.0 / spread)
            .collect();
        for t in 0..24 {
            assert!(
                close(engine[t], hand[t], REL, 1e-9),
                "{investor} month {}: {} vs {}",
                t + 1,
                engine[t],
                hand[t]
            );
        }
        by_investor.push(engine);
    }
    let (fnma, gnma) = (&by_investor[0], &by_investor[1]);
    // Month 1: 55 % of the mass stays in D30 or rolls to D60; both investors advance P&I there.
    // Months 1–2 agree (no mass reaches D120 before month 3).
    assert_eq!(fnma[0].to_bits(), gnma[0].to_bits());
    assert_eq!(fnma[1].to_bits(), gnma[1].to_bits());
    // Month 3: the GSE stops P&I advances in D120; Ginnie keeps advancing.
    // The first D120 mass is 0.30·0.45·0.60 = 0.081 of the loan.
    let l = loan(DqState::D30, Investor::Fnma);
    let i = l.note_rate / 12.0;
    let b = |k: f64| ((1.0 + i).powf(360.0) - (1.0 + i).powf(k)) / ((1.0 + i).powf(360.0) - 1.0);
    let pi_d120 = 0.30 * 0.45 * 0.60;
    let p_and_i =
        l.upb * b(2.0) * (l.note_rate - l.servicing_fee) / 12.0 + l.upb * (b(2.0) - b(3.0));
    assert!(
        close(gnma[2] - fnma[2], pi_d120 * p_and_i, 1e-9, 1e-9),
        "{} vs {}",
        gnma[2] - fnma[2],
        pi_d120 * p_and_i
    );
    assert!(gnma[23] > fnma[23]);
}

#[test]
fn mass_is_conserved_every_month() {
    // Default model, credit and prepayment on, on the static path.
    let c = Config::default();
    let paths = static_paths(&c);
    for dq in DqState::ALL {
        let mut l = loan(dq, Investor::Gnma);
        l.loan_count = 2;
        let (_, acc) = value_book(&c, &paths, std::slice::from_ref(&l), false, Detail::Full);
        let mut absorbed = 0.0;
        for t in 1..=l.remaining_term as usize {
            let m = expected_month(&acc, t);
            absorbed += m[MonthlyField::Prepaid as usize]
                + m[MonthlyField::DeedInLieu as usize]
                + m[MonthlyField::Liquidated as usize];
            let total = m[MonthlyField::Surviving as usize] + absorbed;
            // Rounding accumulates over up to 360 monthly steps.
            assert!((total - 2.0).abs() < 1e-10, "{dq} month {t}: {total}");
        }
    }
}

#[test]
fn delinquent_loans_cost_350_and_600_percent_of_current() {
    let mut c = quiet_config();
    // Freeze every state so a loan stays where it starts.
    for x in [
        &mut c.credit.cure30,
        &mut c.credit.roll30,
        &mut c.credit.pp30,
        &mut c.credit.cure60,
        &mut c.credit.roll60,
    ] {
        *x = 0.0;
    }
    let cost = |dq| {
        let (_, acc) = value(&c, &[loan(dq, Investor::Fnma)]);
        expected_month(&acc, 1)[Component::Cost as usize]
    };
    let current = cost(DqState::C);
    assert!(close(current, 80.0 / 12.0, REL, 0.0));
    assert!(close(cost(DqState::D30) / current, 3.5, REL, 0.0));
    assert!(close(cost(DqState::D60) / current, 6.0, REL, 0.0));
}

#[test]
fn loan_count_three_costs_three_loans() {
    let c = Config::default();
    let paths = static_paths(&c);
    let one = loan(DqState::D60, Investor::Fnma);
    let mut three = one.clone();
    three.loan_count = 3;
    let (r1, _) = value_book(&c, &paths, &[one], false, Detail::Values);
    let (r3, _) = value_book(&c, &paths, &[three], false, Detail::Values);
    // Per-loan dollar items scale with N ...
    for name in ["cost", "ancillary"] {
        assert!(
            close(pv(&r3[0], name), 3.0 * pv(&r1[0], name), REL, 0.0),
            "{name}"
        );
    }
    // ... balance-driven items do not.
    for name in ["fee", "float_pi", "adv_finance", "comp_int"] {
        assert_eq!(
            pv(&r3[0], name).to_bits(),
            pv(&r1[0], name).to_bits(),
            "{name}"
        );
    }
    // Liquidation loss: the per-loan foreclosure/DIL costs scale, the advance loss does not.
    assert!(pv(&r3[0], "liq_loss") > pv(&r1[0], "liq_loss"));
}

#[test]
fn value_is_additive_over_loans() {
    let c = Config::default();
    let paths = static_paths(&c);
    let loans: Vec<Loan> = DqState::ALL
        .iter()
        .enumerate()
        .map(|(k, &dq)| {
            let mut l = loan(dq, Investor::ALL[k % 4]);
            l.loan_id = format!("L{k}");
            l.note_rate = 0.03 + 0.01 * k as f64;
            l
        })
        .collect();
    let (all, acc) = value_book(&c, &paths, &loans, false, Detail::Values);
    let mut sum = 0.0;
    for (k, l) in loans.iter().enumerate() {
        let (one, _) = value_book(&c, &paths, std::slice::from_ref(l), false, Detail::Values);
        assert_eq!(one[0].value.to_bits(), all[k].value.to_bits());
        sum += one[0].value;
    }
    assert!(close(acc.total.value.value(), sum, 1e-13, 1e-9));
}
