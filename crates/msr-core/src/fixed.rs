//! Order-independent exact summation.
//!
//! Portfolio totals must be bit-identical for any thread count, shard count or
//! loan order (MODEL.md §F, "Determinism"). Floating-point addition is not
//! associative, so every cross-loan sum goes through [`ExactSum`]: each term is
//! converted once, deterministically, to a fixed-point integer with resolution
//! 2^-48 (about 3.6e-15 in the unit of the term), and integers are added exactly.
//! The result is a pure function of the multiset of terms, so any reduction
//! order and any split into shards gives the same bits, and partial sums merge
//! exactly.
//!
//! Range: |sum| < 2^79 ≈ 6e23, far beyond any book in dollars. Nothing wraps
//! or saturates silently: a term that is not finite or beyond the range, or a
//! sum that would leave it, makes the sum *overflowed* ([`ExactSum::overflowed`]),
//! which reads as NaN and stays so through every later addition and merge.
//! Callers keep clear of that by screening terms against [`MAX_TERM`] first
//! (the engine leaves a loan with a larger amount out of the totals and lists
//! it, like a non-finite one): below it, a sum holds any 65,536 terms.

use std::ops::AddAssign;

/// log2 of the fixed-point scale.
const FRAC_BITS: i32 = 48;
const SCALE: f64 = (1u64 << FRAC_BITS) as f64;
/// Terms whose scaled magnitude is below this convert through `i64` (fast path).
const FAST_LIMIT: f64 = 9.0e18;
/// `2^127`: scaled magnitudes from here on do not fit an `i128`.
const I128_LIMIT: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;

/// The largest magnitude a caller should add as one term: `2^63 ≈ 9.2e18`
/// (dollars: about a million times the whole US mortgage market). A sum of
/// up to 2^16 terms below it stays within the range (`2^79`); the engine
/// treats a loan with any amount at or beyond it like a non-finite one.
pub const MAX_TERM: f64 = 9_223_372_036_854_775_808.0;

/// The raw value of an overflowed sum (`i128::MIN`, never a valid sum: valid
/// sums stay strictly inside `(−2^127, 2^127)`).
pub const OVERFLOWED: i128 = i128::MIN;

/// Convert one term to fixed point (truncation toward zero, deterministic).
/// A term that is not finite or whose magnitude is `2^79` or more gives
/// [`OVERFLOWED`].
#[inline(always)]
pub fn to_fixed(x: f64) -> i128 {
    let scaled = x * SCALE;
    if scaled.abs() < FAST_LIMIT {
        scaled as i64 as i128
    } else if scaled.abs() < I128_LIMIT {
        scaled as i128
    } else {
        OVERFLOWED
    }
}

/// Convert a fixed-point integer back to `f64` (rounded to nearest); NaN for
/// [`OVERFLOWED`].
#[inline]
pub fn from_fixed(v: i128) -> f64 {
    if v == OVERFLOWED {
        f64::NAN
    } else {
        v as f64 / SCALE
    }
}

/// Add two raw fixed-point sums exactly; [`OVERFLOWED`] if either is, or if
/// the result leaves the range. (For callers that keep raw `i128` sums, such
/// as a cash-flow matrix.)
#[inline(always)]
pub fn add_raw(a: i128, b: i128) -> i128 {
    // Branch-free (`|`, not `||`): a wrapped result, either operand already
    // overflowed, or a result equal to the marker itself.
    let (sum, wrapped) = a.overflowing_add(b);
    if wrapped | (a == OVERFLOWED) | (b == OVERFLOWED) | (sum == OVERFLOWED) {
        OVERFLOWED
    } else {
        sum
    }
}

/// An exact, order-independent accumulator of `f64` terms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ExactSum(i128);

impl ExactSum {
    /// The empty sum.
    pub const ZERO: ExactSum = ExactSum(0);

    /// Add one term. A non-finite term, or one beyond the range, makes the
    /// sum overflowed (callers screen terms against [`MAX_TERM`] first).
    #[inline(always)]
    pub fn add(&mut self, x: f64) {
        self.0 = add_raw(self.0, to_fixed(x));
    }

    /// Merge another partial sum (exact, commutative, associative).
    #[inline]
    pub fn merge(&mut self, other: ExactSum) {
        self.0 = add_raw(self.0, other.0);
    }

    /// The sum as `f64`; NaN when [`ExactSum::overflowed`].
    pub fn value(self) -> f64 {
        from_fixed(self.0)
    }

    /// True when a term was not finite or beyond the range, or the sum left
    /// the range: [`ExactSum::value`] is then NaN, never a wrapped number.
    pub fn overflowed(self) -> bool {
        self.0 == OVERFLOWED
    }

