//! The accuracy study of docs/qmc.md: how far the portfolio value of a book
//! is from a many-path reference, for few paths under each path scheme.
//!
//! ```text
//! qmc_study [--loans FILE] [--config FILE] [--out DIR] [--reference N]
//!           [--sizes 32,64,...] [--seeds K] [--schemes a,b,...] [--resume]
//!           [--sensitivity N]
//! ```
//!
//! Loads the tape once, then values it in process (`msr_engine::value_book`,
//! values only) on Hull–White paths drawn over the CLI's 480-month horizon:
//! once with the reference (`N` = 16,384 antithetic pseudo-random paths,
//! seed 20261121 + 1000, its standard error from the pair means), then for
//! every scheme, every size `n` and seeds `20261121 + r`, `r < K`. Schemes:
//! `pseudo-antithetic` (the default configuration), `pseudo`, `sobol`
//! (scrambled Sobol points through a Brownian bridge, no antithetic pairs),
//! `sobol-antithetic` (point `j` and its negation), `sobol-pca` and
//! `sobol-pca-antithetic` (principal components over the first 120 months).
//! `--sensitivity N` instead estimates the value's linear sensitivity to
//! each month's shock from `N` antithetic paths (`DIR/qmc_sensitivity.csv`).
//!
//! Writes `DIR/qmc_runs.csv` (one row per valuation, appended as each
//! finishes, so `--resume` skips rows already there) and `DIR/qmc_summary.csv`
//! (per scheme and size: RMSE and max |error| against the reference in $ and
//! bp of UPB, the spread of the K estimates about their own mean — which needs
//! no reference —, the mean reported standard error and the mean seconds), and
//! prints the summary as a Markdown table.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use msr_core::loan::Loan;
use msr_core::Config;
use msr_engine::valuation::std_error;
use msr_engine::{value_book, Detail};
use msr_model::params::MAX_MONTHS;
use msr_rates::{NormalGenerator, PathScheme, RateModel};

/// Errors end the study with a message (no anyhow here: the benches crate
/// keeps its dependency list).
type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

macro_rules! bail {
    ($($arg:tt)*) => {
        return Err(format!($($arg)*).into())
    };
}

/// Seed of replicate 0; replicate `r` uses `BASE_SEED + r`.
const BASE_SEED: u64 = 20_261_121;
/// Seed of the reference run (distinct from every replicate's).
const REFERENCE_SEED: u64 = BASE_SEED + 1000;
const RUNS_CSV: &str = "qmc_runs.csv";
const SUMMARY_CSV: &str = "qmc_summary.csv";
const RUNS_HEADER: &str =
    "role,scheme,path_scheme,antithetic,paths,replicate,seed,value,value_bps,std_error,seconds";

#[derive(Debug, Clone)]
struct Args {
    loans: PathBuf,
    config: PathBuf,
    out: PathBuf,
    reference: usize,
    sizes: Vec<usize>,
    seeds: usize,
    schemes: Vec<String>,
    resume: bool,
    sensitivity: Option<usize>,
}

impl Args {
    fn parse() -> Result<Args> {
        let mut a = Args {
            loans: "data/sample_loans.parquet".into(),
            config: "configs/default.toml".into(),
            out: "docs/data".into(),
            reference: 16_384,
            sizes: vec![32, 64, 128, 256, 512],
            seeds: 16,
            schemes: [
                "pseudo-antithetic",
                "sobol",
                "sobol-antithetic",
                "sobol-pca",
                "sobol-pca-antithetic",
            ]
            .map(String::from)
            .to_vec(),
            resume: false,
            sensitivity: None,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--loans" => a.loans = value()?.into(),
                "--config" => a.config = value()?.into(),
                "--out" => a.out = value()?.into(),
                "--reference" => a.reference = value()?.parse()?,
                "--seeds" => a.seeds = value()?.parse()?,
                "--sizes" => {
                    a.sizes = value()?
                        .split(',')
                        .map(str::parse)
                        .collect::<std::result::Result<_, _>>()?
                }
                "--schemes" => a.schemes = value()?.split(',').map(String::from).collect(),
                "--resume" => a.resume = true,
                "--sensitivity" => a.sensitivity = Some(value()?.parse()?),
                "-h" | "--help" => {
                    println!("see the header of benches/src/bin/qmc_study.rs");
                    std::process::exit(0);
                }
                other => bail!("unknown argument {other}"),
            }
        }
        for s in &a.schemes {
            scheme(s)?;
        }
        Ok(a)
    }
}

