//! Scrambled Sobol points and the inverse normal CDF behind the quasi-random
//! path scheme (docs/qmc.md).
//!
//! * **Sequence.** Sobol's sequence in base 2 with the Joe–Kuo "new-joe-kuo-6"
//!   direction numbers (Joe & Kuo 2008, *SIAM J. Sci. Comput.* 30:2635), the
//!   table shipped by the `sobol` crate; up to [`MAX_SOBOL_DIMS`] dimensions at
//!   32-bit resolution, points in Gray-code order (the order of Joe and Kuo's
//!   reference generator, of the `sobol` crate's iterator and of SciPy). Any
//!   point is computed directly from its index (random access), so a path's
//!   numbers do not depend on which batch or thread draws it.
//! * **Scrambling.** Nested-uniform ("Owen") scrambling by hashing
//!   (Burley 2020, "Practical hash-based Owen scrambling", *JCGT* 9(4), with
//!   Vegdahl's 2021 improved Laine–Karras hash): in bit-reversed order each
//!   operation of the hash changes a bit only as a function of the bits below
//!   it, i.e. each output digit is the input digit flipped by a function of the
//!   more significant digits — a nested digit scramble, so every (t, m, s)-net
//!   property of the unscrambled points is kept (each of the `2^k` intervals
//!   of a coordinate is hit exactly once by every aligned block of `2^k`
//!   points), while each point becomes uniform on the unit cube and the
//!   estimator unbiased. A random digital shift would also be unbiased but keeps
//!   the lattice structure and lacks Owen scrambling's faster variance decay on
//!   smooth integrands. One 32-bit
//!   scramble seed per dimension is hashed from the run seed and the
//!   dimension.
//! * **Digits beyond 32.** Under Owen scrambling the digits below the first 32
//!   are independent uniform bits for each distinct 32-bit prefix; they are
//!   hashed from (seed, dimension, prefix), giving a 64-bit uniform `k` and
//!   `u = (k + ½)·2^-64`, never 0 or 1. That is how point 0, which is the
//!   origin without scrambling (and `Φ⁻¹(0) = −∞`), is handled: it is kept
//!   (dropping it would break the net property of the first `2^m` points —
//!   Owen 2022, "On dropping the first Sobol' point") and scrambling moves it
//!   to a uniform random point like every other.
//! * **Normals.** `Φ⁻¹` by Wichura's algorithm AS241 (PPND16, *Appl. Statist.*
//!   37:477, 1988), relative accuracy about 1e-16; the upper half is computed
//!   from the exact complement `2^64 − 1 − k`, so `k` and `!k` give exactly
//!   opposite normals.

use std::sync::OnceLock;

use sobol::params::JoeKuoD6;
use sobol::Sobol;

/// Number of dimensions with Joe–Kuo direction numbers (the "standard"
/// table of the `sobol` crate). A Brownian bridge over more months takes its
/// finest dimensions from a pseudo-random stream (docs/qmc.md).
pub const MAX_SOBOL_DIMS: usize = 1000;

/// Bits of resolution of the Sobol coordinates (before the hashed low bits).
const BITS: usize = 32;

/// Direction numbers, bit-major: entry `j·MAX_SOBOL_DIMS + d` is `v_{d,j}`
/// (dimension `d`, 0-based; bit `j`, most significant first).
fn directions() -> &'static [u32] {
    static DIRECTIONS: OnceLock<Vec<u32>> = OnceLock::new();
    DIRECTIONS.get_or_init(|| {
        let params = JoeKuoD6::standard();
        let per_dim = Sobol::<u32>::init_direction_vals::<u32>(MAX_SOBOL_DIMS, BITS, &params);
        let mut flat = vec![0u32; BITS * MAX_SOBOL_DIMS];
        for (d, dirs) in per_dim.iter().enumerate() {
            for (j, &v) in dirs.iter().enumerate() {
                flat[j * MAX_SOBOL_DIMS + d] = v;
            }
        }
        flat
    })
}

