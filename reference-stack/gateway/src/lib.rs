//! The gateway, the reference stack's single entry point: a reverse proxy on hyper 1 that routes
//! `/iam/*` to iam, `/api/*` to catalog's REST API and gRPC `catalog.v1.MovieService` to catalog
//! over HTTP/2 (trailers intact), cleartext or (mutual) TLS, with edge JWT checks, per-consumer rate limits, weighted
//! round-robin over several instances (static or from DNS), timeouts, retries of idempotent
//! requests, passive and active health, malformed-traffic filtering, optional TLS, request ids,
//! a JSON access log, Prometheus `/metrics` and graceful shutdown.
//!
//! `open(config)` validates the config and prepares the state, `serve(listener, gateway,
//! shutdown)` runs it.

#![warn(missing_docs)]

pub mod auth;
pub mod balance;
pub mod config;
pub mod connect;
pub mod filter;
pub mod h1;
pub mod headers;
pub mod pool;
pub mod proxy;
pub mod ratelimit;
mod request_body;
pub mod respond;
pub mod server;
pub mod stats;
pub mod tls;
pub mod upstream;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use stack_common::auth::TokenVerifier;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

pub use config::GatewayConfig;
use proxy::{Proxy, Route};
use upstream::Upstream;

/// The hasher of the gateway's per-request maps (token cache, rate-limit buckets, connection
/// pools): foldhash, seeded per process. std's SipHash over a 500-byte JWT was 4% of the
/// gateway's instructions per request.
pub(crate) type FastHash = foldhash::fast::RandomState;

/// The gateway's contract, served at `/openapi.yaml`.
pub const OPENAPI: &str = include_str!("../../../contracts/openapi/gateway.yaml");

/// A gateway ready to serve; cheap to clone.
#[derive(Clone)]
pub struct Gateway {
    proxy: Arc<Proxy>,
    tls: Option<TlsAcceptor>,
}

/// Validates `config`, loads the TLS certificate, resolves DNS upstreams once.
pub async fn open(config: GatewayConfig) -> anyhow::Result<Gateway> {
    config.validate()?;
    let tls = config.tls.as_ref().map(tls::acceptor).transpose()?;
    let mut by_name = HashMap::new();
    let mut upstreams = Vec::new();
    for (name, up) in &config.upstreams {
        let upstream = Arc::new(Upstream::new(name, up).await?);
        by_name.insert(name.clone(), Arc::clone(&upstream));
        upstreams.push(upstream);
    }
    let routes = config
        .routes
        .iter()
        .filter_map(|r| {
            by_name
                .get(&r.upstream)
                .map(|u| Route::new(r.clone(), Arc::clone(u)))
        })
        .collect();
    let proxy = Proxy {
        auth: auth::EdgeAuth::new(
            TokenVerifier::new(config.verifier()),
            Duration::from_millis(config.token_cache_ms),
        ),
        routes,
        upstreams,
        stats: Default::default(),
        openapi: OPENAPI,
        config,
    };
    Ok(Gateway {
        proxy: Arc::new(proxy),
        tls,
    })
}

impl Gateway {
    /// The Prometheus text of `/metrics`.
    pub fn metrics(&self) -> String {
        self.proxy.stats.render(&self.proxy.upstreams)
    }

    /// A policy counter summed over its labels (`gateway_retries_total`, ...).
    pub fn counter(&self, name: &str) -> u64 {
        self.proxy.stats.total(name)
    }

    /// The instances of upstream `name` and their health.
    pub fn instances(&self, name: &str) -> Vec<balance::InstanceState> {
        self.proxy
            .upstreams
            .iter()
            .find(|u| u.name == name)
            .map(|u| u.balancer.states())
            .unwrap_or_default()
    }
}

