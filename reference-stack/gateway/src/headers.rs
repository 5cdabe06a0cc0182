//! Header hygiene of a proxy: hop-by-hop headers removed in both directions (RFC 9110 §7.6.1,
//! including those the `Connection` header names), `x-forwarded-for` / `x-forwarded-proto` /
//! `x-forwarded-host` / `forwarded` (RFC 7239) set, and the request id taken from the client
//! when it is sane, generated otherwise. `traceparent` and every other end-to-end header pass
//! through untouched.

use std::net::{IpAddr, SocketAddr};

use http::{HeaderMap, HeaderName, HeaderValue, header};

/// The request id header.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Removes hop-by-hop headers. `TE: trailers` is kept: gRPC requires it end to end over HTTP/2,
/// and it asks for nothing but trailers.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Most messages carry none of them: one pass over the names (cheap comparisons, no
    // hashing) settles that before any removal is tried.
    if !headers
        .keys()
        .any(|name| name == header::TE || HOP_BY_HOP.contains(name))
    {
        return;
    }
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named.iter().chain(HOP_BY_HOP.iter()) {
        headers.remove(name);
    }
    let te_is_trailers = headers
        .get(header::TE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"trailers"));
    if !te_is_trailers {
        headers.remove(header::TE);
    }
}

/// The client's request id if it is 1-128 visible ASCII characters, else a fresh UUID.
pub fn request_id(headers: &HeaderMap) -> HeaderValue {
    headers
        .get(&REQUEST_ID)
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.as_bytes().iter().all(|b| b.is_ascii_graphic()))
        .cloned()
        .unwrap_or_else(|| {
            let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
            let text = next_uuid().hyphenated().encode_lower(&mut text);
            HeaderValue::from_str(text).unwrap_or(HeaderValue::from_static("-"))
        })
}

