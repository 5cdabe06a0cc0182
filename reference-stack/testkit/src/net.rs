//! Loopback sockets and the HTTP client the tests talk through. Every server binds port 0 and
//! reports the port it got, so tests run side by side.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;

/// Binds 127.0.0.1 on a free port.
pub async fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    (l, addr)
}

/// A free port nobody listens on (bound, then released).
pub async fn dead_addr() -> SocketAddr {
    let (l, addr) = listener().await;
    drop(l);
    addr
}

/// A reqwest client without proxy and with a 20 s timeout.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("an HTTP client")
}

/// The body of `GET url` as text, whatever the status: for what a test reads rather than
/// checks the exchange of (`/metrics`). Panics, failing the test, when the request fails.
pub async fn get_text(http: &reqwest::Client, url: impl reqwest::IntoUrl) -> String {
    let response = http.get(url).send().await.expect("a GET");
    response.text().await.expect("a body")
}

/// The body of `GET url` as JSON, whatever the status (see [`get_text`]).
pub async fn get_json(http: &reqwest::Client, url: impl reqwest::IntoUrl) -> serde_json::Value {
    let response = http.get(url).send().await.expect("a GET");
    response.json().await.expect("a JSON body")
}
