//! OpenAPI breaking-change detection between two documents (3.0 or 3.1, loaded by the same
//! loader as the conformance checks). The principle: narrowing what a request accepts, or
//! widening what a response returns, breaks clients. Ids and levels follow oasdiff's
//! (`api-path-removed-without-deprecation`, `new-required-request-parameter`,
//! `response-property-enum-value-added`, ...); safe changes are reported at `info`.

mod params;
mod schema;
mod security;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::diff::{DiffError, Finding, Location, Severity};
use crate::openapi::{self, escape_pointer};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// How deep schemas are compared: far enough for real payloads, and a stop for `$ref` cycles.
const MAX_DEPTH: usize = 24;

/// One side: the document and how its file is shown.
struct Doc {
    file: String,
    doc: Value,
}

impl Doc {
    /// Follows local `$ref`s; the schema and its pointer in the document.
    fn resolve<'a>(&'a self, value: &'a Value, pointer: &str) -> (&'a Value, String) {
        let mut value = value;
        let mut pointer = pointer.to_string();
        for _ in 0..MAX_DEPTH {
            let Some(target) = value.get("$ref").and_then(Value::as_str) else {
                break;
            };
            let Some(local) = target.strip_prefix('#') else {
                break;
            };
            match self.doc.pointer(local) {
                Some(next) => {
                    value = next;
                    pointer = local.to_string();
                }
                None => break,
            }
        }
        (value, pointer)
    }
}

struct Diff<'a> {
    old: &'a Doc,
    new: &'a Doc,
    findings: Vec<Finding>,
}

/// Where a finding is: in NEW unless the element only exists in OLD.
enum In {
    Old,
    New,
}

impl Diff<'_> {
    fn add(&mut self, id: &str, level: Severity, side: In, op: &str, pointer: &str, message: String) {
        let file = match side {
            In::Old => &self.old.file,
            In::New => &self.new.file,
        };
        self.findings.push(Finding {
            id: id.to_string(),
            level,
            categories: Vec::new(),
            location: Location {
                file: file.clone(),
                line: None,
                column: None,
                operation: (!op.is_empty()).then(|| op.to_string()),
                pointer: Some(pointer.to_string()),
            },
            message,
        });
    }
}

/// Loads both documents and compares them.
pub fn diff(old: &Path, new: &Path) -> Result<Vec<Finding>, DiffError> {
    let old = Doc {
        file: old.display().to_string(),
        doc: openapi::load(old)?.doc,
    };
    let new = Doc {
        file: new.display().to_string(),
        doc: openapi::load(new)?.doc,
    };
    Ok(compare(&old, &new))
}

fn compare(old: &Doc, new: &Doc) -> Vec<Finding> {
    let mut d = Diff {
        old,
        new,
        findings: Vec::new(),
    };
    let empty = serde_json::Map::new();
    let paths = |doc: &Value| {
        doc.get("paths")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_else(|| empty.clone())
    };
    let (old_paths, new_paths) = (paths(&old.doc), paths(&new.doc));
    for (template, old_item) in &old_paths {
        let item_ptr = format!("/paths/{}", escape_pointer(template));
        let Some(new_item) = new_paths.get(template) else {
            let deprecated = METHODS
                .iter()
                .filter_map(|m| old_item.get(*m))
                .all(|op| op.get("deprecated") == Some(&Value::Bool(true)));
            let (id, level) = if deprecated {
                ("api-path-removed-with-deprecation", Severity::Info)
            } else {
                ("api-path-removed-without-deprecation", Severity::Error)
            };
            d.add(
                id,
                level,
                In::Old,
                "",
                &item_ptr,
                format!("path {template} was removed"),
            );
            continue;
        };
        for method in METHODS {
            let Some(old_op) = old_item.get(method) else {
                continue;
            };
            let op_name = format!("{} {template}", method.to_ascii_uppercase());
            let op_ptr = format!("{item_ptr}/{method}");
            let Some(new_op) = new_item.get(method) else {
                let (id, level) = if old_op.get("deprecated") == Some(&Value::Bool(true)) {
                    ("api-removed-with-deprecation", Severity::Info)
                } else {
                    ("api-removed-without-deprecation", Severity::Error)
                };
                d.add(
                    id,
                    level,
                    In::Old,
                    &op_name,
                    &op_ptr,
                    format!("operation {op_name} was removed"),
                );
                continue;
            };
            let ctx = OpCtx {
                name: &op_name,
                ptr: &op_ptr,
            };
            if old_op.get("deprecated") != Some(&Value::Bool(true))
                && new_op.get("deprecated") == Some(&Value::Bool(true))
            {
                d.add(
                    "endpoint-deprecated",
                    Severity::Info,
                    In::New,
                    &op_name,
                    &op_ptr,
                    format!("{op_name} was deprecated"),
                );
            }
            params::parameters(&mut d, &ctx, (old_item, old_op), (new_item, new_op));
            request_body(&mut d, &ctx, old_op, new_op);
            responses(&mut d, &ctx, old_op, new_op);
            security::security(&mut d, &ctx, old_op, new_op);
        }
    }
    for (template, new_item) in &new_paths {
        for method in METHODS {
            if new_item.get(method).is_some() && old_paths.get(template).and_then(|i| i.get(method)).is_none()
            {
                let op_name = format!("{} {template}", method.to_ascii_uppercase());
                let ptr = format!("/paths/{}/{method}", escape_pointer(template));
                d.add(
                    "endpoint-added",
                    Severity::Info,
                    In::New,
                    &op_name,
                    &ptr,
                    format!("operation {op_name} was added"),
                );
            }
        }
    }
    d.findings
}

struct OpCtx<'a> {
    name: &'a str,
    ptr: &'a str,
}

