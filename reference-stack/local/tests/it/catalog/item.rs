//! `GET`, `PUT` and `DELETE /v1/movies/{id}`: one movie read, replaced and deleted, and the
//! 400 / 404 answers for a bad or an unknown id.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::support::{self, movie_input, parse_time, poll};

use super::{MALFORMED_JSON, UNKNOWN_ID, invalid_movie_inputs};

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
