//! An upstream service: its instances (static, or from DNS re-resolved every `refresh_ms`), their
//! balancer, the pooled keep-alive connections that reach them (HTTP/1.1 for REST, HTTP/2 for
//! gRPC, so trailers survive; cleartext with prior knowledge, or TLS), and the active health
//! check against `/readyz`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method};
use tokio::sync::watch;

use crate::balance::Balancer;
use crate::config::{InvalidConfig, UpstreamConfig};
use crate::connect::Connector;
use crate::pool::{H2Pool, Http1Pool};

/// One upstream service.
pub struct Upstream {
    /// Its name in config, logs and metrics.
    pub name: String,
    /// Its instances.
    pub balancer: Balancer,
    /// HTTP/1.1 keep-alive connections.
    pub http1: Arc<Http1Pool>,
    /// HTTP/2 connections, for gRPC.
    pub h2: H2Pool,
    config: UpstreamConfig,
}

impl Upstream {
    /// The upstream of `config`; DNS names are resolved once here (an empty list until they
    /// resolve: requests get 503 meanwhile). Fails when its TLS files do not load.
    pub async fn new(name: &str, config: &UpstreamConfig) -> Result<Upstream, InvalidConfig> {
        let connector = Arc::new(Connector::new(
            name,
            Duration::from_millis(config.connect_timeout_ms),
            config.tls.as_ref(),
            config.dns.as_ref().map(|dns| dns.name.as_str()),
        )?);
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
        Ok(Upstream {
            name: name.to_string(),
            balancer,
            http1: Http1Pool::new(Arc::clone(&connector), Duration::from_secs(30), 256),
            h2: H2Pool::new(connector),
            config: config.clone(),
        })
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
                                this.h2.retain_instances(&addrs);
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
        let path = self.config.health_path.as_str();
        let check = async {
            let response = self
                .http1
                .send(addr, &Method::GET, path, &HeaderMap::new(), &Bytes::new())
                .await
                .ok()?;
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
