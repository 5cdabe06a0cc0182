//! The Markdown summary: fits a pull-request comment or `$GITHUB_STEP_SUMMARY`.

use std::fmt::Write;

use crate::{Report, StepReport, Verdict};

fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

fn row(out: &mut String, s: &StepReport) {
    let l = s.latency_us.as_ref();
    let cell = |f: fn(&crate::LatencySummary) -> u64| l.map_or("-".to_string(), |l| ms(f(l)));
    let _ = writeln!(
        out,
        "| {} | {} | {} | {:.1} | {} | {} | {} | {} |",
        s.name.replace('|', "\\|"),
        s.requests,
        s.failed,
        s.rate_per_sec,
        cell(|l| l.p50),
        cell(|l| l.p90),
        cell(|l| l.p99),
        cell(|l| l.max)
    );
}

/// Renders the report as Markdown.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let icon = match report.verdict {
        Verdict::Passed => "✅",
        Verdict::Failed => "❌",
        Verdict::Interrupted | Verdict::NoData => "⚠️",
    };
    let _ = writeln!(
        out,
        "## {icon} gauntlet: {} — {}\n",
        report.scenario, report.verdict
    );
    let _ = writeln!(
        out,
        "Target `{}` · {} model, {} users{} · {:.1} s · {} iterations{}\n",
        report.target,
        report.load.model,
        report.load.users,
        report.load.rate.map_or(String::new(), |r| format!(", {r}/s")),
        report.duration_secs,
        report.iterations,
        if report.late_starts > 0 {
            format!(" · {} late starts", report.late_starts)
        } else {
            String::new()
        }
    );
    out.push_str("| step | requests | failed | req/s | p50 ms | p90 ms | p99 ms | max ms |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for step in report.steps.iter().filter(|s| s.requests > 0) {
        row(&mut out, step);
    }
    row(&mut out, &report.total);
    if !report.total.failures.is_empty() {
        let _ = writeln!(out, "\nFailures: {}", report.total.failures_list("`"));
    }
    if !report.thresholds.is_empty() {
        out.push_str("\n| threshold | observed | |\n|---|---:|---|\n");
        for t in &report.thresholds {
            let observed = match t.observed {
                None => "no data".to_string(),
                Some(v) if t.is_duration() => format!("{:.2} ms", v / 1000.0),
                Some(v) => format!("{v:.4}"),
            };
            let mark = if t.passed { "pass" } else { "**FAIL**" };
            let _ = writeln!(out, "| `{} {}` | {observed} | {mark} |", t.metric, t.condition);
        }
    }
    if let Some(c) = &report.contract {
        let total: u64 = c.violations.iter().map(|v| v.count).fold(0, u64::saturating_add);
        let _ = writeln!(
            out,
            "\nContract `{}`: {} responses checked, {total} violations.",
            c.spec, c.checked
        );
        if !c.violations.is_empty() {
            out.push_str(
                "\n| step | operation | check | where | expected | count |\n|---|---|---|---|---|---:|\n",
            );
            for v in &c.violations {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | `{}` | {} | {} |",
                    v.step,
                    v.operation,
                    v.check,
                    v.pointer,
                    v.expected.replace('|', "\\|"),
                    v.count
                );
            }
        }
    }
    if let Some(rule) = &report.aborted_by {
        let _ = writeln!(out, "\nStopped early: `{rule}` failed (abort_on_fail).");
    }
    for p in &report.panics {
        let _ = writeln!(out, "\n{} virtual user(s) panicked: `{}`", p.users, p.message);
    }
    out
}
