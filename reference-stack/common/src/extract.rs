//! Request extractors that turn every kind of bad input into the JSON error shape: a body that is
//! not JSON, of the wrong type, too large, or with unknown fields; bad query strings.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use crate::ApiError;

/// A JSON request body (`Content-Type: application/json`).
#[derive(Debug)]
pub struct Json<T>(pub T);

/// A body that may be JSON or `application/x-www-form-urlencoded` (the OAuth 2 endpoints).
#[derive(Debug)]
pub struct JsonOrForm<T>(pub T);

/// A query string decoded into `T`.
#[derive(Debug)]
pub struct Query<T>(pub T);

fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(value.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
}

fn is_json(media: &str) -> bool {
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "request body too large",
            )
        } else {
            ApiError::invalid_request(format!("cannot read the request body: {rejection}"))
        }
    })
}

fn from_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::invalid_request(format!("invalid JSON body: {e}")))
}

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match media_type(req.headers()) {
            Some(media) if is_json(&media) => {}
            _ => return Err(ApiError::unsupported_media_type("application/json")),
        }
        let bytes = body_bytes(req, state).await?;
        from_json(&bytes).map(Json)
    }
}

impl<T, S> FromRequest<S> for JsonOrForm<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let media = media_type(req.headers()).unwrap_or_default();
        let form = media == "application/x-www-form-urlencoded";
        if !form && !is_json(&media) {
            return Err(ApiError::unsupported_media_type(
                "application/x-www-form-urlencoded or application/json",
            ));
        }
        let bytes = body_bytes(req, state).await?;
        if form {
            serde_urlencoded::from_bytes(&bytes)
                .map(JsonOrForm)
                .map_err(|e| ApiError::invalid_request(format!("invalid form body: {e}")))
        } else {
            from_json(&bytes).map(JsonOrForm)
        }
    }
}

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(query)
            .map(Query)
            .map_err(|e| ApiError::invalid_request(format!("invalid query string: {e}")))
    }
}
