//! Test support shared by the reference stack's integration tests (gateway, partner, local):
//! what each test binary used to keep its own copy of. Never published, never a normal
//! dependency of a service.
//!
//! - [`openapi`]: the response validator for the stack's OpenAPI contracts;
//! - [`net`]: loopback listeners on port 0, a port nobody listens on, a plain HTTP client;
//! - [`stop`]: one stop switch for the servers a test spawned;
//! - [`services`]: iam and catalog started on loopback under that switch;
//! - [`wait`]: polling until a condition holds;
//! - [`tokens`]: the clock, base64url, and JWTs signed with iam's real key for claims iam would
//!   never issue (the forger), or not signed properly at all.

#![warn(missing_docs)]

pub mod net;
pub mod openapi;
pub mod services;
pub mod stop;
pub mod tokens;
pub mod wait;
