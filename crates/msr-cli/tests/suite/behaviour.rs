//! `msr history` and `msr calibrate behaviour` end to end (issue 23): a
//! simulated panel fitted, its outputs read back, the fitted configuration
//! valued; bad panels and rates refused with exit 3 and a message naming
//! what is wrong.

use crate::support;

use std::path::Path;

use msr_io::{read_table, write_parquet, Column, ParquetOptions};
use support::{json, msr, ok, s};

fn simulate(dir: &Path, loans: &str, seed: &str) -> (String, String) {
    let panel = dir.join("panel.parquet");
    let rates = dir.join("rates.csv");
    ok(&msr(&[
        "history",
        "simulate",
        "--loans",
        loans,
        "--first-period",
        "201901",
        "--months",
        "36",
        "--seasoning",
        "24",
        "--seed",
        seed,
        "--out",
        s(&panel),
        "--rates-out",
        s(&rates),
        "--quiet",
    ]));
    (s(&panel).to_string(), s(&rates).to_string())
}

#[test]
fn simulate_calibrate_and_value_with_the_fitted_config() {
    let dir = tempfile::tempdir().unwrap();
    let (panel, rates) = simulate(dir.path(), "3000", "5");
    let t = read_table(&panel).unwrap();
    assert!(t.num_rows > 50_000, "{}", t.num_rows);
    let out = dir.path().join("fit");
    let run = msr(&[
        "calibrate",
        "behaviour",
        "--panel",
        &panel,
        "--rates",
        &rates,
        "--holdout-from",
        "202107",
        "--fix",
        "refi_fico,seasonality",
        "--out",
        s(&out),
    ]);
    ok(&run);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("loan-months"), "{stdout}");

    let fit = json(&out.join("fit.json"));
    assert_eq!(fit["kind"], "behaviour_calibration");
    let params = fit["parameters"].as_object().unwrap();
    assert_eq!(params.len(), 36);
    // Held at the base (default) values, without a standard error.
    assert_eq!(params["refi_fico"]["estimate"].as_f64(), Some(0.3));
    assert_eq!(params["refi_fico"]["fixed"], true);
    assert!(params["refi_fico"]["std_error"].is_null());
    assert_eq!(params["seasonality[0]"]["estimate"].as_f64(), Some(0.8));
    // Simulated from the defaults: the fitted roll30 is near 0.30.
    let roll30 = &params["roll30"];
    let (est, se) = (
        roll30["estimate"].as_f64().unwrap(),
        roll30["std_error"].as_f64().unwrap(),
    );
    assert!((est - 0.30).abs() < 4.0 * se, "{est} ± {se}");
    assert!(fit["converged"].as_bool().unwrap());
    let (rows_in, rows_out) = (
        fit["rows_in_sample"].as_u64().unwrap(),
        fit["rows_out_of_sample"].as_u64().unwrap(),
    );
    assert_eq!(fit["loan_months"].as_u64(), Some(rows_in));
    assert_eq!(rows_in + rows_out, t.num_rows as u64);
    assert!(fit["log_likelihood"].as_f64().unwrap() < 0.0);

    // calibrated.toml names only estimated keys and is itself a config.
    let text = std::fs::read_to_string(out.join("calibrated.toml")).unwrap();
    assert!(
        !text.contains("refi_fico") && !text.contains("seasonality ="),
        "{text}"
    );
    let fragment = msr_core::Config::from_toml_str(&text).unwrap();
    assert_eq!(
        fragment.credit.roll30, est,
        "the fragment carries the estimate at full precision"
    );
    let merged = std::fs::read_to_string(out.join("merged.toml")).unwrap();
    let merged = msr_core::Config::from_toml_str(&merged).unwrap();
    assert_eq!(merged.credit.roll30, est);

    // The back-test: in and out of sample, every dimension.
    let bt = read_table(out.join("backtest.parquet")).unwrap();
    let samples = bt.text("sample").unwrap();
    let dims = bt.text("dimension").unwrap();
    let metrics = bt.text("metric").unwrap();
    for d in ["all", "period", "investor", "incentive", "status"] {
        assert!(dims.iter().any(|x| x == d), "{d}");
    }
    assert!(samples.iter().any(|x| x == "out"));
    let k = (0..bt.num_rows)
        .find(|&i| samples[i] == "in" && dims[i] == "all" && metrics[i] == "cpr")
        .unwrap();
    let exposure = bt.numbers("exposure").unwrap()[k].unwrap();
    assert!(exposure > 0.0 && exposure <= rows_in as f64);

    // The fitted configuration values the sample book.
    for config in ["calibrated.toml", "merged.toml"] {
        let vdir = dir.path().join(format!("value-{config}"));
        ok(&msr(&[
            "value",
            "--config",
            s(&out.join(config)),
            "--num-paths",
            "8",
            "--out",
            s(&vdir),
            "--quiet",
        ]));
        assert!(vdir.join("loan_values.parquet").exists());
    }

    // The report shows the back-test beside the valuation.
    let vdir = dir.path().join("value-merged.toml");
    ok(&msr(&[
        "report",
        s(&vdir),
        "--calibration",
        s(&out),
        "--quiet",
    ]));
    let html = std::fs::read_to_string(vdir.join("report.html")).unwrap();
    for id in [
        "Behaviour fitted to loan-level history",
        "chart-behaviour-cpr-month",
        "chart-behaviour-scurve",
        "table-behaviour-rates",
        "roll30",
    ] {
        assert!(html.contains(id), "{id}");
    }
}

