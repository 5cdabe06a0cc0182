//! Turns a run's merged numbers into the versioned report (`gauntlet_reports::Report`).

use gauntlet_reports::{Environment, LoadSummary, Report, SCHEMA_VERSION, StepReport, Verdict, histogram};

use crate::engine::RunResult;
use crate::engine::stats::StepStats;
use crate::gate::{self, Measured};
use crate::scenario::plan::{Limit, RunPlan};

fn step_report(name: &str, scenario: Option<&str>, s: &StepStats, seconds: f64) -> StepReport {
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
    }
}

/// Builds the report, evaluating the plan's thresholds.
pub fn build(plan: &RunPlan, result: &RunResult) -> Report {
    let seconds = result.elapsed.as_secs_f64();
    let measured = Measured::new(plan, &result.stats.steps, result.stats.iterations);
    let mut total = StepStats::default();
    let mut steps = Vec::new();
    for (scenario, name, is_http, stats) in &measured.steps {
        if *is_http {
            total.add(stats);
        }
        steps.push(step_report(name, Some(scenario), stats, seconds));
    }
    let thresholds = gate::evaluate(&plan.thresholds, &measured);
    let verdict = if result.interrupted {
        Verdict::Interrupted
    } else if thresholds.iter().all(|t| t.passed) {
        Verdict::Passed
    } else {
        Verdict::Failed
    };
    let started = time::OffsetDateTime::from(result.started_at);
    let (duration_secs, iterations_per_user) = match plan.load.limit {
        Limit::Duration(d) => (Some(d.as_secs_f64()), None),
        Limit::IterationsPerUser(n) => (None, Some(n)),
    };
    Report {
        schema_version: SCHEMA_VERSION,
        scenario: plan.name.clone(),
        description: plan.description.clone(),
        target: plan.base_url.clone(),
        started_at: started
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        duration_secs: seconds,
        load: LoadSummary {
            model: "closed".into(),
            users: plan.load.users,
            duration_secs,
            iterations_per_user,
        },
        iterations: result.stats.iterations,
        total: step_report("all", None, &total, seconds),
        steps,
        thresholds,
        verdict,
        environment: Environment {
            harness_version: env!("CARGO_PKG_VERSION").to_string(),
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        },
    }
}
