//! The synthetic book of `msr generate`: realistic agency and private-label
//! loans for demos, tests and benchmarks, a pure function of `(n, seed)`.
//!
//! Loan `i` draws from its own ChaCha8 stream (`seed`, stream `i`), so the
//! book of `n` loans is a prefix of the book of `n + k` loans and loans can be
//! generated in any order or in parallel with the same result.
//!
//! The mix, as of a late-2026 valuation date: investors FNMA 40 %, FHLMC
//! 30 %, GNMA 22 %, PLS 8 %; vintages 2007–2026 with the low-rate 2020–21
//! books heaviest and note rates following each vintage's market level
//! (2.5–8 % in 1/8 steps); 15- and 30-year terms; FICO ≈ N(740, 50) shifted by
//! investor; current LTV from origination LTV, amortisation and house-price
//! growth (30–110); delinquency C 93 %, D30 3 %, D60 1.2 %, D90 0.7 %,
//! D120 0.8 %, FC 1.3 % with advances outstanding on seriously delinquent
//! loans; escrow on about three loans in four; states weighted by population;
//! 0.5 % of records stand for 2–20 loans. Every loan passes the tape rules.

use std::path::Path;

use msr_core::{DqState, Investor, Loan};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use crate::error::IoError;
use crate::tape_write::{TapeWriteOptions, TapeWriter};

/// Valuation year and month the book is aged to.
const AS_OF: (i32, i32) = (2026, 11);

const INVESTORS: [(Investor, f64); 4] = [
    (Investor::Fnma, 40.0),
    (Investor::Fhlmc, 30.0),
    (Investor::Gnma, 22.0),
    (Investor::Pls, 8.0),
];

/// `(vintage year, share of the book, typical 30-year note rate)`.
const VINTAGES: [(i32, f64, f64); 20] = [
    (2007, 0.5, 0.0635),
    (2008, 0.5, 0.0605),
    (2009, 0.8, 0.0505),
    (2010, 1.0, 0.0470),
    (2011, 1.0, 0.0445),
    (2012, 2.5, 0.0370),
    (2013, 2.5, 0.0400),
    (2014, 2.0, 0.0420),
    (2015, 3.0, 0.0390),
    (2016, 3.5, 0.0365),
    (2017, 3.0, 0.0400),
    (2018, 2.5, 0.0455),
    (2019, 4.0, 0.0395),
    (2020, 14.0, 0.0310),
    (2021, 17.0, 0.0295),
    (2022, 8.0, 0.0535),
    (2023, 6.0, 0.0680),
    (2024, 7.0, 0.0670),
    (2025, 8.0, 0.0645),
    (2026, 7.2, 0.0620),
];

const DQ_MIX: [(DqState, f64); 6] = [
    (DqState::C, 93.0),
    (DqState::D30, 3.0),
    (DqState::D60, 1.2),
    (DqState::D90, 0.7),
    (DqState::D120, 0.8),
    (DqState::Fc, 1.3),
];

/// US states and DC by population (millions), judicial and non-judicial alike.
const STATES: [(&str, f64); 51] = [
    ("CA", 39.0),
    ("TX", 30.5),
    ("FL", 22.6),
    ("NY", 19.6),
    ("PA", 13.0),
    ("IL", 12.5),
    ("OH", 11.8),
    ("GA", 11.0),
    ("NC", 10.8),
    ("MI", 10.0),
    ("NJ", 9.3),
    ("VA", 8.7),
    ("WA", 7.8),
    ("AZ", 7.4),
    ("TN", 7.1),
    ("MA", 7.0),
    ("IN", 6.9),
    ("MO", 6.2),
    ("MD", 6.2),
    ("WI", 5.9),
    ("CO", 5.9),
    ("MN", 5.7),
    ("SC", 5.4),
    ("AL", 5.1),
    ("LA", 4.6),
    ("KY", 4.5),
    ("OR", 4.2),
    ("OK", 4.0),
    ("CT", 3.6),
    ("UT", 3.4),
    ("IA", 3.2),
    ("NV", 3.2),
    ("AR", 3.1),
    ("MS", 2.9),
    ("KS", 2.9),
    ("NM", 2.1),
    ("NE", 2.0),
    ("ID", 2.0),
    ("WV", 1.8),
    ("HI", 1.4),
    ("NH", 1.4),
    ("ME", 1.4),
    ("MT", 1.1),
    ("RI", 1.1),
    ("DE", 1.0),
    ("SD", 0.9),
    ("ND", 0.8),
    ("AK", 0.7),
    ("DC", 0.7),
    ("VT", 0.6),
    ("WY", 0.6),
];

