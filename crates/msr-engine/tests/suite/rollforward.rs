//! The fair-value roll-forward (docs/rollforward.md): it adds up to the cent
//! on a generated book, in total and per investor, with the beginning and
//! ending equal to independent valuations of each tape; each step has the
//! sign a practitioner expects on a small book built for it (removing loans,
//! adding loans, one month of runoff, rates up, higher servicing cost);
//! identical inputs give exactly zero steps; OAS and as-of count as market;
//! attribution follows the investor of the row valued; bad inputs are errors.

use msr_core::loan::{Investor, NUM_INVESTORS};
use msr_core::schedule::balance_factor;
use msr_core::{Config, ExactSum, Loan};
use msr_engine::rollforward::{market_substituted, RollforwardRun};
use msr_engine::{
    rollforward, value_loans, Context, Detail, Rollforward, RollforwardError, RollforwardInputs,
    Step,
};
use msr_model::{Market, ModelParams};
use msr_rates::{NormalGenerator, Normals, RateModel};

const NUM_PATHS: usize = 16;
const SEED: u64 = 20261121;
/// The contract: beginning + Σ changes = ending to the cent.
const CENT: f64 = 0.005;

fn normals(months: usize) -> Normals {
    NormalGenerator::new(SEED, true).normals(NUM_PATHS, months)
}

fn months_of(prior: &[Loan], current: &[Loan]) -> usize {
    prior
        .iter()
        .chain(current)
        .map(|l| l.remaining_term as usize)
        .max()
        .unwrap_or(1)
}

/// Run a roll-forward of two tapes and two configs on the common normals.
fn roll(prior: &[Loan], current: &[Loan], prior_cfg: &Config, current_cfg: &Config) -> Rollforward {
    let months = months_of(prior, current);
    let normals = normals(months);
    let inputs = RollforwardInputs {
        prior_loans: prior,
        current_loans: current,
        prior_config: prior_cfg,
        current_config: current_cfg,
        normals: &normals,
        months,
        units: true.into(),
        prior_spreads: None,
        current_spreads: None,
    };
    let mut runs = Vec::new();
    let rf = rollforward(&inputs, &mut |p| {
        if runs.last() != Some(&p.run) {
            runs.push(p.run);
        }
    })
    .unwrap();
    assert_eq!(
        runs,
        RollforwardRun::ALL,
        "every run reports progress, in order"
    );
    rf
}

/// Each loan's value at `config` on the normals, independently of the
/// roll-forward (its own paths and market).
fn values(loans: &[Loan], config: &Config, months: usize) -> Vec<f64> {
    let model =
        RateModel::from_config(&config.curve, &config.hull_white, &config.mortgage_rate).unwrap();
    let paths = model.paths(&normals(months), months);
    let params = ModelParams::from_config(config);
    let market = Market::new(&paths, &params, config.valuation.oas, months);
    let ctx = Context {
        params: &params,
        market: &market,
        config,
        units: true.into(),
        tangent: None,
    };
    let (results, _) = value_loans(&ctx, loans, Detail::Values);
    results.iter().map(|r| r.value).collect()
}

fn exact(xs: &[f64]) -> ExactSum {
    let mut s = ExactSum::ZERO;
    for &x in xs {
        s.add(x);
    }
    s
}

/// Every table telescopes to the cent; investors add up to the total exactly.
fn assert_adds_up(rf: &Rollforward) {
    for (name, t) in std::iter::once(("total", &rf.total)).chain(
        Investor::ALL
            .iter()
            .map(|i| (i.code(), &rf.by_investor[i.index()])),
    ) {
        let sum: f64 = t.beginning() + t.changes().iter().sum::<f64>();
        assert!(
            (sum - t.ending()).abs() < CENT,
            "{name}: {} + {:?} = {sum} vs ending {}",
            t.beginning(),
            t.changes(),
            t.ending()
        );
        let mut level = t.beginning();
        for step in Step::ALL {
            level += t.change(step);
            assert!(
                (level - t.level_after(step)).abs() < CENT,
                "{name} {step:?}"
            );
        }
    }
    for k in 0..=Step::ALL.len() {
        let mut s = ExactSum::ZERO;
        for t in &rf.by_investor {
            s.merge(t.levels[k]);
        }
        assert_eq!(s, rf.total.levels[k], "investors add up to level {k}");
    }
}

