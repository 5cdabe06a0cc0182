//! HTTP/1.1 keep-alive connections to an upstream's instances, on hyper's connection-level
//! client. hyper-util's pooled `Client` did the same job for twice the instructions per request
//! (a pool keyed by scheme and authority, a spawned task per response to return its connection,
//! an absolute URI to build and parse); here a connection goes back to its instance's idle list
//! when the response body that used it ends, and requests go out in origin form with a `Host`
//! built once per instance.
//!
//! Only a connection that is ready for its next exchange is pooled: an upstream may answer
//! before it has read the whole request body (an early 401 or 413 to an upload), and such a
//! connection stays busy until the client finishes sending, perhaps never; it is kept aside
//! until ready (at most the idle timeout) rather than handed to the next request.
//!
//! A connection the instance closed while idle is noticed before use (`ready` fails) and
//! dropped; a request that lost the race with such a close before being written is handed back
//! unsent by hyper and goes out on another connection. A close that races a request already
//! written cannot be told apart from a failure: that request fails (502) unless it may be
//! retried, as with any HTTP/1.1 client; instances should keep idle connections longer than
//! the gateway's 30 s idle timeout.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, header};
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::FastHash;
use crate::respond::Body;

/// Why a request did not get a response.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The instance did not accept a connection.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// The instance.
        addr: SocketAddr,
        /// What connect said.
        source: std::io::Error,
    },
    /// Connecting took longer than the connect timeout.
    #[error("connecting to {0} timed out")]
    ConnectTimeout(SocketAddr),
    /// The exchange failed (connection reset, malformed response, request body error...).
    #[error(transparent)]
    Http(#[from] hyper::Error),
}

/// The keep-alive connections of one upstream, by instance.
pub struct Http1Pool {
    instances: Mutex<HashMap<SocketAddr, Instance, FastHash>>,
    connect_timeout: Duration,
    idle_timeout: Duration,
    max_idle_per_instance: usize,
}

/// One instance's idle connections (oldest first) and its `Host` header.
struct Instance {
    host: HeaderValue,
    idle: VecDeque<(SendRequest<Body>, Instant)>,
}

impl Http1Pool {
    /// A pool connecting within `connect_timeout`, keeping at most `max_idle_per_instance`
    /// idle connections per instance for at most `idle_timeout` each.
    pub fn new(connect_timeout: Duration, idle_timeout: Duration, max_idle_per_instance: usize) -> Arc<Self> {
        Arc::new(Http1Pool {
            instances: Mutex::default(),
            connect_timeout,
            idle_timeout,
            max_idle_per_instance,
        })
    }

    /// Sends `request` (origin-form URI; its `Host` is set here) to `addr` on an idle
    /// connection, or a new one. The response body holds the connection until it ends.
    pub async fn send(
        self: &Arc<Self>,
        addr: SocketAddr,
        mut request: Request<Body>,
    ) -> Result<Response<Body>, SendError> {
        let (host, mut idle) = self.checkout(addr);
        request.headers_mut().insert(header::HOST, host);
        while let Some(mut sender) = idle {
            // Waits for the previous exchange's end to be processed; fails if the instance
            // closed the connection meanwhile.
            if sender.ready().await.is_ok() {
                match sender.try_send_request(request).await {
                    Ok(response) => return Ok(self.hold(addr, sender, response)),
                    Err(mut err) => match err.take_message() {
                        // Not sent: the connection was closing under us. Another one will do.
                        Some(unsent) => request = unsent,
                        None => return Err(SendError::Http(err.into_error())),
                    },
                }
            }
            idle = self.checkout(addr).1;
        }
        let mut sender = self.connect(addr).await?;
        let response = sender.send_request(request).await?;
        Ok(self.hold(addr, sender, response))
    }