/// Share of records standing for a group of loans.
const GROUP_SHARE: f64 = 0.005;

/// Draw from a weighted list (weights need not sum to 1).
fn pick<T: Copy, R: Rng>(rng: &mut R, items: &[(T, f64)]) -> T {
    let total: f64 = items.iter().map(|(_, w)| w).sum();
    let mut u = rng.random::<f64>() * total;
    for &(item, w) in items {
        if u < w {
            return item;
        }
        u -= w;
    }
    items[items.len() - 1].0
}

fn normal<R: Rng>(rng: &mut R) -> f64 {
    rng.sample::<f64, _>(StandardNormal)
}

fn cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Scheduled balance after `age` payments of a level-payment loan.
fn scheduled_balance(original: f64, rate: f64, term: u32, age: u32) -> f64 {
    let i = rate / 12.0;
    if i == 0.0 {
        return original * f64::from(term - age) / f64::from(term);
    }
    let g = 1.0 + i;
    original * (g.powi(term as i32) - g.powi(age as i32)) / (g.powi(term as i32) - 1.0)
}

/// Level monthly payment of a loan of `balance` over `months` at `rate`.
fn payment(balance: f64, rate: f64, months: u32) -> f64 {
    let i = rate / 12.0;
    if i == 0.0 {
        balance / f64::from(months)
    } else {
        balance * i / (1.0 - (1.0 + i).powi(-(months as i32)))
    }
}

