//! The token-rejection matrix: every way a bearer token can be bad, against catalog's REST and
//! gRPC APIs (and iam's introspection where iam can tell), plus revocation and scope.

use std::time::Duration;

use jsonwebtoken::{Algorithm, Header};
use serde_json::{Value, json};
use stack_catalog::proto::{CreateMovieRequest, GetMovieRequest, ListMoviesRequest, MovieInput};
use tonic::Code;

use crate::support::{
    self, Api, Forger, SPKI_ED25519_PREFIX, TestStack, alg_none_token, authed, hs256_token, movie_input, now,
    other_ed25519_key, password_form, payload, poll, tamper_payload, tamper_signature,
};

/// A bad token, and whether iam's introspection must also call it inactive (iam has one key
/// and does not look at `kid`, so it cannot tell an unknown or absent kid).
struct BadToken {
    name: &'static str,
    token: String,
    inactive_at_iam: bool,
}

/// Every forgery and defect, each on a token that is otherwise valid.
async fn bad_tokens(stack: &TestStack, forger: &Forger) -> Vec<BadToken> {
    let real = stack.admin_token().await;
    let claims = forger.claims();
    let public = forger.public_key();
    let spki = [SPKI_ED25519_PREFIX.as_slice(), &public].concat();
    let mut cases = vec![
        (
            "alg none, no signature",
            alg_none_token(&forger.kid, &claims),
            true,
        ),
        (
            "alg none, real token's claims and signature",
            {
                let header = json!({"alg": "none", "typ": "JWT", "kid": forger.kid});
                let parts: Vec<&str> = real.split('.').collect();
                format!("{}.{}.{}", support::b64(header.to_string()), parts[1], parts[2])
            },
            true,
        ),
        (
            "HS256 keyed with the raw public key (JWK x decoded)",
            hs256_token(&forger.kid, &public, &claims),
            true,
        ),
        (
            "HS256 keyed with the public key's DER (SubjectPublicKeyInfo)",
            hs256_token(&forger.kid, &spki, &claims),
            true,
        ),
        (
            "HS256 keyed with the JWK's x text",
            hs256_token(&forger.kid, forger.x.as_bytes(), &claims),
            true,
        ),
    ];
    let mut expired = forger.claims();
    expired.iat = now() - 3600;
    expired.exp = now() - 1800;
    cases.push(("expired", forger.sign(&expired), true));
    let mut just_expired = forger.claims();
    just_expired.iat = now() - 60;
    just_expired.exp = now() - 1;
    cases.push((
        "expired a second ago (no leeway)",
        forger.sign(&just_expired),
        true,
    ));
    let mut wrong_iss = forger.claims();
    wrong_iss.iss = "https://evil.example".into();
    cases.push(("wrong iss", forger.sign(&wrong_iss), true));
    let mut wrong_aud = forger.claims();
    wrong_aud.aud = "another-service".into();
    cases.push(("wrong aud", forger.sign(&wrong_aud), true));
    cases.push(("tampered signature", tamper_signature(&real), true));
    cases.push((
        "tampered payload (sub changed)",
        tamper_payload(&real, |c| c["sub"] = json!("someone-else")),
        true,
    ));
    cases.push((
        "tampered payload (exp extended)",
        tamper_payload(&real, |c| c["exp"] = json!(c["exp"].as_u64().unwrap() + 86_400)),
        true,
    ));
    cases.push((
        "truncated signature",
        real.rsplit_once('.').map(|(head, _)| format!("{head}.")).unwrap(),
        true,
    ));
    let mut unknown_kid = forger.header();
    unknown_kid.kid = Some("no-such-kid".into());
    cases.push((
        "unknown kid",
        forger.sign_with_header(&unknown_kid, &claims),
        false,
    ));
    cases.push((
        "no kid",
        forger.sign_with_header(&Header::new(Algorithm::EdDSA), &claims),
        false,
    ));
    cases.push((
        "another Ed25519 key under the real kid",
        jsonwebtoken::encode(&forger.header(), &claims, &other_ed25519_key()).unwrap(),
        true,
    ));
    let mut no_exp = serde_json::to_value(forger.claims()).unwrap();
    no_exp.as_object_mut().unwrap().remove("exp");
    cases.push(("no exp claim", forger.sign(&no_exp), true));
    let mut no_aud = serde_json::to_value(forger.claims()).unwrap();
    no_aud.as_object_mut().unwrap().remove("aud");
    cases.push(("no aud claim", forger.sign(&no_aud), true));
    cases.push(("not a JWT", "definitely-not-a-jwt".into(), true));
    cases
        .into_iter()
        .map(|(name, token, inactive_at_iam)| BadToken {
            name,
            token,
            inactive_at_iam,
        })
        .collect()
}

