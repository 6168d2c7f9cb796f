//! [`LoanTerms`]: one loan's constants and its path-independent month arrays,
//! computed once per loan and reused by every block of paths.

use std::cmp::Reverse;
use std::sync::atomic::{AtomicU64, Ordering};

use msr_core::loan::Loan;
use msr_core::schedule::RatePowers;

use crate::chain::ChainRates;
use crate::fastmath::recip_lanes;
use crate::params::{InvestorParams, ModelParams};
use crate::simd::{Math, Scalar};

/// Largest denominator of the S-curve's logistic passed to the reciprocal;
/// beyond it the logistic is 0.
const LOGISTIC_MAX_DENOM: f64 = 1e300;

/// The next [`LoanTerms::stamp`] (0 is never given).
static NEXT_STAMP: AtomicU64 = AtomicU64::new(1);

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
    /// The chain's rates with this `h`.
    pub chain: ChainRates,
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
    /// Roll rate C → D30 in month t.
    pub roll: Vec<f64>,
    /// `turnover_cpr · ramp · seas` of month t (0 when `cpr_multiplier` is 0).
    pub turnover_base: Vec<f64>,
    /// `refi_max_cpr · ramp · e^{refi_fico·(fico−700)/100}` of month t (0 when
    /// `cpr_multiplier` is 0).
    pub refi_base: Vec<f64>,
    /// Months at the start whose prepayment ramp is still below 1 (the
    /// loan's age plus the month is under `ramp_months`).
    pub in_ramp: usize,
    /// The turnover and refinancing bases of those months with the ramp
    /// complete (ramp 1): with the later months' bases, those of a seasoned
    /// loan of the same note rate and FICO, whose SMMs a sharing
    /// [`crate::BlockScratch`] serves.
    pub seasoned_base: Vec<[f64; 2]>,
    /// The kernel's per-month coefficients (path-independent products hoisted
    /// out of the path loop), one row per month.
    pub(crate) coefs: Vec<MonthCoefs>,
    /// A month's net cash flow per unit of each mass, one row per month
    /// ([`NetCoefs`]): filled by [`LoanTerms::prepare_net`] for the net-only
    /// pass ([`crate::run_block_net_at`]).
    pub(crate) net: Vec<NetCoefs>,
    /// The [`LoanTerms::stamp`] whose preparation `net` belongs to (0:
    /// none), and the bits of the two parameters `net` folds in
    /// (`escrow_hold_months`, `ancillary_annual`).
    net_stamp: u64,
    net_params: [u64; 2],
    factors: Vec<f64>,
    /// This preparation's identity: unique per [`LoanTerms::prepare_with`]
    /// call, 0 before the first (see [`LoanTerms::stamp`]).
    stamp: u64,
}

/// Path-independent per-month products the kernel multiplies lane values by
/// (MODEL.md §E.2–E.3), so a month costs one broadcast per coefficient.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct MonthCoefs {
    /// Roll rate C → D30.
    pub roll: f64,
    /// `1 − roll`.
    pub keep: f64,
    /// New advance per unit of end-of-month mass, by delinquent state
    /// (D30..FC): `pi_advance(k)·(Bal·(c−s)/12 + sched_prin) + escrow`.
    pub adv_new: [f64; 5],
    /// `(s/12)·Bal` (fee per unit of C mass).
    pub fee: f64,
    /// `PMT·float_days/365` (P&I float per unit of C mass and of `max(r,0)`).
    pub float_pmt: f64,
    /// `Bal·float_days/365` (float per unit of payoff mass and of `max(r,0)`).
    pub float_bal: f64,
    /// `late_fee_rate·late_fee_collect·PMT` (per unit of D30 mass).
    pub late: f64,
    /// `recapture_rate·recapture_value·Bal` (per unit of payoff mass).
    pub recapture: f64,
    /// `comp_int_share·((c−s)/12)·0.5·Bal` (per unit of payoff mass).
    pub comp_int: f64,
    /// `N·cost_index_t·cost_annual(k)/12` by state.
    pub cost: [f64; 6],
    /// Scheduled balance at month end, `B0·b_t`.
    pub bal_end: f64,
}

