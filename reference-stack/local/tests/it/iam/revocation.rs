//! Introspection, revocation and the revocation list: which tokens are active, revoking one,
//! and when a revoked token leaves the list.

use std::time::Duration;

use serde_json::json;

use crate::support::{self, now, payload, poll};

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
        let calls = [
            stack.iam.post(path).form(&[("token_type_hint", "access_token")]),
            stack.iam.post(path).json(&json!({})),
            stack.iam.post(path).json(&json!({"token": 12})),
            stack.iam.post(path).raw("application/json", "{\"token\":"),
        ];
        for call in calls {
            call.send().await.expect_error(400, "invalid_request");
        }
    }
    stack.stop().await;
}

#[tokio::test]
async fn revocation_makes_a_token_inactive_at_once_and_lists_it() {
    let stack = support::start().await;
    let empty = stack.revocations().await;
    assert_eq!(empty, json!({"revoked": []}));

    let token = stack.admin_token().await;
    let other = stack.admin_token().await;
    let claims = payload(&token);
    let result = stack.revoke(&token).await;
    assert_eq!(result, json!({"revoked": true}));
    assert_eq!(stack.introspect(&token).await, json!({"active": false}));
    // Only that token.
    assert_eq!(stack.introspect(&other).await["active"], true);

    let list = stack.revocations().await;
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
    let list = stack.revocations().await;
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
    let result = stack.revoke(&token).await;
    assert_eq!(result, json!({"revoked": true}));
    let list = stack.revocations().await;
    assert_eq!(list, json!({"revoked": [{"jti": claims.jti, "exp": claims.exp}]}));
    poll(Duration::from_secs(8), || async {
        let list = stack.revocations().await;
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
        let result = stack.revoke(&token).await;
        assert_eq!(result, json!({"revoked": false}), "{token}");
    }
    // None of them reached the list.
    let list = stack.revocations().await;
    assert_eq!(list, json!({"revoked": []}));
    stack.stop().await;
}
