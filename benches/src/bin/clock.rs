//! The clock this process actually gets, for reading benchmark figures on a
//! shared virtual machine (docs/PERFORMANCE.md, "The machine and its noise").
//!
//! Runs a chain of dependent one-cycle integer operations (exclusive-or and
//! add: one cycle each on every x86 and Arm server core of the last decade)
//! for about 0.3 s of this thread's CPU time and prints the operations per
//! second: the effective clock in GHz. Time stolen by the
//! hypervisor is excluded (the thread's scheduler run time), but a slower
//! core is not: on the development VM the reading moved between 1.1 and
//! 2.9 GHz within a day against a 2.0 GHz TSC, and the kernel's speed moved
//! with it. `scripts/bench.sh` prints it before and after its runs. Run with
//! `cargo run --release -p msr-benches --bin clock [REPS]` (best of REPS,
//! default 3).

use msr_benches::thread_cpu_ns;

/// Links per repetition: about 0.3 s at 3 GHz.
const LINKS: u64 = 500_000_000;

/// `n` links of a dependent chain of an exclusive-or and an add (one cycle
/// each, so two cycles per link; the loop's own counter and branch run beside
/// them). The operands come through `black_box`, so the chain cannot be
/// folded.
fn dependent_chain(n: u64) -> u64 {
    let (y, c) = (
        std::hint::black_box(0x9e37_79b9_7f4a_7c15u64),
        std::hint::black_box(1u64),
    );
    let mut x = std::hint::black_box(0u64);
    for _ in 0..n {
        x = (x ^ y).wrapping_add(c);
    }
    x
}

fn main() {
    let reps: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("REPS must be a number"))
        .unwrap_or(3);
    let mut best = 0.0f64;
    for _ in 0..reps.max(1) {
        let start = thread_cpu_ns();
        std::hint::black_box(dependent_chain(LINKS));
        let ns = (thread_cpu_ns() - start).max(1) as f64;
        best = best.max(2.0 * LINKS as f64 / ns);
    }
    println!("dependent-chain clock: {best:.2} GHz (best of {reps})");
}
