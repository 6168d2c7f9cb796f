//! Calibration of the Hull–White parameters to at-the-money swaption normal
//! volatilities (issue #24; conventions and formulas in
//! docs/calibration-market.md).
//!
//! Conventions, which decide the numbers:
//! * one curve, the configuration's [`ZeroCurve`] as MODEL.md §C.1
//!   interpolates it, for both discounting and forwarding;
//! * the swap underlying a quote `(T0, n)` starts at the expiry `T0`, pays fixed
//!   annually at `T_i = T0 + i`, `i = 1..n`, with year fractions exactly 1; the
//!   floating leg is worth `P(T0) − P(Tn)`; the annuity is `A = Σ P(T_i)` and the
//!   strike is the forward par rate `K = (P(T0) − P(Tn))/A`;
//! * the market price of the payer swaption is Bachelier's at the money,
//!   `A·σ_N·sqrt(T0/(2π))`, and a model's implied normal volatility is its
//!   price divided by `A·sqrt(T0/(2π))`.
//!
//! The model price is Jamshidian's: the payer swaption is a put with strike 1
//! on the coupon bond paying `c_i = K` at `T_i` (`1 + K` at `Tn`). In a
//! Gaussian one-factor model every zero bond `P(T0,T_i)` is, under the
//! `T0`-forward measure, lognormal with mean `F_i = P(0,T_i)/P(0,T0)` and log
//! volatility `s_i`, all driven by one standard normal `z`:
//! `P(T0,T_i) = F_i·exp(−s_i²/2 − s_i·z)`. With `z*` the root of
//! `Σ c_i·P(T0,T_i; z) = 1` and strikes `X_i = P(T0,T_i; z*)`,
//!
//! ```text
//! payer = Σ c_i·ZBP_i = P(0,T0)·N(−z*) − Σ c_i·P(0,T_i)·N(−z* − s_i)
//! ZBP_i = P(0,T0)·X_i·N(−z*) − P(0,T_i)·N(−z* − s_i)
//! ```
//!
//! which is the textbook Hull–White zero-bond put (`h = z* + s_i`). For the
//! continuous-time model `s_i = σ·sqrt((1 − e^{−2aT0})/(2a))·B(T0,T_i)`,
//! `B(t,T) = (1 − e^{−a(T−t)})/a`. The instantaneous forward `f(0,T0)` of the
//! textbook bond formula `P = A(T0,T)·e^{−B·r}` only converts between the
//! short rate `r*` and the strikes `X_i`; the strikes, and so the price, are
//! the same whichever state variable is solved for. Solving in `z` never takes
//! `f(0,T0)`, which on this curve (flat forwards) jumps at the knots, where
//! expiries usually fall. (A test prices through `r*` with either one-sided
//! forward and gets the same price.)
//!
//! The engine's monthly paths (§C.2) are the same model sampled monthly with
//! the short rate held flat over each month: the factor `x` at month ends has
//! the continuous model's law exactly, but a bond from `T0` to `T_i` loads on
//! it through the left-point sum `B_Δ = Δ·(1 − ρ^N)/(1 − ρ)` (`N` months)
//! instead of `B(T0,T_i)`. [`AtmSwap::monthly_payer_price`] prices that model
//! exactly; the difference from [`AtmSwap::payer_price`] is the discretisation
//! gap documented in docs/calibration-market.md.
//!
//! The fit ([`calibrate_hull_white`]) is least squares on the volatility errors
//! in bp, equal weights, over `(ln a, ln σ)` (so both stay positive), by
//! Levenberg–Marquardt with the analytic Jacobian.

use crate::{HullWhiteModel, RateError, ZeroCurve, DT};

/// One at-the-money swaption quote.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SwaptionQuote {
    /// Option expiry `T0` in years (> 0).
    pub expiry_years: f64,
    /// Tenor of the underlying swap in whole years (≥ 1).
    pub tenor_years: u32,
    /// At-the-money normal (Bachelier) volatility in basis points (> 0).
    pub normal_vol_bp: f64,
}

