//! iam's REST API: users, the token endpoint, introspection, revocation, the revocation list
//! and the JWKS; every documented status of each.

use std::time::Duration;

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use serde_json::{Value, json};
use stack_common::auth::Claims;

use crate::support::{self, jwt_header, now, payload, poll};

// ---------------------------------------------------------------------------------------------
// POST /v1/users

#[tokio::test]
async fn register_user_returns_201_with_the_user_and_the_user_can_log_in() {
    let stack = support::start().await;
    let before = now();
    let user = stack
        .iam
        .post("/v1/users")
        .json(&json!({"username": "alice", "password": "alice-password"}))
        .send()
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
            .iam
            .post("/v1/users")
            .json(&json!({"username": username, "password": password}))
            .send()
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
        let reply = stack.iam.post("/v1/users").json(&body).send().await;
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
        .iam
        .post("/v1/users")
        .json(&json!({"username": "bob", "password": "password1"}))
        .send()
        .await
        .expect(201);
    stack.stop().await;
}

#[tokio::test]
async fn register_user_with_a_taken_username_is_409_conflict() {
    let stack = support::start().await;
    let body = json!({"username": "carol", "password": "carol-password"});
    stack.iam.post("/v1/users").json(&body).send().await.expect(201);
    let again = json!({"username": "carol", "password": "another-password"});
    let reply = stack.iam.post("/v1/users").json(&again).send().await;
    reply.expect_error(409, "conflict");
    // The seeded admin's name is taken too.
    let admin = json!({"username": "admin", "password": "whatever-password"});
    stack
        .iam
        .post("/v1/users")
        .json(&admin)
        .send()
        .await
        .expect_error(409, "conflict");
    // The first registration's password still works; the second did not overwrite it.
    stack.password_token("carol", "carol-password", None).await;
    let reply = stack
        .iam
        .post("/v1/token")
        .form(&[
            ("grant_type", "password"),
            ("username", "carol"),
            ("password", "another-password"),
        ])
        .send()
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

// ---------------------------------------------------------------------------------------------
// POST /v1/token

#[tokio::test]
async fn password_grant_issues_an_eddsa_jwt_with_the_documented_claims_and_no_store() {
    let stack = support::start().await;
    let jwk = stack.jwk().await;
    let before = now();
    let reply = stack
        .iam
        .post("/v1/token")
        .form(&[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", "admin-password"),
        ])
        .send()
        .await
        .expect(200);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = reply.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["scope"], "movies:read movies:write");
    let token = body["access_token"].as_str().unwrap();

    let header = jwt_header(token);
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["kid"], jwk["kid"]);

    // The signature verifies with the published key.
    let key = DecodingKey::from_ed_components(jwk["x"].as_str().unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&["gauntlet-iam"]);
    validation.set_audience(&["gauntlet"]);
    let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims.iss, "gauntlet-iam");
    assert_eq!(claims.aud, "gauntlet");
    assert_eq!(claims.scope, "movies:read movies:write");
    assert_eq!(claims.client_id, None);
    assert!(claims.iat >= before && claims.iat <= now());
    assert_eq!(claims.exp, claims.iat + 900);
    assert!(uuid::Uuid::parse_str(&claims.jti).is_ok(), "{claims:?}");
    // The admin's subject is its user id, not its name.
    assert!(uuid::Uuid::parse_str(&claims.sub).is_ok(), "{claims:?}");

    // Each token gets its own jti.
    let other = stack.admin_token().await;
    assert_ne!(payload(&other)["jti"], json!(claims.jti));
    stack.stop().await;
}

#[tokio::test]
async fn users_get_the_configured_user_scopes_and_no_others() {
    let stack = support::start_with(|o| o.iam.user_scopes = vec!["movies:read".into()]).await;
    let user = stack
        .iam
        .post("/v1/users")
        .json(&json!({"username": "reader", "password": "reader-password"}))
        .send()
        .await
        .ok_json(201);
    assert_eq!(user["scopes"], json!(["movies:read"]));
    let token = stack.password_token("reader", "reader-password", None).await;
    assert_eq!(payload(&token)["scope"], "movies:read");
    let reply = stack
        .iam
        .post("/v1/token")
        .form(&[
            ("grant_type", "password"),
            ("username", "reader"),
            ("password", "reader-password"),
            ("scope", "movies:write"),
        ])
        .send()
        .await;
    reply.expect_error(400, "invalid_scope");
    stack.stop().await;
}

