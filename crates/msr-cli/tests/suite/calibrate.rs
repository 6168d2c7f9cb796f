//! `msr calibrate rates` end to end: outputs that round-trip, and each kind
//! of bad input refused with a clear message and exit code 3.

use crate::support;

use support::{json, msr, ok, repo, s};

#[test]
fn calibrate_rates_writes_a_config_that_round_trips_and_the_fit() {
    let dir = tempfile::tempdir().unwrap();
    let out = msr(&[
        "calibrate",
        "rates",
        "--swaptions",
        "data/sample_swaption_vols.csv",
        "--out",
        s(dir.path()),
    ]);
    ok(&out);
    let fit = json(&dir.path().join("fit.json"));
    let (a, sigma) = (fit["a"].as_f64().unwrap(), fit["sigma"].as_f64().unwrap());
    assert!(a > 0.0 && sigma > 0.0);
    let quotes = fit["quotes"].as_array().unwrap();
    assert_eq!(quotes.len(), 24);
    // rmse is the root mean square of model − market over the quotes.
    let sq: f64 = quotes
        .iter()
        .map(|q| (q["model_bp"].as_f64().unwrap() - q["market_bp"].as_f64().unwrap()).powi(2))
        .sum();
    let rmse = (sq / 24.0).sqrt();
    assert!((rmse - fit["rmse_bp"].as_f64().unwrap()).abs() < 1e-12);
    assert_eq!(quotes[0]["expiry_years"].as_f64(), Some(1.0));
    assert_eq!(quotes[0]["tenor_years"].as_f64(), Some(1.0));
    assert_eq!(quotes[0]["market_bp"].as_f64(), Some(118.0));
    assert!(fit["relative_gradient"].as_f64().unwrap() < 1e-8);

    // calibrated.toml is a full configuration: the base with the fitted
    // [hull_white], at full precision.
    let text = std::fs::read_to_string(dir.path().join("calibrated.toml")).unwrap();
    let config = msr_core::Config::from_toml_str(&text).unwrap();
    assert_eq!(config.hull_white.a, a);
    assert_eq!(config.hull_white.sigma, sigma);
    let base = msr_core::Config::default();
    assert_eq!(config.curve, base.curve);
    assert_eq!(config.valuation, base.valuation);

    // With --fix-a at the fitted a, sigma comes back.
    let fixed_dir = tempfile::tempdir().unwrap();
    let a_text = format!("{a}");
    ok(&msr(&[
        "calibrate",
        "rates",
        "--swaptions",
        "data/sample_swaption_vols.csv",
        "--fix-a",
        &a_text,
        "--out",
        s(fixed_dir.path()),
        "--quiet",
    ]));
    let fixed = json(&fixed_dir.path().join("fit.json"));
    assert_eq!(fixed["a"].as_f64(), Some(a));
    assert_eq!(fixed["fixed_a"].as_bool(), Some(true));
    assert!((fixed["sigma"].as_f64().unwrap() - sigma).abs() < 1e-9 * sigma);
}

