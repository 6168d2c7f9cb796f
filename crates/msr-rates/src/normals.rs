//! The Hull–White shocks `ε[p,t] ~ N(0,1)` (MODEL.md §C.2): [`NormalGenerator`]
//! says how they are drawn, [`Normals`] holds a block of them.
//!
//! Path `p`'s normals are a pure function of `(seed, p, scheme)`, so a path is
//! the same whether drawn alone, in any subset, or on any number of threads,
//! and shocked curves reuse the very same normals (common random numbers).
//! Three schemes ([`PathScheme`], config key `valuation.path_scheme`):
//!
//! * **`pseudo`** (the default): a ChaCha8 generator seeded from `seed` on its
//!   own stream, read through `StandardNormal`. Without antithetic sampling
//!   path `p` reads stream `p`; with it path `2j` reads stream `j` and path
//!   `2j+1` uses the exact negation of path `2j`'s normals (an unpaired last
//!   path reads stream `j` like any even path). A shorter draw is a prefix of
//!   a longer one.
//! * **`sobol`**: quasi-random. Path `p` takes point `p` of an Owen-scrambled
//!   Sobol sequence ([`ScrambledSobol`], scrambled from `seed`), one dimension
//!   per month, maps it to normals with `Φ⁻¹` and those to the months through a
//!   Brownian bridge over the whole horizon ([`BrownianBridge`]: dimension 1
//!   sets the last month's level, dimension 2 the midpoint, …). With
//!   antithetic sampling path `2j` takes point `j` and path `2j+1` the exact
//!   negation, as for `pseudo`, so the pair-mean standard error still applies.
//!   The bridge spans the months drawn, so a shorter draw is *not* a prefix of
//!   a longer one. Beyond [`MAX_SOBOL_DIMS`] months the finest bridge
//!   dimensions come from a ChaCha8 stream of the point (a hybrid sequence).
//! * **`sobol-pca`**: as `sobol`, but the first [`PCA_MONTHS`] months come
//!   from the principal components of the Brownian path over those months
//!   ([`BrownianPca`]), the later months from a bridge on the dimensions after
//!   them: the leading dimensions then drive the first decade's rates, which
//!   is what a mortgage book's value depends on. On the sample book 64 such
//!   paths are more accurate than 512 antithetic pseudo-random ones.
//!
//! docs/qmc.md has the method and the accuracy study.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use msr_core::config::Valuation;
use ndarray::{Array2, ArrayView2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;

use crate::bridge::{BrownianBridge, BrownianPca};
use crate::sobol::{ScrambledSobol, MAX_SOBOL_DIMS};

/// How the normals of the paths are drawn (config `valuation.path_scheme`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PathScheme {
    /// Pseudo-random ChaCha8 streams, one per path (or antithetic pair).
    #[default]
    Pseudo,
    /// Owen-scrambled Sobol points through a Brownian bridge.
    Sobol,
    /// Owen-scrambled Sobol points through the principal components of the
    /// Brownian path.
    SobolPca,
}

impl PathScheme {
    /// Every scheme, in the order of their names in messages.
    pub const ALL: [PathScheme; 3] = [PathScheme::Pseudo, PathScheme::Sobol, PathScheme::SobolPca];

    /// The configuration name: `"pseudo"`, `"sobol"` or `"sobol-pca"`.
    pub fn name(self) -> &'static str {
        match self {
            PathScheme::Pseudo => "pseudo",
            PathScheme::Sobol => "sobol",
            PathScheme::SobolPca => "sobol-pca",
        }
    }
}

impl fmt::Display for PathScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A path scheme name that is not `pseudo`, `sobol` or `sobol-pca`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("valuation.path_scheme: unknown scheme `{0}`; use pseudo, sobol or sobol-pca")]
pub struct UnknownPathScheme(pub String);

impl FromStr for PathScheme {
    type Err = UnknownPathScheme;

    fn from_str(s: &str) -> Result<PathScheme, UnknownPathScheme> {
        PathScheme::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| UnknownPathScheme(s.to_string()))
    }
}

/// How the normals are drawn: the seed, whether paths come in antithetic
/// pairs, and the scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NormalGenerator {
    /// Random seed (of the streams, or of the Sobol scrambling).
    pub seed: u64,
    /// Antithetic pairs: path `2j+1` uses `−ε` of path `2j`.
    pub antithetic: bool,
    /// Pseudo-random or scrambled Sobol.
    pub scheme: PathScheme,
    /// Randomized QMC (Sobol schemes only): base draws (Sobol points; with
    /// `antithetic` one per pair) per independent scramble. Base draw `b`
    /// is point `b mod n` of scramble `b / n`; scramble 0 is the sequence of
    /// `seed` itself, so the first `n` draws do not change. 0: one scramble.
    pub scramble_points: u32,
}

