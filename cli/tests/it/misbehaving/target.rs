//! A target that misbehaves on purpose: one raw-TCP tokio server whose every connection is
//! served by the [`Mode`] it was started with. Written on raw TCP, not axum, because no HTTP
//! library would send most of these answers.
//!
//! Each mode's doc says what it does and what the load client must make of it: the failure
//! kind every request is counted under, or none when the target is a correct server that
//! merely does something a careless client gets wrong.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the target does with each connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Announces a Content-Length, sends half of it, then resets the connection (`SO_LINGER`
    /// 0). The body was cut short: `io`.
    ResetMidBody,
    /// Reads the request and never answers, holding the connection open: `timeout`.
    Hang,
    /// Dribbles a response head one byte every 100 ms, forever: it never completes, so
    /// `timeout`, and never a hang of the run.
    Slowloris,
    /// A chunked body that never ends: read up to `max_body`, then `body_too_large`.
    EndlessChunked,
    /// Announces a 100 MB Content-Length and really streams 100 MB: over the default
    /// `max_body` (16 MiB) it is refused before a byte of it is read, `body_too_large`.
    HugeBody,
    /// A correct server: answers 200 with a Content-Length and without `Connection: close`,
    /// then closes the connection once it has been idle for [`IDLE_CLOSE`] (RFC 9112 section
    /// 9.6 allows it at any time). A request that meets the close is sent again: no failure.
    CloseAfterResponse,
    /// A correct HTTP/1.0 server: no length, the body runs until it closes: no failure.
    Http10,
    /// A response head of 1 MiB of headers (16 of 64 KiB each), over the client's head limit
    /// (400 KiB): `io`, and the client stops reading there.
    HugeHeaders,
    /// Two Content-Length headers that disagree: which is the body is unknowable, `io`.
    DuplicateContentLength,
    /// A chunked body whose chunk size is not hexadecimal: `io`.
    BadChunkSize,
}

impl Mode {
    /// The failure kind every request to a target in this mode must be counted under, or
    /// `None` for a correct server, where no request may fail.
    pub fn expected_failure(self) -> Option<&'static str> {
        match self {
            Mode::Hang | Mode::Slowloris => Some("timeout"),
            Mode::EndlessChunked | Mode::HugeBody => Some("body_too_large"),
            Mode::ResetMidBody | Mode::HugeHeaders | Mode::DuplicateContentLength | Mode::BadChunkSize => {
                Some("io")
            }
            Mode::CloseAfterResponse | Mode::Http10 => None,
        }
    }
}

/// How long [`Mode::CloseAfterResponse`] keeps an idle connection open after a response.
pub const IDLE_CLOSE: Duration = Duration::from_millis(10);

/// The announced and streamed length of [`Mode::HugeBody`].
pub const HUGE_BODY: usize = 100_000_000;

/// A running target; stopped when dropped.
pub struct Target {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Connections accepted so far.
    pub connections: Arc<AtomicU64>,
    accept: JoinHandle<()>,
}

impl Drop for Target {
    fn drop(&mut self) {
        // Connections already served end on their own when the client goes away.
        self.accept.abort();
    }
}

/// Starts a target in `mode` on a free port of the loopback interface.
pub async fn start(mode: Mode) -> Target {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicU64::new(0));
    let accepted = connections.clone();
    let accept = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            accepted.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                // The client hanging up on a misbehaving answer is expected: ignore it.
                let _ = serve(mode, stream).await;
            });
        }
    });
    Target {
        url,
        connections,
        accept,
    }
}

async fn serve(mode: Mode, mut stream: TcpStream) -> std::io::Result<()> {
    let mut input = Vec::new();
    if !read_request(&mut stream, &mut input).await? {
        return Ok(());
    }
    match mode {
        Mode::ResetMidBody => reset_mid_body(stream).await,
        Mode::Hang => hang(stream).await,
        Mode::Slowloris => slowloris(stream).await,
        Mode::EndlessChunked => endless_chunked(stream).await,
        Mode::HugeBody => huge_body(stream).await,
        Mode::CloseAfterResponse => close_after_response(stream, input).await,
        Mode::Http10 => http10(stream).await,
        Mode::HugeHeaders => huge_headers(stream).await,
        Mode::DuplicateContentLength => {
            stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nokk")
                .await?;
            until_closed(stream).await
        }
        Mode::BadChunkSize => {
            stream
                .write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n")
                .await?;
            until_closed(stream).await
        }
    }
}

