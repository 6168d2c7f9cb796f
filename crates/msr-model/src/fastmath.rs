//! Branch-free, vectorisable replacements for the few transcendental and
//! conversion steps of the hot loop.
//!
//! Everything here is straight-line `f64`/`u64` arithmetic with no libm call or
//! table, generic over the SIMD width (`crate::simd::Math`): the kernel runs it
//! on vectors of [`crate::LANES`] paths, scalar callers on one `f64`. Two
//! properties matter beyond speed:
//!
//! * **Same bits on every instruction set.** The code is written once against
//!   `crate::simd::Math` and every operation is exactly rounded: fused
//!   multiply-adds are explicit (one rounding on every target: a hardware FMA,
//!   or libm's correctly rounded `fma` in the portable copy) and nothing is
//!   ever contracted, so the AVX-512, AVX2 and portable copies of the kernel
//!   give identical results, and the scalar callers (note pricing) agree bit
//!   for bit with the kernel.
//! * **Accuracy stated and tested.** [`smm_from_cpr`] is within a few ulps of
//!   the exact single monthly mortality, relative to SMM itself (better than
//!   the `1 − cbrt(1−CPR)^¼` form it replaced, which was only accurate to
//!   ~1e-16 absolute), see the tests below.

// Polynomial coefficients are kept exactly as the fit printed them.
#![allow(clippy::excessive_precision)]

use crate::simd::{Math, Scalar};

/// `2^-1000`: floor on `1 − CPR` so that CPR = 1 gives SMM = 1 exactly
/// (`(2^-1000)^(1/12) ≈ 1e-25` vanishes against 1).
const TINY: f64 = 9.332_636_185_032_189e-302;

// fdlibm / musl `log`: ln 2 split so `k·LN2_HI` is exact for |k| < 2^20, and the
// minimax coefficients of `R(z)` in `log(1+f) = f − f²/2 + s·(f²/2 + R(s²))`,
// `s = f/(2+f)`, |error| < 2^-58.45 for `1+f ∈ [√½, √2)`.
const LN2_HI: f64 = 6.931_471_803_691_238_164_9e-1;
const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
const LG1: f64 = 6.666_666_666_666_735_130e-1;
const LG2: f64 = 3.999_999_999_940_941_908e-1;
const LG3: f64 = 2.857_142_874_366_239_149e-1;
const LG4: f64 = 2.222_219_843_214_978_396e-1;
const LG5: f64 = 1.818_357_216_161_805_012e-1;
const LG6: f64 = 1.531_383_769_920_937_332e-1;
const LG7: f64 = 1.479_819_860_511_658_591e-1;

/// Added to the bits of `x` so that the exponent field, minus the bias, is the
/// `k` with `x·2^-k ∈ [√½, √2)` (musl's trick, on the whole 64-bit word).
const LOG_OFFSET: u64 = (0x3ff0_0000 - 0x3fe6_a09e) << 32;
const MANT_MASK: u64 = 0x000f_ffff_ffff_ffff;
const SQRT_HALF_HI: u64 = 0x3fe6_a09e << 32;

/// `1.5·2^52`: adding it rounds an `f64` of magnitude < 2^51 to an integer held
/// in the low bits of the sum.
const ROUND_MAGIC: f64 = 6_755_399_441_055_744.0;
/// `2^52`: the bits `0x4330…` plus a small integer `v` in the mantissa are `2^52 + v`.
const TWO_52: f64 = 4_503_599_627_370_496.0;
const TWO_52_BITS: u64 = 0x4330_0000_0000_0000;

const INV_LN2: f64 = std::f64::consts::LOG2_E;
const ONE_TWELFTH: f64 = 1.0 / 12.0;

/// Taylor coefficients `1/k!` for `k = 2..=13` of `expm1(r) = r + r²·Σ r^(k−2)/k!`.
/// For |r| ≤ ln2/2 the first omitted term is below 1.2e-17·|r|.
const EXPM1_C: [f64; 12] = [
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5_040.0,
    1.0 / 40_320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
    1.0 / 479_001_600.0,
    1.0 / 6_227_020_800.0,
];

/// Magnitude (in fixed-point units, `x·2^48`) from which [`split_fixed`]
/// clamps: 2^82, i.e. |x| ≥ 2^34 ≈ 1.7e10 dollars in one loan-path-month.
pub const FIXED_SPLIT_LIMIT: f64 = 4_835_703_278_458_516_698_824_704.0;