/// Coordinate `dim` (0-based) of unscrambled Sobol point `index` (Gray-code
/// order: point `i` is the XOR of the direction numbers of the set bits of
/// `i ^ (i >> 1)`), as a 32-bit fraction of 2^32. `None` when `dim` is not
/// below [`MAX_SOBOL_DIMS`].
pub fn sobol_u32(index: u32, dim: usize) -> Option<u32> {
    if dim >= MAX_SOBOL_DIMS {
        return None;
    }
    let dirs = directions();
    let mut gray = index ^ (index >> 1);
    let mut x = 0u32;
    while gray != 0 {
        let j = gray.trailing_zeros() as usize;
        x ^= dirs[j * MAX_SOBOL_DIMS + dim];
        gray &= gray - 1;
    }
    Some(x)
}

/// Nested-uniform scramble of a 32-bit fraction (Burley's hash-based Owen
/// scrambling with Vegdahl's Laine–Karras hash): bit `k` of the result (from
/// the most significant) is bit `k` of `x` flipped by a function of `seed` and
/// the bits above it. A bijection of `u32` for every seed.
pub fn owen_scramble(x: u32, seed: u32) -> u32 {
    let mut v = x.reverse_bits();
    v ^= v.wrapping_mul(0x3d20_adea);
    v = v.wrapping_add(seed);
    v = v.wrapping_mul((seed >> 16) | 1);
    v ^= v.wrapping_mul(0x0552_6c56);
    v ^= v.wrapping_mul(0x53a2_2864);
    v.reverse_bits()
}

/// SplitMix64's finaliser (Stafford's "mix13"): a bijective 64-bit hash.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// An Owen-scrambled Sobol sequence: a pure function of its seed, random access
/// by point index and dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScrambledSobol {
    /// Key of the per-dimension scramble seeds.
    scramble_key: u64,
    /// Key of the hashed digits below the 32nd.
    low_key: u64,
}

impl ScrambledSobol {
    /// The scrambled sequence of `seed`.
    pub fn new(seed: u64) -> ScrambledSobol {
        ScrambledSobol {
            scramble_key: mix64(seed ^ 0x5851_f42d_4c95_7f2d),
            low_key: mix64(seed ^ 0x1405_7b7e_f767_814f),
        }
    }

    fn dim_seed(&self, dim: usize) -> u32 {
        (mix64(self.scramble_key ^ mix64(dim as u64 + 1)) >> 32) as u32
    }

    fn low_bits(&self, dim: usize, prefix: u32) -> u32 {
        (mix64(self.low_key ^ (((dim as u64) << 32) | u64::from(prefix))) >> 32) as u32
    }

    /// Scrambled coordinate `dim` of point `index` as a 64-bit fraction `k`
    /// (the point is `(k + ½)·2^-64`): the scrambled 32-bit Sobol digits, then
    /// 32 hashed digits. `None` when `dim` is not below [`MAX_SOBOL_DIMS`].
    pub fn bits(&self, index: u32, dim: usize) -> Option<u64> {
        let hi = owen_scramble(sobol_u32(index, dim)?, self.dim_seed(dim));
        Some((u64::from(hi) << 32) | u64::from(self.low_bits(dim, hi)))
    }

    /// Scrambled coordinate `dim` of point `index` in the open interval
    /// (0, 1). `None` when `dim` is not below [`MAX_SOBOL_DIMS`].
    pub fn uniform(&self, index: u32, dim: usize) -> Option<f64> {
        self.bits(index, dim).map(uniform_from_bits)
    }

    /// Fill `z` with the standard normals `Φ⁻¹(u)` of point `index`,
    /// dimensions `0..z.len()`; dimensions from [`MAX_SOBOL_DIMS`] on are left
    /// untouched. Returns how many were filled.
    pub fn fill_normals(&self, index: u32, z: &mut [f64]) -> usize {
        let n = z.len().min(MAX_SOBOL_DIMS);
        let dirs = directions();
        let mut x = [0u32; MAX_SOBOL_DIMS];
        let x = &mut x[..n];
        let mut gray = index ^ (index >> 1);
        while gray != 0 {
            let j = gray.trailing_zeros() as usize;
            let row = &dirs[j * MAX_SOBOL_DIMS..j * MAX_SOBOL_DIMS + n];
            x.iter_mut().zip(row).for_each(|(a, &v)| *a ^= v);
            gray &= gray - 1;
        }
        for (dim, (out, &raw)) in z.iter_mut().zip(x.iter()).enumerate() {
            let hi = owen_scramble(raw, self.dim_seed(dim));
            let k = (u64::from(hi) << 32) | u64::from(self.low_bits(dim, hi));
            *out = normal_from_bits(k);
        }
        n
    }
}

