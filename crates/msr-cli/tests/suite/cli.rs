//! End-to-end tests of the `msr` binary, each in its own temporary directory.

use std::path::{Path, PathBuf};
use std::process::Output;

use msr_core::tolerance::{close, SPEC_ABS_DOLLARS, SPEC_REL};
use msr_io::{read_table, write_tape, TapeWriteOptions};

use crate::support;
use support::{json, msr, ok, s};

fn golden() -> PathBuf {
    msr_testkit::golden_dir()
}

#[test]
fn value_reproduces_the_golden_case_through_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let g = golden();
    let out = msr(&[
        "value",
        "--loans",
        s(&g.join("loans_60.parquet")),
        "--rate-paths",
        s(&g.join("paths_8.parquet")),
        "--out",
        s(tmp.path()),
    ]);
    ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("portfolio value $259544.76"), "{stdout}");
    let got = read_table(tmp.path().join("loan_values.parquet")).unwrap();
    let want = read_table(g.join("expected_loan_values_60x8.parquet")).unwrap();
    let ids = got.text("loan_id").unwrap();
    for (r, id) in want.text("loan_id").unwrap().iter().enumerate() {
        let k = ids.iter().position(|x| x == id).unwrap();
        for col in [
            "value",
            "value_bps",
            "std_error",
            "pv_fee",
            "pv_cost",
            "pv_liq_loss",
            "pv_adv_finance",
        ] {
            let (a, b) = (
                got.numbers(col).unwrap()[k].unwrap(),
                want.numbers(col).unwrap()[r].unwrap(),
            );
            assert!(
                close(a, b, SPEC_REL, SPEC_ABS_DOLLARS),
                "{id} {col}: {a} vs {b}"
            );
        }
    }
    let summary = json(&tmp.path().join("summary.json"));
    let expected = json(&g.join("expected_summary_60x8.json"));
    for key in ["value", "upb", "value_bps", "std_error"] {
        let (a, b) = (
            summary[key].as_f64().unwrap(),
            expected[key].as_f64().unwrap(),
        );
        assert!(close(a, b, SPEC_REL, 0.0), "{key}: {a} vs {b}");
    }
    assert_eq!(summary["loans_read"], 60);
    assert_eq!(summary["loans_valued"], 60);
    assert_eq!(summary["rejected_rows"], 0);
    assert_eq!(summary["months"], 360);
    let manifest = json(&tmp.path().join("manifest.json"));
    assert_eq!(
        manifest["inputs"]["loans"]["sha256"]
            .as_str()
            .unwrap()
            .len(),
        64
    );
    assert_eq!(manifest["rate_paths"]["source"], "file");
    // marks.csv: one row per loan, tied to the manifest, totals equal to the summary's.
    let marks = std::fs::read_to_string(tmp.path().join("marks.csv")).unwrap();
    let mut lines = marks.lines();
    assert_eq!(
        lines.next().unwrap(),
        "as_of,loan_id,investor,upb,fair_value,value_bps,multiple,method,paths,oas,run_id"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 60);
    let total: f64 = rows.iter().map(|r| r[4].parse::<f64>().unwrap()).sum();
    assert!(close(total, summary["value"].as_f64().unwrap(), 1e-12, 0.0));
    assert!(rows.iter().all(|r| r[0] == "2026-11-30"
        && r[8] == "8"
        && r[10] == manifest["run_id"].as_str().unwrap()));
    let cash = read_table(tmp.path().join("cashflows.parquet")).unwrap();
    assert_eq!(cash.num_rows, 360);
    // No staging directory is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".msr-staging"))
        .collect();
    assert!(leftovers.is_empty());
}

/// Values by loan_id and the summary's totals, bit for bit.
fn fingerprint(dir: &Path) -> (Vec<(String, u64)>, Vec<u64>) {
    let t = read_table(dir.join("loan_values.parquet")).unwrap();
    let mut rows: Vec<(String, u64)> = t
        .text("loan_id")
        .unwrap()
        .iter()
        .zip(t.numbers("value").unwrap())
        .map(|(id, v)| (id.clone(), v.unwrap().to_bits()))
        .collect();
    rows.sort();
    let sm = json(&dir.join("summary.json"));
    let totals = ["value", "upb", "std_error"]
        .iter()
        .map(|k| sm[*k].as_f64().unwrap().to_bits())
        .collect();
    (rows, totals)
}

