//! `msr amortize`: the ASC 860-50 amortization method (docs/accounting.md).
//! Each stratum's carrying amount (BASIS.csv) is amortized in proportion
//! to, and over the period of, its projected expected net servicing income
//! (`amortization.csv`), and tested for impairment against the stratum's
//! fair value (`impairment.csv`: valuation allowance = max(0, carrying −
//! fair value)). A stratum is the value of one or more tape columns
//! (`--stratum COL[,COL]`); the fair value of a stratum is the one
//! `msr value --group-by COL` writes for it. `amortization.json` (summary
//! and provenance, every input hashed) is the completion marker.
//!
//! Bad input is refused before anything is written: a stratum in the basis
//! file with no loans, a loan whose stratum is null or not in the basis
//! file, a negative or non-numeric carrying amount, a repeated stratum.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Instant, SystemTime};

use anyhow::Result;
use clap::Args;
use msr_engine::disclosure::{amortization_schedule, expected_net, value_groups, Groups};
use msr_engine::{Detail, RiskInputs};
use msr_io::docs::amortize::{Amortization, AmortizationRow, ImpairmentRow, Stratum};
use msr_io::docs::run::InputFile;
use msr_io::docs::{self, write_document};

use super::disclose::column_labels;
use super::oas::{data_checks, load, provenance};
use crate::common::{sha256, InputArgs, PathArgs, RunArgs};
use crate::exit::{input, output, CliError, Failure};

/// Flags of `msr amortize`.
#[derive(Debug, Args)]
pub struct AmortizeArgs {
    /// The tape and configuration.
    #[command(flatten)]
    pub input: InputArgs,
    /// The rate paths.
    #[command(flatten)]
    pub paths: PathArgs,
    /// Threads, OAS and progress.
    #[command(flatten)]
    pub run: RunArgs,
    /// Carrying amount of each stratum: a CSV with one column per
    /// --stratum column (the stratum's values) and `carrying_amount` ($).
    #[arg(long, value_name = "BASIS.csv")]
    pub basis: PathBuf,
    /// The tape column(s) whose values make a stratum (comma-separated).
    #[arg(long, value_name = "COL[,COL]", value_delimiter = ',', required = true)]
    pub stratum: Vec<String>,
    /// The valuation date the schedule starts from (YYYY-MM-DD); default
    /// the configuration's valuation.as_of.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// Output directory.
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub out: PathBuf,
}

/// `(year, month)` of a `YYYY-MM-DD` date.
fn year_month(date: &str) -> Option<(i32, u32)> {
    let mut it = date.split('-');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i32, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then_some((y, m))
}

/// `YYYY-MM` of the month `t` months after `(y, m)`.
fn period(y: i32, m: u32, t: usize) -> String {
    let k = (m as i64 - 1) + t as i64;
    format!(
        "{:04}-{:02}",
        y as i64 + k.div_euclid(12),
        k.rem_euclid(12) + 1
    )
}

/// The basis file: stratum label (columns joined with `|`) → carrying amount.
fn read_basis(args: &AmortizeArgs) -> Result<BTreeMap<String, f64>> {
    let path = &args.basis;
    let table = msr_io::read_csv_table(path).map_err(input)?;
    let mut cols = Vec::with_capacity(args.stratum.len());
    for c in &args.stratum {
        cols.push(table.column(c).ok_or_else(|| {
            input(format!(
                "{}: no column `{c}` (the --stratum columns and carrying_amount are needed)",
                path.display()
            ))
        })?);
    }
    let amount = table
        .column("carrying_amount")
        .ok_or_else(|| input(format!("{}: no column `carrying_amount`", path.display())))?;
    let mut basis = BTreeMap::new();
    for (line, fields) in &table.rows {
        let label = cols
            .iter()
            .map(|&k| fields[k].as_str())
            .collect::<Vec<_>>()
            .join("|");
        let raw = &fields[amount];
        let value: f64 = raw
            .parse()
            .ok()
            .filter(|x: &f64| x.is_finite())
            .ok_or_else(|| {
                input(format!(
                    "{}: line {line}: carrying_amount `{}` is not a number",
                    path.display(),
                    msr_io::text::terminal_safe(raw)
                ))
            })?;
        if value < 0.0 {
            return Err(input(format!(
                "{}: line {line}: stratum `{}` has a negative carrying amount {value} (must be ≥ 0)",
                path.display(),
                msr_io::text::terminal_safe(&label)
            )));
        }
        if basis.insert(label.clone(), value).is_some() {
            return Err(input(format!(
                "{}: line {line}: stratum `{}` appears twice",
                path.display(),
                msr_io::text::terminal_safe(&label)
            )));
        }
    }
    if basis.is_empty() {
        return Err(input(format!("{}: no strata", path.display())));
    }
    Ok(basis)
}

