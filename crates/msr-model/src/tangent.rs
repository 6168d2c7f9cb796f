//! Pathwise derivatives of a loan's path values with respect to moves of the
//! rate curve, in the base run: the option `--derivatives tangent` of
//! `msr risk` (docs/risk.md, "Durations without bumps").
//!
//! A curve move in direction `k` (a key-rate tent, or the parallel shift)
//! moves each path's mortgage rate `m[p,t]`, short rate `r[p,t]` and discount
//! factor `D[p,t]`, the normals held fixed. [`MarketTangent`] holds those
//! moves per unit of shock, `(∂m, ∂r, ∂ln D)`: under Hull–White they are the
//! same on every path (checked when built), so one row per month serves
//! every path and loan, and `∂max(r,0) = ∂r·[r > 0]` is formed per lane.
//!
//! The derivative of a path value along a move is its tangent: every quantity
//! the kernel forms, differentiated by these rules per month (ι the
//! incentive, as in MODEL.md §D.1):
//! * lock-in `min(1, lock_c·e^{−100·lockin·m})`: `−100·lockin·lockin_t·∂m`
//!   where the cap does not bind, else 0, and half of it on the kink
//!   (`c = m` to rounding: the symmetric derivative, which central
//!   differences reach; a loan at the current coupon sits there in its first
//!   month on every path);
//! * S-curve `L = 1/(1 + refi_c·e^{100·slope·m})`: `−100·slope·L·(1 − L)·∂m`;
//! * burnout `burn_{t+1} = burn_t·min(1, burn_c·e^{100·burnout·m_t})`: the
//!   product rule, `100·burnout·step·∂m` per step where the cap does not
//!   bind (half on the kink, as for the lock-in);
//! * `CPR = min(cap, mult·(turnover·lockin + refi·L·burn))`: 0 where the cap
//!   binds; `SMM = 1 − (1 − CPR)^{1/12}`: `∂SMM = (1 − SMM)/(12·(1 − CPR))·∂CPR`;
//! * the chain (§D.3), the advances (§E.2) and every component (§E.3) are
//!   linear in the masses for given SMM and rates; the SMM enters the chain
//!   through `π(C)·SMM`, and the rates enter three components linearly (P&I
//!   and escrow float, advance financing);
//! * `∂(CF·D) = ∂CF·D + CF·D·∂ln D`.
//!
//! At the other kinks (the CPR cap binding exactly, `r = 0`: no loan sits
//! there systematically) the one-sided rule is taken.
//!
//! [`run_block_tangent_at`] evaluates these derivatives in reverse (adjoint)
//! order rather than carrying one tangent per direction forward: a forward
//! sweep runs the block with the kernel's own operations (so the same SMMs
//! and masses) and keeps ten lane vectors per month; a backward sweep carries
//! the adjoints of the masses, advances and burnout memory (the transposes
//! of the chain and advance steps) and yields `∂PV/∂m_t`, `∂PV/∂r_t` and
//! `∂PV/∂ln D_t` per lane and month, which each direction weighs by its
//! moves. Six key rates then cost about two runs of the block, not six
//! tangents. The two orders give the same derivative up to rounding; the
//! tests hold it to central differences of the kernel itself.

use msr_rates::PathSet;

use crate::chain::{step_lanes, step_lanes_adjoint};
use crate::fastmath::{smm_lanes, smm_lanes_capped, SMM_CAPPED_MAX_CPR};
use crate::kernel::{advance_balance, month_net, AdvanceRules};
use crate::lanes::{LaneRows, LANES};
use crate::loan_terms::LoanTerms;
use crate::market::Market;
use crate::params::ModelParams;
use crate::simd::{Lanes, WithLanes};

/// Directions one tangent pass carries at most.
pub const MAX_DIRECTIONS: usize = 8;

/// How far (absolute, per unit of shock) one path's move may be from the
/// first path's before the moves count as path-dependent: the central
/// differences of affine paths agree to about 1e-11 (`ln D` at 30 years over
/// a 2 bp step).
const PATH_INDEPENDENCE_TOLERANCE: f64 = 1e-8;

