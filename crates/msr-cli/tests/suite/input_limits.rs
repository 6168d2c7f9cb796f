//! Issue 28, the input side end to end: `msr import` commits its tape and
//! rejects file together (or not at all) and leaves no temporary files; an
//! import that yields no loans exits 3; a configuration read from an
//! endless source stops at its size bound. Each test runs in its own
//! temporary directory.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support;
use support::{msr, msr_with_file_limit, repo, s};

fn fixture(name: &str) -> PathBuf {
    repo()
        .join("crates/msr-io/tests/fixtures/import")
        .join(name)
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn import_csv(input: &Path, tape: &Path, rejects: &Path) -> Vec<String> {
    [
        "import",
        "csv",
        "--mapping",
        s(&fixture("servicer_mapping.toml")),
        "--input",
        s(input),
        "--out",
        s(tape),
        "--rejects",
        s(rejects),
        "--max-reject-share",
        "1",
        "--quiet",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect()
}

/// Names in `dir` that look like temporary or staging files.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect()
}

/// A servicer CSV of one good row and `bad` rows rejected for their
/// balance, with long loan ids: a rejects file far larger than the tape.
fn mostly_rejects(path: &Path, bad: usize) {
    let whole = std::fs::read_to_string(fixture("servicer_tape.csv")).unwrap();
    let mut lines = whole.lines();
    let header = lines.next().unwrap();
    let row = lines.next().unwrap();
    let balance = header
        .split(',')
        .position(|h| h == "CurrentBalance")
        .unwrap();
    let mut out = format!("{header}\n{row}\n");
    for i in 0..bad {
        let mut f: Vec<String> = row.split(',').map(str::to_string).collect();
        f[0] = format!("BAD-{i:06}-{}", "x".repeat(200));
        f[balance] = "not-a-number".into();
        out.push_str(&f.join(","));
        out.push('\n');
    }
    std::fs::write(path, out).unwrap();
}

#[test]
fn a_failed_import_leaves_the_old_tape_and_rejects_pair_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("book");
    std::fs::create_dir(&dir).unwrap();
    let tape = dir.join("servicer.parquet");
    let rejects = dir.join("servicer.rejects.csv");

    // The old pair: the fixture's import.
    let out = msr(&import_csv(&fixture("servicer_tape.csv"), &tape, &rejects)
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    assert!(out.status.success(), "{}", text(&out));
    let old = (
        std::fs::read(&tape).unwrap(),
        std::fs::read(&rejects).unwrap(),
    );

    // A new import whose rejects file (about 700 kB, less than the writer's
    // 1 MiB buffer, so it is written out only when it is finished) cannot be written
    // under a 512 KiB file-size limit, though its tape (one loan) can.
    let input = tmp.path().join("mostly_rejects.csv");
    mostly_rejects(&input, 2500);
    let run = msr_with_file_limit(512, &import_csv(&input, &tape, &rejects));
    assert_eq!(run.status.code(), Some(4), "{}", text(&run));
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("File too large"),
        "{}",
        text(&run)
    );
    assert_eq!(
        (
            std::fs::read(&tape).unwrap(),
            std::fs::read(&rejects).unwrap()
        ),
        old,
        "the old tape and rejects file must stay, both"
    );
    assert_eq!(leftovers(&dir), Vec::<String>::new());

    // The rejects target is a directory: refused before anything is
    // written, the old tape untouched, nothing left behind.
    let rejects_dir = dir.join("rejects_dir.csv");
    std::fs::create_dir(&rejects_dir).unwrap();
    let run = msr(&import_csv(&input, &tape, &rejects_dir)
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    assert_eq!(run.status.code(), Some(4), "{}", text(&run));
    assert!(
        std::fs::read(&tape).unwrap() == old.0,
        "the old tape changed"
    );
    assert_eq!(leftovers(&dir), Vec::<String>::new());

    // Without the limit the same import commits both, together.
    let run = msr(&import_csv(&input, &tape, &rejects)
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    assert!(run.status.success(), "{}", text(&run));
    assert_eq!(msr_io::read_rejects(&rejects).unwrap().len(), 2500);
    assert!(
        std::fs::read(&tape).unwrap() != old.0,
        "the tape was not replaced"
    );
    assert_eq!(leftovers(&dir), Vec::<String>::new());
}

#[test]
fn imports_that_yield_no_loans_exit_3_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let tape = tmp.path().join("t.parquet");
    let rejects = tmp.path().join("t.rejects.csv");
    let header_only = tmp.path().join("header_only.csv");
    let whole = std::fs::read_to_string(fixture("servicer_tape.csv")).unwrap();
    std::fs::write(&header_only, format!("{}\n", whole.lines().next().unwrap())).unwrap();
    let out = msr(&import_csv(&header_only, &tape, &rejects)
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("no loans imported: the file has a header row and no data rows"),
        "{}",
        text(&out)
    );
    assert!(!tape.exists() && !rejects.exists());

    // A Fannie file and an as-of month it has no record for.
    let out = msr(&[
        "import",
        "fannie",
        "--performance",
        s(&fixture("fannie_perf.txt")),
        "--as-of",
        "201501",
        "--out",
        s(&tape),
        "--quiet",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no record for the as-of month 201501: the file's 68 records cover"),
        "{stderr}"
    );
    assert!(!tape.exists());
    assert_eq!(leftovers(tmp.path()), Vec::<String>::new());
}

#[test]
fn a_file_cut_mid_line_exits_3_naming_the_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let perf = tmp.path().join("perf_cut.txt");
    let whole = std::fs::read(fixture("freddie_perf_r46.txt")).unwrap();
    let lines = whole.iter().filter(|&&b| b == b'\n').count();
    std::fs::write(&perf, &whole[..whole.len() - 3]).unwrap();
    let tape = tmp.path().join("t.parquet");
    let out = msr(&[
        "import",
        "freddie",
        "--origination",
        s(&fixture("freddie_orig_r46.txt")),
        "--performance",
        s(&perf),
        "--as-of",
        "202406",
        "--out",
        s(&tape),
        "--max-reject-share",
        "1",
        "--quiet",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "perf_cut.txt: line {lines}: the last line has no line ending"
        )),
        "{stderr}"
    );
    assert!(!tape.exists());
}

#[test]
fn a_config_from_an_endless_source_stops_at_its_size_bound() {
    let tmp = tempfile::tempdir().unwrap();
    let out = msr(&[
        "value",
        "--loans",
        s(&repo().join("tests/corpus/tapes/valid_20.parquet")),
        "--config",
        "/dev/zero",
        "--out",
        s(&tmp.path().join("o")),
        "--quiet",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("/dev/zero: is larger than 16777216 bytes (16 MiB)"),
        "{stderr}"
    );
    // A mapping file too.
    let out = msr(&[
        "import",
        "csv",
        "--mapping",
        "/dev/zero",
        "--input",
        s(&fixture("servicer_tape.csv")),
        "--out",
        s(&tmp.path().join("t.parquet")),
        "--quiet",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("/dev/zero: is larger than 16777216 bytes"),
        "{}",
        text(&out)
    );
}