/// A study scheme name → (path scheme, antithetic).
fn scheme(name: &str) -> Result<(PathScheme, bool)> {
    Ok(match name {
        "pseudo-antithetic" => (PathScheme::Pseudo, true),
        "pseudo" => (PathScheme::Pseudo, false),
        "sobol" => (PathScheme::Sobol, false),
        "sobol-antithetic" => (PathScheme::Sobol, true),
        "sobol-pca" => (PathScheme::SobolPca, false),
        "sobol-pca-antithetic" => (PathScheme::SobolPca, true),
        other => bail!("unknown scheme {other}"),
    })
}

/// One valuation of the book.
#[derive(Debug, Clone)]
struct Run {
    role: String,
    scheme: String,
    paths: usize,
    replicate: usize,
    seed: u64,
    value: f64,
    std_error: f64,
    seconds: f64,
}

struct Study {
    config: Config,
    model: RateModel,
    loans: Vec<Loan>,
    upb: f64,
}

impl Study {
    fn bps(&self, dollars: f64) -> f64 {
        dollars / self.upb * 1e4
    }

    fn value(&self, name: &str, n: usize, seed: u64) -> Result<(f64, f64, f64)> {
        let (path_scheme, antithetic) = scheme(name)?;
        let clock = Instant::now();
        let normals = NormalGenerator::new(seed, antithetic)
            .with_scheme(path_scheme)
            .normals(n, MAX_MONTHS);
        let paths = self.model.paths(&normals, MAX_MONTHS);
        drop(normals);
        let (_, accum) = value_book(
            &self.config,
            &paths,
            &self.loans,
            antithetic,
            Detail::Values,
        );
        if !accum.non_finite.is_empty() {
            bail!("{} loans not finite", accum.non_finite.len());
        }
        let path_values: Vec<f64> = (0..n).map(|p| accum.path_value(p)).collect();
        let se = std_error(&path_values, antithetic).unwrap_or(f64::NAN);
        Ok((accum.total.value.value(), se, clock.elapsed().as_secs_f64()))
    }

    fn row(&self, r: &Run) -> String {
        let (path_scheme, antithetic) = scheme(&r.scheme).expect("checked scheme");
        format!(
            "{},{},{},{},{},{},{},{:.6},{:.9},{:.6},{:.3}",
            r.role,
            r.scheme,
            path_scheme,
            antithetic,
            r.paths,
            r.replicate,
            r.seed,
            r.value,
            self.bps(r.value),
            r.std_error,
            r.seconds
        )
    }
}

fn read_runs(path: &Path) -> Result<Vec<Run>> {
    let mut runs = Vec::new();
    if !path.exists() {
        return Ok(runs);
    }
    let text = std::fs::read_to_string(path)?;
    for line in text.lines().skip(1).filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 11 {
            bail!("{}: bad row {line}", path.display());
        }
        runs.push(Run {
            role: f[0].into(),
            scheme: f[1].into(),
            paths: f[4].parse()?,
            replicate: f[5].parse()?,
            seed: f[6].parse()?,
            value: f[7].parse()?,
            std_error: f[9].parse()?,
            seconds: f[10].parse()?,
        });
    }
    Ok(runs)
}