#[tokio::test]
async fn a_properly_forged_token_is_accepted_so_the_matrix_below_tests_one_defect_each() {
    let stack = support::start().await;
    let forger = stack.forger().await;
    let token = forger.sign(&forger.claims());
    stack.list_movies(&token).await.expect(200);
    stack
        .create_movie(&token, &movie_input("Forged", 2000, &[]))
        .await;
    let mut client = stack.grpc().await;
    let status = client
        .get_movie(authed(
            GetMovieRequest {
                id: "5d1c9e7a-2b3f-4c8d-9e0f-1a2b3c4d5e6f".into(),
            },
            &token,
        ))
        .await
        .expect_err("no such movie");
    assert_eq!(status.code(), Code::NotFound, "the token passed: {status:?}");
    assert_eq!(stack.introspect(&token).await["active"], true);
    drop(client);
    stack.stop().await;
}

#[tokio::test]
async fn catalog_rest_refuses_every_bad_token_with_401_invalid_token() {
    let stack = support::start().await;
    let forger = stack.forger().await;
    let cases = bad_tokens(&stack, &forger).await;
    for case in &cases {
        let catalog = stack.catalog.with_bearer(&case.token);
        let calls = [
            catalog.get("/v1/movies"),
            catalog
                .post("/v1/movies")
                .json(&movie_input(case.name, 2000, &[])),
            catalog.delete("/v1/movies/5d1c9e7a-2b3f-4c8d-9e0f-1a2b3c4d5e6f"),
        ];
        for call in calls {
            let reply = call.send().await;
            assert_eq!(reply.status, 401, "{}: {}", case.name, reply.text());
            reply.expect_invalid_token();
        }
    }
    // None of the POSTs created anything.
    let token = stack.admin_token().await;
    let page = stack.list_movies(&token).await.ok_json(200);
    assert_eq!(page, json!({"items": []}));
    stack.stop().await;
}

#[tokio::test]
async fn iam_introspection_calls_every_unverifiable_token_inactive() {
    let stack = support::start().await;
    let forger = stack.forger().await;
    for case in bad_tokens(&stack, &forger).await {
        let info = stack.introspect(&case.token).await;
        if case.inactive_at_iam {
            assert_eq!(info, json!({"active": false}), "{}", case.name);
        }
    }
    stack.stop().await;
}

#[tokio::test]
async fn catalog_grpc_refuses_every_bad_token_with_unauthenticated() {
    let stack = support::start().await;
    let forger = stack.forger().await;
    let mut client = stack.grpc().await;
    for case in bad_tokens(&stack, &forger).await {
        let status = client
            .list_movies(authed(ListMoviesRequest::default(), &case.token))
            .await
            .map(|_| ())
            .expect_err(case.name);
        assert_eq!(
            status.code(),
            Code::Unauthenticated,
            "ListMovies, {}: {status:?}",
            case.name
        );
        let create = CreateMovieRequest {
            movie: Some(MovieInput {
                title: case.name.into(),
                year: 2000,
                genres: vec![],
                rating: None,
            }),
        };
        let status = client
            .create_movie(authed(create, &case.token))
            .await
            .expect_err(case.name);
        assert_eq!(
            status.code(),
            Code::Unauthenticated,
            "CreateMovie, {}: {status:?}",
            case.name
        );
    }
    drop(client);
    stack.stop().await;
}

