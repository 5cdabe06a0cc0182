//! The run's per-second windows as points of a time chart: where a window sits on the time
//! axis (the last one is usually partial), its rates, and lines that break at gaps.

use super::chart::Line;
use crate::Report;

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

/// A window shorter than this (the run's last, partial one) is too short for a rate.
pub(super) const MIN_RATE_WINDOW_SECS: f64 = 0.25;

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
