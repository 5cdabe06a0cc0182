//! The verdict: thresholds evaluated on the final (merged) numbers of a run. A threshold names
//! a metric that exists (the scenario loader refuses others), so none passes silently; one
//! with no data to judge fails.

use gauntlet_reports::{ThresholdOutcome, Verdict};

use crate::scenario::plan::{MetricRef, RunPlan, StepKind, ThresholdPlan};
use crate::stats::StepStats;
use crate::threshold::{Aggregate, Condition};

/// What kind of requests a step makes, for choosing the metrics it feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepClass {
    /// HTTP requests: `http_req_*`.
    Http,
    /// gRPC calls: `grpc_req_*`.
    Grpc,
    /// Polls awaiting an asynchronous event: `event_latency`, `events_lost`.
    Event,
    /// No requests (sleep).
    Pause,
}

/// Per-step numbers with the names thresholds filter on.
pub struct Measured<'a> {
    /// (scenario, step name, kind, numbers), in plan order.
    pub steps: Vec<(&'a str, &'a str, StepClass, &'a StepStats)>,
    /// Iterations completed.
    pub iterations: u64,
    /// Paced starts that were late.
    pub late_starts: u64,
}

impl<'a> Measured<'a> {
    /// Pairs a plan's steps with their merged stats.
    pub fn new(plan: &'a RunPlan, stats: &'a [StepStats], iterations: u64, late_starts: u64) -> Measured<'a> {
        let steps = plan
            .scenarios
            .iter()
            .flat_map(|s| s.steps.iter().map(move |st| (s.name.as_str(), st)))
            .zip(stats)
            .map(|((scenario, step), stats)| {
                let class = match step.kind {
                    StepKind::Http(_) => StepClass::Http,
                    StepKind::Grpc(_) => StepClass::Grpc,
                    StepKind::Sleep(_) => StepClass::Pause,
                    StepKind::AwaitEvent(_) => StepClass::Event,
                };
                (scenario, step.name.as_str(), class, stats)
            })
            .collect();
        Measured {
            steps,
            iterations,
            late_starts,
        }
    }

    /// The merged numbers of the steps a metric reference selects: HTTP steps for `http_*`,
    /// gRPC steps for `grpc_*`, both for `checks`.
    fn select(&self, metric: &MetricRef) -> StepStats {
        let mut total = StepStats::default();
        for (scenario, step, class, stats) in &self.steps {
            let class_wanted = match metric.name.split('_').next() {
                Some("http") => *class == StepClass::Http,
                Some("grpc") => *class == StepClass::Grpc,
                Some("event" | "events") => *class == StepClass::Event,
                _ => *class != StepClass::Pause,
            };
            let wanted = class_wanted
                && metric.step.as_deref().is_none_or(|s| s == *step)
                && metric.scenario.as_deref().is_none_or(|s| s == *scenario);
            if wanted {
                total.add(stats);
            }
        }
        total
    }
}

/// The observed value of `aggregate` over `metric`, or `None` when there is no data.
fn observe(measured: &Measured<'_>, metric: &MetricRef, aggregate: Aggregate) -> Option<f64> {
    match metric.name.as_str() {
        "iterations" => return Some(measured.iterations as f64),
        "late_starts" => return Some(measured.late_starts as f64),
        _ => {}
    }
    let s = measured.select(metric);
    let ratio = |num: u64, den: u64| (den > 0).then(|| num as f64 / den as f64);
    match (metric.name.as_str(), aggregate) {
        ("http_reqs" | "grpc_reqs", _) => Some(s.requests as f64),
        ("http_req_failed" | "grpc_req_failed", Aggregate::Count) => Some(s.failed() as f64),
        ("http_req_failed" | "grpc_req_failed", _) => ratio(s.failed(), s.requests),
        ("contract_violations", _) => Some(s.violation_count() as f64),
        ("checks", Aggregate::Count) => Some(s.checks_passed as f64),
        ("checks", _) => ratio(s.checks_passed, s.checks_passed.saturating_add(s.checks_failed)),
        // Events not seen within the deadline (failed checks on ones that came are `checks`).
        ("events_lost", _) => Some(
            s.failures
                .get(&gauntlet_client::FailureKind::Timeout)
                .copied()
                .unwrap_or(0) as f64,
        ),
        ("http_req_duration" | "grpc_req_duration" | "event_latency", aggregate) => {
            let h = &s.latency;
            if h.is_empty() {
                return if aggregate == Aggregate::Count {
                    Some(0.0)
                } else {
                    None
                };
            }
            Some(match aggregate {
                Aggregate::Percentile(p) => h.value_at_quantile(p / 100.0) as f64,
                Aggregate::Avg => h.mean(),
                Aggregate::Min => h.min() as f64,
                Aggregate::Max => h.max() as f64,
                Aggregate::Count => h.len() as f64,
                Aggregate::Rate => return None,
            })
        }
        _ => None,
    }
}

