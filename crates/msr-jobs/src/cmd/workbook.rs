//! `marks.xlsx` (`msr value --xlsx`, `msr disclose --xlsx`;
//! docs/accounting.md, "The workbook"): sheets Marks (one row per loan, the
//! marks.csv rows), By investor, Summary and, for `msr disclose`,
//! Disclosure (the ASC 820 table as a 10-Q prints it). Numbers are numbers
//! with number formats; By investor and Summary are exact sums
//! ([`ExactSum`]) of the Marks sheet's own cells, so they equal marks.csv's
//! totals to the cent. The writing itself is msr-io's `xlsx` module.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use msr_core::{Config, ExactSum};
use msr_engine::disclosure::{Disclosure, DisclosureRow, Ranged};
use msr_io::xlsx::{sheet_from_csv, write_workbook, Cell, NumberFormat, Sheet};

use super::oas::Loaded;
use crate::exit::output;

/// The numeric columns of marks.csv and their formats.
const MARKS_FORMATS: [(&str, NumberFormat); 6] = [
    ("upb", NumberFormat::Dollars),
    ("fair_value", NumberFormat::Dollars),
    ("value_bps", NumberFormat::Decimal2),
    ("multiple", NumberFormat::Decimal2),
    ("paths", NumberFormat::Count),
    ("oas", NumberFormat::Decimal4),
];

fn column(sheet: &Sheet, name: &str) -> usize {
    sheet
        .header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("the Marks sheet has a `{name}` column"))
}

fn number(cell: Option<&Cell>) -> Option<f64> {
    match cell {
        Some(Cell::Number(x, _)) => Some(*x),
        _ => None,
    }
}

/// By investor and Summary from the Marks sheet: exact sums of its cells.
fn derived(marks: &Sheet, settings: &[(&str, Cell)]) -> [Sheet; 2] {
    let (inv, upb, fv) = (
        column(marks, "investor"),
        column(marks, "upb"),
        column(marks, "fair_value"),
    );
    let mut groups: BTreeMap<String, (u64, ExactSum, ExactSum)> = BTreeMap::new();
    let mut total = (0u64, ExactSum::ZERO, ExactSum::ZERO);
    for row in &marks.rows {
        let key = match row.get(inv) {
            Some(Cell::Text(s)) => s.clone(),
            _ => String::new(),
        };
        let (u, v) = (number(row.get(upb)), number(row.get(fv)));
        let g = groups
            .entry(key)
            .or_insert((0, ExactSum::ZERO, ExactSum::ZERO));
        for acc in [g, &mut total] {
            acc.0 += 1;
            acc.1.add(u.unwrap_or(0.0));
            acc.2.add(v.unwrap_or(0.0));
        }
    }
    let line = |name: String, (n, u, v): (u64, ExactSum, ExactSum)| {
        let (u, v) = (u.value(), v.value());
        vec![
            Cell::Text(name),
            Cell::Number(n as f64, NumberFormat::Count),
            Cell::Number(u, NumberFormat::Dollars),
            Cell::Number(v, NumberFormat::Dollars),
            if u > 0.0 {
                Cell::Number(1e4 * v / u, NumberFormat::Decimal2)
            } else {
                Cell::Empty
            },
        ]
    };
    let header = ["investor", "loans", "upb", "fair_value", "value_bps"]
        .map(str::to_string)
        .to_vec();
    let mut rows: Vec<Vec<Cell>> = groups.into_iter().map(|(k, g)| line(k, g)).collect();
    rows.push(line("total".into(), total));
    let by_investor = Sheet {
        name: "By investor".into(),
        header,
        rows,
    };
    let (n, u, v) = (total.0, total.1.value(), total.2.value());
    let mut summary_rows = vec![
        vec![
            Cell::Text("loans".into()),
            Cell::Number(n as f64, NumberFormat::Count),
        ],
        vec![
            Cell::Text("upb".into()),
            Cell::Number(u, NumberFormat::Dollars),
        ],
        vec![
            Cell::Text("fair_value".into()),
            Cell::Number(v, NumberFormat::Dollars),
        ],
    ];
    if u > 0.0 {
        summary_rows.push(vec![
            Cell::Text("value_bps".into()),
            Cell::Number(1e4 * v / u, NumberFormat::Decimal2),
        ]);
    }
    for (k, c) in settings {
        summary_rows.push(vec![Cell::Text((*k).to_string()), c.clone()]);
    }
    let summary = Sheet {
        name: "Summary".into(),
        header: vec!["item".into(), "value".into()],
        rows: summary_rows,
    };
    [by_investor, summary]
}

