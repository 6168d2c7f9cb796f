//! Property-based fuzzing of the file readers (issue 5): the loan-tape reader
//! (MODEL.md §B) and the rate-path-file reader (§C.5, §J), and through both
//! the Parquet layer underneath.
//!
//! `cargo fuzz` needs a nightly toolchain, which this project's machines do
//! not have, so the fuzzing is done with proptest:
//!
//! * **Tapes from arbitrary values.** Rows whose every field is drawn from a
//!   mix of valid values, boundaries, NaN, ±inf, negatives, huge numbers,
//!   empty and arbitrary strings and nulls, with duplicate ids, absent
//!   optional columns, `Int32` or `Int64` integer columns and any row-group
//!   size, are read and compared with an independent oracle of §B: exactly
//!   the rows the oracle accepts become loans, bit for bit, every other row
//!   is rejected on the column the oracle names, and rows read = valid +
//!   rejected. The same through [`msr_io::write_tape`] with arbitrary
//!   [`Loan`] field values.
//! * **Damaged files.** The seed corpus's Parquet files (`tests/corpus/` at
//!   the repository root) are damaged by random bit flips, byte writes,
//!   truncations, deletions, insertions and splices (within a file and across
//!   files). Both readers must never panic: they return a one-line error that
//!   starts with the file's path, or a result that accounts for every row of
//!   the file (tape) or a finite, complete grid (paths).
//! * **Path grids.** Complete grids with random holes, duplicates, bad path or
//!   month numbers, nulls and non-finite values, in random row order, are
//!   compared with an oracle of §C.5/§J.
//!
//! Case counts are modest by default so `cargo test` stays fast; set
//! `PROPTEST_CASES` to run longer and `PROPTEST_RNG_SEED` to change the draw
//! (fixed by default, so every run of the suite is reproducible).
//! docs/robustness.md records the long runs and what they found.
//!
//! `corpus_files_give_their_documented_outcome` pins each corpus file's
//! outcome; `write_corpus` (ignored) regenerates the Parquet files.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{Field, Schema};
use msr_core::config::Tape;
use msr_core::{DqState, Investor, Loan};
use msr_io::{read_path_file, write_path_file, write_tape, IoError, TapeReader, TapeWriteOptions};
use msr_rates::PathSet;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use proptest::prelude::*;
use proptest::sample::Index;

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

/// The seed corpus at the repository root.
fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus")
}

/// An error's message must be one line that starts with the file's path.
fn assert_one_line(err: &IoError, path: &Path) -> Result<(), TestCaseError> {
    let msg = err.to_string();
    prop_assert!(!msg.contains('\n'), "message spans lines: {msg}");
    prop_assert!(
        msg.starts_with(&path.display().to_string()),
        "message does not start with the file: {msg}"
    );
    Ok(())
}

/// Every rule of MODEL.md §B, checked on a loan the reader accepted.
fn satisfies_section_b(l: &Loan) -> bool {
    let finite = |x: f64| x.is_finite();
    !l.loan_id.is_empty()
        && finite(l.upb)
        && (0.01..=1e10).contains(&l.upb)
        && finite(l.note_rate)
        && (0.0..0.25).contains(&l.note_rate)
        && finite(l.servicing_fee)
        && (l.servicing_fee == 0.0 || (1e-6..=l.note_rate).contains(&l.servicing_fee))
        && (1..=480).contains(&l.remaining_term)
        && l.loan_age <= 600
        && (300..=850).contains(&l.fico)
        && finite(l.ltv)
        && l.ltv > 0.0
        && l.ltv <= 300.0
        && l.property_state.iter().all(u8::is_ascii_uppercase)
        && finite(l.escrow_monthly)
        && l.escrow_monthly >= 0.0
        && l.loan_count >= 1
        && finite(l.advance_balance)
        && l.advance_balance >= 0.0
        && (l.dq_status != DqState::C || l.advance_balance == 0.0)
}

// ---------------------------------------------------------------------------
// Tapes from arbitrary values, against an oracle of §B
// ---------------------------------------------------------------------------

/// One tape row with every value optional (a `None` is a null).
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

impl From<&Loan> for Row {
    fn from(l: &Loan) -> Row {
        Row {
            loan_id: Some(l.loan_id.clone()),
            upb: Some(l.upb),
            note_rate: Some(l.note_rate),
            servicing_fee: Some(l.servicing_fee),
            remaining_term: Some(l.remaining_term.into()),
            loan_age: Some(l.loan_age.into()),
            fico: Some(l.fico.into()),
            ltv: Some(l.ltv),
            investor: Some(l.investor.code().into()),
            dq_status: Some(l.dq_status.code().into()),
            property_state: Some(String::from_utf8_lossy(&l.property_state).into_owned()),
            escrow_monthly: Some(l.escrow_monthly),
            loan_count: Some(l.loan_count.into()),
            advance_balance: Some(l.advance_balance),
        }
    }
}

/// The file's shape: which optional columns exist, the integer width and the
/// row-group size.
#[derive(Debug, Clone, Copy)]
struct Layout {
    escrow: bool,
    count: bool,
    advance: bool,
    int64: bool,
    row_group: usize,
}

const ALL_COLUMNS: Layout = Layout {
    escrow: true,
    count: true,
    advance: true,
    int64: false,
    row_group: 1 << 20,
};

