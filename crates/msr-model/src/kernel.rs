//! The hot loop: one loan over one block of [`LANES`] paths for all its months
//! (MODEL.md §D–E), discounting each month's net servicing cash flow.
//!
//! State lives in structure-of-arrays form (`[f64; LANES]` per quantity), every
//! lane loop is straight-line arithmetic with selects instead of branches and no
//! libm call, so LLVM turns each lane loop into SIMD instructions (one AVX-512
//! register, or two AVX2 registers, per quantity). Nothing allocates: the caller
//! owns every buffer. Path-independent terms come precomputed from
//! [`LoanTerms`] (its per-month coefficient rows), path-dependent market factors
//! from [`Market`] (block-major, so one block streams contiguous memory).
//!
//! A block runs in two passes over its months:
//! 1. **prepayment** (§D.1): CPR and then SMM for every month, into a scratch
//!    column. Months are independent here apart from the one-multiply burnout
//!    recurrence, so the out-of-order core overlaps the long CPR and SMM
//!    computations (a reciprocal by Newton–Raphson for the S-curve, then
//!    [`crate::fastmath::smm_from_cpr`]'s table lookups and polynomial; no
//!    division, which on this hardware cost a quarter of the kernel's time)
//!    of many months. Given the loan's note-rate factors resolved beforehand
//!    ([`RateFactors`], shared by the loans with that rate), only the loan's
//!    part of the CPR and the SMM are left, with the same bits.
//! 2. **chain and cash flows** (§D.3, §E): the delinquency chain, advances,
//!    the ten components and their discounted sums, and with `DETAIL` the
//!    per-lane monthly sums ([`MonthlyLanes`]) and the lane's net cash flow
//!    (written, or added to the exact `CF` sums in the same loop:
//!    [`NetCells`]).
//!
//! The public entry points dispatch once per call to a copy of the same code
//! compiled for AVX-512 or AVX2+FMA when the CPU has them (`crate::simd`); every
//! copy gives the same bits.

use crate::chain::{step_lanes, transitions};
use crate::fastmath::{
    smm_lanes, smm_lanes_capped, split_fixed_lanes, FIXED_SPLIT_LIMIT_UNSCALED, SMM_CAPPED_MAX_CPR,
};
pub use crate::lanes::{HalfRows, LaneRows, HALF, LANES};
use crate::loan_terms::{LoanTerms, MonthCoefs, NetCoefs};
use crate::market::{CashLanes, Market, PrepayLanes};
use crate::params::ModelParams;
use crate::rate_factors::{RateFactors, RateLanes};
use crate::simd::{Lanes, Math, Scalar, WithLanes};

/// A servicing cash-flow component of MODEL.md §E.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Component {
    /// Servicing fee (income).
    Fee = 0,
    /// Float on P&I collections (income).
    FloatPi,
    /// Float on escrow (income).
    FloatEscrow,
    /// Late fees collected (income).
    LateFee,
    /// Ancillary income.
    Ancillary,
    /// Recapture value (income).
    Recapture,
    /// Cost to service (cost).
    Cost,
    /// Advance financing (cost).
    AdvFinance,
    /// Compensating interest (cost).
    CompInt,
    /// Liquidation losses (cost).
    LiqLoss,
}

/// Number of cash-flow components.
pub const NUM_COMPONENTS: usize = 10;

/// Components in output order with their names (MODEL.md §F) and whether they
/// are costs (subtracted from value, reported positive).
pub const COMPONENTS: [(Component, &str, bool); NUM_COMPONENTS] = [
    (Component::Fee, "fee", false),
    (Component::FloatPi, "float_pi", false),
    (Component::FloatEscrow, "float_escrow", false),
    (Component::LateFee, "late_fee", false),
    (Component::Ancillary, "ancillary", false),
    (Component::Recapture, "recapture", false),
    (Component::Cost, "cost", true),
    (Component::AdvFinance, "adv_finance", true),
    (Component::CompInt, "comp_int", true),
    (Component::LiqLoss, "liq_loss", true),
];

/// Per-month expected quantities summed over a block's active lanes, beyond
/// the ten components (which occupy indices `0..NUM_COMPONENTS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum MonthlyField {
    /// Net cash flow (undiscounted).
    Net = NUM_COMPONENTS,
    /// Net cash flow discounted at path rates plus OAS.
    PvNet,
    /// Scheduled UPB in C at month end (`B0·b_t·π_t(C)`); D30..FC follow.
    UpbC,
    /// UPB in D30.
    UpbD30,
    /// UPB in D60.
    UpbD60,
    /// UPB in D90.
    UpbD90,
    /// UPB in D120.
    UpbD120,
    /// UPB in FC.
    UpbFc,
    /// Surviving loans `N·Σπ_t`.
    Surviving,
    /// Loans prepaid in the month `N·pp_mass`.
    Prepaid,
    /// Loans modified `N·mod_mass`.
    Modified,
    /// Loans resolved by deed in lieu `N·dil_mass`.
    DeedInLieu,
    /// Loans liquidated `N·liq_mass`.
    Liquidated,
}

/// Number of monthly fields (components first, then [`MonthlyField`]s).
pub const NUM_MONTHLY: usize = MonthlyField::Liquidated as usize + 1;

/// Present values of one block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockAccum {
    /// PV of each component (costs positive), folded: lane `j` is the sum
    /// of paths `j` and `j + HALF` (padding paths add zero). Only sums over
    /// paths are reported, and half the accumulators leave the kernel's
    /// registers to the per-path state.
    pub pv: [[f64; HALF]; NUM_COMPONENTS],
    /// PV of net cash flow by lane: the path value `V_p` (income PVs minus
    /// cost PVs).
    pub pv_net: [f64; LANES],
    /// PV of the servicing cost by lane (with `DETAIL` only; untouched
    /// without): a path's value is linear in it, so risk's cost-to-service
    /// stresses are read off the base run (`msr_engine::risk`).
    pub pv_cost: [f64; LANES],
}

impl Default for BlockAccum {
    fn default() -> Self {
        BlockAccum {
            pv: [[0.0; HALF]; NUM_COMPONENTS],
            pv_net: [0.0; LANES],
            pv_cost: [0.0; LANES],
        }
    }
}

/// The per-lane quantities summed over paths for the monthly output: enough
/// to rebuild all [`NUM_MONTHLY`] fields. The delinquency chain and the
/// advances (§D.3, §E.2) are linear in the masses with coefficients that do
/// not depend on the path, except for the payoffs from C (`π(C)·SMM`), so
/// the masses and advances summed over paths follow the same recurrences
/// from the summed payoffs ([`MonthlyLanes::months`]); every other field is
/// such a sum times a path-independent coefficient of the month, or one of
/// the path-dependent sums kept here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
enum LaneField {
    /// Payoffs from C in the month, `π_{t−1}(C)·SMM_t`.
    PaidFromC = 0,
    FloatPi,
    FloatEscrow,
    AdvFinance,
    PvNet,
}

/// Number of per-lane monthly quantities.
const NUM_LANE_FIELDS: usize = LaneField::PvNet as usize + 1;

/// One month of [`MonthlyLanes`], folded onto [`HALF`] lanes.
type LaneRow = HalfRows<NUM_LANE_FIELDS>;

/// One loan's monthly sums kept per lane across its blocks (so a block adds
/// vectors, never a horizontal sum); [`MonthlyLanes::month`] reduces a month
/// over lanes, in a fixed order, and expands it to the [`NUM_MONTHLY`] fields.
#[derive(Debug, Clone)]
pub struct MonthlyLanes {
    /// The sums; with `fresh`, what a previous loan left (the next block
    /// writes rather than adds, so they are never zeroed).
    rows: Vec<LaneRow>,
    /// Active paths added so far (the month-0 masses are this times the
    /// one-hot start state).
    paths: f64,
    /// No block added since [`MonthlyLanes::reset`]: every sum is zero.
    fresh: bool,
}

impl Default for MonthlyLanes {
    fn default() -> Self {
        MonthlyLanes {
            rows: Vec::new(),
            paths: 0.0,
            fresh: true,
        }
    }
}

impl MonthlyLanes {
    /// Zero sums for `months` months (reusing the allocation). Nothing is
    /// written: the next block writes its months instead of adding to them
    /// (so the buffer only grows, never cleared: a longer loan after a
    /// shorter one costs no fill of rows it overwrites anyway).
    pub fn reset(&mut self, months: usize) {
        if self.rows.len() < months {
            self.rows.resize(months, HalfRows::default());
        }
        self.paths = 0.0;
        self.fresh = true;
    }

    /// Month `t`'s sums over lanes (zeros before the first block).
    #[inline(always)]
    fn sums(&self, t: usize) -> [f64; NUM_LANE_FIELDS] {
        if self.fresh {
            [0.0; NUM_LANE_FIELDS]
        } else {
            lane_sums(&self.rows[t])
        }
    }