impl SwaptionQuote {
    /// A quote, checked: expiry and volatility finite and > 0, tenor a whole
    /// number of years ≥ 1 (the fixed leg pays annually with year fractions 1).
    ///
    /// # Errors
    /// [`RateError::Quote`] naming the rule broken.
    pub fn new(
        expiry_years: f64,
        tenor_years: f64,
        normal_vol_bp: f64,
    ) -> Result<SwaptionQuote, RateError> {
        let rule = if !(expiry_years.is_finite() && expiry_years > 0.0) {
            Some("expiry_years must be finite and > 0")
        } else if !(tenor_years.is_finite() && tenor_years > 0.0) {
            Some("tenor_years must be finite and > 0")
        } else if tenor_years.fract() != 0.0 || tenor_years > 100.0 {
            Some("tenor_years must be a whole number of years (annual fixed leg), at most 100")
        } else if !(normal_vol_bp.is_finite() && normal_vol_bp > 0.0) {
            Some("normal_vol_bp must be finite and > 0")
        } else {
            None
        };
        match rule {
            Some(rule) => Err(RateError::Quote {
                expiry: expiry_years,
                tenor: tenor_years,
                rule: rule.to_string(),
            }),
            None => Ok(SwaptionQuote {
                expiry_years,
                tenor_years: tenor_years as u32,
                normal_vol_bp,
            }),
        }
    }
}

/// The standard normal density.
fn norm_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// The standard normal distribution function, `erfc(−x/√2)/2` (libm's erfc,
/// accurate to a few ulps in both tails).
pub fn norm_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// `B(a, τ) = (1 − e^{−aτ})/a` (τ when `a = 0`) and its derivative in `a`,
/// `(τ·e^{−aτ} − B)/a`; a series where `aτ` is small, so neither cancels.
fn b_and_da(a: f64, tau: f64) -> (f64, f64) {
    let x = a * tau;
    if x.abs() < 1e-3 {
        let b = tau * (1.0 - x / 2.0 + x * x / 6.0 - x * x * x / 24.0 + x.powi(4) / 120.0);
        let db = tau * tau * (-0.5 + x / 3.0 - x * x / 8.0 + x * x * x / 30.0 - x.powi(4) / 144.0);
        (b, db)
    } else {
        let b = -(-x).exp_m1() / a;
        (b, (tau * (-x).exp() - b) / a)
    }
}

/// The swap underlying an at-the-money swaption, on a curve.
#[derive(Debug, Clone, PartialEq)]
pub struct AtmSwap {
    /// Expiry `T0` (years).
    pub expiry: f64,
    /// Tenor `n` (whole years).
    pub tenor: u32,
    /// `P(0,T0)`.
    pub p_expiry: f64,
    /// `P(0,T_i)`, `T_i = T0 + i`, at element `i − 1`.
    pub p_pay: Vec<f64>,
    /// Annuity `A = Σ P(0,T_i)`.
    pub annuity: f64,
    /// Forward par rate `K = (P(0,T0) − P(0,Tn))/A`.
    pub strike: f64,
}

/// A Gaussian one-factor price with its sensitivities to the bond vols.
struct GaussianPrice {
    price: f64,
    /// `∂price/∂s_i = c_i·P(0,T_i)·φ(z* + s_i)`.
    vega: Vec<f64>,
}

impl AtmSwap {
    /// The swap of a quote with expiry `expiry` and tenor `tenor` years.
    pub fn new(curve: &ZeroCurve, expiry: f64, tenor: u32) -> AtmSwap {
        let p_expiry = curve.discount(expiry);
        let p_pay: Vec<f64> = (1..=tenor)
            .map(|i| curve.discount(expiry + f64::from(i)))
            .collect();
        let annuity: f64 = p_pay.iter().sum();
        let p_last = p_pay.last().copied().unwrap_or(p_expiry);
        AtmSwap {
            expiry,
            tenor,
            p_expiry,
            strike: (p_expiry - p_last) / annuity,
            p_pay,
            annuity,
        }
    }

