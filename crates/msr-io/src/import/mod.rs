//! Importers that turn other people's loan files into our Parquet tape
//! (MODEL.md §B): Freddie Mac's Single-Family Loan-Level Dataset
//! ([`freddie`]), Fannie Mae's Single-Family Loan Performance Data
//! ([`fannie`]) and any servicer CSV tape described by a TOML column mapping
//! ([`csv_tape`]). docs/import.md is the field-by-field mapping with its
//! sources.
//!
//! Every importer streams: input is read line by line through a `BufRead`,
//! only per-loan state is kept (a few dozen bytes per loan, never per monthly
//! record), loans go to the [`TapeWriter`] in chunks of one row group, and
//! progress is reported as bytes read through a callback.
//!
//! Every loan an importer produces passes the same rules as the tape reader
//! ([`check_draft`] mirrors `tape.rs` rule by rule, with the same wording); a
//! loan that breaks one is a [`Reject`] with its reason, written to the
//! rejects file, and the import goes on. Loans that are not active at the
//! as-of month (paid off, REO, ...) are *skipped* and counted by reason in
//! the [`ImportReport`]; they are not errors.

pub mod csv_tape;
pub mod fannie;
pub mod freddie;
pub mod history;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use msr_core::config::{is_state_code, Tape};
use msr_core::{DqState, Investor, Loan, Reject};

use crate::error::IoError;
use crate::rejects::RejectWriter;
use crate::tape::TapeReader;
use crate::tape_write::{TapeWriteOptions, TapeWriter};

pub use csv_tape::{import_csv, CsvMapping};
pub use fannie::{history_fannie, import_fannie};
pub use freddie::{history_freddie, import_freddie};
pub use history::HistoryReport;

/// The default annual servicing fee (25 bp) given to every imported GSE loan.
pub const DEFAULT_SERVICING_FEE: f64 = 0.0025;

/// Progress is reported at most once per this many bytes (and at the end).
const PROGRESS_STEP: u64 = 4 << 20;

/// A failure that makes an import unusable as a whole (as opposed to a bad
/// row, which is a [`Reject`]). Display is one line naming the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// Reading an input, or writing the tape or rejects file, failed.
    #[error(transparent)]
    Io(#[from] IoError),
    /// An input does not follow the layout it was given as (too few fields,
    /// a reporting period that is not a date, ...): the wrong file, or a
    /// damaged one.
    #[error("{}: line {line}: {problem}", file.display())]
    Layout {
        /// The file.
        file: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong, naming the field.
        problem: String,
    },
    /// A CSV mapping file cannot be used.
    #[error("{}: {problem}", file.display())]
    Mapping {
        /// The mapping file.
        file: PathBuf,
        /// The problem, naming the table and key.
        problem: String,
    },
    /// A column the mapping names is not in the CSV header.
    #[error("{}: missing column `{column}` (mapped to `{ours}` by the mapping file)", file.display())]
    MissingColumn {
        /// The CSV file.
        file: PathBuf,
        /// Their column name.
        column: String,
        /// Our tape column.
        ours: String,
    },
    /// An import option is out of range.
    #[error("{0}")]
    Options(String),
    /// The import would yield no loans (empty input, a header only, no
    /// record at the as-of month, or every record skipped or rejected);
    /// nothing is written.
    #[error("{}: no loans imported: {why}; nothing written", file.display())]
    NoLoans {
        /// The input that yielded nothing.
        file: PathBuf,
        /// Why, with the counts (and, for a GSE file, the months it covers).
        why: String,
    },
}

impl ImportError {
    fn io(file: &Path, action: &str, source: std::io::Error) -> ImportError {
        ImportError::Io(IoError::Io {
            file: file.to_path_buf(),
            action: action.to_string(),
            source,
        })
    }
}

/// Values estimated or filled in rather than read, as bits of a per-record
/// mask; [`ESTIMATES`] names them in the report.
pub(crate) mod est {
    pub const UPB_SCHEDULE: u8 = 1;
    pub const NOTE_RATE_ORIGINAL: u8 = 2;
    pub const FICO_FILLED: u8 = 4;
    pub const LTV_ELTV: u8 = 8;
    pub const LTV_AMORTIZED: u8 = 16;
    pub const LTV_FILLED: u8 = 32;
    pub const FICO_ISSUANCE: u8 = 64;
}

/// The report's name of each estimate bit.
pub const ESTIMATES: [(u8, &str); 7] = [
    (
        est::UPB_SCHEDULE,
        "upb = scheduled balance (Current Actual UPB not disclosed)",
    ),
    (
        est::NOTE_RATE_ORIGINAL,
        "note_rate = Original Interest Rate (Current Interest Rate blank)",
    ),
    (
        est::FICO_FILLED,
        "fico = --missing-fico (credit score not available)",
    ),
    (est::LTV_ELTV, "ltv = ELTV (Freddie Mac estimated LTV)"),
    (
        est::LTV_AMORTIZED,
        "ltv = original LTV x current UPB / original UPB",
    ),
    (est::LTV_FILLED, "ltv = --missing-ltv (no LTV available)"),
    (
        est::FICO_ISSUANCE,
        "fico = Borrower Credit Score at Issuance (Fannie field 69; the origination score is blank)",
    ),
];

