//! iam, the reference stack's identity and access management service: registers users,
//! authenticates users (password grant) and third-party clients (client-credentials grant),
//! issues Ed25519-signed JWT access tokens, publishes its keys as a JWKS, and revokes tokens.
//!
//! `open(config)` prepares the state (database, signing key, seeded admin and clients),
//! `app(state)` is the router, `serve(listener, state, shutdown)` runs it.

#![warn(missing_docs)]

pub mod config;
pub mod db;
pub mod keys;
mod passwords;
mod routes;

use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use stack_common::metrics::Metrics;

pub use config::IamConfig;

/// iam's contract, served at `/openapi.yaml`.
pub const OPENAPI: &str = include_str!("../../../contracts/openapi/iam.yaml");

/// Shared state of all requests.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: IamConfig,
    db: db::Db,
    key: keys::SigningKey,
    metrics: Metrics,
    tls: Option<stack_common::tls::TlsAcceptor>,
}

/// Opens the database and the signing key under `config.data_dir`, loads the `tls` files if
/// any, and seeds the admin user and the configured clients.
pub async fn open(config: IamConfig) -> anyhow::Result<AppState> {
    let tls = config.tls.as_ref().map(|t| t.acceptor()).transpose()?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data dir {}", config.data_dir.display()))?;
    let db = db::Db::open(&config.data_dir)
        .with_context(|| format!("opening {}/iam.db", config.data_dir.display()))?;
    let key = keys::SigningKey::load_or_generate(&config.data_dir)?;
    let state = AppState {
        inner: Arc::new(Inner {
            config,
            db,
            key,
            metrics: Metrics::default(),
            tls,
        }),
    };
    routes::users::seed_admin(&state)
        .await
        .map_err(|e| anyhow::anyhow!("seeding admin: {e}"))?;
    for client in &state.inner.config.clients {
        let secret_hash = passwords::hash(client.client_secret.clone())
            .await
            .map_err(|e| anyhow::anyhow!("hashing secret of {}: {e}", client.client_id))?;
        let row = db::ClientRow {
            secret_hash,
            scopes: client.scopes.join(" "),
        };
        state
            .inner
            .db
            .upsert_client(client.client_id.clone(), row)
            .await
            .map_err(|e| anyhow::anyhow!("seeding client {}: {e}", client.client_id))?;
    }
    Ok(state)
}

/// The router: iam's routes plus the common ones (health, readiness, metrics, contract).
pub fn app(state: AppState) -> Router {
    let db = state.inner.db.clone();
    let metrics = state.inner.metrics.clone();
    let max_body = state.inner.config.max_body_bytes;
    let state_faults = state.inner.config.faults.clone();
    stack_common::ops::finish(
        routes::router(state),
        metrics,
        Arc::new(move || db.is_ready()),
        OPENAPI,
        max_body,
        stack_common::faults::Faults::new(state_faults),
    )
}

/// Serves iam on `listener` (over TLS when `tls` is configured) until `shutdown` completes,
/// then drains in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let tls = state.inner.tls.clone();
    stack_common::ops::serve(listener, app(state), tls, shutdown).await
}

/// Seconds since the Unix epoch.
fn now_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The current time in RFC 3339 (UTC, milliseconds).
fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_millisecond(now.millisecond()).unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
