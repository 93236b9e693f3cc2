//! Persistent state. SQLite in WAL mode, one file in the data directory, by default;
//! PostgreSQL when the configuration gives a `postgres://` URL.
//!
//! Queries go through sqlx's `Any` driver so one set of SQL serves both. They keep to the
//! common dialect: `$n` placeholders numbered in order of first use, `returning`, `on conflict`,
//! bigint money and times, sums cast to bigint (PostgreSQL sums bigints as numeric).

use std::path::{Path, PathBuf};

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::{Any, Connection, Executor};
use sqlx::{AnyConnection, AnyPool};

static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// A connection from the store's pool, for functions that work inside a caller's transaction.
pub type Conn = AnyConnection;
/// A write transaction (see [`Store::begin_write`]). It derefs to the connection, like
/// sqlx's own transaction; commit it, or drop it to roll back.
pub struct WriteTx {
    // Declared before the turn so that a dropped transaction starts its rollback before
    // the next writer is let in.
    tx: sqlx::Transaction<'static, Any>,
    _turn: tokio::sync::OwnedMutexGuard<()>,
}

impl WriteTx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

/// Any key works as long as nothing else in the database uses it: it names the relay's one
/// writer lock on PostgreSQL.
const POSTGRES_WRITE_LOCK: i64 = 0x616e_6368_6f72;

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
    /// The PostgreSQL server refused us or could not be reached (the URL's password is not shown).
    #[error("cannot connect to PostgreSQL at {target}: {source}")]
    Connect { target: String, source: sqlx::Error },
    /// A migration failed; the database is left at the last good version.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A file the store keeps beside the database (an uploaded image) could not be written or read.
    #[error("file {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Any other database failure.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

/// Which database the relay runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `postgres://` and `postgresql://` URLs select PostgreSQL.
    pub fn of_url(url: &str) -> Option<Self> {
        (url.starts_with("postgres://") || url.starts_with("postgresql://"))
            .then_some(Self::Postgres)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }

    fn migrator(self) -> &'static Migrator {
        match self {
            Self::Sqlite => &SQLITE_MIGRATOR,
            Self::Postgres => &POSTGRES_MIGRATOR,
        }
    }
}

/// Handle to the relay's database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Writers take turns here, in arrival order, before they touch a connection.
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Where the event listener connects (a dedicated session outside the pool).
    postgres_url: Option<PostgresUrl>,
}

/// A PostgreSQL URL, which may hold a password: never printed.
#[derive(Clone)]
struct PostgresUrl(std::sync::Arc<str>);

impl std::fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

/// How long anything on PostgreSQL may wait, so that a relay that froze (SIGSTOP, a stalled
/// VM) or vanished mid-transaction stalls the others' writes for seconds, not minutes.
///
/// A frozen relay's session sits idle in its transaction holding the write lock: the server
/// ends it after `idle_in_transaction`, which releases the lock. Writers elsewhere wait up to
/// `lock`, a little longer than that, so they get the lock once the frozen session is gone
/// instead of failing; only a longer stall answers them 503 + Retry-After. Keepalives find a
/// relay whose machine or network went away (no FIN) the same way.
pub struct PostgresLimits {
    pub idle_in_transaction: std::time::Duration,
    pub lock: std::time::Duration,
    pub statement: std::time::Duration,
    pub acquire: std::time::Duration,
    pub keepalive_idle_s: u32,
}

pub const POSTGRES_LIMITS: PostgresLimits = PostgresLimits {
    idle_in_transaction: std::time::Duration::from_secs(2),
    lock: std::time::Duration::from_secs(4),
    statement: std::time::Duration::from_secs(10),
    acquire: std::time::Duration::from_secs(10),
    keepalive_idle_s: 5,
};

impl PostgresLimits {
    fn session_settings(&self) -> String {
        format!(
            "set idle_in_transaction_session_timeout = {}; set lock_timeout = {}; \
             set statement_timeout = {}; set tcp_keepalives_idle = {}; \
             set tcp_keepalives_interval = 2; set tcp_keepalives_count = 3",
            self.idle_in_transaction.as_millis(),
            self.lock.as_millis(),
            self.statement.as_millis(),
            self.keepalive_idle_s,
        )
    }
}

/// Whether a database error means "busy, try again soon" rather than a fault: a lock or
/// statement timeout, or no pooled connection in time.
pub fn is_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut => true,
        // lock_not_available, query_canceled (statement_timeout), serialization_failure.
        sqlx::Error::Database(db) => {
            matches!(db.code().as_deref(), Some("55P03" | "57014" | "40001"))
        }
        _ => false,
    }
}

