//! The estimated parameters of MODEL.md §D (their names, how they are read
//! from and written to a [`Config`]) and a row's move probabilities, read
//! through msr-model's own roll and §D.3 chain so that the fit, the
//! simulator, the back-test and the valuation share one model.

use msr_core::config::Config;
use msr_core::loan::DqState;
use msr_model::chain::step;
use msr_model::ModelParams;

use crate::panel::Next;

/// Number of estimated parameters.
pub const NUM_PARAMS: usize = 36;

/// Index of the first seasonal factor (January); December is `SEASON + 11`.
pub const SEASON: usize = 7;
/// Index of `base_roll`; `fico_beta`, `ltv_beta` follow.
pub const BASE_ROLL: usize = 19;
/// Index of `cure30`, the first chain rate (then `roll30`, `pp30`, `cure60`,
/// `roll60`, `cure90`, `roll90`, `cure120`, `mod120`, `dil120`, `fc120`,
/// `reinstate`).
pub const CURE30: usize = 22;
/// Index of `fc_months_judicial` (`fc_months_nonjudicial` follows).
pub const FC_MONTHS_JUDICIAL: usize = 34;

/// Parameter names, as the configuration keys (seasonality by 0-based
/// month index, January = 0).
pub const NAMES: [&str; NUM_PARAMS] = [
    "turnover_cpr",
    "lockin",
    "refi_max_cpr",
    "refi_slope",
    "refi_midpoint",
    "burnout",
    "refi_fico",
    "seasonality[0]",
    "seasonality[1]",
    "seasonality[2]",
    "seasonality[3]",
    "seasonality[4]",
    "seasonality[5]",
    "seasonality[6]",
    "seasonality[7]",
    "seasonality[8]",
    "seasonality[9]",
    "seasonality[10]",
    "seasonality[11]",
    "base_roll",
    "fico_beta",
    "ltv_beta",
    "cure30",
    "roll30",
    "pp30",
    "cure60",
    "roll60",
    "cure90",
    "roll90",
    "cure120",
    "mod120",
    "dil120",
    "fc120",
    "reinstate",
    "fc_months_judicial",
    "fc_months_nonjudicial",
];

/// The configuration table of parameter `k` (`prepay` or `credit`).
pub fn table_of(k: usize) -> &'static str {
    if k < BASE_ROLL {
        "prepay"
    } else {
        "credit"
    }
}

/// Indices named by a `--fix` entry: a parameter name, or `seasonality`
/// for all twelve factors.
pub fn indices_of(name: &str) -> Option<Vec<usize>> {
    if name == "seasonality" {
        return Some((SEASON..SEASON + 12).collect());
    }
    NAMES.iter().position(|n| *n == name).map(|k| vec![k])
}

/// The estimated parameters' values in [`NAMES`] order.
pub type Values = [f64; NUM_PARAMS];

/// Read the estimated parameters from a configuration.
pub fn values_of(config: &Config) -> Values {
    let p = &config.prepay;
    let c = &config.credit;
    let mut v = [0.0; NUM_PARAMS];
    v[..SEASON].copy_from_slice(&[
        p.turnover_cpr,
        p.lockin,
        p.refi_max_cpr,
        p.refi_slope,
        p.refi_midpoint,
        p.burnout,
        p.refi_fico,
    ]);
    for k in 0..12 {
        v[SEASON + k] = p.seasonality.get(k).copied().unwrap_or(1.0);
    }
    v[BASE_ROLL..].copy_from_slice(&[
        c.base_roll,
        c.fico_beta,
        c.ltv_beta,
        c.cure30,
        c.roll30,
        c.pp30,
        c.cure60,
        c.roll60,
        c.cure90,
        c.roll90,
        c.cure120,
        c.mod120,
        c.dil120,
        c.fc120,
        c.reinstate,
        c.fc_months_judicial,
        c.fc_months_nonjudicial,
    ]);
    v
}

