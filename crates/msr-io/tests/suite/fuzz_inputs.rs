//! A stable-toolchain fuzzer for every reader of outside input: the tape
//! reader, the configuration parser and the three importers (Freddie Mac,
//! Fannie Mae, servicer CSV). `cargo fuzz` needs nightly, which this
//! project's machines do not have; this driver needs nothing but `cargo
//! test` (docs/robustness.md, "Fuzzing").
//!
//! Each target starts from its seed corpus (the files under `tests/corpus/`
//! and the import fixtures), mutates one input at a time with a ChaCha RNG
//! from a fixed seed — bit flips, byte writes, insertions, deletions,
//! truncations, splices from other seeds and, for text, whole-line and
//! field-level edits with awkward values — and runs the reader inside
//! `catch_unwind`. A case fails when the reader panics, when an error is
//! not one line naming an input, or when an import reports a success the
//! tape reader does not confirm. The failing input is written to
//! `$CARGO_TARGET_TMPDIR/fuzz-crashes/` with the seed and case number.
//!
//! By default each target runs a few hundred cases (seconds), so `cargo
//! test` stays fast. `MSR_FUZZ_SECONDS=N` runs each target for N seconds
//! instead (CI: 20), `MSR_FUZZ_CASES=N` for N cases, `MSR_FUZZ_SEED=S`
//! changes the seed (default 28).

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use msr_core::config::{Config, Tape};
use msr_io::import::{
    import_csv, import_fannie, import_freddie, CsvMapping, ImportError, ImportOptions,
    ImportReport, Input, YearMonth,
};
use msr_io::{read_tape, RejectWriter, TapeWriteOptions};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every file of a directory, sorted (the seed corpus).
fn seeds(dir: &str, ext: &str) -> Vec<Vec<u8>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no seeds in {dir}");
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        root()
            .join("crates/msr-io/tests/fixtures/import")
            .join(name),
    )
    .unwrap()
}

/// How long, and from which seed, each target runs.
struct Budget {
    seed: u64,
    cases: Option<u64>,
    time: Option<Duration>,
}

impl Budget {
    fn from_env(default_cases: u64) -> Budget {
        let var = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
        let time = var("MSR_FUZZ_SECONDS").map(Duration::from_secs);
        Budget {
            seed: var("MSR_FUZZ_SEED").unwrap_or(28),
            cases: var("MSR_FUZZ_CASES").or(if time.is_some() {
                None
            } else {
                Some(default_cases)
            }),
            time,
        }
    }

    /// Run `case` until the budget is spent; `case` gets the RNG and the
    /// case number and returns `Err(why)` for a failure (the input is saved
    /// by the case itself).
    fn run(&self, target: &str, mut case: impl FnMut(&mut ChaCha8Rng, u64) -> Result<(), String>) {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ fxhash(target));
        let start = Instant::now();
        let mut n = 0u64;
        loop {
            if self.cases.is_some_and(|c| n >= c) || self.time.is_some_and(|t| start.elapsed() >= t)
            {
                break;
            }
            if let Err(why) = case(&mut rng, n) {
                panic!(
                    "fuzz target {target}, seed {}, case {n}: {why} (inputs saved under {})",
                    self.seed,
                    crash_dir().display()
                );
            }
            n += 1;
        }
        eprintln!(
            "fuzz target {target}: {n} cases in {:.1} s (seed {}), no failure",
            start.elapsed().as_secs_f64(),
            self.seed
        );
    }
}

fn fxhash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn crash_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-crashes")
}

/// Keep a failing input for reproduction.
fn save(target: &str, n: u64, name: &str, bytes: &[u8]) {
    let dir = crash_dir();
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(format!("{target}-case{n}-{name}")), bytes);
}

/// Values that have broken parsers before.
const AWKWARD: &[&str] = &[
    "",
    " ",
    "0",
    "-1",
    "9999",
    "999",
    "XX",
    "RA",
    "1e308",
    "-1e308",
    "NaN",
    "inf",
    "1e-320",
    "18446744073709551616",
    "9223372036854775807",
    "000000",
    "202413",
    "132024",
    "\"",
    "\"\"",
    "=1+1",
    "\t",
    "\r",
    "é",
    "\u{feff}",
    "0x10",
    "1,5",
    "  7  ",
    "|",
    ",",
];

