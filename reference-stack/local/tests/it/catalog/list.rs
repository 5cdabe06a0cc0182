//! `GET /v1/movies`: pagination (every movie exactly once, in creation order; the default page
//! size) and the filters by genre, year and title, and the refusal of bad query parameters.

use std::collections::HashSet;

use crate::support::{self, TestStack, b64, movie_input};

use super::{ids, list_all, seed, titles};

#[tokio::test]
async fn list_pagination_walks_every_movie_exactly_once_in_creation_order() {
    let stack = support::start().await;
    let (token, catalog) = stack.admin_catalog().await;
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
    let page = catalog
        .get("/v1/movies")
        .query(&[("limit", "5")])
        .send()
        .await
        .ok_json(200);
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let late = seed(&stack, &token, 1).await;
    catalog
        .delete(&format!("/v1/movies/{}", all[6]))
        .send()
        .await
        .expect(204);
    let rest = catalog
        .get("/v1/movies")
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
    let (token, catalog) = stack.admin_catalog().await;
    let created = seed(&stack, &token, 51).await;
    let page = catalog.get("/v1/movies").send().await.ok_json(200);
    let items = page["items"].as_array().unwrap();
    assert_eq!(ids(items), created[..50]);
    let cursor = page["next_cursor"].as_str().expect("a next page");
    let last = catalog
        .get("/v1/movies")
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
    let (token, catalog) = stack.admin_catalog().await;
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
        let reply = catalog.get("/v1/movies").query(&[(name, value)]).send().await;
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
        catalog
            .get("/v1/movies")
            .query(&[(name, value)])
            .send()
            .await
            .expect(200);
    }
    stack.stop().await;
}