/// Write the estimated parameters into a configuration.
pub fn apply(v: &Values, config: &mut Config) {
    let p = &mut config.prepay;
    p.turnover_cpr = v[0];
    p.lockin = v[1];
    p.refi_max_cpr = v[2];
    p.refi_slope = v[3];
    p.refi_midpoint = v[4];
    p.burnout = v[5];
    p.refi_fico = v[6];
    p.seasonality = v[SEASON..SEASON + 12].to_vec();
    let c = &mut config.credit;
    let r = &v[BASE_ROLL..];
    c.base_roll = r[0];
    c.fico_beta = r[1];
    c.ltv_beta = r[2];
    c.cure30 = r[3];
    c.roll30 = r[4];
    c.pp30 = r[5];
    c.cure60 = r[6];
    c.roll60 = r[7];
    c.cure90 = r[8];
    c.roll90 = r[9];
    c.cure120 = r[10];
    c.mod120 = r[11];
    c.dil120 = r[12];
    c.fc120 = r[13];
    c.reinstate = r[14];
    c.fc_months_judicial = r[15];
    c.fc_months_nonjudicial = r[16];
}

/// What §D reads of a panel row, for month t = 1 of a valuation as of `P`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Covariates {
    /// Status at `P`.
    pub status: DqState,
    /// Incentive `ι_pct = 100·(c − m_P)`.
    pub iota: f64,
    /// `age_t = loan_age + 1`.
    pub age: i32,
    /// Seasonal index (0 = January) of the calendar month of `P + 1`.
    pub season: usize,
    /// FICO.
    pub fico: i32,
    /// CLTV = the row's LTV (no house-price step).
    pub ltv: f64,
    /// Burnout `E` from the loan's earlier months.
    pub burn_e: f64,
    /// Judicial foreclosure state.
    pub judicial: bool,
}

/// §D.1's CPR (before the cap) and its two parts, for the model constants
/// `mp` with the valuation's multiplier: `(cpr_uncapped, turnover, refi)`.
pub fn cpr_parts(mp: &ModelParams, x: &Covariates) -> (f64, f64, f64) {
    let ramp = f64::from(x.age).min(mp.ramp_months) / mp.ramp_months;
    let turnover =
        mp.turnover_cpr * ramp * mp.seasonality[x.season] * (mp.lockin * x.iota.min(0.0)).exp();
    let logistic = 1.0 / (1.0 + (-(mp.refi_slope * (x.iota - mp.refi_midpoint))).exp());
    let refi = mp.refi_max_cpr
        * logistic
        * (-mp.burnout * x.burn_e).exp()
        * ramp
        * (mp.refi_fico * f64::from(x.fico - 700) / 100.0).exp();
    (mp.cpr_multiplier * (turnover + refi), turnover, refi)
}

/// §D.1's SMM of a row.
pub fn smm(mp: &ModelParams, x: &Covariates) -> f64 {
    let (raw, _, _) = cpr_parts(mp, x);
    let cpr = if raw < mp.cpr_cap { raw } else { mp.cpr_cap };
    1.0 - (1.0 - cpr).powf(1.0 / 12.0)
}

/// Probabilities of every [`Next`] (in [`Next::index`] order) for a row:
/// §D.3's move probabilities from the row's status, through msr-model's
/// chain step on a one-hot mass vector, with msr-model's roll at `t = 1`
/// (`b_0 = 1`, house-price index 1, so CLTV = the row's LTV).
pub fn move_probs(mp: &ModelParams, fc_months: [f64; 2], x: &Covariates) -> [f64; 10] {
    let smm = smm(mp, x);
    let roll = mp.roll(x.fico, x.ltv, 1.0, 1);
    let h = 1.0
        / if x.judicial {
            fc_months[0]
        } else {
            fc_months[1]
        };
    let mut pi = [0.0; 6];
    pi[x.status.index()] = 1.0;
    let s = step(&pi, smm, roll, h, mp);
    let mut out = [0.0; 10];
    out[..6].copy_from_slice(&s.pi);
    // The chain puts D120's modifications into C: split them out.
    out[0] -= s.mod_mass;
    out[Next::Pp.index()] = s.pp_mass;
    out[Next::Dil.index()] = s.dil_mass;
    out[Next::Liq.index()] = s.liq_mass;
    out[Next::Mod.index()] = s.mod_mass;
    if x.status == DqState::D120 {
        // Exactly cure120 (the subtraction above can leave a rounding residue).
        out[0] = mp.cure120;
    }
    out
}

