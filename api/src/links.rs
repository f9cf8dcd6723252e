//! `/v1/links`: join a tenant's connectors in one routing domain (a VRF with
//! its own RD and RT on every PE that hosts one of them).
//!
//! The API commits the intent (the link, its RD/RT, members `joining` or
//! `leaving`, the first job) in one transaction; the link worker does the
//! router work (`onramp_workers` links). `?dry_run=true` runs the same
//! transaction, rolls it back, and shows per PE the exact XML that would be
//! pushed and the PE's affected configuration before and after.

mod sla;

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use onramp_kinds as intent;
use onramp_router_templates::{Operation, Platform, VrfIntent};
use onramp_router_validate::PeFacts;
use onramp_state_machines::link::{self as machine, LinkState, Member, MemberState, Step, Vrf};
use onramp_store::connectors::Mode;
use onramp_store::links::{self as store, LinkView, Refusal};
use onramp_store::{connectors, inventory};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Tenant;
use crate::body::ApiQuery;
use crate::page::PageParams;
use crate::problem::{
    BadQuery, FieldError, MalformedJson, NotJson, Problem, Unauthenticated, problem_json,
};

/// Shown instead of BGP keys in plans.
const REDACTED: &str = "********";
/// Most connectors in one link request.
const MAX_CONNECTORS: usize = 100;
/// Events shown in a link's representation (the most recent).
const TIMELINE: u64 = 50;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_link, list_links))
        .routes(routes!(get_link, delete_link))
        .routes(routes!(add_connector))
        .routes(routes!(remove_connector))
        .routes(routes!(sla::put_link_sla))
}

// ===== representations =====

