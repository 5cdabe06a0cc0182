//! Comparing two runs — this release's report with the last one's — per step: the change in
//! p50/p90/p99/max, throughput and failure rate, with statistics so that noise is not called
//! a regression. A latency or throughput change is a regression only when it is larger than
//! its tolerance *and* the per-second windows say it is unlikely to be noise: a one-sided
//! Mann-Whitney U test on the windows' values (p < 0.05) and, for latency, a bootstrap
//! interval (95%) for the change of the median window p99 that excludes zero. With fewer than
//! `MIN_WINDOWS` windows on a side the tests cannot run, and latency and throughput are not
//! judged at all (the comparison says so): a change no test can tell from noise is not called
//! a regression. The latency and throughput tests of one comparison are corrected together
//! (Holm), so many steps do not multiply false alarms.
//!
//! This module is the comparison model and the judging; the tests it runs are in
//! `statistics`, the text and Markdown table in `render`.

mod render;
mod statistics;

use serde::{Deserialize, Serialize};

use crate::{Report, StepReport, histogram};

pub use render::{render, show, show_change};
use statistics::proportion_greater;
pub use statistics::{bootstrap_median_change, mann_whitney_greater, standard_normal_cdf};

/// Windows each run needs for the statistical tests.
pub const MIN_WINDOWS: usize = 5;
/// Significance level of the tests.
pub const ALPHA: f64 = 0.05;

/// How much worse a metric may get before it is a regression.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tolerances {
    /// Relative increase of p50 (0.10 = 10%).
    pub p50: f64,
    /// Relative increase of p99.
    pub p99: f64,
    /// Relative decrease of throughput.
    pub throughput: f64,
    /// Absolute increase of the failure rate (0.01 = one percentage point).
    pub error_rate: f64,
}

impl Default for Tolerances {
    fn default() -> Self {
        Tolerances {
            p50: 0.10,
            p99: 0.10,
            throughput: 0.10,
            error_rate: 0.01,
        }
    }
}

/// One metric of one step, in both runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricChange {
    /// `p50`, `p90`, `p99`, `max` (microseconds), `throughput` (requests/s), `error_rate`.
    pub metric: String,
    /// Value in the base run.
    pub base: f64,
    /// Value in the new run.
    pub new: f64,
    /// Relative change (new/base - 1); absolute change for `error_rate`.
    pub change: f64,
    /// One-sided p-value that the new run is worse (when tested).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_value: Option<f64>,
    /// 95% bootstrap interval of the relative change of the median window p99 (p99 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<(f64, f64)>,
    /// The tolerance it was judged against (informational metrics have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
    /// Worse than the tolerance and unlikely to be noise.
    pub regression: bool,
}

/// One step (or `all`) in both runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepComparison {
    /// Step name.
    pub name: String,
    /// Windows in the base and the new run.
    pub windows: (usize, usize),
    /// Whether there were too few windows for the statistical tests.
    pub too_few_windows: bool,
    /// The metrics.
    pub metrics: Vec<MetricChange>,
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Base scenario and start time.
    pub base: String,
    /// New scenario and start time.
    pub new: String,
    /// The tolerances used.
    pub tolerances: Tolerances,
    /// Per step, then `all`.
    pub steps: Vec<StepComparison>,
    /// `step metric` of every regression.
    pub regressions: Vec<String>,
}

/// Why two reports cannot be compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompareError(pub String);

impl std::fmt::Display for CompareError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CompareError {}

/// Per-window p50 and p99 (microseconds) and request counts of a step.
struct WindowSeries {
    p50: Vec<f64>,
    p99: Vec<f64>,
    requests: Vec<f64>,
}

fn series(step: &StepReport) -> Result<WindowSeries, CompareError> {
    let mut s = WindowSeries {
        p50: Vec::new(),
        p99: Vec::new(),
        requests: Vec::new(),
    };
    for w in &step.windows {
        s.requests.push(w.requests as f64);
        if w.histogram.is_empty() {
            continue;
        }
        let h = histogram::decode(&w.histogram).map_err(CompareError)?;
        s.p50.push(h.value_at_quantile(0.50) as f64);
        s.p99.push(h.value_at_quantile(0.99) as f64);
    }
    Ok(s)
}

fn relative(base: f64, new: f64) -> f64 {
    if base == 0.0 {
        if new == 0.0 { 0.0 } else { f64::INFINITY }
    } else {
        new / base - 1.0
    }
}

