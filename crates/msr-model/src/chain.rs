//! The delinquency chain of MODEL.md §D.3 for one vector of state masses.
//!
//! Both the MSR kernel (per path, per lane) and note pricing (§H, on the static
//! path) call [`step`], so the two can never disagree about a loan's credit.

use crate::params::ModelParams;
use crate::simd::{Math, Scalar};

/// Masses in the six transient states, in state-index order
/// (C, D30, D60, D90, D120, FC).
pub type Masses = [f64; 6];

/// The result of one month's transition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// End-of-month masses `π_t`.
    pub pi: Masses,
    /// Voluntary payoff mass `π(C)·SMM + π(D30)·pp30`.
    pub pp_mass: f64,
    /// Deed-in-lieu mass `π(D120)·dil120`.
    pub dil_mass: f64,
    /// Liquidation mass `π(FC)·h`.
    pub liq_mass: f64,
    /// Modification mass `π(D120)·mod120` (moved to C).
    pub mod_mass: f64,
}

/// The chain's rates that are constant for a loan (§D.3 with its
/// foreclosure completion hazard `h`), formed once: the kernel reads each as
/// one broadcast from memory rather than forming the stays from the
/// parameters every month.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ChainRates {
    pub(crate) cure30: f64,
    pub(crate) cure60: f64,
    pub(crate) cure90: f64,
    /// `cure120 + mod120` (both move D120 to C).
    pub(crate) cure120_mod: f64,
    pub(crate) reinstate: f64,
    pub(crate) roll30: f64,
    pub(crate) roll60: f64,
    pub(crate) roll90: f64,
    pub(crate) fc120: f64,
    pub(crate) dil120: f64,
    pub(crate) mod120: f64,
    pub(crate) pp30: f64,
    pub(crate) h: f64,
    /// Mass that stays in D30, D60, D90, D120 and FC for the month.
    pub(crate) stay: [f64; 5],
}

impl ChainRates {
    /// The rates of `p` with foreclosure completion hazard `h`.
    pub fn new(p: &ModelParams, h: f64) -> ChainRates {
        ChainRates {
            cure30: p.cure30,
            cure60: p.cure60,
            cure90: p.cure90,
            cure120_mod: p.cure120 + p.mod120,
            reinstate: p.reinstate,
            roll30: p.roll30,
            roll60: p.roll60,
            roll90: p.roll90,
            fc120: p.fc120,
            dil120: p.dil120,
            mod120: p.mod120,
            pp30: p.pp30,
            h,
            stay: [
                1.0 - p.cure30 - p.roll30 - p.pp30,
                1.0 - p.cure60 - p.roll60,
                1.0 - p.cure90 - p.roll90,
                1.0 - p.cure120 - p.mod120 - p.dil120 - p.fc120,
                1.0 - p.reinstate - h,
            ],
        }
    }
}

/// One month of §D.3: start-of-month masses `pi`, single monthly mortality
/// `smm`, roll from current `roll`, foreclosure completion hazard `h`.
#[inline(always)]
pub fn step(pi: &Masses, smm: f64, roll: f64, h: f64, p: &ModelParams) -> Step {
    let s = step_lanes(Scalar, pi, smm, roll, 1.0 - roll, &ChainRates::new(p, h));
    Step {
        pi: s.pi,
        pp_mass: s.pp_mass,
        dil_mass: s.dil_mass,
        liq_mass: s.liq_mass,
        mod_mass: s.mod_mass,
    }
}

/// [`Step`] for a vector of lanes (the kernel's SIMD form).
#[derive(Debug, Clone, Copy)]
pub(crate) struct StepLanes<F> {
    pub pi: [F; 6],
    pub pp_mass: F,
    pub dil_mass: F,
    pub liq_mass: F,
    pub mod_mass: F,
}

/// [`step`] on every lane of a vector: the one definition of §D.3, used by the
/// kernel on SIMD vectors and by [`step`] on scalars (so both give the same
/// bits). `keep` is `1 − roll` (the kernel has it precomputed per month).
#[inline(always)]
pub(crate) fn step_lanes<S: Math>(
    s: S,
    pi: &[S::F; 6],
    smm: S::F,
    roll: f64,
    keep: f64,
    r: &ChainRates,
) -> StepLanes<S::F> {
    let [c, d30, _, _, _, _] = *pi;
    // Fused multiply-adds throughout: one rounding per term (the same on every
    // instruction set, see `crate::simd`).
    let c_stay = s.mul_add(s.neg(c), smm, c);
    let pp_mass = s.mul_add(c, smm, s.mul(d30, s.splat(r.pp30)));
    transitions(s, pi, c_stay, pp_mass, roll, keep, r)
}