/// A calendar month, as in a monthly reporting period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    /// Year, e.g. 2024.
    pub year: i32,
    /// Month, 1..=12.
    pub month: u32,
}

impl YearMonth {
    /// A month from year and month (1..=12); `None` otherwise.
    pub fn new(year: i32, month: u32) -> Option<YearMonth> {
        ((1..=12).contains(&month) && (1900..=2999).contains(&year))
            .then_some(YearMonth { year, month })
    }

    /// Parse `YYYYMM` (Freddie Mac's dates and our `--as-of`).
    pub fn from_yyyymm(s: &str) -> Option<YearMonth> {
        let s = s.trim();
        if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        YearMonth::new(s[..4].parse().ok()?, s[4..].parse().ok()?)
    }

    /// Parse `MMYYYY` (Fannie Mae's dates).
    pub fn from_mmyyyy(s: &str) -> Option<YearMonth> {
        let s = s.trim();
        if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        YearMonth::new(s[2..].parse().ok()?, s[..2].parse().ok()?)
    }

    /// Months since January of year 0: differences are month counts.
    pub fn index(self) -> i64 {
        i64::from(self.year) * 12 + i64::from(self.month) - 1
    }
}

impl FromStr for YearMonth {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        YearMonth::from_yyyymm(s).ok_or_else(|| format!("`{s}` is not a month YYYYMM"))
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}{:02}", self.year, self.month)
    }
}

/// An input file: its name (for messages) and a reader of its bytes.
#[derive(Debug)]
pub struct Input<R> {
    /// The file name, as given.
    pub name: PathBuf,
    /// The bytes.
    pub reader: R,
}

impl<R> Input<R> {
    /// An input read from `reader`, called `name` in messages.
    pub fn new(name: impl Into<PathBuf>, reader: R) -> Input<R> {
        Input {
            name: name.into(),
            reader,
        }
    }
}

impl Input<BufReader<File>> {
    /// Open a file for streaming (1 MiB buffer).
    ///
    /// # Errors
    /// [`ImportError::Io`] when the file cannot be opened.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ImportError> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| ImportError::io(path, "open", e))?;
        Ok(Input::new(path, BufReader::with_capacity(1 << 20, file)))
    }
}

/// How to import a GSE dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportOptions {
    /// The valuation month: each loan's record for this monthly reporting
    /// period is the one imported.
    pub as_of: YearMonth,
    /// Annual servicing fee given to every loan (base + excess), decimal.
    pub servicing_fee: f64,
    /// Credit score to use when the dataset has none (Freddie `9999`, Fannie
    /// blank); `None` rejects such loans.
    pub missing_fico: Option<i32>,
    /// Current LTV (percent) to use when no estimate can be made (original LTV
    /// not available and, for Freddie, no ELTV); `None` rejects such loans.
    pub missing_ltv: Option<f64>,
    /// How the tape is written; its row-group size is also the write chunk,
    /// so it bounds the loans held in memory.
    pub tape: TapeWriteOptions,
}

impl ImportOptions {
    /// Options for an as-of month with the defaults: 25 bp servicing fee,
    /// reject missing credit scores and LTVs, 100,000-row row groups.
    pub fn new(as_of: YearMonth) -> ImportOptions {
        ImportOptions {
            as_of,
            servicing_fee: DEFAULT_SERVICING_FEE,
            missing_fico: None,
            missing_ltv: None,
            tape: TapeWriteOptions {
                max_row_group_rows: 100_000,
            },
        }
    }

