//! The loan tape reader (MODEL.md §B): streams a Parquet tape in record
//! batches, applies the `[tape.columns]` rename map, checks every rule of §B
//! and turns each row into either a [`Loan`] or a [`Reject`] with its reason.
//!
//! A bad row is data, not an error: the read goes on. Only problems that make
//! the whole file unusable (not Parquet, truncated, a required column missing
//! or of the wrong type) are [`IoError`]s.
//!
//! Duplicate `loan_id`s reject every copy, so [`TapeReader::open`] first scans
//! the `loan_id` column of the whole file (all row groups, even when only some
//! are read). That scan keeps one 64-bit hash per id and, only if two hashes
//! collide, a second scan collects the colliding ids exactly: memory stays at
//! about 8 bytes per row, never the whole file.
//!
//! Besides the model's columns, the reader can carry one *extra* column of the
//! tape through to each loan ([`TapeOptions::extra_column`], e.g. `pool_id`
//! for `msr value --group-by`): a string or integer column, read as an
//! [`ExtraValue`] per valid row, nulls included. It is projected with the
//! model's columns, so it costs one more column decoded, nothing more.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use msr_core::config::{is_state_code, Tape, TAPE_COLUMNS};
use msr_core::{DqState, Investor, Loan, Reject};
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReader};

use crate::error::IoError;
use crate::parquet_in::{
    batch_reader, column_type, corrupt, explain_non_utf8, find_column, info_from, next_batch,
    open_parquet, FloatColumn, IntColumn, Kind, ParquetInfo, TextColumn,
};

// Indices into TAPE_COLUMNS.
const LOAN_ID: usize = 0;
const UPB: usize = 1;
const NOTE_RATE: usize = 2;
const SERVICING_FEE: usize = 3;
const REMAINING_TERM: usize = 4;
const LOAN_AGE: usize = 5;
const FICO: usize = 6;
const LTV: usize = 7;
const INVESTOR: usize = 8;
const DQ_STATUS: usize = 9;
const PROPERTY_STATE: usize = 10;
const ESCROW_MONTHLY: usize = 11;
const LOAN_COUNT: usize = 12;
const ADVANCE_BALANCE: usize = 13;

/// Columns from `ESCROW_MONTHLY` on are optional (§B: null or absent takes the default).
const FIRST_OPTIONAL: usize = ESCROW_MONTHLY;

/// The value kind of each tape column, in `TAPE_COLUMNS` order.
const KINDS: [Kind; 14] = [
    Kind::Text,
    Kind::Float,
    Kind::Float,
    Kind::Float,
    Kind::Int,
    Kind::Int,
    Kind::Int,
    Kind::Float,
    Kind::Text,
    Kind::Text,
    Kind::Text,
    Kind::Float,
    Kind::Int,
    Kind::Float,
];

const RULE_NULL: &str = "must not be null (required column)";

/// One row's value of the extra column ([`TapeOptions::extra_column`]).
///
/// Ordered integers first (numerically), then text (bytewise), then null, so
/// groups sort naturally; a column holds only one of the first two kinds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ExtraValue {
    /// An integer column's value.
    Int(i64),
    /// A text column's value (possibly empty).
    Text(String),
    /// A null.
    Null,
}

impl ExtraValue {
    /// The label a null is shown with in outputs.
    pub const NULL_LABEL: &'static str = "(null)";

    /// The value as text: the integer in decimal, the text itself, or
    /// [`ExtraValue::NULL_LABEL`].
    pub fn label(&self) -> std::borrow::Cow<'_, str> {
        match self {
            ExtraValue::Int(x) => x.to_string().into(),
            ExtraValue::Text(s) => s.as_str().into(),
            ExtraValue::Null => ExtraValue::NULL_LABEL.into(),
        }
    }
}

impl std::fmt::Display for ExtraValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

/// What to read besides the model's columns, and which row groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TapeOptions {
    /// Read only these row groups (see [`TapeReader::open_row_groups`]); all when `None`.
    pub row_groups: Option<Vec<usize>>,
    /// Carry this column of the file to each loan, in [`TapeBatch::extra`].
    /// The name is the file's, except that one of our names mapped by
    /// `[tape.columns]` is looked up under its mapped name. The column must
    /// exist ([`IoError::MissingColumn`]) and hold strings or integers
    /// ([`IoError::ColumnType`]); nulls are carried as [`ExtraValue::Null`].
    pub extra_column: Option<String>,
}

