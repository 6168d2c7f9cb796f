//! A servicer's CSV tape → our tape, through a TOML mapping file:
//!
//! ```toml
//! delimiter = ","            # optional, one character
//! [columns]                  # our column -> their header
//! loan_id = "LoanNumber"
//! upb = "CurrentBalance"
//! [values.dq_status]         # their code -> ours, for any column
//! "0" = "C"
//! "1" = "D30"
//! [constants]                # columns absent from the file, in our units
//! investor = "FNMA"
//! servicing_fee = 0.0025
//! [scale]                    # multipliers for f64 columns
//! note_rate = 0.01           # rates given in percent
//! ```
//!
//! Every required tape column (MODEL.md §B) comes from `[columns]` or
//! `[constants]`; the optional ones (`escrow_monthly`, `loan_count`,
//! `advance_balance`) may be left out and take their defaults. A row that
//! breaks a rule is rejected with row, loan_id, column, value and rule; the
//! import goes on.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

use msr_core::config::TAPE_COLUMNS;
use msr_core::{DqState, Investor, Reject};
use serde::Deserialize;

use super::{
    col, integer, layout, number, too_long_problem, AsOf, Draft, ImportError, ImportReport, Input,
    Output, Progress, MAX_LINE_BYTES, TRUNCATED_PROBLEM,
};
use crate::error::IoError;
use crate::rejects::RejectWriter;
use crate::tape_write::TapeWriteOptions;

const RULE_NULL: &str = "must not be null (required column)";

/// Optional tape columns (MODEL.md §B): absent means the default.
const FIRST_OPTIONAL: usize = col::ESCROW_MONTHLY;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Float,
    Int,
}

const KINDS: [Kind; 14] = [
    Kind::Text,
    Kind::Float,
    Kind::Float,
    Kind::Float,
    Kind::Int,
    Kind::Int,
    Kind::Int,
    Kind::Float,
    Kind::Text,
    Kind::Text,
    Kind::Text,
    Kind::Float,
    Kind::Int,
    Kind::Float,
];

/// The mapping file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    #[serde(default)]
    delimiter: Option<String>,
    #[serde(default)]
    columns: BTreeMap<String, String>,
    #[serde(default)]
    values: BTreeMap<String, BTreeMap<String, toml::Value>>,
    #[serde(default)]
    constants: BTreeMap<String, toml::Value>,
    #[serde(default)]
    scale: BTreeMap<String, f64>,
}

/// Where one tape column's value comes from.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    /// A CSV column, by header name.
    Column(String),
    /// The same value on every row.
    Constant(String),
    /// Not given (optional columns only): the default.
    Absent,
}

/// A validated CSV mapping: for each tape column its source, value map and
/// scale.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvMapping {
    file: PathBuf,
    delimiter: u8,
    sources: Vec<Source>,
    values: Vec<Option<HashMap<String, String>>>,
    scale: Vec<f64>,
}

impl CsvMapping {
    /// Read and check a mapping file.
    ///
    /// # Errors
    /// [`ImportError::Io`] when it cannot be read, [`ImportError::Mapping`]
    /// naming the table and key when it cannot be used.
    pub fn load(path: impl AsRef<Path>) -> Result<CsvMapping, ImportError> {
        let path = path.as_ref();
        let text = crate::text_file::read_text_bounded(
            path,
            crate::text_file::MAX_TEXT_FILE_BYTES,
            "CSV mapping file",
        )?;
        CsvMapping::from_toml_str(&text, path)
    }

