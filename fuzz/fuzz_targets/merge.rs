//! `gauntlet merge` on shard reports built from structured input: every report goes through
//! `Report::from_json` as the CLI reads it; shard names, counts (up to overflow), histograms of
//! different precisions and ranges, windows that share a second, contract violations, step
//! lists that do not line up and threshold conditions are varied. A merge is an error or a
//! report whose counts are the sums, whose thresholds re-evaluate (as the CLI does next),
//! that renders, and that reads back once written.

#![no_main]

use arbitrary::Arbitrary;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gauntlet_reports::merge::merge;
use gauntlet_reports::{Report, console, histogram};
use hdrhistogram::Histogram;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

#[derive(Arbitrary, Debug)]
struct Input {
    /// Steps in the plan (0 to 3), the same in every shard.
    plan_steps: u8,
    thresholds: Vec<Threshold>,
    shards: Vec<Shard>,
}

#[derive(Arbitrary, Debug)]
enum ShardName {
    Of(u8, u8),
    Unsharded,
    Text(String),
}

#[derive(Arbitrary, Debug)]
enum Hist {
    Empty,
    Values {
        highest: u64,
        sigfig: u8,
        values: Vec<(u64, u16)>,
    },
    Raw(Vec<u8>),
    Text(String),
}

#[derive(Arbitrary, Debug)]
struct Window {
    second: u8,
    requests: u64,
    failed: u64,
    users: Option<u64>,
    histogram: Hist,
}

#[derive(Arbitrary, Debug)]
struct Step {
    requests: u64,
    failed: u64,
    failures: Vec<(u8, u64)>,
    checks_passed: u64,
    checks_failed: u64,
    bytes_received: u64,
    histogram: Hist,
    windows: Vec<Window>,
}

#[derive(Arbitrary, Debug)]
struct Violation {
    step: u8,
    check: u8,
    count: u64,
    examples: u8,
}

#[derive(Arbitrary, Debug)]
struct Shard {
    shard: ShardName,
    paced: bool,
    iterations: u64,
    late_starts: u64,
    duration_ms: u32,
    started_at: u8,
    verdict: u8,
    aborted: bool,
    total: Step,
    steps: [Step; 3],
    extra_step: bool,
    contract: Option<Vec<Violation>>,
}

#[derive(Arbitrary, Debug)]
enum Threshold {
    Known(u8, u8),
    Written(String, String),
}

const STEP_NAMES: [&str; 4] = ["login", "list", "get", "extra"];
const KINDS: [&str; 5] = ["connect", "timeout", "io", "status_5xx", "check"];
const METRICS: [&str; 6] = [
    "http_req_duration",
    "http_req_duration{step:login}",
    "http_req_failed",
    "http_reqs",
    "checks",
    "contract_violations",
];
const CONDITIONS: [&str; 7] = [
    "p(99) < 250ms",
    "p(99.9) <= 1s",
    "avg < 100ms",
    "rate < 0.01",
    "count > 0",
    "max < 2s",
    "rate > 0.99",
];

const STARTS: [&str; 3] = ["2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z", ""];
const CHECKS: [&str; 2] = ["response_schema_conformance", "status_code_conformance"];
const VERDICTS: [&str; 4] = ["passed", "failed", "interrupted", "no_data"];

fn histogram_text(h: &Hist) -> String {
    match h {
        Hist::Empty => String::new(),
        Hist::Values {
            highest,
            sigfig,
            values,
        } => {
            // Up to 3 significant digits: 5 is valid but each such histogram is megabytes.
            let Ok(mut hist) = Histogram::<u64>::new_with_bounds(1, (*highest).max(2), sigfig % 4) else {
                return String::new();
            };
            for (value, count) in values.iter().take(64) {
                let _ = hist.record_n(*value, u64::from(*count));
            }
            histogram::encode(&hist)
        }
        Hist::Raw(bytes) => STANDARD.encode(bytes),
        Hist::Text(text) => text.clone(),
    }
}

fn step(name: &str, s: &Step) -> Value {
    let failures: serde_json::Map<String, Value> = s
        .failures
        .iter()
        .take(4)
        .map(|(k, n)| (KINDS[usize::from(*k) % KINDS.len()].to_string(), json!(n)))
        .collect();
    let windows: Vec<Value> = s
        .windows
        .iter()
        .take(8)
        .map(|w| {
            let mut window = json!({
                "second": w.second % 8,
                "requests": w.requests,
                "failed": w.failed,
                "histogram": histogram_text(&w.histogram),
            });
            if let Some(users) = w.users {
                window["users"] = json!(users);
            }
            window
        })
        .collect();
    json!({
        "name": name,
        "requests": s.requests,
        "failed": s.failed,
        "failures": failures,
        "checks_passed": s.checks_passed,
        "checks_failed": s.checks_failed,
        "bytes_received": s.bytes_received,
        "rate_per_sec": 0.0,
        "histogram": histogram_text(&s.histogram),
        "windows": windows,
    })
}

