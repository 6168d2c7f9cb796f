//! `msr calibrate behaviour`: fit MODEL.md §D's prepayment and delinquency
//! parameters to a loan-month panel by maximum likelihood and back-test
//! them (docs/calibration.md); and the panel and rates files shared with
//! `msr history`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Instant, SystemTime};

use anyhow::Result;
use clap::Args;
use msr_core::config::Config;
use msr_fit::panel::{month_of_yyyymm, yyyymm, Panel, PanelBuilder, RawRow};
use msr_fit::{Calibration, RateHistory};
use msr_io::panel::PANEL_COLUMNS;
use msr_io::{Column, ParquetOptions, ParquetTableWriter};
use std::collections::BTreeMap;

use msr_io::docs::behaviour::{BehaviourFit, BehaviourInputs, Parameter};
use msr_io::docs::run::InputFile;

use crate::common::{
    init_threads, load_config, progress, sha256, timestamp, PathArgs, Staging, BUILTIN_CONFIG,
};
use crate::exit::{input, output, CliError, Failure};

/// Flags of `msr calibrate behaviour`.
#[derive(Debug, Args)]
pub struct BehaviourArgs {
    /// The loan-month panel (Parquet; `msr history` writes one; columns in
    /// docs/calibration.md).
    #[arg(long, value_name = "FILE")]
    pub panel: PathBuf,
    /// Monthly market mortgage rates: CSV with columns period (YYYYMM) and
    /// mortgage_rate (annual decimal).
    #[arg(long, value_name = "FILE")]
    pub rates: PathBuf,
    /// Base configuration: the starting values, the fixed keys (ramp_months,
    /// cpr_cap, roll_cap, judicial_states) and the values of --fix'ed keys.
    #[arg(long, value_name = "FILE", default_value = BUILTIN_CONFIG)]
    pub config: PathBuf,
    /// Fit only on periods before this month (YYYYMM); the back-test reports
    /// the later ones out of sample.
    #[arg(long, value_name = "YYYYMM")]
    pub holdout_from: Option<i64>,
    /// Hold these parameters at the base configuration's values
    /// (comma-separated names, e.g. refi_fico,seasonality).
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    pub fix: Vec<String>,
    /// Output directory (calibrated.toml, merged.toml, fit.json,
    /// backtest.parquet).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// No progress or summary on the terminal.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Read a rates file (`period,mortgage_rate`).
///
/// # Errors
/// Input error naming the file, line and value.
pub fn read_rates(path: &Path) -> Result<RateHistory> {
    let table = msr_io::read_csv_table(path).map_err(input)?;
    let col = |name: &str| {
        table.column(name).ok_or_else(|| {
            input(format!(
                "{}: missing column `{name}` (want period,mortgage_rate)",
                path.display()
            ))
        })
    };
    let (cp, cr) = (col("period")?, col("mortgage_rate")?);
    let mut pairs = Vec::with_capacity(table.rows.len());
    for (line, fields) in &table.rows {
        let p: i64 = fields[cp].parse().map_err(|_| {
            input(format!(
                "{}: line {line}: period `{}` is not YYYYMM",
                path.display(),
                fields[cp]
            ))
        })?;
        let r: f64 = fields[cr].parse().map_err(|_| {
            input(format!(
                "{}: line {line}: mortgage_rate `{}` is not a number",
                path.display(),
                fields[cr]
            ))
        })?;
        pairs.push((p, r));
    }
    RateHistory::new(&pairs).map_err(|e| input(format!("{}: {e}", path.display())))
}

/// Write a rates file.
///
/// # Errors
/// Output error.
pub fn write_rates(path: &Path, rates: &RateHistory) -> Result<()> {
    let rows: Vec<Vec<String>> = rates
        .pairs()
        .into_iter()
        .map(|(p, r)| vec![p.to_string(), format!("{r:?}")])
        .collect();
    msr_io::write_csv_table(
        path,
        &["period".to_string(), "mortgage_rate".to_string()],
        &rows,
    )
    .map_err(output)
}

/// Read and validate a panel file, with a progress bar.
///
/// # Errors
/// Input error naming the file, row, loan, column and value.
pub fn read_panel(path: &Path, quiet: bool) -> Result<Panel> {
    let total = msr_io::parquet_info(path).map_err(input)?.num_rows;
    let bar = progress(total, "reading panel", quiet);
    let mut builder = PanelBuilder::new();
    msr_io::panel::read_panel(path, |i, r| {
        if i % 65_536 == 0 {
            bar.set_position(i);
        }
        builder
            .push(
                i,
                &RawRow {
                    loan_id: r.loan_id,
                    period: r.period,
                    investor: r.investor,
                    upb: r.upb,
                    note_rate: r.note_rate,
                    loan_age: r.loan_age,
                    remaining_term: r.remaining_term,
                    fico: r.fico,
                    ltv: r.ltv,
                    property_state: r.property_state,
                    dq_status: r.dq_status,
                    next_status: r.next_status,
                },
            )
            .map_err(|e| e.to_string())
    })
    .map_err(input)?;
    bar.finish_and_clear();
    Ok(builder.finish())
}

/// Write a panel (rows in the panel's order) to Parquet.
///
/// # Errors
/// Output error.
pub fn write_panel(path: &Path, panel: &Panel) -> Result<()> {
    let mut writer = ParquetTableWriter::create(path, &PANEL_COLUMNS, ParquetOptions::default())
        .map_err(output)?;
    for chunk in panel.rows.chunks(1 << 16) {
        let loan = |r: &msr_fit::panel::Row| &panel.loans[r.loan as usize];
        writer
            .write(vec![
                Column::utf8(
                    "loan_id",
                    chunk.iter().map(|r| loan(r).loan_id.clone()).collect(),
                ),
                Column::i32("period", chunk.iter().map(|r| yyyymm(r.period)).collect()),
                Column::utf8(
                    "investor",
                    chunk
                        .iter()
                        .map(|r| loan(r).investor.code().to_string())
                        .collect(),
                ),
                Column::f64("upb", chunk.iter().map(|r| r.upb).collect()),
                Column::f64("note_rate", chunk.iter().map(|r| r.note_rate).collect()),
                Column::i32("loan_age", chunk.iter().map(|r| r.loan_age).collect()),
                Column::i32(
                    "remaining_term",
                    chunk.iter().map(|r| r.remaining_term).collect(),
                ),
                Column::i32("fico", chunk.iter().map(|r| r.fico).collect()),
                Column::f64("ltv", chunk.iter().map(|r| r.ltv).collect()),
                Column::utf8(
                    "property_state",
                    chunk
                        .iter()
                        .map(|r| loan(r).property_state.clone())
                        .collect(),
                ),
                Column::utf8(
                    "dq_status",
                    chunk.iter().map(|r| r.status.code().to_string()).collect(),
                ),
                Column::utf8(
                    "next_status",
                    chunk.iter().map(|r| r.next.code().to_string()).collect(),
                ),
            ])
            .map_err(output)?;
    }
    writer.finish().map_err(output)
}

/// The estimated keys as a configuration fragment.
fn fragment(cal: &Calibration, base_name: &str, panel: &Path) -> String {
    let mut prepay = String::new();
    let mut credit = String::new();
    let params = &cal.fit.params;
    let seasonal: Vec<_> = params
        .iter()
        .filter(|p| p.name.starts_with("seasonality["))
        .collect();
    for p in params {
        if p.fixed || !p.identified || p.name.starts_with("seasonality[") {
            continue;
        }
        let k = msr_fit::NAMES
            .iter()
            .position(|n| *n == p.name)
            .unwrap_or(0);
        let line = format!("{} = {:?}\n", p.name, p.estimate);
        if msr_fit::model::table_of(k) == "prepay" {
            prepay += &line;
        } else {
            credit += &line;
        }
    }
    if seasonal.iter().any(|p| !p.fixed) {
        let values: Vec<String> = seasonal
            .iter()
            .map(|p| format!("{:?}", p.estimate))
            .collect();
        prepay += &format!("seasonality = [{}]\n", values.join(", "));
    }
    let merge = if base_name == BUILTIN_CONFIG {
        "# The base is the built-in configuration, so this file values as it is: `msr value\n\
         # --config` reads a file that names only some keys and takes the built-in defaults\n\
         # (MODEL.md §I) for the rest. merged.toml beside it is the same as a full file.\n"
            .to_string()
    } else {
        format!(
            "# The base is {base_name}: `msr value --config` takes the built-in defaults for\n\
             # keys a file omits, so value with merged.toml beside this file (the base with\n\
             # these keys replaced), or copy these keys over the base's.\n"
        )
    };
    format!(
        "# MODEL.md §D parameters estimated by `msr calibrate behaviour` from {} (standard\n\
         # errors, identification and the back-test in fit.json and backtest.parquet): only\n\
         # the estimated keys (not --fix'ed, identified by the data).\n\
         {merge}\
         [prepay]\n{prepay}\n[credit]\n{credit}",
        panel.display()
    )
}

fn parameters(cal: &Calibration) -> BTreeMap<String, Parameter> {
    cal.fit
        .params
        .iter()
        .map(|p| {
            let parameter = Parameter {
                estimate: Some(p.estimate),
                std_error: p.std_error,
                initial: Some(p.initial),
                identified: p.identified,
                fixed: p.fixed,
                note: p.note.clone(),
            };
            (p.name.to_string(), parameter)
        })
        .collect()
}

/// Run `msr calibrate behaviour`.
///
/// # Errors
/// Usage errors for a bad `--holdout-from` or `--fix`; input errors (exit
/// 3) for the panel, rates or configuration; output errors; exit 6 when the
/// estimates do not make a valid configuration (outputs still written).
pub fn run(args: &BehaviourArgs) -> Result<ExitCode> {
    let started = SystemTime::now();
    let clock = Instant::now();
    init_threads(args.threads)?;
    let holdout = match args.holdout_from {
        None => None,
        Some(h) => Some(month_of_yyyymm(h).ok_or_else(|| {
            CliError::new(Failure::Usage, format!("--holdout-from {h} is not YYYYMM"))
        })?),
    };
    msr_fit::fix_indices(&args.fix)
        .map_err(|e| CliError::new(Failure::Usage, format!("--fix: {e}")))?;
    let config = load_config(&args.config, &PathArgs::default())?;
    let rates = read_rates(&args.rates)?;
    let panel = read_panel(&args.panel, args.quiet)?;
    let staging = Staging::create(&args.out)?.reading(&[
        args.panel.as_path(),
        args.rates.as_path(),
        args.config.as_path(),
    ]);
    let bar = progress(4, "calibrating", args.quiet);
    let mut stage = 0;
    let cal = msr_fit::calibrate(
        &panel,
        &rates,
        &config,
        &msr_fit::CalibrateOptions {
            holdout_from: holdout,
            fix: args.fix.clone(),
            max_iters: 0,
        },
        &mut |what| {
            bar.set_message(what.to_string());
            bar.set_position(stage);
            stage += 1;
        },
    )
    .map_err(|e| input(format!("{}: {e}", args.panel.display())))?;
    bar.finish_and_clear();

    let mut merged: Config = config.clone();
    msr_fit::model::apply(&cal.fit.values, &mut merged);
    let valid = merged.validate();

    let fit = &cal.fit;
    let file = |path: &std::path::PathBuf, sha256: String| InputFile {
        path: path.clone(),
        sha256,
        rows: None,
    };
    let doc = BehaviourFit {
        kind: "behaviour_calibration".into(),
        parameters: parameters(&cal),
        log_likelihood: Some(fit.log_likelihood),
        loan_months: fit.loan_months,
        loans: fit.loans,
        converged: fit.converged,
        iterations: fit.iterations,
        rows_read: panel.rows_read,
        rows_in_sample: cal.rows_in,
        rows_out_of_sample: cal.rows_out,
        holdout_from: args.holdout_from,
        excluded_moves: panel.excluded.clone(),
        excluded_total: panel.excluded_total(),
        fixed: args.fix.clone(),
        valid_configuration: valid.as_ref().err().map(|e| e.to_string()),
        model: "MODEL.md §D; row (P, status, age a) = month 1 of a valuation as of P; docs/calibration.md".into(),
        inputs: Some(BehaviourInputs {
            panel: file(&args.panel, sha256(&args.panel)?),
            rates: file(&args.rates, sha256(&args.rates)?),
            config: file(&args.config, crate::common::config_sha256(&args.config)?),
        }),
        engine: "msr-engine".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        command: std::env::args().collect(),
        started_at: timestamp(started),
        elapsed_seconds: clock.elapsed().as_secs_f64(),
    };
    let toml = fragment(&cal, &args.config.display().to_string(), &args.panel);
    msr_io::write_text(staging.path("calibrated.toml"), &toml).map_err(output)?;
    msr_io::write_text(
        staging.path("merged.toml"),
        &format!(
            "# {} with the keys of calibrated.toml (msr calibrate behaviour)\n{}",
            args.config.display(),
            merged.to_toml_string()
        ),
    )
    .map_err(output)?;
    write_backtest(&staging.path("backtest.parquet"), &cal)?;
    msr_io::docs::write_document(staging.path("fit.json"), &doc).map_err(output)?;
    staging.commit("fit.json")?;
    if !args.quiet {
        let unidentified: Vec<&str> = fit
            .params
            .iter()
            .filter(|p| !p.identified)
            .map(|p| p.name)
            .collect();
        println!(
            "fitted {} loan-months of {} loans: log-likelihood {:.3}, {}converged, {} iterations; {} moves without a §D.3 arrow left out",
            fit.loan_months,
            fit.loans,
            fit.log_likelihood,
            if fit.converged { "" } else { "NOT " },
            fit.iterations,
            panel.excluded_total()
        );
        for sample in ["in", "out"] {
            let of = |metric: &str| {
                cal.backtest
                    .iter()
                    .find(|l| l.sample == sample && l.dimension == "all" && l.metric == metric)
            };
            let parts: Vec<String> = ["cpr", "dq_entry", "roll30", "cure30"]
                .iter()
                .filter_map(|m| {
                    of(m).map(|l| {
                        format!(
                            "{m} {:.2}% actual / {:.2}% fitted",
                            100.0 * l.actual,
                            100.0 * l.predicted
                        )
                    })
                })
                .collect();
            if !parts.is_empty() {
                println!("{sample} sample: {}", parts.join(", "));
            }
        }
        if !unidentified.is_empty() {
            println!("unidentified (left at base): {}", unidentified.join(", "));
        }
        println!("outputs in {}", args.out.display());
    }
    if let Err(e) = valid {
        return Err(CliError::new(
            Failure::Unreachable,
            format!(
                "the estimates do not make a valid configuration ({e}); outputs written to {}",
                args.out.display()
            ),
        ));
    }
    Ok(ExitCode::SUCCESS)
}

fn write_backtest(path: &Path, cal: &Calibration) -> Result<()> {
    let b = &cal.backtest;
    msr_io::write_parquet(
        path,
        vec![
            Column::utf8("sample", b.iter().map(|l| l.sample.to_string()).collect()),
            Column::utf8(
                "dimension",
                b.iter().map(|l| l.dimension.to_string()).collect(),
            ),
            Column::utf8("segment", b.iter().map(|l| l.segment.clone()).collect()),
            Column::i64("segment_order", b.iter().map(|l| l.segment_order).collect()),
            Column::utf8("metric", b.iter().map(|l| l.metric.to_string()).collect()),
            Column::f64("exposure", b.iter().map(|l| l.exposure).collect()),
            Column::f64("events", b.iter().map(|l| l.events).collect()),
            Column::f64("actual", b.iter().map(|l| l.actual).collect()),
            Column::f64("predicted", b.iter().map(|l| l.predicted).collect()),
        ],
        ParquetOptions::default(),
    )
    .map_err(output)
}
