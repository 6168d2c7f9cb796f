//! Fannie Mae Single-Family Loan Performance Data → our tape.
//!
//! Since the October 2020 release the dataset is one pipe-delimited file per
//! acquisition quarter without a header, one line per loan per month, each
//! line carrying the acquisition fields too (108 fields in the 2020 layout,
//! 110 in the current one, which mirrors the Credit Risk Transfer
//! disclosure). Field numbers below are the 1-based positions of the
//! "Single-Family Loan Performance Dataset and Credit Risk Transfer Glossary
//! and File Layout"; field 1 (Reference Pool ID) is blank in this dataset,
//! so every line starts with `|`. docs/import.md has the mapping table and
//! sources.
//!
//! The file is streamed; per loan only a few dozen bytes of bookkeeping are
//! kept (first and last month seen, a termination before the as-of month,
//! the as-of record's row) so that every loan is counted once.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use msr_core::{Investor, Reject};

use super::history::{History, HistoryReport, Month};
use super::{
    col, dq_from_months, est, finish_scan, gse_status, integer, layout, number, scheduled_balance,
    split_record, zb_code, Coverage, Draft, GseStatus, ImportError, ImportOptions, ImportReport,
    Input, LineReader, Output, PeriodField, Progress, Track, YearMonth,
};
use crate::rejects::RejectWriter;

/// 1-based field numbers of the single-file performance layout.
pub mod field {
    /// Loan Identifier.
    pub const LOAN_IDENTIFIER: usize = 2;
    /// Monthly Reporting Period, `MMYYYY`.
    pub const MONTHLY_REPORTING_PERIOD: usize = 3;
    /// Original Interest Rate, percent.
    pub const ORIGINAL_INTEREST_RATE: usize = 8;
    /// Current Interest Rate, percent.
    pub const CURRENT_INTEREST_RATE: usize = 9;
    /// Original UPB ($).
    pub const ORIGINAL_UPB: usize = 10;
    /// Current Actual UPB ($).
    pub const CURRENT_ACTUAL_UPB: usize = 12;
    /// Original Loan Term, months.
    pub const ORIGINAL_LOAN_TERM: usize = 13;
    /// First Payment Date, `MMYYYY`.
    pub const FIRST_PAYMENT_DATE: usize = 15;
    /// Remaining Months to Legal Maturity.
    pub const REMAINING_MONTHS_TO_LEGAL_MATURITY: usize = 17;
    /// Original Loan to Value Ratio (LTV), percent.
    pub const ORIGINAL_LTV: usize = 20;
    /// Borrower Credit Score at Origination (Classic FICO); blank when not
    /// available.
    pub const BORROWER_CREDIT_SCORE: usize = 24;
    /// Property State.
    pub const PROPERTY_STATE: usize = 31;
    /// Current Loan Delinquency Status: months delinquent (`00`, `01`, ...),
    /// `XX` = unknown.
    pub const CURRENT_LOAN_DELINQUENCY_STATUS: usize = 40;
    /// Zero Balance Code: blank while the loan is active.
    pub const ZERO_BALANCE_CODE: usize = 44;
    /// Foreclosure Date, `MMYYYY`: the date the foreclosure was completed
    /// (the property acquired).
    pub const FORECLOSURE_DATE: usize = 52;
    /// Borrower Credit Score At Issuance (of the CRT deal; the 2020 and
    /// later layouts): the fallback when field 24 is blank. Read only when
    /// the line has it.
    pub const BORROWER_CREDIT_SCORE_AT_ISSUANCE: usize = 69;
    /// A line must have at least this many fields (the 2020 layout has
    /// 108, the current one 110 or more; fields past 52 are read when present).
    pub const MIN_FIELDS: usize = 52;
    /// The last field read.
    pub(crate) const LAST_READ: usize = BORROWER_CREDIT_SCORE_AT_ISSUANCE;
}

/// Skip reason of an active record whose Foreclosure Date is populated.
pub const FORECLOSURE_COMPLETED: &str =
    "foreclosure completed (Foreclosure Date, field 52): property acquired, not a loan";

/// The performance layout's Monthly Reporting Period.
const PERIOD: PeriodField = PeriodField {
    number: field::MONTHLY_REPORTING_PERIOD,
    form: "MMYYYY",
    parse: YearMonth::from_mmyyyy,
};

/// What a Fannie Mae zero balance code means (glossary, Zero Balance Code),
/// as the skip reason.
pub fn zb_label(code: &str) -> String {
    let what = match code {
        "01" => "prepaid or matured",
        "02" => "third party sale",
        "03" => "short sale",
        "06" => "repurchased",
        "09" => "deed-in-lieu or REO disposition",
        "15" => "non-performing note sale",
        "16" => "reperforming loan sale",
        _ => return format!("zero balance code {code}"),
    };
    format!("zero balance code {code} ({what})")
}

