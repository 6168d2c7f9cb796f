//! `msr risk`: effective duration and convexity, key-rate durations, the
//! parallel rate-shock grid, assumption stresses, static value and option
//! cost (MODEL.md §C.4, §F, §J; docs/risk.md), all in one process on common
//! random numbers. Writes `risk.json` and `risk.csv` (one row per scenario).
//!
//! Rate shocks regenerate the paths from the base run's random numbers, so the
//! command needs generated paths: a path file (`--rate-paths`) is refused
//! with a usage error (exit 2) rather than valued without its rate risk.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Result;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use msr_engine::{run_risk, RiskInputs, RiskProgress, RiskReport, RiskSpec, Scenario};
use serde_json::{json, Value};

use super::oas::{data_checks, load, provenance_json};
use crate::common::{InputArgs, PathArgs, RunArgs};
use crate::exit::{output, CliError, Failure};

/// Flags of `msr risk`: those of `msr value`.
#[derive(Debug, Args)]
pub struct RiskArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub paths: PathArgs,
    #[command(flatten)]
    pub run: RunArgs,
    /// Output directory.
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub out: PathBuf,
    /// Also write the base rate paths, as DIR/paths.parquet (MODEL.md §C.5).
    #[arg(long)]
    pub export_paths: bool,
}

/// Progress: a bar on a terminal; one line per scenario on stderr otherwise
/// (a long run in a log still shows where it is); nothing when quiet.
struct Progress {
    bar: Option<ProgressBar>,
    last: usize,
    quiet: bool,
}

impl Progress {
    fn new(quiet: bool) -> Progress {
        Progress {
            bar: None,
            last: 0,
            quiet,
        }
    }

