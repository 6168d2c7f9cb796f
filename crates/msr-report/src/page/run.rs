//! The run and headline sections: provenance, which inputs were found, the
//! value in every unit and its build-up from the cash-flow components.

use super::*;

pub(super) fn run_section(p: &mut Page, d: &ReportData) {
    let s = &d.summary;
    p.open_section("run", "Run and inputs");
    for n in &d.notes {
        p.warn(n);
    }
    let mut rows = vec![
        vec![
            Text("Valuation date (as of)".into()),
            Text(s.as_of.to_string()),
        ],
        vec![
            Text("Option-adjusted spread".into()),
            Text(format!(
                "{} ({} bp)",
                fmt::pct(100.0 * s.oas, 2),
                fmt::number(1e4 * s.oas, 1)
            )),
        ],
        vec![Text("Months projected".into()), Text(fmt::count(s.months))],
    ];
    match &d.manifest {
        Some(m) => {
            let rp = &m.rate_paths;
            let paths = match rp.source.as_str() {
                "file" => format!(
                    "{} paths from file {}",
                    fmt::count(s.paths),
                    rp.path
                        .as_ref()
                        .map_or(String::from("?"), |p| p.display().to_string())
                ),
                _ => format!(
                    "{} Hull–White paths, seed {}{}",
                    fmt::count(s.paths),
                    rp.seed.or(m.seed).map_or("?".into(), |x| x.to_string()),
                    if rp.antithetic == Some(true) {
                        ", antithetic pairs"
                    } else {
                        ""
                    }
                ),
            };
            rows.insert(0, vec![Text("Run id".into()), Code(m.run_id.clone())]);
            rows.push(vec![Text("Rate paths".into()), Text(paths)]);
            rows.push(vec![
                Text("Engine".into()),
                Text(format!(
                    "msr-engine {}{}",
                    m.version,
                    m.threads
                        .map_or(String::new(), |t| format!(", {t} threads"))
                )),
            ]);
            if let (Some(a), Some(b)) = (&m.started_at, &m.finished_at) {
                rows.push(vec![
                    Text("Run started / finished".into()),
                    Text(format!("{a} / {b}")),
                ]);
            }
        }
        None => rows.push(vec![
            Text("Rate paths".into()),
            Text(format!("{} paths", fmt::count(s.paths))),
        ]),
    }
    // Two facts per row: label, value, label, value.
    let rows: Vec<Vec<Cell>> = rows
        .chunks(2)
        .map(|pair| {
            let mut row: Vec<Cell> = pair
                .iter()
                .flat_map(|r| r.iter().map(Cell::clone))
                .collect();
            while row.len() < 4 {
                row.push(Text(String::new()));
            }
            row
        })
        .collect();
    p.table(
        "run-facts",
        &[
            Col("", false),
            Col("", false),
            Col("", false),
            Col("", false),
        ],
        rows,
        false,
    );

    if let Some(m) = &d.manifest {
        p.h3("Input files");
        let mut rows = vec![
            vec![
                Text("Loan tape".into()),
                Code(m.inputs.loans.path.display().to_string()),
                Code(m.inputs.loans.sha256.clone()),
                Num(m.inputs.loans.rows.map_or(String::new(), fmt::count)),
            ],
            vec![
                Text("Configuration".into()),
                Code(m.inputs.config.path.display().to_string()),
                Code(m.inputs.config.sha256.clone()),
                Num(String::new()),
            ],
        ];
        if let (Some(path), Some(sha)) = (&m.rate_paths.path, &m.rate_paths.sha256) {
            rows.push(vec![
                Text("Rate paths".into()),
                Code(path.display().to_string()),
                Code(sha.clone()),
                Num(String::new()),
            ]);
        }
        p.table(
            "input-hashes",
            &[
                Col("input", false),
                Col("path", false),
                Col("SHA-256", false),
                Col("rows", true),
            ],
            rows,
            false,
        );
    }

    let found = d.inputs.iter().filter(|i| i.present).count();
    let rows = d
        .inputs
        .iter()
        .map(|i| {
            vec![
                Text(i.name.clone()),
                if i.present {
                    Text("present".into())
                } else {
                    Text("absent".into())
                },
                Code(i.path.display().to_string()),
                Text(if i.present {
                    String::new()
                } else {
                    i.effect.clone()
                }),
            ]
        })
        .collect();
    p.details(
        &format!(
            "Report inputs: {found} of {} found (where each was looked for)",
            d.inputs.len()
        ),
        |p| {
            p.table(
                "report-inputs",
                &[
                    Col("input", false),
                    Col("status", false),
                    Col("looked for at", false),
                    Col("if absent", false),
                ],
                rows,
                false,
            );
        },
    );
    let absent: Vec<&str> = d
        .inputs
        .iter()
        .filter(|i| !i.present)
        .map(|i| i.name.as_str())
        .collect();
    if absent.is_empty() {
        p.note("Every input was found.");
    } else {
        let _ = write!(
            p.html,
            r#"<p class="note absent" id="absent-inputs">Absent inputs: {}.</p>"#,
            esc(&absent.join(", "))
        );
    }
    p.close_section();
}

