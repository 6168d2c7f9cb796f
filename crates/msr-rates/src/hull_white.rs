//! The one-factor Hull–White generator with the exact discrete fit of
//! MODEL.md §C.2, and the static path of §C.3.
//!
//! [`HullWhiteModel`] holds the parameters and their monthly constants.
//! [`PathGenerator`] adds what depends on the curve and the horizon — the drift
//! `φ_t` and the deterministic part of the mortgage rate — computed once and
//! shared by every path; its [`fill_path`](PathGenerator::fill_path) turns one
//! path's normals into that path's `r`, `m` and `D` without allocating, so a
//! path is the same whether generated alone or in a parallel batch.
//!
//! The mortgage spread `s_m` is an explicit input: it comes from the **base**
//! curve and is reused unchanged by shocked curves (§C.4).

use msr_core::config::HullWhite;
use ndarray::Array2;
use rayon::prelude::*;

use crate::{Normals, PathSet, RateError, ZeroCurve};

/// The month length `Δ = 1/12` in years (MODEL.md §A).
pub const DT: f64 = 1.0 / 12.0;

/// Time `τ_t = t/12` in years at the end of month `t`.
fn tau(t: usize) -> f64 {
    t as f64 / 12.0
}

/// Hull–White parameters `a`, `σ` and the monthly constants derived from them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HullWhiteModel {
    a: f64,
    sigma: f64,
    /// `ρ = e^{−aΔ}`.
    rho: f64,
    /// `s_x = σ·sqrt((1−ρ²)/(2a))`, or `σ·sqrt(Δ)` when `a = 0`.
    s_x: f64,
    /// `B10 = (1 − e^{−10a})/a`, or 10 when `a = 0`.
    b10: f64,
}

impl HullWhiteModel {
    /// The model with mean reversion `a` and normal volatility `sigma`.
    ///
    /// # Errors
    /// [`RateError::Parameter`] if either is negative or not finite.
    pub fn new(a: f64, sigma: f64) -> Result<HullWhiteModel, RateError> {
        for (name, value) in [("hull_white.a", a), ("hull_white.sigma", sigma)] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(RateError::Parameter {
                    name,
                    value,
                    rule: "must be finite and ≥ 0",
                });
            }
        }
        // expm1 keeps the ratios accurate for small a; a = 0 takes the limits.
        let (s_x, b10) = if a == 0.0 {
            (sigma * DT.sqrt(), 10.0)
        } else {
            (
                sigma * (-(-2.0 * a * DT).exp_m1() / (2.0 * a)).sqrt(),
                -(-10.0 * a).exp_m1() / a,
            )
        };
        Ok(HullWhiteModel {
            a,
            sigma,
            rho: (-a * DT).exp(),
            s_x,
            b10,
        })
    }

    /// The model of a configuration's `[hull_white]` table.
    ///
    /// # Errors
    /// As [`HullWhiteModel::new`].
    pub fn from_config(config: &HullWhite) -> Result<HullWhiteModel, RateError> {
        HullWhiteModel::new(config.a, config.sigma)
    }

    /// Mean reversion `a`.
    pub fn a(&self) -> f64 {
        self.a
    }

    /// Normal volatility `σ`.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// Monthly persistence of the factor, `ρ = e^{−aΔ}`.
    pub fn rho(&self) -> f64 {
        self.rho
    }

    /// Standard deviation of the factor's monthly innovation, `s_x`.
    pub fn s_x(&self) -> f64 {
        self.s_x
    }

    /// `B10 = (1 − e^{−10a})/a` (10 when `a = 0`): the 10-year zero yield moves
    /// by `(B10/10)·x` when the factor is `x`.
    pub fn b10(&self) -> f64 {
        self.b10
    }

    /// The factor path for the given normals: `x[t-1] = x_{t−1}`, the factor in
    /// force over month `t` (so `x[0] = x_0 = 0`), for `t = 1..=x.len()`.
    ///
    /// # Panics
    /// If `eps` is shorter than `x`.
    pub fn fill_factor(&self, eps: &[f64], x: &mut [f64]) {
        assert!(
            eps.len() >= x.len(),
            "{} normals for {} months",
            eps.len(),
            x.len()
        );
        let mut state = 0.0;
        for (x, &e) in x.iter_mut().zip(eps) {
            *x = state;
            state = self.rho * state + self.s_x * e;
        }
    }

    /// `V_t − V_{t−1}` for `t = 1..=months` (element `t−1`), where
    /// `V_t = Δ²·s_x²·Σ_{k=1}^{t−1} g_k²`, `g_k = (1−ρ^k)/(1−ρ)` (`k` when
    /// `a = 0`): the increment is `Δ²·s_x²·g_{t−1}²`, and 0 for `t = 1`.
    fn variance_increments(&self, months: usize) -> Vec<f64> {
        let scale = DT * DT * self.s_x * self.s_x;
        let g = |k: usize| {
            if self.a == 0.0 {
                k as f64
            } else {
                (-self.a * DT * k as f64).exp_m1() / (-self.a * DT).exp_m1()
            }
        };
        (1..=months).map(|t| scale * g(t - 1).powi(2)).collect()
    }
}

