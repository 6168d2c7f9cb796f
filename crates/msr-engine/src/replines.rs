//! Rep lines (MODEL.md §G, §J "Rep-line buckets"): bucket a tape by
//! configurable keys, collapse each bucket into one representative record,
//! and compare the rep lines' values with the loan-level values bucket by
//! bucket. Pure computation: the caller values both sets with
//! [`crate::value_loans`] on the same paths and writes the results.
//!
//! # How a rep line is built
//!
//! * **Bucket.** A loan's bucket is the tuple of its labels on the chosen
//!   keys, always in the canonical order of [`BucketDim::ALL`] (whatever order
//!   the configuration lists them in). Note rate: left-closed
//!   `[k·step, (k+1)·step)` on `round(c·1e4, 6)` bp, labelled by the lower edge
//!   in bp. FICO: `<620, 620-679, …, >=760` (lower edges). LTV: right-closed
//!   `<=60, (60,80], …, >95`. Loan age and remaining term: inclusive upper
//!   edges on whole months, `<=12, 13-36, …, >120`. Judicial: `Y`/`N` from the
//!   property state and the credit table's judicial states.
//! * **Id.** `RL:` then `key=label` joined by `|`, e.g.
//!   `RL:investor=FHLMC|dq_status=C|note_rate=275`; `RL:all` with no keys.
//!   Rep lines are sorted by id (byte order).
//! * **Sums.** `upb`, `escrow_monthly`, `advance_balance` and `loan_count`
//!   are summed; the float sums are correctly rounded (exact, then one
//!   rounding), so they do not depend on member order (shuffling the tape gives
//!   the same bits) and a bucket of one record keeps its values as they are.
//! * **Means.** `note_rate`, `servicing_fee`, `ltv`, `fico`, `loan_age` and
//!   `remaining_term` are UPB-weighted means: the common value itself when
//!   every member has the same bits (so a one-loan bucket is bit-exact),
//!   otherwise `Σ(upb·x)/Σ upb` with both sums correctly rounded. Integer fields are
//!   rounded half away from zero.
//! * **Categories.** `investor`, `dq_status` and `property_state` are the
//!   bucket's largest-UPB value (UPB summed per value; ties go to the
//!   alphabetically first code). When `investor` or `dq_status` is a key this
//!   is simply the bucket's value; when it is not, the rep line stands for a
//!   mixed bucket with its dominant value. When `judicial` is a key every
//!   member shares the flag, so the chosen state has it too.
//! * **Advances on a current rep line.** §B forbids `advance_balance > 0`
//!   with `dq_status = C`, and the engine carries advances only in delinquent
//!   states. That can only arise when `dq_status` is not a key and a bucket's
//!   largest-UPB status is `C` while delinquent members carry advances; the
//!   rep line then carries no advances and the amount left out is reported in
//!   [`RepLine::advance_dropped`] (and is part of the rep-line error).

use std::collections::BTreeMap;

use msr_core::config::{Credit, Repline, REPLINE_KEYS};
use msr_core::loan::{DqState, Loan};
use msr_core::ExactSum;
use rayon::prelude::*;

use crate::valuation::LoanResult;

/// A rep-line configuration that cannot be used, or a bucket too large for
/// the tape's integer columns.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplineError {
    /// A bucket key the engine does not know.
    #[error("repline.keys: unknown key `{0}`; use any of {keys}", keys = REPLINE_KEYS.join(", "))]
    UnknownKey(String),
    /// The note-rate step is not a positive finite number.
    #[error("repline.note_rate_step_bps = {0}: must be finite and > 0")]
    BadStep(f64),
    /// Band edges that are not finite and strictly increasing.
    #[error("repline.{key} = {edges:?}: edges must be finite and strictly increasing")]
    BadEdges {
        /// Which edge list (`fico_edges`, ...).
        key: &'static str,
        /// The edges given.
        edges: Vec<f64>,
    },
    /// A bucket's summed `loan_count` does not fit the tape's count column.
    #[error("rep line {id}: loan_count {count} exceeds {max}", max = i32::MAX)]
    LoanCountOverflow {
        /// The rep line.
        id: String,
        /// Σ loan_count of its members.
        count: u64,
    },
}

