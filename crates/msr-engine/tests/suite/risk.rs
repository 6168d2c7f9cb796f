//! OAS and risk (MODEL.md §C.4, §F, §J "Risk"): the OAS round trip and the
//! unreachable target; durations and key-rate durations against the
//! finite-difference formulas applied to independently valued shocked runs;
//! bit-identical reports across thread counts; the OAS stresses against a
//! revaluation; the static value and option cost (with the σ = 0 identity);
//! and the sanity checks a practitioner expects of an MSR book (negative
//! duration, a monotone shock grid for current-coupon loans, higher costs,
//! faster prepayments or more delinquency lower the value).
//!
//! Books are small synthetic ones (`msr_io::generate_book`) on 32 paths so the
//! file runs in seconds; one full risk run per book is shared by the tests.

use std::sync::OnceLock;

use msr_core::loan::DqState;
use msr_core::tolerance::{close, IDENTITY_REL};
use msr_core::{Config, Loan};
use msr_engine::oas::{OAS_MAX, OAS_MIN};
use msr_engine::{
    assemble_risk, risk_partial, run_risk, value_loans, Context, Derivatives, Detail,
    DiscountedFlows, OasError, OasTarget, RiskError, RiskInputs, RiskPartial, RiskReport, RiskSpec,
    ScenarioKind,
};
use msr_model::{Market, ModelParams};
use msr_rates::{NormalGenerator, Normals, PathSet, RateModel, KEY_RATE_TENORS};

/// The contract for the OAS solve: the round trip recovers the OAS to this.
const OAS_ROUND_TRIP: f64 = 1e-8;
/// `V(oas)` from the cash-flow matrix against the loan-by-loan valuation: the
/// two sum the same terms in a different order (and the matrix holds each
/// loan's flows at 2^-48 $ resolution).
const CF_MATRIX_REL: f64 = 1e-10;
const NUM_PATHS: usize = 32;

/// A book with everything a risk run needs.
struct Book {
    config: Config,
    model: RateModel,
    normals: Normals,
    loans: Vec<Loan>,
    months: usize,
}

impl Book {
    fn new(loans: Vec<Loan>) -> Book {
        let mut config = Config::default();
        config.valuation.num_paths = NUM_PATHS as u32;
        Book::with_config(loans, config)
    }

    fn with_config(loans: Vec<Loan>, config: Config) -> Book {
        let model =
            RateModel::from_config(&config.curve, &config.hull_white, &config.mortgage_rate)
                .unwrap();
        let months = loans
            .iter()
            .map(|l| l.remaining_term as usize)
            .max()
            .unwrap();
        let normals = NormalGenerator::from_config(&config.valuation)
            .normals(config.valuation.num_paths as usize, months);
        Book {
            config,
            model,
            normals,
            loans,
            months,
        }
    }

    fn inputs(&self) -> RiskInputs<'_> {
        RiskInputs {
            loans: &self.loans,
            config: &self.config,
            rate_model: &self.model,
            normals: &self.normals,
            months: self.months,
            units: msr_engine::SeUnits::of(&self.config.valuation),
            spreads: None,
        }
    }

    /// Value the book on `paths` at `oas` with `config`'s behaviour, independently
    /// of the risk module.
    fn value_on(&self, config: &Config, paths: &PathSet, oas: f64, detail: Detail) -> f64 {
        self.accum_on(config, paths, oas, detail)
            .total
            .value
            .value()
    }

    fn accum_on(
        &self,
        config: &Config,
        paths: &PathSet,
        oas: f64,
        detail: Detail,
    ) -> msr_engine::PortfolioAccum {
        let params = ModelParams::from_config(config);
        let market = Market::new(paths, &params, oas, self.months);
        let ctx = Context {
            params: &params,
            market: &market,
            config,
            units: msr_engine::SeUnits::of(&config.valuation),
            tangent: None,
        };
        value_loans(&ctx, &self.loans, detail).1
    }

    fn base_paths(&self) -> PathSet {
        self.model.paths(&self.normals, self.months)
    }

    fn oas(&self) -> f64 {
        self.config.valuation.oas
    }

    fn run(&self, spec: &RiskSpec, threads: usize) -> RiskReport {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| run_risk(&self.inputs(), spec, &mut |_| {}).unwrap())
    }
}