/// A configuration's model constants and foreclosure timelines, resolved
/// once for [`move_probs`].
#[derive(Debug, Clone)]
pub struct Model {
    /// msr-model's resolved constants.
    pub params: ModelParams,
    /// `[fc_months_judicial, fc_months_nonjudicial]`.
    pub fc_months: [f64; 2],
}

impl Model {
    /// Resolve `config` (its estimated keys replaced by `values`).
    pub fn new(config: &Config, values: &Values) -> Model {
        let mut c = config.clone();
        apply(values, &mut c);
        Model {
            params: ModelParams::from_config(&c),
            fc_months: [c.credit.fc_months_judicial, c.credit.fc_months_nonjudicial],
        }
    }

    /// [`move_probs`] with these constants.
    pub fn probs(&self, x: &Covariates) -> [f64; 10] {
        move_probs(&self.params, self.fc_months, x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use msr_core::loan::Loan;
    use msr_model::LoanTerms;

    fn covariates(status: DqState) -> Covariates {
        Covariates {
            status,
            iota: 0.8,
            age: 13,
            season: 4,
            fico: 680,
            ltv: 85.0,
            burn_e: 6.5,
            judicial: true,
        }
    }

    #[test]
    fn config_round_trip() {
        let c = Config::default();
        let v = values_of(&c);
        let mut d = Config::default();
        d.prepay.turnover_cpr = 0.0;
        d.credit.fc_months_nonjudicial = 3.0;
        apply(&v, &mut d);
        assert_eq!(values_of(&d), v);
        assert_eq!(indices_of("seasonality").unwrap().len(), 12);
        assert_eq!(indices_of("reinstate"), Some(vec![33]));
        assert_eq!(NAMES[FC_MONTHS_JUDICIAL], "fc_months_judicial");
        assert_eq!(NAMES[CURE30], "cure30");
    }

    /// The fit's CPR is the kernel's CPR of month 1 (as of P, loan age a,
    /// burnout factor e^{−burnout·E}).
    #[test]
    fn cpr_is_the_kernels() {
        let mut config = Config::default();
        // As of a date in April, so month 1 is May (season index 4).
        config.valuation.as_of = "2026-04-30".to_string();
        let mp = ModelParams::from_config(&config);
        let x = covariates(DqState::C);
        let m = 0.05;
        let loan = Loan {
            loan_id: "L".into(),
            upb: 100_000.0,
            note_rate: m + x.iota / 100.0,
            servicing_fee: 0.0025,
            remaining_term: 300,
            loan_age: (x.age - 1) as u32,
            fico: x.fico,
            ltv: x.ltv,
            investor: msr_core::loan::Investor::Fnma,
            dq_status: DqState::C,
            property_state: *b"FL",
            escrow_monthly: 0.0,
            loan_count: 1,
            advance_balance: 0.0,
        };
        let mut terms = LoanTerms::default();
        terms.prepare(&loan, &mp, 1.0 / 24.0);
        let lock_m = (-100.0 * mp.lockin * m).exp();
        let refi_m = (mp.refi_slope * 100.0 * m).exp();
        let kernel = terms.cpr(0, lock_m, refi_m, (-mp.burnout * x.burn_e).exp(), &mp);
        let (ours, _, _) = cpr_parts(&mp, &x);
        assert!((kernel - ours).abs() < 1e-12, "{kernel} vs {ours}");
    }

    #[test]
    fn move_probabilities_sum_to_one() {
        let model = Model::new(&Config::default(), &values_of(&Config::default()));
        for s in DqState::ALL {
            let p = model.probs(&covariates(s));
            let total: f64 = p.iter().sum();
            assert!((total - 1.0).abs() < 1e-12, "{s}: {total}");
            assert!(p.iter().all(|&q| q >= 0.0));
        }
        let p = model.probs(&covariates(DqState::D120));
        assert_eq!(p[0], 0.03);
        assert_eq!(p[Next::Mod.index()], 0.05);
        let p = model.probs(&covariates(DqState::Fc));
        assert!((p[Next::Liq.index()] - 1.0 / 24.0).abs() < 1e-15);
    }
}
