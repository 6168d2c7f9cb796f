//! The panel's log-likelihood under MODEL.md §D.3, split into the blocks it
//! factors into.
//!
//! A row from `C` moves to `PP` with probability `SMM`, to `D30` with
//! `(1 − SMM)·roll`, else stays. Its log-likelihood is
//! `[y_PP ln SMM + (1 − y_PP) ln(1 − SMM)] + (1 − y_PP)[y_D30 ln roll + (1 − y_D30) ln(1 − roll)]`:
//! a prepayment part that depends only on §D.1's parameters and a roll
//! part that depends only on §D.2's. Rows from the delinquent states are
//! multinomial in their own rates. So the prepayment and roll blocks are
//! fitted separately (numerically, [`prepay_nll`], [`roll_nll`]) and the
//! chain rates in closed form from the counts ([`Counts`]).
//!
//! Rows with the same covariates are aggregated into cells (`n` rows, `k`
//! events) before fitting.

use std::collections::HashMap;

use msr_core::config::Config;
use msr_core::loan::DqState;
use rayon::prelude::*;

use crate::model::{Covariates, Values, SEASON};
use crate::panel::{calendar_month, yyyymm, Next, Panel, Row};
use crate::rates::RateHistory;
use crate::FitError;

/// Cells per parallel work item (fixed, so sums do not depend on threads).
const CHUNK: usize = 8192;

/// Smallest probability a logarithm is taken of (keeps a trial point of the
/// optimiser finite).
const TINY: f64 = 1e-300;

/// Rows from `C` with the same prepayment covariates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrepayCell {
    /// Incentive, pct.
    pub iota: f64,
    /// `min(age_t, ramp_months)/ramp_months`.
    pub ramp: f64,
    /// Seasonal index of the month of `P + 1`.
    pub season: usize,
    /// `(fico − 700)/100`.
    pub fico_x: f64,
    /// Burnout `E`.
    pub burn_e: f64,
    /// Rows.
    pub n: f64,
    /// Of which prepaid.
    pub k: f64,
}

/// Rows from `C` that did not prepay, with the same roll covariates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RollCell {
    /// `(700 − fico)/100`.
    pub fico_x: f64,
    /// `(cltv − 80)/100`.
    pub ltv_x: f64,
    /// Rows.
    pub n: f64,
    /// Of which rolled to D30.
    pub k: f64,
}

/// Move counts of the delinquent states: `by_state[s][next]` for
/// s in D30..D120 (index = state index), and FC split by judicial (0) and
/// non-judicial (1) states.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    /// Counts by from-state and [`Next::index`].
    pub by_state: [[f64; 10]; 6],
    /// FC rows' counts: judicial, non-judicial.
    pub fc: [[f64; 10]; 2],
}

/// The fixed constants the prepayment and roll blocks read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fixed {
    /// CPR cap.
    pub cpr_cap: f64,
    /// CPR multiplier of the configuration (1 = the model).
    pub cpr_multiplier: f64,
    /// Roll cap.
    pub roll_cap: f64,
    /// Roll multiplier of the configuration.
    pub roll_multiplier: f64,
}

/// A panel prepared for the likelihood.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    /// Prepayment cells.
    pub prepay: Vec<PrepayCell>,
    /// Roll cells.
    pub roll: Vec<RollCell>,
    /// Delinquent-state counts.
    pub counts: Counts,
    /// Rows from `C`.
    pub c_rows: f64,
    /// Rows from `C` that did not prepay.
    pub roll_rows: f64,
    /// Rows used.
    pub rows: u64,
    /// Loans with a row used.
    pub loans: u64,
}

