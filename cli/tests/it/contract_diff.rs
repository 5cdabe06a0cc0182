//! `gauntlet contract diff`: protobuf findings match `buf breaking` rule for rule on a table of
//! change pairs at each of buf's four categories; OpenAPI changes get the expected oasdiff-style
//! id and level; the command's exit codes, JSON (against its schema) and JUnit output.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use gauntlet_contract::diff::{self, DiffOptions, Severity, proto::Category};
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diff")
}

/// One proto change pair (`tests/fixtures/diff/proto/<case>/{old,new}`) and the rule ids
/// `buf breaking` (1.75) reports for it at each category. The test checks gauntlet against
/// this table always, and buf against it whenever buf is installed, so the two agree.
struct ProtoCase {
    case: &'static str,
    file: &'static [&'static str],
    package: &'static [&'static str],
    wire_json: &'static [&'static str],
    wire: &'static [&'static str],
}

const LEVELS: [Category; 4] = [
    Category::File,
    Category::Package,
    Category::WireJson,
    Category::Wire,
];

#[rustfmt::skip]
const PROTO_CASES: &[ProtoCase] = &[
    ProtoCase {
        case: "client_streaming_changed",
        file: &["RPC_SAME_CLIENT_STREAMING"],
        package: &["RPC_SAME_CLIENT_STREAMING"],
        wire_json: &["RPC_SAME_CLIENT_STREAMING"],
        wire: &["RPC_SAME_CLIENT_STREAMING"],
    },
    ProtoCase {
        case: "enum_value_deleted",
        file: &["ENUM_VALUE_NO_DELETE"],
        package: &["ENUM_VALUE_NO_DELETE"],
        wire_json: &["ENUM_VALUE_NO_DELETE_UNLESS_NAME_RESERVED", "ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED"],
        wire: &["ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED"],
    },
    ProtoCase {
        case: "enum_value_deleted_reserved",
        file: &["ENUM_VALUE_NO_DELETE"],
        package: &["ENUM_VALUE_NO_DELETE"],
        wire_json: &[],
        wire: &[],
    },
    ProtoCase {
        case: "enum_value_renamed",
        file: &["ENUM_VALUE_SAME_NAME"],
        package: &["ENUM_VALUE_SAME_NAME"],
        wire_json: &["ENUM_VALUE_SAME_NAME"],
        wire: &[],
    },
    ProtoCase {
        case: "field_added_safe",
        file: &[],
        package: &[],
        wire_json: &[],
        wire: &[],
    },
    ProtoCase {
        case: "field_became_optional",
        file: &["FIELD_SAME_CARDINALITY"],
        package: &["FIELD_SAME_CARDINALITY"],
        wire_json: &[],
        wire: &[],
    },
    ProtoCase {
        case: "field_deleted",
        file: &["FIELD_NO_DELETE"],
        package: &["FIELD_NO_DELETE"],
        wire_json: &["FIELD_NO_DELETE_UNLESS_NAME_RESERVED", "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED"],
        wire: &["FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED"],
    },
    ProtoCase {
        case: "field_deleted_number_reserved",
        file: &["FIELD_NO_DELETE"],
        package: &["FIELD_NO_DELETE"],
        wire_json: &["FIELD_NO_DELETE_UNLESS_NAME_RESERVED"],
        wire: &[],
    },
    ProtoCase {
        case: "field_deleted_reserved",
        file: &["FIELD_NO_DELETE"],
        package: &["FIELD_NO_DELETE"],
        wire_json: &[],
        wire: &[],
    },
    ProtoCase {
        case: "field_json_name_changed",
        file: &["FIELD_SAME_JSON_NAME"],
        package: &["FIELD_SAME_JSON_NAME"],
        wire_json: &["FIELD_SAME_JSON_NAME"],
        wire: &[],
    },
    ProtoCase {
        case: "field_label_changed",
        file: &["FIELD_SAME_CARDINALITY"],
        package: &["FIELD_SAME_CARDINALITY"],
        wire_json: &["FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY"],
        wire: &["FIELD_WIRE_COMPATIBLE_CARDINALITY"],
    },
    ProtoCase {
        case: "field_moved_into_oneof",
        file: &["FIELD_SAME_CARDINALITY", "FIELD_SAME_ONEOF"],
        package: &["FIELD_SAME_CARDINALITY", "FIELD_SAME_ONEOF"],
        wire_json: &["FIELD_SAME_ONEOF"],
        wire: &["FIELD_SAME_ONEOF"],
    },
    ProtoCase {
        case: "field_number_changed",
        file: &["FIELD_NO_DELETE"],
        package: &["FIELD_NO_DELETE"],
        wire_json: &["FIELD_NO_DELETE_UNLESS_NAME_RESERVED", "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED"],
        wire: &["FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED"],
    },
    ProtoCase {
        case: "field_renamed",
        file: &["FIELD_SAME_JSON_NAME", "FIELD_SAME_NAME"],
        package: &["FIELD_SAME_JSON_NAME", "FIELD_SAME_NAME"],
        wire_json: &["FIELD_SAME_JSON_NAME", "FIELD_SAME_NAME"],
        wire: &[],
    },
    ProtoCase {
        case: "field_type_incompatible",
        file: &["FIELD_SAME_TYPE"],
        package: &["FIELD_SAME_TYPE"],
        wire_json: &["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
        wire: &["FIELD_WIRE_COMPATIBLE_TYPE"],
    },
    ProtoCase {
        case: "field_type_sint",
        file: &["FIELD_SAME_TYPE"],
        package: &["FIELD_SAME_TYPE"],
        wire_json: &["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
        wire: &["FIELD_WIRE_COMPATIBLE_TYPE"],
    },
    ProtoCase {
        case: "field_type_wire_compatible",
        file: &["FIELD_SAME_TYPE"],
        package: &["FIELD_SAME_TYPE"],
        wire_json: &["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
        wire: &[],
    },
    ProtoCase {
        case: "file_deleted",
        file: &["FILE_NO_DELETE"],
        package: &["PACKAGE_MESSAGE_NO_DELETE"],
        wire_json: &[],
        wire: &[],
    },
    ProtoCase {
        case: "go_package_changed",
        file: &["FILE_SAME_GO_PACKAGE"],
        package: &["FILE_SAME_GO_PACKAGE"],
        wire_json: &[],
        wire: &[],
    },
    ProtoCase {
        case: "idempotency_changed",
        file: &["RPC_SAME_IDEMPOTENCY_LEVEL"],
        package: &["RPC_SAME_IDEMPOTENCY_LEVEL"],
        wire_json: &["RPC_SAME_IDEMPOTENCY_LEVEL"],
        wire: &["RPC_SAME_IDEMPOTENCY_LEVEL"],
    },
    ProtoCase {
        case: "map_value_type_changed",
        file: &["FIELD_SAME_TYPE"],
        package: &["FIELD_SAME_TYPE"],
        wire_json: &["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
        wire: &[],
    },
    ProtoCase {
        case: "message_deleted",
        file: &["MESSAGE_NO_DELETE"],
        package: &["PACKAGE_MESSAGE_NO_DELETE"],
        wire_json: &[],
        wire: &[],
    },
    ProtoCase {
        case: "message_moved_file",
        file: &["MESSAGE_NO_DELETE"],
        package: &[],
        wire_json: &[],
        wire: &[],
    },
    ProtoCase {
        case: "oneof_deleted",
        file: &["FIELD_SAME_ONEOF", "ONEOF_NO_DELETE"],
        package: &["FIELD_SAME_ONEOF", "ONEOF_NO_DELETE"],
        wire_json: &["FIELD_SAME_ONEOF"],
        wire: &["FIELD_SAME_ONEOF"],
    },
    ProtoCase {
        case: "package_renamed",
        file: &["FILE_SAME_PACKAGE"],
        package: &["FILE_SAME_PACKAGE", "PACKAGE_NO_DELETE"],
        wire_json: &["FILE_SAME_PACKAGE"],
        wire: &["FILE_SAME_PACKAGE"],
    },
    ProtoCase {
        case: "proto2_default_changed",
        file: &["FIELD_SAME_DEFAULT"],
        package: &["FIELD_SAME_DEFAULT"],
        wire_json: &["FIELD_SAME_DEFAULT"],
        wire: &["FIELD_SAME_DEFAULT"],
    },
    ProtoCase {
        case: "proto2_required_removed",
        file: &["FIELD_SAME_CARDINALITY", "MESSAGE_SAME_REQUIRED_FIELDS"],
        package: &["FIELD_SAME_CARDINALITY", "MESSAGE_SAME_REQUIRED_FIELDS"],
        wire_json: &["FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY", "MESSAGE_SAME_REQUIRED_FIELDS"],
        wire: &["FIELD_WIRE_COMPATIBLE_CARDINALITY", "MESSAGE_SAME_REQUIRED_FIELDS"],
    },
    ProtoCase {
        case: "proto2_to_proto3",
        file: &["FIELD_SAME_CARDINALITY", "FIELD_SAME_DEFAULT", "FIELD_SAME_JAVA_UTF8_VALIDATION", "FIELD_SAME_UTF8_VALIDATION", "FILE_SAME_SYNTAX", "MESSAGE_SAME_REQUIRED_FIELDS"],
        package: &["FIELD_SAME_CARDINALITY", "FIELD_SAME_DEFAULT", "FIELD_SAME_JAVA_UTF8_VALIDATION", "FIELD_SAME_UTF8_VALIDATION", "FILE_SAME_SYNTAX", "MESSAGE_SAME_REQUIRED_FIELDS"],
        wire_json: &["FIELD_SAME_DEFAULT", "FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY", "MESSAGE_SAME_REQUIRED_FIELDS"],
        wire: &["FIELD_SAME_DEFAULT", "FIELD_WIRE_COMPATIBLE_CARDINALITY", "MESSAGE_SAME_REQUIRED_FIELDS"],
    },
    ProtoCase {
        case: "reserved_range_shrunk",
        file: &["RESERVED_MESSAGE_NO_DELETE"],
        package: &["RESERVED_MESSAGE_NO_DELETE"],
        wire_json: &["RESERVED_MESSAGE_NO_DELETE"],
        wire: &["RESERVED_MESSAGE_NO_DELETE"],
    },
    ProtoCase {
        case: "rpc_deleted",
        file: &["RPC_NO_DELETE"],
        package: &["RPC_NO_DELETE"],
        wire_json: &[],
        wire: &[],
    },
    ProtoCase {
        case: "rpc_request_type_changed",
        file: &["RPC_SAME_REQUEST_TYPE"],
        package: &["RPC_SAME_REQUEST_TYPE"],
        wire_json: &["RPC_SAME_REQUEST_TYPE"],
        wire: &["RPC_SAME_REQUEST_TYPE"],
    },
    ProtoCase {
        case: "rpc_streaming_changed",
        file: &["RPC_SAME_SERVER_STREAMING"],
        package: &["RPC_SAME_SERVER_STREAMING"],
        wire_json: &["RPC_SAME_SERVER_STREAMING"],
        wire: &["RPC_SAME_SERVER_STREAMING"],
    },
    ProtoCase {
        case: "service_deleted",
        file: &["SERVICE_NO_DELETE"],
        package: &["PACKAGE_SERVICE_NO_DELETE"],
        wire_json: &[],
        wire: &[],
    },
    ProtoCase {
        case: "string_to_bytes",
        file: &["FIELD_SAME_TYPE"],
        package: &["FIELD_SAME_TYPE"],
        wire_json: &["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
        wire: &[],
    },
];

impl ProtoCase {
    fn expected(&self, level: Category) -> BTreeSet<String> {
        let ids = match level {
            Category::File => self.file,
            Category::Package => self.package,
            Category::WireJson => self.wire_json,
            Category::Wire => self.wire,
        };
        ids.iter().map(|s| s.to_string()).collect()
    }
}

fn gauntlet_ids(old: &Path, new: &Path, level: Category) -> BTreeSet<String> {
    let report = diff::diff(old, new, &DiffOptions { category: level }).unwrap();
    report.findings.iter().map(|f| f.id.clone()).collect()
}

/// `buf` from `$BUF`, else from `PATH`.
fn find_buf() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("BUF").map(PathBuf::from).filter(|p| p.is_file()) {
        return Some(path);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("buf"))
            .find(|p| p.is_file())
    })
}

fn buf_ids(buf: &Path, old: &Path, new: &Path, level: Category) -> BTreeSet<String> {
    let config = format!(
        r#"{{"version":"v2","breaking":{{"use":["{}"]}}}}"#,
        level.as_str()
    );
    let out = Command::new(buf)
        .arg("breaking")
        .arg(new)
        .arg("--against")
        .arg(old)
        .args(["--config", &config, "--error-format", "json"])
        .output()
        .expect("run buf");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // buf exits 100 when something breaks, 0 when nothing does; anything else is buf failing.
    assert!(
        matches!(out.status.code(), Some(0 | 100)),
        "buf breaking {} failed ({:?}):\n{stdout}\n{}",
        new.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("buf output {l:?}: {e}"));
            v["type"].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn proto_findings_match_buf_breaking_at_every_level() {
    assert!(PROTO_CASES.len() >= 12);
    let buf = find_buf();
    match (&buf, std::env::var_os("CI")) {
        (None, Some(_)) => panic!(
            "buf is not installed, and under CI the comparison with `buf breaking` must run: \
             ci/test.sh installs it (npm @bufbuild/buf); or set BUF=/path/to/buf"
        ),
        (None, None) => {
            eprintln!("buf not found (PATH or $BUF): checking gauntlet against the recorded buf results only")
        }
        _ => {}
    }
    let mut mismatches = Vec::new();
    for case in PROTO_CASES {
        let dir = fixtures().join("proto").join(case.case);
        let (old, new) = (dir.join("old"), dir.join("new"));
        for level in LEVELS {
            let expected = case.expected(level);
            let ours = gauntlet_ids(&old, &new, level);
            if ours != expected {
                mismatches.push(format!(
                    "{} {}: gauntlet {ours:?}, expected {expected:?}",
                    case.case,
                    level.as_str()
                ));
            }
            if let Some(buf) = &buf {
                let theirs = buf_ids(buf, &old, &new, level);
                if theirs != expected {
                    mismatches.push(format!(
                        "{} {}: buf {theirs:?}, expected {expected:?}",
                        case.case,
                        level.as_str()
                    ));
                }
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn proto_findings_point_at_the_changed_element() {
    let dir = fixtures().join("proto/field_type_incompatible");
    let report = diff::diff(
        &dir.join("old"),
        &dir.join("new"),
        &DiffOptions {
            category: Category::File,
        },
    )
    .unwrap();
    let [finding] = report.findings.as_slice() else {
        panic!("{:?}", report.findings)
    };
    assert_eq!(finding.id, "FIELD_SAME_TYPE");
    assert_eq!(finding.level, Severity::Error);
    assert_eq!(finding.categories, ["FILE", "PACKAGE"]);
    // `  string year = 3;` is line 8 of the NEW file; buf reports 8:3 too.
    assert!(
        finding.location.file.ends_with("new/catalog/v1/movie.proto"),
        "{:?}",
        finding.location
    );
    assert_eq!(
        (finding.location.line, finding.location.column),
        (Some(8), Some(3))
    );
    assert!(
        finding.message.contains("from \"int32\" to \"string\""),
        "{}",
        finding.message
    );
}

/// One OpenAPI change pair: `movies.yaml` with `old` edits (OLD) and `new` edits (NEW); each
/// edit replaces text that must occur exactly once. `expected` is the exact set of (id, level)
/// found — an empty set for a change that is safe.
struct OpenapiCase {
    name: &'static str,
    old: &'static [(&'static str, &'static str)],
    new: &'static [(&'static str, &'static str)],
    expected: &'static [(&'static str, Severity)],
}

use Severity::{Error as E, Info as I, Warning as W};

const MOVIE_YEAR: &str = "        year:\n          type: integer\n        genre:\n          type: string\n          enum: [drama, comedy]\n";
const NEW_MOVIE_PROPS: &str = "      required: [title]\n      properties:\n        title:\n";

#[rustfmt::skip]
const OPENAPI_CASES: &[OpenapiCase] = &[
    OpenapiCase { name: "unchanged", old: &[], new: &[], expected: &[] },
    OpenapiCase { name: "path renamed", old: &[], new: &[("  /movies/{id}:\n", "  /films/{id}:\n")],
        expected: &[("api-path-removed-without-deprecation", E), ("endpoint-added", I)] },
    OpenapiCase { name: "operation removed", old: &[], new: &[("    delete:\n", "    x-delete:\n")],
        expected: &[("api-removed-without-deprecation", E)] },
    OpenapiCase { name: "operation removed after deprecation",
        old: &[("      operationId: deleteMovie\n", "      operationId: deleteMovie\n      deprecated: true\n")],
        new: &[("    delete:\n", "    x-delete:\n"), ("      operationId: deleteMovie\n", "      operationId: deleteMovie\n      deprecated: true\n")],
        expected: &[("api-removed-with-deprecation", I)] },
    OpenapiCase { name: "new required query parameter", old: &[],
        new: &[("      operationId: listMovies\n      parameters:\n", "      operationId: listMovies\n      parameters:\n        - name: region\n          in: query\n          required: true\n          schema:\n            type: string\n")],
        expected: &[("new-required-request-parameter", E)] },
    OpenapiCase { name: "new optional query parameter", old: &[],
        new: &[("      operationId: listMovies\n      parameters:\n", "      operationId: listMovies\n      parameters:\n        - name: region\n          in: query\n          schema:\n            type: string\n")],
        expected: &[("new-optional-request-parameter", I)] },
    OpenapiCase { name: "query parameter became required", old: &[],
        new: &[("        - name: limit\n          in: query\n", "        - name: limit\n          in: query\n          required: true\n")],
        expected: &[("request-parameter-became-required", E)] },
    OpenapiCase { name: "query parameter enum value removed", old: &[],
        new: &[("            enum: [drama, comedy]\n", "            enum: [drama]\n")],
        expected: &[("request-parameter-enum-value-removed", E)] },
    OpenapiCase { name: "query parameter removed", old: &[],
        new: &[("        - name: limit\n          in: query\n          schema:\n            type: integer\n", "")],
        expected: &[("request-parameter-removed", W)] },
    OpenapiCase { name: "new required request property", old: &[],
        new: &[(NEW_MOVIE_PROPS, "      required: [title, director]\n      properties:\n        director:\n          type: string\n        title:\n")],
        expected: &[("new-required-request-property", E)] },
    OpenapiCase { name: "new optional request property", old: &[],
        new: &[(NEW_MOVIE_PROPS, "      required: [title]\n      properties:\n        director:\n          type: string\n        title:\n")],
        expected: &[("new-optional-request-property", I)] },
    OpenapiCase { name: "request property removed", old: &[],
        new: &[("        year:\n          type: integer\n        genre:\n          type: string\n          enum:\n", "        genre:\n          type: string\n          enum:\n")],
        expected: &[("request-property-removed", W)] },
    OpenapiCase { name: "request enum value added", old: &[],
        new: &[("            - comedy\n", "            - comedy\n            - horror\n")],
        expected: &[("request-property-enum-value-added", I)] },
    OpenapiCase { name: "request enum value removed", old: &[],
        new: &[("            - drama\n            - comedy\n", "            - drama\n")],
        expected: &[("request-property-enum-value-removed", E)] },
    OpenapiCase { name: "request body became required",
        old: &[("      requestBody:\n        required: true\n", "      requestBody:\n        required: false\n")], new: &[],
        expected: &[("request-body-became-required", E)] },
    OpenapiCase { name: "request media type removed", old: &[],
        new: &[("        required: true\n        content:\n          application/json:\n", "        required: true\n        content:\n          application/x-www-form-urlencoded:\n")],
        expected: &[("request-body-media-type-removed", E)] },
    OpenapiCase { name: "response property removed", old: &[],
        new: &[("      required: [id, title]\n", "      required: [id]\n"), ("        id:\n          type: string\n        title:\n          type: string\n", "        id:\n          type: string\n")],
        expected: &[("response-property-removed", E)] },
    OpenapiCase { name: "response property became optional", old: &[],
        new: &[("      required: [id, title]\n", "      required: [id]\n")],
        expected: &[("response-property-became-optional", E)] },
    OpenapiCase { name: "response property retyped", old: &[],
        new: &[(MOVIE_YEAR, "        year:\n          type: string\n        genre:\n          type: string\n          enum: [drama, comedy]\n")],
        expected: &[("response-property-type-changed", E)] },
    OpenapiCase { name: "response property became nullable (3.0)", old: &[],
        new: &[(MOVIE_YEAR, "        year:\n          type: integer\n          nullable: true\n        genre:\n          type: string\n          enum: [drama, comedy]\n")],
        expected: &[("response-property-became-nullable", E)] },
    OpenapiCase { name: "response property became nullable (3.1)",
        old: &[("openapi: 3.0.3\n", "openapi: 3.1.0\n")],
        new: &[("openapi: 3.0.3\n", "openapi: 3.1.0\n"), (MOVIE_YEAR, "        year:\n          type: [integer, \"null\"]\n        genre:\n          type: string\n          enum: [drama, comedy]\n")],
        expected: &[("response-property-became-nullable", E)] },
    OpenapiCase { name: "response enum value added", old: &[],
        new: &[("          enum: [drama, comedy]\n    NewMovie:", "          enum: [drama, comedy, horror]\n    NewMovie:")],
        expected: &[("response-property-enum-value-added", W)] },
    OpenapiCase { name: "response optional property added", old: &[],
        new: &[(MOVIE_YEAR, "        year:\n          type: integer\n        rating:\n          type: number\n        genre:\n          type: string\n          enum: [drama, comedy]\n")],
        expected: &[("response-optional-property-added", I)] },
    OpenapiCase { name: "success status changed", old: &[],
        new: &[("        \"201\":\n          description: created\n", "        \"200\":\n          description: created\n")],
        expected: &[("response-success-status-removed", E), ("response-success-status-added", I)] },
    OpenapiCase { name: "error status removed", old: &[],
        new: &[("        \"404\":\n          description: no such movie\n", "")],
        expected: &[("response-non-success-status-removed", W)] },
    OpenapiCase { name: "response media type removed", old: &[],
        new: &[("          description: the movie\n          content:\n            application/json:\n", "          description: the movie\n          content:\n            application/xml:\n")],
        expected: &[("response-media-type-removed", E)] },
    OpenapiCase { name: "security added", old: &[],
        new: &[("      operationId: health\n      security: []\n", "      operationId: health\n")],
        expected: &[("api-security-added", E)] },
    OpenapiCase { name: "endpoint added", old: &[],
        new: &[("  /health:\n", "  /genres:\n    get:\n      responses:\n        \"200\":\n          description: the genres\n  /health:\n")],
        expected: &[("endpoint-added", I)] },
];

fn edited(base: &str, edits: &[(&str, &str)], case: &str) -> String {
    let mut text = base.to_string();
    for (from, to) in edits {
        // Exactly once, so an edit cannot silently miss or hit the wrong place.
        assert_eq!(
            text.matches(from).count(),
            1,
            "{case}: {from:?} must occur exactly once"
        );
        text = text.replacen(from, to, 1);
    }
    text
}

#[test]
fn openapi_changes_get_their_id_and_level() {
    assert!(OPENAPI_CASES.len() >= 15);
    let base = std::fs::read_to_string(fixtures().join("openapi/movies.yaml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut mismatches = Vec::new();
    for case in OPENAPI_CASES {
        let (old, new) = (dir.path().join("old.yaml"), dir.path().join("new.yaml"));
        std::fs::write(&old, edited(&base, case.old, case.name)).unwrap();
        std::fs::write(&new, edited(&base, case.new, case.name)).unwrap();
        let report = match diff::diff(&old, &new, &DiffOptions::default()) {
            Ok(r) => r,
            Err(e) => {
                mismatches.push(format!("{}: {e}", case.name));
                continue;
            }
        };
        let found: BTreeSet<(String, Severity)> =
            report.findings.iter().map(|f| (f.id.clone(), f.level)).collect();
        let expected: BTreeSet<(String, Severity)> =
            case.expected.iter().map(|(id, l)| (id.to_string(), *l)).collect();
        if found != expected {
            mismatches.push(format!("{}: found {found:?}, expected {expected:?}", case.name));
        }
        // Every finding says where: the operation and a pointer that resolves in its file.
        for f in &report.findings {
            let pointer = f.location.pointer.as_deref().unwrap_or_default();
            let file = if f.location.file == new.display().to_string() {
                &new
            } else {
                &old
            };
            let doc: Value = serde_yaml::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
            if doc.pointer(pointer).is_none() {
                mismatches.push(format!(
                    "{}: {} points at {pointer}, which is not in {}",
                    case.name,
                    f.id,
                    file.display()
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

fn gauntlet(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .args(["contract", "diff"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn proto_case(case: &str) -> (String, String) {
    let dir = fixtures().join("proto").join(case);
    (
        dir.join("old").display().to_string(),
        dir.join("new").display().to_string(),
    )
}

fn schema_problems(output: &Value) -> Vec<String> {
    let schema: Value = serde_json::from_slice(
        &std::fs::read(repo().join("reports/schema/contract-diff.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::options().build(&schema).unwrap();
    validator
        .iter_errors(output)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn exit_1_on_a_breaking_proto_change_and_the_json_matches_its_schema() {
    let (old, new) = proto_case("field_deleted");
    let (code, stdout, stderr) = gauntlet(&[&old, &new, "--format", "json"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    let output: Value = serde_json::from_str(&stdout).unwrap();
    let problems = schema_problems(&output);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(output["kind"], "protobuf");
    assert_eq!(output["category"], "WIRE_JSON");
    let ids: BTreeSet<&str> = output["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        BTreeSet::from([
            "FIELD_NO_DELETE_UNLESS_NAME_RESERVED",
            "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED"
        ])
    );
    // The message is located in NEW, where buf puts it: `message Movie {` at 5:1.
    let location = &output["findings"][0]["location"];
    assert_eq!(
        (location["line"].as_u64(), location["column"].as_u64()),
        (Some(5), Some(1)),
        "{location}"
    );

    // The same change is fine on the wire once the number is reserved.
    let (old, new) = proto_case("field_deleted_number_reserved");
    let (code, stdout, _) = gauntlet(&[&old, &new, "--level", "WIRE"]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("0 error"), "{stdout}");
}

#[test]
fn exit_0_when_nothing_breaks_and_fail_on_decides_for_openapi() {
    let (old, new) = proto_case("field_added_safe");
    let (code, stdout, _) = gauntlet(&[&old, &new, "--level", "FILE"]);
    assert_eq!(code, Some(0), "{stdout}");

    // A response enum value added is a warning: passes by default, fails with --fail-on warning.
    let base = std::fs::read_to_string(fixtures().join("openapi/movies.yaml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old.yaml"), dir.path().join("new.json"));
    std::fs::write(&old, &base).unwrap();
    let changed = edited(
        &base,
        &[(
            "          enum: [drama, comedy]\n    NewMovie:",
            "          enum: [drama, comedy, horror]\n    NewMovie:",
        )],
        "cli",
    );
    // NEW as JSON: kind detection takes .yaml and .json alike.
    let as_json: Value = serde_yaml::from_str(&changed).unwrap();
    std::fs::write(&new, serde_json::to_string(&as_json).unwrap()).unwrap();
    let (old, new) = (old.display().to_string(), new.display().to_string());
    let (code, stdout, _) = gauntlet(&[&old, &new]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("warning response-property-enum-value-added"),
        "{stdout}"
    );
    let (code, stdout, _) = gauntlet(&[&old, &new, "--fail-on", "warning", "--format", "json"]);
    assert_eq!(code, Some(1), "{stdout}");
    let output: Value = serde_json::from_str(&stdout).unwrap();
    let problems = schema_problems(&output);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(output["kind"], "openapi");
    assert!(output.get("category").is_none());
    let finding = &output["findings"][0];
    assert_eq!(
        finding["location"]["pointer"],
        "/components/schemas/Movie/properties/genre"
    );
    assert!(
        finding["location"]["operation"]
            .as_str()
            .unwrap()
            .starts_with("GET /movies")
            || finding["location"]["operation"]
                .as_str()
                .unwrap()
                .starts_with("POST /movies")
    );
}

#[test]
fn exit_2_for_input_that_cannot_be_compared_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    std::fs::create_dir_all(&old).unwrap();
    std::fs::create_dir_all(&new).unwrap();
    std::fs::write(
        old.join("a.proto"),
        "syntax = \"proto3\";\nmessage A {\n  int32 x = 1;\n}\n",
    )
    .unwrap();
    std::fs::write(
        new.join("a.proto"),
        "syntax = \"proto3\";\nmessage A {\n  int32 x = 1\n}\n",
    )
    .unwrap();
    let (o, n) = (old.display().to_string(), new.display().to_string());
    let (code, _, stderr) = gauntlet(&[&o, &n]);
    assert_eq!(code, Some(2), "{stderr}");
    // The missing `;` is found at the `}` on line 4.
    assert!(
        stderr.contains(&format!("{}:4:1", new.join("a.proto").display())),
        "{stderr}"
    );

    let missing = dir.path().join("nope.yaml").display().to_string();
    let spec = fixtures().join("openapi/movies.yaml").display().to_string();
    let (code, _, stderr) = gauntlet(&[&spec, &missing]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("nope.yaml"), "{stderr}");

    // A proto root against an OpenAPI file: nothing to compare.
    let (code, _, stderr) = gauntlet(&[&o, &spec]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("cannot tell what to compare"), "{stderr}");

    let bad_yaml = dir.path().join("bad.yaml");
    std::fs::write(
        &bad_yaml,
        "openapi: 3.0.3\ninfo:\n  title: x\n  version: '1'\npaths:\n  /a: [\n",
    )
    .unwrap();
    let bad = bad_yaml.display().to_string();
    let (code, _, stderr) = gauntlet(&[&spec, &bad]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("bad.yaml:"), "{stderr}");

    let (code, _, stderr) = gauntlet(&[&spec, &spec, "--level", "CSR"]);
    assert_eq!(code, Some(2), "{stderr}");
}

#[test]
fn junit_output_is_well_formed_with_a_failing_case_per_breaking_change() {
    let (old, new) = proto_case("rpc_deleted");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("diff.xml");
    let out = path.display().to_string();
    let (code, stdout, stderr) = gauntlet(&[
        &old, &new, "--level", "FILE", "--format", "junit", "--output", &out,
    ]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stdout.is_empty(),
        "--output writes the file, not stdout: {stdout}"
    );
    let xml = std::fs::read_to_string(&path).unwrap();
    let elements = check_xml(&xml);
    assert_eq!(elements.iter().filter(|e| *e == "testcase").count(), 1, "{xml}");
    assert_eq!(elements.iter().filter(|e| *e == "failure").count(), 1, "{xml}");
    assert!(xml.contains(r#"classname="RPC_NO_DELETE""#), "{xml}");
    assert!(xml.contains(r#"failures="1""#), "{xml}");

    let (old, new) = proto_case("field_added_safe");
    let (code, xml, _) = gauntlet(&[&old, &new, "--format", "junit"]);
    assert_eq!(code, Some(0));
    let elements = check_xml(&xml);
    assert_eq!(elements.iter().filter(|e| *e == "testcase").count(), 1, "{xml}");
    assert!(!elements.iter().any(|e| e == "failure"), "{xml}");
}

/// A small well-formedness check (no XML parser among the dependencies): one declaration, every
/// tag closed in order, attribute values quoted, only the five predefined entities. Returns the
/// element names in document order.
fn check_xml(xml: &str) -> Vec<String> {
    let body = xml
        .trim_start()
        .strip_prefix(r#"<?xml version="1.0" encoding="UTF-8"?>"#)
        .expect("XML declaration");
    let mut stack: Vec<String> = Vec::new();
    let mut names = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        check_text(&rest[..start]);
        let end = rest[start..].find('>').expect("unclosed tag") + start;
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name.trim()), "mismatched </{name}>");
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let (name, attrs) = tag.split_once(' ').unwrap_or((tag, ""));
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "bad name {name:?}"
        );
        let mut attrs = attrs.trim();
        while !attrs.is_empty() {
            let (key, after) = attrs
                .split_once("=\"")
                .unwrap_or_else(|| panic!("unquoted attribute in <{tag}>"));
            assert!(!key.trim().is_empty());
            let close = after.find('"').expect("unterminated attribute");
            check_text(&after[..close]);
            attrs = after[close + 1..].trim_start();
        }
        names.push(name.to_string());
        if !self_closing {
            stack.push(name.to_string());
        }
    }
    check_text(rest);
    assert!(stack.is_empty(), "unclosed elements {stack:?}");
    names
}

fn check_text(text: &str) {
    for (i, _) in text.match_indices('&') {
        let entity = &text[i..];
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                .iter()
                .any(|e| entity.starts_with(e)),
            "bad entity in {text:?}"
        );
    }
    assert!(
        !text.contains('<') && !text.contains('>'),
        "unescaped markup in {text:?}"
    );
}