/// The mixed synthetic book: every investor and delinquency status.
fn mixed_book() -> &'static Book {
    static BOOK: OnceLock<Book> = OnceLock::new();
    BOOK.get_or_init(|| Book::new(msr_io::generate_book(40, 20261121)))
}

/// The mixed book's risk report, computed once on two threads.
fn mixed_report() -> &'static RiskReport {
    static REPORT: OnceLock<RiskReport> = OnceLock::new();
    REPORT.get_or_init(|| mixed_book().run(&RiskSpec::default(), 2))
}

/// Current-coupon loans (note rate = m0 = 6.25 %, current, no advances).
fn current_coupon_book() -> &'static Book {
    static BOOK: OnceLock<Book> = OnceLock::new();
    BOOK.get_or_init(|| {
        let loans = msr_io::generate_book(24, 7)
            .into_iter()
            .map(|l| Loan {
                note_rate: 0.0625,
                dq_status: DqState::C,
                advance_balance: 0.0,
                ..l
            })
            .collect();
        Book::new(loans)
    })
}

/// The current-coupon book's report; its grid also holds a zero shock.
fn current_coupon_report() -> &'static RiskReport {
    static REPORT: OnceLock<RiskReport> = OnceLock::new();
    REPORT.get_or_init(|| {
        let mut spec = RiskSpec::default();
        spec.rate_shocks_bp.insert(5, 0.0);
        current_coupon_book().run(&spec, 2)
    })
}

#[test]
fn cash_flow_matrix_reproduces_the_valuation() {
    let book = mixed_book();
    let paths = book.base_paths();
    let acc = book.accum_on(&book.config, &paths, book.oas(), Detail::Full);
    let flows = DiscountedFlows::from_accum(&acc, &paths).unwrap();
    let v0 = acc.total.value.value();
    assert!(
        close(flows.value(book.oas()), v0, CF_MATRIX_REL, 0.0),
        "{} vs {v0}",
        flows.value(book.oas())
    );
    let values_only = book.accum_on(&book.config, &paths, book.oas(), Detail::Values);
    assert_eq!(
        DiscountedFlows::from_accum(&values_only, &paths),
        Err(OasError::MissingCashFlows)
    );
}

#[test]
fn oas_round_trip() {
    let book = mixed_book();
    let paths = book.base_paths();
    let acc = book.accum_on(&book.config, &paths, book.oas(), Detail::Full);
    let flows = DiscountedFlows::from_accum(&acc, &paths).unwrap();
    for x in [-0.01, 0.02, 0.065, 0.10, 0.18, 0.40] {
        // Value at x by a full revaluation, then solve from that value.
        let target = book.value_on(&book.config, &paths, x, Detail::Values);
        let solution = flows.solve(target, book.oas()).unwrap();
        assert!(
            (solution.oas - x).abs() < OAS_ROUND_TRIP,
            "oas {x}: solved {} in {} iterations",
            solution.oas,
            solution.iterations
        );
        assert!(solution.iterations > 0 && solution.iterations < 50);
        assert!(
            solution.other_roots.is_empty(),
            "{:?}",
            solution.other_roots
        );
        assert!(close(solution.value, target, CF_MATRIX_REL, 0.0));
    }
    // The same through a bps and a multiple target.
    let upb = acc.total.upb.value();
    let fee_base = acc.total.fee_base.value();
    let v = flows.value(0.09);
    for target in [
        OasTarget::Bps(1e4 * v / upb),
        OasTarget::Multiple(v / fee_base),
    ] {
        let dollars = target.dollars(upb, fee_base).unwrap();
        let s = flows.solve(dollars, book.oas()).unwrap();
        assert!(
            (s.oas - 0.09).abs() < OAS_ROUND_TRIP,
            "{target:?}: {}",
            s.oas
        );
    }
}

#[test]
fn unreachable_target_is_an_error_with_the_range() {
    let book = mixed_book();
    let paths = book.base_paths();
    let acc = book.accum_on(&book.config, &paths, book.oas(), Detail::Full);
    let flows = DiscountedFlows::from_accum(&acc, &paths).unwrap();
    let range = flows.range(Default::default()).unwrap();
    assert!(range.min_value < acc.total.value.value());
    assert!(acc.total.value.value() < range.max_value);
    for target in [10.0 * range.max_value.abs() + 1.0, range.min_value - 1e6] {
        match flows.solve(target, book.oas()) {
            Err(e @ OasError::Unreachable { .. }) => {
                let OasError::Unreachable {
                    min_value,
                    max_value,
                    lo,
                    hi,
                    ..
                } = e
                else {
                    unreachable!()
                };
                assert_eq!((min_value, max_value), (range.min_value, range.max_value));
                assert_eq!((lo, hi), (OAS_MIN, OAS_MAX));
                assert!(e.to_string().contains("reachable range"), "{e}");
            }
            other => panic!("target {target}: {other:?}"),
        }
    }
    // The ends of the range are themselves reachable.
    for target in [range.min_value, range.max_value] {
        let s = flows.solve(target, book.oas()).unwrap();
        assert!(
            close(s.value, target, 1e-9, 1e-6),
            "{} vs {target}",
            s.value
        );
    }
}

