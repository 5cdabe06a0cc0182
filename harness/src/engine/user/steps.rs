//! The steps of a virtual user: rendering an HTTP request from its templates, sending it and
//! judging the response; gRPC calls; `await_event` polling. Each records its outcome through
//! `VirtualUser::record`.

use std::time::{Duration, Instant};

use ::http::HeaderValue;
use ::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST};
use bytes::Bytes;
use gauntlet_client::FailureKind;
use gauntlet_client::http::{Failed, Outgoing, Reads};
use gauntlet_client::random::next_random;
use gauntlet_client::url::{percent_encode, push_query_pair, split_url};
use prost_reflect::DynamicMessage;

use crate::engine::judge::{Outcome, judge, judge_grpc, reads_body, reads_headers};
use crate::scenario::plan::{AwaitStep, BodyTemplate, Feeder, GrpcStep, HttpStep, JsonTemplate};
use crate::scenario::template::{self, Builtin, Context};

use super::VirtualUser;

/// What a rendered request needs besides the body.
struct UserContext<'a> {
    vars: &'a [String],
    feeders: &'a [Feeder],
    rows: &'a [usize],
    index: usize,
    iteration: u64,
    rng: &'a mut u64,
}

impl Context for UserContext<'_> {
    fn var(&self, slot: usize) -> &str {
        self.vars.get(slot).map_or("", String::as_str)
    }
    fn builtin(&mut self, builtin: &Builtin, out: &mut String) {
        template::write_builtin(builtin, self.index, self.iteration, self.rng, out);
    }
    fn feed(&self, feeder: usize, column: usize) -> &str {
        let rows = &self.feeders[feeder].rows;
        rows[self.rows[feeder] % rows.len()][column].as_str()
    }
}

