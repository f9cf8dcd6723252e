//! `/v1/api-keys`: the API keys of the caller's own tenant.
//!
//! A key is shown once, in the answer that creates it. onramp keeps only its
//! SHA-256 digest and its first eight characters (`prefix`, to tell keys
//! apart), so a lost key cannot be shown again: revoke it and create another
//! (docs/decisions/0002-secrets-at-rest.md).
//!
//! Roles rank customer < ops < admin. A key hands out and revokes keys of
//! its own rank or below, never above, so no key can lift itself: a customer
//! key makes customer keys only. Keys of another tenant do not exist as far
//! as the caller can tell (404). Operators issue keys for any tenant under
//! `/v1/admin/tenants/{id}/api-keys`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use onramp_store::auth::{self as store, NewKey, ROLE_CUSTOMER, ROLES};
use onramp_store::entity::api_key;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Tenant;
use crate::body::ApiQuery;
use crate::idempotency::Withhold;
use crate::page::{PageParams, slice};
use crate::problem::{BadQuery, FieldError, NotJson, Problem, Unauthenticated, problem_json};

/// The longest key name, in characters.
const NAME_MAX: usize = 100;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_keys, create_key))
        .routes(routes!(get_key, revoke_key))
}

// ===== bodies =====

/// A key to create for the caller's tenant.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewApiKey {
    /// What the key is for, so people can tell keys apart: 1-100 characters,
    /// not blank, no control characters. Need not be unique.
    #[schema(example = "ci-pipeline")]
    pub name: String,
    /// `customer` (the default), `ops` or `admin`; at most the role of the
    /// key making the request.
    #[schema(example = "customer")]
    pub role: Option<String>,
}

/// An API key, without its secret.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct ApiKey {
    pub id: Uuid,
    pub name: String,
    /// The key's first eight characters, to recognise it by.
    #[schema(example = "onr_Xk3f")]
    pub prefix: String,
    /// `customer`, `ops` or `admin`.
    #[schema(example = "customer")]
    pub role: String,
    pub created_at: DateTime<Utc>,
    /// When it was revoked; a revoked key gets 401.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A key just created, with its secret. This is the only answer that ever
/// contains the secret: store it now.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct CreatedApiKey {
    pub id: Uuid,
    pub name: String,
    #[schema(example = "onr_Xk3f")]
    pub prefix: String,
    #[schema(example = "customer")]
    pub role: String,
    pub created_at: DateTime<Utc>,
    /// The key: send it as `Authorization: Bearer <key>`. Shown once; onramp
    /// keeps only a digest of it. `null` in an `Idempotency-Key` replay:
    /// the key was created by the first request, which showed it.
    #[schema(example = "onr_Xk3fQ9wLr2ZtB7mNc4VhJ8pYs1aGe6Dk")]
    pub key: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct ApiKeyList {
    pub items: Vec<ApiKey>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl From<api_key::Model> for ApiKey {
    fn from(m: api_key::Model) -> Self {
        Self {
            id: m.id,
            name: m.name,
            prefix: m.key_prefix,
            role: m.role,
            created_at: m.created_at,
            revoked_at: m.revoked_at,
        }
    }
}

impl From<NewKey> for CreatedApiKey {
    fn from(k: NewKey) -> Self {
        Self {
            id: k.row.id,
            name: k.row.name,
            prefix: k.row.key_prefix,
            role: k.row.role,
            created_at: k.row.created_at,
            key: Some(k.secret),
        }
    }
}

// ===== checks shared with the admin API =====

/// Every field at fault in a key's name and role.
pub(crate) fn check_new_key(name: &str, role: &str) -> Result<(), Problem> {
    let mut errors = Vec::new();
    if let Some(e) = name_error("name", name) {
        errors.push(e);
    }
    if !ROLES.contains(&role) {
        errors.push(FieldError {
            field: "role".into(),
            code: "invalid_value".into(),
            detail: format!("`{role}` is not a role; use {}", ROLES.join(", ")),
        });
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Problem::invalid(errors))
    }
}

/// 1-[`NAME_MAX`] characters, not blank, no control characters.
fn name_error(field: &str, name: &str) -> Option<FieldError> {
    let (code, detail) = if name.trim().is_empty() {
        ("required", format!("{field} must not be blank"))
    } else if name.chars().count() > NAME_MAX {
        (
            "invalid_length",
            format!("{field} must be at most {NAME_MAX} characters"),
        )
    } else if name.chars().any(char::is_control) {
        (
            "invalid_format",
            format!("{field} must not contain control characters"),
        )
    } else {
        return None;
    };
    Some(FieldError {
        field: field.into(),
        code: code.into(),
        detail,
    })
}

