//! `/v1/admin/stuck-changes`: router changes handed to people after the PE
//! refused them too often (a teardown the PE keeps refusing), and the three
//! decisions an operator can make on one: retry it now, mark it done by
//! hand, or give up. Ops and admin keys; every decision is audited with the
//! caller and the reason (`onramp_store::stuck`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use onramp_store::stuck::{self as store, Decision, Refusal, StuckChange};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::parse_body;
use crate::AppState;
use crate::auth::Operator;
use crate::body::ApiQuery;
use crate::page::{PageParams, slice};
use crate::problem::{
    BadQuery, MalformedJson, NotJson, NotOperator, Problem, Unauthenticated, problem_json,
};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_stuck))
        .routes(routes!(get_stuck))
        .routes(routes!(retry_stuck))
        .routes(routes!(done_by_hand))
        .routes(routes!(give_up))
}

/// A router change handed to people.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct StuckChangeView {
    pub id: i64,
    /// `stuck` (waiting for a decision) or `abandoned` (given up: the
    /// connector keeps its resources until the change is marked done).
    pub status: String,
    pub pe: String,
    pub pe_id: Uuid,
    pub connector_id: Uuid,
    pub connector_state: String,
    pub tenant_id: Uuid,
    /// `delete` for a teardown.
    pub op: String,
    /// How often the PE refused it.
    pub attempts: i32,
    /// What the PE said, and why it was handed over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub since: DateTime<Utc>,
}

impl From<StuckChange> for StuckChangeView {
    fn from(c: StuckChange) -> Self {
        StuckChangeView {
            id: c.id,
            status: c.status,
            pe: c.pe,
            pe_id: c.pe_id,
            connector_id: c.connector_id,
            connector_state: c.connector_state,
            tenant_id: c.tenant_id,
            op: c.op,
            attempts: c.attempts,
            error: c.error,
            since: c.since,
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct StuckChangeList {
    pub items: Vec<StuckChangeView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Why the operator decided so, for the audit.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Decided {
    /// 1-500 characters, e.g. "removed unit 100 by hand, CHG-881".
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// Router changes handed to people, oldest first, a page at a time.
#[utoipa::path(get, path = "/v1/admin/stuck-changes", tag = "admin",
    params(PageParams),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Stuck and given-up changes", body = StuckChangeList),
        BadQuery,
        Unauthenticated,
        NotOperator,
        (status = 422, description = "The limit or the cursor is invalid", body = Problem, content_type = problem_json()),
    ))]
async fn list_stuck(
    State(state): State<AppState>,
    _who: Operator,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<StuckChangeList>, Problem> {
    let page = p.checked::<i64>()?;
    let all = store::list(&state.db).await?;
    let (rows, next_cursor) = slice(all, &page, |c| c.id);
    Ok(Json(StuckChangeList {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}

/// One router change handed to people.
#[utoipa::path(get, path = "/v1/admin/stuck-changes/{id}", tag = "admin",
    params(("id" = i64, Path, description = "Router change id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The change", body = StuckChangeView),
        Unauthenticated,
        NotOperator,
        (status = 404, description = "No such change handed to people", body = Problem, content_type = problem_json()),
    ))]
async fn get_stuck(
    State(state): State<AppState>,
    _who: Operator,
    Path(id): Path<String>,
) -> Result<Json<StuckChangeView>, Problem> {
    let id = parse_change_id(&id)?;
    Ok(Json(
        store::get(&state.db, id).await.map_err(refused)?.into(),
    ))
}

/// Retry it now: the cause is fixed, the PE's writer pushes it again on its
/// next turn and the connector waits on the router again.
#[utoipa::path(post, path = "/v1/admin/stuck-changes/{id}/retry", tag = "admin",
    params(("id" = i64, Path, description = "Router change id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Back in the PE's queue", body = StuckChangeView),
        Unauthenticated,
        NotOperator,
        (status = 404, description = "No such change handed to people", body = Problem, content_type = problem_json()),
        (status = 409, description = "`wrong_status`: given up already; `moved`: the connector moved on", body = Problem, content_type = problem_json()),
    ))]
async fn retry_stuck(
    State(state): State<AppState>,
    Operator(who): Operator,
    Path(id): Path<String>,
) -> Result<Json<StuckChangeView>, Problem> {
    let id = parse_change_id(&id)?;
    let c = store::decide(
        &state.db,
        id,
        Decision::RetryNow,
        &who.actor,
        "retry now",
        |_| Ok(None),
    )
    .await
    .map_err(refused)?;
    tracing::info!(change = id, actor = %who.actor, "stuck router change retried");
    Ok(Json(c.into()))
}

/// Mark it done by hand: an operator made the PE right themselves (removed
/// the unit), so the connector goes on as if the PE had taken the change.
/// Also releases a change given up earlier.
#[utoipa::path(post, path = "/v1/admin/stuck-changes/{id}/done", tag = "admin",
    params(("id" = i64, Path, description = "Router change id")),
    request_body(content = Decided, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Done; the connector goes on", body = StuckChangeView),
        MalformedJson,
        Unauthenticated,
        NotOperator,
        (status = 404, description = "No such change handed to people", body = Problem, content_type = problem_json()),
        (status = 409, description = "`moved`: the connector moved on", body = Problem, content_type = problem_json()),
        NotJson,
        (status = 422, description = "No reason given", body = Problem, content_type = problem_json()),
    ))]
