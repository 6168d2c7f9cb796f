//! `msr repline`: build rep lines from a tape (MODEL.md §G), value the rep
//! lines and the loans on the same rate paths, and write what the rep lines
//! miss: `replines.parquet` (the rep-line tape, §B schema plus `bucket`),
//! `repline_compare.parquet` (per bucket) and `repline_summary.json`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use msr_core::{Config, Loan};
use msr_engine::{
    compare, value_loans_with, Bucketing, Comparison, Context, Detail, LoanResult, NonFinite,
};
use msr_io::docs::{
    self,
    repline::{ReplinePaths, ReplineSummary},
    run::NonFiniteId,
};
use msr_io::{Column, ParquetOptions, TapeWriteOptions};
use msr_model::{Market, ModelParams};

use crate::common::{
    init_threads, load_config, progress, resolve_rates, InputArgs, PathArgs, PathSource, RunArgs,
    Staging,
};
use crate::exit::{input, output, CliError, Failure};
use crate::spreads::{OasTableArgs, Spreads};

/// How many buckets `top_buckets` lists.
const TOP_BUCKETS: usize = 10;

/// Flags of `msr repline`.
#[derive(Debug, Args)]
pub struct ReplineArgs {
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
    /// Bucket keys, comma-separated, overriding `repline.keys` (any of
    /// investor, dq_status, note_rate, fico, ltv, loan_age, remaining_term,
    /// judicial; an empty list puts the whole tape in one rep line).
    #[arg(long, value_name = "KEYS", value_delimiter = ',')]
    pub keys: Option<Vec<String>>,
    /// With --oas-table, each loan is valued at its cohort's OAS and each rep
    /// line at the OAS of the cohort its own record falls in (a bucket that
    /// straddles cohorts is valued at one spread: that is part of what the
    /// comparison shows).
    #[command(flatten)]
    pub oas_table: OasTableArgs,
}