    /// Parse and check a mapping; `file` names it in messages.
    ///
    /// # Errors
    /// [`ImportError::Mapping`]: bad TOML, an unknown table or tape column, a
    /// required column with no source, a column both mapped and constant, a
    /// constant that is not a valid value, a scale on a non-f64 column.
    pub fn from_toml_str(text: &str, file: &Path) -> Result<CsvMapping, ImportError> {
        let err = |problem: String| ImportError::Mapping {
            file: file.to_path_buf(),
            problem,
        };
        let raw: RawMapping = toml::from_str(text).map_err(|e| {
            err(e
                .to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "))
        })?;
        let index = |table: &str, ours: &str| {
            TAPE_COLUMNS.iter().position(|c| *c == ours).ok_or_else(|| {
                err(format!(
                    "[{table}] names `{ours}`, which is not a tape column (one of {})",
                    TAPE_COLUMNS.join(", ")
                ))
            })
        };

        let delimiter = match raw.delimiter.as_deref() {
            None => b',',
            Some(d) if d.len() == 1 && d.is_ascii() => d.as_bytes()[0],
            Some("\\t") => b'\t',
            Some(d) => return Err(err(format!("delimiter `{d}` must be one ASCII character"))),
        };
        let mut sources = vec![Source::Absent; TAPE_COLUMNS.len()];
        for (ours, theirs) in &raw.columns {
            let k = index("columns", ours)?;
            if theirs.trim().is_empty() {
                return Err(err(format!("[columns] {ours} names an empty column")));
            }
            sources[k] = Source::Column(theirs.clone());
        }
        for (ours, value) in &raw.constants {
            let k = index("constants", ours)?;
            if sources[k] != Source::Absent {
                return Err(err(format!(
                    "`{ours}` is in both [columns] and [constants]"
                )));
            }
            let text = toml_text(value)
                .ok_or_else(|| err(format!("[constants] {ours} must be a string or a number")))?;
            if let Err(rule) = parse_check(KINDS[k], &text, k) {
                return Err(err(format!("[constants] {ours} = `{text}` {rule}")));
            }
            sources[k] = Source::Constant(text);
        }
        for (k, source) in sources.iter().enumerate().take(FIRST_OPTIONAL) {
            if *source == Source::Absent {
                return Err(err(format!(
                    "required tape column `{}` has no source: add it to [columns] or [constants]",
                    TAPE_COLUMNS[k]
                )));
            }
        }
        let mut values = vec![None; TAPE_COLUMNS.len()];
        for (ours, map) in &raw.values {
            let k = index("values", ours)?;
            let mut m = HashMap::new();
            for (theirs, value) in map {
                let text = toml_text(value).ok_or_else(|| {
                    err(format!(
                        "[values.{ours}] \"{theirs}\" must map to a string or a number"
                    ))
                })?;
                m.insert(theirs.clone(), text);
            }
            values[k] = Some(m);
        }
        let mut scale = vec![1.0; TAPE_COLUMNS.len()];
        for (ours, &x) in &raw.scale {
            let k = index("scale", ours)?;
            if KINDS[k] != Kind::Float {
                return Err(err(format!(
                    "[scale] {ours}: only f64 columns can be scaled"
                )));
            }
            if !(x.is_finite() && x != 0.0) {
                return Err(err(format!(
                    "[scale] {ours} = {x} must be finite and non-zero"
                )));
            }
            scale[k] = x;
        }
        Ok(CsvMapping {
            file: file.to_path_buf(),
            delimiter,
            sources,
            values,
            scale,
        })
    }
}

fn toml_text(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(x) => Some(x.to_string()),
        _ => None,
    }
}

/// Whether a text parses as a value of its kind (and, for the two coded
/// columns, is one of our codes); the rule broken otherwise.
fn parse_check(kind: Kind, text: &str, k: usize) -> Result<(), String> {
    match kind {
        Kind::Float => number(text)
            .map(|_| ())
            .map_err(|_| "is not a number".into()),
        Kind::Int => integer(text)
            .map(|_| ())
            .map_err(|_| "is not an integer".into()),
        Kind::Text if k == col::INVESTOR => text
            .parse::<Investor>()
            .map(|_| ())
            .map_err(|()| "must be one of FNMA, FHLMC, GNMA, PLS".into()),
        Kind::Text if k == col::DQ_STATUS => text
            .parse::<DqState>()
            .map(|_| ())
            .map_err(|()| "must be one of C, D30, D60, D90, D120, FC".into()),
        Kind::Text => Ok(()),
    }
}

/// One cell, after the value map and parsing.
#[derive(Debug, Clone)]
enum Cell {
    Null,
    Text(String),
    Float(f64),
    Int(i64),
}

