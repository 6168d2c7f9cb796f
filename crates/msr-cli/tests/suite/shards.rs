//! Sharded runs end to end: `msr value --shard K/N` and `msr risk --shard
//! K/N` as separate processes, then `msr merge`, must give bit-identical
//! outputs to the unsharded run; and every reason to refuse a merge has its
//! test (exit 3, one line).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use msr_io::{read_table, write_tape, TableColumn, TapeWriteOptions};

use crate::support;
use support::{json, msr, ok, repo, s};

/// Common flags of every valuation in these tests.
const RUN: [&str; 5] = ["--num-paths", "16", "--quiet", "--run-id", "nightly-test"];

/// A 200-row tape in row groups of `rows_per_group`, with one duplicated
/// loan_id (rows 5 and 150: both rejected) so rejects.csv is not empty.
fn tape(dir: &Path, name: &str, loans: usize, rows_per_group: usize, seed: u64) -> PathBuf {
    let mut book = msr_io::generate_book(loans, seed);
    if loans > 150 {
        book[150].loan_id = book[5].loan_id.clone();
    }
    let path = dir.join(name);
    write_tape(
        &path,
        &book,
        TapeWriteOptions {
            max_row_group_rows: rows_per_group,
        },
    )
    .unwrap();
    path
}

fn value(tape: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["value", "--loans", s(tape), "--out", s(out)];
    args.extend(RUN);
    args.extend(extra);
    msr(&args)
}

/// Run every shard of `n` as its own process (in parallel), then the merge.
fn sharded(tape: &Path, root: &Path, n: u32) -> PathBuf {
    sharded_command("value", tape, root, n)
}

/// [`sharded`] for `command` (`value` or `risk`).
fn sharded_command(command: &str, tape: &Path, root: &Path, n: u32) -> PathBuf {
    let parts: Vec<PathBuf> = (0..n)
        .map(|k| root.join(format!("{command}-parts{n}/{k}")))
        .collect();
    let children: Vec<_> = parts
        .iter()
        .enumerate()
        .map(|(k, dir)| {
            let shard = format!("{k}/{n}");
            let mut args = vec![
                command,
                "--loans",
                s(tape),
                "--out",
                s(dir),
                "--shard",
                &shard,
            ];
            args.extend(RUN);
            args.extend(["--threads", "1"]);
            Command::new(env!("CARGO_BIN_EXE_msr"))
                .args(&args)
                .current_dir(repo())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn shard")
        })
        .collect();
    for child in children {
        ok(&child.wait_with_output().unwrap());
    }
    let merged = root.join(format!("{command}-merged{n}"));
    let mut args = vec!["merge", "--out", s(&merged), "--quiet"];
    // Any order: the merge sorts by shard.
    args.extend(parts.iter().rev().map(|p| s(p)));
    ok(&msr(&args));
    merged
}

/// A table's columns with floats as bit patterns (nulls as `None`).
fn bits(path: &Path) -> Vec<(String, Vec<String>)> {
    let t = read_table(path).unwrap();
    t.names
        .iter()
        .map(|name| {
            let values = match &t.columns[name] {
                TableColumn::Text(v) => v.clone(),
                TableColumn::Number(v) => v
                    .iter()
                    .map(|x| format!("{:?}", x.map(f64::to_bits)))
                    .collect(),
                other => panic!("unexpected column {other:?}"),
            };
            (name.clone(), values)
        })
        .collect()
}

/// summary.json without what may differ (timings, throughput, threads).
fn summary_without_timings(dir: &Path) -> String {
    let mut v = json(&dir.join("summary.json"));
    let m = v.as_object_mut().unwrap();
    for key in ["timings", "loan_path_months_per_second", "threads"] {
        assert!(m.remove(key).is_some(), "summary.json lacks {key}");
    }
    serde_json::to_string_pretty(&v).unwrap()
}

