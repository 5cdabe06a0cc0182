//! Buf's breaking-change rules, with buf's ids and categories.
//!
//! The table is buf 1.75's `buf config ls-breaking-rules --version v2` (the CSR category left
//! out). buf's categories are not strict subsets of each other by rule id: FILE is the strictest
//! *level*, but a few rules live only in WIRE_JSON or WIRE (the `_UNLESS_*_RESERVED` deletion
//! rules and the wire-compatible type rules, which stricter categories replace with stricter
//! rules) and the `PACKAGE_*_NO_DELETE` rules only in PACKAGE. Selecting a category runs exactly
//! the rules buf runs for it, so the ids match `buf breaking` on the same inputs.

use super::Category::{self, File as FILE, Package as PACKAGE, Wire as WIRE, WireJson as WIRE_JSON};

/// One rule: buf's id, its categories and what it checks.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// buf's rule id, e.g. `FIELD_NO_DELETE`.
    pub id: &'static str,
    /// The categories the rule belongs to.
    pub categories: &'static [Category],
    /// buf's one-line purpose.
    pub purpose: &'static str,
}

/// Every breaking rule buf knows (64).
#[rustfmt::skip]
pub const RULES: &[Rule] = &[
    Rule { id: "EXTENSION_NO_DELETE", categories: &[FILE], purpose: "Checks that extensions are not deleted from a given file." },
    Rule { id: "SERVICE_NO_DELETE", categories: &[FILE], purpose: "Checks that services are not deleted from a given file." },
    Rule { id: "ENUM_NO_DELETE", categories: &[FILE], purpose: "Checks that enums are not deleted from a given file." },
    Rule { id: "FILE_NO_DELETE", categories: &[FILE], purpose: "Checks that files are not deleted." },
    Rule { id: "MESSAGE_NO_DELETE", categories: &[FILE], purpose: "Checks that messages are not deleted from a given file." },
    Rule { id: "ENUM_SAME_TYPE", categories: &[FILE, PACKAGE], purpose: "Checks that enums have the same type (open vs closed)." },
    Rule { id: "FIELD_SAME_CARDINALITY", categories: &[FILE, PACKAGE], purpose: "Checks that fields have the same cardinalities in a given message." },
    Rule { id: "FIELD_SAME_CPP_STRING_TYPE", categories: &[FILE, PACKAGE], purpose: "Checks that fields have the same C++ string type, based on ctype field option or (pb.cpp).string_type feature." },
    Rule { id: "FIELD_SAME_JAVA_UTF8_VALIDATION", categories: &[FILE, PACKAGE], purpose: "Checks that fields have the same Java string UTF8 validation, based on java_string_check_utf8 file option or (pb.java).utf8_validation feature." },
    Rule { id: "FIELD_SAME_JSTYPE", categories: &[FILE, PACKAGE], purpose: "Checks that fields have the same value for the jstype option." },
    Rule { id: "FIELD_SAME_UTF8_VALIDATION", categories: &[FILE, PACKAGE], purpose: "Checks that string fields have the same UTF8 validation mode." },
    Rule { id: "FILE_SAME_CC_ENABLE_ARENAS", categories: &[FILE, PACKAGE], purpose: "Checks that files have the same value for the cc_enable_arenas option." },
    Rule { id: "FILE_SAME_CC_GENERIC_SERVICES", categories: &[FILE, PACKAGE], purpose: "Checks that files have the same value for the cc_generic_services option." },
    Rule { id: "FILE_SAME_CSHARP_NAMESPACE", categories: &[FILE, PACKAGE], purpose: "Checks that files have the same value for the csharp_namespace option." },
    Rule { id: "FILE_SAME_GO_PACKAGE", categories: &[FILE, PACKAGE], purpose: "Checks that files have the same value for the go_package option." },
    Rule { id: "FILE_SAME_JAVA_GENERIC_SERVICES", categories: &[FILE, PACKAGE], purpose: "Checks that files have the same value for the java_generic_services option." },
    Rule { id: "FILE_SAME_JAVA_MULTIPLE_FILES", categories: &[FILE, PACKAGE], purpose: "Checks that files have the same value for the java_multiple_files option." },
    Rule { id: "FILE_SAME_JAVA_OUTER_CLASSNAME", categories: &[FILE, PACKAGE], purpose: "Checks that files have the same value for the java_outer_classname option." },
    Rule { id: "FILE_SAME_JAVA_PACKAGE", categories: &[FILE, PACKAGE], purpose: "Checks that files have the same value for the java_package option." },
    Rule { id: "FILE_SAME_OBJC_CLASS_PREFIX", categories: &[FILE, PACKAGE], purpose: "Checks that files have the same value for the objc_class_prefix option." },
    Rule { id: "FILE_SAME_OPTIMIZE_FOR", categories: &[FILE, PACKAGE], purpose: "Checks that files have the same value for the optimize_for option." },
    Rule { id: "FILE_SAME_PHP_CLASS_PREFIX", categories: &[FILE, PACKAGE], purpose: "Checks that files have the same value for the php_class_prefix option." },
    Rule { id: "FILE_SAME_PHP_METADATA_NAMESPACE", categories: &[FILE, PACKAGE], purpose: "Checks that files have the same value for the php_metadata_namespace option." },
    Rule { id: "FILE_SAME_PHP_NAMESPACE", categories: &[FILE, PACKAGE], purpose: "Checks that files have the same value for the php_namespace option." },
    Rule { id: "FILE_SAME_PY_GENERIC_SERVICES", categories: &[FILE, PACKAGE], purpose: "Checks that files have the same value for the py_generic_services option." },
    Rule { id: "FILE_SAME_RUBY_PACKAGE", categories: &[FILE, PACKAGE], purpose: "Checks that files have the same value for the ruby_package option." },
    Rule { id: "FILE_SAME_SWIFT_PREFIX", categories: &[FILE, PACKAGE], purpose: "Checks that files have the same value for the swift_prefix option." },
    Rule { id: "RPC_NO_DELETE", categories: &[FILE, PACKAGE], purpose: "Checks that rpcs are not deleted from a given service." },
    Rule { id: "ENUM_VALUE_NO_DELETE", categories: &[FILE, PACKAGE], purpose: "Checks that enum values are not deleted from a given enum." },
    Rule { id: "EXTENSION_MESSAGE_NO_DELETE", categories: &[FILE, PACKAGE], purpose: "Checks that extension ranges are not deleted from a given message." },
    Rule { id: "FIELD_NO_DELETE", categories: &[FILE, PACKAGE], purpose: "Checks that fields are not deleted from a given message." },
    Rule { id: "FIELD_SAME_TYPE", categories: &[FILE, PACKAGE], purpose: "Checks that fields have the same types in a given message." },
    Rule { id: "FILE_SAME_SYNTAX", categories: &[FILE, PACKAGE], purpose: "Checks that files have the same syntax." },
    Rule { id: "MESSAGE_NO_REMOVE_STANDARD_DESCRIPTOR_ACCESSOR", categories: &[FILE, PACKAGE], purpose: "Checks that messages do not change the no_standard_descriptor_accessor option from false or unset to true." },
    Rule { id: "ONEOF_NO_DELETE", categories: &[FILE, PACKAGE], purpose: "Checks that oneofs are not deleted from a given message." },
    Rule { id: "ENUM_SAME_JSON_FORMAT", categories: &[FILE, PACKAGE, WIRE_JSON], purpose: "Checks that enums have the same JSON format support." },
    Rule { id: "ENUM_VALUE_SAME_NAME", categories: &[FILE, PACKAGE, WIRE_JSON], purpose: "Checks that enum values have the same name." },
    Rule { id: "FIELD_SAME_JSON_NAME", categories: &[FILE, PACKAGE, WIRE_JSON], purpose: "Checks that fields have the same value for the json_name option." },
    Rule { id: "FIELD_SAME_NAME", categories: &[FILE, PACKAGE, WIRE_JSON], purpose: "Checks that fields have the same names in a given message." },
    Rule { id: "MESSAGE_SAME_JSON_FORMAT", categories: &[FILE, PACKAGE, WIRE_JSON], purpose: "Checks that messages have the same JSON format support." },
    Rule { id: "FIELD_SAME_DEFAULT", categories: &[FILE, PACKAGE, WIRE_JSON, WIRE], purpose: "Checks that fields have the same default value, if a default is specified." },
    Rule { id: "FIELD_SAME_ONEOF", categories: &[FILE, PACKAGE, WIRE_JSON, WIRE], purpose: "Checks that fields have the same oneofs in a given message." },
    Rule { id: "FILE_SAME_PACKAGE", categories: &[FILE, PACKAGE, WIRE_JSON, WIRE], purpose: "Checks that files have the same package." },
    Rule { id: "MESSAGE_SAME_REQUIRED_FIELDS", categories: &[FILE, PACKAGE, WIRE_JSON, WIRE], purpose: "Checks that messages have no added or deleted required fields." },
    Rule { id: "RESERVED_ENUM_NO_DELETE", categories: &[FILE, PACKAGE, WIRE_JSON, WIRE], purpose: "Checks that reserved ranges and names are not deleted from a given enum." },
    Rule { id: "RESERVED_MESSAGE_NO_DELETE", categories: &[FILE, PACKAGE, WIRE_JSON, WIRE], purpose: "Checks that reserved ranges and names are not deleted from a given message." },
    Rule { id: "RPC_SAME_CLIENT_STREAMING", categories: &[FILE, PACKAGE, WIRE_JSON, WIRE], purpose: "Checks that rpcs have the same client streaming value." },
    Rule { id: "RPC_SAME_IDEMPOTENCY_LEVEL", categories: &[FILE, PACKAGE, WIRE_JSON, WIRE], purpose: "Checks that rpcs have the same value for the idempotency_level option." },
    Rule { id: "RPC_SAME_REQUEST_TYPE", categories: &[FILE, PACKAGE, WIRE_JSON, WIRE], purpose: "Checks that rpcs are have the same request type." },
    Rule { id: "RPC_SAME_RESPONSE_TYPE", categories: &[FILE, PACKAGE, WIRE_JSON, WIRE], purpose: "Checks that rpcs are have the same response type." },
    Rule { id: "RPC_SAME_SERVER_STREAMING", categories: &[FILE, PACKAGE, WIRE_JSON, WIRE], purpose: "Checks that rpcs have the same server streaming value." },
    Rule { id: "PACKAGE_ENUM_NO_DELETE", categories: &[PACKAGE], purpose: "Checks that enums are not deleted from a given package." },
    Rule { id: "PACKAGE_EXTENSION_NO_DELETE", categories: &[PACKAGE], purpose: "Checks that extensions are not deleted from a given package." },
    Rule { id: "PACKAGE_MESSAGE_NO_DELETE", categories: &[PACKAGE], purpose: "Checks that messages are not deleted from a given package." },
    Rule { id: "PACKAGE_NO_DELETE", categories: &[PACKAGE], purpose: "Checks that packages are not deleted." },
    Rule { id: "PACKAGE_SERVICE_NO_DELETE", categories: &[PACKAGE], purpose: "Checks that services are not deleted from a given package." },
    Rule { id: "ENUM_VALUE_NO_DELETE_UNLESS_NAME_RESERVED", categories: &[WIRE_JSON], purpose: "Checks that enum values are not deleted from a given enum unless the name is reserved." },
    Rule { id: "FIELD_NO_DELETE_UNLESS_NAME_RESERVED", categories: &[WIRE_JSON], purpose: "Checks that fields are not deleted from a given message unless the name is reserved." },
    Rule { id: "FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY", categories: &[WIRE_JSON], purpose: "Checks that fields have wire and JSON compatible cardinalities in a given message." },
    Rule { id: "FIELD_WIRE_JSON_COMPATIBLE_TYPE", categories: &[WIRE_JSON], purpose: "Checks that fields have wire and JSON compatible types in a given message." },
    Rule { id: "ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED", categories: &[WIRE_JSON, WIRE], purpose: "Checks that enum values are not deleted from a given enum unless the number is reserved." },
    Rule { id: "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED", categories: &[WIRE_JSON, WIRE], purpose: "Checks that fields are not deleted from a given message unless the number is reserved." },
    Rule { id: "FIELD_WIRE_COMPATIBLE_CARDINALITY", categories: &[WIRE], purpose: "Checks that fields have wire-compatible cardinalities in a given message." },
    Rule { id: "FIELD_WIRE_COMPATIBLE_TYPE", categories: &[WIRE], purpose: "Checks that fields have wire-compatible types in a given message." },
];

/// The rule with this id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}
