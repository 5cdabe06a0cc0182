//! Parameters: matched by `in` and `name` (path-item parameters included, overridden by the
//! operation's); added, removed, now required, retyped, fewer enum values.

use super::*;

use super::schema::{Dir, scalar_changes};

/// Path-item parameters overridden by the operation's, keyed by (in, name), with pointers.
fn params<'a>(
    doc: &'a Doc,
    item: &'a Value,
    op: &'a Value,
    item_ptr: &str,
    op_ptr: &str,
) -> BTreeMap<(String, String), (&'a Value, String)> {
    let mut out = BTreeMap::new();
    for (holder, ptr) in [(item, item_ptr), (op, op_ptr)] {
        let Some(list) = holder.get("parameters").and_then(Value::as_array) else {
            continue;
        };
        for (i, p) in list.iter().enumerate() {
            let (p, ptr) = doc.resolve(p, &format!("{ptr}/parameters/{i}"));
            let key = (
                p.get("in")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                p.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            );
            out.insert(key, (p, ptr));
        }
    }
    out
}

pub(super) fn parameters(
    d: &mut Diff,
    op: &OpCtx,
    (old_item, old_op): (&Value, &Value),
    (new_item, new_op): (&Value, &Value),
) {
    let item_ptr = op.ptr.rsplit_once('/').map_or("", |(p, _)| p).to_string();
    let before = params(d.old, old_item, old_op, &item_ptr, op.ptr);
    let after = params(d.new, new_item, new_op, &item_ptr, op.ptr);
    for ((place, name), (new_p, ptr)) in &after {
        let required = is_true(new_p, "required") || place == "path";
        match before.get(&(place.clone(), name.clone())) {
            None if required => d.add(
                "new-required-request-parameter",
                Severity::Error,
                In::New,
                op.name,
                ptr,
                format!("added the new required {place} request parameter {name:?}"),
            ),
            None => d.add(
                "new-optional-request-parameter",
                Severity::Info,
                In::New,
                op.name,
                ptr,
                format!("added the new optional {place} request parameter {name:?}"),
            ),
            Some((old_p, _)) => {
                if required && !(is_true(old_p, "required") || place == "path") {
                    d.add(
                        "request-parameter-became-required",
                        Severity::Error,
                        In::New,
                        op.name,
                        ptr,
                        format!("the {place} request parameter {name:?} became required"),
                    );
                }
                if let (Some(os), Some(ns)) = (old_p.get("schema"), new_p.get("schema")) {
                    let label = format!("{place} request parameter {name:?}");
                    let (os, _) = d.old.resolve(os, "");
                    let (ns, nptr) = d.new.resolve(ns, &format!("{ptr}/schema"));
                    let (os, ns) = (os.clone(), ns.clone());
                    scalar_changes(d, op, Dir::Request, "request-parameter", &label, &os, &ns, &nptr);
                }
            }
        }
    }
    for ((place, name), (_, ptr)) in &before {
        if !after.contains_key(&(place.clone(), name.clone())) {
            d.add(
                "request-parameter-removed",
                Severity::Warning,
                In::Old,
                op.name,
                ptr,
                format!("deleted the {place} request parameter {name:?}"),
            );
        }
    }
}
