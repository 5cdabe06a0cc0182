//! The scenario file as written (TOML), before validation. Unknown keys are errors
//! (`deny_unknown_fields`); spans are kept where a later check needs to point at a value.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    pub name: Option<String>,
    pub description: Option<String>,
    pub target: RawTarget,
    #[serde(default)]
    pub vars: BTreeMap<String, Spanned<toml::Value>>,
    pub load: Spanned<RawLoad>,
    #[serde(rename = "scenario")]
    pub scenarios: Vec<Spanned<RawScenario>>,
    #[serde(default)]
    /// Each: a list of conditions, or `{ conditions = [...], abort_on_fail = true }`.
    pub thresholds: BTreeMap<String, Spanned<toml::Value>>,
    #[serde(default)]
    pub data: Vec<Spanned<RawData>>,
}

/// `[[data]]`: a CSV feeder.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawData {
    pub name: String,
    pub file: Spanned<String>,
    pub mode: Option<Spanned<String>>,
}

/// `[target]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    pub base_url: Spanned<String>,
    pub timeout: Option<Spanned<String>>,
    /// Largest response body read: bytes, or a size like "16MiB".
    pub max_body: Option<Spanned<toml::Value>>,
    /// .proto files for gRPC steps, relative to `proto_root`.
    #[serde(default)]
    pub proto: Vec<Spanned<String>>,
    /// Include root for `proto` (relative to the scenario file; default: its directory).
    pub proto_root: Option<Spanned<String>>,
    /// Fetch descriptors from the target through gRPC server reflection instead.
    pub reflection: Option<Spanned<bool>>,
    /// OpenAPI document that responses are checked against during the run.
    pub openapi: Option<Spanned<String>>,
    /// Share of responses checked (0 to 1; default 1).
    pub contract_sample: Option<Spanned<f64>>,
}

/// `[load]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLoad {
    pub users: Option<u32>,
    pub duration: Option<Spanned<String>>,
    pub iterations: Option<u64>,
    pub rate: Option<f64>,
    pub stages: Option<Vec<RawStage>>,
    pub start_rate: Option<f64>,
    pub rate_stages: Option<Vec<RawRateStage>>,
}

/// One of `[load] rate_stages`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRateStage {
    pub rate: f64,
    pub over: Spanned<String>,
}

/// One of `[load] stages`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStage {
    pub users: u32,
    pub over: Spanned<String>,
}

/// `[[scenario]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub name: String,
    pub weight: Option<u32>,
    #[serde(rename = "step")]
    pub steps: Vec<Spanned<RawStep>>,
}

/// `[[scenario.step]]`: an HTTP request (`request = "METHOD URL"`) or a pause (`sleep`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub name: Option<String>,
    pub request: Option<Spanned<String>>,
    pub grpc: Option<Spanned<String>>,
    pub message: Option<Spanned<toml::Value>>,
    #[serde(default)]
    pub metadata: BTreeMap<String, Spanned<toml::Value>>,
    pub sleep: Option<Spanned<String>>,
    /// `"GET URL"` polled until it answers (an asynchronous effect became visible).
    pub await_event: Option<Spanned<String>>,
    /// `await_event`: how long to poll before the event counts as lost.
    pub within: Option<Spanned<String>>,
    /// `await_event`: the pause between polls.
    pub every: Option<Spanned<String>>,
    /// `await_event`: `"json:/pointer"` to the event's own latency in milliseconds, as the
    /// service that processed it measured it.
    pub latency: Option<Spanned<String>>,
    #[serde(default)]
    pub headers: BTreeMap<String, Spanned<toml::Value>>,
    #[serde(default)]
    pub query: BTreeMap<String, Spanned<toml::Value>>,
    pub json: Option<Spanned<toml::Value>>,
    pub form: Option<BTreeMap<String, Spanned<toml::Value>>>,
    pub body: Option<Spanned<String>>,
    #[serde(default)]
    pub check: RawCheck,
    #[serde(default)]
    pub extract: BTreeMap<String, Spanned<String>>,
    pub think_time: Option<Spanned<String>>,
    #[serde(default)]
    pub once: bool,
}

/// `check = { .. }` of a step.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCheck {
    pub status: Option<Vec<u16>>,
    /// gRPC status codes that count as success, by name (`OK`, `NOT_FOUND`, ...).
    pub code: Option<Vec<String>>,
    #[serde(default)]
    pub headers: Vec<String>,
    #[serde(default)]
    pub body: BTreeMap<String, toml::Value>,
    /// JSON pointer -> regular expression the value (as text) must match.
    #[serde(default)]
    pub matches: BTreeMap<String, Spanned<String>>,
}
