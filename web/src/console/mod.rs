//! The ops console (issue 6): where the operator's staff do the manual
//! steps of `ticket-csp` connectors, and put PEs in maintenance.
//!
//! ```text
//!  GET  /console                      the queue: active tasks, overdue first,
//!                                     filtered by provider and state
//!  GET  /console/tasks/{id}           instructions, the connector's context,
//!                                     the form, notes, the audit trail
//!  POST /console/tasks/{id}/claim     ┐
//!  POST /console/tasks/{id}/unclaim   │ plain forms with the session's CSRF
//!  POST /console/tasks/{id}/complete  │ token; success → 303 to the task page
//!  POST /console/tasks/{id}/reject    │ (post-redirect-get), refusal → the
//!  POST /console/tasks/{id}/notes     ┘ page again with 409/422 and the message
//!  GET  /console/audit                every task action, newest first
//!  GET  /console/pes                  the PEs and their maintenance (pes.rs)
//!  GET  /console/stuck                router changes handed to people (stuck.rs)
//! ```
//!
//! Every page needs [`Staff`] (ops or admin; customers get a 403 page,
//! nobody signed in goes to `/login`). The handlers call
//! `onramp_store::tasks` directly with the person as the actor
//! (`user <email>`), so the store's audit records who did what; the REST
//! API (`/v1/tasks`) is the same store functions for scripts.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, Utc};
use minijinja::context;
use minijinja::value::Serde;
use onramp_api::AppState;
use onramp_store::auth::ROLE_ADMIN;
use onramp_store::tasks::{self, TaskError, TaskFilter};
use serde::Deserialize;
use uuid::Uuid;

use crate::render::{error_page, page};
use crate::session::{Staff, WebUser};

mod pes;
mod stuck;
mod view;

use view::{Submitted, audit_view, task_page, task_row};

/// Tasks per page of the queue.
const PAGE: u64 = 50;
/// Audit records per page of the audit page.
const AUDIT_PAGE: u64 = 100;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(queue))
        .route("/console/audit", get(audit))
        .route("/console/tasks/{id}", get(task))
        .route("/console/tasks/{id}/claim", post(claim))
        .route("/console/tasks/{id}/unclaim", post(unclaim))
        .route("/console/tasks/{id}/complete", post(complete))
        .route("/console/tasks/{id}/reject", post(reject))
        .route("/console/tasks/{id}/notes", post(add_note))
        .route("/console/pes", get(pes::pes))
        .route("/console/pes/{id}/maintenance", post(pes::start))
        .route("/console/pes/{id}/maintenance/end", post(pes::end))
        .route("/console/stuck", get(stuck::list))
        .route("/console/stuck/{id}/retry", post(stuck::retry))
        .route("/console/stuck/{id}/done", post(stuck::done))
        .route("/console/stuck/{id}/give-up", post(stuck::give_up))
}

// ===== the queue =====

/// The queue's filters, as the filter form sends them.
#[derive(Debug, Default, Deserialize)]
struct QueueQuery {
    /// A provider key; empty: every provider.
    #[serde(default)]
    provider: String,
    /// `active` (default), `open`, `claimed`, `mine`, `closed` or `all`.
    #[serde(default)]
    state: String,
    /// The next page starts after this task (its `due_at`, `id`).
    #[serde(default)]
    after_due: String,
    #[serde(default)]
    after_id: String,
}

const STATE_FILTERS: [(&str, &str); 6] = [
    ("active", "Waiting (open or claimed)"),
    ("open", "Open, nobody on it"),
    ("claimed", "Claimed"),
    ("mine", "Claimed by me"),
    ("closed", "Closed"),
    ("all", "All"),
];

