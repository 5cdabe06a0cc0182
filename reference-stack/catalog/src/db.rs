//! catalog's SQLite store: WAL mode, one writer connection and a few readers (WAL lets reads
//! run beside the write), each used from a blocking thread. `synchronous = FULL`: a write is
//! acknowledged only once it is durable.
//!
//! Every change to a movie also appends its event to the `outbox` table in the same
//! transaction (see [`crate::events`]): the event exists exactly when the change committed.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rusqlite::{Connection, OptionalExtension, Row, params};
use stack_common::ApiError;
use stack_common::sqlite::{self, SharedConnection};

use crate::events::{EventType, OutboxEvent};
use crate::model::{ListQuery, Movie, MovieInput, MoviePage};

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

const MOVIE_COLUMNS: &str = "id, title, year, genres, rating, created_at, updated_at";

fn movie_from_row(r: &Row<'_>) -> rusqlite::Result<Movie> {
    let genres: String = r.get(3)?;
    Ok(Movie {
        id: r.get(0)?,
        title: r.get(1)?,
        year: r.get(2)?,
        genres: serde_json::from_str(&genres).unwrap_or_default(),
        rating: r.get(4)?,
        created_at: r.get(5)?,
        updated_at: r.get(6)?,
    })
}

fn encode_cursor(seq: i64) -> String {
    URL_SAFE_NO_PAD.encode(seq.to_string())
}