    /// The coupon `c_i` paid at `T_i` (element `i − 1`): `K`, and `1 + K` at `Tn`.
    pub fn coupon(&self, i: usize) -> f64 {
        if i + 1 == self.p_pay.len() {
            1.0 + self.strike
        } else {
            self.strike
        }
    }

    /// `A·sqrt(T0/(2π))`: the at-the-money Bachelier price per unit of normal
    /// volatility (decimal).
    pub fn bachelier_scale(&self) -> f64 {
        self.annuity * (self.expiry / (2.0 * std::f64::consts::PI)).sqrt()
    }

    /// The market price of the payer swaption at normal volatility `vol_bp`.
    pub fn bachelier_price(&self, vol_bp: f64) -> f64 {
        self.bachelier_scale() * vol_bp * 1e-4
    }

    /// The normal volatility in bp implied by a payer swaption price.
    pub fn implied_vol_bp(&self, price: f64) -> f64 {
        1e4 * price / self.bachelier_scale()
    }

    /// The Hull–White (continuous time, curve fitted exactly) price of the
    /// payer swaption by Jamshidian's decomposition.
    pub fn payer_price(&self, a: f64, sigma: f64) -> f64 {
        self.gaussian(&self.hw_bond_vols(a, sigma).0).price
    }

    /// The Hull–White model's implied normal volatility in bp.
    pub fn model_vol_bp(&self, a: f64, sigma: f64) -> f64 {
        self.implied_vol_bp(self.payer_price(a, sigma))
    }

    /// The payer swaption's price in the engine's monthly model (MODEL.md
    /// §C.2: the short rate flat over each month), exactly: the same
    /// decomposition with the bond loadings `B_Δ = Δ·(1 − ρ^N)/(1 − ρ)`.
    ///
    /// # Panics
    /// If the expiry is not a whole number of months.
    pub fn monthly_payer_price(&self, hw: &HullWhiteModel) -> f64 {
        let m = self.expiry * 12.0;
        assert!(
            (m - m.round()).abs() < 1e-9,
            "expiry {} is not a whole number of months",
            self.expiry
        );
        let m = m.round();
        let a = hw.a();
        // Var x_m = s_x²·Σ_{k<m} ρ^{2k}.
        let var_x = if a == 0.0 {
            hw.s_x().powi(2) * m
        } else {
            hw.s_x().powi(2) * (-2.0 * a * DT * m).exp_m1() / (-2.0 * a * DT).exp_m1()
        };
        let vols: Vec<f64> = (1..=self.tenor)
            .map(|i| {
                let n = 12.0 * f64::from(i);
                let b = if a == 0.0 {
                    DT * n
                } else {
                    DT * (-a * DT * n).exp_m1() / (-a * DT).exp_m1()
                };
                b * var_x.sqrt()
            })
            .collect();
        self.gaussian(&vols).price
    }

    /// The bond vols `s_i` of the continuous model and their derivatives in `a`.
    fn hw_bond_vols(&self, a: f64, sigma: f64) -> (Vec<f64>, Vec<f64>) {
        // v = (1 − e^{−2aT0})/(2a) = B(2a, T0); dv/da = 2·B_a(2a, T0).
        let (v, dv_half) = b_and_da(2.0 * a, self.expiry);
        let dv = 2.0 * dv_half;
        let sd = v.sqrt();
        (1..=self.tenor)
            .map(|i| {
                let (b, db) = b_and_da(a, f64::from(i));
                let s = sigma * sd * b;
                // ds/da = s·(v′/(2v) + B′/B).
                (s, s * (dv / (2.0 * v) + db / b))
            })
            .unzip()
    }