/// Evaluates every condition of every threshold.
pub fn evaluate(thresholds: &[ThresholdPlan], measured: &Measured<'_>) -> Vec<ThresholdOutcome> {
    let mut outcomes = Vec::new();
    for t in thresholds {
        for (text, condition) in &t.conditions {
            let observed = observe(measured, &t.metric, condition.aggregate);
            outcomes.push(ThresholdOutcome {
                metric: t.metric.to_string(),
                condition: text.clone(),
                observed,
                passed: observed.is_some_and(|v| Condition::holds(condition, v)),
            });
        }
    }
    outcomes
}

/// Evaluates a report's thresholds again on its own numbers — after merging shards — and
/// sets its verdict. The conditions are read back from the report as written.
pub fn reevaluate(report: &mut gauntlet_reports::Report) -> Result<(), String> {
    use gauntlet_reports::histogram;
    let mut stats = Vec::new();
    for step in &report.steps {
        let mut s = StepStats {
            requests: step.requests,
            ..StepStats::default()
        };
        if !step.histogram.is_empty() {
            s.latency = histogram::decode(&step.histogram)?;
        }
        // Failure kinds only matter as a count for thresholds: keep the total.
        if step.failed > 0 {
            s.failures
                .insert(gauntlet_client::FailureKind::Check, step.failed);
        }
        s.checks_passed = step.checks_passed;
        s.checks_failed = step.checks_failed;
        // Only the count of contract violations matters to thresholds.
        for (i, v) in report
            .contract
            .iter()
            .flat_map(|c| &c.violations)
            .filter(|v| v.step == step.name)
            .enumerate()
        {
            let tally = crate::stats::ViolationTally {
                count: v.count,
                examples: Vec::new(),
            };
            s.violations.insert(
                (v.operation.clone(), "", format!("{i}"), v.expected.clone()),
                tally,
            );
        }
        stats.push(s);
    }
    let classes: Vec<(String, String, StepClass)> = report
        .plan
        .scenarios
        .iter()
        .flat_map(|sc| {
            sc.steps.iter().map(move |st| {
                let class = match st.kind.as_str() {
                    "http" => StepClass::Http,
                    "grpc" => StepClass::Grpc,
                    "event" => StepClass::Event,
                    _ => StepClass::Pause,
                };
                (sc.name.clone(), st.name.clone(), class)
            })
        })
        .collect();
    if classes.len() != stats.len() {
        return Err("the report's plan and steps do not match".into());
    }
    let measured = Measured {
        steps: classes
            .iter()
            .zip(&stats)
            .map(|((sc, st, class), s)| (sc.as_str(), st.as_str(), *class, s))
            .collect(),
        iterations: report.iterations,
        late_starts: report.late_starts,
    };
    let mut plans = Vec::new();
    for t in &report.thresholds {
        let metric = MetricRef::parse(&t.metric)?;
        let condition = Condition::parse(&t.condition).map_err(|e| e.0)?;
        plans.push(ThresholdPlan {
            metric,
            conditions: vec![(t.condition.clone(), condition)],
            abort_on_fail: false,
        });
    }
    report.thresholds = evaluate(&plans, &measured);
    report.verdict = verdict(
        report.verdict == Verdict::Interrupted,
        report.aborted_by.is_some(),
        !report.panics.is_empty(),
        &report.thresholds,
        report.total.requests,
    );
    Ok(())
}