impl NormalGenerator {
    /// A pseudo-random generator with this seed and antithetic setting.
    pub fn new(seed: u64, antithetic: bool) -> NormalGenerator {
        NormalGenerator {
            seed,
            antithetic,
            scheme: PathScheme::Pseudo,
            scramble_points: 0,
        }
    }

    /// The same generator with `scrambles` independent scrambles over
    /// `num_paths` paths (see [`scramble_points`](Self::scramble_points));
    /// 1 (or 0) keeps one scramble.
    ///
    /// # Panics
    /// If `scrambles` does not divide `num_paths` (into an even number of
    /// paths each, with antithetic pairs): [`Config::validate`] refuses those.
    ///
    /// [`Config::validate`]: msr_core::Config::validate
    pub fn with_scrambles(self, scrambles: u32, num_paths: u32) -> NormalGenerator {
        if scrambles <= 1 {
            return NormalGenerator {
                scramble_points: 0,
                ..self
            };
        }
        let per = num_paths / scrambles;
        assert!(
            per >= 1 && per * scrambles == num_paths && !(self.antithetic && per % 2 == 1),
            "{scrambles} scrambles do not divide {num_paths} paths"
        );
        NormalGenerator {
            scramble_points: if self.antithetic { per / 2 } else { per },
            ..self
        }
    }

    /// The same generator with another scheme.
    pub fn with_scheme(self, scheme: PathScheme) -> NormalGenerator {
        NormalGenerator { scheme, ..self }
    }

    /// The generator of a configuration's `[valuation]` table: seed,
    /// antithetic flag and `path_scheme`. [`Config::validate`] accepts only
    /// known scheme names; an unvalidated table with an unknown name gets
    /// the default `pseudo` (use [`try_from_config`](Self::try_from_config)
    /// to refuse it instead).
    ///
    /// [`Config::validate`]: msr_core::Config::validate
    pub fn from_config(valuation: &Valuation) -> NormalGenerator {
        NormalGenerator::try_from_config(valuation)
            .unwrap_or_else(|_| NormalGenerator::new(valuation.seed, valuation.antithetic))
    }

    /// The generator of a configuration's `[valuation]` table.
    ///
    /// # Errors
    /// [`UnknownPathScheme`] when `path_scheme` names no scheme.
    pub fn try_from_config(valuation: &Valuation) -> Result<NormalGenerator, UnknownPathScheme> {
        let scheme = valuation.path_scheme.parse()?;
        let generator =
            NormalGenerator::new(valuation.seed, valuation.antithetic).with_scheme(scheme);
        Ok(match scheme {
            PathScheme::Pseudo => generator,
            _ => generator.with_scrambles(valuation.scrambles, valuation.num_paths),
        })
    }

    /// Fill `eps` with the first `eps.len()` normals of path `path` (0-based).
    /// Under `sobol` the bridge spans `eps.len()` months.
    pub fn fill_path(&self, path: usize, eps: &mut [f64]) {
        self.draw(eps.len()).fill_path(self, path, eps);
    }

    /// The normals of paths `0..num_paths` for `months` months, drawn in
    /// parallel.
    pub fn normals(&self, num_paths: usize, months: usize) -> Normals {
        self.normals_for(0..num_paths, months)
    }

    /// The normals of the paths in `paths` (0-based, half-open) for `months`
    /// months, drawn in parallel. Row `i` is path `paths.start + i`, identical
    /// to that row of a batch that starts at path 0.
    pub fn normals_for(&self, paths: Range<usize>, months: usize) -> Normals {
        let first_path = paths.start;
        let num_paths = paths.len();
        let mut eps = vec![0.0; num_paths * months];
        if months > 0 {
            let draw = self.draw(months);
            if self.antithetic && first_path.is_multiple_of(2) {
                // Whole pairs: draw the even path once and negate it for the odd one.
                eps.par_chunks_mut(2 * months)
                    .enumerate()
                    .for_each(|(i, pair)| {
                        let (even, odd) = pair.split_at_mut(months);
                        draw.fill_base(self.seed, first_path / 2 + i, even);
                        odd.iter_mut().zip(even.iter()).for_each(|(o, &e)| *o = -e);
                    });
            } else {
                eps.par_chunks_mut(months)
                    .enumerate()
                    .for_each(|(i, row)| draw.fill_path(self, first_path + i, row));
            }
        }
        let eps =
            Array2::from_shape_vec((num_paths, months), eps).expect("length is paths × months");
        Normals { eps, first_path }
    }