/// `(k + ½)·2^-64`: the midpoint of the `k`-th of `2^64` equal cells, in (0, 1)
/// (rounded to `f64`).
pub fn uniform_from_bits(k: u64) -> f64 {
    (k as f64 + 0.5) * TWO_POW_M64
}

/// `2^-64`.
const TWO_POW_M64: f64 = 1.0 / 18_446_744_073_709_551_616.0;

/// The standard normal quantile of the cell midpoint `(k + ½)·2^-64`, computed
/// from the smaller tail: `normal_from_bits(!k) == −normal_from_bits(k)`
/// exactly, and the upper tail keeps full relative accuracy.
pub fn normal_from_bits(k: u64) -> f64 {
    if k >> 63 == 0 {
        inverse_normal_cdf(uniform_from_bits(k))
    } else {
        -inverse_normal_cdf(uniform_from_bits(!k))
    }
}

/// The standard normal quantile `Φ⁻¹(p)` by Wichura's AS241 (PPND16), relative
/// accuracy about 1e-16 over the whole of (0, 1). `p = 0` gives `−∞`, `p = 1`
/// gives `+∞`, and `p` outside `[0, 1]` or NaN gives NaN.
pub fn inverse_normal_cdf(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q * poly(&AS241_A, r) / poly(&AS241_B, r);
    }
    let tail = if q < 0.0 { p } else { 1.0 - p };
    let r = (-tail.ln()).sqrt();
    let x = if r <= 5.0 {
        let r = r - 1.6;
        poly(&AS241_C, r) / poly(&AS241_D, r)
    } else {
        let r = r - 5.0;
        poly(&AS241_E, r) / poly(&AS241_F, r)
    };
    if q < 0.0 {
        -x
    } else {
        x
    }
}

/// Horner's rule, coefficients in ascending powers.
fn poly(c: &[f64; 8], x: f64) -> f64 {
    c.iter().rev().fold(0.0, |acc, &k| acc * x + k)
}

