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
    RatePowers::default().fill_balance_factors(c, n, out);
}

/// The powers `(1+i)^k` of one note rate, kept between calls: a caller that
/// takes its loans rate by rate (the engine sorts each chunk by note rate)
/// computes each `powf` once per rate instead of once per loan and month.
#[derive(Debug, Clone, Default)]
pub struct RatePowers {
    /// Bits of the note rate the powers belong to.
    rate: u64,
    /// `(1+i)^k` for `k = 0..len`, each `powf(k)` (so the same bits whoever
    /// asked first).
    powers: Vec<f64>,
}

impl RatePowers {
    /// [`fill_balance_factors`]: the same bits, with the powers taken from
    /// (and added to) this cache.
    pub fn fill_balance_factors(&mut self, c: f64, n: u32, out: &mut Vec<f64>) {
        out.clear();
        let i = c / 12.0;
        if i == 0.0 {
            let nf = n as f64;
            out.extend((0..=n).map(|k| 1.0 - k as f64 / nf));
            return;
        }
        if self.rate != c.to_bits() {
            self.rate = c.to_bits();
            self.powers.clear();
        }
        let g = 1.0 + i;
        let n = n as usize;
        let have = self.powers.len();
        if have <= n {
            self.powers.extend((have..=n).map(|k| g.powf(k as f64)));
        }
        let gn = self.powers[n];
        let denom = gn - 1.0;
        out.extend(self.powers[..=n].iter().map(|&gk| (gn - gk) / denom));
    }
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
    fn cached_powers_give_the_same_factors() {
        // Each factor as `balance_factor` computes it, whatever the cache
        // held before (another rate, a shorter or longer term).
        let mut powers = RatePowers::default();
        let mut v = Vec::new();
        for (c, n) in [
            (0.06, 120),
            (0.06, 360),
            (0.06, 240),
            (0.07125, 360),
            (0.0, 12),
            (0.06, 300),
        ] {
            powers.fill_balance_factors(c, n, &mut v);
            assert_eq!(v.len(), n as usize + 1);
            for (k, &b) in v.iter().enumerate() {
                assert_eq!(
                    b.to_bits(),
                    balance_factor(c, n, k as u32).to_bits(),
                    "{c} {n} {k}"
                );
            }
        }
    }

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
