//! The event consumer: partner's durable queue bound to catalog's exchange, manual acks, a
//! prefetch window, and a dead-letter exchange for poison messages.
//!
//! Per delivery: a body that is not a valid event (unparseable JSON, an unknown type) is
//! nacked without requeue, so the broker moves it to the dead-letter queue and the messages
//! behind it go on; an event already recorded (a redelivery, or the same event published
//! twice) is acked and counted as a duplicate; anything else is processed (for
//! `movie.created`, the movie is fetched), recorded, and only then acked. Recording before
//! acking makes processing effectively once per event id: a crash between the two leads to a
//! redelivery that is found recorded.
//!
//! On a broker outage the connection is opened again with backoff; unacked deliveries go back
//! to the queue on the broker's side.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions, ExchangeDeclareOptions,
    QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Connection, ConnectionProperties, ExchangeKind};
use serde::Serialize;
use tokio::sync::watch;
use tokio_stream::StreamExt;

use crate::event::{EventType, MovieEvent};
use crate::store::ProcessedEvent;

/// Counters shown by `GET /v1/stats` (since the process started).
#[derive(Debug, Default)]
pub struct Stats {
    /// Deliveries taken from the queue.
    pub received: AtomicU64,
    /// Events processed and recorded (each event id once).
    pub processed: AtomicU64,
    /// Deliveries of events already recorded, acked without processing.
    pub duplicates: AtomicU64,
    /// Poison messages rejected to the dead-letter queue.
    pub dead_lettered: AtomicU64,
    /// `movie.created` events whose movie fetch did not return 200.
    pub fetch_failures: AtomicU64,
    /// Whether the consumer holds a broker connection now.
    pub connected: AtomicBool,
}

/// `GET /v1/stats`.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct StatsView {
    /// Deliveries taken from the queue.
    pub received: u64,
    /// Events processed (each event id once).
    pub processed: u64,
    /// Duplicate deliveries acked without processing.
    pub duplicates: u64,
    /// Poison messages sent to the dead-letter queue.
    pub dead_lettered: u64,
    /// Movie fetches that did not return 200.
    pub fetch_failures: u64,
    /// Whether the consumer is connected to the broker.
    pub consumer_connected: bool,
    /// Whether consumption is paused by fault injection.
    pub consumption_paused: bool,
}

