//! Note tapes (MODEL.md §H.0) in and note prices out.
//!
//! [`read_note_tape`] reads a whole note tape — Parquet or CSV, told apart by
//! the file's first bytes — and checks every row: each becomes a
//! [`Note`] or a [`Reject`] naming the row, loan_id, column, value and
//! rule broken. Only problems that make the whole file unusable (cannot be
//! opened, not a table, a required column missing or of the wrong type) are
//! [`IoError`]s. Note tapes are small (thousands of rows, not millions), so
//! the file is read whole.
//!
//! Columns: `loan_id`, `upb`, `note_rate`, `remaining_term`, `loan_age`,
//! `fico`, `property_value`, `property_state`, `dq_status` (required);
//! `escrow_monthly` (default 0), `months_delinquent`, the four probability
//! overrides `p_reperform`, `p_modified`, `p_deed_in_lieu`, `p_foreclosure`,
//! and an asking price (`ask_price`, or the column named in
//! [`NoteTapeOptions::ask_column`]) (optional). Extra columns are ignored.
//!
//! [`write_note_tape`] writes note rows back (Parquet), [`write_csv`] writes
//! any table of [`Column`]s as CSV, and [`write_note_prices`] writes a price
//! table as both Parquet and CSV, atomically.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use msr_core::{DqState, Reject};

use crate::error::{one_line, IoError};
use crate::parquet_in::{read_table, TableColumn};
use crate::parquet_out::{write_parquet, AtomicFile, Column, ColumnValues, ParquetOptions};

/// Required note-tape columns, in check order.
pub const NOTE_REQUIRED_COLUMNS: [&str; 9] = [
    "loan_id",
    "upb",
    "note_rate",
    "remaining_term",
    "loan_age",
    "fico",
    "property_value",
    "property_state",
    "dq_status",
];

/// The probability-override columns, in outcome order (reperform, modified,
/// deed in lieu, foreclosure).
pub const NOTE_PROB_COLUMNS: [&str; 4] = [
    "p_reperform",
    "p_modified",
    "p_deed_in_lieu",
    "p_foreclosure",
];

/// The default name of the asking-price column.
pub const DEFAULT_ASK_COLUMN: &str = "ask_price";

/// Tolerance on the sum of the probability overrides.
pub const PROB_SUM_TOL: f64 = 1e-9;

/// US postal codes a property can be in: the 50 states, DC, and the
/// territories Puerto Rico, US Virgin Islands, Guam, American Samoa and the
/// Northern Mariana Islands.
pub const US_STATE_CODES: [&str; 56] = [
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY",
    "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV",
    "WI", "WY", "DC", "PR", "VI", "GU", "AS", "MP",
];

/// True for a US state, DC or territory postal code ([`US_STATE_CODES`]).
pub fn is_us_state(code: &str) -> bool {
    US_STATE_CODES.contains(&code)
}

pub use msr_core::note::Note;

/// How to read a note tape.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NoteTapeOptions {
    /// The asking-price column. `None`: [`DEFAULT_ASK_COLUMN`] if the file has
    /// it; `Some(name)`: that column, which must then exist.
    pub ask_column: Option<String>,
}

/// The format a note tape was read as (`parquet` or `csv` in
/// note_summary.json).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TapeFormat {
    /// Apache Parquet.
    Parquet,
    /// Comma-separated values with a header row.
    Csv,
}

/// A whole note tape, read and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct NoteTape {
    /// Rows that passed every rule, in file order.
    pub notes: Vec<Note>,
    /// 0-based data-row number of each note (same length as `notes`).
    pub rows: Vec<u64>,
    /// Rows that broke a rule, with the first rule broken.
    pub rejects: Vec<Reject>,
    /// Data rows in the file.
    pub rows_read: u64,
    /// The file's format.
    pub format: TapeFormat,
    /// The asking-price column read, if the file has one.
    pub ask_column: Option<String>,
}

/// A column of raw values: typed (Parquet) or text to parse (CSV).
enum Raw {
    Text(Vec<Option<String>>),
    Number(Vec<Option<f64>>),
}

/// The kind of value a note column holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    Text,
    Number,
}

