//! `/v1/admin/...`: the inventory admin API (PE routers and their ports,
//! NNIs, link-net / ASN / route-target pools). Every endpoint needs an API key
//! with role `admin`. Writes are validated whole (a PATCH is merged onto the
//! stored object, then checked like a create), refused with problem+json
//! naming the fields at fault, and change nothing when refused. Deleting or
//! shrinking what is in use is a 409 `in_use` naming the users.

mod nnis;
mod pes;
mod pools;
mod views;

use axum::http::{HeaderMap, StatusCode, header};
use onramp_store::admin::{AdminError, Issue};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

use crate::AppState;
use crate::problem::{FieldError, Problem};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(pes::router())
        .merge(nnis::router())
        .merge(pools::router())
}

pub(crate) fn problem_json() -> &'static str {
    crate::problem::CONTENT_TYPE
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

/// A path id; anything but a UUID names no object, so it is a 404.
fn parse_id(raw: &str, what: &str) -> Result<Uuid, Problem> {
    Uuid::parse_str(raw).map_err(|_| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Not found",
            format!("{what} {raw} does not exist (ids are UUIDs)"),
        )
    })
}

/// The JSON body as `T`: 415 unless JSON, 400 if it does not parse, 422
/// naming the field for a missing, unknown, null or mistyped field.
fn parse_body<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, Problem> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|ct| {
            let mime = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            mime == "application/json" || mime.ends_with("+json")
        })
        .unwrap_or(false);
    if !is_json {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Unsupported media type",
            "the request body must be JSON",
        )
        .with_hint("send `Content-Type: application/json`"));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "Malformed JSON",
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    if !value.is_object() {
        return Err(Problem::field(
            "",
            "invalid_type",
            "the body must be a JSON object",
        ));
    }
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let (field, code, detail) = if let Some(rest) = inner.strip_prefix("missing field `") {
            let f = rest.split('`').next().unwrap_or("").to_string();
            let d = format!("{f} is required");
            (f, "required", d)
        } else if let Some(rest) = inner.strip_prefix("unknown field `") {
            let f = rest.split('`').next().unwrap_or("").to_string();
            (f, "unknown_field", inner)
        } else if inner.starts_with("invalid type: null") {
            let d = format!("{path} cannot be null");
            (path, "null_not_allowed", d)
        } else if inner.starts_with("UUID parsing failed") {
            let d = format!("{path} must be a UUID ({inner})");
            (path, "invalid_value", d)
        } else {
            // serde names Rust types; say what JSON is expected.
            let d = inner
                .replace("expected i64", "expected an integer")
                .replace("expected u64", "expected an integer")
                .replace("expected a UUID", "expected a UUID string");
            (path, "invalid_value", d)
        };
        let field = if field == "." { String::new() } else { field };
        Problem::field(&field, code, detail)
    })
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
