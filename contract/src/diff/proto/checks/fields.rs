//! Field-pair rules (fields paired by number): name, JSON name, type and its wire and
//! wire+JSON compatibility, cardinality, oneof, default and per-language options.

use super::*;

const WIRE_NOTE: &str =
    "See https://developers.google.com/protocol-buffers/docs/proto3#updating for wire compatibility rules.";
const WIRE_JSON_NOTE: &str = "See https://developers.google.com/protocol-buffers/docs/proto3#updating for wire compatibility rules and https://developers.google.com/protocol-buffers/docs/proto3#json for JSON compatibility rules.";
const BYTES_TO_STRING_NOTE: &str = "Note that while string and bytes are compatible if the data is valid UTF-8, there is no way to enforce that a bytes field is UTF-8, so these fields may be incompatible.";

fn field_type(f: &FieldDescriptor) -> Type {
    f.field_descriptor_proto().r#type()
}

/// buf's wire compatibility groups (`fieldKindToWireCompatibilityGroup`).
fn wire_group(t: Type) -> u8 {
    match t {
        Type::Int32 | Type::Int64 | Type::Uint32 | Type::Uint64 | Type::Bool => 1,
        Type::Sint32 | Type::Sint64 => 2,
        Type::String => 3,
        Type::Bytes => 4,
        Type::Fixed32 | Type::Sfixed32 => 5,
        Type::Fixed64 | Type::Sfixed64 => 6,
        Type::Double => 7,
        Type::Float => 8,
        Type::Group => 9,
        Type::Message => 10,
        Type::Enum => 11,
    }
}

/// buf's wire+JSON compatibility groups (`fieldKindToWireJSONCompatibilityGroup`).
fn wire_json_group(t: Type) -> u8 {
    match t {
        Type::Int32 | Type::Uint32 => 1,
        Type::Int64 | Type::Uint64 => 2,
        Type::Fixed32 | Type::Sfixed32 => 3,
        Type::Fixed64 | Type::Sfixed64 => 4,
        Type::Bool => 5,
        Type::Sint32 => 6,
        Type::Sint64 => 7,
        Type::String => 8,
        Type::Bytes => 9,
        Type::Double => 10,
        Type::Float => 11,
        Type::Group => 12,
        Type::Message => 13,
        Type::Enum => 14,
    }
}

