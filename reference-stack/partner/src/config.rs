//! partner's typed configuration (defaults < TOML file < `GAUNTLET_PARTNER_*` environment).

use std::net::SocketAddr;
use std::path::PathBuf;

use rustls::pki_types::ServerName;
use serde::{Deserialize, Serialize};

use crate::client::ClientTls;

/// Everything partner needs to start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PartnerConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directory for `partner.db`; created if missing.
    pub data_dir: PathBuf,
    /// iam's base URL (the token endpoint is `{iam_url}/v1/token`).
    pub iam_url: String,
    /// partner's client id, registered in iam.
    pub client_id: String,
    /// partner's client secret.
    pub client_secret: String,
    /// Scopes asked for (space-separated); all the client may have when empty.
    pub scope: String,
    /// Renew the access token this long before it expires (at most half its lifetime).
    pub token_renew_before_secs: u64,
    /// Base URL under which movies live at `/movies/{id}`: the gateway's
    /// `http://HOST:PORT/api` (`https://` when it terminates TLS), or catalog directly,
    /// `http://HOST:PORT/v1`.
    pub catalog_url: String,
    /// CA certificates (PEM) that the server of an `https://` `catalog_url` (or `iam_url`) must
    /// chain to; a self-signed certificate is its own CA. Needed for any `https://` URL: partner
    /// trusts no system roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_ca: Option<PathBuf>,
    /// The name (DNS name or IP address) the certificate of an `https://` `catalog_url`'s
    /// server is checked for, instead of the URL's host: for a server reached by IP address
    /// whose certificate names it by DNS name only. Applies to connections to `catalog_url`'s
    /// host and port (`iam_url`'s too when it is the same server); ignored for `http://`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_server_name: Option<String>,
    /// Timeout of one movie fetch.
    pub fetch_timeout_ms: u64,
    /// The RabbitMQ to consume from.
    pub amqp_url: String,
    /// catalog's topic exchange (declared durable if missing, so partner may start first).
    pub events_exchange: String,
    /// partner's own durable queue, bound to `events_exchange` for every routing key.
    pub queue: String,
    /// Where rejected (poison) messages go; a fanout exchange.
    pub dead_letter_exchange: String,
    /// The durable queue bound to `dead_letter_exchange`.
    pub dead_letter_queue: String,
    /// When non-zero, both queues are declared with `x-expires` = this many milliseconds: the
    /// broker deletes them once unused (no consumer, no redeclare) that long. For throwaway
    /// queues (the embedded stack's); 0, the default, keeps them forever.
    pub queue_expires_ms: u64,
    /// Unacknowledged deliveries the broker may push ahead of processing.
    pub prefetch: u16,
    /// Longest wait between two attempts to reach the broker after a failure.
    pub reconnect_max_ms: u64,
    /// Largest request body accepted (413 above).
    pub max_body_bytes: usize,
    /// JSON log lines (true) or compact text.
    pub log_json: bool,
    /// Enables fault injection: the routes' `faults` and `POST /v1/admin/consumption`.
    pub fault_injection: bool,
    /// Start with consumption paused (needs `fault_injection`).
    pub consumption_paused: bool,
    /// Injected faults (extra latency, errors) per route; none by default.
    pub faults: Vec<stack_common::faults::Fault>,
}

impl Default for PartnerConfig {
    fn default() -> Self {
        PartnerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8084)),
            data_dir: PathBuf::from("data/partner"),
            iam_url: "http://127.0.0.1:8081".into(),
            client_id: "partner".into(),
            client_secret: "partner-secret".into(),
            scope: "movies:read".into(),
            token_renew_before_secs: 60,
            catalog_url: "http://127.0.0.1:8080/api".into(),
            catalog_ca: None,
            catalog_server_name: None,
            fetch_timeout_ms: 5000,
            amqp_url: "amqp://guest:guest@127.0.0.1:5672/%2f".into(),
            events_exchange: "catalog.events".into(),
            queue: "partner.movie-events".into(),
            dead_letter_exchange: "partner.dlx".into(),
            dead_letter_queue: "partner.movie-events.dlq".into(),
            queue_expires_ms: 0,
            prefetch: 32,
            reconnect_max_ms: 2000,
            max_body_bytes: 64 * 1024,
            log_json: true,
            fault_injection: false,
            consumption_paused: false,
            faults: Vec::new(),
        }
    }
}

impl PartnerConfig {
    /// Checks what the types cannot; an error names the key.
    pub fn check(&self) -> Result<(), String> {
        self.checked_tls().map(drop)
    }

