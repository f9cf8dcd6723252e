//! The worker's own small HTTP listener (`--listen`, `ONRAMP_WORKER_LISTEN`):
//! `/metrics` for Prometheus, `/healthz` (the process serves HTTP) and
//! `/readyz` (the database answers AND the NATS connection is up; 503 with
//! a problem+json naming what is down otherwise), for a supervisor or a
//! load balancer. Workers serve no API, so this is all they listen for.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use onramp_signals::Scrape;
use onramp_store::DatabaseConnection;
use sea_orm::ConnectionTrait;
use serde_json::json;

/// One look at a dependency may take this long before it counts as down:
/// a readiness probe must answer even when the database hangs.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// What `/readyz` looks at and `/metrics` renders.
#[derive(Clone)]
pub struct HealthState {
    pub db: DatabaseConnection,
    /// The connection the relay and the job runner use.
    pub nats: async_nats::Client,
    pub scrape: Scrape,
}

pub fn router(state: HealthState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(not_found)
        .with_state(state)
}

/// Serves [`router`] on `listener` until `shutdown` resolves.
pub async fn serve_health(
    listener: tokio::net::TcpListener,
    state: HealthState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn metrics(State(s): State<HealthState>) -> Response {
    (
        [(header::CONTENT_TYPE, onramp_signals::CONTENT_TYPE)],
        s.scrape.render(),
    )
        .into_response()
}

async fn healthz() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

async fn readyz(State(s): State<HealthState>) -> Response {
    let mut down = Vec::new();
    match tokio::time::timeout(CHECK_TIMEOUT, s.db.execute_unprepared("SELECT 1")).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => down.push(("database", format!("the database does not answer: {e}"))),
        Err(_) => down.push((
            "database",
            format!("the database did not answer within {CHECK_TIMEOUT:?}"),
        )),
    }
    let nats = s.nats.connection_state();
    if nats != async_nats::connection::State::Connected {
        down.push(("nats", format!("the NATS connection is {nats}")));
    }
    if down.is_empty() {
        return axum::Json(json!({"status": "ready"})).into_response();
    }
    let detail = down
        .iter()
        .map(|(_, d)| d.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let errors: Vec<_> = down
        .iter()
        .map(|(what, d)| json!({"field": what, "code": "unreachable", "detail": d}))
        .collect();
    problem(
        StatusCode::SERVICE_UNAVAILABLE,
        json!({
            "type": "https://onramp.dev/problems/not_ready",
            "title": "Not ready",
            "status": 503,
            "code": "not_ready",
            "detail": detail,
            "errors": errors,
        }),
    )
}

async fn not_found() -> Response {
    problem(
        StatusCode::NOT_FOUND,
        json!({
            "type": "https://onramp.dev/problems/not_found",
            "title": "Not found",
            "status": 404,
            "code": "not_found",
            "detail": "a worker serves /metrics, /healthz and /readyz only",
        }),
    )
}

/// The same RFC 9457 shape the API answers with.
fn problem(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}
