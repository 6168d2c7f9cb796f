//! `msr oas`: solve the option-adjusted spread at which the book is worth a
//! target (dollars, bp of UPB or a multiple of the fee), from the base run's
//! cash-flow matrix without re-running loans (MODEL.md §F), and report the
//! static value and option cost at the solved OAS. Writes `oas.json`.
//!
//! Also home of what `msr oas` and `msr risk` share: a book read whole into
//! memory with its rates and staged outputs ([`Loaded`]), the provenance
//! block of their JSON, and the end-of-run data checks.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Instant, SystemTime};

use anyhow::Result;
use clap::{ArgGroup, Args};
use msr_core::tolerance::close;
use msr_core::{Config, Loan};
use msr_engine::oas::OAS_TOL;
use msr_engine::{
    value_loans_with, Context, Detail, DiscountedFlows, OasDomain, OasError, OasTarget,
    PortfolioAccum,
};
use msr_io::docs::{
    self,
    run::{InputFile, RunInputs, RunProvenance},
};
use msr_io::partial::ShardSpec;
use msr_io::TapeStats;
use msr_model::{Market, ModelParams};

use crate::common::{
    init_threads, load_config, progress, resolve_rates, sha256, timestamp, InputArgs, PathArgs,
    Rates, RunArgs, Staging, MAX_MONTHS,
};
use crate::exit::{input, output, CliError, Failure};
use crate::shard::{read_shard, ShardSlice};

/// Flags of `msr oas`: those of `msr value` plus exactly one target.
#[derive(Debug, Args)]
#[command(group(
    ArgGroup::new("target").required(true).args(["target_value", "target_bps", "target_multiple"])
))]
pub struct OasArgs {
    /// The tape and configuration.
    #[command(flatten)]
    pub input: InputArgs,
    /// The rate paths.
    #[command(flatten)]
    pub paths: PathArgs,
    /// Threads, OAS and progress.
    #[command(flatten)]
    pub run: RunArgs,
    /// Target portfolio value in dollars.
    #[arg(long, value_name = "DOLLARS", allow_hyphen_values = true)]
    pub target_value: Option<f64>,
    /// Target portfolio value in basis points of UPB.
    #[arg(long, value_name = "BP", allow_hyphen_values = true)]
    pub target_bps: Option<f64>,
    /// Target portfolio value as a multiple of the annual servicing fee Σ s·UPB.
    #[arg(long, value_name = "M", allow_hyphen_values = true)]
    pub target_multiple: Option<f64>,
    /// Lowest OAS searched (annual decimal, within [-1, 1]).
    #[arg(long, value_name = "X", allow_hyphen_values = true, default_value_t = msr_engine::oas::OAS_MIN)]
    pub oas_min: f64,
    /// Highest OAS searched (annual decimal, within [-1, 1]).
    #[arg(long, value_name = "X", allow_hyphen_values = true, default_value_t = msr_engine::oas::OAS_MAX)]
    pub oas_max: f64,
    /// Output directory.
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub out: PathBuf,
    /// Also write the rate paths used, as DIR/paths.parquet (MODEL.md §C.5).
    #[arg(long)]
    pub export_paths: bool,
}

impl OasArgs {
    /// The search domain, checked against the configuration's OAS range so a
    /// solved spread can be passed back with `--oas`.
    fn domain(&self) -> Result<OasDomain> {
        oas_domain(self.oas_min, self.oas_max)
    }

    fn target(&self) -> OasTarget {
        match (self.target_value, self.target_bps, self.target_multiple) {
            (Some(x), _, _) => OasTarget::Value(x),
            (_, Some(x), _) => OasTarget::Bps(x),
            (_, _, Some(x)) => OasTarget::Multiple(x),
            // clap's required group guarantees one.
            (None, None, None) => OasTarget::Value(f64::NAN),
        }
    }
}

