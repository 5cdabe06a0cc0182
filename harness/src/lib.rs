//! gauntlet's load library: what runs a load test against a user's own system, usable without
//! the CLI and without the bundled reference stack (which it never imports; `ci/check-deps.sh`
//! holds that rule).
//!
//! Modules, in the order a run passes through them (no module imports a later one, except
//! `report`, which reads them all):
//! - [`threshold`]: the threshold expression language (`p(99) < 250ms`);
//! - [`scenario`]: the TOML file model and its validation into a `RunPlan`;
//! - [`stats`]: what a virtual user records (HDR histograms and counters per step);
//! - [`gate`]: thresholds judged on recorded numbers;
//! - [`engine`]: virtual users, load models, recording into per-second windows;
//! - [`report`]: a run's result as a `gauntlet_reports::Report`.
//!
//! Requests are sent by `gauntlet-client`; responses are checked against OpenAPI documents by
//! `gauntlet-contract`.

#![warn(missing_docs)]

pub mod engine;
pub mod gate;
pub mod report;
pub mod scenario;
pub mod stats;
pub mod threshold;

/// Runs a plan to its end and returns its report (thresholds evaluated): the whole engine in
/// one call, for programs that build their `RunPlan` in code (see `examples/library.rs`).
pub async fn run(plan: &scenario::plan::RunPlan) -> Result<gauntlet_reports::Report, engine::RunError> {
    let result = engine::run(plan, std::future::pending()).await?;
    Ok(report::build(plan, &result))
}
