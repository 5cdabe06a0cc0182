//! Response framings through the gateway's own HTTP/1.1 client (RFC 9112 section 6): a raw
//! upstream writes each kind of answer in pieces, so the gateway has to stream the bodies it
//! could not read with the head; the client must get every body byte for byte, and the
//! connection must be reused after each body that ends by its framing. Bytes an upstream sends
//! beyond a response, and the rest of a body a client walked away from, never reach another
//! request.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::support::{RunningGateway, listener, read_head, single_route};

const LARGE: usize = 300_000;

/// The large body: bytes that show where a piece went missing or was repeated.
fn large_body() -> Vec<u8> {
    (0..LARGE).map(|i| b'a' + (i % 26) as u8).collect()
}

/// An upstream answering by path, each answer written in several pieces with pauses.
async fn scripted_upstream() -> (SocketAddr, Arc<AtomicU64>) {
    let (l, addr) = listener().await;
    let connections = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&connections);
    tokio::spawn(async move {
        while let Ok((stream, _)) = l.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(answer_requests(stream));
        }
    });
    (addr, connections)
}

async fn answer_requests(mut stream: TcpStream) {
    let mut buf = Vec::new();
    loop {
        let Some(head_end) = read_head(&mut stream, &mut buf, None).await else {
            return;
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        buf.drain(..head_end);
        let (method, path) = {
            let mut words = head.split(' ');
            (
                words.next().unwrap_or("").to_string(),
                words.next().unwrap_or("").to_string(),
            )
        };
        let pieces: Vec<Vec<u8>> = match path.as_str() {
            "/chunked" => vec![
                b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n5;ext=\"x\"\r\nhel"
                    .to_vec(),
                b"lo\r\n6\r\n world\r".to_vec(),
                b"\n0\r\nx-checksum: 1\r\n\r\n".to_vec(),
            ],
            "/large" => {
                let mut head =
                    format!("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {LARGE}\r\n\r\n")
                        .into_bytes();
                if method == "HEAD" {
                    vec![head]
                } else {
                    let body = large_body();
                    head.extend_from_slice(&body[..1000]);
                    vec![head, body[1000..150_000].to_vec(), body[150_000..].to_vec()]
                }
            }
            "/continue" => vec![
                b"HTTP/1.1 100 Continue\r\n\r\n".to_vec(),
                b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".to_vec(),
            ],
            "/empty" => vec![b"HTTP/1.1 204 No Content\r\nx-empty: yes\r\n\r\n".to_vec()],
            "/close" => vec![
                b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil ".to_vec(),
                b"the close".to_vec(),
            ],
            "/truncated" => vec![b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this".to_vec()],
            // A buggy upstream: a second, unasked-for response right behind the first.
            "/stray" => vec![b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfirstHTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nstray".to_vec()],
            // Another coding than chunked: the body runs until the close, whatever
            // Content-Length and `keep-alive` say (RFC 9112 section 6.3).
            "/coded" => vec![
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: identity\r\ncontent-length: 3\r\nconnection: keep-alive\r\n\r\nabc".to_vec(),
                b"def".to_vec(),
            ],
            // A chunk-size line without a size is an error, not the last chunk (read as that,
            // the chunks after it would pass for trailers and the body for complete).
            "/no-size" => vec![
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n;x\r\n3\r\ndef\r\n0\r\n\r\n".to_vec(),
            ],
            // The head at once, the body a while later (an event stream, a long poll).
            "/late" => vec![
                b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n".to_vec(),
                b"4\r\nlate\r\n0\r\n\r\n".to_vec(),
            ],
            "/switch" => vec![b"HTTP/1.1 101 Switching Protocols\r\nupgrade: x\r\nconnection: upgrade\r\n\r\n".to_vec()],
            _ => vec![b"HTTP/1.1 200 GARBAGE\r\ncontent-length: x\r\n\r\n".to_vec()],
        };
        let pause = Duration::from_millis(if path == "/late" { 1500 } else { 20 });
        for piece in pieces {
            if stream.write_all(&piece).await.is_err() {
                return;
            }
            tokio::time::sleep(pause).await;
        }
        if matches!(
            path.as_str(),
            "/close" | "/truncated" | "/malformed" | "/stray" | "/coded" | "/no-size" | "/switch"
        ) {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_framing_streams_through_and_keeps_the_connection_when_it_can() {
    let (upstream, connections) = scripted_upstream().await;
    let gw = RunningGateway::start(single_route(&[upstream], |route, _| route.retries = 0)).await;
    let get = |path: &str| gw.http.get(gw.url(&format!("/t{path}"))).send();

    let r = get("/chunked").await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()
            .get("transfer-encoding")
            .is_none_or(|v| v == "chunked")
    );
    assert_eq!(r.text().await.unwrap(), "hello world");

    let r = get("/large").await.unwrap();
    assert_eq!(r.headers()["content-length"], LARGE.to_string().as_str());
    assert!(
        r.bytes().await.unwrap() == large_body(),
        "the large body arrived altered"
    );

    let r = gw.http.head(gw.url("/t/large")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-length"], LARGE.to_string().as_str());
    assert!(r.bytes().await.unwrap().is_empty());

    let r = get("/continue").await.unwrap();
    assert_eq!(r.status(), 200, "the interim 100 is skipped");
    assert_eq!(r.text().await.unwrap(), "ok");

    let r = get("/empty").await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["x-empty"], "yes");

    // A body that takes its time does not hold its head back.
    let asked = std::time::Instant::now();
    let r = get("/late").await.unwrap();
    let head_after = asked.elapsed();
    assert!(
        head_after < Duration::from_millis(1000),
        "the head waited for the body: {head_after:?}"
    );
    assert_eq!(r.text().await.unwrap(), "late");

    // Every body so far ended by its framing: one connection carried them all.
    assert_eq!(connections.load(Ordering::SeqCst), 1);

    let r = get("/close").await.unwrap();
    assert_eq!(r.text().await.unwrap(), "until the close");
    let r = get("/chunked").await.unwrap();
    assert_eq!(r.text().await.unwrap(), "hello world");
    assert_eq!(
        connections.load(Ordering::SeqCst),
        2,
        "a body delimited by the close takes its connection with it"
    );

    // Bytes behind a response are never taken for the next request's answer.
    assert_eq!(get("/stray").await.unwrap().text().await.unwrap(), "first");
    assert_eq!(
        get("/chunked").await.unwrap().text().await.unwrap(),
        "hello world"
    );
    assert_eq!(get("/coded").await.unwrap().text().await.unwrap(), "abcdef");
    assert_eq!(
        get("/chunked").await.unwrap().text().await.unwrap(),
        "hello world"
    );

    // A client that leaves in the middle of a long body takes that connection with it: the
    // next request to the instance gets its own answer, not the rest of that body.
    let mut partial = get("/large").await.unwrap();
    assert!(partial.chunk().await.unwrap().is_some());
    drop(partial);
    assert_eq!(
        get("/chunked").await.unwrap().text().await.unwrap(),
        "hello world"
    );

    // A body whose chunk framing breaks is cut short, never presented as complete.
    // (the head may not even have left when the error is found: then the exchange fails)
    if let Ok(r) = get("/no-size").await {
        assert!(
            r.bytes().await.is_err(),
            "a body with a broken chunk must not look complete"
        );
    }

    // A response that breaks HTTP is a 502 with the JSON error shape, and the instance's failure.
    let r = get("/malformed").await.unwrap();
    assert_eq!(r.status(), 502);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_gateway");
    assert_eq!(gw.gateway.counter("gateway_upstream_failures_total"), 1);
    // So is a protocol switch nobody asked for.
    assert_eq!(get("/switch").await.unwrap().status(), 502);

    // A body cut short after its head went out: the client sees a broken response, not a
    // complete one.
    let r = get("/truncated").await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.bytes().await.is_err(),
        "a truncated body must not look complete"
    );
    gw.stop().await;
}