/// The loans and rejects of one record batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TapeBatch {
    /// Rows that passed every rule.
    pub loans: Vec<Loan>,
    /// 0-based file row number of each loan (same length as `loans`).
    pub rows: Vec<u64>,
    /// Rows that broke a rule, with the first rule broken.
    pub rejects: Vec<Reject>,
    /// Each loan's value of the extra column ([`TapeOptions::extra_column`]),
    /// parallel to `loans`; empty when no extra column was asked for.
    pub extra: Vec<ExtraValue>,
}

/// Counts of a whole read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TapeStats {
    /// Rows read (`valid + rejected`).
    pub rows_read: u64,
    /// Rows that became loans.
    pub valid: u64,
    /// Rows rejected.
    pub rejected: u64,
}

impl TapeStats {
    /// Share of rows rejected (0 for an empty tape).
    pub fn reject_share(&self) -> f64 {
        if self.rows_read == 0 {
            0.0
        } else {
            self.rejected as f64 / self.rows_read as f64
        }
    }

    fn add(&mut self, batch: &TapeBatch) {
        self.valid += batch.loans.len() as u64;
        self.rejected += batch.rejects.len() as u64;
        self.rows_read += (batch.loans.len() + batch.rejects.len()) as u64;
    }
}

/// A streaming, validating reader of a Parquet loan tape.
///
/// ```no_run
/// # fn main() -> Result<(), msr_io::IoError> {
/// let tape = msr_core::config::Tape::default();
/// let mut reader = msr_io::TapeReader::open("loans.parquet", &tape)?;
/// while let Some(batch) = reader.next_batch()? {
///     println!("{} loans, {} rejects", batch.loans.len(), batch.rejects.len());
/// }
/// # Ok(()) }
/// ```
pub struct TapeReader {
    path: PathBuf,
    /// The file's column name for each of our columns; `None` for an absent optional column.
    names: [Option<String>; 14],
    /// The file's name of the extra column, if one was asked for.
    extra: Option<String>,
    /// Duplicated ids and how many times each appears in the whole file.
    duplicates: HashMap<String, u64>,
    info: ParquetInfo,
    /// `(first file row, row count)` of each row group read, in read order.
    segments: Vec<(u64, u64)>,
    /// Position in `segments`: current segment and rows used from it.
    cursor: (usize, u64),
    reader: Option<ParquetRecordBatchReader>,
    stats: TapeStats,
}

