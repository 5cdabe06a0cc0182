//! Upstream services in the configuration: where an upstream's instances are (static addresses or
//! DNS), how their health is judged and when they are ejected, and TLS to them.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// One upstream service: where its instances are and how their health is judged.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// A static list of instances.
    #[serde(default)]
    pub instances: Vec<InstanceConfig>,
    /// Or a DNS name whose A/AAAA records are the instances (re-resolved periodically).
    #[serde(default)]
    pub dns: Option<DnsConfig>,
    /// TCP connect timeout.
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// Passive health: consecutive failures (connect errors, 502/503/504) that eject an instance.
    #[serde(default = "default_eject_after")]
    pub eject_after_failures: u32,
    /// Passive health: how long an ejected instance is left out before it is tried again.
    #[serde(default = "default_eject_cooldown_ms")]
    pub eject_cooldown_ms: u64,
    /// Active health check: path requested on every instance (`/readyz`); none when empty.
    #[serde(default = "default_health_path")]
    pub health_path: String,
    /// Active health check interval.
    #[serde(default = "default_health_interval_ms")]
    pub health_interval_ms: u64,
    /// TLS to the instances (mutual when `cert` and `key` are set); plain TCP when absent.
    #[serde(default)]
    pub tls: Option<UpstreamTls>,
}

/// TLS from the gateway to an upstream's instances: the CA their certificates must chain to,
/// and optionally the gateway's own client certificate (mutual TLS).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamTls {
    /// CA certificates (PEM) the instances' certificates must chain to.
    pub ca: PathBuf,
    /// The gateway's client certificate chain (PEM), leaf first; with `key`, mutual TLS.
    #[serde(default)]
    pub cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[serde(default)]
    pub key: Option<PathBuf>,
    /// The name the instances' certificates must carry; default: the `dns` name of a DNS
    /// upstream, else each instance's IP address.
    #[serde(default)]
    pub server_name: Option<String>,
}

/// A statically configured instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceConfig {
    /// `host:port`, an IP address (no name resolution here: use `dns` for names).
    pub addr: SocketAddr,
    /// Share of the traffic relative to the other instances (weighted round-robin).
    #[serde(default = "default_weight")]
    pub weight: u32,
}

/// Instances from DNS: every address of `name` on each of `ports`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsConfig {
    /// The name (a Kubernetes headless Service, or `localhost`).
    pub name: String,
    /// The instances' ports; usually one (several instances share a port on different
    /// addresses), several for local setups where instances share one address.
    pub ports: Vec<u16>,
    /// How often the name is resolved again.
    #[serde(default = "default_dns_refresh_ms")]
    pub refresh_ms: u64,
}

fn default_connect_timeout_ms() -> u64 {
    1000
}
fn default_eject_after() -> u32 {
    3
}
fn default_eject_cooldown_ms() -> u64 {
    5000
}
fn default_health_path() -> String {
    "/readyz".into()
}
fn default_health_interval_ms() -> u64 {
    2000
}
fn default_weight() -> u32 {
    1
}
fn default_dns_refresh_ms() -> u64 {
    5000
}

impl UpstreamConfig {
    /// Static instances with the default policies.
    pub fn with_instances(addrs: impl IntoIterator<Item = SocketAddr>) -> Self {
        UpstreamConfig {
            instances: addrs
                .into_iter()
                .map(|addr| InstanceConfig { addr, weight: 1 })
                .collect(),
            dns: None,
            connect_timeout_ms: default_connect_timeout_ms(),
            eject_after_failures: default_eject_after(),
            eject_cooldown_ms: default_eject_cooldown_ms(),
            health_path: default_health_path(),
            health_interval_ms: default_health_interval_ms(),
            tls: None,
        }
    }
}