    /// Jamshidian's decomposition for lognormal forward bond prices with log
    /// vols `vols` (see the module doc).
    fn gaussian(&self, vols: &[f64]) -> GaussianPrice {
        let z = self.critical_z(vols);
        let mut price = self.p_expiry * norm_cdf(-z);
        let mut vega = Vec::with_capacity(vols.len());
        for (i, (&s, &p)) in vols.iter().zip(&self.p_pay).enumerate() {
            let c = self.coupon(i);
            price -= c * p * norm_cdf(-z - s);
            vega.push(c * p * norm_pdf(z + s));
        }
        GaussianPrice {
            price: price.max(0.0),
            vega,
        }
    }

    /// `z*`: the root of `g(z) = Σ c_i·F_i·e^{−s_i²/2 − s_i·z} − 1`, decreasing
    /// and convex in `z`, so Newton from any point left of the root climbs to
    /// it monotonically; from `z = 0` (where `g ≤ 0` at the money) the first
    /// step lands left of it. Bisection guards the steps all the same.
    fn critical_z(&self, vols: &[f64]) -> f64 {
        if vols.iter().all(|&s| s == 0.0) {
            return 0.0;
        }
        let g = |z: f64| {
            let mut value = -1.0;
            let mut slope = 0.0;
            for (i, (&s, &p)) in vols.iter().zip(&self.p_pay).enumerate() {
                let term = self.coupon(i) * p / self.p_expiry * (-0.5 * s * s - s * z).exp();
                value += term;
                slope -= s * term;
            }
            (value, slope)
        };
        // Bracket [lo, hi] with g(lo) ≥ 0 ≥ g(hi).
        let (mut lo, mut hi) = (-1.0, 1.0);
        while g(lo).0 < 0.0 {
            lo *= 2.0;
        }
        while g(hi).0 > 0.0 {
            hi *= 2.0;
        }
        let mut z = 0.0_f64.clamp(lo, hi);
        for _ in 0..200 {
            let (value, slope) = g(z);
            if value == 0.0 {
                return z;
            }
            if value > 0.0 {
                lo = z;
            } else {
                hi = z;
            }
            let newton = z - value / slope;
            let next = if newton > lo && newton < hi && slope < 0.0 {
                newton
            } else {
                0.5 * (lo + hi)
            };
            if (next - z).abs() <= 1e-15 * (1.0 + z.abs()) {
                return next;
            }
            z = next;
        }
        z
    }

    /// The model vol (bp) and its derivatives in `ln a` and `ln σ`.
    fn vol_and_gradient(&self, a: f64, sigma: f64) -> (f64, [f64; 2]) {
        let (vols, dvols_da) = self.hw_bond_vols(a, sigma);
        let g = self.gaussian(&vols);
        let scale = 1e4 / self.bachelier_scale();
        let (mut d_ln_a, mut d_ln_sigma) = (0.0, 0.0);
        for ((&vega, &s), &ds_da) in g.vega.iter().zip(&vols).zip(&dvols_da) {
            d_ln_a += vega * ds_da * a;
            d_ln_sigma += vega * s;
        }
        (g.price * scale, [d_ln_a * scale, d_ln_sigma * scale])
    }
}

/// What [`calibrate_hull_white`] fits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FitParams {
    /// Both `a` and `σ`.
    Both,
    /// `σ` alone, with `a` held at this value (≥ 0).
    FixedA(f64),
}

/// The result of a swaption calibration.
#[derive(Debug, Clone, PartialEq)]
pub struct SwaptionFit {
    /// Mean reversion `a`.
    pub a: f64,
    /// Normal volatility `σ`.
    pub sigma: f64,
    /// Root mean square of the volatility errors, bp.
    pub rmse_bp: f64,
    /// Model implied normal volatility (bp) of each quote, in quote order.
    pub model_bp: Vec<f64>,
    /// Gradient of the objective `½·Σ (model − market)²` (bp²) in
    /// `(ln a, ln σ)` at the solution (the `ln a` entry is 0 with a fixed `a`).
    pub gradient: [f64; 2],
    /// `max |gradient| / (‖r‖·max_k ‖J_k‖)`: the cosine between the residual
    /// vector and the Jacobian's columns, 0 at a least-squares optimum.
    pub relative_gradient: f64,
    /// Levenberg–Marquardt iterations.
    pub iterations: usize,
}

