//! `POST /v1/token`: the OAuth 2 token endpoint (RFC 6749 §4.3 password grant, §4.4 client
//! credentials grant), answering with a signed JWT access token.

use axum::Json as JsonResponse;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use stack_common::ApiError;
use stack_common::auth::Claims;
use stack_common::extract::JsonOrForm;

use crate::{AppState, passwords};

/// A token request; every field optional so that what is missing gets an OAuth error.
#[derive(Deserialize)]
pub struct TokenRequest {
    grant_type: Option<String>,
    username: Option<String>,
    password: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
}

#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    scope: String,
}

fn oauth_error(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, code, message)
}

fn invalid_client(basic_used: bool) -> ApiError {
    let mut err = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "client authentication failed",
    );
    if basic_used {
        err.challenge = Some(format!("Basic realm=\"{}\"", stack_common::error::REALM));
    }
    err
}

/// The granted scopes: all allowed ones when none are asked for, else the requested ones if
/// each is allowed.
fn grant_scopes(requested: Option<&str>, allowed: &str) -> Result<String, ApiError> {
    let allowed: Vec<&str> = allowed.split_ascii_whitespace().collect();
    match requested.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(allowed.join(" ")),
        Some(requested) => {
            for scope in requested.split_ascii_whitespace() {
                if !allowed.contains(&scope) {
                    return Err(oauth_error(
                        "invalid_scope",
                        format!("scope {scope} is not allowed"),
                    ));
                }
            }
            Ok(requested.split_ascii_whitespace().collect::<Vec<_>>().join(" "))
        }
    }
}

/// `client_id:client_secret` from an `Authorization: Basic` header.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// Issues an access token.
pub async fn issue(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonOrForm(req): JsonOrForm<TokenRequest>,
) -> Result<Response, ApiError> {
    let (sub, scope, client_id) = match req.grant_type.as_deref() {
        None => return Err(oauth_error("invalid_request", "grant_type is required")),
        Some("password") => {
            let (Some(username), Some(password)) = (req.username, req.password) else {
                return Err(oauth_error(
                    "invalid_request",
                    "username and password are required",
                ));
            };
            let user = state.inner.db.user_by_name(username).await?;
            let hash = user.as_ref().map(|u| u.password_hash.clone());
            let user = match (passwords::verify(password, hash).await?, user) {
                (true, Some(user)) => user,
                _ => return Err(oauth_error("invalid_grant", "invalid username or password")),
            };
            (user.id, grant_scopes(req.scope.as_deref(), &user.scopes)?, None)
        }
        Some("client_credentials") => {
            let basic = basic_credentials(&headers);
            let basic_used = basic.is_some();
            let (id, secret) = match (basic, req.client_id, req.client_secret) {
                (Some(pair), _, _) => pair,
                (None, Some(id), Some(secret)) => (id, secret),
                _ => return Err(invalid_client(false)),
            };
            let client = state.inner.db.client(id.clone()).await?;
            let hash = client.as_ref().map(|c| c.secret_hash.clone());
            let client = match (passwords::verify(secret, hash).await?, client) {
                (true, Some(client)) => client,
                _ => return Err(invalid_client(basic_used)),
            };
            (
                id.clone(),
                grant_scopes(req.scope.as_deref(), &client.scopes)?,
                Some(id),
            )
        }
        Some(other) => {
            return Err(oauth_error(
                "unsupported_grant_type",
                format!("grant_type {other} is not supported"),
            ));
        }
    };

    let config = &state.inner.config;
    let now = crate::now_secs() as u64;
    let claims = Claims {
        iss: config.issuer.clone(),
        sub,
        aud: config.audience.clone(),
        exp: now + config.token_ttl_secs,
        iat: now,
        jti: uuid::Uuid::new_v4().to_string(),
        scope: scope.clone(),
        client_id,
    };
    let access_token = state.inner.key.sign(&claims).map_err(ApiError::internal)?;
    let body = TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: config.token_ttl_secs,
        scope,
    };
    Ok((
        [(header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")],
        JsonResponse(body),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_default_to_all_allowed_and_refuse_extra_ones() {
        assert_eq!(grant_scopes(None, "a b").unwrap(), "a b");
        assert_eq!(grant_scopes(Some(" b "), "a b").unwrap(), "b");
        assert_eq!(
            grant_scopes(Some("a c"), "a b").unwrap_err().code,
            "invalid_scope"
        );
    }
}
