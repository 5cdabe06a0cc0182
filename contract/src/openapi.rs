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

/// The first local `$ref` (`#/...`) in `value` that names nothing in `doc`, with the JSON
/// pointer of where it stands. References to other files are not followed here.
fn dangling_ref(doc: &Value, at: &mut String) -> Option<(String, String)> {
    fn walk(doc: &Value, value: &Value, at: &mut String) -> Option<(String, String)> {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref")
                    && let Some(pointer) = target.strip_prefix('#')
                    && doc.pointer(&percent_decode(pointer)).is_none()
                {
                    return Some((
                        if at.is_empty() { "/".into() } else { at.clone() },
                        target.clone(),
                    ));
                }
                for (key, child) in map {
                    let len = at.len();
                    at.push('/');
                    at.push_str(&escape_pointer(key));
                    let found = walk(doc, child, at);
                    at.truncate(len);
                    if found.is_some() {
                        return found;
                    }
                }
                None
            }
            Value::Array(items) => items.iter().enumerate().find_map(|(i, child)| {
                let len = at.len();
                at.push_str(&format!("/{i}"));
                let found = walk(doc, child, at);
                at.truncate(len);
                found
            }),
            _ => None,
        }
    }
    walk(doc, doc, at)
}

/// Why a 3.0 document does not read as openapiv3's model, and where: the first path item,
/// operation or component that does not read on its own, as a JSON pointer.
fn invalid_30(doc: &Value) -> Option<String> {
    fn reads<T: serde::de::DeserializeOwned>(value: &Value) -> Result<(), String> {
        serde_json::from_value::<T>(value.clone())
            .map(drop)
            .map_err(|e| e.to_string())
    }
    let whole = reads::<openapiv3::OpenAPI>(doc).err()?;
    let at = |pointer: String, e: String| Some(format!("at {pointer}: {e}"));
    if let Some(Err(e)) = doc.get("info").map(reads::<openapiv3::Info>) {
        return at("/info".into(), e);
    }
    for (template, item) in doc.get("paths").and_then(Value::as_object).into_iter().flatten() {
        let pointer = format!("/paths/{}", escape_pointer(template));
        for (method, op) in item.as_object().into_iter().flatten() {
            if METHODS.contains(&method.as_str())
                && let Err(e) = reads::<openapiv3::Operation>(op)
            {
                return at(format!("{pointer}/{method}"), e);
            }
        }
        if let Err(e) = reads::<openapiv3::ReferenceOr<openapiv3::PathItem>>(item) {
            return at(pointer, e);
        }
    }
    for (kind, entries) in doc
        .get("components")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for (name, entry) in entries.as_object().into_iter().flatten() {
            let one = Value::Object(Map::from_iter([(
                kind.clone(),
                Value::Object(Map::from_iter([(name.clone(), entry.clone())])),
            )]));
            if let Err(e) = reads::<openapiv3::Components>(&one) {
                return at(format!("/components/{kind}/{}", escape_pointer(name)), e);
            }
        }
    }
    Some(whole)
}

/// A `$ref` fragment is a URI fragment: `%7B` and the like stand for their characters.
fn percent_decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The largest document read. The largest public API descriptions are a few MiB; one far
/// beyond this is a mistake (a log, a dump), and parsing it would cost gigabytes (issue 20).
pub const MAX_SPEC_BYTES: u64 = 64 << 20;

