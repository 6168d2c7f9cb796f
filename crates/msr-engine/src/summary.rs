//! [`Summary`]: the portfolio figures of a run, read off a [`PortfolioAccum`].

use msr_core::loan::{DqState, Investor};
use msr_model::{MonthlyField, COMPONENTS, NUM_COMPONENTS, NUM_MONTHLY};

use crate::valuation::{std_error, GroupAccum, PortfolioAccum, SeUnits};

/// Totals of one group of loans.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupSummary {
    /// Group label (investor or status code, or "total").
    pub name: String,
    /// Records valued.
    pub records: u64,
    /// Σ UPB.
    pub upb: f64,
    /// Σ value.
    pub value: f64,
    /// Value in basis points of UPB.
    pub value_bps: f64,
    /// Value over Σ s·UPB; `None` when the fee base is zero.
    pub multiple: Option<f64>,
}

impl GroupSummary {
    fn from_accum(name: &str, g: &GroupAccum) -> GroupSummary {
        let upb = g.upb.value();
        let value = g.value.value();
        let fee_base = g.fee_base.value();
        GroupSummary {
            name: name.to_string(),
            records: g.records,
            upb,
            value,
            value_bps: if upb > 0.0 { 1e4 * value / upb } else { 0.0 },
            multiple: (fee_base > 0.0).then(|| value / fee_base),
        }
    }
}

/// Portfolio results.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// All valued loans.
    pub total: GroupSummary,
    /// Σ loan_count.
    pub loan_count: u64,
    /// Standard error of the portfolio value over paths.
    pub std_error: Option<f64>,
    /// Σ component PVs, in [`COMPONENTS`] order.
    pub pv: [(String, f64); NUM_COMPONENTS],
    /// By investor (only groups with loans).
    pub by_investor: Vec<GroupSummary>,
    /// By starting delinquency status (only groups with loans).
    pub by_status: Vec<GroupSummary>,
    /// Expected events over the projection (loans): prepaid, modified,
    /// deed_in_lieu, liquidated. `None` without monthly detail.
    pub expected_events: Option<[(String, f64); 4]>,
}

impl Summary {
    /// Read the summary off an accumulator.
    pub fn from_accum(acc: &PortfolioAccum, units: impl Into<SeUnits>) -> Summary {
        let path_values: Vec<f64> = (0..acc.num_paths).map(|p| acc.path_value(p)).collect();
        let by_investor = Investor::ALL
            .iter()
            .filter(|i| acc.by_investor[i.index()].records > 0)
            .map(|i| GroupSummary::from_accum(i.code(), &acc.by_investor[i.index()]))
            .collect();
        let by_status = DqState::ALL
            .iter()
            .filter(|s| acc.by_status[s.index()].records > 0)
            .map(|s| GroupSummary::from_accum(s.code(), &acc.by_status[s.index()]))
            .collect();
        let expected_events = (!acc.monthly.is_empty()).then(|| {
            let total = |f: MonthlyField| {
                let mut s = msr_core::ExactSum::ZERO;
                for row in &acc.monthly {
                    s.merge(row[f as usize]);
                }
                s.value() / acc.num_paths as f64
            };
            [
                ("prepaid".to_string(), total(MonthlyField::Prepaid)),
                ("modified".to_string(), total(MonthlyField::Modified)),
                ("deed_in_lieu".to_string(), total(MonthlyField::DeedInLieu)),
                ("liquidated".to_string(), total(MonthlyField::Liquidated)),
            ]
        });
        Summary {
            total: GroupSummary::from_accum("total", &acc.total),
            loan_count: acc.loan_count,
            std_error: std_error(&path_values, units),
            pv: std::array::from_fn(|k| (COMPONENTS[k].1.to_string(), acc.pv[k].value())),
            by_investor,
            by_status,
            expected_events,
        }
    }
}

/// Expected portfolio amount of every monthly field in month `t` (1-based):
/// Σ over loans of the mean over paths.
pub fn expected_month(acc: &PortfolioAccum, t: usize) -> [f64; NUM_MONTHLY] {
    let np = acc.num_paths as f64;
    acc.monthly[t - 1].map(|s| s.value() / np)
}
