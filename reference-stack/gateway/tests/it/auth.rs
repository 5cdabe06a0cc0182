//! Edge authentication: every kind of bad token is refused by the gateway itself, in the
//! documented shape, and never reaches catalog (its own request counter stays put).

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use stack_catalog::proto::GetMovieRequest;

use crate::flow::checked;
use crate::support::{RunningGateway, Services, authed, b64, now, other_ed25519_key, sum_counter};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_token_is_rejected_at_the_edge() {
    let services = Services::start(1).await;
    let mut config = services.gateway_config();
    config.revocation_refresh_ms = 100;
    let gw = RunningGateway::start(config).await;
    let good = gw.admin_token().await;
    let forger = services.forger(&gw).await;
    let reached_before = services.catalog_requests("/v1/movies").await;

    let claims = forger.claims();
    let with = |change: &dyn Fn(&mut serde_json::Value)| {
        let mut c = serde_json::to_value(forger.claims()).unwrap();
        change(&mut c);
        forger.sign(&c)
    };
    let alg_none = format!(
        "{}.{}.",
        b64(serde_json::to_vec(&json!({"alg": "none", "typ": "JWT", "kid": forger.kid})).unwrap()),
        b64(serde_json::to_vec(&claims).unwrap())
    );
    let hs256 = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(forger.kid.clone());
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(forger.x.as_bytes())).unwrap()
    };
    let other_key = {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(forger.kid.clone());
        jsonwebtoken::encode(&header, &claims, &other_ed25519_key()).unwrap()
    };
    let tampered = {
        let parts: Vec<&str> = good.split('.').collect();
        let mut payload: serde_json::Value = serde_json::from_slice(&base64_decode(parts[1])).unwrap();
        payload["sub"] = json!("someone-else");
        format!(
            "{}.{}.{}",
            parts[0],
            b64(serde_json::to_vec(&payload).unwrap()),
            parts[2]
        )
    };
    let no_kid = {
        let header = Header::new(Algorithm::EdDSA);
        jsonwebtoken::encode(&header, &claims, &other_ed25519_key()).unwrap()
    };

    let invalid: Vec<(&str, String)> = vec![
        ("garbage", "not-a-jwt".into()),
        ("alg none", alg_none),
        ("HS256 keyed with the public key", hs256),
        ("signed by another key under iam's kid", other_key),
        ("payload changed after signing", tampered),
        ("wrong issuer", with(&|c| c["iss"] = json!("someone-else"))),
        ("wrong audience", with(&|c| c["aud"] = json!("another-api"))),
        ("expired", with(&|c| c["exp"] = json!(now() - 5))),
        (
            "no exp",
            with(&|c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
        ),
        ("unknown kid", forger.sign_with_kid("no-such-kid", &claims)),
        ("no kid", no_kid),
    ];
    for (case, token) in &invalid {
        let (status, headers, body) =
            checked(&gw, gw.http.get(gw.url("/api/movies")).bearer_auth(token)).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("invalid_token")),
            "{case}: {body}"
        );
        let challenge = headers["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.contains("error=\"invalid_token\""),
            "{case}: {challenge}"
        );
    }
    for (case, header) in [
        ("no header", None),
        ("Basic scheme", Some("Basic YWRtaW46YWRtaW4=")),
        ("empty bearer", Some("Bearer ")),
    ] {
        let mut request = gw.http.get(gw.url("/api/movies"));
        if let Some(h) = header {
            request = request.header("authorization", h);
        }
        let (status, headers, body) = checked(&gw, request).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("missing_token")),
            "{case}"
        );
        assert_eq!(headers["www-authenticate"], "Bearer realm=\"gauntlet\"", "{case}");
    }
    // A valid token without the route's scope: 403 naming the scope (also once the token's
    // claims are in the gateway's cache from an allowed read).
    let read_only = gw.token("admin", "admin-password", Some("movies:read")).await;
    let (status, _, _) = checked(&gw, gw.http.get(gw.url("/api/movies")).bearer_auth(&read_only)).await;
    assert_eq!(status, 200);
    let (status, headers, body) = checked(
        &gw,
        gw.http
            .post(gw.url("/api/movies"))
            .bearer_auth(&read_only)
            .json(&json!({"title": "x", "year": 2000})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("insufficient_scope"))
    );
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("scope=\"movies:write\"")
    );

    // A revoked token: refused once the gateway's revocation poll has seen it.
    let revoked = gw.admin_token().await;
    let (status, _, _) = checked(&gw, gw.http.get(gw.url("/api/movies")).bearer_auth(&revoked)).await;
    assert_eq!(status, 200);
    let (status, _, body) = checked(
        &gw,
        gw.http
            .post(gw.url("/iam/v1/tokens/revoke"))
            .form(&[("token", revoked.as_str())]),
    )
    .await;
    assert_eq!((status, body["revoked"].as_bool()), (200, Some(true)));
    let mut refused = false;
    for _ in 0..100 {
        let r = gw
            .http
            .get(gw.url("/api/movies"))
            .bearer_auth(&revoked)
            .send()
            .await
            .unwrap();
        if r.status() == 401 {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(refused, "the revoked token was still accepted 5 s later");

    // gRPC: the same checks, answered as gRPC statuses.
    let mut grpc = gw.grpc().await;
    let err = grpc
        .get_movie(tonic::Request::new(GetMovieRequest { id: "x".into() }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unauthenticated, "{err:?}");
    let err = grpc
        .get_movie(authed(GetMovieRequest { id: "x".into() }, &invalid[7].1))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (tonic::Code::Unauthenticated, "token has expired")
    );

    // None of the refused requests reached catalog: what catalog counted on /v1/movies is
    // exactly what the gateway let through on its two /api routes.
    let reached = services.catalog_requests("/v1/movies").await - reached_before;
    let grpc_reached = services
        .catalog_requests("/catalog.v1.MovieService/{*method}")
        .await;
    assert_eq!(grpc_reached, 0, "a refused gRPC call reached catalog");
    let metrics = gw.gateway.metrics();
    let mut forwarded = 0;
    let mut rejected = 0;
    for route in ["api-read", "api-write"] {
        let label = format!("route=\"{route}\"");
        let total = sum_counter(&metrics, "http_requests_total", &label);
        let refused = sum_counter(&metrics, "gateway_auth_rejected_total", &label);
        forwarded += total - refused;
        rejected += refused;
    }
    assert!(
        rejected > invalid.len() as u64 + 3,
        "{rejected} refused at the edge\n{metrics}"
    );
    assert_eq!(
        reached, forwarded,
        "catalog saw {reached} requests, the gateway forwarded {forwarded}"
    );
    assert!(reached >= 1, "the good requests reached catalog");
    gw.stop().await;
    services.stop().await;
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}
