//! Pathwise derivatives of a loan's path values with respect to moves of the
//! rate curve, by forward-mode (tangent) differentiation of the kernel in
//! one pass: the option `risk.derivatives = "tangent"` of `msr risk`
//! (docs/risk.md, "Durations without bumps").
//!
//! A curve move in direction `k` (a key-rate tent, or the parallel shift)
//! moves each path's mortgage rate `m[p,t]`, short rate `r[p,t]` and discount
//! factor `D[p,t]`, the normals held fixed. [`MarketTangent`] holds those
//! moves per unit of shock, `(∂m, ∂max(r,0), ∂ln D)`, in the market's
//! block-major layout; they are loan-independent and built once per run.
//! [`run_block_tangent_at`] then carries, alongside one block's value, the
//! derivative of every quantity the kernel forms — CPR, SMM, the burnout
//! memory, the six state masses, the five advance balances, the ten
//! components — for every direction at once, and returns each lane's
//! `∂PV/∂shock`.
//!
//! The derivative rules, per month (ι the incentive, all as in MODEL.md §D.1):
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
//! * the chain, the advances and every component are linear in the masses
//!   for given SMM and rates ([`crate::chain::transitions`],
//!   `AdvanceRules`, [`crate::kernel::month_components`] — the same
//!   functions, applied to the tangents), the SMM enters the chain through
//!   `π(C)·SMM`, and the rates enter three components linearly (P&I and
//!   escrow float, advance financing: the same function with the rates'
//!   tangents and the base masses);
//! * `∂(CF·D) = ∂CF·D + CF·D·∂ln D`.
//!
//! At the other kinks (the CPR cap binding exactly, `r = 0`: no loan sits
//! there systematically) the one-sided rule above is taken. The tangent pass recomputes the block's value with the same
//! operations as the kernel (so the same SMMs and masses) and adds the
//! tangents; it does not change the kernel's own runs.

use msr_rates::PathSet;

use crate::chain::{step_lanes, transitions};
use crate::fastmath::{smm_lanes, smm_lanes_capped, SMM_CAPPED_MAX_CPR};
use crate::kernel::{month_components, net_of, AdvanceRules, LoanFlowConsts};
use crate::lanes::{LaneRows, LANES};
use crate::loan_terms::LoanTerms;
use crate::market::Market;
use crate::params::ModelParams;
use crate::simd::{Lanes, WithLanes};

/// Directions one tangent pass carries at most.
pub const MAX_DIRECTIONS: usize = 8;

/// The per-unit moves of every path's market inputs under a few curve moves
/// ("directions"), `[∂m, ∂max(r,0), ∂ln D]` per path and month, in the
/// market's block-major layout: row `(block·months + t)·directions + k`.
#[derive(Debug, Clone)]
pub struct MarketTangent {
    directions: usize,
    months: usize,
    paths: usize,
    rows: Vec<LaneRows<3>>,
}