    /// The `Host` of `addr` and its most recently used idle connection that has not outstayed
    /// the idle timeout (expired ones are dropped on the way).
    fn checkout(&self, addr: SocketAddr) -> (HeaderValue, Option<SendRequest<Body>>) {
        let mut instances = self.instances.lock().unwrap_or_else(|p| p.into_inner());
        let instance = instances.entry(addr).or_insert_with(|| Instance {
            host: HeaderValue::from_str(&addr.to_string()).unwrap_or(HeaderValue::from_static("localhost")),
            idle: VecDeque::new(),
        });
        while let Some((sender, since)) = instance.idle.pop_back() {
            if since.elapsed() < self.idle_timeout && !sender.is_closed() {
                return (instance.host.clone(), Some(sender));
            }
        }
        (instance.host.clone(), None)
    }

    /// Puts a connection whose response ended back in `addr`'s idle list, once it is ready
    /// for another exchange (see the module docs); drops those idle past the timeout.
    fn checkin(self: Arc<Self>, addr: SocketAddr, mut sender: SendRequest<Body>) {
        if sender.is_closed() {
            return;
        }
        if !sender.is_ready() {
            // Still sending the request body: wait aside, never in the idle list.
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    if let Ok(Ok(())) = tokio::time::timeout(self.idle_timeout, sender.ready()).await {
                        self.checkin(addr, sender);
                    }
                });
            }
            return;
        }
        let mut instances = self.instances.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(instance) = instances.get_mut(&addr) {
            while instance
                .idle
                .front()
                .is_some_and(|(_, since)| since.elapsed() >= self.idle_timeout)
            {
                instance.idle.pop_front();
            }
            if instance.idle.len() < self.max_idle_per_instance {
                instance.idle.push_back((sender, Instant::now()));
            }
        }
    }

    /// Forgets the instances not in `current` (a DNS refresh dropped them): their idle
    /// connections close, and their entries no longer take memory.
    pub fn retain_instances(&self, current: &[SocketAddr]) {
        self.instances
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|addr, _| current.contains(addr));
    }

    async fn connect(&self, addr: SocketAddr) -> Result<SendRequest<Body>, SendError> {
        let stream = tokio::time::timeout(self.connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| SendError::ConnectTimeout(addr))?
            .map_err(|source| SendError::Connect { addr, source })?;
        // Small proxied messages would otherwise wait for delayed ACKs (Nagle).
        let _ = stream.set_nodelay(true);
        // A peer that vanished without a FIN (a dead host) is noticed on a long stream too.
        let _ = socket2::SockRef::from(&stream)
            .set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(Duration::from_secs(60)));
        let (sender, connection) = http1::Builder::new().handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(instance = %addr, error = %err, "upstream connection ended with an error");
            }
        });
        Ok(sender)
    }

    /// `response` with a body that returns `sender` to the pool once it has ended.
    fn hold(
        self: &Arc<Self>,
        addr: SocketAddr,
        sender: SendRequest<Body>,
        response: Response<Incoming>,
    ) -> Response<Body> {
        use http_body_util::BodyExt;
        response.map(|inner| {
            PooledBody {
                inner,
                ended: false,
                connection: Some((Arc::clone(self), addr, sender)),
            }
            .map_err(crate::respond::BoxError::from)
            .boxed()
        })
    }
}

/// A response body that owns its connection until the body ends; a body dropped before its end
/// takes the connection with it (hyper closes a connection whose response was not read out).
struct PooledBody {
    inner: Incoming,
    ended: bool,
    connection: Option<(Arc<Http1Pool>, SocketAddr, SendRequest<Body>)>,
}

impl HttpBody for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            self.ended = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for PooledBody {
    fn drop(&mut self) {
        if (self.ended || self.inner.is_end_stream())
            && let Some((pool, addr, sender)) = self.connection.take()
        {
            pool.checkin(addr, sender);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn instances_a_dns_refresh_dropped_are_forgotten() {
        let pool = Http1Pool::new(Duration::from_secs(1), Duration::from_secs(30), 8);
        let (a, b): (SocketAddr, SocketAddr) =
            ("127.0.0.1:1".parse().unwrap(), "127.0.0.1:2".parse().unwrap());
        assert_eq!(pool.checkout(a).0, "127.0.0.1:1");
        pool.checkout(b);
        pool.retain_instances(&[b]);
        let known: Vec<SocketAddr> = pool.instances.lock().unwrap().keys().copied().collect();
        assert_eq!(known, [b]);
    }
}