    /// What drawing `months` months takes under this scheme.
    fn draw(&self, months: usize) -> Draw {
        match self.scheme {
            PathScheme::Pseudo => Draw::Pseudo,
            PathScheme::Sobol => Draw::Sobol {
                points: ScrambledSobol::new(self.seed),
                scramble_points: self.scramble_points,
                construction: Construction::Bridge(BrownianBridge::new(months)),
            },
            PathScheme::SobolPca => Draw::Sobol {
                points: ScrambledSobol::new(self.seed),
                scramble_points: self.scramble_points,
                construction: Construction::Pca {
                    head: BrownianPca::new(months.min(PCA_MONTHS)),
                    tail: BrownianBridge::new(months.saturating_sub(PCA_MONTHS)),
                },
            },
        }
    }
}

/// Per-batch state of a scheme: nothing for streams, the scrambled sequence
/// and the path construction for Sobol.
enum Draw {
    Pseudo,
    Sobol {
        points: ScrambledSobol,
        construction: Construction,
        /// [`NormalGenerator::scramble_points`].
        scramble_points: u32,
    },
}

/// How a Sobol point's normals become monthly shocks.
enum Construction {
    Bridge(BrownianBridge),
    /// Principal components over the first [`PCA_MONTHS`] months, a bridge
    /// over the rest (on the dimensions after them).
    Pca {
        head: BrownianPca,
        tail: BrownianBridge,
    },
}

/// Months covered by the principal components under `sobol-pca`; later
/// months come from a Brownian bridge on the dimensions after them. A
/// mortgage book's value moves with the first years' rates: on the sample
/// book 97 % of the linear sensitivity to the shocks lies in months 1–120
/// (docs/qmc.md), so the first principal component of those months alone
/// carries about 90 % of it, against 40 % for one over 480 months.
pub const PCA_MONTHS: usize = 120;

impl Draw {
    /// Path `path`'s normals: its base draw, negated for the odd path of an
    /// antithetic pair.
    fn fill_path(&self, generator: &NormalGenerator, path: usize, eps: &mut [f64]) {
        if generator.antithetic {
            self.fill_base(generator.seed, path / 2, eps);
            if path % 2 == 1 {
                eps.iter_mut().for_each(|e| *e = -*e);
            }
        } else {
            self.fill_base(generator.seed, path, eps);
        }
    }

    /// Base draw `base` (a stream, or a Sobol point; taken modulo 2^32 there).
    fn fill_base(&self, seed: u64, base: usize, eps: &mut [f64]) {
        match self {
            Draw::Pseudo => fill_stream(seed, base, eps),
            Draw::Sobol {
                points,
                construction,
                scramble_points,
            } => {
                // Randomized QMC: point `base mod n` of scramble `base / n`.
                let (scrambled, seed, base) = match *scramble_points {
                    n if n > 0 && base >= n as usize => {
                        let (r, j) = (base / n as usize, base % n as usize);
                        let seed = scramble_seed(seed, r);
                        (ScrambledSobol::new(seed), seed, j)
                    }
                    _ => (*points, seed, base),
                };
                let mut z = vec![0.0; eps.len()];
                let filled = scrambled.fill_normals(base as u32, &mut z);
                if filled < z.len() {
                    fill_stream(seed ^ SOBOL_TAIL_SALT, base, &mut z[filled..]);
                }
                debug_assert!(filled == z.len() || filled == MAX_SOBOL_DIMS);
                match construction {
                    Construction::Bridge(bridge) => bridge.increments(&z, eps),
                    Construction::Pca { head, tail } => {
                        let h = head.months();
                        head.increments(&z[..h], &mut eps[..h]);
                        tail.increments(&z[h..], &mut eps[h..]);
                    }
                }
            }
        }
    }
}

/// The seed of independent scramble `r` of `seed`'s Sobol sequence
/// (randomized QMC): `seed` itself for scramble 0, a hash of both after.
pub fn scramble_seed(seed: u64, r: usize) -> u64 {
    if r == 0 {
        return seed;
    }
    crate::sobol::mix64(seed ^ crate::sobol::mix64(SCRAMBLE_SALT ^ r as u64))
}

/// Salt of the scramble seeds, so scramble `r` of one seed is not the
/// sequence of another simple seed.
const SCRAMBLE_SALT: u64 = 0xd1b5_4a32_d192_ed03;

