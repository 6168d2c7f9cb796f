//! The output documents and CSV rows of every command, one typed definition
//! each, used by the writers (msr-jobs) and the readers (msr-report, tests):
//! [`value`] (summary.json, manifest.json, marks.csv, marks_by_<COLUMN>.csv),
//! with the provenance blocks they share in [`run`].
//!
//! **JSON.** A document is a struct (nested structs for its groups) that
//! derives `Serialize` and `Deserialize`; readers ignore unknown fields, and a
//! field an older file may lack is `#[serde(default)]`. [`write_document`]
//! writes a document with its keys in alphabetical order at every level (the
//! order msr has always written; `serde_json` without `preserve_order` sorts
//! a map), so a field's place in the struct never changes a byte.
//! `None` and non-finite numbers are written `null`, integers without a
//! decimal point and `f64`s always with one (`3.0`).
//!
//! **CSV.** A row is a struct that derives `Deserialize` (read with the `csv`
//! crate, [`read_csv_rows`]) and implements [`CsvRow`], which lists its cells
//! for [`CsvWriter`]. The writer does not go through `csv`'s serde serializer,
//! whose float formatting (`100.0`, `1e-7`) differs from the `f64` display
//! msr writes (`100`, `0.0000001`), and which cannot tell a null group from an
//! empty text in marks_by_<COLUMN>.csv. Every text cell is neutralised against
//! spreadsheet formulas ([`crate::text::csv_field`]).

pub mod amortize;
pub mod behaviour;
pub mod calibrate;
pub mod disclose;
pub mod notes;
pub mod oas;
pub mod repline;
pub mod risk;
pub mod rollforward;
pub mod run;
pub mod value;

use std::io::Write;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{one_line, IoError};
use crate::parquet_out::AtomicFile;
use crate::text::csv_field;

/// Write `doc` as pretty JSON (trailing newline) to `path`, atomically, with
/// its keys sorted at every level.
///
/// # Errors
/// [`IoError::Json`] when `doc` cannot be serialised, [`IoError::Io`] when
/// the file cannot be written.
pub fn write_document<T: Serialize + ?Sized>(
    path: impl AsRef<Path>,
    doc: &T,
) -> Result<(), IoError> {
    let path = path.as_ref();
    crate::json::write_json_pretty(path, &to_value(path, doc)?)
}

/// `doc` as a JSON value (keys sorted), for a document that is extended
/// before it is written or printed.
///
/// # Errors
/// [`IoError::Json`] naming `path` when `doc` cannot be serialised.
pub fn to_value<T: Serialize + ?Sized>(path: &Path, doc: &T) -> Result<serde_json::Value, IoError> {
    serde_json::to_value(doc).map_err(|e| IoError::Json {
        file: path.to_path_buf(),
        detail: one_line(&e.to_string()),
    })
}

/// Read a document.
///
/// # Errors
/// [`IoError::Io`] when the file cannot be read, [`IoError::Json`] when it is
/// not valid JSON for `T` (a required field missing, a wrong type).
pub fn read_document<T: DeserializeOwned>(path: impl AsRef<Path>) -> Result<T, IoError> {
    crate::json::read_json(path)
}

/// One cell of a CSV row as written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    /// Text, neutralised against formulas and quoted when needed.
    Text(&'a str),
    /// A number as `f64` displays it (`100`, `0.065`, `NaN`).
    Num(f64),
    /// A number, or an empty cell for `None`.
    OptNum(Option<f64>),
    /// An integer.
    Int(u64),
    /// An empty cell (a null).
    Empty,
    /// An empty text, written `""` so that it does not read as a null.
    EmptyText,
    /// A date, `YYYY-MM-DD`.
    Date(msr_core::Date),
    /// Text written as it is: for values whose alphabet needs neither
    /// quoting nor the formula guard (a run id, `A-Z a-z 0-9 - _ . : + @`,
    /// written unguarded as msr always has).
    Raw(&'a str),
}

impl Cell<'_> {
    fn write(&self, out: &mut Vec<u8>) {
        match *self {
            Cell::Text(s) => out.extend_from_slice(csv_field(s).as_bytes()),
            Cell::Num(x) => {
                let _ = write!(out, "{x}");
            }
            Cell::OptNum(Some(x)) => {
                let _ = write!(out, "{x}");
            }
            Cell::OptNum(None) | Cell::Empty => {}
            Cell::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Cell::EmptyText => out.extend_from_slice(b"\"\""),
            Cell::Date(d) => {
                let _ = write!(out, "{d}");
            }
            Cell::Raw(s) => out.extend_from_slice(s.as_bytes()),
        }
    }
}

/// A row of one CSV file: its cells in header order (the header is the row
/// type's own `HEADER` or `header()`).
pub trait CsvRow {
    /// The cells, one per header column.
    fn cells(&self) -> Vec<Cell<'_>>;
}

