//! Tests of the TLS module against real handshakes: a test CA signs server and client
//! certificates into a temporary directory; a service is served with them and fetched over HTTP/1.1
//! and HTTP/2, with and without a client certificate.

use axum::Router;
use axum::routing::get;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::probe::{connector, fetch, refusal};
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
    let h1 = fetch(server.addr, &connector(&ca.cert, None, b"http/1.1"), "/").await;
    assert_eq!(h1, Ok((b"http/1.1".to_vec(), 200, "HTTP/1.1".into())));
    let h2 = fetch(server.addr, &connector(&ca.cert, None, b"h2"), "/").await;
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
        let err = refusal(server.addr, &connector(&ca.cert, None, alpn)).await;
        assert!(err.contains("CertificateRequired"), "{err}");
    }
    let (cert, key) = ca.leaf("gateway", &["gateway"], ExtendedKeyUsagePurpose::ClientAuth);
    let with_cert = connector(&ca.cert, Some((&cert, &key)), b"h2");
    assert_eq!(
        fetch(server.addr, &with_cert, "/").await,
        Ok((b"h2".to_vec(), 200, "HTTP/2.0".into()))
    );
    let with_cert = connector(&ca.cert, Some((&cert, &key)), b"http/1.1");
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
    let err = refusal(server.addr, &connector(&ca.cert, Some((&cert, &key)), b"h2")).await;
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
    let connector = connector(&ca.cert, None, b"http/1.1");
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

    let refused = |tls: ServerTls| tls.acceptor().err().expect("refused");
    let with_cert = |cert: &PathBuf| ServerTls {
        cert: cert.clone(),
        ..good.clone()
    };
    let with_key = |key: &PathBuf| ServerTls {
        key: key.clone(),
        ..good.clone()
    };
    let with_client_ca = |client_ca: &PathBuf| ServerTls {
        client_ca: Some(client_ca.clone()),
        ..good.clone()
    };
    let err = refused(with_cert(&missing));
    assert_eq!(err.key, "tls.cert");
    assert!(
        err.to_string().starts_with("tls.cert: ") && err.message.contains("missing.pem"),
        "{err}"
    );
    let err = refused(with_cert(&garbage));
    assert_eq!(
        (err.key, err.message.contains("no certificate")),
        ("tls.cert", true),
        "{err}"
    );
    // a key that is not the certificate's
    let (_, other_key) = ca.leaf("other", &["localhost"], ExtendedKeyUsagePurpose::ServerAuth);
    let refused_for = [
        ("tls.key", with_key(&missing)),
        ("tls.key", with_key(&garbage)),
        ("tls.key", with_key(&other_key)),
        ("tls.client_ca", with_client_ca(&missing)),
        ("tls.client_ca", with_client_ca(&garbage)),
    ];
    for (key, tls) in refused_for {
        let err = refused(tls);
        assert_eq!(err.key, key, "{err}");
    }
}