    /// Every month's fields, `0..n`, into `out` (cleared first), summed over
    /// the lanes of every block added so far: components first, then the
    /// [`MonthlyField`]s. The masses and advances come from the chain's and
    /// the advances' recurrences run on sums over paths ([`LaneField`]).
    ///
    /// Runs in a copy compiled for the instruction set (`crate::simd`), so
    /// the recurrences' fused multiply-adds are instructions rather than
    /// calls (the same bits on every level).
    pub fn months(&self, terms: &LoanTerms, p: &ModelParams, out: &mut Vec<[f64; NUM_MONTHLY]>) {
        crate::simd::run_at(
            crate::simd::level(),
            Months {
                lanes: self,
                terms,
                p,
                out,
            },
        );
    }

    /// [`MonthlyLanes::months`] on scalars.
    #[inline(always)]
    fn months_scalar(&self, terms: &LoanTerms, p: &ModelParams, out: &mut Vec<[f64; NUM_MONTHLY]>) {
        out.clear();
        let s = Scalar;
        let rules = AdvanceRules::new(s, terms, p);
        // Ancillary income per surviving loan-mass (the kernel's constant).
        let ancillary_k = terms.count * p.ancillary_annual / 12.0;
        let mut pi = [0.0; 6];
        pi[terms.start_state] = self.paths;
        let mut adv = [0.0; 5];
        if terms.start_state > 0 {
            adv[terms.start_state - 1] = terms.advance_balance * self.paths;
        }
        for t in 0..terms.n {
            let sums = self.sums(t);
            let c = &terms.coefs[t];
            let paid = sums[LaneField::PaidFromC as usize];
            let liq_loss = rules.liq_loss(s, &pi, &adv);
            let pp = paid + pi[1] * p.pp30;
            let st = transitions(s, &pi, pi[0] - paid, pp, c.roll, c.keep, &terms.chain);
            adv = rules.step(s, &adv, &st.pi, &c.adv_new);
            // Start-of-month D120 and FC masses.
            let (d120, fc) = (pi[4], pi[5]);
            pi = st.pi;
            out.push(self.expand(
                terms,
                p,
                t,
                &sums,
                &pi,
                pp,
                liq_loss,
                (d120, fc),
                ancillary_k,
            ));
        }
    }

    /// Month `t`'s fields from its lane sums, its summed end-of-month masses,
    /// payoffs and liquidation losses, and the start-of-month D120 and FC
    /// masses.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn expand(
        &self,
        terms: &LoanTerms,
        p: &ModelParams,
        t: usize,
        s: &[f64; NUM_LANE_FIELDS],
        pi: &[f64; 6],
        pp: f64,
        liq_loss: f64,
        (d120, fc): (f64, f64),
        ancillary_k: f64,
    ) -> [f64; NUM_MONTHLY] {
        let c = &terms.coefs[t];
        let alive = ((pi[0] + pi[1]) + (pi[2] + pi[3])) + (pi[4] + pi[5]);
        let mut out = [0.0; NUM_MONTHLY];
        out[Component::Fee as usize] = c.fee * pi[0];
        out[Component::FloatPi as usize] = s[LaneField::FloatPi as usize];
        out[Component::FloatEscrow as usize] = s[LaneField::FloatEscrow as usize];
        out[Component::LateFee as usize] = c.late * pi[1];
        out[Component::Ancillary as usize] = ancillary_k * alive;
        out[Component::Recapture as usize] = c.recapture * pp;
        out[Component::Cost as usize] = (0..6).map(|k| c.cost[k] * pi[k]).sum();
        out[Component::AdvFinance as usize] = s[LaneField::AdvFinance as usize];
        out[Component::CompInt as usize] = c.comp_int * pp;
        out[Component::LiqLoss as usize] = liq_loss;
        let income: f64 = COMPONENTS
            .iter()
            .filter(|(_, _, cost)| !cost)
            .map(|&(k, _, _)| out[k as usize])
            .sum();
        let costs: f64 = COMPONENTS
            .iter()
            .filter(|(_, _, cost)| *cost)
            .map(|&(k, _, _)| out[k as usize])
            .sum();
        out[MonthlyField::Net as usize] = income - costs;
        out[MonthlyField::PvNet as usize] = s[LaneField::PvNet as usize];
        for k in 0..6 {
            out[MonthlyField::UpbC as usize + k] = c.bal_end * pi[k];
        }
        out[MonthlyField::Surviving as usize] = terms.count * alive;
        out[MonthlyField::Prepaid as usize] = terms.count * pp;
        out[MonthlyField::Modified as usize] = terms.count * (p.mod120 * d120);
        out[MonthlyField::DeedInLieu as usize] = terms.count * (p.dil120 * d120);
        out[MonthlyField::Liquidated as usize] = terms.count * (terms.h * fc);
        out
    }
}

/// A month's per-lane sums reduced over lanes, in a fixed order.
#[inline(always)]
fn lane_sums(row: &LaneRow) -> [f64; NUM_LANE_FIELDS] {
    std::array::from_fn(|f| row.0[f].iter().sum())
}

/// The body of [`MonthlyLanes::months`], compiled once per instruction set.
#[inline(always)]
pub(crate) fn months_body<S: Lanes>(
    _: S,
    lanes: &MonthlyLanes,
    terms: &LoanTerms,
    p: &ModelParams,
    out: &mut Vec<[f64; NUM_MONTHLY]>,
) {
    lanes.months_scalar(terms, p, out);
}

/// Caller-owned scratch of [`run_block`]: the SMM column of a block.
///
/// Made with [`BlockScratch::sharing`], it keeps the columns of every block
/// of the last loan that computed them, as that loan's SMMs with its
/// prepayment ramp complete (the bases of [`LoanTerms::bases`] with
/// `seasoned`). A later loan whose inputs, ramp complete, equal that loan's
/// over its months reads them instead of running its own prepayment pass;
/// a loan still in its ramp computes only those months and copies the rest:
/// the same bits for less work. The inputs are compared in full, bit for
/// bit: the market ([`Market`]'s identity), the CPR cap and multiplier, the
/// note-rate constants ([`LoanTerms::rate_key`]) and the seasoned turnover
/// and refinancing bases of each month (once per loan: its later blocks
/// know the answer). Loans that differ only in balance, remaining term, age,
/// credit state, investor, LTV, escrow or fee share them; with the default
/// model that is loans of the same note rate and FICO, which
/// [`LoanTerms::prepay_order_key`] brings together, longest first.
#[derive(Debug, Clone, Default)]
pub struct BlockScratch {
    /// One block's column, or with sharing every block's, `months` apart.
    smm: Vec<LaneRows<1>>,
    /// With sharing, the column of a loan still in its ramp.
    own: Vec<LaneRows<1>>,
    share: Option<SmmOwner>,
}

/// Whose SMM columns a sharing [`BlockScratch`] holds: the inputs they were
/// computed from.
#[derive(Debug, Clone, Default)]
struct SmmOwner {
    market: u64,
    cap: u64,
    multiplier: u64,
    rate: [u64; 3],
    /// The owner's seasoned turnover and refinancing bases (bits), one per
    /// month.
    turnover: Vec<u64>,
    refi: Vec<u64>,
    /// Blocks whose column holds all the owner's months.
    filled: Vec<bool>,
    /// The [`LoanTerms::stamp`] of the last terms found served (with
    /// `market`, `cap` and `multiplier`): a loan's later blocks skip the
    /// comparison of its months.
    served: u64,
    /// Block columns read by a loan instead of computed.
    reused: u64,
}

/// Whether `bits` starts with the bits of `x`.
fn starts_with_bits(bits: &[u64], x: &[f64]) -> bool {
    // An or of exclusive ors, no early exit: it vectorises.
    bits.len() >= x.len()
        && bits
            .iter()
            .zip(x)
            .fold(0, |diff, (&b, &v)| diff | (b ^ v.to_bits()))
            == 0
}

impl SmmOwner {
    /// Whether the owner's columns hold `terms`' SMMs (given `market` and
    /// `p`) for its months.
    fn serves(&self, terms: &LoanTerms, p: &ModelParams, market: &Market) -> bool {
        let same_run = self.market == market.id()
            && self.cap == p.cpr_cap.to_bits()
            && self.multiplier == p.cpr_multiplier.to_bits();
        if same_run && terms.stamp() != 0 && terms.stamp() == self.served {
            return true;
        }
        let (n, head) = (terms.n, terms.in_ramp.min(terms.n));
        same_run
            && self.rate == terms.rate_key()
            && self.turnover.len() >= n
            && starts_with_bits(&self.turnover[head..], &terms.turnover_base[head..n])
            && starts_with_bits(&self.refi[head..], &terms.refi_base[head..n])
            && (0..head).fold(0, |diff, t| {
                let [turnover, refi] = terms.seasoned_base[t];
                diff | (self.turnover[t] ^ turnover.to_bits()) | (self.refi[t] ^ refi.to_bits())
            }) == 0
    }

    /// Make `terms` the owner, with no column filled yet.
    fn adopt(&mut self, terms: &LoanTerms, p: &ModelParams, market: &Market) {
        let n = terms.n;
        self.market = market.id();
        self.cap = p.cpr_cap.to_bits();
        self.multiplier = p.cpr_multiplier.to_bits();
        self.rate = terms.rate_key();
        self.turnover.clear();
        self.refi.clear();
        for t in 0..n {
            let (turnover, refi) = terms.bases(t, true);
            self.turnover.push(turnover.to_bits());
            self.refi.push(refi.to_bits());
        }
        self.filled.clear();
        self.filled.resize(market.num_blocks(), false);
        self.served = terms.stamp();
    }
}

