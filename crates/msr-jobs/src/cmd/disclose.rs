//! `msr disclose`: the ASC 820 Level 3 disclosure (docs/accounting.md) —
//! fair value, the weighted-average key inputs with their loan-level
//! ranges, and the change in fair value under a 10 % and a 20 % adverse
//! change in each key input — total and by group (investor unless
//! `--group-by COLUMN`). Writes `disclosure.json` (the completion marker)
//! and `disclosure.csv` (one row for the total, then one per group), and
//! with `--xlsx` a workbook `marks.xlsx`. The computation is msr-engine's
//! `disclosure` module; this file is the glue.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Instant, SystemTime};

use anyhow::Result;
use clap::Args;
use msr_core::Config;
use msr_engine::disclosure::{disclose, Disclosure, DisclosureRow, Groups, Ranged};
use msr_engine::RiskInputs;
use msr_io::tape::TapeOptions;
use msr_io::TapeReader;
use serde_json::{json, Value};

use super::oas::{data_checks, load, provenance_json};
use crate::common::{InputArgs, PathArgs, RunArgs};
use crate::exit::{input, output, CliError, Failure};

/// Flags of `msr disclose`.
#[derive(Debug, Args)]
pub struct DiscloseArgs {
    /// The tape and configuration.
    #[command(flatten)]
    pub input: InputArgs,
    /// The rate paths.
    #[command(flatten)]
    pub paths: PathArgs,
    /// Threads, OAS and progress.
    #[command(flatten)]
    pub run: RunArgs,
    /// Output directory.
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub out: PathBuf,
    /// Group by this column of the tape (strings or integers) instead of
    /// the investor.
    #[arg(long, value_name = "COLUMN")]
    pub group_by: Option<String>,
    /// Also write the workbook marks.xlsx (the disclosure table as a 10-Q
    /// prints it).
    #[arg(long)]
    pub xlsx: bool,
}

/// Each valid loan's labels in `columns` (joined with `|`), in tape order:
/// the tape read again with each column carried. A null is
/// [`msr_io::tape::ExtraValue::NULL_LABEL`]; `nulls` reports whether any
/// loan had one, with the first such loan's id.
///
/// # Errors
/// Input errors for a missing column or a tape that reads differently.
pub(crate) fn column_labels(
    tape: &Path,
    config: &Config,
    columns: &[String],
    loans: &[msr_core::Loan],
) -> Result<(Vec<String>, Option<String>)> {
    let mut labels = vec![String::new(); loans.len()];
    let mut first_null: Option<String> = None;
    for (c, column) in columns.iter().enumerate() {
        let options = TapeOptions {
            row_groups: None,
            extra_column: Some(column.clone()),
        };
        let mut reader = TapeReader::open_with(tape, &config.tape, &options).map_err(input)?;
        let mut at = 0;
        while let Some(batch) = reader.next_batch().map_err(input)? {
            for (l, v) in batch.loans.iter().zip(&batch.extra) {
                if at >= loans.len() || loans[at].loan_id != l.loan_id {
                    return Err(input(format!(
                        "{}: the tape read differently the second time (row of loan {})",
                        tape.display(),
                        msr_io::text::terminal_safe(&l.loan_id)
                    )));
                }
                if matches!(v, msr_io::tape::ExtraValue::Null) && first_null.is_none() {
                    first_null = Some(l.loan_id.clone());
                }
                if c > 0 {
                    labels[at].push('|');
                }
                labels[at].push_str(&v.label());
                at += 1;
            }
        }
        if at != loans.len() {
            return Err(input(format!(
                "{}: the tape read differently the second time ({at} loans, then {})",
                tape.display(),
                loans.len()
            )));
        }
    }
    Ok((labels, first_null))
}

