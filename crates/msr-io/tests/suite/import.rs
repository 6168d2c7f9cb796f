//! The importers end to end on hand-written fixtures to the official
//! layouts (tests/fixtures/import/README.md describes every loan): the
//! expected tape field by field, every reject with its reason, the counts of
//! skipped loans by reason, and the streaming structure (bounded row groups,
//! progress) on a large synthetic file that is never held in memory.

use std::collections::BTreeMap;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use msr_core::config::Tape;
use msr_core::schedule::balance_factor;
use msr_core::{DqState, Investor, Loan, Reject};
use msr_io::import::{
    import_csv, import_fannie, import_freddie, CsvMapping, ImportError, ImportOptions,
    ImportReport, Input, YearMonth,
};
use msr_io::{parquet_info, read_rejects, read_tape, RejectWriter, TapeWriteOptions};

fn fixture(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name);
    assert!(path.exists(), "fixture {} missing", path.display());
    path
}

fn as_of() -> YearMonth {
    YearMonth::from_yyyymm("202406").unwrap()
}

/// What an import produced, read back from its files.
struct Run {
    loans: Vec<Loan>,
    rejects: Vec<Reject>,
    report: ImportReport,
}

/// Run an import into a temporary directory and read the tape back with
/// the validating tape reader, which must accept every row (the importers
/// apply the same rules).
fn run(import: impl FnOnce(&Path, &mut RejectWriter) -> Result<ImportReport, ImportError>) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let tape = dir.path().join("tape.parquet");
    let rejects_path = dir.path().join("rejects.csv");
    let mut rejects = RejectWriter::create(&rejects_path).unwrap();
    let report = import(&tape, &mut rejects).unwrap();
    rejects.finish().unwrap();
    let (loans, reader_rejects, stats) = read_tape(&tape, &Tape::default()).unwrap();
    assert!(
        reader_rejects.is_empty(),
        "the tape reader rejected imported rows: {reader_rejects:?}"
    );
    assert_eq!(stats.valid, report.imported);
    Run {
        loans,
        rejects: read_rejects(&rejects_path).unwrap(),
        report,
    }
}

fn freddie(orig: &str, perf: &str, options: &ImportOptions) -> Run {
    run(|tape, rejects| {
        import_freddie(
            Input::open(fixture(orig)).unwrap(),
            Input::open(fixture(perf)).unwrap(),
            tape,
            rejects,
            options,
            &mut |_| {},
        )
    })
}

fn fannie(options: &ImportOptions) -> Run {
    run(|tape, rejects| {
        import_fannie(
            Input::open(fixture("fannie_perf.txt")).unwrap(),
            tape,
            rejects,
            options,
            &mut |_| {},
        )
    })
}

/// A GSE loan: 25 bp fee, no escrow, one loan, no advances.
#[allow(clippy::too_many_arguments)]
fn gse(
    id: &str,
    investor: Investor,
    upb: f64,
    note_rate: f64,
    remaining_term: u32,
    loan_age: u32,
    fico: i32,
    ltv: f64,
    dq_status: DqState,
    state: &str,
) -> Loan {
    Loan {
        loan_id: id.to_string(),
        upb,
        note_rate,
        servicing_fee: 0.0025,
        remaining_term,
        loan_age,
        fico,
        ltv,
        investor,
        dq_status,
        property_state: state.as_bytes().try_into().unwrap(),
        escrow_monthly: 0.0,
        loan_count: 1,
        advance_balance: 0.0,
    }
}

