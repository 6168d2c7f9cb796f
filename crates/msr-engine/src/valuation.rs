//! Loan-level valuation over loans × paths (MODEL.md §F): per-loan marks and
//! order-independent portfolio aggregates.
//!
//! Loans are valued in parallel with rayon; each worker owns its scratch
//! buffers and a [`PortfolioAccum`] of exact fixed-point sums
//! ([`msr_core::ExactSum`]), so totals are bit-identical for any thread count,
//! loan order or split into shards. Per-loan numbers depend only on the loan:
//! its paths are always processed in path order.
//!
//! A worker values [`GROUP`] loans at a time (one: measured best) block by
//! block, running the kernel ([`msr_model::run_block`]) for each loan and
//! block. With
//! [`Detail::Monthly`] the kernel also keeps each loan's monthly sums per
//! lane ([`msr_model::MonthlyLanes`], reduced once per loan-month). With
//! [`Detail::Full`] it adds, besides, the
//! block's net cash flows, in its month loop, straight into the worker's
//! `CF[p,t]` sums in exact fixed point ([`msr_model::NetCells::AddFixed`],
//! as [`msr_model::add_fixed_lanes`] would: the same integers as
//! [`msr_core::fixed::to_fixed`], as two `i64` halves, eight cells per SIMD
//! instruction; flushed into the `i128` matrix of [`PortfolioAccum`] when the
//! worker hands its accumulator over). A loan found not finite afterwards is
//! re-run and its cells subtracted again (wrapping integer arithmetic, so
//! exactly); cells too large for the split are re-run and added exactly.
//! docs/PERFORMANCE.md has the measurements.
//!
//! The guard: a loan whose value, a component PV or its standard error is not
//! finite, or any amount of which the totals would add (its value, components,
//! UPB, a path value, a monthly field, a cell of `CF`, as collected) is beyond
//! [`msr_core::fixed::MAX_TERM`] (2^63 ≈ 9.2e18, where the exact sums could no
//! longer hold a book of them), is left out of every total and listed in
//! [`PortfolioAccum::non_finite`] with its inputs.

use msr_core::fixed::{add_raw, from_fixed, to_fixed, MAX_TERM, OVERFLOWED};
use msr_core::loan::{Loan, NUM_INVESTORS, NUM_STATES};
use msr_core::schedule::RatePowers;
use msr_core::{Config, ExactSum};
use msr_model::fastmath::{
    add_fitting_monthly_fixed, monthly_fixed_fits, split_fixed, MonthlyFixed,
    FIXED_SPLIT_LIMIT_UNSCALED, MONTHLY_FIXED_LIMIT, MONTHLY_VECTORS,
};
use msr_model::{
    run_block_at, run_block_net_at, run_block_tangent_at, BlockAccum, BlockDetail, BlockScratch,
    LoanTerms, Market, MarketTangent, ModelParams, MonthlyLanes, NetCells, RateFactors,
    TangentRows, TangentScratch, LANES, MAX_DIRECTIONS, NUM_COMPONENTS, NUM_MONTHLY,
};
use rayon::prelude::*;

use crate::lifetime::Lifetime;

/// Everything a valuation needs besides the loans: resolved once per run (or
/// per scenario), shared read-only.
#[derive(Debug)]
pub struct Context<'a> {
    /// Model constants.
    pub params: &'a ModelParams,
    /// Market arrays for this scenario and OAS.
    pub market: &'a Market,
    /// The configuration (for per-loan lookups such as the foreclosure timeline).
    pub config: &'a Config,
    /// The independent units of a standard error over paths.
    pub units: SeUnits,
    /// With tangents of the market ([`MarketTangent`], built for a market of
    /// this shape), each loan's path values are also differentiated along
    /// its directions in the same pass ([`PortfolioAccum::path_tangents`]):
    /// `msr risk`'s key-rate durations without bumps.
    pub tangent: Option<&'a MarketTangent>,
}

/// What a standard error over paths treats as independent units (MODEL.md
/// §J; docs/qmc.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeUnits {
    /// Every path.
    Paths,
    /// Antithetic pairs `(2j, 2j+1)`; an unpaired last path is a unit of its own.
    Pairs,
    /// Independent scrambles of a Sobol sequence (randomized QMC): the paths
    /// cut into this many equal runs, each run's mean a unit.
    Scrambles(usize),
}

impl SeUnits {
    /// The units of a configuration's generated paths: its scrambles when
    /// there are two or more (`valuation.scrambles`, Sobol schemes), else
    /// pairs or paths by `valuation.antithetic`.
    pub fn of(valuation: &msr_core::config::Valuation) -> SeUnits {
        if valuation.scrambles > 1 && valuation.path_scheme != "pseudo" {
            SeUnits::Scrambles(valuation.scrambles as usize)
        } else {
            SeUnits::from(valuation.antithetic)
        }
    }

    /// The units' name in outputs: `paths`, `pairs` or `scrambles`.
    pub fn name(self) -> &'static str {
        match self {
            SeUnits::Paths => "paths",
            SeUnits::Pairs => "pairs",
            SeUnits::Scrambles(_) => "scrambles",
        }
    }
}

/// `true`: antithetic pairs; `false`: paths.
impl From<bool> for SeUnits {
    fn from(antithetic: bool) -> SeUnits {
        if antithetic {
            SeUnits::Pairs
        } else {
            SeUnits::Paths
        }
    }
}

