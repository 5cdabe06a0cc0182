//! Output of `contract diff`: a console listing, JSON (the public contract,
//! `reports/schema/contract-diff.schema.json`) and JUnit XML (one test case per finding at or
//! above `--fail-on`, failing; one passing case when there is none, so CI shows the check ran).

use std::fmt::Write as _;

use super::{DiffReport, Severity};

/// One line per finding (`location: level ID message`), then a summary line.
pub fn text(report: &DiffReport, fail_on: Severity) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let _ = writeln!(out, "{}: {} {} {}", f.location, f.level.as_str(), f.id, f.message);
    }
    let what = match &report.category {
        Some(category) => format!("protobuf, {category} rules"),
        None => "openapi".to_string(),
    };
    let verdict = if report.fails(fail_on) { "breaking" } else { "ok" };
    let _ = writeln!(
        out,
        "contract diff ({what}): {} error, {} warning, {} info: {verdict} (fail on {})",
        report.count(Severity::Error),
        report.count(Severity::Warning),
        report.count(Severity::Info),
        fail_on.as_str()
    );
    out
}

/// The report as pretty JSON.
pub fn json(report: &DiffReport) -> String {
    serde_json::to_string_pretty(report).unwrap_or_default() + "\n"
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// JUnit XML: findings at or above `fail_on` are failing test cases.
pub fn junit(report: &DiffReport, fail_on: Severity) -> String {
    let failing: Vec<_> = report.findings.iter().filter(|f| f.level >= fail_on).collect();
    let tests = failing.len().max(1);
    let mut out = String::new();
    let _ = writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let name = format!("contract diff {} -> {}", report.old, report.new);
    let _ = writeln!(
        out,
        r#"<testsuites name="gauntlet contract diff" tests="{tests}" failures="{}">"#,
        failing.len()
    );
    let _ = writeln!(
        out,
        r#"  <testsuite name="{}" tests="{tests}" failures="{}">"#,
        esc(&name),
        failing.len()
    );
    if failing.is_empty() {
        let _ = writeln!(
            out,
            r#"    <testcase classname="contract-diff" name="no breaking changes"/>"#
        );
    }
    for f in failing {
        let _ = writeln!(
            out,
            r#"    <testcase classname="{}" name="{}">"#,
            esc(&f.id),
            esc(&f.location.to_string())
        );
        let _ = writeln!(
            out,
            r#"      <failure type="{}" message="{}">{}: {}</failure>"#,
            f.level.as_str(),
            esc(&f.message),
            esc(&f.location.to_string()),
            esc(&f.message)
        );
        let _ = writeln!(out, "    </testcase>");
    }
    let _ = writeln!(out, "  </testsuite>");
    let _ = writeln!(out, "</testsuites>");
    out
}