    fn check(&self) -> Result<(), ImportError> {
        let s = self.servicing_fee;
        if !(s.is_finite() && (0.0..0.25).contains(&s)) {
            return Err(ImportError::Options(format!(
                "servicing fee {s} must be in [0, 0.25)"
            )));
        }
        if let Some(f) = self.missing_fico {
            if !(300..=850).contains(&f) {
                return Err(ImportError::Options(format!(
                    "missing-fico {f} must be in 300..=850"
                )));
            }
        }
        if let Some(l) = self.missing_ltv {
            if !(l.is_finite() && l > 0.0 && l <= 300.0) {
                return Err(ImportError::Options(format!(
                    "missing-ltv {l} must be in (0, 300]"
                )));
            }
        }
        if self.tape.max_row_group_rows == 0 {
            return Err(ImportError::Options(
                "row-group size must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// What an import did. Every loan of the input lands in exactly one of
/// `imported`, `rejected` or `skipped` (a loan with several records for the
/// as-of month gives one reject per record).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Non-blank lines (GSE files) or data rows (CSV) read, all inputs.
    pub records_read: u64,
    /// Bytes read, all inputs.
    pub bytes_read: u64,
    /// Distinct loans in the input (Freddie: the origination file plus any
    /// as-of record without one; Fannie: distinct loan identifiers; CSV: rows).
    pub loans_seen: u64,
    /// Loans written to the tape.
    pub imported: u64,
    /// Reject records written (each with row, loan_id, column, value, rule).
    pub rejected: u64,
    /// Loans skipped because they are not active at the as-of month, by
    /// reason (e.g. `zero balance code 01 (prepaid or matured)`).
    pub skipped: BTreeMap<String, u64>,
    /// Values estimated or filled in rather than read, by kind (e.g.
    /// `ltv = original LTV x current UPB / original UPB`); loans, not errors.
    pub estimated: BTreeMap<String, u64>,
    /// Performance records of loans with no origination record (Freddie),
    /// outside the as-of month; ignored.
    pub orphan_records: u64,
}

impl ImportReport {
    /// Loans skipped, all reasons.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }

    /// Share of the active as-of records that were rejected (0 when none).
    pub fn reject_share(&self) -> f64 {
        let active = self.imported + self.rejected;
        if active == 0 {
            0.0
        } else {
            self.rejected as f64 / active as f64
        }
    }

    fn skip(&mut self, reason: impl Into<String>) {
        *self.skipped.entry(reason.into()).or_default() += 1;
    }
}

/// One loan as mapped from a source, before the §B rules: integers are wide
/// so an out-of-range value is reported as read.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// Identifier.
    pub loan_id: String,
    /// Current UPB ($).
    pub upb: f64,
    /// Note rate, annual decimal.
    pub note_rate: f64,
    /// Servicing fee, annual decimal.
    pub servicing_fee: f64,
    /// Months to maturity.
    pub remaining_term: i64,
    /// Months since first payment.
    pub loan_age: i64,
    /// Credit score.
    pub fico: i64,
    /// Current LTV, percent.
    pub ltv: f64,
    /// Investor.
    pub investor: Investor,
    /// Delinquency status.
    pub dq_status: DqState,
    /// Property state as read.
    pub property_state: String,
    /// Monthly escrow ($).
    pub escrow_monthly: f64,
    /// Loans the record stands for.
    pub loan_count: i64,
    /// Advances outstanding ($).
    pub advance_balance: f64,
}

/// Tape column indices (MODEL.md §B order, as `TAPE_COLUMNS`).
pub(crate) mod col {
    pub const LOAN_ID: usize = 0;
    pub const UPB: usize = 1;
    pub const NOTE_RATE: usize = 2;
    pub const SERVICING_FEE: usize = 3;
    pub const REMAINING_TERM: usize = 4;
    pub const LOAN_AGE: usize = 5;
    pub const FICO: usize = 6;
    pub const LTV: usize = 7;
    pub const INVESTOR: usize = 8;
    pub const DQ_STATUS: usize = 9;
    pub const PROPERTY_STATE: usize = 10;
    pub const ESCROW_MONTHLY: usize = 11;
    pub const LOAN_COUNT: usize = 12;
    pub const ADVANCE_BALANCE: usize = 13;
}

/// Apply every rule of MODEL.md §B to a draft, in column order, with the
/// tape reader's wording; the first rule broken becomes the reject.
/// `labels[k]` names where tape column `k` came from (it becomes the
/// reject's `column`).
///
/// # Errors
/// The [`Reject`] of the first rule broken.
pub fn check_draft(d: Draft, row: u64, labels: &[String]) -> Result<Loan, Reject> {
    let reject = |k: usize, value: String, rule: String| Reject {
        row,
        loan_id: d.loan_id.clone(),
        column: labels[k].clone(),
        value,
        rule,
    };
    let float = |k: usize, x: f64, ok: bool, rule: &str| {
        if ok && x.is_finite() {
            Ok(x)
        } else {
            Err(reject(k, x.to_string(), rule.to_string()))
        }
    };
    let int = |k: usize, x: i64, lo: i64, hi: i64| {
        if (lo..=hi).contains(&x) {
            Ok(x)
        } else {
            Err(reject(k, x.to_string(), format!("must be in {lo}..={hi}")))
        }
    };

    if d.loan_id.is_empty() {
        return Err(reject(
            col::LOAN_ID,
            String::new(),
            "must be non-empty".into(),
        ));
    }
    let upb = float(
        col::UPB,
        d.upb,
        msr_core::loan::upb_ok(d.upb),
        msr_core::loan::UPB_RULE,
    )?;
    let c = d.note_rate;
    let note_rate = float(
        col::NOTE_RATE,
        c,
        (0.0..0.25).contains(&c),
        "must be in [0, 0.25)",
    )?;
    let fee = d.servicing_fee;
    if !msr_core::loan::servicing_fee_ok(fee, note_rate) {
        return Err(reject(
            col::SERVICING_FEE,
            fee.to_string(),
            msr_core::loan::servicing_fee_rule(note_rate),
        ));
    }
    let remaining_term = int(col::REMAINING_TERM, d.remaining_term, 1, 480)? as u32;
    let loan_age = int(col::LOAN_AGE, d.loan_age, 0, 600)? as u32;
    let fico = int(col::FICO, d.fico, 300, 850)? as i32;
    let ltv = float(
        col::LTV,
        d.ltv,
        d.ltv > 0.0 && d.ltv <= 300.0,
        "must be in (0, 300]",
    )?;
    let property_state = match d.property_state.as_bytes() {
        &[a, b] if is_state_code(&d.property_state) => [a, b],
        _ => {
            return Err(reject(
                col::PROPERTY_STATE,
                d.property_state.clone(),
                "must be 2 upper-case letters".into(),
            ))
        }
    };
    let escrow_monthly = float(
        col::ESCROW_MONTHLY,
        d.escrow_monthly,
        d.escrow_monthly >= 0.0,
        "must be >= 0",
    )?;
    if d.loan_count < 1 {
        return Err(reject(
            col::LOAN_COUNT,
            d.loan_count.to_string(),
            "must be >= 1".into(),
        ));
    }
    let loan_count = int(col::LOAN_COUNT, d.loan_count, 1, i64::from(i32::MAX))? as u32;
    let advance_balance = float(
        col::ADVANCE_BALANCE,
        d.advance_balance,
        d.advance_balance >= 0.0,
        "must be >= 0",
    )?;
    if d.dq_status == DqState::C && advance_balance != 0.0 {
        return Err(reject(
            col::ADVANCE_BALANCE,
            advance_balance.to_string(),
            "must be 0 when dq_status is C".into(),
        ));
    }
    Ok(Loan {
        loan_id: d.loan_id,
        upb,
        note_rate,
        servicing_fee: fee,
        remaining_term,
        loan_age,
        fico,
        ltv,
        investor: d.investor,
        dq_status: d.dq_status,
        property_state,
        escrow_monthly,
        loan_count,
        advance_balance,
    })
}

/// The delinquency state for a GSE "months delinquent" count: 0 → C, 1 →
/// D30, 2 → D60, 3 → D90, 4 and more → D120.
pub fn dq_from_months(months: u32) -> DqState {
    match months {
        0 => DqState::C,
        1 => DqState::D30,
        2 => DqState::D60,
        3 => DqState::D90,
        _ => DqState::D120,
    }
}

/// A GSE "Current Loan Delinquency Status" code, read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GseStatus {
    /// Months delinquent (`0`, `00`, `1`, `01`, ..., `99`, `120`, ...).
    Months(u32),
    /// REO acquisition (Freddie `RA`, or `R` before Release 29).
    Reo,
    /// Not available (`XX` or blank).
    Unknown,
}

pub(crate) fn gse_status(s: &str) -> Option<GseStatus> {
    let s = s.trim();
    match s {
        "" | "XX" => Some(GseStatus::Unknown),
        "RA" | "R" => Some(GseStatus::Reo),
        _ => s.parse().ok().map(GseStatus::Months),
    }
}

/// The scheduled balance of a level-payment loan after `k` payments, as
/// the §E.1 schedule: `orig_upb × b_k(c, n)`.
pub(crate) fn scheduled_balance(orig_upb: f64, orig_rate: f64, orig_term: u32, k: u32) -> f64 {
    orig_upb * msr_core::schedule::balance_factor(orig_rate, orig_term, k.min(orig_term))
}

/// Split a pipe-delimited line, keeping the first `N` fields in `out` (the
/// rest blank) and returning the total number of fields.
pub(crate) fn split_fields<'a, const N: usize>(line: &'a str, out: &mut [&'a str; N]) -> usize {
    let mut count = 0;
    for (k, field) in line.split('|').enumerate() {
        if k < N {
            out[k] = field;
        }
        count = k + 1;
    }
    for slot in out.iter_mut().skip(count) {
        *slot = "";
    }
    count
}

/// Parse a number field; blank is `None`, garbage is `Err(text)`.
pub(crate) fn number(s: &str) -> Result<Option<f64>, String> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .map(Some)
        .ok_or_else(|| t.to_string())
}

/// Parse an integer field (an integral decimal such as `360.0` is
/// accepted); blank is `None`, anything else is `Err(text)`.
pub(crate) fn integer(s: &str) -> Result<Option<i64>, String> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if let Ok(n) = t.parse::<i64>() {
        return Ok(Some(n));
    }
    match t.parse::<f64>() {
        Ok(x) if x.is_finite() && x.fract() == 0.0 && x.abs() < 9.0e15 => Ok(Some(x as i64)),
        _ => Err(t.to_string()),
    }
}

