//! Loan-level valuation over loans × paths (MODEL.md §F): per-loan marks and
//! order-independent portfolio aggregates.
//!
//! Loans are valued in parallel with rayon; each worker owns its scratch
//! buffers and a [`PortfolioAccum`] of exact fixed-point sums
//! ([`msr_core::ExactSum`]), so totals are bit-identical for any thread count,
//! loan order or split into shards. Per-loan numbers depend only on the loan:
//! its paths are always processed in path order.
//!
//! A worker values a few loans at a time ([`GROUP`]) block by block, so one
//! block's market factors and `CF` sums stay in cache across the group, running
//! the kernel ([`msr_model::run_block`]) for each loan and block. With
//! [`Detail::Full`] the kernel keeps each loan's monthly sums per lane
//! ([`msr_model::MonthlyLanes`], reduced once per loan-month) and returns the
//! block's net cash flows, which go straight into the worker's `CF[p,t]` sums
//! in exact fixed point ([`msr_model::add_fixed_lanes`]: the same integers as
//! [`msr_core::fixed::to_fixed`], as two `i64` halves, eight cells per SIMD
//! instruction; flushed into the `i128` matrix of [`PortfolioAccum`] when the
//! worker hands its accumulator over). A loan found not finite afterwards is
//! re-run and its cells subtracted again (wrapping integer arithmetic, so
//! exactly); cells too large for the split are re-run and added exactly.
//! docs/PERFORMANCE.md has the measurements.

use msr_core::fixed::{from_fixed, to_fixed};
use msr_core::loan::{Loan, NUM_INVESTORS, NUM_STATES};
use msr_core::{Config, ExactSum};
use msr_model::fastmath::{split_fixed, FIXED_SPLIT_LIMIT_UNSCALED};
use msr_model::{
    add_fixed_lanes, run_block, BlockAccum, BlockDetail, BlockScratch, LoanTerms, Market,
    ModelParams, MonthlyLanes, LANES, NUM_COMPONENTS, NUM_MONTHLY,
};
use rayon::prelude::*;

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
    /// Whether paths come in antithetic pairs (standard errors over pair means).
    pub antithetic: bool,
}

/// What to collect beyond per-loan values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Values only (risk scenarios).
    Values,
    /// Values plus monthly cash flows and the CF\[p,t\] matrix.
    Full,
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
}

impl LoanResult {
    /// True if the value and every component are finite.
    pub fn is_finite(&self) -> bool {
        self.value.is_finite()
            && self.pv.iter().all(|x| x.is_finite())
            && self.std_error.is_none_or(f64::is_finite)
    }
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

/// A loan left out of the totals because its valuation was not finite.
#[derive(Debug, Clone, PartialEq)]
pub struct NonFinite {
    /// The loan.
    pub loan: Loan,
    /// Which output was not finite first.
    pub what: String,
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
    /// Σ over loans and paths of the monthly fields, month-major `[t][field]`
    /// (divide by the path count for expectations). Empty without [`Detail::Full`].
    pub monthly: Vec<[ExactSum; NUM_MONTHLY]>,
    /// Portfolio net cash flow `CF[p,t]`, month-major `[t·P + p]`, as raw
    /// fixed-point sums. Empty without [`Detail::Full`].
    pub cf: Vec<i128>,
    /// Loans left out because their valuation was not finite.
    pub non_finite: Vec<NonFinite>,
}

impl PortfolioAccum {
    /// An empty accumulator.
    pub fn new(num_paths: usize, months: usize, detail: Detail) -> Self {
        let full = detail == Detail::Full;
        PortfolioAccum {
            num_paths,
            months,
            total: GroupAccum::default(),
            loan_count: 0,
            pv: [ExactSum::ZERO; NUM_COMPONENTS],
            by_investor: [GroupAccum::default(); NUM_INVESTORS],
            by_status: [GroupAccum::default(); NUM_STATES],
            path_values: vec![ExactSum::ZERO; num_paths],
            monthly: if full {
                vec![[ExactSum::ZERO; NUM_MONTHLY]; months]
            } else {
                Vec::new()
            },
            cf: if full {
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
            *a += *b;
        }
        self.non_finite.extend(o.non_finite.iter().cloned());
        self.non_finite
            .sort_by(|a, b| a.loan.loan_id.cmp(&b.loan.loan_id));
    }

    /// Portfolio value per path `Σ_loans V_p`.
    pub fn path_value(&self, p: usize) -> f64 {
        self.path_values[p].value()
    }

    /// `CF[p,t]` for path `p` and month `t` (1-based).
    pub fn cf_at(&self, p: usize, t: usize) -> f64 {
        from_fixed(self.cf[(t - 1) * self.num_paths + p])
    }
}

/// Loans a worker may add to its split fixed-point sums before flushing them
/// into `PortfolioAccum::cf`: each `hi` term is below 2^50 in magnitude, so
/// 2^12 of them cannot overflow an `i64`.
const FLUSH_EVERY: usize = 4096;

/// Loans valued together, block by block: a block's market factors and `CF`
/// sums are loaded into cache once per group instead of once per loan.
const GROUP: usize = 4;

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
    /// Loans added since the last flush, and the longest of them.
    loans: usize,
    max_n: usize,
}

impl CfSums {
    fn new(blocks: usize, months: usize) -> CfSums {
        CfSums {
            months,
            hi: vec![[0; LANES]; blocks * months],
            lo: vec![[0; LANES]; blocks * months],
            big: Vec::new(),
            loans: 0,
            max_n: 0,
        }
    }

