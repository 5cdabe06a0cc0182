//! Resilience policies against instances that sleep, fail, die or report not ready: timeouts
//! (504), retries of idempotent requests only, passive ejection and re-admission, the active
//! `/readyz` check, 503 when nothing is left, and instances found through DNS.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::Value;
use stack_gateway::config::DnsConfig;

use crate::support::{Behaviour, RunningGateway, TestUpstream, dead_addr, single_route};

async fn get(gw: &RunningGateway, path: &str) -> (u16, Value) {
    let r = gw.http.get(gw.url(path)).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_sleeping_past_the_timeout_gets_504() {
    let slow = TestUpstream::start("slow", Behaviour::Sleep(Duration::from_secs(3))).await;
    let gw = RunningGateway::start(single_route(&[slow.addr], |route, _| {
        route.timeout_ms = 300;
    }))
    .await;
    let start = Instant::now();
    let (status, body) = get(&gw, "/t/slow").await;
    let took = start.elapsed();
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (504, Some("upstream_timeout")),
        "{body}"
    );
    assert!(
        took >= Duration::from_millis(300),
        "answered before the timeout: {took:?}"
    );
    assert!(
        took < Duration::from_millis(2500),
        "waited for the upstream: {took:?}"
    );
    // The timed-out GET was not retried: the time budget was spent.
    assert_eq!(slow.hits(), 1);
    gw.stop().await;
    slow.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_is_retried_on_the_other_instance_a_post_is_not() {
    let failing = TestUpstream::start("failing", Behaviour::Fail(503)).await;
    let ok = TestUpstream::start("ok", Behaviour::Echo).await;
    let gw = RunningGateway::start(single_route(&[failing.addr, ok.addr], |route, upstream| {
        route.retries = 1;
        // Keep the failing instance in rotation: this test is about retries, not ejection.
        upstream.eject_after_failures = 1000;
    }))
    .await;

    for _ in 0..6 {
        let (status, body) = get(&gw, "/t/x").await;
        assert_eq!((status, body["instance"].as_str()), (200, Some("ok")), "{body}");
    }
    assert_eq!(ok.hits(), 6, "every GET ended on the healthy instance");
    assert!(
        failing.hits() >= 2,
        "the failing instance was tried: {}",
        failing.hits()
    );
    assert_eq!(gw.gateway.counter("gateway_retries_total"), failing.hits());

    let (failing_before, ok_before) = (failing.hits(), ok.hits());
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let r = gw.http.post(gw.url("/t/x")).body("{}").send().await.unwrap();
        statuses.push(r.status().as_u16());
    }
    let failed_posts = statuses.iter().filter(|s| **s == 503).count() as u64;
    let (failing_delta, ok_delta) = (failing.hits() - failing_before, ok.hits() - ok_before);
    assert!(
        failed_posts >= 1,
        "round-robin sent some POSTs to the failing instance: {statuses:?}"
    );
    assert_eq!(
        failing_delta, failed_posts,
        "each failed POST reached the failing instance once"
    );
    assert_eq!(
        failing_delta + ok_delta,
        6,
        "no POST was sent twice: {statuses:?}"
    );
    gw.stop().await;
    failing.stop().await;
    ok.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_instance_is_ejected_traffic_continues_and_it_is_tried_again_after_the_cooldown() {
    let dead = dead_addr().await;
    let live = TestUpstream::start("live", Behaviour::Echo).await;
    let gw = RunningGateway::start(single_route(&[dead, live.addr], |route, upstream| {
        route.retries = 1;
        upstream.eject_after_failures = 2;
        upstream.eject_cooldown_ms = 700;
    }))
    .await;
    for i in 0..10 {
        let (status, body) = get(&gw, "/t/x").await;
        assert_eq!(
            (status, body["instance"].as_str()),
            (200, Some("live")),
            "request {i}: {body}"
        );
    }
    assert_eq!(live.hits(), 10);
    // Two connection failures ejected it; after that it was not tried any more.
    assert_eq!(gw.gateway.counter("gateway_upstream_failures_total"), 2);
    assert_eq!(gw.gateway.counter("gateway_ejections_total"), 1);
    let states = gw.gateway.instances("test");
    assert!(states.iter().any(|s| s.addr == dead && s.ejected), "{states:?}");
    let (status, _) = get(&gw, "/readyz").await;
    assert_eq!(status, 200, "one live instance keeps the gateway ready");

    // After the cool-down it is re-admitted (and fails again: one more failure counted).
    tokio::time::sleep(Duration::from_millis(800)).await;
    for _ in 0..4 {
        let (status, _) = get(&gw, "/t/x").await;
        assert_eq!(status, 200);
    }
    assert!(gw.gateway.counter("gateway_upstream_failures_total") >= 3);
    gw.stop().await;
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_health_check_takes_unready_instances_out_and_503_when_none_is_left() {
    let a = TestUpstream::start("a", Behaviour::Echo).await;
    let b = TestUpstream::start("b", Behaviour::Echo).await;
    let gw = RunningGateway::start(single_route(&[a.addr, b.addr], |_, upstream| {
        upstream.health_interval_ms = 50;
    }))
    .await;
    b.ready.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let b_before = b.hits();
    for _ in 0..6 {
        let (status, body) = get(&gw, "/t/x").await;
        assert_eq!((status, body["instance"].as_str()), (200, Some("a")));
    }
    assert_eq!(b.hits(), b_before, "the unready instance got traffic");

    a.ready.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, body) = get(&gw, "/t/x").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("no_upstream")),
        "{body}"
    );
    let (status, body) = get(&gw, "/readyz").await;
    assert_eq!((status, body["status"].as_str()), (503, Some("not_ready")));

    b.ready.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, body) = get(&gw, "/t/x").await;
    assert_eq!((status, body["instance"].as_str()), (200, Some("b")));
    gw.stop().await;
    a.stop().await;
    b.stop().await;
}

