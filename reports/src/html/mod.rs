//! The HTML report: one self-contained file to attach to a CI run or open from disk. Inline
//! CSS, inline SVG charts drawn with plotters, no script and nothing fetched from anywhere.
//! It shows the run summary and verdict, the thresholds, the per-step table, and three
//! charts: the latency percentile spectrum, latency over time and throughput over time.
//! `compare` renders the comparison of two runs as a page of the same kind.

use std::error::Error;
use std::fmt::Write;

use hdrhistogram::Histogram;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor;

use crate::{Report, StepReport, ThresholdOutcome, Verdict, histogram};

/// Pixel size of every chart (the page scales it down to fit narrower windows).
const CHART_SIZE: (u32, u32) = (1120, 480);
/// Steps drawn in the percentile spectrum besides the total.
const MAX_STEP_SERIES: usize = 5;
/// Samples per decade of the spectrum's x axis.
const SAMPLES_PER_DECADE: u32 = 24;

const FONT: &str = "sans-serif";
const TOTAL_COLOR: RGBColor = RGBColor(33, 37, 41);
const STEP_COLORS: [RGBColor; MAX_STEP_SERIES] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];
const P50_COLOR: RGBColor = RGBColor(31, 119, 180);
const P90_COLOR: RGBColor = RGBColor(255, 127, 14);
const P99_COLOR: RGBColor = RGBColor(214, 39, 40);
const REQUESTS_COLOR: RGBColor = RGBColor(31, 119, 180);
const FAILED_COLOR: RGBColor = RGBColor(214, 39, 40);

const STYLE: &str = r#"
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  margin: 0; background: #f6f7f9; color: #1f2328; line-height: 1.45; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; background: #fff;
  min-height: 100vh; box-sizing: border-box; }
