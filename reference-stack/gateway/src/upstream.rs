//! An upstream service: its instances (static, or from DNS re-resolved every `refresh_ms`), their
//! balancer, the pooled keep-alive connections that reach them (HTTP/1.1 for REST, h2c with
//! prior knowledge for gRPC, so trailers survive), and the active health check against `/readyz`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::sync::watch;

use crate::balance::Balancer;
use crate::config::UpstreamConfig;
use crate::pool::Http1Pool;
use crate::respond::{Body, empty};

/// A pooled client (h2c).
pub type HttpClient = Client<HttpConnector, Body>;

/// One upstream service.
pub struct Upstream {
    /// Its name in config, logs and metrics.
    pub name: String,
    /// Its instances.
    pub balancer: Balancer,
    /// HTTP/1.1 keep-alive connections.
    pub http1: Arc<Http1Pool>,
    /// HTTP/2 cleartext (prior knowledge) pool, for gRPC.
    pub h2c: HttpClient,
    config: UpstreamConfig,
}

fn connector(connect_timeout: Duration) -> HttpConnector {
    let mut connector = HttpConnector::new();
    // Small proxied messages would otherwise wait for delayed ACKs (Nagle).
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(connect_timeout));
    connector.set_keepalive(Some(Duration::from_secs(60)));
    connector
}

impl Upstream {
    /// The upstream of `config`; DNS names are resolved once here (an empty list until they
    /// resolve: requests get 503 meanwhile).
    pub async fn new(name: &str, config: &UpstreamConfig) -> Upstream {
        let cooldown = Duration::from_millis(config.eject_cooldown_ms);
        let balancer = match &config.dns {
            None => Balancer::new(
                config.instances.iter().map(|i| (i.addr, i.weight)),
                config.eject_after_failures,
                cooldown,
            ),
            Some(dns) => {
                let addrs = resolve(&dns.name, &dns.ports).await.unwrap_or_else(|err| {
                    tracing::warn!(upstream = name, name = %dns.name, error = %err, "cannot resolve upstream");
                    Vec::new()
                });
                Balancer::new(
                    addrs.into_iter().map(|a| (a, 1)),
                    config.eject_after_failures,
                    cooldown,
                )
            }
        };
        let connect_timeout = Duration::from_millis(config.connect_timeout_ms);
        let http1 = Http1Pool::new(connect_timeout, Duration::from_secs(30), 256);
        let h2c = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .http2_only(true)
            .build(connector(connect_timeout));
        Upstream {
            name: name.to_string(),
            balancer,
            http1,
            h2c,
            config: config.clone(),
        }
    }

    /// Starts the active health check and the DNS re-resolution (when configured); both stop
    /// when `stop` turns true.
    pub fn spawn_background(
        self: &Arc<Self>,
        stop: watch::Receiver<bool>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = Vec::new();
        if !self.config.health_path.is_empty() && self.config.health_interval_ms > 0 {
            let this = Arc::clone(self);
            let stop = stop.clone();
            tasks.push(tokio::spawn(async move { this.health_loop(stop).await }));
        }
        if let Some(dns) = self.config.dns.clone() {
            let this = Arc::clone(self);
            tasks.push(tokio::spawn(async move {
                let mut stop = stop;
                let mut tick = tokio::time::interval(Duration::from_millis(dns.refresh_ms));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        () = stopped(&mut stop) => break,
                        _ = tick.tick() => match resolve(&dns.name, &dns.ports).await {
                            Ok(addrs) if !addrs.is_empty() => {
                                this.balancer.replace(&addrs);
                                this.http1.retain_instances(&addrs);
                            }
                            // Keep serving the last known instances rather than none.
                            Ok(_) => tracing::warn!(upstream = %this.name, name = %dns.name, "DNS name has no addresses"),
                            Err(err) => tracing::warn!(upstream = %this.name, name = %dns.name, error = %err, "cannot resolve upstream"),
                        },
                    }
                }
            }));
        }
        tasks
    }

    async fn health_loop(&self, mut stop: watch::Receiver<bool>) {
        let interval = Duration::from_millis(self.config.health_interval_ms);
        let timeout = interval.min(Duration::from_secs(2));
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stopped(&mut stop) => break,
                _ = tick.tick() => {}
            }
            let checks = self.balancer.addrs().into_iter().map(|addr| async move {
                let ready = self.probe(addr, timeout).await;
                (addr, ready)
            });
            for (addr, ready) in futures_join_all(checks).await {
                let was = self
                    .balancer
                    .states()
                    .iter()
                    .find(|s| s.addr == addr)
                    .map(|s| s.ready);
                if was != Some(ready) {
                    tracing::warn!(upstream = %self.name, instance = %addr, ready, "active health check changed");
                }
                self.balancer.set_ready(addr, ready);
            }
        }
    }

    async fn probe(&self, addr: SocketAddr, timeout: Duration) -> bool {
        let Ok(uri) = self.config.health_path.parse::<http::Uri>() else {
            return false;
        };
        let mut request = http::Request::new(empty());
        *request.uri_mut() = uri;
        let check = async {
            let response = self.http1.send(addr, request).await.ok()?;
            let ready = response.status().is_success();
            // read to the end, so the connection goes back to the pool for the next check
            http_body_util::BodyExt::collect(response.into_body())
                .await
                .ok()?;
            Some(ready)
        };
        matches!(tokio::time::timeout(timeout, check).await, Ok(Some(true)))
    }
}

/// Runs a handful of probes concurrently and collects their results, without a dependency on
/// `futures` for `join_all` (one probe per instance, so a slow instance does not delay the others).
async fn futures_join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (fut, out) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if out.is_none() {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *out = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// Completes once `stop` turns true (the `Ref` of `wait_for` is not `Send`, so it is dropped here).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Every address of `name` on each of `ports`, sorted (so a re-resolution that returns the same
/// set in another order changes nothing).
pub async fn resolve(name: &str, ports: &[u16]) -> std::io::Result<Vec<SocketAddr>> {
    let mut addrs = Vec::new();
    for port in ports {
        addrs.extend(tokio::net::lookup_host((name, *port)).await?);
    }
    addrs.sort();
    addrs.dedup();
    Ok(addrs)
}