fn column_want(name: &str) -> Want {
    match name {
        "loan_id" | "property_state" | "dq_status" => Want::Text,
        _ => Want::Number,
    }
}

struct RawTable {
    path: PathBuf,
    format: TapeFormat,
    columns: HashMap<String, Raw>,
    num_rows: usize,
}

impl RawTable {
    /// Parquet when the file starts with the Parquet magic or is named
    /// `*.parquet` (so a damaged Parquet file gets a Parquet error); CSV otherwise.
    fn read(path: &Path) -> Result<RawTable, IoError> {
        let mut head = [0u8; 4];
        let mut file = std::fs::File::open(path).map_err(|e| IoError::io(path, "open", e))?;
        let n = file
            .read(&mut head)
            .map_err(|e| IoError::io(path, "read", e))?;
        let named_parquet = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
        if (n == 4 && &head == b"PAR1") || named_parquet {
            RawTable::read_parquet(path)
        } else {
            RawTable::read_csv(path)
        }
    }

    fn read_parquet(path: &Path) -> Result<RawTable, IoError> {
        let table = read_table(path)?;
        let columns = table
            .columns
            .into_iter()
            .map(|(name, col)| {
                let raw = match col {
                    TableColumn::Text(v) => Raw::Text(
                        v.into_iter()
                            .map(|s| (!s.is_empty()).then_some(s))
                            .collect(),
                    ),
                    TableColumn::Number(v) => Raw::Number(v),
                };
                (name, raw)
            })
            .collect();
        Ok(RawTable {
            path: path.to_path_buf(),
            format: TapeFormat::Parquet,
            columns,
            num_rows: table.num_rows,
        })
    }

    fn read_csv(path: &Path) -> Result<RawTable, IoError> {
        let file = std::fs::File::open(path).map_err(|e| IoError::io(path, "open", e))?;
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(std::io::BufReader::new(file));
        let csv_err = |e: csv::Error| IoError::Csv {
            file: path.to_path_buf(),
            detail: one_line(&e.to_string()),
        };
        let header: Vec<String> = reader
            .headers()
            .map_err(csv_err)?
            .iter()
            .map(str::to_string)
            .collect();
        if header.iter().all(String::is_empty) {
            return Err(IoError::Csv {
                file: path.to_path_buf(),
                detail: "no header row".into(),
            });
        }
        let mut values: Vec<Vec<Option<String>>> = vec![Vec::new(); header.len()];
        let mut num_rows = 0;
        for record in reader.records() {
            let record = record.map_err(csv_err)?;
            for (k, col) in values.iter_mut().enumerate() {
                let cell = record.get(k).unwrap_or("");
                col.push((!cell.is_empty()).then(|| cell.to_string()));
            }
            num_rows += 1;
        }
        let mut columns = HashMap::new();
        for (name, col) in header.into_iter().zip(values) {
            if columns.contains_key(&name) {
                return Err(IoError::Csv {
                    file: path.to_path_buf(),
                    detail: format!("column `{name}` appears twice in the header"),
                });
            }
            columns.insert(name, Raw::Text(col));
        }
        Ok(RawTable {
            path: path.to_path_buf(),
            format: TapeFormat::Csv,
            columns,
            num_rows,
        })
    }

    /// Check a column's presence and (for Parquet) its type.
    fn check(&self, name: &str, required: bool) -> Result<bool, IoError> {
        match self.columns.get(name) {
            None if required => Err(IoError::MissingColumn {
                column: name.to_string(),
                ours: name.to_string(),
                file: self.path.clone(),
            }),
            None => Ok(false),
            Some(raw) => {
                let ok = match (raw, column_want(name)) {
                    (Raw::Text(_), Want::Text) | (Raw::Number(_), Want::Number) => true,
                    // CSV text is parsed cell by cell.
                    (Raw::Text(_), Want::Number) => self.format == TapeFormat::Csv,
                    (Raw::Number(_), Want::Text) => false,
                };
                if ok {
                    Ok(true)
                } else {
                    let (found, expected) = match column_want(name) {
                        Want::Text => ("a number", "a string (Utf8, LargeUtf8 or Utf8View)"),
                        Want::Number => ("a string", "a number (Float64, Float32 or an integer)"),
                    };
                    Err(IoError::ColumnType {
                        file: self.path.clone(),
                        column: name.to_string(),
                        found: found.to_string(),
                        expected: expected.to_string(),
                    })
                }
            }
        }
    }

