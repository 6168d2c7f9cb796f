//! The Brownian-bridge and principal-component constructions of monthly
//! shocks (docs/qmc.md). [`BrownianBridge`]: `T`
//! independent standard normals `z` become the increments `ε_1..ε_T` of a
//! Brownian motion `W` sampled monthly (`W_t = ε_1 + … + ε_t`, unit variance
//! per month), with the coarse features first.
//!
//! `z_0` sets the end point, `W_T = √T·z_0`; then, breadth first, each
//! interval `(l, r)` of known points with `r − l ≥ 2` gets its midpoint
//! `m = l + ⌊(r − l)/2⌋` from the bridge law
//! `W_m = ((r − m)·W_l + (m − l)·W_r)/(r − l) + √((m − l)(r − m)/(r − l))·z_k`
//! (Glasserman 2004, *Monte Carlo Methods in Financial Engineering* §3.1). Each
//! month is set exactly once, so the map `z ↦ ε` is linear with
//! `ε = A·z`, `A·Aᵀ = I`: for independent standard normals `z` the increments
//! are independent standard normals, whatever the order. What the order
//! changes is which `z` carry the variance: the first few fix the path's
//! broad shape, which is what a low-discrepancy sequence's first (best
//! distributed) dimensions should drive.

/// One bridge step: `W[target] = wl·W[left] + wr·W[right] + sd·z`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Step {
    target: usize,
    left: usize,
    right: usize,
    wl: f64,
    wr: f64,
    sd: f64,
}

/// A Brownian bridge over `months` monthly steps: the fill order and weights,
/// built once and applied to any number of paths.
#[derive(Debug, Clone, PartialEq)]
pub struct BrownianBridge {
    months: usize,
    steps: Vec<Step>,
}

impl BrownianBridge {
    /// The bridge over months `1..=months`.
    pub fn new(months: usize) -> BrownianBridge {
        let mut steps = Vec::with_capacity(months);
        if months > 0 {
            steps.push(Step {
                target: months,
                left: 0,
                right: 0,
                wl: 0.0,
                wr: 0.0,
                sd: (months as f64).sqrt(),
            });
        }
        let mut queue = std::collections::VecDeque::from([(0usize, months)]);
        while let Some((l, r)) = queue.pop_front() {
            if r < l + 2 {
                continue;
            }
            let m = l + (r - l) / 2;
            let (a, b, n) = ((m - l) as f64, (r - m) as f64, (r - l) as f64);
            steps.push(Step {
                target: m,
                left: l,
                right: r,
                wl: b / n,
                wr: a / n,
                sd: (a * b / n).sqrt(),
            });
            queue.push_back((l, m));
            queue.push_back((m, r));
        }
        debug_assert_eq!(steps.len(), months);
        BrownianBridge { months, steps }
    }

    /// Number of months (and of normals consumed).
    pub fn months(&self) -> usize {
        self.months
    }

    /// The month (1-based) that normal `k` (0-based) sets, in fill order:
    /// `months` first, then the midpoints breadth first.
    pub fn fill_order(&self) -> Vec<usize> {
        self.steps.iter().map(|s| s.target).collect()
    }

    /// Turn the normals `z[0..months]` into the monthly increments
    /// `eps[0..months]` (`eps[t−1] = W_t − W_{t−1}`).
    ///
    /// # Panics
    /// If `z` or `eps` is shorter than [`months`](Self::months).
    pub fn increments(&self, z: &[f64], eps: &mut [f64]) {
        let t_max = self.months;
        let (z, eps) = (&z[..t_max], &mut eps[..t_max]);
        let mut w = vec![0.0; t_max + 1];
        for (s, &zk) in self.steps.iter().zip(z) {
            w[s.target] = s.wl * w[s.left] + s.wr * w[s.right] + s.sd * zk;
        }
        for (e, pair) in eps.iter_mut().zip(w.windows(2)) {
            *e = pair[1] - pair[0];
        }
    }
}

