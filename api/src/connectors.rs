//! `/v1/connectors` and `/v1/locations`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use onramp_state_machines::ConnectorKind;
use onramp_store::entity::{connector, nni};
use onramp_store::{connectors as store, inventory};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

mod change;
mod retry;

use crate::AppState;
use crate::auth::Tenant;
use crate::body::ApiQuery;
use crate::page::PageParams;
use crate::problem::{
    BadQuery, FieldError, MalformedJson, NotJson, Problem, Unauthenticated, problem_json,
};
use crate::views::{
    Connector, ConnectorList, ConnectorOrder, EventList, HostedVifReport, Location, LocationList,
    Plan,
};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_connector, list_connectors))
        .routes(routes!(
            get_connector,
            delete_connector,
            change::change_connector
        ))
        .routes(routes!(connector_events))
        .routes(routes!(report_vif))
        .routes(routes!(retry::retry_connector))
        .routes(routes!(list_locations))
}

/// Order a connector.
///
/// Validates the order, allocates its resources (VLANs, peering subnets and,
/// if none given, a private ASN), and queues provisioning. Progress shows in
/// `state`, `waiting_on` and the events timeline. An `azure-expressroute`
/// order is checked with Azure first: its service key must name a circuit
/// waiting for onramp at a peering location onramp serves.
#[utoipa::path(post, path = "/v1/connectors", tag = "connectors",
    request_body(content = ConnectorOrder, content_type = "application/json"),
    params(CreateQuery,
        ("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 255,
            description = "Makes retries safe: 1 to 255 printable ASCII characters, unique per order (e.g. a UUID). \
                A retry with the same key, query string and body within 24 h creates nothing and gets the first answer \
                (2xx or 4xx) again with `Idempotent-Replayed: true`, after waiting for the first if it is still running. \
                Keys are scoped to the API key's tenant and role. A 5xx is not kept, so its retry runs again.")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The plan, when `dry_run=true`; nothing was allocated or sent", body = Plan,
            headers(("Idempotent-Replayed" = String, description = "`true` when this is the kept answer to an earlier request with the same Idempotency-Key"))),
        (status = 202, description = "Accepted; provisioning runs in the background", body = Connector,
            headers(("Location" = String, description = "The connector's URL"),
                ("Idempotent-Replayed" = String, description = "`true` when this is the kept answer to an earlier request with the same Idempotency-Key; nothing new was created"))),
        (status = 400, description = "Malformed JSON, or a malformed Idempotency-Key (`invalid_idempotency_key`, `errors[0].field` = `Idempotency-Key`)", body = Problem, content_type = problem_json()),
        Unauthenticated,
        (status = 409, description = "A requested value is taken, or a pool is exhausted; or `idempotency_in_progress`: the request with this Idempotency-Key is still running after 30 s (see Retry-After)", body = Problem, content_type = problem_json()),
        (status = 413, description = "Body larger than 2 MiB (`payload_too_large`)", body = Problem, content_type = problem_json()),
        NotJson,
        (status = 422, description = "Invalid order, `errors` names the fields; or `idempotency_key_reused`: the Idempotency-Key was used for a different request, nothing was done", body = Problem, content_type = problem_json()),
        (status = 502, description = "The CSP refused onramp's lookup or credentials", body = Problem, content_type = problem_json()),
        (status = 503, description = "The CSP is unreachable or throttling; see Retry-After", body = Problem, content_type = problem_json()),
    ))]
async fn create_connector(
    State(state): State<AppState>,
    tenant: Tenant,
    crate::body::ApiQuery(q): crate::body::ApiQuery<CreateQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let (kind, value) = parse_order(&headers, &body)?;
    crate::kinds::order(&state, &tenant, q.dry_run, kind, value).await
}

/// Report the VIF created on a hosted connection.
///
/// For `aws-hosted-connection` connectors waiting for it: the peer
/// addresses, ASN and BGP key the customer entered when they created the
/// private VIF on the hosted connection (the VLAN is onramp's). onramp then
/// configures its PE and watches the VIF's BGP.
#[utoipa::path(put, path = "/v1/connectors/{id}/vif", tag = "connectors",
    params(("id" = Uuid, Path, description = "Connector id")),
    request_body(content = HostedVifReport, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 202, description = "Recorded; the PE is being configured", body = Connector),
        MalformedJson,
        Unauthenticated,
        (status = 403, description = "An ops or admin key and another tenant's connector: they read every tenant's, change only their own", body = Problem, content_type = problem_json()),
        (status = 404, description = "No such connector for this tenant", body = Problem, content_type = problem_json()),
        (status = 409, description = "The connector is not a hosted connection waiting for its VIF", body = Problem, content_type = problem_json()),
        NotJson,
        (status = 422, description = "Invalid report; `errors` names the fields", body = Problem, content_type = problem_json()),
    ))]