/// A link: its routing domain, its members and its progress.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct Link {
    pub id: Uuid,
    pub name: String,
    /// `configuring`, `active`, `deleting` or `deleted`.
    pub state: String,
    /// `onramp` while routers are being changed, `nobody` once settled.
    pub waiting_on: String,
    /// The link's VRF on each PE that hosts one of its connectors.
    pub vrf_name: String,
    pub route_distinguisher: String,
    /// Imported and exported by the link's VRF on every PE; no other link
    /// or tenant VRF has it.
    pub route_target: String,
    /// Every membership, oldest first; `removed` ones are history.
    pub members: Vec<LinkMember>,
    /// Why the current step is being retried, if it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The thresholds the link is measured against, and whether they are
    /// met (`GET /v1/links/{id}/metrics` has the measurements).
    pub sla: sla::LinkSla,
    /// The latest steps, oldest first: what onramp did on which PE.
    pub timeline: Vec<LinkEvent>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct LinkMember {
    pub connector: Uuid,
    /// `joining`, `joined`, `leaving`, `left` (back in the tenant's VRF,
    /// the link's VRF being cleaned up) or `removed`.
    pub state: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct LinkEvent {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// e.g. `ordered`, `member_joined`, `member_left`, `vrf_removed`,
    /// `configured`, `deleted`.
    pub event: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connector: Option<Uuid>,
    /// The link's state after it.
    pub state: String,
    pub message: String,
    /// customer, onramp or router.
    pub actor: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct LinkList {
    pub items: Vec<Link>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `POST /v1/links`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LinkOrder {
    /// 1-100 characters.
    pub name: String,
    /// Two or more of the tenant's `active` connectors, none in another
    /// link, each once.
    pub connectors: Vec<String>,
    /// The SLA; default: the `standard` profile.
    #[serde(default)]
    pub sla: Option<sla::SlaRequest>,
}

/// `POST /v1/links/{id}/connectors`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LinkMemberOrder {
    /// An `active` connector of the tenant, in no link.
    pub connector: String,
}

/// What a link change would do, per PE, without doing it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct LinkPlan {
    pub dry_run: bool,
    /// The link as it would be right after the request (the RD/RT a new
    /// link would get now).
    pub link: Link,
    /// Only the PEs concerned, in the order the worker would change them.
    pub router_changes: Vec<LinkRouterChange>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct LinkRouterChange {
    pub pe: String,
    pub platform: String,
    /// `move` (a connector's attachment out of one VRF and into another,
    /// one commit) or `vrf-delete`.
    pub operation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connector: Option<Uuid>,
    /// The NETCONF edit-config payloads, in order, in one commit. BGP keys
    /// show as `********`.
    pub config_xml: Vec<String>,
    /// The PE's affected configuration (the VRFs concerned) now, read from
    /// the PE, and as it would be after this change and the ones before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// `before` → `after`: lines starting `-` go, `+` come, ` ` stay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// Why there is no before/after (the PE could not be read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff_unavailable: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
struct DryRunQuery {
    /// Return the plan (per PE: the XML and the before/after of its
    /// affected configuration) instead of doing it. Nothing changes.
    #[serde(default)]
    dry_run: bool,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct LinkListQuery {
    /// Only links in one of these states, comma-separated (e.g.
    /// `configuring,active`).
    state: Option<String>,
}

const STATES: [&str; 4] = ["configuring", "active", "deleting", "deleted"];

async fn view(state: &AppState, v: &LinkView) -> Result<Link, Problem> {
    let events = store::events(&state.db, v.link.id).await?;
    let skip = events.len().saturating_sub(TIMELINE as usize);
    Ok(Link {
        id: v.link.id,
        name: v.link.name.clone(),
        state: v.link.state.clone(),
        waiting_on: v.link.waiting_on.clone(),
        vrf_name: v.link.vrf_name.clone(),
        route_distinguisher: v.link.route_distinguisher.clone(),
        route_target: v.link.route_target.clone(),
        members: v
            .members
            .iter()
            .map(|m| LinkMember {
                connector: m.connector_id,
                state: m.state.clone(),
            })
            .collect(),
        last_error: v.link.last_error.clone(),
        sla: sla::view(&v.link)?,
        timeline: events
            .into_iter()
            .skip(skip)
            .map(|e| LinkEvent {
                id: e.id,
                at: e.at,
                event: e.event,
                connector: e.connector_id,
                state: e.state,
                message: e.message,
                actor: e.actor,
            })
            .collect(),
        created_at: v.link.created_at,
        updated_at: v.link.updated_at,
    })
}

fn accepted(link: Link) -> Response {
    let location = format!("/v1/links/{}", link.id);
    let mut res = (StatusCode::ACCEPTED, Json(link)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// A refusal as the problem the caller sees; `field` names the connector's
/// place in the request (`connectors[1]`, `connector`).
fn refused(r: Refusal, field: impl Fn(usize) -> String) -> Problem {
    match r {
        Refusal::ConnectorNotFound { index, connector } => Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Not found",
            format!("connector {connector} does not exist"),
        )
        .with_errors(vec![FieldError {
            field: field(index),
            code: "not_found".into(),
            detail: format!("connector {connector} does not exist"),
        }]),
        Refusal::ConnectorNotActive {
            index,
            connector,
            state,
        } => {
            let detail = format!(
                "connector {connector} is `{state}`; only an `active` connector can be in a link"
            );
            Problem::new(
                StatusCode::CONFLICT,
                "connector_not_active",
                "Connector not active",
                detail.clone(),
            )
            .with_errors(vec![FieldError {
                field: field(index),
                code: "connector_not_active".into(),
                detail,
            }])
            .with_hint("wait until the connector is active, then try again")
        }
        Refusal::ConnectorInLink {
            index,
            connector,
            link,
        } => {
            let detail = format!(
                "connector {connector} is already in link {link}; a connector belongs to at most one link"
            );
            Problem::new(
                StatusCode::CONFLICT,
                "connector_in_link",
                "Connector already in a link",
                detail.clone(),
            )
            .with_errors(vec![FieldError {
                field: field(index),
                code: "connector_in_link".into(),
                detail,
            }])
            .with_hint(format!(
                "remove it first: DELETE /v1/links/{link}/connectors/{connector}"
            ))
        }
        Refusal::LinkNotChangeable { link, state } => Problem::new(
            StatusCode::CONFLICT,
            "link_deleting",
            "Link being deleted",
            format!("link {link} is `{state}`; its members cannot change any more"),
        ),
        Refusal::NotAMember { connector } => Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Not found",
            format!("connector {connector} is not in this link"),
        ),
    }
}

// ===== handlers =====

/// Create a link.
///
/// Joins two or more of the tenant's `active` connectors in a routing
/// domain of their own: a VRF with an RD and RT allocated for the link, on
/// every PE that hosts one of them. Each connector's attachment moves from
/// the tenant's VRF into the link's (one commit per PE). Progress shows in
/// `state`, `members[].state` and `timeline`.
#[utoipa::path(post, path = "/v1/links", tag = "links",
    request_body(content = LinkOrder, content_type = "application/json"),
    params(DryRunQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The plan, when `dry_run=true`; nothing was allocated or pushed", body = LinkPlan),
        (status = 202, description = "Accepted; the PEs are being configured", body = Link,
            headers(("Location" = String, description = "The link's URL"))),
        MalformedJson,
        Unauthenticated,
        (status = 404, description = "A connector does not exist for this tenant; `errors[0].field` is `connectors[i]`", body = Problem, content_type = problem_json()),
        (status = 409, description = "`connector_not_active` or `connector_in_link` (naming `connectors[i]` and the link), or the route-target pools are exhausted", body = Problem, content_type = problem_json()),
        NotJson,
        (status = 422, description = "Invalid request: fewer than two connectors, a duplicate, a malformed id or name; `errors` names the fields", body = Problem, content_type = problem_json()),
    ))]
async fn create_link(
    State(state): State<AppState>,
    tenant: Tenant,
    ApiQuery(q): ApiQuery<DryRunQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let value = crate::body::json_object(&headers, &body)?;
    let order: LinkOrder = crate::body::from_value(value)?;
    let mut errors = Vec::new();
    let name = order.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        errors.push(FieldError {
            field: "name".into(),
            code: "invalid_value".into(),
            detail: "name must be 1-100 characters, without control characters".into(),
        });
    }
    if order.connectors.len() < 2 {
        errors.push(FieldError {
            field: "connectors".into(),
            code: "too_few_connectors".into(),
            detail: format!(
                "a link joins two or more connectors; {} given",
                order.connectors.len()
            ),
        });
    } else if order.connectors.len() > MAX_CONNECTORS {
        errors.push(FieldError {
            field: "connectors".into(),
            code: "too_many_connectors".into(),
            detail: format!("at most {MAX_CONNECTORS} connectors per request"),
        });
    }
    let mut ids: Vec<Uuid> = Vec::new();
    for (i, raw) in order.connectors.iter().enumerate() {
        match Uuid::parse_str(raw.trim()) {
            Ok(id) if ids.contains(&id) => errors.push(FieldError {
                field: format!("connectors[{i}]"),
                code: "duplicate".into(),
                detail: format!("connector {id} is listed twice"),
            }),
            Ok(id) => ids.push(id),
            Err(_) => errors.push(FieldError {
                field: format!("connectors[{i}]"),
                code: "invalid_format".into(),
                detail: format!("`{raw}` is not a connector id (a UUID)"),
            }),
        }
    }
    let sla = match order.sla.as_ref().map(|s| s.settings("sla")) {
        None => Default::default(),
        Some(Ok(s)) => s,
        Some(Err(e)) => {
            errors.extend(e);
            Default::default()
        }
    };
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    let mode = if q.dry_run {
        Mode::DryRun
    } else {
        Mode::Commit
    };
    let v = store::create(&state.db, tenant.id, name, &ids, &sla, mode)
        .await?
        .map_err(|r| refused(r, |i| format!("connectors[{i}]")))?;
    if q.dry_run {
        return Ok(Json(plan(&state, &v).await?).into_response());
    }
    tracing::info!(link = %v.link.id, tenant = %tenant.name, members = ids.len(), "link ordered");
    Ok(accepted(view(&state, &v).await?))
}

/// List links, newest first, a page at a time.
///
/// A customer key lists its own tenant's links; ops and admin keys list
/// every tenant's.
#[utoipa::path(get, path = "/v1/links", tag = "links",
    params(LinkListQuery, PageParams),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "A page of links", body = LinkList),
        BadQuery,
        Unauthenticated,
        (status = 422, description = "A filter, the limit or the cursor is invalid; `errors` names them", body = Problem, content_type = problem_json()),
    ))]
