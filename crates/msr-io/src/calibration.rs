//! Calibration inputs and outputs in CSV (docs/calibration-market.md): the
//! swaption volatility quotes of `msr calibrate rates`, and small CSV tables
//! read whole and written atomically (the cohort grid and OAS table of
//! `msr calibrate oas`).
//!
//! Every problem is an [`IoError::Csv`] naming the file, the line (the header
//! is line 1) and the column.

use std::path::Path;

use msr_rates::SwaptionQuote;

use crate::error::one_line;
use crate::parquet_out::atomic_write;
use crate::IoError;

/// A small CSV file read whole: its header and its data rows, each with its
/// line number (the header is line 1). Blank lines are skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvTable {
    /// Column names, trimmed.
    pub headers: Vec<String>,
    /// `(line, fields)`, fields trimmed, one per column.
    pub rows: Vec<(usize, Vec<String>)>,
}

impl CsvTable {
    /// The index of column `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }
}

fn csv_problem(path: &Path, detail: impl Into<String>) -> IoError {
    IoError::Csv {
        file: path.to_path_buf(),
        detail: detail.into(),
    }
}

/// Read a CSV file whole. Every row must have as many fields as the header;
/// column names must be non-empty and distinct. One leading `'` of a cell is
/// dropped (the CSV-injection guard of [`write_csv_table`]).
///
/// # Errors
/// [`IoError::Io`] when the file cannot be opened; [`IoError::Csv`] when it is
/// not well-formed CSV, is empty, has a ragged row, or a blank or repeated
/// column name.
pub fn read_csv_table(path: impl AsRef<Path>) -> Result<CsvTable, IoError> {
    let path = path.as_ref();
    // Bounded like the configuration: a grid or quotes file is small, and a
    // path naming an endless source fails at once.
    let text = crate::text_file::read_text_bounded(
        path,
        crate::text_file::MAX_TEXT_FILE_BYTES,
        "CSV table",
    )?;
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = csv
        .headers()
        .map_err(|e| csv_problem(path, one_line(&e.to_string())))?
        .iter()
        .map(|h| crate::text::csv_cell_original(h).to_string())
        .collect();
    if headers.is_empty() || headers.iter().all(String::is_empty) {
        return Err(csv_problem(path, "the file is empty (no header line)"));
    }
    for (k, h) in headers.iter().enumerate() {
        if h.is_empty() {
            return Err(csv_problem(
                path,
                format!("line 1: column {} has no name", k + 1),
            ));
        }
        if headers[..k].contains(h) {
            return Err(csv_problem(
                path,
                format!("line 1: column `{h}` appears twice"),
            ));
        }
    }
    let mut rows = Vec::new();
    for record in csv.records() {
        let record = record.map_err(|e| csv_problem(path, one_line(&e.to_string())))?;
        let line = record
            .position()
            .map_or(rows.len() + 2, |p| p.line() as usize);
        if record.iter().all(str::is_empty) {
            continue;
        }
        if record.len() != headers.len() {
            return Err(csv_problem(
                path,
                format!(
                    "line {line}: {} fields but the header has {} columns",
                    record.len(),
                    headers.len()
                ),
            ));
        }
        // A leading `'` is the formula guard of the tables msr writes
        // (crate::text): dropped, so a table we wrote reads back exactly.
        rows.push((
            line,
            record
                .iter()
                .map(|c| crate::text::csv_cell_original(c).to_string())
                .collect(),
        ));
    }
    Ok(CsvTable { headers, rows })
}

/// Parse field `k` of a row as a finite number.
///
/// # Errors
/// [`IoError::Csv`] naming the line, column and value.
pub fn parse_number(
    path: &Path,
    table: &CsvTable,
    line: usize,
    fields: &[String],
    k: usize,
) -> Result<f64, IoError> {
    let text = &fields[k];
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err(csv_problem(
            path,
            format!(
                "line {line}, column `{}`: `{text}` is not a finite number",
                table.headers[k]
            ),
        )),
    }
}

/// The columns of a swaption volatility file.
pub const SWAPTION_COLUMNS: [&str; 3] = ["expiry_years", "tenor_years", "normal_vol_bp"];

