//! The validated plan: what the engine runs. Built only by `scenario::load` (or by code, for
//! library use); every template is parsed and every name resolved, so running it cannot hit
//! an input error.

use std::time::Duration;

use http::{HeaderName, Method};

use super::template::Template;
use crate::threshold::Condition;

/// A whole run.
#[derive(Debug, Clone)]
pub struct RunPlan {
    /// The scenario file's name (or its file stem).
    pub name: String,
    /// What the scenario is for, as the file says.
    pub description: Option<String>,
    /// Where relative request paths go: `http://host:port` plus an optional path prefix.
    pub base_url: String,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Largest response body read, bytes; a larger one fails its request as `body_too_large`.
    pub max_body: usize,
    /// How much load, for how long.
    pub load: LoadPlan,
    /// Variable slots: names, and the initial value of each (from `[vars]`; empty for
    /// extracted ones until a step sets them).
    pub vars: Vec<(String, String)>,
    /// The scenarios users pick from, by weight.
    pub scenarios: Vec<ScenarioPlan>,
    /// Pass/fail conditions on the final numbers.
    pub thresholds: Vec<ThresholdPlan>,
    /// CSV data feeders (`[[data]]`), referenced as `${name.column}`.
    pub feeders: Vec<Feeder>,
    /// Passive contract checking of HTTP responses (`[target] openapi`).
    pub contract: Option<ContractPlan>,
}

/// Responses are checked against an OpenAPI document while the run goes on.
#[derive(Clone)]
pub struct ContractPlan {
    /// The spec file, as named in the scenario.
    pub spec: String,
    /// The validator.
    pub validator: std::sync::Arc<gauntlet_contract::validate::ResponseValidator>,
    /// Share of responses checked.
    pub sample: f64,
}

impl std::fmt::Debug for ContractPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContractPlan")
            .field("spec", &self.spec)
            .field("sample", &self.sample)
            .finish()
    }
}

/// Rows of a CSV file that templates read from.
#[derive(Debug, Clone, PartialEq)]
pub struct Feeder {
    /// Name used in templates.
    pub name: String,
    /// Which row a user reads.
    pub mode: FeedMode,
    /// Header row.
    pub columns: Vec<String>,
    /// Data rows (at least one), each with one value per column.
    pub rows: Vec<Vec<String>>,
}

/// Which row of a feeder a user reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedMode {
    /// User `i` reads row `i % rows` for the whole run (one account per user).
    PerUser,
    /// Every iteration of any user takes the next row, round robin across all users.
    Shared,
}

/// How much load, and which part of it this process generates.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadPlan {
    /// The load model.
    pub model: LoadModel,
    /// The part of the load this process runs (`--shard i/n`).
    pub shard: Shard,
}

/// A load model.
#[derive(Debug, Clone, PartialEq)]
pub enum LoadModel {
    /// `users` virtual users, each running iterations back to back.
    Closed {
        /// Concurrent users.
        users: u32,
        /// When the run ends.
        limit: Limit,
    },
    /// The closed model with a user count that moves linearly from one stage's target to the
    /// next (ramp up, hold, ramp down).
    Staged {
        /// The stages, in order; the run starts at 0 users.
        stages: Vec<Stage>,
    },
    /// The paced model with a rate that moves linearly from `start_rate` through each stage's
    /// target (ramping arrival rate); iteration `j` of the run is due when the integral of
    /// the rate reaches `j`, and user `i` runs iterations `i, i + users, ...`.
    PacedRamp {
        /// Rate at the start.
        start_rate: f64,
        /// The stages, in order.
        stages: Vec<RateStage>,
        /// Users sharing the schedule.
        users: u32,
    },
    /// Constant throughput: `users` users each start iterations on a fixed schedule so that
    /// together they start `rate` iterations per second. A user still busy when its next start
    /// is due starts late (counted in `late_starts`), and the latency of that iteration's
    /// first request is measured from the intended start (wrk2's correction for coordinated
    /// omission).
    Paced {
        /// Iterations started per second, all users together.
        rate: f64,
        /// Users sharing the schedule.
        users: u32,
        /// How long.
        duration: Duration,
    },
}

