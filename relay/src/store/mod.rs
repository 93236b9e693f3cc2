//! Persistent state. SQLite in WAL mode, one file in the data directory.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data directory does not exist and cannot be created.
    #[error("cannot create data directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The data directory exists but we cannot write into it.
    #[error("data directory {path} is not writable: {source}")]
    NotWritable {
        path: PathBuf,
        source: std::io::Error,
    },
    /// SQLite refused to open or create the database file.
    #[error("cannot open database {path}: {source}")]
    Open { path: PathBuf, source: sqlx::Error },
    /// A migration failed; the database is left at the last good version.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Any other database failure.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

/// Handle to the relay's database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Creates the data directory if needed, opens (or creates) the database and applies
    /// pending migrations.
    pub async fn open(data_dir: &Path, db_file: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::CreateDir {
            path: data_dir.to_owned(),
            source,
        })?;
        check_writable(data_dir)?;

        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(|source| StoreError::Open {
                path: db_file.to_owned(),
                source,
            })?
            .filename(db_file)
            .create_if_missing(true)
            // WAL lets the viewer API read while orders are written. NORMAL sync in WAL mode
            // keeps committed transactions across a process crash; only an OS crash or power
            // loss can drop the last few, which FULL would cost an fsync per commit to prevent.
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open {
                path: db_file.to_owned(),
                source,
            })?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// A transaction that takes SQLite's write lock at once (BEGIN IMMEDIATE). Use it for
    /// read-then-write work such as orders: a deferred transaction that read first cannot
    /// upgrade once another writer has committed (SQLITE_BUSY_SNAPSHOT, not retried), while
    /// an immediate one simply waits its turn (busy timeout).
    pub async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// A round trip to the database, for health checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("select 1").execute(&self.pool).await?;
        Ok(())
    }

    /// The newest migration this build carries; an up-to-date database reports it.
    pub fn latest_migration() -> i64 {
        MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
    }

    /// Highest migration version successfully applied.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let version: Option<i64> =
            sqlx::query_scalar("select max(version) from _sqlx_migrations where success = 1")
                .fetch_one(&self.pool)
                .await?;
        Ok(version.unwrap_or(0))
    }

    pub async fn instance_id(&self) -> Result<String, StoreError> {
        Ok(
            sqlx::query_scalar("select instance_id from relay_meta where id = 1")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    pub async fn journal_mode(&self) -> Result<String, StoreError> {
        Ok(sqlx::query_scalar("pragma journal_mode")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Waits for in-flight queries and checkpoints the WAL into the main file.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// SQLite's own error for an unwritable directory is "unable to open database file";
/// probing first lets us name the directory and the OS reason.
fn check_writable(dir: &Path) -> Result<(), StoreError> {
    let probe = dir.join(".anchordesk-write-probe");
    std::fs::write(&probe, b"")
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|source| StoreError::NotWritable {
            path: dir.to_owned(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn open_applies_migrations_in_wal_mode_and_keeps_instance_id() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("relay.db");
        let store = Store::open(dir.path(), &db).await.unwrap();
        assert_eq!(
            store.schema_version().await.unwrap(),
            Store::latest_migration()
        );
        assert!(Store::latest_migration() >= 2);
        assert_eq!(store.journal_mode().await.unwrap(), "wal");
        let id = store.instance_id().await.unwrap();
        assert_eq!(id.len(), 32);
        store.close().await;

        let reopened = Store::open(dir.path(), &db).await.unwrap();
        assert_eq!(
            reopened.instance_id().await.unwrap(),
            id,
            "id must survive restarts"
        );
        assert!(db.exists());
    }

    #[tokio::test]
    async fn data_dir_under_a_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, b"x").unwrap();
        let data_dir = file.join("data");
        let err = Store::open(&data_dir, &data_dir.join("a.db"))
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("cannot create data directory"), "{msg}");
        assert!(msg.contains("not-a-dir/data"), "{msg}");
    }
}
