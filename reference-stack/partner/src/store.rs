//! partner's SQLite store: one row per processed event, keyed by `event_id` — the idempotency
//! record. A row is written before the message is acknowledged, so a redelivery after a crash
//! or a lost ack finds it and is acknowledged without being processed again.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;
use stack_common::ApiError;
use stack_common::sqlite::SharedConnection;

/// One processed event, as `GET /v1/events/{event_id}` shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProcessedEvent {
    /// The event's id.
    pub event_id: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The movie's id.
    pub movie_id: String,
    /// When catalog committed the change.
    pub committed_at: String,
    /// When partner finished processing it (RFC 3339, microseconds).
    pub processed_at: String,
    /// `processed_at - committed_at`, milliseconds: the publish-to-processed latency.
    pub latency_ms: f64,
    /// Status of the movie fetch (`movie.created` only; absent when no response came).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetch_status: Option<u16>,
    /// Why the fetch failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetch_error: Option<String>,
}

/// One page of processed events.
#[derive(Debug, Clone, Serialize)]
pub struct EventPage {
    /// In processing order.
    pub items: Vec<ProcessedEvent>,
    /// Where the next page starts, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Handle to the store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    conn: SharedConnection,
}

const COLUMNS: &str =
    "event_id, type, movie_id, committed_at, processed_at, latency_ms, fetch_status, fetch_error";

fn from_row(r: &Row<'_>) -> rusqlite::Result<ProcessedEvent> {
    Ok(ProcessedEvent {
        event_id: r.get(0)?,
        kind: r.get(1)?,
        movie_id: r.get(2)?,
        committed_at: r.get(3)?,
        processed_at: r.get(4)?,
        latency_ms: r.get(5)?,
        fetch_status: r.get(6)?,
        fetch_error: r.get(7)?,
    })
}

impl Store {
    /// Opens (creating if needed) `partner.db` in `dir`.
    pub fn open(dir: &Path) -> rusqlite::Result<Store> {
        // synchronous = FULL (sqlite::open, via open_with_schema): the idempotency row must be durable before the
        // ack that it licenses.
        let conn = SharedConnection::open_with_schema(
            &dir.join("partner.db"),
            "CREATE TABLE IF NOT EXISTS events (
                event_id TEXT PRIMARY KEY,
                type TEXT NOT NULL,
                movie_id TEXT NOT NULL,
                committed_at TEXT NOT NULL,
                processed_at TEXT NOT NULL,
                latency_ms REAL NOT NULL,
                fetch_status INTEGER,
                fetch_error TEXT);",
        )?;
        Ok(Store { conn })
    }

    /// Whether the database answers.
    pub fn is_ready(&self) -> bool {
        self.conn.is_ready()
    }

    /// Whether this event was processed already.
    pub async fn contains(&self, event_id: String) -> Result<bool, ApiError> {
        self.conn
            .call(move |c| {
                c.query_row("SELECT 1 FROM events WHERE event_id = ?1", [event_id], |_| Ok(()))
                    .optional()
                    .map(|r| r.is_some())
            })
            .await
    }

    /// Records a processed event; `false` when it was recorded already (a duplicate that
    /// raced past [`Store::contains`]).
    pub async fn record(&self, event: ProcessedEvent) -> Result<bool, ApiError> {
        self.conn
            .call(move |c| {
                c.execute(
                    &format!(
                        "INSERT OR IGNORE INTO events ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                    ),
                    params![
                        event.event_id,
                        event.kind,
                        event.movie_id,
                        event.committed_at,
                        event.processed_at,
                        event.latency_ms,
                        event.fetch_status,
                        event.fetch_error
                    ],
                )
                .map(|n| n == 1)
            })
            .await
    }

    /// The processed event with this id.
    pub async fn get(&self, event_id: String) -> Result<Option<ProcessedEvent>, ApiError> {
        self.conn
            .call(move |c| {
                c.query_row(
                    &format!("SELECT {COLUMNS} FROM events WHERE event_id = ?1"),
                    [event_id],
                    from_row,
                )
                .optional()
            })
            .await
    }

    /// One page of processed events in processing order, after `cursor`.
    pub async fn list(&self, limit: u32, cursor: Option<String>) -> Result<EventPage, ApiError> {
        let after = match cursor {
            None => 0,
            Some(c) => URL_SAFE_NO_PAD
                .decode(&c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| s.parse::<i64>().ok())
                .ok_or_else(|| ApiError::invalid_request("cursor is not one this service issued"))?,
        };
        self.conn
            .call(move |c| {
                let mut stmt = c.prepare_cached(&format!(
                    "SELECT {COLUMNS}, rowid FROM events WHERE rowid > ?1 ORDER BY rowid LIMIT ?2"
                ))?;
                let rows = stmt
                    .query_map(params![after, i64::from(limit) + 1], |r| {
                        Ok((from_row(r)?, r.get::<_, i64>(8)?))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                let more = rows.len() > limit as usize;
                let mut last = None;
                let items = rows
                    .into_iter()
                    .take(limit as usize)
                    .map(|(e, rowid)| {
                        last = Some(rowid);
                        e
                    })
                    .collect();
                let next_cursor = if more {
                    last.map(|l| URL_SAFE_NO_PAD.encode(l.to_string()))
                } else {
                    None
                };
                Ok(EventPage { items, next_cursor })
            })
            .await
    }
}
