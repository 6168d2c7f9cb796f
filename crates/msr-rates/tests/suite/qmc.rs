//! The quasi-random path scheme (docs/qmc.md) against reference values and
//! identities. Reference values: normal quantiles computed with mpmath (60
//! digits, root of `ln Φ(x) = ln p`), and the first unscrambled Sobol points of the Joe–Kuo sequence as
//! SciPy's `qmc.Sobol(d=2, scramble=False)` documents them. Identities: the
//! Brownian bridge is an orthogonal map (its increments have exactly the
//! covariance of independent unit normals); Owen scrambling keeps the
//! stratification of the points; the antithetic path is the exact negation.
//! Determinism: a path's normals are a pure function of (seed, path, scheme),
//! the same alone, in any batch and on any thread count. Monte Carlo: the
//! Sobol paths' discount factors reprice the curve within their Monte Carlo
//! error, which is far below that of as many pseudo-random paths.

use msr_core::config::Config;
use msr_core::tolerance::{close, IDENTITY_REL, MC_SIGMAS};
use msr_rates::sobol::{normal_from_bits, sobol_u32};
use msr_rates::{
    inverse_normal_cdf, BrownianBridge, BrownianPca, NormalGenerator, PathScheme, RateModel,
    ScrambledSobol, UnknownPathScheme, MAX_SOBOL_DIMS,
};

const SEED: u64 = 20261121;

fn sobol(seed: u64, antithetic: bool) -> NormalGenerator {
    NormalGenerator::new(seed, antithetic).with_scheme(PathScheme::Sobol)
}

/// The quasi-random schemes.
const QUASI: [PathScheme; 2] = [PathScheme::Sobol, PathScheme::SobolPca];

fn quasi(scheme: PathScheme, seed: u64, antithetic: bool) -> NormalGenerator {
    NormalGenerator::new(seed, antithetic).with_scheme(scheme)
}

fn default_model() -> RateModel {
    let config = Config::default();
    RateModel::from_config(&config.curve, &config.hull_white, &config.mortgage_rate).unwrap()
}

/// `Φ⁻¹(p)` at the exact `f64` value of `p`, from mpmath (60 digits), kept to
/// 20 digits as printed.
#[allow(clippy::excessive_precision)]
const QUANTILES: [(f64, f64); 19] = [
    (0.5, 0.0),
    (0.6, 0.253_347_103_135_799_741_32),
    (0.75, 0.674_489_750_196_081_743_2),
    (0.9, 1.281_551_565_544_600_593_5),
    (0.975, 1.959_963_984_540_053_855_6),
    (0.99, 2.326_347_874_040_840_767_6),
    (0.999, 3.090_232_306_167_813_277_8),
    (0.001, -3.090_232_306_167_813_535_4),
    (0.02425, -1.972_961_051_311_884_837_6),
    (0.07, -1.475_791_028_179_170_685_6),
    (1e-5, -4.264_890_793_922_824_610_2),
    (1e-10, -6.361_340_902_404_056_199_1),
    (1e-20, -9.262_340_089_798_407_579_6),
    (1e-50, -14.933_337_534_788_488_981),
    (1e-100, -21.273_453_560_965_324_294),
    (1e-300, -37.047_096_299_361_199_236_55),
    (0.3, -0.524_400_512_708_040_815_97),
    (0.4999, -0.000_250_662_830_088_007_492_39),
    (0.500_000_1, 2.506_628_273_311_648_301_2e-7),
];

#[test]
fn inverse_normal_cdf_is_accurate_to_1e_15_relative() {
    for (p, x) in QUANTILES {
        let got = inverse_normal_cdf(p);
        assert!(
            close(got, x, 1e-15, 0.0),
            "Φ⁻¹({p:e}) = {got:e}, want {x:e}"
        );
    }
}

