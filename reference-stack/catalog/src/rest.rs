//! The REST API (`/v1/movies`), behind the token check.

use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json as JsonResponse, Router};
use serde::Deserialize;
use stack_common::ApiError;
use stack_common::extract::{Json, Query};

use crate::model::{DEFAULT_LIMIT, ListQuery, MovieInput, parse_id};

/// The `{id}` of a movie path: a UUID, else 400 in the JSON shape (also for ids that are not
/// valid UTF-8 once percent-decoded, which axum's own rejection answers in plain text).
struct MovieId(String);

impl<S: Send + Sync> FromRequestParts<S> for MovieId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::invalid_request(format!("bad movie id: {}", e.body_text())))?;
        parse_id(&raw).map(MovieId)
    }
}
use crate::{AppState, SCOPE_READ, SCOPE_WRITE};

/// The movie routes, each requiring a valid token with the right scope.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/movies", get(list).post(create))
        .route("/v1/movies/{id}", get(fetch).put(replace).delete(remove))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), authorize))
        .with_state(state)
}

/// Reads need `movies:read`, everything else `movies:write`.
async fn authorize(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let scope = if req.method() == Method::GET || req.method() == Method::HEAD {
        SCOPE_READ
    } else {
        SCOPE_WRITE
    };
    let header = match req.headers().get(header::AUTHORIZATION) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .map_err(|_| ApiError::invalid_token("malformed Authorization header"))?,
        ),
    };
    let claims = state.verifier.authorize(header, scope).await?;
    req.extensions_mut().insert(claims);
    Ok(next.run(req).await)
}

#[derive(Deserialize)]
struct ListParams {
    limit: Option<u32>,
    cursor: Option<String>,
    genre: Option<String>,
    year: Option<i32>,
    title: Option<String>,
}

async fn list(State(state): State<AppState>, Query(params): Query<ListParams>) -> Result<Response, ApiError> {
    let query = ListQuery {
        limit: params.limit.unwrap_or(DEFAULT_LIMIT),
        cursor: params.cursor,
        genre: params.genre,
        year: params.year,
        title: params.title,
    };
    query.validate()?;
    Ok(JsonResponse(state.db.list(query).await?).into_response())
}

async fn create(State(state): State<AppState>, Json(input): Json<MovieInput>) -> Result<Response, ApiError> {
    input.validate()?;
    let (movie, event_id) = state.db.insert_with_event(input, crate::now_rfc3339()).await?;
    let location = format!("/v1/movies/{}", movie.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location), (crate::EVENT_ID_HEADER, event_id)],
        JsonResponse(movie),
    )
        .into_response())
}

async fn fetch(State(state): State<AppState>, MovieId(id): MovieId) -> Result<Response, ApiError> {
    match state.db.get(id).await? {
        Some(movie) => Ok(JsonResponse(movie).into_response()),
        None => Err(ApiError::not_found("no such movie")),
    }
}

async fn replace(
    State(state): State<AppState>,
    MovieId(id): MovieId,
    Json(input): Json<MovieInput>,
) -> Result<Response, ApiError> {
    input.validate()?;
    match state
        .db
        .update_with_event(id, input, crate::now_rfc3339())
        .await?
    {
        Some((movie, event_id)) => {
            Ok(([(crate::EVENT_ID_HEADER, event_id)], JsonResponse(movie)).into_response())
        }
        None => Err(ApiError::not_found("no such movie")),
    }
}

async fn remove(State(state): State<AppState>, MovieId(id): MovieId) -> Result<Response, ApiError> {
    match state.db.delete_with_event(id).await? {
        Some(event_id) => Ok((StatusCode::NO_CONTENT, [(crate::EVENT_ID_HEADER, event_id)]).into_response()),
        None => Err(ApiError::not_found("no such movie")),
    }
}