    /// Add block `b` of one loan's net cash flows (`net[t][lane]`, `t < n`).
    /// Returns `false` if a cell was too large for the split (added clamped:
    /// the caller fixes it with [`CfSums::fix_block`]).
    fn add_block(&mut self, b: usize, net: &[[f64; LANES]]) -> bool {
        let cells = b * self.months..b * self.months + net.len();
        add_fixed_lanes(net, &mut self.hi[cells.clone()], &mut self.lo[cells])
    }

    /// Undo [`CfSums::add_block`] of the same `net` exactly (wrapping).
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

    /// For a block [`CfSums::add_block`] flagged: move each cell too large for
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
                    self.big[t * num_paths + b * LANES + l] += to_fixed(x[l]);
                }
            }
        }
    }

    /// Move the sums into `cf` (month-major `t·P + p`) and zero them.
    fn flush(&mut self, market: &Market, cf: &mut [i128]) {
        let num_paths = market.num_paths();
        for b in 0..market.num_blocks() {
            let active = market.active_lanes(b);
            let start = b * self.months;
            for t in 0..self.max_n {
                let (hi, lo) = (&mut self.hi[start + t], &mut self.lo[start + t]);
                for l in 0..active {
                    cf[t * num_paths + b * LANES + l] += ((hi[l] as i128) << 32) + lo[l] as i128;
                }
                *hi = [0; LANES];
                *lo = [0; LANES];
            }
        }
        for (c, x) in cf.iter_mut().zip(&mut self.big) {
            *c += std::mem::take(x);
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
    cf: CfSums,
    accum: PortfolioAccum,
}

impl Worker {
    fn new(ctx: &Context<'_>, detail: Detail) -> Worker {
        let market = ctx.market;
        let months = market.months();
        let paths = market.num_paths();
        let full = detail == Detail::Full;
        Worker {
            slots: (0..GROUP).map(|_| Slot::default()).collect(),
            scratch: BlockScratch::default(),
            block: BlockAccum::default(),
            net: vec![[0.0; LANES]; months],
            cf: CfSums::new(if full { market.num_blocks() } else { 0 }, months),
            accum: PortfolioAccum::new(paths, months, detail),
        }
    }

    /// Hand over the accumulated totals (with the CF sums flushed), leaving
    /// an empty accumulator.
    fn take_accum(&mut self, ctx: &Context<'_>, detail: Detail) -> PortfolioAccum {
        if detail == Detail::Full {
            self.cf.flush(ctx.market, &mut self.accum.cf);
        }
        let empty = PortfolioAccum::new(ctx.market.num_paths(), ctx.market.months(), detail);
        std::mem::replace(&mut self.accum, empty)
    }

    /// Run block `b` of the loan in `slot` (with detail: into `self.net` and
    /// the slot's monthly sums).
    fn run(&mut self, ctx: &Context<'_>, slot: usize, b: usize, full: bool) {
        let Slot { terms, monthly, .. } = &mut self.slots[slot];
        if full {
            run_block::<true>(
                terms,
                ctx.params,
                ctx.market,
                b,
                &mut self.scratch,
                &mut self.block,
                Some(BlockDetail {
                    monthly,
                    net: &mut self.net[..terms.n],
                }),
            );
        } else {
            run_block::<false>(
                terms,
                ctx.params,
                ctx.market,
                b,
                &mut self.scratch,
                &mut self.block,
                None,
            );
        }
    }

    /// Value up to [`GROUP`] loans, block by block; results in input order.
    fn value_group(
        &mut self,
        ctx: &Context<'_>,
        loans: &[Loan],
        detail: Detail,
    ) -> Vec<LoanResult> {
        let market = ctx.market;
        let num_paths = market.num_paths();
        let full = detail == Detail::Full;
        if full && self.cf.loans + loans.len() > FLUSH_EVERY {
            self.cf.flush(market, &mut self.accum.cf);
        }
        for (slot, loan) in self.slots.iter_mut().zip(loans) {
            let h = ctx.config.credit.fc_hazard(loan.state_code());
            slot.terms.prepare(loan, ctx.params, h);
            if full {
                slot.monthly.reset(slot.terms.n);
            }
            slot.path_value.clear();
            slot.path_value.resize(num_paths, 0.0);
            slot.pv = [0.0; NUM_COMPONENTS];
            slot.big_blocks.clear();
        }
        for b in 0..market.num_blocks() {
            let active = market.active_lanes(b);
            for k in 0..loans.len() {
                self.run(ctx, k, b, full);
                let slot = &mut self.slots[k];
                for l in 0..active {
                    slot.path_value[b * LANES + l] = self.block.pv_net[l];
                    for (c, acc) in slot.pv.iter_mut().enumerate() {
                        *acc += self.block.pv[c][l];
                    }
                }
                // Added now, while the block's sums are in cache; taken back
                // out below if the loan turns out not to be finite.
                if full && !self.cf.add_block(b, &self.net[..slot.terms.n]) {
                    slot.big_blocks.push(b);
                }
            }
        }
        (0..loans.len())
            .map(|k| self.finish(ctx, k, &loans[k], detail))
            .collect()
    }

    /// One loan's result, and its contribution to the totals if finite.
    fn finish(&mut self, ctx: &Context<'_>, k: usize, loan: &Loan, detail: Detail) -> LoanResult {
        let market = ctx.market;
        let full = detail == Detail::Full;
        let np = market.num_paths() as f64;
        let slot = &self.slots[k];
        let value = slot.path_value.iter().sum::<f64>() / np;
        let result = LoanResult {
            value,
            std_error: std_error(&slot.path_value, ctx.antithetic),
            pv: slot.pv.map(|x| x / np),
        };
        let n = slot.terms.n;
        if !result.is_finite() {
            let what = if !result.value.is_finite() {
                "value".to_string()
            } else {
                let c = result.pv.iter().position(|x| !x.is_finite()).unwrap_or(0);
                format!("pv_{}", msr_model::COMPONENTS[c].1)
            };
            self.accum.non_finite.push(NonFinite {
                loan: loan.clone(),
                what,
            });
            if full {
                // Re-run the loan (same inputs, same bits) and take its cash
                // flows back out of the CF sums.
                for b in 0..market.num_blocks() {
                    self.run(ctx, k, b, true);
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
        for (a, &v) in acc.path_values.iter_mut().zip(&slot.path_value) {
            a.add(v);
        }
        if full {
            for t in 0..n {
                let row = slot.monthly.month(&slot.terms, ctx.params, t);
                for (a, &x) in acc.monthly[t].iter_mut().zip(&row) {
                    a.add(x);
                }
            }
            // The re-runs add to the slot's monthly sums again; those were
            // consumed above and are reset before the slot's next loan.
            for i in 0..self.slots[k].big_blocks.len() {
                let b = self.slots[k].big_blocks[i];
                self.run(ctx, k, b, true);
                self.cf.fix_block(market, b, &self.net[..n]);
            }
            self.cf.loans += 1;
            self.cf.max_n = self.cf.max_n.max(n);
        }
        result
    }
}

/// Standard error of the mean over paths (MODEL.md §J): the sample standard
/// deviation of the units over √units, where with antithetic pairs a unit is a
/// pair mean and an unpaired last path is a unit of its own.
pub fn std_error(path_values: &[f64], antithetic: bool) -> Option<f64> {
    let units: Vec<f64> = if antithetic {
        path_values
            .chunks(2)
            .map(|c| c.iter().sum::<f64>() / c.len() as f64)
            .collect()
    } else {
        path_values.to_vec()
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
pub fn value_loans(
    ctx: &Context<'_>,
    loans: &[Loan],
    detail: Detail,
) -> (Vec<LoanResult>, PortfolioAccum) {
    let threads = rayon::current_num_threads().max(1);
    let chunk = (loans.len() / (threads * 8)).clamp(16, 4096);
    let parts: Vec<(Vec<LoanResult>, PortfolioAccum)> = loans
        .par_chunks(chunk)
        .map_init(
            || None::<Worker>,
            |slot, chunk| {
                let worker = slot.get_or_insert_with(|| Worker::new(ctx, detail));
                let results = chunk
                    .chunks(GROUP)
                    .flat_map(|group| worker.value_group(ctx, group, detail))
                    .collect();
                (results, worker.take_accum(ctx, detail))
            },
        )
        .collect();
    let mut accum = PortfolioAccum::new(ctx.market.num_paths(), ctx.market.months(), detail);
    let mut results = Vec::with_capacity(loans.len());
    for (r, a) in parts {
        results.extend(r);
        accum.merge(&a);
    }
    (results, accum)
}
