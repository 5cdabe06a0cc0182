//! The single-run report's charts over time: latency percentiles, throughput and failures,
//! and active virtual users, one point per second.

use plotters::prelude::*;

use super::chart::{Axes, Chart, Drawn, Line, TOTAL_COLOR, decoded, draw_time, figure};
use super::windows::{MIN_RATE_WINDOW_SECS, extend, time_axis_end, window_rates, window_span};
use crate::Report;

const P50_COLOR: RGBColor = RGBColor(31, 119, 180);

const P90_COLOR: RGBColor = RGBColor(255, 127, 14);

const P99_COLOR: RGBColor = RGBColor(214, 39, 40);

const REQUESTS_COLOR: RGBColor = RGBColor(31, 119, 180);

const FAILED_COLOR: RGBColor = RGBColor(214, 39, 40);

fn latency_over_time_chart(report: &Report) -> Chart {
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

fn throughput_chart(report: &Report) -> Chart {
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

pub(super) fn throughput_figure(out: &mut String, report: &Report) {
    figure(
        out,
        "throughput",
        throughput_chart(report),
        "Requests completed and requests failed per second, in one-second windows, all request \
         steps together.",
    );
}

/// Active virtual users over time, sampled as each window closed.
fn users_chart(report: &Report) -> Chart {
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
