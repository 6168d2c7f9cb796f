//! [`ModelParams`]: the configuration resolved into the constants the kernel
//! needs, built once per run from a validated [`Config`].

use msr_core::config::Config;
use msr_core::loan::{Investor, NUM_INVESTORS, NUM_STATES};

/// One investor's rules in kernel form.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct InvestorParams {
    /// 1.0 where the servicer advances P&I in the state, else 0.0 (state-index order).
    pub pi_advance: [f64; NUM_STATES],
    /// Share of advances lost at liquidation.
    pub adv_loss_share: f64,
    /// Share of foreclosure / DIL costs not reimbursed.
    pub fc_unreimbursed: f64,
    /// Share of compensating interest borne.
    pub comp_int_share: f64,
}

/// Resolved model constants (MODEL.md §D–E), immutable for a run.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelParams {
    /// Calendar month of the valuation date, 1..=12.
    pub as_of_month: u32,
    /// Turnover CPR.
    pub turnover_cpr: f64,
    /// Ramp months.
    pub ramp_months: f64,
    /// Lock-in sensitivity.
    pub lockin: f64,
    /// Maximum refinance CPR.
    pub refi_max_cpr: f64,
    /// S-curve slope.
    pub refi_slope: f64,
    /// S-curve midpoint (pct).
    pub refi_midpoint: f64,
    /// Burnout per pct-month.
    pub burnout: f64,
    /// FICO sensitivity of refinancing.
    pub refi_fico: f64,
    /// CPR cap.
    pub cpr_cap: f64,
    /// CPR multiplier (stress; 1 = model).
    pub cpr_multiplier: f64,
    /// Seasonal factors, January first.
    pub seasonality: [f64; 12],
    /// Base roll C → D30.
    pub base_roll: f64,
    /// FICO sensitivity of the roll.
    pub fico_beta: f64,
    /// CLTV sensitivity of the roll.
    pub ltv_beta: f64,
    /// Roll cap.
    pub roll_cap: f64,
    /// Roll multiplier (stress; 1 = model).
    pub roll_multiplier: f64,
    /// House-price appreciation.
    pub hpa: f64,
    /// D30 → C.
    pub cure30: f64,
    /// D30 → D60.
    pub roll30: f64,
    /// D30 → PP.
    pub pp30: f64,
    /// D60 → C.
    pub cure60: f64,
    /// D60 → D90.
    pub roll60: f64,
    /// D90 → C.
    pub cure90: f64,
    /// D90 → D120.
    pub roll90: f64,
    /// D120 → C.
    pub cure120: f64,
    /// D120 → C by modification.
    pub mod120: f64,
    /// D120 → DIL.
    pub dil120: f64,
    /// D120 → FC.
    pub fc120: f64,
    /// FC → C.
    pub reinstate: f64,
    /// Annual servicing cost by state, already multiplied by the cost multiplier.
    pub cost_annual: [f64; NUM_STATES],
    /// Cost inflation.
    pub cost_inflation: f64,
    /// Float days.
    pub float_days: f64,
    /// Escrow hold months.
    pub escrow_hold_months: f64,
    /// Late fee rate.
    pub late_fee_rate: f64,
    /// Late fee collection share.
    pub late_fee_collect: f64,
    /// Ancillary income per loan per year.
    pub ancillary_annual: f64,
    /// Advance financing spread.
    pub advance_spread: f64,
    /// Recapture rate.
    pub recapture_rate: f64,
    /// Recapture value per $.
    pub recapture_value: f64,
    /// Foreclosure cost per loan.
    pub fc_cost: f64,
    /// Deed-in-lieu cost per loan.
    pub dil_cost: f64,
    /// Investor rules in `Investor` index order.
    pub investors: [InvestorParams; NUM_INVESTORS],
    /// Cost index `(1+cost_inflation)^((t−1)/12)` for months `t = 1..=MAX_MONTHS`.
    pub cost_index: Vec<f64>,
    /// House-price index `(1+hpa)^((t−1)/12)` for months `t = 1..=MAX_MONTHS`.
    pub hpi: Vec<f64>,
}

/// Longest projection the engine supports, months (MODEL.md §B: terms ≤ 480).
pub const MAX_MONTHS: usize = 480;

