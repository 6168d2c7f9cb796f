//! Determinism (MODEL.md §F): the same inputs give bit-identical per-loan
//! values and portfolio totals whatever the thread count, the loan order or
//! the split into shards; and the exact `CF[p,t]` matrix agrees with the
//! monthly net cash flows, including for cells too large for the kernel's
//! fast fixed-point path.

use std::collections::HashMap;

use msr_core::loan::Loan;
use msr_core::tolerance::close;
use msr_core::Config;
use msr_engine::{value_loans, Context, Detail, LoanResult, PortfolioAccum};
use msr_model::{Market, ModelParams, MonthlyField, NUM_COMPONENTS};
use msr_rates::{NormalGenerator, RateModel};

const SEED: u64 = 4_242;

struct Setup {
    config: Config,
    params: ModelParams,
    market: Market,
}

/// `num_paths` Hull–White paths (not a multiple of the kernel's 8 lanes, so the
/// last block is partial) long enough for `loans`.
fn setup(loans: &[Loan], num_paths: usize) -> Setup {
    let config = Config::default();
    let months = loans
        .iter()
        .map(|l| l.remaining_term as usize)
        .max()
        .unwrap();
    let model =
        RateModel::from_config(&config.curve, &config.hull_white, &config.mortgage_rate).unwrap();
    let normals = NormalGenerator::new(SEED, true).normals(num_paths, months);
    let paths = model.paths(&normals, months);
    let params = ModelParams::from_config(&config);
    let market = Market::new(&paths, &params, config.valuation.oas, months);
    Setup {
        config,
        params,
        market,
    }
}

