//! Helpers shared by the suite's modules.

use msr_core::Loan;
use msr_engine::LoanResult;
use msr_io::parquet_in::Table;
use msr_model::COMPONENTS;

/// Loans from a golden tape, read column by column (independent of the tape
/// reader, which has its own tests).
pub fn loans_from(table: &Table) -> Vec<Loan> {
    let text = |c: &str| table.text(c).unwrap_or_else(|| panic!("column {c}"));
    let num =
        |c: &str, r: usize| table.numbers(c).unwrap_or_else(|| panic!("column {c}"))[r].unwrap();
    (0..table.num_rows)
        .map(|r| Loan {
            loan_id: text("loan_id")[r].clone(),
            upb: num("upb", r),
            note_rate: num("note_rate", r),
            servicing_fee: num("servicing_fee", r),
            remaining_term: num("remaining_term", r) as u32,
            loan_age: num("loan_age", r) as u32,
            fico: num("fico", r) as i32,
            ltv: num("ltv", r),
            investor: text("investor")[r].parse().unwrap(),
            dq_status: text("dq_status")[r].parse().unwrap(),
            property_state: text("property_state")[r].as_bytes().try_into().unwrap(),
            escrow_monthly: num("escrow_monthly", r),
            loan_count: num("loan_count", r) as u32,
            advance_balance: num("advance_balance", r),
        })
        .collect()
}

pub fn pv(r: &LoanResult, name: &str) -> f64 {
    r.pv[COMPONENTS.iter().position(|c| c.1 == name).unwrap()]
}
