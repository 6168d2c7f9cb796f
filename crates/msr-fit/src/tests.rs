//! The fit against panels simulated with known parameters: recovery within
//! standard errors, honest standard errors, identification, `--fix`, and
//! the likelihood read through the valuation's own chain.

use msr_core::config::Config;
use msr_core::loan::DqState;

use crate::model::{values_of, Values, CURE30, FC_MONTHS_JUDICIAL, NAMES, NUM_PARAMS, SEASON};
use crate::panel::{month_of_yyyymm, Next};
use crate::{calibrate, simulate, CalibrateOptions, SimSpec};

/// Parameters away from the defaults (so the fit has to move), seasonal
/// mean 1.
fn truth() -> Values {
    let mut v = values_of(&Config::default());
    let set: [(&str, f64); 24] = [
        ("turnover_cpr", 0.07),
        ("lockin", 0.30),
        ("refi_max_cpr", 0.40),
        ("refi_slope", 2.0),
        ("refi_midpoint", 1.0),
        ("burnout", 0.03),
        ("refi_fico", 0.4),
        ("base_roll", 0.006),
        ("fico_beta", 1.3),
        ("ltv_beta", 1.4),
        ("cure30", 0.42),
        ("roll30", 0.25),
        ("pp30", 0.02),
        ("cure60", 0.22),
        ("roll60", 0.48),
        ("cure90", 0.12),
        ("roll90", 0.55),
        ("cure120", 0.04),
        ("mod120", 0.06),
        ("dil120", 0.015),
        ("fc120", 0.15),
        ("reinstate", 0.03),
        ("fc_months_judicial", 20.0),
        ("fc_months_nonjudicial", 10.0),
    ];
    for (name, x) in set {
        v[NAMES.iter().position(|n| *n == name).unwrap()] = x;
    }
    let seas = [
        0.82, 0.88, 0.97, 1.02, 1.06, 1.12, 1.08, 1.10, 1.03, 0.98, 0.97, 0.97,
    ];
    let mean: f64 = seas.iter().sum::<f64>() / 12.0;
    for k in 0..12 {
        v[SEASON + k] = seas[k] / mean;
    }
    v
}

