//! The database connection: SQLite (embedded, the default) or PostgreSQL.

use std::time::Duration;

use anyhow::Context as _;
use hamlet_migrations::{Migrator, MigratorTrait as _};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait as _, Database, DatabaseConnection, DbBackend};

use crate::config::Config;

/// Opens the pool described by `HAMLET_DATABASE_URL`.
pub async fn connect(config: &Config) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(config.database_url.expose().clone());
    options
        .max_connections(config.db_max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false)
        // A connection goes back into the pool only with no transaction
        // open on it, and is checked again before it is handed out.
        .map_sqlx_sqlite_pool_opts(|pool| {
            pool.after_release(|connection, _| Box::pin(settled(connection)))
        })
        .map_sqlx_sqlite_before_acquire(|connection, _| {
            Box::pin(async move { Ok(!in_doubt(connection)) })
        })
        .map_sqlx_postgres_pool_opts(|pool| {
            pool.after_release(|connection, _| Box::pin(settled(connection)))
        })
        .map_sqlx_postgres_before_acquire(|connection, _| {
            Box::pin(async move { Ok(!in_doubt(connection)) })
        })
        .map_sqlx_sqlite_opts(|options| {
            options
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // WAL alone already survives a killed process (committed frames sit in
                // the OS page cache). FULL also syncs the WAL on every commit, so an
                // acknowledged submission survives a power cut too; group commit keeps
                // the cost of that sync shared between concurrent writers.
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
        });
    Database::connect(options)
        .await
        .context("HAMLET_DATABASE_URL: could not open the database")
}

/// Whether a pooled connection still counts itself inside a transaction.
///
/// Every transaction hamlet opens ends in a COMMIT or a ROLLBACK before its
/// connection is released, so one that is still open means a statement or
/// its ROLLBACK failed. On SQLite that happens on a full disk: SQLite rolls
/// the transaction back by itself on `SQLITE_FULL`, the driver's ROLLBACK
/// then fails ("no transaction is active"), and the driver goes on counting
/// the connection as inside a transaction. Reused, its next `BEGIN` would
/// become a `SAVEPOINT` and its `COMMIT` a `RELEASE`: a receipt answered on
/// a commit that never happened. Such a connection is closed instead.
fn in_doubt<C: sea_orm::sqlx::Connection>(connection: &C) -> bool {
    connection.is_in_transaction()
}

/// The pool's check on a connection coming back: `Ok(false)` closes it.
async fn settled<C: sea_orm::sqlx::Connection>(
    connection: &mut C,
) -> Result<bool, sea_orm::sqlx::Error> {
    if !in_doubt(connection) {
        return Ok(true);
    }
    // A transaction dropped without COMMIT has queued its ROLLBACK; a round
    // trip lets that land before the verdict.
    connection.ping().await?;
    if in_doubt(connection) {
        tracing::warn!(
            "closed a database connection whose transaction did not end (a statement or its \
             ROLLBACK failed); the pool opens a fresh one"
        );
        return Ok(false);
    }
    Ok(true)
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await.context("applying migrations")
}

/// Whether the database answers a trivial query and, while storage is
/// failing (see [`outage`]), can take writes again.
pub async fn is_ready(db: &DatabaseConnection, storage: &Storage) -> Readiness {
    if db.execute_unprepared("SELECT 1").await.is_err() {
        return Readiness::Unreachable;
    }
    if !outage::is_failing() {
        return Readiness::Ready;
    }
    if probe_write(db).await.is_ok() && storage.has_room() {
        outage::recovered();
        return Readiness::Ready;
    }
    Readiness::CannotWrite
}

/// What `/readyz` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// The database does not answer.
    Unreachable,
    /// It answers, but refuses writes (a full disk, say).
    CannotWrite,
}

/// Where the database keeps its data, for telling whether storage that
/// failed is back.
///
/// One small write that succeeds does not show that a full disk has room
/// again: SQLite reuses space its write-ahead log and database file already
/// hold, so a probe (or a small batch) can commit while the next batch still
/// finds the disk full, and storage would flap between failing and back. On
/// SQLite, storage counts as back only when the database's folder also has
/// [`Storage::ROOM`] free. PostgreSQL's disk is its server's: there a
/// committed write is the evidence.
#[derive(Clone, Debug, Default)]
pub struct Storage {
    folder: Option<std::sync::Arc<std::path::PathBuf>>,
}

impl Storage {
    /// Free bytes that count as room again after a failure: enough for a
    /// good many full batches of submissions.
    pub const ROOM: u64 = 1 << 20;

