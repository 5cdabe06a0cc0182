//! The process exit codes: a public contract, documented in `docs/exit-codes.md`.

/// Everything passed.
pub const PASSED: u8 = 0;
/// The gate failed: thresholds, contract violations, or a regression against a baseline.
pub const GATE_FAILED: u8 = 1;
/// Invalid input: scenario, spec, report file or command-line arguments.
pub const INVALID_INPUT: u8 = 2;
/// The run could not be carried out: target unreachable, port in use, harness error.
pub const RUN_FAILED: u8 = 3;
/// Interrupted by SIGINT/SIGTERM (a partial report is still written where one applies).
pub const INTERRUPTED: u8 = 130;
