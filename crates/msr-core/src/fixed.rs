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
//! Range: |sum| < 2^79 ≈ 6e23, far beyond any book in dollars.

use std::ops::AddAssign;

/// log2 of the fixed-point scale.
const FRAC_BITS: i32 = 48;
const SCALE: f64 = (1u64 << FRAC_BITS) as f64;
/// Terms whose scaled magnitude is below this convert through `i64` (fast path).
const FAST_LIMIT: f64 = 9.0e18;

/// Convert one term to fixed point (truncation toward zero, deterministic).
#[inline(always)]
pub fn to_fixed(x: f64) -> i128 {
    let scaled = x * SCALE;
    if scaled.abs() < FAST_LIMIT {
        scaled as i64 as i128
    } else {
        scaled as i128
    }
}

/// Convert a fixed-point integer back to `f64` (rounded to nearest).
#[inline]
pub fn from_fixed(v: i128) -> f64 {
    v as f64 / SCALE
}

/// An exact, order-independent accumulator of `f64` terms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ExactSum(i128);

impl ExactSum {
    /// The empty sum.
    pub const ZERO: ExactSum = ExactSum(0);

    /// Add one term. Non-finite terms must be screened out by the caller.
    #[inline(always)]
    pub fn add(&mut self, x: f64) {
        self.0 += to_fixed(x);
    }

    /// Merge another partial sum (exact, commutative, associative).
    #[inline]
    pub fn merge(&mut self, other: ExactSum) {
        self.0 += other.0;
    }

    /// The sum as `f64`.
    pub fn value(self) -> f64 {
        from_fixed(self.0)
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
}
