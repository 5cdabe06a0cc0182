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

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, header};
use http_body_util::BodyExt;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::time::Instant;

use crate::FastHash;
use crate::connect::{Alpn, ConnectError, Connector};
use crate::h1::{Conn, Streaming};
use crate::respond::{Body, BoxError};

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

/// The HTTP/2 connections of one upstream: one per instance, multiplexing every request to it
/// (gRPC's transport; trailers pass through).
pub struct H2Pool {
    instances: Mutex<HashMap<SocketAddr, H2Instance, FastHash>>,
    connector: Arc<Connector>,
    /// Numbers the connections (a request that failed on connection `n` asks for any but `n`).
    opened: AtomicU64,
}

/// One instance's HTTP/2 connection.
#[derive(Default)]
struct H2Instance {
    /// The open connection.
    open: Option<H2Connection>,
    /// Held while a connection is being opened: the requests that arrive meanwhile (a load
    /// test's users all starting at once) wait for it instead of each opening their own.
    connecting: Arc<tokio::sync::Mutex<()>>,
    /// Connection attempts so far, and why the last one failed: the requests that waited for
    /// a failed attempt fail with it rather than each trying again, one after another.
    attempts: u64,
    failure: Option<Arc<SendError>>,
}

/// An open HTTP/2 connection: its number, its sender, and the instance's `:authority` that its
/// requests carry (built when the connection opens, not per request).
#[derive(Clone)]
struct H2Connection {
    number: u64,
    sender: http2::SendRequest<Body>,
    authority: http::uri::Authority,
}

impl H2Pool {
    /// A pool connecting with `connector`.
    pub fn new(connector: Arc<Connector>) -> H2Pool {
        H2Pool {
            instances: Mutex::default(),
            connector,
            opened: AtomicU64::new(0),
        }
    }

    /// Sends `request` (origin-form URI) to `addr` on its connection, opened when there is
    /// none or the last one closed.
    pub async fn send(
        &self,
        addr: SocketAddr,
        mut request: Request<Body>,
    ) -> Result<Response<Body>, SendError> {
        // A request the connection never sent (it was closing: the instance's GOAWAY on
        // shutdown) goes out once more, on another connection.
        let (mut conn, mut fresh) = match self.open(addr) {
            Some(conn) => (conn, false),
            None => (self.connection(addr, None).await?, true),
        };
        // HTTP/2 wants :scheme and :authority, which hyper takes from an absolute URI.
        let mut uri = std::mem::take(request.uri_mut()).into_parts();
        uri.scheme = Some(self.connector.scheme());
        uri.authority = Some(conn.authority.clone());
        uri.path_and_query
            .get_or_insert_with(|| http::uri::PathAndQuery::from_static("/"));
        *request.uri_mut() = http::Uri::from_parts(uri)
            .map_err(|e| SendError::Io(std::io::Error::new(std::io::ErrorKind::InvalidInput, e)))?;
        loop {
            if let Err(err) = conn.sender.ready().await {
                if fresh {
                    return Err(err.into());
                }
                conn = self.connection(addr, Some(conn.number)).await?;
                fresh = true;
                continue;
            }
            match conn.sender.try_send_request(request).await {
                Ok(response) => return Ok(response.map(|b| b.map_err(BoxError::from).boxed())),
                Err(mut err) => match err.take_message() {
                    Some(unsent) if !fresh => {
                        request = unsent;
                        conn = self.connection(addr, Some(conn.number)).await?;
                        fresh = true;
                    }
                    _ => return Err(SendError::Http(err.into_error())),
                },
            }
        }
    }

    /// `addr`'s open connection, if any.
    fn open(&self, addr: SocketAddr) -> Option<H2Connection> {
        let instances = self.instances.lock().unwrap_or_else(|p| p.into_inner());
        let conn = instances.get(&addr)?.open.as_ref()?;
        (!conn.sender.is_closed()).then(|| conn.clone())
    }