/// Compare the imported loans with the expected ones, loan by loan and field
/// by field (exact: the expected values are the same arithmetic on the
/// fixture's numbers, written out).
fn check(got: &[Loan], expected: &[Loan]) {
    let got_ids: Vec<&str> = got.iter().map(|l| l.loan_id.as_str()).collect();
    let want_ids: Vec<&str> = expected.iter().map(|l| l.loan_id.as_str()).collect();
    assert_eq!(got_ids, want_ids, "imported loans");
    for (g, w) in got.iter().zip(expected) {
        let id = &w.loan_id;
        assert_eq!(g.upb, w.upb, "{id} upb");
        assert_eq!(g.note_rate, w.note_rate, "{id} note_rate");
        assert_eq!(g.servicing_fee, w.servicing_fee, "{id} servicing_fee");
        assert_eq!(g.remaining_term, w.remaining_term, "{id} remaining_term");
        assert_eq!(g.loan_age, w.loan_age, "{id} loan_age");
        assert_eq!(g.fico, w.fico, "{id} fico");
        assert_eq!(g.ltv, w.ltv, "{id} ltv");
        assert_eq!(g.investor, w.investor, "{id} investor");
        assert_eq!(g.dq_status, w.dq_status, "{id} dq_status");
        assert_eq!(g.property_state, w.property_state, "{id} property_state");
        assert_eq!(g.escrow_monthly, w.escrow_monthly, "{id} escrow_monthly");
        assert_eq!(g.loan_count, w.loan_count, "{id} loan_count");
        assert_eq!(g.advance_balance, w.advance_balance, "{id} advance_balance");
    }
}

/// `(row, loan_id, column, value, rule)` of each reject, in file order.
fn check_rejects(got: &[Reject], expected: &[(u64, &str, &str, &str, &str)]) {
    let got: Vec<(u64, &str, &str, &str, &str)> = got
        .iter()
        .map(|r| {
            (
                r.row,
                r.loan_id.as_str(),
                r.column.as_str(),
                r.value.as_str(),
                r.rule.as_str(),
            )
        })
        .collect();
    assert_eq!(got, expected);
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, n)| (k.to_string(), *n)).collect()
}

const ELTV: &str = "ltv = ELTV (Freddie Mac estimated LTV)";
const AMORTIZED: &str = "ltv = original LTV x current UPB / original UPB";
const UPB_SCHEDULE: &str = "upb = scheduled balance (Current Actual UPB not disclosed)";

fn freddie_expected() -> Vec<Loan> {
    use DqState::*;
    let f = |id: u32| format!("F23Q1{id:07}");
    let fh = Investor::Fhlmc;
    vec![
        gse(
            &f(1),
            fh,
            314229.35,
            6.125 / 100.0,
            345,
            15,
            745,
            72.0,
            C,
            "NY",
        ),
        gse(
            &f(2),
            fh,
            246421.07,
            6.5 / 100.0,
            345,
            15,
            690,
            95.0 * 246421.07 / 250000.0,
            D30,
            "TX",
        ),
        gse(
            &f(3),
            fh,
            405428.11,
            6.75 / 100.0,
            345,
            15,
            702,
            88.0,
            D60,
            "CA",
        ),
        gse(
            &f(4),
            fh,
            178480.00,
            7.0 / 100.0,
            345,
            15,
            655,
            90.0 * 178480.00 / 180000.0,
            D90,
            "FL",
        ),
        gse(
            &f(5),
            fh,
            208455.19,
            6.875 / 100.0,
            345,
            15,
            640,
            85.0 * 208455.19 / 210000.0,
            D120,
            "IL",
        ),
        // Delinquency status 9: 4 and more months is D120.
        gse(
            &f(6),
            fh,
            149000.00,
            7.25 / 100.0,
            345,
            15,
            610,
            97.0 * 149000.00 / 150000.0,
            D120,
            "NJ",
        ),
        // Original LTV 999, ELTV 64.
        gse(
            &f(18),
            fh,
            285630.00,
            6.375 / 100.0,
            345,
            15,
            741,
            64.0,
            C,
            "MN",
        ),
        // Current Actual UPB 0 on an active record: the scheduled balance
        // after 6 payments (first payment 202401, as of 202406).
        gse(
            &f(24),
            fh,
            360000.0 * balance_factor(7.0 / 100.0, 360, 6),
            7.0 / 100.0,
            355,
            5,
            755,
            80.0,
            C,
            "SC",
        ),
        // Modified: current rate 4 %, 418 months to legal maturity.
        gse(
            &f(25),
            fh,
            283700.00,
            4.0 / 100.0,
            418,
            15,
            630,
            90.0 * 283700.00 / 280000.0,
            C,
            "AL",
        ),
        // As of the month before the first payment: age 0; Puerto Rico.
        gse(
            &f(29),
            fh,
            150000.00,
            6.75 / 100.0,
            360,
            0,
            750,
            80.0 * 150000.00 / 150000.0,
            C,
            "PR",
        ),
        // ELTV blank.
        gse(
            &f(30),
            fh,
            221890.00,
            5.875 / 100.0,
            345,
            15,
            801,
            60.0 * 221890.00 / 225000.0,
            C,
            "WA",
        ),
    ]
}

