//! Judging a response: status, header and body checks, and extracting values for later steps.

use crate::scenario::plan::{ExtractFrom, GrpcStep, HttpStep};
use gauntlet_client::FailureKind;
use gauntlet_client::grpc::GrpcExchange;
use gauntlet_client::http::Exchange;

/// What a response was judged to be.
#[derive(Debug, Default)]
pub struct Outcome {
    pub failure: Option<FailureKind>,
    pub checks_passed: u64,
    pub checks_failed: u64,
}

impl Outcome {
    /// A request that got no response to judge.
    pub fn failed(kind: FailureKind) -> Self {
        Outcome {
            failure: Some(kind),
            ..Outcome::default()
        }
    }

    /// Counts one check; a failed one makes the request failed (by the first failed kind).
    pub fn check(&mut self, held: bool, kind: FailureKind) {
        if held {
            self.checks_passed += 1;
        } else {
            self.checks_failed += 1;
            self.failure = self.failure.or(Some(kind));
        }
    }
}

/// Whether judging a step's responses reads their bodies (else the client only counts them).
pub fn reads_body(step: &HttpStep) -> bool {
    !step.checks.body.is_empty()
        || !step.checks.matches.is_empty()
        || step
            .extract
            .iter()
            .any(|(_, from)| matches!(from, ExtractFrom::JsonPointer(_)))
}

/// Whether judging a step's responses reads their headers (else the client skips them).
pub fn reads_headers(step: &HttpStep) -> bool {
    !step.checks.headers.is_empty()
        || step
            .extract
            .iter()
            .any(|(_, from)| matches!(from, ExtractFrom::Header(_)))
}

/// Applies a step's checks and extractions to its response.
pub fn judge(step: &HttpStep, exchange: &Exchange, vars: &mut [String]) -> Outcome {
    let mut outcome = Outcome::default();
    if step.checks.status.is_empty() {
        outcome.failure = match exchange.status {
            400..=499 => Some(FailureKind::Status4xx),
            500.. => Some(FailureKind::Status5xx),
            _ => None,
        };
    } else {
        outcome.check(step.checks.status.contains(&exchange.status), FailureKind::Status);
    }
    let status_ok = outcome.failure.is_none();
    for header in &step.checks.headers {
        outcome.check(exchange.headers.contains_key(header), FailureKind::Check);
    }
    let json: Option<serde_json::Value> = if reads_body(step) {
        serde_json::from_slice(&exchange.body).ok()
    } else {
        None
    };
    for (pointer, expected) in &step.checks.body {
        outcome.check(
            json.as_ref().and_then(|j| j.pointer(pointer)) == Some(expected),
            FailureKind::Check,
        );
    }
    for (pointer, pattern) in &step.checks.matches {
        outcome.check(
            json.as_ref().is_some_and(|j| matches_at(j, pointer, pattern)),
            FailureKind::Check,
        );
    }
    if status_ok {
        for (slot, from) in &step.extract {
            let value = match from {
                ExtractFrom::JsonPointer(p) => json.as_ref().and_then(|j| j.pointer(p)).map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                }),
                ExtractFrom::Header(h) => exchange
                    .headers
                    .get(h)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
            };
            match value {
                Some(v) => vars[*slot] = v,
                None => outcome.failure = outcome.failure.or(Some(FailureKind::Extract)),
            }
        }
    }
    outcome
}

/// Applies a gRPC step's checks and extractions to its response.
pub fn judge_grpc(step: &GrpcStep, exchange: &GrpcExchange, vars: &mut [String]) -> Outcome {
    let mut outcome = Outcome::default();
    let allowed = if step.codes.is_empty() {
        &[tonic::Code::Ok][..]
    } else {
        &step.codes[..]
    };
    let code_ok = allowed.contains(&exchange.code);
    if step.codes.is_empty() {
        if !code_ok {
            outcome.failure = Some(FailureKind::Grpc(exchange.code as i32));
        }
    } else {
        outcome.check(code_ok, FailureKind::Grpc(exchange.code as i32));
    }
    if step.body_checks.is_empty() && step.matches.is_empty() && step.extract.is_empty() {
        return outcome;
    }
    // The proto3 JSON mapping of the response: the message, or an array for a stream.
    let messages: Vec<serde_json::Value> = exchange
        .messages
        .iter()
        .filter_map(|m| serde_json::to_value(m).ok())
        .collect();
    let json = if step.method.server_streaming {
        serde_json::Value::Array(messages)
    } else {
        messages.into_iter().next().unwrap_or(serde_json::Value::Null)
    };
    for (pointer, expected) in &step.body_checks {
        outcome.check(json.pointer(pointer) == Some(expected), FailureKind::Check);
    }
    for (pointer, pattern) in &step.matches {
        outcome.check(matches_at(&json, pointer, pattern), FailureKind::Check);
    }
    if code_ok {
        for (slot, pointer) in &step.extract {
            match json.pointer(pointer) {
                Some(serde_json::Value::String(s)) => vars[*slot] = s.clone(),
                Some(other) => vars[*slot] = other.to_string(),
                None => outcome.failure = outcome.failure.or(Some(FailureKind::Extract)),
            }
        }
    }
    outcome
}

/// Whether the value at `pointer` (a string as is, anything else as JSON) matches `pattern`.
fn matches_at(json: &serde_json::Value, pointer: &str, pattern: &regex::Regex) -> bool {
    match json.pointer(pointer) {
        Some(serde_json::Value::String(s)) => pattern.is_match(s),
        Some(other) => pattern.is_match(&other.to_string()),
        None => false,
    }
}
