//! One HTTP/1.1 connection of a virtual user: the request written and the response read inline
//! in the user's task, the head parsed with `httparse` under size limits, the body framed by
//! `gauntlet-http1`'s rules (content length, chunked, until close).

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use gauntlet_http1::{BodyFraming, ResponseFraming};

use super::{Exchange, Outgoing};

/// Response headers beyond this count make the response malformed (hyper's default is 100).
const MAX_HEADERS: usize = 100;
/// A response head larger than this is refused, as hyper does (its default buffer limit).
const MAX_HEAD: usize = 400 * 1024;
/// Most room reserved at once for a body of announced length.
const MAX_RESERVE: usize = 1024 * 1024;

/// One open HTTP/1.1 connection.
pub(super) struct Connection {
    stream: TcpStream,
    /// Bytes read and not yet consumed.
    input: BytesMut,
    /// The request being written.
    output: Vec<u8>,
    /// False once either side said `Connection: close`, or the body ran to EOF.
    pub(super) reusable: bool,
}

/// How the response body is delimited (RFC 9112 section 6.3).
enum Framing {
    None,
    Length(usize),
    Chunked,
    UntilClose,
}

fn malformed(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}

impl Connection {
    pub(super) async fn open(authority: &str) -> std::io::Result<Connection> {
        let stream = TcpStream::connect(authority).await?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream,
            input: BytesMut::with_capacity(8 * 1024),
            output: Vec::with_capacity(1024),
            reusable: true,
        })
    }

    /// Reads more bytes into `input`; an error at EOF.
    async fn fill(&mut self) -> std::io::Result<()> {
        if self.input.capacity() - self.input.len() < 1024 {
            self.input.reserve(8 * 1024);
        }
        if self.stream.read_buf(&mut self.input).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }

    pub(super) async fn exchange(
        &mut self,
        authority: &str,
        request: &Outgoing,
        want_headers: bool,
    ) -> std::io::Result<Exchange> {
        self.write_head(authority, request);
        self.output.extend_from_slice(&request.body);
        self.stream.write_all(&self.output).await?;
        loop {
            let (status, headers, framing) = self.read_head(&request.method, want_headers).await?;
            // Interim responses (100 Continue, 103 Early Hints) precede the real one.
            if (100..200).contains(&status) && status != 101 {
                continue;
            }
            let body = self.read_body(framing).await?;
            return Ok(Exchange {
                status,
                headers,
                body,
            });
        }
    }

    fn write_head(&mut self, authority: &str, request: &Outgoing) {
        let out = &mut self.output;
        out.clear();
        out.extend_from_slice(request.method.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(request.target.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
        out.extend_from_slice(authority.as_bytes());
        out.extend_from_slice(b"\r\n");
        for (name, value) in &request.headers {
            if name == http::header::CONNECTION && value.as_bytes().eq_ignore_ascii_case(b"close") {
                self.reusable = false;
            }
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        // A body is always framed; methods that usually carry one say when it is empty.
        let carries_body = matches!(request.method, Method::POST | Method::PUT | Method::PATCH);
        if !request.body.is_empty() || carries_body {
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(request.body.len().to_string().as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }

    /// Reads and parses one response head; returns the status, the headers (when wanted) and
    /// how the body is framed.
    async fn read_head(
        &mut self,
        method: &Method,
        want_headers: bool,
    ) -> std::io::Result<(u16, HeaderMap, Framing)> {
        loop {
            // Uninitialised slots: initialising 100 headers per parse was a tenth of the
            // client's instructions.
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
            let status = response.code.unwrap_or(0);
            let minor_version = response.version.unwrap_or(0);
            let mut framing = ResponseFraming::default();
            let mut headers = HeaderMap::new();
            for header in response.headers.iter() {
                let name = header.name.as_bytes();
                framing.header(name, header.value)?;
                if want_headers
                    && let (Ok(n), Ok(v)) = (
                        HeaderName::from_bytes(name),
                        HeaderValue::from_bytes(header.value),
                    )
                {
                    headers.append(n, v);
                }
            }
            self.input.advance(head_len);
            let framed = framing.finish(minor_version, status, *method == Method::HEAD)?;
            if !framed.reusable {
                self.reusable = false;
            }
            let framing = match framed.body {
                BodyFraming::Empty => Framing::None,
                BodyFraming::Length(n) => {
                    Framing::Length(usize::try_from(n).map_err(|_| malformed("body too large"))?)
                }
                BodyFraming::Chunked => Framing::Chunked,
                BodyFraming::UntilClose => Framing::UntilClose,
            };
            return Ok((status, headers, framing));
        }
    }

    async fn read_body(&mut self, framing: Framing) -> std::io::Result<Bytes> {
        match framing {
            Framing::None => Ok(Bytes::new()),
            Framing::Length(n) => {
                while self.input.len() < n {
                    // Grown as the body arrives: a length the target announces but never
                    // sends (or a huge one) must not allocate it all up front.
                    self.input.reserve((n - self.input.len()).min(MAX_RESERVE));
                    self.fill().await?;
                }
                Ok(self.input.split_to(n).freeze())
            }
            Framing::UntilClose => {
                loop {
                    match self.fill().await {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                        Err(e) => return Err(e),
                    }
                }
                Ok(self.input.split().freeze())
            }
            Framing::Chunked => self.read_chunked().await,
        }
    }

    async fn read_chunked(&mut self) -> std::io::Result<Bytes> {
        let mut body = BytesMut::new();
        loop {
            let (size_len, size) = loop {
                match gauntlet_http1::chunk_size(&self.input)? {
                    Some(found) => break found,
                    None => self.fill().await?,
                }
            };
            let size = usize::try_from(size).map_err(|_| malformed("chunk too large"))?;
            if size == 0 {
                self.input.advance(size_len);
                // Trailer fields, then the empty line.
                loop {
                    match self.input.windows(2).position(|w| w == b"\r\n") {
                        Some(0) => {
                            self.input.advance(2);
                            return Ok(body.freeze());
                        }
                        Some(end) => self.input.advance(end + 2),
                        None if self.input.len() > MAX_HEAD => return Err(malformed("trailers too large")),
                        None => self.fill().await?,
                    }
                }
            }
            let end = size_len
                .checked_add(size)
                .and_then(|n| n.checked_add(2))
                .ok_or_else(|| malformed("chunk too large"))?;
            while self.input.len() < end {
                self.fill().await?;
            }
            self.input.advance(size_len);
            body.extend_from_slice(&self.input[..size]);
            if &self.input[size..size + 2] != b"\r\n" {
                return Err(malformed("chunk not followed by CRLF"));
            }
            self.input.advance(size + 2);
        }
    }
}
