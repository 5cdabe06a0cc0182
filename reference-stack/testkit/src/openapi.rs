//! A response validator for the stack's OpenAPI contracts (`contracts/openapi/*.yaml`): finds the
//! operation by method and path template, picks the response by status (or `default`), checks
//! the content type and the required headers, and validates the body with `jsonschema` against
//! the documented schema (resolved inside the whole document, so `#/components/...` refs work,
//! with format validation on). Every HTTP response stack-local's tests receive goes through it
//! (their `support::Call::send`), and the gateway's tests check its REST answers with it.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde_json::Value;

/// One service's contract, parsed once.
pub struct Contract {
    /// `iam` or `catalog`.
    pub service: &'static str,
    /// The file's text, byte for byte (what `/openapi.yaml` must serve).
    pub text: String,
    doc: Value,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

/// What was received: enough of an HTTP exchange to check it against the contract.
#[derive(Debug, Clone, Copy)]
pub struct Exchange<'a> {
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// The concrete path, without the query.
    pub path: &'a str,
    /// Response status.
    pub status: u16,
    /// Response headers.
    pub headers: &'a HeaderMap,
    /// Response body.
    pub body: &'a [u8],
}

/// Why an exchange does not match the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// The path, method or status is not in the contract.
    Undocumented,
    /// It is documented, but the response breaks the documented headers, media type or schema.
    Invalid,
}

/// A contract violation, naming the operation, the status and what is wrong.
#[derive(Debug, Clone)]
pub struct Violation {
    /// Undocumented or invalid.
    pub kind: Kind,
    /// `catalog createMovie (POST /v1/movies)` or `iam ? (GET /nope)`.
    pub operation: String,
    /// The response status.
    pub status: u16,
    /// What is wrong.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            Kind::Undocumented => "undocumented",
            Kind::Invalid => "contract violation",
        };
        write!(
            f,
            "{kind}: {} -> {}: {}",
            self.operation, self.status, self.detail
        )
    }
}

fn contracts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../contracts/openapi")
}

/// iam's contract.
pub fn iam() -> &'static Contract {
    static IAM: OnceLock<Contract> = OnceLock::new();
    IAM.get_or_init(|| Contract::load("iam", "iam.yaml"))
}

/// catalog's contract.
pub fn catalog() -> &'static Contract {
    static CATALOG: OnceLock<Contract> = OnceLock::new();
    CATALOG.get_or_init(|| Contract::load("catalog", "catalog.yaml"))
}

/// The gateway's contract.
pub fn gateway() -> &'static Contract {
    static GATEWAY: OnceLock<Contract> = OnceLock::new();
    GATEWAY.get_or_init(|| Contract::load("gateway", "gateway.yaml"))
}

