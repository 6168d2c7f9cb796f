//! End-to-end tests of `msr report`: a page built from a small real run
//! (`msr value`, `msr risk`, `msr repline` and a roll-forward fixture in the
//! `msr rollforward` schema) has every section and chart, the run's numbers,
//! and no external reference; absent inputs are named; errors exit 3 and 4;
//! and the page renders in headless Chromium (skipped with a message when
//! Chromium is not installed, unless MSR_REQUIRE_CHROMIUM=1).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support;
use support::{json, msr, ok, s};

/// Whole dollars with thousands separators, as the page prints them.
fn dollars(x: f64) -> String {
    let digits = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if x < 0.0 && digits != "0" {
        format!("-${out}")
    } else {
        format!("${out}")
    }
}

/// The sections of a full report, in page order.
const SECTIONS: [&str; 8] = [
    "run",
    "headline",
    "composition",
    "cashflows",
    "upb",
    "risk",
    "replines",
    "rollforward",
];

/// Every chart of a full report.
const CHARTS: [&str; 21] = [
    "chart-components",
    "chart-investor-upb",
    "chart-investor-bps",
    "chart-status-upb",
    "chart-status-bps",
    "chart-investor-status",
    "chart-investor-dq-share",
    "chart-noterate-upb",
    "chart-noterate-bps",
    "chart-cashflows",
    "chart-net",
    "chart-cumulative-pv",
    "chart-upb",
    "chart-upb-delinquent",
    "chart-dq-share",
    "chart-rate-shocks",
    "chart-krd",
    "chart-stresses",
    "chart-repline-buckets",
    "chart-repline-by-key",
    "chart-rollforward",
];

/// A small real run under `root`: a 120-loan tape in a directory whose name
/// needs escaping, `msr value` (16 paths) and `msr repline` into `run/`,
/// `msr risk` (8 paths) into `risk/`, and the roll-forward fixture in
/// `run/rollforward.json`.
struct Run {
    tape: PathBuf,
    dir: PathBuf,
    risk: PathBuf,
}

/// Rewrite a Parquet table without `drop`'s columns (outputs of an older build).
fn strip_columns(path: &Path, drop: &[&str]) {
    let table = msr_io::read_table(path).unwrap();
    let columns = table
        .names
        .iter()
        .filter(|n| !drop.contains(&n.as_str()))
        .map(|n| match &table.columns[n] {
            msr_io::TableColumn::Text(v) => msr_io::Column::utf8(n.as_str(), v.clone()),
            msr_io::TableColumn::Number(v) => msr_io::Column::f64_nullable(n.as_str(), v.clone()),
            other => panic!("column {n}: unexpected {other:?}"),
        })
        .collect();
    msr_io::write_parquet(path, columns, msr_io::ParquetOptions::default()).unwrap();
}

