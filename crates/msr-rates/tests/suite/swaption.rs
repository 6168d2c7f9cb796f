//! The swaption pricer and the Hull–White calibration (issue #24,
//! docs/calibration-market.md), checked against formulas derived here
//! independently: the textbook zero-bond put in the short rate, numerical
//! integration over the Gaussian factor, the small-σ limit, and Monte Carlo
//! on the engine's own monthly paths.

use msr_core::config::Curve;
use msr_rates::swaption::norm_cdf;
use msr_rates::{
    calibrate_hull_white, AtmSwap, FitParams, HullWhiteModel, NormalGenerator, PathGenerator,
    RateError, SwaptionQuote, ZeroCurve, DT,
};

fn curve() -> ZeroCurve {
    ZeroCurve::from_config(&Curve::default()).unwrap()
}

/// `B(t,T) = (1 − e^{−a(T−t)})/a`.
fn b(a: f64, tau: f64) -> f64 {
    (1.0 - (-a * tau).exp()) / a
}

/// The textbook Hull–White zero-bond put (Brigo–Mercurio (3.41)), written
/// with its `h`: `X·P(0,T)·N(−h+σp) − P(0,S)·N(−h)`.
fn textbook_zbp(curve: &ZeroCurve, a: f64, sigma: f64, t: f64, s: f64, strike: f64) -> f64 {
    let (pt, ps) = (curve.discount(t), curve.discount(s));
    let sigma_p = sigma * ((1.0 - (-2.0 * a * t).exp()) / (2.0 * a)).sqrt() * b(a, s - t);
    let h = (ps / (pt * strike)).ln() / sigma_p + sigma_p / 2.0;
    strike * pt * norm_cdf(-h + sigma_p) - ps * norm_cdf(-h)
}

/// The curve's instantaneous forward at `t` from one side: a one-sided
/// difference of `ln P` over `eps` (exact on a flat-forward segment).
fn forward(curve: &ZeroCurve, t: f64, right: bool) -> f64 {
    let eps = 1e-6;
    if right {
        (curve.ln_discount(t) - curve.ln_discount(t + eps)) / eps
    } else {
        (curve.ln_discount(t - eps) - curve.ln_discount(t)) / eps
    }
}

/// Textbook Jamshidian in the short rate: `P(T0,T) = A·e^{−B·r}`,
/// `ln A = ln(P(0,T)/P(0,T0)) + B·f(0,T0) − σ²/(4a)·(1 − e^{−2aT0})·B²`;
/// `r*` by bisection; payer = Σ c_i·ZBP(T0, T_i, A_i·e^{−B_i·r*}).
fn textbook_payer(curve: &ZeroCurve, a: f64, sigma: f64, t0: f64, n: u32, f0: f64) -> f64 {
    let swap = AtmSwap::new(curve, t0, n);
    let bond = |i: u32, r: f64| {
        let t = t0 + f64::from(i);
        let bb = b(a, t - t0);
        let ln_a = (curve.discount(t) / curve.discount(t0)).ln() + bb * f0
            - sigma * sigma / (4.0 * a) * (1.0 - (-2.0 * a * t0).exp()) * bb * bb;
        (ln_a - bb * r).exp()
    };
    let coupon_bond = |r: f64| {
        (1..=n)
            .map(|i| swap.coupon(i as usize - 1) * bond(i, r))
            .sum::<f64>()
    };
    let (mut lo, mut hi) = (-1.0, 1.0);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if coupon_bond(mid) > 1.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let r_star = 0.5 * (lo + hi);
    (1..=n)
        .map(|i| {
            let t = t0 + f64::from(i);
            swap.coupon(i as usize - 1) * textbook_zbp(curve, a, sigma, t0, t, bond(i, r_star))
        })
        .sum()
}

#[test]
fn one_period_swaption_is_one_zero_bond_put() {
    let curve = curve();
    for (t0, a, sigma) in [(1.0, 0.03, 0.009), (2.5, 0.1, 0.012), (10.0, 0.01, 0.007)] {
        let swap = AtmSwap::new(&curve, t0, 1);
        // Payer on a one-period swap = (1+K)·ZBP(T0, T0+1, 1/(1+K)).
        let k = swap.strike;
        let expected = (1.0 + k) * textbook_zbp(&curve, a, sigma, t0, t0 + 1.0, 1.0 / (1.0 + k));
        let got = swap.payer_price(a, sigma);
        assert!(
            (got - expected).abs() <= 1e-12 * expected,
            "T0 {t0}: {got} vs {expected}"
        );
        // And K is the one-period forward rate (annual compounding).
        let fwd = curve.discount(t0) / curve.discount(t0 + 1.0) - 1.0;
        assert!((k - fwd).abs() < 1e-15);
    }
}

