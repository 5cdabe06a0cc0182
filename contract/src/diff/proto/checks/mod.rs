//! The checks behind buf's breaking rules. Each check follows buf's own implementation
//! (`bufcheckserverhandle/breaking.go`): the same pairing, the same compatibility groups, the
//! same exemptions (map entries, synthetic oneofs), so the same inputs give the same rule ids.
//! All rules run; the caller keeps those of the chosen category.

mod enums;
mod fields;
mod files;
mod messages;
mod services;

use std::collections::{BTreeMap, BTreeSet};

use prost_reflect::{
    EnumDescriptor, ExtensionDescriptor, FieldDescriptor, FileDescriptor, MessageDescriptor,
    ServiceDescriptor, Value,
};
use prost_types::field_descriptor_proto::Type;

use super::Raw;
use super::load::Side;
use crate::diff::Location;

/// Every rule id a check here can emit (a unit test holds them to the rule table).
#[cfg(test)]
pub(crate) const EMITTED: &[&str] = &[
    "FILE_NO_DELETE",
    "FILE_SAME_PACKAGE",
    "FILE_SAME_SYNTAX",
    "FILE_SAME_GO_PACKAGE",
    "FILE_SAME_JAVA_PACKAGE",
    "FILE_SAME_JAVA_OUTER_CLASSNAME",
    "FILE_SAME_JAVA_MULTIPLE_FILES",
    "FILE_SAME_JAVA_GENERIC_SERVICES",
    "FILE_SAME_PY_GENERIC_SERVICES",
    "FILE_SAME_CC_GENERIC_SERVICES",
    "FILE_SAME_CC_ENABLE_ARENAS",
    "FILE_SAME_OBJC_CLASS_PREFIX",
    "FILE_SAME_CSHARP_NAMESPACE",
    "FILE_SAME_SWIFT_PREFIX",
    "FILE_SAME_PHP_CLASS_PREFIX",
    "FILE_SAME_PHP_NAMESPACE",
    "FILE_SAME_PHP_METADATA_NAMESPACE",
    "FILE_SAME_RUBY_PACKAGE",
    "FILE_SAME_OPTIMIZE_FOR",
    "MESSAGE_NO_DELETE",
    "ENUM_NO_DELETE",
    "SERVICE_NO_DELETE",
    "EXTENSION_NO_DELETE",
    "PACKAGE_NO_DELETE",
    "PACKAGE_MESSAGE_NO_DELETE",
    "PACKAGE_ENUM_NO_DELETE",
    "PACKAGE_SERVICE_NO_DELETE",
    "PACKAGE_EXTENSION_NO_DELETE",
    "FIELD_NO_DELETE",
    "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED",
    "FIELD_NO_DELETE_UNLESS_NAME_RESERVED",
    "ONEOF_NO_DELETE",
    "RESERVED_MESSAGE_NO_DELETE",
    "EXTENSION_MESSAGE_NO_DELETE",
    "MESSAGE_NO_REMOVE_STANDARD_DESCRIPTOR_ACCESSOR",
    "MESSAGE_SAME_JSON_FORMAT",
    "MESSAGE_SAME_REQUIRED_FIELDS",
    "FIELD_SAME_NAME",
    "FIELD_SAME_JSON_NAME",
    "FIELD_SAME_TYPE",
    "FIELD_WIRE_COMPATIBLE_TYPE",
    "FIELD_WIRE_JSON_COMPATIBLE_TYPE",
    "FIELD_SAME_CARDINALITY",
    "FIELD_WIRE_COMPATIBLE_CARDINALITY",
    "FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY",
    "FIELD_SAME_ONEOF",
    "FIELD_SAME_DEFAULT",
    "FIELD_SAME_JSTYPE",
    "FIELD_SAME_CPP_STRING_TYPE",
    "FIELD_SAME_JAVA_UTF8_VALIDATION",
    "FIELD_SAME_UTF8_VALIDATION",
    "ENUM_VALUE_NO_DELETE",
    "ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED",
    "ENUM_VALUE_NO_DELETE_UNLESS_NAME_RESERVED",
    "ENUM_VALUE_SAME_NAME",
    "RESERVED_ENUM_NO_DELETE",
    "ENUM_SAME_TYPE",
    "ENUM_SAME_JSON_FORMAT",
    "RPC_NO_DELETE",
    "RPC_SAME_CLIENT_STREAMING",
    "RPC_SAME_SERVER_STREAMING",
    "RPC_SAME_REQUEST_TYPE",
    "RPC_SAME_RESPONSE_TYPE",
    "RPC_SAME_IDEMPOTENCY_LEVEL",
];

