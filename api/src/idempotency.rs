//! `Idempotency-Key` on every POST: a retried request gets the original
//! answer back and creates nothing new. Applied as middleware over all
//! routes, so a new POST endpoint honours the header without doing anything.
//! See docs/decisions/0004-idempotency-keys.md.
//!
//! Without the header nothing changes. With it:
//! - an unauthenticated request goes on to the handler (which answers 401)
//!   and is never recorded;
//! - a malformed key is a 400 naming the header;
//! - the first request of a key runs, and its answer (2xx or 4xx) is kept
//!   for 24 h; a 5xx is not kept, so a retry runs again;
//! - a retry with the same method, path, query and body gets the kept answer
//!   with `Idempotent-Replayed: true`, after waiting for the first if it is
//!   still running;
//! - the same key with another request is a 422 and nothing runs.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use onramp_store::idempotency::{self as store, Begin, Claim, Scope, StoredResponse};
use tracing::Instrument;

use crate::AppState;
use crate::auth::Tenant;
use crate::problem::{FieldError, Problem};

/// The request header (IETF draft-ietf-httpapi-idempotency-key-header).
pub(crate) const HEADER: &str = "Idempotency-Key";
/// Set to `true` on an answer that is a replay of an earlier one.
pub(crate) const REPLAYED: &str = "Idempotent-Replayed";

const MAX_KEY_LEN: usize = 255;
/// How long a retry waits for the first request of its key to finish.
pub(crate) const DEFAULT_WAIT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(50);
/// What a 409 `idempotency_in_progress` suggests before trying again.
const RETRY_AFTER_SECS: u64 = 5;
/// At most one purge of expired keys per process per minute.
const PURGE_EVERY_MS: i64 = 60_000;

/// The headers of an answer worth replaying; the rest (date, length) are
/// the server's to set again.
fn replayed_headers() -> [HeaderName; 2] {
    [header::CONTENT_TYPE, header::LOCATION]
}

pub(crate) async fn middleware(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    if req.method() != Method::POST || !req.headers().contains_key(HEADER) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    // The handler's own extractor answers 401 (or 500, if the database is
    // down); nothing is recorded for a caller we cannot name.
    let Ok(tenant) = Tenant::from_request_parts(&mut parts, &state).await else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let key = match parse_key(&parts.headers) {
        Ok(k) => k,
        Err(p) => return p.into_response(),
    };
    // crate::body::limit has read the body already, so only its size can
    // be at fault here.
    let Ok(body) = axum::body::to_bytes(body, crate::body::MAX_BODY).await else {
        return crate::body::payload_too_large().into_response();
    };
    let scope = Scope {
        tenant_id: tenant.id,
        role: tenant.role.clone(),
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
    };
    let fingerprint = store::fingerprint(
        &scope.method,
        &scope.path,
        parts.uri.query().unwrap_or(""),
        &body,
    );
    purge_now_and_then(&state);

    let started = Instant::now();
    loop {
        let begun = store::begin(&state.db, &state.secrets, &scope, &key, &fingerprint).await;
        match begun {
            Ok(Begin::Run(claim)) => {
                let req = Request::from_parts(parts, Body::from(body));
                return run(&state, claim, req, next).await;
            }
            Ok(Begin::Replay(stored)) => return replay(stored),
            Ok(Begin::Mismatch) => return reused(&key, &scope).into_response(),
            Ok(Begin::InProgress) if started.elapsed() < state.idempotency_wait => {
                tokio::time::sleep(POLL).await;
            }
            Ok(Begin::InProgress) => return in_progress(&key).into_response(),
            Err(e) => return Problem::from(e).into_response(),
        }
    }
}

