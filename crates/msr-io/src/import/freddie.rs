//! Freddie Mac Single-Family Loan-Level Dataset (SFLLD) → our tape.
//!
//! Two pipe-delimited files without a header: the *origination* file (one
//! line per loan) and the *monthly performance* file (one line per loan per
//! month). Field numbers below are the 1-based positions of the General
//! User Guide's file layout; they are the same in Release 46 (January 2026:
//! 32 origination and 32 performance fields) and Release 47 (31 and 35
//! fields), because every field read here sits before the fields those
//! releases moved. docs/import.md has the mapping table and sources.
//!
//! The origination file is loaded into a map keyed by loan sequence number
//! (about 150 bytes per loan); the performance file is streamed and only
//! each loan's record for the as-of month is mapped.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use msr_core::{Investor, Reject};

use super::history::{History, HistoryReport, Month};
use super::{
    col, dq_from_months, est, finish_scan, gse_status, integer, layout, number, scheduled_balance,
    split_fields, split_record, zb_code, Coverage, Draft, GseStatus, ImportError, ImportOptions,
    ImportReport, Input, LineReader, Output, PeriodField, Progress, Track, YearMonth,
};
use crate::rejects::RejectWriter;

/// 1-based field numbers of the origination file.
pub mod orig {
    /// Credit Score: 300–850; `9999` = not available.
    pub const CREDIT_SCORE: usize = 1;
    /// First Payment Date, `YYYYMM`.
    pub const FIRST_PAYMENT_DATE: usize = 2;
    /// Original UPB ($, rounded to the nearest $1,000).
    pub const ORIGINAL_UPB: usize = 11;
    /// Original Loan-to-Value (LTV), percent; `999` = not available.
    pub const ORIGINAL_LTV: usize = 12;
    /// Original Interest Rate, percent.
    pub const ORIGINAL_INTEREST_RATE: usize = 13;
    /// Property State, two letters.
    pub const PROPERTY_STATE: usize = 17;
    /// Loan Sequence Number, the key of both files.
    pub const LOAN_SEQUENCE_NUMBER: usize = 20;
    /// Original Loan Term, months.
    pub const ORIGINAL_LOAN_TERM: usize = 22;
    /// A line must have at least this many fields.
    pub const MIN_FIELDS: usize = 22;
}

/// 1-based field numbers of the monthly performance file.
pub mod perf {
    /// Loan Sequence Number.
    pub const LOAN_SEQUENCE_NUMBER: usize = 1;
    /// Monthly Reporting Period, `YYYYMM`.
    pub const MONTHLY_REPORTING_PERIOD: usize = 2;
    /// Current Actual UPB ($).
    pub const CURRENT_ACTUAL_UPB: usize = 3;
    /// Current Loan Delinquency Status: months delinquent (`0`/`00`, `1`/`01`,
    /// ...), `RA` = REO acquisition, `XX` = unknown.
    pub const CURRENT_LOAN_DELINQUENCY_STATUS: usize = 4;
    /// Remaining Months to Legal Maturity.
    pub const REMAINING_MONTHS_TO_LEGAL_MATURITY: usize = 6;
    /// Zero Balance Code: blank while the loan is active.
    pub const ZERO_BALANCE_CODE: usize = 9;
    /// Current Interest Rate, percent.
    pub const CURRENT_INTEREST_RATE: usize = 11;
    /// Estimated Loan-to-Value (ELTV), percent: 1–998; `999` = unknown.
    pub const ESTIMATED_LTV: usize = 26;
    /// A line must have at least this many fields (ELTV is read when present).
    pub const MIN_FIELDS: usize = 11;
}

/// The performance layout's Monthly Reporting Period.
const PERIOD: PeriodField = PeriodField {
    number: perf::MONTHLY_REPORTING_PERIOD,
    form: "YYYYMM",
    parse: YearMonth::from_yyyymm,
};