/// The OAS search domain `[lo, hi]`, checked against the configuration's OAS
/// range so a solved spread can be passed back with `--oas`.
///
/// # Errors
/// Usage error unless `-1 ≤ lo < hi ≤ 1`.
pub(crate) fn oas_domain(lo: f64, hi: f64) -> Result<OasDomain> {
    if !(lo.is_finite() && hi.is_finite() && -1.0 <= lo && lo < hi && hi <= 1.0) {
        return Err(CliError::new(
            Failure::Usage,
            format!("--oas-min {lo} and --oas-max {hi}: need -1 <= oas-min < oas-max <= 1"),
        ));
    }
    Ok(OasDomain { lo, hi })
}

/// A book read whole into memory with its configuration and rates.
pub(crate) struct Loaded {
    pub config: Config,
    pub rates: Rates,
    pub loans: Vec<Loan>,
    pub stats: TapeStats,
    pub months: usize,
    pub threads: usize,
    pub setup_seconds: f64,
    /// The shard read (`--shard K/N`), or `None` for the whole tape.
    pub shard: Option<ShardSlice>,
}

/// Read the configuration, rates and tape; open the staged output directory
/// with rejects.csv (and, if asked, paths.parquet) already written.
///
/// # Errors
/// Input errors for the config, paths or tape (including a loan longer than
/// the paths), output errors for the directory.
pub(crate) fn load(
    input_args: &InputArgs,
    path_args: &PathArgs,
    run: &RunArgs,
    out: &Path,
    export_paths: bool,
    shard: Option<ShardSpec>,
) -> Result<(Loaded, Staging)> {
    let clock = Instant::now();
    let threads = init_threads(run.threads)?;
    crate::common::check_default_input(&input_args.loans, crate::common::SAMPLE_LOANS, "--loans")?;
    let config = load_config(&input_args.config, path_args)?;
    let rates = resolve_rates(&config, path_args)?;
    let (loans, rejects, stats, shard) = match shard {
        None => {
            let (loans, rejects, stats) =
                msr_io::read_tape(&input_args.loans, &config.tape).map_err(input)?;
            (loans, rejects, stats, None)
        }
        Some(spec) => {
            let read = read_shard(&input_args.loans, &config.tape, spec)?;
            (read.loans, read.rejects, read.stats, Some(read.slice))
        }
    };
    // One rule for every command that values a tape (as `msr value`): a
    // tape with no rows is an input error, not a book worth zero.
    let tape_rows = shard.as_ref().map_or(stats.rows_read, |s| s.tape_rows);
    if tape_rows == 0 {
        return Err(input(format!(
            "{}: the tape has no rows; nothing to value",
            input_args.loans.display()
        )));
    }
    let months = rates.paths.months().min(MAX_MONTHS);
    if let Some(long) = loans.iter().find(|l| l.remaining_term as usize > months) {
        return Err(input(format!(
            "the rate paths have {months} months but loan {} needs {} (remaining_term)",
            msr_io::text::terminal_safe(&long.loan_id),
            long.remaining_term
        )));
    }
    let staging = Staging::create(out)?.reading(&input_args.files(path_args));
    msr_io::write_rejects(staging.path("rejects.csv"), &rejects).map_err(output)?;
    if export_paths {
        msr_io::write_path_file(staging.path("paths.parquet"), &rates.paths).map_err(output)?;
    }
    let setup_seconds = clock.elapsed().as_secs_f64();
    Ok((
        Loaded {
            config,
            rates,
            loans,
            stats,
            months,
            threads,
            setup_seconds,
            shard,
        },
        staging,
    ))
}

/// Inputs, rate-path provenance and run settings: the `run` block of the
/// JSON outputs.
pub(crate) fn provenance(
    input_args: &InputArgs,
    loaded: &Loaded,
    started: SystemTime,
) -> Result<RunProvenance> {
    let num_paths = loaded.rates.paths.num_paths();
    let rate_paths =
        crate::shard::rate_paths_info(&loaded.rates.source, num_paths, &loaded.config, true)?;
    Ok(RunProvenance {
        engine: "msr-engine".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        command: std::env::args().collect(),
        started_at: timestamp(started),
        finished_at: timestamp(SystemTime::now()),
        inputs: RunInputs {
            loans: InputFile {
                path: input_args.loans.clone(),
                sha256: sha256(&input_args.loans)?,
                rows: Some(loaded.stats.rows_read),
            },
            config: InputFile {
                path: input_args.config.clone(),
                sha256: crate::common::config_sha256(&input_args.config)?,
                rows: None,
            },
            basis: None,
        },
        rate_paths,
        threads: loaded.threads as u64,
        merged_from: None,
    })
}

