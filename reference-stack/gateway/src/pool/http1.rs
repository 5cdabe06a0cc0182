//! The keep-alive HTTP/1.1 connections of one upstream, by instance: complete requests go out on
//! the gateway's own exchange ([`crate::h1`]), streamed ones on hyper's client; each kind has its
//! own idle list, and a connection is pooled only once it is ready for its next exchange.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, header};
use http_body_util::BodyExt;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::time::Instant;

use crate::FastHash;
use crate::connect::{Alpn, Connector};
use crate::h1::{Conn, Streaming};
use crate::respond::{Body, BoxError};

use super::SendError;

/// The keep-alive HTTP/1.1 connections of one upstream, by instance.
pub struct Http1Pool {
    instances: Mutex<HashMap<SocketAddr, Instance, FastHash>>,
    connector: Arc<Connector>,
    idle_timeout: Duration,
    max_idle_per_instance: usize,
}

/// One instance's idle connections and its `Host` header.
struct Instance {
    host: HeaderValue,
    /// For [`Http1Pool::send`].
    complete: IdleList<Conn>,
    /// For [`Http1Pool::send_streamed`].
    streamed: IdleList<http1::SendRequest<Body>>,
}

/// Idle connections, oldest first, with the time each was last used.
struct IdleList<C>(VecDeque<(C, Instant)>);

impl<C> IdleList<C> {
    /// The most recently used connection that has not outstayed `timeout`
    /// (the others met on the way are dropped).
    fn take(&mut self, timeout: Duration) -> Option<C> {
        while let Some((conn, since)) = self.0.pop_back() {
            if since.elapsed() < timeout {
                return Some(conn);
            }
        }
        None
    }

    /// Keeps `conn` unless `max` are idle already; drops those idle past `timeout`.
    fn put(&mut self, conn: C, timeout: Duration, max: usize) {
        while self
            .0
            .front()
            .is_some_and(|(_, since)| since.elapsed() >= timeout)
        {
            self.0.pop_front();
        }
        if self.0.len() < max {
            self.0.push_back((conn, Instant::now()));
        }
    }
}

impl Http1Pool {
    /// A pool connecting with `connector`, keeping at most `max_idle_per_instance` idle
    /// connections of each kind per instance for at most `idle_timeout` each.
    pub fn new(connector: Arc<Connector>, idle_timeout: Duration, max_idle_per_instance: usize) -> Arc<Self> {
        Arc::new(Http1Pool {
            instances: Mutex::default(),
            connector,
            idle_timeout,
            max_idle_per_instance,
        })
    }