/// Runs the request on its own task and records the answer there, so a
/// client that hangs up (a timeout, the usual reason to retry) cannot cancel
/// the request between its commit and the recording of its answer.
async fn run(state: &AppState, claim: Claim, req: Request, next: Next) -> Response {
    let db = state.db.clone();
    let secrets = state.secrets.clone();
    // The span and the request id go along: the handler's outbox rows
    // record the id, and its log lines sit in the request's span.
    let task = tokio::spawn(onramp_signals::request_id::propagate(
        async move {
            let res = next.run(req).await;
            let (parts, body) = res.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
                tracing::error!("the handler's response body failed; not recorded");
                if let Err(e) = store::abandon(&db, claim).await {
                    tracing::error!(error = %e, "cannot drop an idempotency key");
                }
                return Problem::internal().into_response();
            };
            if parts.status.is_server_error() {
                // Not kept: the retry should run again.
                if let Err(e) = store::abandon(&db, claim).await {
                    tracing::error!(error = %e, "cannot drop an idempotency key");
                }
            } else {
                // A secret shown once is not kept for replays: the retry
                // gets the same answer with the secret withheld (null).
                let kept = match parts.extensions.get::<Withhold>() {
                    Some(w) => withhold(&bytes, w.0),
                    None => bytes.to_vec(),
                };
                let stored = StoredResponse {
                    status: parts.status.as_u16(),
                    headers: replayed_headers()
                        .iter()
                        .flat_map(|name| {
                            parts.headers.get_all(name).iter().filter_map(|v| {
                                Some((name.as_str().to_string(), v.to_str().ok()?.to_string()))
                            })
                        })
                        .collect(),
                    body: kept,
                };
                match store::complete(&db, &secrets, claim, &stored).await {
                    Ok(true) => {}
                    Ok(false) => tracing::warn!(
                        "an idempotent request outlived its lease and was taken over; its answer is not recorded"
                    ),
                    // The row stays in progress until its lease ends: a
                    // retry meanwhile gets 409, never a second order.
                    Err(e) => tracing::error!(error = %e, "cannot record an idempotent answer"),
                }
            }
            Response::from_parts(parts, Body::from(bytes))
        }
        .instrument(tracing::Span::current()),
    ));
    match task.await {
        Ok(res) => res,
        Err(e) => {
            tracing::error!(error = %e, "an idempotent request's handler failed");
            if let Err(e) = store::abandon(&state.db, claim).await {
                tracing::error!(error = %e, "cannot drop an idempotency key");
            }
            Problem::internal().into_response()
        }
    }
}

/// Marks an answer that holds a secret shown once: these JSON pointers
/// (e.g. `/key`) are set to null in the copy kept for `Idempotency-Key`
/// replays, so a retry creates nothing new and onramp keeps no secret.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Withhold(pub &'static [&'static str]);

fn withhold(body: &[u8], pointers: &[&str]) -> Vec<u8> {
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(body) else {
        // Not JSON (a handler's bug): keep nothing of it rather than the secret.
        return b"{}".to_vec();
    };
    for p in pointers {
        if let Some(slot) = v.pointer_mut(p) {
            *slot = serde_json::Value::Null;
        }
    }
    serde_json::to_vec(&v).unwrap_or_default()
}

fn replay(stored: StoredResponse) -> Response {
    let mut res = Response::new(Body::from(stored.body));
    *res.status_mut() =
        StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = res.headers_mut();
    for (name, value) in stored.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.append(n, v);
        }
    }
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    res
}

/// The key: one header of 1 to 255 printable ASCII characters.
fn parse_key(headers: &axum::http::HeaderMap) -> Result<String, Problem> {
    let mut values = headers.get_all(HEADER).iter();
    let value = values
        .next()
        .map(axum::http::HeaderValue::as_bytes)
        .unwrap_or_default();
    let fault = if values.next().is_some() {
        Some("send one Idempotency-Key header, not several".to_string())
    } else if value.is_empty() || value.len() > MAX_KEY_LEN {
        Some(format!(
            "the Idempotency-Key must be 1 to {MAX_KEY_LEN} characters long (got {})",
            value.len()
        ))
    } else if !value.iter().all(|b| (0x20..=0x7e).contains(b)) {
        Some("the Idempotency-Key must be printable ASCII".to_string())
    } else {
        None
    };
    match fault {
        None => Ok(String::from_utf8_lossy(value).into_owned()),
        Some(detail) => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_idempotency_key",
            "Invalid Idempotency-Key",
            detail.clone(),
        )
        .with_errors(vec![FieldError {
            field: HEADER.into(),
            code: "invalid_format".into(),
            detail,
        }])
        .with_hint("use a fresh random value per request, e.g. a UUID")),
    }
}

