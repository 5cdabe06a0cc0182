//! The active contract suite (`gauntlet contract test`): for every operation of a spec, a
//! request from its examples, generated valid requests and generated invalid ones, and — for
//! operations that need credentials — one without them; every response is checked. Check
//! names follow Schemathesis's.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use serde::Serialize;
use serde_json::Value;

mod render;

pub use self::render::{junit, render};
use crate::generate::Generator;
use crate::openapi::{Operation, escape_pointer};
use crate::validate::ResponseValidator;
use gauntlet_client::FailureKind;
use gauntlet_client::http::{Connections, Outgoing, Reads};
use gauntlet_client::url::{percent_encode, push_query_pair, split_url};

/// How the suite runs.
#[derive(Debug, Clone)]
pub struct SuiteOptions {
    /// Base URL of the service (`http://host:port`, optionally with a path prefix).
    pub target: String,
    /// Headers sent with every request (credentials), except by the `auth_enforced` probe.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Generated valid and invalid requests per operation, each.
    pub max_examples: usize,
    /// Seed of the generator: the same seed sends the same requests.
    pub seed: u64,
    /// Stop starting new requests after this long.
    pub max_time: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// One failed check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// operationId.
    pub operation: String,
    /// The check, e.g. `negative_data_rejection`.
    pub check: String,
    /// What was expected (and where, for schema violations).
    pub expected: String,
    /// What came.
    pub actual: String,
    /// The request: method, URL and a body excerpt.
    pub request: String,
}

/// The outcome of the suite.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SuiteResult {
    /// Operations exercised.
    pub operations: usize,
    /// Requests sent.
    pub requests: usize,
    /// Per check: (times run, times failed).
    pub checks: BTreeMap<String, (u64, u64)>,
    /// Every failed check.
    pub findings: Vec<Finding>,
    /// Whether `max_time` cut the suite short.
    pub out_of_time: bool,
    /// What was left out and why (a schema asking for a value beyond the generator's bound).
    pub notes: Vec<String>,
}

/// Why the suite could not run.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// Nothing answered.
    #[error("could not connect to {0}")]
    Unreachable(String),
}

#[derive(Clone, Copy, PartialEq)]
enum Intent {
    /// The spec's own examples: the service must accept them.
    Positive,
    /// Generated from the schemas: checked for conformance, but a service may still reject
    /// such data on grounds a schema cannot state (a wrong password, an unknown id).
    Generated,
    Negative,
    NoCredentials,
}

struct Case {
    intent: Intent,
    path_values: BTreeMap<String, String>,
    query: Vec<(String, String)>,
    body: Option<Value>,
    note: String,
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The operation object and the parameters that apply to it (path-level and its own).
fn parameters<'a>(g: &Generator<'a>, doc: &'a Value, op: &Operation) -> Vec<&'a Value> {
    let op_pointer = op.responses.trim_end_matches("/responses");
    let item_pointer = format!("/paths/{}", escape_pointer(&op.template));
    let mut out: Vec<&Value> = Vec::new();
    for pointer in [
        format!("{op_pointer}/parameters"),
        format!("{item_pointer}/parameters"),
    ] {
        for p in doc
            .pointer(&pointer)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let p = g.resolve(p);
            let name = p.get("name").and_then(Value::as_str);
            if !out.iter().any(|q| q.get("name").and_then(Value::as_str) == name) {
                out.push(p);
            }
        }
    }
    out
}

fn needs_credentials(doc: &Value, op_pointer: &str) -> bool {
    let security = doc
        .pointer(&format!("{op_pointer}/security"))
        .or_else(|| doc.get("security"));
    match security.and_then(Value::as_array) {
        None => false,
        Some(reqs) => !reqs.is_empty() && !reqs.iter().any(|r| r.as_object().is_some_and(|o| o.is_empty())),
    }
}

/// Whether the body just generated had to be cut below its schema's minimums, noting it if
/// so: such a body does not conform, and sent as valid its rejection would be the generator's
/// fault reported as the service's.
fn cut_short(g: &Generator, notes: &mut Vec<String>, operation: &str) -> bool {
    let Some(why) = g.oversized() else { return false };
    let note = format!("{operation}: generated bodies not sent: {why}");
    if !notes.contains(&note) {
        notes.push(note);
    }
    true
}