/// What to collect beyond per-loan values. Every level gives the same
/// per-loan results and value totals, to the bit, except [`Detail::Net`],
/// which leaves the component PVs out and sums each month's net cash flow
/// in another order (its values equal the others' up to rounding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Each loan's value and path values only: no component PVs
    /// ([`LoanResult::pv`] and [`PortfolioAccum::pv`] stay zero), and each
    /// month's net cash flow formed from its coefficients by mass
    /// (`msr_model::run_block_net_at`): about a quarter less kernel time,
    /// the path values equal to the component sums' up to rounding (not
    /// their bits). The rate and assumption scenarios of `msr risk` (and,
    /// with per-loan spreads, its OAS stresses) and the stresses of `msr
    /// disclose`. The guard then cannot see a component PV beyond the
    /// exact-sum range whose loan's value is within it.
    Net,
    /// Values only (`msr value --no-cashflows`, the static value).
    Values,
    /// Values plus the monthly cash flows (`msr value`: cashflows.parquet
    /// and the expected events).
    Monthly,
    /// Values, the monthly cash flows and the `CF[p,t]` matrix (an OAS
    /// solve, the base run of risk).
    Full,
    /// Values, the monthly cash flows and each loan's lifetime figures
    /// ([`LoanResult::profile`]: the accounting outputs' loan-level ranges).
    Profile,
    /// What [`Detail::Full`] collects and each path's PV of the servicing
    /// cost ([`PortfolioAccum::path_costs`]): the base run of risk, whose
    /// cost-to-service stresses are linear in it.
    Risk,
}

impl Detail {
    /// Whether the monthly fields are collected.
    pub fn monthly(self) -> bool {
        !matches!(self, Detail::Values | Detail::Net)
    }

    /// Whether the `CF[p,t]` matrix is collected.
    pub fn cf(self) -> bool {
        matches!(self, Detail::Full | Detail::Risk)
    }

    /// Whether each path's PV of the servicing cost is collected.
    pub fn path_costs(self) -> bool {
        self == Detail::Risk
    }
}

/// One loan's valuation.
#[derive(Debug, Clone, PartialEq)]
pub struct LoanResult {
    /// Mean over paths of the path value.
    pub value: f64,
    /// Standard error of `value` (MODEL.md §J); `None` with fewer than two units.
    pub std_error: Option<f64>,
    /// Mean PV of each component (costs positive), in [`msr_model::COMPONENTS`] order.
    pub pv: [f64; NUM_COMPONENTS],
    /// The loan's lifetime figures from its own expected monthly amounts,
    /// with [`Detail::Profile`] and when the loan is in the totals; boxed so
    /// the other levels carry one pointer.
    pub profile: Option<Box<Lifetime>>,
    /// False when the guard left the loan out of the totals.
    summed: bool,
}

impl LoanResult {
    /// True if the loan passed the guard and is in the totals: its value,
    /// every component and its standard error are finite, and no amount it
    /// adds to the totals is beyond [`MAX_TERM`]. False exactly for the loans
    /// listed in [`PortfolioAccum::non_finite`] (the two cases are treated
    /// alike: a finite value too large to sum exactly is as unusable as an
    /// infinite one).
    pub fn is_finite(&self) -> bool {
        self.summed && self.all_finite()
    }

    fn all_finite(&self) -> bool {
        self.value.is_finite()
            && self.pv.iter().all(|x| x.is_finite())
            && self.std_error.is_none_or(f64::is_finite)
    }
}

/// How [`NonFinite::what`] says an amount is beyond the exact-sum range.
const BEYOND: &str = "is beyond the exact-sum range ±2^63 ≈ 9.2e18";

/// `name = x is beyond …` for an amount the guard refuses.
fn beyond(name: &str, x: f64) -> String {
    format!("{name} = {x:e} {BEYOND}")
}

/// The cashflows.parquet name of monthly field `f` (components first).
fn monthly_name(f: usize) -> &'static str {
    const REST: [&str; NUM_MONTHLY - NUM_COMPONENTS] = [
        "net",
        "pv_net",
        "upb_C",
        "upb_D30",
        "upb_D60",
        "upb_D90",
        "upb_D120",
        "upb_FC",
        "surviving_loans",
        "prepaid_loans",
        "modified_loans",
        "deed_in_lieu_loans",
        "liquidated_loans",
    ];
    match f.checked_sub(NUM_COMPONENTS) {
        None => msr_model::COMPONENTS[f].1,
        Some(r) => REST[r],
    }
}

/// True for an amount the totals cannot take: not finite, or `|x| ≥ MAX_TERM`.
#[inline]
fn unsummable(x: f64) -> bool {
    x.is_nan() || x.abs() >= MAX_TERM
}

/// Totals for one group of loans (an investor, a delinquency status).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupAccum {
    /// Records valued.
    pub records: u64,
    /// Σ UPB.
    pub upb: ExactSum,
    /// Σ value.
    pub value: ExactSum,
    /// Σ s·UPB (denominator of the multiple).
    pub fee_base: ExactSum,
}

impl GroupAccum {
    fn add(&mut self, loan: &Loan, value: f64) {
        self.records += 1;
        self.upb.add(loan.upb);
        self.value.add(value);
        self.fee_base.add(loan.servicing_fee * loan.upb);
    }

    fn merge(&mut self, o: &GroupAccum) {
        self.records += o.records;
        self.upb.merge(o.upb);
        self.value.merge(o.value);
        self.fee_base.merge(o.fee_base);
    }
}

/// A loan left out of the totals because its valuation was not finite, or
/// an amount of it was beyond the exact-sum range.
#[derive(Debug, Clone, PartialEq)]
pub struct NonFinite {
    /// The loan.
    pub loan: Loan,
    /// Which output was not finite first (`value`, `pv_<component>`,
    /// `std_error`), or which amount was beyond the exact-sum range, with its
    /// value and the rule (`upb = 1e30 is beyond the exact-sum range …`).
    pub what: String,
}

impl NonFinite {
    /// Why the loan was left out, as a phrase: `value is not finite`, or
    /// `upb = 1e30 is beyond the exact-sum range ±2^63 ≈ 9.2e18`.
    pub fn reason(&self) -> String {
        if self.what.contains(BEYOND) {
            self.what.clone()
        } else {
            format!("{} is not finite", self.what)
        }
    }
}

