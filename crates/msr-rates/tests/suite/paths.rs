//! Rate paths against MODEL.md §C. Reference values: the curve's own discount
//! factors, and the static path and Hull–White drift of an independent
//! implementation (`shared/spec/golden/static_path.parquet`, and the antithetic
//! pair means of `paths_8.parquet`). Identities: σ = 0 is the static path,
//! antithetic paths negate the factor, shocked paths reuse the normals and the
//! base spread. Monte Carlo: the mean discount factor is the curve, in standard
//! errors, at every month. Determinism: a path is the same alone, in any
//! batch and on any number of threads.

use msr_core::config::{Config, Curve, HullWhite, MortgageRate};
use msr_core::tolerance::{close, IDENTITY_REL, MC_SIGMAS};
use msr_rates::{
    HullWhiteModel, NormalGenerator, PathSet, RateError, RateModel, ZeroCurve, DT, KEY_RATE_TENORS,
};

const SEED: u64 = 20261121;

fn model(a: f64, sigma: f64) -> RateModel {
    let config = Config::default();
    RateModel::from_config(
        &config.curve,
        &HullWhite { a, sigma },
        &config.mortgage_rate,
    )
    .unwrap()
}

fn default_model() -> RateModel {
    let config = Config::default();
    RateModel::from_config(&config.curve, &config.hull_white, &config.mortgage_rate).unwrap()
}

#[test]
fn default_spread_is_m0_minus_the_ten_year_yield() {
    assert!(close(
        default_model().s_m(),
        0.0625 - 0.0415,
        IDENTITY_REL,
        0.0
    ));
}

#[test]
fn static_discount_is_the_curve() {
    let model = default_model();
    let path = model.static_path(480);
    assert_eq!(path.num_paths(), 1);
    assert_eq!(path.months(), 480);
    // At the knots, P(0,T) = exp(−z·T) by hand.
    let config = Curve::default();
    for (&tenor, &z) in config.tenors.iter().zip(&config.zero_rates) {
        let month = (tenor * 12.0) as usize;
        let d = path.discount[[0, month - 1]];
        assert!(
            close(d, (-z * tenor).exp(), IDENTITY_REL, 0.0),
            "month {month}: {d}"
        );
    }
    for t in 1..=480 {
        let expected = model.curve().discount(t as f64 / 12.0);
        assert!(
            close(path.discount[[0, t - 1]], expected, IDENTITY_REL, 0.0),
            "month {t}"
        );
    }
}

/// Static-path values of an independent implementation of MODEL.md
/// (`shared/spec/golden/static_path.parquet`): (month, r, m, D).
const GOLDEN_STATIC: [(usize, f64, f64, f64); 6] = [
    (1, 0.043, 0.0625, 0.9964230791439211),
    (2, 0.043, 0.0625375, 0.9928589526506528),
    (
        12,
        0.03950000000000006,
        0.06308333333333332,
        0.9598291299477989,
    ),
    (
        120,
        0.04500000000000037,
        0.06847916666666665,
        0.6603402807049829,
    ),
    (
        360,
        0.04299999999999926,
        0.06400000000000002,
        0.26713530196584945,
    ),
    (
        480,
        0.043000000000001926,
        0.06400000000000002,
        0.1737739434504441,
    ),
];

#[test]
fn static_path_matches_the_independent_implementation() {
    let path = default_model().static_path(480);
    for (month, r, m, d) in GOLDEN_STATIC {
        let t = month - 1;
        assert!(
            (path.short_rate[[0, t]] - r).abs() < 1e-12,
            "r, month {month}"
        );
        assert!(
            (path.mortgage_rate[[0, t]] - m).abs() < 1e-12,
            "m, month {month}"
        );
        assert!(
            close(path.discount[[0, t]], d, 1e-12, 0.0),
            "D, month {month}"
        );
    }
}

/// The exact-fit drift `φ_t` (with its convexity term `(V_t − V_{t−1})/2Δ`)
/// of an independent implementation: antithetic pair means `(r_{2j} + r_{2j+1})/2`
/// of `shared/spec/golden/paths_8.parquet`, default parameters.
const GOLDEN_PHI: [(usize, f64); 7] = [
    (1, 0.043),
    (2, 0.04300028054804541),
    (13, 0.037039306012397334),
    (120, 0.047979784526152425),
    (240, 0.056604998331815204),
    (360, 0.05879288158789908),
    (480, 0.06492744942077122),
];

#[test]
fn drift_matches_the_independent_implementation() {
    let generator = default_model().generator(480);
    for (month, phi) in GOLDEN_PHI {
        let got = generator.phi()[month - 1];
        assert!(
            (got - phi).abs() < 1e-13,
            "φ_{month} = {got}, expected {phi}"
        );
    }
}

