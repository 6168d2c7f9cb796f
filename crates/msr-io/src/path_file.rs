//! Path files (MODEL.md §C.5, §J): Parquet, one row per `(path, month)` with
//! `path` i32 (0-based), `month` i32 (1..T), `short_rate`, `mortgage_rate`
//! and `discount` f64. Reading checks that the file is a complete grid (paths
//! `0..P−1`, each with months `1..T` exactly once, in any row order) of finite
//! values; months beyond the `T` a run needs are ignored, fewer is an error.

use std::path::Path;

use msr_rates::PathSet;
use ndarray::Array2;

use crate::error::IoError;
use crate::parquet_in::{
    batch_reader, corrupt, find_column, info_from, next_batch, open_parquet, FloatColumn,
    IntColumn, Kind,
};
use crate::parquet_out::{Column, ColumnKind, ParquetOptions, ParquetTableWriter};

/// The path file's columns, in order.
pub const PATH_COLUMNS: [&str; 5] = ["path", "month", "short_rate", "mortgage_rate", "discount"];

const VALUE_COLUMNS: [&str; 3] = ["short_rate", "mortgage_rate", "discount"];

/// Cells allocated to locate a hole are capped at this many times the rows
/// present (plus a floor), so a wild path or month number cannot exhaust memory.
const GRID_SLACK: usize = 4;
const GRID_FLOOR: usize = 1 << 20;

fn layout(path: &Path, problem: String) -> IoError {
    IoError::PathLayout {
        file: path.to_path_buf(),
        problem,
    }
}

