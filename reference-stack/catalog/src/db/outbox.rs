//! The transactional outbox in catalog's database: a movie change and its event commit in one
//! transaction; the relay reads the unsent events in order, marks them sent once the broker
//! confirmed them, and holds the lease that lets one relay publish among catalog instances.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use rusqlite::params;
use stack_common::ApiError;

use crate::events::{EventType, OutboxEvent};
use crate::model::Movie;

use super::Db;

impl Db {
    /// Woken after each commit that appended an outbox row.
    pub fn outbox_notify(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.outbox_written)
    }

    /// Runs `change` and appends the event it returns to the outbox in one transaction. The
    /// event's `committed_at` is taken just before COMMIT, after the change itself ran.
    pub(super) async fn write_with_event<R: Send + 'static>(
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MovieInput;

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
        let schema: serde_json::Value = serde_json::from_str(include_str!(
            "../../../../contracts/events/movie-event.schema.json"
        ))
        .unwrap();
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
