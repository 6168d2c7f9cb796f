//! `msr value`: value every loan of a tape on every rate path and write the
//! per-loan marks, projected cash flows, summary, manifest and rejects.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Instant, SystemTime};

use anyhow::Result;
use clap::Args;
use msr_core::Config;
use msr_engine::{expected_month, value_loans, Context, Detail, LoanResult, PortfolioAccum, Summary};
use msr_io::{Column, ColumnKind, ParquetOptions, ParquetTableWriter, RejectWriter, TapeReader};
use msr_model::{Market, ModelParams, MonthlyField, COMPONENTS, NUM_MONTHLY};
use serde_json::{json, Value};

use crate::common::{
    init_threads, load_config, progress, resolve_rates, sha256, timestamp, InputArgs, PathArgs, PathSource, RunArgs,
    Staging,
};
use crate::exit::{input, output, CliError, Failure};

/// Flags of `msr value`.
#[derive(Debug, Args)]
pub struct ValueArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub paths: PathArgs,
    #[command(flatten)]
    pub run: RunArgs,
    /// Output directory.
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub out: PathBuf,
    /// Also write the rate paths used, as DIR/paths.parquet (MODEL.md §C.5).
    #[arg(long)]
    pub export_paths: bool,
}

/// Column names of loan_values.parquet, after `loan_id`.
fn loan_value_columns() -> Vec<(String, ColumnKind)> {
    let mut cols = vec![
        ("loan_id".to_string(), ColumnKind::Utf8),
        ("investor".to_string(), ColumnKind::Utf8),
        ("dq_status".to_string(), ColumnKind::Utf8),
        ("upb".to_string(), ColumnKind::F64),
        ("value".to_string(), ColumnKind::F64),
        ("value_bps".to_string(), ColumnKind::F64),
        ("multiple".to_string(), ColumnKind::F64Nullable),
        ("std_error".to_string(), ColumnKind::F64Nullable),
    ];
    cols.extend(COMPONENTS.iter().map(|(_, name, _)| (format!("pv_{name}"), ColumnKind::F64)));
    cols
}

