//! Path files: the golden files, bit-exact round trip, any row order, and
//! every way a file can fail to be a complete grid of finite values.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int32Array, Int64Array};
use msr_rates::PathSet;
use ndarray::Array2;

use super::{golden, one_line_naming, write_arrays};
use crate::{read_path_file, write_path_file, IoError};

/// Rows `(path, month, r, m, d)` as a path file.
fn write_rows(path: &Path, rows: &[(i32, i32, f64, f64, f64)]) {
    let col = |f: fn(&(i32, i32, f64, f64, f64)) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from(rows.iter().map(f).collect::<Vec<_>>()))
    };
    write_arrays(
        path,
        vec![
            (
                "path",
                Arc::new(Int32Array::from(
                    rows.iter().map(|r| r.0).collect::<Vec<_>>(),
                )),
            ),
            (
                "month",
                Arc::new(Int32Array::from(
                    rows.iter().map(|r| r.1).collect::<Vec<_>>(),
                )),
            ),
            ("short_rate", col(|r| r.2)),
            ("mortgage_rate", col(|r| r.3)),
            ("discount", col(|r| r.4)),
        ],
        1 << 20,
    );
}

/// A complete grid of `paths × months` rows, path-major.
fn grid(paths: i32, months: i32) -> Vec<(i32, i32, f64, f64, f64)> {
    let mut rows = Vec::new();
    for p in 0..paths {
        for t in 1..=months {
            let r = 0.04 + 0.001 * f64::from(p) + 1e-5 * f64::from(t);
            rows.push((p, t, r, r + 0.02, (-r * f64::from(t) / 12.0).exp()));
        }
    }
    rows
}

fn layout_error(rows: &[(i32, i32, f64, f64, f64)], need: Option<usize>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("paths.parquet");
    write_rows(&path, rows);
    let e = read_path_file(&path, need).unwrap_err();
    one_line_naming(&e, &path)
}

#[test]
fn golden_path_files_read_whole() {
    let paths = read_path_file(golden("paths_8.parquet"), None).unwrap();
    assert_eq!((paths.num_paths(), paths.months()), (8, 480));
    let d = &paths.discount;
    assert!(d.iter().all(|&x| x > 0.0 && x < 1.0));
    let fixed = read_path_file(golden("paths_8.parquet"), Some(360)).unwrap();
    assert_eq!(fixed.months(), 360);
    assert_eq!(fixed.short_rate[[5, 359]], paths.short_rate[[5, 359]]);

    let stat = read_path_file(golden("static_path.parquet"), Some(480)).unwrap();
    assert_eq!((stat.num_paths(), stat.months()), (1, 480));
}

#[test]
fn write_then_read_is_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("paths.parquet");
    let (p, t) = (3, 200);
    let f = |k: usize| {
        Array2::from_shape_fn((p, t), |(i, j)| {
            (((i * 7919 + j * 104729 + k * 31) as f64).sin() * 0.1).exp() - 1.0
                + 1e-310 * (j as f64)
        })
    };
    let set = PathSet::new(f(0), f(1), f(2)).unwrap();
    write_path_file(&path, &set).unwrap();
    let back = read_path_file(&path, None).unwrap();
    for (a, b) in [
        (&set.short_rate, &back.short_rate),
        (&set.mortgage_rate, &back.mortgage_rate),
        (&set.discount, &back.discount),
    ] {
        assert!(a
            .iter()
            .zip(b.iter())
            .all(|(x, y)| x.to_bits() == y.to_bits()));
    }
    // Golden file round trip too.
    let g = read_path_file(golden("paths_8.parquet"), None).unwrap();
    write_path_file(&path, &g).unwrap();
    assert!(read_path_file(&path, None).unwrap() == g);
}

#[test]
fn rows_may_come_in_any_order() {
    let dir = tempfile::tempdir().unwrap();
    let ordered = grid(3, 12);
    let mut shuffled = ordered.clone();
    shuffled.reverse();
    shuffled.swap(3, 20);
    let a = dir.path().join("a.parquet");
    let b = dir.path().join("b.parquet");
    write_rows(&a, &ordered);
    write_rows(&b, &shuffled);
    assert_eq!(
        read_path_file(&a, None).unwrap(),
        read_path_file(&b, None).unwrap()
    );
}