fn settings(config: &Config, num_paths: usize) -> Vec<(&'static str, Cell)> {
    vec![
        ("as_of", Cell::Text(config.valuation.as_of.clone())),
        (
            "oas",
            Cell::Number(config.valuation.oas, NumberFormat::Decimal4),
        ),
        ("paths", Cell::Number(num_paths as f64, NumberFormat::Count)),
        // As text: a 64-bit seed above 2^53 has no exact f64 (Excel's numbers).
        ("seed", Cell::Text(config.valuation.seed.to_string())),
    ]
}

/// `msr value --xlsx`: the workbook from the staged marks.csv.
///
/// # Errors
/// Output errors.
pub fn write_value_workbook(
    staging_dir_marks_csv: &Path,
    xlsx: &Path,
    config: &Config,
    num_paths: usize,
) -> Result<()> {
    let marks = sheet_from_csv("Marks", staging_dir_marks_csv, &MARKS_FORMATS).map_err(output)?;
    let [by_investor, summary] = derived(&marks, &settings(config, num_paths));
    write_workbook(xlsx, &[marks, by_investor, summary]).map_err(output)
}

fn pct(x: Option<f64>) -> Cell {
    x.map_or(Cell::Empty, |v| Cell::Number(v, NumberFormat::Percent))
}

fn num(x: Option<f64>, f: NumberFormat) -> Cell {
    x.map_or(Cell::Empty, |v| Cell::Number(v, f))
}

