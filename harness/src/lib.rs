//! gauntlet: a load-testing and contract-testing harness for microservices.
//!
//! The library holds what tests a user's own system (scenarios, engine, clients, contract
//! checks, the gate); it never imports the bundled reference stack. The CLI (`src/main.rs`,
//! `src/cli/`) is the edge: only its `stack up` command links the stack's crates.

#![warn(missing_docs)]

pub mod engine;
pub mod gate;
pub mod report;
pub mod scenario;

/// Runs a plan to its end and returns its report (thresholds evaluated): the whole engine in
/// one call, for programs that build their `RunPlan` in code (see `examples/library.rs`).
pub async fn run(plan: &scenario::plan::RunPlan) -> Result<gauntlet_reports::Report, engine::RunError> {
    let result = engine::run(plan, std::future::pending()).await?;
    Ok(report::build(plan, &result))
}
