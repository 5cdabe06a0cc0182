//! `gauntlet stack up` as a process: its banner, durability across a crash, graceful shutdown.

use std::io::ErrorKind;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{StackProcess, http, token, user_token};

#[tokio::test(flavor = "multi_thread")]
async fn banner_urls_answer_and_sigterm_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let mut stack = StackProcess::start(dir.path());
    assert!(
        stack.banner.contains("admin / admin-password"),
        "{}",
        stack.banner
    );
    assert!(
        stack.banner.contains("demo-client / demo-secret"),
        "{}",
        stack.banner
    );
    for url in [&stack.iam, &stack.catalog] {
        let r = http().get(format!("{url}/healthz")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{url}");
        let r = http().get(format!("{url}/readyz")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{url}");
    }
    stack.terminate();
    assert_eq!(stack.wait_exit(Duration::from_secs(20)), Some(0));
}

async fn create_movie(catalog: &str, token: &str, title: &str) -> String {
    let r = http()
        .post(format!("{catalog}/v1/movies"))
        .bearer_auth(token)
        .json(&json!({ "title": title, "year": 2001, "genres": ["drama"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let movie: Value = r.json().await.unwrap();
    movie["id"].as_str().unwrap().to_string()
}

/// Every write the API acknowledged is still there after SIGKILL (no graceful shutdown, no
/// destructors) and a restart on the same data directory; the signing key survives too, so
/// tokens issued before the crash stay valid.
#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_writes_survive_sigkill_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = StackProcess::start(dir.path());
    let token_before = user_token(&first.iam, "durable").await;
    let mut ids = Vec::new();
    for i in 0..25 {
        ids.push(create_movie(&first.catalog, &token_before, &format!("movie {i}")).await);
    }
    first.child.kill().unwrap(); // SIGKILL
    first.child.wait().unwrap();

    let second = StackProcess::start(dir.path());
    // The user survived: the password grant works without registering again.
    let token_after = token(&second.iam, "durable", "durable-password").await;
    for token in [&token_before, &token_after] {
        let r = http()
            .get(format!("{}/v1/movies?limit=1000", second.catalog))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let page: Value = r.json().await.unwrap();
        let listed: Vec<&str> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        assert_eq!(listed, ids.iter().map(String::as_str).collect::<Vec<_>>());
    }
}

/// SIGTERM while a request is in flight: the listener closes (new connections refused), the
/// in-flight request still completes with its normal answer, then the process exits 0.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_finishes_in_flight_request_and_refuses_new_connections() {
    let dir = tempfile::tempdir().unwrap();
    let mut stack = StackProcess::start(dir.path());
    let token = user_token(&stack.iam, "graceful").await;
    let addr = stack.catalog.trim_start_matches("http://").to_string();

    // A slow client: headers and half the body now, the rest after the shutdown signal.
    let body = json!({ "title": "In flight", "year": 1999 }).to_string();
    let (head, tail) = body.split_at(body.len() / 2);
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let request = format!(
        "POST /v1/movies HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{head}",
        body.len()
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    stack.terminate();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::net::TcpStream::connect(&addr).await {
            // Refused, or reset when the SYN was queued as the listener closed: not accepted.
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ConnectionRefused | ErrorKind::ConnectionReset
                ) =>
            {
                break;
            }
            Err(e) => panic!("unexpected connect error: {e}"),
            Ok(_) => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "still accepting 10 s after SIGTERM"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    assert!(
        stack.child.try_wait().unwrap().is_none(),
        "exited before the in-flight request finished"
    );

    conn.write_all(tail.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), conn.read_to_end(&mut response))
        .await
        .expect("response within 10 s")
        .unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    assert!(response.contains("\"title\":\"In flight\""), "{response}");
    assert_eq!(stack.wait_exit(Duration::from_secs(20)), Some(0));
}
