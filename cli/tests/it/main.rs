//! Integration tests of the `gauntlet` command, run as a user runs it: as a child process.

mod await_event;
mod cli;
mod contract;
mod contract_diff;
mod contract_grpc;
mod engine;
mod k8s_shards;
mod misbehaving;
mod run;
mod scenarios;
mod stack_up;
mod support;
mod workflows;
