//! A test client for TLS services (feature `tls-probe`, and this crate's own tests): one GET
//! over TLS on HTTP/1.1 or HTTP/2 by the negotiated ALPN, and what a refused client sees. Both
//! this crate's TLS tests and the stack's mutual-TLS tests check servers with it.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use tokio::io::AsyncReadExt;
use tokio_rustls::TlsConnector;

use super::client_config;

/// A client trusting `ca`, presenting `identity` (cert, key) if any, offering `alpn`.
pub fn connector(ca: &Path, identity: Option<(&Path, &Path)>, alpn: &[u8]) -> TlsConnector {
    let mut config = client_config(ca, identity).unwrap();
    config.alpn_protocols = vec![alpn.to_vec()];
    TlsConnector::from(Arc::new(config))
}

/// `GET path` at `addr` over TLS, checking the certificate against the address's IP (as the
/// gateway does): the negotiated ALPN, the status and the body; any failure (the handshake,
/// or the server's alert arriving with the first read) as its message.
pub async fn fetch(
    addr: SocketAddr,
    connector: &TlsConnector,
    path: &str,
) -> Result<(Vec<u8>, u16, String), String> {
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let tls = connector
        .connect(ServerName::IpAddress(addr.ip().into()), tcp)
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

/// What a client gets from `addr` when the server refuses it: the handshake error, or the
/// server's alert read right after the client's side of the handshake (TLS 1.3 sends it
/// then). Panics if the server does not refuse.
pub async fn refusal(addr: SocketAddr, connector: &TlsConnector) -> String {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut tls = match connector
        .connect(ServerName::IpAddress(addr.ip().into()), tcp)
        .await
    {
        Ok(tls) => tls,
        Err(err) => return format!("handshake: {err}"),
    };
    let mut buf = [0u8; 64];
    match tokio::time::timeout(Duration::from_secs(5), tls.read(&mut buf)).await {
        Ok(Err(err)) => err.to_string(),
        other => panic!("{addr} did not refuse the client: {other:?}"),
    }
}
