//! The composition section: the book by investor, delinquency status and
//! note rate, and investor × status.

use super::*;

/// Two charts (UPB and value in bp) and a table for one way of cutting the
/// book; `groups` are (chart label, table label, totals).
///
/// `total_multiple` is the portfolio's multiple when the groups make up the
/// whole book (a multiple does not add up from the groups' own).
fn group_block(
    p: &mut Page,
    key: &str,
    what: &str,
    groups: &[(String, String, GroupTotals)],
    total_upb: f64,
    total_multiple: Option<f64>,
) {
    let cats: Vec<String> = groups.iter().map(|(n, _, _)| n.clone()).collect();
    let upb = BarChart::simple(
        &format!("chart-{key}-upb"),
        &format!("UPB by {what}"),
        cats.clone(),
        groups.iter().map(|(_, _, g)| g.upb).collect(),
        UP,
        Unit::Dollars,
    );
    let mut bps = BarChart::simple(
        &format!("chart-{key}-bps"),
        &format!("Value by {what} (bp of UPB)"),
        cats,
        groups
            .iter()
            .map(|(_, _, g)| g.value_bps.unwrap_or(f64::NAN))
            .collect(),
        TOTAL,
        Unit::Bp,
    );
    bps.sign_colors = Some(("#228833", DOWN));
    p.grid2(&upb.render(), &bps.render());
    let mut rows: Vec<Vec<Cell>> = groups
        .iter()
        .map(|(_, name, g)| group_row(name, g, total_upb))
        .collect();
    let total = GroupTotals {
        records: groups.iter().map(|(_, _, g)| g.records).sum(),
        upb: groups.iter().map(|(_, _, g)| g.upb).sum(),
        value: groups.iter().map(|(_, _, g)| g.value).sum(),
        value_bps: None,
        multiple: None,
    };
    let total = GroupTotals {
        value_bps: (total.upb > 0.0).then(|| 1e4 * total.value / total.upb),
        multiple: total_multiple,
        ..total
    };
    rows.push(group_row("Total", &total, total_upb));
    p.table(
        &format!("table-{key}"),
        &[
            Col(
                match key {
                    "investor" => "investor",
                    "status" => "status",
                    _ => "note rate",
                },
                false,
            ),
            Col("loans", true),
            Col("UPB", true),
            Col("share of UPB", true),
            Col("value", true),
            Col("value bp", true),
            Col("multiple", true),
        ],
        rows,
        true,
    );
}

fn group_row(name: &str, g: &GroupTotals, total_upb: f64) -> Vec<Cell> {
    vec![
        Text(name.to_string()),
        Num(fmt::count(g.records)),
        Num(fmt::dollars(g.upb)),
        Num(if total_upb > 0.0 {
            fmt::pct(100.0 * g.upb / total_upb, 1)
        } else {
            fmt::NA.into()
        }),
        Num(fmt::dollars(g.value)),
        Num(fmt::opt(g.value_bps, fmt::bp)),
        Num(fmt::opt(g.multiple, fmt::multiple)),
    ]
}

pub(super) fn composition_section(p: &mut Page, d: &ReportData) {
    let s = &d.summary;
    p.open_section("composition", "Portfolio composition");
    let by = |m: &BTreeMap<String, GroupTotals>,
              order: Vec<String>|
     -> Vec<(String, String, GroupTotals)> {
        order
            .into_iter()
            .filter_map(|k| m.get(&k).map(|g| (k.clone(), k.clone(), g.clone())))
            .collect()
    };
    p.h3("By investor");
    let inv = by(
        &s.by_investor,
        investor_order(s.by_investor.keys().cloned()),
    );
    if inv.is_empty() {
        p.note("summary.json has no totals by investor.");
    } else {
        group_block(p, "investor", "investor", &inv, s.upb, s.multiple);
    }
    p.h3("By delinquency status");
    let st = by(
        &s.by_dq_status,
        status_order(s.by_dq_status.keys().cloned()),
    );
    if st.is_empty() {
        p.note("summary.json has no totals by status.");
    } else {
        group_block(p, "status", "delinquency status", &st, s.upb, s.multiple);
    }
    if let Some(x) = &d.investor_status {
        let chart = BarChart {
            id: "chart-investor-status".into(),
            title: "UPB by investor and delinquency status".into(),
            width: HALF,
            categories: x.rows.clone(),
            series: x
                .cols
                .iter()
                .enumerate()
                .map(|(c, state)| {
                    let k = DqState::ALL
                        .iter()
                        .position(|s| s.code() == state)
                        .unwrap_or(c);
                    Series::new(
                        state.clone(),
                        state_color(k),
                        x.upb.iter().map(|row| row[c]).collect(),
                    )
                })
                .collect(),
            unit: Unit::Dollars,
            layout: BarLayout::Stacked,
            orientation: Orientation::Vertical,
            value_labels: false,
            sign_colors: None,
            value_title: String::new(),
        };
        // Delinquent (not current) share of each investor's UPB, percent.
        let dq_share: Vec<f64> = x
            .upb
            .iter()
            .map(|cells| {
                let total: f64 = cells.iter().sum();
                let dq: f64 = cells
                    .iter()
                    .zip(&x.cols)
                    .filter(|(_, c)| c.as_str() != DqState::C.code())
                    .map(|(v, _)| v)
                    .sum();
                if total > 0.0 {
                    100.0 * dq / total
                } else {
                    f64::NAN
                }
            })
            .collect();
        let share = BarChart::simple(
            "chart-investor-dq-share",
            "Delinquent share of UPB by investor (D30 to FC)",
            x.rows.clone(),
            dq_share.clone(),
            SEQUENTIAL[2],
            Unit::Percent,
        );
        p.grid2(&chart.render(), &share.render());
        let rows = x
            .rows
            .iter()
            .zip(&x.upb)
            .zip(&dq_share)
            .map(|((inv, cells), share)| {
                let mut row = vec![Text(inv.clone())];
                row.extend(cells.iter().map(|v| Num(fmt::dollars(*v))));
                row.push(Num(fmt::pct(*share, 2)));
                row
            })
            .collect();
        let mut cols = vec![Col("investor", false)];
        cols.extend(x.cols.iter().map(|c| Col(c, true)));
        cols.push(Col("delinquent share", true));
        p.details("UPB by investor and status", |p| {
            p.table("table-investor-status", &cols, rows, false);
        });
    }
    p.h3("By note rate");
    match &d.note_rates {
        NoteRates::Buckets {
            source,
            step_bps,
            groups,
            unmatched,
        } => {
            // Charts show the lower edge; the table the whole bucket.
            let g: Vec<(String, String, GroupTotals)> = groups
                .iter()
                .map(|(label, lo, g)| (format!("{lo:.2}%"), label.clone(), g.clone()))
                .collect();
            let whole = (*unmatched == 0).then_some(s.multiple).flatten();
            group_block(p, "noterate", "note rate", &g, s.upb, whole);
            p.note(&format!(
                "Buckets of {} bp, left-closed (3.50% is in 3.50–4.00%); note rates from {source}.",
                fmt::number(*step_bps, 0)
            ));
            if *unmatched > 0 {
                p.note(&format!(
                    "{} loans of loan_values.parquet have no note rate or a non-finite value and are not in these buckets.",
                    fmt::count(*unmatched)
                ));
            }
        }
        NoteRates::Omitted(why) => {
            let _ = write!(
                p.html,
                r#"<p class="note absent" id="noterate-omitted">Chart omitted: {}.</p>"#,
                esc(why)
            );
        }
    }
    p.close_section();
}
