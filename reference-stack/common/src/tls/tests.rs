//! Tests of the TLS module against real handshakes: a test CA signs server and client
//! certificates into a temporary directory; a service is served with them and fetched over HTTP/1.1
//! and HTTP/2, with and without a client certificate.

use axum::Router;
use axum::http::Request;
use axum::routing::get;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::ServerName;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::*;

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