/// Import a CSV tape through `mapping` into the tape `out`, writing rejects
/// to `rejects`. Reject rows are 0-based data rows (the header is not
/// counted). `progress` receives the bytes read.
///
/// # Errors
/// [`ImportError::MissingColumn`] when a mapped column is not in the
/// header, [`ImportError::Io`] when the CSV cannot be read or parsed or the
/// outputs cannot be written.
pub fn import_csv<R: Read>(
    mapping: &CsvMapping,
    input: Input<R>,
    out: &Path,
    rejects: &mut RejectWriter,
    tape: TapeWriteOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<ImportReport, ImportError> {
    if tape.max_row_group_rows == 0 {
        return Err(ImportError::Options(
            "row-group size must be at least 1".into(),
        ));
    }
    let file = input.name;
    let csv_err = |e: csv::Error| {
        ImportError::Io(IoError::Csv {
            file: file.clone(),
            detail: e
                .to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        })
    };
    let lines = std::rc::Rc::new(std::cell::Cell::new(LineState::default()));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(mapping.delimiter)
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(BoundedLines {
            inner: input.reader,
            state: lines.clone(),
        });
    // A line too long surfaces as a read error of the CSV reader: report it
    // as a layout error at that line instead.
    let csv_err = |e: csv::Error| {
        let state = lines.get();
        if state.too_long {
            layout(&file, state.lines + 1, too_long_problem())
        } else {
            csv_err(e)
        }
    };
    let header = reader.headers().map_err(csv_err)?.clone();
    if lines.get().bytes == 0 {
        return Err(ImportError::NoLoans {
            file: file.clone(),
            why: "the file is empty (0 bytes, not even a header row)".into(),
        });
    }

    // Where each tape column is read from: a header index or a constant.
    let mut at: Vec<Option<usize>> = vec![None; TAPE_COLUMNS.len()];
    let mut labels: Vec<String> = Vec::with_capacity(TAPE_COLUMNS.len());
    for (k, source) in mapping.sources.iter().enumerate() {
        labels.push(match source {
            Source::Column(theirs) => {
                let mut hits = header.iter().enumerate().filter(|(_, h)| h == theirs);
                let Some((i, _)) = hits.next() else {
                    return Err(ImportError::MissingColumn {
                        file: file.clone(),
                        column: theirs.clone(),
                        ours: TAPE_COLUMNS[k].to_string(),
                    });
                };
                if hits.next().is_some() {
                    return Err(ImportError::Mapping {
                        file: mapping.file.clone(),
                        problem: format!(
                            "[columns] {} names `{theirs}`, which appears more than once in the header of {}",
                            TAPE_COLUMNS[k],
                            file.display()
                        ),
                    });
                }
                at[k] = Some(i);
                theirs.clone()
            }
            Source::Constant(_) => format!("constants.{}", TAPE_COLUMNS[k]),
            Source::Absent => TAPE_COLUMNS[k].to_string(),
        });
    }

    let mut progress = Progress::new(progress);
    let mut output = Output::create(out, tape, rejects)?;
    let mut seen: HashMap<String, AsOf> = HashMap::new();
    let mut record = csv::StringRecord::new();
    let mut position = 0u64;
    let mut row = 0u64;
    while reader.read_record(&mut record).map_err(csv_err)? {
        let end = reader.position().byte();
        progress.add(end.saturating_sub(position));
        position = end;
        progress.report.records_read += 1;

        let draft = map_row(mapping, &record, &at, &labels, row);
        let loan_id = draft
            .as_ref()
            .map(|d| d.loan_id.clone())
            .unwrap_or_else(|r| r.loan_id.clone());
        let first = (!loan_id.is_empty())
            .then(|| seen.get(&loan_id).copied())
            .flatten();
        if let Some(first) = first {
            output.duplicate(&loan_id, first, row);
        } else {
            let asof = match draft {
                Ok(draft) => output.draft(draft, 0, row, &labels)?,
                Err(reject) => {
                    output.reject(&reject)?;
                    AsOf {
                        row,
                        written: false,
                        estimates: 0,
                    }
                }
            };
            if !loan_id.is_empty() {
                seen.insert(loan_id, asof);
            }
        }
        row += 1;
    }
    let state = lines.get();
    if state.bytes > 0 && !state.ended_with_newline {
        return Err(layout(&file, state.lines + 1, TRUNCATED_PROBLEM));
    }
    if row == 0 {
        return Err(ImportError::NoLoans {
            file: file.clone(),
            why: "the file has a header row and no data rows".into(),
        });
    }
    progress.report.loans_seen = row;
    let scope = format!("the {row} data rows");
    output.finish(&labels[col::LOAN_ID], &mut progress.report, &file, &scope)?;
    progress.finish();
    Ok(progress.report)
}

/// What [`BoundedLines`] has seen: bytes, complete lines, whether the last
/// byte was a newline, whether a line was too long.
#[derive(Debug, Clone, Copy, Default)]
struct LineState {
    bytes: u64,
    lines: u64,
    /// Bytes since the last `\n` (or `\r`: the CSV reader ends records at
    /// either).
    current: usize,
    ended_with_newline: bool,
    too_long: bool,
}

/// A reader that refuses a line longer than [`MAX_LINE_BYTES`] (the CSV
/// reader would grow its record buffer without bound) and records whether
/// the input ended with a newline.
struct BoundedLines<R> {
    inner: R,
    state: std::rc::Rc<std::cell::Cell<LineState>>,
}

impl<R: Read> Read for BoundedLines<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut state = self.state.get();
        for &b in &buf[..n] {
            if b == b'\n' || b == b'\r' {
                if b == b'\n' {
                    state.lines += 1;
                }
                state.current = 0;
            } else {
                state.current += 1;
                if state.current > MAX_LINE_BYTES {
                    state.too_long = true;
                    self.state.set(state);
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        too_long_problem(),
                    ));
                }
            }
        }
        if n > 0 {
            state.bytes += n as u64;
            // The CSV reader ends records at `\n`, `\r\n` or a bare `\r`
            // (old Macintosh exports), so any of them ends the file whole.
            state.ended_with_newline = matches!(buf[n - 1], b'\n' | b'\r');
        }
        self.state.set(state);
        Ok(n)
    }
}

