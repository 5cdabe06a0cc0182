//! gauntlet: a load-testing and contract-testing harness for microservices.
//!
//! The library holds what tests a user's own system (scenarios, engine, clients, contract
//! checks, the gate); it never imports the bundled reference stack. The CLI (`src/main.rs`,
//! `src/cli/`) is the edge: only its `stack up` command links the stack's crates.

#![warn(missing_docs)]

pub mod engine;
pub mod exit;
pub mod gate;
pub mod report;
pub mod scenario;
