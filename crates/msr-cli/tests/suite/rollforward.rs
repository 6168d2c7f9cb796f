//! End-to-end tests of `msr rollforward` (docs/rollforward.md), each in its
//! own temporary directory: the roll-forward of a generated book adds up to
//! the cent (in total and per investor) and its beginning and ending equal
//! `msr value` of each tape; rollforward.json has exactly the documented
//! schema and rollforward.csv its blocks; rejected rows are written per tape
//! and left out; bad inputs give the documented exit codes.

use std::path::PathBuf;
use std::process::Output;

use msr_core::schedule::balance_factor;
use msr_core::Loan;
use msr_io::{generate_book, write_tape, TapeWriteOptions};
use serde_json::Value;

use crate::support;
use support::{json, msr, ok, s};

/// The issue's contract: beginning + Σ changes = ending to the cent.
const CENT: f64 = 0.005;
const STEPS: [&str; 5] = [
    "loans_removed",
    "loans_added",
    "runoff_and_performance",
    "market",
    "assumptions",
];

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

/// A month later: every 10th loan gone, the rest one payment older (every
/// 7th rolled to 30 days delinquent), and 25 new loans.
fn next_month(prior: &[Loan]) -> Vec<Loan> {
    let mut current: Vec<Loan> = prior
        .iter()
        .enumerate()
        .filter(|(k, l)| k % 10 != 3 && l.remaining_term > 1)
        .map(|(k, l)| {
            let mut n = l.clone();
            n.upb = l.upb * balance_factor(l.note_rate, l.remaining_term, 1);
            n.remaining_term -= 1;
            n.loan_age += 1;
            if k % 7 == 0 && n.dq_status == msr_core::DqState::C {
                n.dq_status = msr_core::DqState::D30;
                n.advance_balance = 500.0;
            }
            n
        })
        .collect();
    current.extend(generate_book(25, 99).into_iter().map(|mut l| {
        l.loan_id = format!("NEW{}", l.loan_id);
        l
    }));
    current
}

/// The current configuration: a month later, rates up 40bp, costlier servicing.
const CURRENT_TOML: &str = r#"
[valuation]
as_of = "2026-12-31"
oas = 0.068
[curve]
tenors = [0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 20.0, 30.0]
zero_rates = [0.0470, 0.0465, 0.0450, 0.0430, 0.0425, 0.0430, 0.0440, 0.0455, 0.0485, 0.0480]
[mortgage_rate]
m0 = 0.0665
[servicing]
cost_multiplier = 1.15
"#;

struct Book {
    _dir: tempfile::TempDir,
    prior: PathBuf,
    current: PathBuf,
    current_config: PathBuf,
    out: PathBuf,
    root: PathBuf,
}

fn book(prior_loans: &[Loan], current_loans: &[Loan]) -> Book {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let prior = root.join("prior.parquet");
    let current = root.join("current.parquet");
    write_tape(&prior, prior_loans, TapeWriteOptions::default()).unwrap();
    write_tape(&current, current_loans, TapeWriteOptions::default()).unwrap();
    let current_config = root.join("current.toml");
    std::fs::write(&current_config, CURRENT_TOML).unwrap();
    Book {
        _dir: dir,
        prior,
        current,
        current_config,
        out: root.join("rf"),
        root,
    }
}

fn rollforward(b: &Book, extra: &[&str]) -> Output {
    let mut args = vec![
        "rollforward",
        "--prior-loans",
        s(&b.prior),
        "--prior-config",
        "configs/default.toml",
        "--loans",
        s(&b.current),
        "--config",
        s(&b.current_config),
        "--num-paths",
        "8",
        "--seed",
        "17",
        "--out",
        s(&b.out),
    ];
    args.extend_from_slice(extra);
    msr(&args)
}

/// beginning + Σ changes = ending, to the cent, for one table of rollforward.json.
fn assert_adds_up(name: &str, t: &Value) {
    let steps = t["steps"].as_array().unwrap();
    let names: Vec<&str> = steps.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, STEPS, "{name}");
    let begin = t["beginning_value"].as_f64().unwrap();
    let end = t["ending_value"].as_f64().unwrap();
    let sum: f64 = begin
        + steps
            .iter()
            .map(|s| s["change"].as_f64().unwrap())
            .sum::<f64>();
    assert!((sum - end).abs() < CENT, "{name}: {sum} vs {end}");
}