/// One bucket dimension of MODEL.md §G.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BucketDim {
    /// Investor code.
    Investor,
    /// Delinquency status.
    DqStatus,
    /// Note-rate step (lower edge in bp).
    NoteRate,
    /// FICO band.
    Fico,
    /// Current-LTV band.
    Ltv,
    /// Loan-age band.
    LoanAge,
    /// Remaining-term band.
    RemainingTerm,
    /// Judicial-foreclosure state flag.
    Judicial,
}

impl BucketDim {
    /// Every dimension, in the canonical order used in ids.
    pub const ALL: [BucketDim; 8] = [
        BucketDim::Investor,
        BucketDim::DqStatus,
        BucketDim::NoteRate,
        BucketDim::Fico,
        BucketDim::Ltv,
        BucketDim::LoanAge,
        BucketDim::RemainingTerm,
        BucketDim::Judicial,
    ];

    /// The configuration / id name (`investor`, `dq_status`, ...).
    pub fn name(self) -> &'static str {
        match self {
            BucketDim::Investor => "investor",
            BucketDim::DqStatus => "dq_status",
            BucketDim::NoteRate => "note_rate",
            BucketDim::Fico => "fico",
            BucketDim::Ltv => "ltv",
            BucketDim::LoanAge => "loan_age",
            BucketDim::RemainingTerm => "remaining_term",
            BucketDim::Judicial => "judicial",
        }
    }

    /// The dimension with configuration name `name`.
    pub fn from_name(name: &str) -> Option<BucketDim> {
        BucketDim::ALL.into_iter().find(|d| d.name() == name)
    }
}

/// Validated bucketing rules: which keys, which edges, which states are
/// judicial.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucketing {
    dims: Vec<BucketDim>,
    note_rate_step_bps: f64,
    fico_edges: Vec<f64>,
    ltv_edges: Vec<f64>,
    age_edges: Vec<f64>,
    term_edges: Vec<f64>,
    judicial_states: Vec<String>,
}

impl Bucketing {
    /// Resolve the `[repline]` table (keys deduplicated and put in canonical
    /// order) with the judicial states of the `[credit]` table.
    ///
    /// # Errors
    /// [`ReplineError`] for an unknown key, a non-positive note-rate step or
    /// edges that are not finite and strictly increasing.
    pub fn new(cfg: &Repline, credit: &Credit) -> Result<Bucketing, ReplineError> {
        let mut dims = Vec::with_capacity(cfg.keys.len());
        for k in &cfg.keys {
            dims.push(BucketDim::from_name(k).ok_or_else(|| ReplineError::UnknownKey(k.clone()))?);
        }
        dims.sort_unstable();
        dims.dedup();
        let step = cfg.note_rate_step_bps;
        if !(step.is_finite() && step > 0.0) {
            return Err(ReplineError::BadStep(step));
        }
        for (key, edges) in [
            ("fico_edges", &cfg.fico_edges),
            ("ltv_edges", &cfg.ltv_edges),
            ("age_edges", &cfg.age_edges),
            ("term_edges", &cfg.term_edges),
        ] {
            if edges.iter().any(|e| !e.is_finite()) || edges.windows(2).any(|w| w[1] <= w[0]) {
                return Err(ReplineError::BadEdges {
                    key,
                    edges: edges.clone(),
                });
            }
        }
        Ok(Bucketing {
            dims,
            note_rate_step_bps: step,
            fico_edges: cfg.fico_edges.clone(),
            ltv_edges: cfg.ltv_edges.clone(),
            age_edges: cfg.age_edges.clone(),
            term_edges: cfg.term_edges.clone(),
            judicial_states: credit.judicial_states.clone(),
        })
    }

    /// The bucket keys in use, in canonical order.
    pub fn dims(&self) -> &[BucketDim] {
        &self.dims
    }

    /// True if `dim` is a bucket key.
    pub fn has(&self, dim: BucketDim) -> bool {
        self.dims.contains(&dim)
    }

    /// The rep-line id of the bucket `loan` falls in.
    pub fn bucket_of(&self, loan: &Loan) -> String {
        if self.dims.is_empty() {
            return "RL:all".to_string();
        }
        let mut id = String::from("RL:");
        for (k, &dim) in self.dims.iter().enumerate() {
            if k > 0 {
                id.push('|');
            }
            id.push_str(dim.name());
            id.push('=');
            id.push_str(&self.label(dim, loan));
        }
        id
    }

