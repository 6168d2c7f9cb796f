//! [`RateFactors`]: a market's prepayment factors resolved for one note rate,
//! shared by every loan with that rate.
//!
//! Of a month's CPR (MODEL.md §D.1), the lock-in factor
//! `min(1, e^{100·lockin·c}·e^{−100·lockin·m})`, the S-curve's logistic
//! `1/(1 + e^{−slope·(100c − mid)}·e^{100·slope·m})` and the burnout factor
//! (the running product of `min(1, e^{−100·burnout·c}·e^{100·burnout·m})`)
//! depend on the loan only through its note rate `c`; the rest (turnover and
//! refinancing bases, multiplier, cap) is the loan's own. Books hold a few
//! dozen distinct note rates (eighths of a percent), so a worker that takes
//! its loans rate by rate resolves those three factors once per rate and
//! path-month, and the kernel's prepayment pass keeps only the loan's part:
//! two multiplications, an add, the multiplier and the cap, where it had
//! a reciprocal by Newton–Raphson and the burnout recurrence as well.
//!
//! The kernel computes the same operations in the same order either way (one
//! definition: [`LoanTerms::rate_factors_lanes`] and
//! [`LoanTerms::cpr_from_factors_lanes`]), so resolved and unresolved runs give
//! the same bits; the tests check it.

use crate::lanes::LaneRows;
use crate::loan_terms::LoanTerms;
use crate::market::Market;
use crate::simd::Lanes;

/// One block-month of [`RateFactors`], lanes innermost:
/// `[lock-in, logistic·burnout]`.
pub(crate) type RateLanes = LaneRows<2>;

/// One note rate's `[lock-in, logistic·burnout]` factors for every block of
/// a market's paths and its first `n` months (block-major, `[block·n + t]`).
#[derive(Debug, Clone, Default)]
pub struct RateFactors {
    /// [`LoanTerms::rate_key`] of the rate resolved.
    key: [u64; 3],
    /// Months resolved per block.
    n: usize,
    /// Blocks resolved (the market's).
    blocks: usize,
    rows: Vec<RateLanes>,
}

impl RateFactors {
    /// Resolve the factors of `terms`' note rate on `market` for its first
    /// `n` months (reusing this value's allocation), at the kernels' level
    /// ([`crate::simd::level`]).
    ///
    /// # Panics
    /// If `n` exceeds the market's months.
    pub fn resolve(&mut self, terms: &LoanTerms, market: &Market, n: usize) {
        self.resolve_at(crate::simd::level(), terms, market, n);
    }

    /// [`RateFactors::resolve`] at a given instruction-set level (every level
    /// gives the same bits).
    ///
    /// # Panics
    /// As [`RateFactors::resolve`], and if this CPU lacks `level`.
    pub fn resolve_at(
        &mut self,
        level: crate::simd::Level,
        terms: &LoanTerms,
        market: &Market,
        n: usize,
    ) {
        assert!(n <= market.months(), "more months than the market has");
        let blocks = market.num_blocks();
        self.key = terms.rate_key();
        self.n = n;
        self.blocks = blocks;
        // Every row is written below: no need to zero the kept ones.
        self.rows.truncate(blocks * n);
        self.rows.resize(blocks * n, Default::default());
        crate::simd::run_at(
            level,
            Resolve {
                terms,
                market,
                n,
                rows: &mut self.rows,
            },
        );
    }

    /// Whether these factors serve `terms` on a market of `blocks` blocks:
    /// the same note-rate key and at least the loan's months.
    pub fn serves(&self, terms: &LoanTerms, blocks: usize) -> bool {
        self.key == terms.rate_key() && terms.n <= self.n && self.blocks == blocks
    }

    /// The factors of `block` for months `0..n`.
    #[inline(always)]
    pub(crate) fn block(&self, block: usize, n: usize) -> &[RateLanes] {
        let start = block * self.n;
        &self.rows[start..start + n]
    }
}

/// [`resolve_body`]'s arguments, dispatched by `crate::simd::run_at`.
struct Resolve<'a> {
    terms: &'a LoanTerms,
    market: &'a Market,
    n: usize,
    rows: &'a mut [RateLanes],
}

impl crate::simd::WithLanes for Resolve<'_> {
    type Output = ();
    #[inline(always)]
    fn with_lanes<S: Lanes>(self, s: S) {
        resolve_body(s, self.terms, self.market, self.n, self.rows)
    }
}

/// The body of [`RateFactors::resolve`], compiled once per instruction set:
/// for each block, month by month, the lock-in factor of
/// [`LoanTerms::rate_factors_lanes`] and its logistic times the burnout
/// factor *before* the month's update (what the kernel's month `t` uses).
#[inline(always)]
fn resolve_body<S: Lanes>(
    s: S,
    terms: &LoanTerms,
    market: &Market,
    n: usize,
    rows: &mut [RateLanes],
) {
    for (b, dst) in rows.chunks_exact_mut(n.max(1)).enumerate() {
        let mut burn = s.splat(1.0);
        for (f, d) in market.prepay_block(b, n).iter().zip(dst.iter_mut()) {
            let [lock_m, refi_m, burn_m] = &f.0;
            let (lockin, logistic) = terms.rate_factors_lanes(s, s.load(lock_m), s.load(refi_m));
            let [d_lock, d_refi] = &mut d.0;
            s.store(d_lock, lockin);
            s.store(d_refi, s.mul(logistic, burn));
            burn = s.mul(burn, terms.burn_step_lanes(s, s.load(burn_m)));
        }
    }
}