/// Run `msr disclose`.
///
/// # Errors
/// Usage error for a path file; input, output or internal errors.
pub fn run(args: &DiscloseArgs) -> Result<ExitCode> {
    if args.paths.rate_paths.is_some() {
        return Err(CliError::new(
            Failure::Usage,
            "msr disclose needs generated rate paths: its stresses run on the base run's random numbers \
             (as msr risk); drop --rate-paths (use --num-paths/--seed)",
        ));
    }
    if args
        .group_by
        .as_deref()
        .is_some_and(|g| g.trim().is_empty())
    {
        return Err(CliError::new(
            Failure::Usage,
            "--group-by: the column name is empty",
        ));
    }
    let started = SystemTime::now();
    let clock = Instant::now();
    let (loaded, staging) = load(&args.input, &args.paths, &args.run, &args.out, false, None)?;
    if args.xlsx && loaded.loans.len() > msr_io::xlsx::MAX_DATA_ROWS {
        return Err(CliError::new(
            Failure::Usage,
            format!(
                "--xlsx: {} loans do not fit a worksheet (Excel holds {} rows under the header); \
                 drop --xlsx (disclosure.csv and disclosure.json are written without it)",
                loaded.loans.len(),
                msr_io::xlsx::MAX_DATA_ROWS
            ),
        ));
    }
    let labels: Vec<String> = match &args.group_by {
        Some(col) => {
            column_labels(
                &args.input.loans,
                &loaded.config,
                std::slice::from_ref(col),
                &loaded.loans,
            )?
            .0
        }
        None => loaded
            .loans
            .iter()
            .map(|l| l.investor.code().to_string())
            .collect(),
    };
    let groups = Groups::from_labels(&labels);
    let normals = loaded.rates.normals.as_ref().ok_or_else(|| {
        CliError::new(
            Failure::Internal,
            "generated paths without their random numbers",
        )
    })?;
    let inputs = RiskInputs {
        loans: &loaded.loans,
        config: &loaded.config,
        rate_model: &loaded.rates.model,
        normals,
        months: loaded.months,
        units: loaded.rates.units,
        spreads: None,
    };
    let total_work = (loaded.loans.len() * 7) as u64;
    let bar = crate::common::progress(total_work, "disclose", args.run.quiet);
    let mut last = 0usize;
    let report = disclose(&inputs, &groups, &mut |p| {
        let pos = (p.valuation - 1) * loaded.loans.len() + p.loans_done;
        bar.inc(pos.saturating_sub(last) as u64);
        last = pos;
    })
    .map_err(input)?;
    bar.finish_and_clear();

    let group_by = args.group_by.clone().unwrap_or_else(|| "investor".into());
    std::fs::write(staging.path("disclosure.csv"), disclosure_csv(&report)).map_err(|e| {
        output(format!(
            "{}: {e}",
            args.out.join("disclosure.csv").display()
        ))
    })?;
    if args.xlsx {
        crate::cmd::workbook::write_disclosure_workbook(
            &staging.path("marks.xlsx"),
            &report,
            &loaded,
            &group_by,
        )?;
    }
    let non_finite: usize = report_non_finite(&report, &loaded);
    let mut doc = disclosure_json(&report, &loaded.config, &group_by);
    doc["loans_read"] = json!(loaded.stats.rows_read);
    doc["rejected_rows"] = json!(loaded.stats.rejected);
    doc["non_finite_loans"] = json!(non_finite);
    doc["timings"] = json!({
        "setup_seconds": loaded.setup_seconds,
        "wall_seconds": clock.elapsed().as_secs_f64(),
    });
    doc["run"] = provenance_json(&args.input, &loaded, started)?;
    msr_io::write_json_pretty(staging.path("disclosure.json"), &doc).map_err(output)?;
    staging.commit("disclosure.json")?;
    if !args.run.quiet {
        print!("{}", disclosure_table(&report, &group_by));
        println!(
            "{} loans in {} groups x {} paths in {:.1} s; outputs in {}",
            report.total.loans,
            report.groups.len(),
            report.num_paths,
            clock.elapsed().as_secs_f64(),
            args.out.display()
        );
    }
    data_checks(&loaded, non_finite, &args.out)
}

/// Loans left out of the totals (valid loans less the records valued).
fn report_non_finite(report: &Disclosure, loaded: &super::oas::Loaded) -> usize {
    loaded.loans.len() - report.total.loans as usize
}