fn assert_same_outputs(unsharded: &Path, merged: &Path) {
    for table in ["loan_values.parquet", "cashflows.parquet"] {
        let (a, b) = (bits(&unsharded.join(table)), bits(&merged.join(table)));
        assert_eq!(a.len(), b.len(), "{table}: columns");
        for ((name, x), (name2, y)) in a.iter().zip(&b) {
            assert_eq!(name, name2, "{table}: column order");
            assert_eq!(x, y, "{table}: column {name} differs");
        }
    }
    assert_eq!(
        summary_without_timings(unsharded),
        summary_without_timings(merged)
    );
    for file in ["rejects.csv", "marks.csv"] {
        let (a, b) = (
            std::fs::read_to_string(unsharded.join(file)).unwrap(),
            std::fs::read_to_string(merged.join(file)).unwrap(),
        );
        assert_eq!(a, b, "{file} differs");
    }
    let (a, b) = (
        json(&unsharded.join("manifest.json")),
        json(&merged.join("manifest.json")),
    );
    for key in [
        "run_id",
        "seed",
        "num_paths",
        "oas",
        "inputs",
        "rate_paths",
        "resolved_config",
    ] {
        assert_eq!(a[key], b[key], "manifest.json: {key}");
    }
    let names = |d: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(unsharded), names(merged), "the same files");
}

#[test]
fn merged_shards_are_bit_identical_to_the_unsharded_run() {
    let tmp = tempfile::tempdir().unwrap();
    // 200 rows in 7 row groups (6 of 30, 1 of 20): 1 and 7 shards are cut by
    // row group; for 3, whole groups would give 90/60/50 rows, so rows are cut.
    let tape = tape(tmp.path(), "tape.parquet", 200, 30, 11);
    let whole = tmp.path().join("whole");
    ok(&value(&tape, &whole, &[]));
    let summary = json(&whole.join("summary.json"));
    assert_eq!(
        summary["rejected_rows"], 2,
        "the duplicated loan_id is rejected twice"
    );
    for (n, by) in [(1, "row_groups"), (3, "rows"), (7, "row_groups")] {
        let merged = sharded(&tape, tmp.path(), n);
        assert_same_outputs(&whole, &merged);
        let manifest = json(&merged.join("manifest.json"));
        assert_eq!(manifest["merged_from"]["shards"], n);
        let first = &manifest["merged_from"]["partials"][0]["manifest"];
        assert_eq!(first["shard"]["by"], by, "{n} shards");
    }
}

#[test]
fn fewer_row_groups_than_shards_falls_back_to_row_ranges() {
    let tmp = tempfile::tempdir().unwrap();
    // 2 row groups, 5 shards: each shard keeps a range of rows.
    let tape = tape(tmp.path(), "tape.parquet", 200, 100, 12);
    let whole = tmp.path().join("whole");
    ok(&value(&tape, &whole, &[]));
    let merged = sharded(&tape, tmp.path(), 5);
    assert_same_outputs(&whole, &merged);
    let manifest = json(&merged.join("manifest.json"));
    let parts = manifest["merged_from"]["partials"].as_array().unwrap();
    assert!(parts.iter().all(|p| p["manifest"]["shard"]["by"] == "rows"));
    assert_eq!(
        parts[2]["manifest"]["shard"]["rows"],
        serde_json::json!({"start": 80, "end": 120})
    );

    // 3 rows, 5 shards: some shards are empty, the merge is still exact.
    let small = tape_small(tmp.path());
    let whole = tmp.path().join("whole_small");
    ok(&value(&small, &whole, &[]));
    let merged = sharded(&small, &tmp.path().join("small"), 5);
    assert_same_outputs(&whole, &merged);
}

fn tape_small(dir: &Path) -> PathBuf {
    tape(dir, "small.parquet", 3, 10, 13)
}

/// Run the merge and expect a refusal: exit 3 and a one-line message containing `want`.
fn refused(args: &[&Path], out: &Path, want: &str) {
    let mut argv = vec!["merge", "--out", s(out)];
    argv.extend(args.iter().map(|p| s(p)));
    let before = std::fs::read(out.join("manifest.json")).ok();
    let o = msr(&argv);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "stderr: {stderr}");
    assert!(stderr.contains(want), "expected `{want}` in: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    let after = std::fs::read(out.join("manifest.json")).ok();
    assert_eq!(before, after, "a refused merge writes nothing");
}

