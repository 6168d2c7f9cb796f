//! Line charts and signed stacked-area charts over a numeric x axis.

use super::*;

/// How a line chart draws its main series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineMode {
    /// Each series a line.
    Lines,
    /// Series stacked as filled areas: positive values above zero, negative
    /// below (so income and costs share one chart).
    StackedArea,
}

/// A line or stacked-area chart over a numeric x axis.
#[derive(Debug, Clone)]
pub struct LineChart {
    /// Element id (unique in the page).
    pub id: String,
    /// Title drawn at the top.
    pub title: String,
    /// Width in SVG units ([`HALF`] or [`FULL`]).
    pub width: f64,
    /// x values (increasing).
    pub x: Vec<f64>,
    /// Unit of x.
    pub x_unit: Unit,
    /// Axis title under the x axis.
    pub x_title: String,
    /// Main series.
    pub series: Vec<Series>,
    /// Lines or stacked areas.
    pub mode: LineMode,
    /// Lines drawn on top of the main series (dashed), e.g. a net total.
    pub overlay: Vec<Series>,
    /// Unit of y.
    pub y_unit: Unit,
    /// Draw a marker at every point (few points).
    pub markers: bool,
}

impl LineChart {
    /// Cumulative (low, high) of every series at every x (stacked), or the
    /// value itself (lines).
    fn bands(&self) -> Vec<Vec<(f64, f64)>> {
        let n = self.x.len();
        let mut out = vec![Vec::with_capacity(n); self.series.len()];
        match self.mode {
            LineMode::Lines => {
                for (s, band) in self.series.iter().zip(out.iter_mut()) {
                    band.extend((0..n).map(|i| {
                        let v = s.values.get(i).copied().unwrap_or(f64::NAN);
                        (v, v)
                    }));
                }
            }
            LineMode::StackedArea => {
                for i in 0..n {
                    let (mut pos, mut neg) = (0.0, 0.0);
                    for (s, band) in self.series.iter().zip(out.iter_mut()) {
                        let v = s.values.get(i).copied().unwrap_or(0.0);
                        let v = if v.is_finite() { v } else { 0.0 };
                        if v >= 0.0 {
                            band.push((pos, pos + v));
                            pos += v;
                        } else {
                            band.push((neg + v, neg));
                            neg += v;
                        }
                    }
                }
            }
        }
        out
    }

