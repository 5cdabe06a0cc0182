//! `POST /v1/users`: self-registration.

use axum::Json as JsonResponse;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use stack_common::ApiError;
use stack_common::extract::Json;

use crate::db::{Inserted, UserRow};
use crate::{AppState, passwords};

/// Body of `POST /v1/users`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    username: String,
    password: String,
}

/// A user as the API shows it (never the password or its hash).
#[derive(Serialize)]
pub struct User {
    id: String,
    username: String,
    scopes: Vec<String>,
    created_at: String,
}

fn validate(reg: &Registration) -> Result<(), ApiError> {
    let name_ok = (3..=32).contains(&reg.username.len())
        && reg
            .username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !name_ok {
        return Err(ApiError::invalid_request(
            "username must be 3 to 32 characters of A-Z, a-z, 0-9, '_', '.', '-'",
        ));
    }
    if !(8..=128).contains(&reg.password.chars().count()) {
        return Err(ApiError::invalid_request("password must be 8 to 128 characters"));
    }
    Ok(())
}

async fn create(state: &AppState, username: String, password: String) -> Result<Option<User>, ApiError> {
    let scopes = state.inner.config.user_scopes.clone();
    let row = UserRow {
        id: uuid::Uuid::new_v4().to_string(),
        username,
        password_hash: passwords::hash(password).await?,
        scopes: scopes.join(" "),
        created_at: crate::now_rfc3339(),
    };
    let user = User {
        id: row.id.clone(),
        username: row.username.clone(),
        scopes,
        created_at: row.created_at.clone(),
    };
    match state.inner.db.insert_user(row).await? {
        Inserted::Yes => Ok(Some(user)),
        Inserted::UsernameTaken => Ok(None),
    }
}

/// Registers a user with the configured user scopes.
pub async fn register(
    State(state): State<AppState>,
    Json(reg): Json<Registration>,
) -> Result<(StatusCode, JsonResponse<User>), ApiError> {
    validate(&reg)?;
    let name = reg.username.clone();
    match create(&state, reg.username, reg.password).await? {
        Some(user) => {
            tracing::info!(user_id = %user.id, username = %user.username, "user registered");
            Ok((StatusCode::CREATED, JsonResponse(user)))
        }
        None => Err(ApiError::conflict(format!("username {name} is taken"))),
    }
}

/// Creates the configured admin on first start (kept as is on later starts).
pub async fn seed_admin(state: &AppState) -> Result<(), ApiError> {
    let admin = state.inner.config.admin.clone();
    if state
        .inner
        .db
        .user_by_name(admin.username.clone())
        .await?
        .is_none()
    {
        create(state, admin.username, admin.password).await?;
    }
    Ok(())
}