/// One random mutation of `input`, using `others` for splices. Text inputs
/// also get line- and field-level edits (`sep` is the field separator).
fn mutate(rng: &mut ChaCha8Rng, input: &[u8], others: &[Vec<u8>], text: Option<u8>) -> Vec<u8> {
    let mut out = input.to_vec();
    let edits = rng.random_range(1..=4);
    for _ in 0..edits {
        let len = out.len();
        let choice = rng.random_range(0..if text.is_some() { 12 } else { 8 });
        match choice {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                out[i] ^= 1 << rng.random_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.random_range(0..len);
                out[i] = rng.random();
            }
            2 if len > 0 => {
                // Near the end: footers, last lines.
                let i = len - 1 - rng.random_range(0..len.min(64));
                out[i] = rng.random();
            }
            3 => {
                let at = rng.random_range(0..=len);
                out.truncate(at);
            }
            4 if len > 0 => {
                let a = rng.random_range(0..len);
                let b = (a + rng.random_range(1..=64)).min(len);
                out.drain(a..b);
            }
            5 => {
                let at = rng.random_range(0..=len);
                let n = rng.random_range(1..=16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                out.splice(at..at, bytes);
            }
            6 if !others.is_empty() => {
                let other = &others[rng.random_range(0..others.len())];
                if !other.is_empty() {
                    let a = rng.random_range(0..other.len());
                    let b = (a + rng.random_range(1..=256)).min(other.len());
                    let at = rng.random_range(0..=len);
                    out.splice(at..at, other[a..b].iter().copied());
                }
            }
            7 if len > 1 => {
                // Copy a run of the input over another place in it.
                let a = rng.random_range(0..len);
                let b = (a + rng.random_range(1..=32)).min(len);
                let run = out[a..b].to_vec();
                let at = rng.random_range(0..len);
                let end = (at + run.len()).min(len);
                out.splice(at..end, run);
            }
            8..=11 => {
                let sep = text.unwrap_or(b'|');
                out = edit_lines(rng, &out, sep, choice);
            }
            _ => {}
        }
    }
    out
}

/// Line-level edits: duplicate, delete or swap a line, or replace one field
/// of a line with an awkward value.
fn edit_lines(rng: &mut ChaCha8Rng, input: &[u8], sep: u8, choice: usize) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = input.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    if lines.is_empty() {
        return input.to_vec();
    }
    let k = rng.random_range(0..lines.len());
    match choice {
        8 => {
            let line = lines[k].clone();
            lines.insert(rng.random_range(0..=lines.len()), line);
        }
        9 => {
            lines.remove(k);
        }
        10 => {
            let j = rng.random_range(0..lines.len());
            lines.swap(k, j);
        }
        _ => {
            let mut fields: Vec<Vec<u8>> =
                lines[k].split(|&b| b == sep).map(<[u8]>::to_vec).collect();
            let f = rng.random_range(0..fields.len());
            fields[f] = AWKWARD[rng.random_range(0..AWKWARD.len())]
                .as_bytes()
                .to_vec();
            lines[k] = fields.join(&sep);
        }
    }
    lines.join(&b'\n')
}

/// An error must be one line starting with one of the inputs' names.
fn one_line_naming(err: &str, names: &[&str]) -> Result<(), String> {
    if err.contains('\n') {
        return Err(format!("error spans lines: {err:?}"));
    }
    if !names.iter().any(|n| err.starts_with(n)) {
        return Err(format!("error names none of {names:?}: {err}"));
    }
    Ok(())
}

/// Run an import into a fresh directory and check its outcome: a success
/// must leave a tape the tape reader accepts whole, with as many loans as
/// reported; an error must be one line naming an input or an output.
fn check_import(
    names: &[&str],
    import: impl FnOnce(&Path, &mut RejectWriter) -> Result<ImportReport, ImportError>,
) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let tape = dir.path().join("t.parquet");
    let rejects_path = dir.path().join("r.csv");
    let mut rejects = RejectWriter::create(&rejects_path).unwrap();
    let outcome = catch_unwind(AssertUnwindSafe(|| import(&tape, &mut rejects)))
        .map_err(|p| format!("panic: {}", panic_text(&p)))?;
    match outcome {
        Ok(report) => {
            rejects.finish().map_err(|e| e.to_string())?;
            let (loans, reader_rejects, _) =
                read_tape(&tape, &Tape::default()).map_err(|e| format!("tape unreadable: {e}"))?;
            if !reader_rejects.is_empty()
                || loans.len() as u64 != report.imported
                || loans.is_empty()
            {
                return Err(format!(
                    "imported {} but the tape holds {} loans and {} rows the reader rejects",
                    report.imported,
                    loans.len(),
                    reader_rejects.len()
                ));
            }
            Ok(())
        }
        Err(e) => {
            let tape_name = tape.display().to_string();
            let mut all = names.to_vec();
            all.push(&tape_name);
            one_line_naming(&e.to_string(), &all)?;
            if tape.exists() {
                return Err(format!("a failed import left a tape: {e}"));
            }
            Ok(())
        }
    }
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-text panic".into())
}

fn options() -> ImportOptions {
    let mut o = ImportOptions::new(YearMonth::from_yyyymm("202406").unwrap());
    o.tape.max_row_group_rows = 7;
    o
}

#[test]
fn fuzz_tape_reader() {
    let corpus = seeds("tests/corpus/tapes", "parquet");
    Budget::from_env(200).run("tape", |rng, n| {
        let seed = &corpus[rng.random_range(0..corpus.len())];
        let bytes = mutate(rng, seed, &corpus, None);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tape.parquet");
        std::fs::write(&path, &bytes).unwrap();
        let name = path.display().to_string();
        let result = catch_unwind(|| read_tape(&path, &Tape::default()))
            .map_err(|p| format!("panic: {}", panic_text(&p)));
        let verdict = match result {
            Err(why) => Err(why),
            Ok(Ok((loans, rejects, stats))) => {
                if stats.rows_read != stats.valid + stats.rejected
                    || loans.len() as u64 != stats.valid
                    || rejects.len() as u64 != stats.rejected
                {
                    Err(format!("rows do not add up: {stats:?}"))
                } else {
                    Ok(())
                }
            }
            Ok(Err(e)) => one_line_naming(&e.to_string(), &[&name]),
        };
        if verdict.is_err() {
            save("tape", n, "tape.parquet", &bytes);
        }
        verdict
    });
}