/// Everything about a path set that does not depend on the path: the model's
/// constants, the exact-fit drift `φ_t` and the deterministic part of the
/// mortgage rate `s_m + y10(τ_{t−1})`, for months `1..=T`.
#[derive(Debug, Clone, PartialEq)]
pub struct PathGenerator {
    rho: f64,
    s_x: f64,
    /// `B10/10`.
    b10_over_10: f64,
    /// `φ_t` at element `t−1`.
    phi: Vec<f64>,
    /// `s_m + y10(τ_{t−1})` at element `t−1`.
    mortgage_base: Vec<f64>,
}

impl PathGenerator {
    /// Precompute the drift and mortgage-rate base for `months` months of
    /// `curve` under `model`, with mortgage spread `s_m` (from the base curve).
    pub fn new(
        curve: &ZeroCurve,
        model: &HullWhiteModel,
        s_m: f64,
        months: usize,
    ) -> PathGenerator {
        let dv = model.variance_increments(months);
        let ln_p: Vec<f64> = (0..=months).map(|t| curve.ln_discount(tau(t))).collect();
        let phi = (1..=months)
            .map(|t| (ln_p[t - 1] - ln_p[t] + dv[t - 1] / 2.0) / DT)
            .collect();
        PathGenerator {
            rho: model.rho,
            s_x: model.s_x,
            b10_over_10: model.b10 / 10.0,
            phi,
            mortgage_base: mortgage_base(curve, s_m, months),
        }
    }

    /// Number of months `T`.
    pub fn months(&self) -> usize {
        self.phi.len()
    }

    /// The exact-fit drift: `φ_t` at element `t−1`.
    pub fn phi(&self) -> &[f64] {
        &self.phi
    }

    /// One path from its normals: for `t = 1..=T`,
    /// `r_t = x_{t−1} + φ_t`, `m_t = s_m + y10(τ_{t−1}) + (B10/10)·x_{t−1}`,
    /// `D_t = exp(−Δ·Σ_{j≤t} r_j)`, then `x_t = ρ·x_{t−1} + s_x·ε_t`.
    /// Writes element `t−1` of each output.
    ///
    /// # Panics
    /// If `eps` is shorter than [`months`](PathGenerator::months) or an output
    /// slice's length differs from it.
    pub fn fill_path(
        &self,
        eps: &[f64],
        short_rate: &mut [f64],
        mortgage_rate: &mut [f64],
        discount: &mut [f64],
    ) {
        let months = self.months();
        assert!(
            eps.len() >= months,
            "{} normals for {months} months",
            eps.len()
        );
        assert!(
            short_rate.len() == months && mortgage_rate.len() == months && discount.len() == months,
            "output slices must hold {months} months"
        );
        let inputs = self.phi.iter().zip(&self.mortgage_base).zip(eps);
        let outputs = short_rate
            .iter_mut()
            .zip(mortgage_rate.iter_mut())
            .zip(discount.iter_mut());
        let mut x = 0.0;
        let mut sum_r = 0.0;
        for (((&phi, &m_base), &e), ((r, m), d)) in inputs.zip(outputs) {
            *r = x + phi;
            *m = m_base + self.b10_over_10 * x;
            sum_r += *r;
            *d = -DT * sum_r;
            x = self.rho * x + self.s_x * e;
        }
        // A separate pass keeps the `exp` calls off the recursion's critical path.
        discount.iter_mut().for_each(|d| *d = d.exp());
    }

    /// The paths of every row of `normals`, generated in parallel; row `i` of
    /// the result is row `i` of `normals`, identical to
    /// [`fill_path`](PathGenerator::fill_path) on it whatever the thread count.
    ///
    /// # Panics
    /// If `normals` has fewer months than the generator, or no months at all.
    pub fn paths(&self, normals: &Normals) -> PathSet {
        let (num_paths, months) = (normals.num_paths(), self.months());
        assert!(months > 0, "a path set needs at least one month");
        assert!(
            normals.months() >= months,
            "{} months of normals for {months} months",
            normals.months()
        );
        let mut short_rate = vec![0.0; num_paths * months];
        let mut mortgage_rate = vec![0.0; num_paths * months];
        let mut discount = vec![0.0; num_paths * months];
        short_rate
            .par_chunks_mut(months)
            .zip(mortgage_rate.par_chunks_mut(months))
            .zip(discount.par_chunks_mut(months))
            .zip(normals.as_slice().par_chunks(normals.months()))
            .for_each(|(((r, m), d), eps)| self.fill_path(eps, r, m, d));
        path_set(num_paths, months, short_rate, mortgage_rate, discount)
    }
}

/// `s_m + y10(τ_{t−1})` for `t = 1..=months`.
fn mortgage_base(curve: &ZeroCurve, s_m: f64, months: usize) -> Vec<f64> {
    (1..=months).map(|t| s_m + curve.y10(tau(t - 1))).collect()
}

