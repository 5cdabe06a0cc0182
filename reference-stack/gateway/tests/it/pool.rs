//! The gateway's upstream connections: kept alive and reused across requests, and a connection
//! the instance closed while it sat idle costs a new connection, never a failed request (a POST,
//! which is never retried, included).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{RunningGateway, listener, single_route};

/// A bare HTTP/1.1 upstream that counts the connections it accepts and answers every request
/// with keep-alive; with `idle_close`, it closes a connection that stays idle that long.
struct CountingUpstream {
    addr: SocketAddr,
    connections: Arc<AtomicU64>,
    requests: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl CountingUpstream {
    async fn start(idle_close: Option<Duration>) -> CountingUpstream {
        let (l, addr) = listener().await;
        let connections = Arc::new(AtomicU64::new(0));
        let requests = Arc::new(AtomicU64::new(0));
        let (c, r) = (Arc::clone(&connections), Arc::clone(&requests));
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = l.accept().await {
                c.fetch_add(1, Ordering::SeqCst);
                let r = Arc::clone(&r);
                tokio::spawn(serve_connection(stream, r, idle_close));
            }
        });
        CountingUpstream {
            addr,
            connections,
            requests,
            task,
        }
    }

    fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }

    fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for CountingUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Answers requests on `stream` until the peer closes it or it idles past `idle_close`.
async fn serve_connection(mut stream: TcpStream, requests: Arc<AtomicU64>, idle_close: Option<Duration>) {
    let mut buf = Vec::new();
    loop {
        // One request head, then its Content-Length body.
        let head_end = loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            let mut chunk = [0u8; 4096];
            let read = match idle_close {
                Some(idle) if buf.is_empty() => {
                    match tokio::time::timeout(idle, stream.read(&mut chunk)).await {
                        Ok(read) => read,
                        Err(_) => return, // idle too long: close, as a server's keep-alive timeout does
                    }
                }
                _ => stream.read(&mut chunk).await,
            };
            match read {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + length {
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..head_end + length);
        let n = requests.fetch_add(1, Ordering::SeqCst) + 1;
        let body = format!("{{\"request\":{n}}}");
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// A GET, then a POST (never retried), each answered 200, with `pause` after each.
async fn get_and_post(gw: &RunningGateway, i: usize, pause: Duration) {
    let r = gw.http.get(gw.url("/t/x")).send().await.unwrap();
    assert_eq!(r.status(), 200, "GET {i}");
    r.text().await.unwrap();
    tokio::time::sleep(pause).await;
    let r = gw
        .http
        .post(gw.url("/t/x"))
        .header("content-type", "application/json")
        .body(r#"{"n":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "POST {i}");
    r.text().await.unwrap();
    tokio::time::sleep(pause).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_connections_are_kept_alive_and_reused() {
    let upstream = CountingUpstream::start(None).await;
    let gw = RunningGateway::start(single_route(&[upstream.addr], |_, _| {})).await;
    for i in 0..20 {
        get_and_post(&gw, i, Duration::ZERO).await;
    }
    assert_eq!(upstream.requests(), 40);
    // One after another: one connection carries them all (a pool that lost connections
    // would show one per request here).
    assert_eq!(
        upstream.connections(),
        1,
        "connections opened for 40 sequential requests"
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_the_upstream_closed_while_idle_costs_no_request() {
    let upstream = CountingUpstream::start(Some(Duration::from_millis(100))).await;
    let gw = RunningGateway::start(single_route(&[upstream.addr], |route, _| {
        // No retry to hide a failure behind.
        route.retries = 0;
    }))
    .await;
    for i in 0..4 {
        // longer than the upstream keeps an idle connection
        get_and_post(&gw, i, Duration::from_millis(250)).await;
    }
    assert_eq!(upstream.requests(), 8);
    // every request found its connection closed by the upstream and opened a new one
    assert_eq!(upstream.connections(), 8);
    assert_eq!(gw.gateway.counter("gateway_upstream_failures_total"), 0);
    gw.stop().await;
}
