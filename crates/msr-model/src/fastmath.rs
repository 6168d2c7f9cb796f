//! Branch-free, vectorisable replacements for the few transcendental and
//! conversion steps of the hot loop.
//!
//! Everything here is straight-line `f64`/`u64` arithmetic with no libm call,
//! no division in the kernel's forms and at most a 16-entry table (an
//! in-register permute on AVX-512), generic over the SIMD width (`crate::simd::Math`): the kernel runs it
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
//! * **Accuracy stated and tested.** [`smm_from_cpr`] is within 2e-16
//!   absolute and 1e-13 relative of the exact single monthly mortality for
//!   CPR ≤ 0.98 (a few ulps beyond), and [`recip_lanes`] within an ulp of the
//!   quotient; see the tests below. Both are far inside the model's 1e-9
//!   contract (MODEL.md reproduced to 1e-9 relative).

// Polynomial coefficients are kept exactly as the fit printed them.
#![allow(clippy::excessive_precision)]

use crate::simd::{int_valued_to_i64, Math, Scalar};

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
/// is out of range: 2^63, i.e. |x| ≥ 2^15 = 32,768 dollars in one
/// loan-path-month (where the packed `f64 → i64` conversion ends).
pub const FIXED_SPLIT_LIMIT: f64 = 9_223_372_036_854_775_808.0;

/// [`FIXED_SPLIT_LIMIT`] in the unit of the term (exact: a power of two).
pub const FIXED_SPLIT_LIMIT_UNSCALED: f64 = FIXED_SPLIT_LIMIT / FIXED_SCALE;

/// `2^48`, the scale of `msr_core::fixed`.
const FIXED_SCALE: f64 = 281_474_976_710_656.0;

/// Single monthly mortality from an annual CPR: `SMM = 1 − (1 − CPR)^(1/12)`.
///
/// For CPR in `[0, 0.98]` (every CPR of the default model, whose cap is 0.95)
/// the table form of [`smm_lanes_capped`]: within 2e-16 absolute and 1e-13
/// relative of the exact value, no logarithm, exponential or division.
/// Elsewhere `−expm1(log1p(−CPR)/12)` with inline polynomials, a few ulps.
/// Valid for every `CPR ≤ 1` (CPR = 1 gives 1; NaN gives NaN). The kernel
/// runs the same code on SIMD vectors ([`smm_lanes`]) with the same bits.
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

/// Largest CPR for which [`smm_lanes_capped`] is valid (its tables cover
/// `1 − CPR ≥ 2^-7`). The kernel uses it alone when the configured CPR cap is
/// at most this; [`smm_lanes`] uses it for every CPR in `[0, 0.98]`.
pub const SMM_CAPPED_MAX_CPR: f64 = 0.98;

/// `2^(e/12)` for the exponent `e = j − 7` of `1 − CPR` (`j` = the low three
/// bits of the biased exponent, `1016..=1023`).
const ROOT_EXP: [f64; 8] = [
    0.667_419_927_085_017_2,
    std::f64::consts::FRAC_1_SQRT_2,
    0.749_153_538_438_340_8,
    0.793_700_525_984_099_8,
    0.840_896_415_253_714_5,
    0.890_898_718_140_339_3,
    0.943_874_312_681_693_5,
    1.0,
];

/// `r_i`: the `f64` nearest `1/(1 + i/16)`, the reduction of a mantissa
/// rounded to four bits.
const ROOT_RECIP: [f64; 16] = [
    1.0,
    0.941_176_470_588_235_3,
    0.888_888_888_888_888_8,
    0.842_105_263_157_894_7,
    0.8,
    0.761_904_761_904_761_9,
    0.727_272_727_272_727_3,
    0.695_652_173_913_043_5,
    0.666_666_666_666_666_6,
    0.64,
    0.615_384_615_384_615_4,
    0.592_592_592_592_592_6,
    0.571_428_571_428_571_4,
    0.551_724_137_931_034_5,
    0.533_333_333_333_333_3,
    0.516_129_032_258_064_5,
];

