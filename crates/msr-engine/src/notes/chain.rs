//! Outcome probabilities (MODEL.md §H.1, §J): the §D chain on the static path
//! with two copies of the transient states, unmodified `U` and modified `M`.
//!
//! Each month both copies take one [`step`] with the same SMM, roll and
//! foreclosure hazard (the modified copy follows the same D rules). The
//! unmodified copy's `mod120` mass leaves its `C` for the modified copy's `C`;
//! a further `mod120` from the modified copy stays in it. Terminal mass is
//! classified as
//! * reperform: unmodified `PP`, plus unmodified `C` at maturity;
//! * modified: modified `PP`, plus modified `C` at maturity;
//! * deed in lieu: all `DIL`;
//! * foreclosure: all `LIQ`, plus every delinquent state's mass at maturity
//!   (both copies).

use msr_model::chain::{smm_from_cpr, step, Masses};
use msr_model::LoanTerms;

use super::{Note, NoteContext, Outcome, NUM_OUTCOMES};

/// Where a note's probability mass ends up after the chain's `n` months:
/// the parts that [`ChainOutcomes::probabilities`] groups into outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ChainOutcomes {
    /// Voluntary payoff from the unmodified copy.
    pub unmodified_prepaid: f64,
    /// Unmodified copy current at maturity.
    pub unmodified_current: f64,
    /// Voluntary payoff from the modified copy.
    pub modified_prepaid: f64,
    /// Modified copy current at maturity.
    pub modified_current: f64,
    /// Deeds in lieu, both copies.
    pub deed_in_lieu: f64,
    /// Foreclosure liquidations, both copies.
    pub liquidated: f64,
    /// Mass still delinquent (D30..FC) at maturity, both copies.
    pub delinquent_at_maturity: f64,
    /// Total modification mass over the term, both copies (a loan modified
    /// twice counts twice): the `modified` events of the MSR engine.
    pub modifications: f64,
}

impl ChainOutcomes {
    /// The four outcome probabilities, in [`Outcome`] order.
    pub fn probabilities(&self) -> [f64; NUM_OUTCOMES] {
        let mut p = [0.0; NUM_OUTCOMES];
        p[Outcome::Reperform.index()] = self.unmodified_prepaid + self.unmodified_current;
        p[Outcome::Modified.index()] = self.modified_prepaid + self.modified_current;
        p[Outcome::DeedInLieu.index()] = self.deed_in_lieu;
        p[Outcome::Foreclosure.index()] = self.liquidated + self.delinquent_at_maturity;
        p
    }
}

/// Run the two-copy chain for `note` over its remaining term on the static path.
///
/// # Panics
/// If the note's term exceeds the context's 480 months (validated notes
/// never do).
pub fn chain_outcomes(note: &Note, ctx: &NoteContext) -> ChainOutcomes {
    let params = ctx.params();
    let market = ctx.market();
    let loan = note.as_loan();
    let mut terms = LoanTerms::default();
    terms.prepare(
        &loan,
        params,
        ctx.config().credit.fc_hazard(note.state_code()),
    );
    assert!(
        terms.n <= market.months(),
        "note term beyond the static path"
    );

    let mut unmodified: Masses = [0.0; 6];
    unmodified[terms.start_state] = 1.0;
    let mut modified: Masses = [0.0; 6];
    let mut out = ChainOutcomes::default();
    let mut burn = 1.0;
    for t in 0..terms.n {
        let (lock_m, refi_m, burn_m, _, _) = market.factors(0, t);
        let smm = smm_from_cpr(terms.cpr(t, lock_m, refi_m, burn, params));
        burn *= terms.burn_step(burn_m);
        let roll = terms.roll[t];
        let u = step(&unmodified, smm, roll, terms.h, params);
        let m = step(&modified, smm, roll, terms.h, params);
        unmodified = u.pi;
        unmodified[0] -= u.mod_mass;
        modified = m.pi;
        modified[0] += u.mod_mass;
        out.unmodified_prepaid += u.pp_mass;
        out.modified_prepaid += m.pp_mass;
        out.deed_in_lieu += u.dil_mass + m.dil_mass;
        out.liquidated += u.liq_mass + m.liq_mass;
        out.modifications += u.mod_mass + m.mod_mass;
    }
    out.unmodified_current = unmodified[0];
    out.modified_current = modified[0];
    out.delinquent_at_maturity =
        unmodified[1..].iter().sum::<f64>() + modified[1..].iter().sum::<f64>();
    out
}

/// The probabilities of the four outcomes of `note` from the chain, in
/// [`Outcome`] order. They sum to 1 up to rounding (mass conservation).
///
/// # Panics
/// As [`chain_outcomes`].
pub fn outcome_probabilities(note: &Note, ctx: &NoteContext) -> [f64; NUM_OUTCOMES] {
    chain_outcomes(note, ctx).probabilities()
}
