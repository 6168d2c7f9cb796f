//! Maximum-likelihood estimation of the §D parameters from a prepared
//! panel ([`crate::likelihood`]), with standard errors from the observed
//! information and an identification check.
//!
//! * Prepayment and roll blocks: L-BFGS (argmin, Moré–Thuente line search)
//!   on the analytic gradient in internal coordinates (scaled logits of the
//!   parameters the configuration bounds, so an estimate is always a valid
//!   configuration; a softmax for the seasonal factors so their mean stays 1),
//!   then up to three Newton steps on the observed information (central
//!   differences of the analytic gradient). Standard errors: the inverse
//!   information, carried to natural units by the delta method.
//! * Chain rates: closed-form multinomial estimates from the counts; the
//!   FC block (reinstatement shared by judicial and non-judicial states,
//!   a completion hazard `h = 1/fc_months` for each) by coordinate ascent.
//! * A parameter with no information (no rows that depend on it, or
//!   information collinear with others') is *unidentified*: reported so and
//!   left at its base value, never NaN.

use argmin::core::{CostFunction, Executor, Gradient, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;

use crate::likelihood::{
    prepay_internal, prepay_jacobian, prepay_natural, prepay_nll, roll_internal, roll_natural,
    roll_nll, Fixed, Prepared, PREPAY_DIM, ROLL_DIM,
};
use crate::model::{Values, BASE_ROLL, CURE30, FC_MONTHS_JUDICIAL, NAMES, NUM_PARAMS, SEASON};
use crate::panel::Next;
use msr_core::loan::DqState;

/// Relative size below which a diagonal information entry, or a Cholesky
/// pivot of the information scaled to unit diagonal, counts as no
/// information.
pub const IDENTIFICATION_TOL: f64 = 1e-9;

/// A block has converged when its Newton decrement `gᵀI⁻¹g` (twice the
/// log-likelihood still to gain) is below this.
pub const NEWTON_DECREMENT_TOL: f64 = 1e-6;

/// Options of a fit.
#[derive(Debug, Clone, Default)]
pub struct FitOptions {
    /// Parameter indices ([`NAMES`]) held at their base values.
    pub fix: Vec<usize>,
    /// L-BFGS iteration limit per block (0: 500).
    pub max_iters: u64,
}

/// One parameter's result.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamEstimate {
    /// Name ([`NAMES`]).
    pub name: &'static str,
    /// Estimate (the base value when fixed or unidentified).
    pub estimate: f64,
    /// Standard error from the observed information; `None` when fixed,
    /// unidentified or on the boundary of its range.
    pub std_error: Option<f64>,
    /// Base (starting) value.
    pub initial: f64,
    /// False when the data carry no information on it.
    pub identified: bool,
    /// Held at its base value by the caller.
    pub fixed: bool,
    /// Why it is unidentified or has no standard error.
    pub note: Option<String>,
}

/// The result of [`fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct FitResult {
    /// Estimated values (base values where fixed or unidentified).
    pub values: Values,
    /// Per parameter, in [`NAMES`] order.
    pub params: Vec<ParamEstimate>,
    /// Log-likelihood at the estimates (all rows).
    pub log_likelihood: f64,
    /// Rows used.
    pub loan_months: u64,
    /// Loans with a row used.
    pub loans: u64,
    /// Both numerical blocks converged (Newton decrement below
    /// [`NEWTON_DECREMENT_TOL`]).
    pub converged: bool,
    /// L-BFGS iterations plus Newton steps, both blocks.
    pub iterations: u64,
}