#[test]
fn freddie_release_46_fixture_maps_field_by_field() {
    let run = freddie(
        "freddie_orig_r46.txt",
        "freddie_perf_r46.txt",
        &ImportOptions::new(as_of()),
    );
    check(&run.loans, &freddie_expected());

    let fico = "fico (Credit Score, origination field 1)";
    check_rejects(
        &run.rejects,
        &[
            (61, "F23Q10000016", fico, "9999", "is not available (9999); give --missing-fico to import such loans"),
            (66, "F23Q10000017", "ltv (Original LTV, origination field 12)", "999",
                "is not available (999) and there is no ELTV; give --missing-ltv to import such loans"),
            (76, "F23Q10000019", "dq_status (Current Loan Delinquency Status, performance field 4)", "XX",
                "is not available (XX or blank): the loan's state is unknown"),
            (81, "F23Q10000020", "servicing_fee (import option)", "0.0025", "must be 0 or in [1e-6, note_rate] = [1e-6, 0.002]"),
            (86, "F23Q10000021", "remaining_term (Remaining Months to Legal Maturity, performance field 6)", "0",
                "must be in 1..=480"),
            (105, "F23Q19999999", "loan_id (Loan Sequence Number, performance field 1)", "F23Q19999999",
                "must have a record in the origination file"),
            (97, "F23Q10000026", "loan_id (Loan Sequence Number, performance field 1)", "F23Q10000026",
                "must be unique: loan_id has 2 records"),
            (98, "F23Q10000026", "loan_id (Loan Sequence Number, performance field 1)", "F23Q10000026",
                "must be unique: loan_id has 2 records"),
        ],
    );

    let r = &run.report;
    assert_eq!(
        r.skipped,
        counts(&[
            ("zero balance code 01 (prepaid or matured)", 2),
            ("zero balance code 02 (third party sale)", 1),
            ("zero balance code 03 (short sale or charge off)", 1),
            ("zero balance code 09 (REO disposition)", 1),
            ("zero balance code 15 (whole loan sale)", 1),
            ("zero balance code 16 (reperforming loan sale)", 1),
            (
                "zero balance code 96 (defect prior to property disposition)",
                1
            ),
            ("REO acquisition (delinquency status RA)", 1),
            ("first record after the as-of month", 1),
            ("no record for the as-of month", 1),
            (
                "records end before the as-of month without a zero balance code",
                1
            ),
            ("no performance records", 1),
        ])
    );
    assert_eq!(
        r.estimated,
        counts(&[(ELTV, 4), (AMORTIZED, 7), (UPB_SCHEDULE, 1)])
    );
    assert_eq!((r.imported, r.rejected, r.skipped_total()), (11, 8, 13));
    // 30 origination loans and one as-of record without one; F23Q10000026's
    // two as-of records give two rejects.
    assert_eq!(r.loans_seen, 31);
    assert_eq!(
        r.imported + (r.rejected - 1) + r.skipped_total(),
        r.loans_seen
    );
    assert_eq!(r.orphan_records, 1);
    assert_eq!(r.records_read, 30 + 106);
    let bytes = std::fs::metadata(fixture("freddie_orig_r46.txt"))
        .unwrap()
        .len()
        + std::fs::metadata(fixture("freddie_perf_r46.txt"))
            .unwrap()
            .len();
    assert_eq!(r.bytes_read, bytes);
}