/// Exact, mergeable portfolio aggregates.
#[derive(Debug, Clone, PartialEq)]
pub struct PortfolioAccum {
    /// Number of paths.
    pub num_paths: usize,
    /// Months `T` of the monthly arrays.
    pub months: usize,
    /// All loans valued (finite).
    pub total: GroupAccum,
    /// Σ loan_count of valued records.
    pub loan_count: u64,
    /// Σ component PVs.
    pub pv: [ExactSum; NUM_COMPONENTS],
    /// By investor (index order).
    pub by_investor: [GroupAccum; NUM_INVESTORS],
    /// By starting delinquency status (index order).
    pub by_status: [GroupAccum; NUM_STATES],
    /// Σ over loans of the path value `V_p`, per path.
    pub path_values: Vec<ExactSum>,
    /// Σ over loans of the path's PV of the servicing cost, per path. Empty
    /// without [`Detail::Risk`].
    pub path_costs: Vec<ExactSum>,
    /// Σ over loans of the derivative of the path value along each direction
    /// of [`Context::tangent`], direction-major `[k·P + p]`. Empty without
    /// tangents.
    pub path_tangents: Vec<ExactSum>,
    /// Σ over loans and paths of the monthly fields, month-major `[t][field]`
    /// (divide by the path count for expectations). Empty with
    /// [`Detail::Values`].
    pub monthly: Vec<[ExactSum; NUM_MONTHLY]>,
    /// Portfolio net cash flow `CF[p,t]`, month-major `[t·P + p]`, as raw
    /// fixed-point sums. Empty without [`Detail::Full`].
    pub cf: Vec<i128>,
    /// Loans left out because their valuation was not finite (or an amount
    /// was beyond the exact-sum range).
    pub non_finite: Vec<NonFinite>,
}

impl PortfolioAccum {
    /// An empty accumulator.
    pub fn new(num_paths: usize, months: usize, detail: Detail) -> Self {
        PortfolioAccum {
            num_paths,
            months,
            total: GroupAccum::default(),
            loan_count: 0,
            pv: [ExactSum::ZERO; NUM_COMPONENTS],
            by_investor: [GroupAccum::default(); NUM_INVESTORS],
            by_status: [GroupAccum::default(); NUM_STATES],
            path_values: vec![ExactSum::ZERO; num_paths],
            path_costs: if detail.path_costs() {
                vec![ExactSum::ZERO; num_paths]
            } else {
                Vec::new()
            },
            path_tangents: Vec::new(),
            monthly: if detail.monthly() {
                vec![[ExactSum::ZERO; NUM_MONTHLY]; months]
            } else {
                Vec::new()
            },
            cf: if detail.cf() {
                vec![0; months * num_paths]
            } else {
                Vec::new()
            },
            non_finite: Vec::new(),
        }
    }

    /// Merge another accumulator (exact: any merge order gives the same bits).
    pub fn merge(&mut self, o: &PortfolioAccum) {
        assert_eq!(self.num_paths, o.num_paths, "merging different path counts");
        self.total.merge(&o.total);
        self.loan_count += o.loan_count;
        for (a, b) in self.pv.iter_mut().zip(&o.pv) {
            a.merge(*b);
        }
        for (a, b) in self.by_investor.iter_mut().zip(&o.by_investor) {
            a.merge(b);
        }
        for (a, b) in self.by_status.iter_mut().zip(&o.by_status) {
            a.merge(b);
        }
        for (a, b) in self.path_values.iter_mut().zip(&o.path_values) {
            a.merge(*b);
        }
        if self.path_costs.len() < o.path_costs.len() {
            self.path_costs.resize(o.path_costs.len(), ExactSum::ZERO);
        }
        for (a, b) in self.path_costs.iter_mut().zip(&o.path_costs) {
            a.merge(*b);
        }
        if self.path_tangents.len() < o.path_tangents.len() {
            self.path_tangents
                .resize(o.path_tangents.len(), ExactSum::ZERO);
        }
        for (a, b) in self.path_tangents.iter_mut().zip(&o.path_tangents) {
            a.merge(*b);
        }
        if self.monthly.len() < o.monthly.len() {
            self.monthly
                .resize(o.monthly.len(), [ExactSum::ZERO; NUM_MONTHLY]);
        }
        for (a, b) in self.monthly.iter_mut().zip(&o.monthly) {
            for (x, y) in a.iter_mut().zip(b) {
                x.merge(*y);
            }
        }
        if self.cf.len() < o.cf.len() {
            self.cf.resize(o.cf.len(), 0);
        }
        for (a, b) in self.cf.iter_mut().zip(&o.cf) {
            *a = add_raw(*a, *b);
        }
        self.non_finite.extend(o.non_finite.iter().cloned());
        self.non_finite
            .sort_by(|a, b| a.loan.loan_id.cmp(&b.loan.loan_id));
    }

    /// Portfolio value per path `Σ_loans V_p`.
    pub fn path_value(&self, p: usize) -> f64 {
        self.path_values[p].value()
    }

    /// `CF[p,t]` for path `p` and month `t` (1-based); NaN if that sum
    /// overflowed.
    pub fn cf_at(&self, p: usize, t: usize) -> f64 {
        from_fixed(self.cf[(t - 1) * self.num_paths + p])
    }

    /// True if some sum left the exact range (it then reads as NaN, never as
    /// a wrapped number). The guard keeps every term below
    /// [`MAX_TERM`], so this takes more than 65,536 loans at that size.
    pub fn overflowed(&self) -> bool {
        let groups = std::iter::once(&self.total)
            .chain(&self.by_investor)
            .chain(&self.by_status);
        groups
            .flat_map(|g| [g.upb, g.value, g.fee_base])
            .chain(self.pv)
            .chain(self.path_values.iter().copied())
            .chain(self.path_costs.iter().copied())
            .chain(self.path_tangents.iter().copied())
            .chain(self.monthly.iter().flatten().copied())
            .any(ExactSum::overflowed)
            || self.cf.contains(&OVERFLOWED)
    }
}

/// Loans a worker may add to its split fixed-point sums before flushing them
/// into `PortfolioAccum::cf`: each `hi` term is below 2^31 in magnitude and
/// each `lo` term below 2^32, so 2^12 of them cannot overflow an `i64`.
const FLUSH_EVERY: usize = 4096;

