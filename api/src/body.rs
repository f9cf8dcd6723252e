//! Request bodies: one way to read JSON and to name the field at fault.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Limited};
use onramp_checks::Coded;
use onramp_checks::json::JsonError;
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use crate::problem::{FieldError, Problem};

/// The largest request body (axum's default limit, now enforced here).
pub(crate) const MAX_BODY: usize = 2 * 1024 * 1024;

/// How much of an oversized body is read and thrown away, and for how long,
/// before the 413: hyper closes the connection after answering, and a
/// client still sending its body would see a broken pipe, not the answer.
const DRAIN_MAX: usize = 16 * 1024 * 1024;
const DRAIN_FOR: std::time::Duration = std::time::Duration::from_secs(10);

/// Reads every request body up front, up to [`MAX_BODY`], so that a larger
/// one is a 413 problem like every other error; axum's own limit, hit
/// later in a handler's extractor, answers in text/plain.
pub(crate) async fn limit(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let (parts, mut body) = req.into_parts();
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return too_large(body).await;
    }
    let mut buf = Vec::new();
    while let Some(frame) = body.frame().await {
        let data = match frame {
            Ok(f) => match f.into_data() {
                Ok(data) => data,
                Err(_trailers) => continue,
            },
            Err(e) => {
                return Problem::new(
                    StatusCode::BAD_REQUEST,
                    "unreadable_body",
                    "The body could not be read",
                    format!("the request body broke off: {e}"),
                )
                .into_response();
            }
        };
        if buf.len() + data.len() > MAX_BODY {
            return too_large(body).await;
        }
        buf.extend_from_slice(&data);
    }
    next.run(Request::from_parts(parts, Body::from(buf))).await
}

/// The 413, after reading what is left of `body` within bounds.
async fn too_large(body: Body) -> Response {
    let drain = async {
        let mut rest = Limited::new(body, DRAIN_MAX);
        while let Some(Ok(_)) = rest.frame().await {}
    };
    let _ = tokio::time::timeout(DRAIN_FOR, drain).await;
    payload_too_large().into_response()
}

pub(crate) fn payload_too_large() -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "Request body too large",
        format!("the body must not exceed {MAX_BODY} bytes"),
    )
}

/// The body as a JSON object: 415 unless the content type is JSON, 400 if it
/// does not parse or repeats a member name (`duplicate_member`, naming it),
/// 422 if it is not an object.
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
    let value = onramp_checks::json::parse(body).map_err(|e| match &e {
        JsonError::Syntax(_) => Problem::new(
            StatusCode::BAD_REQUEST,
            e.code(),
            "Malformed JSON",
            e.to_string(),
        ),
        JsonError::DuplicateMember { path } => Problem::new(
            StatusCode::BAD_REQUEST,
            e.code(),
            "Duplicate member",
            e.to_string(),
        )
        .with_errors(vec![FieldError::checked(path, &e)])
        .with_hint("I-JSON (RFC 7493) bodies name each member of an object once"),
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