impl std::fmt::Debug for TapeReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TapeReader")
            .field("path", &self.path)
            .field("names", &self.names)
            .field("extra", &self.extra)
            .field("duplicates", &self.duplicates.len())
            .field("info", &self.info)
            .field("segments", &self.segments)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl TapeReader {
    /// Open a tape to read every row group.
    ///
    /// # Errors
    /// [`IoError`] when the file cannot be opened, is not (valid) Parquet, lacks
    /// a required column or has a column of the wrong type.
    pub fn open(path: impl AsRef<Path>, tape: &Tape) -> Result<TapeReader, IoError> {
        TapeReader::open_inner(path.as_ref(), tape, None, None)
    }

    /// Open a tape to read only the given row groups (for sharding), in file
    /// order whatever the order given; duplicates in the list are read once.
    /// Row numbers stay those of the whole file and duplicate `loan_id`s are
    /// found across the whole file.
    ///
    /// # Errors
    /// As [`TapeReader::open`], plus [`IoError::RowGroup`] for an index past
    /// the last row group.
    pub fn open_row_groups(
        path: impl AsRef<Path>,
        tape: &Tape,
        row_groups: &[usize],
    ) -> Result<TapeReader, IoError> {
        TapeReader::open_inner(path.as_ref(), tape, Some(row_groups), None)
    }

    /// Open a tape with [`TapeOptions`]: some row groups only, and/or an
    /// extra column carried to each loan.
    ///
    /// # Errors
    /// As [`TapeReader::open_row_groups`], plus [`IoError::MissingColumn`]
    /// when the extra column is absent and [`IoError::ColumnType`] when it
    /// holds neither strings nor integers.
    pub fn open_with(
        path: impl AsRef<Path>,
        tape: &Tape,
        options: &TapeOptions,
    ) -> Result<TapeReader, IoError> {
        TapeReader::open_inner(
            path.as_ref(),
            tape,
            options.row_groups.as_deref(),
            options.extra_column.as_deref(),
        )
    }

    fn open_inner(
        path: &Path,
        tape: &Tape,
        row_groups: Option<&[usize]>,
        extra_column: Option<&str>,
    ) -> Result<TapeReader, IoError> {
        let (file, metadata) = open_parquet(path)?;
        let info = info_from(&metadata);

        let mut names: [Option<String>; 14] = Default::default();
        let mut roots = Vec::new();
        for (k, ours) in TAPE_COLUMNS.iter().enumerate() {
            let theirs = tape.columns.get(*ours).map(String::as_str).unwrap_or(ours);
            match find_column(&metadata, theirs) {
                Some(index) => {
                    KINDS[k].check(path, &metadata, index, theirs)?;
                    names[k] = Some(theirs.to_string());
                    if !roots.contains(&index) {
                        roots.push(index);
                    }
                }
                None if k >= FIRST_OPTIONAL => {}
                None => {
                    return Err(IoError::MissingColumn {
                        file: path.to_path_buf(),
                        column: theirs.to_string(),
                        ours: (*ours).to_string(),
                    })
                }
            }
        }
        let extra = match extra_column {
            None => None,
            Some(ours) => {
                let theirs = tape.columns.get(ours).map(String::as_str).unwrap_or(ours);
                let index =
                    find_column(&metadata, theirs).ok_or_else(|| IoError::MissingColumn {
                        file: path.to_path_buf(),
                        column: theirs.to_string(),
                        ours: ours.to_string(),
                    })?;
                check_extra_kind(path, &metadata, index, theirs)?;
                if !roots.contains(&index) {
                    roots.push(index);
                }
                Some(theirs.to_string())
            }
        };
        roots.sort_unstable();
        let id_root = names[LOAN_ID]
            .as_deref()
            .and_then(|n| find_column(&metadata, n))
            .ok_or_else(|| corrupt(path, "loan_id column vanished".into()))?;

        let groups: Vec<usize> = match row_groups {
            None => (0..info.num_row_groups()).collect(),
            Some(list) => {
                let mut list = list.to_vec();
                list.sort_unstable();
                list.dedup();
                if let Some(&index) = list.iter().find(|&&g| g >= info.num_row_groups()) {
                    return Err(IoError::RowGroup {
                        file: path.to_path_buf(),
                        index,
                        count: info.num_row_groups(),
                    });
                }
                list
            }
        };
        let starts = info.row_group_starts();
        let segments: Vec<(u64, u64)> = groups
            .iter()
            .map(|&g| (starts[g], info.row_group_rows[g]))
            .collect();
        let selected = segments.iter().fold(0u64, |a, s| a.saturating_add(s.1));

        let duplicates = if info.num_rows > 0 {
            duplicate_ids(path, &file, &metadata, id_root).map_err(|e| explain_non_utf8(path, e))?
        } else {
            HashMap::new()
        };
        let reader = if selected > 0 {
            Some(batch_reader(path, &file, &metadata, &roots, Some(groups))?)
        } else {
            None
        };
        Ok(TapeReader {
            path: path.to_path_buf(),
            names,
            extra,
            duplicates,
            info,
            segments,
            cursor: (0, 0),
            reader,
            stats: TapeStats::default(),
        })
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rows in the whole file.
    pub fn num_rows(&self) -> u64 {
        self.info.num_rows
    }

    /// Row groups in the whole file.
    pub fn num_row_groups(&self) -> usize {
        self.info.num_row_groups()
    }

    /// Rows in each row group of the file.
    pub fn row_group_rows(&self) -> &[u64] {
        &self.info.row_group_rows
    }

    /// Rows this reader will read (the selected row groups).
    pub fn selected_rows(&self) -> u64 {
        self.segments
            .iter()
            .fold(0u64, |a, s| a.saturating_add(s.1))
    }

    /// The file's name of the extra column, if one was asked for.
    pub fn extra_column(&self) -> Option<&str> {
        self.extra.as_deref()
    }

    /// Optional columns (our names) absent from the file, which take their defaults.
    pub fn absent_optional_columns(&self) -> Vec<&'static str> {
        (FIRST_OPTIONAL..TAPE_COLUMNS.len())
            .filter(|&k| self.names[k].is_none())
            .map(|k| TAPE_COLUMNS[k])
            .collect()
    }

    /// Counts of the rows read so far.
    pub fn stats(&self) -> TapeStats {
        self.stats
    }

    /// Decode and validate the next record batch (up to 65,536 rows);
    /// `Ok(None)` at the end.
    ///
    /// # Errors
    /// [`IoError::Corrupt`] when a page cannot be decoded. The reader stops
    /// after an error.
    pub fn next_batch(&mut self) -> Result<Option<TapeBatch>, IoError> {
        let Some(reader) = self.reader.as_mut() else {
            return Ok(None);
        };
        let batch = match next_batch(&self.path, reader) {
            Ok(Some(batch)) => batch,
            Ok(None) => {
                self.reader = None;
                let declared = self.selected_rows();
                if self.stats.rows_read != declared {
                    let held = self.stats.rows_read;
                    let msg =
                        format!("the file holds {held} rows where its footer says {declared}");
                    return Err(corrupt(&self.path, msg));
                }
                return Ok(None);
            }
            Err(e) => {
                self.reader = None;
                return Err(explain_non_utf8(&self.path, e));
            }
        };
        match self.validate(&batch) {
            Ok(out) => {
                self.stats.add(&out);
                Ok(Some(out))
            }
            Err(e) => {
                self.reader = None;
                Err(e)
            }
        }
    }

    /// The file row number of the next row read.
    fn next_row_number(&mut self) -> Option<u64> {
        let (seg, used) = &mut self.cursor;
        while *seg < self.segments.len() && *used >= self.segments[*seg].1 {
            *seg += 1;
            *used = 0;
        }
        let &(start, _) = self.segments.get(*seg)?;
        let row = start + *used;
        *used += 1;
        Some(row)
    }

    fn validate(&mut self, batch: &RecordBatch) -> Result<TapeBatch, IoError> {
        let cols = BatchColumns::new(&self.path, &self.names, batch)?;
        let extra = match &self.extra {
            None => None,
            Some(name) => Some(ExtraColumn::new(&self.path, name, batch)?),
        };
        let n = batch.num_rows();
        let mut out = TapeBatch {
            loans: Vec::with_capacity(n),
            rows: Vec::with_capacity(n),
            rejects: Vec::new(),
            extra: Vec::with_capacity(if extra.is_some() { n } else { 0 }),
        };
        for i in 0..n {
            let row = self.next_row_number().ok_or_else(|| {
                corrupt(
                    &self.path,
                    "the file holds more rows than its footer says".into(),
                )
            })?;
            match check_row(&cols, &self.names, &self.duplicates, i, row) {
                Ok(loan) => {
                    out.loans.push(loan);
                    out.rows.push(row);
                    if let Some(col) = &extra {
                        out.extra.push(col.get(i));
                    }
                }
                Err(reject) => out.rejects.push(reject),
            }
        }
        Ok(out)
    }
}

