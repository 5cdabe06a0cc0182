//! Movies in catalog's database: the statements behind every movie operation (each change paired
//! with its outbox event) and the cursor-paginated list.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rusqlite::{OptionalExtension, Row, params};
use stack_common::ApiError;

use crate::events::EventType;
use crate::model::{ListQuery, Movie, MovieInput, MoviePage};

use super::Db;

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