    /// Checks the config as [`check`](Self::check) does and returns the TLS settings of
    /// partner's HTTPS calls, built on the way (`catalog_ca` is read once): trust `catalog_ca`,
    /// present no client certificate, check `catalog_url`'s server for `catalog_server_name`
    /// when set; `None` without `catalog_ca`. An error names the key (and the file).
    pub fn checked_tls(&self) -> Result<Option<ClientTls>, String> {
        self.amqp_url
            .parse::<lapin::uri::AMQPUri>()
            .map_err(|e| format!("amqp_url {:?} is not an AMQP URL: {e}", self.amqp_url))?;
        // lapin is built without a TLS backend (the stack's broker is on loopback)
        if self.amqp_url.starts_with("amqps:") {
            return Err(format!(
                "amqp_url {:?}: amqps (TLS) is not supported, use amqp://",
                self.amqp_url
            ));
        }
        let server_name = self
            .catalog_server_name
            .as_deref()
            .map(|name| {
                ServerName::try_from(name.to_string())
                    .map_err(|e| format!("catalog_server_name {name:?} is not a DNS name or IP address: {e}"))
            })
            .transpose()?;
        let trust = self
            .catalog_ca
            .as_deref()
            .map(|ca| {
                stack_common::tls::client_config(ca, None).map_err(|e| format!("catalog_ca: {}", e.message))
            })
            .transpose()?;
        let mut catalog_authority = None;
        for (key, value) in [("iam_url", &self.iam_url), ("catalog_url", &self.catalog_url)] {
            let uri = value.parse::<http::Uri>().ok();
            let scheme = uri.as_ref().and_then(|u| u.host().and(u.scheme_str()));
            match scheme {
                Some("http") => {}
                Some("https") if trust.is_some() => {}
                Some("https") => {
                    return Err(format!(
                        "{key} {value:?} is https: set catalog_ca to the CA certificates (PEM) its \
                         server's certificate chains to"
                    ));
                }
                _ => return Err(format!("{key} {value:?} is not an http(s) URL")),
            }
            if key == "catalog_url" {
                catalog_authority = uri.and_then(|u| u.authority().cloned());
            }
        }
        for (key, value) in [
            ("client_id", &self.client_id),
            ("events_exchange", &self.events_exchange),
            ("queue", &self.queue),
            ("dead_letter_exchange", &self.dead_letter_exchange),
            ("dead_letter_queue", &self.dead_letter_queue),
        ] {
            if value.is_empty() {
                return Err(format!("{key} must not be empty"));
            }
        }
        if self.prefetch == 0 {
            return Err("prefetch must be at least 1".into());
        }
        if self.reconnect_max_ms == 0 || self.fetch_timeout_ms == 0 {
            return Err("reconnect_max_ms and fetch_timeout_ms must be at least 1".into());
        }
        if self.consumption_paused && !self.fault_injection {
            return Err("consumption_paused needs fault_injection = true".into());
        }
        if !self.faults.is_empty() && !self.fault_injection {
            return Err("faults need fault_injection = true".into());
        }
        Ok(trust.map(|config| ClientTls {
            config,
            server_name: catalog_authority.zip(server_name),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pass_and_each_bad_value_names_its_key() {
        assert_eq!(PartnerConfig::default().check(), Ok(()));
        let bad = |f: fn(&mut PartnerConfig)| {
            let mut c = PartnerConfig::default();
            f(&mut c);
            c.check().unwrap_err()
        };
        assert!(bad(|c| c.amqp_url = "http://x".into()).contains("amqp_url"));
        assert!(bad(|c| c.amqp_url = "amqps://127.0.0.1/%2f".into()).contains("amqps"));
        assert!(bad(|c| c.catalog_url = "nope".into()).contains("catalog_url"));
        assert!(bad(|c| c.prefetch = 0).contains("prefetch"));
        assert!(bad(|c| c.queue = String::new()).contains("queue"));
        assert!(bad(|c| c.consumption_paused = true).contains("fault_injection"));
        assert!(bad(|c| c.iam_url = "http://".into()).contains("iam_url"));
        let https = bad(|c| c.catalog_url = "https://127.0.0.1:8080/api".into());
        assert!(
            https.starts_with("catalog_url ") && https.contains("catalog_ca"),
            "{https}"
        );
    }

    #[test]
    fn an_unusable_catalog_ca_is_named_with_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not PEM at all\n").unwrap();
        for (file, why) in [
            (&missing, "No such file"),
            (&garbage, "no certificate in the file"),
        ] {
            let config = PartnerConfig {
                catalog_ca: Some(file.clone()),
                ..PartnerConfig::default()
            };
            let err = config.check().unwrap_err();
            assert!(
                err.starts_with(&format!("catalog_ca: {}: ", file.display())) && err.contains(why),
                "{err}"
            );
        }

        let generated = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
        let good = dir.path().join("gateway-cert.pem");
        std::fs::write(&good, generated.cert.pem()).unwrap();
        let config = PartnerConfig {
            catalog_url: "https://127.0.0.1:8080/api".into(),
            catalog_ca: Some(good),
            ..PartnerConfig::default()
        };
        assert_eq!(config.check(), Ok(()));
        assert!(config.checked_tls().unwrap().is_some());
    }

    #[test]
    fn catalog_server_name_must_be_a_name_and_is_kept_for_catalog_s_authority() {
        let dir = tempfile::tempdir().unwrap();
        let generated = rcgen::generate_simple_self_signed(vec!["gateway.test".to_string()]).unwrap();
        let ca = dir.path().join("gateway-cert.pem");
        std::fs::write(&ca, generated.cert.pem()).unwrap();
        let config = |name: &str| PartnerConfig {
            catalog_url: "https://127.0.0.1:8443/api".into(),
            catalog_ca: Some(ca.clone()),
            catalog_server_name: Some(name.into()),
            ..PartnerConfig::default()
        };
        for bad in ["", "not a name", "gateway..test"] {
            let err = config(bad).check().unwrap_err();
            assert!(err.starts_with(&format!("catalog_server_name {bad:?} ")), "{err}");
        }
        let tls = config("gateway.test").checked_tls().unwrap().unwrap();
        let (authority, name) = tls.server_name.unwrap();
        assert_eq!(
            (authority.as_str(), name.to_str().as_ref()),
            ("127.0.0.1:8443", "gateway.test")
        );
        // a name with an http:// catalog_url is valid and has nothing to apply to
        let plain = PartnerConfig {
            catalog_server_name: Some("gateway.test".into()),
            ..PartnerConfig::default()
        };
        assert_eq!(plain.check(), Ok(()));
        assert!(
            config("127.0.0.1")
                .checked_tls()
                .unwrap()
                .unwrap()
                .server_name
                .is_some(),
            "an IP address is a name too"
        );
    }
}