/// [`step_lanes`] given the mass that stays current before rolling,
/// `c_stay = π(C)·(1 − SMM)`, and the voluntary payoff mass: the rest of
/// §D.3 is linear in the masses with coefficients that do not depend on the
/// path, so the same function carries sums over paths
/// ([`crate::MonthlyLanes`] rebuilds a month's summed masses from the summed
/// payoffs from C).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn transitions<S: Math>(
    s: S,
    pi: &[S::F; 6],
    c_stay: S::F,
    pp_mass: S::F,
    roll: f64,
    keep: f64,
    r: &ChainRates,
) -> StepLanes<S::F> {
    let [_, d30, d60, d90, d120, fc] = *pi;
    let k = |x: f64| s.splat(x);
    let new_c = s.mul_add(
        c_stay,
        k(keep),
        s.mul_add(
            d30,
            k(r.cure30),
            s.mul_add(
                d60,
                k(r.cure60),
                s.mul_add(
                    d90,
                    k(r.cure90),
                    s.mul_add(d120, k(r.cure120_mod), s.mul(fc, k(r.reinstate))),
                ),
            ),
        ),
    );
    let new_d30 = s.mul_add(c_stay, k(roll), s.mul(d30, k(r.stay[0])));
    let new_d60 = s.mul_add(d30, k(r.roll30), s.mul(d60, k(r.stay[1])));
    let new_d90 = s.mul_add(d60, k(r.roll60), s.mul(d90, k(r.stay[2])));
    let new_d120 = s.mul_add(d90, k(r.roll90), s.mul(d120, k(r.stay[3])));
    let new_fc = s.mul_add(d120, k(r.fc120), s.mul(fc, k(r.stay[4])));
    StepLanes {
        pi: [new_c, new_d30, new_d60, new_d90, new_d120, new_fc],
        pp_mass,
        dil_mass: s.mul(d120, k(r.dil120)),
        liq_mass: s.mul(fc, k(r.h)),
        mod_mass: s.mul(d120, k(r.mod120)),
    }
}

/// The transpose of [`step_lanes`] for the adjoint sweep
/// (`crate::tangent`): given the adjoints `bar` of the month-end masses and
/// `bar_pp` of the payoff mass, the adjoints of the start-of-month masses
/// and of the month's SMM. `c` is the start-of-month C mass. Every term of
/// [`transitions`] and of `c_stay = π(C)·(1 − SMM)`,
/// `pp = π(C)·SMM + π(D30)·pp30` appears once, transposed: a change to the
/// one must change the other (the tangent tests compare both with central
/// differences of the kernel).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn step_lanes_adjoint<S: Math>(
    s: S,
    c: S::F,
    smm: S::F,
    bar: &[S::F; 6],
    bar_pp: S::F,
    roll: f64,
    keep: f64,
    r: &ChainRates,
) -> ([S::F; 6], S::F) {
    let k = |x: f64| s.splat(x);
    let [n_c, n_30, n_60, n_90, n_120, n_fc] = *bar;
    let bar_c_stay = s.mul_add(n_c, k(keep), s.mul(n_30, k(roll)));
    let start = [
        s.mul_add(bar_c_stay, s.sub(k(1.0), smm), s.mul(bar_pp, smm)),
        s.mul_add(
            n_c,
            k(r.cure30),
            s.mul_add(
                n_30,
                k(r.stay[0]),
                s.mul_add(n_60, k(r.roll30), s.mul(bar_pp, k(r.pp30))),
            ),
        ),
        s.mul_add(
            n_c,
            k(r.cure60),
            s.mul_add(n_60, k(r.stay[1]), s.mul(n_90, k(r.roll60))),
        ),
        s.mul_add(
            n_c,
            k(r.cure90),
            s.mul_add(n_90, k(r.stay[2]), s.mul(n_120, k(r.roll90))),
        ),
        s.mul_add(
            n_c,
            k(r.cure120_mod),
            s.mul_add(n_120, k(r.stay[3]), s.mul(n_fc, k(r.fc120))),
        ),
        s.mul_add(n_c, k(r.reinstate), s.mul(n_fc, k(r.stay[4]))),
    ];
    (start, s.mul(c, s.sub(bar_pp, bar_c_stay)))
}

/// Single monthly mortality from an annual CPR: `1 − (1 − CPR)^(1/12)`.
///
/// Computed by [`crate::fastmath::smm_from_cpr`] (tables and a polynomial,
/// within 1e-13 relative of the exact value), with no libm call, so the
/// kernel's lane loops vectorise, and the same bits in the kernel (any
/// instruction set) and in scalar callers.
#[inline(always)]
pub fn smm_from_cpr(cpr: f64) -> f64 {
    crate::fastmath::smm_from_cpr(cpr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use msr_core::Config;

    #[test]
    fn mass_is_conserved() {
        let p = ModelParams::from_config(&Config::default());
        let mut pi = [0.3, 0.1, 0.1, 0.1, 0.2, 0.2];
        let mut absorbed = 0.0;
        for _ in 0..360 {
            let s = step(&pi, 0.01, 0.02, 1.0 / 24.0, &p);
            absorbed += s.pp_mass + s.dil_mass + s.liq_mass;
            pi = s.pi;
            let total: f64 = pi.iter().sum::<f64>() + absorbed;
            assert!((total - 1.0).abs() < 1e-14, "{total}");
        }
    }

    #[test]
    fn smm_matches_powf() {
        for cpr in [0.0, 1e-6, 0.06, 0.25, 0.5, 0.95] {
            let exact = 1.0 - (1.0f64 - cpr).powf(1.0 / 12.0);
            // Both forms lose relative accuracy to cancellation for tiny CPR; the
            // absolute difference stays at rounding level.
            assert!((smm_from_cpr(cpr) - exact).abs() <= 1e-15, "{cpr}");
        }
        // 6 CPR ≈ 0.514 % SMM, the textbook figure.
        assert!((smm_from_cpr(0.06) - 0.005_143_013).abs() < 1e-9);
    }
}