#[test]
fn freddie_sentinels_can_be_filled_by_option() {
    let mut options = ImportOptions::new(as_of());
    options.missing_fico = Some(680);
    options.missing_ltv = Some(85.0);
    let run = freddie("freddie_orig_r46.txt", "freddie_perf_r46.txt", &options);
    let mut expected = freddie_expected();
    let fh = Investor::Fhlmc;
    // Credit score 9999 → 680; LTV from the original LTV as usual.
    let l16 = gse(
        "F23Q10000016",
        fh,
        236340.00,
        6.25 / 100.0,
        345,
        15,
        680,
        80.0 * 236340.00 / 240000.0,
        DqState::C,
        "VA",
    );
    // Original LTV 999 and ELTV 999 → 85.
    let l17 = gse(
        "F23Q10000017",
        fh,
        324990.00,
        6.25 / 100.0,
        345,
        15,
        735,
        85.0,
        DqState::C,
        "MA",
    );
    expected.insert(6, l16);
    expected.insert(7, l17);
    check(&run.loans, &expected);
    assert_eq!((run.report.imported, run.report.rejected), (13, 6));
    assert_eq!(
        run.report.estimated,
        counts(&[
            (ELTV, 4),
            (AMORTIZED, 8),
            (UPB_SCHEDULE, 1),
            ("fico = --missing-fico (credit score not available)", 1),
            ("ltv = --missing-ltv (no LTV available)", 1),
        ])
    );
}

#[test]
fn freddie_release_47_layout_imports_the_same_loans() {
    // Release 47: 31 origination fields (servicer name and MI cancellation
    // moved out, VantageScore added at the end), 35 performance fields,
    // zero-padded delinquency status, ELTV 999 instead of blank.
    let run = freddie(
        "freddie_orig_r47.txt",
        "freddie_perf_r47.txt",
        &ImportOptions::new(as_of()),
    );
    let keep = [
        "F23Q10000001",
        "F23Q10000002",
        "F23Q10000006",
        "F23Q10000018",
        "F23Q10000024",
    ];
    let expected: Vec<Loan> = freddie_expected()
        .into_iter()
        .filter(|l| keep.contains(&l.loan_id.as_str()))
        .collect();
    check(&run.loans, &expected);
    assert!(run.rejects.is_empty(), "{:?}", run.rejects);
    assert_eq!(
        run.report.skipped,
        counts(&[
            ("REO acquisition (delinquency status RA)", 1),
            ("zero balance code 02 (third party sale)", 1),
        ])
    );
}