/// Runs the suite.
pub async fn run(validator: &ResponseValidator, options: &SuiteOptions) -> Result<SuiteResult, SuiteError> {
    let spec = validator.spec();
    let doc = &spec.doc;
    let (authority, prefix) = split_url(&options.target)
        .map(|(a, p)| (a.to_string(), p.trim_end_matches('/').to_string()))
        .ok_or_else(|| SuiteError::Unreachable(options.target.clone()))?;
    let mut g = Generator::new(doc, options.seed);
    let mut connections = Connections::default();
    let mut result = SuiteResult::default();
    let started = Instant::now();
    let mut connect_failures = 0;

    for op in &spec.operations {
        let op_pointer = op.responses.trim_end_matches("/responses").to_string();
        let params = parameters(&g, doc, op);
        let media = doc
            .pointer(&format!("{op_pointer}/requestBody"))
            .map(|b| g.resolve(b))
            .and_then(|b| b.get("content"))
            .and_then(Value::as_object)
            .and_then(|c| c.iter().find(|(m, _)| m.contains("json")))
            .map(|(_, m)| m);
        let body_schema = media.and_then(|m| m.get("schema"));
        let body_example = media.and_then(|m| {
            m.get("example").cloned().or_else(|| {
                m.get("examples")
                    .and_then(Value::as_object)
                    .and_then(|e| e.values().next())
                    .and_then(|e| e.get("value"))
                    .cloned()
            })
        });
        let example_body = body_example
            .clone()
            .or_else(|| body_schema.map(|s| g.valid(s, false, 0)));
        let cut = body_example.is_none() && body_schema.is_some() && cut_short(&g, &mut result.notes, &op.id);
        let mut cases = Vec::new();
        if !cut {
            cases.push(build_case(
                &mut g,
                &params,
                false,
                example_body.clone(),
                Intent::Positive,
                "from the spec's examples".into(),
            ));
        }
        for i in 0..if cut { 0 } else { options.max_examples } {
            let body = body_schema.map(|s| g.valid(s, true, 0));
            if body.is_some() && cut_short(&g, &mut result.notes, &op.id) {
                break;
            }
            cases.push(build_case(
                &mut g,
                &params,
                true,
                body,
                Intent::Generated,
                format!("generated valid #{}", i + 1),
            ));
        }
        if let Some(schema) = body_schema {
            let valid = body_example.clone().unwrap_or_else(|| g.valid(schema, false, 0));
            for (what, body) in g
                .invalid(schema, &valid)
                .into_iter()
                .take(options.max_examples.max(1) * 2)
            {
                cases.push(build_case(
                    &mut g,
                    &params,
                    false,
                    Some(body),
                    Intent::Negative,
                    format!("invalid: {what}"),
                ));
            }
        }
        if needs_credentials(doc, &op_pointer) {
            cases.push(build_case(
                &mut g,
                &params,
                false,
                example_body,
                Intent::NoCredentials,
                "without credentials".into(),
            ));
        }
        result.operations += 1;

        for c in cases {
            if started.elapsed() > options.max_time {
                result.out_of_time = true;
                return finish(result, connect_failures);
            }
            let mut path = prefix.clone();
            for segment in op.template.split('/').filter(|s| !s.is_empty()) {
                path.push('/');
                match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name) => {
                        percent_encode(&mut path, c.path_values.get(name).map_or("x", String::as_str))
                    }
                    None => path.push_str(segment),
                }
            }
            if path.is_empty() {
                path.push('/');
            }
            for (k, v) in &c.query {
                push_query_pair(&mut path, k, v);
            }
            let body = c.body.as_ref().map(|b| b.to_string()).unwrap_or_default();
            let Ok(method) = http::Method::from_bytes(op.method.as_bytes()) else {
                continue;
            };
            let mut headers = Vec::new();
            if c.body.is_some() {
                headers.push((
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ));
            }
            if c.intent != Intent::NoCredentials {
                headers.extend(options.headers.iter().cloned());
            }
            let request = Outgoing {
                method,
                target: path.clone(),
                headers,
                body: Bytes::from(body.clone()),
            };
            let described = {
                let excerpt: String = body.chars().take(160).collect();
                format!("{} http://{authority}{path} {excerpt} ({})", op.method, c.note).replace("  ", " ")
            };
            result.requests += 1;
            let exchange = match connections
                .send(&authority, &request, options.timeout, None, Reads::ALL)
                .await
            {
                Ok((exchange, _)) => exchange,
                Err(failed) => {
                    if failed.kind == FailureKind::Connect {
                        connect_failures += 1;
                    }
                    let kind = failed.kind.as_str();
                    record(
                        &mut result,
                        &op.id,
                        "not_a_server_error",
                        false,
                        "a response".into(),
                        format!("no response ({kind})"),
                        &described,
                    );
                    continue;
                }
            };
            let status = exchange.status;
            record(
                &mut result,
                &op.id,
                "not_a_server_error",
                status < 500,
                "a status below 500".into(),
                status.to_string(),
                &described,
            );
            let violations = validator.validate(&op.method, &path, status, &exchange.headers, &exchange.body);
            for check in [
                "status_code_conformance",
                "content_type_conformance",
                "response_headers_conformance",
                "response_schema_conformance",
            ] {
                let mine: Vec<_> = violations.iter().filter(|v| v.check == check).collect();
                if mine.is_empty() {
                    record(
                        &mut result,
                        &op.id,
                        check,
                        true,
                        String::new(),
                        String::new(),
                        &described,
                    );
                }
                for v in mine {
                    let at = if v.pointer.is_empty() {
                        String::new()
                    } else {
                        format!(" at {}", v.pointer)
                    };
                    record(
                        &mut result,
                        &op.id,
                        check,
                        false,
                        format!("{}{at}", v.expected),
                        v.actual.clone(),
                        &described,
                    );
                }
            }
            match c.intent {
                Intent::Negative => record(
                    &mut result,
                    &op.id,
                    "negative_data_rejection",
                    (400..500).contains(&status),
                    "a 4xx for invalid input".into(),
                    status.to_string(),
                    &described,
                ),
                Intent::Positive => record(
                    &mut result,
                    &op.id,
                    "positive_data_acceptance",
                    !matches!(status, 400 | 422),
                    "valid input not rejected as invalid (400/422)".into(),
                    status.to_string(),
                    &described,
                ),
                Intent::Generated => {}
                Intent::NoCredentials => record(
                    &mut result,
                    &op.id,
                    "auth_enforced",
                    matches!(status, 401 | 403),
                    "401 or 403 without credentials".into(),
                    status.to_string(),
                    &described,
                ),
            }
        }
    }
    finish(result, connect_failures)
}

