//! iam's HTTP routes, one file per resource.

pub mod token;
pub mod tokens;
pub mod users;

use axum::Router;
use axum::routing::{get, post};

use crate::AppState;

/// iam's own routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/users", post(users::register))
        .route("/v1/token", post(token::issue))
        .route("/v1/tokens/introspect", post(tokens::introspect))
        .route("/v1/tokens/revoke", post(tokens::revoke))
        .route("/v1/revocations", get(tokens::revocations))
        .route("/.well-known/jwks.json", get(tokens::jwks))
        .with_state(state)
}
