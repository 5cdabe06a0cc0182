//! The gateway's own HTTP/1.1 client exchange, for requests whose body is already complete (no
//! body, or one kept for retries): the request is written and the response head read inline, in
//! the task serving the client's request. Head writing and parsing, framing and chunked
//! decoding are `gauntlet-http1`'s (shared with the load generator); this file keeps the I/O. hyper's connection-level client
//! (still used for request bodies streamed from the client) spends a spawned connection task
//! and two channel hand-offs per request on the same job: see docs/design-decisions.md for the
//! instructions and syscalls this saves per proxied request.
//!
//! A response body already in the buffer when its head is parsed (the usual small JSON answer)
//! comes back complete and the connection is free at once; a longer one is streamed by
//! [`Streaming`], which owns the connection until the body ends.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker, ready};

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use hyper::body::{Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};

use gauntlet_http1::{BodyFraming, ChunkedDecoder, Decoded, FramingHeader, Malformed};

use crate::connect::Io;

/// Least free space offered to each read.
const READ_CHUNK: usize = 8 * 1024;
/// Largest request body this client sends: it writes the whole request before reading, so an
/// early answer to a larger upload would wait behind it (hyper's client takes those).
pub const MAX_BODY: usize = 16 * 1024;

fn malformed(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// One HTTP/1.1 connection to an instance.
pub struct Conn {
    io: Io,
    /// Bytes read and not yet consumed.
    input: BytesMut,
    /// The request being written.
    output: Vec<u8>,
    /// False once either side said `Connection: close`, or a body ran to EOF.
    reusable: bool,
}

/// How a response body is delimited (RFC 9112 section 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(u64),
    Chunked(ChunkedDecoder),
    UntilClose,
}

/// A parsed response head.
pub struct Head {
    /// Status.
    pub status: StatusCode,
    /// Headers, `Transfer-Encoding` left out (the body arrives decoded).
    pub headers: HeaderMap,
    framing: Option<Framing>,
}

/// How an exchange failed, and whether the instance can have seen the request.
#[derive(Debug)]
pub struct ExchangeError {
    /// What went wrong.
    pub error: io::Error,
    /// The request was not written at all (a write failed on a connection the instance had
    /// closed): it may go out again on another connection, whatever its method.
    pub unsent: bool,
}

impl Conn {
    /// A fresh connection.
    pub fn new(io: Io) -> Conn {
        Conn {
            io,
            input: BytesMut::with_capacity(READ_CHUNK),
            output: Vec::with_capacity(1024),
            reusable: true,
        }
    }

    /// Whether the connection can carry another exchange.
    pub fn reusable(&self) -> bool {
        self.reusable
    }

