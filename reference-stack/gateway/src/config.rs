//! The gateway's typed configuration (defaults < TOML file < `GAUNTLET_GATEWAY_*` environment),
//! and its validation into the form the proxy runs on: every route names a known upstream,
//! prefixes are well formed, numbers are in range. A mistake is reported with the key it is at
//! (`routes[1].upstream`), so `gateway` exits 2 with a message a user can act on.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use stack_common::auth::VerifierConfig;

mod route;
mod upstream;
mod validate;

pub use route::{
    AuthConfig, MAX_RETRIES, MAX_TIMEOUT_MS, RateLimitConfig, RouteConfig, SUPPORTED_METHODS, default_routes,
};
pub use upstream::{DnsConfig, InstanceConfig, UpstreamConfig, UpstreamTls};
pub use validate::InvalidConfig;

/// Everything the gateway needs to start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// Address to listen on (HTTP/1.1 and h2c, or TLS with ALPN `h2`/`http/1.1`).
    pub listen: SocketAddr,
    /// TLS termination; plain TCP when absent.
    pub tls: Option<TlsConfig>,
    /// iam's base URL, for the JWKS and the revocation list of the edge token checks.
    pub iam_url: String,
    /// Required token issuer.
    pub issuer: String,
    /// Required token audience.
    pub audience: String,
    /// Least time between two JWKS fetches triggered by unknown `kid`s.
    pub jwks_min_refresh_ms: u64,
    /// How often the revocation list is fetched from iam.
    pub revocation_refresh_ms: u64,
    /// How long a verified token's claims are reused without checking it again (0: never).
    /// A revoked token is refused within `revocation_refresh_ms + token_cache_ms`.
    pub token_cache_ms: u64,
    /// Limits on what a client may send (checked before anything is proxied).
    pub limits: Limits,
    /// Upstream services by name.
    pub upstreams: BTreeMap<String, UpstreamConfig>,
    /// Routes, tried in order; the first whose prefix and method match takes the request.
    pub routes: Vec<RouteConfig>,
    /// Longest wait for in-flight requests after the shutdown signal.
    pub drain_timeout_ms: u64,
    /// JSON log lines (true) or compact text.
    pub log_json: bool,
    /// One JSON access-log line per request (target `access`).
    pub access_log: bool,
}
/// Certificate and key for TLS termination (PEM files).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// What a client may send.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Most request headers (431 above).
    pub max_headers: usize,
    /// Most bytes of all request header names and values together (431 above).
    pub max_header_bytes: usize,
    /// Largest request body (413 above).
    pub max_body_bytes: usize,
    /// Longest request target, path plus query (414 above).
    pub max_uri_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_headers: 64,
            max_header_bytes: 16 * 1024,
            max_body_bytes: 64 * 1024,
            max_uri_bytes: 4096,
        }
    }
}

impl Default for GatewayConfig {
    /// The reference stack's layout: iam on 8081, catalog on 8082, the gateway on 8080.
    fn default() -> Self {
        let iam: SocketAddr = ([127, 0, 0, 1], 8081).into();
        let catalog: SocketAddr = ([127, 0, 0, 1], 8082).into();
        GatewayConfig {
            listen: ([127, 0, 0, 1], 8080).into(),
            tls: None,
            iam_url: "http://127.0.0.1:8081".into(),
            issuer: "gauntlet-iam".into(),
            audience: "gauntlet".into(),
            jwks_min_refresh_ms: 1000,
            revocation_refresh_ms: 2000,
            token_cache_ms: 1000,
            limits: Limits::default(),
            upstreams: BTreeMap::from([
                ("iam".to_string(), UpstreamConfig::with_instances([iam])),
                ("catalog".to_string(), UpstreamConfig::with_instances([catalog])),
            ]),
            routes: default_routes(),
            drain_timeout_ms: 30_000,
            log_json: true,
            access_log: true,
        }
    }
}
impl GatewayConfig {
    /// The token checks this config asks for.
    pub fn verifier(&self) -> VerifierConfig {
        VerifierConfig {
            iam_url: self.iam_url.trim_end_matches('/').to_string(),
            issuer: self.issuer.clone(),
            audience: self.audience.clone(),
            jwks_min_refresh: Duration::from_millis(self.jwks_min_refresh_ms),
            revocation_refresh: Duration::from_millis(self.revocation_refresh_ms),
        }
    }
}
