//! Validation of `[thresholds]`: known metrics, tags naming real steps and scenarios, and
//! aggregates that apply to the metric.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

use super::Validator;
use super::plan::{MetricRef, ScenarioPlan, ThresholdPlan};
use crate::threshold::{Aggregate, Condition};

/// The metrics a threshold can name.
pub const METRICS: [&str; 12] = [
    "http_req_duration",
    "http_req_failed",
    "http_reqs",
    "grpc_req_duration",
    "grpc_req_failed",
    "grpc_reqs",
    "checks",
    "iterations",
    "late_starts",
    "contract_violations",
    "event_latency",
    "events_lost",
];

impl Validator<'_> {
    pub(super) fn thresholds(
        &mut self,
        raw: &BTreeMap<String, Spanned<toml::Value>>,
        scenarios: &[ScenarioPlan],
    ) -> Vec<ThresholdPlan> {
        let steps: Vec<&str> = scenarios
            .iter()
            .flat_map(|s| s.steps.iter().map(|st| st.name.as_str()))
            .collect();
        let names: Vec<&str> = scenarios.iter().map(|s| s.name.as_str()).collect();
        let mut plans = Vec::new();
        for (key, entry) in raw {
            let span = entry.span();
            let Some((conditions, abort_on_fail)) = threshold_entry(entry.get_ref()) else {
                self.error(
                    span,
                    format!(
                        "{key}: expected a list of conditions, or {{ conditions = [...], abort_on_fail = true }}"
                    ),
                );
                continue;
            };
            let Some(metric) = self.metric_ref(key, span.clone(), &steps, &names) else {
                continue;
            };
            let mut parsed = Vec::new();
            for text in conditions {
                match Condition::parse(&text) {
                    Ok(c) => {
                        if let Err(e) = check_aggregate(&metric.name, &c) {
                            self.error(span.clone(), format!("{key}: {e}"));
                        }
                        parsed.push((text, c));
                    }
                    Err(e) => self.error(span.clone(), e.0),
                }
            }
            plans.push(ThresholdPlan {
                metric,
                conditions: parsed,
                abort_on_fail,
            });
        }
        plans
    }

    fn metric_ref(
        &mut self,
        key: &str,
        span: Range<usize>,
        steps: &[&str],
        scenarios: &[&str],
    ) -> Option<MetricRef> {
        let metric = match MetricRef::parse(key) {
            Ok(metric) => metric,
            Err(e) => {
                self.error(span, e);
                return None;
            }
        };
        if !METRICS.contains(&metric.name.as_str()) {
            let message = format!("unknown metric {:?} (known: {})", metric.name, METRICS.join(", "));
            self.error(span, message);
            return None;
        }
        if let Some(v) = metric.step.as_deref().filter(|v| !steps.contains(v)) {
            self.error(
                span,
                format!("{key}: no step named {v:?} (steps: {})", steps.join(", ")),
            );
            return None;
        }
        if let Some(v) = metric.scenario.as_deref().filter(|v| !scenarios.contains(v)) {
            let known = scenarios.join(", ");
            self.error(
                span,
                format!("{key}: no scenario named {v:?} (scenarios: {known})"),
            );
            return None;
        }
        Some(metric)
    }
}

/// The conditions and the abort flag of a `[thresholds]` value, if it has either form.
fn threshold_entry(value: &toml::Value) -> Option<(Vec<String>, bool)> {
    let strings = |v: &toml::Value| -> Option<Vec<String>> {
        v.as_array()?
            .iter()
            .map(|c| c.as_str().map(str::to_string))
            .collect()
    };
    match value {
        toml::Value::Array(_) => Some((strings(value)?, false)),
        toml::Value::Table(t) => {
            if t.keys().any(|k| k != "conditions" && k != "abort_on_fail") {
                return None;
            }
            let abort = match t.get("abort_on_fail") {
                None => false,
                Some(v) => v.as_bool()?,
            };
            Some((strings(t.get("conditions")?)?, abort))
        }
        _ => None,
    }
}

/// Which aggregates make sense for which metric.
fn check_aggregate(metric: &str, c: &Condition) -> Result<(), String> {
    let ok = match metric {
        "http_req_duration" | "grpc_req_duration" | "event_latency" => {
            if matches!(c.aggregate, Aggregate::Count) {
                true
            } else if matches!(c.aggregate, Aggregate::Rate) {
                false
            } else {
                if !c.is_duration {
                    return Err(format!("{c}: give the bound a unit, e.g. 250ms"));
                }
                true
            }
        }
        "http_req_failed" | "grpc_req_failed" | "checks" => {
            matches!(c.aggregate, Aggregate::Rate | Aggregate::Count)
        }
        _ => matches!(c.aggregate, Aggregate::Count),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{c} does not apply to {metric}"))
    }
}
