//! `gauntlet contract test`, the active suite: against the reference catalog every check
//! passes; against a service that breaks its contract the findings name the check, the
//! operation and the request, and the exit code is 1.

use std::path::{Path, PathBuf};
use std::process::Command;

fn spec() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../contracts/openapi/catalog.yaml")
}

async fn contract_test(target: &str, extra: Vec<String>) -> (Option<i32>, String) {
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
    .arg(spec())
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
    let token: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/v1/token", stack.iam.url))
        .form(&[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", "admin-password"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("contract.xml");
    let auth = format!(
        "Authorization: Bearer {}",
        token["access_token"].as_str().unwrap()
    );
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

#[tokio::test(flavor = "multi_thread")]
async fn a_service_that_breaks_its_contract_is_caught() {
    use axum::http::StatusCode;
    // Every route of the catalog spec, wrongly: movies with a string year, a 500 on create,
    // and no authentication at all.
    let movie = serde_json::json!({
        "id": "0b6f2c1e-3f4a-4d1b-9c2e-5a7d8e9f0a1b", "title": "Alien", "year": "1979", "genres": [],
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
    });
    let get = movie.clone();
    let app = axum::Router::new()
        .route(
            "/v1/movies",
            axum::routing::get(|| async { axum::Json(serde_json::json!({ "items": [] })) })
                .post(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
        )
        .route(
            "/v1/movies/{id}",
            axum::routing::get(move || async move { axum::Json(get) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let (code, out) = contract_test(&target, vec![]).await;
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("FAIL  not_a_server_error"), "{out}");
    assert!(
        out.contains("createMovie not_a_server_error: expected a status below 500, got 500"),
        "{out}"
    );
    assert!(
        out.contains("getMovie response_schema_conformance") && out.contains("at /year"),
        "{out}"
    );
    assert!(out.contains("FAIL  auth_enforced"), "{out}");
    assert!(out.contains("verdict: FAILED"), "{out}");
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
