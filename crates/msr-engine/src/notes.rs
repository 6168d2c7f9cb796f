//! Note pricing by outcome probabilities (MODEL.md §H, §J "Note pricing"): the
//! whole-loan buyer's view of a mortgage note.
//!
//! There is no "performing" or "non-performing" bucket. Every note has
//! * the probabilities of four [`Outcome`]s — reperform, modified, deed in
//!   lieu, foreclosure — from the delinquency chain of §D run on the static
//!   path with an unmodified and a modified copy of the transient states
//!   ([`outcome_probabilities`], in [`chain`]), or from the tape's overrides;
//! * a cash-flow stream to the note owner under each outcome ([`streams`]);
//! * a required ROI for each (`[notes]` of the configuration);
//!
//! and the bid is `Σ p_s·PV_s` ([`price_note`]). Given an asking price, each
//! scenario's IRR and the IRR of the probability-weighted cash flows come
//! from [`irr::irr`].
//!
//! The chain is [`msr_model::chain::step`] with the loan terms and market
//! factors the MSR kernel uses, so the note pricer and the MSR engine never
//! disagree about a loan's credit. Everything here is pure computation over
//! validated notes; reading note tapes is `msr_io::notes_tape`.

pub mod chain;
pub mod irr;
pub mod streams;

use std::fmt::Write as _;

use msr_core::fixed::ExactSum;
use msr_core::loan::DqState;
use msr_core::Config;
use msr_model::params::MAX_MONTHS;
use msr_model::{Market, ModelParams};
use msr_rates::{PathSet, RateError, RateModel};
use rayon::prelude::*;

pub use chain::{chain_outcomes, outcome_probabilities, ChainOutcomes};
pub use irr::{irr, npv};
pub use streams::{scenario_streams, Stream};

/// Number of outcomes.
pub const NUM_OUTCOMES: usize = msr_core::note::NUM_OUTCOMES;

/// The outcome of a note (MODEL.md §H.1). The discriminant indexes every
/// per-outcome array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Outcome {
    /// Performs, or reperforms on its own (cure, reinstatement), to payoff or maturity.
    Reperform = 0,
    /// Reperforms after a modification.
    Modified = 1,
    /// Deed in lieu of foreclosure.
    DeedInLieu = 2,
    /// Foreclosure and REO sale (also any mass still delinquent at maturity).
    Foreclosure = 3,
}

impl Outcome {
    /// All outcomes in index order.
    pub const ALL: [Outcome; NUM_OUTCOMES] = [
        Outcome::Reperform,
        Outcome::Modified,
        Outcome::DeedInLieu,
        Outcome::Foreclosure,
    ];

    /// Index into per-outcome arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The name used in column names (`p_<name>`, `pv_<name>`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Reperform => "reperform",
            Outcome::Modified => "modified",
            Outcome::DeedInLieu => "deed_in_lieu",
            Outcome::Foreclosure => "foreclosure",
        }
    }

    /// The required ROI of this outcome from `[notes]`.
    pub fn roi(self, config: &Config) -> f64 {
        let n = &config.notes;
        match self {
            Outcome::Reperform => n.roi_reperform,
            Outcome::Modified => n.roi_modified,
            Outcome::DeedInLieu => n.roi_deed_in_lieu,
            Outcome::Foreclosure => n.roi_foreclosure,
        }
    }
}

pub use msr_core::note::Note;

/// A note context could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// The rate market of the configuration is invalid.
    #[error(transparent)]
    Rates(#[from] RateError),
    /// A static path given explicitly is too short.
    #[error("the static path has {have} months but note pricing needs {need}")]
    PathTooShort {
        /// Months in the path.
        have: usize,
        /// Months needed.
        need: usize,
    },
}

/// Everything note pricing needs besides the notes, built once per run and
/// shared read-only: the configuration, the resolved model constants and
/// the static path's market factors (MODEL.md §C.3) over 480 months.
#[derive(Debug, Clone)]
pub struct NoteContext {
    config: Config,
    params: ModelParams,
    market: Market,
}

impl NoteContext {
    /// Build from a validated configuration: its curve and `m0` give the
    /// static path.
    ///
    /// # Errors
    /// [`NoteError::Rates`] when the curve or rate parameters are invalid.
    pub fn new(config: &Config) -> Result<NoteContext, NoteError> {
        let model =
            RateModel::from_config(&config.curve, &config.hull_white, &config.mortgage_rate)?;
        let path = model.static_path(MAX_MONTHS);
        NoteContext::with_static_path(config, &path)
    }

