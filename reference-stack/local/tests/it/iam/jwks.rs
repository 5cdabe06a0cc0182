//! The JWKS: the published key is the one in `signing-key.der`, and it persists, so tokens and
//! movies survive a restart.

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::Value;

use crate::support::{self, movie_path};

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
        .get(&movie_path(&movie))
        .bearer(&token)
        .send()
        .await
        .ok_json(200);
    assert_eq!(again, movie);
    // The admin was not seeded twice.
    stack.admin_token().await;
    stack.stop().await;
}
