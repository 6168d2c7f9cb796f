//! The golden cases of ../shared/spec/golden/: an independent implementation of
//! MODEL.md, matched to 1e-9 relative (absolute floor 1e-6 dollars).

use crate::common::loans_from;
use std::path::Path;

use msr_core::loan::Loan;
use msr_core::tolerance::{close, SPEC_ABS_DOLLARS, SPEC_REL};
use msr_core::Config;
use msr_engine::{
    expected_month, value_loans, Context, Detail, LoanResult, PortfolioAccum, Summary,
};
use msr_io::parquet_in::{read_table, Table};
use msr_model::{Market, ModelParams, MonthlyField, COMPONENTS};

fn value_on(
    loans: &[Loan],
    paths_file: &Path,
    antithetic: bool,
) -> (Vec<LoanResult>, PortfolioAccum) {
    let config = Config::default();
    let params = ModelParams::from_config(&config);
    let months = loans
        .iter()
        .map(|l| l.remaining_term as usize)
        .max()
        .unwrap();
    let paths = msr_io::path_file::read_path_file(paths_file, Some(months)).unwrap();
    let market = Market::new(&paths, &params, config.valuation.oas, months);
    let ctx = Context {
        params: &params,
        market: &market,
        config: &config,
        units: antithetic.into(),
        tangent: None,
    };
    value_loans(&ctx, loans, Detail::Full)
}

fn assert_close(what: &str, got: f64, want: f64) {
    assert!(
        close(got, want, SPEC_REL, SPEC_ABS_DOLLARS),
        "{what}: got {got:.12e}, want {want:.12e}, rel {:.3e}",
        (got - want).abs() / want.abs().max(1e-300)
    );
}

/// One `check(fixture, expected)` for every per-loan golden file.
fn check_loan_values(results: &[LoanResult], loans: &[Loan], expected: &Table) {
    let ids = expected.text("loan_id").unwrap();
    assert_eq!(ids.len(), loans.len());
    for (r, id) in ids.iter().enumerate() {
        let k = loans
            .iter()
            .position(|l| &l.loan_id == id)
            .expect("loan in tape");
        let (loan, res) = (&loans[k], &results[k]);
        let want = |c: &str| expected.numbers(c).unwrap()[r];
        assert_close(&format!("{id} upb"), loan.upb, want("upb").unwrap());
        assert_close(&format!("{id} value"), res.value, want("value").unwrap());
        assert_close(
            &format!("{id} value_bps"),
            1e4 * res.value / loan.upb,
            want("value_bps").unwrap(),
        );
        match want("multiple") {
            Some(m) => assert_close(
                &format!("{id} multiple"),
                res.value / (loan.servicing_fee * loan.upb),
                m,
            ),
            None => assert_eq!(loan.servicing_fee, 0.0),
        }
        match (want("std_error"), res.std_error) {
            (Some(w), Some(g)) => assert_close(&format!("{id} std_error"), g, w),
            (None, None) => {}
            (w, g) => panic!("{id} std_error: got {g:?}, want {w:?}"),
        }
        for (k, (_, name, _)) in COMPONENTS.iter().enumerate() {
            assert_close(
                &format!("{id} pv_{name}"),
                res.pv[k],
                want(&format!("pv_{name}")).unwrap(),
            );
        }
    }
}

#[test]
fn loans_60_on_paths_8() {
    let dir = msr_testkit::golden_dir();
    let loans = loans_from(&read_table(dir.join("loans_60.parquet")).unwrap());
    let (results, accum) = value_on(&loans, &dir.join("paths_8.parquet"), true);
    check_loan_values(
        &results,
        &loans,
        &read_table(dir.join("expected_loan_values_60x8.parquet")).unwrap(),
    );

    // Portfolio summary.
    let summary = Summary::from_accum(&accum, true);
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("expected_summary_60x8.json")).unwrap(),
    )
    .unwrap();
    assert_close(
        "portfolio value",
        summary.total.value,
        json["value"].as_f64().unwrap(),
    );
    assert_close(
        "portfolio upb",
        summary.total.upb,
        json["upb"].as_f64().unwrap(),
    );
    assert_close(
        "portfolio bps",
        summary.total.value_bps,
        json["value_bps"].as_f64().unwrap(),
    );
    assert_close(
        "portfolio std_error",
        summary.std_error.unwrap(),
        json["std_error"].as_f64().unwrap(),
    );
    for (name, v) in &summary.pv {
        assert_close(
            &format!("portfolio pv_{name}"),
            *v,
            json["pv"][name].as_f64().unwrap(),
        );
    }
    for (name, v) in summary.expected_events.as_ref().unwrap() {
        assert_close(
            &format!("events {name}"),
            *v,
            json["expected_events"][name].as_f64().unwrap(),
        );
    }

    // Expected monthly cash flows.
    let cfs = read_table(dir.join("expected_cashflows_60x8.parquet")).unwrap();
    let months = cfs.numbers("month").unwrap();
    assert_eq!(months.len(), accum.months);
    for (r, m) in months.iter().enumerate() {
        let t = m.unwrap() as usize;
        let got = expected_month(&accum, t);
        for (k, (_, name, _)) in COMPONENTS.iter().enumerate() {
            assert_close(
                &format!("month {t} {name}"),
                got[k],
                cfs.numbers(name).unwrap()[r].unwrap(),
            );
        }
        assert_close(
            &format!("month {t} net"),
            got[MonthlyField::Net as usize],
            cfs.numbers("net").unwrap()[r].unwrap(),
        );
        assert_close(
            &format!("month {t} pv_net"),
            got[MonthlyField::PvNet as usize],
            cfs.numbers("pv_net").unwrap()[r].unwrap(),
        );
    }
}

#[test]
fn loans_60_on_static_path() {
    let dir = msr_testkit::golden_dir();
    let loans = loans_from(&read_table(dir.join("loans_60.parquet")).unwrap());
    let (results, _) = value_on(&loans, &dir.join("static_path.parquet"), true);
    check_loan_values(
        &results,
        &loans,
        &read_table(dir.join("expected_loan_values_60_static.parquet")).unwrap(),
    );
}
