//! The gateway's Prometheus metrics: per-route request counts and latency (the stack's common
//! `Metrics`, labelled with the route name), counters of the policies at work (retries,
//! ejections, rate-limited and auth-rejected requests, upstream failures) and a gauge per
//! upstream instance saying whether it takes traffic.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};

use stack_common::metrics::Metrics;

use crate::upstream::Upstream;

/// Metrics shared by every request.
#[derive(Default)]
pub struct Stats {
    /// Requests by method, route and status, and their duration.
    pub requests: Metrics,
    counters: Mutex<BTreeMap<(&'static str, String), u64>>,
}

impl Stats {
    /// Adds one to counter `name{labels}`.
    pub fn count(&self, name: &'static str, labels: &[(&str, &str)]) {
        let labels = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
            .collect::<Vec<_>>()
            .join(",");
        *self
            .counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((name, labels))
            .or_default() += 1;
    }

    /// The value of counter `name` summed over its labels (for tests and logs).
    pub fn total(&self, name: &str) -> u64 {
        self.counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|((n, _), _)| *n == name)
            .map(|(_, v)| v)
            .sum()
    }

    /// The Prometheus text exposition.
    pub fn render(&self, upstreams: &[Arc<Upstream>]) -> String {
        let mut out = self.requests.render();
        let counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let mut last = "";
        for ((name, labels), value) in counters.iter() {
            if *name != last {
                let _ = writeln!(out, "# TYPE {name} counter");
                last = name;
            }
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
        out.push_str("# HELP gateway_upstream_instance_up 1 when the instance takes traffic (not ejected, last health check passed).\n");
        out.push_str("# TYPE gateway_upstream_instance_up gauge\n");
        for upstream in upstreams {
            for state in upstream.balancer.states() {
                let _ = writeln!(
                    out,
                    "gateway_upstream_instance_up{{upstream=\"{}\",instance=\"{}\"}} {}",
                    upstream.name,
                    state.addr,
                    u8::from(state.ready && !state.ejected)
                );
            }
        }
        out
    }
}
