//! End-to-end tests of the accounting outputs (docs/accounting.md):
//! `msr disclose`, `msr amortize` and the workbook `marks.xlsx`. Every
//! weighted input is recomputed here by hand from `msr value`'s
//! loan_values.parquet and cashflows.parquet (same tape, paths and seed),
//! every sensitivity that `msr risk` also runs is compared with risk.json,
//! and the workbook is read back from its sheet XML.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support;
use support::{json, msr, ok, s};

use msr_io::parquet_in::TableColumn;
use msr_io::{read_table, Table};

const PATHS: &str = "8";

/// A 120-loan synthetic tape with a `pool_id` column (P0..P3) and a `book`
/// column (one value for every loan).
fn tape(dir: &Path) -> (PathBuf, Vec<msr_core::Loan>) {
    let path = dir.join("loans.parquet");
    let loans = msr_io::generate_book(120, 31);
    let pools: Vec<String> = (0..loans.len()).map(|k| format!("P{}", k % 4)).collect();
    let book: Vec<String> = vec!["all".to_string(); loans.len()];
    msr_io::write_tape_with_extra(
        &path,
        &loans,
        &[("pool_id", pools), ("book", book)],
        msr_io::TapeWriteOptions::default(),
    )
    .unwrap();
    (path, loans)
}

fn numbers(t: &Table, name: &str) -> Vec<f64> {
    match &t.columns[name] {
        TableColumn::Number(v) => v.iter().map(|x| x.unwrap()).collect(),
        _ => panic!("{name} is not a number column"),
    }
}

fn texts(t: &Table, name: &str) -> Vec<String> {
    match &t.columns[name] {
        TableColumn::Text(v) => v.clone(),
        _ => panic!("{name} is not a text column"),
    }
}

fn f(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"))
}

/// `|a − b| ≤ tol·max(1, |b|)`.
fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!(
        (a - b).abs() <= tol * b.abs().max(1.0),
        "{what}: {a} against {b}"
    );
}

fn run(args: &[&str]) {
    ok(&msr(args));
}

/// Σ_t flows_t (1 + y/12)^−t.
fn pv(flows: &[f64], y: f64) -> f64 {
    flows
        .iter()
        .enumerate()
        .map(|(k, c)| c / (1.0 + y / 12.0).powi(k as i32 + 1))
        .sum()
}

