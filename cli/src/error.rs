//! How a command ends when it cannot reach a verdict: the error and the exit code it maps to.
//! Commands return `Result<Verdict, CliError>`; `crate::run` prints the error once and
//! `crate::exit::code` maps the outcome once (docs/exit-codes.md).

use std::fmt::Display;

/// Why a command could not reach a verdict. The message says where (file:line:col, the flag,
/// the field) and already holds its cause: it is printed as it is, after `gauntlet: `.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A mistake in what the user gave (scenario, spec, report file, arguments): exit 2.
    #[error("{0}")]
    InvalidInput(String),
    /// The command could not be carried out (target unreachable, a file not writable, the
    /// stack not starting): exit 3.
    #[error("{0}")]
    RunFailed(String),
}

/// Classifies a failed step of a command: `.invalid_input()?`, or with what was being done
/// (`.run_failed_with(|| format!("cannot write {}", path.display()))?`). The cause is kept
/// with `{:#}`, so an `anyhow` chain prints whole.
pub trait Classify<T> {
    /// The error is the user's input: exit 2.
    fn invalid_input(self) -> Result<T, CliError>;
    /// The error is the user's input, in `context`: exit 2.
    fn invalid_input_with<C: Display>(self, context: impl FnOnce() -> C) -> Result<T, CliError>;
    /// The command could not be carried out: exit 3.
    fn run_failed(self) -> Result<T, CliError>;
    /// The command could not be carried out, while doing `context`: exit 3.
    fn run_failed_with<C: Display>(self, context: impl FnOnce() -> C) -> Result<T, CliError>;
}

impl<T, E: Display> Classify<T> for Result<T, E> {
    fn invalid_input(self) -> Result<T, CliError> {
        self.map_err(|e| CliError::InvalidInput(format!("{e:#}")))
    }

    fn invalid_input_with<C: Display>(self, context: impl FnOnce() -> C) -> Result<T, CliError> {
        self.map_err(|e| CliError::InvalidInput(format!("{}: {e:#}", context())))
    }

    fn run_failed(self) -> Result<T, CliError> {
        self.map_err(|e| CliError::RunFailed(format!("{e:#}")))
    }

    fn run_failed_with<C: Display>(self, context: impl FnOnce() -> C) -> Result<T, CliError> {
        self.map_err(|e| CliError::RunFailed(format!("{}: {e:#}", context())))
    }
}

/// Writes `content` to `path`; the error names the file.
pub fn write_file(path: &std::path::Path, content: impl AsRef<[u8]>) -> Result<(), CliError> {
    std::fs::write(path, content).run_failed_with(|| format!("cannot write {}", path.display()))
}
