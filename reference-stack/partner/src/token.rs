//! partner's identity towards the stack: a client-credentials access token from iam, cached
//! and renewed before it expires, and the movie fetch that uses it.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{Request, Uri};
use http_body_util::Full;
use serde::Deserialize;

use crate::client::HttpClient;

/// Longest a token request to iam may take.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(10);

/// Why no token could be had.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// iam did not answer.
    #[error("iam unreachable: {0}")]
    Unreachable(String),
    /// iam refused the credentials or the scope.
    #[error("iam refused the client credentials: HTTP {status} {body}")]
    Refused {
        /// The status.
        status: u16,
        /// Its body (iam's error shape; never a secret).
        body: String,
    },
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
}

struct Cached {
    token: String,
    renew_at: Instant,
}

/// A cached client-credentials token.
pub struct TokenSource {
    http: HttpClient,
    token_url: String,
    client_id: String,
    client_secret: String,
    scope: String,
    renew_before: Duration,
    cached: tokio::sync::Mutex<Option<Cached>>,
}

impl TokenSource {
    /// A source asking `{iam_url}/v1/token`.
    pub fn new(
        http: HttpClient,
        iam_url: &str,
        client_id: String,
        client_secret: String,
        scope: String,
        renew_before: Duration,
    ) -> Self {
        TokenSource {
            http,
            token_url: format!("{}/v1/token", iam_url.trim_end_matches('/')),
            client_id,
            client_secret,
            scope,
            renew_before,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    /// A token valid for a while yet: the cached one, or a new one once it is due for renewal.
    /// Concurrent callers wait for one request to iam.
    pub async fn token(&self) -> Result<String, TokenError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && Instant::now() < c.renew_at
        {
            return Ok(c.token.clone());
        }
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.as_str()),
        ];
        if !self.scope.is_empty() {
            form.push(("scope", self.scope.as_str()));
        }
        let body = serde_urlencoded::to_string(&form).map_err(|e| TokenError::Unreachable(e.to_string()))?;
        let request = Request::post(&self.token_url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| TokenError::Unreachable(format!("{}: {e}", self.token_url)))?;
        let response = self
            .http
            .send(request, TOKEN_TIMEOUT)
            .await
            .map_err(TokenError::Unreachable)?;
        if !(200..300).contains(&response.status) {
            return Err(TokenError::Refused {
                status: response.status,
                body: String::from_utf8_lossy(&response.body).into_owned(),
            });
        }
        let granted: TokenResponse = serde_json::from_slice(&response.body)
            .map_err(|e| TokenError::Unreachable(format!("unreadable token response: {e}")))?;
        let lifetime = Duration::from_secs(granted.expires_in);
        // Renew `renew_before` ahead of expiry, but never later than half-way through the
        // lifetime, so a short-lived token is not used up to its last second.
        let margin = self.renew_before.min(lifetime / 2);
        *cached = Some(Cached {
            token: granted.access_token.clone(),
            renew_at: Instant::now() + lifetime - margin,
        });
        Ok(granted.access_token)
    }

    /// Forgets the cached token (after a 401: revoked, or keys rotated).
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }
}

/// The outcome of fetching a movie.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchOutcome {
    /// The final HTTP status, when a response came.
    pub status: Option<u16>,
    /// What went wrong, when the fetch did not return 200.
    pub error: Option<String>,
}

impl FetchOutcome {
    /// Whether the movie was fetched.
    pub fn ok(&self) -> bool {
        self.status == Some(200)
    }
}

/// Attempts per fetch: transient failures (no response, 5xx, 429) are retried with a short
/// pause; the event is recorded with the last outcome either way, so a broken catalog never
/// blocks the queue.
const ATTEMPTS: u32 = 3;

/// `GET {catalog_url}/movies/{id}` with a bearer token.
pub async fn fetch_movie(
    http: &HttpClient,
    tokens: &TokenSource,
    catalog_url: &str,
    movie_id: &str,
    timeout: Duration,
) -> FetchOutcome {
    let url = format!("{}/movies/{movie_id}", catalog_url.trim_end_matches('/'));
    // the movie id comes from a message: one that makes no URL is a failed fetch, not a panic
    let uri = match url.parse::<Uri>() {
        Ok(uri) => uri,
        Err(err) => {
            return FetchOutcome {
                status: None,
                error: Some(format!("{url}: {err}")),
            };
        }
    };
    let mut outcome = FetchOutcome {
        status: None,
        error: Some("not attempted".into()),
    };
    let mut refreshed = false;
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
        }
        let token = match tokens.token().await {
            Ok(token) => token,
            Err(err) => {
                outcome = FetchOutcome {
                    status: None,
                    error: Some(err.to_string()),
                };
                continue;
            }
        };
        let request = Request::get(uri.clone())
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .body(Full::default());
        let sent = match request {
            Ok(request) => http.send(request, timeout).await,
            Err(err) => Err(err.to_string()),
        };
        match sent {
            Err(err) => {
                outcome = FetchOutcome {
                    status: None,
                    error: Some(err),
                }
            }
            // read whole, so the connection is reused
            Ok(crate::client::Response { status, body }) => {
                if status == 200 {
                    return FetchOutcome {
                        status: Some(200),
                        error: None,
                    };
                }
                outcome = FetchOutcome {
                    status: Some(status),
                    error: Some(String::from_utf8_lossy(&body).chars().take(200).collect()),
                };
                if status == 401 && !refreshed {
                    // a token revoked or signed by a rotated key: one retry with a new one
                    refreshed = true;
                    tokens.invalidate().await;
                    continue;
                }
                if !(status >= 500 || status == 429) {
                    return outcome;
                }
            }
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use axum::routing::post;

    use super::*;

    /// A token endpoint issuing `tok-N` valid for `ttl` seconds; counts its calls.
    async fn issuer(ttl: u64) -> (String, Arc<AtomicU64>) {
        let calls = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&calls);
        let app = axum::Router::new().route(
            "/v1/token",
            post(move || {
                let n = counted.fetch_add(1, Ordering::SeqCst) + 1;
                async move {
                    axum::Json(serde_json::json!({ "access_token": format!("tok-{n}"), "expires_in": ttl }))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, calls)
    }

    #[tokio::test]
    async fn the_token_is_cached_then_renewed_before_it_expires() {
        // a 2 s token with a 60 s renewal margin: renewed half-way, after 1 s
        let (url, calls) = issuer(2).await;
        let source = TokenSource::new(
            HttpClient::new(None),
            &url,
            "c".into(),
            "s".into(),
            String::new(),
            Duration::from_secs(60),
        );
        assert_eq!(source.token().await.unwrap(), "tok-1");
        assert_eq!(source.token().await.unwrap(), "tok-1");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(
            source.token().await.unwrap(),
            "tok-2",
            "renewed before the 2 s expiry"
        );
        source.invalidate().await;
        assert_eq!(source.token().await.unwrap(), "tok-3");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }
}
