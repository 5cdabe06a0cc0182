//! Request heads: parsed (for a server) under limits with the framing fields read by the same
//! rules as a response's, and written (for a client) with the framing headers the writer's own.

use std::mem::MaybeUninit;

use crate::{Malformed, ResponseFraming, parse_error};

/// Header slots offered to the request parser: a request with more is malformed.
pub const MAX_REQUEST_HEADERS: usize = 128;

/// What a request's headers say about its framing and its connection.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RequestFraming {
    /// `Content-Length`, when sent (digits only; repeated copies must agree).
    pub length: Option<u64>,
    /// A `Transfer-Encoding` was sent.
    pub transfer_encoding: bool,
    /// `Connection` holds the `close` token.
    pub close: bool,
    /// An `Expect` was sent (e.g. `100-continue`).
    pub expect: bool,
    /// An `Upgrade` was sent.
    pub upgrade: bool,
}

/// A parsed request head; its strings are slices of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestHead<'b> {
    /// The method, as sent.
    pub method: &'b str,
    /// The request target, as sent.
    pub target: &'b str,
    /// `1` for HTTP/1.1, `0` for HTTP/1.0.
    pub minor_version: u8,
    /// The head's length in the input: the body (if any) starts there.
    pub len: usize,
    /// What the headers say about the framing.
    pub framing: RequestFraming,
}

/// Parses the request head at the start of `input`, calling `on_header` with each header's
/// name and value (slices of `input`, in order). `Ok(None)`: incomplete, read more — how long
/// a head may grow is the server's policy (it answers 431), not the parser's.
#[inline]
pub fn parse_request_head<'b>(
    input: &'b [u8],
    mut on_header: impl FnMut(&'b [u8], &'b [u8]),
) -> Result<Option<RequestHead<'b>>, Malformed> {
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_REQUEST_HEADERS];
    let mut request = httparse::Request::new(&mut []);
    let parsed = httparse::ParserConfig::default()
        .parse_request_with_uninit_headers(&mut request, input, &mut slots)
        .map_err(|e| parse_error(false, e))?;
    let httparse::Status::Complete(len) = parsed else {
        return Ok(None);
    };
    let mut fields = ResponseFraming::default();
    let mut framing = RequestFraming::default();
    for field in request.headers.iter() {
        let name = field.name.as_bytes();
        fields.header(name, field.value)?;
        match name.len() {
            6 if name.eq_ignore_ascii_case(b"expect") => framing.expect = true,
            7 if name.eq_ignore_ascii_case(b"upgrade") => framing.upgrade = true,
            _ => {}
        }
        on_header(name, field.value);
    }
    framing.length = fields.length;
    framing.transfer_encoding = fields.transfer_coding.is_some();
    framing.close = fields.close;
    Ok(Some(RequestHead {
        method: request.method.unwrap_or(""),
        target: request.path.unwrap_or(""),
        minor_version: request.version.unwrap_or(0),
        len,
        framing,
    }))
}

/// Appends a request head to `out`: the request line, `host`, then `headers` except the ones
/// the writer owns (`Host`, `Content-Length`, `Transfer-Encoding`), then `content-length:
/// body_len` when there is a body or the method usually carries one (POST, PUT, PATCH say so
/// when it is empty). Returns whether a `Connection: close` went out: the connection is not to
/// be reused after the response.
#[inline]
pub fn write_request_head<'h>(
    out: &mut Vec<u8>,
    method: &str,
    target: &str,
    host: &[u8],
    headers: impl IntoIterator<Item = (&'h [u8], &'h [u8])>,
    body_len: usize,
) -> bool {
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
    out.extend_from_slice(host);
    out.extend_from_slice(b"\r\n");
    let mut close = false;
    for (name, value) in headers {
        // By length first: most headers are none of these.
        match name.len() {
            4 if name.eq_ignore_ascii_case(b"host") => continue,
            14 if name.eq_ignore_ascii_case(b"content-length") => continue,
            17 if name.eq_ignore_ascii_case(b"transfer-encoding") => continue,
            10 if name.eq_ignore_ascii_case(b"connection") => close |= value.eq_ignore_ascii_case(b"close"),
            _ => {}
        }
        out.extend_from_slice(name);
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    if body_len > 0 || matches!(method, "POST" | "PUT" | "PATCH") {
        out.extend_from_slice(b"content-length: ");
        push_decimal(out, body_len as u64);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    close
}

/// Appends `n` in decimal, without an allocation.
#[inline]
pub fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[at..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_request_head_with_its_framing_fields() {
        let input = b"POST /v1/movies?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nConnection: keep-alive, close\r\nExpect: 100-continue\r\n\r\n{}";
        let mut names = Vec::new();
        let head = parse_request_head(input, |name, _| names.push(name.to_vec()))
            .unwrap()
            .unwrap();
        assert_eq!(
            (head.method, head.target, head.minor_version),
            ("POST", "/v1/movies?x=1", 1)
        );
        assert_eq!(&input[head.len..], b"{}");
        assert_eq!(
            head.framing,
            RequestFraming {
                length: Some(2),
                transfer_encoding: false,
                close: true,
                expect: true,
                upgrade: false
            }
        );
        assert_eq!(names.len(), 4);
        assert_eq!(parse_request_head(b"GET / HTTP/1.1\r\nHost", |_, _| {}), Ok(None));
        assert_eq!(
            parse_request_head(
                b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                |_, _| {}
            ),
            Err(Malformed("conflicting content-length"))
        );
        let head = parse_request_head(
            b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nUpgrade: h2c\r\n\r\n",
            |_, _| {},
        )
        .unwrap()
        .unwrap();
        assert!(head.framing.transfer_encoding && head.framing.upgrade);
    }

    #[test]
    fn writes_a_request_head_owning_its_framing_headers() {
        let mut out = Vec::new();
        let headers: [(&[u8], &[u8]); 4] = [
            (b"accept", b"*/*"),
            (b"Host", b"evil"),
            (b"content-length", b"99"),
            (b"transfer-encoding", b"chunked"),
        ];
        let close = write_request_head(&mut out, "GET", "/x", b"api:80", headers, 0);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "GET /x HTTP/1.1\r\nhost: api:80\r\naccept: */*\r\n\r\n"
        );
        assert!(!close);
        let mut out = Vec::new();
        let close = write_request_head(
            &mut out,
            "POST",
            "/",
            b"h",
            [(&b"connection"[..], &b"Close"[..])],
            0,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "POST / HTTP/1.1\r\nhost: h\r\nconnection: Close\r\ncontent-length: 0\r\n\r\n"
        );
        assert!(close);
    }

    #[test]
    fn writes_decimal_lengths() {
        for n in [0, 7, 10, 99, 1234, u64::MAX] {
            let mut out = Vec::new();
            push_decimal(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
    }
}
