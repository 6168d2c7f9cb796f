//! Model and run configuration (MODEL.md §I), read from TOML.
//!
//! Every table has the defaults of §I, so a user's file need only name what it
//! changes; `configs/default.toml` spells every key out. Unknown keys and wrong
//! types are rejected by the parser; [`Config::validate`] rejects values out of
//! range, naming the key. After validation the numerics are infallible.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::loan::{DqState, Investor, NUM_INVESTORS, NUM_STATES};

/// A configuration that could not be read or broke a rule.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The TOML did not parse or did not match the schema (unknown key, wrong type).
    #[error("{0}")]
    Parse(String),
    /// A value is out of range.
    #[error("config key `{key}` = {value}: {rule}")]
    Invalid {
        /// Dotted key path.
        key: String,
        /// The offending value, as text.
        value: String,
        /// The rule broken.
        rule: String,
    },
}

fn invalid(key: &str, value: impl std::fmt::Display, rule: &str) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_string(),
        value: value.to_string(),
        rule: rule.to_string(),
    }
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Run settings: valuation date, OAS, paths, seed.
    pub valuation: Valuation,
    /// Initial zero curve (§C.1).
    pub curve: Curve,
    /// Hull–White parameters (§C.2).
    pub hull_white: HullWhite,
    /// Primary mortgage rate (§C.2).
    pub mortgage_rate: MortgageRate,
    /// Prepayment model (§D.1).
    pub prepay: Prepay,
    /// Delinquency chain (§D.2–D.3).
    pub credit: Credit,
    /// Servicing economics (§E).
    pub servicing: Servicing,
    /// Investor rules (§E.2–E.3), keyed by investor code.
    pub investors: Investors,
    /// Note pricing (§H).
    pub notes: Notes,
    /// Rep-line bucketing (§G).
    pub repline: Repline,
    /// Tape reading: column mapping and reject threshold.
    pub tape: Tape,
}

/// Run settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Valuation {
    /// Valuation date, `YYYY-MM-DD`.
    pub as_of: String,
    /// Option-adjusted spread (annual, continuously compounded).
    pub oas: f64,
    /// Number of rate paths.
    pub num_paths: u32,
    /// Random seed of the path generator.
    pub seed: u64,
    /// Antithetic pairs: path `2j+1` uses `−ε` of path `2j`.
    pub antithetic: bool,
    /// How the shocks are drawn: `"pseudo"` (ChaCha8 streams), `"sobol"`
    /// (scrambled Sobol points through a Brownian bridge) or `"sobol-pca"`
    /// (through the principal components); with `antithetic`, path `2j+1` is
    /// still the negation of path `2j`. See docs/qmc.md.
    pub path_scheme: String,
    /// Independent scrambles of the Sobol sequence (randomized QMC, a Sobol
    /// scheme only): the paths are cut into this many equal runs, run `r`
    /// the first `num_paths/scrambles` points of scramble `r`, and the
    /// standard error is that of the runs' means. 1 (the default, left out
    /// when the configuration is written): one scramble, standard error
    /// over paths (or antithetic pairs). docs/qmc.md.
    #[serde(skip_serializing_if = "is_one")]
    pub scrambles: u32,
}

fn is_one(x: &u32) -> bool {
    *x == 1
}

impl Default for Valuation {
    fn default() -> Self {
        Valuation {
            as_of: "2026-11-30".into(),
            oas: 0.065,
            num_paths: 256,
            seed: 20261121,
            antithetic: true,
            path_scheme: "pseudo".into(),
            scrambles: 1,
        }
    }
}

/// Zero curve knots: continuously compounded zero rates by tenor in years.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Curve {
    /// Knot tenors in years, strictly increasing, > 0.
    pub tenors: Vec<f64>,
    /// Zero rates at the knots.
    pub zero_rates: Vec<f64>,
}

impl Default for Curve {
    fn default() -> Self {
        Curve {
            tenors: vec![0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 20.0, 30.0],
            zero_rates: vec![
                0.0430, 0.0425, 0.0410, 0.0390, 0.0385, 0.0390, 0.0400, 0.0415, 0.0445, 0.0440,
            ],
        }
    }
}

/// Hull–White one-factor parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HullWhite {
    /// Mean reversion `a` (≥ 0).
    pub a: f64,
    /// Normal volatility `σ` (≥ 0).
    pub sigma: f64,
}

impl Default for HullWhite {
    fn default() -> Self {
        HullWhite {
            a: 0.03,
            sigma: 0.009,
        }
    }
}

/// Primary mortgage rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MortgageRate {
    /// Current primary mortgage rate `m0`.
    pub m0: f64,
}

impl Default for MortgageRate {
    fn default() -> Self {
        MortgageRate { m0: 0.0625 }
    }
}

