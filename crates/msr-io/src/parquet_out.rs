//! Writing files atomically, and writing tables of plain columns (text, f64,
//! nullable f64, i32, i64) to snappy-compressed Parquet.
//!
//! Every writer here goes through [`AtomicFile`]: the bytes go to
//! `<name>.tmp` in the same directory and are renamed over `<name>` only when
//! everything succeeded, so a reader never sees a half-written output and a
//! failed run leaves no partial file behind. An output path that already
//! exists as something other than a regular file (a FIFO, a device such as
//! `/dev/full`, a socket, a symbolic link, a directory) is refused
//! ([`IoError::NotRegularFile`], see [`check_replaceable`]) rather than
//! replaced by the rename.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::error::IoError;

/// A file being written under a temporary name, renamed into place by
/// [`AtomicFile::commit`]. Dropped without a commit, it removes the
/// temporary file.
#[derive(Debug)]
pub struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Create `<path>.tmp` (truncating a stale one) to be renamed to `path`.
    ///
    /// # Errors
    /// [`IoError::Io`] when the temporary file cannot be created,
    /// [`IoError::BadData`] when `path` has no file name, or
    /// [`IoError::NotRegularFile`] when `path` or `<path>.tmp` exists and is
    /// not a regular file.
    pub fn create(path: impl AsRef<Path>) -> Result<AtomicFile, IoError> {
        let path = path.as_ref();
        let name = path
            .file_name()
            .ok_or_else(|| IoError::bad_data(path, "an output path must name a file"))?;
        let mut tmp_name = name.to_os_string();
        tmp_name.push(".tmp");
        let tmp = path.with_file_name(tmp_name);
        // Before creating anything: opening a FIFO at the temporary name for
        // writing would block, and renaming over a FIFO or device replaces it.
        check_replaceable(path)?;
        check_replaceable(&tmp)?;
        let file = File::create(&tmp).map_err(|e| IoError::io(&tmp, "create", e))?;
        Ok(AtomicFile {
            path: path.to_path_buf(),
            tmp,
            writer: Some(BufWriter::with_capacity(1 << 20, file)),
        })
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flush, sync and rename the temporary file over the final path.
    ///
    /// # Errors
    /// [`IoError::Io`] when flushing, syncing or renaming fails (the
    /// temporary file is then removed).
    pub fn commit(mut self) -> Result<(), IoError> {
        let Some(writer) = self.writer.take() else {
            return Ok(());
        };
        let result = writer
            .into_inner()
            .map_err(|e| IoError::io(&self.tmp, "write", e.into_error()))
            .and_then(|file| {
                file.sync_all()
                    .map_err(|e| IoError::io(&self.tmp, "sync", e))
            })
            .and_then(|()| {
                std::fs::rename(&self.tmp, &self.path).map_err(|e| {
                    IoError::io(&self.tmp, format!("rename to {}", self.path.display()), e)
                })
            });
        if result.is_err() {
            let _ = std::fs::remove_file(&self.tmp);
        }
        result
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.writer.as_mut() {
            Some(w) => w.write(buf),
            None => Err(std::io::Error::other("file already committed")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.writer.as_mut() {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Refuse an output path that exists and is not a regular file: writing
/// the output by rename would replace a FIFO, a device (`/dev/full`,
/// `/dev/stdout`'s link), a socket, a symbolic link or a directory. A path
/// that does not exist, or a regular file, is fine.
///
/// # Errors
/// [`IoError::NotRegularFile`] naming the path and what it is.
pub fn check_replaceable(path: &Path) -> Result<(), IoError> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        // Absent (or unreadable: creating it will say why).
        return Ok(());
    };
    let kind = file_kind(&meta.file_type());
    match kind {
        None => Ok(()),
        Some(kind) => Err(IoError::NotRegularFile {
            file: path.to_path_buf(),
            kind,
        }),
    }
}

/// What a file type is, in words, when it is not a regular file.
fn file_kind(t: &std::fs::FileType) -> Option<&'static str> {
    if t.is_file() {
        return None;
    }
    if t.is_dir() {
        return Some("a directory");
    }
    if t.is_symlink() {
        return Some("a symbolic link");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return Some("a FIFO");
        }
        if t.is_char_device() {
            return Some("a character device");
        }
        if t.is_block_device() {
            return Some("a block device");
        }
        if t.is_socket() {
            return Some("a socket");
        }
    }
    Some("a special file")
}

/// Write `path` atomically: `write` gets the open temporary file; on `Ok`
/// it is renamed into place, on `Err` it is removed and `path` is untouched.
///
/// ```no_run
/// use std::io::Write;
/// msr_io::atomic_write("out/hello.txt", |f| {
///     writeln!(f, "hello").map_err(|e| msr_io::IoError::Io {
///         file: "out/hello.txt".into(),
///         action: "write".into(),
///         source: e,
///     })
/// })?;
/// # Ok::<(), msr_io::IoError>(())
/// ```
///
/// # Errors
/// Whatever `write` returns, or [`IoError::Io`] from creating, syncing or
/// renaming.
pub fn atomic_write<T>(
    path: impl AsRef<Path>,
    write: impl FnOnce(&mut AtomicFile) -> Result<T, IoError>,
) -> Result<T, IoError> {
    let mut file = AtomicFile::create(path)?;
    let value = write(&mut file)?;
    file.commit()?;
    Ok(value)
}

/// The type of a table column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ColumnKind {
    /// UTF-8 text, never null.
    Utf8,
    /// `f64`, never null.
    F64,
    /// `f64` or null.
    F64Nullable,
    /// `i32`, never null.
    I32,
    /// `i64`, never null.
    I64,
}

