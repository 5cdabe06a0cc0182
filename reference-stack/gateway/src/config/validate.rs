//! Validation of a parsed configuration, what serde cannot check: references between keys
//! (a route's upstream exists), well-formed prefixes and host names, numbers in range. A mistake
//! is an [`InvalidConfig`] naming its key.

use super::{GatewayConfig, MAX_RETRIES, MAX_TIMEOUT_MS, SUPPORTED_METHODS};

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

impl GatewayConfig {
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
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;
    use crate::config::{DnsConfig, RouteConfig, UpstreamTls};

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