/// Prepayment model parameters (§D.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Prepay {
    /// Turnover CPR at full seasoning.
    pub turnover_cpr: f64,
    /// Months to full seasoning.
    pub ramp_months: u32,
    /// Lock-in sensitivity per pct of negative incentive.
    pub lockin: f64,
    /// Maximum refinance CPR.
    pub refi_max_cpr: f64,
    /// Slope of the refinance S-curve per pct of incentive.
    pub refi_slope: f64,
    /// Incentive (pct) at the S-curve midpoint.
    pub refi_midpoint: f64,
    /// Burnout per pct-month of cumulative positive incentive.
    pub burnout: f64,
    /// FICO sensitivity of refinancing per 100 points.
    pub refi_fico: f64,
    /// Cap on total CPR.
    pub cpr_cap: f64,
    /// Seasonal multipliers, January first.
    pub seasonality: Vec<f64>,
    /// Multiplier applied to CPR before the cap (1 = the model; risk stresses scale it).
    pub cpr_multiplier: f64,
}

impl Default for Prepay {
    fn default() -> Self {
        Prepay {
            turnover_cpr: 0.06,
            ramp_months: 30,
            lockin: 0.25,
            refi_max_cpr: 0.45,
            refi_slope: 2.5,
            refi_midpoint: 1.25,
            burnout: 0.02,
            refi_fico: 0.3,
            cpr_cap: 0.95,
            seasonality: vec![
                0.80, 0.85, 0.95, 1.00, 1.05, 1.10, 1.10, 1.10, 1.05, 1.00, 1.00, 1.00,
            ],
            cpr_multiplier: 1.0,
        }
    }
}

/// Delinquency-chain parameters (§D.2–D.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Credit {
    /// Monthly roll rate C → D30 at FICO 700, CLTV 80.
    pub base_roll: f64,
    /// FICO sensitivity of the roll per 100 points.
    pub fico_beta: f64,
    /// CLTV sensitivity of the roll per 100 pct.
    pub ltv_beta: f64,
    /// Cap on the roll rate.
    pub roll_cap: f64,
    /// Annual house-price appreciation.
    pub hpa: f64,
    /// D30 → C.
    pub cure30: f64,
    /// D30 → D60.
    pub roll30: f64,
    /// D30 → PP (payoff).
    pub pp30: f64,
    /// D60 → C.
    pub cure60: f64,
    /// D60 → D90.
    pub roll60: f64,
    /// D90 → C.
    pub cure90: f64,
    /// D90 → D120.
    pub roll90: f64,
    /// D120 → C (cure).
    pub cure120: f64,
    /// D120 → C by modification.
    pub mod120: f64,
    /// D120 → DIL (deed in lieu).
    pub dil120: f64,
    /// D120 → FC.
    pub fc120: f64,
    /// FC → C (reinstatement).
    pub reinstate: f64,
    /// Foreclosure timeline in judicial states, months.
    pub fc_months_judicial: f64,
    /// Foreclosure timeline in non-judicial states, months.
    pub fc_months_nonjudicial: f64,
    /// Judicial-foreclosure states (postal codes).
    pub judicial_states: Vec<String>,
    /// Multiplier on the roll from current (1 = the model; risk stresses scale it).
    pub roll_multiplier: f64,
}

impl Default for Credit {
    fn default() -> Self {
        Credit {
            base_roll: 0.005,
            fico_beta: 1.5,
            ltv_beta: 1.0,
            roll_cap: 0.5,
            hpa: 0.03,
            cure30: 0.45,
            roll30: 0.30,
            pp30: 0.01,
            cure60: 0.25,
            roll60: 0.45,
            cure90: 0.10,
            roll90: 0.60,
            cure120: 0.03,
            mod120: 0.05,
            dil120: 0.01,
            fc120: 0.12,
            reinstate: 0.02,
            fc_months_judicial: 24.0,
            fc_months_nonjudicial: 12.0,
            judicial_states: [
                "CT", "DE", "FL", "HI", "IL", "IN", "IA", "KS", "KY", "LA", "ME", "NJ", "NM", "NY",
                "ND", "OH", "OK", "PA", "SC", "VT", "WI",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            roll_multiplier: 1.0,
        }
    }
}

impl Credit {
    /// True if foreclosure in `state` is judicial.
    pub fn is_judicial(&self, state: &str) -> bool {
        self.judicial_states.iter().any(|s| s == state)
    }

    /// Monthly foreclosure-completion hazard `h` for a state.
    pub fn fc_hazard(&self, state: &str) -> f64 {
        1.0 / self.fc_months(state)
    }

    /// Foreclosure timeline in months for a state.
    pub fn fc_months(&self, state: &str) -> f64 {
        if self.is_judicial(state) {
            self.fc_months_judicial
        } else {
            self.fc_months_nonjudicial
        }
    }
}

/// Annual servicing cost per loan by state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CostAnnual {
    /// Current.
    #[serde(rename = "C")]
    pub c: f64,
    /// 30 days delinquent.
    #[serde(rename = "D30")]
    pub d30: f64,
    /// 60 days delinquent.
    #[serde(rename = "D60")]
    pub d60: f64,
    /// 90 days delinquent.
    #[serde(rename = "D90")]
    pub d90: f64,
    /// 120+ days delinquent.
    #[serde(rename = "D120")]
    pub d120: f64,
    /// Foreclosure.
    #[serde(rename = "FC")]
    pub fc: f64,
}

