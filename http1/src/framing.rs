//! How a message body is delimited and whether the connection can carry another message
//! (RFC 9112 sections 6.3 and 9.3), read header by header, as strictly as hyper does: a message
//! framed two ways, or with an unreadable length, is an error rather than a guess that could
//! take the next message's bytes for this one's body.

use crate::Malformed;

/// How a response body is delimited (RFC 9112 section 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body: a response to HEAD, a 1xx, 204 or 304.
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Everything until the server closes the connection.
    UntilClose,
}

/// What a header is to the framing: the ones that decide it, and the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FramingHeader {
    /// `Content-Length`.
    ContentLength,
    /// `Transfer-Encoding`.
    TransferEncoding,
    /// `Connection`.
    Connection,
    /// Any other header.
    Other,
}

/// The framing of one response, read header by header (in the caller's own pass over them).
#[derive(Debug, Default)]
pub struct ResponseFraming {
    pub(crate) length: Option<u64>,
    /// `Some(true)`: chunked is the final coding; `Some(false)`: another one is.
    pub(crate) transfer_coding: Option<bool>,
    pub(crate) close: bool,
    keep_alive_token: bool,
}

/// A response's framing, once its head is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framed {
    /// How its body is delimited.
    pub body: BodyFraming,
    /// Whether the connection can carry another request after this response.
    pub reusable: bool,
    /// Whether a `Content-Length` was sent but does not frame the body, which has one (a
    /// `Transfer-Encoding` overrides it): a proxy must not pass it on.
    pub ignore_content_length: bool,
}