/// Where a block's SMMs come from.
pub(crate) enum SmmColumn<'a> {
    /// Computed by the prepayment pass into this column.
    Fill(&'a mut [LaneRows<1>]),
    /// Already there (another loan's, the same bits).
    Ready(&'a [LaneRows<1>]),
    /// The loan's months still in its prepayment ramp (`head`) computed
    /// into `own`, the rest copied from `shared`: the SMMs of the loan with
    /// its ramp complete (`LoanTerms::seasoned_base`), computed first if
    /// `fill`.
    Seasoned {
        shared: &'a mut [LaneRows<1>],
        fill: bool,
        own: &'a mut [LaneRows<1>],
        head: usize,
    },
}

impl BlockScratch {
    /// Scratch that shares SMM columns between loans with the same
    /// prepayment inputs (see [`BlockScratch`]). It holds every block's
    /// column: `64·months·blocks` bytes (737 KiB for 256 paths and 360
    /// months).
    pub fn sharing() -> BlockScratch {
        BlockScratch {
            smm: Vec::new(),
            own: Vec::new(),
            share: Some(SmmOwner::default()),
        }
    }

    /// Block columns a loan read instead of computing (0 without sharing).
    pub fn reused_blocks(&self) -> u64 {
        self.share.as_ref().map_or(0, |o| o.reused)
    }

    /// The SMM column of `block` for `terms`: to fill, or already filled.
    fn column(
        &mut self,
        terms: &LoanTerms,
        p: &ModelParams,
        market: &Market,
        block: usize,
    ) -> SmmColumn<'_> {
        let n = terms.n;
        let Some(owner) = &mut self.share else {
            if self.smm.len() < n {
                self.smm.resize(n, LaneRows::default());
            }
            return SmmColumn::Fill(&mut self.smm[..n]);
        };
        let head = terms.in_ramp.min(n);
        assert!(block < market.num_blocks(), "block {block} out of range");
        let stride = market.months();
        let start = block * stride;
        let same = owner.serves(terms, p, market);
        if same {
            owner.served = terms.stamp();
        }
        let fill = !(same && owner.filled[block]);
        if fill {
            // A column filled now must hold all the owner's months: a
            // shorter loan becomes the owner.
            if !same || owner.turnover.len() != n {
                owner.adopt(terms, p, market);
            }
            owner.filled[block] = true;
            let len = market.num_blocks() * stride;
            if self.smm.len() < len {
                self.smm.resize(len, LaneRows::default());
            }
        } else {
            owner.reused += 1;
        }
        let shared = &mut self.smm[start..start + n];
        match (head, fill) {
            (0, false) => SmmColumn::Ready(shared),
            // Seasoned from the first month: the loan's own SMMs.
            (0, true) => SmmColumn::Fill(shared),
            _ => {
                if self.own.len() < n {
                    self.own.resize(n, LaneRows::default());
                }
                SmmColumn::Seasoned {
                    shared,
                    fill,
                    own: &mut self.own[..n],
                    head,
                }
            }
        }
    }
}

/// What [`run_block`] writes with `DETAIL`.
#[derive(Debug)]
pub struct BlockDetail<'a> {
    /// Monthly sums, added to (lanes past the block's active paths add zero).
    pub monthly: &'a mut MonthlyLanes,
    /// Where each lane's undiscounted net cash flow goes; at least `terms.n`
    /// rows.
    pub net: NetCells<'a>,
}

/// The destination of a block's net cash flows `net[t-1][lane]`.
#[derive(Debug)]
pub enum NetCells<'a> {
    /// Not kept (the monthly sums still hold their discounted total).
    Skip,
    /// Written (overwriting).
    Write(&'a mut [[f64; LANES]]),
    /// Added in exact fixed point to running sums, in the kernel's month loop
    /// (no second pass): what [`add_fixed_lanes`] does with the written cells.
    AddFixed {
        /// High halves.
        hi: &'a mut [[i64; LANES]],
        /// Low halves.
        lo: &'a mut [[i64; LANES]],
    },
}

/// Value one loan on one block of paths.
///
/// `out` receives the block's per-lane PVs. With `DETAIL` (pass
/// `Some(detail)`), also adds the month's cash flows of the block's active
/// lanes into `detail.monthly` and writes or adds each lane's net cash flow
/// as `detail.net` says; `detail` is ignored without `DETAIL`.
///
/// Returns `false` only with [`NetCells::AddFixed`] when some cell's
/// magnitude reached the split's limit (as [`add_fixed_lanes`]).
///
/// # Panics
/// With `DETAIL` and no `detail`, or if `terms` was not prepared for this
/// market's months.
pub fn run_block<const DETAIL: bool>(
    terms: &LoanTerms,
    p: &ModelParams,
    market: &Market,
    block: usize,
    scratch: &mut BlockScratch,
    out: &mut BlockAccum,
    detail: Option<BlockDetail<'_>>,
) -> bool {
    run_block_at::<DETAIL>(
        crate::simd::level(),
        terms,
        p,
        market,
        None,
        block,
        scratch,
        out,
        detail,
    )
}

/// [`run_block`] with the instruction-set level chosen by the caller (the
/// engine passes [`crate::simd::level`]; benchmarks and the tests that check
/// every level gives the same bits pass others), and optionally with the
/// loan's note-rate factors resolved beforehand (`rates`, [`RateFactors`]):
/// the same bits with less work per loan-path-month.
///
/// # Panics
/// If this CPU lacks `level` ([`crate::simd::detected`]), if `rates` does not
/// serve `terms` on this market ([`RateFactors::serves`]), and as
/// [`run_block`].
#[allow(clippy::too_many_arguments)]
pub fn run_block_at<const DETAIL: bool>(
    level: crate::simd::Level,
    terms: &LoanTerms,
    p: &ModelParams,
    market: &Market,
    rates: Option<&RateFactors>,
    block: usize,
    scratch: &mut BlockScratch,
    out: &mut BlockAccum,
    detail: Option<BlockDetail<'_>>,
) -> bool {
    let args = block_args(level, terms, p, market, rates, block, scratch, out);
    crate::simd::run_at(
        level,
        RunBlock::<DETAIL>(BlockArgs {
            detail,
            components: true,
            ..args
        }),
    )
}

/// The checks of [`run_block_at`] and the block's arguments (no detail,
/// components summed), with its SMM column from `scratch`.
#[allow(clippy::too_many_arguments)]
fn block_args<'a, 'd>(
    level: crate::simd::Level,
    terms: &'a LoanTerms,
    p: &'a ModelParams,
    market: &'a Market,
    rates: Option<&'a RateFactors>,
    block: usize,
    scratch: &'a mut BlockScratch,
    out: &'a mut BlockAccum,
) -> BlockArgs<'a, 'd> {
    assert!(
        level <= crate::simd::detected(),
        "{} not supported by this CPU",
        level.name()
    );
    if let Some(r) = rates {
        assert!(
            r.serves(terms, market.num_blocks()),
            "rate factors resolved for another note rate or market"
        );
    }
    BlockArgs {
        terms,
        p,
        market,
        rates,
        block,
        smm: scratch.column(terms, p, market, block),
        out,
        detail: None,
        components: true,
    }
}

/// [`run_block_at`] without detail and without the component PVs: only
/// `out.pv_net`, each path's value; `out.pv` is zeroed. A scenario of `msr
/// risk` needs only the path values (`msr_engine`'s `Detail::Net`), so each
/// month's net cash flow is formed from its coefficients by mass
/// ([`LoanTerms::prepare_net`], [`month_net`]): 11 vector operations where
/// the ten components and their sum take 40. The path values equal
/// [`run_block_at`]'s up to that association (a few ulps of the components'
/// scale, tested), the same bits on every level.
///
/// # Panics
/// As [`run_block_at`], and if [`LoanTerms::prepare_net`] was not called
/// with `p` after the terms' last preparation.
#[allow(clippy::too_many_arguments)]
pub fn run_block_net_at(
    level: crate::simd::Level,
    terms: &LoanTerms,
    p: &ModelParams,
    market: &Market,
    rates: Option<&RateFactors>,
    block: usize,
    scratch: &mut BlockScratch,
    out: &mut BlockAccum,
) {
    assert!(
        terms.net_prepared(p),
        "LoanTerms::prepare_net not called with these parameters"
    );
    let args = block_args(level, terms, p, market, rates, block, scratch, out);
    crate::simd::run_at(
        level,
        RunBlock::<false>(BlockArgs {
            components: false,
            ..args
        }),
    );
}

/// The arguments of one block, bundled for the dispatch in `crate::simd`.
pub(crate) struct BlockArgs<'a, 'd> {
    pub terms: &'a LoanTerms,
    pub p: &'a ModelParams,
    pub market: &'a Market,
    pub rates: Option<&'a RateFactors>,
    pub block: usize,
    pub smm: SmmColumn<'a>,
    pub out: &'a mut BlockAccum,
    pub detail: Option<BlockDetail<'d>>,
    /// Whether the component PVs are summed (always with `DETAIL`).
    pub components: bool,
}

