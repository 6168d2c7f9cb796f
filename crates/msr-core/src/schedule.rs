//! The level-payment amortisation schedule of MODEL.md §E.1.
//!
//! With monthly rate `i = c/12` and remaining term `n`, the scheduled balance
//! factor after `k` months is
//! `b_k = ((1+i)^n − (1+i)^k) / ((1+i)^n − 1)` (and `1 − k/n` when `i = 0`).
//!
//! Powers use `powf`, never `powi`: LLVM may expand `powi` with a constant
//! exponent into a different multiplication chain than the runtime call, which
//! would make results depend on inlining (seen in this crate's tests).

/// Scheduled balance factor `b_k` for note rate `c` (annual), term `n`, after `k` months.
pub fn balance_factor(c: f64, n: u32, k: u32) -> f64 {
    let i = c / 12.0;
    if i == 0.0 {
        return 1.0 - k as f64 / n as f64;
    }
    let gn = (1.0 + i).powf(n as f64);
    let gk = (1.0 + i).powf(k as f64);
    (gn - gk) / (gn - 1.0)
}

/// Fill `out` with `b_0 ..= b_n` (length `n + 1`), reusing its allocation.
pub fn fill_balance_factors(c: f64, n: u32, out: &mut Vec<f64>) {
    out.clear();
    let i = c / 12.0;
    if i == 0.0 {
        let nf = n as f64;
        out.extend((0..=n).map(|k| 1.0 - k as f64 / nf));
        return;
    }
    let g = 1.0 + i;
    let gn = g.powf(n as f64);
    let denom = gn - 1.0;
    out.extend((0..=n).map(|k| (gn - g.powf(k as f64)) / denom));
}

/// Level monthly payment on balance `b` at monthly rate `i` over `m` months:
/// `b·i / (1 − (1+i)^(−m))`, or `b/m` when `i = 0`.
pub fn level_payment(b: f64, i: f64, m: u32) -> f64 {
    if m == 0 {
        return b;
    }
    if i == 0.0 {
        return b / m as f64;
    }
    b * i / (1.0 - (1.0 + i).powf(-(m as f64)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_run_from_one_to_zero() {
        let mut v = Vec::new();
        fill_balance_factors(0.06, 360, &mut v);
        assert_eq!(v.len(), 361);
        assert_eq!(v[0], 1.0);
        assert!(v[360].abs() < 1e-12);
        assert!(v.windows(2).all(|w| w[1] < w[0]));
        assert_eq!(v[120], balance_factor(0.06, 360, 120));
    }

    #[test]
    fn payment_matches_textbook_value() {
        // $100,000 at 6% for 30 years: $599.55 a month (standard annuity table).
        let p = level_payment(100_000.0, 0.06 / 12.0, 360);
        assert!((p - 599.550_525_5).abs() < 1e-6, "{p}");
        // Schedule identity: PMT = Bal·i + sched_prin is constant.
        let b0 = balance_factor(0.06, 360, 0);
        let b1 = balance_factor(0.06, 360, 1);
        let pmt = 100_000.0 * (b0 * 0.005 + (b0 - b1));
        assert!((pmt - p).abs() < 1e-8);
    }

    #[test]
    fn zero_rate_is_straight_line() {
        assert_eq!(balance_factor(0.0, 10, 3), 0.7);
        assert_eq!(level_payment(1000.0, 0.0, 10), 100.0);
    }
}