impl ModelParams {
    /// Resolve from a validated configuration.
    pub fn from_config(config: &Config) -> ModelParams {
        let p = &config.prepay;
        let c = &config.credit;
        let s = &config.servicing;
        let mut seasonality = [1.0; 12];
        seasonality.copy_from_slice(&p.seasonality[..12]);
        let investors = Investor::ALL.map(|inv| {
            let rule = config.investors.rule(inv);
            InvestorParams {
                pi_advance: rule.pi_advance_mask().map(|b| if b { 1.0 } else { 0.0 }),
                adv_loss_share: rule.adv_loss_share,
                fc_unreimbursed: rule.fc_unreimbursed,
                comp_int_share: rule.comp_int_share,
            }
        });
        ModelParams {
            as_of_month: config.as_of_month(),
            turnover_cpr: p.turnover_cpr,
            ramp_months: p.ramp_months as f64,
            lockin: p.lockin,
            refi_max_cpr: p.refi_max_cpr,
            refi_slope: p.refi_slope,
            refi_midpoint: p.refi_midpoint,
            burnout: p.burnout,
            refi_fico: p.refi_fico,
            cpr_cap: p.cpr_cap,
            cpr_multiplier: p.cpr_multiplier,
            seasonality,
            base_roll: c.base_roll,
            fico_beta: c.fico_beta,
            ltv_beta: c.ltv_beta,
            roll_cap: c.roll_cap,
            roll_multiplier: c.roll_multiplier,
            hpa: c.hpa,
            cure30: c.cure30,
            roll30: c.roll30,
            pp30: c.pp30,
            cure60: c.cure60,
            roll60: c.roll60,
            cure90: c.cure90,
            roll90: c.roll90,
            cure120: c.cure120,
            mod120: c.mod120,
            dil120: c.dil120,
            fc120: c.fc120,
            reinstate: c.reinstate,
            cost_annual: s.cost_annual.by_state().map(|x| x * s.cost_multiplier),
            cost_inflation: s.cost_inflation,
            float_days: s.float_days,
            escrow_hold_months: s.escrow_hold_months,
            late_fee_rate: s.late_fee_rate,
            late_fee_collect: s.late_fee_collect,
            ancillary_annual: s.ancillary_annual,
            advance_spread: s.advance_spread,
            recapture_rate: s.recapture_rate,
            recapture_value: s.recapture_value,
            fc_cost: s.fc_cost,
            dil_cost: s.dil_cost,
            investors,
            cost_index: (1..=MAX_MONTHS)
                .map(|t| (1.0 + s.cost_inflation).powf((t as f64 - 1.0) / 12.0))
                .collect(),
            hpi: (1..=MAX_MONTHS)
                .map(|t| (1.0 + c.hpa).powf((t as f64 - 1.0) / 12.0))
                .collect(),
        }
    }

    /// Seasonal factor for month `t` of the projection (§D.1).
    pub fn seasonal(&self, t: u32) -> f64 {
        self.seasonality[((self.as_of_month - 1 + t) % 12) as usize]
    }

    /// Roll rate C → D30 in month `t` given the scheduled balance factor
    /// `b_prev = b_{t-1}` (§D.2).
    pub fn roll(&self, fico: i32, ltv: f64, b_prev: f64, t: u32) -> f64 {
        let cltv = ltv * b_prev / self.hpi[t as usize - 1];
        self.roll_at(self.roll_fico(fico), fico, cltv)
    }

    /// The loan-constant part of the roll, `base_roll·e^{fico_beta·(700 − fico)/100}`.
    #[inline]
    pub fn roll_fico(&self, fico: i32) -> f64 {
        self.base_roll * ((self.fico_beta * (700.0 - fico as f64)) / 100.0).exp()
    }

    /// The roll of §D.2 given its loan-constant part `roll_fico`
    /// ([`ModelParams::roll_fico`]) and the month's `cltv`:
    /// `min(roll_fico·e^{ltv_beta·(cltv − 80)/100}·roll_multiplier, roll_cap)`.
    ///
    /// The product is taken in the extended reals (docs/model.md §8): where
    /// floating point gives `0·∞` (a zero `base_roll` or `roll_multiplier`
    /// next to a FICO or CLTV factor that overflows, or an underflowed factor
    /// next to an overflowed one) it is recomputed in log space
    /// ([`ModelParams::roll_exact`]) instead of letting the NaN become the cap.
    /// Otherwise the operations and their order are the spec's, so the bits
    /// are unchanged.
    #[inline]
    pub fn roll_at(&self, roll_fico: f64, fico: i32, cltv: f64) -> f64 {
        let raw = roll_fico * ((self.ltv_beta * (cltv - 80.0)) / 100.0).exp();
        let roll = raw * self.roll_multiplier;
        if roll.is_nan() {
            return self.roll_exact(fico, cltv);
        }
        if roll < self.roll_cap {
            roll
        } else {
            self.roll_cap
        }
    }

