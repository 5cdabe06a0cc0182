//! OpenAPI change pairs: each edit of the base document gets its id and level.

use std::collections::BTreeSet;

use gauntlet_contract::diff::{self, DiffOptions, Severity};
use serde_json::Value;

use super::fixtures;

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

pub(super) fn edited(base: &str, edits: &[(&str, &str)], case: &str) -> String {
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