    /// The label of `loan` on one dimension (whether or not it is a key).
    pub fn label(&self, dim: BucketDim, loan: &Loan) -> String {
        match dim {
            BucketDim::Investor => loan.investor.code().to_string(),
            BucketDim::DqStatus => loan.dq_status.code().to_string(),
            BucketDim::NoteRate => {
                let k = note_rate_step(loan.note_rate, self.note_rate_step_bps);
                fmt_num(k as f64 * self.note_rate_step_bps)
            }
            BucketDim::Fico => lower_edge_label(&self.fico_edges, f64::from(loan.fico)),
            BucketDim::Ltv => upper_edge_label(&self.ltv_edges, loan.ltv, false),
            BucketDim::LoanAge => upper_edge_label(&self.age_edges, f64::from(loan.loan_age), true),
            BucketDim::RemainingTerm => {
                upper_edge_label(&self.term_edges, f64::from(loan.remaining_term), true)
            }
            BucketDim::Judicial => {
                let judicial = self.judicial_states.iter().any(|s| s == loan.state_code());
                (if judicial { "Y" } else { "N" }).to_string()
            }
        }
    }

    /// Build the rep lines of `loans`.
    ///
    /// # Errors
    /// [`ReplineError::LoanCountOverflow`] when a bucket's summed
    /// `loan_count` exceeds `i32::MAX` (the tape's count column).
    pub fn build(&self, loans: &[Loan]) -> Result<RepLines, ReplineError> {
        let ids: Vec<String> = loans.par_iter().map(|l| self.bucket_of(l)).collect();
        let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, id) in ids.iter().enumerate() {
            groups.entry(id.as_str()).or_default().push(i);
        }
        let groups: Vec<(&str, Vec<usize>)> = groups.into_iter().collect();
        let lines: Vec<RepLine> = groups
            .par_iter()
            .map(|(id, members)| collapse(id, loans, members))
            .collect::<Result<_, _>>()?;
        let mut line_of = vec![0usize; loans.len()];
        for (k, (_, members)) in groups.iter().enumerate() {
            for &i in members {
                line_of[i] = k;
            }
        }
        Ok(RepLines { lines, line_of })
    }
}

/// Build rep lines from a tape with the `[repline]` and `[credit]` tables:
/// [`Bucketing::new`] then [`Bucketing::build`].
///
/// # Errors
/// As [`Bucketing::new`] and [`Bucketing::build`].
pub fn build_replines(
    loans: &[Loan],
    cfg: &Repline,
    credit: &Credit,
) -> Result<RepLines, ReplineError> {
    Bucketing::new(cfg, credit)?.build(loans)
}

/// One rep line: the record that stands for a bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct RepLine {
    /// Bucket id (also the record's `loan_id`).
    pub id: String,
    /// The representative record, in the tape schema.
    pub loan: Loan,
    /// Tape records in the bucket.
    pub records: usize,
    /// Advances of the members left out because the rep line's status is `C`
    /// (only when `dq_status` is not a key; see the module docs). Zero otherwise.
    pub advance_dropped: f64,
}

/// The rep lines of a tape and which line each loan went to.
#[derive(Debug, Clone, PartialEq)]
pub struct RepLines {
    /// Rep lines sorted by id.
    pub lines: Vec<RepLine>,
    /// For each input loan (input order), the index of its rep line in `lines`.
    pub line_of: Vec<usize>,
}

impl RepLines {
    /// The rep-line records, for valuation or writing.
    pub fn loans(&self) -> Vec<Loan> {
        self.lines.iter().map(|l| l.loan.clone()).collect()
    }
}

/// Index `k` of the note-rate step holding `c`: `[k·step, (k+1)·step)` on
/// `round(c·1e4, 6)` bp (the rounding keeps `0.0275` in the 275 bp step
/// although `0.0275·1e4` is `274.99999999999997` in binary).
pub fn note_rate_step(c: f64, step_bps: f64) -> i64 {
    let bp = (c * 1e4 * 1e6).round() / 1e6;
    let mut k = (bp / step_bps).floor();
    // Guard the division's rounding: keep k·step ≤ bp < (k+1)·step.
    if k * step_bps > bp {
        k -= 1.0;
    } else if (k + 1.0) * step_bps <= bp {
        k += 1.0;
    }
    k as i64
}

