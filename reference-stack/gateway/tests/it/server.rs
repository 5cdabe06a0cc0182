//! The client side of the gateway on plain TCP: its own HTTP/1.1 loop for simple requests and
//! hyper's server for the rest, seen from a raw socket. Pipelined requests are answered in
//! order; a request that is not simple (HTTP/1.0, `Expect: 100-continue`, a chunked body) is
//! served all the same, after the connection's simple ones; a head that never completes, and a
//! connection left idle, are closed after the head timeout.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{Behaviour, RunningGateway, TestUpstream, content_length, single_route};

/// Reads from `client` until `count` complete responses (heads and Content-Length bodies) are
/// in, or the connection closes; returns them as text.
async fn read_responses(client: &mut TcpStream, count: usize) -> Vec<String> {
    let mut buf = Vec::new();
    let mut responses = Vec::new();
    while responses.len() < count {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let length = content_length(&String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase());
            if buf.len() >= end + 4 + length {
                let whole: Vec<u8> = buf.drain(..end + 4 + length).collect();
                responses.push(String::from_utf8_lossy(&whole).into_owned());
                continue;
            }
        }
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(5), client.read(&mut chunk))
            .await
            .expect("an answer within 5 s")
            .unwrap_or(0);
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    responses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_and_unusual_requests_are_all_answered_in_order() {
    let up = TestUpstream::start("a", Behaviour::Echo).await;
    let gw = RunningGateway::start(single_route(&[up.addr], |_, _| {})).await;
    let mut client = TcpStream::connect(gw.addr).await.unwrap();
    // Three simple requests in one write, then one the gateway's own loop hands to hyper
    // (a chunked upload) and one after it on the same connection.
    client
        .write_all(
            b"GET /t/one HTTP/1.1\r\nhost: gw\r\n\r\n\
              POST /t/two HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}\
              HEAD /nowhere HTTP/1.1\r\nhost: gw\r\n\r\n\
              POST /t/four HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n\
              GET /t/five HTTP/1.1\r\nhost: gw\r\n\r\n",
        )
        .await
        .unwrap();
    let mut text = String::new();
    let mut buf = [0u8; 8192];
    while !text.contains("\"/five\"") {
        let n = tokio::time::timeout(Duration::from_secs(5), client.read(&mut buf))
            .await
            .expect("answers within 5 s")
            .unwrap();
        assert!(n > 0, "closed early: {text}");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 4, "{text}");
    assert_eq!(text.matches("HTTP/1.1 404 Not Found").count(), 1, "{text}");
    let order: Vec<usize> = ["\"/one\"", "\"/two\"", "\"/four\"", "\"/five\""]
        .iter()
        .map(|needle| {
            text.find(needle)
                .unwrap_or_else(|| panic!("{needle} missing in {text}"))
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "out of order: {text}");
    // the answer to HEAD has no body, the gateway's own JSON error included
    assert!(
        !text.contains("no route"),
        "the HEAD answer carried a body: {text}"
    );
    // A target httparse takes and http refuses: hyper's 400, and the request behind it is not
    // answered in its place.
    let mut client = TcpStream::connect(gw.addr).await.unwrap();
    client
        .write_all(b"GET /t/a<b HTTP/1.1\r\nhost: gw\r\n\r\nGET /t/after HTTP/1.1\r\nhost: gw\r\n\r\n")
        .await
        .unwrap();
    let answers = read_responses(&mut client, 1).await;
    assert!(
        answers.first().is_some_and(|a| a.starts_with("HTTP/1.1 400")),
        "{answers:?}"
    );
    // HTTP/1.0 (hyper's: answered, then closed), and a request that waits for 100 Continue,
    // on fresh connections.
    for request in [
        &b"GET /t/old HTTP/1.0\r\nhost: gw\r\n\r\n"[..],
        b"PUT /t/cont HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\ncontent-length: 2\r\nexpect: 100-continue\r\n\r\n",
    ] {
        let mut client = TcpStream::connect(gw.addr).await.unwrap();
        client.write_all(request).await.unwrap();
        if request.starts_with(b"PUT") {
            let mut interim = [0u8; 64];
            let n = client.read(&mut interim).await.unwrap();
            assert!(interim[..n].starts_with(b"HTTP/1.1 100"), "{}", String::from_utf8_lossy(&interim[..n]));
            client.write_all(b"{}").await.unwrap();
        }
        let answers = read_responses(&mut client, 1).await;
        assert!(answers.first().is_some_and(|a| a.contains(" 200 ")), "{answers:?}");
        if request.starts_with(b"GET") {
            let mut more = [0u8; 16];
            let closed = tokio::time::timeout(Duration::from_secs(5), client.read(&mut more)).await;
            assert!(matches!(closed, Ok(Ok(0))), "an HTTP/1.0 connection stays open: {closed:?}");
        }
    }
    gw.stop().await;
    up.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_that_never_completes_and_an_idle_connection_are_closed_after_the_timeout() {
    let up = TestUpstream::start("a", Behaviour::Echo).await;
    let gw = RunningGateway::start(single_route(&[up.addr], |_, _| {})).await;
    let start = Instant::now();
    let mut slow = TcpStream::connect(gw.addr).await.unwrap();
    slow.write_all(b"GET /t/x HTTP/1.1\r\nhost: gw\r\n")
        .await
        .unwrap();
    // A keep-alive connection used at 0 s and again at 6 s: its 10 s run from the second
    // request, so it is still open at 12 s and closed by 17 s.
    let mut idle = TcpStream::connect(gw.addr).await.unwrap();
    for at in [0, 6] {
        tokio::time::sleep_until((start + Duration::from_secs(at)).into()).await;
        idle.write_all(b"GET /t/x HTTP/1.1\r\nhost: gw\r\n\r\n")
            .await
            .unwrap();
        assert_eq!(read_responses(&mut idle, 1).await.len(), 1, "request at {at} s");
    }
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(Duration::from_secs(15), slow.read(&mut buf))
        .await
        .expect("slow head: still open after 15 s");
    assert!(matches!(closed, Ok(0) | Err(_)), "slow head: {closed:?}");
    let after = start.elapsed();
    assert!(
        (Duration::from_secs(9)..Duration::from_secs(12)).contains(&after),
        "slow head closed after {after:?}"
    );
    let wait = (start + Duration::from_secs(12)).saturating_duration_since(Instant::now());
    let early = tokio::time::timeout(wait, idle.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "the idle connection closed before 12 s: {early:?}"
    );
    let closed = tokio::time::timeout(Duration::from_secs(5), idle.read(&mut buf))
        .await
        .expect("idle: still open at 17 s");
    assert!(matches!(closed, Ok(0) | Err(_)), "idle: {closed:?}");
    gw.stop().await;
    up.stop().await;
}
