//! Inline SVG charts, drawn in Rust with no dependency: bar (grouped,
//! stacked, vertical or horizontal), line and signed stacked area, and
//! waterfall. Each chart is a plain data struct with a `render` method that
//! returns one `<svg>` element: title, legend, axes with readable tick labels
//! (dollars in $k/$m/$bn, basis points, percent, months), gridlines and a
//! colour-blind-safe palette. Every piece of text goes through
//! [`fmt::esc`].
//!
//! The charts know nothing about MSRs: the page decides what to plot.

use std::fmt::Write as _;

use super::fmt::{self, esc};

mod bar;
mod line;
mod waterfall;

pub use bar::{BarChart, BarLayout, Orientation};
pub use line::{LineChart, LineMode};
pub use waterfall::Waterfall;

/// Width of a chart that shares a row with another, in SVG units (charts
/// scale to their container; text stays readable at these widths).
pub const HALF: f64 = 540.0;
/// Width of a chart that has a row to itself.
pub const FULL: f64 = 1100.0;

/// Paul Tol's "muted" qualitative palette (colour-blind safe), plus a pale
/// grey: ten distinguishable series colours.
pub const PALETTE: [&str; 10] = [
    "#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255",
    "#AA4499", "#BBBBBB",
];

/// A sequential palette (ColorBrewer YlOrBr, colour-blind safe), light to
/// dark, for ordered categories such as increasing severity.
pub const SEQUENTIAL: [&str; 5] = ["#FEC44F", "#FB9A29", "#EC7014", "#CC4C02", "#662506"];

/// An increase in a waterfall (Tol bright blue).
pub const UP: &str = "#4477AA";
/// A decrease in a waterfall (Tol bright red).
pub const DOWN: &str = "#EE6677";
/// A total bar in a waterfall, and neutral single-series bars.
pub const TOTAL: &str = "#555555";
/// Overlay lines (net cash flow).
pub const INK: &str = "#111111";

const FONT: &str =
    "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";
const FONT_SIZE: f64 = 12.0;
/// Approximate advance of one character at [`FONT_SIZE`] (for layout only).
const CHAR_W: f64 = 6.6;
const TITLE_H: f64 = 30.0;
const LEGEND_ROW_H: f64 = 18.0;
const GRID: &str = "#e3e3e3";
const AXIS: &str = "#888888";

/// How the numbers on a value axis read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Dollars: ticks in $, $k, $m or $bn.
    Dollars,
    /// Basis points.
    Bp,
    /// Percent (values already in percent units).
    Percent,
    /// Months (ticks on whole years of months).
    Months,
    /// Plain numbers.
    Plain,
}

impl Unit {
    /// Labels for `ticks`, sharing one scale and one number of decimals.
    pub fn tick_labels(self, ticks: &[f64]) -> Vec<String> {
        let step = if ticks.len() > 1 {
            (ticks[1] - ticks[0]).abs()
        } else {
            1.0
        };
        let max = ticks.iter().fold(0.0f64, |m, t| m.max(t.abs()));
        match self {
            Unit::Dollars => {
                let (div, suffix) = fmt::dollar_scale(max);
                let d = fmt::tick_decimals(step / div);
                ticks
                    .iter()
                    .map(|&t| {
                        if t == 0.0 {
                            return "$0".to_string();
                        }
                        let body = fmt::number((t / div).abs(), d);
                        let sign = if t < 0.0 && !is_zero_text(&body) {
                            "-"
                        } else {
                            ""
                        };
                        format!("{sign}${body}{suffix}")
                    })
                    .collect()
            }
            Unit::Bp => {
                let d = fmt::tick_decimals(step);
                ticks
                    .iter()
                    .map(|&t| format!("{} bp", fmt::number(t, d)))
                    .collect()
            }
            Unit::Percent => {
                let d = fmt::tick_decimals(step);
                ticks
                    .iter()
                    .map(|&t| format!("{}%", fmt::number(t, d)))
                    .collect()
            }
            Unit::Months | Unit::Plain => {
                let d = fmt::tick_decimals(step);
                ticks.iter().map(|&t| fmt::number(t, d)).collect()
            }
        }
    }

    /// A value label on a bar: short dollars, bp with one decimal, etc.
    pub fn value_label(self, v: f64) -> String {
        match self {
            Unit::Dollars => fmt::dollars_short(v),
            Unit::Bp => format!("{} bp", fmt::number(v, 1)),
            Unit::Percent => fmt::pct(v, 2),
            Unit::Months | Unit::Plain => fmt::number(v, 2),
        }
    }

