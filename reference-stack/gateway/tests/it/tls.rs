//! TLS termination: HTTP/1.1 and HTTP/2 (ALPN) over TLS with the certificate from config, the
//! upstream told the client came over https; a missing or unusable certificate is a config
//! error naming the key. `fixtures/` holds a test CA (`ca.pem`) and a certificate it signed for
//! `localhost` and 127.0.0.1 (`cert.pem`, `key.pem`; valid until 2126), made with openssl for
//! these tests only.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use stack_gateway::config::TlsConfig;

use crate::support::{Behaviour, RunningGateway, TestUpstream, single_route};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/fixtures")
        .join(name)
}

fn connector(alpn: &[u8]) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(fixture("ca.pem")).unwrap())
        .unwrap();
    let mut config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_is_terminated_for_http1_and_h2() {
    let up = TestUpstream::start("up", Behaviour::Echo).await;
    let mut config = single_route(&[up.addr], |_, _| {});
    config.tls = Some(TlsConfig {
        cert: fixture("cert.pem"),
        key: fixture("key.pem"),
    });
    let gw = RunningGateway::start(config).await;

    for alpn in [&b"http/1.1"[..], b"h2"] {
        let tcp = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
        let tls = connector(alpn)
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .expect("TLS handshake with the configured certificate");
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(alpn), "ALPN");
        let request = http::Request::get(format!("https://localhost:{}/t/secure", gw.addr.port()))
            .body(Empty::<Bytes>::new())
            .unwrap();
        let response = if alpn == b"h2" {
            let (mut sender, conn) =
                hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
                    .await
                    .unwrap();
            tokio::spawn(conn);
            sender.send_request(request).await.unwrap()
        } else {
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
                .await
                .unwrap();
            tokio::spawn(conn);
            let mut request = request;
            request
                .headers_mut()
                .insert("host", format!("localhost:{}", gw.addr.port()).parse().unwrap());
            sender.send_request(request).await.unwrap()
        };
        assert_eq!(response.status(), 200);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let echo: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(echo["headers"]["x-forwarded-proto"], "https", "{echo}");
        assert_eq!(echo["path"], "/secure");
    }
    // Plain HTTP on the TLS port gets no answer.
    assert!(gw.http.get(gw.url("/healthz")).send().await.is_err());
    gw.stop().await;
    up.stop().await;
}

#[tokio::test]
async fn an_unusable_certificate_is_a_config_error_naming_the_key() {
    let mut config = single_route(&["127.0.0.1:1".parse().unwrap()], |_, _| {});
    config.tls = Some(TlsConfig {
        cert: fixture("no-such-cert.pem"),
        key: fixture("key.pem"),
    });
    let err = format!("{:#}", stack_gateway::open(config.clone()).await.err().unwrap());
    assert!(
        err.contains("tls.cert") && err.contains("no-such-cert.pem"),
        "{err}"
    );
    // The key of another certificate (here: the certificate file itself, which holds no key).
    config.tls = Some(TlsConfig {
        cert: fixture("cert.pem"),
        key: fixture("cert.pem"),
    });
    let err = format!("{:#}", stack_gateway::open(config).await.err().unwrap());
    assert!(err.contains("tls.key"), "{err}");
}