/// The contract for scenarios valued by the net-only pass
/// (`Detail::Net`: each month's net cash flow from its coefficients by
/// mass) against bump-and-revalue with the components (`Detail::Values`):
/// the same terms associated differently, so equal up to rounding.
const NET_PASS_REL: f64 = 1e-12;

#[test]
fn durations_match_finite_differences_of_independent_runs() {
    let book = mixed_book();
    let report = mixed_report();
    let base = book.value_on(&book.config, &book.base_paths(), book.oas(), Detail::Values);
    assert_eq!(report.base_value, base);
    let delta = 0.0025;
    // Bump and revalue, independently of the risk module: the oracle.
    let value_of = |model: RateModel| {
        book.value_on(
            &book.config,
            &model.paths(&book.normals, book.months),
            book.oas(),
            Detail::Values,
        )
    };
    let revalued = |name: &str, oracle: f64| {
        let got = report.scenario(name).unwrap().value;
        assert!(
            close(got, oracle, NET_PASS_REL, 0.0),
            "{name}: {got} vs {oracle}"
        );
        got
    };
    let up = revalued(
        "parallel_+25bp",
        value_of(book.model.shocked_parallel(delta)),
    );
    let down = revalued(
        "parallel_-25bp",
        value_of(book.model.shocked_parallel(-delta)),
    );
    // The contract's formulas on the scenario values (MODEL.md §F, §J).
    assert_eq!(
        report.effective_duration,
        Some((down - up) / (2.0 * delta) / base)
    );
    assert_eq!(
        report.effective_convexity,
        Some((up + down - 2.0 * base) / (delta * delta) / base)
    );
    assert_eq!(report.key_rate_durations.len(), KEY_RATE_TENORS.len());
    for (k, krd) in report.key_rate_durations.iter().enumerate() {
        let tenor = KEY_RATE_TENORS[k];
        assert_eq!(krd.tenor, tenor);
        let up = revalued(
            &format!("key_rate_{tenor}y_+25bp"),
            value_of(book.model.shocked_key_rate(k, delta)),
        );
        let down = revalued(
            &format!("key_rate_{tenor}y_-25bp"),
            value_of(book.model.shocked_key_rate(k, -delta)),
        );
        assert_eq!((krd.value_down, krd.value_up), (Some(down), Some(up)));
        assert_eq!(krd.duration, Some((down - up) / (2.0 * delta) / base));
    }
    // The tents sum to the parallel shock, so the key-rate durations sum to
    // the effective duration up to second-order terms.
    let sum: f64 = report
        .key_rate_durations
        .iter()
        .map(|k| k.duration.unwrap())
        .sum();
    let d = report.effective_duration.unwrap();
    assert!((sum - d).abs() <= 0.05 * d.abs(), "Σ KRD {sum} vs D {d}");
}

#[test]
fn report_is_bit_identical_across_thread_counts() {
    let one = mixed_book().run(&RiskSpec::default(), 1);
    assert_eq!(&one, mixed_report());
}

#[test]
fn report_holds_every_scenario_once() {
    let report = mixed_report();
    // base, static, 10 parallel, 12 key rate, 12 assumption, 2 OAS.
    assert_eq!(report.scenarios.len(), 38);
    let mut names: Vec<&str> = report.scenarios.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), 38);
    assert_eq!(report.scenarios[0].kind, ScenarioKind::Base);
    assert_eq!(report.scenarios[0].change, 0.0);
    let grid: Vec<f64> = report.rate_shocks.iter().map(|s| s.shock).collect();
    assert_eq!(grid, RiskSpec::default().rate_shocks_bp);
    assert_eq!(report.assumption_stresses.len(), 14);
    for s in &report.scenarios {
        assert_eq!(s.change, s.value - report.base_value, "{}", s.name);
        let pct = 100.0 * s.change / report.base_value.abs();
        assert_eq!(s.change_pct, Some(pct), "{}", s.name);
        assert_eq!(s.non_finite, 0, "{}", s.name);
    }
    for name in [
        "parallel_-300bp",
        "parallel_+25bp",
        "key_rate_10y_-25bp",
        "cost_to_service_+20pct",
        "prepayment_speed_-10pct",
        "delinquency_roll_+10pct",
        "oas_+100bp",
    ] {
        assert!(report.scenario(name).is_some(), "{name}");
    }
}