#[test]
fn months_beyond_the_need_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("paths.parquet");
    let mut rows = grid(2, 12);
    // Path 1 stops at month 10 and month 12 of path 0 is NaN: neither
    // matters when only 9 months are needed.
    rows.retain(|r| !(r.0 == 1 && r.1 > 10));
    rows[11].2 = f64::NAN;
    write_rows(&path, &rows);
    let set = read_path_file(&path, Some(9)).unwrap();
    assert_eq!((set.num_paths(), set.months()), (2, 9));
    let e = read_path_file(&path, None).unwrap_err();
    assert!(
        matches!(
            e,
            IoError::PathValue {
                path: 0,
                month: 12,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn a_file_shorter_than_the_need_is_an_error() {
    let msg = layout_error(&grid(2, 12), Some(13));
    assert!(
        msg.contains("12 months") && msg.contains("need 13"),
        "{msg}"
    );
}

#[test]
fn ragged_files_are_rejected_naming_path_and_month() {
    let mut missing = grid(3, 12);
    missing.retain(|r| !(r.0 == 1 && r.1 == 7));
    let msg = layout_error(&missing, None);
    assert!(msg.contains("path 1 is missing month 7"), "{msg}");

    // A path with fewer months than the others.
    let mut short = grid(3, 12);
    short.retain(|r| !(r.0 == 2 && r.1 > 10));
    let msg = layout_error(&short, None);
    assert!(msg.contains("path 2 is missing month 11"), "{msg}");
    let msg = layout_error(&short, Some(12));
    assert!(msg.contains("path 2 is missing month 11"), "{msg}");

    let mut dup = grid(2, 6);
    dup.push(dup[8]);
    let msg = layout_error(&dup, None);
    assert!(
        msg.contains("path 1, month 3 appears more than once"),
        "{msg}"
    );

    let mut gap = grid(4, 6);
    gap.retain(|r| r.0 != 2);
    let msg = layout_error(&gap, None);
    assert!(msg.contains("path 2 is missing"), "{msg}");

    let mut negative = grid(2, 3);
    negative[4].0 = -1;
    let msg = layout_error(&negative, None);
    assert!(msg.contains("path -1 is negative"), "{msg}");

    let mut zero_month = grid(2, 3);
    zero_month[1].1 = 0;
    let msg = layout_error(&zero_month, None);
    assert!(msg.contains("month 0 is below 1"), "{msg}");

    let mut wild = grid(2, 3);
    wild[0].0 = 2_000_000_000;
    let msg = layout_error(&wild, None);
    assert!(msg.contains("paths must be 0..P-1"), "{msg}");

    let msg = layout_error(&[], None);
    assert!(msg.contains("no rows"), "{msg}");
}

#[test]
fn non_finite_values_are_rejected() {
    for (col, bad) in [(2, f64::NAN), (3, f64::INFINITY), (4, f64::NEG_INFINITY)] {
        let mut rows = grid(2, 5);
        match col {
            2 => rows[7].2 = bad,
            3 => rows[7].3 = bad,
            _ => rows[7].4 = bad,
        }
        let msg = layout_error(&rows, None);
        let name = ["", "", "short_rate", "mortgage_rate", "discount"][col];
        assert!(
            msg.contains(&format!("path 1, month 3: {name} is not finite")),
            "{msg}"
        );
    }
}

#[test]
fn columns_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("paths.parquet");
    let n = 4;
    write_arrays(
        &path,
        vec![
            ("path", Arc::new(Int64Array::from(vec![0i64; n]))),
            ("month", Arc::new(Int32Array::from(vec![1, 2, 3, 4]))),
            ("short_rate", Arc::new(Float64Array::from(vec![0.01; n]))),
            ("discount", Arc::new(Float64Array::from(vec![0.99; n]))),
        ],
        100,
    );
    let msg = one_line_naming(&read_path_file(&path, None).unwrap_err(), &path);
    assert!(
        msg.contains("missing required column `mortgage_rate`"),
        "{msg}"
    );

    write_arrays(
        &path,
        vec![
            ("path", Arc::new(Float64Array::from(vec![0.0; n]))),
            ("month", Arc::new(Int32Array::from(vec![1, 2, 3, 4]))),
            ("short_rate", Arc::new(Float64Array::from(vec![0.01; n]))),
            ("mortgage_rate", Arc::new(Float64Array::from(vec![0.06; n]))),
            ("discount", Arc::new(Float64Array::from(vec![0.99; n]))),
        ],
        100,
    );
    let msg = one_line_naming(&read_path_file(&path, None).unwrap_err(), &path);
    assert!(msg.contains("column `path` has type Float64"), "{msg}");

    let text = dir.path().join("paths.csv");
    std::fs::write(&text, "path,month,short_rate\n0,1,0.04\n").unwrap();
    let msg = one_line_naming(&read_path_file(&text, None).unwrap_err(), &text);
    assert!(msg.contains("not a Parquet file"), "{msg}");
}