impl Default for CostAnnual {
    fn default() -> Self {
        CostAnnual {
            c: 80.0,
            d30: 280.0,
            d60: 480.0,
            d90: 800.0,
            d120: 1100.0,
            fc: 1600.0,
        }
    }
}

impl CostAnnual {
    /// Costs in state-index order.
    pub fn by_state(&self) -> [f64; NUM_STATES] {
        [self.c, self.d30, self.d60, self.d90, self.d120, self.fc]
    }
}

/// Servicing economics (§E.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Servicing {
    /// Annual cost to service one loan, by state.
    pub cost_annual: CostAnnual,
    /// Annual cost inflation.
    pub cost_inflation: f64,
    /// Days P&I collections are held before remittance.
    pub float_days: f64,
    /// Months of escrow held on average.
    pub escrow_hold_months: f64,
    /// Late fee as a share of the payment.
    pub late_fee_rate: f64,
    /// Share of late fees collected.
    pub late_fee_collect: f64,
    /// Ancillary income per loan per year ($).
    pub ancillary_annual: f64,
    /// Spread over the short rate paid to finance advances.
    pub advance_spread: f64,
    /// Share of payoffs recaptured by the servicer.
    pub recapture_rate: f64,
    /// Value of a recaptured loan per $ of balance.
    pub recapture_value: f64,
    /// Foreclosure cost per loan ($).
    pub fc_cost: f64,
    /// Deed-in-lieu cost per loan ($).
    pub dil_cost: f64,
    /// Multiplier on the per-state servicing costs `cost_annual` (1 = the model;
    /// risk stresses scale it). Foreclosure and deed-in-lieu costs are not scaled.
    pub cost_multiplier: f64,
}

impl Default for Servicing {
    fn default() -> Self {
        Servicing {
            cost_annual: CostAnnual::default(),
            cost_inflation: 0.025,
            float_days: 18.0,
            escrow_hold_months: 6.0,
            late_fee_rate: 0.05,
            late_fee_collect: 0.5,
            ancillary_annual: 12.0,
            advance_spread: 0.025,
            recapture_rate: 0.15,
            recapture_value: 0.005,
            fc_cost: 8000.0,
            dil_cost: 3000.0,
            cost_multiplier: 1.0,
        }
    }
}

/// One investor's advancing and loss rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvestorRule {
    /// Delinquent states in which the servicer advances P&I.
    pub pi_advance_states: Vec<String>,
    /// Share of advances lost at liquidation.
    pub adv_loss_share: f64,
    /// Share of foreclosure / deed-in-lieu costs not reimbursed.
    pub fc_unreimbursed: f64,
    /// Share of compensating interest borne by the servicer.
    pub comp_int_share: f64,
}

impl InvestorRule {
    fn new(states: &[&str], adv_loss_share: f64, fc_unreimbursed: f64) -> Self {
        InvestorRule {
            pi_advance_states: states.iter().map(|s| s.to_string()).collect(),
            adv_loss_share,
            fc_unreimbursed,
            comp_int_share: 1.0,
        }
    }

    /// P&I advancing flags in state-index order (validated codes).
    pub fn pi_advance_mask(&self) -> [bool; NUM_STATES] {
        let mut mask = [false; NUM_STATES];
        for s in &self.pi_advance_states {
            if let Ok(state) = s.parse::<DqState>() {
                mask[state.index()] = true;
            }
        }
        mask
    }
}

/// Investor rules by investor.
///
/// A user's `[investors.X]` table need only name the fields it changes: the
/// others keep investor X's §I default (not another investor's, which is why
/// this does not use a plain `#[serde(default)]`). Unknown investors and
/// unknown fields are still refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "PartialInvestors")]
pub struct Investors {
    /// Fannie Mae.
    #[serde(rename = "FNMA")]
    pub fnma: InvestorRule,
    /// Freddie Mac.
    #[serde(rename = "FHLMC")]
    pub fhlmc: InvestorRule,
    /// Ginnie Mae.
    #[serde(rename = "GNMA")]
    pub gnma: InvestorRule,
    /// Private label.
    #[serde(rename = "PLS")]
    pub pls: InvestorRule,
}

impl Default for Investors {
    fn default() -> Self {
        let gse = ["D30", "D60", "D90"];
        let all = ["D30", "D60", "D90", "D120", "FC"];
        Investors {
            fnma: InvestorRule::new(&gse, 0.02, 0.10),
            fhlmc: InvestorRule::new(&gse, 0.02, 0.10),
            gnma: InvestorRule::new(&all, 0.10, 0.33),
            pls: InvestorRule::new(&all, 0.0, 0.0),
        }
    }
}