#[test]
fn progress_counts_scenarios_and_loans() {
    let book = current_coupon_book();
    let spec = RiskSpec {
        rate_shocks_bp: vec![-100.0, 100.0],
        cost_stresses_pct: vec![],
        prepay_stresses_pct: vec![],
        roll_stresses_pct: vec![10.0],
        oas_stresses_bp: vec![50.0],
        ..RiskSpec::default()
    };
    let mut seen: Vec<(usize, usize, String, usize, usize)> = Vec::new();
    let report = run_risk(&book.inputs(), &spec, &mut |p| {
        seen.push((
            p.scenario,
            p.scenarios,
            p.name.to_string(),
            p.loans_done,
            p.loans,
        ))
    })
    .unwrap();
    // base, static, ±100, ±25, 12 key rate, roll +10 %, OAS +50 bp.
    let n = 2 + 4 + 12 + 1 + 1;
    assert_eq!(report.scenarios.len(), n);
    assert!(seen.iter().all(|p| p.1 == n && p.4 == book.loans.len()));
    for k in 1..=n {
        let steps: Vec<_> = seen.iter().filter(|p| p.0 == k).collect();
        assert_eq!(steps.first().unwrap().3, 0, "scenario {k} starts at 0");
        assert_eq!(steps.last().unwrap().3, book.loans.len());
        assert_eq!(steps[0].2, report.scenarios[k - 1].name);
    }
}

#[test]
fn msr_value_rises_with_rates() {
    for report in [mixed_report(), current_coupon_report()] {
        let d = report.effective_duration.unwrap();
        assert!(d < 0.0, "effective duration {d}");
        let up = report.scenario("parallel_+25bp").unwrap().value;
        let down = report.scenario("parallel_-25bp").unwrap().value;
        assert!(down < report.base_value && report.base_value < up);
    }
}

#[test]
fn shock_grid_is_monotone_for_current_coupon_loans() {
    let report = current_coupon_report();
    let values: Vec<(f64, f64)> = report
        .rate_shocks
        .iter()
        .map(|s| (s.shock, s.value))
        .collect();
    for w in values.windows(2) {
        assert!(w[0].0 < w[1].0);
        assert!(w[0].1 < w[1].1, "not increasing: {w:?}");
    }
    // The zero shock is the base run (valued by the net-only pass: up to
    // rounding).
    let zero = report.scenario("parallel_+0bp").unwrap();
    assert!(close(zero.value, report.base_value, NET_PASS_REL, 0.0));
    assert!(zero.change.abs() <= NET_PASS_REL * report.base_value.abs());
}

#[test]
fn zero_parallel_shock_gives_the_base_paths() {
    let book = current_coupon_book();
    assert_eq!(
        book.model
            .shocked_parallel(0.0)
            .paths(&book.normals, book.months),
        book.base_paths()
    );
}

#[test]
fn assumption_stresses_move_value_the_expected_way() {
    for report in [mixed_report(), current_coupon_report()] {
        let v = |name: &str| report.scenario(name).unwrap().value;
        let v0 = report.base_value;
        // Costs: more cost, less value, in proportion.
        assert!(v("cost_to_service_+20pct") < v("cost_to_service_+10pct"));
        assert!(v("cost_to_service_+10pct") < v0);
        assert!(v0 < v("cost_to_service_-10pct"));
        assert!(v("cost_to_service_-10pct") < v("cost_to_service_-20pct"));
        // Prepayments: faster prepayment shortens the fee stream.
        assert!(v("prepayment_speed_+20pct") < v("prepayment_speed_+10pct"));
        assert!(v("prepayment_speed_+10pct") < v0);
        assert!(v0 < v("prepayment_speed_-20pct"));
        // Delinquency: more roll, less value.
        assert!(v("delinquency_roll_+20pct") < v0);
        assert!(v0 < v("delinquency_roll_-20pct"));
        // OAS: a higher spread discounts more.
        assert!(v("oas_+100bp") < v0 && v0 < v("oas_-100bp"));
    }
}

