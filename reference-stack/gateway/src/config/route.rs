//! Routes in the configuration: which requests (prefix, methods, gRPC service) go to which
//! upstream, with which policies (edge auth, rate limit, timeout, retries); the default routes.

use serde::{Deserialize, Serialize};

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

/// Methods the gateway forwards at all; anything else is 405 at the edge.
pub const SUPPORTED_METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];
