//! Reading a generated 100,000-loan tape through `msr_io::TapeReader`
//! (decode, validate, build `Loan`s). Throughput is in elements = rows.

// criterion_group! generates undocumented functions.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use msr_benches::SEED;
use msr_core::config::Tape;
use msr_io::TapeReader;
use std::hint::black_box;
use std::time::Duration;

const LOANS: usize = 100_000;

fn tape_reader(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("book.parquet");
    msr_io::write_generated_book(&path, LOANS, SEED, 100_000).expect("write tape");
    let tape = Tape::default();

    let mut group = c.benchmark_group("tape_reader");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(LOANS as u64));
    group.bench_function("read_100k", |b| {
        b.iter(|| {
            let mut reader = TapeReader::open(&path, &tape).expect("open tape");
            let mut rows = 0;
            while let Some(batch) = reader.next_batch().expect("read batch") {
                rows += batch.loans.len() + batch.rejects.len();
            }
            assert_eq!(rows, LOANS);
            black_box(rows)
        })
    });
    group.finish();
}

criterion_group!(benches, tape_reader);
criterion_main!(benches);
