//! TLS termination: the certificate chain and key from PEM files named in config, served with
//! ALPN `h2` and `http/1.1` (so gRPC clients get HTTP/2 over TLS), ring as the crypto provider;
//! built by the services' own [`stack_common::tls::ServerTls`], without client certificates.

use stack_common::tls::ServerTls;
use tokio_rustls::TlsAcceptor;

use crate::config::{InvalidConfig, TlsConfig};

/// An acceptor for `config`; the error names the config key (`tls.cert`, `tls.key`) and the file.
pub fn acceptor(config: &TlsConfig) -> Result<TlsAcceptor, InvalidConfig> {
    let server = ServerTls {
        cert: config.cert.clone(),
        key: config.key.clone(),
        client_ca: None,
    };
    server.acceptor().map_err(|err| InvalidConfig {
        key: err.key.into(),
        message: err.message,
    })
}
