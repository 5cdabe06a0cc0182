//! catalog's REST API: the movie operations, their documented errors, pagination and filters.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Api, TestStack, movie_input};

mod auth;
mod create;
mod item;
mod list;

const UNKNOWN_ID: &str = "5d1c9e7a-2b3f-4c8d-9e0f-1a2b3c4d5e6f";

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

fn titles(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|m| m["title"].as_str().unwrap().to_string())
        .collect()
}

/// Walks every page of `GET /v1/movies` with `query` and page size `limit`; checks each page's
/// size and that `next_cursor` is present exactly when another page follows. Returns the
/// movies and the number of pages.
async fn list_all(
    stack: &TestStack,
    token: &str,
    limit: usize,
    query: &[(&str, &str)],
) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let limit_text = limit.to_string();
        let mut params: Vec<(&str, &str)> = query.to_vec();
        params.push(("limit", &limit_text));
        if let Some(c) = &cursor {
            params.push(("cursor", c));
        }
        let page = stack
            .catalog
            .get("/v1/movies")
            .bearer(token)
            .query(&params)
            .send()
            .await
            .ok_json(200);
        pages += 1;
        let page_items = page["items"].as_array().unwrap().clone();
        assert!(page_items.len() <= limit, "page over the limit: {page}");
        items.extend(page_items.iter().cloned());
        match page.get("next_cursor") {
            Some(next) => {
                assert_eq!(page_items.len(), limit, "a page before the last is full: {page}");
                cursor = Some(next.as_str().unwrap().to_string());
            }
            None => break,
        }
        assert!(pages < 1000, "the cursor walk does not end");
    }
    (items, pages)
}

async fn seed(stack: &TestStack, token: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let movie = stack
            .create_movie(
                token,
                &movie_input(&format!("Movie {i:03}"), 1900 + i as i32, &["seed"]),
            )
            .await;
        ids.push(movie["id"].as_str().unwrap().to_string());
    }
    ids
}

/// Bodies every movie write must refuse with 400 `invalid_request`: each of
/// [`invalid_movie_inputs`] as JSON, then each of [`MALFORMED_JSON`]. Each is named for the
/// failure message.
fn bad_movie_bodies() -> Vec<(&'static str, Vec<u8>)> {
    let invalid = invalid_movie_inputs()
        .into_iter()
        .map(|(what, body)| (what, serde_json::to_vec(&body).unwrap()));
    let malformed = MALFORMED_JSON
        .iter()
        .map(|raw| ("malformed JSON", raw.as_bytes().to_vec()));
    invalid.chain(malformed).collect()
}

/// Sends each of `bodies` (a name, the raw JSON) as `method path`; each must be 400
/// `invalid_request`.
async fn expect_bodies_refused(catalog: &Api, method: Method, path: &str, bodies: Vec<(&str, Vec<u8>)>) {
    for (what, raw) in bodies {
        let reply = catalog
            .request(method.clone(), path)
            .raw("application/json", raw)
            .send()
            .await;
        assert_eq!(reply.status, 400, "{what}: {}", reply.text());
        reply.expect_error(400, "invalid_request");
    }
}

/// Movie inputs every movie write must refuse with 400 `invalid_request`.
fn invalid_movie_inputs() -> Vec<(&'static str, Value)> {
    vec![
        ("empty title", json!({"title": "", "year": 2000})),
        ("title too long", json!({"title": "t".repeat(201), "year": 2000})),
        ("year too early", json!({"title": "T", "year": 1887})),
        ("year too late", json!({"title": "T", "year": 2101})),
        (
            "too many genres",
            json!({"title": "T", "year": 2000, "genres": vec!["g"; 11]}),
        ),
        ("empty genre", json!({"title": "T", "year": 2000, "genres": [""]})),
        (
            "genre too long",
            json!({"title": "T", "year": 2000, "genres": ["g".repeat(41)]}),
        ),
        (
            "negative rating",
            json!({"title": "T", "year": 2000, "rating": -0.1}),
        ),
        (
            "rating over 10",
            json!({"title": "T", "year": 2000, "rating": 10.01}),
        ),
        ("missing title", json!({"year": 2000})),
        ("missing year", json!({"title": "T"})),
        (
            "unknown field",
            json!({"title": "T", "year": 2000, "director": "Lang"}),
        ),
        (
            "server field",
            json!({"title": "T", "year": 2000, "id": UNKNOWN_ID}),
        ),
        ("year as a string", json!({"title": "T", "year": "2000"})),
        ("year as a float", json!({"title": "T", "year": 2000.5})),
        ("year huge", json!({"title": "T", "year": 1e12})),
        ("title a number", json!({"title": 5, "year": 2000})),
        (
            "genres a string",
            json!({"title": "T", "year": 2000, "genres": "drama"}),
        ),
        (
            "genre a number",
            json!({"title": "T", "year": 2000, "genres": [1]}),
        ),
        (
            "rating a string",
            json!({"title": "T", "year": 2000, "rating": "8"}),
        ),
        ("an array", json!([{"title": "T", "year": 2000}])),
        ("null", Value::Null),
        ("a number", json!(42)),
    ]
}

const MALFORMED_JSON: [&str; 4] = [
    "{\"title\": \"T\", \"year\": 2000",
    "",
    "{'title': 'T', 'year': 2000}",
    "{\"title\": \"T\", \"year\": 2000} {}",
];