#[test]
fn assumption_stresses_equal_independent_runs() {
    let book = mixed_book();
    let report = mixed_report();
    let paths = book.base_paths();
    let mut config = book.config.clone();
    config.prepay.cpr_multiplier = 0.9;
    let (got, oracle) = (
        report.scenario("prepayment_speed_-10pct").unwrap().value,
        book.value_on(&config, &paths, book.oas(), Detail::Values),
    );
    assert!(close(got, oracle, NET_PASS_REL, 0.0), "{got} vs {oracle}");
    let mut config = book.config.clone();
    config.credit.roll_multiplier = 1.1;
    let (got, oracle) = (
        report.scenario("delinquency_roll_+10pct").unwrap().value,
        book.value_on(&config, &paths, book.oas(), Detail::Values),
    );
    assert!(close(got, oracle, NET_PASS_REL, 0.0), "{got} vs {oracle}");
}

/// The contract for scenarios read off the base run by an exact
/// method (the cost stresses): equal to bump-and-revalue up to rounding.
const LINEAR_STRESS_REL: f64 = 1e-12;

/// The cost-to-service stresses are read off the base run (linear in each
/// path's cost PV): the old bump-and-revalue is the oracle, for the value and
/// the standard error, on a book with a base multiplier of its own.
#[test]
fn cost_stresses_read_off_the_base_equal_a_revaluation() {
    for (book, report) in [(mixed_book(), mixed_report()), {
        let mut config = mixed_book().config.clone();
        config.servicing.cost_multiplier = 1.3;
        config.valuation.antithetic = false;
        let book: &'static Book = Box::leak(Box::new(Book::with_config(
            mixed_book().loans.clone(),
            config,
        )));
        let report: &'static RiskReport = Box::leak(Box::new(book.run(&RiskSpec::default(), 2)));
        (book, report)
    }] {
        let paths = book.base_paths();
        for pct in [-100.0, -20.0, -10.0, 10.0, 20.0] {
            let mut config = book.config.clone();
            config.servicing.cost_multiplier *= 1.0 + pct / 100.0;
            let acc = book.accum_on(&config, &paths, book.oas(), Detail::Values);
            let revalued = acc.total.value.value();
            let path_values: Vec<f64> = (0..acc.num_paths).map(|p| acc.path_value(p)).collect();
            let se =
                msr_engine::valuation::std_error(&path_values, book.config.valuation.antithetic)
                    .unwrap();
            let spec = RiskSpec {
                cost_stresses_pct: vec![pct],
                ..RiskSpec::default()
            };
            let name = format!("cost_to_service_{pct:+}pct");
            let got = if pct == -100.0 {
                book.run(&spec, 1).scenario(&name).unwrap().clone()
            } else {
                report.scenario(&name).unwrap().clone()
            };
            assert!(
                close(got.value, revalued, LINEAR_STRESS_REL, 0.0),
                "{name}: {} vs {revalued}",
                got.value
            );
            let got_se = got.std_error.unwrap();
            assert!(
                close(got_se, se, LINEAR_STRESS_REL * 1e3, 0.0),
                "{name}: std error {got_se} vs {se}"
            );
            assert_ne!(got.value, report.base_value, "{name} moved nothing");
        }
    }
}

#[test]
fn oas_stresses_read_off_the_cash_flows_equal_a_revaluation() {
    let book = mixed_book();
    let report = mixed_report();
    let paths = book.base_paths();
    for (name, oas) in [
        ("oas_+100bp", book.oas() + 0.01),
        ("oas_-100bp", book.oas() - 0.01),
    ] {
        let revalued = book.value_on(&book.config, &paths, oas, Detail::Values);
        let from_cf = report.scenario(name).unwrap().value;
        assert!(
            close(from_cf, revalued, CF_MATRIX_REL, 0.0),
            "{name}: {from_cf} vs {revalued}"
        );
    }
}

