//! partner's outgoing HTTP client, for iam's token endpoint and the movie fetch: hyper's pooled
//! HTTP/1.1 client over a connector of its own — plain TCP for `http://`, rustls for
//! `https://`, trusting only the CA certificates of `catalog_ca` (built by stack-common's
//! `tls::client_config`, ring as the crypto provider) and checking the server's certificate for
//! the URL's host, or for `catalog_server_name` on catalog's connections. It follows no
//! redirect and uses no proxy (`HTTP(S)_PROXY` are not read): partner calls the stack directly.
//!
//! Why not reqwest, which the rest of the stack uses for plain HTTP: reqwest's rustls features
//! are either `rustls` (which brings the aws-lc-rs provider, and cmake, into the build) or
//! `rustls-no-provider`. Cargo unifies a crate's features over everything built together, so
//! the latter would reach every reqwest client in any build holding partner — stack-local, the
//! harness, stack-common's JWKS client — and reqwest then uses rustls for them all, looking for a
//! process-wide default crypto provider that nobody installs: `Client::builder().build()`
//! panics ("No rustls crypto provider is configured"). A connector here keeps TLS to partner.

use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::uri::Authority;
use http::{Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::pki_types::ServerName;
use stack_common::tls::MaybeTlsStream;
use tokio_rustls::TlsConnector;
use tower::Service;

type BoxError = Box<dyn StdError + Send + Sync>;

/// Longest wait for a TCP connection (the TLS handshake runs within the request's timeout).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// An HTTP client for `http://` and, when built with [`ClientTls`], `https://` URLs; cheap to
/// clone (the connection pool is shared).
#[derive(Clone)]
pub struct HttpClient {
    inner: Client<Connector, Full<Bytes>>,
}

/// How the client checks HTTPS servers.
#[derive(Debug, Clone)]
pub struct ClientTls {
    /// Whom to trust (the client sets the ALPN protocol to `http/1.1`, what it speaks).
    pub config: rustls::ClientConfig,
    /// One server whose certificate is checked for another name than the host of its URLs —
    /// one reached by IP address whose certificate names it by DNS name only: its authority as
    /// the URLs spell it (`host:port`), and that name. Every other server is checked for its
    /// URL's host.
    pub server_name: Option<(Authority, ServerName<'static>)>,
}

/// A response read whole.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The body.
    pub body: Bytes,
}

impl HttpClient {
    /// A client verifying HTTPS servers as `tls` says; without it an `https://` URL fails to
    /// connect.
    pub fn new(tls: Option<ClientTls>) -> HttpClient {
        let mut http = HttpConnector::new();
        // https:// URIs come through here too: the TCP leg is the same
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let tls = tls.map(
            |ClientTls {
                 mut config,
                 server_name,
             }| {
                config.alpn_protocols = vec![b"http/1.1".to_vec()];
                Arc::new(Tls {
                    connector: TlsConnector::from(Arc::new(config)),
                    server_name,
                })
            },
        );
        HttpClient {
            inner: Client::builder(TokioExecutor::new())
                // idle connections are closed after the pool's idle timeout (90 s)
                .pool_timer(TokioTimer::new())
                .build(Connector { http, tls }),
        }
    }

    /// Sends `request` and reads the whole response within `timeout`. The error is one line:
    /// where the request went (`scheme://authority/path`), what failed and why (the refused
    /// connection, the certificate, the timeout).
    pub async fn send(&self, request: Request<Full<Bytes>>, timeout: Duration) -> Result<Response, String> {
        let uri = request.uri();
        let target = format!(
            "{}://{}{}",
            uri.scheme_str().unwrap_or("http"),
            uri.authority().map_or("", Authority::as_str),
            uri.path()
        );
        let exchange = async {
            let response = self.inner.request(request).await.map_err(|e| chain(&e))?;
            let status = response.status().as_u16();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| format!("reading the body: {}", chain(&e)))?
                .to_bytes();
            Ok(Response { status, body })
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or_else(|_| Err(format!("no response within {} ms", timeout.as_millis())))
            .map_err(|e: String| format!("{target}: {e}"))
    }
}

/// An error and its sources, `: `-separated (hyper's own message alone says only "client
/// error (Connect)").
fn chain(err: &dyn StdError) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}