impl Iterator for TapeReader {
    type Item = Result<TapeBatch, IoError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_batch().transpose()
    }
}

/// Read and validate a whole tape.
///
/// # Errors
/// As [`TapeReader::open`] and [`TapeReader::next_batch`].
pub fn read_tape(
    path: impl AsRef<Path>,
    tape: &Tape,
) -> Result<(Vec<Loan>, Vec<Reject>, TapeStats), IoError> {
    let mut reader = TapeReader::open(path, tape)?;
    let mut loans = Vec::new();
    let mut rejects = Vec::new();
    while let Some(batch) = reader.next_batch()? {
        loans.extend(batch.loans);
        rejects.extend(batch.rejects);
    }
    Ok((loans, rejects, reader.stats()))
}

/// The extra column must hold strings or integers (floats make poor groups).
fn check_extra_kind(
    path: &Path,
    metadata: &ArrowReaderMetadata,
    index: usize,
    column: &str,
) -> Result<(), IoError> {
    let dt = column_type(metadata, index);
    if Kind::Text.accepts(dt) || Kind::Int.accepts(dt) {
        Ok(())
    } else {
        Err(IoError::ColumnType {
            file: path.to_path_buf(),
            column: column.to_string(),
            found: dt.to_string(),
            expected: "a string or an integer (a column to group by)".to_string(),
        })
    }
}

