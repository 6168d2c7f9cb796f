//! Issue 28, the input side of `msr import`: a file cut mid-line, a line
//! without end, an import that yields no loans, and the Fannie Mae credit
//! score that moved. Every importer (Freddie origination and performance,
//! Fannie, CSV) through the library, on the fixtures of `tests/import.rs`
//! (cut, edited or replaced in memory).

use std::io::{BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

use msr_core::config::Tape;
use msr_io::import::{
    import_csv, import_fannie, import_freddie, CsvMapping, ImportError, ImportOptions,
    ImportReport, Input, YearMonth, MAX_LINE_BYTES,
};
use msr_io::{read_tape, RejectWriter, TapeWriteOptions};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
}

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

fn as_of() -> YearMonth {
    YearMonth::from_yyyymm("202406").unwrap()
}

/// Which importer, and which of its inputs is replaced by the test's bytes.
#[derive(Debug, Clone, Copy)]
enum Target {
    FreddieOrigination,
    FreddiePerformance,
    Fannie,
    Csv,
}

const TARGETS: [Target; 4] = [
    Target::FreddieOrigination,
    Target::FreddiePerformance,
    Target::Fannie,
    Target::Csv,
];

impl Target {
    fn fixture(self) -> &'static str {
        match self {
            Target::FreddieOrigination => "freddie_orig_r46.txt",
            Target::FreddiePerformance => "freddie_perf_r46.txt",
            Target::Fannie => "fannie_perf.txt",
            Target::Csv => "servicer_tape.csv",
        }
    }
}

/// Run one importer with `input` in place of the target's file (named
/// `name` in messages); the result, and whether a tape was left.
fn import_with<R: BufRead>(
    target: Target,
    name: &str,
    input: R,
    options: &ImportOptions,
) -> (Result<ImportReport, ImportError>, bool) {
    let dir = tempfile::tempdir().unwrap();
    let tape = dir.path().join("t.parquet");
    let mut rejects = RejectWriter::create(dir.path().join("r.csv")).unwrap();
    let input = Input::new(name, input);
    let open = |f: &str| Input::open(fixture(f)).unwrap();
    let result = match target {
        Target::FreddieOrigination => import_freddie(
            input,
            open("freddie_perf_r46.txt"),
            &tape,
            &mut rejects,
            options,
            &mut |_| {},
        ),
        Target::FreddiePerformance => import_freddie(
            open("freddie_orig_r46.txt"),
            input,
            &tape,
            &mut rejects,
            options,
            &mut |_| {},
        ),
        Target::Fannie => import_fannie(input, &tape, &mut rejects, options, &mut |_| {}),
        Target::Csv => {
            let mapping = CsvMapping::load(fixture("servicer_mapping.toml")).unwrap();
            import_csv(
                &mapping,
                input,
                &tape,
                &mut rejects,
                TapeWriteOptions {
                    max_row_group_rows: 1000,
                },
                &mut |_| {},
            )
        }
    };
    (result, tape.exists())
}

fn permissive() -> ImportOptions {
    let mut options = ImportOptions::new(as_of());
    options.missing_fico = Some(700);
    options.missing_ltv = Some(80.0);
    options
}

#[test]
fn a_file_cut_mid_line_is_refused_naming_the_file_and_line() {
    for target in TARGETS {
        let whole = bytes(target.fixture());
        assert_eq!(whole.last(), Some(&b'\n'));
        let lines = whole.iter().filter(|&&b| b == b'\n').count();
        // Cut inside the last line: its newline and its last character go.
        let cut = &whole[..whole.len() - 2];
        let (result, tape) = import_with(target, "cut.txt", Cursor::new(cut), &permissive());
        let err = result.expect_err(&format!("{target:?}: a cut file imported"));
        let text = err.to_string();
        assert!(
            text.starts_with(&format!("cut.txt: line {lines}: ")) && text.contains("truncated"),
            "{target:?}: {text}"
        );
        assert!(!tape, "{target:?}: a tape was left");
        // The whole file still imports.
        let (result, tape) =
            import_with(target, "whole.txt", Cursor::new(&whole[..]), &permissive());
        assert!(result.is_ok() && tape, "{target:?}: {result:?}");
    }
    // A CSV with bare-CR line endings (old Macintosh exports) is whole.
    let cr: Vec<u8> = bytes("servicer_tape.csv")
        .into_iter()
        .map(|b| if b == b'\n' { b'\r' } else { b })
        .collect();
    let (result, tape) = import_with(Target::Csv, "cr.csv", Cursor::new(cr), &permissive());
    assert!(result.is_ok() && tape, "{result:?}");
}