fn compare_step(
    base: &StepReport,
    new: &StepReport,
    tol: &Tolerances,
) -> Result<StepComparison, CompareError> {
    let (bs, ns) = (series(base)?, series(new)?);
    let too_few_windows = bs.p99.len() < MIN_WINDOWS || ns.p99.len() < MIN_WINDOWS;
    let lat = |s: &StepReport, f: fn(&crate::LatencySummary) -> u64| {
        s.latency_us.as_ref().map_or(0.0, |l| f(l) as f64)
    };
    let mut metrics = Vec::new();
    for (name, get, tolerance, samples) in [
        (
            "p50",
            (|l: &crate::LatencySummary| l.p50) as fn(&crate::LatencySummary) -> u64,
            Some(tol.p50),
            Some((&bs.p50, &ns.p50)),
        ),
        ("p90", |l: &crate::LatencySummary| l.p90, None, None),
        (
            "p99",
            |l: &crate::LatencySummary| l.p99,
            Some(tol.p99),
            Some((&bs.p99, &ns.p99)),
        ),
        ("max", |l: &crate::LatencySummary| l.max, None, None),
    ] {
        let (b, n) = (lat(base, get), lat(new, get));
        let change = relative(b, n);
        let (p_value, interval) = match samples {
            Some((bw, nw)) if !too_few_windows => (
                mann_whitney_greater(bw, nw),
                if name == "p99" {
                    bootstrap_median_change(bw, nw)
                } else {
                    None
                },
            ),
            _ => (None, None),
        };
        let worse = tolerance.is_some_and(|t| change > t);
        // Without enough windows nothing tells a change from noise: not judged.
        let significant = !too_few_windows
            && p_value.is_some_and(|p| p < ALPHA)
            && interval.is_none_or(|(low, _)| low > 0.0);
        metrics.push(MetricChange {
            metric: name.into(),
            base: b,
            new: n,
            change,
            p_value,
            interval,
            tolerance,
            regression: worse && significant,
        });
    }
    // Throughput: fewer requests per window is worse.
    let change = relative(base.rate_per_sec, new.rate_per_sec);
    let p_value = if too_few_windows {
        None
    } else {
        let neg = |v: &[f64]| v.iter().map(|x| -x).collect::<Vec<_>>();
        mann_whitney_greater(&neg(&bs.requests), &neg(&ns.requests))
    };
    metrics.push(MetricChange {
        metric: "throughput".into(),
        base: base.rate_per_sec,
        new: new.rate_per_sec,
        change,
        p_value,
        interval: None,
        tolerance: Some(tol.throughput),
        regression: -change > tol.throughput && !too_few_windows && p_value.is_some_and(|p| p < ALPHA),
    });
    let rate = |s: &StepReport| {
        if s.requests == 0 {
            0.0
        } else {
            s.failed as f64 / s.requests as f64
        }
    };
    let p_value = proportion_greater(base.failed, base.requests, new.failed, new.requests);
    let change = rate(new) - rate(base);
    metrics.push(MetricChange {
        metric: "error_rate".into(),
        base: rate(base),
        new: rate(new),
        change,
        p_value,
        interval: None,
        tolerance: Some(tol.error_rate),
        regression: change > tol.error_rate && p_value.is_some_and(|p| p < ALPHA),
    });
    Ok(StepComparison {
        name: base.name.clone(),
        windows: (bs.p99.len(), ns.p99.len()),
        too_few_windows,
        metrics,
    })
}

/// Many steps times several metrics are many tests: at p < 0.05 each, one of twenty unchanged
/// metrics would look significant by chance. Holm's step-down correction keeps the chance of
/// any false regression in one comparison at 5%: a latency or throughput regression stands
/// only if its p-value passes the Holm-adjusted level.
fn holm_correct(steps: &mut [StepComparison]) {
    let tested = ["p50", "p99", "throughput"];
    let mut ps: Vec<(usize, usize, f64)> = Vec::new();
    for (si, s) in steps.iter().enumerate() {
        for (mi, m) in s.metrics.iter().enumerate() {
            if let (true, Some(p)) = (tested.contains(&m.metric.as_str()), m.p_value) {
                ps.push((si, mi, p));
            }
        }
    }
    ps.sort_by(|a, b| a.2.total_cmp(&b.2));
    let m = ps.len();
    let mut passing = true;
    for (rank, (si, mi, p)) in ps.into_iter().enumerate() {
        passing = passing && p <= ALPHA / (m - rank) as f64;
        if !passing {
            steps[si].metrics[mi].regression = false;
        }
    }
}