#[test]
fn fannie_fixture_maps_field_by_field() {
    use DqState::*;
    let run = fannie(&ImportOptions::new(as_of()));
    let n = |id: u32| format!("1000000000{id:02}");
    let fn_ = Investor::Fnma;
    let young = 300000.0 * balance_factor(7.0 / 100.0, 360, 3);
    check(
        &run.loans,
        &[
            gse(
                &n(1),
                fn_,
                394079.31,
                6.75 / 100.0,
                345,
                15,
                760,
                75.0 * 394079.31 / 400000.0,
                C,
                "CA",
            ),
            gse(
                &n(2),
                fn_,
                276310.00,
                6.5 / 100.0,
                345,
                15,
                700,
                90.0 * 276310.00 / 280000.0,
                D30,
                "TX",
            ),
            gse(
                &n(3),
                fn_,
                296920.00,
                7.0 / 100.0,
                345,
                15,
                680,
                95.0 * 296920.00 / 300000.0,
                D60,
                "FL",
            ),
            gse(
                &n(4),
                fn_,
                188100.00,
                6.875 / 100.0,
                345,
                15,
                665,
                85.0 * 188100.00 / 190000.0,
                D90,
                "GA",
            ),
            // Status 05: D120.
            gse(
                &n(5),
                fn_,
                208700.00,
                7.25 / 100.0,
                345,
                15,
                640,
                97.0 * 208700.00 / 210000.0,
                D120,
                "OH",
            ),
            // 06: Foreclosure Date populated: the foreclosure completed, the
            // property was acquired; skipped, not FC (docs/import.md).
            // Current Actual UPB blank: scheduled balance after 3 payments.
            gse(
                &n(16),
                fn_,
                young,
                7.0 / 100.0,
                358,
                2,
                755,
                80.0 * young / 300000.0,
                C,
                "SC",
            ),
            // Current Interest Rate blank: the original rate.
            gse(
                &n(19),
                fn_,
                251600.00,
                6.375 / 100.0,
                345,
                15,
                745,
                78.0 * 251600.00 / 255000.0,
                C,
                "MN",
            ),
            // Status 04: D120.
            gse(
                &n(20),
                fn_,
                213200.00,
                6.75 / 100.0,
                345,
                15,
                690,
                90.0 * 213200.00 / 215000.0,
                D120,
                "IN",
            ),
            gse(
                &n(22),
                fn_,
                492650.00,
                5.875 / 100.0,
                345,
                15,
                820,
                60.0 * 492650.00 / 500000.0,
                C,
                "HI",
            ),
        ],
    );
    check_rejects(
        &run.rejects,
        &[
            (
                44,
                "100000000013",
                "fico (Borrower Credit Score at Origination, field 24)",
                "",
                "is not available (blank); give --missing-fico to import such loans",
            ),
            (
                49,
                "100000000014",
                "ltv (Original Loan to Value Ratio, field 20)",
                "",
                "is not available (blank); give --missing-ltv to import such loans",
            ),
            (
                54,
                "100000000015",
                "dq_status (Current Loan Delinquency Status, field 40)",
                "XX",
                "is not available (XX or blank): the loan's state is unknown",
            ),
            (
                65,
                "100000000021",
                "property_state (Property State, field 31)",
                "",
                "must be 2 upper-case letters",
            ),
        ],
    );
    let r = &run.report;
    assert_eq!(
        r.skipped,
        counts(&[
            ("zero balance code 01 (prepaid or matured)", 2),
            ("zero balance code 03 (short sale)", 1),
            ("zero balance code 06 (repurchased)", 1),
            ("zero balance code 09 (deed-in-lieu or REO disposition)", 1),
            ("zero balance code 16 (reperforming loan sale)", 1),
            ("first record after the as-of month", 1),
            ("no record for the as-of month", 1),
            (msr_io::import::fannie::FORECLOSURE_COMPLETED, 1),
        ])
    );
    assert_eq!(
        r.estimated,
        counts(&[
            (AMORTIZED, 9),
            (UPB_SCHEDULE, 1),
            (
                "note_rate = Original Interest Rate (Current Interest Rate blank)",
                1
            ),
        ])
    );
    assert_eq!(
        (r.imported, r.rejected, r.skipped_total(), r.loans_seen),
        (9, 4, 9, 22)
    );
    assert_eq!(r.records_read, 68);
}

#[test]
fn fannie_sentinels_can_be_filled_by_option() {
    let mut options = ImportOptions::new(as_of());
    options.missing_fico = Some(700);
    options.missing_ltv = Some(90.0);
    let run = fannie(&options);
    let get = |id: &str| run.loans.iter().find(|l| l.loan_id == id).unwrap();
    assert_eq!(get("100000000013").fico, 700);
    assert_eq!(get("100000000014").ltv, 90.0);
    assert_eq!((run.report.imported, run.report.rejected), (11, 2));
}

