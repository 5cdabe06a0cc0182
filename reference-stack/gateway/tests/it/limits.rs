//! Rate limits and malformed-traffic filtering at the edge: 429 with `Retry-After` and
//! `RateLimit-*` after the burst (per consumer: JWT `sub`, else client IP), and 400/405/413/
//! 414/431 for requests that never reach a service.

use std::time::Duration;

use serde_json::Value;
use stack_gateway::config::{AuthConfig, RateLimitConfig};

use crate::flow::checked;
use crate::support::{Behaviour, RunningGateway, Services, TestUpstream, raw, single_route};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_burst_is_429_with_retry_after_and_ratelimit_headers_per_consumer() {
    let services = Services::start(1).await;
    let mut config = services.gateway_config();
    for route in &mut config.routes {
        if route.name == "api-read" {
            // One request per 10 s after a burst of 3: the test cannot refill by accident.
            route.rate_limit = Some(RateLimitConfig {
                rate_per_sec: 0.1,
                burst: 3,
            });
        }
    }
    let gw = RunningGateway::start(config).await;
    let admin = gw.admin_token().await;
    for remaining in [2, 1, 0] {
        let (status, headers, _) = checked(&gw, gw.http.get(gw.url("/api/movies")).bearer_auth(&admin)).await;
        assert_eq!(status, 200);
        assert_eq!(headers["ratelimit-limit"], "3");
        assert_eq!(headers["ratelimit-remaining"], remaining.to_string().as_str());
    }
    let (status, headers, body) = checked(&gw, gw.http.get(gw.url("/api/movies")).bearer_auth(&admin)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("rate_limited")),
        "{body}"
    );
    let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=10).contains(&retry_after), "{retry_after}");
    assert_eq!(headers["ratelimit-remaining"], "0");
    assert_eq!(headers["ratelimit-reset"], retry_after.to_string().as_str());
    assert_eq!(headers["ratelimit-policy"], "3;w=30");

    // Another consumer (another token subject) has its own bucket.
    let (status, _, _) = checked(
        &gw,
        gw.http
            .post(gw.url("/iam/v1/users"))
            .json(&serde_json::json!({"username": "bob", "password": "bob-password"})),
    )
    .await;
    assert_eq!(status, 201);
    let bob = gw.token("bob", "bob-password", None).await;
    let (status, _, _) = checked(&gw, gw.http.get(gw.url("/api/movies")).bearer_auth(&bob)).await;
    assert_eq!(status, 200, "bob is not limited by admin's use");
    // A new token of the same subject shares the bucket: the consumer is `sub`, not the token.
    let admin_again = gw.admin_token().await;
    let (status, _, _) = checked(&gw, gw.http.get(gw.url("/api/movies")).bearer_auth(&admin_again)).await;
    assert_eq!(status, 429);
    assert_eq!(gw.gateway.counter("gateway_rate_limited_total"), 2);
    gw.stop().await;
    services.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_routes_are_limited_per_client_ip() {
    let up = TestUpstream::start("up", Behaviour::Echo).await;
    let gw = RunningGateway::start(single_route(&[up.addr], |route, _| {
        route.rate_limit = Some(RateLimitConfig {
            rate_per_sec: 0.1,
            burst: 2,
        });
    }))
    .await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(
            gw.http
                .get(gw.url("/t/x"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [200, 200, 429, 429]);
    assert_eq!(up.hits(), 2, "limited requests never reach the upstream");
    gw.stop().await;
    up.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_traffic_is_refused_before_any_service() {
    let up = TestUpstream::start("up", Behaviour::Echo).await;
    let gw = RunningGateway::start(single_route(&[up.addr], |route, _| {
        route.methods = vec!["GET".into(), "POST".into()];
        route.auth = None::<AuthConfig>;
    }))
    .await;
    let host = gw.addr;
    let request = |line: &str, extra: &str| {
        format!("{line} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n")
    };
    let cases: Vec<(String, &str, &str)> = vec![
        (request("GET /t/../admin", ""), "400", "dot segment"),
        (request("GET /t/%2e%2E/admin", ""), "400", "dot segment"),
        (request("GET /t/a%2Fb", ""), "400", "encoded separator"),
        (request("GET /t/a%5cb", ""), "400", "encoded separator"),
        (request("GET /t//a", ""), "400", "empty segment"),
        (request("TRACE /t/x", ""), "405", "not supported"),
        (request("PROPFIND /t/x", ""), "405", "not supported"),
        (request("DELETE /t/x", ""), "405", "not supported"),
        (request("GET /nowhere", ""), "404", "no route"),
        (
            request(&format!("GET /t/{}", "a".repeat(5000)), ""),
            "414",
            "longer than",
        ),
        (
            request("GET /t/x", &"X-Pad: 1\r\n".repeat(70)),
            "431",
            "more than 64",
        ),
        (
            request("GET /t/x", &format!("X-Big: {}\r\n", "b".repeat(17 * 1024))),
            "431",
            "larger than",
        ),
        (
            request("POST /t/x", "Content-Length: 70000\r\n"),
            "413",
            "larger than",
        ),
    ];
    for (req, status, message) in &cases {
        let response = raw(gw.addr, req).await;
        let first = response.lines().next().unwrap_or("");
        assert!(
            first.starts_with(&format!("HTTP/1.1 {status}")),
            "{}: {response}",
            &req[..req.len().min(60)]
        );
        let body: Value = serde_json::from_str(response.split("\r\n\r\n").nth(1).unwrap_or("")).unwrap();
        assert!(
            body["error"]["message"].as_str().unwrap().contains(message),
            "{body}"
        );
    }
    // A chunked body over the limit (no Content-Length to refuse up front) is cut at the limit.
    let chunk = "c".repeat(40_000);
    let chunked = format!(
        "POST /t/x HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
         {len:x}\r\n{chunk}\r\n{len:x}\r\n{chunk}\r\n0\r\n\r\n",
        len = chunk.len()
    );
    let response = raw(gw.addr, &chunked).await;
    assert!(
        response.starts_with("HTTP/1.1 413"),
        "{}",
        &response[..response.len().min(300)]
    );
    assert_eq!(up.hits(), 0, "nothing malformed reached the upstream");
    // And a normal request still passes.
    let ok = raw(gw.addr, &request("GET /t/fine", "")).await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    tokio::time::sleep(Duration::from_millis(10)).await;
    gw.stop().await;
    up.stop().await;
}