/// An `[investors.X]` table as written: every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialRule {
    pi_advance_states: Option<Vec<String>>,
    adv_loss_share: Option<f64>,
    fc_unreimbursed: Option<f64>,
    comp_int_share: Option<f64>,
}

impl PartialRule {
    /// The fields given, over `rule` (the investor's default).
    fn over(self, mut rule: InvestorRule) -> InvestorRule {
        if let Some(x) = self.pi_advance_states {
            rule.pi_advance_states = x;
        }
        if let Some(x) = self.adv_loss_share {
            rule.adv_loss_share = x;
        }
        if let Some(x) = self.fc_unreimbursed {
            rule.fc_unreimbursed = x;
        }
        if let Some(x) = self.comp_int_share {
            rule.comp_int_share = x;
        }
        rule
    }
}

/// The `[investors]` table as written: any of the four investors.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialInvestors {
    #[serde(rename = "FNMA")]
    fnma: Option<PartialRule>,
    #[serde(rename = "FHLMC")]
    fhlmc: Option<PartialRule>,
    #[serde(rename = "GNMA")]
    gnma: Option<PartialRule>,
    #[serde(rename = "PLS")]
    pls: Option<PartialRule>,
}

impl From<PartialInvestors> for Investors {
    fn from(p: PartialInvestors) -> Investors {
        let d = Investors::default();
        let take = |given: Option<PartialRule>, default: InvestorRule| match given {
            Some(rule) => rule.over(default),
            None => default,
        };
        Investors {
            fnma: take(p.fnma, d.fnma),
            fhlmc: take(p.fhlmc, d.fhlmc),
            gnma: take(p.gnma, d.gnma),
            pls: take(p.pls, d.pls),
        }
    }
}

impl Investors {
    /// The rule for an investor.
    pub fn rule(&self, investor: Investor) -> &InvestorRule {
        match investor {
            Investor::Fnma => &self.fnma,
            Investor::Fhlmc => &self.fhlmc,
            Investor::Gnma => &self.gnma,
            Investor::Pls => &self.pls,
        }
    }

    fn all(&self) -> [(Investor, &InvestorRule); NUM_INVESTORS] {
        Investor::ALL.map(|inv| (inv, self.rule(inv)))
    }
}

/// Note pricing by outcome (§H).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Notes {
    /// Required ROI, reperform scenario.
    pub roi_reperform: f64,
    /// Required ROI, modified scenario.
    pub roi_modified: f64,
    /// Required ROI, deed-in-lieu scenario.
    pub roi_deed_in_lieu: f64,
    /// Required ROI, foreclosure scenario.
    pub roi_foreclosure: f64,
    /// Floor on the modified note rate.
    pub mod_rate_floor: f64,
    /// Term of a modified loan, months.
    pub mod_term: u32,
    /// Constant CPR of a modified loan.
    pub mod_cpr: f64,
    /// Cost of a modification ($), paid in month 1.
    pub mod_cost: f64,
    /// Months to complete a deed in lieu.
    pub dil_months: u32,
    /// Discount to value on a deed-in-lieu sale.
    pub dil_discount: f64,
    /// Cash for keys paid on a deed in lieu ($).
    pub cash_for_keys: f64,
    /// Months from foreclosure sale to REO sale.
    pub reo_months: u32,
    /// Discount to value on an REO sale.
    pub reo_discount: f64,
    /// Selling cost as a share of the sale price.
    pub sell_cost: f64,
    /// Property preservation per month ($).
    pub preservation_monthly: f64,
}

impl Default for Notes {
    fn default() -> Self {
        Notes {
            roi_reperform: 0.09,
            roi_modified: 0.12,
            roi_deed_in_lieu: 0.15,
            roi_foreclosure: 0.18,
            mod_rate_floor: 0.03,
            mod_term: 480,
            mod_cpr: 0.03,
            mod_cost: 1000.0,
            dil_months: 6,
            dil_discount: 0.05,
            cash_for_keys: 3000.0,
            reo_months: 6,
            reo_discount: 0.15,
            sell_cost: 0.06,
            preservation_monthly: 100.0,
        }
    }
}

/// Rep-line bucketing (§G).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Repline {
    /// Bucket keys, from: investor, dq_status, note_rate, fico, ltv, loan_age,
    /// remaining_term, judicial.
    pub keys: Vec<String>,
    /// Note-rate bucket width in basis points.
    pub note_rate_step_bps: f64,
    /// FICO band lower edges after the first band (`<620, 620–679, ...`).
    pub fico_edges: Vec<f64>,
    /// LTV band upper edges, right-closed (`≤60, (60,80], ...`).
    pub ltv_edges: Vec<f64>,
    /// Loan-age band upper edges, inclusive (`≤12, 13–36, ...`).
    pub age_edges: Vec<f64>,
    /// Remaining-term band upper edges, inclusive (`≤180, 181–300, >300`).
    pub term_edges: Vec<f64>,
}