/// Read a path file.
///
/// With `need_months = Some(T)` the paths must cover months `1..=T`; later
/// months are ignored. With `None`, `T` is the largest month in the file and
/// every path must have all of `1..=T`.
///
/// # Errors
/// [`IoError`] when the file cannot be read or lacks a column;
/// [`IoError::PathTooShort`] when it has fewer than `need_months` months;
/// [`IoError::PathLayout`] naming the path and month for a missing or
/// duplicate `(path, month)`, a gap in path numbers, a negative path, a month
/// below 1 or a null; [`IoError::PathValue`] for a NaN or infinite value.
pub fn read_path_file(
    path: impl AsRef<Path>,
    need_months: Option<usize>,
) -> Result<PathSet, IoError> {
    let path = path.as_ref();
    let (file, metadata) = open_parquet(path)?;
    let mut roots = [0usize; 5];
    for (k, name) in PATH_COLUMNS.iter().enumerate() {
        let index = find_column(&metadata, name).ok_or_else(|| IoError::MissingColumn {
            file: path.to_path_buf(),
            column: name.to_string(),
            ours: name.to_string(),
        })?;
        let kind = if k < 2 { Kind::Int } else { Kind::Float };
        kind.check(path, &metadata, index, name)?;
        roots[k] = index;
    }
    if info_from(&metadata).num_rows == 0 {
        return Err(layout(path, "the file has no rows".into()));
    }

    // Pass 1: path and month only, to size the grid.
    let mut max_path = 0usize;
    let mut max_month = 0usize;
    let mut key_roots = [roots[0], roots[1]];
    key_roots.sort_unstable();
    let mut reader = batch_reader(path, &file, &metadata, &key_roots, None)?;
    let need = need_months.filter(|&n| n > 0);
    let mut row = 0u64;
    let mut rows_within_need = 0usize;
    while let Some(batch) = next_batch(path, &mut reader)? {
        let (paths, months) = key_columns(path, &batch)?;
        for i in 0..batch.num_rows() {
            let (p, m) = key(path, &paths, &months, i, row)?;
            max_path = max_path.max(p);
            max_month = max_month.max(m);
            rows_within_need += usize::from(need.is_some_and(|n| m <= n));
            row += 1;
        }
    }
    let (months, used_rows) = match need {
        Some(need) if need > max_month => {
            return Err(IoError::PathTooShort {
                file: path.to_path_buf(),
                have: max_month,
                need,
            });
        }
        Some(need) => (need, rows_within_need),
        None => (max_month, usize::try_from(row).unwrap_or(usize::MAX)),
    };
    let num_paths = max_path + 1;
    let cells = num_paths.saturating_mul(months);
    if cells
        > used_rows
            .saturating_mul(GRID_SLACK)
            .saturating_add(GRID_FLOOR)
    {
        return Err(layout(
            path,
            format!(
                "paths run to {max_path} and months to {months}, but only {used_rows} rows fall \
                 in that range: paths must be 0..P-1, each with months 1..T exactly once"
            ),
        ));
    }

    // Pass 2: fill the grid.
    let mut values = [
        Array2::<f64>::zeros((num_paths, months)),
        Array2::<f64>::zeros((num_paths, months)),
        Array2::<f64>::zeros((num_paths, months)),
    ];
    let mut seen = vec![false; cells];
    let mut reader = batch_reader(path, &file, &metadata, &sorted(roots), None)?;
    let mut row = 0u64;
    while let Some(batch) = next_batch(path, &mut reader)? {
        let (paths, month_col) = key_columns(path, &batch)?;
        let value_cols = VALUE_COLUMNS
            .iter()
            .map(|name| {
                batch
                    .column_by_name(name)
                    .and_then(|a| FloatColumn::new(a.as_ref()))
                    .ok_or_else(|| {
                        corrupt(
                            path,
                            format!("column `{name}` decoded to an unexpected type"),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        for i in 0..batch.num_rows() {
            let (p, m) = key(path, &paths, &month_col, i, row)?;
            row += 1;
            if m > months {
                continue;
            }
            let cell = p * months + (m - 1);
            if std::mem::replace(&mut seen[cell], true) {
                return Err(layout(
                    path,
                    format!("path {p}, month {m} appears more than once"),
                ));
            }
            for ((col, name), out) in value_cols.iter().zip(VALUE_COLUMNS).zip(values.iter_mut()) {
                let x = col
                    .get(i)
                    .ok_or_else(|| layout(path, format!("path {p}, month {m}: {name} is null")))?;
                if !x.is_finite() {
                    return Err(IoError::PathValue {
                        file: path.to_path_buf(),
                        path: p,
                        month: m,
                        column: name,
                        value: x,
                    });
                }
                out[[p, m - 1]] = x;
            }
        }
    }
    if let Some(cell) = seen.iter().position(|s| !s) {
        let p = cell / months;
        let m = cell % months + 1;
        let problem = if seen[p * months..(p + 1) * months].iter().all(|s| !s) {
            format!("path {p} is missing: paths must be numbered 0..{max_path} without gaps")
        } else {
            format!("path {p} is missing month {m} (every path needs months 1..={months})")
        };
        return Err(layout(path, problem));
    }
    let [short_rate, mortgage_rate, discount] = values;
    PathSet::new(short_rate, mortgage_rate, discount).map_err(|e| layout(path, e.to_string()))
}

fn sorted(mut roots: [usize; 5]) -> [usize; 5] {
    roots.sort_unstable();
    roots
}

fn key_columns<'a>(
    path: &Path,
    batch: &'a arrow_array::RecordBatch,
) -> Result<(IntColumn<'a>, IntColumn<'a>), IoError> {
    let int = |name: &str| {
        batch
            .column_by_name(name)
            .and_then(|a| IntColumn::new(a.as_ref()))
            .ok_or_else(|| {
                corrupt(
                    path,
                    format!("column `{name}` decoded to an unexpected type"),
                )
            })
    };
    Ok((int("path")?, int("month")?))
}

/// The `(path, month)` of row `i`, checked: path ≥ 0, month ≥ 1, no nulls.
fn key(
    path: &Path,
    paths: &IntColumn<'_>,
    months: &IntColumn<'_>,
    i: usize,
    row: u64,
) -> Result<(usize, usize), IoError> {
    let p = paths
        .get(i)
        .ok_or_else(|| layout(path, format!("row {row}: path is null")))?;
    let m = months
        .get(i)
        .ok_or_else(|| layout(path, format!("row {row}: month is null")))?;
    let p = usize::try_from(p).map_err(|_| {
        layout(
            path,
            format!("row {row}: path {p} is negative (paths are 0-based)"),
        )
    })?;
    let m = usize::try_from(m).ok().filter(|&m| m >= 1).ok_or_else(|| {
        layout(
            path,
            format!("row {row}: month {m} is below 1 (months are 1-based)"),
        )
    })?;
    Ok((p, m))
}

/// Write a path set as a §C.5 path file, path-major (all months of path 0,
/// then path 1, ...), atomically.
///
/// # Errors
/// [`IoError`] when the file cannot be written, or [`IoError::BadData`] when
/// the set has more paths or months than an `i32` can number.
pub fn write_path_file(path: impl AsRef<Path>, paths: &PathSet) -> Result<(), IoError> {
    let path = path.as_ref();
    let (num_paths, months) = (paths.num_paths(), paths.months());
    if i32::try_from(num_paths).is_err() || i32::try_from(months).is_err() {
        return Err(IoError::bad_data(
            path,
            "too many paths or months for i32 columns",
        ));
    }
    let decl: Vec<(&str, ColumnKind)> = PATH_COLUMNS
        .iter()
        .enumerate()
        .map(|(k, n)| {
            (
                *n,
                if k < 2 {
                    ColumnKind::I32
                } else {
                    ColumnKind::F64
                },
            )
        })
        .collect();
    let mut writer = ParquetTableWriter::create(path, &decl, ParquetOptions::default())?;
    let paths_per_chunk = (65_536 / months.max(1)).max(1);
    let mut first = 0;
    while first < num_paths {
        let last = (first + paths_per_chunk).min(num_paths);
        let rows = (last - first) * months;
        let mut path_col = Vec::with_capacity(rows);
        let mut month_col = Vec::with_capacity(rows);
        for p in first..last {
            for t in 1..=months {
                // Both fit in i32: checked above.
                path_col.push(p as i32);
                month_col.push(t as i32);
            }
        }
        let take = |a: &Array2<f64>| -> Vec<f64> {
            a.rows()
                .into_iter()
                .skip(first)
                .take(last - first)
                .flatten()
                .copied()
                .collect()
        };
        writer.write(vec![
            Column::i32("path", path_col),
            Column::i32("month", month_col),
            Column::f64("short_rate", take(&paths.short_rate)),
            Column::f64("mortgage_rate", take(&paths.mortgage_rate)),
            Column::f64("discount", take(&paths.discount)),
        ])?;
        first = last;
    }
    writer.finish()
}
