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
use msr_io::docs::disclose::{DisclosureCsvRow, DisclosureTimings};
use msr_io::docs::{self, write_document};
use msr_io::tape::TapeOptions;
use msr_io::TapeReader;

use super::oas::{data_checks, load, provenance};
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
    let mut doc = disclosure_doc(&report, &loaded.config, &group_by)?;
    doc.loans_read = loaded.stats.rows_read;
    doc.rejected_rows = loaded.stats.rejected;
    doc.non_finite_loans = non_finite as u64;
    doc.timings = DisclosureTimings {
        setup_seconds: loaded.setup_seconds,
        wall_seconds: clock.elapsed().as_secs_f64(),
    };
    doc.run = Some(provenance(&args.input, &loaded, started)?);
    write_document(staging.path("disclosure.json"), &doc).map_err(output)?;
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
fn range(r: Option<Ranged>) -> Option<docs::disclose::Range> {
    r.map(|x| docs::disclose::Range {
        min: x.min,
        max: x.max,
    })
}

fn ranged(r: Option<Ranged>) -> Option<docs::disclose::Ranged> {
    r.map(|r| docs::disclose::Ranged {
        weighted_average: r.average,
        min: r.min,
        max: r.max,
    })
}

/// One row of disclosure.json.
pub fn row_doc(r: &DisclosureRow) -> docs::disclose::DisclosureRow {
    use docs::disclose::{CostToService, Delinquency, FloatEarnings, Inputs, Sensitivity};
    docs::disclose::DisclosureRow {
        group: r.group.clone(),
        fair_value: r.fair_value,
        upb: r.upb,
        loans: r.loans,
        value_bps: r.value_bps,
        value_bps_range: range(r.value_bps_range),
        multiple: r.multiple,
        inputs: Inputs {
            prepayment_cpr: r.prepayment_cpr,
            prepayment_cpr_range: range(r.prepayment_cpr_range),
            weighted_average_life_years: r.weighted_average_life_years,
            weighted_average_life_years_range: range(r.weighted_average_life_range),
            discount_rate: r.discount_rate,
            discount_rate_range: range(r.discount_rate_range),
            oas: r.oas,
            cost_to_service_per_loan: CostToService {
                performing: r.cost_performing,
                all_now: ranged(r.cost_now),
                all_lifetime: r.cost_lifetime,
            },
            delinquency_30plus: Delinquency {
                now: r.delinquency_30plus_now,
                lifetime_average: r.delinquency_30plus_lifetime,
                lifetime_average_range: range(r.delinquency_30plus_lifetime_range),
            },
            float_earnings: FloatEarnings {
                pv: r.float_pv,
                annual_rate_on_upb: r.float_earnings_rate,
            },
            note_rate: ranged(r.note_rate),
            servicing_fee: ranged(r.servicing_fee),
        },
        sensitivities: r
            .sensitivities
            .iter()
            .map(|s| Sensitivity {
                input: s.input.to_string(),
                adverse_change_pct: s.adverse_pct,
                value: s.value,
                change: s.change,
                change_pct: s.change_pct,
            })
            .collect(),
    }
}

/// disclosure.json without the run accounting.
///
/// # Errors
/// Internal error when valuation.as_of is not a date (validated before).
pub fn disclosure_doc(
    report: &Disclosure,
    config: &Config,
    group_by: &str,
) -> Result<docs::disclose::Disclosure> {
    Ok(docs::disclose::Disclosure {
        as_of: crate::outputs::as_of(config)?,
        oas: config.valuation.oas,
        paths: report.num_paths as u64,
        seed: config.valuation.seed,
        group_by: group_by.to_string(),
        total: row_doc(&report.total),
        groups: report.groups.iter().map(row_doc).collect(),
        loans_read: 0,
        rejected_rows: 0,
        non_finite_loans: 0,
        timings: DisclosureTimings::default(),
        run: None,
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

/// One row of disclosure.csv.
fn csv_row(level: &str, r: &DisclosureRow) -> DisclosureCsvRow {
    let avg = |x: Option<Ranged>| x.map(|r| r.average);
    let min = |x: Option<Ranged>| x.map(|r| r.min);
    let max = |x: Option<Ranged>| x.map(|r| r.max);
    let mut sensitivities = std::collections::BTreeMap::new();
    for s in &r.sensitivities {
        let base = format!("{}_{}pct", s.input, s.adverse_pct);
        sensitivities.insert(format!("{base}_change"), Some(s.change));
        sensitivities.insert(format!("{base}_change_pct"), s.change_pct);
    }
    DisclosureCsvRow {
        level: level.to_string(),
        group: r.group.clone(),
        loans: r.loans,
        upb: r.upb,
        fair_value: r.fair_value,
        value_bps: r.value_bps,
        multiple: r.multiple,
        prepayment_cpr: r.prepayment_cpr,
        weighted_average_life_years: r.weighted_average_life_years,
        discount_rate: r.discount_rate,
        oas: r.oas,
        cost_to_service_performing: r.cost_performing,
        cost_to_service_all_now: avg(r.cost_now),
        cost_to_service_all_now_min: min(r.cost_now),
        cost_to_service_all_now_max: max(r.cost_now),
        cost_to_service_all_lifetime: r.cost_lifetime,
        delinquency_30plus_now: r.delinquency_30plus_now,
        delinquency_30plus_lifetime: r.delinquency_30plus_lifetime,
        float_earnings_pv: r.float_pv,
        float_earnings_annual_rate: r.float_earnings_rate,
        note_rate: avg(r.note_rate),
        note_rate_min: min(r.note_rate),
        note_rate_max: max(r.note_rate),
        servicing_fee: avg(r.servicing_fee),
        servicing_fee_min: min(r.servicing_fee),
        servicing_fee_max: max(r.servicing_fee),
        value_bps_min: min(r.value_bps_range),
        value_bps_max: max(r.value_bps_range),
        prepayment_cpr_min: min(r.prepayment_cpr_range),
        prepayment_cpr_max: max(r.prepayment_cpr_range),
        weighted_average_life_years_min: min(r.weighted_average_life_range),
        weighted_average_life_years_max: max(r.weighted_average_life_range),
        discount_rate_min: min(r.discount_rate_range),
        discount_rate_max: max(r.discount_rate_range),
        delinquency_30plus_lifetime_min: min(r.delinquency_30plus_lifetime_range),
        delinquency_30plus_lifetime_max: max(r.delinquency_30plus_lifetime_range),
        sensitivities,
    }
}

/// disclosure.csv: the total, then one row per group. Sensitivity columns
/// are `<input>_<pct>pct_change` ($) and `..._change_pct` (%).
pub fn disclosure_csv(report: &Disclosure) -> Vec<u8> {
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
    let mut header: Vec<&str> = DisclosureCsvRow::HEADER.to_vec();
    header.extend(names.iter().map(String::as_str));
    let mut csv = docs::csv_header(&header);
    let rows =
        std::iter::once(("total", &report.total)).chain(report.groups.iter().map(|g| ("group", g)));
    for (level, r) in rows {
        csv.extend_from_slice(&docs::csv_line(&csv_row(level, r).write_cells(&names)));
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
