//! The reference stack's integration tests: one test binary, one stack per test on free ports.
//! Every HTTP response goes through the OpenAPI validator (`openapi.rs`) via `support::Api`.

mod catalog;
mod deploy;
mod events;
mod gateway;
mod grpc;
mod iam;
mod mtls;
mod openapi;
mod ops;
mod support;
mod tokens;
