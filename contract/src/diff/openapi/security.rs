//! Security: an operation must accept every credential alternative it accepted before.

use super::*;

/// The security requirement alternatives in force for an operation (its own, else the
/// document's), each as the set of scheme names it needs; `{}` means anonymous access.
fn requirements(doc: &Value, op: &Value) -> Option<BTreeSet<BTreeSet<String>>> {
    let list = op.get("security").or_else(|| doc.get("security"))?.as_array()?;
    Some(
        list.iter()
            .map(|req| {
                req.as_object()
                    .map(|o| o.keys().cloned().collect())
                    .unwrap_or_default()
            })
            .collect(),
    )
}

pub(super) fn security(d: &mut Diff, op: &OpCtx, old_op: &Value, new_op: &Value) {
    let open = |r: &Option<BTreeSet<BTreeSet<String>>>| {
        r.as_ref()
            .is_none_or(|alts| alts.is_empty() || alts.iter().any(BTreeSet::is_empty))
    };
    let (before, after) = (requirements(&d.old.doc, old_op), requirements(&d.new.doc, new_op));
    // Point at the requirement in force: the operation's own, else the document's.
    let ptr = if new_op.get("security").is_some() {
        format!("{}/security", op.ptr)
    } else if d.new.doc.get("security").is_some() {
        "/security".to_string()
    } else {
        op.ptr.to_string()
    };
    if open(&before) && !open(&after) {
        d.add(
            "api-security-added",
            Severity::Error,
            In::New,
            op.name,
            &ptr,
            format!("{} now requires credentials", op.name),
        );
        return;
    }
    if let (Some(b), Some(a)) = (&before, &after) {
        // Every alternative a client may have used must still be accepted.
        for gone in b.difference(a) {
            if !gone.is_empty() {
                let names: Vec<_> = gone.iter().cloned().collect();
                d.add(
                    "api-security-requirement-removed",
                    Severity::Error,
                    In::New,
                    op.name,
                    &ptr,
                    format!(
                        "the security requirement [{}] is no longer accepted",
                        names.join(", ")
                    ),
                );
            }
        }
        for added in a.difference(b) {
            let names: Vec<_> = added.iter().cloned().collect();
            d.add(
                "api-security-requirement-added",
                Severity::Info,
                In::New,
                op.name,
                &ptr,
                format!(
                    "the security requirement [{}] is now accepted too",
                    names.join(", ")
                ),
            );
        }
    } else if !open(&before) && open(&after) {
        d.add(
            "api-security-removed",
            Severity::Info,
            In::New,
            op.name,
            &ptr,
            format!("{} no longer requires credentials", op.name),
        );
    }
}
