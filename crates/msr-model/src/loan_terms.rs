//! [`LoanTerms`]: one loan's constants and its path-independent month arrays,
//! computed once per loan and reused by every block of paths.

use msr_core::loan::Loan;
use msr_core::schedule::fill_balance_factors;

use crate::params::{InvestorParams, ModelParams};

/// Loan constants and month arrays (index `t-1` for month `t`).
#[derive(Debug, Clone, Default)]
pub struct LoanTerms {
    /// Months to run, `n`.
    pub n: usize,
    /// Record multiplicity `N` as f64.
    pub count: f64,
    /// Note rate `c`.
    pub c: f64,
    /// Servicing fee `s`.
    pub s: f64,
    /// Monthly escrow.
    pub escrow: f64,
    /// Foreclosure completion hazard `h`.
    pub h: f64,
    /// Starting state index.
    pub start_state: usize,
    /// Advances outstanding at the start.
    pub advance_balance: f64,
    /// Investor rules.
    pub inv: InvestorParams,
    /// `e^{100·lockin·c}`.
    pub lock_c: f64,
    /// `e^{−slope·(100c − mid)}`.
    pub refi_c: f64,
    /// `e^{−100·burnout·c}`.
    pub burn_c: f64,
    /// Scheduled balance at the start of month t, `Bal = B0·b_{t-1}`.
    pub bal: Vec<f64>,
    /// Scheduled principal of month t.
    pub sched_prin: Vec<f64>,
    /// Scheduled payment of month t, `Bal·i + sched_prin`.
    pub pmt: Vec<f64>,
    /// Scheduled balance at the end of month t, `B0·b_t`.
    pub bal_end: Vec<f64>,
    /// Roll rate C → D30 in month t.
    pub roll: Vec<f64>,
    /// `turnover_cpr · ramp · seas` of month t.
    pub turnover_base: Vec<f64>,
    /// `refi_max_cpr · ramp · e^{refi_fico·(fico−700)/100}` of month t.
    pub refi_base: Vec<f64>,
    /// New advance per unit of mass in a P&I-advancing state, `Bal·(c−s)/12 + sched_prin`.
    pub pi_advance: Vec<f64>,
    factors: Vec<f64>,
}

impl LoanTerms {
    /// CPR of month `t` (0-based index) of §D.1, given the path's market
    /// factors for that month ([`crate::Market::factors`]) and the burnout factor
    /// `burn = exp(−burnout·E_{t−1})`.
    #[inline(always)]
    pub fn cpr(&self, t: usize, lock_m: f64, refi_m: f64, burn: f64, p: &ModelParams) -> f64 {
        let turnover = self.turnover_base[t] * (self.lock_c * lock_m).min(1.0);
        let logistic = 1.0 / (1.0 + self.refi_c * refi_m);
        let refi = self.refi_base[t] * logistic * burn;
        (p.cpr_multiplier * (turnover + refi)).min(p.cpr_cap)
    }

    /// The burnout factor's monthly update: `exp(−burnout·max(ι,0))`, to multiply
    /// into `burn` after month `t`'s CPR.
    #[inline(always)]
    pub fn burn_step(&self, burn_m: f64) -> f64 {
        (self.burn_c * burn_m).min(1.0)
    }

    /// Fill the terms for `loan` (reusing this value's allocations).
    pub fn prepare(&mut self, loan: &Loan, p: &ModelParams, fc_hazard: f64) {
        let n = loan.remaining_term as usize;
        let c = loan.note_rate;
        let s = loan.servicing_fee;
        let b0 = loan.upb;
        let i = c / 12.0;
        self.n = n;
        self.count = loan.loan_count as f64;
        self.c = c;
        self.s = s;
        self.escrow = loan.escrow_monthly;
        self.h = fc_hazard;
        self.start_state = loan.dq_status.index();
        self.advance_balance = loan.advance_balance;
        self.inv = p.investors[loan.investor.index()];
        self.lock_c = (100.0 * p.lockin * c).exp();
        self.refi_c = (-p.refi_slope * (100.0 * c - p.refi_midpoint)).exp();
        self.burn_c = (-100.0 * p.burnout * c).exp();
        let fico_factor = (p.refi_fico * (loan.fico as f64 - 700.0) / 100.0).exp();

        fill_balance_factors(c, loan.remaining_term, &mut self.factors);
        for v in [
            &mut self.bal,
            &mut self.sched_prin,
            &mut self.pmt,
            &mut self.bal_end,
            &mut self.roll,
            &mut self.turnover_base,
            &mut self.refi_base,
            &mut self.pi_advance,
        ] {
            v.clear();
        }
        for t in 1..=n {
            let b_prev = self.factors[t - 1];
            let b_t = self.factors[t];
            let bal = b0 * b_prev;
            let sched_prin = b0 * (b_prev - b_t);
            let age = (loan.loan_age as f64 + t as f64).min(p.ramp_months);
            let ramp = age / p.ramp_months;
            self.bal.push(bal);
            self.sched_prin.push(sched_prin);
            self.pmt.push(bal * i + sched_prin);
            self.bal_end.push(b0 * b_t);
            self.roll
                .push(p.roll(loan.fico, loan.ltv, b_prev, t as u32));
            self.turnover_base
                .push(p.turnover_cpr * ramp * p.seasonal(t as u32));
            self.refi_base.push(p.refi_max_cpr * ramp * fico_factor);
            self.pi_advance.push(bal * (c - s) / 12.0 + sched_prin);
        }
    }
}