// AS241 PPND16 coefficients (Wichura 1988), ascending powers; the
// denominators' constant term is 1.
#[allow(clippy::excessive_precision)]
const AS241_A: [f64; 8] = [
    3.387_132_872_796_366_608_0e0,
    1.331_416_678_917_843_774_5e2,
    1.971_590_950_306_551_442_7e3,
    1.373_169_376_550_946_112_5e4,
    4.592_195_393_154_987_145_7e4,
    6.726_577_092_700_870_085_3e4,
    3.343_057_558_358_812_810_5e4,
    2.509_080_928_730_122_672_7e3,
];
#[allow(clippy::excessive_precision)]
const AS241_B: [f64; 8] = [
    1.0,
    4.231_333_070_160_091_125_2e1,
    6.871_870_074_920_579_083_0e2,
    5.394_196_021_424_751_107_7e3,
    2.121_379_430_158_659_586_7e4,
    3.930_789_580_009_271_061_0e4,
    2.872_908_573_572_194_267_4e4,
    5.226_495_278_852_854_561_0e3,
];
#[allow(clippy::excessive_precision)]
const AS241_C: [f64; 8] = [
    1.423_437_110_749_683_577_34e0,
    4.630_337_846_156_545_295_90e0,
    5.769_497_221_460_691_405_50e0,
    3.647_848_324_763_204_605_04e0,
    1.270_458_252_452_368_382_58e0,
    2.417_807_251_774_506_117_70e-1,
    2.272_384_498_926_918_458_33e-2,
    7.745_450_142_783_414_076_40e-4,
];
#[allow(clippy::excessive_precision)]
const AS241_D: [f64; 8] = [
    1.0,
    2.053_191_626_637_758_821_87e0,
    1.676_384_830_183_803_849_40e0,
    6.897_673_349_851_000_045_50e-1,
    1.481_039_764_274_800_745_90e-1,
    1.519_866_656_361_645_719_66e-2,
    5.475_938_084_995_344_946_00e-4,
    1.050_750_071_644_416_843_24e-9,
];
#[allow(clippy::excessive_precision)]
const AS241_E: [f64; 8] = [
    6.657_904_643_501_103_777_20e0,
    5.463_784_911_164_114_369_90e0,
    1.784_826_539_917_291_335_80e0,
    2.965_605_718_285_048_912_30e-1,
    2.653_218_952_657_612_309_30e-2,
    1.242_660_947_388_078_438_60e-3,
    2.711_555_568_743_487_578_15e-5,
    2.010_334_399_292_288_132_65e-7,
];
#[allow(clippy::excessive_precision)]
const AS241_F: [f64; 8] = [
    1.0,
    5.998_322_065_558_879_376_90e-1,
    1.369_298_809_227_358_053_10e-1,
    1.487_536_129_085_061_485_25e-2,
    7.868_691_311_456_132_591_00e-4,
    1.846_318_317_510_054_681_80e-5,
    1.421_511_758_316_445_888_70e-7,
    2.044_263_103_389_939_785_64e-15,
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Our random-access points equal the `sobol` crate's own Gray-code
    /// iterator (an independent implementation over the same table).
    #[test]
    fn random_access_matches_the_crate_iterator() {
        let params = JoeKuoD6::standard();
        let dims = 40;
        let seq = Sobol::<u32>::new(dims, &params);
        for (i, point) in seq.take(300).enumerate() {
            for (d, &x) in point.iter().enumerate() {
                assert_eq!(sobol_u32(i as u32, d), Some(x), "point {i}, dim {d}");
            }
        }
        assert_eq!(sobol_u32(0, MAX_SOBOL_DIMS), None);
    }

    #[test]
    fn scramble_is_a_nested_bijection() {
        for seed in [0u32, 1, 0xdead_beef] {
            // A flip of bit k (from the top) changes no bit above k.
            for x in [0u32, 1, 0x8000_0000, 0x1234_5678, u32::MAX] {
                let y = owen_scramble(x, seed);
                for k in 0..32 {
                    let flipped = owen_scramble(x ^ (0x8000_0000 >> k), seed);
                    let diff = y ^ flipped;
                    assert_eq!(
                        diff.leading_zeros(),
                        k,
                        "seed {seed}, x {x:#x}, bit {k}: diff {diff:#x}"
                    );
                }
            }
            // Bijective on the 2^16 values of the top 16 bits.
            let mut seen = vec![false; 1 << 16];
            for top in 0..(1u32 << 16) {
                let y = owen_scramble(top << 16, seed) >> 16;
                assert!(!seen[y as usize]);
                seen[y as usize] = true;
            }
        }
    }

    #[test]
    fn fill_normals_matches_the_coordinatewise_path() {
        let s = ScrambledSobol::new(42);
        let mut z = vec![0.0; 37];
        for index in [0u32, 1, 2, 3, 100, 65_535, 1 << 20] {
            assert_eq!(s.fill_normals(index, &mut z), 37);
            for (d, &zd) in z.iter().enumerate() {
                let k = s.bits(index, d).unwrap();
                assert_eq!(zd.to_bits(), normal_from_bits(k).to_bits());
            }
        }
    }

    #[test]
    fn normal_from_bits_is_antisymmetric_and_finite() {
        for k in [0u64, 1, 12345, 1 << 40, (1 << 63) - 1] {
            let z = normal_from_bits(k);
            assert!(z.is_finite() && z <= 0.0);
            assert_eq!((-z).to_bits(), normal_from_bits(!k).to_bits());
        }
        assert!(normal_from_bits(0) > -9.5);
    }

    #[test]
    fn inverse_cdf_edges() {
        assert_eq!(inverse_normal_cdf(0.5), 0.0);
        assert_eq!(inverse_normal_cdf(0.0), f64::NEG_INFINITY);
        assert_eq!(inverse_normal_cdf(1.0), f64::INFINITY);
        assert!(inverse_normal_cdf(-0.1).is_nan());
        assert!(inverse_normal_cdf(1.1).is_nan());
        assert!(inverse_normal_cdf(f64::NAN).is_nan());
    }
}