/// Fit every parameter not in `options.fix` to `data`, starting from (and
/// falling back to) `base`.
pub fn fit(data: &Prepared, base: &Values, fixed: &Fixed, options: &FitOptions) -> FitResult {
    let mut is_fixed = [false; NUM_PARAMS];
    for &k in &options.fix {
        is_fixed[k] = true;
    }
    let max_iters = if options.max_iters == 0 {
        500
    } else {
        options.max_iters
    };
    let mut values = *base;
    let mut params: Vec<ParamEstimate> = (0..NUM_PARAMS)
        .map(|k| ParamEstimate {
            name: NAMES[k],
            estimate: base[k],
            std_error: None,
            initial: base[k],
            identified: true,
            fixed: is_fixed[k],
            note: is_fixed[k].then(|| "fixed by --fix".to_string()),
        })
        .collect();

    // Prepayment block.
    let u0 = prepay_internal(base);
    let mut free = [true; PREPAY_DIM];
    for k in 0..7 {
        free[k] = !is_fixed[k];
    }
    let season_fixed = (SEASON..SEASON + 12).any(|k| is_fixed[k]);
    for f in free.iter_mut().skip(7) {
        *f = !season_fixed;
    }
    let prepay = fit_block(
        &u0,
        &free,
        data.c_rows,
        &|u, g| prepay_nll(&data.prepay, fixed, u, g),
        max_iters,
        "no rows from C",
    );
    prepay_natural(&prepay.u, &mut values);
    if season_fixed {
        values[SEASON..SEASON + 12].copy_from_slice(&base[SEASON..SEASON + 12]);
    }
    let jac = prepay_jacobian(&prepay.u);
    for k in 0..19 {
        let p = &mut params[k];
        if p.fixed {
            values[k] = base[k];
            continue;
        }
        let own = if k < 7 {
            Some(k)
        } else if k > SEASON {
            Some(k - SEASON + 6)
        } else {
            None
        };
        if let Some(j) = own {
            if let Some(why) = &prepay.unidentified[j] {
                p.identified = false;
                p.note = Some(why.clone());
                if k < 7 {
                    values[k] = base[k];
                }
            }
        }
        p.estimate = values[k];
        if p.identified {
            p.std_error = prepay.std_error(&jac[k]);
        }
    }

    // Roll block.
    let b = BASE_ROLL;
    let free: Vec<bool> = (0..ROLL_DIM).map(|j| !is_fixed[b + j]).collect();
    let roll = fit_block(
        &roll_internal(base),
        &free,
        data.roll_rows,
        &|u, g| roll_nll(&data.roll, fixed, u, g),
        max_iters,
        "no rows from C that stayed or rolled",
    );
    roll_natural(&roll.u, &mut values);
    for j in 0..ROLL_DIM {
        let p = &mut params[b + j];
        if p.fixed {
            values[b + j] = base[b + j];
        } else if let Some(why) = &roll.unidentified[j] {
            values[b + j] = base[b + j];
            p.identified = false;
            p.note = Some(why.clone());
        } else {
            let mut row = [0.0; ROLL_DIM];
            row[j] = if j == 0 {
                values[b] * (1.0 - values[b])
            } else {
                1.0
            };
            p.std_error = roll.std_error(&row);
        }
        p.estimate = values[b + j];
    }

    // Chain rates.
    let counts = &data.counts;
    let groups: [(DqState, &[(usize, Next)]); 4] = [
        (
            DqState::D30,
            &[
                (CURE30, Next::State(DqState::C)),
                (CURE30 + 1, Next::State(DqState::D60)),
                (CURE30 + 2, Next::Pp),
            ],
        ),
        (
            DqState::D60,
            &[
                (CURE30 + 3, Next::State(DqState::C)),
                (CURE30 + 4, Next::State(DqState::D90)),
            ],
        ),
        (
            DqState::D90,
            &[
                (CURE30 + 5, Next::State(DqState::C)),
                (CURE30 + 6, Next::State(DqState::D120)),
            ],
        ),
        (
            DqState::D120,
            &[
                (CURE30 + 7, Next::State(DqState::C)),
                (CURE30 + 8, Next::Mod),
                (CURE30 + 9, Next::Dil),
                (CURE30 + 10, Next::State(DqState::Fc)),
            ],
        ),
    ];
    for (state, arrows) in groups {
        fit_multinomial(
            &counts.by_state[state.index()],
            state,
            arrows,
            base,
            &mut values,
            &mut params,
        );
    }
    fit_foreclosure(&counts.fc, base, &mut values, &mut params);

    let log_likelihood = -(prepay.nll * data.c_rows + roll.nll * data.roll_rows)
        + chain_log_likelihood(data, &values);
    FitResult {
        values,
        params,
        log_likelihood,
        loan_months: data.rows,
        loans: data.loans,
        converged: prepay.converged && roll.converged,
        iterations: prepay.iterations + roll.iterations,
    }
}

