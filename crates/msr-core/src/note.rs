//! A whole-loan note (MODEL.md §H.0): one validated row of a note tape, as the
//! tape reader (msr-io) returns it and note pricing (msr-engine) takes it.

use crate::loan::{DqState, Investor, Loan};

/// Outcomes a note is priced over (reperform, modified, deed in lieu,
/// foreclosure; MODEL.md §H.1).
pub const NUM_OUTCOMES: usize = 4;

/// One validated row of a note tape (MODEL.md §H.0).
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    /// Identifier, unique in the tape.
    pub loan_id: String,
    /// Unpaid principal balance `B0` ($).
    pub upb: f64,
    /// Note rate `c`.
    pub note_rate: f64,
    /// Months to maturity `n` (1..=480).
    pub remaining_term: u32,
    /// Months since first payment.
    pub loan_age: u32,
    /// Credit score.
    pub fico: i32,
    /// Current property value ($), > 0.
    pub property_value: f64,
    /// US postal code of the property.
    pub property_state: [u8; 2],
    /// Delinquency status.
    pub dq_status: DqState,
    /// Monthly taxes + insurance ($), carried under deed in lieu and foreclosure.
    pub escrow_monthly: f64,
    /// Missed payments, overriding the status's default `d` (§H.2).
    pub months_delinquent: Option<u32>,
    /// Probability overrides in outcome order (reperform, modified, deed in lieu, foreclosure: msr-engine's `Outcome`), each in [0, 1] and summing
    /// to 1 (the tape reader rejects rows that do not); they take precedence
    /// over the chain.
    pub probabilities: Option<[f64; NUM_OUTCOMES]>,
    /// Asking price ($), for IRRs.
    pub ask_price: Option<f64>,
}

impl Note {
    /// The property state as a `&str`.
    pub fn state_code(&self) -> &str {
        std::str::from_utf8(&self.property_state).unwrap_or("??")
    }

    /// Current loan-to-value in percent, `100·upb/property_value`.
    pub fn ltv(&self) -> f64 {
        100.0 * self.upb / self.property_value
    }

    /// Missed payments `d`: the `months_delinquent` column if given, else
    /// C 0, D30 1, D60 2, D90 3, D120 4, FC 6.
    pub fn missed_payments(&self) -> u32 {
        self.months_delinquent
            .unwrap_or_else(|| self.dq_status.missed_payments())
    }

    /// Arrears `d·B0·c/12`.
    pub fn arrears(&self) -> f64 {
        self.missed_payments() as f64 * self.upb * self.note_rate / 12.0
    }

    /// The loan record the §D chain sees: servicing fee 0, one loan, no
    /// advances, `ltv = 100·upb/property_value`. The investor plays no part
    /// in the chain (FNMA is a placeholder).
    pub fn as_loan(&self) -> Loan {
        Loan {
            loan_id: self.loan_id.clone(),
            upb: self.upb,
            note_rate: self.note_rate,
            servicing_fee: 0.0,
            remaining_term: self.remaining_term,
            loan_age: self.loan_age,
            fico: self.fico,
            ltv: self.ltv(),
            investor: Investor::Fnma,
            dq_status: self.dq_status,
            property_state: self.property_state,
            escrow_monthly: self.escrow_monthly,
            loan_count: 1,
            advance_balance: 0.0,
        }
    }
}
