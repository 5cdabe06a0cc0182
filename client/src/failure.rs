//! Why a request failed: the failure kinds every client reports and every report counts. Under
//! load a failed request is data, not an error: it is counted by kind and the user goes on.

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FailureKind {
    /// The connection could not be made.
    Connect,
    /// No complete response within the timeout.
    Timeout,
    /// The connection broke mid-request or the response was malformed.
    Io,
    /// The response body was larger than the target's `max_body`: the request failed there and
    /// its connection was closed, so an endless or huge body cannot exhaust the generator's
    /// memory.
    BodyTooLarge,
    /// 4xx where the step allows any status.
    Status4xx,
    /// 5xx where the step allows any status.
    Status5xx,
    /// A status outside the step's allowed set.
    Status,
    /// A header or body check did not hold.
    Check,
    /// A value to extract was not in the response.
    Extract,
    /// The request could not be built from its template (e.g. a gRPC message that does not
    /// match its type once rendered, or metadata that is not ASCII).
    Request,
    /// A gRPC status outside the step's allowed codes (the code as a number).
    Grpc(i32),
}

impl FailureKind {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Connect => "connect",
            FailureKind::Timeout => "timeout",
            FailureKind::Io => "io",
            FailureKind::BodyTooLarge => "body_too_large",
            FailureKind::Status4xx => "status_4xx",
            FailureKind::Status5xx => "status_5xx",
            FailureKind::Status => "status",
            FailureKind::Check => "check",
            FailureKind::Extract => "extract",
            FailureKind::Request => "request",
            FailureKind::Grpc(code) => grpc_code_name(code),
        }
    }
}

/// `grpc_` and the lower-case status name, for reports.
fn grpc_code_name(code: i32) -> &'static str {
    const NAMES: [&str; 17] = [
        "grpc_ok",
        "grpc_cancelled",
        "grpc_unknown",
        "grpc_invalid_argument",
        "grpc_deadline_exceeded",
        "grpc_not_found",
        "grpc_already_exists",
        "grpc_permission_denied",
        "grpc_resource_exhausted",
        "grpc_failed_precondition",
        "grpc_aborted",
        "grpc_out_of_range",
        "grpc_unimplemented",
        "grpc_internal",
        "grpc_unavailable",
        "grpc_data_loss",
        "grpc_unauthenticated",
    ];
    usize::try_from(code)
        .ok()
        .and_then(|i| NAMES.get(i))
        .copied()
        .unwrap_or("grpc_unknown")
}
