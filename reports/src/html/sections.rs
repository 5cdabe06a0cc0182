//! The single-run report's text sections: the heading and verdict, the run, the thresholds,
//! the per-step table and the contract violations.

use std::fmt::Write;

use super::page::{escape, kv};
use crate::{LatencySummary, Report, StepReport, ThresholdOutcome, Verdict};

pub(super) fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

pub(super) fn summary(out: &mut String, report: &Report) {
    let _ = writeln!(
        out,
        "<h1>gauntlet: {} <span class=\"verdict {}\">{}</span></h1>",
        escape(&report.scenario),
        verdict_class(report.verdict),
        report.verdict
    );
    if let Some(description) = &report.description {
        let _ = writeln!(out, "<p class=\"description\">{}</p>", escape(description));
    }
    if let Some(rule) = &report.aborted_by {
        let _ = writeln!(
            out,
            "<div class=\"banner\">Stopped early: <code>{}</code> failed (abort_on_fail).</div>",
            escape(rule)
        );
    }
    for p in &report.panics {
        let _ = writeln!(
            out,
            "<div class=\"banner\">{} virtual user(s) panicked (a gauntlet defect): <code>{}</code></div>",
            p.users,
            escape(&p.message)
        );
    }
}

fn verdict_class(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Passed => "passed",
        Verdict::Failed => "failed",
        Verdict::Interrupted => "interrupted",
        // Drawn like an interrupted run: not a pass, not the target's failure.
        Verdict::NoData => "interrupted",
    }
}

pub(super) fn run(out: &mut String, report: &Report) {
    out.push_str("<h2>Run</h2>\n<table class=\"kv\">\n");
    kv(out, "target", &format!("<code>{}</code>", escape(&report.target)));
    kv(out, "started", &escape(&report.started_at));
    let load = &report.load;
    let mut model = format!("{}, {} users", escape(&load.model), load.users);
    if let Some(rate) = load.rate {
        let _ = write!(model, ", {rate}&nbsp;iterations/s");
    }
    if let Some(shard) = &load.shard {
        let _ = write!(model, ", shard {}", escape(shard));
    }
    if let Some(planned) = load.duration_secs {
        let _ = write!(model, ", planned {planned}&nbsp;s");
    }
    if let Some(n) = load.iterations_per_user {
        let _ = write!(model, ", {n} iterations per user");
    }
    kv(out, "load model", &model);
    kv(out, "duration", &format!("{:.1}&nbsp;s", report.duration_secs));
    kv(out, "iterations", &report.iterations.to_string());
    let late = if report.late_starts > 0 {
        format!("<span class=\"fail\">{}</span>", report.late_starts)
    } else {
        "0".to_string()
    };
    kv(out, "late starts", &late);
    kv(
        out,
        "request timeout",
        &format!("{}&nbsp;ms", report.plan.timeout_ms),
    );
    kv(
        out,
        "verdict",
        &format!(
            "<span class=\"{}\">{}</span>",
            if report.verdict == Verdict::Passed {
                "pass"
            } else {
                "fail"
            },
            report.verdict
        ),
    );
    if let Some(rule) = &report.aborted_by {
        kv(out, "aborted by", &format!("<code>{}</code>", escape(rule)));
    }
    let env = &report.environment;
    let mut environment = format!(
        "gauntlet {}, {}, {} CPUs",
        escape(&env.harness_version),
        escape(&env.os),
        env.cpus
    );
    if let Some(revision) = &env.revision {
        let _ = write!(environment, ", revision <code>{}</code>", escape(revision));
    }
    kv(out, "environment", &environment);
    out.push_str("</table>\n");
}

fn observed(t: &ThresholdOutcome) -> String {
    let condition = t.condition.trim_start();
    match t.observed {
        None => "no data".to_string(),
        Some(v) if t.is_duration() => format!("{:.2} ms", v / 1000.0),
        Some(v) if condition.starts_with("count") => format!("{v:.0}"),
        Some(v) if condition.starts_with("rate") => format!("{v:.4} ({:.2}%)", v * 100.0),
        Some(v) => format!("{v:.4}"),
    }
}

