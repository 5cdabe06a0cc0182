//! A service's server-side TLS: the `tls` config key (certificate chain, key and, for mutual
//! TLS, the CA client certificates must chain to), the acceptor built from it (ALPN `h2` and
//! `http/1.1`, ring as the crypto provider) and the accept loop [`crate::ops::serve`] runs when
//! a service has one. On the client side: the rustls config of a client ([`client_config`]) and
//! its connections, plain or TLS ([`MaybeTlsStream`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};

pub use tokio_rustls::TlsAcceptor;

mod client;
#[cfg(any(test, feature = "tls-probe"))]
pub mod probe;
mod serve;
#[cfg(test)]
mod tests;

pub use client::{MaybeTlsStream, client_config};
pub(crate) use serve::serve;

/// Longest a client may take to complete the TLS handshake; a stalled one is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The `tls` key of a service's config: serve HTTPS with this certificate, and when `client_ca`
/// is set, only to clients presenting a certificate that chains to it (mutual TLS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerTls {
    /// The certificate chain (PEM), leaf first.
    pub cert: PathBuf,
    /// Its private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// CA certificates (PEM) a client certificate must chain to; absent: no client certificate
    /// is asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ca: Option<PathBuf>,
}

/// A `tls` setting that cannot be used; the message names the key and the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct InvalidTls {
    /// The config key: `tls.cert`, `tls.key`, `tls.client_ca` or `tls`.
    pub key: &'static str,
    /// What is wrong, with the file.
    pub message: String,
}

impl ServerTls {
    /// Reads the files and builds the acceptor; the error names the config key and the file.
    pub fn acceptor(&self) -> Result<TlsAcceptor, InvalidTls> {
        let bad = |key: &'static str, message: String| InvalidTls { key, message };
        let certs = read_certs(&self.cert).map_err(|m| bad("tls.cert", m))?;
        let key = PrivateKeyDer::from_pem_file(&self.key)
            .map_err(|e| bad("tls.key", format!("{}: {e}", self.key.display())))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| bad("tls", e.to_string()))?;
        let builder = match &self.client_ca {
            None => builder.with_no_client_auth(),
            Some(path) => {
                let roots = read_roots(path).map_err(|m| bad("tls.client_ca", m))?;
                let verifier =
                    rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                        .build()
                        .map_err(|e| bad("tls.client_ca", format!("{}: {e}", path.display())))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut server = builder.with_single_cert(certs, key).map_err(|e| {
            bad(
                "tls.key",
                format!("{} does not fit {}: {e}", self.key.display(), self.cert.display()),
            )
        })?;
        server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(server)))
    }
}

/// The CA certificates in a PEM file, as trust roots; the message names the file.
fn read_roots(path: &Path) -> Result<rustls::RootCertStore, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in read_certs(path)? {
        roots
            .add(cert)
            .map_err(|e| format!("{}: not a CA certificate: {e}", path.display()))?;
    }
    Ok(roots)
}

/// Every certificate in a PEM file; none is an error (the message names the file).
fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate in the file", path.display()));
    }
    Ok(certs)
}
