//! The engine used as a library, against targets built for the purpose: coordinated omission
//! (a target that freezes), and the exactness of per-second windows.

use std::time::{Duration, Instant};

use gauntlet_harness::scenario::{self, Overrides};
use gauntlet_reports::{Report, histogram};

/// A target that answers at once, except that it freezes for `freeze` at the start of every
/// `period` (measured from its start): a request arriving during a freeze waits for its end.
async fn freezing_target(period: Duration, freeze: Duration) -> String {
    let t0 = Instant::now();
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || async move {
            let phase = Duration::from_nanos((t0.elapsed().as_nanos() % period.as_nanos()) as u64);
            if phase < freeze {
                tokio::time::sleep(freeze - phase).await;
            }
            "ok"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

async fn run(target: &str, load: &str) -> Report {
    let text = format!(
        "[target]\nbase_url = \"{target}\"\n[load]\n{load}\n[[scenario]]\nname = \"s\"\n\
         [[scenario.step]]\nname = \"get\"\nrequest = \"GET /\"\ncheck = {{ status = [200] }}\n"
    );
    let plan = scenario::from_str(&text, "test.toml", "test", &|_| None, &Overrides::default()).unwrap();
    let result = gauntlet_harness::engine::run(&plan, std::future::pending())
        .await
        .unwrap();
    gauntlet_harness::report::build(&plan, &result)
}

fn p99_ms(report: &Report) -> f64 {
    report.steps[0].latency_us.as_ref().unwrap().p99 as f64 / 1000.0
}

/// The target freezes 250 ms of every second. Paced at 200 iterations/s, 25% of the intended
/// sends fall in a freeze and wait for its end: latencies spread evenly over (0, 250 ms], so
/// P(latency > x) = (250 ms - x) / 1000 ms and the p99 is 250 - 10 = 240 ms. The closed model
/// sends nothing while its users wait, so only one request per user per freeze is slow and
/// its p99 hides the freezes: coordinated omission.
#[tokio::test(flavor = "multi_thread")]
async fn paced_p99_sees_the_freeze_that_the_closed_model_hides() {
    let period = Duration::from_secs(1);
    let freeze = Duration::from_millis(250);
    let target = freezing_target(period, freeze).await;
    let expected_ms = (freeze.as_secs_f64() - 0.01 * period.as_secs_f64()) * 1000.0;

    let paced = run(&target, "rate = 200\nusers = 20\nduration = \"4s\"").await;
    let closed = run(&target, "users = 4\nduration = \"4s\"").await;

    let (paced_p99, closed_p99) = (p99_ms(&paced), p99_ms(&closed));
    eprintln!(
        "expected p99 {expected_ms:.1} ms; paced p99 {paced_p99:.1} ms ({} requests, {} late starts); \
         closed p99 {closed_p99:.1} ms ({} requests)",
        paced.total.requests, paced.late_starts, closed.total.requests
    );
    assert!(
        (paced_p99 - expected_ms).abs() <= expected_ms * 0.10,
        "paced p99 {paced_p99:.1} ms is not within 10% of {expected_ms:.1} ms"
    );
    assert!(
        closed_p99 < paced_p99 / 2.0,
        "closed p99 {closed_p99:.1} ms vs paced {paced_p99:.1} ms"
    );
    // The users fell behind during each freeze, and that was counted; the rate was delivered.
    assert!(paced.late_starts > 0);
    assert_eq!(closed.late_starts, 0);
    let delivered = paced.total.requests as f64;
    assert!(
        (delivered - 800.0).abs() <= 8.0,
        "paced run sent {delivered} requests, planned 800"
    );
}

/// Passive contract checking: a target that answers `GET /v1/movies/{id}` with a body that
/// breaks catalog.yaml (a string year, no timestamps) is caught on every response, the
/// violation names operation, check and place with an example request, and the
/// `contract_violations` threshold fails the run.
#[tokio::test(flavor = "multi_thread")]
async fn passive_contract_checks_catch_a_broken_response() {
    let app = axum::Router::new().route(
        "/v1/movies/{id}",
        axum::routing::get(|| async {
            axum::Json(serde_json::json!({
                "id": "0b6f2c1e-3f4a-4d1b-9c2e-5a7d8e9f0a1b", "title": "Alien", "year": "1979", "genres": []
            }))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../contracts/openapi/catalog.yaml");
    let text = format!(
        "[target]\nbase_url = \"{target}\"\nopenapi = \"{}\"\n[load]\nusers = 2\niterations = 5\n\
         [[scenario]]\nname = \"s\"\n[[scenario.step]]\nname = \"get\"\n\
         request = \"GET /v1/movies/0b6f2c1e-3f4a-4d1b-9c2e-5a7d8e9f0a1b\"\n\
         [thresholds]\ncontract_violations = [\"count == 0\"]\n",
        spec.display()
    );
    let plan = scenario::from_str(&text, "c.toml", "c", &|_| None, &Overrides::default()).unwrap();
    let report = gauntlet_harness::run(&plan).await.unwrap();
    let contract = report.contract.as_ref().unwrap();
    assert_eq!(contract.checked, 10);
    let year = contract
        .violations
        .iter()
        .find(|v| v.pointer == "/year")
        .expect("the string year");
    assert_eq!(
        (year.operation.as_str(), year.check.as_str(), year.count),
        ("getMovie", "response_schema_conformance", 10)
    );
    assert_eq!(year.examples.len(), 3);
    assert!(
        year.examples[0].request.starts_with("GET http://127.0.0.1:"),
        "{:?}",
        year.examples[0]
    );
    assert_eq!(year.examples[0].actual, "\"1979\"");
    assert!(
        contract
            .violations
            .iter()
            .any(|v| v.expected.contains("created_at")),
        "{:?}",
        contract.violations
    );
    assert_eq!(report.verdict, gauntlet_reports::Verdict::Failed);
    assert!(!report.thresholds[0].passed);
}

/// A ramping arrival rate delivers the integral of the rate: 0 -> 400/s over 2 s is 400
/// iterations, most of them in the second second.
#[tokio::test(flavor = "multi_thread")]
async fn a_ramping_rate_delivers_its_integral() {
    let target = freezing_target(Duration::from_secs(3600), Duration::ZERO).await;
    let report = run(
        &target,
        "users = 20\nrate_stages = [{ rate = 400, over = \"2s\" }]",
    )
    .await;
    let total = report.total.requests;
    assert!((396..=400).contains(&total), "{total} requests");
    let windows = &report.steps[0].windows;
    let first = windows.iter().find(|w| w.second == 0).map_or(0, |w| w.requests);
    let second = windows.iter().find(|w| w.second == 1).map_or(0, |w| w.requests);
    assert!(first < 120 && second > 280, "per second: {first}, {second}");
}

/// A run's histogram is exactly the sum of its per-second windows, bucket for bucket, and the
/// windows' counts add up to the run's.
#[tokio::test(flavor = "multi_thread")]
async fn the_run_histogram_is_the_sum_of_its_windows() {
    let target = freezing_target(Duration::from_secs(3600), Duration::ZERO).await;
    let report = run(&target, "rate = 300\nusers = 10\nduration = \"2500ms\"").await;
    let step = &report.steps[0];
    assert!(step.windows.len() >= 3, "{} windows", step.windows.len());
    let mut sum = histogram::decode(&step.histogram).unwrap();
    sum.reset();
    let mut requests = 0;
    for w in &step.windows {
        requests += w.requests;
        sum.add(histogram::decode(&w.histogram).unwrap()).unwrap();
    }
    assert_eq!(requests, step.requests);
    assert_eq!(sum, histogram::decode(&step.histogram).unwrap());
    let total_windows: u64 = report.total.windows.iter().map(|w| w.requests).sum();
    assert_eq!(total_windows, report.total.requests);
}

/// A target that records the `v` query parameter of every request.
async fn recording_target() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use axum::extract::{Query, State};
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let app = axum::Router::new()
        .route(
            "/",
            axum::routing::get(
                |State(seen): State<std::sync::Arc<std::sync::Mutex<Vec<String>>>>,
                 Query(q): Query<std::collections::HashMap<String, String>>| async move {
                    seen.lock().unwrap().push(q.get("v").cloned().unwrap_or_default());
                    "ok"
                },
            ),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

async fn run_with_feeder(mode: &str, users: u32, iterations: u32) -> Vec<String> {
    let (target, seen) = recording_target().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("words.csv"),
        "word,other\nalpha,1\n\"be,ta\",2\ngamma,3\n",
    )
    .unwrap();
    let text = format!(
        "[target]\nbase_url = \"{target}\"\n[load]\nusers = {users}\niterations = {iterations}\n\
         [[data]]\nname = \"words\"\nfile = \"words.csv\"\nmode = \"{mode}\"\n\
         [[scenario]]\nname = \"s\"\n[[scenario.step]]\nrequest = \"GET /\"\nquery = {{ v = \"${{words.word}}\" }}\n"
    );
    let plan = scenario::from_str_in(
        &text,
        "t.toml",
        "t",
        Some(dir.path()),
        &|_| None,
        &Overrides::default(),
    )
    .unwrap();
    gauntlet_harness::run(&plan).await.unwrap();
    let mut values = seen.lock().unwrap().clone();
    values.sort();
    values
}

#[tokio::test(flavor = "multi_thread")]
async fn a_shared_feeder_hands_out_rows_round_robin() {
    // One user, six iterations: every row twice, in turn.
    let values = run_with_feeder("shared", 1, 6).await;
    assert_eq!(values, ["alpha", "alpha", "be,ta", "be,ta", "gamma", "gamma"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_per_user_feeder_keeps_each_user_on_its_row() {
    // Three users, two iterations each: user i always reads row i.
    let values = run_with_feeder("per_user", 3, 2).await;
    assert_eq!(values, ["alpha", "alpha", "be,ta", "be,ta", "gamma", "gamma"]);
}

/// A target that misbehaves by connection: the first closes at once, the second answers
/// garbage, the third never answers; then it starts over.
async fn faulty_target() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut n = 0u64;
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                break;
            };
            n += 1;
            let mode = n % 3;
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = socket.read(&mut buf).await;
                match mode {
                    1 => drop(socket),
                    2 => {
                        let _ = socket.write_all(b"this is not HTTP\r\n\r\n").await;
                    }
                    _ => tokio::time::sleep(Duration::from_secs(30)).await,
                }
            });
        }
    });
    url
}

/// Resets, garbage and hangs are data: counted by kind, and the run goes on to its end.
#[tokio::test(flavor = "multi_thread")]
async fn a_misbehaving_target_is_counted_by_kind_not_fatal() {
    let target = faulty_target().await;
    let text = format!(
        "[target]\nbase_url = \"{target}\"\ntimeout = \"300ms\"\n[load]\nusers = 3\nduration = \"1500ms\"\n\
         [[scenario]]\nname = \"s\"\n[[scenario.step]]\nname = \"get\"\nrequest = \"GET /\"\n"
    );
    let plan = scenario::from_str(&text, "f.toml", "f", &|_| None, &Overrides::default()).unwrap();
    let started = Instant::now();
    let report = gauntlet_harness::run(&plan).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the run did not end on time"
    );
    let failures = &report.total.failures;
    assert_eq!(report.total.failed, report.total.requests, "{failures:?}");
    assert!(failures.get("io").copied().unwrap_or(0) > 0, "{failures:?}");
    assert!(failures.get("timeout").copied().unwrap_or(0) > 0, "{failures:?}");
    // Timeouts are timed: their latency is the timeout, not nothing.
    let max = report.total.latency_us.as_ref().unwrap().max;
    assert!((300_000..400_000).contains(&max), "max latency {max} us");
}