/// A current, performing loan whose MSR value is positive.
fn loan(id: &str, investor: Investor, upb: f64, note_rate: f64) -> Loan {
    Loan {
        loan_id: id.to_string(),
        upb,
        note_rate,
        servicing_fee: 0.0025,
        remaining_term: 330,
        loan_age: 30,
        fico: 740,
        ltv: 75.0,
        investor,
        dq_status: msr_core::DqState::C,
        property_state: *b"TX",
        escrow_monthly: 300.0,
        loan_count: 1,
        advance_balance: 0.0,
    }
}

fn small_book() -> Vec<Loan> {
    (0..8)
        .map(|k| {
            loan(
                &format!("S{k}"),
                Investor::ALL[k % NUM_INVESTORS],
                150_000.0 + 25_000.0 * k as f64,
                0.055 + 0.0025 * (k % 3) as f64,
            )
        })
        .collect()
}

/// The loan one month later on schedule: one payment made.
fn aged(l: &Loan) -> Loan {
    let mut next = l.clone();
    next.upb = l.upb * balance_factor(l.note_rate, l.remaining_term, 1);
    next.remaining_term -= 1;
    next.loan_age += 1;
    next
}

fn config() -> Config {
    let mut c = Config::default();
    c.valuation.num_paths = NUM_PATHS as u32;
    c
}

fn total_value(loans: &[Loan], config: &Config) -> f64 {
    values(loans, config, months_of(loans, &[])).iter().sum()
}

#[test]
fn adds_up_to_the_cent_on_a_generated_book() {
    let prior = msr_io::generate_book(400, 7);
    // Current: every 9th loan gone, the rest a month older (one in 13 rolled
    // one bucket worse, one in 17 transferred to another investor), and 40
    // new loans.
    let mut current: Vec<Loan> = prior
        .iter()
        .enumerate()
        .filter(|(k, _)| k % 9 != 4)
        .filter(|(_, l)| l.remaining_term > 1)
        .map(|(k, l)| {
            let mut n = aged(l);
            if k % 13 == 0 && n.dq_status == msr_core::DqState::C {
                n.dq_status = msr_core::DqState::D30;
                n.advance_balance = 1_000.0;
            }
            if k % 17 == 0 {
                n.investor = Investor::ALL[(n.investor.index() + 1) % NUM_INVESTORS];
            }
            n
        })
        .collect();
    current.extend(msr_io::generate_book(40, 8).into_iter().map(|mut l| {
        l.loan_id = format!("NEW-{}", l.loan_id);
        l
    }));
    let prior_cfg = config();
    let mut current_cfg = config();
    current_cfg.valuation.as_of = "2026-12-31".into();
    for z in &mut current_cfg.curve.zero_rates {
        *z += 0.0035;
    }
    current_cfg.mortgage_rate.m0 += 0.003;
    current_cfg.hull_white.sigma = 0.011;
    current_cfg.valuation.oas = 0.07;
    current_cfg.servicing.cost_multiplier = 1.1;
    current_cfg.prepay.cpr_multiplier = 0.95;

    let rf = roll(&prior, &current, &prior_cfg, &current_cfg);
    assert_adds_up(&rf);
    let continuing = current.len() - 40;
    assert!(continuing > 300 && continuing < 400);
    assert_eq!(rf.loans.prior, 400);
    assert_eq!(rf.loans.continuing, continuing);
    assert_eq!(rf.loans.removed, 400 - continuing);
    assert_eq!(rf.loans.added, 40);
    assert_eq!(rf.loans.current, continuing + 40);
    assert!(rf.non_finite.is_empty());
    assert_eq!(rf.num_paths, NUM_PATHS);

    // The beginning and the ending are the two tapes valued on their own.
    let months = months_of(&prior, &current);
    assert_eq!(
        rf.total.levels[0],
        exact(&values(&prior, &prior_cfg, months))
    );
    assert_eq!(
        rf.total.levels[Step::ALL.len()],
        exact(&values(&current, &current_cfg, months))
    );
    // Every step moved something on this book.
    for step in Step::ALL {
        assert!(rf.total.change(step).abs() > 1.0, "{step:?}");
    }
}