/// One block's arguments, dispatched by `crate::simd::run_at` to the copy of
/// [`run_block_body`] for the level.
struct RunBlock<'a, 'd, const DETAIL: bool>(BlockArgs<'a, 'd>);

impl<const DETAIL: bool> WithLanes for RunBlock<'_, '_, DETAIL> {
    type Output = bool;
    #[inline(always)]
    fn with_lanes<S: Lanes>(self, s: S) -> bool {
        run_block_body::<DETAIL, S>(s, self.0)
    }
}

/// [`months_body`]'s arguments, dispatched by `crate::simd::run_at`.
struct Months<'a> {
    lanes: &'a MonthlyLanes,
    terms: &'a LoanTerms,
    p: &'a ModelParams,
    out: &'a mut Vec<[f64; NUM_MONTHLY]>,
}

impl WithLanes for Months<'_> {
    type Output = ();
    #[inline(always)]
    fn with_lanes<S: Lanes>(self, s: S) {
        months_body(s, self.lanes, self.terms, self.p, self.out)
    }
}

/// The kernel body, compiled once per instruction set by `crate::simd`.
#[inline(always)]
pub(crate) fn run_block_body<const DETAIL: bool, S: Lanes>(s: S, args: BlockArgs<'_, '_>) -> bool {
    let BlockArgs {
        terms,
        p,
        market,
        rates,
        block,
        smm,
        out,
        detail,
        components,
    } = args;
    let n = terms.n;
    assert!(terms.coefs.len() >= n, "loan terms not prepared");
    let capped = p.cpr_cap <= SMM_CAPPED_MAX_CPR;
    let pass = ColumnPass {
        s,
        terms,
        p,
        market,
        rates,
        block,
        capped,
    };
    let smm: &[LaneRows<1>] = match smm {
        SmmColumn::Ready(smm) => smm,
        SmmColumn::Fill(smm) => {
            pass.run(smm, n, false);
            smm
        }
        SmmColumn::Seasoned {
            shared,
            fill,
            own,
            head,
        } => {
            if fill {
                pass.run(shared, n, true);
            }
            own[head..n].copy_from_slice(&shared[head..n]);
            pass.run(own, head, false);
            own
        }
    };
    let active = market.active_lanes(block);
    let mask: [f64; LANES] = std::array::from_fn(|l| if l < active { 1.0 } else { 0.0 });
    let cash = market.cash_block(block, n);
    match detail {
        Some(d) if DETAIL => {
            let BlockDetail { monthly, net } = d;
            assert!(monthly.rows.len() >= n, "detail buffers too short");
            monthly.paths += active as f64;
            let first = std::mem::replace(&mut monthly.fresh, false);
            let rows = &mut monthly.rows[..n];
            // `FIXED`, then `FIRST`: the loan's first block writes its
            // monthly sums (they were not zeroed), later blocks add.
            macro_rules! pass {
                ($fixed:literal, $sink:expr) => {
                    if first {
                        cash_flow_pass::<true, $fixed, true, true, S>(
                            s, terms, p, cash, smm, &mask, out, rows, $sink,
                        )
                    } else {
                        cash_flow_pass::<true, $fixed, false, true, S>(
                            s, terms, p, cash, smm, &mask, out, rows, $sink,
                        )
                    }
                };
            }
            match net {
                NetCells::Write(net) => {
                    assert!(net.len() >= n, "detail buffers too short");
                    pass!(false, NetSink::Write(&mut net[..n]))
                }
                NetCells::AddFixed { hi, lo } => {
                    assert!(hi.len() >= n && lo.len() >= n, "detail buffers too short");
                    pass!(true, NetSink::AddFixed(&mut hi[..n], &mut lo[..n]))
                }
                NetCells::Skip => pass!(false, NetSink::Skip),
            }
        }
        _ => {
            assert!(!DETAIL, "run_block::<true> needs detail buffers");
            macro_rules! pass {
                ($pv:literal) => {
                    cash_flow_pass::<false, false, false, $pv, S>(
                        s,
                        terms,
                        p,
                        cash,
                        smm,
                        &mask,
                        out,
                        &mut [],
                        NetSink::Write(&mut []),
                    )
                };
            }
            if components {
                pass!(true)
            } else {
                pass!(false)
            }
        }
    }
}

/// One month of a block's net cash flows, by lane.
type NetRow = [f64; LANES];
/// One month of a block's fixed-point `CF` halves, by lane.
type FixedRow = [i64; LANES];

/// The prepayment pass of one loan and block, into a column.
struct ColumnPass<'a, S> {
    s: S,
    terms: &'a LoanTerms,
    p: &'a ModelParams,
    market: &'a Market,
    rates: Option<&'a RateFactors>,
    block: usize,
    capped: bool,
}

impl<S: Lanes> ColumnPass<'_, S> {
    /// Months `0..months` into `col`, with the loan's own bases or,
    /// `seasoned`, those of the ramp complete.
    #[inline(always)]
    fn run(&self, col: &mut [LaneRows<1>], months: usize, seasoned: bool) {
        let Self {
            s,
            terms,
            p,
            market,
            rates,
            block,
            capped,
        } = *self;
        let n = terms.n;
        let col = &mut col[..months];
        match rates {
            Some(r) => {
                let f = &r.block(block, n)[..months];
                if capped {
                    prepayment_pass_resolved::<true, S>(s, terms, p, f, col, seasoned);
                } else {
                    prepayment_pass_resolved::<false, S>(s, terms, p, f, col, seasoned);
                }
            }
            None => {
                let f = &market.prepay_block(block, n)[..months];
                if capped {
                    prepayment_pass::<true, S>(s, terms, p, f, col, seasoned);
                } else {
                    prepayment_pass::<false, S>(s, terms, p, f, col, seasoned);
                }
            }
        }
    }
}

/// [`NetCells`] narrowed to the block's months.
enum NetSink<'a> {
    Skip,
    Write(&'a mut [[f64; LANES]]),
    AddFixed(&'a mut [[i64; LANES]], &'a mut [[i64; LANES]]),
}

/// Pass 1: SMM of every month (§D.1) from the market's factors, with the
/// note-rate part resolved here ([`LoanTerms::cpr_lanes`]) and the burnout
/// recurrence. `CAPPED` (CPR cap ≤ [`SMM_CAPPED_MAX_CPR`]) uses the shorter
/// SMM form with the same bits.
#[inline(always)]
fn prepayment_pass<const CAPPED: bool, S: Lanes>(
    s: S,
    terms: &LoanTerms,
    p: &ModelParams,
    factors: &[PrepayLanes],
    smm: &mut [LaneRows<1>],
    seasoned: bool,
) {
    let mut burn = s.splat(1.0);
    for (t, (f, smm_t)) in factors.iter().zip(smm.iter_mut()).enumerate() {
        let [lock_m, refi_m, burn_m] = &f.0;
        let bases = terms.bases(t, seasoned);
        let cpr = terms.cpr_lanes(s, bases, s.load(lock_m), s.load(refi_m), burn, p);
        store_smm::<CAPPED, S>(s, cpr, &mut smm_t[0]);
        burn = s.mul(burn, terms.burn_step_lanes(s, s.load(burn_m)));
    }
}

/// Pass 1 with the note rate's factors resolved beforehand ([`RateFactors`]):
/// the same bits as [`prepayment_pass`], with only the loan's part of the
/// CPR left.
#[inline(always)]
fn prepayment_pass_resolved<const CAPPED: bool, S: Lanes>(
    s: S,
    terms: &LoanTerms,
    p: &ModelParams,
    factors: &[RateLanes],
    smm: &mut [LaneRows<1>],
    seasoned: bool,
) {
    for (t, (f, smm_t)) in factors.iter().zip(smm.iter_mut()).enumerate() {
        let [lockin, refi_factor] = &f.0;
        let bases = terms.bases(t, seasoned);
        let cpr = terms.cpr_from_factors_lanes(s, bases, s.load(lockin), s.load(refi_factor), p);
        store_smm::<CAPPED, S>(s, cpr, &mut smm_t[0]);
    }
}

/// SMM of a CPR vector into `smm_t`.
#[inline(always)]
fn store_smm<const CAPPED: bool, S: Lanes>(s: S, cpr: S::F, smm_t: &mut [f64; LANES]) {
    let v = if CAPPED {
        smm_lanes_capped(s, cpr)
    } else {
        smm_lanes(s, cpr)
    };
    s.store(smm_t, v);
}

/// A loan's advance rules (§E.2–E.3) as vectors of `S`: the one definition
/// the kernel runs per lane and [`MonthlyLanes::months`] on sums over paths.
#[derive(Clone, Copy)]
pub(crate) struct AdvanceRules<F> {
    /// Advances that stay in D30..FC for a month.
    pub(crate) stay: [F; 5],
    pub(crate) roll30: F,
    pub(crate) roll60: F,
    pub(crate) roll90: F,
    pub(crate) fc120: F,
    /// Liquidation losses per unit of the previous month's FC and D120 mass
    /// and advances (§E.3: liquidations are `h·FC`, deeds in lieu
    /// `dil120·D120`, and the advances they release are lost at
    /// `adv_loss_share`).
    pub(crate) liq_fc: F,
    pub(crate) liq_d120: F,
    pub(crate) loss_adv120: F,
    pub(crate) loss_adv_fc: F,
}

