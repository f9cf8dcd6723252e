//! The API's operator signals: `GET /metrics` (the process's registry in
//! the Prometheus text format) and, for every request, its latency by
//! method, route template and status, plus one access-log line inside the
//! request's span.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;
use crate::auth::Operator;
use crate::problem::{NotOperator, Unauthenticated};

/// What requests no route matched are counted as: the path a client made
/// up must not become a label.
const UNMATCHED: &str = "unmatched";

/// Probes and scrapes: counted, but logged only at debug, or they would
/// drown the log.
const QUIET: [&str; 3] = ["/metrics", "/healthz", "/readyz"];

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics))
}

/// The route template of `req` (`/v1/connectors/{id}`), or `unmatched`.
pub(crate) fn route(req: &Request) -> &str {
    req.extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str)
}

pub(crate) async fn middleware(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = route(&req).to_owned();
    let res = next.run(req).await;
    let took = started.elapsed();
    let status = res.status().as_u16();
    onramp_signals::series::http_request(method.as_str(), &route, status, took);
    let took_ms = took.as_secs_f64() * 1000.0;
    if QUIET.contains(&route.as_str()) {
        tracing::debug!(status, took_ms, "request served");
    } else {
        tracing::info!(status, took_ms, "request served");
    }
    res
}

/// The metrics of this process in the Prometheus text exposition format:
/// request latency by route, and, where this process also runs a worker
/// (`onramp-dev`), the worker's series. For the operator's staff (an ops or
/// admin key as the scraper's bearer token): the API's listener faces
/// customers, and the series name PEs and providers.
#[utoipa::path(get, path = "/metrics", tag = "health",
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Prometheus text exposition format (0.0.4)",
            body = String, content_type = "text/plain"),
        Unauthenticated,
        NotOperator,
    ))]
async fn metrics(State(state): State<AppState>, _staff: Operator) -> Response {
    (
        [(header::CONTENT_TYPE, onramp_signals::CONTENT_TYPE)],
        state.scrape.render(),
    )
        .into_response()
}