#[test]
fn removing_loans_is_negative_and_equals_their_value() {
    let prior = small_book();
    let current: Vec<Loan> = prior[2..].to_vec();
    let cfg = config();
    let rf = roll(&prior, &current, &cfg, &cfg);
    assert_adds_up(&rf);
    let gone = total_value(&prior[..2], &cfg);
    assert!(gone > 0.0);
    let removed = rf.total.change(Step::LoansRemoved);
    assert!(removed < 0.0);
    assert!((removed + gone).abs() < CENT, "{removed} vs -{gone}");
    for step in [
        Step::LoansAdded,
        Step::RunoffAndPerformance,
        Step::Market,
        Step::Assumptions,
    ] {
        assert_eq!(rf.total.change(step), 0.0, "{step:?}");
    }
    assert_eq!((rf.loans.removed, rf.loans.continuing), (2, 6));
    // S0 is FNMA, S1 FHLMC: only those investors lose value.
    let fnma = &rf.by_investor[Investor::Fnma.index()];
    let gnma = &rf.by_investor[Investor::Gnma.index()];
    assert!(fnma.change(Step::LoansRemoved) < 0.0);
    assert_eq!(gnma.change(Step::LoansRemoved), 0.0);
}

#[test]
fn adding_loans_is_positive_and_equals_their_value() {
    let prior = small_book();
    let mut current = prior.clone();
    current.push(loan("NEW1", Investor::Gnma, 300_000.0, 0.06));
    current.push(loan("NEW2", Investor::Pls, 120_000.0, 0.058));
    let cfg = config();
    let rf = roll(&prior, &current, &cfg, &cfg);
    assert_adds_up(&rf);
    let added = rf.total.change(Step::LoansAdded);
    let new_value = total_value(&current[8..], &cfg);
    assert!(added > 0.0);
    assert!((added - new_value).abs() < CENT);
    assert_eq!(rf.total.change(Step::LoansRemoved), 0.0);
    assert_eq!(rf.total.change(Step::RunoffAndPerformance), 0.0);
    assert_eq!(rf.loans.added, 2);
}

#[test]
fn a_month_of_runoff_is_negative() {
    let prior = small_book();
    let current: Vec<Loan> = prior.iter().map(aged).collect();
    assert!(current.iter().zip(&prior).all(|(c, p)| c.upb < p.upb));
    let cfg = config();
    let rf = roll(&prior, &current, &cfg, &cfg);
    assert_adds_up(&rf);
    assert!(rf.total.change(Step::RunoffAndPerformance) < 0.0);
    for step in [
        Step::LoansRemoved,
        Step::LoansAdded,
        Step::Market,
        Step::Assumptions,
    ] {
        assert_eq!(rf.total.change(step), 0.0, "{step:?}");
    }
    assert_eq!(rf.loans.continuing, 8);
}

#[test]
fn rates_up_make_a_positive_market_step() {
    let prior = small_book();
    let prior_cfg = config();
    let mut current_cfg = config();
    for z in &mut current_cfg.curve.zero_rates {
        *z += 0.01;
    }
    current_cfg.mortgage_rate.m0 += 0.01;
    let rf = roll(&prior, &prior, &prior_cfg, &current_cfg);
    assert_adds_up(&rf);
    let market = rf.total.change(Step::Market);
    assert!(market > 0.0, "market step {market}");
    // The curve is market data: nothing is left for the assumptions.
    assert_eq!(rf.total.change(Step::Assumptions), 0.0);
    assert_eq!(rf.total.change(Step::RunoffAndPerformance), 0.0);
}