#[test]
fn disclosure_inputs_recompute_by_hand_and_stresses_equal_risk() {
    let tmp = tempfile::tempdir().unwrap();
    let (loans_path, loans) = tape(tmp.path());
    let (v, r, d) = (
        tmp.path().join("v"),
        tmp.path().join("r"),
        tmp.path().join("d"),
    );
    let common = ["--loans", s(&loans_path), "--num-paths", PATHS, "-q"];
    run(&[&["value"][..], &common, &["--out", s(&v)]].concat());
    run(&[&["risk"][..], &common, &["--out", s(&r)]].concat());
    run(&[&["disclose"][..], &common, &["--out", s(&d)]].concat());
    let doc = json(&d.join("disclosure.json"));
    let total = &doc["total"];
    let summary = json(&v.join("summary.json"));
    let risk = json(&r.join("risk.json"));

    // Fair value and UPB: msr value's, to the cent.
    assert!((f(&total["fair_value"]) - f(&summary["value"])).abs() < 0.005);
    assert!((f(&total["upb"]) - f(&summary["upb"])).abs() < 0.005);
    assert_eq!(total["loans"], loans.len());

    // Sensitivities that msr risk also runs: the same value to the cent.
    let risk_value = |name: &str| {
        risk["assumption_stresses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["scenario"] == name)
            .map(|s| f(&s["value"]))
            .unwrap_or_else(|| panic!("risk has {name}"))
    };
    let sens = total["sensitivities"].as_array().unwrap();
    let mut matched = 0;
    for s in sens {
        let code = match s["input"].as_str().unwrap() {
            "prepayment_speed" => "prepayment_speed",
            "cost_to_service" => "cost_to_service",
            "delinquency_roll" => "delinquency_roll",
            _ => continue,
        };
        let name = format!("{code}_+{}pct", f(&s["adverse_change_pct"]));
        let theirs = risk_value(&name);
        assert!(
            (f(&s["value"]) - theirs).abs() < 0.005,
            "{name}: disclose {} risk {theirs}",
            s["value"]
        );
        assert!(f(&s["change"]) < 0.0, "{name} is adverse: {}", s["change"]);
        matched += 1;
    }
    assert_eq!(matched, 6);

    // Loan-level inputs from loan_values.parquet.
    let lv = read_table(v.join("loan_values.parquet")).unwrap();
    let (upb, value) = (numbers(&lv, "upb"), numbers(&lv, "value"));
    let (note, fee) = (numbers(&lv, "note_rate"), numbers(&lv, "servicing_fee"));
    let dq = texts(&lv, "dq_status");
    let sum_upb: f64 = upb.iter().sum();
    let wavg = |x: &[f64]| x.iter().zip(&upb).map(|(a, u)| a * u).sum::<f64>() / sum_upb;
    let min = |x: &[f64]| x.iter().cloned().fold(f64::INFINITY, f64::min);
    let max = |x: &[f64]| x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let inputs = &total["inputs"];
    for (key, x) in [("note_rate", &note), ("servicing_fee", &fee)] {
        close(f(&inputs[key]["weighted_average"]), wavg(x), 1e-12, key);
        assert_eq!(f(&inputs[key]["min"]), min(x), "{key} min");
        assert_eq!(f(&inputs[key]["max"]), max(x), "{key} max");
    }
    let bps: Vec<f64> = value.iter().zip(&upb).map(|(v, u)| 1e4 * v / u).collect();
    close(
        f(&total["value_bps_range"]["min"]),
        min(&bps),
        1e-12,
        "bps min",
    );
    close(
        f(&total["value_bps_range"]["max"]),
        max(&bps),
        1e-12,
        "bps max",
    );
    let dq_upb: f64 = dq
        .iter()
        .zip(&upb)
        .filter(|(s, _)| s.as_str() != "C")
        .map(|(_, u)| u)
        .sum();
    close(
        f(&inputs["delinquency_30plus"]["now"]),
        dq_upb / sum_upb,
        1e-12,
        "dq now",
    );
    // Cost now: each loan's annual cost in its status (MODEL.md §I defaults),
    // weighted by the loans a record stands for.
    let cost_of = |s: &str| match s {
        "C" => 80.0,
        "D30" => 280.0,
        "D60" => 480.0,
        "D90" => 800.0,
        "D120" => 1100.0,
        "FC" => 1600.0,
        other => panic!("status {other}"),
    };
    let counts: Vec<f64> = loans.iter().map(|l| f64::from(l.loan_count)).collect();
    let cost_now = dq
        .iter()
        .zip(&counts)
        .map(|(s, n)| n * cost_of(s))
        .sum::<f64>()
        / counts.iter().sum::<f64>();
    let ctos = &inputs["cost_to_service_per_loan"];
    close(
        f(&ctos["all_now"]["weighted_average"]),
        cost_now,
        1e-12,
        "cost now",
    );
    assert_eq!(f(&ctos["performing"]), 80.0);

    // By investor: the groups' fair values are the loans' sums.
    let inv = texts(&lv, "investor");
    let mut by_inv: BTreeMap<String, f64> = BTreeMap::new();
    for (i, v) in inv.iter().zip(&value) {
        *by_inv.entry(i.clone()).or_default() += v;
    }
    let groups = doc["groups"].as_array().unwrap();
    assert_eq!(groups.len(), by_inv.len());
    for g in groups {
        let name = g["group"].as_str().unwrap();
        assert!((f(&g["fair_value"]) - by_inv[name]).abs() < 0.005, "{name}");
    }

    // Portfolio inputs from cashflows.parquet (expected amounts by month).
    let cf = read_table(v.join("cashflows.parquet")).unwrap();
    let col = |n: &str| numbers(&cf, n);
    let (net, prepaid, surviving) = (col("net"), col("prepaid_loans"), col("surviving_loans"));
    let states = [
        "upb_C", "upb_D30", "upb_D60", "upb_D90", "upb_D120", "upb_FC",
    ];
    let upb_t: Vec<f64> = (0..cf.num_rows)
        .map(|k| states.iter().map(|c| col(c)[k]).sum())
        .collect();
    let dq_t: Vec<f64> = (0..cf.num_rows)
        .map(|k| states[1..].iter().map(|c| col(c)[k]).sum())
        .collect();
    let n0: f64 = counts.iter().sum();
    let mut prev = n0;
    let (mut pp, mut exposure) = (0.0, 0.0);
    for k in 0..cf.num_rows {
        pp += prepaid[k];
        exposure += prev;
        prev = surviving[k];
    }
    let cpr = 1.0 - (1.0 - pp / exposure).powi(12);
    close(f(&inputs["prepayment_cpr"]), cpr, 1e-9, "lifetime CPR");
    let mut prev = sum_upb;
    let (mut num, mut den) = (0.0, 0.0);
    for (k, u) in upb_t.iter().enumerate() {
        num += (k + 1) as f64 / 12.0 * (prev - u);
        den += prev - u;
        prev = *u;
    }
    close(
        f(&inputs["weighted_average_life_years"]),
        num / den,
        1e-9,
        "WAL",
    );
    close(
        f(&inputs["delinquency_30plus"]["lifetime_average"]),
        dq_t.iter().sum::<f64>() / upb_t.iter().sum::<f64>(),
        1e-9,
        "dq lifetime",
    );
    let cost = col("cost");
    close(
        f(&ctos["all_lifetime"]),
        12.0 * cost.iter().sum::<f64>() / surviving.iter().sum::<f64>(),
        1e-9,
        "cost lifetime",
    );
    let float: Vec<f64> = col("float_pi")
        .iter()
        .zip(col("float_escrow"))
        .map(|(a, b)| a + b)
        .collect();
    let upb_start: f64 = sum_upb + upb_t[..upb_t.len() - 1].iter().sum::<f64>();
    close(
        f(&inputs["float_earnings"]["annual_rate_on_upb"]),
        12.0 * float.iter().sum::<f64>() / upb_start,
        1e-9,
        "float rate",
    );
    // The discount rate discounts the expected net flows to the fair value;
    // its adverse changes revalue those flows at 1.1 and 1.2 times the rate.
    let y = f(&inputs["discount_rate"]);
    let fv = f(&total["fair_value"]);
    close(pv(&net, y), fv, 1e-9, "PV at the discount rate");
    assert!(y > 0.0 && y < 1.0, "{y}");
    for s in sens.iter().filter(|s| s["input"] == "discount_rate") {
        let p = f(&s["adverse_change_pct"]);
        close(
            f(&s["change"]),
            pv(&net, y * (1.0 + p / 100.0)) - fv,
            1e-7,
            "discount-rate change",
        );
    }
    assert_eq!(inputs["oas"], 0.065);

    // disclosure.csv: the total row carries the JSON's numbers.
    let csv = std::fs::read_to_string(d.join("disclosure.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let cell = |n: &str| {
        row[header.iter().position(|h| *h == n).unwrap()]
            .parse::<f64>()
            .unwrap()
    };
    assert_eq!(row[0], "total");
    // (serde_json's float parsing is not always correctly rounded.)
    close(cell("fair_value"), fv, 1e-15, "csv fair value");
    close(cell("discount_rate"), y, 1e-15, "csv discount rate");
    close(
        cell("prepayment_speed_20pct_change"),
        f(&sens[1]["change"]),
        1e-15,
        "csv sensitivity",
    );
    assert_eq!(csv.lines().count(), 2 + groups.len());
}

/// The loan-level ranges of the lifetime figures (each loan's own expected
/// monthly amounts, `Detail::Profile`) are the extremes of the same figures
/// computed the other way: `--group-by loan_id` makes every loan a group,
/// whose row reads its projection from the group's exact monthly sums.
#[test]
fn lifetime_ranges_are_the_extremes_of_one_loan_groups() {
    let tmp = tempfile::tempdir().unwrap();
    let (loans_path, loans) = tape(tmp.path());
    let d = tmp.path().join("d");
    run(&[
        "disclose",
        "--loans",
        s(&loans_path),
        "--num-paths",
        PATHS,
        "-q",
        "--group-by",
        "loan_id",
        "--out",
        s(&d),
    ]);
    let doc = json(&d.join("disclosure.json"));
    let groups = doc["groups"].as_array().unwrap();
    assert_eq!(groups.len(), loans.len(), "one group per loan");
    let inputs = &doc["total"]["inputs"];
    for (range, figure) in [
        ("/prepayment_cpr_range", "/prepayment_cpr"),
        (
            "/weighted_average_life_years_range",
            "/weighted_average_life_years",
        ),
        ("/discount_rate_range", "/discount_rate"),
        (
            "/delinquency_30plus/lifetime_average_range",
            "/delinquency_30plus/lifetime_average",
        ),
    ] {
        let of_loans: Vec<f64> = groups
            .iter()
            .filter_map(|g| g["inputs"].pointer(figure).and_then(|v| v.as_f64()))
            .collect();
        assert!(
            of_loans.len() >= loans.len() - 2,
            "{figure}: {}",
            of_loans.len()
        );
        let lo = of_loans.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = of_loans.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        assert!(lo < hi, "{figure}: the loans differ");
        let r = inputs.pointer(range).unwrap_or_else(|| panic!("{range}"));
        close(f(&r["min"]), lo, 1e-9, &format!("{range} min"));
        close(f(&r["max"]), hi, 1e-9, &format!("{range} max"));
        // A group of one loan: its range is its own figure.
        let g = &groups[0]["inputs"];
        if let Some(x) = g.pointer(figure).and_then(|v| v.as_f64()) {
            let gr = g.pointer(range).unwrap();
            close(f(&gr["min"]), x, 1e-9, &format!("{figure} of one loan"));
            assert_eq!(gr["min"], gr["max"]);
        }
    }
    // Every discount-rate change is adverse: the rate is where each loan's
    // value falls through its fair value as the rate rises.
    let mut moved = 0;
    for g in groups
        .iter()
        .filter(|g| !g["inputs"]["discount_rate"].is_null())
    {
        for x in g["sensitivities"].as_array().unwrap() {
            if x["input"] == "discount_rate" {
                assert!(f(&x["change"]) < 0.0, "{}: {x}", g["group"]);
                moved += 1;
            }
        }
    }
    assert!(moved >= 2 * (loans.len() - 2), "{moved}");
    // disclosure.csv carries them as <figure>_min / _max.
    let csv = std::fs::read_to_string(d.join("disclosure.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let cell = |n: &str| {
        row[header
            .iter()
            .position(|h| *h == n)
            .unwrap_or_else(|| panic!("{n}"))]
        .parse::<f64>()
        .unwrap()
    };
    close(
        cell("discount_rate_max"),
        f(&inputs["discount_rate_range"]["max"]),
        1e-15,
        "csv discount rate max",
    );
    close(
        cell("prepayment_cpr_min"),
        f(&inputs["prepayment_cpr_range"]["min"]),
        1e-15,
        "csv CPR min",
    );
}

/// The basis file of the amortize tests.
fn basis(dir: &Path, rows: &[(&str, &str)]) -> PathBuf {
    let path = dir.join("basis.csv");
    let mut text = String::from("pool_id,carrying_amount\n");
    for (k, v) in rows {
        text.push_str(&format!("{k},{v}\n"));
    }
    std::fs::write(&path, text).unwrap();
    path
}

fn csv_table(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    (header, rows)
}

#[test]
fn amortization_sums_to_the_basis_and_impairment_matches_group_marks() {
    let tmp = tempfile::tempdir().unwrap();
    let (loans_path, _) = tape(tmp.path());
    let v = tmp.path().join("v");
    let common = ["--loans", s(&loans_path), "--num-paths", PATHS, "-q"];
    run(&[
        &["value"][..],
        &common,
        &["--group-by", "pool_id", "--out", s(&v)],
    ]
    .concat());
    // marks_by_pool_id.csv: the fair value of each pool.
    let (h, rows) = csv_table(&v.join("marks_by_pool_id.csv"));
    let fv_col = h.iter().position(|c| c == "fair_value").unwrap();
    let fair: BTreeMap<String, f64> = rows
        .iter()
        .map(|r| (r[1].clone(), r[fv_col].parse().unwrap()))
        .collect();
    assert_eq!(fair.len(), 4);
    // (--as-of is the built-in valuation.as_of: the date moves seasonality,
    // so a different one would value differently from msr value.)
    // Carrying amounts on both sides of the fair values: round numbers.
    let amounts = [("P0", 1.0e6), ("P1", 0.0), ("P2", 123456.78), ("P3", 5.0e5)];
    let text: Vec<(&str, String)> = amounts.iter().map(|(k, x)| (*k, x.to_string())).collect();
    let refs: Vec<(&str, &str)> = text.iter().map(|(k, x)| (*k, x.as_str())).collect();
    let b = basis(tmp.path(), &refs);
    let a = tmp.path().join("a");
    run(&[
        &["amortize"][..],
        &common,
        &[
            "--basis",
            s(&b),
            "--stratum",
            "pool_id",
            "--as-of",
            "2026-11-30",
            "--out",
            s(&a),
        ],
    ]
    .concat());
    let (h, rows) = csv_table(&a.join("impairment.csv"));
    assert_eq!(
        h,
        [
            "stratum",
            "loans",
            "upb",
            "carrying_amount",
            "fair_value",
            "valuation_allowance"
        ]
    );
    assert_eq!(rows.len(), 4);
    let mut some_impaired = false;
    for r in &rows {
        let basis: f64 = amounts.iter().find(|(k, _)| *k == r[0]).unwrap().1;
        let fv: f64 = r[4].parse().unwrap();
        assert!(
            (fv - fair[&r[0]]).abs() < 0.005,
            "{}: {fv} vs value's {}",
            r[0],
            fair[&r[0]]
        );
        let allowance: f64 = r[5].parse().unwrap();
        assert!(
            (allowance - (basis - fair[&r[0]]).max(0.0)).abs() < 0.005,
            "{}",
            r[0]
        );
        some_impaired |= allowance > 0.0;
    }
    assert!(
        some_impaired,
        "the test's bases put some stratum above its fair value"
    );
    let (h, rows) = csv_table(&a.join("amortization.csv"));
    assert_eq!(
        h,
        [
            "stratum",
            "month",
            "period",
            "beginning",
            "amortization",
            "ending"
        ]
    );
    for (k, carrying) in amounts {
        let mine: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == k).collect();
        let sum: f64 = mine.iter().map(|r| r[4].parse::<f64>().unwrap()).sum();
        assert!(
            (sum - carrying).abs() < 1e-6 * carrying.max(1.0),
            "{k}: {sum} vs {carrying}"
        );
        assert_eq!(
            mine[0][3].parse::<f64>().unwrap(),
            carrying,
            "{k} begins at the basis"
        );
        assert_eq!(mine.last().unwrap()[5], "0", "{k} ends at zero");
        assert_eq!(mine[0][2], "2026-12");
        for w in mine.windows(2) {
            assert_eq!(w[0][5], w[1][3], "{k}: ending is the next beginning");
        }
    }

    // One stratum holding every loan: amortization in proportion to the
    // book's positive expected net cash flow (msr value's cashflows.parquet).
    let cf = read_table(v.join("cashflows.parquet")).unwrap();
    let net = numbers(&cf, "net");
    let positive: f64 = net.iter().map(|x| x.max(0.0)).sum();
    let b2 = tmp.path().join("book.csv");
    std::fs::write(&b2, "book,carrying_amount\nall,1000000\n").unwrap();
    let a2 = tmp.path().join("a2");
    run(&[
        &["amortize"][..],
        &common,
        &["--basis", s(&b2), "--stratum", "book", "--out", s(&a2)],
    ]
    .concat());
    let (_, rows) = csv_table(&a2.join("amortization.csv"));
    let last = net.iter().rposition(|x| *x > 0.0).unwrap();
    // Two stratum columns: the strata are the pairs of values, named `P0|all`.
    let b3 = tmp.path().join("pairs.csv");
    std::fs::write(
        &b3,
        "book,pool_id,carrying_amount\nall,P0,1\nall,P1,2\nall,P2,3\nall,P3,4\n",
    )
    .unwrap();
    let a3 = tmp.path().join("a3");
    run(&[
        &["amortize"][..],
        &common,
        &[
            "--basis",
            s(&b3),
            "--stratum",
            "pool_id,book",
            "--out",
            s(&a3),
        ],
    ]
    .concat());
    let (_, pairs) = csv_table(&a3.join("impairment.csv"));
    let names: Vec<&str> = pairs.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(names, ["P0|all", "P1|all", "P2|all", "P3|all"]);
    for r in &pairs {
        let pool = r[0].split('|').next().unwrap();
        assert!(
            (r[4].parse::<f64>().unwrap() - fair[pool]).abs() < 0.005,
            "{pool}"
        );
    }
    assert_eq!(rows.len(), last + 1);
    for (k, r) in rows.iter().enumerate().take(last) {
        close(
            r[4].parse().unwrap(),
            1e6 * net[k].max(0.0) / positive,
            1e-9,
            &format!("month {}", k + 1),
        );
    }
}

#[test]
fn amortize_refuses_bad_input_with_one_line_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (loans_path, _) = tape(tmp.path());
    let all = [("P0", "1"), ("P1", "2"), ("P2", "3"), ("P3", "4")];
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            [&all[..], &[("P9", "5")]].concat(),
            "stratum `P9` has no loans",
        ),
        (all[..3].to_vec(), "which has no carrying amount"),
        (
            vec![("P0", "1"), ("P1", "-2"), ("P2", "3"), ("P3", "4")],
            "negative carrying amount",
        ),
        (
            vec![("P0", "1"), ("P1", "x"), ("P2", "3"), ("P3", "4")],
            "is not a number",
        ),
        ([&all[..], &[("P0", "5")]].concat(), "appears twice"),
    ];
    for (rows, message) in cases {
        let b = basis(tmp.path(), &rows);
        let out = tmp.path().join("a");
        let run = msr(&[
            "amortize",
            "--loans",
            s(&loans_path),
            "--num-paths",
            PATHS,
            "--basis",
            s(&b),
            "--stratum",
            "pool_id",
            "--out",
            s(&out),
        ]);
        let err = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(3), "{message}: {err}");
        assert!(err.contains(message), "{message}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        for f in ["amortization.csv", "impairment.csv", "amortization.json"] {
            assert!(!out.join(f).exists(), "{message}: {f} written");
        }
        // Not even the directory (and its lock file): the run created it.
        assert!(!out.exists(), "{message}: {} left behind", out.display());
    }
    // A date the configuration would refuse is refused here too (usage).
    let b = basis(tmp.path(), &all);
    let out = tmp.path().join("a");
    let run = msr(&[
        "amortize",
        "--loans",
        s(&loans_path),
        "--num-paths",
        PATHS,
        "--basis",
        s(&b),
        "--stratum",
        "pool_id",
        "--as-of",
        "2026-02-31",
        "--out",
        s(&out),
    ]);
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--as-of") && err.contains("2026-02-31"),
        "{err}"
    );
    assert!(!out.exists(), "left behind");
}