async fn done_by_hand(
    State(state): State<AppState>,
    Operator(who): Operator,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<StuckChangeView>, Problem> {
    let id = parse_change_id(&id)?;
    let reason = reason(&headers, &body)?;
    let c = store::decide(
        &state.db,
        id,
        Decision::DoneByHand,
        &who.actor,
        &reason,
        onramp_kinds::transition::router_done,
    )
    .await
    .map_err(refused)?;
    tracing::info!(change = id, actor = %who.actor, %reason, "stuck router change done by hand");
    Ok(Json(c.into()))
}

/// Give up: nothing more is tried; the connector stays where it is, waiting
/// on ops, and keeps its resources until the change is marked done.
#[utoipa::path(post, path = "/v1/admin/stuck-changes/{id}/give-up", tag = "admin",
    params(("id" = i64, Path, description = "Router change id")),
    request_body(content = Decided, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Given up", body = StuckChangeView),
        MalformedJson,
        Unauthenticated,
        NotOperator,
        (status = 404, description = "No such change handed to people", body = Problem, content_type = problem_json()),
        (status = 409, description = "`wrong_status`: given up already; `moved`: the connector moved on", body = Problem, content_type = problem_json()),
        NotJson,
        (status = 422, description = "No reason given", body = Problem, content_type = problem_json()),
    ))]
async fn give_up(
    State(state): State<AppState>,
    Operator(who): Operator,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<StuckChangeView>, Problem> {
    let id = parse_change_id(&id)?;
    let reason = reason(&headers, &body)?;
    let c = store::decide(&state.db, id, Decision::GiveUp, &who.actor, &reason, |_| {
        Ok(None)
    })
    .await
    .map_err(refused)?;
    tracing::info!(change = id, actor = %who.actor, %reason, "stuck router change given up");
    Ok(Json(c.into()))
}

fn parse_change_id(raw: &str) -> Result<i64, Problem> {
    raw.parse::<i64>().ok().filter(|i| *i > 0).ok_or_else(|| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Not found",
            format!("no router change `{raw}`: ids are positive integers"),
        )
    })
}

fn reason(headers: &HeaderMap, body: &[u8]) -> Result<String, Problem> {
    let d: Decided = parse_body(headers, body)?;
    let r = d.reason.trim();
    if r.is_empty() || r.chars().count() > 500 {
        return Err(Problem::field(
            "reason",
            "invalid_length",
            "reason must be 1 to 500 characters: it goes into the audit",
        ));
    }
    Ok(r.to_string())
}

/// A refusal as a problem; the store's own errors map as everywhere.
pub(crate) fn refused(r: Refusal) -> Problem {
    match r {
        Refusal::NotFound(_) => Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Not found",
            r.to_string(),
        ),
        Refusal::WrongStatus { .. } => Problem::new(
            StatusCode::CONFLICT,
            "wrong_status",
            "Not stuck",
            r.to_string(),
        ),
        Refusal::Moved => Problem::new(
            StatusCode::CONFLICT,
            "moved",
            "Connector moved on",
            r.to_string(),
        ),
        Refusal::Store(e) => e.into(),
    }
}
