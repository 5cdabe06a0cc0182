//! catalog's REST API: the movie operations, their documented errors, pagination and filters.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{self, TestStack, b64, movie_input, parse_time, poll};

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

// ---------------------------------------------------------------------------------------------
// POST /v1/movies

#[tokio::test]
async fn create_movie_returns_201_with_location_and_the_stored_movie() {
    let stack = support::start().await;
    let token = stack.admin_token().await;
    let reply = stack
        .catalog
        .post("/v1/movies")
        .bearer(&token)
        .json(&json!({"title": "Metropolis", "year": 1927, "genres": ["drama", "sci-fi"], "rating": 8.3}))
        .send()
        .await
        .expect(201);
    let movie = reply.json();
    let id = movie["id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok());
    assert_eq!(
        reply.header("location"),
        Some(format!("/v1/movies/{id}").as_str())
    );
    assert_eq!(movie["title"], "Metropolis");
    assert_eq!(movie["year"], 1927);
    assert_eq!(movie["genres"], json!(["drama", "sci-fi"]));
    assert_eq!(movie["rating"], 8.3);
    assert_eq!(movie["created_at"], movie["updated_at"]);
    assert_eq!(
        parse_time(movie["created_at"].as_str().unwrap()).offset(),
        time::UtcOffset::UTC
    );

    // The Location is where the movie is.
    let fetched = stack
        .catalog
        .get(reply.header("location").unwrap())
        .bearer(&token)
        .send()
        .await
        .ok_json(200);
    assert_eq!(fetched, movie);

    // Unrated and without genres: `genres` defaults to [], `rating` is absent.
    let bare = stack
        .create_movie(&token, &json!({"title": "Nosferatu", "year": 1922}))
        .await;
    assert_eq!(bare["genres"], json!([]));
    assert!(bare.get("rating").is_none(), "{bare}");
    let bare = stack
        .create_movie(&token, &json!({"title": "Faust", "year": 1926, "rating": null}))
        .await;
    assert!(bare.get("rating").is_none(), "{bare}");
    stack.stop().await;
}

#[tokio::test]
async fn create_movie_accepts_the_boundaries_of_every_field() {
    let stack = support::start().await;
    let token = stack.admin_token().await;
    let genres: Vec<String> = (0..10).map(|i| format!("{i}").repeat(40)).collect();
    let cases = [
        json!({"title": "x", "year": 1888}),
        json!({"title": "t".repeat(200), "year": 2100}),
        json!({"title": "é".repeat(200), "year": 2000, "genres": genres}),
        json!({"title": "Zero", "year": 2000, "genres": ["g"], "rating": 0}),
        json!({"title": "Ten", "year": 2000, "rating": 10.0}),
    ];
    for input in cases {
        let movie = stack.create_movie(&token, &input).await;
        for field in ["title", "year"] {
            assert_eq!(movie[field], input[field], "{field}");
        }
        if let Some(genres) = input.get("genres") {
            assert_eq!(&movie["genres"], genres);
        }
        if let Some(rating) = input.get("rating") {
            assert_eq!(movie["rating"].as_f64(), rating.as_f64());
        }
    }
    // A charset parameter on the media type is fine.
    stack
        .catalog
        .post("/v1/movies")
        .bearer(&token)
        .raw(
            "application/json; charset=utf-8",
            r#"{"title": "Charset", "year": 2001}"#,
        )
        .send()
        .await
        .expect(201);
    stack.stop().await;
}

/// Bodies every movie write must refuse with 400 `invalid_request`.
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

#[tokio::test]
async fn create_movie_rejects_invalid_input_with_400_invalid_request() {
    let stack = support::start().await;
    let token = stack.admin_token().await;
    for (what, body) in invalid_movie_inputs() {
        let reply = stack
            .catalog
            .post("/v1/movies")
            .bearer(&token)
            .raw("application/json", serde_json::to_vec(&body).unwrap())
            .send()
            .await;
        assert_eq!(reply.status, 400, "{what}: {}", reply.text());
        reply.expect_error(400, "invalid_request");
    }
    for raw in MALFORMED_JSON {
        let reply = stack
            .catalog
            .post("/v1/movies")
            .bearer(&token)
            .raw("application/json", raw)
            .send()
            .await;
        reply.expect_error(400, "invalid_request");
    }
    let hostile: [(&str, Vec<u8>); 3] = [
        (
            "duplicate field",
            br#"{"title": "A", "title": "B", "year": 2000}"#.to_vec(),
        ),
        (
            "invalid UTF-8",
            b"{\"title\": \"\xff\xfe\", \"year\": 2000}".to_vec(),
        ),
        ("nested 10000 deep", "[".repeat(10_000).into_bytes()),
    ];
    for (what, raw) in hostile {
        let reply = stack
            .catalog
            .post("/v1/movies")
            .bearer(&token)
            .raw("application/json", raw)
            .send()
            .await;
        assert_eq!(reply.status, 400, "{what}: {}", reply.text());
        reply.expect_error(400, "invalid_request");
    }
    // Nothing was stored.
    let page = stack
        .catalog
        .get("/v1/movies")
        .bearer(&token)
        .send()
        .await
        .ok_json(200);
    assert_eq!(page, json!({"items": []}));
    stack.stop().await;
}

#[tokio::test]
async fn create_movie_accepts_any_title_of_1_to_200_characters_even_blank_ones() {
    let stack = support::start().await;
    let token = stack.admin_token().await;
    let movie = stack
        .create_movie(&token, &json!({"title": "   ", "year": 2000}))
        .await;
    assert_eq!(movie["title"], "   ");
    stack.stop().await;
}

#[tokio::test]
async fn movie_writes_with_a_body_that_is_not_json_are_415() {
    let stack = support::start().await;
    let token = stack.admin_token().await;
    let movie = stack.create_movie(&token, &movie_input("Alien", 1979, &[])).await;
    let path = format!("/v1/movies/{}", movie["id"].as_str().unwrap());
    let body = r#"{"title": "Alien", "year": 1979}"#;
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
        "",
    ] {
        for (method, target) in [(Method::POST, "/v1/movies"), (Method::PUT, path.as_str())] {
            let reply = stack
                .catalog
                .request(method, target)
                .bearer(&token)
                .raw(content_type, body)
                .send()
                .await;
            reply.expect_error(415, "unsupported_media_type");
        }
    }
    stack.stop().await;
}

