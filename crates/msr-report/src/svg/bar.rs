//! Bar charts: grouped or stacked (signed), vertical or horizontal.

use super::*;

/// Bars side by side or stacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarLayout {
    /// One bar per series in each category.
    Grouped,
    /// Series stacked (positive values up, negative down).
    Stacked,
}

/// Which way bars run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Orientation {
    /// Categories along x, bars up and down.
    Vertical,
    /// Categories down the left, bars left and right (long labels).
    Horizontal,
}

/// A bar chart.
#[derive(Debug, Clone)]
pub struct BarChart {
    /// Element id (unique in the page).
    pub id: String,
    /// Title drawn at the top.
    pub title: String,
    /// Width in SVG units ([`HALF`] or [`FULL`]).
    pub width: f64,
    /// Category labels.
    pub categories: Vec<String>,
    /// Series, each with one value per category.
    pub series: Vec<Series>,
    /// Unit of the values.
    pub unit: Unit,
    /// Grouped or stacked.
    pub layout: BarLayout,
    /// Vertical or horizontal.
    pub orientation: Orientation,
    /// Print each bar's value next to it (single series only).
    pub value_labels: bool,
    /// Colour single-series bars by sign: (positive, negative).
    pub sign_colors: Option<(&'static str, &'static str)>,
    /// Axis title of the value axis ("" for none).
    pub value_title: String,
}

impl BarChart {
    /// A single-series vertical bar chart with value labels.
    pub fn simple(
        id: &str,
        title: &str,
        categories: Vec<String>,
        values: Vec<f64>,
        color: &'static str,
        unit: Unit,
    ) -> BarChart {
        BarChart {
            id: id.to_string(),
            title: title.to_string(),
            width: HALF,
            categories,
            series: vec![Series::new(title, color, values)],
            unit,
            layout: BarLayout::Grouped,
            orientation: Orientation::Vertical,
            value_labels: true,
            sign_colors: None,
            value_title: String::new(),
        }
    }

    /// (low, high) of every bar segment, per category and series.
    fn segments(&self) -> Vec<Vec<(f64, f64)>> {
        let n = self.categories.len();
        let mut out = vec![Vec::with_capacity(self.series.len()); n];
        for (c, segs) in out.iter_mut().enumerate() {
            let (mut pos, mut neg) = (0.0, 0.0);
            for s in &self.series {
                let v = s.values.get(c).copied().unwrap_or(0.0);
                let v = if v.is_finite() { v } else { 0.0 };
                match self.layout {
                    BarLayout::Grouped => segs.push((0.0f64.min(v), 0.0f64.max(v))),
                    BarLayout::Stacked if v >= 0.0 => {
                        segs.push((pos, pos + v));
                        pos += v;
                    }
                    BarLayout::Stacked => {
                        segs.push((neg + v, neg));
                        neg += v;
                    }
                }
            }
        }
        out
    }

