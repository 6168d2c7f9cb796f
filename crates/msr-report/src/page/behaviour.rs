//! The behaviour-fit section (`msr calibrate behaviour`, docs/calibration.md):
//! actual against fitted CPR by month and by refinance incentive (the
//! S-curve), roll and cure rates by state, and the estimates.

use super::*;
use crate::data::{BacktestLine, BehaviourFit};

/// Lines of one dimension and metric, in segment order (in sample first).
fn lines<'a>(b: &'a BehaviourFit, dimension: &str, metric: &str) -> Vec<&'a BacktestLine> {
    let mut out: Vec<&BacktestLine> = b
        .backtest
        .iter()
        .filter(|l| l.dimension == dimension && l.metric == metric)
        .collect();
    out.sort_by(|a, b| {
        a.order
            .total_cmp(&b.order)
            .then_with(|| a.sample.cmp(&b.sample))
    });
    out
}

pub(super) fn behaviour_section(p: &mut Page, b: &BehaviourFit) {
    p.open_section("behaviour", "Behaviour fitted to loan-level history");
    p.note(&format!(
        "{} loan-months of {} loans fitted by maximum likelihood (MODEL.md §D); log-likelihood {}, {}; {} moves without a §D.3 arrow left out{}. Predicted rates are means of each loan-month's fitted probability.",
        fmt::count(b.loan_months as u64),
        fmt::count(b.loans as u64),
        fmt::number(b.log_likelihood, 1),
        if b.converged { "converged" } else { "NOT converged" },
        fmt::count(b.excluded_total as u64),
        b.holdout_from
            .map(|h| format!("; months from {h:.0} are out of sample"))
            .unwrap_or_default()
    ));

    // CPR by month: actual and fitted.
    let by_month = lines(b, "period", "cpr");
    if by_month.len() >= 2 {
        let x: Vec<f64> = (0..by_month.len()).map(|i| i as f64).collect();
        let chart = LineChart {
            id: "chart-behaviour-cpr-month".into(),
            title: format!(
                "CPR by month, actual and fitted ({} to {})",
                by_month[0].segment,
                by_month[by_month.len() - 1].segment
            ),
            width: FULL,
            x,
            x_unit: Unit::Months,
            x_title: "months from the first panel month".into(),
            series: vec![
                Series::new(
                    "actual",
                    INK,
                    by_month.iter().map(|l| 100.0 * l.actual).collect(),
                ),
                Series::new(
                    "fitted",
                    UP,
                    by_month.iter().map(|l| 100.0 * l.predicted).collect(),
                ),
            ],
            mode: LineMode::Lines,
            overlay: Vec::new(),
            y_unit: Unit::Percent,
            markers: false,
        };
        p.figure(&chart.render());
    }

    // The S-curve: CPR by incentive bucket.
    let curve: Vec<&BacktestLine> = lines(b, "incentive", "cpr")
        .into_iter()
        .filter(|l| l.sample == "in")
        .collect();
    if !curve.is_empty() {
        p.h3("CPR by refinance incentive (in sample)");
        let chart = LineChart {
            id: "chart-behaviour-scurve".into(),
            title: "CPR by incentive bucket (note rate − market rate, pct)".into(),
            width: FULL,
            x: curve.iter().map(|l| l.order).collect(),
            x_unit: Unit::Plain,
            x_title: "incentive bucket (table below)".into(),
            series: vec![
                Series::new(
                    "actual",
                    INK,
                    curve.iter().map(|l| 100.0 * l.actual).collect(),
                ),
                Series::new(
                    "fitted",
                    UP,
                    curve.iter().map(|l| 100.0 * l.predicted).collect(),
                ),
            ],
            mode: LineMode::Lines,
            overlay: Vec::new(),
            y_unit: Unit::Percent,
            markers: true,
        };
        p.figure(&chart.render());
        let rows = curve
            .iter()
            .map(|l| {
                vec![
                    Num(fmt::number(l.order, 0)),
                    Text(l.segment.clone()),
                    Num(fmt::count(l.exposure as u64)),
                    Num(fmt::count(l.events as u64)),
                    Num(fmt::pct(100.0 * l.actual, 2)),
                    Num(fmt::pct(100.0 * l.predicted, 2)),
                ]
            })
            .collect();
        p.table(
            "table-behaviour-scurve",
            &[
                Col("bucket", true),
                Col("incentive (pct)", false),
                Col("loan-months from C", true),
                Col("prepaid", true),
                Col("actual CPR", true),
                Col("fitted CPR", true),
            ],
            rows,
            false,
        );
    }

    // Every move rate, all loans, in and out of sample.
    p.h3("Move rates by state (monthly; CPR annual)");
    let rows = b
        .backtest
        .iter()
        .filter(|l| l.dimension == "all")
        .map(|l| {
            vec![
                Text(l.sample.clone()),
                Text(l.metric.clone()),
                Num(fmt::count(l.exposure as u64)),
                Num(fmt::count(l.events as u64)),
                Num(fmt::pct(100.0 * l.actual, 2)),
                Num(fmt::pct(100.0 * l.predicted, 2)),
            ]
        })
        .collect();
    p.table(
        "table-behaviour-rates",
        &[
            Col("sample", false),
            Col("move", false),
            Col("loan-months at risk", true),
            Col("moves", true),
            Col("actual", true),
            Col("fitted", true),
        ],
        rows,
        false,
    );

    p.h3("Estimates");
    let rows = b
        .params
        .iter()
        .map(|q| {
            let status = if q.fixed {
                "fixed"
            } else if !q.identified {
                "unidentified (base value)"
            } else {
                ""
            };
            vec![
                Text(q.name.clone()),
                Num(fmt::number(q.initial, 4)),
                Num(fmt::number(q.estimate, 5)),
                Num(fmt::opt(q.std_error, |x| fmt::number(x, 5))),
                Text(status.to_string()),
            ]
        })
        .collect();
    p.table(
        "table-behaviour-params",
        &[
            Col("parameter", false),
            Col("base", true),
            Col("estimate", true),
            Col("std error", true),
            Col("", false),
        ],
        rows,
        false,
    );
    p.close_section();
}