/// One CSV line (`\n`-terminated) of cells.
pub fn csv_line(cells: &[Cell<'_>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 * cells.len());
    for (k, c) in cells.iter().enumerate() {
        if k > 0 {
            out.push(b',');
        }
        c.write(&mut out);
    }
    out.push(b'\n');
    out
}

/// The header line of a CSV file: every name a text cell.
pub fn csv_header(names: &[&str]) -> Vec<u8> {
    let cells: Vec<Cell<'_>> = names.iter().map(|n| Cell::Text(n)).collect();
    csv_line(&cells)
}

/// A whole CSV text: the header of `header`, then each row.
pub fn to_csv<R: CsvRow>(header: &[&str], rows: &[R]) -> Vec<u8> {
    let mut out = csv_header(header);
    for r in rows {
        out.extend_from_slice(&csv_line(&r.cells()));
    }
    out
}

/// A CSV file written row by row into an [`AtomicFile`].
pub struct CsvWriter {
    file: AtomicFile,
    path: std::path::PathBuf,
}

impl CsvWriter {
    /// Create `path` (moved into place by [`CsvWriter::commit`]) and write
    /// the header.
    ///
    /// # Errors
    /// [`IoError::Io`] naming the file.
    pub fn create(path: impl AsRef<Path>, header: &[&str]) -> Result<CsvWriter, IoError> {
        let path = path.as_ref().to_path_buf();
        let file = AtomicFile::create(&path)?;
        let mut w = CsvWriter { file, path };
        w.raw(&csv_header(header))?;
        Ok(w)
    }

    /// Append one row.
    ///
    /// # Errors
    /// [`IoError::Io`] naming the file.
    pub fn row<R: CsvRow + ?Sized>(&mut self, row: &R) -> Result<(), IoError> {
        self.raw(&csv_line(&row.cells()))
    }

    fn raw(&mut self, bytes: &[u8]) -> Result<(), IoError> {
        self.file
            .write_all(bytes)
            .map_err(|e| IoError::io(&self.path, "write", e))
    }

    /// Move the file into place.
    ///
    /// # Errors
    /// [`IoError::Io`] naming the file.
    pub fn commit(self) -> Result<(), IoError> {
        self.file.commit()
    }
}

/// Read every row of a CSV file written by a [`CsvWriter`] (header by name;
/// columns a row type does not declare are ignored).
///
/// # Errors
/// [`IoError::Io`] when the file cannot be read, [`IoError::Csv`] for a row
/// that does not fit `R`.
pub fn read_csv_rows<R: DeserializeOwned>(path: impl AsRef<Path>) -> Result<Vec<R>, IoError> {
    let path = path.as_ref();
    let mut reader = csv::ReaderBuilder::new()
        .from_path(path)
        .map_err(|e| csv_error(path, e))?;
    reader
        .deserialize()
        .map(|r| r.map_err(|e| csv_error(path, e)))
        .collect()
}

pub(crate) fn csv_error(path: &Path, e: csv::Error) -> IoError {
    if e.is_io_error() {
        if let csv::ErrorKind::Io(e) = e.into_kind() {
            return IoError::io(path, "read", e);
        }
        unreachable!("an I/O error is ErrorKind::Io");
    }
    IoError::Csv {
        file: path.to_path_buf(),
        detail: one_line(&e.to_string()),
    }
}

/// Read a text cell written by [`Cell::Text`]: the formula guard's leading
/// `'` dropped ([`crate::text::csv_cell_original`]). For
/// `#[serde(deserialize_with = "crate::docs::csv_text")]`.
///
/// # Errors
/// A cell that is not text.
pub fn csv_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = <String as serde::Deserialize>::deserialize(d)?;
    Ok(crate::text::csv_cell_original(&s).to_string())
}

/// [`csv_text`] for an optional cell: an empty cell is `None`.
///
/// # Errors
/// A cell that is not text.
pub fn csv_opt_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = <String as serde::Deserialize>::deserialize(d)?;
    Ok((!s.is_empty()).then(|| crate::text::csv_cell_original(&s).to_string()))
}

/// serde for [`msr_rates::PathScheme`] as its configuration name (`pseudo`,
/// `sobol`, `sobol-pca`): `#[serde(with = "crate::docs::path_scheme")]`.
pub mod path_scheme {
    use msr_rates::PathScheme;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serialise as the name.
    ///
    /// # Errors
    /// Those of the serializer.
    pub fn serialize<S: Serializer>(s: &PathScheme, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(s.name())
    }

    /// Read a name.
    ///
    /// # Errors
    /// An unknown name.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PathScheme, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }

    /// The same for an optional scheme.
    pub mod option {
        use msr_rates::PathScheme;
        use serde::{Deserialize, Deserializer, Serializer};

