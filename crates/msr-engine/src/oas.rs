//! The option-adjusted spread (MODEL.md §F): the spread at which the portfolio
//! is worth a target, solved from the portfolio cash-flow matrix `CF[p,t]`
//! without re-running loans.
//!
//! Net cash flows do not depend on the OAS (it only discounts them), so
//!
//! ```text
//! V(oas) = (1/P) Σ_p Σ_t CF[p,t]·D[p,t]·e^{−oas·τ_t} = Σ_t W[t]·e^{−oas·τ_t},
//! W[t]   = (1/P) Σ_p CF[p,t]·D[p,t]
//! ```
//!
//! [`DiscountedFlows`] holds `W` (computed once, in path order, so it is a pure
//! function of the inputs whatever the thread count); every value of `V` after
//! that costs `T` exponentials.
//!
//! `V` need not be monotone: an MSR's late net cash flows can be negative, so
//! the value may rise with the OAS before it falls. [`DiscountedFlows::solve`]
//! therefore does not trust a single bracket. It scans the OAS domain
//! ([`OasDomain`], default [`OAS_MIN`]..[`OAS_MAX`]) on a fine grid, refines
//! every interior turning point of `V` (a zero of `V′`), so that `V` is
//! monotone between consecutive breakpoints, and then:
//! * a target outside `[min V, max V]` over the domain is
//!   [`OasError::Unreachable`], carrying that range;
//! * otherwise every breakpoint interval containing the target holds exactly
//!   one root; the one nearest the caller's hint (normally the configured OAS)
//!   is solved by safeguarded Newton (a Newton step that leaves the bracket
//!   becomes a bisection) to [`OAS_TOL`], and any others are reported.

use msr_rates::PathSet;

use crate::valuation::PortfolioAccum;

/// Lowest OAS searched by default (−25 %). Below about minus the short rate
/// the discount rate is negative and a long book's value grows without
/// economic meaning; a target only such a spread reaches is reported as
/// unreachable rather than solved to a meaningless number.
pub const OAS_MIN: f64 = -0.25;
/// Highest OAS searched by default (100 %, the top of the configuration's
/// valid `valuation.oas`, so a solved spread can always be passed back with
/// `--oas`).
pub const OAS_MAX: f64 = 1.0;
/// Convergence tolerance of the solve, in OAS (annual decimal). The solve
/// stops when a step or the bracket is this small; the contract is 1e-8.
pub const OAS_TOL: f64 = 1e-12;
/// Grid step of the scan for turning points and brackets.
const SCAN_STEP: f64 = 0.0025;
/// Iteration cap of each refinement (Newton halves the bracket at worst, so
/// 200 steps reach any tolerance on the default domain).
const MAX_ITER: usize = 200;

/// A target for the solve, in the units a user quotes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OasTarget {
    /// Portfolio value in dollars.
    Value(f64),
    /// Portfolio value in basis points of UPB.
    Bps(f64),
    /// Portfolio value as a multiple of the annual fee `Σ s·UPB`.
    Multiple(f64),
}

impl OasTarget {
    /// The target in dollars, given the portfolio's UPB and fee base `Σ s·UPB`.
    ///
    /// # Errors
    /// [`OasError::InvalidTarget`] if the target is not finite, or is quoted
    /// against a zero UPB or fee base.
    pub fn dollars(&self, upb: f64, fee_base: f64) -> Result<f64, OasError> {
        let (x, base, what) = match *self {
            OasTarget::Value(x) => return finite_target(x, "value"),
            OasTarget::Bps(x) => (x, upb / 1e4, "bps"),
            OasTarget::Multiple(x) => (x, fee_base, "multiple"),
        };
        finite_target(x, what)?;
        if !(base.is_finite() && base > 0.0) {
            return Err(OasError::InvalidTarget(format!(
                "a {what} target needs a positive {} (the book's is {})",
                if what == "bps" {
                    "UPB"
                } else {
                    "fee base Σ s·UPB"
                },
                if what == "bps" { upb } else { fee_base }
            )));
        }
        Ok(x * base)
    }

    /// A dollar amount expressed in this target's units (for messages: the
    /// reachable range in the user's units).
    pub fn express(&self, dollars: f64, upb: f64, fee_base: f64) -> f64 {
        match self {
            OasTarget::Value(_) => dollars,
            OasTarget::Bps(_) => 1e4 * dollars / upb,
            OasTarget::Multiple(_) => dollars / fee_base,
        }
    }

    /// The number the user gave.
    pub fn quoted(&self) -> f64 {
        match *self {
            OasTarget::Value(x) | OasTarget::Bps(x) | OasTarget::Multiple(x) => x,
        }
    }

