//! The page: one self-contained HTML document (inline CSS, inline SVG, no
//! script, no external reference) laid out from [`ReportData`]. This module
//! holds the document frame, the stylesheet and a small HTML writer
//! ([`Page`]: sections, cards, tables, figures, all escaping); each section
//! is a function in a submodule and appears only when its data exists
//! (`run`: run facts, inputs and the headline; `composition`; `projection`:
//! cash flows and surviving UPB; `risk`; `replines`; `rollforward`). The
//! run section lists the inputs that were absent and what that leaves out.
//!
//! Section ids (`run`, `headline`, `composition`, `cashflows`, `upb`,
//! `risk`, `replines`, `rollforward`) and chart ids (`chart-…`) are stable:
//! tests and readers link to them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::data::{
    bucket_labels, investor_order, roll_residual, status_order, Cashflows, NoteRates, Repline,
    ReportData,
};
use super::fmt::{self, esc};
use super::schema::{Bucket, GroupTotals, Risk, RollStep, Rollforward, Scenario};
use super::svg::{
    BarChart, BarLayout, LineChart, LineMode, Orientation, Series, Unit, Waterfall, DOWN, FULL,
    HALF, INK, PALETTE, SEQUENTIAL, TOTAL, UP,
};
use msr_core::DqState;

mod behaviour;
mod calibration;
mod composition;
mod disclosure;
mod projection;
mod replines;
mod risk;
mod rollforward;
mod run;