async fn list_links(
    State(state): State<AppState>,
    tenant: Tenant,
    ApiQuery(q): ApiQuery<LinkListQuery>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<LinkList>, Problem> {
    let mut errors = Vec::new();
    let mut states = Vec::new();
    if let Some(raw) = &q.state {
        for s in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if STATES.contains(&s) {
                states.push(s.to_string());
            } else {
                errors.push(FieldError {
                    field: "state".into(),
                    code: "invalid_value".into(),
                    detail: format!(
                        "state must be a comma-separated list of {}, not `{s}`",
                        STATES.join(", ")
                    ),
                });
                break;
            }
        }
    }
    let page = p.check::<(DateTime<Utc>, Uuid)>(&mut errors);
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    let rows = store::list_page(
        &state.db,
        tenant.read_scope(),
        &states,
        page.after,
        page.limit + 1,
    )
    .await?;
    let (rows, next_cursor) =
        crate::page::finish(rows, page.limit, |v| (v.link.created_at, v.link.id));
    let mut items = Vec::with_capacity(rows.len());
    for v in &rows {
        items.push(view(&state, v).await?);
    }
    Ok(Json(LinkList { items, next_cursor }))
}

/// One link: its VRF, RD/RT, members and the steps taken so far.
#[utoipa::path(get, path = "/v1/links/{id}", tag = "links",
    params(("id" = Uuid, Path, description = "Link id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The link", body = Link),
        Unauthenticated,
        (status = 404, description = "No such link for this tenant", body = Problem, content_type = problem_json()),
    ))]
