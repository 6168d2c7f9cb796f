//! [`ZeroCurve`]: the initial zero curve (MODEL.md §C.1) and its risk shocks
//! (§C.4).
//!
//! `ln P(0,T)` is linear in `T` between `(0,0)` and the knots `(T_i, −z_i·T_i)`,
//! so instantaneous forwards are flat between knots; beyond the last knot the
//! last segment's forward continues. Shocks move only the knots' zero rates and
//! rebuild the curve, so a shocked curve interpolates exactly like the base.

use msr_core::config::Curve;

use crate::RateError;

/// Key-rate tenors `K_k` in years (MODEL.md §C.4).
pub const KEY_RATE_TENORS: [f64; 6] = [1.0, 2.0, 5.0, 10.0, 20.0, 30.0];

/// A continuously compounded zero curve given by knots `(T_i, z_i)`.
///
/// Built only through [`ZeroCurve::new`], which validates the knots; every
/// query after that is infallible.
#[derive(Debug, Clone, PartialEq)]
pub struct ZeroCurve {
    /// Knot tenors `T_i` in years, strictly increasing, > 0.
    tenors: Vec<f64>,
    /// Knot zero rates `z_i`.
    zero_rates: Vec<f64>,
    /// `ln P(0,T_i) = −z_i·T_i`.
    ln_p: Vec<f64>,
    /// The flat forward on the segment that ends at knot `i`:
    /// `(ln P_{i−1} − ln P_i)/(T_i − T_{i−1})`, with `(T_{−1}, ln P_{−1}) = (0, 0)`.
    forwards: Vec<f64>,
}

impl ZeroCurve {
    /// Build a curve from knot tenors (years) and zero rates.
    ///
    /// # Errors
    /// [`RateError::EmptyCurve`] without knots, [`RateError::CurveLength`] when
    /// the lists differ in length, [`RateError::CurveKnot`] for a non-finite
    /// value, a tenor ≤ 0 or a tenor not above its predecessor.
    pub fn new(tenors: Vec<f64>, zero_rates: Vec<f64>) -> Result<ZeroCurve, RateError> {
        if tenors.len() != zero_rates.len() {
            return Err(RateError::CurveLength {
                tenors: tenors.len(),
                zero_rates: zero_rates.len(),
            });
        }
        if tenors.is_empty() {
            return Err(RateError::EmptyCurve);
        }
        let mut previous = 0.0;
        for (index, (&tenor, &zero_rate)) in tenors.iter().zip(&zero_rates).enumerate() {
            let broken = if !tenor.is_finite() || !zero_rate.is_finite() {
                Some("tenor and zero rate must be finite")
            } else if tenor <= 0.0 {
                Some("tenor must be > 0")
            } else if tenor <= previous {
                Some("tenors must be strictly increasing")
            } else {
                None
            };
            if let Some(rule) = broken {
                return Err(RateError::CurveKnot {
                    index,
                    tenor,
                    zero_rate,
                    rule,
                });
            }
            previous = tenor;
        }
        Ok(ZeroCurve::from_valid_knots(tenors, zero_rates))
    }

    /// Build the curve of a configuration's `[curve]` table.
    ///
    /// # Errors
    /// As [`ZeroCurve::new`].
    pub fn from_config(curve: &Curve) -> Result<ZeroCurve, RateError> {
        ZeroCurve::new(curve.tenors.clone(), curve.zero_rates.clone())
    }

    /// Precompute the knot log-discounts and segment forwards of knots already
    /// known to be valid.
    fn from_valid_knots(tenors: Vec<f64>, zero_rates: Vec<f64>) -> ZeroCurve {
        let ln_p: Vec<f64> = tenors
            .iter()
            .zip(&zero_rates)
            .map(|(&t, &z)| -z * t)
            .collect();
        let forwards = (0..tenors.len())
            .map(|i| match i {
                0 => zero_rates[0],
                _ => (ln_p[i - 1] - ln_p[i]) / (tenors[i] - tenors[i - 1]),
            })
            .collect();
        ZeroCurve {
            tenors,
            zero_rates,
            ln_p,
            forwards,
        }
    }

    /// Knot tenors `T_i` in years.
    pub fn tenors(&self) -> &[f64] {
        &self.tenors
    }

    /// Knot zero rates `z_i`.
    pub fn zero_rates(&self) -> &[f64] {
        &self.zero_rates
    }