/// Run `msr amortize`.
///
/// # Errors
/// Usage error for a path file or a bad date; input errors for a bad basis
/// file, a loan without a stratum or a stratum without loans; output errors.
pub fn run(args: &AmortizeArgs) -> Result<ExitCode> {
    if args.paths.rate_paths.is_some() {
        return Err(CliError::new(
            Failure::Usage,
            "msr amortize needs generated rate paths (as msr disclose); drop --rate-paths (use --num-paths/--seed)",
        ));
    }
    if let Some(c) = args.stratum.iter().find(|c| c.trim().is_empty()) {
        return Err(CliError::new(
            Failure::Usage,
            format!("--stratum: an empty column name in `{c}`"),
        ));
    }
    let started = SystemTime::now();
    let clock = Instant::now();
    let basis = read_basis(args)?;
    let (mut loaded, staging) = load(&args.input, &args.paths, &args.run, &args.out, false, None)?;
    let staging = staging.reading(&[args.basis.as_path()]);
    if let Some(d) = &args.as_of {
        loaded.config.valuation.as_of = d.clone();
        // The configuration's own rule (a real calendar date), so a date
        // given here is one `msr value --config` accepts too.
        loaded
            .config
            .validate()
            .map_err(|e| CliError::new(Failure::Usage, format!("--as-of: {e}")))?;
    }
    let as_of = loaded.config.valuation.as_of.clone();
    let (y, m) = year_month(&as_of).ok_or_else(|| {
        CliError::new(
            Failure::Usage,
            format!("as-of date `{as_of}` is not YYYY-MM-DD"),
        )
    })?;
    let (labels, first_null) = column_labels(
        &args.input.loans,
        &loaded.config,
        &args.stratum,
        &loaded.loans,
    )?;
    if let Some(id) = first_null {
        return Err(input(format!(
            "loan {} has no stratum: a null in --stratum {}",
            msr_io::text::terminal_safe(&id),
            args.stratum.join(",")
        )));
    }
    if let Some((l, label)) = loaded
        .loans
        .iter()
        .zip(&labels)
        .find(|(_, s)| !basis.contains_key(*s))
    {
        return Err(input(format!(
            "{}: loan {} is in stratum `{}`, which has no carrying amount",
            args.basis.display(),
            msr_io::text::terminal_safe(&l.loan_id),
            msr_io::text::terminal_safe(label)
        )));
    }
    let groups = Groups::from_labels(&labels);
    if let Some(s) = basis.keys().find(|s| !groups.names.contains(s)) {
        return Err(input(format!(
            "{}: stratum `{}` has no loans on the tape",
            args.basis.display(),
            msr_io::text::terminal_safe(s)
        )));
    }
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
    let bar = crate::common::progress(loaded.loans.len() as u64, "amortize", args.run.quiet);
    let valued = value_groups(&inputs, &groups, Detail::Monthly, &mut |n| {
        bar.inc(n as u64)
    })
    .map_err(input)?;
    bar.finish_and_clear();

    let mut amort = Vec::new();
    let mut imp = Vec::new();
    let mut strata = Vec::new();
    let mut non_finite = 0;
    for g in &valued {
        let carrying = basis[&g.name];
        let income = expected_net(&g.accum);
        let schedule = amortization_schedule(carrying, &income).ok_or_else(|| {
            input(format!(
                "stratum `{}`: no month of positive projected net servicing income to amortize {carrying} over",
                msr_io::text::terminal_safe(&g.name)
            ))
        })?;
        amort.extend(schedule.iter().map(|r| AmortizationRow {
            stratum: g.name.clone(),
            month: r.month as u64,
            period: period(y, m, r.month),
            beginning: r.beginning,
            amortization: r.amortization,
            ending: r.ending,
        }));
        let fair = g.accum.total.value.value();
        let allowance = (carrying - fair).max(0.0);
        imp.push(ImpairmentRow {
            stratum: g.name.clone(),
            loans: g.accum.total.records,
            upb: g.accum.total.upb.value(),
            carrying_amount: carrying,
            fair_value: fair,
            valuation_allowance: allowance,
        });
        non_finite += g.accum.non_finite.len();
        strata.push(Stratum {
            stratum: g.name.clone(),
            loans: g.accum.total.records,
            carrying_amount: carrying,
            fair_value: fair,
            valuation_allowance: allowance,
            months: schedule.len() as u64,
            amortization_first_12_months: schedule
                .iter()
                .take(12)
                .map(|r| r.amortization)
                .sum::<f64>(),
        });
    }
    std::fs::write(
        staging.path("amortization.csv"),
        docs::to_csv(&AmortizationRow::HEADER, &amort),
    )
    .map_err(|e| {
        output(format!(
            "{}: {e}",
            args.out.join("amortization.csv").display()
        ))
    })?;
    std::fs::write(
        staging.path("impairment.csv"),
        docs::to_csv(&ImpairmentRow::HEADER, &imp),
    )
    .map_err(|e| {
        output(format!(
            "{}: {e}",
            args.out.join("impairment.csv").display()
        ))
    })?;
    let mut run = provenance(&args.input, &loaded, started)?;
    run.inputs.basis = Some(InputFile {
        path: args.basis.clone(),
        sha256: sha256(&args.basis)?,
        rows: None,
    });
    let doc = Amortization {
        as_of: as_of
            .parse()
            .map_err(|e| CliError::new(Failure::Internal, e))?,
        oas: loaded.config.valuation.oas,
        paths: loaded.rates.paths.num_paths() as u64,
        seed: loaded.config.valuation.seed,
        stratum_columns: args.stratum.clone(),
        method: "ASC 860-50 amortization: carrying amount amortized in proportion to projected expected net servicing income".into(),
        strata,
        total_valuation_allowance: valued
            .iter()
            .map(|g| (basis[&g.name] - g.accum.total.value.value()).max(0.0))
            .sum::<f64>(),
        wall_seconds: clock.elapsed().as_secs_f64(),
        run,
    };
    write_document(staging.path("amortization.json"), &doc).map_err(output)?;
    staging.commit("amortization.json")?;
    if !args.run.quiet {
        println!(
            "{} strata amortized over their projected net servicing income; outputs in {}",
            valued.len(),
            args.out.display()
        );
    }
    data_checks(&loaded, non_finite, &args.out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_roll_over_years() {
        assert_eq!(year_month("2026-09-30"), Some((2026, 9)));
        assert_eq!(period(2026, 9, 1), "2026-10");
        assert_eq!(period(2026, 9, 4), "2027-01");
        assert_eq!(period(2026, 12, 12), "2027-12");
        assert_eq!(year_month("2026-13-01"), None);
        assert_eq!(year_month("26-01-01"), None);
    }
}
