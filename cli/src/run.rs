//! `gauntlet run SCENARIO`: load and validate the scenario, run it, print the summary, write
//! the report, exit with the verdict (docs/exit-codes.md).

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use gauntlet_harness::scenario::plan::Shard;
use gauntlet_harness::scenario::{self, LoadError, Overrides};
use gauntlet_reports::Verdict;

use crate::error::{Classify as _, CliError};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file (TOML; see docs/scenarios.md).
    scenario: PathBuf,
    /// Replaces the scenario's `[target] base_url`.
    #[arg(long, value_name = "URL")]
    target: Option<String>,
    /// Sets a scenario variable (repeatable), replacing its `[vars]` value.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    vars: Vec<(String, String)>,
    /// Replaces the scenario's duration (e.g. 30s, 2m).
    #[arg(long, value_parser = crate::args::run_length)]
    duration: Option<Duration>,
    /// Replaces the scenario's number of virtual users.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    users: Option<u32>,
    /// Run only the i-th of n equal parts of the load (users i, i+n, i+2n, ...), 1-based:
    /// `--shard 2/4`. `gauntlet merge` will combine the shards' reports exactly.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    shard: Option<Shard>,
    /// The revision of the system under test (e.g. a git commit), recorded in the report.
    #[arg(long, env = "GAUNTLET_REVISION", value_name = "REV")]
    revision: Option<String>,
    /// Write the JSON report here.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print only the verdict line.
    #[arg(long)]
    quiet: bool,
}

fn parse_var(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("{text:?} is not NAME=VALUE"))
}

fn parse_shard(text: &str) -> Result<Shard, String> {
    let parsed = text
        .split_once('/')
        .and_then(|(i, n)| Some((i.trim().parse::<u32>().ok()?, n.trim().parse::<u32>().ok()?)));
    match parsed {
        Some((i, n)) if n >= 1 && (1..=n).contains(&i) => Ok(Shard {
            index: i - 1,
            count: n,
        }),
        _ => Err(format!("{text:?} is not I/N with 1 <= I <= N, e.g. 2/4")),
    }
}

pub async fn run(args: RunArgs) -> Result<Verdict, CliError> {
    let overrides = Overrides {
        base_url: args.target,
        vars: args.vars,
        duration: args.duration,
        users: args.users,
        shard: args.shard,
    };
    let env = |name: &str| std::env::var(name).ok();
    let plan = match scenario::load(&args.scenario, &env, &overrides) {
        Ok(plan) => plan,
        Err(LoadError::Invalid(errors)) => {
            let mut message: String = errors.iter().map(|e| format!("{e}\n")).collect();
            message.push_str(&format!(
                "{} problem(s) in {}; nothing was sent",
                errors.len(),
                args.scenario.display()
            ));
            return Err(CliError::InvalidInput(message));
        }
        Err(err) => return Err(err).invalid_input(),
    };
    // The report's file is opened before anything is sent: a path that cannot be written is a
    // mistake in the arguments, not something to find out after the whole run. It is not
    // truncated until the new report is ready, so a run that fails leaves an earlier report
    // where it was.
    let out_file = match &args.out {
        Some(path) => Some(ReportFile::open(path)?),
        None => None,
    };
    if !args.quiet {
        eprintln!(
            "gauntlet: running {} against {} with {} users...",
            plan.name,
            plan.base_url,
            gauntlet_harness::engine::schedule::peak_users(&plan.load)
        );
    }
    let mut progress = ProgressLine::new(args.quiet);
    let run = gauntlet_harness::engine::run_with_progress(&plan, stack_common::shutdown::signal(), |p| {
        progress.show(p)
    });
    let result = run.await;
    progress.finish();
    let result = match result {
        Ok(result) => result,
        Err(err) => {
            // Nothing was measured: leave no empty file of this run's behind.
            if let Some(file) = out_file {
                file.abandon();
            }
            return Err(err).run_failed();
        }
    };
    let mut report = gauntlet_harness::report::build(&plan, &result);
    // The report holds its own copy of every per-second window: free the run's before writing,
    // and stream the JSON to the file rather than building it in memory, so that the peak
    // memory of a long run is not several copies of its windows.
    drop(result);
    report.environment.revision = args.revision;
    // The summary and the verdict first: they are printed even if writing the report fails.
    let mut stdout = std::io::stdout().lock();
    if args.quiet {
        let _ = writeln!(stdout, "verdict: {}", report.verdict);
    } else {
        let _ = stdout.write_all(gauntlet_reports::console::render(&report).as_bytes());
    }
    if let (Some(path), Some(file)) = (&args.out, out_file) {
        // Emptied only now, and only when it is a regular file (not /dev/stdout, /dev/null).
        file.file
            .metadata()
            .and_then(|m| if m.is_file() { file.file.set_len(0) } else { Ok(()) })
            .and_then(|()| {
                let mut out = std::io::BufWriter::new(&file.file);
                serde_json::to_writer_pretty(&mut out, &report).map_err(std::io::Error::other)?;
                out.flush()
            })
            .run_failed_with(|| format!("cannot write the report to {}", path.display()))?;
        if !args.quiet {
            let _ = writeln!(stdout, "report: {}", path.display());
        }
    }
    Ok(report.verdict)
}

/// The `--out` file, open for writing from before the run; whether this run created it.
struct ReportFile {
    file: std::fs::File,
    path: PathBuf,
    created: bool,
}

impl ReportFile {
    /// Opens (creating if need be, not truncating) `path` for the report; exit 2 if it cannot.
    fn open(path: &std::path::Path) -> Result<ReportFile, CliError> {
        let created = !path.exists();
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .invalid_input_with(|| format!("--out {}: cannot write the report", path.display()))?;
        Ok(ReportFile {
            file,
            path: path.to_path_buf(),
            created,
        })
    }

    /// The run measured nothing: removes the file if this run created it (an earlier report,
    /// or a device such as /dev/null, stays).
    fn abandon(self) {
        if self.created && self.file.metadata().is_ok_and(|m| m.is_file()) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The live progress line: rewritten in place on a terminal, a plain line every 5 s otherwise
/// (CI logs), nothing with `--quiet`.
struct ProgressLine {
    enabled: bool,
    tty: bool,
    shown: bool,
}

impl ProgressLine {
    fn new(quiet: bool) -> Self {
        use std::io::IsTerminal;
        ProgressLine {
            enabled: !quiet,
            tty: std::io::stderr().is_terminal(),
            shown: false,
        }
    }

    fn show(&mut self, p: &gauntlet_harness::engine::Progress) {
        let secs = p.elapsed.as_secs();
        if !self.enabled || (!self.tty && !secs.is_multiple_of(5)) {
            return;
        }
        let total = p.planned.map_or(String::new(), |d| format!("/{}s", d.as_secs()));
        let late = if p.late_starts > 0 {
            format!(", {} late starts", p.late_starts)
        } else {
            String::new()
        };
        let line = format!(
            "{secs}s{total}  {} req/s  p50 {:.2} ms  p99 {:.2} ms  {} failed{late}",
            p.requests,
            p.p50_us as f64 / 1000.0,
            p.p99_us as f64 / 1000.0,
            p.failed
        );
        if self.tty {
            eprint!("\r\x1b[2K{line}");
            self.shown = true;
        } else {
            eprintln!("{line}");
        }
    }

    fn finish(&mut self) {
        if self.shown {
            eprintln!();
        }
    }
}