/// Each row's covariates, in row order (rows grouped by loan, periods
/// increasing, as [`crate::panel::PanelBuilder::finish`] leaves them).
///
/// # Errors
/// [`FitError::MissingRate`] naming the month and a loan that needs it when
/// the rates file does not give the mortgage rate of a row's month.
pub fn covariates(
    panel: &Panel,
    rows: &[Row],
    rates: &RateHistory,
    config: &Config,
) -> Result<Vec<Covariates>, FitError> {
    let mut out = Vec::with_capacity(rows.len());
    let mut judicial: Vec<Option<bool>> = vec![None; panel.loans.len()];
    let mut prev: Option<(&Row, f64)> = None;
    for row in rows {
        let m = rates.get(row.period).ok_or_else(|| FitError::MissingRate {
            period: yyyymm(row.period),
            loan_id: panel.loans[row.loan as usize].loan_id.clone(),
        })?;
        // Burnout: carried from the loan's previous row when it is the month
        // before (same note rate), else summed afresh.
        let burn_e = match prev {
            Some((p, e))
                if p.loan == row.loan
                    && p.period + 1 == row.period
                    && p.loan_age + 1 == row.loan_age
                    && p.note_rate == row.note_rate =>
            {
                e + rates
                    .get(p.period)
                    .map_or(0.0, |mp| (100.0 * (row.note_rate - mp)).max(0.0))
            }
            _ => rates.burnout_exposure(row.note_rate, row.period, row.loan_age),
        };
        prev = Some((row, burn_e));
        let j = *judicial[row.loan as usize].get_or_insert_with(|| {
            config
                .credit
                .is_judicial(&panel.loans[row.loan as usize].property_state)
        });
        out.push(Covariates {
            status: row.status,
            iota: 100.0 * (row.note_rate - m),
            age: row.loan_age + 1,
            season: calendar_month(row.period + 1) as usize - 1,
            fico: row.fico,
            ltv: row.ltv,
            burn_e,
            judicial: j,
        });
    }
    Ok(out)
}

/// Aggregate rows into the blocks' cells and counts.
pub fn prepare(rows: &[Row], cov: &[Covariates], ramp_months: f64) -> Prepared {
    let mut out = Prepared::default();
    let mut prepay_at: HashMap<(u64, i32, usize, i32, u64), usize> = HashMap::new();
    let mut roll_at: HashMap<(i32, u64), usize> = HashMap::new();
    let mut last_loan = None;
    for (row, x) in rows.iter().zip(cov) {
        out.rows += 1;
        if last_loan != Some(row.loan) {
            out.loans += 1;
            last_loan = Some(row.loan);
        }
        match row.status {
            DqState::C => {
                let age = (x.age as f64).min(ramp_months) as i32;
                let key = (x.iota.to_bits(), age, x.season, x.fico, x.burn_e.to_bits());
                let k = *prepay_at.entry(key).or_insert_with(|| {
                    out.prepay.push(PrepayCell {
                        iota: x.iota,
                        ramp: f64::from(age) / ramp_months,
                        season: x.season,
                        fico_x: f64::from(x.fico - 700) / 100.0,
                        burn_e: x.burn_e,
                        n: 0.0,
                        k: 0.0,
                    });
                    out.prepay.len() - 1
                });
                let pp = row.next == Next::Pp;
                out.prepay[k].n += 1.0;
                out.c_rows += 1.0;
                if pp {
                    out.prepay[k].k += 1.0;
                    continue;
                }
                let key = (x.fico, x.ltv.to_bits());
                let k = *roll_at.entry(key).or_insert_with(|| {
                    out.roll.push(RollCell {
                        fico_x: f64::from(700 - x.fico) / 100.0,
                        ltv_x: (x.ltv - 80.0) / 100.0,
                        n: 0.0,
                        k: 0.0,
                    });
                    out.roll.len() - 1
                });
                out.roll[k].n += 1.0;
                out.roll_rows += 1.0;
                if row.next == Next::State(DqState::D30) {
                    out.roll[k].k += 1.0;
                }
            }
            DqState::Fc => {
                let g = if x.judicial { 0 } else { 1 };
                out.counts.fc[g][row.next.index()] += 1.0;
                out.counts.by_state[5][row.next.index()] += 1.0;
            }
            s => out.counts.by_state[s.index()][row.next.index()] += 1.0,
        }
    }
    out
}

/// Dimension of the prepayment block's internal coordinates: the seven
/// scalars (`turnover_cpr, lockin, refi_max_cpr, refi_slope,
/// refi_midpoint, burnout, refi_fico`), the bounded ones through
/// [`PREPAY_UPPER`], then `v_1..v_11` with seasonality
/// `s_k = 12·e^{v_k}/Σ_j e^{v_j}` (`v_0 = 0`, so the mean is 1 exactly).
pub const PREPAY_DIM: usize = 18;

/// The ranges the configuration allows (msr-core's `validate`): a scalar
/// with an upper bound `U` lives in `(0, U)` as `x = U·logistic(u)`; `None`
/// is unbounded (`x = u`).
pub const PREPAY_UPPER: [Option<f64>; 7] = [
    Some(1.0),
    Some(5.0),
    Some(1.0),
    Some(7.0),
    None,
    Some(5.0),
    None,
];