/// One stage of a ramping paced run: reach `rate` linearly over `over`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateStage {
    /// Target rate (iterations started per second, all users) at the end of the stage.
    pub rate: f64,
    /// Length of the stage.
    pub over: Duration,
}

/// One stage of a staged run: reach `users` linearly over `over`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    /// Target user count at the end of the stage.
    pub users: u32,
    /// Length of the stage.
    pub over: Duration,
}

/// The part of the load one generator runs: users whose index is `index` modulo `count`, so
/// `n` shards together run exactly the whole plan (`${user}` stays unique across shards).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 0-based shard index.
    pub index: u32,
    /// Number of shards.
    pub count: u32,
}

impl Default for Shard {
    fn default() -> Self {
        Shard { index: 0, count: 1 }
    }
}

/// When a closed run ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    /// After this long (iterations in progress finish their current step).
    Duration(Duration),
    /// After each user ran this many iterations.
    IterationsPerUser(u64),
}

/// A named sequence of steps.
#[derive(Debug, Clone)]
pub struct ScenarioPlan {
    /// Name (a metric tag).
    pub name: String,
    /// Relative weight when users pick a scenario for an iteration.
    pub weight: u32,
    /// The steps, in order.
    pub steps: Vec<StepPlan>,
}

/// One step.
#[derive(Debug, Clone)]
pub struct StepPlan {
    /// Name (a metric tag); unique within the plan.
    pub name: String,
    /// What the step does.
    pub kind: StepKind,
    /// Pause after the step: uniformly random in `min..=max`.
    pub think_time: Option<(Duration, Duration)>,
    /// Run only the first time a user runs this scenario (log in, seed data).
    pub once: bool,
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum StepKind {
    /// An HTTP request.
    Http(Box<HttpStep>),
    /// A gRPC call.
    Grpc(Box<GrpcStep>),
    /// A pause.
    Sleep(Duration),
    /// An HTTP request polled until its checks hold: waits for an asynchronous effect.
    AwaitEvent(Box<AwaitStep>),
}

/// An `await_event` step: `request` is sent every `every` until its checks hold (the event
/// arrived: its latency goes to `event_latency`) or `within` has passed (it counts in
/// `events_lost`).
#[derive(Debug, Clone)]
pub struct AwaitStep {
    /// The poll, with its checks (status 200 unless given) and extractions.
    pub request: HttpStep,
    /// Deadline from the step's start.
    pub within: Duration,
    /// Pause between polls.
    pub every: Duration,
    /// JSON pointer to the event's latency in milliseconds in the answer; without it the
    /// latency is the time from the step's start to the answer.
    pub latency: Option<String>,
}

/// A gRPC call step (unary or server streaming), over HTTP/2 cleartext to the base URL.
#[derive(Debug, Clone)]
pub struct GrpcStep {
    /// The method, resolved in the scenario's protos.
    pub method: GrpcMethod,
    /// The request message in the proto3 JSON mapping; strings are templates.
    pub message: JsonTemplate,
    /// Request metadata (ASCII values).
    pub metadata: Vec<(String, Template)>,
    /// Status codes that count as success (default: only OK).
    pub codes: Vec<tonic::Code>,
    /// JSON pointer -> expected value, in the response as JSON (an array of messages for a
    /// server-streaming call).
    pub body_checks: Vec<(String, serde_json::Value)>,
    /// JSON pointer -> pattern, as for HTTP steps.
    pub matches: Vec<(String, regex::Regex)>,
    /// Values to keep for later steps: (variable slot, JSON pointer in the response).
    pub extract: Vec<(usize, String)>,
}

pub use gauntlet_client::grpc::GrpcMethod;

/// An HTTP request step.
#[derive(Debug, Clone)]
pub struct HttpStep {
    /// Method.
    pub method: Method,
    /// Absolute URL, or a path joined to the base URL.
    pub url: Template,
    /// Query parameters (percent-encoded when rendered).
    pub query: Vec<(String, Template)>,
    /// Request headers.
    pub headers: Vec<(HeaderName, Template)>,
    /// Body.
    pub body: BodyTemplate,
    /// What must hold of the response.
    pub checks: Checks,
    /// Values to keep for later steps: (variable slot, where from).
    pub extract: Vec<(usize, ExtractFrom)>,
}

/// A request body.
#[derive(Debug, Clone)]
pub enum BodyTemplate {
    /// None.
    Empty,
    /// JSON (`Content-Type: application/json`).
    Json(JsonTemplate),
    /// Form-encoded fields.
    Form(Vec<(String, Template)>),
    /// Raw text as written.
    Raw(Template),
}

/// A JSON value whose strings are templates.
#[derive(Debug, Clone)]
pub enum JsonTemplate {
    /// Any non-string scalar, as written.
    Scalar(serde_json::Value),
    /// A string template.
    String(Template),
    /// An array.
    Array(Vec<JsonTemplate>),
    /// An object.
    Object(Vec<(String, JsonTemplate)>),
}

/// Conditions a response must meet; a failed one counts the request as failed (`check`).
#[derive(Debug, Clone, Default)]
pub struct Checks {
    /// Allowed statuses; empty means any 1xx-3xx.
    pub status: Vec<u16>,
    /// Headers that must be present.
    pub headers: Vec<HeaderName>,
    /// JSON pointer -> expected value.
    pub body: Vec<(String, serde_json::Value)>,
    /// JSON pointer -> pattern the value (strings as is, others as JSON) must match.
    pub matches: Vec<(String, regex::Regex)>,
}

/// Where an extracted value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ExtractFrom {
    /// A JSON pointer into the response body (strings unquoted, other values as JSON).
    JsonPointer(String),
    /// A response header.
    Header(HeaderName),
}

