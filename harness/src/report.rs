//! Turns a run's merged numbers into the versioned report (`gauntlet_reports::Report`).

use gauntlet_reports::{
    ContractReport, Environment, LoadSummary, PlanSummary, Report, SCHEMA_VERSION, ScenarioSummary,
    StepReport, StepSummary, ViolationExample, ViolationReport, WindowReport, histogram,
};

use crate::engine::RunResult;
use crate::engine::recorder::Window;
use crate::engine::schedule;
use crate::gate::{self, Measured};
use crate::scenario::plan::{Limit, LoadModel, RunPlan, StepKind, StepPlan};
use crate::scenario::template::{Part, Template};
use crate::stats::StepStats;

fn step_report(
    name: &str,
    scenario: Option<&str>,
    s: &StepStats,
    seconds: f64,
    windows: Vec<WindowReport>,
) -> StepReport {
    StepReport {
        name: name.to_string(),
        scenario: scenario.map(str::to_string),
        requests: s.requests,
        failed: s.failed(),
        failures: s
            .failures
            .iter()
            .map(|(k, n)| (k.as_str().to_string(), *n))
            .collect(),
        checks_passed: s.checks_passed,
        checks_failed: s.checks_failed,
        bytes_received: s.bytes_received,
        rate_per_sec: if seconds > 0.0 {
            s.requests as f64 / seconds
        } else {
            0.0
        },
        latency_us: histogram::summarize(&s.latency),
        histogram: histogram::encode(&s.latency),
        windows,
    }
}

/// The windows of step `index` that saw requests.
fn step_windows(windows: &[Window], index: usize) -> Vec<WindowReport> {
    windows
        .iter()
        .filter_map(|w| {
            let s = &w.steps[index];
            (s.requests > 0).then(|| WindowReport {
                second: w.second,
                requests: s.requests,
                failed: s.failed,
                histogram: s.histogram.clone(),
                users: None,
            })
        })
        .collect()
}

/// The windows of all request steps (HTTP and gRPC) together (every second, including empty ones).
fn total_windows(windows: &[Window], http_steps: &[usize]) -> Vec<WindowReport> {
    windows
        .iter()
        .map(|w| {
            let mut h = crate::stats::new_histogram();
            let (mut requests, mut failed) = (0, 0);
            for &i in http_steps {
                let s = &w.steps[i];
                requests += s.requests;
                failed += s.failed;
                if !s.histogram.is_empty()
                    && let Ok(step) = histogram::decode(&s.histogram)
                {
                    let _ = h.add(&step);
                }
            }
            let histogram = if h.is_empty() {
                String::new()
            } else {
                histogram::encode(&h)
            };
            WindowReport {
                second: w.second,
                requests,
                failed,
                histogram,
                users: Some(w.users),
            }
        })
        .collect()
}

fn contract_report(
    contract: &crate::scenario::plan::ContractPlan,
    measured: &Measured<'_>,
) -> ContractReport {
    let mut violations = Vec::new();
    let mut checked = 0;
    for (_, step, _, stats) in &measured.steps {
        checked += stats.contract_checked;
        for ((operation, check, pointer, expected), tally) in &stats.violations {
            violations.push(ViolationReport {
                step: step.to_string(),
                operation: operation.clone(),
                check: check.to_string(),
                pointer: pointer.clone(),
                expected: expected.clone(),
                count: tally.count,
                examples: tally
                    .examples
                    .iter()
                    .map(|(request, actual)| ViolationExample {
                        request: request.clone(),
                        actual: actual.clone(),
                    })
                    .collect(),
            });
        }
    }
    violations.sort_by_key(|v| std::cmp::Reverse(v.count));
    ContractReport {
        spec: contract.spec.clone(),
        sample: contract.sample,
        checked,
        violations,
    }
}

