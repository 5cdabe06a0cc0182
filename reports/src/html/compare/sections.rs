//! The comparison page's text: the heading with the outcome and any regressions, both runs
//! side by side, the tolerances, and the comparison table.

use std::fmt::Write;

use crate::Report;
use crate::compare::{ALPHA, Comparison, MIN_WINDOWS, StepComparison, Tolerances, show, show_change};
use crate::html::axis::tick_label;
use crate::html::page::{escape, kv};

/// The scenario, or both when the runs differ (`--force`).
pub(super) fn scenarios(base: &Report, new: &Report) -> String {
    if base.scenario == new.scenario {
        base.scenario.clone()
    } else {
        format!("{} vs {}", base.scenario, new.scenario)
    }
}

pub(super) fn header(out: &mut String, base: &Report, new: &Report, c: &Comparison) {
    let regressed = !c.regressions.is_empty();
    let _ = writeln!(
        out,
        "<h1>gauntlet compare: {} <span class=\"verdict {}\">{}</span></h1>",
        escape(&scenarios(base, new)),
        if regressed { "failed" } else { "passed" },
        if regressed { "REGRESSION" } else { "no regression" }
    );
    let _ = writeln!(
        out,
        "<p class=\"description\">base: {} &rarr; new: {}</p>",
        escape(&c.base),
        escape(&c.new)
    );
    if regressed {
        let list = c
            .regressions
            .iter()
            .map(|r| format!("<code>{}</code>", escape(r)))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            out,
            "<div class=\"banner\"><span class=\"fail\">{} regression{}:</span> {list} &mdash; \
             worse than {} tolerance and unlikely to be noise.</div>",
            c.regressions.len(),
            if c.regressions.len() == 1 { "" } else { "s" },
            if c.regressions.len() == 1 { "its" } else { "their" }
        );
    } else {
        out.push_str(
            "<div class=\"banner ok\"><span class=\"pass\">No regression:</span> no metric got \
             worse than its tolerance in a way the per-second windows cannot explain as \
             noise.</div>\n",
        );
    }
}

/// A row of the runs table: the same fact of both runs.
fn pair(out: &mut String, key: &str, base: &str, new: &str) {
    let _ = writeln!(out, "<tr><th>{key}</th><td>{base}</td><td>{new}</td></tr>");
}

fn load(report: &Report) -> String {
    let load = &report.load;
    let mut text = format!("{}, {} users", escape(&load.model), load.users);
    if let Some(rate) = load.rate {
        let _ = write!(text, ", {rate}&nbsp;iterations/s");
    }
    if let Some(shard) = &load.shard {
        let _ = write!(text, ", shard {}", escape(shard));
    }
    text
}

pub(super) fn runs(out: &mut String, base: &Report, new: &Report) {
    out.push_str(
        "<h2>Runs</h2>\n<div class=\"scroll\"><table class=\"kv runs\">\n<thead><tr><th></th>\
         <th class=\"col\"><span class=\"swatch base\"></span>base</th>\
         <th class=\"col\"><span class=\"swatch new\"></span>new</th></tr></thead>\n<tbody>\n",
    );
    let both = |f: &dyn Fn(&Report) -> String| (f(base), f(new));
    let rows: [(&str, (String, String)); 7] = [
        ("scenario", both(&|r| escape(&r.scenario))),
        (
            "started",
            both(&|r| format!("<span class=\"nowrap\">{}</span>", escape(&r.started_at))),
        ),
        ("target", both(&|r| format!("<code>{}</code>", escape(&r.target)))),
        ("load model", both(&load)),
        ("duration", both(&|r| format!("{:.1}&nbsp;s", r.duration_secs))),
        (
            "requests",
            both(&|r| format!("{} ({} failed)", r.total.requests, r.total.failed)),
        ),
        ("gauntlet", both(&|r| escape(&r.environment.harness_version))),
    ];
    for (key, (b, n)) in &rows {
        pair(out, key, b, n);
    }
    if base.environment.revision.is_some() || new.environment.revision.is_some() {
        let revision = |r: &Report| {
            r.environment
                .revision
                .as_deref()
                .map_or("<span class=\"muted\">—</span>".to_string(), |v| {
                    format!("<code>{}</code>", escape(v))
                })
        };
        pair(out, "revision", &revision(base), &revision(new));
    }
    out.push_str("</tbody>\n</table></div>\n");
}