/// The longest line an importer accepts, in bytes (line ending included):
/// 1 MiB. A GSE record is a few hundred bytes and a servicer's CSV row a few
/// kilobytes; a longer "line" is a file without line endings (binary data,
/// the wrong file, an endless stream) and would otherwise grow one buffer
/// without bound.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// The problem text of a line longer than [`MAX_LINE_BYTES`].
pub(crate) fn too_long_problem() -> String {
    format!(
        "line longer than {MAX_LINE_BYTES} bytes (1 MiB) without a line ending: \
         not a line-based loan file, or a damaged one"
    )
}

/// The problem text of a last line without its line ending.
pub(crate) const TRUNCATED_PROBLEM: &str =
    "the last line has no line ending: the file was cut mid-line (truncated). \
     A complete file ends every line with a newline; if this one is complete, add the newline";

/// Reads a text file line by line into one reusable buffer, counting lines
/// and bytes into a [`Progress`].
///
/// A line is at most [`MAX_LINE_BYTES`] long; a last line without its
/// newline is a truncated file (both are [`ImportError::Layout`] naming the
/// file and line), except when it is blank (a stray `\r` or spaces at the
/// end), which is ignored like any blank line.
pub(crate) struct LineReader<R> {
    reader: R,
    file: PathBuf,
    buf: Vec<u8>,
    text: String,
    /// 1-based number of the line last read.
    line: u64,
}