/// A loan-level range: `{min, max}` (the weighted average is printed
/// beside it, from the group's own projection).
fn range_json(r: Option<Ranged>) -> Value {
    r.map_or(Value::Null, |x| json!({"min": x.min, "max": x.max}))
}

fn ranged_json(r: Option<Ranged>) -> Value {
    match r {
        None => Value::Null,
        Some(r) => json!({"weighted_average": r.average, "min": r.min, "max": r.max}),
    }
}

/// One row of disclosure.json.
pub fn row_json(r: &DisclosureRow) -> Value {
    json!({
        "group": r.group,
        "fair_value": r.fair_value,
        "upb": r.upb,
        "loans": r.loans,
        "value_bps": r.value_bps,
        "value_bps_range": range_json(r.value_bps_range),
        "multiple": r.multiple,
        "inputs": {
            "prepayment_cpr": r.prepayment_cpr,
            "prepayment_cpr_range": range_json(r.prepayment_cpr_range),
            "weighted_average_life_years": r.weighted_average_life_years,
            "weighted_average_life_years_range": range_json(r.weighted_average_life_range),
            "discount_rate": r.discount_rate,
            "discount_rate_range": range_json(r.discount_rate_range),
            "oas": r.oas,
            "cost_to_service_per_loan": {
                "performing": r.cost_performing,
                "all_now": ranged_json(r.cost_now),
                "all_lifetime": r.cost_lifetime,
            },
            "delinquency_30plus": {
                "now": r.delinquency_30plus_now,
                "lifetime_average": r.delinquency_30plus_lifetime,
                "lifetime_average_range": range_json(r.delinquency_30plus_lifetime_range),
            },
            "float_earnings": {
                "pv": r.float_pv,
                "annual_rate_on_upb": r.float_earnings_rate,
            },
            "note_rate": ranged_json(r.note_rate),
            "servicing_fee": ranged_json(r.servicing_fee),
        },
        "sensitivities": r.sensitivities.iter().map(|s| json!({
            "input": s.input,
            "adverse_change_pct": s.adverse_pct,
            "value": s.value,
            "change": s.change,
            "change_pct": s.change_pct,
        })).collect::<Vec<_>>(),
    })
}

/// disclosure.json without the run accounting.
pub fn disclosure_json(report: &Disclosure, config: &Config, group_by: &str) -> Value {
    json!({
        "as_of": config.valuation.as_of,
        "oas": config.valuation.oas,
        "paths": report.num_paths,
        "seed": config.valuation.seed,
        "group_by": group_by,
        "total": row_json(&report.total),
        "groups": report.groups.iter().map(row_json).collect::<Vec<_>>(),
    })
}

/// The CSV header's sensitivity columns for a row's sensitivities.
fn sensitivity_names(r: &DisclosureRow) -> Vec<String> {
    r.sensitivities
        .iter()
        .flat_map(|s| {
            let base = format!("{}_{}pct", s.input, s.adverse_pct);
            [format!("{base}_change"), format!("{base}_change_pct")]
        })
        .collect()
}

/// The columns of disclosure.csv before the sensitivities.
const CSV_HEAD: &str = "level,group,loans,upb,fair_value,value_bps,multiple,\
prepayment_cpr,weighted_average_life_years,discount_rate,oas,\
cost_to_service_performing,cost_to_service_all_now,cost_to_service_all_now_min,cost_to_service_all_now_max,\
cost_to_service_all_lifetime,delinquency_30plus_now,delinquency_30plus_lifetime,\
float_earnings_pv,float_earnings_annual_rate,note_rate,note_rate_min,note_rate_max,\
servicing_fee,servicing_fee_min,servicing_fee_max,value_bps_min,value_bps_max,\
prepayment_cpr_min,prepayment_cpr_max,weighted_average_life_years_min,weighted_average_life_years_max,\
discount_rate_min,discount_rate_max,delinquency_30plus_lifetime_min,delinquency_30plus_lifetime_max";

