//! The loan-month panel: one row per loan and observed month `P`, the
//! loan's status at `P` and at `P + 1` (or the event that ended it), with
//! the covariates MODEL.md §D reads. Rows are validated as they are added
//! ([`PanelBuilder::push`]); a move that §D.3 has no arrow for is counted
//! and left out, never silently.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use msr_core::loan::{DqState, Investor};

use crate::FitError;

/// A calendar month as a running index, `year·12 + (month − 1)`.
pub type Month = i32;

/// `YYYYMM` → [`Month`], `None` when the month is not 1..=12 or the year is
/// outside 1900..=2200.
pub fn month_of_yyyymm(yyyymm: i64) -> Option<Month> {
    let (y, m) = (yyyymm / 100, yyyymm % 100);
    ((1900..=2200).contains(&y) && (1..=12).contains(&m)).then_some((y * 12 + m - 1) as Month)
}

/// [`Month`] → `YYYYMM`.
pub fn yyyymm(month: Month) -> i32 {
    (month / 12) * 100 + month % 12 + 1
}

/// Calendar month 1..=12 of a [`Month`].
pub fn calendar_month(month: Month) -> u32 {
    (month % 12) as u32 + 1
}

/// What a loan does in the month after `P`: a transient state at `P + 1`,
/// or the event that ended or modified it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Next {
    /// In a transient state at `P + 1`.
    State(DqState),
    /// Voluntary payoff.
    Pp,
    /// Deed in lieu.
    Dil,
    /// Foreclosure liquidation.
    Liq,
    /// Back to current through a modification.
    Mod,
}

impl Next {
    /// Every value, transient states first.
    pub const ALL: [Next; 10] = [
        Next::State(DqState::C),
        Next::State(DqState::D30),
        Next::State(DqState::D60),
        Next::State(DqState::D90),
        Next::State(DqState::D120),
        Next::State(DqState::Fc),
        Next::Pp,
        Next::Dil,
        Next::Liq,
        Next::Mod,
    ];

    /// Parse a panel code (`C`, `D30`, …, `FC`, `PP`, `DIL`, `LIQ`, `MOD`).
    pub fn parse(code: &str) -> Option<Next> {
        Some(match code {
            "PP" => Next::Pp,
            "DIL" => Next::Dil,
            "LIQ" => Next::Liq,
            "MOD" => Next::Mod,
            other => Next::State(other.parse().ok()?),
        })
    }

    /// The panel code.
    pub fn code(self) -> &'static str {
        match self {
            Next::State(s) => s.code(),
            Next::Pp => "PP",
            Next::Dil => "DIL",
            Next::Liq => "LIQ",
            Next::Mod => "MOD",
        }
    }

    /// Index 0..10 in [`Next::ALL`] order.
    pub fn index(self) -> usize {
        match self {
            Next::State(s) => s.index(),
            Next::Pp => 6,
            Next::Dil => 7,
            Next::Liq => 8,
            Next::Mod => 9,
        }
    }

    /// True when the loan leaves the panel with this move.
    pub fn is_terminal(self) -> bool {
        matches!(self, Next::Pp | Next::Dil | Next::Liq)
    }
}

impl fmt::Display for Next {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// True when MODEL.md §D.3 has an arrow from `from` to `to` (staying put
/// included).
pub fn has_arrow(from: DqState, to: Next) -> bool {
    use DqState::*;
    match (from, to) {
        (s, Next::State(t)) if s == t => true,
        (C, Next::State(D30)) | (C, Next::Pp) => true,
        (D30, Next::State(C)) | (D30, Next::State(D60)) | (D30, Next::Pp) => true,
        (D60, Next::State(C)) | (D60, Next::State(D90)) => true,
        (D90, Next::State(C)) | (D90, Next::State(D120)) => true,
        (D120, Next::State(C)) | (D120, Next::Mod) | (D120, Next::Dil) => true,
        (D120, Next::State(Fc)) => true,
        (Fc, Next::State(C)) | (Fc, Next::Liq) => true,
        _ => false,
    }
}

/// One panel row as read from a file (borrowed text, numbers as read).
#[derive(Debug, Clone, Copy)]
pub struct RawRow<'a> {
    /// Loan identifier.
    pub loan_id: &'a str,
    /// Observation month, `YYYYMM`.
    pub period: i64,
    /// Investor code.
    pub investor: &'a str,
    /// Unpaid balance at `P`.
    pub upb: f64,
    /// Note rate, annual decimal.
    pub note_rate: f64,
    /// Months since first payment at `P`.
    pub loan_age: i64,
    /// Months to maturity at `P`.
    pub remaining_term: i64,
    /// Credit score.
    pub fico: i64,
    /// Current loan-to-value, percent.
    pub ltv: f64,
    /// US postal code.
    pub property_state: &'a str,
    /// Status at `P`.
    pub dq_status: &'a str,
    /// Status at `P + 1` or the ending event.
    pub next_status: &'a str,
}

