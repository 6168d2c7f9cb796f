//! The projection sections: expected cash flows by component and month, and
//! surviving UPB by delinquency state.

use super::*;

pub(super) fn cashflow_section(p: &mut Page, d: &ReportData, cf: &Cashflows) {
    p.open_section("cashflows", "Projected cash flows");
    if !cf.missing.is_empty() {
        p.note(&format!(
            "cashflows.parquet lacks: {}.",
            cf.missing.join(", ")
        ));
    }
    let series: Vec<Series> = cf
        .components
        .iter()
        .enumerate()
        .map(|(k, (name, cost, v))| {
            Series::new(
                component_name(name),
                PALETTE[k % PALETTE.len()],
                v.iter().map(|x| if *cost { -x } else { *x }).collect(),
            )
        })
        .collect();
    let overlay: Vec<Series> = cf
        .net
        .iter()
        .map(|n| Series::new("Net cash flow", INK, n.clone()))
        .collect();
    if !series.is_empty() {
        let chart = LineChart {
            id: "chart-cashflows".into(),
            title: "Expected cash flow by component and month (income above zero, costs below)"
                .into(),
            width: FULL,
            x: cf.month.clone(),
            x_unit: Unit::Months,
            x_title: "months after the valuation date".into(),
            series,
            mode: LineMode::StackedArea,
            overlay,
            y_unit: Unit::Dollars,
            markers: false,
        };
        p.figure(&chart.render());
    }
    if let (Some(net), Some(pv)) = (&cf.net, &cf.pv_net) {
        let lines = LineChart {
            id: "chart-net".into(),
            title: "Net cash flow and its present value, by month".into(),
            width: HALF,
            x: cf.month.clone(),
            x_unit: Unit::Months,
            x_title: "months".into(),
            series: vec![
                Series::new("Net cash flow", INK, net.clone()),
                Series::new("PV of net cash flow", UP, pv.clone()),
            ],
            mode: LineMode::Lines,
            overlay: Vec::new(),
            y_unit: Unit::Dollars,
            markers: false,
        };
        let mut acc = 0.0;
        let cum: Vec<f64> = pv
            .iter()
            .map(|x| {
                acc += if x.is_finite() { *x } else { 0.0 };
                acc
            })
            .collect();
        let cumulative = LineChart {
            id: "chart-cumulative-pv".into(),
            title: "Cumulative PV of net cash flow (reaches the value)".into(),
            width: HALF,
            x: cf.month.clone(),
            x_unit: Unit::Months,
            x_title: "months".into(),
            series: vec![Series::new("Cumulative PV", "#228833", cum.clone())],
            mode: LineMode::Lines,
            overlay: Vec::new(),
            y_unit: Unit::Dollars,
            markers: false,
        };
        p.grid2(&lines.render(), &cumulative.render());
        let total = cum.last().copied().unwrap_or(0.0);
        let half_life = cum
            .iter()
            .position(|c| *c >= 0.5 * total)
            .map(|i| cf.month[i]);
        p.note(&format!(
            "Σ PV of net cash flow = {} (portfolio value {}); half of it arrives by month {}.",
            fmt::dollars(total),
            fmt::dollars(d.summary.value),
            half_life.map_or(fmt::NA.into(), |m| fmt::number(m, 0))
        ));
    }
    // Annual totals.
    let months = cf.month.len();
    let years = months.div_ceil(12);
    let mut rows = Vec::with_capacity(years);
    for y in 0..years {
        let range = 12 * y..(12 * y + 12).min(months);
        let sum = |v: &[f64]| {
            v[range.clone()]
                .iter()
                .filter(|x| x.is_finite())
                .sum::<f64>()
        };
        let mut row = vec![Num((y + 1).to_string())];
        for (_, cost, v) in &cf.components {
            let t = sum(v);
            row.push(Num(fmt::dollars(if *cost { -t } else { t })));
        }
        row.push(Num(cf
            .net
            .as_deref()
            .map_or(fmt::NA.into(), |v| fmt::dollars(sum(v)))));
        row.push(Num(cf
            .pv_net
            .as_deref()
            .map_or(fmt::NA.into(), |v| fmt::dollars(sum(v)))));
        rows.push(row);
    }
    let names: Vec<String> = cf
        .components
        .iter()
        .map(|(n, _, _)| component_name(n))
        .collect();
    let mut cols = vec![Col("year", true)];
    cols.extend(names.iter().map(|n| Col(n, true)));
    cols.push(Col("net", true));
    cols.push(Col("PV of net", true));
    p.details("Annual totals by component (costs negative)", |p| {
        p.table("table-cashflows-annual", &cols, rows, false);
    });
    p.close_section();
}

