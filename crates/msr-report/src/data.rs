//! Loading a run's outputs for the report: `summary.json` (required),
//! `manifest.json`, `cashflows.parquet`, `loan_values.parquet` (with the
//! tape named in the manifest, for note rates), `rejects.csv`, and the
//! optional `risk.json`, `repline_summary.json` (+ `repline_compare.parquet`)
//! and `rollforward.json`. Files are read through `msr-io`; this module only
//! shapes them into what the page shows and records which inputs were absent
//! and why a chart had to be left out.
//!
//! A file that is absent makes its section disappear (the page says so); a
//! file that is present but unreadable is an input error (exit 3) naming it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::Result;
use msr_core::{Config, DqState, Investor};
use msr_io::Table;
use serde::de::DeserializeOwned;

use super::schema::{
    Bucket, Disclosure, GroupTotals, Manifest, OasFit, RatesFit, ReplineSummary, Risk, RollStep,
    Rollforward, RunInputs, Summary,
};
use crate::input;

/// Width of a note-rate bucket, in basis points.
pub const NOTE_RATE_STEP_BPS: f64 = 50.0;
/// Above this many 50 bp buckets, buckets are 100 bp wide.
const MAX_NOTE_RATE_BUCKETS: usize = 24;

/// Where the report's inputs are.
#[derive(Debug, Clone)]
pub struct Sources {
    /// The output directory of `msr value` (or `msr merge`).
    pub dir: PathBuf,
    /// `--risk`: a directory holding risk.json, or the file.
    pub risk: Option<PathBuf>,
    /// `--repline`: a directory holding repline_summary.json, or the file.
    pub repline: Option<PathBuf>,
    /// `--rollforward`: a directory holding rollforward.json, or the file.
    pub rollforward: Option<PathBuf>,
    /// `--calibration`: directories holding the fit.json of `msr calibrate
    /// rates` or `msr calibrate oas`, or the files.
    pub calibration: Vec<PathBuf>,
    /// `--disclosure`: a directory holding disclosure.json, or the file.
    pub disclosure: Option<PathBuf>,
}

/// cashflows.parquet, by month.
#[derive(Debug, Clone, Default)]
pub struct Cashflows {
    /// Month numbers.
    pub month: Vec<f64>,
    /// (component name, is a cost, expected amount per month); costs positive.
    pub components: Vec<(String, bool, Vec<f64>)>,
    /// Net cash flow per month.
    pub net: Option<Vec<f64>>,
    /// Discounted net cash flow per month.
    pub pv_net: Option<Vec<f64>>,
    /// (state code, expected UPB per month) in state order.
    pub upb: Vec<(String, Vec<f64>)>,
    /// Columns the file lacks.
    pub missing: Vec<String>,
}

/// The portfolio by note-rate bucket, or why it is left out.
#[derive(Debug, Clone)]
pub enum NoteRates {
    /// Buckets in rate order.
    Buckets {
        /// Where the note rates came from.
        source: String,
        /// Bucket width in bp.
        step_bps: f64,
        /// (label, lower edge in percent, totals).
        groups: Vec<(String, f64, GroupTotals)>,
        /// Loans of loan_values.parquet without a note rate, or not finite.
        unmatched: u64,
    },
    /// Why the chart is omitted.
    Omitted(String),
}

/// UPB of a two-way cut of the book: `upb[r][c]` for row label `rows[r]`
/// and column label `cols[c]`.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossTab {
    /// Row labels (investors).
    pub rows: Vec<String>,
    /// Column labels (statuses).
    pub cols: Vec<String>,
    /// UPB per cell.
    pub upb: Vec<Vec<f64>>,
}

/// One row-level rule broken by rejected rows, with its count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectReason {
    /// Column.
    pub column: String,
    /// Rule.
    pub rule: String,
    /// Rows.
    pub rows: u64,
}

/// The rep-line comparison: the summary and, when present, every bucket.
#[derive(Debug, Clone)]
pub struct Repline {
    /// repline_summary.json.
    pub summary: ReplineSummary,
    /// repline_compare.parquet (all buckets), else the summary's top buckets.
    pub buckets: Vec<Bucket>,
    /// Whether `buckets` holds every bucket.
    pub all_buckets: bool,
}

/// An optional input that was looked for.
#[derive(Debug, Clone)]
pub struct InputStatus {
    /// What it is ("risk.json (msr risk)").
    pub name: String,
    /// Where it was looked for or found.
    pub path: PathBuf,
    /// Found.
    pub present: bool,
    /// What its absence means for the report.
    pub effect: String,
}

