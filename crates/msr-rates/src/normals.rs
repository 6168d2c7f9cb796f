//! The Hull–White shocks `ε[p,t] ~ N(0,1)` (MODEL.md §C.2): [`NormalGenerator`]
//! says how they are drawn, [`Normals`] holds a block of them.
//!
//! Path `p`'s normals are a pure function of `(seed, p)`: a ChaCha8 generator
//! seeded from `seed` on its own stream, read through `StandardNormal`. Without
//! antithetic sampling path `p` reads stream `p`; with it path `2j` reads stream
//! `j` and path `2j+1` uses the exact negation of path `2j`'s normals (an
//! unpaired last path reads stream `j` like any even path). So a path is the
//! same whether drawn alone, in any subset, or on any number of threads, and
//! shocked curves reuse the very same normals (common random numbers).

use std::ops::Range;

use msr_core::config::Valuation;
use ndarray::{Array2, ArrayView2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;

/// How the normals are drawn: the seed and whether paths come in antithetic pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NormalGenerator {
    /// Random seed.
    pub seed: u64,
    /// Antithetic pairs: path `2j+1` uses `−ε` of path `2j`.
    pub antithetic: bool,
}

impl NormalGenerator {
    /// A generator with this seed and antithetic setting.
    pub fn new(seed: u64, antithetic: bool) -> NormalGenerator {
        NormalGenerator { seed, antithetic }
    }

    /// The generator of a configuration's `[valuation]` table.
    pub fn from_config(valuation: &Valuation) -> NormalGenerator {
        NormalGenerator::new(valuation.seed, valuation.antithetic)
    }

    /// Fill `eps` with the first `eps.len()` normals of path `path` (0-based).
    pub fn fill_path(&self, path: usize, eps: &mut [f64]) {
        if self.antithetic {
            fill_stream(self.seed, path / 2, eps);
            if path % 2 == 1 {
                eps.iter_mut().for_each(|e| *e = -*e);
            }
        } else {
            fill_stream(self.seed, path, eps);
        }
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
            if self.antithetic && first_path.is_multiple_of(2) {
                // Whole pairs: draw the even path once and negate it for the odd one.
                eps.par_chunks_mut(2 * months)
                    .enumerate()
                    .for_each(|(i, pair)| {
                        let (even, odd) = pair.split_at_mut(months);
                        fill_stream(self.seed, first_path / 2 + i, even);
                        odd.iter_mut().zip(even.iter()).for_each(|(o, &e)| *o = -e);
                    });
            } else {
                eps.par_chunks_mut(months)
                    .enumerate()
                    .for_each(|(i, row)| self.fill_path(first_path + i, row));
            }
        }
        let eps =
            Array2::from_shape_vec((num_paths, months), eps).expect("length is paths × months");
        Normals { eps, first_path }
    }
}

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
