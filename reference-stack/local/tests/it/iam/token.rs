//! `POST /v1/token`: the password and client-credentials grants, the claims and scopes of what
//! they issue, and every documented refusal (400 invalid_request / invalid_grant /
//! unsupported_grant_type / invalid_scope, 401 invalid_client, 415).

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::json;
use stack_common::auth::Claims;

use crate::support::{self, jwt_header, now, password_form, payload};

#[tokio::test]
async fn password_grant_issues_an_eddsa_jwt_with_the_documented_claims_and_no_store() {
    let stack = support::start().await;
    let jwk = stack.jwk().await;
    let before = now();
    let reply = stack
        .request_token(&password_form("admin", "admin-password", &[]))
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
        .register_user(&json!({"username": "reader", "password": "reader-password"}))
        .await
        .ok_json(201);
    assert_eq!(user["scopes"], json!(["movies:read"]));
    let token = stack.password_token("reader", "reader-password", None).await;
    assert_eq!(payload(&token)["scope"], "movies:read");
    let reply = stack
        .request_token(&password_form(
            "reader",
            "reader-password",
            &[("scope", "movies:write")],
        ))
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
            .request_token(&password_form("admin", "admin-password", &[("scope", asked)]))
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
        .request_token(&[
            ("grant_type", "client_credentials"),
            ("client_id", "demo-client"),
            ("client_secret", "demo-secret"),
            ("scope", "movies:read"),
        ])
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
        let reply = stack.request_token(form).await;
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
        let reply = stack.request_token(&password_form(username, password, &[])).await;
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
            .request_token(&[
                ("grant_type", grant),
                ("username", "admin"),
                ("password", "admin-password"),
            ])
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
            .request_token(&password_form("admin", "admin-password", &[("scope", scope)]))
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
        let reply = stack.request_token(&form).await;
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
