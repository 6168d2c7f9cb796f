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
//! Layout is month-major: element `[t-1][p]`, paths padded to a multiple of
//! [`LANES`] by repeating the last path, so a block of lanes at one month is one
//! contiguous load.

use msr_rates::PathSet;

use crate::kernel::LANES;
use crate::params::ModelParams;

/// Month-major market arrays for one run (one curve scenario, one OAS).
#[derive(Debug, Clone)]
pub struct Market {
    months: usize,
    paths: usize,
    padded: usize,
    /// `e^{−100·lockin·m}`.
    pub(crate) lock: Vec<f64>,
    /// `e^{100·slope·m}`.
    pub(crate) refi: Vec<f64>,
    /// `e^{100·burnout·m}`.
    pub(crate) burn: Vec<f64>,
    /// `max(r, 0)`.
    pub(crate) r_pos: Vec<f64>,
    /// `D[p,t] · e^{−oas·τ_t}`.
    pub(crate) df: Vec<f64>,
}

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
        let size = months * padded;
        let mut market = Market {
            months,
            paths: num_paths,
            padded,
            lock: vec![0.0; size],
            refi: vec![0.0; size],
            burn: vec![0.0; size],
            r_pos: vec![0.0; size],
            df: vec![0.0; size],
        };
        for t in 0..months {
            let oas_df = (-oas * (t + 1) as f64 / 12.0).exp();
            for q in 0..padded {
                let p = q.min(num_paths - 1);
                let m = paths.mortgage_rate[[p, t]];
                let r = paths.short_rate[[p, t]];
                let k = t * padded + q;
                market.lock[k] = (-100.0 * params.lockin * m).exp();
                market.refi[k] = (100.0 * params.refi_slope * m).exp();
                market.burn[k] = (100.0 * params.burnout * m).exp();
                market.r_pos[k] = r.max(0.0);
                market.df[k] = paths.discount[[p, t]] * oas_df;
            }
        }
        market
    }

    /// The market factors of path `p`, month index `t` (0-based), for scalar
    /// callers: `(lock_m, refi_m, burn_m, r_pos, df)` as documented on the fields.
    pub fn factors(&self, p: usize, t: usize) -> (f64, f64, f64, f64, f64) {
        let k = t * self.padded + p;
        (
            self.lock[k],
            self.refi[k],
            self.burn[k],
            self.r_pos[k],
            self.df[k],
        )
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

    #[inline(always)]
    pub(crate) fn lanes(arr: &[f64], padded: usize, t: usize, block: usize) -> &[f64; LANES] {
        let start = t * padded + block * LANES;
        arr[start..start + LANES]
            .try_into()
            .expect("block in range")
    }

    pub(crate) fn padded(&self) -> usize {
        self.padded
    }
}