/// [`FIXED_SPLIT_LIMIT`] in the unit of the term (exact: a power of two).
pub const FIXED_SPLIT_LIMIT_UNSCALED: f64 = FIXED_SPLIT_LIMIT / FIXED_SCALE;

/// `2^48`, the scale of `msr_core::fixed`.
const FIXED_SCALE: f64 = 281_474_976_710_656.0;

/// Single monthly mortality from an annual CPR: `SMM = 1 − (1 − CPR)^(1/12)`,
/// computed as `−expm1(log1p(−CPR)/12)` with inline polynomials.
///
/// Valid for every `CPR ≤ 1` (CPR = 1 gives 1; NaN gives NaN). Relative error
/// a few ulps of SMM (tested below against libm's `ln_1p`/`exp_m1`).
/// No libm call, no table, one division; the kernel runs the same code on
/// SIMD vectors ([`smm_lanes`]) with the same bits.
#[inline(always)]
pub fn smm_from_cpr(cpr: f64) -> f64 {
    smm_lanes(Scalar, cpr)
}

/// Integer-valued `f64` of magnitude < 2^51 from the low bits of `v`, via the
/// `2^52` bias: `from_bits(0x4330… | v) − 2^52` for a small unsigned `v`.
#[inline(always)]
fn small_uint_to_f64<S: Math>(s: S, v: S::U) -> S::F {
    s.sub(
        s.from_bits(s.or_u(s.splat_u(TWO_52_BITS), v)),
        s.splat(TWO_52),
    )
}

/// `expm1(r)` for |r| ≤ ln2/2 (Taylor to degree 13, Horner with FMA).
#[inline(always)]
fn expm1_reduced<S: Math>(s: S, r: S::F) -> S::F {
    let mut q = s.splat(EXPM1_C[11]);
    for &c in EXPM1_C[..11].iter().rev() {
        q = s.mul_add(q, r, s.splat(c));
    }
    s.mul_add(s.mul(r, r), q, r)
}

/// `log(1 − cpr)` (natural log), given `x = max(1 − cpr, TINY)`.
///
/// Where `x ∈ [√½, √2)` the argument of `log1p` is `−cpr` itself rather than
/// `x − 1`, so the result keeps its relative accuracy for tiny CPR.
#[inline(always)]
fn ln_one_minus<S: Math>(s: S, cpr: S::F, x: S::F) -> S::F {
    let ix = s.add_u(s.to_bits(x), s.splat_u(LOG_OFFSET));
    // Biased exponent (≤ 0x7ff) as an exact f64, then k = biased − 1023.
    let k = s.sub(small_uint_to_f64(s, s.shr52(ix)), s.splat(1023.0));
    let m = s.from_bits(s.add_u(s.and_u(ix, s.splat_u(MANT_MASK)), s.splat_u(SQRT_HALF_HI)));
    let zero = s.splat(0.0);
    let f = s.select_eq(k, zero, s.neg(cpr), s.sub(m, s.splat(1.0)));
    let hfsq = s.mul(s.mul(s.splat(0.5), f), f);
    let sv = s.div(f, s.add(s.splat(2.0), f));
    let z = s.mul(sv, sv);
    let w = s.mul(z, z);
    let t1 = s.mul(
        w,
        s.mul_add(s.mul_add(s.splat(LG6), w, s.splat(LG4)), w, s.splat(LG2)),
    );
    let t2 = s.mul(
        z,
        s.mul_add(
            s.mul_add(s.mul_add(s.splat(LG7), w, s.splat(LG5)), w, s.splat(LG3)),
            w,
            s.splat(LG1),
        ),
    );
    let r = s.add(t2, t1);
    let lo = s.mul_add(sv, s.add(hfsq, r), s.mul(k, s.splat(LN2_LO)));
    s.mul_add(k, s.splat(LN2_HI), s.add(s.sub(f, hfsq), lo))
}

/// Largest CPR cap for which [`smm_lanes_capped`] is valid: below it,
/// `z = log(1−CPR)/12 > −ln2/2`, so the exponential needs no range reduction.
pub const SMM_CAPPED_MAX_CPR: f64 = 0.98;