pub(super) fn thresholds(out: &mut String, report: &Report) {
    out.push_str("<h2>Thresholds</h2>\n");
    if report.thresholds.is_empty() {
        out.push_str("<p class=\"muted\">No thresholds: the run passes when it completes.</p>\n");
        return;
    }
    out.push_str(
        "<div class=\"scroll\"><table>\n<thead><tr><th>metric</th><th>condition</th><th class=\"num\">observed</th>\
         <th>result</th></tr></thead>\n<tbody>\n",
    );
    for t in &report.thresholds {
        let (class, mark) = if t.passed {
            ("pass", "pass")
        } else {
            ("fail", "FAIL")
        };
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td><code class=\"nowrap\">{}</code></td><td class=\"num\">{}</td>\
             <td class=\"{class}\">{mark}</td></tr>",
            escape(&t.metric),
            escape(&t.condition),
            escape(&observed(t))
        );
    }
    out.push_str("</tbody>\n</table></div>\n");
}

/// Whether the plan says this step is a pause (no requests, nothing to show).
fn is_pause(report: &Report, step: &StepReport) -> bool {
    report
        .plan
        .scenarios
        .iter()
        .filter(|s| step.scenario.as_deref() == Some(s.name.as_str()))
        .flat_map(|s| &s.steps)
        .any(|s| s.name == step.name && s.kind == "sleep")
}

fn step_row(out: &mut String, s: &StepReport, total: bool) {
    let failures = if s.failures.is_empty() {
        "<span class=\"muted\">—</span>".to_string()
    } else {
        s.failures
            .iter()
            .map(|(kind, n)| format!("<span class=\"kind\">{} {n}</span>", escape(kind)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let l = s.latency_us.as_ref();
    let cell = |f: fn(&LatencySummary) -> u64| l.map_or("-".to_string(), |l| ms(f(l)));
    let _ = writeln!(
        out,
        "<tr{}><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num{}\">{}</td>\
         <td>{failures}</td><td class=\"num\">{:.1}</td><td class=\"num\">{}</td>\
         <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
         <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
        if total { " class=\"total\"" } else { "" },
        escape(&s.name),
        s.scenario.as_deref().map_or(String::new(), escape),
        s.requests,
        if s.failed > 0 { " bad" } else { "" },
        s.failed,
        s.rate_per_sec,
        cell(|l| l.p50),
        cell(|l| l.p90),
        cell(|l| l.p95),
        cell(|l| l.p99),
        cell(|l| l.p999),
        cell(|l| l.max),
    );
}

pub(super) fn steps(out: &mut String, report: &Report) {
    out.push_str(
        "<h2>Steps</h2>\n<div class=\"scroll\"><table>\n<thead><tr><th>step</th><th>scenario</th>\
         <th class=\"num\">requests</th><th class=\"num\">failed</th><th>failures by kind</th>\
         <th class=\"num\">req/s</th><th class=\"num\">p50 ms</th><th class=\"num\">p90 ms</th>\
         <th class=\"num\">p95 ms</th><th class=\"num\">p99 ms</th><th class=\"num\">p99.9 ms</th>\
         <th class=\"num\">max ms</th></tr></thead>\n<tbody>\n",
    );
    for step in report.steps.iter().filter(|s| !is_pause(report, s)) {
        step_row(out, step, false);
    }
    step_row(out, &report.total, true);
    out.push_str("</tbody>\n</table></div>\n");
}

/// The contract section: responses checked and each distinct violation with an example.
pub(super) fn contract(out: &mut String, report: &Report) {
    let Some(c) = &report.contract else { return };
    let total: u64 = c.violations.iter().map(|v| v.count).fold(0, u64::saturating_add);
    let _ = writeln!(
        out,
        "<h2>Contract</h2>\n<p><code>{}</code>: {} responses checked{}, {total} violations.</p>",
        escape(&c.spec),
        c.checked,
        if c.sample < 1.0 {
            format!(" ({:.0}% sampled)", c.sample * 100.0)
        } else {
            String::new()
        }
    );
    if c.violations.is_empty() {
        return;
    }
    out.push_str(
        "<div class=\"scroll\"><table>\n<thead><tr><th>step</th><th>operation</th><th>check</th><th>where</th>\
         <th>expected</th><th class=\"num\">count</th><th>example</th></tr></thead>\n<tbody>\n",
    );
    for v in &c.violations {
        let example = v.examples.first().map_or(String::new(), |e| {
            format!(
                "<code>{}</code> &rarr; <code>{}</code>",
                escape(&e.request),
                escape(&e.actual)
            )
        });
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td><td>{example}</td></tr>",
            escape(&v.step),
            escape(&v.operation),
            escape(&v.check),
            escape(&v.pointer),
            escape(&v.expected),
            v.count
        );
    }
    out.push_str("</tbody>\n</table></div>\n");
}