#[test]
fn static_value_and_option_cost() {
    for (book, report) in [
        (mixed_book(), mixed_report()),
        (current_coupon_book(), current_coupon_report()),
    ] {
        let static_paths = book.model.static_path(book.months);
        let expected = book.value_on(&book.config, &static_paths, book.oas(), Detail::Values);
        assert_eq!(report.static_value, expected);
        assert_eq!(report.option_cost, report.static_value - report.base_value);
        assert_eq!(
            msr_engine::risk::static_value(
                &book.loans,
                &book.config,
                &book.model,
                book.oas(),
                book.months
            ),
            expected
        );
        // Borrowers hold the prepayment option and the MSR is short it: rate
        // volatility costs the servicer, so the static value is the higher.
        assert!(
            report.option_cost > 0.0,
            "option cost {}",
            report.option_cost
        );
        // The static value is far closer to the stochastic value than to zero.
        assert!(report.option_cost < 0.5 * report.base_value.abs());
    }
}

/// With σ = 0 every generated path is the static path (§C.3), so the option
/// cost vanishes up to the rounding of the mean over identical paths.
#[test]
fn option_cost_vanishes_without_volatility() {
    let mut config = Config::default();
    config.valuation.num_paths = 8;
    config.hull_white.sigma = 0.0;
    let book = Book::with_config(msr_io::generate_book(12, 3), config);
    let stochastic = book.value_on(&book.config, &book.base_paths(), book.oas(), Detail::Values);
    let static_paths = book.model.static_path(book.months);
    let static_value = book.value_on(&book.config, &static_paths, book.oas(), Detail::Values);
    assert!(
        close(stochastic, static_value, 1e3 * IDENTITY_REL, 0.0),
        "{stochastic} vs {static_value}"
    );
}

/// A risk run split by loans adds up to the whole run bit for bit: the
/// partials of three disjoint slices (one empty), merged in any order, give
/// the whole book's partial, and the same report.
#[test]
fn partials_of_a_split_book_merge_into_the_whole_report() {
    let book = current_coupon_book();
    let spec = RiskSpec::default();
    let whole = risk_partial(&book.inputs(), &spec, &mut |_| {}).unwrap();
    let report = run_risk(&book.inputs(), &spec, &mut |_| {}).unwrap();
    assert_eq!(
        assemble_risk(&book.inputs(), &spec, &whole).unwrap(),
        report
    );

    let cuts = [0..9, 9..9, 9..book.loans.len()];
    let parts: Vec<RiskPartial> = cuts
        .iter()
        .map(|r| {
            let inputs = RiskInputs {
                loans: &book.loans[r.clone()],
                ..book.inputs()
            };
            risk_partial(&inputs, &spec, &mut |_| {}).unwrap()
        })
        .collect();
    // Merge out of order: exact sums do not care.
    let mut merged = parts[2].clone();
    merged.merge(&parts[0]).unwrap();
    merged.merge(&parts[1]).unwrap();
    assert_eq!(merged, whole);
    let no_loans = RiskInputs {
        loans: &[],
        ..book.inputs()
    };
    assert_eq!(assemble_risk(&no_loans, &spec, &merged).unwrap(), report);
    // The cost and OAS stresses are assembled, not valued: one partial per
    // valued scenario.
    assert_eq!(
        whole.scenarios.len() + spec.cost_stresses_pct.len() + spec.oas_stresses_bp.len(),
        report.scenarios.len()
    );
    assert_eq!(whole.scenarios[0].1.path_costs.len(), NUM_PATHS);
    assert_eq!(whole.scenarios[0].0, "base");
    assert!(
        !whole.scenarios[0].1.cf.is_empty(),
        "the base keeps CF[p,t]"
    );

    // A partial of another spec is refused, not mis-assembled.
    let other = RiskSpec {
        roll_stresses_pct: vec![10.0],
        ..RiskSpec::default()
    };
    // The cost stresses need nothing in the partial: any set assembles.
    let costs = RiskSpec {
        cost_stresses_pct: vec![5.0, 50.0],
        ..RiskSpec::default()
    };
    let report_costs = assemble_risk(&book.inputs(), &costs, &whole).unwrap();
    assert!(report_costs.scenario("cost_to_service_+50pct").is_some());
    assert!(matches!(
        assemble_risk(&book.inputs(), &other, &whole),
        Err(RiskError::Partial(_))
    ));
    let mut short = whole.clone();
    short.scenarios.pop();
    assert!(matches!(short.merge(&whole), Err(RiskError::Partial(_))));
}

