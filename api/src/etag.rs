//! ETags on every JSON read, and `If-Match` on every update, so that two
//! clients (a CI pipeline and a person in the portal) cannot overwrite each
//! other's change unknowingly.
//!
//! The ETag is a digest of the representation itself, so it needs no version
//! column and means exactly "what you read": it changes whenever the JSON a
//! GET returns changes, including a worker moving a connector on.
//!
//! An update (`PATCH`, `PUT`) that sends `If-Match` is compared with the
//! resource's current representation, read through the same router with the
//! caller's own credentials (so the read is scoped as the caller's would
//! be); on a mismatch nothing runs and the answer is 412. As RFC 9110
//! 13.2.1 orders it, the request's own checks (the key, the resource's
//! existence) come first and the precondition before the body is read, so
//! a stale If-Match with a bad body is a 412. The comparison is
//! made just before the update: it catches a stale read, not two writers
//! within the same milliseconds (each store update is itself atomic).
//! `If-None-Match` on a GET answers 304 when nothing changed.

use std::collections::HashSet;
use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tower::ServiceExt;

use crate::problem::Problem;

/// JSON answers larger than this are passed on without an ETag (none is
/// near it; lists are paged).
const MAX_BODY: usize = 4 << 20;

/// The strong ETag of a representation.
pub(crate) fn of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!("\"{}\"", hex::encode(&digest[..12]))
}

/// Where the representation an update changes is read. An action on a
/// sub-path (`PUT /v1/connectors/{id}/vif`) changes its parent.
fn resource_path(path: &str) -> &str {
    path.strip_suffix("/vif").unwrap_or(path)
}

pub(crate) async fn middleware(State(inner): State<Router>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    if method == Method::PATCH || method == Method::PUT {
        if let Some(if_match) = req
            .headers()
            .get(header::IF_MATCH)
            .filter(|_| is_update(&req))
            .cloned()
        {
            // Only owned values cross the await: a request body is not Sync.
            let path = req.uri().path().to_string();
            // The caller's credentials, whichever it uses: an API key, or
            // a person's session cookie (the portal), so the read is the
            // caller's own.
            let auth: Vec<(header::HeaderName, HeaderValue)> =
                [header::AUTHORIZATION, header::COOKIE]
                    .into_iter()
                    .filter_map(|h| req.headers().get(&h).cloned().map(|v| (h, v)))
                    .collect();
            if let Err(p) = precondition(&inner, &path, auth, &if_match).await {
                return p.into_response();
            }
        }
    } else if method != Method::GET {
        return next.run(req).await;
    }
    let if_none_match = req.headers().get(header::IF_NONE_MATCH).cloned();
    let resp = next.run(req).await;
    let (resp, tag) = tagged(resp).await;
    match (tag, if_none_match) {
        (Some(tag), Some(inm)) if method == Method::GET && matches(&inm, &tag) => {
            let mut r = StatusCode::NOT_MODIFIED.into_response();
            r.headers_mut()
                .insert(header::ETAG, HeaderValue::from_str(&tag).expect("hex"));
            r
        }
        _ => resp,
    }
}

/// Whether the request is an update the API has: a path may lack the
/// method (PATCH where only PUT is routed), and its 405 comes first.
fn is_update(req: &Request) -> bool {
    static UPDATES: OnceLock<HashSet<(String, String)>> = OnceLock::new();
    let updates = UPDATES.get_or_init(|| {
        let doc = crate::openapi();
        let mut set = HashSet::new();
        for (path, item) in &doc.paths.paths {
            if item.put.is_some() {
                set.insert(("PUT".to_string(), path.clone()));
            }
            if item.patch.is_some() {
                set.insert(("PATCH".to_string(), path.clone()));
            }
        }
        set
    });
    req.extensions()
        .get::<MatchedPath>()
        .is_some_and(|p| updates.contains(&(req.method().to_string(), p.as_str().to_string())))
}

