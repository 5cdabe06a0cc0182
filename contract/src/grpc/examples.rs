//! The sidecar examples file of `contract grpc`: per full method name, calls to make, each
//! with its message(s) in the proto3 JSON mapping, optional metadata and the status codes it
//! may get. TOML, so that every mistake can be reported at its line and column:
//!
//! ```toml
//! [["catalog.v1.MovieService/GetMovie"]]
//! name = "an id that does not exist"
//! message = { id = "7d4f5b0e-0000-4000-8000-000000000000" }
//! expect = ["NOT_FOUND"]
//! ```

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::{ConformanceError, code_from_name};
use crate::text::{line_col, toml_to_json};

/// One call from the examples file, not yet checked against the descriptors.
#[derive(Debug, Clone)]
pub struct Example {
    /// `package.Service/Method`.
    pub method: String,
    /// `file:line:col` of the method's key, for errors about the method.
    pub method_at: String,
    /// A name shown in findings.
    pub name: Option<String>,
    /// The request messages in the proto3 JSON mapping (one unless the method streams its
    /// requests), each with its `file:line:col`.
    pub messages: Vec<(serde_json::Value, String)>,
    /// Whether `messages` was written (a stream) rather than `message`.
    pub stream: bool,
    /// Request metadata.
    pub metadata: Vec<(String, String)>,
    /// Codes the call may end with; `None`: only OK.
    pub expect: Option<Vec<tonic::Code>>,
    /// `false`: the method is public, never repeated without credentials (`grpc_auth_enforced`).
    pub auth_check: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExample {
    name: Option<String>,
    message: Option<Spanned<toml::Value>>,
    messages: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
    expect: Option<Spanned<Vec<String>>>,
    auth_check: Option<bool>,
}

/// Reads and parses an examples file.
pub fn load(path: &Path) -> Result<Vec<Example>, ConformanceError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConformanceError::Invalid {
        location: path.display().to_string(),
        message: format!("cannot read the examples file: {e}"),
    })?;
    parse(&text, &path.display().to_string())
}

/// Parses the text of an examples file named `file` (for locations).
pub fn parse(text: &str, file: &str) -> Result<Vec<Example>, ConformanceError> {
    let at = |span: Range<usize>| {
        let (line, col) = line_col(text, span.start);
        format!("{file}:{line}:{col}")
    };
    let invalid = |span: Range<usize>, message: String| ConformanceError::Invalid {
        location: at(span),
        message,
    };
    let raw: BTreeMap<Spanned<String>, Vec<Spanned<RawExample>>> =
        toml::from_str(text).map_err(|e| ConformanceError::Invalid {
            location: match e.span() {
                Some(span) => at(span),
                None => file.to_string(),
            },
            message: format!(
                "{} (expected [[\"package.Service/Method\"]] tables with message/messages, expect, metadata, name)",
                e.message().trim()
            ),
        })?;
    let mut out = Vec::new();
    for (method, examples) in raw {
        let method_at = at(method.span());
        let name = method.into_inner();
        if !name.contains('/') {
            return Err(ConformanceError::Invalid {
                location: method_at,
                message: format!("{name:?}: expected a full method name, \"package.Service/Method\""),
            });
        }
        for example in examples {
            let span = example.span();
            let raw = example.into_inner();
            let (messages, stream) = match (raw.message, raw.messages) {
                (Some(_), Some(m)) => {
                    return Err(invalid(
                        m.span(),
                        "give either `message` or `messages` (a request stream), not both".into(),
                    ));
                }
                (Some(m), None) => (vec![(toml_to_json(m.get_ref()), at(m.span()))], false),
                (None, Some(list)) => (
                    list.into_inner()
                        .into_iter()
                        .map(|m| (toml_to_json(m.get_ref()), at(m.span())))
                        .collect(),
                    true,
                ),
                // No message: the default (empty) one, as `message = {}`.
                (None, None) => (vec![(serde_json::json!({}), at(span.clone()))], false),
            };
            let expect = match raw.expect {
                None => None,
                Some(list) => {
                    let mut codes = Vec::new();
                    for name in list.get_ref() {
                        codes.push(code_from_name(name).ok_or_else(|| {
                            invalid(
                                list.span(),
                                format!("expect: {name:?} is not a gRPC status name (OK, NOT_FOUND, ...)"),
                            )
                        })?);
                    }
                    if codes.is_empty() {
                        return Err(invalid(
                            list.span(),
                            "expect: name at least one status code".into(),
                        ));
                    }
                    Some(codes)
                }
            };
            let mut metadata = Vec::new();
            for (key, value) in raw.metadata {
                let key = key.to_ascii_lowercase();
                if key.parse::<tonic::metadata::AsciiMetadataKey>().is_err()
                    || value.parse::<tonic::metadata::AsciiMetadataValue>().is_err()
                {
                    return Err(invalid(
                        span.clone(),
                        format!("metadata {key:?}: not a valid ASCII metadata key and value"),
                    ));
                }
                metadata.push((key, value));
            }
            out.push(Example {
                method: name.clone(),
                method_at: method_at.clone(),
                name: raw.name,
                messages,
                stream,
                metadata,
                expect,
                auth_check: raw.auth_check.unwrap_or(true),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_parse_with_their_locations() {
        let text = "[[\"a.B/C\"]]\nmessage = { id = \"x\" }\nexpect = [\"OK\", \"NOT_FOUND\"]\n\n[[\"a.B/D\"]]\nmessages = [{}, { n = 1 }]\nmetadata = { X-Trace = \"1\" }\n";
        let examples = parse(text, "e.toml").unwrap();
        assert_eq!(examples.len(), 2);
        assert_eq!(examples[0].method, "a.B/C");
        assert_eq!(examples[0].method_at, "e.toml:1:3");
        assert_eq!(
            examples[0].expect,
            Some(vec![tonic::Code::Ok, tonic::Code::NotFound])
        );
        assert!(examples[1].stream);
        assert_eq!(examples[1].messages.len(), 2);
        assert_eq!(examples[1].messages[1].1, "e.toml:6:17");
        assert_eq!(examples[1].metadata, vec![("x-trace".into(), "1".into())]);
    }

    #[test]
    fn mistakes_are_located() {
        let err = parse("[[\"a.B/C\"]]\nexpect = [\"FINE\"]\n", "e.toml").unwrap_err();
        assert!(err.to_string().starts_with("e.toml:2:10:"), "{err}");
        let err = parse("[[\"a.B/C\"]]\nmesage = {}\n", "e.toml").unwrap_err();
        assert!(err.to_string().starts_with("e.toml:2:1:"), "{err}");
        let err = parse("[[\"a.B/C\"]]\nmessage = {\n", "e.toml").unwrap_err();
        assert!(err.to_string().starts_with("e.toml:2:"), "{err}");
        let err = parse("[[\"C\"]]\n", "e.toml").unwrap_err();
        assert!(err.to_string().starts_with("e.toml:1:3:"), "{err}");
    }
}
