//! Sans-IO HTTP/1.1 (RFC 9112): the one place in the workspace that parses and writes HTTP/1.1
//! messages, shared by the load generator's client (`gauntlet_client::http`), the gateway's
//! upstream client (`stack_gateway::h1`) and the gateway's own server loop
//! (`stack_gateway::server`). Each of those keeps only its I/O: reading into a buffer, handing
//! it here, acting on the answer.
//!
//! - [`parse_response_head`] and [`parse_request_head`]: heads parsed with `httparse` under
//!   limits, every header seen once by the caller (no header map unless it builds one);
//! - [`ResponseFraming`] / [`Framed`]: how a body is delimited and whether the connection can
//!   be reused, as strictly as hyper;
//! - [`write_request_head`]: a request head, with the framing headers written by the writer;
//! - [`ChunkedDecoder`] and [`chunk_size`]: the chunked coding, decoded as bytes arrive.

use std::fmt;

mod chunked;
mod framing;
mod request;
mod response;

pub use chunked::{ChunkedDecoder, Decoded, MAX_CHUNK_LINE, MAX_TRAILERS, chunk_size};
pub use framing::{BodyFraming, Framed, FramingHeader, ResponseFraming};
pub use request::{
    MAX_REQUEST_HEADERS, RequestFraming, RequestHead, parse_request_head, push_decimal, write_request_head,
};
pub use response::{MAX_RESPONSE_HEAD, MAX_RESPONSE_HEADERS, ResponseHead, parse_response_head};

/// A message that cannot be parsed or framed: what was wrong with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Malformed {}

impl From<Malformed> for std::io::Error {
    fn from(err: Malformed) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::InvalidData, err.0)
    }
}

/// httparse's error as a static message, prefixed with what was being parsed.
fn parse_error(response: bool, error: httparse::Error) -> Malformed {
    use httparse::Error::*;
    Malformed(match (response, error) {
        (true, HeaderName) => "response head: invalid header name",
        (true, HeaderValue) => "response head: invalid header value",
        (true, NewLine) => "response head: invalid new line",
        (true, Status) => "response head: invalid response status",
        (true, Token) => "response head: invalid token",
        (true, TooManyHeaders) => "response head: too many headers",
        (true, Version) => "response head: invalid HTTP version",
        (false, HeaderName) => "request head: invalid header name",
        (false, HeaderValue) => "request head: invalid header value",
        (false, NewLine) => "request head: invalid new line",
        (false, Status) => "request head: invalid status",
        (false, Token) => "request head: invalid token",
        (false, TooManyHeaders) => "request head: too many headers",
        (false, Version) => "request head: invalid HTTP version",
    })
}
