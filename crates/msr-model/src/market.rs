//! [`Market`]: per-run market arrays derived once from the rate paths and shared
//! read-only by every loan.
//!
//! The prepayment model's rate terms factor into a loan constant times a
//! per-path, per-month factor (MODEL.md §D.1, with ι = 100·(c − m)):
//! * lock-in: `exp(lockin·min(ι,0)) = min(1, e^{100·lockin·c} · e^{−100·lockin·m})`
//! * S-curve: `logistic(slope·(ι − mid)) = 1 / (1 + e^{−slope·(100c − mid)} · e^{100·slope·m})`
//! * burnout step: `exp(−burnout·max(ι,0)) = min(1, e^{−100·burnout·c} · e^{100·burnout·m})`
//!
//! (the `min` forms need `lockin, burnout ≥ 0`, which the configuration enforces).
//! So the only transcendental left per loan-path-month is the 12th root of SMM.
//!
//! Layout is block-major for the kernel: for each block of [`LANES`] paths,
//! its months follow one another, and each month holds the lanes of the factors
//! one phase of the kernel reads (`(lock, refi, burn)` for prepayment,
//! `(max(r,0), (max(r,0)+spread)/12, df)` for cash flows). One loan's pass over
//! one block therefore streams two contiguous runs of memory. Paths are padded
//! to a multiple of [`LANES`] by repeating the last path.

use std::sync::atomic::{AtomicU64, Ordering};

use msr_rates::PathSet;

use crate::lanes::{LaneRows, LANES};
use crate::params::ModelParams;

/// The prepayment factors of one block-month, lanes innermost:
/// `[lock, refi, burn]`.
pub(crate) type PrepayLanes = LaneRows<3>;
/// The cash-flow factors of one block-month: `[r_pos, r_adv, df]`.
pub(crate) type CashLanes = LaneRows<3>;

/// Market arrays for one run (one curve scenario, one OAS).
#[derive(Debug, Clone)]
pub struct Market {
    months: usize,
    paths: usize,
    padded: usize,
    /// `[e^{−100·lockin·m}, e^{100·slope·m}, e^{100·burnout·m}]` at `[block·months + t]`.
    prepay: Vec<PrepayLanes>,
    /// `[max(r,0), (max(r,0) + advance_spread)/12, D[p,t]·e^{−oas·τ_t}]` at
    /// `[block·months + t]`.
    cash: Vec<CashLanes>,
    /// Distinct for every market built (a clone keeps it: the arrays never
    /// change after [`Market::new`]), so a cache of results derived from one
    /// market can tell it from another (`crate::BlockScratch::sharing`).
    id: u64,
}

/// The next [`Market::id`].
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

impl Market {
    /// Derive the arrays from `paths` for the first `months` months, at `oas`.
    ///
    /// # Panics
    /// If `months` exceeds the paths' months (callers check with
    /// [`PathSet::require_months`] first).
    pub fn new(paths: &PathSet, params: &ModelParams, oas: f64, months: usize) -> Market {
        assert!(months <= paths.months(), "paths too short");
        let num_paths = paths.num_paths();
        let padded = num_paths.div_ceil(LANES) * LANES;
        let blocks = padded / LANES;
        let mut prepay = vec![LaneRows::<3>::default(); blocks * months];
        let mut cash = vec![LaneRows::<3>::default(); blocks * months];
        for t in 0..months {
            let oas_df = (-oas * (t + 1) as f64 / 12.0).exp();
            for q in 0..padded {
                let p = q.min(num_paths - 1);
                let (b, l) = (q / LANES, q % LANES);
                let m = paths.mortgage_rate[[p, t]];
                let r = paths.short_rate[[p, t]];
                let k = b * months + t;
                let r_pos = r.max(0.0);
                prepay[k].0[0][l] = (-100.0 * params.lockin * m).exp();
                prepay[k].0[1][l] = (100.0 * params.refi_slope * m).exp();
                prepay[k].0[2][l] = (100.0 * params.burnout * m).exp();
                cash[k].0[0][l] = r_pos;
                cash[k].0[1][l] = (r_pos + params.advance_spread) / 12.0;
                cash[k].0[2][l] = paths.discount[[p, t]] * oas_df;
            }
        }
        Market {
            months,
            paths: num_paths,
            padded,
            prepay,
            cash,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// This market's identity: equal only for the same market (or a clone).
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The market factors of path `p`, month index `t` (0-based), for scalar
    /// callers: `(lock_m, refi_m, burn_m, r_pos, df)` as documented on the fields.
    pub fn factors(&self, p: usize, t: usize) -> (f64, f64, f64, f64, f64) {
        let k = (p / LANES) * self.months + t;
        let l = p % LANES;
        let (a, c) = (&self.prepay[k].0, &self.cash[k].0);
        (a[0][l], a[1][l], a[2][l], c[0][l], c[2][l])
    }

    /// Months covered.
    pub fn months(&self) -> usize {
        self.months
    }

    /// Real (unpadded) number of paths.
    pub fn num_paths(&self) -> usize {
        self.paths
    }

    /// Number of blocks of [`LANES`] paths.
    pub fn num_blocks(&self) -> usize {
        self.padded / LANES
    }

    /// Paths of block `b` that are real (the rest are padding).
    pub fn active_lanes(&self, block: usize) -> usize {
        (self.paths - block * LANES).min(LANES)
    }

    /// The prepayment factors of `block` for months `0..n`.
    #[inline(always)]
    pub(crate) fn prepay_block(&self, block: usize, n: usize) -> &[PrepayLanes] {
        let start = block * self.months;
        &self.prepay[start..start + n]
    }

    /// The cash-flow factors of `block` for months `0..n`.
    #[inline(always)]
    pub(crate) fn cash_block(&self, block: usize, n: usize) -> &[CashLanes] {
        let start = block * self.months;
        &self.cash[start..start + n]
    }
}
