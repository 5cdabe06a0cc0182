//! catalog's SQLite store: WAL mode, one writer connection and a few readers (WAL lets reads
//! run beside the write), each used from a blocking thread. `synchronous = FULL`: a write is
//! acknowledged only once it is durable.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rusqlite::{Connection, OptionalExtension, Row, params};
use stack_common::ApiError;

use crate::model::{ListQuery, Movie, MovieInput, MoviePage};

const READERS: usize = 4;

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Db {
    writer: Arc<Mutex<Connection>>,
    readers: Arc<Vec<Mutex<Connection>>>,
    next_reader: Arc<AtomicUsize>,
}

fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
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
        let writer = connect(&path)?;
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
             CREATE INDEX IF NOT EXISTS movies_year ON movies(year);",
        )?;
        let readers = (0..READERS)
            .map(|_| connect(&path).map(Mutex::new))
            .collect::<Result<_, _>>()?;
        Ok(Db {
            writer: Arc::new(Mutex::new(writer)),
            readers: Arc::new(readers),
            next_reader: Arc::new(AtomicUsize::new(0)),
        })
    }

    async fn write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<R> + Send + 'static,
    ) -> Result<R, ApiError> {
        let conn = Arc::clone(&self.writer);
        tokio::task::spawn_blocking(move || f(&mut conn.lock().unwrap_or_else(|p| p.into_inner())))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)
    }

    async fn read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, ApiError> + Send + 'static,
    ) -> Result<R, ApiError> {
        let readers = Arc::clone(&self.readers);
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % readers.len();
        tokio::task::spawn_blocking(move || f(&readers[i].lock().unwrap_or_else(|p| p.into_inner())))
            .await
            .map_err(ApiError::internal)?
    }

    /// Whether the database answers.
    pub fn is_ready(&self) -> bool {
        match self.readers[0].try_lock() {
            Ok(conn) => conn.query_row("SELECT 1", [], |_| Ok(())).is_ok(),
            Err(std::sync::TryLockError::WouldBlock) => true,
            Err(std::sync::TryLockError::Poisoned(_)) => false,
        }
    }

    /// Stores a new movie.
    pub async fn insert(&self, input: MovieInput, now: String) -> Result<Movie, ApiError> {
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
        self.write(move |c| {
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
            )
        })
        .await?;
        Ok(movie)
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

    /// Replaces a movie's fields; `None` when there is no such movie.
    pub async fn update(
        &self,
        id: String,
        input: MovieInput,
        now: String,
    ) -> Result<Option<Movie>, ApiError> {
        self.write(move |c| {
            c.query_row(
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
            .optional()
        })
        .await
    }

    /// Deletes a movie; whether it existed.
    pub async fn delete(&self, id: String) -> Result<bool, ApiError> {
        self.write(move |c| c.execute("DELETE FROM movies WHERE id = ?1", [id]).map(|n| n > 0))
            .await
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