/// Typed access to the extra column within one batch.
enum ExtraColumn<'a> {
    Text(TextColumn<'a>),
    Int(IntColumn<'a>),
}

impl<'a> ExtraColumn<'a> {
    fn new(path: &Path, name: &str, batch: &'a RecordBatch) -> Result<ExtraColumn<'a>, IoError> {
        let array = batch
            .column_by_name(name)
            .ok_or_else(|| corrupt(path, format!("column `{name}` missing from a batch")))?
            .as_ref();
        if let Some(c) = TextColumn::new(array) {
            Ok(ExtraColumn::Text(c))
        } else if let Some(c) = IntColumn::new(array) {
            Ok(ExtraColumn::Int(c))
        } else {
            Err(corrupt(
                path,
                format!("column `{name}` decoded to an unexpected type"),
            ))
        }
    }

    fn get(&self, i: usize) -> ExtraValue {
        match self {
            ExtraColumn::Text(c) => c
                .get(i)
                .map_or(ExtraValue::Null, |s| ExtraValue::Text(s.to_string())),
            ExtraColumn::Int(c) => c.get(i).map_or(ExtraValue::Null, ExtraValue::Int),
        }
    }
}

fn id_hash(id: &str) -> u64 {
    let mut h = DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

/// Every non-empty `loan_id` that appears more than once in the file, with
/// its count. Nulls and empty ids are not counted (they are rejected as such).
fn duplicate_ids(
    path: &Path,
    file: &File,
    metadata: &ArrowReaderMetadata,
    id_root: usize,
) -> Result<HashMap<String, u64>, IoError> {
    let scan = |visit: &mut dyn FnMut(&str)| -> Result<(), IoError> {
        let mut reader = batch_reader(path, file, metadata, &[id_root], None)?;
        while let Some(batch) = next_batch(path, &mut reader)? {
            let ids = TextColumn::new(batch.column(0).as_ref())
                .ok_or_else(|| corrupt(path, "loan_id decoded to a non-text type".into()))?;
            for i in 0..batch.num_rows() {
                if let Some(id) = ids.get(i).filter(|s| !s.is_empty()) {
                    visit(id);
                }
            }
        }
        Ok(())
    };

    let mut hashes = Vec::new();
    scan(&mut |id| hashes.push(id_hash(id)))?;
    hashes.sort_unstable();
    let suspects: HashSet<u64> = hashes
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    drop(hashes);
    if suspects.is_empty() {
        return Ok(HashMap::new());
    }
    let mut counts: HashMap<String, u64> = HashMap::new();
    scan(&mut |id| {
        if suspects.contains(&id_hash(id)) {
            *counts.entry(id.to_string()).or_default() += 1;
        }
    })?;
    counts.retain(|_, n| *n > 1);
    Ok(counts)
}

/// Typed access to the tape's columns within one batch.
struct BatchColumns<'a> {
    loan_id: TextColumn<'a>,
    upb: FloatColumn<'a>,
    note_rate: FloatColumn<'a>,
    servicing_fee: FloatColumn<'a>,
    remaining_term: IntColumn<'a>,
    loan_age: IntColumn<'a>,
    fico: IntColumn<'a>,
    ltv: FloatColumn<'a>,
    investor: TextColumn<'a>,
    dq_status: TextColumn<'a>,
    property_state: TextColumn<'a>,
    escrow_monthly: Option<FloatColumn<'a>>,
    loan_count: Option<IntColumn<'a>>,
    advance_balance: Option<FloatColumn<'a>>,
}

impl<'a> BatchColumns<'a> {
    fn new(
        path: &Path,
        names: &[Option<String>; 14],
        batch: &'a RecordBatch,
    ) -> Result<BatchColumns<'a>, IoError> {
        let array = |k: usize| -> Result<Option<&'a dyn arrow_array::Array>, IoError> {
            match &names[k] {
                None => Ok(None),
                Some(name) => batch
                    .column_by_name(name)
                    .map(|a| Some(a.as_ref()))
                    .ok_or_else(|| corrupt(path, format!("column `{name}` missing from a batch"))),
            }
        };
        let wrong = |k: usize| {
            corrupt(
                path,
                format!(
                    "column `{}` decoded to an unexpected type",
                    names[k].as_deref().unwrap_or(TAPE_COLUMNS[k])
                ),
            )
        };
        let text = |k: usize| -> Result<TextColumn<'a>, IoError> {
            array(k)?.and_then(TextColumn::new).ok_or_else(|| wrong(k))
        };
        let float = |k: usize| -> Result<FloatColumn<'a>, IoError> {
            array(k)?.and_then(FloatColumn::new).ok_or_else(|| wrong(k))
        };
        let int = |k: usize| -> Result<IntColumn<'a>, IoError> {
            array(k)?.and_then(IntColumn::new).ok_or_else(|| wrong(k))
        };
        let opt_float = |k: usize| -> Result<Option<FloatColumn<'a>>, IoError> {
            array(k)?
                .map(|a| FloatColumn::new(a).ok_or_else(|| wrong(k)))
                .transpose()
        };
        let opt_int = |k: usize| -> Result<Option<IntColumn<'a>>, IoError> {
            array(k)?
                .map(|a| IntColumn::new(a).ok_or_else(|| wrong(k)))
                .transpose()
        };
        Ok(BatchColumns {
            loan_id: text(LOAN_ID)?,
            upb: float(UPB)?,
            note_rate: float(NOTE_RATE)?,
            servicing_fee: float(SERVICING_FEE)?,
            remaining_term: int(REMAINING_TERM)?,
            loan_age: int(LOAN_AGE)?,
            fico: int(FICO)?,
            ltv: float(LTV)?,
            investor: text(INVESTOR)?,
            dq_status: text(DQ_STATUS)?,
            property_state: text(PROPERTY_STATE)?,
            escrow_monthly: opt_float(ESCROW_MONTHLY)?,
            loan_count: opt_int(LOAN_COUNT)?,
            advance_balance: opt_float(ADVANCE_BALANCE)?,
        })
    }
}

