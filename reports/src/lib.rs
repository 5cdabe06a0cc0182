//! gauntlet's report model: plain data, no engine types, so a saved report can be re-read,
//! compared and merged by any version that knows its schema. Renderers (HTML, Markdown, JUnit,
//! console), compare and merge arrive with the load-engine and reports issues.

#![warn(missing_docs)]

use serde::{Deserialize, Serialize};

/// The version of the report format this crate writes; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// The overall outcome of a run, mapped to the process exit code (docs/exit-codes.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every threshold and check held.
    Passed,
    /// A threshold, contract check or regression check failed.
    Failed,
}

/// One run's report. Only the envelope exists so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`SCHEMA_VERSION`] when written by this version.
    pub schema_version: u32,
    /// The outcome.
    pub verdict: Verdict,
}

impl Report {
    /// Reads a report, refusing a schema version this crate does not know.
    pub fn from_json(text: &str) -> Result<Report, ReportError> {
        let report: Report = serde_json::from_str(text).map_err(ReportError::Malformed)?;
        if report.schema_version != SCHEMA_VERSION {
            return Err(ReportError::UnknownSchemaVersion(report.schema_version));
        }
        Ok(report)
    }
}

/// Why a report could not be read.
#[derive(Debug)]
pub enum ReportError {
    /// Not JSON, or not a report.
    Malformed(serde_json::Error),
    /// Written by a version with another format.
    UnknownSchemaVersion(u32),
}

impl std::fmt::Display for ReportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReportError::Malformed(e) => write!(f, "not a gauntlet report: {e}"),
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

    #[test]
    fn refuses_other_schema_versions() {
        let ok = Report::from_json(r#"{"schema_version":1,"verdict":"passed"}"#).unwrap();
        assert_eq!(ok.verdict, Verdict::Passed);
        let err = Report::from_json(r#"{"schema_version":2,"verdict":"passed"}"#).unwrap_err();
        assert!(matches!(err, ReportError::UnknownSchemaVersion(2)));
        assert!(Report::from_json("{}").is_err());
    }
}
