//! The latency percentile spectrum (HdrHistogram style): latency against 1/(1-q) on a log
//! axis, so each tick is one more nine; the total and the busiest steps.

use hdrhistogram::Histogram;
use plotters::prelude::*;

use super::axis::{Ticked, percentile_label};
use super::chart::{Axes, Chart, Drawn, Line, TOTAL_COLOR, decoded, draw, figure};
use crate::{Report, StepReport};

/// Steps drawn in the percentile spectrum besides the total.
const MAX_STEP_SERIES: usize = 5;

/// Samples per decade of the spectrum's x axis.
const SAMPLES_PER_DECADE: u32 = 24;

const STEP_COLORS: [RGBColor; MAX_STEP_SERIES] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

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

fn spectrum_chart(report: &Report) -> Chart {
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
