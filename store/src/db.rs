use std::time::Duration;

use onramp_migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend};

use crate::Result;

/// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://...`).
pub async fn connect(url: &str) -> Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(url.to_string());
    opts.sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30));
    if url.starts_with("sqlite:") {
        // SQLite allows one writer at a time; a small pool keeps lock waits short.
        opts.max_connections(8);
    } else {
        opts.max_connections(20);
    }
    let db = Database::connect(opts).await?;
    if db.get_database_backend() == DbBackend::Sqlite {
        // WAL lets the API read while a worker writes; the busy timeout turns
        // writer collisions into waits instead of immediate errors.
        db.execute_unprepared("PRAGMA journal_mode=WAL;").await?;
        db.execute_unprepared("PRAGMA busy_timeout=10000;").await?;
        db.execute_unprepared("PRAGMA foreign_keys=ON;").await?;
    }
    Ok(db)
}

pub async fn connect_and_migrate(url: &str) -> Result<DatabaseConnection> {
    let db = connect(url).await?;
    Migrator::up(&db, None).await?;
    Ok(db)
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
        match f().await {
            Err(e) if e.is_contention() && attempt < 50 => {
                attempt += 1;
                let jitter = rand::random_range(0..(5 * attempt as u64 + 5));
                tokio::time::sleep(Duration::from_millis(jitter)).await;
            }
            other => return other,
        }
    }
}
