//! The gateway's own HTTP/1.1 client exchange, for requests whose body is already complete (no
//! body, or one kept for retries): the request is written and the response head read inline, in
//! the task serving the client's request, with `httparse`. hyper's connection-level client
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

use gauntlet_http1::{BodyFraming, FramingHeader, ResponseFraming};

use crate::connect::Io;

/// Response headers beyond this count make the response malformed (hyper's default is 100).
const MAX_HEADERS: usize = 100;
/// A response head larger than this is refused, as hyper does (its default buffer limit).
const MAX_HEAD: usize = 400 * 1024;
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
    Chunked(Chunk),
    UntilClose,
}

/// Where a chunked body's decoding stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Before a chunk-size line.
    Size,
    /// Inside a chunk's data, this many bytes left.
    Data(u64),
    /// After a chunk's data, before its CRLF.
    DataEnd,
    /// After the last chunk: trailer fields (dropped), then the empty line.
    Trailers,
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
        let out = &mut self.output;
        out.clear();
        out.extend_from_slice(method.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(target.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
        out.extend_from_slice(host.as_bytes());
        out.extend_from_slice(b"\r\n");
        for (name, value) in headers {
            // The framing is this client's to write; `Host` was written above.
            if name == header::CONTENT_LENGTH || name == header::HOST || name == header::TRANSFER_ENCODING {
                continue;
            }
            if name == header::CONNECTION && value.as_bytes().eq_ignore_ascii_case(b"close") {
                self.reusable = false;
            }
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        // A body is always framed; methods that usually carry one say when it is empty.
        if body > 0 || matches!(*method, Method::POST | Method::PUT | Method::PATCH) {
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(itoa_usize(body, &mut [0u8; 20]));
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
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
        loop {
            if self.input.is_empty() {
                self.fill().await?;
            }
            // Uninitialised slots: initialising 100 headers per parse costs more than parsing.
            let mut slots = [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
            let mut response = httparse::Response::new(&mut []);
            let parsed = httparse::ParserConfig::default()
                .parse_response_with_uninit_headers(&mut response, &self.input, &mut slots)
                .map_err(|e| malformed(&format!("response head: {e}")))?;
            let httparse::Status::Complete(head_len) = parsed else {
                if self.input.len() > MAX_HEAD {
                    return Err(malformed("response head too large"));
                }
                self.fill().await?;
                continue;
            };
            let status =
                StatusCode::from_u16(response.code.unwrap_or(0)).map_err(|_| malformed("response status"))?;
            let mut framing = ResponseFraming::default();
            // Room for what the gateway adds (request id, rate-limit headers) without a regrow.
            let mut headers = HeaderMap::with_capacity(response.headers.len() + 4);
            for field in response.headers.iter() {
                let kind = framing.header(field.name.as_bytes(), field.value)?;
                if kind == FramingHeader::TransferEncoding {
                    // The gateway frames the body it sends on by itself.
                    continue;
                }
                let name = HeaderName::from_bytes(field.name.as_bytes())
                    .map_err(|_| malformed("response header name"))?;
                let value =
                    HeaderValue::from_bytes(field.value).map_err(|_| malformed("response header value"))?;
                headers.append(name, value);
            }
            let minor_version = response.version.unwrap_or(0);
            self.input.advance(head_len);
            let framed = framing.finish(minor_version, status.as_u16(), *method == Method::HEAD)?;
            if framed.ignore_content_length {
                headers.remove(header::CONTENT_LENGTH);
            }
            if !framed.reusable {
                self.reusable = false;
            }
            let framing = match framed.body {
                BodyFraming::Empty => None,
                BodyFraming::Length(n) => Some(Framing::Length(n)),
                BodyFraming::Chunked => Some(Framing::Chunked(Chunk::Size)),
                BodyFraming::UntilClose => Some(Framing::UntilClose),
            };
            return Ok(Head {
                status,
                headers,
                framing,
            });
        }
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
                Framing::Chunked(chunk) => match *chunk {
                    Chunk::Size => match gauntlet_http1::chunk_size(&self.input).map_err(io::Error::from) {
                        Ok(Some((line, size))) => {
                            self.input.advance(line);
                            *chunk = if size == 0 {
                                Chunk::Trailers
                            } else {
                                Chunk::Data(size)
                            };
                        }
                        Ok(None) => ready!(self.need_more(cx))?,
                        Err(err) => return Poll::Ready(Err(err)),
                    },
                    Chunk::Data(left) => {
                        if self.input.is_empty() {
                            ready!(self.need_more(cx))?;
                            continue;
                        }
                        let n = left.min(self.input.len() as u64);
                        *chunk = if n == left {
                            Chunk::DataEnd
                        } else {
                            Chunk::Data(left - n)
                        };
                        return Poll::Ready(Ok(Some(self.input.split_to(n as usize).freeze())));
                    }
                    Chunk::DataEnd => {
                        if self.input.len() < 2 {
                            ready!(self.need_more(cx))?;
                        } else if &self.input[..2] == b"\r\n" {
                            self.input.advance(2);
                            *chunk = Chunk::Size;
                        } else {
                            return Poll::Ready(Err(malformed("chunk not followed by CRLF")));
                        }
                    }
                    Chunk::Trailers => match self.input.windows(2).position(|w| w == b"\r\n") {
                        Some(0) => {
                            self.input.advance(2);
                            *framing = Framing::Length(0);
                        }
                        Some(end) => self.input.advance(end + 2),
                        None if self.input.len() > MAX_HEAD => {
                            return Poll::Ready(Err(malformed("trailers too large")));
                        }
                        None => ready!(self.need_more(cx))?,
                    },
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

/// `n` in decimal, without an allocation.
pub(crate) fn itoa_usize(mut n: usize, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[at..];
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_decimal_lengths() {
        for n in [0usize, 7, 10, 1234, usize::MAX] {
            assert_eq!(itoa_usize(n, &mut [0; 20]), n.to_string().as_bytes());
        }
    }
}