    fn instances(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, Instance, FastHash>> {
        self.instances.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `addr`'s `Host` and what `take` gets from its idle connections.
    fn checkout<T>(
        &self,
        addr: SocketAddr,
        take: impl FnOnce(&mut Instance, Duration) -> T,
    ) -> (HeaderValue, T) {
        let mut instances = self.instances();
        let instance = instances.entry(addr).or_insert_with(|| Instance {
            host: HeaderValue::from_str(&self.connector.authority(addr))
                .unwrap_or(HeaderValue::from_static("localhost")),
            complete: IdleList(VecDeque::new()),
            streamed: IdleList(VecDeque::new()),
        });
        let taken = take(instance, self.idle_timeout);
        (instance.host.clone(), taken)
    }

    /// Sends a request whose body is complete and at most [`crate::h1::MAX_BODY`] long
    /// (origin-form `target`; `Host` and the framing headers are set here) to `addr`, on an
    /// idle connection or a new one. A response body not yet read holds the connection until
    /// it ends.
    pub async fn send(
        self: &Arc<Self>,
        addr: SocketAddr,
        method: &Method,
        target: &str,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Result<Response<Body>, SendError> {
        // The fitness probe runs outside the lock (dropping a dead connection is a syscall).
        let (host, mut idle) = self.checkout(addr, |i, timeout| i.complete.take(timeout));
        let mut conn = loop {
            match idle {
                Some(mut conn) => {
                    if conn.still_open() {
                        break conn;
                    }
                    idle = self.checkout(addr, |i, timeout| i.complete.take(timeout)).1;
                }
                None => break Conn::new(self.connector.connect(addr, Alpn::Http1).await?),
            }
        };
        let head = match conn.exchange(method, target, &host, headers, body).await {
            Ok(head) => head,
            // The instance closed the connection before the request went out: a fresh one.
            Err(err) if err.unsent => {
                conn = Conn::new(self.connector.connect(addr, Alpn::Http1).await?);
                conn.exchange(method, target, &host, headers, body)
                    .await
                    .map_err(|e| e.error)?
            }
            Err(err) => return Err(err.error.into()),
        };
        let mut response = Response::new(crate::respond::empty());
        let body = match conn.complete_body(&head) {
            Some(bytes) => {
                if conn.reusable() {
                    self.checkin_complete(addr, conn);
                }
                if bytes.is_empty() {
                    crate::respond::empty()
                } else {
                    crate::respond::full(bytes)
                }
            }
            None => {
                let pool = Arc::clone(self);
                Streaming::new(conn, &head, move |conn| pool.checkin_complete(addr, conn))
                    .map_err(BoxError::from)
                    .boxed()
            }
        };
        *response.body_mut() = body;
        *response.status_mut() = head.status;
        *response.headers_mut() = head.headers;
        Ok(response)
    }

    fn checkin_complete(&self, addr: SocketAddr, conn: Conn) {
        if let Some(instance) = self.instances().get_mut(&addr) {
            instance
                .complete
                .put(conn, self.idle_timeout, self.max_idle_per_instance);
        }
    }

    /// Sends `request`, whose body streams in from the client (origin-form URI; its `Host`
    /// is set here), to `addr` on hyper's client: the response may arrive before the body
    /// has been sent. The response body holds the connection until it ends.
    pub async fn send_streamed(
        self: &Arc<Self>,
        addr: SocketAddr,
        mut request: Request<Body>,
    ) -> Result<Response<Body>, SendError> {
        // A closed one fails `ready` below, and the next is tried.
        let take = |i: &mut Instance, timeout| i.streamed.take(timeout);
        let (host, mut idle) = self.checkout(addr, take);
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
            idle = self.checkout(addr, take).1;
        }
        let io = self.connector.connect(addr, Alpn::Http1).await?;
        let (mut sender, connection) = http1::Builder::new().handshake(TokioIo::new(io)).await?;
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(instance = %addr, error = %err, "upstream connection ended with an error");
            }
        });
        let response = sender.send_request(request).await?;
        Ok(self.hold(addr, sender, response))
    }

    /// Puts a hyper connection whose response ended back in `addr`'s idle list, once it is
    /// ready for another exchange (see the module docs).
    fn checkin_streamed(self: Arc<Self>, addr: SocketAddr, mut sender: http1::SendRequest<Body>) {
        if sender.is_closed() {
            return;
        }
        if !sender.is_ready() {
            // Still sending the request body: wait aside, never in the idle list.
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    if let Ok(Ok(())) = tokio::time::timeout(self.idle_timeout, sender.ready()).await {
                        self.checkin_streamed(addr, sender);
                    }
                });
            }
            return;
        }
        if let Some(instance) = self.instances().get_mut(&addr) {
            instance
                .streamed
                .put(sender, self.idle_timeout, self.max_idle_per_instance);
        }
    }

    /// Forgets the instances not in `current` (a DNS refresh dropped them): their idle
    /// connections close, and their entries no longer take memory.
    pub fn retain_instances(&self, current: &[SocketAddr]) {
        self.instances().retain(|addr, _| current.contains(addr));
    }

    /// `response` with a body that returns `sender` to the pool once it has ended.
    fn hold(
        self: &Arc<Self>,
        addr: SocketAddr,
        sender: http1::SendRequest<Body>,
        response: Response<Incoming>,
    ) -> Response<Body> {
        response.map(|inner| {
            PooledBody {
                inner,
                ended: false,
                connection: Some((Arc::clone(self), addr, sender)),
            }
            .map_err(BoxError::from)
            .boxed()
        })
    }
}

/// A response body that owns its connection until the body ends; a body dropped before its end
/// takes the connection with it (hyper closes a connection whose response was not read out).
struct PooledBody {
    inner: Incoming,
    ended: bool,
    connection: Option<(Arc<Http1Pool>, SocketAddr, http1::SendRequest<Body>)>,
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
            pool.checkin_streamed(addr, sender);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn instances_a_dns_refresh_dropped_are_forgotten() {
        let connector = Connector::new("t", Duration::from_secs(1), None, None).unwrap();
        let pool = Http1Pool::new(Arc::new(connector), Duration::from_secs(30), 8);
        let (a, b): (SocketAddr, SocketAddr) =
            ("127.0.0.1:1".parse().unwrap(), "127.0.0.1:2".parse().unwrap());
        assert_eq!(pool.checkout(a, |_, _| ()).0, "127.0.0.1:1");
        pool.checkout(b, |_, _| ());
        pool.retain_instances(&[b]);
        let known: Vec<SocketAddr> = pool.instances.lock().unwrap().keys().copied().collect();
        assert_eq!(known, [b]);
    }
}
