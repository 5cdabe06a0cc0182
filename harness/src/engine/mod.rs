//! The load engine: runs a `RunPlan` and returns what the virtual users recorded. Each user
//! is one tokio task with its own connections, variables and random source, following its
//! `UserSchedule` (closed, staged or paced); users record into a sharded `Recorder`, which the
//! engine drains once a second into per-second windows and the run's totals.

mod judge;
pub mod recorder;
pub mod schedule;
pub mod stats;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use ::http::HeaderValue;
use ::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST};
use bytes::Bytes;

use self::judge::{Outcome, judge, judge_grpc};
use self::recorder::{Recorder, Window, close_window};
use self::schedule::UserSchedule;
use self::stats::Stats;
use crate::gate::{self, Measured};
use crate::scenario::plan::{
    AwaitStep, BodyTemplate, ExtractFrom, FeedMode, Feeder, GrpcStep, HttpStep, JsonTemplate, RunPlan,
    StepKind,
};
use crate::scenario::template::{self, Builtin, Context};
use gauntlet_client::FailureKind;
use gauntlet_client::grpc;
use gauntlet_client::http::{Connections, Failed, Outgoing, percent_encode, push_query_pair, split_url};
use gauntlet_client::random::next_random;
use prost_reflect::DynamicMessage;

/// The outcome of a run, before it becomes a report.
#[derive(Debug)]
pub struct RunResult {
    /// When the run started.
    pub started_at: SystemTime,
    /// How long it lasted.
    pub elapsed: Duration,
    /// Totals of all users (exactly the sum of `windows`).
    pub stats: Stats,
    /// One entry per second of the run (the last one may be partial).
    pub windows: Vec<Window>,
    /// Whether it was stopped before its end by a signal.
    pub interrupted: bool,
    /// The `abort_on_fail` condition that stopped the run early, as `metric condition`.
    pub aborted_by: Option<String>,
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

/// What the engine reports once a second while it runs.
#[derive(Debug, Clone)]
pub struct Progress {
    /// Time since the start.
    pub elapsed: Duration,
    /// Planned length, when the run is time-bound.
    pub planned: Option<Duration>,
    /// Requests completed in the last second (all steps).
    pub requests: u64,
    /// Of which failed.
    pub failed: u64,
    /// Median latency of the last second, microseconds (0 when none).
    pub p50_us: u64,
    /// 99th percentile of the last second, microseconds (0 when none).
    pub p99_us: u64,
    /// Late starts so far.
    pub late_starts: u64,
}

/// Runs `plan` (this process's shard of it) until its end, or until `interrupt` completes
/// (then in-flight requests are abandoned and the result is marked interrupted).
pub async fn run(plan: &RunPlan, interrupt: impl Future<Output = ()>) -> Result<RunResult, RunError> {
    run_with_progress(plan, interrupt, |_| {}).await
}

/// [`run`], calling `progress` after every second.
pub async fn run_with_progress(
    plan: &RunPlan,
    interrupt: impl Future<Output = ()>,
    mut progress: impl FnMut(&Progress),
) -> Result<RunResult, RunError> {
    let plan = Arc::new(plan.clone());
    let step_count = plan.scenarios.iter().map(|s| s.steps.len()).sum();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let recorder = Arc::new(Recorder::new(cpus * 4, step_count));
    let started_at = SystemTime::now();
    let t0 = Instant::now();
    let planned = schedule::planned_duration(&plan.load);
    let feed_cursors: Arc<[AtomicUsize]> = plan.feeders.iter().map(|_| AtomicUsize::new(0)).collect();
    // Users inside one of their active intervals, sampled as each window closes.
    let active = Arc::new(AtomicU64::new(0));
    let mut users = tokio::task::JoinSet::new();
    for schedule in schedule::schedules(&plan.load) {
        let user = VirtualUser::new(
            Arc::clone(&plan),
            schedule,
            t0,
            Arc::clone(&recorder),
            Arc::clone(&feed_cursors),
        );
        users.spawn(user.run(Arc::clone(&active)));
    }

    let mut totals = Stats::new(step_count);
    let mut window = Stats::new(step_count);
    let mut windows = Vec::new();
    let mut second = 0;
    let mut tick = tokio::time::interval_at((t0 + Duration::from_secs(1)).into(), Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut interrupted = false;
    let mut aborted_by: Option<String> = None;
    let abort_rules: Vec<_> = plan
        .thresholds
        .iter()
        .filter(|t| t.abort_on_fail)
        .cloned()
        .collect();
    tokio::pin!(interrupt);
    loop {
        tokio::select! {
            joined = users.join_next() => match joined {
                Some(Ok(())) => {}
                Some(Err(err)) if err.is_cancelled() => {}
                Some(Err(err)) => tracing::error!(error = %err, "virtual user task failed"),
                None => break,
            },
            _ = tick.tick() => {
                recorder.drain_into(&mut window);
                let mut latency = stats::new_histogram();
                for step in &window.steps {
                    let _ = latency.add(&step.latency);
                }
                let update = Progress {
                    elapsed: t0.elapsed(),
                    planned,
                    requests: window.steps.iter().map(|s| s.requests).sum(),
                    failed: window.steps.iter().map(|s| s.failed()).sum(),
                    p50_us: latency.value_at_quantile(0.5),
                    p99_us: latency.value_at_quantile(0.99),
                    late_starts: totals.late_starts + window.late_starts,
                };
                close_window(second, active.load(Ordering::Relaxed), &mut window, &mut totals, &mut windows);
                progress(&update);
                second += 1;
                if aborted_by.is_none() && !abort_rules.is_empty() {
                    let measured = Measured::new(&plan, &totals.steps, totals.iterations, totals.late_starts);
                    let failed = gate::evaluate(&abort_rules, &measured).into_iter().find(|t| !t.passed && t.observed.is_some());
                    if let Some(t) = failed {
                        tracing::warn!(metric = %t.metric, condition = %t.condition, "abort_on_fail threshold failed; stopping");
                        aborted_by = Some(format!("{} {}", t.metric, t.condition));
                        users.abort_all();
                    }
                }
            }
            () = &mut interrupt, if !interrupted => {
                interrupted = true;
                users.abort_all();
            }
        }
    }
    recorder.drain_into(&mut window);
    close_window(
        second,
        active.load(Ordering::Relaxed),
        &mut window,
        &mut totals,
        &mut windows,
    );

    let elapsed = t0.elapsed();
    let attempts: u64 = totals.steps.iter().map(|s| s.requests).sum();
    let connect_failures: u64 = totals
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
        stats: totals,
        windows,
        interrupted,
        aborted_by,
    })
}