#[test]
fn jamshidian_matches_the_short_rate_form_with_either_forward() {
    let curve = curve();
    // Expiries on knots (5, 10: the forward jumps there) and between.
    for (t0, n) in [(5.0, 5), (10.0, 10), (2.5, 7), (1.0, 20)] {
        let (a, sigma) = (0.04, 0.010);
        let got = AtmSwap::new(&curve, t0, n).payer_price(a, sigma);
        for right in [false, true] {
            let f0 = forward(&curve, t0, right);
            let expected = textbook_payer(&curve, a, sigma, t0, n, f0);
            assert!(
                (got - expected).abs() <= 1e-11 * expected,
                "{t0}x{n} ({}-forward {f0}): {got} vs {expected}",
                if right { "right" } else { "left" }
            );
        }
    }
    // The two one-sided forwards really differ at the 5-year knot.
    assert!((forward(&curve, 5.0, true) - forward(&curve, 5.0, false)).abs() > 1e-3);
}

/// Simpson's rule with `n` (even) intervals.
fn simpson(f: impl Fn(f64) -> f64, lo: f64, hi: f64, n: usize) -> f64 {
    let h = (hi - lo) / n as f64;
    let mut sum = f(lo) + f(hi);
    for k in 1..n {
        sum += f(lo + k as f64 * h) * if k % 2 == 1 { 4.0 } else { 2.0 };
    }
    sum * h / 3.0
}

#[test]
fn jamshidian_matches_integration_over_the_factor() {
    let curve = curve();
    for (t0, n, a, sigma) in [
        (1.0, 5, 0.03, 0.009),
        (5.0, 10, 0.08, 0.012),
        (10.0, 20, 0.01, 0.008),
        (3.0, 2, 0.5, 0.02),
    ] {
        let swap = AtmSwap::new(&curve, t0, n);
        // Under the T0-forward measure x(T0) ~ N(−M, v) (Brigo–Mercurio
        // §3.3.2), v = σ²(1 − e^{−2aT0})/(2a),
        // M = σ²/a²·(1 − e^{−aT0}) − σ²/(2a²)·(1 − e^{−2aT0}),
        // and P(T0,T|x) = P(0,T)/P(0,T0)·exp(−B·x + (V(T0,T) − V(0,T) + V(0,T0))/2),
        // V(t,T) = σ²/a²·[τ + 2/a·e^{−aτ} − 1/(2a)·e^{−2aτ} − 3/(2a)], τ = T − t.
        let v = sigma * sigma * (1.0 - (-2.0 * a * t0).exp()) / (2.0 * a);
        let mean = -(sigma * sigma / (a * a) * (1.0 - (-a * t0).exp())
            - sigma * sigma / (2.0 * a * a) * (1.0 - (-2.0 * a * t0).exp()));
        let big_v = |tau: f64| {
            sigma * sigma / (a * a)
                * (tau + 2.0 / a * (-a * tau).exp()
                    - 1.0 / (2.0 * a) * (-2.0 * a * tau).exp()
                    - 1.5 / a)
        };
        let bond = |i: u32, x: f64| {
            let t = t0 + f64::from(i);
            curve.discount(t) / curve.discount(t0)
                * (-b(a, t - t0) * x + 0.5 * (big_v(t - t0) - big_v(t) + big_v(t0))).exp()
        };
        let swap_value = |x: f64| {
            1.0 - (1..=n)
                .map(|i| swap.coupon(i as usize - 1) * bond(i, x))
                .sum::<f64>()
        };
        let density = |x: f64| {
            (-(x - mean) * (x - mean) / (2.0 * v)).exp() / (2.0 * std::f64::consts::PI * v).sqrt()
        };
        let sd = v.sqrt();
        // Sanity of the measure: E^T[P(T0,T)] = P(0,T)/P(0,T0).
        let last = t0 + f64::from(n);
        let fwd = simpson(
            |x| bond(n, x) * density(x),
            mean - 14.0 * sd,
            mean + 14.0 * sd,
            20_000,
        );
        let expected_fwd = curve.discount(last) / curve.discount(t0);
        assert!(
            (fwd - expected_fwd).abs() < 1e-12,
            "{fwd} vs {expected_fwd}"
        );
        // The kink: swap value 0, found by bisection (increasing in x).
        let (mut lo, mut hi) = (mean - 14.0 * sd, mean + 14.0 * sd);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if swap_value(mid) < 0.0 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let kink = 0.5 * (lo + hi);
        let integral = curve.discount(t0)
            * simpson(
                |x| swap_value(x).max(0.0) * density(x),
                kink,
                mean + 14.0 * sd,
                40_000,
            );
        let got = swap.payer_price(a, sigma);
        assert!(
            (got - integral).abs() <= 1e-8 * integral,
            "{t0}x{n}: Jamshidian {got} vs quadrature {integral}"
        );
    }
}

