//! `/v1/admin/tenants`: tenants (each with its own VRF) and their API keys.
//!
//! A tenant is created with its first customer key, in one transaction, and
//! that key is shown once in the answer. Operators issue further keys of any
//! role for any tenant, see them (never their secrets) and revoke them, e.g.
//! for a customer who revoked their last key or leaked one.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use onramp_store::admin::{AdminError, Issue};
use onramp_store::auth::{self as store, ROLE_CUSTOMER};
use onramp_store::entity::tenant;
use onramp_store::seed::{self, TENANT_NAME_MAX};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{parse_body, parse_id};
use crate::AppState;
use crate::auth::Admin;
use crate::body::ApiQuery;
use crate::keys::{
    ApiKey, ApiKeyList, CreatedApiKey, CreatedSecret, check_new_key, created_secret,
};
use crate::page::{PageParams, slice};
use crate::problem::{
    BadQuery, FieldError, NotAdmin, NotJson, Problem, Unauthenticated, problem_json,
};

/// The name of the key a tenant is created with.
const FIRST_KEY_NAME: &str = "initial";

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tenants, create_tenant))
        .routes(routes!(get_tenant))
        .routes(routes!(list_tenant_keys, create_tenant_key))
        .routes(routes!(get_tenant_key, revoke_tenant_key))
}

// ===== bodies =====

/// A tenant to create.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewTenant {
    /// Unique; 1-58 characters with at least one ASCII letter or digit, no
    /// control characters, no leading or trailing spaces. Its VRF is named
    /// `cust-` and the name in lower case with `-` for anything but letters
    /// and digits, so two names that differ only there (`Acme Corp`,
    /// `acme-corp`) cannot both exist.
    #[schema(example = "Acme Corp")]
    pub name: String,
}

/// A key to issue for a tenant.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewTenantApiKey {
    /// What the key is for: 1-100 characters, not blank.
    #[schema(example = "portal")]
    pub name: String,
    /// `customer`, `ops` or `admin`.
    #[schema(example = "customer")]
    pub role: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(super) struct TenantLinks {
    #[serde(rename = "self")]
    pub self_: String,
    pub api_keys: String,
}

/// A tenant and the VRF its connectors share on the PEs.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(super) struct Tenant {
    pub id: Uuid,
    pub name: String,
    #[schema(example = "cust-acme-corp")]
    pub vrf_name: String,
    #[schema(example = "65000:1000")]
    pub route_distinguisher: String,
    #[schema(example = "target:65000:1000")]
    pub route_target: String,
    pub created_at: DateTime<Utc>,
    pub links: TenantLinks,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(super) struct TenantList {
    pub items: Vec<Tenant>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A tenant just created, with its first key (role `customer`), shown this
/// once.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(super) struct CreatedTenant {
    pub id: Uuid,
    pub name: String,
    pub vrf_name: String,
    pub route_distinguisher: String,
    pub route_target: String,
    pub created_at: DateTime<Utc>,
    pub links: TenantLinks,
    pub api_key: CreatedApiKey,
}

fn tenant_view(m: tenant::Model) -> Tenant {
    let base = format!("/v1/admin/tenants/{}", m.id);
    Tenant {
        id: m.id,
        name: m.name,
        vrf_name: m.vrf_name,
        route_distinguisher: m.route_distinguisher,
        route_target: m.route_target,
        created_at: m.created_at,
        links: TenantLinks {
            api_keys: format!("{base}/api-keys"),
            self_: base,
        },
    }
}

fn key_url(tenant_id: Uuid, key_id: Uuid) -> String {
    format!("/v1/admin/tenants/{tenant_id}/api-keys/{key_id}")
}

/// The name rules of [`NewTenant`].
fn check_tenant_name(name: &str) -> Result<(), Problem> {
    let detail = if name.chars().count() > TENANT_NAME_MAX {
        Some(format!(
            "the name must be at most {TENANT_NAME_MAX} characters, so that its VRF name fits the 63 routers allow"
        ))
    } else if !name.chars().any(|c| c.is_ascii_alphanumeric()) {
        Some("the name needs at least one ASCII letter or digit".into())
    } else if name.chars().any(char::is_control) {
        Some("the name must not contain control characters".into())
    } else if name.trim() != name {
        Some("the name must not start or end with white space".into())
    } else {
        None
    };
    match detail {
        None => Ok(()),
        Some(detail) => Err(Problem::invalid(vec![FieldError {
            field: "name".into(),
            code: "invalid_format".into(),
            detail,
        }])),
    }
}