/// Run `msr value`.
///
/// # Errors
/// Input, output or internal errors, each one line.
pub fn run(args: &ValueArgs) -> Result<ExitCode> {
    let started = SystemTime::now();
    let clock = Instant::now();
    let threads = init_threads(args.run.threads)?;
    let config = load_config(&args.input.config, &args.paths)?;
    let mut reader = TapeReader::open(&args.input.loans, &config.tape).map_err(input)?;
    let rates = resolve_rates(&config, &args.paths)?;
    let params = ModelParams::from_config(&config);
    let months = rates.paths.months().min(crate::common::MAX_MONTHS);
    let market = Market::new(&rates.paths, &params, config.valuation.oas, months);
    let ctx = Context { params: &params, market: &market, config: &config, antithetic: rates.antithetic };
    let setup_seconds = clock.elapsed().as_secs_f64();

    let staging = Staging::create(&args.out)?;
    let run_id = run_id(args, &config, market.num_paths(), started)?;
    let mut marks = Marks::create(&staging, &config, &run_id, market.num_paths())?;
    let columns = loan_value_columns();
    let column_refs: Vec<(&str, ColumnKind)> = columns.iter().map(|(n, k)| (n.as_str(), *k)).collect();
    let mut values =
        ParquetTableWriter::create(staging.path("loan_values.parquet"), &column_refs, ParquetOptions::default())
            .map_err(output)?;
    let mut rejects = RejectWriter::create(staging.path("rejects.csv")).map_err(output)?;

    let bar = progress(reader.selected_rows(), "valuing loans", args.run.quiet);
    let mut accum = PortfolioAccum::new(market.num_paths(), months, Detail::Full);
    let mut max_term = 0usize;
    let mut loan_months: u64 = 0;
    let mut read_seconds = 0.0;
    let engine_clock = Instant::now();
    loop {
        let t0 = Instant::now();
        let Some(batch) = reader.next_batch().map_err(input)? else { break };
        read_seconds += t0.elapsed().as_secs_f64();
        for r in &batch.rejects {
            rejects.write(r).map_err(output)?;
        }
        if let Some(long) = batch.loans.iter().find(|l| l.remaining_term as usize > months) {
            return Err(input(format!(
                "the rate paths have {months} months but loan {} needs {} (remaining_term)",
                long.loan_id, long.remaining_term
            )));
        }
        let (results, part) = value_loans(&ctx, &batch.loans, Detail::Full);
        accum.merge(&part);
        for l in &batch.loans {
            max_term = max_term.max(l.remaining_term as usize);
            loan_months += l.remaining_term as u64;
        }
        values.write(loan_value_rows(&batch.loans, &results)).map_err(output)?;
        marks.write(&batch.loans, &results)?;
        bar.inc((batch.loans.len() + batch.rejects.len()) as u64);
    }
    bar.finish_and_clear();
    let engine_seconds = engine_clock.elapsed().as_secs_f64() - read_seconds;
    let stats = reader.stats();
    values.finish().map_err(output)?;
    rejects.finish().map_err(output)?;
    marks.finish()?;

    write_cashflows(&staging, &accum, max_term)?;
    if args.export_paths {
        msr_io::write_path_file(staging.path("paths.parquet"), &rates.paths).map_err(output)?;
    }

    let summary = Summary::from_accum(&accum, rates.antithetic);
    let lpm = loan_months as f64 * market.num_paths() as f64;
    let wall = clock.elapsed().as_secs_f64();
    let mut summary_json = summary_json(&summary, &config, market.num_paths(), max_term);
    summary_json["loans_read"] = json!(stats.rows_read);
    summary_json["loans_valued"] = json!(summary.total.records);
    summary_json["rejected_rows"] = json!(stats.rejected);
    summary_json["non_finite_loans"] = json!(accum.non_finite.len());
    summary_json["non_finite"] = non_finite_json(&accum);
    summary_json["timings"] = json!({
        "setup_seconds": setup_seconds,
        "read_seconds": read_seconds,
        "engine_seconds": engine_seconds,
        "wall_seconds": wall,
    });
    summary_json["loan_path_months"] = json!(lpm);
    summary_json["loan_path_months_per_second"] = json!(lpm / engine_seconds.max(1e-9));
    summary_json["threads"] = json!(threads);
    msr_io::write_json_pretty(staging.path("summary.json"), &summary_json).map_err(output)?;

    let manifest =
        manifest_json(args, &config, &rates.source, market.num_paths(), threads, started, stats.rows_read, &run_id)?;
    msr_io::write_json_pretty(staging.path("manifest.json"), &manifest).map_err(output)?;
    staging.commit("manifest.json")?;

    if !args.run.quiet {
        print_summary(&summary, stats.rows_read, stats.rejected, market.num_paths(), wall, lpm / engine_seconds.max(1e-9), &args.out);
        for nf in &accum.non_finite {
            eprintln!(
                "warning: loan {} left out of the totals: {} is not finite (upb {}, note_rate {}, remaining_term {})",
                nf.loan.loan_id, nf.what, nf.loan.upb, nf.loan.note_rate, nf.loan.remaining_term
            );
        }
    }
    let share = stats.reject_share();
    if share > config.tape.max_reject_share {
        return Err(CliError::new(
            Failure::Data,
            format!(
                "{} of {} rows rejected ({:.2} %, above tape.max_reject_share {:.2} %); outputs written to {}, see rejects.csv",
                stats.rejected,
                stats.rows_read,
                100.0 * share,
                100.0 * config.tape.max_reject_share,
                args.out.display()
            ),
        ));
    }
    if !accum.non_finite.is_empty() {
        return Err(CliError::new(
            Failure::Data,
            format!(
                "{} loans had a non-finite valuation and were left out of the totals (listed in summary.json)",
                accum.non_finite.len()
            ),
        ));
    }
    Ok(ExitCode::SUCCESS)
}

fn loan_value_rows(loans: &[msr_core::Loan], results: &[LoanResult]) -> Vec<Column> {
    let mut cols = vec![
        Column::utf8("loan_id", loans.iter().map(|l| l.loan_id.clone()).collect()),
        Column::utf8("investor", loans.iter().map(|l| l.investor.code().to_string()).collect()),
        Column::utf8("dq_status", loans.iter().map(|l| l.dq_status.code().to_string()).collect()),
        Column::f64("upb", loans.iter().map(|l| l.upb).collect()),
        Column::f64("value", results.iter().map(|r| r.value).collect()),
        Column::f64("value_bps", loans.iter().zip(results).map(|(l, r)| 1e4 * r.value / l.upb).collect()),
        Column::f64_nullable(
            "multiple",
            loans
                .iter()
                .zip(results)
                .map(|(l, r)| (l.servicing_fee > 0.0).then(|| r.value / (l.servicing_fee * l.upb)))
                .collect(),
        ),
        Column::f64_nullable("std_error", results.iter().map(|r| r.std_error).collect()),
    ];
    for (k, (_, name, _)) in COMPONENTS.iter().enumerate() {
        cols.push(Column::f64(format!("pv_{name}"), results.iter().map(|r| r.pv[k]).collect()));
    }
    cols
}

