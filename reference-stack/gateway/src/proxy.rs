//! One request through the gateway: filter, route, authenticate, rate-limit, pick an instance,
//! forward with a deadline and bounded retries, record health, return the upstream's answer
//! (body streamed through; trailers too over HTTP/2, where gRPC needs them), log and count it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, Version, header};
use http_body_util::{BodyExt, Limited};
use stack_common::ApiError;
use tokio::time::Instant;

use crate::balance::FailureOutcome;
use crate::config::{GatewayConfig, MAX_RETRIES, RouteConfig};
use crate::headers::{self, ClientHop, REQUEST_ID};
use crate::ratelimit::{Consumer, Decision, RateLimiter};
pub use crate::request_body::RequestBody;
use crate::request_body::{Arrival, Payload, arrival, is_limit_error};
use crate::respond::{self, Body};
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

    /// The upstream target (origin form: path and query) for `uri`, whose path this route
    /// matched.
    fn upstream_target(&self, uri: &http::Uri) -> String {
        let path = uri.path();
        let query = uri.query();
        let mut target = String::with_capacity(path.len() + query.map_or(0, |q| q.len() + 1) + 8);
        match &self.config.rewrite {
            None => target.push_str(path),
            Some(replacement) => {
                target.push_str(replacement);
                target.push_str(&path[self.config.prefix.len().min(path.len())..]);
                if target.is_empty() {
                    target.push('/');
                }
            }
        }
        if let Some(query) = query {
            target.push('?');
            target.push_str(query);
        }
        target
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
struct Outcome<'a> {
    route: &'a str,
    upstream: Option<SocketAddr>,
    attempts: u32,
}

impl Outcome<'_> {
    fn gateway(route: &str) -> Outcome<'_> {
        Outcome {
            route,
            upstream: None,
            attempts: 0,
        }
    }
}

const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");

/// Retries are only safe where repeating the request has no further effect (RFC 9110 §9.2.2).
fn idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE
    )
}

