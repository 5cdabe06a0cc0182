//! The report's SVG charts (plotters, SVG backend): percentile spectrum, latency over time,
//! throughput and failures over time, and the axis/tick helpers they share.

#![allow(clippy::wildcard_imports)]

use super::*;

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

/// Tick positions from 0 to at least `max`: multiples of a round step, about `target` of
/// them; also the number of decimals their labels need.
pub(super) fn nice_ticks(max: f64, target: usize, steps: &[f64]) -> (Vec<f64>, usize) {
    let max = if max.is_finite() && max > 0.0 { max } else { 1.0 };
    let rough = max / target.max(1) as f64;
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = steps
        .iter()
        .map(|s| s * magnitude)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * magnitude);
    let decimals = (0..6)
        .find(|d| {
            let scaled = step * 10f64.powi(*d);
            (scaled - scaled.round()).abs() < 1e-6
        })
        .unwrap_or(6) as usize;
    let mut ticks = Vec::new();
    let mut i = 0u32;
    loop {
        let t = step * f64::from(i);
        ticks.push(t);
        if t >= max || i > 1000 {
            break;
        }
        i += 1;
    }
    (ticks, decimals)
}

pub(super) const ROUND_STEPS: [f64; 4] = [1.0, 2.0, 2.5, 5.0];