/// Names of the monthly fields in cashflows.parquet, in `NUM_MONTHLY` order.
pub fn monthly_names() -> [&'static str; NUM_MONTHLY] {
    let mut names = [""; NUM_MONTHLY];
    for (k, (_, name, _)) in COMPONENTS.iter().enumerate() {
        names[k] = name;
    }
    let rest: [(MonthlyField, &str); NUM_MONTHLY - COMPONENTS.len()] = [
        (MonthlyField::Net, "net"),
        (MonthlyField::PvNet, "pv_net"),
        (MonthlyField::UpbC, "upb_C"),
        (MonthlyField::UpbD30, "upb_D30"),
        (MonthlyField::UpbD60, "upb_D60"),
        (MonthlyField::UpbD90, "upb_D90"),
        (MonthlyField::UpbD120, "upb_D120"),
        (MonthlyField::UpbFc, "upb_FC"),
        (MonthlyField::Surviving, "surviving_loans"),
        (MonthlyField::Prepaid, "prepaid_loans"),
        (MonthlyField::Modified, "modified_loans"),
        (MonthlyField::DeedInLieu, "deed_in_lieu_loans"),
        (MonthlyField::Liquidated, "liquidated_loans"),
    ];
    for (f, name) in rest {
        names[f as usize] = name;
    }
    names
}

fn write_cashflows(staging: &Staging, accum: &PortfolioAccum, max_term: usize) -> Result<()> {
    let names = monthly_names();
    let rows: Vec<[f64; NUM_MONTHLY]> = (1..=max_term).map(|t| expected_month(accum, t)).collect();
    let total_loans = accum.loan_count.max(1) as f64;
    let mut cols = vec![Column::i32("month", (1..=max_term as i32).collect())];
    for (k, name) in names.iter().enumerate() {
        cols.push(Column::f64(*name, rows.iter().map(|r| r[k]).collect()));
    }
    cols.push(Column::f64(
        "survival",
        rows.iter().map(|r| r[MonthlyField::Surviving as usize] / total_loans).collect(),
    ));
    msr_io::write_parquet(staging.path("cashflows.parquet"), cols, ParquetOptions::default()).map_err(output)?;
    Ok(())
}

fn group_json(g: &msr_engine::GroupSummary) -> Value {
    json!({
        "records": g.records,
        "upb": g.upb,
        "value": g.value,
        "value_bps": g.value_bps,
        "multiple": g.multiple,
    })
}

/// The summary.json document (without run accounting, added by the caller).
pub fn summary_json(summary: &Summary, config: &Config, num_paths: usize, months: usize) -> Value {
    let mut pv = serde_json::Map::new();
    for (name, v) in &summary.pv {
        pv.insert(name.clone(), json!(v));
    }
    let mut events = serde_json::Map::new();
    if let Some(e) = &summary.expected_events {
        for (name, v) in e {
            events.insert(name.clone(), json!(v));
        }
    }
    json!({
        "as_of": config.valuation.as_of,
        "oas": config.valuation.oas,
        "paths": num_paths,
        "months": months,
        "records": summary.total.records,
        "loan_count": summary.loan_count,
        "upb": summary.total.upb,
        "value": summary.total.value,
        "value_bps": summary.total.value_bps,
        "multiple": summary.total.multiple,
        "std_error": summary.std_error,
        "pv": pv,
        "expected_events": events,
        "by_investor": summary.by_investor.iter().map(|g| (g.name.clone(), group_json(g))).collect::<serde_json::Map<_, _>>(),
        "by_dq_status": summary.by_status.iter().map(|g| (g.name.clone(), group_json(g))).collect::<serde_json::Map<_, _>>(),
    })
}

fn non_finite_json(accum: &PortfolioAccum) -> Value {
    Value::Array(
        accum
            .non_finite
            .iter()
            .map(|nf| {
                json!({
                    "loan_id": nf.loan.loan_id, "what": nf.what, "upb": nf.loan.upb,
                    "note_rate": nf.loan.note_rate, "servicing_fee": nf.loan.servicing_fee,
                    "remaining_term": nf.loan.remaining_term, "loan_age": nf.loan.loan_age,
                    "fico": nf.loan.fico, "ltv": nf.loan.ltv, "investor": nf.loan.investor.code(),
                    "dq_status": nf.loan.dq_status.code(),
                })
            })
            .collect(),
    )
}