/// Everything the page shows.
#[derive(Debug, Clone)]
pub struct ReportData {
    /// The run directory.
    pub dir: PathBuf,
    /// summary.json.
    pub summary: Summary,
    /// manifest.json.
    pub manifest: Option<Manifest>,
    /// cashflows.parquet.
    pub cashflows: Option<Cashflows>,
    /// By note rate.
    pub note_rates: NoteRates,
    /// Reasons rows were rejected (from rejects.csv), most frequent first.
    pub reject_reasons: Option<Vec<RejectReason>>,
    /// UPB by investor and status (from loan_values.parquet).
    pub investor_status: Option<CrossTab>,
    /// risk.json.
    pub risk: Option<Risk>,
    /// The rep-line comparison.
    pub repline: Option<Repline>,
    /// rollforward.json.
    pub rollforward: Option<Rollforward>,
    /// fit.json of `msr calibrate rates`.
    pub rates_fit: Option<RatesFit>,
    /// fit.json of `msr calibrate oas`.
    pub oas_fit: Option<OasFit>,
    /// disclosure.json (`msr disclose`), as read.
    pub disclosure: Option<Disclosure>,
    /// fit.json and backtest.parquet of `msr calibrate behaviour`.
    pub behaviour: Option<BehaviourFit>,
    /// Every input looked for.
    pub inputs: Vec<InputStatus>,
    /// Warnings for the reader (inputs that do not belong together, …).
    pub notes: Vec<String>,
}

fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    msr_io::read_json(path).map_err(input)
}

/// Where an optional input is: the flag's file (or `name` in the flag's
/// directory); else `name` in the run directory, or in its subdirectory
/// `subdir` (where `msr rollforward` writes by default: out/rollforward).
/// Returns the path found, or the first place looked, and whether found.
fn locate(
    flag: Option<&Path>,
    flag_name: &str,
    dir: &Path,
    subdir: &str,
    name: &str,
) -> Result<(PathBuf, bool)> {
    match flag {
        Some(p) => {
            let file = if p.is_dir() {
                p.join(name)
            } else {
                p.to_path_buf()
            };
            if file.is_file() {
                Ok((file, true))
            } else {
                Err(input(format!(
                    "{flag_name} {}: no {name} there",
                    p.display()
                )))
            }
        }
        None => {
            let here = dir.join(name);
            let below = dir.join(subdir).join(name);
            Ok(if here.is_file() {
                (here, true)
            } else if below.is_file() {
                (below, true)
            } else {
                (here, false)
            })
        }
    }
}