    /// `value`, `bps` or `multiple`.
    pub fn kind(&self) -> &'static str {
        match self {
            OasTarget::Value(_) => "value",
            OasTarget::Bps(_) => "bps",
            OasTarget::Multiple(_) => "multiple",
        }
    }
}

fn finite_target(x: f64, what: &str) -> Result<f64, OasError> {
    if x.is_finite() {
        Ok(x)
    } else {
        Err(OasError::InvalidTarget(format!(
            "the {what} target must be finite, got {x}"
        )))
    }
}

/// Why an OAS cannot be solved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum OasError {
    /// The accumulator holds no `CF[p,t]` matrix (valued without [`crate::Detail::Full`]).
    #[error("the valuation kept no cash-flow matrix (value with Detail::Full to solve an OAS)")]
    MissingCashFlows,
    /// The accumulator and the paths disagree in shape.
    #[error("cash-flow matrix has {cf_paths} paths x {cf_months} months but the rate paths have {paths} x {months}")]
    Shape {
        /// Paths of the cash-flow matrix.
        cf_paths: usize,
        /// Months of the cash-flow matrix.
        cf_months: usize,
        /// Paths of the rate paths.
        paths: usize,
        /// Months of the rate paths.
        months: usize,
    },
    /// The target cannot be used.
    #[error("{0}")]
    InvalidTarget(String),
    /// The OAS search domain is empty or not finite.
    #[error("OAS search domain [{lo}, {hi}] is empty or not finite")]
    Domain {
        /// Lower end.
        lo: f64,
        /// Upper end.
        hi: f64,
    },
    /// Every discounted cash flow is zero: the value does not depend on the OAS.
    #[error("the portfolio has no cash flows, so its value does not depend on the OAS")]
    NoCashFlows,
    /// No OAS in the domain gives the target.
    #[error(
        "target value {target:.2} is outside the reachable range [{min_value:.2}, {max_value:.2}] \
         (minimum at OAS {oas_at_min:.6}, maximum at OAS {oas_at_max:.6}, for OAS in [{lo}, {hi}])"
    )]
    Unreachable {
        /// The target ($).
        target: f64,
        /// Least value over the domain ($).
        min_value: f64,
        /// OAS where the least value is reached.
        oas_at_min: f64,
        /// Greatest value over the domain ($).
        max_value: f64,
        /// OAS where the greatest value is reached.
        oas_at_max: f64,
        /// Domain searched, lower end.
        lo: f64,
        /// Domain searched, upper end.
        hi: f64,
    },
}

/// The OAS interval searched.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OasDomain {
    /// Lower end (annual decimal).
    pub lo: f64,
    /// Upper end (annual decimal).
    pub hi: f64,
}

impl Default for OasDomain {
    fn default() -> Self {
        OasDomain {
            lo: OAS_MIN,
            hi: OAS_MAX,
        }
    }
}

/// The least and greatest portfolio value over an OAS domain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValueRange {
    /// Least value ($).
    pub min_value: f64,
    /// OAS of the least value.
    pub oas_at_min: f64,
    /// Greatest value ($).
    pub max_value: f64,
    /// OAS of the greatest value.
    pub oas_at_max: f64,
}

/// A solved OAS.
#[derive(Debug, Clone, PartialEq)]
pub struct OasSolution {
    /// The OAS (annual decimal, continuously compounded).
    pub oas: f64,
    /// `V(oas)`, equal to the target up to the solve's tolerance ($).
    pub value: f64,
    /// The target ($).
    pub target: f64,
    /// Newton/bisection steps of the final refinement.
    pub iterations: usize,
    /// Evaluations of `V` or `V′` in all (scan, turning points, refinement).
    pub evaluations: usize,
    /// Other OAS in the domain that give the same value (when `V` is not
    /// monotone), ascending; empty in the usual case.
    pub other_roots: Vec<f64>,
    /// The value range over the domain.
    pub range: ValueRange,
}

/// The portfolio's expected discounted cash flow per month before the OAS,
/// `W[t] = (1/P) Σ_p CF[p,t]·D[p,t]`: enough to value the book at any OAS.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscountedFlows {
    /// `τ_t = t/12`, t = 1..T.
    tau: Vec<f64>,
    /// `W[t]`.
    w: Vec<f64>,
}