async fn queue(
    State(state): State<AppState>,
    Staff(user): Staff,
    Query(q): Query<QueueQuery>,
) -> Response {
    let now = Utc::now();
    let actor = user.actor();
    let state_filter = STATE_FILTERS
        .iter()
        .find(|(k, _)| *k == q.state)
        .map_or("active", |(k, _)| *k);
    let states: Vec<String> = match state_filter {
        "open" => vec![tasks::OPEN.into()],
        "claimed" | "mine" => vec![tasks::CLAIMED.into()],
        "closed" => vec![
            tasks::COMPLETED.into(),
            tasks::REJECTED.into(),
            tasks::CANCELLED.into(),
        ],
        "all" => tasks::STATES
            .iter()
            .map(std::string::ToString::to_string)
            .collect(),
        _ => tasks::ACTIVE
            .iter()
            .map(std::string::ToString::to_string)
            .collect(),
    };
    let providers = match onramp_store::ticket_providers::list(&state.db).await {
        Ok(p) => p,
        Err(e) => return failure(&user, "listing ticket providers", &e),
    };
    let provider = providers
        .iter()
        .find(|p| p.key == q.provider)
        .map(|p| p.key.clone());
    let after = DateTime::parse_from_rfc3339(&q.after_due)
        .ok()
        .zip(Uuid::parse_str(&q.after_id).ok())
        .map(|(d, id)| (d.with_timezone(&Utc), id));
    let filter = TaskFilter {
        tenant: None,
        provider: provider.clone(),
        states,
        overdue_only: false,
        claimed_by: (state_filter == "mine").then(|| actor.clone()),
    };
    let found = match tasks::list(&state.db, &filter, now, after, PAGE).await {
        Ok(t) => t,
        Err(e) => return failure(&user, "listing tasks", &e),
    };
    let tenants: BTreeMap<Uuid, String> = match onramp_store::auth::list_tenants(&state.db).await {
        Ok(t) => t.into_iter().map(|t| (t.id, t.name)).collect(),
        Err(e) => return failure(&user, "listing tenants", &e),
    };
    let provider_names: BTreeMap<String, String> = providers
        .iter()
        .map(|p| (p.key.clone(), p.name.clone()))
        .collect();
    let next = (found.len() as u64 == PAGE)
        .then(|| found.last())
        .flatten()
        .map(|t| {
            (
                t.due_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                t.id.to_string(),
            )
        });
    let rows: Vec<_> = found
        .iter()
        .map(|t| task_row(t, &provider_names, &tenants, &actor, now))
        .collect();
    let overdue = rows.iter().filter(|r| r.overdue).count();
    let provider_options: Vec<(String, String)> = providers
        .iter()
        .map(|p| (p.key.clone(), p.name.clone()))
        .collect();
    page(
        StatusCode::OK,
        "console/queue.html",
        context! {
            user => Serde(user.view()),
            area => "console",
            nav => "queue",
            tasks => Serde(&rows),
            overdue => overdue,
            paged => after.is_some(),
            next => Serde(&next),
            providers => Serde(&provider_options),
            provider => provider.unwrap_or_default(),
            state_filter => state_filter,
            state_filters => Serde(&STATE_FILTERS),
        },
    )
}

// ===== the task page =====

#[derive(Debug, Default, Deserialize)]
struct TaskQuery {
    /// What was just done (post-redirect-get): `claimed`, `unclaimed`,
    /// `completed`, `rejected` or `noted`.
    #[serde(default)]
    done: String,
}

fn done_notice(done: &str) -> Option<&'static str> {
    Some(match done {
        "claimed" => "You claimed this task. It is yours until you complete, reject or unclaim it.",
        "unclaimed" => "The task is open again for anyone to claim.",
        "completed" => "Task completed. The connector moves on with the values you entered.",
        "rejected" => {
            "Task rejected. The connector is being torn down and will end failed with your reason."
        }
        "noted" => "Note added.",
        _ => return None,
    })
}

async fn task(
    State(state): State<AppState>,
    Staff(user): Staff,
    Path(id): Path<String>,
    Query(q): Query<TaskQuery>,
) -> Response {
    let Some(id) = task_id(&id) else {
        return not_found(&user);
    };
    render_task(
        &state,
        &user,
        id,
        StatusCode::OK,
        &Submitted::default(),
        done_notice(&q.done),
    )
    .await
}

