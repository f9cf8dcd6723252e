use sea_orm::{DbErr, SqlErr};

/// Errors the store reports to the API and workers. Variants other than
/// `Db` carry what a user needs to understand the refusal.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what} not found")]
    NotFound { what: String },
    /// A requested value is taken or the change collides with existing state.
    #[error("{message}")]
    Conflict { field: String, message: String },
    /// The pool has no free value left.
    #[error("resource pool `{pool}` is exhausted: no free {resource} left")]
    Exhausted { pool: String, resource: String },
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Db(#[from] DbErr),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// True when retrying the whole transaction may succeed: a concurrent
    /// writer took the value we picked, or SQLite was busy.
    pub fn is_contention(&self) -> bool {
        match self {
            Error::Db(e) => is_contention(e),
            _ => false,
        }
    }
}

pub(crate) fn is_contention(e: &DbErr) -> bool {
    if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) {
        return true;
    }
    let msg = e.to_string();
    msg.contains("database is locked")
        || msg.contains("database table is locked")
        || msg.contains("SQLITE_BUSY")
        || msg.contains("could not serialize access")
        || msg.contains("deadlock detected")
}

pub(crate) fn corrupt(what: &str) -> impl FnOnce(serde_json::Error) -> Error + '_ {
    move |e| Error::Corrupt(format!("{what}: {e}"))
}