/// A taken name is a 409 `conflict` whose error says `duplicate`, as for
/// the other admin objects.
pub(super) fn duplicate_name(e: onramp_store::Error) -> Problem {
    match e {
        onramp_store::Error::Conflict { field, message } => AdminError::Conflict {
            issues: vec![Issue {
                field,
                code: "duplicate".into(),
                detail: message.clone(),
            }],
            message,
        }
        .into(),
        other => other.into(),
    }
}

// ===== tenants =====

/// List tenants, by name.
#[utoipa::path(get, path = "/v1/admin/tenants", tag = "admin",
    params(PageParams),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The tenants", body = TenantList),
        BadQuery,
        Unauthenticated,
        NotAdmin,
        (status = 422, description = "The limit or the cursor is invalid", body = Problem, content_type = problem_json()),
    ))]
async fn list_tenants(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<TenantList>, Problem> {
    let page = p.checked::<(String, uuid::Uuid)>()?;
    let (rows, next_cursor) = slice(store::list_tenants(&state.db).await?, &page, |r| {
        (r.name.clone(), r.id)
    });
    let items = rows.into_iter().map(tenant_view).collect();
    Ok(Json(TenantList { items, next_cursor }))
}

/// Create a tenant.
///
/// Allocates its VRF's route distinguisher and target from the route-target
/// pool and creates its first API key, role `customer`, named `initial`.
/// The key is in `api_key.key`, shown this once. With an
/// `Idempotency-Key`, a retry answers the same tenant with `api_key.key:
/// null` and creates nothing.
#[utoipa::path(post, path = "/v1/admin/tenants", tag = "admin",
    request_body(content = NewTenant, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 201, description = "Created, with its first key shown this once", body = CreatedTenant,
            headers(("Location" = String, description = "The tenant's URL"),
                ("Cache-Control" = String, description = "`no-store`: the body holds a secret"))),
        (status = 400, description = "Malformed JSON, or an invalid Idempotency-Key", body = Problem, content_type = problem_json()),
        Unauthenticated,
        NotAdmin,
        (status = 409, description = "The name, or the VRF name it makes, is taken; or the route-target pool is exhausted", body = Problem, content_type = problem_json()),
        NotJson,
        (status = 422, description = "Invalid; `errors` names the fields", body = Problem, content_type = problem_json()),
    ))]
async fn create_tenant(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    body: Bytes,
) -> Result<CreatedSecret<CreatedTenant>, Problem> {
    let new: NewTenant = parse_body(&headers, &body)?;
    check_tenant_name(&new.name)?;
    let (t, key) =
        seed::create_tenant_with_key(&state.db, &new.name, FIRST_KEY_NAME, ROLE_CUSTOMER)
            .await
            .map_err(duplicate_name)?;
    tracing::info!(
        tenant = %t.name, id = %t.id, vrf = %t.vrf_name, key = %key.row.id, by = %who.name,
        "tenant created"
    );
    let view = tenant_view(t);
    let location = view.links.self_.clone();
    let body = CreatedTenant {
        id: view.id,
        name: view.name,
        vrf_name: view.vrf_name,
        route_distinguisher: view.route_distinguisher,
        route_target: view.route_target,
        created_at: view.created_at,
        links: view.links,
        api_key: key.into(),
    };
    Ok(created_secret(&location, body, &["/api_key/key"]))
}

/// One tenant.
#[utoipa::path(get, path = "/v1/admin/tenants/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "Tenant id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The tenant", body = Tenant),
        Unauthenticated,
        NotAdmin,
        (status = 404, description = "No such tenant", body = Problem, content_type = problem_json()),
    ))]
async fn get_tenant(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<Tenant>, Problem> {
    let id = parse_id(&id, "tenant")?;
    Ok(Json(tenant_view(store::get_tenant(&state.db, id).await?)))
}

// ===== a tenant's keys =====

/// List a tenant's API keys, oldest first, without secrets.
#[utoipa::path(get, path = "/v1/admin/tenants/{id}/api-keys", tag = "admin",
    params(("id" = Uuid, Path, description = "Tenant id"), PageParams),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The tenant's keys, revoked ones included", body = ApiKeyList),
        BadQuery,
        Unauthenticated,
        NotAdmin,
        (status = 404, description = "No such tenant", body = Problem, content_type = problem_json()),
        (status = 422, description = "The limit or the cursor is invalid", body = Problem, content_type = problem_json()),
    ))]
