//! Scenario files: the TOML a user writes (`file`), validated in a second stage into the
//! `RunPlan` the engine runs (`plan`). Every mistake — unknown key, bad type, undefined
//! variable, unknown metric in a threshold, malformed duration — is reported with
//! `file:line:col`, all of them at once, before any request is sent. The format is
//! documented in docs/scenarios.md.

pub mod duration;
mod feeders;
mod file;
mod grpc_step;
mod http_step;
mod load;
pub mod plan;
mod read;
mod size;
pub mod template;
mod thresholds;
mod validate;
mod variables;

use std::fmt;
use std::path::Path;
use std::time::Duration;

use plan::RunPlan;
use validate::{StepScope, Validator, toml_to_json};

/// One mistake in a scenario file, where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// `file:line:col`.
    pub location: String,
    /// What is wrong and, where it helps, what would be right.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Unreadable {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file has mistakes; all of them.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<ScenarioError>),
}

/// Values given on the command line that take precedence over the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Replaces `[target] base_url`.
    pub base_url: Option<String>,
    /// Sets or replaces `[vars]` entries.
    pub vars: Vec<(String, String)>,
    /// Replaces `[load] duration` (and drops `iterations`).
    pub duration: Option<Duration>,
    /// Replaces `[load] users` (closed and paced models).
    pub users: Option<u32>,
    /// Runs only this part of the load.
    pub shard: Option<plan::Shard>,
}

/// Environment lookup, passed in so that tests never touch the process environment.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The largest scenario file read.
const MAX_SCENARIO_BYTES: u64 = 16 << 20;

/// Reads and validates a scenario file.
pub fn load(path: &Path, env: Env<'_>, overrides: &Overrides) -> Result<RunPlan, LoadError> {
    // Capped: a scenario is a few KiB; /dev/zero or a log named by mistake must not fill memory.
    let bytes = gauntlet_contract::text::read_capped_bytes(path, MAX_SCENARIO_BYTES).map_err(|source| {
        LoadError::Unreadable {
            path: path.display().to_string(),
            source,
        }
    })?;
    let text = String::from_utf8(bytes).map_err(|e| not_utf8(&path.display().to_string(), &e))?;
    let default_name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let origin = path.display().to_string();
    from_str_in(&text, &origin, &default_name, path.parent(), env, overrides)
}

/// Validates scenario text; `origin` names it in error locations. Data files are read
/// relative to the working directory.
pub fn from_str(
    text: &str,
    origin: &str,
    default_name: &str,
    env: Env<'_>,
    overrides: &Overrides,
) -> Result<RunPlan, LoadError> {
    from_str_in(text, origin, default_name, None, env, overrides)
}

/// [`from_str`], reading data files relative to `base_dir`.
pub fn from_str_in(
    text: &str,
    origin: &str,
    default_name: &str,
    base_dir: Option<&Path>,
    env: Env<'_>,
    overrides: &Overrides,
) -> Result<RunPlan, LoadError> {
    validate::validate(text, origin, default_name, base_dir, env, overrides)
}

/// A file that is not UTF-8 (TOML must be), at its first bad byte.
fn not_utf8(origin: &str, e: &std::string::FromUtf8Error) -> LoadError {
    let bytes = e.as_bytes();
    let good = e.utf8_error().valid_up_to();
    // Up to `good` the text is valid, so its line and column are counted as usual.
    let before = std::str::from_utf8(&bytes[..good]).unwrap_or_default();
    let (line, col) = gauntlet_contract::text::line_col(before, good);
    LoadError::Invalid(vec![ScenarioError {
        location: format!("{origin}:{line}:{col}"),
        message: format!(
            "byte 0x{:02X} is not UTF-8: a scenario file must be UTF-8 text (re-save it as UTF-8)",
            bytes[good]
        ),
    }])
}

#[cfg(test)]
mod tests;
