//! Rendering pages: the embedded templates, the headers every page carries,
//! and the error page.

use std::sync::OnceLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::Environment;
use minijinja::value::Serde;
use serde::Serialize;

use crate::session::WebUser;

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // `.html` templates are auto-escaped by minijinja's default rule.
        minijinja_embed::load_templates!(&mut env);
        // A misspelt variable fails the render (and the tests) instead of
        // printing nothing; `{% if x %}` on a missing one stays allowed.
        env.set_undefined_behavior(minijinja::UndefinedBehavior::SemiStrict);
        env
    })
}

/// Script and style only from `/assets`, requests only to this origin, no
/// framing: an injected tag can neither run nor phone home.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The headers of every HTML answer.
pub fn html_headers(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    // Pages show a person's tenant's data; never keep them in a shared cache.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// Renders `template` with `ctx` as the page's answer. A template error is a
/// bug: it is logged and the person gets the plain error page.
pub fn page(status: StatusCode, template: &str, ctx: impl Serialize) -> Response {
    match env()
        .get_template(template)
        .and_then(|t| t.render(Serde(&ctx)))
    {
        Ok(html) => {
            let mut resp = (status, html).into_response();
            html_headers(&mut resp);
            resp
        }
        Err(e) => {
            tracing::error!(template, error = %format!("{e:#}"), "rendering a page failed");
            let mut resp = (
                StatusCode::INTERNAL_SERVER_ERROR,
                "<!doctype html><title>Error</title><p>This page could not be shown. \
                 The error is in onramp's log."
                    .to_string(),
            )
                .into_response();
            html_headers(&mut resp);
            resp
        }
    }
}

/// The error page, inside the layout when someone is signed in.
pub fn error_page(
    status: StatusCode,
    title: &str,
    detail: &str,
    user: Option<&WebUser>,
) -> Response {
    page(
        status,
        "error.html",
        minijinja::context! {
            title => title,
            detail => detail,
            status => status.as_u16(),
            user => Serde(user.map(WebUser::view)),
            area => user.map(WebUser::home_area),
        },
    )
}
