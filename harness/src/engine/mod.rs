//! The load engine: runs a `RunPlan` with the closed model (N virtual users, each running
//! iterations back to back until the duration or iteration limit) and returns what every user
//! recorded, merged. Each user is one tokio task with its own connections, variables, random
//! source and `Stats`: nothing is shared on the hot path.

pub mod http;
pub mod stats;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use ::http::header::{CONTENT_TYPE, HOST};
use ::http::{HeaderValue, Request};
use bytes::Bytes;
use http_body_util::Full;
use tokio::sync::watch;

use self::http::{Connections, Exchange, split_url};
use self::stats::{FailureKind, Stats, StepStats};
use crate::scenario::plan::{BodyTemplate, ExtractFrom, HttpStep, JsonTemplate, Limit, RunPlan, StepKind};
use crate::scenario::template::{self, Builtin, Context};

/// The outcome of a run, before it becomes a report.
#[derive(Debug)]
pub struct RunResult {
    /// When the run started.
    pub started_at: SystemTime,
    /// How long it lasted.
    pub elapsed: Duration,
    /// Merged numbers of all users.
    pub stats: Stats,
    /// Whether it was stopped before its end.
    pub interrupted: bool,
}

/// Why a run could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Every request failed to connect.
    #[error("could not connect to the target: all {attempts} connection attempts failed (is {target} up?)")]
    Unreachable {
        /// Requests attempted.
        attempts: u64,
        /// The base URL.
        target: String,
    },
}

/// Runs `plan` until its limit, or until `interrupt` completes (then in-flight requests are
/// abandoned and the result is marked interrupted).
pub async fn run(plan: &RunPlan, interrupt: impl Future<Output = ()>) -> Result<RunResult, RunError> {
    let plan = Arc::new(plan.clone());
    let (stop_tx, stop_rx) = watch::channel(false);
    let started_at = SystemTime::now();
    let start = Instant::now();
    let deadline = match plan.load.limit {
        Limit::Duration(d) => Some(start + d),
        Limit::IterationsPerUser(_) => None,
    };
    let mut users = tokio::task::JoinSet::new();
    for index in 0..plan.load.users as usize {
        users.spawn(VirtualUser::new(Arc::clone(&plan), index, deadline, stop_rx.clone()).run());
    }
    let step_count = plan.scenarios.iter().map(|s| s.steps.len()).sum();
    let mut stats = Stats::new(step_count);
    let mut interrupted = false;
    tokio::pin!(interrupt);
    loop {
        tokio::select! {
            joined = users.join_next() => match joined {
                Some(Ok(user_stats)) => stats.add(&user_stats),
                Some(Err(err)) => tracing::error!(error = %err, "virtual user task failed"),
                None => break,
            },
            () = &mut interrupt, if !interrupted => {
                interrupted = true;
                let _ = stop_tx.send(true);
            }
        }
    }
    let elapsed = start.elapsed();
    let attempts: u64 = stats.steps.iter().map(|s| s.requests).sum();
    let connect_failures: u64 = stats
        .steps
        .iter()
        .map(|s| s.failures.get(&FailureKind::Connect).copied().unwrap_or(0))
        .sum();
    if attempts > 0 && connect_failures == attempts && !interrupted {
        return Err(RunError::Unreachable {
            attempts,
            target: plan.base_url.clone(),
        });
    }
    Ok(RunResult {
        started_at,
        elapsed,
        stats,
        interrupted,
    })
}

struct VirtualUser {
    plan: Arc<RunPlan>,
    index: usize,
    iteration: u64,
    deadline: Option<Instant>,
    stop: watch::Receiver<bool>,
    vars: Vec<String>,
    rng: u64,
    connections: Connections,
    stats: Stats,
    base_authority: String,
    base_prefix: String,
}

/// What a rendered request needs besides the body.
struct UserContext<'a> {
    vars: &'a [String],
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
}

