//! Loan-level valuation over loans × paths (MODEL.md §F): per-loan marks and
//! order-independent portfolio aggregates.
//!
//! Loans are valued in parallel with rayon; each worker owns its scratch
//! buffers and a [`PortfolioAccum`] of exact fixed-point sums
//! ([`msr_core::ExactSum`]), so totals are bit-identical for any thread count,
//! loan order or split into shards. Per-loan numbers depend only on the loan:
//! its paths are always processed in path order.

use msr_core::fixed::{from_fixed, to_fixed};
use msr_core::loan::{Loan, NUM_INVESTORS, NUM_STATES};
use msr_core::{Config, ExactSum};
use msr_model::{
    run_block, BlockAccum, LoanTerms, Market, ModelParams, LANES, NUM_COMPONENTS, NUM_MONTHLY,
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

/// Per-worker scratch: reused buffers, no allocation per loan.
struct Worker {
    terms: LoanTerms,
    block: BlockAccum,
    monthly: Vec<[f64; NUM_MONTHLY]>,
    net: Vec<[f64; LANES]>,
    staged_net: Vec<f64>,
    path_value: Vec<f64>,
    accum: PortfolioAccum,
}

impl Worker {
    fn new(ctx: &Context<'_>, detail: Detail) -> Worker {
        let months = ctx.market.months();
        let paths = ctx.market.num_paths();
        Worker {
            terms: LoanTerms::default(),
            block: BlockAccum::default(),
            monthly: vec![[0.0; NUM_MONTHLY]; months],
            net: vec![[0.0; LANES]; months],
            staged_net: Vec::new(),
            path_value: vec![0.0; paths],
            accum: PortfolioAccum::new(paths, months, detail),
        }
    }

    fn value(&mut self, ctx: &Context<'_>, loan: &Loan, detail: Detail) -> LoanResult {
        let market = ctx.market;
        let num_paths = market.num_paths();
        let h = ctx.config.credit.fc_hazard(loan.state_code());
        self.terms.prepare(loan, ctx.params, h);
        let n = self.terms.n;
        let full = detail == Detail::Full;
        if full {
            self.monthly[..n].fill([0.0; NUM_MONTHLY]);
            self.staged_net.clear();
            self.staged_net.resize(n * num_paths, 0.0);
        }
        let mut pv = [0.0; NUM_COMPONENTS];
        for b in 0..market.num_blocks() {
            if full {
                run_block::<true>(
                    &self.terms,
                    ctx.params,
                    market,
                    b,
                    &mut self.block,
                    &mut self.monthly,
                    &mut self.net,
                );
            } else {
                run_block::<false>(
                    &self.terms,
                    ctx.params,
                    market,
                    b,
                    &mut self.block,
                    &mut [],
                    &mut [],
                );
            }
            let active = market.active_lanes(b);
            for l in 0..active {
                let p = b * LANES + l;
                self.path_value[p] = self.block.pv_net[l];
                for (k, acc) in pv.iter_mut().enumerate() {
                    *acc += self.block.pv[k][l];
                }
                if full {
                    for t in 0..n {
                        self.staged_net[t * num_paths + p] = self.net[t][l];
                    }
                }
            }
        }
        let np = num_paths as f64;
        let value = self.path_value.iter().sum::<f64>() / np;
        let result = LoanResult {
            value,
            std_error: std_error(&self.path_value, ctx.antithetic),
            pv: pv.map(|x| x / np),
        };
        if !result.is_finite() {
            let what = if !result.value.is_finite() {
                "value".to_string()
            } else {
                let k = result.pv.iter().position(|x| !x.is_finite()).unwrap_or(0);
                format!("pv_{}", msr_model::COMPONENTS[k].1)
            };
            self.accum.non_finite.push(NonFinite {
                loan: loan.clone(),
                what,
            });
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
        for (a, &v) in acc.path_values.iter_mut().zip(&self.path_value) {
            a.add(v);
        }
        if full {
            for t in 0..n {
                for (a, &x) in acc.monthly[t].iter_mut().zip(&self.monthly[t]) {
                    a.add(x);
                }
            }
            let cells = &mut acc.cf[..n * num_paths];
            for (c, &x) in cells.iter_mut().zip(&self.staged_net) {
                *c += to_fixed(x);
            }
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
                    .iter()
                    .map(|loan| worker.value(ctx, loan, detail))
                    .collect();
                let empty =
                    PortfolioAccum::new(ctx.market.num_paths(), ctx.market.months(), detail);
                (results, std::mem::replace(&mut worker.accum, empty))
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