/// `r_i^(−1/12)` of the `f64` in [`ROOT_RECIP`] (exact value, rounded once).
const ROOT_MANT: [f64; 16] = [
    1.0,
    1.005_064_834_949_770_8,
    1.009_863_580_553_211_5,
    1.014_423_889_444_981_5,
    1.018_769_265_121_506_1,
    1.022_919_857_214_587_4,
    1.026_893_074_306_235_9,
    1.030_704_062_422_904_5,
    1.034_366_083_131_916_6,
    1.037_890_815_556_213_4,
    1.041_288_600_008_678_7,
    1.044_568_636_314_398_2,
    1.047_739_146_593_731_8,
    1.050_807_509_901_414_5,
    1.053_780_374_378_913_4,
    1.056_663_751_291_464_5,
];

/// Binomial coefficients `C(1/12, k)`, `k = 1..=10`, of
/// `(1+u)^(1/12) − 1 = Σ C(1/12,k)·u^k`; for |u| ≤ 1/31 the first omitted
/// term is below 2e-19.
const ROOT_BINOM: [f64; 10] = [
    0.083_333_333_333_333_33,
    -0.038_194_444_444_444_45,
    0.024_402_006_172_839_507,
    -0.017_793_129_501_028_807,
    0.013_937_951_442_472_564,
    -0.011_421_376_876_470_574,
    0.009_653_782_836_064_414,
    -0.008_346_499_743_680_692,
    0.007_341_828_478_237_645,
    -0.006_546_463_726_428_567,
];

/// The exponent field of an `f64`.
const EXP_MASK: u64 = 0x7ff0_0000_0000_0000;
/// Half a unit of the fourth mantissa bit: adding it to the bits of `x`
/// rounds the mantissa to four bits (carrying into the exponent).
const MANT_HALF_STEP: u64 = 1 << 47;

/// [`smm_from_cpr`] on every lane of a vector: the table form
/// ([`smm_lanes_capped`]) for CPRs in `[0, 0.98]`, the `expm1`/`log1p` form
/// outside (CPR caps above 0.98, and NaN).
#[inline(always)]
pub(crate) fn smm_lanes<S: Math>(s: S, cpr: S::F) -> S::F {
    let table = smm_lanes_capped(s, cpr);
    let wide = smm_lanes_wide(s, cpr);
    let zero = s.splat(0.0);
    let in_range = s.select_lt(s.splat(SMM_CAPPED_MAX_CPR), cpr, wide, table);
    s.select_lt(cpr, zero, wide, in_range)
}

