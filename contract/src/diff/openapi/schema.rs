//! Schemas of request and response bodies (and parameters): compared through `$ref`s,
//! property by property and into array items, in the direction that matters — a request
//! must accept no less, a response return no more.

use super::*;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Dir {
    Request,
    Response,
}

/// The non-null JSON types a schema allows (`type` string or array), empty when unstated.
fn types(schema: &Value) -> BTreeSet<String> {
    match schema.get("type") {
        Some(Value::String(t)) => [t.clone()].into(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .map(str::to_string)
            .collect(),
        _ => BTreeSet::new(),
    }
}

fn enum_values(schema: &Value) -> Option<Vec<Value>> {
    schema
        .get("enum")
        .and_then(Value::as_array)
        .map(|v| v.iter().filter(|x| !x.is_null()).cloned().collect())
}

/// Type and enum changes of one schema. `prefix` is `request-parameter`, `request-property`
/// or `response-property`.
#[allow(clippy::too_many_arguments)]
pub(super) fn scalar_changes(
    d: &mut Diff,
    op: &OpCtx,
    dir: Dir,
    prefix: &str,
    label: &str,
    old: &Value,
    new: &Value,
    ptr: &str,
) {
    let (ot, nt) = (types(old), types(new));
    if !ot.is_empty() && !nt.is_empty() && ot != nt {
        // A request that now accepts more types (integer -> [integer, string]) is safe; any
        // other change to a type breaks one side.
        let widened_request = dir == Dir::Request && ot.is_subset(&nt);
        let level = if widened_request {
            Severity::Info
        } else {
            Severity::Error
        };
        let join = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join("|");
        d.add(
            &format!("{prefix}-type-changed"),
            level,
            In::New,
            op.name,
            ptr,
            format!(
                "the type of the {label} changed from {} to {}",
                join(&ot),
                join(&nt)
            ),
        );
    }
    match (enum_values(old), enum_values(new)) {
        (Some(oe), Some(ne)) => {
            for gone in oe.iter().filter(|v| !ne.contains(v)) {
                let (id, level) = match dir {
                    Dir::Request => (format!("{prefix}-enum-value-removed"), Severity::Error),
                    Dir::Response => (format!("{prefix}-enum-value-removed"), Severity::Info),
                };
                d.add(
                    &id,
                    level,
                    In::New,
                    op.name,
                    ptr,
                    format!("enum value {gone} was removed from the {label}"),
                );
            }
            for added in ne.iter().filter(|v| !oe.contains(v)) {
                let (id, level) = match dir {
                    Dir::Request => (format!("{prefix}-enum-value-added"), Severity::Info),
                    // Clients that switch over a response enum meet a value they do not know.
                    Dir::Response => (format!("{prefix}-enum-value-added"), Severity::Warning),
                };
                d.add(
                    &id,
                    level,
                    In::New,
                    op.name,
                    ptr,
                    format!("enum value {added} was added to the {label}"),
                );
            }
        }
        (None, Some(_)) if dir == Dir::Request => d.add(
            &format!("{prefix}-enum-added"),
            Severity::Error,
            In::New,
            op.name,
            ptr,
            format!("the {label} is now restricted to an enum"),
        ),
        _ => {}
    }
    let nullable = |s: &Value| match s.get("type") {
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "null"),
        _ => s
            .get("anyOf")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|x| x.get("type") == Some(&Value::from("null")))),
    };
    if dir == Dir::Response && !nullable(old) && nullable(new) {
        d.add(
            &format!("{prefix}-became-nullable"),
            Severity::Error,
            In::New,
            op.name,
            ptr,
            format!("the {label} became nullable"),
        );
    }
    if dir == Dir::Request && nullable(old) && !nullable(new) {
        d.add(
            &format!("{prefix}-became-not-nullable"),
            Severity::Error,
            In::New,
            op.name,
            ptr,
            format!("the {label} is no longer nullable"),
        );
    }
}

fn required_set(schema: &Value) -> BTreeSet<String> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

