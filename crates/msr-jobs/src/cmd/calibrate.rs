//! `msr calibrate`: tie the model to the market (docs/calibration-market.md).
//!
//! * `msr calibrate rates` fits the Hull–White `a`, `σ` to at-the-money
//!   swaption normal volatilities and writes `calibrated.toml` (the base
//!   configuration with the fitted `[hull_white]`) and `fit.json`.
//! * `msr calibrate oas` solves one OAS per cohort of a book so that each
//!   cohort is worth its target multiple or bp of UPB, from one valuation and
//!   each cohort's `CF[p,t]` matrix (the solve of `msr oas`, per cohort), and
//!   writes `oas_by_cohort.csv` (usable as `--oas-table`) and `fit.json`.
//! * `msr calibrate behaviour` fits MODEL.md §D's prepayment and delinquency
//!   parameters to a loan-month panel (`cmd/behaviour.rs`, docs/calibration.md).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::Result;
use clap::{Args, Subcommand};
use msr_engine::{
    value_loans_grouped, CohortNumber, CohortTable, Context, Detail, DiscountedFlows, OasError,
    OasTarget, TableKind,
};
use msr_io::docs::calibrate::{
    FitCohort, FitCurve, FitQuote, GridFile, OasDomain, OasFit, RatesFit, RatesFitInputs,
};
use msr_io::docs::run::InputFile;
use msr_io::docs::write_document;
use msr_model::{Market, ModelParams};
use msr_rates::{calibrate_hull_white, AtmSwap, FitParams, HullWhiteModel, RateError, ZeroCurve};

use crate::cmd::oas::{data_checks, load, oas_domain, provenance};
use crate::common::{
    load_config, progress, sha256, timestamp, InputArgs, PathArgs, RunArgs, Staging,
};
use crate::exit::{input, output, CliError, Failure};

/// Flags of `msr calibrate`.
#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// What to calibrate.
    #[command(subcommand)]
    pub what: CalibrateCommand,
}

/// What to calibrate.
#[derive(Debug, Subcommand)]
pub enum CalibrateCommand {
    /// Fit the Hull–White mean reversion a and volatility sigma to at-the-money
    /// swaption normal volatilities (least squares on the vol errors in bp).
    Rates(RatesArgs),
    /// Solve one OAS per cohort of the book (GRID.csv: cohorts by tape columns
    /// and bands, each with a target multiple or value_bps) from one valuation;
    /// writes oas_by_cohort.csv, usable as --oas-table.
    Oas(OasGridArgs),
    /// Fit MODEL.md §D's prepayment and delinquency parameters to a
    /// loan-month panel by maximum likelihood and back-test them; writes
    /// calibrated.toml, merged.toml, fit.json and backtest.parquet
    /// (docs/calibration.md).
    Behaviour(crate::cmd::behaviour::BehaviourArgs),
}