#[test]
fn fuzz_config_parser() {
    let mut corpus = seeds("tests/corpus/configs", "toml");
    corpus.push(std::fs::read(root().join("configs/default.toml")).unwrap());
    Budget::from_env(300).run("config", |rng, n| {
        let seed = &corpus[rng.random_range(0..corpus.len())];
        let bytes = mutate(rng, seed, &corpus, Some(b'='));
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let result =
            catch_unwind(|| Config::from_toml_str(&text).map(|c| c.validate().map(|()| c)))
                .map_err(|p| format!("panic: {}", panic_text(&p)));
        let verdict = match result {
            Err(why) => Err(why),
            Ok(Ok(Ok(config))) => {
                // An accepted configuration round-trips.
                Config::from_toml_str(&config.to_toml_string())
                    .map(|_| ())
                    .map_err(|e| format!("accepted, but its own TOML is refused: {e}"))
            }
            Ok(Ok(Err(e)) | Err(e)) => {
                let e = e.to_string();
                if e.trim().is_empty() {
                    Err("empty error".into())
                } else {
                    Ok(())
                }
            }
        };
        if verdict.is_err() {
            save("config", n, "config.toml", &bytes);
        }
        verdict
    });
}

#[test]
fn fuzz_freddie_import() {
    let orig = [
        fixture("freddie_orig_r46.txt"),
        fixture("freddie_orig_r47.txt"),
    ];
    let perf = [
        fixture("freddie_perf_r46.txt"),
        fixture("freddie_perf_r47.txt"),
    ];
    let all: Vec<Vec<u8>> = orig.iter().chain(&perf).cloned().collect();
    Budget::from_env(150).run("freddie", |rng, n| {
        let k = rng.random_range(0..2);
        let (mut o, mut p) = (orig[k].clone(), perf[k].clone());
        match rng.random_range(0..3) {
            0 => o = mutate(rng, &o, &all, Some(b'|')),
            1 => p = mutate(rng, &p, &all, Some(b'|')),
            _ => {
                o = mutate(rng, &o, &all, Some(b'|'));
                p = mutate(rng, &p, &all, Some(b'|'));
            }
        }
        let verdict = check_import(&["orig.txt", "perf.txt"], |tape, rejects| {
            import_freddie(
                Input::new("orig.txt", Cursor::new(&o)),
                Input::new("perf.txt", Cursor::new(&p)),
                tape,
                rejects,
                &options(),
                &mut |_| {},
            )
        });
        if verdict.is_err() {
            save("freddie", n, "orig.txt", &o);
            save("freddie", n, "perf.txt", &p);
        }
        verdict
    });
}

#[test]
fn fuzz_fannie_import() {
    let perf = vec![fixture("fannie_perf.txt")];
    Budget::from_env(150).run("fannie", |rng, n| {
        let p = mutate(rng, &perf[0], &perf, Some(b'|'));
        let verdict = check_import(&["perf.txt"], |tape, rejects| {
            import_fannie(
                Input::new("perf.txt", Cursor::new(&p)),
                tape,
                rejects,
                &options(),
                &mut |_| {},
            )
        });
        if verdict.is_err() {
            save("fannie", n, "perf.txt", &p);
        }
        verdict
    });
}

#[test]
fn fuzz_csv_import() {
    let csv = vec![fixture("servicer_tape.csv")];
    let mapping = fixture("servicer_mapping.toml");
    Budget::from_env(150).run("csv", |rng, n| {
        let c = mutate(rng, &csv[0], &csv, Some(b','));
        // One case in four also damages the mapping.
        let m = if rng.random_range(0..4) == 0 {
            mutate(rng, &mapping, std::slice::from_ref(&mapping), Some(b'='))
        } else {
            mapping.clone()
        };
        let m_text = String::from_utf8_lossy(&m).into_owned();
        let verdict =
            match catch_unwind(|| CsvMapping::from_toml_str(&m_text, Path::new("map.toml"))) {
                Err(p) => Err(format!("mapping panic: {}", panic_text(&p))),
                Ok(Err(e)) => one_line_naming(&e.to_string(), &["map.toml"]),
                Ok(Ok(mapping)) => check_import(&["tape.csv", "map.toml"], |tape, rejects| {
                    import_csv(
                        &mapping,
                        Input::new("tape.csv", Cursor::new(&c)),
                        tape,
                        rejects,
                        TapeWriteOptions {
                            max_row_group_rows: 7,
                        },
                        &mut |_| {},
                    )
                }),
            };
        if verdict.is_err() {
            save("csv", n, "tape.csv", &c);
            save("csv", n, "map.toml", &m);
        }
        verdict
    });
}
