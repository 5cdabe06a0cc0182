//! Movie events through a transactional outbox.
//!
//! Every create, update and delete appends its event to the `outbox` table in the same SQLite
//! transaction as the change (see [`crate::db`]), so an event exists exactly when its change
//! committed: a rolled-back write leaves none, and a crash can lose no committed one. The
//! [`Relay`] publishes unsent rows in order to a topic exchange (routing key = event type,
//! persistent, `message_id` = event id) on a channel with publisher confirms, and marks a row
//! sent only once the broker confirmed it. If the broker goes away it reconnects with backoff
//! and starts again from the oldest unsent row. Delivery is therefore at least once (a confirm
//! lost with the connection means that row is published again); consumers deduplicate by
//! `event_id`.
//!
//! Several catalog instances may share one database; each runs a relay, but only the holder of
//! a lease row publishes (the others stand by and take over when it stops renewing), so rows
//! are published once and in order in the normal case.
//!
//! Without an `amqp_url` no relay runs and the outbox only fills (the depth shows in
//! `/metrics`); a relay started later publishes the backlog.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties, ExchangeKind};
use serde_json::json;
use tokio::sync::watch;

use crate::db::Db;
use crate::model::Movie;

pub use stack_common::event::EventType;

/// One outbox row: an event and its JSON body (contracts/events/movie-event.schema.json).
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    /// Position in the outbox: the publishing order.
    pub seq: i64,
    /// UUID, also the AMQP `message_id`.
    pub event_id: String,
    /// What happened.
    pub kind: EventType,
    /// The movie's id.
    pub movie_id: String,
    /// When the change committed, RFC 3339 UTC with microseconds.
    pub committed_at: String,
    /// The JSON body as published.
    pub payload: String,
}

impl OutboxEvent {
    /// A new event (not yet stored: `seq` is 0) with its JSON body.
    pub fn new(kind: EventType, movie_id: String, committed_at: String, movie: Option<Movie>) -> Self {
        let event_id = uuid::Uuid::new_v4().to_string();
        let mut body = json!({
            "event_id": event_id,
            "type": kind.as_str(),
            "movie_id": movie_id,
            "committed_at": committed_at,
        });
        if let Some(movie) = movie {
            body["movie"] = serde_json::to_value(movie).unwrap_or_default();
        }
        OutboxEvent {
            seq: 0,
            event_id,
            kind,
            movie_id,
            committed_at,
            payload: body.to_string(),
        }
    }
}

/// Now, RFC 3339 UTC with exactly six fractional digits (`2026-11-26T15:00:00.123456Z`):
/// consumers measure publish-to-processed latency from it, so milliseconds are too coarse.
pub fn now_micros() -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_default()
}

/// Where and how the relay publishes.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// The broker, `amqp://user:pass@host:port/vhost`.
    pub amqp_url: String,
    /// The topic exchange (declared durable if missing).
    pub exchange: String,
    /// First wait after a failure; doubled per failure up to `max_backoff`.
    pub min_backoff: Duration,
    /// Longest wait between two connection attempts.
    pub max_backoff: Duration,
    /// Safety-net poll of the outbox (rows written by another process sharing the database
    /// do not wake this one).
    pub poll_interval: Duration,
}

/// Counters of the relay, shown in `/metrics`.
#[derive(Debug, Default)]
pub struct RelayStats {
    /// Events confirmed by the broker and marked sent.
    pub published: AtomicU64,
    /// Publish attempts that failed (connection lost, nack, confirm timeout).
    pub publish_failures: AtomicU64,
    /// Connection attempts that failed.
    pub connect_failures: AtomicU64,
    /// Whether the relay holds a connection now.
    pub connected: AtomicBool,
}