fn label(ours: &str, theirs: &str, field: usize) -> String {
    format!("{ours} ({theirs}, field {field})")
}

/// The reject `column` for each tape column.
fn labels() -> Vec<String> {
    vec![
        label("loan_id", "Loan Identifier", field::LOAN_IDENTIFIER),
        label("upb", "Current Actual UPB", field::CURRENT_ACTUAL_UPB),
        label(
            "note_rate",
            "Current Interest Rate",
            field::CURRENT_INTEREST_RATE,
        ),
        "servicing_fee (import option)".to_string(),
        label(
            "remaining_term",
            "Remaining Months to Legal Maturity",
            field::REMAINING_MONTHS_TO_LEGAL_MATURITY,
        ),
        label(
            "loan_age",
            "as-of minus First Payment Date",
            field::FIRST_PAYMENT_DATE,
        ),
        label(
            "fico",
            "Borrower Credit Score at Origination",
            field::BORROWER_CREDIT_SCORE,
        ),
        "ltv (estimate, docs/import.md)".to_string(),
        "investor (FNMA)".to_string(),
        label(
            "dq_status",
            "Current Loan Delinquency Status",
            field::CURRENT_LOAN_DELINQUENCY_STATUS,
        ),
        label("property_state", "Property State", field::PROPERTY_STATE),
        "escrow_monthly (not in the dataset)".to_string(),
        "loan_count".to_string(),
        "advance_balance (not in the dataset)".to_string(),
    ]
}