fn param_value<'a>(g: &mut Generator<'a>, p: &'a Value, fresh: bool) -> String {
    let schema = p.get("schema").unwrap_or(&Value::Null);
    let example = if fresh {
        None
    } else {
        p.get("example").cloned().or_else(|| g.example(schema))
    };
    scalar(&example.unwrap_or_else(|| g.valid(schema, fresh, 0)))
}

fn build_case<'a>(
    g: &mut Generator<'a>,
    params: &[&'a Value],
    fresh: bool,
    body: Option<Value>,
    intent: Intent,
    note: String,
) -> Case {
    let mut c = Case {
        intent,
        path_values: BTreeMap::new(),
        query: Vec::new(),
        body,
        note,
    };
    for p in params {
        let name = p
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let required = p.get("required").and_then(Value::as_bool).unwrap_or(false);
        match p.get("in").and_then(Value::as_str) {
            Some("path") => {
                c.path_values.insert(name, param_value(g, p, fresh));
            }
            // Optional query parameters go with the example request only.
            Some("query") if required || !fresh => c.query.push((name, param_value(g, p, fresh))),
            _ => {}
        }
    }
    c
}

fn finish(result: SuiteResult, connect_failures: usize) -> Result<SuiteResult, SuiteError> {
    if result.requests > 0 && connect_failures == result.requests {
        return Err(SuiteError::Unreachable("the target".into()));
    }
    Ok(result)
}

fn record(
    result: &mut SuiteResult,
    operation: &str,
    check: &str,
    passed: bool,
    expected: String,
    actual: String,
    request: &str,
) {
    let entry = result.checks.entry(check.to_string()).or_default();
    entry.0 += 1;
    if !passed {
        entry.1 += 1;
        result.findings.push(Finding {
            operation: operation.to_string(),
            check: check.to_string(),
            expected,
            actual,
            request: request.to_string(),
        });
    }
}
