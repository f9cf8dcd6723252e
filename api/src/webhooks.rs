//! `/v1/webhooks`: tenants register endpoints that receive every state change
//! (issue 8).
//!
//! A webhook gets its own tenant's connector state changes as signed POSTs,
//! in order, at least once (workers/src/webhooks.rs delivers them;
//! docs/decisions/0005-webhooks.md says why it is built so). Its signing
//! secret is shown once, in the answer that creates it; onramp keeps it
//! sealed and never returns it again.
//!
//! Roles: every key registers and deletes webhooks of its own tenant. A
//! customer key sees only its tenant's (another tenant's webhook is a 404);
//! `ops` and `admin` keys read every tenant's, but change only their own.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use onramp_store::entity::{webhook, webhook_delivery};
use onramp_store::webhooks::{self as store, Created};
use serde::{Deserialize, Serialize};
use url::{Host, Url};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Tenant;
use crate::body::ApiQuery;
use crate::keys::{CreatedSecret, created_secret};
use crate::page::PageParams;
use crate::problem::{BadQuery, FieldError, NotJson, Problem, Unauthenticated, problem_json};

/// Live webhooks per tenant.
pub(crate) const LIMIT_PER_TENANT: u64 = 10;
/// The longest URL, in bytes.
const URL_MAX: usize = 2048;
/// The longest description, in characters.
const DESCRIPTION_MAX: usize = 200;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(get_webhook, delete_webhook))
        .routes(routes!(list_deliveries))
}

// ===== bodies =====

/// A webhook to register for the caller's tenant.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewWebhook {
    /// Where to POST state changes: an absolute `https://` URL (`http://`
    /// only to `localhost` or a loopback address), at most 2048 bytes,
    /// without credentials, fragment, white space or control characters.
    /// Link-local, unspecified and multicast addresses are refused.
    #[schema(example = "https://ci.example.com/hooks/onramp")]
    url: String,
    /// What the webhook is for: at most 200 characters, no control
    /// characters.
    #[schema(example = "CI pipeline")]
    description: Option<String>,
}

/// A registered webhook, without its secret.
#[derive(Clone, Debug, Serialize, ToSchema)]
struct Webhook {
    id: Uuid,
    tenant_id: Uuid,
    #[schema(example = "https://ci.example.com/hooks/onramp")]
    url: String,
    description: Option<String>,
    created_at: DateTime<Utc>,
    delivery: DeliveryStatus,
}

/// Where delivery stands.
#[derive(Clone, Debug, Serialize, ToSchema)]
struct DeliveryStatus {
    /// The last event id the webhook is done with: delivered, given up on,
    /// or not its tenant's. The next delivery is the tenant's first event
    /// after it.
    cursor: i64,
    /// Failed attempts at that next event so far.
    pending_attempts: i32,
    /// Failed attempts since the last successful delivery.
    consecutive_failures: i32,
    /// When the failing event is tried again; null when no retry waits.
    next_attempt_at: Option<DateTime<Utc>>,
    /// The latest attempt, if any.
    last_delivery: Option<Delivery>,
}

/// One delivery attempt.
#[derive(Clone, Debug, Serialize, ToSchema)]
struct Delivery {
    id: i64,
    /// The event sent (its `Onramp-Event-Id`).
    event_id: i64,
    /// 1 for the event's first attempt.
    attempt: i32,
    at: DateTime<Utc>,
    /// `delivered` (2xx), `failed` (retried later) or `gave_up` (the last
    /// attempt failed; the webhook moved on).
    #[schema(example = "delivered")]
    outcome: String,
    /// The receiver's HTTP status; null when it did not answer.
    status_code: Option<i32>,
    /// Why there was no answer (timeout, connection refused), truncated.
    error: Option<String>,
    duration_ms: i64,
}