/// A loan of the panel: what does not change from row to row.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelLoan {
    /// Identifier.
    pub loan_id: String,
    /// Investor.
    pub investor: Investor,
    /// Property state (two letters).
    pub property_state: String,
}

/// One validated loan-month.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    /// Index into [`Panel::loans`].
    pub loan: u32,
    /// Observation month `P`.
    pub period: Month,
    /// Unpaid balance at `P`.
    pub upb: f64,
    /// Note rate `c`.
    pub note_rate: f64,
    /// Loan age `a` at `P`.
    pub loan_age: i32,
    /// Remaining term at `P`.
    pub remaining_term: i32,
    /// Credit score.
    pub fico: i32,
    /// Current LTV, percent.
    pub ltv: f64,
    /// Status at `P`.
    pub status: DqState,
    /// What happened by `P + 1`.
    pub next: Next,
}

/// A validated panel: loans, their usable rows (grouped by loan, periods
/// increasing) and the moves left out.
#[derive(Debug, Clone, Default)]
pub struct Panel {
    /// Loans in first-appearance order.
    pub loans: Vec<PanelLoan>,
    /// Rows with a §D.3 arrow, in input order.
    pub rows: Vec<Row>,
    /// Rows left out because §D.3 has no arrow for their move, by
    /// `"FROM->TO"`.
    pub excluded: BTreeMap<String, u64>,
    /// Rows read (kept and left out).
    pub rows_read: u64,
}

impl Panel {
    /// Rows left out, in total.
    pub fn excluded_total(&self) -> u64 {
        self.excluded.values().sum()
    }

    /// The rows with periods before `before` (all when `None`).
    pub fn rows_before(&self, before: Option<Month>) -> Vec<Row> {
        self.rows
            .iter()
            .filter(|r| before.is_none_or(|b| r.period < b))
            .copied()
            .collect()
    }
}

/// Builds a [`Panel`] row by row, validating each.
#[derive(Debug, Default)]
pub struct PanelBuilder {
    panel: Panel,
    /// Loan id → (loan index, last period seen).
    seen: HashMap<String, (u32, Month)>,
}

impl PanelBuilder {
    /// An empty builder.
    pub fn new() -> PanelBuilder {
        PanelBuilder::default()
    }

