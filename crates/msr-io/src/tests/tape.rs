//! Tape reader: every §B rule, duplicates, nulls, optional columns, column
//! mapping, accepted and refused column types, file-level failures, row
//! groups and the golden tapes.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow_array::types::Int8Type;
use arrow_array::{
    ArrayRef, DictionaryArray, Float32Array, Float64Array, Int32Array, Int64Array,
    LargeStringArray, StringArray, StringViewArray,
};
use msr_core::config::Tape;
use msr_core::{DqState, Investor};

use super::{golden, one_line_naming, write_arrays};
use crate::{read_tape, write_tape, TapeReader, TapeWriteOptions};

/// One tape row with every value optional, so tests can plant nulls.
#[derive(Debug, Clone)]
struct Row {
    loan_id: Option<String>,
    upb: Option<f64>,
    note_rate: Option<f64>,
    servicing_fee: Option<f64>,
    remaining_term: Option<i64>,
    loan_age: Option<i64>,
    fico: Option<i64>,
    ltv: Option<f64>,
    investor: Option<String>,
    dq_status: Option<String>,
    property_state: Option<String>,
    escrow_monthly: Option<f64>,
    loan_count: Option<i64>,
    advance_balance: Option<f64>,
}

fn good_row(k: usize) -> Row {
    Row {
        loan_id: Some(format!("L{k:04}")),
        upb: Some(200_000.0 + k as f64),
        note_rate: Some(0.05),
        servicing_fee: Some(0.0025),
        remaining_term: Some(300),
        loan_age: Some(60),
        fico: Some(720),
        ltv: Some(75.5),
        investor: Some(["FNMA", "FHLMC", "GNMA", "PLS"][k % 4].into()),
        dq_status: Some("C".into()),
        property_state: Some("TX".into()),
        escrow_monthly: Some(350.0),
        loan_count: Some(1),
        advance_balance: Some(0.0),
    }
}

fn good_rows(n: usize) -> Vec<Row> {
    (0..n).map(good_row).collect()
}

fn texts(rows: &[Row], f: impl Fn(&Row) -> Option<String>) -> ArrayRef {
    Arc::new(StringArray::from(rows.iter().map(f).collect::<Vec<_>>()))
}

fn floats(rows: &[Row], f: impl Fn(&Row) -> Option<f64>) -> ArrayRef {
    Arc::new(Float64Array::from(rows.iter().map(f).collect::<Vec<_>>()))
}

fn ints(rows: &[Row], f: impl Fn(&Row) -> Option<i64>) -> ArrayRef {
    Arc::new(Int32Array::from(
        rows.iter()
            .map(|r| f(r).map(|x| x as i32))
            .collect::<Vec<_>>(),
    ))
}

fn int64s(rows: &[Row], f: impl Fn(&Row) -> Option<i64>) -> ArrayRef {
    Arc::new(Int64Array::from(rows.iter().map(f).collect::<Vec<_>>()))
}

/// The §B columns of `rows` as arrays, in order.
fn columns(rows: &[Row]) -> Vec<(&'static str, ArrayRef)> {
    vec![
        ("loan_id", texts(rows, |r| r.loan_id.clone())),
        ("upb", floats(rows, |r| r.upb)),
        ("note_rate", floats(rows, |r| r.note_rate)),
        ("servicing_fee", floats(rows, |r| r.servicing_fee)),
        ("remaining_term", ints(rows, |r| r.remaining_term)),
        ("loan_age", ints(rows, |r| r.loan_age)),
        ("fico", ints(rows, |r| r.fico)),
        ("ltv", floats(rows, |r| r.ltv)),
        ("investor", texts(rows, |r| r.investor.clone())),
        ("dq_status", texts(rows, |r| r.dq_status.clone())),
        ("property_state", texts(rows, |r| r.property_state.clone())),
        ("escrow_monthly", floats(rows, |r| r.escrow_monthly)),
        ("loan_count", ints(rows, |r| r.loan_count)),
        ("advance_balance", floats(rows, |r| r.advance_balance)),
    ]
}

fn write_rows(path: &Path, rows: &[Row]) {
    write_arrays(path, columns(rows), 1 << 20);
}

/// Five good rows with row 2 changed by `bad`: row 2 must be the only
/// reject, on `column`, with a rule containing `rule`; the rest are kept.
fn check(name: &str, bad: impl Fn(&mut Row), column: &str, rule: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tape.parquet");
    let mut rows = good_rows(5);
    bad(&mut rows[2]);
    write_rows(&path, &rows);
    let (loans, rejects, stats) = read_tape(&path, &Tape::default()).unwrap();
    assert_eq!(rejects.len(), 1, "{name}: {rejects:?}");
    let r = &rejects[0];
    assert_eq!(r.row, 2, "{name}");
    assert_eq!(r.column, column, "{name}: {r:?}");
    assert!(
        r.rule.contains(rule),
        "{name}: rule `{}` lacks `{rule}`",
        r.rule
    );
    assert_eq!(
        r.loan_id,
        rows[2].loan_id.clone().unwrap_or_default(),
        "{name}"
    );
    assert_eq!(loans.len(), 4, "{name}");
    assert!(loans
        .iter()
        .all(|l| l.loan_id != "L0002" || rows[2].loan_id.as_deref() != Some("L0002")));
    assert_eq!(
        (stats.rows_read, stats.valid, stats.rejected),
        (5, 4, 1),
        "{name}"
    );
}