/// Relative distance from a bound at which a starting value on the bound
/// starts (a base value of 0 starts just above it).
const BOUND_FLOOR: f64 = 1e-6;

/// `x = U·logistic(u)`.
fn bounded(u: f64, upper: f64) -> f64 {
    upper / (1.0 + (-u).exp())
}

/// The inverse of [`bounded`], with `x` moved just inside `(0, U)`.
fn unbounded(x: f64, upper: f64) -> f64 {
    let x = x.clamp(upper * BOUND_FLOOR, upper * (1.0 - BOUND_FLOOR));
    (x / (upper - x)).ln()
}

/// `dx/du` of [`bounded`] at `x`.
fn bounded_slope(x: f64, upper: f64) -> f64 {
    x * (1.0 - x / upper)
}

/// The prepayment block's internal coordinates of `v`.
pub fn prepay_internal(v: &Values) -> [f64; PREPAY_DIM] {
    let mut u = [0.0; PREPAY_DIM];
    for k in 0..7 {
        u[k] = match PREPAY_UPPER[k] {
            Some(upper) => unbounded(v[k], upper),
            None => v[k],
        };
    }
    let s0 = v[SEASON].max(BOUND_FLOOR);
    for j in 1..12 {
        u[6 + j] = (v[SEASON + j].max(BOUND_FLOOR) / s0).ln();
    }
    u
}

/// The seasonal factors of internal coordinates `u`.
fn seasonality(u: &[f64]) -> [f64; 12] {
    let mut e = [1.0; 12];
    for j in 1..12 {
        e[j] = u[6 + j].exp();
    }
    let total: f64 = e.iter().sum();
    e.map(|x| 12.0 * x / total)
}

/// Write the prepayment block's natural values from internal coordinates.
pub fn prepay_natural(u: &[f64], v: &mut Values) {
    for k in 0..7 {
        v[k] = match PREPAY_UPPER[k] {
            Some(upper) => bounded(u[k], upper),
            None => u[k],
        };
    }
    v[SEASON..SEASON + 12].copy_from_slice(&seasonality(u));
}

/// `∂(natural value k)/∂(internal coordinate j)` for the 19 natural
/// prepayment parameters (`NAMES[0..19]`) at `u`.
pub fn prepay_jacobian(u: &[f64]) -> Vec<[f64; PREPAY_DIM]> {
    let mut jac = vec![[0.0; PREPAY_DIM]; 19];
    for k in 0..7 {
        jac[k][k] = match PREPAY_UPPER[k] {
            Some(upper) => bounded_slope(bounded(u[k], upper), upper),
            None => 1.0,
        };
    }
    let s = seasonality(u);
    for k in 0..12 {
        for j in 1..12 {
            let delta = if k == j { 1.0 } else { 0.0 };
            jac[SEASON + k][6 + j] = s[k] * (delta - s[j] / 12.0);
        }
    }
    jac
}

