//! [`IoError`]: every way reading or writing a file can fail, each with a
//! one-line message that names the file and the problem.
//!
//! A bad *row* of a loan tape is not an error here: it becomes a
//! [`msr_core::Reject`] and the read goes on. These variants are for problems
//! that make a whole file unusable (it cannot be opened, it is not Parquet, a
//! required column is missing or has the wrong type, a path file is ragged).

use std::path::{Path, PathBuf};

/// A file could not be read or written.
///
/// Display is always a single line starting with the file's path, e.g.
/// `data/x.parquet: not a Parquet file (no PAR1 magic)`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IoError {
    /// The operating system refused an operation (open, create, rename, ...).
    #[error("{}: cannot {action}: {source}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// What was being done ("open", "create", "rename to ...").
        action: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not Parquet at all (empty, text, CSV, ...).
    #[error("{}: not a Parquet file ({reason})", file.display())]
    NotParquet {
        /// The file.
        file: PathBuf,
        /// Why: "no PAR1 magic", "the file is empty (0 bytes)", ...
        reason: String,
    },
    /// The file starts like Parquet but is truncated or damaged.
    #[error("{}: corrupt or truncated Parquet file: {detail}", file.display())]
    Corrupt {
        /// The file.
        file: PathBuf,
        /// What the decoder reported.
        detail: String,
    },
    /// The Parquet or Arrow library reported an error while reading or writing.
    #[error("{}: {detail}", file.display())]
    Parquet {
        /// The file.
        file: PathBuf,
        /// The library's message, on one line.
        detail: String,
    },
    /// A required column is absent.
    #[error("{}: missing required column `{column}`{}", file.display(), mapped_note(column, ours))]
    MissingColumn {
        /// The column name looked for in the file (after `[tape.columns]` mapping).
        column: String,
        /// Our name for it (MODEL.md §B), which differs when the column is mapped.
        ours: String,
        /// The file.
        file: PathBuf,
    },
    /// Two or more columns share a name: which one a reader would use is
    /// arbitrary (it took the first), so the file is refused.
    #[error("{}: column `{column}` appears {count} times (at positions {positions}); each column must be named once", file.display())]
    DuplicateColumn {
        /// The file.
        file: PathBuf,
        /// The repeated name.
        column: String,
        /// How many columns carry it.
        count: usize,
        /// Their 1-based positions, comma-separated.
        positions: String,
    },
    /// A column has a type the reader cannot accept.
    #[error("{}: column `{column}` has type {found}, expected {expected}", file.display())]
    ColumnType {
        /// The file.
        file: PathBuf,
        /// The column name in the file.
        column: String,
        /// The Arrow type found.
        found: String,
        /// The types accepted, in words.
        expected: String,
    },
    /// A row group index outside the file was requested.
    #[error("{}: row group {index} requested but the file has {count} row groups", file.display())]
    RowGroup {
        /// The file.
        file: PathBuf,
        /// The index requested.
        index: usize,
        /// How many row groups the file has.
        count: usize,
    },
    /// A path file (MODEL.md §C.5) is not a complete `paths × months` grid:
    /// a missing or duplicate `(path, month)`, a gap in path numbers, a null.
    #[error("{}: {problem}", file.display())]
    PathLayout {
        /// The file.
        file: PathBuf,
        /// The problem, naming the path and month.
        problem: String,
    },
    /// A path file holds a NaN or infinite value.
    #[error("{}: path {path}, month {month}: {column} is not finite ({value})", file.display())]
    PathValue {
        /// The file.
        file: PathBuf,
        /// 0-based path index.
        path: usize,
        /// 1-based month.
        month: usize,
        /// The column.
        column: &'static str,
        /// The value.
        value: f64,
    },
    /// A path file has fewer months than the loans need.
    #[error("{}: the paths have {have} months but the loans need {need} (a short path file is an error, not a truncation)", file.display())]
    PathTooShort {
        /// The file.
        file: PathBuf,
        /// Months available.
        have: usize,
        /// Months needed.
        need: usize,
    },
    /// Data handed to a writer is inconsistent (columns of different lengths,
    /// a batch that does not match the declared schema, ...).
    #[error("{}: {problem}", file.display())]
    BadData {
        /// The file being written.
        file: PathBuf,
        /// The problem.
        problem: String,
    },
    /// An output path exists and is not a regular file (a FIFO, a device, a
    /// socket, a symbolic link, a directory): writing the output would
    /// replace it, so it is refused.
    #[error("{}: exists and is not a regular file ({kind}); refusing to replace it with an output", file.display())]
    NotRegularFile {
        /// The output path.
        file: PathBuf,
        /// What it is ("a FIFO", "a character device", ...).
        kind: &'static str,
    },
    /// A CSV file could not be written or read.
    #[error("{}: CSV: {detail}", file.display())]
    Csv {
        /// The file.
        file: PathBuf,
        /// The CSV library's message.
        detail: String,
    },
    /// A JSON document could not be written or read.
    #[error("{}: JSON: {detail}", file.display())]
    Json {
        /// The file.
        file: PathBuf,
        /// The JSON library's message.
        detail: String,
    },
}

fn mapped_note(column: &str, ours: &str) -> String {
    if column == ours {
        String::new()
    } else {
        format!(" (mapped from `{ours}` by [tape.columns])")
    }
}

/// Collapse a library message onto one line.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl IoError {
    /// The file the error is about.
    pub fn file(&self) -> &Path {
        match self {
            IoError::Io { file, .. }
            | IoError::NotParquet { file, .. }
            | IoError::Corrupt { file, .. }
            | IoError::Parquet { file, .. }
            | IoError::MissingColumn { file, .. }
            | IoError::DuplicateColumn { file, .. }
            | IoError::ColumnType { file, .. }
            | IoError::RowGroup { file, .. }
            | IoError::PathLayout { file, .. }
            | IoError::PathValue { file, .. }
            | IoError::PathTooShort { file, .. }
            | IoError::BadData { file, .. }
            | IoError::NotRegularFile { file, .. }
            | IoError::Csv { file, .. }
            | IoError::Json { file, .. } => file,
        }
    }

    pub(crate) fn io(file: &Path, action: impl Into<String>, source: std::io::Error) -> IoError {
        IoError::Io {
            file: file.to_path_buf(),
            action: action.into(),
            source,
        }
    }

    pub(crate) fn parquet(file: &Path, err: impl std::fmt::Display) -> IoError {
        IoError::Parquet {
            file: file.to_path_buf(),
            detail: one_line(&err.to_string()),
        }
    }

    pub(crate) fn bad_data(file: &Path, problem: impl Into<String>) -> IoError {
        IoError::BadData {
            file: file.to_path_buf(),
            problem: problem.into(),
        }
    }
}