impl<R: BufRead> LineReader<R> {
    pub(crate) fn new(reader: R, file: &Path) -> Self {
        LineReader {
            reader,
            file: file.to_path_buf(),
            buf: Vec::with_capacity(1024),
            text: String::new(),
            line: 0,
        }
    }

    /// Read one physical line into `buf` (newline included); `Ok(true)` when
    /// it ended with a newline, `Ok(false)` at the end of the input.
    fn read_line(&mut self) -> Result<bool, ImportError> {
        self.buf.clear();
        loop {
            let available = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ImportError::io(&self.file, "read", e)),
            };
            if available.is_empty() {
                return Ok(false);
            }
            let (take, done) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (available.len(), false),
            };
            if self.buf.len() + take > MAX_LINE_BYTES {
                return Err(layout(&self.file, self.line + 1, too_long_problem()));
            }
            self.buf.extend_from_slice(&available[..take]);
            self.reader.consume(take);
            if done {
                return Ok(true);
            }
        }
    }

    /// The next non-blank line, as its 1-based line number and its text
    /// without the line ending; `None` at the end.
    ///
    /// # Errors
    /// [`ImportError::Io`] when reading fails; [`ImportError::Layout`] for a
    /// line longer than [`MAX_LINE_BYTES`] or a last line without its
    /// newline (a truncated file).
    pub(crate) fn next_line(
        &mut self,
        progress: &mut Progress<'_>,
    ) -> Result<Option<(u64, &str)>, ImportError> {
        loop {
            let terminated = self.read_line()?;
            let n = self.buf.len();
            if n == 0 {
                return Ok(None);
            }
            progress.add(n as u64);
            self.line += 1;
            while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
                self.buf.pop();
            }
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if !terminated {
                return Err(layout(&self.file, self.line, TRUNCATED_PROBLEM));
            }
            progress.report.records_read += 1;
            self.text.clear();
            match std::str::from_utf8(&self.buf) {
                Ok(s) => self.text.push_str(s),
                Err(_) => self.text.push_str(&String::from_utf8_lossy(&self.buf)),
            }
            return Ok(Some((self.line, &self.text)));
        }
    }
}

/// A layout error at a line of a file.
pub(crate) fn layout(file: &Path, line: u64, problem: impl Into<String>) -> ImportError {
    ImportError::Layout {
        file: file.to_path_buf(),
        line,
        problem: problem.into(),
    }
}

/// Byte counting and the progress callback, plus the report being built
/// (so the line reader can count records).
pub(crate) struct Progress<'a> {
    callback: &'a mut dyn FnMut(u64),
    last: u64,
    pub(crate) report: ImportReport,
}

impl<'a> Progress<'a> {
    pub(crate) fn new(callback: &'a mut dyn FnMut(u64)) -> Self {
        Progress {
            callback,
            last: 0,
            report: ImportReport::default(),
        }
    }

    pub(crate) fn add(&mut self, bytes: u64) {
        self.report.bytes_read += bytes;
        if self.report.bytes_read - self.last >= PROGRESS_STEP {
            self.last = self.report.bytes_read;
            (self.callback)(self.last);
        }
    }

    /// Report the final byte count (unless it was just reported).
    pub(crate) fn finish(&mut self) {
        if self.last != self.report.bytes_read || self.last == 0 {
            self.last = self.report.bytes_read;
            (self.callback)(self.last);
        }
    }
}

/// Where imported loans and rejects go: the tape in row-group chunks, the
/// rejects file, and the bookkeeping that makes a duplicated loan id reject
/// every copy (MODEL.md §B).
pub(crate) struct Output<'r> {
    tape: TapeWriter,
    path: PathBuf,
    options: TapeWriteOptions,
    pending: Vec<Loan>,
    rejects: &'r mut RejectWriter,
    /// Loan ids with more than one record for the as-of month: the first
    /// record, then the other rows.
    duplicates: HashMap<String, (AsOf, Vec<u64>)>,
    /// Loans written per estimate bit (index of [`ESTIMATES`]).
    estimated: [u64; ESTIMATES.len()],
    imported: u64,
    rejected: u64,
    /// The first reject written, quoted when nothing is imported.
    first_reject: Option<Reject>,
}

/// A loan's record for the as-of month: its row, whether its loan was
/// written, and what was estimated for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AsOf {
    pub(crate) row: u64,
    pub(crate) written: bool,
    pub(crate) estimates: u8,
}

