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
        let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
            // The portal and console are clients of this API too: a browser
            // signed in at /login presents its session cookie instead.
            if let Some(token) = session_cookie(&parts.headers) {
                return session_caller(parts, state, &token).await;
            }
            return Err(unauthorized("no API key was presented"));
        };
        let header = header
            .to_str()
            .map_err(|_| unauthorized("the Authorization header is not a Bearer token"))?;
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

/// The name of the cookie that carries a browser's session token.
pub const SESSION_COOKIE: &str = "onramp_session";
/// The header a signed-in browser's scripts echo the session's CSRF token
/// in, on every request that may change something.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The session token in the request's `Cookie` header(s), if any.
pub fn session_cookie(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

/// The caller behind a session cookie. A cookie rides along with any
/// request the browser makes, also one another site triggers, so a request
/// that may change something must also carry the session's CSRF token in a
/// header, which only onramp's own pages can read.
async fn session_caller(parts: &Parts, state: &AppState, token: &str) -> Result<Tenant, Problem> {
    let Some(s) = onramp_store::users::session(&state.db, token).await? else {
        return Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Authentication required",
            "the session has ended or is unknown",
        )
        .with_hint("sign in again at /login, or send `Authorization: Bearer <api key>`"));
    };
    let safe = matches!(
        parts.method,
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    let echoed = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    if !safe && echoed != Some(s.csrf_token.as_str()) {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "csrf_token_mismatch",
            "Forbidden",
            "a request made with a session cookie that may change something must carry the \
             session's CSRF token",
        )
        .with_errors(vec![crate::problem::FieldError {
            field: CSRF_HEADER.into(),
            code: "mismatch".into(),
            detail: "missing, or not this session's token".into(),
        }])
        .with_hint("API clients should use an API key instead of a cookie"));
    }
    Ok(Tenant {
        id: s.tenant.id,
        name: s.tenant.name,
        role: s.user.role,
        actor: format!("user {}", s.user.email),
    })
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

/// A caller whose API key is the operator's staff's: role `ops` or
/// `admin`. For what ops engineers do day to day (a PE's maintenance),
/// where changing the inventory itself stays with [`Admin`].
#[derive(Clone, Debug)]
pub struct Operator(pub Tenant);

impl FromRequestParts<AppState> for Operator {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let tenant = Tenant::from_request_parts(parts, state).await?;
        if tenant.role != onramp_store::auth::ROLE_ADMIN
            && tenant.role != onramp_store::auth::ROLE_OPS
        {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Forbidden",
                format!(
                    "this endpoint needs an API key with role `ops` or `admin`; the key presented has role `{}`",
                    tenant.role
                ),
            )
            .with_hint("ask the operator for an ops key"));
        }
        Ok(Operator(tenant))
    }
}

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