async fn get_link(
    State(state): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
) -> Result<Json<Link>, Problem> {
    let id = crate::body::parse_id(&id, "link")?;
    let v = store::get_scoped(&state.db, tenant.read_scope(), id).await?;
    Ok(Json(view(&state, &v).await?))
}

/// Add a connector to a link.
///
/// Only the connector's PEs are reconfigured: its attachment moves from the
/// tenant's VRF into the link's (created on a PE that lacks it).
#[utoipa::path(post, path = "/v1/links/{id}/connectors", tag = "links",
    params(("id" = Uuid, Path, description = "Link id"), DryRunQuery),
    request_body(content = LinkMemberOrder, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The plan, when `dry_run=true`; nothing changed", body = LinkPlan),
        (status = 202, description = "Accepted; the connector's PEs are being configured", body = Link),
        MalformedJson,
        Unauthenticated,
        (status = 403, description = "An ops or admin key and another tenant's link: they read every tenant's, change only their own", body = Problem, content_type = problem_json()),
        (status = 404, description = "No such link, or no such connector (`errors[0].field` = `connector`), for this tenant", body = Problem, content_type = problem_json()),
        (status = 409, description = "`connector_not_active`, `connector_in_link` or `link_deleting`", body = Problem, content_type = problem_json()),
        NotJson,
        (status = 422, description = "Invalid request; `errors` names the field", body = Problem, content_type = problem_json()),
    ))]