/// Builds the reject of one row (allocating only when the row is rejected).
struct RowCheck<'n> {
    names: &'n [Option<String>; 14],
    row: u64,
    loan_id: &'n str,
}

impl RowCheck<'_> {
    fn reject(&self, column: usize, value: impl ToString, rule: impl Into<String>) -> Reject {
        Reject {
            row: self.row,
            loan_id: self.loan_id.to_string(),
            column: self.names[column]
                .clone()
                .unwrap_or_else(|| TAPE_COLUMNS[column].to_string()),
            value: value.to_string(),
            rule: rule.into(),
        }
    }

    fn required<T>(&self, column: usize, value: Option<T>) -> Result<T, Reject> {
        value.ok_or_else(|| self.reject(column, "", RULE_NULL))
    }

    /// A float that must satisfy `ok` (never true for NaN or ±inf).
    fn float(&self, column: usize, x: f64, ok: bool, rule: &str) -> Result<f64, Reject> {
        if ok && x.is_finite() {
            Ok(x)
        } else {
            Err(self.reject(column, x, rule))
        }
    }

    /// An integer in `lo..=hi`.
    fn int(&self, column: usize, x: i64, lo: i64, hi: i64) -> Result<u32, Reject> {
        match u32::try_from(x) {
            Ok(v) if (lo..=hi).contains(&x) => Ok(v),
            _ => Err(self.reject(column, x, format!("must be in {lo}..={hi}"))),
        }
    }
}