    fn text(&self, name: &str, i: usize) -> Option<&str> {
        match self.columns.get(name)? {
            Raw::Text(v) => v[i].as_deref(),
            Raw::Number(_) => None,
        }
    }

    /// A number cell: `Ok(None)` when null or the column is absent,
    /// `Err(text)` when CSV text does not parse.
    fn number<'a>(&'a self, name: &str, i: usize) -> Result<Option<f64>, &'a str> {
        match self.columns.get(name) {
            None => Ok(None),
            Some(Raw::Number(v)) => Ok(v[i]),
            Some(Raw::Text(v)) => match v[i].as_deref() {
                None => Ok(None),
                Some(s) => s.parse::<f64>().map(Some).map_err(|_| s),
            },
        }
    }
}

/// Builds the reject of one row.
struct RowCheck {
    row: u64,
    loan_id: String,
}

impl RowCheck {
    fn reject(&self, column: &str, value: impl ToString, rule: impl Into<String>) -> Reject {
        Reject {
            row: self.row,
            loan_id: self.loan_id.clone(),
            column: column.to_string(),
            value: value.to_string(),
            rule: rule.into(),
        }
    }

    /// An optional number: `None` when null.
    fn opt_number(&self, t: &RawTable, column: &str, i: usize) -> Result<Option<f64>, Reject> {
        t.number(column, i)
            .map_err(|s| self.reject(column, s, "must be a number"))
    }

    /// A required number.
    fn number(&self, t: &RawTable, column: &str, i: usize) -> Result<f64, Reject> {
        self.opt_number(t, column, i)?
            .ok_or_else(|| self.reject(column, "", "must not be null (required column)"))
    }

    /// A finite float satisfying `ok`.
    fn float(&self, column: &str, x: f64, ok: bool, rule: &str) -> Result<f64, Reject> {
        if ok && x.is_finite() {
            Ok(x)
        } else {
            Err(self.reject(column, x, rule))
        }
    }

    /// A whole number in `lo..=hi`.
    fn whole(&self, column: &str, x: f64, lo: u32, hi: u32) -> Result<u32, Reject> {
        if x.is_finite() && x.fract() == 0.0 && x >= f64::from(lo) && x <= f64::from(hi) {
            Ok(x as u32)
        } else {
            Err(self.reject(column, x, format!("must be a whole number in {lo}..={hi}")))
        }
    }
}

/// Read and check a whole note tape (Parquet or CSV).
///
/// # Errors
/// [`IoError`] when the file cannot be opened or parsed, a required column
/// (or an explicitly named ask column) is missing, or a Parquet column has
/// the wrong type. Bad rows are not errors: they come back as rejects.
pub fn read_note_tape(
    path: impl AsRef<Path>,
    options: &NoteTapeOptions,
) -> Result<NoteTape, IoError> {
    let table = RawTable::read(path.as_ref())?;
    for name in NOTE_REQUIRED_COLUMNS {
        table.check(name, true)?;
    }
    for name in ["escrow_monthly", "months_delinquent"]
        .into_iter()
        .chain(NOTE_PROB_COLUMNS)
    {
        table.check(name, false)?;
    }
    let ask_column = match &options.ask_column {
        Some(name) => table.check(name, true)?.then(|| name.clone()),
        None => table
            .check(DEFAULT_ASK_COLUMN, false)?
            .then(|| DEFAULT_ASK_COLUMN.to_string()),
    };

    let mut counts: HashMap<&str, u64> = HashMap::new();
    for i in 0..table.num_rows {
        if let Some(id) = table.text("loan_id", i) {
            *counts.entry(id).or_default() += 1;
        }
    }

    let mut out = NoteTape {
        notes: Vec::with_capacity(table.num_rows),
        rows: Vec::with_capacity(table.num_rows),
        rejects: Vec::new(),
        rows_read: table.num_rows as u64,
        format: table.format,
        ask_column: ask_column.clone(),
    };
    for i in 0..table.num_rows {
        match check_row(&table, &counts, ask_column.as_deref(), i) {
            Ok(note) => {
                out.notes.push(note);
                out.rows.push(i as u64);
            }
            Err(reject) => out.rejects.push(reject),
        }
    }
    Ok(out)
}

