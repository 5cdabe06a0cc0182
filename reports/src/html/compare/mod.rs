//! The HTML comparison page (`gauntlet compare BASE.json NEW.json --format html`): one
//! self-contained file, like the single-run report — inline CSS, inline SVG charts, no script
//! and nothing fetched. It shows both runs and the outcome, the tolerances, the comparison
//! table of `compare::render` as HTML, and three charts overlaying the two runs: the latency
//! percentile spectrum of all steps, p99 latency over time and throughput over time.
//!
//! `sections` writes the page's text and table, `charts` the charts of both runs.

mod charts;
mod sections;

use std::fmt::Write;

use charts::{p99_chart, spectrum_chart, throughput_chart};
use sections::{header, runs, scenarios, table, tolerances};

use super::chart::figure;
use super::page::{STYLE, escape};
use crate::Report;
use crate::compare::Comparison;

/// Styles this page adds to the single-run report's.
const COMPARE_STYLE: &str = r#"
.banner.ok { border-color: #4ac26b; background: #dafbe1; }
.banner code { background: #fff; }
.pair { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); column-gap: 32px;
  align-items: start; }
@media (max-width: 1000px) { .pair { grid-template-columns: minmax(0, 1fr); } }
table.runs { width: 100%; }
table.runs th { white-space: nowrap; }
.nowrap { white-space: nowrap; }
table.runs th.col { color: #1f2328; font-weight: 700; }
.swatch { display: inline-block; width: 26px; height: 0; vertical-align: middle; margin-right: 6px;
  border-top: 3px solid; }
.swatch.base { border-top-style: dashed; border-color: #1f77b4; }
.swatch.new { border-color: #e6550d; }
table.comparison tbody { border-top: 2px solid #d0d7de; }
table.comparison td.step { font-weight: 600; color: #1f2328; background: #fff;
  border-right: 1px solid #eaeef2; }
table.comparison tbody.total td.step { background: #f6f8fa; }
tr.regression td { background: #ffebe9; color: #cf222e; font-weight: 700; }
tr.remark td { color: #6e7781; font-size: 13px; font-style: italic; }
"#;

/// Renders the comparison of `new` with `base` as one self-contained HTML page.
pub fn render(base: &Report, new: &Report, comparison: &Comparison) -> String {
    let mut out = String::new();
    let outcome = if comparison.regressions.is_empty() {
        "no regression"
    } else {
        "REGRESSION"
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}{COMPARE_STYLE}</style>\n</head>\n<body>\n<main>\n",
        escape(&format!("gauntlet compare: {} — {outcome}", scenarios(base, new)))
    );
    header(&mut out, base, new, comparison);
    // Runs and tolerances side by side on a wide screen, one above the other on a narrow one.
    out.push_str("<div class=\"pair\">\n<section>\n");
    runs(&mut out, base, new);
    out.push_str("</section>\n<section>\n");
    tolerances(&mut out, &comparison.tolerances);
    out.push_str("</section>\n</div>\n");
    table(&mut out, comparison);
    out.push_str(
        "<h2 id=\"charts\">Charts</h2>\n<p class=\"muted\"><span class=\"swatch base\"></span>base \
         (dashed) &nbsp; <span class=\"swatch new\"></span>new (solid)</p>\n",
    );
    figure(
        &mut out,
        "latency-spectrum",
        spectrum_chart(base, new),
        "Latency at each percentile over the whole of each run, all request steps together: the \
         x axis is 1/(1&minus;q) on a log scale, so each tick is one more nine. Percentiles beyond \
         what the number of requests can resolve show the maximum.",
    );
    figure(
        &mut out,
        "p99-over-time",
        p99_chart(base, new),
        "p99 latency of all request steps in each one-second window, drawn at the window's \
         middle, against the seconds since each run's own start; the y axis turns logarithmic \
         when slow outliers would flatten the rest. Gaps are windows in which no request was \
         timed.",
    );
    figure(
        &mut out,
        "throughput-over-time",
        throughput_chart(base, new),
        "Requests completed per second, in one-second windows, all request steps together, \
         against the seconds since each run's own start.",
    );
    let _ = write!(
        out,
        "<footer>Written by gauntlet {} from reports of schema version {} and {}.</footer>\n\
         </main>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION"),
        base.schema_version,
        new.schema_version
    );
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::{external_references, hist};
    use super::*;
    use crate::compare::{Tolerances, compare};
    use crate::{StepReport, histogram};

    /// A step of one window a second; window `i` has 95 requests at 1 ms and 5 at
    /// `slow[i]` microseconds (so its p99 is about that), plus `failed` failures in all.
    fn step(name: &str, slow: &[u64], failed: u64) -> StepReport {
        let mut all = hist(&[]);
        let mut windows = Vec::new();
        for (second, v) in slow.iter().enumerate() {
            let h = hist(&[(1_000, 95), (*v, 5)]);
            all.add(&h).unwrap();
            windows.push(crate::WindowReport {
                second: second as u64,
                requests: h.len(),
                failed: 0,
                histogram: histogram::encode(&h),
                users: None,
            });
        }
        StepReport {
            name: name.to_string(),
            scenario: Some("reader".to_string()),
            requests: all.len(),
            failed,
            failures: Default::default(),
            checks_passed: 0,
            checks_failed: 0,
            bytes_received: 0,
            rate_per_sec: all.len() as f64 / slow.len().max(1) as f64,
            latency_us: histogram::summarize(&all),
            histogram: if all.is_empty() {
                String::new()
            } else {
                histogram::encode(&all)
            },
            windows,
        }
    }

    /// A run of the step `list <x>` (and the total, the same numbers) with these per-window
    /// slow latencies; built from JSON like the single-run report's tests.
    fn run(slow: &[u64], started_at: &str, revision: Option<&str>) -> Report {
        let list = step("list <x>", slow, 0);
        let mut total = list.clone();
        total.name = "all".to_string();
        total.scenario = None;
        serde_json::from_value(serde_json::json!({
            "schema_version": crate::SCHEMA_VERSION,
            "scenario": "browse <beta>",
            "target": "http://127.0.0.1:8082/?a=1&b=<2>",
            "started_at": started_at,
            "duration_secs": slow.len() as f64,
            "load": { "model": "closed", "users": 3 },
            "plan": { "timeout_ms": 5000, "scenarios": [] },
            "iterations": 10,
            "late_starts": 0,
            "total": total,
            "steps": [list],
            "thresholds": [],
            "verdict": "passed",
            "environment": {
                "harness_version": "0.1.0", "os": "linux", "cpus": 2, "revision": revision
            }
        }))
        .unwrap()
    }

    const BASE_P99: [u64; 8] = [20_000, 21_000, 19_000, 20_500, 20_000, 19_500, 21_000, 20_000];
    const SLOWER_P99: [u64; 8] = [30_000, 31_000, 29_000, 30_500, 30_000, 29_500, 31_000, 30_000];

    fn regressed() -> (Report, Report, String) {
        let base = run(&BASE_P99, "2026-01-01T00:00:00Z", Some("v1.0 <old>"));
        let new = run(&SLOWER_P99, "2026-01-02T00:00:00Z", None);
        let c = compare(&base, &new, &Tolerances::default(), false).unwrap();
        assert!(c.regressions.contains(&"list <x> p99".to_string()), "{c:?}");
        let html = render(&base, &new, &c);
        (base, new, html)
    }

    /// The `<tbody>` of a step in the comparison table.
    fn step_body<'a>(html: &'a str, step: &str) -> &'a str {
        let cell = format!("rowspan=\"6\">{step}</td>");
        let at = html.find(&cell).unwrap_or_else(|| panic!("no rows for {step}"));
        let start = html[..at].rfind("<tbody").unwrap();
        let end = at + html[at..].find("</tbody>").unwrap();
        &html[start..end]
    }

    #[test]
    fn names_the_regression_in_the_header_and_highlights_its_row() {
        let (_, _, html) = regressed();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.trim_end().ends_with("</html>"));
        let header = &html[..html.find("<h2>").unwrap()];
        assert!(header.contains("<span class=\"verdict failed\">REGRESSION</span>"));
        assert!(header.contains("<code>list &lt;x&gt; p99</code>"), "{header}");
        assert!(header.contains("<code>all p99</code>"), "{header}");
        assert!(!header.contains("no regression"));
        // Both runs, with their start times and the revision the base has.
        assert!(html.contains(
            "<td><span class=\"nowrap\">2026-01-01T00:00:00Z</span></td>\
             <td><span class=\"nowrap\">2026-01-02T00:00:00Z</span></td>"
        ));
        assert!(html.contains(
            "<tr><th>revision</th><td><code>v1.0 &lt;old&gt;</code></td><td><span class=\"muted\">—</span></td></tr>"
        ));
        // The tolerances used.
        assert!(html.contains("<tr><th>p99</th><td>more than 10% higher</td></tr>"));
        assert!(html.contains("<tr><th>throughput</th><td>more than 10% lower</td></tr>"));
        assert!(html.contains("<td>more than 1 percentage point higher</td>"));
        // The p99 row is highlighted, the p90 one (informational) is not.
        let list = step_body(&html, "list &lt;x&gt;");
        let p99 = list.lines().find(|l| l.contains("<td>p99</td>")).unwrap();
        assert!(p99.starts_with("<tr class=\"regression\">"), "{p99}");
        assert!(p99.ends_with("<td>REGRESSION</td></tr>"), "{p99}");
        let p90 = list.lines().find(|l| l.contains("<td>p90</td>")).unwrap();
        assert!(p90.starts_with("<tr><td>p90</td>"), "{p90}");
        let throughput = list.lines().find(|l| l.contains("<td>throughput</td>")).unwrap();
        assert!(throughput.ends_with("<td>ok</td></tr>"), "{throughput}");
        assert!(step_body(&html, "all").contains("<tr class=\"regression\"><td>p99</td>"));
        assert!(!html.contains("latency and throughput not judged"));
    }

    #[test]
    fn draws_three_charts_with_base_and_new_legends() {
        let (_, _, html) = regressed();
        assert_eq!(html.matches("<svg").count(), 3);
        assert_eq!(html.matches("</svg>").count(), 3);
        assert_eq!(html.matches(">\nbase\n<").count(), 3, "a legend per chart");
        assert_eq!(html.matches(">\nnew\n<").count(), 3, "a legend per chart");
        for text in [
            "Latency by percentile, all steps",
            "p99 latency over time, all steps",
            "Throughput over time, all steps",
            "percentile (log scale)",
            ">\n99%\n<",
            ">\n0%\n<",
            "time since each run&apos;s start (s)",
            "throughput (requests per second)",
            // 1 ms to 30 ms: log; the windows' p99s, 19 to 31 ms: linear.
            ">\nlatency (ms, log scale)\n<",
            ">\np99 latency (ms)\n<",
        ] {
            assert!(html.contains(text), "missing {text:?}");
        }
        // Two colours, the base dashed: a dashed line is many short paths.
        let base_paths = html.matches("stroke=\"#1F77B4\"").count();
        let new_paths = html.matches("stroke=\"#E6550D\"").count();
        assert!(new_paths >= 3, "{new_paths}");
        assert!(base_paths > 3 * new_paths, "{base_paths} vs {new_paths}");
        assert!(!html.contains("class=\"note\""));
    }

    #[test]
    fn wide_latencies_get_a_log_axis() {
        let base = run(&BASE_P99, "2026-01-01T00:00:00Z", None);
        let mut slow = SLOWER_P99;
        slow[3] = 2_000_000;
        let new = run(&slow, "2026-01-02T00:00:00Z", None);
        let c = compare(&base, &new, &Tolerances::default(), false).unwrap();
        let html = render(&base, &new, &c);
        assert!(html.contains(">\np99 latency (ms, log scale)\n<"));
        assert!(html.contains(">\nlatency (ms, log scale)\n<"));
    }

    #[test]
    fn escapes_all_text() {
        let (_, _, html) = regressed();
        for raw in ["<x>", "<beta>", "<old>", "<2>", "&b="] {
            assert!(!html.contains(raw), "unescaped {raw:?}");
        }
        assert!(html.contains("gauntlet compare: browse &lt;beta&gt; <span"));
        assert!(html.contains("http://127.0.0.1:8082/?a=1&amp;b=&lt;2&gt;"));
        assert!(html.contains("rowspan=\"6\">list &lt;x&gt;</td>"));
        assert!(html.contains("browse &lt;beta&gt; at 2026-01-01T00:00:00Z"));
    }

    #[test]
    fn fetches_nothing_from_the_network() {
        let (_, _, html) = regressed();
        assert_eq!(external_references(&html), Vec::<String>::new());
        assert!(!html.contains("<script"));
        assert!(!html.contains("<link"));
        assert!(!html.contains("<img"));
        // The page mentions its targets as text only; the check does see links.
        assert_eq!(external_references("<a href=\"https://example.com\">").len(), 1);
    }

    #[test]
    fn no_regression_is_green_and_short_runs_say_tolerances_alone() {
        let base = run(&BASE_P99, "2026-01-01T00:00:00Z", None);
        let same = run(&BASE_P99, "2026-01-02T00:00:00Z", None);
        let c = compare(&base, &same, &Tolerances::default(), false).unwrap();
        let html = render(&base, &same, &c);
        assert!(html.contains("<span class=\"verdict passed\">no regression</span>"));
        assert!(html.contains("<div class=\"banner ok\">"));
        assert!(!html.contains("class=\"regression\""));
        assert!(!html.contains(">REGRESSION<"));
        assert!(!html.contains("<th>revision</th>"), "no run has a revision");

        let base = run(&[20_000, 20_000], "2026-01-01T00:00:00Z", None);
        let new = run(&[30_000, 30_000], "2026-01-02T00:00:00Z", None);
        let c = compare(&base, &new, &Tolerances::default(), false).unwrap();
        let html = render(&base, &new, &c);
        assert!(html.contains(
            "<tr class=\"remark\"><td colspan=\"7\">list &lt;x&gt;: fewer than 5 windows on a side \
             (base 2, new 2); latency and throughput not judged.</td></tr>"
        ));
        assert!(html.contains("<tr class=\"remark\"><td colspan=\"7\">all: fewer than 5"));
        // The step cell spans the metrics and the remark.
        assert!(!html.contains("rowspan=\"6\">list &lt;x&gt;</td>"));
        assert!(html.contains("rowspan=\"7\">list &lt;x&gt;</td>"));
        assert_eq!(html.matches("<svg").count(), 3);
    }

    #[test]
    fn empty_data_renders_notes_instead_of_charts() {
        let empty = run(&[], "2026-01-01T00:00:00Z", None);
        let c = compare(&empty, &empty, &Tolerances::default(), false).unwrap();
        let html = render(&empty, &empty, &c);
        assert_eq!(html.matches("<svg").count(), 0);
        assert_eq!(html.matches("class=\"note\"").count(), 3);
        assert!(html.contains("no latency data in either run"));
        assert!(html.contains("neither report has per-second windows"));
        assert!(html.contains("no regression"));

        // One side without data: the other is drawn alone, and the caption says so.
        let base = run(&BASE_P99, "2026-01-01T00:00:00Z", None);
        let c = compare(&base, &empty, &Tolerances::default(), false).unwrap();
        let html = render(&base, &empty, &c);
        assert_eq!(html.matches("<svg").count(), 3);
        assert!(html.contains("The new run has no latency data; only the base run is drawn."));
        assert!(!html.contains(">\nnew\n<"), "no legend for a single line");

        // Windows with only untimed requests, and a malformed total histogram.
        let mut untimed = run(&[20_000, 20_000], "2026-01-01T00:00:00Z", None);
        untimed.total.histogram = "not base64!".into();
        for w in &mut untimed.total.windows {
            w.histogram.clear();
        }
        let c = compare(&untimed, &untimed, &Tolerances::default(), false).unwrap();
        let html = render(&untimed, &untimed, &c);
        assert_eq!(html.matches("<svg").count(), 1);
        assert!(html.contains("no request was timed in any window of either run"));
    }
}