#[tokio::test]
async fn movie_bodies_over_max_body_bytes_are_413_and_at_the_limit_are_accepted() {
    let stack = support::start_with(|o| o.catalog.max_body_bytes = 1024).await;
    let token = stack.admin_token().await;
    let movie = stack.create_movie(&token, &movie_input("Alien", 1979, &[])).await;
    let path = format!("/v1/movies/{}", movie["id"].as_str().unwrap());
    let json = r#"{"title": "Padded", "year": 2000}"#;
    let pad = |len: usize| format!("{json}{}", " ".repeat(len - json.len()));
    for (method, target) in [(Method::POST, "/v1/movies"), (Method::PUT, path.as_str())] {
        let reply = stack
            .catalog
            .request(method.clone(), target)
            .bearer(&token)
            .raw("application/json", pad(1025))
            .send()
            .await;
        reply.expect_error(413, "payload_too_large");
        let reply = stack
            .catalog
            .request(method.clone(), target)
            .bearer(&token)
            .raw("application/json", pad(1024))
            .send()
            .await;
        assert!(
            reply.status == 200 || reply.status == 201,
            "{method} at the limit: {}",
            reply.text()
        );
    }
    // Far over the limit.
    let reply = stack
        .catalog
        .post("/v1/movies")
        .bearer(&token)
        .raw("application/json", pad(64 * 1024))
        .send()
        .await;
    reply.expect_error(413, "payload_too_large");
    stack.stop().await;
}

// ---------------------------------------------------------------------------------------------
// GET / PUT / DELETE /v1/movies/{id}

#[tokio::test]
async fn get_movie_is_200_for_a_movie_400_for_a_non_uuid_and_404_for_an_unknown_id() {
    let stack = support::start().await;
    let token = stack.admin_token().await;
    let movie = stack
        .create_movie(&token, &movie_input("Alien", 1979, &["sci-fi"]))
        .await;
    let id = movie["id"].as_str().unwrap();
    let got = stack
        .catalog
        .get(&format!("/v1/movies/{id}"))
        .bearer(&token)
        .send()
        .await
        .ok_json(200);
    assert_eq!(got, movie);
    // A UUID is a UUID in upper case too.
    let got = stack
        .catalog
        .get(&format!("/v1/movies/{}", id.to_uppercase()))
        .bearer(&token)
        .send()
        .await
        .ok_json(200);
    assert_eq!(got["id"], movie["id"]);

    for bad in ["not-a-uuid", "123", "5d1c9e7a-2b3f-4c8d-9e0f-1a2b3c4d5e6", "%20"] {
        let reply = stack
            .catalog
            .get(&format!("/v1/movies/{bad}"))
            .bearer(&token)
            .send()
            .await;
        reply.expect_error(400, "invalid_request");
    }
    let reply = stack
        .catalog
        .get(&format!("/v1/movies/{UNKNOWN_ID}"))
        .bearer(&token)
        .send()
        .await;
    reply.expect_error(404, "not_found");
    stack.stop().await;
}