    /// Whether an idle connection is still fit for a request: the instance has neither closed
    /// it nor sent anything unasked. Costs no syscall while the reactor has seen nothing
    /// arrive on it (tokio answers from its readiness state).
    pub fn still_open(&mut self) -> bool {
        if !self.input.is_empty() || !self.reusable {
            return false;
        }
        let mut byte = [0u8; 1];
        match &mut self.io {
            // `try_read` answers from tokio's readiness without a syscall while nothing has
            // arrived, and, unlike `poll_read`, never says "not now" for want of task budget.
            Io::Tcp(tcp) => {
                matches!(tcp.try_read(&mut byte), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
            }
            Io::Tls(_) => {
                let mut buf = ReadBuf::new(&mut byte);
                let mut cx = Context::from_waker(Waker::noop());
                // Pending: nothing to read, so still open. Ready: EOF, an error, stray bytes.
                Pin::new(&mut self.io).poll_read(&mut cx, &mut buf).is_pending()
            }
        }
    }

    /// Sends a request (origin-form `target`, `host`, `headers` without framing headers of
    /// their own, a complete `body`) and reads the response head, interim responses skipped.
    pub async fn exchange(
        &mut self,
        method: &Method,
        target: &str,
        host: &HeaderValue,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Head, ExchangeError> {
        debug_assert!(body.len() <= MAX_BODY, "larger bodies go out on hyper's client");
        self.write_head(method, target, host, headers, body.len());
        // Head and body in one write: nothing is read before it is all out, which is fine
        // for a body this small (the socket buffer takes it), not for an upload.
        self.output.extend_from_slice(body);
        let mut written = 0;
        while written < self.output.len() {
            match self.io.write(&self.output[written..]).await {
                Ok(0) => {
                    return Err(self.write_failed(io::ErrorKind::WriteZero.into(), written));
                }
                Ok(n) => written += n,
                Err(error) => return Err(self.write_failed(error, written)),
            }
        }
        if let Err(error) = self.io.flush().await {
            return Err(self.write_failed(error, written));
        }
        loop {
            let head = self.read_head(method).await.map_err(|error| {
                self.reusable = false;
                ExchangeError { error, unsent: false }
            })?;
            // Interim responses (100 Continue, 103 Early Hints) precede the real one; nothing
            // asked for a protocol switch (`Upgrade` is not forwarded), so a 101 is an error.
            if head.status == StatusCode::SWITCHING_PROTOCOLS {
                self.reusable = false;
                return Err(ExchangeError {
                    error: malformed("unsolicited 101 Switching Protocols"),
                    unsent: false,
                });
            }
            if head.status.is_informational() {
                continue;
            }
            return Ok(head);
        }
    }

    /// A write failed after `written` bytes: the request is unsent only if none went out and
    /// the instance had closed the connection (over TLS, nothing is known to be unsent).
    fn write_failed(&mut self, error: io::Error, written: usize) -> ExchangeError {
        self.reusable = false;
        let closed = matches!(
            error.kind(),
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
        );
        ExchangeError {
            unsent: written == 0 && closed && matches!(self.io, Io::Tcp(_)),
            error,
        }
    }

    fn write_head(
        &mut self,
        method: &Method,
        target: &str,
        host: &HeaderValue,
        headers: &HeaderMap,
        body: usize,
    ) {
        self.output.clear();
        let headers = headers.iter().map(|(n, v)| (n.as_str().as_bytes(), v.as_bytes()));
        // The framing headers and `Host` are the writer's own: the client's are not passed on.
        let close = gauntlet_http1::write_request_head(
            &mut self.output,
            method.as_str(),
            target,
            host.as_bytes(),
            headers,
            body,
        );
        if close {
            self.reusable = false;
        }
    }

    /// Reads more bytes into `input` (at least [`READ_CHUNK`] of room); 0 at EOF.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.input.capacity() - self.input.len() < READ_CHUNK {
            self.input.reserve(READ_CHUNK);
        }
        // `read_buf`'s future keeps no state between polls: a new one per poll is one read.
        let read = self.io.read_buf(&mut self.input);
        tokio::pin!(read);
        read.poll(cx)
    }

    async fn fill(&mut self) -> io::Result<()> {
        if std::future::poll_fn(|cx| self.poll_fill(cx)).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }

    async fn read_head(&mut self, method: &Method) -> io::Result<Head> {
        // Room for a typical answer's headers and what the gateway adds (request id, rate-limit
        // headers) without a regrow.
        let mut headers = HeaderMap::with_capacity(12);
        let head = loop {
            if self.input.is_empty() {
                self.fill().await?;
            }
            let parsed = gauntlet_http1::parse_response_head(
                &self.input,
                *method == Method::HEAD,
                |name, value, kind| {
                    if kind == FramingHeader::TransferEncoding {
                        // The gateway frames the body it sends on by itself.
                        return Ok(());
                    }
                    let name = HeaderName::from_bytes(name).map_err(|_| Malformed("response header name"))?;
                    let value =
                        HeaderValue::from_bytes(value).map_err(|_| Malformed("response header value"))?;
                    headers.append(name, value);
                    Ok(())
                },
            )?;
            match parsed {
                Some(head) => break head,
                None => self.fill().await?,
            }
        };
        let status = StatusCode::from_u16(head.status).map_err(|_| malformed("response status"))?;
        self.input.advance(head.len);
        if head.framed.ignore_content_length {
            headers.remove(header::CONTENT_LENGTH);
        }
        if !head.framed.reusable {
            self.reusable = false;
        }
        let framing = match head.framed.body {
            BodyFraming::Empty => None,
            BodyFraming::Length(n) => Some(Framing::Length(n)),
            BodyFraming::Chunked => Some(Framing::Chunked(ChunkedDecoder::default())),
            BodyFraming::UntilClose => Some(Framing::UntilClose),
        };
        Ok(Head {
            status,
            headers,
            framing,
        })
    }