/// The cells of one worksheet: `(reference, value, is_text)`.
fn sheet_cells(xlsx: &Path, sheet: usize) -> Vec<(String, String, bool)> {
    let file = std::fs::File::open(xlsx).unwrap();
    let mut zip = zip::ZipArchive::new(file).unwrap();
    let mut xml = String::new();
    std::io::Read::read_to_string(
        &mut zip
            .by_name(&format!("xl/worksheets/sheet{sheet}.xml"))
            .unwrap(),
        &mut xml,
    )
    .unwrap();
    xml.split("<c r=\"")
        .skip(1)
        .filter_map(|c| {
            let r = c.split('"').next()?.to_string();
            let head = c.split('>').next()?;
            let text = head.contains("t=\"s\"") || head.contains("t=\"str\"");
            let v = c.split("<v>").nth(1)?.split("</v>").next()?.to_string();
            Some((r, v, text))
        })
        .collect()
}

fn column_of(reference: &str) -> String {
    reference
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect()
}

fn zip_text(xlsx: &Path, name: &str) -> String {
    let file = std::fs::File::open(xlsx).unwrap();
    let mut zip = zip::ZipArchive::new(file).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut zip.by_name(name).unwrap(), &mut text).unwrap();
    text
}

#[test]
fn workbook_numbers_are_numbers_and_totals_equal_marks_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let (loans_path, loans) = tape(tmp.path());
    let v = tmp.path().join("v");
    let common = ["--loans", s(&loans_path), "--num-paths", PATHS, "-q"];
    run(&[&["value"][..], &common, &["--xlsx", "--out", s(&v)]].concat());
    let xlsx = v.join("marks.xlsx");
    let book = zip_text(&xlsx, "xl/workbook.xml");
    for name in ["Marks", "By investor", "Summary"] {
        assert!(book.contains(&format!("name=\"{name}\"")), "sheet {name}");
    }
    // marks.csv: upb column 3, fair_value column 4 (columns D and E).
    let (_, rows) = csv_table(&v.join("marks.csv"));
    let csv_total: f64 = rows.iter().map(|r| r[4].parse::<f64>().unwrap()).sum();
    let cells = sheet_cells(&xlsx, 1);
    let fv: Vec<&(String, String, bool)> = cells
        .iter()
        .filter(|(r, _, _)| column_of(r) == "E" && r != "E1")
        .collect();
    assert_eq!(fv.len(), loans.len());
    assert!(
        fv.iter().all(|(_, _, text)| !text),
        "fair values stored as numbers"
    );
    let sheet_total: f64 = fv.iter().map(|(_, v, _)| v.parse::<f64>().unwrap()).sum();
    assert!(
        (sheet_total - csv_total).abs() < 0.005,
        "{sheet_total} vs {csv_total}"
    );
    // Each number equals the CSV's, bit for bit.
    for ((_, v, _), r) in fv.iter().zip(&rows) {
        assert_eq!(v.parse::<f64>().unwrap(), r[4].parse::<f64>().unwrap());
    }
    // Numeric cells carry a style (the number format).
    let xml = zip_text(&xlsx, "xl/worksheets/sheet1.xml");
    assert!(xml.contains("<c r=\"E2\" s=\""), "E2 has a number format");
    assert!(zip_text(&xlsx, "xl/styles.xml").contains("#,##0.00"));
    // By investor: its total row's fair value (column D) equals marks.csv's.
    let by = sheet_cells(&xlsx, 2);
    let last_row = by
        .iter()
        .map(|(r, _, _)| r[1..].parse::<u32>().unwrap())
        .max()
        .unwrap();
    let total_fv: f64 = by
        .iter()
        .find(|(r, _, _)| *r == format!("D{last_row}"))
        .unwrap()
        .1
        .parse()
        .unwrap();
    assert!(
        (total_fv - csv_total).abs() < 0.005,
        "{total_fv} vs {csv_total}"
    );
    let summary = json(&v.join("summary.json"));
    assert!((total_fv - f(&summary["value"])).abs() < 0.005);

    // msr disclose --xlsx: the same sheets and the Disclosure table, whose
    // first line is the fair value.
    let d = tmp.path().join("d");
    run(&[&["disclose"][..], &common, &["--xlsx", "--out", s(&d)]].concat());
    let xlsx = d.join("marks.xlsx");
    assert!(zip_text(&xlsx, "xl/workbook.xml").contains("name=\"Disclosure\""));
    let table = sheet_cells(&xlsx, 4);
    let b2: f64 = table
        .iter()
        .find(|(r, _, _)| r == "B2")
        .unwrap()
        .1
        .parse()
        .unwrap();
    let doc = json(&d.join("disclosure.json"));
    // (serde_json's float parsing is not always correctly rounded.)
    close(b2, f(&doc["total"]["fair_value"]), 1e-15, "Disclosure B2");
    assert!((b2 - csv_total).abs() < 0.005);
}

