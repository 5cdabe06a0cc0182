//! The load engine against a target that misbehaves on purpose (issue 20): every mode of
//! [`target::Mode`] is run for a bounded time, and the run must end on time, count each failure
//! under the kind the mode calls for and no other, and count nothing against a target that was
//! correct. Peak memory is measured on the real `gauntlet` binary, a process of its own.

mod target;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use gauntlet_harness::scenario::{self, Overrides};
use gauntlet_reports::Report;

use self::target::Mode;
use crate::support;

/// How long a run against a failing mode lasts.
const DURATION: Duration = Duration::from_secs(1);
/// The request timeout of those runs.
const TIMEOUT: Duration = Duration::from_millis(300);

/// A scenario of one `GET /` against `url`, paused `think_time` after each request.
fn scenario_text(url: &str, timeout: Duration, load: &str, think_time: &str) -> String {
    format!(
        "[target]\nbase_url = \"{url}\"\ntimeout = \"{}ms\"\n[load]\n{load}\n\
         [[scenario]]\nname = \"s\"\n[[scenario.step]]\nname = \"get\"\nrequest = \"GET /\"\n\
         think_time = \"{think_time}\"\n",
        timeout.as_millis()
    )
}

/// Runs the engine (as a library) on a scenario; the report and the run's wall time.
async fn run(text: &str) -> (Report, Duration) {
    let plan = scenario::from_str(
        text,
        "misbehaving.toml",
        "misbehaving",
        &|_| None,
        &Overrides::default(),
    )
    .unwrap();
    let started = Instant::now();
    let report = gauntlet_harness::run(&plan).await.unwrap();
    (report, started.elapsed())
}

