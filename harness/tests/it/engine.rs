//! The engine used as a library, against targets built for the purpose: coordinated omission
//! (a target that freezes), and the exactness of per-second windows.

use std::time::{Duration, Instant};

use gauntlet::scenario::{self, Overrides};
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
    let result = gauntlet::engine::run(&plan, std::future::pending())
        .await
        .unwrap();
    gauntlet::report::build(&plan, &result)
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
    gauntlet::run(&plan).await.unwrap();
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
