//! `await_event` steps: a write whose effect shows up later somewhere else (an event processed
//! by another service) is polled for; its latency goes to `event_latency` and events that never
//! show up to `events_lost`, both usable in thresholds.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use gauntlet_harness::scenario::{self, Overrides};
use gauntlet_reports::{Report, Verdict};

/// Events become visible `delay` after their write; every fifth never does (lost).
#[derive(Clone)]
struct Events {
    next: Arc<AtomicU64>,
    written: Arc<Mutex<HashMap<u64, Instant>>>,
    delay: Duration,
}

/// `POST /v1/movies` answers 201 with an `event-id` header; `GET /v1/events/{id}` is 404
/// until the event is "processed", then 200 with the latency the processor measured.
async fn event_target(delay: Duration) -> String {
    let events = Events {
        next: Arc::new(AtomicU64::new(1)),
        written: Arc::new(Mutex::new(HashMap::new())),
        delay,
    };
    let app = axum::Router::new()
        .route(
            "/v1/movies",
            axum::routing::post(|State(e): State<Events>| async move {
                let id = e.next.fetch_add(1, Ordering::Relaxed);
                e.written.lock().unwrap().insert(id, Instant::now());
                (StatusCode::CREATED, [("event-id", id.to_string())], "{}")
            }),
        )
        .route(
            "/v1/events/{id}",
            axum::routing::get(|State(e): State<Events>, Path(id): Path<u64>| async move {
                let written = e.written.lock().unwrap().get(&id).copied();
                match written {
                    Some(at) if id % 5 != 0 && at.elapsed() >= e.delay => (
                        StatusCode::OK,
                        axum::Json(serde_json::json!({ "event_id": id, "latency_ms": 12.5 })),
                    )
                        .into_response(),
                    _ => StatusCode::NOT_FOUND.into_response(),
                }
            }),
        )
        .with_state(events);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

async fn run(target: &str, latency: &str) -> Report {
    let text = format!(
        r#"[target]
base_url = "{target}"
[load]
users = 2
iterations = 5
[[scenario]]
name = "s"
[[scenario.step]]
name = "create"
request = "POST /v1/movies"
extract = {{ event = "header:event-id" }}
[[scenario.step]]
name = "processed"
await_event = "GET /v1/events/${{event}}"
within = "600ms"
every = "20ms"
{latency}
[thresholds]
events_lost = ["count == 0"]
"event_latency{{step:processed}}" = ["p(99) < 50ms"]
"#
    );
    let plan = scenario::from_str(&text, "events.toml", "events", &|_| None, &Overrides::default()).unwrap();
    let result = gauntlet_harness::engine::run(&plan, std::future::pending())
        .await
        .unwrap();
    gauntlet_harness::report::build(&plan, &result)
}

fn threshold<'a>(report: &'a Report, metric: &str) -> &'a gauntlet_reports::ThresholdOutcome {
    report
        .thresholds
        .iter()
        .find(|t| t.metric == metric)
        .unwrap_or_else(|| panic!("no threshold on {metric}"))
}

/// Ten writes; events 5 and 10 never show up. The eight that do report 12.5 ms: that is the
/// latency recorded, and the two lost ones fail `events_lost = count == 0`.
#[tokio::test(flavor = "multi_thread")]
async fn event_latency_comes_from_the_answer_and_lost_events_fail_the_gate() {
    let target = event_target(Duration::from_millis(100)).await;
    let started = Instant::now();
    let report = run(&target, r#"latency = "json:/latency_ms""#).await;
    let step = report.steps.iter().find(|s| s.name == "processed").unwrap();
    assert_eq!(step.requests, 10, "one per awaited event");
    assert_eq!(step.failed, 2, "{:?}", step.failures);
    let latency = step.latency_us.as_ref().unwrap();
    assert!((12_400..=12_600).contains(&latency.p50), "{latency:?}");
    assert!((12_400..=12_600).contains(&latency.p99), "{latency:?}");
    let lost = threshold(&report, "events_lost");
    assert_eq!((lost.observed, lost.passed), (Some(2.0), false));
    let fast = threshold(&report, "event_latency{step:processed}");
    assert!(fast.passed, "{fast:?}");
    assert_eq!(report.verdict, Verdict::Failed);
    // Two users each waited out one lost event's 600 ms deadline, no longer.
    assert!(started.elapsed() < Duration::from_secs(5));
    // The plan says what the step is.
    let kinds: Vec<&str> = report.plan.scenarios[0]
        .steps
        .iter()
        .map(|s| s.kind.as_str())
        .collect();
    assert_eq!(kinds, ["http", "event"]);
}

/// Without `latency`, an event's latency is the time from the step's start to the answer
/// that showed it: here at least the 100 ms the target holds it back.
#[tokio::test(flavor = "multi_thread")]
async fn without_a_reported_latency_the_wait_is_measured() {
    let target = event_target(Duration::from_millis(100)).await;
    let report = run(&target, "").await;
    let step = report.steps.iter().find(|s| s.name == "processed").unwrap();
    let latency = step.latency_us.as_ref().unwrap();
    assert!(latency.min >= 80_000, "{latency:?}");
    assert!(latency.max < 400_000, "{latency:?}");
    let fast = threshold(&report, "event_latency{step:processed}");
    assert!(
        !fast.passed,
        "waits of 100 ms or more fail p(99) < 50ms: {fast:?}"
    );
}

/// Mistakes in an `await_event` step are located like any other.
#[test]
fn await_event_mistakes_are_located() {
    let text = r#"[target]
base_url = "http://127.0.0.1:1"
[load]
users = 1
iterations = 1
[[scenario]]
name = "s"
[[scenario.step]]
await_event = "GET /v1/events/1"
every = "0s"
latency = "header:x"
[[scenario.step]]
request = "GET /"
within = "1s"
[thresholds]
events_lostt = ["count == 0"]
"#;
    let err = scenario::from_str(text, "e.toml", "e", &|_| None, &Overrides::default())
        .unwrap_err()
        .to_string();
    for expected in [
        "e.toml:10:9: every: give a pause above zero",
        "e.toml:11:11: latency: expected \"json:/pointer\"",
        "e.toml:14:10: `within` belongs to `await_event` steps",
        "events_lostt",
    ] {
        assert!(err.contains(expected), "{expected:?} in:\n{err}");
    }
}