/// Loans valued together, block by block. Grouping would share a block's
/// market factors and `CF` sums across the group's loans, but each loan in
/// flight keeps its monthly lane sums in L2, and with more than one they
/// crowd out the rest: one at a time was fastest (docs/PERFORMANCE.md,
/// "Experiments that did not pay").
const GROUP: usize = 1;

/// Loans of one note rate, in one worker's chunk, from which the rate's
/// prepayment factors are resolved once ([`RateFactors`]) rather than in
/// each loan's kernel: resolving costs about as much as the part of one
/// loan's prepayment pass it saves, so two loans already gain.
const RATE_RUN_MIN: usize = 2;

/// A worker's running `CF[p,t]` sums, block-major like the kernel's output
/// (`[block·months + t][lane]`), each cell held as two wrapping `i64` halves
/// (`value = hi·2^32 + lo`, see [`msr_model::add_fixed_lanes`]) so adding a
/// block is a few vector instructions per eight cells; flushed into the exact
/// `i128` matrix of [`PortfolioAccum`] when the worker hands its accumulator
/// over.
struct CfSums {
    months: usize,
    hi: Vec<[i64; LANES]>,
    lo: Vec<[i64; LANES]>,
    /// Exact sums of cells too large for the split (month-major `t·P + p`);
    /// empty until needed.
    big: Vec<i128>,
    /// The loans' monthly fields, month by month, in the same split form
    /// ([`add_monthly_fixed`]); flushed with the `CF` sums.
    monthly_hi: Vec<MonthlyFixed>,
    monthly_lo: Vec<MonthlyFixed>,
    /// Loans added since the last flush, and the longest of them.
    loans: usize,
    max_n: usize,
}

impl CfSums {
    /// Sums for `detail`: the `CF` cells of `blocks` blocks with
    /// [`Detail::Full`], the monthly fields unless [`Detail::Values`].
    fn new(blocks: usize, months: usize, detail: Detail) -> CfSums {
        let cells = if detail.cf() { blocks * months } else { 0 };
        let monthly = if detail.monthly() { months } else { 0 };
        CfSums {
            months,
            hi: vec![[0; LANES]; cells],
            lo: vec![[0; LANES]; cells],
            big: Vec::new(),
            monthly_hi: vec![[[0; LANES]; MONTHLY_VECTORS]; monthly],
            monthly_lo: vec![[[0; LANES]; MONTHLY_VECTORS]; monthly],
            loans: 0,
            max_n: 0,
        }
    }

    /// Undo the kernel's fixed-point add ([`NetCells::AddFixed`]) of the same
    /// `net` exactly (wrapping).
    #[allow(clippy::needless_range_loop)]
    fn sub_block(&mut self, b: usize, net: &[[f64; LANES]]) {
        let start = b * self.months;
        for (t, x) in net.iter().enumerate() {
            for l in 0..LANES {
                let (h, o) = split_fixed(x[l]);
                let (hi, lo) = (&mut self.hi[start + t][l], &mut self.lo[start + t][l]);
                *hi = hi.wrapping_sub(h);
                *lo = lo.wrapping_sub(o);
            }
        }
    }

    /// For a block whose fixed-point add was flagged: move each cell too large for
    /// the split from the split sums to the exact `i128` sums.
    #[allow(clippy::needless_range_loop)]
    fn fix_block(&mut self, market: &Market, b: usize, net: &[[f64; LANES]]) {
        let num_paths = market.num_paths();
        if self.big.is_empty() {
            self.big = vec![0; self.months * num_paths];
        }
        let active = market.active_lanes(b);
        let start = b * self.months;
        for (t, x) in net.iter().enumerate() {
            for l in 0..LANES {
                if x[l].abs() < FIXED_SPLIT_LIMIT_UNSCALED {
                    continue;
                }
                let (h, o) = split_fixed(x[l]);
                let (hi, lo) = (&mut self.hi[start + t][l], &mut self.lo[start + t][l]);
                *hi = hi.wrapping_sub(h);
                *lo = lo.wrapping_sub(o);
                if l < active {
                    let c = &mut self.big[t * num_paths + b * LANES + l];
                    *c = add_raw(*c, to_fixed(x[l]));
                }
            }
        }
    }

    /// Move the sums into `cf` (month-major `t·P + p`; empty without
    /// [`Detail::Full`]) and `monthly`, and zero them.
    fn flush(&mut self, market: &Market, cf: &mut [i128], monthly: &mut [[ExactSum; NUM_MONTHLY]]) {
        let split = self.monthly_hi.iter_mut().zip(&mut self.monthly_lo);
        for ((hi, lo), sums) in split.zip(monthly.iter_mut()).take(self.max_n) {
            for (f, sum) in sums.iter_mut().enumerate() {
                let (h, l) = (&mut hi[f / LANES][f % LANES], &mut lo[f / LANES][f % LANES]);
                sum.merge(ExactSum::from_raw(((*h as i128) << 32) + *l as i128));
                (*h, *l) = (0, 0);
            }
        }
        let num_paths = market.num_paths();
        let blocks = if self.hi.is_empty() {
            0
        } else {
            market.num_blocks()
        };
        for b in 0..blocks {
            let active = market.active_lanes(b);
            let start = b * self.months;
            for t in 0..self.max_n {
                let (hi, lo) = (&mut self.hi[start + t], &mut self.lo[start + t]);
                for l in 0..active {
                    let c = &mut cf[t * num_paths + b * LANES + l];
                    *c = add_raw(*c, ((hi[l] as i128) << 32) + lo[l] as i128);
                }
                *hi = [0; LANES];
                *lo = [0; LANES];
            }
        }
        for (c, x) in cf.iter_mut().zip(&mut self.big) {
            *c = add_raw(*c, std::mem::take(x));
        }
        self.loans = 0;
        self.max_n = 0;
    }
}