    /// The raw fixed-point integer, for writing partial results (shards).
    pub fn raw(self) -> i128 {
        self.0
    }

    /// Rebuild from a raw fixed-point integer written by [`ExactSum::raw`].
    pub fn from_raw(raw: i128) -> Self {
        ExactSum(raw)
    }
}

impl AddAssign<f64> for ExactSum {
    fn add_assign(&mut self, x: f64) {
        self.add(x);
    }
}

impl AddAssign<ExactSum> for ExactSum {
    fn add_assign(&mut self, other: ExactSum) {
        self.merge(other);
    }
}

/// Sum a slice exactly.
pub fn exact_sum(xs: &[f64]) -> f64 {
    let mut s = ExactSum::ZERO;
    for &x in xs {
        s.add(x);
    }
    s.value()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_does_not_matter() {
        let xs: Vec<f64> = (0..1000)
            .map(|i| ((i as f64) * 0.7316).sin() * 10f64.powi(i % 9))
            .collect();
        let mut rev = xs.clone();
        rev.reverse();
        assert_eq!(exact_sum(&xs).to_bits(), exact_sum(&rev).to_bits());
        // Split into two shards and merge.
        let mut a = ExactSum::ZERO;
        let mut b = ExactSum::ZERO;
        for (k, &x) in xs.iter().enumerate() {
            if k % 3 == 0 {
                a.add(x)
            } else {
                b.add(x)
            }
        }
        a.merge(b);
        assert_eq!(a.value().to_bits(), exact_sum(&xs).to_bits());
    }

    #[test]
    fn accurate() {
        // 0.1 added ten times is exactly representable in fixed point up to 2^-48.
        let s = exact_sum(&[0.1; 10]);
        assert!((s - 1.0).abs() < 1e-13);
        assert_eq!(exact_sum(&[1e20, 1.0, -1e20]), 1.0);
        assert_eq!(exact_sum(&[]), 0.0);
    }

    #[test]
    fn never_wraps_or_saturates() {
        // One term beyond 2^79, or not finite: overflowed, read as NaN.
        for x in [1e30, -1e24, f64::INFINITY, f64::NAN, f64::MAX] {
            let mut s = ExactSum::ZERO;
            s.add(300_000.0);
            s.add(x);
            assert!(s.overflowed(), "{x}");
            assert!(s.value().is_nan(), "{x}");
            // It stays overflowed whatever follows.
            s.add(-x);
            s.merge(ExactSum::ZERO);
            assert!(s.overflowed() && s.value().is_nan());
        }
        // Terms each within range whose sum leaves it (1.5·2^77 three times).
        let big = 1.5 * 2f64.powi(77);
        let mut s = ExactSum::ZERO;
        s.add(big);
        s.add(big);
        assert!(!s.overflowed());
        assert_eq!(s.value(), 2.0 * big);
        s.add(big);
        assert!(s.overflowed());
        // The same through merges, and on the negative side.
        let mut a = ExactSum::ZERO;
        a.add(-big);
        a.add(-big);
        let mut b = ExactSum::ZERO;
        b.add(-big);
        a.merge(b);
        assert!(a.overflowed());
        let mut c = ExactSum::ZERO;
        c.merge(a);
        assert!(c.overflowed());
    }

    #[test]
    fn max_term_leaves_room_for_65536_terms() {
        let x = MAX_TERM * (1.0 - f64::EPSILON);
        let mut s = ExactSum::ZERO;
        for _ in 0..65_536 {
            s.add(x);
            s.add(-x);
            s.add(x);
        }
        // 65,536 of them at once, by merging doubled sums.
        assert!(!s.overflowed());
        assert_eq!(s.value(), 65_536.0 * x);
        let mut neg = ExactSum::ZERO;
        neg.add(-x);
        for _ in 0..16 {
            let copy = neg;
            neg.merge(copy);
        }
        assert!(!neg.overflowed());
        assert_eq!(neg.value(), -65_536.0 * x);
        // Just below 2^79 a term still converts exactly; from 2^79 on it does not.
        let edge = 2f64.powi(79);
        assert_eq!(
            to_fixed(edge * (1.0 - f64::EPSILON)) >> 48,
            (edge * (1.0 - f64::EPSILON)) as i128
        );
        assert_eq!(to_fixed(edge), OVERFLOWED);
        assert_eq!(to_fixed(-edge), OVERFLOWED);
        assert_eq!(add_raw(i128::MAX, 1), OVERFLOWED);
        assert_eq!(add_raw(i128::MIN + 1, -1), OVERFLOWED);
        assert_eq!(add_raw(i128::MIN + 1, 0), i128::MIN + 1);
    }
}