    /// `ln P(0,t)` for `t ≥ 0` years: linear in `t` through `(0,0)` and the
    /// knots, continuing the last segment's slope beyond the last knot.
    pub fn ln_discount(&self, t: f64) -> f64 {
        // The segment whose right end is knot `i`: the first knot at or past
        // `t`, or the last knot when `t` lies beyond it.
        let i = self
            .tenors
            .partition_point(|&k| k < t)
            .min(self.tenors.len() - 1);
        if i == 0 {
            // Exact at t = 0 and at the first knot.
            -self.zero_rates[0] * t
        } else {
            self.ln_p[i] + self.forwards[i] * (self.tenors[i] - t)
        }
    }

    /// Discount factor `P(0,t) = exp(ln P(0,t))`.
    pub fn discount(&self, t: f64) -> f64 {
        self.ln_discount(t).exp()
    }

    /// Continuously compounded zero rate `z(t) = −ln P(0,t)/t`; at `t = 0` its
    /// limit, the first knot's zero rate.
    pub fn zero_rate(&self, t: f64) -> f64 {
        if t > 0.0 {
            -self.ln_discount(t) / t
        } else {
            self.zero_rates[0]
        }
    }

    /// Forward 10-year zero yield seen from `tau`:
    /// `y10(τ) = (ln P(0,τ) − ln P(0,τ+10)) / 10`.
    pub fn y10(&self, tau: f64) -> f64 {
        (self.ln_discount(tau) - self.ln_discount(tau + 10.0)) / 10.0
    }

    /// The curve with every knot zero rate moved by `delta`.
    ///
    /// # Panics
    /// If `delta` is not finite.
    pub fn parallel_shift(&self, delta: f64) -> ZeroCurve {
        self.shifted(delta, |_| 1.0)
    }

    /// The curve with knot zero rates moved by `delta·w_k(T_i)`, the key-rate
    /// shock at [`KEY_RATE_TENORS`]`[k]` (see [`key_rate_weight`]).
    ///
    /// # Panics
    /// If `k ≥ 6` or `delta` is not finite.
    pub fn key_rate_shift(&self, k: usize, delta: f64) -> ZeroCurve {
        assert!(
            k < KEY_RATE_TENORS.len(),
            "key-rate index {k} out of range 0..6"
        );
        self.shifted(delta, |t| key_rate_weight(k, t))
    }

    fn shifted(&self, delta: f64, weight: impl Fn(f64) -> f64) -> ZeroCurve {
        assert!(delta.is_finite(), "curve shift must be finite, got {delta}");
        let zero_rates = self
            .tenors
            .iter()
            .zip(&self.zero_rates)
            .map(|(&t, &z)| z + delta * weight(t))
            .collect();
        ZeroCurve::from_valid_knots(self.tenors.clone(), zero_rates)
    }
}