    /// An open connection to `addr` other than connection `failed`: one opened meanwhile by
    /// another request, else a new one. One request at a time opens a connection per instance;
    /// the requests waiting for it share its outcome.
    async fn connection(&self, addr: SocketAddr, failed: Option<u64>) -> Result<H2Connection, SendError> {
        let (connecting, attempts) = {
            let mut instances = self.instances.lock().unwrap_or_else(|p| p.into_inner());
            let instance = instances.entry(addr).or_default();
            (Arc::clone(&instance.connecting), instance.attempts)
        };
        let _turn = connecting.lock().await;
        // What happened while this request waited: a connection opened (used, unless it is the
        // one that just failed), or an attempt failed (shared).
        if let Some(instance) = self
            .instances
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&addr)
        {
            if let Some(conn) = &instance.open
                && !conn.sender.is_closed()
                && Some(conn.number) != failed
            {
                return Ok(conn.clone());
            }
            if instance.attempts != attempts
                && let Some(failure) = &instance.failure
            {
                return Err(SendError::Shared(Arc::clone(failure)));
            }
        }
        let opened = match self.connector.authority(addr).parse::<http::uri::Authority>() {
            Ok(authority) => self.handshake(addr).await.map(|sender| (sender, authority)),
            Err(e) => Err(SendError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                e,
            ))),
        };
        let mut instances = self.instances.lock().unwrap_or_else(|p| p.into_inner());
        // Gone when a DNS refresh dropped the instance meanwhile: a new connection serves this
        // request and closes after it.
        let instance = instances.get_mut(&addr);
        match opened {
            Ok((sender, authority)) => {
                let conn = H2Connection {
                    number: self.opened.fetch_add(1, Ordering::Relaxed) + 1,
                    sender,
                    authority,
                };
                if let Some(instance) = instance {
                    instance.attempts += 1;
                    instance.failure = None;
                    instance.open = Some(conn.clone());
                }
                Ok(conn)
            }
            Err(err) => {
                let err = Arc::new(err);
                if let Some(instance) = instance {
                    instance.attempts += 1;
                    instance.failure = Some(Arc::clone(&err));
                }
                Err(SendError::Shared(err))
            }
        }
    }

    /// A new HTTP/2 connection to `addr`.
    async fn handshake(&self, addr: SocketAddr) -> Result<http2::SendRequest<Body>, SendError> {
        let io = self.connector.connect(addr, Alpn::H2).await?;
        let (sender, connection) = http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            // A connection to an instance that vanished without a FIN is noticed.
            .keep_alive_interval(Duration::from_secs(30))
            .keep_alive_timeout(Duration::from_secs(10))
            .handshake(TokioIo::new(io))
            .await?;
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(instance = %addr, error = %err, "upstream HTTP/2 connection ended with an error");
            }
        });
        Ok(sender)
    }

    /// Forgets the instances not in `current` (see [`Http1Pool::retain_instances`]).
    pub fn retain_instances(&self, current: &[SocketAddr]) {
        self.instances
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|addr, _| current.contains(addr));
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

    /// An HTTP/2 instance that counts the connections it accepts and answers each request with
    /// the `:authority` it carried.
    async fn h2_instance() -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let service = hyper::service::service_fn(|request: Request<Incoming>| async move {
                    // Long enough for every request to arrive before the first is answered.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    let authority = request
                        .uri()
                        .authority()
                        .map(|a| a.to_string())
                        .unwrap_or_default();
                    Ok::<_, std::convert::Infallible>(Response::new(http_body_util::Full::new(Bytes::from(
                        authority,
                    ))))
                });
                tokio::spawn(
                    hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        (addr, accepted)
    }

    #[tokio::test]
    async fn concurrent_first_requests_share_one_http2_connection_named_for_the_upstream() {
        use std::sync::atomic::Ordering;
        let (addr, accepted) = h2_instance().await;
        // A DNS upstream: requests name the service, not the instance's address.
        let connector = Connector::new("t", Duration::from_secs(1), None, Some("movies.internal")).unwrap();
        let pool = Arc::new(H2Pool::new(Arc::new(connector)));
        let requests: Vec<_> = (0..20)
            .map(|_| {
                let pool = Arc::clone(&pool);
                tokio::spawn(async move {
                    let request = Request::builder().uri("/x").body(Body::default()).unwrap();
                    let response = pool.send(addr, request).await.unwrap();
                    response.into_body().collect().await.unwrap().to_bytes()
                })
            })
            .collect();
        for request in requests {
            assert_eq!(request.await.unwrap(), format!("movies.internal:{}", addr.port()));
        }
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            1,
            "one connection for all 20 requests"
        );

        // Without a name, the instance's address.
        let pool = H2Pool::new(Arc::new(
            Connector::new("t", Duration::from_secs(1), None, None).unwrap(),
        ));
        let response = pool
            .send(addr, Request::builder().uri("/x").body(Body::default()).unwrap())
            .await
            .unwrap();
        assert_eq!(
            response.into_body().collect().await.unwrap().to_bytes(),
            addr.to_string()
        );
    }

    #[tokio::test]
    async fn requests_waiting_for_a_connection_that_cannot_be_opened_fail_with_it_together() {
        // A listener whose backlog is full: connects to it hang (SYNs are dropped), the way a
        // vanished host behaves, until the 300 ms connect timeout.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = socket.listen(0).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut fillers = Vec::new();
        for _ in 0..8 {
            if let Ok(Ok(stream)) =
                tokio::time::timeout(Duration::from_millis(100), tokio::net::TcpStream::connect(addr)).await
            {
                fillers.push(stream);
            }
        }
        let connector = Connector::new("t", Duration::from_millis(300), None, None).unwrap();
        let pool = Arc::new(H2Pool::new(Arc::new(connector)));
        let started = std::time::Instant::now();
        let requests: Vec<_> = (0..10)
            .map(|_| {
                let pool = Arc::clone(&pool);
                tokio::spawn(async move {
                    let request = Request::builder().uri("/x").body(Body::default()).unwrap();
                    pool.send(addr, request)
                        .await
                        .map(|_| ())
                        .unwrap_err()
                        .to_string()
                })
            })
            .collect();
        for request in requests {
            let error = request.await.unwrap();
            assert!(error.contains("timed out"), "{error}");
        }
        // One timeout for all, not ten one after another.
        let took = started.elapsed();
        assert!(took < Duration::from_millis(1500), "took {took:?}");
        // The next request tries again.
        let request = Request::builder().uri("/x").body(Body::default()).unwrap();
        assert!(pool.send(addr, request).await.is_err());
        drop(fillers);
    }
}