/// [`smm_from_cpr`] on every lane of a vector.
#[inline(always)]
pub(crate) fn smm_lanes<S: Math>(s: S, cpr: S::F) -> S::F {
    let one = s.splat(1.0);
    let x0 = s.sub(one, cpr);
    // `<` is false for NaN, so NaN passes through the clamp.
    let tiny = s.splat(TINY);
    let x = s.select_lt(x0, tiny, tiny, x0);
    let z = s.mul(ln_one_minus(s, cpr, x), s.splat(ONE_TWELFTH));
    // exp(z) = 2^j · exp(r), |r| ≤ ln2/2; z ≤ 0 for CPR ≥ 0 so j ≤ 0.
    let magic = s.splat(ROUND_MAGIC);
    let jr = s.mul_add(z, s.splat(INV_LN2), magic);
    let neg_j = s.neg(s.sub(jr, magic));
    let r = s.mul_add(neg_j, s.splat(LN2_LO), s.mul_add(neg_j, s.splat(LN2_HI), z));
    let em1 = expm1_reduced(s, r);
    // 2^j from the integer in the low bits of `jr` (two's complement, |j| < 2^10).
    let j_int = s.sub_u(s.to_bits(jr), s.splat_u(ROUND_MAGIC.to_bits()));
    let scale = s.from_bits(s.shl52(s.add_u(j_int, s.splat_u(1023))));
    // SMM = 1 − 2^j(1 + em1) = (1 − 2^j) − 2^j·em1; for j = 0 that is −em1.
    let smm = s.mul_add(s.neg(scale), em1, s.sub(one, scale));
    // Propagate NaN (the clamp above maps it to a finite exponent).
    s.add(smm, s.sub(cpr, cpr))
}

/// [`smm_lanes`] for CPRs in `[0, SMM_CAPPED_MAX_CPR]` (the kernel's CPRs when
/// the configured cap is at most that): the same bits, 12 fewer operations.
///
/// There `1 − CPR ≥ 0.02` needs no clamp, NaN cannot occur (the cap's `min`
/// maps it to the cap), and `j = 0`, where [`smm_lanes`] computes
/// `r = z`, `scale = 1` and `SMM = fma(−1, em1, 0) = 0 − em1` exactly.
#[inline(always)]
pub(crate) fn smm_lanes_capped<S: Math>(s: S, cpr: S::F) -> S::F {
    let x = s.sub(s.splat(1.0), cpr);
    let z = s.mul(ln_one_minus(s, cpr, x), s.splat(ONE_TWELFTH));
    s.sub(s.splat(0.0), expm1_reduced(s, z))
}

/// Fixed-point conversion of `msr_core::fixed`, split for SIMD: the term
/// `trunc(x·2^48)` as `hi·2^32 + lo` with `lo ∈ [0, 2^32)`, both returned as
/// exact integer-valued `i64`s.
///
/// Exact (equal to `msr_core::fixed::to_fixed(x)`) while `|x| <`
/// [`FIXED_SPLIT_LIMIT_UNSCALED`]; larger magnitudes (and NaN) are clamped
/// to the limit, and the caller must redo them with `to_fixed`.
#[inline(always)]
pub fn split_fixed(x: f64) -> (i64, i64) {
    let (hi, lo) = split_fixed_lanes(Scalar, x);
    (hi as i64, lo as i64)
}

/// [`split_fixed`] on every lane (results as `u64` bit patterns of the `i64`s).
#[inline(always)]
pub(crate) fn split_fixed_lanes<S: Math>(s: S, x: S::F) -> (S::U, S::U) {
    let limit = s.splat(FIXED_SPLIT_LIMIT);
    let scaled = s.mul(x, s.splat(FIXED_SCALE));
    let scaled = s.min_sel(scaled, limit);
    let scaled = s.max_sel(scaled, s.neg(limit));
    let t = s.trunc(scaled);
    let hi = s.floor(s.mul(t, s.splat(1.0 / 4_294_967_296.0)));
    // Exact: the difference is an integer in [0, 2^32).
    let lo = s.mul_add(s.neg(hi), s.splat(4_294_967_296.0), t);
    (f64_int_to_i64(s, hi), f64_int_to_i64(s, lo))
}

