//! The comparison as a plain-text table for the terminal, or a Markdown table for a pull
//! request; also how a metric's value and change are shown, shared with the HTML page.

use super::{Comparison, MIN_WINDOWS, MetricChange};

/// A metric's value for display: ms for latencies, /s for throughput, % for failure rates.
pub fn show(metric: &str, v: f64) -> String {
    match metric {
        "throughput" => format!("{v:.1}/s"),
        "error_rate" => format!("{:.2}%", v * 100.0),
        _ => format!("{:.2}ms", v / 1000.0),
    }
}

/// A metric's change for display: relative %, or percentage points for the failure rate.
pub fn show_change(m: &MetricChange) -> String {
    if m.metric == "error_rate" {
        format!("{:+.2}pp", m.change * 100.0)
    } else if m.change.is_infinite() {
        "new".into()
    } else {
        format!("{:+.1}%", m.change * 100.0)
    }
}

/// A plain-text table; `markdown` renders it as a Markdown table instead.
pub fn render(c: &Comparison, markdown: bool) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}compare: base {} -> new {}\n",
        if markdown { "## " } else { "" },
        c.base,
        c.new
    );
    if markdown {
        out.push_str("| step | metric | base | new | change | p | 95% interval | |\n|---|---|---:|---:|---:|---:|---|---|\n");
    } else {
        let _ = writeln!(
            out,
            "  {:<24} {:<11} {:>11} {:>11} {:>9} {:>7}  {:<17} verdict",
            "step", "metric", "base", "new", "change", "p", "95% interval"
        );
    }
    for s in &c.steps {
        for m in &s.metrics {
            let p = m.p_value.map_or("-".into(), |p| format!("{p:.3}"));
            let interval = m.interval.map_or("-".into(), |(lo, hi)| {
                format!("{:+.1}% .. {:+.1}%", lo * 100.0, hi * 100.0)
            });
            let verdict = if m.regression {
                "REGRESSION"
            } else if m.tolerance.is_some() {
                "ok"
            } else {
                ""
            };
            if markdown {
                let verdict = if m.regression { "**REGRESSION**" } else { verdict };
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {p} | {interval} | {verdict} |",
                    s.name,
                    m.metric,
                    show(&m.metric, m.base),
                    show(&m.metric, m.new),
                    show_change(m)
                );
            } else {
                let _ = writeln!(
                    out,
                    "  {:<24} {:<11} {:>11} {:>11} {:>9} {p:>7}  {interval:<17} {verdict}",
                    s.name,
                    m.metric,
                    show(&m.metric, m.base),
                    show(&m.metric, m.new),
                    show_change(m)
                );
            }
        }
        if s.too_few_windows {
            let _ = writeln!(
                out,
                "{}  ({}: fewer than {MIN_WINDOWS} windows on a side; latency and throughput not judged)",
                if markdown { "\n" } else { "" },
                s.name
            );
        }
    }
    let _ = writeln!(
        out,
        "\n{}",
        if c.regressions.is_empty() {
            "no regression".to_string()
        } else {
            format!("REGRESSIONS: {}", c.regressions.join(", "))
        }
    );
    out
}
