//! iam's REST API: users, the token endpoint, introspection, revocation, the revocation list
//! and the JWKS; every documented status of each.

mod jwks;
mod revocation;
mod token;
mod users;
