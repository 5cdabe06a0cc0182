//! Plumbing shared by the reference stack's services: typed configuration, JSON logs, graceful
//! shutdown, the one JSON error shape (and its gRPC mapping), request extractors that report bad
//! input as that shape, health/readiness/metrics routes, SQLite opened and called one way
//! (feature `sqlite`), serving over plain TCP or (mutual) TLS, and bearer-token verification
//! against iam's JWKS. The services depend on this crate; it depends on none of them.

#![warn(missing_docs)]

pub mod auth;
pub mod config;
pub mod error;
pub mod event;
pub mod extract;
pub mod faults;
pub mod metrics;
pub mod ops;
pub mod service;
pub mod shutdown;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod telemetry;
pub mod tls;

pub use error::ApiError;
