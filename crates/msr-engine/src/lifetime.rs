//! Lifetime figures of a projection (docs/accounting.md): the lifetime
//! prepayment speed, the weighted-average life, the lifetime delinquency
//! share and the one discount rate that takes the expected net cash flows
//! to the value. The same function serves a group's projected monthly sums
//! (a disclosure row) and one loan's ([`crate::Detail::Profile`]: the
//! loan-level ranges), so the two read the formulas once.

use msr_model::{MonthlyField, NUM_MONTHLY};

/// The lifetime figures of one projection; `None` where the formula has
/// nothing to divide by (or, for the discount rate, no rate solves).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lifetime {
    /// `1 − (1 − SMM)^12`, `SMM = Σ_t prepaid_t / Σ_t surviving_{t−1}`
    /// (`surviving_0` = the loans at the start).
    pub cpr: Option<f64>,
    /// `Σ_t (t/12)·(UPB_{t−1} − UPB_t) / Σ_t (UPB_{t−1} − UPB_t)`, years.
    pub wal_years: Option<f64>,
    /// `Σ_t UPB30+_t / Σ_t UPB_t`.
    pub delinquency_30plus: Option<f64>,
    /// The annual rate `y` (monthly compounding) with
    /// `Σ_t net_t·(1 + y/12)^(−t) = value`, see [`solve_rate`].
    pub discount_rate: Option<f64>,
}

/// Total UPB at month end: the six state fields.
pub fn upb_end(m: &[f64; NUM_MONTHLY]) -> f64 {
    (MonthlyField::UpbC as usize..=MonthlyField::UpbFc as usize)
        .map(|k| m[k])
        .sum()
}

/// UPB 30+ days delinquent at month end.
pub fn upb_dq(m: &[f64; NUM_MONTHLY]) -> f64 {
    (MonthlyField::UpbD30 as usize..=MonthlyField::UpbFc as usize)
        .map(|k| m[k])
        .sum()
}

impl Lifetime {
    /// The figures of the expected monthly amounts `months` (month 1
    /// first) of loans with UPB `upb` and `loans` loans at the start, worth
    /// `value`.
    pub fn of(months: &[[f64; NUM_MONTHLY]], upb: f64, loans: f64, value: f64) -> Lifetime {
        let mut surviving_prev = loans;
        let (mut prepaid, mut exposure) = (0.0, 0.0);
        let mut upb_prev = upb;
        let (mut wal_num, mut wal_den) = (0.0, 0.0);
        let (mut dq_num, mut dq_den) = (0.0, 0.0);
        let mut net = Vec::with_capacity(months.len());
        for (k, mt) in months.iter().enumerate() {
            let t = (k + 1) as f64;
            prepaid += mt[MonthlyField::Prepaid as usize];
            exposure += surviving_prev;
            surviving_prev = mt[MonthlyField::Surviving as usize];
            let u = upb_end(mt);
            wal_num += t / 12.0 * (upb_prev - u);
            wal_den += upb_prev - u;
            upb_prev = u;
            dq_num += upb_dq(mt);
            dq_den += u;
            net.push(mt[MonthlyField::Net as usize]);
        }
        let pos = |x: f64| (x > 0.0).then_some(x);
        Lifetime {
            cpr: pos(exposure).map(|e| 1.0 - (1.0 - prepaid / e).powi(12)),
            wal_years: pos(wal_den).map(|d| wal_num / d),
            delinquency_30plus: pos(dq_den).map(|d| dq_num / d),
            discount_rate: if months.is_empty() {
                None
            } else {
                solve_rate(&net, value)
            },
        }
    }
}

/// `Σ_t flows_t·(1 + y/12)^(−t)`, t = 1..T.
pub fn pv_at_rate(flows: &[f64], y: f64) -> f64 {
    let d = 1.0 / (1.0 + y / 12.0);
    let mut df = 1.0;
    let mut pv = 0.0;
    for f in flows {
        df *= d;
        pv += f * df;
    }
    pv
}

