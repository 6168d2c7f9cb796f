//! The report: one self-contained HTML page from a run's outputs, for
//! risk and management readers (`msr report`; docs/report.md).
//!
//! It reads only the files a run wrote, never the engine: the job layer
//! (msr-jobs) calls [`load`] and [`render`] and writes the page.
//!
//! Three layers, each ignorant of the one above:
//!
//! * [`data`] finds and reads the run's files (through `msr-io`; their
//!   shapes in [`schema`]) into [`data::ReportData`], noting which inputs
//!   were absent;
//! * [`svg`] draws charts (bar, stacked bar, line, stacked area, waterfall)
//!   as inline SVG from plain numbers; it knows nothing about MSRs;
//! * [`page`] lays out the sections, tables and charts as HTML, escaping
//!   every string it writes ([`fmt`] formats the numbers).
//!
//! The page has no script and no external reference (fonts, images, styles
//! are all inline or system), and is a pure function of the files read: no
//! clock, so the same run gives the same bytes. docs/report.md describes the
//! sections.

pub mod data;
pub mod fmt;
pub mod page;
pub mod schema;
pub mod svg;

pub use data::{load, Sources};
pub use page::render;

/// A report input that cannot be used: a missing, malformed or inconsistent
/// file. Callers map it to their "bad input" class (exit 3 in `msr`).
#[derive(Debug)]
pub struct InputError(pub String);

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InputError {}

/// Tag an error as a bad report input.
pub(crate) fn input(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::Error::new(InputError(e.to_string()))
}
