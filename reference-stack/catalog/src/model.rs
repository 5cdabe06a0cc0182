//! Movies: the input a client sends, its validation, and the stored form.

use serde::{Deserialize, Serialize};
use stack_common::ApiError;

/// What a client sends to create or replace a movie.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MovieInput {
    /// 1 to 200 characters.
    pub title: String,
    /// 1888 to 2100.
    pub year: i32,
    /// At most 10, each 1 to 40 characters.
    #[serde(default)]
    pub genres: Vec<String>,
    /// 0 to 10, absent when unrated.
    #[serde(default)]
    pub rating: Option<f64>,
}

impl MovieInput {
    /// Checks the documented ranges; the first violation is the error.
    pub fn validate(&self) -> Result<(), ApiError> {
        let title_len = self.title.chars().count();
        if !(1..=200).contains(&title_len) {
            return Err(ApiError::invalid_request("title must be 1 to 200 characters"));
        }
        if !(1888..=2100).contains(&self.year) {
            return Err(ApiError::invalid_request("year must be between 1888 and 2100"));
        }
        if self.genres.len() > 10 {
            return Err(ApiError::invalid_request("at most 10 genres"));
        }
        if let Some(bad) = self
            .genres
            .iter()
            .find(|g| !(1..=40).contains(&g.chars().count()))
        {
            return Err(ApiError::invalid_request(format!(
                "genre {bad:?} must be 1 to 40 characters"
            )));
        }
        if let Some(rating) = self.rating
            && !(0.0..=10.0).contains(&rating)
        {
            return Err(ApiError::invalid_request("rating must be between 0 and 10"));
        }
        Ok(())
    }
}

/// A stored movie, as the REST API shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Movie {
    /// UUID.
    pub id: String,
    /// Title.
    pub title: String,
    /// Release year.
    pub year: i32,
    /// Genres.
    pub genres: Vec<String>,
    /// Rating, when rated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating: Option<f64>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

/// Which movies to list, and where to start.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Page size, 1 to 1000.
    pub limit: u32,
    /// Opaque cursor from the previous page.
    pub cursor: Option<String>,
    /// Exact genre.
    pub genre: Option<String>,
    /// Exact year.
    pub year: Option<i32>,
    /// Case-insensitive title substring.
    pub title: Option<String>,
}

impl ListQuery {
    /// Checks the documented ranges (the same for REST and gRPC).
    pub fn validate(&self) -> Result<(), ApiError> {
        if !(1..=1000).contains(&self.limit) {
            return Err(ApiError::invalid_request("limit must be between 1 and 1000"));
        }
        if let Some(year) = self.year
            && !(1888..=2100).contains(&year)
        {
            return Err(ApiError::invalid_request("year must be between 1888 and 2100"));
        }
        Ok(())
    }
}

/// Default page size.
pub const DEFAULT_LIMIT: u32 = 50;

/// One page of movies.
#[derive(Debug, Clone, Serialize)]
pub struct MoviePage {
    /// The movies, in creation order.
    pub items: Vec<Movie>,
    /// Where the next page starts, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Parses a movie id; ids are UUIDs.
pub fn parse_id(id: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(id)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::invalid_request(format!("movie id {id:?} is not a UUID")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> MovieInput {
        MovieInput {
            title: "Alien".into(),
            year: 1979,
            genres: vec!["sci-fi".into()],
            rating: Some(8.5),
        }
    }

    #[test]
    fn each_range_is_enforced() {
        assert!(input().validate().is_ok());
        assert!(
            MovieInput {
                title: String::new(),
                ..input()
            }
            .validate()
            .is_err()
        );
        assert!(
            MovieInput {
                title: "x".repeat(201),
                ..input()
            }
            .validate()
            .is_err()
        );
        assert!(
            MovieInput {
                year: 1887,
                ..input()
            }
            .validate()
            .is_err()
        );
        assert!(
            MovieInput {
                year: 2101,
                ..input()
            }
            .validate()
            .is_err()
        );
        assert!(
            MovieInput {
                genres: vec!["g".into(); 11],
                ..input()
            }
            .validate()
            .is_err()
        );
        assert!(
            MovieInput {
                genres: vec![String::new()],
                ..input()
            }
            .validate()
            .is_err()
        );
        assert!(
            MovieInput {
                rating: Some(10.5),
                ..input()
            }
            .validate()
            .is_err()
        );
        assert!(
            MovieInput {
                rating: Some(f64::NAN),
                ..input()
            }
            .validate()
            .is_err()
        );
    }
}
