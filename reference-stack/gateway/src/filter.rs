//! Malformed-traffic filtering, before a request reaches any route: methods the gateway does not
//! forward (405), too many or too large headers (431), an overlong target (414), a body declared
//! larger than the limit (413), and paths that could mean something else to a service than to
//! the gateway's router: `.`/`..` segments (plain or percent-encoded), encoded `/` or `\`,
//! backslashes, NUL, and empty segments inside the path (400). Refusing instead of normalising means the route
//! the gateway checked is the path the service sees.

use http::{HeaderMap, Method, StatusCode, header};
use stack_common::ApiError;

use crate::config::{Limits, SUPPORTED_METHODS};

/// Checks a request head against `limits`.
pub fn check(method: &Method, uri: &http::Uri, headers: &HeaderMap, limits: &Limits) -> Result<(), ApiError> {
    if !SUPPORTED_METHODS.contains(&method.as_str()) {
        return Err(method_not_allowed(method));
    }
    if headers.len() > limits.max_headers {
        return Err(ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!("more than {} request headers", limits.max_headers),
        ));
    }
    let header_bytes: usize = headers.iter().map(|(n, v)| n.as_str().len() + v.len()).sum();
    if header_bytes > limits.max_header_bytes {
        return Err(ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!("request headers larger than {} bytes", limits.max_header_bytes),
        ));
    }
    let target_len = uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    if target_len > limits.max_uri_bytes {
        return Err(ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("request target longer than {} bytes", limits.max_uri_bytes),
        ));
    }
    if let Some(length) = headers.get(header::CONTENT_LENGTH) {
        match length.to_str().ok().and_then(|v| v.parse::<u64>().ok()) {
            Some(n) if n > limits.max_body_bytes as u64 => {
                return Err(ApiError::payload_too_large(limits.max_body_bytes));
            }
            Some(_) => {}
            None => return Err(ApiError::invalid_request("malformed Content-Length")),
        }
    }
    check_path(uri.path())
}

/// 405 in the JSON shape.
pub fn method_not_allowed(method: &Method) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("method {method} is not supported here"),
    )
}

/// Refuses paths that are not in normal form (see the module docs). One pass over the bytes,
/// no allocation: it runs on every request.
pub fn check_path(path: &str) -> Result<(), ApiError> {
    let reject = |why: &str| Err(ApiError::invalid_request(format!("path rejected: {why}")));
    let bytes = path.as_bytes();
    if bytes.first() != Some(&b'/') {
        return reject("must start with /");
    }
    if bytes.contains(&b'\\') {
        return reject("backslash");
    }
    if bytes.windows(3).any(|w| {
        w[0] == b'%'
            && matches!(
                (w[1], w[2].to_ascii_lowercase()),
                (b'2', b'f') | (b'5', b'c') | (b'0', b'0')
            )
    }) {
        return reject("encoded separator or NUL");
    }
    if path == "/" {
        return Ok(());
    }
    let mut segments = path[1..].split('/').peekable();
    while let Some(segment) = segments.next() {
        if is_dot_segment(segment.as_bytes()) {
            return reject("dot segment");
        }
        // A trailing slash is fine; `//` inside a path is not.
        if segment.is_empty() && segments.peek().is_some() {
            return reject("empty segment");
        }
    }
    Ok(())
}

/// `.` or `..`, each dot plain or percent-encoded (`%2e`, any case).
fn is_dot_segment(segment: &[u8]) -> bool {
    let (mut i, mut dots) = (0, 0);
    while i < segment.len() {
        if segment[i] == b'.' {
            i += 1;
        } else if segment[i..].len() >= 3
            && segment[i..i + 2] == *b"%2"
            && segment[i + 2].eq_ignore_ascii_case(&b'e')
        {
            i += 3;
        } else {
            return false;
        }
        dots += 1;
    }
    dots == 1 || dots == 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_paths_pass() {
        for p in [
            "/",
            "/api/movies",
            "/api/movies/3f0e",
            "/iam/.well-known/jwks.json",
            "/a/b.c/..d",
            "/api/movies/",
            "/a/.../b",
            "/a/%2e%2e%2e",
            "/a/%2ex",
        ] {
            assert!(check_path(p).is_ok(), "{p}");
        }
    }

    #[test]
    fn traversal_and_encoded_separators_are_refused() {
        for p in [
            "/api/../iam/v1/users",
            "/api/./movies",
            "/api/%2e%2e/x",
            "/api/%2E./x",
            "/api/.%2e",
            "/api/%2e/",
            "/api/..",
            "/api/movies%2fx",
            "/api/movies%2Fx",
            "/api/movies%5cx",
            "/api\\movies",
            "/api//movies",
            "/api/%00",
        ] {
            let err = check_path(p).unwrap_err();
            assert_eq!(err.status, StatusCode::BAD_REQUEST, "{p}");
        }
    }

    #[test]
    fn limits_map_to_their_statuses() {
        let limits = Limits {
            max_headers: 2,
            max_header_bytes: 20,
            max_body_bytes: 10,
            max_uri_bytes: 12,
        };
        let uri: http::Uri = "/api/movies".parse().unwrap();
        let mut h = HeaderMap::new();
        assert!(check(&Method::GET, &uri, &h, &limits).is_ok());
        assert_eq!(
            check(&Method::TRACE, &uri, &h, &limits).unwrap_err().status,
            StatusCode::METHOD_NOT_ALLOWED
        );
        h.insert("content-length", "11".parse().unwrap());
        assert_eq!(
            check(&Method::POST, &uri, &h, &limits).unwrap_err().status,
            StatusCode::PAYLOAD_TOO_LARGE
        );
        h.insert("x-a", "1".parse().unwrap());
        h.insert("x-b", "1".parse().unwrap());
        assert_eq!(
            check(&Method::GET, &uri, &h, &limits).unwrap_err().status,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        );
        let long: http::Uri = "/api/movies?x=1".parse().unwrap();
        assert_eq!(
            check(&Method::GET, &long, &HeaderMap::new(), &limits)
                .unwrap_err()
                .status,
            StatusCode::URI_TOO_LONG
        );
    }
}
