//! msr-fit: MODEL.md §D's behaviour fitted to loan-level history by maximum
//! likelihood, back-tested, and simulated (docs/calibration.md).
//!
//! * [`panel`]: the loan-month panel (one row per loan and observed month,
//!   its status then and after), validated row by row.
//! * [`rates`]: the monthly mortgage-rate history `m` of §D.1.
//! * [`model`]: the estimated parameters and a row's move probabilities,
//!   through msr-model's roll and §D.3 chain (the valuation's own code).
//! * [`likelihood`]: the panel's log-likelihood, factored into a prepayment
//!   block, a roll block and closed-form chain counts.
//! * [`estimate`]: the fit (argmin L-BFGS, Newton polish, observed
//!   information, identification).
//! * [`backtest`]: actual against predicted rates by segment.
//! * [`simulate`]: panels drawn from §D with known parameters.
//!
//! No IO: msr-io reads and writes the files, msr-jobs runs the command.

pub mod backtest;
pub mod estimate;
pub mod likelihood;
pub mod model;
pub mod panel;
pub mod rates;
pub mod simulate;

use msr_core::config::Config;
use msr_model::ModelParams;

pub use backtest::{backtest, BacktestLine};
pub use estimate::{fit, FitOptions, FitResult, ParamEstimate};
pub use model::{Model, Values, NAMES, NUM_PARAMS};
pub use panel::{Panel, PanelBuilder, RawRow};
pub use rates::RateHistory;
pub use simulate::{simulate, SimSpec, Simulated};

/// Why a panel, a rates file or a request cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FitError {
    /// A panel row breaks a rule.
    #[error("row {row}, loan `{loan_id}`: {column} = `{value}`: {rule}")]
    Panel {
        /// 0-based row in the file.
        row: u64,
        /// The row's loan.
        loan_id: String,
        /// Column.
        column: String,
        /// Value as read.
        value: String,
        /// Rule broken.
        rule: String,
    },
    /// The rates file cannot be used.
    #[error("rates: {0}")]
    Rates(String),
    /// A panel month has no mortgage rate.
    #[error("the rates file has no mortgage_rate for period {period}, which loan `{loan_id}` has a row in")]
    MissingRate {
        /// `YYYYMM`.
        period: i32,
        /// A loan with a row in that month.
        loan_id: String,
    },
    /// `--fix` names no parameter.
    #[error("unknown parameter `{0}` (known: seasonality and {names})", names = NAMES.join(", "))]
    UnknownParam(String),
    /// Nothing to fit.
    #[error("{0}")]
    NoData(String),
}

/// What to calibrate.
#[derive(Debug, Clone, Default)]
pub struct CalibrateOptions {
    /// Fit only on periods before this month (the rest is out of sample).
    pub holdout_from: Option<panel::Month>,
    /// Names held at their base values (a parameter name or `seasonality`).
    pub fix: Vec<String>,
    /// L-BFGS iteration limit per block (0: default).
    pub max_iters: u64,
}

/// The result of [`calibrate`].
#[derive(Debug, Clone)]
pub struct Calibration {
    /// The fit.
    pub fit: FitResult,
    /// Base values.
    pub base: Values,
    /// The back-test at the estimates.
    pub backtest: Vec<BacktestLine>,
    /// Rows in the fitted sample / out of sample.
    pub rows_in: u64,
    /// Rows from the holdout month on.
    pub rows_out: u64,
}

/// Parse `--fix` names into parameter indices.
///
/// # Errors
/// [`FitError::UnknownParam`] for a name that is not a parameter.
pub fn fix_indices(names: &[String]) -> Result<Vec<usize>, FitError> {
    let mut out = Vec::new();
    for n in names {
        let n = n.trim();
        if n.is_empty() {
            continue;
        }
        out.extend(model::indices_of(n).ok_or_else(|| FitError::UnknownParam(n.to_string()))?);
    }
    Ok(out)
}

/// The fixed constants of the likelihood read from `config`.
pub fn fixed_of(config: &Config) -> likelihood::Fixed {
    let mp = ModelParams::from_config(config);
    likelihood::Fixed {
        cpr_cap: mp.cpr_cap,
        cpr_multiplier: mp.cpr_multiplier,
        roll_cap: mp.roll_cap,
        roll_multiplier: mp.roll_multiplier,
    }
}

/// Fit `panel` under `rates` starting from `config`'s values, and back-test.
/// `progress` is told each stage's name.
///
/// # Errors
/// A missing rates month, an unknown `--fix` name, or no rows to fit.
pub fn calibrate(
    panel: &Panel,
    rates: &RateHistory,
    config: &Config,
    options: &CalibrateOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<Calibration, FitError> {
    let fix = fix_indices(&options.fix)?;
    progress("covariates");
    let cov = likelihood::covariates(panel, &panel.rows, rates, config)?;
    let in_sample: Vec<bool> = panel
        .rows
        .iter()
        .map(|r| options.holdout_from.is_none_or(|h| r.period < h))
        .collect();
    let (rows_in, cov_in): (Vec<panel::Row>, Vec<model::Covariates>) = panel
        .rows
        .iter()
        .zip(&cov)
        .zip(&in_sample)
        .filter(|(_, &keep)| keep)
        .map(|((r, c), _)| (*r, *c))
        .unzip();
    if rows_in.is_empty() {
        return Err(FitError::NoData(match options.holdout_from {
            Some(h) => format!(
                "no panel rows before the holdout month {} to fit",
                panel::yyyymm(h)
            ),
            None => "the panel has no usable rows".to_string(),
        }));
    }
    progress("aggregating");
    let prepared = likelihood::prepare(&rows_in, &cov_in, f64::from(config.prepay.ramp_months));
    let base = model::values_of(config);
    progress("fitting");
    let result = fit(
        &prepared,
        &base,
        &fixed_of(config),
        &FitOptions {
            fix,
            max_iters: options.max_iters,
        },
    );
    progress("back-testing");
    let model = Model::new(config, &result.values);
    let lines = backtest(panel, &panel.rows, &cov, &model, options.holdout_from);
    let rows_in = rows_in.len() as u64;
    Ok(Calibration {
        fit: result,
        base,
        backtest: lines,
        rows_out: panel.rows.len() as u64 - rows_in,
        rows_in,
    })
}

#[cfg(test)]
mod tests;
