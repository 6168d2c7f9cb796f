//! The valuation kernel: one loan (360 months) over 256 paths, i.e. 32 blocks of
//! `LANES` paths, at each instruction-set level this CPU has (`detail+rate`:
//! with the note rate's prepayment factors resolved beforehand, as the engine
//! runs a rate several loans share); and the whole engine (`value_loans`, all
//! cores) on a small generated book.
//! Throughput is in elements = loan-path-months.

// criterion_group! generates undocumented functions.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use msr_benches::{book, Setup};
use msr_engine::{value_loans, Context, Detail};
use msr_model::simd::{detected, Level};
use msr_model::{
    run_block_at, BlockAccum, BlockDetail, BlockScratch, MonthlyLanes, NetCells, RateFactors, LANES,
};
use std::hint::black_box;
use std::time::Duration;

const PATHS: usize = 256;
const MONTHS: usize = 360;

fn levels() -> Vec<Level> {
    Level::ALL
        .into_iter()
        .filter(|&l| l <= detected())
        .collect()
}

fn kernel(c: &mut Criterion) {
    let setup = Setup::new(PATHS, MONTHS);
    let terms = setup.loan_terms(MONTHS as u32);
    let blocks = setup.market.num_blocks();
    let mut scratch = BlockScratch::default();
    let mut out = BlockAccum::default();
    let mut monthly = MonthlyLanes::default();
    let mut net = vec![[0.0; LANES]; MONTHS];

    let mut group = c.benchmark_group("kernel");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements((PATHS * MONTHS) as u64));
    for level in levels() {
        group.bench_function(BenchmarkId::new("values", level.name()), |b| {
            b.iter(|| {
                let mut v = 0.0;
                for block in 0..blocks {
                    run_block_at::<false>(
                        level,
                        &terms,
                        &setup.params,
                        &setup.market,
                        None,
                        block,
                        &mut scratch,
                        &mut out,
                        None,
                    );
                    v += out.pv_net[0];
                }
                black_box(v)
            })
        });
        let mut rates = RateFactors::default();
        rates.resolve_at(level, &terms, &setup.market, MONTHS);
        for (name, rates) in [("detail", None), ("detail+rate", Some(&rates))] {
            group.bench_function(BenchmarkId::new(name, level.name()), |b| {
                b.iter(|| {
                    monthly.reset(MONTHS);
                    let mut v = 0.0;
                    for block in 0..blocks {
                        run_block_at::<true>(
                            level,
                            &terms,
                            &setup.params,
                            &setup.market,
                            rates,
                            block,
                            &mut scratch,
                            &mut out,
                            Some(BlockDetail {
                                monthly: &mut monthly,
                                net: NetCells::Write(&mut net),
                            }),
                        );
                        v += out.pv_net[0] + net[MONTHS - 1][0];
                    }
                    black_box(v)
                })
            });
        }
    }
    group.finish();
}

fn engine(c: &mut Criterion) {
    let setup = Setup::new(PATHS, MONTHS);
    let (loans, loan_months) = book(64, MONTHS as u32);
    let ctx = Context {
        params: &setup.params,
        market: &setup.market,
        config: &setup.config,
        units: msr_engine::SeUnits::of(&setup.config.valuation),
        tangent: None,
    };
    let mut group = c.benchmark_group("value_loans");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(loan_months * PATHS as u64));
    let levels = [
        ("full", Detail::Full),
        ("monthly", Detail::Monthly),
        ("values", Detail::Values),
    ];
    for (name, detail) in levels {
        group.bench_function(BenchmarkId::new("book64", name), |b| {
            b.iter(|| black_box(value_loans(&ctx, &loans, detail).0.len()))
        });
    }
    group.finish();
}

criterion_group!(benches, kernel, engine);
criterion_main!(benches);