/// disclosure.csv: the total, then one row per group. Sensitivity columns
/// are `<input>_<pct>pct_change` ($) and `..._change_pct` (%).
pub fn disclosure_csv(report: &Disclosure) -> String {
    let mut csv = String::from(CSV_HEAD);
    // Every row has the same sensitivities (the discount rate's are absent
    // where no rate solves: the cells are then empty).
    let mut names = sensitivity_names(&report.total);
    for g in &report.groups {
        for n in sensitivity_names(g) {
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    for n in &names {
        let _ = write!(csv, ",{n}");
    }
    csv.push('\n');
    let o = |x: Option<f64>| x.map_or(String::new(), |v| v.to_string());
    let rg = |x: Option<Ranged>| match x {
        None => ",,".to_string(),
        Some(r) => format!("{},{},{}", r.average, r.min, r.max),
    };
    let rows =
        std::iter::once(("total", &report.total)).chain(report.groups.iter().map(|g| ("group", g)));
    for (level, r) in rows {
        let _ = write!(
            csv,
            "{level},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            msr_io::text::csv_field(&r.group),
            r.loans,
            r.upb,
            r.fair_value,
            o(r.value_bps),
            o(r.multiple),
            o(r.prepayment_cpr),
            o(r.weighted_average_life_years),
            o(r.discount_rate),
            r.oas,
            r.cost_performing,
            rg(r.cost_now),
            o(r.cost_lifetime),
            o(r.delinquency_30plus_now),
            o(r.delinquency_30plus_lifetime),
            r.float_pv,
            o(r.float_earnings_rate),
            rg(r.note_rate),
            rg(r.servicing_fee),
            o(r.value_bps_range.map(|x| x.min)),
            o(r.value_bps_range.map(|x| x.max)),
        );
        for range in [
            r.prepayment_cpr_range,
            r.weighted_average_life_range,
            r.discount_rate_range,
            r.delinquency_30plus_lifetime_range,
        ] {
            let _ = write!(
                csv,
                ",{},{}",
                o(range.map(|x| x.min)),
                o(range.map(|x| x.max))
            );
        }
        let mine: Vec<(String, f64, Option<f64>)> = r
            .sensitivities
            .iter()
            .map(|s| {
                (
                    format!("{}_{}pct", s.input, s.adverse_pct),
                    s.change,
                    s.change_pct,
                )
            })
            .collect();
        for n in &names {
            let cell = mine.iter().find_map(|(base, change, pct)| {
                if *n == format!("{base}_change") {
                    Some(change.to_string())
                } else if *n == format!("{base}_change_pct") {
                    Some(o(*pct))
                } else {
                    None
                }
            });
            let _ = write!(csv, ",{}", cell.unwrap_or_default());
        }
        csv.push('\n');
    }
    csv
}

/// The terminal summary: the total's inputs and sensitivities.
fn disclosure_table(report: &Disclosure, group_by: &str) -> String {
    let mut t = String::new();
    let r = &report.total;
    let pct = |x: Option<f64>| x.map_or("n/a".into(), |v| format!("{:.2} %", 100.0 * v));
    let _ = writeln!(
        t,
        "fair value ${:.2} on ${:.0} UPB ({} bp), {} groups by {group_by}",
        r.fair_value,
        r.upb,
        r.value_bps.map_or("n/a".into(), |v| format!("{v:.2}")),
        report.groups.len()
    );
    let _ = writeln!(
        t,
        "prepayment {} CPR  WAL {} y  discount rate {}  cost/loan ${:.0} performing, {} lifetime",
        pct(r.prepayment_cpr),
        r.weighted_average_life_years
            .map_or("n/a".into(), |v| format!("{v:.2}")),
        pct(r.discount_rate),
        r.cost_performing,
        r.cost_lifetime.map_or("n/a".into(), |v| format!("${v:.0}")),
    );
    for s in &r.sensitivities {
        let _ = writeln!(
            t,
            "  {:<18} +{:>2} % adverse: {:>16.2} ({})",
            s.input,
            s.adverse_pct,
            s.change,
            s.change_pct.map_or("n/a".into(), |p| format!("{p:+.2} %"))
        );
    }
    t
}