/// What a Freddie Mac zero balance code means (General User Guide, Zero
/// Balance Codes), as the skip reason.
pub fn zb_label(code: &str) -> String {
    let what = match code {
        "01" => "prepaid or matured",
        "02" => "third party sale",
        "03" => "short sale or charge off",
        "06" => "repurchase prior to property disposition",
        "09" => "REO disposition",
        "15" => "whole loan sale",
        "16" => "reperforming loan sale",
        "96" => "defect prior to property disposition",
        _ => return format!("zero balance code {code}"),
    };
    format!("zero balance code {code} ({what})")
}

/// Skip reason of a record whose delinquency status is `RA`.
pub const REO_ACQUISITION: &str = "REO acquisition (delinquency status RA)";

/// A loan of the origination file, parsed. Sentinels are kept as `None`;
/// a field that cannot be read is kept as `bad` and rejects the loan only
/// if it is active at the as-of month.
#[derive(Debug)]
struct Orig {
    fico: Option<i32>,
    first_payment: i64,
    orig_upb: f64,
    orig_ltv: Option<f64>,
    orig_rate: f64,
    orig_term: u32,
    state: [u8; 2],
    bad: Option<Box<(String, String, String)>>,
    duplicate: bool,
    track: Track,
}

fn label(ours: &str, theirs: &str, file: &str, field: usize) -> String {
    format!("{ours} ({theirs}, {file} field {field})")
}

/// The reject `column` for each tape column.
fn labels() -> Vec<String> {
    vec![
        label(
            "loan_id",
            "Loan Sequence Number",
            "performance",
            perf::LOAN_SEQUENCE_NUMBER,
        ),
        label(
            "upb",
            "Current Actual UPB",
            "performance",
            perf::CURRENT_ACTUAL_UPB,
        ),
        label(
            "note_rate",
            "Current Interest Rate",
            "performance",
            perf::CURRENT_INTEREST_RATE,
        ),
        "servicing_fee (import option)".to_string(),
        label(
            "remaining_term",
            "Remaining Months to Legal Maturity",
            "performance",
            perf::REMAINING_MONTHS_TO_LEGAL_MATURITY,
        ),
        label(
            "loan_age",
            "as-of minus First Payment Date",
            "origination",
            orig::FIRST_PAYMENT_DATE,
        ),
        label("fico", "Credit Score", "origination", orig::CREDIT_SCORE),
        "ltv (estimate, docs/import.md)".to_string(),
        "investor (FHLMC)".to_string(),
        label(
            "dq_status",
            "Current Loan Delinquency Status",
            "performance",
            perf::CURRENT_LOAN_DELINQUENCY_STATUS,
        ),
        label(
            "property_state",
            "Property State",
            "origination",
            orig::PROPERTY_STATE,
        ),
        "escrow_monthly (not in the dataset)".to_string(),
        "loan_count".to_string(),
        "advance_balance (not in the dataset)".to_string(),
    ]
}