/// Shard `k/n` of `tape` into `root/name`.
fn shard(tape: &Path, root: &Path, name: &str, k: u32, n: u32, extra: &[&str]) -> PathBuf {
    let dir = root.join(name);
    let spec = format!("{k}/{n}");
    let mut flags = vec!["--shard", spec.as_str()];
    flags.extend(extra);
    ok(&value(tape, &dir, &flags));
    dir
}

#[test]
fn merge_refuses_partials_of_different_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let out = root.join("merged");
    let a = tape(root, "a.parquet", 40, 10, 21);
    let b = tape(root, "b.parquet", 40, 10, 22);
    let p0 = shard(&a, root, "p0", 0, 2, &["--export-paths"]);
    let p1 = shard(&a, root, "p1", 1, 2, &[]);

    // The pair itself merges.
    ok(&msr(&[
        "merge",
        "--quiet",
        "--out",
        s(&root.join("good")),
        s(&p0),
        s(&p1),
    ]));
    assert!(
        root.join("good/paths.parquet").exists(),
        "shard 0's exported paths are copied"
    );

    let other_tape = shard(&b, root, "tape1", 1, 2, &[]);
    refused(&[&p0, &other_tape], &out, "partials disagree on the tape");

    let config2 = root.join("config2.toml");
    let text = std::fs::read_to_string(repo().join("configs/default.toml")).unwrap();
    std::fs::write(&config2, format!("{text}\n# a different file\n")).unwrap();
    let other_config = shard(&a, root, "config1", 1, 2, &["--config", s(&config2)]);
    refused(
        &[&p0, &other_config],
        &out,
        "partials disagree on the config file",
    );

    let other_seed = shard(&a, root, "seed1", 1, 2, &["--seed", "7"]);
    refused(&[&p0, &other_seed], &out, "partials disagree on the seed");

    let other_oas = shard(&a, root, "oas1", 1, 2, &["--oas", "0.07"]);
    refused(
        &[&p0, &other_oas],
        &out,
        "partials disagree on the resolved config",
    );

    // RUN's --run-id comes first (a second one is a usage error).
    let other_run = root.join("run1");
    ok(&msr(&[
        "value",
        "--loans",
        s(&a),
        "--out",
        s(&other_run),
        "--shard",
        "1/2",
        "--num-paths",
        "16",
        "--quiet",
        "--run-id",
        "another",
    ]));
    refused(&[&p0, &other_run], &out, "partials disagree on the run id");

    let other_count = shard(&a, root, "count1", 1, 3, &[]);
    refused(
        &[&p0, &other_count],
        &out,
        "partials disagree on the shard count",
    );
}

#[test]
fn merge_refuses_a_different_path_count_or_source() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let out = root.join("merged");
    let a = tape(root, "a.parquet", 40, 10, 23);
    let p0 = shard(&a, root, "p0", 0, 2, &["--export-paths"]);
    // RUN's --num-paths 16 comes first; a second --num-paths would be a usage
    // error, so run this shard without the common flags.
    let o = msr(&[
        "value",
        "--loans",
        s(&a),
        "--out",
        s(&root.join("paths1")),
        "--shard",
        "1/2",
        "--num-paths",
        "8",
        "--quiet",
        "--run-id",
        "nightly-test",
    ]);
    ok(&o);
    refused(
        &[&p0, &root.join("paths1")],
        &out,
        "partials disagree on the path count",
    );

    // The same 16 paths, read from a file instead of generated.
    let o = msr(&[
        "value",
        "--loans",
        s(&a),
        "--out",
        s(&root.join("file1")),
        "--shard",
        "1/2",
        "--rate-paths",
        s(&p0.join("paths.parquet")),
        "--quiet",
        "--run-id",
        "nightly-test",
    ]);
    ok(&o);
    refused(
        &[&p0, &root.join("file1")],
        &out,
        "partials disagree on the path source",
    );
}

