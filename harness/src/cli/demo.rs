//! `gauntlet demo`: the main job on embedded defaults. Starts the reference stack in this
//! process on loopback (temporary data), runs the browse scenario against it, writes the
//! report as JSON, Markdown, JUnit XML and HTML into a folder, prints the summary, and exits
//! with the verdict.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use gauntlet::exit;
use gauntlet::scenario::{self, Overrides};
use gauntlet_reports::{Verdict, console, html, junit, markdown};

/// The scenario the demo runs (the same file as `scenarios/browse.toml`).
const SCENARIO: &str = include_str!("../../../scenarios/browse.toml");

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder for report.json, report.md, junit.xml and report.html (created if missing).
    #[arg(long, default_value = "gauntlet-demo", value_name = "DIR")]
    out: PathBuf,
    /// How long the load runs.
    #[arg(long, default_value = "30s", value_parser = |s: &str| scenario::duration::parse_duration(s))]
    duration: Duration,
    /// Configuration for the reference stack (see `gauntlet stack up --config`), e.g. to make
    /// a route slow and watch the verdict change.
    #[arg(long, value_name = "FILE")]
    stack_config: Option<PathBuf>,
    /// Virtual users.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    users: u32,
}

pub async fn run(args: DemoArgs) -> u8 {
    stack_common::telemetry::init(false, "warn");
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        eprintln!("gauntlet: cannot create {}: {e}", args.out.display());
        return exit::RUN_FAILED;
    }
    let mut options = stack_local::StackOptions {
        base_port: 0,
        ..Default::default()
    };
    if let Some(path) = &args.stack_config
        && let Err(e) = stack_local::apply_config_file(path, &mut options)
    {
        eprintln!("gauntlet: --stack-config {e}");
        return exit::INVALID_INPUT;
    }
    let stack = match stack_local::start(options).await {
        Ok(stack) => stack,
        Err(e) => {
            eprintln!("gauntlet: the reference stack could not start: {e:#}");
            return exit::RUN_FAILED;
        }
    };
    println!(
        "reference stack up: iam {}, catalog {} (REST + gRPC)",
        stack.iam.url, stack.catalog.url
    );
    println!("contract checks: not part of this version yet (they come with the contract-testing work)");
    let overrides = Overrides {
        base_url: Some(stack.catalog.url.clone()),
        vars: vec![("iam".into(), stack.iam.url.clone())],
        duration: Some(args.duration),
        users: Some(args.users),
        shard: None,
    };
    let plan = match scenario::from_str(SCENARIO, "scenarios/browse.toml", "browse", &|_| None, &overrides) {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("gauntlet: the embedded scenario is invalid (a bug): {e}");
            return exit::RUN_FAILED;
        }
    };
    println!(
        "load: {} users for {} s, browse scenario (readers and writers)...",
        args.users,
        args.duration.as_secs()
    );
    let result = gauntlet::engine::run(&plan, stack_common::shutdown::signal()).await;
    let _ = stack.shutdown().await;
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("gauntlet: {e}");
            return exit::RUN_FAILED;
        }
    };
    let report = gauntlet::report::build(&plan, &result);
    let files = [
        (
            "report.json",
            serde_json::to_string_pretty(&report).unwrap_or_default(),
        ),
        ("report.md", markdown::render(&report)),
        ("junit.xml", junit::render(&report)),
        ("report.html", html::render(&report)),
    ];
    for (name, content) in &files {
        let path = args.out.join(name);
        if let Err(e) = std::fs::write(&path, content) {
            eprintln!("gauntlet: cannot write {}: {e}", path.display());
            return exit::RUN_FAILED;
        }
    }
    print!("{}", console::render(&report));
    println!(
        "reports written to {}/ (report.json, report.md, junit.xml, report.html)",
        args.out.display()
    );
    match report.verdict {
        Verdict::Passed => exit::PASSED,
        Verdict::Failed => exit::GATE_FAILED,
        Verdict::Interrupted => exit::INTERRUPTED,
    }
}