/// Whether the caller's role ranks at least `role`, so that it may create
/// or revoke keys of that role. A key whose role is unknown may do neither.
fn may_hand_out(caller: &Tenant, role: &str) -> bool {
    match (store::role_rank(&caller.role), store::role_rank(role)) {
        (Some(mine), Some(theirs)) => theirs <= mine,
        _ => false,
    }
}

/// The 403 for a key of `role` that the caller may not `action`; `field`
/// names the body field that asked for it, if any.
fn outranked(caller: &Tenant, role: &str, action: &str, field: Option<&str>) -> Problem {
    let detail = format!(
        "a key with role `{}` cannot {action} a key with role `{role}`",
        caller.role
    );
    let p = Problem::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        "Forbidden",
        detail.clone(),
    )
    .with_hint("ask the operator for a key of that role");
    match field {
        Some(f) => p.with_errors(vec![FieldError {
            field: f.into(),
            code: "not_allowed".into(),
            detail,
        }]),
        None => p,
    }
}

/// The answer of a POST that creates something with a secret shown once.
pub(crate) type CreatedSecret<T> = (StatusCode, HeaderMap, Extension<Withhold>, Json<T>);

/// 201 with `Location`; `no-store`, since the body holds a secret, which
/// an `Idempotency-Key` replay withholds (`secret`: JSON pointers to it).
pub(crate) fn created_secret<T>(
    location: &str,
    body: T,
    secret: &'static [&'static str],
) -> CreatedSecret<T> {
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(location) {
        h.insert(header::LOCATION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    (
        StatusCode::CREATED,
        h,
        Extension(Withhold(secret)),
        Json(body),
    )
}

/// A path id; anything but a UUID names no key, so it is a 404.
fn parse_key_id(raw: &str) -> Result<Uuid, Problem> {
    Uuid::parse_str(raw).map_err(|_| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Not found",
            format!("API key {raw} does not exist (ids are UUIDs)"),
        )
    })
}

// ===== handlers =====

/// List the caller's tenant's API keys, oldest first.
///
/// Revoked keys are listed with `revoked_at`. Secrets are never listed:
/// onramp does not have them.
#[utoipa::path(get, path = "/v1/api-keys", tag = "api-keys",
    params(PageParams),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The tenant's keys", body = ApiKeyList),
        BadQuery,
        Unauthenticated,
        (status = 422, description = "The limit or the cursor is invalid", body = Problem, content_type = problem_json()),
    ))]
async fn list_keys(
    State(state): State<AppState>,
    tenant: Tenant,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<ApiKeyList>, Problem> {
    let page = p.checked::<(chrono::DateTime<chrono::Utc>, Uuid)>()?;
    let (rows, next_cursor) = slice(store::list_keys(&state.db, tenant.id).await?, &page, |r| {
        (r.created_at, r.id)
    });
    let items = rows.into_iter().map(ApiKey::from).collect();
    Ok(Json(ApiKeyList { items, next_cursor }))
}

/// Create an API key for the caller's tenant.
///
/// The answer is the only time the key is shown: onramp stores a digest of
/// it. `role` defaults to `customer` and may not rank above the caller's
/// own role (customer < ops < admin); a customer key asking for `ops` or
/// `admin` gets 403 naming `role`. With an `Idempotency-Key`, a retry
/// answers the same key with `key: null`: onramp keeps no copy of the
/// secret to replay, and creates no second key.
#[utoipa::path(post, path = "/v1/api-keys", tag = "api-keys",
    request_body(content = NewApiKey, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 201, description = "Created; `key` is shown this once", body = CreatedApiKey,
            headers(("Location" = String, description = "The key's URL"),
                ("Cache-Control" = String, description = "`no-store`: the body holds a secret"))),
        (status = 400, description = "Malformed JSON, or an invalid Idempotency-Key", body = Problem, content_type = problem_json()),
        Unauthenticated,
        (status = 403, description = "`role` ranks above the caller's role; `errors` names `role`", body = Problem, content_type = problem_json()),
        NotJson,
        (status = 422, description = "Invalid; `errors` names the fields", body = Problem, content_type = problem_json()),
    ))]
