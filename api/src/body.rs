//! Request bodies: one way to read JSON and to name the field at fault.

use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use crate::problem::Problem;

/// The body as a JSON object: 415 unless the content type is JSON, 400 if it
/// does not parse, 422 if it is not an object.
pub(crate) fn json_object(headers: &HeaderMap, body: &[u8]) -> Result<Value, Problem> {
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
    Ok(value)
}

/// `value` as `T`, or a 422 naming the field: missing, unknown, null or
/// mistyped.
pub(crate) fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, Problem> {
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

/// A path id; anything but a UUID names no object, so it is a 404.
pub(crate) fn parse_id(raw: &str, what: &str) -> Result<Uuid, Problem> {
    Uuid::parse_str(raw).map_err(|_| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Not found",
            format!("{what} {raw} does not exist (ids are UUIDs)"),
        )
    })
}

/// `axum::extract::Query`, but a query string that does not parse is a 400
/// problem naming the parameter, like every other error of the API.
pub(crate) struct ApiQuery<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Problem> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Self(v)),
            Err(e) => Err(query_problem(&e.body_text())),
        }
    }
}

/// axum says `Failed to deserialize query string: <param>: <why>`; the
/// parameter becomes the field at fault.
pub(crate) fn query_problem(text: &str) -> Problem {
    let detail = text
        .strip_prefix("Failed to deserialize query string: ")
        .unwrap_or(text);
    let field = match detail.split_once(": ") {
        Some((f, _)) if !f.is_empty() && !f.contains(' ') => f.to_string(),
        _ => String::new(),
    };
    Problem::new(
        StatusCode::BAD_REQUEST,
        "malformed_query",
        "Malformed query string",
        detail.to_string(),
    )
    .with_errors(vec![crate::problem::FieldError {
        field,
        code: "invalid_value".into(),
        detail: detail.to_string(),
    }])
}