/// Five good rows with row 2 changed by `edit`: all five must be kept.
fn accept(name: &str, edit: impl Fn(&mut Row)) -> msr_core::Loan {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tape.parquet");
    let mut rows = good_rows(5);
    edit(&mut rows[2]);
    write_rows(&path, &rows);
    let (loans, rejects, _) = read_tape(&path, &Tape::default()).unwrap();
    assert!(rejects.is_empty(), "{name}: {rejects:?}");
    assert_eq!(loans.len(), 5, "{name}");
    loans[2].clone()
}

const NULL: &str = "must not be null";

#[test]
fn every_rule_rejects_its_row_and_keeps_the_rest() {
    let nan = f64::NAN;
    let inf = f64::INFINITY;
    check("null id", |r| r.loan_id = None, "loan_id", NULL);
    check(
        "empty id",
        |r| r.loan_id = Some(String::new()),
        "loan_id",
        "non-empty",
    );
    let upb_rule = "[0.01, 1e10]";
    check("upb 0", |r| r.upb = Some(0.0), "upb", upb_rule);
    check("upb negative", |r| r.upb = Some(-5.0), "upb", upb_rule);
    check("upb NaN", |r| r.upb = Some(nan), "upb", upb_rule);
    check("upb inf", |r| r.upb = Some(inf), "upb", upb_rule);
    check("upb subnormal", |r| r.upb = Some(5e-324), "upb", upb_rule);
    check("upb below a cent", |r| r.upb = Some(0.009), "upb", upb_rule);
    check(
        "upb above 1e10",
        |r| r.upb = Some(1.000_000_1e10),
        "upb",
        upb_rule,
    );
    check(
        "servicing_fee subnormal",
        |r| r.servicing_fee = Some(1e-310),
        "servicing_fee",
        "must be 0 or in [1e-6, note_rate]",
    );
    check("upb null", |r| r.upb = None, "upb", NULL);
    check(
        "note_rate negative",
        |r| r.note_rate = Some(-0.001),
        "note_rate",
        "[0, 0.25)",
    );
    check(
        "note_rate 0.25",
        |r| r.note_rate = Some(0.25),
        "note_rate",
        "[0, 0.25)",
    );
    check(
        "note_rate NaN",
        |r| r.note_rate = Some(nan),
        "note_rate",
        "[0, 0.25)",
    );
    check(
        "note_rate -inf",
        |r| r.note_rate = Some(-inf),
        "note_rate",
        "[0, 0.25)",
    );
    check("note_rate null", |r| r.note_rate = None, "note_rate", NULL);
    check(
        "fee negative",
        |r| r.servicing_fee = Some(-0.0001),
        "servicing_fee",
        "note_rate",
    );
    check(
        "fee above rate",
        |r| r.servicing_fee = Some(0.0501),
        "servicing_fee",
        "note_rate",
    );
    check(
        "fee NaN",
        |r| r.servicing_fee = Some(nan),
        "servicing_fee",
        "note_rate",
    );
    check(
        "fee null",
        |r| r.servicing_fee = None,
        "servicing_fee",
        NULL,
    );
    check(
        "term 0",
        |r| r.remaining_term = Some(0),
        "remaining_term",
        "1..=480",
    );
    check(
        "term 481",
        |r| r.remaining_term = Some(481),
        "remaining_term",
        "1..=480",
    );
    check(
        "term negative",
        |r| r.remaining_term = Some(-1),
        "remaining_term",
        "1..=480",
    );
    check(
        "term null",
        |r| r.remaining_term = None,
        "remaining_term",
        NULL,
    );
    check(
        "age negative",
        |r| r.loan_age = Some(-1),
        "loan_age",
        "0..=600",
    );
    check("age 601", |r| r.loan_age = Some(601), "loan_age", "0..=600");
    check("age null", |r| r.loan_age = None, "loan_age", NULL);
    check("fico 299", |r| r.fico = Some(299), "fico", "300..=850");
    check("fico 851", |r| r.fico = Some(851), "fico", "300..=850");
    check("fico null", |r| r.fico = None, "fico", NULL);
    check("ltv 0", |r| r.ltv = Some(0.0), "ltv", "(0, 300]");
    check("ltv above 300", |r| r.ltv = Some(300.01), "ltv", "(0, 300]");
    check("ltv inf", |r| r.ltv = Some(inf), "ltv", "(0, 300]");
    check("ltv null", |r| r.ltv = None, "ltv", NULL);
    check(
        "investor lower case",
        |r| r.investor = Some("fnma".into()),
        "investor",
        "FNMA, FHLMC",
    );
    check(
        "investor unknown",
        |r| r.investor = Some("VA".into()),
        "investor",
        "FNMA, FHLMC",
    );
    check("investor null", |r| r.investor = None, "investor", NULL);
    check(
        "dq unknown",
        |r| r.dq_status = Some("D150".into()),
        "dq_status",
        "C, D30",
    );
    check("dq null", |r| r.dq_status = None, "dq_status", NULL);
    check(
        "state lower",
        |r| r.property_state = Some("Tx".into()),
        "property_state",
        "2 upper-case",
    );
    check(
        "state long",
        |r| r.property_state = Some("TEX".into()),
        "property_state",
        "2 upper-case",
    );
    check(
        "state digit",
        |r| r.property_state = Some("T1".into()),
        "property_state",
        "2 upper-case",
    );
    check(
        "state empty",
        |r| r.property_state = Some(String::new()),
        "property_state",
        "2 upper-case",
    );
    check(
        "state null",
        |r| r.property_state = None,
        "property_state",
        NULL,
    );
    check(
        "escrow negative",
        |r| r.escrow_monthly = Some(-0.01),
        "escrow_monthly",
        ">= 0",
    );
    check(
        "escrow NaN",
        |r| r.escrow_monthly = Some(nan),
        "escrow_monthly",
        ">= 0",
    );
    check(
        "escrow inf",
        |r| r.escrow_monthly = Some(inf),
        "escrow_monthly",
        ">= 0",
    );
    check("count 0", |r| r.loan_count = Some(0), "loan_count", ">= 1");
    check(
        "count negative",
        |r| r.loan_count = Some(-2),
        "loan_count",
        ">= 1",
    );
    check(
        "advance negative",
        |r| r.advance_balance = Some(-1.0),
        "advance_balance",
        ">= 0",
    );
    check(
        "advance NaN",
        |r| r.advance_balance = Some(nan),
        "advance_balance",
        ">= 0",
    );
    check(
        "advance on a current loan",
        |r| r.advance_balance = Some(100.0),
        "advance_balance",
        "0 when dq_status is C",
    );
}