/// The Disclosure sheet: one line per item, the total's weighted average
/// and loan-level range, then each group's figure.
fn disclosure_sheet(report: &Disclosure, group_by: &str) -> Sheet {
    let mut header: Vec<String> = vec![
        "Level 3: MSRs at fair value".into(),
        "Total (weighted average)".into(),
        "Range: min".into(),
        "Range: max".into(),
    ];
    header.extend(
        report
            .groups
            .iter()
            .map(|g| format!("{group_by} {}", g.group)),
    );
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    type Get = dyn Fn(&DisclosureRow) -> Cell;
    let mut line = |label: &str, get: &Get, range: Option<Ranged>, f: NumberFormat| {
        let mut row = vec![Cell::Text(label.into()), get(&report.total)];
        match range {
            Some(r) => row.extend([Cell::Number(r.min, f), Cell::Number(r.max, f)]),
            None => row.extend([Cell::Empty, Cell::Empty]),
        }
        row.extend(report.groups.iter().map(get));
        rows.push(row);
    };
    let t = &report.total;
    use NumberFormat::{Count, Decimal2, Dollars, Percent};
    line(
        "Fair value ($)",
        &|r| Cell::Number(r.fair_value, Dollars),
        None,
        Dollars,
    );
    line(
        "Unpaid principal balance ($)",
        &|r| Cell::Number(r.upb, Dollars),
        None,
        Dollars,
    );
    line(
        "Loans",
        &|r| Cell::Number(r.loans as f64, Count),
        None,
        Count,
    );
    line(
        "Fair value (bp of UPB)",
        &|r| num(r.value_bps, Decimal2),
        t.value_bps_range,
        Decimal2,
    );
    line(
        "Multiple (of servicing fee)",
        &|r| num(r.multiple, Decimal2),
        None,
        Decimal2,
    );
    line(
        "Key inputs (weighted average)",
        &|_| Cell::Empty,
        None,
        Decimal2,
    );
    line(
        "Prepayment speed (lifetime CPR)",
        &|r| pct(r.prepayment_cpr),
        t.prepayment_cpr_range,
        Percent,
    );
    line(
        "Weighted-average life (years)",
        &|r| num(r.weighted_average_life_years, Decimal2),
        t.weighted_average_life_range,
        Decimal2,
    );
    line(
        "Discount rate",
        &|r| pct(r.discount_rate),
        t.discount_rate_range,
        Percent,
    );
    line(
        "Option-adjusted spread",
        &|r| Cell::Number(r.oas, Percent),
        None,
        Percent,
    );
    line(
        "Cost to service, performing ($ per loan a year)",
        &|r| Cell::Number(r.cost_performing, Dollars),
        None,
        Dollars,
    );
    line(
        "Cost to service, all loans now ($ per loan a year)",
        &|r| num(r.cost_now.map(|c| c.average), Dollars),
        t.cost_now,
        Dollars,
    );
    line(
        "Cost to service, all loans, lifetime ($ per loan a year)",
        &|r| num(r.cost_lifetime, Dollars),
        None,
        Dollars,
    );
    line(
        "Delinquency 30+ now (UPB share)",
        &|r| pct(r.delinquency_30plus_now),
        None,
        Percent,
    );
    line(
        "Delinquency 30+ lifetime average (UPB share)",
        &|r| pct(r.delinquency_30plus_lifetime),
        t.delinquency_30plus_lifetime_range,
        Percent,
    );
    line(
        "Float earnings (annual, share of UPB)",
        &|r| pct(r.float_earnings_rate),
        None,
        Percent,
    );
    line(
        "Float earnings PV ($)",
        &|r| Cell::Number(r.float_pv, Dollars),
        None,
        Dollars,
    );
    line(
        "Note rate",
        &|r| pct(r.note_rate.map(|x| x.average)),
        t.note_rate,
        Percent,
    );
    line(
        "Servicing fee",
        &|r| pct(r.servicing_fee.map(|x| x.average)),
        t.servicing_fee,
        Percent,
    );
    line(
        "Change in fair value from adverse changes ($)",
        &|_| Cell::Empty,
        None,
        Dollars,
    );
    let names: Vec<(&'static str, f64)> = t
        .sensitivities
        .iter()
        .map(|s| (s.input, s.adverse_pct))
        .collect();
    for (input, p) in names {
        let label = format!(
            "{}: {p} % adverse change",
            match input {
                "prepayment_speed" => "Prepayment speed",
                "cost_to_service" => "Cost to service",
                "delinquency_roll" => "Delinquency roll rate",
                _ => "Discount rate",
            }
        );
        let get = move |r: &DisclosureRow| {
            num(
                r.sensitivities
                    .iter()
                    .find(|s| s.input == input && s.adverse_pct == p)
                    .map(|s| s.change),
                Dollars,
            )
        };
        line(&label, &get, None, Dollars);
    }
    Sheet {
        name: "Disclosure".into(),
        header,
        rows,
    }
}

/// `msr disclose --xlsx`: Marks (the loans' base values), By investor,
/// Summary and Disclosure.
///
/// # Errors
/// Output errors.
pub(crate) fn write_disclosure_workbook(
    xlsx: &Path,
    report: &Disclosure,
    loaded: &Loaded,
    group_by: &str,
) -> Result<()> {
    let as_of = &loaded.config.valuation.as_of;
    let rows = loaded
        .loans
        .iter()
        .zip(&report.loan_values)
        .filter_map(|(l, v)| {
            let v = (*v)?;
            let fee_base = l.servicing_fee * l.upb;
            Some(vec![
                Cell::Text(as_of.clone()),
                Cell::Text(l.loan_id.clone()),
                Cell::Text(l.investor.code().to_string()),
                Cell::Number(l.upb, NumberFormat::Dollars),
                Cell::Number(v, NumberFormat::Dollars),
                Cell::Number(1e4 * v / l.upb, NumberFormat::Decimal2),
                num(
                    (fee_base > 0.0).then(|| v / fee_base),
                    NumberFormat::Decimal2,
                ),
            ])
        })
        .collect();
    let marks = Sheet {
        name: "Marks".into(),
        header: [
            "as_of",
            "loan_id",
            "investor",
            "upb",
            "fair_value",
            "value_bps",
            "multiple",
        ]
        .map(str::to_string)
        .to_vec(),
        rows,
    };
    let [by_investor, summary] = derived(&marks, &settings(&loaded.config, report.num_paths));
    let table = disclosure_sheet(report, group_by);
    write_workbook(xlsx, &[marks, by_investor, summary, table]).map_err(output)
}
