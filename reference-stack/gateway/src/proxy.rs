//! One request through the gateway: filter, route, authenticate, rate-limit, pick an instance,
//! forward with a deadline and bounded retries, record health, return the upstream's answer
//! (body and trailers streamed through), log and count it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, Version, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use stack_common::ApiError;
use tokio::time::Instant;

use crate::balance::FailureOutcome;
use crate::config::{GatewayConfig, RouteConfig};
use crate::headers::{self, REQUEST_ID};
use crate::ratelimit::{Decision, RateLimiter};
use crate::respond::{self, Body, BoxError};
use crate::stats::Stats;
use crate::upstream::Upstream;
use crate::{filter, respond::json_error};

/// A configured route, ready to serve.
pub struct Route {
    /// Its configuration.
    pub config: RouteConfig,
    methods: Vec<Method>,
    limiter: Option<RateLimiter>,
    upstream: Arc<Upstream>,
}

impl Route {
    /// A route over its upstream.
    pub fn new(config: RouteConfig, upstream: Arc<Upstream>) -> Route {
        Route {
            methods: config
                .methods
                .iter()
                .filter_map(|m| Method::from_bytes(m.as_bytes()).ok())
                .collect(),
            limiter: config.rate_limit.as_ref().map(RateLimiter::new),
            config,
            upstream,
        }
    }

    fn matches_path(&self, path: &str) -> bool {
        let prefix = self.config.prefix.as_str();
        prefix == "/"
            || path
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }

    fn takes(&self, method: &Method) -> bool {
        self.methods.is_empty() || self.methods.contains(method)
    }

    /// The upstream path for `path` (which this route matched).
    fn rewrite(&self, path: &str) -> String {
        match &self.config.rewrite {
            None => path.to_string(),
            Some(replacement) => {
                let rest = &path[self.config.prefix.len().min(path.len())..];
                let joined = format!("{replacement}{rest}");
                if joined.is_empty() { "/".into() } else { joined }
            }
        }
    }
}

/// What is shared by every request.
pub struct Proxy {
    /// Configuration as loaded.
    pub config: GatewayConfig,
    /// Routes in match order.
    pub routes: Vec<Route>,
    /// Upstreams by name.
    pub upstreams: Vec<Arc<Upstream>>,
    /// Edge token checks.
    pub auth: crate::auth::EdgeAuth,
    /// Counters and histograms.
    pub stats: Stats,
    /// The gateway's contract, served at `/openapi.yaml`.
    pub openapi: &'static str,
}

/// What the access log and metrics say about one request.
#[derive(Clone)]
struct Outcome {
    route: String,
    upstream: Option<SocketAddr>,
    attempts: u32,
}

impl Outcome {
    fn gateway(route: &str) -> Outcome {
        Outcome {
            route: route.to_string(),
            upstream: None,
            attempts: 0,
        }
    }
}

/// Retries are only safe where repeating the request has no further effect (RFC 9110 §9.2.2).
fn idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE
    )
}

impl Proxy {
    /// Serves one request from `peer`.
    pub async fn handle(
        self: &Arc<Self>,
        req: Request<Incoming>,
        peer: SocketAddr,
        tls: bool,
    ) -> Response<Body> {
        let start = Instant::now();
        let request_id = headers::request_id(req.headers());
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let (mut response, outcome) = self.dispatch(req, peer, tls, &request_id).await;
        headers::strip_hop_by_hop(response.headers_mut());
        response.headers_mut().insert(REQUEST_ID, request_id.clone());
        let elapsed = start.elapsed();
        let status = response.status().as_u16();
        self.stats
            .requests
            .observe(method.as_str(), &outcome.route, status, elapsed.as_secs_f64());
        if self.config.access_log {
            tracing::info!(
                target: "access",
                method = %method,
                path = %path,
                route = %outcome.route,
                status,
                upstream = %outcome.upstream.map(|a| a.to_string()).unwrap_or_default(),
                attempts = outcome.attempts,
                duration_ms = elapsed.as_secs_f64() * 1000.0,
                request_id = request_id.to_str().unwrap_or(""),
                client = %peer.ip(),
            );
        }
        response
    }