/// Apply every rule to row `i`, in column order; the first broken is the reject.
fn check_row(
    t: &RawTable,
    counts: &HashMap<&str, u64>,
    ask_column: Option<&str>,
    i: usize,
) -> Result<Note, Reject> {
    let id = t.text("loan_id", i);
    let c = RowCheck {
        row: i as u64,
        loan_id: id.unwrap_or("").to_string(),
    };

    let loan_id = id.ok_or_else(|| c.reject("loan_id", "", "must be non-empty"))?;
    if let Some(&n) = counts.get(loan_id).filter(|&&n| n > 1) {
        return Err(c.reject(
            "loan_id",
            loan_id,
            format!("must be unique: loan_id appears {n} times"),
        ));
    }
    let upb = c.number(t, "upb", i)?;
    let upb = c.float(
        "upb",
        upb,
        msr_core::loan::upb_ok(upb),
        msr_core::loan::UPB_RULE,
    )?;
    let rate = c.number(t, "note_rate", i)?;
    let note_rate = c.float(
        "note_rate",
        rate,
        (0.0..0.25).contains(&rate),
        "must be in [0, 0.25)",
    )?;
    let remaining_term = c.whole("remaining_term", c.number(t, "remaining_term", i)?, 1, 480)?;
    let loan_age = c.whole("loan_age", c.number(t, "loan_age", i)?, 0, 600)?;
    let fico = c.whole("fico", c.number(t, "fico", i)?, 300, 850)? as i32;
    let property_value = match c.opt_number(t, "property_value", i)? {
        None => {
            return Err(c.reject(
                "property_value",
                "",
                "no property value: required to price a note",
            ))
        }
        Some(v) => c.float("property_value", v, v > 0.0, "must be > 0 and finite")?,
    };
    let state = t
        .text("property_state", i)
        .ok_or_else(|| c.reject("property_state", "", "must not be null (required column)"))?;
    let property_state = match state.as_bytes() {
        &[a, b] if a.is_ascii_uppercase() && b.is_ascii_uppercase() => [a, b],
        _ => return Err(c.reject("property_state", state, "must be 2 upper-case letters")),
    };
    if !is_us_state(state) {
        return Err(c.reject(
            "property_state",
            state,
            "unknown state: not a US state, DC or territory postal code",
        ));
    }
    let dq = t
        .text("dq_status", i)
        .ok_or_else(|| c.reject("dq_status", "", "must not be null (required column)"))?;
    let dq_status: DqState = dq
        .parse()
        .map_err(|()| c.reject("dq_status", dq, "must be one of C, D30, D60, D90, D120, FC"))?;

    let escrow_monthly = match c.opt_number(t, "escrow_monthly", i)? {
        None => 0.0,
        Some(x) => c.float("escrow_monthly", x, x >= 0.0, "must be >= 0")?,
    };
    let months_delinquent = match c.opt_number(t, "months_delinquent", i)? {
        None => None,
        Some(x) => Some(c.whole("months_delinquent", x, 0, 600)?),
    };

    let mut given = [None; 4];
    for (k, name) in NOTE_PROB_COLUMNS.iter().enumerate() {
        given[k] = c.opt_number(t, name, i)?;
    }
    let probabilities = if given.iter().all(Option::is_none) {
        None
    } else {
        let mut p = [0.0; 4];
        for (k, name) in NOTE_PROB_COLUMNS.iter().enumerate() {
            let x = given[k].ok_or_else(|| {
                c.reject(
                    name,
                    "",
                    "probability overrides must be given all four together \
                     (p_reperform, p_modified, p_deed_in_lieu, p_foreclosure)",
                )
            })?;
            p[k] = c.float(
                name,
                x,
                (0.0..=1.0).contains(&x),
                "must be a probability in [0, 1]",
            )?;
        }
        let sum: f64 = p.iter().sum();
        if (sum - 1.0).abs() > PROB_SUM_TOL {
            return Err(c.reject(
                "p_reperform+p_modified+p_deed_in_lieu+p_foreclosure",
                sum,
                format!("probability overrides must sum to 1 (within {PROB_SUM_TOL:e})"),
            ));
        }
        Some(p)
    };
    let ask_price = match ask_column {
        None => None,
        Some(name) => match c.opt_number(t, name, i)? {
            None => None,
            Some(x) => Some(c.float(name, x, x > 0.0, "must be > 0 (an asking price in $)")?),
        },
    };

    Ok(Note {
        loan_id: loan_id.to_string(),
        upb,
        note_rate,
        remaining_term,
        loan_age,
        fico,
        property_value,
        property_state,
        dq_status,
        escrow_monthly,
        months_delinquent,
        probabilities,
        ask_price,
    })
}