/// A webhook just registered, with its signing secret. This is the only
/// answer that ever contains the secret: store it now.
#[derive(Clone, Debug, Serialize, ToSchema)]
struct CreatedWebhook {
    id: Uuid,
    tenant_id: Uuid,
    url: String,
    description: Option<String>,
    created_at: DateTime<Utc>,
    delivery: DeliveryStatus,
    /// Verifies `Onramp-Signature`: hex HMAC-SHA256 keyed with this whole
    /// string, over `<Onramp-Timestamp>.<body>`. Shown once: `null` in an
    /// `Idempotency-Key` replay, whose first answer showed it.
    #[schema(example = "whsec_3q2-7wEXAMPLEc2VjcmV0LWJ5dGVzLWhlcmUtMzI")]
    secret: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
struct WebhookList {
    items: Vec<Webhook>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
struct DeliveryList {
    /// Newest first; onramp keeps the latest 100 attempts per webhook.
    items: Vec<Delivery>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

impl From<webhook_delivery::Model> for Delivery {
    fn from(d: webhook_delivery::Model) -> Self {
        Self {
            id: d.id,
            event_id: d.event_id,
            attempt: d.attempt,
            at: d.at,
            outcome: d.outcome,
            status_code: d.status_code,
            error: d.error,
            duration_ms: d.duration_ms,
        }
    }
}

async fn view(state: &AppState, w: webhook::Model) -> Result<Webhook, Problem> {
    let last = store::last_delivery(&state.db, w.id).await?;
    let next_attempt_at = (w.event_attempts > 0)
        .then(|| DateTime::<Utc>::from_timestamp_millis(w.next_attempt_at_ms))
        .flatten();
    Ok(Webhook {
        id: w.id,
        tenant_id: w.tenant_id,
        url: w.url,
        description: w.description,
        created_at: w.created_at,
        delivery: DeliveryStatus {
            cursor: w.event_cursor,
            pending_attempts: w.event_attempts,
            consecutive_failures: w.consecutive_failures,
            next_attempt_at,
            last_delivery: last.map(Delivery::from),
        },
    })
}

// ===== checks =====

/// The URL as onramp stores it (normalised), or the one fault found.
fn check_url(raw: &str) -> Result<Url, FieldError> {
    let fault = |code: &str, detail: String| FieldError {
        field: "url".into(),
        code: code.into(),
        detail,
    };
    if raw.len() > URL_MAX {
        return Err(fault(
            "invalid_length",
            format!("url must be at most {URL_MAX} bytes"),
        ));
    }
    onramp_checks::url::raw(raw).map_err(|e| FieldError::checked("url", &e))?;
    let url = Url::parse(raw)
        .map_err(|e| fault("invalid_format", format!("url is not an absolute URL: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(fault(
            "invalid_scheme",
            format!("url must be https (got `{}:`)", url.scheme()),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(fault(
            "credentials_not_allowed",
            "url must not contain a user name or password; authenticate deliveries by their signature".into(),
        ));
    }
    if url.fragment().is_some() {
        return Err(fault(
            "fragment_not_allowed",
            "url must not contain a fragment (#...), which is never sent".into(),
        ));
    }
    let loopback = match url.host() {
        None => return Err(fault("invalid_format", "url has no host".into())),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => check_ip(ip.into()).map_err(|d| fault("forbidden_address", d))?,
        Some(Host::Ipv6(ip)) => check_ip(ip.into()).map_err(|d| fault("forbidden_address", d))?,
    };
    if url.scheme() == "http" && !loopback {
        return Err(fault(
            "https_required",
            "url must be https; http is allowed only to localhost or a loopback address".into(),
        ));
    }
    Ok(url)
}

/// Whether `ip` is loopback; an error when onramp never sends to it.
fn check_ip(ip: std::net::IpAddr) -> Result<bool, String> {
    match onramp_checks::url::forbidden_ip(ip) {
        Some(why) => Err(format!("url must not point at {why} ({ip})")),
        None => Ok(ip.is_loopback()),
    }
}

fn check_description(d: &str) -> Option<FieldError> {
    let (code, detail) = if d.chars().count() > DESCRIPTION_MAX {
        (
            "invalid_length",
            format!("description must be at most {DESCRIPTION_MAX} characters"),
        )
    } else if d.chars().any(char::is_control) {
        (
            "invalid_format",
            "description must not contain control characters".to_string(),
        )
    } else {
        return None;
    };
    Some(FieldError {
        field: "description".into(),
        code: code.into(),
        detail,
    })
}

// ===== handlers =====

/// List webhooks, oldest first, a page at a time.
///
/// A customer key lists its own tenant's webhooks; an `ops` or `admin` key
/// lists every tenant's. Secrets are never listed.
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks",
    params(PageParams),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "A page of webhooks", body = WebhookList),
        BadQuery,
        Unauthenticated,
        (status = 422, description = "The limit or the cursor is invalid; `errors` names it", body = Problem, content_type = problem_json()),
    ))]
async fn list_webhooks(
    State(state): State<AppState>,
    tenant: Tenant,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<WebhookList>, Problem> {
    let page = p.checked::<Uuid>()?;
    let rows = store::list(&state.db, tenant.read_scope(), page.after, page.limit + 1).await?;
    let (rows, next_cursor) = crate::page::finish(rows, page.limit, |w| w.id);
    let mut items = Vec::with_capacity(rows.len());
    for w in rows {
        items.push(view(&state, w).await?);
    }
    Ok(Json(WebhookList { items, next_cursor }))
}

/// Register a webhook for the caller's tenant.
///
/// From now on, every state change of the tenant's connectors is POSTed to
/// `url` as JSON (the same object as `data:` in `GET /v1/events`), one at a
/// time and in order, with the headers `Onramp-Webhook-Id`,
/// `Onramp-Event-Id`, `Onramp-Timestamp` (Unix seconds) and
/// `Onramp-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
/// A 2xx answer counts as delivered; anything else (another status, a
/// redirect, no answer within 10 s) is retried with growing pauses for
/// about a day, then given up. Delivery is at least once: deduplicate by
/// `Onramp-Event-Id`.
///
/// The answer is the only time the secret is shown. With an
/// `Idempotency-Key`, a retry registers nothing more and answers the same
/// webhook with `secret: null`: onramp keeps no copy of the answer's
/// secret to replay. At most 10 webhooks per tenant.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks",
    request_body(content = NewWebhook, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 201, description = "Registered; `secret` is shown this once", body = CreatedWebhook,
            headers(("Location" = String, description = "The webhook's URL"),
                ("Cache-Control" = String, description = "`no-store`: the body holds a secret"))),
        (status = 400, description = "Malformed JSON, or an invalid Idempotency-Key", body = Problem, content_type = problem_json()),
        Unauthenticated,
        (status = 409, description = "The tenant has 10 webhooks already (`limit_reached`)", body = Problem, content_type = problem_json()),
        NotJson,
        (status = 422, description = "Invalid; `errors` names the fields (`url`, `description`)", body = Problem, content_type = problem_json()),
    ))]