#[tokio::test]
async fn a_revoked_token_is_inactive_at_iam_at_once_and_refused_by_catalog_within_the_refresh() {
    let stack = support::start_with(|o| o.catalog.revocation_refresh_ms = 200).await;
    let (token, catalog) = stack.admin_catalog().await;
    let bystander = stack.admin_token().await;
    let jti = payload(&token)["jti"].clone();
    let mut client = stack.grpc().await;

    // Accepted before the revocation, over REST and gRPC.
    catalog.get("/v1/movies").send().await.expect(200);
    client
        .list_movies(authed(ListMoviesRequest::default(), &token))
        .await
        .expect("gRPC accepts the token before revocation");

    let result = stack
        .iam
        .post("/v1/tokens/revoke")
        .form(&[("token", token.as_str()), ("token_type_hint", "access_token")])
        .send()
        .await
        .ok_json(200);
    assert_eq!(result, json!({"revoked": true}));
    assert_eq!(
        stack.introspect(&token).await,
        json!({"active": false}),
        "inactive at once"
    );
    let list = stack.revocations().await;
    assert!(
        list["revoked"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["jti"] == jti),
        "{list}"
    );

    // catalog polls every 200 ms: refused well within 5 s.
    let (_, waited) = poll(Duration::from_secs(5), || async {
        (stack.list_movies(&token).await.status == 401).then_some(())
    })
    .await
    .expect("catalog refuses the revoked token within 5 s");
    eprintln!("catalog refused the revoked token after {waited:?}");
    let reply = catalog.get("/v1/movies").send().await;
    reply.expect_invalid_token();
    let reply = catalog
        .post("/v1/movies")
        .json(&movie_input("Revoked", 2000, &[]))
        .send()
        .await;
    reply.expect_invalid_token();
    let status = client
        .list_movies(authed(ListMoviesRequest::default(), &token))
        .await
        .map(|_| ())
        .expect_err("gRPC refuses the revoked token");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");

    // Revocation is per token: another token of the same user still works.
    stack.list_movies(&bystander).await.expect(200);
    assert_eq!(stack.introspect(&bystander).await["active"], true);
    drop(client);
    stack.stop().await;
}

#[tokio::test]
async fn a_token_without_the_scope_is_403_insufficient_scope_over_rest_and_permission_denied_over_grpc() {
    let stack = support::start().await;
    let read_only = stack.admin_token_with_scope("movies:read").await;
    assert_eq!(payload(&read_only)["scope"], "movies:read");
    let reply = stack
        .catalog
        .post("/v1/movies")
        .bearer(&read_only)
        .json(&movie_input("Alien", 1979, &[]))
        .send()
        .await;
    reply.expect_insufficient_scope("movies:write");
    stack.list_movies(&read_only).await.expect(200);
    let mut client = stack.grpc().await;
    let status = client
        .create_movie(authed(
            CreateMovieRequest {
                movie: Some(MovieInput {
                    title: "Alien".into(),
                    year: 1979,
                    genres: vec![],
                    rating: None,
                }),
            },
            &read_only,
        ))
        .await
        .expect_err("read-only token");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");

    // Scopes match whole words only, and an empty scope grants nothing.
    let forger = stack.forger().await;
    for scope in [
        "",
        "movies:readonly",
        "movies:read,movies:write",
        "MOVIES:READ",
        "movies",
    ] {
        let mut claims = forger.claims();
        claims.scope = scope.into();
        let token = forger.sign(&claims);
        let reply = stack.list_movies(&token).await;
        reply.expect_insufficient_scope("movies:read");
    }
    // Nothing was created by the refused calls.
    let page = stack.list_movies(&read_only).await.ok_json(200);
    assert_eq!(page["items"], Value::Array(vec![]));
    drop(client);
    stack.stop().await;
}