/// Time ticks: whole seconds, and minute-friendly steps for long runs.
pub(super) fn time_ticks(max: f64) -> Vec<f64> {
    let max = max.max(1.0);
    let step = [
        1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0,
    ]
    .into_iter()
    .find(|s| max / s <= 12.0)
    .unwrap_or_else(|| (max / 12.0 / 3600.0).ceil() * 3600.0);
    let mut ticks = Vec::new();
    let mut t = 0.0;
    while t <= max + 1e-9 {
        ticks.push(t);
        t += step;
    }
    ticks
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

/// An axis with exactly the given ticks (plotters' `WithKeyPoints` cannot be formatted by a
/// custom label formatter on a linear f64 axis).
pub(super) struct Ticked<R> {
    inner: R,
    ticks: Vec<f64>,
}

impl<R: Ranged<ValueType = f64>> Ranged for Ticked<R> {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        self.ticks.clone()
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

pub(super) fn linear(end: f64, ticks: Vec<f64>) -> Ticked<RangedCoordf64> {
    Ticked {
        inner: (0.0..end).into(),
        ticks,
    }
}

/// A y axis spanning more than this ratio (highest / lowest) is drawn on a log scale when the
/// chart allows it: on a linear one, a slow tail flattens everything else to the floor.
pub(super) const WIDE_RATIO: f64 = 20.0;

/// A tick label with as few decimals as the value needs.
pub(super) fn tick_label(v: &f64) -> String {
    let decimals = (0..4)
        .find(|d| {
            let scaled = v * 10f64.powi(*d);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.abs().max(1.0)
        })
        .unwrap_or(4) as usize;
    format!("{v:.decimals$}")
}

/// Log-axis ticks on the 1-2-5 sequence (powers of ten only when that would be too many)
/// covering `low..high`; the first and last tick are the axis' ends.
pub(super) fn log_ticks(low: f64, high: f64) -> Vec<f64> {
    let low = low.max(1e-3);
    let high = high.max(low * 10.0);
    let first = low.log10().floor() as i32;
    let last = high.log10().ceil() as i32;
    let mut ticks = Vec::new();
    for multiples in [&[1.0, 2.0, 5.0][..], &[1.0][..]] {
        let candidates: Vec<f64> = (first..=last)
            .flat_map(|d| multiples.iter().map(move |m| m * 10f64.powi(d)))
            .collect();
        let tolerance = 1.0 + 1e-9;
        let start = candidates
            .iter()
            .rposition(|c| *c <= low * tolerance)
            .unwrap_or(0);
        let end = candidates
            .iter()
            .position(|c| *c * tolerance >= high)
            .unwrap_or(candidates.len() - 1);
        ticks = candidates[start..=end].to_vec();
        if ticks.len() <= 10 {
            break;
        }
    }
    ticks
}

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

/// Dash and gap length (pixels) of a dashed line.
pub(super) const DASH: (u32, u32) = (10, 6);

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

pub(super) fn plot<R: Ranged<ValueType = f64>, S: Ranged<ValueType = f64>>(
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

/// The label of a spectrum tick at 10^decade: `0%`, `90%`, `99%`, `99.9%`, ...
pub(super) fn percentile_label(x: &f64) -> String {
    let x = *x;
    let decade = x.log10().round();
    if decade < 0.5 {
        return "0%".to_string();
    }
    let decimals = (decade as usize).saturating_sub(2);
    format!("{:.decimals$}%", 100.0 - 100.0 / x)
}

/// The spectrum of one histogram: (1/(1-q), latency ms) for q sampled evenly on the log axis.
pub(super) fn spectrum(h: &Histogram<u64>, decades: u32) -> Vec<(f64, f64)> {
    (0..=decades * SAMPLES_PER_DECADE)
        .map(|k| {
            let x = 10f64.powf(f64::from(k) / f64::from(SAMPLES_PER_DECADE));
            let q = (1.0 - 1.0 / x).clamp(0.0, 1.0);
            (x, h.value_at_quantile(q) as f64 / 1000.0)
        })
        .collect()
}

/// Decades of the spectrum's x axis for `count` requests: enough to reach the last percentile
/// the data can tell apart from the max.
pub(super) fn spectrum_decades(count: u64) -> u32 {
    ((count as f64).log10().ceil() as u32).clamp(2, 6)
}

/// The spectrum's x axis, 1/(1-q) on a log scale from 1 (0%) to 10^decades, a tick per decade.
pub(super) fn spectrum_axis(decades: u32) -> Ticked<LogCoord<f64>> {
    let x_max = 10f64.powf(f64::from(decades));
    Ticked {
        inner: LogCoord::from((1.0..x_max).log_scale()),
        ticks: (0..=decades).map(|d| 10f64.powf(f64::from(d))).collect(),
    }
}

pub(super) fn spectrum_chart(report: &Report) -> Chart {
    let Some(total) = decoded(&report.total.histogram) else {
        return Err("Latency percentile spectrum: no latency data (no request was timed).".into());
    };
    let decades = spectrum_decades(total.len());
    let mut lines = vec![Line {
        label: "all".to_string(),
        color: TOTAL_COLOR,
        width: 3,
        dashed: false,
        segments: vec![spectrum(&total, decades)],
    }];
    let mut with_data: Vec<(usize, &StepReport, Histogram<u64>)> = report
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.requests > 0)
        .filter_map(|(i, s)| decoded(&s.histogram).map(|h| (i, s, h)))
        .collect();
    let mut left_out = 0;
    if with_data.len() > 1 {
        if with_data.len() > MAX_STEP_SERIES {
            left_out = with_data.len() - MAX_STEP_SERIES;
            with_data.sort_by(|a, b| b.1.requests.cmp(&a.1.requests).then(a.0.cmp(&b.0)));
            with_data.truncate(MAX_STEP_SERIES);
            with_data.sort_by_key(|(i, _, _)| *i);
        }
        for (n, (_, step, h)) in with_data.iter().enumerate() {
            let duplicate = report
                .steps
                .iter()
                .filter(|s| s.requests > 0 && s.name == step.name)
                .count()
                > 1;
            let label = match (&step.scenario, duplicate) {
                (Some(scenario), true) => format!("{scenario}: {}", step.name),
                _ => step.name.clone(),
            };
            lines.push(Line {
                label,
                color: STEP_COLORS[n % STEP_COLORS.len()],
                width: 2,
                dashed: false,
                segments: vec![spectrum(h, decades)],
            });
        }
    }
    let axes = Axes {
        title: "Latency by percentile",
        x_desc: "percentile (log scale)",
        y_desc: "latency (ms)",
        y_desc_log: Some("latency (ms, log scale)"),
        headroom: 1.04,
    };
    let svg = draw(&axes, spectrum_axis(decades), &percentile_label, &lines)
        .map_err(|e| format!("Latency percentile spectrum could not be drawn: {e}"))?;
    let note = if left_out > 0 {
        format!(
            " The steps drawn are the {MAX_STEP_SERIES} with the most requests; {left_out} more \
             are in the table above (and in <em>all</em>)."
        )
    } else {
        String::new()
    };
    Ok(Drawn { svg, note })
}

pub(super) fn spectrum_figure(out: &mut String, report: &Report) {
    figure(
        out,
        "latency-spectrum",
        spectrum_chart(report),
        "Latency at each percentile over the whole run, in the HdrHistogram style: the x axis is \
         1/(1&minus;q) on a log scale, so each tick is one more nine. Percentiles beyond what the \
         number of requests can resolve show the maximum.",
    );
}

/// The part of a window the run covered: `(middle, length)` in seconds. The last window is
/// usually partial (a run rarely ends on a whole second).
pub(super) fn window_span(report: &Report, second: u64) -> (f64, f64) {
    let start = second as f64;
    let length = if report.duration_secs.is_finite() && report.duration_secs > start {
        (report.duration_secs - start).min(1.0)
    } else if report.duration_secs.is_finite() && report.duration_secs > 0.0 {
        0.0
    } else {
        1.0
    };
    (start + length.max(0.0) / 2.0, length)
}

/// Adds a point to a line, starting a new segment after a gap.
pub(super) fn extend(line: &mut Line, contiguous: bool, point: (f64, f64)) {
    match line.segments.last_mut() {
        Some(segment) if contiguous => segment.push(point),
        _ => line.segments.push(vec![point]),
    }
}

/// The end of the time axis: the run's length, or the last window's end if later.
pub(super) fn time_axis_end(report: &Report) -> f64 {
    let windows_end = report
        .total
        .windows
        .iter()
        .map(|w| w.second + 1)
        .max()
        .unwrap_or(1) as f64;
    if report.duration_secs.is_finite() && report.duration_secs > 0.0 {
        report.duration_secs.min(windows_end)
    } else {
        windows_end
    }
}

pub(super) fn latency_over_time_chart(report: &Report) -> Chart {
    let windows = &report.total.windows;
    let mut lines: Vec<Line> = [("p50", P50_COLOR), ("p90", P90_COLOR), ("p99", P99_COLOR)]
        .into_iter()
        .map(|(label, color)| Line {
            label: label.to_string(),
            color,
            width: 2,
            dashed: false,
            segments: Vec::new(),
        })
        .collect();
    let mut previous: Option<u64> = None;
    for w in windows {
        let Some(h) = decoded(&w.histogram) else {
            continue;
        };
        let contiguous = previous.is_some_and(|p| p + 1 == w.second);
        let (x, _) = window_span(report, w.second);
        for (line, q) in lines.iter_mut().zip([0.50, 0.90, 0.99]) {
            extend(line, contiguous, (x, h.value_at_quantile(q) as f64 / 1000.0));
        }
        previous = Some(w.second);
    }
    if lines[0].is_empty() {
        return Err(if windows.is_empty() {
            "Latency over time: the report has no per-second windows.".into()
        } else {
            "Latency over time: no request was timed in any window.".into()
        });
    }
    draw_time(
        &Axes {
            title: "Latency over time",
            x_desc: "time since start (s)",
            y_desc: "latency (ms)",
            y_desc_log: Some("latency (ms, log scale)"),
            headroom: 1.08,
        },
        time_axis_end(report),
        &lines,
    )
    .map(Drawn::from)
    .map_err(|e| format!("Latency over time could not be drawn: {e}"))
}

pub(super) fn draw_time(axes: &Axes<'_>, x_max: f64, lines: &[Line]) -> Result<String, Box<dyn Error>> {
    let ticks = time_ticks(x_max);
    let x_end = ticks.last().copied().unwrap_or(1.0).max(x_max);
    draw(axes, linear(x_end, ticks), &|x: &f64| format!("{x:.0}"), lines)
}

pub(super) fn latency_over_time_figure(out: &mut String, report: &Report) {
    figure(
        out,
        "latency-over-time",
        latency_over_time_chart(report),
        "p50, p90 and p99 latency of all request steps in each one-second window, drawn at the \
         window's middle; the y axis turns logarithmic when slow outliers would flatten the rest. \
         Gaps are windows in which no request was timed.",
    );
}

/// A window shorter than this (the run's last, partial one) is too short for a rate.
pub(super) const MIN_RATE_WINDOW_SECS: f64 = 0.25;

pub(super) fn throughput_chart(report: &Report) -> Chart {
    let windows = &report.total.windows;
    if windows.is_empty() {
        return Err("Throughput over time: the report has no per-second windows.".into());
    }
    let mut requests = Line {
        label: "requests/s".to_string(),
        color: REQUESTS_COLOR,
        width: 2,
        dashed: false,
        segments: Vec::new(),
    };
    let mut failed = Line {
        label: "failed/s".to_string(),
        color: FAILED_COLOR,
        width: 2,
        dashed: false,
        segments: Vec::new(),
    };
    let (rates, partial) = window_rates(report);
    for rate in &rates {
        extend(&mut requests, rate.contiguous, (rate.x, rate.requests));
        extend(&mut failed, rate.contiguous, (rate.x, rate.failed));
    }
    if requests.is_empty() {
        return Err("Throughput over time: the run was shorter than a rate can be measured in.".into());
    }
    let svg = draw_time(
        &Axes {
            title: "Throughput and failures over time",
            x_desc: "time since start (s)",
            y_desc: "rate (requests per second)",
            y_desc_log: None,
            headroom: 1.08,
        },
        time_axis_end(report),
        &[requests, failed],
    )
    .map_err(|e| format!("Throughput over time could not be drawn: {e}"))?;
    let note = match partial {
        Some(length) if length < MIN_RATE_WINDOW_SECS => {
            format!(" The last window covered only {length:.2} s of the run and is left out.")
        }
        Some(length) => {
            format!(" The last window covered {length:.2} s of the run; its rates are per second of that.")
        }
        None => String::new(),
    };
    Ok(Drawn { svg, note })
}

/// Active virtual users over time, sampled as each window closed.
pub(super) fn users_chart(report: &Report) -> Chart {
    let mut users = Line {
        label: "active users".to_string(),
        color: TOTAL_COLOR,
        width: 2,
        dashed: false,
        segments: Vec::new(),
    };
    let end = report.duration_secs;
    for w in &report.total.windows {
        if let Some(n) = w.users {
            let x = ((w.second + 1) as f64).min(end);
            extend(&mut users, true, (x, n as f64));
        }
    }
    if users.is_empty() {
        return Err("Users over time: the report has no user counts.".into());
    }
    let svg = draw_time(
        &Axes {
            title: "Active users over time",
            x_desc: "time since start (s)",
            y_desc: "virtual users",
            y_desc_log: None,
            headroom: 1.15,
        },
        time_axis_end(report),
        &[users],
    )
    .map_err(|e| format!("Users over time could not be drawn: {e}"))?;
    Ok(Drawn {
        svg,
        note: String::new(),
    })
}

pub(super) fn users_figure(out: &mut String, report: &Report) {
    let caption = match report.load.rate {
        Some(rate) => format!(
            "Virtual users inside their active time at the end of each second (the {} model; target              {rate} iterations/s at its peak).",
            report.load.model
        ),
        None => format!(
            "Virtual users inside their active time at the end of each second ({} model).",
            report.load.model
        ),
    };
    figure(out, "users", users_chart(report), &caption);
}

/// The rates of one window of a run's total.
pub(super) struct WindowRate {
    /// The middle of the part of the window the run covered, seconds since its start.
    pub(super) x: f64,
    /// Whether the previous rate was of the window just before (no gap).
    pub(super) contiguous: bool,
    /// Requests per second.
    pub(super) requests: f64,
    /// Failed requests per second.
    pub(super) failed: f64,
}

/// Requests and failures per second in each window of the run's total, per second of the
/// part of the window the run covered; a last window too short for a rate is left out. Also
/// the length of the last, partial window, if there is one.
pub(super) fn window_rates(report: &Report) -> (Vec<WindowRate>, Option<f64>) {
    let mut rates = Vec::new();
    let mut previous: Option<u64> = None;
    let mut partial = None;
    for w in &report.total.windows {
        let (x, length) = window_span(report, w.second);
        if length < 1.0 {
            partial = Some(length);
            if length < MIN_RATE_WINDOW_SECS {
                continue;
            }
        }
        rates.push(WindowRate {
            x,
            contiguous: previous.is_some_and(|p| p + 1 == w.second),
            requests: w.requests as f64 / length,
            failed: w.failed as f64 / length,
        });
        previous = Some(w.second);
    }
    (rates, partial)
}

pub(super) fn throughput_figure(out: &mut String, report: &Report) {
    figure(
        out,
        "throughput",
        throughput_chart(report),
        "Requests completed and requests failed per second, in one-second windows, all request \
         steps together.",
    );
}
