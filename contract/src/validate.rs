//! One response validator, used everywhere: the status is documented (or covered by `4XX` /
//! `default`), the content type is one documented, required headers are present, and the body
//! matches the schema (JSON Schema 2020-12 via `jsonschema`, formats checked; a `oneOf` with a
//! `discriminator` is narrowed to the branch the discriminator names). Check names follow
//! Schemathesis so users recognise them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use http::HeaderMap;
use serde_json::Value;

use super::openapi::{Spec, escape_pointer};

/// A response that breaks the contract.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Violation {
    /// The operation (`operationId`, or `METHOD /template`), or `METHOD path` when undocumented.
    pub operation: String,
    /// `status_code_conformance`, `content_type_conformance`, `response_headers_conformance`,
    /// `response_schema_conformance`, or `undocumented_operation`.
    pub check: &'static str,
    /// JSON pointer in the body (schema violations), or the header name.
    pub pointer: String,
    /// What the contract says.
    pub expected: String,
    /// What came.
    pub actual: String,
}

/// Validates responses against one spec; schema validators are compiled once per schema.
pub struct ResponseValidator {
    spec: Spec,
    /// The document, indexed once as a JSON Schema resource at [`SPEC_URI`], so that each
    /// schema compiles against it by reference: compiling over a copy of the whole document
    /// per schema made memory grow with the square of the operation count (issue 20).
    registry: Result<jsonschema::Registry<'static>, String>,
    cache: Mutex<HashMap<String, Result<Arc<jsonschema::Validator>, String>>>,
}

/// Where the document stands in the registry: every schema is a `$ref` into it.
const SPEC_URI: &str = "urn:gauntlet:spec";

