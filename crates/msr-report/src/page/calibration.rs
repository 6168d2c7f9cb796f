//! The calibration section: market against model swaption vols (`msr
//! calibrate rates`) and cohort targets against model values at the solved
//! spreads (`msr calibrate oas`), as their fit.json files give them.

use super::*;

pub(super) fn calibration_section(p: &mut Page, d: &ReportData) {
    p.open_section("calibration", "Calibration to the market");
    if let Some(r) = &d.rates_fit {
        p.h3("Hull–White to swaption normal volatilities");
        p.note(&format!(
            "a = {}{}, σ = {} ({} bp); rmse {} bp over {} at-the-money quotes. The monthly column is the engine's monthly model (short rate flat over each month) at the same parameters (docs/calibration-market.md).",
            fmt::number(r.a, 6),
            if r.fixed_a { " (fixed)" } else { "" },
            fmt::number(r.sigma, 6),
            fmt::number(1e4 * r.sigma, 2),
            fmt::number(r.rmse_bp, 3),
            r.quotes.len()
        ));
        let rows = r
            .quotes
            .iter()
            .map(|q| {
                vec![
                    Num(fmt::number(q.expiry_years, 2)),
                    Num(fmt::number(f64::from(q.tenor_years), 0)),
                    Num(fmt::number(q.market_bp, 2)),
                    Num(fmt::number(q.model_bp, 2)),
                    Num(fmt::number(q.model_bp - q.market_bp, 2)),
                    Num(fmt::opt(q.monthly_model_bp, |x| fmt::number(x, 2))),
                ]
            })
            .collect();
        p.table(
            "table-calibration-rates",
            &[
                Col("expiry (y)", true),
                Col("tenor (y)", true),
                Col("market (bp)", true),
                Col("model (bp)", true),
                Col("model − market", true),
                Col("monthly model (bp)", true),
            ],
            rows,
            false,
        );
    }
    if let Some(o) = &d.oas_fit {
        p.h3("OAS by cohort");
        let unit = if o.target_kind == "multiple" {
            "multiple"
        } else {
            "bp of UPB"
        };
        let solved = o.cohorts.iter().filter(|c| c.oas.is_some()).count();
        p.note(&format!(
            "{solved} of {} cohorts solved; targets and model values in {unit}.",
            o.cohorts.len()
        ));
        let rows = o
            .cohorts
            .iter()
            .map(|c| {
                let label = c
                    .cohort
                    .iter()
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                vec![
                    Text(label),
                    Num(fmt::count(c.loans)),
                    Num(fmt::dollars(c.upb)),
                    Num(fmt::number(c.target, 4)),
                    Num(fmt::opt(c.model, |x| fmt::number(x, 4))),
                    Num(fmt::opt(c.oas, |x| fmt::pct(100.0 * x, 4))),
                    Text(c.error.clone().unwrap_or_default()),
                ]
            })
            .collect();
        p.table(
            "table-calibration-oas",
            &[
                Col("cohort", false),
                Col("loans", true),
                Col("UPB", true),
                Col("target", true),
                Col("model", true),
                Col("OAS", true),
                Col("note", false),
            ],
            rows,
            false,
        );
    }
    p.close_section();
}