// Field numbers in descriptor.proto, for source-info paths.
const FILE_PACKAGE: i32 = 2;
const FILE_OPTIONS: i32 = 8;
const FILE_SYNTAX: i32 = 12;
const FIELD_NAME: i32 = 1;
const FIELD_TYPE: i32 = 5;
const FIELD_TYPE_NAME: i32 = 6;
const FIELD_DEFAULT: i32 = 7;
const FIELD_OPTIONS: i32 = 8;
const FIELD_JSON_NAME: i32 = 10;
const ENUM_VALUE_NUMBER: i32 = 2;
const METHOD_INPUT: i32 = 2;
const METHOD_OUTPUT: i32 = 3;

/// Everything of one side, by the keys buf pairs on.
struct Index {
    files: BTreeMap<String, FileDescriptor>,
    messages: BTreeMap<String, MessageDescriptor>,
    enums: BTreeMap<String, EnumDescriptor>,
    services: BTreeMap<String, ServiceDescriptor>,
    extensions: BTreeMap<String, ExtensionDescriptor>,
}

impl Index {
    fn new(side: &Side, rename: Option<&(String, String)>) -> Index {
        let mut index = Index {
            files: BTreeMap::new(),
            messages: BTreeMap::new(),
            enums: BTreeMap::new(),
            services: BTreeMap::new(),
            extensions: BTreeMap::new(),
        };
        for file in side.module_files() {
            let name = match rename {
                Some((from, to)) if file.name() == from => to.clone(),
                _ => file.name().to_string(),
            };
            for message in file.messages() {
                index.add_message(message);
            }
            for e in file.enums() {
                index.enums.insert(e.full_name().to_string(), e);
            }
            for s in file.services() {
                index.services.insert(s.full_name().to_string(), s);
            }
            for x in file.extensions() {
                index.extensions.insert(x.full_name().to_string(), x);
            }
            index.files.insert(name, file);
        }
        index
    }

    fn add_message(&mut self, message: MessageDescriptor) {
        for child in message.child_messages() {
            self.add_message(child);
        }
        for e in message.child_enums() {
            self.enums.insert(e.full_name().to_string(), e);
        }
        for x in message.child_extensions() {
            self.extensions.insert(x.full_name().to_string(), x);
        }
        self.messages.insert(message.full_name().to_string(), message);
    }

    /// Package -> nested names of the things `pick` lists.
    fn by_package<'a, T>(
        &'a self,
        items: &'a BTreeMap<String, T>,
        package: impl Fn(&T) -> String,
    ) -> BTreeMap<String, BTreeSet<String>> {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (full, item) in items {
            let package = package(item);
            out.entry(package.clone())
                .or_default()
                .insert(nested_name(full, &package).to_string());
        }
        out
    }
}

fn nested_name<'a>(full: &'a str, package: &str) -> &'a str {
    if package.is_empty() {
        full
    } else {
        full.strip_prefix(package)
            .and_then(|r| r.strip_prefix('.'))
            .unwrap_or(full)
    }
}

/// Collects findings, locating them in the side where the element is.
struct Out<'a> {
    old: &'a Side,
    new: &'a Side,
    raws: Vec<Raw>,
}

impl Out<'_> {
    fn add(&mut self, rule: &'static str, location: Location, message: String) {
        self.raws.push(Raw {
            rule,
            location,
            message,
        });
    }

    /// `file:line:col` of the first of `paths` the file's source info has, else just the file.
    fn at(&self, new_side: bool, file: &FileDescriptor, paths: &[Vec<i32>]) -> Location {
        let side = if new_side { self.new } else { self.old };
        let mut location = Location {
            file: side.shown(file.name()),
            ..Location::default()
        };
        let info = file.file_descriptor_proto().source_code_info.as_ref();
        if let Some(info) = info {
            for path in paths {
                if let Some(l) = info.location.iter().find(|l| &l.path == path)
                    && l.span.len() >= 3
                {
                    location.line = Some(l.span[0] as u32 + 1);
                    location.column = Some(l.span[1] as u32 + 1);
                    break;
                }
            }
        }
        location
    }

    fn new_at(&self, file: &FileDescriptor, paths: &[Vec<i32>]) -> Location {
        self.at(true, file, paths)
    }
}

fn with(path: &[i32], extra: &[i32]) -> Vec<i32> {
    path.iter().chain(extra).copied().collect()
}