/// A version-4-shaped UUID from a per-process random seed and a counter, mixed by splitmix64:
/// unique within the process and unpredictable enough for correlation, without the system call
/// that `Uuid::new_v4` makes for every id (measurable at tens of thousands of requests a second).
fn next_uuid() -> uuid::Uuid {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEED: OnceLock<(u64, u64)> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let (a, b) = *SEED.get_or_init(|| {
        let seed = uuid::Uuid::new_v4().as_u128();
        ((seed >> 64) as u64, seed as u64)
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let hi = mix(a.wrapping_add(n.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
    let lo = b ^ n;
    uuid::Builder::from_random_bytes(((u128::from(hi) << 64) | u128::from(lo)).to_be_bytes()).into_uuid()
}

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// The client end of one connection, as the forwarding headers name it. Built once per
/// connection: every request on it comes from the same address over the same transport, so
/// only the parts that depend on the request (prior hops, `Host`) are assembled per request.
#[derive(Clone)]
pub struct ClientHop {
    /// The client's address as `x-forwarded-for` gives it.
    ip: HeaderValue,
    /// `http` or `https`.
    proto: HeaderValue,
    /// `for=...;proto=...`, the RFC 7239 element without its `host`.
    element: String,
}

impl ClientHop {
    /// The hop of a client at `peer`, over TLS when `tls`.
    pub fn new(peer: SocketAddr, tls: bool) -> ClientHop {
        let ip = peer.ip();
        let proto = if tls { "https" } else { "http" };
        // RFC 7239: an IPv6 address is bracketed and quoted.
        let node = match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("\"[{v6}]\""),
        };
        ClientHop {
            ip: HeaderValue::from_str(&ip.to_string()).unwrap_or(HeaderValue::from_static("unknown")),
            proto: HeaderValue::from_static(proto),
            element: format!("for={node};proto={proto}"),
        }
    }

    /// Sets the forwarding headers of a request from this client whose `Host` was `host`:
    /// appends to `x-forwarded-for` and `forwarded` (RFC 7239), sets `x-forwarded-proto` and
    /// `x-forwarded-host`.
    pub fn apply(&self, headers: &mut HeaderMap, host: Option<&HeaderValue>) {
        let xff = match headers.get(&X_FORWARDED_FOR) {
            Some(prior) => joined(prior.as_bytes(), self.ip.as_bytes()),
            None => Some(self.ip.clone()),
        };
        if let Some(xff) = xff {
            headers.insert(X_FORWARDED_FOR, xff);
        }
        headers.insert(X_FORWARDED_PROTO, self.proto.clone());
        let mut element = Vec::with_capacity(self.element.len() + 40);
        element.extend_from_slice(self.element.as_bytes());
        if let Some(host) = host {
            headers.insert(X_FORWARDED_HOST, host.clone());
            let host = host.as_bytes();
            if host
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(b))
            {
                element.extend_from_slice(b";host=\"");
                element.extend_from_slice(host);
                element.push(b'"');
            }
        }
        let forwarded = match headers.get(header::FORWARDED) {
            Some(prior) => joined(prior.as_bytes(), &element),
            None => HeaderValue::from_maybe_shared(bytes::Bytes::from(element)).ok(),
        };
        if let Some(forwarded) = forwarded {
            headers.insert(header::FORWARDED, forwarded);
        }
    }
}

/// `prior, next` as a header value (`None` if `prior` held bytes a value cannot).
fn joined(prior: &[u8], next: &[u8]) -> Option<HeaderValue> {
    let mut value = Vec::with_capacity(prior.len() + 2 + next.len());
    value.extend_from_slice(prior);
    value.extend_from_slice(b", ");
    value.extend_from_slice(next);
    HeaderValue::from_maybe_shared(bytes::Bytes::from(value)).ok()
}

/// Sets the forwarding headers for a request from `peer` (over TLS when `tls`), its original
/// host being `host` (see [`ClientHop`], which the proxy keeps per connection).
pub fn set_forwarded(headers: &mut HeaderMap, peer: SocketAddr, tls: bool, host: Option<&str>) {
    let host = host.and_then(|h| HeaderValue::from_str(h).ok());
    ClientHop::new(peer, tls).apply(headers, host.as_ref());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_and_connection_named_headers_go_te_trailers_stays() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, "keep-alive, x-secret-hop".parse().unwrap());
        h.insert("keep-alive", "timeout=5".parse().unwrap());
        h.insert("x-secret-hop", "1".parse().unwrap());
        h.insert(header::TRANSFER_ENCODING, "chunked".parse().unwrap());
        h.insert(header::UPGRADE, "websocket".parse().unwrap());
        h.insert(header::TE, "trailers".parse().unwrap());
        h.insert(
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
                .parse()
                .unwrap(),
        );
        strip_hop_by_hop(&mut h);
        let left: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        assert_eq!(left, ["te", "traceparent"]);
        let mut h = HeaderMap::new();
        h.insert(header::TE, "gzip".parse().unwrap());
        strip_hop_by_hop(&mut h);
        assert!(h.is_empty());
    }

    #[test]
    fn forwarded_headers_append_to_prior_hops() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "203.0.113.7".parse().unwrap());
        set_forwarded(
            &mut h,
            "[::1]:5000".parse().unwrap(),
            true,
            Some("example.test:8443"),
        );
        assert_eq!(h["x-forwarded-for"], "203.0.113.7, ::1");
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(
            h["forwarded"],
            "for=\"[::1]\";proto=https;host=\"example.test:8443\""
        );
    }

    #[test]
    fn request_id_is_kept_when_sane_and_generated_otherwise() {
        let mut h = HeaderMap::new();
        h.insert(&REQUEST_ID, "abc-123".parse().unwrap());
        assert_eq!(request_id(&h), "abc-123");
        h.insert(&REQUEST_ID, "has space".parse().unwrap());
        assert_eq!(request_id(&h).len(), 36);
        assert_eq!(request_id(&HeaderMap::new()).len(), 36);
        let ids: std::collections::HashSet<_> = (0..10_000).map(|_| next_uuid()).collect();
        assert_eq!(ids.len(), 10_000, "ids repeat");
        assert!(ids.iter().all(|u| u.get_version_num() == 4));
    }
}
