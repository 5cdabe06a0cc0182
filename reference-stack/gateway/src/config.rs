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

/// A DNS host name (a final `.` allowed): what `Host` can carry and a certificate can name.
fn is_host_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name
            .split('.')
            .all(|label| !label.is_empty() && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

/// Whether `text` can start an origin-form request target as it is: the gateway writes the
/// configured health path and rewrite prefix into request lines.
fn is_origin_target(text: &str) -> bool {
    text.starts_with('/') && text.parse::<http::uri::PathAndQuery>().is_ok() && !text.contains(['#', ' '])
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

/// One route: which requests, which upstream, which policies.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Name in logs and metrics.
    pub name: String,
    /// Path prefix matched on segment boundaries (`/api` matches `/api` and `/api/x`, not `/apix`).
    pub prefix: String,
    /// Methods this route takes; any supported method when empty.
    #[serde(default)]
    pub methods: Vec<String>,
    /// The upstream's name.
    pub upstream: String,
    /// The matched prefix is replaced by this (`""` strips it; absent keeps the path as is).
    #[serde(default)]
    pub rewrite: Option<String>,
    /// gRPC over h2c to the upstream; errors answered as gRPC statuses.
    #[serde(default)]
    pub grpc: bool,
    /// Edge authentication: a valid bearer JWT is required when set.
    #[serde(default)]
    pub auth: Option<AuthConfig>,
    /// Per-consumer token bucket.
    #[serde(default)]
    pub rate_limit: Option<RateLimitConfig>,
    /// Time allowed until the upstream's response head (504 after).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Extra attempts for idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE) after a connect
    /// error or a 502/503/504; never for others.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Wait before the first retry; doubled for each further one.
    #[serde(default = "default_retry_backoff_ms")]
    pub retry_backoff_ms: u64,
}

/// Edge token check of a route.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Scope the token must carry (any valid token when absent).
    #[serde(default)]
    pub scope: Option<String>,
}

/// A token bucket per consumer (JWT `sub`, else client IP).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Sustained requests per second.
    pub rate_per_sec: f64,
    /// Bucket size: requests allowed at once.
    pub burst: u32,
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
fn default_timeout_ms() -> u64 {
    10_000
}
/// The longest route timeout or retry backoff (one day): beyond it a deadline would be
/// meaningless, and far beyond it adding it to the clock would overflow.
pub const MAX_TIMEOUT_MS: u64 = 86_400_000;

/// The most retries a route may ask for.
pub const MAX_RETRIES: u32 = 5;

