//! The gateway's integration tests: one test binary. Real iam and catalog run behind the gateway
//! on free 127.0.0.1 ports; small axum upstreams stand in only where a test needs an instance
//! that sleeps, fails or echoes what it received. Every REST response of the full flow is checked
//! against contracts/openapi/gateway.yaml with the stack's one OpenAPI validator.

mod auth;
mod flow;
mod framing;
mod hygiene;
mod limits;
mod pool;
mod resilience;
mod server;
mod shutdown;
mod support;
mod tls;

// The stack's OpenAPI response validator, shared with reference-stack/local's tests.
use stack_testkit::openapi;
