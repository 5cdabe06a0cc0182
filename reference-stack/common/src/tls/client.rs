//! The client side of TLS: the rustls config of a client trusting a CA (and presenting an
//! identity, for mutual TLS), and a client connection that is plain TCP or TLS alike
//! ([`MaybeTlsStream`]).

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::{InvalidTls, read_certs, read_roots};

/// A TLS client configuration trusting the CA certificates in `ca` and presenting `identity`
/// (certificate chain, key) when given: mutual TLS. The error names `tls.ca`, `tls.cert` or
/// `tls.key` and the file. ALPN is the caller's to set.
pub fn client_config(
    ca: &Path,
    identity: Option<(&Path, &Path)>,
) -> Result<rustls::ClientConfig, InvalidTls> {
    let bad = |key: &'static str, message: String| InvalidTls { key, message };
    let roots = read_roots(ca).map_err(|m| bad("tls.ca", m))?;
    let builder =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| bad("tls", e.to_string()))?
            .with_root_certificates(roots);
    let Some((cert, key)) = identity else {
        return Ok(builder.with_no_client_auth());
    };
    let chain = read_certs(cert).map_err(|m| bad("tls.cert", m))?;
    let private =
        PrivateKeyDer::from_pem_file(key).map_err(|e| bad("tls.key", format!("{}: {e}", key.display())))?;
    builder.with_client_auth_cert(chain, private).map_err(|e| {
        bad(
            "tls.key",
            format!("{} does not fit {}: {e}", key.display(), cert.display()),
        )
    })
}

/// A client's connection, plain TCP or TLS over TCP, read and written alike: the gateway's
/// connections to its upstream instances, partner's to iam and catalog. An enum rather than a
/// `dyn` stream: a read or a write costs one match on the hot path, and the plain variant is
/// not boxed.
pub enum MaybeTlsStream {
    /// Plain TCP.
    Tcp(TcpStream),
    /// TLS over TCP (boxed: rustls's state is large, and most connections are plain).
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for MaybeTlsStream {
    #[inline]
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            MaybeTlsStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MaybeTlsStream {
    #[inline]
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTlsStream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            MaybeTlsStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    #[inline]
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTlsStream::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            MaybeTlsStream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    #[inline]
    fn is_write_vectored(&self) -> bool {
        match self {
            MaybeTlsStream::Tcp(s) => s.is_write_vectored(),
            MaybeTlsStream::Tls(s) => s.is_write_vectored(),
        }
    }

    #[inline]
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Tcp(s) => Pin::new(s).poll_flush(cx),
            MaybeTlsStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    #[inline]
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            MaybeTlsStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// hyper's pooled client (partner's) takes connections that say what they are; these report
/// nothing beyond being connections (no proxy, ALPN not consulted: that client speaks HTTP/1.1).
impl hyper_util::client::legacy::connect::Connection for MaybeTlsStream {
    fn connected(&self) -> hyper_util::client::legacy::connect::Connected {
        hyper_util::client::legacy::connect::Connected::new()
    }
}