#[test]
fn merge_refuses_duplicate_missing_or_incomplete_shards() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let out = root.join("merged");
    let a = tape(root, "a.parquet", 60, 10, 31);
    let p: Vec<PathBuf> = (0..3)
        .map(|k| shard(&a, root, &format!("p{k}"), k, 3, &[]))
        .collect();

    let copy = root.join("p1-again");
    std::fs::create_dir(&copy).unwrap();
    for e in std::fs::read_dir(&p[1]).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), copy.join(e.file_name())).unwrap();
    }
    refused(&[&p[0], &p[1], &copy, &p[2]], &out, "shard 1/3 given twice");
    refused(&[&p[2], &p[0]], &out, "missing shard(s) 1 of 3");

    // Incomplete: no completion marker (the shard died before the end).
    let dead = root.join("dead");
    std::fs::create_dir(&dead).unwrap();
    for e in std::fs::read_dir(&p[1]).unwrap() {
        let e = e.unwrap();
        if e.file_name() != "manifest.json" {
            std::fs::copy(e.path(), dead.join(e.file_name())).unwrap();
        }
    }
    refused(
        &[&p[0], &dead, &p[2]],
        &out,
        "incomplete partial: no manifest.json",
    );

    // Incomplete: a file missing, or changed after the shard finished.
    std::fs::remove_file(copy.join("loan_values.parquet")).unwrap();
    refused(
        &[&p[0], &copy, &p[2]],
        &out,
        "incomplete partial: loan_values.parquet is missing",
    );
    let sums = std::fs::read_to_string(p[1].join("partial.json")).unwrap();
    std::fs::write(p[1].join("partial.json"), &sums[..sums.len() / 2]).unwrap();
    refused(
        &[&p[0], &p[1], &p[2]],
        &out,
        "incomplete partial: partial.json has sha256",
    );

    // Not a partial at all: an unsharded result.
    let whole = root.join("whole");
    ok(&value(&a, &whole, &[]));
    refused(&[&whole], &out, "not a partial");

    // The merge must not overwrite a partial's manifest.
    std::fs::write(p[1].join("partial.json"), sums).unwrap();
    refused(
        &[&p[0], &p[1], &p[2]],
        &p[1],
        "--out is a partial directory",
    );
    ok(&msr(&[
        "merge",
        "--quiet",
        "--out",
        s(&out),
        s(&p[0]),
        s(&p[1]),
        s(&p[2]),
    ]));
}

