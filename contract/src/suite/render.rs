//! How a suite's result is shown: the console summary and JUnit XML (one test case per check,
//! a failure per finding), for CI test tabs.

use std::collections::BTreeMap;

use super::{Finding, SuiteResult};

/// The console summary: per check, then the findings (the first of each operation and check).
pub fn render(result: &SuiteResult, spec: &str) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\ncontract test of {spec}: {} operations, {} requests",
        result.operations, result.requests
    );
    for (check, (runs, failed)) in &result.checks {
        let mark = if *failed == 0 { "pass" } else { "FAIL" };
        let _ = writeln!(out, "  {mark}  {check:<30} {runs:>5} run, {failed} failed");
    }
    let mut shown = std::collections::BTreeSet::new();
    for f in &result.findings {
        if shown.insert((f.operation.clone(), f.check.clone())) {
            let _ = writeln!(
                out,
                "  {} {}: expected {}, got {}\n      {}",
                f.operation, f.check, f.expected, f.actual, f.request
            );
        }
    }
    for note in &result.notes {
        let _ = writeln!(out, "  note: {note}");
    }
    if result.out_of_time {
        out.push_str("  (stopped at --max-time: not every operation was exercised)\n");
    }
    let _ = writeln!(
        out,
        "verdict: {}",
        if result.findings.is_empty() {
            "PASSED"
        } else {
            "FAILED"
        }
    );
    out
}

/// JUnit XML: one test case per operation and check.
pub fn junit(result: &SuiteResult, spec: &str) -> String {
    let esc = |t: &str| {
        t.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut cases: BTreeMap<(String, String), Vec<&Finding>> = BTreeMap::new();
    for f in &result.findings {
        cases
            .entry((f.operation.clone(), f.check.clone()))
            .or_default()
            .push(f);
    }
    let mut body = String::new();
    let passing: Vec<&String> = result
        .checks
        .iter()
        .filter(|(_, (_, failed))| *failed == 0)
        .map(|(c, _)| c)
        .collect();
    for check in &passing {
        body.push_str(&format!(
            "    <testcase classname=\"gauntlet.contract\" name=\"{}\"/>\n",
            esc(check)
        ));
    }
    for ((op, check), findings) in &cases {
        let first = findings[0];
        body.push_str(&format!(
            "    <testcase classname=\"gauntlet.contract.{}\" name=\"{}\"><failure message=\"expected {}, got {} ({} cases)\">{}</failure></testcase>\n",
            esc(op), esc(check), esc(&first.expected), esc(&first.actual), findings.len(), esc(&first.request)
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"gauntlet contract {}\" tests=\"{}\" failures=\"{}\">\n{body}  </testsuite>\n</testsuites>\n",
        esc(spec),
        passing.len() + cases.len(),
        cases.len()
    )
}