#[test]
fn reject_records_the_value_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tape.parquet");
    let mut rows = good_rows(3);
    rows[1].fico = Some(900);
    rows[2].upb = Some(f64::NAN);
    write_rows(&path, &rows);
    let (_, rejects, _) = read_tape(&path, &Tape::default()).unwrap();
    assert_eq!(rejects[0].value, "900");
    assert_eq!(rejects[0].loan_id, "L0001");
    assert_eq!(rejects[1].value, "NaN");
}

#[test]
fn first_broken_rule_in_column_order_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tape.parquet");
    let mut rows = good_rows(2);
    rows[1].upb = Some(-1.0);
    rows[1].fico = Some(10);
    write_rows(&path, &rows);
    let (_, rejects, _) = read_tape(&path, &Tape::default()).unwrap();
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0].column, "upb");
}

#[test]
fn boundary_values_are_accepted() {
    accept("note_rate 0 and fee 0", |r| {
        r.note_rate = Some(0.0);
        r.servicing_fee = Some(0.0);
    });
    accept("fee equal to rate", |r| r.servicing_fee = r.note_rate);
    accept("term 1", |r| r.remaining_term = Some(1));
    accept("term 480", |r| r.remaining_term = Some(480));
    accept("age 0", |r| r.loan_age = Some(0));
    accept("age 600", |r| r.loan_age = Some(600));
    accept("fico 300", |r| r.fico = Some(300));
    accept("fico 850", |r| r.fico = Some(850));
    accept("ltv 300", |r| r.ltv = Some(300.0));
    accept("tiny ltv", |r| r.ltv = Some(1e-9));
    accept("escrow 0", |r| r.escrow_monthly = Some(0.0));
    let l = accept("delinquent with advances", |r| {
        r.dq_status = Some("FC".into());
        r.advance_balance = Some(5_000.0);
    });
    assert_eq!(l.dq_status, DqState::Fc);
    assert_eq!(l.advance_balance, 5_000.0);
    let l = accept("group record", |r| r.loan_count = Some(12));
    assert_eq!(l.loan_count, 12);
}

#[test]
fn nulls_in_optional_columns_take_the_defaults() {
    let l = accept("optional nulls", |r| {
        r.escrow_monthly = None;
        r.loan_count = None;
        r.advance_balance = None;
    });
    assert_eq!(
        (l.escrow_monthly, l.loan_count, l.advance_balance),
        (0.0, 1, 0.0)
    );
}

#[test]
fn absent_optional_columns_take_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tape.parquet");
    let rows = good_rows(4);
    let cols: Vec<_> = columns(&rows).into_iter().take(11).collect();
    write_arrays(&path, cols, 1 << 20);
    let reader = TapeReader::open(&path, &Tape::default()).unwrap();
    assert_eq!(
        reader.absent_optional_columns(),
        ["escrow_monthly", "loan_count", "advance_balance"]
    );
    let (loans, rejects, _) = read_tape(&path, &Tape::default()).unwrap();
    assert!(rejects.is_empty());
    assert!(loans
        .iter()
        .all(|l| l.escrow_monthly == 0.0 && l.loan_count == 1 && l.advance_balance == 0.0));
}