    async fn dispatch(
        self: &Arc<Self>,
        req: Request<Incoming>,
        peer: SocketAddr,
        tls: bool,
        request_id: &HeaderValue,
    ) -> (Response<Body>, Outcome) {
        if let Err(err) = filter::check(req.method(), req.uri(), req.headers(), &self.config.limits) {
            return (json_error(&err), Outcome::gateway("rejected"));
        }
        let path = req.uri().path();
        if req.method() == Method::GET
            && let Some(response) = self.own_endpoint(path)
        {
            return (response, Outcome::gateway(path));
        }
        let mut path_matched = false;
        let Some(route) = self.routes.iter().find(|r| {
            let m = r.matches_path(path);
            path_matched |= m;
            m && r.takes(req.method())
        }) else {
            let err = if path_matched {
                filter::method_not_allowed(req.method())
            } else {
                ApiError::not_found("no route for this path")
            };
            return (json_error(&err), Outcome::gateway("unmatched"));
        };
        let fail = |err: ApiError| {
            let response = if route.config.grpc {
                respond::grpc_error(&err)
            } else {
                json_error(&err)
            };
            (response, Outcome::gateway(&route.config.name))
        };

        // Edge authentication, then the rate limit keyed by who the token says the caller is.
        let mut consumer = None;
        if let Some(auth) = &route.config.auth {
            let authorization = match req.headers().get(header::AUTHORIZATION).map(|v| v.to_str()) {
                None => None,
                Some(Ok(v)) => Some(v),
                Some(Err(_)) => return fail(ApiError::invalid_token("malformed Authorization header")),
            };
            let checked = self.auth.authorize(authorization, auth.scope.as_deref()).await;
            match checked {
                Ok(claims) => consumer = Some(format!("sub:{}", claims.sub)),
                Err(err) => {
                    self.stats
                        .count("gateway_auth_rejected_total", &[("route", &route.config.name)]);
                    return fail(err);
                }
            }
        }
        let mut rate_headers = None;
        if let Some(limiter) = &route.limiter {
            let consumer = consumer.unwrap_or_else(|| format!("ip:{}", peer.ip()));
            match limiter.check(&consumer) {
                Decision::Allowed { remaining } => rate_headers = Some((limiter.burst(), remaining)),
                Decision::Limited { retry_after } => {
                    self.stats
                        .count("gateway_rate_limited_total", &[("route", &route.config.name)]);
                    let (mut response, outcome) = fail(ApiError::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        "rate_limited",
                        "too many requests; retry after the time in Retry-After",
                    ));
                    let wait = retry_after.as_secs_f64().ceil().max(1.0) as u64;
                    let h = response.headers_mut();
                    h.insert(header::RETRY_AFTER, HeaderValue::from(wait));
                    h.insert("ratelimit-limit", HeaderValue::from(limiter.burst()));
                    h.insert("ratelimit-remaining", HeaderValue::from(0));
                    h.insert("ratelimit-reset", HeaderValue::from(wait));
                    if let Ok(policy) = HeaderValue::from_str(&format!(
                        "{};w={}",
                        limiter.burst(),
                        limiter.window().as_secs_f64().ceil().max(1.0) as u64
                    )) {
                        h.insert("ratelimit-policy", policy);
                    }
                    return (response, outcome);
                }
            }
        }

