//! The "Stuck changes" page of the console: router changes the PE refused
//! too often, handed to people, and the three decisions on each.
//!
//! ```text
//!  GET  /console/stuck                        stuck and given-up changes
//!  POST /console/stuck/{id}/retry             retry now; 303 back
//!  POST /console/stuck/{id}/done              done by hand (a reason); 303 back
//!  POST /console/stuck/{id}/give-up           give up (a reason); 303 back
//! ```
//!
//! The same store function as `/v1/admin/stuck-changes/...`
//! (`onramp_store::stuck::decide`), with the person as the actor in the
//! audit.

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use minijinja::value::Serde;
use onramp_api::AppState;
use onramp_store::stuck::{self as store, Decision, Refusal};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::view::{When, when};
use super::{ActionForm, failure};
use crate::render::{error_page, page};
use crate::session::{Staff, WebUser};

#[derive(Serialize)]
struct Row {
    id: i64,
    status: String,
    pe: String,
    connector_id: Uuid,
    connector_state: String,
    op: String,
    attempts: i32,
    error: String,
    since: When,
    /// What was typed and why it was refused, when a decision was refused.
    reason_typed: String,
    reason_error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct StuckQuery {
    #[serde(default)]
    done: String,
    #[serde(default)]
    change: String,
}

pub(super) async fn list(
    State(state): State<AppState>,
    Staff(user): Staff,
    Query(q): Query<StuckQuery>,
) -> Response {
    let notice = match q.done.as_str() {
        "retry_now" => Some(format!(
            "Change {} is back in its PE's queue: the PE's writer pushes it again.",
            q.change
        )),
        "done_by_hand" => Some(format!(
            "Change {} is marked done by hand: the connector goes on.",
            q.change
        )),
        "give_up" => Some(format!(
            "Change {} is given up: its connector keeps its resources until someone marks it done.",
            q.change
        )),
        _ => None,
    };
    render(&state, &user, StatusCode::OK, notice, &BTreeMap::new()).await
}

async fn render(
    state: &AppState,
    user: &WebUser,
    status: StatusCode,
    notice: Option<String>,
    refused: &BTreeMap<i64, (String, String)>,
) -> Response {
    let changes = match store::list(&state.db).await {
        Ok(c) => c,
        Err(e) => return failure(user, "listing stuck changes", &e),
    };
    let rows: Vec<Row> = changes
        .into_iter()
        .map(|c| {
            let (reason_typed, reason_error) = refused
                .get(&c.id)
                .map_or((String::new(), None), |(t, e)| (t.clone(), Some(e.clone())));
            Row {
                id: c.id,
                status: c.status,
                pe: c.pe,
                connector_id: c.connector_id,
                connector_state: c.connector_state,
                op: c.op,
                attempts: c.attempts,
                error: c.error.unwrap_or_default(),
                since: when(c.since),
                reason_typed,
                reason_error,
            }
        })
        .collect();
    page(
        status,
        "console/stuck.html",
        context! {
            user => Serde(user.view()),
            area => "console",
            nav => "stuck",
            changes => Serde(&rows),
            notice => notice,
        },
    )
}

pub(super) async fn retry(
    State(state): State<AppState>,
    Staff(user): Staff,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Response {
    decide(&state, &user, &id, f, Decision::RetryNow).await
}

pub(super) async fn done(
    State(state): State<AppState>,
    Staff(user): Staff,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Response {
    decide(&state, &user, &id, f, Decision::DoneByHand).await
}

pub(super) async fn give_up(
    State(state): State<AppState>,
    Staff(user): Staff,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Response {
    decide(&state, &user, &id, f, Decision::GiveUp).await
}

async fn decide(
    state: &AppState,
    user: &WebUser,
    id: &str,
    f: ActionForm,
    decision: Decision,
) -> Response {
    let Some(id) = id.parse::<i64>().ok().filter(|i| *i > 0) else {
        return no_such_change(user);
    };
    if let Err(r) = user.check_csrf(&f.csrf_token) {
        return r;
    }
    let reason = f.reason.trim().to_string();
    let reason = match decision {
        Decision::RetryNow => "retry now".to_string(),
        _ if reason.is_empty() || reason.chars().count() > 500 => {
            let refused = BTreeMap::from([(
                id,
                (
                    f.reason.clone(),
                    "A reason is needed (1 to 500 characters): it goes into the audit.".to_string(),
                ),
            )]);
            return render(
                state,
                user,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                &refused,
            )
            .await;
        }
        _ => reason,
    };
    let actor = user.actor();
    let settle = |row: &onramp_store::entity::connector::Model| match decision {
        Decision::DoneByHand => onramp_kinds::transition::router_done(row),
        _ => Ok(None),
    };
    match store::decide(&state.db, id, decision, &actor, &reason, settle).await {
        Ok(_) => {
            tracing::info!(change = id, by = %actor, decision = decision.as_str(), %reason, "stuck router change decided");
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("done", decision.as_str())
                .append_pair("change", &id.to_string())
                .finish();
            Redirect::to(&format!("/console/stuck?{query}")).into_response()
        }
        Err(Refusal::NotFound(_)) => no_such_change(user),
        Err(r @ (Refusal::WrongStatus { .. } | Refusal::Moved)) => {
            let refused = BTreeMap::from([(id, (f.reason, format!("Not done: {r}.")))]);
            render(state, user, StatusCode::CONFLICT, None, &refused).await
        }
        Err(Refusal::Store(e)) => failure(user, "deciding on a stuck change", &e),
    }
}

fn no_such_change(user: &WebUser) -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "No such change",
        "No router change with that id is waiting for a decision.",
        Some(user),
    )
}