impl Proxy {
    /// Serves one request from `peer` (the client end `hop` of its connection).
    pub async fn handle(
        self: &Arc<Self>,
        req: Request<RequestBody>,
        peer: SocketAddr,
        hop: &ClientHop,
    ) -> Response<Body> {
        let start = Instant::now();
        let request_id = headers::request_id(req.headers());
        let method = req.method().clone();
        // kept only for the access log: the request itself moves on to the upstream
        let logged_path = self.config.access_log.then(|| req.uri().path().to_string());
        let (mut response, outcome) = self.dispatch(req, peer, hop, &request_id).await;
        headers::strip_hop_by_hop(response.headers_mut());
        response.headers_mut().insert(REQUEST_ID, request_id.clone());
        let elapsed = start.elapsed();
        let status = response.status().as_u16();
        self.stats
            .requests
            .observe(method.as_str(), outcome.route, status, elapsed.as_secs_f64());
        if let Some(path) = logged_path {
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
        &self,
        req: Request<RequestBody>,
        peer: SocketAddr,
        hop: &ClientHop,
        request_id: &HeaderValue,
    ) -> (Response<Body>, Outcome<'_>) {
        if let Err(err) = filter::check(req.method(), req.uri(), req.headers(), &self.config.limits) {
            return (json_error(&err), Outcome::gateway("rejected"));
        }
        let path = req.uri().path();
        if req.method() == Method::GET
            && let Some((endpoint, response)) = self.own_endpoint(path)
        {
            return (response, Outcome::gateway(endpoint));
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
        let mut claims = None;
        if let Some(auth) = &route.config.auth {
            let authorization = match req.headers().get(header::AUTHORIZATION).map(|v| v.to_str()) {
                None => None,
                Some(Ok(v)) => Some(v),
                Some(Err(_)) => return fail(ApiError::invalid_token("malformed Authorization header")),
            };
            let checked = self.auth.authorize(authorization, auth.scope.as_deref()).await;
            match checked {
                Ok(checked) => claims = Some(checked),
                Err(err) => {
                    self.stats
                        .count("gateway_auth_rejected_total", &[("route", &route.config.name)]);
                    return fail(err);
                }
            }
        }
        let mut rate_headers = None;
        if let Some(limiter) = &route.limiter {
            let consumer = match &claims {
                Some(claims) => Consumer::Subject(&claims.sub),
                None => Consumer::Address(peer.ip()),
            };
            match limiter.check(consumer) {
                Decision::Allowed { remaining } => rate_headers = Some((limiter.burst_header(), remaining)),
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
                    h.insert(RATELIMIT_LIMIT, limiter.burst_header());
                    h.insert(RATELIMIT_REMAINING, HeaderValue::from(0));
                    h.insert(
                        HeaderName::from_static("ratelimit-reset"),
                        HeaderValue::from(wait),
                    );
                    if let Ok(policy) = HeaderValue::from_str(&format!(
                        "{};w={}",
                        limiter.burst(),
                        limiter.window().as_secs_f64().ceil().max(1.0) as u64
                    )) {
                        h.insert(HeaderName::from_static("ratelimit-policy"), policy);
                    }
                    return (response, outcome);
                }
            }
        }

        let (mut response, outcome) = self.forward(route, req, hop, request_id).await;
        if let Some((limit, remaining)) = rate_headers {
            let h = response.headers_mut();
            h.insert(RATELIMIT_LIMIT, limit);
            h.insert(RATELIMIT_REMAINING, HeaderValue::from(remaining));
        }
        (response, outcome)
    }

    /// The gateway's own `GET` endpoints: the endpoint's name and its answer.
    fn own_endpoint(&self, path: &str) -> Option<(&'static str, Response<Body>)> {
        let (endpoint, response) = match path {
            "/healthz" => (
                "/healthz",
                respond::text(StatusCode::OK, "application/json", r#"{"status":"ok"}"#),
            ),
            "/readyz" => {
                // Ready when every upstream has an instance to send traffic to.
                let ready = self
                    .upstreams
                    .iter()
                    .all(|u| u.balancer.states().iter().any(|s| s.ready && !s.ejected));
                let response = if ready {
                    respond::text(StatusCode::OK, "application/json", r#"{"status":"ready"}"#)
                } else {
                    respond::text(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "application/json",
                        r#"{"status":"not_ready"}"#,
                    )
                };
                ("/readyz", response)
            }
            "/metrics" => (
                "/metrics",
                respond::text(
                    StatusCode::OK,
                    "text/plain; version=0.0.4",
                    self.stats.render(&self.upstreams),
                ),
            ),
            "/openapi.yaml" => (
                "/openapi.yaml",
                respond::text(StatusCode::OK, "application/yaml", self.openapi),
            ),
            _ => return None,
        };
        Some((endpoint, response))
    }

    async fn forward<'a>(
        &'a self,
        route: &'a Route,
        req: Request<RequestBody>,
        hop: &ClientHop,
        request_id: &HeaderValue,
    ) -> (Response<Body>, Outcome<'a>) {
        let name = route.config.name.as_str();
        let grpc = route.config.grpc;
        let fail = |err: ApiError, outcome: Outcome<'a>| {
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
            1 + route.config.retries.min(MAX_RETRIES)
        } else {
            1
        };
        let limit = self.config.limits.max_body_bytes;
        // Set when a streamed body overran the limit (see below).
        let mut over_limit: Option<Arc<AtomicBool>> = None;
        // A body that has arrived whole (none, or a small one that came with the head: most
        // requests) is sent from memory on the gateway's own HTTP/1.1 client. Otherwise a
        // request that may be sent twice needs its body kept; others stream through.
        let mut body = match arrival(body) {
            Arrival::Whole(bytes) if bytes.len() > limit => {
                return fail(ApiError::payload_too_large(limit), Outcome::gateway(name));
            }
            Arrival::Whole(bytes) => Payload::Buffered(bytes),
            Arrival::Streaming(body) if max_attempts > 1 => match Limited::new(body, limit).collect().await {
                Ok(collected) => Payload::Buffered(collected.to_bytes()),
                Err(err) => {
                    let err = if is_limit_error(err.as_ref()) {
                        ApiError::payload_too_large(limit)
                    } else {
                        ApiError::invalid_request("cannot read the request body")
                    };
                    return fail(err, Outcome::gateway(name));
                }
            },
            Arrival::Streaming(body) => {
                let flag = Arc::clone(over_limit.insert(Arc::default()));
                Payload::Streamed(Some(
                    Limited::new(body, limit)
                        .map_err(move |err| {
                            // Remember it: by the time the client call fails, hyper may report
                            // the aborted exchange rather than this cause.
                            if err.is::<http_body_util::LengthLimitError>() {
                                flag.store(true, Ordering::Relaxed);
                            }
                            err
                        })
                        .boxed(),
                ))
            }
        };

        // The client's Host (HTTP/1.1), else its :authority (HTTP/2); the upstream gets its own.
        let host = parts.headers.remove(header::HOST).or_else(|| {
            parts
                .uri
                .authority()
                .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
        });
        headers::strip_hop_by_hop(&mut parts.headers);
        // One regrow at most for the forwarding headers and the request id, not one per insert.
        parts.headers.reserve(6);
        hop.apply(&mut parts.headers, host.as_ref());
        parts.headers.insert(REQUEST_ID, request_id.clone());
        let target = route.upstream_target(&parts.uri);
        parts.version = if grpc { Version::HTTP_2 } else { Version::HTTP_11 };
        let upstream = &route.upstream;

        // The instances tried so far (a retry goes elsewhere when it can).
        let mut tried = [SocketAddr::from(([0, 0, 0, 0], 0)); 1 + MAX_RETRIES as usize];
        let mut outcome = Outcome::gateway(name);
        let mut last_failure: Option<(Response<Body>, Outcome<'a>)> = None;
        for attempt in 0..max_attempts {
            if attempt > 0 {
                self.stats.count("gateway_retries_total", &[("route", name)]);
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
            let Some(addr) = upstream.balancer.pick(&tried[..attempt as usize]) else {
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
            tried[attempt as usize] = addr;
            outcome.upstream = Some(addr);
            outcome.attempts = attempt + 1;
            let sent = match &body {
                // The usual case: the head is borrowed, never copied.
                Payload::Buffered(bytes) if !grpc && bytes.len() <= crate::h1::MAX_BODY => {
                    let call = upstream
                        .http1
                        .send(addr, &parts.method, &target, &parts.headers, bytes);
                    tokio::time::timeout_at(deadline, call).await
                }
                _ => {
                    // hyper's clients take the request whole: the head is copied only when
                    // another attempt may need it.
                    let head = if attempt + 1 < max_attempts {
                        parts.clone()
                    } else {
                        std::mem::replace(&mut parts, Request::new(()).into_parts().0)
                    };
                    let mut request = Request::from_parts(head, body.take());
                    let Ok(uri) = http::Uri::try_from(target.as_str()) else {
                        return fail(ApiError::invalid_request("malformed request target"), outcome);
                    };
                    *request.uri_mut() = uri;
                    if grpc {
                        tokio::time::timeout_at(deadline, upstream.h2.send(addr, request)).await
                    } else {
                        tokio::time::timeout_at(deadline, upstream.http1.send_streamed(addr, request)).await
                    }
                }
            };

            match sent {
                Err(_elapsed) => {
                    // The time budget is spent: no retry. A slow instance counts as failing.
                    self.record_failure(upstream, addr);
                    return fail(upstream_timeout(route), outcome);
                }
                Ok(Err(err)) => {
                    if over_limit
                        .as_ref()
                        .is_some_and(|flag| flag.load(Ordering::Relaxed))
                    {
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
        last_failure.unwrap_or_else(|| fail(upstream_timeout(route), outcome))
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

/// 504: `route`'s upstream did not answer within its time budget.
fn upstream_timeout(route: &Route) -> ApiError {
    ApiError::new(
        StatusCode::GATEWAY_TIMEOUT,
        "upstream_timeout",
        format!(
            "{} did not answer within {} ms",
            route.upstream.name, route.config.timeout_ms
        ),
    )
}