fn plan_summary(plan: &RunPlan) -> PlanSummary {
    let step = |s: &StepPlan| {
        let (kind, target) = match &s.kind {
            StepKind::Http(h) => ("http", format!("{} {}", h.method, template_text(&h.url))),
            StepKind::Grpc(g) => ("grpc", g.method.name.clone()),
            StepKind::Sleep(d) => ("sleep", format!("{} ms", d.as_millis())),
            StepKind::AwaitEvent(a) => (
                "event",
                format!(
                    "{} {} within {} ms",
                    a.request.method,
                    template_text(&a.request.url),
                    a.within.as_millis()
                ),
            ),
        };
        StepSummary {
            name: s.name.clone(),
            kind: kind.into(),
            target,
            once: s.once,
        }
    };
    PlanSummary {
        timeout_ms: plan.timeout.as_millis() as u64,
        scenarios: plan
            .scenarios
            .iter()
            .map(|s| ScenarioSummary {
                name: s.name.clone(),
                weight: s.weight,
                steps: s.steps.iter().map(step).collect(),
            })
            .collect(),
    }
}

/// A template written back with its `${..}` references (values are not substituted).
fn template_text(t: &Template) -> String {
    t.parts()
        .iter()
        .map(|p| match p {
            Part::Literal(s) => s.clone(),
            _ => "${..}".to_string(),
        })
        .collect()
}

fn load_summary(plan: &RunPlan) -> LoadSummary {
    let shard = plan.load.shard;
    let mut summary = LoadSummary {
        model: String::new(),
        users: schedule::peak_users(&plan.load),
        rate: None,
        shard: (shard.count > 1).then(|| format!("{}/{}", shard.index + 1, shard.count)),
        duration_secs: schedule::planned_duration(&plan.load).map(|d| d.as_secs_f64()),
        iterations_per_user: None,
    };
    match &plan.load.model {
        LoadModel::Closed { limit, .. } => {
            summary.model = "closed".into();
            if let Limit::IterationsPerUser(n) = limit {
                summary.iterations_per_user = Some(*n);
            }
        }
        LoadModel::Staged { .. } => summary.model = "staged".into(),
        LoadModel::Paced { rate, .. } => {
            summary.model = "paced".into();
            summary.rate = Some(*rate);
        }
        LoadModel::PacedRamp {
            start_rate, stages, ..
        } => {
            summary.model = "paced".into();
            // The peak rate; the stages are in the scenario.
            summary.rate = Some(stages.iter().map(|s| s.rate).fold(*start_rate, f64::max));
        }
    }
    summary
}

/// Builds the report, evaluating the plan's thresholds.
pub fn build(plan: &RunPlan, result: &RunResult) -> Report {
    let seconds = result.elapsed.as_secs_f64();
    let measured = Measured::new(
        plan,
        &result.stats.steps,
        result.stats.iterations,
        result.stats.late_starts,
    );
    let mut total = StepStats::default();
    let mut steps = Vec::new();
    let mut request_steps = Vec::new();
    for (i, (scenario, name, class, stats)) in measured.steps.iter().enumerate() {
        if *class != gate::StepClass::Pause {
            total.add(stats);
            request_steps.push(i);
        }
        steps.push(step_report(
            name,
            Some(scenario),
            stats,
            seconds,
            step_windows(&result.windows, i),
        ));
    }
    let thresholds = gate::evaluate(&plan.thresholds, &measured);
    let verdict = gate::verdict(
        result.interrupted,
        result.aborted_by.is_some(),
        !result.panics.is_empty(),
        &thresholds,
        total.requests,
    );
    let started = time::OffsetDateTime::from(result.started_at);
    Report {
        schema_version: SCHEMA_VERSION,
        scenario: plan.name.clone(),
        description: plan.description.clone(),
        target: plan.base_url.clone(),
        started_at: started
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        duration_secs: seconds,
        load: load_summary(plan),
        plan: plan_summary(plan),
        iterations: result.stats.iterations,
        late_starts: result.stats.late_starts,
        aborted_by: result.aborted_by.clone(),
        panics: result.panics.clone(),
        contract: plan.contract.as_ref().map(|c| contract_report(c, &measured)),
        total: step_report(
            "all",
            None,
            &total,
            seconds,
            total_windows(&result.windows, &request_steps),
        ),
        steps,
        thresholds,
        verdict,
        environment: Environment {
            harness_version: env!("CARGO_PKG_VERSION").to_string(),
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            revision: None,
        },
    }
}
