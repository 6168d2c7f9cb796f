//! Writers: atomic files, generic Parquet tables and [`crate::read_table`],
//! the rejects CSV, JSON and tapes with extra columns.

use msr_core::config::Tape;
use msr_core::Reject;

use super::{golden, one_line_naming};
use crate::{
    atomic_write, parquet_info, read_json, read_rejects, read_table, read_tape, write_json_pretty,
    write_parquet, write_rejects, write_tape_with_extra, Column, ColumnKind, IoError,
    ParquetOptions, ParquetTableWriter, TableColumn, TapeWriteOptions,
};

fn names_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn atomic_write_renames_on_success_and_cleans_up_on_failure() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.txt");
    atomic_write(&path, |f| {
        use std::io::Write;
        f.write_all(b"first").map_err(|e| IoError::Io {
            file: path.clone(),
            action: "write".into(),
            source: e,
        })
    })
    .unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "first");

    let e = atomic_write(&path, |f| {
        use std::io::Write;
        f.write_all(b"second").unwrap();
        Err::<(), _>(IoError::BadData {
            file: path.clone(),
            problem: "stop".into(),
        })
    })
    .unwrap_err();
    assert!(e.to_string().ends_with("stop"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "first");
    assert_eq!(names_in(dir.path()), ["out.txt"]);

    let nowhere = dir.path().join("no/such/dir/out.txt");
    let msg = atomic_write(&nowhere, |_| Ok(())).unwrap_err().to_string();
    assert!(msg.contains("out.txt.tmp: cannot create"), "{msg}");
}

#[test]
fn an_unfinished_parquet_writer_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    let mut w =
        ParquetTableWriter::create(&path, &[("x", ColumnKind::F64)], ParquetOptions::default())
            .unwrap();
    w.write(vec![Column::f64("x", vec![1.0])]).unwrap();
    drop(w);
    assert!(names_in(dir.path()).is_empty());
}

#[test]
fn tables_round_trip_through_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("table.parquet");
    write_parquet(
        &path,
        vec![
            Column::utf8("loan_id", vec!["a".into(), "b".into(), "c".into()]),
            Column::f64("value", vec![1.5, -2.25, 1e300]),
            Column::f64_nullable("multiple", vec![Some(3.0), None, Some(0.0)]),
            Column::i32("month", vec![1, 2, 3]),
            Column::i64("count", vec![10, 20, 1 << 40]),
        ],
        ParquetOptions {
            max_row_group_rows: 2,
        },
    )
    .unwrap();
    let info = parquet_info(&path).unwrap();
    assert_eq!(
        (info.num_rows, info.row_group_rows.clone()),
        (3, vec![2, 1])
    );
    assert_eq!(info.row_group_starts(), [0, 2]);
    let t = read_table(&path).unwrap();
    assert_eq!(t.names, ["loan_id", "value", "multiple", "month", "count"]);
    assert_eq!(t.num_rows, 3);
    assert_eq!(t.text("loan_id").unwrap(), ["a", "b", "c"]);
    assert_eq!(
        t.numbers("value").unwrap(),
        [Some(1.5), Some(-2.25), Some(1e300)]
    );
    assert_eq!(t.numbers("multiple").unwrap(), [Some(3.0), None, Some(0.0)]);
    assert_eq!(
        t.numbers("month").unwrap(),
        [Some(1.0), Some(2.0), Some(3.0)]
    );
    assert_eq!(t.numbers("count").unwrap()[2], Some((1u64 << 40) as f64));
    assert!(t.text("value").is_none() && t.numbers("nope").is_none());
}

#[test]
fn writer_refuses_inconsistent_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    let e = write_parquet(
        &path,
        vec![
            Column::f64("a", vec![1.0, 2.0]),
            Column::f64("b", vec![1.0]),
        ],
        ParquetOptions::default(),
    )
    .unwrap_err();
    let msg = one_line_naming(&e, &path);
    assert!(msg.contains("column `b` has 1 rows, expected 2"), "{msg}");
    let e = write_parquet(
        &path,
        vec![Column::f64("a", vec![1.0]), Column::i32("a", vec![1])],
        ParquetOptions::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("given twice"), "{e}");

    let mut w =
        ParquetTableWriter::create(&path, &[("x", ColumnKind::F64)], ParquetOptions::default())
            .unwrap();
    let e = w.write(vec![Column::i32("x", vec![1])]).unwrap_err();
    assert!(e.to_string().contains("was declared"), "{e}");
    assert!(!path.exists());
}

#[test]
fn golden_expected_files_read_as_tables() {
    let t = read_table(golden("expected_loan_values_60_static.parquet")).unwrap();
    assert_eq!(t.num_rows, 60);
    assert_eq!(t.text("loan_id").unwrap()[0], "L00101-0000000");
    assert!(t.numbers("std_error").unwrap().iter().all(Option::is_none));
    assert!(t.numbers("value").unwrap().iter().all(Option::is_some));
    let t = read_table(golden("paths_8.parquet")).unwrap();
    assert!(matches!(t.columns.get("path"), Some(TableColumn::Number(v)) if v.len() == 3840));
}