impl ResponseFraming {
    /// Takes one header into account; says which kind it is. Inlined: it runs for every
    /// response header the load generator reads, and a call per header was measurable there.
    #[inline]
    pub fn header(&mut self, name: &[u8], value: &[u8]) -> Result<FramingHeader, Malformed> {
        // By length first: most headers are none of the three.
        if !matches!(name.len(), 10 | 14 | 17) {
            return Ok(FramingHeader::Other);
        }
        if name.eq_ignore_ascii_case(b"content-length") {
            // Digits only: `+5`, `5 5` or `0x5` are not lengths.
            let digits = value.trim_ascii();
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return Err(Malformed("bad content-length"));
            }
            let n = digits
                .iter()
                .try_fold(0u64, |n, d| n.checked_mul(10)?.checked_add(u64::from(d - b'0')))
                .ok_or(Malformed("bad content-length"))?;
            if self.length.is_some_and(|l| l != n) {
                return Err(Malformed("conflicting content-length"));
            }
            self.length = Some(n);
            Ok(FramingHeader::ContentLength)
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            // Chunked must be the final coding; with any other the body runs until the close.
            let chunked = value
                .rsplit(|b| *b == b',')
                .next()
                .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
            self.transfer_coding = Some(chunked);
            Ok(FramingHeader::TransferEncoding)
        } else if name.eq_ignore_ascii_case(b"connection") {
            // `close` anywhere wins over `keep-alive` anywhere (RFC 9112 section 9.3), whatever
            // their order.
            for token in value.split(|b| *b == b',') {
                let token = token.trim_ascii();
                if token.eq_ignore_ascii_case(b"close") {
                    self.close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    self.keep_alive_token = true;
                }
            }
            Ok(FramingHeader::Connection)
        } else {
            Ok(FramingHeader::Other)
        }
    }

    /// The framing of a response with `status` in HTTP/1.`minor_version`, to a request that was
    /// HEAD when `head_request`.
    pub fn finish(self, minor_version: u8, status: u16, head_request: bool) -> Result<Framed, Malformed> {
        let http11 = minor_version == 1;
        if self.transfer_coding.is_some() && !http11 {
            return Err(Malformed("Transfer-Encoding in an HTTP/1.0 response"));
        }
        let mut reusable = !self.close && (http11 || self.keep_alive_token);
        let body = if head_request || matches!(status, 100..=199 | 204 | 304) {
            BodyFraming::Empty
        } else {
            match (self.transfer_coding, self.length) {
                // A message with both: Transfer-Encoding wins (RFC 9112 section 6.3).
                (Some(true), _) => BodyFraming::Chunked,
                (Some(false), _) | (None, None) => BodyFraming::UntilClose,
                (None, Some(n)) => BodyFraming::Length(n),
            }
        };
        // After a 101 the connection speaks another protocol.
        if body == BodyFraming::UntilClose || status == 101 {
            reusable = false;
        }
        Ok(Framed {
            body,
            reusable,
            ignore_content_length: body != BodyFraming::Empty
                && self.transfer_coding.is_some()
                && self.length.is_some(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framing(minor: u8, status: u16, head: bool, headers: &[(&str, &str)]) -> Result<Framed, Malformed> {
        let mut framing = ResponseFraming::default();
        for (name, value) in headers {
            framing.header(name.as_bytes(), value.as_bytes())?;
        }
        framing.finish(minor, status, head)
    }

    fn body(minor: u8, headers: &[(&str, &str)]) -> (BodyFraming, bool) {
        let framed = framing(minor, 200, false, headers).unwrap();
        (framed.body, framed.reusable)
    }

    #[test]
    fn the_body_is_framed_as_rfc_9112_says() {
        use BodyFraming::*;
        assert_eq!(body(1, &[("Content-Length", "12")]), (Length(12), true));
        assert_eq!(
            body(1, &[("content-length", " 7 "), ("Content-Length", "7")]),
            (Length(7), true)
        );
        assert_eq!(
            body(1, &[("Transfer-Encoding", "gzip, Chunked")]),
            (Chunked, true)
        );
        // Both: chunked wins, and the length is not to be passed on.
        let both = framing(
            1,
            200,
            false,
            &[("Content-Length", "3"), ("Transfer-Encoding", "chunked")],
        )
        .unwrap();
        assert_eq!((both.body, both.ignore_content_length), (Chunked, true));
        // A final coding other than chunked, or nothing: until the close.
        assert_eq!(
            body(
                1,
                &[("Transfer-Encoding", "chunked, gzip"), ("Content-Length", "3")]
            ),
            (UntilClose, false)
        );
        assert_eq!(body(1, &[]), (UntilClose, false));
        // No body, whatever the headers say.
        for (status, head) in [(204, false), (304, false), (100, false), (200, true)] {
            let framed = framing(1, status, head, &[("Content-Length", "10")]).unwrap();
            assert_eq!((framed.body, framed.reusable), (Empty, true), "{status} {head}");
        }
        // With no body, a Content-Length beside a Transfer-Encoding describes the GET's body.
        let head = framing(
            1,
            200,
            true,
            &[("Content-Length", "3"), ("Transfer-Encoding", "chunked")],
        )
        .unwrap();
        assert!(!head.ignore_content_length);
    }

    #[test]
    fn close_wins_over_keep_alive_in_any_order_and_http_1_0_closes_by_default() {
        assert!(
            !body(
                1,
                &[
                    ("Connection", "close"),
                    ("Connection", "keep-alive"),
                    ("Content-Length", "0")
                ]
            )
            .1
        );
        assert!(!body(1, &[("Connection", "keep-alive, close"), ("Content-Length", "0")]).1);
        assert!(!body(0, &[("Content-Length", "0")]).1);
        assert!(body(0, &[("Connection", "Keep-Alive"), ("Content-Length", "0")]).1);
        assert!(body(1, &[("Connection", "upgrade-not-close"), ("Content-Length", "0")]).1);
        // A 101 switches the connection to another protocol.
        let switched = framing(1, 101, false, &[("Connection", "upgrade")]).unwrap();
        assert_eq!((switched.body, switched.reusable), (BodyFraming::Empty, false));
    }

    #[test]
    fn unreadable_or_conflicting_framing_is_malformed() {
        for value in ["+5", "-1", "5 5", "0x5", "", "99999999999999999999"] {
            assert_eq!(
                framing(1, 200, false, &[("Content-Length", value)]),
                Err(Malformed("bad content-length")),
                "{value:?}"
            );
        }
        assert_eq!(
            framing(1, 200, false, &[("Content-Length", "5"), ("Content-Length", "6")]),
            Err(Malformed("conflicting content-length"))
        );
        assert!(framing(0, 200, false, &[("Transfer-Encoding", "chunked")]).is_err());
        assert_eq!(
            framing(1, 200, false, &[("Content-Length", "18446744073709551615")])
                .unwrap()
                .body,
            BodyFraming::Length(u64::MAX)
        );
    }
}
