//! The reference stack's integration tests: one test binary, one stack per test on free ports.
//! Every HTTP response goes through the OpenAPI validator (`stack_testkit::openapi`) via
//! `support::Api`.

mod catalog;
mod deploy;
mod events;
mod gateway;
mod grpc;
mod iam;
mod mtls;
mod ops;
mod support;
mod tokens;

// The stack's OpenAPI response validator, shared with the gateway's tests.
use stack_testkit::openapi;
