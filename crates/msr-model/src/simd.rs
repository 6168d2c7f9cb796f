//! Explicit SIMD for the hot loops, with the instruction set chosen at run time.
//!
//! The release build targets plain x86-64 (SSE2), and LLVM's auto-vectoriser
//! gives up on a loop body as long as one month of the kernel (it leaves it as
//! scalar code). So the hot code is written once, generically, against the
//! [`Math`] / [`Lanes`] traits (vectors of [`LANES`] `f64` / `u64`), and
//! instantiated for:
//!
//! * `Avx512`: one `zmm` register per vector (x86-64-v4 class CPUs);
//! * `Avx2`: two `ymm` registers per vector, with FMA (x86-64-v3 class);
//! * `Portable`: plain arrays, any CPU (`mul_add` is then libm's `fma`);
//! * `Scalar` (one lane, `f64` itself): the scalar APIs that must agree with
//!   the kernel bit for bit (note pricing's [`crate::chain::step`],
//!   [`crate::chain::smm_from_cpr`], [`crate::LoanTerms::cpr`]).
//!
//! Every operation is an exactly specified IEEE operation (add, sub, mul, div,
//! fused multiply-add, compare-select, round to integer, bit operations), so
//! all four give **identical bits**; the kernel's tests check this.
//!
//! [`level`] picks the best level once per process with
//! `is_x86_feature_detected!`; `MSR_SIMD=portable|avx2|avx512` lowers it
//! (never above what the CPU has) for benchmarks and tests.
//!
//! This is the only module of the crate with `unsafe`. Two kinds:
//! * intrinsics (`core::arch`) in the `Avx2`/`Avx512` impls. Their soundness
//!   rests on the tokens: `Avx2`/`Avx512` have a private field and are only
//!   created inside the `#[target_feature]` copies of the kernels, which run
//!   only after run-time detection (below), so an op can only run on a CPU
//!   that has the feature. Unaligned loads and stores take `&[_; LANES]`
//!   references, so they are always in bounds.
//! * calls of the `#[target_feature]` copies of the kernel, guarded by
//!   [`level`], which never exceeds what was detected.
#![allow(unsafe_code)]

use std::sync::atomic::{AtomicU8, Ordering};

use crate::lanes::{HALF, LANES};

