//! `POST /v1/users`: registration, the boundaries of username and password, and the documented
//! refusals (400 invalid input, 409 a taken name, 415 not JSON, 413 too large).

use serde_json::json;

use crate::support::{self, now, password_form, payload};

#[tokio::test]
async fn register_user_returns_201_with_the_user_and_the_user_can_log_in() {
    let stack = support::start().await;
    let before = now();
    let user = stack
        .register_user(&json!({"username": "alice", "password": "alice-password"}))
        .await
        .ok_json(201);
    assert_eq!(user["username"], "alice");
    assert_eq!(user["scopes"], json!(["movies:read", "movies:write"]));
    let id = user["id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{user}");
    support::parse_time(user["created_at"].as_str().unwrap());
    assert!(user.get("password").is_none() && user.get("password_hash").is_none());

    // The user logs in; the token's subject is the user id.
    let token = stack.password_token("alice", "alice-password", None).await;
    let claims = payload(&token);
    assert_eq!(claims["sub"], id);
    assert!(claims["iat"].as_u64().unwrap() >= before);
    stack.stop().await;
}

#[tokio::test]
async fn register_user_accepts_the_boundaries_of_username_and_password() {
    let stack = support::start().await;
    let cases = [
        ("abc".to_string(), "p".repeat(8)),
        ("a".repeat(32), "p".repeat(128)),
        ("A_z.0-9".to_string(), "pässwörd".to_string()),
    ];
    for (username, password) in cases {
        let user = stack
            .register_user(&json!({"username": username, "password": password}))
            .await
            .ok_json(201);
        assert_eq!(user["username"], username.as_str());
    }
    stack.stop().await;
}

#[tokio::test]
async fn register_user_rejects_invalid_input_with_400_invalid_request() {
    let stack = support::start().await;
    let json_cases = [
        (
            "username too short",
            json!({"username": "ab", "password": "password1"}),
        ),
        (
            "username too long",
            json!({"username": "a".repeat(33), "password": "password1"}),
        ),
        (
            "username with a space",
            json!({"username": "bad name", "password": "password1"}),
        ),
        (
            "username with a slash",
            json!({"username": "bad/name", "password": "password1"}),
        ),
        (
            "username not ASCII",
            json!({"username": "zoë", "password": "password1"}),
        ),
        (
            "password too short",
            json!({"username": "bob", "password": "1234567"}),
        ),
        (
            "password too long",
            json!({"username": "bob", "password": "p".repeat(129)}),
        ),
        ("missing password", json!({"username": "bob"})),
        ("missing username", json!({"password": "password1"})),
        (
            "unknown field",
            json!({"username": "bob", "password": "password1", "email": "b@x"}),
        ),
        (
            "username a number",
            json!({"username": 42, "password": "password1"}),
        ),
        ("password null", json!({"username": "bob", "password": null})),
        ("an array", json!([{"username": "bob", "password": "password1"}])),
        ("a string", json!("bob")),
    ];
    for (what, body) in json_cases {
        let reply = stack.register_user(&body).await;
        let err = reply.expect_error(400, "invalid_request");
        assert!(
            !err.to_string().contains("password1"),
            "{what}: the password is echoed: {err}"
        );
    }
    for (what, raw) in [
        ("malformed JSON", "{\"username\": \"bob\","),
        ("empty body", ""),
        (
            "trailing garbage",
            "{\"username\": \"bob\", \"password\": \"password1\"} x",
        ),
    ] {
        let reply = stack
            .iam
            .post("/v1/users")
            .raw("application/json", raw)
            .send()
            .await;
        let body = reply.expect_error(400, "invalid_request");
        assert!(body["error"]["message"].is_string(), "{what}");
    }
    // Nothing was created: bob is still free.
    stack
        .register_user(&json!({"username": "bob", "password": "password1"}))
        .await
        .expect(201);
    stack.stop().await;
}

#[tokio::test]
async fn register_user_with_a_taken_username_is_409_conflict() {
    let stack = support::start().await;
    let body = json!({"username": "carol", "password": "carol-password"});
    stack.register_user(&body).await.expect(201);
    let again = json!({"username": "carol", "password": "another-password"});
    let reply = stack.register_user(&again).await;
    reply.expect_error(409, "conflict");
    // The seeded admin's name is taken too.
    let admin = json!({"username": "admin", "password": "whatever-password"});
    stack.register_user(&admin).await.expect_error(409, "conflict");
    // The first registration's password still works; the second did not overwrite it.
    stack.password_token("carol", "carol-password", None).await;
    let reply = stack
        .request_token(&password_form("carol", "another-password", &[]))
        .await;
    reply.expect_error(400, "invalid_grant");
    stack.stop().await;
}

#[tokio::test]
async fn register_user_rejects_a_body_that_is_not_json_with_415() {
    let stack = support::start().await;
    let cases = [
        (
            "application/x-www-form-urlencoded",
            "username=dave&password=dave-password",
        ),
        (
            "text/plain",
            "{\"username\": \"dave\", \"password\": \"dave-password\"}",
        ),
        ("", "{\"username\": \"dave\", \"password\": \"dave-password\"}"),
    ];
    for (content_type, body) in cases {
        let reply = stack.iam.post("/v1/users").raw(content_type, body).send().await;
        reply.expect_error(415, "unsupported_media_type");
    }
    stack.stop().await;
}

#[tokio::test]
async fn iam_bodies_over_max_body_bytes_are_413_and_at_the_limit_are_accepted() {
    let stack = support::start_with(|o| o.iam.max_body_bytes = 1024).await;
    let pad = |json: String, len: usize| format!("{json}{}", " ".repeat(len - json.len()));
    let user = r#"{"username": "erin", "password": "erin-password"}"#.to_string();
    let reply = stack
        .iam
        .post("/v1/users")
        .raw("application/json", pad(user.clone(), 1025))
        .send()
        .await;
    reply.expect_error(413, "payload_too_large");
    stack
        .iam
        .post("/v1/users")
        .raw("application/json", pad(user, 1024))
        .send()
        .await
        .expect(201);

    let big = "x".repeat(2000);
    let form_cases = ["/v1/token", "/v1/tokens/introspect", "/v1/tokens/revoke"];
    for path in form_cases {
        let reply = stack
            .iam
            .post(path)
            .form(&[("grant_type", "password"), ("token", big.as_str())])
            .send()
            .await;
        reply.expect_error(413, "payload_too_large");
        let reply = stack
            .iam
            .post(path)
            .json(&json!({"grant_type": "password", "token": big}))
            .send()
            .await;
        reply.expect_error(413, "payload_too_large");
    }
    stack.stop().await;
}
