//! The one error shape of every service, `{"error": {"code", "message"}}`, mapped once to an HTTP
//! response and once to a gRPC status. Handlers return `ApiError`; nothing else reaches a client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The realm named in `WWW-Authenticate` challenges.
pub const REALM: &str = "gauntlet";

/// An error a client sees: status, stable machine-readable code, human message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code, e.g. `invalid_request` (see docs/reference-stack.md).
    pub code: &'static str,
    /// Human-readable detail; never contains secrets or internals.
    pub message: String,
    /// `WWW-Authenticate` challenge for 401/403.
    pub challenge: Option<String>,
}

impl ApiError {
    /// Any status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            challenge: None,
        }
    }
    /// 400 `invalid_request`.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }
    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    /// 409 `conflict`.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }
    /// 413 `payload_too_large`.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("request body larger than {limit} bytes"),
        )
    }
    /// 415 `unsupported_media_type`.
    pub fn unsupported_media_type(expected: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("expected Content-Type {expected}"),
        )
    }
    /// 500 `internal`; the cause is logged, never sent.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
    }
    /// 401 `missing_token`: no credentials at all (RFC 6750 §3.1: no error attribute).
    pub fn missing_token() -> Self {
        ApiError {
            challenge: Some(format!("Bearer realm=\"{REALM}\"")),
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                "missing_token",
                "a bearer token is required",
            )
        }
    }
    /// 401 `invalid_token`.
    pub fn invalid_token(reason: impl Into<String>) -> Self {
        let reason = reason.into();
        ApiError {
            challenge: Some(format!(
                "Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"{}\"",
                reason.replace('"', "'")
            )),
            ..Self::new(StatusCode::UNAUTHORIZED, "invalid_token", reason)
        }
    }
    /// 403 `insufficient_scope`.
    pub fn insufficient_scope(scope: &str) -> Self {
        ApiError {
            challenge: Some(format!(
                "Bearer realm=\"{REALM}\", error=\"insufficient_scope\", scope=\"{scope}\""
            )),
            ..Self::new(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                format!("the token lacks scope {scope}"),
            )
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message } });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(challenge) = self.challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

impl From<ApiError> for tonic::Status {
    fn from(err: ApiError) -> Self {
        use tonic::Code;
        let code = match err.status {
            StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE => Code::InvalidArgument,
            StatusCode::UNAUTHORIZED => Code::Unauthenticated,
            StatusCode::FORBIDDEN => Code::PermissionDenied,
            StatusCode::NOT_FOUND => Code::NotFound,
            StatusCode::CONFLICT => Code::AlreadyExists,
            StatusCode::SERVICE_UNAVAILABLE => Code::Unavailable,
            _ => Code::Internal,
        };
        tonic::Status::new(code, err.message)
    }
}

/// Fallback for unknown routes: 404 in the JSON shape.
pub async fn route_not_found() -> ApiError {
    ApiError::not_found("no such route")
}

/// Fallback for a known route with another method: 405 in the JSON shape.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_codes_follow_http_statuses() {
        assert_eq!(
            tonic::Status::from(ApiError::missing_token()).code(),
            tonic::Code::Unauthenticated
        );
        assert_eq!(
            tonic::Status::from(ApiError::insufficient_scope("movies:write")).code(),
            tonic::Code::PermissionDenied
        );
        assert_eq!(
            tonic::Status::from(ApiError::not_found("x")).code(),
            tonic::Code::NotFound
        );
        assert_eq!(
            tonic::Status::from(ApiError::invalid_request("x")).code(),
            tonic::Code::InvalidArgument
        );
    }
}
