//! JUnit XML, for CI test tabs: one test suite per run, one test case per threshold condition
//! (a failed condition is a `<failure>`), plus one case for the run itself when it was
//! interrupted or stopped early.

use std::fmt::Write;

use crate::{Report, Verdict};

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Renders the report as JUnit XML.
pub fn render(report: &Report) -> String {
    let mut cases = String::new();
    let mut failures = 0;
    let mut count = 0;
    for t in &report.thresholds {
        count += 1;
        let name = escape(&format!("{} {}", t.metric, t.condition));
        let _ = write!(
            cases,
            "    <testcase classname=\"gauntlet.thresholds\" name=\"{name}\">"
        );
        if !t.passed {
            failures += 1;
            let observed = t.observed.map_or("no data".to_string(), |v| format!("{v}"));
            let _ = write!(cases, "<failure message=\"observed {}\"/>", escape(&observed));
        }
        cases.push_str("</testcase>\n");
    }
    if matches!(report.verdict, Verdict::Interrupted | Verdict::NoData)
        || report.aborted_by.is_some()
        || !report.panics.is_empty()
    {
        count += 1;
        failures += 1;
        let why = match (&report.aborted_by, report.verdict) {
            _ if !report.panics.is_empty() => {
                let users: u64 = report.panics.iter().map(|p| p.users).sum();
                format!("{users} virtual user(s) panicked: {}", report.panics[0].message)
            }
            (Some(rule), _) => format!("stopped early: {rule}"),
            (None, Verdict::NoData) => "no request was measured".to_string(),
            (None, _) => "interrupted".to_string(),
        };
        let _ = writeln!(
            cases,
            "    <testcase classname=\"gauntlet.run\" name=\"run completed\"><failure message=\"{}\"/></testcase>",
            escape(&why)
        );
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"gauntlet {}\" tests=\"{count}\" failures=\"{failures}\" time=\"{:.3}\">\n{cases}  </testsuite>\n</testsuites>\n",
        escape(&report.scenario),
        report.duration_secs
    )
}