impl Default for Repline {
    fn default() -> Self {
        Repline {
            keys: [
                "investor",
                "dq_status",
                "note_rate",
                "fico",
                "ltv",
                "loan_age",
                "remaining_term",
                "judicial",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            note_rate_step_bps: 25.0,
            fico_edges: vec![620.0, 680.0, 720.0, 760.0],
            ltv_edges: vec![60.0, 80.0, 90.0, 95.0],
            age_edges: vec![12.0, 36.0, 60.0, 120.0],
            term_edges: vec![180.0, 300.0],
        }
    }
}

/// The rep-line bucket keys the engine understands.
pub const REPLINE_KEYS: [&str; 8] = [
    "investor",
    "dq_status",
    "note_rate",
    "fico",
    "ltv",
    "loan_age",
    "remaining_term",
    "judicial",
];

/// Tape reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Tape {
    /// Our column name → the tape's column name, for servicer tapes that name
    /// columns differently.
    pub columns: BTreeMap<String, String>,
    /// A run whose rejected share of rows exceeds this exits non-zero (after
    /// writing its outputs).
    pub max_reject_share: f64,
}

impl Default for Tape {
    fn default() -> Self {
        Tape {
            columns: BTreeMap::new(),
            max_reject_share: 0.01,
        }
    }
}

/// The tape columns of MODEL.md §B, in order.
pub const TAPE_COLUMNS: [&str; 14] = [
    "loan_id",
    "upb",
    "note_rate",
    "servicing_fee",
    "remaining_term",
    "loan_age",
    "fico",
    "ltv",
    "investor",
    "dq_status",
    "property_state",
    "escrow_monthly",
    "loan_count",
    "advance_balance",
];