/// Write note rows as a Parquet note tape (every §H.0 column; optional
/// columns written only when some row has a value).
///
/// # Errors
/// [`IoError`] when the file cannot be written.
pub fn write_note_tape(path: impl AsRef<Path>, notes: &[Note]) -> Result<(), IoError> {
    let f = |g: fn(&Note) -> f64| notes.iter().map(g).collect::<Vec<_>>();
    let i = |g: fn(&Note) -> i32| notes.iter().map(g).collect::<Vec<_>>();
    let mut columns = vec![
        Column::utf8("loan_id", notes.iter().map(|n| n.loan_id.clone()).collect()),
        Column::f64("upb", f(|n| n.upb)),
        Column::f64("note_rate", f(|n| n.note_rate)),
        Column::i32("remaining_term", i(|n| n.remaining_term as i32)),
        Column::i32("loan_age", i(|n| n.loan_age as i32)),
        Column::i32("fico", i(|n| n.fico)),
        Column::f64("property_value", f(|n| n.property_value)),
        Column::utf8(
            "property_state",
            notes
                .iter()
                .map(|n| String::from_utf8_lossy(&n.property_state).into_owned())
                .collect(),
        ),
        Column::utf8(
            "dq_status",
            notes
                .iter()
                .map(|n| n.dq_status.code().to_string())
                .collect(),
        ),
        Column::f64("escrow_monthly", f(|n| n.escrow_monthly)),
    ];
    if notes.iter().any(|n| n.months_delinquent.is_some()) {
        columns.push(Column::f64_nullable(
            "months_delinquent",
            notes
                .iter()
                .map(|n| n.months_delinquent.map(f64::from))
                .collect(),
        ));
    }
    if notes.iter().any(|n| n.probabilities.is_some()) {
        for (k, name) in NOTE_PROB_COLUMNS.iter().enumerate() {
            columns.push(Column::f64_nullable(
                *name,
                notes
                    .iter()
                    .map(|n| n.probabilities.map(|p| p[k]))
                    .collect(),
            ));
        }
    }
    if notes.iter().any(|n| n.ask_price.is_some()) {
        columns.push(Column::f64_nullable(
            DEFAULT_ASK_COLUMN,
            notes.iter().map(|n| n.ask_price).collect(),
        ));
    }
    write_parquet(path, columns, ParquetOptions::default())
}

/// Write a table of columns as CSV with a header row, atomically. Floats are
/// written in Rust's shortest round-trip form; nulls as empty fields.
///
/// # Errors
/// [`IoError::BadData`] when the columns differ in length, [`IoError::Csv`]
/// or [`IoError::Io`] when writing fails.
pub fn write_csv(path: impl AsRef<Path>, columns: &[Column]) -> Result<(), IoError> {
    let path = path.as_ref();
    let rows = columns.first().map_or(0, Column::len);
    if let Some(bad) = columns.iter().find(|c| c.len() != rows) {
        return Err(IoError::BadData {
            file: path.to_path_buf(),
            problem: format!(
                "column `{}` has {} rows, expected {rows}",
                bad.name,
                bad.len()
            ),
        });
    }
    let csv_err = |e: csv::Error| IoError::Csv {
        file: path.to_path_buf(),
        detail: one_line(&e.to_string()),
    };
    let mut w = csv::Writer::from_writer(AtomicFile::create(path)?);
    w.write_record(columns.iter().map(|c| c.name.as_str()))
        .map_err(csv_err)?;
    let mut record: Vec<String> = Vec::with_capacity(columns.len());
    for r in 0..rows {
        record.clear();
        record.extend(columns.iter().map(|c| match &c.values {
            ColumnValues::Utf8(v) => crate::text::csv_cell(&v[r]).into_owned(),
            ColumnValues::F64(v) => v[r].to_string(),
            ColumnValues::F64Nullable(v) => v[r].map(|x| x.to_string()).unwrap_or_default(),
            ColumnValues::I32(v) => v[r].to_string(),
            ColumnValues::I64(v) => v[r].to_string(),
        }));
        w.write_record(&record).map_err(csv_err)?;
    }
    let file = w
        .into_inner()
        .map_err(|e| IoError::io(path, "write", e.into_error()))?;
    file.commit()
}