/// The run id: a hash of the inputs, the seed, the path count and the start
/// time, carried by every mark and by manifest.json.
fn run_id(args: &ValueArgs, config: &Config, num_paths: usize, started: SystemTime) -> Result<String> {
    let tape_sha = sha256(&args.input.loans)?;
    let config_sha = sha256(&args.input.config)?;
    Ok(msr_io::hash::sha256_bytes(
        format!("{tape_sha}|{config_sha}|{}|{num_paths}|{}", config.valuation.seed, timestamp(started)).as_bytes(),
    )[..16]
        .to_string())
}

/// marks.csv: the accounting marks, one row per loan, tied to the manifest by run id.
struct Marks {
    writer: msr_io::AtomicFile,
    as_of: String,
    num_paths: usize,
    oas: f64,
    run_id: String,
}

impl Marks {
    fn create(staging: &Staging, config: &Config, run_id: &str, num_paths: usize) -> Result<Marks> {
        use std::io::Write;
        let mut writer = msr_io::AtomicFile::create(staging.path("marks.csv")).map_err(output)?;
        writeln!(writer, "as_of,loan_id,investor,upb,fair_value,value_bps,multiple,method,paths,oas,run_id")
            .map_err(|e| output(format!("marks.csv: {e}")))?;
        Ok(Marks {
            writer,
            as_of: config.valuation.as_of.clone(),
            num_paths,
            oas: config.valuation.oas,
            run_id: run_id.to_string(),
        })
    }

    fn write(&mut self, loans: &[msr_core::Loan], results: &[LoanResult]) -> Result<()> {
        use std::io::Write;
        for (l, r) in loans.iter().zip(results) {
            let multiple = if l.servicing_fee > 0.0 {
                format!("{}", r.value / (l.servicing_fee * l.upb))
            } else {
                String::new()
            };
            writeln!(
                self.writer,
                "{},{},{},{},{},{},{},loan-level OAS,{},{},{}",
                self.as_of,
                csv_field(&l.loan_id),
                l.investor.code(),
                l.upb,
                r.value,
                1e4 * r.value / l.upb,
                multiple,
                self.num_paths,
                self.oas,
                self.run_id
            )
            .map_err(|e| output(format!("marks.csv: {e}")))?;
        }
        Ok(())
    }

    fn finish(self) -> Result<()> {
        self.writer.commit().map_err(output)
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[allow(clippy::too_many_arguments)]
fn manifest_json(
    args: &ValueArgs,
    config: &Config,
    source: &PathSource,
    num_paths: usize,
    threads: usize,
    started: SystemTime,
    rows: u64,
    run_id: &str,
) -> Result<Value> {
    let tape_sha = sha256(&args.input.loans)?;
    let config_sha = sha256(&args.input.config)?;
    let paths = match source {
        PathSource::Generated { seed, antithetic } => json!({
            "source": "hull_white", "seed": seed, "antithetic": antithetic, "num_paths": num_paths,
        }),
        PathSource::File { path } => json!({
            "source": "file", "path": path, "sha256": sha256(path)?, "num_paths": num_paths,
        }),
    };
    let resolved = serde_json::to_value(config).map_err(|e| CliError::new(Failure::Internal, e))?;
    Ok(json!({
        "engine": "msr-engine",
        "version": env!("CARGO_PKG_VERSION"),
        "run_id": run_id,
        "command": std::env::args().collect::<Vec<_>>(),
        "started_at": timestamp(started),
        "finished_at": timestamp(SystemTime::now()),
        "inputs": {
            "loans": {"path": args.input.loans, "sha256": tape_sha, "rows": rows},
            "config": {"path": args.input.config, "sha256": config_sha},
        },
        "rate_paths": paths,
        "seed": config.valuation.seed,
        "num_paths": num_paths,
        "oas": config.valuation.oas,
        "threads": threads,
        "resolved_config": resolved,
    }))
}

#[allow(clippy::too_many_arguments)]
fn print_summary(
    s: &Summary,
    rows: u64,
    rejected: u64,
    paths: usize,
    seconds: f64,
    lpm_rate: f64,
    out: &std::path::Path,
) {
    println!(
        "portfolio value ${:.2} = {:.2} bp of ${:.0} UPB, multiple {}",
        s.total.value,
        s.total.value_bps,
        s.total.upb,
        s.total.multiple.map_or("n/a".to_string(), |m| format!("{m:.3}x")),
    );
    println!(
        "{} loans valued, {} rejected of {} rows; {} paths; std error ${:.2}",
        s.total.records,
        rejected,
        rows,
        paths,
        s.std_error.unwrap_or(f64::NAN)
    );
    println!("{seconds:.2} s ({lpm_rate:.3e} loan-path-months/s); outputs in {}", out.display());
}
