//! The HTTP/1.1 response parser as the load client uses it: a head, then a body framed by
//! length, chunks or the connection's close. The first input byte chooses how the rest arrives
//! (in pieces of 1 to 128 bytes) and whether the request was HEAD; the bytes are parsed both at
//! once and piece by piece, and the two must agree — a response must not mean something else
//! depending on how the network split it. The request-head parser (the gateway's) and the
//! chunk-size line get the same bytes.

#![no_main]

use bytes::BytesMut;
use gauntlet_http1::{
    BodyFraming, ChunkedDecoder, Decoded, Malformed, ResponseHead, chunk_size, parse_request_head,
    parse_response_head,
};
use libfuzzer_sys::fuzz_target;

type Headers = Vec<(Vec<u8>, Vec<u8>)>;

fn head(input: &[u8], head_request: bool) -> Result<Option<(ResponseHead, Headers)>, Malformed> {
    let mut headers = Vec::new();
    let parsed = parse_response_head(input, head_request, |name, value, _| {
        headers.push((name.to_vec(), value.to_vec()));
        Ok(())
    })?;
    if let Some(head) = &parsed {
        assert!(head.len <= input.len(), "the head ends inside the input");
    }
    Ok(parsed.map(|h| (h, headers)))
}

/// The head of the first `n * step` bytes that is complete, as a client reading `step` bytes
/// at a time would find it.
fn head_in_steps(
    wire: &[u8],
    step: usize,
    head_request: bool,
) -> Result<Option<(ResponseHead, Headers)>, Malformed> {
    let mut end = 0;
    loop {
        end = (end + step).min(wire.len());
        if let Some(found) = head(&wire[..end], head_request)? {
            return Ok(Some(found));
        }
        if end == wire.len() {
            return Ok(None);
        }
    }
}

/// How a chunked body ended: the data, and `Ok(true)` at its end, `Ok(false)` cut short.
fn chunked(wire: &[u8], step: usize) -> (Vec<u8>, Result<bool, Malformed>) {
    let mut decoder = ChunkedDecoder::default();
    let mut input = BytesMut::new();
    let mut body = Vec::new();
    let mut fed = 0;
    loop {
        match decoder.decode(&mut input) {
            Ok(Decoded::Data(data)) => {
                assert!(!data.is_empty(), "a Data piece has bytes");
                body.extend_from_slice(&data);
            }
            Ok(Decoded::End) => {
                assert!(decoder.is_done());
                return (body, Ok(true));
            }
            Ok(Decoded::NeedMore) if fed == wire.len() => return (body, Ok(false)),
            Ok(Decoded::NeedMore) => {
                let next = (fed + step).min(wire.len());
                input.extend_from_slice(&wire[fed..next]);
                fed = next;
            }
            Err(e) => return (body, Err(e)),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, wire)) = data.split_first() else {
        return;
    };
    let head_request = flags & 1 == 1;
    let step = usize::from(flags >> 1) + 1;

    let _ = chunk_size(wire);
    let _ = parse_request_head(wire, |_, _| {});

    let whole = head(wire, head_request);
    let stepped = head_in_steps(wire, step, head_request);
    match (&whole, &stepped) {
        (Ok(Some(a)), Ok(Some(b))) => assert_eq!(a, b, "the head depends on how it arrived"),
        (Ok(None), Ok(None)) | (Err(_), Err(_)) => {}
        // A prefix of a head that turns out malformed may be refused earlier or later, but
        // a complete head never depends on the split.
        (a, b) => assert!(
            !matches!(a, Ok(Some(_))) && !matches!(b, Ok(Some(_))),
            "whole {a:?}, in steps {b:?}"
        ),
    }
    let Ok(Some((head, _))) = whole else {
        return;
    };
    let body = &wire[head.len..];
    match head.framed.body {
        BodyFraming::Empty | BodyFraming::UntilClose => {}
        BodyFraming::Length(n) => {
            let _ = usize::try_from(n).map(|n| &body[..n.min(body.len())]);
        }
        BodyFraming::Chunked => {
            let (all, all_end) = chunked(body, body.len().max(1));
            let (pieces, pieces_end) = chunked(body, step);
            assert_eq!(
                all_end, pieces_end,
                "the chunked body's end depends on how it arrived"
            );
            assert_eq!(all, pieces, "the chunked body depends on how it arrived");
        }
    }
});