/// Events published in one round trip of confirms.
const BATCH: usize = 100;
/// How long a confirm may take before the connection is treated as broken.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(10);
/// How long opening a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the publishing relay's lease lasts without renewal: a stopped instance's relay is
/// replaced after this. Much longer than a batch takes (at most CONFIRM_TIMEOUT per event).
const LEASE_TTL: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
enum RelayError {
    #[error("amqp: {0}")]
    Amqp(#[from] lapin::Error),
    #[error("connecting took longer than {0:?}")]
    ConnectTimeout(Duration),
    #[error("the broker did not confirm within {0:?}")]
    ConfirmTimeout(Duration),
    #[error("the broker refused (nack) event {0}")]
    Nacked(String),
    #[error("outbox: {0}")]
    Store(String),
}

/// Publishes the outbox; one per process with an `amqp_url`.
pub struct Relay {
    db: Db,
    config: RelayConfig,
    stats: Arc<RelayStats>,
    /// This relay's name in the lease.
    id: String,
}

impl Relay {
    /// A relay over `db`'s outbox.
    pub fn new(db: Db, config: RelayConfig, stats: Arc<RelayStats>) -> Self {
        Relay {
            db,
            config,
            stats,
            id: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// Runs until `stop` turns true: connect, publish, and on any failure wait (backoff) and
    /// connect again. Never gives up while the service runs.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut backoff = self.config.min_backoff;
        while !*stop.borrow() {
            match self.connect().await {
                Ok((connection, channel)) => {
                    tracing::info!(exchange = %self.config.exchange, "event relay connected");
                    self.stats.connected.store(true, Ordering::Relaxed);
                    backoff = self.config.min_backoff;
                    let result = self.pump(&channel, &mut stop).await;
                    self.stats.connected.store(false, Ordering::Relaxed);
                    let _ = connection.close(200, "relay stopping".into()).await;
                    match result {
                        Ok(()) => break,
                        Err(err) => {
                            self.stats.publish_failures.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(error = %err, "event relay lost the broker; reconnecting");
                        }
                    }
                }
                Err(err) => {
                    self.stats.connect_failures.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %err, retry_in_ms = backoff.as_millis() as u64, "event relay cannot reach the broker");
                }
            }
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                _ = stop.wait_for(|s| *s) => break,
            }
            backoff = (backoff * 2).min(self.config.max_backoff);
        }
        // let another instance's relay take over at once rather than after the lease expires
        let _ = self.db.relay_release(self.id.clone()).await;
    }

    async fn connect(&self) -> Result<(Connection, lapin::Channel), RelayError> {
        let open = async {
            let connection =
                Connection::connect(&self.config.amqp_url, ConnectionProperties::default()).await?;
            let channel = connection.create_channel().await?;
            channel.confirm_select(ConfirmSelectOptions::default()).await?;
            channel
                .exchange_declare(
                    self.config.exchange.as_str().into(),
                    ExchangeKind::Topic,
                    ExchangeDeclareOptions {
                        durable: true,
                        ..ExchangeDeclareOptions::default()
                    },
                    FieldTable::default(),
                )
                .await?;
            Ok::<_, RelayError>((connection, channel))
        };
        tokio::time::timeout(CONNECT_TIMEOUT, open)
            .await
            .map_err(|_| RelayError::ConnectTimeout(CONNECT_TIMEOUT))?
    }