/// Run `msr repline`.
///
/// # Errors
/// Input, output or internal errors, each one line; a data error (exit 5)
/// after writing the outputs when too many rows were rejected or a valuation
/// was not finite.
pub fn run(args: &ReplineArgs) -> Result<ExitCode> {
    let clock = Instant::now();
    let threads = init_threads(args.run.threads)?;
    crate::common::check_default_input(&args.input.loans, crate::common::SAMPLE_LOANS, "--loans")?;
    let mut config = load_config(&args.input.config, &args.paths)?;
    if let Some(keys) = &args.keys {
        config.repline.keys = keys
            .iter()
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .collect();
    }
    let bucketing = Bucketing::new(&config.repline, &config.credit)
        .map_err(|e| input(format!("command line: {e}")))?;
    let (loans, rejects, stats) =
        msr_io::read_tape(&args.input.loans, &config.tape).map_err(input)?;
    if loans.is_empty() {
        return Err(input(format!(
            "{}: no valid loans to bucket",
            args.input.loans.display()
        )));
    }
    let rates = resolve_rates(&config, &args.paths)?;
    let params = ModelParams::from_config(&config);
    let months = rates.paths.months().min(crate::common::MAX_MONTHS);
    if let Some(long) = loans.iter().find(|l| l.remaining_term as usize > months) {
        return Err(input(format!(
            "the rate paths have {months} months but loan {} needs {} (remaining_term)",
            msr_io::text::terminal_safe(&long.loan_id),
            long.remaining_term
        )));
    }
    let market = Market::new(&rates.paths, &params, config.valuation.oas, months);
    let spreads = Spreads::load(&args.oas_table, &rates.paths, &params, months)?;
    let ctx = Context {
        params: &params,
        market: &market,
        config: &config,
        units: rates.units,
        tangent: None,
    };

    let build_clock = Instant::now();
    let book = bucketing.build(&loans).map_err(input)?;
    let seconds_build = build_clock.elapsed().as_secs_f64();
    let lines = book.loans();

    let (loan_results, mut non_finite, seconds_loans) = value_timed(
        &ctx,
        spreads.as_ref(),
        &loans,
        "valuing loans",
        args.run.quiet,
    )?;
    let (line_results, nf_lines, seconds_replines) = value_timed(
        &ctx,
        spreads.as_ref(),
        &lines,
        "valuing rep lines",
        args.run.quiet,
    )?;
    non_finite.extend(nf_lines);
    let cmp = compare(&book, &loans, &loan_results, &line_results);

    let staging = Staging::create(&args.out)?
        .reading(&args.input.files(&args.paths))
        .reading(&args.oas_table.files());
    let ids: Vec<String> = book.lines.iter().map(|l| l.id.clone()).collect();
    msr_io::write_tape_with_extra(
        staging.path("replines.parquet"),
        &lines,
        &[("bucket", ids)],
        TapeWriteOptions::default(),
    )
    .map_err(output)?;
    write_compare(&staging, &cmp)?;
    msr_io::write_rejects(staging.path("repline_rejects.csv"), &rejects).map_err(output)?;
    let advance_dropped: f64 = book.lines.iter().map(|l| l.advance_dropped).sum();
    let mut summary = summary_doc(&cmp, seconds_loans, seconds_replines);
    summary.keys = bucketing
        .dims()
        .iter()
        .map(|d| d.name().to_string())
        .collect();
    summary.note_rate_step_bps = config.repline.note_rate_step_bps;
    summary.seconds_build = seconds_build;
    summary.advance_dropped = advance_dropped;
    summary.rejected_rows = stats.rejected;
    summary.non_finite = non_finite
        .iter()
        .map(|nf| NonFiniteId {
            loan_id: nf.loan.loan_id.clone(),
            what: nf.what.clone(),
        })
        .collect();
    summary.paths = Some(paths_doc(&rates.source, market.num_paths(), &config)?);
    summary.oas_table = spreads.as_ref().map(Spreads::provenance);
    summary.threads = threads as u64;
    docs::write_document(staging.path("repline_summary.json"), &summary).map_err(output)?;
    staging.commit("repline_summary.json")?;

    if !args.run.quiet {
        print_summary(
            &cmp,
            seconds_loans,
            seconds_replines,
            clock.elapsed().as_secs_f64(),
            args,
        );
        if advance_dropped > 0.0 {
            eprintln!(
                "warning: ${advance_dropped:.2} of advances sit on delinquent loans in buckets whose rep line is \
                 current; a current record carries no advances (add dq_status to the keys to keep them)"
            );
        }
        for nf in &non_finite {
            eprintln!(
                "warning: {} left out of the comparison: {}",
                msr_io::text::terminal_safe(&nf.loan.loan_id),
                nf.reason()
            );
        }
    }
    let share = stats.reject_share();
    if share > config.tape.max_reject_share {
        return Err(CliError::new(
            Failure::Data,
            format!(
                "{} of {} rows rejected ({:.2} %, above tape.max_reject_share {:.2} %); outputs written to {}, see \
                 repline_rejects.csv",
                stats.rejected,
                stats.rows_read,
                100.0 * share,
                100.0 * config.tape.max_reject_share,
                args.out.display()
            ),
        ));
    }
    if !non_finite.is_empty() {
        return Err(CliError::new(
            Failure::Data,
            format!(
                "{} loans or rep lines had a non-finite valuation and were left out of the comparison (listed in \
                 repline_summary.json)",
                non_finite.len()
            ),
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// Value `loans` (at their cohorts' spreads with an OAS table), with a
/// progress bar; the engine's seconds.
///
/// # Errors
/// Input error when a loan falls in no cohort of the table.
fn value_timed(
    ctx: &Context<'_>,
    spreads: Option<&Spreads>,
    loans: &[Loan],
    what: &str,
    quiet: bool,
) -> Result<(Vec<LoanResult>, Vec<NonFinite>, f64)> {
    let bar = progress(loans.len() as u64, what, quiet);
    let clock = Instant::now();
    let progress = |n: usize| bar.inc(n as u64);
    // One call for the whole book: loans far apart share prepayment work.
    let (results, accum) = match spreads {
        None => value_loans_with(ctx, loans, Detail::Values, &progress),
        Some(spreads) => spreads.value(ctx, loans, Detail::Values, &progress)?,
    };
    let seconds = clock.elapsed().as_secs_f64();
    bar.finish_and_clear();
    Ok((results, accum.non_finite, seconds))
}

fn write_compare(staging: &Staging, cmp: &Comparison) -> Result<()> {
    let b = &cmp.buckets;
    let f = |g: fn(&msr_engine::BucketCompare) -> f64| b.iter().map(g).collect::<Vec<f64>>();
    let cols = vec![
        Column::utf8("bucket", b.iter().map(|x| x.id.clone()).collect()),
        Column::i64("records", b.iter().map(|x| x.records as i64).collect()),
        Column::i64("loans", b.iter().map(|x| x.loans as i64).collect()),
        Column::f64("upb", f(|x| x.upb)),
        Column::f64("value_loans", f(|x| x.value_loans)),
        Column::f64("value_repline", f(|x| x.value_repline)),
        Column::f64("diff", f(|x| x.diff)),
        Column::f64("diff_bps", f(|x| x.diff_bps)),
        Column::f64("abs_share", f(|x| x.abs_share)),
    ];
    msr_io::write_parquet(
        staging.path("repline_compare.parquet"),
        cols,
        ParquetOptions::default(),
    )
    .map_err(output)?;
    Ok(())
}

/// The repline_summary.json document (run details added by the caller).
pub fn summary_doc(cmp: &Comparison, seconds_loans: f64, seconds_replines: f64) -> ReplineSummary {
    let top_buckets = cmp
        .top_buckets(TOP_BUCKETS)
        .into_iter()
        .map(|b| docs::repline::Bucket {
            bucket: b.id.clone(),
            records: b.records,
            loans: b.loans,
            upb: b.upb,
            value_loans: b.value_loans,
            value_repline: b.value_repline,
            diff: b.diff,
            diff_bps: Some(b.diff_bps),
            abs_share: Some(b.abs_share),
        })
        .collect();
    ReplineSummary {
        loans: cmp.records,
        loan_count: cmp.loans,
        replines: cmp.buckets.len() as u64,
        compression_ratio: cmp.compression_ratio(),
        upb: cmp.upb,
        value_loans: cmp.value_loans,
        value_repline: cmp.value_repline,
        value_loans_bps: Some(cmp.value_loans_bps),
        value_repline_bps: Some(cmp.value_repline_bps),
        diff: cmp.diff,
        diff_bps: Some(cmp.diff_bps),
        abs_diff: cmp.abs_diff,
        abs_diff_bps: Some(cmp.abs_diff_bps),
        seconds_loans,
        seconds_replines,
        seconds_build: 0.0,
        time_ratio: Some(seconds_loans / seconds_replines.max(1e-9)),
        top_buckets,
        keys: Vec::new(),
        note_rate_step_bps: 0.0,
        advance_dropped: 0.0,
        rejected_rows: 0,
        non_finite: Vec::new(),
        paths: None,
        oas_table: None,
        threads: 0,
    }
}

fn paths_doc(source: &PathSource, num_paths: usize, config: &Config) -> Result<ReplinePaths> {
    let paths = crate::shard::rate_paths_info(source, num_paths, config, false)?;
    Ok(ReplinePaths {
        paths,
        oas: config.valuation.oas,
    })
}

fn print_summary(
    cmp: &Comparison,
    seconds_loans: f64,
    seconds_replines: f64,
    wall: f64,
    args: &ReplineArgs,
) {
    println!(
        "{} loans -> {} rep lines ({:.1}x compression), ${:.0} UPB",
        cmp.records,
        cmp.buckets.len(),
        cmp.compression_ratio(),
        cmp.upb
    );
    println!(
        "loan-level ${:.2} ({:.2} bp), rep lines ${:.2} ({:.2} bp): difference ${:.2} ({:+.2} bp); by bucket |diff| \
         sums to ${:.2} ({:.2} bp)",
        cmp.value_loans,
        cmp.value_loans_bps,
        cmp.value_repline,
        cmp.value_repline_bps,
        cmp.diff,
        cmp.diff_bps,
        cmp.abs_diff,
        cmp.abs_diff_bps
    );
    println!(
        "valuation {seconds_loans:.2} s loan-level, {seconds_replines:.2} s rep lines ({:.1}x); {wall:.2} s in all; \
         outputs in {}",
        seconds_loans / seconds_replines.max(1e-9),
        args.out.display()
    );
}