#[test]
fn values_are_read_exactly() {
    let l = accept("exact", |r| {
        r.upb = Some(123_456.78);
        r.investor = Some("GNMA".into());
        r.dq_status = Some("D60".into());
        r.property_state = Some("NY".into());
        r.advance_balance = Some(1_234.5);
    });
    assert_eq!(l.loan_id, "L0002");
    assert_eq!(l.upb, 123_456.78);
    assert_eq!(l.investor, Investor::Gnma);
    assert_eq!(l.dq_status, DqState::D60);
    assert_eq!(l.state_code(), "NY");
    assert_eq!((l.remaining_term, l.loan_age, l.fico), (300, 60, 720));
    assert_eq!((l.note_rate, l.servicing_fee, l.ltv), (0.05, 0.0025, 75.5));
    assert_eq!(l.escrow_monthly, 350.0);
}

#[test]
fn a_duplicated_loan_id_rejects_every_copy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tape.parquet");
    let mut rows = good_rows(8);
    rows[5].loan_id = Some("L0001".into());
    rows[3].loan_id = Some("L0000".into());
    rows[7].loan_id = Some("L0000".into());
    // Empty ids are rejected as empty, not as duplicates of each other.
    rows[4].loan_id = Some(String::new());
    rows[6].loan_id = Some(String::new());
    write_rows(&path, &rows);
    let (loans, rejects, stats) = read_tape(&path, &Tape::default()).unwrap();
    let rejected: Vec<u64> = rejects.iter().map(|r| r.row).collect();
    assert_eq!(rejected, [0, 1, 3, 4, 5, 6, 7]);
    for r in &rejects {
        let expect = match r.loan_id.as_str() {
            "L0000" => "loan_id appears 3 times",
            "L0001" => "loan_id appears 2 times",
            _ => "non-empty",
        };
        assert!(r.rule.contains(expect), "{r:?}");
        assert_eq!(r.column, "loan_id");
    }
    assert_eq!(loans.len(), 1);
    assert_eq!(loans[0].loan_id, "L0002");
    assert_eq!(stats.rows_read, 8);
}

#[test]
fn column_mapping_renames_the_tape_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tape.parquet");
    let mut rows = good_rows(3);
    rows[1].upb = Some(-3.0);
    let cols: Vec<_> = columns(&rows)
        .into_iter()
        .map(|(name, a)| match name {
            "loan_id" => ("LoanNumber", a),
            "upb" => ("CurrentUPB", a),
            "loan_count" => ("Units", a),
            other => (other, a),
        })
        .chain([(
            "servicer_note",
            Arc::new(StringArray::from(vec!["x", "y", "z"])) as ArrayRef,
        )])
        .collect();
    write_arrays(&path, cols, 1 << 20);
    let tape = Tape {
        columns: BTreeMap::from([
            ("loan_id".to_string(), "LoanNumber".to_string()),
            ("upb".to_string(), "CurrentUPB".to_string()),
            ("loan_count".to_string(), "Units".to_string()),
        ]),
        ..Tape::default()
    };
    let (loans, rejects, _) = read_tape(&path, &tape).unwrap();
    assert_eq!(loans.len(), 2);
    assert_eq!(loans[0].loan_count, 1);
    assert_eq!(loans[0].loan_id, "L0000");
    assert_eq!(loans[1].upb, 200_002.0);
    assert_eq!(rejects[0].column, "CurrentUPB");

    // Without the mapping, the tape lacks `loan_id`.
    let e = read_tape(&path, &Tape::default()).unwrap_err();
    let msg = one_line_naming(&e, &path);
    assert!(msg.contains("missing required column `loan_id`"), "{msg}");

    // A mapping to a column the tape does not have names both names.
    let mut tape = tape;
    tape.columns
        .insert("fico".to_string(), "FICO_SCORE".to_string());
    let e = read_tape(&path, &tape).unwrap_err();
    let msg = one_line_naming(&e, &path);
    assert!(
        msg.contains("`FICO_SCORE`") && msg.contains("`fico`"),
        "{msg}"
    );
}

#[test]
fn a_missing_required_column_fails_the_file() {
    for missing in ["loan_id", "fico", "property_state", "ltv"] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tape.parquet");
        let cols: Vec<_> = columns(&good_rows(3))
            .into_iter()
            .filter(|(n, _)| *n != missing)
            .collect();
        write_arrays(&path, cols, 1 << 20);
        let e = TapeReader::open(&path, &Tape::default()).unwrap_err();
        let msg = one_line_naming(&e, &path);
        assert!(
            msg.contains(&format!("missing required column `{missing}`")),
            "{msg}"
        );
    }
}