    fn color(&self, s: &Series, v: f64) -> &'static str {
        match self.sign_colors {
            Some((pos, neg)) if self.series.len() == 1 => {
                if v < 0.0 {
                    neg
                } else {
                    pos
                }
            }
            _ => s.color,
        }
    }

    fn legend(&self) -> Vec<(String, &'static str, Swatch)> {
        if self.series.len() < 2 {
            return Vec::new();
        }
        self.series
            .iter()
            .map(|s| (s.name.clone(), s.color, Swatch::Block))
            .collect()
    }

    /// The `<svg>` element.
    pub fn render(&self) -> String {
        match self.orientation {
            Orientation::Vertical => self.render_vertical(),
            Orientation::Horizontal => self.render_horizontal(),
        }
    }

    fn render_vertical(&self) -> String {
        let legend = self.legend();
        let lh = legend_height(&legend, self.width);
        let n = self.categories.len().max(1);
        let band_chars = ((self.width - 90.0) / n as f64 / CHAR_W).floor().max(3.0) as usize;
        let wrapped: Vec<Vec<String>> = self
            .categories
            .iter()
            .map(|c| wrap2(c, band_chars))
            .collect();
        let label_lines = wrapped.iter().map(Vec::len).max().unwrap_or(1) as f64;
        let height = 300.0 + lh + 14.0 * (label_lines - 1.0);
        let segs = self.segments();
        let (lo, hi) = extent(segs.iter().flatten().copied());
        let ticks = nice_ticks(lo, hi, 5);
        let labels = self.unit.tick_labels(&ticks);
        let left = 14.0
            + text_width(&labels)
            + if self.value_title.is_empty() {
                0.0
            } else {
                16.0
            };
        let plot = Plot {
            left,
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
        value_axis_y(&mut svg, &plot, &scale, &ticks, &labels);
        if !self.value_title.is_empty() {
            let y = (plot.top + plot.bottom) / 2.0;
            svg.text(
                12.0,
                y,
                &self.value_title,
                TextStyle::new("middle", "#444", 11.0).rotated(),
            );
        }
        let band = (plot.right - plot.left) / n as f64;
        let groups = match self.layout {
            BarLayout::Grouped => self.series.len().max(1),
            BarLayout::Stacked => 1,
        };
        let bar_w = (band * 0.72 / groups as f64).min(56.0);
        for (c, cat) in self.categories.iter().enumerate() {
            let cx = plot.left + band * (c as f64 + 0.5);
            let x0 = cx - bar_w * groups as f64 / 2.0;
            for (k, (s, (a, b))) in self.series.iter().zip(&segs[c]).enumerate() {
                let x = match self.layout {
                    BarLayout::Grouped => x0 + bar_w * k as f64,
                    BarLayout::Stacked => x0,
                };
                let v = s.values.get(c).copied().unwrap_or(f64::NAN);
                let tip = format!("{cat} · {}: {}", s.name, self.unit.value_label(v));
                let (ya, yb) = (scale.at(*a), scale.at(*b));
                svg.rect(x, yb, bar_w, ya - yb, self.color(s, v), Some(&tip));
                if self.value_labels && self.series.len() == 1 && v.is_finite() {
                    let y = if v >= 0.0 { yb - 4.0 } else { ya + 13.0 };
                    svg.text(
                        x + bar_w / 2.0,
                        y,
                        &self.unit.value_label(v),
                        TextStyle::new("middle", "#222", 11.0),
                    );
                }
            }
            category_label(&mut svg, cx, &plot, &wrapped[c]);
        }
        left_axis_line(&mut svg, &plot);
        svg.finish()
    }

    fn render_horizontal(&self) -> String {
        let legend = self.legend();
        let lh = legend_height(&legend, self.width);
        let n = self.categories.len().max(1);
        let groups = match self.layout {
            BarLayout::Grouped => self.series.len().max(1),
            BarLayout::Stacked => 1,
        };
        let band = (14.0 * groups as f64 + 8.0).max(22.0);
        let max_label = 44;
        let cats: Vec<String> = self
            .categories
            .iter()
            .map(|c| truncate(c, max_label))
            .collect();
        let label_w = text_width(&cats).min(max_label as f64 * CHAR_W) + 12.0;
        let top = TITLE_H + lh + 8.0;
        let height = top + band * n as f64 + 44.0;
        let segs = self.segments();
        let (lo, hi) = extent(segs.iter().flatten().copied());
        let ticks = nice_ticks(lo, hi, 5);
        let labels = self.unit.tick_labels(&ticks);
        let plot = Plot {
            left: label_w + 8.0,
            right: self.width - 16.0 - text_width(&labels) / 2.0,
            top,
            bottom: top + band * n as f64,
        };
        let scale = Scale {
            d0: ticks[0],
            d1: ticks[ticks.len() - 1],
            r0: plot.left,
            r1: plot.right,
        };
        let mut svg = Svg::new(&self.id, &self.title, self.width, height);
        draw_legend(&mut svg, &legend, TITLE_H);
        value_axis_x(&mut svg, &plot, &scale, &ticks, &labels);
        if !self.value_title.is_empty() {
            svg.text(
                (plot.left + plot.right) / 2.0,
                plot.bottom + 32.0,
                &self.value_title,
                TextStyle::new("middle", "#444", 11.0),
            );
        }
        let bar_h = (band - 8.0) / groups as f64;
        for (c, cat) in self.categories.iter().enumerate() {
            let y0 = plot.top + band * c as f64 + 4.0;
            for (k, (s, (a, b))) in self.series.iter().zip(&segs[c]).enumerate() {
                let y = match self.layout {
                    BarLayout::Grouped => y0 + bar_h * k as f64,
                    BarLayout::Stacked => y0,
                };
                let v = s.values.get(c).copied().unwrap_or(f64::NAN);
                let tip = format!("{cat} · {}: {}", s.name, self.unit.value_label(v));
                let (xa, xb) = (scale.at(*a), scale.at(*b));
                svg.rect(xa, y, xb - xa, bar_h, self.color(s, v), Some(&tip));
                if self.value_labels && self.series.len() == 1 && v.is_finite() {
                    let label = self.unit.signed_label(v);
                    let room_right = plot.right - xb;
                    let (x, anchor) = if v >= 0.0 {
                        if room_right > label.len() as f64 * CHAR_W {
                            (xb + 4.0, "start")
                        } else {
                            (xb - 4.0, "end")
                        }
                    } else if xa - plot.left > label.len() as f64 * CHAR_W {
                        (xa - 4.0, "end")
                    } else {
                        (xa + 4.0, "start")
                    };
                    svg.text(
                        x,
                        y + bar_h / 2.0 + 4.0,
                        &label,
                        TextStyle::new(anchor, "#222", 10.5),
                    );
                }
            }
            svg.text(
                plot.left - 8.0,
                plot.top + band * (c as f64 + 0.5) + 4.0,
                &cats[c],
                TextStyle::new("end", "#333", 11.5),
            );
        }
        svg.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacked_bars_split_signs() {
        let chart = BarChart {
            id: "t".into(),
            title: "t".into(),
            width: HALF,
            categories: vec!["a".into(), "b".into()],
            series: vec![
                Series::new("x", PALETTE[0], vec![2.0, -1.0]),
                Series::new("y", PALETTE[1], vec![3.0, -4.0]),
                Series::new("z", PALETTE[2], vec![-1.0, 5.0]),
            ],
            unit: Unit::Plain,
            layout: BarLayout::Stacked,
            orientation: Orientation::Vertical,
            value_labels: false,
            sign_colors: None,
            value_title: String::new(),
        };
        let segs = chart.segments();
        assert_eq!(segs[0], vec![(0.0, 2.0), (2.0, 5.0), (-1.0, 0.0)]);
        assert_eq!(segs[1], vec![(-1.0, 0.0), (-5.0, -1.0), (0.0, 5.0)]);
        let svg = chart.render();
        assert_eq!(svg.matches("<rect").count(), 1 + 6 + 3, "{svg}");
    }

    #[test]
    fn every_text_is_escaped() {
        let chart = BarChart::simple(
            "x<y",
            "A & B <script>",
            vec!["<i>".into()],
            vec![1.0],
            TOTAL,
            Unit::Plain,
        );
        let svg = chart.render();
        assert!(!svg.contains("<script>") && !svg.contains("<i>"));
        assert!(svg.contains("A &amp; B &lt;script&gt;"));
        assert!(svg.contains(r#"id="x&lt;y""#));
    }
}