/// The per-unit moves of the market inputs under a few curve moves
/// ("directions"): `[∂m, ∂r, ∂ln D]` per month and direction, row
/// `t·directions + k`.
///
/// Under Hull–White with the curve fitted exactly, a curve move shifts the
/// short rate by a deterministic function of time (`r = x + α(t)`, only `α`
/// depends on the curve), and the mortgage rate and `ln D` with it: the moves
/// are the same on every path. So they are kept once per month (a few kB,
/// in cache for every loan), not per path, and the only path-dependent part,
/// `∂max(r,0) = ∂r·[r > 0]`, is formed in the kernel from the market's own
/// `max(r,0)`. [`MarketTangent::from_differences`] checks the independence
/// rather than assuming it.
#[derive(Debug, Clone)]
pub struct MarketTangent {
    directions: usize,
    months: usize,
    paths: usize,
    rows: Vec<[f64; 3]>,
}

/// Why tangents could not be formed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TangentError {
    /// A curve move moved some path's inputs differently from the first
    /// path's: these paths do not come from a model whose moves are
    /// deterministic, and the compact tangents would be wrong.
    #[error(
        "direction {direction}, month {month}: path {path} moves {what} by {got} per unit, \
         path 0 by {want}: the tangents need moves that are the same on every path"
    )]
    PathDependent {
        /// 0-based direction.
        direction: usize,
        /// 1-based month.
        month: usize,
        /// The path.
        path: usize,
        /// `m`, `r` or `ln D`.
        what: &'static str,
        /// Its move.
        got: f64,
        /// Path 0's move.
        want: f64,
    },
}

impl MarketTangent {
    /// The tangents of `base` from central differences of paths generated
    /// from the same normals on curves moved by `±h` in each of
    /// `directions` directions: `moved(k)` gives direction `k`'s
    /// `(up, down)` path sets, asked for one direction at a time so that only
    /// one pair is held. The Hull–White paths are affine in the curve's zero
    /// rates, so the quotient is the derivative up to rounding.
    ///
    /// # Errors
    /// [`TangentError::PathDependent`] when some path moves differently from
    /// the first (beyond rounding).
    ///
    /// # Panics
    /// If `directions` exceeds [`MAX_DIRECTIONS`], if a path set's shape
    /// differs from `base`'s, if `months` exceeds the paths' months, or
    /// `h ≤ 0`.
    pub fn from_differences(
        base: &PathSet,
        directions: usize,
        mut moved: impl FnMut(usize) -> (PathSet, PathSet),
        h: f64,
        months: usize,
    ) -> Result<MarketTangent, TangentError> {
        assert!(
            directions <= MAX_DIRECTIONS,
            "{directions} tangent directions (at most {MAX_DIRECTIONS})"
        );
        assert!(h > 0.0, "difference step must be positive");
        assert!(months <= base.months(), "paths too short");
        let num_paths = base.num_paths();
        let inv = 1.0 / (2.0 * h);
        let mut rows = vec![[0.0; 3]; months * directions];
        for k in 0..directions {
            let (u, d) = moved(k);
            for p in [&u, &d] {
                assert!(
                    p.num_paths() == num_paths && p.months() == base.months(),
                    "shocked paths differ in shape from the base"
                );
            }
            let moves = |p: usize, t: usize| {
                [
                    (u.mortgage_rate[[p, t]] - d.mortgage_rate[[p, t]]) * inv,
                    (u.short_rate[[p, t]] - d.short_rate[[p, t]]) * inv,
                    (u.discount[[p, t]].ln() - d.discount[[p, t]].ln()) * inv,
                ]
            };
            for t in 0..months {
                let want = moves(0, t);
                for p in 1..num_paths {
                    let got = moves(p, t);
                    for (i, what) in ["m", "r", "ln D"].into_iter().enumerate() {
                        if (got[i] - want[i]).abs() > PATH_INDEPENDENCE_TOLERANCE {
                            return Err(TangentError::PathDependent {
                                direction: k,
                                month: t + 1,
                                path: p,
                                what,
                                got: got[i],
                                want: want[i],
                            });
                        }
                    }
                }
                rows[t * directions + k] = want;
            }
        }
        Ok(MarketTangent {
            directions,
            months,
            paths: num_paths,
            rows,
        })
    }