/// `1 − (1−CPR)^(1/12)` for any `CPR ≤ 1`, as `−expm1(log1p(−CPR)/12)`.
#[inline(always)]
fn smm_lanes_wide<S: Math>(s: S, cpr: S::F) -> S::F {
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

/// SMM for CPRs in `[0, SMM_CAPPED_MAX_CPR]` (and NaN, which it returns),
/// without a logarithm, an exponential or a division.
///
/// With `x = 1 − CPR` rounded to four mantissa bits, `x ≈ 2^e·(1 + i/16)`:
/// `x^(1/12) = 2^(e/12) · r_i^(−1/12) · (1+u)^(1/12)` where
/// `u = (x/2^e)·r_i − 1` (|u| ≤ 1/31) and the last factor is its binomial
/// series to degree 10. Three table lookups (`ROOT_EXP`, `ROOT_RECIP`,
/// `ROOT_MANT`: in-register permutes on AVX-512) and about 20 operations.
/// The rounding error of `1 − CPR` is added back into `u`, so tiny CPRs keep
/// their relative accuracy. Error against the exact value: below 2e-16
/// absolute and 5e-14 relative (tested).
#[inline(always)]
pub(crate) fn smm_lanes_capped<S: Math>(s: S, cpr: S::F) -> S::F {
    let one = s.splat(1.0);
    let x = s.sub(one, cpr);
    // 1 − CPR = x + t exactly (Fast2Sum, |CPR| ≤ 1).
    let t = s.sub(s.sub(one, x), cpr);
    let xb = s.add_u(s.to_bits(x), s.splat_u(MANT_HALF_STEP));
    let root_exp = s.lookup8(&ROOT_EXP, s.shr52(xb));
    let i = s.shr48(xb);
    let recip = s.lookup16(&ROOT_RECIP, i);
    let root_mant = s.lookup16(&ROOT_MANT, i);
    // x / 2^e, with e the exponent after rounding: x's bits with that
    // exponent replaced by the bias.
    let m = s.from_bits(s.add_u(
        s.sub_u(s.to_bits(x), s.and_u(xb, s.splat_u(EXP_MASK))),
        s.splat_u(1.0f64.to_bits()),
    ));
    let u = s.mul_add(t, recip, s.mul_add(m, recip, s.splat(-1.0)));
    let mut p = s.splat(ROOT_BINOM[9]);
    for &c in ROOT_BINOM[..9].iter().rev() {
        p = s.mul_add(p, u, s.splat(c));
    }
    let q = s.mul(u, p);
    // SMM = 1 − c·(1 + q) = (1 − c) − c·q, c = 2^(e/12)·r_i^(−1/12).
    let c = s.mul(root_exp, root_mant);
    s.mul_add(s.neg(c), q, s.sub(one, c))
}

/// `1/x` for `x ≥ 1` (up to 1e300; NaN gives NaN), without a division:
/// the bit-pattern first guess (relative error ≤ 0.051) and four
/// Newton–Raphson steps, within an ulp of the quotient (tested).
#[inline(always)]
pub(crate) fn recip_lanes<S: Math>(s: S, x: S::F) -> S::F {
    let one = s.splat(1.0);
    let mut y = s.from_bits(s.sub_u(s.splat_u(RECIP_MAGIC), s.to_bits(x)));
    for _ in 0..4 {
        let e = s.mul_add(s.neg(x), y, one);
        y = s.mul_add(y, e, y);
    }
    y
}

/// The bit-pattern reciprocal's constant: `from_bits(RECIP_MAGIC − bits(x))`
/// is within 5.1 % of `1/x` for every positive normal `x`.
const RECIP_MAGIC: u64 = 0x7fde_6238_22fc_16e6;

/// Fixed-point conversion of `msr_core::fixed`, split for SIMD: the term
/// `trunc(x·2^48)` as `hi·2^32 + lo` with `lo ∈ [0, 2^32)`, both returned as
/// exact integer-valued `i64`s.
///
/// Exact (equal to `msr_core::fixed::to_fixed(x)`) while `|x| <`
/// [`FIXED_SPLIT_LIMIT_UNSCALED`]; larger magnitudes (and NaN) give the
/// halves of `i64::MIN`, and the caller must redo them with `to_fixed`.
#[inline(always)]
pub fn split_fixed(x: f64) -> (i64, i64) {
    let (hi, lo) = split_fixed_lanes(Scalar, x);
    (hi as i64, lo as i64)
}

/// [`split_fixed`] on every lane (results as `u64` bit patterns of the `i64`s).
#[inline(always)]
pub(crate) fn split_fixed_lanes<S: Math>(s: S, x: S::F) -> (S::U, S::U) {
    // Scaling by a power of two is exact.
    s.split_trunc(s.mul(x, s.splat(FIXED_SCALE)))
}

/// Monthly fields a loan's row holds, padded to whole vectors:
/// [`crate::NUM_MONTHLY`] cells in `MONTHLY_VECTORS` rows of [`crate::LANES`].
pub const MONTHLY_VECTORS: usize = crate::NUM_MONTHLY.div_ceil(crate::LANES);

/// One month's split fixed-point sums of the monthly fields (the cells past
/// [`crate::NUM_MONTHLY`] stay 0).
pub type MonthlyFixed = [[i64; crate::LANES]; MONTHLY_VECTORS];

/// Largest magnitude [`add_monthly_fixed`] takes (`2^34`, about 1.7e10
/// dollars in one field of one loan-month, summed over paths): its high part
/// `trunc(x·2^16)` stays below `2^50`, so 4,096 of them fit an `i64`.
pub const MONTHLY_FIXED_LIMIT: f64 = 17_179_869_184.0;

/// Add a loan's monthly fields, exactly, to split fixed-point sums: month
/// `t`'s field `f` adds `msr_core::fixed::to_fixed(x)` as `hi·2^32 + lo`
/// with `hi = trunc(x·2^16)` and `lo = trunc(frac(x·2^16)·2^32)` (same sign,
/// `|lo| < 2^32`) to `hi[t]`, `lo[t]` (cell `f`), wrapping.
///
/// Adds nothing and returns `false` if some field is not finite or its
/// magnitude reaches [`MONTHLY_FIXED_LIMIT`] (the caller adds the loan
/// another way). The caller flushes the sums into exact `i128` ones before
/// 4,096 loans.
///
/// # Panics
/// If `hi` or `lo` is shorter than `rows`.
pub fn add_monthly_fixed(
    rows: &[[f64; crate::NUM_MONTHLY]],
    hi: &mut [MonthlyFixed],
    lo: &mut [MonthlyFixed],
) -> bool {
    add_monthly_fixed_at(crate::simd::level(), rows, hi, lo)
}

/// [`add_monthly_fixed`] at a given instruction-set level (every level gives
/// the same sums).
///
/// # Panics
/// As [`add_monthly_fixed`], and if this CPU lacks `level`.
pub fn add_monthly_fixed_at(
    level: crate::simd::Level,
    rows: &[[f64; crate::NUM_MONTHLY]],
    hi: &mut [MonthlyFixed],
    lo: &mut [MonthlyFixed],
) -> bool {
    if !monthly_fixed_fits_at(level, rows) {
        return false;
    }
    add_fitting_monthly_fixed_at(level, rows, hi, lo);
    true
}

/// Whether [`add_monthly_fixed`] takes `rows`: every field finite and of
/// magnitude below [`MONTHLY_FIXED_LIMIT`]. A caller that needs the check
/// for itself too (the engine's guard: the limit is below the exact sums'
/// range) makes it once, then adds with [`add_fitting_monthly_fixed`].
pub fn monthly_fixed_fits(rows: &[[f64; crate::NUM_MONTHLY]]) -> bool {
    monthly_fixed_fits_at(crate::simd::level(), rows)
}

/// [`monthly_fixed_fits`] at a given instruction-set level.
///
/// # Panics
/// If this CPU lacks `level`.
pub fn monthly_fixed_fits_at(
    level: crate::simd::Level,
    rows: &[[f64; crate::NUM_MONTHLY]],
) -> bool {
    crate::simd::run_at(level, MonthlyFixedFits { rows })
}

/// [`add_monthly_fixed`] for rows that [`monthly_fixed_fits`] took: the
/// same sums, without the check (rows that do not fit would wrap).
///
/// # Panics
/// If `hi` or `lo` is shorter than `rows`.
pub fn add_fitting_monthly_fixed(
    rows: &[[f64; crate::NUM_MONTHLY]],
    hi: &mut [MonthlyFixed],
    lo: &mut [MonthlyFixed],
) {
    add_fitting_monthly_fixed_at(crate::simd::level(), rows, hi, lo);
}

/// [`add_fitting_monthly_fixed`] at a given instruction-set level.
///
/// # Panics
/// As [`add_fitting_monthly_fixed`], and if this CPU lacks `level`.
pub fn add_fitting_monthly_fixed_at(
    level: crate::simd::Level,
    rows: &[[f64; crate::NUM_MONTHLY]],
    hi: &mut [MonthlyFixed],
    lo: &mut [MonthlyFixed],
) {
    assert!(
        hi.len() >= rows.len() && lo.len() >= rows.len(),
        "monthly fixed-point sums shorter than the rows"
    );
    crate::simd::run_at(level, AddMonthlyFixed { rows, hi, lo });
}

/// [`monthly_fixed_fits_body`]'s argument, dispatched by `crate::simd::run_at`.
struct MonthlyFixedFits<'a> {
    rows: &'a [[f64; crate::NUM_MONTHLY]],
}