/// Runs two users for [`DURATION`] against a target in `mode` (10 ms between requests, so a
/// target that fails fast does not open tens of thousands of connections), and checks that
/// the run ended within its duration and timeout plus 1 s, and that every request failed as
/// the mode says.
async fn assert_every_request_fails_as_expected(mode: Mode) {
    let kind = mode.expected_failure().expect("a failing mode");
    let target = target::start(mode).await;
    let load = format!("users = 2\nduration = \"{}ms\"", DURATION.as_millis());
    let (report, took) = run(&scenario_text(&target.url, TIMEOUT, &load, "10ms")).await;
    let bound = DURATION + TIMEOUT + Duration::from_secs(1);
    assert!(
        took <= bound,
        "{mode:?}: the run took {took:?}, over duration + timeout + 1 s = {bound:?}"
    );
    let total = &report.total;
    assert!(total.requests > 0, "{mode:?}: no request was sent");
    assert_eq!(
        total.failures,
        BTreeMap::from([(kind.to_string(), total.requests)]),
        "{mode:?}: each of the {} requests should have failed as {kind}",
        total.requests
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_mid_body_is_io() {
    assert_every_request_fails_as_expected(Mode::ResetMidBody).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hang_is_timeout() {
    assert_every_request_fails_as_expected(Mode::Hang).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn slowloris_head_is_timeout() {
    assert_every_request_fails_as_expected(Mode::Slowloris).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn endless_chunked_body_is_body_too_large() {
    assert_every_request_fails_as_expected(Mode::EndlessChunked).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_100_mb_body_is_body_too_large() {
    assert_every_request_fails_as_expected(Mode::HugeBody).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn one_mib_of_headers_is_io() {
    assert_every_request_fails_as_expected(Mode::HugeHeaders).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_content_length_is_io() {
    assert_every_request_fails_as_expected(Mode::DuplicateContentLength).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_chunk_size_is_io() {
    assert_every_request_fails_as_expected(Mode::BadChunkSize).await;
}

/// Issue 20: a server that answers without `Connection: close` and closes the connection once
/// idle is correct (RFC 9112 section 9.6), and made 3 of 6 requests fail as `io`. Four users
/// pause 0–20 ms between requests and the target closes after 10 ms idle, so about half the
/// requests find their connection closed, some of them at the very moment it closes: none
/// may fail.
#[tokio::test(flavor = "multi_thread")]
async fn close_after_response_has_no_failures_in_1000_requests() {
    let target = target::start(Mode::CloseAfterResponse).await;
    let text = scenario_text(
        &target.url,
        Duration::from_secs(5),
        "users = 4\niterations = 250",
        "0ms..20ms",
    );
    let (report, _) = run(&text).await;
    let connections = target.connections.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(report.total.requests, 1000);
    assert_eq!(
        (report.total.failed, &report.total.failures),
        (0, &BTreeMap::new()),
        "a correct target was counted as failing ({connections} connections)"
    );
    // The test means something only if the target did close connections the client kept.
    assert!(
        connections >= 100,
        "only {connections} connections for 1000 requests: the idle close was not met"
    );
}

/// An HTTP/1.0 answer without a length, its body delimited by the close, is correct.
#[tokio::test(flavor = "multi_thread")]
async fn http_1_0_close_delimited_has_no_failures() {
    let target = target::start(Mode::Http10).await;
    let text = scenario_text(
        &target.url,
        Duration::from_secs(5),
        "users = 2\niterations = 100",
        "0ms",
    );
    let (report, _) = run(&text).await;
    assert_eq!(report.total.requests, 200);
    assert_eq!(
        (report.total.failed, &report.total.failures),
        (0, &BTreeMap::new())
    );
}

/// The bound on the generator's memory against a body it must not keep.
const RSS_BOUND_KIB: u64 = 64 * 1024;

/// Runs `gauntlet run` on a scenario against a target in `mode`, with the default `max_body`,
/// as a process of its own; its peak RSS (VmHWM) in KiB and the report it wrote.
async fn peak_rss_of_a_run(mode: Mode) -> (u64, serde_json::Value) {
    let target = target::start(mode).await;
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("misbehaving.toml");
    let report = dir.path().join("report.json");
    std::fs::write(
        &scenario,
        scenario_text(
            &target.url,
            Duration::from_secs(5),
            "users = 2\nduration = \"2s\"",
            "10ms",
        ),
    )
    .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_gauntlet"));
    command.arg("run").arg(&scenario).arg("--out").arg(&report);
    let (peak, output) =
        tokio::task::spawn_blocking(move || support::peak_rss_kib(command, Duration::from_secs(30)))
            .await
            .unwrap();
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "gauntlet run: {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let report = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    (peak, report)
}

/// Checks the bound and that the report counted every request as `body_too_large`.
fn assert_bounded(mode: Mode, peak_kib: u64, report: &serde_json::Value) {
    println!(
        "{mode:?}: peak RSS of gauntlet run {:.1} MiB (bound {} MiB), {} requests",
        peak_kib as f64 / 1024.0,
        RSS_BOUND_KIB / 1024,
        report["total"]["requests"]
    );
    assert!(peak_kib > 0, "{mode:?}: no VmHWM read");
    assert!(
        peak_kib < RSS_BOUND_KIB,
        "{mode:?}: peak RSS {peak_kib} KiB, over {RSS_BOUND_KIB} KiB"
    );
    let requests = report["total"]["requests"].as_u64().unwrap();
    assert!(requests > 0, "{mode:?}: no request");
    assert_eq!(
        report["total"]["failures"],
        serde_json::json!({ "body_too_large": requests }),
        "{mode:?}"
    );
}

/// Issue 20: an endless chunked body took one user to 1.74 GB in 2 s, and two users aborted
/// the process. With the default `max_body` two users stay under 64 MiB.
#[tokio::test(flavor = "multi_thread")]
async fn endless_chunked_body_peak_rss_stays_under_64_mib() {
    let (peak, report) = peak_rss_of_a_run(Mode::EndlessChunked).await;
    assert_bounded(Mode::EndlessChunked, peak, &report);
}

/// Issue 20: a 100 MB body took 1.33 GB. With the default `max_body` two users stay under
/// 64 MiB.
#[tokio::test(flavor = "multi_thread")]
async fn a_100_mb_body_peak_rss_stays_under_64_mib() {
    let (peak, report) = peak_rss_of_a_run(Mode::HugeBody).await;
    assert_bounded(Mode::HugeBody, peak, &report);
}
