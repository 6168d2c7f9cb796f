//! Scenario cash flows to the note owner (MODEL.md §H.2, §J), month 1 first.
//!
//! * reperform: balance `B0 + arrears` at the note rate over the remaining
//!   term, prepaying at a constant `turnover_cpr`;
//! * modified: balance `B0 + arrears` at `max(mod_rate_floor, min(c, m0))`
//!   over `mod_term`, prepaying at a constant `mod_cpr`, `mod_cost` out of
//!   month 1;
//! * deed in lieu: carrying `escrow_monthly + preservation_monthly` in months
//!   `1..=dil_months`, and at `dil_months` the sale
//!   `min(V·(1−dil_discount)·(1−sell_cost), owed(dil_months)) − dil_cost − cash_for_keys`;
//! * foreclosure: carrying in months `1..=L`, and at `L` the REO sale
//!   `min(V·(1−reo_discount)·(1−sell_cost), owed(L)) − fc_cost`
//!   (`L` from [`NoteContext::foreclosure_months`]).
//!
//! The liquidation proceeds are capped at what the borrower owes at the sale
//! month (MODEL.md v1.2 §H.2), [`owed_at`]: principal, missed interest,
//! interest accrued through liquidation and the carrying costs advanced. Any
//! surplus belongs to the borrower; the costs stay the note owner's.
//!
//! Amortising streams are MBS-style: each month the level payment is
//! recomputed on the surviving balance and remaining term,
//! `B·i/(1 − (1+i)^{−(term−t+1)})`, the prepayment is
//! `SMM·(balance − scheduled principal)`, and the cash flow is payment plus
//! prepayment. There is no ramp, seasonality or lock-in.

use msr_core::schedule::level_payment;
use msr_model::chain::smm_from_cpr;

use super::{Note, NoteContext, Outcome, NUM_OUTCOMES};

/// One scenario's cash flows and their undiscounted totals.
#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    /// Net cash flow of months `1..=len` to the note owner.
    pub cash_flows: Vec<f64>,
    /// Undiscounted cash in: payments and prepayments, or net sale proceeds.
    pub cash_in: f64,
    /// Undiscounted costs, positive: `Σ cash_flows = cash_in − costs`.
    pub costs: f64,
}

/// The four scenario streams of `note`, in [`Outcome`] order.
pub fn scenario_streams(note: &Note, ctx: &NoteContext) -> [Stream; NUM_OUTCOMES] {
    Outcome::ALL.map(|o| scenario_stream(note, ctx, o))
}

/// The stream of one outcome.
pub fn scenario_stream(note: &Note, ctx: &NoteContext, outcome: Outcome) -> Stream {
    let cfg = ctx.config();
    let n = &cfg.notes;
    let balance = note.upb + note.arrears();
    let carry = note.escrow_monthly + n.preservation_monthly;
    match outcome {
        Outcome::Reperform => amortising(
            balance,
            note.note_rate,
            note.remaining_term,
            cfg.prepay.turnover_cpr,
            0.0,
        ),
        Outcome::Modified => {
            let rate = n
                .mod_rate_floor
                .max(note.note_rate.min(cfg.mortgage_rate.m0));
            amortising(balance, rate, n.mod_term, n.mod_cpr, n.mod_cost)
        }
        Outcome::DeedInLieu => {
            let months = n.dil_months;
            let sale = (ctx.property_value_at(note, months)
                * (1.0 - n.dil_discount)
                * (1.0 - n.sell_cost))
                .min(owed_at(note, carry, months));
            let fixed = cfg.servicing.dil_cost + n.cash_for_keys;
            property_sale(months, carry, sale, fixed)
        }
        Outcome::Foreclosure => {
            let months = ctx.foreclosure_months(note);
            let sale = (ctx.property_value_at(note, months)
                * (1.0 - n.reo_discount)
                * (1.0 - n.sell_cost))
                .min(owed_at(note, carry, months));
            property_sale(months, carry, sale, cfg.servicing.fc_cost)
        }
    }
}

/// What the borrower owes at liquidation month `months` (MODEL.md v1.2 §H.2):
/// `owed(L) = B0 + arrears + L·B0·c/12 + L·carry` — the tape balance, the
/// missed interest, the interest accrued on `B0` through the sale month and
/// the carrying costs advanced (`carry` a month). The net sale proceeds the
/// note owner keeps are capped at this amount.
pub fn owed_at(note: &Note, carry: f64, months: u32) -> f64 {
    let l = f64::from(months);
    note.upb + note.arrears() + l * note.upb * note.note_rate / 12.0 + l * carry
}

/// An MBS-style amortising stream: `balance` at annual `rate` over `term`
/// months, prepaying at constant `cpr`, with `upfront_cost` out of month 1.
pub fn amortising(balance: f64, rate: f64, term: u32, cpr: f64, upfront_cost: f64) -> Stream {
    let i = rate / 12.0;
    let smm = smm_from_cpr(cpr);
    let mut b = balance;
    let mut cash_flows = Vec::with_capacity(term as usize);
    for t in 1..=term {
        let payment = level_payment(b, i, term - t + 1);
        let sched_prin = payment - b * i;
        let prepay = smm * (b - sched_prin);
        cash_flows.push(payment + prepay);
        b -= sched_prin + prepay;
    }
    let cash_in = cash_flows.iter().sum();
    if let Some(first) = cash_flows.first_mut() {
        *first -= upfront_cost;
    }
    Stream {
        cash_flows,
        cash_in,
        costs: upfront_cost,
    }
}

/// A property-sale stream: `carry` paid in every month `1..=months`
/// (including the sale month) and `sale − fixed_costs` at `months`.
fn property_sale(months: u32, carry: f64, sale: f64, fixed_costs: f64) -> Stream {
    let mut cash_flows = vec![-carry; months as usize];
    if let Some(last) = cash_flows.last_mut() {
        *last += sale - fixed_costs;
    }
    Stream {
        cash_flows,
        cash_in: sale,
        costs: carry * months as f64 + fixed_costs,
    }
}