fn report(input: &Input, s: &Shard) -> Value {
    let plan_steps = usize::from(input.plan_steps % 4);
    let plan: Vec<Value> = STEP_NAMES[..plan_steps]
        .iter()
        .map(|name| json!({"name": name, "kind": "http", "target": format!("GET /{name}")}))
        .collect();
    let shown = plan_steps + usize::from(s.extra_step);
    let steps: Vec<Value> = s
        .steps
        .iter()
        .chain(std::iter::once(&s.total))
        .zip(STEP_NAMES)
        .take(shown)
        .map(|(st, name)| step(name, st))
        .collect();
    let thresholds: Vec<Value> = input
        .thresholds
        .iter()
        .take(6)
        .map(|t| {
            let (metric, condition) = match t {
                Threshold::Known(m, c) => (
                    METRICS[usize::from(*m) % METRICS.len()].to_string(),
                    CONDITIONS[usize::from(*c) % CONDITIONS.len()].to_string(),
                ),
                Threshold::Written(m, c) => (m.clone(), c.clone()),
            };
            json!({"metric": metric, "condition": condition, "passed": true})
        })
        .collect();
    let mut load = json!({"model": if s.paced { "paced" } else { "closed" }, "users": 4});
    match &s.shard {
        ShardName::Of(i, n) => load["shard"] = json!(format!("{i}/{n}")),
        ShardName::Text(text) => load["shard"] = json!(text),
        ShardName::Unsharded => {}
    }
    let mut report = json!({
        "schema_version": gauntlet_reports::SCHEMA_VERSION,
        "scenario": "fuzz",
        "target": "http://127.0.0.1:8080",
        "started_at": STARTS[usize::from(s.started_at) % STARTS.len()],
        "duration_secs": f64::from(s.duration_ms) / 1000.0,
        "load": load,
        "plan": {"timeout_ms": 1000, "scenarios": [{"name": "main", "weight": 1, "steps": plan}]},
        "iterations": s.iterations,
        "late_starts": s.late_starts,
        "total": step("all", &s.total),
        "steps": steps,
        "thresholds": thresholds,
        "verdict": VERDICTS[usize::from(s.verdict) % VERDICTS.len()],
        "environment": {"harness_version": "0.1.0", "os": "linux-x86_64", "cpus": 2},
    });
    if s.aborted {
        report["aborted_by"] = json!("http_req_failed rate < 0.01");
    }
    if let Some(violations) = &s.contract {
        let violations: Vec<Value> = violations
            .iter()
            .take(4)
            .map(|v| {
                json!({
                    "step": STEP_NAMES[usize::from(v.step) % STEP_NAMES.len()],
                    "operation": "listMovies",
                    "check": CHECKS[usize::from(v.check) % CHECKS.len()],
                    "pointer": "/items/0",
                    "expected": "integer",
                    "count": v.count,
                    "examples": (0..v.examples % 5)
                        .map(|i| json!({"request": format!("GET /{i}"), "actual": "\"x\""}))
                        .collect::<Vec<_>>(),
                })
            })
            .collect();
        report["contract"] =
            json!({"spec": "catalog.yaml", "sample": 1.0, "checked": 10, "violations": violations});
    }
    report
}

fuzz_target!(|input: Input| {
    let reports: Vec<Report> = input
        .shards
        .iter()
        .take(4)
        .filter_map(|s| Report::from_json(&report(&input, s).to_string()).ok())
        .collect();
    let Ok(mut merged) = merge(&reports) else {
        return;
    };
    let sum = |f: fn(&Report) -> u64| reports.iter().map(|r| u128::from(f(r))).sum::<u128>();
    assert_eq!(u128::from(merged.total.requests), sum(|r| r.total.requests));
    assert_eq!(u128::from(merged.iterations), sum(|r| r.iterations));
    assert_eq!(merged.load.shard, None);
    let _ = gauntlet_harness::gate::reevaluate(&mut merged);
    let _ = console::render(&merged);
    let written = serde_json::to_string(&merged).expect("a merged report serialises");
    Report::from_json(&written).expect("a merged report reads back");
});