#[tokio::test]
async fn token_endpoint_accepts_json_as_well_as_form_bodies() {
    let stack = support::start().await;
    let reply = stack
        .iam
        .post("/v1/token")
        .json(&json!({"grant_type": "password", "username": "admin", "password": "admin-password", "scope": "movies:read"}))
        .send()
        .await
        .expect(200);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(reply.json()["scope"], "movies:read");
    let reply = stack
        .iam
        .post("/v1/token")
        .json(&json!({"grant_type": "client_credentials", "client_id": "demo-client", "client_secret": "demo-secret"}))
        .send()
        .await
        .expect(200);
    assert_eq!(reply.json()["scope"], "movies:read movies:write");
    stack.stop().await;
}

#[tokio::test]
async fn password_grant_narrows_to_the_requested_scope() {
    let stack = support::start().await;
    for (asked, granted) in [
        ("movies:read", "movies:read"),
        ("movies:write", "movies:write"),
        ("  movies:write   movies:read ", "movies:write movies:read"),
        ("", "movies:read movies:write"),
    ] {
        let body = stack
            .iam
            .post("/v1/token")
            .form(&[
                ("grant_type", "password"),
                ("username", "admin"),
                ("password", "admin-password"),
                ("scope", asked),
            ])
            .send()
            .await
            .ok_json(200);
        assert_eq!(body["scope"], granted, "asked {asked:?}");
        assert_eq!(payload(body["access_token"].as_str().unwrap())["scope"], granted);
    }
    stack.stop().await;
}

#[tokio::test]
async fn client_credentials_grant_works_with_body_credentials_and_with_http_basic() {
    let stack = support::start().await;
    let body = stack
        .iam
        .post("/v1/token")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "demo-client"),
            ("client_secret", "demo-secret"),
            ("scope", "movies:read"),
        ])
        .send()
        .await
        .ok_json(200);
    assert_eq!(body["scope"], "movies:read");
    let claims = payload(body["access_token"].as_str().unwrap());
    assert_eq!(claims["sub"], "demo-client");
    assert_eq!(claims["client_id"], "demo-client");
    assert_eq!(claims["scope"], "movies:read");

    let reply = stack
        .iam
        .post("/v1/token")
        .basic("demo-client", "demo-secret")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect(200);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = reply.json();
    assert_eq!(body["scope"], "movies:read movies:write");
    let claims = payload(body["access_token"].as_str().unwrap());
    assert_eq!(claims["client_id"], "demo-client");
    assert_eq!(claims["sub"], "demo-client");
    stack.stop().await;
}

#[tokio::test]
async fn token_endpoint_rejects_incomplete_requests_with_400_invalid_request() {
    let stack = support::start().await;
    let form_cases: [&[(&str, &str)]; 4] = [
        &[],
        &[("username", "admin"), ("password", "admin-password")],
        &[("grant_type", "password"), ("username", "admin")],
        &[("grant_type", "password"), ("password", "admin-password")],
    ];
    for form in form_cases {
        let reply = stack.iam.post("/v1/token").form(form).send().await;
        reply.expect_error(400, "invalid_request");
    }
    let json_cases = [
        json!({"grant_type": 1}),
        json!({"grant_type": "password", "username": ["admin"], "password": "admin-password"}),
        json!(["grant_type", "password"]),
    ];
    for body in json_cases {
        let reply = stack.iam.post("/v1/token").json(&body).send().await;
        reply.expect_error(400, "invalid_request");
    }
    for raw in ["{\"grant_type\": \"password\"", "null", ""] {
        let reply = stack
            .iam
            .post("/v1/token")
            .raw("application/json", raw)
            .send()
            .await;
        reply.expect_error(400, "invalid_request");
    }
    stack.stop().await;
}

