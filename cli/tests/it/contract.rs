//! `gauntlet contract test`, the active suite: against the reference catalog every check
//! passes; against a service that breaks its contract the findings name the check, the
//! operation and the request, and the exit code is 1.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support;

fn spec() -> PathBuf {
    contract("catalog.yaml")
}

fn contract(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../contracts/openapi")
        .join(name)
}

async fn contract_test(target: &str, extra: Vec<String>) -> (Option<i32>, String) {
    contract_test_of(&spec(), target, extra).await
}

async fn contract_test_of(spec: &Path, target: &str, extra: Vec<String>) -> (Option<i32>, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gauntlet"));
    cmd.args([
        "contract",
        "test",
        "--target",
        target,
        "--max-examples",
        "3",
        "--spec",
    ])
    .arg(spec)
    .args(extra);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reference_catalog_passes_every_check() {
    let stack = stack_local::start(stack_local::StackOptions {
        base_port: 0,
        ..Default::default()
    })
    .await
    .unwrap();
    let token = support::token(&stack.iam.url, "admin", "admin-password").await;
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("contract.xml");
    let auth = format!("Authorization: Bearer {}", token);
    let (code, out) = contract_test(
        &stack.catalog.url,
        vec![
            "--header".into(),
            auth,
            "--junit".into(),
            junit.display().to_string(),
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{out}");
    for check in [
        "auth_enforced",
        "negative_data_rejection",
        "response_schema_conformance",
        "positive_data_acceptance",
    ] {
        assert!(out.contains(&format!("pass  {check}")), "{check}:\n{out}");
    }
    assert!(
        std::fs::read_to_string(&junit)
            .unwrap()
            .contains("failures=\"0\"")
    );
    stack.shutdown().await.unwrap();
}

/// Through the gateway, against gateway.yaml (iam's and catalog's operations under their
/// prefixes, plus the gateway's own health, metrics and error responses): nothing is flagged,
/// and auth is enforced at the edge for catalog's operations.
#[tokio::test(flavor = "multi_thread")]
async fn the_gateway_passes_every_check_of_its_contract() {
    let stack = stack_local::start(stack_local::StackOptions {
        base_port: 0,
        ..Default::default()
    })
    .await
    .unwrap();
    let gateway = stack.gateway.url.clone();
    let token = support::token(&format!("{gateway}/iam"), "admin", "admin-password").await;
    let auth = format!("Authorization: Bearer {}", token);
    let (code, out) =
        contract_test_of(&contract("gateway.yaml"), &gateway, vec!["--header".into(), auth]).await;
    assert_eq!(code, Some(0), "{out}");
    for check in [
        "auth_enforced",
        "negative_data_rejection",
        "response_schema_conformance",
        "positive_data_acceptance",
    ] {
        assert!(out.contains(&format!("pass  {check}")), "{check}:\n{out}");
    }
    // The suite went through the gateway, not around it.
    let metrics = reqwest::get(format!("{gateway}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for route in ["api-read", "api-write", "iam"] {
        assert!(
            metrics.contains(&format!("route=\"{route}\"")),
            "{route}: {metrics}"
        );
    }
    stack.shutdown().await.unwrap();
}

/// A server that plants one violation per catalog operation — a schema violation (getMovie),
/// the wrong content type (listMovies), invalid input accepted and a missing required header
/// (createMovie), a 500 on valid input (updateMovie), an undocumented status (deleteMovie) and
/// no authentication at all — while healthz, readyz, metrics and openapi conform. Each planted
/// violation is found under its check, and nothing is flagged on the conforming operations.
#[tokio::test(flavor = "multi_thread")]
async fn a_service_that_breaks_its_contract_is_caught() {
    use axum::http::{StatusCode, header};
    let movie = serde_json::json!({
        "id": "0b6f2c1e-3f4a-4d1b-9c2e-5a7d8e9f0a1b", "title": "Alien", "year": 1979, "genres": [],
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
    });
    let mut string_year = movie.clone();
    string_year["year"] = "1979".into();
    let created = movie.clone();
    let app = axum::Router::new()
        .route(
            "/v1/movies",
            axum::routing::get(|| async { ([(header::CONTENT_TYPE, "text/html")], "<ul></ul>") })
                .post(move || async move { (StatusCode::CREATED, axum::Json(created)) }),
        )
        .route(
            "/v1/movies/{id}",
            axum::routing::get(move || async move { axum::Json(string_year) })
                .put(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") })
                .delete(|| async { StatusCode::IM_A_TEAPOT }),
        )
        .route(
            "/healthz",
            axum::routing::get(|| async { axum::Json(serde_json::json!({ "status": "ok" })) }),
        )
        .route(
            "/readyz",
            axum::routing::get(|| async { axum::Json(serde_json::json!({ "status": "ready" })) }),
        )
        .route(
            "/metrics",
            axum::routing::get(|| async {
                ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], "up 1\n")
            }),
        )
        .route(
            "/openapi.yaml",
            axum::routing::get(|| async {
                ([(header::CONTENT_TYPE, "application/yaml")], "openapi: 3.0.3\n")
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().unwrap();
    let findings_path = dir.path().join("findings.json");
    let (code, out) = contract_test(&target, vec!["--out".into(), findings_path.display().to_string()]).await;
    assert_eq!(code, Some(1), "{out}");
    let result: serde_json::Value = serde_json::from_slice(&std::fs::read(&findings_path).unwrap()).unwrap();
    let found: std::collections::BTreeSet<(String, String)> = result["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["operation"].as_str().unwrap().to_string(),
                f["check"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (operation, check) in [
        ("getMovie", "response_schema_conformance"),
        ("listMovies", "content_type_conformance"),
        ("createMovie", "negative_data_rejection"),
        ("createMovie", "response_headers_conformance"),
        ("updateMovie", "not_a_server_error"),
        ("deleteMovie", "status_code_conformance"),
        ("getMovie", "auth_enforced"),
    ] {
        assert!(
            found.contains(&(operation.to_string(), check.to_string())),
            "{operation} {check} not found:\n{out}"
        );
    }
    for conforming in ["healthz", "readyz", "metrics", "openapi"] {
        assert!(
            !found.iter().any(|(op, _)| op == conforming),
            "{conforming} flagged:\n{found:?}"
        );
    }
    assert!(
        out.contains("at /year") && out.contains("verdict: FAILED"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_spec_is_exit_2_and_an_unreachable_target_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "openapi: 3.0.3\ninfo: [\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .args(["contract", "test", "--target", "http://127.0.0.1:1", "--spec"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad.yaml:"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (code, out) = contract_test(&format!("http://127.0.0.1:{port}"), vec![]).await;
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("could not connect"), "{out}");
}

/// A document of `operations` GET operations, each answering 200 with its own object schema.
fn spec_of(operations: usize) -> serde_json::Value {
    let mut paths = serde_json::Map::new();
    let mut schemas = serde_json::Map::new();
    for i in 0..operations {
        paths.insert(
            format!("/items{i}"),
            serde_json::json!({ "get": { "operationId": format!("get{i}"), "responses": { "200": {
                "description": "ok",
                "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/Item{i}") } } }
            } } } }),
        );
        schemas.insert(
            format!("Item{i}"),
            serde_json::json!({ "type": "object", "required": ["id"], "properties": {
                "id": { "type": "integer" }, "name": { "type": "string", "maxLength": 20 },
                "tags": { "type": "array", "items": { "type": "string" } }
            } }),
        );
    }
    serde_json::json!({
        "openapi": "3.0.3", "info": { "title": "wide", "version": "1" },
        "paths": paths, "components": { "schemas": schemas }
    })
}

/// Issue 20: memory grew with the square of the operation count (each schema compiled over
/// its own copy of the whole document: 500 operations 2.1 GB, 2,000 aborted). A 2,000
/// operation document is tested whole, in well under 200 MiB, within `--max-time`.
#[tokio::test(flavor = "multi_thread")]
async fn a_spec_of_2000_operations_is_tested_in_bounded_memory() {
    let app = axum::Router::new().fallback(|| async {
        (
            [(http::header::CONTENT_TYPE, "application/json")],
            r#"{"id": 1, "name": "x", "tags": []}"#,
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("wide.json");
    std::fs::write(&spec, spec_of(2_000).to_string()).unwrap();

    let mut command = Command::new(env!("CARGO_BIN_EXE_gauntlet"));
    command
        .args([
            "contract",
            "test",
            "--target",
            &target,
            "--max-examples",
            "1",
            "--max-time",
            "60s",
            "--spec",
        ])
        .arg(&spec);
    let started = std::time::Instant::now();
    let (peak_kib, output) = tokio::task::spawn_blocking(move || {
        support::peak_rss_kib(command, std::time::Duration::from_secs(90))
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!(
        "contract test of 2,000 operations: peak RSS {:.1} MiB, {:.1} s",
        peak_kib as f64 / 1024.0,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("2000 operations"), "{stdout}");
    assert!(!stdout.contains("stopped at --max-time"), "{stdout}");
    assert!(peak_kib > 0 && peak_kib < 200 * 1024, "peak RSS {peak_kib} KiB");
}
