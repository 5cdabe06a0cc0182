//! The process exit codes: a public contract, documented in `docs/exit-codes.md`. Mapped from a
//! command's outcome in one place, [`code`].

use gauntlet_reports::Verdict;

use crate::error::CliError;

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

/// The exit code of a command's outcome.
pub fn code(outcome: &Result<Verdict, CliError>) -> u8 {
    match outcome {
        Ok(Verdict::Passed) => PASSED,
        Ok(Verdict::Failed) => GATE_FAILED,
        Ok(Verdict::Interrupted) => INTERRUPTED,
        // Nothing was measured: the run could not be carried out as a test (docs/exit-codes.md).
        Ok(Verdict::NoData) => RUN_FAILED,
        Err(CliError::InvalidInput(_)) => INVALID_INPUT,
        Err(CliError::RunFailed(_)) => RUN_FAILED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_has_its_documented_code() {
        assert_eq!(code(&Ok(Verdict::Passed)), 0);
        assert_eq!(code(&Ok(Verdict::Failed)), 1);
        assert_eq!(code(&Err(CliError::InvalidInput("x".into()))), 2);
        assert_eq!(code(&Err(CliError::RunFailed("x".into()))), 3);
        assert_eq!(code(&Ok(Verdict::Interrupted)), 130);
        assert_eq!(code(&Ok(Verdict::NoData)), 3);
    }
}
