//! The files other commands write, as the report reads them: summary.json
//! and manifest.json (`msr value`, `msr merge`), risk.json (`msr risk`),
//! repline_summary.json (`msr repline`) and rollforward.json
//! (`msr rollforward`), disclosure.json (`msr disclose`), fit.json (`msr
//! calibrate rates|oas|behaviour`): the writers' own
//! types from `msr_io::docs`, re-exported. Unknown fields are ignored, so a
//! later version that adds fields still reads, fields older versions did not
//! write are defaulted, and a missing required field is an input error
//! naming the file.

pub use msr_io::docs::calibrate::{FitCohort, FitQuote, OasFit, RatesFit};
pub use msr_io::docs::disclose::{Disclosure, DisclosureRow};
pub use msr_io::docs::repline::{Bucket, ReplineSummary};
pub use msr_io::docs::risk::{KeyRate, Risk, Scenario};
pub use msr_io::docs::rollforward::{RollGroup, RollLoans, RollStep, Rollforward};
pub use msr_io::docs::run::{InputFile, RunInputs, RunProvenance};
pub use msr_io::docs::value::{GroupTotals, Manifest, Summary};
pub use msr_io::partial::RatePathsInfo;
