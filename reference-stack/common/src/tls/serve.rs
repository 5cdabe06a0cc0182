//! The accept loop of a service with a `tls` key: TLS handshakes (bounded by
//! [`HANDSHAKE_TIMEOUT`](super::HANDSHAKE_TIMEOUT)), HTTP/1.1 or HTTP/2 by ALPN, and a graceful
//! shutdown, as `axum::serve` does for plain TCP.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt;

pub use tokio_rustls::TlsAcceptor;

use super::HANDSHAKE_TIMEOUT;

/// Serves `app` over TLS on `listener` until `shutdown` completes; then stops accepting, lets
/// in-flight requests finish (HTTP/1.1 after the current request, HTTP/2 after GOAWAY) and
/// returns — what `axum::serve(..).with_graceful_shutdown(..)` does for plain TCP.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    acceptor: TlsAcceptor,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let service = TowerToHyperService::new(app.map_request(|req: Request<Incoming>| req.map(Body::new)));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // as axum::serve: the CONNECT protocol for HTTP/2 websockets
    builder.http2().enable_connect_protocol();
    let graceful = GracefulShutdown::new();
    // Handshakes still running when shutdown starts are dropped rather than waited for: the
    // connection has no request in flight yet.
    let (stopping_tx, stopping_rx) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    if !is_connection_error(&err) {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::error!(error = %err, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    continue;
                }
            },
        };
        // Without it small responses wait for delayed ACKs.
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let builder = builder.clone();
        let service = service.clone();
        let watcher = graceful.watcher();
        let mut stopping = stopping_rx.clone();
        tokio::spawn(async move {
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp));
            let stream = tokio::select! {
                result = handshake => match result {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(err)) => {
                        tracing::debug!(client = %peer, error = %err, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(client = %peer, "TLS handshake timed out");
                        return;
                    }
                },
                _ = stopping.wait_for(|s| *s) => return,
            };
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            if let Err(err) = watcher.watch(conn.into_owned()).await {
                tracing::debug!(client = %peer, error = %err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    let _ = stopping_tx.send(true);
    graceful.shutdown().await;
    Ok(())
}

/// Errors of one connection, not of the listener (as axum::serve tells them apart).
fn is_connection_error(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}