/// Import a Fannie Mae performance file as of `options.as_of` into the tape
/// `out`, writing rejects to `rejects`. `progress` receives the bytes read.
///
/// # Errors
/// [`ImportError`] when the input cannot be read or does not follow the
/// layout (too few fields, a reporting period that is not `MMYYYY`), when
/// the tape or rejects cannot be written, or when an option is out of range.
pub fn import_fannie<P: BufRead>(
    performance: Input<P>,
    out: &Path,
    rejects: &mut RejectWriter,
    options: &ImportOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<ImportReport, ImportError> {
    options.check()?;
    let mut progress = Progress::new(progress);
    let mut output = Output::create(out, options.tape, rejects)?;
    let labels = labels();
    let as_of = options.as_of.index();
    let mut loans: HashMap<String, Track> = HashMap::new();
    let mut coverage = Coverage::default();

    let file = performance.name;
    let mut lines = LineReader::new(performance.reader, &file);
    while let Some((line_no, line)) = lines.next_line(&mut progress)? {
        let mut f = [""; field::LAST_READ];
        let (_, period) = split_record(line, &mut f, field::MIN_FIELDS, &PERIOD, &file, line_no)?;
        let period = period.index();
        coverage.see(period, as_of);
        let row = line_no - 1;
        let id = f[field::LOAN_IDENTIFIER - 1].trim();
        if id.is_empty() {
            return Err(layout(
                &file,
                line_no,
                format!(
                    "Loan Identifier (field {}) is blank",
                    field::LOAN_IDENTIFIER
                ),
            ));
        }
        if !loans.contains_key(id) {
            loans.insert(id.to_string(), Track::default());
        }
        let Some(track) = loans.get_mut(id) else {
            continue;
        };
        let zb = zb_code(f[field::ZERO_BALANCE_CODE - 1]);
        if !track.take_as_of(
            period,
            as_of,
            zb,
            id,
            row,
            &mut output,
            &mut progress.report,
            zb_label,
        ) {
            continue;
        }
        if !f[field::FORECLOSURE_DATE - 1].trim().is_empty() {
            progress.report.skip(FORECLOSURE_COMPLETED);
            continue;
        }
        let (draft, estimates) = match map_record(&f, id, row, options, &labels) {
            Ok(mapped) => mapped,
            Err(reject) => {
                output.reject(&reject)?;
                continue;
            }
        };
        track.asof = Some(output.draft(draft, estimates, row, &labels)?);
    }

    let records = progress.report.records_read;
    finish_scan(
        loans.values(),
        loans.len() as u64,
        records,
        &coverage,
        &file,
        options.as_of,
        output,
        &labels[col::LOAN_ID],
        &mut progress,
        zb_label,
    )?;
    Ok(progress.report)
}

/// Fannie Mae's Modification Flag (field 42): `Y` when the loan has been
/// modified.
pub const MODIFICATION_FLAG: usize = 42;

/// Build the loan-month panel of `msr calibrate behaviour` from a
/// performance file (docs/calibration.md): every record mapped as `msr
/// import` maps the as-of record, the move to the next month or the zero
/// balance event as `next_status` (01 → PP, 02 and 09 → LIQ, 03 → DIL, a
/// populated Foreclosure Date → LIQ; other codes end the loan's history
/// without an event). `progress` receives the bytes read.
///
/// # Errors
/// As [`import_fannie`], and [`ImportError::Layout`] when a loan's records
/// are not contiguous or its months go backwards.
pub fn history_fannie<P: BufRead>(
    performance: Input<P>,
    out: &Path,
    options: &ImportOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<HistoryReport, ImportError> {
    options.check()?;
    let mut progress = Progress::new(progress);
    let labels = labels();
    let file = performance.name;
    let mut history = History::create(out, &file)?;
    let mut opts = options.clone();
    let mut lines = LineReader::new(performance.reader, &file);
    while let Some((line_no, line)) = lines.next_line(&mut progress)? {
        let mut f = [""; field::LAST_READ];
        let (_, period) = split_record(line, &mut f, field::MIN_FIELDS, &PERIOD, &file, line_no)?;
        let id = f[field::LOAN_IDENTIFIER - 1].trim();
        if id.is_empty() {
            return Err(layout(
                &file,
                line_no,
                format!(
                    "Loan Identifier (field {}) is blank",
                    field::LOAN_IDENTIFIER
                ),
            ));
        }
        let month = match zb_code(f[field::ZERO_BALANCE_CODE - 1]) {
            Some(z) => match &z {
                b"01" => Month::Ended("PP"),
                b"02" | b"09" => Month::Ended("LIQ"),
                b"03" => Month::Ended("DIL"),
                _ => Month::Censored(format!(
                    "month before the loan left the data ({})",
                    zb_label(std::str::from_utf8(&z).unwrap_or("??"))
                )),
            },
            None if !f[field::FORECLOSURE_DATE - 1].trim().is_empty() => Month::Ended("LIQ"),
            None => {
                opts.as_of = period;
                match map_record(&f, id, line_no - 1, &opts, &labels) {
                    Ok((draft, _)) => Month::Active {
                        draft: Box::new(draft),
                        modified: f[MODIFICATION_FLAG - 1].trim() == "Y",
                    },
                    Err(r) => {
                        Month::Unusable(format!("record not mapped: {} {}", r.column, r.rule))
                    }
                }
            }
        };
        history.record(line_no, id, period.index(), month)?;
    }
    progress.finish();
    let mut report = history.finish()?;
    report.records_read = progress.report.records_read;
    report.bytes_read = progress.report.bytes_read;
    Ok(report)
}

/// Map an active as-of record to a draft and its estimate bits, or say
/// which field cannot be mapped.
fn map_record(
    f: &[&str; field::LAST_READ],
    id: &str,
    row: u64,
    options: &ImportOptions,
    labels: &[String],
) -> Result<(Draft, u8), Reject> {
    let mut estimates = 0u8;
    let reject = |column: &str, value: &str, rule: &str| Reject {
        row,
        loan_id: id.to_string(),
        column: column.to_string(),
        value: value.to_string(),
        rule: rule.to_string(),
    };
    let get = |k: usize| f[k - 1].trim();
    let not_number = |ours: &str, theirs: &str, k: usize, text: &str| {
        reject(&label(ours, theirs, k), text, "is not a number")
    };

    let status = get(field::CURRENT_LOAN_DELINQUENCY_STATUS);
    let dq_status = match gse_status(status) {
        Some(GseStatus::Months(m)) => dq_from_months(m),
        Some(GseStatus::Unknown) => {
            return Err(reject(
                &labels[col::DQ_STATUS],
                status,
                "is not available (XX or blank): the loan's state is unknown",
            ))
        }
        Some(GseStatus::Reo) | None => {
            return Err(reject(
                &labels[col::DQ_STATUS],
                status,
                "is not a delinquency status (00, 01, ..., XX)",
            ))
        }
    };

    let fpd = get(field::FIRST_PAYMENT_DATE);
    let first_payment = YearMonth::from_mmyyyy(fpd)
        .ok_or_else(|| reject(&labels[col::LOAN_AGE], fpd, "is not MMYYYY"))?
        .index();
    let as_of = options.as_of.index();
    let loan_age = (as_of - first_payment).max(0);

    let orig_upb = match number(get(field::ORIGINAL_UPB)) {
        Ok(Some(x)) if x > 0.0 => x,
        Ok(x) => {
            return Err(reject(
                &label("upb", "Original UPB", field::ORIGINAL_UPB),
                &x.map(|x| x.to_string()).unwrap_or_default(),
                "must be > 0",
            ))
        }
        Err(text) => {
            return Err(not_number(
                "upb",
                "Original UPB",
                field::ORIGINAL_UPB,
                &text,
            ))
        }
    };
    let orig_rate = match number(get(field::ORIGINAL_INTEREST_RATE)) {
        Ok(x) => x,
        Err(text) => {
            return Err(not_number(
                "note_rate",
                "Original Interest Rate",
                field::ORIGINAL_INTEREST_RATE,
                &text,
            ))
        }
    };
    let note_rate = match (number(get(field::CURRENT_INTEREST_RATE)), orig_rate) {
        (Err(text), _) => return Err(reject(&labels[col::NOTE_RATE], &text, "is not a number")),
        (Ok(Some(x)), _) => x / 100.0,
        (Ok(None), Some(o)) => {
            estimates |= est::NOTE_RATE_ORIGINAL;
            o / 100.0
        }
        (Ok(None), None) => {
            return Err(reject(
                &labels[col::NOTE_RATE],
                "",
                "must not be blank (and Original Interest Rate is blank too)",
            ))
        }
    };
    let upb = match number(get(field::CURRENT_ACTUAL_UPB)) {
        Err(text) => return Err(reject(&labels[col::UPB], &text, "is not a number")),
        Ok(Some(x)) if x != 0.0 => x,
        Ok(_) => {
            let term =
                match integer(get(field::ORIGINAL_LOAN_TERM)) {
                    Ok(Some(t)) if (1..=i64::from(u32::MAX)).contains(&t) => t as u32,
                    _ => return Err(reject(
                        &label("upb", "Original Loan Term", field::ORIGINAL_LOAN_TERM),
                        get(field::ORIGINAL_LOAN_TERM),
                        "must be a positive integer to estimate an undisclosed Current Actual UPB",
                    )),
                };
            estimates |= est::UPB_SCHEDULE;
            let paid = if as_of >= first_payment {
                loan_age as u32 + 1
            } else {
                0
            };
            scheduled_balance(orig_upb, orig_rate.unwrap_or(0.0) / 100.0, term, paid)
        }
    };
    let remaining_term = match integer(get(field::REMAINING_MONTHS_TO_LEGAL_MATURITY)) {
        Ok(Some(m)) => m,
        Ok(None) => {
            return Err(reject(
                &labels[col::REMAINING_TERM],
                "",
                "must not be blank",
            ))
        }
        Err(text) => {
            return Err(reject(
                &labels[col::REMAINING_TERM],
                &text,
                "is not an integer",
            ))
        }
    };
    // Field 24, else (blank or 9999, "not available" in the Classic FICO
    // fields) the score at issuance, field 69, when the line has it.
    let available = |r: Result<Option<i64>, String>| match r {
        Ok(Some(9999)) => Ok(None),
        other => other,
    };
    let at_issuance = || {
        available(integer(get(field::BORROWER_CREDIT_SCORE_AT_ISSUANCE)))
            .ok()
            .flatten()
    };
    let fico = match (
        available(integer(get(field::BORROWER_CREDIT_SCORE))),
        options.missing_fico,
    ) {
        (Ok(Some(score)), _) => score,
        (Ok(None), _) if at_issuance().is_some() => {
            estimates |= est::FICO_ISSUANCE;
            at_issuance().unwrap_or_default()
        }
        (Ok(None), Some(fill)) => {
            estimates |= est::FICO_FILLED;
            i64::from(fill)
        }
        (Ok(None), None) => {
            return Err(reject(
                &labels[col::FICO],
                "",
                "is not available (blank); give --missing-fico to import such loans",
            ))
        }
        (Err(text), _) => return Err(reject(&labels[col::FICO], &text, "is not an integer")),
    };
    let ltv = match (number(get(field::ORIGINAL_LTV)), options.missing_ltv) {
        (Ok(Some(o)), _) => {
            estimates |= est::LTV_AMORTIZED;
            o * upb / orig_upb
        }
        (Ok(None), Some(fill)) => {
            estimates |= est::LTV_FILLED;
            fill
        }
        (Ok(None), None) => {
            return Err(reject(
                &label("ltv", "Original Loan to Value Ratio", field::ORIGINAL_LTV),
                "",
                "is not available (blank); give --missing-ltv to import such loans",
            ))
        }
        (Err(text), _) => {
            return Err(not_number(
                "ltv",
                "Original Loan to Value Ratio",
                field::ORIGINAL_LTV,
                &text,
            ))
        }
    };
    let draft = Draft {
        loan_id: id.to_string(),
        upb,
        note_rate,
        servicing_fee: options.servicing_fee,
        remaining_term,
        loan_age,
        fico,
        ltv,
        investor: Investor::Fnma,
        dq_status,
        property_state: get(field::PROPERTY_STATE).to_string(),
        escrow_monthly: 0.0,
        loan_count: 1,
        advance_balance: 0.0,
    };
    Ok((draft, estimates))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_cover_every_tape_column() {
        assert_eq!(labels().len(), msr_core::config::TAPE_COLUMNS.len());
        for (label, ours) in labels().iter().zip(msr_core::config::TAPE_COLUMNS) {
            assert!(label.starts_with(ours), "{label} vs {ours}");
        }
    }
}