/// The oracle: each row's loan, or the column of the first rule it breaks
/// (rules in column order, duplicates of `loan_id` first).
fn oracle(rows: &[Row], layout: Layout) -> Vec<Result<Loan, &'static str>> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for id in rows.iter().filter_map(|r| r.loan_id.as_deref()) {
        if !id.is_empty() {
            *counts.entry(id).or_default() += 1;
        }
    }
    let finite = |x: &f64| x.is_finite();
    rows.iter()
        .map(|r| {
            let id = r.loan_id.as_deref().ok_or("loan_id")?;
            if id.is_empty() || counts[id] > 1 {
                return Err("loan_id");
            }
            // One cent to $10 billion (docs/model.md §3.1).
            let upb = r
                .upb
                .filter(|x| finite(x) && (0.01..=1e10).contains(x))
                .ok_or("upb")?;
            let c = r
                .note_rate
                .filter(|x| finite(x) && *x >= 0.0 && *x < 0.25)
                .ok_or("note_rate")?;
            let s = r
                .servicing_fee
                .filter(|x| finite(x) && (*x == 0.0 || (*x >= 1e-6 && *x <= c)))
                .ok_or("servicing_fee")?;
            let n = r
                .remaining_term
                .filter(|x| (1..=480).contains(x))
                .ok_or("remaining_term")?;
            let age = r
                .loan_age
                .filter(|x| (0..=600).contains(x))
                .ok_or("loan_age")?;
            let fico = r.fico.filter(|x| (300..=850).contains(x)).ok_or("fico")?;
            let ltv = r
                .ltv
                .filter(|x| finite(x) && *x > 0.0 && *x <= 300.0)
                .ok_or("ltv")?;
            let investor: Investor = r
                .investor
                .as_deref()
                .and_then(|s| s.parse().ok())
                .ok_or("investor")?;
            let dq: DqState = r
                .dq_status
                .as_deref()
                .and_then(|s| s.parse().ok())
                .ok_or("dq_status")?;
            let state = r
                .property_state
                .as_deref()
                .filter(|s| s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase()))
                .ok_or("property_state")?;
            let escrow = match r.escrow_monthly.filter(|_| layout.escrow) {
                None => 0.0,
                Some(x) if finite(&x) && x >= 0.0 => x,
                Some(_) => return Err("escrow_monthly"),
            };
            let loan_count = match r.loan_count.filter(|_| layout.count) {
                None => 1,
                Some(x) if (1..=i64::from(u32::MAX)).contains(&x) => x as u32,
                Some(_) => return Err("loan_count"),
            };
            let advance = match r.advance_balance.filter(|_| layout.advance) {
                None => 0.0,
                Some(x) if finite(&x) && x >= 0.0 && (dq != DqState::C || x == 0.0) => x,
                Some(_) => return Err("advance_balance"),
            };
            let b = state.as_bytes();
            Ok(Loan {
                loan_id: id.to_string(),
                upb,
                note_rate: c,
                servicing_fee: s,
                remaining_term: n as u32,
                loan_age: age as u32,
                fico: fico as i32,
                ltv,
                investor,
                dq_status: dq,
                property_state: [b[0], b[1]],
                escrow_monthly: escrow,
                loan_count,
                advance_balance: advance,
            })
        })
        .collect()
}

/// Write named arrays as one Parquet file (nullable fields).
fn write_arrays(path: &Path, columns: Vec<(&str, ArrayRef)>, row_group: usize) {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, a)| Field::new(*name, a.data_type().clone(), true))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(
        schema.clone(),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap();
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(row_group.max(1)))
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = ArrowWriter::try_new(file, schema, Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

/// The §B columns of `rows` as Arrow arrays, shaped by `layout`.
fn tape_columns(rows: &[Row], layout: Layout) -> Vec<(&'static str, ArrayRef)> {
    let text = |f: &dyn Fn(&Row) -> Option<String>| -> ArrayRef {
        Arc::new(StringArray::from(rows.iter().map(f).collect::<Vec<_>>()))
    };
    let float = |f: &dyn Fn(&Row) -> Option<f64>| -> ArrayRef {
        Arc::new(Float64Array::from(rows.iter().map(f).collect::<Vec<_>>()))
    };
    let int = |f: &dyn Fn(&Row) -> Option<i64>| -> ArrayRef {
        if layout.int64 {
            Arc::new(Int64Array::from(rows.iter().map(f).collect::<Vec<_>>()))
        } else {
            let narrow = |r: &Row| f(r).map(|x| i32::try_from(x).expect("clamped to i32"));
            Arc::new(Int32Array::from(
                rows.iter().map(narrow).collect::<Vec<_>>(),
            ))
        }
    };
    let mut cols = vec![
        ("loan_id", text(&|r| r.loan_id.clone())),
        ("upb", float(&|r| r.upb)),
        ("note_rate", float(&|r| r.note_rate)),
        ("servicing_fee", float(&|r| r.servicing_fee)),
        ("remaining_term", int(&|r| r.remaining_term)),
        ("loan_age", int(&|r| r.loan_age)),
        ("fico", int(&|r| r.fico)),
        ("ltv", float(&|r| r.ltv)),
        ("investor", text(&|r| r.investor.clone())),
        ("dq_status", text(&|r| r.dq_status.clone())),
        ("property_state", text(&|r| r.property_state.clone())),
    ];
    if layout.escrow {
        cols.push(("escrow_monthly", float(&|r| r.escrow_monthly)));
    }
    if layout.count {
        cols.push(("loan_count", int(&|r| r.loan_count)));
    }
    if layout.advance {
        cols.push(("advance_balance", float(&|r| r.advance_balance)));
    }
    cols
}

/// Everything one full read of a tape produced.
#[derive(Debug, Default)]
struct Read {
    loans: Vec<Loan>,
    loan_rows: Vec<u64>,
    rejects: Vec<msr_core::Reject>,
    rows_read: u64,
    valid: u64,
    rejected: u64,
    num_rows: u64,
}

/// Read a whole tape with [`TapeReader`]; `Err` carries the first error.
fn read_all(path: &Path) -> Result<Read, IoError> {
    let mut reader = TapeReader::open(path, &Tape::default())?;
    let mut out = Read {
        num_rows: reader.num_rows(),
        ..Read::default()
    };
    while let Some(batch) = reader.next_batch()? {
        assert_eq!(batch.loans.len(), batch.rows.len());
        out.loans.extend(batch.loans);
        out.loan_rows.extend(batch.rows);
        out.rejects.extend(batch.rejects);
    }
    let stats = reader.stats();
    (out.rows_read, out.valid, out.rejected) = (stats.rows_read, stats.valid, stats.rejected);
    Ok(out)
}

/// The reader's result must equal the oracle's, row by row.
fn check_against_oracle(path: &Path, rows: &[Row], layout: Layout) -> Result<(), TestCaseError> {
    let expected = oracle(rows, layout);
    let got = match read_all(path) {
        Ok(read) => read,
        Err(e) => {
            return Err(TestCaseError::fail(format!(
                "a well-formed tape failed: {e}"
            )))
        }
    };
    let n = rows.len() as u64;
    let ok: Vec<(u64, &Loan)> = expected
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().ok().map(|l| (i as u64, l)))
        .collect();
    let bad: Vec<(u64, &str)> = expected
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().err().map(|c| (i as u64, *c)))
        .collect();
    prop_assert_eq!(got.rows_read, n, "rows read");
    prop_assert_eq!(got.valid + got.rejected, got.rows_read, "valid + rejected");
    prop_assert_eq!(got.valid, ok.len() as u64);
    prop_assert_eq!(got.rejected, bad.len() as u64);
    prop_assert_eq!(
        &got.loan_rows,
        &ok.iter().map(|(i, _)| *i).collect::<Vec<_>>()
    );
    for (loan, (row, want)) in got.loans.iter().zip(&ok) {
        prop_assert_eq!(loan, *want, "row {}", row);
        // Bit for bit (PartialEq calls 0.0 and -0.0 equal).
        for (a, b) in [
            (loan.upb, want.upb),
            (loan.note_rate, want.note_rate),
            (loan.servicing_fee, want.servicing_fee),
            (loan.ltv, want.ltv),
            (loan.escrow_monthly, want.escrow_monthly),
            (loan.advance_balance, want.advance_balance),
        ] {
            prop_assert_eq!(a.to_bits(), b.to_bits(), "row {}", row);
        }
        prop_assert!(
            satisfies_section_b(loan),
            "accepted loan breaks §B: {loan:?}"
        );
    }
    let got_bad: Vec<(u64, &str)> = got
        .rejects
        .iter()
        .map(|r| (r.row, r.column.as_str()))
        .collect();
    prop_assert_eq!(got_bad, bad);
    for r in &got.rejects {
        let id = rows[r.row as usize].loan_id.clone().unwrap_or_default();
        prop_assert_eq!(&r.loan_id, &id);
        prop_assert!(
            !r.rule.is_empty() && !r.rule.contains('\n'),
            "rule: {:?}",
            r.rule
        );
    }
    Ok(())
}