async fn add_connector(
    State(state): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<DryRunQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let id = crate::body::parse_id(&id, "link")?;
    own_link(&state, &tenant, id).await?;
    let value = crate::body::json_object(&headers, &body)?;
    let order: LinkMemberOrder = crate::body::from_value(value)?;
    let Ok(connector) = Uuid::parse_str(order.connector.trim()) else {
        return Err(Problem::field(
            "connector",
            "invalid_format",
            format!("`{}` is not a connector id (a UUID)", order.connector),
        ));
    };
    let mode = if q.dry_run {
        Mode::DryRun
    } else {
        Mode::Commit
    };
    let v = store::add_member(&state.db, tenant.id, id, connector, mode)
        .await?
        .map_err(|r| refused(r, |_| "connector".into()))?;
    if q.dry_run {
        return Ok(Json(plan(&state, &v).await?).into_response());
    }
    tracing::info!(link = %id, %connector, "connector added to link");
    Ok(accepted(view(&state, &v).await?))
}

/// Remove a connector from a link.
///
/// Only the connector's PEs are reconfigured: its attachment moves back
/// into the tenant's VRF, and the link's VRF leaves a PE where no other
/// member uses it.
#[utoipa::path(delete, path = "/v1/links/{id}/connectors/{connector_id}", tag = "links",
    params(("id" = Uuid, Path, description = "Link id"),
        ("connector_id" = Uuid, Path, description = "Connector id"), DryRunQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The plan, when `dry_run=true`; nothing changed", body = LinkPlan),
        (status = 202, description = "Accepted; the connector's PEs are being configured", body = Link),
        (status = 400, description = "The query string does not parse", body = Problem, content_type = problem_json()),
        Unauthenticated,
        (status = 403, description = "An ops or admin key and another tenant's link: they read every tenant's, change only their own", body = Problem, content_type = problem_json()),
        (status = 404, description = "No such link for this tenant, or the connector is not in it", body = Problem, content_type = problem_json()),
        (status = 409, description = "`link_deleting`", body = Problem, content_type = problem_json()),
    ))]
async fn remove_connector(
    State(state): State<AppState>,
    tenant: Tenant,
    Path((id, connector_id)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<DryRunQuery>,
) -> Result<Response, Problem> {
    let id = crate::body::parse_id(&id, "link")?;
    own_link(&state, &tenant, id).await?;
    let connector = crate::body::parse_id(&connector_id, "connector")?;
    let mode = if q.dry_run {
        Mode::DryRun
    } else {
        Mode::Commit
    };
    let v = store::remove_member(&state.db, tenant.id, id, connector, mode)
        .await?
        .map_err(|r| refused(r, |_| "connector_id".into()))?;
    if q.dry_run {
        return Ok(Json(plan(&state, &v).await?).into_response());
    }
    tracing::info!(link = %id, %connector, "connector removal from link requested");
    Ok(accepted(view(&state, &v).await?))
}

/// Delete a link.
///
/// Every member moves back into the tenant's VRF, then the link's VRF is
/// removed from every PE where no unit uses it, and its RD/RT is released.
/// Deleting a deleted link is a no-op.
#[utoipa::path(delete, path = "/v1/links/{id}", tag = "links",
    params(("id" = Uuid, Path, description = "Link id"), DryRunQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The plan, when `dry_run=true`; nothing changed", body = LinkPlan),
        (status = 202, description = "Accepted; the PEs are being reconfigured", body = Link),
        (status = 400, description = "The query string does not parse", body = Problem, content_type = problem_json()),
        Unauthenticated,
        (status = 403, description = "An ops or admin key and another tenant's link: they read every tenant's, change only their own", body = Problem, content_type = problem_json()),
        (status = 404, description = "No such link for this tenant", body = Problem, content_type = problem_json()),
    ))]
async fn delete_link(
    State(state): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<DryRunQuery>,
) -> Result<Response, Problem> {
    let id = crate::body::parse_id(&id, "link")?;
    own_link(&state, &tenant, id).await?;
    let mode = if q.dry_run {
        Mode::DryRun
    } else {
        Mode::Commit
    };
    let v = store::delete(&state.db, tenant.id, id, mode).await?;
    if q.dry_run {
        return Ok(Json(plan(&state, &v).await?).into_response());
    }
    tracing::info!(link = %id, "link deletion requested");
    Ok(accepted(view(&state, &v).await?))
}

