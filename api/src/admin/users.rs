//! `/v1/admin/tenants/{id}/users`: the people who sign in to the portal
//! (role `customer`) and the ops console (`ops`, `admin`, on the operator's
//! tenant). A user acts for one tenant with one role, like an API key.
//!
//! The password is set by the admin at creation and never shown again; there
//! is no way to read it back, only its Argon2id hash is stored. Deleting a
//! user disables them and ends their sessions at once; the row stays, so the
//! audit records that name them keep meaning something.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use onramp_store::auth::{self as store_auth, ROLES};
use onramp_store::entity::user;
use onramp_store::users as store;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{parse_body, parse_id};
use crate::AppState;
use crate::auth::Admin;
use crate::body::ApiQuery;
use crate::page::{PageParams, slice};
use crate::problem::{
    BadQuery, FieldErrors, NotAdmin, NotJson, Problem, Unauthenticated, problem_json,
};

/// Shortest password accepted: people pick these, so length is the one
/// rule that helps (NIST SP 800-63B).
pub const PASSWORD_MIN: usize = 12;
const PASSWORD_MAX: usize = 1024;
const NAME_MAX: usize = 100;
const EMAIL_MAX: usize = 254;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, delete_user))
}

/// A person to create.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewUser {
    /// Their sign-in; unique across onramp, compared without case.
    #[schema(example = "ana@acme.example")]
    pub email: String,
    #[schema(example = "Ana Lima")]
    pub name: String,
    /// `customer`, `ops` or `admin`.
    #[schema(example = "customer")]
    pub role: String,
    /// At least 12 characters. Hand it to the person over a channel you
    /// trust; onramp never shows it again.
    pub password: String,
}

/// A person who can sign in, without any secret.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct User {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub email: String,
    pub name: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
    /// Set once the user is deleted: they can no longer sign in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<DateTime<Utc>>,
}

impl From<user::Model> for User {
    fn from(u: user::Model) -> Self {
        User {
            id: u.id,
            tenant_id: u.tenant_id,
            email: u.email,
            name: u.name,
            role: u.role,
            created_at: u.created_at,
            disabled_at: u.disabled_at,
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct UserList {
    pub items: Vec<User>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

fn user_url(tenant_id: Uuid, id: Uuid) -> String {
    format!("/v1/admin/tenants/{tenant_id}/users/{id}")
}

/// Every field error of a new user at once.
fn check_new_user(n: &NewUser) -> Result<(), Problem> {
    let mut errors = FieldErrors::default();
    let email = n.email.trim();
    let well_formed = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && !domain.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
    });
    if email.len() > EMAIL_MAX {
        errors.add(
            "email",
            "too_long",
            format!("at most {EMAIL_MAX} characters"),
        );
    } else if !well_formed || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        errors.add(
            "email",
            "invalid_format",
            format!(
                "`{}` is not an email address like ana@acme.example",
                n.email
            ),
        );
    }
    let name = n.name.trim();
    if name.is_empty() {
        errors.add("name", "required", "give the person's name".into());
    } else if name.chars().count() > NAME_MAX {
        errors.add("name", "too_long", format!("at most {NAME_MAX} characters"));
    } else if name.chars().any(char::is_control) {
        errors.add(
            "name",
            "invalid_format",
            "the name must not contain control characters".into(),
        );
    }
    if !ROLES.contains(&n.role.as_str()) {
        errors.add(
            "role",
            "unknown_role",
            format!(
                "`{}` is not a role; use one of {}",
                n.role,
                ROLES.join(", ")
            ),
        );
    }
    let chars = n.password.chars().count();
    if chars < PASSWORD_MIN {
        errors.add(
            "password",
            "too_short",
            format!("at least {PASSWORD_MIN} characters; this one has {chars}"),
        );
    } else if chars > PASSWORD_MAX {
        errors.add(
            "password",
            "too_long",
            format!("at most {PASSWORD_MAX} characters"),
        );
    }
    errors.finish()
}

/// List a tenant's users, by email.
#[utoipa::path(get, path = "/v1/admin/tenants/{id}/users", tag = "admin",
    params(("id" = Uuid, Path, description = "Tenant id"), PageParams),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The tenant's users, deleted ones included", body = UserList),
        BadQuery,
        Unauthenticated,
        NotAdmin,
        (status = 404, description = "No such tenant", body = Problem, content_type = problem_json()),
        (status = 422, description = "The limit or the cursor is invalid", body = Problem, content_type = problem_json()),
    ))]