/// Flags of `msr calibrate oas`.
#[derive(Debug, Args)]
pub struct OasGridArgs {
    /// The tape and configuration.
    #[command(flatten)]
    pub input: InputArgs,
    /// The rate paths.
    #[command(flatten)]
    pub paths: PathArgs,
    /// Threads, OAS and progress.
    #[command(flatten)]
    pub run: RunArgs,
    /// Cohorts and targets: CSV whose columns name cohorts by tape columns
    /// (investor, dq_status, property_state, fico, loan_age, remaining_term,
    /// loan_count) and bands <column>_min,<column>_max ([min, max)), with one
    /// target column, multiple or value_bps.
    #[arg(long, value_name = "FILE")]
    pub grid: PathBuf,
    /// Lowest OAS searched (annual decimal, within [-1, 1]).
    #[arg(long, value_name = "X", allow_hyphen_values = true, default_value_t = msr_engine::oas::OAS_MIN)]
    pub oas_min: f64,
    /// Highest OAS searched (annual decimal, within [-1, 1]).
    #[arg(long, value_name = "X", allow_hyphen_values = true, default_value_t = msr_engine::oas::OAS_MAX)]
    pub oas_max: f64,
    /// Output directory (oas_by_cohort.csv, fit.json).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Flags of `msr calibrate rates`.
#[derive(Debug, Args)]
pub struct RatesArgs {
    /// At-the-money normal volatilities: CSV with columns expiry_years,
    /// tenor_years, normal_vol_bp.
    #[arg(long, value_name = "FILE")]
    pub swaptions: PathBuf,
    /// Base configuration (its curve is the single curve of the fit); the
    /// output calibrated.toml is this configuration with the fitted
    /// [hull_white].
    #[arg(long, value_name = "FILE", default_value = crate::common::BUILTIN_CONFIG)]
    pub config: PathBuf,
    /// Hold the mean reversion at this value and fit sigma alone.
    #[arg(long, value_name = "X", allow_hyphen_values = true)]
    pub fix_a: Option<f64>,
    /// Output directory (calibrated.toml, fit.json).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// No summary on the terminal.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Run `msr calibrate`.
///
/// # Errors
/// As the subcommand.
pub fn run(args: &CalibrateArgs) -> Result<ExitCode> {
    match &args.what {
        CalibrateCommand::Rates(a) => run_rates(a),
        CalibrateCommand::Oas(a) => run_oas(a),
        CalibrateCommand::Behaviour(a) => crate::cmd::behaviour::run(a),
    }
}

/// A rate-calibration error with its exit class: a quote or parameter that
/// cannot be used is bad input (3), a fit that does not converge is a
/// request that cannot be met (6).
fn rate_error(file: &std::path::Path, e: RateError) -> anyhow::Error {
    match e {
        RateError::Calibration(_) => CliError::new(Failure::Unreachable, e),
        RateError::Parameter { .. } => CliError::new(Failure::Usage, format!("--fix-a: {e}")),
        _ => input(format!("{}: {e}", file.display())),
    }
}

/// Run `msr calibrate rates`.
///
/// # Errors
/// Input errors for the configuration or the quotes (exit 3), usage errors
/// for a bad `--fix-a`, output errors, and exit 6 when the fit does not
/// converge.
pub fn run_rates(args: &RatesArgs) -> Result<ExitCode> {
    let started = SystemTime::now();
    let mut config = load_config(&args.config, &PathArgs::default())?;
    let curve = ZeroCurve::from_config(&config.curve).map_err(|e| input(format!("config: {e}")))?;
    let quotes = msr_io::read_swaption_quotes(&args.swaptions).map_err(input)?;
    let params = match args.fix_a {
        None => FitParams::Both,
        Some(a) => FitParams::FixedA(a),
    };
    let fit = calibrate_hull_white(&curve, &quotes, params)
        .map_err(|e| rate_error(&args.swaptions, e))?;
    let hw =
        HullWhiteModel::new(fit.a, fit.sigma).map_err(|e| CliError::new(Failure::Internal, e))?;

    let quote_rows: Vec<FitQuote> = quotes
        .iter()
        .zip(&fit.model_bp)
        .map(|(q, &model)| {
            let swap = AtmSwap::new(&curve, q.expiry_years, q.tenor_years);
            // The engine's monthly model at the fitted parameters, where the
            // expiry is a whole number of months.
            let months = q.expiry_years * 12.0;
            let monthly = ((months - months.round()).abs() < 1e-9)
                .then(|| swap.implied_vol_bp(swap.monthly_payer_price(&hw)));
            FitQuote {
                expiry_years: q.expiry_years,
                tenor_years: q.tenor_years,
                market_bp: q.normal_vol_bp,
                model_bp: model,
                residual_bp: model - q.normal_vol_bp,
                monthly_model_bp: monthly,
                strike: swap.strike,
                annuity: swap.annuity,
            }
        })
        .collect();
    let doc = RatesFit {
        kind: "swaption_calibration".into(),
        a: fit.a,
        sigma: fit.sigma,
        fixed_a: args.fix_a.is_some(),
        rmse_bp: fit.rmse_bp,
        iterations: fit.iterations as u64,
        gradient_ln_a_ln_sigma: fit.gradient,
        relative_gradient: fit.relative_gradient,
        quotes: quote_rows,
        conventions: "single curve (the config's, MODEL.md C.1); swap from the expiry T0, annual fixed at T0+1..T0+n with year fractions 1; strike the forward par rate; market price A*vol*sqrt(T0/(2*pi)); model Hull-White 1F fitted to the curve, Jamshidian; docs/calibration-market.md".into(),
        curve: FitCurve {
            tenors: config.curve.tenors.clone(),
            zero_rates: config.curve.zero_rates.clone(),
        },
        inputs: Some(RatesFitInputs {
            swaptions: InputFile {
                path: args.swaptions.clone(),
                sha256: sha256(&args.swaptions)?,
                rows: None,
            },
            config: InputFile {
                path: args.config.clone(),
                sha256: crate::common::config_sha256(&args.config)?,
                rows: None,
            },
        }),
        engine: "msr-engine".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        command: std::env::args().collect(),
        started_at: timestamp(started),
    };

    config.hull_white.a = fit.a;
    config.hull_white.sigma = fit.sigma;
    let toml = format!(
        "# {} with [hull_white] calibrated to {} by `msr calibrate rates`\n# a = {}, sigma = {}, rmse {:.4} bp over {} quotes (fit.json)\n{}",
        args.config.display(),
        args.swaptions.display(),
        fit.a,
        fit.sigma,
        fit.rmse_bp,
        quotes.len(),
        config.to_toml_string()
    );
    let staging =
        Staging::create(&args.out)?.reading(&[args.swaptions.as_path(), args.config.as_path()]);
    msr_io::write_text(staging.path("calibrated.toml"), &toml).map_err(output)?;
    write_document(staging.path("fit.json"), &doc).map_err(output)?;
    staging.commit("fit.json")?;
    if !args.quiet {
        println!(
            "Hull–White a = {:.6}{}, sigma = {:.6} ({:.2} bp): rmse {:.3} bp over {} quotes, {} iterations",
            fit.a,
            if args.fix_a.is_some() { " (fixed)" } else { "" },
            fit.sigma,
            1e4 * fit.sigma,
            fit.rmse_bp,
            quotes.len(),
            fit.iterations
        );
        println!("outputs in {}", args.out.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Read and parse a cohort table (a calibration grid or an OAS table).
///
/// # Errors
/// Input errors naming the file.
pub(crate) fn read_cohort_table(path: &std::path::Path, kind: TableKind) -> Result<CohortTable> {
    let csv = msr_io::read_csv_table(path).map_err(input)?;
    CohortTable::parse(&csv.headers, &csv.rows, kind)
        .map_err(|e| input(format!("{}: {e}", path.display())))
}

/// One cohort's solve.
struct CohortSolve {
    upb: f64,
    fee_base: f64,
    records: u64,
    target_dollars: Option<f64>,
    outcome: Result<msr_engine::OasSolution, String>,
}

/// Run `msr calibrate oas`.
///
/// # Errors
/// Usage errors for the OAS domain; input errors for the grid, tape, config
/// or paths, and for a grid that does not partition the book; output errors;
/// exit 6 (after writing every cohort's result) when some cohort's target
/// is out of reach.
pub fn run_oas(args: &OasGridArgs) -> Result<ExitCode> {
    let started = SystemTime::now();
    let domain = oas_domain(args.oas_min, args.oas_max)?;
    let table = read_cohort_table(&args.grid, TableKind::Targets)?;
    let (loaded, staging) = load(&args.input, &args.paths, &args.run, &args.out, false, None)?;
    let staging = staging.reading(&[args.grid.as_path()]);
    let cohort_of = table
        .assign(&loaded.loans)
        .map_err(|e| input(format!("{}: {e}", args.grid.display())))?;
    let config = &loaded.config;
    let base_oas = config.valuation.oas;
    let params = ModelParams::from_config(config);
    // Net cash flows do not depend on the OAS, so one market serves every
    // cohort; each cohort's loans are valued once, into its own CF[p,t].
    let market = Market::new(&loaded.rates.paths, &params, base_oas, loaded.months);
    let ctx = Context {
        params: &params,
        market: &market,
        config,
        units: loaded.rates.units,
        tangent: None,
    };
    let markets = vec![&market; table.cohorts.len()];
    let bar = progress(loaded.loans.len() as u64, "valuing loans", args.run.quiet);
    let (_, accums) = value_loans_grouped(
        &ctx,
        &markets,
        &cohort_of,
        &loaded.loans,
        Detail::Full,
        &|n| bar.inc(n as u64),
    );
    bar.finish_and_clear();

    let mut solves = Vec::with_capacity(accums.len());
    for (cohort, accum) in table.cohorts.iter().zip(&accums) {
        let flows = DiscountedFlows::from_accum(accum, &loaded.rates.paths)
            .map_err(|e| CliError::new(Failure::Internal, e))?;
        let base_value = accum.total.value.value();
        let check = flows.value(base_oas);
        if !msr_core::tolerance::close(check, base_value, 1e-9, 1e-6) {
            return Err(CliError::new(
                Failure::Internal,
                format!("cohort on line {}: the cash-flow matrix gives {check} at the base OAS but the valuation {base_value}", cohort.line),
            ));
        }
        let (upb, fee_base) = (accum.total.upb.value(), accum.total.fee_base.value());
        let target = match table.number {
            CohortNumber::Multiple => OasTarget::Multiple(cohort.number),
            _ => OasTarget::Bps(cohort.number),
        };
        let (target_dollars, outcome) = match target.dollars(upb, fee_base) {
            Err(e) => (None, Err(e.to_string())),
            Ok(dollars) => (
                Some(dollars),
                flows.solve_in(dollars, base_oas, domain).map_err(|e| match e {
                    OasError::Unreachable {
                        min_value,
                        max_value,
                        oas_at_min,
                        oas_at_max,
                        lo,
                        hi,
                        ..
                    } => format!(
                        "no OAS in [{lo}, {hi}] gives {} {}: the reachable range is {} (at OAS {oas_at_min:.6}) to {} (at OAS {oas_at_max:.6})",
                        table.number,
                        cohort.number,
                        target.express(min_value, upb, fee_base),
                        target.express(max_value, upb, fee_base),
                    ),
                    other => other.to_string(),
                }),
            ),
        };
        solves.push(CohortSolve {
            upb,
            fee_base,
            records: accum.total.records,
            target_dollars,
            outcome,
        });
    }

    // oas_by_cohort.csv: the cohort columns as written, then full-precision
    // numbers (Rust's shortest round-trip form), so it reads back as an
    // --oas-table exactly.
    let mut headers = table.columns.clone();
    headers.extend(["oas", "target", "model", "loans", "upb"].map(String::from));
    let express = |dollars: f64, s: &CohortSolve| match table.number {
        CohortNumber::Multiple => dollars / s.fee_base,
        _ => 1e4 * dollars / s.upb,
    };
    let rows: Vec<Vec<String>> = table
        .cohorts
        .iter()
        .zip(&solves)
        .map(|(c, s)| {
            let mut row = c.cells.clone();
            match &s.outcome {
                Ok(sol) => {
                    row.push(format!("{}", sol.oas));
                    row.push(format!("{}", c.number));
                    row.push(format!("{}", express(sol.value, s)));
                }
                Err(_) => {
                    row.push(String::new());
                    row.push(format!("{}", c.number));
                    row.push(String::new());
                }
            }
            row.push(s.records.to_string());
            row.push(format!("{}", s.upb));
            row
        })
        .collect();
    msr_io::write_csv_table(staging.path("oas_by_cohort.csv"), &headers, &rows).map_err(output)?;

    let cohorts: Vec<FitCohort> = table
        .cohorts
        .iter()
        .zip(&solves)
        .map(|(c, s)| {
            let (oas, model, model_dollars, iterations, other_roots, error) = match &s.outcome {
                Ok(sol) => (
                    Some(sol.oas),
                    Some(express(sol.value, s)),
                    Some(sol.value),
                    Some(sol.iterations as u64),
                    sol.other_roots.clone(),
                    None,
                ),
                Err(e) => (None, None, None, None, Vec::new(), Some(e.clone())),
            };
            FitCohort {
                line: c.line as u64,
                cohort: table
                    .columns
                    .iter()
                    .cloned()
                    .zip(c.cells.iter().cloned())
                    .collect(),
                oas,
                target: c.number,
                model,
                target_dollars: s.target_dollars,
                model_dollars,
                loans: s.records,
                upb: s.upb,
                fee_base: s.fee_base,
                iterations,
                other_roots,
                error,
            }
        })
        .collect();
    let failed: Vec<String> = table
        .cohorts
        .iter()
        .zip(&solves)
        .filter_map(|(c, s)| {
            s.outcome
                .as_ref()
                .err()
                .map(|e| format!("line {} ({}): {e}", c.line, table.label(c)))
        })
        .collect();
    let doc = OasFit {
        kind: "oas_calibration".into(),
        target_kind: table.number.name().to_string(),
        cohorts,
        unreachable: failed.len() as u64,
        oas_domain: Some(OasDomain {
            lo: domain.lo,
            hi: domain.hi,
        }),
        base_oas,
        tolerance: msr_engine::oas::OAS_TOL,
        paths: market.num_paths() as u64,
        months: loaded.months as u64,
        grid: Some(GridFile {
            path: args.grid.clone(),
            sha256: sha256(&args.grid)?,
        }),
        run: Some(provenance(&args.input, &loaded, started)?),
    };
    write_document(staging.path("fit.json"), &doc).map_err(output)?;
    staging.commit("fit.json")?;
    if !args.run.quiet {
        for (c, s) in table.cohorts.iter().zip(&solves) {
            match &s.outcome {
                Ok(sol) => println!(
                    "{}: OAS {:.6} % at {} {} ({} loans, ${:.0} UPB)",
                    table.label(c),
                    100.0 * sol.oas,
                    table.number,
                    c.number,
                    s.records,
                    s.upb
                ),
                Err(e) => println!("{}: not solved: {e}", table.label(c)),
            }
        }
        println!("outputs in {}", args.out.display());
    }
    if !failed.is_empty() {
        return Err(CliError::new(
            Failure::Unreachable,
            format!(
                "{} of {} cohorts not solved (the others are in {}): {}",
                failed.len(),
                table.cohorts.len(),
                args.out.display(),
                failed.join("; ")
            ),
        ));
    }
    let non_finite: usize = accums.iter().map(|a| a.non_finite.len()).sum();
    data_checks(&loaded, non_finite, &args.out)
}