impl DiscountedFlows {
    /// Build `W` from a run's cash-flow matrix and the paths it was valued on
    /// (the raw discount factors `D[p,t]`, before any OAS).
    ///
    /// # Errors
    /// [`OasError::MissingCashFlows`] if `accum` was valued without
    /// [`crate::Detail::Full`]; [`OasError::Shape`] if `paths` has a different
    /// path count or fewer months.
    pub fn from_accum(accum: &PortfolioAccum, paths: &PathSet) -> Result<Self, OasError> {
        let (np, months) = (accum.num_paths, accum.months);
        if accum.cf.len() != np * months || np == 0 {
            return Err(OasError::MissingCashFlows);
        }
        if paths.num_paths() != np || paths.months() < months {
            return Err(OasError::Shape {
                cf_paths: np,
                cf_months: months,
                paths: paths.num_paths(),
                months: paths.months(),
            });
        }
        let w = (1..=months)
            .map(|t| {
                let s: f64 = (0..np)
                    .map(|p| accum.cf_at(p, t) * paths.discount[[p, t - 1]])
                    .sum();
                s / np as f64
            })
            .collect();
        Ok(DiscountedFlows::from_weights(w))
    }

    /// From the monthly weights `W[1..=T]` directly.
    pub fn from_weights(w: Vec<f64>) -> Self {
        let tau = (1..=w.len()).map(|t| t as f64 / 12.0).collect();
        DiscountedFlows { tau, w }
    }

    /// The weights `W[t]`, t = 1..T.
    pub fn weights(&self) -> &[f64] {
        &self.w
    }

    /// `V(oas) = Σ_t W[t]·e^{−oas·τ_t}`.
    pub fn value(&self, oas: f64) -> f64 {
        self.tau
            .iter()
            .zip(&self.w)
            .map(|(&tau, &w)| w * (-oas * tau).exp())
            .sum()
    }

    /// `V′(oas) = −Σ_t τ_t·W[t]·e^{−oas·τ_t}`.
    pub fn slope(&self, oas: f64) -> f64 {
        -self
            .tau
            .iter()
            .zip(&self.w)
            .map(|(&tau, &w)| tau * w * (-oas * tau).exp())
            .sum::<f64>()
    }

    /// Breakpoints of the domain: the scan grid plus every interior turning
    /// point of `V`, ascending, each with its value. `V` is monotone between
    /// consecutive breakpoints (up to turning points closer together than the
    /// grid step, which a sum of a few hundred exponentials with the signs of
    /// servicing cash flows does not produce).
    fn breakpoints(&self, domain: OasDomain, evals: &mut usize) -> Vec<(f64, f64)> {
        let n = (((domain.hi - domain.lo) / SCAN_STEP).ceil() as usize).max(1);
        let grid: Vec<f64> = (0..=n)
            .map(|i| {
                if i == n {
                    domain.hi
                } else {
                    domain.lo + (domain.hi - domain.lo) * i as f64 / n as f64
                }
            })
            .collect();
        let slopes: Vec<f64> = grid.iter().map(|&x| self.slope(x)).collect();
        *evals += 2 * grid.len();
        let mut points = Vec::with_capacity(grid.len() + 4);
        for i in 0..grid.len() {
            points.push((grid[i], self.value(grid[i])));
            if i + 1 < grid.len() && slopes[i] * slopes[i + 1] < 0.0 {
                let x = bisect(|x| self.slope(x), grid[i], grid[i + 1], slopes[i], evals);
                *evals += 1;
                points.push((x, self.value(x)));
            }
        }
        points
    }

    /// The least and greatest value over `domain`.
    ///
    /// # Errors
    /// [`OasError::Domain`] for an empty or non-finite domain.
    pub fn range(&self, domain: OasDomain) -> Result<ValueRange, OasError> {
        check_domain(domain)?;
        let mut evals = 0;
        Ok(range_of(&self.breakpoints(domain, &mut evals)))
    }

    /// Solve `V(oas) = target` over the default domain, preferring the root
    /// nearest `hint` when there are several.
    ///
    /// # Errors
    /// As [`DiscountedFlows::solve_in`].
    pub fn solve(&self, target: f64, hint: f64) -> Result<OasSolution, OasError> {
        self.solve_in(target, hint, OasDomain::default())
    }