fn percent(v: f64) -> String {
    tick_label(&(v * 100.0))
}

pub(super) fn tolerances(out: &mut String, t: &Tolerances) {
    out.push_str("<h2>Tolerances</h2>\n<table class=\"kv\">\n");
    kv(out, "p50", &format!("more than {}% higher", percent(t.p50)));
    kv(out, "p99", &format!("more than {}% higher", percent(t.p99)));
    kv(
        out,
        "throughput",
        &format!("more than {}% lower", percent(t.throughput)),
    );
    kv(
        out,
        "error_rate",
        &format!(
            "more than {} percentage point{} higher",
            percent(t.error_rate),
            if (t.error_rate - 0.01).abs() < 1e-12 {
                ""
            } else {
                "s"
            }
        ),
    );
    out.push_str("</table>\n");
    let _ = writeln!(
        out,
        "<p class=\"muted\">A change is a regression when it is worse than its tolerance and, \
         with at least {MIN_WINDOWS} per-second windows on each side, unlikely to be noise \
         (one-sided test on the windows, p&nbsp;&lt;&nbsp;{}; for p99 also a 95% interval of \
         the change above zero). p90 and max are informational.</p>",
        ALPHA
    );
}

pub(super) fn table(out: &mut String, c: &Comparison) {
    out.push_str(
        "<h2>Comparison</h2>\n<div class=\"scroll\"><table class=\"comparison\">\n<thead><tr>\
         <th>step</th><th>metric</th><th class=\"num\">base</th><th class=\"num\">new</th>\
         <th class=\"num\">change</th><th class=\"num\">p</th><th class=\"num\">95% interval</th>\
         <th>verdict</th></tr></thead>\n",
    );
    for s in &c.steps {
        step_rows(out, s, std::ptr::eq(s, c.steps.last().unwrap_or(s)));
    }
    out.push_str("</table></div>\n");
}

fn step_rows(out: &mut String, s: &StepComparison, total: bool) {
    let _ = writeln!(out, "<tbody{}>", if total { " class=\"total\"" } else { "" });
    let rows = s.metrics.len() + usize::from(s.too_few_windows);
    for (i, m) in s.metrics.iter().enumerate() {
        let step_cell = if i == 0 {
            format!("<td class=\"step\" rowspan=\"{rows}\">{}</td>", escape(&s.name))
        } else {
            String::new()
        };
        let p = m.p_value.map_or("-".into(), |p| format!("{p:.3}"));
        let interval = m.interval.map_or("-".into(), |(lo, hi)| {
            format!("{:+.1}% .. {:+.1}%", lo * 100.0, hi * 100.0)
        });
        let verdict = if m.regression {
            "REGRESSION"
        } else if m.tolerance.is_some() {
            "ok"
        } else {
            "<span class=\"muted\">info</span>"
        };
        let _ = writeln!(
            out,
            "<tr{}>{step_cell}<td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{p}</td><td class=\"num\">{interval}</td>\
             <td>{verdict}</td></tr>",
            if m.regression { " class=\"regression\"" } else { "" },
            escape(&m.metric),
            show(&m.metric, m.base),
            show(&m.metric, m.new),
            show_change(m)
        );
    }
    if s.too_few_windows {
        let _ = writeln!(
            out,
            "<tr class=\"remark\"><td colspan=\"7\">{}: fewer than {MIN_WINDOWS} windows on a side \
             (base {}, new {}); latency and throughput not judged.</td></tr>",
            escape(&s.name),
            s.windows.0,
            s.windows.1
        );
    }
    out.push_str("</tbody>\n");
}