/// `--shard i/n` splits users so that the shards together run exactly the whole plan.
#[tokio::test(flavor = "multi_thread")]
async fn shards_together_send_what_one_run_sends() {
    let target = freezing_target(Duration::from_secs(3600), Duration::ZERO).await;
    let text = format!(
        "[target]\nbase_url = \"{target}\"\n[load]\nusers = 5\niterations = 3\n\
         [[scenario]]\nname = \"s\"\n[[scenario.step]]\nname = \"get\"\nrequest = \"GET /\"\n"
    );
    let run = |shard: Option<gauntlet_harness::scenario::plan::Shard>| {
        let plan = scenario::from_str(
            &text,
            "s.toml",
            "s",
            &|_| None,
            &Overrides {
                shard,
                ..Default::default()
            },
        )
        .unwrap();
        async move { gauntlet_harness::run(&plan).await.unwrap() }
    };
    use gauntlet_harness::scenario::plan::Shard;
    let whole = run(None).await;
    let a = run(Some(Shard { index: 0, count: 2 })).await;
    let b = run(Some(Shard { index: 1, count: 2 })).await;
    assert_eq!(whole.total.requests, 15);
    assert_eq!(a.total.requests + b.total.requests, whole.total.requests);
    assert_eq!((a.total.requests, b.total.requests), (9, 6)); // users 0,2,4 and 1,3
    assert_eq!(a.load.shard.as_deref(), Some("1/2"));
    let mut merged = histogram::decode(&a.total.histogram).unwrap();
    merged
        .add(histogram::decode(&b.total.histogram).unwrap())
        .unwrap();
    assert_eq!(merged.len(), whole.total.requests);
}