#[test]
fn zero_volatility_generator_is_the_static_path() {
    let normals = NormalGenerator::new(SEED, true).normals(4, 480);
    for a in [0.03, 0.0] {
        let model = model(a, 0.0);
        let paths = model.paths(&normals, 480);
        let stat = model.static_path(480);
        for p in 0..4 {
            for t in 0..480 {
                let (r, m, d) = (
                    paths.short_rate[[p, t]],
                    paths.mortgage_rate[[p, t]],
                    paths.discount[[p, t]],
                );
                assert!(
                    (r - stat.short_rate[[0, t]]).abs() < 1e-12,
                    "a = {a}, r[{p}, {t}]"
                );
                assert!(
                    (m - stat.mortgage_rate[[0, t]]).abs() < 1e-12,
                    "a = {a}, m[{p}, {t}]"
                );
                assert!(
                    close(d, stat.discount[[0, t]], 1e-13, 0.0),
                    "a = {a}, D[{p}, {t}]"
                );
            }
        }
    }
}

/// `|mean − P(0,τ_t)| ≤ MC_SIGMAS·SE` at every month, where the Monte Carlo
/// units are single paths, or antithetic pair means (MODEL.md §J). Month 1 is
/// deterministic (`x_0 = 0`, SE = 0), hence the rounding floor
/// `IDENTITY_REL·P`; the sums run over `D − P` so they add no rounding of
/// their own at that scale.
fn check_mean_discount(antithetic: bool) {
    let (num_paths, months) = (20_000, 360);
    let model = default_model();
    let normals = NormalGenerator::new(SEED, antithetic).normals(num_paths, months);
    let paths = model.paths(&normals, months);
    let unit = if antithetic { 2 } else { 1 };
    let n = (num_paths / unit) as f64;
    for t in 0..months {
        let p = model.curve().discount((t + 1) as f64 / 12.0);
        let deviations: Vec<f64> = paths.discount.column(t).iter().map(|d| d - p).collect();
        let units: Vec<f64> = deviations
            .chunks(unit)
            .map(|u| u.iter().sum::<f64>() / unit as f64)
            .collect();
        let mean = units.iter().sum::<f64>() / n;
        let var = units.iter().map(|u| (u - mean).powi(2)).sum::<f64>() / (n - 1.0);
        let se = (var / n).sqrt();
        assert!(se < 0.01 * p, "month {}: SE {se}", t + 1);
        assert!(
            mean.abs() <= MC_SIGMAS * se + IDENTITY_REL * p,
            "month {}, antithetic {antithetic}: mean D − P = {mean:e}, {:.2} SE",
            t + 1,
            mean / se
        );
    }
}

#[test]
fn mean_discount_is_the_curve_at_every_month() {
    check_mean_discount(false);
}

#[test]
fn mean_discount_is_the_curve_at_every_month_antithetic() {
    check_mean_discount(true);
}

fn row(paths: &PathSet, i: usize) -> [Vec<f64>; 3] {
    [&paths.short_rate, &paths.mortgage_rate, &paths.discount].map(|a| a.row(i).to_vec())
}

#[test]
fn a_path_is_the_same_alone_in_a_batch_and_on_any_thread_count() {
    let model = default_model();
    for antithetic in [false, true] {
        let rng = NormalGenerator::new(SEED, antithetic);
        let generate = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| model.paths(&rng.normals(33, 480), 480))
        };
        let batch = generate(1);
        assert_eq!(
            batch,
            generate(2),
            "1 vs 2 threads, antithetic {antithetic}"
        );
        assert_eq!(
            batch,
            generate(3),
            "1 vs 3 threads, antithetic {antithetic}"
        );

        let generator = model.generator(480);
        let mut eps = vec![0.0; 480];
        let (mut r, mut m, mut d) = (vec![0.0; 480], vec![0.0; 480], vec![0.0; 480]);
        for p in [0, 1, 2, 17, 31, 32] {
            let alone = model.paths(&rng.normals_for(p..p + 1, 480), 480);
            assert_eq!(
                row(&alone, 0),
                row(&batch, p),
                "path {p} alone, antithetic {antithetic}"
            );
            rng.fill_path(p, &mut eps);
            generator.fill_path(&eps, &mut r, &mut m, &mut d);
            assert_eq!(
                [&r, &m, &d],
                row(&batch, p).each_ref(),
                "path {p} by fill_path"
            );
        }
        // A shard that starts on an odd path.
        let shard = model.paths(&rng.normals_for(7..20, 480), 480);
        for i in 0..13 {
            assert_eq!(
                row(&shard, i),
                row(&batch, 7 + i),
                "path {} in shard 7..20",
                7 + i
            );
        }
        // Fewer months: a prefix of the longer paths.
        let short = model.paths(&rng.normals(33, 480), 120);
        for p in 0..33 {
            assert_eq!(row(&short, p), row(&batch, p).map(|v| v[..120].to_vec()));
        }
    }
}

