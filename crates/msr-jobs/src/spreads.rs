//! `--oas-table FILE`: value each loan at its cohort's OAS (the
//! `oas_by_cohort.csv` of `msr calibrate oas`, or any table of cohorts with
//! an `oas` column; docs/calibration-market.md).
//!
//! One [`Market`] per distinct OAS, built once; each window of loans is split
//! by market and valued group by group ([`value_loans_grouped`]), and the
//! groups' exact accumulators merge into the book's. Without the flag nothing
//! here runs and a run is the same bits as before.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use msr_core::Loan;
use msr_engine::{
    value_loans_grouped, CohortTable, Context, Detail, LoanResult, LoanSpreads, PortfolioAccum,
    TableKind,
};
use msr_io::docs::run::OasTableRef;
use msr_model::{Market, ModelParams};
use msr_rates::PathSet;

use crate::cmd::calibrate::read_cohort_table;
use crate::common::sha256;
use crate::exit::input;

/// The `--oas-table` flag.
#[derive(Debug, Clone, Args, Default)]
pub struct OasTableArgs {
    /// Value each loan at its cohort's OAS from this table (CSV: cohort
    /// columns as in `msr calibrate oas`, and `oas`), e.g. the
    /// oas_by_cohort.csv of `msr calibrate oas`. Every loan must fall in a
    /// cohort.
    #[arg(long, value_name = "FILE", conflicts_with = "oas")]
    pub oas_table: Option<PathBuf>,
}

impl OasTableArgs {
    /// The table, when given, as an input no output may replace.
    pub fn files(&self) -> Vec<&std::path::Path> {
        self.oas_table.iter().map(PathBuf::as_path).collect()
    }
}

/// A loaded OAS table with one market per distinct OAS.
#[derive(Debug)]
pub struct Spreads {
    path: PathBuf,
    sha256: String,
    table: CohortTable,
    /// Distinct OAS values, in first-seen order.
    oas: Vec<f64>,
    /// The market of each distinct OAS.
    markets: Vec<Market>,
    /// The index into `markets` of each cohort.
    market_of_cohort: Vec<usize>,
}

impl Spreads {
    /// Read the table named by `args` (if any) and build its markets on
    /// `paths` for `months` months.
    ///
    /// # Errors
    /// Input errors naming the file.
    pub fn load(
        args: &OasTableArgs,
        paths: &PathSet,
        params: &ModelParams,
        months: usize,
    ) -> Result<Option<Spreads>> {
        let Some(path) = &args.oas_table else {
            return Ok(None);
        };
        let table = read_cohort_table(path, TableKind::Oas)?;
        let (oas, market_of_cohort) = table.distinct_numbers();
        let markets = oas
            .iter()
            .map(|&x| Market::new(paths, params, x, months))
            .collect();
        Ok(Some(Spreads {
            sha256: sha256(path)?,
            path: path.clone(),
            table,
            oas,
            markets,
            market_of_cohort,
        }))
    }

    /// Value `loans`, each at its cohort's OAS; `ctx` gives everything else
    /// (its market only fixes the paths and months).
    ///
    /// # Errors
    /// Input error when a loan falls in no cohort.
    pub fn value(
        &self,
        ctx: &Context<'_>,
        loans: &[Loan],
        detail: Detail,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<(Vec<LoanResult>, PortfolioAccum)> {
        let group_of: Vec<usize> = self
            .table
            .cohort_of(loans)
            .map_err(|e| input(format!("{}: {e}", self.path.display())))?
            .into_iter()
            .map(|c| self.market_of_cohort[c])
            .collect();
        let markets: Vec<&Market> = self.markets.iter().collect();
        let (results, parts) =
            value_loans_grouped(ctx, &markets, &group_of, loans, detail, progress);
        let mut accum = PortfolioAccum::new(ctx.market.num_paths(), ctx.market.months(), detail);
        for part in &parts {
            accum.merge(part);
        }
        Ok((results, accum))
    }

    /// The table's OAS for each loan (for the marks).
    ///
    /// # Errors
    /// Input error when a loan falls in no cohort.
    pub fn oas_of(&self, loans: &[Loan]) -> Result<Vec<f64>> {
        let spreads = self.loan_spreads(loans)?;
        Ok(spreads.group_of.iter().map(|&g| spreads.oas[g]).collect())
    }

    /// Each loan's spread as an index into the table's distinct OAS values
    /// (for `msr risk`, which builds its markets per scenario).
    ///
    /// # Errors
    /// Input error when a loan falls in no cohort.
    pub fn loan_spreads(&self, loans: &[Loan]) -> Result<LoanSpreads> {
        let group_of = self
            .table
            .cohort_of(loans)
            .map_err(|e| input(format!("{}: {e}", self.path.display())))?
            .into_iter()
            .map(|c| self.market_of_cohort[c])
            .collect();
        Ok(LoanSpreads {
            oas: self.oas.clone(),
            group_of,
        })
    }

    /// The table's path and hash, for a manifest.
    pub fn provenance(&self) -> OasTableRef {
        OasTableRef {
            path: self.path.clone(),
            sha256: self.sha256.clone(),
            cohorts: self.table.cohorts.len() as u64,
            distinct_oas: self.oas.clone(),
        }
    }
}