impl MarketTangent {
    /// The tangents of `base` from central differences of paths generated
    /// from the same normals on curves moved by `±h` in each direction:
    /// `up[k]`, `down[k]`. The Hull–White paths are affine in the curve's
    /// zero rates (the short rate and `ln P(t, t+10)` move by deterministic
    /// functions of the curve), so the quotient is the derivative up to
    /// rounding. `∂max(r,0)` is `∂r` where the base short rate is positive
    /// and 0 elsewhere (the one-sided rule at the kink).
    ///
    /// # Panics
    /// If `up` and `down` differ in length or hold more than
    /// [`MAX_DIRECTIONS`] directions, if a path set's shape differs from
    /// `base`'s, if `months` exceeds the paths' months, or `h ≤ 0`.
    pub fn from_differences(
        base: &PathSet,
        up: &[PathSet],
        down: &[PathSet],
        h: f64,
        months: usize,
    ) -> MarketTangent {
        let directions = up.len();
        assert!(
            down.len() == directions && directions <= MAX_DIRECTIONS,
            "tangent directions: {} up, {} down (at most {MAX_DIRECTIONS})",
            up.len(),
            down.len()
        );
        assert!(h > 0.0, "difference step must be positive");
        assert!(months <= base.months(), "paths too short");
        let num_paths = base.num_paths();
        for p in up.iter().chain(down) {
            assert!(
                p.num_paths() == num_paths && p.months() == base.months(),
                "shocked paths differ in shape from the base"
            );
        }
        let padded = num_paths.div_ceil(LANES) * LANES;
        let blocks = padded / LANES;
        let mut rows = vec![LaneRows::<3>::default(); blocks * months * directions];
        let inv = 1.0 / (2.0 * h);
        for (k, (u, d)) in up.iter().zip(down).enumerate() {
            for t in 0..months {
                for q in 0..padded {
                    let p = q.min(num_paths - 1);
                    let (b, l) = (q / LANES, q % LANES);
                    let row = &mut rows[(b * months + t) * directions + k].0;
                    let dm = (u.mortgage_rate[[p, t]] - d.mortgage_rate[[p, t]]) * inv;
                    let dr = (u.short_rate[[p, t]] - d.short_rate[[p, t]]) * inv;
                    let dlnd = (u.discount[[p, t]].ln() - d.discount[[p, t]].ln()) * inv;
                    row[0][l] = dm;
                    row[1][l] = if base.short_rate[[p, t]] > 0.0 {
                        dr
                    } else {
                        0.0
                    };
                    row[2][l] = dlnd;
                }
            }
        }
        MarketTangent {
            directions,
            months,
            paths: num_paths,
            rows,
        }
    }

    /// Directions carried.
    pub fn directions(&self) -> usize {
        self.directions
    }

    /// Months covered.
    pub fn months(&self) -> usize {
        self.months
    }

    /// The tangent rows of `block` for months `0..n`, direction innermost.
    #[inline(always)]
    fn block(&self, block: usize, n: usize) -> &[LaneRows<3>] {
        let start = block * self.months * self.directions;
        &self.rows[start..start + n * self.directions]
    }

    /// Whether these tangents belong to a market of this shape.
    fn fits(&self, market: &Market) -> bool {
        self.months == market.months() && self.paths == market.num_paths()
    }
}

/// Each lane's derivative of the block's path value, one row per direction
/// (`[k][lane]`; rows past [`MarketTangent::directions`] untouched).
pub type TangentRows = [[f64; LANES]; MAX_DIRECTIONS];