#[test]
fn threads_and_tape_order_do_not_change_a_bit() {
    let tmp = tempfile::tempdir().unwrap();
    let mut loans = msr_io::generate_book(150, 99);
    let tape = tmp.path().join("tape.parquet");
    write_tape(
        &tape,
        &loans,
        TapeWriteOptions {
            max_row_group_rows: 40,
        },
    )
    .unwrap();
    loans.reverse();
    loans.swap(3, 77);
    let shuffled = tmp.path().join("shuffled.parquet");
    write_tape(
        &shuffled,
        &loans,
        TapeWriteOptions {
            max_row_group_rows: 64,
        },
    )
    .unwrap();
    let mut prints = Vec::new();
    for (name, file, threads) in [("a", &tape, "1"), ("b", &tape, "2"), ("c", &shuffled, "2")] {
        let out = tmp.path().join(name);
        ok(&msr(&[
            "value",
            "--loans",
            s(file),
            "--num-paths",
            "16",
            "--threads",
            threads,
            "--out",
            s(&out),
            "-q",
        ]));
        prints.push(fingerprint(&out));
    }
    assert_eq!(prints[0], prints[1], "1 vs 2 threads");
    assert_eq!(prints[0], prints[2], "shuffled tape");
}

#[test]
fn exported_paths_value_exactly_like_generated_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let g = golden();
    let paths = tmp.path().join("paths.parquet");
    ok(&msr(&[
        "paths",
        "--num-paths",
        "6",
        "--seed",
        "7",
        "--out",
        s(&paths),
    ]));
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    let loans = g.join("loans_60.parquet");
    ok(&msr(&[
        "value",
        "--loans",
        s(&loans),
        "--num-paths",
        "6",
        "--seed",
        "7",
        "--out",
        s(&a),
        "-q",
        "--export-paths",
    ]));
    ok(&msr(&[
        "value",
        "--loans",
        s(&loans),
        "--rate-paths",
        s(&paths),
        "--out",
        s(&b),
        "-q",
    ]));
    assert_eq!(fingerprint(&a), fingerprint(&b));
    // --export-paths writes the paths used, identical to `msr paths`.
    assert_eq!(
        std::fs::read(&paths).unwrap(),
        std::fs::read(a.join("paths.parquet")).unwrap()
    );
}

#[test]
fn validate_counts_and_writes_rejects() {
    let tmp = tempfile::tempdir().unwrap();
    let mut loans = msr_io::generate_book(50, 5);
    loans[7].upb = -1.0;
    loans[9].note_rate = f64::NAN;
    let tape = tmp.path().join("bad.parquet");
    write_tape(&tape, &loans, TapeWriteOptions::default()).unwrap();
    let rejects = tmp.path().join("rejects.csv");
    let out = msr(&["validate", "--loans", s(&tape), "--rejects", s(&rejects)]);
    // 2 of 50 rejected = 4 % > the 1 % default threshold: exit 5, after reporting.
    assert_eq!(out.status.code(), Some(5));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("50 rows read = 48 valid + 2 rejected"),
        "{stdout}"
    );
    let text = std::fs::read_to_string(&rejects).unwrap();
    assert!(text.starts_with("row,loan_id,column,value,rule"));
    assert!(
        text.contains(",upb,") && text.contains(",note_rate,"),
        "{text}"
    );
}

#[test]
fn bad_inputs_give_one_line_errors_and_documented_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("tape.parquet");
    std::fs::write(&csv, "loan_id,upb\nA,1\n").unwrap();
    let bad_config = tmp.path().join("bad.toml");
    std::fs::write(&bad_config, "[prepay]\nturnover = 0.1\n").unwrap();
    let out_dir = tmp.path().join("o");
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec![
                "value",
                "--loans",
                "no/such/file.parquet",
                "--out",
                s(&out_dir),
            ],
            3,
            "no/such/file.parquet",
        ),
        (
            vec!["value", "--loans", s(&csv), "--out", s(&out_dir)],
            3,
            "Parquet",
        ),
        (
            vec!["value", "--config", s(&bad_config), "--out", s(&out_dir)],
            3,
            "turnover",
        ),
        (vec!["value", "--num-paths", "lots"], 2, "lots"),
        (vec!["value", "--frobnicate"], 2, "frobnicate"),
    ];
    for (args, code, needle) in cases {
        let out = msr(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
            "{stderr}"
        );
        if code == 3 {
            assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        }
    }
    assert!(
        !out_dir.join("summary.json").exists(),
        "a failed run writes no outputs"
    );
}