// ===== plans =====

/// One PE as the plan sees it: where to read it, how to render for it, and
/// its facts as they evolve through the planned steps.
struct PlannedPe {
    name: String,
    platform: Platform,
    facts: Option<PeFacts>,
    unavailable: Option<String>,
}

/// Runs the reconciler over the link as the request leaves it (the same
/// steps the worker will take), rendering each step's router change and
/// applying it to the PE's facts read from running.
/// A link the caller may change: its own tenant's. Ops and admin keys read
/// every tenant's links, so another tenant's is a 403 that says why.
async fn own_link(state: &AppState, tenant: &Tenant, id: Uuid) -> Result<(), Problem> {
    let v = store::get_scoped(&state.db, tenant.read_scope(), id).await?;
    if v.link.tenant_id != tenant.id {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Forbidden",
            format!(
                "link {id} belongs to another tenant; a key with role `{}` reads every tenant's links but changes only its own tenant's",
                tenant.role
            ),
        ));
    }
    Ok(())
}

async fn plan(state: &AppState, v: &LinkView) -> Result<LinkPlan, Problem> {
    let link_vrf = intent::link_vrf(&v.link);
    let tenant = inventory::tenant(&state.db, v.link.tenant_id).await?;
    let tenant_vrf = intent::tenant_vrf(&tenant);
    let mut members = Vec::new();
    let mut rows = BTreeMap::new();
    for m in &v.members {
        let Some(s) = MemberState::parse(&m.state) else {
            return Err(Problem::internal());
        };
        if s == MemberState::Removed {
            continue;
        }
        let row = connectors::get(&state.db, m.connector_id)
            .await?
            .ok_or_else(Problem::internal)?;
        let pes = intent::attachments_of(&row, &link_vrf, REDACTED)?
            .into_iter()
            .map(|(pe, _)| pe.to_string())
            .collect();
        members.push(Member {
            connector: m.connector_id.to_string(),
            state: s,
            pes,
        });
        rows.insert(m.connector_id.to_string(), row);
    }
    let mut link_state = LinkState::parse(&v.link.state).ok_or_else(Problem::internal)?;
    let mut pes: BTreeMap<Uuid, PlannedPe> = BTreeMap::new();
    let mut changes = Vec::new();
    for _ in 0..(4 * members.len() + 4) {
        let Some(step) = machine::next(link_state, &members) else {
            break;
        };
        match &step {
            Step::Move { connector, to } => {
                let row = &rows[connector];
                let (from_vrf, to_vrf) = match to {
                    Vrf::Link => (&tenant_vrf, &link_vrf),
                    Vrf::Tenant => (&link_vrf, &tenant_vrf),
                };
                let from = intent::attachments_of(row, from_vrf, REDACTED)?;
                let into = intent::attachments_of(row, to_vrf, REDACTED)?;
                for ((pe_id, remove), (_, create)) in from.into_iter().zip(into) {
                    let pe = planned_pe(state, &mut pes, pe_id).await?;
                    let render = |op, i| {
                        pe.platform
                            .render(op, i)
                            .map(|r| r.config_xml)
                            .map_err(|e| render_problem(&pe.name, e))
                    };
                    let xml = vec![
                        render(Operation::Detach, &remove)?,
                        render(Operation::Create, &create)?,
                    ];
                    let before = pe.facts.clone();
                    if let Some(f) = pe.facts.as_mut() {
                        apply_move(f, &row.id.to_string(), from_vrf, to_vrf);
                    }
                    changes.push(change(
                        pe,
                        "move",
                        Some(row.id),
                        xml,
                        before,
                        [from_vrf, to_vrf],
                    ));
                }
            }
            Step::RemoveVrf { pes: on, .. } => {
                for pe_id in on {
                    let pe_id: Uuid = pe_id.parse().map_err(|_| Problem::internal())?;
                    let pe = planned_pe(state, &mut pes, pe_id).await?;
                    let xml = pe
                        .platform
                        .render_vrf_delete(&link_vrf)
                        .map_err(|e| render_problem(&pe.name, e))?
                        .config_xml;
                    let before = pe.facts.clone();
                    if let Some(f) = pe.facts.as_mut() {
                        f.vrfs.retain(|x| x.name != link_vrf.name);
                    }
                    changes.push(change(
                        pe,
                        "vrf-delete",
                        None,
                        vec![xml],
                        before,
                        [&link_vrf, &link_vrf],
                    ));
                }
            }
            Step::Forget { .. } | Step::Settle { .. } => {}
        }
        let outcome = step.outcome();
        if let Some((c, s)) = outcome.member
            && let Some(m) = members.iter_mut().find(|m| m.connector == c)
        {
            m.state = s;
        }
        members.retain(|m| m.state != MemberState::Removed);
        if let Some(s) = outcome.link {
            link_state = s;
        }
    }
    Ok(LinkPlan {
        dry_run: true,
        link: view(state, v).await?,
        router_changes: changes,
    })
}

