//! Tokens for the tests of token checks: the clock, base64url, JWTs signed with iam's real key
//! for claims iam would never issue ([`Forger`]), signed with another key, not signed at all, or
//! tampered with after signing. And the gRPC request that carries one.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use serde_json::{Value, json};
use stack_common::auth::Claims;

/// PKCS#8 v1 prefix of an Ed25519 private key (RFC 8410); the 32-byte seed follows.
pub const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// SubjectPublicKeyInfo prefix of an Ed25519 public key (RFC 8410); the 32-byte key follows.
pub const SPKI_ED25519_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    time::OffsetDateTime::now_utc().unix_timestamp() as u64
}

/// Parses an RFC 3339 timestamp (compare times as times: with trimmed fractions, RFC 3339
/// strings do not sort as text).
pub fn parse_time(text: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("{text} is not RFC 3339: {e}"))
}

/// base64url without padding.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding.
pub fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(text)
        .unwrap_or_else(|e| panic!("not base64url: {text}: {e}"))
}

/// A JWT's payload, decoded without any check.
pub fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("a JWT has a payload");
    serde_json::from_slice(&unb64(part)).expect("the payload is JSON")
}

/// A JWT's header, decoded without any check.
pub fn jwt_header(token: &str) -> Value {
    let part = token.split('.').next().expect("a JWT has a header");
    serde_json::from_slice(&unb64(part)).expect("the header is JSON")
}

/// iam's signing key as it keeps it, PKCS#8 DER in `signing-key.der` of its data directory.
pub fn iam_signing_key(iam_data_dir: &Path) -> Vec<u8> {
    let path = iam_data_dir.join("signing-key.der");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Signs tokens with iam's real key (and others), for claims iam would never issue.
pub struct Forger {
    key: EncodingKey,
    /// iam's kid.
    pub kid: String,
    /// iam's public key (JWK `x`, base64url).
    pub x: String,
}

impl Forger {
    /// A forger with iam's private key (`der`, PKCS#8, see [`iam_signing_key`]) and the `kid`
    /// and `x` of its public `jwk` as iam's JWKS shows it.
    pub fn new(der: &[u8], jwk: &Value) -> Forger {
        Forger {
            key: EncodingKey::from_ed_der(der),
            kid: jwk["kid"].as_str().expect("kid").to_string(),
            x: jwk["x"].as_str().expect("x").to_string(),
        }
    }

    /// Claims iam would issue for the admin: valid for 5 minutes, both movie scopes, a fresh
    /// `jti`.
    pub fn claims(&self) -> Claims {
        let now = now();
        Claims {
            iss: "gauntlet-iam".into(),
            sub: "forged-subject".into(),
            aud: "gauntlet".into(),
            exp: now + 300,
            iat: now,
            jti: uuid::Uuid::new_v4().to_string(),
            scope: "movies:read movies:write".into(),
            client_id: None,
        }
    }

    /// An EdDSA header with iam's kid.
    pub fn header(&self) -> Header {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        header
    }

    /// Signs `claims` (any serialisable value) with iam's key and kid.
    pub fn sign<T: Serialize>(&self, claims: &T) -> String {
        jsonwebtoken::encode(&self.header(), claims, &self.key).expect("signing")
    }

    /// Signs `claims` with iam's key under another header.
    pub fn sign_with_header<T: Serialize>(&self, header: &Header, claims: &T) -> String {
        jsonwebtoken::encode(header, claims, &self.key).expect("signing")
    }

    /// Signs `claims` with iam's key under another `kid`.
    pub fn sign_with_kid<T: Serialize>(&self, kid: &str, claims: &T) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.to_string());
        self.sign_with_header(&header, claims)
    }

    /// The raw 32-byte public key.
    pub fn public_key(&self) -> Vec<u8> {
        let raw = unb64(&self.x);
        assert_eq!(raw.len(), 32, "an Ed25519 public key is 32 bytes");
        raw
    }
}

/// A fresh Ed25519 key (not iam's), PKCS#8 DER.
pub fn other_ed25519_key() -> EncodingKey {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).expect("randomness");
    EncodingKey::from_ed_der(&[PKCS8_ED25519_PREFIX.as_slice(), &seed].concat())
}

/// An unsigned `alg: none` token.
pub fn alg_none_token<T: Serialize>(kid: &str, claims: &T) -> String {
    let header = json!({"alg": "none", "typ": "JWT", "kid": kid});
    format!(
        "{}.{}.",
        b64(serde_json::to_vec(&header).unwrap()),
        b64(serde_json::to_vec(claims).unwrap())
    )
}

/// An HS256 token whose HMAC secret is `secret` (the public-key confusion attack).
pub fn hs256_token<T: Serialize>(kid: &str, secret: &[u8], claims: &T) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid.to_string());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret)).expect("signing")
}

/// `token` with one character of its signature changed (in the middle, so every bit of the
/// changed character is significant).
pub fn tamper_signature(token: &str) -> String {
    let (head, signature) = token.rsplit_once('.').expect("a JWT");
    let mut sig: Vec<char> = signature.chars().collect();
    let i = sig.len() / 2;
    sig[i] = if sig[i] == 'A' { 'B' } else { 'A' };
    let tampered = format!("{head}.{}", sig.into_iter().collect::<String>());
    assert_ne!(tampered, token);
    tampered
}

/// `token` with its payload replaced by `change(payload)`, the signature kept.
pub fn tamper_payload(token: &str, change: impl FnOnce(&mut Value)) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT");
    let mut claims = payload(token);
    change(&mut claims);
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(serde_json::to_vec(&claims).unwrap()),
        parts[2]
    );
    assert_ne!(tampered, token);
    tampered
}

/// A gRPC request carrying `authorization: Bearer token`.
pub fn authed<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ASCII metadata"),
    );
    request
}