/// Load everything the report needs.
///
/// # Errors
/// Input error (exit 3) when the directory or its summary.json is missing,
/// a flag names a file that is not there, or a present file cannot be read.
pub fn load(src: &Sources) -> Result<ReportData> {
    let dir = &src.dir;
    if !dir.is_dir() {
        return Err(input(format!(
            "{}: no such run directory (give the --out directory of msr value)",
            dir.display()
        )));
    }
    let summary_path = dir.join("summary.json");
    if !summary_path.is_file() {
        return Err(input(format!(
            "{}: no summary.json; not the output directory of a finished msr value run",
            dir.display()
        )));
    }
    let summary: Summary = read_json(&summary_path)?;
    let mut inputs = Vec::new();
    let mut notes = Vec::new();
    let mut status = |name: &str, path: &Path, present: bool, effect: &str| {
        inputs.push(InputStatus {
            name: name.to_string(),
            path: path.to_path_buf(),
            present,
            effect: effect.to_string(),
        });
    };

    let manifest_path = dir.join("manifest.json");
    let manifest: Option<Manifest> = if manifest_path.is_file() {
        Some(read_json(&manifest_path)?)
    } else {
        None
    };
    status(
        "manifest.json",
        &manifest_path,
        manifest.is_some(),
        "run id, input hashes and rate-path provenance not shown (the run may not have finished)",
    );

    let cf_path = dir.join("cashflows.parquet");
    let cashflows = if cf_path.is_file() {
        Some(cashflows(&msr_io::read_table(&cf_path).map_err(input)?))
    } else {
        None
    };
    status(
        "cashflows.parquet",
        &cf_path,
        cashflows.is_some(),
        "projected cash flows and surviving UPB not shown",
    );

    let lv_path = dir.join("loan_values.parquet");
    let (note_rates, investor_status) = if lv_path.is_file() {
        let table = msr_io::read_table(&lv_path).map_err(input)?;
        (
            note_rates(&table, manifest.as_ref(), dir)?,
            investor_status(&table),
        )
    } else {
        (
            NoteRates::Omitted(format!("{} is absent", lv_path.display())),
            None,
        )
    };
    status(
        "loan_values.parquet",
        &lv_path,
        lv_path.is_file(),
        "composition by note rate and by investor × status not shown",
    );

    let rejects_path = dir.join("rejects.csv");
    let reject_reasons = if rejects_path.is_file() {
        Some(reject_reasons(
            &msr_io::read_rejects(&rejects_path).map_err(input)?,
        ))
    } else {
        None
    };
    status(
        "rejects.csv",
        &rejects_path,
        reject_reasons.is_some(),
        "the reasons rows were rejected not shown",
    );

    let (risk_path, found) = locate(src.risk.as_deref(), "--risk", dir, "risk", "risk.json")?;
    let risk: Option<Risk> = if found {
        Some(read_json(&risk_path)?)
    } else {
        None
    };
    status(
        "risk.json (msr risk)",
        &risk_path,
        found,
        "rate-shock and assumption-stress results not shown",
    );

    let (rl_path, found) = locate(
        src.repline.as_deref(),
        "--repline",
        dir,
        "repline",
        "repline_summary.json",
    )?;
    let repline = if found {
        Some(repline(&rl_path)?)
    } else {
        None
    };
    status(
        "repline_summary.json (msr repline)",
        &rl_path,
        found,
        "rep-line error by bucket not shown",
    );

    let (rf_path, found) = locate(
        src.rollforward.as_deref(),
        "--rollforward",
        dir,
        "rollforward",
        "rollforward.json",
    )?;
    let rollforward: Option<Rollforward> = if found {
        Some(read_json(&rf_path)?)
    } else {
        None
    };
    status(
        "rollforward.json (msr rollforward)",
        &rf_path,
        found,
        "value roll-forward not shown",
    );

    let (mut rates_fit, mut oas_fit, mut behaviour) = (None, None, None);
    for flag in &src.calibration {
        let file = if flag.is_dir() {
            flag.join("fit.json")
        } else {
            flag.clone()
        };
        if !file.is_file() {
            return Err(input(format!(
                "{}: not found (--calibration names the output directory of msr calibrate, or its fit.json)",
                file.display()
            )));
        }
        let doc: serde_json::Value = read_json(&file)?;
        let parsed = |e: serde_json::Error| input(format!("{}: {e}", file.display()));
        match doc.get("kind").and_then(|k| k.as_str()) {
            Some("swaption_calibration") => {
                rates_fit = Some(serde_json::from_value(doc).map_err(parsed)?);
                status("fit.json (msr calibrate rates)", &file, true, "");
            }
            Some("oas_calibration") => {
                oas_fit = Some(serde_json::from_value(doc).map_err(parsed)?);
                status("fit.json (msr calibrate oas)", &file, true, "");
            }
            Some("behaviour_calibration") => {
                let doc = serde_json::from_value(doc).map_err(parsed)?;
                behaviour = Some(load_behaviour(&file, &doc)?);
                status("fit.json (msr calibrate behaviour)", &file, true, "");
            }
            _ => {
                return Err(input(format!(
                    "{}: not the fit.json of msr calibrate (no kind swaption_calibration, oas_calibration or behaviour_calibration)",
                    file.display()
                )))
            }
        }
    }

    let (dc_path, found) = locate(
        src.disclosure.as_deref(),
        "--disclosure",
        dir,
        "disclosure",
        "disclosure.json",
    )?;
    let disclosure: Option<Disclosure> = if found {
        Some(read_json(&dc_path)?)
    } else {
        None
    };
    // Listed only when present: the disclosure is an accounting output, not
    // one a risk reader's page is incomplete without.
    if found {
        status("disclosure.json (msr disclose)", &dc_path, true, "");
    }

    consistency_notes(
        &summary,
        manifest.as_ref(),
        risk.as_ref(),
        rollforward.as_ref(),
        &mut notes,
    );
    if let Some(d) = &disclosure {
        disclosure_notes(&summary, manifest.as_ref(), d, &mut notes);
    }
    if summary.non_finite_loans > 0 {
        notes.push(format!(
            "{} loans had a non-finite value and are left out of every total (listed in summary.json)",
            summary.non_finite_loans
        ));
    }
    Ok(ReportData {
        dir: dir.clone(),
        summary,
        manifest,
        cashflows,
        note_rates,
        reject_reasons,
        investor_status,
        risk,
        repline,
        rollforward,
        rates_fit,
        oas_fit,
        disclosure,
        behaviour,
        inputs,
        notes,
    })
}

