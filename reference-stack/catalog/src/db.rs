//! catalog's SQLite store: WAL mode, one writer connection and a few readers (WAL lets reads
//! run beside the write), each used from a blocking thread. `synchronous = FULL`: a write is
//! acknowledged only once it is durable.
//!
//! Every change to a movie also appends its event to the `outbox` table in the same
//! transaction (see [`crate::events`]): the event exists exactly when the change committed.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rusqlite::Connection;
use stack_common::ApiError;
use stack_common::sqlite::{self, SharedConnection};

mod movies;
mod outbox;

const READERS: usize = 4;

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Db {
    writer: SharedConnection,
    readers: Arc<Vec<SharedConnection>>,
    next_reader: Arc<AtomicUsize>,
    /// Woken after every commit that appended an event, so the relay publishes at once
    /// instead of at its next poll.
    outbox_written: Arc<tokio::sync::Notify>,
}

impl Db {
    /// Opens (creating if needed) `catalog.db` in `dir`.
    pub fn open(dir: &Path) -> rusqlite::Result<Db> {
        let path = dir.join("catalog.db");
        let writer = sqlite::open(&path)?;
        writer.execute_batch(
            "CREATE TABLE IF NOT EXISTS movies (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                id TEXT NOT NULL UNIQUE,
                title TEXT NOT NULL,
                -- the title in Unicode lower case, for the case-insensitive filter (SQLite's
                -- lower() folds ASCII only)
                title_folded TEXT NOT NULL,
                year INTEGER NOT NULL,
                genres TEXT NOT NULL,
                rating REAL,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS movies_year ON movies(year);
             -- the transactional outbox: one row per committed change, published in seq
             -- order by the relay, which sets sent_at once the broker confirmed it
             CREATE TABLE IF NOT EXISTS outbox (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                event_id TEXT NOT NULL UNIQUE,
                type TEXT NOT NULL,
                movie_id TEXT NOT NULL,
                committed_at TEXT NOT NULL,
                payload TEXT NOT NULL,
                sent_at TEXT);
             CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox(seq) WHERE sent_at IS NULL;
             -- which relay may publish: catalog instances sharing this file elect one, so
             -- rows are not published twice and keep their order
             CREATE TABLE IF NOT EXISTS outbox_relay (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                holder TEXT NOT NULL,
                expires_at_ms INTEGER NOT NULL);",
        )?;
        let readers = (0..READERS)
            .map(|_| sqlite::open(&path).map(SharedConnection::new))
            .collect::<Result<_, _>>()?;
        Ok(Db {
            writer: SharedConnection::new(writer),
            readers: Arc::new(readers),
            next_reader: Arc::new(AtomicUsize::new(0)),
            outbox_written: Arc::new(tokio::sync::Notify::new()),
        })
    }

    async fn write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<R> + Send + 'static,
    ) -> Result<R, ApiError> {
        self.writer.call(f).await
    }

    async fn read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, ApiError> + Send + 'static,
    ) -> Result<R, ApiError> {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        self.readers[i].with(move |c| f(c)).await?
    }

    /// Whether the database answers.
    pub fn is_ready(&self) -> bool {
        self.readers[0].is_ready()
    }
}