#[test]
fn a_column_of_the_wrong_type_fails_the_file() {
    let rows = good_rows(3);
    let cases: Vec<(&str, ArrayRef, &str)> = vec![
        ("fico", texts(&rows, |_| Some("720".into())), "Utf8"),
        ("upb", int64s(&rows, |_| Some(200_000)), "Int64"),
        ("remaining_term", floats(&rows, |_| Some(300.0)), "Float64"),
        ("loan_id", int64s(&rows, |_| Some(1)), "Int64"),
        ("escrow_monthly", texts(&rows, |_| Some("0".into())), "Utf8"),
    ];
    for (column, array, found) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tape.parquet");
        let cols: Vec<_> = columns(&rows)
            .into_iter()
            .map(|(n, a)| {
                if n == column {
                    (n, array.clone())
                } else {
                    (n, a)
                }
            })
            .collect();
        write_arrays(&path, cols, 1 << 20);
        let e = TapeReader::open(&path, &Tape::default()).unwrap_err();
        let msg = one_line_naming(&e, &path);
        assert!(
            msg.contains(&format!("column `{column}` has type {found}")),
            "{msg}"
        );
    }
}

#[test]
fn other_physical_types_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tape.parquet");
    let mut rows = good_rows(4);
    rows[3].property_state = None;
    let cols: Vec<_> = columns(&rows)
        .into_iter()
        .map(|(name, a)| -> (&str, ArrayRef) {
            match name {
                "loan_id" => (
                    name,
                    Arc::new(LargeStringArray::from(vec!["a", "b", "c", "d"])),
                ),
                "investor" => (
                    name,
                    Arc::new(StringViewArray::from(vec!["FNMA", "GNMA", "PLS", "FHLMC"])),
                ),
                "property_state" => (
                    name,
                    Arc::new(
                        vec![Some("CA"), Some("NY"), Some("CA"), None]
                            .into_iter()
                            .collect::<DictionaryArray<Int8Type>>(),
                    ),
                ),
                "upb" => (
                    name,
                    Arc::new(Float32Array::from(vec![1.5f32, 2.5, 3.5, 4.5])),
                ),
                "fico" => (name, int64s(&rows, |r| r.fico)),
                _ => (name, a),
            }
        })
        .collect();
    write_arrays(&path, cols, 1 << 20);
    let (loans, rejects, _) = read_tape(&path, &Tape::default()).unwrap();
    assert_eq!(loans.len(), 3, "{rejects:?}");
    assert_eq!(loans[1].loan_id, "b");
    assert_eq!(loans[1].investor, Investor::Gnma);
    assert_eq!(loans[1].state_code(), "NY");
    assert_eq!(loans[2].upb, 3.5);
    assert_eq!(rejects.len(), 1);
    assert_eq!(
        (rejects[0].row, rejects[0].column.as_str()),
        (3, "property_state")
    );
}

#[test]
fn files_that_are_not_tapes_give_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let tape = Tape::default();

    let empty = dir.path().join("empty.parquet");
    std::fs::write(&empty, b"").unwrap();
    let msg = one_line_naming(&TapeReader::open(&empty, &tape).unwrap_err(), &empty);
    assert!(
        msg.contains("not a Parquet file") && msg.contains("empty"),
        "{msg}"
    );

    let csv = dir.path().join("loans.parquet");
    std::fs::write(&csv, "loan_id,upb\nL1,100000\n").unwrap();
    let msg = one_line_naming(&TapeReader::open(&csv, &tape).unwrap_err(), &csv);
    assert!(msg.contains("not a Parquet file (no PAR1 magic"), "{msg}");

    let binary = dir.path().join("binary.parquet");
    std::fs::write(&binary, [0u8, 159, 146, 150, 1, 2, 3]).unwrap();
    let msg = one_line_naming(&TapeReader::open(&binary, &tape).unwrap_err(), &binary);
    assert!(msg.contains("no PAR1 magic"), "{msg}");

    let good = dir.path().join("good.parquet");
    write_rows(&good, &good_rows(50));
    let bytes = std::fs::read(&good).unwrap();
    for cut in [bytes.len() / 2, 4, 9, bytes.len() - 1] {
        let truncated = dir.path().join("truncated.parquet");
        std::fs::write(&truncated, &bytes[..cut]).unwrap();
        let msg = one_line_naming(
            &TapeReader::open(&truncated, &tape).unwrap_err(),
            &truncated,
        );
        assert!(msg.contains("truncated"), "{cut}: {msg}");
    }

    let missing = dir.path().join("nowhere.parquet");
    let msg = one_line_naming(&TapeReader::open(&missing, &tape).unwrap_err(), &missing);
    assert!(msg.contains("cannot open"), "{msg}");

    let msg = one_line_naming(
        &TapeReader::open(dir.path(), &tape).unwrap_err(),
        dir.path(),
    );
    assert!(msg.contains("directory"), "{msg}");
}

#[test]
fn damaged_bytes_never_panic() {
    use rand::{Rng, SeedableRng};
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.parquet");
    write_arrays(&good, columns(&good_rows(300)), 100);
    let bytes = std::fs::read(&good).unwrap();
    let bad = dir.path().join("bad.parquet");
    // Overwrite a few random bytes, half of the time in the footer: every
    // outcome is fine (loans, rejects or a one-line error) except a panic.
    // (parquet 60 panics on some of these; `guarded` contains it.)
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    for _ in 0..600 {
        let mut damaged = bytes.clone();
        for _ in 0..rng.random_range(1..6) {
            let from = if rng.random_bool(0.5) {
                0
            } else {
                damaged.len() - 600
            };
            let pos = rng.random_range(from..damaged.len());
            damaged[pos] = rng.random();
        }
        std::fs::write(&bad, &damaged).unwrap();
        if let Err(e) = read_tape(&bad, &Tape::default()) {
            one_line_naming(&e, &bad);
        }
    }
}