impl<'r> Output<'r> {
    pub(crate) fn create(
        path: &Path,
        options: TapeWriteOptions,
        rejects: &'r mut RejectWriter,
    ) -> Result<Self, ImportError> {
        Ok(Output {
            tape: TapeWriter::create(path, options, &[])?,
            path: path.to_path_buf(),
            options,
            pending: Vec::with_capacity(options.max_row_group_rows.min(1 << 16)),
            rejects,
            duplicates: HashMap::new(),
            estimated: [0; ESTIMATES.len()],
            imported: 0,
            rejected: 0,
            first_reject: None,
        })
    }

    fn loan(&mut self, loan: Loan) -> Result<(), ImportError> {
        self.pending.push(loan);
        self.imported += 1;
        if self.pending.len() >= self.options.max_row_group_rows {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ImportError> {
        if !self.pending.is_empty() {
            self.tape.write(&self.pending, &[])?;
            self.pending.clear();
        }
        Ok(())
    }

    pub(crate) fn reject(&mut self, reject: &Reject) -> Result<(), ImportError> {
        self.rejects.write(reject)?;
        self.rejected += 1;
        if self.first_reject.is_none() {
            self.first_reject = Some(reject.clone());
        }
        Ok(())
    }

    /// Record that `loan_id` has another record at `row` after `first`.
    pub(crate) fn duplicate(&mut self, loan_id: &str, first: AsOf, row: u64) {
        self.duplicates
            .entry(loan_id.to_string())
            .or_insert_with(|| (first, Vec::new()))
            .1
            .push(row);
    }

    /// Check a draft and write the loan, or the reject; the record's
    /// [`AsOf`].
    pub(crate) fn draft(
        &mut self,
        draft: Draft,
        estimates: u8,
        row: u64,
        labels: &[String],
    ) -> Result<AsOf, ImportError> {
        match check_draft(draft, row, labels) {
            Ok(loan) => {
                self.loan(loan)?;
                count_estimates(&mut self.estimated, estimates, 1);
                Ok(AsOf {
                    row,
                    written: true,
                    estimates,
                })
            }
            Err(reject) => {
                self.reject(&reject)?;
                Ok(AsOf {
                    row,
                    written: false,
                    estimates: 0,
                })
            }
        }
    }

    /// Finish the tape and fill the report's `imported`, `rejected` and
    /// `estimated`. A duplicated id rejects every copy: each later record is
    /// rejected, and so is the first if it had been written, in which case
    /// the tape is rewritten without it (a second streaming pass, only when
    /// that happens).
    ///
    /// # Errors
    /// [`ImportError::NoLoans`] naming `input` when no loan is left to
    /// write (`scope` says which records were candidates, e.g. `the 3
    /// records for the as-of month 202406`); the tape is then not written.
    pub(crate) fn finish(
        mut self,
        id_column: &str,
        report: &mut ImportReport,
        input: &Path,
        scope: &str,
    ) -> Result<(), ImportError> {
        let mut ids: Vec<(String, (AsOf, Vec<u64>))> = self.duplicates.drain().collect();
        ids.sort_by(|a, b| a.0.cmp(&b.0));
        let mut remove: HashSet<String> = HashSet::new();
        for (id, (first, others)) in ids {
            let copies = others.len() + 1;
            let written = first.written;
            let mut rows = others;
            if written {
                rows.insert(0, first.row);
                self.imported -= 1;
                count_estimates(&mut self.estimated, first.estimates, -1);
            }
            for row in rows {
                let reject = Reject {
                    row,
                    loan_id: id.clone(),
                    column: id_column.to_string(),
                    value: id.clone(),
                    rule: format!("must be unique: loan_id has {copies} records"),
                };
                self.rejects.write(&reject)?;
                self.rejected += 1;
                if self.first_reject.is_none() {
                    self.first_reject = Some(reject);
                }
            }
            if written {
                remove.insert(id);
            }
        }
        report.imported = self.imported;
        report.rejected = self.rejected;
        if self.imported == 0 {
            return Err(ImportError::NoLoans {
                file: input.to_path_buf(),
                why: nothing_left(scope, report, self.first_reject.as_ref()),
            });
        }
        self.flush()?;
        self.tape.finish()?;
        if !remove.is_empty() {
            let mut reader = TapeReader::open(&self.path, &Tape::default())?;
            let mut writer = TapeWriter::create(&self.path, self.options, &[])?;
            while let Some(batch) = reader.next_batch()? {
                let keep: Vec<Loan> = batch
                    .loans
                    .into_iter()
                    .filter(|l| !remove.contains(&l.loan_id))
                    .collect();
                writer.write(&keep, &[])?;
            }
            drop(reader);
            writer.finish()?;
        }
        for ((_, name), &n) in ESTIMATES.iter().zip(&self.estimated) {
            if n > 0 {
                report.estimated.insert(name.to_string(), n);
            }
        }
        Ok(())
    }
}

/// Why no loan is left: every candidate record skipped or rejected, with
/// the counts by reason and the first reject quoted (the rejects file is
/// not written when nothing is imported).
fn nothing_left(scope: &str, report: &ImportReport, first: Option<&Reject>) -> String {
    let mut why = format!("{scope} were all skipped or rejected");
    let mut parts = Vec::new();
    if !report.skipped.is_empty() {
        let reasons: Vec<String> = report
            .skipped
            .iter()
            .map(|(reason, n)| format!("{n} {reason}"))
            .collect();
        parts.push(format!(
            "{} skipped ({})",
            report.skipped_total(),
            reasons.join(", ")
        ));
    }
    if report.rejected > 0 {
        let mut part = format!("{} rejected", report.rejected);
        if let Some(r) = first {
            // Data in a one-line message: control characters escaped (a
            // quoted CSV field may hold line breaks) and a long value cut.
            let shown = |t: &str| {
                let t = crate::text::terminal_safe(t);
                match t.char_indices().nth(80) {
                    Some((cut, _)) => format!("{}…", &t[..cut]),
                    None => t.into_owned(),
                }
            };
            part.push_str(&format!(
                " (first: row {}, loan `{}`, {} = `{}` {})",
                r.row,
                shown(&r.loan_id),
                shown(&r.column),
                shown(&r.value),
                r.rule
            ));
        }
        parts.push(part);
    }
    if !parts.is_empty() {
        why.push_str(": ");
        why.push_str(&parts.join("; "));
    }
    why
}

/// The months a GSE file's records cover (first and last reporting period
/// seen) and its records for the as-of month, for the "no record at the
/// as-of month" message.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Coverage {
    first: Option<i64>,
    last: Option<i64>,
    /// Records for the as-of month.
    pub(crate) at_as_of: u64,
}

impl Coverage {
    pub(crate) fn see(&mut self, period: i64, as_of: i64) {
        self.first = Some(self.first.map_or(period, |f| f.min(period)));
        self.last = Some(self.last.map_or(period, |l| l.max(period)));
        if period == as_of {
            self.at_as_of += 1;
        }
    }

