//! Report builders for the crate's unit tests: runs with chosen per-second latencies and
//! failures, so compare and merge are tested on reports whose true numbers are known.

use hdrhistogram::Histogram;

use crate::{Environment, LoadSummary, PlanSummary, Report, StepReport, Verdict, WindowReport, histogram};

pub(crate) fn hist(values: impl IntoIterator<Item = u64>) -> Histogram<u64> {
    let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
    for v in values {
        h.record(v).unwrap();
    }
    h
}

/// A run of `windows.len()` seconds; window `i` has 100 requests at 1 ms and one in a
/// hundred at `windows[i]` microseconds, so its p99 is about that value... and `failed`
/// failures in all.
pub(crate) fn run(windows: &[u64], failed: u64) -> Report {
    let slow: Vec<(u64, u64)> = windows.iter().map(|v| (*v, 2)).collect();
    run_with(&slow, failed)
}

/// Like `run`, with (slow value, how many of the window's 100 requests are slow).
pub(crate) fn run_with(windows: &[(u64, u64)], failed: u64) -> Report {
    let mut total = hist([]);
    let mut ws = Vec::new();
    for (i, (slow, count)) in windows.iter().enumerate() {
        let h = hist((0..100 - count).map(|_| 1_000).chain((0..*count).map(|_| *slow)));
        total.add(&h).unwrap();
        ws.push(WindowReport {
            second: i as u64,
            requests: 100,
            failed: 0,
            histogram: histogram::encode(&h),
            users: None,
        });
    }
    let step = StepReport {
        name: "get".into(),
        scenario: Some("s".into()),
        requests: total.len(),
        failed,
        failures: Default::default(),
        checks_passed: 0,
        checks_failed: 0,
        bytes_received: 0,
        rate_per_sec: total.len() as f64 / windows.len() as f64,
        latency_us: histogram::summarize(&total),
        histogram: histogram::encode(&total),
        windows: ws,
    };
    let mut all = step.clone();
    all.name = "all".into();
    Report {
        schema_version: crate::SCHEMA_VERSION,
        scenario: "s".into(),
        description: None,
        target: "http://x".into(),
        started_at: "2026-01-01T00:00:00Z".into(),
        duration_secs: windows.len() as f64,
        load: LoadSummary {
            model: "closed".into(),
            users: 1,
            rate: None,
            shard: None,
            duration_secs: None,
            iterations_per_user: None,
        },
        plan: PlanSummary {
            timeout_ms: 1000,
            scenarios: vec![],
        },
        iterations: 0,
        late_starts: 0,
        aborted_by: None,
        panics: vec![],
        contract: None,
        total: all,
        steps: vec![step],
        thresholds: vec![],
        verdict: Verdict::Passed,
        environment: Environment {
            harness_version: "t".into(),
            os: "t".into(),
            cpus: 1,
            revision: None,
        },
    }
}