async fn render_task(
    state: &AppState,
    user: &WebUser,
    id: Uuid,
    status: StatusCode,
    submitted: &Submitted,
    notice: Option<&str>,
) -> Response {
    let detail = match tasks::get(&state.db, id, None).await {
        Ok(d) => d,
        Err(TaskError::NotFound { .. }) => return not_found(user),
        Err(e) => return failure(user, "reading a task", &e),
    };
    let view = task_page(&detail, &user.actor(), submitted, Utc::now());
    page(
        status,
        "console/task.html",
        context! {
            user => Serde(user.view()),
            area => "console",
            nav => "queue",
            task => Serde(&view),
            notice => notice,
            admin => user.role == ROLE_ADMIN,
        },
    )
}

// ===== actions =====

/// The form every action posts: the CSRF token, and for `unclaim` an
/// admin's `force`.
#[derive(Debug, Default, Deserialize)]
struct ActionForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    force: String,
    /// Where to go after an unclaim: `queue` or the task page.
    #[serde(default)]
    back: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    text: String,
}

async fn claim(
    State(state): State<AppState>,
    Staff(user): Staff,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Response {
    let Some(id) = task_id(&id) else {
        return not_found(&user);
    };
    if let Err(r) = user.check_csrf(&f.csrf_token) {
        return r;
    }
    match tasks::claim(&state.db, id, &user.actor()).await {
        Ok(_) => to_task(id, "claimed"),
        Err(e) => refused(&state, &user, id, e, Submitted::default()).await,
    }
}

async fn unclaim(
    State(state): State<AppState>,
    Staff(user): Staff,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Response {
    let Some(id) = task_id(&id) else {
        return not_found(&user);
    };
    if let Err(r) = user.check_csrf(&f.csrf_token) {
        return r;
    }
    // Breaking someone else's claim is for admins (a shift lead freeing the
    // task of someone who left); the store audits whose claim it was.
    let force = f.force == "true" && user.role == ROLE_ADMIN;
    match tasks::unclaim(&state.db, id, &user.actor(), force).await {
        Ok(_) if f.back == "queue" => Redirect::to("/console").into_response(),
        Ok(_) => to_task(id, "unclaimed"),
        Err(e) => refused(&state, &user, id, e, Submitted::default()).await,
    }
}

async fn complete(
    State(state): State<AppState>,
    Staff(user): Staff,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let Some(id) = task_id(&id) else {
        return not_found(&user);
    };
    let csrf = pairs
        .iter()
        .find(|(k, _)| k == "csrf_token")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    if let Err(r) = user.check_csrf(csrf) {
        return r;
    }
    let values: BTreeMap<String, String> = pairs
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("value.")?.to_string(), v.clone())))
        .collect();
    match tasks::complete(
        &state.db,
        id,
        &user.actor(),
        &values,
        &onramp_kinds::ticket_csp::task_transition,
    )
    .await
    {
        Ok(_) => to_task(id, "completed"),
        Err(e) => {
            let submitted = Submitted {
                values,
                ..Default::default()
            };
            refused(&state, &user, id, e, submitted).await
        }
    }
}

