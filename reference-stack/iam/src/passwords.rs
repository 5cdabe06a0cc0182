//! argon2id hashing of passwords and client secrets, on blocking threads (tens of ms of CPU).

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use stack_common::ApiError;

/// Hashes `secret` into a PHC string.
pub async fn hash(secret: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(secret.as_bytes())
            .map(|h| h.to_string())
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)
}

/// Whether `secret` matches `phc`. With `phc = None` (no such user) a hash is still computed,
/// so the answer takes as long whether or not the name exists.
pub async fn verify(secret: String, phc: Option<String>) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || {
        let argon = Argon2::default();
        match phc {
            Some(phc) => argon.verify_password(secret.as_bytes(), phc.as_str()).is_ok(),
            None => {
                let _ = argon.hash_password(secret.as_bytes());
                false
            }
        }
    })
    .await
    .map_err(ApiError::internal)
}