#[test]
fn csv_tape_maps_columns_values_constants_and_scales() {
    let mapping = CsvMapping::load(fixture("servicer_mapping.toml")).unwrap();
    let run = run(|tape, rejects| {
        import_csv(
            &mapping,
            Input::open(fixture("servicer_tape.csv")).unwrap(),
            tape,
            rejects,
            TapeWriteOptions::default(),
            &mut |_| {},
        )
    });
    let loan = |id: &str,
                inv,
                upb,
                rate_pct: f64,
                fee_bps: f64,
                rem,
                age,
                fico,
                ltv,
                dq,
                st: &str,
                escrow,
                adv| Loan {
        loan_id: id.into(),
        upb,
        note_rate: rate_pct * 0.01,
        servicing_fee: fee_bps * 0.0001,
        remaining_term: rem,
        loan_age: age,
        fico,
        ltv,
        investor: inv,
        dq_status: dq,
        property_state: st.as_bytes().try_into().unwrap(),
        escrow_monthly: escrow,
        loan_count: 1,
        advance_balance: adv,
    };
    use DqState::*;
    use Investor::*;
    check(
        &run.loans,
        &[
            loan(
                "SV-0001", Fnma, 250000.0, 6.25, 25.0, 330, 30, 740, 72.5, C, "CA", 410.25, 0.0,
            ),
            // Blank escrow: the default 0.
            loan(
                "SV-0002", Fhlmc, 180000.5, 5.75, 25.0, 300, 60, 700, 65.0, D30, "TX", 0.0, 125.5,
            ),
            loan(
                "SV-0003", Gnma, 99000.0, 7.125, 44.0, 350, 10, 650, 96.5, D90, "FL", 300.0, 2200.0,
            ),
            loan(
                "SV-0004", Fnma, 310000.0, 6.5, 25.0, 340, 20, 800, 80.0, Fc, "NY", 550.0, 9800.0,
            ),
            loan(
                "SV-0014", Fhlmc, 200000.0, 6.5, 25.0, 340, 20, 720, 80.0, D120, "PA", 0.0, 0.0,
            ),
        ],
    );
    let fee = (25.0f64 * 0.0001).to_string();
    let fee_rule = format!(
        "must be 0 or in [1e-6, note_rate] = [1e-6, {}]",
        0.2f64 * 0.01
    );
    let unique = "must be unique: loan_id has 2 records";
    check_rejects(
        &run.rejects,
        &[
            (4, "SV-0005", "CurrentBalance", "abc", "is not a number"),
            (
                5,
                "SV-0006",
                "FICO",
                "",
                "must not be null (required column)",
            ),
            (
                6,
                "SV-0007",
                "Status",
                "9",
                "is not a key of [values.dq_status]",
            ),
            (7, "SV-0008", "ServFeeBps", &fee, &fee_rule),
            (
                8,
                "SV-0009",
                "Investor",
                "XX",
                "is not a key of [values.investor]",
            ),
            (11, "SV-0011", "State", "nj", "must be 2 upper-case letters"),
            (
                12,
                "SV-0012",
                "AdvBal",
                "50",
                "must be 0 when dq_status is C",
            ),
            (13, "SV-0013", "RemTerm", "500", "must be in 1..=480"),
            (9, "SV-0010", "LoanNumber", "SV-0010", unique),
            (10, "SV-0010", "LoanNumber", "SV-0010", unique),
        ],
    );
    assert_eq!(
        (
            run.report.loans_seen,
            run.report.imported,
            run.report.rejected
        ),
        (15, 5, 10)
    );
}