/// A float column value: mostly in `valid`, else a boundary, a non-finite, a
/// huge or an arbitrary number, or a null.
fn float_value(valid: std::ops::Range<f64>) -> impl Strategy<Value = Option<f64>> {
    let special = vec![
        0.0,
        -0.0,
        -1.0,
        1.0,
        0.25,
        0.0025,
        300.0,
        300.000_000_000_1,
        480.0,
        f64::NAN,
        -f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MAX,
        f64::MIN,
        f64::MIN_POSITIVE,
        f64::EPSILON,
        5e-324,
        1e300,
        -1e-300,
        5.0e7,
    ];
    prop_oneof![
        8 => valid.prop_map(Some),
        1 => Just(None),
        3 => prop::sample::select(special).prop_map(Some),
        1 => any::<f64>().prop_map(Some),
    ]
}

/// An integer column value: mostly in `valid`, else a boundary, an extreme or
/// an arbitrary number, or a null.
fn int_value(valid: std::ops::RangeInclusive<i64>) -> impl Strategy<Value = Option<i64>> {
    let special = vec![
        0,
        -1,
        1,
        299,
        300,
        480,
        481,
        600,
        601,
        850,
        851,
        i64::from(i32::MAX),
        i64::from(i32::MIN),
        i64::from(u32::MAX),
        i64::from(u32::MAX) + 1,
        i64::MAX,
        i64::MIN,
    ];
    prop_oneof![
        8 => valid.prop_map(Some),
        1 => Just(None),
        3 => prop::sample::select(special).prop_map(Some),
        1 => any::<i64>().prop_map(Some),
    ]
}

/// A text column value: mostly one of `valid`, else a near miss (case,
/// whitespace), the empty string, arbitrary text or a null.
fn text_value(valid: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        8 => prop::sample::select(valid).prop_map(|s| Some(s.to_string())),
        1 => Just(None),
        1 => Just(Some(String::new())),
        1 => prop::sample::select(valid).prop_map(|s| Some(s.to_lowercase())),
        1 => prop::sample::select(valid).prop_map(|s| Some(format!("{s} "))),
        2 => "\\PC{0,5}".prop_map(Some),
    ]
}

const INVESTORS: &[&str] = &["FNMA", "FHLMC", "GNMA", "PLS"];
const STATUSES: &[&str] = &["C", "D30", "D60", "D90", "D120", "FC"];
const STATES: &[&str] = &["TX", "NY", "CA", "FL", "ZZ", "IL"];

/// Loan ids drawn from a small pool so duplicates are common.
fn loan_id() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        1 => Just(None),
        1 => Just(Some(String::new())),
        8 => (0u32..40).prop_map(|k| Some(format!("L{k}"))),
        2 => "\\PC{1,12}".prop_map(Some),
    ]
}

fn row() -> impl Strategy<Value = Row> {
    let head = (
        loan_id(),
        float_value(1.0..2.0e6),
        float_value(0.0..0.25),
        float_value(0.0..0.01),
        int_value(1..=480),
        int_value(0..=600),
        int_value(300..=850),
    );
    let tail = (
        float_value(1.0..300.0),
        text_value(INVESTORS),
        text_value(STATUSES),
        text_value(STATES),
        float_value(0.0..2000.0),
        int_value(1..=50),
        prop_oneof![3 => Just(Some(0.0)), 1 => float_value(0.0..1.0e5)],
    );
    (head, tail).prop_map(|((a, b, c, d, e, f, g), (h, i, j, k, l, m, n))| Row {
        loan_id: a,
        upb: b,
        note_rate: c,
        servicing_fee: d,
        remaining_term: e,
        loan_age: f,
        fico: g,
        ltv: h,
        investor: i,
        dq_status: j,
        property_state: k,
        escrow_monthly: l,
        loan_count: m,
        advance_balance: n,
    })
}

fn layout() -> impl Strategy<Value = Layout> {
    (any::<[bool; 4]>(), 1usize..12).prop_map(|(b, row_group)| Layout {
        escrow: b[0],
        count: b[1],
        advance: b[2],
        int64: b[3],
        row_group,
    })
}

/// Narrow integer values to `i32` when the file's integer columns are `Int32`.
fn fit_layout(rows: &mut [Row], layout: Layout) {
    if layout.int64 {
        return;
    }
    let clamp = |x: &mut Option<i64>| {
        if let Some(v) = x {
            *v = (*v).clamp(i32::MIN.into(), i32::MAX.into());
        }
    };
    for r in rows {
        clamp(&mut r.remaining_term);
        clamp(&mut r.loan_age);
        clamp(&mut r.fico);
        clamp(&mut r.loan_count);
    }
}