fn default_retries() -> u32 {
    1
}
fn default_retry_backoff_ms() -> u64 {
    25
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

impl RouteConfig {
    /// A route with the default policies and no auth.
    pub fn new(name: &str, prefix: &str, upstream: &str) -> Self {
        RouteConfig {
            name: name.into(),
            prefix: prefix.into(),
            methods: Vec::new(),
            upstream: upstream.into(),
            rewrite: None,
            grpc: false,
            auth: None,
            rate_limit: None,
            timeout_ms: default_timeout_ms(),
            retries: default_retries(),
            retry_backoff_ms: default_retry_backoff_ms(),
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

/// `/iam/*` public to iam; `/api/*` to catalog's `/v1/*` (reads need `movies:read`, writes
/// `movies:write`); gRPC `catalog.v1.MovieService` to catalog, any valid token (catalog checks
/// the per-method scope itself).
pub fn default_routes() -> Vec<RouteConfig> {
    let api = |name: &str, methods: &[&str], scope: &str| RouteConfig {
        methods: methods.iter().map(|m| m.to_string()).collect(),
        rewrite: Some("/v1".into()),
        auth: Some(AuthConfig {
            scope: Some(scope.into()),
        }),
        rate_limit: Some(RateLimitConfig {
            rate_per_sec: 500.0,
            burst: 1000,
        }),
        ..RouteConfig::new(name, "/api", "catalog")
    };
    vec![
        RouteConfig {
            rewrite: Some(String::new()),
            rate_limit: Some(RateLimitConfig {
                rate_per_sec: 100.0,
                burst: 200,
            }),
            ..RouteConfig::new("iam", "/iam", "iam")
        },
        api("api-read", &["GET", "HEAD"], "movies:read"),
        api("api-write", &["POST", "PUT", "DELETE"], "movies:write"),
        RouteConfig {
            grpc: true,
            methods: vec!["POST".into()],
            auth: Some(AuthConfig { scope: None }),
            ..RouteConfig::new("grpc-catalog", "/catalog.v1.MovieService", "catalog")
        },
    ]
}

/// A configuration mistake, naming the key.
#[derive(Debug, thiserror::Error)]
#[error("config key {key}: {message}")]
pub struct InvalidConfig {
    /// Where (`routes[2].upstream`).
    pub key: String,
    /// What is wrong.
    pub message: String,
}

fn invalid(key: impl Into<String>, message: impl Into<String>) -> InvalidConfig {
    InvalidConfig {
        key: key.into(),
        message: message.into(),
    }
}

/// Methods the gateway forwards at all; anything else is 405 at the edge.
pub const SUPPORTED_METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];

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

    /// Checks what serde cannot: references between keys and value ranges.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        for (name, up) in &self.upstreams {
            let key = format!("upstreams.{name}");
            match (&up.dns, up.instances.is_empty()) {
                (None, true) => return Err(invalid(&key, "needs `instances` or `dns`")),
                (Some(_), false) => return Err(invalid(&key, "has both `instances` and `dns`; choose one")),
                (Some(dns), true) => {
                    if !is_host_name(&dns.name) {
                        return Err(invalid(
                            format!("{key}.dns.name"),
                            "must be a host name (letters, digits, `-` and `.`)",
                        ));
                    }
                    if dns.ports.is_empty() || dns.ports.contains(&0) {
                        return Err(invalid(
                            format!("{key}.dns.ports"),
                            "needs at least one non-zero port",
                        ));
                    }
                    if dns.refresh_ms == 0 {
                        return Err(invalid(format!("{key}.dns.refresh_ms"), "must be > 0"));
                    }
                }
                (None, false) => {
                    for (i, inst) in up.instances.iter().enumerate() {
                        if inst.weight == 0 {
                            return Err(invalid(format!("{key}.instances[{i}].weight"), "must be >= 1"));
                        }
                    }
                }
            }
            if up.eject_after_failures == 0 {
                return Err(invalid(format!("{key}.eject_after_failures"), "must be >= 1"));
            }
            if !up.health_path.is_empty() && !is_origin_target(&up.health_path) {
                return Err(invalid(
                    format!("{key}.health_path"),
                    "must be a path starting with / (no spaces or control characters)",
                ));
            }
            if let Some(tls) = &up.tls {
                // Requests carry it in `Host` / `:authority` (an address literal aside).
                if let Some(name) = &tls.server_name
                    && name.parse::<std::net::IpAddr>().is_err()
                    && !is_host_name(name)
                {
                    return Err(invalid(
                        format!("{key}.tls.server_name"),
                        "must be a host name (letters, digits, `-` and `.`) or an IP address",
                    ));
                }
                match (&tls.cert, &tls.key) {
                    (Some(_), None) => {
                        return Err(invalid(
                            format!("{key}.tls.key"),
                            "a client certificate needs its key",
                        ));
                    }
                    (None, Some(_)) => {
                        return Err(invalid(
                            format!("{key}.tls.cert"),
                            "a client key needs its certificate",
                        ));
                    }
                    _ => {}
                }
            }
        }
        if self.routes.is_empty() {
            return Err(invalid(
                "routes",
                "no routes: the gateway would answer 404 to everything",
            ));
        }
        for (i, route) in self.routes.iter().enumerate() {
            let key = format!("routes[{i}]");
            if !route.prefix.starts_with('/') || (route.prefix.len() > 1 && route.prefix.ends_with('/')) {
                return Err(invalid(
                    format!("{key}.prefix"),
                    format!("{:?} must start with / and not end with /", route.prefix),
                ));
            }
            if !self.upstreams.contains_key(&route.upstream) {
                return Err(invalid(
                    format!("{key}.upstream"),
                    format!(
                        "no upstream named {:?} (known: {})",
                        route.upstream,
                        self.upstreams.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            if let Some(rewrite) = &route.rewrite
                && !rewrite.is_empty()
                && !is_origin_target(rewrite)
            {
                return Err(invalid(
                    format!("{key}.rewrite"),
                    "must be empty or a path starting with / (no spaces or control characters)",
                ));
            }
            for m in &route.methods {
                if !SUPPORTED_METHODS.contains(&m.as_str()) {
                    return Err(invalid(
                        format!("{key}.methods"),
                        format!("{m:?} is not one of {}", SUPPORTED_METHODS.join(", ")),
                    ));
                }
            }
            if route.timeout_ms == 0 || route.timeout_ms > MAX_TIMEOUT_MS {
                return Err(invalid(
                    format!("{key}.timeout_ms"),
                    format!("must be > 0 and at most {MAX_TIMEOUT_MS} (one day)"),
                ));
            }
            if route.retry_backoff_ms > MAX_TIMEOUT_MS {
                return Err(invalid(
                    format!("{key}.retry_backoff_ms"),
                    format!("at most {MAX_TIMEOUT_MS} (one day)"),
                ));
            }
            if route.retries > MAX_RETRIES {
                return Err(invalid(
                    format!("{key}.retries"),
                    format!("at most {MAX_RETRIES}"),
                ));
            }
            if let Some(rl) = &route.rate_limit
                && (!(rl.rate_per_sec.is_finite() && rl.rate_per_sec > 0.0) || rl.burst == 0)
            {
                return Err(invalid(
                    format!("{key}.rate_limit"),
                    "rate_per_sec must be > 0 and burst >= 1",
                ));
            }
        }
        if self.limits.max_headers == 0 || self.limits.max_header_bytes == 0 || self.limits.max_uri_bytes == 0
        {
            return Err(invalid("limits", "limits must be > 0"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        GatewayConfig::default().validate().unwrap();
    }

    #[test]
    fn unknown_upstream_is_named_with_its_key() {
        let mut c = GatewayConfig::default();
        c.routes[1].upstream = "catalgo".into();
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.contains("routes[1].upstream") && err.contains("catalgo"),
            "{err}"
        );
    }

    #[test]
    fn misspelt_key_in_a_file_is_an_error() {
        let dir = tempfile_dir();
        let file = dir.join("gw.toml");
        std::fs::write(
            &file,
            "[[routes]]\nname = \"x\"\nprefix = \"/x\"\nupstream = \"iam\"\ntimeout = 5\n",
        )
        .unwrap();
        let err = stack_common::config::load::<GatewayConfig>(Some(&file), "G", Vec::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("timeout"), "{err}");
    }

    #[test]
    fn prefix_with_trailing_slash_is_refused() {
        let mut c = GatewayConfig::default();
        c.routes[0].prefix = "/iam/".into();
        assert!(c.validate().unwrap_err().to_string().contains("routes[0].prefix"));
    }

    #[test]
    fn timeouts_and_retries_are_bounded() {
        let refused = |tune: fn(&mut RouteConfig)| {
            let mut c = GatewayConfig::default();
            tune(&mut c.routes[0]);
            c.validate().unwrap_err().to_string()
        };
        assert!(refused(|r| r.timeout_ms = u64::MAX).contains("routes[0].timeout_ms"));
        assert!(refused(|r| r.timeout_ms = 0).contains("routes[0].timeout_ms"));
        assert!(refused(|r| r.retry_backoff_ms = MAX_TIMEOUT_MS + 1).contains("routes[0].retry_backoff_ms"));
        assert!(refused(|r| r.retries = MAX_RETRIES + 1).contains("routes[0].retries"));
        let mut c = GatewayConfig::default();
        c.routes[0].timeout_ms = MAX_TIMEOUT_MS;
        c.routes[0].retries = MAX_RETRIES;
        c.validate().unwrap();
    }

    #[test]
    fn text_written_into_request_lines_and_half_client_identities_are_refused() {
        let mut c = GatewayConfig::default();
        c.routes[0].rewrite = Some("/v1 HTTP/1.1\r\nx: y".into());
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("routes[0].rewrite")
        );
        let mut c = GatewayConfig::default();
        c.upstreams.get_mut("catalog").unwrap().health_path = "/ready z".into();
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("upstreams.catalog.health_path")
        );
        // Names that go into `Host`.
        let mut c = GatewayConfig::default();
        let catalog = c.upstreams.get_mut("catalog").unwrap();
        catalog.instances.clear();
        catalog.dns = Some(DnsConfig {
            name: "catalog svc".into(),
            ports: vec![8080],
            refresh_ms: 1000,
        });
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("upstreams.catalog.dns.name")
        );
        let mut c = GatewayConfig::default();
        c.upstreams.get_mut("catalog").unwrap().tls = Some(UpstreamTls {
            ca: "ca.pem".into(),
            cert: None,
            key: None,
            server_name: Some("catalog/x".into()),
        });
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("upstreams.catalog.tls.server_name")
        );
        let mut c = GatewayConfig::default();
        c.upstreams.get_mut("catalog").unwrap().tls = Some(UpstreamTls {
            ca: "ca.pem".into(),
            cert: Some("client.pem".into()),
            key: None,
            server_name: None,
        });
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("upstreams.catalog.tls.key")
        );
    }

    #[test]
    fn an_unreadable_upstream_ca_is_named_with_its_key() {
        let tls = UpstreamTls {
            ca: "/nonexistent/ca.pem".into(),
            cert: None,
            key: None,
            server_name: None,
        };
        let err = crate::connect::Connector::new("catalog", Duration::from_secs(1), Some(&tls), None)
            .err()
            .expect("refused");
        assert_eq!(err.key, "upstreams.catalog.tls.ca");
        assert!(err.message.contains("/nonexistent/ca.pem"), "{}", err.message);
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("gwcfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
