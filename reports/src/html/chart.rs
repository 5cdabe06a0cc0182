//! How every chart of the HTML pages is drawn: lines on axes into an inline SVG (plotters'
//! SVG backend), with the legend in a column of its own, and the `<figure>` around it — or a
//! note saying why there is no chart.

use std::error::Error;
use std::fmt::Write;

use hdrhistogram::Histogram;
use plotters::prelude::*;
use plotters::style::text_anchor;

use super::axis::{ROUND_STEPS, Ticked, linear, log_ticks, nice_ticks, tick_label, time_ticks};
use super::page::escape;
use crate::histogram;

/// Pixel size of every chart (the page scales it down to fit narrower windows).
const CHART_SIZE: (u32, u32) = (1120, 480);

const FONT: &str = "sans-serif";

/// The colour of the total (`all`), in every chart that shows it.
pub(super) const TOTAL_COLOR: RGBColor = RGBColor(33, 37, 41);

/// A drawn chart: the SVG, and what the caption should add about this data (HTML).
pub(super) struct Drawn {
    pub(super) svg: String,
    pub(super) note: String,
}

impl From<String> for Drawn {
    fn from(svg: String) -> Drawn {
        Drawn {
            svg,
            note: String::new(),
        }
    }
}

/// A chart's outcome: the chart, or why there is none.
pub(super) type Chart = Result<Drawn, String>;

/// Decodes a histogram; `None` when it is absent, malformed or empty.
pub(super) fn decoded(encoded: &str) -> Option<Histogram<u64>> {
    if encoded.is_empty() {
        return None;
    }
    histogram::decode(encoded).ok().filter(|h| !h.is_empty())
}

pub(super) fn figure(out: &mut String, id: &str, chart: Chart, caption: &str) {
    match chart {
        Ok(Drawn { svg, note }) => {
            let _ = writeln!(
                out,
                "<figure id=\"{id}\">\n{svg}<figcaption>{caption}{note}</figcaption>\n</figure>"
            );
        }
        Err(why) => {
            let _ = writeln!(
                out,
                "<figure id=\"{id}\"><div class=\"note\">{}</div></figure>",
                escape(&why)
            );
        }
    }
}

/// One line of a chart; a gap in the data starts a new segment.
pub(super) struct Line {
    pub(super) label: String,
    pub(super) color: RGBColor,
    pub(super) width: u32,
    /// Drawn dashed (in the plot and the legend), to tell it apart without colour.
    pub(super) dashed: bool,
    pub(super) segments: Vec<Vec<(f64, f64)>>,
}

impl Line {
    pub(super) fn is_empty(&self) -> bool {
        self.segments.iter().all(Vec::is_empty)
    }
}

/// The axes of a chart.
pub(super) struct Axes<'a> {
    pub(super) title: &'a str,
    pub(super) x_desc: &'a str,
    pub(super) y_desc: &'a str,
    /// The y title when the data spans a wide range and the y axis is drawn on a log scale;
    /// `None` keeps it linear.
    pub(super) y_desc_log: Option<&'a str>,
    /// Headroom above the highest point: a factor of the y span.
    pub(super) headroom: f64,
}

/// A y axis spanning more than this ratio (highest / lowest) is drawn on a log scale when the
/// chart allows it: on a linear one, a slow tail flattens everything else to the floor.
const WIDE_RATIO: f64 = 20.0;

