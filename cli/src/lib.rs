//! The `gauntlet` command line: clap definitions and dispatch to subcommands. This is the only
//! crate that links the reference stack (for `stack up` and `demo`); the libraries it drives —
//! `gauntlet-harness` (load), `gauntlet-contract`, `gauntlet-reports` — never do.

/// `print!` to stdout that ignores a closed pipe (`gauntlet report ... | head` must not panic).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

/// `println!` to stdout that ignores a closed pipe.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod args;
mod compare;
mod contract;
mod demo;
pub mod error;
pub mod exit;
mod report;
mod run;
mod stack;

use clap::{Parser, Subcommand};

use crate::error::Classify as _;

/// gauntlet: load-testing and contract-testing harness for microservices.
#[derive(Debug, Parser)]
#[command(name = "gauntlet", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The main job on embedded defaults: start the reference stack, load-test it, write the
    /// reports, exit with the verdict.
    Demo(demo::DemoArgs),
    /// Run a load scenario and judge it by its thresholds.
    Run(run::RunArgs),
    /// Print a saved report as a console summary, Markdown, JUnit XML or JSON.
    Report(report::ReportArgs),
    /// Contract checks: an OpenAPI document against a service (`test`), a gRPC service against
    /// its protos (`grpc`), or two versions of a contract against each other (`diff`).
    Contract {
        #[command(subcommand)]
        command: contract::ContractCommand,
    },
    /// Compare a run with a baseline: per-step latency, throughput and failure-rate changes,
    /// with statistics; exit 1 on a regression.
    Compare(compare::CompareArgs),
    /// Merge the reports of the shards of one run (exactly: histograms add) and judge them.
    Merge(report::MergeArgs),
    /// The bundled reference microservice stack (iam, catalog) to test against.
    Stack {
        #[command(subcommand)]
        command: stack::StackCommand,
    },
}

/// Parses the arguments and runs the command; returns the process exit code.
pub fn run() -> u8 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                exit::INVALID_INPUT
            } else {
                exit::PASSED
            };
        }
    };
    // On one CPU (e.g. a generator pinned with taskset) the single-threaded scheduler does the
    // same work without cross-thread wake-ups: measurably less CPU per request.
    let one_cpu = std::thread::available_parallelism().is_ok_and(|n| n.get() == 1);
    let mut builder = if one_cpu {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let outcome = match builder.enable_all().build() {
        Ok(runtime) => runtime.block_on(async {
            match cli.command {
                Command::Demo(args) => demo::run(args).await,
                Command::Run(args) => run::run(args).await,
                Command::Report(args) => report::report(args),
                Command::Merge(args) => report::merge(args),
                Command::Compare(args) => compare::compare(args),
                Command::Contract { command } => contract::run(command).await,
                Command::Stack { command } => stack::run(command).await,
            }
        }),
        Err(err) => Err(err).run_failed_with(|| "cannot start the async runtime"),
    };
    // The one place a command's error is printed; its message already says where.
    if let Err(err) = &outcome {
        eprintln!("gauntlet: {err}");
    }
    exit::code(&outcome)
}
