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
            HeaderValue::from_str(&next_uuid().to_string()).unwrap_or(HeaderValue::from_static("-"))
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

/// Sets the forwarding headers for a request from `peer` (over TLS when `tls`), its original
/// host being `host`.
pub fn set_forwarded(headers: &mut HeaderMap, peer: SocketAddr, tls: bool, host: Option<&str>) {
    let ip = peer.ip();
    let proto = if tls { "https" } else { "http" };
    let xff = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(prior) => format!("{prior}, {ip}"),
        None => ip.to_string(),
    };
    insert(headers, "x-forwarded-for", &xff);
    insert(headers, "x-forwarded-proto", proto);
    // RFC 7239: an IPv6 address is bracketed and quoted.
    let node = match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("\"[{v6}]\""),
    };
    let mut element = format!("for={node};proto={proto}");
    if let Some(host) = host {
        insert(headers, "x-forwarded-host", host);
        if host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        {
            element.push_str(&format!(";host=\"{host}\""));
        }
    }
    let forwarded = match headers.get(header::FORWARDED).and_then(|v| v.to_str().ok()) {
        Some(prior) => format!("{prior}, {element}"),
        None => element,
    };
    insert(headers, header::FORWARDED.as_str(), &forwarded);
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(HeaderName::from_static(name), value);
    }
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
