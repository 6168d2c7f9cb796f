//! End-to-end tests of `msr oas` and `msr risk`, each in its own temporary
//! directory, on a small synthetic tape and few paths.

use std::path::{Path, PathBuf};

use crate::support;
use support::{json, msr, ok, s};

/// A 30-loan synthetic tape in `dir`.
fn tape(dir: &Path) -> PathBuf {
    let path = dir.join("loans.parquet");
    msr_io::write_book(&path, &msr_io::generate_book(30, 11), 1000).unwrap();
    path
}

#[test]
fn oas_solves_back_the_spread_of_a_valuation() {
    let tmp = tempfile::tempdir().unwrap();
    let loans = tape(tmp.path());
    let valued = tmp.path().join("value");
    ok(&msr(&[
        "value",
        "--loans",
        s(&loans),
        "--num-paths",
        "16",
        "--oas",
        "0.08",
        "--out",
        s(&valued),
        "-q",
    ]));
    let summary = json(&valued.join("summary.json"));
    let value = summary["value"].as_f64().unwrap();
    let bps = summary["value_bps"].as_f64().unwrap();
    for (flag, target) in [("--target-value", value), ("--target-bps", bps)] {
        let out = tmp.path().join(flag.trim_start_matches('-'));
        let run = msr(&[
            "oas",
            "--loans",
            s(&loans),
            "--num-paths",
            "16",
            flag,
            &target.to_string(),
            "--out",
            s(&out),
        ]);
        ok(&run);
        let doc = json(&out.join("oas.json"));
        let oas = doc["oas"].as_f64().unwrap();
        assert!((oas - 0.08).abs() < 1e-8, "{flag}: {oas}");
        assert!(doc["iterations"].as_u64().unwrap() > 0);
        assert_eq!(doc["base"]["oas"], 0.065);
        let option_cost = doc["option_cost"].as_f64().unwrap();
        let static_value = doc["static_value"].as_f64().unwrap();
        // (serde_json's float parsing is not always correctly rounded.)
        let expected = static_value - doc["value"].as_f64().unwrap();
        assert!(
            (option_cost - expected).abs() <= 1e-9 * expected.abs(),
            "{option_cost} vs {expected}"
        );
        assert!(out.join("rejects.csv").exists());
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(stdout.contains("OAS 8.000000 %"), "{stdout}");
    }
}

#[test]
fn unreachable_oas_target_exits_6_with_the_range() {
    let tmp = tempfile::tempdir().unwrap();
    let loans = tape(tmp.path());
    let out = tmp.path().join("out");
    let run = msr(&[
        "oas",
        "--loans",
        s(&loans),
        "--num-paths",
        "8",
        "--target-multiple",
        "1000",
        "--out",
        s(&out),
        "-q",
    ]);
    assert_eq!(run.status.code(), Some(6));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("reachable range is"), "{stderr}");
    assert!(stderr.contains("1000.0000x"), "{stderr}");
    assert!(!out.join("oas.json").exists());
}

#[test]
fn oas_needs_exactly_one_target() {
    let none = msr(&["oas", "--num-paths", "8"]);
    assert_eq!(none.status.code(), Some(2));
    let two = msr(&["oas", "--target-bps", "100", "--target-multiple", "4"]);
    assert_eq!(two.status.code(), Some(2));
    let empty = msr(&[
        "oas",
        "--target-bps",
        "100",
        "--oas-min",
        "0.5",
        "--oas-max",
        "0.2",
    ]);
    assert_eq!(empty.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&empty.stderr).contains("--oas-min"));
}

#[test]
fn risk_writes_every_scenario() {
    let tmp = tempfile::tempdir().unwrap();
    let loans = tape(tmp.path());
    let valued = tmp.path().join("value");
    ok(&msr(&[
        "value",
        "--loans",
        s(&loans),
        "--num-paths",
        "8",
        "--out",
        s(&valued),
        "-q",
    ]));
    let out = tmp.path().join("risk");
    let run = msr(&[
        "risk",
        "--loans",
        s(&loans),
        "--num-paths",
        "8",
        "--out",
        s(&out),
    ]);
    ok(&run);
    let doc = json(&out.join("risk.json"));
    // The base scenario is `msr value`'s run, bit for bit (same text).
    assert_eq!(doc["value"], json(&valued.join("summary.json"))["value"]);
    for key in [
        "effective_duration",
        "effective_convexity",
        "key_rate_durations",
        "rate_shocks",
        "assumption_stresses",
        "static_value",
        "option_cost",
    ] {
        assert!(!doc[key].is_null(), "{key}");
    }
    assert!(doc["effective_duration"].as_f64().unwrap() < 0.0);
    assert_eq!(doc["key_rate_durations"].as_array().unwrap().len(), 6);
    assert_eq!(doc["rate_shocks"].as_array().unwrap().len(), 10);
    assert_eq!(doc["assumption_stresses"].as_array().unwrap().len(), 14);
    // The default: the bumped grid of MODEL.md §J.
    assert_eq!(doc["derivatives"], "bump");
    let header = "scenario,kind,tenor_years,shock,unit,value,value_bps,change,change_pct,std_error";
    let csv = std::fs::read_to_string(out.join("risk.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next().unwrap(), header);
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 38);
    assert!(rows[0].starts_with("base,base,"));
    assert!(rows
        .iter()
        .any(|r| r.starts_with("key_rate_30y_+25bp,key_rate,30,25,bp,")));
    assert!(rows
        .iter()
        .any(|r| r.starts_with("cost_to_service_+20pct,cost_to_service,,20,pct,")));
    // Progress on a non-terminal stderr: one line per scenario.
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("scenario 38 of 38: oas_+100bp"), "{stderr}");

    // With pathwise derivatives: no key-rate runs, the same other rows.
    let tangent = tmp.path().join("tangent");
    let tangent_run = msr(&[
        "risk",
        "--loans",
        s(&loans),
        "--num-paths",
        "8",
        "--derivatives",
        "tangent",
        "--out",
        s(&tangent),
    ]);
    ok(&tangent_run);
    assert_eq!(json(&tangent.join("risk.json"))["derivatives"], "tangent");
    let tangent_csv = std::fs::read_to_string(tangent.join("risk.csv")).unwrap();
    let tangent_rows: Vec<&str> = tangent_csv.lines().skip(1).collect();
    assert_eq!(tangent_rows.len(), 26);
    let others: Vec<&str> = rows
        .iter()
        .copied()
        .filter(|r| !r.starts_with("key_rate"))
        .collect();
    assert_eq!(others, tangent_rows);
    let tangent_stdout = String::from_utf8_lossy(&tangent_run.stdout);
    assert!(
        tangent_stdout.contains("(pathwise; convexity ±25 bp)"),
        "{tangent_stdout}"
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("effective duration"), "{stdout}");
}

#[test]
fn risk_refuses_a_path_file() {
    let tmp = tempfile::tempdir().unwrap();
    let loans = tape(tmp.path());
    let valued = tmp.path().join("value");
    ok(&msr(&[
        "value",
        "--loans",
        s(&loans),
        "--num-paths",
        "4",
        "--export-paths",
        "--out",
        s(&valued),
        "-q",
    ]));
    let out = tmp.path().join("risk");
    let run = msr(&[
        "risk",
        "--loans",
        s(&loans),
        "--rate-paths",
        s(&valued.join("paths.parquet")),
        "--out",
        s(&out),
    ]);
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("needs generated rate paths"), "{stderr}");
    assert!(!out.join("risk.json").exists());
}