/// Log-likelihood of the delinquent rows' moves at `values`.
fn chain_log_likelihood(data: &Prepared, v: &Values) -> f64 {
    let r = &v[CURE30..];
    let term = |n: f64, p: f64| if n > 0.0 { n * p.max(1e-300).ln() } else { 0.0 };
    let mut ll = 0.0;
    let rows: [(usize, Vec<(Next, f64)>); 4] = [
        (
            1,
            vec![
                (Next::State(DqState::C), r[0]),
                (Next::State(DqState::D60), r[1]),
                (Next::Pp, r[2]),
            ],
        ),
        (
            2,
            vec![
                (Next::State(DqState::C), r[3]),
                (Next::State(DqState::D90), r[4]),
            ],
        ),
        (
            3,
            vec![
                (Next::State(DqState::C), r[5]),
                (Next::State(DqState::D120), r[6]),
            ],
        ),
        (
            4,
            vec![
                (Next::State(DqState::C), r[7]),
                (Next::Mod, r[8]),
                (Next::Dil, r[9]),
                (Next::State(DqState::Fc), r[10]),
            ],
        ),
    ];
    for (s, moves) in rows {
        let c = &data.counts.by_state[s];
        let mut stay = 1.0;
        for (to, p) in moves {
            ll += term(c[to.index()], p);
            stay -= p;
        }
        ll += term(c[s], stay);
    }
    for (g, c) in data.counts.fc.iter().enumerate() {
        let h = 1.0 / v[FC_MONTHS_JUDICIAL + g];
        ll += term(c[0], r[11]) + term(c[Next::Liq.index()], h) + term(c[5], 1.0 - r[11] - h);
    }
    ll
}

/// One numerical block's fit.
struct BlockFit {
    /// Internal coordinates at the optimum (fixed and unidentified ones at base).
    u: Vec<f64>,
    /// Negative mean log-likelihood there.
    nll: f64,
    /// Per coordinate: why it is unidentified.
    unidentified: Vec<Option<String>>,
    /// Identified free coordinates, and the inverse information over them.
    cov_coords: Vec<usize>,
    cov: Vec<Vec<f64>>,
    converged: bool,
    iterations: u64,
}

impl BlockFit {
    /// Standard error of a natural parameter whose gradient in the internal
    /// coordinates is `row` (indexed by coordinate).
    fn std_error(&self, row: &[f64]) -> Option<f64> {
        let grad_of = |c: usize| row.get(c).copied().unwrap_or(0.0);
        let mut var = 0.0;
        let mut any = false;
        for (a, &ca) in self.cov_coords.iter().enumerate() {
            let ga = grad_of(ca);
            if ga == 0.0 {
                continue;
            }
            for (b, &cb) in self.cov_coords.iter().enumerate() {
                var += ga * self.cov[a][b] * grad_of(cb);
                any = true;
            }
        }
        (any && var.is_finite() && var >= 0.0).then(|| var.sqrt())
    }
}

/// The argmin problem over a block's free coordinates.
struct Problem<'a> {
    f: &'a dyn Fn(&[f64], &mut [f64]) -> f64,
    base: Vec<f64>,
    free: Vec<usize>,
}

impl Problem<'_> {
    fn full(&self, x: &[f64]) -> Vec<f64> {
        let mut u = self.base.clone();
        for (&k, &v) in self.free.iter().zip(x) {
            u[k] = v;
        }
        u
    }

    fn eval(&self, x: &[f64]) -> (f64, Vec<f64>) {
        let u = self.full(x);
        let mut g = vec![0.0; u.len()];
        let f = (self.f)(&u, &mut g);
        (f, self.free.iter().map(|&k| g[k]).collect())
    }
}

impl CostFunction for Problem<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, x: &Vec<f64>) -> Result<f64, argmin::core::Error> {
        let f = self.eval(x).0;
        Ok(if f.is_finite() { f } else { f64::MAX })
    }
}

impl Gradient for Problem<'_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, x: &Vec<f64>) -> Result<Vec<f64>, argmin::core::Error> {
        Ok(self
            .eval(x)
            .1
            .into_iter()
            .map(|g| if g.is_finite() { g } else { 0.0 })
            .collect())
    }
}