    /// Validate and add row `row` (0-based in the file).
    ///
    /// # Errors
    /// [`FitError::Panel`] naming the row, loan, column and value for an
    /// unknown status or investor, a bad period or number, or a period not
    /// after the loan's previous one.
    pub fn push(&mut self, row: u64, raw: &RawRow<'_>) -> Result<(), FitError> {
        let bad = |column: &str, value: String, rule: &str| FitError::Panel {
            row,
            loan_id: raw.loan_id.chars().take(40).collect(),
            column: column.to_string(),
            value: value.chars().take(40).collect(),
            rule: rule.to_string(),
        };
        if raw.loan_id.is_empty() {
            return Err(bad("loan_id", String::new(), "must not be empty"));
        }
        let period = month_of_yyyymm(raw.period).ok_or_else(|| {
            bad(
                "period",
                raw.period.to_string(),
                "must be YYYYMM with month 01..12",
            )
        })?;
        let status: DqState = raw.dq_status.parse().map_err(|_| {
            bad(
                "dq_status",
                raw.dq_status.to_string(),
                "must be one of C, D30, D60, D90, D120, FC",
            )
        })?;
        let next = Next::parse(raw.next_status).ok_or_else(|| {
            bad(
                "next_status",
                raw.next_status.to_string(),
                "must be one of C, D30, D60, D90, D120, FC, PP, DIL, LIQ, MOD",
            )
        })?;
        let investor: Investor = raw.investor.parse().map_err(|_| {
            bad(
                "investor",
                raw.investor.to_string(),
                "must be one of FNMA, FHLMC, GNMA, PLS",
            )
        })?;
        if !(raw.note_rate.is_finite() && (0.0..0.25).contains(&raw.note_rate)) {
            return Err(bad(
                "note_rate",
                raw.note_rate.to_string(),
                "must be in [0, 0.25)",
            ));
        }
        if !(0..=600).contains(&raw.loan_age) {
            return Err(bad("loan_age", raw.loan_age.to_string(), "must be 0..=600"));
        }
        if !(0..=480).contains(&raw.remaining_term) {
            return Err(bad(
                "remaining_term",
                raw.remaining_term.to_string(),
                "must be 0..=480",
            ));
        }
        if !(300..=850).contains(&raw.fico) {
            return Err(bad("fico", raw.fico.to_string(), "must be 300..=850"));
        }
        if !(raw.ltv.is_finite() && raw.ltv > 0.0 && raw.ltv <= 300.0) {
            return Err(bad("ltv", raw.ltv.to_string(), "must be in (0, 300]"));
        }
        if !(raw.upb.is_finite() && raw.upb >= 0.0) {
            return Err(bad("upb", raw.upb.to_string(), "must be ≥ 0"));
        }
        let loan = match self.seen.get_mut(raw.loan_id) {
            Some((index, last)) => {
                if period <= *last {
                    return Err(bad(
                        "period",
                        raw.period.to_string(),
                        &format!(
                            "periods of a loan must increase (the loan's previous row is {})",
                            yyyymm(*last)
                        ),
                    ));
                }
                *last = period;
                *index
            }
            None => {
                let index = self.panel.loans.len() as u32;
                self.panel.loans.push(PanelLoan {
                    loan_id: raw.loan_id.to_string(),
                    investor,
                    property_state: raw.property_state.to_string(),
                });
                self.seen.insert(raw.loan_id.to_string(), (index, period));
                index
            }
        };
        self.panel.rows_read += 1;
        if !has_arrow(status, next) {
            *self
                .panel
                .excluded
                .entry(format!("{}->{}", status.code(), next.code()))
                .or_default() += 1;
            return Ok(());
        }
        self.panel.rows.push(Row {
            loan,
            period,
            upb: raw.upb,
            note_rate: raw.note_rate,
            loan_age: raw.loan_age as i32,
            remaining_term: raw.remaining_term as i32,
            fico: raw.fico as i32,
            ltv: raw.ltv,
            status,
            next,
        });
        Ok(())
    }

    /// The panel, its rows grouped by loan (stable: each loan's rows in
    /// period order).
    pub fn finish(self) -> Panel {
        let mut panel = self.panel;
        panel.rows.sort_by_key(|r| (r.loan, r.period));
        panel
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw<'a>(id: &'a str, period: i64, dq: &'a str, next: &'a str) -> RawRow<'a> {
        RawRow {
            loan_id: id,
            period,
            investor: "FNMA",
            upb: 200_000.0,
            note_rate: 0.05,
            loan_age: 10,
            remaining_term: 350,
            fico: 740,
            ltv: 75.0,
            property_state: "CA",
            dq_status: dq,
            next_status: next,
        }
    }

    #[test]
    fn months_round_trip() {
        let m = month_of_yyyymm(202311).unwrap();
        assert_eq!(yyyymm(m), 202311);
        assert_eq!(yyyymm(m + 2), 202401);
        assert_eq!(calendar_month(m + 2), 1);
        assert!(month_of_yyyymm(202313).is_none());
    }

    #[test]
    fn unknown_status_names_row_loan_and_value() {
        let mut b = PanelBuilder::new();
        b.push(0, &raw("L1", 202001, "C", "C")).unwrap();
        let e = b.push(1, &raw("L1", 202002, "C", "D45")).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("row 1"), "{msg}");
        assert!(msg.contains("L1") && msg.contains("next_status") && msg.contains("D45"));
    }

    #[test]
    fn out_of_order_periods_are_an_error() {
        let mut b = PanelBuilder::new();
        b.push(0, &raw("L1", 202003, "C", "C")).unwrap();
        b.push(1, &raw("L2", 202001, "C", "C")).unwrap();
        let msg = b
            .push(2, &raw("L1", 202002, "C", "C"))
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("row 2") && msg.contains("202002") && msg.contains("202003"),
            "{msg}"
        );
    }

    #[test]
    fn moves_without_an_arrow_are_counted_and_left_out() {
        let mut b = PanelBuilder::new();
        b.push(0, &raw("L1", 202001, "C", "D90")).unwrap();
        b.push(1, &raw("L1", 202002, "D90", "D120")).unwrap();
        b.push(2, &raw("L2", 202001, "FC", "MOD")).unwrap();
        let p = b.finish();
        assert_eq!(p.rows.len(), 1);
        assert_eq!(p.rows_read, 3);
        assert_eq!(p.excluded.get("C->D90"), Some(&1));
        assert_eq!(p.excluded.get("FC->MOD"), Some(&1));
        assert_eq!(p.excluded_total(), 2);
    }
}
