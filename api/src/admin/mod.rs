//! `/v1/admin/...`: the inventory admin API (PE routers and their ports,
//! NNIs, link-net / ASN / route-target pools). Every endpoint needs an API key
//! with role `admin`. Writes are validated whole (a PATCH is merged onto the
//! stored object, then checked like a create), refused with problem+json
//! naming the fields at fault, and change nothing when refused. Deleting or
//! shrinking what is in use is a 409 `in_use` naming the users.

mod nnis;
mod pes;
mod pools;
pub(crate) mod stuck;
mod tenants;
pub(crate) mod users;
mod views;

use axum::http::{HeaderMap, StatusCode};
use onramp_store::admin::{AdminError, Issue};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
use crate::problem::{FieldError, Problem};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(pes::router())
        .merge(nnis::router())
        .merge(pools::router())
        .merge(tenants::router())
        .merge(users::router())
        .merge(stuck::router())
}

fn field_errors(issues: Vec<Issue>) -> Vec<FieldError> {
    issues
        .into_iter()
        .map(|i| FieldError {
            field: i.field,
            code: i.code,
            detail: i.detail,
        })
        .collect()
}

impl From<AdminError> for Problem {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::NotFound { what } => Problem::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "Not found",
                format!("{what} does not exist"),
            ),
            AdminError::Invalid(issues) => Problem::invalid(field_errors(issues)),
            AdminError::Conflict { message, issues } => {
                Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", message)
                    .with_errors(field_errors(issues))
            }
            AdminError::InUse { message, issues } => {
                Problem::new(StatusCode::CONFLICT, "in_use", "In use", message)
                    .with_errors(field_errors(issues))
                    .with_hint("release, move or delete what uses it first, then retry")
            }
            AdminError::Store(e) => e.into(),
        }
    }
}

use crate::body::parse_id;

/// The JSON body as `T`: 415 unless JSON, 400 if it does not parse, 422
/// naming the field for a missing, unknown, null or mistyped field.
fn parse_body<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, Problem> {
    crate::body::from_value(crate::body::json_object(headers, body)?)
}

/// For PATCH fields that may be left out but not set to null: present →
/// `Some(value)`, absent → `None` (with `#[serde(default)]`), null → error.
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// For PATCH fields that may be cleared: absent → `None`, null →
/// `Some(None)`, value → `Some(Some(value))`.
fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