impl VirtualUser {
    fn new(plan: Arc<RunPlan>, index: usize, deadline: Option<Instant>, stop: watch::Receiver<bool>) -> Self {
        let (authority, prefix) = split_url(&plan.base_url).unwrap_or(("127.0.0.1:80", "/"));
        let base_prefix = prefix.trim_end_matches('/').to_string();
        let step_count = plan.scenarios.iter().map(|s| s.steps.len()).sum();
        VirtualUser {
            vars: plan.vars.iter().map(|(_, v)| v.clone()).collect(),
            rng: 0x9E37_79B9_7F4A_7C15 ^ (index as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9),
            base_authority: authority.to_string(),
            base_prefix,
            plan,
            index,
            iteration: 0,
            deadline,
            stop,
            connections: Connections::default(),
            stats: Stats::new(step_count),
        }
    }

    fn should_stop(&self) -> bool {
        *self.stop.borrow() || self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Sleeps `d`, waking early on stop or the deadline; false when the run is over.
    async fn pause(&mut self, d: Duration) -> bool {
        let mut until = Instant::now() + d;
        if let Some(deadline) = self.deadline {
            until = until.min(deadline);
        }
        let mut stop = self.stop.clone();
        tokio::select! {
            () = tokio::time::sleep_until(until.into()) => {}
            _ = stop.wait_for(|s| *s) => {}
        }
        !self.should_stop()
    }

    fn pick_scenario(&mut self) -> usize {
        let scenarios = &self.plan.scenarios;
        let total: u64 = scenarios.iter().map(|s| u64::from(s.weight)).sum();
        if scenarios.len() == 1 || total == 0 {
            return 0;
        }
        let mut roll = template::next_random(&mut self.rng) % total;
        for (i, s) in scenarios.iter().enumerate() {
            if roll < u64::from(s.weight) {
                return i;
            }
            roll -= u64::from(s.weight);
        }
        0
    }

    async fn run(mut self) -> Stats {
        let plan = Arc::clone(&self.plan);
        let offsets: Vec<usize> = plan
            .scenarios
            .iter()
            .scan(0, |acc, s| {
                let start = *acc;
                *acc += s.steps.len();
                Some(start)
            })
            .collect();
        'iterations: loop {
            if let Limit::IterationsPerUser(n) = plan.load.limit
                && self.iteration >= n
            {
                break;
            }
            if self.should_stop() {
                break;
            }
            let s = self.pick_scenario();
            for (i, step) in plan.scenarios[s].steps.iter().enumerate() {
                if self.should_stop() {
                    break 'iterations;
                }
                match &step.kind {
                    StepKind::Sleep(d) => {
                        if !self.pause(*d).await {
                            break 'iterations;
                        }
                    }
                    StepKind::Http(http) => {
                        let mut stop = self.stop.clone();
                        let stats_index = offsets[s] + i;
                        tokio::select! {
                            () = self.http_step(http, stats_index) => {}
                            _ = stop.wait_for(|s| *s) => break 'iterations,
                        }
                    }
                }
                if let Some((lo, hi)) = step.think_time {
                    let span = (hi - lo).as_micros() as u64;
                    let extra = if span == 0 {
                        0
                    } else {
                        template::next_random(&mut self.rng) % (span + 1)
                    };
                    if !self.pause(lo + Duration::from_micros(extra)).await {
                        break 'iterations;
                    }
                }
            }
            self.iteration += 1;
            self.stats.iterations += 1;
        }
        self.stats
    }