async fn create_key(
    State(state): State<AppState>,
    tenant: Tenant,
    headers: HeaderMap,
    body: Bytes,
) -> Result<CreatedSecret<CreatedApiKey>, Problem> {
    let new: NewApiKey = crate::body::from_value(crate::body::json_object(&headers, &body)?)?;
    let role = new.role.as_deref().unwrap_or(ROLE_CUSTOMER);
    check_new_key(&new.name, role)?;
    if !may_hand_out(&tenant, role) {
        return Err(outranked(&tenant, role, "create", Some("role")));
    }
    let k = store::create_key(&state.db, tenant.id, &new.name, role).await?;
    tracing::info!(
        key = %k.row.id, prefix = %k.row.key_prefix, role = %k.row.role, tenant = %tenant.name,
        "API key created"
    );
    let location = format!("/v1/api-keys/{}", k.row.id);
    Ok(created_secret(&location, CreatedApiKey::from(k), &["/key"]))
}

/// One of the caller's tenant's API keys, without its secret.
#[utoipa::path(get, path = "/v1/api-keys/{id}", tag = "api-keys",
    params(("id" = Uuid, Path, description = "API key id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The key", body = ApiKey),
        Unauthenticated,
        (status = 404, description = "No such key for this tenant", body = Problem, content_type = problem_json()),
    ))]
async fn get_key(
    State(state): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
) -> Result<Json<ApiKey>, Problem> {
    let id = parse_key_id(&id)?;
    Ok(Json(store::get_key(&state.db, tenant.id, id).await?.into()))
}

/// Revoke one of the caller's tenant's API keys.
///
/// From the next request on, the key gets 401. The row stays, with
/// `revoked_at`; revoking a revoked key changes nothing. A key may revoke
/// keys of its own role or below (403 otherwise).
///
/// Revoking the key that makes this request is allowed, even when it is
/// the tenant's last active key: a leaked key must be stoppable at once.
/// This request still completes; afterwards only an operator can issue the
/// tenant a new key (`POST /v1/admin/tenants/{id}/api-keys`). To rotate,
/// create the new key first, then revoke the old one.
#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "api-keys",
    params(("id" = Uuid, Path, description = "API key id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Revoked; the key as it is now", body = ApiKey),
        Unauthenticated,
        (status = 403, description = "The key to revoke ranks above the caller's role", body = Problem, content_type = problem_json()),
        (status = 404, description = "No such key for this tenant", body = Problem, content_type = problem_json()),
    ))]
async fn revoke_key(
    State(state): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
) -> Result<Json<ApiKey>, Problem> {
    let id = parse_key_id(&id)?;
    let k = store::get_key(&state.db, tenant.id, id).await?;
    if !may_hand_out(&tenant, &k.role) {
        return Err(outranked(&tenant, &k.role, "revoke", None));
    }
    let k = store::revoke_key(&state.db, tenant.id, id).await?;
    tracing::info!(key = %k.id, prefix = %k.key_prefix, tenant = %tenant.name, "API key revoked");
    Ok(Json(k.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(role: &str) -> Tenant {
        Tenant {
            id: Uuid::nil(),
            name: "t".into(),
            role: role.into(),
            actor: "test".into(),
        }
    }

    #[test]
    fn keys_hand_out_their_rank_or_below() {
        let allowed = [
            ("customer", "customer"),
            ("ops", "customer"),
            ("ops", "ops"),
            ("admin", "customer"),
            ("admin", "ops"),
            ("admin", "admin"),
        ];
        for caller_role in ROLES {
            for role in ROLES {
                assert_eq!(
                    may_hand_out(&caller(caller_role), role),
                    allowed.contains(&(*caller_role, *role)),
                    "{caller_role} -> {role}"
                );
            }
        }
        let p = outranked(&caller("customer"), "admin", "create", Some("role"));
        assert_eq!((p.status, p.errors[0].field.as_str()), (403, "role"));
        assert!(
            outranked(&caller("ops"), "admin", "revoke", None)
                .errors
                .is_empty()
        );
        // A key whose stored role is unknown hands out nothing.
        assert!(!may_hand_out(&caller("root"), "customer"));
    }

    #[test]
    fn names_and_roles_are_checked_together() {
        assert!(check_new_key("ci", "customer").is_ok());
        assert!(check_new_key(&"é".repeat(NAME_MAX), "admin").is_ok());
        let p = check_new_key("  ", "root").unwrap_err();
        assert_eq!(p.status, 422);
        let fields: Vec<(&str, &str)> = p
            .errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(
            fields,
            [("name", "required"), ("role", "invalid_value")],
            "{p:?}"
        );
        let long = "x".repeat(NAME_MAX + 1);
        assert_eq!(
            check_new_key(&long, "ops").unwrap_err().errors[0].code,
            "invalid_length"
        );
        assert_eq!(
            check_new_key("a\nb", "ops").unwrap_err().errors[0].code,
            "invalid_format"
        );
    }
}
