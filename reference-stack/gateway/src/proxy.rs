//! One request through the gateway: filter, route, authenticate, rate-limit, pick an instance,
//! forward with a deadline and bounded retries, record health, return the upstream's answer
//! (body streamed through; trailers too over HTTP/2, where gRPC needs them), log and count it.

use std::net::SocketAddr;
use std::sync::Arc;

use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, header};
use stack_common::ApiError;
use tokio::time::Instant;

use crate::config::GatewayConfig;
use crate::headers::{self, ClientHop, REQUEST_ID};
use crate::ratelimit::{Consumer, Decision};
pub use crate::request_body::RequestBody;
use crate::respond::{self, Body};
use crate::stats::Stats;
use crate::upstream::Upstream;
use crate::{filter, respond::json_error};

mod forward;
mod route;

pub use route::Route;

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
}