#[test]
fn small_sigma_limit_is_the_linearised_swap_rate_vol() {
    let curve = curve();
    for (t0, n, a) in [(1.0, 5, 0.03), (5.0, 10, 0.1), (10.0, 10, 0.01)] {
        let swap = AtmSwap::new(&curve, t0, n);
        // σ = 0: the intrinsic value, 0 at the money (up to rounding).
        assert!(swap.payer_price(a, 0.0).abs() < 1e-15);
        // σ_N/σ → sqrt(v/T0)·Σ c_i·P(0,T_i)·B(T0,T_i)/A, v = (1 − e^{−2aT0})/(2a).
        let v = (1.0 - (-2.0 * a * t0).exp()) / (2.0 * a);
        let weighted: f64 = (1..=n)
            .map(|i| {
                swap.coupon(i as usize - 1) * curve.discount(t0 + f64::from(i)) * b(a, f64::from(i))
            })
            .sum();
        let limit = (v / t0).sqrt() * weighted / swap.annuity;
        let sigma = 1e-6;
        let ratio = swap.model_vol_bp(a, sigma) * 1e-4 / sigma;
        assert!(
            (ratio - limit).abs() < 1e-5 * limit,
            "{t0}x{n}: {ratio} vs {limit}"
        );
    }
}

/// Generate quotes from known parameters.
fn quotes_from(curve: &ZeroCurve, a: f64, sigma: f64) -> Vec<SwaptionQuote> {
    let mut quotes = Vec::new();
    for expiry in [0.5, 1.0, 2.0, 5.0, 7.0, 10.0] {
        for tenor in [1u32, 2, 5, 10] {
            let vol = AtmSwap::new(curve, expiry, tenor).model_vol_bp(a, sigma);
            quotes.push(SwaptionQuote::new(expiry, f64::from(tenor), vol).unwrap());
        }
    }
    quotes
}

#[test]
fn fit_recovers_known_parameters() {
    let curve = curve();
    for (a, sigma) in [(0.05, 0.011), (0.01, 0.008), (0.25, 0.015)] {
        let quotes = quotes_from(&curve, a, sigma);
        assert_eq!(quotes.len(), 24);
        let fit = calibrate_hull_white(&curve, &quotes, FitParams::Both).unwrap();
        assert!(
            (fit.a - a).abs() <= 1e-6 * a,
            "a {} vs {a} ({} iterations)",
            fit.a,
            fit.iterations
        );
        assert!(
            (fit.sigma - sigma).abs() <= 1e-6 * sigma,
            "σ {} vs {sigma}",
            fit.sigma
        );
        assert!(fit.rmse_bp < 1e-6, "rmse {}", fit.rmse_bp);
        for (m, q) in fit.model_bp.iter().zip(&quotes) {
            assert!((m - q.normal_vol_bp).abs() < 1e-5);
        }

        let fixed = calibrate_hull_white(&curve, &quotes, FitParams::FixedA(a)).unwrap();
        assert_eq!(fixed.a, a);
        assert!((fixed.sigma - sigma).abs() <= 1e-6 * sigma);
        assert!(fixed.rmse_bp < 1e-6);
        assert_eq!(fixed.gradient[0], 0.0);
    }
}

/// The sample market grid, data/sample_swaption_vols.csv, read by hand.
fn sample_grid() -> Vec<SwaptionQuote> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/sample_swaption_vols.csv"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("expiry_years,tenor_years,normal_vol_bp"));
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<f64> = l.split(',').map(|x| x.trim().parse().unwrap()).collect();
            SwaptionQuote::new(f[0], f[1], f[2]).unwrap()
        })
        .collect()
}

fn objective(curve: &ZeroCurve, quotes: &[SwaptionQuote], a: f64, sigma: f64) -> f64 {
    quotes
        .iter()
        .map(|q| {
            let r = AtmSwap::new(curve, q.expiry_years, q.tenor_years).model_vol_bp(a, sigma)
                - q.normal_vol_bp;
            0.5 * r * r
        })
        .sum()
}

