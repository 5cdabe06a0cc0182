//! The `gauntlet` command: parses arguments, runs the subcommand, maps the outcome to an exit
//! code (docs/exit-codes.md). Everything is in the library (`src/lib.rs`).

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(gauntlet_cli::run())
}