    /// `Err(NoLoans)` when the file had no record, or none for the as-of
    /// month (saying which months it covers).
    pub(crate) fn check(
        &self,
        file: &Path,
        records: u64,
        as_of: YearMonth,
    ) -> Result<(), ImportError> {
        let why = match (self.first, self.last) {
            _ if records == 0 => {
                "the file has no records (it is empty, or holds only blank lines)".to_string()
            }
            (Some(first), Some(last)) if self.at_as_of == 0 => format!(
                "no record for the as-of month {as_of}: the file's {records} records cover {} to {}",
                month_of(first),
                month_of(last)
            ),
            _ => return Ok(()),
        };
        Err(ImportError::NoLoans {
            file: file.to_path_buf(),
            why,
        })
    }
}

/// A month index back to `YYYYMM`.
fn month_of(index: i64) -> String {
    format!("{:04}{:02}", index.div_euclid(12), index.rem_euclid(12) + 1)
}

fn count_estimates(counts: &mut [u64; ESTIMATES.len()], estimates: u8, sign: i64) {
    for (count, (bit, _)) in counts.iter_mut().zip(&ESTIMATES) {
        if estimates & bit != 0 {
            *count = count.saturating_add_signed(sign);
        }
    }
}

/// Per-loan bookkeeping of a GSE import: which months were seen, whether
/// the loan terminated before the as-of month, and its as-of record.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Track {
    /// First and last monthly reporting period seen (month index), 0 = none.
    pub(crate) first: i64,
    pub(crate) last: i64,
    /// Zero balance code of a record before the as-of month (`[0, 0]`: none).
    pub(crate) zb_before: [u8; 2],
    /// The as-of record.
    pub(crate) asof: Option<AsOf>,
}

impl Track {
    pub(crate) fn see(&mut self, period: i64) {
        if self.first == 0 || period < self.first {
            self.first = period;
        }
        self.last = self.last.max(period);
    }

    /// The as-of bookkeeping both GSE importers share, for one record of
    /// this loan: the period seen; a zero balance code before the as-of
    /// month remembered; a second record for the as-of month counted as a
    /// duplicate; the as-of record claimed, and skipped (with its reason)
    /// when it carries a zero balance code. True when the record is the
    /// loan's as-of record and is to be mapped.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn take_as_of(
        &mut self,
        period: i64,
        as_of: i64,
        zb: Option<[u8; 2]>,
        loan_id: &str,
        row: u64,
        output: &mut Output<'_>,
        report: &mut ImportReport,
        zb_label: fn(&str) -> String,
    ) -> bool {
        self.see(period);
        if period < as_of {
            if let Some(z) = zb {
                self.zb_before = z;
            }
            return false;
        }
        if period > as_of {
            return false;
        }
        if let Some(first) = self.asof {
            output.duplicate(loan_id, first, row);
            return false;
        }
        self.asof = Some(AsOf {
            row,
            written: false,
            estimates: 0,
        });
        if let Some(z) = zb {
            report.skip(zb_label(std::str::from_utf8(&z).unwrap_or("??")));
            return false;
        }
        true
    }

    /// Why a loan with no as-of record is skipped.
    pub(crate) fn reason_without_asof(&self, as_of: i64, zb_label: fn(&str) -> String) -> String {
        if self.zb_before != [0, 0] {
            zb_label(std::str::from_utf8(&self.zb_before).unwrap_or("??"))
        } else if self.first == 0 {
            "no performance records".to_string()
        } else if self.first > as_of {
            "first record after the as-of month".to_string()
        } else if self.last < as_of {
            "records end before the as-of month without a zero balance code".to_string()
        } else {
            "no record for the as-of month".to_string()
        }
    }
}

