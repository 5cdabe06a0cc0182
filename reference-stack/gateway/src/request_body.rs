//! The request body on its way through the gateway: as the server hands it over (hyper's
//! streaming body, or complete bytes from the gateway's own loop), where it stands when the
//! request is forwarded ([`arrival`]: whole, or still arriving), and what is kept of it for
//! retries ([`Payload`]).

use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use hyper::body::{Frame, Incoming};

use crate::respond::{self, Body, BoxError};

/// A request body: kept for replay, or streamed once.
pub(crate) enum Payload {
    Buffered(Bytes),
    Streamed(Option<http_body_util::combinators::BoxBody<Bytes, BoxError>>),
}

impl Payload {
    pub(crate) fn take(&mut self) -> Body {
        match self {
            // an empty body is a zero-sized box: no allocation for the usual GET
            Payload::Buffered(bytes) if bytes.is_empty() => respond::empty(),
            Payload::Buffered(bytes) => respond::full(bytes.clone()),
            Payload::Streamed(body) => body.take().unwrap_or_else(respond::empty),
        }
    }

    pub(crate) fn can_replay(&self) -> bool {
        matches!(self, Payload::Buffered(_))
    }
}

/// A request body as it stands when the request is forwarded.
pub(crate) enum Arrival {
    /// All of it: none, or all of it read with the head (hyper reads a small body before the
    /// handler runs).
    Whole(Bytes),
    /// Still streaming in, with what was taken from it put back in front.
    Streaming(Resumed),
}

/// A request body as the server hands it over.
pub enum RequestBody {
    /// From hyper's server: may still be streaming in.
    Hyper(Incoming),
    /// Complete, from the gateway's own HTTP/1.1 server ([`crate::server`]).
    Complete(Bytes),
}

/// Where `body` stands, found without waiting for it.
pub(crate) fn arrival(body: RequestBody) -> Arrival {
    use hyper::body::Body as _;
    let mut body = match body {
        RequestBody::Complete(bytes) => return Arrival::Whole(bytes),
        RequestBody::Hyper(incoming) => incoming,
    };
    if body.is_end_stream() {
        return Arrival::Whole(Bytes::new());
    }
    // A no-op waker: `Pending` only means "not yet"; the body is polled again, with the real
    // waker, when it is streamed.
    let mut cx = Context::from_waker(Waker::noop());
    let first = match Pin::new(&mut body).poll_frame(&mut cx) {
        Poll::Pending => None,
        Poll::Ready(None) => return Arrival::Whole(Bytes::new()),
        Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
            Ok(data) if body.is_end_stream() => return Arrival::Whole(data),
            Ok(data) => Some(Ok(Frame::data(data))),
            Err(frame) => Some(Ok(frame)),
        },
        Poll::Ready(Some(Err(err))) => Some(Err(err)),
    };
    Arrival::Streaming(Resumed { first, rest: body })
}

/// A request body whose first frame was already taken (see [`arrival`]).
pub(crate) struct Resumed {
    first: Option<Result<Frame<Bytes>, hyper::Error>>,
    rest: Incoming,
}

impl hyper::body::Body for Resumed {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(first));
        }
        Pin::new(&mut self.rest).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && self.rest.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        let mut hint = self.rest.size_hint();
        if let Some(Ok(frame)) = &self.first
            && let Some(data) = frame.data_ref()
        {
            // upper first: `set_lower` refuses to pass the current upper bound
            let taken = data.len() as u64;
            if let Some(upper) = hint.upper() {
                hint.set_upper(upper + taken);
            }
            hint.set_lower(hint.lower() + taken);
        }
        hint
    }
}

/// Whether an error (or what caused it) is the body-size limit.
pub(crate) fn is_limit_error(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        current = e.source();
    }
    false
}