fn render_problem(pe: &str, e: onramp_router_templates::Error) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "render_failed",
        "Router configuration cannot be rendered",
        format!("PE {pe}: {e}"),
    )
}

async fn planned_pe<'a>(
    state: &AppState,
    pes: &'a mut BTreeMap<Uuid, PlannedPe>,
    id: Uuid,
) -> Result<&'a mut PlannedPe, Problem> {
    if let std::collections::btree_map::Entry::Vacant(slot) = pes.entry(id) {
        let pe = inventory::pe(&state.db, id).await?;
        let platform = Platform::load(&state.templates_root, &pe.platform).map_err(|e| {
            tracing::error!(pe = %pe.name, error = %e, "platform unusable");
            Problem::internal()
        })?;
        // The plan reads the PE like the worker does, so "before" is what
        // the PE carries now, not what onramp believes it carries.
        let (facts, unavailable) = match crate::pe_running::read(state, &pe).await {
            Err(why) => (None, Some(why)),
            Ok(running) => match PeFacts::from_running(&platform, &running) {
                Ok(f) => (Some(f), None),
                Err(e) => (None, Some(format!("reading PE {}: {e}", pe.name))),
            },
        };
        slot.insert(PlannedPe {
            name: pe.name,
            platform,
            facts,
            unavailable,
        });
    }
    Ok(pes.get_mut(&id).expect("inserted above"))
}

fn change(
    pe: &PlannedPe,
    operation: &str,
    connector: Option<Uuid>,
    config_xml: Vec<String>,
    before: Option<PeFacts>,
    vrfs: [&VrfIntent; 2],
) -> LinkRouterChange {
    let names: Vec<&str> = vrfs.iter().map(|v| v.name.as_str()).collect();
    let (before, after, diff) = match (before, &pe.facts) {
        (Some(b), Some(a)) => {
            let b = describe(&b, &names);
            let a = describe(a, &names);
            let d = line_diff(&b, &a);
            (Some(b), Some(a), Some(d))
        }
        _ => (None, None, None),
    };
    LinkRouterChange {
        pe: pe.name.clone(),
        platform: pe.platform.name().to_string(),
        operation: operation.into(),
        connector,
        config_xml,
        before,
        after,
        diff,
        diff_unavailable: pe.unavailable.clone(),
    }
}

