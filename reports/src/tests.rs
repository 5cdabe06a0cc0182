use super::*;

/// Issue 20: `report` and `compare` took a histogram that is not base64 and drew "no
/// latency data" beside 32,700 requests. Reading the report now says where it is broken.
#[test]
fn a_histogram_that_does_not_decode_is_refused_where_it_is() {
    let good = serde_json::to_value(crate::testing::run(&[1_000, 2_000], 0)).unwrap();
    assert!(Report::from_json(&good.to_string()).is_ok());
    let mut bad = good.clone();
    bad["steps"][0]["windows"][1]["histogram"] = "not base64!".into();
    let err = Report::from_json(&bad.to_string()).unwrap_err().to_string();
    assert!(
        err.contains("step \"get\", window 1: histogram is not base64"),
        "{err}"
    );
    let mut bad = good;
    bad["total"]["histogram"] = "AAAA".into();
    let err = Report::from_json(&bad.to_string()).unwrap_err().to_string();
    assert!(err.contains("total: histogram does not decode"), "{err}");
}

/// The HTML report showed `event_latency` as a bare 151679.0000 (it looked for "duration"
/// in the metric name); the console looked at the condition. All three renderers now ask
/// `is_duration` and show milliseconds.
#[test]
fn every_renderer_shows_latency_thresholds_in_ms_and_counts_as_counts() {
    let mut report = crate::testing::run(&[1_000, 2_000], 0);
    let outcome = |metric: &str, condition: &str, observed: f64| ThresholdOutcome {
        metric: metric.into(),
        condition: condition.into(),
        observed: Some(observed),
        passed: true,
    };
    report.thresholds = vec![
        outcome(
            "event_latency{step:processed by partner}",
            "p(99) < 2s",
            151_679.0,
        ),
        outcome("grpc_req_duration", "avg < 1s", 2_500.0),
        outcome("http_req_duration{step:list}", "count > 10", 42.0),
        outcome("events_lost", "count == 0", 0.0),
    ];
    assert_eq!(
        report
            .thresholds
            .iter()
            .map(ThresholdOutcome::is_duration)
            .collect::<Vec<_>>(),
        [true, true, false, false]
    );
    let html = crate::html::render(&report);
    let console = crate::console::render(&report);
    let markdown = crate::markdown::render(&report);
    assert!(
        html.contains(">151.68 ms<") && html.contains(">2.50 ms<"),
        "{html}"
    );
    assert!(
        console.contains("(observed 151.68ms)") && console.contains("(observed 2.50ms)"),
        "{console}"
    );
    assert!(
        markdown.contains("| 151.68 ms |") && markdown.contains("| 2.50 ms |"),
        "{markdown}"
    );
    for text in [&html, &console, &markdown] {
        assert!(!text.contains("151679") && !text.contains("0.04 ms") && !text.contains("0.04ms"));
    }
}

#[test]
fn refuses_other_schema_versions_and_non_reports() {
    assert!(matches!(
        Report::from_json(r#"{"schema_version":2}"#).unwrap_err(),
        ReportError::UnknownSchemaVersion(2)
    ));
    assert!(matches!(
        Report::from_json("{}").unwrap_err(),
        ReportError::NotAReport
    ));
    assert!(matches!(
        Report::from_json(r#"{"schema_version":1}"#).unwrap_err(),
        ReportError::Malformed(_)
    ));
}

/// Issue 20, found by fuzzing `merge`: the console, Markdown and HTML renderers summed the
/// contract violations with `sum()`, which panicked (debug) or wrapped (release) when the
/// counts of a merged report's violations added past u64::MAX.
#[test]
fn violation_totals_past_u64_saturate_in_every_renderer() {
    let mut report = crate::testing::run(&[1_000], 0);
    let violation = |check: &str| ViolationReport {
        step: "get".into(),
        operation: "getMovie".into(),
        check: check.into(),
        pointer: String::new(),
        expected: "200".into(),
        count: u64::MAX,
        examples: Vec::new(),
    };
    report.contract = Some(ContractReport {
        spec: "catalog.yaml".into(),
        sample: 1.0,
        checked: 1,
        violations: vec![
            violation("status_code_conformance"),
            violation("content_type_conformance"),
        ],
    });
    let total = format!("{} violations", u64::MAX);
    for text in [
        console::render(&report),
        markdown::render(&report),
        html::render(&report),
    ] {
        assert!(text.contains(&total), "{text}");
    }
}