/// Map one CSV row to a draft, or the reject of the first cell that cannot
/// be read (null required value, unmapped code, not a number, unknown
/// investor or status).
fn map_row(
    mapping: &CsvMapping,
    record: &csv::StringRecord,
    at: &[Option<usize>],
    labels: &[String],
    row: u64,
) -> Result<Draft, Reject> {
    let raw = |k: usize| -> Option<&str> {
        match &mapping.sources[k] {
            Source::Column(_) => at[k].and_then(|i| record.get(i)).filter(|s| !s.is_empty()),
            Source::Constant(s) => Some(s.as_str()),
            Source::Absent => None,
        }
    };
    let loan_id = raw(col::LOAN_ID)
        .map(|id| match &mapping.values[col::LOAN_ID] {
            Some(m) => m.get(id).cloned().unwrap_or_else(|| id.to_string()),
            None => id.to_string(),
        })
        .unwrap_or_default();
    let reject = |k: usize, value: &str, rule: String| Reject {
        row,
        loan_id: loan_id.clone(),
        column: labels[k].clone(),
        value: value.to_string(),
        rule,
    };

    let mut cells: Vec<Cell> = Vec::with_capacity(TAPE_COLUMNS.len());
    for k in 0..TAPE_COLUMNS.len() {
        let Some(text) = raw(k) else {
            if k < FIRST_OPTIONAL {
                return Err(reject(k, "", RULE_NULL.into()));
            }
            cells.push(Cell::Null);
            continue;
        };
        let is_column = matches!(mapping.sources[k], Source::Column(_));
        let text = match (&mapping.values[k], is_column) {
            (Some(map), true) => match map.get(text) {
                Some(ours) => ours.as_str(),
                None => {
                    return Err(reject(
                        k,
                        text,
                        format!("is not a key of [values.{}]", TAPE_COLUMNS[k]),
                    ))
                }
            },
            _ => text,
        };
        let scale = if is_column { mapping.scale[k] } else { 1.0 };
        cells.push(match KINDS[k] {
            Kind::Text => Cell::Text(text.to_string()),
            Kind::Float => match number(text) {
                Ok(Some(x)) => Cell::Float(x * scale),
                Ok(None) => Cell::Null,
                Err(_) => return Err(reject(k, text, "is not a number".into())),
            },
            Kind::Int => match integer(text) {
                Ok(Some(n)) => Cell::Int(n),
                Ok(None) => Cell::Null,
                Err(_) => return Err(reject(k, text, "is not an integer".into())),
            },
        });
        if matches!(cells[k], Cell::Null) && k < FIRST_OPTIONAL {
            return Err(reject(k, "", RULE_NULL.into()));
        }
    }
    let text = |k: usize| match &cells[k] {
        Cell::Text(s) => s.clone(),
        _ => String::new(),
    };
    let float = |k: usize, default: f64| match cells[k] {
        Cell::Float(x) => x,
        _ => default,
    };
    let int = |k: usize, default: i64| match cells[k] {
        Cell::Int(n) => n,
        _ => default,
    };
    let inv = text(col::INVESTOR);
    let investor: Investor = inv.parse().map_err(|()| {
        reject(
            col::INVESTOR,
            &inv,
            "must be one of FNMA, FHLMC, GNMA, PLS".into(),
        )
    })?;
    let dq = text(col::DQ_STATUS);
    let dq_status: DqState = dq.parse().map_err(|()| {
        reject(
            col::DQ_STATUS,
            &dq,
            "must be one of C, D30, D60, D90, D120, FC".into(),
        )
    })?;
    Ok(Draft {
        loan_id: loan_id.clone(),
        upb: float(col::UPB, f64::NAN),
        note_rate: float(col::NOTE_RATE, f64::NAN),
        servicing_fee: float(col::SERVICING_FEE, f64::NAN),
        remaining_term: int(col::REMAINING_TERM, 0),
        loan_age: int(col::LOAN_AGE, 0),
        fico: int(col::FICO, 0),
        ltv: float(col::LTV, f64::NAN),
        investor,
        dq_status,
        property_state: text(col::PROPERTY_STATE),
        escrow_monthly: float(col::ESCROW_MONTHLY, 0.0),
        loan_count: int(col::LOAN_COUNT, 1),
        advance_balance: float(col::ADVANCE_BALANCE, 0.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
        [columns]
        loan_id = "id"
        upb = "bal"
        note_rate = "rate"
        remaining_term = "rem"
        loan_age = "age"
        fico = "fico"
        ltv = "ltv"
        dq_status = "dq"
        property_state = "st"
        [constants]
        investor = "FNMA"
        servicing_fee = 0.0025
    "#;

    fn load(text: &str) -> Result<CsvMapping, String> {
        CsvMapping::from_toml_str(text, Path::new("m.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn a_minimal_mapping_loads() {
        let m = load(MINIMAL).unwrap();
        assert_eq!(m.delimiter, b',');
        assert_eq!(m.sources[col::UPB], Source::Column("bal".into()));
        assert_eq!(m.sources[col::INVESTOR], Source::Constant("FNMA".into()));
        assert_eq!(m.sources[col::ESCROW_MONTHLY], Source::Absent);
    }

    #[test]
    fn bad_mappings_name_the_key() {
        let cases = [
            (
                MINIMAL.replace("ltv = \"ltv\"", ""),
                "required tape column `ltv` has no source",
            ),
            (
                format!("{MINIMAL}\n[scale]\nfico = 2.0"),
                "[scale] fico: only f64 columns",
            ),
            (
                MINIMAL.replace("investor = \"FNMA\"", "investor = \"FANNIE\""),
                "[constants] investor = `FANNIE` must be one of",
            ),
            (
                MINIMAL.replace("[columns]", "[columns]\nupbb = \"x\""),
                "[columns] names `upbb`, which is not a tape column",
            ),
            (
                MINIMAL.replace("[constants]", "[constants]\nupb = 1.0"),
                "`upb` is in both [columns] and [constants]",
            ),
            (
                format!("delimiter = \";;\"\n{MINIMAL}"),
                "delimiter `;;` must be one ASCII character",
            ),
            (format!("{MINIMAL}\n[extra]\n"), "unknown field `extra`"),
        ];
        for (text, want) in cases {
            let got = load(&text).unwrap_err();
            assert!(got.starts_with("m.toml: "), "{got}");
            assert!(got.contains(want), "{got} lacks {want}");
        }
    }
}
