//! Token introspection (RFC 7662), revocation (RFC 7009), the revocation list resource servers
//! poll, and the JWKS they verify signatures with.

use axum::Json as JsonResponse;
use axum::extract::State;
use jsonwebtoken::{Algorithm, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use stack_common::ApiError;
use stack_common::auth::Claims;
use stack_common::extract::JsonOrForm;

use crate::AppState;

/// `{"token": "..."}` (RFC 7662/7009 also allow `token_type_hint`, which is ignored).
#[derive(Deserialize)]
pub struct TokenParam {
    token: String,
}

fn validation(state: &AppState, check_exp: bool) -> Validation {
    let mut v = Validation::new(Algorithm::EdDSA);
    v.set_issuer(&[&state.inner.config.issuer]);
    v.set_audience(&[&state.inner.config.audience]);
    v.leeway = 0;
    v.validate_exp = check_exp;
    v
}

/// Whether a token is active, and its claims when it is.
pub async fn introspect(
    State(state): State<AppState>,
    JsonOrForm(param): JsonOrForm<TokenParam>,
) -> Result<JsonResponse<Value>, ApiError> {
    let inactive = JsonResponse(json!({ "active": false }));
    let Ok(claims) = state
        .inner
        .key
        .verify::<Claims>(&param.token, &validation(&state, true))
    else {
        return Ok(inactive);
    };
    if state.inner.db.is_revoked(claims.jti.clone()).await? {
        return Ok(inactive);
    }
    let mut body = serde_json::to_value(&claims).map_err(ApiError::internal)?;
    body["active"] = json!(true);
    body["token_type"] = json!("Bearer");
    Ok(JsonResponse(body))
}

/// Revokes a token iam issued that has not expired; anything else is answered
/// `{"revoked": false}` (RFC 7009 §2.2: invalid tokens do not cause an error).
pub async fn revoke(
    State(state): State<AppState>,
    JsonOrForm(param): JsonOrForm<TokenParam>,
) -> Result<JsonResponse<Value>, ApiError> {
    let Ok(claims) = state
        .inner
        .key
        .verify::<Claims>(&param.token, &validation(&state, true))
    else {
        return Ok(JsonResponse(json!({ "revoked": false })));
    };
    state
        .inner
        .db
        .revoke(claims.jti.clone(), claims.exp as i64, crate::now_secs())
        .await?;
    tracing::info!(jti = %claims.jti, sub = %claims.sub, "token revoked");
    Ok(JsonResponse(json!({ "revoked": true })))
}

#[derive(Serialize)]
struct Revoked {
    jti: String,
    exp: i64,
}

/// Every revoked token that has not expired yet.
pub async fn revocations(State(state): State<AppState>) -> Result<JsonResponse<Value>, ApiError> {
    let rows = state.inner.db.live_revocations(crate::now_secs()).await?;
    let revoked: Vec<Revoked> = rows.into_iter().map(|(jti, exp)| Revoked { jti, exp }).collect();
    Ok(JsonResponse(json!({ "revoked": revoked })))
}

/// The public signing keys.
pub async fn jwks(State(state): State<AppState>) -> JsonResponse<Value> {
    JsonResponse(json!({ "keys": [state.inner.key.jwk()] }))
}