/// Warn when the optional inputs do not describe the same book and date as
/// the valuation, and when a roll-forward does not add up.
fn consistency_notes(
    summary: &Summary,
    manifest: Option<&Manifest>,
    risk: Option<&Risk>,
    roll: Option<&Rollforward>,
    notes: &mut Vec<String>,
) {
    if let Some(r) = risk {
        if r.as_of != summary.as_of {
            notes.push(format!(
                "risk.json is as of {}, the valuation as of {}",
                r.as_of, summary.as_of
            ));
        }
        let tape = |m: &RunInputs| m.loans.sha256.clone();
        if let (Some(m), Some(run)) = (manifest, &r.run) {
            if tape(&m.inputs) != tape(&run.inputs) {
                notes.push(
                    "risk.json was computed on a different tape from the valuation's (SHA-256 differs)"
                        .to_string(),
                );
            }
        }
        if r.value != summary.value {
            notes.push(format!(
                "the risk run's base value ({}) differs from the valuation's ({}): different paths, seed or inputs",
                super::fmt::dollars(r.value),
                super::fmt::dollars(summary.value)
            ));
        }
    }
    if let Some(rf) = roll {
        if rf.as_of != summary.as_of {
            notes.push(format!(
                "rollforward.json ends at {}, the valuation is as of {}",
                rf.as_of, summary.as_of
            ));
        }
        if rf.as_of == summary.as_of && rf.ending_value != summary.value {
            notes.push(format!(
                "the roll-forward's ending value ({}) differs from the valuation's ({}): different paths, seed or inputs",
                super::fmt::dollars(rf.ending_value),
                super::fmt::dollars(summary.value)
            ));
        }
        let residual = roll_residual(rf.beginning_value, &rf.steps, rf.ending_value);
        if residual.abs() > 0.5e-6 * rf.ending_value.abs().max(1.0) {
            notes.push(format!(
                "the roll-forward steps do not add up: beginning + steps − ending = {}",
                super::fmt::dollars_dp(residual, 2)
            ));
        }
    }
}

/// Whether the disclosure belongs beside the valuation: its date, its
/// tape (SHA-256, when both record it) and its fair value (the same number
/// as the valuation's for the same tape, paths and seed).
fn disclosure_notes(
    summary: &Summary,
    manifest: Option<&Manifest>,
    d: &Disclosure,
    notes: &mut Vec<String>,
) {
    if d.as_of != summary.as_of {
        notes.push(format!(
            "disclosure.json is as of {}, the valuation as of {}",
            d.as_of, summary.as_of
        ));
    }
    let tape = d.run.as_ref().map(|r| r.inputs.loans.sha256.as_str());
    if let (Some(m), Some(tape)) = (manifest, tape) {
        if m.inputs.loans.sha256 != tape {
            notes.push(
                "disclosure.json was computed on a different tape from the valuation's (SHA-256 differs)"
                    .to_string(),
            );
        }
    }
    let fv = d.total.fair_value;
    // (To the cent: the two are the same exact sum for the same inputs.)
    if (fv - summary.value).abs() > 0.005 {
        notes.push(format!(
            "the disclosure's fair value ({}) differs from the valuation's ({}): different paths, seed or inputs",
            super::fmt::dollars(fv),
            super::fmt::dollars(summary.value)
        ));
    }
}

/// beginning + Σ steps − ending.
pub fn roll_residual(beginning: f64, steps: &[RollStep], ending: f64) -> f64 {
    beginning + steps.iter().map(|s| s.change).sum::<f64>() - ending
}

fn numbers(table: &Table, name: &str) -> Option<Vec<f64>> {
    table
        .numbers(name)
        .map(|v| v.iter().map(|x| x.unwrap_or(f64::NAN)).collect())
}

/// Shape cashflows.parquet, noting columns it lacks.
fn cashflows(table: &Table) -> Cashflows {
    let mut cf = Cashflows::default();
    match numbers(table, "month") {
        Some(m) => cf.month = m,
        None => {
            cf.missing.push("month".into());
            cf.month = (1..=table.num_rows).map(|m| m as f64).collect();
        }
    }
    for (_, name, is_cost) in msr_model::COMPONENTS {
        match numbers(table, name) {
            Some(v) => cf.components.push((name.to_string(), is_cost, v)),
            None => cf.missing.push(name.to_string()),
        }
    }
    cf.net = numbers(table, "net");
    cf.pv_net = numbers(table, "pv_net");
    for (name, col) in [("net", &cf.net), ("pv_net", &cf.pv_net)] {
        if col.is_none() {
            cf.missing.push(name.to_string());
        }
    }
    for state in DqState::ALL {
        let col = format!("upb_{}", state.code());
        match numbers(table, &col) {
            Some(v) => cf.upb.push((state.code().to_string(), v)),
            None => cf.missing.push(col),
        }
    }
    cf
}

