//! partner's outgoing HTTP client, for iam's token endpoint and the movie fetch: hyper's pooled
//! HTTP/1.1 client over a connector of its own — plain TCP for `http://`, rustls for
//! `https://`, trusting only the CA certificates of `catalog_ca` (built by stack-common's
//! `tls::client_config`, ring as the crypto provider).
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
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tower::Service;

type BoxError = Box<dyn StdError + Send + Sync>;

/// Longest wait for a TCP connection (the TLS handshake runs within the request's timeout).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// An HTTP client for `http://` and, when built with a TLS config, `https://` URLs; cheap to
/// clone (the connection pool is shared).
#[derive(Clone)]
pub struct HttpClient {
    inner: Client<Connector, Full<Bytes>>,
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
    /// A client verifying HTTPS servers with `tls` (its ALPN is set to `http/1.1`, what this
    /// client speaks); without it an `https://` URL fails to connect.
    pub fn new(tls: Option<rustls::ClientConfig>) -> HttpClient {
        let mut http = HttpConnector::new();
        // https:// URIs come through here too: the TCP leg is the same
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let tls = tls.map(|mut config| {
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            TlsConnector::from(Arc::new(config))
        });
        HttpClient {
            inner: Client::builder(TokioExecutor::new())
                // idle connections are closed after the pool's idle timeout (90 s)
                .pool_timer(TokioTimer::new())
                .build(Connector { http, tls }),
        }
    }

    /// Sends `request` and reads the whole response within `timeout`. The error is one line:
    /// what failed and why (the refused connection, the certificate, the timeout).
    pub async fn send(&self, request: Request<Full<Bytes>>, timeout: Duration) -> Result<Response, String> {
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

/// TCP from hyper's connector (DNS, timeout, nodelay), then TLS for `https://`.
#[derive(Clone)]
struct Connector {
    http: HttpConnector,
    tls: Option<TlsConnector>,
}

impl Service<Uri> for Connector {
    type Response = TokioIo<Stream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<TokioIo<Stream>, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let tls = self.tls.clone();
        let connecting = self.http.call(uri.clone());
        Box::pin(async move {
            let tcp = connecting.await?.into_inner();
            if uri.scheme_str() != Some("https") {
                return Ok(TokioIo::new(Stream::Plain(tcp)));
            }
            let tls = tls.ok_or("an https:// URL, but no CA to check the server with (catalog_ca)")?;
            // `Uri::host` keeps an IPv6 address's brackets
            let host = uri
                .host()
                .unwrap_or_default()
                .trim_start_matches('[')
                .trim_end_matches(']');
            let name = ServerName::try_from(host.to_string())
                .map_err(|e| format!("{host} is not a server name: {e}"))?;
            let stream = tls
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS handshake with {host}: {e}"))?;
            Ok(TokioIo::new(Stream::Tls(Box::new(stream))))
        })
    }
}

/// One connection, plain or TLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use tokio::sync::oneshot;

    use super::*;

    /// A self-signed certificate for `127.0.0.1` (as `stack up --tls` makes the gateway's):
    /// `(cert, key)` files in `dir`.
    fn self_signed(dir: &Path, stem: &str) -> (PathBuf, PathBuf) {
        let generated = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
        let (cert, key) = (
            dir.join(format!("{stem}-cert.pem")),
            dir.join(format!("{stem}-key.pem")),
        );
        std::fs::write(&cert, generated.cert.pem()).unwrap();
        std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
        (cert, key)
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

    #[tokio::test]
    async fn one_client_speaks_https_trusting_a_self_signed_certificate_and_plain_http() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = self_signed(dir.path(), "server");
        let (https, _stop_https) = serve(Some((cert.clone(), key))).await;
        let (plain, _stop_plain) = serve(None).await;
        // the self-signed end-entity certificate is its own trust anchor
        let client = HttpClient::new(Some(stack_common::tls::client_config(&cert, None).unwrap()));
        for url in [&https, &plain, &https] {
            let response = fetch(&client, url).await;
            assert_eq!(
                response,
                Ok(Response {
                    status: 200,
                    body: Bytes::from_static(b"hello")
                }),
                "{url}"
            );
        }
    }

    #[tokio::test]
    async fn a_server_the_ca_does_not_vouch_for_is_refused_and_https_needs_a_ca() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = self_signed(dir.path(), "server");
        let (other, _) = self_signed(dir.path(), "other");
        let (https, _stop) = serve(Some((cert, key))).await;

        let client = HttpClient::new(Some(stack_common::tls::client_config(&other, None).unwrap()));
        let err = fetch(&client, &https).await.unwrap_err();
        assert!(
            err.contains("TLS handshake with 127.0.0.1: invalid peer certificate"),
            "{err}"
        );

        let err = fetch(&HttpClient::new(None), &https).await.unwrap_err();
        assert!(err.contains("catalog_ca"), "{err}");
    }
}