/// The first eight unscrambled points in two dimensions (SciPy's documented
/// `Sobol(d=2, scramble=False).random_base2(3)`), in Gray-code order.
#[test]
fn unscrambled_points_are_the_published_ones() {
    let expected = [
        [0.0, 0.0],
        [0.5, 0.5],
        [0.75, 0.25],
        [0.25, 0.75],
        [0.375, 0.375],
        [0.875, 0.875],
        [0.625, 0.125],
        [0.125, 0.625],
    ];
    for (i, point) in expected.iter().enumerate() {
        for (d, &x) in point.iter().enumerate() {
            let got = sobol_u32(i as u32, d).unwrap() as f64 / 4_294_967_296.0;
            assert_eq!(got, x, "point {i}, dim {d}");
        }
    }
}

/// Each of the `2^k` equal intervals of a coordinate is hit exactly once by
/// every aligned block of `2^k` points, scrambled or not, in every dimension
/// (here every 7th up to the table's end).
#[test]
fn every_coordinate_is_stratified() {
    for seed in [1u64, SEED] {
        let s = ScrambledSobol::new(seed);
        for dim in (0..MAX_SOBOL_DIMS).step_by(7) {
            for k in [1u32, 4, 6, 10] {
                let n = 1u32 << k;
                for block in [0u32, 3] {
                    let mut hit = vec![0u8; n as usize];
                    for i in block * n..(block + 1) * n {
                        let cell = (s.bits(i, dim).unwrap() >> (64 - k)) as usize;
                        hit[cell] += 1;
                    }
                    assert!(
                        hit.iter().all(|&h| h == 1),
                        "seed {seed}, dim {dim}, 2^{k} cells, block {block}"
                    );
                }
            }
        }
    }
}

/// Dimensions 1 and 2 form a (0, 2)-sequence: the first `2^m` scrambled
/// points put exactly one point in every elementary box `2^-a × 2^-(m−a)`.
#[test]
fn the_first_two_dimensions_are_a_zero_net() {
    let s = ScrambledSobol::new(SEED);
    let m = 8u32;
    for a in 0..=m {
        let mut hit = vec![0u8; 1 << m];
        for i in 0..(1u32 << m) {
            let x = s.bits(i, 0).unwrap();
            let y = s.bits(i, 1).unwrap();
            let cx = if a == 0 { 0 } else { x >> (64 - a) };
            let cy = if a == m { 0 } else { y >> (64 - (m - a)) };
            hit[((cx << (m - a)) | cy) as usize] += 1;
        }
        assert!(hit.iter().all(|&h| h == 1), "boxes 2^-{a} × 2^-{}", m - a);
    }
}

#[test]
fn scrambled_points_are_open_unit_values() {
    let s = ScrambledSobol::new(0);
    for dim in [0, 1, 479] {
        let u = s.uniform(0, dim).unwrap();
        assert!(u > 0.0 && u < 1.0, "{u}");
        // Point 0 is not the origin once scrambled, so its normal is finite.
        assert!(normal_from_bits(s.bits(0, dim).unwrap()).is_finite());
    }
    assert_eq!(s.uniform(0, MAX_SOBOL_DIMS), None);
}

/// `ε = A·z` with `A·Aᵀ = I`: feeding the unit vectors gives the columns of
/// `A`; their Gram matrix must be the identity to rounding, so independent
/// unit normals in give independent unit-variance increments out. Checked
/// for the bridge and for the principal components.
#[test]
fn bridge_and_pca_increments_have_identity_covariance() {
    for months in [1usize, 2, 5, 37, 120, 480] {
        for pca in [false, true] {
            let bridge = BrownianBridge::new(months);
            let components = BrownianPca::new(months);
            let mut columns = vec![vec![0.0; months]; months];
            let mut z = vec![0.0; months];
            for (k, col) in columns.iter_mut().enumerate() {
                z.iter_mut().for_each(|x| *x = 0.0);
                z[k] = 1.0;
                if pca {
                    components.increments(&z, col);
                } else {
                    bridge.increments(&z, col);
                }
            }
            for s in 0..months {
                for t in 0..months {
                    let cov: f64 = columns.iter().map(|c| c[s] * c[t]).sum();
                    let want = if s == t { 1.0 } else { 0.0 };
                    assert!(
                        (cov - want).abs() < 1e-12,
                        "T = {months}, PCA {pca}: cov(ε_{}, ε_{}) = {cov}",
                        s + 1,
                        t + 1
                    );
                }
            }
        }
    }
}