#[test]
fn a_tape_with_no_rows_is_valid_and_empty() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tape.parquet");
    write_rows(&path, &[]);
    let mut reader = TapeReader::open(&path, &Tape::default()).unwrap();
    assert_eq!(reader.num_rows(), 0);
    assert!(reader.next_batch().unwrap().is_none());
    let path2 = dir.path().join("tape2.parquet");
    write_tape(&path2, &[], TapeWriteOptions::default()).unwrap();
    let (loans, rejects, stats) = read_tape(&path2, &Tape::default()).unwrap();
    assert!(loans.is_empty() && rejects.is_empty());
    assert_eq!(stats.rows_read, 0);
}

#[test]
fn row_groups_can_be_read_alone_with_file_row_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tape.parquet");
    let mut rows = good_rows(10);
    rows[1].loan_id = Some("L0009".into()); // duplicate of row 9, in another group
    rows[7].fico = Some(100);
    write_arrays(&path, columns(&rows), 3);
    let tape = Tape::default();

    let reader = TapeReader::open(&path, &tape).unwrap();
    assert_eq!(reader.num_row_groups(), 4);
    assert_eq!(reader.row_group_rows(), [3, 3, 3, 1]);
    assert_eq!(reader.num_rows(), 10);

    // Groups 2 and 0, given out of order and repeated: read in file order.
    let mut reader = TapeReader::open_row_groups(&path, &tape, &[2, 0, 2]).unwrap();
    assert_eq!(reader.selected_rows(), 6);
    let mut rows_seen = Vec::new();
    let mut rejects = Vec::new();
    for batch in reader.by_ref() {
        let batch = batch.unwrap();
        rows_seen.extend(batch.rows);
        rejects.extend(batch.rejects);
    }
    assert_eq!(rows_seen, [0, 2, 6, 8]);
    let r: Vec<(u64, &str)> = rejects.iter().map(|r| (r.row, r.column.as_str())).collect();
    assert_eq!(r, [(1, "loan_id"), (7, "fico")]);
    assert_eq!(reader.stats().rows_read, 6);

    // The last group alone still sees the duplicate in group 0.
    let mut reader = TapeReader::open_row_groups(&path, &tape, &[3]).unwrap();
    let batch = reader.next_batch().unwrap().unwrap();
    assert!(batch.loans.is_empty());
    assert_eq!(batch.rejects[0].row, 9);
    assert!(batch.rejects[0].rule.contains("appears 2 times"));
    assert!(reader.next_batch().unwrap().is_none());

    let none = TapeReader::open_row_groups(&path, &tape, &[]).unwrap();
    assert_eq!(none.count(), 0);

    let e = TapeReader::open_row_groups(&path, &tape, &[1, 4]).unwrap_err();
    let msg = one_line_naming(&e, &path);
    assert!(
        msg.contains("row group 4") && msg.contains("4 row groups"),
        "{msg}"
    );
}

#[test]
fn batches_spanning_row_groups_keep_row_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.parquet");
    let loans = crate::generate_book(70_000, 7);
    crate::write_book(&path, &loans, 30_000).unwrap();
    let mut reader = TapeReader::open_row_groups(&path, &Tape::default(), &[1, 2]).unwrap();
    let mut rows = Vec::new();
    let mut read = Vec::new();
    while let Some(batch) = reader.next_batch().unwrap() {
        assert!(batch.rejects.is_empty());
        rows.extend(batch.rows);
        read.extend(batch.loans);
    }
    assert_eq!(rows, (30_000..70_000).collect::<Vec<u64>>());
    assert!(read == loans[30_000..]);
}

#[test]
fn golden_tapes_read_clean() {
    for (name, n) in [("loans_60.parquet", 60), ("loans_200.parquet", 200)] {
        let (loans, rejects, stats) = read_tape(golden(name), &Tape::default()).unwrap();
        assert_eq!(loans.len(), n, "{name}");
        assert!(rejects.is_empty(), "{name}: {rejects:?}");
        assert_eq!(
            (stats.rows_read, stats.valid, stats.rejected),
            (n as u64, n as u64, 0)
        );
    }
    let (loans, _, _) = read_tape(golden("loans_60.parquet"), &Tape::default()).unwrap();
    let first = &loans[0];
    assert_eq!(first.loan_id, "L00101-0000000");
    assert_eq!(first.upb, 148_858.56);
    assert_eq!(first.investor, Investor::Pls);
    assert_eq!(first.state_code(), "GA");
    assert!(loans.iter().any(|l| l.loan_count == 10));
    assert!(loans.iter().any(|l| l.advance_balance > 0.0));
}