/// The mixed book with every other loan at a 5 % and 8 % OAS: its report
/// with those per-loan spreads, and each group's own report at its OAS.
fn spread_groups(spec: &RiskSpec) -> (RiskReport, Vec<RiskReport>) {
    let book = mixed_book();
    let n = book.loans.len();
    let group_of: Vec<usize> = (0..n).map(|i| i % 2).collect();
    let spreads = msr_engine::LoanSpreads {
        oas: vec![0.05, 0.08],
        group_of: group_of.clone(),
    };
    let inputs = RiskInputs {
        spreads: Some(&spreads),
        ..book.inputs()
    };
    let both = run_risk(&inputs, spec, &mut |_| {}).unwrap();
    let mut parts = Vec::new();
    for (g, oas) in [(0, 0.05), (1, 0.08)] {
        let mut config = book.config.clone();
        config.valuation.oas = oas;
        let loans: Vec<Loan> = (0..n)
            .filter(|&i| group_of[i] == g)
            .map(|i| book.loans[i].clone())
            .collect();
        let inputs = RiskInputs {
            loans: &loans,
            config: &config,
            ..book.inputs()
        };
        parts.push(run_risk(&inputs, spec, &mut |_| {}).unwrap());
    }
    (both, parts)
}

/// With per-loan spreads (an OAS table), every scenario is the sum of the
/// groups' scenarios, each group run on its own at its OAS: the base and the
/// shocks bit for bit up to the one rounding of adding two totals, the OAS
/// stresses (valued, not read off the base cash flows) likewise.
#[test]
fn risk_with_spreads_is_the_sum_of_the_groups_at_their_oas() {
    let (both, parts) = spread_groups(&RiskSpec::default());
    assert_eq!(both.scenarios.len(), parts[0].scenarios.len());
    for (k, s) in both.scenarios.iter().enumerate() {
        let sum = parts[0].scenarios[k].value + parts[1].scenarios[k].value;
        assert_eq!(s.name, parts[0].scenarios[k].name);
        let rel = if s.kind == ScenarioKind::Oas {
            1e-9
        } else {
            1e-14
        };
        assert!(
            close(s.value, sum, rel, 1e-9),
            "{}: {} vs {sum}",
            s.name,
            s.value
        );
    }
}

/// The mixed book's report with tangent derivatives, on two threads.
fn tangent_report() -> &'static RiskReport {
    static REPORT: OnceLock<RiskReport> = OnceLock::new();
    REPORT.get_or_init(|| mixed_book().run(&tangent_spec(), 2))
}

fn tangent_spec() -> RiskSpec {
    RiskSpec {
        derivatives: Derivatives::Tangent,
        ..RiskSpec::default()
    }
}

/// The criterion for derivatives without bumps: within 1 % of the
/// bumped figure or 2 standard errors, whichever is larger. Every other
/// scenario is the same run in both methods, so the same bits.
#[test]
fn tangent_durations_agree_with_the_bumps() {
    let (bump, tangent) = (mixed_report(), tangent_report());
    assert_eq!(tangent.derivatives, Derivatives::Tangent);
    let agree = |what: &str, b: f64, t: f64, se: f64| {
        assert!(
            (t - b).abs() <= (0.01 * b.abs()).max(2.0 * se),
            "{what}: tangent {t}, bumps {b}, standard error {se}"
        );
    };
    agree(
        "effective duration",
        bump.effective_duration.unwrap(),
        tangent.effective_duration.unwrap(),
        tangent.duration_std_error.unwrap(),
    );
    for (b, t) in bump
        .key_rate_durations
        .iter()
        .zip(&tangent.key_rate_durations)
    {
        assert_eq!(b.tenor, t.tenor);
        assert_eq!((t.value_down, t.value_up), (None, None));
        agree(
            &format!("{}y key rate", t.tenor),
            b.duration.unwrap(),
            t.duration.unwrap(),
            t.std_error.unwrap(),
        );
    }
    // No key-rate runs; everything else identical.
    assert!(tangent
        .scenarios
        .iter()
        .all(|s| s.kind != ScenarioKind::KeyRate));
    assert_eq!(
        tangent.scenarios.len() + 2 * KEY_RATE_TENORS.len(),
        bump.scenarios.len()
    );
    let others: Vec<_> = bump
        .scenarios
        .iter()
        .filter(|s| s.kind != ScenarioKind::KeyRate)
        .collect();
    assert_eq!(others, tangent.scenarios.iter().collect::<Vec<_>>());
    assert_eq!(bump.effective_convexity, tangent.effective_convexity);
    // Σ KRD is the duration (up to the rounding of the sums).
    let sum: f64 = tangent
        .key_rate_durations
        .iter()
        .map(|k| k.duration.unwrap())
        .sum();
    let d = tangent.effective_duration.unwrap();
    assert!((sum - d).abs() <= 1e-12 * d.abs(), "Σ KRD {sum} vs D {d}");
}