#[test]
fn antithetic_factor_paths_are_exact_negations() {
    let model = default_model();
    let hw = model.hull_white();
    let normals = NormalGenerator::new(SEED, true).normals(9, 480);
    let paths = model.paths(&normals, 480);
    let phi = model.generator(480).phi().to_vec();
    let factor = |p: usize| {
        let mut x = vec![0.0; 480];
        hw.fill_factor(normals.path(p), &mut x);
        x
    };
    for j in 0..4 {
        let (even, odd) = (factor(2 * j), factor(2 * j + 1));
        assert_eq!(even[0], 0.0);
        assert!(even[1..].iter().all(|&x| x != 0.0));
        for (t, (&xe, &xo)) in even.iter().zip(&odd).enumerate() {
            // `==`, not bits: x_0 is +0.0 on both paths.
            assert!(xo == -xe, "pair {j}, month {}: {xe} vs {xo}", t + 1);
        }
    }
    // The generator's short rate is exactly x_{t−1} + φ_t.
    for p in 0..9 {
        let x = factor(p);
        for t in 0..480 {
            assert_eq!(paths.short_rate[[p, t]], x[t] + phi[t], "r[{p}, {}]", t + 1);
        }
    }
}

#[test]
fn shocked_paths_reuse_the_normals_and_the_base_spread() {
    let base = default_model();
    let normals = NormalGenerator::new(SEED, true).normals(16, 480);
    let paths = base.paths(&normals, 480);
    let delta = 0.0025;

    // Parallel: every forward and every y10 moves by δ; the factor is unchanged.
    let up = base.shocked_parallel(delta);
    assert_eq!(up.s_m(), base.s_m());
    assert_eq!(up.hull_white(), base.hull_white());
    let shocked = up.paths(&normals, 480);
    for ((&r1, &r0), (&m1, &m0)) in shocked
        .short_rate
        .iter()
        .zip(&paths.short_rate)
        .zip(shocked.mortgage_rate.iter().zip(&paths.mortgage_rate))
    {
        assert!((r1 - r0 - delta).abs() < 1e-12, "r {r0} -> {r1}");
        assert!((m1 - m0 - delta).abs() < 1e-12, "m {m0} -> {m1}");
    }

    // Key rate: the change is deterministic (same on every path), and the six
    // key-rate changes add up to the parallel one.
    let mut total = ndarray::Array2::<f64>::zeros((16, 480));
    for k in 0..KEY_RATE_TENORS.len() {
        let model = base.shocked_key_rate(k, delta);
        assert_eq!(model.s_m(), base.s_m());
        let shocked = model.paths(&normals, 480);
        let change = &shocked.short_rate - &paths.short_rate;
        for p in 1..16 {
            for t in 0..480 {
                assert!(
                    (change[[p, t]] - change[[0, t]]).abs() < 1e-12,
                    "key {k}, r[{p}, {t}]"
                );
            }
        }
        total += &change;
    }
    assert!(total.iter().all(|&c| (c - delta).abs() < 1e-12));
}

#[test]
fn rate_model_rejects_bad_configuration() {
    let config = Config::default();
    let bad_curve = Curve {
        tenors: vec![1.0, 0.5],
        zero_rates: vec![0.04, 0.04],
    };
    assert!(matches!(
        RateModel::from_config(&bad_curve, &config.hull_white, &config.mortgage_rate),
        Err(RateError::CurveKnot { index: 1, .. })
    ));
    assert!(matches!(
        RateModel::from_config(
            &config.curve,
            &HullWhite {
                a: 0.03,
                sigma: -1.0
            },
            &config.mortgage_rate
        ),
        Err(RateError::Parameter {
            name: "hull_white.sigma",
            ..
        })
    ));
    assert!(matches!(
        RateModel::from_config(
            &config.curve,
            &config.hull_white,
            &MortgageRate { m0: f64::NAN }
        ),
        Err(RateError::Parameter {
            name: "mortgage_rate.m0",
            ..
        })
    ));
}

#[test]
fn free_functions_agree_with_the_model() {
    let model = default_model();
    let curve = ZeroCurve::from_config(&Curve::default()).unwrap();
    let hw = HullWhiteModel::new(0.03, 0.009).unwrap();
    let normals = NormalGenerator::new(SEED, false).normals(3, 60);
    assert_eq!(
        msr_rates::hull_white_paths(&curve, &hw, model.s_m(), &normals, 60),
        model.paths(&normals, 60)
    );
    assert_eq!(
        msr_rates::static_path(&curve, model.s_m(), 60),
        model.static_path(60)
    );
    // r_1 is the first month's forward; D_1 = exp(−Δ·r_1).
    let stat = model.static_path(1);
    assert!(close(
        stat.discount[[0, 0]],
        (-DT * stat.short_rate[[0, 0]]).exp(),
        IDENTITY_REL,
        0.0
    ));
}
