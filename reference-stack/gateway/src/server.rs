//! The gateway's own HTTP/1.1 server loop for plain-TCP client connections, with hyper's server
//! kept for everything else. Most requests a gateway sees are simple: HTTP/1.1, origin-form
//! target, no body or a small one that arrived with the head, no `Expect`, no `Upgrade`, no
//! `Transfer-Encoding`. Those are parsed here by `gauntlet-http1` (header values are slices of
//! the read buffer, not copies; more than `MAX_REQUEST_HEADERS` headers go to hyper), handed to [`Proxy::handle`] with their body complete, and answered
//! with one write. The first request on a connection that is anything else — HTTP/2's
//! preface, HTTP/1.0, a body still arriving, a head hyper would refuse — hands the connection,
//! with every byte read so far, to hyper's server for the rest of its life ([`Ended::HandOver`]).
//!
//! hyper's HTTP/1 server (parse, dispatch, encode) was about 13k of the 32k instructions per
//! proxied request in `ci/bench/gateway.sh`; see docs/design-decisions.md for what this saves.
//!
//! Kept from hyper's behaviour: the whole request head must arrive within
//! [`HEAD_TIMEOUT`] of the connection turning to it (slow-loris guard; an idle keep-alive
//! connection is closed after that long too), pipelined requests are answered in order, a
//! response without `Date` gets one, HEAD and 204/304 answers carry no body, and during a
//! graceful shutdown the request in flight is answered with `connection: close` and no new
//! one is read.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Version, header};
use http_body_util::BodyExt;
use hyper::body::Body as _;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::headers::ClientHop;
use crate::proxy::{Proxy, RequestBody};
use crate::respond::Body;

/// How long a request head may take to arrive, counted from when the connection is ready for
/// it (hyper's `header_read_timeout`, as the gateway configures it).
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// A head still incomplete at this size is answered 431 and the connection closed.
const MAX_HEAD: usize = 64 * 1024;
/// What an HTTP/2 client with prior knowledge sends first (RFC 9113 section 3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// A body frame larger than this is written as it is rather than copied behind the head.
const COPY_LIMIT: usize = 16 * 1024;
/// Largest body taken here: the same bound as the upstream client's ([`crate::h1::MAX_BODY`]).
const MAX_BODY: usize = crate::h1::MAX_BODY;

/// How a connection's fast path ended.
pub enum Ended {
    /// The connection is closed (or to be dropped).
    Closed,
    /// hyper's server takes it from here, starting with the bytes already read.
    HandOver(Rewound),
}

/// A client connection with bytes already read from it put back in front.
pub struct Rewound {
    prefix: Bytes,
    io: TcpStream,
}

