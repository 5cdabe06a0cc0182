//! SQLite as the stack's services use it (iam, catalog, partner): every connection opened the
//! same way, and shared behind a mutex that requests reach through a blocking thread, so a
//! query never stalls the async runtime.
//!
//! The pragmas: WAL, so reads run beside the one writer; `synchronous = FULL`, so a write is
//! acknowledged only once it is on disk (partner's idempotency row must be durable before the
//! ack it licenses); a 5 s busy timeout, so processes sharing a file (catalog's instances)
//! queue for the write lock instead of failing with `SQLITE_BUSY`.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::Duration;

use rusqlite::Connection;

use crate::ApiError;

/// How long a connection waits for another one's write lock before `SQLITE_BUSY`.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens (creating if needed) the database at `path` with the stack's pragmas: WAL,
/// `synchronous = FULL`, [`BUSY_TIMEOUT`].
pub fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

/// One connection behind a mutex; cheap to clone. Requests go on using it after a holder
/// panicked (the mutex is poisoned); [`SharedConnection::is_ready`] then reports it not ready.
#[derive(Clone)]
pub struct SharedConnection {
    conn: Arc<Mutex<Connection>>,
}

impl SharedConnection {
    /// Shares `conn`.
    pub fn new(conn: Connection) -> Self {
        SharedConnection {
            conn: Arc::new(Mutex::new(conn)),
        }
    }

    /// Opens the database at `path` as [`open`] does, creates the service's tables with
    /// `schema` (statements that must be idempotent: `CREATE TABLE IF NOT EXISTS`), and shares
    /// the connection: a one-connection service's whole start-up.
    pub fn open_with_schema(path: &Path, schema: &str) -> rusqlite::Result<Self> {
        let conn = open(path)?;
        conn.execute_batch(schema)?;
        Ok(SharedConnection::new(conn))
    }

    /// The connection, on this thread: for a quick read outside a request (metrics).
    pub fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` with the connection on a blocking thread; a task that did not finish (a panic)
    /// is an internal error.
    pub async fn with<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> R + Send + 'static,
    ) -> Result<R, ApiError> {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || f(&mut conn.lock().unwrap_or_else(|p| p.into_inner())))
            .await
            .map_err(ApiError::internal)
    }

    /// [`SharedConnection::with`] for a closure that fails with SQLite's error, which becomes
    /// an internal error.
    pub async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<R> + Send + 'static,
    ) -> Result<R, ApiError> {
        self.with(f).await?.map_err(ApiError::internal)
    }

    /// Whether the database answers. A connection busy serving a request is alive; a poisoned
    /// one is not.
    pub fn is_ready(&self) -> bool {
        match self.conn.try_lock() {
            Ok(conn) => conn.query_row("SELECT 1", [], |_| Ok(())).is_ok(),
            Err(TryLockError::WouldBlock) => true,
            Err(TryLockError::Poisoned(_)) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn opens_with_the_stacks_pragmas_and_runs_calls_off_the_runtime() {
        let dir = tempfile::tempdir().unwrap();
        let conn = SharedConnection::new(open(&dir.path().join("t.db")).unwrap());
        let (mode, sync, busy) = conn
            .call(|c| {
                let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
                let sync: i64 = c.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
                let busy: i64 = c.query_row("PRAGMA busy_timeout", [], |r| r.get(0))?;
                Ok((mode, sync, busy))
            })
            .await
            .unwrap();
        assert_eq!((mode.as_str(), sync, busy), ("wal", 2, 5000));
        assert!(conn.is_ready());
        let err = conn
            .call(|c| c.execute("SELECT * FROM no_such_table", []))
            .await
            .unwrap_err();
        assert_eq!(err.code, "internal");
    }
}
