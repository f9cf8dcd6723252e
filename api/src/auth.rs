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
        let (tenant, role) = onramp_store::auth::tenant_for_key(&state.db, key.trim())
            .await?
            .ok_or_else(|| unauthorized("the API key is unknown or revoked"))?;
        Ok(Tenant {
            id: tenant.id,
            name: tenant.name,
            role,
        })
    }
}