/// Over 4,096 Sobol paths (bridge; principal components over 120 months then
/// a bridge) each month's shock has mean 0 and variance 1 and neighbouring
/// months are uncorrelated, in Monte Carlo standard errors.
#[test]
fn sobol_shocks_are_standard_normal_and_uncorrelated() {
    let (n, months) = (4096usize, 180usize);
    let nf = n as f64;
    for scheme in QUASI {
        let normals = quasi(scheme, SEED, false).normals(n, months);
        let eps = normals.view();
        for t in 0..months {
            let col = eps.column(t);
            let mean = col.sum() / nf;
            let var = col.iter().map(|e| e * e).sum::<f64>() / nf;
            assert!(
                mean.abs() < MC_SIGMAS / nf.sqrt(),
                "{scheme}, month {}: mean {mean}",
                t + 1
            );
            assert!(
                (var - 1.0).abs() < MC_SIGMAS * (2.0 / nf).sqrt(),
                "{scheme}, month {}: variance {var}",
                t + 1
            );
            for lag in [1, 2, 12] {
                if t + lag < months {
                    let other = eps.column(t + lag);
                    let corr = col.iter().zip(other).map(|(a, b)| a * b).sum::<f64>() / nf;
                    assert!(
                        corr.abs() < MC_SIGMAS / nf.sqrt(),
                        "{scheme}, months {}, {}: correlation {corr}",
                        t + 1,
                        t + 1 + lag
                    );
                }
            }
        }
    }
}

#[test]
fn a_sobol_path_is_the_same_alone_in_any_batch_and_on_any_thread_count() {
    for scheme in QUASI {
        for antithetic in [false, true] {
            let generator = quasi(scheme, SEED, antithetic);
            let generate = |threads: usize| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                pool.install(|| generator.normals(40, 360))
            };
            let batch = generate(1);
            assert_eq!(batch, generate(3), "{scheme}, antithetic {antithetic}");
            for range in [0..40, 3..4, 4..6, 5..33, 38..40] {
                let part = generator.normals_for(range.clone(), 360);
                for (i, p) in range.enumerate() {
                    assert_eq!(
                        part.path(i),
                        batch.path(p),
                        "{scheme}, path {p}, antithetic {antithetic}"
                    );
                    let mut alone = vec![0.0; 360];
                    generator.fill_path(p, &mut alone);
                    assert_eq!(alone, batch.path(p), "{scheme}, path {p} alone");
                }
            }
        }
    }
}

#[test]
fn antithetic_sobol_pairs_are_exact_negations_of_the_points() {
    let paired = sobol(SEED, true).normals(9, 240);
    let plain = sobol(SEED, false).normals(5, 240);
    for j in 0..4 {
        assert_eq!(paired.path(2 * j), plain.path(j));
        for (&even, &odd) in paired.path(2 * j).iter().zip(paired.path(2 * j + 1)) {
            assert_eq!(odd.to_bits(), (-even).to_bits());
        }
    }
    assert_eq!(
        paired.path(8),
        plain.path(4),
        "an unpaired last path is point 4"
    );
}

#[test]
fn scrambles_are_reproducible_and_differ_across_seeds() {
    for scheme in QUASI {
        let a = quasi(scheme, 7, false).normals(16, 150);
        assert_eq!(a, quasi(scheme, 7, false).normals(16, 150), "{scheme}");
        let b = quasi(scheme, 8, false).normals(16, 150);
        for p in 0..16 {
            assert_ne!(a.path(p), b.path(p), "{scheme}, path {p}");
        }
        // And neither is the pseudo-random draw of the same seed.
        let pseudo = NormalGenerator::new(7, false).normals(1, 150);
        assert_ne!(a.path(0), pseudo.path(0), "{scheme}");
    }
    // The two constructions map the same points to different paths.
    let bridge = quasi(PathScheme::Sobol, 7, false).normals(2, 150);
    let pca = quasi(PathScheme::SobolPca, 7, false).normals(2, 150);
    assert_ne!(bridge.path(1), pca.path(1));
}