#[tokio::test]

async fn a_path_id_that_is_not_utf8_is_400_in_the_json_error_shape() {
    let stack = support::start().await;
    let token = stack.admin_token().await;
    for method in [Method::GET, Method::DELETE] {
        let reply = stack
            .catalog
            .request(method, "/v1/movies/%FF")
            .bearer(&token)
            .send()
            .await;
        reply.expect_error(400, "invalid_request");
    }
    let reply = stack
        .catalog
        .put("/v1/movies/%FF")
        .bearer(&token)
        .json(&movie_input("T", 2000, &[]))
        .send()
        .await;
    reply.expect_error(400, "invalid_request");
    stack.stop().await;
}

#[tokio::test]
async fn update_movie_replaces_every_input_field_and_bumps_updated_at() {
    let stack = support::start().await;
    let token = stack.admin_token().await;
    let movie = stack
        .create_movie(
            &token,
            &json!({"title": "Metropolis", "year": 1927, "genres": ["drama"], "rating": 8.3}),
        )
        .await;
    let path = format!("/v1/movies/{}", movie["id"].as_str().unwrap());
    let created = parse_time(movie["created_at"].as_str().unwrap());

    // Bounded: the first PUT almost always lands in a later millisecond than the POST.
    let (updated, _) = poll(Duration::from_secs(2), || async {
        let updated = stack
            .catalog
            .put(&path)
            .bearer(&token)
            .json(&json!({"title": "Metropolis (restored)", "year": 1927, "genres": ["drama", "sci-fi"], "rating": 8.5}))
            .send()
            .await
            .ok_json(200);
        (parse_time(updated["updated_at"].as_str().unwrap()) > created).then_some(updated)
    })
    .await
    .expect("updated_at moves past created_at");
    assert_eq!(updated["id"], movie["id"]);
    assert_eq!(updated["created_at"], movie["created_at"]);
    assert_eq!(updated["title"], "Metropolis (restored)");
    assert_eq!(updated["genres"], json!(["drama", "sci-fi"]));
    assert_eq!(updated["rating"], 8.5);
    let fetched = stack.catalog.get(&path).bearer(&token).send().await.ok_json(200);
    assert_eq!(fetched, updated);

    // Omitted genres become [], an omitted rating makes the movie unrated.
    let replaced = stack
        .catalog
        .put(&path)
        .bearer(&token)
        .json(&json!({"title": "M", "year": 1928}))
        .send()
        .await
        .ok_json(200);
    assert_eq!(replaced["genres"], json!([]));
    assert!(replaced.get("rating").is_none(), "{replaced}");
    assert_eq!(replaced["year"], 1928);
    assert!(
        parse_time(replaced["updated_at"].as_str().unwrap())
            >= parse_time(updated["updated_at"].as_str().unwrap())
    );
    stack.stop().await;
}

#[tokio::test]
async fn update_movie_is_400_for_a_bad_id_or_body_and_404_for_an_unknown_id() {
    let stack = support::start().await;
    let token = stack.admin_token().await;
    let movie = stack
        .create_movie(&token, &movie_input("Alien", 1979, &["sci-fi"]))
        .await;
    let path = format!("/v1/movies/{}", movie["id"].as_str().unwrap());
    let valid = movie_input("Aliens", 1986, &[]);
    let reply = stack
        .catalog
        .put("/v1/movies/not-a-uuid")
        .bearer(&token)
        .json(&valid)
        .send()
        .await;
    reply.expect_error(400, "invalid_request");
    for (what, body) in invalid_movie_inputs() {
        let reply = stack
            .catalog
            .put(&path)
            .bearer(&token)
            .raw("application/json", serde_json::to_vec(&body).unwrap())
            .send()
            .await;
        assert_eq!(reply.status, 400, "{what}: {}", reply.text());
        reply.expect_error(400, "invalid_request");
    }
    for raw in MALFORMED_JSON {
        let reply = stack
            .catalog
            .put(&path)
            .bearer(&token)
            .raw("application/json", raw)
            .send()
            .await;
        reply.expect_error(400, "invalid_request");
    }
    let reply = stack
        .catalog
        .put(&format!("/v1/movies/{UNKNOWN_ID}"))
        .bearer(&token)
        .json(&valid)
        .send()
        .await;
    reply.expect_error(404, "not_found");
    // The movie is unchanged by all of that.
    let fetched = stack.catalog.get(&path).bearer(&token).send().await.ok_json(200);
    assert_eq!(fetched, movie);
    stack.stop().await;
}