/// A [`Loan`] with arbitrary field values (what `write_tape` can be handed).
fn any_loan() -> impl Strategy<Value = Loan> {
    let f = |r: std::ops::Range<f64>| float_value(r).prop_map(|x| x.unwrap_or(f64::NAN));
    let u = |r: std::ops::RangeInclusive<u32>| prop_oneof![4 => r, 1 => any::<u32>(), 1 => prop::sample::select(vec![0u32, 481, 601, i32::MAX as u32])];
    let head = (
        (0u32..30).prop_map(|k| format!("W{k}")),
        f(1.0..2.0e6),
        f(0.0..0.25),
        f(0.0..0.01),
        u(1..=480),
        u(0..=600),
        prop_oneof![4 => 300i32..=850, 1 => any::<i32>()],
    );
    let tail = (
        f(1.0..300.0),
        prop::sample::select(Investor::ALL.to_vec()),
        prop::sample::select(DqState::ALL.to_vec()),
        prop_oneof![4 => prop::sample::select(vec![*b"TX", *b"NY", *b"ZZ"]), 1 => any::<[u8; 2]>()],
        f(0.0..2000.0),
        u(1..=50),
        prop_oneof![3 => Just(0.0), 1 => f(0.0..1.0e5)],
    );
    (head, tail).prop_map(|((a, b, c, d, e, g, h), (i, j, k, l, m, n, o))| Loan {
        loan_id: a,
        upb: b,
        note_rate: c,
        servicing_fee: d,
        remaining_term: e,
        loan_age: g,
        fico: h,
        ltv: i,
        investor: j,
        dq_status: k,
        property_state: l,
        escrow_monthly: m,
        loan_count: n,
        advance_balance: o,
    })
}

