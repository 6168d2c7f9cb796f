//! The rejects file: every tape row that broke a rule of MODEL.md §B, as CSV
//! with the header `row,loan_id,column,value,rule`, written atomically. Text
//! cells are neutralised against CSV injection ([`crate::text::csv_cell`]);
//! [`read_rejects`] undoes it.

use std::path::{Path, PathBuf};

use msr_core::Reject;

use crate::error::{one_line, IoError};
use crate::parquet_out::AtomicFile;
use crate::text::{csv_cell, csv_cell_original};

/// The CSV header of a rejects file.
pub const REJECT_HEADER: [&str; 5] = ["row", "loan_id", "column", "value", "rule"];

/// A streaming, atomic rejects-file writer: [`RejectWriter::write`] any
/// number of rejects, then [`RejectWriter::finish`]. Dropped unfinished, it
/// leaves no file.
#[derive(Debug)]
pub struct RejectWriter {
    path: PathBuf,
    csv: csv::Writer<AtomicFile>,
    count: u64,
}

impl RejectWriter {
    /// Create the file and write the header.
    ///
    /// # Errors
    /// [`IoError`] when the file cannot be created or written.
    pub fn create(path: impl AsRef<Path>) -> Result<RejectWriter, IoError> {
        let path = path.as_ref();
        let mut csv = csv::Writer::from_writer(AtomicFile::create(path)?);
        csv.write_record(REJECT_HEADER)
            .map_err(|e| csv_error(path, &e))?;
        Ok(RejectWriter {
            path: path.to_path_buf(),
            csv,
            count: 0,
        })
    }

    /// Append one reject.
    ///
    /// # Errors
    /// [`IoError::Csv`] when writing fails.
    pub fn write(&mut self, reject: &Reject) -> Result<(), IoError> {
        self.csv
            .write_record([
                reject.row.to_string().as_str(),
                &csv_cell(&reject.loan_id),
                &csv_cell(&reject.column),
                &csv_cell(&reject.value),
                &csv_cell(&reject.rule),
            ])
            .map_err(|e| csv_error(&self.path, &e))?;
        self.count += 1;
        Ok(())
    }

    /// Rejects written so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Flush and rename the file into place.
    ///
    /// # Errors
    /// [`IoError`] when flushing or renaming fails.
    pub fn finish(self) -> Result<(), IoError> {
        let file = self
            .csv
            .into_inner()
            .map_err(|e| IoError::io(&self.path, "write", e.into_error()))?;
        file.commit()
    }
}

fn csv_error(path: &Path, e: &csv::Error) -> IoError {
    IoError::Csv {
        file: path.to_path_buf(),
        detail: one_line(&e.to_string()),
    }
}

/// Write `rejects` to `path` (a header-only file when there are none).
///
/// # Errors
/// [`IoError`] when the file cannot be written.
pub fn write_rejects(path: impl AsRef<Path>, rejects: &[Reject]) -> Result<(), IoError> {
    let mut writer = RejectWriter::create(path)?;
    for reject in rejects {
        writer.write(reject)?;
    }
    writer.finish()
}

/// Read a rejects file back (for tests and tooling).
///
/// # Errors
/// [`IoError`] when the file cannot be opened, [`IoError::Csv`] when it is
/// not a rejects CSV.
pub fn read_rejects(path: impl AsRef<Path>) -> Result<Vec<Reject>, IoError> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|e| IoError::io(path, "open", e))?;
    let mut csv = csv::Reader::from_reader(std::io::BufReader::new(file));
    let header = csv.headers().map_err(|e| csv_error(path, &e))?;
    if header.iter().ne(REJECT_HEADER) {
        return Err(IoError::Csv {
            file: path.to_path_buf(),
            detail: format!(
                "header is `{}`, expected `{}`",
                header.iter().collect::<Vec<_>>().join(","),
                REJECT_HEADER.join(",")
            ),
        });
    }
    let mut out = Vec::new();
    for record in csv.records() {
        let record = record.map_err(|e| csv_error(path, &e))?;
        let field = |k: usize| csv_cell_original(record.get(k).unwrap_or("")).to_string();
        let row = field(0).parse().map_err(|_| IoError::Csv {
            file: path.to_path_buf(),
            detail: format!("line {}: row `{}` is not a number", out.len() + 2, field(0)),
        })?;
        out.push(Reject {
            row,
            loan_id: field(1),
            column: field(2),
            value: field(3),
            rule: field(4),
        });
    }
    Ok(out)
}