    /// Publishes batches until the outbox is empty, then waits for a write; `Ok` only when
    /// stopped.
    async fn pump(
        &self,
        channel: &lapin::Channel,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<(), RelayError> {
        let written = self.db.outbox_notify();
        // when the lease was last taken or renewed: renewing costs a durable write, so it is
        // renewed once a third of its lifetime has passed, not before every batch
        let mut renewed: Option<std::time::Instant> = None;
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            if renewed.is_none_or(|at| at.elapsed() > LEASE_TTL / 3) {
                let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
                let leader = self
                    .db
                    .relay_lease(self.id.clone(), now_ms, LEASE_TTL.as_millis() as i64)
                    .await
                    .map_err(|e| RelayError::Store(e.message))?;
                renewed = leader.then(std::time::Instant::now);
            }
            if renewed.is_none() {
                // another instance's relay publishes; check again after a poll interval
                tokio::select! {
                    () = tokio::time::sleep(self.config.poll_interval) => {}
                    _ = stop.wait_for(|s| *s) => return Ok(()),
                }
                continue;
            }
            let batch = self
                .db
                .unsent_events(BATCH)
                .await
                .map_err(|e| RelayError::Store(e.message))?;
            if batch.is_empty() {
                tokio::select! {
                    () = written.notified() => {}
                    () = tokio::time::sleep(self.config.poll_interval) => {}
                    _ = stop.wait_for(|s| *s) => return Ok(()),
                }
                continue;
            }
            // Publish the whole batch, then collect its confirms in order: one round trip per
            // batch instead of per event, and rows are marked sent strictly in outbox order.
            let mut pending = Vec::with_capacity(batch.len());
            let mut failure = None;
            for event in &batch {
                let properties = BasicProperties::default()
                    .with_delivery_mode(2)
                    .with_message_id(event.event_id.as_str().into())
                    .with_content_type("application/json".into());
                match channel
                    .basic_publish(
                        self.config.exchange.as_str().into(),
                        event.kind.as_str().into(),
                        BasicPublishOptions::default(),
                        event.payload.as_bytes(),
                        properties,
                    )
                    .await
                {
                    Ok(confirm) => pending.push((event, confirm)),
                    Err(err) => {
                        failure = Some(RelayError::Amqp(err));
                        break;
                    }
                }
            }
            let mut sent = Vec::with_capacity(pending.len());
            for (event, confirm) in pending {
                if failure.is_some() {
                    break;
                }
                match tokio::time::timeout(CONFIRM_TIMEOUT, confirm).await {
                    Ok(Ok(confirmation)) if confirmation.is_ack() => sent.push(event.seq),
                    Ok(Ok(_)) => failure = Some(RelayError::Nacked(event.event_id.clone())),
                    Ok(Err(err)) => failure = Some(RelayError::Amqp(err)),
                    Err(_) => failure = Some(RelayError::ConfirmTimeout(CONFIRM_TIMEOUT)),
                }
            }
            if !sent.is_empty() {
                let n = sent.len() as u64;
                self.db
                    .mark_sent(sent, now_micros())
                    .await
                    .map_err(|e| RelayError::Store(e.message))?;
                self.stats.published.fetch_add(n, Ordering::Relaxed);
            }
            if let Some(err) = failure {
                return Err(err);
            }
        }
    }
}

/// The outbox and relay families of `/metrics`.
pub fn render_metrics(db: &Db, stats: &RelayStats, relay_enabled: bool) -> String {
    let mut out = String::new();
    if let Some((unsent, total)) = db.outbox_counts() {
        out.push_str("# HELP catalog_outbox_depth Events committed but not yet confirmed by the broker.\n");
        out.push_str("# TYPE catalog_outbox_depth gauge\n");
        out.push_str(&format!("catalog_outbox_depth {unsent}\n"));
        out.push_str("# HELP catalog_outbox_events_total Events ever written to the outbox.\n");
        out.push_str("# TYPE catalog_outbox_events_total counter\n");
        out.push_str(&format!("catalog_outbox_events_total {total}\n"));
    }
    let counters = [
        (
            "catalog_events_published_total",
            "Events confirmed by the broker (this process).",
            &stats.published,
        ),
        (
            "catalog_events_publish_failures_total",
            "Publish rounds that failed and were retried (this process).",
            &stats.publish_failures,
        ),
        (
            "catalog_events_connect_failures_total",
            "Failed connection attempts to the broker (this process).",
            &stats.connect_failures,
        ),
    ];
    for (name, help, value) in counters {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
            value.load(Ordering::Relaxed)
        ));
    }
    out.push_str("# HELP catalog_events_relay_connected 1 while the relay holds a broker connection; 0 also when no relay runs.\n");
    out.push_str("# TYPE catalog_events_relay_connected gauge\n");
    let connected = relay_enabled && stats.connected.load(Ordering::Relaxed);
    out.push_str(&format!(
        "catalog_events_relay_connected {}\n",
        u8::from(connected)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_at_has_microseconds_and_z() {
        let t = now_micros();
        let parsed = time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339);
        assert!(parsed.is_ok(), "{t}");
        let fraction = t.split('.').nth(1).unwrap_or_default();
        assert_eq!(fraction.len(), 7, "{t}"); // six digits and the Z
        assert!(t.ends_with('Z'));
    }

    #[test]
    fn event_body_has_the_documented_fields() {
        let e = OutboxEvent::new(
            EventType::Deleted,
            "m1".into(),
            "2026-11-26T15:00:00.123456Z".into(),
            None,
        );
        let v: serde_json::Value = serde_json::from_str(&e.payload).unwrap();
        assert_eq!(v["event_id"], e.event_id.as_str());
        assert_eq!(v["type"], "movie.deleted");
        assert_eq!(v["movie_id"], "m1");
        assert_eq!(v["committed_at"], "2026-11-26T15:00:00.123456Z");
        assert!(v.get("movie").is_none());
    }
}
