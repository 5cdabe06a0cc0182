//! The report reader, as `report`, `compare` and `merge` read a saved report: any text is a
//! report or an error, never a panic. A report that reads renders in every format, compares
//! with itself, and reads back after it is written again.

#![no_main]

use gauntlet_reports::compare::{Tolerances, compare};
use gauntlet_reports::{Report, console, html, junit, markdown};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(report) = Report::from_json(text) else {
        return;
    };
    let _ = console::render(&report);
    let _ = markdown::render(&report);
    let _ = junit::render(&report);
    let _ = html::render(&report);
    if let Ok(comparison) = compare(&report, &report, &Tolerances::default(), false) {
        let _ = gauntlet_reports::compare::render(&comparison, true);
        let _ = html::compare::render(&report, &report, &comparison);
    }
    let written = serde_json::to_string(&report).expect("a report serialises");
    let again = Report::from_json(&written).expect("a written report reads back");
    // Floats may move by an ulp through serde_json's fast float parsing; the rest may not.
    assert_eq!(
        (
            &again.verdict,
            again.steps.len(),
            again.total.requests,
            &again.total.histogram
        ),
        (
            &report.verdict,
            report.steps.len(),
            report.total.requests,
            &report.total.histogram
        ),
        "a report changed when written and read again"
    );
});