/// Import a Freddie Mac origination file and monthly performance file as of
/// `options.as_of` into the tape `out`, writing rejects to `rejects`.
/// `progress` receives the bytes read so far (both files).
///
/// # Errors
/// [`ImportError`] when an input cannot be read or does not follow the
/// layout (too few fields, a reporting period that is not `YYYYMM`), when
/// the tape or rejects cannot be written, or when an option is out of range.
pub fn import_freddie<O: BufRead, P: BufRead>(
    origination: Input<O>,
    performance: Input<P>,
    out: &Path,
    rejects: &mut RejectWriter,
    options: &ImportOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<ImportReport, ImportError> {
    options.check()?;
    let mut progress = Progress::new(progress);
    let mut loans = load_origination(origination, &mut progress)?;
    let mut output = Output::create(out, options.tape, rejects)?;
    let labels = labels();
    let as_of = options.as_of.index();
    let mut orphans_at_as_of = 0u64;
    let mut coverage = Coverage::default();
    let records_before = progress.report.records_read;

    let file = performance.name;
    let mut lines = LineReader::new(performance.reader, &file);
    while let Some((line_no, line)) = lines.next_line(&mut progress)? {
        let mut f = [""; perf::ESTIMATED_LTV];
        let (n, period) = split_record(line, &mut f, perf::MIN_FIELDS, &PERIOD, &file, line_no)?;
        let period = period.index();
        coverage.see(period, as_of);
        let row = line_no - 1;
        let seq = f[perf::LOAN_SEQUENCE_NUMBER - 1].trim();
        let zb = zb_code(f[perf::ZERO_BALANCE_CODE - 1]);
        let Some(loan) = loans.get_mut(seq) else {
            if period == as_of {
                orphans_at_as_of += 1;
                output.reject(&Reject {
                    row,
                    loan_id: seq.to_string(),
                    column: labels[col::LOAN_ID].clone(),
                    value: seq.to_string(),
                    rule: "must have a record in the origination file".into(),
                })?;
            } else {
                progress.report.orphan_records += 1;
            }
            continue;
        };
        if !loan.track.take_as_of(
            period,
            as_of,
            zb,
            seq,
            row,
            &mut output,
            &mut progress.report,
            zb_label,
        ) {
            continue;
        }
        let (draft, estimates) = match map_record(
            &f,
            n,
            loan,
            seq,
            row,
            options,
            &labels,
            &mut progress.report,
        ) {
            Ok(Some(mapped)) => mapped,
            Ok(None) => continue,
            Err(reject) => {
                output.reject(&reject)?;
                continue;
            }
        };
        loan.track.asof = Some(output.draft(draft, estimates, row, &labels)?);
    }

    let records = progress.report.records_read - records_before;
    finish_scan(
        loans.values().map(|l| &l.track),
        loans.len() as u64 + orphans_at_as_of,
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

/// Freddie Mac's Modification Flag (performance field 8): `Y` modified in
/// the month, `P` modified in a prior period.
pub const MODIFICATION_FLAG: usize = 8;

/// Build the loan-month panel of `msr calibrate behaviour` from the
/// origination and monthly performance files (docs/calibration.md): every
/// record mapped as `msr import` maps the as-of record, the move to the
/// next month or the zero balance event as `next_status` (01 → PP, 02 and
/// 09 → LIQ, 03 → DIL, `RA` → LIQ; other codes end the loan's history
/// without an event). `progress` receives the bytes read.
///
/// # Errors
/// As [`import_freddie`], and [`ImportError::Layout`] when a loan's records
/// are not contiguous or its months go backwards.
pub fn history_freddie<O: BufRead, P: BufRead>(
    origination: Input<O>,
    performance: Input<P>,
    out: &Path,
    options: &ImportOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<HistoryReport, ImportError> {
    options.check()?;
    let mut progress = Progress::new(progress);
    let loans = load_origination(origination, &mut progress)?;
    let labels = labels();
    let file = performance.name;
    let mut history = History::create(out, &file)?;
    let mut opts = options.clone();
    let mut lines = LineReader::new(performance.reader, &file);
    while let Some((line_no, line)) = lines.next_line(&mut progress)? {
        let mut f = [""; perf::ESTIMATED_LTV];
        let (n, period) = split_record(line, &mut f, perf::MIN_FIELDS, &PERIOD, &file, line_no)?;
        let seq = f[perf::LOAN_SEQUENCE_NUMBER - 1].trim();
        let month = match (zb_code(f[perf::ZERO_BALANCE_CODE - 1]), loans.get(seq)) {
            (Some(z), _) => match &z {
                b"01" => Month::Ended("PP"),
                b"02" | b"09" => Month::Ended("LIQ"),
                b"03" => Month::Ended("DIL"),
                _ => Month::Censored(format!(
                    "month before the loan left the data ({})",
                    zb_label(std::str::from_utf8(&z).unwrap_or("??"))
                )),
            },
            (None, None) => Month::Unusable("record without an origination record".into()),
            (None, Some(loan)) => {
                opts.as_of = period;
                match map_record(
                    &f,
                    n,
                    loan,
                    seq,
                    line_no - 1,
                    &opts,
                    &labels,
                    &mut progress.report,
                ) {
                    Ok(Some((draft, _))) => Month::Active {
                        draft: Box::new(draft),
                        modified: matches!(f[MODIFICATION_FLAG - 1].trim(), "Y" | "P"),
                    },
                    Ok(None) => Month::Ended("LIQ"),
                    Err(r) => {
                        Month::Unusable(format!("record not mapped: {} {}", r.column, r.rule))
                    }
                }
            }
        };
        history.record(line_no, seq, period.index(), month)?;
    }
    progress.finish();
    let mut report = history.finish()?;
    report.records_read = progress.report.records_read;
    report.bytes_read = progress.report.bytes_read;
    Ok(report)
}

/// Map an active as-of record to a draft and its estimate bits: `Ok(None)`
/// when the loan is skipped (REO), `Err` when a field cannot be mapped.
#[allow(clippy::too_many_arguments)]
fn map_record(
    f: &[&str; perf::ESTIMATED_LTV],
    n_fields: usize,
    loan: &Orig,
    seq: &str,
    row: u64,
    options: &ImportOptions,
    labels: &[String],
    report: &mut ImportReport,
) -> Result<Option<(Draft, u8)>, Reject> {
    let mut estimates = 0u8;
    let reject = |column: &str, value: &str, rule: &str| Reject {
        row,
        loan_id: seq.to_string(),
        column: column.to_string(),
        value: value.to_string(),
        rule: rule.to_string(),
    };
    let field = |k: usize| f[k - 1].trim();

    let status = field(perf::CURRENT_LOAN_DELINQUENCY_STATUS);
    let dq_status = match gse_status(status) {
        Some(GseStatus::Months(m)) => dq_from_months(m),
        Some(GseStatus::Reo) => {
            report.skip(REO_ACQUISITION);
            return Ok(None);
        }
        Some(GseStatus::Unknown) => {
            return Err(reject(
                &labels[col::DQ_STATUS],
                status,
                "is not available (XX or blank): the loan's state is unknown",
            ))
        }
        None => {
            return Err(reject(
                &labels[col::DQ_STATUS],
                status,
                "is not a delinquency status (0, 1, ..., RA, XX)",
            ))
        }
    };
    if loan.duplicate {
        return Err(reject(
            &label(
                "loan_id",
                "Loan Sequence Number",
                "origination",
                orig::LOAN_SEQUENCE_NUMBER,
            ),
            seq,
            "must be unique in the origination file",
        ));
    }
    if let Some(bad) = &loan.bad {
        return Err(reject(&bad.0, &bad.1, &bad.2));
    }

    let loan_age = (options.as_of.index() - loan.first_payment).max(0);
    let upb = match number(field(perf::CURRENT_ACTUAL_UPB)) {
        Err(text) => return Err(reject(&labels[col::UPB], &text, "is not a number")),
        Ok(Some(x)) if x != 0.0 => x,
        Ok(_) => {
            estimates |= est::UPB_SCHEDULE;
            let paid = if options.as_of.index() >= loan.first_payment {
                loan_age as u32 + 1
            } else {
                0
            };
            scheduled_balance(loan.orig_upb, loan.orig_rate / 100.0, loan.orig_term, paid)
        }
    };
    let note_rate = match number(field(perf::CURRENT_INTEREST_RATE)) {
        Err(text) => return Err(reject(&labels[col::NOTE_RATE], &text, "is not a number")),
        Ok(Some(x)) => x / 100.0,
        Ok(None) => {
            estimates |= est::NOTE_RATE_ORIGINAL;
            loan.orig_rate / 100.0
        }
    };
    let remaining_term = match integer(field(perf::REMAINING_MONTHS_TO_LEGAL_MATURITY)) {
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
    let fico = match (loan.fico, options.missing_fico) {
        (Some(score), _) => score,
        (None, Some(fill)) => {
            estimates |= est::FICO_FILLED;
            fill
        }
        (None, None) => {
            return Err(reject(
                &labels[col::FICO],
                "9999",
                "is not available (9999); give --missing-fico to import such loans",
            ))
        }
    };
    let eltv = if n_fields >= perf::ESTIMATED_LTV {
        match number(field(perf::ESTIMATED_LTV)) {
            Ok(Some(x)) if (1.0..=998.0).contains(&x) => Some(x),
            Ok(_) => None,
            Err(text) => {
                return Err(reject(
                    &label(
                        "ltv",
                        "Estimated Loan-to-Value (ELTV)",
                        "performance",
                        perf::ESTIMATED_LTV,
                    ),
                    &text,
                    "is not a number",
                ))
            }
        }
    } else {
        None
    };
    let ltv = match (eltv, loan.orig_ltv, options.missing_ltv) {
        (Some(x), _, _) => {
            estimates |= est::LTV_ELTV;
            x
        }
        (None, Some(o), _) => {
            estimates |= est::LTV_AMORTIZED;
            o * upb / loan.orig_upb
        }
        (None, None, Some(fill)) => {
            estimates |= est::LTV_FILLED;
            fill
        }
        (None, None, None) => return Err(reject(
            &label("ltv", "Original LTV", "origination", orig::ORIGINAL_LTV),
            "999",
            "is not available (999) and there is no ELTV; give --missing-ltv to import such loans",
        )),
    };
    let draft = Draft {
        loan_id: seq.to_string(),
        upb,
        note_rate,
        servicing_fee: options.servicing_fee,
        remaining_term,
        loan_age,
        fico: i64::from(fico),
        ltv,
        investor: Investor::Fhlmc,
        dq_status,
        property_state: String::from_utf8_lossy(&loan.state).into_owned(),
        escrow_monthly: 0.0,
        loan_count: 1,
        advance_balance: 0.0,
    };
    Ok(Some((draft, estimates)))
}

fn load_origination<R: BufRead>(
    input: Input<R>,
    progress: &mut Progress<'_>,
) -> Result<HashMap<String, Orig>, ImportError> {
    let mut loans: HashMap<String, Orig> = HashMap::new();
    let file = input.name;
    let mut lines = LineReader::new(input.reader, &file);
    while let Some((line_no, line)) = lines.next_line(progress)? {
        let mut f = [""; orig::MIN_FIELDS];
        let n = split_fields(line, &mut f);
        if n < orig::MIN_FIELDS {
            return Err(layout(
                &file,
                line_no,
                format!(
                    "{n} fields; the origination layout has at least {}",
                    orig::MIN_FIELDS
                ),
            ));
        }
        let seq = f[orig::LOAN_SEQUENCE_NUMBER - 1].trim();
        if seq.is_empty() {
            return Err(layout(
                &file,
                line_no,
                format!(
                    "Loan Sequence Number (field {}) is blank",
                    orig::LOAN_SEQUENCE_NUMBER
                ),
            ));
        }
        let loan = parse_origination(&f);
        if let Some(existing) = loans.get_mut(seq) {
            existing.duplicate = true;
        } else {
            loans.insert(seq.to_string(), loan);
        }
    }
    if loans.is_empty() {
        return Err(ImportError::NoLoans {
            file,
            why: "the origination file has no records (it is empty, or holds only blank lines)"
                .into(),
        });
    }
    Ok(loans)
}

fn parse_origination(f: &[&str; orig::MIN_FIELDS]) -> Orig {
    let mut bad: Option<Box<(String, String, String)>> = None;
    let mut flag = |ours: &str, theirs: &str, field: usize, value: &str, rule: &str| {
        if bad.is_none() {
            bad = Some(Box::new((
                label(ours, theirs, "origination", field),
                value.to_string(),
                rule.to_string(),
            )));
        }
    };
    let field = |k: usize| f[k - 1].trim();

    let fico = match integer(field(orig::CREDIT_SCORE)) {
        Ok(Some(9999)) | Ok(None) => None,
        Ok(Some(score)) => Some(score.clamp(-1, 100_000) as i32),
        Err(text) => {
            flag(
                "fico",
                "Credit Score",
                orig::CREDIT_SCORE,
                &text,
                "is not an integer",
            );
            None
        }
    };
    let fpd = field(orig::FIRST_PAYMENT_DATE);
    let first_payment = match YearMonth::from_yyyymm(fpd) {
        Some(m) => m.index(),
        None => {
            flag(
                "loan_age",
                "First Payment Date",
                orig::FIRST_PAYMENT_DATE,
                fpd,
                "is not YYYYMM",
            );
            0
        }
    };
    let mut positive = |ours: &str, theirs: &str, k: usize| match number(field(k)) {
        Ok(Some(x)) if x > 0.0 => x,
        Ok(Some(x)) => {
            flag(ours, theirs, k, &x.to_string(), "must be > 0");
            f64::NAN
        }
        Ok(None) => {
            flag(ours, theirs, k, "", "must not be blank");
            f64::NAN
        }
        Err(text) => {
            flag(ours, theirs, k, &text, "is not a number");
            f64::NAN
        }
    };
    let orig_upb = positive("upb", "Original UPB", orig::ORIGINAL_UPB);
    let orig_rate = positive(
        "note_rate",
        "Original Interest Rate",
        orig::ORIGINAL_INTEREST_RATE,
    );
    let orig_term = positive("upb", "Original Loan Term", orig::ORIGINAL_LOAN_TERM);
    let orig_ltv = match number(field(orig::ORIGINAL_LTV)) {
        Ok(Some(999.0)) => None,
        Ok(Some(x)) => Some(x),
        Ok(None) => None,
        Err(text) => {
            flag(
                "ltv",
                "Original LTV",
                orig::ORIGINAL_LTV,
                &text,
                "is not a number",
            );
            None
        }
    };
    let state_text = field(orig::PROPERTY_STATE);
    let state = match state_text.as_bytes() {
        &[a, b] => [a, b],
        _ => {
            flag(
                "property_state",
                "Property State",
                orig::PROPERTY_STATE,
                state_text,
                "must be 2 upper-case letters",
            );
            [b'?', b'?']
        }
    };
    Orig {
        fico,
        first_payment,
        orig_upb,
        orig_ltv,
        orig_rate,
        orig_term: if orig_term.is_finite() {
            orig_term.min(f64::from(u32::MAX)) as u32
        } else {
            0
        },
        state,
        bad,
        duplicate: false,
        track: Track::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use msr_core::DqState;

    #[test]
    fn labels_cover_every_tape_column() {
        assert_eq!(labels().len(), msr_core::config::TAPE_COLUMNS.len());
        for (label, ours) in labels().iter().zip(msr_core::config::TAPE_COLUMNS) {
            assert!(label.starts_with(ours), "{label} vs {ours}");
        }
    }

    #[test]
    fn per_loan_state_is_small() {
        // The origination map holds one `Orig` plus its key per loan.
        let size = std::mem::size_of::<Orig>();
        assert!(size <= 112, "{size} bytes");
    }

    #[test]
    fn zero_balance_labels() {
        assert_eq!(zb_label("01"), "zero balance code 01 (prepaid or matured)");
        assert_eq!(zb_label("42"), "zero balance code 42");
    }

    #[test]
    fn dq_status_is_the_only_state_source() {
        // Freddie's layout has no foreclosure flag: FC never comes out.
        for m in 0..200 {
            assert_ne!(dq_from_months(m), DqState::Fc);
        }
    }
}