fn reused(key: &str, scope: &Scope) -> Problem {
    let detail = format!(
        "the Idempotency-Key `{key}` was already used for a different request to {} {}; nothing was done",
        scope.method, scope.path
    );
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
        "Idempotency-Key reused",
        detail.clone(),
    )
    .with_errors(vec![FieldError {
        field: HEADER.into(),
        code: "reused".into(),
        detail,
    }])
    .with_hint(
        "a retry must repeat the original request byte for byte (query string and body); \
         send a new key for a new request",
    )
}

fn in_progress(key: &str) -> Problem {
    let detail = format!(
        "the request with Idempotency-Key `{key}` is still running; its answer is not known yet"
    );
    Problem::new(
        StatusCode::CONFLICT,
        "idempotency_in_progress",
        "Request still in progress",
        detail.clone(),
    )
    .with_errors(vec![FieldError {
        field: HEADER.into(),
        code: "in_progress".into(),
        detail,
    }])
    .with_hint("retry with the same key later to get its answer")
    .with_retry_after(RETRY_AFTER_SECS)
}

/// Deletes expired keys in the background, at most once a minute.
fn purge_now_and_then(state: &AppState) {
    static LAST_MS: AtomicI64 = AtomicI64::new(0);
    let now = chrono::Utc::now().timestamp_millis();
    let last = LAST_MS.load(Ordering::Relaxed);
    if now - last < PURGE_EVERY_MS
        || LAST_MS
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        return;
    }
    let db = state.db.clone();
    tokio::spawn(async move {
        match store::purge_expired(&db).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "expired idempotency keys purged"),
            Err(e) => tracing::warn!(error = %e, "cannot purge expired idempotency keys"),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(v: &[u8]) -> Result<String, Problem> {
        let mut h = axum::http::HeaderMap::new();
        h.insert(HEADER, HeaderValue::from_bytes(v).unwrap());
        parse_key(&h)
    }

    #[test]
    fn keys_are_1_to_255_printable_ascii() {
        assert_eq!(key(b"a").unwrap(), "a");
        assert!(key(&[b'k'; 255]).is_ok());
        assert!(key(b"order 42 / retry").is_ok());
        for bad in [&b""[..], &[b'k'; 256], "café".as_bytes(), b"a\tb"] {
            let p = key(bad).unwrap_err();
            assert_eq!(p.status, 400);
            assert_eq!(p.code, "invalid_idempotency_key");
            assert_eq!(p.errors[0].field, HEADER);
        }
        let mut h = axum::http::HeaderMap::new();
        h.append(HEADER, HeaderValue::from_static("a"));
        h.append(HEADER, HeaderValue::from_static("b"));
        assert_eq!(parse_key(&h).unwrap_err().status, 400);
    }

    #[test]
    fn replay_sets_status_headers_body_and_marker() {
        let res = replay(StoredResponse {
            status: 202,
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("location".into(), "/v1/connectors/1".into()),
            ],
            body: b"{}".to_vec(),
        });
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        assert_eq!(res.headers()[header::LOCATION], "/v1/connectors/1");
        assert_eq!(res.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(res.headers()[REPLAYED], "true");
    }
}

#[cfg(test)]
mod withhold_tests {
    use super::withhold;

    #[test]
    fn secrets_are_nulled_in_the_kept_copy_only_where_named() {
        let body = br#"{"id":"k1","key":"onr_secret","api_key":{"key":"onr_2","name":"n"}}"#;
        let kept: serde_json::Value =
            serde_json::from_slice(&withhold(body, &["/key", "/api_key/key", "/absent"])).unwrap();
        assert_eq!(
            kept,
            serde_json::json!({"id":"k1","key":null,"api_key":{"key":null,"name":"n"}})
        );
        assert!(
            !String::from_utf8_lossy(&withhold(b"not json onr_secret", &["/key"]))
                .contains("onr_secret")
        );
    }
}
