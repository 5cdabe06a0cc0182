//! `gauntlet report` (re-render a saved report) and `gauntlet merge` (combine shard reports).

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use gauntlet_reports::{Report, Verdict, console, html, junit, markdown, merge};

use crate::error::{Classify as _, CliError, write_file};

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
pub fn read(path: &Path) -> Result<Report, CliError> {
    let text = std::fs::read_to_string(path).invalid_input_with(|| path.display())?;
    Report::from_json(&text).invalid_input_with(|| path.display())
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

/// Prints a saved report; its verdict is not this command's (it only renders).
pub fn report(args: ReportArgs) -> Result<Verdict, CliError> {
    let report = read(&args.report)?;
    out!("{}", render(&report, args.format));
    Ok(Verdict::Passed)
}

/// Merges shard reports, re-judges the thresholds on the merged numbers, writes the result.
pub fn merge(args: MergeArgs) -> Result<Verdict, CliError> {
    let reports = args
        .reports
        .iter()
        .map(|path| read(path))
        .collect::<Result<Vec<_>, _>>()?;
    let mut merged = merge::merge(&reports).invalid_input_with(|| "cannot merge")?;
    gauntlet_harness::gate::reevaluate(&mut merged)
        .invalid_input_with(|| "cannot evaluate the thresholds of the merged report")?;
    let json = serde_json::to_vec_pretty(&merged).run_failed()?;
    write_file(&args.out, json)?;
    out!("{}", console::render(&merged));
    outln!("merged {} reports into {}", reports.len(), args.out.display());
    Ok(merged.verdict)
}
