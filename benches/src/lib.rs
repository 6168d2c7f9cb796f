//! Fixtures shared by the criterion benchmarks in `benches/` (run them with
//! `cargo bench -p msr-benches`; see docs/PERFORMANCE.md and scripts/bench.sh).
//!
//! Everything is deterministic: fixed seeds, generated loans, generated rate
//! paths, so two runs time the same work.

use msr_core::loan::Loan;
use msr_core::Config;
use msr_model::{LoanTerms, Market, ModelParams};
use msr_rates::{NormalGenerator, RateModel};

/// Seed of every generated fixture.
pub const SEED: u64 = 20_261_121;

/// A valuation setup: the default configuration, its model constants, and the
/// market arrays of `num_paths` Hull–White paths over `months` months.
#[derive(Debug)]
pub struct Setup {
    /// The default configuration.
    pub config: Config,
    /// Its resolved model constants.
    pub params: ModelParams,
    /// Market arrays at the configured OAS.
    pub market: Market,
}

impl Setup {
    /// Build the setup.
    ///
    /// # Panics
    /// If the default configuration does not build a rate model (a bug).
    pub fn new(num_paths: usize, months: usize) -> Setup {
        let mut config = Config::default();
        config.valuation.num_paths = num_paths as u32;
        config.valuation.seed = SEED;
        let model =
            RateModel::from_config(&config.curve, &config.hull_white, &config.mortgage_rate)
                .expect("default rate model");
        let normals = NormalGenerator::from_config(&config.valuation).normals(num_paths, months);
        let paths = model.paths(&normals, months);
        let params = ModelParams::from_config(&config);
        let market = Market::new(&paths, &params, config.valuation.oas, months);
        Setup {
            config,
            params,
            market,
        }
    }
}

impl Setup {
    /// The prepared terms of [`loan_with_term`]`(months)`: the one loan the
    /// kernel benchmarks run.
    pub fn loan_terms(&self, months: u32) -> LoanTerms {
        let loan = loan_with_term(months);
        let mut terms = LoanTerms::default();
        let h = self.config.credit.fc_hazard(loan.state_code());
        terms.prepare(&loan, &self.params, h);
        terms
    }
}

/// A generated loan with its remaining term set to `months` (the bench's
/// loan-path-month count is then exactly `months × paths`).
pub fn loan_with_term(months: u32) -> Loan {
    let mut loan = msr_io::generate_loan(7, SEED);
    loan.remaining_term = months;
    loan
}

/// `n` generated loans (their own remaining terms, capped at `months`) and
/// their total loan-months.
pub fn book(n: usize, months: u32) -> (Vec<Loan>, u64) {
    let mut loans = msr_io::generate_book(n, SEED);
    for l in &mut loans {
        l.remaining_term = l.remaining_term.min(months);
    }
    let loan_months = loans.iter().map(|l| l.remaining_term as u64).sum();
    (loans, loan_months)
}

/// This thread's run time in nanoseconds: the first field of
/// `/proc/thread-self/schedstat`, which excludes time stolen by the
/// hypervisor (what the `kernel_cpu` and `clock` probes time with).
///
/// # Panics
/// Where that file does not exist (not Linux).
pub fn thread_cpu_ns() -> u64 {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat")
        .expect("/proc/thread-self/schedstat (Linux)");
    s.split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .expect("schedstat run time")
}