/// Band label for lower edges on integers (`<620`, `620-679`, `>=760`).
fn lower_edge_label(edges: &[f64], x: f64) -> String {
    let Some(&first) = edges.first() else {
        return "all".to_string();
    };
    let band = edges.iter().filter(|&&e| x >= e).count();
    if band == 0 {
        format!("<{}", fmt_num(first))
    } else if band == edges.len() {
        format!(">={}", fmt_num(edges[band - 1]))
    } else {
        let (lo, hi) = (edges[band - 1].ceil(), edges[band].ceil() - 1.0);
        format!("{}-{}", fmt_num(lo), fmt_num(hi))
    }
}

/// Band label for right-closed upper edges: on whole months (`<=12`,
/// `13-36`, `>120`) or on reals (`<=60`, `(60,80]`, `>95`).
fn upper_edge_label(edges: &[f64], x: f64, integer: bool) -> String {
    let Some(&first) = edges.first() else {
        return "all".to_string();
    };
    let band = edges.iter().filter(|&&e| x > e).count();
    if band == 0 {
        format!("<={}", fmt_num(first))
    } else if band == edges.len() {
        format!(">{}", fmt_num(edges[band - 1]))
    } else if integer {
        let (lo, hi) = (edges[band - 1].floor() + 1.0, edges[band].floor());
        format!("{}-{}", fmt_num(lo), fmt_num(hi))
    } else {
        format!("({},{}]", fmt_num(edges[band - 1]), fmt_num(edges[band]))
    }
}

/// A number as short text: whole numbers without a decimal point.
fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// The correctly rounded sum of `xs` (Shewchuk's algorithm, as Python's
/// `math.fsum`): exact partials, one rounding at the end. The result is a pure
/// function of the multiset of terms, so member order does not matter, and a
/// single term is returned as it is. [`ExactSum`] is not used here because its
/// 2^-48 grid truncates terms below 16 (an escrow of $13.62), which would move
/// a rep line's fields by an ulp or two from the exact sum.
fn fsum(xs: impl Iterator<Item = f64>) -> f64 {
    let mut partials: Vec<f64> = Vec::new();
    for mut x in xs {
        let mut i = 0;
        for j in 0..partials.len() {
            let mut y = partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                partials[i] = lo;
                i += 1;
            }
            x = hi;
        }
        partials.truncate(i);
        partials.push(x);
    }
    // Add the partials from the top, stopping at the first inexact step, then
    // round half to even using the sign of the next partial.
    let Some(mut hi) = partials.pop() else {
        return 0.0;
    };
    let mut lo = 0.0;
    while let Some(y) = partials.pop() {
        let x = hi;
        hi = x + y;
        lo = y - (hi - x);
        if lo != 0.0 {
            break;
        }
    }
    if let Some(&next) = partials.last() {
        if (lo < 0.0 && next < 0.0) || (lo > 0.0 && next > 0.0) {
            let y = 2.0 * lo;
            let x = hi + y;
            if y == x - hi {
                hi = x;
            }
        }
    }
    hi
}

/// Exact (correctly rounded) sum of a field over the members.
fn sum_of(loans: &[Loan], members: &[usize], f: impl Fn(&Loan) -> f64) -> f64 {
    fsum(members.iter().map(|&i| f(&loans[i])))
}

/// UPB-weighted mean of a field (MODEL.md §J): the common value when every
/// member has the same bits, else `Σ(upb·x)/Σ upb` with both sums correctly
/// rounded.
fn weighted_mean(loans: &[Loan], members: &[usize], upb: f64, f: impl Fn(&Loan) -> f64) -> f64 {
    let first = f(&loans[members[0]]);
    if members
        .iter()
        .all(|&i| f(&loans[i]).to_bits() == first.to_bits())
    {
        return first;
    }
    fsum(members.iter().map(|&i| loans[i].upb * f(&loans[i]))) / upb
}