pub(super) fn upb_section(p: &mut Page, cf: &Cashflows) {
    p.open_section("upb", "Surviving UPB by delinquency state");
    if cf.upb.is_empty() {
        p.note("cashflows.parquet has no upb_C … upb_FC columns.");
        p.close_section();
        return;
    }
    let series: Vec<Series> = cf
        .upb
        .iter()
        .enumerate()
        .map(|(k, (state, v))| Series::new(state.clone(), state_color(k), v.clone()))
        .collect();
    let all = LineChart {
        id: "chart-upb".into(),
        title: "Expected surviving UPB by state".into(),
        width: HALF,
        x: cf.month.clone(),
        x_unit: Unit::Months,
        x_title: "months".into(),
        series: series.clone(),
        mode: LineMode::StackedArea,
        overlay: Vec::new(),
        y_unit: Unit::Dollars,
        markers: false,
    };
    let delinquent = LineChart {
        id: "chart-upb-delinquent".into(),
        title: "Delinquent and foreclosure UPB only".into(),
        series: series.into_iter().skip(1).collect(),
        ..all.clone()
    };
    p.grid2(&all.render(), &delinquent.render());
    let share: Vec<f64> = (0..cf.month.len())
        .map(|i| {
            let total: f64 = cf.upb.iter().map(|(_, v)| v[i]).sum();
            let dq: f64 = cf.upb.iter().skip(1).map(|(_, v)| v[i]).sum();
            if total > 0.0 {
                100.0 * dq / total
            } else {
                f64::NAN
            }
        })
        .collect();
    let share_chart = LineChart {
        id: "chart-dq-share".into(),
        title: "Delinquent share of surviving UPB (D30 to FC)".into(),
        width: FULL,
        series: vec![Series::new("Delinquent share", SEQUENTIAL[3], share)],
        y_unit: Unit::Percent,
        mode: LineMode::Lines,
        ..all.clone()
    };
    p.figure(&share_chart.render());
    let months = cf.month.len();
    let mut picks: Vec<usize> = [1usize, 6, 12, 24, 36, 60, 84, 120, 180, 240, 300, 360, 480]
        .into_iter()
        .filter(|&m| m <= months)
        .collect();
    if months > 0 && picks.last() != Some(&months) {
        picks.push(months);
    }
    let mut cols = vec![Col("month", true)];
    cols.extend(cf.upb.iter().map(|(state, _)| Col(state, true)));
    cols.push(Col("total", true));
    cols.push(Col("delinquent share", true));
    let rows = picks
        .iter()
        .map(|&m| {
            let i = m - 1;
            let vals: Vec<f64> = cf.upb.iter().map(|(_, v)| v[i]).collect();
            let total: f64 = vals.iter().sum();
            let dq: f64 = vals.iter().skip(1).sum();
            let mut row = vec![Num(fmt::number(cf.month[i], 0))];
            row.extend(vals.iter().map(|v| Num(fmt::dollars(*v))));
            row.push(Num(fmt::dollars(total)));
            row.push(Num(if total > 0.0 {
                fmt::pct(100.0 * dq / total, 2)
            } else {
                fmt::NA.into()
            }));
            row
        })
        .collect();
    p.table("table-upb", &cols, rows, false);
    p.note("Expected UPB at month end over all paths; a state's UPB is the scheduled balance of the loans in it.");
    p.close_section();
}
