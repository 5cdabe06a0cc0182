//! Chart axes with exactly the ticks we choose: round linear steps, whole seconds for time,
//! 1-2-5 on a log scale, and labels with no more decimals than they need.

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::Ranged;

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

/// An axis with exactly the given ticks (plotters' `WithKeyPoints` cannot be formatted by a
/// custom label formatter on a linear f64 axis).
pub(super) struct Ticked<R> {
    pub(super) inner: R,
    pub(super) ticks: Vec<f64>,
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