impl Config {
    /// Parse and validate a TOML document.
    ///
    /// # Errors
    /// [`ConfigError::Parse`] for bad TOML, unknown keys or wrong types;
    /// [`ConfigError::Invalid`] for values out of range.
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text)
            .map_err(|e| ConfigError::Parse(e.to_string().lines().collect::<Vec<_>>().join(" ")))?;
        config.validate()?;
        Ok(config)
    }

    /// The configuration as TOML (for manifests).
    pub fn to_toml_string(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// Calendar month (1..=12) of the valuation date.
    pub fn as_of_month(&self) -> u32 {
        parse_date(&self.valuation.as_of)
            .map(|(_, m, _)| m)
            .unwrap_or(1)
    }

    /// Check every value range, naming the key on failure.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the first key out of range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let v = &self.valuation;
        if parse_date(&v.as_of).is_none() {
            return Err(invalid(
                "valuation.as_of",
                &v.as_of,
                "must be a date YYYY-MM-DD",
            ));
        }
        finite("valuation.oas", v.oas)?;
        if !(-1.0..=1.0).contains(&v.oas) {
            return Err(invalid("valuation.oas", v.oas, "must be within [-1, 1]"));
        }
        if v.num_paths == 0 || v.num_paths > 1_000_000 {
            return Err(invalid(
                "valuation.num_paths",
                v.num_paths,
                "must be 1..=1000000",
            ));
        }
        if !["pseudo", "sobol", "sobol-pca"].contains(&v.path_scheme.as_str()) {
            return Err(invalid(
                "valuation.path_scheme",
                format!("{:?}", v.path_scheme),
                "must be \"pseudo\", \"sobol\" or \"sobol-pca\"",
            ));
        }
        if v.scrambles == 0 {
            return Err(invalid("valuation.scrambles", 0, "must be at least 1"));
        }
        if v.scrambles > 1 {
            if v.path_scheme == "pseudo" {
                return Err(invalid(
                    "valuation.scrambles",
                    v.scrambles,
                    "needs a Sobol path scheme (\"sobol\" or \"sobol-pca\"): pseudo-random paths are independent already",
                ));
            }
            let per = v.num_paths / v.scrambles;
            if !v.num_paths.is_multiple_of(v.scrambles) {
                return Err(invalid(
                    "valuation.scrambles",
                    v.scrambles,
                    &format!("must divide valuation.num_paths ({})", v.num_paths),
                ));
            }
            if v.antithetic && !per.is_multiple_of(2) {
                return Err(invalid(
                    "valuation.scrambles",
                    v.scrambles,
                    &format!(
                        "leaves {per} paths per scramble: with antithetic pairs each scramble needs an even number"
                    ),
                ));
            }
        }

        let c = &self.curve;
        if c.tenors.is_empty() {
            return Err(invalid("curve.tenors", "[]", "needs at least one knot"));
        }
        if c.tenors.len() != c.zero_rates.len() {
            return Err(invalid(
                "curve.zero_rates",
                format!("{} values", c.zero_rates.len()),
                &format!("must have one rate per tenor ({} tenors)", c.tenors.len()),
            ));
        }
        let mut prev = 0.0;
        for (k, &t) in c.tenors.iter().enumerate() {
            if !t.is_finite() || t <= prev {
                return Err(invalid(
                    &format!("curve.tenors[{k}]"),
                    t,
                    "tenors must be finite, positive and strictly increasing",
                ));
            }
            prev = t;
        }
        for (k, &z) in c.zero_rates.iter().enumerate() {
            if !z.is_finite() || z.abs() > 1.0 {
                return Err(invalid(
                    &format!("curve.zero_rates[{k}]"),
                    z,
                    "must be finite, |z| ≤ 1",
                ));
            }
        }

        nonneg("hull_white.a", self.hull_white.a)?;
        nonneg("hull_white.sigma", self.hull_white.sigma)?;
        if self.hull_white.a > 0.0 && self.hull_white.a < 1e-10 {
            // Subnormal and tiny reversions divide by ~0 in the exact fit;
            // below 1e-10 the model is Ho–Lee (a = 0) to 1e-10 relative.
            return Err(invalid(
                "hull_white.a",
                format!("{:e}", self.hull_white.a),
                "must be 0 or at least 1e-10 (use 0 for no mean reversion)",
            ));
        }
        if self.hull_white.a > 5.0 {
            return Err(invalid(
                "hull_white.a",
                self.hull_white.a,
                "must be at most 5 (mean reversion per year)",
            ));
        }
        if self.hull_white.sigma > 1.0 {
            return Err(invalid(
                "hull_white.sigma",
                self.hull_white.sigma,
                "must be at most 1 (normal volatility per year)",
            ));
        }
        finite("mortgage_rate.m0", self.mortgage_rate.m0)?;

        let p = &self.prepay;
        prob("prepay.turnover_cpr", p.turnover_cpr)?;
        if p.ramp_months == 0 {
            return Err(invalid("prepay.ramp_months", 0, "must be ≥ 1"));
        }
        nonneg("prepay.lockin", p.lockin)?;
        // Bounds that keep the factored exponentials of the kernel finite for any
        // mortgage rate within ±100 % (see msr-model's market.rs).
        if p.lockin > 5.0 {
            return Err(invalid(
                "prepay.lockin",
                p.lockin,
                "must be at most 5 per pct",
            ));
        }
        if p.refi_slope.abs() > 7.0 {
            return Err(invalid(
                "prepay.refi_slope",
                p.refi_slope,
                "must be within [-7, 7] per pct",
            ));
        }
        if p.burnout > 5.0 {
            return Err(invalid(
                "prepay.burnout",
                p.burnout,
                "must be at most 5 per pct-month",
            ));
        }
        prob("prepay.refi_max_cpr", p.refi_max_cpr)?;
        finite("prepay.refi_slope", p.refi_slope)?;
        finite("prepay.refi_midpoint", p.refi_midpoint)?;
        nonneg("prepay.burnout", p.burnout)?;
        finite("prepay.refi_fico", p.refi_fico)?;
        prob("prepay.cpr_cap", p.cpr_cap)?;
        if p.cpr_cap >= 1.0 {
            return Err(invalid("prepay.cpr_cap", p.cpr_cap, "must be < 1"));
        }
        if p.seasonality.len() != 12 {
            return Err(invalid(
                "prepay.seasonality",
                format!("{} values", p.seasonality.len()),
                "needs 12 monthly factors, January first",
            ));
        }
        for (k, &s) in p.seasonality.iter().enumerate() {
            nonneg(&format!("prepay.seasonality[{k}]"), s)?;
        }
        nonneg("prepay.cpr_multiplier", p.cpr_multiplier)?;

        let cr = &self.credit;
        prob("credit.base_roll", cr.base_roll)?;
        finite("credit.fico_beta", cr.fico_beta)?;
        finite("credit.ltv_beta", cr.ltv_beta)?;
        prob("credit.roll_cap", cr.roll_cap)?;
        finite("credit.hpa", cr.hpa)?;
        if cr.hpa <= -1.0 {
            return Err(invalid("credit.hpa", cr.hpa, "must be > -1"));
        }
        nonneg("credit.roll_multiplier", cr.roll_multiplier)?;
        let rows: [(&str, &[(&str, f64)]); 6] = [
            (
                "D30",
                &[
                    ("cure30", cr.cure30),
                    ("roll30", cr.roll30),
                    ("pp30", cr.pp30),
                ],
            ),
            ("D60", &[("cure60", cr.cure60), ("roll60", cr.roll60)]),
            ("D90", &[("cure90", cr.cure90), ("roll90", cr.roll90)]),
            (
                "D120",
                &[
                    ("cure120", cr.cure120),
                    ("mod120", cr.mod120),
                    ("dil120", cr.dil120),
                    ("fc120", cr.fc120),
                ],
            ),
            ("FC", &[("reinstate", cr.reinstate)]),
            ("C", &[]),
        ];
        for (state, row) in rows {
            let mut sum = 0.0;
            for &(name, x) in row {
                prob(&format!("credit.{name}"), x)?;
                sum += x;
            }
            if sum > 1.0 + 1e-12 {
                let names: Vec<_> = row.iter().map(|(n, _)| format!("credit.{n}")).collect();
                return Err(invalid(
                    &names.join(" + "),
                    sum,
                    &format!("transition probabilities out of {state} must sum to at most 1"),
                ));
            }
        }
        for (key, months) in [
            ("credit.fc_months_judicial", cr.fc_months_judicial),
            ("credit.fc_months_nonjudicial", cr.fc_months_nonjudicial),
        ] {
            if !months.is_finite() || months < 1.0 {
                return Err(invalid(key, months, "must be ≥ 1 month"));
            }
            let leave = cr.reinstate + 1.0 / months;
            if leave > 1.0 + 1e-12 {
                // Both keys: either may be the one to change.
                return Err(invalid(
                    &format!("credit.reinstate + 1/{key}"),
                    leave,
                    "transition probabilities out of FC must sum to at most 1",
                ));
            }
        }
        for s in &cr.judicial_states {
            if !is_state_code(s) {
                return Err(invalid(
                    "credit.judicial_states",
                    s,
                    "must be 2-letter postal codes",
                ));
            }
        }

        let sv = &self.servicing;
        for (k, x) in sv.cost_annual.by_state().iter().enumerate() {
            nonneg(
                &format!("servicing.cost_annual.{}", DqState::ALL[k].code()),
                *x,
            )?;
        }
        finite("servicing.cost_inflation", sv.cost_inflation)?;
        if sv.cost_inflation <= -1.0 {
            return Err(invalid(
                "servicing.cost_inflation",
                sv.cost_inflation,
                "must be > -1",
            ));
        }
        nonneg("servicing.float_days", sv.float_days)?;
        nonneg("servicing.escrow_hold_months", sv.escrow_hold_months)?;
        nonneg("servicing.late_fee_rate", sv.late_fee_rate)?;
        prob("servicing.late_fee_collect", sv.late_fee_collect)?;
        nonneg("servicing.ancillary_annual", sv.ancillary_annual)?;
        finite("servicing.advance_spread", sv.advance_spread)?;
        prob("servicing.recapture_rate", sv.recapture_rate)?;
        finite("servicing.recapture_value", sv.recapture_value)?;
        nonneg("servicing.fc_cost", sv.fc_cost)?;
        nonneg("servicing.dil_cost", sv.dil_cost)?;
        nonneg("servicing.cost_multiplier", sv.cost_multiplier)?;

        for (inv, rule) in self.investors.all() {
            let base = format!("investors.{}", inv.code());
            for s in &rule.pi_advance_states {
                match s.parse::<DqState>() {
                    Ok(DqState::C) | Err(()) => {
                        return Err(invalid(
                            &format!("{base}.pi_advance_states"),
                            s,
                            "must name delinquent states: D30, D60, D90, D120, FC",
                        ))
                    }
                    Ok(_) => {}
                }
            }
            prob(&format!("{base}.adv_loss_share"), rule.adv_loss_share)?;
            prob(&format!("{base}.fc_unreimbursed"), rule.fc_unreimbursed)?;
            prob(&format!("{base}.comp_int_share"), rule.comp_int_share)?;
        }

        let n = &self.notes;
        for (key, x) in [
            ("notes.roi_reperform", n.roi_reperform),
            ("notes.roi_modified", n.roi_modified),
            ("notes.roi_deed_in_lieu", n.roi_deed_in_lieu),
            ("notes.roi_foreclosure", n.roi_foreclosure),
        ] {
            finite(key, x)?;
            if x <= -12.0 {
                return Err(invalid(key, x, "must be > -12 (monthly compounding)"));
            }
        }
        finite("notes.mod_rate_floor", n.mod_rate_floor)?;
        if n.mod_term == 0 || n.mod_term > 600 {
            return Err(invalid("notes.mod_term", n.mod_term, "must be 1..=600"));
        }
        prob("notes.mod_cpr", n.mod_cpr)?;
        nonneg("notes.mod_cost", n.mod_cost)?;
        if n.dil_months == 0 {
            return Err(invalid("notes.dil_months", 0, "must be ≥ 1"));
        }
        prob("notes.dil_discount", n.dil_discount)?;
        nonneg("notes.cash_for_keys", n.cash_for_keys)?;
        prob("notes.reo_discount", n.reo_discount)?;
        prob("notes.sell_cost", n.sell_cost)?;
        nonneg("notes.preservation_monthly", n.preservation_monthly)?;

        let r = &self.repline;
        for k in &r.keys {
            if !REPLINE_KEYS.contains(&k.as_str()) {
                return Err(invalid(
                    "repline.keys",
                    k,
                    &format!("unknown key; use any of {}", REPLINE_KEYS.join(", ")),
                ));
            }
        }
        if !(r.note_rate_step_bps.is_finite() && r.note_rate_step_bps > 0.0) {
            return Err(invalid(
                "repline.note_rate_step_bps",
                r.note_rate_step_bps,
                "must be > 0",
            ));
        }
        for (key, edges) in [
            ("repline.fico_edges", &r.fico_edges),
            ("repline.ltv_edges", &r.ltv_edges),
            ("repline.age_edges", &r.age_edges),
            ("repline.term_edges", &r.term_edges),
        ] {
            if edges
                .windows(2)
                .any(|w| w[1].partial_cmp(&w[0]) != Some(std::cmp::Ordering::Greater))
                || edges.iter().any(|e| !e.is_finite())
            {
                return Err(invalid(
                    key,
                    format!("{edges:?}"),
                    "edges must be finite and increasing",
                ));
            }
        }

        for ours in self.tape.columns.keys() {
            if !TAPE_COLUMNS.contains(&ours.as_str()) {
                return Err(invalid(
                    &format!("tape.columns.{ours}"),
                    ours,
                    "not a tape column; keys are our names (loan_id, upb, ...), values the tape's",
                ));
            }
        }
        prob("tape.max_reject_share", self.tape.max_reject_share)?;
        Ok(())
    }
}

