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
    faults: crate::faults::Faults,
) -> Router {
    // Faults wrap the service's own routes only (health and metrics stay honest).
    let service_routes = if faults.is_empty() {
        service_routes
    } else {
        service_routes.route_layer(axum::middleware::from_fn_with_state(
            faults,
            crate::faults::inject,
        ))
    };
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
/// in-flight requests finish and returns. With `tls` (see [`crate::tls::ServerTls`]) every
/// connection is a TLS handshake first (HTTP/1.1 or HTTP/2 by ALPN); one that fails or takes
/// longer than [`crate::tls::HANDSHAKE_TIMEOUT`] is dropped and logged at debug level.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    tls: Option<crate::tls::TlsAcceptor>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Some(acceptor) = tls {
        return crate::tls::serve(listener, app, acceptor, shutdown).await;
    }
    // Plain TCP stays on axum::serve: the gateway benchmark measures through it.
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn get(app: Router, path: &str) -> (StatusCode, serde_json::Value) {
        let response = app
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
        )
    }

    /// The documented 503 of `/readyz`, which a healthy service never shows from outside.
    #[tokio::test]
    async fn readyz_is_503_not_ready_while_the_service_cannot_serve() {
        let app = |ready: bool| {
            finish(
                Router::new(),
                Metrics::default(),
                Arc::new(move || ready),
                "",
                1024,
                Default::default(),
            )
        };
        assert_eq!(
            get(app(true), "/readyz").await,
            (StatusCode::OK, json!({ "status": "ready" }))
        );
        assert_eq!(
            get(app(false), "/readyz").await,
            (StatusCode::SERVICE_UNAVAILABLE, json!({ "status": "not_ready" }))
        );
        assert_eq!(
            get(app(false), "/healthz").await,
            (StatusCode::OK, json!({ "status": "ok" }))
        );
    }
}