#[test]
fn report_gains_the_disclosure_table() {
    let tmp = tempfile::tempdir().unwrap();
    let (loans_path, _) = tape(tmp.path());
    let (v, d) = (tmp.path().join("v"), tmp.path().join("d"));
    let common = ["--loans", s(&loans_path), "--num-paths", PATHS, "-q"];
    run(&[&["value"][..], &common, &["--out", s(&v)]].concat());
    run(&[
        &["disclose"][..],
        &common,
        &["--group-by", "pool_id", "--out", s(&d)],
    ]
    .concat());
    run(&["report", s(&v), "--disclosure", s(&d), "-q"]);
    let html = std::fs::read_to_string(v.join("report.html")).unwrap();
    assert!(html.contains(r#"<section id="disclosure""#));
    assert!(html.contains(r##"href="#disclosure""##));
    let table = html
        .split(r#"<table id="table-disclosure">"#)
        .nth(1)
        .unwrap()
        .split("</table>")
        .next()
        .unwrap();
    // One column per pool, the discount rate as a percentage with two decimals.
    for pool in ["P0", "P1", "P2", "P3"] {
        assert!(table.contains(&format!(">{pool}</th>")), "{pool}");
    }
    let doc = json(&d.join("disclosure.json"));
    let y = f(&doc["total"]["inputs"]["discount_rate"]);
    assert!(table.contains(&format!("{:.2}%", 100.0 * y)), "{y}");
    assert!(table.contains("Prepayment speed: 20 % adverse change"));
    // The loan-level range of the discount rate, beside the average.
    let max = f(&doc["total"]["inputs"]["discount_rate_range"]["max"]);
    assert!(table.contains(&format!("{:.2}%", 100.0 * max)), "{max}");
    // Same tape, paths and seed: nothing to warn about. A disclosure on
    // other paths is flagged.
    assert!(
        !html.contains("disclosure&#x27;s fair value") && !html.contains("disclosure's fair value")
    );
    let d4 = tmp.path().join("d4");
    run(&[
        "disclose",
        "--loans",
        s(&loans_path),
        "--num-paths",
        "4",
        "-q",
        "--out",
        s(&d4),
    ]);
    run(&["report", s(&v), "--disclosure", s(&d4), "-q"]);
    let html = std::fs::read_to_string(v.join("report.html")).unwrap();
    assert!(
        html.contains("fair value (") && html.contains("differs from the valuation"),
        "the mismatch is noted"
    );
    // Without the flag and with no disclosure.json in the run, no section.
    run(&["report", s(&v), "-q"]);
    let html = std::fs::read_to_string(v.join("report.html")).unwrap();
    assert!(!html.contains(r#"<section id="disclosure""#));
}