/// The value with the largest summed UPB; ties go to the smallest key.
fn largest_upb<K: Ord + Copy>(loans: &[Loan], members: &[usize], key: impl Fn(&Loan) -> K) -> K {
    let mut by: BTreeMap<K, Vec<f64>> = BTreeMap::new();
    for &i in members {
        by.entry(key(&loans[i])).or_default().push(loans[i].upb);
    }
    // Iteration is in ascending key order and only a strictly larger sum
    // replaces the best, so ties keep the first (alphabetical) key.
    let mut best: Option<(K, f64)> = None;
    for (k, upbs) in by {
        let s = fsum(upbs.into_iter());
        if best.is_none_or(|(_, b)| s > b) {
            best = Some((k, s));
        }
    }
    best.expect("a bucket has members").0
}

/// Collapse one bucket into its rep line.
fn collapse(id: &str, loans: &[Loan], members: &[usize]) -> Result<RepLine, ReplineError> {
    let upb = sum_of(loans, members, |l| l.upb);
    let count: u64 = members
        .iter()
        .map(|&i| u64::from(loans[i].loan_count))
        .sum();
    let loan_count = u32::try_from(count)
        .ok()
        .filter(|&c| c <= i32::MAX as u32)
        .ok_or_else(|| ReplineError::LoanCountOverflow {
            id: id.to_string(),
            count,
        })?;
    let mean = |f: fn(&Loan) -> f64| weighted_mean(loans, members, upb, f);
    let investor = largest_upb(loans, members, |l| l.investor.code());
    let dq = largest_upb(loans, members, |l| l.dq_status.code());
    let dq_status: DqState = dq.parse().expect("a code of DqState");
    let state = largest_upb(loans, members, |l| l.property_state);
    let mut advance_balance = sum_of(loans, members, |l| l.advance_balance);
    let mut advance_dropped = 0.0;
    if dq_status == DqState::C && advance_balance != 0.0 {
        advance_dropped = advance_balance;
        advance_balance = 0.0;
    }
    let loan = Loan {
        loan_id: id.to_string(),
        upb,
        note_rate: mean(|l| l.note_rate),
        servicing_fee: mean(|l| l.servicing_fee),
        remaining_term: mean(|l| f64::from(l.remaining_term)).round() as u32,
        loan_age: mean(|l| f64::from(l.loan_age)).round() as u32,
        fico: mean(|l| f64::from(l.fico)).round() as i32,
        ltv: mean(|l| l.ltv),
        investor: investor.parse().expect("a code of Investor"),
        dq_status,
        property_state: state,
        escrow_monthly: sum_of(loans, members, |l| l.escrow_monthly),
        loan_count,
        advance_balance,
    };
    Ok(RepLine {
        id: id.to_string(),
        loan,
        records: members.len(),
        advance_dropped,
    })
}

/// Loan-level against rep-line value for one bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketCompare {
    /// Bucket id.
    pub id: String,
    /// Tape records in the bucket.
    pub records: u64,
    /// Σ loan_count of the records.
    pub loans: u64,
    /// Σ UPB.
    pub upb: f64,
    /// Σ loan-level values.
    pub value_loans: f64,
    /// The rep line's value.
    pub value_repline: f64,
    /// `value_repline − value_loans` ($).
    pub diff: f64,
    /// `diff` in bp of UPB.
    pub diff_bps: f64,
    /// `|diff|` over the portfolio's Σ|diff| over buckets (0 when that is 0).
    pub abs_share: f64,
}

/// Loan-level against rep-line values, by bucket and in total.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// One row per rep line, in rep-line (id) order.
    pub buckets: Vec<BucketCompare>,
    /// Tape records.
    pub records: u64,
    /// Σ loan_count.
    pub loans: u64,
    /// Σ UPB.
    pub upb: f64,
    /// Σ loan-level values.
    pub value_loans: f64,
    /// Σ rep-line values.
    pub value_repline: f64,
    /// `value_repline − value_loans` ($).
    pub diff: f64,
    /// `diff` in bp of UPB.
    pub diff_bps: f64,
    /// Σ over buckets of `|diff|` ($): the error netting hides.
    pub abs_diff: f64,
    /// `abs_diff` in bp of UPB.
    pub abs_diff_bps: f64,
    /// Loan-level value in bp of UPB.
    pub value_loans_bps: f64,
    /// Rep-line value in bp of UPB.
    pub value_repline_bps: f64,
    /// Loans and rep lines whose value was not finite, left out of every sum
    /// (the engine reports them; a clean run has none).
    pub non_finite: usize,
}

