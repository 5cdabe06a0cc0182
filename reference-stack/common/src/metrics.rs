//! Prometheus metrics per route: a request counter by method, route template and status, and a
//! latency histogram by method and route. Kept deliberately small: two maps behind one mutex,
//! rendered in the Prometheus text format on `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

/// Upper bounds (seconds) of the latency histogram's buckets.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A Prometheus histogram: how many observations fell at or under each of fixed upper bounds
/// (cumulative), their count and their sum. The request durations here; partner's event
/// latencies.
pub struct Histogram<const N: usize> {
    bounds: &'static [f64; N],
    counts: [u64; N],
    count: u64,
    sum: f64,
}

impl<const N: usize> Histogram<N> {
    /// An empty histogram with these bucket upper bounds (ascending).
    pub const fn new(bounds: &'static [f64; N]) -> Self {
        Histogram {
            bounds,
            counts: [0; N],
            count: 0,
            sum: 0.0,
        }
    }

    /// Records one observation.
    pub fn observe(&mut self, value: f64) {
        self.count += 1;
        self.sum += value;
        for (count, bound) in self.counts.iter_mut().zip(self.bounds) {
            if value <= *bound {
                *count += 1;
            }
        }
    }

    /// Appends the family `name`'s sample lines (`_bucket` by `le`, `_sum`, `_count`) with
    /// `labels` (`key="value",...`; empty for none) to `out`, in the Prometheus text format.
    pub fn render(&self, out: &mut String, name: &str, labels: &str) {
        let le_after = if labels.is_empty() { "" } else { "," };
        for (bound, count) in self.bounds.iter().zip(self.counts) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{le_after}le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{le_after}le=\"+Inf\"}} {}",
            self.count
        );
        let braced = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braced} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braced} {}", self.count);
    }
}

/// Requests of one method on one route: counts by status, and their durations.
struct RouteStats {
    by_status: BTreeMap<u16, u64>,
    durations: Histogram<{ BUCKETS.len() }>,
}

impl Default for RouteStats {
    fn default() -> Self {
        RouteStats {
            by_status: BTreeMap::new(),
            durations: Histogram::new(&BUCKETS),
        }
    }
}

/// By method, then route: nested so that a request is counted by looking its names up as
/// `&str`, without building owned keys for every request.
#[derive(Default)]
struct Inner {
    by_method: BTreeMap<String, BTreeMap<String, RouteStats>>,
}

/// The entry of `map` named `key`, created empty on first use: the owned key is built only then.
fn named<'m, V: Default>(map: &'m mut BTreeMap<String, V>, key: &str) -> &'m mut V {
    if !map.contains_key(key) {
        map.insert(key.to_string(), V::default());
    }
    map.get_mut(key).expect("inserted above")
}

/// Renders a service's own metric families (Prometheus text, complete lines).
pub type Collector = Arc<dyn Fn() -> String + Send + Sync>;

/// A service's request metrics; cheap to clone (shared).
#[derive(Clone, Default)]
pub struct Metrics {
    inner: Arc<Mutex<Inner>>,
    // Families a service adds beside the HTTP ones (catalog's outbox, partner's consumer),
    // rendered after them on every scrape.
    collectors: Arc<Mutex<Vec<Collector>>>,
}

impl Metrics {
    /// Records one finished request.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let stats = named(named(&mut inner.by_method, method), route);
        *stats.by_status.entry(status).or_default() += 1;
        stats.durations.observe(seconds);
    }

    /// Adds a service's own families to every rendering of `/metrics`.
    pub fn add_collector(&self, collector: Collector) {
        self.collectors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(collector);
    }

    /// The Prometheus text exposition (version 0.0.4).
    pub fn render(&self) -> String {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        out.push_str("# HELP http_requests_total Requests served, by method, route and status.\n");
        out.push_str("# TYPE http_requests_total counter\n");
        let routes = || {
            inner
                .by_method
                .iter()
                .flat_map(|(method, routes)| routes.iter().map(move |(route, stats)| (method, route, stats)))
        };
        for (method, route, stats) in routes() {
            for (status, n) in &stats.by_status {
                let _ = writeln!(
                    out,
                    "http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }
        }
        out.push_str("# HELP http_request_duration_seconds Time to produce the response.\n");
        out.push_str("# TYPE http_request_duration_seconds histogram\n");
        for (method, route, RouteStats { durations, .. }) in routes() {
            let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
            durations.render(&mut out, "http_request_duration_seconds", &labels);
        }
        drop(inner);
        let collectors = self.collectors.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for collector in collectors {
            out.push_str(&collector());
        }
        out
    }
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Middleware recording every request under its route template (`/v1/movies/{id}`), so that
/// ids do not explode the label set; unmatched requests count under `unmatched`.
pub async fn track(State(metrics): State<Metrics>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(req).await;
    metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counter_and_cumulative_buckets() {
        let m = Metrics::default();
        m.observe("GET", "/v1/movies", 200, 0.003);
        m.observe("GET", "/v1/movies", 200, 0.2);
        m.observe("GET", "/v1/movies", 404, 0.001);
        let text = m.render();
        assert!(text.contains("http_requests_total{method=\"GET\",route=\"/v1/movies\",status=\"200\"} 2"));
        assert!(text.contains("http_requests_total{method=\"GET\",route=\"/v1/movies\",status=\"404\"} 1"));
        assert!(text.contains("le=\"0.005\"} 2\n"), "{text}");
        assert!(text.contains("le=\"0.25\"} 3\n"), "{text}");
        assert!(text.contains("http_request_duration_seconds_count{method=\"GET\",route=\"/v1/movies\"} 3"));
    }
}