/// A unit's attachment moves from one VRF to another: its membership and
/// its BGP neighbors (recognised by the connector id in their descriptions,
/// as the validation does).
fn apply_move(f: &mut PeFacts, connector: &str, from: &VrfIntent, to: &VrfIntent) {
    let ours = |d: &Option<String>| {
        d.as_deref().is_some_and(|d| {
            d.split_whitespace()
                .any(|w| w.trim_end_matches(':') == connector)
        })
    };
    let units: Vec<(String, u32)> = f
        .units
        .iter()
        .filter(|u| ours(&u.description))
        .map(|u| (u.interface.clone(), u.unit))
        .collect();
    for v in f.vrfs.iter_mut().filter(|v| v.name == from.name) {
        v.members.retain(|m| !units.contains(m));
    }
    if !f.vrfs.iter().any(|v| v.name == to.name) {
        f.vrfs.push(onramp_router_validate::Vrf {
            name: to.name.clone(),
            route_distinguisher: Some(to.route_distinguisher.clone()),
            route_targets: vec![to.route_target.clone()],
            members: Vec::new(),
        });
    }
    if let Some(v) = f.vrfs.iter_mut().find(|v| v.name == to.name) {
        for u in &units {
            if !v.members.contains(u) {
                v.members.push(u.clone());
            }
        }
    }
    for n in f
        .neighbors
        .iter_mut()
        .filter(|n| n.vrf == from.name && ours(&n.description))
    {
        n.vrf = to.name.clone();
    }
}

/// The named VRFs as a PE carries them, one self-contained line per fact
/// (like Junos `set` lines), so a line diff shows exactly which unit or
/// session leaves which VRF; an absent VRF has no line.
fn describe(f: &PeFacts, vrfs: &[&str]) -> String {
    let mut out = String::new();
    let mut names: Vec<&str> = vrfs.to_vec();
    names.dedup();
    for name in names {
        let Some(v) = f.vrfs.iter().find(|v| v.name == name) else {
            continue;
        };
        let at = format!("routing-instance {name}");
        if let Some(rd) = &v.route_distinguisher {
            out.push_str(&format!("{at} route-distinguisher {rd}\n"));
        }
        for rt in &v.route_targets {
            out.push_str(&format!("{at} vrf-target {rt}\n"));
        }
        let mut members: Vec<_> = v.members.clone();
        members.sort();
        for (iface, unit) in members {
            out.push_str(&format!("{at} interface {iface}.{unit}\n"));
        }
        let mut ns: Vec<_> = f.neighbors.iter().filter(|n| n.vrf == name).collect();
        ns.sort_by(|a, b| a.address.cmp(&b.address));
        for n in ns {
            out.push_str(&format!(
                "{at} bgp neighbor {} peer-as {} description \"{}\"\n",
                n.address,
                n.peer_as
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| "-".into()),
                n.description.as_deref().unwrap_or("")
            ));
        }
    }
    out
}

/// A line diff (longest common subsequence, like `diff -u` without hunks).
fn line_diff(before: &str, after: &str) -> String {
    let mut out = String::new();
    for change in similar::TextDiff::from_lines(before, after).iter_all_changes() {
        let sign = match change.tag() {
            similar::ChangeTag::Delete => '-',
            similar::ChangeTag::Insert => '+',
            similar::ChangeTag::Equal => ' ',
        };
        out.push(sign);
        out.push_str(change.value());
        if !change.value().ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diff_shows_a_unit_moving_between_vrfs() {
        let vrf = |name: &str, members: &[u32]| onramp_router_validate::Vrf {
            name: name.into(),
            route_distinguisher: Some("65000:1".into()),
            route_targets: vec!["target:65000:1".into()],
            members: members.iter().map(|u| ("ge-0/0/1".into(), *u)).collect(),
        };
        let before = PeFacts {
            vrfs: vec![vrf("cust", &[100, 101])],
            ..Default::default()
        };
        let after = PeFacts {
            vrfs: vec![vrf("cust", &[100]), vrf("lnk", &[101])],
            ..Default::default()
        };
        let d = line_diff(
            &describe(&before, &["cust", "lnk"]),
            &describe(&after, &["cust", "lnk"]),
        );
        assert_eq!(
            d,
            " routing-instance cust route-distinguisher 65000:1\n \
             routing-instance cust vrf-target target:65000:1\n \
             routing-instance cust interface ge-0/0/1.100\n\
             -routing-instance cust interface ge-0/0/1.101\n\
             +routing-instance lnk route-distinguisher 65000:1\n\
             +routing-instance lnk vrf-target target:65000:1\n\
             +routing-instance lnk interface ge-0/0/1.101\n"
        );
    }
}