/// A run's verdict, in one place for a run and a merge: interrupted wins; a virtual user that
/// panicked fails the run (its share of the load is missing from the numbers); a run that
/// measured no request at all has nothing to judge (its thresholds would hold vacuously), so
/// it is `NoData`, never a pass; otherwise every threshold must hold and nothing aborted it.
pub fn verdict(
    interrupted: bool,
    aborted: bool,
    panicked: bool,
    thresholds: &[ThresholdOutcome],
    requests: u64,
) -> Verdict {
    if interrupted {
        Verdict::Interrupted
    } else if panicked {
        Verdict::Failed
    } else if requests == 0 {
        Verdict::NoData
    } else if !aborted && thresholds.iter().all(|t| t.passed) {
        Verdict::Passed
    } else {
        Verdict::Failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A panicked user fails a run whose thresholds all held, and one that measured nothing;
    /// only an interrupt outranks it.
    #[test]
    fn a_panicked_user_fails_the_run() {
        let held = [ThresholdOutcome {
            metric: "http_req_failed".into(),
            condition: "rate < 0.1".into(),
            observed: Some(0.0),
            passed: true,
        }];
        assert_eq!(verdict(false, false, false, &held, 10), Verdict::Passed);
        assert_eq!(verdict(false, false, true, &held, 10), Verdict::Failed);
        assert_eq!(verdict(false, false, true, &held, 0), Verdict::Failed);
        assert_eq!(verdict(false, false, false, &held, 0), Verdict::NoData);
        assert_eq!(verdict(true, false, true, &held, 10), Verdict::Interrupted);
    }

    fn step(name: &str, requests: u64, checks_passed: u64, checks_failed: u64) -> serde_json::Value {
        serde_json::json!({
            "name": name, "requests": requests, "failed": 0, "failures": {},
            "checks_passed": checks_passed, "checks_failed": checks_failed, "bytes_received": 0,
            "rate_per_sec": 0.0, "histogram": "", "windows": [],
        })
    }

    /// Issue 20, found by fuzzing `merge`: re-judging a merged report added its counts with
    /// `+`, so `checks` over passed + failed checks beyond u64::MAX (or `http_reqs` over two
    /// such steps) panicked with an overflow in a debug build and wrapped in a release one.
    #[test]
    fn reevaluating_counts_beyond_u64_saturates_instead_of_overflowing() {
        let max = u64::MAX;
        let text = serde_json::json!({
            "schema_version": 1, "scenario": "s", "target": "http://t", "started_at": "",
            "duration_secs": 1.0, "load": {"model": "closed", "users": 1},
            "plan": {"timeout_ms": 1000, "scenarios": [{"name": "main", "weight": 1, "steps": [
                {"name": "a", "kind": "http", "target": "GET /a"},
                {"name": "b", "kind": "http", "target": "GET /b"},
            ]}]},
            "iterations": 1, "late_starts": 0,
            "total": step("all", max, max, 1),
            "steps": [step("a", max, max, 1), step("b", max, 0, max)],
            "thresholds": [
                {"metric": "checks", "condition": "rate > 0.4", "passed": false},
                {"metric": "http_reqs", "condition": "count > 0", "passed": false},
            ],
            "verdict": "failed",
            "environment": {"harness_version": "0", "os": "linux", "cpus": 1},
        })
        .to_string();
        let mut report = gauntlet_reports::Report::from_json(&text).unwrap();
        reevaluate(&mut report).unwrap();
        assert!(
            report.thresholds.iter().all(|t| t.passed),
            "{:?}",
            report.thresholds
        );
        assert_eq!(report.thresholds[1].observed, Some(max as f64));
        assert_eq!(report.verdict, Verdict::Passed);
    }
}
