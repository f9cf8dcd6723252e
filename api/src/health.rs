use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use sea_orm::ConnectionTrait;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;
use crate::problem::{FieldError, Problem};

#[derive(Serialize, ToSchema)]
pub(crate) struct Health {
    pub status: &'static str,
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(liveness))
        .routes(routes!(readiness))
}

/// Liveness: the process serves HTTP.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "Alive", body = Health)))]
async fn liveness() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Readiness: the database answers (a problem naming it when not).
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "Not ready", body = Problem, content_type = "application/problem+json"),
    ))]
async fn readiness(State(state): State<AppState>) -> Result<Json<Health>, Problem> {
    // The API needs its database and nothing else: jobs go through the
    // outbox, so NATS being away delays them without failing a request
    // (docs/decisions/0016). Workers' readiness covers NATS.
    state.db.execute_unprepared("SELECT 1").await.map_err(|e| {
        let detail = format!("the database does not answer: {e}");
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "Not ready",
            detail.clone(),
        )
        .with_errors(vec![FieldError {
            field: "database".into(),
            code: "unreachable".into(),
            detail,
        }])
    })?;
    Ok(Json(Health { status: "ready" }))
}
