//! The risk section: durations, option cost, the rate-shock grid and the
//! assumption stresses of `msr risk`.

use super::*;

/// A scenario's name for people: `cost_to_service_+20pct` → `Cost to
/// service +20%`, `parallel_-25bp` → `Parallel -25 bp`.
fn scenario_name(s: &Scenario) -> String {
    let base = s
        .scenario
        .rsplit_once('_')
        .map_or(s.scenario.as_str(), |(b, _)| b);
    let shock = match s.unit.as_str() {
        "pct" => format!("{:+}%", s.shock),
        _ => format!("{:+} bp", s.shock),
    };
    let base = match base {
        "oas" => "OAS".to_string(),
        b => fmt::humanize(b),
    };
    format!("{base} {shock}")
}

pub(super) fn risk_section(p: &mut Page, r: &Risk) {
    p.open_section("risk", "Interest-rate and assumption risk");
    p.note(&format!(
        "msr risk as of {}: {} loans, {} UPB, {} paths{}, OAS {}; base value {} ({}), standard error {}.",
        r.as_of,
        fmt::count(r.records),
        fmt::dollars_short(r.upb),
        fmt::count(r.paths),
        r.seed.map_or(String::new(), |s| format!(" (seed {s})")),
        fmt::pct(100.0 * r.oas, 2),
        fmt::dollars(r.value),
        fmt::opt(r.value_bps, fmt::bp),
        fmt::opt(r.std_error, fmt::dollars)
    ));
    p.kpis(&[
        (
            "Effective duration",
            fmt::opt(r.effective_duration, |x| fmt::number(x, 2)),
            format!("±{} bp parallel", fmt::number(r.shock_bp, 0)),
        ),
        (
            "Effective convexity",
            fmt::opt(r.effective_convexity, |x| fmt::number(x, 1)),
            "negative: short the prepayment option".into(),
        ),
        (
            "Option cost",
            fmt::dollars_short(r.option_cost),
            fmt::opt(r.option_cost_bps, fmt::bp),
        ),
        (
            "Static value",
            fmt::dollars_short(r.static_value),
            "on the curve's forwards, no volatility".into(),
        ),
    ]);
    // Value against the parallel shock, base at 0.
    let mut pts: Vec<(f64, f64)> = r.rate_shocks.iter().map(|s| (s.shock, s.value)).collect();
    pts.push((0.0, r.value));
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let shocks = LineChart {
        id: "chart-rate-shocks".into(),
        title: "Value under parallel rate shocks".into(),
        width: HALF,
        x: pts.iter().map(|p| p.0).collect(),
        x_unit: Unit::Bp,
        x_title: "parallel shift of the zero curve".into(),
        series: vec![Series::new("Value", UP, pts.iter().map(|p| p.1).collect())],
        mode: LineMode::Lines,
        overlay: Vec::new(),
        y_unit: Unit::Dollars,
        markers: true,
    };
    let mut krd = BarChart::simple(
        "chart-krd",
        "Key-rate durations",
        r.key_rate_durations
            .iter()
            .map(|k| format!("{}y", fmt::number(k.tenor_years, 0)))
            .collect(),
        r.key_rate_durations
            .iter()
            .map(|k| k.duration.unwrap_or(f64::NAN))
            .collect(),
        UP,
        Unit::Plain,
    );
    krd.sign_colors = Some((UP, DOWN));
    p.grid2(&shocks.render(), &krd.render());
    let stresses = BarChart {
        id: "chart-stresses".into(),
        title: "Change in value under assumption and OAS stresses".into(),
        width: FULL,
        categories: r.assumption_stresses.iter().map(scenario_name).collect(),
        series: vec![Series::new(
            "Change in value",
            UP,
            r.assumption_stresses.iter().map(|s| s.change).collect(),
        )],
        unit: Unit::Dollars,
        layout: BarLayout::Grouped,
        orientation: Orientation::Horizontal,
        value_labels: true,
        sign_colors: Some((UP, DOWN)),
        value_title: "change from the base value".into(),
    };
    p.figure(&stresses.render());
    let rows = r
        .rate_shocks
        .iter()
        .chain(&r.assumption_stresses)
        .map(|s| {
            vec![
                Text(scenario_name(s)),
                Code(s.scenario.clone()),
                Num(fmt::dollars(s.value)),
                Num(fmt::opt(s.value_bps, fmt::bp)),
                Num(fmt::dollars_signed(s.change)),
                Num(fmt::opt(s.change_pct, |x| fmt::pct_signed(x, 2))),
                Num(fmt::opt(s.std_error, fmt::dollars)),
            ]
        })
        .collect();
    p.table(
        "table-risk",
        &[
            Col("scenario", false),
            Col("risk.csv name", false),
            Col("value", true),
            Col("value bp", true),
            Col("change", true),
            Col("change %", true),
            Col("std error", true),
        ],
        rows,
        false,
    );
    let krd_rows = vec![r
        .key_rate_durations
        .iter()
        .map(|k| Num(fmt::opt(k.duration, |x| fmt::number(x, 3))))
        .collect()];
    p.h3("Key-rate durations");
    let tenors: Vec<String> = r
        .key_rate_durations
        .iter()
        .map(|k| format!("{}y", fmt::number(k.tenor_years, 0)))
        .collect();
    let cols: Vec<Col> = tenors.iter().map(|t| Col(t, true)).collect();
    p.table("table-krd", &cols, krd_rows, false);
    p.note("Changes use common random numbers: a scenario's change is far more precise than either value's standard error.");
    p.close_section();
}
