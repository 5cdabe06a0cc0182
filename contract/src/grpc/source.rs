//! Where `contract grpc` gets its descriptors: .proto files compiled at run time (protox, no
//! `protoc`), or the target's server reflection.

use std::path::{Path, PathBuf};

use miette::Diagnostic as _;
use prost_reflect::DescriptorPool;

use super::ConformanceError;
use crate::text::line_col;
use gauntlet_client::reflect::{ReflectError, fetch_async};

/// The source of the service descriptors.
#[derive(Debug, Clone)]
pub enum Source {
    /// .proto files and the directories their imports are resolved in (the files' own
    /// directories when none are given).
    Protos {
        /// The files to compile.
        files: Vec<PathBuf>,
        /// Import paths.
        import_paths: Vec<PathBuf>,
    },
    /// gRPC server reflection (v1) on the target.
    Reflection,
}

impl Source {
    /// A short name for the console and JUnit output.
    pub fn describe(&self, target: &str) -> String {
        match self {
            Source::Protos { files, .. } => files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            Source::Reflection => format!("reflection from {target}"),
        }
    }
}

/// Loads the descriptors.
pub async fn load(source: &Source, target: &str) -> Result<DescriptorPool, ConformanceError> {
    match source {
        Source::Reflection => {
            let fds = fetch_async(target).await.map_err(|e| match e {
                ReflectError::Unreachable { .. } => ConformanceError::Unreachable(target.to_string()),
                ReflectError::Failed(message) => ConformanceError::NoDescriptors(format!(
                    "server reflection from {target}: {message} (give the .proto files with --proto instead)"
                )),
            })?;
            DescriptorPool::from_file_descriptor_set(fds)
                .map_err(|e| ConformanceError::NoDescriptors(format!("server reflection from {target}: {e}")))
        }
        Source::Protos { files, import_paths } => compile(files, import_paths),
    }
}

fn compile(files: &[PathBuf], import_paths: &[PathBuf]) -> Result<DescriptorPool, ConformanceError> {
    let mut includes: Vec<PathBuf> = import_paths.to_vec();
    if includes.is_empty() {
        for file in files {
            let dir = file
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .to_path_buf();
            if !includes.contains(&dir) {
                includes.push(dir);
            }
        }
    }
    for file in files {
        if !file.is_file() {
            return Err(ConformanceError::Invalid {
                location: file.display().to_string(),
                message: "no such .proto file".into(),
            });
        }
    }
    let fds = protox::compile(files, &includes).map_err(|e| located(&e, files, &includes))?;
    DescriptorPool::from_file_descriptor_set(fds).map_err(|e| ConformanceError::Invalid {
        location: files[0].display().to_string(),
        message: e.to_string(),
    })
}

fn located(error: &protox::Error, files: &[PathBuf], includes: &[PathBuf]) -> ConformanceError {
    let (location, message) = locate_protox_error(error, includes);
    ConformanceError::Invalid {
        location: location.unwrap_or_else(|| files[0].display().to_string()),
        message,
    }
}

/// Where a protox error is, as `file:line:col` (or the file alone when protox gives no
/// offset; `None` when it names no file found under `includes`), and its message with its
/// help. protox reports a file name relative to an import path and a byte offset (a miette
/// label), so both are resolved here. Used by every command that compiles .proto files.
pub fn locate_protox_error(error: &protox::Error, includes: &[impl AsRef<Path>]) -> (Option<String>, String) {
    let offset = error
        .labels()
        .and_then(|mut labels| labels.next())
        .map(|label| label.offset());
    let path = error.file().and_then(|name| {
        includes
            .iter()
            .map(|dir| dir.as_ref().join(name))
            .find(|p| p.is_file())
    });
    let location = match (path, offset) {
        (Some(path), Some(offset)) => Some(match std::fs::read_to_string(&path) {
            Ok(text) => {
                let (line, col) = line_col(&text, offset);
                format!("{}:{line}:{col}", path.display())
            }
            Err(_) => path.display().to_string(),
        }),
        (Some(path), None) => Some(path.display().to_string()),
        (None, _) => error.file().map(str::to_string),
    };
    let mut message = error.to_string();
    if let Some(help) = error.help() {
        message.push_str(&format!(" ({help})"));
    }
    (location, message)
}