    /// The `<svg>` element.
    pub fn render(&self) -> String {
        let mut legend: Vec<(String, &'static str, Swatch)> = self
            .series
            .iter()
            .map(|s| {
                let swatch = match self.mode {
                    LineMode::Lines => Swatch::Line,
                    LineMode::StackedArea => Swatch::Block,
                };
                (s.name.clone(), s.color, swatch)
            })
            .collect();
        legend.extend(
            self.overlay
                .iter()
                .map(|s| (s.name.clone(), s.color, Swatch::Dashed)),
        );
        if legend.len() < 2 && self.overlay.is_empty() {
            legend.clear();
        }
        let lh = legend_height(&legend, self.width);
        let height = 320.0 + lh;
        let bands = self.bands();
        let spans = bands.iter().flatten().copied().chain(
            self.overlay
                .iter()
                .flat_map(|s| s.values.iter().map(|&v| (v, v))),
        );
        let (mut lo, mut hi) = extent(spans);
        if self.mode == LineMode::Lines && !self.series.is_empty() {
            // Lines of values far from zero (a value grid): do not force 0.
            let vals: Vec<f64> = self
                .series
                .iter()
                .chain(&self.overlay)
                .flat_map(|s| s.values.iter().copied())
                .filter(|v| v.is_finite())
                .collect();
            let (vlo, vhi) = vals
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                    (a.min(v), b.max(v))
                });
            if vlo.is_finite() && (vlo > 0.0 && vlo > 0.35 * vhi) {
                lo = vlo - 0.05 * (vhi - vlo);
                hi = vhi + 0.05 * (vhi - vlo);
            }
        }
        let ticks = nice_ticks(lo, hi, 5);
        let labels = self.y_unit.tick_labels(&ticks);
        let (x0, x1) = (
            self.x.first().copied().unwrap_or(0.0),
            self.x.last().copied().unwrap_or(1.0),
        );
        let xticks = match self.x_unit {
            Unit::Months => month_ticks(x0.min(0.0), x1, 8),
            _ => nice_ticks(x0, x1, 8),
        };
        let xlabels = self.x_unit.tick_labels(&xticks);
        let plot = Plot {
            left: 14.0 + text_width(&labels),
            right: self.width - 10.0 - text_width(&xlabels[xlabels.len() - 1..]).max(16.0) / 2.0,
            top: TITLE_H + lh + 12.0,
            bottom: height - 44.0,
        };
        let ys = Scale {
            d0: ticks[0],
            d1: ticks[ticks.len() - 1],
            r0: plot.bottom,
            r1: plot.top,
        };
        let xs = Scale {
            d0: xticks[0],
            d1: xticks[xticks.len() - 1],
            r0: plot.left,
            r1: plot.right,
        };
        let mut svg = Svg::new(&self.id, &self.title, self.width, height);
        draw_legend(&mut svg, &legend, TITLE_H);
        value_axis_y(&mut svg, &plot, &ys, &ticks, &labels);
        for (t, l) in xticks.iter().zip(&xlabels) {
            let x = xs.at(*t);
            svg.line(
                x,
                plot.bottom,
                x,
                plot.bottom + 4.0,
                Stroke::solid(AXIS, 1.0),
            );
            svg.text(
                x,
                plot.bottom + 16.0,
                l,
                TextStyle::new("middle", "#444", 11.0),
            );
        }
        svg.line(
            plot.left,
            plot.bottom,
            plot.right,
            plot.bottom,
            Stroke::solid(AXIS, 1.0),
        );
        svg.line(
            plot.left,
            plot.top,
            plot.left,
            plot.bottom,
            Stroke::solid(AXIS, 1.0),
        );
        if !self.x_title.is_empty() {
            svg.text(
                (plot.left + plot.right) / 2.0,
                plot.bottom + 34.0,
                &self.x_title,
                TextStyle::new("middle", "#444", 11.0),
            );
        }
        for (s, band) in self.series.iter().zip(&bands) {
            match self.mode {
                LineMode::StackedArea => {
                    let mut pts: Vec<(f64, f64)> = self
                        .x
                        .iter()
                        .zip(band)
                        .map(|(&x, &(_, hi))| (xs.at(x), ys.at(hi)))
                        .collect();
                    pts.extend(
                        self.x
                            .iter()
                            .zip(band)
                            .rev()
                            .map(|(&x, &(lo, _))| (xs.at(x), ys.at(lo))),
                    );
                    svg.polygon(&pts, s.color, &s.name);
                }
                LineMode::Lines => {
                    let pts: Vec<(f64, f64)> = self
                        .x
                        .iter()
                        .zip(&s.values)
                        .filter(|(_, v)| v.is_finite())
                        .map(|(&x, &v)| (xs.at(x), ys.at(v)))
                        .collect();
                    svg.polyline(&pts, s.color, 2.0, false);
                    if self.markers {
                        for (&x, &v) in self.x.iter().zip(&s.values).filter(|(_, v)| v.is_finite())
                        {
                            let tip = format!(
                                "{}: {} at {}",
                                s.name,
                                self.y_unit.value_label(v),
                                self.x_unit.tick_labels(&[x])[0]
                            );
                            svg.circle(xs.at(x), ys.at(v), 3.5, s.color, &tip);
                        }
                    }
                }
            }
        }
        for s in &self.overlay {
            let pts: Vec<(f64, f64)> = self
                .x
                .iter()
                .zip(&s.values)
                .filter(|(_, v)| v.is_finite())
                .map(|(&x, &v)| (xs.at(x), ys.at(v)))
                .collect();
            svg.polyline(&pts, s.color, 2.0, true);
        }
        svg.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacked_area_bands_accumulate_each_sign() {
        let chart = LineChart {
            id: "a".into(),
            title: "a".into(),
            width: HALF,
            x: vec![1.0, 2.0],
            x_unit: Unit::Months,
            x_title: String::new(),
            series: vec![
                Series::new("fee", PALETTE[0], vec![10.0, 8.0]),
                Series::new("float", PALETTE[1], vec![2.0, 1.0]),
                Series::new("cost", PALETTE[2], vec![-3.0, -2.0]),
                Series::new("loss", PALETTE[3], vec![-1.0, -0.5]),
            ],
            mode: LineMode::StackedArea,
            overlay: vec![Series::new("net", INK, vec![8.0, 6.5])],
            y_unit: Unit::Dollars,
            markers: false,
        };
        let b = chart.bands();
        assert_eq!(b[1], vec![(10.0, 12.0), (8.0, 9.0)]);
        assert_eq!(b[3], vec![(-4.0, -3.0), (-2.5, -2.0)]);
        let svg = chart.render();
        assert_eq!(svg.matches("<polygon").count(), 4);
        assert_eq!(svg.matches("<polyline").count(), 1);
    }
}
