//! catalog's typed configuration (defaults < TOML file < `GAUNTLET_CATALOG_*` environment).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use stack_common::auth::VerifierConfig;

/// Everything catalog needs to start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CatalogConfig {
    /// Address to listen on (REST and gRPC).
    pub listen: SocketAddr,
    /// Directory for `catalog.db`; created if missing.
    pub data_dir: PathBuf,
    /// iam's base URL, for the JWKS and the revocation list.
    pub iam_url: String,
    /// Required token issuer.
    pub issuer: String,
    /// Required token audience.
    pub audience: String,
    /// Largest request body accepted (413 above).
    pub max_body_bytes: usize,
    /// How often the revocation list is fetched from iam: the bound on how long a revoked
    /// token is still accepted.
    pub revocation_refresh_ms: u64,
    /// Least time between two JWKS fetches triggered by unknown `kid`s.
    pub jwks_min_refresh_ms: u64,
    /// JSON log lines (true) or compact text.
    pub log_json: bool,
    /// Injected faults (extra latency, errors) per route; none by default.
    pub faults: Vec<stack_common::faults::Fault>,
}

impl Default for CatalogConfig {
    fn default() -> Self {
        CatalogConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8082)),
            data_dir: PathBuf::from("data/catalog"),
            iam_url: "http://127.0.0.1:8081".into(),
            issuer: "gauntlet-iam".into(),
            audience: "gauntlet".into(),
            max_body_bytes: 64 * 1024,
            revocation_refresh_ms: 2000,
            jwks_min_refresh_ms: 1000,
            log_json: true,
            faults: Vec::new(),
        }
    }
}

impl CatalogConfig {
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