/// An endless source with no newline that fails the test if more than
/// `limit` bytes are read from it (without the bound, the importers read
/// until memory runs out).
struct Endless {
    read: usize,
    limit: usize,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        assert!(
            self.read <= self.limit,
            "read {} bytes of a line with no end",
            self.read
        );
        buf.fill(b'7');
        self.read += buf.len();
        Ok(buf.len())
    }
}

#[test]
fn a_line_with_no_end_stops_at_the_bound() {
    for target in TARGETS {
        let source = Endless {
            read: 0,
            limit: 4 * MAX_LINE_BYTES,
        };
        let input: Box<dyn BufRead> = if matches!(target, Target::Csv) {
            // The header is fine; the first data row never ends.
            let header = csv_header();
            Box::new(BufReader::new(Cursor::new(header).chain(source)))
        } else {
            Box::new(BufReader::new(source))
        };
        let (result, tape) = import_with(target, "endless.txt", input, &permissive());
        let text = result.expect_err("an endless line imported").to_string();
        assert!(
            text.starts_with("endless.txt: line ")
                && text.contains(&format!("longer than {MAX_LINE_BYTES} bytes")),
            "{target:?}: {text}"
        );
        assert!(!tape);
    }
}

/// The servicer fixture's header row, newline included.
fn csv_header() -> Vec<u8> {
    let whole = bytes("servicer_tape.csv");
    let end = whole.iter().position(|&b| b == b'\n').unwrap();
    whole[..=end].to_vec()
}

#[test]
fn an_import_that_yields_no_loans_is_an_error_saying_why() {
    let header = csv_header();
    let cases: Vec<(Target, Vec<u8>, &str)> = vec![
        (
            Target::FreddieOrigination,
            vec![],
            "the origination file has no records",
        ),
        (
            Target::FreddiePerformance,
            vec![],
            "the file has no records",
        ),
        (Target::Fannie, vec![], "the file has no records"),
        (
            Target::Fannie,
            b"\r\r\r\r".to_vec(),
            "the file has no records",
        ),
        (
            Target::FreddiePerformance,
            b"\r\n\r\n \n".to_vec(),
            "the file has no records",
        ),
        (Target::Csv, vec![], "the file is empty"),
        (Target::Csv, header, "a header row and no data rows"),
    ];
    for (target, input, why) in cases {
        let (result, tape) = import_with(target, "in.txt", Cursor::new(input), &permissive());
        let text = result.expect_err("no loans, yet a success").to_string();
        assert!(
            text.starts_with("in.txt: no loans imported: ")
                && text.contains(why)
                && text.ends_with("nothing written"),
            "{target:?}: {text}"
        );
        assert!(!tape, "{target:?}: a tape was left");
    }
}

#[test]
fn an_as_of_month_with_no_record_names_the_months_the_file_covers() {
    let mut options = permissive();
    options.as_of = YearMonth::from_yyyymm("201001").unwrap();
    for target in [Target::FreddiePerformance, Target::Fannie] {
        let whole = bytes(target.fixture());
        let (result, tape) = import_with(target, "perf.txt", Cursor::new(whole), &options);
        let text = result.unwrap_err().to_string();
        assert!(
            text.starts_with(
                "perf.txt: no loans imported: no record for the as-of month 201001: the file's "
            ) && text.contains(" records cover 2024"),
            "{target:?}: {text}"
        );
        assert!(!tape);
    }
}

#[test]
fn records_all_skipped_or_rejected_are_an_error_with_the_first_reject() {
    // Fannie loan 15 (status XX) alone: its as-of record is rejected.
    let lines: String = String::from_utf8(bytes("fannie_perf.txt"))
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("|100000000015|") || l.starts_with("|100000000007|"))
        .map(|l| format!("{l}\n"))
        .collect();
    let (result, tape) = import_with(Target::Fannie, "f.txt", Cursor::new(lines), &permissive());
    let text = result.unwrap_err().to_string();
    assert!(
        text.starts_with("f.txt: no loans imported: the 2 records for the as-of month 202406 were all skipped or rejected: 1 skipped (1 zero balance code 01 (prepaid or matured)); 1 rejected (first: row ")
            && text.contains("loan `100000000015`, dq_status (Current Loan Delinquency Status, field 40) = `XX`"),
        "{text}"
    );
    assert!(!tape);
}