    /// Solve `V(oas) = target` over `domain`, preferring the root nearest
    /// `hint` when there are several.
    ///
    /// # Errors
    /// [`OasError::InvalidTarget`] for a non-finite target,
    /// [`OasError::Domain`] for a bad domain, [`OasError::NoCashFlows`] when
    /// every `W[t]` is zero, [`OasError::Unreachable`] (with the reachable
    /// range) when no OAS in the domain gives the target.
    pub fn solve_in(
        &self,
        target: f64,
        hint: f64,
        domain: OasDomain,
    ) -> Result<OasSolution, OasError> {
        finite_target(target, "value")?;
        check_domain(domain)?;
        if self.w.iter().all(|&w| w == 0.0) {
            return Err(OasError::NoCashFlows);
        }
        let mut evaluations = 0;
        let points = self.breakpoints(domain, &mut evaluations);
        let range = range_of(&points);
        if !(range.min_value <= target && target <= range.max_value) {
            return Err(OasError::Unreachable {
                target,
                min_value: range.min_value,
                oas_at_min: range.oas_at_min,
                max_value: range.max_value,
                oas_at_max: range.oas_at_max,
                lo: domain.lo,
                hi: domain.hi,
            });
        }
        // Every interval whose end values straddle the target holds one root.
        let brackets: Vec<(usize, f64)> = points
            .windows(2)
            .enumerate()
            .filter(|(_, w)| (w[0].1 - target) * (w[1].1 - target) <= 0.0)
            .map(|(i, w)| (i, interval_distance(hint, w[0].0, w[1].0)))
            .collect();
        let &(best, _) = brackets
            .iter()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .expect("target within the range is straddled by some interval");
        let f = |x: f64| self.value(x) - target;
        let mut roots = Vec::with_capacity(brackets.len());
        let mut chosen = (f64::NAN, 0);
        for &(i, _) in &brackets {
            let (a, b) = (points[i], points[i + 1]);
            let (x, iters) = refine_newton(self, target, a, b, &mut evaluations);
            if i == best {
                chosen = (x, iters);
            }
            roots.push(x);
        }
        let (oas, iterations) = chosen;
        let mut other_roots: Vec<f64> = roots
            .into_iter()
            .filter(|&x| (x - oas).abs() > 1e3 * OAS_TOL)
            .collect();
        other_roots.sort_by(f64::total_cmp);
        other_roots.dedup_by(|a, b| (*a - *b).abs() <= 1e3 * OAS_TOL);
        evaluations += 1;
        Ok(OasSolution {
            oas,
            value: f(oas) + target,
            target,
            iterations,
            evaluations,
            other_roots,
            range,
        })
    }
}

fn check_domain(d: OasDomain) -> Result<(), OasError> {
    if d.lo.is_finite() && d.hi.is_finite() && d.lo < d.hi {
        Ok(())
    } else {
        Err(OasError::Domain { lo: d.lo, hi: d.hi })
    }
}

fn range_of(points: &[(f64, f64)]) -> ValueRange {
    let mut r = ValueRange {
        min_value: f64::INFINITY,
        oas_at_min: f64::NAN,
        max_value: f64::NEG_INFINITY,
        oas_at_max: f64::NAN,
    };
    for &(x, v) in points {
        if v < r.min_value {
            r.min_value = v;
            r.oas_at_min = x;
        }
        if v > r.max_value {
            r.max_value = v;
            r.oas_at_max = x;
        }
    }
    r
}

/// Distance from `x` to the interval `[a, b]` (0 inside).
fn interval_distance(x: f64, a: f64, b: f64) -> f64 {
    if x < a {
        a - x
    } else if x > b {
        x - b
    } else {
        0.0
    }
}

/// A zero of `g` in `[a, b]` (with `g(a) = ga` and `g(b)` of opposite signs)
/// by bisection to [`OAS_TOL`].
fn bisect(g: impl Fn(f64) -> f64, mut a: f64, mut b: f64, mut ga: f64, evals: &mut usize) -> f64 {
    let mut iters = 0;
    while b - a > OAS_TOL && iters < MAX_ITER {
        let m = 0.5 * (a + b);
        let gm = g(m);
        *evals += 1;
        iters += 1;
        if gm == 0.0 {
            return m;
        }
        if (gm < 0.0) == (ga < 0.0) {
            a = m;
            ga = gm;
        } else {
            b = m;
        }
    }
    0.5 * (a + b)
}