fn finite(key: &str, x: f64) -> Result<(), ConfigError> {
    if x.is_finite() {
        Ok(())
    } else {
        Err(invalid(key, x, "must be finite"))
    }
}

fn nonneg(key: &str, x: f64) -> Result<(), ConfigError> {
    if x.is_finite() && x >= 0.0 {
        Ok(())
    } else {
        Err(invalid(key, x, "must be finite and ≥ 0"))
    }
}

fn prob(key: &str, x: f64) -> Result<(), ConfigError> {
    if x.is_finite() && (0.0..=1.0).contains(&x) {
        Ok(())
    } else {
        Err(invalid(key, x, "must be a probability in [0, 1]"))
    }
}

/// True for a two-letter upper-case code.
pub fn is_state_code(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase())
}

/// Parse `YYYY-MM-DD` into (year, month, day), checking the calendar.
pub fn parse_date(s: &str) -> Option<(i32, u32, u32)> {
    let mut it = s.split('-');
    let y: i32 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    if it.next().is_some() || !(1..=12).contains(&m) || d == 0 {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    (d <= days[m as usize - 1]).then_some((y, m, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_document_is_the_spec_defaults() {
        let c = Config::from_toml_str("").unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.as_of_month(), 11);
        assert_eq!(c.credit.fc_hazard("NY"), 1.0 / 24.0);
        assert_eq!(c.credit.fc_hazard("TX"), 1.0 / 12.0);
        assert_eq!(
            c.investors.rule(Investor::Fnma).pi_advance_mask(),
            [false, true, true, true, false, false]
        );
    }

    #[test]
    fn unknown_key_is_named() {
        let e = Config::from_toml_str("[prepay]\nturnover = 0.1\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("turnover"), "{e}");
    }

    #[test]
    fn wrong_type_is_rejected() {
        let e = Config::from_toml_str("[valuation]\nnum_paths = \"many\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("num_paths"), "{e}");
    }

    #[test]
    fn out_of_range_values_name_the_key() {
        let cases = [
            ("[credit]\ncure30 = 1.5\n", "credit.cure30"),
            ("[credit]\ncure30 = 0.6\nroll30 = 0.5\n", "credit.cure30 + credit.roll30"),
            ("[curve]\ntenors = [1.0, 0.5]\nzero_rates = [0.04, 0.04]\n", "curve.tenors[1]"),
            ("[curve]\ntenors = [1.0]\nzero_rates = [0.04, 0.04]\n", "curve.zero_rates"),
            ("[servicing.cost_annual]\nD60 = -5.0\n", "servicing.cost_annual.D60"),
            ("[valuation]\nas_of = \"2026-02-30\"\n", "valuation.as_of"),
            ("[valuation]\npath_scheme = \"halton\"\n", "valuation.path_scheme"),
            ("[investors.GNMA]\npi_advance_states = [\"C\"]\nadv_loss_share = 0.1\nfc_unreimbursed = 0.3\ncomp_int_share = 1.0\n", "investors.GNMA.pi_advance_states"),
            ("[tape.columns]\nbalance = \"UPB\"\n", "tape.columns.balance"),
        ];
        for (doc, key) in cases {
            let e = Config::from_toml_str(doc).unwrap_err().to_string();
            assert!(e.contains(key), "{doc}: {e}");
        }
    }

    #[test]
    fn round_trips_through_toml() {
        let c = Config::default();
        let back = Config::from_toml_str(&c.to_toml_string()).unwrap();
        assert_eq!(back, c);
    }
}