/// Minimise the block's negative mean log-likelihood `f` over its free
/// coordinates; `n` rows carry it (the information is `n` times the mean's
/// Hessian).
fn fit_block(
    u0: &[f64],
    free: &[bool],
    n: f64,
    f: &dyn Fn(&[f64], &mut [f64]) -> f64,
    max_iters: u64,
    no_rows: &str,
) -> BlockFit {
    let dim = u0.len();
    let mut unidentified: Vec<Option<String>> = vec![None; dim];
    let mut fit = BlockFit {
        u: u0.to_vec(),
        nll: 0.0,
        unidentified: vec![None; dim],
        cov_coords: Vec::new(),
        cov: Vec::new(),
        converged: true,
        iterations: 0,
    };
    if n <= 0.0 {
        for (k, f) in free.iter().enumerate() {
            if *f {
                fit.unidentified[k] = Some(no_rows.to_string());
            }
        }
        return fit;
    }
    // Fit, check identification, refit without what is unidentified.
    // Each round drops at least one coordinate, so dim + 1 rounds always settle.
    for _round in 0..=dim {
        let active: Vec<usize> = (0..dim)
            .filter(|&k| free[k] && unidentified[k].is_none())
            .collect();
        let problem = Problem {
            f,
            base: u0.to_vec(),
            free: active.clone(),
        };
        let x0: Vec<f64> = active.iter().map(|&k| u0[k]).collect();
        let mut x = x0.clone();
        let mut iterations = 0;
        if !active.is_empty() {
            let solver = LBFGS::new(MoreThuenteLineSearch::new(), 10)
                .with_tolerance_grad(1e-10)
                .and_then(|s| s.with_tolerance_cost(1e-15));
            if let Ok(solver) = solver {
                let run = Executor::new(
                    Problem {
                        f,
                        base: u0.to_vec(),
                        free: active.clone(),
                    },
                    solver,
                )
                .configure(|s| s.param(x0.clone()).max_iters(max_iters))
                .run();
                if let Ok(res) = run {
                    let state = res.state();
                    iterations = state.get_iter();
                    if let Some(best) = state.get_best_param() {
                        x = best.clone();
                    }
                }
            }
        }
        // Newton polish on the observed information. Converged when the
        // Newton decrement gᵀI⁻¹g (twice the log-likelihood still to gain)
        // is below NEWTON_DECREMENT_TOL, whatever L-BFGS concluded.
        let mut info = information(&problem, &x, n);
        let mut converged = active.is_empty();
        for _ in 0..4 {
            if active.is_empty() {
                break;
            }
            let (f0, g) = problem.eval(&x);
            let g_sum: Vec<f64> = g.iter().map(|v| v * n).collect();
            let Some(step) = solve(&info, &g_sum) else {
                break;
            };
            let decrement: f64 = step.iter().zip(&g_sum).map(|(a, b)| a * b).sum();
            if decrement.abs() < NEWTON_DECREMENT_TOL {
                converged = true;
                break;
            }
            let trial: Vec<f64> = x.iter().zip(&step).map(|(a, b)| a - b).collect();
            if problem.eval(&trial).0 < f0 {
                x = trial;
                iterations += 1;
                info = information(&problem, &x, n);
            } else {
                break;
            }
        }
        // Identification.
        let ident = identified(&info);
        let mut changed = false;
        for (a, &k) in active.iter().enumerate() {
            if let Some(why) = &ident[a] {
                unidentified[k] = Some(why.clone());
                changed = true;
            }
        }
        if changed {
            continue;
        }
        fit.u = problem.full(&x);
        fit.nll = problem.eval(&x).0;
        fit.unidentified = unidentified;
        fit.cov = invert(&info).unwrap_or_default();
        fit.cov_coords = if fit.cov.is_empty() {
            Vec::new()
        } else {
            active
        };
        fit.converged = converged;
        fit.iterations = iterations;
        return fit;
    }
    // Unreachable in practice (see the loop bound): everything left at base.
    let problem = Problem {
        f,
        base: u0.to_vec(),
        free: Vec::new(),
    };
    fit.nll = problem.eval(&[]).0;
    for k in 0..dim {
        if free[k] {
            fit.unidentified[k] = Some(
                unidentified[k]
                    .clone()
                    .unwrap_or_else(|| "no stable identified set".to_string()),
            );
        }
    }
    fit.converged = false;
    fit
}