/// Arithmetic on a vector of `f64` (`F`) with a matching vector of `u64` bit
/// patterns (`U`). Each method is one IEEE-exact operation, so every
/// implementation gives the same bits lane by lane.
pub(crate) trait Math: Copy {
    /// A vector of `f64`.
    type F: Copy;
    /// A vector of `u64`, same lane count.
    type U: Copy;
    fn splat(self, x: f64) -> Self::F;
    fn add(self, a: Self::F, b: Self::F) -> Self::F;
    fn sub(self, a: Self::F, b: Self::F) -> Self::F;
    fn mul(self, a: Self::F, b: Self::F) -> Self::F;
    fn div(self, a: Self::F, b: Self::F) -> Self::F;
    /// `a·b + c` with one rounding.
    fn mul_add(self, a: Self::F, b: Self::F, c: Self::F) -> Self::F;
    /// `-a` (sign flip).
    fn neg(self, a: Self::F) -> Self::F;
    /// `|a|` (sign cleared).
    fn abs(self, a: Self::F) -> Self::F;
    /// `if a < b { a } else { b }` (so a NaN `a` gives `b`): x86 `minpd`.
    fn min_sel(self, a: Self::F, b: Self::F) -> Self::F;
    /// `if a > b { a } else { b }`: x86 `maxpd`.
    fn max_sel(self, a: Self::F, b: Self::F) -> Self::F;
    /// `if a < b { x } else { y }` (ordered: false for NaN).
    fn select_lt(self, a: Self::F, b: Self::F, x: Self::F, y: Self::F) -> Self::F;
    /// `if a == b { x } else { y }` (ordered).
    fn select_eq(self, a: Self::F, b: Self::F, x: Self::F, y: Self::F) -> Self::F;
    fn trunc(self, a: Self::F) -> Self::F;
    fn floor(self, a: Self::F) -> Self::F;
    fn to_bits(self, a: Self::F) -> Self::U;
    #[allow(clippy::wrong_self_convention)]
    fn from_bits(self, a: Self::U) -> Self::F;
    fn splat_u(self, x: u64) -> Self::U;
    /// Wrapping.
    fn add_u(self, a: Self::U, b: Self::U) -> Self::U;
    /// Wrapping.
    fn sub_u(self, a: Self::U, b: Self::U) -> Self::U;
    fn and_u(self, a: Self::U, b: Self::U) -> Self::U;
    fn or_u(self, a: Self::U, b: Self::U) -> Self::U;
    /// Logical shift right by 52 (the exponent field of an `f64`).
    fn shr52(self, a: Self::U) -> Self::U;
    /// Shift left by 52.
    fn shl52(self, a: Self::U) -> Self::U;
    /// Logical shift right by 48 (the exponent and top four mantissa bits).
    fn shr48(self, a: Self::U) -> Self::U;
    /// `table[i & 7]` in each lane (in-register permutes on AVX-512 and AVX2).
    fn lookup8(self, table: &'static [f64; 8], i: Self::U) -> Self::F;
    /// `table[i & 15]` in each lane (a two-register permute on AVX-512, four
    /// permutes and three blends on AVX2).
    fn lookup16(self, table: &'static [f64; 16], i: Self::U) -> Self::F;
    /// `t = trunc(v)` as an `i64` split into `(t >> 32, t & (2^32 − 1))`
    /// (arithmetic shift; both as `u64` bit patterns) when `|v| < 2^63`; for
    /// larger magnitudes and NaN, the halves of `i64::MIN` (what x86's
    /// `cvttpd2qq` gives there).
    fn split_trunc(self, v: Self::F) -> (Self::U, Self::U);
}

/// `i64::MIN >> 32` (arithmetic): the high half of an out-of-range
/// [`Math::split_trunc`].
const SPLIT_OUT_HI: u64 = 0xffff_ffff_8000_0000;
/// `2^63` as `f64`.
const TWO_63: f64 = 9_223_372_036_854_775_808.0;

/// [`Math::split_trunc`] from exact floating-point steps (for instruction
/// sets without a packed `f64 → i64` conversion): `trunc`, then the high half
/// by a floor of `t·2^-32` and the low half by an exact FMA, each converted
/// with the `1.5·2^52` bias.
#[inline(always)]
fn split_trunc_float<S: Math>(s: S, v: S::F) -> (S::U, S::U) {
    let bound = s.splat(TWO_63);
    // Clamped so every step stays finite; out-of-range lanes are replaced.
    let c = s.max_sel(s.min_sel(v, bound), s.neg(bound));
    let t = s.trunc(c);
    let hi = s.floor(s.mul(t, s.splat(1.0 / 4_294_967_296.0)));
    // Exact: the difference is an integer in [0, 2^32).
    let lo = s.mul_add(s.neg(hi), s.splat(4_294_967_296.0), t);
    // (No closures here: they would not inherit the caller's target features
    // and would be called out of line.)
    let (hi, lo) = (int_valued_to_i64(s, hi), int_valued_to_i64(s, lo));
    let ok = s.abs(v);
    let limit = s.splat(TWO_63);
    let hi = s.select_lt(
        ok,
        limit,
        s.from_bits(hi),
        s.from_bits(s.splat_u(SPLIT_OUT_HI)),
    );
    let lo = s.select_lt(ok, limit, s.from_bits(lo), s.from_bits(s.splat_u(0)));
    (s.to_bits(hi), s.to_bits(lo))
}

/// An integer-valued `f64` with |v| < 2^51 as the bits of an `i64` (exact),
/// by the `1.5·2^52` bias.
#[inline(always)]
pub(crate) fn int_valued_to_i64<S: Math>(s: S, v: S::F) -> S::U {
    let magic = s.splat(6_755_399_441_055_744.0);
    s.sub_u(s.to_bits(s.add(v, magic)), s.to_bits(magic))
}

/// [`Math`] on exactly [`LANES`] lanes, with loads and stores, and sums
/// folded onto [`HALF`] lanes.
pub(crate) trait Lanes: Math {
    /// [`HALF`] lanes: a sum over lanes `j` and `j + HALF` in lane `j`.
    type H: Copy;
    fn load(self, a: &[f64; LANES]) -> Self::F;
    fn store(self, a: &mut [f64; LANES], v: Self::F);
    fn load_u(self, a: &[i64; LANES]) -> Self::U;
    fn store_u(self, a: &mut [i64; LANES], v: Self::U);
    fn zero_h(self) -> Self::H;
    fn load_h(self, a: &[f64; HALF]) -> Self::H;
    fn store_h(self, a: &mut [f64; HALF], v: Self::H);
    /// `acc[j] + a[j]·b[j] + a[j+HALF]·b[j+HALF]` as two fused
    /// multiply-adds, the low half first: the same bits on every level.
    /// Where only a sum over lanes is wanted, this keeps half the
    /// accumulators of a per-lane sum (one 256-bit register on AVX2 rather
    /// than two) with no shuffle.
    fn fold_mul_add(self, a: Self::F, b: Self::F, acc: Self::H) -> Self::H;
}

/// One lane: plain `f64`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scalar;

impl Math for Scalar {
    type F = f64;
    type U = u64;
    #[inline(always)]
    fn splat(self, x: f64) -> f64 {
        x
    }
    #[inline(always)]
    fn add(self, a: f64, b: f64) -> f64 {
        a + b
    }
    #[inline(always)]
    fn sub(self, a: f64, b: f64) -> f64 {
        a - b
    }
    #[inline(always)]
    fn mul(self, a: f64, b: f64) -> f64 {
        a * b
    }
    #[inline(always)]
    fn div(self, a: f64, b: f64) -> f64 {
        a / b
    }
    #[inline(always)]
    fn mul_add(self, a: f64, b: f64, c: f64) -> f64 {
        a.mul_add(b, c)
    }
    #[inline(always)]
    fn neg(self, a: f64) -> f64 {
        -a
    }
    #[inline(always)]
    fn abs(self, a: f64) -> f64 {
        a.abs()
    }
    #[inline(always)]
    fn min_sel(self, a: f64, b: f64) -> f64 {
        if a < b {
            a
        } else {
            b
        }
    }
    #[inline(always)]
    fn max_sel(self, a: f64, b: f64) -> f64 {
        if a > b {
            a
        } else {
            b
        }
    }
    #[inline(always)]
    fn select_lt(self, a: f64, b: f64, x: f64, y: f64) -> f64 {
        if a < b {
            x
        } else {
            y
        }
    }
    #[inline(always)]
    fn select_eq(self, a: f64, b: f64, x: f64, y: f64) -> f64 {
        if a == b {
            x
        } else {
            y
        }
    }
    #[inline(always)]
    fn trunc(self, a: f64) -> f64 {
        a.trunc()
    }
    #[inline(always)]
    fn floor(self, a: f64) -> f64 {
        a.floor()
    }
    #[inline(always)]
    fn to_bits(self, a: f64) -> u64 {
        a.to_bits()
    }
    #[inline(always)]
    fn from_bits(self, a: u64) -> f64 {
        f64::from_bits(a)
    }
    #[inline(always)]
    fn splat_u(self, x: u64) -> u64 {
        x
    }
    #[inline(always)]
    fn add_u(self, a: u64, b: u64) -> u64 {
        a.wrapping_add(b)
    }
    #[inline(always)]
    fn sub_u(self, a: u64, b: u64) -> u64 {
        a.wrapping_sub(b)
    }
    #[inline(always)]
    fn and_u(self, a: u64, b: u64) -> u64 {
        a & b
    }
    #[inline(always)]
    fn or_u(self, a: u64, b: u64) -> u64 {
        a | b
    }
    #[inline(always)]
    fn shr52(self, a: u64) -> u64 {
        a >> 52
    }
    #[inline(always)]
    fn shl52(self, a: u64) -> u64 {
        a << 52
    }
    #[inline(always)]
    fn shr48(self, a: u64) -> u64 {
        a >> 48
    }
    #[inline(always)]
    fn lookup8(self, table: &'static [f64; 8], i: u64) -> f64 {
        table[(i & 7) as usize]
    }
    #[inline(always)]
    fn lookup16(self, table: &'static [f64; 16], i: u64) -> f64 {
        table[(i & 15) as usize]
    }
    #[inline(always)]
    fn split_trunc(self, v: f64) -> (u64, u64) {
        if v.abs() < TWO_63 {
            let t = v as i64;
            ((t >> 32) as u64, (t & 0xffff_ffff) as u64)
        } else {
            (SPLIT_OUT_HI, 0)
        }
    }
}

/// [`LANES`] lanes as plain arrays, one [`Scalar`] op per lane: the baseline.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Portable;

macro_rules! lanewise {
    ($($a:ident),+ => $e:expr) => {
        std::array::from_fn(|l| {
            $(let $a = $a[l];)+
            $e
        })
    };
}

impl Math for Portable {
    type F = [f64; LANES];
    type U = [u64; LANES];
    #[inline(always)]
    fn splat(self, x: f64) -> Self::F {
        [x; LANES]
    }
    #[inline(always)]
    fn add(self, a: Self::F, b: Self::F) -> Self::F {
        lanewise!(a, b => a + b)
    }
    #[inline(always)]
    fn sub(self, a: Self::F, b: Self::F) -> Self::F {
        lanewise!(a, b => a - b)
    }
    #[inline(always)]
    fn mul(self, a: Self::F, b: Self::F) -> Self::F {
        lanewise!(a, b => a * b)
    }
    #[inline(always)]
    fn div(self, a: Self::F, b: Self::F) -> Self::F {
        lanewise!(a, b => a / b)
    }
    #[inline(always)]
    fn mul_add(self, a: Self::F, b: Self::F, c: Self::F) -> Self::F {
        lanewise!(a, b, c => a.mul_add(b, c))
    }
    #[inline(always)]
    fn neg(self, a: Self::F) -> Self::F {
        lanewise!(a => -a)
    }
    #[inline(always)]
    fn abs(self, a: Self::F) -> Self::F {
        lanewise!(a => a.abs())
    }
    #[inline(always)]
    fn min_sel(self, a: Self::F, b: Self::F) -> Self::F {
        lanewise!(a, b => Scalar.min_sel(a, b))
    }
    #[inline(always)]
    fn max_sel(self, a: Self::F, b: Self::F) -> Self::F {
        lanewise!(a, b => Scalar.max_sel(a, b))
    }
    #[inline(always)]
    fn select_lt(self, a: Self::F, b: Self::F, x: Self::F, y: Self::F) -> Self::F {
        lanewise!(a, b, x, y => Scalar.select_lt(a, b, x, y))
    }
    #[inline(always)]
    fn select_eq(self, a: Self::F, b: Self::F, x: Self::F, y: Self::F) -> Self::F {
        lanewise!(a, b, x, y => Scalar.select_eq(a, b, x, y))
    }
    #[inline(always)]
    fn trunc(self, a: Self::F) -> Self::F {
        lanewise!(a => a.trunc())
    }
    #[inline(always)]
    fn floor(self, a: Self::F) -> Self::F {
        lanewise!(a => a.floor())
    }
    #[inline(always)]
    fn to_bits(self, a: Self::F) -> Self::U {
        lanewise!(a => a.to_bits())
    }
    #[inline(always)]
    fn from_bits(self, a: Self::U) -> Self::F {
        lanewise!(a => f64::from_bits(a))
    }
    #[inline(always)]
    fn splat_u(self, x: u64) -> Self::U {
        [x; LANES]
    }
    #[inline(always)]
    fn add_u(self, a: Self::U, b: Self::U) -> Self::U {
        lanewise!(a, b => a.wrapping_add(b))
    }
    #[inline(always)]
    fn sub_u(self, a: Self::U, b: Self::U) -> Self::U {
        lanewise!(a, b => a.wrapping_sub(b))
    }
    #[inline(always)]
    fn and_u(self, a: Self::U, b: Self::U) -> Self::U {
        lanewise!(a, b => a & b)
    }
    #[inline(always)]
    fn or_u(self, a: Self::U, b: Self::U) -> Self::U {
        lanewise!(a, b => a | b)
    }
    #[inline(always)]
    fn shr52(self, a: Self::U) -> Self::U {
        lanewise!(a => a >> 52)
    }
    #[inline(always)]
    fn shl52(self, a: Self::U) -> Self::U {
        lanewise!(a => a << 52)
    }
    #[inline(always)]
    fn shr48(self, a: Self::U) -> Self::U {
        lanewise!(a => a >> 48)
    }
    #[inline(always)]
    fn lookup8(self, table: &'static [f64; 8], i: Self::U) -> Self::F {
        lanewise!(i => table[(i & 7) as usize])
    }
    #[inline(always)]
    fn lookup16(self, table: &'static [f64; 16], i: Self::U) -> Self::F {
        lanewise!(i => table[(i & 15) as usize])
    }
    #[inline(always)]
    fn split_trunc(self, v: Self::F) -> (Self::U, Self::U) {
        let halves: [(u64, u64); LANES] = lanewise!(v => Scalar.split_trunc(v));
        (halves.map(|h| h.0), halves.map(|h| h.1))
    }
}

impl Lanes for Portable {
    type H = [f64; HALF];
    #[inline(always)]
    fn load(self, a: &[f64; LANES]) -> Self::F {
        *a
    }
    #[inline(always)]
    fn zero_h(self) -> Self::H {
        [0.0; HALF]
    }
    #[inline(always)]
    fn load_h(self, a: &[f64; HALF]) -> Self::H {
        *a
    }
    #[inline(always)]
    fn store_h(self, a: &mut [f64; HALF], v: Self::H) {
        *a = v;
    }
    #[inline(always)]
    fn fold_mul_add(self, a: Self::F, b: Self::F, acc: Self::H) -> Self::H {
        std::array::from_fn(|j| a[j + HALF].mul_add(b[j + HALF], a[j].mul_add(b[j], acc[j])))
    }
    #[inline(always)]
    fn store(self, a: &mut [f64; LANES], v: Self::F) {
        *a = v;
    }
    #[inline(always)]
    fn load_u(self, a: &[i64; LANES]) -> Self::U {
        a.map(|x| x as u64)
    }
    #[inline(always)]
    fn store_u(self, a: &mut [i64; LANES], v: Self::U) {
        *a = v.map(|x| x as i64);
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::*;
    use std::arch::x86_64::*;

    // The vectors below are exactly LANES = 8 doubles.
    const _: () = assert!(LANES == 8);

    /// Proof that the CPU has AVX-512 F/DQ/VL/BW, AVX2 and FMA.
    #[derive(Debug, Clone, Copy)]
    pub(crate) struct Avx512 {
        _private: (),
    }

    /// Proof that the CPU has AVX2 and FMA.
    #[derive(Debug, Clone, Copy)]
    pub(crate) struct Avx2 {
        _private: (),
    }

    // Predicates of `_mm*_cmp_pd`: ordered, non-signalling.
    const CMP_LT_OQ: i32 = 0x11;
    const CMP_EQ_OQ: i32 = 0x00;
    // Rounding immediates: toward zero / toward −∞, precision exception suppressed.
    const ROUND_TRUNC: i32 = 0x0B;
    const ROUND_FLOOR: i32 = 0x09;

    /// The four-lane half vectors of `Lanes`, one `ymm` register on both
    /// x86 levels (an `Avx512` token implies AVX2 too); used inside each
    /// level's `impl Lanes`, whose SAFETY note covers these blocks (loads
    /// and stores go through `&[f64; HALF]`: 32 valid bytes).
    macro_rules! ymm_half {
        () => {
            type H = __m256d;
            #[inline(always)]
            fn zero_h(self) -> __m256d {
                unsafe { _mm256_setzero_pd() }
            }
            #[inline(always)]
            fn load_h(self, a: &[f64; HALF]) -> __m256d {
                unsafe { _mm256_loadu_pd(a.as_ptr()) }
            }
            #[inline(always)]
            fn store_h(self, a: &mut [f64; HALF], v: __m256d) {
                unsafe { _mm256_storeu_pd(a.as_mut_ptr(), v) }
            }
        };
    }

    // SAFETY (every `unsafe` block in this impl): an `Avx512` value exists only
    // if `detected()` found AVX-512 F/DQ/VL/BW on this CPU (its field is
    // private to this module, which creates it only in the dispatched
    // `#[target_feature]` functions below), so each intrinsic
    // runs on a CPU that has its feature. Loads and stores go through
    // `&[_; 8]`, i.e. 64 valid bytes.
    impl Math for Avx512 {
        type F = __m512d;
        type U = __m512i;
        #[inline(always)]
        fn splat(self, x: f64) -> __m512d {
            unsafe { _mm512_set1_pd(x) }
        }
        #[inline(always)]
        fn add(self, a: __m512d, b: __m512d) -> __m512d {
            unsafe { _mm512_add_pd(a, b) }
        }
        #[inline(always)]
        fn sub(self, a: __m512d, b: __m512d) -> __m512d {
            unsafe { _mm512_sub_pd(a, b) }
        }
        #[inline(always)]
        fn mul(self, a: __m512d, b: __m512d) -> __m512d {
            unsafe { _mm512_mul_pd(a, b) }
        }
        #[inline(always)]
        fn div(self, a: __m512d, b: __m512d) -> __m512d {
            unsafe { _mm512_div_pd(a, b) }
        }
        #[inline(always)]
        fn mul_add(self, a: __m512d, b: __m512d, c: __m512d) -> __m512d {
            unsafe { _mm512_fmadd_pd(a, b, c) }
        }
        #[inline(always)]
        fn neg(self, a: __m512d) -> __m512d {
            unsafe { _mm512_xor_pd(a, _mm512_set1_pd(-0.0)) }
        }
        #[inline(always)]
        fn abs(self, a: __m512d) -> __m512d {
            unsafe { _mm512_andnot_pd(_mm512_set1_pd(-0.0), a) }
        }
        #[inline(always)]
        fn min_sel(self, a: __m512d, b: __m512d) -> __m512d {
            unsafe { _mm512_min_pd(a, b) }
        }
        #[inline(always)]
        fn max_sel(self, a: __m512d, b: __m512d) -> __m512d {
            unsafe { _mm512_max_pd(a, b) }
        }
        #[inline(always)]
        fn select_lt(self, a: __m512d, b: __m512d, x: __m512d, y: __m512d) -> __m512d {
            unsafe { _mm512_mask_blend_pd(_mm512_cmp_pd_mask::<CMP_LT_OQ>(a, b), y, x) }
        }
        #[inline(always)]
        fn select_eq(self, a: __m512d, b: __m512d, x: __m512d, y: __m512d) -> __m512d {
            unsafe { _mm512_mask_blend_pd(_mm512_cmp_pd_mask::<CMP_EQ_OQ>(a, b), y, x) }
        }
        #[inline(always)]
        fn trunc(self, a: __m512d) -> __m512d {
            unsafe { _mm512_roundscale_pd::<ROUND_TRUNC>(a) }
        }
        #[inline(always)]
        fn floor(self, a: __m512d) -> __m512d {
            unsafe { _mm512_roundscale_pd::<ROUND_FLOOR>(a) }
        }
        #[inline(always)]
        fn to_bits(self, a: __m512d) -> __m512i {
            unsafe { _mm512_castpd_si512(a) }
        }
        #[inline(always)]
        fn from_bits(self, a: __m512i) -> __m512d {
            unsafe { _mm512_castsi512_pd(a) }
        }
        #[inline(always)]
        fn splat_u(self, x: u64) -> __m512i {
            unsafe { _mm512_set1_epi64(x as i64) }
        }
        #[inline(always)]
        fn add_u(self, a: __m512i, b: __m512i) -> __m512i {
            unsafe { _mm512_add_epi64(a, b) }
        }
        #[inline(always)]
        fn sub_u(self, a: __m512i, b: __m512i) -> __m512i {
            unsafe { _mm512_sub_epi64(a, b) }
        }
        #[inline(always)]
        fn and_u(self, a: __m512i, b: __m512i) -> __m512i {
            unsafe { _mm512_and_si512(a, b) }
        }
        #[inline(always)]
        fn or_u(self, a: __m512i, b: __m512i) -> __m512i {
            unsafe { _mm512_or_si512(a, b) }
        }
        #[inline(always)]
        fn shr52(self, a: __m512i) -> __m512i {
            unsafe { _mm512_srli_epi64::<52>(a) }
        }
        #[inline(always)]
        fn shl52(self, a: __m512i) -> __m512i {
            unsafe { _mm512_slli_epi64::<52>(a) }
        }
        #[inline(always)]
        fn shr48(self, a: __m512i) -> __m512i {
            unsafe { _mm512_srli_epi64::<48>(a) }
        }
        #[inline(always)]
        fn lookup8(self, table: &'static [f64; 8], i: __m512i) -> __m512d {
            // vpermpd reads the low three bits of each index.
            unsafe { _mm512_permutexvar_pd(i, _mm512_loadu_pd(table.as_ptr())) }
        }
        #[inline(always)]
        fn lookup16(self, table: &'static [f64; 16], i: __m512i) -> __m512d {
            // vpermt2pd reads the low four bits: bit 3 picks the register.
            unsafe {
                _mm512_permutex2var_pd(
                    _mm512_loadu_pd(table.as_ptr()),
                    i,
                    _mm512_loadu_pd(table.as_ptr().add(8)),
                )
            }
        }
        #[inline(always)]
        fn split_trunc(self, v: __m512d) -> (__m512i, __m512i) {
            // vcvttpd2qq truncates, and gives i64::MIN out of range or for NaN.
            unsafe {
                let t = _mm512_cvttpd_epi64(v);
                (
                    _mm512_srai_epi64::<32>(t),
                    _mm512_and_si512(t, _mm512_set1_epi64(0xffff_ffff)),
                )
            }
        }
    }

    // SAFETY: as for `Math for Avx512`.
    impl Lanes for Avx512 {
        #[inline(always)]
        fn load(self, a: &[f64; LANES]) -> __m512d {
            unsafe { _mm512_loadu_pd(a.as_ptr()) }
        }
        ymm_half!();
        #[inline(always)]
        fn fold_mul_add(self, a: __m512d, b: __m512d, acc: __m256d) -> __m256d {
            unsafe {
                let low =
                    _mm256_fmadd_pd(_mm512_castpd512_pd256(a), _mm512_castpd512_pd256(b), acc);
                _mm256_fmadd_pd(
                    _mm512_extractf64x4_pd::<1>(a),
                    _mm512_extractf64x4_pd::<1>(b),
                    low,
                )
            }
        }
        #[inline(always)]
        fn store(self, a: &mut [f64; LANES], v: __m512d) {
            unsafe { _mm512_storeu_pd(a.as_mut_ptr(), v) }
        }
        #[inline(always)]
        fn load_u(self, a: &[i64; LANES]) -> __m512i {
            unsafe { _mm512_loadu_epi64(a.as_ptr()) }
        }
        #[inline(always)]
        fn store_u(self, a: &mut [i64; LANES], v: __m512i) {
            unsafe { _mm512_storeu_epi64(a.as_mut_ptr(), v) }
        }
    }

    /// Apply a 256-bit op to both halves.
    macro_rules! halves {
        ($($a:ident),+ => $e:expr) => {
            [
                { $(let $a = $a[0];)+ $e },
                { $(let $a = $a[1];)+ $e },
            ]
        };
    }

    /// For each 64-bit lane holding `i`, the `vpermps` indices of element
    /// `i & 3` of four `f64`s: 32-bit halves `2i` and `2i + 1` (`vpermps`
    /// reads their low three bits).
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[inline(always)]
    unsafe fn quad_index(i: __m256i) -> __m256i {
        let twice = _mm256_slli_epi64::<1>(i);
        // Copy each lane's low half to its high half, then add 1 there.
        _mm256_add_epi32(
            _mm256_shuffle_epi32::<0xA0>(twice),
            _mm256_set_epi32(1, 0, 1, 0, 1, 0, 1, 0),
        )
    }

    /// `table[i & 3]` per lane for the four `f64`s at `table`, with
    /// `at = quad_index(i)`.
    ///
    /// # Safety
    /// The CPU must have AVX2 and `table` must point to four valid `f64`s.
    #[inline(always)]
    unsafe fn quad_pick(table: *const f64, at: __m256i) -> __m256d {
        let t = _mm256_castpd_ps(_mm256_loadu_pd(table));
        _mm256_castps_pd(_mm256_permutevar8x32_ps(t, at))
    }

    /// Bit `63 − S` of each lane moved to the sign bit, as a `blendv` mask.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[inline(always)]
    unsafe fn bit_to_sign<const S: i32>(i: __m256i) -> __m256d {
        _mm256_castsi256_pd(_mm256_slli_epi64::<S>(i))
    }

    // SAFETY (every `unsafe` block in this impl): an `Avx2` value exists only
    // if `detected()` found AVX2 and FMA (private field; created only in the
    // dispatched functions below). Loads and stores go through `&[_; 8]`, i.e. two
    // valid 32-byte halves; the lookups read four `f64`s at offsets 0 and 4
    // (and 8 and 12) of their eight- (sixteen-) entry table.
    impl Math for Avx2 {
        type F = [__m256d; 2];
        type U = [__m256i; 2];
        #[inline(always)]
        fn splat(self, x: f64) -> Self::F {
            let v = unsafe { _mm256_set1_pd(x) };
            [v, v]
        }
        #[inline(always)]
        fn add(self, a: Self::F, b: Self::F) -> Self::F {
            halves!(a, b => unsafe { _mm256_add_pd(a, b) })
        }
        #[inline(always)]
        fn sub(self, a: Self::F, b: Self::F) -> Self::F {
            halves!(a, b => unsafe { _mm256_sub_pd(a, b) })
        }
        #[inline(always)]
        fn mul(self, a: Self::F, b: Self::F) -> Self::F {
            halves!(a, b => unsafe { _mm256_mul_pd(a, b) })
        }
        #[inline(always)]
        fn div(self, a: Self::F, b: Self::F) -> Self::F {
            halves!(a, b => unsafe { _mm256_div_pd(a, b) })
        }
        #[inline(always)]
        fn mul_add(self, a: Self::F, b: Self::F, c: Self::F) -> Self::F {
            halves!(a, b, c => unsafe { _mm256_fmadd_pd(a, b, c) })
        }
        #[inline(always)]
        fn neg(self, a: Self::F) -> Self::F {
            halves!(a => unsafe { _mm256_xor_pd(a, _mm256_set1_pd(-0.0)) })
        }
        #[inline(always)]
        fn abs(self, a: Self::F) -> Self::F {
            halves!(a => unsafe { _mm256_andnot_pd(_mm256_set1_pd(-0.0), a) })
        }
        #[inline(always)]
        fn min_sel(self, a: Self::F, b: Self::F) -> Self::F {
            halves!(a, b => unsafe { _mm256_min_pd(a, b) })
        }
        #[inline(always)]
        fn max_sel(self, a: Self::F, b: Self::F) -> Self::F {
            halves!(a, b => unsafe { _mm256_max_pd(a, b) })
        }
        #[inline(always)]
        fn select_lt(self, a: Self::F, b: Self::F, x: Self::F, y: Self::F) -> Self::F {
            halves!(a, b, x, y => unsafe {
                _mm256_blendv_pd(y, x, _mm256_cmp_pd::<CMP_LT_OQ>(a, b))
            })
        }
        #[inline(always)]
        fn select_eq(self, a: Self::F, b: Self::F, x: Self::F, y: Self::F) -> Self::F {
            halves!(a, b, x, y => unsafe {
                _mm256_blendv_pd(y, x, _mm256_cmp_pd::<CMP_EQ_OQ>(a, b))
            })
        }
        #[inline(always)]
        fn trunc(self, a: Self::F) -> Self::F {
            halves!(a => unsafe { _mm256_round_pd::<ROUND_TRUNC>(a) })
        }
        #[inline(always)]
        fn floor(self, a: Self::F) -> Self::F {
            halves!(a => unsafe { _mm256_round_pd::<ROUND_FLOOR>(a) })
        }
        #[inline(always)]
        fn to_bits(self, a: Self::F) -> Self::U {
            halves!(a => unsafe { _mm256_castpd_si256(a) })
        }
        #[inline(always)]
        fn from_bits(self, a: Self::U) -> Self::F {
            halves!(a => unsafe { _mm256_castsi256_pd(a) })
        }
        #[inline(always)]
        fn splat_u(self, x: u64) -> Self::U {
            let v = unsafe { _mm256_set1_epi64x(x as i64) };
            [v, v]
        }
        #[inline(always)]
        fn add_u(self, a: Self::U, b: Self::U) -> Self::U {
            halves!(a, b => unsafe { _mm256_add_epi64(a, b) })
        }
        #[inline(always)]
        fn sub_u(self, a: Self::U, b: Self::U) -> Self::U {
            halves!(a, b => unsafe { _mm256_sub_epi64(a, b) })
        }
        #[inline(always)]
        fn and_u(self, a: Self::U, b: Self::U) -> Self::U {
            halves!(a, b => unsafe { _mm256_and_si256(a, b) })
        }
        #[inline(always)]
        fn or_u(self, a: Self::U, b: Self::U) -> Self::U {
            halves!(a, b => unsafe { _mm256_or_si256(a, b) })
        }
        #[inline(always)]
        fn shr52(self, a: Self::U) -> Self::U {
            halves!(a => unsafe { _mm256_srli_epi64::<52>(a) })
        }
        #[inline(always)]
        fn shl52(self, a: Self::U) -> Self::U {
            halves!(a => unsafe { _mm256_slli_epi64::<52>(a) })
        }
        #[inline(always)]
        fn shr48(self, a: Self::U) -> Self::U {
            halves!(a => unsafe { _mm256_srli_epi64::<48>(a) })
        }
        // The tables are read with in-register permutes (`vpermps` and a
        // blend), not gathers: AVX2's `vgatherqpd` is slow on the cores we
        // run on, and the SMM does three lookups per block-month
        // (docs/PERFORMANCE.md, "The hot loop").
        #[inline(always)]
        fn lookup8(self, table: &'static [f64; 8], i: Self::U) -> Self::F {
            halves!(i => unsafe {
                let at = quad_index(i);
                let low = quad_pick(table.as_ptr(), at);
                let high = quad_pick(table.as_ptr().add(4), at);
                _mm256_blendv_pd(low, high, bit_to_sign::<61>(i))
            })
        }
        #[inline(always)]
        fn lookup16(self, table: &'static [f64; 16], i: Self::U) -> Self::F {
            halves!(i => unsafe {
                let at = quad_index(i);
                let bit2 = bit_to_sign::<61>(i);
                let low = _mm256_blendv_pd(
                    quad_pick(table.as_ptr(), at),
                    quad_pick(table.as_ptr().add(4), at),
                    bit2,
                );
                let high = _mm256_blendv_pd(
                    quad_pick(table.as_ptr().add(8), at),
                    quad_pick(table.as_ptr().add(12), at),
                    bit2,
                );
                _mm256_blendv_pd(low, high, bit_to_sign::<60>(i))
            })
        }
        #[inline(always)]
        fn split_trunc(self, v: Self::F) -> (Self::U, Self::U) {
            split_trunc_float(self, v)
        }
    }

    // SAFETY: as for `Math for Avx2`.
    impl Lanes for Avx2 {
        ymm_half!();
        #[inline(always)]
        fn fold_mul_add(self, a: Self::F, b: Self::F, acc: __m256d) -> __m256d {
            unsafe { _mm256_fmadd_pd(a[1], b[1], _mm256_fmadd_pd(a[0], b[0], acc)) }
        }
        #[inline(always)]
        fn load(self, a: &[f64; LANES]) -> Self::F {
            unsafe {
                [
                    _mm256_loadu_pd(a.as_ptr()),
                    _mm256_loadu_pd(a.as_ptr().add(4)),
                ]
            }
        }
        #[inline(always)]
        fn store(self, a: &mut [f64; LANES], v: Self::F) {
            unsafe {
                _mm256_storeu_pd(a.as_mut_ptr(), v[0]);
                _mm256_storeu_pd(a.as_mut_ptr().add(4), v[1]);
            }
        }
        #[inline(always)]
        fn load_u(self, a: &[i64; LANES]) -> Self::U {
            let p = a.as_ptr() as *const __m256i;
            unsafe { [_mm256_loadu_si256(p), _mm256_loadu_si256(p.add(1))] }
        }
        #[inline(always)]
        fn store_u(self, a: &mut [i64; LANES], v: Self::U) {
            let p = a.as_mut_ptr() as *mut __m256i;
            unsafe {
                _mm256_storeu_si256(p, v[0]);
                _mm256_storeu_si256(p.add(1), v[1]);
            }
        }
    }

    /// `body` compiled with AVX-512 (callable only after detection): the
    /// body's `with_lanes` is `#[inline(always)]`, so all of it is compiled
    /// here, with these features.
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,avx2,fma")]
    pub(super) unsafe fn avx512<W: WithLanes>(body: W) -> W::Output {
        body.with_lanes(Avx512 { _private: () })
    }

    /// `body` compiled with AVX2 and FMA (callable only after detection).
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn avx2<W: WithLanes>(body: W) -> W::Output {
        body.with_lanes(Avx2 { _private: () })
    }
}

/// An instruction-set level the kernels are compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Plain arrays, whatever the build target allows (SSE2 on x86-64).
    Portable = 1,
    /// AVX2 and FMA (x86-64-v3 class).
    Avx2 = 2,
    /// AVX-512 F/DQ/VL/BW plus AVX2 and FMA (x86-64-v4 class).
    Avx512 = 3,
}

impl Level {
    /// Every level, lowest first.
    pub const ALL: [Level; 3] = [Level::Portable, Level::Avx2, Level::Avx512];

    /// Lower-case name, as accepted by `MSR_SIMD`.
    pub fn name(self) -> &'static str {
        match self {
            Level::Portable => "portable",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }
}

static LEVEL: AtomicU8 = AtomicU8::new(0);

/// The best level this CPU supports.
pub fn detected() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx2") && has!("fma") {
            if has!("avx512f") && has!("avx512dq") && has!("avx512vl") && has!("avx512bw") {
                return Level::Avx512;
            }
            return Level::Avx2;
        }
    }
    Level::Portable
}

