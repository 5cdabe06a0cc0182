//! The gateway's upstream connections: kept alive and reused across requests; a connection the
//! instance closed while it sat idle costs a new connection, never a failed request (a POST,
//! which is never retried, included); and a connection still busy sending a request body the
//! instance answered early is not handed to the next request.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{RunningGateway, content_length, listener, read_head, single_route};

/// How a [`CountingUpstream`] treats its connections.
#[derive(Clone, Copy, Default)]
struct Manners {
    /// Close a connection that stays idle this long (a server's keep-alive timeout).
    idle_close: Option<Duration>,
    /// Answer as soon as the request head is in, then read the body (an early 401 or 413 does
    /// this; so do Go's net/http and nginx).
    answer_before_body: bool,
}

/// A bare HTTP/1.1 upstream that counts the connections it accepts and answers every request
/// with keep-alive, with the [`Manners`] it is given.
struct CountingUpstream {
    addr: SocketAddr,
    connections: Arc<AtomicU64>,
    requests: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl CountingUpstream {
    async fn start(manners: Manners) -> CountingUpstream {
        let (l, addr) = listener().await;
        let connections = Arc::new(AtomicU64::new(0));
        let requests = Arc::new(AtomicU64::new(0));
        let (c, r) = (Arc::clone(&connections), Arc::clone(&requests));
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = l.accept().await {
                c.fetch_add(1, Ordering::SeqCst);
                let r = Arc::clone(&r);
                tokio::spawn(serve_connection(stream, r, manners));
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

/// Answers requests on `stream` until the peer closes it or it idles too long.
async fn serve_connection(mut stream: TcpStream, requests: Arc<AtomicU64>, manners: Manners) {
    let mut buf = Vec::new();
    loop {
        // One request head (closing when idle too long, as a server's keep-alive timeout
        // does), then its Content-Length body.
        let Some(head_end) = read_head(&mut stream, &mut buf, manners.idle_close).await else {
            return;
        };
        let length = content_length(&String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase());
        let n = requests.fetch_add(1, Ordering::SeqCst) + 1;
        let body = format!("{{\"request\":{n}}}");
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if manners.answer_before_body && stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
        while buf.len() < head_end + length {
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..head_end + length);
        if !manners.answer_before_body && stream.write_all(response.as_bytes()).await.is_err() {
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
    let upstream = CountingUpstream::start(Manners::default()).await;
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
    let upstream = CountingUpstream::start(Manners {
        idle_close: Some(Duration::from_millis(100)),
        ..Manners::default()
    })
    .await;
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

/// Starts a POST whose 10-byte body arrives in two parts, `pause` apart (so the gateway streams
/// it to the upstream on hyper's client); sends the rest only when `finish`. Returns the
/// connection and the answer's head once it has come.
async fn split_upload(gw: &RunningGateway, pause: Duration, finish: bool) -> (TcpStream, String) {
    let mut client = TcpStream::connect(gw.addr).await.unwrap();
    client
        .write_all(b"POST /t/upload HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\ncontent-length: 10\r\n\r\n{\"a")
        .await
        .unwrap();
    tokio::time::sleep(pause).await;
    if finish {
        client.write_all(b"\":1234}").await.unwrap();
    }
    let mut answer = Vec::new();
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let mut chunk = [0u8; 1024];
        let n = tokio::time::timeout(Duration::from_secs(5), client.read(&mut chunk))
            .await
            .expect("the answer comes within 5 s")
            .unwrap();
        assert!(n > 0, "the gateway closed the connection");
        answer.extend_from_slice(&chunk[..n]);
    }
    (client, String::from_utf8_lossy(&answer).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_uploads_reuse_their_connection() {
    let upstream = CountingUpstream::start(Manners::default()).await;
    let gw = RunningGateway::start(single_route(&[upstream.addr], |_, _| {})).await;
    for i in 0..5 {
        let (_client, answer) = split_upload(&gw, Duration::from_millis(50), true).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "upload {i}: {answer}");
    }
    assert_eq!(upstream.requests(), 5);
    assert_eq!(
        upstream.connections(),
        1,
        "connections opened for 5 sequential uploads"
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_still_sending_an_answered_upload_is_not_given_to_the_next_request() {
    let upstream = CountingUpstream::start(Manners {
        answer_before_body: true,
        ..Manners::default()
    })
    .await;
    let gw = RunningGateway::start(single_route(&[upstream.addr], |_, _| {})).await;
    // An upload that stalls after 3 of its 10 bytes; the upstream answers it at once.
    let (stalled, answer) = split_upload(&gw, Duration::ZERO, false).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // Its upstream connection is busy until the client sends the rest (never, here): the next
    // upload, which goes out on the same kind of connection, must get another one rather than
    // wait for it.
    let (next, answer) = split_upload(&gw, Duration::ZERO, false).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(upstream.connections(), 2);
    drop((stalled, next));
    gw.stop().await;
}
