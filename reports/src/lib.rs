//! gauntlet's report model: plain data, no engine types, so a saved report can be re-read,
//! compared and merged by any version that knows its schema. Histograms are kept losslessly
//! (HdrHistogram V2 + DEFLATE, base64) so reports can be merged exactly; percentiles are
//! never averaged. The JSON Schema is `reports/schema/report.schema.json`; the format is
//! documented in docs/report-format.md.

#![warn(missing_docs)]

pub mod compare;
pub mod console;
pub mod histogram;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod merge;
#[cfg(test)]
mod testing;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The version of the report format this crate writes; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// The overall outcome of a run, mapped to the process exit code (docs/exit-codes.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every threshold held.
    Passed,
    /// A threshold failed.
    Failed,
    /// The run was interrupted before its end; thresholds were still evaluated.
    Interrupted,
    /// The run ended without measuring a single request: nothing to judge, so no pass
    /// (thresholds on zero requests would hold vacuously).
    NoData,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Passed => "PASSED",
            Verdict::Failed => "FAILED",
            Verdict::Interrupted => "INTERRUPTED",
            Verdict::NoData => "NO DATA",
        })
    }
}

/// One run's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`SCHEMA_VERSION`] when written by this version.
    pub schema_version: u32,
    /// The scenario file's name.
    pub scenario: String,
    /// Its description, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Base URL the run targeted.
    pub target: String,
    /// When the run started, RFC 3339 UTC.
    pub started_at: String,
    /// How long the run lasted, seconds.
    pub duration_secs: f64,
    /// The load that was applied.
    pub load: LoadSummary,
    /// The resolved plan: scenarios and their steps as run.
    pub plan: PlanSummary,
    /// Iterations completed by all users.
    pub iterations: u64,
    /// Paced iterations that started after their intended time (the generator fell behind,
    /// usually because the target slowed down); always 0 for other models.
    pub late_starts: u64,
    /// The `abort_on_fail` threshold (`metric condition`) that stopped the run early, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aborted_by: Option<String>,
    /// Passive contract checking, when the scenario named an OpenAPI document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<ContractReport>,
    /// All request steps together.
    pub total: StepReport,
    /// Per step, in plan order.
    pub steps: Vec<StepReport>,
    /// Each threshold condition and its outcome.
    pub thresholds: Vec<ThresholdOutcome>,
    /// The verdict.
    pub verdict: Verdict,
    /// Where and with what the run was made.
    pub environment: Environment,
}

/// The load model and its size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadSummary {
    /// `closed`, `staged` or `paced`.
    pub model: String,
    /// Virtual users (the peak, for a staged run), all shards together.
    pub users: u32,
    /// Iterations started per second (paced), all shards together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// `i/n` when this report is one shard of a distributed run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// Planned duration, seconds (when the run is time-bound).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<f64>,
    /// Planned iterations per user (when the run is count-bound).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterations_per_user: Option<u64>,
}

/// Responses checked against an OpenAPI document during the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContractReport {
    /// The spec file, as named in the scenario.
    pub spec: String,
    /// Share of responses checked.
    pub sample: f64,
    /// Responses checked.
    pub checked: u64,
    /// Distinct violations, most frequent first.
    pub violations: Vec<ViolationReport>,
}

/// One distinct contract violation, with how often it was seen and the first examples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViolationReport {
    /// The step whose responses broke the contract.
    pub step: String,
    /// The operation (operationId).
    pub operation: String,
    /// The check, named as Schemathesis names it (`response_schema_conformance`, ...).
    pub check: String,
    /// JSON pointer in the body (or the header name), empty when not applicable.
    pub pointer: String,
    /// What the contract says.
    pub expected: String,
    /// How many responses had it.
    pub count: u64,
    /// The first few: the request that produced it, and what came.
    pub examples: Vec<ViolationExample>,
}

/// One occurrence of a violation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViolationExample {
    /// `METHOD URL` and a body excerpt.
    pub request: String,
    /// The value that came.
    pub actual: String,
}

/// The plan as it was resolved from the scenario file and the command line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanSummary {
    /// Per-request timeout, milliseconds.
    pub timeout_ms: u64,
    /// The scenarios users picked from.
    pub scenarios: Vec<ScenarioSummary>,
}

/// One scenario of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioSummary {
    /// Name.
    pub name: String,
    /// Relative weight.
    pub weight: u32,
    /// Its steps, in order.
    pub steps: Vec<StepSummary>,
}

/// One step of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepSummary {
    /// Name.
    pub name: String,
    /// `http`, `grpc` or `sleep`.
    pub kind: String,
    /// What it does: `GET /v1/movies` (the URL template as written), the gRPC method, or the
    /// pause.
    pub target: String,
    /// Runs once per user and scenario.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub once: bool,
}