/// Runs every check on OLD and NEW. `alias` pairs two single files of different names.
pub(crate) fn run(old: &Side, new: &Side, alias: Option<&(String, String)>) -> Vec<Raw> {
    let old_index = Index::new(old, alias);
    let new_index = Index::new(new, None);
    let mut out = Out {
        old,
        new,
        raws: Vec::new(),
    };
    files::files(&mut out, &old_index, &new_index);
    files::packages(&mut out, &old_index, &new_index);
    for (name, old_message) in &old_index.messages {
        if let Some(new_message) = new_index.messages.get(name) {
            messages::message_pair(&mut out, old_message, new_message);
        }
    }
    for (name, old_enum) in &old_index.enums {
        if let Some(new_enum) = new_index.enums.get(name) {
            enums::enum_pair(&mut out, old_enum, new_enum);
        }
    }
    for (name, old_service) in &old_index.services {
        if let Some(new_service) = new_index.services.get(name) {
            services::service_pair(&mut out, old_service, new_service);
        }
    }
    out.raws
}

fn syntax(file: &FileDescriptor) -> &str {
    match file.file_descriptor_proto().syntax() {
        "" => "proto2",
        s => s,
    }
}

/// Whether `n` is in one of `ranges` (end exclusive, as prost-reflect gives message ranges).
fn in_ranges(n: u32, ranges: &[std::ops::Range<u32>]) -> bool {
    ranges.iter().any(|r| r.contains(&n))
}

/// An inclusive range of field numbers or enum values.
type TagRange = (i64, i64);
/// An old range and the parts of it no new range covers.
type LostRange = (TagRange, Vec<TagRange>);

/// buf's tag-range rule: every number of an old range must still be covered by some range.
fn ranges_missing(old: &[TagRange], new: &[TagRange]) -> Vec<LostRange> {
    let mut collapsed: Vec<TagRange> = new.to_vec();
    collapsed.sort_unstable();
    let mut merged: Vec<TagRange> = Vec::new();
    for (s, e) in collapsed {
        match merged.last_mut() {
            Some(last) if s <= last.1 + 1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    let mut out = Vec::new();
    for &(start, end) in old {
        // Walk the merged ranges, collecting what of [start, end] they leave uncovered.
        let mut gaps = Vec::new();
        let mut next = start;
        for &(ms, me) in &merged {
            if me < next || ms > end {
                continue;
            }
            if ms > next {
                gaps.push((next, ms - 1));
            }
            next = me + 1;
            if next > end {
                break;
            }
        }
        if next <= end {
            gaps.push((next, end));
        }
        if !gaps.is_empty() {
            out.push(((start, end), gaps));
        }
    }
    out
}

/// buf's text for a tag range: `[5]`, `[5,9]`, or `[5,max]` when it runs to the maximum.
fn range_text((start, end): TagRange, max: i64) -> String {
    match (start == end, end == max) {
        (true, _) => format!("[{start}]"),
        (false, true) => format!("[{start},max]"),
        (false, false) => format!("[{start},{end}]"),
    }
}

/// The message of a reserved or extension range that lost values.
fn range_message(kind: &str, what: &str, name: &str, (range, gaps): &LostRange, max: i64) -> String {
    let removed: Vec<String> = gaps.iter().map(|g| range_text(*g, max)).collect();
    format!(
        "Previously present {kind} range {:?} on {what} {name:?} is missing values: {} were removed.",
        range_text(*range, max),
        removed.join(", ")
    )
}

/// The largest field number, and the largest enum value.
const MESSAGE_MAX: i64 = 536_870_911;
const ENUM_MAX: i64 = 2_147_483_647;

/// proto2 messages and enums support JSON only on a best-effort basis; proto3 and editions
/// (by default) fully. (Explicit editions features are not read.)
fn json_format(file: &FileDescriptor) -> &'static str {
    if syntax(file) == "proto2" {
        "LEGACY_BEST_EFFORT"
    } else {
        "ALLOW"
    }
}

fn utf8_validation(file: &FileDescriptor) -> &'static str {
    if syntax(file) == "proto2" {
        "NONE"
    } else {
        "VERIFY"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reserved_range_must_stay_covered() {
        assert!(ranges_missing(&[(2, 5)], &[(2, 3), (4, 9)]).is_empty());
        assert_eq!(ranges_missing(&[(2, 5)], &[(2, 3)]), vec![((2, 5), vec![(4, 5)])]);
        assert_eq!(
            ranges_missing(&[(1, 10)], &[(3, 4), (7, 7)]),
            vec![((1, 10), vec![(1, 2), (5, 6), (8, 10)])]
        );
        assert!(ranges_missing(&[], &[]).is_empty());
        assert_eq!(range_text((5, MESSAGE_MAX), MESSAGE_MAX), "[5,max]");
    }
}