impl Comparison {
    /// The `n` buckets with the largest `|diff|` (ties by id).
    pub fn top_buckets(&self, n: usize) -> Vec<&BucketCompare> {
        let mut v: Vec<&BucketCompare> = self.buckets.iter().collect();
        v.sort_by(|a, b| {
            b.diff
                .abs()
                .total_cmp(&a.diff.abs())
                .then_with(|| a.id.cmp(&b.id))
        });
        v.truncate(n);
        v
    }

    /// Records per rep line.
    pub fn compression_ratio(&self) -> f64 {
        if self.buckets.is_empty() {
            0.0
        } else {
            self.records as f64 / self.buckets.len() as f64
        }
    }
}

fn bps(x: f64, upb: f64) -> f64 {
    if upb > 0.0 {
        1e4 * x / upb
    } else {
        0.0
    }
}

/// Compare loan-level with rep-line values. `loan_results` are the values of
/// `loans` (same order), `repline_results` those of `book.lines` (same order),
/// both from [`crate::value_loans`] on the same paths. Portfolio totals are
/// [`ExactSum`]s, so they have the bits of the engine's own totals; bucket
/// sums are correctly rounded, so a one-loan bucket's `value_loans` is the
/// loan's value.
///
/// # Panics
/// When the slices' lengths do not match `loans` and `book`.
pub fn compare(
    book: &RepLines,
    loans: &[Loan],
    loan_results: &[LoanResult],
    repline_results: &[LoanResult],
) -> Comparison {
    assert_eq!(
        loans.len(),
        book.line_of.len(),
        "rep lines built from another tape"
    );
    assert_eq!(loans.len(), loan_results.len(), "one result per loan");
    assert_eq!(
        book.lines.len(),
        repline_results.len(),
        "one result per rep line"
    );
    let n = book.lines.len();
    let mut records = vec![0u64; n];
    let mut counts = vec![0u64; n];
    let mut upb: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut value: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut non_finite = 0usize;
    let (mut total_upb, mut total_loans) = (ExactSum::ZERO, ExactSum::ZERO);
    for ((loan, res), &k) in loans.iter().zip(loan_results).zip(&book.line_of) {
        records[k] += 1;
        counts[k] += u64::from(loan.loan_count);
        upb[k].push(loan.upb);
        total_upb.add(loan.upb);
        if res.is_finite() {
            value[k].push(res.value);
            total_loans.add(res.value);
        } else {
            non_finite += 1;
        }
    }
    let mut total_repline = ExactSum::ZERO;
    let mut buckets = Vec::with_capacity(n);
    for (k, (line, res)) in book.lines.iter().zip(repline_results).enumerate() {
        let value_repline = if res.value.is_finite() {
            total_repline.add(res.value);
            res.value
        } else {
            non_finite += 1;
            f64::NAN
        };
        // Per bucket, the same correctly rounded sums as the rep line's own
        // fields: a one-loan bucket's value is the loan's, to the bit.
        let upb = fsum(upb[k].iter().copied());
        let value_loans = fsum(value[k].iter().copied());
        let diff = value_repline - value_loans;
        buckets.push(BucketCompare {
            id: line.id.clone(),
            records: records[k],
            loans: counts[k],
            upb,
            value_loans,
            value_repline,
            diff,
            diff_bps: bps(diff, upb),
            abs_share: 0.0,
        });
    }
    let mut abs_sum = ExactSum::ZERO;
    for b in buckets.iter().filter(|b| b.diff.is_finite()) {
        abs_sum.add(b.diff.abs());
    }
    let abs_diff = abs_sum.value();
    if abs_diff > 0.0 {
        for b in &mut buckets {
            b.abs_share = b.diff.abs() / abs_diff;
        }
    }
    let (upb, value_loans, value_repline) = (
        total_upb.value(),
        total_loans.value(),
        total_repline.value(),
    );
    let diff = value_repline - value_loans;
    Comparison {
        records: loans.len() as u64,
        loans: counts.iter().sum(),
        upb,
        value_loans,
        value_repline,
        diff,
        diff_bps: bps(diff, upb),
        abs_diff,
        abs_diff_bps: bps(abs_diff, upb),
        value_loans_bps: bps(value_loans, upb),
        value_repline_bps: bps(value_repline, upb),
        non_finite,
        buckets,
    }
}