    fn update(&mut self, p: &RiskProgress<'_>) {
        if self.quiet {
            return;
        }
        let total = (p.scenarios * p.loans.max(1)) as u64;
        let pos = ((p.scenario - 1) * p.loans.max(1) + p.loans_done) as u64;
        if !std::io::stderr().is_terminal() {
            if p.scenario != self.last {
                eprintln!("scenario {} of {}: {}", p.scenario, p.scenarios, p.name);
                self.last = p.scenario;
            }
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("risk [{bar:30}] {msg} (ETA {eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        bar.set_position(pos);
        bar.set_message(format!(
            "scenario {} of {}: {}",
            p.scenario, p.scenarios, p.name
        ));
    }

    fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Run `msr risk`.
///
/// # Errors
/// Usage error for a path file; input, output or internal errors.
pub fn run(args: &RiskArgs) -> Result<ExitCode> {
    if args.paths.rate_paths.is_some() {
        return Err(CliError::new(
            Failure::Usage,
            "msr risk needs generated rate paths: rate shocks regenerate the paths from the base run's random numbers \
             (MODEL.md §C.4), which a path file does not have; drop --rate-paths (use --num-paths/--seed), \
             or value the file's scenarios with msr value",
        ));
    }
    let started = SystemTime::now();
    let clock = Instant::now();
    let (loaded, staging) = load(
        &args.input,
        &args.paths,
        &args.run,
        &args.out,
        args.export_paths,
    )?;
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
        antithetic: loaded.rates.antithetic,
    };
    let engine_clock = Instant::now();
    let mut progress = Progress::new(args.run.quiet);
    let report = run_risk(&inputs, &RiskSpec::default(), &mut |p| progress.update(p))
        .map_err(|e| CliError::new(Failure::Input, e))?;
    progress.finish();
    let engine_seconds = engine_clock.elapsed().as_secs_f64();

    std::fs::write(staging.path("risk.csv"), risk_csv(&report))
        .map_err(|e| output(format!("{}: {e}", args.out.join("risk.csv").display())))?;
    let mut doc = risk_json(&report, &loaded.config);
    doc["loans_read"] = json!(loaded.stats.rows_read);
    doc["rejected_rows"] = json!(loaded.stats.rejected);
    doc["non_finite_loans"] = json!(report.non_finite.len());
    doc["non_finite"] = Value::Array(
        report
            .non_finite
            .iter()
            .map(|nf| json!({"loan_id": nf.loan.loan_id, "what": nf.what}))
            .collect(),
    );
    doc["timings"] = json!({
        "setup_seconds": loaded.setup_seconds,
        "engine_seconds": engine_seconds,
        "wall_seconds": clock.elapsed().as_secs_f64(),
        "seconds_per_scenario": engine_seconds / report.scenarios.len() as f64,
    });
    doc["run"] = provenance_json(&args.input, &loaded, started)?;
    msr_io::write_json_pretty(staging.path("risk.json"), &doc).map_err(output)?;
    staging.commit("risk.json")?;
    if !args.run.quiet {
        print!("{}", risk_table(&report));
        println!(
            "{} scenarios on {} loans x {} paths in {:.1} s; outputs in {}",
            report.scenarios.len(),
            report.records,
            report.num_paths,
            clock.elapsed().as_secs_f64(),
            args.out.display()
        );
        for nf in &report.non_finite {
            eprintln!(
                "warning: loan {} left out of the totals: {} is not finite",
                nf.loan.loan_id, nf.what
            );
        }
        for s in report.scenarios.iter().filter(|s| s.non_finite > 0) {
            eprintln!(
                "warning: scenario {}: {} loans left out of the total (value not finite)",
                s.name, s.non_finite
            );
        }
    }
    // A scenario that lost loans is not comparable with the base: flag it.
    let non_finite = report
        .scenarios
        .iter()
        .map(|s| s.non_finite)
        .max()
        .unwrap_or(0);
    data_checks(&loaded, non_finite, &args.out)
}

fn bps(report: &RiskReport, v: f64) -> Option<f64> {
    (report.upb > 0.0).then(|| 1e4 * v / report.upb)
}

fn scenario_json(report: &RiskReport, s: &Scenario) -> Value {
    json!({
        "scenario": s.name,
        "kind": s.kind.code(),
        "tenor_years": s.tenor,
        "shock": s.shock,
        "unit": s.kind.unit(),
        "value": s.value,
        "value_bps": bps(report, s.value),
        "change": s.change,
        "change_pct": s.change_pct,
        "std_error": s.std_error,
        "non_finite_loans": s.non_finite,
    })
}

/// The risk.json document (without run accounting, added by the caller).
pub fn risk_json(report: &RiskReport, config: &msr_core::Config) -> Value {
    json!({
        "as_of": config.valuation.as_of,
        "oas": report.oas,
        "paths": report.num_paths,
        "seed": config.valuation.seed,
        "records": report.records,
        "upb": report.upb,
        "fee_base": report.fee_base,
        "value": report.base_value,
        "value_bps": bps(report, report.base_value),
        "multiple": (report.fee_base > 0.0).then(|| report.base_value / report.fee_base),
        "std_error": report.base_std_error,
        "shock_bp": report.shock_bp,
        "effective_duration": report.effective_duration,
        "effective_convexity": report.effective_convexity,
        "key_rate_durations": report.key_rate_durations.iter().map(|k| json!({
            "tenor_years": k.tenor,
            "duration": k.duration,
            "value_down": k.value_down,
            "value_up": k.value_up,
        })).collect::<Vec<_>>(),
        "rate_shocks": report.rate_shocks.iter().map(|s| scenario_json(report, s)).collect::<Vec<_>>(),
        "assumption_stresses": report.assumption_stresses.iter().map(|s| scenario_json(report, s)).collect::<Vec<_>>(),
        "static_value": report.static_value,
        "option_cost": report.option_cost,
        "option_cost_bps": bps(report, report.option_cost),
        "scenarios": report.scenarios.len(),
    })
}

/// risk.csv: one row per scenario, in run order (base first).
pub fn risk_csv(report: &RiskReport) -> String {
    let opt = |x: Option<f64>| x.map_or(String::new(), |v| v.to_string());
    let mut csv = String::from(
        "scenario,kind,tenor_years,shock,unit,value,value_bps,change,change_pct,std_error\n",
    );
    for s in &report.scenarios {
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{},{},{},{}",
            s.name,
            s.kind.code(),
            opt(s.tenor),
            s.shock,
            s.kind.unit(),
            s.value,
            opt(bps(report, s.value)),
            s.change,
            opt(s.change_pct),
            opt(s.std_error),
        );
    }
    csv
}

/// The terminal summary.
fn risk_table(r: &RiskReport) -> String {
    let mut t = String::new();
    let f = |x: Option<f64>| x.map_or("n/a".to_string(), |v| format!("{v:.3}"));
    let _ = writeln!(
        t,
        "base value ${:.2} = {:.2} bp of ${:.0} UPB at OAS {:.4} %",
        r.base_value,
        bps(r, r.base_value).unwrap_or(f64::NAN),
        r.upb,
        100.0 * r.oas
    );
    let _ = writeln!(
        t,
        "effective duration {}  convexity {}  (±{} bp)",
        f(r.effective_duration),
        f(r.effective_convexity),
        r.shock_bp
    );
    let krd: Vec<String> = r
        .key_rate_durations
        .iter()
        .map(|k| format!("{}y {}", k.tenor, f(k.duration)))
        .collect();
    let _ = writeln!(t, "key-rate durations: {}", krd.join("  "));
    let _ = writeln!(
        t,
        "static value ${:.2}, option cost ${:.2} ({:.2} bp)",
        r.static_value,
        r.option_cost,
        bps(r, r.option_cost).unwrap_or(f64::NAN)
    );
    let _ = writeln!(
        t,
        "{:<28} {:>18} {:>16} {:>9}",
        "scenario", "value $", "change $", "change %"
    );
    for s in r.rate_shocks.iter().chain(&r.assumption_stresses) {
        let _ = writeln!(
            t,
            "{:<28} {:>18.2} {:>16.2} {:>9}",
            s.name,
            s.value,
            s.change,
            s.change_pct
                .map_or("n/a".to_string(), |p| format!("{p:+.2}"))
        );
    }
    t
}