/// The numbers of one step (or of all steps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    /// Step name (`all` for the total).
    pub name: String,
    /// Scenario the step belongs to (absent for the total).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    /// Requests sent.
    pub requests: u64,
    /// Requests that failed (any kind).
    pub failed: u64,
    /// Failed requests by kind: `connect`, `timeout`, `io`, `status_4xx`, `status_5xx`,
    /// `status` (not in the step's allowed set), `check`, `extract`.
    pub failures: BTreeMap<String, u64>,
    /// Check conditions that held.
    pub checks_passed: u64,
    /// Check conditions that did not.
    pub checks_failed: u64,
    /// Response bytes received (bodies).
    pub bytes_received: u64,
    /// Requests per second over the run.
    pub rate_per_sec: f64,
    /// Latency summary, microseconds (absent when nothing was timed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_us: Option<LatencySummary>,
    /// The latency histogram (microseconds, 3 significant digits): HdrHistogram V2 +
    /// DEFLATE, base64 (standard alphabet).
    pub histogram: String,
    /// Per-second windows that saw requests; their histograms add up exactly to `histogram`.
    pub windows: Vec<WindowReport>,
}

/// One second of one step (or of all steps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowReport {
    /// Seconds since the run's start: the window is `[second, second + 1)`.
    pub second: u64,
    /// Requests completed in the window.
    pub requests: u64,
    /// Of which failed.
    pub failed: u64,
    /// Latency histogram of the window, encoded like `StepReport::histogram` (empty when no
    /// request was timed).
    pub histogram: String,
    /// Virtual users active as the window closed (in the total's windows only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<u64>,
}

/// Latency percentiles, microseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Minimum.
    pub min: u64,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 95th percentile.
    pub p95: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Maximum.
    pub max: u64,
}

/// One threshold condition and whether it held.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdOutcome {
    /// Metric with tags, e.g. `http_req_duration{step:login}`.
    pub metric: String,
    /// The condition as written, e.g. `p(99) < 250ms`.
    pub condition: String,
    /// The observed value (microseconds for durations), absent when there was no data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<f64>,
    /// Whether it held (no data never holds).
    pub passed: bool,
}

impl ThresholdOutcome {
    /// Whether `observed` is a duration in microseconds: any aggregate but `count` of a latency
    /// metric (`http_req_duration`, `grpc_req_duration`, `event_latency`), whatever its tags.
    /// Every renderer asks this one question, so a value is shown in ms in all of them or none.
    pub fn is_duration(&self) -> bool {
        let metric = self.metric.split('{').next().unwrap_or_default();
        matches!(
            metric,
            "http_req_duration" | "grpc_req_duration" | "event_latency"
        ) && !self.condition.trim_start().starts_with("count")
    }
}

/// Where the run was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// gauntlet's version.
    pub harness_version: String,
    /// Operating system and architecture.
    pub os: String,
    /// Logical CPUs of the generator machine.
    pub cpus: usize,
    /// The system's revision under test, when given (`--revision`, e.g. a git commit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
}

impl Report {
    /// Reads a report, refusing a schema version this crate does not know.
    pub fn from_json(text: &str) -> Result<Report, ReportError> {
        let version: serde_json::Value = serde_json::from_str(text).map_err(ReportError::Malformed)?;
        match version.get("schema_version").and_then(serde_json::Value::as_u64) {
            Some(v) if v == u64::from(SCHEMA_VERSION) => {}
            Some(v) => return Err(ReportError::UnknownSchemaVersion(v)),
            None => return Err(ReportError::NotAReport),
        }
        let report: Report = serde_json::from_value(version).map_err(ReportError::Malformed)?;
        report.check_histograms()?;
        Ok(report)
    }

    /// Every histogram must decode: one that does not would be drawn as "no latency data"
    /// beside its requests, and compared or merged as if it were empty.
    fn check_histograms(&self) -> Result<(), ReportError> {
        let steps = self.steps.iter().map(|s| (format!("step {:?}", s.name), s));
        for (at, step) in std::iter::once(("total".to_string(), &self.total)).chain(steps) {
            let windows = step
                .windows
                .iter()
                .map(|w| (format!("{at}, window {}", w.second), &w.histogram));
            for (place, encoded) in std::iter::once((at.clone(), &step.histogram)).chain(windows) {
                if !encoded.is_empty() {
                    histogram::decode(encoded)
                        .map_err(|reason| ReportError::BadHistogram { place, reason })?;
                }
            }
        }
        Ok(())
    }
}

/// Why a report could not be read.
#[derive(Debug)]
pub enum ReportError {
    /// Not JSON, or a field has the wrong shape.
    Malformed(serde_json::Error),
    /// No `schema_version`.
    NotAReport,
    /// Written by a version with another format.
    UnknownSchemaVersion(u64),
    /// A histogram that does not decode, and where it is.
    BadHistogram {
        /// `total`, `step "login"`, `step "login", window 3`.
        place: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl std::fmt::Display for ReportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReportError::Malformed(e) => write!(f, "not a valid gauntlet report: {e}"),
            ReportError::NotAReport => f.write_str("not a gauntlet report (no schema_version)"),
            ReportError::BadHistogram { place, reason } => {
                write!(f, "not a valid gauntlet report: {place}: {reason}")
            }
            ReportError::UnknownSchemaVersion(v) => {
                write!(
                    f,
                    "report schema version {v} is not supported (this gauntlet reads {SCHEMA_VERSION})"
                )
            }
        }
    }
}