#[test]
fn higher_servicing_cost_makes_a_negative_assumptions_step() {
    let prior = small_book();
    let prior_cfg = config();
    let mut current_cfg = config();
    current_cfg.servicing.cost_annual.c *= 1.5;
    let rf = roll(&prior, &prior, &prior_cfg, &current_cfg);
    assert_adds_up(&rf);
    assert!(rf.total.change(Step::Assumptions) < 0.0);
    assert_eq!(rf.total.change(Step::Market), 0.0);
    for i in Investor::ALL {
        assert!(rf.by_investor[i.index()].change(Step::Assumptions) < 0.0);
    }
}

#[test]
fn oas_and_as_of_count_as_market() {
    let prior = small_book();
    let prior_cfg = config();
    let mut current_cfg = config();
    current_cfg.valuation.oas += 0.01;
    current_cfg.valuation.as_of = "2027-03-31".into();
    let rf = roll(&prior, &prior, &prior_cfg, &current_cfg);
    assert_adds_up(&rf);
    assert!(
        rf.total.change(Step::Market) < 0.0,
        "a wider OAS lowers the value"
    );
    assert_eq!(rf.total.change(Step::Assumptions), 0.0);
    let mixed = market_substituted(&prior_cfg, &current_cfg);
    assert_eq!(mixed, current_cfg);
}

#[test]
fn identical_inputs_give_exactly_zero_steps() {
    let book = msr_io::generate_book(120, 3);
    let cfg = config();
    let rf = roll(&book, &book, &cfg, &cfg);
    for t in std::iter::once(&rf.total).chain(&rf.by_investor) {
        assert_eq!(t.changes(), [0.0; 5]);
        assert_eq!(t.beginning().to_bits(), t.ending().to_bits());
    }
    assert!(rf.total.beginning() > 0.0);
    assert_eq!(
        (rf.loans.removed, rf.loans.added, rf.loans.continuing),
        (0, 0, 120)
    );
}

#[test]
fn attribution_follows_the_investor_of_the_row_valued() {
    let prior = small_book();
    let mut current = prior.clone();
    // S0 moves from FNMA to GNMA between the dates.
    assert_eq!(current[0].investor, Investor::Fnma);
    current[0].investor = Investor::Gnma;
    let cfg = config();
    let rf = roll(&prior, &current, &cfg, &cfg);
    assert_adds_up(&rf);
    let fnma = &rf.by_investor[Investor::Fnma.index()];
    let gnma = &rf.by_investor[Investor::Gnma.index()];
    let v_prior = total_value(&prior[..1], &cfg);
    let v_current = total_value(&current[..1], &cfg);
    assert!((fnma.change(Step::RunoffAndPerformance) + v_prior).abs() < CENT);
    assert!((gnma.change(Step::RunoffAndPerformance) - v_current).abs() < CENT);
    assert!((rf.total.change(Step::RunoffAndPerformance) - (v_current - v_prior)).abs() < CENT);
}