fn is_true(v: &Value, key: &str) -> bool {
    v.get(key) == Some(&Value::Bool(true))
}

/// Media type -> (schema, pointer) of a `content` map.
fn content<'a>(holder: &'a Value, ptr: &str) -> BTreeMap<String, (Option<&'a Value>, String)> {
    holder
        .get("content")
        .and_then(Value::as_object)
        .map(|c| {
            c.iter()
                .map(|(mt, body)| {
                    let p = format!("{ptr}/content/{}", escape_pointer(mt));
                    (mt.clone(), (body.get("schema"), format!("{p}/schema")))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn request_body(d: &mut Diff, op: &OpCtx, old_op: &Value, new_op: &Value) {
    let ptr = format!("{}/requestBody", op.ptr);
    let (old_body, new_body) = match (old_op.get("requestBody"), new_op.get("requestBody")) {
        (_, None) => return,
        (None, Some(nb)) => {
            let (nb, _) = d.new.resolve(nb, &ptr);
            if is_true(nb, "required") {
                d.add(
                    "request-body-added-required",
                    Severity::Error,
                    In::New,
                    op.name,
                    &ptr,
                    "a required request body was added".into(),
                );
            }
            return;
        }
        (Some(ob), Some(nb)) => (d.old.resolve(ob, &ptr).0.clone(), d.new.resolve(nb, &ptr)),
    };
    let (new_body, new_ptr) = (new_body.0.clone(), new_body.1);
    if is_true(&new_body, "required") && !is_true(&old_body, "required") {
        d.add(
            "request-body-became-required",
            Severity::Error,
            In::New,
            op.name,
            &new_ptr,
            "the request body became required".into(),
        );
    }
    let (before, after) = (content(&old_body, &ptr), content(&new_body, &new_ptr));
    for (mt, (old_schema, old_ptr)) in &before {
        match after.get(mt) {
            None => d.add(
                "request-body-media-type-removed",
                Severity::Error,
                In::Old,
                op.name,
                old_ptr,
                format!("the request media type {mt} was removed"),
            ),
            Some((new_schema, new_ptr)) => {
                if let (Some(os), Some(ns)) = (old_schema, new_schema) {
                    schema::schemas(d, op, schema::Dir::Request, (os, old_ptr), (ns, new_ptr), "", 0);
                }
            }
        }
    }
}

fn responses(d: &mut Diff, op: &OpCtx, old_op: &Value, new_op: &Value) {
    let empty = serde_json::Map::new();
    let list = |v: &Value| {
        v.get("responses")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_else(|| empty.clone())
    };
    let (before, after) = (list(old_op), list(new_op));
    let success = |status: &str| status.starts_with('2');
    for (status, old_r) in &before {
        let ptr = format!("{}/responses/{}", op.ptr, escape_pointer(status));
        let Some(new_r) = after.get(status) else {
            let (id, level) = if success(status) {
                ("response-success-status-removed", Severity::Error)
            } else {
                ("response-non-success-status-removed", Severity::Warning)
            };
            d.add(
                id,
                level,
                In::Old,
                op.name,
                &ptr,
                format!("the response status {status} was removed"),
            );
            continue;
        };
        let (old_r, _) = d.old.resolve(old_r, &ptr);
        let (new_r, new_ptr) = d.new.resolve(new_r, &ptr);
        let (old_c, new_c) = (content(old_r, &ptr), content(new_r, &new_ptr));
        for (mt, (old_schema, old_ptr)) in &old_c {
            match new_c.get(mt) {
                None => d.add(
                    "response-media-type-removed",
                    Severity::Error,
                    In::Old,
                    op.name,
                    old_ptr,
                    format!("the media type {mt} of the {status} response was removed"),
                ),
                Some((new_schema, new_schema_ptr)) => {
                    if let (Some(os), Some(ns)) = (old_schema, new_schema) {
                        schema::schemas(
                            d,
                            op,
                            schema::Dir::Response,
                            (os, old_ptr),
                            (ns, new_schema_ptr),
                            "",
                            0,
                        );
                    }
                }
            }
        }
    }
    for status in after.keys().filter(|s| !before.contains_key(*s)) {
        let ptr = format!("{}/responses/{}", op.ptr, escape_pointer(status));
        let id = if success(status) {
            "response-success-status-added"
        } else {
            "response-non-success-status-added"
        };
        d.add(
            id,
            Severity::Info,
            In::New,
            op.name,
            &ptr,
            format!("the response status {status} was added"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(v: Value) -> Doc {
        Doc {
            file: "x.yaml".into(),
            doc: v,
        }
    }

    #[test]
    fn refs_are_followed_and_cycles_end() {
        let d = doc(
            json!({ "components": { "schemas": { "A": { "$ref": "#/components/schemas/A" }, "B": { "type": "string" } } } }),
        );
        let to_b = json!({ "$ref": "#/components/schemas/B" });
        let (v, p) = d.resolve(&to_b, "/x");
        assert_eq!(v["type"], "string");
        assert_eq!(p, "/components/schemas/B");
        let to_a = json!({ "$ref": "#/components/schemas/A" });
        let (_, p) = d.resolve(&to_a, "/x");
        assert_eq!(p, "/components/schemas/A");
    }

    #[test]
    fn a_self_referencing_schema_does_not_recurse_forever() {
        let spec = json!({ "paths": { "/a": { "get": { "responses": { "200": { "content": { "application/json": { "schema": { "$ref": "#/components/schemas/N" } } } } } } } },
            "components": { "schemas": { "N": { "type": "object", "properties": { "next": { "$ref": "#/components/schemas/N" } } } } } });
        let findings = compare(&doc(spec.clone()), &doc(spec));
        assert!(findings.is_empty(), "{findings:?}");
    }
}