/// An integer-valued `f64` with |v| < 2^51 as the bits of an `i64` (exact),
/// without the packed `f64 → i64` conversion that AVX2 lacks.
#[inline(always)]
fn f64_int_to_i64<S: Math>(s: S, v: S::F) -> S::U {
    let magic = s.splat(ROUND_MAGIC);
    s.sub_u(s.to_bits(s.add(v, magic)), s.to_bits(magic))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference `1 − (1 − c)^(1/12)` from libm's correctly-rounded-ish
    /// `ln_1p`/`exp_m1` (each < 1 ulp), so within ~2 ulps relative.
    fn reference(c: f64) -> f64 {
        -((-c).ln_1p() / 12.0).exp_m1()
    }

    fn ulps(a: f64, b: f64) -> f64 {
        let scale = b.abs().max(f64::MIN_POSITIVE);
        (a - b).abs() / (scale * f64::EPSILON)
    }

    #[test]
    fn smm_is_accurate_in_relative_terms() {
        let mut worst: f64 = 0.0;
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut check = |c: f64| {
            let got = smm_from_cpr(c);
            let want = reference(c);
            let u = ulps(got, want);
            worst = worst.max(u);
            assert!(u <= 4.0, "cpr {c:e}: got {got:e}, want {want:e} ({u} ulps)");
        };
        for c in [
            0.0, 1e-300, 1e-20, 1e-12, 1e-6, 1e-3, 0.01, 0.06, 0.25, 0.2928, 0.2930, 0.3, 0.5,
            0.75, 0.9, 0.95, 0.984, 0.99, 0.999, 0.999_999,
        ] {
            check(c);
        }
        for _ in 0..200_000 {
            // xorshift64*: uniform in [0, 1) and log-uniform small values.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let u = (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64;
            check(u);
            check(10f64.powf(-12.0 * u));
        }
        assert!(worst <= 4.0, "{worst}");
    }

    #[test]
    fn capped_variant_gives_the_same_bits() {
        let mut c = 0.0;
        while c <= SMM_CAPPED_MAX_CPR {
            for x in [c, c + 1e-9, c * 0.999_999_7] {
                assert_eq!(
                    smm_lanes_capped(Scalar, x).to_bits(),
                    smm_lanes(Scalar, x).to_bits(),
                    "{x}"
                );
            }
            c += 1.3e-4;
        }
        for x in [0.0, 1e-300, 1e-12, 0.5, 0.98, 0.984] {
            assert_eq!(
                smm_lanes_capped(Scalar, x).to_bits(),
                smm_lanes(Scalar, x).to_bits()
            );
        }
    }

    #[test]
    fn smm_edge_cases() {
        assert_eq!(smm_from_cpr(0.0).to_bits(), 0.0f64.to_bits());
        assert_eq!(smm_from_cpr(1.0), 1.0);
        assert!(smm_from_cpr(f64::NAN).is_nan());
        // The textbook figure: 6 CPR ≈ 0.514 % SMM.
        assert!((smm_from_cpr(0.06) - 0.005_143_013).abs() < 1e-9);
        // Monotone over a fine grid.
        let mut prev = -1.0;
        for i in 0..=100_000 {
            let s = smm_from_cpr(i as f64 / 100_000.0);
            assert!(s >= prev, "{i}");
            prev = s;
        }
    }

    #[test]
    fn split_fixed_matches_to_fixed() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for i in 0..200_000 {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let r = state.wrapping_mul(0x2545_f491_4f6c_dd1d);
            let mag = 10f64.powf((r >> 40) as f64 / (1u64 << 24) as f64 * 28.0 - 20.0);
            let x = if r & 1 == 0 { mag } else { -mag };
            let x = if i % 97 == 0 { x.trunc() } else { x };
            let (hi, lo) = split_fixed(x);
            assert!((0..1i64 << 32).contains(&lo), "{x}");
            let got = ((hi as i128) << 32) + lo as i128;
            assert_eq!(got, msr_core::fixed::to_fixed(x), "{x:e}");
        }
        for x in [
            0.0,
            -0.0,
            1e-300,
            -1e-300,
            2f64.powi(-48),
            -(2f64.powi(-48)),
            1.5e10,
            -1.5e10,
        ] {
            let (hi, lo) = split_fixed(x);
            assert_eq!(
                ((hi as i128) << 32) + lo as i128,
                msr_core::fixed::to_fixed(x),
                "{x:e}"
            );
        }
    }
}