/// The level the kernels run at: [`detected`], lowered by `MSR_SIMD` if set.
/// Decided on first use and fixed for the process.
pub fn level() -> Level {
    match LEVEL.load(Ordering::Relaxed) {
        1 => Level::Portable,
        2 => Level::Avx2,
        3 => Level::Avx512,
        _ => {
            let best = detected();
            let wanted = match std::env::var("MSR_SIMD").ok().as_deref() {
                Some("portable") => Level::Portable,
                Some("avx2") => Level::Avx2,
                _ => best,
            };
            let chosen = wanted.min(best);
            LEVEL.store(chosen as u8, Ordering::Relaxed);
            chosen
        }
    }
}

/// A body written once against [`Lanes`] and run at an instruction-set level
/// by [`run_at`]: the pattern of pulp's `WithSimd`. The module that owns a
/// body implements this for a struct of its arguments (the kernel's
/// `RunBlock`, the rate factors' `Resolve`, …), so this module knows none of
/// them and the crate's imports run one way: `lanes` ← `simd` ← the rest.
///
/// `with_lanes` must be `#[inline(always)]`: the AVX copies are generic
/// `#[target_feature]` functions that call it, and only code inlined into
/// them is compiled with their features.
pub(crate) trait WithLanes {
    /// What the body returns.
    type Output;
    /// Run the body on vectors of `S`.
    fn with_lanes<S: Lanes>(self, s: S) -> Self::Output;
}

