//! The loan record of MODEL.md §B, its delinquency states and investors, and the
//! rejected-row record every reader produces instead of dropping a row.

use std::fmt;
use std::str::FromStr;

/// Number of transient (non-absorbing) delinquency states: C, D30, D60, D90, D120, FC.
pub const NUM_STATES: usize = 6;

/// A transient delinquency state of MODEL.md §D. The discriminant is the index
/// used for every per-state array in the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum DqState {
    /// Current.
    C = 0,
    /// 30 days delinquent.
    D30 = 1,
    /// 60 days delinquent.
    D60 = 2,
    /// 90 days delinquent.
    D90 = 3,
    /// 120+ days delinquent.
    D120 = 4,
    /// In foreclosure.
    Fc = 5,
}

impl DqState {
    /// All states in index order.
    pub const ALL: [DqState; NUM_STATES] = [
        DqState::C,
        DqState::D30,
        DqState::D60,
        DqState::D90,
        DqState::D120,
        DqState::Fc,
    ];

    /// Index into per-state arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The tape code (`C`, `D30`, ..., `FC`).
    pub fn code(self) -> &'static str {
        match self {
            DqState::C => "C",
            DqState::D30 => "D30",
            DqState::D60 => "D60",
            DqState::D90 => "D90",
            DqState::D120 => "D120",
            DqState::Fc => "FC",
        }
    }

    /// Missed payments implied by the state (MODEL.md §H.2): C 0, D30 1, D60 2,
    /// D90 3, D120 4, FC 6.
    pub fn missed_payments(self) -> u32 {
        match self {
            DqState::C => 0,
            DqState::D30 => 1,
            DqState::D60 => 2,
            DqState::D90 => 3,
            DqState::D120 => 4,
            DqState::Fc => 6,
        }
    }
}

impl FromStr for DqState {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Ok(match s {
            "C" => DqState::C,
            "D30" => DqState::D30,
            "D60" => DqState::D60,
            "D90" => DqState::D90,
            "D120" => DqState::D120,
            "FC" => DqState::Fc,
            _ => return Err(()),
        })
    }
}

impl fmt::Display for DqState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Number of investor types.
pub const NUM_INVESTORS: usize = 4;

/// The investor (guarantor) of a loan, which sets the advancing and loss rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Investor {
    /// Fannie Mae.
    Fnma = 0,
    /// Freddie Mac.
    Fhlmc = 1,
    /// Ginnie Mae.
    Gnma = 2,
    /// Private-label securities.
    Pls = 3,
}

impl Investor {
    /// All investors in index order.
    pub const ALL: [Investor; NUM_INVESTORS] = [
        Investor::Fnma,
        Investor::Fhlmc,
        Investor::Gnma,
        Investor::Pls,
    ];

    /// Index into per-investor arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The tape code.
    pub fn code(self) -> &'static str {
        match self {
            Investor::Fnma => "FNMA",
            Investor::Fhlmc => "FHLMC",
            Investor::Gnma => "GNMA",
            Investor::Pls => "PLS",
        }
    }
}

impl FromStr for Investor {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Ok(match s {
            "FNMA" => Investor::Fnma,
            "FHLMC" => Investor::Fhlmc,
            "GNMA" => Investor::Gnma,
            "PLS" => Investor::Pls,
            _ => return Err(()),
        })
    }
}

impl fmt::Display for Investor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Smallest `upb` a tape row may carry: one cent. §B asks only `upb > 0`;
/// below a cent the value in bp of UPB and the multiple overflow to `inf`
/// (a subnormal UPB), and no servicer books such a loan. docs/model.md §1.
pub const MIN_UPB: f64 = 0.01;

/// Largest `upb` a tape row may carry: $10 billion. Above it a row is a data
/// error, not a loan, and a book of such rows would overflow the exact
/// portfolio sums ([`crate::ExactSum`] holds about 6e23 dollars: 60 trillion
/// loans at this cap).
pub const MAX_UPB: f64 = 1e10;

/// Smallest non-zero `servicing_fee` (annual decimal): 1e-6, a hundredth of a
/// basis point. A smaller positive fee makes the fee strip `s·B0` underflow
/// and the multiple `inf`; a loan without a fee has fee 0.
pub const MIN_SERVICING_FEE: f64 = 1e-6;

/// The tape rule for `upb` (reject text).
pub const UPB_RULE: &str = "must be in [0.01, 1e10] (dollars)";

/// Whether `upb` passes [`UPB_RULE`].
pub fn upb_ok(upb: f64) -> bool {
    (MIN_UPB..=MAX_UPB).contains(&upb)
}

/// Whether `fee` is a valid servicing fee for a loan of `note_rate`: 0, or
/// in `[MIN_SERVICING_FEE, note_rate]`.
pub fn servicing_fee_ok(fee: f64, note_rate: f64) -> bool {
    fee == 0.0 || (MIN_SERVICING_FEE..=note_rate).contains(&fee)
}

/// The tape rule for `servicing_fee` (reject text).
pub fn servicing_fee_rule(note_rate: f64) -> String {
    format!("must be 0 or in [1e-6, note_rate] = [1e-6, {note_rate}]")
}

/// One validated row of the loan tape (MODEL.md §B). A record may stand for a
/// group of `loan_count` loans (a rep line).
#[derive(Debug, Clone, PartialEq)]
pub struct Loan {
    /// Identifier, unique in the tape.
    pub loan_id: String,
    /// Current unpaid principal balance `B0` ($).
    pub upb: f64,
    /// Borrower note rate `c` (annual decimal).
    pub note_rate: f64,
    /// Annual servicing strip `s` (base + excess).
    pub servicing_fee: f64,
    /// Months to maturity `n` (1..=480).
    pub remaining_term: u32,
    /// Months since first payment.
    pub loan_age: u32,
    /// Credit score.
    pub fico: i32,
    /// Current loan-to-value, percent.
    pub ltv: f64,
    /// Investor.
    pub investor: Investor,
    /// Delinquency status at the valuation date.
    pub dq_status: DqState,
    /// US postal code of the property (two upper-case letters).
    pub property_state: [u8; 2],
    /// Monthly taxes + insurance escrow ($).
    pub escrow_monthly: f64,
    /// Loans this record stands for.
    pub loan_count: u32,
    /// Advances outstanding at the valuation date ($).
    pub advance_balance: f64,
}

impl Loan {
    /// The property state as a `&str`.
    pub fn state_code(&self) -> &str {
        std::str::from_utf8(&self.property_state).unwrap_or("??")
    }
}

/// A row that broke a rule: never dropped silently, always reported with its
/// reason (row number, loan_id, column, value, rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// 0-based row number in the input file.
    pub row: u64,
    /// The row's loan_id as read (may be empty or null).
    pub loan_id: String,
    /// The column whose value broke the rule.
    pub column: String,
    /// The offending value, as text.
    pub value: String,
    /// The rule broken, in words.
    pub rule: String,
}
