use std::time::Duration;

use onramp_migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend};

use crate::Result;

/// How long [`connect`] keeps trying to reach the database (and a request
/// waits for a pooled connection) unless told otherwise.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(30);

/// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://...`).
pub async fn connect(url: &str) -> Result<DatabaseConnection> {
    connect_within(url, DEFAULT_WAIT).await
}

/// [`connect`], trying for at most `wait` before giving up (a database that
/// refuses connections is retried until then).
pub async fn connect_within(url: &str, wait: Duration) -> Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(url.to_string());
    opts.sqlx_logging(false)
        .connect_timeout(wait.min(Duration::from_secs(10)))
        .acquire_timeout(wait);
    if url.starts_with("sqlite:") {
        // SQLite allows one writer at a time; a small pool keeps lock waits short.
        opts.max_connections(8);
        // Every pooled connection waits for the write lock rather than
        // failing at once; a PRAGMA run on the pool would reach only one.
        opts.map_sqlx_sqlite_opts(|o| o.busy_timeout(Duration::from_secs(10)));
    } else {
        opts.max_connections(20);
    }
    let db = Database::connect(opts).await?;
    if db.get_database_backend() == DbBackend::Sqlite {
        // WAL lets the API read while a worker writes; it is a property of
        // the database file, so setting it once reaches every connection.
        db.execute_unprepared("PRAGMA journal_mode=WAL;").await?;
    }
    Ok(db)
}

pub async fn connect_and_migrate(url: &str) -> Result<DatabaseConnection> {
    connect_and_migrate_within(url, DEFAULT_WAIT).await
}

pub async fn connect_and_migrate_within(url: &str, wait: Duration) -> Result<DatabaseConnection> {
    let db = connect_within(url, wait).await?;
    Migrator::up(&db, None).await?;
    Ok(db)
}

tokio::task_local! {
    /// Whether the transaction running is a retry after a lost race; the
    /// allocators then spread their picks (`alloc::pick_free`).
    static RETRY: bool;
}

/// Whether the caller runs inside a retry of [`retry_contention`].
pub(crate) fn is_retry() -> bool {
    RETRY.try_with(|r| *r).unwrap_or(false)
}

/// Runs `f` in a transaction and retries it when it lost a race (a unique
/// key taken by a concurrent order, SQLite busy). Each attempt starts afresh,
/// so allocations pick again from what is free now.
pub async fn retry_contention<T, F, Fut>(mut f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut attempt: u32 = 0;
    loop {
        match RETRY.scope(attempt > 0, f()).await {
            Err(e) if e.is_contention() && attempt < 50 => {
                attempt += 1;
                let jitter = rand::random_range(0..(5 * attempt as u64 + 5));
                tokio::time::sleep(Duration::from_millis(jitter)).await;
            }
            other => return other,
        }
    }
}

/// Begins a transaction that will write. On SQLite it takes the write lock
/// at `BEGIN` (`BEGIN IMMEDIATE`): a deferred transaction that reads first
/// and writes later fails with SQLITE_BUSY_SNAPSHOT when another writer got
/// in between, and the busy timeout cannot help it. PostgreSQL ignores the
/// mode.
pub async fn begin_write(
    db: &DatabaseConnection,
) -> std::result::Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}
