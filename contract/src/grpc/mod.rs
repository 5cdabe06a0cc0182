//! gRPC conformance (`gauntlet contract grpc`): every method of the chosen services is called
//! — unary, server-, client- and bidirectional streaming — with the calls of a sidecar
//! examples file and with generated messages, and each call is checked:
//!
//! - `grpc_status_conformance`: the final code is one the example expects (generated calls:
//!   any code but UNKNOWN, INTERNAL, UNIMPLEMENTED and DATA_LOSS);
//! - `grpc_not_a_server_error`: no UNKNOWN, INTERNAL or DATA_LOSS (unless an example asks
//!   for it), and an answer at all;
//! - `grpc_response_decodes`: every response message decodes, from its exact bytes, as the
//!   declared output type with no unknown fields, and a unary answer is exactly one message;
//! - `grpc_auth_enforced`: a call that carried credentials, repeated without them, gets
//!   UNAUTHENTICATED or PERMISSION_DENIED.
//!
//! Findings use the OpenAPI suite's [`SuiteResult`], so the console, JUnit and JSON output
//! are shared.

mod call;
pub mod examples;
pub mod generate;
mod plan;
pub mod source;

use std::path::Path;
use std::time::Duration;

use tonic::Code;

use self::call::call;
pub use self::call::decode_strictly;
pub use self::examples::Example;
use self::plan::{Case, Expect, full_name};
pub use self::plan::{MethodPlan, Plan, plan};
pub use self::source::Source;
use super::suite::{Finding, SuiteResult};
use gauntlet_client::grpc::Channels;

/// The check names, as they appear in findings.
pub const STATUS_CONFORMANCE: &str = "grpc_status_conformance";
/// See [`STATUS_CONFORMANCE`].
pub const NOT_A_SERVER_ERROR: &str = "grpc_not_a_server_error";
/// See [`STATUS_CONFORMANCE`].
pub const RESPONSE_DECODES: &str = "grpc_response_decodes";
/// See [`STATUS_CONFORMANCE`].
pub const AUTH_ENFORCED: &str = "grpc_auth_enforced";

/// Codes that mean the server failed rather than refused.
const SERVER_ERRORS: [Code; 3] = [Code::Unknown, Code::Internal, Code::DataLoss];
/// Codes a generated call must not get: a server error, or a method the descriptors declare
/// but the server does not implement.
const NEVER_BY_DEFAULT: [Code; 4] = [Code::Unknown, Code::Internal, Code::Unimplemented, Code::DataLoss];

const CODE_NAMES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// A status code by its canonical name (`NOT_FOUND`).
pub fn code_from_name(name: &str) -> Option<Code> {
    CODE_NAMES
        .iter()
        .position(|n| *n == name)
        .map(|i| Code::from_i32(i as i32))
}

/// The canonical name of a status code.
pub fn code_name(code: Code) -> &'static str {
    CODE_NAMES.get(code as usize).copied().unwrap_or("UNKNOWN")
}

/// Why the conformance run could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum ConformanceError {
    /// A mistake in the input: a .proto file, the examples file, an argument.
    #[error("{location}: {message}")]
    Invalid {
        /// `file:line:col`, a file, or the flag.
        location: String,
        /// What is wrong.
        message: String,
    },
    /// Nothing answered at the target.
    #[error("could not connect to {0}")]
    Unreachable(String),
    /// The target answered, but gave no usable descriptors through reflection.
    #[error("{0}")]
    NoDescriptors(String),
}

impl ConformanceError {
    /// Whether this is the user's input (exit 2) rather than the run failing (exit 3).
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, ConformanceError::Invalid { .. })
    }
}

/// How the run is made.
#[derive(Debug, Clone)]
pub struct GrpcOptions {
    /// `http://host:port` (HTTP/2 cleartext).
    pub target: String,
    /// Metadata sent with every call (credentials), lower-case keys; an example's own
    /// metadata overrides a key.
    pub metadata: Vec<(String, String)>,
    /// Full names of the services to check; empty: every service in the descriptors.
    pub services: Vec<String>,
    /// Generated messages per method (besides the default message).
    pub max_examples: usize,
    /// Seed of the generator: the same seed sends the same messages.
    pub seed: u64,
    /// Per-call timeout.
    pub timeout: Duration,
    /// Whether to repeat one credentialed call per method without its credentials.
    pub auth_check: bool,
    /// Metadata keys that carry credentials (removed for the `grpc_auth_enforced` probe).
    pub credential_keys: Vec<String>,
}

impl GrpcOptions {
    /// Options with the defaults for everything but the target.
    pub fn new(target: impl Into<String>) -> Self {
        GrpcOptions {
            target: target.into(),
            metadata: Vec::new(),
            services: Vec::new(),
            max_examples: 3,
            seed: 1,
            timeout: Duration::from_secs(10),
            auth_check: true,
            credential_keys: vec!["authorization".into()],
        }
    }
}

/// Loads the descriptors and the examples, plans and runs the calls.
pub async fn run(
    source: &Source,
    examples_file: Option<&Path>,
    options: &GrpcOptions,
) -> Result<SuiteResult, ConformanceError> {
    let authority = authority(&options.target)?;
    // Parse the examples before any connection: a mistake there is exit 2 even offline.
    let examples = match examples_file {
        Some(path) => examples::load(path)?,
        None => Vec::new(),
    };
    let pool = source::load(source, &options.target).await?;
    let plan = plan(&pool, &examples, options)?;
    execute(&plan, authority, options).await
}