/// Serves the gateway on `listener` until `shutdown` completes; then stops accepting, lets
/// in-flight requests finish (at most `drain_timeout_ms`) and returns.
pub async fn serve(
    listener: TcpListener,
    gateway: Gateway,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let proxy = Arc::clone(&gateway.proxy);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut background = Vec::new();
    for upstream in &proxy.upstreams {
        background.extend(upstream.spawn_background(stop_rx.clone()));
    }
    let mut revocations_stop = stop_rx.clone();
    background.push(proxy.auth.verifier().spawn_revocation_poller(async move {
        let _ = revocations_stop.wait_for(|s| *s).await;
    }));

    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        // Slow-loris guard: the whole request head must arrive within this.
        .header_read_timeout(server::HEAD_TIMEOUT)
        // hyper's own backstop above our limit, so our 431 (JSON) answers first.
        .max_headers(proxy.config.limits.max_headers.saturating_mul(2).max(100));
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    // Tells the gateway's own HTTP/1.1 connections (`server`) to stop taking requests.
    let (conn_stop_tx, conn_stop) = watch::channel(false);
    let tls = gateway.tls.clone();
    // Connection tasks, so that whatever outlives the drain deadline is cut off (dropping the
    // set aborts them) rather than left running after `serve` returned.
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        while connections.try_join_next().is_some() {}
        let (tcp, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let hop = Arc::new(headers::ClientHop::new(peer, tls.is_some()));
        let (conn_proxy, conn_hop) = (Arc::clone(&proxy), Arc::clone(&hop));
        let service_proxy = Arc::clone(&proxy);
        let service = service_fn(move |req| {
            let proxy = Arc::clone(&service_proxy);
            let hop = Arc::clone(&hop);
            async move { Ok::<_, Infallible>(proxy.handle(req.map(proxy::RequestBody::Hyper), peer, &hop).await) }
        });
        match &tls {
            None => {
                // Simple HTTP/1.1 requests on the gateway's own loop; hyper takes the
                // connection over at the first request that is anything else.
                let stop = conn_stop.clone();
                let builder = builder.clone();
                let watcher = graceful.watcher();
                connections.spawn(async move {
                    let ended = server::serve(tcp, peer, &conn_proxy, &conn_hop, stop).await;
                    let server::Ended::HandOver(io) = ended else {
                        return;
                    };
                    let conn = builder.serve_connection(TokioIo::new(io), service).into_owned();
                    if let Err(err) = watcher.watch(conn).await {
                        tracing::debug!(client = %peer, error = %err, "connection ended with an error");
                    }
                });
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                let builder = builder.clone();
                let watcher = graceful.watcher();
                connections.spawn(async move {
                    let stream =
                        match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                            Ok(Ok(stream)) => stream,
                            Ok(Err(err)) => {
                                tracing::debug!(client = %peer, error = %err, "TLS handshake failed");
                                return;
                            }
                            Err(_) => return,
                        };
                    let conn = builder
                        .serve_connection(TokioIo::new(stream), service)
                        .into_owned();
                    if let Err(err) = watcher.watch(conn).await {
                        tracing::debug!(client = %peer, error = %err, "connection ended with an error");
                    }
                });
            }
        }
    }
    drop(listener);
    let _ = conn_stop_tx.send(true);
    let drain = Duration::from_millis(proxy.config.drain_timeout_ms);
    // hyper's connections finish their requests and close; so do the gateway's own, which
    // are done when their tasks are.
    let drained = async {
        graceful.shutdown().await;
        while connections.join_next().await.is_some() {}
    };
    if tokio::time::timeout(drain, drained).await.is_err() {
        tracing::warn!(
            timeout_ms = proxy.config.drain_timeout_ms,
            connections = connections.len(),
            "in-flight requests still running at the drain deadline are cut off"
        );
    }
    connections.shutdown().await;
    let _ = stop_tx.send(true);
    for task in background {
        let _ = task.await;
    }
    Ok(())
}

/// The address a gateway listens on, for logs.
pub fn describe(addr: SocketAddr, tls: bool) -> String {
    format!("{}://{addr}", if tls { "https" } else { "http" })
}
