//! Edge authentication: the stack's `TokenVerifier` (the checks catalog makes) behind a small
//! cache of tokens already verified. A client sends the same token on every request for its
//! lifetime, and an Ed25519 verification costs more than the rest of proxying; the cache keeps
//! the claims of a verified token for `token_cache_ms` (never past its `exp`), so a token that
//! is revoked is refused within `revocation_refresh_ms + token_cache_ms`. Failures are never
//! cached: a bad token pays the full check every time.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use stack_common::ApiError;
use stack_common::auth::{Claims, TokenVerifier, bearer_token};
use tokio::time::Instant;

use crate::FastHash;

/// Entries above this many are swept of the expired ones (and all dropped if that is not
/// enough), which bounds memory under a flood of distinct valid tokens.
const MAX_ENTRIES: usize = 10_000;

/// Token checks with a cache of successes.
pub struct EdgeAuth {
    verifier: Arc<TokenVerifier>,
    ttl: Duration,
    cache: RwLock<HashMap<String, (Arc<Claims>, Instant), FastHash>>,
}

impl EdgeAuth {
    /// Checks through `verifier`, caching successes for `ttl` (zero disables the cache).
    pub fn new(verifier: Arc<TokenVerifier>, ttl: Duration) -> Self {
        EdgeAuth {
            verifier,
            ttl,
            cache: RwLock::default(),
        }
    }

    /// The verifier (for its revocation poller).
    pub fn verifier(&self) -> &Arc<TokenVerifier> {
        &self.verifier
    }

    /// Checks an `Authorization` header value; requires `scope` when given.
    pub async fn authorize(
        &self,
        authorization: Option<&str>,
        scope: Option<&str>,
    ) -> Result<Arc<Claims>, ApiError> {
        let token = bearer_token(authorization)?;
        let claims = match self.cached(token) {
            Some(claims) => claims,
            None => {
                let claims = Arc::new(self.verifier.verify(token).await?);
                self.remember(token, &claims);
                claims
            }
        };
        if let Some(scope) = scope
            && !claims.has_scope(scope)
        {
            return Err(ApiError::insufficient_scope(scope));
        }
        Ok(claims)
    }

    fn cached(&self, token: &str) -> Option<Arc<Claims>> {
        let cache = self.cache.read().unwrap_or_else(|p| p.into_inner());
        let (claims, until) = cache.get(token)?;
        (Instant::now() < *until).then(|| Arc::clone(claims))
    }

    fn remember(&self, token: &str, claims: &Arc<Claims>) {
        if self.ttl.is_zero() {
            return;
        }
        let now_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        let left = claims.exp as f64 - now_unix;
        if left <= 0.0 {
            return;
        }
        let until = Instant::now() + self.ttl.min(Duration::from_secs_f64(left));
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_ENTRIES {
            let now = Instant::now();
            cache.retain(|_, (_, until)| *until > now);
            if cache.len() >= MAX_ENTRIES {
                cache.clear();
            }
        }
        cache.insert(token.to_string(), (Arc::clone(claims), until));
    }
}