#[test]
fn the_roll_forward_adds_up_and_its_ends_are_the_two_marks() {
    let prior = generate_book(300, 41);
    let current = next_month(&prior);
    let b = book(&prior, &current);
    let out = rollforward(&b, &[]);
    ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("beginning value") && stdout.contains("ending value"),
        "{stdout}"
    );
    assert!(stdout.contains("2026-11-30 -> 2026-12-31"), "{stdout}");

    let doc = json(&b.out.join("rollforward.json"));
    assert_eq!(
        keys(&doc),
        [
            "as_of",
            "as_of_prior",
            "beginning_value",
            "by_investor",
            "ending_value",
            "loans",
            "num_paths",
            "seed",
            "steps"
        ]
    );
    assert_eq!(doc["as_of_prior"], "2026-11-30");
    assert_eq!(doc["as_of"], "2026-12-31");
    assert_eq!(doc["num_paths"], 8);
    assert_eq!(doc["seed"], 17);
    let continuing = current.len() - 25;
    assert_eq!(
        doc["loans"],
        serde_json::json!({
            "prior": 300, "current": current.len(), "removed": 300 - continuing,
            "added": 25, "continuing": continuing,
        })
    );
    assert_adds_up("ALL", &doc);
    for step in doc["steps"].as_array().unwrap() {
        assert!(
            step["change"].as_f64().unwrap().abs() > 1.0,
            "every step moves this book: {step}"
        );
    }
    let by_investor = doc["by_investor"].as_object().unwrap();
    assert_eq!(keys(&doc["by_investor"]), ["FHLMC", "FNMA", "GNMA", "PLS"]);
    let mut begin = 0.0;
    let mut end = 0.0;
    for (name, t) in by_investor {
        assert_eq!(keys(t), ["beginning_value", "ending_value", "steps"]);
        assert_adds_up(name, t);
        begin += t["beginning_value"].as_f64().unwrap();
        end += t["ending_value"].as_f64().unwrap();
    }
    assert!((begin - doc["beginning_value"].as_f64().unwrap()).abs() < CENT);
    assert!((end - doc["ending_value"].as_f64().unwrap()).abs() < CENT);

    // The beginning and ending are the marks `msr value` gives each tape on
    // the same paths.
    for (tape, config, key) in [
        (&b.prior, "configs/default.toml", "beginning_value"),
        (&b.current, s(&b.current_config), "ending_value"),
    ] {
        let dir = b.root.join(format!("value-{key}"));
        ok(&msr(&[
            "value",
            "--loans",
            s(tape),
            "--config",
            config,
            "--num-paths",
            "8",
            "--seed",
            "17",
            "--quiet",
            "--out",
            s(&dir),
        ]));
        let summary = json(&dir.join("summary.json"));
        let (mark, level) = (
            summary["value"].as_f64().unwrap(),
            doc[key].as_f64().unwrap(),
        );
        assert!(
            (mark - level).abs() < CENT,
            "{key}: {level} vs msr value {mark}"
        );
    }

    // rollforward.csv: the ALL block, then one per investor; levels chain.
    let csv = std::fs::read_to_string(b.out.join("rollforward.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("investor,step,name,change,level_after"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 5 * 7);
    let blocks: Vec<&str> = rows.chunks(7).map(|b| b[0][0]).collect();
    assert_eq!(blocks, ["ALL", "FNMA", "FHLMC", "GNMA", "PLS"]);
    for block in rows.chunks(7) {
        let names: Vec<&str> = block.iter().map(|r| r[2]).collect();
        assert_eq!(names[0], "beginning");
        assert_eq!(&names[1..6], STEPS);
        assert_eq!(names[6], "ending");
        let steps: Vec<&str> = block.iter().map(|r| r[1]).collect();
        assert_eq!(steps, ["0", "1", "2", "3", "4", "5", "6"]);
        let num = |x: &str| x.parse::<f64>().unwrap();
        let mut level = num(block[0][4]);
        for r in &block[1..6] {
            level += num(r[3]);
            assert!((level - num(r[4])).abs() < CENT, "{r:?}");
        }
        assert!((num(block[6][4]) - num(block[0][4]) - num(block[6][3])).abs() < CENT);
    }
    assert_eq!(
        rows[0][4].parse::<f64>().unwrap(),
        doc["beginning_value"].as_f64().unwrap()
    );

    // manifest.json: every input hashed; rejects files written.
    let manifest = json(&b.out.join("manifest.json"));
    for input in ["prior_loans", "prior_config", "loans", "config"] {
        assert_eq!(
            manifest["inputs"][input]["sha256"].as_str().unwrap().len(),
            64,
            "{input}"
        );
    }
    assert_eq!(manifest["rate_paths"]["seed"], 17);
    assert_eq!(
        manifest["resolved_config"]["market_step"]["valuation"]["as_of"],
        "2026-12-31"
    );
    assert_eq!(
        manifest["resolved_config"]["market_step"]["servicing"]["cost_multiplier"],
        1.0
    );
    for rejects in ["rejects.csv", "rejects_prior.csv"] {
        let text = std::fs::read_to_string(b.out.join(rejects)).unwrap();
        assert_eq!(text.lines().count(), 1, "{rejects}: header only");
    }
    let leftovers = std::fs::read_dir(&b.out)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".msr-staging"))
        .count();
    assert_eq!(leftovers, 0);
}