async fn report_vif(
    State(state): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Connector>), Problem> {
    let id = crate::body::parse_id(&id, "connector")?;
    // Whose connector it is comes before what the report says.
    writable(&state, &tenant, id).await?;
    let value = crate::body::json_object(&headers, &body)?;
    let report: HostedVifReport = crate::body::from_value(value)?;
    for _ in 0..20 {
        let row = writable(&state, &tenant, id).await?;
        if row.connector_kind()? != ConnectorKind::AwsHostedConnection {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "wrong_kind",
                "Not a hosted connection",
                format!(
                    "connector {id} is {}; only {} connectors take a VIF report",
                    row.kind,
                    ConnectorKind::AwsHostedConnection
                ),
            ));
        }
        let t = crate::kinds::aws_hosted_connection::vif_transition(&state, &row, &report)?;
        if store::commit_transition(&state.db, id, &t).await? {
            tracing::info!(connector = %id, "customer reported the VIF");
            let row = store::get_for_tenant(&state.db, tenant.id, id).await?;
            return Ok((
                StatusCode::ACCEPTED,
                Json(view(&state, &[row]).await?.remove(0)),
            ));
        }
    }
    Err(Problem::new(
        StatusCode::CONFLICT,
        "busy",
        "Connector busy",
        "the connector changed state repeatedly while the report was being recorded",
    )
    .with_hint("retry the PUT"))
}

#[derive(Debug, Deserialize, IntoParams)]
struct CreateQuery {
    /// Return the plan (resources, router XML per PE, CSP calls) instead of
    /// ordering. Nothing is allocated, pushed or called.
    #[serde(default)]
    dry_run: bool,
}

/// The order's kind and its body, not yet read as that kind's shape.
fn parse_order(headers: &HeaderMap, body: &[u8]) -> Result<(ConnectorKind, Value), Problem> {
    let value = crate::body::json_object(headers, body)?;
    // The kind decides which fields are valid, so it is checked first and on
    // its own, with the kinds that exist.
    let kind = match value.get("kind") {
        None => return Err(Problem::field("kind", "required", "kind is required")),
        Some(Value::String(k)) => k.parse::<ConnectorKind>().map_err(|e| {
            Problem::field(
                "kind",
                "unknown_kind",
                format!("{e}; supported: {}", ConnectorKind::list()),
            )
        })?,
        Some(_) => {
            return Err(Problem::field(
                "kind",
                "invalid_type",
                "kind must be a string",
            ));
        }
    };
    Ok((kind, value))
}

/// A connector the caller may change: its own tenant's. An ops or admin
/// key reads every tenant's, so for another tenant's connector it gets a
/// 403 that says why, not a 404 that would contradict its reads.
pub(crate) async fn writable(
    state: &AppState,
    tenant: &Tenant,
    id: Uuid,
) -> Result<connector::Model, Problem> {
    let row = store::get_scoped(&state.db, tenant.read_scope(), id).await?;
    if row.tenant_id != tenant.id {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Forbidden",
            format!(
                "connector {id} belongs to another tenant; a key with role `{}` reads every tenant's connectors but changes only its own tenant's",
                tenant.role
            ),
        ));
    }
    Ok(row)
}

async fn view(state: &AppState, rows: &[connector::Model]) -> Result<Vec<Connector>, Problem> {
    let mut nnis: HashMap<Uuid, nni::Model> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for c in rows {
        if let std::collections::hash_map::Entry::Vacant(slot) = nnis.entry(c.nni_id) {
            slot.insert(inventory::nni(&state.db, c.nni_id).await?);
        }
        out.push(Connector::from_row(c, &nnis[&c.nni_id])?);
    }
    Ok(out)
}

/// The filters of `GET /v1/connectors`.
#[derive(Debug, Default, serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ConnectorListQuery {
    /// Only connectors in one of these states, comma-separated (e.g.
    /// `active,degraded`).
    state: Option<String>,
    /// Only connectors of this kind.
    kind: Option<String>,
    /// Only connectors waiting on this party: `customer`, `csp`, `ops`,
    /// `onramp`, `router` (a change queued for its PE), or `nobody` (up, or
    /// finished).
    waiting_on: Option<String>,
    /// Only this tenant's connectors (ops and admin keys, which read every
    /// tenant's; a customer key reads its own tenant's whatever is given).
    tenant: Option<Uuid>,
}