/// The objective is flat along `a` on most grids, so convergence is decided on
/// the gradient: stop when the residual is (numerically) orthogonal to the
/// Jacobian's columns, to this cosine.
pub const FIT_GRADIENT_TOL: f64 = 1e-10;
/// A residual vector this small (bp, root sum of squares) is an exact fit.
const EXACT_FIT_BP: f64 = 1e-11;
/// Iteration cap of the fit.
const MAX_FIT_ITER: usize = 500;

/// Residuals (model − market, bp) and Jacobian rows in `(ln a, ln σ)`.
fn residuals(
    swaps: &[AtmSwap],
    quotes: &[SwaptionQuote],
    a: f64,
    sigma: f64,
) -> Vec<(f64, [f64; 2])> {
    swaps
        .iter()
        .zip(quotes)
        .map(|(swap, q)| {
            let (vol, jac) = swap.vol_and_gradient(a, sigma);
            (vol - q.normal_vol_bp, jac)
        })
        .collect()
}

/// Check quotes against a curve: no duplicate `(expiry, tenor)`, and every
/// swap's last payment `T0 + n` at or before the curve's last knot (beyond it
/// the curve is an extrapolation, not market data).
///
/// # Errors
/// [`RateError::Quote`] naming the quote and the rule.
pub fn check_quotes(curve: &ZeroCurve, quotes: &[SwaptionQuote]) -> Result<(), RateError> {
    let last = *curve.tenors().last().expect("a curve has knots");
    for (k, q) in quotes.iter().enumerate() {
        let end = q.expiry_years + f64::from(q.tenor_years);
        if end > last + 1e-12 {
            return Err(RateError::Quote {
                expiry: q.expiry_years,
                tenor: f64::from(q.tenor_years),
                rule: format!(
                    "expiry + tenor = {end} years is past the curve's last knot ({last} years)"
                ),
            });
        }
        if quotes[..k]
            .iter()
            .any(|p| p.expiry_years == q.expiry_years && p.tenor_years == q.tenor_years)
        {
            return Err(RateError::Quote {
                expiry: q.expiry_years,
                tenor: f64::from(q.tenor_years),
                rule: "duplicate quote (the same expiry and tenor appear twice)".to_string(),
            });
        }
    }
    Ok(())
}