async fn reject(
    State(state): State<AppState>,
    Staff(user): Staff,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Response {
    let Some(id) = task_id(&id) else {
        return not_found(&user);
    };
    if let Err(r) = user.check_csrf(&f.csrf_token) {
        return r;
    }
    match tasks::reject(
        &state.db,
        id,
        &user.actor(),
        &f.reason,
        &onramp_kinds::ticket_csp::task_transition,
    )
    .await
    {
        Ok(_) => to_task(id, "rejected"),
        Err(e) => {
            let submitted = Submitted {
                reason: f.reason,
                ..Default::default()
            };
            refused(&state, &user, id, e, submitted).await
        }
    }
}

async fn add_note(
    State(state): State<AppState>,
    Staff(user): Staff,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Response {
    let Some(id) = task_id(&id) else {
        return not_found(&user);
    };
    if let Err(r) = user.check_csrf(&f.csrf_token) {
        return r;
    }
    match tasks::add_note(&state.db, id, &user.actor(), &f.text).await {
        Ok(_) => Redirect::to(&format!("/console/tasks/{id}?done=noted#notes")).into_response(),
        Err(e) => {
            let submitted = Submitted {
                note: f.text,
                ..Default::default()
            };
            refused(&state, &user, id, e, submitted).await
        }
    }
}

/// A refused action: the task page again, with what was typed, the
/// message next to each field at fault (422) or in an alert (409).
async fn refused(
    state: &AppState,
    user: &WebUser,
    id: Uuid,
    e: TaskError,
    mut submitted: Submitted,
) -> Response {
    let status = match e {
        TaskError::NotFound { .. } => return not_found(user),
        TaskError::Store(e) => return failure(user, "changing a task", &e),
        TaskError::Conflict { message, code } => {
            submitted.alert = Some(conflict_text(code, &message));
            StatusCode::CONFLICT
        }
        TaskError::Invalid(issues) => {
            // The page puts each message next to its field, and any it
            // has no field for in the alert.
            for i in issues {
                submitted.errors.entry(i.field).or_insert(i.detail);
            }
            StatusCode::UNPROCESSABLE_ENTITY
        }
    };
    render_task(state, user, id, status, &submitted, None).await
}

/// A conflict in words for the person who hit it.
fn conflict_text(code: &str, message: &str) -> String {
    let message = message.replace("user ", "");
    match code {
        "claimed_by_other" => {
            format!("Not done: {message}. Ask them, or pick another task from the queue.")
        }
        "task_closed" => format!("Not done: {message}."),
        "not_waiting" => format!(
            "Not done: {message}. The connector moved on (deleted, or the step was done elsewhere)."
        ),
        "busy" => format!("Not done: {message}. Nothing was changed."),
        _ => format!("Not done: {message}."),
    }
}

fn to_task(id: Uuid, done: &str) -> Response {
    Redirect::to(&format!("/console/tasks/{id}?done={done}")).into_response()
}

fn task_id(raw: &str) -> Option<Uuid> {
    Uuid::parse_str(raw).ok()
}

fn not_found(user: &WebUser) -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "No such task",
        "There is no ops task at this address. It may have been mistyped; the queue lists every task.",
        Some(user),
    )
}

fn failure(user: &WebUser, what: &str, e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "{what} failed");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "onramp could not do this just now; nothing was changed. The error is in onramp's log. Try again in a moment.",
        Some(user),
    )
}

// ===== the audit =====

#[derive(Debug, Default, Deserialize)]
struct AuditQuery {
    /// Only this actor's records (an email, or `onramp`).
    #[serde(default)]
    actor: String,
    /// Older than this record id (the next page).
    #[serde(default)]
    before: Option<i64>,
}

async fn audit(
    State(state): State<AppState>,
    Staff(user): Staff,
    Query(q): Query<AuditQuery>,
) -> Response {
    use onramp_store::entity::ops_audit;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

    let actor = q.actor.trim().to_string();
    let mut find = ops_audit::Entity::find();
    if !actor.is_empty() {
        let stored = if actor == tasks::ONRAMP {
            actor.clone()
        } else {
            format!("user {actor}")
        };
        find = find.filter(ops_audit::Column::Actor.eq(stored));
    }
    if let Some(b) = q.before {
        find = find.filter(ops_audit::Column::Id.lt(b));
    }
    let records = match find
        .order_by_desc(ops_audit::Column::Id)
        .limit(AUDIT_PAGE)
        .all(&state.db)
        .await
    {
        Ok(r) => r,
        Err(e) => return failure(&user, "reading the audit", &e),
    };
    let next = (records.len() as u64 == AUDIT_PAGE)
        .then(|| records.last().map(|r| r.id))
        .flatten();
    let rows: Vec<_> = records.iter().map(audit_view).collect();
    page(
        StatusCode::OK,
        "console/audit.html",
        context! {
            user => Serde(user.view()),
            area => "console",
            nav => "audit",
            records => Serde(&rows),
            actor => actor,
            next => next,
        },
    )
}