async fn create_webhook(
    State(state): State<AppState>,
    tenant: Tenant,
    headers: HeaderMap,
    body: Bytes,
) -> Result<CreatedSecret<CreatedWebhook>, Problem> {
    let new: NewWebhook = crate::body::from_value(crate::body::json_object(&headers, &body)?)?;
    let mut errors = Vec::new();
    let url = check_url(&new.url).map_err(|e| errors.push(e)).ok();
    if let Some(e) = new.description.as_deref().and_then(check_description) {
        errors.push(e);
    }
    let Some(url) = url.filter(|_| errors.is_empty()) else {
        return Err(Problem::invalid(errors));
    };
    let description = new.description.as_deref().filter(|d| !d.trim().is_empty());
    let created = store::create(
        &state.db,
        &state.secrets,
        tenant.id,
        url.as_str(),
        description,
        LIMIT_PER_TENANT,
    )
    .await?;
    let w = match created {
        Created::Created(w) => w,
        Created::LimitReached { limit } => {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "limit_reached",
                "Webhook limit reached",
                format!("the tenant has {limit} webhooks, the most it may have"),
            )
            .with_hint("delete a webhook you no longer need (DELETE /v1/webhooks/{id})"));
        }
    };
    // The host only: a URL's path or query may carry the receiver's token.
    tracing::info!(webhook = %w.row.id, tenant = %tenant.name, host = url.host_str().unwrap_or(""), "webhook registered");
    let secret = w.secret;
    let v = view(&state, w.row).await?;
    let location = format!("/v1/webhooks/{}", v.id);
    Ok(created_secret(
        &location,
        CreatedWebhook {
            id: v.id,
            tenant_id: v.tenant_id,
            url: v.url,
            description: v.description,
            created_at: v.created_at,
            delivery: v.delivery,
            secret: Some(secret),
        },
        &["/secret"],
    ))
}

/// One webhook and where its delivery stands, without its secret.
#[utoipa::path(get, path = "/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The webhook", body = Webhook),
        Unauthenticated,
        (status = 404, description = "No such webhook for this tenant (or deleted)", body = Problem, content_type = problem_json()),
    ))]
async fn get_webhook(
    State(state): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
) -> Result<Json<Webhook>, Problem> {
    let id = crate::body::parse_id(&id, "webhook")?;
    let w = store::get(&state.db, tenant.read_scope(), id).await?;
    Ok(Json(view(&state, w).await?))
}

/// The webhook's recent delivery attempts, newest first.
///
/// onramp keeps the latest 100 attempts per webhook.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id"), PageParams),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Recent attempts", body = DeliveryList),
        BadQuery,
        Unauthenticated,
        (status = 422, description = "The limit or the cursor is invalid", body = Problem, content_type = problem_json()),
        (status = 404, description = "No such webhook for this tenant (or deleted)", body = Problem, content_type = problem_json()),
    ))]