    fn render_request(&mut self, step: &HttpStep) -> (String, Request<Full<Bytes>>) {
        let mut ctx = UserContext {
            vars: &self.vars,
            index: self.index,
            iteration: self.iteration,
            rng: &mut self.rng,
        };
        let url = step.url.render(&mut ctx);
        let (authority, mut target) = match split_url(&url) {
            Some((authority, path)) => (authority.to_string(), path.to_string()),
            None => (self.base_authority.clone(), format!("{}{url}", self.base_prefix)),
        };
        for (key, value) in &step.query {
            let value = value.render(&mut ctx);
            http::push_query_pair(&mut target, key, &value);
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
                    http::percent_encode(&mut out, key);
                    out.push('=');
                    http::percent_encode(&mut out, &value.render(&mut ctx));
                }
                (Some("application/x-www-form-urlencoded"), Bytes::from(out))
            }
            BodyTemplate::Raw(raw) => (None, Bytes::from(raw.render(&mut ctx))),
        };
        let mut builder = Request::builder().method(step.method.clone()).uri(target);
        if let Ok(host) = HeaderValue::from_str(&authority) {
            builder = builder.header(HOST, host);
        }
        if let Some(ct) = content_type
            && !step.headers.iter().any(|(h, _)| h == CONTENT_TYPE)
        {
            builder = builder.header(CONTENT_TYPE, ct);
        }
        for (name, value) in &step.headers {
            if let Ok(v) = HeaderValue::from_str(&value.render(&mut ctx)) {
                builder = builder.header(name, v);
            }
        }
        let request = builder
            .body(Full::new(body))
            .unwrap_or_else(|_| Request::new(Full::new(Bytes::new())));
        (authority, request)
    }

    async fn http_step(&mut self, step: &HttpStep, stats_index: usize) {
        let (authority, request) = self.render_request(step);
        let result = self
            .connections
            .send(&authority, request, self.plan.timeout)
            .await;
        let stats = &mut self.stats.steps[stats_index];
        stats.requests += 1;
        match result {
            Err(failed) => {
                if let Some(elapsed) = failed.elapsed {
                    stats.record_latency(elapsed.as_micros() as u64);
                }
                *stats.failures.entry(failed.kind).or_default() += 1;
            }
            Ok((exchange, elapsed)) => {
                stats.record_latency(elapsed.as_micros() as u64);
                stats.bytes_received += exchange.body.len() as u64;
                if let Some(kind) = judge(step, &exchange, stats, &mut self.vars) {
                    *stats.failures.entry(kind).or_default() += 1;
                }
            }
        }
    }
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

/// Applies a step's checks and extractions to its response; the failure kind, if any.
fn judge(
    step: &HttpStep,
    exchange: &Exchange,
    stats: &mut StepStats,
    vars: &mut [String],
) -> Option<FailureKind> {
    let mut failure = None;
    let status_ok = if step.checks.status.is_empty() {
        match exchange.status {
            400..=499 => {
                failure = Some(FailureKind::Status4xx);
                false
            }
            500.. => {
                failure = Some(FailureKind::Status5xx);
                false
            }
            _ => true,
        }
    } else {
        let ok = step.checks.status.contains(&exchange.status);
        if ok {
            stats.checks_passed += 1;
        } else {
            stats.checks_failed += 1;
            failure = Some(FailureKind::Status);
        }
        ok
    };
    for header in &step.checks.headers {
        if exchange.headers.contains_key(header) {
            stats.checks_passed += 1;
        } else {
            stats.checks_failed += 1;
            failure = failure.or(Some(FailureKind::Check));
        }
    }
    let needs_json = !step.checks.body.is_empty()
        || step
            .extract
            .iter()
            .any(|(_, from)| matches!(from, ExtractFrom::JsonPointer(_)));
    let json: Option<serde_json::Value> = if needs_json {
        serde_json::from_slice(&exchange.body).ok()
    } else {
        None
    };
    for (pointer, expected) in &step.checks.body {
        if json.as_ref().and_then(|j| j.pointer(pointer)) == Some(expected) {
            stats.checks_passed += 1;
        } else {
            stats.checks_failed += 1;
            failure = failure.or(Some(FailureKind::Check));
        }
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
                None => failure = failure.or(Some(FailureKind::Extract)),
            }
        }
    }
    failure
}