/// The observed information `n·∇²f` over the problem's free coordinates at
/// `x`, by central differences of the analytic gradient.
fn information(problem: &Problem<'_>, x: &[f64], n: f64) -> Vec<Vec<f64>> {
    let d = x.len();
    let mut h = vec![vec![0.0; d]; d];
    for j in 0..d {
        let step = 1e-5 * (1.0 + x[j].abs());
        let mut up = x.to_vec();
        let mut dn = x.to_vec();
        up[j] += step;
        dn[j] -= step;
        let gu = problem.eval(&up).1;
        let gd = problem.eval(&dn).1;
        for i in 0..d {
            h[i][j] = n * (gu[i] - gd[i]) / (2.0 * step);
        }
    }
    (0..d)
        .map(|i| (0..d).map(|j| 0.5 * (h[i][j] + h[j][i])).collect())
        .collect()
}

/// Per coordinate: `None` when identified, else why not (no information, or
/// information collinear with earlier coordinates').
fn identified(info: &[Vec<f64>]) -> Vec<Option<String>> {
    let d = info.len();
    let mut out = vec![None; d];
    let max_diag = (0..d).map(|i| info[i][i]).fold(0.0, f64::max);
    let mut keep = Vec::new();
    for i in 0..d {
        let di = info[i][i];
        if !(di.is_finite() && di > IDENTIFICATION_TOL * max_diag && di > 0.0) {
            out[i] = Some("no information in the data (no rows depend on it)".to_string());
        } else {
            keep.push(i);
        }
    }
    // Cholesky of the unit-diagonal scaling, in order; a small pivot means
    // the coordinate is (nearly) a combination of earlier ones.
    let mut l: Vec<Vec<f64>> = Vec::new();
    let mut used: Vec<usize> = Vec::new();
    for &i in &keep {
        let r = |a: usize, b: usize| info[a][b] / (info[a][a] * info[b][b]).sqrt();
        let mut row = Vec::with_capacity(used.len());
        for (k, &j) in used.iter().enumerate() {
            let s: f64 = (0..k).map(|m| row[m] * l[k][m]).sum();
            row.push((r(i, j) - s) / l[k][k]);
        }
        let pivot = 1.0 - row.iter().map(|x| x * x).sum::<f64>();
        if pivot.is_nan() || pivot <= IDENTIFICATION_TOL {
            out[i] = Some(format!(
                "not separately identified: its information is collinear with other parameters' (pivot {pivot:.1e})"
            ));
            continue;
        }
        row.push(pivot.sqrt());
        l.push(row);
        used.push(i);
    }
    out
}

/// Cholesky factor of a symmetric positive-definite matrix.
fn cholesky(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let d = a.len();
    let mut l = vec![vec![0.0; d]; d];
    for i in 0..d {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let p = a[i][i] - s;
                if p.is_nan() || p <= 0.0 {
                    return None;
                }
                l[i][j] = p.sqrt();
            } else {
                l[i][j] = (a[i][j] - s) / l[j][j];
            }
        }
    }
    Some(l)
}

/// Solve `a·x = b` for symmetric positive-definite `a`.
fn solve(a: &[Vec<f64>], b: &[f64]) -> Option<Vec<f64>> {
    let l = cholesky(a)?;
    let d = b.len();
    let mut y = vec![0.0; d];
    for i in 0..d {
        let s: f64 = (0..i).map(|k| l[i][k] * y[k]).sum();
        y[i] = (b[i] - s) / l[i][i];
    }
    let mut x = vec![0.0; d];
    for i in (0..d).rev() {
        let s: f64 = (i + 1..d).map(|k| l[k][i] * x[k]).sum();
        x[i] = (y[i] - s) / l[i][i];
    }
    Some(x)
}

/// Inverse of a symmetric positive-definite matrix.
fn invert(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let d = a.len();
    let mut inv = vec![vec![0.0; d]; d];
    for j in 0..d {
        let mut e = vec![0.0; d];
        e[j] = 1.0;
        let col = solve(a, &e)?;
        for i in 0..d {
            inv[i][j] = col[i];
        }
    }
    Some(inv)
}