/// A panel of `(loan_id, period, dq_status, next_status, property_state)` rows.
fn write_panel(path: &Path, rows: &[(&str, i32, &str, &str, &str)]) {
    let n = rows.len();
    write_parquet(
        path,
        vec![
            Column::utf8("loan_id", rows.iter().map(|r| r.0.to_string()).collect()),
            Column::i32("period", rows.iter().map(|r| r.1).collect()),
            Column::utf8("investor", vec!["FNMA".into(); n]),
            Column::f64("upb", vec![200_000.0; n]),
            Column::f64("note_rate", vec![0.05; n]),
            Column::i32("loan_age", (0..n as i32).collect()),
            Column::i32("remaining_term", vec![300; n]),
            Column::i32("fico", vec![720; n]),
            Column::f64("ltv", vec![75.0; n]),
            Column::utf8(
                "property_state",
                rows.iter().map(|r| r.4.to_string()).collect(),
            ),
            Column::utf8("dq_status", rows.iter().map(|r| r.2.to_string()).collect()),
            Column::utf8(
                "next_status",
                rows.iter().map(|r| r.3.to_string()).collect(),
            ),
        ],
        ParquetOptions::default(),
    )
    .unwrap();
}

fn calibrate_err(panel: &Path, rates: &Path, out: &Path) -> String {
    let run = msr(&[
        "calibrate",
        "behaviour",
        "--panel",
        s(panel),
        "--rates",
        s(rates),
        "--out",
        s(out),
        "--quiet",
    ]);
    assert_eq!(run.status.code(), Some(3), "{run:?}");
    String::from_utf8_lossy(&run.stderr).to_string()
}