/// One loan of a group in flight: its terms and per-path results so far.
#[derive(Default)]
struct Slot {
    terms: LoanTerms,
    monthly: MonthlyLanes,
    path_value: Vec<f64>,
    /// Each path's PV of the servicing cost ([`Detail::Risk`] only).
    path_cost: Vec<f64>,
    /// Each path's value's derivative along each tangent direction,
    /// `[k·P + p]` (with [`Context::tangent`] only).
    path_tangent: Vec<f64>,
    pv: [f64; NUM_COMPONENTS],
    /// Blocks whose CF cells need [`CfSums::fix_block`].
    big_blocks: Vec<usize>,
}

/// Per-worker scratch: reused buffers, no allocation per loan.
struct Worker {
    slots: Vec<Slot>,
    scratch: BlockScratch,
    block: BlockAccum,
    /// One block's net cash flows `[t][lane]`.
    net: Vec<[f64; LANES]>,
    /// The loan being finished's monthly fields, month by month (screened,
    /// then summed).
    rows: Vec<[f64; NUM_MONTHLY]>,
    cf: CfSums,
    accum: PortfolioAccum,
    /// The current note rate's resolved prepayment factors, and the months
    /// to resolve for (`None`: the kernel uses the market's factors).
    rates: RateFactors,
    rate_months: Option<usize>,
    /// The amortisation powers of the last note rate prepared.
    powers: RatePowers,
    /// Whether the kernel sums the component PVs (all but [`Detail::Net`]).
    components: bool,
    /// One block's tangents, by direction and lane.
    tangent_rows: TangentRows,
    tangent_scratch: TangentScratch,
}

/// Where [`Worker::run`] puts a block's net cash flows (with its sums).
#[derive(Debug, Clone, Copy)]
enum Net {
    /// Not kept: the monthly fields hold them ([`Detail::Monthly`]).
    Skip,
    /// Into `Worker::net`, for a second look (the guard's re-runs).
    Write,
    /// Straight into the `CF` sums ([`Detail::Full`]).
    Add,
}

impl Worker {
    fn new(ctx: &Context<'_>, detail: Detail) -> Worker {
        let market = ctx.market;
        let months = market.months();
        let paths = market.num_paths();
        Worker {
            slots: (0..GROUP).map(|_| Slot::default()).collect(),
            scratch: BlockScratch::sharing(),
            block: BlockAccum::default(),
            net: vec![[0.0; LANES]; months],
            rows: Vec::with_capacity(months),
            cf: CfSums::new(market.num_blocks(), months, detail),
            accum: PortfolioAccum::new(paths, months, detail),
            rates: RateFactors::default(),
            rate_months: None,
            powers: RatePowers::default(),
            components: detail != Detail::Net,
            tangent_rows: [[0.0; LANES]; MAX_DIRECTIONS],
            tangent_scratch: TangentScratch::default(),
        }
    }

    /// Value the loans `idx` of `loans`, in that order; results in the same
    /// order. `idx` comes in [`LoanTerms::prepay_order_key`] order, so the
    /// loans of a note rate follow one another: each rate held by at least
    /// [`RATE_RUN_MIN`] of them has its prepayment factors resolved once,
    /// and the scratch's shared SMM columns serve the loans of the same
    /// rate and FICO (their months past the prepayment ramp).
    fn value_chunk(
        &mut self,
        ctx: &Context<'_>,
        loans: &[Loan],
        idx: &[usize],
        detail: Detail,
    ) -> Vec<LoanResult> {
        let rate = |i: usize| loans[i].note_rate.to_bits();
        let mut results = Vec::with_capacity(idx.len());
        for run in idx.chunk_by(|&a, &b| rate(a) == rate(b)) {
            self.rate_months = (run.len() >= RATE_RUN_MIN).then(|| {
                let longest = run.iter().map(|&i| loans[i].remaining_term as usize).max();
                longest.unwrap_or(0).min(ctx.market.months())
            });
            for group in run.chunks(GROUP) {
                let group: Vec<&Loan> = group.iter().map(|&i| &loans[i]).collect();
                results.extend(self.value_group(ctx, &group, detail));
            }
        }
        results
    }

    /// Hand over the accumulated totals (with the split sums flushed),
    /// leaving an empty accumulator.
    fn take_accum(&mut self, ctx: &Context<'_>, detail: Detail) -> PortfolioAccum {
        if detail.monthly() {
            self.cf
                .flush(ctx.market, &mut self.accum.cf, &mut self.accum.monthly);
        }
        let empty = PortfolioAccum::new(ctx.market.num_paths(), ctx.market.months(), detail);
        std::mem::replace(&mut self.accum, empty)
    }

    /// Run block `b` of the loan in `slot`. With `sums` its monthly sums
    /// go to the slot and its net cash flows where `net` says. Returns
    /// `false` if, added, a cell was too large for the split (it was added
    /// out of range: [`CfSums::fix_block`] fixes it).
    fn run(&mut self, ctx: &Context<'_>, slot: usize, b: usize, sums: bool, net: Net) -> bool {
        let Slot { terms, monthly, .. } = &mut self.slots[slot];
        let blocks = ctx.market.num_blocks();
        let rates =
            (self.rate_months.is_some() && self.rates.serves(terms, blocks)).then_some(&self.rates);
        let level = msr_model::simd::level();
        if !sums && !self.components {
            run_block_net_at(
                level,
                terms,
                ctx.params,
                ctx.market,
                rates,
                b,
                &mut self.scratch,
                &mut self.block,
            );
            return true;
        }
        if !sums {
            return run_block_at::<false>(
                level,
                terms,
                ctx.params,
                ctx.market,
                rates,
                b,
                &mut self.scratch,
                &mut self.block,
                None,
            );
        }
        let net = match net {
            Net::Add => {
                let cells = b * self.cf.months..b * self.cf.months + terms.n;
                NetCells::AddFixed {
                    hi: &mut self.cf.hi[cells.clone()],
                    lo: &mut self.cf.lo[cells],
                }
            }
            Net::Write => NetCells::Write(&mut self.net[..terms.n]),
            Net::Skip => NetCells::Skip,
        };
        run_block_at::<true>(
            level,
            terms,
            ctx.params,
            ctx.market,
            rates,
            b,
            &mut self.scratch,
            &mut self.block,
            Some(BlockDetail { monthly, net }),
        )
    }

