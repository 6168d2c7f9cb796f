//! The internal rate of return of a monthly cash-flow stream against a price
//! (MODEL.md §J): the nominal annual rate `y`, compounded monthly, with
//! `Σ_t CF_t·(1 + y/12)^(−t) = price`.
//!
//! The solver brackets a sign change of `npv(y) − price` on a fixed grid of
//! rates from −1199 % to 100,000 %, then bisects the bracket to the last bit.
//! When the grid shows several sign changes (a stream whose signs alternate
//! more than once can have several roots) the root nearest zero is returned;
//! when it shows none, there is no IRR and the answer is `None`. Bisection is
//! slower than Newton or Brent but cannot fail or wander, and a stream is at
//! most a few hundred months.

/// Rates (annual, nominal) at which the solver looks for a sign change.
const GRID: [f64; 41] = [
    -11.99, -11.9, -11.5, -11.0, -10.0, -9.0, -8.0, -6.0, -4.0, -3.0, -2.0, -1.5, -1.0, -0.75,
    -0.5, -0.4, -0.3, -0.2, -0.15, -0.1, -0.05, 0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75,
    1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0, 300.0, 1000.0,
];

/// Maximum bisection steps: more than enough to shrink any grid cell to one ulp.
const MAX_BISECTIONS: usize = 200;

/// Net present value of `cash_flows` (month 1 first) at nominal annual rate
/// `y` compounded monthly, by Horner's rule in `v = 1/(1 + y/12)`.
/// Non-finite for `y ≤ −12`.
pub fn npv(cash_flows: &[f64], y: f64) -> f64 {
    let v = 1.0 / (1.0 + y / 12.0);
    cash_flows.iter().rev().fold(0.0, |acc, cf| (acc + cf) * v)
}

/// The IRR of `cash_flows` (month 1 first) against `price`: `Some(y)` with
/// `npv(cash_flows, y) = price`, or `None` when no rate in the grid's range
/// gives a sign change (e.g. every cash flow is non-positive).
pub fn irr(cash_flows: &[f64], price: f64) -> Option<f64> {
    if !price.is_finite() || cash_flows.is_empty() || cash_flows.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let f = |y: f64| npv(cash_flows, y) - price;
    let values: Vec<(f64, f64)> = GRID
        .iter()
        .map(|&y| (y, f(y)))
        .filter(|(_, v)| v.is_finite())
        .collect();
    let mut best: Option<f64> = None;
    for (k, &(y, v)) in values.iter().enumerate() {
        let root = if v == 0.0 {
            Some(y)
        } else if let Some(&(y1, v1)) = values.get(k + 1) {
            (v1 != 0.0 && (v < 0.0) != (v1 < 0.0)).then(|| bisect(&f, y, v, y1))
        } else {
            None
        };
        if let Some(r) = root {
            if best.is_none_or(|b| r.abs() < b.abs()) {
                best = Some(r);
            }
        }
    }
    best
}

/// Bisect `f` on `[lo, hi]` where `f(lo) = f_lo` and `f(hi)` differ in sign.
fn bisect(f: &impl Fn(f64) -> f64, mut lo: f64, f_lo: f64, mut hi: f64) -> f64 {
    let lo_negative = f_lo < 0.0;
    for _ in 0..MAX_BISECTIONS {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        let v = f(mid);
        if v == 0.0 {
            return mid;
        }
        if (v < 0.0) == lo_negative {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_annuity_irr_is_its_rate() {
        // 360 payments of 599.55052515 on 100,000 is 6 % nominal (monthly).
        let pmt = msr_core::schedule::level_payment(100_000.0, 0.005, 360);
        let y = irr(&vec![pmt; 360], 100_000.0).unwrap();
        assert!((y - 0.06).abs() < 1e-13, "{y}");
    }

    #[test]
    fn single_payment_irr_is_closed_form() {
        // 110 in month 12 for 100: (1 + y/12)^12 = 1.1.
        let mut cf = vec![0.0; 12];
        cf[11] = 110.0;
        let y = irr(&cf, 100.0).unwrap();
        let want = 12.0 * (1.1f64.powf(1.0 / 12.0) - 1.0);
        assert!((y - want).abs() < 1e-14, "{y} vs {want}");
        // A loss: 50 back for 100.
        cf[11] = 50.0;
        let y = irr(&cf, 100.0).unwrap();
        let want = 12.0 * (0.5f64.powf(1.0 / 12.0) - 1.0);
        assert!((y - want).abs() < 1e-14, "{y} vs {want}");
    }

    #[test]
    fn no_root_is_none() {
        assert_eq!(irr(&[-10.0, -10.0], 100.0), None);
        assert_eq!(irr(&[], 100.0), None);
        assert_eq!(irr(&[f64::NAN], 100.0), None);
    }

    #[test]
    fn npv_at_zero_is_the_sum() {
        assert_eq!(npv(&[1.0, 2.0, 3.0], 0.0), 6.0);
    }
}