    /// For the database at `url`: its folder when it is a SQLite file.
    pub fn for_url(url: &str) -> Self {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .map(|rest| rest.split('?').next().unwrap_or_default())
            .filter(|path| !path.is_empty() && !path.contains(":memory:"));
        let folder = path.map(|path| {
            let path = std::path::Path::new(path);
            match path.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
                _ => std::path::PathBuf::from("."),
            }
        });
        Self {
            folder: folder.map(std::sync::Arc::new),
        }
    }

    /// Whether there is room to store: always, unless the SQLite folder's
    /// disk has less than [`Self::ROOM`] free.
    pub fn has_room(&self) -> bool {
        let Some(folder) = &self.folder else {
            return true;
        };
        free_bytes(folder).is_none_or(|free| free >= Self::ROOM)
    }

    /// A write committed: if storage was failing and has room now, it is back.
    pub fn wrote(&self) {
        if outage::is_failing() && self.has_room() {
            outage::recovered();
        }
    }
}

#[cfg(unix)]
fn free_bytes(folder: &std::path::Path) -> Option<u64> {
    let stats = rustix::fs::statvfs(folder).ok()?;
    Some(stats.f_bavail.saturating_mul(stats.f_frsize))
}

#[cfg(not(unix))]
fn free_bytes(_folder: &std::path::Path) -> Option<u64> {
    None
}

/// One small write in a transaction of its own, as a submission would do.
async fn probe_write(db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    let txn = write(db).await?;
    txn.execute_raw(sea_orm::Statement::from_sql_and_values(
        db.get_database_backend(),
        match db.get_database_backend() {
            DbBackend::Postgres => {
                "INSERT INTO storage_probe (id, checked_at) VALUES (1, $1) \
                 ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at"
            }
            _ => {
                "INSERT INTO storage_probe (id, checked_at) VALUES (1, ?) \
                 ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at"
            }
        },
        [now().into()],
    ))
    .await?;
    txn.commit().await
}

/// Storage outages, as the log tells them: once when writes start failing
/// (with the database's own words for why), once when they work again, and
/// in between a count, not a line per refused request.
///
/// This is the process's state, not a database connection's: one hamlet
/// process serves one database, and its log is the process's log. (Tests
/// that run several hamlets in one process share it; it changes nothing
/// there but log lines and an extra probe write in `/readyz`.)
pub mod outage {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::time::Instant;

    static FAILING: AtomicBool = AtomicBool::new(false);
    static REFUSED: AtomicU64 = AtomicU64::new(0);
    static SINCE: Mutex<Option<Instant>> = Mutex::new(None);

    /// Whether requests are being refused for want of the database.
    pub fn is_failing() -> bool {
        FAILING.load(Ordering::Acquire)
    }

    /// A request was refused because the database could not store or
    /// answer (`error`).
    pub fn failed(error: &sea_orm::DbErr) {
        REFUSED.fetch_add(1, Ordering::AcqRel);
        if FAILING.swap(true, Ordering::AcqRel) {
            tracing::debug!(%error, "database unavailable");
            return;
        }
        if let Ok(mut since) = SINCE.lock() {
            *since = Some(Instant::now());
        }
        tracing::error!(
            %error,
            "storage is failing: requests that need the database are refused with \
             SERVICE_UNAVAILABLE and Retry-After until it recovers (a full disk, a lost \
             database server); /readyz says not ready"
        );
    }

    /// Storage takes writes again (see [`super::Storage::wrote`]).
    pub(super) fn recovered() {
        if !FAILING.swap(false, Ordering::AcqRel) {
            return;
        }
        let refused = REFUSED.swap(0, Ordering::AcqRel);
        let lasted = SINCE
            .lock()
            .ok()
            .and_then(|mut since| since.take())
            .map(|since| since.elapsed().as_secs_f64());
        tracing::info!(
            refused,
            lasted_seconds = lasted,
            "storage is back: writes commit again"
        );
    }
}

/// Connections in the pool: (open, idle).
pub fn pool_usage(db: &DatabaseConnection) -> (u32, usize) {
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => (0, 0),
    }
}

/// The current time as the database keeps it: whole microseconds, which is
/// PostgreSQL's precision. Anything we write and also answer with (a receipt's
/// `receivedAt`) uses this, so the answer equals what a later read returns.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound as _;
    chrono::Utc::now().trunc_subsecs(6)
}