impl<F: Copy> AdvanceRules<F> {
    #[inline(always)]
    pub(crate) fn new<S: Math<F = F>>(s: S, terms: &LoanTerms, p: &ModelParams) -> Self {
        let k = |x: f64| s.splat(x);
        let (h, inv) = (terms.h, &terms.inv);
        AdvanceRules {
            stay: terms.chain.stay.map(k),
            roll30: k(p.roll30),
            roll60: k(p.roll60),
            roll90: k(p.roll90),
            fc120: k(p.fc120),
            liq_fc: k(h * (terms.count * inv.fc_unreimbursed * p.fc_cost)),
            liq_d120: k(p.dil120 * (terms.count * inv.fc_unreimbursed * p.dil_cost)),
            loss_adv120: k(inv.adv_loss_share * p.dil120),
            loss_adv_fc: k(inv.adv_loss_share * h),
        }
    }

    /// The month's liquidation losses from its start-of-month masses `pi` and
    /// advances `a`.
    #[inline(always)]
    pub(crate) fn liq_loss<S: Math<F = F>>(&self, s: S, pi: &[F; 6], a: &[F; 5]) -> F {
        s.mul_add(
            pi[5],
            self.liq_fc,
            s.mul_add(
                pi[4],
                self.liq_d120,
                s.mul_add(a[3], self.loss_adv120, s.mul(a[4], self.loss_adv_fc)),
            ),
        )
    }

    /// The transpose of [`AdvanceRules::liq_loss`] for the adjoint sweep
    /// (`crate::tangent`): adds the shares of the losses' adjoint `bar` to
    /// the start-of-month masses' and advances' adjoints.
    #[inline(always)]
    pub(crate) fn liq_loss_adjoint<S: Math<F = F>>(
        &self,
        s: S,
        bar: F,
        bar_pi: &mut [F; 6],
        bar_a: &mut [F; 5],
    ) {
        bar_pi[5] = s.mul_add(bar, self.liq_fc, bar_pi[5]);
        bar_pi[4] = s.mul_add(bar, self.liq_d120, bar_pi[4]);
        bar_a[3] = s.mul_add(bar, self.loss_adv120, bar_a[3]);
        bar_a[4] = s.mul_add(bar, self.loss_adv_fc, bar_a[4]);
    }

    /// The transpose of [`AdvanceRules::step`]: from the month-end
    /// advances' adjoints `bar`, adds their share to the month-end masses'
    /// adjoints `bar_pi` and returns the start-of-month advances' adjoints.
    #[inline(always)]
    pub(crate) fn step_adjoint<S: Math<F = F>>(
        &self,
        s: S,
        bar: &[F; 5],
        bar_pi: &mut [F; 6],
        adv_new: &[f64; 5],
    ) -> [F; 5] {
        for ((b, &a), &new) in bar_pi[1..].iter_mut().zip(bar).zip(adv_new) {
            *b = s.mul_add(a, s.splat(new), *b);
        }
        [
            s.mul_add(bar[1], self.roll30, s.mul(bar[0], self.stay[0])),
            s.mul_add(bar[2], self.roll60, s.mul(bar[1], self.stay[1])),
            s.mul_add(bar[3], self.roll90, s.mul(bar[2], self.stay[2])),
            s.mul_add(bar[4], self.fc120, s.mul(bar[3], self.stay[3])),
            s.mul(bar[4], self.stay[4]),
        ]
    }

    /// Month-end advances from the start-of-month ones `a`, the month-end
    /// masses `pi` and the new advance per unit of mass by state (D30..FC).
    #[inline(always)]
    pub(crate) fn step<S: Math<F = F>>(
        &self,
        s: S,
        a: &[F; 5],
        pi: &[F; 6],
        adv_new: &[f64; 5],
    ) -> [F; 5] {
        let k = |x: f64| s.splat(x);
        let [_, p30, p60, p90, p120, pfc] = *pi;
        [
            s.mul_add(p30, k(adv_new[0]), s.mul(a[0], self.stay[0])),
            s.mul_add(
                p60,
                k(adv_new[1]),
                s.mul_add(a[0], self.roll30, s.mul(a[1], self.stay[1])),
            ),
            s.mul_add(
                p90,
                k(adv_new[2]),
                s.mul_add(a[1], self.roll60, s.mul(a[2], self.stay[2])),
            ),
            s.mul_add(
                p120,
                k(adv_new[3]),
                s.mul_add(a[2], self.roll90, s.mul(a[3], self.stay[3])),
            ),
            s.mul_add(
                pfc,
                k(adv_new[4]),
                s.mul_add(a[3], self.fc120, s.mul(a[4], self.stay[4])),
            ),
        ]
    }
}

/// A loan's constant factors of the components (§E.3), hoisted out of the
/// month loop.
#[derive(Clone, Copy)]
pub(crate) struct LoanFlowConsts<F> {
    /// `escrow·escrow_hold_months/12` (escrow float per unit of C mass and
    /// of `max(r,0)`).
    pub(crate) escrow_float: F,
    /// `N·ancillary_annual/12` (per unit of live mass).
    pub(crate) ancillary: F,
}

impl<F: Copy> LoanFlowConsts<F> {
    #[inline(always)]
    pub(crate) fn new<S: Math<F = F>>(s: S, terms: &LoanTerms, p: &ModelParams) -> Self {
        LoanFlowConsts {
            escrow_float: s.splat(terms.escrow * p.escrow_hold_months / 12.0),
            ancillary: s.splat(terms.count * p.ancillary_annual / 12.0),
        }
    }
}

/// The ten components of one month (§E.3), in [`COMPONENTS`] order, from
/// the month-end masses `pi`, the payoff mass `pp`, the month's liquidation
/// losses, the month-end advance balance and the rates `r = max(r,0)` and
/// `r_adv`. For given rates every component is linear in the masses and
/// advances, and for given masses the rate terms (P&I and escrow float,
/// advance financing) are linear in the rates: [`month_net`] sums the same
/// terms mass by mass ([`NetCoefs`], for the net-only pass and the tangent
/// sweeps), and the test `month_net_is_the_sum_of_the_components` keeps
/// the two in step.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn month_components<S: Math>(
    s: S,
    c: &MonthCoefs,
    loan: &LoanFlowConsts<S::F>,
    pi: &[S::F; 6],
    pp: S::F,
    liq_loss: S::F,
    adv_bal: S::F,
    r: S::F,
    r_adv: S::F,
) -> [S::F; NUM_COMPONENTS] {
    let k = |x: f64| s.splat(x);
    let [pc, p30, p60, p90, p120, pfc] = *pi;
    let alive = s.add(s.add(s.add(pc, p30), s.add(p60, p90)), s.add(p120, pfc));
    let fee = s.mul(k(c.fee), pc);
    let float_pi = s.mul(s.mul_add(pc, k(c.float_pmt), s.mul(pp, k(c.float_bal))), r);
    let float_escrow = s.mul(s.mul(pc, r), loan.escrow_float);
    let late_fee = s.mul(k(c.late), p30);
    let ancillary = s.mul(loan.ancillary, alive);
    let recapture = s.mul(k(c.recapture), pp);
    let cost = s.mul_add(
        pfc,
        k(c.cost[5]),
        s.mul_add(
            p120,
            k(c.cost[4]),
            s.mul_add(
                p90,
                k(c.cost[3]),
                s.mul_add(
                    p60,
                    k(c.cost[2]),
                    s.mul_add(pc, k(c.cost[0]), s.mul(p30, k(c.cost[1]))),
                ),
            ),
        ),
    );
    let adv_finance = s.mul(adv_bal, r_adv);
    let comp_int = s.mul(k(c.comp_int), pp);
    [
        fee,
        float_pi,
        float_escrow,
        late_fee,
        ancillary,
        recapture,
        cost,
        adv_finance,
        comp_int,
        liq_loss,
    ]
}

/// A month's net cash flow from its coefficients by mass ([`NetCoefs`]):
/// what [`net_of`] of [`month_components`] gives, associated mass by mass
/// (11 vector operations instead of 40; within a few ulps of it). The
/// net-only pass (`Detail::Net`, the scenarios of `msr risk`).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn month_net<S: Math>(
    s: S,
    c: &NetCoefs,
    pi: &[S::F; 6],
    pp: S::F,
    liq_loss: S::F,
    adv_bal: S::F,
    r: S::F,
    r_adv: S::F,
) -> S::F {
    let k = |x: f64| s.splat(x);
    let [pc, p30, p60, p90, p120, pfc] = *pi;
    let mut x = s.mul(pc, s.mul_add(r, k(c.float_c), k(c.mass[0])));
    x = s.mul_add(p30, k(c.mass[1]), x);
    x = s.mul_add(p60, k(c.mass[2]), x);
    x = s.mul_add(p90, k(c.mass[3]), x);
    x = s.mul_add(p120, k(c.mass[4]), x);
    x = s.mul_add(pfc, k(c.mass[5]), x);
    x = s.mul_add(pp, s.mul_add(r, k(c.float_payoff), k(c.payoff)), x);
    s.sub(x, s.mul_add(adv_bal, r_adv, liq_loss))
}

