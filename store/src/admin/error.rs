//! How an inventory write is refused: the error every admin function
//! returns, and the constructors the modules share so that the same refusal
//! reads the same everywhere.

use sea_orm::{DbErr, SqlErr};

/// One field at fault, named as in the API's JSON body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    pub field: String,
    /// Stable machine-readable reason, e.g. `invalid_format`, `out_of_range`.
    pub code: String,
    pub detail: String,
}

/// Why an inventory write was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{what} not found")]
    NotFound { what: String },
    /// The input is invalid; every field at fault is listed.
    #[error("invalid input: {}", .0.iter().map(|i| format!("{}: {}", i.field, i.detail)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Issue>),
    /// The input collides with another object: a duplicate name, an
    /// overlapping pool.
    #[error("{message}")]
    Conflict { message: String, issues: Vec<Issue> },
    /// The object is used by others (connectors, allocations, NNIs, ports):
    /// `message` names them. `issues` names the fields whose change is refused
    /// (empty for a delete).
    #[error("{message}")]
    InUse { message: String, issues: Vec<Issue> },
    #[error(transparent)]
    Store(#[from] crate::Error),
}

impl From<DbErr> for AdminError {
    fn from(e: DbErr) -> Self {
        AdminError::Store(crate::Error::Db(e))
    }
}

pub type AdminResult<T> = std::result::Result<T, AdminError>;

/// Collects every field at fault, so that one answer names them all.
#[derive(Default)]
pub(super) struct Issues(Vec<Issue>);

impl Issues {
    pub(super) fn add(&mut self, field: &str, code: &str, detail: impl Into<String>) {
        self.0.push(Issue {
            field: field.into(),
            code: code.into(),
            detail: detail.into(),
        });
    }

    pub(super) fn has(&self, field: &str) -> bool {
        self.0.iter().any(|i| i.field == field)
    }

    pub(super) fn into_result(self) -> AdminResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AdminError::Invalid(self.0))
        }
    }
}

/// The same `detail` on each of `fields`: a refusal that names several
/// fields (both ends of a range) says one thing about all of them.
fn issues_on(fields: &[&str], code: &str, detail: &str) -> Vec<Issue> {
    fields
        .iter()
        .map(|f| Issue {
            field: (*f).into(),
            code: code.into(),
            detail: detail.into(),
        })
        .collect()
}

pub(super) fn conflict(fields: &[&str], code: &str, message: String) -> AdminError {
    AdminError::Conflict {
        issues: issues_on(fields, code, &message),
        message,
    }
}

pub(super) fn duplicate(field: &str, message: String) -> AdminError {
    conflict(&[field], "duplicate", message)
}

pub(super) fn in_use(message: String, fields: &[&str]) -> AdminError {
    AdminError::InUse {
        issues: issues_on(fields, "in_use", &message),
        message,
    }
}

pub(super) fn not_found(what: String) -> AdminError {
    AdminError::NotFound { what }
}

fn is_unique_violation(e: &AdminError) -> bool {
    matches!(e, AdminError::Store(crate::Error::Db(db)) if matches!(db.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))))
}

/// Maps a unique-key violation that slipped past our pre-check (a concurrent
/// writer) to the same conflict the pre-check would have reported.
pub(super) fn or_duplicate(
    e: AdminError,
    field: &str,
    message: impl FnOnce() -> String,
) -> AdminError {
    if is_unique_violation(&e) {
        duplicate(field, message())
    } else {
        e
    }
}