/// A month's net cash flow (§E.3: income less costs) per unit of each mass
/// and of `max(r, 0)`: the ten components' coefficients summed mass by mass,
/// so the net-only pass ([`crate::run_block_net_at`]) forms a month's net
/// cash flow in 11 vector operations instead of 40 (the same terms
/// associated differently: within a few ulps of the component sum).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct NetCoefs {
    /// Per unit of month-end mass by state C..FC: the ancillary income less
    /// the state's servicing cost, plus the fee (C) and the late fee (D30).
    pub mass: [f64; 6],
    /// Per unit of payoff mass: recapture less compensating interest.
    pub payoff: f64,
    /// Per unit of C mass and of `max(r, 0)`: P&I and escrow float.
    pub float_c: f64,
    /// Per unit of payoff mass and of `max(r, 0)`: the payoff's float.
    pub float_payoff: f64,
}

impl LoanTerms {
    /// CPR of month `t` (0-based index) of §D.1, given the path's market
    /// factors for that month ([`crate::Market::factors`]) and the burnout factor
    /// `burn = exp(−burnout·E_{t−1})`.
    #[inline(always)]
    pub fn cpr(&self, t: usize, lock_m: f64, refi_m: f64, burn: f64, p: &ModelParams) -> f64 {
        self.cpr_lanes(Scalar, self.bases(t, false), lock_m, refi_m, burn, p)
    }

    /// The burnout factor's monthly update: `exp(−burnout·max(ι,0))`, to multiply
    /// into `burn` after month `t`'s CPR.
    #[inline(always)]
    pub fn burn_step(&self, burn_m: f64) -> f64 {
        self.burn_step_lanes(Scalar, burn_m)
    }

    /// [`LoanTerms::cpr`] on every lane of a vector, given the month's bases
    /// ([`LoanTerms::bases`]) (the one definition; the
    /// `min`s are selects, identical to `f64::min` for non-NaN operands).
    ///
    /// The cap is the select's *first* operand, so a NaN CPR stays NaN (and
    /// the loan is reported as not finite) instead of becoming `cpr_cap`; the
    /// lock-in and burnout products cannot be NaN (their factors are ≥ 0 and
    /// one of each pair is finite and positive).
    #[inline(always)]
    pub(crate) fn cpr_lanes<S: Math>(
        &self,
        s: S,
        bases: (f64, f64),
        lock_m: S::F,
        refi_m: S::F,
        burn: S::F,
        p: &ModelParams,
    ) -> S::F {
        let (lockin, logistic) = self.rate_factors_lanes(s, lock_m, refi_m);
        self.cpr_from_factors_lanes(s, bases, lockin, s.mul(logistic, burn), p)
    }

    /// The note-rate part of a month's CPR on every lane: the lock-in factor
    /// `min(lock_c·lock_m, 1)` and the S-curve's logistic `1/(1 + refi_c·refi_m)`.
    /// They depend on the loan only through its note rate (`lock_c`,
    /// `refi_c`), so loans with the same rate can share them
    /// ([`crate::RateFactors`]).
    #[inline(always)]
    pub(crate) fn rate_factors_lanes<S: Math>(
        &self,
        s: S,
        lock_m: S::F,
        refi_m: S::F,
    ) -> (S::F, S::F) {
        let one = s.splat(1.0);
        let lockin = s.min_sel(s.mul(s.splat(self.lock_c), lock_m), one);
        // 1/(1 + a) without a division (`recip_lanes`, within an ulp of the
        // quotient). Denominators beyond 1e300 (∞ included) give exactly 0,
        // as the quotient rounds to (nearly) 0 there, so `∞·0` stays NaN as
        // with a division; a NaN denominator stays NaN.
        let denom = s.add(one, s.mul(s.splat(self.refi_c), refi_m));
        let big = s.splat(LOGISTIC_MAX_DENOM);
        let logistic = s.select_lt(
            big,
            denom,
            s.splat(0.0),
            recip_lanes(s, s.min_sel(big, denom)),
        );
        (lockin, logistic)
    }