#[test]
fn rejected_rows_are_written_per_tape_and_left_out() {
    let prior = generate_book(60, 5);
    let mut current = prior.clone();
    current[10].upb = -1.0; // rejected: the loan reads as removed
    let mut bad_prior = prior.clone();
    bad_prior[20].fico = 100; // rejected: the loan reads as added
    let b = book(&bad_prior, &current);
    let out = rollforward(&b, &["--quiet"]);
    // 1 row of 60 is above the default tape.max_reject_share (1 %): the
    // outputs are written and the run exits 5.
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("prior.parquet") && stderr.contains("current.parquet"),
        "{stderr}"
    );
    let doc = json(&b.out.join("rollforward.json"));
    assert_eq!(
        doc["loans"],
        serde_json::json!({"prior": 59, "current": 59, "removed": 1, "added": 1, "continuing": 58})
    );
    assert_adds_up("ALL", &doc);
    let current_rejects = std::fs::read_to_string(b.out.join("rejects.csv")).unwrap();
    assert!(current_rejects.contains(&prior[10].loan_id) && current_rejects.contains("upb"));
    let prior_rejects = std::fs::read_to_string(b.out.join("rejects_prior.csv")).unwrap();
    assert!(prior_rejects.contains(&prior[20].loan_id) && prior_rejects.contains("fico"));
}

#[test]
fn bad_inputs_give_documented_exit_codes() {
    let prior = generate_book(10, 5);
    let b = book(&prior, &prior);
    let bad_config = b.root.join("bad.toml");
    std::fs::write(&bad_config, "[servicing]\ncost = 2.0\n").unwrap();
    let out_dir = b.root.join("o");
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec![
                "rollforward",
                "--prior-loans",
                "no/such/prior.parquet",
                "--prior-config",
                "configs/default.toml",
                "--loans",
                s(&b.current),
                "--out",
                s(&out_dir),
            ],
            3,
            "no/such/prior.parquet",
        ),
        (
            vec![
                "rollforward",
                "--prior-loans",
                s(&b.prior),
                "--prior-config",
                s(&bad_config),
                "--loans",
                s(&b.current),
                "--out",
                s(&out_dir),
            ],
            3,
            "cost",
        ),
        (
            vec!["rollforward", "--prior-config", "configs/default.toml"],
            2,
            "--prior-loans",
        ),
        (
            vec![
                "rollforward",
                "--prior-loans",
                s(&b.prior),
                "--prior-config",
                "configs/default.toml",
                "--rate-paths",
                "x.parquet",
            ],
            2,
            "--rate-paths",
        ),
    ];
    for (args, code, needle) in cases {
        let out = msr(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        if code == 3 {
            assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        }
    }
    assert!(!out_dir.exists(), "a failed run writes nothing");
}