/// Compares `new` with `base`. Runs of different scenarios or plans are refused unless
/// `force`; steps are matched by name.
pub fn compare(
    base: &Report,
    new: &Report,
    tol: &Tolerances,
    force: bool,
) -> Result<Comparison, CompareError> {
    if !force && (base.scenario != new.scenario || base.plan != new.plan || base.load.model != new.load.model)
    {
        return Err(CompareError(format!(
            "the runs are of different scenarios or plans ({} vs {}); --force compares them anyway, step by step",
            base.scenario, new.scenario
        )));
    }
    let mut steps = Vec::new();
    for b in base.steps.iter().filter(|s| s.requests > 0) {
        if let Some(n) = new.steps.iter().find(|s| s.name == b.name && s.requests > 0) {
            steps.push(compare_step(b, n, tol)?);
        }
    }
    steps.push(compare_step(&base.total, &new.total, tol)?);
    holm_correct(&mut steps);
    let regressions = steps
        .iter()
        .flat_map(|s| {
            s.metrics
                .iter()
                .filter(|m| m.regression)
                .map(move |m| format!("{} {}", s.name, m.metric))
        })
        .collect();
    Ok(Comparison {
        base: format!("{} at {}", base.scenario, base.started_at),
        new: format!("{} at {}", new.scenario, new.started_at),
        tolerances: *tol,
        steps,
        regressions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{run, run_with};

    fn metric<'a>(c: &'a Comparison, step: &str, name: &str) -> &'a MetricChange {
        c.steps
            .iter()
            .find(|s| s.name == step)
            .unwrap()
            .metrics
            .iter()
            .find(|m| m.metric == name)
            .unwrap()
    }

    #[test]
    fn a_consistent_slowdown_is_a_regression() {
        let base = run(
            &[20_000, 21_000, 19_000, 20_500, 20_000, 19_500, 21_000, 20_000],
            0,
        );
        let new = run(
            &[30_000, 31_000, 29_000, 30_500, 30_000, 29_500, 31_000, 30_000],
            0,
        );
        let c = compare(&base, &new, &Tolerances::default(), false).unwrap();
        let p99 = metric(&c, "get", "p99");
        assert!(p99.regression, "{p99:?}");
        assert!(p99.interval.unwrap().0 > 0.3, "{p99:?}");
        assert!(c.regressions.contains(&"get p99".to_string()));
    }

    #[test]
    fn noise_and_small_changes_are_not_regressions() {
        let base = run(
            &[20_000, 21_000, 19_000, 20_500, 20_000, 19_500, 21_000, 20_000],
            0,
        );
        // 2% slower: under the 10% tolerance.
        let slightly = run(
            &[20_400, 21_400, 19_400, 20_900, 20_400, 19_900, 21_400, 20_400],
            0,
        );
        assert!(
            compare(&base, &slightly, &Tolerances::default(), false)
                .unwrap()
                .regressions
                .is_empty()
        );
        // One freak window (20 requests at 400 ms) moves the overall p99 far past the
        // tolerance, but the other windows say it was one bad second, not a slower release.
        let mut windows: Vec<(u64, u64)> = [20_000, 21_000, 19_000, 20_500, 20_000, 19_500, 21_000]
            .iter()
            .map(|v| (*v, 2))
            .collect();
        windows.push((400_000, 20));
        let freak = run_with(&windows, 0);
        let c = compare(&base, &freak, &Tolerances::default(), false).unwrap();
        let p99 = metric(&c, "get", "p99");
        assert!(p99.change > 0.10 && !p99.regression, "{p99:?}");
    }

    #[test]
    fn failure_rate_regressions_need_significance_and_different_plans_are_refused() {
        let base = run(&[20_000; 8], 0);
        let worse = run(&[20_000; 8], 40); // 5% of 800
        assert!(
            metric(
                &compare(&base, &worse, &Tolerances::default(), false).unwrap(),
                "all",
                "error_rate"
            )
            .regression
        );
        let mut other = base.clone();
        other.scenario = "other".into();
        assert!(compare(&base, &other, &Tolerances::default(), false).is_err());
        assert!(compare(&base, &other, &Tolerances::default(), true).is_ok());
    }

    #[test]
    fn too_few_windows_are_not_judged() {
        // A once-per-user login or a 2-second run: a 50% slower p99 on two windows is not
        // evidence of a regression, and the output says why it was not judged.
        let base = run(&[20_000, 20_000], 0);
        let new = run(&[30_000, 30_000], 0);
        let c = compare(&base, &new, &Tolerances::default(), false).unwrap();
        assert!(c.steps[0].too_few_windows);
        let p99 = metric(&c, "get", "p99");
        assert!(p99.change > 0.4 && !p99.regression, "{p99:?}");
        assert!(c.regressions.is_empty());
        assert!(render(&c, false).contains("latency and throughput not judged"));
    }
}
