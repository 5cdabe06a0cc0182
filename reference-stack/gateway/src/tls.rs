//! TLS termination: the certificate chain and key from PEM files named in config, served with
//! ALPN `h2` and `http/1.1` (so gRPC clients get HTTP/2 over TLS), ring as the crypto provider.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::{InvalidConfig, TlsConfig};

/// An acceptor for `config`; the error names the config key and the file.
pub fn acceptor(config: &TlsConfig) -> Result<TlsAcceptor, InvalidConfig> {
    let bad = |key: &str, message: String| InvalidConfig {
        key: key.into(),
        message,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&config.cert)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| bad("tls.cert", format!("{}: {e}", config.cert.display())))?;
    if certs.is_empty() {
        return Err(bad(
            "tls.cert",
            format!("{}: no certificate in the file", config.cert.display()),
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&config.key)
        .map_err(|e| bad("tls.key", format!("{}: {e}", config.key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("tls", e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            bad(
                "tls.key",
                format!(
                    "{} does not fit {}: {e}",
                    config.key.display(),
                    config.cert.display()
                ),
            )
        })?;
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(server)))
}