/// Adds the ETag to a successful JSON answer.
async fn tagged(resp: Response) -> (Response, Option<String>) {
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !resp.status().is_success() || !is_json {
        return (resp, None);
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        // Cannot happen for our own JSON; say so rather than send half.
        return (Problem::internal().into_response(), None);
    };
    let tag = of(&bytes);
    parts
        .headers
        .insert(header::ETAG, HeaderValue::from_str(&tag).expect("hex"));
    (Response::from_parts(parts, Body::from(bytes)), Some(tag))
}

/// Whether an `If-Match` / `If-None-Match` value names `tag`: `*`, or a
/// list of ETags. A weak ETag (`W/"…"`) never matches: onramp's are strong.
fn matches(value: &HeaderValue, tag: &str) -> bool {
    let Ok(text) = value.to_str() else {
        return false;
    };
    text.split(',').map(str::trim).any(|t| t == "*" || t == tag)
}

async fn precondition(
    inner: &Router,
    path: &str,
    auth: Vec<(header::HeaderName, HeaderValue)>,
    if_match: &HeaderValue,
) -> Result<(), Problem> {
    let malformed = || {
        Problem::field(
            "If-Match",
            "invalid_value",
            "If-Match must be `*` or one or more quoted ETags from a GET of this resource",
        )
    };
    // The request's own checks come first (RFC 9110 13.2.1): reading the
    // resource as the caller authenticates and authorizes it.
    let current = current_tag(inner, path, auth).await;
    let Some(current) = current else {
        // Not readable (no key, unknown, another tenant's): the update
        // itself answers that, the same as without If-Match.
        return Ok(());
    };
    let text = if_match.to_str().map_err(|_| malformed())?.trim();
    let well_formed = text == "*"
        || text.split(',').map(str::trim).all(|t| {
            let t = t.strip_prefix("W/").unwrap_or(t);
            t.len() >= 2 && t.starts_with('"') && t.ends_with('"')
        });
    if !well_formed {
        return Err(malformed());
    }
    if matches(if_match, &current) {
        return Ok(());
    }
    Err(Problem::new(
        StatusCode::PRECONDITION_FAILED,
        "precondition_failed",
        "The resource has changed",
        format!(
            "If-Match {text} does not match the resource's current ETag {current}: it changed since you read it"
        ),
    )
    .with_hint("GET it again, re-apply your change, and send the new ETag")
    .with_errors(vec![crate::problem::FieldError {
        field: "If-Match".into(),
        code: "stale".into(),
        detail: format!("the current ETag is {current}"),
    }]))
}

/// The current ETag of the resource at `path`, read as the caller.
async fn current_tag(
    inner: &Router,
    path: &str,
    auth: Vec<(header::HeaderName, HeaderValue)>,
) -> Option<String> {
    let mut get = Request::builder()
        .method(Method::GET)
        .uri(resource_path(path))
        .body(Body::empty())
        .ok()?;
    for (name, value) in auth {
        get.headers_mut().insert(name, value);
    }
    let resp = inner.clone().oneshot(get).await.ok()?;
    if resp.status() != StatusCode::OK {
        return None;
    }
    let bytes = axum::body::to_bytes(resp.into_body(), MAX_BODY)
        .await
        .ok()?;
    Some(of(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_lists_and_wildcards() {
        let tag = of(b"{\"a\":1}");
        assert_eq!(tag.len(), 26);
        assert!(matches(&HeaderValue::from_static("*"), &tag));
        let list = HeaderValue::from_str(&format!("\"other\", {tag}")).unwrap();
        assert!(matches(&list, &tag));
        let weak = HeaderValue::from_str(&format!("W/{tag}")).unwrap();
        assert!(!matches(&weak, &tag));
        assert_ne!(of(b"{\"a\":2}"), tag);
        assert_eq!(resource_path("/v1/connectors/x/vif"), "/v1/connectors/x");
        assert_eq!(resource_path("/v1/admin/pes/x"), "/v1/admin/pes/x");
    }
}
