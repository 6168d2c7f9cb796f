//! The delinquency chain of MODEL.md §D.3 for one vector of state masses.
//!
//! Both the MSR kernel (per path, per lane) and note pricing (§H, on the static
//! path) call [`step`], so the two can never disagree about a loan's credit.

use crate::params::ModelParams;

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

/// One month of §D.3: start-of-month masses `pi`, single monthly mortality
/// `smm`, roll from current `roll`, foreclosure completion hazard `h`.
#[inline(always)]
pub fn step(pi: &Masses, smm: f64, roll: f64, h: f64, p: &ModelParams) -> Step {
    let [c, d30, d60, d90, d120, fc] = *pi;
    let c_stay = c * (1.0 - smm);
    let new_c = c_stay * (1.0 - roll)
        + d30 * p.cure30
        + d60 * p.cure60
        + d90 * p.cure90
        + d120 * (p.cure120 + p.mod120)
        + fc * p.reinstate;
    let new_d30 = c_stay * roll + d30 * (1.0 - p.cure30 - p.roll30 - p.pp30);
    let new_d60 = d30 * p.roll30 + d60 * (1.0 - p.cure60 - p.roll60);
    let new_d90 = d60 * p.roll60 + d90 * (1.0 - p.cure90 - p.roll90);
    let new_d120 = d90 * p.roll90 + d120 * (1.0 - p.cure120 - p.mod120 - p.dil120 - p.fc120);
    let new_fc = d120 * p.fc120 + fc * (1.0 - p.reinstate - h);
    Step {
        pi: [new_c, new_d30, new_d60, new_d90, new_d120, new_fc],
        pp_mass: c * smm + d30 * p.pp30,
        dil_mass: d120 * p.dil120,
        liq_mass: fc * h,
        mod_mass: d120 * p.mod120,
    }
}

/// Single monthly mortality from an annual CPR: `1 − (1 − CPR)^(1/12)`.
///
/// Computed as a cube root and two square roots, which is accurate to a few
/// ulps and several times cheaper than `powf`.
#[inline(always)]
pub fn smm_from_cpr(cpr: f64) -> f64 {
    1.0 - (1.0 - cpr).cbrt().sqrt().sqrt()
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
        assert!((smm_from_cpr(0.06) - 0.005_143_4).abs() < 1e-7);
    }
}