/// UPB by investor and delinquency status, summed over loan_values.parquet
/// (`None` when a column is missing).
fn investor_status(table: &Table) -> Option<CrossTab> {
    let inv = table.text("investor")?;
    let st = table.text("dq_status")?;
    let upb = table.numbers("upb")?;
    let mut cells: BTreeMap<(String, String), f64> = BTreeMap::new();
    for ((i, s), u) in inv.iter().zip(st).zip(upb) {
        if let Some(u) = u.filter(|u| u.is_finite()) {
            *cells.entry((i.clone(), s.clone())).or_default() += u;
        }
    }
    let rows = investor_order(
        cells
            .keys()
            .map(|(i, _)| i.clone())
            .collect::<std::collections::BTreeSet<_>>(),
    );
    let cols = status_order(
        cells
            .keys()
            .map(|(_, s)| s.clone())
            .collect::<std::collections::BTreeSet<_>>(),
    );
    let upb = rows
        .iter()
        .map(|r| {
            cols.iter()
                .map(|c| cells.get(&(r.clone(), c.clone())).copied().unwrap_or(0.0))
                .collect()
        })
        .collect();
    Some(CrossTab { rows, cols, upb })
}

/// Investors in the engine's order, then any other names.
pub fn investor_order(names: impl IntoIterator<Item = String>) -> Vec<String> {
    order_by(names, &Investor::ALL.map(|i| i.code()))
}

/// Statuses in chain order (C, D30 … FC), then any other names.
pub fn status_order(names: impl IntoIterator<Item = String>) -> Vec<String> {
    order_by(names, &DqState::ALL.map(|s| s.code()))
}

fn order_by(names: impl IntoIterator<Item = String>, known: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.into_iter().collect();
    v.sort_by_key(|n| {
        (
            known.iter().position(|k| k == n).unwrap_or(known.len()),
            n.clone(),
        )
    });
    v
}

/// Resolve a path recorded in a manifest: as given (relative to the
/// current directory), else relative to the run directory's parent or the
/// run directory itself.
fn resolve_recorded(path: &Path, dir: &Path) -> Option<PathBuf> {
    if path.is_absolute() {
        return path.is_file().then(|| path.to_path_buf());
    }
    let mut candidates = vec![path.to_path_buf()];
    if let Some(parent) = dir.parent() {
        candidates.push(parent.join(path));
    }
    candidates.push(dir.join(path));
    candidates.into_iter().find(|p| p.is_file())
}

/// A loan's note rate and servicing fee (when known), or nothing.
type RateFee = Option<(f64, Option<f64>)>;

/// Per-loan note rates and fees: from loan_values.parquet when it has a
/// `note_rate` column, else from the tape named in the manifest when it is
/// there and its hash matches.
fn note_rates(table: &Table, manifest: Option<&Manifest>, dir: &Path) -> Result<NoteRates> {
    let (Some(ids), Some(upb), Some(value)) = (
        table.text("loan_id"),
        table.numbers("upb"),
        table.numbers("value"),
    ) else {
        return Ok(NoteRates::Omitted(
            "loan_values.parquet lacks loan_id, upb or value".into(),
        ));
    };
    // (note rate, servicing fee) per row.
    let (rates, source): (Vec<RateFee>, String) = if let Some(rate) = table.numbers("note_rate") {
        let fee = table.numbers("servicing_fee");
        (
            rate.iter()
                .enumerate()
                .map(|(i, r)| r.map(|r| (r, fee.and_then(|f| f[i]))))
                .collect(),
            "loan_values.parquet".into(),
        )
    } else {
        let Some(m) = manifest else {
            return Ok(NoteRates::Omitted(
                    "loan_values.parquet has no note_rate column and there is no manifest.json naming the tape".into(),
                ));
        };
        let recorded = &m.inputs.loans.path;
        let Some(tape) = resolve_recorded(recorded, dir) else {
            return Ok(NoteRates::Omitted(format!(
                    "loan_values.parquet has no note_rate column and the tape named in manifest.json ({}) was not found",
                    recorded.display()
                )));
        };
        let sha = msr_io::hash::sha256_file(&tape).map_err(input)?;
        if sha != m.inputs.loans.sha256 {
            return Ok(NoteRates::Omitted(format!(
                    "loan_values.parquet has no note_rate column and the tape {} no longer matches the SHA-256 in manifest.json (it changed after the run)",
                    tape.display()
                )));
        }
        let config: Config = match &m.resolved_config {
                Some(v) => match serde_json::from_value(v.clone()) {
                    Ok(c) => c,
                    Err(e) => {
                        return Ok(NoteRates::Omitted(format!(
                            "the resolved configuration in manifest.json cannot be read ({e}), so the tape's column mapping is unknown"
                        )))
                    }
                },
                None => Config::default(),
            };
        let by_id = tape_rates(&tape, &config)?;
        (
            ids.iter()
                .map(|id| by_id.get(id.as_str()).map(|&(r, f)| (r, Some(f))))
                .collect(),
            format!("the tape {} (SHA-256 matches the manifest)", tape.display()),
        )
    };
    Ok(bucket_note_rates(&rates, upb, value, source))
}