/// Apply every rule of MODEL.md §B to row `i` of a batch, in column order;
/// the first rule broken becomes the reject.
fn check_row<'a>(
    cols: &BatchColumns<'a>,
    names: &'a [Option<String>; 14],
    duplicates: &HashMap<String, u64>,
    i: usize,
    row: u64,
) -> Result<Loan, Reject> {
    let id = cols.loan_id.get(i);
    let c = RowCheck {
        names,
        row,
        loan_id: id.unwrap_or(""),
    };

    let loan_id = c.required(LOAN_ID, id)?;
    if loan_id.is_empty() {
        return Err(c.reject(LOAN_ID, "", "must be non-empty"));
    }
    if let Some(n) = duplicates.get(loan_id) {
        return Err(c.reject(
            LOAN_ID,
            loan_id,
            format!("must be unique: loan_id appears {n} times"),
        ));
    }

    let upb = c.required(UPB, cols.upb.get(i))?;
    let upb = c.float(
        UPB,
        upb,
        msr_core::loan::upb_ok(upb),
        msr_core::loan::UPB_RULE,
    )?;
    let note_rate = c.required(NOTE_RATE, cols.note_rate.get(i))?;
    let note_rate = c.float(
        NOTE_RATE,
        note_rate,
        (0.0..0.25).contains(&note_rate),
        "must be in [0, 0.25)",
    )?;
    let fee = c.required(SERVICING_FEE, cols.servicing_fee.get(i))?;
    if !msr_core::loan::servicing_fee_ok(fee, note_rate) {
        let rule = msr_core::loan::servicing_fee_rule(note_rate);
        return Err(c.reject(SERVICING_FEE, fee, rule));
    }
    let servicing_fee = fee;
    let term = c.required(REMAINING_TERM, cols.remaining_term.get(i))?;
    let remaining_term = c.int(REMAINING_TERM, term, 1, 480)?;
    let age = c.required(LOAN_AGE, cols.loan_age.get(i))?;
    let loan_age = c.int(LOAN_AGE, age, 0, 600)?;
    let fico = c.required(FICO, cols.fico.get(i))?;
    let fico = c.int(FICO, fico, 300, 850)? as i32;
    let ltv = c.required(LTV, cols.ltv.get(i))?;
    let ltv = c.float(LTV, ltv, ltv > 0.0 && ltv <= 300.0, "must be in (0, 300]")?;

    let inv = c.required(INVESTOR, cols.investor.get(i))?;
    let investor: Investor = inv
        .parse()
        .map_err(|()| c.reject(INVESTOR, inv, "must be one of FNMA, FHLMC, GNMA, PLS"))?;
    let dq = c.required(DQ_STATUS, cols.dq_status.get(i))?;
    let dq_status: DqState = dq
        .parse()
        .map_err(|()| c.reject(DQ_STATUS, dq, "must be one of C, D30, D60, D90, D120, FC"))?;
    let state = c.required(PROPERTY_STATE, cols.property_state.get(i))?;
    let property_state = match state.as_bytes() {
        &[a, b] if is_state_code(state) => [a, b],
        _ => return Err(c.reject(PROPERTY_STATE, state, "must be 2 upper-case letters")),
    };

    let escrow_monthly = match cols.escrow_monthly.as_ref().and_then(|col| col.get(i)) {
        None => 0.0,
        Some(x) => c.float(ESCROW_MONTHLY, x, x >= 0.0, "must be >= 0")?,
    };
    let loan_count = match cols.loan_count.as_ref().and_then(|col| col.get(i)) {
        None => 1,
        Some(n) if n < 1 => return Err(c.reject(LOAN_COUNT, n, "must be >= 1")),
        Some(n) => c.int(LOAN_COUNT, n, 1, i64::from(u32::MAX))?,
    };
    let advance_balance = match cols.advance_balance.as_ref().and_then(|col| col.get(i)) {
        None => 0.0,
        Some(x) => {
            let x = c.float(ADVANCE_BALANCE, x, x >= 0.0, "must be >= 0")?;
            if dq_status == DqState::C && x != 0.0 {
                return Err(c.reject(ADVANCE_BALANCE, x, "must be 0 when dq_status is C"));
            }
            x
        }
    };

    Ok(Loan {
        loan_id: loan_id.to_string(),
        upb,
        note_rate,
        servicing_fee,
        remaining_term,
        loan_age,
        fico,
        ltv,
        investor,
        dq_status,
        property_state,
        escrow_monthly,
        loan_count,
        advance_balance,
    })
}