impl crate::simd::WithLanes for MonthlyFixedFits<'_> {
    type Output = bool;
    #[inline(always)]
    fn with_lanes<S: crate::simd::Lanes>(self, s: S) -> bool {
        monthly_fixed_fits_body(s, self.rows)
    }
}

/// [`add_monthly_fixed_body`]'s arguments, dispatched by `crate::simd::run_at`.
struct AddMonthlyFixed<'a> {
    rows: &'a [[f64; crate::NUM_MONTHLY]],
    hi: &'a mut [MonthlyFixed],
    lo: &'a mut [MonthlyFixed],
}

impl crate::simd::WithLanes for AddMonthlyFixed<'_> {
    type Output = ();
    #[inline(always)]
    fn with_lanes<S: crate::simd::Lanes>(self, s: S) {
        add_monthly_fixed_body(s, self.rows, self.hi, self.lo)
    }
}

/// A month's row as whole vectors (zero-padded).
#[inline(always)]
fn padded_row(row: &[f64; crate::NUM_MONTHLY]) -> [[f64; crate::LANES]; MONTHLY_VECTORS] {
    let mut v = [[0.0; crate::LANES]; MONTHLY_VECTORS];
    for (i, &x) in row.iter().enumerate() {
        v[i / crate::LANES][i % crate::LANES] = x;
    }
    v
}