fn main() -> Result<()> {
    let args = Args::parse()?;
    let text = std::fs::read_to_string(&args.config)
        .map_err(|e| format!("{}: {e}", args.config.display()))?;
    let config = Config::from_toml_str(&text)?;
    let model = RateModel::from_config(&config.curve, &config.hull_white, &config.mortgage_rate)?;
    let (loans, rejects, _) = msr_io::read_tape(&args.loans, &config.tape)?;
    if !rejects.is_empty() {
        bail!("{} rejected rows", rejects.len());
    }
    let upb: f64 = loans.iter().map(|l| l.upb).sum();
    let loan_months: u64 = loans.iter().map(|l| u64::from(l.remaining_term)).sum();
    eprintln!(
        "{} loans, UPB ${upb:.0}, {loan_months} loan-months, {} threads",
        loans.len(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let study = Study {
        config,
        model,
        loans,
        upb,
    };

    std::fs::create_dir_all(&args.out)?;
    if let Some(n) = args.sensitivity {
        return sensitivity(&study, n, &args.out);
    }
    let runs_path = args.out.join(RUNS_CSV);
    let mut runs = if args.resume {
        read_runs(&runs_path)?
    } else {
        Vec::new()
    };
    if !args.resume || !runs_path.exists() {
        std::fs::write(&runs_path, format!("{RUNS_HEADER}\n"))?;
    }
    let mut file = std::fs::OpenOptions::new().append(true).open(&runs_path)?;

    let mut plan = vec![(
        "reference".to_string(),
        "pseudo-antithetic".to_string(),
        args.reference,
        0,
        REFERENCE_SEED,
    )];
    for name in &args.schemes {
        for &n in &args.sizes {
            for r in 0..args.seeds {
                plan.push(("study".into(), name.clone(), n, r, BASE_SEED + r as u64));
            }
        }
    }
    let total = plan.len();
    for (k, (role, name, n, replicate, seed)) in plan.into_iter().enumerate() {
        let done = runs
            .iter()
            .any(|r| r.role == role && r.scheme == name && r.paths == n && r.seed == seed);
        if done {
            continue;
        }
        let (value, std_error, seconds) = study.value(&name, n, seed)?;
        let run = Run {
            role,
            scheme: name,
            paths: n,
            replicate,
            seed,
            value,
            std_error,
            seconds,
        };
        writeln!(file, "{}", study.row(&run))?;
        file.flush()?;
        eprintln!(
            "[{}/{total}] {} {} n={} seed={}: ${:.0} (SE {:.0}) in {:.1} s, {:.2e} LPM/s",
            k + 1,
            run.role,
            run.scheme,
            n,
            seed,
            value,
            std_error,
            seconds,
            loan_months as f64 * n as f64 / seconds
        );
        runs.push(run);
    }

    let summary = summarise(&study, &args, &runs)?;
    std::fs::write(args.out.join(SUMMARY_CSV), summary.csv)?;
    println!("{}", summary.markdown);
    Ok(())
}

/// The linear sensitivity of the portfolio value to each month's shock,
/// `L_t = E[∂V/∂ε_t] = E[V·ε_t]` (Stein's lemma), estimated from `n`
/// antithetic pseudo-random pairs through the odd part
/// `(V(ε) − V(−ε))/2`, which carries all of it with less noise. Writes
/// `DIR/qmc_sensitivity.csv` (month, L, its standard error) and prints how
/// much of the value's variance is linear and how it spreads over months.
fn sensitivity(study: &Study, n: usize, out: &Path) -> Result<()> {
    let n = n.max(4) / 2 * 2;
    let normals = NormalGenerator::new(BASE_SEED + 2000, true).normals(n, MAX_MONTHS);
    let paths = study.model.paths(&normals, MAX_MONTHS);
    let (_, accum) = value_book(&study.config, &paths, &study.loans, true, Detail::Values);
    let v: Vec<f64> = (0..n).map(|p| accum.path_value(p)).collect();
    let pairs = n / 2;
    let odd: Vec<f64> = (0..pairs)
        .map(|j| 0.5 * (v[2 * j] - v[2 * j + 1]))
        .collect();
    let mean = v.iter().sum::<f64>() / n as f64;
    let var_total = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let var_odd = odd.iter().map(|x| x * x).sum::<f64>() / pairs as f64;
    let mut csv = String::from("month,sensitivity,std_error\n");
    let mut l2 = 0.0;
    let mut ls = Vec::with_capacity(MAX_MONTHS);
    for t in 0..MAX_MONTHS {
        let terms: Vec<f64> = (0..pairs)
            .map(|j| odd[j] * normals.path(2 * j)[t])
            .collect();
        let l = terms.iter().sum::<f64>() / pairs as f64;
        let var = terms.iter().map(|x| (x - l).powi(2)).sum::<f64>() / (pairs - 1) as f64;
        let se = (var / pairs as f64).sqrt();
        writeln!(csv, "{},{l:.2},{se:.2}", t + 1)?;
        l2 += l * l;
        ls.push(l);
    }
    std::fs::write(out.join("qmc_sensitivity.csv"), csv)?;
    println!(
        "{n} paths: Var V = {var_total:.4e}, odd part {var_odd:.4e} ({:.1} %), |L|² = {l2:.4e} ({:.1} % of Var V)",
        100.0 * var_odd / var_total,
        100.0 * l2 / var_total
    );
    let mut cum = 0.0;
    for (t, l) in ls.iter().enumerate() {
        cum += l * l;
        if [12, 24, 36, 60, 120, 180, 240, 360, 480].contains(&(t + 1)) {
            println!("  months 1..{}: {:.1} % of |L|²", t + 1, 100.0 * cum / l2);
        }
    }
    Ok(())
}

struct Summary {
    csv: String,
    markdown: String,
}

fn summarise(study: &Study, args: &Args, runs: &[Run]) -> Result<Summary> {
    let reference = runs
        .iter()
        .find(|r| r.role == "reference" && r.paths == args.reference)
        .ok_or("no reference run")?;
    let mut csv = String::from(
        "scheme,paths,replicates,rmse,rmse_bps,max_abs_error,max_abs_error_bps,spread,spread_bps,mean_std_error,mean_std_error_bps,mean_seconds\n",
    );
    let mut md = String::new();
    writeln!(
        md,
        "Reference: {} antithetic pseudo-random paths, value ${:.0} ({:.4} bp of UPB ${:.0}), standard error ${:.0} ({:.4} bp), {:.0} s.\n",
        reference.paths,
        reference.value,
        study.bps(reference.value),
        study.upb,
        reference.std_error,
        study.bps(reference.std_error),
        reference.seconds
    )?;
    writeln!(md, "| scheme | paths | K | RMSE $ | RMSE bp | max abs err $ | max abs err bp | spread $ | mean reported SE $ | mean s |")?;
    writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    let mut groups: BTreeMap<(usize, usize), Vec<&Run>> = BTreeMap::new();
    for r in runs.iter().filter(|r| r.role == "study") {
        let order = args
            .schemes
            .iter()
            .position(|s| *s == r.scheme)
            .unwrap_or(usize::MAX);
        groups.entry((order, r.paths)).or_default().push(r);
    }
    for ((_, n), group) in groups {
        let k = group.len() as f64;
        let errors: Vec<f64> = group.iter().map(|r| r.value - reference.value).collect();
        let rmse = (errors.iter().map(|e| e * e).sum::<f64>() / k).sqrt();
        let max_abs = errors.iter().fold(0.0f64, |m, e| m.max(e.abs()));
        let mean = group.iter().map(|r| r.value).sum::<f64>() / k;
        let spread = if group.len() > 1 {
            (group.iter().map(|r| (r.value - mean).powi(2)).sum::<f64>() / (k - 1.0)).sqrt()
        } else {
            f64::NAN
        };
        let se = group.iter().map(|r| r.std_error).sum::<f64>() / k;
        let secs = group.iter().map(|r| r.seconds).sum::<f64>() / k;
        let name = &group[0].scheme;
        writeln!(
            csv,
            "{name},{n},{},{rmse:.2},{:.5},{max_abs:.2},{:.5},{spread:.2},{:.5},{se:.2},{:.5},{secs:.2}",
            group.len(),
            study.bps(rmse),
            study.bps(max_abs),
            study.bps(spread),
            study.bps(se)
        )?;
        writeln!(
            md,
            "| {name} | {n} | {} | {rmse:.0} | {:.3} | {max_abs:.0} | {:.3} | {spread:.0} | {se:.0} | {secs:.1} |",
            group.len(),
            study.bps(rmse),
            study.bps(max_abs)
        )?;
    }
    Ok(Summary { csv, markdown: md })
}