/// Negative mean log-likelihood of the prepayment cells at internal
/// coordinates `u`, and its gradient in `grad` (same scale).
pub fn prepay_nll(cells: &[PrepayCell], fixed: &Fixed, u: &[f64], grad: &mut [f64]) -> f64 {
    let mut nat = [0.0; crate::model::NUM_PARAMS];
    prepay_natural(u, &mut nat);
    let [tc, lockin, rm, slope, mid, burnout, refi_fico] =
        [nat[0], nat[1], nat[2], nat[3], nat[4], nat[5], nat[6]];
    let seas = seasonality(u);
    let (cap, mult) = (fixed.cpr_cap, fixed.cpr_multiplier);
    // Per chunk: [ll, n, d/du0..d/du6, G_0..G_11] where G_k is Σ g·T over
    // the cells of season k (for the seasonal coordinates).
    const W: usize = 2 + 7 + 12;
    let parts: Vec<[f64; W]> = cells
        .par_chunks(CHUNK)
        .map(|chunk| {
            let mut acc = [0.0; W];
            for c in chunk {
                let lock = (lockin * c.iota.min(0.0)).exp();
                let turnover = tc * c.ramp * seas[c.season] * lock;
                let el = (-(slope * (c.iota - mid))).exp();
                let logistic = 1.0 / (1.0 + el);
                let refi =
                    rm * logistic * (refi_fico * c.fico_x - burnout * c.burn_e).exp() * c.ramp;
                let raw = mult * (turnover + refi);
                acc[1] += c.n;
                let capped = raw.is_nan() || raw >= cap;
                let cpr = if capped { cap } else { raw };
                let ln_keep12 = (1.0 - cpr).ln() / 12.0; // ln(1 − SMM)
                let keep = ln_keep12.exp();
                let smm = (1.0 - keep).max(TINY);
                acc[0] += c.k * smm.ln() + (c.n - c.k) * ln_keep12;
                if capped {
                    continue;
                }
                // dℓ/dCPR, times the multiplier: ∂CPR/∂(T or R) = mult.
                let g = mult * (c.k * keep / smm - (c.n - c.k)) / (12.0 * (1.0 - cpr));
                let gt = g * turnover;
                let gr = g * refi;
                let one_minus_l = el * logistic;
                acc[2] += gt;
                acc[3] += gt * c.iota.min(0.0) * lockin;
                acc[4] += gr;
                acc[5] += gr * one_minus_l * (c.iota - mid) * slope;
                acc[6] += -gr * one_minus_l * slope;
                acc[7] += -gr * c.burn_e * burnout;
                acc[8] += gr * c.fico_x;
                acc[9 + c.season] += gt;
            }
            acc
        })
        .collect();
    let mut total = [0.0; W];
    for p in &parts {
        for (t, x) in total.iter_mut().zip(p) {
            *t += x;
        }
    }
    let n = total[1].max(1.0);
    for k in 0..7 {
        // The sums are x·∂ℓ/∂x for the bounded scalars: ∂x/∂u = x·(1 − x/U).
        let scale = PREPAY_UPPER[k].map_or(1.0, |upper| 1.0 - nat[k] / upper);
        grad[k] = -total[2 + k] * scale / n;
    }
    let g_all: f64 = total[9..].iter().sum();
    for j in 1..12 {
        grad[6 + j] = -(total[9 + j] - seas[j] / 12.0 * g_all) / n;
    }
    -total[0] / n
}

/// Dimension of the roll block's coordinates: `logit base_roll, fico_beta, ltv_beta`.
pub const ROLL_DIM: usize = 3;

/// The roll block's coordinates of `v`.
pub fn roll_internal(v: &Values) -> [f64; ROLL_DIM] {
    let b = crate::model::BASE_ROLL;
    [unbounded(v[b], 1.0), v[b + 1], v[b + 2]]
}

/// Write the roll block's natural values.
pub fn roll_natural(u: &[f64], v: &mut Values) {
    let b = crate::model::BASE_ROLL;
    v[b] = bounded(u[0], 1.0);
    v[b + 1] = u[1];
    v[b + 2] = u[2];
}

