//! gauntlet's clients: what sends a fully resolved request and says how it went. The load
//! engine (`gauntlet-harness`) and the contract checks (`gauntlet-contract`) both use them, so
//! a request is sent, timed and classified the same way in a load run and in a contract suite.
//!
//! - [`http`]: the HTTP/1.1 client (connections per target, request building, URL handling),
//!   framing on the sans-IO core in `gauntlet-http1`;
//! - [`grpc`]: gRPC over a tonic channel with dynamic (descriptor-driven) messages;
//! - [`reflect`]: descriptors from a running server through gRPC server reflection;
//! - [`url`]: base URLs split into authority and path, percent-encoding;
//! - [`FailureKind`]: why a request failed, as reports count it;
//! - [`random`]: the seeded random source that makes generated data replayable.
//!
//! Clients never read scenario files: they take requests already rendered from one.

#![warn(missing_docs)]

mod failure;
pub mod grpc;
pub mod http;
pub mod random;
pub mod reflect;
pub mod url;

pub use failure::FailureKind;