impl AsyncRead for Rewound {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.prefix.is_empty() {
            let n = this.prefix.len().min(buf.remaining());
            buf.put_slice(&this.prefix[..n]);
            this.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewound {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// What the parse of the buffered bytes found.
// Returned once per parse and consumed at once: boxing the request would cost an allocation
// per request for nothing.
#[allow(clippy::large_enum_variant)]
enum Parsed {
    /// More bytes are needed for the head.
    Partial,
    /// Not a simple request: hyper's.
    Other,
    /// A simple request, taken out of the buffer.
    Simple {
        request: Request<RequestBody>,
        /// The client said `Connection: close`.
        close: bool,
    },
}

/// Serves simple requests on `io` until the client closes, `stop` turns true between requests,
/// or a request is not simple (then hyper gets the connection).
pub async fn serve(
    mut io: TcpStream,
    peer: SocketAddr,
    proxy: &Arc<Proxy>,
    hop: &ClientHop,
    mut stop: watch::Receiver<bool>,
) -> Ended {
    let mut input = BytesMut::with_capacity(8 * 1024);
    let mut output = Vec::with_capacity(1024);
    let mut spans = Vec::with_capacity(32);
    // One timer for the connection's life, re-armed only when it fires early: arming one per
    // request (as a timeout per read would) costs a timer-wheel insertion each time.
    let head_timer = tokio::time::sleep(HEAD_TIMEOUT);
    tokio::pin!(head_timer);
    loop {
        // One request head (the time runs from here: idle and slow clients alike).
        let waiting_since = tokio::time::Instant::now();
        let (request, close) = loop {
            if !input.is_empty() {
                match parse(&mut input, &mut spans) {
                    Parsed::Simple { request, close } => break (request, close),
                    // A request that finished arriving after the shutdown began is not
                    // taken (hyper would drop it unread); the client sees the close.
                    Parsed::Other if *stop.borrow() => return Ended::Closed,
                    // The start of HTTP/2's preface: wait for all of it on this timer.
                    Parsed::Other if input.len() < H2_PREFACE.len() && H2_PREFACE.starts_with(&input) => {}
                    Parsed::Other => {
                        return Ended::HandOver(Rewound {
                            prefix: input.freeze(),
                            io,
                        });
                    }
                    Parsed::Partial if input.len() >= MAX_HEAD => {
                        let err = stack_common::ApiError::new(
                            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                            "headers_too_large",
                            format!("the request head is over {} KiB", MAX_HEAD / 1024),
                        );
                        let _ = respond(
                            &mut io,
                            &mut output,
                            crate::respond::json_error(&err),
                            false,
                            true,
                        )
                        .await;
                        return Ended::Closed;
                    }
                    Parsed::Partial => {}
                }
            }
            if input.capacity() - input.len() < 4096 {
                input.reserve(8 * 1024);
            }
            let read = tokio::select! {
                biased;
                // Between requests, a shutdown closes the connection; mid-head, it waits.
                _ = stop.wait_for(|s| *s), if input.is_empty() => return Ended::Closed,
                () = &mut head_timer => {
                    let deadline = waiting_since + HEAD_TIMEOUT;
                    if tokio::time::Instant::now() >= deadline {
                        return Ended::Closed;
                    }
                    head_timer.as_mut().reset(deadline);
                    continue;
                }
                read = io.read_buf(&mut input) => read,
            };
            match read {
                Ok(0) | Err(_) => return Ended::Closed,
                Ok(_) => {}
            }
        };
        let head_only = request.method() == Method::HEAD;
        let response = proxy.handle(request, peer, hop).await;
        let close = close || *stop.borrow();
        match respond(&mut io, &mut output, response, head_only, close).await {
            Ok(()) if !close => {}
            _ => return Ended::Closed,
        }
    }
}

/// Where a header's name and value are in the buffer.
type Span = (std::ops::Range<usize>, std::ops::Range<usize>);

/// Parses the request at the start of `input`; a simple one is taken out of it. `spans` is
/// scratch space, kept by the connection so that no request allocates or clears a table.
fn parse(input: &mut BytesMut, spans: &mut Vec<Span>) -> Parsed {
    // Positions in the buffer, so the head becomes one shared `Bytes` and headers slices of it.
    let base = input.as_ptr() as usize;
    let span = |s: &[u8]| {
        let start = s.as_ptr() as usize - base;
        start..start + s.len()
    };
    spans.clear();
    let head = match gauntlet_http1::parse_request_head(input, |name, value| {
        spans.push((span(name), span(value)))
    }) {
        Ok(Some(head)) => head,
        Ok(None) => return Parsed::Partial,
        // Malformed, too many headers, unreadable framing, HTTP/2's preface: hyper answers or
        // serves it.
        Err(_) => return Parsed::Other,
    };
    let framing = head.framing;
    if head.minor_version != 1
        || !head.target.starts_with('/')
        || framing.expect
        || framing.upgrade
        || framing.transfer_encoding
    {
        return Parsed::Other;
    }
    let (head_len, close) = (head.len, framing.close);
    let Ok(method) = Method::from_bytes(head.method.as_bytes()) else {
        return Parsed::Other;
    };
    let target_at = span(head.target.as_bytes());
    let Some(body_len) = framing.length.map_or(Some(0), |n| usize::try_from(n).ok()) else {
        return Parsed::Other;
    };
    if body_len > MAX_BODY {
        return Parsed::Other;
    }
    // The body must be here already: one still arriving streams, on hyper's server.
    if input.len() < head_len + body_len {
        return Parsed::Other;
    }

    let head = input.split_to(head_len).freeze();
    let body = input.split_to(body_len).freeze();
    // httparse let through what http refuses (a `<` in the target, say): rare, and hyper's
    // to answer (400), so the request goes back in front of the buffer first.
    let give_back = |input: &mut BytesMut| {
        let mut whole = BytesMut::with_capacity(head.len() + body.len() + input.len());
        whole.extend_from_slice(&head);
        whole.extend_from_slice(&body);
        whole.extend_from_slice(input);
        *input = whole;
        Parsed::Other
    };
    let Ok(uri) = http::Uri::from_maybe_shared(head.slice(target_at)) else {
        return give_back(input);
    };
    let mut headers = HeaderMap::with_capacity(spans.len() + 6);
    for (name, value) in spans.iter() {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&head[name.clone()]),
            HeaderValue::from_maybe_shared(head.slice(value.clone())),
        ) else {
            return give_back(input);
        };
        headers.append(name, value);
    }
    let mut request = Request::new(RequestBody::Complete(body));
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = Version::HTTP_11;
    *request.headers_mut() = headers;
    Parsed::Simple { request, close }
}

/// Writes `response`: framed by its body's exact size when known, else chunked; no body for
/// HEAD, 1xx, 204 and 304; `connection: close` when the connection ends after it.
async fn respond(
    io: &mut TcpStream,
    out: &mut Vec<u8>,
    response: Response<Body>,
    head_only: bool,
    close: bool,
) -> io::Result<()> {
    let (parts, mut body) = response.into_parts();
    let status = parts.status;
    let no_body_status =
        status.is_informational() || matches!(status, StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED);
    let bodiless = head_only || no_body_status;
    let exact = body.size_hint().exact();
    let chunked = !bodiless && exact.is_none();
    out.clear();
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    let mut has_length = false;
    for (name, value) in &parts.headers {
        if name == header::TRANSFER_ENCODING {
            continue;
        }
        if name == header::CONTENT_LENGTH {
            // A HEAD answer says how long the body would be; others get their body's own.
            if !head_only || no_body_status {
                continue;
            }
            has_length = true;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !parts.headers.contains_key(header::DATE) {
        out.extend_from_slice(b"date: ");
        out.extend_from_slice(&http_date());
        out.extend_from_slice(b"\r\n");
    }
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    let length = match exact {
        _ if no_body_status || has_length => None,
        Some(0) if head_only => None,
        exact => exact,
    };
    if let Some(n) = length {
        out.extend_from_slice(b"content-length: ");
        gauntlet_http1::push_decimal(out, n);
        out.extend_from_slice(b"\r\n");
    } else if chunked {
        out.extend_from_slice(b"transfer-encoding: chunked\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if bodiless {
        return io.write_all(out).await;
    }
    // Data frames; the first goes out with the head when it is ready (usually the whole body:
    // one write). A body with nothing to give yet (an event stream, a long poll) does not hold
    // the head back.
    let polled = {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        Pin::new(&mut body).poll_frame(&mut cx)
    };
    let mut first = match polled {
        Poll::Ready(frame) => Some(frame),
        Poll::Pending => {
            io.write_all(out).await?;
            out.clear();
            None
        }
    };
    let mut sent: u64 = 0;
    loop {
        let next = match first.take() {
            Some(frame) => frame,
            None => body.frame().await,
        };
        let frame = match next {
            None => break,
            Some(Ok(frame)) => frame,
            Some(Err(err)) => return Err(io::Error::other(err)),
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers: HTTP/1.1 clients are not sent them
        };
        if data.is_empty() {
            continue;
        }
        sent += data.len() as u64;
        // Never more than the length announced: the excess would read as the next response.
        if exact.is_some_and(|n| sent > n) {
            return Err(io::Error::other("the response body is longer than its length"));
        }
        if chunked {
            // straight into the buffer: no String per chunk
            let _ = std::io::Write::write_fmt(out, format_args!("{:x}\r\n", data.len()));
        }
        if data.len() > COPY_LIMIT {
            io.write_all(out).await?;
            out.clear();
            io.write_all(&data).await?;
        } else {
            out.extend_from_slice(&data);
        }
        if chunked {
            out.extend_from_slice(b"\r\n");
        }
        if body.is_end_stream() {
            break;
        }
        io.write_all(out).await?;
        out.clear();
    }
    if chunked {
        out.extend_from_slice(b"0\r\n\r\n");
    }
    if exact.is_some_and(|n| n != sent) {
        return Err(io::Error::other("the response body did not match its length"));
    }
    if !out.is_empty() {
        io.write_all(out).await?;
    }
    // A large answer does not keep its buffer for the connection's life.
    if out.capacity() > 64 * 1024 {
        *out = Vec::with_capacity(1024);
    }
    Ok(())
}

/// The current time as an HTTP date, formatted once per second per thread.
fn http_date() -> [u8; 29] {
    use std::cell::Cell;
    thread_local! {
        static CACHED: Cell<(u64, [u8; 29])> = const { Cell::new((u64::MAX, [0; 29])) };
    }
    let now = SystemTime::now();
    let second = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    CACHED.with(|cached| {
        let (at, text) = cached.get();
        if at == second {
            return text;
        }
        let mut fresh = [0u8; 29];
        let formatted = httpdate::fmt_http_date(now);
        if formatted.len() == 29 {
            fresh.copy_from_slice(formatted.as_bytes());
        }
        cached.set((second, fresh));
        fresh
    })
}