async fn list_users(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<UserList>, Problem> {
    let page = p.checked::<(String, Uuid)>()?;
    let id = parse_id(&id, "tenant")?;
    store_auth::get_tenant(&state.db, id).await?;
    let (rows, next_cursor) = slice(store::list_users(&state.db, id).await?, &page, |u| {
        (u.email.clone(), u.id)
    });
    Ok(Json(UserList {
        items: rows.into_iter().map(User::from).collect(),
        next_cursor,
    }))
}

/// Create a user who signs in with an email and a password.
#[utoipa::path(post, path = "/v1/admin/tenants/{id}/users", tag = "admin",
    params(("id" = Uuid, Path, description = "Tenant id")),
    request_body(content = NewUser, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 201, description = "Created", body = User,
            headers(("Location" = String, description = "The user's URL"))),
        (status = 400, description = "Malformed JSON, or an invalid Idempotency-Key", body = Problem, content_type = problem_json()),
        Unauthenticated,
        NotAdmin,
        (status = 404, description = "No such tenant", body = Problem, content_type = problem_json()),
        (status = 409, description = "The email is taken", body = Problem, content_type = problem_json()),
        NotJson,
        (status = 422, description = "Invalid; `errors` names the fields", body = Problem, content_type = problem_json()),
    ))]
async fn create_user(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let id = parse_id(&id, "tenant")?;
    let new: NewUser = parse_body(&headers, &body)?;
    check_new_user(&new)?;
    store_auth::get_tenant(&state.db, id).await?;
    let u = store::create_user(
        &state.db,
        &store::NewUser {
            tenant_id: id,
            email: &new.email,
            name: &new.name,
            role: &new.role,
            password: &new.password,
        },
    )
    .await
    .map_err(super::tenants::duplicate_name)?;
    tracing::info!(user = %u.email, role = %u.role, tenant = %id, by = %who.actor, "user created");
    let location = user_url(id, u.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(User::from(u)),
    )
        .into_response())
}

/// One of a tenant's users.
#[utoipa::path(get, path = "/v1/admin/tenants/{id}/users/{user_id}", tag = "admin",
    params(("id" = Uuid, Path, description = "Tenant id"),
        ("user_id" = Uuid, Path, description = "User id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The user", body = User),
        Unauthenticated,
        NotAdmin,
        (status = 404, description = "No such user for this tenant", body = Problem, content_type = problem_json()),
    ))]
async fn get_user(
    State(state): State<AppState>,
    _admin: Admin,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Json<User>, Problem> {
    let id = parse_id(&id, "tenant")?;
    let user_id = parse_id(&user_id, "user")?;
    store::get_user(&state.db, id, user_id)
        .await?
        .map(|u| Json(u.into()))
        .ok_or_else(|| not_found(user_id))
}

fn not_found(id: Uuid) -> Problem {
    onramp_store::Error::NotFound {
        what: format!("user {id}"),
    }
    .into()
}

/// Delete a user: they can no longer sign in, and their sessions end now.
///
/// The record stays (with `disabled_at`), so audit entries naming them keep
/// their meaning; deleting a deleted user changes nothing.
#[utoipa::path(delete, path = "/v1/admin/tenants/{id}/users/{user_id}", tag = "admin",
    params(("id" = Uuid, Path, description = "Tenant id"),
        ("user_id" = Uuid, Path, description = "User id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Deleted; the user as they are now", body = User),
        Unauthenticated,
        NotAdmin,
        (status = 404, description = "No such user for this tenant", body = Problem, content_type = problem_json()),
    ))]
async fn delete_user(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Json<User>, Problem> {
    let id = parse_id(&id, "tenant")?;
    let user_id = parse_id(&user_id, "user")?;
    if !store::disable_user(&state.db, id, user_id).await? {
        return Err(not_found(user_id));
    }
    let u = store::get_user(&state.db, id, user_id)
        .await?
        .ok_or_else(|| not_found(user_id))?;
    tracing::info!(user = %u.email, tenant = %id, by = %who.actor, "user deleted");
    Ok(Json(u.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(email: &str, name: &str, role: &str, password: &str) -> NewUser {
        NewUser {
            email: email.into(),
            name: name.into(),
            role: role.into(),
            password: password.into(),
        }
    }

    fn fields(p: Problem) -> Vec<String> {
        p.errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn new_users_are_checked_field_by_field() {
        assert!(check_new_user(&new("ana@acme.example", "Ana", "ops", "twelve chars")).is_ok());
        let p = check_new_user(&new("ana", " ", "root", "short")).unwrap_err();
        assert_eq!(fields(p), ["email", "name", "role", "password"]);
        for bad in [
            "a@b",
            "@acme.example",
            "a@.example",
            "a b@acme.example",
            "a@acme.example.",
        ] {
            let p = check_new_user(&new(bad, "A", "customer", "twelve chars")).unwrap_err();
            assert_eq!(fields(p), ["email"], "{bad}");
        }
    }
}
