//! The gateway's own answers: the JSON error shape of the stack (`{"error": {"code", "message"}}`)
//! for REST routes, and trailers-only gRPC statuses for gRPC routes (a gRPC client reads
//! `grpc-status`, never an HTTP 4xx/5xx body).

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt, Empty, Full};
use stack_common::ApiError;

/// Error of a proxied body.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// Every body the gateway sends or forwards.
pub type Body = http_body_util::combinators::BoxBody<Bytes, BoxError>;

/// An empty body.
pub fn empty() -> Body {
    Empty::<Bytes>::new().map_err(|never| match never {}).boxed()
}

/// A complete body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed()
}

/// `body` with `content_type`, status 200.
pub fn text(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(full(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// The JSON error shape, with the `WWW-Authenticate` challenge when the error has one.
pub fn json_error(err: &ApiError) -> Response<Body> {
    let body = serde_json::json!({ "error": { "code": err.code, "message": err.message } });
    let mut response = text(err.status, "application/json", body.to_string());
    if let Some(challenge) = err
        .challenge
        .as_deref()
        .and_then(|c| HeaderValue::from_str(c).ok())
    {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
    }
    response
}

/// The gRPC status code for an HTTP-level failure (the mapping of grpc-gateway and Envoy).
pub fn grpc_code(status: StatusCode) -> u8 {
    match status.as_u16() {
        400 | 413 | 414 | 431 => 3, // INVALID_ARGUMENT
        401 => 16,                  // UNAUTHENTICATED
        403 => 7,                   // PERMISSION_DENIED
        404 => 12,                  // UNIMPLEMENTED: no such method behind this gateway
        405 => 12,
        429 => 8,        // RESOURCE_EXHAUSTED
        502 | 503 => 14, // UNAVAILABLE
        504 => 4,        // DEADLINE_EXCEEDED
        _ => 13,         // INTERNAL
    }
}

/// A trailers-only gRPC response carrying `err` as `grpc-status` / `grpc-message`.
pub fn grpc_error(err: &ApiError) -> Response<Body> {
    let mut response = Response::new(empty());
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    headers.insert("grpc-status", HeaderValue::from(u16::from(grpc_code(err.status))));
    if let Ok(message) = HeaderValue::from_str(&percent_encode(&err.message)) {
        headers.insert("grpc-message", message);
    }
    if let Some(challenge) = err
        .challenge
        .as_deref()
        .and_then(|c| HeaderValue::from_str(c).ok())
    {
        headers.insert(header::WWW_AUTHENTICATE, challenge);
    }
    response
}

/// gRPC's percent-encoding of `grpc-message`: printable ASCII except `%` stays as is.
fn percent_encode(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for b in message.bytes() {
        if (0x20..=0x7e).contains(&b) && b != b'%' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_message_is_percent_encoded() {
        assert_eq!(percent_encode("50% off\né"), "50%25 off%0A%C3%A9");
    }

    #[test]
    fn grpc_error_is_trailers_only_with_the_mapped_code() {
        let r = grpc_error(&ApiError::invalid_token("token has expired"));
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["grpc-status"], "16");
        assert_eq!(r.headers()["grpc-message"], "token has expired");
    }
}