        /// Serialise as the name, or a null.
        ///
        /// # Errors
        /// Those of the serializer.
        pub fn serialize<S: Serializer>(s: &Option<PathScheme>, ser: S) -> Result<S::Ok, S::Error> {
            match s {
                Some(s) => ser.serialize_str(s.name()),
                None => ser.serialize_none(),
            }
        }

        /// Read a name or a null.
        ///
        /// # Errors
        /// An unknown name.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<PathScheme>, D::Error> {
            match Option::<std::borrow::Cow<'de, str>>::deserialize(d)? {
                Some(s) => s.parse().map(Some).map_err(serde::de::Error::custom),
                None => Ok(None),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::value::{GroupMarksRow, MarksRow, MARKS_METHOD};
    use super::*;

    #[derive(Serialize)]
    struct Unsorted {
        zeta: u64,
        alpha: f64,
        middle: Option<f64>,
        nested: Nested,
    }

    #[derive(Serialize)]
    struct Nested {
        b: f64,
        a: f64,
    }

    #[test]
    fn documents_are_written_with_sorted_keys_and_json_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("doc.json");
        let doc = Unsorted {
            zeta: 3,
            alpha: 3.0,
            middle: Some(f64::NAN),
            nested: Nested { b: 1e-7, a: -0.0 },
        };
        write_document(&path, &doc).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "{\n  \"alpha\": 3.0,\n  \"middle\": null,\n  \"nested\": {\n    \"a\": -0.0,\n    \"b\": 1e-7\n  },\n  \"zeta\": 3\n}\n"
        );
    }

    #[test]
    fn csv_cells_display_floats_and_guard_formulas() {
        let line = csv_line(&[
            Cell::Text("=1+1"),
            Cell::Text("a,b"),
            Cell::Num(100.0),
            Cell::Num(1e-7),
            Cell::OptNum(None),
            Cell::Int(7),
            Cell::Empty,
            Cell::EmptyText,
            Cell::Date("2026-11-30".parse().unwrap()),
            Cell::Raw("-R1"),
        ]);
        assert_eq!(
            String::from_utf8(line).unwrap(),
            "'=1+1,\"a,b\",100,0.0000001,,7,,\"\",2026-11-30,-R1\n"
        );
    }

    #[test]
    fn marks_rows_read_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("marks.csv");
        let rows = vec![
            MarksRow {
                as_of: "2026-11-30".parse().unwrap(),
                loan_id: "-L1,\"x\"".into(),
                investor: "FNMA".into(),
                upb: 250_000.0,
                fair_value: 2_512.25,
                value_bps: 100.49,
                multiple: None,
                method: MARKS_METHOD.into(),
                paths: 16,
                oas: 0.065,
                run_id: "R1".into(),
            },
            MarksRow {
                loan_id: "L2".into(),
                multiple: Some(4.25),
                ..rows_one()
            },
        ];
        let mut w = CsvWriter::create(&path, &MarksRow::HEADER).unwrap();
        for r in &rows {
            w.row(r).unwrap();
        }
        w.commit().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(
            "as_of,loan_id,investor,upb,fair_value,value_bps,multiple,method,paths,oas,run_id\n\
             2026-11-30,\"'-L1,\"\"x\"\"\",FNMA,250000,2512.25,100.49,,loan-level OAS,16,0.065,R1\n"
        ));
        let back: Vec<MarksRow> = read_csv_rows(&path).unwrap();
        assert_eq!(back, rows);
    }

    fn rows_one() -> MarksRow {
        MarksRow {
            as_of: "2026-11-30".parse().unwrap(),
            loan_id: String::new(),
            investor: "GNMA".into(),
            upb: 1.0,
            fair_value: 0.5,
            value_bps: 5000.0,
            multiple: None,
            method: MARKS_METHOD.into(),
            paths: 2,
            oas: 0.0,
            run_id: "R".into(),
        }
    }

    #[test]
    fn group_marks_read_by_position_with_nulls_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("marks_by_pool.csv");
        let row = |group: Option<&str>| GroupMarksRow {
            as_of: "2026-11-30".parse().unwrap(),
            group: group.map(String::from),
            loans: 1,
            upb: 10.0,
            fair_value: 1.0,
            value_bps: Some(1000.0),
            multiple: None,
            method: MARKS_METHOD.into(),
            paths: 4,
            oas: 0.065,
            run_id: "R".into(),
        };
        let mut w = CsvWriter::create(&path, &GroupMarksRow::header("pool id")).unwrap();
        for g in [Some("P1"), Some(""), None] {
            w.row(&row(g)).unwrap();
        }
        w.commit().unwrap();
        let (column, rows) = value::read_group_marks(&path).unwrap();
        assert_eq!(column, "pool id");
        let groups: Vec<Option<String>> = rows.into_iter().map(|r| r.group).collect();
        assert_eq!(groups, [Some("P1".to_string()), None, None]);
    }
}