    /// Build from a validated configuration and a given static path (path 0
    /// of `paths` is used), e.g. one read from a path file.
    ///
    /// # Errors
    /// [`NoteError::PathTooShort`] when `paths` has fewer than 480 months.
    pub fn with_static_path(config: &Config, paths: &PathSet) -> Result<NoteContext, NoteError> {
        if paths.months() < MAX_MONTHS {
            return Err(NoteError::PathTooShort {
                have: paths.months(),
                need: MAX_MONTHS,
            });
        }
        let params = ModelParams::from_config(config);
        let market = Market::new(paths, &params, 0.0, MAX_MONTHS);
        Ok(NoteContext {
            config: config.clone(),
            params,
            market,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The resolved model constants.
    pub fn params(&self) -> &ModelParams {
        &self.params
    }

    /// The static path's market factors.
    pub fn market(&self) -> &Market {
        &self.market
    }

    /// Foreclosure-scenario timeline `L` in months (MODEL.md §H.2):
    /// `fc_months(state) + reo_months`, or `ceil(fc_months/2) + reo_months`
    /// for a note already in foreclosure. A fractional `fc_months` is
    /// rounded up to whole months.
    pub fn foreclosure_months(&self, note: &Note) -> u32 {
        let fc = self.config.credit.fc_months(note.state_code());
        let months = if note.dq_status == DqState::Fc {
            (fc / 2.0).ceil()
        } else {
            fc.ceil()
        };
        months as u32 + self.config.notes.reo_months
    }

    /// Property value after `t` months, `V(t) = property_value·(1+hpa)^(t/12)`.
    pub fn property_value_at(&self, note: &Note, t: u32) -> f64 {
        note.property_value * (1.0 + self.config.credit.hpa).powf(t as f64 / 12.0)
    }
}

/// Where a note's probabilities came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbSource {
    /// The §D chain on the static path.
    Model,
    /// The tape's `p_*` overrides.
    Tape,
}

impl ProbSource {
    /// `model` or `tape`.
    pub fn name(self) -> &'static str {
        match self {
            ProbSource::Model => "model",
            ProbSource::Tape => "tape",
        }
    }
}

/// One row of the scenario table: an outcome as an investor lays it out.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioDetail {
    /// The outcome.
    pub outcome: Outcome,
    /// Its probability `p_s`.
    pub probability: f64,
    /// Months until the stream ends (term, modified term, deed-in-lieu or
    /// foreclosure-to-REO-sale timeline).
    pub timeline_months: u32,
    /// Undiscounted cash in: payments and prepayments, or net sale proceeds
    /// `min(V·(1−discount)·(1−sell_cost), owed(L))` (capped at the debt, §H.2 v1.2).
    pub cash_in: f64,
    /// Undiscounted costs (positive): modification cost, carrying, deed-in-lieu
    /// or foreclosure cost, cash for keys.
    pub costs: f64,
    /// Required ROI `r_s`.
    pub roi: f64,
    /// Present value `PV_s` at `r_s`, monthly compounding.
    pub pv: f64,
    /// Contribution to the price, `p_s·PV_s`.
    pub contribution: f64,
    /// IRR of this stream at the asking price; `None` without an ask or
    /// when there is no root.
    pub irr: Option<f64>,
}

/// The price of one note.
#[derive(Debug, Clone, PartialEq)]
pub struct NotePrice {
    /// Where the probabilities came from.
    pub prob_source: ProbSource,
    /// The scenario table, in [`Outcome`] order.
    pub scenarios: [ScenarioDetail; NUM_OUTCOMES],
    /// The bid `Σ p_s·PV_s` ($).
    pub price: f64,
    /// Price in percent of the tape UPB.
    pub price_pct_upb: f64,
    /// Price in percent of the tape property value.
    pub price_pct_value: f64,
    /// The asking price the IRRs are solved at.
    pub ask_price: Option<f64>,
    /// IRR of the probability-weighted cash flows at the asking price.
    pub irr_expected: Option<f64>,
}

impl NotePrice {
    /// The probabilities in [`Outcome`] order.
    pub fn probabilities(&self) -> [f64; NUM_OUTCOMES] {
        self.scenarios.each_ref().map(|s| s.probability)
    }