/// Draws lines with a y axis from 0 (or, for wide data where allowed, a log y axis); `x` is
/// linear (time) or the spectrum's log axis.
pub(super) fn draw<R: Ranged<ValueType = f64>>(
    axes: &Axes<'_>,
    x_axis: Ticked<R>,
    x_format: &dyn Fn(&f64) -> String,
    lines: &[Line],
) -> Result<String, Box<dyn Error>> {
    let points = || lines.iter().flat_map(|l| l.segments.iter().flatten());
    let highest = points().map(|p| p.1).fold(0.0, f64::max);
    let lowest = points()
        .map(|p| p.1)
        .filter(|y| *y > 0.0)
        .fold(f64::INFINITY, f64::min);
    if let Some(y_desc) = axes.y_desc_log
        && lowest.is_finite()
        && highest / lowest >= WIDE_RATIO
    {
        // Headroom as a share of the log span.
        let top = lowest * (highest / lowest).powf(axes.headroom);
        let ticks = log_ticks(lowest, top);
        let (low, high) = (ticks[0], ticks[ticks.len() - 1]);
        let y_axis = Ticked {
            inner: LogCoord::from((low..high).log_scale()),
            ticks,
        };
        // Zero latencies sit on the floor of the log axis.
        let clamped: Vec<Line> = lines
            .iter()
            .map(|l| Line {
                label: l.label.clone(),
                color: l.color,
                width: l.width,
                dashed: l.dashed,
                segments: l
                    .segments
                    .iter()
                    .map(|s| s.iter().map(|&(x, y)| (x, y.max(low))).collect())
                    .collect(),
            })
            .collect();
        return plot(axes, y_desc, x_axis, x_format, y_axis, &tick_label, &clamped);
    }
    let (ticks, decimals) = nice_ticks(highest * axes.headroom, 8, &ROUND_STEPS);
    let y_max = ticks.last().copied().unwrap_or(1.0);
    let y_format = move |v: &f64| format!("{v:.decimals$}");
    plot(
        axes,
        axes.y_desc,
        x_axis,
        x_format,
        linear(y_max, ticks),
        &y_format,
        lines,
    )
}

pub(super) fn draw_time(axes: &Axes<'_>, x_max: f64, lines: &[Line]) -> Result<String, Box<dyn Error>> {
    let ticks = time_ticks(x_max);
    let x_end = ticks.last().copied().unwrap_or(1.0).max(x_max);
    draw(axes, linear(x_end, ticks), &|x: &f64| format!("{x:.0}"), lines)
}

/// Dash and gap length (pixels) of a dashed line.
const DASH: (u32, u32) = (10, 6);

/// Longest legend label, in characters; longer ones are cut with an ellipsis.
pub(super) const LEGEND_LABEL_CHARS: usize = 22;

pub(super) fn legend_label(label: &str) -> String {
    if label.chars().count() <= LEGEND_LABEL_CHARS {
        label.to_string()
    } else {
        let mut cut: String = label.chars().take(LEGEND_LABEL_CHARS - 1).collect();
        cut.push('…');
        cut
    }
}