/// The connector's TLS: the rustls client and the one server named otherwise than its URLs.
struct Tls {
    connector: TlsConnector,
    server_name: Option<(Authority, ServerName<'static>)>,
}

/// TCP from hyper's connector (DNS, timeout, nodelay), then TLS for `https://`.
#[derive(Clone)]
struct Connector {
    http: HttpConnector,
    tls: Option<Arc<Tls>>,
}

impl Service<Uri> for Connector {
    type Response = TokioIo<MaybeTlsStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<TokioIo<MaybeTlsStream>, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let tls = self.tls.clone();
        let connecting = self.http.call(uri.clone());
        Box::pin(async move {
            let tcp = connecting.await?.into_inner();
            if uri.scheme_str() != Some("https") {
                return Ok(TokioIo::new(MaybeTlsStream::Tcp(tcp)));
            }
            let tls = tls.ok_or("an https:// URL, but no CA to check the server with (catalog_ca)")?;
            // `Uri::host` keeps an IPv6 address's brackets
            let host = uri
                .host()
                .unwrap_or_default()
                .trim_start_matches('[')
                .trim_end_matches(']');
            let (name, checked_as) = match &tls.server_name {
                Some((authority, name)) if uri.authority() == Some(authority) => (
                    name.clone(),
                    format!(" (its certificate checked for {})", name.to_str()),
                ),
                _ => (
                    ServerName::try_from(host.to_string())
                        .map_err(|e| format!("{host} is not a server name: {e}"))?,
                    String::new(),
                ),
            };
            let stream = tls
                .connector
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS handshake with {host}{checked_as}: {e}"))?;
            Ok(TokioIo::new(MaybeTlsStream::Tls(Box::new(stream))))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use tokio::sync::oneshot;

    use super::*;

    /// A self-signed certificate for `names` (`127.0.0.1` is what `stack up --tls` makes the
    /// gateway's carry): `(cert, key)` files in `dir`.
    fn self_signed(dir: &Path, stem: &str, names: &[&str]) -> (PathBuf, PathBuf) {
        let names = names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        let generated = rcgen::generate_simple_self_signed(names).unwrap();
        let (cert, key) = (
            dir.join(format!("{stem}-cert.pem")),
            dir.join(format!("{stem}-key.pem")),
        );
        std::fs::write(&cert, generated.cert.pem()).unwrap();
        std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
        (cert, key)
    }

    /// Trusting the certificates in `ca` (a self-signed end-entity certificate is its own trust
    /// anchor), each server checked for its URL's host.
    fn trusting(ca: &Path) -> ClientTls {
        ClientTls {
            config: stack_common::tls::client_config(ca, None).unwrap(),
            server_name: None,
        }
    }

    /// Serves `GET /` -> "hello" on a free port, over TLS with `tls`; the base URL and the stop.
    async fn serve(tls: Option<(PathBuf, PathBuf)>) -> (String, oneshot::Sender<()>) {
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
        let acceptor = tls.map(|(cert, key)| {
            stack_common::tls::ServerTls {
                cert,
                key,
                client_ca: None,
            }
            .acceptor()
            .unwrap()
        });
        let scheme = if acceptor.is_some() { "https" } else { "http" };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("{scheme}://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(stack_common::ops::serve(listener, app, acceptor, async move {
            let _ = stopped.await;
        }));
        (url, stop)
    }

    async fn fetch(client: &HttpClient, url: &str) -> Result<Response, String> {
        let request = Request::get(url).body(Full::default()).unwrap();
        client.send(request, Duration::from_secs(5)).await
    }

    fn hello() -> Result<Response, String> {
        Ok(Response {
            status: 200,
            body: Bytes::from_static(b"hello"),
        })
    }

