//! `gauntlet compare BASE.json NEW.json`: is the new run worse than the base? Exit 1 on a
//! regression (larger than its tolerance and unlikely to be noise), 2 on unreadable reports or
//! runs of different plans (unless `--force`).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use gauntlet_reports::compare::{self, Tolerances};
use gauntlet_reports::{Verdict, html};

use crate::error::{Classify as _, CliError};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CompareFormat {
    /// A plain table.
    Text,
    /// A Markdown table.
    Md,
    /// The comparison as JSON.
    Json,
    /// A self-contained HTML page: the table and charts overlaying both runs.
    Html,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The baseline report (e.g. the last release's).
    base: PathBuf,
    /// The report to judge.
    new: PathBuf,
    /// How much worse a metric may get: `p50=10%`, `p99=10%`, `throughput=10%` (a decrease),
    /// `error_rate=1%` (an absolute increase). Repeatable; these are the defaults.
    #[arg(long = "tolerance", value_name = "METRIC=VALUE", value_parser = parse_tolerance)]
    tolerances: Vec<(String, f64)>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: CompareFormat,
    /// Compare runs of different scenarios or plans anyway (steps matched by name).
    #[arg(long)]
    force: bool,
}

fn parse_tolerance(text: &str) -> Result<(String, f64), String> {
    let (metric, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not METRIC=VALUE"))?;
    if !["p50", "p99", "throughput", "error_rate"].contains(&metric) {
        return Err(format!(
            "unknown metric {metric:?}: use p50, p99, throughput or error_rate"
        ));
    }
    let number = |s: &str| {
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
    };
    let value = match value.strip_suffix('%') {
        Some(pct) => number(pct).map(|v| v / 100.0),
        None => number(value),
    }
    .ok_or_else(|| format!("{value:?} is not a tolerance like 10% or 0.1"))?;
    Ok((metric.to_string(), value))
}

/// Compares; a regression is the gate failing.
pub fn compare(args: CompareArgs) -> Result<Verdict, CliError> {
    let base = super::report::read(&args.base)?;
    let new = super::report::read(&args.new)?;
    let mut tol = Tolerances::default();
    for (metric, value) in args.tolerances {
        match metric.as_str() {
            "p50" => tol.p50 = value,
            "p99" => tol.p99 = value,
            "throughput" => tol.throughput = value,
            _ => tol.error_rate = value,
        }
    }
    let comparison =
        compare::compare(&base, &new, &tol, args.force).invalid_input_with(|| "cannot compare")?;
    match args.format {
        CompareFormat::Text => out!("{}", compare::render(&comparison, false)),
        CompareFormat::Md => out!("{}", compare::render(&comparison, true)),
        CompareFormat::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&comparison).unwrap_or_default()
        ),
        CompareFormat::Html => out!("{}", html::compare::render(&base, &new, &comparison)),
    }
    Ok(if comparison.regressions.is_empty() {
        Verdict::Passed
    } else {
        Verdict::Failed
    })
}