/// Closed-form multinomial estimates of one delinquent state's rates; the
/// fixed ones held, the free ones sharing what is left in proportion to
/// their counts.
fn fit_multinomial(
    counts: &[f64; 10],
    state: DqState,
    arrows: &[(usize, Next)],
    base: &Values,
    values: &mut Values,
    params: &mut [ParamEstimate],
) {
    let stay = counts[state.index()];
    let total: f64 = stay + arrows.iter().map(|(_, to)| counts[to.index()]).sum::<f64>();
    let fixed_mass: f64 = arrows
        .iter()
        .filter(|(k, _)| params[*k].fixed)
        .map(|(k, _)| base[*k])
        .sum();
    let free_rows: f64 = total
        - arrows
            .iter()
            .filter(|(k, _)| params[*k].fixed)
            .map(|(_, to)| counts[to.index()])
            .sum::<f64>();
    for &(k, to) in arrows {
        let p = &mut params[k];
        if p.fixed {
            continue;
        }
        if free_rows <= 0.0 {
            p.identified = false;
            p.note = Some(format!("no rows from {}", state.code()));
            continue;
        }
        let q = counts[to.index()] / free_rows;
        let est = (1.0 - fixed_mass).max(0.0) * q;
        values[k] = est;
        p.estimate = est;
        if counts[to.index()] == 0.0 {
            p.note = Some(format!(
                "no {}→{} move observed in {free_rows} rows: the estimate is 0, on the boundary, without a standard error",
                state.code(),
                to.code()
            ));
        } else {
            p.std_error = Some((1.0 - fixed_mass).max(0.0) * (q * (1.0 - q) / free_rows).sqrt());
        }
    }
}

