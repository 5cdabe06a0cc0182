//! `GET`, `PUT` and `DELETE /v1/movies/{id}`: one movie read, replaced and deleted, and the
//! 400 / 404 answers for a bad or an unknown id.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::support::{self, movie_input, movie_path, parse_time, poll};

use super::{UNKNOWN_ID, bad_movie_bodies, expect_bodies_refused};

#[tokio::test]
async fn get_movie_is_200_for_a_movie_400_for_a_non_uuid_and_404_for_an_unknown_id() {
    let stack = support::start().await;
    let (token, catalog) = stack.admin_catalog().await;
    let movie = stack
        .create_movie(&token, &movie_input("Alien", 1979, &["sci-fi"]))
        .await;
    let id = movie["id"].as_str().unwrap();
    let got = catalog.get(&format!("/v1/movies/{id}")).send().await.ok_json(200);
    assert_eq!(got, movie);
    // A UUID is a UUID in upper case too.
    let got = catalog
        .get(&format!("/v1/movies/{}", id.to_uppercase()))
        .send()
        .await
        .ok_json(200);
    assert_eq!(got["id"], movie["id"]);

    for bad in ["not-a-uuid", "123", "5d1c9e7a-2b3f-4c8d-9e0f-1a2b3c4d5e6", "%20"] {
        let reply = catalog.get(&format!("/v1/movies/{bad}")).send().await;
        reply.expect_error(400, "invalid_request");
    }
    let reply = catalog.get(&format!("/v1/movies/{UNKNOWN_ID}")).send().await;
    reply.expect_error(404, "not_found");
    stack.stop().await;
}

#[tokio::test]

async fn a_path_id_that_is_not_utf8_is_400_in_the_json_error_shape() {
    let stack = support::start().await;
    let (_, catalog) = stack.admin_catalog().await;
    for method in [Method::GET, Method::DELETE] {
        let reply = catalog.request(method, "/v1/movies/%FF").send().await;
        reply.expect_error(400, "invalid_request");
    }
    let reply = catalog
        .put("/v1/movies/%FF")
        .json(&movie_input("T", 2000, &[]))
        .send()
        .await;
    reply.expect_error(400, "invalid_request");
    stack.stop().await;
}

#[tokio::test]
async fn update_movie_replaces_every_input_field_and_bumps_updated_at() {
    let stack = support::start().await;
    let (token, catalog) = stack.admin_catalog().await;
    let movie = stack
        .create_movie(
            &token,
            &json!({"title": "Metropolis", "year": 1927, "genres": ["drama"], "rating": 8.3}),
        )
        .await;
    let path = movie_path(&movie);
    let created = parse_time(movie["created_at"].as_str().unwrap());

    // Bounded: the first PUT almost always lands in a later millisecond than the POST.
    let (updated, _) = poll(Duration::from_secs(2), || async {
        let updated = catalog
            .put(&path)
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
    let fetched = catalog.get(&path).send().await.ok_json(200);
    assert_eq!(fetched, updated);

    // Omitted genres become [], an omitted rating makes the movie unrated.
    let replaced = catalog
        .put(&path)
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
    let (token, catalog) = stack.admin_catalog().await;
    let movie = stack
        .create_movie(&token, &movie_input("Alien", 1979, &["sci-fi"]))
        .await;
    let path = movie_path(&movie);
    let valid = movie_input("Aliens", 1986, &[]);
    let reply = catalog.put("/v1/movies/not-a-uuid").json(&valid).send().await;
    reply.expect_error(400, "invalid_request");
    expect_bodies_refused(&catalog, Method::PUT, &path, bad_movie_bodies()).await;
    let reply = catalog
        .put(&format!("/v1/movies/{UNKNOWN_ID}"))
        .json(&valid)
        .send()
        .await;
    reply.expect_error(404, "not_found");
    // The movie is unchanged by all of that.
    let fetched = catalog.get(&path).send().await.ok_json(200);
    assert_eq!(fetched, movie);
    stack.stop().await;
}

#[tokio::test]
async fn delete_movie_is_204_then_the_movie_is_gone_400_for_a_bad_id_404_for_an_unknown_one() {
    let stack = support::start().await;
    let (token, catalog) = stack.admin_catalog().await;
    let keep = stack.create_movie(&token, &movie_input("Keep", 2000, &[])).await;
    let movie = stack.create_movie(&token, &movie_input("Alien", 1979, &[])).await;
    let path = movie_path(&movie);
    let reply = catalog.delete(&path).send().await.expect(204);
    assert!(reply.body.is_empty());
    catalog.get(&path).send().await.expect_error(404, "not_found");
    catalog.delete(&path).send().await.expect_error(404, "not_found");
    catalog
        .put(&path)
        .json(&movie_input("Alien", 1979, &[]))
        .send()
        .await
        .expect_error(404, "not_found");
    catalog
        .delete("/v1/movies/not-a-uuid")
        .send()
        .await
        .expect_error(400, "invalid_request");
    catalog
        .delete(&format!("/v1/movies/{UNKNOWN_ID}"))
        .send()
        .await
        .expect_error(404, "not_found");
    let page = catalog.get("/v1/movies").send().await.ok_json(200);
    assert_eq!(page["items"], json!([keep]));
    stack.stop().await;
}