impl ColumnKind {
    fn data_type(self) -> DataType {
        match self {
            ColumnKind::Utf8 => DataType::Utf8,
            ColumnKind::F64 | ColumnKind::F64Nullable => DataType::Float64,
            ColumnKind::I32 => DataType::Int32,
            ColumnKind::I64 => DataType::Int64,
        }
    }

    fn field(self, name: &str) -> Field {
        Field::new(name, self.data_type(), self == ColumnKind::F64Nullable)
    }
}

/// The values of one column.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ColumnValues {
    /// Text.
    Utf8(Vec<String>),
    /// Floats.
    F64(Vec<f64>),
    /// Floats with nulls.
    F64Nullable(Vec<Option<f64>>),
    /// 32-bit integers.
    I32(Vec<i32>),
    /// 64-bit integers.
    I64(Vec<i64>),
}

/// A named column of a table to write.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// Values.
    pub values: ColumnValues,
}

impl Column {
    /// A text column.
    pub fn utf8(name: impl Into<String>, values: Vec<String>) -> Column {
        Column {
            name: name.into(),
            values: ColumnValues::Utf8(values),
        }
    }

    /// An `f64` column.
    pub fn f64(name: impl Into<String>, values: Vec<f64>) -> Column {
        Column {
            name: name.into(),
            values: ColumnValues::F64(values),
        }
    }

    /// A nullable `f64` column.
    pub fn f64_nullable(name: impl Into<String>, values: Vec<Option<f64>>) -> Column {
        Column {
            name: name.into(),
            values: ColumnValues::F64Nullable(values),
        }
    }

    /// An `i32` column.
    pub fn i32(name: impl Into<String>, values: Vec<i32>) -> Column {
        Column {
            name: name.into(),
            values: ColumnValues::I32(values),
        }
    }

    /// An `i64` column.
    pub fn i64(name: impl Into<String>, values: Vec<i64>) -> Column {
        Column {
            name: name.into(),
            values: ColumnValues::I64(values),
        }
    }

    /// The column's type.
    pub fn kind(&self) -> ColumnKind {
        match self.values {
            ColumnValues::Utf8(_) => ColumnKind::Utf8,
            ColumnValues::F64(_) => ColumnKind::F64,
            ColumnValues::F64Nullable(_) => ColumnKind::F64Nullable,
            ColumnValues::I32(_) => ColumnKind::I32,
            ColumnValues::I64(_) => ColumnKind::I64,
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        match &self.values {
            ColumnValues::Utf8(v) => v.len(),
            ColumnValues::F64(v) => v.len(),
            ColumnValues::F64Nullable(v) => v.len(),
            ColumnValues::I32(v) => v.len(),
            ColumnValues::I64(v) => v.len(),
        }
    }

    /// True when the column has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn into_array(self) -> ArrayRef {
        match self.values {
            ColumnValues::Utf8(v) => Arc::new(StringArray::from(v)),
            ColumnValues::F64(v) => Arc::new(Float64Array::from(v)),
            ColumnValues::F64Nullable(v) => Arc::new(Float64Array::from(v)),
            ColumnValues::I32(v) => Arc::new(Int32Array::from(v)),
            ColumnValues::I64(v) => Arc::new(Int64Array::from(v)),
        }
    }
}

/// Parquet writing options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParquetOptions {
    /// Maximum rows per row group (at least 1). Smaller groups make more,
    /// smaller shards for a sharded run.
    pub max_row_group_rows: usize,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        ParquetOptions {
            max_row_group_rows: 1 << 20,
        }
    }
}

impl ParquetOptions {
    fn properties(self) -> WriterProperties {
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(self.max_row_group_rows.max(1)))
            .build()
    }
}