    /// The whole body of `head` when it is already in the buffer (or there is none).
    pub fn complete_body(&mut self, head: &Head) -> Option<Bytes> {
        match head.framing {
            None | Some(Framing::Length(0)) => Some(Bytes::new()),
            Some(Framing::Length(n)) if n <= self.input.len() as u64 => {
                Some(self.input.split_to(n as usize).freeze())
            }
            _ => None,
        }
    }

    /// Decodes the next piece of a body framed by `framing`: `Ok(None)` at its end.
    fn poll_body(&mut self, framing: &mut Framing, cx: &mut Context<'_>) -> Poll<io::Result<Option<Bytes>>> {
        loop {
            match framing {
                Framing::Length(0) => return Poll::Ready(Ok(None)),
                Framing::Length(left) => {
                    if self.input.is_empty() && ready!(self.poll_fill(cx))? == 0 {
                        self.reusable = false;
                        return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
                    }
                    let n = (*left).min(self.input.len() as u64);
                    *left -= n;
                    return Poll::Ready(Ok(Some(self.input.split_to(n as usize).freeze())));
                }
                Framing::UntilClose => {
                    if self.input.is_empty() && ready!(self.poll_fill(cx))? == 0 {
                        return Poll::Ready(Ok(None));
                    }
                    return Poll::Ready(Ok(Some(self.input.split().freeze())));
                }
                Framing::Chunked(decoder) => match decoder.decode(&mut self.input).map_err(io::Error::from) {
                    Ok(Decoded::Data(data)) => return Poll::Ready(Ok(Some(data))),
                    Ok(Decoded::NeedMore) => ready!(self.need_more(cx))?,
                    Ok(Decoded::End) => *framing = Framing::Length(0),
                    Err(err) => return Poll::Ready(Err(err)),
                },
            }
        }
    }

    /// Reads more for a body that is not over; EOF here is a truncated body.
    fn need_more(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if ready!(self.poll_fill(cx))? == 0 {
            self.reusable = false;
            return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
        }
        Poll::Ready(Ok(()))
    }
}

/// A response body read from its connection as it is polled. `on_end` gets the connection
/// back when the body has been read to its end; a body dropped before that closes it.
pub struct Streaming<F: FnOnce(Conn) + Send + Unpin> {
    conn: Option<Conn>,
    framing: Framing,
    on_end: Option<F>,
}

impl<F: FnOnce(Conn) + Send + Unpin> Streaming<F> {
    /// The body of `head`, read from `conn`. `head` must have a body ([`Conn::complete_body`]
    /// answered `None`).
    pub fn new(conn: Conn, head: &Head, on_end: F) -> Self {
        Streaming {
            conn: Some(conn),
            framing: head.framing.unwrap_or(Framing::Length(0)),
            on_end: Some(on_end),
        }
    }
}

impl<F: FnOnce(Conn) + Send + Unpin> hyper::body::Body for Streaming<F> {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = &mut *self;
        let Some(conn) = this.conn.as_mut() else {
            return Poll::Ready(None);
        };
        match ready!(conn.poll_body(&mut this.framing, cx)) {
            Ok(Some(data)) => Poll::Ready(Some(Ok(Frame::data(data)))),
            // The end: the connection goes back in `drop` (hyper may stop polling at the end
            // `is_end_stream` announces, before this).
            Ok(None) => Poll::Ready(None),
            Err(err) => {
                this.conn = None;
                Poll::Ready(Some(Err(err)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.conn.is_none() || self.framing == Framing::Length(0)
    }

    fn size_hint(&self) -> SizeHint {
        match self.framing {
            Framing::Length(n) => SizeHint::with_exact(n),
            _ => SizeHint::default(),
        }
    }
}

impl<F: FnOnce(Conn) + Send + Unpin> Drop for Streaming<F> {
    fn drop(&mut self) {
        if self.framing == Framing::Length(0)
            && let (Some(conn), Some(on_end)) = (self.conn.take(), self.on_end.take())
            && conn.reusable
        {
            on_end(conn);
        }
    }
}