    /// Directions carried.
    pub fn directions(&self) -> usize {
        self.directions
    }

    /// Months covered.
    pub fn months(&self) -> usize {
        self.months
    }

    /// Whether these tangents belong to a market of this shape.
    fn fits(&self, market: &Market) -> bool {
        self.months == market.months() && self.paths == market.num_paths()
    }
}

/// Each lane's derivative of the block's path value, one row per direction
/// (`[k][lane]`; rows past [`MarketTangent::directions`] untouched).
pub type TangentRows = [[f64; LANES]; MAX_DIRECTIONS];

/// What the forward sweep keeps of each month for the backward one, per
/// lane (see [`Tape`]).
const TAPE_FIELDS: usize = 10;

/// Reused memory of [`run_block_tangent_at`]: one block's forward sweep,
/// a row of [`TAPE_FIELDS`] lane vectors per month. Nothing allocates per
/// call once it has grown to the longest loan.
#[derive(Debug, Clone, Default)]
pub struct TangentScratch {
    tape: Vec<LaneRows<TAPE_FIELDS>>,
}

/// The fields of a month's tape row.
#[repr(usize)]
enum Tape {
    /// Start-of-month C mass `π_t(C)`.
    C,
    Smm,
    /// Voluntary payoff mass.
    Pp,
    /// Month-end C mass.
    CEnd,
    /// Month-end advance balance.
    AdvBal,
    /// The month's discounted net cash flow `CF·D`.
    NetD,
    /// `∂SMM/∂m_t` through the month's own lock-in and S-curve.
    SmmM,
    /// `∂SMM/∂burn_t`.
    SmmBurn,
    /// `∂burn_{t+1}/∂m_t`.
    BurnM,
    /// `∂burn_{t+1}/∂burn_t` (the month's burnout step).
    BurnStep,
}

/// The derivatives `∂PV/∂shock` of one loan's path values on block `block`
/// of `market`, for every direction of `tangent`, into `out[k]` (lane by
/// lane; padding lanes 0). `terms` prepared as for the kernel, and
/// [`LoanTerms::prepare_net`] called with `p`.
///
/// Computed in reverse (adjoint) mode: a forward sweep over the months (the
/// kernel's own operations, so the same SMMs and masses) keeps what the
/// backward sweep needs; the backward sweep carries the adjoints of the
/// masses, advances and burnout memory and yields each month's
/// `∂PV/∂m_t`, `∂PV/∂r_t` and `∂PV/∂ln D_t` per lane, which every direction
/// then weighs by its moves — so the cost hardly depends on the number of
/// directions. The derivatives are those of the forward-mode rules in the
/// module documentation, summed in another order.
///
/// # Panics
/// If this CPU lacks `level`, if `tangent` was built for another shape of
/// market, or if `terms` was not prepared for the market's months (or
/// without [`LoanTerms::prepare_net`] with `p`).
#[allow(clippy::too_many_arguments)]
pub fn run_block_tangent_at(
    level: crate::simd::Level,
    terms: &LoanTerms,
    p: &ModelParams,
    market: &Market,
    tangent: &MarketTangent,
    block: usize,
    scratch: &mut TangentScratch,
    out: &mut TangentRows,
) {
    assert!(tangent.fits(market), "tangents built for another market");
    assert!(
        terms.n <= market.months() && terms.coefs.len() >= terms.n,
        "loan terms not prepared"
    );
    assert!(
        terms.net_prepared(p),
        "LoanTerms::prepare_net not called with these parameters"
    );
    if scratch.tape.len() < terms.n {
        scratch.tape.resize(terms.n, LaneRows::default());
    }
    crate::simd::run_at(
        level,
        TangentBlock {
            terms,
            p,
            market,
            tangent,
            block,
            tape: &mut scratch.tape[..terms.n],
            out,
        },
    );
}