/// What an AAAA record gives: an IPv6 instance, here beside an IPv4 one. Both take traffic, and
/// the IPv6 one sees its address bracketed in `Host` (RFC 9110 section 7.2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_instances_take_traffic_with_a_bracketed_host() {
    let Ok(v6) = tokio::net::TcpListener::bind("[::1]:0").await else {
        // CI's machines have ::1; elsewhere a host without IPv6 skips the test.
        assert!(std::env::var_os("CI").is_none(), "no ::1 to listen on");
        eprintln!("ipv6_instances_take_traffic_with_a_bracketed_host: no ::1 here, skipped");
        return;
    };
    let a = TestUpstream::serve_on(v6, "a", Behaviour::Echo).await;
    let b = TestUpstream::start("b", Behaviour::Echo).await;
    let gw = RunningGateway::start(single_route(&[a.addr, b.addr], |_, _| {})).await;
    let mut hosts = std::collections::BTreeMap::new();
    for _ in 0..4 {
        let (status, body) = get(&gw, "/t/x").await;
        assert_eq!(status, 200, "{body}");
        hosts.insert(
            body["instance"].as_str().unwrap().to_string(),
            body["headers"]["host"].as_str().unwrap_or_default().to_string(),
        );
    }
    assert_eq!(
        hosts.get("a"),
        Some(&format!("[::1]:{}", a.addr.port())),
        "{hosts:?}"
    );
    assert_eq!(hosts.get("b"), Some(&b.addr.to_string()), "{hosts:?}");
    gw.stop().await;
    a.stop().await;
    b.stop().await;
}

/// `localhost` resolves to 127.0.0.1 on this machine (the hosts file has no `::1` line), so the
/// two instances share the address and differ by port: `dns.ports` lists both, and every
/// resolved address on every port is an instance (with one port, several A/AAAA records are
/// several instances, as with a Kubernetes headless Service). Requests carry the DNS name in
/// `Host`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_from_dns_are_all_used() {
    let a = TestUpstream::start("a", Behaviour::Echo).await;
    let b = TestUpstream::start("b", Behaviour::Echo).await;
    let expected = stack_gateway::upstream::resolve("localhost", &[a.addr.port(), b.addr.port()])
        .await
        .unwrap();
    assert!(
        expected.contains(&a.addr) && expected.contains(&b.addr),
        "{expected:?}"
    );
    let gw = RunningGateway::start(single_route(&[], |_, upstream| {
        upstream.instances.clear();
        upstream.dns = Some(DnsConfig {
            name: "localhost".into(),
            ports: vec![a.addr.port(), b.addr.port()],
            refresh_ms: 100,
        });
    }))
    .await;
    let mut seen = Vec::new();
    for _ in 0..(2 * expected.len()) {
        let (status, body) = get(&gw, "/t/x").await;
        assert_eq!(status, 200, "{body}");
        let instance = body["instance"].as_str().unwrap().to_string();
        // The upstream is named by its DNS name (with the instance's port), as nginx does.
        let port = if instance == "a" {
            a.addr.port()
        } else {
            b.addr.port()
        };
        assert_eq!(body["headers"]["host"], format!("localhost:{port}"), "{body}");
        seen.push(instance);
    }
    assert!(
        seen.contains(&"a".to_string()) && seen.contains(&"b".to_string()),
        "{seen:?}"
    );
    let addrs: Vec<_> = gw.gateway.instances("test").iter().map(|s| s.addr).collect();
    assert_eq!(addrs, expected);
    // Re-resolution runs (every 100 ms) and keeps the same set.
    tokio::time::sleep(Duration::from_millis(350)).await;
    let again: Vec<_> = gw.gateway.instances("test").iter().map(|s| s.addr).collect();
    assert_eq!(again, expected);
    gw.stop().await;
    a.stop().await;
    b.stop().await;
}
