//! Breaking-change detection between two versions of a contract (`gauntlet contract diff OLD NEW`).
//!
//! Two kinds of contract, one result type:
//! - protobuf (`proto`): two proto roots compiled with protox, compared with buf's breaking rules,
//!   rule ids and categories, so a finding here is the finding `buf breaking` reports;
//! - OpenAPI (`openapi`): two 3.0/3.1 documents, compared on the principle that narrowing what a
//!   request accepts or widening what a response returns breaks clients, with oasdiff-style ids.
//!
//! The JSON form of [`DiffReport`] is a public contract (`reports/schema/contract-diff.schema.json`).

pub mod openapi;
pub mod proto;
pub mod render;

use std::path::Path;

use serde::Serialize;

/// Version of the JSON output; bumped when a field changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 1;

/// How much a finding matters. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A change worth knowing about that breaks nobody (e.g. a new optional property).
    Info,
    /// A change that may break some clients (e.g. a response enum value added).
    Warning,
    /// A change that breaks clients.
    Error,
}

impl Severity {
    /// Parses `error`, `warning` or `info`.
    pub fn parse(text: &str) -> Option<Severity> {
        match text.to_ascii_lowercase().as_str() {
            "error" => Some(Severity::Error),
            "warning" | "warn" => Some(Severity::Warning),
            "info" => Some(Severity::Info),
            _ => None,
        }
    }

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// Where a finding is: a place in a file (proto) and/or an operation and JSON pointer (OpenAPI).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The file, as given on the command line (for proto: the root joined with the file's
    /// path in it). The NEW file when the element still exists there, else the OLD one.
    pub file: String,
    /// 1-based line, where the source gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column, where the source gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// OpenAPI: the operation, `METHOD /path/template`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// OpenAPI: a JSON pointer into the document the location's file names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        if let Some(op) = &self.operation {
            write!(f, " {op}")?;
        }
        if let Some(pointer) = &self.pointer {
            write!(f, " #{pointer}")?;
        }
        Ok(())
    }
}

/// One breaking (or noteworthy) change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule: buf's id for protobuf (`FIELD_NO_DELETE`), an oasdiff-style id for OpenAPI
    /// (`response-property-removed`).
    pub id: String,
    /// How much it matters; every protobuf finding is an error.
    pub level: Severity,
    /// protobuf: buf's categories of the rule (of FILE, PACKAGE, WIRE_JSON, WIRE).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// Where.
    pub location: Location,
    /// What changed, in a sentence.
    pub message: String,
}

/// Which kind of contract was compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContractKind {
    /// Two proto roots.
    Protobuf,
    /// Two OpenAPI documents.
    Openapi,
}

/// The result of comparing OLD with NEW.
#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// protobuf or openapi.
    pub kind: ContractKind,
    /// OLD as given.
    pub old: String,
    /// NEW as given.
    pub new: String,
    /// protobuf: the buf category whose rules ran (`WIRE_JSON` by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// The findings, sorted by file, line, column, id.
    pub findings: Vec<Finding>,
}

impl DiffReport {
    /// Number of findings at `level`.
    pub fn count(&self, level: Severity) -> usize {
        self.findings.iter().filter(|f| f.level == level).count()
    }

    /// Whether any finding is at or above `fail_on`.
    pub fn fails(&self, fail_on: Severity) -> bool {
        self.findings.iter().any(|f| f.level >= fail_on)
    }
}

/// Why two contracts could not be compared: an input mistake (exit 2), with its location.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    /// A path that does not exist or cannot be read.
    #[error("{path}: {message}")]
    Unreadable {
        /// The path.
        path: String,
        /// The I/O error.
        message: String,
    },
    /// OLD and NEW are not both proto roots or both OpenAPI files.
    #[error("{0}")]
    UnknownKind(String),
    /// A .proto file that does not compile (`file:line:col: message`).
    #[error("{location}: {message}")]
    InvalidProto {
        /// `file:line:col` where known.
        location: String,
        /// What is wrong.
        message: String,
    },
    /// An OpenAPI document that does not load.
    #[error(transparent)]
    InvalidSpec(#[from] crate::openapi::SpecError),
}

/// Decides from OLD and NEW which kind of contract they are: two directories or two `.proto`
/// files are protobuf; two `.yaml`/`.yml`/`.json` files are OpenAPI.
pub fn detect_kind(old: &Path, new: &Path) -> Result<ContractKind, DiffError> {
    let kind_of = |p: &Path| -> Result<Option<ContractKind>, DiffError> {
        let meta = std::fs::metadata(p).map_err(|e| DiffError::Unreadable {
            path: p.display().to_string(),
            message: e.to_string(),
        })?;
        if meta.is_dir() {
            return Ok(Some(ContractKind::Protobuf));
        }
        let ext = p
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        Ok(match ext.as_str() {
            "proto" => Some(ContractKind::Protobuf),
            "yaml" | "yml" | "json" => Some(ContractKind::Openapi),
            _ => None,
        })
    };
    match (kind_of(old)?, kind_of(new)?) {
        (Some(a), Some(b)) if a == b => Ok(a),
        (a, b) => Err(DiffError::UnknownKind(format!(
            "cannot tell what to compare: {} is {}, {} is {} (expected two proto roots or .proto \
             files, or two OpenAPI .yaml/.yml/.json files)",
            old.display(),
            describe(a),
            new.display(),
            describe(b)
        ))),
    }
}

fn describe(kind: Option<ContractKind>) -> &'static str {
    match kind {
        Some(ContractKind::Protobuf) => "a proto root",
        Some(ContractKind::Openapi) => "an OpenAPI file",
        None => "neither",
    }
}

/// What `diff` compares and how.
#[derive(Debug, Clone)]
pub struct DiffOptions {
    /// protobuf: the buf category to check (FILE, PACKAGE, WIRE_JSON or WIRE).
    pub category: proto::Category,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            category: proto::Category::WireJson,
        }
    }
}

/// Compares OLD with NEW (kind detected from the paths).
pub fn diff(old: &Path, new: &Path, options: &DiffOptions) -> Result<DiffReport, DiffError> {
    let kind = detect_kind(old, new)?;
    let mut findings = match kind {
        ContractKind::Protobuf => proto::diff(old, new, options.category)?,
        ContractKind::Openapi => openapi::diff(old, new)?,
    };
    // By place, then rule: a file's findings in source order (protobuf), an operation's
    // together (OpenAPI).
    let key = |f: &Finding| {
        (
            f.location.file.clone(),
            f.location.line,
            f.location.column,
            f.location.operation.clone(),
            f.location.pointer.clone(),
            f.id.clone(),
            f.message.clone(),
        )
    };
    findings.sort_by_key(key);
    findings.dedup();
    Ok(DiffReport {
        schema_version: SCHEMA_VERSION,
        kind,
        old: old.display().to_string(),
        new: new.display().to_string(),
        category: (kind == ContractKind::Protobuf).then(|| options.category.as_str().to_string()),
        findings,
    })
}