/// [`run_block_tangent_at`]'s arguments, dispatched by `crate::simd::run_at`.
struct TangentBlock<'a> {
    terms: &'a LoanTerms,
    p: &'a ModelParams,
    market: &'a Market,
    tangent: &'a MarketTangent,
    block: usize,
    tape: &'a mut [LaneRows<TAPE_FIELDS>],
    out: &'a mut TangentRows,
}

impl WithLanes for TangentBlock<'_> {
    type Output = ();
    #[inline(always)]
    fn with_lanes<S: Lanes>(self, s: S) {
        let TangentBlock {
            terms,
            p,
            market,
            tangent,
            block,
            tape,
            out,
        } = self;
        forward_sweep(s, terms, p, market, block, tape);
        backward_sweep(s, terms, p, market, tangent, block, tape, out);
    }
}

/// The block's months as the kernel runs them, keeping each month's
/// [`Tape`] row.
#[inline(always)]
fn forward_sweep<S: Lanes>(
    s: S,
    terms: &LoanTerms,
    p: &ModelParams,
    market: &Market,
    block: usize,
    tape: &mut [LaneRows<TAPE_FIELDS>],
) {
    let n = terms.n;
    let prepay = market.prepay_block(block, n);
    let cash = market.cash_block(block, n);
    let k = |x: f64| s.splat(x);
    let (zero, one) = (k(0.0), k(1.0));
    let capped = p.cpr_cap <= SMM_CAPPED_MAX_CPR;

    let active = market.active_lanes(block);
    let mask: [f64; LANES] = std::array::from_fn(|l| if l < active { 1.0 } else { 0.0 });
    let maskv = s.load(&mask);
    let mut pi = [zero; 6];
    pi[terms.start_state] = maskv;
    let mut adv = [zero; 5];
    if terms.start_state > 0 {
        adv[terms.start_state - 1] = s.mul(maskv, k(terms.advance_balance));
    }
    let mut burn = one;
    let rules = AdvanceRules::new(s, terms, p);
    let chain = &terms.chain;
    // ∂/∂m of the prepayment factors' exponents.
    let k_lock = k(-100.0 * p.lockin);
    let k_slope = k(-100.0 * p.refi_slope);
    let k_burn = k(100.0 * p.burnout);
    let (mult, cap) = (k(p.cpr_multiplier), k(p.cpr_cap));

    for (t, row) in tape.iter_mut().enumerate() {
        let c = &terms.coefs[t];
        // §D.1, as the kernel's prepayment pass forms it.
        let [lock_m, refi_m, burn_m] = &prepay[t].0;
        let (lock_m, refi_m, burn_m) = (s.load(lock_m), s.load(refi_m), s.load(burn_m));
        let bases = terms.bases(t, false);
        let (lockin, logistic) = terms.rate_factors_lanes(s, lock_m, refi_m);
        let refi_factor = s.mul(logistic, burn);
        let cpr = terms.cpr_from_factors_lanes(s, bases, lockin, refi_factor, p);
        let smm = if capped {
            smm_lanes_capped(s, cpr)
        } else {
            smm_lanes(s, cpr)
        };
        let step = terms.burn_step_lanes(s, burn_m);
        // The local derivatives of the month's prepayment.
        let (turnover_base, refi_base) = bases;
        // ∂SMM/∂CPR·mult where the cap does not bind (`cpr = min(cap, raw)`
        // is below the cap exactly where `raw` is).
        let gm = s.select_lt(
            cpr,
            cap,
            s.div(
                s.mul(s.sub(one, smm), mult),
                s.mul(k(12.0), s.sub(one, cpr)),
            ),
            zero,
        );
        // The lock-in and burnout caps bind from ι = 0 on: the kink. The
        // capped factor stands for the raw one where the weight is not 0
        // (they differ by rounding on the kink), and keeps an overflowing
        // raw factor (∞, weight 0) from giving ∞·0.
        let lock_raw = s.mul(k(terms.lock_c), lock_m);
        let dlock_dm = s.mul(s.mul(k_lock, lockin), kink_weight(s, lock_raw));
        // ∂L/∂m = −100·slope·L·(1 − L).
        let dlogistic_dm = s.mul(k_slope, s.mul(logistic, s.sub(one, logistic)));
        let step_raw = s.mul(k(terms.burn_c), burn_m);
        let dstep_dm = s.mul(s.mul(k_burn, step), kink_weight(s, step_raw));
        let smm_m = s.mul(
            gm,
            s.mul_add(
                k(turnover_base),
                dlock_dm,
                s.mul(k(refi_base), s.mul(burn, dlogistic_dm)),
            ),
        );
        let smm_burn = s.mul(gm, s.mul(k(refi_base), logistic));

        // The month (§D.3, §E).
        let [r_pos, r_adv, df] = &cash[t].0;
        let (r, r_adv, d) = (s.load(r_pos), s.load(r_adv), s.load(df));
        let st = step_lanes(s, &pi, smm, c.roll, c.keep, chain);
        let liq_loss = rules.liq_loss(s, &pi, &adv);
        let adv_next = rules.step(s, &adv, &st.pi, &c.adv_new);
        let adv_bal = advance_balance(s, &adv_next);
        let net = month_net(
            s,
            &terms.net[t],
            &st.pi,
            st.pp_mass,
            liq_loss,
            adv_bal,
            r,
            r_adv,
        );
        let fields = [
            pi[0],
            smm,
            st.pp_mass,
            st.pi[0],
            adv_bal,
            s.mul(net, d),
            smm_m,
            smm_burn,
            s.mul(burn, dstep_dm),
            step,
        ];
        for (slot, v) in row.0.iter_mut().zip(fields) {
            s.store(slot, v);
        }
        pi = st.pi;
        adv = adv_next;
        burn = s.mul(burn, step);
    }
}

