//! `msr notes`: price whole-loan notes by outcome probabilities (MODEL.md §H).
//!
//! Reads a note tape (Parquet or CSV), prices every valid note and writes
//! `note_prices.parquet` and `note_prices.csv` (per note: the four outcome
//! probabilities, each scenario's PV and contribution, the bid in $, % of
//! UPB and % of property value, and at an asking price each scenario's IRR
//! and the expected IRR), `note_summary.json` (portfolio totals and the
//! UPB-weighted outcome mix) and `note_rejects.csv`. With `--explain
//! LOAN_ID` it prints one note's scenario table instead and writes nothing.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use msr_core::Config;
use msr_engine::notes::{
    explain_table, price_note_at, price_notes, Note, NoteContext, NotePrice, NoteSummary, Outcome,
    ProbSource,
};
use msr_io::notes_tape::{read_note_tape, write_note_prices, NoteTape, NoteTapeOptions};
use msr_io::Column;
use std::collections::BTreeMap;

use crate::common::{load_config, PathArgs, Staging};
use crate::exit::{input, output, CliError, Failure};

/// The file whose arrival marks a complete run.
const MARKER: &str = "note_summary.json";

/// Flags of `msr notes`.
#[derive(Debug, Args)]
pub struct NotesArgs {
    /// Note tape (Parquet or CSV, MODEL.md §H.0).
    #[arg(long, value_name = "FILE", default_value = "data/sample_notes.parquet")]
    pub notes: PathBuf,
    /// Configuration (TOML): required ROIs, timelines and costs in `[notes]`.
    #[arg(long, value_name = "FILE", default_value = crate::common::BUILTIN_CONFIG)]
    pub config: PathBuf,
    /// Output directory.
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub out: PathBuf,
    /// The tape's asking-price column (default `ask_price`, if present).
    #[arg(long, value_name = "NAME")]
    pub ask_column: Option<String>,
    /// Asking price ($) for a single note: the note of `--explain`, or a tape
    /// holding one valid note. Overrides the tape's ask.
    #[arg(long, value_name = "PRICE")]
    pub ask: Option<f64>,
    /// Print the scenario table of this note and write nothing.
    #[arg(long, value_name = "LOAN_ID")]
    pub explain: Option<String>,
    /// No summary on the terminal.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Run `msr notes`.
///
/// # Errors
/// Usage errors for a bad `--ask`; input errors for an unusable tape or
/// config or an `--explain` note that is not priced; output errors when the
/// outputs cannot be written; a data error (exit 5), after writing the
/// outputs, when the rejected share exceeds `tape.max_reject_share` or a
/// price is not finite.
pub fn run(args: &NotesArgs) -> Result<ExitCode> {
    let clock = Instant::now();
    if let Some(a) = args.ask {
        if !(a.is_finite() && a > 0.0) {
            return Err(CliError::new(
                Failure::Usage,
                format!("--ask {a}: must be a price in $ > 0"),
            ));
        }
    }
    crate::common::check_default_input(&args.notes, "data/sample_notes.parquet", "--notes")?;
    let config = load_config(&args.config, &PathArgs::default())?;
    let options = NoteTapeOptions {
        ask_column: args.ask_column.clone(),
    };
    let tape = read_note_tape(&args.notes, &options).map_err(input)?;
    let ctx =
        NoteContext::new(&config).map_err(|e| input(format!("{}: {e}", args.config.display())))?;

    if let Some(id) = &args.explain {
        return explain(args, &tape, &ctx, id);
    }
    let mut notes: Vec<Note> = tape.notes.clone();
    if let Some(a) = args.ask {
        if notes.len() != 1 {
            return Err(CliError::new(
                Failure::Usage,
                format!(
                    "--ask prices a single note but {} has {} valid notes: use --explain LOAN_ID --ask PRICE, or an \
                     ask_price column",
                    args.notes.display(),
                    notes.len()
                ),
            ));
        }
        notes[0].ask_price = Some(a);
    }
    let prices = price_notes(&notes, &ctx);
    let summary = NoteSummary::new(&notes, &prices);
    let non_finite: Vec<&str> = notes
        .iter()
        .zip(&prices)
        .filter(|(_, p)| !(p.price.is_finite() && p.scenarios.iter().all(|s| s.pv.is_finite())))
        .map(|(n, _)| n.loan_id.as_str())
        .collect();

    let staging =
        Staging::create(&args.out)?.reading(&[args.notes.as_path(), args.config.as_path()]);
    write_note_prices(
        staging.path("note_prices.parquet"),
        staging.path("note_prices.csv"),
        price_columns(&notes, &prices),
    )
    .map_err(output)?;
    msr_io::write_rejects(staging.path("note_rejects.csv"), &tape.rejects).map_err(output)?;
    let mut doc = summary_doc(&summary, &tape, &prices, &config);
    doc.notes_file.clone_from(&args.notes);
    doc.config_file.clone_from(&args.config);
    doc.non_finite = non_finite.iter().map(|s| s.to_string()).collect();
    doc.seconds = clock.elapsed().as_secs_f64();
    msr_io::docs::write_document(staging.path(MARKER), &doc).map_err(output)?;
    staging.commit(MARKER)?;

    if !args.quiet {
        print_summary(args, &tape, &summary);
    }
    let share = if tape.rows_read == 0 {
        0.0
    } else {
        tape.rejects.len() as f64 / tape.rows_read as f64
    };
    if share > config.tape.max_reject_share {
        return Err(CliError::new(
            Failure::Data,
            format!(
                "{} of {} note rows rejected ({:.2} %, above tape.max_reject_share {:.2} %); outputs written to {}, \
                 see note_rejects.csv",
                tape.rejects.len(),
                tape.rows_read,
                100.0 * share,
                100.0 * config.tape.max_reject_share,
                args.out.display()
            ),
        ));
    }
    if !non_finite.is_empty() {
        return Err(CliError::new(
            Failure::Data,
            format!(
                "{} notes priced to a non-finite value (listed in {MARKER})",
                non_finite.len()
            ),
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// `--explain`: print one note's scenario table.
fn explain(args: &NotesArgs, tape: &NoteTape, ctx: &NoteContext, id: &str) -> Result<ExitCode> {
    let Some(row) = tape.notes.iter().find(|n| n.loan_id == id) else {
        let why: Vec<String> = tape
            .rejects
            .iter()
            .filter(|r| r.loan_id == id)
            .map(|r| format!("row {}: {} = {:?}: {}", r.row, r.column, r.value, r.rule))
            .collect();
        return Err(input(if why.is_empty() {
            format!("{}: no note with loan_id {id:?}", args.notes.display())
        } else {
            format!(
                "{}: note {id:?} was rejected ({})",
                args.notes.display(),
                why.join("; ")
            )
        }));
    };
    let note = row.clone();
    let ask = args.ask.or(note.ask_price);
    let price = price_note_at(&note, ctx, ask);
    print!("{}", explain_table(&note, &price));
    Ok(ExitCode::SUCCESS)
}

/// The note-price table: `loan_id, upb, property_value, prob_source`, then per
/// outcome `p_*, pv_*, contrib_*`, then `price, price_pct_upb,
/// price_pct_value, ask_price`, `irr_*` per outcome and `irr_expected`
/// (null without an ask or without a root).
pub fn price_columns(notes: &[Note], prices: &[NotePrice]) -> Vec<Column> {
    let f = |g: &dyn Fn(&NotePrice) -> f64| prices.iter().map(g).collect::<Vec<f64>>();
    let mut cols = vec![
        Column::utf8("loan_id", notes.iter().map(|n| n.loan_id.clone()).collect()),
        Column::f64("upb", notes.iter().map(|n| n.upb).collect()),
        Column::f64(
            "property_value",
            notes.iter().map(|n| n.property_value).collect(),
        ),
        Column::utf8(
            "prob_source",
            prices
                .iter()
                .map(|p| p.prob_source.name().to_string())
                .collect(),
        ),
    ];
    for o in Outcome::ALL {
        let k = o.index();
        cols.push(Column::f64(
            format!("p_{}", o.name()),
            f(&|p| p.scenarios[k].probability),
        ));
        cols.push(Column::f64(
            format!("pv_{}", o.name()),
            f(&|p| p.scenarios[k].pv),
        ));
        cols.push(Column::f64(
            format!("contrib_{}", o.name()),
            f(&|p| p.scenarios[k].contribution),
        ));
    }
    cols.push(Column::f64("price", f(&|p| p.price)));
    cols.push(Column::f64("price_pct_upb", f(&|p| p.price_pct_upb)));
    cols.push(Column::f64("price_pct_value", f(&|p| p.price_pct_value)));
    cols.push(Column::f64_nullable(
        "ask_price",
        prices.iter().map(|p| p.ask_price).collect(),
    ));
    for o in Outcome::ALL {
        let k = o.index();
        cols.push(Column::f64_nullable(
            format!("irr_{}", o.name()),
            prices.iter().map(|p| p.scenarios[k].irr).collect(),
        ));
    }
    cols.push(Column::f64_nullable(
        "irr_expected",
        prices.iter().map(|p| p.irr_expected).collect(),
    ));
    cols
}

/// The note_summary.json document (file names and timing added by the caller).
pub fn summary_doc(
    s: &NoteSummary,
    tape: &NoteTape,
    prices: &[NotePrice],
    config: &Config,
) -> msr_io::docs::notes::NoteSummary {
    use msr_io::docs::notes::{Asks, ProbSource as Sources};
    let by_outcome = |x: &[f64; 4]| -> BTreeMap<String, f64> {
        Outcome::ALL
            .iter()
            .map(|o| (o.name().to_string(), x[o.index()]))
            .collect()
    };
    let rois: [f64; 4] = Outcome::ALL.map(|o| o.roi(config));
    let from_tape = prices
        .iter()
        .filter(|p| p.prob_source == ProbSource::Tape)
        .count() as u64;
    msr_io::docs::notes::NoteSummary {
        format: tape.format,
        rows_read: tape.rows_read,
        notes_priced: s.notes,
        notes_rejected: tape.rejects.len() as u64,
        upb: s.upb,
        property_value: s.property_value,
        price: s.price,
        price_pct_upb: Some(s.price_pct_upb),
        price_pct_value: Some(s.price_pct_value),
        mix_upb_weighted: by_outcome(&s.mix_upb_weighted),
        contributions: by_outcome(&s.contributions),
        required_roi: by_outcome(&rois),
        prob_source: Sources {
            model: prices.len() as u64 - from_tape,
            tape: from_tape,
        },
        ask: Asks {
            column: tape.ask_column.clone(),
            notes: s.notes_with_ask,
            ask_price: Some(s.ask_price),
            price: Some(s.price_of_asked),
        },
        notes_file: PathBuf::new(),
        config_file: PathBuf::new(),
        non_finite: Vec::new(),
        seconds: 0.0,
    }
}

fn print_summary(args: &NotesArgs, tape: &NoteTape, s: &NoteSummary) {
    println!(
        "{}: {} rows = {} priced + {} rejected",
        args.notes.display(),
        tape.rows_read,
        s.notes,
        tape.rejects.len()
    );
    println!(
        "UPB ${:.2}, property value ${:.2}: bid ${:.2} = {:.2} % of UPB, {:.2} % of value",
        s.upb, s.property_value, s.price, s.price_pct_upb, s.price_pct_value
    );
    let mix: Vec<String> = Outcome::ALL
        .iter()
        .map(|o| {
            format!(
                "{} {:.1} % (${:.0})",
                o.name(),
                100.0 * s.mix_upb_weighted[o.index()],
                s.contributions[o.index()]
            )
        })
        .collect();
    println!(
        "outcome mix (UPB-weighted) and contribution to the bid: {}",
        mix.join(", ")
    );
    if s.notes_with_ask > 0 {
        println!(
            "{} notes with an ask: ask ${:.2} vs bid ${:.2} ({:+.2} %)",
            s.notes_with_ask,
            s.ask_price,
            s.price_of_asked,
            100.0 * (s.price_of_asked / s.ask_price - 1.0)
        );
    }
    for r in tape.rejects.iter().take(5) {
        println!(
            "  rejected row {} loan_id {:?}: {} = {:?}: {}",
            r.row, r.loan_id, r.column, r.value, r.rule
        );
    }
    if tape.rejects.len() > 5 {
        println!("  ... {} more in note_rejects.csv", tape.rejects.len() - 5);
    }
    println!(
        "wrote note_prices.parquet, note_prices.csv, note_summary.json, note_rejects.csv to {}",
        args.out.display()
    );
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use msr_core::tolerance::{close, SPEC_ABS_DOLLARS, SPEC_REL};
    use msr_io::parquet_in::read_table;

    use super::*;

    fn golden() -> PathBuf {
        msr_testkit::golden_dir()
    }

    fn args(notes: PathBuf, out: PathBuf) -> NotesArgs {
        NotesArgs {
            notes,
            config: Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/default.toml"),
            out,
            ask_column: None,
            ask: None,
            explain: None,
            quiet: true,
        }
    }

    #[test]
    fn golden_notes_end_to_end() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let code = run(&args(golden().join("notes_40.parquet"), out.clone())).unwrap();
        assert_eq!(code, ExitCode::SUCCESS);
        let got = read_table(out.join("note_prices.parquet")).unwrap();
        let want = read_table(golden().join("expected_note_prices_40.parquet")).unwrap();
        assert_eq!(got.names, want.names);
        assert_eq!(got.text("loan_id"), want.text("loan_id"));
        for name in &want.names {
            if let (Some(g), Some(w)) = (got.numbers(name), want.numbers(name)) {
                for (r, (a, b)) in g.iter().zip(w).enumerate() {
                    let (a, b) = (a.unwrap(), b.unwrap());
                    assert!(
                        close(a, b, SPEC_REL, SPEC_ABS_DOLLARS),
                        "{name} row {r}: {a} vs {b}"
                    );
                }
            }
        }
        let csv = std::fs::read_to_string(out.join("note_prices.csv")).unwrap();
        assert_eq!(csv.lines().count(), 41);
        let summary: msr_io::docs::notes::NoteSummary =
            msr_io::docs::read_document(out.join("note_summary.json")).unwrap();
        assert_eq!(summary.notes_priced, 40);
        assert_eq!(summary.format, msr_io::notes_tape::TapeFormat::Parquet);
        let mix: f64 = summary.mix_upb_weighted.values().sum();
        assert!((mix - 1.0).abs() < 1e-12);
        assert!(out.join("note_rejects.csv").exists());
    }

    #[test]
    fn bad_rows_are_rejected_and_the_run_flags_them() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("notes.csv");
        std::fs::write(
            &path,
            "loan_id,upb,note_rate,remaining_term,loan_age,fico,property_value,property_state,dq_status\n\
             A,200000,0.06,300,60,680,300000,TX,D90\n\
             B,200000,0.06,300,60,680,,TX,D90\n",
        )
        .unwrap();
        let out = tmp.path().join("out");
        let err = run(&args(path, out.clone())).unwrap_err();
        assert_eq!(crate::exit::code_of(&err), ExitCode::from(5));
        let rejects = msr_io::read_rejects(out.join("note_rejects.csv")).unwrap();
        assert_eq!(rejects.len(), 1);
        assert_eq!(rejects[0].column, "property_value");
        let prices = read_table(out.join("note_prices.parquet")).unwrap();
        assert_eq!(prices.text("loan_id").unwrap(), ["A"]);
    }

    #[test]
    fn explain_and_single_ask() {
        let tmp = tempfile::tempdir().unwrap();
        let mut a = args(golden().join("notes_40.parquet"), tmp.path().join("out"));
        a.explain = Some("N00303-000004".into());
        a.ask = Some(150_000.0);
        assert_eq!(run(&a).unwrap(), ExitCode::SUCCESS);
        assert!(!tmp.path().join("out").exists(), "explain writes nothing");
        a.explain = Some("nope".into());
        assert_eq!(
            crate::exit::code_of(&run(&a).unwrap_err()),
            ExitCode::from(3)
        );
        a.explain = None;
        assert_eq!(
            crate::exit::code_of(&run(&a).unwrap_err()),
            ExitCode::from(2)
        );
    }
}
