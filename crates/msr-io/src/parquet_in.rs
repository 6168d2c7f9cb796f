//! Reading Parquet: opening a file with clear errors (empty, not Parquet,
//! truncated), typed column accessors that accept the usual physical
//! variants of a logical type, [`ParquetInfo`] (row counts per row group) and
//! [`Table`], a whole small file of text and number columns for comparing
//! against golden files.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt8Type,
};
use arrow_array::{
    AnyDictionaryArray, Array, LargeStringArray, PrimitiveArray, RecordBatch, StringArray,
    StringViewArray,
};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;

use crate::error::{one_line, IoError};

/// Rows per decoded record batch.
pub const BATCH_SIZE: usize = 65_536;

const MAGIC: &[u8; 4] = b"PAR1";

/// Open `path` and read its Parquet footer, turning every way that can fail
/// into a one-line [`IoError`] that names the file.
pub(crate) fn open_parquet(path: &Path) -> Result<(File, ArrowReaderMetadata), IoError> {
    let mut file = File::open(path).map_err(|e| IoError::io(path, "open", e))?;
    let meta = file
        .metadata()
        .map_err(|e| IoError::io(path, "read metadata of", e))?;
    if meta.is_dir() {
        return Err(not_parquet(path, "it is a directory"));
    }
    let len = meta.len();
    if len == 0 {
        return Err(not_parquet(path, "the file is empty, 0 bytes"));
    }
    let mut head = vec![0u8; len.min(512) as usize];
    file.read_exact(&mut head)
        .map_err(|e| IoError::io(path, "read", e))?;
    if !head.starts_with(MAGIC) {
        let reason = if looks_like_text(&head) {
            "no PAR1 magic; it looks like a text or CSV file"
        } else {
            "no PAR1 magic"
        };
        return Err(not_parquet(path, reason));
    }
    if len < 12 {
        return Err(corrupt(
            path,
            format!("only {len} bytes, too short for a Parquet footer"),
        ));
    }
    let mut tail = [0u8; 4];
    file.seek(SeekFrom::End(-4))
        .and_then(|_| file.read_exact(&mut tail))
        .map_err(|e| IoError::io(path, "read", e))?;
    if &tail != MAGIC {
        return Err(corrupt(
            path,
            "no PAR1 magic at the end (the file is truncated)".to_string(),
        ));
    }
    file.seek(SeekFrom::Start(0))
        .map_err(|e| IoError::io(path, "read", e))?;
    let metadata = guarded(path, || {
        ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())
    })?;
    check_footer(path, &metadata, len)?;
    check_unique_names(path, &metadata)?;
    Ok((file, metadata))
}

/// Refuse a file in which two top-level columns share a name (a tape with
/// two `fico` columns was valued on the first, silently).
fn check_unique_names(path: &Path, metadata: &ArrowReaderMetadata) -> Result<(), IoError> {
    let fields = metadata.schema().fields();
    for (k, f) in fields.iter().enumerate() {
        let same: Vec<usize> = fields
            .iter()
            .enumerate()
            .filter(|(_, g)| g.name() == f.name())
            .map(|(j, _)| j + 1)
            .collect();
        if same.len() > 1 && same[0] == k + 1 {
            return Err(IoError::DuplicateColumn {
                file: path.to_path_buf(),
                column: f.name().clone(),
                count: same.len(),
                positions: same
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    Ok(())
}

/// Reject footers whose counts or byte ranges are impossible (negative, past
/// the end of the file, or row-group counts that do not add up to the file's
/// own count) before the decoder trips over them.
fn check_footer(path: &Path, metadata: &ArrowReaderMetadata, len: u64) -> Result<(), IoError> {
    let declared = metadata.metadata().file_metadata().num_rows();
    let mut in_groups: i64 = 0;
    for (g, group) in metadata.metadata().row_groups().iter().enumerate() {
        if group.num_rows() < 0 {
            return Err(corrupt(
                path,
                format!("row group {g} has {} rows", group.num_rows()),
            ));
        }
        in_groups = in_groups.saturating_add(group.num_rows());
        for (c, column) in group.columns().iter().enumerate() {
            let start = column
                .dictionary_page_offset()
                .unwrap_or(column.data_page_offset());
            let size = column.compressed_size();
            let end = u64::try_from(start)
                .ok()
                .zip(u64::try_from(size).ok())
                .and_then(|(s, n)| s.checked_add(n));
            if end.is_none_or(|end| end > len) {
                return Err(corrupt(
                    path,
                    format!("row group {g}, column {c}: byte range {start}+{size} lies outside the file"),
                ));
            }
        }
    }
    if in_groups != declared {
        return Err(corrupt(
            path,
            format!("the footer says {declared} rows but its row groups hold {in_groups}"),
        ));
    }
    Ok(())
}

/// Run a Parquet decoding step, turning its error *or its panic* into
/// [`IoError::Corrupt`].
///
/// The parquet crate (v60) panics on some damaged files (failed assertions,
/// arithmetic overflow in the footer or page decoders) instead of returning an
/// error. A bad input file must never crash a run, so every decoding call
/// goes through here; the decoder state is dropped after a failure.
pub(crate) fn guarded<T, E: std::fmt::Display>(
    path: &Path,
    step: impl FnOnce() -> Result<T, E>,
) -> Result<T, IoError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(step)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(corrupt(path, one_line(&e.to_string()))),
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_string());
            Err(corrupt(
                path,
                format!("the Parquet decoder failed: {}", one_line(&what)),
            ))
        }
    }
}

