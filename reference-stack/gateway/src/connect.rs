//! Connections to an upstream's instances: TCP with Nagle off and keepalive on, then TLS when the
//! upstream's config asks for it (verifying the instance's certificate against the configured
//! CA, and presenting the gateway's client certificate for mutual TLS). ALPN says which HTTP
//! version the connection will carry: `http/1.1` for REST, `h2` for gRPC.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::config::{InvalidConfig, UpstreamTls};

/// Why no connection to an instance could be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The instance did not accept a connection.
    #[error("cannot connect to {addr}: {source}")]
    Refused {
        /// The instance.
        addr: SocketAddr,
        /// What connect said.
        source: io::Error,
    },
    /// Connecting (TLS handshake included) took longer than the connect timeout.
    #[error("connecting to {0} timed out")]
    TimedOut(SocketAddr),
    /// The TLS handshake failed (untrusted certificate, wrong name, client certificate refused).
    #[error("TLS handshake with {addr} failed: {source}")]
    Tls {
        /// The instance.
        addr: SocketAddr,
        /// What rustls said.
        source: io::Error,
    },
}

/// The HTTP version a connection is for (its ALPN protocol under TLS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alpn {
    /// `http/1.1`.
    Http1,
    /// `h2`.
    H2,
}

/// How to reach an upstream's instances.
pub struct Connector {
    timeout: Duration,
    tls: Option<TlsClient>,
    /// The name the upstream is known by (its TLS `server_name`, else its DNS name), which
    /// requests carry in `Host` / `:authority`; `None`: each instance's address.
    host_name: Option<String>,
}

struct TlsClient {
    http1: TlsConnector,
    h2: TlsConnector,
    /// The name the certificates must carry; each instance's IP address when `None`.
    server_name: Option<ServerName<'static>>,
}

impl Connector {
    /// A connector for upstream `upstream` (named in errors), connecting within `timeout`, over
    /// TLS when `tls` is set; `dns_name`: the name a DNS upstream's instances are found by.
    /// Reads the PEM files now: an error names the config key and file.
    pub fn new(
        upstream: &str,
        timeout: Duration,
        tls: Option<&UpstreamTls>,
        dns_name: Option<&str>,
    ) -> Result<Connector, InvalidConfig> {
        let host_name = tls
            .and_then(|tls| tls.server_name.as_deref())
            .or(dns_name)
            // An address literal says nothing the instance's own address does not.
            .filter(|name| name.parse::<std::net::IpAddr>().is_err())
            .map(str::to_string);
        let tls = tls
            .map(|tls| TlsClient::new(upstream, tls, dns_name))
            .transpose()?;
        Ok(Connector {
            timeout,
            tls,
            host_name,
        })
    }

    /// What requests to `addr` carry as `Host` (HTTP/1.1) or `:authority` (HTTP/2): the
    /// upstream's name with the instance's port when it has one, so that a server checking
    /// the name (virtual hosts, a TLS server comparing it with the SNI name) sees the one it
    /// serves; else the instance's address (IPv6 in brackets).
    pub fn authority(&self, addr: SocketAddr) -> String {
        match &self.host_name {
            Some(name) => format!("{name}:{}", addr.port()),
            None => addr.to_string(),
        }
    }

    /// `https` over TLS, else `http`.
    pub fn scheme(&self) -> http::uri::Scheme {
        if self.tls.is_some() {
            http::uri::Scheme::HTTPS
        } else {
            http::uri::Scheme::HTTP
        }
    }

    /// A connection to `addr` for `alpn`'s HTTP version.
    pub async fn connect(&self, addr: SocketAddr, alpn: Alpn) -> Result<Io, ConnectError> {
        let connecting = async {
            let stream = TcpStream::connect(addr)
                .await
                .map_err(|source| ConnectError::Refused { addr, source })?;
            // Small proxied messages would otherwise wait for delayed ACKs (Nagle).
            let _ = stream.set_nodelay(true);
            // A peer that vanished without a FIN (a dead host) is noticed on a long stream too.
            let _ = socket2::SockRef::from(&stream)
                .set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(Duration::from_secs(60)));
            let Some(tls) = &self.tls else {
                return Ok(Io::Tcp(stream));
            };
            let name = tls
                .server_name
                .clone()
                .unwrap_or_else(|| ServerName::IpAddress(addr.ip().into()));
            let connector = match alpn {
                Alpn::Http1 => &tls.http1,
                Alpn::H2 => &tls.h2,
            };
            let stream = connector
                .connect(name, stream)
                .await
                .map_err(|source| ConnectError::Tls { addr, source })?;
            // HTTP/2 only when the instance agreed to it: otherwise the first request would
            // fail with an obscure protocol error.
            if alpn == Alpn::H2 && stream.get_ref().1.alpn_protocol() != Some(b"h2") {
                return Err(ConnectError::Tls {
                    addr,
                    source: io::Error::new(
                        io::ErrorKind::InvalidData,
                        "the instance did not agree to HTTP/2 (ALPN h2)",
                    ),
                });
            }
            Ok(Io::Tls(Box::new(stream)))
        };
        tokio::time::timeout(self.timeout, connecting)
            .await
            .map_err(|_| ConnectError::TimedOut(addr))?
    }
}

impl TlsClient {
    fn new(
        upstream: &str,
        config: &UpstreamTls,
        default_server_name: Option<&str>,
    ) -> Result<TlsClient, InvalidConfig> {
        let bad = |field: &str, message: String| InvalidConfig {
            key: format!("upstreams.{upstream}.tls.{field}"),
            message,
        };
        // A certificate without its key (or the reverse) was refused by `validate`.
        let identity = config.cert.as_deref().zip(config.key.as_deref());
        let client = stack_common::tls::client_config(&config.ca, identity).map_err(|err| InvalidConfig {
            key: format!("upstreams.{upstream}.{}", err.key),
            message: err.message,
        })?;
        let server_name = config
            .server_name
            .as_deref()
            .or(default_server_name)
            .map(|name| {
                ServerName::try_from(name.to_string())
                    .map_err(|e| bad("server_name", format!("{name:?}: {e}")))
            })
            .transpose()?;
        let with_alpn = |protocol: &[u8]| {
            let mut config = client.clone();
            config.alpn_protocols = vec![protocol.to_vec()];
            TlsConnector::from(Arc::new(config))
        };
        Ok(TlsClient {
            http1: with_alpn(b"http/1.1"),
            h2: with_alpn(b"h2"),
            server_name,
        })
    }
}

/// A connection to an instance: plain TCP (`Io::Tcp`), or TLS over TCP (`Io::Tls`, boxed).
pub use stack_common::tls::MaybeTlsStream as Io;