h1 { font-size: 26px; margin: 0 0 6px; display: flex; align-items: center; gap: 14px; flex-wrap: wrap; }
h2 { font-size: 20px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #d0d7de; }
p.description { margin: 0 0 16px; color: #57606a; }
.verdict { display: inline-block; padding: 3px 12px; border-radius: 6px; font-size: 18px;
  font-weight: 700; letter-spacing: 0.04em; color: #fff; }
.verdict.passed { background: #1a7f37; }
.verdict.failed { background: #cf222e; }
.verdict.interrupted { background: #9a6700; }
.banner { margin: 12px 0; padding: 10px 14px; border-radius: 6px; border: 1px solid #ff8182;
  background: #ffebe9; }
table { border-collapse: collapse; font-size: 14px; }
th, td { padding: 5px 10px; border-bottom: 1px solid #d8dee4; text-align: left; vertical-align: top; }
thead th { background: #f0f2f4; border-bottom: 2px solid #d0d7de; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.total td { font-weight: 700; border-top: 2px solid #d0d7de; background: #f6f8fa; }
table.kv th { background: none; width: 130px; color: #57606a; font-weight: 600; border-bottom: 1px solid #eaeef2; }
table.kv td { border-bottom: 1px solid #eaeef2; }
.pass { color: #1a7f37; font-weight: 700; }
.fail { color: #cf222e; font-weight: 700; }
td.bad { color: #cf222e; font-weight: 600; }
span.kind { white-space: nowrap; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px;
  background: #f0f2f4; padding: 1px 4px; border-radius: 4px; }
.muted { color: #6e7781; }
figure { margin: 18px 0 28px; }
figure svg { display: block; width: 100%; height: auto; max-width: 1120px;
  border: 1px solid #d8dee4; border-radius: 6px; }
figcaption { font-size: 13px; color: #57606a; margin-top: 6px; }
.note { padding: 10px 14px; border: 1px dashed #d0d7de; border-radius: 6px; color: #57606a; }
.columns { display: grid; grid-template-columns: fit-content(430px) minmax(0, 1fr); column-gap: 32px;
  align-items: start; }
@media (max-width: 1000px) { .columns { grid-template-columns: minmax(0, 1fr); } }
.scroll { overflow-x: auto; }
code.nowrap { white-space: nowrap; }
td code { overflow-wrap: break-word; }
footer { margin-top: 36px; font-size: 12px; color: #6e7781; }
"#;

/// Escapes text for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

/// Decodes a histogram; `None` when it is absent, malformed or empty.
fn decoded(encoded: &str) -> Option<Histogram<u64>> {
    if encoded.is_empty() {
        return None;
    }
    histogram::decode(encoded).ok().filter(|h| !h.is_empty())
}

/// Renders the report as one self-contained HTML page.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let title = format!("gauntlet: {} — {}", report.scenario, report.verdict);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
        escape(&title)
    );
    summary(&mut out, report);
    // Run and thresholds side by side on a wide screen, one above the other on a narrow one.
    out.push_str("<div class=\"columns\">\n<section>\n");
    run(&mut out, report);
    out.push_str("</section>\n<section>\n");
    thresholds(&mut out, report);
    out.push_str("</section>\n</div>\n");
    steps(&mut out, report);
    contract(&mut out, report);
    out.push_str("<h2 id=\"charts\">Charts</h2>\n");
    spectrum_figure(&mut out, report);
    latency_over_time_figure(&mut out, report);
    throughput_figure(&mut out, report);
    users_figure(&mut out, report);
    let _ = write!(
        out,
        "<footer>Written by gauntlet {} from a report of schema version {}.</footer>\n\
         </main>\n</body>\n</html>\n",
        escape(&report.environment.harness_version),
        report.schema_version
    );
    out
}

/// The contract section: responses checked and each distinct violation with an example.
fn contract(out: &mut String, report: &Report) {
    let Some(c) = &report.contract else { return };
    let total: u64 = c.violations.iter().map(|v| v.count).sum();
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

fn verdict_class(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Passed => "passed",
        Verdict::Failed => "failed",
        Verdict::Interrupted => "interrupted",
    }
}

fn kv(out: &mut String, key: &str, value_html: &str) {
    let _ = writeln!(out, "<tr><th>{key}</th><td>{value_html}</td></tr>");
}

fn summary(out: &mut String, report: &Report) {
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
}

fn run(out: &mut String, report: &Report) {
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

/// Whether a threshold's observed value is a duration (microseconds).
fn is_duration(t: &ThresholdOutcome) -> bool {
    t.metric.contains("duration") && !t.condition.trim_start().starts_with("count")
}

fn observed(t: &ThresholdOutcome) -> String {
    let condition = t.condition.trim_start();
    match t.observed {
        None => "no data".to_string(),
        Some(v) if is_duration(t) => format!("{:.2} ms", v / 1000.0),
        Some(v) if condition.starts_with("count") => format!("{v:.0}"),
        Some(v) if condition.starts_with("rate") => format!("{v:.4} ({:.2}%)", v * 100.0),
        Some(v) => format!("{v:.4}"),
    }
}

fn thresholds(out: &mut String, report: &Report) {
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
    let cell = |f: fn(&crate::LatencySummary) -> u64| l.map_or("-".to_string(), |l| ms(f(l)));
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

fn steps(out: &mut String, report: &Report) {
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

/// A drawn chart: the SVG, and what the caption should add about this data (HTML).
struct Drawn {
    svg: String,
    note: String,
}

impl From<String> for Drawn {
    fn from(svg: String) -> Drawn {
        Drawn {
            svg,
            note: String::new(),
        }
    }
}

/// A chart's outcome: the chart, or why there is none.
type Chart = Result<Drawn, String>;

mod charts;
use charts::*;

pub mod compare;

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::WindowReport;

    pub(super) fn hist(values: &[(u64, u64)]) -> Histogram<u64> {
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        for &(v, n) in values {
            h.record_n(v, n).unwrap();
        }
        h
    }

    fn step(name: &str, scenario: Option<&str>, windows: Vec<(u64, Histogram<u64>, u64)>) -> StepReport {
        let mut all = hist(&[]);
        let mut requests = 0;
        let mut failed = 0;
        let mut reports = Vec::new();
        for (second, h, fails) in windows {
            all.add(&h).unwrap();
            requests += h.len();
            failed += fails;
            reports.push(WindowReport {
                second,
                requests: h.len(),
                failed: fails,
                histogram: if h.is_empty() {
                    String::new()
                } else {
                    histogram::encode(&h)
                },
                users: Some(3),
            });
        }
        let mut failures = BTreeMap::new();
        if failed > 0 {
            failures.insert("status_5xx".to_string(), failed);
        }
        StepReport {
            name: name.to_string(),
            scenario: scenario.map(str::to_string),
            requests,
            failed,
            failures,
            checks_passed: requests - failed,
            checks_failed: failed,
            bytes_received: requests * 100,
            rate_per_sec: requests as f64 / 3.0,
            latency_us: histogram::summarize(&all),
            histogram: if all.is_empty() {
                String::new()
            } else {
                histogram::encode(&all)
            },
            windows: reports,
        }
    }

    /// A report around the given steps; built from JSON so that optional fields added to the
    /// model later keep their defaults here.
    fn report(steps: Vec<StepReport>, total: StepReport) -> Report {
        serde_json::from_value(serde_json::json!({
            "schema_version": crate::SCHEMA_VERSION,
            "scenario": "browse <beta>",
            "description": "Readers & writers",
            "target": "http://127.0.0.1:8082",
            "started_at": "2026-01-02T03:04:05Z",
            "duration_secs": 3.02,
            "load": {
                "model": "paced", "users": 4, "rate": 50.0, "shard": "1/2", "duration_secs": 3.0
            },
            "plan": {
                "timeout_ms": 5000,
                "scenarios": [{
                    "name": "reader",
                    "weight": 1,
                    "steps": [
                        { "name": "login <admin>", "kind": "http", "target": "POST /v1/token", "once": true },
                        { "name": "list & filter", "kind": "http", "target": "GET /v1/movies" },
                        { "name": "pause", "kind": "sleep", "target": "10ms" }
                    ]
                }]
            },
            "iterations": 120,
            "late_starts": 2,
            "aborted_by": "http_req_failed rate < 0.5",
            "total": total,
            "steps": steps,
            "thresholds": [
                {
                    "metric": "http_req_duration{step:list & filter}",
                    "condition": "p(99) < 250ms",
                    "observed": 312_450.0,
                    "passed": false
                },
                { "metric": "http_req_failed", "condition": "rate < 0.5", "observed": 0.0125, "passed": true },
                { "metric": "iterations", "condition": "count >= 10", "passed": false }
            ],
            "verdict": "failed",
            "environment": { "harness_version": "0.1.0", "os": "linux x86_64", "cpus": 2, "revision": "abc123" }
        }))
        .unwrap()
    }

    fn full_report() -> Report {
        let login = step(
            "login <admin>",
            Some("reader"),
            vec![(0, hist(&[(4_000, 3), (9_000, 1)]), 0)],
        );
        let list = step(
            "list & filter",
            Some("reader"),
            vec![
                (0, hist(&[(1_200, 40), (2_500, 8), (30_000, 1)]), 0),
                (1, hist(&[(1_100, 45), (2_800, 5), (312_000, 1)]), 2),
                (2, hist(&[(1_300, 38), (3_100, 9)]), 1),
            ],
        );
        let pause = step("pause", Some("reader"), vec![]);
        let mut total_windows = Vec::new();
        for second in 0..3 {
            let mut h = hist(&[]);
            let mut fails = 0;
            for s in [&login, &list] {
                if let Some(w) = s.windows.iter().find(|w| w.second == second) {
                    h.add(histogram::decode(&w.histogram).unwrap()).unwrap();
                    fails += w.failed;
                }
            }
            total_windows.push((second, h, fails));
        }
        let total = step("all", None, total_windows);
        report(vec![login, list, pause], total)
    }

    /// src/href/@import/url( values that point at the network.
    pub(super) fn external_references(html: &str) -> Vec<String> {
        let lower = html.to_ascii_lowercase();
        let mut found = Vec::new();
        for marker in ["src=", "href=", "@import", "url("] {
            for (at, _) in lower.match_indices(marker) {
                let rest = lower[at + marker.len()..]
                    .trim_start()
                    .trim_start_matches(['"', '\'', '(']);
                let rest = rest.trim_start();
                if rest.starts_with("http:") || rest.starts_with("https:") || rest.starts_with("//") {
                    found.push(lower[at..(at + 60).min(lower.len())].to_string());
                }
            }
        }
        found
    }

    #[test]
    fn renders_summary_thresholds_steps_and_four_charts() {
        let report = full_report();
        let html = render(&report);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.trim_end().ends_with("</html>"));
        // Names are escaped, never raw.
        assert!(html.contains("login &lt;admin&gt;"));
        assert!(html.contains("list &amp; filter"));
        assert!(!html.contains("login <admin>"));
        assert!(!html.contains("browse <beta>"));
        assert!(html.contains("browse &lt;beta&gt;"));
        // The pause step has no row; the total does.
        assert!(!html.contains("<td>pause</td>"));
        assert!(html.contains("<tr class=\"total\"><td>all</td>"));
        // Verdict, colored, and the summary.
        assert!(html.contains("<span class=\"verdict failed\">FAILED</span>"));
        assert!(html.contains("paced, 4 users, 50&nbsp;iterations/s, shard 1/2, planned 3&nbsp;s"));
        assert!(html.contains("revision <code>abc123</code>"));
        assert!(html.contains("<code>http_req_failed rate &lt; 0.5</code> failed (abort_on_fail)"));
        // Threshold rows: observed durations in ms, pass and FAIL marks.
        assert!(html.contains(
            "<tr><td><code>http_req_duration{step:list &amp; filter}</code></td><td><code class=\"nowrap\">p(99) &lt; 250ms</code></td><td class=\"num\">312.45 ms</td><td class=\"fail\">FAIL</td></tr>"
        ));
        assert!(html.contains("<td class=\"num\">0.0125 (1.25%)</td><td class=\"pass\">pass</td>"));
        assert!(html.contains("<td class=\"num\">no data</td><td class=\"fail\">FAIL</td>"));
        // The step row: failures by kind and percentiles in ms.
        assert!(html.contains("<span class=\"kind\">status_5xx 3</span>"));
        let list = report.steps[1].latency_us.as_ref().unwrap();
        assert!(list.max > 312_000 && list.max < 312_500);
        let p999_and_max = format!(
            "<td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            ms(list.p999),
            ms(list.max)
        );
        assert!(html.contains(&p999_and_max), "list's p99.9 and max in ms");
        // Four charts, with their titles, axis titles with units and percentile ticks.
        assert_eq!(html.matches("<svg").count(), 4);
        assert_eq!(html.matches("</svg>").count(), 4);
        for text in [
            "Latency by percentile",
            "Latency over time",
            "Throughput and failures over time",
            "Active users over time",
            "virtual users",
            ">\nlatency (ms, log scale)\n<",
            "time since start (s)",
            "rate (requests per second)",
            "percentile (log scale)",
            ">\n99.9%\n<",
            ">\n90%\n<",
            ">\n0%\n<",
            "requests/s",
            "failed/s",
            "p99",
        ] {
            assert!(html.contains(text), "missing {text:?}");
        }
        // The legend names the steps, escaped by the SVG backend.
        assert!(html.contains(">\nlist &amp; filter\n<"));
        assert!(!html.contains("class=\"note\""));
    }

    #[test]
    fn contract_violations_are_listed_with_an_escaped_example() {
        let mut report = full_report();
        assert!(!render(&report).contains("<h2>Contract</h2>"));
        report.contract = Some(crate::ContractReport {
            spec: "catalog.yaml".into(),
            sample: 0.5,
            checked: 40,
            violations: vec![crate::ViolationReport {
                step: "get".into(),
                operation: "getMovie".into(),
                check: "response_schema_conformance".into(),
                pointer: "/year".into(),
                expected: "\"1979\" is not of type \"integer\"".into(),
                count: 7,
                examples: vec![crate::ViolationExample {
                    request: "GET http://h/v1/movies/1 <x>".into(),
                    actual: "\"1979\"".into(),
                }],
            }],
        });
        let html = render(&report);
        assert!(
            html.contains("<code>catalog.yaml</code>: 40 responses checked (50% sampled), 7 violations.")
        );
        assert!(
            html.contains("<td>getMovie</td><td>response_schema_conformance</td><td><code>/year</code></td>")
        );
        assert!(html.contains("GET http://h/v1/movies/1 &lt;x&gt;"));
        assert!(!html.contains("<x>"));
    }

    #[test]
    fn narrow_latencies_keep_a_linear_axis() {
        let windows = |base: u64| {
            (0..4)
                .map(|second| (second, hist(&[(base, 20), (base + 700, 5)]), 0))
                .collect::<Vec<_>>()
        };
        let r = report(
            vec![step("list", Some("reader"), windows(1_000))],
            step("all", None, windows(1_000)),
        );
        let html = render(&r);
        assert_eq!(html.matches("<svg").count(), 4);
        assert_eq!(html.matches(">\nlatency (ms)\n<").count(), 2);
        assert!(!html.contains("ms, log scale"));
        // The last window covered 0.02 s of the 3.02 s run: no rate for it, and a note.
        assert!(html.contains("covered only 0.02 s"));
    }

    #[test]
    fn fetches_nothing_from_the_network() {
        let html = render(&full_report());
        assert_eq!(external_references(&html), Vec::<String>::new());
        assert!(!html.contains("<script"));
        assert!(!html.contains("<link"));
        // The check itself catches what it must.
        for bad in [
            "<img src=\"https://example.com/a.png\">",
            "<a href='http://example.com'>",
            "@import \"https://fonts.example/x.css\";",
            "background: url( https://example.com/bg.png)",
        ] {
            assert_eq!(external_references(bad).len(), 1, "{bad}");
        }
    }

    #[test]
    fn empty_data_renders_notes_instead_of_charts() {
        let empty = step("list", Some("reader"), vec![]);
        let total = step("all", None, vec![]);
        let mut r = report(vec![empty], total);
        r.thresholds.clear();
        r.verdict = Verdict::Passed;
        r.aborted_by = None;
        let html = render(&r);
        assert_eq!(html.matches("<svg").count(), 0);
        assert_eq!(html.matches("class=\"note\"").count(), 4);
        assert!(html.contains("no latency data"));
        assert!(html.contains("no per-second windows"));
        assert!(html.contains("<span class=\"verdict passed\">PASSED</span>"));
        assert!(html.contains("No thresholds"));

        // Windows that saw only untimed requests, and a malformed histogram: throughput only.
        let mut total = step("all", None, vec![(0, hist(&[]), 0), (1, hist(&[]), 0)]);
        total.windows[0].requests = 5;
        total.windows[0].failed = 5;
        total.histogram = "not base64!".into();
        let r = report(vec![], total);
        let html = render(&r);
        assert_eq!(html.matches("<svg").count(), 2);
        assert!(html.contains("Throughput and failures over time"));
        assert!(html.contains("Active users over time"));
        assert!(html.contains("no request was timed in any window"));

        // Timed windows between untimed ones are points of their own, marked (a line of one
        // point would draw nothing).
        let total = step(
            "all",
            None,
            vec![
                (0, hist(&[(900, 10)]), 0),
                (1, hist(&[]), 0),
                (2, hist(&[(1_100, 10)]), 0),
            ],
        );
        let html = render(&report(vec![], total));
        assert_eq!(html.matches("<svg").count(), 4);
        assert_eq!(
            html.matches("<circle").count(),
            6,
            "p50, p90, p99 of seconds 0 and 2"
        );
    }

    #[test]
    fn ticks_are_round_and_cover_the_data() {
        let (ticks, decimals) = nice_ticks(13.0, 8, &ROUND_STEPS);
        assert_eq!(ticks, vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0]);
        assert_eq!(decimals, 0);
        let (ticks, decimals) = nice_ticks(0.9, 8, &ROUND_STEPS);
        assert!(*ticks.last().unwrap() >= 0.9 && ticks.len() <= 10);
        assert_eq!(ticks.len(), 6, "{ticks:?}");
        assert_eq!(decimals, 1);
        let (ticks, decimals) = nice_ticks(18.0, 8, &ROUND_STEPS);
        assert_eq!(ticks[1], 2.5);
        assert_eq!(decimals, 1, "2.5 needs its decimal");
        assert_eq!(time_ticks(5.0), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(time_ticks(600.0).len(), 11);
        assert_eq!(
            log_ticks(0.35, 70.0),
            vec![0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0]
        );
        assert_eq!(log_ticks(1.0, 20.0), vec![1.0, 2.0, 5.0, 10.0, 20.0]);
        let wide = log_ticks(0.01, 500_000.0);
        assert_eq!(wide.first(), Some(&0.01));
        assert!(wide.len() <= 10 && *wide.last().unwrap() >= 500_000.0, "{wide:?}");
        assert_eq!(tick_label(&0.2), "0.2");
        assert_eq!(tick_label(&0.05), "0.05");
        assert_eq!(tick_label(&20.0), "20");
        assert_eq!(legend_label("list"), "list");
        let long = legend_label("reader: list movies by genre and year");
        assert_eq!(long.chars().count(), LEGEND_LABEL_CHARS);
        assert!(long.ends_with('…'));
        assert_eq!(percentile_label(&1.0), "0%");
        assert_eq!(percentile_label(&10.0), "90%");
        assert_eq!(percentile_label(&1000.0), "99.9%");
        assert_eq!(percentile_label(&10_000.0), "99.99%");
    }
}
