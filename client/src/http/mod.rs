//! The HTTP client of a virtual user: one keep-alive HTTP/1.1 connection per target host,
//! opened on first use and again after it breaks (like wrk's connections, and unlike a pooled
//! client whose shared pool is a lock on the hot path). Plain HTTP only for now.
//!
//! The request is written and the response read inline, in the user's own task, with
//! `gauntlet-http1` for the head and the framing: no connection task, no channel between the
//! two, and no header map unless a check, an extraction or a contract check reads the headers. Measured
//! against hyper's client connection (which it replaced) with callgrind on the generator
//! benchmark: see docs/design-decisions.md.

mod connection;

use std::pin::Pin;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};

use tokio::time::Sleep;

use self::connection::Connection;
use crate::FailureKind;

/// A request to send: the target is origin-form (`/path?query`); `Host` and `Content-Length`
/// are written by the client.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Method.
    pub method: Method,
    /// `/path?query`.
    pub target: String,
    /// Headers besides `Host` and `Content-Length`.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Body (empty for none).
    pub body: Bytes,
}

/// A response, fully read.
#[derive(Debug)]
pub struct Exchange {
    /// Status code.
    pub status: u16,
    /// Headers (left empty when the caller said it would not read them).
    pub headers: HeaderMap,
    /// Body (left empty when the caller said it would not read it).
    pub body: Bytes,
    /// The body's length as received, kept or not.
    pub body_len: u64,
}

/// What of a response the caller will read; the rest is read off the wire and counted, never
/// kept. A load step that checks only the status keeps no body: memory per user stays a read
/// buffer, whatever the target sends (up to `max_body`, which holds either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reads {
    /// Fill [`Exchange::headers`].
    pub headers: bool,
    /// Fill [`Exchange::body`].
    pub body: bool,
}

impl Reads {
    /// Headers and body.
    pub const ALL: Reads = Reads {
        headers: true,
        body: true,
    };
    /// The body only.
    pub const BODY: Reads = Reads {
        headers: false,
        body: true,
    };
}

/// A failed attempt: its kind, and how long it took when it was timed.
#[derive(Debug)]
pub struct Failed {
    /// Kind, for the report.
    pub kind: FailureKind,
    /// Time from send to failure (absent for connect failures: nothing was sent).
    pub elapsed: Option<Duration>,
}

/// A user's open connections, by `host:port`.
pub struct Connections {
    open: Vec<(String, Connection)>,
    /// One timer for all of this user's requests, re-armed only when it fires before the
    /// current request's deadline: registering a timer per request was a measurable share of
    /// the client's CPU.
    watchdog: Option<Pin<Box<Sleep>>>,
    /// Largest response body read; a larger one fails the request as `body_too_large`.
    max_body: usize,
}

/// The default `max_body`: 16 MiB, far above an API's answers, far below what would hurt a
/// generator running thousands of users.
pub const DEFAULT_MAX_BODY: usize = 16 * 1024 * 1024;

impl Default for Connections {
    fn default() -> Self {
        Connections::with_max_body(DEFAULT_MAX_BODY)
    }
}

impl Connections {
    /// No open connection yet; response bodies larger than `max_body` bytes fail the request.
    pub fn with_max_body(max_body: usize) -> Self {
        Connections {
            open: Vec::new(),
            watchdog: None,
            max_body,
        }
    }

    /// Sends `request` to `authority` and reads the whole response, within `timeout`. The
    /// latency runs from `measure_from` when given (a paced start that was missed), else from
    /// the moment the request is written. `reads`: what of the response to keep.
    pub async fn send(
        &mut self,
        authority: &str,
        request: &Outgoing,
        timeout: Duration,
        measure_from: Option<Instant>,
        reads: Reads,
    ) -> Result<(Exchange, Duration), Failed> {
        let start = measure_from.unwrap_or_else(Instant::now);
        let deadline = tokio::time::Instant::now() + timeout;
        let mut retried = false;
        loop {
            let (index, reused) = match self.open.iter().position(|(a, c)| a == authority && c.reusable) {
                Some(i) => (i, true),
                None => {
                    self.open.retain(|(a, _)| a != authority);
                    // The connect is part of the request's time: a target that never completes
                    // the handshake (a full accept queue, a black hole) times the request out
                    // instead of holding the user for the system's connect timeout (minutes).
                    let connection =
                        match tokio::time::timeout_at(deadline, Connection::open(authority)).await {
                            Ok(Ok(connection)) => connection,
                            Ok(Err(_)) => {
                                return Err(Failed {
                                    kind: FailureKind::Connect,
                                    elapsed: None,
                                });
                            }
                            Err(_) => {
                                return Err(Failed {
                                    kind: FailureKind::Timeout,
                                    elapsed: Some(start.elapsed()),
                                });
                            }
                        };
                    self.open.push((authority.to_string(), connection));
                    (self.open.len() - 1, false)
                }
            };
            let watchdog = self
                .watchdog
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
            // Armed for an earlier deadline it fires early and is re-armed below; armed for a
            // later one (an earlier request had a longer timeout) it must be moved now.
            if watchdog.deadline() > deadline {
                watchdog.as_mut().reset(deadline);
            }
            let outcome = {
                let exchange = self.open[index]
                    .1
                    .exchange(authority, request, reads, self.max_body);
                tokio::pin!(exchange);
                loop {
                    tokio::select! {
                        biased;
                        result = &mut exchange => break Some(result),
                        () = watchdog.as_mut() => {
                            if tokio::time::Instant::now() >= deadline {
                                break None;
                            }
                            watchdog.as_mut().reset(deadline);
                        }
                    }
                }
            };
            return match outcome {
                Some(Ok(exchange)) => {
                    let elapsed = start.elapsed();
                    if !self.open[index].1.reusable {
                        self.open.swap_remove(index);
                    }
                    Ok((exchange, elapsed))
                }
                Some(Err(error)) if error.kind() == std::io::ErrorKind::FileTooLarge => {
                    // Part of the body is unread: the connection cannot carry another request.
                    self.open.swap_remove(index);
                    Err(Failed {
                        kind: FailureKind::BodyTooLarge,
                        elapsed: Some(start.elapsed()),
                    })
                }
                Some(Err(_)) => {
                    let (_, connection) = self.open.swap_remove(index);
                    // A server may close an idle keep-alive connection at any time (RFC 9112
                    // section 9.6) and the request then meets the close. Failing on a reused
                    // connection before any byte of an answer came back is that, not the
                    // server's answer: once, the request goes again on a new connection —
                    // when it is idempotent or never went out whole, as browsers and hyper do
                    // — and counts as one request.
                    let stale = reused
                        && !retried
                        && !connection.answered
                        && (!connection.sent || idempotent(&request.method));
                    if stale {
                        retried = true;
                        continue;
                    }
                    Err(Failed {
                        kind: FailureKind::Io,
                        elapsed: Some(start.elapsed()),
                    })
                }
                None => {
                    // The connection may still deliver the late response: never reuse it.
                    self.open.swap_remove(index);
                    Err(Failed {
                        kind: FailureKind::Timeout,
                        elapsed: Some(start.elapsed()),
                    })
                }
            };
        }
    }
}

/// Methods whose request may be sent twice with the effect of once (RFC 9110 section 9.2.2).
fn idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

#[cfg(test)]
mod tests;