impl VirtualUser {
    /// What templates read from: this user's variables, feeder rows, index and iteration.
    fn context(&mut self) -> UserContext<'_> {
        UserContext {
            vars: &self.vars,
            feeders: &self.plan.feeders,
            rows: &self.rows,
            index: self.schedule.index,
            iteration: self.iteration,
            rng: &mut self.rng,
        }
    }

    /// Renders a step's request; the authority is `None` for the base URL's (most requests:
    /// no string is built for it then). `None` when a rendered header value cannot be sent (a
    /// variable that holds a line break, say): that request fails as `request`, not silently
    /// without the header.
    fn render_request(&mut self, step: &HttpStep) -> Option<(Option<String>, Outgoing)> {
        let mut ctx = UserContext {
            vars: &self.vars,
            feeders: &self.plan.feeders,
            rows: &self.rows,
            index: self.schedule.index,
            iteration: self.iteration,
            rng: &mut self.rng,
        };
        let url = step.url.render(&mut ctx);
        let (authority, mut target) = match split_url(&url) {
            Some((authority, path)) => (Some(authority.to_string()), path.to_string()),
            None if self.base_prefix.is_empty() => (None, url),
            None => (None, format!("{}{url}", self.base_prefix)),
        };
        for (key, value) in &step.query {
            let value = value.render(&mut ctx);
            push_query_pair(&mut target, key, &value);
        }
        let (content_type, body) = match &step.body {
            BodyTemplate::Empty => (None, Bytes::new()),
            BodyTemplate::Json(json) => {
                let mut out = String::new();
                render_json(json, &mut ctx, &mut out);
                (Some("application/json"), Bytes::from(out))
            }
            BodyTemplate::Form(fields) => {
                let mut out = String::new();
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push('&');
                    }
                    percent_encode(&mut out, key);
                    out.push('=');
                    percent_encode(&mut out, &value.render(&mut ctx));
                }
                (Some("application/x-www-form-urlencoded"), Bytes::from(out))
            }
            BodyTemplate::Raw(raw) => (None, Bytes::from(raw.render(&mut ctx))),
        };
        let mut headers = Vec::new();
        if let Some(ct) = content_type
            && !step.headers.iter().any(|(h, _)| h == CONTENT_TYPE)
        {
            headers.push((CONTENT_TYPE, HeaderValue::from_static(ct)));
        }
        for (name, value) in &step.headers {
            // Host and Content-Length are the client's to write.
            if name == HOST || name == CONTENT_LENGTH {
                continue;
            }
            headers.push((name.clone(), HeaderValue::from_str(&value.render(&mut ctx)).ok()?));
        }
        let request = Outgoing {
            method: step.method.clone(),
            target,
            headers,
            body,
        };
        Some((authority, request))
    }

    pub(super) async fn grpc_step(&mut self, step: &GrpcStep, stats_index: usize, intended: Option<Instant>) {
        let mut ctx = self.context();
        let mut json = String::new();
        render_json(&step.message, &mut ctx, &mut json);
        let metadata: Vec<(String, String)> = step
            .metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.render(&mut ctx)))
            .collect();
        let mut deserializer = serde_json::Deserializer::from_str(&json);
        let result = match DynamicMessage::deserialize(step.method.input.clone(), &mut deserializer) {
            Err(_) => Err(Failed {
                kind: FailureKind::Request,
                elapsed: None,
            }),
            Ok(message) => {
                self.channels
                    .call(
                        &self.base_authority,
                        &step.method,
                        message,
                        metadata,
                        self.plan.timeout,
                        intended,
                    )
                    .await
            }
        };
        self.record_result(stats_index, &result, |exchange, vars| {
            (exchange.bytes, judge_grpc(step, exchange, vars))
        });
    }

    /// Polls until the step's checks hold or its deadline passes. Records one request per
    /// event: its latency (as the answer reports it, or from the step's start) when it came,
    /// a `Timeout` failure (`events_lost`) when it did not.
    pub(super) async fn await_event(&mut self, step: &AwaitStep, stats_index: usize) {
        let start = Instant::now();
        let deadline = start + step.within;
        // The body always: the checks, and the latency the answer may report, are in it.
        let reads = Reads {
            headers: reads_headers(&step.request),
            body: true,
        };
        loop {
            let Some((other_authority, request)) = self.render_request(&step.request) else {
                self.record(stats_index, None, 0, &Outcome::failed(FailureKind::Request));
                return;
            };
            let authority = other_authority.as_deref().unwrap_or(&self.base_authority);
            let remaining = deadline.saturating_duration_since(Instant::now());
            let timeout = self.plan.timeout.min(remaining).max(Duration::from_millis(1));
            let result = self
                .connections
                .send(authority, &request, timeout, None, reads)
                .await;
            if let Ok((exchange, _)) = &result
                && step.request.checks.status.contains(&exchange.status)
            {
                let mut outcome = judge(&step.request, exchange, &mut self.vars);
                let latency = match &step.latency {
                    None => start.elapsed(),
                    Some(pointer) => {
                        let reported = serde_json::from_slice::<serde_json::Value>(&exchange.body)
                            .ok()
                            .and_then(|body| body.pointer(pointer).and_then(serde_json::Value::as_f64))
                            .filter(|ms| ms.is_finite() && *ms >= 0.0);
                        // A latency the answer does not report is a failed check, not a guess.
                        outcome.check(reported.is_some(), FailureKind::Check);
                        reported.map_or_else(|| start.elapsed(), |ms| Duration::from_secs_f64(ms / 1000.0))
                    }
                };
                self.record(stats_index, Some(latency), exchange.body_len, &outcome);
                return;
            }
            let next = Instant::now() + step.every;
            if next >= deadline {
                self.record(stats_index, None, 0, &Outcome::failed(FailureKind::Timeout));
                return;
            }
            tokio::time::sleep_until(next.into()).await;
        }
    }

    pub(super) async fn http_step(&mut self, step: &HttpStep, stats_index: usize, intended: Option<Instant>) {
        let Some((other_authority, request)) = self.render_request(step) else {
            self.record(stats_index, None, 0, &Outcome::failed(FailureKind::Request));
            return;
        };
        let authority = other_authority.as_deref().unwrap_or(&self.base_authority);
        // Only responses of the target the spec describes (the base URL's host) are checked.
        let checked = self.plan.contract.as_ref().filter(|c| {
            other_authority.is_none()
                && (c.sample >= 1.0 || (next_random(&mut self.rng) % 1_000_000) as f64 / 1e6 < c.sample)
        });
        let reads = Reads {
            headers: checked.is_some() || reads_headers(step),
            body: checked.is_some() || reads_body(step),
        };
        let result = self
            .connections
            .send(authority, &request, self.plan.timeout, intended, reads)
            .await;
        // Contract checks run after the timing stopped, and outside the recording lock.
        if let (Some(contract), Ok((exchange, _))) = (checked, &result) {
            let method = request.method.as_str();
            let path = request.target.split('?').next().unwrap_or(&request.target);
            let found =
                contract
                    .validator
                    .validate(method, path, exchange.status, &exchange.headers, &exchange.body);
            // Described only when there is something to report: most responses conform.
            let request = if found.is_empty() {
                String::new()
            } else {
                describe_request(authority, &request)
            };
            self.recorder.with(self.schedule.index, |stats| {
                let stats = &mut stats.steps[stats_index];
                stats.contract_checked += 1;
                for v in found {
                    let tally = stats
                        .violations
                        .entry((v.operation, v.check, v.pointer, v.expected))
                        .or_default();
                    tally.count += 1;
                    if tally.examples.len() < crate::stats::VIOLATION_EXAMPLES {
                        tally.examples.push((request.clone(), v.actual));
                    }
                }
            });
        }
        self.record_result(stats_index, &result, |exchange, vars| {
            (exchange.body_len, judge(step, exchange, vars))
        });
    }

    /// Records one request: a failure by its kind, or the response as `judged` finds it (its
    /// bytes received and its outcome). Judged outside the recording lock, then everything
    /// about the request recorded at once.
    fn record_result<R>(
        &mut self,
        stats_index: usize,
        result: &Result<(R, Duration), Failed>,
        judged: impl FnOnce(&R, &mut [String]) -> (u64, Outcome),
    ) {
        let (latency, bytes, outcome) = match result {
            Err(failed) => (failed.elapsed, 0, Outcome::failed(failed.kind)),
            Ok((response, elapsed)) => {
                let (bytes, outcome) = judged(response, &mut self.vars);
                (Some(*elapsed), bytes, outcome)
            }
        };
        self.record(stats_index, latency, bytes, &outcome);
    }
}

/// `METHOD http://host/path?query body-excerpt`, for violation examples.
fn describe_request(authority: &str, request: &Outgoing) -> String {
    let mut text = format!("{} http://{authority}{}", request.method, request.target);
    if !request.body.is_empty() {
        let body = String::from_utf8_lossy(&request.body);
        let excerpt: String = body.chars().take(200).collect();
        text.push(' ');
        text.push_str(&excerpt);
        if body.chars().count() > 200 {
            text.push('…');
        }
    }
    text
}

fn render_json(json: &JsonTemplate, ctx: &mut dyn Context, out: &mut String) {
    match json {
        JsonTemplate::Scalar(v) => out.push_str(&v.to_string()),
        JsonTemplate::String(t) => {
            let text = t.render(ctx);
            out.push_str(&serde_json::Value::String(text).to_string());
        }
        JsonTemplate::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                render_json(item, ctx, out);
            }
            out.push(']');
        }
        JsonTemplate::Object(fields) => {
            out.push('{');
            for (i, (key, value)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(key.clone()).to_string());
                out.push(':');
                render_json(value, ctx, out);
            }
            out.push('}');
        }
    }
}
