//! Who is signed in: the session cookie, read into a [`WebUser`] for pages,
//! and the guards pages use ([`Staff`] for the ops console).

use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use onramp_api::AppState;
use onramp_api::auth::{SESSION_COOKIE, session_cookie};
use onramp_store::auth::{ROLE_ADMIN, ROLE_OPS};
use serde::Serialize;
use uuid::Uuid;

use crate::render::error_page;

/// How long a sign-in lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// A signed-in person, as pages need them.
#[derive(Clone, Debug)]
pub struct WebUser {
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
    /// `customer`, `ops` or `admin`, as for API keys.
    pub role: String,
    pub tenant_id: Uuid,
    pub tenant_name: String,
    /// Forms post it back and scripts send it as `X-CSRF-Token`.
    pub csrf_token: String,
}

/// Operator staff (ops, admin) work in the console; everyone else is a
/// customer of the portal.
pub fn is_staff(role: &str) -> bool {
    role == ROLE_OPS || role == ROLE_ADMIN
}

/// Where a person of `role` lands after signing in.
pub fn home_for(role: &str) -> &'static str {
    if is_staff(role) {
        "/console"
    } else {
        "/portal"
    }
}

/// What templates see of the signed-in person (`user` in the layout).
#[derive(Serialize)]
pub struct UserView {
    pub email: String,
    pub name: String,
    pub role: String,
    pub tenant: String,
    pub csrf_token: String,
    pub staff: bool,
}

impl WebUser {
    /// The audit record's "who".
    pub fn actor(&self) -> String {
        format!("user {}", self.email)
    }

    /// Operator staff: the ops console is theirs.
    pub fn is_staff(&self) -> bool {
        is_staff(&self.role)
    }

    /// Where this person lands after signing in.
    pub fn home(&self) -> &'static str {
        home_for(&self.role)
    }

    /// `console` or `portal`: which navigation the layout shows.
    pub fn home_area(&self) -> &'static str {
        if self.is_staff() { "console" } else { "portal" }
    }

    pub fn view(&self) -> UserView {
        UserView {
            email: self.email.clone(),
            name: self.name.clone(),
            role: self.role.clone(),
            tenant: self.tenant_name.clone(),
            csrf_token: self.csrf_token.clone(),
            staff: self.is_staff(),
        }
    }

    /// Checks the CSRF token a form posted. The cookie alone proves only
    /// that the browser is signed in, not that this page sent the form.
    #[allow(clippy::result_large_err)]
    pub fn check_csrf(&self, posted: &str) -> Result<(), Response> {
        if !posted.is_empty() && posted == self.csrf_token {
            Ok(())
        } else {
            Err(error_page(
                StatusCode::FORBIDDEN,
                "The form has expired",
                "This form was not sent by an onramp page of your current session. \
                 Go back, reload the page and try again.",
                Some(self),
            ))
        }
    }
}

/// The session as a [`WebUser`], or `None` when the request carries no live
/// session.
pub async fn current(parts: &Parts, state: &AppState) -> Option<WebUser> {
    let token = session_cookie(&parts.headers)?;
    let s = match onramp_store::users::session(&state.db, &token).await {
        Ok(s) => s?,
        Err(e) => {
            tracing::error!(error = %e, "reading a session failed");
            return None;
        }
    };
    Some(WebUser {
        user_id: s.user.id,
        email: s.user.email,
        name: s.user.name,
        role: s.user.role,
        tenant_id: s.tenant.id,
        tenant_name: s.tenant.name,
        csrf_token: s.csrf_token,
    })
}

/// `/login?next=<this page>`: after signing in, the person comes back here.
fn to_login(parts: &Parts) -> Response {
    let here = parts
        .uri
        .path_and_query()
        .map(axum::http::uri::PathAndQuery::as_str)
        .unwrap_or("/");
    let mut next = String::new();
    for b in here.bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            next.push(b as char);
        } else {
            next.push_str(&format!("%{b:02X}"));
        }
    }
    Redirect::to(&format!("/login?next={next}")).into_response()
}

impl FromRequestParts<AppState> for WebUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        current(parts, state).await.ok_or_else(|| to_login(parts))
    }
}

/// A signed-in ops or admin user. Customers get a 403 page: the console
/// shows every tenant's orders.
#[derive(Clone, Debug)]
pub struct Staff(pub WebUser);

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let user = WebUser::from_request_parts(parts, state).await?;
        if !user.is_staff() {
            return Err(error_page(
                StatusCode::FORBIDDEN,
                "The ops console is for the operator's staff",
                "You are signed in as a customer. Your connectors are in the portal.",
                Some(&user),
            ));
        }
        Ok(Staff(user))
    }
}

/// Whether the browser reached onramp over HTTPS, as the TLS-terminating
/// proxy in front says (`X-Forwarded-Proto` or `Forwarded: proto=`). A
/// client faking it only makes its own cookie stricter, so the header needs
/// no trust.
pub fn over_https(headers: &axum::http::HeaderMap) -> bool {
    let says_https = |name: &str, pick: fn(&str) -> Option<&str>| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| pick(v).is_some_and(|p| p.trim().eq_ignore_ascii_case("https")))
    };
    says_https("x-forwarded-proto", |v| v.split(',').next())
        || says_https("forwarded", |v| {
            v.split([';', ','])
                .find_map(|kv| kv.trim().strip_prefix("proto="))
        })
}

/// The `Set-Cookie` value that signs a browser in; `Secure` when the
/// browser came over HTTPS, so the token never travels in the clear after.
pub fn session_set_cookie(token: &str, secure: bool) -> HeaderValue {
    // HttpOnly: scripts never see the token. SameSite=Lax: another site can
    // link here but cannot post with it; changes also need the CSRF token.
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        SESSION_TTL.as_secs(),
        if secure { "; Secure" } else { "" }
    ))
    .expect("a session token is a valid header value")
}

/// The `Set-Cookie` value that signs a browser out.
pub fn session_clear_cookie() -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
    ))
    .expect("a constant header value")
}

/// Adds `cookie` to a response.
pub fn with_cookie(mut resp: Response, cookie: HeaderValue) -> Response {
    resp.headers_mut().append(header::SET_COOKIE, cookie);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_is_read_from_the_proxy_headers() {
        let with = |name: &str, value: &str| {
            let mut h = axum::http::HeaderMap::new();
            h.insert(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
            h
        };
        assert!(over_https(&with("x-forwarded-proto", "https")));
        assert!(over_https(&with("x-forwarded-proto", "HTTPS, http")));
        assert!(over_https(&with("forwarded", "for=192.0.2.1;proto=https")));
        assert!(!over_https(&with("x-forwarded-proto", "http")));
        assert!(!over_https(&with("forwarded", "for=192.0.2.1")));
        assert!(!over_https(&axum::http::HeaderMap::new()));
        assert!(
            session_set_cookie("t", true)
                .to_str()
                .unwrap()
                .ends_with("; Secure")
        );
        assert!(
            !session_set_cookie("t", false)
                .to_str()
                .unwrap()
                .contains("Secure")
        );
    }
}