/// The derivatives `∂PV/∂shock` of one loan's path values on block `block`
/// of `market`, for every direction of `tangent`, into `out[k]` (lane by
/// lane; padding lanes 0). `terms` prepared as for the kernel.
///
/// # Panics
/// If this CPU lacks `level`, if `tangent` was built for another shape of
/// market, or if `terms` was not prepared for the market's months.
pub fn run_block_tangent_at(
    level: crate::simd::Level,
    terms: &LoanTerms,
    p: &ModelParams,
    market: &Market,
    tangent: &MarketTangent,
    block: usize,
    out: &mut TangentRows,
) {
    assert!(tangent.fits(market), "tangents built for another market");
    assert!(
        terms.n <= market.months() && terms.coefs.len() >= terms.n,
        "loan terms not prepared"
    );
    crate::simd::run_at(
        level,
        TangentBlock {
            terms,
            p,
            market,
            tangent,
            block,
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
    out: &'a mut TangentRows,
}

impl WithLanes for TangentBlock<'_> {
    type Output = ();
    #[inline(always)]
    fn with_lanes<S: Lanes>(self, s: S) {
        tangent_body(s, self);
    }
}

/// The tangent pass of one block, compiled once per instruction set.
#[inline(always)]
fn tangent_body<S: Lanes>(s: S, a: TangentBlock<'_>) {
    let TangentBlock {
        terms,
        p,
        market,
        tangent,
        block,
        out,
    } = a;
    let n = terms.n;
    let dirs = tangent.directions;
    let prepay = market.prepay_block(block, n);
    let cash = market.cash_block(block, n);
    let tan = tangent.block(block, n);
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
    let loan_k = LoanFlowConsts::new(s, terms, p);
    let rules = AdvanceRules::new(s, terms, p);
    let chain = &terms.chain;

    // Tangent state per direction: masses, advances, burnout, PV.
    let mut dpi = [[zero; 6]; MAX_DIRECTIONS];
    let mut dadv = [[zero; 5]; MAX_DIRECTIONS];
    let mut dburn = [zero; MAX_DIRECTIONS];
    let mut dpv = [zero; MAX_DIRECTIONS];

    // ∂/∂m of the prepayment factors' exponents.
    let k_lock = k(-100.0 * p.lockin);
    let k_slope = k(-100.0 * p.refi_slope);
    let k_burn = k(100.0 * p.burnout);
    let (mult, cap) = (k(p.cpr_multiplier), k(p.cpr_cap));
    let twelfth = k(1.0 / 12.0);

    for t in 0..n {
        let c = &terms.coefs[t];
        // §D.1, as the kernel's prepayment pass forms it.
        let [lock_m, refi_m, burn_m] = &prepay[t].0;
        let bases = terms.bases(t, false);
        let (lockin, logistic) = terms.rate_factors_lanes(s, s.load(lock_m), s.load(refi_m));
        let refi_factor = s.mul(logistic, burn);
        let cpr = terms.cpr_from_factors_lanes(s, bases, lockin, refi_factor, p);
        let smm = if capped {
            smm_lanes_capped(s, cpr)
        } else {
            smm_lanes(s, cpr)
        };
        let step = terms.burn_step_lanes(s, s.load(burn_m));
        // Derivative factors shared by the directions.
        let (turnover_base, refi_base) = bases;
        let raw = s.mul(
            mult,
            s.add(
                s.mul(k(turnover_base), lockin),
                s.mul(k(refi_base), refi_factor),
            ),
        );
        // ∂SMM/∂CPR where the cap does not bind.
        let g = s.select_lt(
            raw,
            cap,
            s.div(s.sub(one, smm), s.mul(k(12.0), s.sub(one, cpr))),
            zero,
        );
        // The lock-in and burnout caps bind from ι = 0 on: the kink.
        let lock_raw = s.mul(k(terms.lock_c), s.load(lock_m));
        let dlock_dm = s.mul(s.mul(k_lock, lock_raw), kink_weight(s, lock_raw));
        // ∂L/∂m = −100·slope·L·(1 − L).
        let dlogistic_dm = s.mul(k_slope, s.mul(logistic, s.sub(one, logistic)));
        let step_raw = s.mul(k(terms.burn_c), s.load(burn_m));
        let dstep_dm = s.mul(s.mul(k_burn, step_raw), kink_weight(s, step_raw));
        let g_turn = s.mul(g, s.mul(mult, k(turnover_base)));
        let g_refi = s.mul(g, s.mul(mult, k(refi_base)));

        // The base month (§D.3, §E).
        let [r_pos, r_adv, df] = &cash[t].0;
        let (r, r_adv, d) = (s.load(r_pos), s.load(r_adv), s.load(df));
        let st = step_lanes(s, &pi, smm, c.roll, c.keep, chain);
        let liq_loss = rules.liq_loss(s, &pi, &adv);
        let adv_next = rules.step(s, &adv, &st.pi, &c.adv_new);
        let adv_bal = sum5(s, &adv_next);
        let vals = month_components(
            s, c, &loan_k, &st.pi, st.pp_mass, liq_loss, adv_bal, r, r_adv,
        );
        let net_d = s.mul(net_of(s, &vals), d);

        let rows = &tan[t * dirs..(t + 1) * dirs];
        for (j, row) in rows.iter().enumerate() {
            let [dm, dr, dlnd] = &row.0;
            let (dm, dr, dlnd) = (s.load(dm), s.load(dr), s.load(dlnd));
            // ∂CPR·g = ∂SMM.
            let d_refi_factor = s.mul_add(s.mul(dlogistic_dm, dm), burn, s.mul(logistic, dburn[j]));
            let dsmm = s.mul_add(g_turn, s.mul(dlock_dm, dm), s.mul(g_refi, d_refi_factor));
            // Chain: c_stay = π(C)(1 − SMM), pp = π(C)·SMM + π(D30)·pp30.
            let (c0, dc0) = (pi[0], dpi[j][0]);
            let dc_stay = s.sub(s.mul(dc0, s.sub(one, smm)), s.mul(c0, dsmm));
            let dpp = s.mul_add(
                dc0,
                smm,
                s.mul_add(c0, dsmm, s.mul(dpi[j][1], k(chain.pp30))),
            );
            let dst = transitions(s, &dpi[j], dc_stay, dpp, c.roll, c.keep, chain);
            let dliq = rules.liq_loss(s, &dpi[j], &dadv[j]);
            let dadv_next = rules.step(s, &dadv[j], &dst.pi, &c.adv_new);
            let dadv_bal = sum5(s, &dadv_next);
            // Linear in the masses at the base rates, plus the rate terms at
            // the base masses.
            let dvals = month_components(s, c, &loan_k, &dst.pi, dpp, dliq, dadv_bal, r, r_adv);
            let rate = month_components(
                s,
                c,
                &loan_k,
                &st.pi,
                st.pp_mass,
                zero,
                adv_bal,
                dr,
                s.mul(dr, twelfth),
            );
            let rate_net = s.sub(s.add(rate[1], rate[2]), rate[7]);
            let dnet = s.add(net_of(s, &dvals), rate_net);
            dpv[j] = s.mul_add(dnet, d, s.mul_add(net_d, dlnd, dpv[j]));
            dburn[j] = s.mul_add(dburn[j], step, s.mul(burn, s.mul(dstep_dm, dm)));
            dpi[j] = dst.pi;
            dadv[j] = dadv_next;
        }
        pi = st.pi;
        adv = adv_next;
        burn = s.mul(burn, step);
    }
    for (o, v) in out.iter_mut().zip(dpv).take(dirs) {
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

/// The sum of five vectors, in the kernel's order.
#[inline(always)]
fn sum5<S: Lanes>(s: S, a: &[S::F; 5]) -> S::F {
    s.add(s.add(s.add(a[0], a[1]), s.add(a[2], a[3])), a[4])
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

    fn loan(state: DqState, note_rate: f64) -> Loan {
        Loan {
            loan_id: "T1".into(),
            upb: 312_345.67,
            note_rate,
            servicing_fee: 0.0025,
            remaining_term: 300,
            loan_age: 20,
            fico: 690,
            ltv: 85.0,
            investor: Investor::Fnma,
            dq_status: state,
            property_state: *b"NY",
            escrow_monthly: 410.0,
            loan_count: 2,
            advance_balance: 1_500.0,
        }
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
        let (up, down): (Vec<_>, Vec<_>) = moved(model, h)
            .iter()
            .map(|(u, d)| (u.paths(normals, MONTHS), d.paths(normals, MONTHS)))
            .unzip();
        MarketTangent::from_differences(&model.paths(normals, MONTHS), &up, &down, h, MONTHS)
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
            for block in 0..base.num_blocks() {
                let mut rows = [[0.0; LANES]; MAX_DIRECTIONS];
                run_block_tangent_at(
                    detected(),
                    &terms,
                    &params,
                    &base,
                    &tangent,
                    block,
                    &mut rows,
                );
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
        let mut rows = [[0.0; LANES]; MAX_DIRECTIONS];
        run_block_tangent_at(detected(), &terms, &params, &base, &tangent, 0, &mut rows);
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

    /// Every instruction-set copy gives the same bits.
    #[test]
    fn every_level_gives_the_same_bits() {
        let (config, params, model, normals) = setup(13);
        let tangent = tangent_of(&model, &normals);
        let base = Market::new(&model.paths(&normals, MONTHS), &params, 0.001, MONTHS);
        let loan = loan(DqState::C, 0.055);
        let mut terms = LoanTerms::default();
        terms.prepare(&loan, &params, config.credit.fc_hazard(loan.state_code()));
        for block in 0..base.num_blocks() {
            let run = |level| {
                let mut rows = [[0.0; LANES]; MAX_DIRECTIONS];
                run_block_tangent_at(level, &terms, &params, &base, &tangent, block, &mut rows);
                rows.map(|r| r.map(f64::to_bits))
            };
            let reference = run(Level::Portable);
            for level in Level::ALL.into_iter().filter(|&l| l <= detected()) {
                assert_eq!(run(level), reference, "{}", level.name());
            }
        }
    }
}