const WAITING_ON: [&str; 6] = ["customer", "csp", "ops", "onramp", "router", "nobody"];

impl ConnectorListQuery {
    fn filter(&self, caller: &Tenant, errors: &mut Vec<FieldError>) -> store::ConnectorFilter {
        let mut f = store::ConnectorFilter {
            tenant: caller.read_scope().or(self.tenant),
            ..Default::default()
        };
        if let Some(states) = &self.state {
            for s in states.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let ok = s.len() <= 64 && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
                if ok && f.states.len() < 20 {
                    f.states.push(s.to_string());
                } else {
                    errors.push(FieldError {
                        field: "state".into(),
                        code: "invalid_value".into(),
                        detail: format!(
                            "state must be up to 20 comma-separated state names \
                             (lowercase letters and `_`, e.g. `active,degraded`), not `{s}`"
                        ),
                    });
                    break;
                }
            }
        }
        if let Some(k) = &self.kind {
            match k.parse::<ConnectorKind>() {
                Ok(kind) => f.kind = Some(kind.as_str().to_string()),
                Err(e) => errors.push(FieldError {
                    field: "kind".into(),
                    code: "unknown_kind".into(),
                    detail: format!("{e}; supported: {}", ConnectorKind::list()),
                }),
            }
        }
        if let Some(w) = &self.waiting_on {
            if WAITING_ON.contains(&w.as_str()) {
                f.waiting_on = Some(w.clone());
            } else {
                errors.push(FieldError {
                    field: "waiting_on".into(),
                    code: "invalid_value".into(),
                    detail: format!(
                        "waiting_on must be one of {}, not `{w}`",
                        WAITING_ON.join(", ")
                    ),
                });
            }
        }
        f
    }
}

/// List connectors, newest first, a page at a time.
///
/// A customer key lists its own tenant's connectors; an ops or admin key
/// lists every tenant's (narrow it with `tenant`). Filters combine: every
/// one given must hold. Follow `next_cursor` for the next page; it is
/// absent on the last one.
#[utoipa::path(get, path = "/v1/connectors", tag = "connectors",
    params(ConnectorListQuery, PageParams),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "A page of connectors", body = ConnectorList),
        BadQuery,
        Unauthenticated,
        (status = 422, description = "A filter, the limit or the cursor is invalid; `errors` names them", body = Problem, content_type = problem_json()),
    ))]
async fn list_connectors(
    State(state): State<AppState>,
    tenant: Tenant,
    ApiQuery(q): ApiQuery<ConnectorListQuery>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<ConnectorList>, Problem> {
    let mut errors = Vec::new();
    let filter = q.filter(&tenant, &mut errors);
    let page = p.check::<(DateTime<Utc>, Uuid)>(&mut errors);
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    let rows = store::list_page(&state.db, &filter, page.after, page.limit + 1).await?;
    let (rows, next_cursor) = crate::page::finish(rows, page.limit, |c| (c.created_at, c.id));
    Ok(Json(ConnectorList {
        items: view(&state, &rows).await?,
        next_cursor,
    }))
}

/// One connector: its state, who it waits on, and what was allocated.
///
/// Customer keys read their own tenant's connectors; ops and admin keys
/// read any.
#[utoipa::path(get, path = "/v1/connectors/{id}", tag = "connectors",
    params(("id" = Uuid, Path, description = "Connector id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The connector", body = Connector),
        Unauthenticated,
        (status = 404, description = "No such connector for this tenant", body = Problem, content_type = problem_json()),
    ))]
async fn get_connector(
    State(state): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
) -> Result<Json<Connector>, Problem> {
    let id = crate::body::parse_id(&id, "connector")?;
    let row = store::get_scoped(&state.db, tenant.read_scope(), id).await?;
    Ok(Json(view(&state, &[row]).await?.remove(0)))
}

/// The connector's timeline, oldest first, a page at a time.
#[utoipa::path(get, path = "/v1/connectors/{id}/events", tag = "connectors",
    params(("id" = Uuid, Path, description = "Connector id"), PageParams),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "A page of the timeline", body = EventList),
        BadQuery,
        Unauthenticated,
        (status = 404, description = "No such connector for this tenant", body = Problem, content_type = problem_json()),
        (status = 422, description = "The limit or the cursor is invalid", body = Problem, content_type = problem_json()),
    ))]
