//! catalog's typed configuration (defaults < TOML file < `GAUNTLET_CATALOG_*` environment).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use stack_common::auth::VerifierConfig;
use stack_common::tls::ServerTls;

/// Everything catalog needs to start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CatalogConfig {
    /// Address to listen on (REST and gRPC).
    pub listen: SocketAddr,
    /// Serve HTTPS (REST and gRPC over h2) with this certificate; with `client_ca`, only to
    /// clients presenting a certificate that chains to it (mutual TLS). Absent: plain HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<ServerTls>,
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
    /// The RabbitMQ the event relay publishes to (`amqp://user:pass@host:port/%2f`). Absent:
    /// no relay runs, and events still accumulate in the outbox (published once a relay runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amqp_url: Option<String>,
    /// The topic exchange events are published to (routing key = event type).
    pub events_exchange: String,
    /// Longest wait between two attempts to reach the broker after a failure.
    pub events_retry_max_ms: u64,
}

impl Default for CatalogConfig {
    fn default() -> Self {
        CatalogConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8082)),
            tls: None,
            data_dir: PathBuf::from("data/catalog"),
            iam_url: "http://127.0.0.1:8081".into(),
            issuer: "gauntlet-iam".into(),
            audience: "gauntlet".into(),
            max_body_bytes: 64 * 1024,
            revocation_refresh_ms: 2000,
            jwks_min_refresh_ms: 1000,
            log_json: true,
            faults: Vec::new(),
            amqp_url: None,
            events_exchange: "catalog.events".into(),
            events_retry_max_ms: 2000,
        }
    }
}

impl CatalogConfig {
    /// Checks what the types cannot: an error names the key.
    pub fn check(&self) -> Result<(), String> {
        if let Some(tls) = &self.tls {
            tls.acceptor().map_err(|e| e.to_string())?;
        }
        if let Some(url) = &self.amqp_url {
            url.parse::<lapin::uri::AMQPUri>()
                .map_err(|e| format!("amqp_url {url:?} is not an AMQP URL: {e}"))?;
            // lapin is built without a TLS backend (the stack's broker is on loopback)
            if url.starts_with("amqps:") {
                return Err(format!(
                    "amqp_url {url:?}: amqps (TLS) is not supported, use amqp://"
                ));
            }
        }
        if self.events_exchange.is_empty() {
            return Err("events_exchange must not be empty".into());
        }
        if self.events_retry_max_ms == 0 {
            return Err("events_retry_max_ms must be at least 1".into());
        }
        Ok(())
    }

    /// The relay's settings, when an `amqp_url` is configured.
    pub fn relay(&self) -> Option<crate::events::RelayConfig> {
        let max_backoff = Duration::from_millis(self.events_retry_max_ms);
        self.amqp_url.as_ref().map(|url| crate::events::RelayConfig {
            amqp_url: url.clone(),
            exchange: self.events_exchange.clone(),
            min_backoff: Duration::from_millis(100).min(max_backoff),
            max_backoff,
            poll_interval: Duration::from_millis(500),
        })
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_keys_are_checked_by_name() {
        let mut c = CatalogConfig::default();
        assert_eq!(c.check(), Ok(()));
        assert!(c.relay().is_none(), "no amqp_url, no relay");
        c.amqp_url = Some("amqp://guest:guest@127.0.0.1:5672/%2f".into());
        assert_eq!(c.relay().map(|r| r.exchange), Some("catalog.events".into()));
        c.amqp_url = Some("not a url".into());
        assert!(c.check().unwrap_err().contains("amqp_url"));
        c.amqp_url = Some("amqps://127.0.0.1/%2f".into());
        assert!(c.check().unwrap_err().contains("amqps"));
        c.amqp_url = None;
        c.events_exchange = String::new();
        assert!(c.check().unwrap_err().contains("events_exchange"));
    }

    /// `catalog` exits 2 with this message (main_checked) when a `tls` file cannot be used;
    /// the nested key also comes from the environment (`GAUNTLET_CATALOG_TLS__CERT`).
    #[test]
    fn a_bad_tls_file_is_an_error_naming_the_key() {
        let env = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let config: CatalogConfig = stack_common::config::load(
            None,
            "GAUNTLET_CATALOG",
            env(&[
                ("GAUNTLET_CATALOG_TLS__CERT", "/nonexistent/catalog-cert.pem"),
                ("GAUNTLET_CATALOG_TLS__KEY", "/nonexistent/catalog-key.pem"),
            ]),
        )
        .unwrap();
        let tls = config.tls.clone().expect("tls from the environment");
        assert_eq!(tls.cert, PathBuf::from("/nonexistent/catalog-cert.pem"));
        assert_eq!(tls.client_ca, None);
        let err = config.check().unwrap_err();
        assert!(
            err.starts_with("tls.cert: /nonexistent/catalog-cert.pem: "),
            "{err}"
        );
        // and opening refuses it too (a state never serves without its certificate)
        let err = crate::open(&CatalogConfig {
            data_dir: std::env::temp_dir().join(format!("catalog-tls-{}", std::process::id())),
            ..config
        })
        .err()
        .expect("open refuses a missing certificate")
        .to_string();
        assert!(err.contains("tls.cert"), "{err}");
        // half a `tls` table is a config error naming the missing key
        let err = stack_common::config::load::<CatalogConfig>(
            None,
            "GAUNTLET_CATALOG",
            env(&[("GAUNTLET_CATALOG_TLS__CERT", "cert.pem")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("key") && err.contains("GAUNTLET_CATALOG_TLS__CERT"),
            "{err}"
        );
    }
}