/// Write a note-price table as Parquet to `parquet` and as CSV to `csv`,
/// each atomically.
///
/// # Errors
/// As [`write_parquet`] and [`write_csv`].
pub fn write_note_prices(
    parquet: impl AsRef<Path>,
    csv: impl AsRef<Path>,
    columns: Vec<Column>,
) -> Result<(), IoError> {
    write_csv(csv, &columns)?;
    write_parquet(parquet, columns, ParquetOptions::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good(k: usize) -> Note {
        Note {
            loan_id: format!("N{k:03}"),
            upb: 150_000.0 + k as f64,
            note_rate: 0.055,
            remaining_term: 300,
            loan_age: 60,
            fico: 680,
            property_value: 250_000.0,
            property_state: *b"TX",
            dq_status: DqState::D90,
            escrow_monthly: 300.0,
            months_delinquent: None,
            probabilities: None,
            ask_price: Some(120_000.0),
        }
    }

    const HEADER: &str = "loan_id,upb,note_rate,remaining_term,loan_age,fico,property_value,property_state,dq_status,escrow_monthly,months_delinquent,p_reperform,p_modified,p_deed_in_lieu,p_foreclosure,ask_price";

    fn csv_line(id: &str, rest: &str) -> String {
        format!("{id},{rest}")
    }

    #[test]
    fn parquet_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.parquet");
        let mut notes: Vec<Note> = (0..5).map(good).collect();
        notes[1].probabilities = Some([0.5, 0.2, 0.1, 0.2]);
        notes[2].months_delinquent = Some(9);
        notes[3].ask_price = None;
        write_note_tape(&path, &notes).unwrap();
        let tape = read_note_tape(&path, &NoteTapeOptions::default()).unwrap();
        assert_eq!(tape.format, TapeFormat::Parquet);
        assert!(tape.rejects.is_empty(), "{:?}", tape.rejects);
        assert_eq!(tape.notes, notes);
        assert_eq!(tape.rows, vec![0, 1, 2, 3, 4]);
        assert_eq!(tape.ask_column.as_deref(), Some("ask_price"));
    }

    #[test]
    fn csv_rows_are_checked_with_reasons() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.csv");
        let ok = "150000,0.055,300,60,680,250000,TX,D90,300,,,,,,120000";
        let lines = [
            HEADER.to_string(),
            csv_line("A", ok),
            csv_line("B", "150000,0.055,300,60,680,,TX,D90,300,,,,,,120000"),
            csv_line("C", "150000,0.055,300,60,680,250000,ZZ,D90,300,,,,,,120000"),
            csv_line(
                "D",
                "150000,0.055,300,60,680,250000,TX,D90,300,,0.5,0.25,0.125,0.0625,120000",
            ),
            csv_line(
                "E",
                "150000,0.055,300,60,680,250000,TX,D90,300,,0.5,0.2,0.1,,120000",
            ),
            csv_line(
                "F",
                "150000,0.055,300,60,680,250000,TX,D90,300,,0.5,0.2,0.1,0.2,",
            ),
            csv_line("G", "abc,0.055,300,60,680,250000,TX,D90,300,,,,,,120000"),
            csv_line("H", "150000,0.3,300,60,680,250000,TX,D90,300,,,,,,120000"),
            csv_line(
                "I",
                "150000,0.055,300.5,60,680,250000,TX,D90,300,,,,,,120000",
            ),
            csv_line("J", "150000,0.055,300,60,680,250000,tx,D90,300,,,,,,120000"),
            csv_line("K", "150000,0.055,300,60,680,250000,TX,D45,300,,,,,,120000"),
            csv_line("L", ok),
            csv_line("L", ok),
            csv_line("M", "150000,0.055,300,60,680,250000,NY,FC,,4,,,,,"),
            csv_line("N", "150000,0.055,300,60,680,-5,NY,FC,,4,,,,,"),
            csv_line("", ok),
        ];
        std::fs::write(&path, lines.join("\n")).unwrap();
        let tape = read_note_tape(&path, &NoteTapeOptions::default()).unwrap();
        assert_eq!(tape.format, TapeFormat::Csv);
        assert_eq!(tape.rows_read, 16);
        let ids: Vec<&str> = tape.notes.iter().map(|n| n.loan_id.as_str()).collect();
        assert_eq!(ids, ["A", "F", "M"]);
        assert_eq!(tape.notes[1].probabilities, Some([0.5, 0.2, 0.1, 0.2]));
        assert_eq!(tape.notes[1].ask_price, None);
        assert_eq!(tape.notes[2].months_delinquent, Some(4));
        assert_eq!(tape.notes[2].escrow_monthly, 0.0);
        let why: Vec<(u64, &str, &str, &str)> = tape
            .rejects
            .iter()
            .map(|r| {
                (
                    r.row,
                    r.loan_id.as_str(),
                    r.column.as_str(),
                    r.value.as_str(),
                )
            })
            .collect();
        assert_eq!(
            why,
            [
                (1, "B", "property_value", ""),
                (2, "C", "property_state", "ZZ"),
                (
                    3,
                    "D",
                    "p_reperform+p_modified+p_deed_in_lieu+p_foreclosure",
                    "0.9375"
                ),
                (4, "E", "p_foreclosure", ""),
                (6, "G", "upb", "abc"),
                (7, "H", "note_rate", "0.3"),
                (8, "I", "remaining_term", "300.5"),
                (9, "J", "property_state", "tx"),
                (10, "K", "dq_status", "D45"),
                (11, "L", "loan_id", "L"),
                (12, "L", "loan_id", "L"),
                (14, "N", "property_value", "-5"),
                (15, "", "loan_id", ""),
            ]
        );
        assert!(tape.rejects[0].rule.contains("no property value"));
        assert!(tape.rejects[1].rule.contains("unknown state"));
        assert!(tape.rejects[2].rule.contains("sum to 1"));
        assert!(tape.rejects[9].rule.contains("appears 2 times"));
    }

    #[test]
    fn ask_column_can_be_renamed_and_must_then_exist() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.csv");
        let head = "loan_id,upb,note_rate,remaining_term,loan_age,fico,property_value,property_state,dq_status,bid";
        std::fs::write(
            &path,
            format!("{head}\nA,1000,0.05,10,1,700,2000,CA,C,900\n"),
        )
        .unwrap();
        let opts = NoteTapeOptions {
            ask_column: Some("bid".into()),
        };
        let tape = read_note_tape(&path, &opts).unwrap();
        assert_eq!(tape.notes[0].ask_price, Some(900.0));
        let tape = read_note_tape(&path, &NoteTapeOptions::default()).unwrap();
        assert_eq!(tape.notes[0].ask_price, None);
        let opts = NoteTapeOptions {
            ask_column: Some("offer".into()),
        };
        let e = read_note_tape(&path, &opts).unwrap_err().to_string();
        assert!(e.contains("missing required column `offer`"), "{e}");
    }

    #[test]
    fn missing_column_and_wrong_type_fail_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.csv");
        std::fs::write(&path, "loan_id,upb\nA,1000\n").unwrap();
        let e = read_note_tape(&path, &NoteTapeOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing required column `note_rate`"), "{e}");

        let path = dir.path().join("bad.parquet");
        write_parquet(
            &path,
            vec![
                Column::f64("loan_id", vec![1.0]),
                Column::f64("upb", vec![1.0]),
            ],
            ParquetOptions::default(),
        )
        .unwrap();
        let e = read_note_tape(&path, &NoteTapeOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("column `loan_id` has type a number"), "{e}");
    }

    #[test]
    fn csv_writer_round_trips_floats() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let cols = vec![
            Column::utf8("id", vec!["a".into(), "b,c".into()]),
            Column::f64("x", vec![0.1 + 0.2, 1e-20]),
            Column::f64_nullable("y", vec![None, Some(2.5)]),
            Column::i32("n", vec![1, -2]),
        ];
        write_csv(&path, &cols).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        assert_eq!(&rows[1][0], "b,c");
        assert_eq!(rows[0][1].parse::<f64>().unwrap(), 0.1 + 0.2);
        assert_eq!(rows[1][1].parse::<f64>().unwrap(), 1e-20);
        assert_eq!(&rows[0][2], "");
        assert_eq!(&rows[1][3], "-2");
    }

    /// Writes `data/sample_notes.parquet`, the sample note tape shipped for
    /// users: 200 notes across every status, judicial and non-judicial states,
    /// with asking prices. Deterministic; run with
    /// `cargo test -p msr-io --lib sample_note_tape -- --ignored`.
    #[test]
    #[ignore = "writes data/sample_notes.parquet"]
    fn sample_note_tape() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20_261_130);
        let states = [
            "CA", "TX", "FL", "NY", "IL", "OH", "GA", "NC", "NJ", "PA", "AZ", "WA", "MI", "CO",
            "MA",
        ];
        let statuses = [
            (DqState::C, 0.30),
            (DqState::D30, 0.12),
            (DqState::D60, 0.10),
            (DqState::D90, 0.12),
            (DqState::D120, 0.16),
            (DqState::Fc, 0.20),
        ];
        let notes: Vec<Note> = (0..200)
            .map(|k| {
                let mut u = rng.random::<f64>();
                let dq_status = statuses
                    .iter()
                    .find(|(_, w)| {
                        let hit = u < *w;
                        u -= w;
                        hit
                    })
                    .map_or(DqState::Fc, |(s, _)| *s);
                let term_total = if rng.random::<f64>() < 0.8 { 360 } else { 180 };
                let loan_age = rng.random_range(6..term_total - 12);
                let upb = (rng.random_range(60_000.0..650_000.0f64) * 100.0).round() / 100.0;
                let ltv = rng.random_range(0.45..1.15);
                let property_value = (upb / ltv * 100.0).round() / 100.0;
                let note_rate = (rng.random_range(0.025..0.085f64) * 800.0).round() / 800.0;
                let fico = match dq_status {
                    DqState::C => rng.random_range(620..820),
                    _ => rng.random_range(520..720),
                };
                let state = states[rng.random_range(0..states.len())];
                // An asking price near what the market pays for the status.
                let ask_share = match dq_status {
                    DqState::C => rng.random_range(0.85..1.00),
                    DqState::D30 => rng.random_range(0.78..0.95),
                    DqState::D60 => rng.random_range(0.70..0.90),
                    DqState::D90 => rng.random_range(0.62..0.85),
                    DqState::D120 => rng.random_range(0.55..0.80),
                    DqState::Fc => rng.random_range(0.45..0.75),
                };
                let ask = (ask_share * upb.min(property_value) * 100.0).round() / 100.0;
                Note {
                    loan_id: format!("NOTE-{k:04}"),
                    upb,
                    note_rate,
                    remaining_term: term_total - loan_age,
                    loan_age,
                    fico,
                    property_value,
                    property_state: state.as_bytes().try_into().unwrap(),
                    dq_status,
                    escrow_monthly: (upb * rng.random_range(0.0012..0.0030f64) * 100.0).round()
                        / 100.0,
                    months_delinquent: None,
                    probabilities: None,
                    ask_price: Some(ask),
                }
            })
            .collect();
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/sample_notes.parquet");
        write_note_tape(&path, &notes).unwrap();
        let back = read_note_tape(&path, &NoteTapeOptions::default()).unwrap();
        assert_eq!(back.notes, notes);
    }
}