/// loan_id → (note rate, servicing fee) of a tape's valid loans, streamed.
fn tape_rates(tape: &Path, config: &Config) -> Result<HashMap<String, (f64, f64)>> {
    let mut reader = msr_io::TapeReader::open(tape, &config.tape).map_err(input)?;
    let mut map = HashMap::new();
    while let Some(batch) = reader.next_batch().map_err(input)? {
        for l in batch.loans {
            map.insert(l.loan_id, (l.note_rate, l.servicing_fee));
        }
    }
    Ok(map)
}

/// The bucket index of a note rate (left-closed buckets of `step` bp, on the
/// rate rounded to 1e-6 bp as the rep lines do, so 2.75 % is in 275).
pub fn note_rate_bucket(rate: f64, step_bps: f64) -> i64 {
    let bp = (rate * 1e4 * 1e6).round() / 1e6;
    (bp / step_bps).floor() as i64
}

fn bucket_note_rates(
    rates: &[RateFee],
    upb: &[Option<f64>],
    value: &[Option<f64>],
    source: String,
) -> NoteRates {
    let finite = |i: usize| -> Option<(f64, Option<f64>, f64, f64)> {
        let (r, fee) = rates.get(i).copied().flatten()?;
        let u = upb.get(i).copied().flatten()?;
        let v = value.get(i).copied().flatten()?;
        (r.is_finite() && u.is_finite() && v.is_finite()).then_some((r, fee, u, v))
    };
    let rows: Vec<_> = (0..upb.len()).map(finite).collect();
    let unmatched = rows.iter().filter(|r| r.is_none()).count() as u64;
    let valid: Vec<_> = rows.into_iter().flatten().collect();
    if valid.is_empty() {
        return NoteRates::Omitted(format!("no loan has a note rate in {source}"));
    }
    let span = |step: f64| {
        let ks = valid.iter().map(|(r, ..)| note_rate_bucket(*r, step));
        let (lo, hi) = ks.fold((i64::MAX, i64::MIN), |(a, b), k| (a.min(k), b.max(k)));
        (hi - lo + 1) as usize
    };
    let step = if span(NOTE_RATE_STEP_BPS) > MAX_NOTE_RATE_BUCKETS {
        2.0 * NOTE_RATE_STEP_BPS
    } else {
        NOTE_RATE_STEP_BPS
    };
    // bucket → (records, upb, value, fee base, fee known for every loan)
    let mut acc: BTreeMap<i64, (u64, f64, f64, f64, bool)> = BTreeMap::new();
    for (r, fee, u, v) in valid {
        let e = acc
            .entry(note_rate_bucket(r, step))
            .or_insert((0, 0.0, 0.0, 0.0, true));
        e.0 += 1;
        e.1 += u;
        e.2 += v;
        match fee {
            Some(f) => e.3 += f * u,
            None => e.4 = false,
        }
    }
    let groups = acc
        .into_iter()
        .map(|(k, (records, upb, value, fee_base, fee_known))| {
            let lo = k as f64 * step / 100.0;
            let hi = (k + 1) as f64 * step / 100.0;
            (
                format!("{lo:.2}–{hi:.2}%"),
                lo,
                GroupTotals {
                    records,
                    upb,
                    value,
                    value_bps: (upb > 0.0).then(|| 1e4 * value / upb),
                    multiple: (fee_known && fee_base > 0.0).then(|| value / fee_base),
                },
            )
        })
        .collect();
    NoteRates::Buckets {
        source,
        step_bps: step,
        groups,
        unmatched,
    }
}

/// Count rejected rows by (column, rule), most frequent first.
fn reject_reasons(rejects: &[msr_core::Reject]) -> Vec<RejectReason> {
    let mut counts: BTreeMap<(String, String), u64> = BTreeMap::new();
    for r in rejects {
        *counts
            .entry((r.column.clone(), r.rule.clone()))
            .or_default() += 1;
    }
    let mut v: Vec<RejectReason> = counts
        .into_iter()
        .map(|((column, rule), rows)| RejectReason { column, rule, rows })
        .collect();
    v.sort_by(|a, b| b.rows.cmp(&a.rows).then_with(|| a.column.cmp(&b.column)));
    v
}

