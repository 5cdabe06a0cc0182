//! The HTTP/2 connections of one upstream (gRPC's transport): one per instance, multiplexing
//! every request to it; requests waiting for a connection being opened share its outcome.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Request, Response};
use http_body_util::BodyExt;
use hyper::client::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};

use crate::FastHash;
use crate::connect::{Alpn, Connector};
use crate::respond::{Body, BoxError};

use super::SendError;

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

    /// Forgets the instances not in `current` (see [`super::Http1Pool::retain_instances`]).
    pub fn retain_instances(&self, current: &[SocketAddr]) {
        self.instances
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|addr, _| current.contains(addr));
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use hyper::body::Incoming;

    use super::*;

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