async fn list_tenant_keys(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<ApiKeyList>, Problem> {
    let page = p.checked::<(chrono::DateTime<chrono::Utc>, Uuid)>()?;
    let id = parse_id(&id, "tenant")?;
    store::get_tenant(&state.db, id).await?;
    let (rows, next_cursor) = slice(store::list_keys(&state.db, id).await?, &page, |r| {
        (r.created_at, r.id)
    });
    let items = rows.into_iter().map(ApiKey::from).collect();
    Ok(Json(ApiKeyList { items, next_cursor }))
}

/// Issue an API key of any role for a tenant.
///
/// The key is in `key`, shown this once. With an `Idempotency-Key`, a
/// retry answers the same key with `key: null` and creates nothing; onramp
/// keeps no copy of the secret to replay.
#[utoipa::path(post, path = "/v1/admin/tenants/{id}/api-keys", tag = "admin",
    params(("id" = Uuid, Path, description = "Tenant id")),
    request_body(content = NewTenantApiKey, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 201, description = "Created; `key` is shown this once", body = CreatedApiKey,
            headers(("Location" = String, description = "The key's URL"),
                ("Cache-Control" = String, description = "`no-store`: the body holds a secret"))),
        (status = 400, description = "Malformed JSON, or an invalid Idempotency-Key", body = Problem, content_type = problem_json()),
        Unauthenticated,
        NotAdmin,
        (status = 404, description = "No such tenant", body = Problem, content_type = problem_json()),
        NotJson,
        (status = 422, description = "Invalid; `errors` names the fields", body = Problem, content_type = problem_json()),
    ))]
async fn create_tenant_key(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<CreatedSecret<CreatedApiKey>, Problem> {
    let id = parse_id(&id, "tenant")?;
    let new: NewTenantApiKey = parse_body(&headers, &body)?;
    check_new_key(&new.name, &new.role)?;
    let k = store::create_key(&state.db, id, &new.name, &new.role).await?;
    tracing::info!(
        key = %k.row.id, prefix = %k.row.key_prefix, role = %k.row.role, tenant = %id, by = %who.name,
        "API key issued"
    );
    let location = key_url(id, k.row.id);
    Ok(created_secret(&location, CreatedApiKey::from(k), &["/key"]))
}

/// One of a tenant's API keys, without its secret.
#[utoipa::path(get, path = "/v1/admin/tenants/{id}/api-keys/{key_id}", tag = "admin",
    params(("id" = Uuid, Path, description = "Tenant id"),
        ("key_id" = Uuid, Path, description = "API key id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The key", body = ApiKey),
        Unauthenticated,
        NotAdmin,
        (status = 404, description = "No such key for this tenant", body = Problem, content_type = problem_json()),
    ))]
async fn get_tenant_key(
    State(state): State<AppState>,
    _admin: Admin,
    Path((id, key_id)): Path<(String, String)>,
) -> Result<Json<ApiKey>, Problem> {
    let id = parse_id(&id, "tenant")?;
    let key_id = parse_id(&key_id, "API key")?;
    Ok(Json(store::get_key(&state.db, id, key_id).await?.into()))
}

/// Revoke one of a tenant's API keys.
///
/// From the next request on, the key gets 401; revoking a revoked key
/// changes nothing. Revoking the admin key making the request is allowed.
#[utoipa::path(delete, path = "/v1/admin/tenants/{id}/api-keys/{key_id}", tag = "admin",
    params(("id" = Uuid, Path, description = "Tenant id"),
        ("key_id" = Uuid, Path, description = "API key id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Revoked; the key as it is now", body = ApiKey),
        Unauthenticated,
        NotAdmin,
        (status = 404, description = "No such key for this tenant", body = Problem, content_type = problem_json()),
    ))]
async fn revoke_tenant_key(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path((id, key_id)): Path<(String, String)>,
) -> Result<Json<ApiKey>, Problem> {
    let id = parse_id(&id, "tenant")?;
    let key_id = parse_id(&key_id, "API key")?;
    let k = store::revoke_key(&state.db, id, key_id).await?;
    tracing::info!(key = %k.id, prefix = %k.key_prefix, tenant = %id, by = %who.name, "API key revoked");
    Ok(Json(k.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_names_fit_a_vrf_name() {
        for good in ["Acme", "Acme Corp", "ÉDF 2", &"a".repeat(TENANT_NAME_MAX)] {
            assert!(check_tenant_name(good).is_ok(), "{good}");
            assert!(seed::vrf_name(good).chars().count() <= seed::VRF_NAME_MAX);
        }
        for bad in [
            "",
            "---",
            " Acme",
            "Acme ",
            "Ac\tme",
            &"a".repeat(TENANT_NAME_MAX + 1),
        ] {
            let p = check_tenant_name(bad).unwrap_err();
            assert_eq!(
                (p.status, p.errors[0].field.as_str()),
                (422, "name"),
                "{bad:?}"
            );
        }
    }
}
