//! Loading an OpenAPI document: 3.0.x is checked with `openapiv3`, 3.1.x with `oas3`; both are
//! then indexed the same way from the document's JSON form. Schemas are rewritten into JSON
//! Schema 2020-12 where 3.0 differs (`nullable`, boolean `exclusiveMinimum/Maximum`) so that
//! one validator (`jsonschema`) serves both versions.

use std::path::Path;

use serde_json::{Map, Value};

/// Why a spec could not be loaded; the message says where.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Unreadable {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not valid YAML/JSON, not OpenAPI 3.0/3.1, or not a valid document of its version.
    #[error("{location}: {message}")]
    Invalid {
        /// `file:line:col` where known, else the file.
        location: String,
        /// What is wrong.
        message: String,
    },
}

/// One operation: method and path template, and where its responses are in the document.
#[derive(Debug, Clone)]
pub struct Operation {
    /// `operationId`, or `METHOD /template` when it has none.
    pub id: String,
    /// Upper-case method.
    pub method: String,
    /// The path template, e.g. `/v1/movies/{id}`.
    pub template: String,
    segments: Vec<Option<String>>,
    /// JSON pointer to the operation's `responses` object.
    pub responses: String,
}

impl Operation {
    /// Whether `path` (no query) fits the template.
    pub fn matches(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        parts.len() == self.segments.len()
            && self.segments.iter().zip(&parts).all(|(seg, part)| match seg {
                Some(literal) => literal == part,
                None => !part.is_empty(),
            })
    }

    fn literal_segments(&self) -> usize {
        self.segments.iter().filter(|s| s.is_some()).count()
    }
}

/// A loaded spec.
#[derive(Debug)]
pub struct Spec {
    /// `info.title`.
    pub title: String,
    /// `3.0.x` or `3.1.x`, as written.
    pub version: String,
    /// The document as JSON, schemas rewritten for JSON Schema 2020-12.
    pub doc: Value,
    /// Every operation.
    pub operations: Vec<Operation>,
    /// Path prefix of the first server URL (`/api` in `http://host/api`), stripped from
    /// request paths before matching.
    pub base_path: String,
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn location(path: &Path, line: Option<(usize, usize)>) -> String {
    match line {
        Some((line, col)) => format!("{}:{line}:{col}", path.display()),
        None => path.display().to_string(),
    }
}

/// Reads and checks an OpenAPI 3.0/3.1 document (YAML or JSON).
pub fn load(path: &Path) -> Result<Spec, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|source| SpecError::Unreadable {
        path: path.display().to_string(),
        source,
    })?;
    parse(&text, path)
}

/// Checks an OpenAPI 3.0/3.1 document given as text; `path` names it in errors.
pub fn parse(text: &str, path: &Path) -> Result<Spec, SpecError> {
    let invalid = |line: Option<(usize, usize)>, message: String| SpecError::Invalid {
        location: location(path, line),
        message,
    };
    let doc: Value = serde_yaml::from_str(text)
        .map_err(|e| invalid(e.location().map(|l| (l.line(), l.column())), e.to_string()))?;
    let version = doc
        .get("openapi")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if version.starts_with("3.0.") {
        serde_yaml::from_str::<openapiv3::OpenAPI>(text).map_err(|e| {
            invalid(
                e.location().map(|l| (l.line(), l.column())),
                format!("not a valid OpenAPI 3.0 document: {e}"),
            )
        })?;
    } else if version.starts_with("3.1.") {
        let json = serde_json::to_string(&doc).map_err(|e| invalid(None, e.to_string()))?;
        oas3::from_json(json).map_err(|e| invalid(None, format!("not a valid OpenAPI 3.1 document: {e}")))?;
    } else if let Some(swagger) = doc.get("swagger") {
        let swagger = swagger
            .as_str()
            .map_or_else(|| swagger.to_string(), str::to_string);
        return Err(invalid(
            None,
            format!(
                "`swagger: {swagger}`: Swagger (OpenAPI 2.0) is not supported; convert it to OpenAPI 3 first (e.g. `npx swagger2openapi spec.yaml -o spec3.yaml`)"
            ),
        ));
    } else if version.is_empty() {
        return Err(invalid(
            None,
            "no `openapi` version field: not an OpenAPI 3.0 or 3.1 document".into(),
        ));
    } else {
        return Err(invalid(
            None,
            format!("`openapi: {version}` is not 3.0.x or 3.1.x"),
        ));
    }
    let title = doc
        .pointer("/info/title")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let base_path = doc
        .pointer("/servers/0/url")
        .and_then(Value::as_str)
        .and_then(|url| url.split_once("://").map(|(_, rest)| rest).or(Some(url)))
        .and_then(|rest| {
            rest.find('/')
                .map(|i| rest[i..].trim_end_matches('/').to_string())
        })
        .unwrap_or_default();
    let mut operations = Vec::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (template, item) in paths {
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                let segments = template
                    .trim_end_matches('/')
                    .split('/')
                    .map(|s| (!(s.starts_with('{') && s.ends_with('}'))).then(|| s.to_string()))
                    .collect();
                let upper = method.to_ascii_uppercase();
                operations.push(Operation {
                    id: op
                        .get("operationId")
                        .and_then(Value::as_str)
                        .map_or_else(|| format!("{upper} {template}"), str::to_string),
                    method: upper,
                    template: template.clone(),
                    segments,
                    responses: format!("/paths/{}/{method}/responses", escape_pointer(template)),
                });
            }
        }
    }
    // Most specific first: literal segments beat parameters (`/movies/search` before `/movies/{id}`).
    operations.sort_by_key(|o| std::cmp::Reverse(o.literal_segments()));
    let mut doc = doc;
    if version.starts_with("3.0.") {
        rewrite_30_schemas(&mut doc);
    }
    Ok(Spec {
        title,
        version,
        doc,
        operations,
        base_path,
    })
}

