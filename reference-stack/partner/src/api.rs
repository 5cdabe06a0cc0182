//! partner's REST API: what it processed, its counters, and (with fault injection enabled) the
//! switch that pauses consumption. Unauthenticated: it exposes no one's data but partner's own
//! processing record, and the harness polls it under load.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json as JsonResponse, Router};
use serde::{Deserialize, Serialize};
use stack_common::ApiError;
use stack_common::extract::{Json, Query};

use crate::AppState;

/// The routes; the admin one only when `fault_injection` is on (else it is a 404 like any
/// unknown path).
pub fn router(state: AppState) -> Router {
    let mut router = Router::new()
        .route("/v1/events", get(list))
        .route("/v1/events/{event_id}", get(fetch))
        .route("/v1/stats", get(stats));
    if state.inner.config.fault_injection {
        router = router.route(
            "/v1/admin/consumption",
            post(set_consumption).get(get_consumption),
        );
    }
    router.with_state(state)
}

#[derive(Deserialize)]
struct ListParams {
    limit: Option<u32>,
    cursor: Option<String>,
}

async fn list(State(state): State<AppState>, Query(params): Query<ListParams>) -> Result<Response, ApiError> {
    let limit = params.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid_request("limit must be between 1 and 1000"));
    }
    Ok(JsonResponse(state.inner.store.list(limit, params.cursor).await?).into_response())
}

async fn fetch(
    State(state): State<AppState>,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Response, ApiError> {
    // axum's own rejection (e.g. an id that is not UTF-8 once decoded) is plain text; answer
    // in the JSON error shape like every other error
    let Path(event_id) =
        path.map_err(|e| ApiError::invalid_request(format!("bad event id: {}", e.body_text())))?;
    let id = uuid::Uuid::parse_str(&event_id)
        .map_err(|_| ApiError::invalid_request(format!("event id {event_id:?} is not a UUID")))?;
    match state.inner.store.get(id.to_string()).await? {
        Some(event) => Ok(JsonResponse(event).into_response()),
        None => Err(ApiError::not_found("event not processed (yet)")),
    }
}

async fn stats(State(state): State<AppState>) -> Response {
    JsonResponse(state.stats()).into_response()
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Consumption {
    paused: bool,
}

async fn set_consumption(State(state): State<AppState>, Json(body): Json<Consumption>) -> Response {
    state.set_paused(body.paused);
    tracing::warn!(paused = body.paused, "consumption switched by fault injection");
    JsonResponse(body).into_response()
}

async fn get_consumption(State(state): State<AppState>) -> Response {
    JsonResponse(Consumption {
        paused: *state.inner.paused.borrow(),
    })
    .into_response()
}