fn plot<R: Ranged<ValueType = f64>, S: Ranged<ValueType = f64>>(
    axes: &Axes<'_>,
    y_desc: &str,
    x_axis: Ticked<R>,
    x_format: &dyn Fn(&f64) -> String,
    y_axis: Ticked<S>,
    y_format: &dyn Fn(&f64) -> String,
    lines: &[Line],
) -> Result<String, Box<dyn Error>> {
    let shown: Vec<&Line> = lines.iter().filter(|l| !l.is_empty()).collect();
    // The legend gets a column of its own right of the plot, so it never hides data.
    let legend_width = if shown.len() > 1 {
        let longest = shown
            .iter()
            .map(|l| legend_label(&l.label).chars().count())
            .max()
            .unwrap_or(0) as u32;
        (longest * 9 + 56).clamp(110, 280)
    } else {
        0
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, CHART_SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let body = root
            .margin(6, 0, 0, 0)
            .titled(axes.title, (FONT, 26).into_font().style(FontStyle::Bold))?;
        let (plot_area, legend_area) = body.split_horizontally(CHART_SIZE.0 - legend_width);
        let mut chart = ChartBuilder::on(&plot_area)
            .margin_top(8)
            .margin_left(16)
            .margin_right(if legend_width > 0 { 44 } else { 64 })
            .margin_bottom(12)
            .x_label_area_size(64)
            .y_label_area_size(92)
            .build_cartesian_2d(x_axis, y_axis)?;
        chart
            .configure_mesh()
            .x_desc(axes.x_desc)
            .y_desc(y_desc)
            .x_label_formatter(x_format)
            .y_label_formatter(y_format)
            .label_style((FONT, 18))
            .axis_desc_style((FONT, 19))
            .bold_line_style(BLACK.mix(0.12))
            .light_line_style(TRANSPARENT)
            .axis_style(BLACK.mix(0.6))
            .draw()?;
        for line in lines {
            let style = line.color.stroke_width(line.width);
            for segment in &line.segments {
                if let [point] = segment.as_slice() {
                    // A line of one point draws nothing: mark it.
                    chart.draw_series(std::iter::once(Circle::new(
                        *point,
                        line.width + 2,
                        line.color.filled(),
                    )))?;
                } else if line.dashed {
                    chart.draw_series(DashedLineSeries::new(
                        segment.iter().copied(),
                        DASH.0,
                        DASH.1,
                        style,
                    ))?;
                } else {
                    chart.draw_series(LineSeries::new(segment.iter().copied(), style))?;
                }
            }
        }
        if legend_width > 0 {
            let label_style = TextStyle::from((FONT, 18).into_font()).pos(text_anchor::Pos::new(
                text_anchor::HPos::Left,
                text_anchor::VPos::Center,
            ));
            for (i, line) in shown.iter().enumerate() {
                let y = 22 + 28 * i as i32;
                let style = line.color.stroke_width(line.width + 1);
                if line.dashed {
                    legend_area.draw(&plotters::element::DashedPathElement::new(
                        vec![(4, y), (30, y)],
                        DASH.0 - 2,
                        DASH.1 - 1,
                        style,
                    ))?;
                } else {
                    legend_area.draw(&PathElement::new(vec![(4, y), (30, y)], style))?;
                }
                legend_area.draw(&Text::new(
                    legend_label(&line.label),
                    (38, y),
                    label_style.clone(),
                ))?;
            }
        }
        root.present()?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::html::axis::percentile_label;

    #[test]
    fn ticks_are_round_and_cover_the_data() {
        let (ticks, decimals) = nice_ticks(13.0, 8, &ROUND_STEPS);
        assert_eq!(ticks, vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0]);
        assert_eq!(decimals, 0);
        let (ticks, decimals) = nice_ticks(0.9, 8, &ROUND_STEPS);
        assert!(*ticks.last().unwrap() >= 0.9 && ticks.len() <= 10);
        assert_eq!(ticks.len(), 6, "{ticks:?}");
        assert_eq!(decimals, 1);
        let (ticks, decimals) = nice_ticks(18.0, 8, &ROUND_STEPS);
        assert_eq!(ticks[1], 2.5);
        assert_eq!(decimals, 1, "2.5 needs its decimal");
        assert_eq!(time_ticks(5.0), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(time_ticks(600.0).len(), 11);
        assert_eq!(
            log_ticks(0.35, 70.0),
            vec![0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0]
        );
        assert_eq!(log_ticks(1.0, 20.0), vec![1.0, 2.0, 5.0, 10.0, 20.0]);
        let wide = log_ticks(0.01, 500_000.0);
        assert_eq!(wide.first(), Some(&0.01));
        assert!(wide.len() <= 10 && *wide.last().unwrap() >= 500_000.0, "{wide:?}");
        assert_eq!(tick_label(&0.2), "0.2");
        assert_eq!(tick_label(&0.05), "0.05");
        assert_eq!(tick_label(&20.0), "20");
        assert_eq!(legend_label("list"), "list");
        let long = legend_label("reader: list movies by genre and year");
        assert_eq!(long.chars().count(), LEGEND_LABEL_CHARS);
        assert!(long.ends_with('…'));
        assert_eq!(percentile_label(&1.0), "0%");
        assert_eq!(percentile_label(&10.0), "90%");
        assert_eq!(percentile_label(&1000.0), "99.9%");
        assert_eq!(percentile_label(&10_000.0), "99.99%");
    }
}
