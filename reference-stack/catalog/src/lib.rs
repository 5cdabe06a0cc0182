//! catalog, the reference stack's resource service: movies over REST (`/v1/movies`) and gRPC
//! (`catalog.v1.MovieService`) on the same port, every call checked against iam's tokens
//! (signature by JWKS, `iss`, `aud`, `exp`, revocation, scope).
//!
//! `open(config)` prepares the state, `app(state)` is the router, `serve(..)` runs it.

#![warn(missing_docs)]

pub mod config;
pub mod db;
pub mod events;
pub mod grpc;
pub mod model;
mod rest;

use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use stack_common::auth::TokenVerifier;
use stack_common::metrics::Metrics;

pub use config::CatalogConfig;

/// Code generated from `contracts/proto/catalog/v1/catalog.proto`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod proto {
    tonic::include_proto!("catalog.v1");
}

/// The compiled descriptors of `catalog.proto`, served by gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/catalog_descriptor.bin"));

/// catalog's contract, served at `/openapi.yaml`.
pub const OPENAPI: &str = include_str!("../../../contracts/openapi/catalog.yaml");

/// Response header (REST) and response metadata key (gRPC) carrying the id of the event a
/// create, update or delete produced, so a client can await it at a consumer (partner's
/// `GET /v1/events/{event_id}`).
pub const EVENT_ID_HEADER: axum::http::HeaderName = axum::http::HeaderName::from_static("event-id");

/// Scope needed to read movies.
pub const SCOPE_READ: &str = "movies:read";
/// Scope needed to change movies.
pub const SCOPE_WRITE: &str = "movies:write";

/// Shared state of all requests.
#[derive(Clone)]
pub struct AppState {
    db: db::Db,
    verifier: Arc<TokenVerifier>,
    metrics: Metrics,
    max_body_bytes: usize,
    faults: stack_common::faults::Faults,
    relay: Option<events::RelayConfig>,
    relay_stats: Arc<events::RelayStats>,
    tls: Option<stack_common::tls::TlsAcceptor>,
}

impl AppState {
    /// The database (tests inspect the outbox through it).
    pub fn db(&self) -> &db::Db {
        &self.db
    }

    /// The event relay's counters.
    pub fn relay_stats(&self) -> Arc<events::RelayStats> {
        Arc::clone(&self.relay_stats)
    }
}

/// Opens the database under `config.data_dir` and loads the `tls` files, if any.
pub fn open(config: &CatalogConfig) -> anyhow::Result<AppState> {
    let tls = config.tls.as_ref().map(|t| t.acceptor()).transpose()?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data dir {}", config.data_dir.display()))?;
    let db = db::Db::open(&config.data_dir)
        .with_context(|| format!("opening {}/catalog.db", config.data_dir.display()))?;
    let metrics = Metrics::default();
    let relay = config.relay();
    let relay_stats = Arc::new(events::RelayStats::default());
    {
        let (db, stats, enabled) = (db.clone(), Arc::clone(&relay_stats), relay.is_some());
        metrics.add_collector(Arc::new(move || events::render_metrics(&db, &stats, enabled)));
    }
    Ok(AppState {
        db,
        verifier: TokenVerifier::new(config.verifier()),
        metrics,
        max_body_bytes: config.max_body_bytes,
        faults: stack_common::faults::Faults::new(config.faults.clone()),
        relay,
        relay_stats,
        tls,
    })
}

/// The router: REST and gRPC routes plus the common ones.
pub fn app(state: AppState) -> Router {
    let grpc = proto::movie_service_server::MovieServiceServer::new(grpc::Movies::new(state.clone()));
    let mut routes = rest::router(state.clone()).route_service("/catalog.v1.MovieService/{*method}", grpc);
    // Server reflection (v1, and v1alpha for older clients such as grpcurl), public like the
    // OpenAPI document: the descriptors are compiled in, so building it only fails on a bug.
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
    };
    match (reflection().build_v1(), reflection().build_v1alpha()) {
        (Ok(v1), Ok(v1alpha)) => {
            routes = routes
                .route_service("/grpc.reflection.v1.ServerReflection/{*method}", v1)
                .route_service("/grpc.reflection.v1alpha.ServerReflection/{*method}", v1alpha);
        }
        (Err(e), _) | (_, Err(e)) => tracing::error!(error = %e, "gRPC reflection disabled"),
    }
    let db = state.db.clone();
    stack_common::ops::finish(
        routes,
        state.metrics.clone(),
        Arc::new(move || db.is_ready()),
        OPENAPI,
        state.max_body_bytes,
        state.faults.clone(),
    )
}

/// Serves catalog on `listener` (over TLS when `tls` is configured) until `shutdown`
/// completes, then drains in-flight requests.
/// Polls iam's revocation list meanwhile, and runs the event relay when `amqp_url` is set
/// (readiness never depends on the broker: writes go on during an outage, into the outbox).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let relay = state.relay.clone().map(|config| {
        let relay = events::Relay::new(state.db.clone(), config, Arc::clone(&state.relay_stats));
        tokio::spawn(relay.run(stop_rx.clone()))
    });
    let poller = state.verifier.spawn_revocation_poller(async move {
        let _ = stop_rx.wait_for(|stop| *stop).await;
    });
    let tls = state.tls.clone();
    let result = stack_common::ops::serve(listener, app(state), tls, async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    })
    .await;
    let _ = poller.await;
    if let Some(relay) = relay {
        let _ = relay.await;
    }
    result
}

/// The current time in RFC 3339 (UTC, milliseconds).
fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_millisecond(now.millisecond()).unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