/// A streaming, atomic Parquet writer of a fixed set of named, typed columns.
/// Write any number of chunks with [`ParquetTableWriter::write`], then
/// [`ParquetTableWriter::finish`]; dropped unfinished, it leaves no file.
pub struct ParquetTableWriter {
    path: PathBuf,
    schema: SchemaRef,
    kinds: Vec<ColumnKind>,
    writer: ArrowWriter<AtomicFile>,
}

impl std::fmt::Debug for ParquetTableWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetTableWriter")
            .field("path", &self.path)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl ParquetTableWriter {
    /// Start writing `path` with the given `(name, kind)` columns.
    ///
    /// # Errors
    /// [`IoError::Io`] when the temporary file cannot be created,
    /// [`IoError::BadData`] for a repeated column name, [`IoError::Parquet`]
    /// if the writer cannot start.
    pub fn create(
        path: impl AsRef<Path>,
        columns: &[(&str, ColumnKind)],
        options: ParquetOptions,
    ) -> Result<ParquetTableWriter, IoError> {
        let path = path.as_ref();
        for (k, (name, _)) in columns.iter().enumerate() {
            if columns[..k].iter().any(|(n, _)| n == name) {
                return Err(IoError::bad_data(
                    path,
                    format!("column `{name}` given twice"),
                ));
            }
        }
        let schema: SchemaRef = Arc::new(Schema::new(
            columns.iter().map(|(n, k)| k.field(n)).collect::<Vec<_>>(),
        ));
        let file = AtomicFile::create(path)?;
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(options.properties()))
            .map_err(|e| IoError::parquet(path, e))?;
        Ok(ParquetTableWriter {
            path: path.to_path_buf(),
            schema,
            kinds: columns.iter().map(|(_, k)| *k).collect(),
            writer,
        })
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append rows: one [`Column`] per declared column, in order, all the
    /// same length.
    ///
    /// # Errors
    /// [`IoError::BadData`] when the columns do not match the declared ones
    /// or differ in length; [`IoError::Parquet`] when writing fails.
    pub fn write(&mut self, columns: Vec<Column>) -> Result<(), IoError> {
        if columns.len() != self.kinds.len() {
            return Err(IoError::bad_data(
                &self.path,
                format!(
                    "{} columns given, {} declared",
                    columns.len(),
                    self.kinds.len()
                ),
            ));
        }
        let rows = columns.first().map_or(0, Column::len);
        for ((col, kind), field) in columns.iter().zip(&self.kinds).zip(self.schema.fields()) {
            if &col.name != field.name() || col.kind() != *kind {
                return Err(IoError::bad_data(
                    &self.path,
                    format!(
                        "column `{}` ({:?}) given where `{}` ({kind:?}) was declared",
                        col.name,
                        col.kind(),
                        field.name()
                    ),
                ));
            }
            if col.len() != rows {
                return Err(IoError::bad_data(
                    &self.path,
                    format!(
                        "column `{}` has {} rows, expected {rows}",
                        col.name,
                        col.len()
                    ),
                ));
            }
        }
        if rows == 0 {
            return Ok(());
        }
        let arrays: Vec<ArrayRef> = columns.into_iter().map(Column::into_array).collect();
        let batch = RecordBatch::try_new(self.schema.clone(), arrays)
            .map_err(|e| IoError::parquet(&self.path, e))?;
        self.writer
            .write(&batch)
            .map_err(|e| IoError::parquet(&self.path, e))
    }

    /// Close the Parquet footer and rename the file into place.
    ///
    /// # Errors
    /// [`IoError::Parquet`] or [`IoError::Io`] when closing or renaming fails.
    pub fn finish(self) -> Result<(), IoError> {
        let file = self
            .writer
            .into_inner()
            .map_err(|e| IoError::parquet(&self.path, e))?;
        file.commit()
    }
}

/// Write a whole table to `path` atomically.
///
/// # Errors
/// As [`ParquetTableWriter::create`], [`ParquetTableWriter::write`] and
/// [`ParquetTableWriter::finish`].
pub fn write_parquet(
    path: impl AsRef<Path>,
    columns: Vec<Column>,
    options: ParquetOptions,
) -> Result<(), IoError> {
    let names: Vec<(String, ColumnKind)> =
        columns.iter().map(|c| (c.name.clone(), c.kind())).collect();
    let decl: Vec<(&str, ColumnKind)> = names.iter().map(|(n, k)| (n.as_str(), *k)).collect();
    let mut writer = ParquetTableWriter::create(path, &decl, options)?;
    writer.write(columns)?;
    writer.finish()
}