async fn connector_events(
    State(state): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<EventList>, Problem> {
    let id = crate::body::parse_id(&id, "connector")?;
    store::get_scoped(&state.db, tenant.read_scope(), id).await?;
    let page = p.checked::<i64>()?;
    let rows = store::events_page(&state.db, id, page.after, page.limit + 1).await?;
    let (rows, next_cursor) = crate::page::finish(rows, page.limit, |e| e.id);
    Ok(Json(EventList {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}

/// Deprovision a connector.
///
/// Tears the connector down at the CSP (deletes the AWS VIF or hosted
/// connection, or the Google attachment; for Azure, deletes the peering and
/// deprovisions the circuit), removes the PE
/// configuration and releases every allocated resource; the connector ends
/// in `deleted`. Deleting a deleted
/// connector is a no-op.
#[utoipa::path(delete, path = "/v1/connectors/{id}", tag = "connectors",
    params(("id" = Uuid, Path, description = "Connector id")),
    security(("api_key" = [])),
    responses(
        (status = 202, description = "Deprovisioning runs in the background", body = Connector),
        Unauthenticated,
        (status = 403, description = "An ops or admin key and another tenant's connector: they read every tenant's, change only their own", body = Problem, content_type = problem_json()),
        (status = 404, description = "No such connector for this tenant", body = Problem, content_type = problem_json()),
        (status = 409, description = "`connector_in_link`: the connector is in a link; remove it from the link first", body = Problem, content_type = problem_json()),
    ))]
async fn delete_connector(
    State(state): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Connector>), Problem> {
    let id = crate::body::parse_id(&id, "connector")?;
    writable(&state, &tenant, id).await?;
    // A linked connector's attachment sits in its link's VRF, and the link
    // is the customer's routing design: taking a member out is a link
    // change the customer makes explicitly (DELETE on the link's member),
    // not a side effect of deleting the connector.
    if let Some(m) = onramp_store::links::live_membership(&state.db, id).await? {
        let detail = format!("connector {id} is in link {}", m.link_id);
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "connector_in_link",
            "Connector in a link",
            detail.clone(),
        )
        .with_errors(vec![FieldError {
            field: "id".into(),
            code: "connector_in_link".into(),
            detail,
        }])
        .with_hint(format!(
            "remove it from the link first: DELETE /v1/links/{}/connectors/{id}",
            m.link_id
        )));
    }
    // A worker may commit between our read and our write; the step guard
    // makes us lose that race cleanly, and we re-read and try again.
    for _ in 0..20 {
        let row = writable(&state, &tenant, id).await?;
        let Some(t) = crate::kinds::delete_transition(&row)? else {
            return Ok((
                StatusCode::ACCEPTED,
                Json(view(&state, &[row]).await?.remove(0)),
            ));
        };
        if store::commit_transition(&state.db, id, &t).await? {
            tracing::info!(connector = %id, "delete requested");
            let row = store::get_for_tenant(&state.db, tenant.id, id).await?;
            return Ok((
                StatusCode::ACCEPTED,
                Json(view(&state, &[row]).await?.remove(0)),
            ));
        }
    }
    Err(Problem::new(
        StatusCode::CONFLICT,
        "busy",
        "Connector busy",
        "the connector changed state repeatedly while the delete was being recorded",
    )
    .with_hint("retry the DELETE"))
}

/// Locations where connectors can be ordered.
#[utoipa::path(get, path = "/v1/locations", tag = "connectors",
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Orderable locations", body = LocationList),
        Unauthenticated,
    ))]
async fn list_locations(
    State(state): State<AppState>,
    _tenant: Tenant,
) -> Result<Json<LocationList>, Problem> {
    let mut items = Vec::new();
    for csp in crate::kinds::csps() {
        let kinds = crate::kinds::offered_by(csp);
        items.extend(
            inventory::nnis(&state.db, csp)
                .await?
                .into_iter()
                .map(|n| Location {
                    code: n.location_code,
                    name: n.name,
                    region: n.region,
                    csp: n.csp,
                    kinds: kinds.clone(),
                }),
        );
    }
    let kinds = crate::kinds::offered_by_providers();
    for p in onramp_store::ticket_providers::list(&state.db).await? {
        items.extend(
            inventory::nnis(&state.db, &p.key)
                .await?
                .into_iter()
                .map(|n| Location {
                    code: n.location_code,
                    name: n.name,
                    region: n.region,
                    csp: n.csp,
                    kinds: kinds.clone(),
                }),
        );
    }
    Ok(Json(LocationList { items }))
}
