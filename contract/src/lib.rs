//! Contract checks against OpenAPI documents: loading 3.0 and 3.1 specs into one operation
//! index (`openapi`), and checking responses against it (`validate`) — used under load
//! (passive conformance, `[target] openapi`) and by the active suite (`suite`); and
//! breaking-change detection between two versions of a spec or proto tree (`diff`).

#![warn(missing_docs)]

pub mod diff;
pub mod generate;
pub mod grpc;
pub mod openapi;
pub mod suite;
pub mod text;
pub mod validate;