impl std::error::Error for ReportError {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 20: `report` and `compare` took a histogram that is not base64 and drew "no
    /// latency data" beside 32,700 requests. Reading the report now says where it is broken.
    #[test]
    fn a_histogram_that_does_not_decode_is_refused_where_it_is() {
        let good = serde_json::to_value(crate::testing::run(&[1_000, 2_000], 0)).unwrap();
        assert!(Report::from_json(&good.to_string()).is_ok());
        let mut bad = good.clone();
        bad["steps"][0]["windows"][1]["histogram"] = "not base64!".into();
        let err = Report::from_json(&bad.to_string()).unwrap_err().to_string();
        assert!(
            err.contains("step \"get\", window 1: histogram is not base64"),
            "{err}"
        );
        let mut bad = good;
        bad["total"]["histogram"] = "AAAA".into();
        let err = Report::from_json(&bad.to_string()).unwrap_err().to_string();
        assert!(err.contains("total: histogram does not decode"), "{err}");
    }

    /// The HTML report showed `event_latency` as a bare 151679.0000 (it looked for "duration"
    /// in the metric name); the console looked at the condition. All three renderers now ask
    /// `is_duration` and show milliseconds.
    #[test]
    fn every_renderer_shows_latency_thresholds_in_ms_and_counts_as_counts() {
        let mut report = crate::testing::run(&[1_000, 2_000], 0);
        let outcome = |metric: &str, condition: &str, observed: f64| ThresholdOutcome {
            metric: metric.into(),
            condition: condition.into(),
            observed: Some(observed),
            passed: true,
        };
        report.thresholds = vec![
            outcome(
                "event_latency{step:processed by partner}",
                "p(99) < 2s",
                151_679.0,
            ),
            outcome("grpc_req_duration", "avg < 1s", 2_500.0),
            outcome("http_req_duration{step:list}", "count > 10", 42.0),
            outcome("events_lost", "count == 0", 0.0),
        ];
        assert_eq!(
            report
                .thresholds
                .iter()
                .map(ThresholdOutcome::is_duration)
                .collect::<Vec<_>>(),
            [true, true, false, false]
        );
        let html = crate::html::render(&report);
        let console = crate::console::render(&report);
        let markdown = crate::markdown::render(&report);
        assert!(
            html.contains(">151.68 ms<") && html.contains(">2.50 ms<"),
            "{html}"
        );
        assert!(
            console.contains("(observed 151.68ms)") && console.contains("(observed 2.50ms)"),
            "{console}"
        );
        assert!(
            markdown.contains("| 151.68 ms |") && markdown.contains("| 2.50 ms |"),
            "{markdown}"
        );
        for text in [&html, &console, &markdown] {
            assert!(!text.contains("151679") && !text.contains("0.04 ms") && !text.contains("0.04ms"));
        }
    }

    /// Issue 20, found by fuzzing `merge`: the console, Markdown and HTML renderers summed the
    /// contract violations with `sum()`, which panicked (debug) or wrapped (release) when the
    /// counts of a merged report's violations added past u64::MAX.
    #[test]
    fn violation_totals_past_u64_saturate_in_every_renderer() {
        let mut report = crate::testing::run(&[1_000], 0);
        let violation = |check: &str| ViolationReport {
            step: "get".into(),
            operation: "getMovie".into(),
            check: check.into(),
            pointer: String::new(),
            expected: "200".into(),
            count: u64::MAX,
            examples: Vec::new(),
        };
        report.contract = Some(ContractReport {
            spec: "catalog.yaml".into(),
            sample: 1.0,
            checked: 1,
            violations: vec![
                violation("status_code_conformance"),
                violation("content_type_conformance"),
            ],
        });
        let total = format!("{} violations", u64::MAX);
        for text in [
            console::render(&report),
            markdown::render(&report),
            html::render(&report),
        ] {
            assert!(text.contains(&total), "{text}");
        }
    }

    #[test]
    fn refuses_other_schema_versions_and_non_reports() {
        assert!(matches!(
            Report::from_json(r#"{"schema_version":2}"#).unwrap_err(),
            ReportError::UnknownSchemaVersion(2)
        ));
        assert!(matches!(
            Report::from_json("{}").unwrap_err(),
            ReportError::NotAReport
        ));
        assert!(matches!(
            Report::from_json(r#"{"schema_version":1}"#).unwrap_err(),
            ReportError::Malformed(_)
        ));
    }
}