/// The FC block: reinstatement `r` (both groups) and the completion hazards
/// `h_j`, `h_n` (`fc_months = 1/h`), by coordinate ascent on
/// `R ln r + Σ_g [L_g ln h_g + S_g ln(1 − r − h_g)]`.
fn fit_foreclosure(
    fc: &[[f64; 10]; 2],
    base: &Values,
    values: &mut Values,
    params: &mut [ParamEstimate],
) {
    let ri = CURE30 + 11;
    let hi = [FC_MONTHS_JUDICIAL, FC_MONTHS_JUDICIAL + 1];
    let reinstated = [fc[0][0], fc[1][0]];
    let liq = [fc[0][Next::Liq.index()], fc[1][Next::Liq.index()]];
    let stay = [fc[0][5], fc[1][5]];
    let rows = [
        reinstated[0] + liq[0] + stay[0],
        reinstated[1] + liq[1] + stay[1],
    ];
    let total_r = reinstated[0] + reinstated[1];
    // Which of (r, h_j, h_n) are estimated.
    let mut free_r = !params[ri].fixed;
    if free_r && rows[0] + rows[1] == 0.0 {
        params[ri].identified = false;
        params[ri].note = Some("no rows from FC".to_string());
        free_r = false;
    }
    let mut free_h = [false; 2];
    for g in 0..2 {
        let k = hi[g];
        if params[k].fixed {
            continue;
        }
        let which = if g == 0 { "judicial" } else { "non-judicial" };
        if rows[g] == 0.0 {
            params[k].identified = false;
            params[k].note = Some(format!("no FC rows in {which} states"));
        } else if liq[g] == 0.0 {
            params[k].identified = false;
            params[k].note = Some(format!(
                "no liquidation observed in {} FC rows in {which} states (fc_months would be infinite)",
                rows[g]
            ));
        } else {
            free_h[g] = true;
        }
    }
    let mut r = base[ri];
    let mut h = [1.0 / base[hi[0]], 1.0 / base[hi[1]]];
    for _ in 0..200 {
        for g in 0..2 {
            if free_h[g] {
                h[g] = (1.0 - r) * liq[g] / (liq[g] + stay[g]);
            }
        }
        if free_r {
            // R/r = Σ_g S_g/(1 − r − h_g): the left side falls, the right rises.
            let upper = 1.0 - h[0].max(h[1]);
            let d = |r: f64| {
                total_r / r
                    - (0..2)
                        .map(|g| {
                            if rows[g] > 0.0 {
                                stay[g] / (1.0 - r - h[g])
                            } else {
                                0.0
                            }
                        })
                        .sum::<f64>()
            };
            if total_r == 0.0 {
                r = 0.0;
            } else {
                let (mut lo, mut hi_r) = (0.0, upper);
                for _ in 0..100 {
                    let mid = 0.5 * (lo + hi_r);
                    if d(mid) > 0.0 {
                        lo = mid;
                    } else {
                        hi_r = mid;
                    }
                }
                r = 0.5 * (lo + hi_r);
            }
        }
    }
    // Observed information over (r, h_j, h_n).
    let q = [1.0 - r - h[0], 1.0 - r - h[1]];
    let mut info = [[0.0; 3]; 3];
    info[0][0] = if r > 0.0 { total_r / (r * r) } else { 0.0 };
    for g in 0..2 {
        let s = stay[g] / (q[g] * q[g]);
        info[0][0] += s;
        info[0][1 + g] = s;
        info[1 + g][0] = s;
        info[1 + g][1 + g] = liq[g] / (h[g] * h[g]) + s;
    }
    let active: Vec<usize> = [free_r && r > 0.0, free_h[0], free_h[1]]
        .iter()
        .enumerate()
        .filter(|(_, &f)| f)
        .map(|(k, _)| k)
        .collect();
    let sub: Vec<Vec<f64>> = active
        .iter()
        .map(|&a| active.iter().map(|&b| info[a][b]).collect())
        .collect();
    let cov = invert(&sub);
    let se = |which: usize| -> Option<f64> {
        let pos = active.iter().position(|&a| a == which)?;
        let v = cov.as_ref()?[pos][pos];
        (v.is_finite() && v >= 0.0).then(|| v.sqrt())
    };
    if free_r {
        values[ri] = r;
        params[ri].estimate = r;
        if r > 0.0 {
            params[ri].std_error = se(0);
        } else {
            params[ri].note = Some(
                "no reinstatement observed: the estimate is 0, on the boundary, without a standard error"
                    .to_string(),
            );
        }
    }
    for g in 0..2 {
        if free_h[g] {
            values[hi[g]] = 1.0 / h[g];
            params[hi[g]].estimate = 1.0 / h[g];
            params[hi[g]].std_error = se(1 + g).map(|s| s / (h[g] * h[g]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_algebra() {
        let a = vec![vec![4.0, 2.0], vec![2.0, 3.0]];
        let inv = invert(&a).unwrap();
        // (1/8)·[[3, −2], [−2, 4]]
        assert!((inv[0][0] - 0.375).abs() < 1e-15);
        assert!((inv[0][1] + 0.25).abs() < 1e-15);
        assert!((inv[1][1] - 0.5).abs() < 1e-15);
        assert!(cholesky(&[vec![1.0, 1.0], vec![1.0, 1.0]]).is_none());
        // Collinear second coordinate; a zero third.
        let info = vec![
            vec![2.0, 4.0, 0.0],
            vec![4.0, 8.0, 0.0],
            vec![0.0, 0.0, 0.0],
        ];
        let id = identified(&info);
        assert!(id[0].is_none());
        assert!(id[1].as_deref().unwrap().contains("collinear"));
        assert!(id[2].as_deref().unwrap().contains("no information"));
    }

    #[test]
    fn foreclosure_block_closed_form() {
        // Judicial: 10 reinstated, 30 liquidated, 960 stayed; non-judicial:
        // 6, 50, 444. Both hazards free: r = R/N, h_g = (1 − r)·L/(L + S).
        let mut fc = [[0.0; 10]; 2];
        fc[0][0] = 10.0;
        fc[0][Next::Liq.index()] = 30.0;
        fc[0][5] = 960.0;
        fc[1][0] = 6.0;
        fc[1][Next::Liq.index()] = 50.0;
        fc[1][5] = 444.0;
        let base = crate::model::values_of(&msr_core::config::Config::default());
        let mut values = base;
        let mut params: Vec<ParamEstimate> = (0..NUM_PARAMS)
            .map(|k| ParamEstimate {
                name: NAMES[k],
                estimate: base[k],
                std_error: None,
                initial: base[k],
                identified: true,
                fixed: false,
                note: None,
            })
            .collect();
        fit_foreclosure(&fc, &base, &mut values, &mut params);
        let r = 16.0 / 1500.0;
        assert!((values[CURE30 + 11] - r).abs() < 1e-12);
        let hj = (1.0 - r) * 30.0 / 990.0;
        assert!((values[FC_MONTHS_JUDICIAL] - 1.0 / hj).abs() < 1e-9);
        let hn = (1.0 - r) * 50.0 / 494.0;
        assert!((values[FC_MONTHS_JUDICIAL + 1] - 1.0 / hn).abs() < 1e-9);
        assert!(params[FC_MONTHS_JUDICIAL].std_error.unwrap() > 0.0);
    }
}