/// The root of `V − target` in the bracket `[a, b]` (end values straddling the
/// target, `V` monotone inside) by safeguarded Newton: start inside, take the
/// Newton step when it stays strictly inside the current bracket, else bisect;
/// shrink the bracket with every evaluation. Returns the root and the steps.
fn refine_newton(
    flows: &DiscountedFlows,
    target: f64,
    (mut a, va): (f64, f64),
    (mut b, vb): (f64, f64),
    evals: &mut usize,
) -> (f64, usize) {
    let mut fa = va - target;
    let fb = vb - target;
    if fa == 0.0 {
        return (a, 0);
    }
    if fb == 0.0 {
        return (b, 0);
    }
    // Start from the secant point of the bracket.
    let mut x = a - fa * (b - a) / (fb - fa);
    if !(x > a && x < b) {
        x = 0.5 * (a + b);
    }
    let mut iters = 0;
    while iters < MAX_ITER {
        iters += 1;
        let fx = flows.value(x) - target;
        let dx = flows.slope(x);
        *evals += 2;
        if fx == 0.0 {
            return (x, iters);
        }
        if (fx < 0.0) == (fa < 0.0) {
            a = x;
            fa = fx;
        } else {
            b = x;
        }
        let newton = x - fx / dx;
        let next = if dx != 0.0 && newton > a && newton < b {
            newton
        } else {
            0.5 * (a + b)
        };
        let step = (next - x).abs();
        x = next;
        if step <= OAS_TOL || b - a <= OAS_TOL {
            break;
        }
    }
    (x, iters)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Flows with a closed-form value: a level annuity of `c` for `n` months,
    /// `V(oas) = c·q(1−qⁿ)/(1−q)`, `q = e^{−oas/12}`.
    #[test]
    fn annuity_solves_to_the_closed_form() {
        let flows = DiscountedFlows::from_weights(vec![100.0; 360]);
        for x in [-0.05, 0.0, 0.03, 0.065, 0.25, 0.9] {
            let q: f64 = (-x / 12.0f64).exp();
            let closed = if x == 0.0 {
                100.0 * 360.0
            } else {
                100.0 * q * (1.0 - q.powi(360)) / (1.0 - q)
            };
            assert!((flows.value(x) - closed).abs() <= 1e-10 * closed);
            let s = flows.solve(closed, 0.065).unwrap();
            assert!((s.oas - x).abs() < 1e-10, "{x}: {}", s.oas);
            assert!(s.other_roots.is_empty());
            assert!(s.iterations < 20, "{}", s.iterations);
        }
    }

    #[test]
    fn unreachable_target_reports_the_range() {
        let flows = DiscountedFlows::from_weights(vec![100.0; 360]);
        let err = flows.solve(1e12, 0.065).unwrap_err();
        match err {
            OasError::Unreachable {
                min_value,
                max_value,
                oas_at_max,
                ..
            } => {
                assert_eq!(oas_at_max, OAS_MIN);
                assert!(min_value > 0.0 && max_value > min_value);
                assert!((max_value - flows.value(OAS_MIN)).abs() < 1e-6 * max_value);
            }
            e => panic!("{e}"),
        }
        assert!(matches!(
            flows.solve(-1.0, 0.0),
            Err(OasError::Unreachable { .. })
        ));
    }

    /// Positive early, negative late: V rises then falls; both roots found,
    /// the one nearest the hint chosen, the interior maximum refined.
    #[test]
    fn hump_shaped_value_finds_the_root_nearest_the_hint() {
        let mut w = vec![10.0; 120];
        w.extend(vec![-30.0; 240]);
        let flows = DiscountedFlows::from_weights(w);
        let range = flows.range(OasDomain::default()).unwrap();
        assert!(range.oas_at_max > OAS_MIN && range.oas_at_max < OAS_MAX);
        assert!(flows.slope(range.oas_at_max).abs() < 1e-6 * range.max_value.abs());
        let target = 0.5 * (range.max_value + flows.value(OAS_MAX));
        let low = flows.solve(target, OAS_MIN).unwrap();
        let high = flows.solve(target, OAS_MAX).unwrap();
        assert!(low.oas < range.oas_at_max && high.oas > range.oas_at_max);
        assert_eq!(low.other_roots.len(), 1);
        assert!((low.other_roots[0] - high.oas).abs() < 1e-9);
        for s in [&low, &high] {
            assert!((s.value - target).abs() < 1e-9 * target.abs());
        }
    }

    #[test]
    fn bad_inputs_are_errors() {
        let flows = DiscountedFlows::from_weights(vec![0.0; 12]);
        assert_eq!(flows.solve(0.0, 0.0), Err(OasError::NoCashFlows));
        let flows = DiscountedFlows::from_weights(vec![1.0; 12]);
        assert!(matches!(
            flows.solve(f64::NAN, 0.0),
            Err(OasError::InvalidTarget(_))
        ));
        let d = OasDomain { lo: 1.0, hi: 0.0 };
        assert!(matches!(
            flows.solve_in(5.0, 0.0, d),
            Err(OasError::Domain { .. })
        ));
        assert!(OasTarget::Multiple(5.0).dollars(1e6, 0.0).is_err());
        assert_eq!(OasTarget::Bps(150.0).dollars(1e6, 2500.0), Ok(15_000.0));
        assert_eq!(OasTarget::Multiple(4.0).dollars(1e6, 2500.0), Ok(10_000.0));
    }
}
