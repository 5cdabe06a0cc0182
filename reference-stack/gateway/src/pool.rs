//! Keep-alive connections to an upstream's instances. Requests whose body is complete (none, or
//! one kept for retries: nearly all of them) go out on the gateway's own HTTP/1.1 exchange
//! ([`crate::h1`]); requests whose body streams in from the client go out on hyper's
//! connection-level client, which reads the response while the body is still being sent. Each
//! kind has its own idle list per instance. gRPC goes over HTTP/2 ([`H2Pool`]): one multiplexed
//! connection per instance.
//!
//! Only a connection that is ready for its next exchange is pooled: an upstream may answer
//! before it has read the whole request body (an early 401 or 413 to an upload), and such a
//! connection stays busy until the client finishes sending, perhaps never; it is kept aside
//! until ready (at most the idle timeout) rather than handed to the next request.
//!
//! A connection the instance closed while idle is noticed before use and dropped; a request
//! whose write failed because of such a close goes out on another connection. A close that
//! races a request already written cannot be told apart from a failure: that request fails
//! (502) unless it may be retried, as with any HTTP/1.1 client; instances should keep idle
//! connections longer than the gateway's 30 s idle timeout.

use std::sync::Arc;

use crate::connect::ConnectError;

mod http1;
mod http2;

pub use http1::Http1Pool;
pub use http2::H2Pool;

/// Why a request did not get a response.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// No connection to the instance.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The exchange failed (connection reset, malformed response...) on the gateway's client.
    #[error("exchange with the instance failed: {0}")]
    Io(#[from] std::io::Error),
    /// The exchange failed (connection reset, malformed response, request body error...) on
    /// hyper's client.
    #[error(transparent)]
    Http(#[from] hyper::Error),
    /// Opening a connection failed, for this request and the others that waited for it.
    #[error(transparent)]
    Shared(Arc<SendError>),
}
