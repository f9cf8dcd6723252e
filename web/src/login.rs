//! Signing in and out, and `/`, which sends each person to their home:
//! the ops console for staff, the portal for customers.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use minijinja::context;
use minijinja::value::Serde;
use onramp_api::AppState;
use onramp_api::auth::session_cookie;
use serde::Deserialize;

use crate::render::{error_page, page};
use crate::session::{
    SESSION_TTL, WebUser, current, session_clear_cookie, session_set_cookie, with_cookie,
};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
}

/// Where to go after signing in: only a path on this site, so a crafted
/// link cannot bounce a fresh session to another origin.
fn safe_next(next: Option<&str>) -> Option<String> {
    let n = next?.trim();
    let ok = n.starts_with('/')
        && !n.starts_with("//")
        && !n.starts_with("/\\")
        && !n.chars().any(char::is_control)
        && !n.starts_with("/login")
        && !n.starts_with("/logout");
    ok.then(|| n.to_string())
}

async fn home(State(state): State<AppState>, parts: Parts) -> Response {
    match current(&parts, &state).await {
        Some(u) => Redirect::to(u.home()).into_response(),
        None => Redirect::to("/login").into_response(),
    }
}

#[derive(Deserialize, Default)]
struct LoginQuery {
    next: Option<String>,
}

async fn login_form(
    State(state): State<AppState>,
    Query(q): Query<LoginQuery>,
    parts: Parts,
) -> Response {
    if let Some(u) = current(&parts, &state).await {
        let to = safe_next(q.next.as_deref()).unwrap_or_else(|| u.home().to_string());
        return Redirect::to(&to).into_response();
    }
    login_page(StatusCode::OK, "", q.next.as_deref(), &[])
}

fn login_page(
    status: StatusCode,
    email: &str,
    next: Option<&str>,
    errors: &[(&str, &str)],
) -> Response {
    let errors: std::collections::BTreeMap<&str, &str> = errors.iter().copied().collect();
    page(
        status,
        "login.html",
        context! {
            email => email,
            next => safe_next(next).unwrap_or_default(),
            errors => Serde(&errors),
            user => None::<()>,
            area => None::<()>,
        },
    )
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let mut missing = Vec::new();
    if f.email.trim().is_empty() {
        missing.push(("email", "Enter your email address."));
    }
    if f.password.is_empty() {
        missing.push(("password", "Enter your password."));
    }
    if !missing.is_empty() {
        return login_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &f.email,
            f.next.as_deref(),
            &missing,
        );
    }
    let who = onramp_store::users::normalize_email(&f.email);
    let throttle = crate::throttle::global();
    if let Some(wait) = throttle.locked(&who, std::time::Instant::now()) {
        tracing::warn!(email = %who, "sign-in refused: too many failed attempts");
        let minutes = wait.as_secs().div_ceil(60);
        let mut resp = login_page(
            StatusCode::TOO_MANY_REQUESTS,
            &f.email,
            f.next.as_deref(),
            &[(
                "form",
                &format!(
                    "Too many failed sign-ins for this email. Try again in {minutes} minute{}.",
                    if minutes == 1 { "" } else { "s" }
                ),
            )],
        );
        resp.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(wait.as_secs().max(1)),
        );
        return resp;
    }
    let found = match onramp_store::users::authenticate(&state.db, &f.email, &f.password).await {
        Ok(found) => found,
        Err(e) => {
            tracing::error!(error = %e, "sign-in failed");
            return error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sign-in is unavailable",
                "onramp could not check your password. Try again in a moment.",
                None,
            );
        }
    };
    let Some((user, _tenant)) = found else {
        throttle.failed(&who, std::time::Instant::now());
        tracing::info!(email = %who, "sign-in refused");
        // One message for both: which emails exist is nobody's business.
        return login_page(
            StatusCode::UNAUTHORIZED,
            &f.email,
            f.next.as_deref(),
            &[("form", "The email or the password is wrong.")],
        );
    };
    let session = match onramp_store::users::open_session(&state.db, user.id, SESSION_TTL).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "opening a session failed");
            return error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sign-in is unavailable",
                "onramp could not start your session. Try again in a moment.",
                None,
            );
        }
    };
    throttle.succeeded(&who);
    tracing::info!(user = %user.email, role = %user.role, "signed in");
    let to = safe_next(f.next.as_deref())
        .unwrap_or_else(|| crate::session::home_for(&user.role).to_string());
    with_cookie(
        Redirect::to(&to).into_response(),
        session_set_cookie(&session.token, crate::session::over_https(&headers)),
    )
}

#[derive(Deserialize)]
struct LogoutForm {
    #[serde(default)]
    csrf_token: String,
}

async fn logout(
    State(state): State<AppState>,
    parts: Parts,
    Form(f): Form<LogoutForm>,
) -> Response {
    if let Some(user) = current(&parts, &state).await {
        // Another site must not be able to sign people out either.
        if let Err(resp) = WebUser::check_csrf(&user, &f.csrf_token) {
            return resp;
        }
        if let Some(token) = session_cookie(&parts.headers)
            && let Err(e) = onramp_store::users::close_session(&state.db, &token).await
        {
            tracing::error!(error = %e, "closing a session failed");
        }
    }
    with_cookie(
        Redirect::to("/login").into_response(),
        session_clear_cookie(),
    )
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(
            safe_next(Some("/console/tasks/1")).as_deref(),
            Some("/console/tasks/1")
        );
        for bad in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil",
            "evil",
            "/login",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), None, "{bad}");
        }
        assert_eq!(safe_next(None), None);
    }
}