pub(super) fn headline_section(p: &mut Page, d: &ReportData) {
    let s = &d.summary;
    p.open_section("headline", "Headline value");
    let se_bp = s.std_error.filter(|_| s.upb > 0.0).map(|e| 1e4 * e / s.upb);
    p.kpis(&[
        (
            "Portfolio value",
            fmt::dollars_short(s.value),
            fmt::dollars(s.value),
        ),
        (
            "Value, bp of UPB",
            fmt::opt(s.value_bps, fmt::bp),
            format!("of {} UPB", fmt::dollars_short(s.upb)),
        ),
        (
            "Multiple of fee strip",
            fmt::opt(s.multiple, fmt::multiple),
            "value ÷ Σ servicing fee × UPB".into(),
        ),
        (
            "Monte Carlo std error",
            fmt::opt(s.std_error, fmt::dollars),
            match s.scrambles {
                Some(r) => format!(
                    "{} over {} independent scrambles of {} paths",
                    fmt::opt(se_bp, fmt::bp),
                    fmt::count(u64::from(r)),
                    fmt::count(s.paths / u64::from(r.max(1)))
                ),
                None => format!(
                    "{} over {} paths",
                    fmt::opt(se_bp, fmt::bp),
                    fmt::count(s.paths)
                ),
            },
        ),
        (
            "Loans valued",
            fmt::count(s.records),
            format!("{} loans by loan_count", fmt::count(s.loan_count)),
        ),
        (
            "Unpaid balance",
            fmt::dollars_short(s.upb),
            fmt::dollars(s.upb),
        ),
        (
            "Rejected rows",
            fmt::count(s.rejected_rows),
            format!(
                "of {} read ({})",
                fmt::count(s.loans_read),
                if s.loans_read > 0 {
                    fmt::pct(100.0 * s.rejected_rows as f64 / s.loans_read as f64, 2)
                } else {
                    fmt::NA.into()
                }
            ),
        ),
        (
            "Non-finite loans",
            fmt::count(s.non_finite_loans),
            "left out of every total".into(),
        ),
    ]);

    let comps: Vec<(&str, bool, f64)> = msr_model::COMPONENTS
        .iter()
        .filter_map(|(_, name, cost)| s.pv.get(*name).map(|v| (*name, *cost, *v)))
        .collect();
    if comps.len() >= 2 {
        let (first, rest) = comps.split_at(1);
        let signed = |(_, cost, v): &(&str, bool, f64)| if *cost { -v } else { *v };
        let w = Waterfall {
            id: "chart-components".into(),
            title: "Value by cash-flow component (present values)".into(),
            width: FULL,
            start: (component_name(first[0].0), signed(&first[0])),
            steps: rest
                .iter()
                .map(|c| (component_name(c.0), signed(c)))
                .collect(),
            end: ("Portfolio value".into(), s.value),
            unit: Unit::Dollars,
            from_zero: true,
        };
        p.figure(&w.render());
        let sum: f64 = comps.iter().map(signed).sum();
        let mut rows: Vec<Vec<Cell>> = comps
            .iter()
            .map(|c| {
                vec![
                    Text(component_name(c.0)),
                    Text(if c.1 { "cost" } else { "income" }.into()),
                    Num(fmt::dollars(signed(c))),
                    Num(bp_of(signed(c), s.upb)),
                    Num(if s.value != 0.0 {
                        fmt::pct(100.0 * signed(c) / s.value, 1)
                    } else {
                        fmt::NA.into()
                    }),
                ]
            })
            .collect();
        rows.push(vec![
            Text("Portfolio value".into()),
            Text(String::new()),
            Num(fmt::dollars(s.value)),
            Num(bp_of(s.value, s.upb)),
            Num(fmt::pct(100.0, 1)),
        ]);
        p.table(
            "table-components",
            &[
                Col("component", false),
                Col("", false),
                Col("PV $", true),
                Col("bp of UPB", true),
                Col("% of value", true),
            ],
            rows,
            true,
        );
        if (sum - s.value).abs() > 1e-6 * s.value.abs().max(1.0) {
            p.note(&format!(
                "The components add up to {}, not the value {}: loans with a non-finite value or a partial summary.",
                fmt::dollars(sum),
                fmt::dollars(s.value)
            ));
        }
    }
    if let Some(reasons) = d.reject_reasons.as_ref().filter(|r| !r.is_empty()) {
        p.h3("Rejected rows by rule (rejects.csv)");
        let shown = reasons.len().min(12);
        let rows = reasons[..shown]
            .iter()
            .map(|r| {
                vec![
                    Code(r.column.clone()),
                    Text(r.rule.clone()),
                    Num(fmt::count(r.rows)),
                ]
            })
            .collect();
        p.table(
            "table-rejects",
            &[Col("column", false), Col("rule", false), Col("rows", true)],
            rows,
            false,
        );
        if reasons.len() > shown {
            p.note(&format!(
                "{} more rules; see rejects.csv.",
                reasons.len() - shown
            ));
        }
    }
    if !s.expected_events.is_empty() {
        p.h3("Expected events over the projection (loans)");
        let rows = vec![s
            .expected_events
            .values()
            .map(|v| Num(fmt::number(*v, 1)))
            .collect()];
        let names: Vec<String> = s.expected_events.keys().map(|k| fmt::humanize(k)).collect();
        let cols: Vec<Col> = names.iter().map(|n| Col(n, true)).collect();
        p.table("table-events", &cols, rows, false);
    }
    p.close_section();
}