#[tokio::test]
async fn wrong_user_credentials_are_400_invalid_grant() {
    let stack = support::start().await;
    for (username, password) in [
        ("admin", "wrong-password"),
        ("nobody", "admin-password"),
        ("admin", ""),
    ] {
        let reply = stack
            .iam
            .post("/v1/token")
            .form(&[
                ("grant_type", "password"),
                ("username", username),
                ("password", password),
            ])
            .send()
            .await;
        let body = reply.expect_error(400, "invalid_grant");
        assert!(
            !body.to_string().contains(password) || password.is_empty(),
            "{body}"
        );
    }
    stack.stop().await;
}

#[tokio::test]
async fn unknown_grant_types_are_400_unsupported_grant_type() {
    let stack = support::start().await;
    for grant in ["implicit", "authorization_code", "refresh_token", "PASSWORD"] {
        let reply = stack
            .iam
            .post("/v1/token")
            .form(&[
                ("grant_type", grant),
                ("username", "admin"),
                ("password", "admin-password"),
            ])
            .send()
            .await;
        reply.expect_error(400, "unsupported_grant_type");
    }
    stack.stop().await;
}

#[tokio::test]
async fn scopes_outside_the_allowed_ones_are_400_invalid_scope() {
    let stack = support::start().await;
    for scope in ["admin", "movies:read admin", "movies:delete", "MOVIES:READ"] {
        let reply = stack
            .iam
            .post("/v1/token")
            .form(&[
                ("grant_type", "password"),
                ("username", "admin"),
                ("password", "admin-password"),
                ("scope", scope),
            ])
            .send()
            .await;
        reply.expect_error(400, "invalid_scope");
        let reply = stack
            .iam
            .post("/v1/token")
            .basic("demo-client", "demo-secret")
            .form(&[("grant_type", "client_credentials"), ("scope", scope)])
            .send()
            .await;
        reply.expect_error(400, "invalid_scope");
    }
    stack.stop().await;
}

#[tokio::test]
async fn bad_client_credentials_are_401_invalid_client_with_a_basic_challenge_for_basic_auth() {
    let stack = support::start().await;
    let body_cases: [&[(&str, &str)]; 4] = [
        &[("client_id", "demo-client"), ("client_secret", "wrong-secret")],
        &[("client_id", "no-such-client"), ("client_secret", "demo-secret")],
        &[("client_id", "demo-client")],
        &[],
    ];
    for creds in body_cases {
        let mut form = vec![("grant_type", "client_credentials")];
        form.extend_from_slice(creds);
        let reply = stack.iam.post("/v1/token").form(&form).send().await;
        reply.expect_error(401, "invalid_client");
    }
    for (id, secret) in [("demo-client", "wrong-secret"), ("no-such-client", "demo-secret")] {
        let reply = stack
            .iam
            .post("/v1/token")
            .basic(id, secret)
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await;
        reply.expect_error(401, "invalid_client");
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Basic realm=\"gauntlet\""),
            "{id}"
        );
    }
    // A user's credentials are not a client's.
    let reply = stack
        .iam
        .post("/v1/token")
        .basic("admin", "admin-password")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await;
    reply.expect_error(401, "invalid_client");
    stack.stop().await;
}