/// The months backwards: the adjoints of the month-end masses, advances and
/// burnout memory, each month's `∂PV/∂(m, r, ln D)` per lane, and their
/// weighing by every direction's moves into `out`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn backward_sweep<S: Lanes>(
    s: S,
    terms: &LoanTerms,
    p: &ModelParams,
    market: &Market,
    tangent: &MarketTangent,
    block: usize,
    tape: &[LaneRows<TAPE_FIELDS>],
    out: &mut TangentRows,
) {
    let n = terms.n;
    let dirs = tangent.directions;
    let cash = market.cash_block(block, n);
    let k = |x: f64| s.splat(x);
    let zero = k(0.0);
    let rules = AdvanceRules::new(s, terms, p);
    let chain = &terms.chain;
    let twelfth = k(1.0 / 12.0);

    // Adjoints of the month-end masses, advances and burnout memory.
    let mut bar_pi = [zero; 6];
    let mut bar_adv = [zero; 5];
    let mut bar_burn = zero;
    let mut acc = [zero; MAX_DIRECTIONS];

    for t in (0..n).rev() {
        let (c, nc) = (&terms.coefs[t], &terms.net[t]);
        let row = &tape[t].0;
        let f = |i: Tape| s.load(&row[i as usize]);
        let [r_pos, r_adv, df] = &cash[t].0;
        let (r, r_adv, d) = (s.load(r_pos), s.load(r_adv), s.load(df));
        // PV = Σ CF_t·D_t: ∂PV/∂CF_t = D_t.
        let bar_net = d;
        // §E.3 (`month_net`, linear in the month-end masses, the payoffs,
        // the advances and `max(r,0)`): ∂CF/∂ each of them.
        bar_pi[0] = s.mul_add(
            bar_net,
            s.mul_add(r, k(nc.float_c), k(nc.mass[0])),
            bar_pi[0],
        );
        for (b, &m) in bar_pi.iter_mut().zip(&nc.mass).skip(1) {
            *b = s.mul_add(bar_net, k(m), *b);
        }
        let bar_pp = s.mul(bar_net, s.mul_add(r, k(nc.float_payoff), k(nc.payoff)));
        let bar_liq = s.neg(bar_net);
        let bar_adv_bal = s.neg(s.mul(bar_net, r_adv));
        for a in &mut bar_adv {
            *a = s.add(*a, bar_adv_bal);
        }
        // ∂CF/∂max(r,0): P&I and escrow float, advance financing (r_adv =
        // (max(r,0) + spread)/12); ∂max(r,0)/∂r = [r > 0].
        let c_end = f(Tape::CEnd);
        let dcf_dr = s.sub(
            s.mul_add(c_end, k(nc.float_c), s.mul(f(Tape::Pp), k(nc.float_payoff))),
            s.mul(f(Tape::AdvBal), twelfth),
        );
        let bar_r = s.select_lt(zero, r, s.mul(bar_net, dcf_dr), zero);

        // §E.2 advances (adv' = R(adv, π')), §D.3 chain (π' from π and the
        // SMM), and the liquidation losses of the start-of-month masses and
        // advances: their transposes.
        let mut start_adv = rules.step_adjoint(s, &bar_adv, &mut bar_pi, &c.adv_new);
        let (mut start_pi, bar_smm) = step_lanes_adjoint(
            s,
            f(Tape::C),
            f(Tape::Smm),
            &bar_pi,
            bar_pp,
            c.roll,
            c.keep,
            chain,
        );
        rules.liq_loss_adjoint(s, bar_liq, &mut start_pi, &mut start_adv);

        // §D.1: the month's SMM through m_t and burn_t; burn_{t+1} = burn_t·step_t.
        let bar_m = s.mul_add(bar_smm, f(Tape::SmmM), s.mul(bar_burn, f(Tape::BurnM)));
        bar_burn = s.mul_add(
            bar_burn,
            f(Tape::BurnStep),
            s.mul(bar_smm, f(Tape::SmmBurn)),
        );

        // Weigh by every direction's moves of the month.
        let bar_lnd = f(Tape::NetD);
        let moves = &tangent.rows[t * dirs..(t + 1) * dirs];
        for (a, &[dm, dr, dlnd]) in acc.iter_mut().zip(moves) {
            *a = s.mul_add(
                bar_m,
                k(dm),
                s.mul_add(bar_r, k(dr), s.mul_add(bar_lnd, k(dlnd), *a)),
            );
        }
        bar_pi = start_pi;
        bar_adv = start_adv;
    }
    for (o, v) in out.iter_mut().zip(acc).take(dirs) {
        s.store(o, v);
    }
}

