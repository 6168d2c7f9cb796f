//! The outputs of `msr disclose` (docs/accounting.md): disclosure.json
//! ([`Disclosure`], the ASC 820 table, total and by group) and
//! disclosure.csv ([`DisclosureCsvRow`]).

use std::collections::BTreeMap;

use msr_core::Date;
use serde::{Deserialize, Serialize};

use super::run::RunProvenance;
use super::{csv_text, Cell};

/// A loan-level range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Range {
    /// Smallest loan's figure.
    pub min: f64,
    /// Largest loan's figure.
    pub max: f64,
}

/// A weighted average with its loan-level range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ranged {
    /// Weighted average.
    pub weighted_average: f64,
    /// Smallest loan's figure.
    pub min: f64,
    /// Largest loan's figure.
    pub max: f64,
}

/// Cost to service per loan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostToService {
    /// A performing loan's, per year.
    pub performing: f64,
    /// Every loan's now.
    pub all_now: Option<Ranged>,
    /// Every loan's over its life.
    pub all_lifetime: Option<f64>,
}

/// Delinquency 30+ days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delinquency {
    /// Share now.
    pub now: Option<f64>,
    /// Average share over the life.
    pub lifetime_average: Option<f64>,
    /// Its loan-level range.
    pub lifetime_average_range: Option<Range>,
}

/// Float earnings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FloatEarnings {
    /// PV ($).
    pub pv: f64,
    /// Annual rate on UPB.
    pub annual_rate_on_upb: Option<f64>,
}

/// The significant inputs of a row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inputs {
    /// Lifetime CPR.
    pub prepayment_cpr: Option<f64>,
    /// Its loan-level range.
    pub prepayment_cpr_range: Option<Range>,
    /// WAL (years).
    pub weighted_average_life_years: Option<f64>,
    /// Its loan-level range.
    pub weighted_average_life_years_range: Option<Range>,
    /// Discount rate.
    pub discount_rate: Option<f64>,
    /// Its loan-level range.
    pub discount_rate_range: Option<Range>,
    /// OAS.
    pub oas: f64,
    /// Cost to service per loan.
    pub cost_to_service_per_loan: CostToService,
    /// Delinquency 30+.
    pub delinquency_30plus: Delinquency,
    /// Float earnings.
    pub float_earnings: FloatEarnings,
    /// Note rate.
    pub note_rate: Option<Ranged>,
    /// Servicing fee.
    pub servicing_fee: Option<Ranged>,
}

/// The value after an adverse change of one input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sensitivity {
    /// The input (`prepayment_speed`, `discount_rate`, …).
    pub input: String,
    /// The adverse change (%).
    pub adverse_change_pct: f64,
    /// Value after the change ($).
    pub value: f64,
    /// Change ($).
    pub change: f64,
    /// Change (% of the fair value).
    pub change_pct: Option<f64>,
}

/// One row of disclosure.json: the total or a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisclosureRow {
    /// The group's value (`total` for the total).
    pub group: String,
    /// Fair value ($).
    pub fair_value: f64,
    /// UPB.
    pub upb: f64,
    /// Tape rows.
    pub loans: u64,
    /// In bp of UPB.
    pub value_bps: Option<f64>,
    /// Its loan-level range.
    pub value_bps_range: Option<Range>,
    /// Over the fee strip.
    pub multiple: Option<f64>,
    /// Significant inputs.
    pub inputs: Inputs,
    /// Adverse changes.
    pub sensitivities: Vec<Sensitivity>,
}

/// How long a disclosure took (reported, never compared).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DisclosureTimings {
    /// Configuration, tape, paths.
    pub setup_seconds: f64,
    /// Start to end.
    pub wall_seconds: f64,
}

/// disclosure.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Disclosure {
    /// Valuation date.
    pub as_of: Date,
    /// valuation.oas.
    pub oas: f64,
    /// Paths.
    pub paths: u64,
    /// Seed.
    pub seed: u64,
    /// The grouping column.
    pub group_by: String,
    /// The total.
    pub total: DisclosureRow,
    /// The groups.
    pub groups: Vec<DisclosureRow>,
    /// Tape rows read.
    #[serde(default)]
    pub loans_read: u64,
    /// Tape rows rejected.
    #[serde(default)]
    pub rejected_rows: u64,
    /// Loans left out of the totals.
    #[serde(default)]
    pub non_finite_loans: u64,
    /// Timings.
    #[serde(default)]
    pub timings: DisclosureTimings,
    /// Provenance.
    #[serde(default)]
    pub run: Option<RunProvenance>,
}