/// Reads and checks an OpenAPI 3.0/3.1 document (YAML or JSON).
pub fn load(path: &Path) -> Result<Spec, SpecError> {
    let unreadable = |source| SpecError::Unreadable {
        path: path.display().to_string(),
        source,
    };
    let text = crate::text::read_capped(path, MAX_SPEC_BYTES).map_err(unreadable)?;
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
        // Checked in its JSON form, never read from the YAML text: openapiv3 2.2 read from YAML
        // panics ("somehow this parsed successfully the second time") on documents its JSON form
        // reads or refuses cleanly — a parameter with `schema: null` beside `content`, a
        // response with `content` given twice (found by fuzzing, issue 20).
        if let Some(message) = invalid_30(&doc) {
            return Err(invalid(
                None,
                format!("not a valid OpenAPI 3.0 document: {message}"),
            ));
        }
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
    // A `$ref` to nothing would validate anything (no schema, no finding): refuse the document.
    if let Some((at, target)) = dangling_ref(&doc, &mut String::new()) {
        return Err(invalid(
            None,
            format!("`$ref: {target}` at {at} points at nothing in the document"),
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

    /// Issue 20, found by fuzzing: openapiv3 read from YAML panicked on these (a parameter
    /// with `schema: null` beside `content`; a response with `content` twice), so
    /// `contract test --spec` died with exit 101. The first reads; the others are refused,
    /// saying where.
    #[test]
    fn documents_openapiv3_panicked_on_are_read_or_refused() {
        let null_schema = "openapi: 3.0.3\ninfo: {title: M, version: '1'}\npaths:\n  /m:\n    parameters:\n      - name: limit\n        in: query\n        schema:\n        content: {}\n";
        assert!(parse(null_schema, Path::new("null.yaml")).is_ok());
        let err = parse(&format!("{null_schema}    get: 5\n"), Path::new("null.yaml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("null.yaml: not a valid OpenAPI 3.0 document: at /paths/~1m/get:"),
            "{err}"
        );
        let content_twice = "openapi: 3.0.3\ninfo: {title: M, version: '1'}\npaths:\n  /m:\n    get:\n      responses:\n        '200':\n          content:\n          description: d\n          content:\n            schema: {type: object}\n    post: {operationId: p}\n";
        let err = parse(content_twice, Path::new("twice.yaml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("at /paths/~1m/post: missing field `responses`"),
            "{err}"
        );
        let err = parse(
            "openapi: 3.0.3\ninfo: {title: M, version: '1'}\npaths: {}\ncomponents: {schemas: {A: 5}}\n",
            Path::new("c.yaml"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("at /components/schemas/A:"), "{err}");
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

    /// A document far beyond any real API description is refused before it is parsed (a
    /// sparse file: nothing is written to disk).
    #[test]
    fn a_document_beyond_the_size_bound_is_refused_unread() {
        let path = std::env::temp_dir().join(format!("gauntlet-huge-{}.yaml", std::process::id()));
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(MAX_SPEC_BYTES + 1).unwrap();
        let err = load(&path).err().unwrap().to_string();
        let _ = std::fs::remove_file(&path);
        assert!(err.contains("larger than 64 MiB"), "{err}");
    }

    /// Issue 20: a response schema `$ref` to a missing component validated anything:
    /// `contract test` PASSED against a wrong body and `contract diff` said nothing. The
    /// document is refused, naming the reference and where it stands.
    #[test]
    fn a_ref_to_nothing_is_refused_where_it_stands() {
        let doc = "openapi: 3.0.3\ninfo: {title: t, version: v}\npaths:\n  /x:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {$ref: '#/components/schemas/Nope'}\n";
        let err = parse(doc, Path::new("dangling.yaml")).unwrap_err().to_string();
        assert!(err.starts_with("dangling.yaml"), "{err}");
        assert!(
            err.contains("`$ref: #/components/schemas/Nope` at /paths/~1x/get/responses/200/content/application~1json/schema"),
            "{err}"
        );
        let fixed = doc.replace("paths:", "components: {schemas: {Nope: {type: object}}}\npaths:");
        assert!(parse(&fixed, Path::new("ok.yaml")).is_ok());
        // A fragment may be percent-encoded (`%24` for `$`, `%7B` for `{`): it resolves decoded.
        let encoded = fixed.replace(
            "#/components/schemas/Nope",
            "#/paths/~1x/get/responses/200/content/application~1json/schema/%24ref",
        );
        assert!(parse(&encoded, Path::new("enc.yaml")).is_ok());
    }
}