    /// A month's CPR from the note-rate factors: the lock-in factor and the
    /// S-curve's logistic times the burnout factor
    /// ([`LoanTerms::rate_factors_lanes`], `logistic·burn`), and the month's
    /// turnover and refinancing bases ([`LoanTerms::bases`]). This is the
    /// loan's own part (its bases, the multiplier and cap).
    #[inline(always)]
    pub(crate) fn cpr_from_factors_lanes<S: Math>(
        &self,
        s: S,
        (turnover_base, refi_base): (f64, f64),
        lockin: S::F,
        refi_factor: S::F,
        p: &ModelParams,
    ) -> S::F {
        let turnover = s.mul(s.splat(turnover_base), lockin);
        let refi = s.mul(s.splat(refi_base), refi_factor);
        s.min_sel(
            s.splat(p.cpr_cap),
            s.mul(s.splat(p.cpr_multiplier), s.add(turnover, refi)),
        )
    }

    /// Which preparation these terms hold: equal stamps mean the same call
    /// of [`LoanTerms::prepare_with`] (or a clone of its result), so the
    /// same terms; 0 for terms never prepared.
    pub(crate) fn stamp(&self) -> u64 {
        self.stamp
    }

    /// The bits of the constants [`LoanTerms::rate_factors_lanes`] and
    /// [`LoanTerms::burn_step_lanes`] use: loans with equal keys have equal
    /// note-rate factors on every path.
    pub fn rate_key(&self) -> [u64; 3] {
        [
            self.lock_c.to_bits(),
            self.refi_c.to_bits(),
            self.burn_c.to_bits(),
        ]
    }

    /// A sort key under which loans whose SMMs a sharing
    /// [`crate::BlockScratch`] can reuse follow one another, longest first:
    /// note rate, FICO, then remaining term, descending (age does not
    /// matter: the shared columns are those of the ramp complete). Only an
    /// order: the scratch compares the prepayment inputs themselves.
    pub fn prepay_order_key(loan: &Loan) -> (u64, i32, Reverse<u32>) {
        (
            loan.note_rate.to_bits(),
            loan.fico,
            Reverse(loan.remaining_term),
        )
    }

    /// [`LoanTerms::burn_step`] on every lane of a vector.
    #[inline(always)]
    pub(crate) fn burn_step_lanes<S: Math>(&self, s: S, burn_m: S::F) -> S::F {
        s.min_sel(s.mul(s.splat(self.burn_c), burn_m), s.splat(1.0))
    }

    /// Fill the terms for `loan` (reusing this value's allocations).
    pub fn prepare(&mut self, loan: &Loan, p: &ModelParams, fc_hazard: f64) {
        self.prepare_with(loan, p, fc_hazard, &mut RatePowers::default());
    }

