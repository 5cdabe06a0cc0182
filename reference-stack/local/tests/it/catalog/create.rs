//! `POST /v1/movies`: what a new movie may be, the boundaries of every field, and the
//! documented refusals (400 invalid input, 415 not JSON, 413 too large).

use reqwest::Method;
use serde_json::json;

use crate::support::{self, movie_input, movie_path, parse_time};

use super::{bad_movie_bodies, expect_bodies_refused};

#[tokio::test]
async fn create_movie_returns_201_with_location_and_the_stored_movie() {
    let stack = support::start().await;
    let (token, catalog) = stack.admin_catalog().await;
    let reply = catalog
        .post("/v1/movies")
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
    let fetched = catalog
        .get(reply.header("location").unwrap())
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

#[tokio::test]
async fn create_movie_rejects_invalid_input_with_400_invalid_request() {
    let stack = support::start().await;
    let (_, catalog) = stack.admin_catalog().await;
    expect_bodies_refused(&catalog, Method::POST, "/v1/movies", bad_movie_bodies()).await;
    let hostile = vec![
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
    expect_bodies_refused(&catalog, Method::POST, "/v1/movies", hostile).await;
    // Nothing was stored.
    let page = catalog.get("/v1/movies").send().await.ok_json(200);
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
    let path = movie_path(&movie);
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
    let (token, catalog) = stack.admin_catalog().await;
    let movie = stack.create_movie(&token, &movie_input("Alien", 1979, &[])).await;
    let path = movie_path(&movie);
    let json = r#"{"title": "Padded", "year": 2000}"#;
    let pad = |len: usize| format!("{json}{}", " ".repeat(len - json.len()));
    for (method, target) in [(Method::POST, "/v1/movies"), (Method::PUT, path.as_str())] {
        let reply = catalog
            .request(method.clone(), target)
            .raw("application/json", pad(1025))
            .send()
            .await;
        reply.expect_error(413, "payload_too_large");
        let reply = catalog
            .request(method.clone(), target)
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
    let reply = catalog
        .post("/v1/movies")
        .raw("application/json", pad(64 * 1024))
        .send()
        .await;
    reply.expect_error(413, "payload_too_large");
    stack.stop().await;
}
