//! Forwarding a routed request to its upstream: an instance picked per attempt, the route's
//! deadline over all attempts, retries only for idempotent methods (whose body is then kept in
//! memory to be sent again), and each failure recorded against the instance (consecutive
//! failures eject it).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http::{HeaderValue, Method, Request, Response, StatusCode, Version, header};
use http_body_util::{BodyExt, Limited};
use stack_common::ApiError;
use tokio::time::Instant;

use crate::balance::FailureOutcome;
use crate::config::MAX_RETRIES;
use crate::headers::{self, ClientHop, REQUEST_ID};
use crate::request_body::{Arrival, Payload, RequestBody, arrival, is_limit_error};
use crate::respond::{self, Body, json_error};
use crate::upstream::Upstream;

use super::{Outcome, Proxy, Route};

/// Retries are only safe where repeating the request has no further effect (RFC 9110 §9.2.2).
fn idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE
    )
}

impl Proxy {
    pub(super) async fn forward<'a>(
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