/// `host:port` of an `http://host:port` target.
pub fn authority(target: &str) -> Result<&str, ConformanceError> {
    target
        .strip_prefix("http://")
        .map(|rest| rest.trim_end_matches('/'))
        .filter(|rest| !rest.is_empty() && !rest.contains('/'))
        .ok_or_else(|| ConformanceError::Invalid {
            location: "--target".into(),
            message: format!("{target:?}: expected http://HOST:PORT (gRPC over HTTP/2 cleartext)"),
        })
}

fn describe(method: &str, case: &Case) -> String {
    let json: Vec<String> = case
        .messages
        .iter()
        .map(|m| serde_json::to_string(m).unwrap_or_default())
        .collect();
    let mut excerpt: String = json.join(", ").chars().take(160).collect();
    if case.messages.len() != 1 {
        excerpt = format!("[{excerpt}]");
    }
    format!("{method} {excerpt} ({})", case.label)
}

fn codes_text(codes: &[Code]) -> String {
    codes
        .iter()
        .map(|c| code_name(*c))
        .collect::<Vec<_>>()
        .join(" or ")
}

fn with_detail(code: Code, detail: &str, responses: usize) -> String {
    let mut text = code_name(code).to_string();
    if !detail.is_empty() {
        text.push_str(&format!(" ({detail})"));
    }
    if responses > 0 {
        text.push_str(&format!(" after {responses} response message(s)"));
    }
    text
}

/// Makes the planned calls and checks each answer.
pub async fn execute(
    plan: &Plan,
    authority: &str,
    options: &GrpcOptions,
) -> Result<SuiteResult, ConformanceError> {
    let mut channels = Channels::default();
    let mut result = SuiteResult::default();
    let mut connect_failures = 0;
    for method_plan in &plan.methods {
        let method = &method_plan.method;
        let name = full_name(method);
        result.operations += 1;
        for case in &method_plan.cases {
            result.requests += 1;
            let described = describe(&name, case);
            let outcome = call(&mut channels, authority, method, case, options.timeout).await;
            let mut record = |check: &str, passed: bool, expected: String, actual: String| {
                let entry = result.checks.entry(check.to_string()).or_default();
                entry.0 += 1;
                if !passed {
                    entry.1 += 1;
                    result.findings.push(Finding {
                        operation: name.clone(),
                        check: check.to_string(),
                        expected,
                        actual,
                        request: described.clone(),
                    });
                }
            };
            let Some(code) = outcome.code else {
                if outcome.connect_failed {
                    connect_failures += 1;
                }
                record(NOT_A_SERVER_ERROR, false, "an answer".into(), outcome.detail);
                continue;
            };
            let actual = with_detail(code, &outcome.detail, outcome.responses.len());
            let explicitly_expected = matches!(&case.expect, Expect::Codes(codes) if codes.contains(&code));
            record(
                NOT_A_SERVER_ERROR,
                explicitly_expected || !SERVER_ERRORS.contains(&code),
                "no UNKNOWN, INTERNAL or DATA_LOSS".into(),
                actual.clone(),
            );
            match &case.expect {
                Expect::Codes(codes) => record(
                    STATUS_CONFORMANCE,
                    codes.contains(&code),
                    codes_text(codes),
                    actual.clone(),
                ),
                Expect::Sensible => record(
                    STATUS_CONFORMANCE,
                    !NEVER_BY_DEFAULT.contains(&code),
                    format!("any code but {}", NEVER_BY_DEFAULT.map(code_name).join(", ")),
                    actual.clone(),
                ),
                Expect::Refused => record(
                    AUTH_ENFORCED,
                    matches!(code, Code::Unauthenticated | Code::PermissionDenied),
                    "UNAUTHENTICATED or PERMISSION_DENIED without credentials".into(),
                    actual.clone(),
                ),
            }
            if code == Code::Ok || !outcome.responses.is_empty() {
                let output = method.output();
                let mut problem = outcome.responses.iter().enumerate().find_map(|(i, bytes)| {
                    decode_strictly(&output, bytes)
                        .err()
                        .map(|e| format!("message #{}: {e}", i + 1))
                });
                if problem.is_none()
                    && code == Code::Ok
                    && !method.is_server_streaming()
                    && outcome.responses.len() != 1
                {
                    problem = Some(format!(
                        "{} response messages where the method answers with one",
                        outcome.responses.len()
                    ));
                }
                let passed = problem.is_none();
                record(
                    RESPONSE_DECODES,
                    passed,
                    format!(
                        "each response message a {} with no unknown fields",
                        output.full_name()
                    ),
                    problem.unwrap_or_default(),
                );
            }
        }
    }
    if result.requests > 0 && connect_failures == result.requests {
        return Err(ConformanceError::Unreachable(options.target.clone()));
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_names_round_trip() {
        for i in 0..17 {
            let code = Code::from_i32(i);
            assert_eq!(code_from_name(code_name(code)), Some(code));
        }
        assert_eq!(code_from_name("FINE"), None);
    }

    #[test]
    fn targets_must_be_plain_http_authorities() {
        assert_eq!(authority("http://127.0.0.1:9/").unwrap(), "127.0.0.1:9");
        assert!(authority("https://x:1").is_err());
        assert!(authority("http://x:1/prefix").is_err());
    }
}
