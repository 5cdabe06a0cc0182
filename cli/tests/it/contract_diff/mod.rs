//! `gauntlet contract diff`: protobuf findings match `buf breaking` rule for rule on a table of
//! change pairs at each of buf's four categories; OpenAPI changes get the expected oasdiff-style
//! id and level; the command's exit codes, JSON (against its schema) and JUnit output.

mod openapi;
use openapi::edited;
mod proto;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

pub(super) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub(super) fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diff")
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
    let (code, stdout, stderr) =
        gauntlet(&[&old, &new, "--level", "FILE", "--format", "junit", "--out", &out]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stdout.is_empty(), "--out writes the file, not stdout: {stdout}");
    // `--output`, the flag's first name, is still accepted (hidden alias for a release).
    let aliased = dir.path().join("aliased.xml");
    let (code, stdout, _) = gauntlet(&[
        &old,
        &new,
        "--level",
        "FILE",
        "--format",
        "junit",
        "--output",
        &aliased.display().to_string(),
    ]);
    assert_eq!((code, stdout.as_str()), (Some(1), ""));
    assert_eq!(
        std::fs::read_to_string(&aliased).unwrap(),
        std::fs::read_to_string(&path).unwrap()
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