/// Compares two schemas of a request or response body, property by property.
#[allow(clippy::too_many_arguments)]
pub(super) fn schemas(
    d: &mut Diff,
    op: &OpCtx,
    dir: Dir,
    old: (&Value, &str),
    new: (&Value, &str),
    label: &str,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    let (old_s, old_ptr) = d.old.resolve(old.0, old.1);
    let (new_s, new_ptr) = d.new.resolve(new.0, new.1);
    let (old_s, new_s) = (old_s.clone(), new_s.clone());
    let prefix = match dir {
        Dir::Request => "request-property",
        Dir::Response => "response-property",
    };
    if depth > 0 {
        let side = if dir == Dir::Request {
            "request"
        } else {
            "response"
        };
        let described = format!("{side} property {label:?}");
        scalar_changes(d, op, dir, prefix, &described, &old_s, &new_s, &new_ptr);
    }
    let empty = serde_json::Map::new();
    let props = |s: &Value| {
        s.get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_else(|| empty.clone())
    };
    let (op_props, np_props) = (props(&old_s), props(&new_s));
    let (old_req, new_req) = (required_set(&old_s), required_set(&new_s));
    let name = |p: &str| {
        if label.is_empty() {
            p.to_string()
        } else {
            format!("{label}/{p}")
        }
    };
    for (p, np) in &np_props {
        let ptr = format!("{new_ptr}/properties/{}", escape_pointer(p));
        let required = new_req.contains(p);
        match op_props.get(p) {
            None => {
                let (id, level) = match (dir, required) {
                    (Dir::Request, true) => ("new-required-request-property", Severity::Error),
                    (Dir::Request, false) => ("new-optional-request-property", Severity::Info),
                    (Dir::Response, true) => ("response-required-property-added", Severity::Info),
                    (Dir::Response, false) => ("response-optional-property-added", Severity::Info),
                };
                d.add(
                    id,
                    level,
                    In::New,
                    op.name,
                    &ptr,
                    format!(
                        "added the {} property {:?}",
                        if required { "required" } else { "optional" },
                        name(p)
                    ),
                );
            }
            Some(opv) => {
                let was_required = old_req.contains(p);
                if dir == Dir::Request && required && !was_required {
                    d.add(
                        "request-property-became-required",
                        Severity::Error,
                        In::New,
                        op.name,
                        &ptr,
                        format!("the request property {:?} became required", name(p)),
                    );
                }
                if dir == Dir::Response && !required && was_required {
                    d.add(
                        "response-property-became-optional",
                        Severity::Error,
                        In::New,
                        op.name,
                        &ptr,
                        format!("the response property {:?} became optional", name(p)),
                    );
                }
                let old_child = format!("{old_ptr}/properties/{}", escape_pointer(p));
                schemas(d, op, dir, (opv, &old_child), (np, &ptr), &name(p), depth + 1);
            }
        }
    }
    for p in op_props.keys().filter(|p| !np_props.contains_key(*p)) {
        let ptr = format!("{old_ptr}/properties/{}", escape_pointer(p));
        match dir {
            // Servers that drop a request property ignore what clients still send: a warning.
            Dir::Request => d.add(
                "request-property-removed",
                Severity::Warning,
                In::Old,
                op.name,
                &ptr,
                format!("removed the request property {:?}", name(p)),
            ),
            Dir::Response => {
                let level = if old_req.contains(p) {
                    Severity::Error
                } else {
                    Severity::Warning
                };
                d.add(
                    "response-property-removed",
                    level,
                    In::Old,
                    op.name,
                    &ptr,
                    format!("removed the response property {:?}", name(p)),
                );
            }
        }
    }
    if let (Some(oi), Some(ni)) = (old_s.get("items"), new_s.get("items")) {
        let (oi_ptr, ni_ptr) = (format!("{old_ptr}/items"), format!("{new_ptr}/items"));
        schemas(
            d,
            op,
            dir,
            (oi, &oi_ptr),
            (ni, &ni_ptr),
            &format!("{label}[]"),
            depth + 1,
        );
    }
}