#[test]
fn written_loans_read_back_identical() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tape.parquet");
    let (golden_loans, _, _) = read_tape(golden("loans_60.parquet"), &Tape::default()).unwrap();
    write_tape(
        &path,
        &golden_loans,
        TapeWriteOptions {
            max_row_group_rows: 7,
        },
    )
    .unwrap();
    let reader = TapeReader::open(&path, &Tape::default()).unwrap();
    assert_eq!(reader.num_row_groups(), 9);
    let (back, rejects, _) = read_tape(&path, &Tape::default()).unwrap();
    assert!(rejects.is_empty());
    assert!(back == golden_loans);
}

/// Read a whole tape with an extra column: loans and their extra values.
fn read_extra(
    path: &Path,
    tape: &Tape,
    options: &crate::tape::TapeOptions,
) -> Result<(Vec<msr_core::Loan>, Vec<crate::tape::ExtraValue>), crate::IoError> {
    let mut reader = TapeReader::open_with(path, tape, options)?;
    let (mut loans, mut extra) = (Vec::new(), Vec::new());
    while let Some(batch) = reader.next_batch()? {
        let expected = if options.extra_column.is_some() {
            batch.loans.len()
        } else {
            0
        };
        assert_eq!(batch.extra.len(), expected);
        loans.extend(batch.loans);
        extra.extend(batch.extra);
    }
    Ok((loans, extra))
}

fn extra_column(name: &str) -> crate::tape::TapeOptions {
    crate::tape::TapeOptions {
        extra_column: Some(name.to_string()),
        ..Default::default()
    }
}

#[test]
fn an_extra_column_is_carried_to_each_loan_nulls_included() {
    use crate::tape::ExtraValue::{Int, Null, Text};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tape.parquet");
    let mut rows = good_rows(6);
    rows[2].upb = Some(-1.0); // rejected: its values are skipped
    let cols: Vec<(&str, ArrayRef)> = columns(&rows)
        .into_iter()
        .chain([
            (
                "pool_id",
                Arc::new(StringArray::from(vec![
                    Some("P2"),
                    None,
                    Some("P1"),
                    Some(""),
                    Some("P2"),
                    Some("P1"),
                ])) as ArrayRef,
            ),
            (
                "facility",
                Arc::new(Int64Array::from(vec![
                    Some(10),
                    Some(9),
                    None,
                    Some(-3),
                    None,
                    Some(9),
                ])),
            ),
            (
                "custodian",
                Arc::new(
                    vec![
                        Some("BNY"),
                        Some("USB"),
                        Some("BNY"),
                        None,
                        Some("USB"),
                        None,
                    ]
                    .into_iter()
                    .collect::<DictionaryArray<Int8Type>>(),
                ),
            ),
            (
                "coupon",
                Arc::new(Float64Array::from(vec![0.05; 6])) as ArrayRef,
            ),
        ])
        .collect();
    write_arrays(&path, cols, 2);
    let tape = Tape::default();

    let (loans, pools) = read_extra(&path, &tape, &extra_column("pool_id")).unwrap();
    let ids: Vec<&str> = loans.iter().map(|l| l.loan_id.as_str()).collect();
    assert_eq!(ids, ["L0000", "L0001", "L0003", "L0004", "L0005"]);
    assert_eq!(
        pools,
        [
            Text("P2".into()),
            Null,
            Text(String::new()),
            Text("P2".into()),
            Text("P1".into())
        ]
    );
    let (_, facilities) = read_extra(&path, &tape, &extra_column("facility")).unwrap();
    assert_eq!(facilities, [Int(10), Int(9), Int(-3), Null, Int(9)]);
    let (_, custodians) = read_extra(&path, &tape, &extra_column("custodian")).unwrap();
    assert_eq!(
        custodians,
        [
            Text("BNY".into()),
            Text("USB".into()),
            Null,
            Text("USB".into()),
            Null
        ]
    );

    // Labels, and the order groups are listed in: integers numerically, null last.
    let mut sorted = facilities.clone();
    sorted.sort();
    assert_eq!(sorted, [Int(-3), Int(9), Int(9), Int(10), Null]);
    let labels: Vec<String> = sorted.iter().map(|v| v.label().into_owned()).collect();
    assert_eq!(labels, ["-3", "9", "9", "10", "(null)"]);
    assert_eq!(Null.to_string(), crate::tape::ExtraValue::NULL_LABEL);

    // The model's columns can be grouped by too (here a mapped one, found
    // under its mapped name), and nothing else changes for the loans.
    let (plain, none) = read_extra(&path, &tape, &Default::default()).unwrap();
    assert!(none.is_empty());
    assert_eq!(plain, loans);
    let (_, states) = read_extra(&path, &tape, &extra_column("property_state")).unwrap();
    assert!(states.iter().all(|s| *s == Text("TX".into())));

    // A missing column names itself and the file; a float column is refused.
    let e = read_extra(&path, &tape, &extra_column("pool")).unwrap_err();
    let msg = one_line_naming(&e, &path);
    assert!(msg.contains("missing required column `pool`"), "{msg}");
    let e = read_extra(&path, &tape, &extra_column("coupon")).unwrap_err();
    let msg = one_line_naming(&e, &path);
    assert!(
        msg.contains("`coupon`") && msg.contains("a string or an integer"),
        "{msg}"
    );
}

