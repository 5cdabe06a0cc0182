//! The comparison page's charts, each overlaying the two runs (base dashed, new solid):
//! the latency percentile spectrum, p99 latency over time and throughput over time.

use std::fmt::Write;

use hdrhistogram::Histogram;
use plotters::prelude::*;

use crate::Report;
use crate::html::axis::percentile_label;
use crate::html::chart::{Axes, Chart, Drawn, Line, decoded, draw, draw_time};
use crate::html::spectrum::{spectrum, spectrum_axis, spectrum_decades};
use crate::html::windows::{MIN_RATE_WINDOW_SECS, extend, time_axis_end, window_rates, window_span};

/// The base run's colour; its lines are also dashed, so the runs can be told apart without it.
const BASE_COLOR: RGBColor = RGBColor(31, 119, 180);

/// The new run's colour, solid lines.
const NEW_COLOR: RGBColor = RGBColor(230, 85, 13);

/// The two runs' lines of a chart: base dashed, new solid.
fn pair_of_lines(base: Vec<Vec<(f64, f64)>>, new: Vec<Vec<(f64, f64)>>) -> [Line; 2] {
    [
        Line {
            label: "base".to_string(),
            color: BASE_COLOR,
            width: 3,
            dashed: true,
            segments: base,
        },
        Line {
            label: "new".to_string(),
            color: NEW_COLOR,
            width: 3,
            dashed: false,
            segments: new,
        },
    ]
}

/// A caption's remark when one run has nothing to draw (HTML).
fn one_side_note(lines: &[Line; 2], what: &str) -> String {
    match (lines[0].is_empty(), lines[1].is_empty()) {
        (true, false) => format!(" The base run has {what}; only the new run is drawn."),
        (false, true) => format!(" The new run has {what}; only the base run is drawn."),
        _ => String::new(),
    }
}

pub(super) fn spectrum_chart(base: &Report, new: &Report) -> Chart {
    let (b, n) = (decoded(&base.total.histogram), decoded(&new.total.histogram));
    if b.is_none() && n.is_none() {
        return Err(
            "Latency percentile spectrum: no latency data in either run (no request was timed).".into(),
        );
    }
    // As many decades as the larger run can resolve.
    let count = [b.as_ref(), n.as_ref()]
        .into_iter()
        .flatten()
        .map(Histogram::len)
        .max();
    let decades = spectrum_decades(count.unwrap_or(1));
    let curve = |h: &Option<Histogram<u64>>| h.as_ref().map_or(Vec::new(), |h| vec![spectrum(h, decades)]);
    let lines = pair_of_lines(curve(&b), curve(&n));
    let svg = draw(
        &Axes {
            title: "Latency by percentile, all steps",
            x_desc: "percentile (log scale)",
            y_desc: "latency (ms)",
            y_desc_log: Some("latency (ms, log scale)"),
            headroom: 1.04,
        },
        spectrum_axis(decades),
        &percentile_label,
        &lines,
    )
    .map_err(|e| format!("Latency percentile spectrum could not be drawn: {e}"))?;
    Ok(Drawn {
        note: one_side_note(&lines, "no latency data"),
        svg,
    })
}

/// The end of the shared time axis: the longer run's.
fn time_end(base: &Report, new: &Report) -> f64 {
    time_axis_end(base).max(time_axis_end(new))
}

/// p99 (ms) of each window of the run's total in which a request was timed.
fn p99_segments(report: &Report) -> Vec<Vec<(f64, f64)>> {
    let mut line = Line {
        label: String::new(),
        color: BASE_COLOR,
        width: 0,
        dashed: false,
        segments: Vec::new(),
    };
    let mut previous: Option<u64> = None;
    for w in &report.total.windows {
        let Some(h) = decoded(&w.histogram) else {
            continue;
        };
        let contiguous = previous.is_some_and(|p| p + 1 == w.second);
        let (x, _) = window_span(report, w.second);
        extend(
            &mut line,
            contiguous,
            (x, h.value_at_quantile(0.99) as f64 / 1000.0),
        );
        previous = Some(w.second);
    }
    line.segments
}

pub(super) fn p99_chart(base: &Report, new: &Report) -> Chart {
    let lines = pair_of_lines(p99_segments(base), p99_segments(new));
    if lines.iter().all(Line::is_empty) {
        return Err(if base.total.windows.is_empty() && new.total.windows.is_empty() {
            "p99 latency over time: neither report has per-second windows.".into()
        } else {
            "p99 latency over time: no request was timed in any window of either run.".into()
        });
    }
    let svg = draw_time(
        &Axes {
            title: "p99 latency over time, all steps",
            x_desc: "time since each run's start (s)",
            y_desc: "p99 latency (ms)",
            y_desc_log: Some("p99 latency (ms, log scale)"),
            headroom: 1.08,
        },
        time_end(base, new),
        &lines,
    )
    .map_err(|e| format!("p99 latency over time could not be drawn: {e}"))?;
    Ok(Drawn {
        note: one_side_note(&lines, "no timed request in any window"),
        svg,
    })
}

/// Requests per second in each window of the run's total, and the last, partial window's
/// length if there is one.
fn rate_segments(report: &Report) -> (Vec<Vec<(f64, f64)>>, Option<f64>) {
    let mut line = Line {
        label: String::new(),
        color: BASE_COLOR,
        width: 0,
        dashed: false,
        segments: Vec::new(),
    };
    let (rates, partial) = window_rates(report);
    for rate in &rates {
        extend(&mut line, rate.contiguous, (rate.x, rate.requests));
    }
    (line.segments, partial)
}

pub(super) fn throughput_chart(base: &Report, new: &Report) -> Chart {
    let ((b, b_partial), (n, n_partial)) = (rate_segments(base), rate_segments(new));
    let lines = pair_of_lines(b, n);
    if lines.iter().all(Line::is_empty) {
        return Err(if base.total.windows.is_empty() && new.total.windows.is_empty() {
            "Throughput over time: neither report has per-second windows.".into()
        } else {
            "Throughput over time: both runs were shorter than a rate can be measured in.".into()
        });
    }
    let svg = draw_time(
        &Axes {
            title: "Throughput over time, all steps",
            x_desc: "time since each run's start (s)",
            y_desc: "throughput (requests per second)",
            y_desc_log: None,
            headroom: 1.08,
        },
        time_end(base, new),
        &lines,
    )
    .map_err(|e| format!("Throughput over time could not be drawn: {e}"))?;
    let mut note = one_side_note(&lines, "no window long enough for a rate");
    for (run, partial) in [("base", b_partial), ("new", n_partial)] {
        match partial {
            Some(length) if length < MIN_RATE_WINDOW_SECS => {
                let _ = write!(
                    note,
                    " The last window of the {run} run covered only {length:.2} s and is left out."
                );
            }
            Some(length) => {
                let _ = write!(
                    note,
                    " The last window of the {run} run covered {length:.2} s; its rate is per \
                     second of that."
                );
            }
            None => {}
        }
    }
    Ok(Drawn { svg, note })
}
