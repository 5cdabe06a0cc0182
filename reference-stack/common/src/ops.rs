//! The routes every service has: `/healthz` (alive), `/readyz` (able to serve), `/metrics`
//! (Prometheus) and `/openapi.yaml` (its contract), plus the layers every service wears: the
//! JSON 404/405 fallbacks, the body-size limit and request metrics.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::metrics::{self, Metrics};

/// Whether the service can serve requests now.
pub type Readiness = Arc<dyn Fn() -> bool + Send + Sync>;

#[derive(Clone)]
struct OpsState {
    metrics: Metrics,
    ready: Readiness,
    openapi: &'static str,
}

/// Adds the common routes and layers to a service's own router.
pub fn finish(
    service_routes: Router,
    metrics: Metrics,
    ready: Readiness,
    openapi: &'static str,
    max_body_bytes: usize,
) -> Router {
    let ops = Router::new()
        .route("/healthz", get(|| async { Json(json!({ "status": "ok" })) }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
        .route("/openapi.yaml", get(openapi_yaml))
        .with_state(OpsState {
            metrics: metrics.clone(),
            ready,
            openapi,
        });
    service_routes
        .merge(ops)
        .fallback(crate::error::route_not_found)
        .method_not_allowed_fallback(crate::error::method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(metrics, metrics::track))
}

async fn readyz(State(state): State<OpsState>) -> impl IntoResponse {
    if (state.ready)() {
        (StatusCode::OK, Json(json!({ "status": "ready" })))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not_ready" })),
        )
    }
}

async fn render_metrics(State(state): State<OpsState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

async fn openapi_yaml(State(state): State<OpsState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/yaml")], state.openapi)
}

/// Serves `app` on `listener` (TCP_NODELAY on every accepted socket: without it small
/// responses wait for delayed ACKs) until `shutdown` completes; then stops accepting, lets
/// in-flight requests finish and returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