/// An `abort_on_fail` threshold stops a run as soon as it fails: here every request gets a
/// 500, so a 30 s run ends after about a second, failed, naming the rule.
#[tokio::test(flavor = "multi_thread")]
async fn abort_on_fail_stops_the_run_early() {
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(|| async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let text = format!(
        "[target]\nbase_url = \"{target}\"\n[load]\nusers = 2\nduration = \"30s\"\n\
         [[scenario]]\nname = \"s\"\n[[scenario.step]]\nname = \"get\"\nrequest = \"GET /\"\n\
         [thresholds]\nhttp_req_failed = {{ conditions = [\"rate < 0.5\"], abort_on_fail = true }}\n"
    );
    let plan = scenario::from_str(&text, "a.toml", "a", &|_| None, &Overrides::default()).unwrap();
    let report = gauntlet_harness::run(&plan).await.unwrap();
    assert!(report.duration_secs < 5.0, "ran {} s", report.duration_secs);
    assert_eq!(report.verdict, gauntlet_reports::Verdict::Failed);
    assert_eq!(report.aborted_by.as_deref(), Some("http_req_failed rate < 0.5"));
    assert_eq!(
        report.total.failures.get("status_5xx").copied(),
        Some(report.total.requests)
    );
}

/// `gauntlet compare` on two real runs: the same target made 20 ms slower is a p50 and p99
/// regression (exit 1, significant per window); a run compared with itself is not (exit 0).
#[tokio::test(flavor = "multi_thread")]
async fn compare_flags_a_real_slowdown_and_not_a_rerun_of_itself() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let delay_ms = Arc::new(AtomicU64::new(0));
    let d = delay_ms.clone();
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let d = d.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(d.load(Ordering::Relaxed))).await;
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let load = "rate = 100\nusers = 10\nduration = \"5500ms\"";
    let base = run(&target, load).await;
    delay_ms.store(20, Ordering::Relaxed);
    let new = run(&target, load).await;

    let dir = tempfile::tempdir().unwrap();
    let (base_path, new_path) = (dir.path().join("base.json"), dir.path().join("new.json"));
    std::fs::write(&base_path, serde_json::to_string(&base).unwrap()).unwrap();
    std::fs::write(&new_path, serde_json::to_string(&new).unwrap()).unwrap();
    let compare = |a: &std::path::Path, b: &std::path::Path| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gauntlet"))
            .arg("compare")
            .args([a, b])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, table) = compare(&base_path, &new_path);
    assert_eq!(code, Some(1), "{table}");
    assert!(
        table.contains("REGRESSIONS:") && table.contains("get p99") && table.contains("get p50"),
        "{table}"
    );
    let (code, table) = compare(&base_path, &base_path);
    assert_eq!(code, Some(0), "{table}");
    assert!(table.contains("no regression"), "{table}");
}

/// Issue 20: a header whose rendered value cannot be sent (here a variable holding a line
/// break) was dropped from the request without a word; the request is now not sent and counts
/// as a `request` failure.
#[tokio::test(flavor = "multi_thread")]
async fn a_header_that_renders_unsendable_fails_the_request_as_request() {
    let (target, seen) = recording_target().await;
    let text = format!(
        "[target]\nbase_url = \"{target}\"\n[vars]\nbad = \"a\\nb\"\n[load]\nusers = 1\niterations = 2\n\
         [[scenario]]\nname = \"s\"\n[[scenario.step]]\nname = \"get\"\nrequest = \"GET /?v=1\"\n\
         headers = {{ x-a = \"${{bad}}\" }}\n"
    );
    let plan = scenario::from_str(&text, "test.toml", "test", &|_| None, &Overrides::default()).unwrap();
    let result = gauntlet_harness::engine::run(&plan, std::future::pending())
        .await
        .unwrap();
    let report = gauntlet_harness::report::build(&plan, &result);
    assert_eq!(
        report.steps[0].failures.get("request"),
        Some(&2),
        "{:?}",
        report.steps[0].failures
    );
    assert!(seen.lock().unwrap().is_empty(), "nothing was sent");
}