/// After outputs are in place: exit 5 when too many rows were rejected or
/// loans had a non-finite value, else success.
pub(crate) fn data_checks(loaded: &Loaded, non_finite: usize, out: &Path) -> Result<ExitCode> {
    let stats = &loaded.stats;
    let share = stats.reject_share();
    if share > loaded.config.tape.max_reject_share {
        return Err(CliError::new(
            Failure::Data,
            format!(
                "{} of {} rows rejected ({:.2} %, above tape.max_reject_share {:.2} %); outputs written to {}, see rejects.csv",
                stats.rejected,
                stats.rows_read,
                100.0 * share,
                100.0 * loaded.config.tape.max_reject_share,
                out.display()
            ),
        ));
    }
    if non_finite > 0 {
        return Err(CliError::new(
            Failure::Data,
            format!(
                "{non_finite} loans had a non-finite valuation and were left out of the totals"
            ),
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// Value the loaded book at the configuration's OAS with the cash-flow matrix.
fn value_base(
    loaded: &Loaded,
    params: &ModelParams,
    market: &Market,
    quiet: bool,
) -> PortfolioAccum {
    let ctx = Context {
        params,
        market,
        config: &loaded.config,
        units: loaded.rates.units,
        tangent: None,
    };
    let bar = progress(loaded.loans.len() as u64, "valuing loans", quiet);
    // One call for the whole book: loans far apart share prepayment work.
    let (_, accum) = value_loans_with(&ctx, &loaded.loans, Detail::Full, &|n| bar.inc(n as u64));
    bar.finish_and_clear();
    accum
}

/// `$1234.56` in the target's units.
fn in_units(target: &OasTarget, dollars: f64, upb: f64, fee_base: f64) -> String {
    let x = target.express(dollars, upb, fee_base);
    match target {
        OasTarget::Value(_) => format!("${x:.2}"),
        OasTarget::Bps(_) => format!("{x:.4} bp"),
        OasTarget::Multiple(_) => format!("{x:.4}x"),
    }
}

/// Run `msr oas`.
///
/// # Errors
/// Usage, input, output or internal errors; [`Failure::Unreachable`] when no
/// OAS in the searched domain values the book at the target.
pub fn run(args: &OasArgs) -> Result<ExitCode> {
    let started = SystemTime::now();
    let clock = Instant::now();
    let domain = args.domain()?;
    let (loaded, staging) = load(
        &args.input,
        &args.paths,
        &args.run,
        &args.out,
        args.export_paths,
        None,
    )?;
    let config = &loaded.config;
    let base_oas = config.valuation.oas;
    let params = ModelParams::from_config(config);
    let market = Market::new(&loaded.rates.paths, &params, base_oas, loaded.months);

    let engine_clock = Instant::now();
    let accum = value_base(&loaded, &params, &market, args.run.quiet);
    let base_value = accum.total.value.value();
    let upb = accum.total.upb.value();
    let fee_base = accum.total.fee_base.value();
    let flows = DiscountedFlows::from_accum(&accum, &loaded.rates.paths)
        .map_err(|e| CliError::new(Failure::Internal, e))?;
    // The matrix must reproduce the valuation it came from (a bug otherwise).
    let check = flows.value(base_oas);
    if !close(check, base_value, 1e-9, 1e-6) {
        return Err(CliError::new(
            Failure::Internal,
            format!(
                "cash-flow matrix gives {check} at the base OAS but the valuation {base_value}"
            ),
        ));
    }

    let target = args.target();
    let target_dollars = target
        .dollars(upb, fee_base)
        .map_err(|e| CliError::new(Failure::Usage, e))?;
    let solution = match flows.solve_in(target_dollars, base_oas, domain) {
        Ok(s) => s,
        Err(OasError::Unreachable {
            min_value,
            oas_at_min,
            max_value,
            oas_at_max,
            lo,
            hi,
            ..
        }) => {
            return Err(CliError::new(
                Failure::Unreachable,
                format!(
                    "no OAS in [{:.0} %, {:.0} %] values the book at {}: the reachable range is {} (at OAS {:.4} %) to {} (at OAS {:.4} %)",
                    100.0 * lo,
                    100.0 * hi,
                    in_units(&target, target_dollars, upb, fee_base),
                    in_units(&target, min_value, upb, fee_base),
                    100.0 * oas_at_min,
                    in_units(&target, max_value, upb, fee_base),
                    100.0 * oas_at_max,
                ),
            ));
        }
        Err(e) => return Err(CliError::new(Failure::Unreachable, e)),
    };
    let static_value = msr_engine::risk::static_value(
        &loaded.loans,
        config,
        &loaded.rates.model,
        solution.oas,
        loaded.months,
    );
    let option_cost = static_value - solution.value;
    let engine_seconds = engine_clock.elapsed().as_secs_f64();

    let bps = |v: f64| if upb > 0.0 { Some(1e4 * v / upb) } else { None };
    let multiple = |v: f64| (fee_base > 0.0).then(|| v / fee_base);
    let doc = docs::oas::Oas {
        oas: solution.oas,
        iterations: solution.iterations as u64,
        evaluations: solution.evaluations as u64,
        tolerance: OAS_TOL,
        target: docs::oas::Target {
            kind: target.kind().to_string(),
            quoted: target.quoted(),
            value: target_dollars,
        },
        value: solution.value,
        value_bps: bps(solution.value),
        multiple: multiple(solution.value),
        static_value,
        option_cost,
        option_cost_bps: bps(option_cost),
        other_roots: solution.other_roots.clone(),
        reachable_range: docs::oas::ReachableRange {
            oas_lo: domain.lo,
            oas_hi: domain.hi,
            min_value: solution.range.min_value,
            oas_at_min: solution.range.oas_at_min,
            max_value: solution.range.max_value,
            oas_at_max: solution.range.oas_at_max,
        },
        base: docs::oas::Base {
            oas: base_oas,
            value: base_value,
            value_bps: bps(base_value),
            multiple: multiple(base_value),
        },
        as_of: crate::outputs::as_of(config)?,
        paths: market.num_paths() as u64,
        months: loaded.months as u64,
        records: accum.total.records,
        loan_count: accum.loan_count,
        upb,
        fee_base,
        loans_read: loaded.stats.rows_read,
        rejected_rows: loaded.stats.rejected,
        non_finite_loans: accum.non_finite.len() as u64,
        seed: config.valuation.seed,
        timings: docs::oas::OasTimings {
            setup_seconds: loaded.setup_seconds,
            engine_seconds,
            wall_seconds: clock.elapsed().as_secs_f64(),
        },
        run: provenance(&args.input, &loaded, started)?,
    };
    docs::write_document(staging.path("oas.json"), &doc).map_err(output)?;
    if !args.run.quiet {
        println!(
            "OAS {:.6} % ({:.2} bp) in {} iterations: value ${:.2} = {:.2} bp of ${:.0} UPB, multiple {}",
            100.0 * solution.oas,
            1e4 * solution.oas,
            solution.iterations,
            solution.value,
            bps(solution.value).unwrap_or(f64::NAN),
            upb,
            multiple(solution.value).map_or("n/a".to_string(), |m| format!("{m:.3}x")),
        );
        println!(
            "static value ${static_value:.2}, option cost ${option_cost:.2} ({:.2} bp); base OAS {:.4} % value ${base_value:.2}",
            bps(option_cost).unwrap_or(f64::NAN),
            100.0 * base_oas,
        );
        if !solution.other_roots.is_empty() {
            println!(
                "note: the value is not monotone in the OAS; OAS {:?} also give the target (the one nearest the configured OAS is reported)",
                solution.other_roots
            );
        }
        println!("outputs in {}", args.out.display());
        for nf in &accum.non_finite {
            eprintln!(
                "warning: loan {} left out of the totals: {}",
                msr_io::text::terminal_safe(&nf.loan.loan_id),
                nf.reason()
            );
        }
    }
    staging.commit("oas.json")?;
    data_checks(&loaded, accum.non_finite.len(), &args.out)
}