/// Reads one request head (the load client sends GETs without a body) and removes it from
/// `input`; false when the client closed first.
async fn read_request(stream: &mut TcpStream, input: &mut Vec<u8>) -> std::io::Result<bool> {
    loop {
        if let Some(end) = input.windows(4).position(|w| w == b"\r\n\r\n") {
            input.drain(..end + 4);
            return Ok(true);
        }
        let mut buf = [0u8; 4096];
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(false);
        }
        input.extend_from_slice(&buf[..n]);
    }
}

/// Holds the connection until the client closes it (reading and dropping whatever it sends).
async fn until_closed(mut stream: TcpStream) -> std::io::Result<()> {
    let mut buf = [0u8; 4096];
    while stream.read(&mut buf).await? > 0 {}
    Ok(())
}

/// Half of a 1,000-byte body, then a reset.
async fn reset_mid_body(mut stream: TcpStream) -> std::io::Result<()> {
    stream
        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n")
        .await?;
    stream.write_all(&[b'x'; 500]).await?;
    // Let the half body reach the client, so that it fails mid-body rather than mid-head.
    tokio::time::sleep(Duration::from_millis(20)).await;
    stream.set_zero_linger()?;
    drop(stream);
    Ok(())
}

async fn hang(stream: TcpStream) -> std::io::Result<()> {
    until_closed(stream).await
}

async fn slowloris(mut stream: TcpStream) -> std::io::Result<()> {
    let head = b"HTTP/1.1 200 OK\r\nx-slow: ";
    for i in 0.. {
        let byte = head.get(i).copied().unwrap_or(b'a');
        stream.write_all(&[byte]).await?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

async fn endless_chunked(mut stream: TcpStream) -> std::io::Result<()> {
    stream
        .write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        .await?;
    let chunk = [&b"4000\r\n"[..], &[b'x'; 0x4000], b"\r\n"].concat();
    loop {
        stream.write_all(&chunk).await?;
    }
}

async fn huge_body(mut stream: TcpStream) -> std::io::Result<()> {
    stream
        .write_all(format!("HTTP/1.1 200 OK\r\ncontent-length: {HUGE_BODY}\r\n\r\n").as_bytes())
        .await?;
    let block = vec![b'x'; 64 * 1024];
    let mut left = HUGE_BODY;
    while left > 0 {
        let n = left.min(block.len());
        stream.write_all(&block[..n]).await?;
        left -= n;
    }
    until_closed(stream).await
}

/// Answers every request of the connection, and closes it when no request came within
/// [`IDLE_CLOSE`] of the last answer, without having said it would.
async fn close_after_response(mut stream: TcpStream, mut input: Vec<u8>) -> std::io::Result<()> {
    loop {
        stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok")
            .await?;
        match tokio::time::timeout(IDLE_CLOSE, read_request(&mut stream, &mut input)).await {
            Ok(Ok(true)) => {}
            // Idle (or the client left): close. A request arriving right now meets the close.
            Ok(Ok(false)) | Err(_) => return Ok(()),
            Ok(Err(e)) => return Err(e),
        }
    }
}

async fn http10(mut stream: TcpStream) -> std::io::Result<()> {
    stream
        .write_all(
            b"HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nthe body ends where the connection does",
        )
        .await?;
    stream.shutdown().await
}

async fn huge_headers(mut stream: TcpStream) -> std::io::Result<()> {
    stream.write_all(b"HTTP/1.1 200 OK\r\n").await?;
    let value = vec![b'a'; 64 * 1024];
    for i in 0..16 {
        stream.write_all(format!("x-big-{i}: ").as_bytes()).await?;
        stream.write_all(&value).await?;
        stream.write_all(b"\r\n").await?;
    }
    stream.write_all(b"content-length: 2\r\n\r\nok").await?;
    until_closed(stream).await
}