impl Store {
    /// Creates the data directory if needed, opens (or creates) the SQLite database and
    /// applies pending migrations.
    pub async fn open(data_dir: &Path, db_file: &Path) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::CreateDir {
            path: data_dir.to_owned(),
            source,
        })?;
        check_writable(data_dir)?;

        restrict_to_owner(db_file)?;
        let url = format!("sqlite://{}?mode=rwc", escape_path(db_file));
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    // WAL lets the viewer API read while orders are written. NORMAL sync in WAL
                    // mode keeps committed transactions across a process crash; only an OS crash
                    // or power loss can drop the last few, which FULL would cost an fsync per
                    // commit to prevent.
                    conn.execute(
                        "pragma journal_mode = wal; pragma synchronous = normal; \
                         pragma foreign_keys = on; pragma busy_timeout = 5000;",
                    )
                    .await?;
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(|source| StoreError::Open {
                path: db_file.to_owned(),
                source,
            })?;
        Self::migrated(pool, Backend::Sqlite).await
    }

    /// Connects to PostgreSQL and applies pending migrations.
    pub async fn connect_postgres(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(16)
            // A write waits for the database, not forever for a pooled connection.
            .acquire_timeout(POSTGRES_LIMITS.acquire)
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute(sqlx::AssertSqlSafe(POSTGRES_LIMITS.session_settings()))
                        .await?;
                    Ok(())
                })
            })
            .connect(url)
            .await
            .map_err(|source| StoreError::Connect {
                target: redact_url(url),
                source,
            })?;
        let mut store = Self::migrated(pool, Backend::Postgres).await?;
        store.postgres_url = Some(PostgresUrl(url.into()));
        Ok(store)
    }

    /// The store a configuration names: PostgreSQL for a `postgres://` URL, else SQLite in
    /// the data directory.
    pub async fn open_config(config: &crate::Config) -> Result<Self, StoreError> {
        match config.database_url.as_deref() {
            Some(url) if Backend::of_url(url).is_some() => Self::connect_postgres(url).await,
            _ => Self::open(&config.data_dir, &config.database_path()).await,
        }
    }

    async fn migrated(pool: AnyPool, backend: Backend) -> Result<Self, StoreError> {
        backend.migrator().run(&pool).await?;
        Ok(Self {
            pool,
            backend,
            writer: Default::default(),
            postgres_url: None,
        })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The PostgreSQL URL this store connected to, for a session of its own (LISTEN).
    pub fn postgres_url(&self) -> Option<&str> {
        self.postgres_url.as_ref().map(|u| &*u.0)
    }

    /// A transaction for read-then-write work such as orders, serialized with every other
    /// writer. On SQLite it takes the write lock at once (BEGIN IMMEDIATE): a deferred
    /// transaction that read first cannot upgrade once another writer has committed
    /// (SQLITE_BUSY_SNAPSHOT, not retried), while an immediate one waits its turn. On
    /// PostgreSQL a transaction-scoped advisory lock gives the same one-writer order, which
    /// the checks that read before they write (per-buyer limits, coupon claims, winners) and
    /// the event log's resume-after-id rely on: ids must become visible in order.
    ///
    /// Writers of this process first queue on an async mutex, first come first served. Left to
    /// SQLite, each waiting writer held a pooled connection and polled the lock with its busy
    /// handler, sleeping up to 100 ms between tries: that sleep, not the work, was the tail of
    /// a flash sale's latency.
    pub async fn begin_write(&self) -> Result<WriteTx, StoreError> {
        let turn = self.writer.clone().lock_owned().await;
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("select pg_advisory_xact_lock($1)")
                    .bind(POSTGRES_WRITE_LOCK)
                    .execute(&mut *tx)
                    .await?;
                tx
            }
        };
        Ok(WriteTx { tx, _turn: turn })
    }

    /// Runs `work` on a connection for a small write that needs no shop-wide order (a rate
    /// limit, a comment row). On SQLite it takes its turn in the writer queue and commits: a
    /// write outside the queue polls SQLite's lock, sleeping up to 100 ms between tries, while
    /// queued writers hold it back to back. On PostgreSQL any pooled connection does, without
    /// the shop-wide write lock: such writes are single-row upserts.
    pub async fn small_write<T, E: From<StoreError>>(
        &self,
        work: impl AsyncFnOnce(&mut Conn) -> Result<T, E>,
    ) -> Result<T, E> {
        match self.backend {
            Backend::Sqlite => {
                let mut tx = self.begin_write().await?;
                let out = work(&mut tx).await?;
                tx.commit().await.map_err(StoreError::from)?;
                Ok(out)
            }
            Backend::Postgres => {
                let mut conn = self.pool.acquire().await.map_err(StoreError::from)?;
                work(&mut conn).await
            }
        }
    }

    /// A round trip to the database, for health checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.pool.acquire().await?.ping().await?;
        Ok(())
    }

    /// The newest migration this build carries; an up-to-date database reports it.
    pub fn latest_migration() -> i64 {
        SQLITE_MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
    }

    /// Highest migration version successfully applied.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let version: Option<i64> =
            sqlx::query_scalar("select max(version) from _sqlx_migrations where success")
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

    /// SQLite's journal mode (`wal`); PostgreSQL has none to report.
    pub async fn journal_mode(&self) -> Result<Option<String>, StoreError> {
        match self.backend {
            Backend::Sqlite => Ok(Some(
                sqlx::query_scalar("pragma journal_mode")
                    .fetch_one(&self.pool)
                    .await?,
            )),
            Backend::Postgres => Ok(None),
        }
    }

    /// Waits for in-flight queries and closes the pool (SQLite checkpoints its WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Creates an empty database with a unique name on the PostgreSQL server at `server_url`