#[test]
fn an_extra_column_follows_the_column_mapping_and_row_groups() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tape.parquet");
    let rows = good_rows(5);
    let cols: Vec<(&str, ArrayRef)> = columns(&rows)
        .into_iter()
        .map(|(name, a)| match name {
            "investor" => ("Agency", a),
            other => (other, a),
        })
        .chain([(
            "pool_id",
            Arc::new(Int32Array::from(vec![1, 2, 3, 4, 5])) as ArrayRef,
        )])
        .collect();
    write_arrays(&path, cols, 2);
    let tape = Tape {
        columns: BTreeMap::from([("investor".to_string(), "Agency".to_string())]),
        ..Tape::default()
    };
    let (_, agencies) = read_extra(&path, &tape, &extra_column("investor")).unwrap();
    let codes: Vec<String> = agencies.iter().map(|v| v.to_string()).collect();
    assert_eq!(codes, ["FNMA", "FHLMC", "GNMA", "PLS", "FNMA"]);
    let options = crate::tape::TapeOptions {
        row_groups: Some(vec![2, 1]),
        extra_column: Some("pool_id".into()),
    };
    let (loans, pools) = read_extra(&path, &tape, &options).unwrap();
    assert_eq!(loans.len(), 3);
    assert_eq!(
        pools,
        [3, 4, 5].map(crate::tape::ExtraValue::Int).to_vec(),
        "row groups 1 and 2 hold rows 2..5"
    );
}

#[test]
fn a_tape_with_a_duplicated_column_name_is_refused() {
    // Two `fico` columns, the second with other values: the reader used to
    // take the first, silently. Also a duplicated extra column and a
    // duplicated `loan_id` with equal values: refused all the same.
    let rows = good_rows(3);
    let cases: Vec<(&str, ArrayRef)> = vec![
        ("fico", ints(&rows, |_| Some(400))),
        ("loan_id", texts(&rows, |r| r.loan_id.clone())),
        ("comment", texts(&rows, |_| Some("x".into()))),
    ];
    for (column, array) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tape.parquet");
        let mut cols = columns(&rows);
        if column == "comment" {
            cols.push(("comment", array.clone()));
        }
        cols.push((column, array));
        let at: Vec<String> = cols
            .iter()
            .enumerate()
            .filter(|(_, (n, _))| *n == column)
            .map(|(k, _)| (k + 1).to_string())
            .collect();
        write_arrays(&path, cols, 1 << 20);
        let e = TapeReader::open(&path, &Tape::default()).unwrap_err();
        let msg = one_line_naming(&e, &path);
        assert!(
            msg.contains(&format!(
                "column `{column}` appears 2 times (at positions {})",
                at.join(", ")
            )),
            "{msg}"
        );
        // Every other reader of Parquet inputs refuses it too.
        let e = crate::read_table(&path).unwrap_err();
        assert!(e.to_string().contains("appears 2 times"), "{e}");
    }
}

/// A text column whose row `bad` holds bytes that are not UTF-8 (as a
/// foreign writer may produce): built without validation.
#[allow(unsafe_code)]
fn invalid_utf8_texts(values: &[&str], bad: usize) -> ArrayRef {
    let mut bytes: Vec<u8> = Vec::new();
    let mut offsets: Vec<i32> = vec![0];
    for (k, v) in values.iter().enumerate() {
        if k == bad {
            bytes.extend_from_slice(&[b'L', 0xff, 0xfe, b'9']);
        } else {
            bytes.extend_from_slice(v.as_bytes());
        }
        offsets.push(bytes.len() as i32);
    }
    let offsets = arrow_buffer::OffsetBuffer::new(arrow_buffer::ScalarBuffer::from(offsets));
    // SAFETY: the offsets are monotone and within `bytes`; the one value
    // that is not UTF-8 is the point of the test, and only the Parquet
    // writer (which copies bytes) and the reader under test see it.
    let array = unsafe { arrow_array::StringArray::new_unchecked(offsets, bytes.into(), None) };
    Arc::new(array)
}

#[test]
fn a_text_value_that_is_not_utf8_names_its_column_and_row() {
    let rows = good_rows(5);
    for column in ["loan_id", "property_state"] {
        let values: Vec<String> = rows
            .iter()
            .map(|r| {
                if column == "loan_id" {
                    r.loan_id.clone().unwrap()
                } else {
                    r.property_state.clone().unwrap()
                }
            })
            .collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let cols: Vec<_> = columns(&rows)
            .into_iter()
            .map(|(n, a)| {
                if n == column {
                    (n, invalid_utf8_texts(&refs, 3))
                } else {
                    (n, a)
                }
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tape.parquet");
        write_arrays(&path, cols, 2);
        let e = read_tape(&path, &Tape::default()).unwrap_err();
        let msg = one_line_naming(&e, &path);
        assert!(
            !msg.contains("corrupt")
                && msg.contains(&format!("column `{column}`, row 3: not valid UTF-8")),
            "{msg}"
        );
    }
}