    /// The scenario PVs in [`Outcome`] order.
    pub fn pvs(&self) -> [f64; NUM_OUTCOMES] {
        self.scenarios.each_ref().map(|s| s.pv)
    }

    /// The contributions in [`Outcome`] order.
    pub fn contributions(&self) -> [f64; NUM_OUTCOMES] {
        self.scenarios.each_ref().map(|s| s.contribution)
    }

    /// The scenario IRRs in [`Outcome`] order.
    pub fn irrs(&self) -> [Option<f64>; NUM_OUTCOMES] {
        self.scenarios.each_ref().map(|s| s.irr)
    }
}

/// Present value of monthly cash flows (month 1 first) at annual rate `roi`
/// compounded monthly: `Σ CF_t·(1 + roi/12)^(−t)`.
pub fn present_value(cash_flows: &[f64], roi: f64) -> f64 {
    let g = 1.0 + roi / 12.0;
    cash_flows
        .iter()
        .enumerate()
        .map(|(k, cf)| cf * g.powf(-((k + 1) as f64)))
        .sum()
}

/// Price one note at its own asking price (if any).
pub fn price_note(note: &Note, ctx: &NoteContext) -> NotePrice {
    price_note_at(note, ctx, note.ask_price)
}

/// Price one note, solving IRRs at `ask` (overriding the note's own).
pub fn price_note_at(note: &Note, ctx: &NoteContext, ask: Option<f64>) -> NotePrice {
    let (probabilities, prob_source) = match note.probabilities {
        Some(p) => (p, ProbSource::Tape),
        None => (outcome_probabilities(note, ctx), ProbSource::Model),
    };
    let streams = scenario_streams(note, ctx);
    let scenarios: [ScenarioDetail; NUM_OUTCOMES] = Outcome::ALL.map(|o| {
        let s = &streams[o.index()];
        let roi = o.roi(&ctx.config);
        let pv = present_value(&s.cash_flows, roi);
        let p = probabilities[o.index()];
        ScenarioDetail {
            outcome: o,
            probability: p,
            timeline_months: s.cash_flows.len() as u32,
            cash_in: s.cash_in,
            costs: s.costs,
            roi,
            pv,
            contribution: p * pv,
            irr: ask.and_then(|a| irr(&s.cash_flows, a)),
        }
    });
    let price = scenarios.iter().map(|s| s.contribution).sum::<f64>();
    let irr_expected = ask.and_then(|a| {
        let len = streams
            .iter()
            .map(|s| s.cash_flows.len())
            .max()
            .unwrap_or(0);
        let mut expected = vec![0.0; len];
        for (s, p) in streams.iter().zip(probabilities) {
            for (e, cf) in expected.iter_mut().zip(&s.cash_flows) {
                *e += p * cf;
            }
        }
        irr(&expected, a)
    });
    NotePrice {
        prob_source,
        scenarios,
        price,
        price_pct_upb: 100.0 * price / note.upb,
        price_pct_value: 100.0 * price / note.property_value,
        ask_price: ask,
        irr_expected,
    }
}

/// Price many notes in parallel; results in input order, each depending only
/// on its note.
pub fn price_notes(notes: &[Note], ctx: &NoteContext) -> Vec<NotePrice> {
    notes.par_iter().map(|n| price_note(n, ctx)).collect()
}

/// Portfolio totals of a set of priced notes.
#[derive(Debug, Clone, PartialEq)]
pub struct NoteSummary {
    /// Notes priced.
    pub notes: u64,
    /// Σ UPB.
    pub upb: f64,
    /// Σ property value.
    pub property_value: f64,
    /// Σ price.
    pub price: f64,
    /// Σ price in percent of Σ UPB.
    pub price_pct_upb: f64,
    /// Σ price in percent of Σ property value.
    pub price_pct_value: f64,
    /// UPB-weighted probability of each outcome, in [`Outcome`] order.
    pub mix_upb_weighted: [f64; NUM_OUTCOMES],
    /// Σ contribution of each outcome, in [`Outcome`] order (they sum to the price).
    pub contributions: [f64; NUM_OUTCOMES],
    /// Notes with an asking price.
    pub notes_with_ask: u64,
    /// Σ asking price over those notes.
    pub ask_price: f64,
    /// Σ price over the notes with an asking price.
    pub price_of_asked: f64,
}

