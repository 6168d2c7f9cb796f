//! GSE monthly performance files → the loan-month panel of `msr calibrate
//! behaviour` (`msr history freddie|fannie`, docs/calibration.md).
//!
//! The importers map each monthly record with the same code, layouts and
//! sentinels as `msr import` (their `map_record`); this module turns the
//! sequence of a loan's records into panel rows: the row of month `P`
//! carries its status and, as `next_status`, the status of `P + 1` or the
//! event that ended the loan (zero balance code → `PP`, `DIL` or `LIQ`; a
//! return to current with the modification flag newly set → `MOD`).
//!
//! Streaming with bounded memory: a loan's records must be contiguous in
//! the file (they are in the GSE files), so only the current loan's last
//! record is held, plus the identifiers of loans already finished (to
//! refuse a loan that comes back later, which would otherwise be split).
//! Rows go to Parquet in chunks.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use msr_core::DqState;

use super::{layout, Draft, ImportError, YearMonth};
use crate::panel::PANEL_COLUMNS;
use crate::parquet_out::{Column, ParquetOptions, ParquetTableWriter};

/// Rows buffered before a chunk is written.
const CHUNK_ROWS: usize = 1 << 16;

/// What `msr history` did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryReport {
    /// Records (lines) read.
    pub records_read: u64,
    /// Bytes read.
    pub bytes_read: u64,
    /// Panel rows written.
    pub rows_written: u64,
    /// Loans seen.
    pub loans: u64,
    /// Loan-months not written, by reason (the month's next month is not
    /// observed, the record cannot be mapped, ...).
    pub not_written: BTreeMap<String, u64>,
    /// Rows written, by `next_status`.
    pub by_next: BTreeMap<String, u64>,
}

impl HistoryReport {
    fn count(&mut self, reason: impl Into<String>) {
        *self.not_written.entry(reason.into()).or_default() += 1;
    }
}

/// One mapped monthly record, as the history needs it.
#[derive(Debug, Clone)]
pub(crate) enum Month {
    /// An active loan: its tape mapping and whether the modification flag is set.
    Active {
        /// The record mapped as a tape row.
        draft: Box<Draft>,
        /// Modification flag set.
        modified: bool,
    },
    /// The loan ended with this event (`PP`, `DIL`, `LIQ`).
    Ended(&'static str),
    /// The loan left the data without a behavioural event (a repurchase, a
    /// note sale, ...): the previous month's outcome is unobserved.
    Censored(String),
    /// The record cannot be used (a field that cannot be mapped).
    Unusable(String),
}

struct Pending {
    period: i64,
    draft: Box<Draft>,
    modified: bool,
}

/// The per-loan state machine and the panel writer.
pub(crate) struct History {
    file: PathBuf,
    writer: ParquetTableWriter,
    buf: Vec<Row>,
    current: Option<String>,
    ended: bool,
    pending: Option<Pending>,
    done: HashSet<String>,
    pub(crate) report: HistoryReport,
}

struct Row {
    period: i32,
    draft: Box<Draft>,
    next: &'static str,
}

impl History {
    pub(crate) fn create(out: &Path, input: &Path) -> Result<History, ImportError> {
        let writer = ParquetTableWriter::create(out, &PANEL_COLUMNS, ParquetOptions::default())?;
        Ok(History {
            file: input.to_path_buf(),
            writer,
            buf: Vec::with_capacity(CHUNK_ROWS),
            current: None,
            ended: false,
            pending: None,
            done: HashSet::new(),
            report: HistoryReport::default(),
        })
    }