/// The advance balance: the sum of the five states' advances, in one fixed
/// order.
#[inline(always)]
pub(crate) fn advance_balance<S: Math>(s: S, a: &[S::F; 5]) -> S::F {
    s.add(s.add(s.add(a[0], a[1]), s.add(a[2], a[3])), a[4])
}

/// A month's net cash flow: income less costs of [`month_components`].
#[inline(always)]
pub(crate) fn net_of<S: Math>(s: S, v: &[S::F; NUM_COMPONENTS]) -> S::F {
    let [fee, float_pi, float_escrow, late_fee, ancillary, recapture, cost, adv_finance, comp_int, liq_loss] =
        *v;
    let income = s.add(
        s.add(s.add(fee, float_pi), s.add(float_escrow, late_fee)),
        s.add(ancillary, recapture),
    );
    let costs = s.add(s.add(cost, adv_finance), s.add(comp_int, liq_loss));
    s.sub(income, costs)
}

/// Pass 2: the chain, advances and components of every month (§D.3, §E).
/// With `FIXED` (and `DETAIL`) the net cash flows go into `sink`'s
/// fixed-point sums instead of being written; returns `false` if one of them
/// reached the split's limit. With `FIRST` (and `DETAIL`) the monthly sums
/// are written as `v·mask + 0` (the bits of adding to a zeroed row) instead
/// of added to. Without `PV` the component PVs are not summed (`out.pv` is
/// zeroed) and each month's net cash flow is formed by [`month_net`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn cash_flow_pass<
    const DETAIL: bool,
    const FIXED: bool,
    const FIRST: bool,
    const PV: bool,
    S: Lanes,
>(
    s: S,
    terms: &LoanTerms,
    p: &ModelParams,
    cash: &[CashLanes],
    smm: &[LaneRows<1>],
    mask: &[f64; LANES],
    out: &mut BlockAccum,
    monthly: &mut [LaneRow],
    sink: NetSink<'_>,
) -> bool {
    let (net, hi, lo): (&mut [NetRow], &mut [FixedRow], &mut [FixedRow]) = match sink {
        NetSink::Write(net) => (net, &mut [], &mut []),
        NetSink::AddFixed(hi, lo) => (&mut [], hi, lo),
        NetSink::Skip => (&mut [], &mut [], &mut []),
    };
    // Loop-invariant: the branch below is predicted, not a second copy.
    let write = !net.is_empty();
    let mut worst = s.splat(0.0);
    let n = terms.n;
    let coefs = &terms.coefs[..n];
    // The net-only pass forms each month's net cash flow from its
    // coefficients by mass (checked prepared by `run_block_net_at`).
    let direct = !PV && !DETAIL;
    let net_coefs: &[NetCoefs] = if direct { &terms.net[..n] } else { &[] };
    let smm = &smm[..n];
    let cash = &cash[..n];
    let k = |x: f64| s.splat(x);

    // Per-lane state: masses C..FC and advances D30..FC.
    // Padding lanes start with no mass, so every quantity of theirs is 0
    // (the market repeats a real path there) and adds nothing to the folded
    // sums.
    let zero = k(0.0);
    let maskv = s.load(mask);
    let mut pi = [zero; 6];
    pi[terms.start_state] = maskv;
    let mut adv = [zero; 5];
    if terms.start_state > 0 {
        adv[terms.start_state - 1] = s.mul(maskv, k(terms.advance_balance));
    }
    let mut pv = [s.zero_h(); NUM_COMPONENTS];
    let mut pv_net = zero;
    let mut pv_cost = zero;

    // Loan constants hoisted out of the month loop.
    let loan_k = LoanFlowConsts::new(s, terms, p);
    let rules = AdvanceRules::new(s, terms, p);

    for t in 0..n {
        let c = &coefs[t];
        let [r_pos, r_adv, df] = &cash[t].0;
        let (r, r_adv, d) = (s.load(r_pos), s.load(r_adv), s.load(df));

        // §D.3 transitions.
        let smm_t = s.load(&smm[t][0]);
        let st = step_lanes(s, &pi, smm_t, c.roll, c.keep, &terms.chain);

        // §E.2 advances: carry with the mass, release, add new.
        let liq_loss = rules.liq_loss(s, &pi, &adv);
        adv = rules.step(s, &adv, &st.pi, &c.adv_new);
        let adv_bal = advance_balance(s, &adv);
        // Payoffs from C (the monthly sums rebuild the masses from them).
        let paid = if DETAIL { s.mul(pi[0], smm_t) } else { zero };
        pi = st.pi;

        if direct {
            let net = month_net(
                s,
                &net_coefs[t],
                &st.pi,
                st.pp_mass,
                liq_loss,
                adv_bal,
                r,
                r_adv,
            );
            pv_net = s.mul_add(net, d, pv_net);
            continue;
        }

        // §E.3 components.
        let vals = month_components(
            s, c, &loan_k, &st.pi, st.pp_mass, liq_loss, adv_bal, r, r_adv,
        );
        let [_, float_pi, float_escrow, _, _, _, cost, adv_finance, _, _] = vals;
        if PV {
            for (acc, v) in pv.iter_mut().zip(vals) {
                *acc = s.fold_mul_add(v, d, *acc);
            }
        }
        let month_net = net_of(s, &vals);
        pv_net = s.mul_add(month_net, d, pv_net);

        if DETAIL {
            pv_cost = s.mul_add(cost, d, pv_cost);
            if FIXED {
                worst = add_fixed_row(s, month_net, &mut hi[t], &mut lo[t], worst);
            } else if write {
                s.store(&mut net[t], month_net);
            }
            let fields = [
                paid,
                float_pi,
                float_escrow,
                adv_finance,
                s.mul(month_net, d),
            ];
            for (acc, v) in monthly[t].0.iter_mut().zip(fields) {
                let sum = s.fold_mul_add(v, maskv, if FIRST { s.zero_h() } else { s.load_h(acc) });
                s.store_h(acc, sum);
            }
        }
    }

    for (o, v) in out.pv.iter_mut().zip(pv) {
        s.store_h(o, v);
    }
    s.store(&mut out.pv_net, pv_net);
    if DETAIL {
        s.store(&mut out.pv_cost, pv_cost);
    }
    !FIXED || within_split(s, worst)
}

/// Add one row of net cash flows `x` to the split fixed-point sums; returns
/// the running largest magnitude (`worst`, for [`within_split`]).
#[inline(always)]
fn add_fixed_row<S: Lanes>(
    s: S,
    x: S::F,
    hi: &mut [i64; LANES],
    lo: &mut [i64; LANES],
    worst: S::F,
) -> S::F {
    let (a, b) = split_fixed_lanes(s, x);
    let (h, o) = (s.load_u(hi), s.load_u(lo));
    s.store_u(hi, s.add_u(h, a));
    s.store_u(lo, s.add_u(o, b));
    s.max_sel(s.abs(x), worst)
}

/// Whether every lane of `worst` is inside the split's exact range.
#[inline(always)]
fn within_split<S: Lanes>(s: S, worst: S::F) -> bool {
    let mut w = [0.0; LANES];
    s.store(&mut w, worst);
    w.iter().all(|&m| m < FIXED_SPLIT_LIMIT_UNSCALED)
}

/// Add one block's net cash flows, in exact fixed point
/// ([`msr_core::fixed::to_fixed`]), to running sums kept as two `i64` halves:
/// cell `i` gains `hi·2^32 + lo` in `hi[i]`, `lo[i]` (see
/// [`crate::fastmath::split_fixed`]), wrapping.
///
/// Returns `false` if some cell's magnitude reached the split's limit
/// ([`crate::fastmath::FIXED_SPLIT_LIMIT_UNSCALED`], 32,768 dollars per
/// loan-path-month; it was added as the halves of `i64::MIN`): the caller must
/// then subtract
/// [`crate::fastmath::split_fixed`] of that cell and add its exact `to_fixed` elsewhere. The
/// cash flows must be finite.
///
/// # Panics
/// If the slices differ in length.
pub fn add_fixed_lanes(
    net: &[[f64; LANES]],
    hi: &mut [[i64; LANES]],
    lo: &mut [[i64; LANES]],
) -> bool {
    assert!(
        net.len() == hi.len() && net.len() == lo.len(),
        "fixed-point rows differ in length"
    );
    add_fixed_lanes_at(crate::simd::level(), net, hi, lo)
}

/// [`add_fixed_lanes`] at a given level (tests compare the levels).
///
/// # Panics
/// If this CPU lacks `level`.
pub(crate) fn add_fixed_lanes_at(
    level: crate::simd::Level,
    net: &[[f64; LANES]],
    hi: &mut [[i64; LANES]],
    lo: &mut [[i64; LANES]],
) -> bool {
    crate::simd::run_at(level, AddFixedLanes { net, hi, lo })
}

/// [`add_fixed_lanes_body`]'s arguments, dispatched by `crate::simd::run_at`.
struct AddFixedLanes<'a> {
    net: &'a [[f64; LANES]],
    hi: &'a mut [[i64; LANES]],
    lo: &'a mut [[i64; LANES]],
}

