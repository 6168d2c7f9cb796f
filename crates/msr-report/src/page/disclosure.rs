//! The disclosure section: the ASC 820 Level 3 table of `msr disclose`
//! (docs/accounting.md) — fair value, the weighted-average key inputs with
//! their loan-level ranges, and the change in fair value under 10 % and 20 %
//! adverse changes, for the total and every group.

use serde_json::Value;

use super::*;

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

/// One table line: the label, the total's figure, its range (the object
/// with `min` and `max` at the JSON pointer `range` in the total's row),
/// each group's.
fn line(
    label: &str,
    get: &dyn Fn(&Value) -> Option<f64>,
    range: Option<&str>,
    total: &Value,
    groups: &[Value],
    show: &dyn Fn(f64) -> String,
) -> Vec<Cell> {
    let cell = |x: Option<f64>| Num(fmt::opt(x, show));
    let mut row = vec![Text(label.into()), cell(get(total))];
    match range {
        Some(pointer) => {
            let r = total.pointer(pointer).unwrap_or(&Value::Null);
            row.push(cell(num(&r["min"])));
            row.push(cell(num(&r["max"])));
        }
        None => row.extend([Text(String::new()), Text(String::new())]),
    }
    row.extend(groups.iter().map(|g| cell(get(g))));
    row
}

pub(super) fn disclosure_section(p: &mut Page, doc: &Value) {
    p.open_section("disclosure", "ASC 820 Level 3 disclosure");
    let total = &doc["total"];
    let groups: Vec<Value> = doc["groups"].as_array().cloned().unwrap_or_default();
    p.note(&format!(
        "msr disclose as of {}: {} paths, OAS {}; groups by {}. Inputs are weighted averages \
         (UPB-weighted unless docs/accounting.md says otherwise) with the loan-level range where \
         a loan-level figure exists; sensitivities are the change in fair value under an adverse \
         change of the input, on the base run's random numbers.",
        doc["as_of"].as_str().unwrap_or("?"),
        doc["paths"].as_u64().map_or("?".into(), fmt::count),
        fmt::opt(num(&doc["oas"]), |x| fmt::pct(100.0 * x, 2)),
        doc["group_by"].as_str().unwrap_or("?"),
    ));
    let dollars = |x: f64| fmt::dollars(x);
    let pct2 = |x: f64| fmt::pct(100.0 * x, 2);
    let dec2 = |x: f64| fmt::number(x, 2);
    let mut rows = vec![
        line(
            "Fair value",
            &|r| num(&r["fair_value"]),
            None,
            total,
            &groups,
            &dollars,
        ),
        line("UPB", &|r| num(&r["upb"]), None, total, &groups, &dollars),
        line(
            "Value (bp of UPB)",
            &|r| num(&r["value_bps"]),
            Some("/value_bps_range"),
            total,
            &groups,
            &dec2,
        ),
        line(
            "Multiple",
            &|r| num(&r["multiple"]),
            None,
            total,
            &groups,
            &dec2,
        ),
        line(
            "Prepayment speed (lifetime CPR)",
            &|r| num(&r["inputs"]["prepayment_cpr"]),
            Some("/inputs/prepayment_cpr_range"),
            total,
            &groups,
            &pct2,
        ),
        line(
            "Weighted-average life (years)",
            &|r| num(&r["inputs"]["weighted_average_life_years"]),
            Some("/inputs/weighted_average_life_years_range"),
            total,
            &groups,
            &dec2,
        ),
        line(
            "Discount rate",
            &|r| num(&r["inputs"]["discount_rate"]),
            Some("/inputs/discount_rate_range"),
            total,
            &groups,
            &pct2,
        ),
        line(
            "OAS",
            &|r| num(&r["inputs"]["oas"]),
            None,
            total,
            &groups,
            &pct2,
        ),
        line(
            "Cost to service, performing ($/loan/yr)",
            &|r| num(&r["inputs"]["cost_to_service_per_loan"]["performing"]),
            None,
            total,
            &groups,
            &dollars,
        ),
        line(
            "Cost to service, all, lifetime ($/loan/yr)",
            &|r| num(&r["inputs"]["cost_to_service_per_loan"]["all_lifetime"]),
            None,
            total,
            &groups,
            &dollars,
        ),
        line(
            "Delinquency 30+ now",
            &|r| num(&r["inputs"]["delinquency_30plus"]["now"]),
            None,
            total,
            &groups,
            &pct2,
        ),
        line(
            "Delinquency 30+ lifetime average",
            &|r| num(&r["inputs"]["delinquency_30plus"]["lifetime_average"]),
            Some("/inputs/delinquency_30plus/lifetime_average_range"),
            total,
            &groups,
            &pct2,
        ),
        line(
            "Float earnings (annual, of UPB)",
            &|r| num(&r["inputs"]["float_earnings"]["annual_rate_on_upb"]),
            None,
            total,
            &groups,
            &|x| fmt::pct(100.0 * x, 3),
        ),
        line(
            "Note rate",
            &|r| num(&r["inputs"]["note_rate"]["weighted_average"]),
            Some("/inputs/note_rate"),
            total,
            &groups,
            &|x| fmt::pct(100.0 * x, 3),
        ),
        line(
            "Servicing fee",
            &|r| num(&r["inputs"]["servicing_fee"]["weighted_average"]),
            Some("/inputs/servicing_fee"),
            total,
            &groups,
            &|x| fmt::pct(100.0 * x, 3),
        ),
    ];
    let sens: Vec<(String, f64)> = total["sensitivities"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| {
                    Some((
                        s["input"].as_str()?.to_string(),
                        s["adverse_change_pct"].as_f64()?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    for (input, pct) in sens {
        let label = format!("{}: {pct} % adverse change ($)", fmt::humanize(&input));
        let input2 = input.clone();
        let get = move |r: &Value| {
            r["sensitivities"].as_array()?.iter().find_map(|s| {
                (s["input"].as_str() == Some(input2.as_str())
                    && s["adverse_change_pct"].as_f64() == Some(pct))
                .then(|| s["change"].as_f64())
                .flatten()
            })
        };
        rows.push(line(&label, &get, None, total, &groups, &dollars));
    }
    let mut titles: Vec<String> = vec![
        String::new(),
        "Total".into(),
        "Range min".into(),
        "Range max".into(),
    ];
    titles.extend(
        groups
            .iter()
            .map(|g| g["group"].as_str().unwrap_or("?").to_string()),
    );
    let cols: Vec<Col<'_>> = titles
        .iter()
        .enumerate()
        .map(|(k, t)| Col(t.as_str(), k > 0))
        .collect();
    p.table("table-disclosure", &cols, rows, false);
    p.close_section();
}
