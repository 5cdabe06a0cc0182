//! The stack as `gauntlet stack up` runs it: the gateway in front of one iam and two catalog
//! instances sharing one database. Everything a client needs goes through the gateway's URL.

use serde_json::json;
use stack_testkit::net::get_text;

use crate::openapi;
use crate::support::{Api, password_form, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_fronts_iam_and_two_catalog_instances_on_one_database() {
    let stack = start().await;
    let running = stack.running();
    assert_eq!(running.catalogs.len(), 2);
    assert_eq!(running.catalog.addr, running.catalogs[0].addr);
    assert_eq!(running.services().len(), 4);
    let gateway = Api::new(&running.gateway.url, openapi::gateway());

    let token = gateway
        .post("/iam/v1/token")
        .form(&password_form("admin", "admin-password", &[]))
        .send()
        .await
        .ok_json(200)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let movie = gateway
        .post("/api/movies")
        .bearer(&token)
        .json(&json!({"title": "Through the gateway", "year": 2024}))
        .send()
        .await
        .ok_json(201);
    let id = movie["id"].as_str().unwrap();

    // Either instance, addressed directly, sees the write: they share the database file.
    for instance in &running.catalogs {
        let direct = Api::new(&instance.url, openapi::catalog());
        let got = direct
            .get(&format!("/v1/movies/{id}"))
            .bearer(&token)
            .send()
            .await
            .ok_json(200);
        assert_eq!(got["title"], "Through the gateway");
    }
    // Reads through the gateway are spread over both instances.
    for _ in 0..4 {
        gateway
            .get(&format!("/api/movies/{id}"))
            .bearer(&token)
            .send()
            .await
            .expect(200);
    }
    for instance in &running.catalogs {
        let metrics = get_text(&reqwest::Client::new(), format!("{}/metrics", instance.url)).await;
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with("http_requests_total{method=\"GET\",route=\"/v1/movies/{id}\"")),
            "{} served no read through the gateway:\n{metrics}",
            instance.url
        );
    }
    stack.stop().await;
}

/// `gauntlet stack up --tls`: the gateway terminates TLS with a certificate generated for
/// `localhost` and the stack's address; a client trusting that certificate gets through, and so
/// does partner, fetching the movies of catalog's events through it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_tls_at_the_gateway() {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    let stack = crate::events::start_with_tls_gateway(false).await;
    let running = stack.running();
    let cert = running
        .gateway_certificate
        .clone()
        .expect("the generated certificate");
    let token = stack.admin_token().await;

    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_file(&cert).unwrap()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    // checked for 127.0.0.1, the address the certificate was generated for
    let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let request = http::Request::get("/api/movies")
        .header("host", running.gateway.addr.to_string())
        .header("authorization", format!("Bearer {token}"))
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    let (status, _, body) = crate::events::over_tls(running.gateway.addr, &tls, request).await;
    assert_eq!(status, 200);
    let page: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(page["items"].is_array(), "{page}");
    crate::events::partner_fetches_through_the_tls_gateway(&stack).await;
    stack.stop().await;
}
