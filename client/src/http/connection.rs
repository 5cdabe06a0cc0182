//! One HTTP/1.1 connection of a virtual user: the request written and the response read inline
//! in the user's task. Parsing, head writing, framing and chunked decoding are
//! `gauntlet-http1`'s; this file keeps only the I/O.

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use gauntlet_http1::{BodyFraming, ChunkedDecoder, Decoded};

use super::{Exchange, Outgoing, Reads};

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
    /// Whether the current exchange's request went out whole.
    pub(super) sent: bool,
    /// Whether any byte of the current exchange's response arrived: a failure before that, on
    /// a connection the server may have closed while it was idle, is not the server's answer.
    pub(super) answered: bool,
}

/// How the response body is delimited (RFC 9112 section 6.3).
enum Framing {
    None,
    Length(usize),
    Chunked,
    UntilClose,
}

/// A body over the limit: its own error kind, so `Connections::send` counts it as
/// `body_too_large`, not `io`.
fn too_large() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::FileTooLarge, "response body over max_body")
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
            sent: false,
            answered: false,
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
        self.answered = true;
        Ok(())
    }

    pub(super) async fn exchange(
        &mut self,
        authority: &str,
        request: &Outgoing,
        reads: Reads,
        max_body: usize,
    ) -> std::io::Result<Exchange> {
        (self.sent, self.answered) = (false, !self.input.is_empty());
        self.write_head(authority, request);
        self.output.extend_from_slice(&request.body);
        self.stream.write_all(&self.output).await?;
        self.sent = true;
        loop {
            let (status, headers, framing) = self.read_head(&request.method, reads.headers).await?;
            // Interim responses (100 Continue, 103 Early Hints) precede the real one.
            if (100..200).contains(&status) && status != 101 {
                continue;
            }
            let body = self.read_body(framing, max_body, reads.body).await?;
            return Ok(Exchange {
                status,
                headers,
                body_len: body.len as u64,
                body: body.join(),
            });
        }
    }

    fn write_head(&mut self, authority: &str, request: &Outgoing) {
        self.output.clear();
        let headers = request
            .headers
            .iter()
            .map(|(n, v)| (n.as_str().as_bytes(), v.as_bytes()));
        let close = gauntlet_http1::write_request_head(
            &mut self.output,
            request.method.as_str(),
            &request.target,
            authority.as_bytes(),
            headers,
            request.body.len(),
        );
        if close {
            self.reusable = false;
        }
    }

    /// Reads and parses one response head; returns the status, the headers (when wanted) and
    /// how the body is framed.
    async fn read_head(
        &mut self,
        method: &Method,
        want_headers: bool,
    ) -> std::io::Result<(u16, HeaderMap, Framing)> {
        let mut headers = HeaderMap::new();
        let head = loop {
            let parsed = gauntlet_http1::parse_response_head(
                &self.input,
                *method == Method::HEAD,
                |name, value, _| {
                    if want_headers
                        && let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
                    {
                        headers.append(n, v);
                    }
                    Ok(())
                },
            )?;
            match parsed {
                Some(head) => break head,
                None => self.fill().await?,
            }
        };
        self.input.advance(head.len);
        if !head.framed.reusable {
            self.reusable = false;
        }
        let framing = match head.framed.body {
            BodyFraming::Empty => Framing::None,
            BodyFraming::Length(n) => {
                Framing::Length(usize::try_from(n).map_err(|_| malformed("body too large"))?)
            }
            BodyFraming::Chunked => Framing::Chunked,
            BodyFraming::UntilClose => Framing::UntilClose,
        };
        Ok((head.status, headers, framing))
    }

    /// Reads the body; `keep`: keep its bytes, else only count them.
    async fn read_body(&mut self, framing: Framing, max_body: usize, keep: bool) -> std::io::Result<Pieces> {
        let mut body = Pieces::new(keep);
        match framing {
            Framing::None => {}
            // Announced too large: refused before a byte of it is read.
            Framing::Length(n) if n > max_body => return Err(too_large()),
            Framing::Length(n) if keep => {
                while self.input.len() < n {
                    // Grown as the body arrives: a length the target announces but never
                    // sends (or a huge one) must not allocate it all up front.
                    self.input.reserve((n - self.input.len()).min(MAX_RESERVE));
                    self.fill().await?;
                }
                body.push(self.input.split_to(n).freeze(), max_body)?;
            }
            Framing::Length(n) => {
                let mut left = n;
                loop {
                    let here = left.min(self.input.len());
                    self.input.advance(here);
                    body.len += here;
                    left -= here;
                    if left == 0 {
                        break;
                    }
                    self.fill().await?;
                }
            }
            Framing::UntilClose => loop {
                if !self.input.is_empty() {
                    body.push(self.input.split().freeze(), max_body)?;
                }
                match self.fill().await {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                    Err(e) => return Err(e),
                }
            },
            Framing::Chunked => {
                let mut decoder = ChunkedDecoder::default();
                loop {
                    match decoder.decode(&mut self.input)? {
                        Decoded::Data(data) => body.push(data, max_body)?,
                        Decoded::NeedMore => self.fill().await?,
                        Decoded::End => break,
                    }
                }
            }
        }
        Ok(body)
    }
}

/// A body of unannounced length, kept as the pieces it was read in and joined once, at its
/// end. Grown as one buffer, doubling, it left the system allocator holding every size it went
/// through: each buffer freed past the mmap threshold raises that threshold (glibc), so the
/// next ones came from the thread's arena and stayed there, in every arena a user's task
/// visited. An endless chunked body cost a user about 70 MiB of RSS with a 16 MiB `max_body`.
/// Pieces are the read buffers' own small allocations, which the allocator reuses; a body
/// over `max_body` is dropped without ever having been one large allocation.
/// A body the caller will not read is only counted: its pieces are dropped as they come.
struct Pieces {
    /// Whether the bytes are kept.
    keep: bool,
    /// The first piece: most bodies arrive in one, which is then the body, with no copy.
    first: Option<Bytes>,
    rest: Vec<Bytes>,
    len: usize,
}

impl Pieces {
    fn new(keep: bool) -> Self {
        Pieces {
            keep,
            first: None,
            rest: Vec::new(),
            len: 0,
        }
    }

    /// Adds `piece`; an error when the body would be over `max_body`.
    fn push(&mut self, piece: Bytes, max_body: usize) -> std::io::Result<()> {
        if self.len + piece.len() > max_body {
            return Err(too_large());
        }
        self.len += piece.len();
        if !self.keep {
            return Ok(());
        }
        match self.first {
            None => self.first = Some(piece),
            Some(_) => self.rest.push(piece),
        }
        Ok(())
    }

    /// The whole body, in one buffer.
    fn join(self) -> Bytes {
        let Some(first) = self.first else {
            return Bytes::new();
        };
        if self.rest.is_empty() {
            return first;
        }
        let mut body = BytesMut::with_capacity(self.len);
        body.extend_from_slice(&first);
        for piece in &self.rest {
            body.extend_from_slice(piece);
        }
        body.freeze()
    }
}