#[tokio::test]
async fn token_endpoint_rejects_other_media_types_with_415() {
    let stack = support::start().await;
    for content_type in [
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/xml",
        "",
    ] {
        let reply = stack
            .iam
            .post("/v1/token")
            .raw(
                content_type,
                "grant_type=password&username=admin&password=admin-password",
            )
            .send()
            .await;
        reply.expect_error(415, "unsupported_media_type");
    }
    for path in ["/v1/tokens/introspect", "/v1/tokens/revoke"] {
        let reply = stack.iam.post(path).raw("text/plain", "token=abc").send().await;
        reply.expect_error(415, "unsupported_media_type");
    }
    stack.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Introspection, revocation, the revocation list, the JWKS.

#[tokio::test]
async fn introspection_reports_active_tokens_with_their_claims() {
    let stack = support::start().await;
    let token = stack.admin_token().await;
    let claims = payload(&token);
    let info = stack.introspect(&token).await;
    assert_eq!(info["active"], true);
    assert_eq!(info["token_type"], "Bearer");
    for field in ["sub", "scope", "exp", "iat", "iss", "aud", "jti"] {
        assert_eq!(info[field], claims[field], "{field}: {info}");
    }
    assert!(info.get("client_id").is_none(), "{info}");

    // JSON body, client-credentials token: client_id present.
    let client_token = stack.client_token(Some("movies:read")).await;
    let info = stack
        .iam
        .post("/v1/tokens/introspect")
        .json(&json!({"token": client_token, "token_type_hint": "access_token"}))
        .send()
        .await
        .ok_json(200);
    assert_eq!(info["active"], true);
    assert_eq!(info["client_id"], "demo-client");
    assert_eq!(info["sub"], "demo-client");
    assert_eq!(info["scope"], "movies:read");
    stack.stop().await;
}

#[tokio::test]
async fn introspection_reports_unverifiable_and_expired_tokens_as_inactive() {
    let stack = support::start().await;
    let forger = stack.forger().await;
    let valid = forger.sign(&forger.claims());
    assert_eq!(
        stack.introspect(&valid).await["active"],
        true,
        "a forged-but-valid token is active"
    );
    let mut expired = forger.claims();
    expired.exp = now() - 5;
    expired.iat = now() - 100;
    let mut wrong_aud = forger.claims();
    wrong_aud.aud = "someone-else".into();
    for token in [
        "not-a-jwt".to_string(),
        "a.b.c".to_string(),
        forger.sign(&expired),
        forger.sign(&wrong_aud),
        support::tamper_signature(&valid),
    ] {
        let info = stack.introspect(&token).await;
        assert_eq!(info, json!({"active": false}), "{token}");
    }
    stack.stop().await;
}

#[tokio::test]
async fn introspect_and_revoke_without_a_token_are_400_invalid_request() {
    let stack = support::start().await;
    for path in ["/v1/tokens/introspect", "/v1/tokens/revoke"] {
        let reply = stack
            .iam
            .post(path)
            .form(&[("token_type_hint", "access_token")])
            .send()
            .await;
        reply.expect_error(400, "invalid_request");
        let reply = stack.iam.post(path).json(&json!({})).send().await;
        reply.expect_error(400, "invalid_request");
        let reply = stack.iam.post(path).json(&json!({"token": 12})).send().await;
        reply.expect_error(400, "invalid_request");
        let reply = stack
            .iam
            .post(path)
            .raw("application/json", "{\"token\":")
            .send()
            .await;
        reply.expect_error(400, "invalid_request");
    }
    stack.stop().await;
}

#[tokio::test]
async fn revocation_makes_a_token_inactive_at_once_and_lists_it() {
    let stack = support::start().await;
    let empty = stack.iam.get("/v1/revocations").send().await.ok_json(200);
    assert_eq!(empty, json!({"revoked": []}));

    let token = stack.admin_token().await;
    let other = stack.admin_token().await;
    let claims = payload(&token);
    let result = stack
        .iam
        .post("/v1/tokens/revoke")
        .form(&[("token", token.as_str())])
        .send()
        .await
        .ok_json(200);
    assert_eq!(result, json!({"revoked": true}));
    assert_eq!(stack.introspect(&token).await, json!({"active": false}));
    // Only that token.
    assert_eq!(stack.introspect(&other).await["active"], true);

    let list = stack.iam.get("/v1/revocations").send().await.ok_json(200);
    assert_eq!(
        list,
        json!({"revoked": [{"jti": claims["jti"], "exp": claims["exp"]}]})
    );

    // JSON body works as well.
    let result = stack
        .iam
        .post("/v1/tokens/revoke")
        .json(&json!({"token": other}))
        .send()
        .await
        .ok_json(200);
    assert_eq!(result, json!({"revoked": true}));
    let list = stack.iam.get("/v1/revocations").send().await.ok_json(200);
    assert_eq!(list["revoked"].as_array().unwrap().len(), 2, "{list}");
    stack.stop().await;
}

#[tokio::test]
async fn the_revocation_list_drops_a_revoked_token_once_it_expires() {
    let stack = support::start().await;
    let forger = stack.forger().await;
    // Signed with iam's own key, so iam revokes it; it expires three seconds from now.
    let mut claims = forger.claims();
    claims.exp = now() + 3;
    let token = forger.sign(&claims);
    let result = stack
        .iam
        .post("/v1/tokens/revoke")
        .form(&[("token", token.as_str())])
        .send()
        .await
        .ok_json(200);
    assert_eq!(result, json!({"revoked": true}));
    let list = stack.iam.get("/v1/revocations").send().await.ok_json(200);
    assert_eq!(list, json!({"revoked": [{"jti": claims.jti, "exp": claims.exp}]}));
    poll(Duration::from_secs(8), || async {
        let list = stack.iam.get("/v1/revocations").send().await.ok_json(200);
        (list == json!({"revoked": []})).then_some(())
    })
    .await
    .expect("the expired revocation leaves the list within 8 s");
    assert!(now() >= claims.exp, "dropped before it expired");
    stack.stop().await;
}

#[tokio::test]
async fn revoking_a_token_iam_did_not_issue_or_that_expired_reports_revoked_false() {
    let stack = support::start().await;
    let forger = stack.forger().await;
    let mut expired = forger.claims();
    expired.exp = now() - 5;
    let foreign =
        jsonwebtoken::encode(&forger.header(), &forger.claims(), &support::other_ed25519_key()).unwrap();
    for token in ["garbage".to_string(), forger.sign(&expired), foreign] {
        let result = stack
            .iam
            .post("/v1/tokens/revoke")
            .form(&[("token", token.as_str())])
            .send()
            .await
            .ok_json(200);
        assert_eq!(result, json!({"revoked": false}), "{token}");
    }
    // None of them reached the list.
    let list = stack.iam.get("/v1/revocations").send().await.ok_json(200);
    assert_eq!(list, json!({"revoked": []}));
    stack.stop().await;
}

#[tokio::test]
async fn jwks_publishes_the_ed25519_key_of_signing_key_der() {
    let stack = support::start().await;
    let jwk = stack.jwk().await;
    assert_eq!(jwk["kty"], "OKP");
    assert_eq!(jwk["crv"], "Ed25519");
    assert_eq!(jwk["alg"], "EdDSA");
    assert_eq!(jwk["use"], "sig");
    assert!(!jwk["kid"].as_str().unwrap().is_empty());

    // The published x is the public half of the key file.
    let path = stack.running().data_dir.join("iam/signing-key.der");
    let der = std::fs::read(&path).unwrap();
    assert_eq!(der.len(), 48);
    assert_eq!(der[..16], support::PKCS8_ED25519_PREFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "signing-key.der must be private");
    }
    let derived = Jwk::from_encoding_key(&EncodingKey::from_ed_der(&der), Algorithm::EdDSA).unwrap();
    let derived: Value = serde_json::to_value(derived).unwrap();
    assert_eq!(jwk["x"], derived["x"]);
    assert_eq!(support::unb64(jwk["x"].as_str().unwrap()).len(), 32);
    stack.stop().await;
}

#[tokio::test]
async fn the_signing_key_persists_so_tokens_and_movies_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_path_buf();
    let stack = support::start_with(|o| o.data_dir = Some(data_dir.clone())).await;
    let kid = stack.jwk().await["kid"].clone();
    let token = stack.admin_token().await;
    let movie = stack
        .create_movie(&token, &support::movie_input("Solaris", 1972, &["sci-fi"]))
        .await;
    stack.stop().await;

    let stack = support::start_with(|o| o.data_dir = Some(data_dir.clone())).await;
    assert_eq!(stack.jwk().await["kid"], kid);
    let again = stack
        .catalog
        .get(&format!("/v1/movies/{}", movie["id"].as_str().unwrap()))
        .bearer(&token)
        .send()
        .await
        .ok_json(200);
    assert_eq!(again, movie);
    // The admin was not seeded twice.
    stack.admin_token().await;
    stack.stop().await;
}