/// JSON pointer token escaping (RFC 6901).
fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// A JSON pointer as a URI fragment: the characters a fragment may not hold, percent-encoded.
fn pointer_to_fragment(pointer: &str) -> String {
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

fn media_essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn is_json_media(media: &str) -> bool {
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

fn media_matches(documented: &str, actual: &str) -> bool {
    let documented = documented.to_ascii_lowercase();
    if documented == actual || documented == "*/*" {
        return true;
    }
    match documented.strip_suffix("/*") {
        Some(kind) => actual.split('/').next() == Some(kind),
        None => false,
    }
}

/// Whether the concrete `path` matches the template (`/v1/movies/{id}`); `{x}` matches one
/// non-empty segment.
fn template_matches(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    t.len() == p.len()
        && t.iter().zip(&p).all(|(t, p)| {
            if t.starts_with('{') && t.ends_with('}') {
                !p.is_empty()
            } else {
                t == p
            }
        })
}

impl Contract {
    fn load(service: &'static str, file: &str) -> Contract {
        let path = contracts_dir().join(file);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let doc: Value = serde_yaml::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()));
        assert!(
            doc.get("paths").is_some_and(Value::is_object),
            "{} has no paths",
            path.display()
        );
        Contract {
            service,
            text,
            doc,
            validators: Mutex::default(),
        }
    }

    /// Every `(method, path template, operationId)` the contract documents.
    pub fn operations(&self) -> Vec<(String, String, String)> {
        let mut ops = Vec::new();
        for (template, item) in self.doc["paths"].as_object().into_iter().flatten() {
            for method in ["get", "put", "post", "delete", "patch", "head", "options"] {
                if let Some(op) = item.get(method) {
                    let id = op["operationId"].as_str().unwrap_or("?").to_string();
                    ops.push((method.to_ascii_uppercase(), template.clone(), id));
                }
            }
        }
        ops
    }

    /// The path template matching `path`; a literal template wins over one with parameters.
    fn find_path(&self, path: &str) -> Option<&str> {
        let paths = self.doc["paths"].as_object()?;
        let mut candidates: Vec<&str> = paths
            .keys()
            .map(String::as_str)
            .filter(|t| template_matches(t, path))
            .collect();
        candidates.sort_by_key(|t| t.matches('{').count());
        candidates.first().copied()
    }

    /// Follows a local `$ref` (`#/components/...`); returns the target and its pointer.
    fn resolve<'a>(&'a self, value: &'a Value, pointer: String) -> (&'a Value, String) {
        let mut value = value;
        let mut pointer = pointer;
        for _ in 0..10 {
            let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
                break;
            };
            let target = reference
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("{}: only local $refs are supported: {reference}", self.service));
            value = self
                .doc
                .pointer(target)
                .unwrap_or_else(|| panic!("{}: dangling $ref {reference}", self.service));
            pointer = target.to_string();
        }
        (value, pointer)
    }

    fn validator(&self, pointer: &str) -> Arc<jsonschema::Validator> {
        let mut cache = self.validators.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = cache.get(pointer) {
            return Arc::clone(v);
        }
        // The whole document, plus a top-level `$ref` to the schema: `#/components/...` refs
        // inside the schema resolve against the document.
        let mut root = self.doc.clone();
        root["$ref"] = Value::String(pointer_to_fragment(pointer));
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&root)
            .unwrap_or_else(|e| panic!("{}: cannot build a validator for {pointer}: {e}", self.service));
        let validator = Arc::new(validator);
        cache.insert(pointer.to_string(), Arc::clone(&validator));
        validator
    }

    /// Validates `instance` against the schema at `pointer` (a JSON pointer into the document).
    pub fn check_schema(&self, pointer: &str, instance: &Value) -> Result<(), String> {
        let validator = self.validator(pointer);
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .take(5)
            .map(|e| {
                let at = e.instance_path().to_string();
                format!("at `{}`: {e}", if at.is_empty() { "/" } else { &at })
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "body {instance} does not match {pointer}: {}",
                errors.join("; ")
            ))
        }
    }

    /// Checks one exchange against the contract; `Ok` holds the operationId.
    pub fn validate(&self, ex: &Exchange<'_>) -> Result<String, Violation> {
        let method = ex.method.to_ascii_lowercase();
        let violation = |kind: Kind, operation: String, detail: String| Violation {
            kind,
            operation,
            status: ex.status,
            detail,
        };
        let unnamed = format!("{} ? ({} {})", self.service, ex.method, ex.path);
        let Some(template) = self.find_path(ex.path) else {
            return Err(violation(
                Kind::Undocumented,
                unnamed,
                format!("no path of {} matches {}", self.service, ex.path),
            ));
        };
        let path_pointer = format!("/paths/{}", escape_token(template));
        let Some(operation) = self.doc["paths"][template].get(method.as_str()) else {
            return Err(violation(
                Kind::Undocumented,
                unnamed,
                format!("{template} documents no {} operation", ex.method),
            ));
        };
        let op_id = operation["operationId"].as_str().unwrap_or("?").to_string();
        let name = format!("{} {op_id} ({} {})", self.service, ex.method, ex.path);
        let responses = &operation["responses"];
        let status = ex.status.to_string();
        let range = format!("{}XX", ex.status / 100);
        let Some(key) = [status.as_str(), range.as_str(), "default"]
            .into_iter()
            .find(|k| responses.get(*k).is_some())
        else {
            let documented: Vec<&String> = responses
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, _)| k)
                .collect();
            return Err(violation(
                Kind::Undocumented,
                name,
                format!(
                    "status {} is not documented (documented: {documented:?})",
                    ex.status
                ),
            ));
        };
        let (response, response_pointer) = self.resolve(
            &responses[key],
            format!("{path_pointer}/{method}/responses/{}", escape_token(key)),
        );
        let invalid = |detail: String| Err(violation(Kind::Invalid, name.clone(), detail));

        // Required headers (Content-Type is described by `content`, not `headers`).
        for (header, spec) in response
            .get("headers")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let (spec, _) = self.resolve(spec, String::new());
            if header.eq_ignore_ascii_case("content-type") {
                continue;
            }
            let present = ex.headers.get(header.as_str());
            if spec["required"] == Value::Bool(true) && present.is_none() {
                return invalid(format!("required header {header} is missing"));
            }
            if let Some(value) = present
                && value.to_str().is_err()
            {
                return invalid(format!("header {header} is not visible ASCII"));
            }
        }

        // Media type and body.
        let content = response.get("content").and_then(Value::as_object);
        let Some(content) = content.filter(|c| !c.is_empty()) else {
            if !ex.body.is_empty() {
                return invalid(format!(
                    "no content is documented but the body has {} bytes: {}",
                    ex.body.len(),
                    String::from_utf8_lossy(ex.body)
                ));
            }
            return Ok(op_id);
        };
        let Some(content_type) = ex.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
            return invalid("no Content-Type header".into());
        };
        let media = media_essence(content_type);
        let Some(documented) = content.keys().find(|k| media_matches(k, &media)) else {
            return invalid(format!(
                "Content-Type {content_type} is not documented (documented: {:?})",
                content.keys().collect::<Vec<_>>()
            ));
        };
        if content[documented].get("schema").is_none() {
            return Ok(op_id);
        }
        let schema_pointer = format!("{response_pointer}/content/{}/schema", escape_token(documented));
        let instance = if is_json_media(&media) {
            match serde_json::from_slice::<Value>(ex.body) {
                Ok(v) => v,
                Err(e) => {
                    return invalid(format!(
                        "the body is not JSON ({e}): {}",
                        String::from_utf8_lossy(ex.body)
                    ));
                }
            }
        } else {
            match std::str::from_utf8(ex.body) {
                Ok(text) => Value::String(text.to_string()),
                Err(e) => return invalid(format!("the {media} body is not UTF-8: {e}")),
            }
        };
        if let Err(detail) = self.check_schema(&schema_pointer, &instance) {
            return invalid(detail);
        }
        Ok(op_id)
    }

    /// For a response the contract does not document (an unknown route, a known route with
    /// another method): checks that it is indeed undocumented and that it still has the one error
    /// shape every route shares (`#/components/schemas/Error`, `application/json`).
    pub fn validate_undocumented_error(&self, ex: &Exchange<'_>) -> Result<(), String> {
        match self.validate(ex) {
            Ok(op) => {
                return Err(format!(
                    "{} {} {} -> {} is documented (as {op}); expected an undocumented response",
                    self.service, ex.method, ex.path, ex.status
                ));
            }
            Err(v) if v.kind == Kind::Invalid => return Err(v.to_string()),
            Err(_) => {}
        }
        let media = ex
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(media_essence);
        if media.as_deref() != Some("application/json") {
            return Err(format!(
                "{} {} {} -> {}: error Content-Type is {media:?}, not application/json",
                self.service, ex.method, ex.path, ex.status
            ));
        }
        let body: Value = serde_json::from_slice(ex.body).map_err(|e| {
            format!(
                "{} {} {} -> {}: error body is not JSON ({e})",
                self.service, ex.method, ex.path, ex.status
            )
        })?;
        self.check_schema("/components/schemas/Error", &body)
            .map_err(|e| format!("{} {} {} -> {}: {e}", self.service, ex.method, ex.path, ex.status))
    }
}

#[cfg(test)]
mod tests;