fn run(
    s: &Setup,
    loans: &[Loan],
    threads: usize,
    detail: Detail,
) -> (Vec<LoanResult>, PortfolioAccum) {
    let ctx = Context {
        params: &s.params,
        market: &s.market,
        config: &s.config,
        units: true.into(),
        tangent: None,
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(|| value_loans(&ctx, loans, detail))
}

/// Each loan valued by a call of its own (no sharing between loans), the
/// totals merged.
fn one_at_a_time(s: &Setup, loans: &[Loan], detail: Detail) -> (Vec<LoanResult>, PortfolioAccum) {
    let mut acc = PortfolioAccum::new(s.market.num_paths(), s.market.months(), detail);
    let mut results = Vec::new();
    for loan in loans {
        let (r, a) = run(s, std::slice::from_ref(loan), 1, detail);
        results.extend(r);
        acc.merge(&a);
    }
    (results, acc)
}

/// A fixed pseudo-random permutation (xorshift Fisher–Yates).
fn shuffled(loans: &[Loan]) -> Vec<Loan> {
    let mut out = loans.to_vec();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for i in (1..out.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.swap(i, (state % (i as u64 + 1)) as usize);
    }
    out
}

fn bits(r: &LoanResult) -> Vec<u64> {
    let mut v = vec![r.value.to_bits(), r.std_error.map_or(0, f64::to_bits)];
    v.extend(r.pv.iter().map(|x| x.to_bits()));
    v
}

fn by_id(loans: &[Loan], results: &[LoanResult]) -> HashMap<String, Vec<u64>> {
    loans
        .iter()
        .zip(results)
        .map(|(l, r)| (l.loan_id.clone(), bits(r)))
        .collect()
}

fn assert_same_accum(a: &PortfolioAccum, b: &PortfolioAccum, what: &str) {
    assert_eq!(a.total, b.total, "{what}: total");
    assert_eq!(a.pv, b.pv, "{what}: component PVs");
    assert_eq!(a.by_investor, b.by_investor, "{what}: by investor");
    assert_eq!(a.by_status, b.by_status, "{what}: by status");
    assert!(a.path_values == b.path_values, "{what}: path values");
    assert!(a.monthly == b.monthly, "{what}: monthly sums");
    assert!(a.cf == b.cf, "{what}: CF matrix");
    assert_eq!(a, b, "{what}");
}

#[test]
fn bit_identical_for_any_thread_count_order_and_sharding() {
    let loans = msr_io::generate_book(300, SEED);
    let s = setup(&loans, 20);
    let (base, base_acc) = run(&s, &loans, 1, Detail::Full);
    assert!(base_acc.non_finite.is_empty());
    let base_ids = by_id(&loans, &base);

    // Two threads.
    let (two, two_acc) = run(&s, &loans, 2, Detail::Full);
    assert_eq!(by_id(&loans, &two), base_ids, "2 threads: per-loan values");
    assert_same_accum(&two_acc, &base_acc, "2 threads");

    // Shuffled order, two threads.
    let mixed = shuffled(&loans);
    let (mix, mix_acc) = run(&s, &mixed, 2, Detail::Full);
    assert_eq!(by_id(&mixed, &mix), base_ids, "shuffled: per-loan values");
    assert_same_accum(&mix_acc, &base_acc, "shuffled");

    // Two shards valued separately and merged, in either order.
    let (left, right) = mixed.split_at(117);
    let (_, mut a) = run(&s, left, 1, Detail::Full);
    let (_, b) = run(&s, right, 2, Detail::Full);
    let mut ba = b.clone();
    a.merge(&b);
    let (_, a2) = run(&s, left, 2, Detail::Full);
    ba.merge(&a2);
    assert_same_accum(&a, &base_acc, "shards a+b");
    assert_same_accum(&ba, &base_acc, "shards b+a");

    // Values-only runs (`--no-cashflows`) give the same per-loan numbers.
    let (vals, vals_acc) = run(&s, &mixed, 2, Detail::Values);
    assert_eq!(by_id(&mixed, &vals), base_ids, "Detail::Values");
    assert_eq!(vals_acc.total, base_acc.total);
    assert!(vals_acc.path_values == base_acc.path_values);

    // The net-only level (risk's rate and assumption scenarios) forms each
    // month's net cash flow mass by mass: per-loan values and path values
    // within rounding of the other levels' (not their bits), and its own
    // bits on any thread count and loan order.
    let (net, net_acc) = run(&s, &loans, 1, Detail::Net);
    let (net_mixed, net_mixed_acc) = run(&s, &mixed, 2, Detail::Net);
    assert_eq!(
        by_id(&mixed, &net_mixed),
        by_id(&loans, &net),
        "Detail::Net"
    );
    assert_eq!(net_mixed_acc.total, net_acc.total);
    assert!(net_mixed_acc.path_values == net_acc.path_values);
    for (r, b) in net.iter().zip(&base) {
        assert!(
            close(r.value, b.value, 1e-12, 1e-9),
            "Detail::Net: {} vs {}",
            r.value,
            b.value
        );
        assert_eq!(r.pv, [0.0; NUM_COMPONENTS], "Detail::Net: no component PVs");
    }
    for p in 0..net_acc.num_paths {
        let (a, b) = (net_acc.path_value(p), base_acc.path_value(p));
        assert!(close(a, b, 1e-12, 0.0), "path {p}: {a} vs {b}");
    }

    // `msr value`'s level: everything but the CF matrix, the same bits.
    for threads in [1, 2] {
        let (monthly, monthly_acc) = run(&s, &mixed, threads, Detail::Monthly);
        assert_eq!(by_id(&mixed, &monthly), base_ids, "Detail::Monthly");
        assert!(monthly_acc.cf.is_empty());
        assert_same_accum(&monthly_acc, &without_cf(&base_acc), "Detail::Monthly");
    }
}

/// `acc` as [`Detail::Monthly`] keeps it.
fn without_cf(acc: &PortfolioAccum) -> PortfolioAccum {
    PortfolioAccum {
        cf: Vec::new(),
        ..acc.clone()
    }
}

/// `Σ_p CF[p,t]` (exact fixed point) against the monthly net (summed in
/// floating point per loan, then exactly across loans).
fn assert_cf_matches_monthly(acc: &PortfolioAccum, rel: f64) {
    for t in 1..=acc.months {
        let cf: f64 = (0..acc.num_paths).map(|p| acc.cf_at(p, t)).sum();
        let monthly = acc.monthly[t - 1][MonthlyField::Net as usize].value();
        assert!(
            (cf - monthly).abs() <= rel * monthly.abs().max(1.0),
            "month {t}: CF sum {cf:e} vs monthly net {monthly:e}"
        );
    }
}

#[test]
fn cf_matrix_matches_monthly_net() {
    let loans = msr_io::generate_book(40, SEED + 1);
    let s = setup(&loans, 13);
    let (_, acc) = run(&s, &loans, 2, Detail::Full);
    assert_cf_matches_monthly(&acc, 1e-12);
}

#[test]
fn huge_cash_flows_take_the_exact_path() {
    // Cash flows of ~1e11 dollars per path-month: beyond the kernel's split
    // fixed-point range (2^15 dollars), so every such cell is added with `to_fixed`.
    let mut loans = msr_io::generate_book(12, SEED + 2);
    for l in loans.iter_mut().step_by(3) {
        l.upb *= 1e9;
        l.loan_count = 1_000_000;
    }
    let s = setup(&loans, 11);
    let (results, acc) = run(&s, &loans, 2, Detail::Full);
    assert!(acc.non_finite.is_empty());
    assert_cf_matches_monthly(&acc, 1e-12);
    let (mix, mix_acc) = run(&s, &shuffled(&loans), 1, Detail::Full);
    assert_eq!(by_id(&shuffled(&loans), &mix), by_id(&loans, &results));
    assert_same_accum(&mix_acc, &acc, "shuffled");
}

#[test]
fn non_finite_loans_leave_no_trace_in_the_totals() {
    let loans = msr_io::generate_book(10, SEED + 3);
    let mut with_bad = loans.clone();
    let mut bad = loans[4].clone();
    bad.loan_id = "BAD".into();
    bad.upb = 1e305; // cash flows overflow to infinity
    with_bad.insert(3, bad.clone());
    let mut huge = loans[2].clone();
    huge.loan_id = "HUGE".into();
    huge.upb *= 1e9; // finite, but cells beyond the fast fixed-point range
    with_bad.insert(7, huge.clone());
    let s = setup(&with_bad, 19);
    let mut good = loans.clone();
    good.push(huge);
    let (_, want) = run(&s, &good, 1, Detail::Full);
    for threads in [1, 2] {
        let (results, mut got) = run(&s, &with_bad, threads, Detail::Full);
        assert!(!results[3].is_finite());
        assert_eq!(got.non_finite.len(), 1);
        assert_eq!(got.non_finite[0].loan.loan_id, "BAD");
        got.non_finite.clear();
        assert_same_accum(&got, &want, "without the non-finite loan");
        // Without the CF matrix nothing needs taking back out.
        let (results, mut got) = run(&s, &with_bad, threads, Detail::Monthly);
        assert!(!results[3].is_finite() && results[7].is_finite());
        assert_eq!(got.non_finite.len(), 1);
        assert_eq!(got.non_finite[0].loan.loan_id, "BAD");
        got.non_finite.clear();
        assert_same_accum(&got, &without_cf(&want), "monthly, without it");
    }
}

/// Loans sharing a note rate have its prepayment factors resolved once per
/// worker chunk (`RateFactors`); a loan valued alone does not. Both give the
/// same bits, per loan and in the totals, and the loans left out are still
/// listed by id although the worker takes them rate by rate.
#[test]
fn shared_rate_factors_change_no_bit() {
    let mut loans = msr_io::generate_book(60, SEED + 4);
    for (i, l) in loans.iter_mut().enumerate() {
        l.note_rate = [0.0625, 0.03, 0.045][i % 3];
    }
    // Two loans that cannot be summed, in one worker chunk (16 loans here),
    // the second with the lower rate, so the worker takes it first.
    for (i, rate) in [(3, 0.0625), (9, 0.03)] {
        loans[i].upb = 1e305;
        loans[i].note_rate = rate;
        loans[i].loan_id = format!("BAD{i}");
    }
    let s = setup(&loans, 19);
    let (alone, alone_acc) = one_at_a_time(&s, &loans, Detail::Full);
    for threads in [1, 2] {
        let (together, acc) = run(&s, &loans, threads, Detail::Full);
        assert_eq!(by_id(&loans, &together), by_id(&loans, &alone));
        assert_same_accum(&acc, &alone_acc, "rate by rate against one at a time");
        let ids: Vec<&str> = acc
            .non_finite
            .iter()
            .map(|x| x.loan.loan_id.as_str())
            .collect();
        assert_eq!(ids, ["BAD3", "BAD9"]);
    }
}

/// Loans with the same note rate and FICO share their SMM columns
/// (`BlockScratch::sharing`, in the order `LoanTerms::prepay_order_key`
/// gives), whatever their terms, ages, states and balances (a loan still in
/// its prepayment ramp computes those months itself); a loan valued alone
/// computes its own. Both give the same bits, per loan and in the totals.
#[test]
fn shared_smm_columns_change_no_bit() {
    // Sixteen loans: one worker chunk, so one scratch sees them all.
    let mut loans = msr_io::generate_book(16, SEED + 5);
    for (i, l) in loans.iter_mut().enumerate() {
        l.note_rate = 0.0625;
        l.fico = [700, 760][i % 2];
        // Seasoned (the same ramp whatever the age) but for two of the
        // lower FICO, still in the ramp.
        l.loan_age = if i == 4 || i == 10 { 4 } else { 40 + i as u32 };
        // The higher FICO, taken second, with the shorter terms: they must
        // not be served the lower one's columns.
        l.remaining_term = if l.fico == 700 { 200 } else { 60 } + (i as u32 * 37) % 90;
    }
    // One in the ramp is the longest of its group, so it computes the
    // shared columns (with the ramp complete) and its own first months.
    loans[4].remaining_term = 320;
    loans[5].upb = 1e305;
    loans[5].loan_id = "BAD5".into();
    let s = setup(&loans, 19);
    for detail in [Detail::Monthly, Detail::Full] {
        let (alone, alone_acc) = one_at_a_time(&s, &loans, detail);
        for threads in [1, 2] {
            let (together, acc) = run(&s, &loans, threads, detail);
            assert_eq!(by_id(&loans, &together), by_id(&loans, &alone));
            assert_same_accum(&acc, &alone_acc, "shared SMMs against one at a time");
            assert_eq!(acc.non_finite.len(), 1);
        }
    }
}