/// Seed offset of the pseudo-random finest bridge dimensions of a Sobol path
/// beyond [`MAX_SOBOL_DIMS`] months, so they never coincide with a `pseudo`
/// path's stream.
const SOBOL_TAIL_SALT: u64 = 0x9e37_79b9_7f4a_7c15;

/// Draw `eps.len()` standard normals from stream `stream` of `seed`.
fn fill_stream(seed: u64, stream: usize, eps: &mut [f64]) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream as u64);
    eps.iter_mut().for_each(|e| *e = rng.sample(StandardNormal));
}

/// A block of normals `ε[p,t]`, path-major: row `i` is path
/// [`first_path`](Normals::first_path)` + i`, column `t-1` is month `t`.
#[derive(Debug, Clone, PartialEq)]
pub struct Normals {
    /// Standard layout (row-major), so each path is one contiguous slice.
    eps: Array2<f64>,
    first_path: usize,
}

impl Normals {
    /// Wrap normals drawn elsewhere (a quasi-random sequence, a test's fixed
    /// shocks); row `i` is path `i`.
    pub fn from_array(eps: Array2<f64>) -> Normals {
        let eps = eps.as_standard_layout().into_owned();
        Normals { eps, first_path: 0 }
    }

    /// Number of paths (rows).
    pub fn num_paths(&self) -> usize {
        self.eps.nrows()
    }

    /// Number of months (columns).
    pub fn months(&self) -> usize {
        self.eps.ncols()
    }

    /// The path index of row 0.
    pub fn first_path(&self) -> usize {
        self.first_path
    }

    /// Row `i`: the normals of path `first_path + i`, month 1 first.
    ///
    /// # Panics
    /// If `i ≥ num_paths()`.
    pub fn path(&self, i: usize) -> &[f64] {
        let months = self.months();
        &self.as_slice()[i * months..(i + 1) * months]
    }

    /// All normals, row-major.
    pub fn as_slice(&self) -> &[f64] {
        self.eps
            .as_slice()
            .expect("normals are stored in standard layout")
    }

    /// All normals as a `[paths, months]` array view.
    pub fn view(&self) -> ArrayView2<'_, f64> {
        self.eps.view()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn antithetic_pairs_are_exact_negations() {
        let normals = NormalGenerator::new(7, true).normals(5, 40);
        for j in 0..2 {
            for (&even, &odd) in normals.path(2 * j).iter().zip(normals.path(2 * j + 1)) {
                assert_eq!(odd.to_bits(), (-even).to_bits());
            }
        }
        // Path 2j reads stream j: the unpaired last path 4 is path 2 without antithetics.
        let plain = NormalGenerator::new(7, false).normals(3, 40);
        assert_eq!(normals.path(4), plain.path(2));
        assert_eq!(normals.path(0), plain.path(0));
        assert_eq!(normals.path(2), plain.path(1));
    }

    #[test]
    fn any_subset_matches_the_batch() {
        for antithetic in [false, true] {
            let generator = NormalGenerator::new(20261121, antithetic);
            let batch = generator.normals(12, 30);
            for range in [0..12, 3..4, 4..5, 5..11, 6..12] {
                let part = generator.normals_for(range.clone(), 30);
                assert_eq!(part.first_path(), range.start);
                for (i, p) in range.enumerate() {
                    assert_eq!(
                        part.path(i),
                        batch.path(p),
                        "path {p}, antithetic {antithetic}"
                    );
                    let mut alone = vec![0.0; 30];
                    generator.fill_path(p, &mut alone);
                    assert_eq!(alone, batch.path(p), "path {p} alone");
                }
            }
        }
    }

    #[test]
    fn a_shorter_draw_is_a_prefix_of_a_longer_one() {
        let generator = NormalGenerator::new(1, false);
        let short = generator.normals(3, 10);
        let long = generator.normals(3, 25);
        for p in 0..3 {
            assert_eq!(short.path(p), &long.path(p)[..10]);
        }
    }

    #[test]
    fn seeds_and_streams_differ() {
        let a = NormalGenerator::new(1, false).normals(2, 8);
        let b = NormalGenerator::new(2, false).normals(2, 8);
        assert_ne!(a.path(0), b.path(0));
        assert_ne!(a.path(0), a.path(1));
    }

    #[test]
    fn empty_shapes_are_allowed() {
        assert_eq!(NormalGenerator::new(1, true).normals(0, 10).num_paths(), 0);
        assert_eq!(NormalGenerator::new(1, true).normals(3, 0).months(), 0);
    }
}
