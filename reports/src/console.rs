//! The console summary printed at the end of every run: one row per step, then the
//! thresholds and the verdict.

use std::fmt::Write;

use crate::{Report, StepReport};

fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

fn row(out: &mut String, s: &StepReport) {
    let (p50, p90, p99, max) = match &s.latency_us {
        Some(l) => (ms(l.p50), ms(l.p90), ms(l.p99), ms(l.max)),
        None => ("-".into(), "-".into(), "-".into(), "-".into()),
    };
    let _ = writeln!(
        out,
        "  {:<28} {:>9} {:>8} {:>9.1} {:>9} {:>9} {:>9} {:>9}",
        truncate(&s.name, 28),
        s.requests,
        s.failed,
        s.rate_per_sec,
        p50,
        p90,
        p99,
        max
    );
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let mut t: String = text.chars().take(width - 1).collect();
        t.push('…');
        t
    }
}

/// Renders the summary as plain text.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{} against {}: {:.1} s, {} users, {} iterations",
        report.scenario, report.target, report.duration_secs, report.load.users, report.iterations
    );
    let _ = writeln!(
        out,
        "  {:<28} {:>9} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "step", "requests", "failed", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    for step in report.steps.iter().filter(|s| s.requests > 0) {
        row(&mut out, step);
    }
    row(&mut out, &report.total);
    if !report.total.failures.is_empty() {
        let _ = writeln!(out, "  failures: {}", report.total.failures_list(""));
    }
    if let Some(c) = &report.contract {
        let total: u64 = c.violations.iter().map(|v| v.count).fold(0, u64::saturating_add);
        let _ = writeln!(
            out,
            "contract ({}): {} responses checked, {total} violations",
            c.spec, c.checked
        );
        for v in c.violations.iter().take(10) {
            let at = if v.pointer.is_empty() {
                String::new()
            } else {
                format!(" at {}", v.pointer)
            };
            let _ = writeln!(
                out,
                "  {} x{}: {} {}{at}: {}",
                v.step, v.count, v.operation, v.check, v.expected
            );
            if let Some(e) = v.examples.first() {
                let _ = writeln!(out, "      e.g. {} -> {}", e.request, e.actual);
            }
        }
    }
    if !report.thresholds.is_empty() {
        let _ = writeln!(out, "thresholds:");
        for t in &report.thresholds {
            let observed = match t.observed {
                Some(v) if t.is_duration() => format!("{:.2}ms", v / 1000.0),
                Some(v) if t.condition.trim_start().starts_with("count") => format!("{v:.0}"),
                Some(v) => format!("{v:.4}"),
                None => "no data".into(),
            };
            let mark = if t.passed { "pass" } else { "FAIL" };
            let _ = writeln!(
                out,
                "  {mark}  {} {}  (observed {observed})",
                t.metric, t.condition
            );
        }
    }
    if let Some(rule) = &report.aborted_by {
        let _ = writeln!(out, "aborted early: {rule} failed (abort_on_fail)");
    }
    for p in &report.panics {
        let _ = writeln!(
            out,
            "{} virtual user(s) panicked (a gauntlet defect, please report it): {}",
            p.users, p.message
        );
    }
    let _ = writeln!(out, "verdict: {}", report.verdict);
    out
}