/// Fannie's lines for one loan with field `k` (1-based) set to `value` and
/// padded to `fields` fields.
fn fannie_loan(id: &str, edits: &[(usize, &str)], fields: usize) -> String {
    String::from_utf8(bytes("fannie_perf.txt"))
        .unwrap()
        .lines()
        .filter(|l| l.starts_with(&format!("|{id}|")))
        .map(|l| {
            let mut f: Vec<String> = l.split('|').map(str::to_string).collect();
            f.resize(fields, String::new());
            for (k, v) in edits {
                f[k - 1] = v.to_string();
            }
            format!("{}\n", f.join("|"))
        })
        .collect()
}

#[test]
fn fannie_reads_the_score_at_issuance_when_the_origination_score_is_blank() {
    // Loan 13 has field 24 blank. With field 69 (Borrower Credit Score At
    // Issuance) set, it imports with that score, counted as an estimate;
    // lines longer than the 110-field layout are read the same way.
    for fields in [110, 125] {
        let text = fannie_loan("100000000013", &[(69, "712")], fields)
            + &fannie_loan("100000000001", &[], fields);
        let dir = tempfile::tempdir().unwrap();
        let tape = dir.path().join("t.parquet");
        let mut rejects = RejectWriter::create(dir.path().join("r.csv")).unwrap();
        let report = import_fannie(
            Input::new("f.txt", Cursor::new(text)),
            &tape,
            &mut rejects,
            &ImportOptions::new(as_of()),
            &mut |_| {},
        )
        .unwrap();
        assert_eq!((report.imported, report.rejected), (2, 0), "{fields}");
        let (loans, _, _) = read_tape(&tape, &Tape::default()).unwrap();
        let l13 = loans.iter().find(|l| l.loan_id == "100000000013").unwrap();
        assert_eq!(l13.fico, 712);
        assert_eq!(
            report
                .estimated
                .iter()
                .find(|(k, _)| k.starts_with("fico = Borrower Credit Score at Issuance"))
                .map(|(_, n)| *n),
            Some(1)
        );
    }
    // Both blank (or 9999): still the "not available" reject.
    let text = fannie_loan("100000000013", &[(69, "9999")], 110);
    let dir = tempfile::tempdir().unwrap();
    let mut rejects = RejectWriter::create(dir.path().join("r.csv")).unwrap();
    let err = import_fannie(
        Input::new("f.txt", Cursor::new(text)),
        &dir.path().join("t.parquet"),
        &mut rejects,
        &ImportOptions::new(as_of()),
        &mut |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("fico (Borrower Credit Score at Origination, field 24) = ``"),
        "{err}"
    );
}

#[test]
fn fannie_foreclosure_date_means_the_property_was_acquired() {
    // Loan 6: delinquent 14 months with Foreclosure Date 052024 on its
    // as-of record: skipped (foreclosure completed), not imported as FC.
    let text = fannie_loan("100000000006", &[], 110) + &fannie_loan("100000000001", &[], 110);
    let dir = tempfile::tempdir().unwrap();
    let tape = dir.path().join("t.parquet");
    let mut rejects = RejectWriter::create(dir.path().join("r.csv")).unwrap();
    let report = import_fannie(
        Input::new("f.txt", Cursor::new(text)),
        &tape,
        &mut rejects,
        &ImportOptions::new(as_of()),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(report.imported, 1);
    assert_eq!(
        report
            .skipped
            .get(msr_io::import::fannie::FORECLOSURE_COMPLETED),
        Some(&1)
    );
}

/// Found by the CSV fuzz target (seed 28, case 8581): the only row is
/// rejected on a quoted value holding line breaks, and the "no loans" error
/// quoted it raw, over many lines. The value is shown escaped and cut.
#[test]
fn a_rejected_value_with_line_breaks_stays_on_one_line_in_the_error() {
    let header = String::from_utf8(bytes("servicer_tape.csv"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    let long = "x".repeat(200);
    let csv = format!(
        "{header}\nSV-0001,FN,250000.00,6.25,25,330,30,740,\"72\n5\u{1b}[2J{long}\",0,CA,410.25,0\n"
    );
    let (result, tape) = import_with(Target::Csv, "tape.csv", Cursor::new(csv), &permissive());
    let text = result.unwrap_err().to_string();
    assert!(!text.contains('\n') && !text.contains('\u{1b}'), "{text:?}");
    assert!(text.contains("no loans imported"), "{text}");
    assert!(text.contains("= `72\\n5\\u{1b}[2J"), "{text}");
    assert!(text.contains("…"), "a long value is cut: {text}");
    assert!(!tape);
}