#[test]
fn unwritable_output_directory_is_an_output_error() {
    let tmp = tempfile::tempdir().unwrap();
    let blocker = tmp.path().join("file");
    std::fs::write(&blocker, "x").unwrap();
    let g = golden();
    let out = msr(&[
        "value",
        "--loans",
        s(&g.join("loans_60.parquet")),
        "--num-paths",
        "2",
        "--out",
        s(&blocker.join("sub")),
    ]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A generated book with two extra columns (`pool_id`, `custodian`), valued
/// with `extra` flags into a fresh directory.
fn value_with_pools(extra: &[&str]) -> (tempfile::TempDir, Vec<msr_core::Loan>, Output) {
    let tmp = tempfile::tempdir().unwrap();
    let tape = tmp.path().join("pools.parquet");
    let loans = msr_io::generate_book(400, 23);
    let pools: Vec<String> = (0..loans.len()).map(|k| format!("P{}", k % 7)).collect();
    let custodians: Vec<String> = (0..loans.len())
        .map(|k| ["BNY", "US Bank, N.A."][k % 2].to_string())
        .collect();
    msr_io::write_tape_with_extra(
        &tape,
        &loans,
        &[("pool_id", pools), ("custodian", custodians)],
        TapeWriteOptions::default(),
    )
    .unwrap();
    let out_dir = tmp.path().join("out");
    let mut args = vec![
        "value",
        "--loans",
        s(&tape),
        "--num-paths",
        "8",
        "--quiet",
        "--out",
        s(&out_dir),
    ];
    args.extend_from_slice(extra);
    let out = msr(&args);
    (tmp, loans, out)
}

/// Σ of column `k` over CSV rows (fields split on commas outside quotes).
fn column_sum(rows: &[Vec<String>], k: usize) -> f64 {
    rows.iter().map(|r| r[k].parse::<f64>().unwrap()).sum()
}

fn csv_rows(text: &str) -> (String, Vec<Vec<String>>) {
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_string();
    let rows = lines
        .map(|l| {
            let mut fields = vec![String::new()];
            let mut quoted = false;
            for c in l.chars() {
                match c {
                    '"' => quoted = !quoted,
                    ',' if !quoted => fields.push(String::new()),
                    c => fields.last_mut().unwrap().push(c),
                }
            }
            fields
        })
        .collect();
    (header, rows)
}

#[test]
fn marks_csv_totals_equal_the_summary_totals() {
    let (tmp, loans, out) = value_with_pools(&[]);
    ok(&out);
    let dir = tmp.path().join("out");
    let summary = json(&dir.join("summary.json"));
    let (header, rows) = csv_rows(&std::fs::read_to_string(dir.join("marks.csv")).unwrap());
    assert_eq!(
        header,
        "as_of,loan_id,investor,upb,fair_value,value_bps,multiple,method,paths,oas,run_id"
    );
    assert_eq!(rows.len(), loans.len());
    assert_eq!(summary["loans_valued"], loans.len());
    for (k, key) in [(3, "upb"), (4, "value")] {
        let (marks, total) = (column_sum(&rows, k), summary[key].as_f64().unwrap());
        assert!(
            (marks - total).abs() < 0.005,
            "{key}: marks {marks} vs summary {total}"
        );
    }
    // No group file without --group-by.
    assert!(std::fs::read_dir(&dir).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with("marks_by")));
}

#[test]
fn group_by_marks_add_up_to_the_summary_totals() {
    let (tmp, loans, out) = value_with_pools(&["--group-by", "pool_id"]);
    ok(&out);
    let dir = tmp.path().join("out");
    let summary = json(&dir.join("summary.json"));
    let manifest = json(&dir.join("manifest.json"));
    let (header, rows) =
        csv_rows(&std::fs::read_to_string(dir.join("marks_by_pool_id.csv")).unwrap());
    assert_eq!(
        header,
        "as_of,pool_id,loans,upb,fair_value,value_bps,multiple,method,paths,oas,run_id"
    );
    let groups: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(groups, ["P0", "P1", "P2", "P3", "P4", "P5", "P6"]);
    let loans_in_groups: u64 = rows.iter().map(|r| r[2].parse::<u64>().unwrap()).sum();
    assert_eq!(loans_in_groups, summary["loans_valued"].as_u64().unwrap());
    assert_eq!(rows[0][2], "58", "400 loans over 7 pools: P0 has 58");
    for (k, key) in [(3, "upb"), (4, "value")] {
        let (groups, total) = (column_sum(&rows, k), summary[key].as_f64().unwrap());
        assert!(
            (groups - total).abs() < 0.005,
            "{key}: groups {groups} vs summary {total}"
        );
    }
    for r in &rows {
        let (upb, value): (f64, f64) = (r[3].parse().unwrap(), r[4].parse().unwrap());
        let bps: f64 = r[5].parse().unwrap();
        assert!((bps - 1e4 * value / upb).abs() < 1e-9 * bps.abs().max(1.0));
        assert_eq!(r[0], "2026-11-30");
        assert_eq!(r[7], "loan-level OAS");
        assert_eq!(r[8], "8");
        assert_eq!(r[10], manifest["run_id"].as_str().unwrap());
    }
    // Each group's total is the sum of its loans' marks.
    let (_, marks) = csv_rows(&std::fs::read_to_string(dir.join("marks.csv")).unwrap());
    let index: std::collections::HashMap<&str, usize> = loans
        .iter()
        .enumerate()
        .map(|(k, l)| (l.loan_id.as_str(), k))
        .collect();
    let p3: f64 = marks
        .iter()
        .filter(|m| index[m[1].as_str()] % 7 == 3)
        .map(|m| m[4].parse::<f64>().unwrap())
        .sum();
    assert!((p3 - rows[3][4].parse::<f64>().unwrap()).abs() < 0.005);
    // The column is carried into loan_values.parquet, loan by loan.
    let values = read_table(dir.join("loan_values.parquet")).unwrap();
    let ids = values.text("loan_id").unwrap();
    let pools = values.text("pool_id").unwrap();
    for (id, pool) in ids.iter().zip(pools) {
        let k = loans.iter().position(|l| &l.loan_id == id).unwrap();
        assert_eq!(pool, &format!("P{}", k % 7));
    }

    // A text value with a comma is quoted; the file name is the column's.
    let (tmp, _, out) = value_with_pools(&["--group-by", "custodian"]);
    ok(&out);
    let text =
        std::fs::read_to_string(tmp.path().join("out").join("marks_by_custodian.csv")).unwrap();
    assert!(
        text.lines()
            .nth(2)
            .unwrap()
            .starts_with("2026-11-30,\"US Bank, N.A.\",200,"),
        "{text}"
    );
}

#[test]
fn group_by_needs_an_existing_string_or_integer_column_and_no_shard() {
    let cases: Vec<(Vec<&str>, i32, Vec<&str>)> = vec![
        (
            vec!["--group-by", "facility"],
            3,
            vec!["`facility`", "pools.parquet", "pool_id"],
        ),
        (
            vec!["--group-by", "upb"],
            3,
            vec!["`upb`", "pools.parquet", "a string or an integer"],
        ),
        (
            vec!["--group-by", "pool_id", "--shard", "0/2"],
            2,
            vec!["--group-by", "--shard"],
        ),
        (vec!["--group-by", ""], 2, vec!["empty"]),
    ];
    for (flags, code, needles) in cases {
        let (tmp, _, out) = value_with_pools(&flags);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{flags:?}: {stderr}");
        for needle in needles {
            assert!(stderr.contains(needle), "{flags:?}: {stderr}");
        }
        if code == 3 {
            assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        }
        assert!(!tmp.path().join("out").join("summary.json").exists());
    }
}

/// `--no-cashflows` skips the projection but not a single bit of the marks:
/// loan_values.parquet, marks.csv and the totals equal a full run's, and a
/// stale cashflows.parquet of an earlier run in the same directory is removed.
#[test]
fn no_cashflows_gives_the_same_marks() {
    let tmp = tempfile::tempdir().unwrap();
    let tape = tmp.path().join("loans.parquet");
    msr_io::write_book(&tape, &msr_io::generate_book(40, 17), 1000).unwrap();
    let full = tmp.path().join("full");
    let marks_only = tmp.path().join("marks_only");
    for (dir, extra) in [(&full, None), (&marks_only, Some("--no-cashflows"))] {
        let mut args = vec![
            "value",
            "--loans",
            tape.to_str().unwrap(),
            "--num-paths",
            "16",
            "--run-id",
            "same",
            "--quiet",
            "--out",
            dir.to_str().unwrap(),
        ];
        args.extend(extra);
        let out = msr(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(full.join("cashflows.parquet").exists());
    assert!(!marks_only.join("cashflows.parquet").exists());
    let table = |d: &Path| msr_io::read_table(d.join("loan_values.parquet")).unwrap();
    assert_eq!(table(&full), table(&marks_only));
    let read = |d: &Path, f: &str| std::fs::read_to_string(d.join(f)).unwrap();
    assert_eq!(read(&full, "marks.csv"), read(&marks_only, "marks.csv"));
    let summary =
        |d: &Path| -> serde_json::Value { serde_json::from_str(&read(d, "summary.json")).unwrap() };
    let (a, b) = (summary(&full), summary(&marks_only));
    for key in [
        "value",
        "upb",
        "std_error",
        "pv",
        "by_investor",
        "by_dq_status",
    ] {
        assert_eq!(a[key], b[key], "summary.json {key}");
    }
    assert!(b["expected_events"].as_object().unwrap().is_empty());

    // Marks only over a directory that holds a full run: no stale projection.
    let out = msr(&[
        "value",
        "--loans",
        tape.to_str().unwrap(),
        "--num-paths",
        "16",
        "--quiet",
        "--no-cashflows",
        "--out",
        full.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert!(!full.join("cashflows.parquet").exists());
}

/// Run `msr ARGS` from `dir` (not the repository root).
fn msr_in(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_msr"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run msr")
}

/// Outside the repository (issue 25): the built-in defaults apply with no
/// --config, a missing sample tape says what to pass, `msr config
/// --defaults` prints the defaults, and validate leaves the directory alone.
#[test]
fn msr_runs_from_any_directory_on_its_built_in_defaults() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path().join("elsewhere");
    std::fs::create_dir(&cwd).unwrap();
    let tape = tmp.path().join("book.parquet");
    let loans = msr_io::generate_book(20, 25);
    msr_io::write_tape(&tape, &loans, TapeWriteOptions::default()).unwrap();

    // No --config: the built-in defaults, recorded as such.
    let out = tmp.path().join("o");
    let run = msr_in(
        &cwd,
        &[
            "value",
            "--loans",
            s(&tape),
            "--num-paths",
            "4",
            "--quiet",
            "--out",
            s(&out),
        ],
    );
    ok(&run);
    let manifest = json(&out.join("manifest.json"));
    assert_eq!(manifest["inputs"]["config"]["path"], "built-in");
    // The same numbers as configs/default.toml (the documented copy).
    let out2 = tmp.path().join("o2");
    let config = msr_testkit::repo_root().join("configs/default.toml");
    ok(&msr_in(
        &cwd,
        &[
            "value",
            "--loans",
            s(&tape),
            "--config",
            s(&config),
            "--num-paths",
            "4",
            "--quiet",
            "--out",
            s(&out2),
        ],
    ));
    assert_eq!(
        std::fs::read(out.join("loan_values.parquet")).unwrap(),
        std::fs::read(out2.join("loan_values.parquet")).unwrap()
    );

    // No --loans where the sample is not: a usage error saying what to pass.
    let run = msr_in(&cwd, &["value", "--num-paths", "2", "--out", s(&out)]);
    assert_eq!(run.status.code(), Some(2));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("pass --loans FILE"), "{err}");

    // msr config --defaults prints the built-in defaults: they read back as
    // Config::default() and as configs/default.toml.
    let run = msr_in(&cwd, &["config", "--defaults"]);
    ok(&run);
    let text = String::from_utf8(run.stdout).unwrap();
    let printed = msr_core::Config::from_toml_str(&text).unwrap();
    assert_eq!(printed, msr_core::Config::default());
    let documented =
        msr_core::Config::from_toml_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    assert_eq!(printed, documented);

    // validate writes nothing in the current directory unless asked.
    ok(&msr_in(&cwd, &["validate", "--loans", s(&tape)]));
    assert_eq!(std::fs::read_dir(&cwd).unwrap().count(), 0);
}
