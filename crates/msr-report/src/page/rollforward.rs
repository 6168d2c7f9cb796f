//! The roll-forward section: the waterfall from the prior mark to this one,
//! by step and by investor.

use super::*;

pub(super) fn rollforward_section(p: &mut Page, r: &Rollforward) {
    p.open_section("rollforward", "Value roll-forward");
    p.note(&format!(
        "From {} to {}, {} paths, seed {}.",
        r.as_of_prior,
        r.as_of,
        fmt::count(r.num_paths),
        r.seed
    ));
    let w = Waterfall {
        id: "chart-rollforward".into(),
        title: format!("Value roll-forward, {} to {}", r.as_of_prior, r.as_of),
        width: FULL,
        start: (format!("Beginning {}", r.as_of_prior), r.beginning_value),
        steps: r
            .steps
            .iter()
            .map(|s| (fmt::humanize(&s.name), s.change))
            .collect(),
        end: (format!("Ending {}", r.as_of), r.ending_value),
        unit: Unit::Dollars,
        from_zero: false,
    };
    p.figure(&w.render());
    let pct_of = |x: f64| {
        if r.beginning_value != 0.0 {
            fmt::pct_signed(100.0 * x / r.beginning_value.abs(), 2)
        } else {
            fmt::NA.into()
        }
    };
    let mut rows = vec![vec![
        Text(format!("Beginning value ({})", r.as_of_prior)),
        Num(fmt::dollars(r.beginning_value)),
        Num(String::new()),
    ]];
    for s in &r.steps {
        rows.push(vec![
            Text(fmt::humanize(&s.name)),
            Num(fmt::dollars_signed(s.change)),
            Num(pct_of(s.change)),
        ]);
    }
    let residual = roll_residual(r.beginning_value, &r.steps, r.ending_value);
    if residual.abs() > 0.5e-6 * r.ending_value.abs().max(1.0) {
        rows.push(vec![
            Text("Unexplained (steps do not add up)".into()),
            Num(fmt::dollars_signed(-residual)),
            Num(pct_of(-residual)),
        ]);
    }
    rows.push(vec![
        Text(format!("Ending value ({})", r.as_of)),
        Num(fmt::dollars(r.ending_value)),
        Num(pct_of(r.ending_value - r.beginning_value)),
    ]);
    p.table(
        "table-rollforward",
        &[
            Col("step", false),
            Col("change", true),
            Col("% of beginning", true),
        ],
        rows,
        true,
    );
    if !r.by_investor.is_empty() {
        p.h3("By investor");
        // Step columns: the portfolio's steps in order, then any others.
        let mut names: Vec<String> = r.steps.iter().map(|s| s.name.clone()).collect();
        for g in r.by_investor.values() {
            for s in &g.steps {
                if !names.contains(&s.name) {
                    names.push(s.name.clone());
                }
            }
        }
        let titles: Vec<String> = names.iter().map(|n| fmt::humanize(n)).collect();
        let step_of = |steps: &[RollStep], n: &str| -> f64 {
            steps.iter().filter(|s| s.name == n).map(|s| s.change).sum()
        };
        let order = investor_order(r.by_investor.keys().cloned());
        let mut rows: Vec<Vec<Cell>> = Vec::new();
        for inv in &order {
            let g = &r.by_investor[inv];
            let mut row = vec![Text(inv.clone()), Num(fmt::dollars(g.beginning_value))];
            row.extend(
                names
                    .iter()
                    .map(|n| Num(fmt::dollars_signed(step_of(&g.steps, n)))),
            );
            row.push(Num(fmt::dollars(g.ending_value)));
            rows.push(row);
        }
        let mut row = vec![Text("Total".into()), Num(fmt::dollars(r.beginning_value))];
        row.extend(
            names
                .iter()
                .map(|n| Num(fmt::dollars_signed(step_of(&r.steps, n)))),
        );
        row.push(Num(fmt::dollars(r.ending_value)));
        rows.push(row);
        let mut cols = vec![Col("investor", false), Col("beginning", true)];
        cols.extend(titles.iter().map(|t| Col(t, true)));
        cols.push(Col("ending", true));
        p.table("table-rollforward-investor", &cols, rows, true);
        let sum_begin: f64 = r.by_investor.values().map(|g| g.beginning_value).sum();
        let sum_end: f64 = r.by_investor.values().map(|g| g.ending_value).sum();
        let tol = 1e-6 * r.ending_value.abs().max(r.beginning_value.abs()).max(1.0);
        if (sum_begin - r.beginning_value).abs() > tol || (sum_end - r.ending_value).abs() > tol {
            p.note(&format!(
                "The investors add up to {} → {}, not the portfolio's {} → {}.",
                fmt::dollars(sum_begin),
                fmt::dollars(sum_end),
                fmt::dollars(r.beginning_value),
                fmt::dollars(r.ending_value)
            ));
        }
    }
    if let Some(l) = &r.loans {
        p.h3("Loans");
        p.table(
            "table-rollforward-loans",
            &[
                Col("prior", true),
                Col("removed", true),
                Col("added", true),
                Col("continuing", true),
                Col("current", true),
            ],
            vec![vec![
                Num(fmt::count(l.prior)),
                Num(fmt::count(l.removed)),
                Num(fmt::count(l.added)),
                Num(fmt::count(l.continuing)),
                Num(fmt::count(l.current)),
            ]],
            false,
        );
    }
    p.close_section();
}
