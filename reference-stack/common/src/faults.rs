//! Fault injection, off unless configured: per route (and optionally method), extra latency
//! and a share of requests answered with an error status. The harness's own tests and users
//! exploring the stack use it to make a service slow or flaky on purpose.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::ApiError;

/// One injected fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// The route template it applies to, as the service declares it (`/v1/movies/{id}`).
    pub route: String,
    /// Only this method (any when absent).
    #[serde(default)]
    pub method: Option<String>,
    /// Extra latency before the request is handled, milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// Share of requests (0 to 1) answered with `status` instead of being handled.
    #[serde(default)]
    pub error_rate: f64,
    /// The status of injected errors.
    #[serde(default = "default_status")]
    pub status: u16,
}

fn default_status() -> u16 {
    503
}

/// The faults of one service, shared by its requests.
#[derive(Clone, Default)]
pub struct Faults {
    faults: Arc<Vec<Fault>>,
    /// Requests seen by each fault: its rate holds for its own route and method, whatever
    /// the mix of other requests (one shared counter made every 20th request of the service
    /// fail, so alternating requests put all of a 5% rate on one of them).
    counters: Arc<Vec<AtomicU64>>,
}

impl Faults {
    /// Faults from configuration.
    pub fn new(faults: Vec<Fault>) -> Self {
        Faults {
            counters: Arc::new(faults.iter().map(|_| AtomicU64::new(0)).collect()),
            faults: Arc::new(faults),
        }
    }

    /// Whether any fault is configured.
    pub fn is_empty(&self) -> bool {
        self.faults.is_empty()
    }

    /// Deterministic spread of errors: the n-th request of fault `index` fails when its
    /// fraction crosses the rate.
    fn fails(&self, index: usize, rate: f64) -> bool {
        let n = self.counters[index].fetch_add(1, Ordering::Relaxed);
        let before = (n as f64 * rate).floor();
        let after = ((n + 1) as f64 * rate).floor();
        after > before
    }
}

/// The middleware: applies the first fault matching the request's route and method.
pub async fn inject(State(faults): State<Faults>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string());
    let fault = route.as_deref().and_then(|route| {
        faults.faults.iter().enumerate().find(|(_, f)| {
            f.route == route
                && f.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(req.method().as_str()))
        })
    });
    let Some((index, fault)) = fault.map(|(i, f)| (i, f.clone())) else {
        return next.run(req).await;
    };
    if fault.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(fault.latency_ms)).await;
    }
    if fault.error_rate > 0.0 && faults.fails(index, fault.error_rate) {
        let status = StatusCode::from_u16(fault.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return ApiError::new(status, "injected_fault", "fault injected by configuration").into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_rate_is_exact_over_many_requests() {
        let fault = |method: &str| Fault {
            route: "/r".into(),
            method: Some(method.into()),
            latency_ms: 0,
            error_rate: 0.05,
            status: 503,
        };
        let f = Faults::new(vec![fault("GET"), fault("POST")]);
        let failed = (0..1000).filter(|_| f.fails(0, 0.25)).count();
        assert_eq!(failed, 250);
        // Interleaved requests of two faults each get their own rate.
        let (mut get, mut post) = (0, 0);
        for _ in 0..1000 {
            get += usize::from(f.fails(0, 0.05));
            post += usize::from(f.fails(1, 0.05));
        }
        assert_eq!((get, post), (50, 50));
    }
}