proptest! {
    #![proptest_config(msr_testkit::proptest_settings(192))]

    /// Arbitrary values in every column: exactly the oracle's loans and rejects.
    #[test]
    fn tapes_of_arbitrary_values_match_the_oracle(
        mut rows in prop::collection::vec(row(), 0..40),
        layout in layout(),
    ) {
        fit_layout(&mut rows, layout);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tape.parquet");
        write_arrays(&path, tape_columns(&rows, layout), layout.row_group);
        check_against_oracle(&path, &rows, layout)?;
    }

    /// Arbitrary `Loan` values through `write_tape`: what it writes reads back
    /// as the oracle says; what it refuses (a count beyond `i32`) is a
    /// one-line error naming the file.
    #[test]
    fn write_tape_then_read_matches_the_oracle(
        loans in prop::collection::vec(any_loan(), 0..30),
        row_group in 1usize..10,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tape.parquet");
        match write_tape(&path, &loans, TapeWriteOptions { max_row_group_rows: row_group }) {
            Err(e) => {
                assert_one_line(&e, &path)?;
                prop_assert!(
                    loans.iter().any(|l| [l.remaining_term, l.loan_age, l.loan_count]
                        .iter()
                        .any(|&x| i32::try_from(x).is_err())),
                    "write_tape refused loans that fit: {e}"
                );
                prop_assert!(!path.exists(), "a refused tape left a file");
            }
            Ok(()) => {
                let rows: Vec<Row> = loans.iter().map(Row::from).collect();
                check_against_oracle(&path, &rows, ALL_COLUMNS)?;
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Damaged Parquet bytes
// ---------------------------------------------------------------------------

/// One edit of a file's bytes.
#[derive(Debug, Clone)]
enum Mutation {
    /// Flip one bit.
    Flip(Index, u8),
    /// Overwrite one byte.
    Set(Index, u8),
    /// Overwrite one of the last 64 bytes (the footer and its length).
    SetNearEnd(usize, u8),
    /// Cut the file at a position.
    Truncate(Index),
    /// Remove up to `len` bytes.
    Delete(Index, usize),
    /// Insert bytes.
    Insert(Index, Vec<u8>),
    /// Copy a run of bytes from another seed file over this one.
    Splice {
        seed: Index,
        from: Index,
        to: Index,
        len: usize,
    },
    /// Copy a run of this file's bytes elsewhere in it.
    CopyWithin { from: Index, to: Index, len: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        3 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        3 => (0usize..64, any::<u8>()).prop_map(|(k, b)| Mutation::SetNearEnd(k, b)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => (any::<Index>(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        1 => (any::<Index>(), prop::collection::vec(any::<u8>(), 1..32))
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        2 => (any::<Index>(), any::<Index>(), any::<Index>(), 1usize..256)
            .prop_map(|(seed, from, to, len)| Mutation::Splice { seed, from, to, len }),
        1 => (any::<Index>(), any::<Index>(), 1usize..128)
            .prop_map(|(from, to, len)| Mutation::CopyWithin { from, to, len }),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation, seeds: &[Vec<u8>]) {
    if bytes.is_empty() {
        return;
    }
    let n = bytes.len();
    match m {
        Mutation::Flip(i, bit) => bytes[i.index(n)] ^= 1 << bit,
        Mutation::Set(i, b) => bytes[i.index(n)] = *b,
        Mutation::SetNearEnd(k, b) => {
            let at = n.saturating_sub(1 + k);
            bytes[at] = *b;
        }
        Mutation::Truncate(i) => bytes.truncate(i.index(n)),
        Mutation::Delete(i, len) => {
            let at = i.index(n);
            bytes.drain(at..(at + len).min(n));
        }
        Mutation::Insert(i, extra) => {
            let at = i.index(n + 1);
            bytes.splice(at..at, extra.iter().copied());
        }
        Mutation::Splice {
            seed,
            from,
            to,
            len,
        } => {
            let src = &seeds[seed.index(seeds.len())];
            let from = from.index(src.len());
            let to = to.index(n);
            let len = (*len).min(src.len() - from).min(n - to);
            bytes[to..to + len].copy_from_slice(&src[from..from + len]);
        }
        Mutation::CopyWithin { from, to, len } => {
            let from = from.index(n);
            let to = to.index(n);
            let len = (*len).min(n - from).min(n - to);
            bytes.copy_within(from..from + len, to);
        }
    }
}

/// The Parquet files of the corpus, as the seeds of damage.
fn seed_files(sub: &str) -> Vec<(String, Vec<u8>)> {
    let dir = corpus().join(sub);
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            std::fs::read(p)
                .map(|b| b.len() > 12 && b.starts_with(b"PAR1") && b.ends_with(b"PAR1"))
                .unwrap_or(false)
        })
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    seeds.sort();
    assert!(
        seeds.len() >= 3,
        "too few Parquet seeds in {}",
        dir.display()
    );
    seeds
}

/// What every read of a damaged tape must satisfy.
fn check_damaged_tape(path: &Path) -> Result<(), TestCaseError> {
    let read = match read_all(path) {
        Err(e) => return assert_one_line(&e, path),
        Ok(read) => read,
    };
    prop_assert_eq!(read.valid + read.rejected, read.rows_read);
    prop_assert_eq!(read.valid, read.loans.len() as u64);
    prop_assert_eq!(read.rejected, read.rejects.len() as u64);
    // Every row of the file is accounted for, once: nothing is lost silently.
    prop_assert_eq!(
        read.rows_read,
        read.num_rows,
        "rows read vs the footer's count"
    );
    let mut rows: Vec<u64> = read.loan_rows.clone();
    rows.extend(read.rejects.iter().map(|r| r.row));
    rows.sort_unstable();
    prop_assert!(
        rows.iter().copied().eq(0..read.rows_read),
        "row numbers: {rows:?}"
    );
    let mut ids = HashSet::new();
    for loan in &read.loans {
        prop_assert!(
            satisfies_section_b(loan),
            "accepted loan breaks §B: {loan:?}"
        );
        prop_assert!(
            ids.insert(loan.loan_id.clone()),
            "duplicate id accepted: {}",
            loan.loan_id
        );
    }
    Ok(())
}

/// What every read of a damaged path file must satisfy.
fn check_damaged_paths(path: &Path, need: Option<usize>) -> Result<(), TestCaseError> {
    match read_path_file(path, need) {
        Err(e) => assert_one_line(&e, path),
        Ok(set) => {
            prop_assert!(set.num_paths() >= 1 && set.months() >= 1);
            if let Some(need) = need {
                prop_assert_eq!(set.months(), need);
            }
            for a in [&set.short_rate, &set.mortgage_rate, &set.discount] {
                prop_assert!(a.iter().all(|x| x.is_finite()));
            }
            Ok(())
        }
    }
}

proptest! {
    #![proptest_config(msr_testkit::proptest_settings(256))]

    /// Damaged tapes: a one-line error or every row accounted for; never a panic.
    #[test]
    fn damaged_tapes_never_panic(
        seed in any::<Index>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let seeds = seed_files("tapes");
        let all: Vec<Vec<u8>> = seeds.iter().map(|(_, b)| b.clone()).collect();
        let (name, original) = &seeds[seed.index(seeds.len())];
        let mut bytes = original.clone();
        for m in &mutations {
            apply(&mut bytes, m, &all);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        check_damaged_tape(&path)?;
    }

    /// Damaged path files: a one-line error or a finite, complete grid.
    #[test]
    fn damaged_path_files_never_panic(
        seed in any::<Index>(),
        mutations in prop::collection::vec(mutation(), 1..6),
        need in prop::option::of(1usize..40),
    ) {
        let seeds = seed_files("paths");
        let all: Vec<Vec<u8>> = seeds.iter().map(|(_, b)| b.clone()).collect();
        let (name, original) = &seeds[seed.index(seeds.len())];
        let mut bytes = original.clone();
        for m in &mutations {
            apply(&mut bytes, m, &all);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        check_damaged_paths(&path, need)?;
        // A damaged path file read as a tape, and a tape as a path file.
        check_damaged_tape(&path)?;
    }
}

/// Found by `damaged_tapes_never_panic` (seed 11, 84,922 cases in): one bit
/// flip in `valid_20.parquet`'s footer makes row group 1 claim 9 rows where
/// it holds 8. The row-group counts then sum to 21 while the file's own
/// count says 20, and the reader returns the 20 rows without an error.
/// Every single-byte ±1 edit of a footer varint that leaves the footer
/// readable but inconsistent must be refused.
#[test]
fn a_footer_whose_row_counts_disagree_is_refused() {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let original = std::fs::read(corpus().join("tapes/valid_20.parquet")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tape.parquet");
    let footer_len = u32::from_le_bytes(
        original[original.len() - 8..original.len() - 4]
            .try_into()
            .unwrap(),
    );
    let footer = original.len() - 8 - footer_len as usize..original.len() - 8;
    let mut accepted = Vec::new();
    let mut inconsistent = 0;
    for pos in footer {
        for delta in [2u8, 254] {
            let mut bytes = original.clone();
            bytes[pos] = bytes[pos].wrapping_add(delta);
            std::fs::write(&path, &bytes).unwrap();
            // Only footers the parquet crate reads and whose counts disagree.
            let counts = std::panic::catch_unwind(|| {
                let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).ok()?;
                let meta = reader.metadata();
                let groups: i64 = meta.row_groups().iter().map(|g| g.num_rows()).sum();
                Some((meta.file_metadata().num_rows(), groups))
            });
            let Ok(Some((file_rows, group_rows))) = counts else {
                continue;
            };
            if file_rows == group_rows {
                continue;
            }
            inconsistent += 1;
            if let Ok(read) = read_all(&path) {
                accepted.push(format!(
                    "byte {pos} {:+}: footer says {file_rows} rows, row groups {group_rows}, read {}",
                    delta as i8, read.rows_read
                ));
            }
        }
    }
    assert!(inconsistent > 0, "no edit made the counts disagree");
    assert!(accepted.is_empty(), "{accepted:#?}");
}

/// A footer rewritten so its counts agree with each other but not with the
/// pages: a row group (and the file) claiming one row more, or one fewer,
/// than the row group holds. The reader must refuse it, whichever way.
#[test]
fn a_footer_whose_counts_disagree_with_the_pages_is_refused() {
    use parquet::file::metadata::{FileMetaData, ParquetMetaData, ParquetMetaDataWriter};
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let name = corpus().join("tapes/valid_20.parquet");
    let original = std::fs::read(&name).unwrap();
    let footer_len = u32::from_le_bytes(
        original[original.len() - 8..original.len() - 4]
            .try_into()
            .unwrap(),
    );
    let data = &original[..original.len() - 8 - footer_len as usize];
    let meta = SerializedFileReader::new(std::fs::File::open(&name).unwrap())
        .unwrap()
        .metadata()
        .clone();
    assert!(
        meta.num_row_groups() >= 2,
        "valid_20 has several row groups"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tape.parquet");
    let mut accepted = Vec::new();
    for group in [0, 1, meta.num_row_groups() - 1] {
        for delta in [1i64, -1] {
            let groups: Vec<_> = meta
                .row_groups()
                .iter()
                .enumerate()
                .map(|(g, rg)| {
                    let rows = rg.num_rows() + if g == group { delta } else { 0 };
                    rg.clone()
                        .into_builder()
                        .set_num_rows(rows)
                        .build()
                        .unwrap()
                })
                .collect();
            let f = meta.file_metadata();
            let file = FileMetaData::new(
                f.version(),
                f.num_rows() + delta,
                f.created_by().map(str::to_string),
                f.key_value_metadata().cloned(),
                f.schema_descr_ptr(),
                f.column_orders().cloned(),
            );
            let edited = ParquetMetaData::new(file, groups);
            let mut bytes = data.to_vec();
            ParquetMetaDataWriter::new(&mut bytes, &edited)
                .finish()
                .unwrap();
            std::fs::write(&path, &bytes).unwrap();
            match read_all(&path) {
                Ok(read) => accepted.push(format!(
                    "row group {group} {delta:+}: read {} rows of {} declared",
                    read.rows_read, read.num_rows
                )),
                Err(e) => {
                    let msg = e.to_string();
                    assert!(
                        msg.starts_with(&path.display().to_string()) && !msg.contains('\n'),
                        "{msg}"
                    );
                    assert!(msg.contains("corrupt"), "{msg}");
                }
            }
            // The generic table reader too.
            if let Ok(table) = msr_io::read_table(&path) {
                accepted.push(format!(
                    "read_table, row group {group} {delta:+}: {} rows",
                    table.num_rows
                ));
            }
        }
    }
    assert!(accepted.is_empty(), "{accepted:#?}");
}

// ---------------------------------------------------------------------------
// Path grids against an oracle of §C.5 / §J
// ---------------------------------------------------------------------------

/// One path-file row; `None` is a null.
#[derive(Debug, Clone, PartialEq)]
struct PathRow {
    path: Option<i32>,
    month: Option<i32>,
    values: [Option<f64>; 3],
}

/// One edit of a complete grid.
#[derive(Debug, Clone)]
enum GridEdit {
    Drop(Index),
    Duplicate(Index),
    SetPath(Index, Option<i32>),
    SetMonth(Index, Option<i32>),
    SetValue(Index, usize, Option<f64>),
}

fn grid_edit() -> impl Strategy<Value = GridEdit> {
    let key = prop_oneof![
        Just(None),
        prop::sample::select(vec![-1, 0, 1, 3, 5, 7, 25, 100_000, i32::MAX, i32::MIN])
            .prop_map(Some),
    ];
    let value = prop_oneof![
        Just(None),
        prop::sample::select(vec![
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e308,
            -0.0,
            0.5
        ])
        .prop_map(Some),
    ];
    prop_oneof![
        2 => any::<Index>().prop_map(GridEdit::Drop),
        2 => any::<Index>().prop_map(GridEdit::Duplicate),
        1 => (any::<Index>(), key.clone()).prop_map(|(i, k)| GridEdit::SetPath(i, k)),
        1 => (any::<Index>(), key).prop_map(|(i, k)| GridEdit::SetMonth(i, k)),
        2 => (any::<Index>(), 0usize..3, value).prop_map(|(i, c, v)| GridEdit::SetValue(i, c, v)),
    ]
}

/// The oracle: the grid a path file must read as, or `None` for an error.
fn path_oracle(rows: &[PathRow], need: Option<usize>) -> Option<[Vec<Vec<f64>>; 3]> {
    let mut keys = Vec::with_capacity(rows.len());
    for r in rows {
        let p = usize::try_from(r.path?).ok()?;
        let m = usize::try_from(r.month?).ok().filter(|&m| m >= 1)?;
        keys.push((p, m));
    }
    let max_path = keys.iter().map(|k| k.0).max()?;
    let max_month = keys.iter().map(|k| k.1).max()?;
    let months = match need {
        Some(need) if need > max_month => return None,
        Some(need) => need,
        None => max_month,
    };
    let cells = (max_path as u128 + 1) * months as u128;
    if cells > rows.len() as u128 {
        return None;
    }
    let mut seen = HashSet::new();
    let mut grid = [(); 3].map(|()| vec![vec![0.0; months]; max_path + 1]);
    for (r, &(p, m)) in rows.iter().zip(&keys) {
        if m > months {
            continue;
        }
        if !seen.insert((p, m)) {
            return None;
        }
        for (k, v) in r.values.iter().enumerate() {
            let v = v.filter(|x| x.is_finite())?;
            grid[k][p][m - 1] = v;
        }
    }
    (seen.len() as u128 == cells).then_some(grid)
}

fn write_path_rows(path: &Path, rows: &[PathRow], row_group: usize) {
    let ints = |f: &dyn Fn(&PathRow) -> Option<i32>| -> ArrayRef {
        Arc::new(Int32Array::from(rows.iter().map(f).collect::<Vec<_>>()))
    };
    let floats = |k: usize| -> ArrayRef {
        Arc::new(Float64Array::from(
            rows.iter().map(|r| r.values[k]).collect::<Vec<_>>(),
        ))
    };
    write_arrays(
        path,
        vec![
            ("path", ints(&|r| r.path)),
            ("month", ints(&|r| r.month)),
            ("short_rate", floats(0)),
            ("mortgage_rate", floats(1)),
            ("discount", floats(2)),
        ],
        row_group,
    );
}

/// A complete grid of `paths × months`, then edits, in a shuffled order.
fn path_grid() -> impl Strategy<Value = (Vec<PathRow>, Option<usize>, usize)> {
    (
        1usize..5,
        1usize..25,
        prop::collection::vec(grid_edit(), 0..4),
        prop::option::of(1usize..30),
        1usize..50,
    )
        .prop_flat_map(|(paths, months, edits, need, row_group)| {
            let mut rows = Vec::new();
            for p in 0..paths {
                for m in 1..=months {
                    let x = (p * 1000 + m) as f64;
                    rows.push(PathRow {
                        path: Some(p as i32),
                        month: Some(m as i32),
                        values: [
                            Some(0.04 + x * 1e-6),
                            Some(0.06 - x * 1e-6),
                            Some((-x * 1e-4).exp()),
                        ],
                    });
                }
            }
            for e in &edits {
                let n = rows.len();
                if n == 0 {
                    break;
                }
                match e {
                    GridEdit::Drop(i) => {
                        rows.remove(i.index(n));
                    }
                    GridEdit::Duplicate(i) => {
                        let r = rows[i.index(n)].clone();
                        rows.push(r);
                    }
                    GridEdit::SetPath(i, k) => rows[i.index(n)].path = *k,
                    GridEdit::SetMonth(i, k) => rows[i.index(n)].month = *k,
                    GridEdit::SetValue(i, c, v) => rows[i.index(n)].values[*c] = *v,
                }
            }
            (Just(rows).prop_shuffle(), Just(need), Just(row_group))
        })
}

proptest! {
    #![proptest_config(msr_testkit::proptest_settings(256))]

    /// Path grids with holes, duplicates, bad keys, nulls and non-finite
    /// values read exactly as the oracle says.
    #[test]
    fn path_grids_match_the_oracle((rows, need, row_group) in path_grid()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("paths.parquet");
        write_path_rows(&path, &rows, row_group);
        let want = path_oracle(&rows, need);
        match (read_path_file(&path, need), want) {
            (Ok(set), Some(grid)) => {
                for (array, want) in [&set.short_rate, &set.mortgage_rate, &set.discount].iter().zip(&grid) {
                    prop_assert_eq!(array.nrows(), want.len());
                    for (p, want_row) in want.iter().enumerate() {
                        for (t, w) in want_row.iter().enumerate() {
                            prop_assert_eq!(array[[p, t]].to_bits(), w.to_bits(), "path {} month {}", p, t + 1);
                        }
                    }
                }
            }
            (Err(e), None) => assert_one_line(&e, &path)?,
            (Ok(set), None) => {
                return Err(TestCaseError::fail(format!(
                    "accepted a bad grid ({} paths × {} months)", set.num_paths(), set.months()
                )))
            }
            (Err(e), Some(_)) => return Err(TestCaseError::fail(format!("refused a good grid: {e}"))),
        }
    }
}

// ---------------------------------------------------------------------------
// The seed corpus
// ---------------------------------------------------------------------------

/// What reading a corpus file gives.
enum Outcome {
    /// A tape read to the end: this many loans and rejects.
    Tape { valid: u64, rejected: u64 },
    /// A path file read as `paths × months`.
    Paths { paths: usize, months: usize },
    /// A one-line error containing this text.
    Error(&'static str),
}

const TAPE_CORPUS: &[(&str, Outcome)] = &[
    (
        "valid_20.parquet",
        Outcome::Tape {
            valid: 20,
            rejected: 0,
        },
    ),
    (
        "valid_extra_columns.parquet",
        Outcome::Tape {
            valid: 5,
            rejected: 0,
        },
    ),
    (
        "mixed_rejects.parquet",
        Outcome::Tape {
            valid: 3,
            rejected: 19,
        },
    ),
    (
        "zero_rows.parquet",
        Outcome::Tape {
            valid: 0,
            rejected: 0,
        },
    ),
    (
        "short_terms.parquet",
        Outcome::Tape {
            valid: 6,
            rejected: 0,
        },
    ),
    (
        "missing_fico.parquet",
        Outcome::Error("missing required column `fico`"),
    ),
    (
        "fico_as_text.parquet",
        Outcome::Error("column `fico` has type Utf8"),
    ),
    ("truncated.parquet", Outcome::Error("truncated")),
    (
        "csv_not_parquet.parquet",
        Outcome::Error("not a Parquet file"),
    ),
    ("zero_bytes.parquet", Outcome::Error("the file is empty")),
];

const PATH_CORPUS: &[(&str, Outcome)] = &[
    (
        "valid_4x24.parquet",
        Outcome::Paths {
            paths: 4,
            months: 24,
        },
    ),
    (
        "huge_discount_2x24.parquet",
        Outcome::Paths {
            paths: 2,
            months: 24,
        },
    ),
    (
        "ragged_missing_month.parquet",
        Outcome::Error("path 1 is missing month 7"),
    ),
    (
        "nan_discount.parquet",
        Outcome::Error("path 0, month 5: discount is not finite (NaN)"),
    ),
    (
        "duplicate_row.parquet",
        Outcome::Error("path 2, month 3 appears more than once"),
    ),
    ("negative_path.parquet", Outcome::Error("is negative")),
    ("no_rows.parquet", Outcome::Error("no rows")),
];

/// Every file of `sub` is listed, and every listed file exists.
fn assert_listed(sub: &str, listed: &[(&str, Outcome)]) {
    let dir = corpus().join(sub);
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut names: Vec<String> = listed.iter().map(|(n, _)| n.to_string()).collect();
    names.sort();
    assert_eq!(
        on_disk, names,
        "tests/corpus/{sub} and the table here disagree"
    );
}

#[test]
fn corpus_files_give_their_documented_outcome() {
    assert_listed("tapes", TAPE_CORPUS);
    assert_listed("paths", PATH_CORPUS);
    for (name, outcome) in TAPE_CORPUS {
        let path = corpus().join("tapes").join(name);
        match (read_all(&path), outcome) {
            (Ok(read), Outcome::Tape { valid, rejected }) => {
                assert_eq!((read.valid, read.rejected), (*valid, *rejected), "{name}");
                assert_eq!(read.rows_read, read.num_rows, "{name}");
            }
            (Err(e), Outcome::Error(text)) => {
                let msg = e.to_string();
                assert!(msg.contains(text) && !msg.contains('\n'), "{name}: {msg}");
                assert!(
                    msg.starts_with(&path.display().to_string()),
                    "{name}: {msg}"
                );
            }
            (Ok(r), _) => panic!("{name}: read {} valid + {} rejected", r.valid, r.rejected),
            (Err(e), _) => panic!("{name}: {e}"),
        }
    }
    for (name, outcome) in PATH_CORPUS {
        let path = corpus().join("paths").join(name);
        match (read_path_file(&path, None), outcome) {
            (Ok(set), Outcome::Paths { paths, months }) => {
                assert_eq!((set.num_paths(), set.months()), (*paths, *months), "{name}");
            }
            (Err(e), Outcome::Error(text)) => {
                let msg = e.to_string();
                assert!(msg.contains(text) && !msg.contains('\n'), "{name}: {msg}");
            }
            (Ok(s), _) => panic!("{name}: read {} × {}", s.num_paths(), s.months()),
            (Err(e), _) => panic!("{name}: {e}"),
        }
    }
    // Short: a 24-month file where 25 months are needed.
    let path = corpus().join("paths/valid_4x24.parquet");
    let msg = read_path_file(&path, Some(25)).unwrap_err().to_string();
    assert!(
        msg.contains("have 24 months but the loans need 25"),
        "{msg}"
    );
    // The mixed tape rejects on exactly the columns its README lists.
    let read = read_all(&corpus().join("tapes/mixed_rejects.parquet")).unwrap();
    let columns: Vec<&str> = read.rejects.iter().map(|r| r.column.as_str()).collect();
    assert_eq!(columns, MIXED_REJECT_COLUMNS);
}

/// The reject column of each bad row of `mixed_rejects.parquet`, in row order.
const MIXED_REJECT_COLUMNS: [&str; 19] = [
    "upb",
    "ltv",
    "upb",
    "note_rate",
    "servicing_fee",
    "remaining_term",
    "loan_age",
    "fico",
    "loan_id",
    "loan_id",
    "loan_id",
    "investor",
    "dq_status",
    "property_state",
    "escrow_monthly",
    "loan_count",
    "advance_balance",
    "upb",
    "note_rate",
];

/// The rows of `mixed_rejects.parquet`: rows 0, 19 and 21 are good; every
/// other row breaks one rule of §B.
fn mixed_rows() -> Vec<Row> {
    let good = |k: usize| Row {
        loan_id: Some(format!("M{k:02}")),
        upb: Some(250_000.0),
        note_rate: Some(0.055),
        servicing_fee: Some(0.0025),
        remaining_term: Some(300),
        loan_age: Some(48),
        fico: Some(720),
        ltv: Some(78.0),
        investor: Some("FNMA".into()),
        dq_status: Some("C".into()),
        property_state: Some("TX".into()),
        escrow_monthly: Some(300.0),
        loan_count: Some(1),
        advance_balance: Some(0.0),
    };
    let mut rows: Vec<Row> = (0..22).map(good).collect();
    rows[1].upb = Some(f64::NAN);
    rows[2].ltv = Some(f64::INFINITY);
    rows[3].upb = Some(-1.0);
    rows[4].note_rate = Some(0.3);
    rows[5].servicing_fee = Some(0.06);
    rows[6].remaining_term = Some(0);
    rows[7].loan_age = Some(601);
    rows[8].fico = Some(299);
    rows[9].loan_id = Some("DUP".into());
    rows[10].loan_id = Some("DUP".into());
    rows[11].loan_id = Some(String::new());
    rows[12].investor = Some("fnma".into());
    rows[13].dq_status = Some("D45".into());
    rows[14].property_state = Some("Tx".into());
    rows[15].escrow_monthly = Some(-1.0);
    rows[16].loan_count = Some(0);
    rows[17].advance_balance = Some(100.0);
    rows[18].upb = None;
    rows[19].escrow_monthly = None;
    rows[19].loan_count = None;
    rows[19].advance_balance = None;
    rows[20].note_rate = Some(f64::NEG_INFINITY);
    rows
}

/// Regenerate the corpus's Parquet files (the TOML configs are hand-written).
#[test]
#[ignore = "writes tests/corpus; run with --ignored to regenerate it"]
fn write_corpus() {
    let tapes = corpus().join("tapes");
    let paths = corpus().join("paths");
    std::fs::create_dir_all(&tapes).unwrap();
    std::fs::create_dir_all(&paths).unwrap();
    let opts = |n| TapeWriteOptions {
        max_row_group_rows: n,
    };

    let book = msr_io::generate_book(20, 20_261_121);
    write_tape(tapes.join("valid_20.parquet"), &book, opts(8)).unwrap();
    let extra: Vec<String> = (0..5).map(|k| format!("note {k}")).collect();
    msr_io::write_tape_with_extra(
        tapes.join("valid_extra_columns.parquet"),
        &book[..5],
        &[("servicer_note", extra)],
        opts(8),
    )
    .unwrap();
    write_arrays(
        &tapes.join("mixed_rejects.parquet"),
        tape_columns(&mixed_rows(), ALL_COLUMNS),
        8,
    );
    write_tape(tapes.join("zero_rows.parquet"), &[], opts(8)).unwrap();
    // Loans of 1 to 6 months, for runs on short path files.
    let short: Vec<Loan> = book[..6]
        .iter()
        .enumerate()
        .map(|(k, l)| Loan {
            loan_id: format!("S{k}"),
            remaining_term: k as u32 + 1,
            ..l.clone()
        })
        .collect();
    write_tape(tapes.join("short_terms.parquet"), &short, opts(8)).unwrap();
    let rows: Vec<Row> = book[..5].iter().map(Row::from).collect();
    let cols: Vec<_> = tape_columns(&rows, ALL_COLUMNS)
        .into_iter()
        .filter(|(n, _)| *n != "fico")
        .collect();
    write_arrays(&tapes.join("missing_fico.parquet"), cols, 8);
    let cols: Vec<_> = tape_columns(&rows, ALL_COLUMNS)
        .into_iter()
        .map(|(n, a)| -> (&str, ArrayRef) {
            if n == "fico" {
                (n, Arc::new(StringArray::from(vec!["720"; rows.len()])))
            } else {
                (n, a)
            }
        })
        .collect();
    write_arrays(&tapes.join("fico_as_text.parquet"), cols, 8);
    let whole = std::fs::read(tapes.join("valid_20.parquet")).unwrap();
    std::fs::write(tapes.join("truncated.parquet"), &whole[..whole.len() / 2]).unwrap();
    std::fs::write(
        tapes.join("csv_not_parquet.parquet"),
        "loan_id,upb,note_rate\nL1,200000,0.06\n",
    )
    .unwrap();
    std::fs::write(tapes.join("zero_bytes.parquet"), b"").unwrap();

    // Path files: 4 Hull–White paths of 24 months from the default config.
    let config = msr_core::Config::default();
    let model =
        msr_rates::RateModel::from_config(&config.curve, &config.hull_white, &config.mortgage_rate)
            .unwrap();
    let normals = msr_rates::NormalGenerator::new(7, true).normals(4, 24);
    let set = model.paths(&normals, 24);
    write_path_file(paths.join("valid_4x24.parquet"), &set).unwrap();
    // Two paths whose discount factor in month 3 of path 1 is 1e308: finite in
    // the file, but any cash flow times it overflows (the engine's
    // non-finite guard).
    let mut huge = PathSet::new(
        set.short_rate.slice(ndarray::s![..2, ..]).to_owned(),
        set.mortgage_rate.slice(ndarray::s![..2, ..]).to_owned(),
        set.discount.slice(ndarray::s![..2, ..]).to_owned(),
    )
    .unwrap();
    huge.discount[[1, 2]] = 1e308;
    write_path_file(paths.join("huge_discount_2x24.parquet"), &huge).unwrap();
    let grid: Vec<PathRow> = (0..3)
        .flat_map(|p| {
            (1..=12).map(move |m| PathRow {
                path: Some(p),
                month: Some(m),
                values: [
                    Some(0.04),
                    Some(0.06),
                    Some((-0.04 * f64::from(m) / 12.0).exp()),
                ],
            })
        })
        .collect();
    let ragged: Vec<PathRow> = grid
        .iter()
        .filter(|r| (r.path, r.month) != (Some(1), Some(7)))
        .cloned()
        .collect();
    write_path_rows(&paths.join("ragged_missing_month.parquet"), &ragged, 100);
    let mut nan = grid.clone();
    nan[4].values[2] = Some(f64::NAN);
    write_path_rows(&paths.join("nan_discount.parquet"), &nan, 100);
    let mut dup = grid.clone();
    dup.push(grid[26].clone());
    write_path_rows(&paths.join("duplicate_row.parquet"), &dup, 100);
    let mut negative = grid.clone();
    negative[10].path = Some(-1);
    write_path_rows(&paths.join("negative_path.parquet"), &negative, 100);
    write_path_rows(&paths.join("no_rows.parquet"), &[], 100);
}