#[test]
fn unusable_inputs_are_errors() {
    let book = small_book();
    let cfg = config();
    let months = months_of(&book, &book);
    let normals = normals(months);
    let mut dup = book.clone();
    dup[3].loan_id = dup[2].loan_id.clone();
    let base = RollforwardInputs {
        prior_loans: &book,
        current_loans: &book,
        prior_config: &cfg,
        current_config: &cfg,
        normals: &normals,
        months,
        units: true.into(),
        prior_spreads: None,
        current_spreads: None,
    };
    let err = |inputs: RollforwardInputs<'_>| rollforward(&inputs, &mut |_| {}).unwrap_err();
    assert_eq!(
        err(RollforwardInputs {
            current_loans: &dup,
            ..base
        }),
        RollforwardError::DuplicateLoanId {
            tape: "current",
            loan_id: "S2".into()
        }
    );
    assert!(matches!(
        err(RollforwardInputs {
            months: 100,
            ..base
        }),
        RollforwardError::NormalsTooShort { .. } | RollforwardError::TooShort { .. }
    ));
    let short = NormalGenerator::new(SEED, true).normals(NUM_PATHS, 400);
    assert!(matches!(
        err(RollforwardInputs {
            normals: &short,
            months: 200,
            ..base
        }),
        RollforwardError::TooShort { need: 330, .. }
    ));
    assert!(matches!(
        err(RollforwardInputs {
            months: 400,
            ..base
        }),
        RollforwardError::NormalsTooShort { need: 400, .. }
    ));
}

/// An OAS table per date: the levels value each loan at its cohort's OAS,
/// and a change of spreads between the dates is part of the market step.
#[test]
fn oas_tables_value_each_cohort_at_its_spread_and_move_the_market_step() {
    let book = small_book();
    let cfg = config();
    let months = months_of(&book, &book);
    let normals = normals(months);
    let table = |rows: &str| {
        let headers = vec!["investor".to_string(), "oas".to_string()];
        let rows: Vec<(usize, Vec<String>)> = rows
            .lines()
            .enumerate()
            .map(|(k, l)| (k + 2, l.split(',').map(str::to_string).collect()))
            .collect();
        msr_engine::CohortTable::parse(&headers, &rows, msr_engine::TableKind::Oas).unwrap()
    };
    let prior = table("FNMA,0.05\nFHLMC,0.06\nGNMA,0.07\nPLS,0.08");
    let current = table("FNMA,0.055\nFHLMC,0.06\nGNMA,0.075\nPLS,0.09");
    let inputs = RollforwardInputs {
        prior_loans: &book,
        current_loans: &book,
        prior_config: &cfg,
        current_config: &cfg,
        normals: &normals,
        months,
        units: true.into(),
        prior_spreads: Some(&prior),
        current_spreads: Some(&current),
    };
    let rf = rollforward(&inputs, &mut |_| {}).unwrap();
    assert_adds_up(&rf);
    // Independent: each loan valued on its own at its investor's OAS.
    let at = |oas_of: &dyn Fn(Investor) -> f64| -> f64 {
        book.iter()
            .map(|l| {
                let mut c = cfg.clone();
                c.valuation.oas = oas_of(l.investor);
                values(std::slice::from_ref(l), &c, months)[0]
            })
            .sum()
    };
    let oas =
        |t: [f64; 4]| move |i: Investor| t[Investor::ALL.iter().position(|&x| x == i).unwrap()];
    let begin = at(&oas([0.05, 0.06, 0.07, 0.08]));
    let end = at(&oas([0.055, 0.06, 0.075, 0.09]));
    assert!(
        (rf.total.beginning() - begin).abs() < 1e-6,
        "{} vs {begin}",
        rf.total.beginning()
    );
    assert!(
        (rf.total.ending() - end).abs() < 1e-6,
        "{} vs {end}",
        rf.total.ending()
    );
    // Same rows and assumptions: the whole change is the market step (spreads).
    assert_eq!(rf.total.change(Step::RunoffAndPerformance), 0.0);
    assert_eq!(rf.total.change(Step::Assumptions), 0.0);
    assert!(
        rf.total.change(Step::Market) < 0.0,
        "wider spreads lower the value"
    );
    // A loan outside every cohort of a table is an error naming the table.
    let partial = table("FNMA,0.05");
    let err = rollforward(
        &RollforwardInputs {
            prior_spreads: Some(&partial),
            ..inputs
        },
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(err, RollforwardError::Spreads { which: "prior", .. }),
        "{err}"
    );
}
