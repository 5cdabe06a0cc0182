//! The HTML report: one self-contained file to attach to a CI run or open from disk. Inline
//! CSS, inline SVG charts drawn with plotters, no script and nothing fetched from anywhere.
//! It shows the run summary and verdict, the thresholds, the per-step table, the contract
//! violations, and four charts: the latency percentile spectrum, latency over time,
//! throughput and failures over time, and active users over time.
//! `compare` renders the comparison of two runs as a page of the same kind.
//!
//! `page` holds what both pages share, `sections` the single-run page's text, `chart` the
//! drawing of any chart on its `axis`, and `spectrum`, `timeline` (over `windows`) the
//! single-run charts.

mod axis;
mod chart;
pub mod compare;
mod page;
mod sections;
mod spectrum;
mod timeline;
mod windows;

use std::fmt::Write;

use page::{STYLE, escape};
use sections::{contract, run, steps, summary, thresholds};
use spectrum::spectrum_figure;
use timeline::{latency_over_time_figure, throughput_figure, users_figure};

use crate::Report;

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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use hdrhistogram::Histogram;

    use super::sections::ms;
    use super::*;
    use crate::{StepReport, Verdict, WindowReport, histogram};

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
}
