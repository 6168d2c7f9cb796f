//! `msr import` end to end: import the Freddie Mac, Fannie Mae and CSV
//! fixtures of msr-io, then value the imported tape with `msr value`. Each
//! test runs in its own temporary directory.

use std::process::Output;

use crate::support;
use support::{json, msr, repo, s};

fn fixture(name: &str) -> String {
    let path = repo()
        .join("crates/msr-io/tests/fixtures/import")
        .join(name);
    assert!(path.exists(), "fixture {} missing", path.display());
    path.to_str().unwrap().to_string()
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn imported_freddie_sample_values_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let tape = tmp.path().join("freddie.parquet");
    let rejects = tmp.path().join("freddie_rejects.csv");
    let out = msr(&[
        "import",
        "freddie",
        "--origination",
        &fixture("freddie_orig_r46.txt"),
        "--performance",
        &fixture("freddie_perf_r46.txt"),
        "--as-of",
        "202406",
        "--out",
        s(&tape),
        "--rejects",
        s(&rejects),
        "--max-reject-share",
        "1",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("imported 11 Freddie Mac loans (FHLMC) as of 202406"),
        "{stdout}"
    );
    assert!(
        stdout.contains("skipped 13 loans not active at the as-of month"),
        "{stdout}"
    );
    assert!(
        stdout.contains("2  zero balance code 01 (prepaid or matured)"),
        "{stdout}"
    );
    assert!(stdout.contains("rejected 8 records"), "{stdout}");
    assert_eq!(msr_io::read_rejects(&rejects).unwrap().len(), 8);

    let values = tmp.path().join("values");
    let out = msr(&[
        "value",
        "--loans",
        s(&tape),
        "--num-paths",
        "4",
        "--out",
        s(&values),
        "--quiet",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let summary = json(&values.join("summary.json"));
    assert_eq!(summary["loans_read"], 11);
    assert_eq!(summary["loans_valued"], 11);
    assert_eq!(summary["rejected_rows"], 0);
    assert!(summary["value"].as_f64().unwrap().is_finite());
}

#[test]
fn too_many_rejects_exit_5_after_writing_the_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let tape = tmp.path().join("fannie.parquet");
    let out = msr(&[
        "import",
        "fannie",
        "--performance",
        &fixture("fannie_perf.txt"),
        "--as-of",
        "202406",
        "--out",
        s(&tape),
        "--quiet",
    ]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("30.77 % of the active records rejected"),
        "{stderr}"
    );
    assert!(tape.exists());
    let default_rejects = tmp.path().join("fannie.rejects.csv");
    assert_eq!(msr_io::read_rejects(&default_rejects).unwrap().len(), 4);

    let values = tmp.path().join("values");
    let out = msr(&[
        "value",
        "--loans",
        s(&tape),
        "--num-paths",
        "4",
        "--out",
        s(&values),
        "--quiet",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(json(&values.join("summary.json"))["loans_valued"], 9);
}

#[test]
fn csv_tape_imports_through_its_mapping() {
    let tmp = tempfile::tempdir().unwrap();
    let tape = tmp.path().join("servicer.parquet");
    let out = msr(&[
        "import",
        "csv",
        "--mapping",
        &fixture("servicer_mapping.toml"),
        "--input",
        &fixture("servicer_tape.csv"),
        "--out",
        s(&tape),
        "--max-reject-share",
        "1",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let out = msr(&[
        "validate",
        "--loans",
        s(&tape),
        "--rejects",
        s(&tmp.path().join("v.csv")),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("5 rows read = 5 valid + 0 rejected"));
}

#[test]
fn bad_input_and_flags_have_their_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let tape = tmp.path().join("t.parquet");
    // The wrong file for the layout: bad input, exit 3, no tape.
    let out = msr(&[
        "import",
        "fannie",
        "--performance",
        &fixture("freddie_perf_r46.txt"),
        "--as-of",
        "202406",
        "--out",
        s(&tape),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1: 32 fields"));
    assert!(!tape.exists());
    // A month that is not YYYYMM: usage, exit 2.
    let out = msr(&[
        "import",
        "fannie",
        "--performance",
        &fixture("fannie_perf.txt"),
        "--as-of",
        "2024-06",
        "--out",
        s(&tape),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    // A servicing fee out of range: usage, exit 2.
    let out = msr(&[
        "import",
        "fannie",
        "--performance",
        &fixture("fannie_perf.txt"),
        "--as-of",
        "202406",
        "--servicing-fee",
        "0.5",
        "--out",
        s(&tape),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}
