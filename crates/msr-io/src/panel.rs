//! The loan-month panel file of `msr calibrate behaviour` and `msr history`
//! (docs/calibration.md): reading it row by row (the caller validates the
//! values) and its column layout for writers.

use std::path::Path;

use crate::error::IoError;
use crate::parquet_in::{
    batch_reader, corrupt, explain_non_utf8, find_column, next_batch, open_parquet, FloatColumn,
    IntColumn, TextColumn,
};
use crate::parquet_out::ColumnKind;

/// The panel's columns, in file order, with their types.
pub const PANEL_COLUMNS: [(&str, ColumnKind); 12] = [
    ("loan_id", ColumnKind::Utf8),
    ("period", ColumnKind::I32),
    ("investor", ColumnKind::Utf8),
    ("upb", ColumnKind::F64),
    ("note_rate", ColumnKind::F64),
    ("loan_age", ColumnKind::I32),
    ("remaining_term", ColumnKind::I32),
    ("fico", ColumnKind::I32),
    ("ltv", ColumnKind::F64),
    ("property_state", ColumnKind::Utf8),
    ("dq_status", ColumnKind::Utf8),
    ("next_status", ColumnKind::Utf8),
];

/// One panel row as stored (text borrowed from the batch).
#[derive(Debug, Clone, Copy)]
pub struct PanelRecord<'a> {
    /// Loan identifier.
    pub loan_id: &'a str,
    /// `YYYYMM`.
    pub period: i64,
    /// Investor code.
    pub investor: &'a str,
    /// Balance.
    pub upb: f64,
    /// Note rate.
    pub note_rate: f64,
    /// Loan age.
    pub loan_age: i64,
    /// Remaining term.
    pub remaining_term: i64,
    /// FICO.
    pub fico: i64,
    /// LTV, percent.
    pub ltv: f64,
    /// Property state.
    pub property_state: &'a str,
    /// Status at the period.
    pub dq_status: &'a str,
    /// Status or event by the next period.
    pub next_status: &'a str,
}

enum Col<'a> {
    Text(TextColumn<'a>),
    Int(IntColumn<'a>),
    Float(FloatColumn<'a>),
}

impl Col<'_> {
    fn text(&self, i: usize) -> Option<&str> {
        match self {
            Col::Text(c) => c.get(i),
            _ => None,
        }
    }

    fn int(&self, i: usize) -> Option<i64> {
        match self {
            Col::Int(c) => c.get(i),
            _ => None,
        }
    }

    fn float(&self, i: usize) -> Option<f64> {
        match self {
            Col::Float(c) => c.get(i),
            Col::Int(c) => c.get(i).map(|x| x as f64),
            Col::Text(_) => None,
        }
    }
}

/// Read a panel file, calling `row(index, record)` for each row in file
/// order (index 0-based); a `row` error stops the read and is returned as
/// [`IoError::BadData`] naming the file. Returns the number of rows.
///
/// # Errors
/// [`IoError`] when the file is not a readable Parquet file, a column is
/// missing or of the wrong type, or a value is null (naming the row and
/// column), or `row`'s error.
pub fn read_panel(
    path: impl AsRef<Path>,
    mut row: impl FnMut(u64, &PanelRecord<'_>) -> Result<(), String>,
) -> Result<u64, IoError> {
    let path = path.as_ref();
    let (file, metadata) = open_parquet(path)?;
    let mut roots = Vec::with_capacity(PANEL_COLUMNS.len());
    for (name, kind) in PANEL_COLUMNS {
        let k = find_column(&metadata, name).ok_or_else(|| IoError::MissingColumn {
            column: name.to_string(),
            ours: name.to_string(),
            file: path.to_path_buf(),
        })?;
        let dt = metadata.schema().field(k).data_type().clone();
        let ok = match kind {
            ColumnKind::Utf8 => {
                dt.is_string() || matches!(dt, arrow_schema::DataType::Dictionary(..))
            }
            ColumnKind::I32 | ColumnKind::I64 => dt.is_integer(),
            _ => dt.is_floating() || dt.is_integer(),
        };
        if !ok {
            return Err(IoError::ColumnType {
                file: path.to_path_buf(),
                column: name.to_string(),
                found: dt.to_string(),
                expected: match kind {
                    ColumnKind::Utf8 => "a string column",
                    ColumnKind::I32 | ColumnKind::I64 => "an integer column",
                    _ => "a float column",
                }
                .to_string(),
            });
        }
        roots.push(k);
    }
    // The projection keeps file order: map each of ours to its position.
    let mut sorted = roots.clone();
    sorted.sort_unstable();
    let position: Vec<usize> = roots
        .iter()
        .map(|k| sorted.iter().position(|s| s == k).unwrap_or(0))
        .collect();
    let mut reader = batch_reader(path, &file, &metadata, &sorted, None)?;
    let mut n: u64 = 0;
    while let Some(batch) = next_batch(path, &mut reader).map_err(|e| explain_non_utf8(path, e))? {
        let mut cols = Vec::with_capacity(PANEL_COLUMNS.len());
        for (c, (name, kind)) in PANEL_COLUMNS.iter().enumerate() {
            let array = batch.column(position[c]).as_ref();
            let col = match kind {
                ColumnKind::Utf8 => TextColumn::new(array).map(Col::Text),
                ColumnKind::I32 | ColumnKind::I64 => IntColumn::new(array).map(Col::Int),
                _ => FloatColumn::new(array)
                    .map(Col::Float)
                    .or_else(|| IntColumn::new(array).map(Col::Int)),
            }
            .ok_or_else(|| {
                corrupt(
                    path,
                    format!("column `{name}` decoded to an unexpected type"),
                )
            })?;
            cols.push(col);
        }
        for i in 0..batch.num_rows() {
            let null = |c: usize| {
                IoError::bad_data(
                    path,
                    format!("row {}: column `{}` is null", n, PANEL_COLUMNS[c].0),
                )
            };
            let text = |c: usize| cols[c].text(i).ok_or_else(|| null(c));
            let int = |c: usize| cols[c].int(i).ok_or_else(|| null(c));
            let float = |c: usize| cols[c].float(i).ok_or_else(|| null(c));
            let record = PanelRecord {
                loan_id: text(0)?,
                period: int(1)?,
                investor: text(2)?,
                upb: float(3)?,
                note_rate: float(4)?,
                loan_age: int(5)?,
                remaining_term: int(6)?,
                fico: int(7)?,
                ltv: float(8)?,
                property_state: text(9)?,
                dq_status: text(10)?,
                next_status: text(11)?,
            };
            row(n, &record).map_err(|e| IoError::bad_data(path, e))?;
            n += 1;
        }
    }
    Ok(n)
}