        let (mut response, outcome) = self.forward(route, req, peer, tls, request_id).await;
        if let Some((limit, remaining)) = rate_headers {
            let h = response.headers_mut();
            h.insert("ratelimit-limit", HeaderValue::from(limit));
            h.insert("ratelimit-remaining", HeaderValue::from(remaining));
        }
        (response, outcome)
    }

    fn own_endpoint(&self, path: &str) -> Option<Response<Body>> {
        match path {
            "/healthz" => Some(respond::text(
                StatusCode::OK,
                "application/json",
                r#"{"status":"ok"}"#,
            )),
            "/readyz" => {
                // Ready when every upstream has an instance to send traffic to.
                let ready = self
                    .upstreams
                    .iter()
                    .all(|u| u.balancer.states().iter().any(|s| s.ready && !s.ejected));
                Some(if ready {
                    respond::text(StatusCode::OK, "application/json", r#"{"status":"ready"}"#)
                } else {
                    respond::text(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "application/json",
                        r#"{"status":"not_ready"}"#,
                    )
                })
            }
            "/metrics" => Some(respond::text(
                StatusCode::OK,
                "text/plain; version=0.0.4",
                self.stats.render(&self.upstreams),
            )),
            "/openapi.yaml" => Some(respond::text(StatusCode::OK, "application/yaml", self.openapi)),
            _ => None,
        }
    }

    async fn forward(
        &self,
        route: &Route,
        req: Request<Incoming>,
        peer: SocketAddr,
        tls: bool,
        request_id: &HeaderValue,
    ) -> (Response<Body>, Outcome) {
        let name = route.config.name.clone();
        let grpc = route.config.grpc;
        let fail = |err: ApiError, outcome: Outcome| {
            let response = if grpc {
                respond::grpc_error(&err)
            } else {
                json_error(&err)
            };
            (response, outcome)
        };
        let deadline = Instant::now() + Duration::from_millis(route.config.timeout_ms);
        let (mut parts, body) = req.into_parts();
        let max_attempts = if idempotent(&parts.method) {
            1 + route.config.retries
        } else {
            1
        };
        let limit = self.config.limits.max_body_bytes;
        let over_limit = Arc::new(std::sync::atomic::AtomicBool::new(false));
        // A request that may be sent twice needs its body kept; others stream through.
        let mut body = if max_attempts > 1 {
            match Limited::new(body, limit).collect().await {
                Ok(collected) => Payload::Buffered(collected.to_bytes()),
                Err(err) => {
                    let err = if is_limit_error(err.as_ref()) {
                        ApiError::payload_too_large(limit)
                    } else {
                        ApiError::invalid_request("cannot read the request body")
                    };
                    return fail(err, Outcome::gateway(&name));
                }
            }
        } else {
            let flag = Arc::clone(&over_limit);
            Payload::Streamed(Some(
                Limited::new(body, limit)
                    .map_err(move |err| {
                        // Remember it: by the time the client call fails, hyper may report
                        // the aborted exchange rather than this cause.
                        if err.is::<http_body_util::LengthLimitError>() {
                            flag.store(true, std::sync::atomic::Ordering::Relaxed);
                        }
                        err
                    })
                    .boxed(),
            ))
        };

        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .or_else(|| parts.uri.authority().map(|a| a.to_string()));
        headers::strip_hop_by_hop(&mut parts.headers);
        parts.headers.remove(header::HOST);
        headers::set_forwarded(&mut parts.headers, peer, tls, host.as_deref());
        parts.headers.insert(REQUEST_ID, request_id.clone());
        let path_and_query = {
            let path = route.rewrite(parts.uri.path());
            match parts.uri.query() {
                Some(q) => format!("{path}?{q}"),
                None => path,
            }
        };
        parts.version = if grpc { Version::HTTP_2 } else { Version::HTTP_11 };
        let upstream = &route.upstream;
        let client = if grpc { &upstream.h2c } else { &upstream.http1 };

        let mut tried: Vec<SocketAddr> = Vec::new();
        let mut outcome = Outcome::gateway(&name);
        let mut last_failure: Option<(Response<Body>, Outcome)> = None;
        for attempt in 0..max_attempts {
            if attempt > 0 {
                self.stats.count("gateway_retries_total", &[("route", &name)]);
                let backoff = Duration::from_millis(
                    route
                        .config
                        .retry_backoff_ms
                        .saturating_mul(1 << (attempt - 1).min(10)),
                );
                if Instant::now() + backoff >= deadline {
                    break;
                }
                tokio::time::sleep(backoff).await;
            }
            let Some(addr) = upstream.balancer.pick(&tried) else {
                if last_failure.is_some() {
                    break;
                }
                return fail(
                    ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "no_upstream",
                        format!("no healthy instance of {}", upstream.name),
                    ),
                    outcome,
                );
            };
            tried.push(addr);
            outcome.upstream = Some(addr);
            outcome.attempts = attempt + 1;
            let Ok(uri) = format!("http://{addr}{path_and_query}").parse::<http::Uri>() else {
                return fail(ApiError::invalid_request("malformed request target"), outcome);
            };
            // The head is copied only when another attempt may need it.
            let head = if attempt + 1 < max_attempts {
                parts.clone()
            } else {
                std::mem::replace(&mut parts, Request::new(()).into_parts().0)
            };
            let mut request = Request::from_parts(head, body.take());
            *request.uri_mut() = uri;

            match tokio::time::timeout_at(deadline, client.request(request)).await {
                Err(_elapsed) => {
                    // The time budget is spent: no retry. A slow instance counts as failing.
                    self.record_failure(upstream, addr);
                    return fail(
                        ApiError::new(
                            StatusCode::GATEWAY_TIMEOUT,
                            "upstream_timeout",
                            format!(
                                "{} did not answer within {} ms",
                                upstream.name, route.config.timeout_ms
                            ),
                        ),
                        outcome,
                    );
                }
                Ok(Err(err)) => {
                    if over_limit.load(std::sync::atomic::Ordering::Relaxed) {
                        return fail(ApiError::payload_too_large(limit), outcome);
                    }
                    tracing::warn!(upstream = %upstream.name, instance = %addr, error = %err, "upstream request failed");
                    self.record_failure(upstream, addr);
                    let err = ApiError::new(
                        StatusCode::BAD_GATEWAY,
                        "bad_gateway",
                        format!("{} could not be reached", upstream.name),
                    );
                    last_failure = Some(fail(err, outcome.clone()));
                }
                Ok(Ok(response)) => {
                    let status = response.status();
                    let response = response.map(|b| b.map_err(BoxError::from).boxed());
                    if matches!(status.as_u16(), 502..=504) {
                        self.record_failure(upstream, addr);
                        last_failure = Some((response, outcome.clone()));
                    } else {
                        upstream.balancer.record_success(addr);
                        return (response, outcome);
                    }
                }
            }
            if !body.can_replay() {
                break;
            }
        }
        last_failure.unwrap_or_else(|| {
            fail(
                ApiError::new(
                    StatusCode::GATEWAY_TIMEOUT,
                    "upstream_timeout",
                    format!(
                        "{} did not answer within {} ms",
                        upstream.name, route.config.timeout_ms
                    ),
                ),
                outcome,
            )
        })
    }

    fn record_failure(&self, upstream: &Upstream, addr: SocketAddr) {
        self.stats
            .count("gateway_upstream_failures_total", &[("upstream", &upstream.name)]);
        if upstream.balancer.record_failure(addr) == FailureOutcome::Ejected {
            tracing::warn!(upstream = %upstream.name, instance = %addr, "instance ejected after consecutive failures");
            self.stats.count(
                "gateway_ejections_total",
                &[("upstream", &upstream.name), ("instance", &addr.to_string())],
            );
        }
    }
}

/// A request body: kept for replay, or streamed once.
enum Payload {
    Buffered(Bytes),
    Streamed(Option<http_body_util::combinators::BoxBody<Bytes, BoxError>>),
}

impl Payload {
    fn take(&mut self) -> Body {
        match self {
            Payload::Buffered(bytes) => respond::full(bytes.clone()),
            Payload::Streamed(body) => body.take().unwrap_or_else(respond::empty),
        }
    }

    fn can_replay(&self) -> bool {
        matches!(self, Payload::Buffered(_))
    }
}

/// Whether an error (or what caused it) is the body-size limit.
fn is_limit_error(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        current = e.source();
    }
    false
}