impl Stats {
    /// A snapshot.
    pub fn view(&self, paused: bool) -> StatsView {
        StatsView {
            received: self.received.load(Ordering::Relaxed),
            processed: self.processed.load(Ordering::Relaxed),
            duplicates: self.duplicates.load(Ordering::Relaxed),
            dead_lettered: self.dead_lettered.load(Ordering::Relaxed),
            fetch_failures: self.fetch_failures.load(Ordering::Relaxed),
            consumer_connected: self.connected.load(Ordering::Relaxed),
            consumption_paused: paused,
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum ConsumeError {
    #[error("amqp: {0}")]
    Amqp(#[from] lapin::Error),
    #[error("connecting took longer than {0:?}")]
    ConnectTimeout(Duration),
    #[error("the broker ended the consumer")]
    Ended,
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs until `stop` turns true.
pub async fn run(state: crate::AppState, mut stop: watch::Receiver<bool>) {
    let min_backoff = Duration::from_millis(100);
    let max_backoff = Duration::from_millis(state.inner.config.reconnect_max_ms).max(min_backoff);
    let mut backoff = min_backoff;
    while !*stop.borrow() {
        match connect(&state).await {
            Ok((connection, consumer)) => {
                tracing::info!(queue = %state.inner.config.queue, "partner consuming");
                state.inner.stats.connected.store(true, Ordering::Relaxed);
                backoff = min_backoff;
                let result = consume(&state, consumer, &mut stop).await;
                state.inner.stats.connected.store(false, Ordering::Relaxed);
                let _ = connection.close(200, "partner stopping".into()).await;
                match result {
                    Ok(()) => break,
                    Err(err) => tracing::warn!(error = %err, "partner lost the broker; reconnecting"),
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, retry_in_ms = backoff.as_millis() as u64, "partner cannot reach the broker")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
        backoff = (backoff * 2).min(max_backoff);
    }
}

async fn connect(state: &crate::AppState) -> Result<(Connection, lapin::Consumer), ConsumeError> {
    let c = &state.inner.config;
    let open = async {
        let connection = Connection::connect(&c.amqp_url, ConnectionProperties::default()).await?;
        let channel = connection.create_channel().await?;
        declare_topology(&channel, c).await?;
        channel.basic_qos(c.prefetch, BasicQosOptions::default()).await?;
        let consumer = channel
            .basic_consume(
                c.queue.as_str().into(),
                "partner".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        Ok::<_, ConsumeError>((connection, consumer))
    };
    tokio::time::timeout(CONNECT_TIMEOUT, open)
        .await
        .map_err(|_| ConsumeError::ConnectTimeout(CONNECT_TIMEOUT))?
}

/// Declares partner's side of the broker: catalog's topic exchange, the dead-letter exchange
/// and queue, and partner's durable queue bound to the exchange for every routing key. What
/// `run` does on every connect; public so whoever starts partner can bind its queue before
/// catalog publishes anything (a topic exchange drops what no queue is bound for). Idempotent.
pub async fn declare_topology(
    channel: &lapin::Channel,
    c: &crate::PartnerConfig,
) -> Result<(), lapin::Error> {
    let durable_exchange = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    let durable_queue = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .exchange_declare(
            c.events_exchange.as_str().into(),
            ExchangeKind::Topic,
            durable_exchange,
            FieldTable::default(),
        )
        .await?;
    channel
        .exchange_declare(
            c.dead_letter_exchange.as_str().into(),
            ExchangeKind::Fanout,
            durable_exchange,
            FieldTable::default(),
        )
        .await?;
    let expiring = |mut arguments: FieldTable| {
        if c.queue_expires_ms > 0 {
            let ms = i64::try_from(c.queue_expires_ms).unwrap_or(i64::MAX);
            arguments.insert("x-expires".into(), AMQPValue::LongLongInt(ms));
        }
        arguments
    };
    channel
        .queue_declare(
            c.dead_letter_queue.as_str().into(),
            durable_queue,
            expiring(FieldTable::default()),
        )
        .await?;
    channel
        .queue_bind(
            c.dead_letter_queue.as_str().into(),
            c.dead_letter_exchange.as_str().into(),
            "".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-dead-letter-exchange".into(),
        AMQPValue::LongString(c.dead_letter_exchange.as_str().into()),
    );
    channel
        .queue_declare(c.queue.as_str().into(), durable_queue, expiring(arguments))
        .await?;
    // every routing key: an unknown type must reach partner to be dead-lettered, not be
    // dropped silently by the exchange
    channel
        .queue_bind(
            c.queue.as_str().into(),
            c.events_exchange.as_str().into(),
            "#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok(())
}

/// Deletes what [`declare_topology`] declared (both queues with their messages, both
/// exchanges): for stacks that use uniquely named ones on a shared broker, when they stop.
pub async fn delete_topology(channel: &lapin::Channel, c: &crate::PartnerConfig) -> Result<(), lapin::Error> {
    use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
    for queue in [&c.queue, &c.dead_letter_queue] {
        channel
            .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
            .await?;
    }
    for exchange in [&c.events_exchange, &c.dead_letter_exchange] {
        channel
            .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
            .await?;
    }
    Ok(())
}

/// Handles deliveries one at a time until the connection fails (`Err`) or `stop` (`Ok`).
async fn consume(
    state: &crate::AppState,
    mut consumer: lapin::Consumer,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), ConsumeError> {
    let mut paused = state.inner.paused.subscribe();
    loop {
        // Paused (fault injection): take nothing more; what the broker already pushed waits
        // unacked in the prefetch window, the rest stays in the queue.
        tokio::select! {
            _ = paused.wait_for(|p| !*p) => {}
            _ = stop.wait_for(|s| *s) => return Ok(()),
        }
        let next = tokio::select! {
            next = consumer.next() => next,
            _ = stop.wait_for(|s| *s) => return Ok(()),
            _ = paused.wait_for(|p| *p) => continue,
        };
        match next {
            None => return Err(ConsumeError::Ended),
            Some(Err(err)) => return Err(err.into()),
            Some(Ok(delivery)) => handle(state, delivery).await?,
        }
    }
}

async fn handle(state: &crate::AppState, delivery: Delivery) -> Result<(), ConsumeError> {
    let inner = &state.inner;
    inner.stats.received.fetch_add(1, Ordering::Relaxed);
    let event = match MovieEvent::from_slice(&delivery.data) {
        Ok(event) => event,
        Err(reason) => {
            tracing::warn!(reason = %reason, routing_key = %delivery.routing_key, "poison message to the dead-letter queue");
            delivery
                .nack(BasicNackOptions {
                    requeue: false,
                    multiple: false,
                })
                .await?;
            inner.stats.dead_lettered.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
    };
    match inner.store.contains(event.event_id.clone()).await {
        Ok(true) => {
            delivery.ack(BasicAckOptions::default()).await?;
            inner.stats.duplicates.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        Ok(false) => {}
        Err(err) => return requeue(delivery, &err.message).await,
    }
    let fetch = if event.kind == EventType::Created {
        let outcome = crate::token::fetch_movie(
            &inner.http,
            &inner.tokens,
            &inner.config.catalog_url,
            &event.movie_id,
            Duration::from_millis(inner.config.fetch_timeout_ms),
        )
        .await;
        if !outcome.ok() {
            inner.stats.fetch_failures.fetch_add(1, Ordering::Relaxed);
            if outcome.status == Some(404) {
                // Deleted before its created event got here: normal when writes come fast
                // (the demo's gRPC users create and delete at once), so not a warning.
                tracing::info!(event_id = %event.event_id, "movie gone before its created event was processed");
            } else {
                tracing::warn!(event_id = %event.event_id, status = ?outcome.status, error = ?outcome.error, "movie fetch failed");
            }
        }
        Some(outcome)
    } else {
        None
    };
    let processed = time::OffsetDateTime::now_utc();
    let latency_ms = (processed - event.committed).as_seconds_f64() * 1000.0;
    let record = ProcessedEvent {
        event_id: event.event_id.clone(),
        kind: event.kind.as_str().to_string(),
        movie_id: event.movie_id.clone(),
        committed_at: event.committed_at.clone(),
        processed_at: crate::rfc3339_micros(processed),
        latency_ms,
        fetch_status: fetch.as_ref().and_then(|f| f.status),
        fetch_error: fetch.and_then(|f| f.error),
    };
    match inner.store.record(record).await {
        Ok(true) => {
            inner.stats.processed.fetch_add(1, Ordering::Relaxed);
            inner
                .latencies
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .observe(latency_ms / 1000.0);
        }
        Ok(false) => {
            inner.stats.duplicates.fetch_add(1, Ordering::Relaxed);
        }
        Err(err) => return requeue(delivery, &err.message).await,
    }
    delivery.ack(BasicAckOptions::default()).await?;
    Ok(())
}

/// partner's own store failed: give the message back to the queue and slow down, rather than
/// ack something not recorded.
async fn requeue(delivery: Delivery, why: &str) -> Result<(), ConsumeError> {
    tracing::error!(error = %why, "cannot record the event; requeueing it");
    delivery
        .nack(BasicNackOptions {
            requeue: true,
            multiple: false,
        })
        .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(())
}