/// Copy a partial directory.
fn copy_partial(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Edit a partial's manifest (and keep it well-formed).
fn edit_manifest(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join("manifest.json");
    let mut m = json(&path);
    edit(&mut m);
    std::fs::write(&path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
}

/// The merge trusts no partial's word for what it holds (issue 28, item 6).
#[test]
fn merge_refuses_copied_edited_or_foreign_partials() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let out = root.join("merged");
    let a = tape(root, "a.parquet", 60, 10, 31);
    let p: Vec<PathBuf> = (0..3)
        .map(|k| shard(&a, root, &format!("p{k}"), k, 3, &[]))
        .collect();

    // Shard 1 copied in place of shard 2, its shard block edited to say 2:
    // every file still has the hash its manifest lists.
    let forged = root.join("forged");
    copy_partial(&p[1], &forged);
    let shard2 = json(&p[2].join("manifest.json"))["shard"].clone();
    edit_manifest(&forged, |m| m["shard"] = shard2);
    refused(
        &[&p[0], &p[1], &forged],
        &out,
        "a shard given twice under another shard's name",
    );

    // Sums edited (one more loan, and a richer total), the manifest's hash
    // of partial.json updated to match.
    for (what, edit) in [("records", "records"), ("value", "value")] {
        let edited = root.join(format!("edited-{what}"));
        copy_partial(&p[1], &edited);
        let sums_path = edited.join("partial.json");
        let mut sums = json(&sums_path);
        match edit {
            "records" => {
                let n = sums["total"]["records"].as_u64().unwrap();
                sums["total"]["records"] = (n + 1).into();
            }
            _ => {
                let raw: i128 = sums["total"]["value"].as_str().unwrap().parse().unwrap();
                sums["total"]["value"] = (raw + (1i128 << 60)).to_string().into();
            }
        }
        std::fs::write(&sums_path, serde_json::to_string(&sums).unwrap()).unwrap();
        let sha = msr_io::hash::sha256_file(&sums_path).unwrap();
        edit_manifest(&edited, |m| m["files"]["partial.json"] = sha.into());
        refused(
            &[&p[0], &edited, &p[2]],
            &out,
            "the partial's sums do not match its loan_values.parquet",
        );
    }

    // A matching set of partials of another engine version.
    let others: Vec<PathBuf> = p
        .iter()
        .enumerate()
        .map(|(k, d)| {
            let o = root.join(format!("old{k}"));
            copy_partial(d, &o);
            edit_manifest(&o, |m| m["version"] = "0.0.9".into());
            o
        })
        .collect();
    refused(
        &[&others[0], &others[1], &others[2]],
        &out,
        "written by msr-engine 0.0.9, this binary is",
    );

    // The genuine set still merges.
    ok(&msr(&[
        "merge",
        "--quiet",
        "--out",
        s(&out),
        s(&p[0]),
        s(&p[1]),
        s(&p[2]),
    ]));
}

#[test]
fn shard_flag_is_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tape(tmp.path(), "a.parquet", 5, 10, 41);
    for bad in ["3/3", "0/0", "1", "x/2"] {
        let o = value(&a, &tmp.path().join("o"), &["--shard", bad]);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{bad}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn shards_leave_the_data_checks_to_the_merge() {
    let tmp = tempfile::tempdir().unwrap();
    // 5 of 40 rows rejected (12.5 %, above tape.max_reject_share 1 %), all in shard 0.
    let mut book = msr_io::generate_book(40, 51);
    for loan in &mut book[..5] {
        loan.fico = 200;
    }
    let tape = tmp.path().join("tape.parquet");
    write_tape(
        &tape,
        &book,
        TapeWriteOptions {
            max_row_group_rows: 10,
        },
    )
    .unwrap();
    let whole = tmp.path().join("whole");
    let o = value(&tape, &whole, &[]);
    assert_eq!(
        o.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Each shard succeeds (a scheduler must not retry it) ...
    let parts: Vec<PathBuf> = (0..2)
        .map(|k| shard(&tape, tmp.path(), &format!("p{k}"), k, 2, &[]))
        .collect();
    // ... and the merge writes everything, then exits 5 like the unsharded run.
    let merged = tmp.path().join("merged");
    let o = msr(&[
        "merge",
        "--quiet",
        "--out",
        s(&merged),
        s(&parts[0]),
        s(&parts[1]),
    ]);
    assert_eq!(
        o.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("5 of 40 rows rejected"));
    assert_same_outputs(&whole, &merged);
}

// ---------------------------------------------------------------------------
// msr risk --shard

fn risk(tape: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["risk", "--loans", s(tape), "--out", s(out)];
    args.extend(RUN);
    args.extend(extra);
    msr(&args)
}

/// risk.json without what differs between any two runs: provenance and
/// timings (and the run id, start-time based when unsharded).
fn risk_without_run(dir: &Path) -> String {
    let mut v = json(&dir.join("risk.json"));
    let m = v.as_object_mut().unwrap();
    for key in ["run", "timings"] {
        assert!(m.remove(key).is_some(), "risk.json lacks {key}");
    }
    serde_json::to_string_pretty(&v).unwrap()
}

#[test]
fn merged_risk_shards_are_bit_identical_to_the_unsharded_run() {
    let tmp = tempfile::tempdir().unwrap();
    // 200 rows in groups of 30, one loan_id twice (2 rejects, 1 %): 3
    // shards are cut by rows, 1 and 7 by row group.
    let tape = tape(tmp.path(), "tape.parquet", 200, 30, 31);
    let whole = tmp.path().join("whole");
    ok(&risk(&tape, &whole, &[]));
    let doc = json(&whole.join("risk.json"));
    assert_eq!(doc["rejected_rows"], 2);
    assert_eq!(doc["run_id"], "nightly-test");
    assert!(doc["effective_duration"].as_f64().unwrap().is_finite());
    for n in [1, 3, 7] {
        let merged = sharded_command("risk", &tape, tmp.path(), n);
        assert_eq!(
            risk_without_run(&whole),
            risk_without_run(&merged),
            "{n} shards: risk.json"
        );
        for file in ["risk.csv", "rejects.csv"] {
            assert_eq!(
                std::fs::read_to_string(whole.join(file)).unwrap(),
                std::fs::read_to_string(merged.join(file)).unwrap(),
                "{n} shards: {file}"
            );
        }
        let merged_doc = json(&merged.join("risk.json"));
        assert_eq!(merged_doc["run"]["merged_from"]["shards"], n);
        assert_eq!(merged_doc["run"]["inputs"], doc["run"]["inputs"]);
    }
}

/// `--derivatives tangent`: the shards carry each path's rate derivatives in
/// the base partial, the merge takes the method from them, and the merged
/// outputs are the unsharded run's; a bump shard does not merge with a
/// tangent one.
#[test]
fn tangent_risk_shards_merge_into_the_unsharded_run() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let a = tape(root, "a.parquet", 30, 10, 41);
    let flags = ["--derivatives", "tangent"];
    let whole = root.join("whole");
    ok(&risk(&a, &whole, &flags));
    let doc = json(&whole.join("risk.json"));
    assert_eq!(doc["derivatives"], "tangent");
    assert!(doc["effective_duration_std_error"].as_f64().unwrap() > 0.0);
    for k in doc["key_rate_durations"].as_array().unwrap() {
        assert!(k["value_down"].is_null() && k["value_up"].is_null(), "{k}");
        assert!(k["duration"].as_f64().unwrap().is_finite());
        assert!(k["std_error"].as_f64().unwrap() > 0.0);
    }
    let csv = std::fs::read_to_string(whole.join("risk.csv")).unwrap();
    assert!(!csv.contains("key_rate"), "{csv}");
    let parts: Vec<PathBuf> = (0..2)
        .map(|k| {
            let dir = root.join(format!("t{k}"));
            let spec = format!("{k}/2");
            let mut f = vec!["--shard", spec.as_str()];
            f.extend(flags);
            ok(&risk(&a, &dir, &f));
            dir
        })
        .collect();
    let merged = root.join("merged");
    ok(&msr(&[
        "merge",
        "--quiet",
        "--out",
        s(&merged),
        s(&parts[1]),
        s(&parts[0]),
    ]));
    assert_eq!(risk_without_run(&whole), risk_without_run(&merged));
    assert_eq!(
        csv,
        std::fs::read_to_string(merged.join("risk.csv")).unwrap()
    );
    let bump = root.join("b1");
    ok(&risk(
        &a,
        &bump,
        &["--shard", "1/2", "--derivatives", "bump"],
    ));
    refused(&[&parts[0], &bump], &root.join("mixed"), "risk spec");
}

#[test]
fn merge_refuses_mixed_or_incomplete_risk_partials() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let out = root.join("merged");
    let a = tape(root, "a.parquet", 30, 10, 41);
    let shard_risk = |name: &str, k: u32, n: u32, extra: &[&str]| {
        let dir = root.join(name);
        let spec = format!("{k}/{n}");
        let mut flags = vec!["--shard", spec.as_str()];
        flags.extend(extra);
        ok(&risk(&a, &dir, &flags));
        dir
    };
    let r0 = shard_risk("r0", 0, 2, &[]);
    let r1 = shard_risk("r1", 1, 2, &[]);
    ok(&msr(&[
        "merge",
        "--quiet",
        "--out",
        s(&root.join("good")),
        s(&r1),
        s(&r0),
    ]));
    assert!(root.join("good/risk.json").exists());

    let v1 = shard(&a, root, "v1", 1, 2, &[]);
    refused(
        &[&r0, &v1],
        &out,
        "partials disagree on the kind of partial",
    );
    let seed1 = shard_risk("seed1", 1, 2, &["--seed", "9"]);
    refused(&[&r0, &seed1], &out, "partials disagree on the seed");
    refused(&[&r0], &out, "missing shard(s) 1 of 2");
    refused(&[&r0, &r1, &r0], &out, "given twice");

    // A scenario file removed after the shard finished.
    let cut = shard_risk("cut", 1, 2, &[]);
    std::fs::remove_file(cut.join("scenario_003.json")).unwrap();
    refused(
        &[&r0, &cut],
        &out,
        "incomplete partial: scenario_003.json is missing",
    );
    // A changed index (its hash no longer matches the manifest).
    let changed = shard_risk("changed", 1, 2, &[]);
    let index = changed.join("risk_partial.json");
    let text = std::fs::read_to_string(&index).unwrap();
    std::fs::write(
        &index,
        text.replace("\"shock_bp\": 25.0", "\"shock_bp\": 50.0"),
    )
    .unwrap();
    refused(&[&r0, &changed], &out, "risk_partial.json has sha256");
}

/// Randomized QMC end to end: `valuation.scrambles = 4` over 16 `sobol-pca`
/// paths values the book as the mean of four 4-path runs on the scrambles'
/// own seeds, reports the standard error of those four means (and says so in
/// summary.json), and a sharded run merges to the same summary.
#[test]
fn scrambles_give_the_standard_error_of_independent_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let tape = tape(tmp.path(), "scrambles.parquet", 60, 1000, 11);
    let seed = 20261207u64;
    let config = |paths: u32, scrambles: u32, seed: u64| {
        let path = tmp
            .path()
            .join(format!("c-{paths}-{scrambles}-{seed}.toml"));
        std::fs::write(
            &path,
            format!(
                "[valuation]\npath_scheme = \"sobol-pca\"\nantithetic = false\n\
                 num_paths = {paths}\nscrambles = {scrambles}\nseed = {seed}\n"
            ),
        )
        .unwrap();
        path
    };
    let run = |cfg: &Path, out: &Path, extra: &[&str]| {
        let mut args = vec![
            "value",
            "--loans",
            s(&tape),
            "--config",
            s(cfg),
            "--no-cashflows",
            "--quiet",
            "--run-id",
            "rqmc",
            "--out",
            s(out),
        ];
        args.extend(extra);
        ok(&msr(&args));
        json(&out.join("summary.json"))
    };
    let cfg = config(16, 4, seed);
    let whole = run(&cfg, &tmp.path().join("whole"), &[]);
    assert_eq!(whole["scrambles"], 4);
    let runs: Vec<f64> = (0..4)
        .map(|r| {
            let one = config(4, 1, msr_rates::normals::scramble_seed(seed, r));
            let summary = run(&one, &tmp.path().join(format!("run{r}")), &[]);
            assert!(
                summary.get("scrambles").is_none(),
                "one scramble says nothing"
            );
            summary["value"].as_f64().unwrap()
        })
        .collect();
    let mean = runs.iter().sum::<f64>() / 4.0;
    let sd = (runs.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 3.0).sqrt();
    let (value, se) = (
        whole["value"].as_f64().unwrap(),
        whole["std_error"].as_f64().unwrap(),
    );
    assert!(
        (value - mean).abs() <= 1e-12 * mean.abs(),
        "{value} vs {mean}"
    );
    assert!((se - sd / 2.0).abs() <= 1e-9 * se, "{se} vs {}", sd / 2.0);
    assert!(runs.iter().any(|&v| v != runs[0]), "the scrambles differ");

    // Sharded: every shard records the scrambles, the merge reports the same.
    let parts: Vec<PathBuf> = (0..2)
        .map(|k| tmp.path().join(format!("part{k}")))
        .collect();
    for (k, dir) in parts.iter().enumerate() {
        let shard = format!("{k}/2");
        let mut args = vec![
            "value",
            "--loans",
            s(&tape),
            "--config",
            s(&cfg),
            "--quiet",
            "--run-id",
            "rqmc",
            "--shard",
            &shard,
            "--out",
            s(dir),
        ];
        args.extend(["--threads", "1"]);
        ok(&msr(&args));
    }
    let merged = tmp.path().join("merged");
    ok(&msr(&[
        "merge",
        "--out",
        s(&merged),
        "--quiet",
        s(&parts[0]),
        s(&parts[1]),
    ]));
    let m = json(&merged.join("summary.json"));
    assert_eq!(m["scrambles"], 4);
    assert_eq!(m["std_error"], whole["std_error"]);
    assert_eq!(m["value"], whole["value"]);
}