fn not_parquet(path: &Path, reason: &str) -> IoError {
    IoError::NotParquet {
        file: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

pub(crate) fn corrupt(path: &Path, detail: String) -> IoError {
    IoError::Corrupt {
        file: path.to_path_buf(),
        detail,
    }
}

fn looks_like_text(bytes: &[u8]) -> bool {
    // The sample may end inside a multi-byte character: judge the valid prefix.
    let valid = match std::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or(""),
    };
    !valid.is_empty()
        && valid.len() + 4 >= bytes.len()
        && valid.chars().all(|c| !c.is_control() || c.is_whitespace())
}

/// Build a record-batch reader over `row_groups` (all when `None`) of an
/// opened file, reading only the top-level columns `roots`.
pub(crate) fn batch_reader(
    path: &Path,
    file: &File,
    metadata: &ArrowReaderMetadata,
    roots: &[usize],
    row_groups: Option<Vec<usize>>,
) -> Result<ParquetRecordBatchReader, IoError> {
    let file = file
        .try_clone()
        .map_err(|e| IoError::io(path, "reopen", e))?;
    let mask = ProjectionMask::roots(metadata.parquet_schema(), roots.iter().copied());
    let mut builder = ParquetRecordBatchReaderBuilder::new_with_metadata(file, metadata.clone())
        .with_projection(mask)
        .with_batch_size(BATCH_SIZE.max(1));
    if let Some(groups) = row_groups {
        builder = builder.with_row_groups(groups);
    }
    guarded(path, || builder.build())
}

/// Pull the next batch, mapping a decode failure to [`IoError::Corrupt`].
pub(crate) fn next_batch(
    path: &Path,
    reader: &mut ParquetRecordBatchReader,
) -> Result<Option<RecordBatch>, IoError> {
    guarded(path, || reader.next().transpose())
}

/// The top-level index of column `name`, if present.
pub(crate) fn find_column(metadata: &ArrowReaderMetadata, name: &str) -> Option<usize> {
    metadata
        .schema()
        .fields()
        .iter()
        .position(|f| f.name() == name)
}

/// The Arrow type of top-level column `index`.
pub(crate) fn column_type(metadata: &ArrowReaderMetadata, index: usize) -> &DataType {
    metadata.schema().field(index).data_type()
}

/// The kinds of value a column can hold, each accepting several Arrow types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Utf8, LargeUtf8, Utf8View, or a dictionary of those.
    Text,
    /// Signed integers of any width, unsigned up to 32 bits.
    Int,
    /// Float64 or Float32.
    Float,
}

impl Kind {
    pub(crate) fn accepts(self, dt: &DataType) -> bool {
        match self {
            Kind::Text => match dt {
                DataType::Dictionary(_, values) => Kind::Text.accepts(values),
                _ => matches!(
                    dt,
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                ),
            },
            Kind::Int => matches!(
                dt,
                DataType::Int8
                    | DataType::Int16
                    | DataType::Int32
                    | DataType::Int64
                    | DataType::UInt8
                    | DataType::UInt16
                    | DataType::UInt32
            ),
            Kind::Float => matches!(dt, DataType::Float64 | DataType::Float32),
        }
    }

    pub(crate) fn expected(self) -> &'static str {
        match self {
            Kind::Text => "a string (Utf8, LargeUtf8 or Utf8View)",
            Kind::Int => "an integer (Int32 or Int64)",
            Kind::Float => "a float (Float64 or Float32)",
        }
    }

    /// Check the type of top-level column `index` (named `column` in the file).
    pub(crate) fn check(
        self,
        path: &Path,
        metadata: &ArrowReaderMetadata,
        index: usize,
        column: &str,
    ) -> Result<(), IoError> {
        let dt = column_type(metadata, index);
        if self.accepts(dt) {
            Ok(())
        } else {
            Err(IoError::ColumnType {
                file: path.to_path_buf(),
                column: column.to_string(),
                found: dt.to_string(),
                expected: self.expected().to_string(),
            })
        }
    }
}