struct VirtualUser {
    plan: Arc<RunPlan>,
    schedule: UserSchedule,
    t0: Instant,
    deadline: Option<Instant>,
    iteration: u64,
    recorder: Arc<Recorder>,
    vars: Vec<String>,
    rng: u64,
    connections: Connections,
    base_authority: String,
    base_prefix: String,
    channels: grpc::Channels,
    /// Index of each scenario's first step in the flattened step list.
    offsets: Vec<usize>,
    /// Whether the user has run each scenario before (`once` steps run the first time only).
    ran_before: Vec<bool>,
    /// The row each data feeder is on for this user.
    rows: Vec<usize>,
    /// Next row of each shared feeder, for all users.
    feed_cursors: Arc<[AtomicUsize]>,
}

/// Counts a user as active while it lives (dropped when the user leaves its interval, however).
struct ActiveUser<'a>(&'a AtomicU64);

impl<'a> ActiveUser<'a> {
    fn enter(gauge: &'a AtomicU64) -> Self {
        gauge.fetch_add(1, Ordering::Relaxed);
        ActiveUser(gauge)
    }
}

impl Drop for ActiveUser<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

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
    fn new(
        plan: Arc<RunPlan>,
        schedule: UserSchedule,
        t0: Instant,
        recorder: Arc<Recorder>,
        feed_cursors: Arc<[AtomicUsize]>,
    ) -> Self {
        let (authority, prefix) = split_url(&plan.base_url).unwrap_or(("127.0.0.1:80", "/"));
        let offsets = plan
            .scenarios
            .iter()
            .scan(0, |acc, s| {
                let start = *acc;
                *acc += s.steps.len();
                Some(start)
            })
            .collect();
        VirtualUser {
            ran_before: vec![false; plan.scenarios.len()],
            // Per-user feeders stay on the user's own row; shared ones move every iteration.
            rows: plan.feeders.iter().map(|_| schedule.index).collect(),
            feed_cursors,
            vars: plan.vars.iter().map(|(_, v)| v.clone()).collect(),
            rng: 0x9E37_79B9_7F4A_7C15 ^ (schedule.index as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9),
            base_authority: authority.to_string(),
            base_prefix: prefix.trim_end_matches('/').to_string(),
            offsets,
            plan,
            schedule,
            t0,
            deadline: None,
            iteration: 0,
            recorder,
            connections: Connections::default(),
            channels: grpc::Channels::default(),
        }
    }

    /// Whether the user's active interval is over. (A stopped run aborts the user's task.)
    fn should_stop(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Waits until `at`, or less if the deadline comes first; false when the
    /// user should not go on.
    async fn wait_until(&mut self, at: Instant) -> bool {
        let until = self.deadline.map_or(at, |d| d.min(at));
        tokio::time::sleep_until(until.into()).await;
        !self.should_stop()
    }

    fn pick_scenario(&mut self) -> usize {
        let scenarios = &self.plan.scenarios;
        let total: u64 = scenarios.iter().map(|s| u64::from(s.weight)).sum();
        if scenarios.len() == 1 || total == 0 {
            return 0;
        }
        let mut roll = next_random(&mut self.rng) % total;
        for (i, s) in scenarios.iter().enumerate() {
            if roll < u64::from(s.weight) {
                return i;
            }
            roll -= u64::from(s.weight);
        }
        0
    }

    async fn run(mut self, active_users: Arc<AtomicU64>) {
        let intervals = self.schedule.active.clone();
        for (from, to) in intervals {
            self.deadline = self.t0.checked_add(to);
            if !self.wait_until(self.t0 + from).await {
                continue;
            }
            let _active = ActiveUser::enter(&active_users);
            match self.schedule.pacing.clone() {
                None => {
                    while !self.should_stop() && self.schedule.iterations.is_none_or(|n| self.iteration < n) {
                        if !self.iterate(None).await {
                            break;
                        }
                    }
                }
                Some(pacing) => {
                    let mut k: u32 = 0;
                    while let Some(due) = pacing.due(k) {
                        let intended = self.t0 + due;
                        if self.deadline.is_some_and(|d| intended >= d) {
                            break;
                        }
                        // Behind schedule only when the previous iteration overran this start;
                        // then its latency counts from the intended start. After a sleep the
                        // timer's own slack is the generator's, not the target's: not counted.
                        let late = Instant::now() > intended;
                        if late {
                            self.recorder.with(self.schedule.index, |s| s.late_starts += 1);
                        } else if !self.wait_until(intended).await {
                            break;
                        }
                        if !self.iterate(late.then_some(intended)).await {
                            break;
                        }
                        k += 1;
                    }
                }
            }
        }
    }

    /// Runs one iteration of a scenario; false when the run ended during it. `intended` is
    /// the start the first request's latency is measured from, when that was missed.
    async fn iterate(&mut self, mut intended: Option<Instant>) -> bool {
        let plan = Arc::clone(&self.plan);
        for (f, feeder) in self.plan.feeders.iter().enumerate() {
            if feeder.mode == FeedMode::Shared {
                self.rows[f] = self.feed_cursors[f].fetch_add(1, Ordering::Relaxed);
            }
        }
        let s = self.pick_scenario();
        let first_time = !std::mem::replace(&mut self.ran_before[s], true);
        for (i, step) in plan.scenarios[s].steps.iter().enumerate() {
            if self.should_stop() {
                return false;
            }
            if step.once && !first_time {
                continue;
            }
            match &step.kind {
                StepKind::Sleep(d) => {
                    if !self.wait_until(Instant::now() + *d).await {
                        return false;
                    }
                }
                // A stopped run aborts the user's task, and with it a request in flight.
                StepKind::Http(http) => {
                    let index = self.offsets[s] + i;
                    self.http_step(http, index, intended.take()).await;
                }
                StepKind::Grpc(grpc) => {
                    let index = self.offsets[s] + i;
                    self.grpc_step(grpc, index, intended.take()).await;
                }
                StepKind::AwaitEvent(event) => {
                    // A missed paced start is charged to requests, not to an event's arrival.
                    intended = None;
                    let index = self.offsets[s] + i;
                    self.await_event(event, index).await;
                }
            }
            if let Some((lo, hi)) = step.think_time {
                let span = (hi - lo).as_micros() as u64;
                let extra = if span == 0 {
                    0
                } else {
                    next_random(&mut self.rng) % (span + 1)
                };
                if !self
                    .wait_until(Instant::now() + lo + Duration::from_micros(extra))
                    .await
                {
                    return false;
                }
            }
        }
        self.iteration += 1;
        self.recorder.with(self.schedule.index, |s| s.iterations += 1);
        true
    }

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
    /// no string is built for it then).
    fn render_request(&mut self, step: &HttpStep) -> (Option<String>, Outgoing) {
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
            if let Ok(v) = HeaderValue::from_str(&value.render(&mut ctx)) {
                headers.push((name.clone(), v));
            }
        }
        let request = Outgoing {
            method: step.method.clone(),
            target,
            headers,
            body,
        };
        (authority, request)
    }

    async fn grpc_step(&mut self, step: &GrpcStep, stats_index: usize, intended: Option<Instant>) {
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
        let (latency, bytes, outcome) = match &result {
            Err(failed) => (failed.elapsed, 0, Outcome::failed(failed.kind)),
            Ok((exchange, elapsed)) => (
                Some(*elapsed),
                exchange.bytes,
                judge_grpc(step, exchange, &mut self.vars),
            ),
        };
        self.record(stats_index, latency, bytes, &outcome);
    }

    /// Polls until the step's checks hold or its deadline passes. Records one request per
    /// event: its latency (as the answer reports it, or from the step's start) when it came,
    /// a `Timeout` failure (`events_lost`) when it did not.
    async fn await_event(&mut self, step: &AwaitStep, stats_index: usize) {
        let start = Instant::now();
        let deadline = start + step.within;
        let want_headers = reads_headers(&step.request);
        loop {
            let (other_authority, request) = self.render_request(&step.request);
            let authority = other_authority.as_deref().unwrap_or(&self.base_authority);
            let remaining = deadline.saturating_duration_since(Instant::now());
            let timeout = self.plan.timeout.min(remaining).max(Duration::from_millis(1));
            let result = self
                .connections
                .send(authority, &request, timeout, None, want_headers)
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
                self.record(stats_index, Some(latency), exchange.body.len() as u64, &outcome);
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

    /// Records one finished request of step `stats_index`.
    fn record(&self, stats_index: usize, latency: Option<Duration>, bytes: u64, outcome: &Outcome) {
        self.recorder.with(self.schedule.index, |stats| {
            let stats = &mut stats.steps[stats_index];
            stats.requests += 1;
            if let Some(latency) = latency {
                stats.record_latency(latency.as_micros() as u64);
            }
            stats.bytes_received += bytes;
            stats.checks_passed += outcome.checks_passed;
            stats.checks_failed += outcome.checks_failed;
            if let Some(kind) = outcome.failure {
                *stats.failures.entry(kind).or_default() += 1;
            }
        });
    }

    async fn http_step(&mut self, step: &HttpStep, stats_index: usize, intended: Option<Instant>) {
        let (other_authority, request) = self.render_request(step);
        let authority = other_authority.as_deref().unwrap_or(&self.base_authority);
        // Only responses of the target the spec describes (the base URL's host) are checked.
        let checked = self.plan.contract.as_ref().filter(|c| {
            other_authority.is_none()
                && (c.sample >= 1.0 || (next_random(&mut self.rng) % 1_000_000) as f64 / 1e6 < c.sample)
        });
        let want_headers = checked.is_some() || reads_headers(step);
        let result = self
            .connections
            .send(authority, &request, self.plan.timeout, intended, want_headers)
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
                    if tally.examples.len() < stats::VIOLATION_EXAMPLES {
                        tally.examples.push((request.clone(), v.actual));
                    }
                }
            });
        }
        // Judge outside the lock; then record everything about this request at once.
        let (latency, bytes, outcome) = match &result {
            Err(failed) => (failed.elapsed, 0, Outcome::failed(failed.kind)),
            Ok((exchange, elapsed)) => (
                Some(*elapsed),
                exchange.body.len() as u64,
                judge(step, exchange, &mut self.vars),
            ),
        };
        self.record(stats_index, latency, bytes, &outcome);
    }
}

/// Whether judging a step's responses reads their headers (else the client skips them).
fn reads_headers(step: &HttpStep) -> bool {
    !step.checks.headers.is_empty()
        || step
            .extract
            .iter()
            .any(|(_, from)| matches!(from, ExtractFrom::Header(_)))
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
