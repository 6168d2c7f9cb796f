//! The kernel's cost per loan-path-month in *CPU* time of this thread, for a
//! shared machine where wall-clock benchmarks (criterion) swing with the
//! other load and the hypervisor's steal time.
//!
//! One generated loan, 360 months × 256 paths (32 blocks; PATHS to change), at every
//! instruction-set level this CPU has, in four modes:
//! * `net`: each path's value only (`run_block_net_at`: the scenarios of
//!   `msr risk`, `Detail::Net`);
//! * `values`: PVs only (`run_block::<false>`, `msr value --no-cashflows`);
//! * `monthly`: PVs and the monthly sums (`NetCells::Skip`): what `msr value`
//!   does per LPM (`Detail::Monthly`);
//! * `detail+cf`: also each lane's net cash flow, added to the exact
//!   fixed-point `CF[p,t]` sums in the month loop (`NetCells::AddFixed`):
//!   what an OAS solve and the base run of `msr risk` do (`Detail::Full`);
//!
//! each also `+rate`: with the note rate's factors resolved beforehand
//! ([`msr_model::RateFactors`], what the engine does for a rate several loans
//! share), `+shared`: with the SMMs of an earlier loan with the same
//! prepayment inputs (`BlockScratch::sharing`: no prepayment pass, the
//! cash-flow pass alone), and a `resolve` line: the cost of resolving them, per path-month
//! (paid once per note rate and worker chunk, not per loan).
//!
//! Each figure is the best of `REPS` repetitions of about 1e8 loan-path-months
//! (passes over the blocks), timed with the thread's scheduler run time
//! (`/proc/thread-self/schedstat`, which excludes time stolen by the
//! hypervisor). Run with
//! `cargo run --release -p msr-benches --bin kernel_cpu [REPS [PATHS [ONLY]]]`;
//! `ONLY` keeps the `mode/level` pairs containing it (`detail+cf/avx512`,
//! `avx512`, ...), so more repetitions of one figure fit in the same time.

use msr_benches::{thread_cpu_ns, Setup};
use msr_model::simd::{detected, Level};
use msr_model::{
    run_block_at, run_block_net_at, BlockAccum, BlockDetail, BlockScratch, MonthlyLanes, NetCells,
    RateFactors, LANES,
};
use std::hint::black_box;

/// The allocator `msr` uses: its large blocks start on a cache line, so the
/// kernel's rows of eight lanes do not straddle two (glibc's start 16 bytes
/// past a page and split every vector load and store; docs/PERFORMANCE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const MONTHS: usize = 360;
/// Loan-path-months per repetition: ~1 s of CPU, so the scheduler's tick
/// (the resolution of schedstat's run time, a few ms) is below 1 %.
const LPM_PER_REP: usize = 100_000_000;

fn main() {
    let reps: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("REPS must be a number"))
        .unwrap_or(7);
    let paths: usize = std::env::args()
        .nth(2)
        .map(|a| a.parse().expect("PATHS must be a number"))
        .unwrap_or(256);
    let only = std::env::args().nth(3).unwrap_or_default();
    let setup = Setup::new(paths, MONTHS);
    let mut terms = setup.loan_terms(MONTHS as u32);
    terms.prepare_net(&setup.params);
    let blocks = setup.market.num_blocks();
    let mut out = BlockAccum::default();
    let mut monthly = MonthlyLanes::default();
    let mut hi = vec![[0i64; LANES]; MONTHS * blocks];
    let mut lo = vec![[0i64; LANES]; MONTHS * blocks];
    let rounds = LPM_PER_REP.div_ceil(paths * MONTHS);
    let lpm = (rounds * paths * MONTHS) as f64;

    println!("mode            level     ns/LPM (CPU)  LPM per CPU-second");
    for level in Level::ALL.into_iter().filter(|&l| l <= detected()) {
        if level == Level::Portable {
            continue; // ~50x slower: a correctness fallback, not a target
        }
        let mut rates = RateFactors::default();
        if format!("resolve/{}", level.name()).contains(&only) {
            let mut best = f64::INFINITY;
            for _ in 0..reps {
                let start = thread_cpu_ns();
                for _ in 0..rounds {
                    rates.resolve_at(level, &terms, &setup.market, MONTHS);
                }
                black_box(&rates);
                best = best.min((thread_cpu_ns() - start) as f64 / lpm);
            }
            println!(
                "{:<15} {:<9} {best:>8.3}      {:.3e}   (per path-month, once per rate)",
                "resolve",
                level.name(),
                1e9 / best
            );
        }
        rates.resolve_at(level, &terms, &setup.market, MONTHS);
        let modes = ["net", "values", "monthly", "detail+cf"]
            .into_iter()
            .flat_map(|m| [(m, "none"), (m, "rate"), (m, "shared")]);
        for (mode, prepay) in modes {
            let name = match prepay {
                "none" => mode.to_string(),
                _ => format!("{mode}+{prepay}"),
            };
            if !format!("{name}/{}", level.name()).contains(&only) {
                continue;
            }
            let rates = (prepay == "rate").then_some(&rates);
            // `shared`: every block's SMMs computed once, then served to the
            // same loan again (BlockScratch::sharing): the cash-flow pass
            // alone, what a loan whose SMMs another loan computed costs.
            let mut scratch = if prepay == "shared" {
                BlockScratch::sharing()
            } else {
                BlockScratch::default()
            };
            let mut best = f64::INFINITY;
            for _ in 0..reps {
                let start = thread_cpu_ns();
                let mut v = 0.0;
                for _ in 0..rounds {
                    monthly.reset(MONTHS);
                    for block in 0..blocks {
                        if mode == "net" {
                            run_block_net_at(
                                level,
                                &terms,
                                &setup.params,
                                &setup.market,
                                rates,
                                block,
                                &mut scratch,
                                &mut out,
                            );
                        } else if mode == "values" {
                            run_block_at::<false>(
                                level,
                                &terms,
                                &setup.params,
                                &setup.market,
                                rates,
                                block,
                                &mut scratch,
                                &mut out,
                                None,
                            );
                        } else {
                            let cells = block * MONTHS..(block + 1) * MONTHS;
                            let net = if mode == "monthly" {
                                NetCells::Skip
                            } else {
                                NetCells::AddFixed {
                                    hi: &mut hi[cells.clone()],
                                    lo: &mut lo[cells],
                                }
                            };
                            let fits = run_block_at::<true>(
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
                                    net,
                                }),
                            );
                            assert!(fits);
                        }
                        v += out.pv_net[0];
                    }
                }
                black_box(v);
                let ns = (thread_cpu_ns() - start) as f64 / lpm;
                best = best.min(ns);
            }
            println!(
                "{name:<15} {:<9} {best:>8.3}      {:.3e}",
                level.name(),
                1e9 / best
            );
        }
    }
}
