//! Excel workbooks (`marks.xlsx`, docs/accounting.md): plain tables of text
//! and numbers, numbers stored as numbers with a number format (never as
//! text), written with `rust_xlsxwriter` (no optional features). A table
//! can come from a CSV file this run wrote ([`sheet_from_csv`]), so the
//! workbook's cells are the CSV's numbers, bit for bit.

use std::path::Path;

/// Data rows a worksheet holds under its header: Excel's 1,048,576 rows
/// less one. A sheet of more rows could not be opened.
pub const MAX_DATA_ROWS: usize = 1_048_575;

use rust_xlsxwriter::{Format, Workbook};

use crate::IoError;

/// How a number is shown (the value stored is the full `f64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NumberFormat {
    /// Dollars with cents and thousands separators: `#,##0.00`.
    Dollars,
    /// A count: `#,##0`.
    Count,
    /// Basis points or a multiple: `0.00`.
    Decimal2,
    /// A rate shown as a percentage: `0.00%`.
    Percent,
    /// Four decimals (`0.0000`): rates, spreads and shares as fractions.
    Decimal4,
    /// Excel's general format.
    General,
}

impl NumberFormat {
    fn code(self) -> &'static str {
        match self {
            NumberFormat::Dollars => "#,##0.00",
            NumberFormat::Count => "#,##0",
            NumberFormat::Decimal2 => "0.00",
            NumberFormat::Percent => "0.00%",
            NumberFormat::Decimal4 => "0.0000",
            NumberFormat::General => "General",
        }
    }
}

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A number with its format.
    Number(f64, NumberFormat),
    /// Nothing.
    Empty,
}

/// One worksheet: a header row (bold) and rows of cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    /// The sheet's name (at most 31 characters, no `[]:*?/\`).
    pub name: String,
    /// Column titles.
    pub header: Vec<String>,
    /// Rows under the header.
    pub rows: Vec<Vec<Cell>>,
}

/// A CSV file as a sheet: columns named in `formats` become numbers in
/// that format (an empty field stays empty), every other column text.
///
/// # Errors
/// [`IoError::Csv`] when the file cannot be read or a numeric field does
/// not parse.
pub fn sheet_from_csv(
    name: &str,
    csv_path: &Path,
    formats: &[(&str, NumberFormat)],
) -> Result<Sheet, IoError> {
    let bad = |detail: String| IoError::Csv {
        file: csv_path.to_path_buf(),
        detail,
    };
    let mut reader = csv::Reader::from_path(csv_path).map_err(|e| bad(e.to_string()))?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| bad(e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    let kinds: Vec<Option<NumberFormat>> = header
        .iter()
        .map(|h| formats.iter().find(|(n, _)| n == h).map(|(_, f)| *f))
        .collect();
    let mut rows = Vec::new();
    for (k, record) in reader.records().enumerate() {
        let record = record.map_err(|e| bad(e.to_string()))?;
        let mut row = Vec::with_capacity(record.len());
        for (field, kind) in record.iter().zip(&kinds) {
            row.push(match kind {
                _ if field.is_empty() => Cell::Empty,
                None => Cell::Text(field.to_string()),
                Some(f) => Cell::Number(
                    field
                        .parse()
                        .map_err(|_| bad(format!("row {}: `{field}` is not a number", k + 2)))?,
                    *f,
                ),
            });
        }
        rows.push(row);
    }
    Ok(Sheet {
        name: name.to_string(),
        header,
        rows,
    })
}

/// Write `sheets` as one workbook at `path`.
///
/// # Errors
/// [`IoError::BadData`] with the library's message when a sheet is
/// unusable (a bad name) or the file cannot be written.
pub fn write_workbook(path: &Path, sheets: &[Sheet]) -> Result<(), IoError> {
    let bad = |e: rust_xlsxwriter::XlsxError| IoError::BadData {
        file: path.to_path_buf(),
        problem: format!("xlsx: {e}"),
    };
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let formats: Vec<(NumberFormat, Format)> = [
        NumberFormat::Dollars,
        NumberFormat::Count,
        NumberFormat::Decimal2,
        NumberFormat::Percent,
        NumberFormat::Decimal4,
        NumberFormat::General,
    ]
    .into_iter()
    .map(|f| (f, Format::new().set_num_format(f.code())))
    .collect();
    for sheet in sheets {
        let ws = book.add_worksheet();
        ws.set_name(&sheet.name).map_err(bad)?;
        for (c, h) in sheet.header.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, h, &bold)
                .map_err(bad)?;
        }
        for (r, row) in sheet.rows.iter().enumerate() {
            let r = (r + 1) as u32;
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                match cell {
                    Cell::Text(s) => {
                        ws.write_string(r, c, s).map_err(bad)?;
                    }
                    Cell::Number(x, f) if x.is_finite() => {
                        let format = &formats
                            .iter()
                            .find(|(k, _)| k == f)
                            .expect("every format")
                            .1;
                        ws.write_number_with_format(r, c, *x, format).map_err(bad)?;
                    }
                    Cell::Number(..) | Cell::Empty => {}
                }
            }
        }
        ws.set_freeze_panes(1, 0).map_err(bad)?;
        ws.autofit();
    }
    book.save(path).map_err(bad)
}