#[tokio::test]
async fn delete_movie_is_204_then_the_movie_is_gone_400_for_a_bad_id_404_for_an_unknown_one() {
    let stack = support::start().await;
    let token = stack.admin_token().await;
    let keep = stack.create_movie(&token, &movie_input("Keep", 2000, &[])).await;
    let movie = stack.create_movie(&token, &movie_input("Alien", 1979, &[])).await;
    let path = format!("/v1/movies/{}", movie["id"].as_str().unwrap());
    let reply = stack
        .catalog
        .delete(&path)
        .bearer(&token)
        .send()
        .await
        .expect(204);
    assert!(reply.body.is_empty());
    stack
        .catalog
        .get(&path)
        .bearer(&token)
        .send()
        .await
        .expect_error(404, "not_found");
    stack
        .catalog
        .delete(&path)
        .bearer(&token)
        .send()
        .await
        .expect_error(404, "not_found");
    stack
        .catalog
        .put(&path)
        .bearer(&token)
        .json(&movie_input("Alien", 1979, &[]))
        .send()
        .await
        .expect_error(404, "not_found");
    stack
        .catalog
        .delete("/v1/movies/not-a-uuid")
        .bearer(&token)
        .send()
        .await
        .expect_error(400, "invalid_request");
    stack
        .catalog
        .delete(&format!("/v1/movies/{UNKNOWN_ID}"))
        .bearer(&token)
        .send()
        .await
        .expect_error(404, "not_found");
    let page = stack
        .catalog
        .get("/v1/movies")
        .bearer(&token)
        .send()
        .await
        .ok_json(200);
    assert_eq!(page["items"], json!([keep]));
    stack.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Authentication and scope on every operation.

#[tokio::test]
async fn every_movie_operation_without_a_token_is_401_missing_token() {
    let stack = support::start().await;
    let token = stack.admin_token().await;
    let movie = stack.create_movie(&token, &movie_input("Alien", 1979, &[])).await;
    let path = format!("/v1/movies/{}", movie["id"].as_str().unwrap());
    let input = movie_input("Aliens", 1986, &[]);
    let calls = [
        stack.catalog.get("/v1/movies"),
        stack.catalog.post("/v1/movies").json(&input),
        stack.catalog.get(&path),
        stack.catalog.put(&path).json(&input),
        stack.catalog.delete(&path),
    ];
    for call in calls {
        call.send().await.expect_missing_token();
    }
    // Still there.
    stack.catalog.get(&path).bearer(&token).send().await.expect(200);
    stack.stop().await;
}

#[tokio::test]
async fn an_authorization_header_with_another_scheme_is_401_missing_token() {
    let stack = support::start().await;
    let calls = [
        stack.catalog.get("/v1/movies").basic("admin", "admin-password"),
        stack
            .catalog
            .get("/v1/movies")
            .header("authorization", "Token abc"),
    ];
    for call in calls {
        call.send().await.expect_missing_token();
    }
    stack.stop().await;
}

#[tokio::test]
async fn every_movie_operation_needs_its_scope_else_403_insufficient_scope() {
    let stack = support::start().await;
    let token = stack.admin_token().await;
    let read_only = stack.admin_token_with_scope("movies:read").await;
    let write_only = stack.client_token(Some("movies:write")).await;
    let movie = stack.create_movie(&token, &movie_input("Alien", 1979, &[])).await;
    let path = format!("/v1/movies/{}", movie["id"].as_str().unwrap());
    let input = movie_input("Aliens", 1986, &[]);

    for call in [
        stack.catalog.post("/v1/movies").json(&input),
        stack.catalog.put(&path).json(&input),
        stack.catalog.delete(&path),
    ] {
        call.bearer(&read_only)
            .send()
            .await
            .expect_insufficient_scope("movies:write");
    }
    for call in [stack.catalog.get("/v1/movies"), stack.catalog.get(&path)] {
        call.bearer(&write_only)
            .send()
            .await
            .expect_insufficient_scope("movies:read");
    }
    // Each token does what its scope allows.
    stack
        .catalog
        .get(&path)
        .bearer(&read_only)
        .send()
        .await
        .expect(200);
    stack
        .catalog
        .put(&path)
        .bearer(&write_only)
        .json(&input)
        .send()
        .await
        .expect(200);
    let fetched = stack
        .catalog
        .get(&path)
        .bearer(&read_only)
        .send()
        .await
        .ok_json(200);
    assert_eq!(
        fetched["title"], "Aliens",
        "the refused writes changed nothing, the allowed one did"
    );
    stack.stop().await;
}

// ---------------------------------------------------------------------------------------------
// GET /v1/movies: pagination and filters.

#[tokio::test]
async fn list_pagination_walks_every_movie_exactly_once_in_creation_order() {
    let stack = support::start().await;
    let token = stack.admin_token().await;
    let created = seed(&stack, &token, 7).await;
    for (limit, expected_pages) in [(3, 3), (1, 7), (7, 1), (1000, 1)] {
        let (items, pages) = list_all(&stack, &token, limit, &[]).await;
        assert_eq!(ids(&items), created, "limit {limit}");
        assert_eq!(pages, expected_pages, "limit {limit}");
    }
    // An exact multiple of the page size: the last full page has no next_cursor.
    let mut all = created.clone();
    all.extend(seed(&stack, &token, 2).await);
    let (items, pages) = list_all(&stack, &token, 3, &[]).await;
    assert_eq!(pages, 3);
    let seen: HashSet<String> = ids(&items).into_iter().collect();
    assert_eq!(seen.len(), 9, "no movie twice");
    assert_eq!(ids(&items), all);
    // A movie created while walking shows up on a later page; one deleted is not returned.
    let page = stack
        .catalog
        .get("/v1/movies")
        .bearer(&token)
        .query(&[("limit", "5")])
        .send()
        .await
        .ok_json(200);
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let late = seed(&stack, &token, 1).await;
    stack
        .catalog
        .delete(&format!("/v1/movies/{}", all[6]))
        .bearer(&token)
        .send()
        .await
        .expect(204);
    let rest = stack
        .catalog
        .get("/v1/movies")
        .bearer(&token)
        .query(&[("limit", "1000"), ("cursor", cursor.as_str())])
        .send()
        .await
        .ok_json(200);
    let mut expected: Vec<String> = all[5..].iter().filter(|id| **id != all[6]).cloned().collect();
    expected.extend(late);
    assert_eq!(ids(rest["items"].as_array().unwrap()), expected);
    assert!(rest.get("next_cursor").is_none());
    stack.stop().await;
}

#[tokio::test]
async fn list_pages_hold_50_movies_by_default() {
    let stack = support::start().await;
    let token = stack.admin_token().await;
    let created = seed(&stack, &token, 51).await;
    let page = stack
        .catalog
        .get("/v1/movies")
        .bearer(&token)
        .send()
        .await
        .ok_json(200);
    let items = page["items"].as_array().unwrap();
    assert_eq!(ids(items), created[..50]);
    let cursor = page["next_cursor"].as_str().expect("a next page");
    let last = stack
        .catalog
        .get("/v1/movies")
        .bearer(&token)
        .query(&[("cursor", cursor)])
        .send()
        .await
        .ok_json(200);
    assert_eq!(ids(last["items"].as_array().unwrap()), created[50..]);
    assert!(last.get("next_cursor").is_none());
    stack.stop().await;
}

/// Query parameters.
type Query<'a> = &'a [(&'a str, &'a str)];

async fn seed_films(stack: &TestStack, token: &str) {
    let films = [
        ("Alien", 1979, vec!["sci-fi", "horror"]),
        ("Aliens", 1986, vec!["sci-fi", "action"]),
        ("The Thing", 1982, vec!["sci-fi", "horror"]),
        ("Heat", 1995, vec!["crime"]),
        ("Sci-Fi Stories", 1982, vec!["documentary"]),
        ("BLADE RUNNER", 1982, vec!["sci-fi"]),
    ];
    for (title, year, genres) in films {
        stack
            .create_movie(token, &movie_input(title, year, &genres))
            .await;
    }
}

#[tokio::test]
async fn list_filters_by_exact_genre_exact_year_and_case_insensitive_title() {
    let stack = support::start().await;
    let token = stack.admin_token().await;
    seed_films(&stack, &token).await;
    let cases: [(Query, &[&str]); 14] = [
        (
            &[("genre", "sci-fi")],
            &["Alien", "Aliens", "The Thing", "BLADE RUNNER"],
        ),
        (&[("genre", "horror")], &["Alien", "The Thing"]),
        (&[("genre", "sci")], &[]),
        (&[("genre", "Sci-Fi")], &[]),
        (
            &[("year", "1982")],
            &["The Thing", "Sci-Fi Stories", "BLADE RUNNER"],
        ),
        (&[("year", "1888")], &[]),
        (&[("title", "alien")], &["Alien", "Aliens"]),
        (&[("title", "ALIENS")], &["Aliens"]),
        (&[("title", "lIe")], &["Alien", "Aliens"]),
        (&[("title", "blade runner")], &["BLADE RUNNER"]),
        (&[("title", "sci-fi")], &["Sci-Fi Stories"]),
        (&[("title", "zzz")], &[]),
        (
            &[("genre", "sci-fi"), ("year", "1982")],
            &["The Thing", "BLADE RUNNER"],
        ),
        (
            &[("genre", "horror"), ("title", "THING"), ("year", "1982")],
            &["The Thing"],
        ),
    ];
    for (query, expected) in cases {
        let page = stack
            .catalog
            .get("/v1/movies")
            .bearer(&token)
            .query(query)
            .send()
            .await
            .ok_json(200);
        assert_eq!(titles(page["items"].as_array().unwrap()), *expected, "{query:?}");
        assert!(page.get("next_cursor").is_none(), "{query:?}");
        // Paging through the filtered list one by one gives the same movies.
        let (items, pages) = list_all(&stack, &token, 1, query).await;
        assert_eq!(titles(&items), *expected, "{query:?}, one per page");
        assert_eq!(pages, expected.len().max(1), "{query:?}");
    }
    stack.stop().await;
}

#[tokio::test]

async fn list_title_filter_is_case_insensitive_beyond_ascii() {
    let stack = support::start().await;
    let token = stack.admin_token().await;
    stack
        .create_movie(&token, &movie_input("Amélie", 2001, &[]))
        .await;
    stack.create_movie(&token, &movie_input("Ça", 2017, &[])).await;
    for (query, expected) in [("AMÉLIE", "Amélie"), ("amélie", "Amélie"), ("ça", "Ça")] {
        let page = stack
            .catalog
            .get("/v1/movies")
            .bearer(&token)
            .query(&[("title", query)])
            .send()
            .await
            .ok_json(200);
        assert_eq!(
            titles(page["items"].as_array().unwrap()),
            [expected],
            "title={query}"
        );
    }
    stack.stop().await;
}

#[tokio::test]
async fn list_rejects_bad_query_parameters_with_400_invalid_request() {
    let stack = support::start().await;
    let token = stack.admin_token().await;
    seed(&stack, &token, 2).await;
    let not_a_number = b64("abc");
    let cases: [(&str, &str); 12] = [
        ("limit", "0"),
        ("limit", "1001"),
        ("limit", "-1"),
        ("limit", "ten"),
        ("limit", "1.5"),
        ("year", "1887"),
        ("year", "2101"),
        ("year", "nineteen"),
        ("year", "1982.0"),
        ("cursor", "!!!"),
        ("cursor", &not_a_number),
        ("limit", "99999999999"),
    ];
    for (name, value) in cases {
        let reply = stack
            .catalog
            .get("/v1/movies")
            .bearer(&token)
            .query(&[(name, value)])
            .send()
            .await;
        assert_eq!(reply.status, 400, "{name}={value}: {}", reply.text());
        reply.expect_error(400, "invalid_request");
    }
    // The bounds themselves are fine.
    for (name, value) in [
        ("limit", "1"),
        ("limit", "1000"),
        ("year", "1888"),
        ("year", "2100"),
    ] {
        stack
            .catalog
            .get("/v1/movies")
            .bearer(&token)
            .query(&[(name, value)])
            .send()
            .await
            .expect(200);
    }
    stack.stop().await;
}