/// Fit the Hull–White `(a, σ)` (or `σ` alone) to at-the-money normal vols by
/// least squares on the vol errors in bp, all quotes weighted equally.
///
/// Levenberg–Marquardt on `(ln a, ln σ)` with the analytic Jacobian: two
/// parameters need no linear-algebra crate (argmin's Gauss–Newton wants a
/// matrix inverse from ndarray-linalg/LAPACK or nalgebra, and has no damping
/// for the flat `a` direction), and the 2×2 normal equations are solved in
/// closed form. Stops when the relative gradient is below
/// [`FIT_GRADIENT_TOL`], the fit is exact, or no damped step lowers the
/// objective (then the gradient is at its rounding floor, reported as is).
///
/// # Errors
/// [`RateError::Quote`] from [`check_quotes`]; [`RateError::TooFewQuotes`]
/// with fewer quotes than parameters; [`RateError::Parameter`] for a fixed
/// `a` that is negative or not finite; [`RateError::Calibration`] when the
/// fit does not converge.
pub fn calibrate_hull_white(
    curve: &ZeroCurve,
    quotes: &[SwaptionQuote],
    params: FitParams,
) -> Result<SwaptionFit, RateError> {
    check_quotes(curve, quotes)?;
    let free = match params {
        FitParams::Both => 2,
        FitParams::FixedA(a) => {
            if !(a.is_finite() && a >= 0.0) {
                return Err(RateError::Parameter {
                    name: "hull_white.a",
                    value: a,
                    rule: "a fixed mean reversion must be finite and ≥ 0",
                });
            }
            1
        }
    };
    if quotes.len() < free {
        return Err(RateError::TooFewQuotes {
            quotes: quotes.len(),
            params: free,
        });
    }
    let swaps: Vec<AtmSwap> = quotes
        .iter()
        .map(|q| AtmSwap::new(curve, q.expiry_years, q.tenor_years))
        .collect();
    // Start: a = 0.03 (or the fixed a), σ scaled so the mean vol matches
    // (model vols are nearly proportional to σ).
    let a0 = match params {
        FitParams::Both => 0.03,
        FitParams::FixedA(a) => a,
    };
    let unit: f64 = swaps.iter().map(|s| s.model_vol_bp(a0, 0.01)).sum();
    let market: f64 = quotes.iter().map(|q| q.normal_vol_bp).sum();
    let sigma0 = 0.01 * market / unit;
    let mut theta = [a0.ln(), sigma0.ln()];
    let at = |theta: [f64; 2]| match params {
        FitParams::Both => (theta[0].exp(), theta[1].exp()),
        FitParams::FixedA(a) => (a, theta[1].exp()),
    };
    let mask = |mut j: [f64; 2]| {
        if free == 1 {
            j[0] = 0.0;
        }
        j
    };
    let objective = |rows: &[(f64, [f64; 2])]| 0.5 * rows.iter().map(|(r, _)| r * r).sum::<f64>();

    let (a, sigma) = at(theta);
    let mut rows = residuals(&swaps, quotes, a, sigma);
    let mut cost = objective(&rows);
    let mut lambda = 1e-3;
    let mut iterations = 0;
    loop {
        // Normal equations H = JᵀJ, g = Jᵀr.
        let mut h = [[0.0; 2]; 2];
        let mut g = [0.0; 2];
        for (r, j) in &rows {
            let j = mask(*j);
            for k in 0..2 {
                g[k] += j[k] * r;
                for l in 0..2 {
                    h[k][l] += j[k] * j[l];
                }
            }
        }
        let r_norm = (2.0 * cost).sqrt();
        let col = h[0][0].max(h[1][1]).sqrt();
        let rel = g[0].abs().max(g[1].abs()) / (r_norm * col).max(f64::MIN_POSITIVE);
        if r_norm <= EXACT_FIT_BP || rel <= FIT_GRADIENT_TOL || iterations >= MAX_FIT_ITER {
            if iterations >= MAX_FIT_ITER && rel > 1e-6 {
                return Err(RateError::Calibration(format!(
                    "no convergence in {MAX_FIT_ITER} iterations (relative gradient {rel:.2e})"
                )));
            }
            let (a, sigma) = at(theta);
            return Ok(finish(a, sigma, &swaps, &rows, g, rel, iterations));
        }
        // Damped steps until one lowers the objective.
        let mut improved = false;
        while lambda < 1e16 {
            let (h00, h11) = (h[0][0] * (1.0 + lambda), h[1][1] * (1.0 + lambda));
            let step = if free == 1 {
                [0.0, -g[1] / h11]
            } else {
                let det = h00 * h11 - h[0][1] * h[1][0];
                [
                    -(h11 * g[0] - h[0][1] * g[1]) / det,
                    -(h00 * g[1] - h[1][0] * g[0]) / det,
                ]
            };
            // Keep steps moderate in log space (a factor e at most).
            let longest = step[0].abs().max(step[1].abs());
            let step = if longest > 1.0 {
                [step[0] / longest, step[1] / longest]
            } else {
                step
            };
            let trial = [theta[0] + step[0], theta[1] + step[1]];
            let (a, sigma) = at(trial);
            let trial_rows = residuals(&swaps, quotes, a, sigma);
            let trial_cost = objective(&trial_rows);
            if trial_cost.is_finite() && trial_cost < cost {
                theta = trial;
                rows = trial_rows;
                cost = trial_cost;
                lambda = (lambda / 10.0).max(1e-12);
                improved = true;
                break;
            }
            lambda *= 10.0;
        }
        iterations += 1;
        if !improved {
            // No step lowers the objective: the gradient is at its rounding
            // floor. Accept if it is small, else report.
            if rel > 1e-6 {
                return Err(RateError::Calibration(format!(
                    "stalled after {iterations} iterations with relative gradient {rel:.2e}"
                )));
            }
            let (a, sigma) = at(theta);
            return Ok(finish(a, sigma, &swaps, &rows, g, rel, iterations));
        }
    }
}