    /// A signed value label (for changes).
    pub fn signed_label(self, v: f64) -> String {
        let s = self.value_label(v);
        if v > 0.0 && s.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
            format!("+{s}")
        } else {
            s
        }
    }
}

fn is_zero_text(s: &str) -> bool {
    !s.bytes().any(|b| (b'1'..=b'9').contains(&b))
}

/// "Nice" ticks (1, 2, 2.5 or 5 times a power of ten) covering `[lo, hi]`,
/// about `target` of them; the first and last tick bound the axis.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    let (mut lo, mut hi) = if lo.is_finite() && hi.is_finite() {
        (lo.min(hi), lo.max(hi))
    } else {
        (0.0, 1.0)
    };
    if hi - lo <= f64::EPSILON * hi.abs().max(lo.abs()).max(1e-300) {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        lo -= pad;
        hi += pad;
        if lo < 0.0 && hi > 0.0 && (lo + pad == 0.0 || hi - pad == 0.0) {
            // a single 0 value: show [0, 1]
            lo = 0.0;
        }
    }
    let raw = (hi - lo) / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|&s| s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * mag);
    // Tolerate representation error: a value a hair past a tick is on it.
    let start = (lo / step + 1e-9).floor();
    let end = (hi / step - 1e-9).ceil();
    let n = (end - start).round().max(1.0) as usize;
    (0..=n)
        .map(|i| {
            let t = (start + i as f64) * step;
            // Snap away representation noise (0.30000000000000004).
            let d = fmt::tick_decimals(step) as i32 + 2;
            let p = 10f64.powi(d);
            let t = (t * p).round() / p;
            if t == 0.0 {
                0.0
            } else {
                t
            }
        })
        .collect()
}

/// Ticks for a month axis on `[lo, hi]`: multiples of 1, 3, 6 or 12·k
/// months, at most about `target` of them.
pub fn month_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    let span = (hi - lo).max(1.0);
    let step = [1.0, 3.0, 6.0, 12.0, 24.0, 36.0, 60.0, 120.0, 240.0]
        .into_iter()
        .find(|s| span / s <= target as f64)
        .unwrap_or(480.0);
    let start = (lo / step).floor() * step;
    let mut ticks = Vec::new();
    let mut t = start;
    while t <= hi + 1e-9 {
        ticks.push(t);
        t += step;
    }
    if ticks.last().is_some_and(|&l| l < hi) {
        ticks.push(t);
    }
    ticks
}

/// One named series of values.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend name.
    pub name: String,
    /// Fill or stroke colour.
    pub color: &'static str,
    /// Values, one per category or x.
    pub values: Vec<f64>,
}

impl Series {
    /// A series.
    pub fn new(name: impl Into<String>, color: &'static str, values: Vec<f64>) -> Series {
        Series {
            name: name.into(),
            color,
            values,
        }
    }
}

/// A linear map from a data interval onto a pixel interval.
#[derive(Debug, Clone, Copy)]
struct Scale {
    d0: f64,
    d1: f64,
    r0: f64,
    r1: f64,
}

impl Scale {
    fn at(&self, v: f64) -> f64 {
        let span = self.d1 - self.d0;
        if span == 0.0 || !v.is_finite() {
            return self.r0;
        }
        self.r0 + (v - self.d0) / span * (self.r1 - self.r0)
    }
}

/// How a text is drawn.
#[derive(Debug, Clone, Copy)]
struct TextStyle {
    /// `start`, `middle` or `end`.
    anchor: &'static str,
    /// Colour.
    fill: &'static str,
    /// Font size.
    size: f64,
    /// Rotated a quarter turn anticlockwise (vertical axis titles).
    rotate: bool,
}

impl TextStyle {
    const fn new(anchor: &'static str, fill: &'static str, size: f64) -> TextStyle {
        TextStyle {
            anchor,
            fill,
            size,
            rotate: false,
        }
    }

    const fn rotated(self) -> TextStyle {
        TextStyle {
            rotate: true,
            ..self
        }
    }
}

/// How a line is drawn.
#[derive(Debug, Clone, Copy)]
struct Stroke {
    /// Colour.
    color: &'static str,
    /// Width.
    width: f64,
    /// Dashed.
    dash: bool,
}

