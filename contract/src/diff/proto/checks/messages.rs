//! Message-level rules: deleted fields and oneofs, reserved and extension ranges, options,
//! JSON format and required fields; then each field pair (`fields`).

use super::fields::field_pair;
use super::*;

const REQUIRED_NOTE: &str = "Required fields must always be sent, so if one side does not know about the required field, this will result in a breakage.";

pub(super) fn message_pair(out: &mut Out, old: &MessageDescriptor, new: &MessageDescriptor) {
    let new_file = new.parent_file();
    let message_at = |out: &Out| out.new_at(&new_file, &[new.path().to_vec()]);
    let reserved: Vec<_> = new.reserved_ranges().collect();
    let reserved_names: BTreeSet<&str> = new.reserved_names().collect();
    for old_field in old.fields() {
        if new.get_field(old_field.number()).is_some() {
            continue;
        }
        let (number, name) = (old_field.number(), old_field.name());
        let text = format!(
            "Previously present field \"{number}\" with name {name:?} on message {:?} was deleted",
            new.name()
        );
        let location = message_at(out);
        out.add("FIELD_NO_DELETE", location.clone(), format!("{text}."));
        if !in_ranges(number, &reserved) {
            out.add(
                "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED",
                location.clone(),
                format!("{text} without reserving the number \"{number}\"."),
            );
        }
        if !reserved_names.contains(name) {
            out.add(
                "FIELD_NO_DELETE_UNLESS_NAME_RESERVED",
                location,
                format!("{text} without reserving the name {name:?}."),
            );
        }
    }
    let oneofs = |m: &MessageDescriptor| -> BTreeSet<String> {
        m.oneofs()
            .filter(|o| !o.is_synthetic())
            .map(|o| o.name().to_string())
            .collect()
    };
    for gone in oneofs(old).difference(&oneofs(new)) {
        let location = message_at(out);
        out.add(
            "ONEOF_NO_DELETE",
            location,
            format!(
                "Previously present oneof {gone:?} on message {:?} was deleted.",
                new.name()
            ),
        );
    }
    // Reserved and extension ranges are end-exclusive in descriptors.
    let span = |r: std::ops::Range<u32>| (i64::from(r.start), i64::from(r.end) - 1);
    let missing = ranges_missing(
        &old.reserved_ranges().map(span).collect::<Vec<_>>(),
        &new.reserved_ranges().map(span).collect::<Vec<_>>(),
    );
    for lost in &missing {
        let location = message_at(out);
        let message = range_message("reserved", "message", new.name(), lost, MESSAGE_MAX);
        out.add("RESERVED_MESSAGE_NO_DELETE", location, message);
    }
    for gone in old.reserved_names().filter(|n| !reserved_names.contains(n)) {
        let location = message_at(out);
        out.add(
            "RESERVED_MESSAGE_NO_DELETE",
            location,
            format!(
                "Previously present reserved name {gone:?} on message {:?} was deleted.",
                new.name()
            ),
        );
    }
    let missing = ranges_missing(
        &old.extension_ranges().map(span).collect::<Vec<_>>(),
        &new.extension_ranges().map(span).collect::<Vec<_>>(),
    );
    for lost in &missing {
        let location = message_at(out);
        let message = range_message("extension", "message", new.name(), lost, MESSAGE_MAX);
        out.add("EXTENSION_MESSAGE_NO_DELETE", location, message);
    }
    let accessor = |m: &MessageDescriptor| {
        m.descriptor_proto()
            .options
            .as_ref()
            .is_some_and(|o| o.no_standard_descriptor_accessor())
    };
    if !accessor(old) && accessor(new) {
        let location = message_at(out);
        out.add(
            "MESSAGE_NO_REMOVE_STANDARD_DESCRIPTOR_ACCESSOR",
            location,
            "Message option \"no_standard_descriptor_accessor\" changed from \"false\" to \"true\".".into(),
        );
    }
    let (old_json, new_json) = (json_format(&old.parent_file()), json_format(&new_file));
    if old_json == "ALLOW" && new_json != "ALLOW" {
        let location = message_at(out);
        out.add(
            "MESSAGE_SAME_JSON_FORMAT",
            location,
            format!(
                "Message {:?} JSON format support changed from {old_json} to {new_json}.",
                new.name()
            ),
        );
    }
    let required = |m: &MessageDescriptor| -> BTreeSet<u32> {
        m.fields()
            .filter(|f| f.is_required())
            .map(|f| f.number())
            .collect()
    };
    let (old_req, new_req) = (required(old), required(new));
    for n in old_req.difference(&new_req) {
        let location = message_at(out);
        out.add(
            "MESSAGE_SAME_REQUIRED_FIELDS",
            location,
            format!(
                "Message {:?} had required field \"{n}\" deleted. {REQUIRED_NOTE}",
                new.name()
            ),
        );
    }
    for n in new_req.difference(&old_req) {
        let field = new.get_field(*n);
        let location = field.map_or_else(
            || message_at(out),
            |f| out.new_at(&new_file, &[f.path().to_vec()]),
        );
        out.add(
            "MESSAGE_SAME_REQUIRED_FIELDS",
            location,
            format!(
                "Message {:?} had required field \"{n}\" added. {REQUIRED_NOTE}",
                new.name()
            ),
        );
    }
    for old_field in old.fields() {
        if let Some(new_field) = new.get_field(old_field.number()) {
            field_pair(out, &old_field, &new_field);
        }
    }
}
