//! The synthetic book: deterministic, realistic in its mix, and always valid.

use std::collections::HashMap;

use msr_core::config::Tape;
use msr_core::{DqState, Investor};

use crate::{generate_book, read_tape, write_book, write_generated_book, TapeReader};

#[test]
fn the_book_is_a_pure_function_of_the_seed() {
    let a = generate_book(500, 42);
    assert_eq!(a, generate_book(500, 42));
    assert_ne!(a, generate_book(500, 43));
    // A shorter book is a prefix of a longer one.
    assert_eq!(generate_book(100, 42)[..], a[..100]);
    assert_eq!(a[0].loan_id, "L0000001");
    assert_eq!(a[499].loan_id, "L0000500");
}

#[test]
fn twenty_thousand_loans_pass_every_tape_rule() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("book.parquet");
    let book = generate_book(20_000, 20261121);
    write_book(&path, &book, 4_096).unwrap();
    let (loans, rejects, stats) = read_tape(&path, &Tape::default()).unwrap();
    assert!(rejects.is_empty(), "{:?}", &rejects[..rejects.len().min(5)]);
    assert_eq!(stats.valid, 20_000);
    assert!(loans == book);
    assert_eq!(
        TapeReader::open(&path, &Tape::default())
            .unwrap()
            .num_row_groups(),
        5
    );

    // Streaming generation writes the same file content.
    let streamed = dir.path().join("streamed.parquet");
    write_generated_book(&streamed, 20_000, 20261121, 4_096).unwrap();
    let (again, _, _) = read_tape(&streamed, &Tape::default()).unwrap();
    assert!(again == book);
}

#[test]
fn the_mix_is_realistic() {
    let book = generate_book(50_000, 9);
    let n = book.len() as f64;
    let share =
        |f: &dyn Fn(&msr_core::Loan) -> bool| book.iter().filter(|l| f(l)).count() as f64 / n;
    let near = |x: f64, target: f64, tol: f64| (x - target).abs() < tol;

    for (inv, target) in [
        (Investor::Fnma, 0.40),
        (Investor::Fhlmc, 0.30),
        (Investor::Gnma, 0.22),
        (Investor::Pls, 0.08),
    ] {
        let s = share(&|l| l.investor == inv);
        assert!(near(s, target, 0.01), "{inv}: {s}");
    }
    for (dq, target) in [
        (DqState::C, 0.93),
        (DqState::D30, 0.03),
        (DqState::D60, 0.012),
        (DqState::D90, 0.007),
        (DqState::D120, 0.008),
        (DqState::Fc, 0.013),
    ] {
        let s = share(&|l| l.dq_status == dq);
        assert!(near(s, target, 0.004), "{dq}: {s}");
    }
    assert!(book
        .iter()
        .all(|l| (l.dq_status == DqState::C) <= (l.advance_balance == 0.0)));
    assert!(book
        .iter()
        .filter(|l| matches!(l.dq_status, DqState::D120 | DqState::Fc))
        .all(|l| l.advance_balance > 0.0));

    let escrowed = share(&|l| l.escrow_monthly > 0.0);
    assert!(near(escrowed, 0.75, 0.04), "escrow {escrowed}");
    let grouped = share(&|l| l.loan_count > 1);
    assert!(near(grouped, 0.005, 0.002), "groups {grouped}");
    assert!(book.iter().all(|l| l.loan_count <= 20));

    let fico_mean = book.iter().map(|l| f64::from(l.fico)).sum::<f64>() / n;
    assert!(near(fico_mean, 740.0, 10.0), "fico {fico_mean}");
    assert!(book
        .iter()
        .all(|l| (2.5..=8.0).contains(&(l.note_rate * 100.0))));
    assert!(book
        .iter()
        .all(|l| ((l.note_rate / 0.00125).round() * 0.00125 - l.note_rate).abs() < 1e-12));
    let low_rate = share(&|l| l.note_rate <= 0.035);
    assert!(low_rate > 0.2, "low-rate share {low_rate}");
    assert!(book.iter().all(|l| (30.0..=110.0).contains(&l.ltv)));
    assert!(book
        .iter()
        .all(|l| l.loan_age <= 240 && l.remaining_term >= 1));
    assert!(book
        .iter()
        .all(|l| l.remaining_term + l.loan_age == 360 || l.remaining_term + l.loan_age == 180));
    assert!(book.iter().all(|l| match l.investor {
        Investor::Fnma | Investor::Fhlmc => l.servicing_fee == 0.0025,
        Investor::Gnma => (0.0019..=0.0044).contains(&l.servicing_fee),
        Investor::Pls => (0.0025..=0.0050).contains(&l.servicing_fee),
    }));

    let mut states: HashMap<&str, usize> = HashMap::new();
    for l in &book {
        *states.entry(l.state_code()).or_default() += 1;
    }
    assert!(states.len() >= 45);
    assert!(
        states["CA"] > states["TX"] && states["TX"] > states["OH"] && states["OH"] > states["WY"]
    );
}