/// Starts a transaction that will write. On SQLite it takes the write lock at
/// `BEGIN` (`BEGIN IMMEDIATE`), waiting out other writers under the busy
/// timeout, so that it never has to upgrade a read lock mid-way, which SQLite
/// refuses at once with "database is locked" when another writer got there
/// first. On PostgreSQL it is an ordinary transaction.
pub async fn write(
    db: &DatabaseConnection,
) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait as _};
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// What a database error means for the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The database cannot be reached or cannot store anything now (the
    /// connection failed, the server is shutting down, the disk is full,
    /// SQLite stayed locked past its busy timeout): retry later.
    Unavailable,
    /// A PostgreSQL deadlock or serialization failure: the transaction lost a
    /// race with a concurrent one and may simply run again.
    Conflict,
    /// Anything else is a fault of ours.
    Other,
}

/// Classifies a database error.
pub fn failure(error: &sea_orm::DbErr) -> Failure {
    use sea_orm::sqlx::Error as SqlxError;
    use sea_orm::{DbErr, RuntimeErr};
    match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => Failure::Unavailable,
        DbErr::Exec(RuntimeErr::SqlxError(error)) | DbErr::Query(RuntimeErr::SqlxError(error)) => {
            match &**error {
                SqlxError::Io(_)
                | SqlxError::Tls(_)
                | SqlxError::Protocol(_)
                | SqlxError::PoolTimedOut
                | SqlxError::PoolClosed
                | SqlxError::WorkerCrashed => Failure::Unavailable,
                SqlxError::Database(error) => {
                    let sqlite = error
                        .try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
                        .is_some();
                    error
                        .code()
                        .map_or(Failure::Other, |code| failure_of_code(sqlite, &code))
                }
                _ => Failure::Other,
            }
        }
        _ => Failure::Other,
    }
}

/// Classifies a database error code: SQLite's (extended) result code as a
/// number, or a PostgreSQL SQLSTATE.
pub fn failure_of_code(sqlite: bool, code: &str) -> Failure {
    if sqlite {
        // The primary result code is the low byte of an extended one.
        return match code.parse::<u32>().unwrap_or_default() & 0xFF {
            // BUSY, LOCKED: already waited out for the busy timeout.
            5 | 6 => Failure::Unavailable,
            // READONLY, IOERR, FULL, CANTOPEN.
            8 | 10 | 13 | 14 => Failure::Unavailable,
            _ => Failure::Other,
        };
    }
    match code {
        // serialization_failure, deadlock_detected
        "40001" | "40P01" => Failure::Conflict,
        // invalid_catalog_name: the database was dropped under us
        "3D000" => Failure::Unavailable,
        // connection exceptions; insufficient resources (disk full, out of
        // memory, too many connections); operator intervention (shutdown,
        // cannot connect now); the database not accepting connections
        _ if code.starts_with("08") || code.starts_with("53") || code.starts_with("57P") => {
            Failure::Unavailable
        }
        "55000" | "55006" => Failure::Unavailable,
        _ => Failure::Other,
    }
}

/// Runs `work` in a write transaction from [`write`] and commits it, with
/// [`retrying`]'s policy: when PostgreSQL aborts it for a deadlock or a
/// serialization failure, it runs again from the start (so `work` must do
/// nothing but database work). Every transactional operation goes through
/// here; resolvers never open a transaction themselves.
///
/// ```text
/// db::transaction(db, |txn| Box::pin(store::moderate_feedback(txn, actor, id, version, change))).await
/// ```
///
/// (`work` hands back a boxed future rather than being an async closure:
/// async-graphql needs every resolver's future to be `Send`, which an async
/// closure's future cannot yet promise through a generic bound.)
pub async fn transaction<'a, T>(
    db: &DatabaseConnection,
    mut work: impl for<'t> FnMut(
        &'t sea_orm::DatabaseTransaction,
        Outlives<'t, 'a>,
    ) -> futures_util::future::BoxFuture<'t, crate::error::AppResult<T>>,
) -> crate::error::AppResult<T> {
    use crate::error::AppError;
    let mut attempts = 1;
    loop {
        let outcome = async {
            let txn = write(db).await?;
            let done = work(&txn, std::marker::PhantomData).await?;
            txn.commit().await?;
            Ok(done)
        }
        .await;
        match outcome {
            Err(AppError::Busy) if attempts < WRITE_ATTEMPTS => {
                tokio::time::sleep(retry_pause(attempts)).await;
                attempts += 1;
            }
            other => return other,
        }
    }
}

/// Says that what a transaction's work borrows (for `'a`) outlives the
/// transaction (`'t`), so the work's future may hold such borrows.
pub type Outlives<'t, 'a> = std::marker::PhantomData<&'t &'a ()>;

/// How many times [`retrying`] runs a write that keeps conflicting.
const WRITE_ATTEMPTS: u32 = 4;

