//! `gauntlet report` (re-render a saved report) and `gauntlet merge` (combine shard reports).

use std::path::{Path, PathBuf};

use crate::exit;
use clap::{Args, ValueEnum};
use gauntlet_reports::{Report, Verdict, console, html, junit, markdown, merge};

/// Output formats of `gauntlet report`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// The console summary.
    Console,
    /// Markdown (a PR comment, `$GITHUB_STEP_SUMMARY`).
    Md,
    /// JUnit XML (CI test tabs).
    Junit,
    /// One self-contained HTML page with charts (no scripts, nothing fetched).
    Html,
    /// The JSON report itself.
    Json,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A report written by `gauntlet run --out`.
    report: PathBuf,
    /// What to print.
    #[arg(long, value_enum, default_value = "console")]
    format: Format,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shard reports (`gauntlet run --shard i/n --out ...`), at least two.
    #[arg(required = true, num_args = 2..)]
    reports: Vec<PathBuf>,
    /// Where to write the merged report.
    #[arg(short, long, value_name = "FILE")]
    out: PathBuf,
}

/// Reads a report; the error names the file.
pub fn read(path: &Path) -> Result<Report, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Report::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Renders a report in `format`.
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Console => console::render(report),
        Format::Md => markdown::render(report),
        Format::Junit => junit::render(report),
        Format::Html => html::render(report),
        Format::Json => serde_json::to_string_pretty(report).unwrap_or_default() + "\n",
    }
}

fn verdict_code(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::Passed => exit::PASSED,
        Verdict::Failed => exit::GATE_FAILED,
        Verdict::Interrupted => exit::INTERRUPTED,
    }
}

pub fn report(args: ReportArgs) -> u8 {
    match read(&args.report) {
        Ok(report) => {
            out!("{}", render(&report, args.format));
            exit::PASSED
        }
        Err(e) => {
            eprintln!("gauntlet: {e}");
            exit::INVALID_INPUT
        }
    }
}

pub fn merge(args: MergeArgs) -> u8 {
    let mut reports = Vec::new();
    for path in &args.reports {
        match read(path) {
            Ok(r) => reports.push(r),
            Err(e) => {
                eprintln!("gauntlet: {e}");
                return exit::INVALID_INPUT;
            }
        }
    }
    let mut merged = match merge::merge(&reports) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("gauntlet: cannot merge: {e}");
            return exit::INVALID_INPUT;
        }
    };
    if let Err(e) = gauntlet_harness::gate::reevaluate(&mut merged) {
        eprintln!("gauntlet: cannot evaluate the thresholds of the merged report: {e}");
        return exit::INVALID_INPUT;
    }
    let written = serde_json::to_vec_pretty(&merged)
        .map_err(std::io::Error::other)
        .and_then(|json| std::fs::write(&args.out, json));
    if let Err(e) = written {
        eprintln!("gauntlet: cannot write {}: {e}", args.out.display());
        return exit::RUN_FAILED;
    }
    out!("{}", console::render(&merged));
    outln!("merged {} reports into {}", reports.len(), args.out.display());
    verdict_code(merged.verdict)
}
