//! The back-test: actual against predicted move rates, in sample and out of
//! sample, overall and by period, investor, refinance-incentive bucket and
//! status. Predicted rates are means of each row's §D.3 probability at the
//! fitted parameters; CPRs are annualised from the mean SMM.

use std::collections::HashMap;

use msr_core::loan::DqState;

use crate::model::{Covariates, Model};
use crate::panel::{yyyymm, Month, Next, Panel, Row};

/// The measured moves: name, from-state, to.
pub const METRICS: [(&str, DqState, Next); 15] = [
    ("cpr", DqState::C, Next::Pp),
    ("dq_entry", DqState::C, Next::State(DqState::D30)),
    ("cure30", DqState::D30, Next::State(DqState::C)),
    ("roll30", DqState::D30, Next::State(DqState::D60)),
    ("pp30", DqState::D30, Next::Pp),
    ("cure60", DqState::D60, Next::State(DqState::C)),
    ("roll60", DqState::D60, Next::State(DqState::D90)),
    ("cure90", DqState::D90, Next::State(DqState::C)),
    ("roll90", DqState::D90, Next::State(DqState::D120)),
    ("cure120", DqState::D120, Next::State(DqState::C)),
    ("mod120", DqState::D120, Next::Mod),
    ("dil120", DqState::D120, Next::Dil),
    ("fc120", DqState::D120, Next::State(DqState::Fc)),
    ("reinstate", DqState::Fc, Next::State(DqState::C)),
    ("liquidation", DqState::Fc, Next::Liq),
];

/// Refinance-incentive bucket edges, pct (`ι ≤ −2`, `(−2, −1]`, …, `> 3`).
pub const INCENTIVE_EDGES: [f64; 9] = [-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0];

/// The bucket index of an incentive.
pub fn incentive_bucket_index(iota: f64) -> usize {
    INCENTIVE_EDGES.iter().take_while(|&&e| iota > e).count()
}

/// The bucket index and label of an incentive.
pub fn incentive_bucket(iota: f64) -> (usize, String) {
    let k = incentive_bucket_index(iota);
    let label = if k == 0 {
        format!("<= {:.1}", INCENTIVE_EDGES[0])
    } else if k == INCENTIVE_EDGES.len() {
        format!("> {:.1}", INCENTIVE_EDGES[k - 1])
    } else {
        format!("({:.1}, {:.1}]", INCENTIVE_EDGES[k - 1], INCENTIVE_EDGES[k])
    };
    (k, label)
}

/// One line of the back-test.
#[derive(Debug, Clone, PartialEq)]
pub struct BacktestLine {
    /// `in` (periods fitted) or `out` (periods from `--holdout-from`).
    pub sample: &'static str,
    /// `all`, `period`, `investor`, `incentive` or `status`.
    pub dimension: &'static str,
    /// The segment (`all`, `YYYYMM`, `FNMA`, an incentive bucket, `D30`, …).
    pub segment: String,
    /// Sort order of segments within a dimension.
    pub segment_order: i64,
    /// Metric name ([`METRICS`]).
    pub metric: &'static str,
    /// Rows in the metric's from-state.
    pub exposure: f64,
    /// Rows that made the move.
    pub events: f64,
    /// Actual rate (`events/exposure`; for `cpr`, annualised).
    pub actual: f64,
    /// Predicted rate (mean probability; for `cpr`, the annualised mean SMM).
    pub predicted: f64,
}

#[derive(Default, Clone)]
struct Acc {
    exposure: [f64; METRICS.len()],
    events: [f64; METRICS.len()],
    predicted: [f64; METRICS.len()],
}

/// Back-test `model` on `rows` (with their covariates `cov`); rows from
/// `holdout` on are the out-of-sample ones.
pub fn backtest(
    panel: &Panel,
    rows: &[Row],
    cov: &[Covariates],
    model: &Model,
    holdout: Option<Month>,
) -> Vec<BacktestLine> {
    // Key: (sample, dimension index, order); the segment label is made once,
    // when the segment is first seen.
    let mut acc: HashMap<(u8, u8, i64), (String, Acc)> = HashMap::new();
    let dims = ["all", "period", "investor", "incentive", "status"];
    for (row, x) in rows.iter().zip(cov) {
        let probs = model.probs(x);
        let sample = u8::from(holdout.is_some_and(|h| row.period >= h));
        let bucket = incentive_bucket_index(x.iota);
        let inv = panel.loans[row.loan as usize].investor;
        let keys = [
            (0u8, 0i64),
            (1, i64::from(yyyymm(row.period))),
            (2, inv.index() as i64),
            (3, bucket as i64),
            (4, row.status.index() as i64),
        ];
        for (d, order) in keys {
            let (_, a) = acc.entry((sample, d, order)).or_insert_with(|| {
                let label = match d {
                    0 => "all".to_string(),
                    1 => order.to_string(),
                    2 => inv.code().to_string(),
                    3 => incentive_bucket(x.iota).1,
                    _ => row.status.code().to_string(),
                };
                (label, Acc::default())
            });
            for (m, (_, from, to)) in METRICS.iter().enumerate() {
                if *from == row.status {
                    a.exposure[m] += 1.0;
                    a.predicted[m] += probs[to.index()];
                    if row.next == *to {
                        a.events[m] += 1.0;
                    }
                }
            }
        }
    }
    let mut acc: Vec<_> = acc.into_iter().collect();
    acc.sort_by_key(|(k, _)| *k);
    let annual = |smm: f64| 1.0 - (1.0 - smm).powi(12);
    let mut out = Vec::new();
    for ((sample, d, order), (seg, a)) in acc {
        for (m, (name, _, _)) in METRICS.iter().enumerate() {
            if a.exposure[m] == 0.0 {
                continue;
            }
            let mut actual = a.events[m] / a.exposure[m];
            let mut predicted = a.predicted[m] / a.exposure[m];
            if *name == "cpr" {
                actual = annual(actual);
                predicted = annual(predicted);
            }
            out.push(BacktestLine {
                sample: if sample == 0 { "in" } else { "out" },
                dimension: dims[d as usize],
                segment: seg.clone(),
                segment_order: order,
                metric: name,
                exposure: a.exposure[m],
                events: a.events[m],
                actual,
                predicted,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incentive_buckets() {
        assert_eq!(incentive_bucket(-3.0), (0, "<= -2.0".to_string()));
        assert_eq!(incentive_bucket(-2.0).0, 0);
        assert_eq!(incentive_bucket(0.25), (4, "(0.0, 0.5]".to_string()));
        assert_eq!(incentive_bucket(3.5), (9, "> 3.0".to_string()));
    }
}
