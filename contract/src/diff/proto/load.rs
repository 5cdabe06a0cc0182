//! Compiling one side of a protobuf comparison: every `.proto` file under a root (imports
//! resolved relative to the root), with source info kept so findings can say `file:line:col`.

use std::path::{Path, PathBuf};

use prost_reflect::{DescriptorPool, FileDescriptor};

use crate::diff::DiffError;

/// One compiled side: the pool and which of its files belong to the module (not imports
/// such as `google/protobuf/*.proto` that come from protox's bundled well-known types).
#[derive(Debug)]
pub struct Side {
    /// The root directory (or the single file) as given.
    pub given: PathBuf,
    /// The include root.
    pub root: PathBuf,
    /// Every file and import, compiled.
    pub pool: DescriptorPool,
    /// Names (relative to the root, `/`-separated) of the module's own files, sorted.
    pub files: Vec<String>,
}

impl Side {
    /// The module's own files.
    pub fn module_files(&self) -> impl Iterator<Item = FileDescriptor> + '_ {
        self.files.iter().filter_map(|f| self.pool.get_file_by_name(f))
    }

    /// How `file` (a name relative to the root) is shown in a finding: the root as given
    /// joined with it, or the file as given when one file was.
    pub fn shown(&self, file: &str) -> String {
        if self.given.is_dir() {
            self.given.join(file).display().to_string()
        } else {
            self.given.display().to_string()
        }
    }
}

/// Compiles `given`: a directory (every `.proto` under it) or one `.proto` file (its directory
/// is the include root).
pub fn load(given: &Path) -> Result<Side, DiffError> {
    let unreadable = |path: &Path, e: &dyn std::fmt::Display| DiffError::Unreadable {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let meta = std::fs::metadata(given).map_err(|e| unreadable(given, &e))?;
    let (root, files) = if meta.is_dir() {
        let mut files = Vec::new();
        collect(given, given, &mut files).map_err(|e| unreadable(given, &e))?;
        files.sort();
        if files.is_empty() {
            return Err(DiffError::UnknownKind(format!(
                "{}: no .proto files under this directory",
                given.display()
            )));
        }
        (given.to_path_buf(), files)
    } else {
        let root = given
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let name = given
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        (root, vec![name])
    };
    let mut compiler = protox::Compiler::new([&root]).map_err(|e| invalid(&root, &e))?;
    compiler.include_source_info(true).include_imports(true);
    compiler
        .open_files(files.iter().map(|f| root.join(f)))
        .map_err(|e| invalid(&root, &e))?;
    Ok(Side {
        given: given.to_path_buf(),
        root,
        pool: compiler.descriptor_pool(),
        files,
    })
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            collect(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let name: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(name.join("/"));
        }
    }
    Ok(())
}

/// A protox error as `file:line:col: message`.
fn invalid(root: &Path, error: &protox::Error) -> DiffError {
    let (location, message) = crate::grpc::source::locate_protox_error(error, &[root]);
    DiffError::InvalidProto {
        location: location.unwrap_or_else(|| root.display().to_string()),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_syntax_error_is_located() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a.proto"),
            "syntax = \"proto3\";\nmessage M {\n  int32 a = ;\n}\n",
        )
        .unwrap();
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("a.proto:3:13"), "{err}");
    }

    #[test]
    fn an_empty_root_is_an_input_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("no .proto files"), "{err}");
    }
}