#[test]
fn csv_mapping_naming_a_missing_header_fails_the_file() {
    let text = std::fs::read_to_string(fixture("servicer_mapping.toml"))
        .unwrap()
        .replace("\"CLTV\"", "\"CurrentLTV\"");
    let mapping = CsvMapping::from_toml_str(&text, Path::new("m.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut rejects = RejectWriter::create(dir.path().join("r.csv")).unwrap();
    let err = import_csv(
        &mapping,
        Input::open(fixture("servicer_tape.csv")).unwrap(),
        &dir.path().join("t.parquet"),
        &mut rejects,
        TapeWriteOptions::default(),
        &mut |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.ends_with(
            "servicer_tape.csv: missing column `CurrentLTV` (mapped to `ltv` by the mapping file)"
        ),
        "{err}"
    );
    assert!(!dir.path().join("t.parquet").exists());
}

#[test]
fn a_file_of_the_wrong_layout_fails_with_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let tape = dir.path().join("t.parquet");
    let mut rejects = RejectWriter::create(dir.path().join("r.csv")).unwrap();
    let options = ImportOptions::new(as_of());
    // Fannie's file given as Freddie's performance file: field 2 is a loan
    // identifier, not a YYYYMM period.
    let err = import_freddie(
        Input::open(fixture("freddie_orig_r46.txt")).unwrap(),
        Input::open(fixture("fannie_perf.txt")).unwrap(),
        &tape,
        &mut rejects,
        &options,
        &mut |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.ends_with(
            "fannie_perf.txt: line 1: Monthly Reporting Period (field 2) `100000000001` is not YYYYMM"
        ),
        "{err}"
    );
    // Freddie's performance file given as Fannie's: 32 fields, not 52+.
    let err = import_fannie(
        Input::open(fixture("freddie_perf_r46.txt")).unwrap(),
        &tape,
        &mut rejects,
        &options,
        &mut |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.ends_with(
            "freddie_perf_r46.txt: line 1: 32 fields; the performance layout has at least 52"
        ),
        "{err}"
    );
    assert!(!tape.exists(), "a failed import leaves no tape");
}

#[test]
fn options_out_of_range_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut rejects = RejectWriter::create(dir.path().join("r.csv")).unwrap();
    let mut options = ImportOptions::new(as_of());
    options.servicing_fee = 0.3;
    let err = import_fannie(
        Input::open(fixture("fannie_perf.txt")).unwrap(),
        &dir.path().join("t.parquet"),
        &mut rejects,
        &options,
        &mut |_| {},
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "servicing fee 0.3 must be in [0, 0.25)");
}

/// A Fannie Mae performance file generated line by line as it is read:
/// `loans` loans with months 05/2024, 06/2024 and 07/2024 each. The whole
/// file never exists in memory.
struct SyntheticFannie {
    template: Vec<String>,
    loans: u64,
    next: u64,
    line: Vec<u8>,
    pos: usize,
}

impl SyntheticFannie {
    fn new(loans: u64) -> SyntheticFannie {
        let text = std::fs::read_to_string(fixture("fannie_perf.txt")).unwrap();
        let template = text
            .lines()
            .next()
            .unwrap()
            .split('|')
            .map(String::from)
            .collect();
        SyntheticFannie {
            template,
            loans,
            next: 0,
            line: Vec::new(),
            pos: 0,
        }
    }
}