    #[tokio::test]
    async fn one_client_speaks_https_trusting_a_self_signed_certificate_and_plain_http() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = self_signed(dir.path(), "server", &["127.0.0.1"]);
        let (https, _stop_https) = serve(Some((cert.clone(), key))).await;
        let (plain, _stop_plain) = serve(None).await;
        let client = HttpClient::new(Some(trusting(&cert)));
        for url in [&https, &plain, &https] {
            assert_eq!(fetch(&client, url).await, hello(), "{url}");
        }
    }

    #[tokio::test]
    async fn a_server_the_ca_does_not_vouch_for_is_refused_and_https_needs_a_ca() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = self_signed(dir.path(), "server", &["127.0.0.1"]);
        let (other, _) = self_signed(dir.path(), "other", &["127.0.0.1"]);
        let (https, _stop) = serve(Some((cert, key))).await;

        let err = fetch(&HttpClient::new(Some(trusting(&other))), &https)
            .await
            .unwrap_err();
        assert!(
            err.contains("TLS handshake with 127.0.0.1: invalid peer certificate"),
            "{err}"
        );

        let err = fetch(&HttpClient::new(None), &https).await.unwrap_err();
        assert!(err.contains("catalog_ca"), "{err}");
    }

    /// Review finding: partner reaches the gateway by IP address, so a gateway certificate of
    /// the user's naming DNS names only failed every fetch (`NotValidForName`).
    /// `catalog_server_name` names what to check instead, for catalog's server alone.
    #[tokio::test]
    async fn a_certificate_for_a_dns_name_only_is_accepted_under_that_server_name() {
        let dir = tempfile::tempdir().unwrap();
        let (named, named_key) = self_signed(dir.path(), "named", &["localhost"]);
        let (by_ip, by_ip_key) = self_signed(dir.path(), "by-ip", &["127.0.0.1"]);
        let (catalog, _stop_catalog) = serve(Some((named.clone(), named_key))).await;
        let (other, _stop_other) = serve(Some((by_ip.clone(), by_ip_key))).await;
        // one CA file vouching for both servers
        let both = dir.path().join("both.pem");
        let pems = [named, by_ip].map(|cert| std::fs::read_to_string(cert).unwrap());
        std::fs::write(&both, pems.concat()).unwrap();

        let err = fetch(&HttpClient::new(Some(trusting(&both))), &catalog)
            .await
            .unwrap_err();
        assert!(
            err.contains(
                "TLS handshake with 127.0.0.1: invalid peer certificate: certificate not valid for name"
            ),
            "{err}"
        );

        let authority = catalog.strip_prefix("https://").unwrap().parse().unwrap();
        let client = HttpClient::new(Some(ClientTls {
            server_name: Some((authority, ServerName::try_from("localhost").unwrap())),
            ..trusting(&both)
        }));
        assert_eq!(fetch(&client, &catalog).await, hello(), "{catalog}");
        // another server is still checked for its own host
        assert_eq!(fetch(&client, &other).await, hello(), "{other}");
    }

    /// Review finding: the errors no longer said where the request went (reqwest's did).
    #[tokio::test]
    async fn an_error_names_the_request_s_scheme_authority_and_path() {
        let client = HttpClient::new(None);
        // refused: the port was free a moment ago
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = closed.local_addr().unwrap();
        drop(closed);
        let err = fetch(&client, &format!("http://{addr}/api/movies/1?x=1"))
            .await
            .unwrap_err();
        assert!(
            err.starts_with(&format!("http://{addr}/api/movies/1: client error (Connect)")),
            "{err}"
        );

        // silent: the kernel accepts the connection, nobody answers
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap();
        let request = Request::get(format!("http://{addr}/v1/token"))
            .body(Full::default())
            .unwrap();
        let err = client
            .send(request, Duration::from_millis(200))
            .await
            .unwrap_err();
        assert_eq!(err, format!("http://{addr}/v1/token: no response within 200 ms"));
    }
}