impl Stroke {
    const fn solid(color: &'static str, width: f64) -> Stroke {
        Stroke {
            color,
            width,
            dash: false,
        }
    }

    const fn dashed(color: &'static str, width: f64) -> Stroke {
        Stroke {
            color,
            width,
            dash: true,
        }
    }
}

/// A tiny SVG writer; every text goes through [`esc`].
struct Svg {
    buf: String,
    width: f64,
}

impl Svg {
    fn new(id: &str, title: &str, width: f64, height: f64) -> Svg {
        let mut buf = String::new();
        let _ = write!(
            buf,
            r#"<svg class="chart" id="{id}" role="img" aria-labelledby="{id}-title" width="{w}" height="{h:.0}" viewBox="0 0 {w} {h:.0}" font-family="{font}" font-size="{fs}">"#,
            id = esc(id),
            w = width,
            h = height,
            font = esc(FONT),
            fs = FONT_SIZE,
        );
        let _ = write!(
            buf,
            r#"<title id="{}-title">{}</title>"#,
            esc(id),
            esc(title)
        );
        let _ = write!(
            buf,
            r##"<rect x="0" y="0" width="{width}" height="{height:.0}" fill="#ffffff"/>"##
        );
        let _ = write!(
            buf,
            r##"<text x="8" y="20" font-size="14" font-weight="600" fill="#222">{}</text>"##,
            esc(title)
        );
        Svg { buf, width }
    }

    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, tip: Option<&str>) {
        let (y, h) = if h < 0.0 { (y + h, -h) } else { (y, h) };
        let _ = write!(
            self.buf,
            r#"<rect x="{x:.2}" y="{y:.2}" width="{:.2}" height="{:.2}" fill="{}">"#,
            w.max(0.0),
            h.max(0.0),
            esc(fill)
        );
        if let Some(t) = tip {
            let _ = write!(self.buf, "<title>{}</title>", esc(t));
        }
        self.buf.push_str("</rect>");
    }

    fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, st: Stroke) {
        let _ = write!(
            self.buf,
            r#"<line x1="{x1:.2}" y1="{y1:.2}" x2="{x2:.2}" y2="{y2:.2}" stroke="{}" stroke-width="{}"{}/>"#,
            esc(st.color),
            st.width,
            if st.dash {
                r#" stroke-dasharray="4 3""#
            } else {
                ""
            }
        );
    }

    fn text(&mut self, x: f64, y: f64, s: &str, st: TextStyle) {
        let transform = if st.rotate {
            format!(r#" transform="rotate(-90 {x:.2} {y:.2})""#)
        } else {
            String::new()
        };
        let _ = write!(
            self.buf,
            r#"<text x="{x:.2}" y="{y:.2}" text-anchor="{}" fill="{}" font-size="{}"{transform}>{}</text>"#,
            st.anchor,
            esc(st.fill),
            st.size,
            esc(s)
        );
    }

    fn polyline(&mut self, pts: &[(f64, f64)], stroke: &str, width: f64, dash: bool) {
        let mut d = String::new();
        for (i, (x, y)) in pts.iter().enumerate() {
            let _ = write!(d, "{}{x:.2},{y:.2}", if i == 0 { "" } else { " " });
        }
        let _ = write!(
            self.buf,
            r#"<polyline points="{d}" fill="none" stroke="{}" stroke-width="{width}" stroke-linejoin="round"{}/>"#,
            esc(stroke),
            if dash {
                r#" stroke-dasharray="6 3""#
            } else {
                ""
            }
        );
    }

    fn polygon(&mut self, pts: &[(f64, f64)], fill: &str, tip: &str) {
        let mut d = String::new();
        for (i, (x, y)) in pts.iter().enumerate() {
            let _ = write!(d, "{}{x:.2},{y:.2}", if i == 0 { "" } else { " " });
        }
        let _ = write!(
            self.buf,
            r#"<polygon points="{d}" fill="{}" fill-opacity="0.9" stroke="{}" stroke-width="0.5"><title>{}</title></polygon>"#,
            esc(fill),
            esc(fill),
            esc(tip)
        );
    }

    fn circle(&mut self, x: f64, y: f64, r: f64, fill: &str, tip: &str) {
        let _ = write!(
            self.buf,
            r#"<circle cx="{x:.2}" cy="{y:.2}" r="{r}" fill="{}"><title>{}</title></circle>"#,
            esc(fill),
            esc(tip)
        );
    }

    fn finish(mut self) -> String {
        self.buf.push_str("</svg>");
        self.buf
    }
}