/// Run `body` at `level`: the AVX-512 or AVX2 copy (after checking this CPU
/// has the level), else the portable one.
///
/// # Panics
/// If `level` exceeds [`detected`].
#[inline(always)]
pub(crate) fn run_at<W: WithLanes>(level: Level, body: W) -> W::Output {
    assert!(
        level <= detected(),
        "{} is not supported by this CPU",
        level.name()
    );
    match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: checked above that the CPU has every feature the copy enables.
        Level::Avx512 => unsafe { x86::avx512(body) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Level::Avx2 => unsafe { x86::avx2(body) },
        _ => body.with_lanes(Portable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries whose bits a conversion would change: signed zero,
    /// subnormal, infinite, extreme and irrational values.
    const TABLE8: [f64; 8] = [
        -0.0,
        5e-324,
        1.0,
        -2.5,
        f64::MAX,
        f64::INFINITY,
        0.1,
        1e-300,
    ];
    const TABLE16: [f64; 16] = [
        0.0,
        -0.0,
        1.0,
        f64::MIN_POSITIVE,
        std::f64::consts::PI,
        -1e300,
        3.0,
        f64::NEG_INFINITY,
        7.5,
        -5e-324,
        0.25,
        1e10,
        -3.0,
        std::f64::consts::E,
        2e-308,
        f64::EPSILON,
    ];

    /// `lookup8` and `lookup16` of `idx`, stored.
    struct Lookups<'a> {
        idx: &'a [i64; LANES],
        out: &'a mut [[f64; LANES]; 2],
    }

    impl WithLanes for Lookups<'_> {
        type Output = ();
        #[inline(always)]
        fn with_lanes<S: Lanes>(self, s: S) {
            let i = s.load_u(self.idx);
            s.store(&mut self.out[0], s.lookup8(&TABLE8, i));
            s.store(&mut self.out[1], s.lookup16(&TABLE16, i));
        }
    }

    /// Every level reads each entry unchanged, whatever the index's bits
    /// above the table's (the SMM passes exponent bits there).
    #[test]
    fn lookups_read_the_entry_at_the_low_bits_at_every_level() {
        for level in Level::ALL.into_iter().filter(|&l| l <= detected()) {
            for start in 0..16 {
                // Lane l reads entry (start + l) mod 16, with junk above.
                let idx: [i64; LANES] = std::array::from_fn(|l| {
                    let k = (start + l) % 16;
                    (k as i64) | (((0x3ff0 + 37 * (start * LANES + l)) as i64) << 4)
                });
                let mut out = [[0.0; LANES]; 2];
                run_at(
                    level,
                    Lookups {
                        idx: &idx,
                        out: &mut out,
                    },
                );
                let [got8, got16] = out;
                for (l, (a, b)) in got8.iter().zip(&got16).enumerate() {
                    let k = (start + l) % 16;
                    let at = format!("{} lane {l} index {k}", level.name());
                    assert_eq!(a.to_bits(), TABLE8[k & 7].to_bits(), "lookup8 {at}");
                    assert_eq!(b.to_bits(), TABLE16[k].to_bits(), "lookup16 {at}");
                }
            }
        }
    }
}
