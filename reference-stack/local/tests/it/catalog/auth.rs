//! Authentication and scope on every movie operation: 401 without a usable token, 403 without
//! the operation's scope.

use crate::support::{self, movie_input, movie_path};

#[tokio::test]
async fn every_movie_operation_without_a_token_is_401_missing_token() {
    let stack = support::start().await;
    let token = stack.admin_token().await;
    let movie = stack.create_movie(&token, &movie_input("Alien", 1979, &[])).await;
    let path = movie_path(&movie);
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
    let path = movie_path(&movie);
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
