//! Bearer-token verification for resource servers (catalog, later the gateway): a JWKS cache
//! fetched from iam (by `kid`, fetched again on an unknown `kid`, at most once per
//! `jwks_min_refresh`), the claim checks, and a revocation list polled from iam.
//!
//! The algorithm is fixed by the key (EdDSA), never taken from the token, which is what refuses
//! `alg: none` and HS256-with-the-public-key forgeries.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::ApiError;

/// The claims iam puts in an access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Subject: user id, or client id for client credentials.
    pub sub: String,
    /// Audience.
    pub aud: String,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Issued at, seconds since the epoch.
    pub iat: u64,
    /// Token id (for revocation).
    pub jti: String,
    /// Space-separated scopes.
    pub scope: String,
    /// Set for client-credentials tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

impl Claims {
    /// Whether the token carries `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.split_ascii_whitespace().any(|s| s == scope)
    }
}

/// What a resource server checks tokens against.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// iam's base URL (JWKS at `/.well-known/jwks.json`, revocations at `/v1/revocations`).
    pub iam_url: String,
    /// Required `iss`.
    pub issuer: String,
    /// Required `aud`.
    pub audience: String,
    /// Least time between two JWKS fetches caused by unknown `kid`s.
    pub jwks_min_refresh: Duration,
    /// How often the revocation list is polled.
    pub revocation_refresh: Duration,
}

#[derive(Deserialize)]
struct RevocationList {
    revoked: Vec<RevokedToken>,
}

#[derive(Deserialize)]
struct RevokedToken {
    jti: String,
}

/// The token of an `Authorization: Bearer TOKEN` header value. A missing header, another
/// scheme (Basic, ...) or an empty token is `missing_token`: RFC 6750 §3.1 says answer those
/// without an error attribute.
pub fn bearer_token(authorization: Option<&str>) -> Result<&str, ApiError> {
    let header = authorization.ok_or_else(ApiError::missing_token)?;
    match header.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(token.trim())
        }
        _ => Err(ApiError::missing_token()),
    }
}

/// Checks bearer tokens; shared by all requests of a service.
pub struct TokenVerifier {
    config: VerifierConfig,
    http: reqwest::Client,
    validation: Validation,
    keys: RwLock<HashMap<String, DecodingKey>>,
    last_jwks_fetch: tokio::sync::Mutex<Option<Instant>>,
    revoked: RwLock<HashSet<String>>,
    revocations_synced: Mutex<Option<Instant>>,
}

impl TokenVerifier {
    /// A verifier with an empty key cache (keys are fetched on first use).
    pub fn new(config: VerifierConfig) -> Arc<Self> {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Arc::new(TokenVerifier {
            config,
            http,
            validation,
            keys: RwLock::default(),
            last_jwks_fetch: tokio::sync::Mutex::new(None),
            revoked: RwLock::default(),
            revocations_synced: Mutex::new(None),
        })
    }

    /// Verifies an `Authorization` header value and requires `scope`.
    pub async fn authorize(&self, authorization: Option<&str>, scope: &str) -> Result<Claims, ApiError> {
        let claims = self.verify(bearer_token(authorization)?).await?;
        if !claims.has_scope(scope) {
            return Err(ApiError::insufficient_scope(scope));
        }
        Ok(claims)
    }

    /// Verifies a token's signature and claims (no scope check).
    pub async fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| ApiError::invalid_token(format!("malformed token: {e}")))?;
        if header.alg != Algorithm::EdDSA {
            return Err(ApiError::invalid_token(format!(
                "algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let kid = header
            .kid
            .ok_or_else(|| ApiError::invalid_token("token has no kid"))?;
        let key = self.key(&kid).await?;
        let data = jsonwebtoken::decode::<Claims>(token, &key, &self.validation)
            .map_err(|e| ApiError::invalid_token(describe(&e)))?;
        let claims = data.claims;
        if self
            .revoked
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&claims.jti)
        {
            return Err(ApiError::invalid_token("token has been revoked"));
        }
        Ok(claims)
    }

    async fn key(&self, kid: &str) -> Result<DecodingKey, ApiError> {
        if let Some(key) = self.keys.read().unwrap_or_else(|p| p.into_inner()).get(kid) {
            return Ok(key.clone());
        }
        // Unknown kid: fetch the JWKS again, unless another request just did (one fetch at a
        // time, and at most one per `jwks_min_refresh`, so junk kids cannot flood iam).
        let mut last = self.last_jwks_fetch.lock().await;
        if let Some(key) = self.keys.read().unwrap_or_else(|p| p.into_inner()).get(kid) {
            return Ok(key.clone());
        }
        if last.is_none_or(|t| t.elapsed() >= self.config.jwks_min_refresh) {
            *last = Some(Instant::now());
            match self.fetch_jwks().await {
                Ok(keys) => *self.keys.write().unwrap_or_else(|p| p.into_inner()) = keys,
                Err(err) => tracing::warn!(error = %err, "cannot fetch JWKS from iam"),
            }
        }
        self.keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(kid)
            .cloned()
            .ok_or_else(|| ApiError::invalid_token(format!("unknown signing key {kid}")))
    }

    /// `GET path` at iam, its 2xx JSON body.
    async fn get_from_iam<T: DeserializeOwned>(&self, path: &str) -> Result<T, reqwest::Error> {
        let url = format!("{}{path}", self.config.iam_url);
        self.http.get(url).send().await?.error_for_status()?.json().await
    }

    async fn fetch_jwks(&self) -> Result<HashMap<String, DecodingKey>, reqwest::Error> {
        let set: JwkSet = self.get_from_iam("/.well-known/jwks.json").await?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let Some(kid) = jwk.common.key_id.clone() else {
                continue;
            };
            match DecodingKey::from_jwk(jwk) {
                Ok(key) => {
                    keys.insert(kid, key);
                }
                Err(err) => tracing::warn!(kid = %kid, error = %err, "skipping unusable JWK"),
            }
        }
        Ok(keys)
    }

    /// Fetches the revocation list once; returns how many tokens are revoked.
    pub async fn sync_revocations(&self) -> Result<usize, reqwest::Error> {
        let list: RevocationList = self.get_from_iam("/v1/revocations").await?;
        let set: HashSet<String> = list.revoked.into_iter().map(|r| r.jti).collect();
        let n = set.len();
        *self.revoked.write().unwrap_or_else(|p| p.into_inner()) = set;
        *self.revocations_synced.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        Ok(n)
    }

    /// Polls the revocation list every `revocation_refresh` until `shutdown` completes.
    pub fn spawn_revocation_poller(
        self: &Arc<Self>,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(this.config.revocation_refresh);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tokio::pin!(shutdown);
            loop {
                tokio::select! {
                    () = &mut shutdown => break,
                    _ = tick.tick() => {
                        if let Err(err) = this.sync_revocations().await {
                            tracing::warn!(error = %err, "cannot fetch the revocation list from iam");
                        }
                    }
                }
            }
        })
    }
}

fn describe(err: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match err.kind() {
        ErrorKind::ExpiredSignature => "token has expired".into(),
        ErrorKind::InvalidIssuer => "token has the wrong issuer".into(),
        ErrorKind::InvalidAudience => "token has the wrong audience".into(),
        ErrorKind::InvalidSignature => "token signature is invalid".into(),
        ErrorKind::InvalidAlgorithm => "token algorithm is not accepted".into(),
        ErrorKind::MissingRequiredClaim(c) => format!("token lacks the {c} claim"),
        other => format!("token is invalid ({other:?})"),
    }
}