/// How a legend entry is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Swatch {
    Block,
    Line,
    Dashed,
}

/// Lay out legend entries in rows across the chart; returns the height used.
fn legend_height(entries: &[(String, &'static str, Swatch)], width: f64) -> f64 {
    legend_rows(entries, width).len() as f64 * LEGEND_ROW_H
}

fn legend_rows(entries: &[(String, &'static str, Swatch)], width: f64) -> Vec<Vec<usize>> {
    let mut rows: Vec<Vec<usize>> = Vec::new();
    let mut x = 8.0;
    for (i, (name, _, _)) in entries.iter().enumerate() {
        let w = 22.0 + name.chars().count() as f64 * CHAR_W + 14.0;
        if rows.is_empty() || x + w > width - 8.0 {
            rows.push(Vec::new());
            x = 8.0;
        }
        if let Some(r) = rows.last_mut() {
            r.push(i);
        }
        x += w;
    }
    rows
}

fn draw_legend(svg: &mut Svg, entries: &[(String, &'static str, Swatch)], top: f64) {
    if entries.is_empty() {
        return;
    }
    svg.buf.push_str(r#"<g class="legend">"#);
    for (r, row) in legend_rows(entries, svg.width).iter().enumerate() {
        let y = top + r as f64 * LEGEND_ROW_H + 12.0;
        let mut x = 8.0;
        for &i in row {
            let (name, color, swatch) = &entries[i];
            match swatch {
                Swatch::Block => svg.rect(x, y - 9.0, 14.0, 10.0, color, None),
                Swatch::Line => svg.line(x, y - 4.0, x + 16.0, y - 4.0, Stroke::solid(color, 2.5)),
                Swatch::Dashed => {
                    svg.line(x, y - 4.0, x + 16.0, y - 4.0, Stroke::dashed(color, 2.0))
                }
            }
            svg.text(
                x + 20.0,
                y,
                name,
                TextStyle::new("start", "#333", FONT_SIZE),
            );
            x += 22.0 + name.chars().count() as f64 * CHAR_W + 14.0;
        }
    }
    svg.buf.push_str("</g>");
}

/// Cut `s` to at most `max` characters, ending in an ellipsis when cut.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Wrap a category label into at most two lines of `max` characters.
fn wrap2(s: &str, max: usize) -> Vec<String> {
    if s.chars().count() <= max {
        return vec![s.to_string()];
    }
    let words: Vec<&str> = s.split([' ', '_']).filter(|w| !w.is_empty()).collect();
    let mut first = String::new();
    let mut k = 0;
    while k < words.len() {
        let next = if first.is_empty() {
            words[k].len()
        } else {
            first.chars().count() + 1 + words[k].chars().count()
        };
        if next > max && !first.is_empty() {
            break;
        }
        if !first.is_empty() {
            first.push(' ');
        }
        first.push_str(words[k]);
        k += 1;
    }
    let rest = words[k..].join(" ");
    let mut lines = vec![truncate(&first, max)];
    if !rest.is_empty() {
        lines.push(truncate(&rest, max));
    }
    lines
}

/// The value-axis extent of a set of (low, high) spans, always including 0.
fn extent(spans: impl IntoIterator<Item = (f64, f64)>) -> (f64, f64) {
    let mut lo: f64 = 0.0;
    let mut hi: f64 = 0.0;
    for (a, b) in spans {
        for v in [a, b] {
            if v.is_finite() {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
    }
    (lo, hi)
}

/// Width of the widest of `labels`, in SVG units.
fn text_width(labels: &[String]) -> f64 {
    labels
        .iter()
        .map(|l| l.chars().count() as f64 * CHAR_W)
        .fold(0.0, f64::max)
}

/// The plot rectangle inside a chart.
#[derive(Debug, Clone, Copy)]
struct Plot {
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
}

/// Draw horizontal gridlines and value tick labels on the left.
fn value_axis_y(svg: &mut Svg, plot: &Plot, scale: &Scale, ticks: &[f64], labels: &[String]) {
    for (t, label) in ticks.iter().zip(labels) {
        let y = scale.at(*t);
        let stroke = if *t == 0.0 { AXIS } else { GRID };
        svg.line(plot.left, y, plot.right, y, Stroke::solid(stroke, 1.0));
        svg.text(
            plot.left - 6.0,
            y + 4.0,
            label,
            TextStyle::new("end", "#444", 11.0),
        );
    }
}

/// Draw vertical gridlines and value tick labels at the bottom.
fn value_axis_x(svg: &mut Svg, plot: &Plot, scale: &Scale, ticks: &[f64], labels: &[String]) {
    for (t, label) in ticks.iter().zip(labels) {
        let x = scale.at(*t);
        let stroke = if *t == 0.0 { AXIS } else { GRID };
        svg.line(x, plot.top, x, plot.bottom, Stroke::solid(stroke, 1.0));
        svg.text(
            x,
            plot.bottom + 15.0,
            label,
            TextStyle::new("middle", "#444", 11.0),
        );
    }
}

/// A category's label, one or two lines, under the plot and centred on `cx`.
fn category_label(svg: &mut Svg, cx: f64, plot: &Plot, lines: &[String]) {
    for (i, line) in lines.iter().enumerate() {
        svg.text(
            cx,
            plot.bottom + 16.0 + 14.0 * i as f64,
            line,
            TextStyle::new("middle", "#333", 11.5),
        );
    }
}

/// The value axis's line along the plot's left edge.
fn left_axis_line(svg: &mut Svg, plot: &Plot) {
    svg.line(
        plot.left,
        plot.top,
        plot.left,
        plot.bottom,
        Stroke::solid(AXIS, 1.0),
    );
}

fn finite_or_zero(v: f64) -> f64 {
    if v.is_finite() {
        v
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ticks_cover_the_range_with_round_steps() {
        assert_eq!(nice_ticks(0.0, 38.8e6, 5), vec![0.0, 1e7, 2e7, 3e7, 4e7]);
        assert_eq!(
            nice_ticks(-202.0, 187.7, 5),
            vec![-300.0, -200.0, -100.0, 0.0, 100.0, 200.0]
        );
        assert_eq!(nice_ticks(0.0, 0.9, 4), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        // A zero range still gives an axis.
        assert_eq!(nice_ticks(0.0, 0.0, 5), vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        let t = nice_ticks(100.0, 100.0, 5);
        assert!(t[0] <= 100.0 && *t.last().unwrap() >= 100.0 && t.len() >= 2);
        // Non-finite input falls back to [0, 1].
        assert_eq!(nice_ticks(f64::NAN, 1.0, 2), vec![0.0, 0.5, 1.0]);
        // No representation noise.
        assert!(nice_ticks(0.0, 0.3, 3).contains(&0.3));
    }

    #[test]
    fn month_ticks_fall_on_years() {
        assert_eq!(
            month_ticks(0.0, 360.0, 8),
            vec![0.0, 60.0, 120.0, 180.0, 240.0, 300.0, 360.0]
        );
        assert_eq!(
            month_ticks(0.0, 30.0, 8),
            vec![0.0, 6.0, 12.0, 18.0, 24.0, 30.0]
        );
        assert_eq!(
            month_ticks(0.0, 100.0, 8),
            vec![0.0, 24.0, 48.0, 72.0, 96.0, 120.0]
        );
    }

    #[test]
    fn tick_labels_share_a_scale() {
        assert_eq!(
            Unit::Dollars.tick_labels(&[0.0, 1e7, 2e7, 3e7, 4e7]),
            vec!["$0", "$10m", "$20m", "$30m", "$40m"]
        );
        assert_eq!(
            Unit::Dollars.tick_labels(&[-5e8, 0.0, 5e8, 1e9, 1.5e9]),
            vec!["-$0.5bn", "$0", "$0.5bn", "$1.0bn", "$1.5bn"]
        );
        assert_eq!(
            Unit::Bp.tick_labels(&[-50.0, 0.0, 50.0]),
            vec!["-50 bp", "0 bp", "50 bp"]
        );
        assert_eq!(
            Unit::Percent.tick_labels(&[0.0, 2.5, 5.0]),
            vec!["0.0%", "2.5%", "5.0%"]
        );
        assert_eq!(
            Unit::Dollars.tick_labels(&[0.0, 250.0, 500.0]),
            vec!["$0", "$250", "$500"]
        );
    }

    #[test]
    fn labels_wrap_and_truncate() {
        assert_eq!(
            wrap2("runoff_and_performance", 12),
            vec!["runoff and", "performance"]
        );
        assert_eq!(wrap2("short", 12), vec!["short"]);
        assert_eq!(truncate("abcdef", 4), "abc…");
    }
}
