//! Header hygiene: request ids (kept or generated, returned and forwarded), `traceparent`
//! forwarded untouched, hop-by-hop headers dropped, `x-forwarded-*` and `forwarded` set, and the
//! route's prefix rewrite with the query kept.

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
