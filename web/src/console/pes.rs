//! The PEs page of the console: each PE with its queue, and the maintenance
//! an ops engineer starts before working on a PE and ends after.
//!
//! ```text
//!  GET  /console/pes                           every PE: address, platform,
//!                                              maintenance, changes held
//!  POST /console/pes/{id}/maintenance          start (a reason); 303 back
//!  POST /console/pes/{id}/maintenance/end      end; 303 back
//! ```
//!
//! The same store functions as `PUT`/`DELETE /v1/admin/pes/{id}/maintenance`,
//! with the person as the actor in the log.

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use minijinja::value::Serde;
use onramp_api::AppState;
use onramp_store::admin::{self as inventory, AdminError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::view::{When, when};
use super::{ActionForm, failure};
use crate::render::{error_page, page};
use crate::session::{Staff, WebUser};

#[derive(Serialize)]
struct PeRow {
    id: Uuid,
    name: String,
    address: String,
    platform: String,
    maintenance_since: Option<When>,
    maintenance_reason: Option<String>,
    held_changes: u64,
    /// What was typed and why it was refused, when a start was refused.
    reason_typed: String,
    reason_error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct PesQuery {
    /// What was just done (post-redirect-get): `started` or `ended`, with
    /// the PE's name.
    #[serde(default)]
    done: String,
    #[serde(default)]
    pe: String,
}

pub(super) async fn pes(
    State(state): State<AppState>,
    Staff(user): Staff,
    Query(q): Query<PesQuery>,
) -> Response {
    let notice = match q.done.as_str() {
        "started" => Some(format!(
            "{} is in maintenance: onramp pushes nothing to it until you end it.",
            q.pe
        )),
        "ended" => Some(format!(
            "{}'s maintenance is over: what waited is being pushed.",
            q.pe
        )),
        _ => None,
    };
    render(&state, &user, StatusCode::OK, notice, &BTreeMap::new()).await
}

/// The page; `refused` holds, by PE, what was typed and why it was refused.
async fn render(
    state: &AppState,
    user: &WebUser,
    status: StatusCode,
    notice: Option<String>,
    refused: &BTreeMap<Uuid, (String, String)>,
) -> Response {
    let pes = match inventory::list_pes(&state.db).await {
        Ok(p) => p,
        Err(e) => return failure(user, "listing PEs", &e),
    };
    let mut rows = Vec::with_capacity(pes.len());
    for p in pes {
        let held_changes = match inventory::held_changes(&state.db, p.id).await {
            Ok(n) => n,
            Err(e) => return failure(user, "counting a PE's queue", &e),
        };
        let (reason_typed, reason_error) = refused
            .get(&p.id)
            .map_or((String::new(), None), |(t, e)| (t.clone(), Some(e.clone())));
        rows.push(PeRow {
            id: p.id,
            address: format!("{}:{}", p.host, p.port),
            name: p.name,
            platform: p.platform,
            maintenance_since: p.maintenance_since.map(when),
            maintenance_reason: p.maintenance_reason,
            held_changes,
            reason_typed,
            reason_error,
        });
    }
    page(
        status,
        "console/pes.html",
        context! {
            user => Serde(user.view()),
            area => "console",
            nav => "pes",
            pes => Serde(&rows),
            notice => notice,
        },
    )
}

pub(super) async fn start(
    State(state): State<AppState>,
    Staff(user): Staff,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Response {
    act(&state, &user, &id, f, Act::Start).await
}

pub(super) async fn end(
    State(state): State<AppState>,
    Staff(user): Staff,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Response {
    act(&state, &user, &id, f, Act::End).await
}

#[derive(Clone, Copy)]
enum Act {
    Start,
    End,
}

/// Starts or ends the maintenance of the PE the form posts to, once its
/// CSRF token is the session's; 303 back to the page, or the page again
/// with the refusal at the reason field (422).
async fn act(state: &AppState, user: &WebUser, id: &str, f: ActionForm, act: Act) -> Response {
    let Ok(id) = Uuid::parse_str(id) else {
        return no_such_pe(user);
    };
    if let Err(r) = user.check_csrf(&f.csrf_token) {
        return r;
    }
    let done = match act {
        Act::Start => inventory::start_maintenance(&state.db, id, &f.reason).await,
        Act::End => inventory::end_maintenance(&state.db, id).await,
    };
    match (done, act) {
        (Ok(pe), Act::Start) => {
            tracing::info!(pe = %pe.name, reason = %f.reason, by = %user.actor(), "PE in maintenance");
            back("started", &pe.name)
        }
        (Ok(pe), Act::End) => {
            tracing::info!(pe = %pe.name, by = %user.actor(), "PE maintenance ended");
            back("ended", &pe.name)
        }
        (Err(AdminError::Invalid(issues)), _) => {
            let why = issues
                .into_iter()
                .map(|i| i.detail)
                .collect::<Vec<_>>()
                .join("; ");
            let refused = BTreeMap::from([(id, (f.reason, format!("Not started: {why}.")))]);
            render(
                state,
                user,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                &refused,
            )
            .await
        }
        (Err(AdminError::NotFound { .. }), _) => no_such_pe(user),
        (Err(e), _) => failure(user, "changing a PE's maintenance", &e),
    }
}

fn back(done: &str, pe: &str) -> Response {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("done", done)
        .append_pair("pe", pe)
        .finish();
    Redirect::to(&format!("/console/pes?{query}")).into_response()
}

fn no_such_pe(user: &WebUser) -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "No such PE",
        "There is no PE at this address. The PEs page lists every PE.",
        Some(user),
    )
}