/// The body of [`monthly_fixed_fits`], compiled once per instruction set.
#[inline(always)]
pub(crate) fn monthly_fixed_fits_body<S: crate::simd::Lanes>(
    s: S,
    rows: &[[f64; crate::NUM_MONTHLY]],
) -> bool {
    // NaN fails the comparison.
    let limit = s.splat(MONTHLY_FIXED_LIMIT);
    let mut ok = s.splat(1.0);
    for row in rows {
        for v in padded_row(row) {
            ok = s.select_lt(s.abs(s.load(&v)), limit, ok, s.splat(0.0));
        }
    }
    let mut flags = [0.0; crate::LANES];
    s.store(&mut flags, ok);
    flags.iter().all(|&f| f == 1.0)
}

/// The body of [`add_fitting_monthly_fixed`], compiled once per instruction
/// set.
#[inline(always)]
pub(crate) fn add_monthly_fixed_body<S: crate::simd::Lanes>(
    s: S,
    rows: &[[f64; crate::NUM_MONTHLY]],
    hi: &mut [MonthlyFixed],
    lo: &mut [MonthlyFixed],
) {
    let (up, frac_scale) = (s.splat(65_536.0), s.splat(4_294_967_296.0));
    for ((row, h), l) in rows.iter().zip(hi.iter_mut()).zip(lo.iter_mut()) {
        for ((v, h), l) in padded_row(row).iter().zip(h.iter_mut()).zip(l.iter_mut()) {
            // All exact: scaling by powers of two, the truncation, and the
            // fraction `y − trunc(y)`.
            let y = s.mul(s.load(v), up);
            let a = s.trunc(y);
            let b = s.trunc(s.mul(s.sub(y, a), frac_scale));
            let (a, b) = (int_valued_to_i64(s, a), int_valued_to_i64(s, b));
            s.store_u(h, s.add_u(s.load_u(h), a));
            s.store_u(l, s.add_u(s.load_u(l), b));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LANES;

    /// Reference `1 − (1 − c)^(1/12)` from libm's correctly-rounded-ish
    /// `ln_1p`/`exp_m1` (each < 1 ulp), so within ~2 ulps relative.
    fn reference(c: f64) -> f64 {
        -((-c).ln_1p() / 12.0).exp_m1()
    }

    fn ulps(a: f64, b: f64) -> f64 {
        let scale = b.abs().max(f64::MIN_POSITIVE);
        (a - b).abs() / (scale * f64::EPSILON)
    }

    /// xorshift64*: uniform in [0, 1).
    fn uniform(state: &mut u64) -> f64 {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The table form (CPR ≤ 0.98): within 2e-16 absolute and 1e-13 relative
    /// of the exact value (the reference's own error is ~2 ulps). Beyond, the
    /// `expm1`/`log1p` form: a few ulps.
    #[test]
    fn smm_is_accurate() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let (mut worst_abs, mut worst_rel): (f64, f64) = (0.0, 0.0);
        let mut check = |c: f64| {
            let got = smm_from_cpr(c);
            let want = reference(c);
            if c <= SMM_CAPPED_MAX_CPR {
                let abs = (got - want).abs();
                let rel = if want > 0.0 { abs / want } else { abs };
                worst_abs = worst_abs.max(abs);
                worst_rel = worst_rel.max(rel);
                assert!(
                    abs <= 2e-16 && rel <= 1e-13,
                    "cpr {c:e}: got {got:e}, want {want:e}"
                );
            } else {
                let u = ulps(got, want);
                assert!(u <= 4.0, "cpr {c:e}: got {got:e}, want {want:e} ({u} ulps)");
            }
        };
        for c in [
            0.0, 1e-300, 1e-20, 1e-12, 1e-6, 1e-3, 0.01, 0.015_625, 0.06, 0.25, 0.2928, 0.2930,
            0.3, 0.5, 0.75, 0.9, 0.95, 0.98, 0.984, 0.99, 0.999, 0.999_999,
        ] {
            check(c);
        }
        for _ in 0..200_000 {
            let u = uniform(&mut state);
            check(u);
            check(u * SMM_CAPPED_MAX_CPR);
            check(10f64.powf(-12.0 * u));
        }
        assert!(worst_abs <= 2e-16 && worst_rel <= 1e-13);
    }

    /// The kernel's capped form and the general one agree bit for bit below
    /// the cap; NaN propagates through both.
    #[test]
    fn capped_variant_gives_the_same_bits() {
        let mut c = 0.0;
        while c <= SMM_CAPPED_MAX_CPR {
            for x in [c, c + 1e-9, c * 0.999_999_7] {
                if x > SMM_CAPPED_MAX_CPR {
                    continue;
                }
                assert_eq!(
                    smm_lanes_capped(Scalar, x).to_bits(),
                    smm_lanes(Scalar, x).to_bits(),
                    "{x}"
                );
            }
            c += 1.3e-4;
        }
        for x in [0.0, 1e-300, 1e-12, 0.5, 0.98] {
            assert_eq!(
                smm_lanes_capped(Scalar, x).to_bits(),
                smm_lanes(Scalar, x).to_bits()
            );
        }
        assert!(smm_lanes_capped(Scalar, f64::NAN).is_nan());
        assert!(smm_lanes(Scalar, f64::NAN).is_nan());
    }

    /// The division-free reciprocal is within an ulp of the quotient.
    #[test]
    fn recip_is_within_an_ulp() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let check = |x: f64| {
            let got = recip_lanes(Scalar, x);
            let want = 1.0 / x;
            assert!(
                ulps(got, want) <= 1.0,
                "1/{x:e}: got {got:e}, want {want:e}"
            );
        };
        for x in [1.0, 1.5, 2.0, 3.0, 1.0 + f64::EPSILON, 7.0, 1e10, 1e300] {
            check(x);
        }
        for _ in 0..200_000 {
            let u = uniform(&mut state);
            check(1.0 + u);
            check(10f64.powf(300.0 * u));
        }
        assert!(recip_lanes(Scalar, f64::NAN).is_nan());
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
        let out = (0xffff_ffff_8000_0000u64 as i64, 0);
        for i in 0..200_000 {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let r = state.wrapping_mul(0x2545_f491_4f6c_dd1d);
            let mag = 10f64.powf((r >> 40) as f64 / (1u64 << 24) as f64 * 28.0 - 20.0);
            let x = if r & 1 == 0 { mag } else { -mag };
            let x = if i % 97 == 0 { x.trunc() } else { x };
            let (hi, lo) = split_fixed(x);
            if x.abs() >= FIXED_SPLIT_LIMIT_UNSCALED {
                assert_eq!((hi, lo), out, "{x:e}");
                continue;
            }
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
            32_767.999_999,
            -32_767.999_999,
        ] {
            let (hi, lo) = split_fixed(x);
            assert_eq!(
                ((hi as i128) << 32) + lo as i128,
                msr_core::fixed::to_fixed(x),
                "{x:e}"
            );
        }
        for x in [32_768.0, -32_768.0, 1.5e10, f64::INFINITY, f64::NAN] {
            assert_eq!(split_fixed(x), out, "{x:e}");
        }
    }

    /// Every instruction-set level splits like the scalar code, in and out
    /// of range.
    #[test]
    fn split_is_the_same_at_every_level() {
        use crate::simd::{detected, Level};
        let xs: [f64; LANES] = [
            0.5,
            -3.25e4,
            32_768.0,
            -1e300,
            f64::NAN,
            1e-9,
            -7.0,
            12_345.678,
        ];
        let want: Vec<(i64, i64)> = xs.iter().map(|&x| split_fixed(x)).collect();
        for level in Level::ALL.into_iter().filter(|&l| l <= detected()) {
            let rows = [xs];
            let mut hi = [[0i64; LANES]];
            let mut lo = [[0i64; LANES]];
            crate::kernel::add_fixed_lanes_at(level, &rows, &mut hi, &mut lo);
            let got: Vec<(i64, i64)> = (0..LANES).map(|l| (hi[0][l], lo[0][l])).collect();
            assert_eq!(got, want, "{}", level.name());
        }
    }

    /// The split monthly sums are the exact fixed-point sums, at every level;
    /// a row out of range adds nothing.
    #[test]
    fn monthly_fixed_sums_are_exact() {
        use crate::simd::{detected, Level};
        use crate::NUM_MONTHLY;
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let months = 7;
        // Three loans' rows: magnitudes from 1e-12 to just below the limit,
        // both signs, zeros and negative zeros.
        let loans: Vec<Vec<[f64; NUM_MONTHLY]>> = (0..3)
            .map(|_| {
                (0..months)
                    .map(|_| {
                        std::array::from_fn(|f| {
                            let u = uniform(&mut state);
                            let mag = 10f64.powf(-12.0 + 22.2 * uniform(&mut state));
                            match f % 7 {
                                5 => 0.0,
                                6 => -0.0,
                                _ if u < 0.5 => -mag.min(MONTHLY_FIXED_LIMIT * 0.999_999),
                                _ => mag.min(MONTHLY_FIXED_LIMIT * 0.999_999),
                            }
                        })
                    })
                    .collect()
            })
            .collect();
        let mut want = vec![[0i128; NUM_MONTHLY]; months];
        for rows in &loans {
            for (w, row) in want.iter_mut().zip(rows) {
                for (c, &x) in w.iter_mut().zip(row) {
                    *c += msr_core::fixed::to_fixed(x);
                }
            }
        }
        for level in Level::ALL.into_iter().filter(|&l| l <= detected()) {
            let mut hi = vec![[[0i64; LANES]; MONTHLY_VECTORS]; months];
            let mut lo = hi.clone();
            for rows in &loans {
                assert!(add_monthly_fixed_at(level, rows, &mut hi, &mut lo));
            }
            let mut bad = loans[0].clone();
            bad[3][NUM_MONTHLY - 1] = MONTHLY_FIXED_LIMIT;
            assert!(!add_monthly_fixed_at(level, &bad, &mut hi, &mut lo));
            bad[3][NUM_MONTHLY - 1] = f64::NAN;
            assert!(!add_monthly_fixed_at(level, &bad, &mut hi, &mut lo));
            for t in 0..months {
                for f in 0..NUM_MONTHLY {
                    let (h, l) = (hi[t][f / LANES][f % LANES], lo[t][f / LANES][f % LANES]);
                    let got = ((h as i128) << 32) + l as i128;
                    assert_eq!(got, want[t][f], "{} month {t} field {f}", level.name());
                }
                assert_eq!(hi[t][MONTHLY_VECTORS - 1][LANES - 1], 0, "padding");
            }
        }
    }
}
