//! partner, the reference stack's third-party app: a client registered in iam that consumes
//! catalog's movie events from RabbitMQ (its own durable queue, manual acks, a dead-letter
//! queue for poison messages, idempotent by event id), fetches each created movie through the
//! gateway (HTTPS when it terminates TLS, trusting `catalog_ca`) with a client-credentials token,
//! and records what it processed with the time it finished. Its REST API shows the record
//! (`/v1/events`, `/v1/stats`) so a load test can measure publish-to-processed latency.
//!
//! `open(config)` prepares the state, `app(state)` is the router, `serve(..)` runs it and the
//! consumer.

#![warn(missing_docs)]

mod api;
pub mod client;
pub mod config;
pub mod consumer;
pub mod event;
pub mod store;
pub mod token;

use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use stack_common::metrics::{Histogram, Metrics};
use tokio::sync::watch;

pub use config::PartnerConfig;
pub use consumer::StatsView;
pub use store::{EventPage, ProcessedEvent};

/// partner's contract, served at `/openapi.yaml`.
pub const OPENAPI: &str = include_str!("../../../contracts/openapi/partner.yaml");

/// Shared state of the API and the consumer; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: PartnerConfig,
    store: store::Store,
    stats: consumer::Stats,
    /// Whether consumption is paused (fault injection).
    paused: watch::Sender<bool>,
    http: client::HttpClient,
    tokens: token::TokenSource,
    metrics: Metrics,
    latencies: Mutex<Histogram<{ LATENCY_BUCKETS.len() }>>,
}

impl AppState {
    /// The consumer's counters now.
    pub fn stats(&self) -> StatsView {
        self.inner.stats.view(*self.inner.paused.borrow())
    }

    /// Pauses or resumes consumption (what the admin endpoint does).
    pub fn set_paused(&self, paused: bool) {
        self.inner.paused.send_replace(paused);
    }
}

/// Opens the store under `config.data_dir` and prepares the HTTP client (with `catalog_ca` and
/// `catalog_server_name`); checks the config first.
pub fn open(config: PartnerConfig) -> anyhow::Result<AppState> {
    let tls = config.checked_tls().map_err(|e| anyhow::anyhow!("config: {e}"))?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data dir {}", config.data_dir.display()))?;
    let store = store::Store::open(&config.data_dir)
        .with_context(|| format!("opening {}/partner.db", config.data_dir.display()))?;
    let http = client::HttpClient::new(tls);
    let tokens = token::TokenSource::new(
        http.clone(),
        &config.iam_url,
        config.client_id.clone(),
        config.client_secret.clone(),
        config.scope.clone(),
        Duration::from_secs(config.token_renew_before_secs),
    );
    let (paused, _) = watch::channel(config.consumption_paused);
    let state = AppState {
        inner: Arc::new(Inner {
            store,
            stats: consumer::Stats::default(),
            paused,
            http,
            tokens,
            metrics: Metrics::default(),
            latencies: Mutex::new(Histogram::new(&LATENCY_BUCKETS)),
            config,
        }),
    };
    let weak = Arc::downgrade(&state.inner);
    state.inner.metrics.add_collector(Arc::new(move || {
        weak.upgrade()
            .map(|inner| render_metrics(&inner))
            .unwrap_or_default()
    }));
    Ok(state)
}

/// The router: partner's routes plus the common ones (health, readiness, metrics, contract).
/// Readiness is the store's: like catalog, partner stays up while the broker is away.
pub fn app(state: AppState) -> Router {
    let store = state.inner.store.clone();
    let metrics = state.inner.metrics.clone();
    let max_body = state.inner.config.max_body_bytes;
    let faults = if state.inner.config.fault_injection {
        stack_common::faults::Faults::new(state.inner.config.faults.clone())
    } else {
        stack_common::faults::Faults::default()
    };
    stack_common::ops::finish(
        api::router(state),
        metrics,
        Arc::new(move || store.is_ready()),
        OPENAPI,
        max_body,
        faults,
    )
}

/// Serves partner on `listener` and runs the consumer until `shutdown` completes; then stops
/// consuming and drains in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let consumer = tokio::spawn(consumer::run(state.clone(), stop_rx));
    let result = stack_common::ops::serve(listener, app(state), None, async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    })
    .await;
    let _ = consumer.await;
    result
}

/// RFC 3339 UTC with six fractional digits, like catalog's `committed_at`.
fn rfc3339_micros(t: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

/// Upper bounds (seconds) of the event-latency buckets: events take longer than requests.
const LATENCY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

fn render_metrics(inner: &Inner) -> String {
    let s = inner.stats.view(*inner.paused.borrow());
    let mut out = String::new();
    for (name, help, value) in [
        (
            "partner_events_received_total",
            "Deliveries taken from the queue.",
            s.received,
        ),
        (
            "partner_events_processed_total",
            "Events processed, each event id once.",
            s.processed,
        ),
        (
            "partner_events_duplicates_total",
            "Duplicate deliveries acked without processing.",
            s.duplicates,
        ),
        (
            "partner_events_dead_lettered_total",
            "Poison messages sent to the dead-letter queue.",
            s.dead_lettered,
        ),
        (
            "partner_fetch_failures_total",
            "Movie fetches that did not return 200.",
            s.fetch_failures,
        ),
    ] {
        let _ = write!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n"
        );
    }
    let _ = write!(
        out,
        "# HELP partner_consumer_connected 1 while the consumer holds a broker connection.\n# TYPE partner_consumer_connected gauge\npartner_consumer_connected {}\n",
        u8::from(s.consumer_connected)
    );
    let h = inner.latencies.lock().unwrap_or_else(|p| p.into_inner());
    out.push_str("# HELP partner_event_latency_seconds From catalog's commit to partner's record.\n");
    out.push_str("# TYPE partner_event_latency_seconds histogram\n");
    h.render(&mut out, "partner_event_latency_seconds", "");
    out
}