#[test]
fn fit_reaches_the_least_squares_optimum_on_the_sample_grid() {
    let curve = curve();
    let quotes = sample_grid();
    assert!(quotes.len() >= 20);
    let fit = calibrate_hull_white(&curve, &quotes, FitParams::Both).unwrap();
    eprintln!(
        "sample grid: a = {}, sigma = {}, rmse = {} bp, gradient = {:?}, relative {:.2e}, {} iterations",
        fit.a, fit.sigma, fit.rmse_bp, fit.gradient, fit.relative_gradient, fit.iterations
    );
    for (q, m) in quotes.iter().zip(&fit.model_bp) {
        eprintln!(
            "  {:>4} x {:>2}: market {:7.2} model {:8.3} residual {:+.3}",
            q.expiry_years,
            q.tenor_years,
            q.normal_vol_bp,
            m,
            m - q.normal_vol_bp
        );
    }
    // First-order optimality: the residual is orthogonal to the Jacobian.
    assert!(fit.relative_gradient < 1e-8, "{}", fit.relative_gradient);
    // The objective recomputed independently at the solution matches the rmse.
    let s = objective(&curve, &quotes, fit.a, fit.sigma);
    let rmse = (2.0 * s / quotes.len() as f64).sqrt();
    assert!((rmse - fit.rmse_bp).abs() < 1e-12 * rmse.max(1.0));
    assert!(fit.rmse_bp > 0.0 && fit.rmse_bp < 20.0);
    // Gradient by central differences of that objective, in (ln a, ln σ):
    // small against the objective's curvature scale.
    let h: f64 = 1e-6;
    let d_a = (objective(&curve, &quotes, fit.a * h.exp(), fit.sigma)
        - objective(&curve, &quotes, fit.a * (-h).exp(), fit.sigma))
        / (2.0 * h);
    let d_s = (objective(&curve, &quotes, fit.a, fit.sigma * h.exp())
        - objective(&curve, &quotes, fit.a, fit.sigma * (-h).exp()))
        / (2.0 * h);
    assert!(d_a.abs() < 1e-4 && d_s.abs() < 1e-4, "∇ = ({d_a}, {d_s})");
    // No nearby point is lower: a local minimum, in every direction.
    for (da, ds) in [
        (1e-3, 0.0),
        (-1e-3, 0.0),
        (0.0, 1e-3),
        (0.0, -1e-3),
        (1e-3, 1e-3),
        (1e-3, -1e-3),
    ] {
        let nearby = objective(
            &curve,
            &quotes,
            fit.a * f64::exp(da),
            fit.sigma * f64::exp(ds),
        );
        assert!(nearby >= s, "({da}, {ds}): {nearby} < {s}");
    }
    // With a fixed at the solution, σ comes back.
    let fixed = calibrate_hull_white(&curve, &quotes, FitParams::FixedA(fit.a)).unwrap();
    assert!((fixed.sigma - fit.sigma).abs() < 1e-9 * fit.sigma);
}

