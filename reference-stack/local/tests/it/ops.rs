//! What every service has: health, readiness, metrics, its contract, and the JSON 404/405
//! fallbacks.

use reqwest::Method;
use serde_json::json;

use crate::support::{self, Api, Reply, movie_input};

#[tokio::test]
async fn healthz_and_readyz_answer_ok_and_ready_on_both_services() {
    let stack = support::start().await;
    for api in [&stack.iam, &stack.catalog] {
        let health = api.get("/healthz").send().await.ok_json(200);
        assert_eq!(health, json!({"status": "ok"}));
        let ready = api.get("/readyz").send().await.ok_json(200);
        assert_eq!(ready, json!({"status": "ready"}));
    }
    stack.stop().await;
}

#[tokio::test]
async fn openapi_yaml_serves_the_contract_file_byte_for_byte() {
    let stack = support::start().await;
    for api in [&stack.iam, &stack.catalog] {
        let reply = api.get("/openapi.yaml").send().await.expect(200);
        assert_eq!(reply.header("content-type"), Some("application/yaml"));
        assert!(
            reply.body == api.contract().text.as_bytes(),
            "{}'s /openapi.yaml differs from contracts/openapi/{}.yaml",
            api.contract().service,
            api.contract().service
        );
    }
    stack.stop().await;
}

fn counter(metrics: &str, method: &str, route: &str, status: u16) -> Option<u64> {
    let prefix = format!("http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|n| n.trim().parse().expect("a counter value"))
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_status_with_a_latency_histogram() {
    let stack = support::start().await;
    let (token, catalog) = stack.admin_catalog().await;
    let movie = stack
        .create_movie(&token, &movie_input("Alien", 1979, &["sci-fi"]))
        .await;
    let id = movie["id"].as_str().unwrap();
    let path = format!("/v1/movies/{id}");
    catalog.get(&path).send().await.expect(200);
    catalog.get(&path).send().await.expect(200);
    catalog
        .get("/v1/movies/7c0a3b5e-0000-4000-8000-000000000000")
        .send()
        .await
        .expect(404);

    let reply = stack.catalog.get("/metrics").send().await.expect(200);
    assert!(
        reply.header("content-type").unwrap().starts_with("text/plain"),
        "{:?}",
        reply.header("content-type")
    );
    let text = reply.text();
    assert!(text.contains("# TYPE http_requests_total counter"), "{text}");
    assert!(
        text.contains("# TYPE http_request_duration_seconds histogram"),
        "{text}"
    );
    assert_eq!(counter(&text, "POST", "/v1/movies", 201), Some(1), "{text}");
    assert_eq!(counter(&text, "GET", "/v1/movies/{id}", 200), Some(2), "{text}");
    assert_eq!(counter(&text, "GET", "/v1/movies/{id}", 404), Some(1), "{text}");
    assert!(!text.contains(id), "a concrete id leaked into the labels: {text}");
    let labels = "method=\"GET\",route=\"/v1/movies/{id}\"";
    assert!(
        text.contains(&format!(
            "http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} 3"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("http_request_duration_seconds_count{{{labels}}} 3")),
        "{text}"
    );
    assert!(
        text.contains(&format!("http_request_duration_seconds_sum{{{labels}}} ")),
        "{text}"
    );

    let iam_metrics = stack.iam.get("/metrics").send().await.expect(200).text();
    assert_eq!(
        counter(&iam_metrics, "POST", "/v1/token", 200),
        Some(1),
        "{iam_metrics}"
    );
    stack.stop().await;
}

async fn expect_route_not_found(api: &Api, method: Method, path: &str) {
    let reply = api.request(method, path).send_undocumented().await;
    reply.expect_error(404, "not_found");
}

#[tokio::test]
async fn unknown_routes_are_404_in_the_json_error_shape() {
    let stack = support::start().await;
    let token = stack.admin_token().await;
    for api in [&stack.iam, &stack.catalog] {
        expect_route_not_found(api, Method::GET, "/").await;
        expect_route_not_found(api, Method::GET, "/nope").await;
        expect_route_not_found(api, Method::POST, "/v2/anything").await;
        expect_route_not_found(api, Method::DELETE, "/healthz/extra").await;
    }
    expect_route_not_found(&stack.iam, Method::GET, "/v1/movies").await;
    expect_route_not_found(&stack.catalog, Method::POST, "/v1/users").await;
    // Under the movie routes, with a valid token too.
    let reply = stack
        .catalog
        .get("/v1/movies/3f2b8c1a-7d4e-4b6a-9c0d-1e2f3a4b5c6d/extra")
        .bearer(&token)
        .send_undocumented()
        .await;
    reply.expect_error(404, "not_found");
    stack.stop().await;
}

/// Asserts a 405 in the JSON error shape whose `Allow` header (RFC 9110 §15.5.6) lists `allowed`.
#[track_caller]
fn expect_method_not_allowed(reply: &Reply, allowed: &[&str]) {
    reply.expect_error(405, "method_not_allowed");
    let allow = reply.header("allow").unwrap_or_default();
    let listed: Vec<&str> = allow.split(',').map(str::trim).collect();
    for method in allowed {
        assert!(
            listed.contains(method),
            "{} {}: Allow is {allow:?}",
            reply.method,
            reply.path
        );
    }
    assert!(
        !listed.contains(&reply.method.as_str()),
        "{} {}: Allow is {allow:?}",
        reply.method,
        reply.path
    );
}

#[tokio::test]
async fn other_methods_on_known_routes_are_405_in_the_json_error_shape_with_allow() {
    let stack = support::start().await;
    let token = stack.admin_token().await;
    let iam_cases: [(Method, &str, &[&str]); 10] = [
        (Method::GET, "/v1/users", &["POST"]),
        (Method::GET, "/v1/token", &["POST"]),
        (Method::PUT, "/v1/tokens/introspect", &["POST"]),
        (Method::GET, "/v1/tokens/revoke", &["POST"]),
        (Method::POST, "/v1/revocations", &["GET"]),
        (Method::DELETE, "/.well-known/jwks.json", &["GET"]),
        (Method::POST, "/healthz", &["GET"]),
        (Method::POST, "/readyz", &["GET"]),
        (Method::PUT, "/metrics", &["GET"]),
        (Method::POST, "/openapi.yaml", &["GET"]),
    ];
    for (method, path, allowed) in iam_cases {
        let reply = stack.iam.request(method, path).send_undocumented().await;
        expect_method_not_allowed(&reply, allowed);
    }
    let id_path = "/v1/movies/3f2b8c1a-7d4e-4b6a-9c0d-1e2f3a4b5c6d";
    let catalog_cases: [(Method, &str, &[&str]); 6] = [
        (Method::DELETE, "/v1/movies", &["GET", "POST"]),
        (Method::PUT, "/v1/movies", &["GET", "POST"]),
        (Method::PATCH, id_path, &["GET", "PUT", "DELETE"]),
        (Method::POST, id_path, &["GET", "PUT", "DELETE"]),
        (Method::POST, "/healthz", &["GET"]),
        (Method::DELETE, "/metrics", &["GET"]),
    ];
    for (method, path, allowed) in catalog_cases {
        // With a valid token, and without one: the method is wrong either way.
        let reply = stack
            .catalog
            .request(method.clone(), path)
            .bearer(&token)
            .send_undocumented()
            .await;
        expect_method_not_allowed(&reply, allowed);
        let reply = stack.catalog.request(method, path).send_undocumented().await;
        expect_method_not_allowed(&reply, allowed);
    }
    stack.stop().await;
}
