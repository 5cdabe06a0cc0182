//! The `gauntlet` command: parses arguments, runs the subcommand, maps the outcome to an exit
//! code (docs/exit-codes.md).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(cli::run())
}