const CSS: &str = r#"
:root { --ink:#1d1d22; --muted:#5d5d68; --line:#dcdce2; --bg:#f4f4f7; --accent:#4477AA; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif; }
main { max-width:1180px; margin:0 auto; padding:22px 26px 40px; }
header.top h1 { font-size:26px; margin:0 0 2px; }
header.top p { margin:0; color:var(--muted); }
nav { margin:12px 0 4px; font-size:13px; }
nav a { color:var(--accent); text-decoration:none; margin-right:14px; }
section { background:#fff; border:1px solid var(--line); border-radius:8px; padding:16px 20px 18px; margin:16px 0; }
h2 { font-size:19px; margin:0 0 10px; }
h3 { font-size:15px; margin:18px 0 6px; }
.kpis { display:grid; grid-template-columns:repeat(4,minmax(0,1fr)); gap:10px; margin:6px 0 8px; }
.kpi { border:1px solid var(--line); border-radius:6px; padding:9px 12px; }
.kpi .label { font-size:11.5px; color:var(--muted); text-transform:uppercase; letter-spacing:.04em; }
.kpi .value { font-size:22px; font-weight:650; font-variant-numeric:tabular-nums; }
.kpi .detail { font-size:12px; color:var(--muted); font-variant-numeric:tabular-nums; }
.grid2 { display:grid; grid-template-columns:minmax(0,1fr) minmax(0,1fr); gap:14px; }
figure { margin:8px 0; }
svg.chart { width:100%; height:auto; display:block; border:1px solid #eeeef2; border-radius:4px; }
table { border-collapse:collapse; width:100%; font-size:12.5px; font-variant-numeric:tabular-nums; margin:6px 0; }
th, td { padding:3px 8px; border-bottom:1px solid #ececf0; text-align:left; vertical-align:top; }
th { background:#f7f7fa; font-weight:600; }
.n { text-align:right; white-space:nowrap; }
tr.total td { font-weight:650; border-top:1px solid #bbb; }
.note { color:var(--muted); font-size:12.5px; margin:4px 0; }
.warn { background:#fff6dd; border-left:4px solid #d9a000; padding:8px 12px; margin:8px 0; }
.absent { color:#8a4b00; }
code { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:11.5px; word-break:break-all; }
details summary { cursor:pointer; color:var(--accent); margin:6px 0; }
footer { color:var(--muted); font-size:12px; margin-top:18px; }
@media (max-width:900px) { .grid2 { grid-template-columns:1fr; } .kpis { grid-template-columns:repeat(2,1fr); } }
@media print { body { background:#fff; } section { break-inside:avoid; border:none; } nav { display:none; } }
"#;

/// A table cell.
#[derive(Clone)]
enum Cell {
    /// Left-aligned text.
    Text(String),
    /// Right-aligned number (already formatted).
    Num(String),
    /// Monospace text (hashes, paths, ids).
    Code(String),
}

use Cell::{Code, Num, Text};

/// A table column: title and whether it holds numbers (right-aligned).
struct Col<'a>(&'a str, bool);

/// The HTML being written.
struct Page {
    html: String,
}

impl Page {
    fn raw(&mut self, s: &str) {
        self.html.push_str(s);
    }

    fn open_section(&mut self, id: &str, title: &str) {
        let _ = write!(
            self.html,
            r#"<section id="{}" data-section="{}"><h2>{}</h2>"#,
            esc(id),
            esc(id),
            esc(title)
        );
    }

    fn close_section(&mut self) {
        self.raw("</section>\n");
    }

    fn h3(&mut self, title: &str) {
        let _ = write!(self.html, "<h3>{}</h3>", esc(title));
    }

    fn note(&mut self, text: &str) {
        let _ = write!(self.html, r#"<p class="note">{}</p>"#, esc(text));
    }

    fn warn(&mut self, text: &str) {
        let _ = write!(self.html, r#"<div class="warn">{}</div>"#, esc(text));
    }

    fn figure(&mut self, svg: &str) {
        self.raw("<figure>");
        self.raw(svg);
        self.raw("</figure>");
    }

    fn grid2(&mut self, a: &str, b: &str) {
        self.raw(r#"<div class="grid2">"#);
        self.figure(a);
        self.figure(b);
        self.raw("</div>");
    }

    fn kpis(&mut self, items: &[(&str, String, String)]) {
        self.raw(r#"<div class="kpis">"#);
        for (label, value, detail) in items {
            let _ = write!(
                self.html,
                r#"<div class="kpi"><div class="label">{}</div><div class="value">{}</div><div class="detail">{}</div></div>"#,
                esc(label),
                esc(value),
                esc(detail)
            );
        }
        self.raw("</div>");
    }

    /// A table; `total` marks the last row as a total.
    fn table(&mut self, id: &str, cols: &[Col<'_>], rows: Vec<Vec<Cell>>, total: bool) {
        let _ = write!(self.html, r#"<table id="{}">"#, esc(id));
        if cols.iter().any(|Col(title, _)| !title.is_empty()) {
            self.raw("<thead><tr>");
            for Col(title, numeric) in cols {
                let class = if *numeric { r#" class="n""# } else { "" };
                let _ = write!(self.html, "<th{class}>{}</th>", esc(title));
            }
            self.raw("</tr></thead>");
        }
        self.raw("<tbody>");
        let n = rows.len();
        for (i, row) in rows.into_iter().enumerate() {
            if total && i + 1 == n {
                self.raw(r#"<tr class="total">"#);
            } else {
                self.raw("<tr>");
            }
            for cell in row {
                let _ = match cell {
                    Text(s) => write!(self.html, "<td>{}</td>", esc(&s)),
                    Num(s) => write!(self.html, r#"<td class="n">{}</td>"#, esc(&s)),
                    Code(s) => write!(self.html, "<td><code>{}</code></td>", esc(&s)),
                };
            }
            self.raw("</tr>");
        }
        self.raw("</tbody></table>");
    }

    fn details(&mut self, summary: &str, body: impl FnOnce(&mut Page)) {
        let _ = write!(self.html, "<details><summary>{}</summary>", esc(summary));
        body(self);
        self.raw("</details>");
    }
}

/// What a component is called on the page.
fn component_name(name: &str) -> String {
    match name {
        "fee" => "Servicing fee".into(),
        "float_pi" => "Float on P&I".into(),
        "float_escrow" => "Float on escrow".into(),
        "late_fee" => "Late fees".into(),
        "ancillary" => "Ancillary income".into(),
        "recapture" => "Recapture".into(),
        "cost" => "Cost to service".into(),
        "adv_finance" => "Advance financing".into(),
        "comp_int" => "Compensating interest".into(),
        "liq_loss" => "Liquidation losses".into(),
        other => fmt::humanize(other),
    }
}

/// Colour of delinquency state `k` in chain order: current blue, then
/// increasingly dark oranges.
fn state_color(k: usize) -> &'static str {
    if k == 0 {
        UP
    } else {
        SEQUENTIAL[(k - 1).min(SEQUENTIAL.len() - 1)]
    }
}

/// The whole document.
pub fn render(d: &ReportData) -> String {
    let mut p = Page {
        html: String::with_capacity(1 << 20),
    };
    let s = &d.summary;
    let title = format!("MSR valuation report — as of {}", s.as_of);
    let _ = write!(
        p.html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{CSS}</style></head><body><main>\n",
        esc(&title)
    );
    header(&mut p, d);
    let mut nav = vec![
        ("run", "Run and inputs"),
        ("headline", "Headline"),
        ("composition", "Composition"),
    ];
    if d.cashflows.is_some() {
        nav.push(("cashflows", "Cash flows"));
        nav.push(("upb", "Surviving UPB"));
    }
    if d.risk.is_some() {
        nav.push(("risk", "Risk"));
    }
    if d.repline.is_some() {
        nav.push(("replines", "Rep lines"));
    }
    if d.rollforward.is_some() {
        nav.push(("rollforward", "Roll-forward"));
    }
    if d.rates_fit.is_some() || d.oas_fit.is_some() {
        nav.push(("calibration", "Calibration"));
    }
    if d.disclosure.is_some() {
        nav.push(("disclosure", "ASC 820 disclosure"));
    }
    if d.behaviour.is_some() {
        nav.push(("behaviour", "Behaviour fit"));
    }
    p.raw("<nav>");
    for (id, name) in &nav {
        let _ = write!(p.html, r##"<a href="#{}">{}</a>"##, esc(id), esc(name));
    }
    p.raw("</nav>\n");

    run::run_section(&mut p, d);
    run::headline_section(&mut p, d);
    composition::composition_section(&mut p, d);
    if let Some(cf) = &d.cashflows {
        projection::cashflow_section(&mut p, d, cf);
        projection::upb_section(&mut p, cf);
    }
    if let Some(r) = &d.risk {
        risk::risk_section(&mut p, r);
    }
    if let Some(r) = &d.repline {
        replines::repline_section(&mut p, r);
    }
    if let Some(r) = &d.rollforward {
        rollforward::rollforward_section(&mut p, r);
    }
    if d.rates_fit.is_some() || d.oas_fit.is_some() {
        calibration::calibration_section(&mut p, d);
    }
    if let Some(doc) = &d.disclosure {
        disclosure::disclosure_section(&mut p, doc);
    }
    if let Some(b) = &d.behaviour {
        behaviour::behaviour_section(&mut p, b);
    }
    let _ = writeln!(
        p.html,
        "<footer>Generated by <code>msr report</code> from <code>{}</code>. \
         Self-contained: no scripts, fonts or images are loaded. \
         Figures are read from the run's files; nothing is recomputed but sums for the charts.</footer>\
         </main></body></html>",
        esc(&d.dir.display().to_string())
    );
    p.html
}

fn header(p: &mut Page, d: &ReportData) {
    let s = &d.summary;
    let mut facts = vec![format!("As of {}", s.as_of)];
    if let Some(m) = &d.manifest {
        facts.push(format!("run {}", m.run_id));
    }
    facts.push(format!("{} paths", fmt::count(s.paths)));
    facts.push(format!("OAS {}", fmt::pct(100.0 * s.oas, 2)));
    let _ = write!(
        p.html,
        r#"<header class="top"><h1>MSR valuation report</h1><p>{}</p></header>"#,
        esc(&facts.join(" · "))
    );
}

fn bp_of(v: f64, upb: f64) -> String {
    if upb > 0.0 {
        fmt::bp(1e4 * v / upb)
    } else {
        fmt::NA.into()
    }
}
