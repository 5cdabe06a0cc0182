//! Response heads: parsed under limits, every header shown once to the caller, the body's
//! framing decided as the headers go by.

use std::mem::MaybeUninit;

use crate::{Framed, FramingHeader, Malformed, ResponseFraming, parse_error};

/// Header slots offered to the parser: a response with more is malformed (hyper's default).
pub const MAX_RESPONSE_HEADERS: usize = 100;
/// A response head still incomplete at this size is refused (hyper's default buffer limit).
pub const MAX_RESPONSE_HEAD: usize = 400 * 1024;

/// A parsed response head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseHead {
    /// The status code.
    pub status: u16,
    /// `1` for HTTP/1.1, `0` for HTTP/1.0.
    pub minor_version: u8,
    /// The head's length in the input: the body (if any) starts there.
    pub len: usize,
    /// How its body is delimited and whether the connection can be reused.
    pub framed: Framed,
}

/// Parses the response head at the start of `input`, calling `on_header` with each header's
/// name, value and what it is to the framing (in order; return an error to refuse one).
/// `Ok(None)`: incomplete, read more. `head_request`: the request was HEAD (no body follows).
/// Inlined: it runs once per response on the load generator's hot path.
#[inline]
pub fn parse_response_head(
    input: &[u8],
    head_request: bool,
    mut on_header: impl FnMut(&[u8], &[u8], FramingHeader) -> Result<(), Malformed>,
) -> Result<Option<ResponseHead>, Malformed> {
    // Uninitialised slots: initialising 100 headers per parse was a tenth of the load client's
    // instructions.
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_RESPONSE_HEADERS];
    let mut response = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut response, input, &mut slots)
        .map_err(|e| parse_error(true, e))?;
    let httparse::Status::Complete(len) = parsed else {
        if input.len() > MAX_RESPONSE_HEAD {
            return Err(Malformed("response head too large"));
        }
        return Ok(None);
    };
    let status = response.code.unwrap_or(0);
    let minor_version = response.version.unwrap_or(0);
    let mut framing = ResponseFraming::default();
    for field in response.headers.iter() {
        let name = field.name.as_bytes();
        let kind = framing.header(name, field.value)?;
        on_header(name, field.value, kind)?;
    }
    Ok(Some(ResponseHead {
        status,
        minor_version,
        len,
        framed: framing.finish(minor_version, status, head_request)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BodyFraming;

    fn parse(input: &[u8]) -> Result<Option<(ResponseHead, Vec<String>)>, Malformed> {
        let mut seen = Vec::new();
        let head = parse_response_head(input, false, |name, value, kind| {
            seen.push(format!(
                "{}={} {kind:?}",
                String::from_utf8_lossy(name),
                String::from_utf8_lossy(value)
            ));
            Ok(())
        })?;
        Ok(head.map(|h| (h, seen)))
    }

    #[test]
    fn parses_a_head_and_shows_every_header_once() {
        let (head, seen) = parse(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nX-A: b\r\n\r\nok")
            .unwrap()
            .unwrap();
        assert_eq!((head.status, head.minor_version, head.len), (201, 1, 51));
        assert_eq!(head.framed.body, BodyFraming::Length(2));
        assert_eq!(seen, ["Content-Length=2 ContentLength", "X-A=b Other"]);
    }

    #[test]
    fn incomplete_heads_wait_until_the_limit_and_bad_ones_are_malformed() {
        assert_eq!(parse(b"HTTP/1.1 200 OK\r\nContent-Le"), Ok(None));
        let huge = [&b"HTTP/1.1 200 OK\r\nx: "[..], &vec![b'a'; MAX_RESPONSE_HEAD]].concat();
        assert_eq!(parse(&huge), Err(Malformed("response head too large")));
        assert_eq!(
            parse(b"HTTP/9 200 OK\r\n\r\n"),
            Err(Malformed("response head: invalid HTTP version"))
        );
        let many: String = (0..=MAX_RESPONSE_HEADERS)
            .map(|i| format!("h{i}: v\r\n"))
            .collect();
        assert_eq!(
            parse(format!("HTTP/1.1 200 OK\r\n{many}\r\n").as_bytes()),
            Err(Malformed("response head: too many headers"))
        );
        // A refusal from the caller stops the parse.
        let refused = parse_response_head(b"HTTP/1.1 200 OK\r\nx: y\r\n\r\n", false, |_, _, _| {
            Err(Malformed("no"))
        });
        assert_eq!(refused, Err(Malformed("no")));
    }
}