/// Key-rate weight `w_k(t)` (MODEL.md §C.4): a tent that is 1 at `K_k`, falls
/// linearly to 0 at the neighbouring key tenors, and stays 1 below the first
/// key tenor (`k = 0`) and beyond the last (`k = 5`). The six weights sum to 1
/// at every tenor.
///
/// # Panics
/// If `k ≥ 6`.
pub fn key_rate_weight(k: usize, t: f64) -> f64 {
    let keys = &KEY_RATE_TENORS;
    let here = keys[k];
    if t <= here {
        match k.checked_sub(1) {
            None => 1.0,
            Some(prev) => ((t - keys[prev]) / (here - keys[prev])).max(0.0),
        }
    } else {
        match keys.get(k + 1) {
            None => 1.0,
            Some(&next) => ((next - t) / (next - here)).max(0.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use msr_core::tolerance::{close, IDENTITY_REL};

    use super::*;

    fn default_curve() -> ZeroCurve {
        ZeroCurve::from_config(&Curve::default()).unwrap()
    }

    /// `ln P(0,t)`, discount and zero rate all agree with a hand-computed `ln P`.
    #[track_caller]
    fn check(curve: &ZeroCurve, t: f64, ln_p: f64) {
        let got = curve.ln_discount(t);
        assert!(
            close(got, ln_p, IDENTITY_REL, 0.0),
            "ln P({t}) = {got}, expected {ln_p}"
        );
        assert!(
            close(curve.discount(t), ln_p.exp(), IDENTITY_REL, 0.0),
            "P({t})"
        );
        if t > 0.0 {
            assert!(
                close(curve.zero_rate(t), -ln_p / t, IDENTITY_REL, 0.0),
                "z({t})"
            );
        }
    }

    #[test]
    fn at_the_knots() {
        let curve = default_curve();
        let config = Curve::default();
        for (&t, &z) in config.tenors.iter().zip(&config.zero_rates) {
            check(&curve, t, -z * t);
            assert!(close(curve.zero_rate(t), z, IDENTITY_REL, 0.0), "z({t})");
        }
    }

    #[test]
    fn between_knots_ln_p_is_linear() {
        let curve = default_curve();
        // ln P(1) = −0.041, ln P(2) = −0.078: midpoint −0.0595.
        check(&curve, 1.5, -0.0595);
        // ln P(3) = −0.1155, ln P(5) = −0.195: a quarter of the way, −0.135375.
        check(&curve, 3.5, -0.135375);
        // ln P(10) = −0.415, ln P(20) = −0.89: midpoint −0.6525.
        check(&curve, 15.0, -0.6525);
        // One month: inside the first segment.
        check(&curve, 1.0 / 12.0, -0.043 / 12.0);
    }

    #[test]
    fn before_the_first_knot_the_first_zero_rate_holds() {
        let curve = default_curve();
        check(&curve, 0.1, -0.0043);
        assert_eq!(curve.ln_discount(0.0), 0.0);
        assert_eq!(curve.discount(0.0), 1.0);
        assert_eq!(curve.zero_rate(0.0), 0.043);
    }

    #[test]
    fn beyond_the_last_knot_the_last_slope_continues() {
        let curve = default_curve();
        // ln P(20) = −0.89, ln P(30) = −1.32: forward 0.043 continues.
        check(&curve, 35.0, -1.535);
        check(&curve, 40.0, -1.75);
        assert!(close(curve.zero_rate(40.0), 0.04375, IDENTITY_REL, 0.0));
    }

    #[test]
    fn y10_is_the_forward_ten_year_yield() {
        let curve = default_curve();
        assert!(close(curve.y10(0.0), 0.0415, IDENTITY_REL, 0.0));
        // (ln P(5) − ln P(15))/10 = (−0.195 + 0.6525)/10.
        assert!(close(curve.y10(5.0), 0.04575, IDENTITY_REL, 0.0));
        // (ln P(25) − ln P(35))/10 = (−1.105 + 1.535)/10: past the last knot.
        assert!(close(curve.y10(25.0), 0.043, IDENTITY_REL, 0.0));
    }

    #[test]
    fn a_single_knot_curve_is_flat() {
        let curve = ZeroCurve::new(vec![5.0], vec![0.03]).unwrap();
        check(&curve, 2.0, -0.06);
        check(&curve, 40.0, -1.2);
    }

    #[test]
    fn bad_knots_are_rejected_with_the_rule() {
        assert_eq!(ZeroCurve::new(vec![], vec![]), Err(RateError::EmptyCurve));
        assert_eq!(
            ZeroCurve::new(vec![1.0], vec![0.01, 0.02]),
            Err(RateError::CurveLength {
                tenors: 1,
                zero_rates: 2
            })
        );
        let knot = |tenors: Vec<f64>, zeros: Vec<f64>| match ZeroCurve::new(tenors, zeros) {
            Err(RateError::CurveKnot { index, rule, .. }) => (index, rule),
            other => panic!("expected a knot error, got {other:?}"),
        };
        assert_eq!(
            knot(vec![0.0, 1.0], vec![0.01, 0.02]),
            (0, "tenor must be > 0")
        );
        assert_eq!(
            knot(vec![1.0, 1.0], vec![0.01, 0.02]),
            (1, "tenors must be strictly increasing")
        );
        assert_eq!(
            knot(vec![2.0, 1.0], vec![0.01, 0.02]),
            (1, "tenors must be strictly increasing")
        );
        assert_eq!(
            knot(vec![1.0, 2.0], vec![0.01, f64::NAN]),
            (1, "tenor and zero rate must be finite")
        );
        assert_eq!(
            knot(vec![1.0, f64::INFINITY], vec![0.01, 0.02]),
            (1, "tenor and zero rate must be finite")
        );
    }

    #[test]
    fn parallel_shift_moves_every_knot_zero_by_delta() {
        let curve = default_curve();
        let delta = 0.0025;
        let shocked = curve.parallel_shift(delta);
        assert_eq!(shocked.tenors(), curve.tenors());
        for (&t, (&z0, &z1)) in curve
            .tenors()
            .iter()
            .zip(curve.zero_rates().iter().zip(shocked.zero_rates()))
        {
            assert!((z1 - z0 - delta).abs() < 1e-16, "T = {t}: {z0} -> {z1}");
            assert!((shocked.zero_rate(t) - curve.zero_rate(t) - delta).abs() < 1e-16);
        }
        // ln P is linear between the same knots, so the shift carries to every t.
        for t in [0.05, 1.5, 12.0, 35.0] {
            assert!(
                (shocked.zero_rate(t) - curve.zero_rate(t) - delta).abs() < 1e-15,
                "t = {t}"
            );
        }
    }

    #[test]
    fn key_rate_tents() {
        // Each weight is 1 at its own key and 0 at every other key.
        for (k, &key) in KEY_RATE_TENORS.iter().enumerate() {
            for j in 0..KEY_RATE_TENORS.len() {
                assert_eq!(
                    key_rate_weight(j, key),
                    if j == k { 1.0 } else { 0.0 },
                    "w_{j}({key})"
                );
            }
        }
        assert_eq!(key_rate_weight(0, 0.25), 1.0);
        assert_eq!(key_rate_weight(1, 0.25), 0.0);
        assert_eq!(key_rate_weight(5, 40.0), 1.0);
        assert_eq!(key_rate_weight(4, 40.0), 0.0);
        assert!(close(key_rate_weight(1, 3.0), 2.0 / 3.0, IDENTITY_REL, 0.0));
        assert!(close(key_rate_weight(2, 3.0), 1.0 / 3.0, IDENTITY_REL, 0.0));
        assert!(close(key_rate_weight(2, 7.0), 0.6, IDENTITY_REL, 0.0));
        assert!(close(key_rate_weight(3, 7.0), 0.4, IDENTITY_REL, 0.0));
        assert!(close(key_rate_weight(4, 25.0), 0.5, IDENTITY_REL, 0.0));
    }

    #[test]
    fn key_rate_weights_partition_unity() {
        let knots = Curve::default().tenors;
        let grid = (0..=480).map(|m| m as f64 / 12.0);
        for t in knots.into_iter().chain(grid) {
            let sum: f64 = (0..KEY_RATE_TENORS.len())
                .map(|k| key_rate_weight(k, t))
                .sum();
            assert!(
                (sum - 1.0).abs() <= 2.0 * f64::EPSILON,
                "Σ w_k({t}) = {sum}"
            );
        }
    }

    #[test]
    fn key_rate_shocks_add_up_to_the_parallel_shock() {
        let curve = default_curve();
        let delta = 0.0025;
        let parallel = curve.parallel_shift(delta);
        let mut total = vec![0.0; curve.tenors().len()];
        for k in 0..KEY_RATE_TENORS.len() {
            let shocked = curve.key_rate_shift(k, delta);
            assert_eq!(shocked.tenors(), curve.tenors());
            for (sum, (&z1, &z0)) in total
                .iter_mut()
                .zip(shocked.zero_rates().iter().zip(curve.zero_rates()))
            {
                *sum += z1 - z0;
            }
        }
        for ((&t, &sum), (&zp, &z0)) in curve
            .tenors()
            .iter()
            .zip(&total)
            .zip(parallel.zero_rates().iter().zip(curve.zero_rates()))
        {
            assert!(
                (sum - (zp - z0)).abs() < 1e-16,
                "T = {t}: Σ key-rate shifts {sum}"
            );
            assert!(
                (sum - delta).abs() < 1e-16,
                "T = {t}: Σ key-rate shifts {sum}"
            );
        }
        // The 3-year knot sits between keys 2 and 5: two thirds to K=2, one third to K=5.
        let z3 = |c: &ZeroCurve| c.zero_rates()[4];
        assert!(
            (z3(&curve.key_rate_shift(1, delta)) - z3(&curve) - delta * 2.0 / 3.0).abs() < 1e-16
        );
        assert!((z3(&curve.key_rate_shift(2, delta)) - z3(&curve) - delta / 3.0).abs() < 1e-16);
        assert_eq!(curve.key_rate_shift(0, delta).zero_rates()[4], z3(&curve));
    }

    #[test]
    #[should_panic(expected = "key-rate index 6")]
    fn key_rate_index_out_of_range_panics() {
        default_curve().key_rate_shift(6, 0.0025);
    }
}
