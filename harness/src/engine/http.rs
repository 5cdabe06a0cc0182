//! The HTTP client of a virtual user: one keep-alive HTTP/1.1 connection per target host,
//! opened on first use and again after it breaks (like wrk's connections, and unlike a pooled
//! client whose shared pool is a lock on the hot path). Plain HTTP only for now.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Request};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

use super::stats::FailureKind;

/// A response, fully read.
#[derive(Debug)]
pub struct Exchange {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
}

/// A failed attempt: its kind, and how long it took when it was timed.
#[derive(Debug)]
pub struct Failed {
    /// Kind, for the report.
    pub kind: FailureKind,
    /// Time from send to failure (absent for connect failures: nothing was sent).
    pub elapsed: Option<Duration>,
}

/// A user's open connections, by `host:port`.
#[derive(Default)]
pub struct Connections {
    open: Vec<(String, SendRequest<Full<Bytes>>)>,
}

impl Connections {
    async fn connect(authority: &str) -> std::io::Result<SendRequest<Full<Bytes>>> {
        let stream = tokio::net::TcpStream::connect(authority).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
        tokio::spawn(async move {
            // Ends when the connection closes; errors show up on the sender's next request.
            let _ = connection.await;
        });
        Ok(sender)
    }

    /// Sends `request` to `authority` and reads the whole response, within `timeout`. The
    /// latency runs from `measure_from` when given (a paced start that was missed), else from
    /// the moment the request is handed to the connection.
    pub async fn send(
        &mut self,
        authority: &str,
        request: Request<Full<Bytes>>,
        timeout: Duration,
        measure_from: Option<Instant>,
    ) -> Result<(Exchange, Duration), Failed> {
        let index = match self
            .open
            .iter()
            .position(|(a, s)| a == authority && !s.is_closed())
        {
            Some(i) => i,
            None => {
                self.open.retain(|(a, _)| a != authority);
                let sender = Self::connect(authority).await.map_err(|_| Failed {
                    kind: FailureKind::Connect,
                    elapsed: None,
                })?;
                self.open.push((authority.to_string(), sender));
                self.open.len() - 1
            }
        };
        let sender = &mut self.open[index].1;
        let start = measure_from.unwrap_or_else(Instant::now);
        let exchange = async {
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok::<_, hyper::Error>(Exchange {
                status: parts.status.as_u16(),
                headers: parts.headers,
                body,
            })
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(exchange)) => Ok((exchange, start.elapsed())),
            Ok(Err(_)) => {
                self.open.swap_remove(index);
                Err(Failed {
                    kind: FailureKind::Io,
                    elapsed: Some(start.elapsed()),
                })
            }
            Err(_) => {
                // The connection may still deliver the late response: never reuse it.
                self.open.swap_remove(index);
                Err(Failed {
                    kind: FailureKind::Timeout,
                    elapsed: Some(start.elapsed()),
                })
            }
        }
    }
}

/// Splits `http://host:port/path?q` into (`host:port`, `/path?q`); `None` if not http.
pub fn split_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    (!authority.is_empty()).then_some((authority, path))
}

/// Appends `key=value` to a query string, percent-encoding both (RFC 3986 unreserved kept).
pub fn push_query_pair(out: &mut String, key: &str, value: &str) {
    out.push(if out.contains('?') { '&' } else { '?' });
    percent_encode(out, key);
    out.push('=');
    percent_encode(out, value);
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn percent_encode(out: &mut String, text: &str) {
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls_and_encodes_queries() {
        assert_eq!(
            split_url("http://127.0.0.1:8082/v1/movies?x=1"),
            Some(("127.0.0.1:8082", "/v1/movies?x=1"))
        );
        assert_eq!(split_url("http://h:1"), Some(("h:1", "/")));
        assert_eq!(split_url("https://h"), None);
        let mut url = "/v1/movies".to_string();
        push_query_pair(&mut url, "title", "a b&c");
        push_query_pair(&mut url, "limit", "10");
        assert_eq!(url, "/v1/movies?title=a%20b%26c&limit=10");
    }
}