    /// Take loan `id`'s record of `period` (a [`YearMonth::index`]) at file
    /// line `line`.
    pub(crate) fn record(
        &mut self,
        line: u64,
        id: &str,
        period: i64,
        month: Month,
    ) -> Result<(), ImportError> {
        if self.current.as_deref() != Some(id) {
            if let Some(p) = self.pending.take() {
                drop(p);
                self.report.count(
                    "last record of the loan without a zero balance code (next month not observed)",
                );
            }
            if let Some(prev) = self.current.take() {
                self.done.insert(prev);
            }
            if self.done.contains(id) {
                return Err(layout(
                    &self.file,
                    line,
                    format!("loan `{id}` has records before another loan's: a loan's records must be contiguous (sort the file by loan and month)"),
                ));
            }
            self.current = Some(id.to_string());
            self.ended = false;
            self.report.loans += 1;
        }
        if self.ended {
            self.report.count("record after the loan ended");
            return Ok(());
        }
        if let Some(p) = &self.pending {
            if period <= p.period {
                return Err(layout(
                    &self.file,
                    line,
                    format!(
                        "loan `{id}`: month {} does not follow its previous record's month {}",
                        month_label(period),
                        month_label(p.period)
                    ),
                ));
            }
            if period != p.period + 1 {
                self.pending = None;
                self.report.count(
                    "month followed by a gap in the loan's records (next month not observed)",
                );
            }
        }
        match month {
            Month::Active { draft, modified } => {
                if let Some(p) = self.pending.take() {
                    let next = if p.draft.dq_status != DqState::C
                        && draft.dq_status == DqState::C
                        && modified
                        && !p.modified
                    {
                        "MOD"
                    } else {
                        draft.dq_status.code()
                    };
                    self.emit(p, next)?;
                }
                self.pending = Some(Pending {
                    period,
                    draft,
                    modified,
                });
            }
            Month::Ended(event) => {
                match self.pending.take() {
                    Some(p) => self.emit(p, event)?,
                    None => self
                        .report
                        .count(format!("{event} without an observed previous month")),
                }
                self.ended = true;
            }
            Month::Censored(reason) => {
                if self.pending.take().is_some() {
                    self.report.count(reason);
                }
                self.ended = true;
            }
            Month::Unusable(reason) => {
                if self.pending.take().is_some() {
                    self.report
                        .count("month before an unusable record (next month not mapped)");
                }
                self.report.count(reason);
            }
        }
        Ok(())
    }

    fn emit(&mut self, p: Pending, next: &'static str) -> Result<(), ImportError> {
        let ym = month_label(p.period);
        let period = ym.parse::<i32>().unwrap_or(0);
        *self.report.by_next.entry(next.to_string()).or_default() += 1;
        self.buf.push(Row {
            period,
            draft: p.draft,
            next,
        });
        if self.buf.len() >= CHUNK_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ImportError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.buf);
        self.report.rows_written += rows.len() as u64;
        let col = |f: &dyn Fn(&Row) -> String| rows.iter().map(f).collect::<Vec<String>>();
        self.writer.write(vec![
            Column::utf8("loan_id", col(&|r| r.draft.loan_id.clone())),
            Column::i32("period", rows.iter().map(|r| r.period).collect()),
            Column::utf8("investor", col(&|r| r.draft.investor.code().to_string())),
            Column::f64("upb", rows.iter().map(|r| r.draft.upb).collect()),
            Column::f64(
                "note_rate",
                rows.iter().map(|r| r.draft.note_rate).collect(),
            ),
            Column::i32(
                "loan_age",
                rows.iter().map(|r| clamp_i32(r.draft.loan_age)).collect(),
            ),
            Column::i32(
                "remaining_term",
                rows.iter()
                    .map(|r| clamp_i32(r.draft.remaining_term))
                    .collect(),
            ),
            Column::i32(
                "fico",
                rows.iter().map(|r| clamp_i32(r.draft.fico)).collect(),
            ),
            Column::f64("ltv", rows.iter().map(|r| r.draft.ltv).collect()),
            Column::utf8("property_state", col(&|r| r.draft.property_state.clone())),
            Column::utf8("dq_status", col(&|r| r.draft.dq_status.code().to_string())),
            Column::utf8("next_status", col(&|r| r.next.to_string())),
        ])?;
        self.buf = rows;
        self.buf.clear();
        Ok(())
    }

    /// Flush the last loan and the buffered rows, and finish the file.
    pub(crate) fn finish(mut self) -> Result<HistoryReport, ImportError> {
        if self.pending.take().is_some() {
            self.report.count(
                "last record of the loan without a zero balance code (next month not observed)",
            );
        }
        self.flush()?;
        self.writer.finish()?;
        Ok(self.report)
    }
}

fn clamp_i32(x: i64) -> i32 {
    x.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// `YYYYMM` of a [`YearMonth::index`].
fn month_label(index: i64) -> String {
    let y = index.div_euclid(12);
    let m = index.rem_euclid(12) + 1;
    YearMonth::new(y as i32, m as u32).map_or_else(
        || index.to_string(),
        |ym| format!("{:04}{:02}", ym.year, ym.month),
    )
}