/// Monte Carlo on the engine's monthly paths (MODEL.md §C.2) prices the
/// monthly model, whose exact price [`AtmSwap::monthly_payer_price`] gives;
/// the continuous-time price differs from it by the discretisation gap.
#[test]
fn engine_paths_reprice_the_monthly_model_not_the_continuous_one() {
    let curve = curve();
    let (a, sigma) = (0.03, 0.009);
    let hw = HullWhiteModel::new(a, sigma).unwrap();
    let paths = 40_000;
    for (t0, n) in [(1.0, 5), (5.0, 5), (10.0, 10)] {
        let swap = AtmSwap::new(&curve, t0, n);
        let m = (12.0 * t0) as usize;
        let months = m + 1;
        let gen = PathGenerator::new(&curve, &hw, 0.0, months);
        let normals = NormalGenerator::new(20261121, true).normals(paths, months);
        let set = gen.paths(&normals);
        // V_t = Δ²·s_x²·Σ_{k=1}^{t−1} g_k², g_k = (1 − ρ^k)/(1 − ρ) (MODEL.md §C.2).
        let (rho, s_x) = (hw.rho(), hw.s_x());
        let big_v = |t: usize| {
            (1..t)
                .map(|k| ((1.0 - rho.powi(k as i32)) / (1.0 - rho)).powi(2))
                .sum::<f64>()
                * DT
                * DT
                * s_x
                * s_x
        };
        // Given x_m, the monthly model's bond from month m to month j:
        // E[exp(−Δ Σ_{k=m+1}^{j} r_k) | x_m]
        //   = P(0,τ_j)/P(0,τ_m)·exp(−Δ·g_{j−m}·x_m + (V_{j−m} − V_j + V_m)/2).
        let bond = |j: usize, x: f64| {
            let g = (1.0 - rho.powi((j - m) as i32)) / (1.0 - rho);
            curve.discount(j as f64 / 12.0) / curve.discount(m as f64 / 12.0)
                * (-DT * g * x + 0.5 * (big_v(j - m) - big_v(j) + big_v(m))).exp()
        };
        let phi = gen.phi()[m];
        let payoff: Vec<f64> = (0..paths)
            .map(|p| {
                // r_{m+1} = x_m + φ_{m+1}; D at T0 is the path's discount at month m.
                let x = set.short_rate[[p, m]] - phi;
                let value = 1.0
                    - (1..=n)
                        .map(|i| swap.coupon(i as usize - 1) * bond(m + 12 * i as usize, x))
                        .sum::<f64>();
                set.discount[[p, m - 1]] * value.max(0.0)
            })
            .collect();
        // Antithetic pairs are the units of the standard error.
        let units: Vec<f64> = payoff.chunks(2).map(|c| 0.5 * (c[0] + c[1])).collect();
        let mean = units.iter().sum::<f64>() / units.len() as f64;
        let var = units.iter().map(|u| (u - mean).powi(2)).sum::<f64>() / (units.len() - 1) as f64;
        let se = (var / units.len() as f64).sqrt();
        let monthly = swap.monthly_payer_price(&hw);
        let continuous = swap.payer_price(a, sigma);
        eprintln!(
            "{t0}x{n}: MC {:.4} ± {:.4} bp vol, monthly {:.4}, continuous {:.4}, gap {:+.4} bp ({:+.3} %)",
            swap.implied_vol_bp(mean),
            swap.implied_vol_bp(se),
            swap.implied_vol_bp(monthly),
            swap.implied_vol_bp(continuous),
            swap.implied_vol_bp(monthly - continuous),
            100.0 * (monthly / continuous - 1.0)
        );
        assert!(
            (mean - monthly).abs() < 4.0 * se,
            "{t0}x{n}: MC {mean} ± {se} vs monthly model {monthly}"
        );
        // The gap is the left-point bond loading: B_Δ/B − 1 ≈ aΔ/2 (about
        // 0.125 % of the vol at a = 0.03), positive and small.
        let gap = monthly / continuous - 1.0;
        assert!(gap > 0.0 && gap < 2.0 * a * DT / 2.0, "gap {gap}");
    }
}

#[test]
fn bad_quotes_are_refused_with_the_rule() {
    let rule = |r: Result<SwaptionQuote, RateError>| match r {
        Err(RateError::Quote { rule, .. }) => rule,
        other => panic!("expected a quote error, got {other:?}"),
    };
    assert!(rule(SwaptionQuote::new(0.0, 5.0, 100.0)).contains("expiry_years"));
    assert!(rule(SwaptionQuote::new(1.0, -5.0, 100.0)).contains("tenor_years"));
    assert!(rule(SwaptionQuote::new(1.0, 2.5, 100.0)).contains("whole number"));
    assert!(rule(SwaptionQuote::new(1.0, 5.0, -3.0)).contains("normal_vol_bp"));
    assert!(rule(SwaptionQuote::new(1.0, 5.0, f64::NAN)).contains("normal_vol_bp"));

    let curve = curve();
    let q = |e: f64, t: f64| SwaptionQuote::new(e, t, 100.0).unwrap();
    let past = calibrate_hull_white(&curve, &[q(10.0, 10.0), q(20.0, 20.0)], FitParams::Both);
    match past {
        Err(RateError::Quote {
            expiry,
            tenor,
            rule,
        }) => {
            assert_eq!((expiry, tenor), (20.0, 20.0));
            assert!(
                rule.contains("past the curve's last knot (30 years)"),
                "{rule}"
            );
        }
        other => panic!("{other:?}"),
    }
    let dup = calibrate_hull_white(
        &curve,
        &[q(1.0, 5.0), q(2.0, 5.0), q(1.0, 5.0)],
        FitParams::Both,
    );
    assert!(matches!(dup, Err(RateError::Quote { rule, .. }) if rule.contains("duplicate")));
    let few = calibrate_hull_white(&curve, &[q(1.0, 5.0)], FitParams::Both);
    assert!(matches!(
        few,
        Err(RateError::TooFewQuotes {
            quotes: 1,
            params: 2
        })
    ));
    assert!(calibrate_hull_white(&curve, &[q(1.0, 5.0)], FitParams::FixedA(0.03)).is_ok());
}
