//! Contract checks against OpenAPI documents: loading 3.0 and 3.1 specs into one operation
//! index (`openapi`), and checking responses against it (`validate`) — used under load
//! (passive conformance, `[target] openapi`) and, later, by the active suite.

pub mod generate;
pub mod openapi;
pub mod suite;
pub mod validate;