/// Negative mean log-likelihood of the roll cells at `u` and its gradient.
pub fn roll_nll(cells: &[RollCell], fixed: &Fixed, u: &[f64], grad: &mut [f64]) -> f64 {
    let ln_mult = fixed.roll_multiplier.max(TINY).ln();
    let base_roll = bounded(u[0], 1.0);
    let ln_base = base_roll.max(TINY).ln();
    let parts: Vec<[f64; 5]> = cells
        .par_chunks(CHUNK)
        .map(|chunk| {
            let mut acc = [0.0; 5];
            for c in chunk {
                let eta = ln_base + u[1] * c.fico_x + u[2] * c.ltv_x + ln_mult;
                let raw = eta.exp();
                acc[1] += c.n;
                let capped = raw.is_nan() || raw >= fixed.roll_cap;
                let roll = if capped { fixed.roll_cap } else { raw };
                let keep = (1.0 - roll).max(TINY);
                acc[0] += c.k * roll.max(TINY).ln() + (c.n - c.k) * keep.ln();
                if capped {
                    continue;
                }
                let g = c.k - (c.n - c.k) * roll / keep;
                acc[2] += g;
                acc[3] += g * c.fico_x;
                acc[4] += g * c.ltv_x;
            }
            acc
        })
        .collect();
    let mut total = [0.0; 5];
    for p in &parts {
        for (t, x) in total.iter_mut().zip(p) {
            *t += x;
        }
    }
    let n = total[1].max(1.0);
    for k in 0..3 {
        grad[k] = -total[2 + k] / n;
    }
    // ∂ ln(base_roll)/∂u = 1 − base_roll.
    grad[0] *= 1.0 - base_roll;
    -total[0] / n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{values_of, Model, NUM_PARAMS};

    fn cells() -> Vec<PrepayCell> {
        let mut out = Vec::new();
        for (i, iota) in [-1.5, -0.2, 0.4, 1.3, 2.6].into_iter().enumerate() {
            for season in 0..12 {
                out.push(PrepayCell {
                    iota,
                    ramp: if season % 3 == 0 { 0.4 } else { 1.0 },
                    season,
                    fico_x: (i as f64 - 2.0) * 0.3,
                    burn_e: (season * i) as f64 * 0.7,
                    n: 50.0 + season as f64,
                    k: 1.0 + (i + season) as f64 % 4.0,
                });
            }
        }
        out
    }

    fn fixed() -> Fixed {
        Fixed {
            cpr_cap: 0.95,
            cpr_multiplier: 1.0,
            roll_cap: 0.5,
            roll_multiplier: 1.0,
        }
    }

    /// The analytic gradient agrees with central differences.
    #[test]
    fn prepay_gradient_is_the_derivative() {
        let cells = cells();
        let mut u = prepay_internal(&values_of(&Config::default()));
        u[8] += 0.1;
        let mut g = [0.0; PREPAY_DIM];
        prepay_nll(&cells, &fixed(), &u, &mut g);
        for k in 0..PREPAY_DIM {
            let h = 1e-6;
            let mut scratch = [0.0; PREPAY_DIM];
            let (mut up, mut dn) = (u, u);
            up[k] += h;
            dn[k] -= h;
            let fd = (prepay_nll(&cells, &fixed(), &up, &mut scratch)
                - prepay_nll(&cells, &fixed(), &dn, &mut scratch))
                / (2.0 * h);
            assert!(
                (fd - g[k]).abs() < 1e-7 * (1.0 + fd.abs()),
                "{k}: {fd} vs {}",
                g[k]
            );
        }
    }

    #[test]
    fn roll_gradient_is_the_derivative() {
        let cells: Vec<RollCell> = (0..40)
            .map(|i| RollCell {
                fico_x: (i % 7) as f64 * 0.3 - 1.0,
                ltv_x: (i % 5) as f64 * 0.1 - 0.2,
                n: 100.0,
                k: (i % 3) as f64,
            })
            .collect();
        let u = roll_internal(&values_of(&Config::default()));
        let mut g = [0.0; ROLL_DIM];
        roll_nll(&cells, &fixed(), &u, &mut g);
        for k in 0..ROLL_DIM {
            let h = 1e-6;
            let mut s = [0.0; ROLL_DIM];
            let (mut up, mut dn) = (u, u);
            up[k] += h;
            dn[k] -= h;
            let fd = (roll_nll(&cells, &fixed(), &up, &mut s)
                - roll_nll(&cells, &fixed(), &dn, &mut s))
                / (2.0 * h);
            assert!(
                (fd - g[k]).abs() < 1e-7 * (1.0 + fd.abs()),
                "{k}: {fd} vs {}",
                g[k]
            );
        }
    }

    /// Internal coordinates round-trip, and the cell likelihood is the sum
    /// of ln P(move) from msr-model's chain.
    #[test]
    fn block_likelihood_is_the_chains() {
        let config = Config::default();
        let v = values_of(&config);
        let mut back = [0.0; NUM_PARAMS];
        back.copy_from_slice(&v);
        prepay_natural(&prepay_internal(&v), &mut back);
        for k in 0..19 {
            assert!((back[k] - v[k]).abs() < 1e-12, "{k}");
        }
        let model = Model::new(&config, &v);
        let cells = cells();
        let mut want = 0.0;
        let mut n = 0.0;
        for c in &cells {
            let x = Covariates {
                status: DqState::C,
                iota: c.iota,
                age: (c.ramp * 30.0).round() as i32,
                season: c.season,
                fico: (700.0 + 100.0 * c.fico_x).round() as i32,
                ltv: 80.0,
                burn_e: c.burn_e,
                judicial: false,
            };
            let p = model.probs(&x);
            let smm = p[Next::Pp.index()];
            want += c.k * smm.ln() + (c.n - c.k) * (1.0 - smm).ln();
            n += c.n;
        }
        let mut g = [0.0; PREPAY_DIM];
        let got = -prepay_nll(&cells, &fixed(), &prepay_internal(&v), &mut g) * n;
        assert!((got - want).abs() < 1e-9 * want.abs(), "{got} vs {want}");
    }
}