#[tokio::test]
async fn client_credentials_tokens_are_accepted_by_catalog() {
    let stack = support::start().await;
    let token = stack.client_token(None).await;
    let movie = stack.create_movie(&token, &movie_input("Alien", 1979, &[])).await;
    let page = stack.list_movies(&token).await.ok_json(200);
    assert_eq!(page["items"], json!([movie]));
    stack.stop().await;
}

#[tokio::test]
async fn an_issued_token_is_refused_once_its_lifetime_is_over() {
    let stack = support::start_with(|o| o.iam.token_ttl_secs = 2).await;
    let body = stack
        .request_token(&password_form("admin", "admin-password", &[]))
        .await
        .ok_json(200);
    assert_eq!(body["expires_in"], 2);
    let token = body["access_token"].as_str().unwrap().to_string();
    let catalog = stack.catalog.with_bearer(&token);
    let exp = payload(&token)["exp"].as_u64().unwrap();
    catalog.get("/v1/movies").send().await.expect(200);

    poll(Duration::from_secs(5), || async {
        (stack.list_movies(&token).await.status == 401).then_some(())
    })
    .await
    .expect("catalog refuses the token once it expired");
    assert!(now() >= exp, "refused before exp");
    catalog.get("/v1/movies").send().await.expect_invalid_token();
    assert_eq!(stack.introspect(&token).await, json!({"active": false}));
    let result = stack.revoke(&token).await;
    assert_eq!(
        result,
        json!({"revoked": false}),
        "an expired token is not revoked"
    );
    stack.stop().await;
}

fn jwks_fetches(metrics: &str) -> u64 {
    let prefix = "http_requests_total{method=\"GET\",route=\"/.well-known/jwks.json\",status=\"200\"} ";
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .map_or(0, |n| n.trim().parse().unwrap())
}

/// Sends `n` tokens with junk kids to catalog; returns how many JWKS fetches iam served meanwhile.
async fn jwks_fetches_caused_by_junk_kids(stack: &TestStack, forger: &Forger, n: usize) -> u64 {
    let before = jwks_fetches(&stack.iam.get("/metrics").send().await.expect(200).text());
    for i in 0..n {
        let mut header = forger.header();
        header.kid = Some(format!("junk-kid-{i}"));
        let junk = forger.sign_with_header(&header, &forger.claims());
        stack.list_movies(&junk).await.expect_invalid_token();
    }
    let after = jwks_fetches(&stack.iam.get("/metrics").send().await.expect(200).text());
    after - before
}

/// A stack whose catalog refetches the JWKS at most every `min_refresh_ms`, a forger, and the
/// admin's catalog client, whose first request (accepted) made catalog fetch the JWKS once.
async fn start_with_jwks_fetched(min_refresh_ms: u64) -> (TestStack, Forger, Api) {
    let stack = support::start_with(|o| o.catalog.jwks_min_refresh_ms = min_refresh_ms).await;
    let forger = stack.forger().await;
    let catalog = stack.catalog.with_bearer(&stack.admin_token().await);
    catalog.get("/v1/movies").send().await.expect(200);
    (stack, forger, catalog)
}

#[tokio::test]
async fn unknown_kids_make_catalog_refetch_the_jwks_at_most_once_per_jwks_min_refresh() {
    // No minimum: every unknown kid is looked up again at iam.
    let (stack, forger, _) = start_with_jwks_fetched(0).await;
    assert_eq!(jwks_fetches_caused_by_junk_kids(&stack, &forger, 3).await, 3);
    stack.stop().await;

    // A minute's minimum: after the first fetch, junk kids cause none.
    let (stack, forger, catalog) = start_with_jwks_fetched(60_000).await;
    assert_eq!(jwks_fetches_caused_by_junk_kids(&stack, &forger, 10).await, 0);
    // The known kid keeps working from the cache.
    catalog.get("/v1/movies").send().await.expect(200);
    stack.stop().await;
}
