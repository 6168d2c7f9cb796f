//! Waterfall charts: a starting total, signed steps, an ending total.

use super::*;

/// A waterfall: a starting total, signed steps, an ending total.
#[derive(Debug, Clone)]
pub struct Waterfall {
    /// Element id (unique in the page).
    pub id: String,
    /// Title drawn at the top.
    pub title: String,
    /// Width in SVG units ([`HALF`] or [`FULL`]).
    pub width: f64,
    /// Label and value of the first bar.
    pub start: (String, f64),
    /// Label and signed change of each step.
    pub steps: Vec<(String, f64)>,
    /// Label and value of the last bar (normally start + Σ steps).
    pub end: (String, f64),
    /// Unit of the values.
    pub unit: Unit,
    /// Start the value axis at zero. When false and every level is
    /// positive, the axis is cut to the range the levels move in (so small
    /// steps between large totals stay visible) and the chart says so.
    pub from_zero: bool,
}

impl Waterfall {
    /// (low, high, colour) of every bar, start and end included, and the
    /// running level after each bar.
    fn bars(&self) -> Vec<(f64, f64, &'static str, f64)> {
        let mut out = Vec::with_capacity(self.steps.len() + 2);
        let s = finite_or_zero(self.start.1);
        out.push((0.0f64.min(s), 0.0f64.max(s), TOTAL, s));
        let mut level = s;
        for (_, d) in &self.steps {
            let d = finite_or_zero(*d);
            let next = level + d;
            let color = if d >= 0.0 { UP } else { DOWN };
            out.push((level.min(next), level.max(next), color, next));
            level = next;
        }
        let e = finite_or_zero(self.end.1);
        out.push((0.0f64.min(e), 0.0f64.max(e), TOTAL, e));
        out
    }

    /// The `<svg>` element.
    pub fn render(&self) -> String {
        let legend = vec![
            ("Increase".to_string(), UP, Swatch::Block),
            ("Decrease".to_string(), DOWN, Swatch::Block),
            ("Total".to_string(), TOTAL, Swatch::Block),
        ];
        let lh = legend_height(&legend, self.width);
        let names: Vec<&str> = std::iter::once(self.start.0.as_str())
            .chain(self.steps.iter().map(|(n, _)| n.as_str()))
            .chain(std::iter::once(self.end.0.as_str()))
            .collect();
        let n = names.len();
        let band_chars = ((self.width - 90.0) / n as f64 / CHAR_W).floor().max(4.0) as usize;
        let wrapped: Vec<Vec<String>> = names.iter().map(|c| wrap2(c, band_chars)).collect();
        let label_lines = wrapped.iter().map(Vec::len).max().unwrap_or(1) as f64;
        let height = 310.0 + lh + 14.0 * (label_lines - 1.0);
        let mut bars = self.bars();
        let (lo, hi) = extent(bars.iter().map(|b| (b.0, b.1)));
        // The levels the chart moves between (a total's level is its value).
        let (lvl_lo, lvl_hi) =
            bars.iter()
                .enumerate()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), (i, bar)| {
                    let (l, h) = if i == 0 || i + 1 == n {
                        (bar.3, bar.3)
                    } else {
                        (bar.0, bar.1)
                    };
                    (a.min(l), b.max(h))
                });
        let zoom = !self.from_zero && lvl_lo > 0.0 && lvl_hi.is_finite();
        let ticks = if zoom {
            let pad = (0.35 * (lvl_hi - lvl_lo)).max(0.01 * lvl_hi);
            nice_ticks((lvl_lo - pad).max(0.0), lvl_hi + 0.4 * pad, 5)
        } else {
            // Room for the value labels above and below the bars.
            let pad = 0.08 * (hi - lo);
            nice_ticks(if lo < 0.0 { lo - pad } else { lo }, hi + pad, 5)
        };
        let axis_lo = ticks[0];
        let cut = zoom && axis_lo > 0.0;
        if cut {
            for bar in bars.iter_mut() {
                bar.0 = bar.0.max(axis_lo);
            }
        }
        let labels = self.unit.tick_labels(&ticks);
        let plot = Plot {
            left: 14.0 + text_width(&labels),
            right: self.width - 12.0,
            top: TITLE_H + lh + 14.0,
            bottom: height - 22.0 - 14.0 * label_lines,
        };
        let scale = Scale {
            d0: ticks[0],
            d1: ticks[ticks.len() - 1],
            r0: plot.bottom,
            r1: plot.top,
        };
        let mut svg = Svg::new(&self.id, &self.title, self.width, height);
        draw_legend(&mut svg, &legend, TITLE_H);
        if cut {
            svg.text(
                plot.right,
                20.0,
                &format!(
                    "value axis starts at {}, not zero",
                    self.unit.tick_labels(&ticks)[0]
                ),
                TextStyle::new("end", "#666", 11.0),
            );
        }
        value_axis_y(&mut svg, &plot, &scale, &ticks, &labels);
        let band = (plot.right - plot.left) / n as f64;
        let bar_w = (band * 0.66).min(70.0);
        for (i, ((lo, hi, color, level), name)) in bars.iter().zip(&names).enumerate() {
            let cx = plot.left + band * (i as f64 + 0.5);
            let (ylo, yhi) = (scale.at(*lo), scale.at(*hi));
            let is_total = i == 0 || i == n - 1;
            let v = if is_total {
                *level
            } else {
                self.steps[i - 1].1
            };
            let label = if is_total {
                self.unit.value_label(v)
            } else {
                self.unit.signed_label(v)
            };
            svg.rect(
                cx - bar_w / 2.0,
                yhi,
                bar_w,
                (ylo - yhi).max(1.0),
                color,
                Some(&format!("{name}: {label}")),
            );
            let ty = if v < 0.0 { ylo + 13.0 } else { yhi - 4.0 };
            svg.text(cx, ty, &label, TextStyle::new("middle", "#222", 11.0));
            if i + 1 < n {
                let y = scale.at(*level);
                svg.line(
                    cx + bar_w / 2.0,
                    y,
                    cx + band - bar_w / 2.0,
                    y,
                    Stroke::dashed(AXIS, 1.0),
                );
            }
            category_label(&mut svg, cx, &plot, &wrapped[i]);
        }
        left_axis_line(&mut svg, &plot);
        svg.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waterfall_bars_float_from_the_running_level() {
        let w = Waterfall {
            id: "w".into(),
            title: "Roll".into(),
            width: HALF,
            start: ("Beginning".into(), 100.0),
            steps: vec![("up".into(), 30.0), ("down".into(), -50.0)],
            end: ("Ending".into(), 80.0),
            unit: Unit::Dollars,
            from_zero: true,
        };
        let bars = w.bars();
        assert_eq!(bars[0], (0.0, 100.0, TOTAL, 100.0));
        assert_eq!(bars[1], (100.0, 130.0, UP, 130.0));
        assert_eq!(bars[2], (80.0, 130.0, DOWN, 80.0));
        assert_eq!(bars[3], (0.0, 80.0, TOTAL, 80.0));
        let svg = w.render();
        assert!(svg.contains("+$30"), "{svg}");
        assert!(svg.contains("-$50"), "{svg}");
        assert!(!svg.contains("not zero"));
        // Cut to the levels: the axis starts above zero and says so.
        let cut = Waterfall {
            from_zero: false,
            ..w
        }
        .render();
        assert!(cut.contains("value axis starts at $60, not zero"), "{cut}");
    }
}
