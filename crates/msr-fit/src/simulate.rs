//! Simulated panels: loans drawn at random, moved month by month with
//! MODEL.md §D's probabilities ([`crate::model::Model`]) under a rate
//! history with real swings. A pure function of the spec (seeded ChaCha8).

use msr_core::config::Config;
use msr_core::loan::{DqState, Investor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::model::{Covariates, Model, Values};
use crate::panel::{calendar_month, month_of_yyyymm, Next, Panel, PanelLoan, Row};
use crate::rates::RateHistory;
use crate::FitError;

/// What to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct SimSpec {
    /// Loans.
    pub loans: usize,
    /// First observed month, `YYYYMM`.
    pub first_period: i64,
    /// Observed months (rows are the moves `P → P + 1` for `P` in the window).
    pub months: i32,
    /// Loans start paying up to this many months before the window (they are
    /// simulated from their first payment, unobserved until the window).
    pub seasoning: i32,
    /// Random seed (loans and rate history).
    pub seed: u64,
}

impl Default for SimSpec {
    fn default() -> Self {
        SimSpec {
            loans: 10_000,
            first_period: 201801,
            months: 60,
            seasoning: 48,
            seed: 23,
        }
    }
}

/// A simulated panel and the rate history it was drawn under.
#[derive(Debug, Clone)]
pub struct Simulated {
    /// The panel.
    pub panel: Panel,
    /// Monthly mortgage rates from the earliest first payment to the window's end.
    pub rates: RateHistory,
}

/// States and their share (judicial per the default configuration: FL, IL,
/// NJ, NY, OH).
const STATES: [&str; 10] = ["CA", "TX", "FL", "NY", "IL", "WA", "AZ", "OH", "GA", "NJ"];

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-300);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Simulate a panel from `config` with its estimated keys set to `truth`.
///
/// # Errors
/// [`FitError::Rates`] when `spec.first_period` is not `YYYYMM`.
pub fn simulate(config: &Config, truth: &Values, spec: &SimSpec) -> Result<Simulated, FitError> {
    let first = month_of_yyyymm(spec.first_period).ok_or_else(|| {
        FitError::Rates(format!("first period {} is not YYYYMM", spec.first_period))
    })?;
    let model = Model::new(config, truth);
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    // Rates: a 5-year cycle of ±1.5 pct, a faster ±0.5 pct one and AR(1) noise.
    let start = first - spec.seasoning - 1;
    let end = first + spec.months;
    let mut x = 0.0;
    let mut pairs = Vec::new();
    let mut m_of = Vec::new();
    for t in start..=end {
        x = 0.95 * x + 0.0012 * normal(&mut rng);
        let k = f64::from(t - start);
        let m = (0.055
            + 0.015 * (std::f64::consts::TAU * k / 60.0).sin()
            + 0.005 * (std::f64::consts::TAU * k / 17.0).sin()
            + x)
            .clamp(0.02, 0.10);
        let m = (m * 1e4).round() / 1e4;
        pairs.push((i64::from(crate::panel::yyyymm(t)), m));
        m_of.push(m);
    }
    let rates = RateHistory::new(&pairs)?;
    let rate = |t: i32| m_of[(t - start) as usize];

    let mut panel = Panel::default();
    for id in 0..spec.loans {
        let first_pay =
            first - spec.seasoning + rng.random_range(0..spec.seasoning + spec.months - 1);
        let c = ((rate(first_pay - 1) + 0.0025 + 0.008 * (rng.random::<f64>() - 0.5)) * 800.0)
            .round()
            / 800.0;
        let c = c.clamp(0.01, 0.2);
        let fico = 620 + 20 * ((rng.random_range(0..=10) + rng.random_range(0..=10) + 1) / 2);
        let ltv0 = 60.0 + 5.0 * f64::from(rng.random_range(0..=7));
        let b0 = 100_000.0 + 1000.0 * f64::from(rng.random_range(0..=350));
        let u: f64 = rng.random();
        let investor = if u < 0.45 {
            Investor::Fnma
        } else if u < 0.9 {
            Investor::Fhlmc
        } else {
            Investor::Gnma
        };
        let state = STATES[rng.random_range(0..STATES.len())];
        let judicial = config.credit.is_judicial(state);
        let loan = panel.loans.len() as u32;
        panel.loans.push(PanelLoan {
            loan_id: format!("S{id:07}"),
            investor,
            property_state: state.to_string(),
        });
        let term = 360;
        let i = c / 12.0;
        let factor = |k: i32| {
            let g = (1.0 + i).powi(term);
            (g - (1.0 + i).powi(k)) / (g - 1.0)
        };
        let mut status = DqState::C;
        let mut burn_e = 0.0;
        for p in first_pay..end {
            let age = p - first_pay;
            let b = factor(age);
            let ltv = (ltv0 * b).round().max(1.0);
            let m = rate(p);
            let x = Covariates {
                status,
                iota: 100.0 * (c - m),
                age: age + 1,
                season: calendar_month(p + 1) as usize - 1,
                fico,
                ltv,
                burn_e,
                judicial,
            };
            let probs = model.probs(&x);
            let mut u: f64 = rng.random();
            let mut next = Next::State(status);
            for (k, &q) in probs.iter().enumerate() {
                if u < q {
                    next = Next::ALL[k];
                    break;
                }
                u -= q;
            }
            if p >= first {
                panel.rows.push(Row {
                    loan,
                    period: p,
                    upb: (b0 * b * 100.0).round() / 100.0,
                    note_rate: c,
                    loan_age: age,
                    remaining_term: term - age,
                    fico,
                    ltv,
                    status,
                    next,
                });
                panel.rows_read += 1;
            }
            burn_e += (100.0 * (c - m)).max(0.0);
            status = match next {
                Next::State(s) => s,
                Next::Mod => DqState::C,
                _ => break,
            };
        }
    }
    // Loans never observed in the window (none: every first payment is
    // before the window's last month) would be harmless; keep the order.
    Ok(Simulated { panel, rates })
}