    /// Value up to [`GROUP`] loans, block by block; results in input order.
    fn value_group(
        &mut self,
        ctx: &Context<'_>,
        loans: &[&Loan],
        detail: Detail,
    ) -> Vec<LoanResult> {
        let market = ctx.market;
        let num_paths = market.num_paths();
        let (monthly, cf) = (detail.monthly(), detail.cf());
        if monthly && self.cf.loans + loans.len() > FLUSH_EVERY {
            self.cf
                .flush(market, &mut self.accum.cf, &mut self.accum.monthly);
        }
        for (slot, loan) in self.slots.iter_mut().zip(loans) {
            let h = ctx.config.credit.fc_hazard(loan.state_code());
            slot.terms
                .prepare_with(loan, ctx.params, h, &mut self.powers);
            // The net-only pass and the tangent sweeps read the net
            // coefficients.
            if !self.components || ctx.tangent.is_some() {
                slot.terms.prepare_net(ctx.params);
            }
            if monthly {
                slot.monthly.reset(slot.terms.n);
            }
            slot.path_value.clear();
            slot.path_value.resize(num_paths, 0.0);
            slot.path_cost.clear();
            if detail.path_costs() {
                slot.path_cost.resize(num_paths, 0.0);
            }
            slot.path_tangent.clear();
            if let Some(t) = ctx.tangent {
                slot.path_tangent.resize(t.directions() * num_paths, 0.0);
            }
            slot.pv = [0.0; NUM_COMPONENTS];
            slot.big_blocks.clear();
            if let Some(n) = self.rate_months {
                if !self.rates.serves(&slot.terms, market.num_blocks()) {
                    self.rates.resolve(&slot.terms, market, n);
                }
            }
        }
        for b in 0..market.num_blocks() {
            let active = market.active_lanes(b);
            for k in 0..loans.len() {
                // With the CF matrix the net cash flows are added to its sums
                // in the kernel, while the block's sums are in cache; taken
                // back out below if the loan turns out not to be finite.
                let net = if cf { Net::Add } else { Net::Skip };
                let fits = self.run(ctx, k, b, monthly, net);
                let slot = &mut self.slots[k];
                slot.path_value[b * LANES..b * LANES + active]
                    .copy_from_slice(&self.block.pv_net[..active]);
                if detail.path_costs() {
                    slot.path_cost[b * LANES..b * LANES + active]
                        .copy_from_slice(&self.block.pv_cost[..active]);
                }
                for (acc, lanes) in slot.pv.iter_mut().zip(&self.block.pv) {
                    for x in lanes {
                        *acc += x;
                    }
                }
                if !fits {
                    slot.big_blocks.push(b);
                }
                if let Some(t) = ctx.tangent {
                    // The same loan and block while both are in cache.
                    run_block_tangent_at(
                        msr_model::simd::level(),
                        &slot.terms,
                        ctx.params,
                        market,
                        t,
                        b,
                        &mut self.tangent_scratch,
                        &mut self.tangent_rows,
                    );
                    for (j, row) in self.tangent_rows[..t.directions()].iter().enumerate() {
                        let at = j * num_paths + b * LANES;
                        slot.path_tangent[at..at + active].copy_from_slice(&row[..active]);
                    }
                }
            }
        }
        (0..loans.len())
            .map(|k| self.finish(ctx, k, loans[k], detail))
            .collect()
    }

    /// One loan's result, and its contribution to the totals if it passes
    /// the guard.
    fn finish(&mut self, ctx: &Context<'_>, k: usize, loan: &Loan, detail: Detail) -> LoanResult {
        let market = ctx.market;
        let monthly = detail.monthly();
        let np = market.num_paths() as f64;
        let slot = &self.slots[k];
        let value = slot.path_value.iter().sum::<f64>() / np;
        let mut result = LoanResult {
            value,
            std_error: std_error(&slot.path_value, ctx.units),
            pv: slot.pv.map(|x| x / np),
            profile: None,
            summed: true,
        };
        let n = slot.terms.n;
        // Whether the monthly fields all fit the split fixed-point sums: then
        // they are within the exact sums' range too, and the guard need not
        // look at them again.
        let mut fits = false;
        if monthly {
            // Read the monthly fields once: screened below, then summed.
            slot.monthly.months(&slot.terms, ctx.params, &mut self.rows);
            fits = monthly_fixed_fits(&self.rows);
        }
        if let Some(what) = self.screen(ctx, k, loan, &result, monthly, fits) {
            result.summed = false;
            self.accum.non_finite.push(NonFinite {
                loan: loan.clone(),
                what,
            });
            if detail.cf() {
                // Re-run the loan (same inputs, same bits) and take its cash
                // flows back out of the CF sums.
                for b in 0..market.num_blocks() {
                    self.run(ctx, k, b, true, Net::Write);
                    self.cf.sub_block(b, &self.net[..n]);
                }
            }
            return result;
        }
        let acc = &mut self.accum;
        acc.total.add(loan, value);
        acc.loan_count += loan.loan_count as u64;
        acc.by_investor[loan.investor.index()].add(loan, value);
        acc.by_status[loan.dq_status.index()].add(loan, value);
        for (a, x) in acc.pv.iter_mut().zip(result.pv) {
            a.add(x);
        }
        let slot = &self.slots[k];
        for (a, &v) in acc.path_values.iter_mut().zip(&slot.path_value) {
            a.add(v);
        }
        for (a, &v) in acc.path_costs.iter_mut().zip(&slot.path_cost) {
            a.add(v);
        }
        if acc.path_tangents.len() < slot.path_tangent.len() {
            acc.path_tangents
                .resize(slot.path_tangent.len(), ExactSum::ZERO);
        }
        for (a, &v) in acc.path_tangents.iter_mut().zip(&slot.path_tangent) {
            a.add(v);
        }
        if monthly {
            let (hi, lo) = (&mut self.cf.monthly_hi, &mut self.cf.monthly_lo);
            if fits {
                add_fitting_monthly_fixed(&self.rows, hi, lo);
            } else {
                // A field beyond the split's range: add the loan's exactly.
                for (sums, row) in acc.monthly.iter_mut().zip(&self.rows) {
                    for (a, &x) in sums.iter_mut().zip(row) {
                        a.add(x);
                    }
                }
            }
            // With the CF matrix only. The re-runs add to the slot's monthly
            // sums again; those were consumed above and are reset before the
            // slot's next loan.
            for i in 0..self.slots[k].big_blocks.len() {
                let b = self.slots[k].big_blocks[i];
                self.run(ctx, k, b, true, Net::Write);
                self.cf.fix_block(market, b, &self.net[..n]);
            }
            self.cf.loans += 1;
            self.cf.max_n = self.cf.max_n.max(n);
            if detail == Detail::Profile {
                let expected: Vec<[f64; NUM_MONTHLY]> =
                    self.rows.iter().map(|row| row.map(|x| x / np)).collect();
                result.profile = Some(Box::new(Lifetime::of(
                    &expected,
                    loan.upb,
                    f64::from(loan.loan_count),
                    value,
                )));
            }
        }
        result
    }

