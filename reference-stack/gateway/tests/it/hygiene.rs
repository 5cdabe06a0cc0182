//! Header hygiene: request ids (kept or generated, returned and forwarded), `traceparent`
//! forwarded untouched, hop-by-hop headers dropped, `x-forwarded-*` and `forwarded` set, the
//! route's prefix rewrite with the query kept, and the `gateway` binary's JSON access log.

use serde_json::Value;

use crate::support::{Behaviour, RunningGateway, TestUpstream, single_route};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_trace_context_and_forwarding_headers() {
    let up = TestUpstream::start("up", Behaviour::Echo).await;
    let gw = RunningGateway::start(single_route(&[up.addr], |route, _| {
        route.rewrite = Some("/v9".into());
    }))
    .await;
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let r = gw
        .http
        .get(gw.url("/t/things/1?fields=a,b&x=%20y"))
        .header("x-request-id", "client-chosen-42")
        .header("traceparent", traceparent)
        .header("tracestate", "vendor=1")
        .header("connection", "x-hop-only")
        .header("x-hop-only", "secret")
        .header("proxy-authorization", "Basic Zm9vOmJhcg==")
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-request-id"], "client-chosen-42");
    let echo: Value = r.json().await.unwrap();
    let h = &echo["headers"];
    assert_eq!(echo["path"], "/v9/things/1?fields=a,b&x=%20y");
    assert_eq!(h["x-request-id"], "client-chosen-42");
    assert_eq!(h["traceparent"], traceparent);
    assert_eq!(h["tracestate"], "vendor=1");
    assert!(
        h.get("x-hop-only").is_none() && h.get("proxy-authorization").is_none(),
        "{h}"
    );
    assert_eq!(h["x-forwarded-for"], "203.0.113.9, 127.0.0.1");
    assert_eq!(h["x-forwarded-proto"], "http");
    assert_eq!(h["x-forwarded-host"], gw.addr.to_string());
    assert_eq!(
        h["forwarded"],
        format!("for=127.0.0.1;proto=http;host=\"{}\"", gw.addr)
    );
    assert_eq!(
        h["host"],
        up.addr.to_string(),
        "the upstream sees its own authority"
    );

    // No id from the client (or an unusable one): one is generated, returned and forwarded.
    let mut generated = Vec::new();
    for sent in [None, Some("has spaces in it")] {
        let mut request = gw.http.get(gw.url("/t/x"));
        if let Some(id) = sent {
            request = request.header("x-request-id", id);
        }
        let r = request.send().await.unwrap();
        let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
        let echo: Value = r.json().await.unwrap();
        assert_eq!(id.len(), 36, "a UUID: {id}");
        assert_eq!(echo["headers"]["x-request-id"], id.as_str());
        generated.push(id);
    }
    assert_ne!(generated[0], generated[1]);
    // Errors the gateway answers itself carry one too.
    let r = gw.http.get(gw.url("/nowhere")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.headers().contains_key("x-request-id"));
    gw.stop().await;
    up.stop().await;
}

/// The `gateway` binary's stderr (JSON logs) after serving the requests `exercise` makes against
/// its base URL: one route `/t` to `upstream`, `access_log` as given; stopped with SIGTERM.
async fn gateway_binary_log(
    upstream: std::net::SocketAddr,
    access_log: bool,
    exercise: impl AsyncFnOnce(&str),
) -> String {
    let dir = tempfile::tempdir().unwrap();
    let listen = crate::support::dead_addr().await;
    let config = dir.path().join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"{listen}\"\niam_url = \"http://127.0.0.1:9\"\nlog_json = true\naccess_log = {access_log}\n\
             [upstreams.test]\ninstances = [{{ addr = \"{upstream}\" }}]\nhealth_interval_ms = 0\n\
             [[routes]]\nname = \"test\"\nprefix = \"/t\"\nupstream = \"test\"\nrewrite = \"\"\n"
        ),
    )
    .unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_gateway"))
        .arg("--config")
        .arg(&config)
        .env_remove("RUST_LOG")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://{listen}");
    let http = crate::support::client();
    let mut up = false;
    for _ in 0..200 {
        if http.get(format!("{base}/healthz")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    if up {
        exercise(&base).await;
    }
    // SIGTERM: the gateway drains and exits; every line it logged is on the pipe.
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let log = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(up, "the gateway binary did not come up:\n{log}");
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_access_log_is_one_json_line_per_request_with_the_documented_fields() {
    let up = TestUpstream::start("up", Behaviour::Echo).await;
    let log = gateway_binary_log(up.addr, true, async |base: &str| {
        let http = crate::support::client();
        let r = http
            .get(format!("{base}/t/x?q=1"))
            .header("x-request-id", "access-log-test-1")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let r = http
            .get(format!("{base}/nowhere"))
            .header("x-request-id", "access-log-test-2")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    })
    .await;
    let access: Vec<Value> = log
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|v| v["target"] == "access")
        .collect();
    let line = |id: &str| {
        access
            .iter()
            .find(|v| v["request_id"] == id)
            .unwrap_or_else(|| panic!("no access line for {id} in:\n{log}"))
            .clone()
    };
    let proxied = line("access-log-test-1");
    assert_eq!(proxied["method"], "GET");
    assert_eq!(proxied["path"], "/t/x");
    assert_eq!(proxied["route"], "test");
    assert_eq!(proxied["status"], 200);
    assert_eq!(proxied["upstream"], up.addr.to_string());
    assert_eq!(proxied["attempts"], 1);
    assert_eq!(proxied["client"], "127.0.0.1");
    assert!(
        proxied["duration_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "{proxied}"
    );
    let unmatched = line("access-log-test-2");
    assert_eq!(
        (&unmatched["route"], &unmatched["status"], &unmatched["upstream"]),
        (&Value::from("unmatched"), &Value::from(404), &Value::from(""))
    );
    // one line per request: the health polls of the start-up and these two
    assert_eq!(
        access
            .iter()
            .filter(|v| v["request_id"]
                .as_str()
                .is_some_and(|id| id.starts_with("access-log-test")))
            .count(),
        2
    );
    up.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_log_false_turns_the_access_lines_off() {
    let up = TestUpstream::start("up", Behaviour::Echo).await;
    let log = gateway_binary_log(up.addr, false, async |base: &str| {
        let r = crate::support::client()
            .get(format!("{base}/t/x"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    })
    .await;
    assert!(
        log.contains("gateway listening"),
        "the binary logged nothing:\n{log}"
    );
    assert!(
        !log.lines().any(|l| l.contains("\"target\":\"access\"")),
        "access lines with access_log = false:\n{log}"
    );
    up.stop().await;
}