/// Runs `attempt`, a whole write transaction from [`write`] to its commit,
/// and runs it again from the start when PostgreSQL aborted it for a
/// deadlock or a serialization failure with a concurrent transaction, up to
/// four times in all, after a short random pause so the two do not collide
/// again. Only then does the client see `SERVICE_UNAVAILABLE`.
///
/// An attempt that fails must leave nothing behind, which dropping its
/// uncommitted transaction ensures, and must do nothing but database work,
/// since it may run more than once:
///
/// ```text
/// crate::db::retrying(|| async move {
///     let txn = crate::db::write(db).await?;
///     let row = store::moderate_feedback(&txn, actor, id, version, change).await?;
///     txn.commit().await?;
///     Ok(row)
/// })
/// ```
pub async fn retrying<T, Attempt>(
    mut attempt: impl FnMut() -> Attempt,
) -> crate::error::AppResult<T>
where
    Attempt: std::future::Future<Output = crate::error::AppResult<T>>,
{
    use crate::error::AppError;
    let mut attempts = 1;
    loop {
        match attempt().await {
            Err(AppError::Busy) if attempts < WRITE_ATTEMPTS => {
                tokio::time::sleep(retry_pause(attempts)).await;
                attempts += 1;
            }
            other => return other,
        }
    }
}

/// A random pause that grows with each attempt: 10–20 ms, 20–40 ms, 40–80 ms.
fn retry_pause(attempt: u32) -> Duration {
    let base = 10u64 << attempt.min(6).saturating_sub(1);
    let mut random = [0u8; 1];
    let jitter = getrandom::fill(&mut random).map_or(0, |()| u64::from(random[0]));
    Duration::from_millis(base + base * jitter / 255)
}

/// Writes a consistent copy of a SQLite database to `out`, while it serves:
/// `VACUUM INTO` reads one snapshot, so writes that commit during the copy
/// are either wholly in it or not at all. `out` must not exist yet.
/// PostgreSQL is refused: `pg_dump` is the tool for it.
pub async fn backup(db: &DatabaseConnection, out: &std::path::Path) -> anyhow::Result<()> {
    if db.get_database_backend() != DbBackend::Sqlite {
        anyhow::bail!(
            "hamlet backup copies SQLite databases; back up PostgreSQL with pg_dump \
             (e.g. pg_dump --format=custom --file=hamlet.dump \"$HAMLET_DATABASE_URL\")"
        );
    }
    if out.exists() {
        anyhow::bail!("{} exists already; choose a new file", out.display());
    }
    let path = out
        .to_str()
        .context("the backup path must be valid UTF-8")?
        .to_owned();
    db.execute_raw(sea_orm::Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "VACUUM INTO ?",
        [path.into()],
    ))
    .await
    .with_context(|| format!("writing the backup to {}", out.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_codes_are_classified() {
        assert_eq!(failure_of_code(false, "40001"), Failure::Conflict);
        assert_eq!(failure_of_code(false, "40P01"), Failure::Conflict);
        assert_eq!(failure_of_code(false, "57P01"), Failure::Unavailable);
        assert_eq!(failure_of_code(false, "08006"), Failure::Unavailable);
        assert_eq!(failure_of_code(false, "3D000"), Failure::Unavailable);
        assert_eq!(failure_of_code(false, "53100"), Failure::Unavailable);
        assert_eq!(failure_of_code(false, "23505"), Failure::Other);
        // SQLite: BUSY, BUSY_TIMEOUT (773), IOERR_WRITE (778), CONSTRAINT.
        assert_eq!(failure_of_code(true, "5"), Failure::Unavailable);
        assert_eq!(failure_of_code(true, "773"), Failure::Unavailable);
        assert_eq!(failure_of_code(true, "778"), Failure::Unavailable);
        assert_eq!(failure_of_code(true, "2067"), Failure::Other);
    }

    #[test]
    fn storage_knows_the_folder_of_a_sqlite_file() {
        let folder = |url| {
            Storage::for_url(url)
                .folder
                .map(|folder| folder.display().to_string())
        };
        assert_eq!(
            folder("sqlite:///var/lib/hamlet/hamlet.db?mode=rwc").as_deref(),
            Some("/var/lib/hamlet")
        );
        assert_eq!(folder("sqlite://hamlet.db?mode=rwc").as_deref(), Some("."));
        assert_eq!(folder("sqlite::memory:"), None);
        assert_eq!(folder("postgres://u@h/db"), None);
        assert!(Storage::for_url("postgres://u@h/db").has_room());
    }

    #[test]
    fn retry_pauses_grow_and_stay_short() {
        for attempt in 1..WRITE_ATTEMPTS {
            let pause = retry_pause(attempt);
            let base = Duration::from_millis(10 << (attempt - 1));
            assert!(pause >= base && pause <= base * 2, "{attempt}: {pause:?}");
        }
    }
}