/// The z-scores `(estimate − truth)/std_error` of a fit to a panel
/// simulated with `seed`, the report lines, and the loan-months.
fn recovery_z(seed: u64) -> (Vec<f64>, String, u64) {
    let config = Config::default();
    let truth = truth();
    let spec = SimSpec {
        loans: 40_000,
        first_period: 201601,
        months: 72,
        seasoning: 48,
        seed,
    };
    let sim = simulate(&config, &truth, &spec).unwrap();
    let cal = calibrate(
        &sim.panel,
        &sim.rates,
        &config,
        &CalibrateOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    let fit = &cal.fit;
    assert!(fit.converged, "not converged");
    let mut zs = Vec::new();
    let mut report = String::new();
    for p in &fit.params {
        let k = NAMES.iter().position(|n| *n == p.name).unwrap();
        assert!(p.identified, "{} unidentified: {:?}", p.name, p.note);
        let se = p
            .std_error
            .unwrap_or_else(|| panic!("{}: no standard error", p.name));
        assert!(se > 0.0 && se.is_finite(), "{}: se {se}", p.name);
        let z = (p.estimate - truth[k]) / se;
        report += &format!(
            "{:>22} truth {:>10.5} est {:>10.5} se {:>9.5} z {:>6.2}\n",
            p.name, truth[k], p.estimate, se, z
        );
        zs.push(z);
    }
    (zs, report, fit.loan_months)
}

fn rms(zs: &[f64]) -> f64 {
    (zs.iter().map(|z| z * z).sum::<f64>() / zs.len() as f64).sqrt()
}

/// Recovery: every estimate within 4 standard errors of the truth, and the
/// z-scores' spread (RMS) that of honest standard errors.
#[test]
fn recovers_the_parameters_a_panel_was_simulated_with() {
    let (zs, report, loan_months) = recovery_z(20_231_207);
    assert!(loan_months > 1_000_000, "{loan_months}");
    let rms = rms(&zs);
    let max = zs.iter().fold(0.0f64, |m, z| m.max(z.abs()));
    eprintln!("{report}z RMS {rms:.3}, max |z| {max:.3}, {loan_months} loan-months");
    assert!(max < 4.0, "max |z| {max}\n{report}");
    assert!((0.5..2.0).contains(&rms), "z RMS {rms}\n{report}");
}

/// The same over five more seeds (a check on the standard errors, not run
/// by default): per seed and pooled z RMS, and the largest |z|.
#[test]
#[ignore = "five more recovery fits, about 30 s"]
fn recovery_over_seeds() {
    let mut all = Vec::new();
    for seed in [1, 2, 3, 4, 5] {
        let (zs, _, n) = recovery_z(seed);
        let max = zs.iter().fold(0.0f64, |m, z| m.max(z.abs()));
        eprintln!(
            "seed {seed}: {n} loan-months, z RMS {:.3}, max |z| {max:.3}",
            rms(&zs)
        );
        all.extend(zs);
    }
    let max = all.iter().fold(0.0f64, |m, z| m.max(z.abs()));
    eprintln!(
        "pooled: {} z-scores, RMS {:.3}, max |z| {max:.3}",
        all.len(),
        rms(&all)
    );
    assert!(max < 5.0 && (0.7..1.4).contains(&rms(&all)));
}

/// The fit's log-likelihood is Σ ln P(move) through msr-model's chain at the
/// estimates; `--fix` holds a parameter at its base value; the holdout
/// splits the back-test.
#[test]
fn likelihood_fix_and_holdout() {
    let config = Config::default();
    let spec = SimSpec {
        loans: 4_000,
        first_period: 201901,
        months: 36,
        seasoning: 24,
        seed: 7,
    };
    let sim = simulate(&config, &truth(), &spec).unwrap();
    let holdout = month_of_yyyymm(202107).unwrap();
    let cal = calibrate(
        &sim.panel,
        &sim.rates,
        &config,
        &CalibrateOptions {
            holdout_from: Some(holdout),
            fix: vec!["turnover_cpr".into(), "seasonality".into()],
            max_iters: 0,
        },
        &mut |_| {},
    )
    .unwrap();
    let base = values_of(&config);
    for k in [0, SEASON, SEASON + 11] {
        let p = &cal.fit.params[k];
        assert!(
            p.fixed && p.estimate == base[k] && p.std_error.is_none(),
            "{p:?}"
        );
    }
    assert!(!cal.fit.params[1].fixed);
    // Σ ln P over the fitted rows through the chain.
    let cov =
        crate::likelihood::covariates(&sim.panel, &sim.panel.rows, &sim.rates, &config).unwrap();
    let model = crate::Model::new(&config, &cal.fit.values);
    let mut ll = 0.0;
    let mut n = 0;
    for (r, x) in sim.panel.rows.iter().zip(&cov) {
        if r.period < holdout {
            ll += model.probs(x)[r.next.index()].ln();
            n += 1;
        }
    }
    assert_eq!(n, cal.rows_in);
    assert!(cal.rows_out > 0);
    let rel = (ll - cal.fit.log_likelihood).abs() / ll.abs();
    assert!(rel < 1e-9, "{ll} vs {}", cal.fit.log_likelihood);
    // Back-test: in and out of sample, the all-segment CPR exposure is the C rows.
    let c_in = sim
        .panel
        .rows
        .iter()
        .filter(|r| r.period < holdout && r.status == DqState::C)
        .count() as f64;
    let all_cpr = cal
        .backtest
        .iter()
        .find(|l| l.sample == "in" && l.dimension == "all" && l.metric == "cpr")
        .unwrap();
    assert_eq!(all_cpr.exposure, c_in);
    assert!(cal
        .backtest
        .iter()
        .any(|l| l.sample == "out" && l.dimension == "period" && l.metric == "roll30"));
    // In sample, the fitted model reproduces the overall prepayment count
    // (a score equation of the turnover/refi level) to within a few percent.
    assert!(
        (all_cpr.actual - all_cpr.predicted).abs() < 0.1 * all_cpr.actual,
        "{all_cpr:?}"
    );
}

/// No FC rows: reinstate and both foreclosure timelines are unidentified,
/// reported so and left at their base values; nothing is NaN.
#[test]
fn no_foreclosures_leaves_their_parameters_unidentified_at_base() {
    let config = Config::default();
    let spec = SimSpec {
        loans: 3_000,
        first_period: 201901,
        months: 24,
        seasoning: 12,
        seed: 11,
    };
    let mut sim = simulate(&config, &truth(), &spec).unwrap();
    sim.panel
        .rows
        .retain(|r| r.status != DqState::Fc && r.next != Next::State(DqState::Fc));
    let cal = calibrate(
        &sim.panel,
        &sim.rates,
        &config,
        &CalibrateOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    let base = values_of(&config);
    for k in [CURE30 + 11, FC_MONTHS_JUDICIAL, FC_MONTHS_JUDICIAL + 1] {
        let p = &cal.fit.params[k];
        assert!(!p.identified, "{p:?}");
        assert_eq!(p.estimate, base[k]);
        assert!(p.std_error.is_none());
        assert!(p.note.as_deref().unwrap().contains("FC"), "{p:?}");
    }
    // fc120 is identified (D120 rows exist) and 0: no D120 → FC move left.
    let fc120 = &cal.fit.params[CURE30 + 10];
    assert!(fc120.identified && fc120.estimate == 0.0, "{fc120:?}");
    for p in &cal.fit.params {
        assert!(p.estimate.is_finite(), "{p:?}");
        assert!(p.std_error.is_none_or(f64::is_finite), "{p:?}");
    }
    assert!(cal.fit.log_likelihood.is_finite());
    assert!(cal
        .backtest
        .iter()
        .all(|l| l.predicted.is_finite() && l.actual.is_finite()));
    assert_eq!(cal.fit.values.len(), NUM_PARAMS);
}

/// A panel month the rates file does not give is an error naming it.
#[test]
fn a_missing_rates_month_is_an_error() {
    let config = Config::default();
    let spec = SimSpec {
        loans: 200,
        first_period: 201901,
        months: 12,
        seasoning: 6,
        seed: 3,
    };
    let sim = simulate(&config, &truth(), &spec).unwrap();
    let pairs: Vec<(i64, f64)> = sim
        .rates
        .pairs()
        .into_iter()
        .filter(|(p, _)| *p != 201905)
        .map(|(p, r)| (i64::from(p), r))
        .collect();
    let rates = crate::RateHistory::new(&pairs).unwrap();
    let e = calibrate(
        &sim.panel,
        &rates,
        &config,
        &CalibrateOptions::default(),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("201905"), "{e}");
    let e = crate::fix_indices(&["turnover".to_string()]).unwrap_err();
    assert!(
        e.to_string().contains("unknown parameter `turnover`"),
        "{e}"
    );
}

/// Speed (a benchmark, not a timed test): simulate about ten million
/// loan-months and time each stage of `calibrate`, printing loan-months per
/// second. `cargo test --workspace --release --lib -- --ignored fit_speed --nocapture`.
#[test]
#[ignore = "benchmark: about 10 million loan-months"]
fn fit_speed_ten_million_loan_months() {
    let config = Config::default();
    let spec = SimSpec {
        loans: 280_000,
        first_period: 201601,
        months: 72,
        seasoning: 48,
        seed: 99,
    };
    let t0 = std::time::Instant::now();
    let sim = simulate(&config, &truth(), &spec).unwrap();
    let simulated = t0.elapsed().as_secs_f64();
    let rows = sim.panel.rows.len();
    let t1 = std::time::Instant::now();
    let mut stages: Vec<(String, f64)> = Vec::new();
    let cal = calibrate(
        &sim.panel,
        &sim.rates,
        &config,
        &CalibrateOptions::default(),
        &mut |what| stages.push((what.to_string(), t1.elapsed().as_secs_f64())),
    )
    .unwrap();
    let total = t1.elapsed().as_secs_f64();
    stages.push(("end".into(), total));
    eprintln!(
        "{rows} loan-months simulated in {simulated:.1} s; {} threads",
        rayon::current_num_threads()
    );
    for w in stages.windows(2) {
        eprintln!("  {:<12} {:>7.2} s", w[0].0, w[1].1 - w[0].1);
    }
    eprintln!(
        "calibrate: {total:.1} s, {:.0} loan-months/s; converged {}, {} iterations",
        rows as f64 / total,
        cal.fit.converged,
        cal.fit.iterations
    );
    assert!(cal.fit.converged);

    // The same panel with a FICO spread over every point of the scale (each
    // loan its own score, so cells rarely share covariates): the fit's cost
    // grows with the cells, the other stages do not.
    let mut spread = sim.panel.clone();
    for r in &mut spread.rows {
        r.fico = (r.fico - 10 + (r.loan % 21) as i32).clamp(300, 850);
    }
    let t2 = std::time::Instant::now();
    let cal = calibrate(
        &spread,
        &sim.rates,
        &config,
        &CalibrateOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    let total = t2.elapsed().as_secs_f64();
    eprintln!(
        "spread FICO: calibrate {total:.1} s, {:.0} loan-months/s; converged {}, {} iterations",
        rows as f64 / total,
        cal.fit.converged,
        cal.fit.iterations
    );
}
