//! Writing loans as a Parquet tape in exactly the MODEL.md §B schema
//! (`loan_id` Utf8, `upb` f64, ..., `advance_balance` f64), snappy-compressed,
//! with a chosen maximum row-group size, optionally followed by extra text
//! columns. What [`crate::TapeReader`] reads back is the same loans.

use std::path::Path;

use msr_core::config::TAPE_COLUMNS;
use msr_core::Loan;

use crate::error::IoError;
use crate::parquet_out::{Column, ColumnKind, ParquetOptions, ParquetTableWriter};

/// The §B column types, in `TAPE_COLUMNS` order.
const TAPE_KINDS: [ColumnKind; 14] = [
    ColumnKind::Utf8,
    ColumnKind::F64,
    ColumnKind::F64,
    ColumnKind::F64,
    ColumnKind::I32,
    ColumnKind::I32,
    ColumnKind::I32,
    ColumnKind::F64,
    ColumnKind::Utf8,
    ColumnKind::Utf8,
    ColumnKind::Utf8,
    ColumnKind::F64,
    ColumnKind::I32,
    ColumnKind::F64,
];

/// How to write a tape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TapeWriteOptions {
    /// Maximum rows per row group (a sharded run reads whole row groups).
    pub max_row_group_rows: usize,
}

impl Default for TapeWriteOptions {
    fn default() -> Self {
        TapeWriteOptions {
            max_row_group_rows: 1 << 20,
        }
    }
}

/// A streaming, atomic tape writer: [`TapeWriter::write`] chunks of loans,
/// then [`TapeWriter::finish`].
#[derive(Debug)]
pub struct TapeWriter {
    inner: ParquetTableWriter,
    extra: Vec<String>,
}

impl TapeWriter {
    /// Start writing a tape with the §B columns followed by `extra_columns`
    /// (text).
    ///
    /// # Errors
    /// [`IoError`] when the file cannot be created or an extra column repeats
    /// a name.
    pub fn create(
        path: impl AsRef<Path>,
        options: TapeWriteOptions,
        extra_columns: &[&str],
    ) -> Result<TapeWriter, IoError> {
        let mut decl: Vec<(&str, ColumnKind)> =
            TAPE_COLUMNS.iter().copied().zip(TAPE_KINDS).collect();
        decl.extend(extra_columns.iter().map(|n| (*n, ColumnKind::Utf8)));
        let inner = ParquetTableWriter::create(
            path,
            &decl,
            ParquetOptions {
                max_row_group_rows: options.max_row_group_rows,
            },
        )?;
        Ok(TapeWriter {
            inner,
            extra: extra_columns.iter().map(|s| s.to_string()).collect(),
        })
    }

    /// Append loans; `extra` holds one value vector per extra column, each as
    /// long as `loans` (pass `&[]` when there are no extra columns).
    ///
    /// # Errors
    /// [`IoError::BadData`] when `extra` does not match the extra columns or a
    /// count overflows the §B `i32` columns; [`IoError::Parquet`] on write
    /// failure.
    pub fn write(&mut self, loans: &[Loan], extra: &[Vec<String>]) -> Result<(), IoError> {
        if extra.len() != self.extra.len() {
            return Err(bad(
                self,
                format!(
                    "{} extra columns given, {} declared",
                    extra.len(),
                    self.extra.len()
                ),
            ));
        }
        let int = |x: u32, what: &str| {
            i32::try_from(x).map_err(|_| {
                bad(
                    self,
                    format!("{what} = {x} does not fit the i32 tape column"),
                )
            })
        };
        let mut columns = vec![
            Column::utf8("loan_id", loans.iter().map(|l| l.loan_id.clone()).collect()),
            Column::f64("upb", loans.iter().map(|l| l.upb).collect()),
            Column::f64("note_rate", loans.iter().map(|l| l.note_rate).collect()),
            Column::f64(
                "servicing_fee",
                loans.iter().map(|l| l.servicing_fee).collect(),
            ),
            Column::i32(
                "remaining_term",
                loans
                    .iter()
                    .map(|l| int(l.remaining_term, "remaining_term"))
                    .collect::<Result<_, _>>()?,
            ),
            Column::i32(
                "loan_age",
                loans
                    .iter()
                    .map(|l| int(l.loan_age, "loan_age"))
                    .collect::<Result<_, _>>()?,
            ),
            Column::i32("fico", loans.iter().map(|l| l.fico).collect()),
            Column::f64("ltv", loans.iter().map(|l| l.ltv).collect()),
            Column::utf8(
                "investor",
                loans
                    .iter()
                    .map(|l| l.investor.code().to_string())
                    .collect(),
            ),
            Column::utf8(
                "dq_status",
                loans
                    .iter()
                    .map(|l| l.dq_status.code().to_string())
                    .collect(),
            ),
            Column::utf8(
                "property_state",
                loans
                    .iter()
                    .map(|l| String::from_utf8_lossy(&l.property_state).into_owned())
                    .collect(),
            ),
            Column::f64(
                "escrow_monthly",
                loans.iter().map(|l| l.escrow_monthly).collect(),
            ),
            Column::i32(
                "loan_count",
                loans
                    .iter()
                    .map(|l| int(l.loan_count, "loan_count"))
                    .collect::<Result<_, _>>()?,
            ),
            Column::f64(
                "advance_balance",
                loans.iter().map(|l| l.advance_balance).collect(),
            ),
        ];
        for (name, values) in self.extra.iter().zip(extra) {
            columns.push(Column::utf8(name.clone(), values.clone()));
        }
        self.inner.write(columns)
    }

    /// Close the file and rename it into place.
    ///
    /// # Errors
    /// [`IoError`] when closing or renaming fails.
    pub fn finish(self) -> Result<(), IoError> {
        self.inner.finish()
    }
}

fn bad(writer: &TapeWriter, problem: String) -> IoError {
    IoError::BadData {
        file: writer.inner.path().to_path_buf(),
        problem,
    }
}

/// Write `loans` as a §B tape.
///
/// # Errors
/// As [`TapeWriter::create`], [`TapeWriter::write`] and [`TapeWriter::finish`].
pub fn write_tape(
    path: impl AsRef<Path>,
    loans: &[Loan],
    options: TapeWriteOptions,
) -> Result<(), IoError> {
    let mut writer = TapeWriter::create(path, options, &[])?;
    writer.write(loans, &[])?;
    writer.finish()
}

/// Write `loans` as a §B tape followed by extra text columns `(name, values)`.
///
/// # Errors
/// As [`write_tape`], plus [`IoError::BadData`] when an extra column's length
/// differs from the number of loans.
pub fn write_tape_with_extra(
    path: impl AsRef<Path>,
    loans: &[Loan],
    extra: &[(&str, Vec<String>)],
    options: TapeWriteOptions,
) -> Result<(), IoError> {
    let names: Vec<&str> = extra.iter().map(|(n, _)| *n).collect();
    let values: Vec<Vec<String>> = extra.iter().map(|(_, v)| v.clone()).collect();
    let mut writer = TapeWriter::create(path, options, &names)?;
    writer.write(loans, &values)?;
    writer.finish()
}