/// (any database the user may connect to) and returns its URL: each test or benchmark run
/// gets its own.
pub async fn create_postgres_database(
    server_url: &str,
    prefix: &str,
) -> Result<String, StoreError> {
    sqlx::any::install_default_drivers();
    let name = format!("{prefix}_{}", crate::auth::random_hex(6));
    let mut admin =
        AnyConnection::connect(server_url)
            .await
            .map_err(|source| StoreError::Connect {
                target: redact_url(server_url),
                source,
            })?;
    // A database name cannot be a bind parameter; this one is ours, [a-z0-9_] only.
    debug_assert!(
        name.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    );
    admin
        .execute(sqlx::AssertSqlSafe(format!("create database {name}")))
        .await?;
    admin.close().await?;
    // `postgres://user@host:port/db` → same server, new database name.
    let base = match server_url.rsplit_once('/') {
        Some((base, _db)) if base.contains("://") => base,
        _ => server_url,
    };
    Ok(format!("{base}/{name}"))
}

/// A file path inside a `sqlite://` URL: the URL parser percent-decodes it, and would cut
/// it at `?` or `#`.
fn escape_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3F"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out
}

/// `postgres://user:secret@host/db` → `postgres://user@host/db`, for error messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}@{host}")
        }
        None => url.to_owned(),
    }
}

/// The database holds phone numbers, addresses and password hashes: only its owner may read
/// it. SQLite gives its WAL and shared-memory files the database file's mode, so creating the
/// file with 0600 covers them; an existing file made by an older build is tightened.
fn restrict_to_owner(db_file: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let file_error = |source| StoreError::File {
            path: db_file.to_owned(),
            source,
        };
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(db_file)
            .map_err(file_error)?;
        for suffix in ["", "-wal", "-shm"] {
            let mut path = db_file.as_os_str().to_owned();
            path.push(suffix);
            let path = PathBuf::from(path);
            if path.exists() {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    .map_err(file_error)?;
            }
        }
    }
    Ok(())
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
        assert_eq!(store.journal_mode().await.unwrap().as_deref(), Some("wal"));
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
        #[cfg(unix)]
        for file in ["relay.db", "relay.db-wal", "relay.db-shm"] {
            use std::os::unix::fs::PermissionsExt;
            let path = dir.path().join(file);
            if path.exists() {
                let mode = std::fs::metadata(&path).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "{file}");
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writers_take_turns_in_arrival_order_and_a_dropped_one_rolls_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &dir.path().join("relay.db"))
            .await
            .unwrap();
        sqlx::query("create table turns (n bigint)")
            .execute(store.pool())
            .await
            .unwrap();
        // More writers than pooled connections: each must still get its turn, none a busy error.
        let first = store.begin_write().await.unwrap();
        let mut writers = Vec::new();
        for n in 0..40i64 {
            let store = store.clone();
            writers.push(tokio::spawn(async move {
                let mut tx = store.begin_write().await.unwrap();
                sqlx::query("insert into turns (n) values ($1)")
                    .bind(n)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                if n == 7 {
                    return; // dropped without commit
                }
                tx.commit().await.unwrap();
            }));
            // Let each writer reach the queue before the next one arrives.
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        drop(first);
        for writer in writers {
            writer.await.unwrap();
        }
        let order: Vec<i64> = sqlx::query_scalar("select n from turns order by rowid")
            .fetch_all(store.pool())
            .await
            .unwrap();
        let expected: Vec<i64> = (0..40).filter(|n| *n != 7).collect();
        assert_eq!(order, expected);
    }

    #[tokio::test]
    async fn odd_characters_in_the_data_dir_path_survive_the_url() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("shop #1 ?50% off 店");
        let store = Store::open(&data, &data.join("relay.db")).await.unwrap();
        store.ping().await.unwrap();
        store.close().await;
        assert!(data.join("relay.db").exists());
    }

    #[test]
    fn both_backends_carry_the_same_migrations() {
        let versions = |m: &Migrator| {
            m.iter()
                .map(|m| (m.version, m.description.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(versions(&SQLITE_MIGRATOR), versions(&POSTGRES_MIGRATOR));
    }

    #[test]
    fn urls_name_the_backend_and_lose_their_password_in_messages() {
        assert_eq!(
            Backend::of_url("postgres://u:p@h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::of_url("postgresql://h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(Backend::of_url("/var/lib/x.db"), None);
        assert_eq!(
            redact_url("postgres://shop:s3cret@127.0.0.1:5432/shop"),
            "postgres://shop@127.0.0.1:5432/shop"
        );
        assert_eq!(redact_url("postgres://h/db"), "postgres://h/db");
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
