//! The chunked transfer coding (RFC 9112 section 7.1): the chunk-size line, and a decoder that
//! turns a chunked body into its data as bytes arrive, without I/O of its own.

use bytes::{Buf, Bytes, BytesMut};

use crate::Malformed;

/// A chunk-size line longer than this (extensions included) is refused.
pub const MAX_CHUNK_LINE: usize = 16 * 1024;

/// The chunk-size line at the start of `input` (RFC 9112 section 7.1): its length with the
/// CRLF and the size, or `None` while incomplete. As strict as hyper: at least one hex digit,
/// no bare LF, extensions ignored but bounded.
pub fn chunk_size(input: &[u8]) -> Result<Option<(usize, u64)>, Malformed> {
    let window = &input[..input.len().min(MAX_CHUNK_LINE)];
    let Some(lf) = window.iter().position(|b| *b == b'\n') else {
        if input.len() >= MAX_CHUNK_LINE {
            return Err(Malformed("chunk-size line too long"));
        }
        return Ok(None);
    };
    let Some(line) = window[..lf].strip_suffix(b"\r") else {
        return Err(Malformed("chunk-size line without CR"));
    };
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > 16 {
        return Err(Malformed("bad chunk size"));
    }
    // After the size: nothing, or optional whitespace then extensions (`;name=value`), ignored.
    let after = line[digits..].iter().find(|b| !matches!(b, b' ' | b'\t'));
    if !matches!(after, None | Some(b';')) {
        return Err(Malformed("bad chunk size"));
    }
    let size = line[..digits].iter().fold(0u64, |n, d| {
        let digit = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            _ => d - b'A' + 10,
        };
        (n << 4) | u64::from(digit)
    });
    Ok(Some((lf + 1, size)))
}

/// Trailer fields after the last chunk beyond this size are refused (hyper's head limit).
pub const MAX_TRAILERS: usize = 400 * 1024;

/// What [`ChunkedDecoder::decode`] found in the input.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// Body data, taken out of the input.
    Data(Bytes),
    /// The input holds no complete next piece: read more (the end of input here means the body
    /// was cut short).
    NeedMore,
    /// The body ended (last chunk and trailers consumed); the input holds what follows.
    End,
}

/// Where a chunked body's decoding stands, between calls to [`ChunkedDecoder::decode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChunkedDecoder {
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    /// Before a chunk-size line.
    #[default]
    Size,
    /// Inside a chunk's data, this many bytes left.
    Data(u64),
    /// After a chunk's data, before its CRLF.
    DataEnd,
    /// After the last chunk: trailer fields (dropped), then the empty line.
    Trailers,
    /// The body is over.
    Done,
}

impl ChunkedDecoder {
    /// Decodes from the front of `input`: the next piece of data, a request for more input, or
    /// the end. Consumes only what it decodes, so a caller reads more and calls again.
    pub fn decode(&mut self, input: &mut BytesMut) -> Result<Decoded, Malformed> {
        loop {
            match self.state {
                State::Size => match chunk_size(input)? {
                    Some((line, size)) => {
                        input.advance(line);
                        self.state = if size == 0 {
                            State::Trailers
                        } else {
                            State::Data(size)
                        };
                    }
                    None => return Ok(Decoded::NeedMore),
                },
                State::Data(left) => {
                    if input.is_empty() {
                        return Ok(Decoded::NeedMore);
                    }
                    let n = left.min(input.len() as u64);
                    self.state = if n == left {
                        State::DataEnd
                    } else {
                        State::Data(left - n)
                    };
                    return Ok(Decoded::Data(input.split_to(n as usize).freeze()));
                }
                State::DataEnd => {
                    if input.len() < 2 {
                        return Ok(Decoded::NeedMore);
                    }
                    if &input[..2] != b"\r\n" {
                        return Err(Malformed("chunk not followed by CRLF"));
                    }
                    input.advance(2);
                    self.state = State::Size;
                }
                State::Trailers => match input.windows(2).position(|w| w == b"\r\n") {
                    Some(0) => {
                        input.advance(2);
                        self.state = State::Done;
                    }
                    Some(end) => input.advance(end + 2),
                    None if input.len() > MAX_TRAILERS => return Err(Malformed("trailers too large")),
                    None => return Ok(Decoded::NeedMore),
                },
                State::Done => return Ok(Decoded::End),
            }
        }
    }

    /// Whether the body has ended.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_size_lines_are_read_as_strictly_as_hyper_does() {
        assert_eq!(chunk_size(b"1a\r\nx"), Ok(Some((4, 26))));
        assert_eq!(chunk_size(b"fF\r\n"), Ok(Some((4, 255))));
        assert_eq!(chunk_size(b"5;name=value\r\n"), Ok(Some((14, 5))));
        assert_eq!(chunk_size(b"5 \t;x\r\n"), Ok(Some((7, 5))));
        assert_eq!(chunk_size(b"5  \r\n"), Ok(Some((5, 5))));
        assert_eq!(chunk_size(b"0\r\n"), Ok(Some((3, 0))));
        assert_eq!(chunk_size(b"5"), Ok(None));
        for bad in [
            &b"\r\n"[..],
            b";x\r\n",
            b"5\n",
            b"zz\r\n",
            b"5x\r\n",
            b"5 x\r\n",
            b"11112222333344445\r\n",
        ] {
            assert!(chunk_size(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let endless = [b"5;".as_slice(), &[b'x'; MAX_CHUNK_LINE]].concat();
        assert!(chunk_size(&endless).is_err());
    }

    /// Feeds `wire` to a decoder `step` bytes at a time, as reads would deliver it.
    fn decode_in_steps(wire: &[u8], step: usize) -> Result<(Vec<u8>, Vec<u8>), Malformed> {
        let mut decoder = ChunkedDecoder::default();
        let mut input = BytesMut::new();
        let mut body = Vec::new();
        let mut fed = 0;
        loop {
            match decoder.decode(&mut input)? {
                Decoded::Data(data) => body.extend_from_slice(&data),
                Decoded::End => return Ok((body, [&input[..], &wire[fed..]].concat())),
                Decoded::NeedMore => {
                    if fed == wire.len() {
                        return Err(Malformed("cut short"));
                    }
                    let end = (fed + step).min(wire.len());
                    input.extend_from_slice(&wire[fed..end]);
                    fed = end;
                }
            }
        }
    }

    #[test]
    fn decodes_a_chunked_body_however_the_bytes_arrive() {
        let wire = b"5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nx-trailer: 1\r\n\r\nNEXT";
        for step in [1, 2, 3, 7, wire.len()] {
            let (body, rest) = decode_in_steps(wire, step).unwrap();
            assert_eq!(
                (body.as_slice(), rest.as_slice()),
                (&b"hello world!"[..], &b"NEXT"[..]),
                "step {step}"
            );
        }
    }

    #[test]
    fn a_broken_chunked_body_is_malformed_or_cut_short() {
        assert_eq!(
            decode_in_steps(b"5\r\nhelloXX0\r\n\r\n", 4),
            Err(Malformed("chunk not followed by CRLF"))
        );
        assert_eq!(decode_in_steps(b"zz\r\n", 4), Err(Malformed("bad chunk size")));
        assert_eq!(decode_in_steps(b"5\r\nhel", 4), Err(Malformed("cut short")));
        let endless_trailers = [&b"0\r\n"[..], &vec![b'x'; MAX_TRAILERS + 1]].concat();
        assert_eq!(
            decode_in_steps(&endless_trailers, 64 * 1024),
            Err(Malformed("trailers too large"))
        );
    }
}