    /// [`LoanTerms::prepare`] with the amortisation powers taken from a
    /// cache the caller keeps across loans (the same bits).
    pub fn prepare_with(
        &mut self,
        loan: &Loan,
        p: &ModelParams,
        fc_hazard: f64,
        powers: &mut RatePowers,
    ) {
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
        self.stamp = NEXT_STAMP.fetch_add(1, Ordering::Relaxed);
        self.h = fc_hazard;
        self.chain = ChainRates::new(p, fc_hazard);
        self.start_state = loan.dq_status.index();
        self.advance_balance = loan.advance_balance;
        self.inv = p.investors[loan.investor.index()];
        self.lock_c = (100.0 * p.lockin * c).exp();
        self.refi_c = (-p.refi_slope * (100.0 * c - p.refi_midpoint)).exp();
        self.burn_c = (-100.0 * p.burnout * c).exp();
        let fico_factor = (p.refi_fico * (loan.fico as f64 - 700.0) / 100.0).exp();
        // A zero multiplier switches prepayment off: zero bases make the CPR
        // exactly 0 (the same bits as `0·(turnover + refi)` whenever that is
        // a number) even where a factor overflows (`0·∞`, docs/model.md §8).
        let cpr_off = p.cpr_multiplier == 0.0;
        // The ramp once complete, `ramp_months/ramp_months`: exactly 1. (Only
        // months whose own bases equal these are ever served them: the
        // sharing compares the bits.)
        let seasoned = 1.0;

        powers.fill_balance_factors(c, loan.remaining_term, &mut self.factors);
        // Each array filled by one `extend` of a known length (no per-month
        // capacity checks), the libm calls (the roll's CLTV factor) in a loop
        // of their own; every value is formed by the same operations in the
        // same order as month by month, so the same bits (tested below).
        let factors = &self.factors[..=n];
        // `ModelParams::roll` with its loan-constant FICO factor hoisted: the
        // same operations in the same order, so the same bits (tested below).
        let roll_fico = p.roll_fico(loan.fico);
        self.roll.clear();
        self.roll.extend(
            factors[..n]
                .iter()
                .zip(&p.hpi[..n])
                .map(|(&b_prev, &hpi)| p.roll_at(roll_fico, loan.fico, loan.ltv * b_prev / hpi)),
        );
        let age0 = loan.loan_age as f64;
        // The months still in the prepayment ramp: a prefix, as the age grows.
        let in_ramp = (1..=n)
            .take_while(|&t| (age0 + t as f64).min(p.ramp_months) < p.ramp_months)
            .count();
        // The ramp `min(age, ramp_months)/ramp_months`; past the ramp the
        // minimum is `ramp_months` itself, so the quotient is the same bits
        // as `ramp_months/ramp_months`, formed once.
        #[allow(clippy::eq_op)] // the ramp's quotient at its cap, as formed before
        let complete = p.ramp_months / p.ramp_months;
        let ramp = |t: usize| {
            if t > in_ramp {
                complete
            } else {
                (age0 + t as f64).min(p.ramp_months) / p.ramp_months
            }
        };
        // `ModelParams::seasonal` of months 1..=12, read cyclically.
        let season: [f64; 12] = std::array::from_fn(|k| p.seasonal(k as u32 + 1));
        self.turnover_base.clear();
        self.refi_base.clear();
        self.seasoned_base.clear();
        if cpr_off {
            self.turnover_base.resize(n, 0.0);
            self.refi_base.resize(n, 0.0);
        } else {
            self.turnover_base.extend((1..=n).map(|t| {
                let seasonal = season[(t - 1) % 12];
                p.turnover_cpr * ramp(t) * seasonal
            }));
            self.refi_base
                .extend((1..=n).map(|t| p.refi_max_cpr * ramp(t) * fico_factor));
        }
        self.seasoned_base.extend((1..=in_ramp).map(|t| {
            if cpr_off {
                [0.0; 2]
            } else {
                [
                    p.turnover_cpr * seasoned * season[(t - 1) % 12],
                    p.refi_max_cpr * seasoned * fico_factor,
                ]
            }
        }));
        self.in_ramp = in_ramp;
        self.fill_coefs(p, b0, i);
    }

    /// Fill the net cash flow's coefficients of every month ([`NetCoefs`])
    /// for the net-only pass, [`crate::run_block_net_at`]; `p` must be the
    /// parameters of the last [`LoanTerms::prepare_with`].
    pub fn prepare_net(&mut self, p: &ModelParams) {
        // The loan constants of `kernel::LoanFlowConsts`, formed the same way.
        let escrow_float = self.escrow * p.escrow_hold_months / 12.0;
        let ancillary = self.count * p.ancillary_annual / 12.0;
        self.net.clear();
        self.net.extend(self.coefs[..self.n].iter().map(|c| {
            let mut mass = c.cost.map(|cost| ancillary - cost);
            mass[0] += c.fee;
            mass[1] += c.late;
            NetCoefs {
                mass,
                payoff: c.recapture - c.comp_int,
                float_c: c.float_pmt + escrow_float,
                float_payoff: c.float_bal,
            }
        }));
        self.net_stamp = self.stamp;
        self.net_params = Self::net_params(p);
    }