/// The principal-component construction of monthly shocks: `T` independent
/// standard normals `z` become the increments of a Brownian motion sampled
/// monthly, `W = Σ_k √λ_k·v_k·z_k`, with `(λ_k, v_k)` the eigenpairs of the
/// covariance `min(i, j)` of `W_1..W_T`, largest first. They are known in
/// closed form (the inverse covariance is tridiagonal): with
/// `θ_k = (2k + 1)π/(2T + 1)`, `v_k(j) = √(4/(2T + 1))·sin(θ_k·j)` and
/// `λ_k = 1/(4 sin²(θ_k/2))` (Åkesson & Lehoczky 2000). The first factor, a
/// smooth level shift of the whole path, carries about 81 % of the path's
/// variance, against about 67 % for the bridge's first normal (the end
/// point). The map costs `T²` multiply-adds a path (the bridge: `T`).
#[derive(Debug, Clone, PartialEq)]
pub struct BrownianPca {
    months: usize,
    /// Factor-major: `columns[k·T + j − 1]` is factor `k`'s increment in
    /// month `j`, scaled by `√λ_k`.
    columns: Vec<f64>,
}

impl BrownianPca {
    /// The principal components over months `1..=months`.
    pub fn new(months: usize) -> BrownianPca {
        let n = (2 * months + 1) as f64;
        let norm = (4.0 / n).sqrt();
        let mut columns = vec![0.0; months * months];
        for (k, col) in columns.chunks_exact_mut(months.max(1)).enumerate() {
            let theta = (2 * k + 1) as f64 * std::f64::consts::PI / n;
            let scale = norm / (2.0 * (0.5 * theta).sin());
            let mut prev = 0.0;
            for (j, c) in col.iter_mut().enumerate() {
                let w = scale * (theta * (j + 1) as f64).sin();
                *c = w - prev;
                prev = w;
            }
        }
        BrownianPca { months, columns }
    }

    /// Number of months (and of normals consumed).
    pub fn months(&self) -> usize {
        self.months
    }

    /// The eigenvalue `λ_k` of factor `k` (0-based, largest first): the
    /// variance of the path it carries is `λ_k`, out of `Σ_t t` in all.
    pub fn eigenvalue(&self, k: usize) -> f64 {
        let theta = (2 * k + 1) as f64 * std::f64::consts::PI / (2 * self.months + 1) as f64;
        1.0 / (4.0 * (0.5 * theta).sin().powi(2))
    }

    /// Turn the normals `z[0..months]` into the monthly increments
    /// `eps[0..months]`.
    ///
    /// # Panics
    /// If `z` or `eps` is shorter than [`months`](Self::months).
    pub fn increments(&self, z: &[f64], eps: &mut [f64]) {
        let t_max = self.months;
        let eps = &mut eps[..t_max];
        eps.iter_mut().for_each(|e| *e = 0.0);
        if t_max == 0 {
            return;
        }
        for (col, &zk) in self.columns.chunks_exact(t_max).zip(&z[..t_max]) {
            eps.iter_mut().zip(col).for_each(|(e, &c)| *e += zk * c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_month_is_set_once_coarse_first() {
        for months in [1, 2, 3, 7, 12, 360, 480] {
            let order = BrownianBridge::new(months).fill_order();
            let mut seen = order.clone();
            seen.sort_unstable();
            assert_eq!(seen, (1..=months).collect::<Vec<_>>(), "{months}");
            assert_eq!(order[0], months);
        }
        assert_eq!(
            &BrownianBridge::new(480).fill_order()[..4],
            &[480, 240, 120, 360]
        );
        assert!(BrownianBridge::new(0).fill_order().is_empty());
    }

    #[test]
    fn first_factor_carries_most_of_the_variance() {
        let pca = BrownianPca::new(480);
        let total: f64 = (1..=480).map(|t| t as f64).sum();
        let all: f64 = (0..480).map(|k| pca.eigenvalue(k)).sum();
        assert!((all - total).abs() < 1e-9 * total, "{all} vs {total}");
        let first = pca.eigenvalue(0) / total;
        assert!((0.80..0.82).contains(&first), "{first}");
        assert!(pca.eigenvalue(1) < pca.eigenvalue(0));
    }

    #[test]
    fn first_normal_alone_is_a_straight_line() {
        let bridge = BrownianBridge::new(9);
        let mut z = vec![0.0; 9];
        z[0] = 2.0;
        let mut eps = vec![0.0; 9];
        bridge.increments(&z, &mut eps);
        for e in eps {
            assert!((e - 2.0 / 3.0).abs() < 1e-15, "{e}");
        }
    }
}