/// The tangents are the derivatives themselves: central differences of
/// full revaluations at ±0.01 bp reach them to 5e-5 relative (measured:
/// 4e-6 for the duration, 1e-5 at most for a key rate; the rest is the
/// differences crossing the prepayment model's kinks, `c = m` on some
/// path-month, within ±0.01 bp). The ±25 bp bumps differ from them by the
/// curvature of the value: the agreement test above.
#[test]
fn tangent_durations_equal_small_bump_differences() {
    let book = mixed_book();
    let small = RiskSpec {
        shock_bp: 0.01,
        ..RiskSpec::default()
    };
    let bumps = book.run(&small, 2);
    let tangent = tangent_report();
    let close_to = |what: &str, b: f64, t: f64| {
        assert!(
            (t - b).abs() <= 5e-5 * b.abs().max(0.1),
            "{what}: tangent {t}, ±0.01 bp differences {b}"
        );
    };
    close_to(
        "effective duration",
        bumps.effective_duration.unwrap(),
        tangent.effective_duration.unwrap(),
    );
    for (b, t) in bumps
        .key_rate_durations
        .iter()
        .zip(&tangent.key_rate_durations)
    {
        close_to(
            &format!("{}y key rate", t.tenor),
            b.duration.unwrap(),
            t.duration.unwrap(),
        );
    }
}

/// Tangent reports are exact sums like every other figure: the same bits on
/// any thread count, and from partials of a split book merged in any order.
#[test]
fn tangent_report_is_identical_across_threads_and_splits() {
    let book = mixed_book();
    let spec = tangent_spec();
    assert_eq!(&book.run(&spec, 1), tangent_report());
    let whole = risk_partial(&book.inputs(), &spec, &mut |_| {}).unwrap();
    assert_eq!(
        whole.scenarios[0].1.path_tangents.len(),
        KEY_RATE_TENORS.len() * NUM_PATHS
    );
    let parts: Vec<RiskPartial> = [0..17, 17..17, 17..book.loans.len()]
        .iter()
        .map(|r| {
            let inputs = RiskInputs {
                loans: &book.loans[r.clone()],
                ..book.inputs()
            };
            risk_partial(&inputs, &spec, &mut |_| {}).unwrap()
        })
        .collect();
    let mut merged = parts[1].clone();
    merged.merge(&parts[2]).unwrap();
    merged.merge(&parts[0]).unwrap();
    assert_eq!(merged, whole);
    // A shard without loans assembles (null durations), as with bumps.
    let empty = RiskInputs {
        loans: &[],
        ..book.inputs()
    };
    let nothing = assemble_risk(&empty, &spec, &parts[1]).unwrap();
    assert_eq!(nothing.effective_duration, None);
    assert!(nothing
        .key_rate_durations
        .iter()
        .all(|k| k.duration.is_none()));
    assert_eq!(
        &assemble_risk(&book.inputs(), &spec, &merged).unwrap(),
        tangent_report()
    );
    // A bump partial does not assemble as a tangent report.
    let bumps = risk_partial(&book.inputs(), &RiskSpec::default(), &mut |_| {}).unwrap();
    assert!(matches!(
        assemble_risk(&book.inputs(), &spec, &bumps),
        Err(RiskError::Partial(_))
    ));
}

/// With per-loan spreads the base run's derivatives are the sum of the
/// groups' own, each group run alone at its OAS: the tangents move the
/// curve, not the spread.
#[test]
fn tangent_with_spreads_is_the_sum_of_the_groups_at_their_oas() {
    let (both, parts) = spread_groups(&tangent_spec());
    // dV/dz_k = −KRD_k·V₀, which adds across groups.
    let slope =
        |r: &RiskReport, k: usize| -r.key_rate_durations[k].duration.unwrap() * r.base_value;
    for k in 0..KEY_RATE_TENORS.len() {
        let sum = slope(&parts[0], k) + slope(&parts[1], k);
        assert!(
            close(slope(&both, k), sum, 1e-12, 1e-6),
            "key rate {k}: {} vs {sum}",
            slope(&both, k)
        );
    }
}