#[test]
fn horizons_beyond_the_table_use_a_hybrid_and_stay_deterministic() {
    let months = MAX_SOBOL_DIMS + 100;
    let generator = sobol(SEED, false);
    let batch = generator.normals(4, months);
    let mut alone = vec![0.0; months];
    generator.fill_path(2, &mut alone);
    assert_eq!(alone, batch.path(2));
    assert!(batch.as_slice().iter().all(|e| e.is_finite()));
    // The coarse dimensions are still the Sobol point's: the last month's level
    // is √T·Φ⁻¹(u) of the point's first coordinate.
    let s = ScrambledSobol::new(SEED);
    let level: f64 = batch.path(2).iter().sum();
    let want = (months as f64).sqrt() * normal_from_bits(s.bits(2, 0).unwrap());
    assert!(close(level, want, 1e-12, 1e-12), "{level} vs {want}");
}

/// `E[D[p,t]] = P(0,τ_t)` (MODEL.md §C.2): the mean over 1,024 Sobol paths is
/// within `MC_SIGMAS` Monte Carlo standard errors of the curve at every month
/// (the standard error of as many independent paths: an upper bound for a
/// scrambled net). The quasi-random error is also at most a tenth of that
/// standard error at every month, and its root mean square over the months at
/// most 0.03 (measured: 0.007 with the bridge, 0.018 with the principal
/// components) — what 1,024 pseudo-random paths cannot do (their typical error
/// is one standard error).
#[test]
fn sobol_paths_reprice_the_curve() {
    for scheme in QUASI {
        check_repricing(scheme);
    }
}

fn check_repricing(scheme: PathScheme) {
    let (num_paths, months) = (1024usize, 360usize);
    let model = default_model();
    let normals = quasi(scheme, SEED, false).normals(num_paths, months);
    let paths = model.paths(&normals, months);
    let n = num_paths as f64;
    let mut sum_sq_ratio = 0.0;
    for t in 0..months {
        let p = model.curve().discount((t + 1) as f64 / 12.0);
        let dev: Vec<f64> = paths.discount.column(t).iter().map(|d| d - p).collect();
        let mean = dev.iter().sum::<f64>() / n;
        let var = dev.iter().map(|u| (u - mean).powi(2)).sum::<f64>() / (n - 1.0);
        let se = (var / n).sqrt();
        let floor = IDENTITY_REL * p;
        assert!(
            mean.abs() <= MC_SIGMAS * se + floor,
            "{scheme}, month {}: mean D − P = {mean:e}, SE {se:e}",
            t + 1
        );
        assert!(
            mean.abs() <= 0.1 * se + floor,
            "{scheme}, month {}: {:.3} SE",
            t + 1,
            mean / se
        );
        if se > 0.0 {
            sum_sq_ratio += (mean / se).powi(2);
        }
    }
    let rms = (sum_sq_ratio / (months - 1) as f64).sqrt();
    assert!(rms <= 0.03, "{scheme}: RMS error {rms:.4} SE");
}

#[test]
fn scheme_names_and_configuration() {
    assert_eq!("pseudo".parse::<PathScheme>(), Ok(PathScheme::Pseudo));
    assert_eq!("sobol".parse::<PathScheme>(), Ok(PathScheme::Sobol));
    assert_eq!("sobol-pca".parse::<PathScheme>(), Ok(PathScheme::SobolPca));
    for scheme in PathScheme::ALL {
        assert_eq!(scheme.name().parse::<PathScheme>(), Ok(scheme));
        let mut config = Config::default();
        config.valuation.path_scheme = scheme.name().into();
        assert!(config.validate().is_ok(), "{scheme}");
    }
    let e = "halton".parse::<PathScheme>().unwrap_err();
    assert_eq!(e, UnknownPathScheme("halton".into()));
    assert!(e.to_string().contains("valuation.path_scheme"), "{e}");
    assert_eq!(PathScheme::default(), PathScheme::Pseudo);

    let mut config = Config::default();
    let default = NormalGenerator::from_config(&config.valuation);
    assert_eq!(default, NormalGenerator::new(SEED, true));
    // The default draw is the pseudo-random one, bit for bit.
    assert_eq!(
        default.normals(3, 50),
        NormalGenerator::new(SEED, true).normals(3, 50)
    );
    config.valuation.path_scheme = "sobol".into();
    assert_eq!(
        NormalGenerator::from_config(&config.valuation),
        sobol(SEED, true)
    );
    config.valuation.path_scheme = "nope".into();
    assert!(NormalGenerator::try_from_config(&config.valuation).is_err());
    assert!(config.validate().is_err());
}