fn media_essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn is_json(media: &str) -> bool {
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

fn media_matches(documented: &str, actual: &str) -> bool {
    let documented = documented.to_ascii_lowercase();
    documented == actual
        || documented == "*/*"
        || documented
            .strip_suffix("/*")
            .is_some_and(|kind| actual.split('/').next() == Some(kind))
}

/// A JSON pointer as a URI fragment (percent-encoding what a fragment may not hold).
fn fragment(pointer: &str) -> String {
    let mut out = String::from("#");
    for b in pointer.bytes() {
        if b.is_ascii_alphanumeric() || b"/~-._:@!$&'()*+,;=".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn excerpt(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 120 {
        format!("{}…", text.chars().take(119).collect::<String>())
    } else {
        text
    }
}

impl ResponseValidator {
    /// A validator for `spec`.
    pub fn new(spec: Spec) -> Self {
        let registry = jsonschema::Registry::new()
            .draft(jsonschema::Draft::Draft202012)
            .add(SPEC_URI, Arc::new(spec.doc.clone()))
            .and_then(|builder| builder.prepare())
            .map_err(|e| e.to_string());
        ResponseValidator {
            spec,
            registry,
            cache: Mutex::default(),
        }
    }

    /// The spec's title.
    pub fn title(&self) -> &str {
        &self.spec.title
    }

    /// The spec.
    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// Follows local `$ref`s from `pointer` to the object it finally names.
    fn resolve(&self, mut pointer: String) -> (String, Option<&Value>) {
        for _ in 0..8 {
            let Some(value) = self.spec.doc.pointer(&pointer) else {
                return (pointer, None);
            };
            match value
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix('#'))
            {
                Some(target) => pointer = target.to_string(),
                None => return (pointer, Some(value)),
            }
        }
        (pointer, None)
    }

    /// The compiled schema at `pointer`, or why it does not compile (cached either way).
    fn schema_validator(&self, pointer: &str) -> Result<Arc<jsonschema::Validator>, String> {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = cache.get(pointer) {
            return v.clone();
        }
        // An absolute `$ref` into the document; once there, the schema's own
        // `#/components/...` references resolve against the document.
        let root = serde_json::json!({ "$ref": format!("{SPEC_URI}{}", fragment(pointer)) });
        let built = match &self.registry {
            Ok(registry) => jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .with_registry(registry)
                .should_validate_formats(true)
                .build(&root)
                .map(Arc::new)
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.clone()),
        };
        cache.insert(pointer.to_string(), built.clone());
        built
    }

    /// The schema to check `body` against: the branch a discriminator names, if any.
    fn pick_branch(&self, pointer: String, body: &Value) -> String {
        let (resolved, schema) = self.resolve(pointer);
        let Some(schema) = schema else { return resolved };
        let (Some(one_of), Some(property)) = (
            schema.get("oneOf").and_then(Value::as_array),
            schema
                .pointer("/discriminator/propertyName")
                .and_then(Value::as_str),
        ) else {
            return resolved;
        };
        let Some(tag) = body.get(property).and_then(Value::as_str) else {
            return resolved;
        };
        let mapped = schema
            .pointer(&format!("/discriminator/mapping/{}", escape_pointer(tag)))
            .and_then(Value::as_str);
        let branch = one_of.iter().enumerate().find(|(_, b)| {
            let r = b.get("$ref").and_then(Value::as_str).unwrap_or("");
            mapped.map_or_else(|| r.rsplit('/').next() == Some(tag), |m| r == m)
        });
        match branch {
            Some((i, _)) => format!("{resolved}/oneOf/{i}"),
            None => resolved,
        }
    }

    /// Checks one response; an empty list means it conforms.
    pub fn validate(
        &self,
        method: &str,
        path: &str,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Vec<Violation> {
        let path = path.split('?').next().unwrap_or(path);
        let path = path
            .strip_prefix(self.spec.base_path.as_str())
            .filter(|p| p.starts_with('/'))
            .unwrap_or(path);
        let violation = |operation: &str, check, pointer: &str, expected: String, actual: String| Violation {
            operation: operation.to_string(),
            check,
            pointer: pointer.to_string(),
            expected,
            actual,
        };
        let Some(op) = self
            .spec
            .operations
            .iter()
            .find(|o| o.method == method && o.matches(path))
        else {
            return vec![violation(
                &format!("{method} {path}"),
                "undocumented_operation",
                "",
                "an operation in the spec".into(),
                format!("{method} {path}"),
            )];
        };
        let responses = self.spec.doc.pointer(&op.responses);
        let status_key = status.to_string();
        let range_key = format!("{}XX", status / 100);
        let Some(key) = [status_key.as_str(), range_key.as_str(), "default"]
            .into_iter()
            .find(|k| responses.and_then(|r| r.get(*k)).is_some())
        else {
            let documented: Vec<String> = responses
                .and_then(Value::as_object)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            return vec![violation(
                &op.id,
                "status_code_conformance",
                "",
                documented.join(", "),
                status.to_string(),
            )];
        };
        let (response_pointer, response) = self.resolve(format!("{}/{}", op.responses, escape_pointer(key)));
        let Some(response) = response else {
            return Vec::new();
        };
        let mut found = Vec::new();

        if let Some(documented) = response.get("headers").and_then(Value::as_object) {
            for name in documented.keys() {
                let (_, header) =
                    self.resolve(format!("{response_pointer}/headers/{}", escape_pointer(name)));
                let required = header
                    .and_then(|h| h.get("required"))
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                if required && !headers.contains_key(name.as_str()) {
                    found.push(violation(
                        &op.id,
                        "response_headers_conformance",
                        name,
                        "present".into(),
                        "missing".into(),
                    ));
                }
            }
        }

        let Some(content) = response.get("content").and_then(Value::as_object) else {
            return found;
        };
        let actual = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(media_essence);
        let Some(actual) = actual else {
            if !content.is_empty() && !body.is_empty() {
                let expected = content.keys().cloned().collect::<Vec<_>>().join(", ");
                found.push(violation(
                    &op.id,
                    "content_type_conformance",
                    "",
                    expected,
                    "no Content-Type".into(),
                ));
            }
            return found;
        };
        let Some((media, _)) = content.iter().find(|(m, _)| media_matches(m, &actual)) else {
            let expected = content.keys().cloned().collect::<Vec<_>>().join(", ");
            found.push(violation(
                &op.id,
                "content_type_conformance",
                "",
                expected,
                actual,
            ));
            return found;
        };
        if !is_json(&actual) {
            return found;
        }
        let schema_pointer = format!("{response_pointer}/content/{}/schema", escape_pointer(media));
        if self.spec.doc.pointer(&schema_pointer).is_none() {
            return found;
        }
        let instance: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                found.push(violation(
                    &op.id,
                    "response_schema_conformance",
                    "",
                    "a JSON body".into(),
                    format!("not JSON: {e}"),
                ));
                return found;
            }
        };
        let schema_pointer = self.pick_branch(schema_pointer, &instance);
        let validator = match self.schema_validator(&schema_pointer) {
            Ok(validator) => validator,
            // A schema that does not compile (an invalid `pattern`, say) checked nothing and
            // let every body pass: now it is a finding, so the run cannot pass unchecked.
            Err(why) => {
                found.push(violation(
                    &op.id,
                    "response_schema_conformance",
                    "",
                    format!(
                        "a body checked against {} (the schema does not compile: {why})",
                        fragment(&schema_pointer)
                    ),
                    "not checked".into(),
                ));
                return found;
            }
        };
        for error in validator.iter_errors(&instance).take(5) {
            let at = error.instance_path().to_string();
            let actual = instance.pointer(&at).map_or_else(String::new, excerpt);
            found.push(violation(
                &op.id,
                "response_schema_conformance",
                &at,
                error.to_string(),
                actual,
            ));
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn catalog() -> ResponseValidator {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../contracts/openapi/catalog.yaml");
        ResponseValidator::new(super::super::openapi::load(&path).unwrap())
    }

    fn json_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        h
    }

    const MOVIE: &str = r#"{"id":"0b6f2c1e-3f4a-4d1b-9c2e-5a7d8e9f0a1b","title":"Alien","year":1979,"genres":["sci-fi"],"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}"#;
    const PATH: &str = "/v1/movies/0b6f2c1e-3f4a-4d1b-9c2e-5a7d8e9f0a1b";

    #[test]
    fn a_conforming_response_has_no_violations() {
        assert_eq!(
            catalog().validate("GET", PATH, 200, &json_headers(), MOVIE.as_bytes()),
            vec![]
        );
    }

    #[test]
    fn each_kind_of_breakage_is_named_with_its_place() {
        let v = catalog();
        let wrong_type = MOVIE.replace("1979", "\"1979\"");
        let found = v.validate("GET", PATH, 200, &json_headers(), wrong_type.as_bytes());
        assert_eq!(
            (
                found[0].check,
                found[0].pointer.as_str(),
                found[0].operation.as_str()
            ),
            ("response_schema_conformance", "/year", "getMovie")
        );
        assert_eq!(found[0].actual, "\"1979\"");

        let found = v.validate("GET", PATH, 418, &json_headers(), b"{}");
        assert_eq!(found[0].check, "status_code_conformance");
        assert!(
            found[0].expected.contains("200") && found[0].actual == "418",
            "{found:?}"
        );

        let mut text = HeaderMap::new();
        text.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
        assert_eq!(
            v.validate("GET", PATH, 200, &text, b"<html>")[0].check,
            "content_type_conformance"
        );

        // 201 documents a required Location header.
        let found = v.validate("POST", "/v1/movies", 201, &json_headers(), MOVIE.as_bytes());
        assert_eq!(
            (found[0].check, found[0].pointer.as_str()),
            ("response_headers_conformance", "Location")
        );

        assert_eq!(
            v.validate("PATCH", PATH, 200, &json_headers(), b"{}")[0].check,
            "undocumented_operation"
        );
    }

    /// Issue 20: a schema with an invalid `pattern` silently turned schema checking off for
    /// its response, so a wrong body passed. Now the response gets a finding that says so.
    #[test]
    fn a_schema_that_does_not_compile_is_a_finding_not_a_pass() {
        let doc = "openapi: 3.1.0\ninfo: {title: t, version: v}\npaths:\n  /x:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {type: object, properties: {id: {type: string, pattern: '(unclosed'}}}\n";
        let validator =
            ResponseValidator::new(crate::openapi::parse(doc, std::path::Path::new("p.yaml")).unwrap());
        let found = validator.validate("GET", "/x", 200, &json_headers(), br#"{"id": 7}"#);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(format!("{found:?}").contains("does not compile"), "{found:?}");
    }
}