fn small_run(root: &Path) -> Run {
    let tapes = root.join("tapes & <co>");
    std::fs::create_dir_all(&tapes).unwrap();
    let tape = tapes.join("loans.parquet");
    ok(&msr(&[
        "generate",
        "--loans",
        "120",
        "--seed",
        "5",
        "--out",
        s(&tape),
    ]));
    let dir = root.join("run");
    ok(&msr(&[
        "value",
        "--loans",
        s(&tape),
        "--num-paths",
        "16",
        "--out",
        s(&dir),
        "-q",
    ]));
    ok(&msr(&[
        "repline",
        "--loans",
        s(&tape),
        "--num-paths",
        "16",
        "--keys",
        "investor,dq_status,note_rate",
        "--out",
        s(&dir),
        "-q",
    ]));
    let risk = root.join("risk");
    ok(&msr(&[
        "risk",
        "--loans",
        s(&tape),
        "--num-paths",
        "8",
        "--out",
        s(&risk),
        "-q",
    ]));
    let as_of = json(&dir.join("summary.json"))["as_of"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::write(dir.join("rollforward.json"), rollforward_fixture(&as_of)).unwrap();
    Run { tape, dir, risk }
}

/// A roll-forward in the `msr rollforward` schema; the steps add up, the
/// investors add up to the portfolio, and one investor name needs escaping.
fn rollforward_fixture(as_of: &str) -> String {
    serde_json::json!({
        "as_of_prior": "2026-10-31",
        "as_of": as_of,
        "num_paths": 16,
        "seed": 20261121,
        "beginning_value": 1_180_000.0,
        "ending_value": 1_222_275.0,
        "steps": [
            {"name": "loans_removed", "change": -35_000.0},
            {"name": "loans_added", "change": 52_000.0},
            {"name": "runoff_and_performance", "change": -21_725.0},
            {"name": "market", "change": 41_000.0},
            {"name": "assumptions", "change": 6_000.0}
        ],
        "by_investor": {
            "FNMA": {"beginning_value": 500_000.0, "ending_value": 520_000.0, "steps": [
                {"name": "loans_removed", "change": -15_000.0},
                {"name": "loans_added", "change": 22_000.0},
                {"name": "runoff_and_performance", "change": -9_000.0},
                {"name": "market", "change": 19_000.0},
                {"name": "assumptions", "change": 3_000.0}
            ]},
            "A&B<X>": {"beginning_value": 680_000.0, "ending_value": 702_275.0, "steps": [
                {"name": "loans_removed", "change": -20_000.0},
                {"name": "loans_added", "change": 30_000.0},
                {"name": "runoff_and_performance", "change": -12_725.0},
                {"name": "market", "change": 22_000.0},
                {"name": "assumptions", "change": 3_000.0}
            ]}
        },
        "loans": {"prior": 113, "current": 120, "removed": 9, "added": 16, "continuing": 104}
    })
    .to_string()
}

/// No script, stylesheet, image, frame, font or other fetch: every `src` or
/// `href` is an in-page anchor and no URL appears anywhere.
fn assert_self_contained(html: &str) {
    let lower = html.to_ascii_lowercase();
    for bad in [
        "<script",
        "<link",
        "<img",
        "<iframe",
        "<object",
        "<embed",
        "@import",
        "url(",
        "http://",
        "https://",
        "//cdn",
        "xlink:href",
    ] {
        assert!(!lower.contains(bad), "the page contains `{bad}`");
    }
    for attr in [" src=", " href="] {
        for (i, _) in lower.match_indices(attr) {
            let value = &lower[i + attr.len()..];
            assert!(
                value.starts_with("\"#"),
                "external {attr}: {}",
                &html[i..(i + 80).min(html.len())]
            );
        }
    }
}

/// Build the full report of a small run (risk by flag, the rest found in
/// the run directory).
fn full_report(root: &Path) -> (Run, PathBuf) {
    let run = small_run(root);
    let out = root.join("report.html");
    let done = msr(&[
        "report",
        s(&run.dir),
        "--risk",
        s(&run.risk),
        "--out",
        s(&out),
    ]);
    ok(&done);
    assert!(
        String::from_utf8_lossy(&done.stdout).starts_with(&format!("wrote {}", out.display())),
        "{}",
        String::from_utf8_lossy(&done.stdout)
    );
    (run, out)
}

#[test]
fn report_has_every_section_chart_and_number_and_no_external_reference() {
    let tmp = tempfile::tempdir().unwrap();
    let (run, out) = full_report(tmp.path());
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_self_contained(&html);

    let mut last = 0;
    for id in SECTIONS {
        let at = html
            .find(&format!(r#"<section id="{id}""#))
            .unwrap_or_else(|| panic!("section {id} missing"));
        assert!(at > last, "section {id} out of order");
        last = at;
        assert!(
            html.contains(&format!(r##"<a href="#{id}">"##)),
            "nav to {id}"
        );
    }
    for id in CHARTS {
        let tag = format!(r#"<svg class="chart" id="{id}""#);
        assert_eq!(html.matches(&tag).count(), 1, "chart {id}");
    }
    assert_eq!(html.matches("<svg").count(), CHARTS.len());
    assert!(html.contains("Every input was found."));

    // The run's own numbers and provenance.
    let summary = json(&run.dir.join("summary.json"));
    let manifest = json(&run.dir.join("manifest.json"));
    let value = summary["value"].as_f64().unwrap();
    assert!(html.contains(&dollars(value)), "value {}", dollars(value));
    assert!(html.contains(&dollars(summary["upb"].as_f64().unwrap())));
    assert!(html.contains(manifest["run_id"].as_str().unwrap()));
    assert!(html.contains(manifest["inputs"]["loans"]["sha256"].as_str().unwrap()));
    assert!(html.contains(manifest["inputs"]["config"]["sha256"].as_str().unwrap()));
    assert!(html.contains(&format!(
        "As of {} · run {}",
        summary["as_of"].as_str().unwrap(),
        manifest["run_id"].as_str().unwrap()
    )));
    // Every component's PV is in the table (costs with a minus sign).
    for (name, cost) in [("fee", false), ("cost", true), ("liq_loss", true)] {
        let v = summary["pv"][name].as_f64().unwrap();
        let shown = dollars(if cost { -v } else { v });
        assert!(
            html.contains(&format!(r#"<td class="n">{shown}</td>"#)),
            "{name} {shown}"
        );
    }
    // The investor totals add up to the book: 120 loans.
    assert!(html.contains(r#"<tr class="total"><td>Total</td><td class="n">120</td>"#));
    // The tape's path is shown escaped.
    assert!(html.contains("tapes &amp; &lt;co&gt;"));
    assert!(!html.contains("tapes & <co>"));
    assert!(!html.contains(r#"id="noterate-omitted""#));
    assert_eq!(
        manifest["inputs"]["loans"]["path"].as_str().unwrap(),
        s(&run.tape)
    );

    // Risk: the base value is msr value's (same paths? no: 8 vs 16), so the
    // page warns; the duration is printed to two decimals.
    let risk = json(&run.risk.join("risk.json"));
    let duration = risk["effective_duration"].as_f64().unwrap();
    assert!(
        html.contains(&format!(">{duration:.2}<")),
        "duration {duration:.2}"
    );
    assert!(html.contains("the risk run&#39;s base value"));
    assert_eq!(
        html.matches(r#"<td><code>parallel_"#).count(),
        10,
        "ten parallel shocks"
    );
    // Rep lines: the count, and the largest bucket error in the table.
    let rl = json(&run.dir.join("repline_summary.json"));
    let replines = rl["replines"].as_u64().unwrap().to_string();
    assert!(html.contains(&format!("in {replines} rep lines")));
    let top = &rl["top_buckets"][0];
    let diff = top["diff"].as_f64().unwrap();
    let sign = if dollars(diff) != "$0" && diff > 0.0 {
        "+"
    } else {
        ""
    };
    assert!(html.contains(&format!(
        r#"<td><code>{}</code></td>"#,
        top["bucket"]
            .as_str()
            .unwrap()
            .replace('>', "&gt;")
            .replace('<', "&lt;")
    )));
    assert!(html.contains(&format!(r#"<td class="n">{sign}{}</td>"#, dollars(diff))));
    // Roll-forward: the fixture's numbers and the escaped investor name.
    for text in [
        "$1,180,000",
        "$1,222,275",
        "-$35,000",
        "+$52,000",
        "-$21,725",
        "+$41,000",
        "+$6,000",
        "A&amp;B&lt;X&gt;",
        "Runoff and performance",
    ] {
        assert!(html.contains(text), "{text}");
    }
    assert!(!html.contains("A&B<X>"));
    assert!(!html.contains("do not add up"));
    assert!(!html.contains("The investors add up to"));
    // The fixture is not this run's roll-forward: the page says so.
    assert!(html.contains(&format!(
        "the roll-forward&#39;s ending value ($1,222,275) differs from the valuation&#39;s ({})",
        dollars(value)
    )));

    // A pure function of the files: the same bytes again.
    let again = tmp.path().join("again.html");
    ok(&msr(&[
        "report",
        s(&run.dir),
        "--risk",
        s(&run.risk),
        "--out",
        s(&again),
        "-q",
    ]));
    assert_eq!(std::fs::read(&again).unwrap(), html.as_bytes());
}

#[test]
fn a_bare_run_says_which_inputs_are_absent() {
    let tmp = tempfile::tempdir().unwrap();
    let tape = tmp.path().join("loans.parquet");
    ok(&msr(&[
        "generate",
        "--loans",
        "40",
        "--seed",
        "9",
        "--out",
        s(&tape),
    ]));
    let dir = tmp.path().join("run");
    ok(&msr(&[
        "value",
        "--loans",
        s(&tape),
        "--num-paths",
        "8",
        "--out",
        s(&dir),
        "-q",
    ]));
    let done = msr(&["report", s(&dir)]);
    ok(&done);
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(
        stdout.contains("absent: risk.json (msr risk), repline_summary.json (msr repline), rollforward.json (msr rollforward)"),
        "{stdout}"
    );
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert_self_contained(&html);
    for id in ["run", "headline", "composition", "cashflows", "upb"] {
        assert!(html.contains(&format!(r#"<section id="{id}""#)), "{id}");
    }
    for id in ["risk", "replines", "rollforward"] {
        assert!(!html.contains(&format!(r#"<section id="{id}""#)), "{id}");
        assert!(!html.contains(&format!(r##"href="#{id}""##)), "{id}");
    }
    assert!(html.contains(
        "Absent inputs: risk.json (msr risk), repline_summary.json (msr repline), rollforward.json (msr rollforward)."
    ));
    assert!(html.contains(r#"<svg class="chart" id="chart-noterate-upb""#));

    // Outputs of an older build, without the note_rate column: the note
    // rates come from the tape the manifest names, checked by its hash.
    strip_columns(
        &dir.join("loan_values.parquet"),
        &["note_rate", "servicing_fee"],
    );
    ok(&msr(&["report", s(&dir), "-q"]));
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("SHA-256 matches the manifest"));
    assert!(html.contains(r#"<svg class="chart" id="chart-noterate-upb""#));

    // The tape changes after the run: the note-rate chart is left out with
    // the reason; without cashflows.parquet its sections go too.
    ok(&msr(&[
        "generate",
        "--loans",
        "40",
        "--seed",
        "10",
        "--out",
        s(&tape),
    ]));
    std::fs::remove_file(dir.join("cashflows.parquet")).unwrap();
    ok(&msr(&["report", s(&dir), "-q"]));
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(!html.contains(r#"id="chart-noterate-upb""#));
    let omitted = html
        .split(r#"id="noterate-omitted">"#)
        .nth(1)
        .expect("omission note");
    assert!(
        omitted
            .starts_with("Chart omitted: loan_values.parquet has no note_rate column and the tape")
            && omitted.contains("no longer matches the SHA-256 in manifest.json"),
        "{}",
        &omitted[..200.min(omitted.len())]
    );
    for id in ["cashflows", "upb"] {
        assert!(!html.contains(&format!(r#"<section id="{id}""#)), "{id}");
    }
    assert!(html.contains("Absent inputs: cashflows.parquet, risk.json"));
    // The headline still stands on summary.json alone.
    assert!(html.contains(r#"<svg class="chart" id="chart-components""#));

    // A roll-forward in DIR/rollforward/ (msr rollforward's default place
    // under out/) is found without a flag.
    let as_of = json(&dir.join("summary.json"))["as_of"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::create_dir(dir.join("rollforward")).unwrap();
    std::fs::write(
        dir.join("rollforward").join("rollforward.json"),
        rollforward_fixture(&as_of),
    )
    .unwrap();
    ok(&msr(&["report", s(&dir), "-q"]));
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains(r#"<section id="rollforward""#));
    assert!(html.contains(r#"<svg class="chart" id="chart-rollforward""#));
    assert!(html.contains(
        &dir.join("rollforward")
            .join("rollforward.json")
            .display()
            .to_string()
    ));
}

#[test]
fn errors_are_one_line_with_input_and_output_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let one_line = |out: &Output, code: i32, needle: &str| {
        assert_eq!(out.status.code(), Some(code), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{err}");
    };
    let missing = tmp.path().join("nope");
    one_line(&msr(&["report", s(&missing)]), 3, "no such run directory");
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    one_line(&msr(&["report", s(&empty)]), 3, "no summary.json");
    assert!(!empty.join("report.html").exists());

    let tape = tmp.path().join("loans.parquet");
    ok(&msr(&[
        "generate",
        "--loans",
        "20",
        "--seed",
        "3",
        "--out",
        s(&tape),
    ]));
    let dir = tmp.path().join("run");
    ok(&msr(&[
        "value",
        "--loans",
        s(&tape),
        "--num-paths",
        "4",
        "--out",
        s(&dir),
        "-q",
    ]));
    // A flag naming a place without its file.
    one_line(&msr(&["report", s(&dir), "--risk", s(&empty)]), 3, "--risk");
    // An output whose directory cannot be created (its parent is a file).
    let blocked = tmp.path().join("loans.parquet").join("report.html");
    one_line(
        &msr(&["report", s(&dir), "--out", s(&blocked)]),
        4,
        "report.html",
    );
    // A damaged summary is bad input.
    std::fs::write(dir.join("summary.json"), "{\"as_of\": ").unwrap();
    one_line(&msr(&["report", s(&dir)]), 3, "summary.json");
    assert!(!dir.join("report.html").exists());
}

/// The Chromium binary, if installed (MSR_CHROMIUM overrides the search).
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MSR_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Run headless Chromium on a page with extra flags; its stdout. A hang is
/// killed after two minutes (a guard, not a timing assertion).
fn headless(browser: &Path, profile: &Path, page: &Path, flags: &[&str]) -> String {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(flags)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).map(|_| s)
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            assert!(status.success(), "chromium exited with {status}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within two minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.join().expect("reader").expect("chromium stdout")
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

#[test]
fn report_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        if std::env::var("MSR_REQUIRE_CHROMIUM").as_deref() == Ok("1") {
            panic!("MSR_REQUIRE_CHROMIUM=1 but no chromium on PATH");
        }
        eprintln!("skipped: chromium is not installed (apt-get install chromium; MSR_REQUIRE_CHROMIUM=1 makes this fail)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (_, page) = full_report(tmp.path());
    let profile = tmp.path().join("profile");

    // The DOM as the browser built it: every section and chart is there.
    let dom = headless(&browser, &profile, &page, &["--dump-dom"]);
    for id in SECTIONS {
        assert!(
            dom.contains(&format!(r#"<section id="{id}""#)),
            "DOM lacks section {id}"
        );
    }
    for id in CHARTS {
        assert!(
            dom.contains(&format!(r#"<svg class="chart" id="{id}""#)),
            "DOM lacks chart {id}"
        );
    }
    assert!(dom.matches("<rect").count() > 100, "charts have no bars");
    assert!(dom.contains("<polygon"), "no stacked areas");

    // A screenshot: the right size, and far more detail than a blank page
    // of the same size (a blank 1280x4000 PNG compresses to a few KB).
    let shot = tmp.path().join("report.png");
    headless(
        &browser,
        &profile,
        &page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,4000",
        ],
    );
    let blank_page = tmp.path().join("blank.html");
    std::fs::write(&blank_page, "<!DOCTYPE html><html><body></body></html>").unwrap();
    let blank = tmp.path().join("blank.png");
    headless(
        &browser,
        &profile,
        &blank_page,
        &[
            &format!("--screenshot={}", blank.display()),
            "--window-size=1280,4000",
        ],
    );
    let png = std::fs::read(&shot).unwrap();
    let empty = std::fs::read(&blank).unwrap();
    assert_eq!(png_size(&png), (1280, 4000));
    assert_eq!(png_size(&empty), (1280, 4000));
    assert!(
        png.len() > 100_000 && png.len() > 10 * empty.len(),
        "screenshot looks blank: {} bytes against {} for an empty page",
        png.len(),
        empty.len()
    );
}