/// A row of disclosure.csv: the total (`level` = `total`), then one per
/// group. After the fixed columns ([`DisclosureCsvRow::HEADER`]) come two per
/// sensitivity, `<input>_<pct>pct_change` ($) and `..._change_pct` (%), in the
/// order [`DisclosureCsvRow::write_cells`] is given; a row without that
/// sensitivity has them empty.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[allow(missing_docs)]
pub struct DisclosureCsvRow {
    pub level: String,
    #[serde(deserialize_with = "csv_text")]
    pub group: String,
    pub loans: u64,
    pub upb: f64,
    pub fair_value: f64,
    pub value_bps: Option<f64>,
    pub multiple: Option<f64>,
    pub prepayment_cpr: Option<f64>,
    pub weighted_average_life_years: Option<f64>,
    pub discount_rate: Option<f64>,
    pub oas: f64,
    pub cost_to_service_performing: f64,
    pub cost_to_service_all_now: Option<f64>,
    pub cost_to_service_all_now_min: Option<f64>,
    pub cost_to_service_all_now_max: Option<f64>,
    pub cost_to_service_all_lifetime: Option<f64>,
    pub delinquency_30plus_now: Option<f64>,
    pub delinquency_30plus_lifetime: Option<f64>,
    pub float_earnings_pv: f64,
    pub float_earnings_annual_rate: Option<f64>,
    pub note_rate: Option<f64>,
    pub note_rate_min: Option<f64>,
    pub note_rate_max: Option<f64>,
    pub servicing_fee: Option<f64>,
    pub servicing_fee_min: Option<f64>,
    pub servicing_fee_max: Option<f64>,
    pub value_bps_min: Option<f64>,
    pub value_bps_max: Option<f64>,
    pub prepayment_cpr_min: Option<f64>,
    pub prepayment_cpr_max: Option<f64>,
    pub weighted_average_life_years_min: Option<f64>,
    pub weighted_average_life_years_max: Option<f64>,
    pub discount_rate_min: Option<f64>,
    pub discount_rate_max: Option<f64>,
    pub delinquency_30plus_lifetime_min: Option<f64>,
    pub delinquency_30plus_lifetime_max: Option<f64>,
    /// The sensitivity columns by name (`None`: an empty cell).
    #[serde(flatten)]
    pub sensitivities: BTreeMap<String, Option<f64>>,
}

impl DisclosureCsvRow {
    /// The fixed columns of the header.
    pub const HEADER: [&'static str; 36] = [
        "level",
        "group",
        "loans",
        "upb",
        "fair_value",
        "value_bps",
        "multiple",
        "prepayment_cpr",
        "weighted_average_life_years",
        "discount_rate",
        "oas",
        "cost_to_service_performing",
        "cost_to_service_all_now",
        "cost_to_service_all_now_min",
        "cost_to_service_all_now_max",
        "cost_to_service_all_lifetime",
        "delinquency_30plus_now",
        "delinquency_30plus_lifetime",
        "float_earnings_pv",
        "float_earnings_annual_rate",
        "note_rate",
        "note_rate_min",
        "note_rate_max",
        "servicing_fee",
        "servicing_fee_min",
        "servicing_fee_max",
        "value_bps_min",
        "value_bps_max",
        "prepayment_cpr_min",
        "prepayment_cpr_max",
        "weighted_average_life_years_min",
        "weighted_average_life_years_max",
        "discount_rate_min",
        "discount_rate_max",
        "delinquency_30plus_lifetime_min",
        "delinquency_30plus_lifetime_max",
    ];

    /// The cells of the row: the fixed columns, then one per name of
    /// `sensitivity_columns` (empty where the row has none).
    pub fn write_cells<'a>(&'a self, sensitivity_columns: &[String]) -> Vec<Cell<'a>> {
        let mut cells = vec![
            Cell::Text(&self.level),
            Cell::Text(&self.group),
            Cell::Int(self.loans),
            Cell::Num(self.upb),
            Cell::Num(self.fair_value),
            Cell::OptNum(self.value_bps),
            Cell::OptNum(self.multiple),
            Cell::OptNum(self.prepayment_cpr),
            Cell::OptNum(self.weighted_average_life_years),
            Cell::OptNum(self.discount_rate),
            Cell::Num(self.oas),
            Cell::Num(self.cost_to_service_performing),
        ];
        cells.extend(
            [
                self.cost_to_service_all_now,
                self.cost_to_service_all_now_min,
                self.cost_to_service_all_now_max,
                self.cost_to_service_all_lifetime,
                self.delinquency_30plus_now,
                self.delinquency_30plus_lifetime,
            ]
            .map(Cell::OptNum),
        );
        cells.push(Cell::Num(self.float_earnings_pv));
        cells.extend(
            [
                self.float_earnings_annual_rate,
                self.note_rate,
                self.note_rate_min,
                self.note_rate_max,
                self.servicing_fee,
                self.servicing_fee_min,
                self.servicing_fee_max,
                self.value_bps_min,
                self.value_bps_max,
                self.prepayment_cpr_min,
                self.prepayment_cpr_max,
                self.weighted_average_life_years_min,
                self.weighted_average_life_years_max,
                self.discount_rate_min,
                self.discount_rate_max,
                self.delinquency_30plus_lifetime_min,
                self.delinquency_30plus_lifetime_max,
            ]
            .map(Cell::OptNum),
        );
        cells.extend(
            sensitivity_columns
                .iter()
                .map(|n| Cell::OptNum(self.sensitivities.get(n).copied().flatten())),
        );
        cells
    }
}