#[test]
fn rejects_round_trip_through_csv() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rejects.csv");
    let rejects = vec![
        Reject {
            row: 7,
            loan_id: "L,1".into(),
            column: "upb".into(),
            value: "-5".into(),
            rule: "must be > 0".into(),
        },
        Reject {
            row: 12,
            loan_id: String::new(),
            column: "loan_id".into(),
            value: String::new(),
            rule: "must not be null (required column)".into(),
        },
        Reject {
            row: 13,
            loan_id: "say \"hi\"\nthere".into(),
            column: "note_rate".into(),
            value: "NaN".into(),
            rule: "must be in [0, 0.25)".into(),
        },
    ];
    write_rejects(&path, &rejects).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("row,loan_id,column,value,rule\n7,\"L,1\",upb,-5,must be > 0\n"),
        "{text}"
    );
    assert_eq!(read_rejects(&path).unwrap(), rejects);

    write_rejects(&path, &[]).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "row,loan_id,column,value,rule\n"
    );
}

#[test]
fn json_is_written_pretty_and_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("summary.json");
    let value = serde_json::json!({"value": 1.25, "loans": 60, "name": "x"});
    write_json_pretty(&path, &value).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("\n  \"loans\": 60") && text.ends_with("}\n"),
        "{text}"
    );
    let back: serde_json::Value = read_json(&path).unwrap();
    assert_eq!(back, value);
    assert_eq!(names_in(dir.path()), ["summary.json"]);

    std::fs::write(&path, "{not json").unwrap();
    let e = read_json::<serde_json::Value>(&path).unwrap_err();
    let msg = one_line_naming(&e, &path);
    assert!(msg.contains("JSON"), "{msg}");
}

#[test]
fn tapes_carry_extra_text_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tape.parquet");
    let loans = crate::generate_book(5, 1);
    let labels: Vec<String> = (0..5).map(|k| format!("bucket-{k}")).collect();
    write_tape_with_extra(
        &path,
        &loans,
        &[("bucket", labels.clone())],
        TapeWriteOptions::default(),
    )
    .unwrap();
    let t = read_table(&path).unwrap();
    assert_eq!(t.names.len(), 15);
    assert_eq!(t.text("bucket").unwrap(), labels);
    let (back, rejects, _) = read_tape(&path, &Tape::default()).unwrap();
    assert!(rejects.is_empty() && back == loans);

    let e = write_tape_with_extra(
        &path,
        &loans,
        &[("bucket", vec![])],
        TapeWriteOptions::default(),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("column `bucket` has 0 rows, expected 5"),
        "{e}"
    );
}

#[cfg(unix)]
#[test]
fn an_output_that_is_not_a_regular_file_is_refused_not_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("out.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let link = dir.path().join("link.csv");
    std::fs::write(dir.path().join("target.csv"), "kept").unwrap();
    std::os::unix::fs::symlink(dir.path().join("target.csv"), &link).unwrap();
    let sub = dir.path().join("adir");
    std::fs::create_dir(&sub).unwrap();
    // A FIFO at the temporary name would block `File::create`: refused too.
    let tmp_fifo = dir.path().join("x.csv.tmp");
    assert!(std::process::Command::new("mkfifo")
        .arg(&tmp_fifo)
        .status()
        .unwrap()
        .success());
    let cases = [
        (fifo.clone(), fifo.clone(), "a FIFO"),
        (link.clone(), link.clone(), "a symbolic link"),
        (sub.clone(), sub.clone(), "a directory"),
        (dir.path().join("x.csv"), tmp_fifo.clone(), "a FIFO"),
        (
            std::path::PathBuf::from("/dev/null"),
            std::path::PathBuf::from("/dev/null"),
            "a character device",
        ),
    ];
    for (target, named, kind) in cases {
        let e = atomic_write(&target, |_| Ok(())).unwrap_err();
        assert!(matches!(e, IoError::NotRegularFile { .. }), "{e:?}");
        let msg = one_line_naming(&e, &named);
        assert_eq!(
            msg,
            format!(
                "{}: exists and is not a regular file ({kind}); refusing to replace it with an output",
                named.display()
            )
        );
    }
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read_to_string(&link).unwrap(), "kept");
    assert!(std::fs::symlink_metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
    // A regular file is replaced as before.
    let plain = dir.path().join("plain.csv");
    std::fs::write(&plain, "old").unwrap();
    atomic_write(&plain, |f| {
        use std::io::Write;
        f.write_all(b"new").map_err(|e| IoError::Io {
            file: plain.clone(),
            action: "write".into(),
            source: e,
        })
    })
    .unwrap();
    assert_eq!(std::fs::read_to_string(&plain).unwrap(), "new");
}