/// Relative distance from 1 within which a capped factor `min(x, 1)` counts
/// as sitting on its kink (a loan whose note rate equals the path's
/// mortgage rate: `x = e^{±100·k·(c − m)}` is 1 up to the rounding of two
/// exponentials).
const KINK_TOLERANCE: f64 = 1e-12;

/// The weight of `x`'s own derivative in that of `min(x, 1)`: 1 below the
/// cap, 0 above, and ½ on the kink — the symmetric derivative, the limit of
/// the central differences a bump takes. Loans whose note rate is the
/// current mortgage rate sit on it in their first month on every path.
#[inline(always)]
fn kink_weight<S: Lanes>(s: S, x: S::F) -> S::F {
    let k = |v: f64| s.splat(v);
    s.select_lt(
        x,
        k(1.0 - KINK_TOLERANCE),
        k(1.0),
        s.select_lt(k(1.0 + KINK_TOLERANCE), x, k(0.0), k(0.5)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{run_block_at, BlockAccum, BlockScratch};
    use crate::simd::{detected, Level};
    use msr_core::loan::{DqState, Investor, Loan};
    use msr_core::Config;
    use msr_rates::{NormalGenerator, Normals, RateModel};

    const MONTHS: usize = 300;

    fn setup(num_paths: usize) -> (Config, ModelParams, RateModel, Normals) {
        let config = Config::default();
        let model =
            RateModel::from_config(&config.curve, &config.hull_white, &config.mortgage_rate)
                .unwrap();
        let normals = NormalGenerator::new(7, true).normals(num_paths, MONTHS);
        let params = ModelParams::from_config(&config);
        (config, params, model, normals)
    }

    /// The kernel tests' loan, a GSE (FNMA) one.
    fn loan(state: DqState, note_rate: f64) -> Loan {
        crate::kernel::tests::loan(state, Investor::Fnma, note_rate)
    }

    /// The six key-rate directions and the parallel one, as `(up, down)` models.
    fn moved(model: &RateModel, h: f64) -> Vec<(RateModel, RateModel)> {
        let mut m: Vec<_> = (0..6)
            .map(|k| (model.shocked_key_rate(k, h), model.shocked_key_rate(k, -h)))
            .collect();
        m.push((model.shocked_parallel(h), model.shocked_parallel(-h)));
        m
    }

    fn tangent_of(model: &RateModel, normals: &Normals) -> MarketTangent {
        let h = 1e-4;
        let models = moved(model, h);
        MarketTangent::from_differences(
            &model.paths(normals, MONTHS),
            models.len(),
            |k| {
                let (u, d) = &models[k];
                (u.paths(normals, MONTHS), d.paths(normals, MONTHS))
            },
            h,
            MONTHS,
        )
        .unwrap()
    }

    /// One block's derivatives at `level`.
    fn tangents(
        level: Level,
        terms: &LoanTerms,
        params: &ModelParams,
        market: &Market,
        tangent: &MarketTangent,
        block: usize,
    ) -> TangentRows {
        let mut rows = [[0.0; LANES]; MAX_DIRECTIONS];
        let mut scratch = TangentScratch::default();
        run_block_tangent_at(
            level,
            terms,
            params,
            market,
            tangent,
            block,
            &mut scratch,
            &mut rows,
        );
        rows
    }

    /// Each lane's path value on `market`.
    fn values(terms: &LoanTerms, p: &ModelParams, market: &Market, block: usize) -> [f64; LANES] {
        let mut out = BlockAccum::default();
        let mut scratch = BlockScratch::default();
        run_block_at::<false>(
            detected(),
            terms,
            p,
            market,
            None,
            block,
            &mut scratch,
            &mut out,
            None,
        );
        out.pv_net
    }

    /// The tangent pass agrees with a central difference of the kernel's
    /// own path values on markets moved by ±1e-6 (a much smaller step than
    /// the tangents' own differences of the rate paths), lane by lane, for
    /// every direction, for a current and a delinquent loan in and out of
    /// the money, and a loan at the current coupon (on the kinks).
    #[test]
    fn tangent_equals_a_central_difference_of_the_kernel() {
        let num_paths = 11;
        let (config, params, model, normals) = setup(num_paths);
        let tangent = tangent_of(&model, &normals);
        let base = Market::new(&model.paths(&normals, MONTHS), &params, 0.001, MONTHS);
        let e = 1e-6;
        let markets: Vec<(Market, Market)> = moved(&model, e)
            .iter()
            .map(|(u, d)| {
                (
                    Market::new(&u.paths(&normals, MONTHS), &params, 0.001, MONTHS),
                    Market::new(&d.paths(&normals, MONTHS), &params, 0.001, MONTHS),
                )
            })
            .collect();
        let mut checked = 0;
        for (state, rate) in [
            (DqState::C, 0.065),
            (DqState::C, 0.03),
            (DqState::D60, 0.07),
            // On the lock-in and burnout kinks in month 1 of every path.
            (DqState::C, config.mortgage_rate.m0),
        ] {
            let loan = loan(state, rate);
            let mut terms = LoanTerms::default();
            let h = config.credit.fc_hazard(loan.state_code());
            terms.prepare(&loan, &params, h);
            terms.prepare_net(&params);
            for block in 0..base.num_blocks() {
                let rows = tangents(detected(), &terms, &params, &base, &tangent, block);
                let scale = values(&terms, &params, &base, block)
                    .iter()
                    .fold(0.0f64, |m, v| m.max(v.abs()));
                for (j, (up, down)) in markets.iter().enumerate() {
                    let (vu, vd) = (
                        values(&terms, &params, up, block),
                        values(&terms, &params, down, block),
                    );
                    for l in 0..base.active_lanes(block) {
                        let fd = (vu[l] - vd[l]) / (2.0 * e);
                        let tan = rows[j][l];
                        assert!(
                            (tan - fd).abs() <= 1e-6 * (fd.abs() + scale),
                            "{state:?} {rate} direction {j} lane {l}: tangent {tan}, difference {fd}"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 4 * 7 * num_paths);
    }

    /// The key-rate tents sum to one at every tenor, so the parallel
    /// tangent is the sum of the six key-rate tangents.
    #[test]
    fn parallel_tangent_is_the_sum_of_the_key_rates() {
        let (config, params, model, normals) = setup(8);
        let tangent = tangent_of(&model, &normals);
        let base = Market::new(&model.paths(&normals, MONTHS), &params, 0.001, MONTHS);
        let loan = loan(DqState::D30, 0.06);
        let mut terms = LoanTerms::default();
        terms.prepare(&loan, &params, config.credit.fc_hazard(loan.state_code()));
        terms.prepare_net(&params);
        let rows = tangents(detected(), &terms, &params, &base, &tangent, 0);
        for l in 0..LANES {
            let sum: f64 = rows[..6].iter().map(|r| r[l]).sum();
            assert!(rows[6][l] != 0.0);
            assert!(
                (sum - rows[6][l]).abs() <= 1e-9 * rows[6][l].abs(),
                "lane {l}: Σ key rates {sum}, parallel {}",
                rows[6][l]
            );
        }
    }

    /// Moves that differ between paths (not a curve move of Hull–White
    /// paths) are refused, naming where.
    #[test]
    fn path_dependent_moves_are_refused() {
        let (_, _, model, normals) = setup(4);
        let base = model.paths(&normals, MONTHS);
        let up = model.shocked_parallel(1e-4).paths(&normals, MONTHS);
        let mut down = model.shocked_parallel(-1e-4).paths(&normals, MONTHS);
        down.mortgage_rate[[2, 40]] += 1e-9;
        let mut pair = Some((up, down));
        let err = MarketTangent::from_differences(&base, 1, |_| pair.take().unwrap(), 1e-4, MONTHS)
            .unwrap_err();
        assert!(matches!(
            err,
            TangentError::PathDependent {
                direction: 0,
                month: 41,
                path: 2,
                what: "m",
                ..
            }
        ));
    }

    /// Every instruction-set copy gives the same bits.
    #[test]
    fn every_level_gives_the_same_bits() {
        let (config, params, model, normals) = setup(13);
        let tangent = tangent_of(&model, &normals);
        let base = Market::new(&model.paths(&normals, MONTHS), &params, 0.001, MONTHS);
        let loan = loan(DqState::C, 0.055);
        let mut terms = LoanTerms::default();
        terms.prepare(&loan, &params, config.credit.fc_hazard(loan.state_code()));
        terms.prepare_net(&params);
        for block in 0..base.num_blocks() {
            let run = |level| {
                let rows = tangents(level, &terms, &params, &base, &tangent, block);
                rows.map(|r| r.map(f64::to_bits))
            };
            let reference = run(Level::Portable);
            for level in Level::ALL.into_iter().filter(|&l| l <= detected()) {
                assert_eq!(run(level), reference, "{}", level.name());
            }
        }
    }
}
