//! iam's SQLite store (WAL, `synchronous = FULL`: a write is acknowledged only once it is on
//! disk). One connection behind a mutex, used from blocking threads; iam's write rate is low.

use std::path::Path;

use rusqlite::{ErrorCode, OptionalExtension, params};

use stack_common::ApiError;
use stack_common::sqlite::SharedConnection;

/// A user row.
#[derive(Debug, Clone)]
pub struct UserRow {
    /// UUID.
    pub id: String,
    /// Unique name.
    pub username: String,
    /// argon2 PHC string.
    pub password_hash: String,
    /// Space-separated scopes.
    pub scopes: String,
    /// RFC 3339.
    pub created_at: String,
}

/// A registered client row.
#[derive(Debug, Clone)]
pub struct ClientRow {
    /// argon2 PHC string of the secret.
    pub secret_hash: String,
    /// Space-separated scopes.
    pub scopes: String,
}

/// Outcome of inserting a user.
#[derive(Debug, PartialEq, Eq)]
pub enum Inserted {
    /// Stored.
    Yes,
    /// The username is taken.
    UsernameTaken,
}

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Db {
    conn: SharedConnection,
}

impl Db {
    /// Opens (creating if needed) `iam.db` in `dir`.
    pub fn open(dir: &Path) -> rusqlite::Result<Db> {
        let conn = SharedConnection::open_with_schema(
            &dir.join("iam.db"),
            "CREATE TABLE IF NOT EXISTS users (
                id TEXT PRIMARY KEY,
                username TEXT NOT NULL UNIQUE,
                password_hash TEXT NOT NULL,
                scopes TEXT NOT NULL,
                created_at TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS clients (
                client_id TEXT PRIMARY KEY,
                secret_hash TEXT NOT NULL,
                scopes TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS revocations (
                jti TEXT PRIMARY KEY,
                exp INTEGER NOT NULL);",
        )?;
        Ok(Db { conn })
    }

    /// Whether the database answers.
    pub fn is_ready(&self) -> bool {
        self.conn.is_ready()
    }

    /// Inserts a user unless the name is taken.
    pub async fn insert_user(&self, user: UserRow) -> Result<Inserted, ApiError> {
        self.conn
            .call(move |c| {
                let result = c.execute(
                    "INSERT INTO users (id, username, password_hash, scopes, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        user.id,
                        user.username,
                        user.password_hash,
                        user.scopes,
                        user.created_at
                    ],
                );
                match result {
                    Ok(_) => Ok(Inserted::Yes),
                    Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == ErrorCode::ConstraintViolation => {
                        Ok(Inserted::UsernameTaken)
                    }
                    Err(e) => Err(e),
                }
            })
            .await
    }

    /// The user with this name.
    pub async fn user_by_name(&self, username: String) -> Result<Option<UserRow>, ApiError> {
        self.conn
            .call(move |c| {
                c.query_row(
                    "SELECT id, username, password_hash, scopes, created_at FROM users WHERE username = ?1",
                    [username],
                    |r| {
                        Ok(UserRow {
                            id: r.get(0)?,
                            username: r.get(1)?,
                            password_hash: r.get(2)?,
                            scopes: r.get(3)?,
                            created_at: r.get(4)?,
                        })
                    },
                )
                .optional()
            })
            .await
    }

    /// Creates or replaces a registered client.
    pub async fn upsert_client(&self, client_id: String, row: ClientRow) -> Result<(), ApiError> {
        self.conn
            .call(move |c| {
                c.execute(
                    "INSERT INTO clients (client_id, secret_hash, scopes) VALUES (?1, ?2, ?3)
                 ON CONFLICT(client_id) DO UPDATE SET secret_hash = ?2, scopes = ?3",
                    params![client_id, row.secret_hash, row.scopes],
                )
                .map(|_| ())
            })
            .await
    }

    /// The registered client with this id.
    pub async fn client(&self, client_id: String) -> Result<Option<ClientRow>, ApiError> {
        self.conn
            .call(move |c| {
                c.query_row(
                    "SELECT secret_hash, scopes FROM clients WHERE client_id = ?1",
                    [client_id],
                    |r| {
                        Ok(ClientRow {
                            secret_hash: r.get(0)?,
                            scopes: r.get(1)?,
                        })
                    },
                )
                .optional()
            })
            .await
    }

    /// Records a revocation (idempotent) and forgets revocations that have expired.
    pub async fn revoke(&self, jti: String, exp: i64, now: i64) -> Result<(), ApiError> {
        self.conn
            .call(move |c| {
                c.execute(
                    "INSERT OR IGNORE INTO revocations (jti, exp) VALUES (?1, ?2)",
                    params![jti, exp],
                )?;
                c.execute("DELETE FROM revocations WHERE exp <= ?1", [now])?;
                Ok(())
            })
            .await
    }

    /// Whether `jti` is revoked.
    pub async fn is_revoked(&self, jti: String) -> Result<bool, ApiError> {
        self.conn
            .call(move |c| {
                c.query_row("SELECT 1 FROM revocations WHERE jti = ?1", [jti], |_| Ok(()))
                    .optional()
                    .map(|r| r.is_some())
            })
            .await
    }

    /// Revoked tokens that have not expired yet: `(jti, exp)`.
    pub async fn live_revocations(&self, now: i64) -> Result<Vec<(String, i64)>, ApiError> {
        self.conn
            .call(move |c| {
                let mut stmt = c.prepare("SELECT jti, exp FROM revocations WHERE exp > ?1 ORDER BY exp")?;
                let rows = stmt.query_map([now], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect()
            })
            .await
    }
}
