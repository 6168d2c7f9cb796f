//! msr-io: the only crate of msr-engine that knows Arrow, Parquet, CSV and
//! JSON.
//!
//! * [`tape`] reads and validates a loan tape (MODEL.md §B) into loans and
//!   rejected rows; [`tape_write`] writes loans back in the §B schema;
//!   [`rejects`] writes the rejects file.
//! * [`path_file`] reads and writes rate-path files (§C.5, §J).
//! * [`parquet_out`] writes tables of plain columns to Parquet and any file
//!   atomically; [`parquet_in`] reads small tables whole (golden files) and
//!   row-group counts; [`json`] writes JSON documents.
//! * [`docs`] defines every output document and CSV row of the commands,
//!   one type each for writers and readers.
//! * [`calibration`] reads swaption quotes and small CSV tables (cohort
//!   grids, OAS tables) and writes CSV tables and text atomically.
//! * [`generate`] makes the synthetic book of `msr generate`.
//! * [`xlsx`] writes Excel workbooks of text and numbers (`marks.xlsx`).
//! * [`panel`] reads the loan-month panel of `msr calibrate behaviour` and
//!   names its columns for writers.
//!
//! Every failure that makes a file unusable is an [`IoError`] whose message
//! is one line naming the file; a bad tape row is a [`msr_core::Reject`], not
//! an error.

pub mod calibration;
pub mod docs;
pub mod error;
pub mod generate;
pub mod hash;
pub mod import;
pub mod json;
pub mod notes_tape;
pub mod panel;
pub mod parquet_in;
pub mod parquet_out;
pub mod partial;
pub mod path_file;
pub mod rejects;
pub mod tape;
pub mod tape_write;
pub mod text;
pub mod text_file;
pub mod xlsx;

#[cfg(test)]
mod tests;

pub use calibration::{
    read_csv_table, read_swaption_quotes, write_csv_table, write_text, CsvTable,
};
pub use error::IoError;
pub use generate::{generate_book, generate_loan, write_book, write_generated_book};
pub use json::{read_json, write_json_pretty};
pub use parquet_in::{parquet_info, read_table, ParquetInfo, Table, TableColumn};
pub use parquet_out::{
    atomic_write, write_parquet, AtomicFile, Column, ColumnKind, ColumnValues, ParquetOptions,
    ParquetTableWriter,
};
pub use path_file::{read_path_file, write_path_file};
pub use rejects::{read_rejects, write_rejects, RejectWriter};
pub use tape::{read_tape, TapeBatch, TapeReader, TapeStats};
pub use tape_write::{write_tape, write_tape_with_extra, TapeWriteOptions, TapeWriter};
pub use text_file::{read_text_bounded, MAX_TEXT_FILE_BYTES};
