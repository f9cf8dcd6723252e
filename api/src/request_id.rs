//! Every answer carries `x-request-id`: the client's own when it sent a
//! sane one, a new UUID otherwise. The request runs inside a `request` span
//! holding it, with it as the current request id, so each log line of the
//! request names it and each job the request writes to the outbox carries
//! it to the worker (`onramp_signals::request_id`).

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use onramp_signals::request_id::{self, HEADER};
use tracing::Instrument;

pub(crate) async fn middleware(req: Request, next: Next) -> Response {
    let id = request_id::accept(req.headers().get(HEADER).and_then(|v| v.to_str().ok()));
    let span = tracing::info_span!(
        "request",
        method = %req.method(),
        route = crate::ops_signals::route(&req),
        request_id = %id,
    );
    let mut res = request_id::scope(Some(id.clone()), next.run(req))
        .instrument(span)
        .await;
    // Sane by construction (a UUID or an id that passed `is_sane`).
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HEADER, v);
    }
    res
}
