//! In-crate tests: tape rules one by one, file-level failures, path files,
//! writers and the synthetic book. Fixtures are built here with Arrow so that
//! each test can plant exactly the bad value it is about.

mod generate;
mod path_file;
mod tape;
mod writers;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

/// The golden files of MODEL.md (`tests/golden/`).
pub(crate) fn golden(name: &str) -> PathBuf {
    msr_testkit::golden(name)
}

/// Write arbitrary named arrays as one Parquet file (nullable fields), with
/// at most `row_group` rows per row group.
pub(crate) fn write_arrays(path: &Path, columns: Vec<(&str, ArrayRef)>, row_group: usize) {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, a)| Field::new(*name, a.data_type().clone(), true))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(
        schema.clone(),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap();
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(row_group))
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = ArrowWriter::try_new(file, schema, Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

/// An error's message: one line, naming the file.
pub(crate) fn one_line_naming(err: &crate::IoError, path: &Path) -> String {
    let msg = err.to_string();
    assert!(!msg.contains('\n'), "message spans lines: {msg}");
    assert!(
        msg.starts_with(&path.display().to_string()),
        "message does not start with the file: {msg}"
    );
    msg
}
