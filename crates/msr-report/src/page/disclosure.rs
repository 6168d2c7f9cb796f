//! The disclosure section: the ASC 820 Level 3 table of `msr disclose`
//! (docs/accounting.md) — fair value, the weighted-average key inputs with
//! their loan-level ranges, and the change in fair value under 10 % and 20 %
//! adverse changes, for the total and every group.

use super::*;
use crate::schema::{Disclosure, DisclosureRow};
use msr_io::docs::disclose::{Range, Ranged};

/// A row's figure.
type Get<'a> = &'a dyn Fn(&DisclosureRow) -> Option<f64>;
/// A row's loan-level range.
type GetRange<'a> = &'a dyn Fn(&DisclosureRow) -> Option<(f64, f64)>;

fn range(r: Option<Range>) -> Option<(f64, f64)> {
    r.map(|r| (r.min, r.max))
}

fn ranged(r: Option<Ranged>) -> Option<(f64, f64)> {
    r.map(|r| (r.min, r.max))
}

/// One table line: the label, the total's figure, its range (min and max
/// in the total's row), each group's.
fn line(
    label: &str,
    get: Get<'_>,
    range: Option<GetRange<'_>>,
    total: &DisclosureRow,
    groups: &[DisclosureRow],
    show: &dyn Fn(f64) -> String,
) -> Vec<Cell> {
    let cell = |x: Option<f64>| Num(fmt::opt(x, show));
    let mut row = vec![Text(label.into()), cell(get(total))];
    match range {
        Some(range) => {
            let r = range(total);
            row.push(cell(r.map(|r| r.0)));
            row.push(cell(r.map(|r| r.1)));
        }
        None => row.extend([Text(String::new()), Text(String::new())]),
    }
    row.extend(groups.iter().map(|g| cell(get(g))));
    row
}

pub(super) fn disclosure_section(p: &mut Page, doc: &Disclosure) {
    p.open_section("disclosure", "ASC 820 Level 3 disclosure");
    let total = &doc.total;
    let groups = &doc.groups;
    p.note(&format!(
        "msr disclose as of {}: {} paths, OAS {}; groups by {}. Inputs are weighted averages \
         (UPB-weighted unless docs/accounting.md says otherwise) with the loan-level range where \
         a loan-level figure exists; sensitivities are the change in fair value under an adverse \
         change of the input, on the base run's random numbers.",
        doc.as_of,
        fmt::count(doc.paths),
        fmt::pct(100.0 * doc.oas, 2),
        doc.group_by,
    ));
    let dollars = |x: f64| fmt::dollars(x);
    let pct2 = |x: f64| fmt::pct(100.0 * x, 2);
    let dec2 = |x: f64| fmt::number(x, 2);
    let mut rows = vec![
        line(
            "Fair value",
            &|r| Some(r.fair_value),
            None,
            total,
            groups,
            &dollars,
        ),
        line("UPB", &|r| Some(r.upb), None, total, groups, &dollars),
        line(
            "Value (bp of UPB)",
            &|r| r.value_bps,
            Some(&|r| range(r.value_bps_range)),
            total,
            groups,
            &dec2,
        ),
        line("Multiple", &|r| r.multiple, None, total, groups, &dec2),
        line(
            "Prepayment speed (lifetime CPR)",
            &|r| r.inputs.prepayment_cpr,
            Some(&|r| range(r.inputs.prepayment_cpr_range)),
            total,
            groups,
            &pct2,
        ),
        line(
            "Weighted-average life (years)",
            &|r| r.inputs.weighted_average_life_years,
            Some(&|r| range(r.inputs.weighted_average_life_years_range)),
            total,
            groups,
            &dec2,
        ),
        line(
            "Discount rate",
            &|r| r.inputs.discount_rate,
            Some(&|r| range(r.inputs.discount_rate_range)),
            total,
            groups,
            &pct2,
        ),
        line("OAS", &|r| Some(r.inputs.oas), None, total, groups, &pct2),
        line(
            "Cost to service, performing ($/loan/yr)",
            &|r| Some(r.inputs.cost_to_service_per_loan.performing),
            None,
            total,
            groups,
            &dollars,
        ),
        line(
            "Cost to service, all, lifetime ($/loan/yr)",
            &|r| r.inputs.cost_to_service_per_loan.all_lifetime,
            None,
            total,
            groups,
            &dollars,
        ),
        line(
            "Delinquency 30+ now",
            &|r| r.inputs.delinquency_30plus.now,
            None,
            total,
            groups,
            &pct2,
        ),
        line(
            "Delinquency 30+ lifetime average",
            &|r| r.inputs.delinquency_30plus.lifetime_average,
            Some(&|r| range(r.inputs.delinquency_30plus.lifetime_average_range)),
            total,
            groups,
            &pct2,
        ),
        line(
            "Float earnings (annual, of UPB)",
            &|r| r.inputs.float_earnings.annual_rate_on_upb,
            None,
            total,
            groups,
            &|x| fmt::pct(100.0 * x, 3),
        ),
        line(
            "Note rate",
            &|r| r.inputs.note_rate.map(|x| x.weighted_average),
            Some(&|r| ranged(r.inputs.note_rate)),
            total,
            groups,
            &|x| fmt::pct(100.0 * x, 3),
        ),
        line(
            "Servicing fee",
            &|r| r.inputs.servicing_fee.map(|x| x.weighted_average),
            Some(&|r| ranged(r.inputs.servicing_fee)),
            total,
            groups,
            &|x| fmt::pct(100.0 * x, 3),
        ),
    ];
    let sens: Vec<(String, f64)> = total
        .sensitivities
        .iter()
        .map(|s| (s.input.clone(), s.adverse_change_pct))
        .collect();
    for (input, pct) in sens {
        let label = format!("{}: {pct} % adverse change ($)", fmt::humanize(&input));
        let get = move |r: &DisclosureRow| {
            r.sensitivities
                .iter()
                .find(|s| s.input == input && s.adverse_change_pct == pct)
                .map(|s| s.change)
        };
        rows.push(line(&label, &get, None, total, groups, &dollars));
    }
    let mut titles: Vec<String> = vec![
        String::new(),
        "Total".into(),
        "Range min".into(),
        "Range max".into(),
    ];
    titles.extend(groups.iter().map(|g| g.group.clone()));
    let cols: Vec<Col<'_>> = titles
        .iter()
        .enumerate()
        .map(|(k, t)| Col(t.as_str(), k > 0))
        .collect();
    p.table("table-disclosure", &cols, rows, false);
    p.close_section();
}