/// Where a GSE performance layout keeps its Monthly Reporting Period.
pub(crate) struct PeriodField {
    /// 1-based field number.
    pub(crate) number: usize,
    /// The form it is written in, for the message (`YYYYMM`, `MMYYYY`).
    pub(crate) form: &'static str,
    /// Its parser.
    pub(crate) parse: fn(&str) -> Option<YearMonth>,
}

/// One GSE performance record: `line` split into `f`, and its month. Both
/// importers and both panel builders read their records through it.
///
/// # Errors
/// [`ImportError::Layout`] naming the file and line for fewer than
/// `min_fields` fields or a period `period.parse` cannot read.
pub(crate) fn split_record<'a, const N: usize>(
    line: &'a str,
    f: &mut [&'a str; N],
    min_fields: usize,
    period: &PeriodField,
    file: &Path,
    line_no: u64,
) -> Result<(usize, YearMonth), ImportError> {
    let n = split_fields(line, f);
    if n < min_fields {
        return Err(layout(
            file,
            line_no,
            format!("{n} fields; the performance layout has at least {min_fields}"),
        ));
    }
    let text = f[period.number - 1];
    let month = (period.parse)(text).ok_or_else(|| {
        layout(
            file,
            line_no,
            format!(
                "Monthly Reporting Period (field {}) `{text}` is not {}",
                period.number, period.form
            ),
        )
    })?;
    Ok((n, month))
}

/// The end both GSE importers share: every loan without an as-of record
/// skipped with its reason, `loans_seen` recorded, the as-of month's
/// coverage of the `records` performance records checked, and the tape
/// finished.
///
/// # Errors
/// [`Coverage::check`]'s and [`Output::finish`]'s.
#[allow(clippy::too_many_arguments)]
pub(crate) fn finish_scan<'t>(
    tracks: impl Iterator<Item = &'t Track>,
    loans_seen: u64,
    records: u64,
    coverage: &Coverage,
    file: &Path,
    as_of: YearMonth,
    output: Output<'_>,
    id_column: &str,
    progress: &mut Progress<'_>,
    zb_label: fn(&str) -> String,
) -> Result<(), ImportError> {
    for track in tracks {
        if track.asof.is_none() {
            progress
                .report
                .skip(track.reason_without_asof(as_of.index(), zb_label));
        }
    }
    progress.report.loans_seen = loans_seen;
    coverage.check(file, records, as_of)?;
    let scope = format!(
        "the {} records for the as-of month {as_of}",
        coverage.at_as_of
    );
    output.finish(id_column, &mut progress.report, file, &scope)?;
    progress.finish();
    Ok(())
}

/// A zero balance code as two bytes (`1` → `01`); `None` when blank.
pub(crate) fn zb_code(s: &str) -> Option<[u8; 2]> {
    let t = s.trim();
    match t.as_bytes() {
        [] => None,
        [a] => Some([b'0', *a]),
        [a, b] => Some([*a, *b]),
        _ => Some(*b"??"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_both_orders() {
        assert_eq!(
            YearMonth::from_yyyymm("202406"),
            Some(YearMonth {
                year: 2024,
                month: 6
            })
        );
        assert_eq!(
            YearMonth::from_mmyyyy("062024"),
            YearMonth::from_yyyymm("202406")
        );
        assert_eq!(YearMonth::from_yyyymm("202413"), None);
        assert_eq!(YearMonth::from_yyyymm("2024-6"), None);
        let a = YearMonth::from_yyyymm("202401").unwrap();
        let b = YearMonth::from_yyyymm("202312").unwrap();
        assert_eq!(a.index() - b.index(), 1);
    }

    #[test]
    fn status_codes_of_every_release() {
        assert_eq!(gse_status("0"), Some(GseStatus::Months(0)));
        assert_eq!(gse_status("00"), Some(GseStatus::Months(0)));
        assert_eq!(gse_status("03"), Some(GseStatus::Months(3)));
        assert_eq!(gse_status("12"), Some(GseStatus::Months(12)));
        assert_eq!(gse_status("RA"), Some(GseStatus::Reo));
        assert_eq!(gse_status("R"), Some(GseStatus::Reo));
        assert_eq!(gse_status("XX"), Some(GseStatus::Unknown));
        assert_eq!(gse_status(" "), Some(GseStatus::Unknown));
        assert_eq!(gse_status("Q"), None);
        let states: Vec<_> = (0..7).map(dq_from_months).collect();
        use DqState::*;
        assert_eq!(states, [C, D30, D60, D90, D120, D120, D120]);
    }

    #[test]
    fn split_keeps_the_first_fields_and_counts_all() {
        let mut f = [""; 3];
        assert_eq!(split_fields("a|b|c|d|e", &mut f), 5);
        assert_eq!(f, ["a", "b", "c"]);
        assert_eq!(split_fields("x", &mut f), 1);
        assert_eq!(f, ["x", "", ""]);
    }
}