/// Escapes a JSON pointer token.
pub fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// OpenAPI 3.0's schema dialect -> JSON Schema 2020-12, everywhere in the document:
/// `nullable: true` allows null; boolean `exclusiveMinimum/Maximum` become numeric bounds.
fn rewrite_30_schemas(value: &mut Value) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(rewrite_30_schemas),
        Value::Object(map) => {
            map.values_mut().for_each(rewrite_30_schemas);
            rewrite_bounds(map, "exclusiveMinimum", "minimum");
            rewrite_bounds(map, "exclusiveMaximum", "maximum");
            if map.remove("nullable") == Some(Value::Bool(true)) {
                match map.get("type").cloned() {
                    Some(Value::String(t)) => {
                        map.insert("type".into(), Value::Array(vec![Value::String(t), "null".into()]));
                        if let Some(Value::Array(options)) = map.get_mut("enum") {
                            options.push(Value::Null);
                        }
                    }
                    _ => {
                        let inner = Value::Object(std::mem::take(map));
                        map.insert(
                            "anyOf".into(),
                            Value::Array(vec![inner, serde_json::json!({ "type": "null" })]),
                        );
                    }
                }
            }
        }
        _ => {}
    }
}

fn rewrite_bounds(map: &mut Map<String, Value>, exclusive: &str, inclusive: &str) {
    match map.get(exclusive) {
        Some(Value::Bool(true)) => {
            if let Some(bound) = map.remove(inclusive) {
                map.insert(exclusive.into(), bound);
            } else {
                map.remove(exclusive);
            }
        }
        Some(Value::Bool(false)) => {
            map.remove(exclusive);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn openapi_30_schemas_become_json_schema_2020_12() {
        let mut doc = json!({
            "a": { "type": "string", "nullable": true },
            "b": { "$ref": "#/x", "nullable": true },
            "c": { "type": "number", "minimum": 0, "exclusiveMinimum": true, "maximum": 9, "exclusiveMaximum": false }
        });
        rewrite_30_schemas(&mut doc);
        assert_eq!(doc["a"], json!({ "type": ["string", "null"] }));
        assert_eq!(
            doc["b"],
            json!({ "anyOf": [{ "$ref": "#/x" }, { "type": "null" }] })
        );
        assert_eq!(
            doc["c"],
            json!({ "type": "number", "exclusiveMinimum": 0, "maximum": 9 })
        );
    }

    #[test]
    fn loads_the_reference_contracts_and_locates_mistakes() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../contracts/openapi");
        let catalog = load(&root.join("catalog.yaml")).unwrap();
        assert!(catalog.version.starts_with("3.0."));
        let get = catalog.operations.iter().find(|o| o.id == "getMovie").unwrap();
        assert!(get.matches("/v1/movies/0b6f2c1e-3f4a-4d1b-9c2e-5a7d8e9f0a1b"));
        assert!(!get.matches("/v1/movies"));

        let dir = std::env::temp_dir().join(format!("spec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("bad.yaml"),
            "openapi: 3.0.3\ninfo:\n  title: x\n  version: '1'\npaths:\n  /a: [\n",
        )
        .unwrap();
        let e = load(&dir.join("bad.yaml")).unwrap_err().to_string();
        assert!(e.contains("bad.yaml:"), "{e}");
        std::fs::write(dir.join("v2.yaml"), "swagger: '2.0'\n").unwrap();
        assert!(
            load(&dir.join("v2.yaml"))
                .unwrap_err()
                .to_string()
                .contains("Swagger (OpenAPI 2.0) is not supported")
        );
        std::fs::write(dir.join("31.yaml"), "openapi: 3.1.0\ninfo:\n  title: t\n  version: '1'\npaths:\n  /p:\n    get:\n      operationId: p\n      responses:\n        '200':\n          description: ok\n").unwrap();
        let spec31 = load(&dir.join("31.yaml")).unwrap();
        assert_eq!(spec31.operations[0].id, "p");
    }

    /// Issue 20: a Swagger 2.0 document got "`openapi: ` is not 3.0.x or 3.1.x", which names
    /// neither what it is nor what to do.
    #[test]
    fn swagger_2_is_named_and_the_way_out_given() {
        let err = parse(
            "swagger: \"2.0\"\ninfo: {title: t, version: v}\npaths: {}\n",
            Path::new("old.yaml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("old.yaml") && err.contains("Swagger (OpenAPI 2.0) is not supported"),
            "{err}"
        );
        assert!(err.contains("convert it to OpenAPI 3"), "{err}");
        let err = parse("info: {title: t}\n", Path::new("x.yaml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no `openapi` version field"), "{err}");
    }
}