/// repline_summary.json and, next to it, repline_compare.parquet.
fn repline(summary_path: &Path) -> Result<Repline> {
    let summary: ReplineSummary = read_json(summary_path)?;
    let compare = summary_path
        .parent()
        .unwrap_or(Path::new("."))
        .join("repline_compare.parquet");
    if compare.is_file() {
        let t = msr_io::read_table(&compare).map_err(input)?;
        let col = |name: &str| -> Result<Vec<f64>> {
            numbers(&t, name)
                .ok_or_else(|| input(format!("{}: no numeric column `{name}`", compare.display())))
        };
        let ids = t
            .text("bucket")
            .ok_or_else(|| input(format!("{}: no text column `bucket`", compare.display())))?;
        let (records, upb, vl, vr, diff) = (
            col("records")?,
            col("upb")?,
            col("value_loans")?,
            col("value_repline")?,
            col("diff")?,
        );
        let diff_bps = numbers(&t, "diff_bps");
        let loans = numbers(&t, "loans");
        let abs_share = numbers(&t, "abs_share");
        let buckets = (0..t.num_rows)
            .map(|i| Bucket {
                bucket: ids[i].clone(),
                records: records[i].max(0.0) as u64,
                loans: loans.as_ref().map_or(0, |n| n[i].max(0.0) as u64),
                abs_share: abs_share.as_ref().map(|a| a[i]),
                upb: upb[i],
                value_loans: vl[i],
                value_repline: vr[i],
                diff: diff[i],
                diff_bps: diff_bps.as_ref().map(|d| d[i]),
            })
            .collect();
        Ok(Repline {
            summary,
            buckets,
            all_buckets: true,
        })
    } else {
        let buckets = summary.top_buckets.clone();
        Ok(Repline {
            summary,
            buckets,
            all_buckets: false,
        })
    }
}

/// The `key=label` pairs of a rep-line bucket id.
pub fn bucket_labels(id: &str) -> Vec<(String, String)> {
    id.strip_prefix("RL:")
        .unwrap_or(id)
        .split('|')
        .filter_map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_rate_buckets_are_left_closed_on_rounded_bp() {
        assert_eq!(note_rate_bucket(0.0275, 25.0), 11);
        assert_eq!(note_rate_bucket(0.0275, 50.0), 5);
        assert_eq!(note_rate_bucket(0.0349999, 50.0), 6);
        assert_eq!(note_rate_bucket(0.035, 50.0), 7);
    }

    #[test]
    fn buckets_sum_their_loans() {
        let rates = vec![
            Some((0.0301, Some(0.0025))),
            Some((0.0349, Some(0.0025))),
            Some((0.0650, Some(0.005))),
            None,
        ];
        let upb = vec![Some(100.0), Some(300.0), Some(1000.0), Some(5.0)];
        let value = vec![Some(1.0), Some(2.0), Some(-4.0), Some(1.0)];
        let NoteRates::Buckets {
            groups,
            unmatched,
            step_bps,
            ..
        } = bucket_note_rates(&rates, &upb, &value, "t".into())
        else {
            panic!("omitted")
        };
        assert_eq!(step_bps, 50.0);
        assert_eq!(unmatched, 1);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].0, "3.00–3.50%");
        assert_eq!(groups[0].2.records, 2);
        assert_eq!(groups[0].2.upb, 400.0);
        assert_eq!(groups[0].2.value, 3.0);
        assert_eq!(groups[0].2.value_bps, Some(75.0));
        assert_eq!(groups[0].2.multiple, Some(3.0 / 1.0));
        assert_eq!(groups[1].0, "6.50–7.00%");
        assert_eq!(groups[1].2.multiple, Some(-4.0 / 5.0));
    }

    #[test]
    fn orders_follow_the_engine() {
        let s = status_order(["FC", "C", "D120", "D30", "X"].map(String::from));
        assert_eq!(s, ["C", "D30", "D120", "FC", "X"]);
        let i = investor_order(["PLS", "GNMA", "FNMA"].map(String::from));
        assert_eq!(i, ["FNMA", "GNMA", "PLS"]);
    }

    #[test]
    fn bucket_ids_split_into_labels() {
        assert_eq!(
            bucket_labels("RL:investor=FNMA|dq_status=C|fico=>=760"),
            vec![
                ("investor".to_string(), "FNMA".to_string()),
                ("dq_status".to_string(), "C".to_string()),
                ("fico".to_string(), ">=760".to_string()),
            ]
        );
        assert!(bucket_labels("RL:all").is_empty());
    }

    #[test]
    fn rejects_are_counted_by_rule() {
        let r = |c: &str, rule: &str| msr_core::Reject {
            row: 0,
            loan_id: "x".into(),
            column: c.into(),
            value: "v".into(),
            rule: rule.into(),
        };
        let v = reject_reasons(&[r("upb", "> 0"), r("fico", "300..850"), r("upb", "> 0")]);
        assert_eq!(
            v[0],
            RejectReason {
                column: "upb".into(),
                rule: "> 0".into(),
                rows: 2
            }
        );
        assert_eq!(v[1].rows, 1);
    }
}

