//! A service's server-side TLS: the `tls` config key (certificate chain, key and, for mutual
//! TLS, the CA client certificates must chain to), the acceptor built from it (ALPN `h2` and
//! `http/1.1`, ring as the crypto provider) and the accept loop [`crate::ops::serve`] runs when
//! a service has one. On the client side: the rustls config of a client ([`client_config`]) and
//! its connections, plain or TLS ([`MaybeTlsStream`]).

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

pub use tokio_rustls::TlsAcceptor;

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

/// Serves `app` over TLS on `listener` until `shutdown` completes; then stops accepting, lets
/// in-flight requests finish (HTTP/1.1 after the current request, HTTP/2 after GOAWAY) and
/// returns — what `axum::serve(..).with_graceful_shutdown(..)` does for plain TCP.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    acceptor: TlsAcceptor,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let service = TowerToHyperService::new(app.map_request(|req: Request<Incoming>| req.map(Body::new)));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // as axum::serve: the CONNECT protocol for HTTP/2 websockets
    builder.http2().enable_connect_protocol();
    let graceful = GracefulShutdown::new();
    // Handshakes still running when shutdown starts are dropped rather than waited for: the
    // connection has no request in flight yet.
    let (stopping_tx, stopping_rx) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    if !is_connection_error(&err) {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::error!(error = %err, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    continue;
                }
            },
        };
        // Without it small responses wait for delayed ACKs.
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let builder = builder.clone();
        let service = service.clone();
        let watcher = graceful.watcher();
        let mut stopping = stopping_rx.clone();
        tokio::spawn(async move {
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp));
            let stream = tokio::select! {
                result = handshake => match result {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(err)) => {
                        tracing::debug!(client = %peer, error = %err, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(client = %peer, "TLS handshake timed out");
                        return;
                    }
                },
                _ = stopping.wait_for(|s| *s) => return,
            };
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            if let Err(err) = watcher.watch(conn.into_owned()).await {
                tracing::debug!(client = %peer, error = %err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    let _ = stopping_tx.send(true);
    graceful.shutdown().await;
    Ok(())
}

/// Errors of one connection, not of the listener (as axum::serve tells them apart).
fn is_connection_error(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use http_body_util::{BodyExt, Empty};
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
        KeyUsagePurpose,
    };
    use rustls::pki_types::ServerName;
    use tokio::sync::oneshot;

    /// A CA that signs leaf certificates into a temporary directory.
    struct TestCa {
        issuer: Issuer<'static, KeyPair>,
        cert: PathBuf,
        dir: tempfile::TempDir,
    }

    impl TestCa {
        fn new(name: &str) -> TestCa {
            let dir = tempfile::tempdir().unwrap();
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.distinguished_name.push(DnType::CommonName, name);
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            let key = KeyPair::generate().unwrap();
            let cert = dir.path().join("ca.pem");
            std::fs::write(&cert, params.self_signed(&key).unwrap().pem()).unwrap();
            TestCa {
                issuer: Issuer::new(params, key),
                cert,
                dir,
            }
        }

        /// `(cert, key)` files of a leaf for `names`, usable for `purpose`.
        fn leaf(&self, stem: &str, names: &[&str], purpose: ExtendedKeyUsagePurpose) -> (PathBuf, PathBuf) {
            let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            let mut params = CertificateParams::new(names).unwrap();
            params.distinguished_name.push(DnType::CommonName, stem);
            params.extended_key_usages = vec![purpose];
            let key = KeyPair::generate().unwrap();
            let cert = params.signed_by(&key, &self.issuer).unwrap();
            let (cert_path, key_path) = (
                self.dir.path().join(format!("{stem}-cert.pem")),
                self.dir.path().join(format!("{stem}-key.pem")),
            );
            std::fs::write(&cert_path, cert.pem()).unwrap();
            std::fs::write(&key_path, key.serialize_pem()).unwrap();
            (cert_path, key_path)
        }

        fn server_tls(&self, client_ca: Option<PathBuf>) -> ServerTls {
            let (cert, key) = self.leaf(
                "server",
                &["localhost", "127.0.0.1"],
                ExtendedKeyUsagePurpose::ServerAuth,
            );
            ServerTls { cert, key, client_ca }
        }
    }

    /// A service answering `GET /` with the HTTP version it saw, and `GET /slow` after 300 ms.
    fn app() -> Router {
        Router::new()
            .route(
                "/",
                get(|req: axum::extract::Request| async move { format!("{:?}", req.version()) }),
            )
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    "slow"
                }),
            )
    }

    struct Running {
        addr: std::net::SocketAddr,
        stop: Option<oneshot::Sender<()>>,
        task: tokio::task::JoinHandle<std::io::Result<()>>,
    }

    async fn serve_tls(tls: &ServerTls) -> Running {
        let acceptor = tls.acceptor().expect("the test's TLS files load");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(crate::ops::serve(listener, app(), Some(acceptor), async move {
            let _ = stopped.await;
        }));
        Running {
            addr,
            stop: Some(stop),
            task,
        }
    }

    /// A client trusting `ca`, presenting `identity` (cert, key) if any, offering `alpn`.
    fn client(ca: &Path, identity: Option<(&Path, &Path)>, alpn: &[u8]) -> tokio_rustls::TlsConnector {
        let mut config = client_config(ca, identity).unwrap();
        config.alpn_protocols = vec![alpn.to_vec()];
        tokio_rustls::TlsConnector::from(Arc::new(config))
    }

    /// `GET path` over TLS: the negotiated ALPN, the status and the body; any failure (the
    /// handshake, or the server's alert arriving with the first read) as its message.
    async fn fetch(
        addr: std::net::SocketAddr,
        connector: &tokio_rustls::TlsConnector,
        path: &str,
    ) -> Result<(Vec<u8>, u16, String), String> {
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| e.to_string())?;
        let tls = connector
            .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        let alpn = tls.get_ref().1.alpn_protocol().unwrap_or_default().to_vec();
        let io = TokioIo::new(tls);
        let request = Request::get(path)
            .header("host", addr.to_string())
            .body(Empty::<bytes::Bytes>::new())
            .unwrap();
        let response = if alpn == b"h2" {
            let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                .await
                .map_err(|e| format!("h2 handshake: {e}"))?;
            tokio::spawn(conn);
            sender.send_request(request).await
        } else {
            let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
                .await
                .map_err(|e| format!("http1 handshake: {e}"))?;
            tokio::spawn(conn);
            sender.send_request(request).await
        }
        .map_err(|e| format!("request: {e:?}"))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("body: {e}"))?
            .to_bytes();
        Ok((alpn, status, String::from_utf8_lossy(&body).into_owned()))
    }

    /// What a client gets when the server refuses it: the handshake error, or the server's
    /// alert read right after the client's side of the handshake (TLS 1.3 sends it then).
    /// Panics if the server does not refuse.
    async fn refusal(addr: std::net::SocketAddr, connector: &tokio_rustls::TlsConnector) -> String {
        use tokio::io::AsyncReadExt;
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut tls = match connector
            .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
            .await
        {
            Ok(tls) => tls,
            Err(err) => return format!("handshake: {err}"),
        };
        let mut buf = [0u8; 64];
        match tokio::time::timeout(Duration::from_secs(5), tls.read(&mut buf)).await {
            Ok(Err(err)) => err.to_string(),
            other => panic!("the server did not refuse the client: {other:?}"),
        }
    }

    impl Running {
        async fn stop(mut self) {
            let _ = self.stop.take().unwrap().send(());
            tokio::time::timeout(Duration::from_secs(5), self.task)
                .await
                .expect("serve returns after shutdown")
                .unwrap()
                .unwrap();
        }
    }

    #[tokio::test]
    async fn plain_server_tls_serves_http1_and_http2_by_alpn() {
        let ca = TestCa::new("test CA");
        let server = serve_tls(&ca.server_tls(None)).await;
        let h1 = fetch(server.addr, &client(&ca.cert, None, b"http/1.1"), "/").await;
        assert_eq!(h1, Ok((b"http/1.1".to_vec(), 200, "HTTP/1.1".into())));
        let h2 = fetch(server.addr, &client(&ca.cert, None, b"h2"), "/").await;
        assert_eq!(h2, Ok((b"h2".to_vec(), 200, "HTTP/2.0".into())));
        // plain HTTP on a TLS port gets no answer
        let plain = reqwest::get(format!("http://{}/", server.addr)).await;
        assert!(plain.is_err(), "{plain:?}");
        server.stop().await;
    }

    #[tokio::test]
    async fn mutual_tls_refuses_a_client_without_a_certificate_and_serves_one_signed_by_the_ca() {
        let ca = TestCa::new("test CA");
        let server = serve_tls(&ca.server_tls(Some(ca.cert.clone()))).await;
        for alpn in [&b"http/1.1"[..], b"h2"] {
            let err = refusal(server.addr, &client(&ca.cert, None, alpn)).await;
            assert!(err.contains("CertificateRequired"), "{err}");
        }
        let (cert, key) = ca.leaf("gateway", &["gateway"], ExtendedKeyUsagePurpose::ClientAuth);
        let with_cert = client(&ca.cert, Some((&cert, &key)), b"h2");
        assert_eq!(
            fetch(server.addr, &with_cert, "/").await,
            Ok((b"h2".to_vec(), 200, "HTTP/2.0".into()))
        );
        let with_cert = client(&ca.cert, Some((&cert, &key)), b"http/1.1");
        assert_eq!(
            fetch(server.addr, &with_cert, "/").await,
            Ok((b"http/1.1".to_vec(), 200, "HTTP/1.1".into()))
        );
        server.stop().await;
    }

    #[tokio::test]
    async fn a_client_certificate_signed_by_another_ca_is_refused() {
        let ca = TestCa::new("test CA");
        let other = TestCa::new("other CA");
        let server = serve_tls(&ca.server_tls(Some(ca.cert.clone()))).await;
        let (cert, key) = other.leaf("intruder", &["gateway"], ExtendedKeyUsagePurpose::ClientAuth);
        // it trusts the server (`ca`) but its own certificate chains to `other`
        let err = refusal(server.addr, &client(&ca.cert, Some((&cert, &key)), b"h2")).await;
        assert!(
            err.contains("UnknownCA") || err.contains("BadCertificate"),
            "{err}"
        );
        server.stop().await;
    }

    /// Shutdown over TLS as over plain TCP: a request in flight when it starts still gets its
    /// answer, then `serve` returns and the port takes no new connection.
    #[tokio::test]
    async fn shutdown_over_tls_lets_the_request_in_flight_finish() {
        let ca = TestCa::new("test CA");
        let mut server = serve_tls(&ca.server_tls(None)).await;
        let addr = server.addr;
        let connector = client(&ca.cert, None, b"http/1.1");
        let in_flight = tokio::spawn({
            let connector = connector.clone();
            async move { fetch(addr, &connector, "/slow").await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let _ = server.stop.take().unwrap().send(());
        assert_eq!(
            in_flight.await.unwrap(),
            Ok((b"http/1.1".to_vec(), 200, "slow".into()))
        );
        tokio::time::timeout(Duration::from_secs(5), &mut server.task)
            .await
            .expect("serve returns once the request is answered")
            .unwrap()
            .unwrap();
        assert!(fetch(addr, &connector, "/").await.is_err());
    }

    #[test]
    fn an_unusable_file_is_named_with_its_config_key() {
        let ca = TestCa::new("test CA");
        let good = ca.server_tls(Some(ca.cert.clone()));
        assert!(good.acceptor().is_ok());
        let missing = ca.dir.path().join("missing.pem");
        let garbage = ca.dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not PEM at all\n").unwrap();

        let err = ServerTls {
            cert: missing.clone(),
            ..good.clone()
        }
        .acceptor()
        .err()
        .expect("refused");
        assert_eq!(err.key, "tls.cert");
        assert!(
            err.to_string().starts_with("tls.cert: ") && err.message.contains("missing.pem"),
            "{err}"
        );
        let err = ServerTls {
            cert: garbage.clone(),
            ..good.clone()
        }
        .acceptor()
        .err()
        .expect("refused");
        assert_eq!(
            (err.key, err.message.contains("no certificate")),
            ("tls.cert", true),
            "{err}"
        );
        let err = ServerTls {
            key: missing.clone(),
            ..good.clone()
        }
        .acceptor()
        .err()
        .expect("refused");
        assert_eq!(err.key, "tls.key", "{err}");
        let err = ServerTls {
            key: garbage.clone(),
            ..good.clone()
        }
        .acceptor()
        .err()
        .expect("refused");
        assert_eq!(err.key, "tls.key", "{err}");
        // a key that is not the certificate's
        let (_, other_key) = ca.leaf("other", &["localhost"], ExtendedKeyUsagePurpose::ServerAuth);
        let err = ServerTls {
            key: other_key,
            ..good.clone()
        }
        .acceptor()
        .err()
        .expect("refused");
        assert_eq!(err.key, "tls.key", "{err}");
        let err = ServerTls {
            client_ca: Some(missing),
            ..good.clone()
        }
        .acceptor()
        .err()
        .expect("refused");
        assert_eq!(err.key, "tls.client_ca", "{err}");
        let err = ServerTls {
            client_ca: Some(garbage),
            ..good
        }
        .acceptor()
        .err()
        .expect("refused");
        assert_eq!(err.key, "tls.client_ca", "{err}");
    }
}