fn decode_cursor(cursor: &str) -> Result<i64, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ApiError::invalid_request("cursor is not one this service issued"))
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

    /// Woken after each commit that appended an outbox row.
    pub fn outbox_notify(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.outbox_written)
    }

    /// Runs `change` and appends the event it returns to the outbox in one transaction. The
    /// event's `committed_at` is taken just before COMMIT, after the change itself ran.
    async fn write_with_event<R: Send + 'static>(
        &self,
        change: impl FnOnce(
            &rusqlite::Transaction<'_>,
        ) -> rusqlite::Result<Option<(R, EventType, String, Option<Movie>)>>
        + Send
        + 'static,
    ) -> Result<Option<(R, String)>, ApiError> {
        let result = self
            .write(move |c| {
                let tx = c.transaction()?;
                let Some((result, kind, movie_id, movie)) = change(&tx)? else {
                    return Ok(None);
                };
                let event = OutboxEvent::new(kind, movie_id, crate::events::now_micros(), movie);
                tx.execute(
                    "INSERT INTO outbox (event_id, type, movie_id, committed_at, payload)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        event.event_id,
                        event.kind.as_str(),
                        event.movie_id,
                        event.committed_at,
                        event.payload
                    ],
                )?;
                tx.commit()?;
                Ok(Some((result, event.event_id)))
            })
            .await?;
        if result.is_some() {
            self.outbox_written.notify_one();
        }
        Ok(result)
    }

    /// Up to `limit` events not yet confirmed by the broker, oldest first.
    pub async fn unsent_events(&self, limit: usize) -> Result<Vec<OutboxEvent>, ApiError> {
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT seq, event_id, type, movie_id, committed_at, payload FROM outbox
                     WHERE sent_at IS NULL ORDER BY seq LIMIT ?1",
                )
                .map_err(ApiError::internal)?;
            stmt.query_map([limit as i64], |r| {
                let kind: String = r.get(2)?;
                Ok(OutboxEvent {
                    seq: r.get(0)?,
                    event_id: r.get(1)?,
                    // only this module writes the column, from EventType::as_str
                    kind: EventType::from_wire(&kind).unwrap_or(EventType::Updated),
                    movie_id: r.get(3)?,
                    committed_at: r.get(4)?,
                    payload: r.get(5)?,
                })
            })
            .map_err(ApiError::internal)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(ApiError::internal)
        })
        .await
    }

    /// Marks these outbox rows as confirmed by the broker.
    pub async fn mark_sent(&self, seqs: Vec<i64>, now: String) -> Result<(), ApiError> {
        self.write(move |c| {
            let tx = c.transaction()?;
            {
                let mut stmt = tx.prepare_cached("UPDATE outbox SET sent_at = ?2 WHERE seq = ?1")?;
                for seq in seqs {
                    stmt.execute(params![seq, now])?;
                }
            }
            tx.commit()
        })
        .await
    }

    /// Takes or renews the relay lease for `holder` until `now_ms + ttl_ms`; whether `holder`
    /// has it (it is free, expired, or already `holder`'s).
    pub async fn relay_lease(&self, holder: String, now_ms: i64, ttl_ms: i64) -> Result<bool, ApiError> {
        self.write(move |c| {
            let changed = c.execute(
                "INSERT INTO outbox_relay (id, holder, expires_at_ms) VALUES (1, ?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET holder = ?1, expires_at_ms = ?2
                 WHERE outbox_relay.holder = ?1 OR outbox_relay.expires_at_ms < ?3",
                params![holder, now_ms + ttl_ms, now_ms],
            )?;
            Ok(changed == 1)
        })
        .await
    }

    /// Gives the relay lease up, when `holder` has it.
    pub async fn relay_release(&self, holder: String) -> Result<(), ApiError> {
        self.write(move |c| {
            c.execute("DELETE FROM outbox_relay WHERE holder = ?1", [holder])
                .map(|_| ())
        })
        .await
    }

    /// `(unsent, total)` outbox rows; `None` when the database does not answer.
    pub fn outbox_counts(&self) -> Option<(u64, u64)> {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        self.readers[i]
            .lock()
            .query_row(
                "SELECT (SELECT count(*) FROM outbox WHERE sent_at IS NULL), (SELECT count(*) FROM outbox)",
                [],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
            )
            .ok()
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

    /// Stores a new movie (the tests' shorthand: the service always wants the event id).
    #[cfg(test)]
    pub async fn insert(&self, input: MovieInput, now: String) -> Result<Movie, ApiError> {
        self.insert_with_event(input, now).await.map(|(movie, _)| movie)
    }

    /// Stores a new movie; also returns the id of the `movie.created` event it produced.
    pub async fn insert_with_event(
        &self,
        input: MovieInput,
        now: String,
    ) -> Result<(Movie, String), ApiError> {
        let movie = Movie {
            id: uuid::Uuid::new_v4().to_string(),
            title: input.title,
            year: input.year,
            genres: input.genres,
            rating: input.rating,
            created_at: now.clone(),
            updated_at: now,
        };
        let row = movie.clone();
        let event_id = self
            .write_with_event(move |c| {
                c.execute(
                "INSERT INTO movies (id, title, year, genres, rating, created_at, updated_at, title_folded)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    row.id,
                    row.title,
                    row.year,
                    serde_json::to_string(&row.genres).unwrap_or_else(|_| "[]".into()),
                    row.rating,
                    row.created_at,
                    row.updated_at,
                    row.title.to_lowercase()
                ],
            )?;
                Ok(Some(((), EventType::Created, row.id.clone(), Some(row))))
            })
            .await?
            .ok_or_else(|| ApiError::internal("the insert committed no event"))?;
        Ok((movie, event_id.1))
    }

    /// The movie with this id.
    pub async fn get(&self, id: String) -> Result<Option<Movie>, ApiError> {
        self.read(move |c| {
            c.query_row(
                &format!("SELECT {MOVIE_COLUMNS} FROM movies WHERE id = ?1"),
                [id],
                movie_from_row,
            )
            .optional()
            .map_err(ApiError::internal)
        })
        .await
    }

    /// Replaces a movie's fields; `None` when there is no such movie (tests' shorthand).
    #[cfg(test)]
    pub async fn update(
        &self,
        id: String,
        input: MovieInput,
        now: String,
    ) -> Result<Option<Movie>, ApiError> {
        Ok(self
            .update_with_event(id, input, now)
            .await?
            .map(|(movie, _)| movie))
    }

    /// Replaces a movie's fields; the movie and the id of the `movie.updated` event, `None`
    /// when there is no such movie.
    pub async fn update_with_event(
        &self,
        id: String,
        input: MovieInput,
        now: String,
    ) -> Result<Option<(Movie, String)>, ApiError> {
        self.write_with_event(move |c| {
            let updated = c.query_row(
                &format!(
                    "UPDATE movies SET title = ?2, year = ?3, genres = ?4, rating = ?5, updated_at = ?6, title_folded = ?7
                     WHERE id = ?1 RETURNING {MOVIE_COLUMNS}"
                ),
                params![
                    id,
                    input.title,
                    input.year,
                    serde_json::to_string(&input.genres).unwrap_or_else(|_| "[]".into()),
                    input.rating,
                    now,
                    input.title.to_lowercase()
                ],
                movie_from_row,
            )
            .optional()?;
            Ok(updated.map(|m| (m.clone(), EventType::Updated, m.id.clone(), Some(m))))
        })
        .await
    }

    /// Deletes a movie; whether it existed (tests' shorthand).
    #[cfg(test)]
    pub async fn delete(&self, id: String) -> Result<bool, ApiError> {
        Ok(self.delete_with_event(id).await?.is_some())
    }

    /// Deletes a movie; the id of the `movie.deleted` event, `None` when there was no such movie.
    pub async fn delete_with_event(&self, id: String) -> Result<Option<String>, ApiError> {
        self.write_with_event(move |c| {
            let n = c.execute("DELETE FROM movies WHERE id = ?1", [&id])?;
            Ok((n > 0).then_some(((), EventType::Deleted, id, None)))
        })
        .await
        .map(|r| r.map(|((), event_id)| event_id))
    }

    /// One page of movies in creation order.
    pub async fn list(&self, query: ListQuery) -> Result<MoviePage, ApiError> {
        let after = query
            .cursor
            .as_deref()
            .map(decode_cursor)
            .transpose()?
            .unwrap_or(0);
        let limit = query.limit;
        self.read(move |c| {
            let sql = format!(
                "SELECT {MOVIE_COLUMNS}, seq FROM movies
                 WHERE seq > ?1
                   AND (?2 IS NULL OR EXISTS (SELECT 1 FROM json_each(movies.genres) WHERE value = ?2))
                   AND (?3 IS NULL OR year = ?3)
                   AND (?4 IS NULL OR instr(title_folded, ?4) > 0)
                 ORDER BY seq LIMIT ?5"
            );
            let mut stmt = c.prepare_cached(&sql).map_err(ApiError::internal)?;
            let rows = stmt
                .query_map(
                    params![
                        after,
                        query.genre,
                        query.year,
                        query.title.map(|t| t.to_lowercase()),
                        i64::from(limit) + 1
                    ],
                    |r| Ok((movie_from_row(r)?, r.get::<_, i64>(7)?)),
                )
                .map_err(ApiError::internal)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(ApiError::internal)?;
            let more = rows.len() > limit as usize;
            let mut items = Vec::with_capacity(rows.len().min(limit as usize));
            let mut last_seq = None;
            for (movie, seq) in rows.into_iter().take(limit as usize) {
                last_seq = Some(seq);
                items.push(movie);
            }
            let next_cursor = if more { last_seq.map(encode_cursor) } else { None };
            Ok(MoviePage { items, next_cursor })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(title: &str) -> MovieInput {
        MovieInput {
            title: title.into(),
            year: 1979,
            genres: vec!["sci-fi".into()],
            rating: None,
        }
    }

    fn temp_db() -> (std::path::PathBuf, Db) {
        let dir = std::env::temp_dir().join(format!("catalog-db-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = Db::open(&dir).unwrap();
        (dir, db)
    }

    fn count(db: &Db, sql: &str) -> i64 {
        db.readers[0].lock().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    #[tokio::test]
    async fn each_change_appends_its_event_in_order() {
        let (dir, db) = temp_db();
        let now = crate::events::now_micros();
        let movie = db.insert(input("Alien"), now.clone()).await.unwrap();
        db.update(movie.id.clone(), input("Aliens"), now).await.unwrap();
        assert!(db.delete(movie.id.clone()).await.unwrap());
        // changes to missing movies commit nothing, so no event
        assert!(!db.delete(movie.id.clone()).await.unwrap());
        assert!(
            db.update(movie.id.clone(), input("x"), "t".into())
                .await
                .unwrap()
                .is_none()
        );
        let events = db.unsent_events(10).await.unwrap();
        let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [EventType::Created, EventType::Updated, EventType::Deleted]
        );
        assert!(events.iter().all(|e| e.movie_id == movie.id));
        let created: serde_json::Value = serde_json::from_str(&events[0].payload).unwrap();
        assert_eq!(created["movie"]["title"], "Alien");
        let updated: serde_json::Value = serde_json::from_str(&events[1].payload).unwrap();
        assert_eq!(updated["movie"]["title"], "Aliens");
        // the published bodies are the contract in contracts/events/
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../../contracts/events/movie-event.schema.json")).unwrap();
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap();
        for event in &events {
            let body: serde_json::Value = serde_json::from_str(&event.payload).unwrap();
            let errors: Vec<String> = validator.iter_errors(&body).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{body}: {errors:?}");
        }
        // and the schema is not vacuous: a delete carrying a movie, or a bad time, fails it
        let mut wrong: serde_json::Value = serde_json::from_str(&events[2].payload).unwrap();
        wrong["movie"] = created["movie"].clone();
        assert!(!validator.is_valid(&wrong));
        let mut wrong: serde_json::Value = serde_json::from_str(&events[0].payload).unwrap();
        wrong["committed_at"] = "2026-11-26T15:00:00Z".into();
        assert!(!validator.is_valid(&wrong));
        db.mark_sent(vec![events[0].seq], "t".into()).await.unwrap();
        assert_eq!(db.unsent_events(10).await.unwrap().len(), 2);
        assert_eq!(db.outbox_counts(), Some((2, 3)));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn one_relay_holds_the_lease_until_it_expires_or_is_released() {
        let (dir, db) = temp_db();
        assert!(db.relay_lease("a".into(), 1000, 100).await.unwrap());
        assert!(!db.relay_lease("b".into(), 1050, 100).await.unwrap());
        assert!(db.relay_lease("a".into(), 1090, 100).await.unwrap()); // renewed to 1190
        assert!(!db.relay_lease("b".into(), 1150, 100).await.unwrap());
        assert!(db.relay_lease("b".into(), 1191, 100).await.unwrap()); // a stopped renewing
        assert!(!db.relay_lease("a".into(), 1200, 100).await.unwrap());
        db.relay_release("b".into()).await.unwrap();
        assert!(db.relay_lease("a".into(), 1201, 100).await.unwrap());
        let _ = std::fs::remove_dir_all(dir);
    }

    /// The outbox is atomic with the write: when appending the event fails, the movie change
    /// rolls back too, and when the change fails no event is left behind.
    #[tokio::test]
    async fn a_write_that_rolls_back_leaves_no_event_and_no_movie() {
        let (dir, db) = temp_db();
        let kept = db.insert(input("Kept"), "t".into()).await.unwrap();
        db.writer
            .lock()
            .execute_batch(
                "CREATE TRIGGER fail_outbox BEFORE INSERT ON outbox
                 BEGIN SELECT RAISE(ABORT, 'injected outbox failure'); END;",
            )
            .unwrap();
        assert!(db.insert(input("Lost"), "t".into()).await.is_err());
        assert!(
            db.update(kept.id.clone(), input("Renamed"), "t".into())
                .await
                .is_err()
        );
        assert!(db.delete(kept.id.clone()).await.is_err());
        assert_eq!(count(&db, "SELECT count(*) FROM movies"), 1);
        assert_eq!(count(&db, "SELECT count(*) FROM movies WHERE title = 'Kept'"), 1);
        assert_eq!(count(&db, "SELECT count(*) FROM outbox"), 1);

        // and the other way round: the movie change fails, so no event
        db.writer
            .lock()
            .execute_batch(
                "DROP TRIGGER fail_outbox;
                 CREATE TRIGGER fail_movies BEFORE INSERT ON movies
                 BEGIN SELECT RAISE(ABORT, 'injected movie failure'); END;",
            )
            .unwrap();
        assert!(db.insert(input("Lost"), "t".into()).await.is_err());
        assert_eq!(count(&db, "SELECT count(*) FROM outbox"), 1);
        assert_eq!(count(&db, "SELECT count(*) FROM movies"), 1);
        let _ = std::fs::remove_dir_all(dir);
    }
}