/// One estimated parameter of `msr calibrate behaviour`.
#[derive(Debug, Clone, PartialEq)]
pub struct BehaviourParam {
    /// Name (a configuration key).
    pub name: String,
    /// Estimate.
    pub estimate: f64,
    /// Standard error, when there is one.
    pub std_error: Option<f64>,
    /// Base value.
    pub initial: f64,
    /// Identified by the data.
    pub identified: bool,
    /// Held at the base value.
    pub fixed: bool,
}

/// One line of backtest.parquet.
#[derive(Debug, Clone, PartialEq)]
pub struct BacktestLine {
    /// `in` or `out` (of sample).
    pub sample: String,
    /// `all`, `period`, `investor`, `incentive`, `status`.
    pub dimension: String,
    /// Segment label.
    pub segment: String,
    /// Order of the segment within its dimension.
    pub order: f64,
    /// Metric (`cpr`, `dq_entry`, `roll30`, ...).
    pub metric: String,
    /// Rows at risk.
    pub exposure: f64,
    /// Rows that moved.
    pub events: f64,
    /// Actual rate.
    pub actual: f64,
    /// Fitted rate.
    pub predicted: f64,
}

/// The outputs of `msr calibrate behaviour`.
#[derive(Debug, Clone, PartialEq)]
pub struct BehaviourFit {
    /// Parameters in fit.json order.
    pub params: Vec<BehaviourParam>,
    /// Loan-months fitted.
    pub loan_months: f64,
    /// Loans fitted.
    pub loans: f64,
    /// Log-likelihood.
    pub log_likelihood: f64,
    /// Converged.
    pub converged: bool,
    /// First out-of-sample month, if any.
    pub holdout_from: Option<f64>,
    /// Moves left out (no §D.3 arrow).
    pub excluded_total: f64,
    /// The back-test.
    pub backtest: Vec<BacktestLine>,
}

fn load_behaviour(
    file: &Path,
    doc: &msr_io::docs::behaviour::BehaviourFit,
) -> Result<BehaviourFit> {
    let bad = |what: &str| input(format!("{}: {what}", file.display()));
    let params = doc
        .parameters
        .iter()
        .map(|(name, p)| {
            Ok(BehaviourParam {
                name: name.clone(),
                estimate: p
                    .estimate
                    .ok_or_else(|| bad("a parameter without an estimate"))?,
                std_error: p.std_error,
                initial: p.initial.unwrap_or(f64::NAN),
                identified: p.identified,
                fixed: p.fixed,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let bt_path = file.with_file_name("backtest.parquet");
    let t =
        msr_io::read_table(&bt_path).map_err(|e| input(format!("{}: {e}", bt_path.display())))?;
    let text = |c: &str| {
        t.text(c)
            .ok_or_else(|| input(format!("{}: no text column `{c}`", bt_path.display())))
    };
    let nums = |c: &str| {
        t.numbers(c)
            .ok_or_else(|| input(format!("{}: no number column `{c}`", bt_path.display())))
    };
    let (sample, dimension, segment, metric) = (
        text("sample")?,
        text("dimension")?,
        text("segment")?,
        text("metric")?,
    );
    let (order, exposure, events, actual, predicted) = (
        nums("segment_order")?,
        nums("exposure")?,
        nums("events")?,
        nums("actual")?,
        nums("predicted")?,
    );
    let backtest = (0..t.num_rows)
        .map(|i| BacktestLine {
            sample: sample[i].clone(),
            dimension: dimension[i].clone(),
            segment: segment[i].clone(),
            order: order[i].unwrap_or(0.0),
            metric: metric[i].clone(),
            exposure: exposure[i].unwrap_or(0.0),
            events: events[i].unwrap_or(0.0),
            actual: actual[i].unwrap_or(f64::NAN),
            predicted: predicted[i].unwrap_or(f64::NAN),
        })
        .collect();
    Ok(BehaviourFit {
        params,
        loan_months: doc.loan_months as f64,
        loans: doc.loans as f64,
        log_likelihood: doc.log_likelihood.unwrap_or(f64::NAN),
        converged: doc.converged,
        holdout_from: doc.holdout_from.map(|h| h as f64),
        excluded_total: doc.excluded_total as f64,
        backtest,
    })
}