/// The annual rate `y` (monthly compounding) with `pv_at_rate(flows, y) =
/// target` at which the PV **falls** through the target as the rate rises:
/// the largest such rate in `[−0.5, 10]`, found by scanning a grid down
/// from 10 (steps of 0.25 to 1, then 0.01) for the first interval with the
/// PV below the target at its top and above it at its bottom, and bisecting
/// inside it; `None` when no interval does.
///
/// Why: a servicing strip's net flows turn negative late in a loan's life
/// (the cost per loan outlives a fee that shrinks with the balance), so the
/// PV is not monotone in the rate. Other roots exist — one at a deeply
/// negative rate where the distant costs dominate, and for a group worth
/// less than nothing, roots where the value *rises* with the rate. Only a
/// falling crossing is a discount rate in the disclosure's sense: a higher
/// rate is then an adverse change.
pub fn solve_rate(flows: &[f64], target: f64) -> Option<f64> {
    let f = |y: f64| pv_at_rate(flows, y) - target;
    let grid = (0..=36)
        .map(|k| 10.0 - 0.25 * f64::from(k))
        .chain((1..=150).map(|k| 1.0 - 0.01 * f64::from(k)));
    // The grid point above the current one, with f there.
    let mut above: Option<(f64, f64)> = None;
    let mut bracket = None;
    for y in grid {
        let fy = f(y);
        if !fy.is_finite() {
            return None;
        }
        if let Some((ya, fa)) = above {
            if fa < 0.0 && fy >= 0.0 {
                if fy == 0.0 {
                    return Some(y);
                }
                bracket = Some((y, fy, ya));
                break;
            }
        }
        above = Some((y, fy));
    }
    let (mut lo, mut flo, mut hi) = bracket?;
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        let fm = f(mid);
        if fm == 0.0 {
            return Some(mid);
        }
        if fm.signum() == flo.signum() {
            lo = mid;
            flo = fm;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-15 {
            break;
        }
    }
    Some(0.5 * (lo + hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One loan of $100 paying $50 of principal in month 1 and $50 in month
    /// 2, half the loans prepaying in month 1: every figure by hand.
    #[test]
    fn figures_by_hand() {
        let mut m = [[0.0; NUM_MONTHLY]; 2];
        m[0][MonthlyField::UpbC as usize] = 40.0;
        m[0][MonthlyField::UpbD30 as usize] = 10.0;
        m[0][MonthlyField::Surviving as usize] = 0.5;
        m[0][MonthlyField::Prepaid as usize] = 0.5;
        m[0][MonthlyField::Net as usize] = 1.0;
        m[1][MonthlyField::Net as usize] = 1.0;
        m[1][MonthlyField::Prepaid as usize] = 0.5;
        let l = Lifetime::of(&m, 100.0, 1.0, 2.0);
        // SMM = (0.5 + 0.5)/(1 + 0.5).
        let smm: f64 = 1.0 / 1.5;
        let near = |a: Option<f64>, b: f64| (a.expect("a figure") - b).abs() <= 1e-15 * b.abs();
        assert!(near(l.cpr, 1.0 - (1.0 - smm).powi(12)), "{:?}", l.cpr);
        // WAL = (1/12·50 + 2/12·50)/100 = 0.125 years.
        assert!(near(l.wal_years, 0.125), "{:?}", l.wal_years);
        assert_eq!(l.delinquency_30plus, Some(10.0 / 50.0));
        // Flows of 1 and 1 worth 2: the rate is 0.
        assert!(l.discount_rate.unwrap().abs() < 1e-12);
        let none = Lifetime::of(&[], 0.0, 0.0, 0.0);
        assert_eq!(
            (none.cpr, none.wal_years, none.discount_rate),
            (None, None, None)
        );
    }

    /// Income first, a cost at the end: two rates solve; the one where the
    /// value falls as the rate rises is the discount rate, found although
    /// the interval's ends (−50 %, 1000 %) have the same sign.
    #[test]
    fn solve_rate_takes_the_falling_root() {
        let mut flows = vec![10.0; 120];
        flows.push(-400.0);
        let target = pv_at_rate(&flows, 0.08);
        let y = solve_rate(&flows, target).expect("a root");
        assert!((y - 0.08).abs() < 1e-12, "{y}");
        assert!(pv_at_rate(&flows, -0.5) - target < 0.0);
        assert!(pv_at_rate(&flows, 10.0) - target < 0.0);
        assert!(
            pv_at_rate(&flows, 0.09) < target,
            "falls through the target"
        );
    }

    /// Income first and a large cost late, worth less than nothing: the
    /// value rises with the rate through the target, so no rate qualifies.
    #[test]
    fn solve_rate_refuses_a_rising_crossing() {
        let mut flows = vec![10.0; 12];
        flows.resize(119, 0.0);
        flows.push(-1000.0);
        let target = pv_at_rate(&flows, 0.05);
        assert!(target < 0.0);
        assert!(
            pv_at_rate(&flows, 0.06) > target,
            "rises through the target"
        );
        assert_eq!(solve_rate(&flows, target), None);
    }
}
