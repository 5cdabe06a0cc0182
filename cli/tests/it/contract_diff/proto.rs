//! Proto change pairs: gauntlet's findings against `buf breaking`'s rule ids at every level, and
//! their locations.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use gauntlet_contract::diff::{self, DiffOptions, Severity, proto::Category};
use serde_json::Value;

use super::fixtures;

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