fn path_set(
    num_paths: usize,
    months: usize,
    short_rate: Vec<f64>,
    mortgage_rate: Vec<f64>,
    discount: Vec<f64>,
) -> PathSet {
    let array =
        |v| Array2::from_shape_vec((num_paths, months), v).expect("length is paths × months");
    PathSet {
        short_rate: array(short_rate),
        mortgage_rate: array(mortgage_rate),
        discount: array(discount),
    }
}

/// Hull–White paths for every row of `normals` over `months` months of
/// `curve`, with mortgage spread `s_m` from the base curve (MODEL.md §C.2).
/// Shorthand for [`PathGenerator::new`] then [`PathGenerator::paths`].
///
/// # Panics
/// If `months` is 0 or more than `normals` holds.
pub fn hull_white_paths(
    curve: &ZeroCurve,
    model: &HullWhiteModel,
    s_m: f64,
    normals: &Normals,
    months: usize,
) -> PathSet {
    PathGenerator::new(curve, model, s_m, months).paths(normals)
}

/// The static path (MODEL.md §C.3), one path of `months` months: `r_t` the
/// curve's monthly forwards `(ln P(0,τ_{t−1}) − ln P(0,τ_t))/Δ`,
/// `m_t = s_m + y10(τ_{t−1})` and `D_t = P(0,τ_t)` taken from the curve
/// directly. The generator with `σ = 0` gives the same up to rounding.
///
/// # Panics
/// If `months` is 0.
pub fn static_path(curve: &ZeroCurve, s_m: f64, months: usize) -> PathSet {
    assert!(months > 0, "a path set needs at least one month");
    let ln_p: Vec<f64> = (0..=months).map(|t| curve.ln_discount(tau(t))).collect();
    let short_rate = ln_p.windows(2).map(|w| (w[0] - w[1]) / DT).collect();
    let discount = ln_p[1..].iter().map(|l| l.exp()).collect();
    path_set(
        1,
        months,
        short_rate,
        mortgage_base(curve, s_m, months),
        discount,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_and_their_zero_reversion_limits() {
        let hw = HullWhiteModel::new(0.03, 0.009).unwrap();
        let rho = (-0.03f64 / 12.0).exp();
        assert!((hw.rho() - rho).abs() < 1e-16);
        let s_x = 0.009 * ((1.0 - rho * rho) / 0.06).sqrt();
        // The literal 1 − ρ² loses digits to cancellation; expm1 does not.
        assert!((hw.s_x() - s_x).abs() < 1e-13 * s_x);
        let b10 = (1.0 - (-0.3f64).exp()) / 0.03;
        assert!((hw.b10() - b10).abs() < 1e-14 * b10);

        let flat = HullWhiteModel::new(0.0, 0.009).unwrap();
        assert_eq!(flat.rho(), 1.0);
        assert_eq!(flat.s_x(), 0.009 * DT.sqrt());
        assert_eq!(flat.b10(), 10.0);
        // a → 0 is continuous.
        let tiny = HullWhiteModel::new(1e-12, 0.009).unwrap();
        assert!((tiny.s_x() - flat.s_x()).abs() < 1e-15);
        assert!((tiny.b10() - 10.0).abs() < 1e-9);
        let (dv_tiny, dv_flat) = (tiny.variance_increments(480), flat.variance_increments(480));
        for (a, b) in dv_tiny.iter().zip(&dv_flat) {
            assert!((a - b).abs() <= 1e-9 * b, "{a} vs {b}");
        }
    }

    #[test]
    fn variance_increments_follow_the_sum() {
        let hw = HullWhiteModel::new(0.03, 0.009).unwrap();
        let dv = hw.variance_increments(5);
        assert_eq!(dv[0], 0.0);
        // V_t by the spec's sum, with ρ^k taken literally.
        let v = |t: usize| -> f64 {
            let rho = hw.rho();
            let sum: f64 = (1..t)
                .map(|k| ((1.0 - rho.powi(k as i32)) / (1.0 - rho)).powi(2))
                .sum();
            DT * DT * hw.s_x() * hw.s_x() * sum
        };
        for t in 2..=5 {
            let expected = v(t) - v(t - 1);
            assert!((dv[t - 1] - expected).abs() < 1e-12 * expected, "t = {t}");
        }
    }

    #[test]
    fn bad_parameters_are_rejected() {
        for (a, sigma, name) in [
            (-0.01, 0.009, "hull_white.a"),
            (f64::NAN, 0.009, "hull_white.a"),
            (0.03, -0.001, "hull_white.sigma"),
            (0.03, f64::INFINITY, "hull_white.sigma"),
        ] {
            match HullWhiteModel::new(a, sigma) {
                Err(RateError::Parameter { name: got, .. }) => assert_eq!(got, name),
                other => panic!("a = {a}, σ = {sigma}: {other:?}"),
            }
        }
    }
}