fn type_string(f: &FieldDescriptor) -> String {
    match field_type(f) {
        Type::Message | Type::Enum | Type::Group => f
            .field_descriptor_proto()
            .type_name()
            .trim_start_matches('.')
            .to_string(),
        t => t.as_str_name().trim_start_matches("TYPE_").to_ascii_lowercase(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cardinality {
    Explicit,
    Implicit,
    Required,
    Repeated,
    Map,
}

impl Cardinality {
    fn of(f: &FieldDescriptor) -> Cardinality {
        if f.is_list() {
            Cardinality::Repeated
        } else if f.is_map() {
            Cardinality::Map
        } else if f.is_required() {
            Cardinality::Required
        } else if f.supports_presence() {
            Cardinality::Explicit
        } else {
            Cardinality::Implicit
        }
    }

    fn name(self) -> &'static str {
        match self {
            Cardinality::Explicit => "optional with explicit presence",
            Cardinality::Implicit => "optional with implicit presence",
            Cardinality::Required => "required",
            Cardinality::Repeated => "repeated",
            Cardinality::Map => "map",
        }
    }

    fn wire_group(self) -> u8 {
        match self {
            Cardinality::Explicit | Cardinality::Implicit => 1,
            Cardinality::Required => 2,
            Cardinality::Repeated | Cardinality::Map => 3,
        }
    }

    /// Maps and repeated fields look different in JSON.
    fn wire_json_group(self) -> u8 {
        match self {
            Cardinality::Map => 4,
            other => other.wire_group(),
        }
    }
}

pub(super) fn field_pair(out: &mut Out, old: &FieldDescriptor, new: &FieldDescriptor) {
    let file = new.parent_file();
    let path = new.path().to_vec();
    // A map entry is a message the compiler made up, with no place in the source: its key
    // and value are located at the map field that declares it, as buf does.
    let map_field = map_field_of(new);
    let at = |out: &Out, extra: &[&[i32]]| -> Location {
        let mut paths: Vec<Vec<i32>> = extra.iter().map(|e| with(&path, e)).collect();
        paths.push(path.clone());
        paths.extend(map_field.clone());
        out.new_at(&file, &paths)
    };
    let desc = format!(
        "Field \"{}\" with name {:?} on message {:?}",
        new.number(),
        new.name(),
        new.parent_message().name()
    );
    if old.name() != new.name() {
        let location = at(out, &[&[FIELD_NAME]]);
        out.add(
            "FIELD_SAME_NAME",
            location,
            format!(
                "Field \"{}\" on message {:?} changed name from {:?} to {:?}.",
                new.number(),
                new.parent_message().name(),
                old.name(),
                new.name()
            ),
        );
    }
    if old.json_name() != new.json_name() {
        let location = at(out, &[&[FIELD_JSON_NAME]]);
        out.add(
            "FIELD_SAME_JSON_NAME",
            location,
            format!(
                "{desc} changed option \"json_name\" from {:?} to {:?}.",
                old.json_name(),
                new.json_name()
            ),
        );
    }
    let (ot, nt) = (field_type(old), field_type(new));
    let type_at = |out: &Out| at(out, &[&[FIELD_TYPE_NAME], &[FIELD_TYPE]]);
    let changed = format!(
        "{desc} changed type from {:?} to {:?}.",
        type_string(old),
        type_string(new)
    );
    let named = matches!(nt, Type::Message | Type::Enum | Type::Group);
    let names_differ = old.field_descriptor_proto().type_name() != new.field_descriptor_proto().type_name();
    if ot != nt || (named && names_differ) {
        let location = type_at(out);
        out.add("FIELD_SAME_TYPE", location, changed.clone());
    }
    // Wire and wire+JSON compatibility: a different group breaks, except string -> bytes on
    // the wire; within a group an enum may be replaced by a superset of itself of the same
    // short name, and a message only by itself.
    for (rule, group) in [
        ("FIELD_WIRE_COMPATIBLE_TYPE", wire_group as fn(Type) -> u8),
        ("FIELD_WIRE_JSON_COMPATIBLE_TYPE", wire_json_group),
    ] {
        let breaks = if group(ot) != group(nt) {
            !(rule == "FIELD_WIRE_COMPATIBLE_TYPE" && ot == Type::String && nt == Type::Bytes)
        } else if names_differ {
            match nt {
                Type::Enum => !enum_compatible(old, new),
                Type::Message | Type::Group => true,
                _ => false,
            }
        } else {
            false
        };
        if breaks {
            let location = type_at(out);
            // buf's pointers to the compatibility rules, only where the kind itself changed.
            let mut message = changed.clone();
            if group(ot) != group(nt) {
                message.push(' ');
                message.push_str(if rule == "FIELD_WIRE_COMPATIBLE_TYPE" {
                    WIRE_NOTE
                } else {
                    WIRE_JSON_NOTE
                });
                if rule == "FIELD_WIRE_COMPATIBLE_TYPE" && ot == Type::Bytes && nt == Type::String {
                    message.push(' ');
                    message.push_str(BYTES_TO_STRING_NOTE);
                }
            }
            out.add(rule, location, message);
        }
    }
    let both_map_entries = old.parent_message().is_map_entry() && new.parent_message().is_map_entry();
    if !both_map_entries {
        let (oc, nc) = (Cardinality::of(old), Cardinality::of(new));
        let text = format!(
            "{desc} changed cardinality from {:?} to {:?}.",
            oc.name(),
            nc.name()
        );
        if oc != nc {
            let location = at(out, &[]);
            out.add("FIELD_SAME_CARDINALITY", location, text.clone());
        }
        if oc.wire_group() != nc.wire_group() {
            let location = at(out, &[]);
            out.add("FIELD_WIRE_COMPATIBLE_CARDINALITY", location, text.clone());
        }
        if oc.wire_json_group() != nc.wire_json_group() {
            let location = at(out, &[]);
            out.add("FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY", location, text);
        }
    }
    let oneof = |f: &FieldDescriptor| {
        f.containing_oneof()
            .filter(|o| !o.is_synthetic())
            .map(|o| o.name().to_string())
    };
    let (oo, no) = (oneof(old), oneof(new));
    if oo != no {
        let text = match (&oo, &no) {
            (Some(a), Some(b)) => format!("{desc} moved from oneof {a:?} to oneof {b:?}."),
            (Some(_), None) => format!("{desc} moved from inside to outside a oneof."),
            _ => format!("{desc} moved from outside to inside a oneof."),
        };
        let location = at(out, &[]);
        out.add("FIELD_SAME_ONEOF", location, text);
    }
    field_defaults_and_options(out, old, new, &desc, &at);
}

fn field_defaults_and_options(
    out: &mut Out,
    old: &FieldDescriptor,
    new: &FieldDescriptor,
    desc: &str,
    at: &dyn Fn(&Out, &[&[i32]]) -> Location,
) {
    let (ot, nt) = (field_type(old), field_type(new));
    let can_default = |f: &FieldDescriptor| {
        !f.is_list() && !f.is_map() && !matches!(field_type(f), Type::Message | Type::Group)
    };
    if can_default(old) && can_default(new) {
        let ((od, oz), (nd, nz)) = (default_text(old), default_text(new));
        // buf ignores a pair where both defaults are the zero value.
        if !(oz && nz) && od != nd {
            let location = at(out, &[&[FIELD_DEFAULT]]);
            out.add(
                "FIELD_SAME_DEFAULT",
                location,
                format!("{desc} changed default value from {od} to {nd}."),
            );
        }
    }
    let opts = |f: &FieldDescriptor| f.field_descriptor_proto().options.clone().unwrap_or_default();
    let (oo, no) = (opts(old), opts(new));
    let is64 = |t: Type| {
        matches!(
            t,
            Type::Int64 | Type::Sint64 | Type::Uint64 | Type::Fixed64 | Type::Sfixed64
        )
    };
    if is64(ot) && is64(nt) && oo.jstype() != no.jstype() {
        let location = at(out, &[&[FIELD_OPTIONS, 6]]);
        out.add(
            "FIELD_SAME_JSTYPE",
            location,
            format!(
                "{desc} changed option \"jstype\" from {:?} to {:?}.",
                oo.jstype().as_str_name(),
                no.jstype().as_str_name()
            ),
        );
    }
    let strings = |t: Type| matches!(t, Type::String | Type::Bytes);
    let map_entries = old.parent_message().is_map_entry() && new.parent_message().is_map_entry();
    if strings(ot) && strings(nt) && !map_entries {
        use prost_types::field_options::CType;
        // (string type, is string_piece): STRING_PIECE is a STRING for this purpose, and
        // moving from STRING_PIECE to STRING is allowed.
        let cpp = |o: &prost_types::FieldOptions| match o.ctype.map(|_| o.ctype()) {
            Some(CType::Cord) => ("CORD", false),
            Some(CType::StringPiece) => ("STRING", true),
            _ => ("STRING", false),
        };
        let (a, b) = (cpp(&oo), cpp(&no));
        if a != b && !(a.1 && b == ("STRING", false)) {
            let location = at(out, &[&[FIELD_OPTIONS, 1]]);
            out.add(
                "FIELD_SAME_CPP_STRING_TYPE",
                location,
                format!("{desc} changed C++ string type."),
            );
        }
    }
    if ot == Type::String && nt == Type::String {
        let (of, nf) = (old.parent_file(), new.parent_file());
        let (ou, nu) = (utf8_validation(&of), utf8_validation(&nf));
        if ou != nu {
            let location = at(out, &[]);
            out.add(
                "FIELD_SAME_UTF8_VALIDATION",
                location,
                format!("{desc} changed UTF8 validation from {ou} to {nu}."),
            );
        }
        let java = |file: &FileDescriptor, default: &'static str| {
            let check = file
                .file_descriptor_proto()
                .options
                .as_ref()
                .is_some_and(|o| o.java_string_check_utf8());
            if check { "VERIFY" } else { default }
        };
        let (oj, nj) = (java(&of, ou), java(&nf, nu));
        if oj != nj {
            let location = at(out, &[]);
            out.add(
                "FIELD_SAME_JAVA_UTF8_VALIDATION",
                location,
                format!("{desc} changed Java string UTF8 validation from {oj:?} to {nj:?}."),
            );
        }
    }
}

/// For a key or value field of a map entry, the path of the map field declaring the entry.
fn map_field_of(field: &FieldDescriptor) -> Option<Vec<i32>> {
    let entry = field.parent_message();
    if !entry.is_map_entry() {
        return None;
    }
    let owner = entry.parent_message()?;
    owner
        .fields()
        .find(|f| matches!(f.kind(), prost_reflect::Kind::Message(m) if m.full_name() == entry.full_name()))
        .map(|f| f.path().to_vec())
}

/// A field's default as text, and whether it is the zero value.
fn default_text(f: &FieldDescriptor) -> (String, bool) {
    match f.default_value() {
        Value::Bool(b) => (b.to_string(), !b),
        Value::I32(n) => (n.to_string(), n == 0),
        Value::I64(n) => (n.to_string(), n == 0),
        Value::U32(n) => (n.to_string(), n == 0),
        Value::U64(n) => (n.to_string(), n == 0),
        Value::F32(n) => (f64::from(n).to_string(), n == 0.0),
        Value::F64(n) => (n.to_string(), n == 0.0),
        Value::String(s) => (format!("{s:?}"), s.is_empty()),
        Value::Bytes(b) => (format!("{b:?}"), b.is_empty()),
        Value::EnumNumber(n) => (n.to_string(), n == 0),
        other => (format!("{other:?}"), false),
    }
}

/// An enum field may switch to another enum of the same short name that has every value
/// (name and number) of the old one.
fn enum_compatible(old: &FieldDescriptor, new: &FieldDescriptor) -> bool {
    let (prost_reflect::Kind::Enum(a), prost_reflect::Kind::Enum(b)) = (old.kind(), new.kind()) else {
        return false;
    };
    a.name() == b.name()
        && a.values().all(|v| {
            b.values()
                .any(|w| w.number() == v.number() && w.name() == v.name())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_groups_follow_buf() {
        assert_eq!(wire_group(Type::Int32), wire_group(Type::Int64));
        assert_eq!(wire_group(Type::Bool), wire_group(Type::Uint64));
        assert_ne!(wire_group(Type::Int32), wire_group(Type::Sint32));
        assert_ne!(wire_json_group(Type::Int32), wire_json_group(Type::Int64));
        assert_eq!(wire_json_group(Type::Int64), wire_json_group(Type::Uint64));
    }
}
