//! RFC 9457 problem details. Every 4xx/5xx the API returns is one of these,
//! with a stable `code` and, for input errors, the fields at fault.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

pub const CONTENT_TYPE: &str = "application/problem+json";

/// One field that failed validation.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FieldError {
    /// JSON path of the field in the request body, e.g. `aws_account_id`.
    pub field: String,
    /// Stable machine-readable reason, e.g. `invalid_format`.
    pub code: String,
    pub detail: String,
}

impl FieldError {
    /// `field` as one of the shared checks refused it.
    pub fn checked(field: &str, e: &impl onramp_checks::Coded) -> Self {
        Self {
            field: field.into(),
            code: e.code().into(),
            detail: e.to_string(),
        }
    }
}

/// An RFC 9457 problem details object.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Problem {
    /// URI reference identifying the problem type.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code; the last segment of `type`.
    pub code: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// What the caller can do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Seconds for a `Retry-After` header (throttled or unavailable upstream).
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &str, title: &str, detail: impl Into<String>) -> Self {
        Self {
            type_: format!("https://onramp.dev/problems/{code}"),
            title: title.into(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.into(),
            errors: Vec::new(),
            hint: None,
            retry_after: None,
        }
    }

    /// 422 for a body that parsed but is invalid.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.detail))
            .collect::<Vec<_>>()
            .join("; ");
        let mut p = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "The request is invalid",
            detail,
        );
        p.errors = errors;
        p
    }

    pub fn field(field: &str, code: &str, detail: impl Into<String>) -> Self {
        Self::invalid(vec![FieldError {
            field: field.into(),
            code: code.into(),
            detail: detail.into(),
        }])
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs.max(1));
        self
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal error",
            "onramp hit an internal error; it has been logged",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = (
            status,
            [(header::CONTENT_TYPE, CONTENT_TYPE)],
            serde_json::to_vec(&self).unwrap_or_default(),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        res
    }
}

impl From<onramp_store::Error> for Problem {
    fn from(e: onramp_store::Error) -> Self {
        use onramp_store::Error as E;
        match e {
            E::NotFound { what } => Problem::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "Not found",
                format!("{what} does not exist"),
            ),
            E::Conflict { field, message } => Problem::new(
                StatusCode::CONFLICT,
                "conflict",
                "Conflict",
                message.clone(),
            )
            .with_errors(vec![FieldError {
                field,
                code: "in_use".into(),
                detail: message,
            }]),
            E::Exhausted { pool, resource } => Problem::new(
                StatusCode::CONFLICT,
                "pool_exhausted",
                "Resource pool exhausted",
                format!("resource pool `{pool}` has no free {resource} left"),
            )
            .with_hint("ask the operator to extend the pool, or order at another location"),
            other => {
                tracing::error!(error = %other, "store error");
                Problem::internal()
            }
        }
    }
}

pub async fn not_found_fallback(uri: axum::http::Uri) -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "no_such_route",
        "Not found",
        format!("no route for {}", uri.path()),
    )
    .with_hint("see /openapi.json or /docs for the API")
}

/// The field errors of one request, collected so that one answer names
/// every field at fault.
#[derive(Debug, Default)]
pub(crate) struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub(crate) fn add(&mut self, field: &str, code: &str, detail: String) {
        self.0.push(FieldError {
            field: field.into(),
            code: code.into(),
            detail,
        });
    }

    /// `field` as one of the shared checks refused it.
    pub(crate) fn refuse(&mut self, field: &str, e: &impl onramp_checks::Coded) {
        self.0.push(FieldError::checked(field, e));
    }

    /// 422 naming every field at fault, if any.
    pub(crate) fn finish(self) -> Result<(), Problem> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Problem::invalid(self.0))
        }
    }
}

/// The media type of every problem this API answers with.
pub(crate) fn problem_json() -> &'static str {
    CONTENT_TYPE
}

/// The problems many routes answer alike, each a response type for
/// `#[utoipa::path(responses(...))]` (`IntoResponses`) and an answer a handler
/// can return (`IntoResponse`, through the `Problem` it carries), so a route
/// lists them by name and the document says what the code does.
macro_rules! common_problem {
    ($(#[$doc:meta])* $name:ident, $status:literal, $description:literal) => {
        $(#[$doc])*
        #[derive(Debug, utoipa::IntoResponses)]
        #[response(status = $status, description = $description, content_type = "application/problem+json")]
        pub(crate) struct $name(pub(crate) Problem);

        impl IntoResponse for $name {
            fn into_response(self) -> Response {
                self.0.into_response()
            }
        }

        impl From<$name> for Problem {
            fn from(p: $name) -> Problem {
                p.0
            }
        }
    };
}

common_problem!(
    /// 401: no API key, or one onramp does not know (or has revoked).
    Unauthenticated,
    401,
    "No or bad API key"
);
common_problem!(
    /// 403 on the admin routes: a customer or ops key.
    NotAdmin,
    403,
    "The key is not an admin key"
);
common_problem!(
    /// 403 on the routes of the operator's staff: a customer key.
    NotOperator,
    403,
    "The key is neither an ops nor an admin key"
);
common_problem!(
    /// 415: a body that is not JSON.
    NotJson,
    415,
    "Body is not JSON"
);
common_problem!(
    /// 400 on routes that take a query string: it does not parse.
    BadQuery,
    400,
    "The query string does not parse; `errors` names the parameter"
);
common_problem!(
    /// 400 on routes that take a body: it is not JSON that parses.
    MalformedJson,
    400,
    "Malformed JSON"
);