impl Read for SyntheticFannie {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.line.len() {
            if self.next == self.loans * 3 {
                return Ok(0);
            }
            let (loan, month) = (self.next / 3, self.next % 3);
            let mut f = self.template.clone();
            f[1] = format!("9{loan:011}");
            f[2] = format!("{:02}2024", 5 + month);
            self.line = (f.join("|") + "\n").into_bytes();
            self.pos = 0;
            self.next += 1;
        }
        let n = buf.len().min(self.line.len() - self.pos);
        buf[..n].copy_from_slice(&self.line[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[test]
fn import_streams_in_row_group_chunks_with_progress() {
    // Memory is bounded by construction: the input is read line by line,
    // per-loan state is a few bytes, and loans are handed to the writer one
    // row group at a time. This shows the structure (row groups no larger
    // than the chunk, progress in steps up to the total), not a timing.
    let loans = 30_000;
    let dir = tempfile::tempdir().unwrap();
    let tape = dir.path().join("t.parquet");
    let mut rejects = RejectWriter::create(dir.path().join("r.csv")).unwrap();
    let mut options = ImportOptions::new(as_of());
    options.tape.max_row_group_rows = 4_000;
    let mut seen = Vec::new();
    let report = import_fannie(
        Input::new("synthetic", BufReader::new(SyntheticFannie::new(loans))),
        &tape,
        &mut rejects,
        &options,
        &mut |bytes| seen.push(bytes),
    )
    .unwrap();
    rejects.finish().unwrap();
    assert_eq!(report.records_read, 3 * loans);
    assert_eq!(
        (report.imported, report.rejected, report.loans_seen),
        (loans, 0, loans)
    );
    let info = parquet_info(&tape).unwrap();
    assert_eq!(info.num_rows, loans);
    assert_eq!(info.num_row_groups(), 8);
    assert!(
        info.row_group_rows.iter().all(|&n| n <= 4_000),
        "{:?}",
        info.row_group_rows
    );
    assert!(seen.len() > 5, "progress reported {} times", seen.len());
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "progress must increase"
    );
    assert_eq!(seen.last().copied(), Some(report.bytes_read));
}

/// `msr history`: the panel rows a history builds, `(loan_id, period,
/// dq_status, next_status)` in file order.
fn panel_rows(path: &Path) -> Vec<(String, i64, String, String)> {
    let t = msr_io::read_table(path).unwrap();
    let ids = t.text("loan_id").unwrap();
    let periods = t.numbers("period").unwrap();
    let dq = t.text("dq_status").unwrap();
    let next = t.text("next_status").unwrap();
    (0..t.num_rows)
        .map(|i| {
            (
                ids[i].clone(),
                periods[i].unwrap() as i64,
                dq[i].clone(),
                next[i].clone(),
            )
        })
        .collect()
}

fn row(id: &str, period: i64, dq: &str, next: &str) -> (String, i64, String, String) {
    (id.to_string(), period, dq.to_string(), next.to_string())
}

#[test]
fn history_freddie_builds_the_loan_month_panel() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("panel.parquet");
    let report = msr_io::import::history_freddie(
        Input::open(fixture("freddie_orig_r46.txt")).unwrap(),
        Input::open(fixture("freddie_history_perf.txt")).unwrap(),
        &out,
        &ImportOptions::new(as_of()),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(
        panel_rows(&out),
        vec![
            row("F23Q10000001", 202403, "C", "C"),
            row("F23Q10000001", 202404, "C", "PP"),
            row("F23Q10000002", 202403, "D90", "D120"),
            row("F23Q10000002", 202404, "D120", "LIQ"),
            row("F23Q10000003", 202403, "D120", "MOD"),
            row("F23Q10000003", 202404, "C", "C"),
        ]
    );
    assert_eq!(report.rows_written, 6);
    assert_eq!(report.loans, 3);
    let t = msr_io::read_table(&out).unwrap();
    assert!(t.text("investor").unwrap().iter().all(|x| x == "FHLMC"));
    assert_eq!(t.numbers("note_rate").unwrap()[0], Some(0.06125));
    assert_eq!(t.text("property_state").unwrap()[0], "NY");
    assert_eq!(
        report.not_written.values().sum::<u64>(),
        2,
        "{:?}",
        report.not_written
    );
}

#[test]
fn history_fannie_builds_the_loan_month_panel() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("panel.parquet");
    let report = msr_io::import::history_fannie(
        Input::open(fixture("fannie_history.txt")).unwrap(),
        &out,
        &ImportOptions::new(as_of()),
        &mut |_| {},
    )
    .unwrap();
    let a = "200000000001";
    let b = "200000000002";
    assert_eq!(
        panel_rows(&out),
        vec![
            row(a, 202403, "C", "C"),
            row(a, 202404, "C", "D30"),
            row(a, 202405, "D30", "C"),
            row(a, 202406, "C", "PP"),
            row(b, 202403, "D120", "D120"),
            row(b, 202404, "D120", "MOD"),
            row(b, 202405, "C", "C"),
            row(b, 202406, "C", "C"),
            row("200000000003", 202403, "D120", "DIL"),
        ]
    );
    assert_eq!(report.records_read, 12);
    assert_eq!(report.by_next.get("MOD"), Some(&1));

    // A loan whose records come back after another loan's is refused.
    let text = std::fs::read_to_string(fixture("fannie_history.txt")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let first = lines.remove(0);
    lines.push(first);
    let shuffled = dir.path().join("shuffled.txt");
    std::fs::write(&shuffled, lines.join("\n") + "\n").unwrap();
    let err = msr_io::import::history_fannie(
        Input::open(&shuffled).unwrap(),
        &dir.path().join("p2.parquet"),
        &ImportOptions::new(as_of()),
        &mut |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("line 12") && err.contains("contiguous"),
        "{err}"
    );
}