    /// The guard: `None` if the loan may be summed, else what stops it —
    /// the first output that is not finite, or the first amount the totals
    /// would add that is beyond [`MAX_TERM`]. With `monthly`, `self.rows`
    /// holds the loan's monthly fields, and `fits` says that they all fit
    /// the split sums (below [`MONTHLY_FIXED_LIMIT`], so below
    /// [`MAX_TERM`]); with the CF matrix, blocks whose `CF` cells were too
    /// large for the fast split are re-run to look at those cells.
    fn screen(
        &mut self,
        ctx: &Context<'_>,
        k: usize,
        loan: &Loan,
        result: &LoanResult,
        monthly: bool,
        fits: bool,
    ) -> Option<String> {
        let name = |c: usize| format!("pv_{}", msr_model::COMPONENTS[c].1);
        if !result.value.is_finite() {
            return Some("value".into());
        }
        if let Some(c) = result.pv.iter().position(|x| !x.is_finite()) {
            return Some(name(c));
        }
        if !result.std_error.is_none_or(f64::is_finite) {
            return Some("std_error".into());
        }
        if unsummable(result.value) {
            return Some(beyond("value", result.value));
        }
        if let Some(c) = result.pv.iter().position(|&x| unsummable(x)) {
            return Some(beyond(&name(c), result.pv[c]));
        }
        // UPB bounds the fee base `s·UPB` too (s < 0.25).
        if unsummable(loan.upb) {
            return Some(beyond("upb", loan.upb));
        }
        let slot = &self.slots[k];
        if let Some(p) = slot.path_value.iter().position(|&v| unsummable(v)) {
            return Some(beyond(
                &format!("the value on path {p}"),
                slot.path_value[p],
            ));
        }
        // Empty unless collected (Detail::Risk).
        if let Some(p) = slot.path_cost.iter().position(|&v| unsummable(v)) {
            return Some(beyond(
                &format!("the cost PV on path {p}"),
                slot.path_cost[p],
            ));
        }
        // Empty without tangents.
        if let Some(i) = slot.path_tangent.iter().position(|v| !v.is_finite()) {
            return Some(format!(
                "the rate derivative on path {} (direction {})",
                i % ctx.market.num_paths(),
                i / ctx.market.num_paths()
            ));
        }
        if let Some(i) = slot.path_tangent.iter().position(|&v| unsummable(v)) {
            return Some(beyond(
                &format!(
                    "the rate derivative on path {} (direction {})",
                    i % ctx.market.num_paths(),
                    i / ctx.market.num_paths()
                ),
                slot.path_tangent[i],
            ));
        }
        if !monthly {
            return None;
        }
        // Rows that fit the split sums are in range; otherwise one pass
        // without early exits (it vectorises), then the search for the
        // message only when something is out of range.
        const { assert!(MONTHLY_FIXED_LIMIT < MAX_TERM) };
        let all_summable = fits
            || self
                .rows
                .as_flattened()
                .iter()
                .fold(true, |ok, &x| ok & (x.abs() < MAX_TERM));
        if !all_summable {
            for (t, row) in self.rows.iter().enumerate() {
                if let Some(f) = row.iter().position(|&x| unsummable(x)) {
                    return Some(beyond(
                        &format!("month {}'s {} (summed over paths)", t + 1, monthly_name(f)),
                        row[f],
                    ));
                }
            }
        }
        // Only blocks flagged by the fast split (with the CF matrix) can hold
        // a cell this large.
        let n = slot.terms.n;
        for i in 0..self.slots[k].big_blocks.len() {
            let b = self.slots[k].big_blocks[i];
            self.run(ctx, k, b, true, Net::Write);
            let active = ctx.market.active_lanes(b);
            for (t, cells) in self.net[..n].iter().enumerate() {
                if let Some(l) = cells[..active].iter().position(|&x| unsummable(x)) {
                    return Some(beyond(
                        &format!(
                            "the net cash flow of path {}, month {}",
                            b * LANES + l,
                            t + 1
                        ),
                        cells[l],
                    ));
                }
            }
        }
        None
    }
}