/// Loan `index` (0-based) of the book drawn with `seed`.
pub fn generate_loan(index: u64, seed: u64) -> Loan {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index);
    let rng = &mut rng;

    let investor = pick(rng, &INVESTORS);
    let (year, _, market_rate) = pick(rng, &VINTAGES.map(|v| (v, v.1)));
    let last_month = if year == AS_OF.0 { AS_OF.1 } else { 12 };
    let month = rng.random_range(1..=last_month);
    let age = ((AS_OF.0 - year) * 12 + (AS_OF.1 - month)).clamp(0, 240) as u32;
    let original_term: u32 = if age < 180 && rng.random_bool(0.15) {
        180
    } else {
        360
    };
    let remaining_term = original_term - age;

    let fico_shift = match investor {
        Investor::Fnma | Investor::Fhlmc => 10.0,
        Investor::Gnma => -40.0,
        Investor::Pls => 0.0,
    };
    let fico = (740.0 + fico_shift + 50.0 * normal(rng))
        .round()
        .clamp(300.0, 850.0) as i32;

    let credit_add = 0.0025 * ((720.0 - f64::from(fico)) / 60.0).clamp(-0.5, 2.0);
    let term_add = if original_term == 180 { -0.0055 } else { 0.0 };
    let pls_add = if investor == Investor::Pls {
        0.0040
    } else {
        0.0
    };
    let raw = market_rate + term_add + credit_add + pls_add + 0.0030 * normal(rng);
    let note_rate = ((raw / 0.00125).round() * 0.00125).clamp(0.025, 0.08);

    let servicing_fee = match investor {
        Investor::Fnma | Investor::Fhlmc => 0.0025,
        Investor::Gnma => f64::from(rng.random_range(19..=44u32)) / 10_000.0,
        Investor::Pls => f64::from(rng.random_range(25..=50u32)) / 10_000.0,
    };

    // Original balance: lognormal around a vintage-dependent median.
    let vintage_scale = 1.0 + 0.035 * f64::from(year - 2007);
    let median = match investor {
        Investor::Gnma => 165_000.0,
        Investor::Pls => 320_000.0,
        _ => 185_000.0,
    } * vintage_scale;
    let original = (median * (0.45 * normal(rng)).exp()).clamp(30_000.0, 3_000_000.0);
    let curtailment = 1.0 - 0.03 * rng.random::<f64>();
    let upb =
        cents(scheduled_balance(original, note_rate, original_term, age) * curtailment).max(100.0);

    let original_ltv = match investor {
        Investor::Gnma => rng.random_range(90.0..98.5),
        Investor::Pls => rng.random_range(50.0..85.0),
        _ => rng.random_range(55.0..97.0),
    };
    let years = f64::from(age) / 12.0;
    let hpa = (1.0 + 0.04 + 0.02 * normal(rng)).max(0.9).powf(years);
    let ltv = cents((original_ltv * (upb / original) / hpa).clamp(30.0, 110.0));
    let property_value = upb / (ltv / 100.0);

    let dq_status = pick(rng, &DQ_MIX);
    let property_state = pick(rng, &STATES);
    let escrow_share = if investor == Investor::Gnma {
        0.95
    } else {
        0.70
    };
    let escrow_monthly = if rng.random_bool(escrow_share) {
        cents(property_value * rng.random_range(0.015..0.03) / 12.0)
    } else {
        0.0
    };

    let monthly_pi = payment(upb, note_rate, remaining_term);
    let months_advanced = match dq_status {
        DqState::C | DqState::D30 => 0.0,
        DqState::D60 => {
            if rng.random_bool(0.5) {
                rng.random_range(1.0..2.0)
            } else {
                0.0
            }
        }
        DqState::D90 => {
            if rng.random_bool(0.7) {
                rng.random_range(2.0..3.0)
            } else {
                0.0
            }
        }
        DqState::D120 => rng.random_range(3.0..4.5),
        DqState::Fc => rng.random_range(6.0..18.0),
    };
    let corporate = match dq_status {
        DqState::Fc => rng.random_range(1_500.0..8_000.0),
        DqState::D120 => rng.random_range(200.0..1_500.0),
        _ => 0.0,
    };
    let mut advance_balance = if months_advanced > 0.0 {
        cents(months_advanced * (monthly_pi + escrow_monthly) + corporate)
    } else {
        0.0
    };

    let mut loan_count = 1u32;
    let mut upb = upb;
    let mut escrow_monthly = escrow_monthly;
    if rng.random_bool(GROUP_SHARE) {
        loan_count = rng.random_range(2..=20);
        let n = f64::from(loan_count);
        upb = cents(upb * n);
        escrow_monthly = cents(escrow_monthly * n);
        advance_balance = cents(advance_balance * n);
    }

    let b = property_state.as_bytes();
    Loan {
        loan_id: format!("L{:07}", index + 1),
        upb,
        note_rate,
        servicing_fee,
        remaining_term,
        loan_age: age,
        fico,
        ltv,
        investor,
        dq_status,
        property_state: [b[0], b[1]],
        escrow_monthly,
        loan_count,
        advance_balance,
    }
}

/// A book of `n` synthetic loans, deterministic in `seed` (ids `L0000001`, ...).
pub fn generate_book(n: usize, seed: u64) -> Vec<Loan> {
    (0..n as u64).map(|i| generate_loan(i, seed)).collect()
}

/// Write a book as a tape with at most `row_group_size` rows per row group.
///
/// # Errors
/// [`IoError`] when the file cannot be written.
pub fn write_book(
    path: impl AsRef<Path>,
    loans: &[Loan],
    row_group_size: usize,
) -> Result<(), IoError> {
    crate::tape_write::write_tape(
        path,
        loans,
        TapeWriteOptions {
            max_row_group_rows: row_group_size.max(1),
        },
    )
}

/// Generate and write a book of `n` loans without holding it all in memory.
///
/// # Errors
/// [`IoError`] when the file cannot be written.
pub fn write_generated_book(
    path: impl AsRef<Path>,
    n: usize,
    seed: u64,
    row_group_size: usize,
) -> Result<(), IoError> {
    let mut writer = TapeWriter::create(
        path,
        TapeWriteOptions {
            max_row_group_rows: row_group_size.max(1),
        },
        &[],
    )?;
    const CHUNK: u64 = 65_536;
    let n = n as u64;
    let mut first = 0;
    while first < n {
        let last = (first + CHUNK).min(n);
        let chunk: Vec<Loan> = (first..last).map(|i| generate_loan(i, seed)).collect();
        writer.write(&chunk, &[])?;
        first = last;
    }
    writer.finish()
}
