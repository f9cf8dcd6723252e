//! Bearer API keys. A request without a valid key gets a 401 problem before
//! any handler runs.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use uuid::Uuid;

use crate::AppState;
use crate::problem::Problem;

/// The tenant the caller's API key belongs to.
#[derive(Clone, Debug)]
pub struct Tenant {
    pub id: Uuid,
    pub name: String,
    /// `customer`, `ops` or `admin` (onramp_store::auth::ROLE_*).
    pub role: String,
    /// Who is acting, for audit records: `key <prefix>… (<name>)` for an API
    /// key, `user <email>` for a signed-in person.
    pub actor: String,
}

impl FromRequestParts<AppState> for Tenant {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let unauthorized = |detail: &str| {
            Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Authentication required",
                detail,
            )
            .with_hint("send `Authorization: Bearer <api key>`")
        };
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| unauthorized("no API key was presented"))?;
        let key = header
            .strip_prefix("Bearer ")
            .ok_or_else(|| unauthorized("the Authorization header is not a Bearer token"))?;
        let (tenant, key) = onramp_store::auth::caller_for_key(&state.db, key.trim())
            .await?
            .ok_or_else(|| unauthorized("the API key is unknown or revoked"))?;
        Ok(Tenant {
            id: tenant.id,
            name: tenant.name,
            role: key.role,
            actor: format!("key {}… ({})", key.key_prefix, key.name),
        })
    }
}

/// A caller whose API key has role `admin`: the inventory admin API. No key
/// is a 401 as for [`Tenant`]; a key of another role is a 403.
impl Tenant {
    /// Whose objects this caller may read: its own tenant's, or every
    /// tenant's for `ops` and `admin` keys. Writes stay within the caller's
    /// own tenant whatever the role.
    pub fn read_scope(&self) -> Option<Uuid> {
        match self.role.as_str() {
            onramp_store::auth::ROLE_OPS | onramp_store::auth::ROLE_ADMIN => None,
            // Customers, and any role this code does not know, see their own.
            _ => Some(self.id),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Admin(pub Tenant);

impl FromRequestParts<AppState> for Admin {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let tenant = Tenant::from_request_parts(parts, state).await?;
        if tenant.role != onramp_store::auth::ROLE_ADMIN {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Forbidden",
                format!(
                    "this endpoint needs an API key with role `admin`; the key presented has role `{}`",
                    tenant.role
                ),
            )
            .with_hint("ask the operator for an admin key"));
        }
        Ok(Admin(tenant))
    }
}
