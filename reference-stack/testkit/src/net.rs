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