async fn list_deliveries(
    State(state): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<DeliveryList>, Problem> {
    let id = crate::body::parse_id(&id, "webhook")?;
    let w = store::get(&state.db, tenant.read_scope(), id).await?;
    let page = p.checked::<i64>()?;
    // The kept attempts are few (DELIVERIES_KEPT): read whole, newest
    // first, so the sort key is the negated id.
    let rows = store::deliveries(&state.db, w.id, store::DELIVERIES_KEPT).await?;
    let (rows, next_cursor) = crate::page::slice(rows, &page, |d| -d.id);
    let items = rows.into_iter().map(Delivery::from).collect();
    Ok(Json(DeliveryList { items, next_cursor }))
}

/// Delete a webhook of the caller's tenant.
///
/// No delivery starts after this; one already under way finishes. The
/// webhook then reads as not found. `ops` and `admin` keys, which read
/// every tenant's webhooks, delete only their own tenant's (403).
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id")),
    security(("api_key" = [])),
    responses(
        (status = 204, description = "Deleted"),
        Unauthenticated,
        (status = 403, description = "An `ops` or `admin` key and another tenant's webhook", body = Problem, content_type = problem_json()),
        (status = 404, description = "No such webhook for this tenant (or deleted already)", body = Problem, content_type = problem_json()),
    ))]
async fn delete_webhook(
    State(state): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let id = crate::body::parse_id(&id, "webhook")?;
    let w = store::get(&state.db, tenant.read_scope(), id).await?;
    if w.tenant_id != tenant.id {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Forbidden",
            format!(
                "webhook {id} belongs to another tenant; a key with role `{}` reads every tenant's webhooks but deletes only its own tenant's",
                tenant.role
            ),
        )
        .with_hint("use a key of the webhook's tenant"));
    }
    store::delete(&state.db, tenant.id, id).await?;
    tracing::info!(webhook = %id, tenant = %tenant.name, "webhook deleted");
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(raw: &str) -> String {
        let e = check_url(raw).expect_err(raw);
        assert_eq!(e.field, "url", "{raw}");
        e.code
    }

    #[test]
    fn urls_are_https_or_loopback_http_and_never_metadata() {
        for ok in [
            "https://hooks.example.com/onramp?token=abc",
            "https://93.184.215.14:8443/x",
            "https://10.0.0.5/internal",
            "http://127.0.0.1:9000/hook",
            "http://localhost/hook",
            "http://[::1]:8080/",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        let cases = [
            ("not-a-url", "invalid_format"),
            // Url::parse would drop these and store another URL than sent.
            ("not a url", "invalid_character"),
            ("https://example.com/\0hook", "invalid_character"),
            ("https://example.com/ho\tok", "invalid_character"),
            (" https://example.com/", "invalid_character"),
            ("/relative/path", "invalid_format"),
            ("ftp://example.com/x", "invalid_scheme"),
            ("javascript:alert(1)", "invalid_scheme"),
            ("http://example.com/hook", "https_required"),
            ("http://10.0.0.5/hook", "https_required"),
            ("https://user:pw@example.com/", "credentials_not_allowed"),
            ("https://user@example.com/", "credentials_not_allowed"),
            ("https://example.com/#frag", "fragment_not_allowed"),
            (
                "https://169.254.169.254/latest/meta-data",
                "forbidden_address",
            ),
            ("http://169.254.169.254/", "forbidden_address"),
            // The same address spelled as one decimal number.
            ("https://2852039166/", "forbidden_address"),
            ("https://0.0.0.0/", "forbidden_address"),
            ("https://[fe80::1]/", "forbidden_address"),
            ("https://[::ffff:169.254.169.254]/", "forbidden_address"),
            ("https://224.0.0.1/", "forbidden_address"),
        ];
        for (raw, code) in cases {
            assert_eq!(fault(raw), code, "{raw}");
        }
        let long = format!("https://example.com/{}", "a".repeat(URL_MAX));
        assert_eq!(fault(&long), "invalid_length");
    }

    #[test]
    fn descriptions_are_short_and_printable() {
        assert!(check_description("CI").is_none());
        assert!(check_description(&"é".repeat(DESCRIPTION_MAX)).is_none());
        assert_eq!(
            check_description(&"x".repeat(DESCRIPTION_MAX + 1))
                .unwrap()
                .code,
            "invalid_length"
        );
        assert_eq!(check_description("a\u{7}b").unwrap().code, "invalid_format");
    }
}