impl WithLanes for AddFixedLanes<'_> {
    type Output = bool;
    #[inline(always)]
    fn with_lanes<S: Lanes>(self, s: S) -> bool {
        add_fixed_lanes_body(s, self.net, self.hi, self.lo)
    }
}

/// The body of [`add_fixed_lanes`], compiled once per instruction set.
#[inline(always)]
pub(crate) fn add_fixed_lanes_body<S: Lanes>(
    s: S,
    net: &[[f64; LANES]],
    hi: &mut [[i64; LANES]],
    lo: &mut [[i64; LANES]],
) -> bool {
    let mut worst = s.splat(0.0);
    for ((x, h), o) in net.iter().zip(hi.iter_mut()).zip(lo.iter_mut()) {
        worst = add_fixed_row(s, s.load(x), h, o, worst);
    }
    within_split(s, worst)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::simd::{detected, Level};
    use msr_core::loan::{DqState, Investor, Loan};
    use msr_core::Config;
    use msr_rates::{NormalGenerator, RateModel};

    fn market(num_paths: usize, months: usize) -> (Config, ModelParams, Market) {
        let config = Config::default();
        let model =
            RateModel::from_config(&config.curve, &config.hull_white, &config.mortgage_rate)
                .unwrap();
        let normals = NormalGenerator::new(99, true).normals(num_paths, months);
        let params = ModelParams::from_config(&config);
        let market = Market::new(&model.paths(&normals, months), &params, 0.001, months);
        (config, params, market)
    }

    /// A 300-month test loan in `state` (shared with `crate::tangent`'s tests).
    pub(crate) fn loan(state: DqState, investor: Investor, note_rate: f64) -> Loan {
        Loan {
            loan_id: "T1".into(),
            upb: 312_345.67,
            note_rate,
            servicing_fee: 0.0025,
            remaining_term: 300,
            loan_age: 20,
            fico: 690,
            ltv: 85.0,
            investor,
            dq_status: state,
            property_state: *b"NY",
            escrow_monthly: 410.0,
            loan_count: 2,
            advance_balance: 1_500.0,
        }
    }

    /// `month_net` is `net_of(month_components)`: every term, with its sign,
    /// up to the association (a few ulps of the terms' magnitudes), for
    /// every month of loans in each investor, for masses in every state, and
    /// with `r` both positive and zero.
    #[test]
    fn month_net_is_the_sum_of_the_components() {
        let (config, params, _) = market(8, 300);
        let s = Scalar;
        for (state, investor) in [
            (DqState::C, Investor::Fnma),
            (DqState::D60, Investor::Gnma),
            (DqState::Fc, Investor::Pls),
        ] {
            let loan = loan(state, investor, 0.0575);
            let mut terms = LoanTerms::default();
            terms.prepare(&loan, &params, config.credit.fc_hazard(loan.state_code()));
            terms.prepare_net(&params);
            let consts = LoanFlowConsts::new(s, &terms, &params);
            for t in 0..terms.n {
                // Masses, payoffs and advances of different sizes per
                // state, so a term on the wrong mass shows.
                let x = (t + 1) as f64;
                let pi = [0.61 / x.sqrt(), 0.05, 0.031, 0.017, 0.011, 0.023];
                let (pp, liq, adv_bal) = (0.0071, 37.5 / x, 2_345.0 + x);
                for (r, r_adv) in [(0.043, 0.0047), (0.0, 0.0011)] {
                    let vals = month_components(
                        s,
                        &terms.coefs[t],
                        &consts,
                        &pi,
                        pp,
                        liq,
                        adv_bal,
                        r,
                        r_adv,
                    );
                    let want = net_of(s, &vals);
                    let got = month_net(s, &terms.net[t], &pi, pp, liq, adv_bal, r, r_adv);
                    let scale: f64 = vals.iter().map(|v| v.abs()).sum();
                    assert!(
                        (got - want).abs() <= 16.0 * f64::EPSILON * scale,
                        "month {t}, r {r}: {got} vs {want} (scale {scale})"
                    );
                }
            }
        }
    }

    /// Prepare a loan and its net coefficients, let `spoil` change the terms
    /// or the parameters, then run the net-only pass on block 0.
    fn net_pass_after(spoil: impl FnOnce(&mut LoanTerms, &mut ModelParams)) {
        let (config, mut params, market) = market(8, 300);
        let loan = loan(DqState::C, Investor::Fnma, 0.0575);
        let mut terms = LoanTerms::default();
        terms.prepare(&loan, &params, config.credit.fc_hazard(loan.state_code()));
        terms.prepare_net(&params);
        spoil(&mut terms, &mut params);
        run_block_net_at(
            crate::simd::level(),
            &terms,
            &params,
            &market,
            None,
            0,
            &mut BlockScratch::default(),
            &mut BlockAccum::default(),
        );
    }

    /// The net-only pass runs on fresh coefficients...
    #[test]
    fn net_pass_runs_on_its_coefficients() {
        net_pass_after(|_, _| {});
    }

    /// ... and refuses coefficients of an earlier preparation...
    #[test]
    #[should_panic(expected = "prepare_net")]
    fn net_pass_needs_its_coefficients() {
        net_pass_after(|terms, params| {
            let loan = loan(DqState::C, Investor::Fnma, 0.0575);
            terms.prepare(&loan, params, 0.01);
        });
    }

    /// ... or prepared with other ancillary income.
    #[test]
    #[should_panic(expected = "prepare_net")]
    fn net_pass_needs_the_parameters_it_was_prepared_with() {
        net_pass_after(|_, params| params.ancillary_annual += 1.0);
    }

    /// Every instruction-set copy of the kernel gives the same bits, with and
    /// without detail, for full and partial blocks.
    #[test]
    fn every_level_gives_the_same_bits() {
        let (config, params, market) = market(21, 300);
        let levels: Vec<Level> = Level::ALL
            .into_iter()
            .filter(|&l| l <= detected())
            .collect();
        for (state, investor, rate) in [
            (DqState::C, Investor::Fnma, 0.065),
            (DqState::D90, Investor::Gnma, 0.031),
            (DqState::Fc, Investor::Pls, 0.082),
        ] {
            let loan = loan(state, investor, rate);
            let mut terms = LoanTerms::default();
            terms.prepare(&loan, &params, config.credit.fc_hazard(loan.state_code()));
            terms.prepare_net(&params);
            let mut results = Vec::new();
            // Each level twice: the market's factors, then the note rate's
            // resolved beforehand (at that level).
            for (level, resolved) in levels.iter().flat_map(|&l| [(l, false), (l, true)]) {
                let mut rates = RateFactors::default();
                rates.resolve_at(level, &terms, &market, terms.n);
                let rates = resolved.then_some(&rates);
                let mut scratch = BlockScratch::default();
                let mut monthly = MonthlyLanes::default();
                monthly.reset(terms.n);
                let mut net = vec![[0.0; LANES]; terms.n];
                let mut bits = Vec::new();
                for block in 0..market.num_blocks() {
                    let mut out = BlockAccum::default();
                    run_block_at::<true>(
                        level,
                        &terms,
                        &params,
                        &market,
                        rates,
                        block,
                        &mut scratch,
                        &mut out,
                        Some(BlockDetail {
                            monthly: &mut monthly,
                            net: NetCells::Write(&mut net),
                        }),
                    );
                    let mut values = BlockAccum::default();
                    run_block_at::<false>(
                        level,
                        &terms,
                        &params,
                        &market,
                        rates,
                        block,
                        &mut scratch,
                        &mut values,
                        None,
                    );
                    assert_eq!(
                        (out.pv, out.pv_net),
                        (values.pv, values.pv_net),
                        "detail changes the values"
                    );
                    let mut net_only = BlockAccum {
                        pv: [[1.0; HALF]; NUM_COMPONENTS],
                        ..BlockAccum::default()
                    };
                    run_block_net_at(
                        level,
                        &terms,
                        &params,
                        &market,
                        rates,
                        block,
                        &mut scratch,
                        &mut net_only,
                    );
                    // Without the component PVs: the same path values up to
                    // the association of the net cash flow's terms (a few
                    // ulps of the components' scale).
                    let scale: f64 = out.pv.iter().flatten().map(|x| x.abs()).sum();
                    for (a, b) in net_only.pv_net.iter().zip(&out.pv_net) {
                        assert!((a - b).abs() <= 1e-14 * scale, "net only: {a} vs {b}");
                    }
                    assert_eq!(net_only.pv, [[0.0; HALF]; NUM_COMPONENTS]);
                    bits.extend(net_only.pv_net.iter().map(|x| x.to_bits()));
                    // The per-lane cost PVs sum to the folded cost component.
                    let cost = out.pv[Component::Cost as usize].iter().sum::<f64>();
                    let lanes = out.pv_cost.iter().sum::<f64>();
                    assert!(
                        (cost - lanes).abs() <= 1e-12 * cost.abs().max(1.0),
                        "{cost} vs {lanes}"
                    );
                    bits.extend(out.pv.iter().flatten().map(|x| x.to_bits()));
                    bits.extend(out.pv_net.iter().map(|x| x.to_bits()));
                    bits.extend(out.pv_cost.iter().map(|x| x.to_bits()));
                    bits.extend(net.iter().flatten().map(|x| x.to_bits()));
                }
                let mut all = Vec::new();
                monthly.months(&terms, &params, &mut all);
                bits.extend(all.iter().flatten().map(|x| x.to_bits()));
                results.push(bits);
            }
            let runs = levels.iter().flat_map(|&l| [(l, false), (l, true)]);
            for ((level, resolved), r) in runs.zip(&results) {
                assert!(
                    r == &results[0],
                    "{} (resolved rate factors: {resolved}) differs from portable",
                    level.name()
                );
            }
        }
    }

    /// A sharing scratch reuses a loan's SMM columns for the next loans with
    /// the same prepayment inputs over their months, and only for them; every
    /// loan gets the bits it gets alone.
    #[test]
    fn shared_smm_columns_serve_only_equal_inputs() {
        let (config, params, market) = market(21, 300);
        let blocks = market.num_blocks() as u64;
        let prepared = |edit: &dyn Fn(&mut Loan)| {
            let mut loan = loan(DqState::C, Investor::Fnma, 0.065);
            loan.loan_age = 40;
            loan.remaining_term = 280;
            edit(&mut loan);
            let mut terms = LoanTerms::default();
            terms.prepare(&loan, &params, config.credit.fc_hazard(loan.state_code()));
            terms
        };
        let run =
            |terms: &LoanTerms, p: &ModelParams, market: &Market, scratch: &mut BlockScratch| {
                let mut monthly = MonthlyLanes::default();
                monthly.reset(terms.n);
                let mut net = vec![[0.0; LANES]; terms.n];
                let mut bits = Vec::new();
                for block in 0..market.num_blocks() {
                    let mut out = BlockAccum::default();
                    run_block::<true>(
                        terms,
                        p,
                        market,
                        block,
                        scratch,
                        &mut out,
                        Some(BlockDetail {
                            monthly: &mut monthly,
                            net: NetCells::Write(&mut net),
                        }),
                    );
                    bits.extend(out.pv.iter().flatten().map(|x| x.to_bits()));
                    bits.extend(net.iter().flatten().map(|x| x.to_bits()));
                }
                bits
            };
        let owner = prepared(&|_| {});
        // Other balance, state, investor, LTV, shorter term; another age
        // past the ramp: the same SMMs.
        let follower = prepared(&|l| {
            l.upb = 90_000.0;
            l.dq_status = DqState::D60;
            l.investor = Investor::Gnma;
            l.ltv = 97.0;
            l.remaining_term = 200;
            l.loan_age = 100;
        });
        let other_fico = prepared(&|l| l.fico = 691);
        let other_rate = prepared(&|l| l.note_rate = 0.06499);
        let in_ramp = prepared(&|l| l.loan_age = 3);
        let longer = prepared(&|l| l.remaining_term = 300);
        let rebuilt = Market::new(
            &{
                let model = msr_rates::RateModel::from_config(
                    &config.curve,
                    &config.hull_white,
                    &config.mortgage_rate,
                )
                .unwrap();
                model.paths(&NormalGenerator::new(99, true).normals(21, 300), 300)
            },
            &params,
            0.001,
            300,
        );
        let mut capped = params.clone();
        capped.cpr_cap *= 0.5;

        let mut shared = BlockScratch::sharing();
        // (terms, params, market, whether its columns come from the loan before)
        let steps: [(&LoanTerms, &ModelParams, &Market, bool); 15] = [
            (&owner, &params, &market, false),
            (&follower, &params, &market, true),
            (&owner, &params, &market, true),
            // The same terms just served, under another cap or market.
            (&owner, &capped, &market, false),
            (&owner, &params, &rebuilt, false),
            (&owner, &params, &market, false),
            // Still in the ramp: its later months come from the owner's.
            (&in_ramp, &params, &market, true),
            (&other_fico, &params, &market, false),
            (&other_rate, &params, &market, false),
            // An owner still in the ramp shares its SMMs with the ramp
            // complete, not its own.
            (&in_ramp, &params, &market, false),
            (&owner, &params, &market, true),
            (&owner, &params, &rebuilt, false),
            (&owner, &capped, &market, false),
            // A longer loan cannot use a shorter one's columns; the shorter
            // one then uses the longer one's.
            (&longer, &params, &market, false),
            (&owner, &params, &market, true),
        ];
        for (i, (terms, p, m, reuses)) in steps.into_iter().enumerate() {
            let before = shared.reused_blocks();
            let got = run(terms, p, m, &mut shared);
            let want = run(terms, p, m, &mut BlockScratch::default());
            assert!(got == want, "step {i}: sharing changed the bits");
            let reused = shared.reused_blocks() - before;
            assert_eq!(reused, if reuses { blocks } else { 0 }, "step {i}");
        }
        assert_eq!(BlockScratch::default().reused_blocks(), 0);
        // The inputs that matter make the order key; the rest does not.
        let key = |edit: &dyn Fn(&mut Loan)| {
            let mut l = loan(DqState::C, Investor::Fnma, 0.065);
            l.loan_age = 40;
            edit(&mut l);
            LoanTerms::prepay_order_key(&l)
        };
        assert_eq!(key(&|_| {}), key(&|l| l.loan_age = 100));
        assert_eq!(key(&|_| {}), key(&|l| l.upb = 1.0));
        assert_ne!(key(&|_| {}), key(&|l| l.fico = 691));
        assert_eq!(key(&|_| {}), key(&|l| l.loan_age = 3));
        assert!(key(&|l| l.remaining_term = 300) < key(&|l| l.remaining_term = 200));
    }

    /// The monthly sums are never zeroed: a loan's first block writes them.
    /// Sums reused after another loan (longer, other state) must equal fresh
    /// ones bit for bit, and no block at all means zeros.
    #[test]
    fn reused_monthly_sums_start_from_zero() {
        let (config, params, market) = market(21, 300);
        let prepared = |state, rate, term: u32| {
            let mut loan = loan(state, Investor::Fnma, rate);
            loan.remaining_term = term;
            let mut terms = LoanTerms::default();
            terms.prepare(&loan, &params, config.credit.fc_hazard(loan.state_code()));
            terms
        };
        let run = |terms: &LoanTerms, monthly: &mut MonthlyLanes| {
            monthly.reset(terms.n);
            let mut net = vec![[0.0; LANES]; terms.n];
            for block in 0..market.num_blocks() {
                run_block::<true>(
                    terms,
                    &params,
                    &market,
                    block,
                    &mut BlockScratch::default(),
                    &mut BlockAccum::default(),
                    Some(BlockDetail {
                        monthly: &mut *monthly,
                        net: NetCells::Write(&mut net),
                    }),
                );
            }
            let mut rows = Vec::new();
            monthly.months(terms, &params, &mut rows);
            rows.iter()
                .flatten()
                .map(|x| x.to_bits())
                .collect::<Vec<_>>()
        };
        let first = prepared(DqState::D90, 0.082, 300);
        let second = prepared(DqState::C, 0.065, 240);
        let fresh = run(&second, &mut MonthlyLanes::default());
        let mut reused = MonthlyLanes::default();
        run(&first, &mut reused);
        assert_eq!(run(&second, &mut reused), fresh);
        assert!(fresh.iter().any(|&b| b != 0), "the loan has cash flows");

        reused.reset(second.n);
        let mut rows = Vec::new();
        reused.months(&second, &params, &mut rows);
        assert!(
            rows.iter().flatten().all(|&x| x == 0.0),
            "no block, no sums"
        );
    }

    /// The kernel's rows start on a cache line whatever the allocator (this
    /// test binary uses the system one, whose large blocks start 16 bytes
    /// past a page).
    #[test]
    fn lane_rows_start_on_a_cache_line() {
        let rows = vec![LaneRows::<3>::default(); 4096];
        assert_eq!(rows.as_ptr() as usize % 64, 0);
        assert_eq!(std::mem::size_of::<LaneRows<3>>(), 3 * 64, "no padding");
    }

    #[test]
    fn fixed_lanes_match_to_fixed() {
        let rows: Vec<[f64; LANES]> = (0..50)
            .map(|t| {
                std::array::from_fn(|l| {
                    ((t * 8 + l) as f64 * 0.7316).sin() * 10f64.powi((t % 12) as i32 - 7)
                })
            })
            .collect();
        let mut hi = vec![[0i64; LANES]; rows.len()];
        let mut lo = vec![[0i64; LANES]; rows.len()];
        assert!(add_fixed_lanes(&rows, &mut hi, &mut lo));
        assert!(add_fixed_lanes(&rows, &mut hi, &mut lo));
        for t in 0..rows.len() {
            for l in 0..LANES {
                let got = ((hi[t][l] as i128) << 32) + lo[t][l] as i128;
                assert_eq!(got, 2 * msr_core::fixed::to_fixed(rows[t][l]));
            }
        }
        let mut big = rows.clone();
        big[3][5] = 4e4;
        assert!(!add_fixed_lanes(&big, &mut hi, &mut lo));
    }
}