/// Standard error of the mean over paths (MODEL.md §J): the sample standard
/// deviation of the units over √units, where with antithetic pairs a unit is a
/// pair mean and an unpaired last path is a unit of its own, and with
/// scrambles a unit is one scramble's mean ([`SeUnits`]; `None` when the
/// scrambles do not divide the paths). `units` may be a `bool`: antithetic
/// or not.
pub fn std_error(path_values: &[f64], units: impl Into<SeUnits>) -> Option<f64> {
    let mean_of = |c: &[f64]| c.iter().sum::<f64>() / c.len() as f64;
    let units: Vec<f64> = match units.into() {
        SeUnits::Paths => path_values.to_vec(),
        SeUnits::Pairs => path_values.chunks(2).map(mean_of).collect(),
        SeUnits::Scrambles(r) => {
            if r == 0 || !path_values.len().is_multiple_of(r) {
                return None;
            }
            path_values
                .chunks(path_values.len() / r)
                .map(mean_of)
                .collect()
        }
    };
    let k = units.len();
    if k < 2 {
        return None;
    }
    let mean = units.iter().sum::<f64>() / k as f64;
    let ss: f64 = units.iter().map(|u| (u - mean) * (u - mean)).sum();
    Some((ss / (k as f64 - 1.0)).sqrt() / (k as f64).sqrt())
}

/// Value `loans` in parallel. Returns per-loan results in input order and the
/// portfolio aggregates (non-finite loans reported there, not summed).
///
/// The loans are taken in [`LoanTerms::prepay_order_key`] order, so the more
/// loans one call gets, the more of them share their prepayment work with
/// another (a million-loan book: 97 in 100 loan-path-months; see
/// docs/PERFORMANCE.md). [`value_loans_with`] reports progress.
pub fn value_loans(
    ctx: &Context<'_>,
    loans: &[Loan],
    detail: Detail,
) -> (Vec<LoanResult>, PortfolioAccum) {
    value_loans_with(ctx, loans, detail, &|_| {})
}

/// [`value_loans`], calling `progress` with the number of loans each time a
/// worker finishes a chunk of them (a few thousand), from the worker's
/// thread, and with 0 when it starts one: a caller that wants to stop the
/// run (msr-jobs' cancellation) unwinds from that call before the chunk's
/// work, so a stop takes one chunk per worker, not every chunk left.
pub fn value_loans_with(
    ctx: &Context<'_>,
    loans: &[Loan],
    detail: Detail,
    progress: &(dyn Fn(usize) + Sync),
) -> (Vec<LoanResult>, PortfolioAccum) {
    let threads = rayon::current_num_threads().max(1);
    let chunk = (loans.len() / (threads * 8)).clamp(16, 4096);
    // Loans that can share prepayment work next to one another (the totals
    // are exact sums and the loans left out are listed by id, so the order
    // changes no output).
    let mut order: Vec<usize> = (0..loans.len()).collect();
    order.sort_by_cached_key(|&i| LoanTerms::prepay_order_key(&loans[i]));
    let parts: Vec<(Vec<LoanResult>, PortfolioAccum)> = order
        .par_chunks(chunk)
        .map_init(
            || None::<Worker>,
            |slot, idx| {
                progress(0);
                let worker = slot.get_or_insert_with(|| Worker::new(ctx, detail));
                let results = worker.value_chunk(ctx, loans, idx, detail);
                progress(idx.len());
                (results, worker.take_accum(ctx, detail))
            },
        )
        .collect();
    let mut accum = PortfolioAccum::new(ctx.market.num_paths(), ctx.market.months(), detail);
    let mut results: Vec<Option<LoanResult>> = vec![None; loans.len()];
    for ((r, a), idx) in parts.into_iter().zip(order.chunks(chunk)) {
        for (&i, r) in idx.iter().zip(r) {
            results[i] = Some(r);
        }
        accum.merge(&a);
    }
    let results = results
        .into_iter()
        .map(|r| r.expect("every loan valued"))
        .collect();
    (results, accum)
}

#[cfg(test)]
mod tests {
    use super::*;
    use msr_model::MonthlyField;

    /// The guard's names for monthly fields are cashflows.parquet's.
    #[test]
    fn monthly_names_follow_the_field_order() {
        assert_eq!(monthly_name(0), "fee");
        assert_eq!(monthly_name(NUM_COMPONENTS - 1), "liq_loss");
        assert_eq!(monthly_name(MonthlyField::Net as usize), "net");
        assert_eq!(monthly_name(MonthlyField::UpbC as usize), "upb_C");
        assert_eq!(monthly_name(MonthlyField::UpbFc as usize), "upb_FC");
        assert_eq!(
            monthly_name(MonthlyField::Surviving as usize),
            "surviving_loans"
        );
        assert_eq!(
            monthly_name(MonthlyField::Liquidated as usize),
            "liquidated_loans"
        );
    }

    /// The standard error's units: paths, pair means, or scramble means.
    #[test]
    fn std_error_over_paths_pairs_and_scrambles() {
        let v = [1.0, 3.0, 2.0, 6.0, 10.0, 2.0, 4.0, 4.0];
        // Sample sd over √k of the units.
        let se = |u: &[f64]| {
            let k = u.len() as f64;
            let m = u.iter().sum::<f64>() / k;
            (u.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (k - 1.0)).sqrt() / k.sqrt()
        };
        assert_eq!(std_error(&v, SeUnits::Paths), Some(se(&v)));
        assert_eq!(std_error(&v, false), Some(se(&v)));
        assert_eq!(std_error(&v, true), Some(se(&[2.0, 4.0, 6.0, 4.0])));
        assert_eq!(std_error(&v, SeUnits::Scrambles(2)), Some(se(&[3.0, 5.0])));
        assert_eq!(
            std_error(&v, SeUnits::Scrambles(4)),
            std_error(&v, SeUnits::Pairs)
        );
        // Scrambles that do not divide the paths, or one unit: none.
        assert_eq!(std_error(&v, SeUnits::Scrambles(3)), None);
        assert_eq!(std_error(&v, SeUnits::Scrambles(1)), None);
        assert_eq!(std_error(&v[..1], true), None);
    }

    #[test]
    fn unsummable_is_nan_inf_or_at_least_2_63() {
        for x in [
            f64::NAN,
            f64::INFINITY,
            -f64::INFINITY,
            MAX_TERM,
            -MAX_TERM,
            1e30,
        ] {
            assert!(unsummable(x), "{x}");
        }
        for x in [0.0, -1e18, 9.2e18, -9.2e18] {
            assert!(!unsummable(x), "{x}");
        }
    }
}