/// Read at-the-money swaption normal volatilities: columns `expiry_years`,
/// `tenor_years`, `normal_vol_bp` (in any order, no others), one quote a row.
///
/// # Errors
/// [`IoError::Csv`] for a malformed file, a missing or unknown column, a
/// value that is not a number, a quote that breaks a rule of
/// [`SwaptionQuote::new`] (expiry, tenor or vol not positive, tenor not whole
/// years), a duplicate `(expiry, tenor)`, or no quotes at all.
pub fn read_swaption_quotes(path: impl AsRef<Path>) -> Result<Vec<SwaptionQuote>, IoError> {
    let path = path.as_ref();
    let table = read_csv_table(path)?;
    for h in &table.headers {
        if !SWAPTION_COLUMNS.contains(&h.as_str()) {
            return Err(csv_problem(
                path,
                format!(
                    "line 1: unknown column `{h}` (expected {})",
                    SWAPTION_COLUMNS.join(", ")
                ),
            ));
        }
    }
    let mut index = [0; 3];
    for (slot, name) in index.iter_mut().zip(SWAPTION_COLUMNS) {
        *slot = table.column(name).ok_or_else(|| {
            csv_problem(path, format!("line 1: missing required column `{name}`"))
        })?;
    }
    let mut quotes: Vec<(usize, SwaptionQuote)> = Vec::with_capacity(table.rows.len());
    for (line, fields) in &table.rows {
        let [e, t, v] = index.map(|k| parse_number(path, &table, *line, fields, k));
        let quote = SwaptionQuote::new(e?, t?, v?)
            .map_err(|err| csv_problem(path, format!("line {line}: {err}")))?;
        if let Some((first, _)) = quotes.iter().find(|(_, q)| {
            q.expiry_years == quote.expiry_years && q.tenor_years == quote.tenor_years
        }) {
            return Err(csv_problem(
                path,
                format!(
                    "line {line}: duplicate quote (expiry {} y, tenor {} y already on line {first})",
                    quote.expiry_years, quote.tenor_years
                ),
            ));
        }
        quotes.push((*line, quote));
    }
    if quotes.is_empty() {
        return Err(csv_problem(path, "no quotes (only a header)"));
    }
    Ok(quotes.into_iter().map(|(_, q)| q).collect())
}

/// Write a CSV table atomically: a header and rows of already formatted
/// fields.
///
/// # Errors
/// [`IoError`] when the file cannot be written, or a row's length differs
/// from the header's.
pub fn write_csv_table(
    path: impl AsRef<Path>,
    headers: &[String],
    rows: &[Vec<String>],
) -> Result<(), IoError> {
    let path = path.as_ref();
    if let Some(bad) = rows.iter().find(|r| r.len() != headers.len()) {
        return Err(IoError::bad_data(
            path,
            format!(
                "a row has {} fields for {} columns",
                bad.len(),
                headers.len()
            ),
        ));
    }
    atomic_write(path, |file| {
        let mut csv = csv::Writer::from_writer(file);
        let to_io = |e: csv::Error| csv_problem(path, one_line(&e.to_string()));
        // Text cells (cohort labels from the tape) guarded against formula
        // injection; numbers pass unchanged (crate::text).
        let guarded = |r: &[String]| -> Vec<String> {
            r.iter()
                .map(|c| crate::text::csv_cell(c).into_owned())
                .collect()
        };
        csv.write_record(guarded(headers)).map_err(to_io)?;
        for row in rows {
            csv.write_record(guarded(row)).map_err(to_io)?;
        }
        csv.flush().map_err(|e| IoError::io(path, "write", e))?;
        Ok(())
    })
}

/// Write a text file (a TOML configuration, say) atomically.
///
/// # Errors
/// [`IoError`] when the file cannot be written.
pub fn write_text(path: impl AsRef<Path>, text: &str) -> Result<(), IoError> {
    let path = path.as_ref();
    atomic_write(path, |file| {
        std::io::Write::write_all(file, text.as_bytes()).map_err(|e| IoError::io(path, "write", e))
    })
}