    /// The roll computed in log space, for the cases floating point cannot
    /// multiply out: `0` when `base_roll` or `roll_multiplier` is 0 (the term
    /// is switched off, whatever the other factors); a zero sensitivity
    /// (`fico_beta` or `ltv_beta` = 0) contributes a factor of exactly 1;
    /// otherwise `min(base_roll·roll_multiplier·e^{f + l}, roll_cap)` with `f`,
    /// `l` the FICO and CLTV exponents (through logarithms where the direct
    /// product over- or underflows), which is 0 or the cap when `f + l` is ∓∞. NaN only when the exponents are +∞ and −∞ at once
    /// (both sensitivities beyond ±4e305): the product is then undefined, and
    /// the loan's valuation is reported as not finite rather than capped.
    #[cold]
    pub fn roll_exact(&self, fico: i32, cltv: f64) -> f64 {
        if self.base_roll == 0.0 || self.roll_multiplier == 0.0 {
            return 0.0;
        }
        let exponent = |beta: f64, x: f64| {
            if beta == 0.0 {
                0.0
            } else {
                (beta * x) / 100.0
            }
        };
        let e =
            exponent(self.fico_beta, 700.0 - fico as f64) + exponent(self.ltv_beta, cltv - 80.0);
        // Directly where that is a number, else wholly in logs.
        let direct = self.base_roll * e.exp() * self.roll_multiplier;
        let roll = if direct.is_finite() && direct > 0.0 {
            direct
        } else {
            (self.base_roll.ln() + self.roll_multiplier.ln() + e).exp()
        };
        if roll < self.roll_cap || roll.is_nan() {
            roll
        } else {
            self.roll_cap
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(edit: impl FnOnce(&mut Config)) -> ModelParams {
        let mut c = Config::default();
        edit(&mut c);
        c.validate().unwrap();
        ModelParams::from_config(&c)
    }

    /// A zero factor switches the roll off even where another factor
    /// overflows (`0·∞` in floating point).
    #[test]
    fn a_zero_factor_gives_no_roll() {
        let p = params(|c| {
            c.credit.base_roll = 0.0;
            c.credit.fico_beta = 200.0;
        });
        assert!(
            p.roll_fico(300).is_nan(),
            "0·e^800 is NaN in floating point"
        );
        assert_eq!(p.roll(300, 80.0, 1.0, 1), 0.0);
        let p = params(|c| {
            c.credit.roll_multiplier = 0.0;
            c.credit.ltv_beta = 500.0;
        });
        assert_eq!(p.roll(700, 300.0, 1.0, 1), 0.0);
        // A zero multiplier with finite factors: 0 by plain arithmetic.
        assert_eq!(p.roll(700, 80.0, 1.0, 1), 0.0);
    }

    /// An underflowed factor times an overflowed one is their true product.
    #[test]
    fn an_underflow_times_an_overflow_is_the_true_product() {
        // FICO 300: e^{−200·4} = e^{−800} underflows to 0; LTV 240 at the
        // start: e^{493.75·160/100} = e^{790} overflows; the product is e^{−10}.
        let p = params(|c| {
            c.credit.fico_beta = -200.0;
            c.credit.ltv_beta = 100.0 * 790.0 / 160.0;
            c.credit.roll_cap = 1.0;
        });
        assert_eq!(p.roll_fico(300), 0.0);
        let want = 0.005 * (-10.0f64).exp();
        let got = p.roll(300, 240.0, 1.0, 1);
        assert!((got - want).abs() <= 1e-12 * want, "{got} vs {want}");
        // The same exponents the other way round reach the cap.
        let p = params(|c| {
            c.credit.fico_beta = 200.0;
            c.credit.ltv_beta = -100.0 * 790.0 / 160.0;
            c.credit.roll_cap = 0.5;
        });
        assert!(p.roll_fico(300).is_infinite());
        assert_eq!(p.roll(300, 240.0, 1.0, 1), 0.5);
    }

    /// A zero CLTV sensitivity is a factor of 1 even for an infinite CLTV
    /// (a house-price index that underflows to 0).
    #[test]
    fn a_zero_sensitivity_ignores_an_infinite_cltv() {
        let p = params(|c| {
            c.credit.ltv_beta = 0.0;
            c.credit.hpa = -1.0 + 1e-12;
        });
        assert_eq!(p.hpi[479], 0.0);
        assert_eq!(p.roll(700, 80.0, 1.0, 1), 0.005);
        assert_eq!(p.roll(700, 80.0, 0.5, 480), 0.005);
    }

    /// Exponents of +∞ and −∞ at once have no product: NaN, so the loan is
    /// reported rather than rolled at the cap.
    #[test]
    fn infinite_exponents_of_both_signs_are_undefined() {
        let p = params(|c| {
            c.credit.fico_beta = 1e306;
            c.credit.ltv_beta = -1e306;
        });
        assert!(p.roll(300, 300.0, 1.0, 1).is_nan());
    }

    /// The fast path's bits are the spec formula's, in its order.
    #[test]
    fn ordinary_rolls_are_the_spec_formula() {
        let p = params(|c| c.credit.roll_multiplier = 1.3);
        for (fico, ltv, b, t) in [(620, 97.0, 0.9, 5u32), (810, 55.5, 0.2, 300)] {
            let cltv = ltv * b / p.hpi[t as usize - 1];
            let raw = p.base_roll
                * ((p.fico_beta * (700.0 - fico as f64)) / 100.0).exp()
                * ((p.ltv_beta * (cltv - 80.0)) / 100.0).exp();
            let want = (raw * p.roll_multiplier).min(p.roll_cap);
            assert_eq!(p.roll(fico, ltv, b, t).to_bits(), want.to_bits());
        }
    }
}