    /// The parameters [`LoanTerms::prepare_net`] folds into the
    /// coefficients, as bits.
    fn net_params(p: &ModelParams) -> [u64; 2] {
        [p.escrow_hold_months.to_bits(), p.ancillary_annual.to_bits()]
    }

    /// Whether [`LoanTerms::prepare_net`] has filled the net coefficients of
    /// this preparation with `p`'s parameters.
    pub(crate) fn net_prepared(&self, p: &ModelParams) -> bool {
        self.stamp != 0
            && self.net_stamp == self.stamp
            && self.net_params == Self::net_params(p)
            && self.net.len() >= self.n
    }

    /// Month `t`'s turnover and refinancing bases, with the ramp complete
    /// if `seasoned` (see [`LoanTerms::seasoned_base`]).
    #[inline(always)]
    pub(crate) fn bases(&self, t: usize, seasoned: bool) -> (f64, f64) {
        if seasoned && t < self.in_ramp {
            let [turnover, refi] = self.seasoned_base[t];
            (turnover, refi)
        } else {
            (self.turnover_base[t], self.refi_base[t])
        }
    }

    /// Hoist the kernel's path-independent products (one row per month)
    /// from the schedule (balance `B0`, monthly rate `i`, the balance
    /// factors) and the roll rates.
    fn fill_coefs(&mut self, p: &ModelParams, b0: f64, i: f64) {
        let inv = &self.inv;
        let (c, s, count, escrow) = (self.c, self.s, self.count, self.escrow);
        let float_k = p.float_days / 365.0;
        let fee_rate = s / 12.0;
        let late_k = p.late_fee_rate * p.late_fee_collect;
        let recap_k = p.recapture_rate * p.recapture_value;
        let comp_k = inv.comp_int_share * ((c - s) / 12.0) * 0.5;
        let cost_month = p.cost_annual.map(|c| c / 12.0);
        let n = self.n;
        let factors = &self.factors[..=n];
        let months = factors
            .windows(2)
            .zip(&self.roll[..n])
            .zip(&p.cost_index[..n]);
        self.coefs.clear();
        self.coefs.extend(months.map(|((b, &roll), &cost_index)| {
            let (b_prev, b_t) = (b[0], b[1]);
            // Scheduled balance at the start of the month, principal,
            // payment, and the new advance per unit of mass in a
            // P&I-advancing state, `Bal·(c−s)/12 + sched_prin`.
            let bal = b0 * b_prev;
            let sched_prin = b0 * (b_prev - b_t);
            let pmt = bal * i + sched_prin;
            let new_adv = bal * (c - s) / 12.0 + sched_prin;
            let cost_k = count * cost_index;
            let adv_new: [f64; 5] =
                std::array::from_fn(|k| inv.pi_advance[k + 1] * new_adv + escrow);
            MonthCoefs {
                roll,
                keep: 1.0 - roll,
                adv_new,
                fee: fee_rate * bal,
                float_pmt: pmt * float_k,
                float_bal: bal * float_k,
                late: late_k * pmt,
                recapture: recap_k * bal,
                comp_int: comp_k * bal,
                cost: cost_month.map(|c| cost_k * c),
                bal_end: b0 * b_t,
            }
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use msr_core::loan::{DqState, Investor};
    use msr_core::Config;

    /// The hoisted roll rate equals `ModelParams::roll` bit for bit.
    #[test]
    fn roll_matches_params() {
        let p = ModelParams::from_config(&Config::default());
        for (fico, ltv, rate) in [(620, 97.0, 0.07), (700, 80.0, 0.03), (810, 55.5, 0.0)] {
            let loan = Loan {
                loan_id: "R".into(),
                upb: 250_000.0,
                note_rate: rate,
                servicing_fee: 0.0025,
                remaining_term: 360,
                loan_age: 3,
                fico,
                ltv,
                investor: Investor::Gnma,
                dq_status: DqState::C,
                property_state: *b"TX",
                escrow_monthly: 300.0,
                loan_count: 1,
                advance_balance: 0.0,
            };
            let mut terms = LoanTerms::default();
            terms.prepare(&loan, &p, 1.0 / 24.0);
            for t in 1..=360usize {
                let want = p.roll(fico, ltv, terms.factors[t - 1], t as u32);
                assert_eq!(terms.roll[t - 1].to_bits(), want.to_bits(), "{fico} {t}");
            }
        }
    }

    /// The month arrays and coefficients equal the month-by-month formulas
    /// bit for bit (loans in, across and past the prepayment ramp).
    #[test]
    fn month_arrays_match_the_formulas() {
        let p = ModelParams::from_config(&Config::default());
        for (age, term, rate) in [
            (0u32, 360u32, 0.065),
            (12, 300, 0.03),
            (29, 30, 0.0),
            (200, 160, 0.08),
        ] {
            let loan = Loan {
                loan_id: "M".into(),
                upb: 180_000.0,
                note_rate: rate,
                servicing_fee: 0.0025,
                remaining_term: term,
                loan_age: age,
                fico: 690,
                ltv: 85.0,
                investor: Investor::Fnma,
                dq_status: DqState::C,
                property_state: *b"CA",
                escrow_monthly: 250.0,
                loan_count: 2,
                advance_balance: 0.0,
            };
            let mut terms = LoanTerms::default();
            terms.prepare(&loan, &p, 1.0 / 24.0);
            let fico_factor = (p.refi_fico * (loan.fico as f64 - 700.0) / 100.0).exp();
            let (b0, i, c, s) = (loan.upb, rate / 12.0, rate, loan.servicing_fee);
            let inv = p.investors[loan.investor.index()];
            let mut in_ramp = 0;
            for t in 1..=term as usize {
                let a = (age as f64 + t as f64).min(p.ramp_months);
                let ramp = a / p.ramp_months;
                let turnover = p.turnover_cpr * ramp * p.seasonal(t as u32);
                let refi = p.refi_max_cpr * ramp * fico_factor;
                assert_eq!(
                    terms.turnover_base[t - 1].to_bits(),
                    turnover.to_bits(),
                    "{age} {t}"
                );
                assert_eq!(
                    terms.refi_base[t - 1].to_bits(),
                    refi.to_bits(),
                    "{age} {t}"
                );
                if a < p.ramp_months {
                    in_ramp += 1;
                    let [tb, rb] = terms.seasoned_base[t - 1];
                    assert_eq!(
                        tb.to_bits(),
                        (p.turnover_cpr * 1.0 * p.seasonal(t as u32)).to_bits()
                    );
                    assert_eq!(rb.to_bits(), (p.refi_max_cpr * 1.0 * fico_factor).to_bits());
                }
                let (b_prev, b_t) = (terms.factors[t - 1], terms.factors[t]);
                let bal = b0 * b_prev;
                let sched_prin = b0 * (b_prev - b_t);
                let pmt = bal * i + sched_prin;
                let new_adv = bal * (c - s) / 12.0 + sched_prin;
                let k = &terms.coefs[t - 1];
                let want = [
                    (k.fee, s / 12.0 * bal),
                    (k.float_pmt, pmt * (p.float_days / 365.0)),
                    (k.late, p.late_fee_rate * p.late_fee_collect * pmt),
                    (
                        k.comp_int,
                        inv.comp_int_share * ((c - s) / 12.0) * 0.5 * bal,
                    ),
                    (
                        k.adv_new[2],
                        inv.pi_advance[3] * new_adv + loan.escrow_monthly,
                    ),
                    (
                        k.cost[1],
                        2.0 * p.cost_index[t - 1] * (p.cost_annual[1] / 12.0),
                    ),
                    (k.bal_end, b0 * b_t),
                    (k.keep, 1.0 - terms.roll[t - 1]),
                ];
                for (j, (got, want)) in want.into_iter().enumerate() {
                    assert_eq!(got.to_bits(), want.to_bits(), "{age} {t} {j}");
                }
            }
            assert_eq!(terms.in_ramp, in_ramp);
            assert_eq!(terms.seasoned_base.len(), in_ramp);
        }
    }
}