/// Read access to a text column, whatever its Arrow string type.
pub(crate) enum TextColumn<'a> {
    Utf8(&'a StringArray),
    Large(&'a LargeStringArray),
    View(&'a StringViewArray),
    Dict {
        dict: &'a dyn AnyDictionaryArray,
        keys: Vec<usize>,
        values: Box<TextColumn<'a>>,
    },
}

impl<'a> TextColumn<'a> {
    /// `None` when the array is not a text type.
    pub(crate) fn new(array: &'a dyn Array) -> Option<TextColumn<'a>> {
        if let Some(a) = array.as_string_opt::<i32>() {
            Some(TextColumn::Utf8(a))
        } else if let Some(a) = array.as_string_opt::<i64>() {
            Some(TextColumn::Large(a))
        } else if let Some(a) = array.as_string_view_opt() {
            Some(TextColumn::View(a))
        } else if let Some(dict) = array.as_any_dictionary_opt() {
            let values = TextColumn::new(dict.values().as_ref())?;
            Some(TextColumn::Dict {
                dict,
                keys: dict.normalized_keys(),
                values: Box::new(values),
            })
        } else {
            None
        }
    }

    /// Value `i`, `None` when null (or out of range).
    pub(crate) fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            TextColumn::Utf8(a) => (i < a.len() && !a.is_null(i)).then(|| a.value(i)),
            TextColumn::Large(a) => (i < a.len() && !a.is_null(i)).then(|| a.value(i)),
            TextColumn::View(a) => (i < a.len() && !a.is_null(i)).then(|| a.value(i)),
            TextColumn::Dict { dict, keys, values } => {
                if i >= keys.len() || dict.keys().is_null(i) {
                    None
                } else {
                    values.get(keys[i])
                }
            }
        }
    }
}

macro_rules! int_column {
    ($($variant:ident => $t:ty),* $(,)?) => {
        /// Read access to an integer column, whatever its width.
        pub(crate) enum IntColumn<'a> {
            $($variant(&'a PrimitiveArray<$t>),)*
        }

        impl<'a> IntColumn<'a> {
            /// `None` when the array is not an accepted integer type.
            pub(crate) fn new(array: &'a dyn Array) -> Option<IntColumn<'a>> {
                $(if let Some(a) = array.as_primitive_opt::<$t>() {
                    return Some(IntColumn::$variant(a));
                })*
                None
            }

            /// Value `i` widened to `i64`, `None` when null (or out of range).
            pub(crate) fn get(&self, i: usize) -> Option<i64> {
                match self {
                    $(IntColumn::$variant(a) => {
                        (i < a.len() && !a.is_null(i)).then(|| i64::from(a.value(i)))
                    })*
                }
            }
        }
    };
}

int_column!(
    I8 => Int8Type,
    I16 => Int16Type,
    I32 => Int32Type,
    I64 => Int64Type,
    U8 => UInt8Type,
    U16 => UInt16Type,
    U32 => UInt32Type,
);

/// Read access to a float column (Float64 or Float32).
pub(crate) enum FloatColumn<'a> {
    F64(&'a PrimitiveArray<Float64Type>),
    F32(&'a PrimitiveArray<Float32Type>),
}

impl<'a> FloatColumn<'a> {
    /// `None` when the array is not Float64 or Float32.
    pub(crate) fn new(array: &'a dyn Array) -> Option<FloatColumn<'a>> {
        if let Some(a) = array.as_primitive_opt::<Float64Type>() {
            Some(FloatColumn::F64(a))
        } else {
            array
                .as_primitive_opt::<Float32Type>()
                .map(FloatColumn::F32)
        }
    }

    /// Value `i` as `f64`, `None` when null (or out of range).
    pub(crate) fn get(&self, i: usize) -> Option<f64> {
        match self {
            FloatColumn::F64(a) => (i < a.len() && !a.is_null(i)).then(|| a.value(i)),
            FloatColumn::F32(a) => (i < a.len() && !a.is_null(i)).then(|| f64::from(a.value(i))),
        }
    }
}

/// Row counts of a Parquet file, read from its footer only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParquetInfo {
    /// Total rows.
    pub num_rows: u64,
    /// Rows in each row group, in file order.
    pub row_group_rows: Vec<u64>,
    /// Top-level column names, in file order.
    pub columns: Vec<String>,
}

impl ParquetInfo {
    /// Number of row groups.
    pub fn num_row_groups(&self) -> usize {
        self.row_group_rows.len()
    }

    /// 0-based file row number of the first row of each row group.
    pub fn row_group_starts(&self) -> Vec<u64> {
        let mut start = 0u64;
        self.row_group_rows
            .iter()
            .map(|&n| {
                let s = start;
                start = start.saturating_add(n);
                s
            })
            .collect()
    }
}

pub(crate) fn info_from(metadata: &ArrowReaderMetadata) -> ParquetInfo {
    let row_group_rows: Vec<u64> = metadata
        .metadata()
        .row_groups()
        .iter()
        .map(|g| u64::try_from(g.num_rows()).unwrap_or(0))
        .collect();
    ParquetInfo {
        num_rows: row_group_rows
            .iter()
            .fold(0u64, |a, &n| a.saturating_add(n)),
        row_group_rows,
        columns: metadata
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect(),
    }
}

/// Row counts and column names of a Parquet file, from its footer.
///
/// # Errors
/// [`IoError`] when the file cannot be opened or is not valid Parquet.
pub fn parquet_info(path: impl AsRef<Path>) -> Result<ParquetInfo, IoError> {
    let path = path.as_ref();
    let (_, metadata) = open_parquet(path)?;
    Ok(info_from(&metadata))
}

/// One column of a [`Table`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TableColumn {
    /// A string column; nulls read as empty strings.
    Text(Vec<String>),
    /// A float or integer column (integers converted to `f64`); `None` is null.
    Number(Vec<Option<f64>>),
}

impl TableColumn {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            TableColumn::Text(v) => v.len(),
            TableColumn::Number(v) => v.len(),
        }
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A small Parquet file read whole: column name → values. Meant for golden
/// files and tests, not for large data.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    /// Column names in file order.
    pub names: Vec<String>,
    /// Columns by name.
    pub columns: BTreeMap<String, TableColumn>,
    /// Number of rows.
    pub num_rows: usize,
}

impl Table {
    /// A text column's values, `None` if absent or not text.
    pub fn text(&self, name: &str) -> Option<&[String]> {
        match self.columns.get(name)? {
            TableColumn::Text(v) => Some(v),
            TableColumn::Number(_) => None,
        }
    }

    /// A number column's values, `None` if absent or not numeric.
    pub fn numbers(&self, name: &str) -> Option<&[Option<f64>]> {
        match self.columns.get(name)? {
            TableColumn::Number(v) => Some(v),
            TableColumn::Text(_) => None,
        }
    }
}

/// Read every column of a Parquet file of string, float and integer columns.
///
/// # Errors
/// [`IoError`] when the file cannot be read, or [`IoError::ColumnType`] for a
/// column that is neither text nor numeric.
pub fn read_table(path: impl AsRef<Path>) -> Result<Table, IoError> {
    let path = path.as_ref();
    let (file, metadata) = open_parquet(path)?;
    let fields = metadata.schema().fields().clone();
    let mut kinds = Vec::with_capacity(fields.len());
    for (k, f) in fields.iter().enumerate() {
        let kind = [Kind::Text, Kind::Float, Kind::Int]
            .into_iter()
            .find(|kind| kind.accepts(f.data_type()))
            .ok_or_else(|| IoError::ColumnType {
                file: path.to_path_buf(),
                column: f.name().clone(),
                found: f.data_type().to_string(),
                expected: "a string, float or integer column".to_string(),
            })?;
        kinds.push((k, kind));
    }
    let mut columns: Vec<TableColumn> = kinds
        .iter()
        .map(|(_, kind)| match kind {
            Kind::Text => TableColumn::Text(Vec::new()),
            _ => TableColumn::Number(Vec::new()),
        })
        .collect();
    let roots: Vec<usize> = (0..fields.len()).collect();
    let declared = info_from(&metadata).num_rows;
    let mut num_rows = 0;
    if declared > 0 && !roots.is_empty() {
        let mut reader = batch_reader(path, &file, &metadata, &roots, None)?;
        while let Some(batch) =
            next_batch(path, &mut reader).map_err(|e| explain_non_utf8(path, e))?
        {
            num_rows += batch.num_rows();
            for ((k, kind), out) in kinds.iter().zip(columns.iter_mut()) {
                let array = batch.column(*k).as_ref();
                let bad = || {
                    corrupt(
                        path,
                        format!(
                            "column `{}` decoded to an unexpected type",
                            fields[*k].name()
                        ),
                    )
                };
                match (kind, out) {
                    (Kind::Text, TableColumn::Text(v)) => {
                        let col = TextColumn::new(array).ok_or_else(bad)?;
                        v.extend((0..array.len()).map(|i| col.get(i).unwrap_or("").to_string()));
                    }
                    (Kind::Float, TableColumn::Number(v)) => {
                        let col = FloatColumn::new(array).ok_or_else(bad)?;
                        v.extend((0..array.len()).map(|i| col.get(i)));
                    }
                    (Kind::Int, TableColumn::Number(v)) => {
                        let col = IntColumn::new(array).ok_or_else(bad)?;
                        v.extend((0..array.len()).map(|i| col.get(i).map(|x| x as f64)));
                    }
                    _ => return Err(bad()),
                }
            }
        }
        if num_rows as u64 != declared {
            return Err(corrupt(
                path,
                format!("the file holds {num_rows} rows where its footer says {declared}"),
            ));
        }
    }
    let names: Vec<String> = fields.iter().map(|f| f.name().clone()).collect();
    Ok(Table {
        columns: names.iter().cloned().zip(columns).collect(),
        names,
        num_rows,
    })
}

/// If `err` is the decoder's refusal of a text value that is not UTF-8
/// (reported by the parquet crate without a column or row), find the first
/// such value and name its column and file row (0-based, as rejects are):
/// `…: column `loan_id`, row 3: not valid UTF-8 (bytes 4c ff fe 39); text
/// columns must be UTF-8`. Any other error is returned as it is.
pub(crate) fn explain_non_utf8(path: &Path, err: IoError) -> IoError {
    let IoError::Corrupt { detail, .. } = &err else {
        return err;
    };
    if !detail.contains("UTF-8") && !detail.contains("utf-8") && !detail.contains("utf8") {
        return err;
    }
    match find_non_utf8(path) {
        Some((column, row, bytes)) => IoError::BadData {
            file: path.to_path_buf(),
            problem: format!(
                "column `{column}`, row {row}: not valid UTF-8 (bytes {}); text columns must be UTF-8",
                bytes
                    .iter()
                    .take(16)
                    .map(|b| format!("{b:02x}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        },
        None => err,
    }
}

/// The first text value of the file that is not UTF-8: its column, file
/// row and bytes. The Arrow reader refuses such a value without saying
/// where, so the text columns are read again with the low-level column
/// reader, which hands out raw bytes (flat columns only, as tapes are).
fn find_non_utf8(path: &Path) -> Option<(String, u64, Vec<u8>)> {
    use parquet::column::reader::{get_typed_column_reader, ColumnReader};
    use parquet::data_type::{ByteArray, ByteArrayType};
    use parquet::file::reader::{FileReader, SerializedFileReader};

    let (file, metadata) = open_parquet(path).ok()?;
    let reader = SerializedFileReader::new(file).ok()?;
    let schema = metadata.metadata().file_metadata().schema_descr_ptr();
    if schema.num_columns() != metadata.schema().fields().len() {
        return None;
    }
    for (k, f) in metadata.schema().fields().iter().enumerate() {
        if !matches!(
            f.data_type(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        ) {
            continue;
        }
        let max_def = schema.column(k).max_def_level();
        let mut row = 0u64;
        for g in 0..reader.num_row_groups() {
            let found = guarded(
                path,
                || -> parquet::errors::Result<Option<(u64, Vec<u8>)>> {
                    let group = reader.get_row_group(g)?;
                    let ColumnReader::ByteArrayColumnReader(_) = group.get_column_reader(k)? else {
                        return Ok(None);
                    };
                    let mut column =
                        get_typed_column_reader::<ByteArrayType>(group.get_column_reader(k)?);
                    let mut defs: Vec<i16> = Vec::new();
                    let mut values: Vec<ByteArray> = Vec::new();
                    loop {
                        defs.clear();
                        values.clear();
                        let (records, _, _) =
                            column.read_records(4096, Some(&mut defs), None, &mut values)?;
                        if records == 0 {
                            return Ok(None);
                        }
                        let mut v = 0;
                        for r in 0..records {
                            let present = max_def == 0 || defs.get(r) == Some(&max_def);
                            if present {
                                let bytes = values.get(v).map(ByteArray::data).unwrap_or(&[]);
                                v += 1;
                                if std::str::from_utf8(bytes).is_err() {
                                    return Ok(Some((row + r as u64, bytes.to_vec())));
                                }
                            }
                        }
                        row += records as u64;
                    }
                },
            )
            .ok()?;
            if let Some((at, bytes)) = found {
                return Some((f.name().clone(), at, bytes));
            }
        }
    }
    None
}