fn finish(
    a: f64,
    sigma: f64,
    swaps: &[AtmSwap],
    rows: &[(f64, [f64; 2])],
    gradient: [f64; 2],
    relative_gradient: f64,
    iterations: usize,
) -> SwaptionFit {
    let n = rows.len() as f64;
    SwaptionFit {
        a,
        sigma,
        rmse_bp: (rows.iter().map(|(r, _)| r * r).sum::<f64>() / n).sqrt(),
        model_bp: swaps.iter().map(|s| s.model_vol_bp(a, sigma)).collect(),
        gradient,
        relative_gradient,
        iterations,
    }
}

#[cfg(test)]
mod tests {
    use msr_core::config::Curve;

    use super::*;

    fn curve() -> ZeroCurve {
        ZeroCurve::from_config(&Curve::default()).unwrap()
    }

    /// The analytic Jacobian against central differences of the model vol.
    #[test]
    fn jacobian_matches_finite_differences() {
        let curve = curve();
        for (expiry, tenor) in [(1.0, 1), (2.5, 5), (5.0, 10), (10.0, 20)] {
            let swap = AtmSwap::new(&curve, expiry, tenor);
            for (a, sigma) in [(0.03, 0.009), (0.2, 0.012), (1e-5, 0.008)] {
                let (vol, jac) = swap.vol_and_gradient(a, sigma);
                assert!((vol - swap.model_vol_bp(a, sigma)).abs() < 1e-12);
                let h: f64 = 1e-5;
                let fd_a = (swap.model_vol_bp(a * h.exp(), sigma)
                    - swap.model_vol_bp(a * (-h).exp(), sigma))
                    / (2.0 * h);
                let fd_s = (swap.model_vol_bp(a, sigma * h.exp())
                    - swap.model_vol_bp(a, sigma * (-h).exp()))
                    / (2.0 * h);
                assert!(
                    (jac[0] - fd_a).abs() <= 1e-6 * (1.0 + fd_a.abs()),
                    "{expiry}x{tenor} a={a}: d/dln a {} vs {fd_a}",
                    jac[0]
                );
                assert!(
                    (jac[1] - fd_s).abs() <= 1e-6 * fd_s.abs(),
                    "{expiry}x{tenor} a={a}: d/dln σ {} vs {fd_s}",
                    jac[1]
                );
            }
        }
    }

    /// The small-`aτ` series of `B` and `∂B/∂a` agrees with the closed form
    /// just inside its range, and is exact at `a = 0`.
    #[test]
    fn b_series_joins_the_closed_form() {
        let tau = 7.0;
        let a = 0.9e-3 / tau;
        let (b, db) = b_and_da(a, tau);
        let closed = -(-a * tau).exp_m1() / a;
        let closed_db = (tau * (-a * tau).exp() - closed) / a;
        assert!((b - closed).abs() < 1e-14 * tau, "{b} vs {closed}");
        assert!(
            (db - closed_db).abs() < 1e-9 * tau * tau,
            "{db} vs {closed_db}"
        );
        assert_eq!(b_and_da(0.0, tau), (tau, -tau * tau / 2.0));
    }
}