#[test]
fn bad_panels_and_rates_are_refused_with_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let rates = dir.path().join("rates.csv");
    std::fs::write(
        &rates,
        "period,mortgage_rate\n201912,0.04\n202001,0.041\n202002,0.042\n202003,0.043\n",
    )
    .unwrap();
    let out = dir.path().join("out");

    let panel = dir.path().join("unknown.parquet");
    write_panel(
        &panel,
        &[
            ("L1", 202001, "C", "C", "CA"),
            ("L1", 202002, "C", "D45", "CA"),
        ],
    );
    let err = calibrate_err(&panel, &rates, &out);
    assert!(
        err.contains("row 1")
            && err.contains("L1")
            && err.contains("next_status")
            && err.contains("D45"),
        "{err}"
    );

    let panel = dir.path().join("order.parquet");
    write_panel(
        &panel,
        &[
            ("L1", 202002, "C", "C", "CA"),
            ("L1", 202001, "C", "C", "CA"),
        ],
    );
    let err = calibrate_err(&panel, &rates, &out);
    assert!(err.contains("periods of a loan must increase"), "{err}");

    let panel = dir.path().join("norate.parquet");
    write_panel(
        &panel,
        &[
            ("L1", 202003, "C", "C", "CA"),
            ("L1", 202004, "C", "PP", "CA"),
        ],
    );
    let err = calibrate_err(&panel, &rates, &out);
    assert!(err.contains("202004") && err.contains("L1"), "{err}");

    let bad_rates = dir.path().join("bad.csv");
    std::fs::write(&bad_rates, "period,mortgage_rate\n202001,abc\n").unwrap();
    let err = calibrate_err(&panel, &bad_rates, &out);
    assert!(err.contains("line 2") && err.contains("abc"), "{err}");

    // No FC rows (and C → D90, which §D.3 has no arrow for, counted): the
    // foreclosure parameters are unidentified and stay at base.
    let panel = dir.path().join("nofc.parquet");
    let mut rows = Vec::new();
    let ids: Vec<String> = (0..40).map(|i| format!("L{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        rows.push((
            id.as_str(),
            202001,
            "C",
            if i % 3 == 0 { "D30" } else { "C" },
            "FL",
        ));
        rows.push((
            id.as_str(),
            202002,
            "D30",
            if i % 2 == 0 { "C" } else { "D30" },
            "FL",
        ));
        rows.push((
            id.as_str(),
            202003,
            "C",
            if i == 0 { "D90" } else { "PP" },
            "FL",
        ));
    }
    write_panel(&panel, &rows);
    ok(&msr(&[
        "calibrate",
        "behaviour",
        "--panel",
        s(&panel),
        "--rates",
        s(&rates),
        "--fix",
        "lockin,refi_max_cpr,refi_slope,refi_midpoint,burnout,refi_fico,seasonality,fico_beta,ltv_beta",
        "--out",
        s(&out),
        "--quiet",
    ]));
    let fit = json(&out.join("fit.json"));
    assert_eq!(fit["excluded_moves"]["C->D90"].as_u64(), Some(1));
    let p = &fit["parameters"];
    for name in [
        "reinstate",
        "fc_months_judicial",
        "fc_months_nonjudicial",
        "cure60",
    ] {
        assert_eq!(p[name]["identified"], false, "{name}");
        assert!(p[name]["std_error"].is_null());
        assert!(p[name]["note"].as_str().unwrap().len() > 5);
    }
    assert_eq!(p["fc_months_judicial"]["estimate"].as_f64(), Some(24.0));
    assert_eq!(p["reinstate"]["estimate"].as_f64(), Some(0.02));
    let text = std::fs::read_to_string(out.join("fit.json")).unwrap();
    assert!(!text.contains("NaN") && !text.contains("nan"));
    let toml = std::fs::read_to_string(out.join("calibrated.toml")).unwrap();
    assert!(!toml.contains("reinstate"), "{toml}");
}

/// A GSE file through the whole chain: `msr history freddie` builds the
/// panel with the importer's mapping, `msr calibrate behaviour` fits it (the
/// public files have no FC status: D120 → LIQ has no §D.3 arrow and is
/// counted, the FC parameters stay at base).
#[test]
fn freddie_history_to_a_fit() {
    let dir = tempfile::tempdir().unwrap();
    let panel = dir.path().join("panel.parquet");
    let fixtures = "crates/msr-io/tests/fixtures/import";
    let run = msr(&[
        "history",
        "freddie",
        "--origination",
        &format!("{fixtures}/freddie_orig_r46.txt"),
        "--performance",
        &format!("{fixtures}/freddie_history_perf.txt"),
        "--out",
        s(&panel),
    ]);
    ok(&run);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("6 panel rows") && stdout.contains("next_status MOD: 1"),
        "{stdout}"
    );
    let t = read_table(&panel).unwrap();
    assert_eq!(t.num_rows, 6);
    assert_eq!(t.text("next_status").unwrap()[1], "PP");
    let rates = dir.path().join("rates.csv");
    std::fs::write(
        &rates,
        "period,mortgage_rate\n202402,0.066\n202403,0.068\n202404,0.069\n",
    )
    .unwrap();
    let out = dir.path().join("fit");
    ok(&msr(&[
        "calibrate",
        "behaviour",
        "--panel",
        s(&panel),
        "--rates",
        s(&rates),
        "--out",
        s(&out),
        "--quiet",
    ]));
    let fit = json(&out.join("fit.json"));
    assert_eq!(fit["excluded_moves"]["D120->LIQ"].as_u64(), Some(1));
    assert_eq!(fit["loan_months"].as_u64(), Some(5));
    assert_eq!(fit["parameters"]["reinstate"]["identified"], false);
    // D90 → D120 once in one D90 row: roll90 = 1, cure90 = 0 (boundary).
    assert_eq!(fit["parameters"]["roll90"]["estimate"].as_f64(), Some(1.0));
    assert_eq!(fit["parameters"]["cure90"]["estimate"].as_f64(), Some(0.0));
    assert!(fit["parameters"]["cure90"]["std_error"].is_null());
}