/// A metric a threshold is about, with an optional tag filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricRef {
    /// `http_req_duration`, `http_req_failed`, `http_reqs`, `checks` or `iterations`.
    pub name: String,
    /// `step:NAME` filter.
    pub step: Option<String>,
    /// `scenario:NAME` filter.
    pub scenario: Option<String>,
}

impl MetricRef {
    /// Parses `name{step:S,scenario:C}` — the syntax only; whether the metric, step and
    /// scenario exist is the caller's check. The error says what is wrong.
    pub fn parse(text: &str) -> Result<MetricRef, String> {
        let (name, tags) = match text.split_once('{') {
            None => (text, ""),
            Some((name, rest)) => (
                name,
                rest.strip_suffix('}')
                    .ok_or_else(|| format!("threshold {text:?}: unclosed {{"))?,
            ),
        };
        let mut metric = MetricRef {
            name: name.to_string(),
            step: None,
            scenario: None,
        };
        for tag in tags.split(',').filter(|t| !t.trim().is_empty()) {
            match tag.split_once(':').map(|(k, v)| (k.trim(), v.trim())) {
                Some(("step", v)) => metric.step = Some(v.to_string()),
                Some(("scenario", v)) => metric.scenario = Some(v.to_string()),
                _ => {
                    return Err(format!(
                        "{text}: unknown tag {tag:?} (use step:NAME or scenario:NAME)"
                    ));
                }
            }
        }
        Ok(metric)
    }
}

impl std::fmt::Display for MetricRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)?;
        let mut tags = Vec::new();
        if let Some(s) = &self.scenario {
            tags.push(format!("scenario:{s}"));
        }
        if let Some(s) = &self.step {
            tags.push(format!("step:{s}"));
        }
        if !tags.is_empty() {
            write!(f, "{{{}}}", tags.join(","))?;
        }
        Ok(())
    }
}

/// Conditions on one metric.
#[derive(Debug, Clone)]
pub struct ThresholdPlan {
    /// The metric.
    pub metric: MetricRef,
    /// Each condition with its text as written.
    pub conditions: Vec<(String, Condition)>,
    /// Stop the run as soon as a condition fails (checked once a second on the numbers so far).
    pub abort_on_fail: bool,
}
