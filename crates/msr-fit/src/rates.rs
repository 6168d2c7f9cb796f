//! The monthly market mortgage rate history (`RATES.csv`: `period,mortgage_rate`),
//! the `m` of MODEL.md §D.1 for each observed month.

use crate::panel::{month_of_yyyymm, yyyymm, Month};
use crate::FitError;

/// Mortgage rates by month; months the file does not give are `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct RateHistory {
    first: Month,
    rates: Vec<Option<f64>>,
}

impl RateHistory {
    /// Build from `(YYYYMM, rate)` pairs in any order. `line` numbers in
    /// errors are 1-based data lines (after the header) in the given order.
    ///
    /// # Errors
    /// [`FitError::Rates`] for a bad period, a rate that is not a finite
    /// annual decimal in (−0.1, 1), a month given twice, or no rows.
    pub fn new(pairs: &[(i64, f64)]) -> Result<RateHistory, FitError> {
        let bad = |line: usize, msg: String| FitError::Rates(format!("line {}: {msg}", line + 2));
        if pairs.is_empty() {
            return Err(FitError::Rates("no rows".into()));
        }
        let mut months = Vec::with_capacity(pairs.len());
        for (k, &(p, r)) in pairs.iter().enumerate() {
            let m =
                month_of_yyyymm(p).ok_or_else(|| bad(k, format!("period {p} is not YYYYMM")))?;
            if !(r.is_finite() && r > -0.1 && r < 1.0) {
                return Err(bad(
                    k,
                    format!("mortgage_rate {r} must be an annual decimal in (-0.1, 1)"),
                ));
            }
            months.push((m, r));
        }
        let first = months.iter().map(|x| x.0).min().unwrap_or(0);
        let last = months.iter().map(|x| x.0).max().unwrap_or(0);
        let mut rates = vec![None; (last - first + 1) as usize];
        for (k, &(m, r)) in months.iter().enumerate() {
            let slot = &mut rates[(m - first) as usize];
            if slot.is_some() {
                return Err(bad(k, format!("period {} given twice", yyyymm(m))));
            }
            *slot = Some(r);
        }
        Ok(RateHistory { first, rates })
    }

    /// The rate of `month`, if the file gives it.
    pub fn get(&self, month: Month) -> Option<f64> {
        let k = month - self.first;
        if k < 0 {
            return None;
        }
        self.rates.get(k as usize).copied().flatten()
    }

    /// First month given.
    pub fn first(&self) -> Month {
        self.first
    }

    /// Last month given.
    pub fn last(&self) -> Month {
        self.first + self.rates.len() as i32 - 1
    }

    /// `(YYYYMM, rate)` for every month given, in order.
    pub fn pairs(&self) -> Vec<(i32, f64)> {
        self.rates
            .iter()
            .enumerate()
            .filter_map(|(k, r)| r.map(|r| (yyyymm(self.first + k as i32), r)))
            .collect()
    }

    /// Burnout `E` (§D.1) of a loan with note rate `c` at month `p` and age
    /// `a`: Σ max(100·(c − m), 0) over `p − a ..= p − 1` where the rates are
    /// given.
    pub fn burnout_exposure(&self, c: f64, p: Month, a: i32) -> f64 {
        let mut e = 0.0;
        for q in (p - a)..p {
            if let Some(m) = self.get(q) {
                e += (100.0 * (c - m)).max(0.0);
            }
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_and_duplicates() {
        let h = RateHistory::new(&[(202001, 0.04), (202003, 0.05)]).unwrap();
        let jan = month_of_yyyymm(202001).unwrap();
        assert_eq!(h.get(jan), Some(0.04));
        assert_eq!(h.get(jan + 1), None);
        assert_eq!(h.get(jan + 2), Some(0.05));
        assert_eq!(h.get(jan - 1), None);
        // E at March, age 3: Dec (missing), Jan 4 %, Feb (missing): 100·(0.06 − 0.04) = 2.
        assert!((h.burnout_exposure(0.06, jan + 2, 3) - 2.0).abs() < 1e-12);
        let e = RateHistory::new(&[(202001, 0.04), (202001, 0.05)]).unwrap_err();
        assert!(e.to_string().contains("given twice"), "{e}");
        let e = RateHistory::new(&[(202001, f64::NAN)]).unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
    }
}