impl NoteSummary {
    /// Totals over `notes` and their `prices` (same order, same length).
    /// Sums are exact (fixed point), so they do not depend on order.
    ///
    /// # Panics
    /// If the slices differ in length.
    pub fn new(notes: &[Note], prices: &[NotePrice]) -> NoteSummary {
        assert_eq!(notes.len(), prices.len(), "one price per note");
        let mut upb = ExactSum::default();
        let mut value = ExactSum::default();
        let mut price = ExactSum::default();
        let mut mix = [ExactSum::default(); NUM_OUTCOMES];
        let mut contrib = [ExactSum::default(); NUM_OUTCOMES];
        let mut ask = ExactSum::default();
        let mut price_of_asked = ExactSum::default();
        let mut with_ask = 0;
        for (n, p) in notes.iter().zip(prices) {
            upb.add(n.upb);
            value.add(n.property_value);
            price.add(p.price);
            for s in &p.scenarios {
                mix[s.outcome.index()].add(s.probability * n.upb);
                contrib[s.outcome.index()].add(s.contribution);
            }
            if let Some(a) = p.ask_price {
                with_ask += 1;
                ask.add(a);
                price_of_asked.add(p.price);
            }
        }
        let (upb, value, price) = (upb.value(), value.value(), price.value());
        let ratio = |x: f64, d: f64| if d > 0.0 { 100.0 * x / d } else { 0.0 };
        NoteSummary {
            notes: notes.len() as u64,
            upb,
            property_value: value,
            price,
            price_pct_upb: ratio(price, upb),
            price_pct_value: ratio(price, value),
            mix_upb_weighted: mix.map(|m| if upb > 0.0 { m.value() / upb } else { 0.0 }),
            contributions: contrib.map(ExactSum::value),
            notes_with_ask: with_ask,
            ask_price: ask.value(),
            price_of_asked: price_of_asked.value(),
        }
    }
}

/// The scenario table of one note as text, laid out the way an investor
/// would: outcome, probability, timeline, cash in, costs, required ROI, PV,
/// contribution (and IRR at the ask, when there is one), then the bid.
pub fn explain_table(note: &Note, price: &NotePrice) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "note {}: UPB {:.2}, rate {:.3}%, {} months left, age {}, FICO {}, {} {}, value {:.2} (LTV {:.1}%), {} missed payments",
        note.loan_id,
        note.upb,
        100.0 * note.note_rate,
        note.remaining_term,
        note.loan_age,
        note.fico,
        note.dq_status,
        note.state_code(),
        note.property_value,
        note.ltv(),
        note.missed_payments(),
    );
    let _ = writeln!(
        out,
        "probabilities from the {}",
        match price.prob_source {
            ProbSource::Model => "delinquency chain on the static path (MODEL.md §H.1)",
            ProbSource::Tape => "tape's p_* columns",
        }
    );
    let _ = writeln!(
        out,
        "{:<13} {:>11} {:>8} {:>15} {:>13} {:>7} {:>15} {:>15} {:>9}",
        "outcome", "probability", "months", "cash in", "costs", "ROI", "PV", "contribution", "IRR"
    );
    for s in &price.scenarios {
        let _ = writeln!(
            out,
            "{:<13} {:>11.6} {:>8} {:>15.2} {:>13.2} {:>6.2}% {:>15.2} {:>15.2} {:>9}",
            s.outcome.name(),
            s.probability,
            s.timeline_months,
            s.cash_in,
            s.costs,
            100.0 * s.roi,
            s.pv,
            s.contribution,
            pct_or_dash(s.irr),
        );
    }
    let total_p: f64 = price.scenarios.iter().map(|s| s.probability).sum();
    let _ = writeln!(
        out,
        "{:<13} {:>11.6} {:>8} {:>15} {:>13} {:>7} {:>15} {:>15.2} {:>9}",
        "price",
        total_p,
        "",
        "",
        "",
        "",
        "",
        price.price,
        pct_or_dash(price.irr_expected),
    );
    let _ = writeln!(
        out,
        "bid {:.2} = {:.4}% of UPB, {:.4}% of property value",
        price.price, price.price_pct_upb, price.price_pct_value
    );
    if let Some(a) = price.ask_price {
        let _ = writeln!(
            out,
            "ask {:.2}: expected IRR {} (IRR of the probability-weighted cash flows)",
            a,
            pct_or_dash(price.irr_expected)
        );
    }
    out
}

fn pct_or_dash(x: Option<f64>) -> String {
    match x {
        Some(y) => format!("{:.2}%", 100.0 * y),
        None => "-".to_string(),
    }
}