/// Randomized QMC (`valuation.scrambles`): run `r` of the paths is the first
/// `n` points of independent scramble `r`, and scramble 0 is the seed's own
/// sequence, so the first run is the unscrambled generator's first `n` paths.
#[test]
fn scramble_runs_are_independent_scrambles_of_the_first_points() {
    let months = 24;
    for scheme in QUASI {
        for antithetic in [false, true] {
            let one = quasi(scheme, SEED, antithetic);
            let four = one.with_scrambles(4, 32);
            assert_eq!(four.scramble_points, if antithetic { 4 } else { 8 });
            let runs = four.normals(32, months);
            let plain = one.normals(32, months);
            // Run 0 is the seed's sequence.
            for p in 0..8 {
                assert_eq!(runs.path(p), plain.path(p), "{scheme} path {p}");
            }
            // Runs 1..3 restart the points on other scrambles: path 8 is
            // point 0 of scramble 1, not point 8 (or 4) of scramble 0.
            for r in 1..4 {
                let first = runs.path(8 * r);
                for other in 0..4 {
                    if other != r {
                        assert_ne!(first, runs.path(8 * other), "{scheme} run {r} vs {other}");
                    }
                }
                assert_ne!(first, plain.path(8 * r), "{scheme} run {r}");
                if antithetic {
                    let negated: Vec<f64> = first.iter().map(|e| -e).collect();
                    assert_eq!(runs.path(8 * r + 1), negated.as_slice());
                }
            }
            // A pure function of (seed, path, scheme, scrambles): a later
            // batch alone gives the same rows.
            let tail = four.normals_for(13..29, months);
            for p in 13..29 {
                assert_eq!(tail.path(p - 13), runs.path(p), "{scheme} path {p}");
            }
            // One scramble is the plain generator.
            assert_eq!(one.with_scrambles(1, 32), one);
        }
    }
}

/// Each run's points are an independent scramble's first points, so each
/// keeps the net's stratification: the first 8 points of every scramble put
/// one point in each eighth of every coordinate.
#[test]
fn every_scramble_run_is_a_net() {
    for r in 0..4 {
        let s = ScrambledSobol::new(msr_rates::normals::scramble_seed(SEED, r));
        for dim in 0..64 {
            let mut hit = [0u8; 8];
            for i in 0..8 {
                hit[(s.bits(i, dim).unwrap() >> 61) as usize] += 1;
            }
            assert_eq!(hit, [1; 8], "scramble {r}, dimension {dim}");
        }
    }
    assert_eq!(msr_rates::normals::scramble_seed(SEED, 0), SEED);
}

#[test]
fn scrambles_are_validated() {
    let mut config = Config::default();
    config.valuation.scrambles = 8;
    let err = config.validate().unwrap_err().to_string();
    assert!(
        err.contains("valuation.scrambles") && err.contains("Sobol"),
        "{err}"
    );
    config.valuation.path_scheme = "sobol-pca".into();
    config.valuation.num_paths = 60;
    let err = config.validate().unwrap_err().to_string();
    assert!(
        err.contains("must divide valuation.num_paths (60)"),
        "{err}"
    );
    config.valuation.num_paths = 8;
    config.valuation.antithetic = true;
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("even"), "{err}");
    config.valuation.antithetic = false;
    config.validate().unwrap();
    config.valuation.scrambles = 0;
    assert!(config.validate().is_err());
    // From the configuration: scrambles reach the generator.
    config.valuation.scrambles = 4;
    config.valuation.num_paths = 64;
    let g = NormalGenerator::from_config(&config.valuation);
    assert_eq!(g.scramble_points, 16);
}