/// Run with a quotes file holding `body`; expect exit 3 and `needle` in stderr.
#[track_caller]
fn refused(body: &str, needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vols.csv");
    std::fs::write(&file, body).unwrap();
    let out_dir = dir.path().join("out");
    let out = msr(&[
        "calibrate",
        "rates",
        "--swaptions",
        s(&file),
        "--out",
        s(&out_dir),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "stderr: {stderr}");
    assert!(stderr.contains(needle), "expected `{needle}` in: {stderr}");
    assert!(stderr.contains("vols.csv"), "the file is named: {stderr}");
    assert!(!out_dir.join("fit.json").exists());
}

#[test]
fn bad_swaption_files_are_refused_with_the_reason() {
    let h = "expiry_years,tenor_years,normal_vol_bp\n";
    refused(
        &format!("{h}1,5,100\n2,5,-90\n"),
        "line 3: swaption quote (expiry 2 y, tenor 5 y): normal_vol_bp must be finite and > 0",
    );
    refused(
        &format!("{h}1,5,100\n2,0,90\n"),
        "line 3: swaption quote (expiry 2 y, tenor 0 y): tenor_years must be finite and > 0",
    );
    refused(
        &format!("{h}0,5,100\n2,5,90\n"),
        "line 2: swaption quote (expiry 0 y, tenor 5 y): expiry_years must be finite and > 0",
    );
    refused(
        &format!("{h}1,5,100\n25,10,90\n"),
        "past the curve's last knot (30 years)",
    );
    refused(
        &format!("{h}1,5,100\n2,5,90\n1,5,101\n"),
        "line 4: duplicate quote (expiry 1 y, tenor 5 y already on line 2)",
    );
    refused(
        &format!("{h}1,5,100\n2,5\n"),
        "line 3: 2 fields but the header has 3 columns",
    );
    refused(
        &format!("{h}1,5,abc\n"),
        "line 2, column `normal_vol_bp`: `abc` is not a finite number",
    );
    refused(
        "expiry,tenor_years,normal_vol_bp\n1,5,100\n",
        "unknown column `expiry`",
    );
    refused(h, "no quotes");
    refused("", "empty");
}

#[test]
fn calibrate_rates_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = msr(&[
        "calibrate",
        "rates",
        "--swaptions",
        "data/sample_swaption_vols.csv",
        "--fix-a",
        "-0.1",
        "--out",
        s(dir.path()),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let missing = msr(&["calibrate", "rates", "--out", s(dir.path())]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(repo().join("data/sample_swaption_vols.csv").exists());
}

// ---------------------------------------------------------------- spreads

use std::collections::BTreeMap;
use std::path::Path;

/// Cohort of a loan in the test grids: investor × note-rate band at 5 %.
fn cohort_key(investor: &str, note_rate: f64) -> (String, bool) {
    (investor.to_string(), note_rate >= 0.05)
}

/// Per-cohort (value, fee base Σ s·UPB, upb) of a run's loan_values.parquet,
/// with the cohort read off the tape.
fn cohort_values(tape: &Path, out: &Path) -> BTreeMap<(String, bool), (f64, f64, f64)> {
    let (loans, _, _) = msr_io::read_tape(tape, &msr_core::Config::default().tape).unwrap();
    let values = msr_io::read_table(out.join("loan_values.parquet")).unwrap();
    let ids = values.text("loan_id").unwrap();
    let value = values.numbers("value").unwrap();
    let by_id: BTreeMap<&str, f64> = ids
        .iter()
        .zip(value)
        .map(|(id, v)| (id.as_str(), v.unwrap()))
        .collect();
    let mut sums = BTreeMap::new();
    for loan in &loans {
        let e = sums
            .entry(cohort_key(loan.investor.code(), loan.note_rate))
            .or_insert((0.0, 0.0, 0.0));
        e.0 += by_id[loan.loan_id.as_str()];
        e.1 += loan.servicing_fee * loan.upb;
        e.2 += loan.upb;
    }
    sums
}

const INVESTORS: [&str; 4] = ["FNMA", "FHLMC", "GNMA", "PLS"];

/// The known table: a different OAS for each of 8 cohorts.
fn known_oas(investor: usize, high: bool) -> f64 {
    0.05 + 0.01 * investor as f64 + if high { 0.0075 } else { 0.0 }
}

fn write_file(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn calibrate_oas_round_trips_a_known_table() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tape = d.join("book.parquet");
    ok(&msr(&[
        "generate",
        "--loans",
        "400",
        "--seed",
        "7",
        "--out",
        s(&tape),
    ]));

    // 1. Value the book at a known OAS table.
    let mut table = String::from("investor,note_rate_min,note_rate_max,oas\n");
    for (k, inv) in INVESTORS.iter().enumerate() {
        table += &format!("{inv},,0.05,{}\n", known_oas(k, false));
        table += &format!("{inv},0.05,,{}\n", known_oas(k, true));
    }
    let known_csv = d.join("known.csv");
    write_file(&known_csv, &table);
    let common = ["--loans", s(&tape), "--num-paths", "32", "--quiet"];
    let known_out = d.join("known");
    let mut args = vec!["value"];
    args.extend(common);
    args.extend(["--oas-table", s(&known_csv), "--out", s(&known_out)]);
    ok(&msr(&args));
    let manifest = json(&known_out.join("manifest.json"));
    assert_eq!(
        manifest["oas_table"]["sha256"].as_str().unwrap(),
        msr_io::hash::sha256_file(d.join("known.csv")).unwrap()
    );
    let known = cohort_values(&tape, &known_out);
    assert_eq!(known.len(), 8, "every cohort holds loans");
    // marks.csv carries each loan's own spread.
    let marks = msr_io::read_csv_table(known_out.join("marks.csv")).unwrap();
    let col = marks.column("oas").unwrap();
    let mut seen: Vec<f64> = marks
        .rows
        .iter()
        .map(|(_, r)| r[col].parse().unwrap())
        .collect();
    seen.sort_by(f64::total_cmp);
    seen.dedup();
    let mut expected: Vec<f64> = (0..4)
        .flat_map(|k| [known_oas(k, false), known_oas(k, true)])
        .collect();
    expected.sort_by(f64::total_cmp);
    assert_eq!(seen, expected);

    // 2. Each cohort's multiple from those outputs is the calibration grid.
    let mut grid = String::from("investor,note_rate_min,note_rate_max,multiple\n");
    for inv in INVESTORS {
        for high in [false, true] {
            let (v, fee, _) = known[&(inv.to_string(), high)];
            let (lo, hi) = if high { ("0.05", "") } else { ("", "0.05") };
            grid += &format!("{inv},{lo},{hi},{}\n", v / fee);
        }
    }
    let grid_csv = d.join("grid.csv");
    write_file(&grid_csv, &grid);
    let cal_out = d.join("cal");
    let mut args = vec!["calibrate", "oas"];
    args.extend(common);
    args.extend(["--grid", s(&grid_csv), "--out", s(&cal_out)]);
    ok(&msr(&args));

    // 3. Each cohort's model value equals its target, and the table comes back.
    let fit = json(&cal_out.join("fit.json"));
    let cohorts = fit["cohorts"].as_array().unwrap();
    assert_eq!(cohorts.len(), 8);
    let (mut worst_value, mut worst_oas) = (0.0f64, 0.0f64);
    for c in cohorts {
        let inv = c["cohort"]["investor"].as_str().unwrap();
        let high = c["cohort"]["note_rate_min"].as_str().unwrap() == "0.05";
        let k = INVESTORS.iter().position(|&i| i == inv).unwrap();
        let (target, model) = (c["target"].as_f64().unwrap(), c["model"].as_f64().unwrap());
        assert!(
            (model - target).abs() <= 1e-9 * target.abs(),
            "{inv} {high}: {model} vs {target}"
        );
        let oas = c["oas"].as_f64().unwrap();
        worst_value = worst_value.max((model - target).abs() / target.abs());
        worst_oas = worst_oas.max((oas - known_oas(k, high)).abs());
        assert!(
            (oas - known_oas(k, high)).abs() <= 1e-8,
            "{inv} {high}: OAS {oas} vs {}",
            known_oas(k, high)
        );
    }
    let csv = msr_io::read_csv_table(cal_out.join("oas_by_cohort.csv")).unwrap();
    assert_eq!(
        csv.headers,
        [
            "investor",
            "note_rate_min",
            "note_rate_max",
            "oas",
            "target",
            "model",
            "loans",
            "upb"
        ]
    );

    // 4. Valuing with the recovered table reproduces the cohort values.
    let again = d.join("again");
    let recovered = cal_out.join("oas_by_cohort.csv");
    let mut args = vec!["value"];
    args.extend(common);
    args.extend(["--oas-table", s(&recovered), "--out", s(&again)]);
    ok(&msr(&args));
    let back = cohort_values(&tape, &again);
    let worst_back = known
        .iter()
        .map(|(key, (v, _, _))| (v - back[key].0).abs() / v.abs())
        .fold(0.0f64, f64::max);
    eprintln!(
        "round trip: model vs target {worst_value:.2e} relative, OAS {worst_oas:.2e}, revalued cohorts {worst_back:.2e} relative"
    );
    for (key, (v, _, _)) in &known {
        let w = back[key].0;
        assert!((v - w).abs() <= 1e-9 * v.abs(), "{key:?}: {v} vs {w}");
    }

    // 5. The report shows both calibrations when their directories are passed.
    let rates = d.join("rates");
    ok(&msr(&[
        "calibrate",
        "rates",
        "--swaptions",
        "data/sample_swaption_vols.csv",
        "--quiet",
        "--out",
        s(&rates),
    ]));
    let page = d.join("report.html");
    ok(&msr(&[
        "report",
        s(&again),
        "--calibration",
        s(&cal_out),
        "--calibration",
        s(&rates),
        "--out",
        s(&page),
        "--quiet",
    ]));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains(r#"<section id="calibration""#));
    assert!(html.contains(r#"<table id="table-calibration-rates">"#));
    assert!(html.contains(r#"<table id="table-calibration-oas">"#));
    assert!(
        html.contains("investor=FNMA, note_rate_max=0.05"),
        "cohort labels"
    );
    assert!(html.contains("8 of 8 cohorts solved"));
    assert!(html.contains("118.00"), "a market vol");
    let bad = msr(&[
        "report",
        s(&again),
        "--calibration",
        s(&known_out),
        "--quiet",
    ]);
    assert_eq!(bad.status.code(), Some(3));
}

#[test]
fn an_unreachable_cohort_is_reported_without_losing_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tape = d.join("book.parquet");
    ok(&msr(&[
        "generate",
        "--loans",
        "200",
        "--seed",
        "3",
        "--out",
        s(&tape),
    ]));
    write_file(
        &d.join("grid.csv"),
        "investor,value_bps\nFNMA,100\nFHLMC,1000000\nGNMA,90\nPLS,80\n",
    );
    let out_dir = d.join("out");
    let out = msr(&[
        "calibrate",
        "oas",
        "--loans",
        s(&tape),
        "--num-paths",
        "16",
        "--quiet",
        "--grid",
        s(&d.join("grid.csv")),
        "--out",
        s(&out_dir),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(stderr.contains("1 of 4 cohorts not solved"), "{stderr}");
    assert!(stderr.contains("investor=FHLMC"), "{stderr}");
    let fit = json(&out_dir.join("fit.json"));
    let cohorts = fit["cohorts"].as_array().unwrap();
    assert!(cohorts[1]["oas"].is_null());
    assert!(cohorts[1]["error"]
        .as_str()
        .unwrap()
        .contains("reachable range"));
    for k in [0, 2, 3] {
        let (t, m) = (
            cohorts[k]["target"].as_f64().unwrap(),
            cohorts[k]["model"].as_f64().unwrap(),
        );
        assert!((m - t).abs() <= 1e-9 * t);
    }
}

/// `msr calibrate oas` with `grid` refuses the book with exit 3 and `needle`.
#[track_caller]
fn grid_refused(tape: &Path, grid: &str, needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("grid.csv");
    write_file(&file, grid);
    let out = msr(&[
        "calibrate",
        "oas",
        "--loans",
        s(tape),
        "--num-paths",
        "4",
        "--quiet",
        "--grid",
        s(&file),
        "--out",
        s(&dir.path().join("out")),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains(needle), "expected `{needle}` in: {stderr}");
    assert!(stderr.contains("grid.csv"), "{stderr}");
}

#[test]
fn bad_grids_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let tape = dir.path().join("book.parquet");
    ok(&msr(&[
        "generate",
        "--loans",
        "100",
        "--seed",
        "5",
        "--out",
        s(&tape),
    ]));
    let all = "FNMA,2\nFHLMC,2\nGNMA,2\nPLS,2\n";
    // A key value no loan can have.
    grid_refused(
        &tape,
        "investor,multiple\nFNMA,2\nFNM,2\n",
        "line 3, column `investor`: `FNM` is not one of FNMA, FHLMC, GNMA, PLS",
    );
    // Overlapping bands.
    grid_refused(
        &tape,
        &format!("investor,note_rate_min,note_rate_max,multiple\nFNMA,,0.06,3\nFNMA,0.05,,3\n{}", "FHLMC,,,2\nGNMA,,,2\nPLS,,,2\n"),
        "the cohorts on lines 2 (investor=FNMA, note_rate_min=, note_rate_max=0.06) and 3 (investor=FNMA, note_rate_min=0.05, note_rate_max=) overlap",
    );
    // Loans outside every cohort.
    grid_refused(
        &tape,
        "investor,multiple\nFNMA,2\nFHLMC,2\n",
        "fall in no cohort",
    );
    // A cohort with no loans: a band no loan reaches.
    grid_refused(
        &tape,
        &format!(
            "investor,note_rate_min,note_rate_max,multiple\nFNMA,,0.2,3\nFNMA,0.2,,3\n{}",
            "FHLMC,,,2\nGNMA,,,2\nPLS,,,2\n"
        ),
        "1 cohort(s) hold no loans: line 3 (investor=FNMA, note_rate_min=0.2, note_rate_max=)",
    );
    grid_refused(
        &tape,
        &format!("investor,multiple,value_bps\n{}", "FNMA,2,3\n"),
        "two target columns",
    );
    grid_refused(
        &tape,
        &format!("investor\n{}", "FNMA\n"),
        "no target column",
    );
    grid_refused(
        &tape,
        &format!("pool,multiple\n{}", all),
        "unknown column `pool`",
    );
    grid_refused(
        &tape,
        "investor,note_rate_min,multiple\nFNMA,0.01,2\n",
        "needs both `note_rate_min` and `note_rate_max`",
    );
    grid_refused(
        &tape,
        "investor,note_rate_min,note_rate_max,multiple\nFNMA,0.06,0.05,2\n",
        "is empty (min must be below max)",
    );
}

/// An OAS table that gives every cohort the configured OAS changes nothing:
/// `msr value`, `msr risk` and `msr repline` give the same numbers as without
/// it (the OAS stresses of risk are then valued rather than read off the
/// cash-flow matrix: equal to 1e-9), and the outputs record the table.
#[test]
fn an_oas_table_at_the_configured_oas_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tape = d.join("book.parquet");
    ok(&msr(&[
        "generate",
        "--loans",
        "60",
        "--seed",
        "11",
        "--out",
        s(&tape),
    ]));
    let table = d.join("flat.csv");
    write_file(
        &table,
        "investor,oas\nFNMA,0.065\nFHLMC,0.065\nGNMA,0.065\nPLS,0.065\n",
    );
    let run = |cmd: &str, out: &Path, with_table: bool| {
        let mut args = vec![
            cmd,
            "--loans",
            s(&tape),
            "--num-paths",
            "8",
            "--quiet",
            "--out",
            s(out),
        ];
        if with_table {
            args.extend(["--oas-table", s(&table)]);
        }
        ok(&msr(&args));
    };
    for cmd in ["value", "risk", "repline"] {
        let (plain, tabled) = (
            d.join(format!("{cmd}-plain")),
            d.join(format!("{cmd}-table")),
        );
        run(cmd, &plain, false);
        run(cmd, &tabled, true);
        match cmd {
            "value" => {
                let a = msr_io::read_table(plain.join("loan_values.parquet")).unwrap();
                let b = msr_io::read_table(tabled.join("loan_values.parquet")).unwrap();
                assert_eq!(a.numbers("value"), b.numbers("value"));
                assert_eq!(a.numbers("std_error"), b.numbers("std_error"));
                let (sa, sb) = (
                    json(&plain.join("summary.json")),
                    json(&tabled.join("summary.json")),
                );
                assert_eq!(sa["value"], sb["value"]);
                assert!(json(&tabled.join("manifest.json"))["oas_table"]["sha256"].is_string());
            }
            "risk" => {
                let (a, b) = (
                    json(&plain.join("risk.json")),
                    json(&tabled.join("risk.json")),
                );
                for key in [
                    "value",
                    "static_value",
                    "effective_duration",
                    "effective_convexity",
                ] {
                    assert_eq!(a[key], b[key], "{key}");
                }
                assert_eq!(a["rate_shocks"], b["rate_shocks"]);
                let (sa, sb) = (
                    a["assumption_stresses"].as_array().unwrap(),
                    b["assumption_stresses"].as_array().unwrap(),
                );
                for (x, y) in sa.iter().zip(sb) {
                    let (vx, vy) = (x["value"].as_f64().unwrap(), y["value"].as_f64().unwrap());
                    assert!(
                        (vx - vy).abs() <= 1e-9 * vx.abs(),
                        "{}: {vx} vs {vy}",
                        x["scenario"]
                    );
                }
                assert!(b["oas_table"]["sha256"].is_string());
            }
            _ => {
                let (a, b) = (
                    json(&plain.join("repline_summary.json")),
                    json(&tabled.join("repline_summary.json")),
                );
                assert_eq!(a["value_loans"], b["value_loans"]);
                assert_eq!(a["value_repline"], b["value_repline"]);
                assert!(b["oas_table"]["sha256"].is_string());
            }
        }
    }
    // --oas-table and --oas are one or the other.
    let clash = msr(&[
        "value",
        "--loans",
        s(&tape),
        "--oas",
        "0.07",
        "--oas-table",
        s(&table),
        "--out",
        s(&d.join("x")),
    ]);
    assert_eq!(clash.status.code(), Some(2));
}
