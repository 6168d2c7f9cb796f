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
        let raw = self.base_roll
            * ((self.fico_beta * (700.0 - fico as f64)) / 100.0).exp()
            * ((self.ltv_beta * (cltv - 80.0)) / 100.0).exp();
        (raw * self.roll_multiplier).min(self.roll_cap)
    }
}
