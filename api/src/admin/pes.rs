//! `/v1/admin/pes`, `/v1/admin/pes/{id}/ports`, `/v1/admin/ports/{id}` and
//! the NETCONF reachability check.

use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onramp_pe_netconf::{ApplyOptions, Error as NetconfError, PeTarget};
use onramp_router_templates::Platform;
use onramp_store::admin::{self as store, PePatch, PeSpec, PortPatch, PortSpec};
use onramp_store::alloc;
use onramp_store::entity::{pe_port, pe_router};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::views::{
    Maintenance, NewMaintenance, NewPe, NewPort, Pe, PeChange, PeChangeList, PeCheck, PeCommit,
    PeCommitList, PeLinks, PeList, PeUpdate, Port, PortLinks, PortList, PortUpdate,
};
use super::{parse_body, parse_id};
use crate::AppState;
use crate::auth::{Admin, Operator};
use crate::body::ApiQuery;
use crate::page::{PageParams, slice};
use crate::problem::{
    BadQuery, FieldError, MalformedJson, NotAdmin, NotJson, NotOperator, Problem, Unauthenticated,
    problem_json,
};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_pes, create_pe))
        .routes(routes!(get_pe, update_pe, delete_pe))
        .routes(routes!(check_pe))
        .routes(routes!(get_maintenance, start_maintenance, end_maintenance))
        .routes(routes!(list_changes))
        .routes(routes!(list_commits))
        .routes(routes!(list_ports, create_port))
        .routes(routes!(get_port, update_port, delete_port))
}

/// The platforms a PE may name: the template folders.
fn platforms(state: &AppState) -> Result<Vec<String>, Problem> {
    let root = &state.templates_root;
    Platform::available(root).map_err(|e| {
        tracing::error!(root = %root.display(), error = %e, "cannot list router platforms");
        Problem::internal()
    })
}

fn created<T>(location: &str, body: T) -> (StatusCode, HeaderMap, Json<T>) {
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(location) {
        h.insert(header::LOCATION, v);
    }
    (StatusCode::CREATED, h, Json(body))
}

fn maintenance_of(
    since: &Option<chrono::DateTime<chrono::Utc>>,
    reason: &Option<String>,
    held_changes: Option<u64>,
) -> Option<Maintenance> {
    since.map(|since| Maintenance {
        since,
        reason: reason.clone().unwrap_or_default(),
        held_changes,
    })
}

pub(super) fn pe_view(m: pe_router::Model) -> Pe {
    let base = format!("/v1/admin/pes/{}", m.id);
    Pe {
        id: m.id,
        name: m.name,
        host: m.host,
        netconf_port: u16::try_from(m.port).unwrap_or_default(),
        username: m.username,
        has_password: !m.password.is_empty(),
        host_key_fingerprint: m.host_key_fingerprint,
        platform: m.platform,
        snmp_target: m.snmp_target,
        created_at: m.created_at,
        maintenance: maintenance_of(&m.maintenance_since, &m.maintenance_reason, None),
        links: PeLinks {
            ports: format!("{base}/ports"),
            check: format!("{base}/check"),
            self_: base,
        },
    }
}

/// List PE routers, by name.
#[utoipa::path(get, path = "/v1/admin/pes", tag = "admin",
    params(PageParams),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The PE routers", body = PeList),
        BadQuery,
        Unauthenticated,
        NotOperator,
        (status = 422, description = "The limit or the cursor is invalid", body = Problem, content_type = problem_json()),
    ))]
async fn list_pes(
    State(state): State<AppState>,
    _staff: Operator,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<PeList>, Problem> {
    let page = p.checked::<(String, uuid::Uuid)>()?;
    let (rows, next_cursor) = slice(store::list_pes(&state.db).await?, &page, |r| {
        (r.name.clone(), r.id)
    });
    let items = rows.into_iter().map(pe_view).collect();
    Ok(Json(PeList { items, next_cursor }))
}

/// Add a PE router.
///
/// The password is stored and never returned. Pin the SSH host key with
/// `host_key_fingerprint`; without it onramp refuses to connect.
#[utoipa::path(post, path = "/v1/admin/pes", tag = "admin",
    request_body(content = NewPe, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 201, description = "Created", body = Pe,
            headers(("Location" = String, description = "The PE's URL"))),
        MalformedJson,
        Unauthenticated,
        NotAdmin,
        (status = 409, description = "The name is taken", body = Problem, content_type = problem_json()),
        NotJson,
        (status = 422, description = "Invalid; `errors` names the fields", body = Problem, content_type = problem_json()),
    ))]
async fn create_pe(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, HeaderMap, Json<Pe>), Problem> {
    let new: NewPe = parse_body(&headers, &body)?;
    let spec = PeSpec {
        name: new.name,
        host: new.host,
        netconf_port: new.netconf_port,
        username: new.username,
        password: new.password,
        host_key_fingerprint: new.host_key_fingerprint,
        platform: new.platform,
        snmp_target: new.snmp_target,
    };
    let m = store::create_pe(&state.db, spec, &platforms(&state)?, &state.secrets).await?;
    tracing::info!(pe = %m.name, id = %m.id, by = %who.name, "PE created");
    let view = pe_view(m);
    Ok(created(&view.links.self_.clone(), view))
}

/// One PE router.
#[utoipa::path(get, path = "/v1/admin/pes/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "PE id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The PE", body = Pe),
        Unauthenticated,
        NotOperator,
        (status = 404, description = "No such PE", body = Problem, content_type = problem_json()),
    ))]
async fn get_pe(
    State(state): State<AppState>,
    _staff: Operator,
    Path(id): Path<String>,
) -> Result<Json<Pe>, Problem> {
    let id = parse_id(&id, "PE")?;
    Ok(Json(pe_view(store::get_pe(&state.db, id).await?)))
}

/// Change a PE router.
///
/// Only the fields given change; unknown fields are refused. Send
/// `"host_key_fingerprint": null` to unpin the key.
#[utoipa::path(patch, path = "/v1/admin/pes/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "PE id")),
    request_body(content = PeUpdate, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The updated PE", body = Pe),
        MalformedJson,
        Unauthenticated,
        NotAdmin,
        (status = 404, description = "No such PE", body = Problem, content_type = problem_json()),
        (status = 409, description = "The name is taken", body = Problem, content_type = problem_json()),
        NotJson,
        (status = 422, description = "Invalid; `errors` names the fields", body = Problem, content_type = problem_json()),
    ))]
async fn update_pe(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Pe>, Problem> {
    let id = parse_id(&id, "PE")?;
    let u: PeUpdate = parse_body(&headers, &body)?;
    let patch = PePatch {
        name: u.name,
        host: u.host,
        netconf_port: u.netconf_port,
        username: u.username,
        password: u.password,
        host_key_fingerprint: u.host_key_fingerprint,
        platform: u.platform,
        snmp_target: u.snmp_target,
    };
    let m = store::update_pe(&state.db, id, patch, &platforms(&state)?, &state.secrets).await?;
    tracing::info!(pe = %m.name, id = %m.id, by = %who.name, "PE updated");
    Ok(Json(pe_view(m)))
}

/// Remove a PE router.
///
/// Refused (409 `in_use`) while it has ports or router changes on record.
#[utoipa::path(delete, path = "/v1/admin/pes/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "PE id")),
    security(("api_key" = [])),
    responses(
        (status = 204, description = "Deleted"),
        Unauthenticated,
        NotAdmin,
        (status = 404, description = "No such PE", body = Problem, content_type = problem_json()),
        (status = 409, description = "In use; `detail` names the users", body = Problem, content_type = problem_json()),
    ))]
async fn delete_pe(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let id = parse_id(&id, "PE")?;
    store::delete_pe(&state.db, id).await?;
    tracing::info!(id = %id, by = %who.name, "PE deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// The PE's maintenance, with the changes it holds.
#[utoipa::path(get, path = "/v1/admin/pes/{id}/maintenance", tag = "admin",
    params(("id" = Uuid, Path, description = "PE id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The maintenance under way", body = Maintenance),
        Unauthenticated,
        NotOperator,
        (status = 404, description = "No such PE (`not_found`), or it is not in maintenance (`not_in_maintenance`)", body = Problem, content_type = problem_json()),
    ))]
async fn get_maintenance(
    State(state): State<AppState>,
    _staff: Operator,
    Path(id): Path<String>,
) -> Result<Json<Maintenance>, Problem> {
    let id = parse_id(&id, "PE")?;
    let m = store::get_pe(&state.db, id).await?;
    maintenance_with_held(&state, &m)
        .await?
        .map(Json)
        .ok_or_else(|| {
            Problem::new(
                StatusCode::NOT_FOUND,
                "not_in_maintenance",
                "Not in maintenance",
                format!("PE {} is not in maintenance", m.name),
            )
        })
}

async fn maintenance_with_held(
    state: &AppState,
    m: &pe_router::Model,
) -> Result<Option<Maintenance>, Problem> {
    let held = store::held_changes(&state.db, m.id).await?;
    Ok(maintenance_of(
        &m.maintenance_since,
        &m.maintenance_reason,
        Some(held),
    ))
}

/// Put a PE in maintenance.
///
/// From now on onramp pushes nothing to the PE: the changes queued for it,
/// and those of orders taken meanwhile, wait in order and go out when the
/// maintenance ends (`DELETE`). The connectors waiting say that the PE is
/// in planned maintenance; the reason is for operators only. Putting a PE
/// in maintenance again changes the reason and keeps the start.
#[utoipa::path(put, path = "/v1/admin/pes/{id}/maintenance", tag = "admin",
    params(("id" = Uuid, Path, description = "PE id")),
    request_body(content = NewMaintenance, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The maintenance under way", body = Maintenance),
        MalformedJson,
        Unauthenticated,
        NotOperator,
        (status = 404, description = "No such PE", body = Problem, content_type = problem_json()),
        NotJson,
        (status = 422, description = "Invalid; `errors` names the fields", body = Problem, content_type = problem_json()),
    ))]
async fn start_maintenance(
    State(state): State<AppState>,
    Operator(who): Operator,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Maintenance>, Problem> {
    let id = parse_id(&id, "PE")?;
    let new: NewMaintenance = parse_body(&headers, &body)?;
    let m = store::start_maintenance(&state.db, id, &new.reason).await?;
    tracing::info!(pe = %m.name, reason = %new.reason, by = %who.name, "PE in maintenance");
    let view = maintenance_with_held(&state, &m).await?;
    view.map(Json).ok_or_else(Problem::internal)
}

/// End a PE's maintenance.
///
/// onramp pushes what waited, in order. Ending a maintenance that is not
/// under way changes nothing.
#[utoipa::path(delete, path = "/v1/admin/pes/{id}/maintenance", tag = "admin",
    params(("id" = Uuid, Path, description = "PE id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The PE, out of maintenance", body = Pe),
        Unauthenticated,
        NotOperator,
        (status = 404, description = "No such PE", body = Problem, content_type = problem_json()),
    ))]
async fn end_maintenance(
    State(state): State<AppState>,
    Operator(who): Operator,
    Path(id): Path<String>,
) -> Result<Json<Pe>, Problem> {
    let id = parse_id(&id, "PE")?;
    let m = store::end_maintenance(&state.db, id).await?;
    tracing::info!(pe = %m.name, by = %who.name, "PE maintenance ended");
    Ok(Json(pe_view(m)))
}

/// The changes queued for a PE and not yet pushed, oldest first (the order
/// its writer takes them in), with the router's last refusal of each.
#[utoipa::path(get, path = "/v1/admin/pes/{id}/changes", tag = "admin",
    params(("id" = Uuid, Path, description = "PE id"), PageParams),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The PE's queue", body = PeChangeList),
        BadQuery,
        Unauthenticated,
        NotOperator,
        (status = 404, description = "No such PE", body = Problem, content_type = problem_json()),
        (status = 422, description = "The limit or the cursor is invalid", body = Problem, content_type = problem_json()),
    ))]
async fn list_changes(
    State(state): State<AppState>,
    _staff: Operator,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<PeChangeList>, Problem> {
    let id = parse_id(&id, "PE")?;
    let page = p.checked::<i64>()?;
    store::get_pe(&state.db, id).await?;
    let queued = onramp_store::pe_changes::queued(&state.db, id).await?;
    let (rows, next_cursor) = slice(queued, &page, |c| c.id);
    let items = rows
        .into_iter()
        .map(|c| PeChange {
            id: c.id,
            op: c.op,
            owner_id: c.connector_id,
            queued_at: c.created_at,
            attempts: c.attempts,
            retry_at: c
                .retry_at_ms
                .and_then(chrono::DateTime::<chrono::Utc>::from_timestamp_millis),
            error: c.error,
        })
        .collect();
    Ok(Json(PeChangeList { items, next_cursor }))
}

/// A PE's commits, newest first: how many changes each batch carried, how
/// large the PE was, and what the push cost.
#[utoipa::path(get, path = "/v1/admin/pes/{id}/commits", tag = "admin",
    params(("id" = Uuid, Path, description = "PE id"), PageParams),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The PE's commits", body = PeCommitList),
        BadQuery,
        Unauthenticated,
        NotOperator,
        (status = 404, description = "No such PE", body = Problem, content_type = problem_json()),
        (status = 422, description = "The limit or the cursor is invalid", body = Problem, content_type = problem_json()),
    ))]
async fn list_commits(
    State(state): State<AppState>,
    _staff: Operator,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<PeCommitList>, Problem> {
    let id = parse_id(&id, "PE")?;
    // Newest first: the sort key is the negated commit id.
    let page = p.checked::<i64>()?;
    store::get_pe(&state.db, id).await?;
    let before = page.after.map(|k| -k);
    let rows =
        onramp_store::pe_changes::recent_commits(&state.db, id, before, page.limit + 1).await?;
    let (rows, next_cursor) = slice(rows, &page, |c| -c.id);
    let items = rows
        .into_iter()
        .map(|c| PeCommit {
            at: c.at,
            writer: c.writer,
            changes: c.changes,
            attachments_before: c.attachments_before,
            push_ms: c.push_ms,
        })
        .collect();
    Ok(Json(PeCommitList { items, next_cursor }))
}

/// Check that onramp can manage a PE.
///
/// Connects over NETCONF with the stored credentials, verifies the SSH host
/// key against the pinned fingerprint and reads the running configuration.
/// A host key other than the pinned one fails closed: 502
/// `host_key_mismatch`, naming both keys. Other failures are reported in the
/// body.
#[utoipa::path(post, path = "/v1/admin/pes/{id}/check", tag = "admin",
    params(("id" = Uuid, Path, description = "PE id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "What the check found", body = PeCheck),
        Unauthenticated,
        NotAdmin,
        (status = 404, description = "No such PE", body = Problem, content_type = problem_json()),
        (status = 502, description = "The PE presented another SSH host key than the pinned one", body = Problem, content_type = problem_json()),
    ))]
async fn check_pe(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<PeCheck>, Response> {
    let id = parse_id(&id, "PE").map_err(IntoResponse::into_response)?;
    let pe = store::get_pe(&state.db, id)
        .await
        .map_err(|e| Problem::from(e).into_response())?;
    let target = PeTarget {
        name: pe.name.clone(),
        host: pe.host.clone(),
        port: u16::try_from(pe.port).unwrap_or_default(),
        username: pe.username.clone(),
        password: state.secrets.open(&pe.password).map_err(|e| {
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "credentials_unreadable",
                "PE credentials unreadable",
                format!("the stored password of PE {}: {e}", pe.name),
            )
            .with_hint("set the password again with PATCH, or check ONRAMP_SECRET_KEY")
            .into_response()
        })?,
        host_key_fingerprint: pe.host_key_fingerprint.clone(),
    };
    let opts = ApplyOptions {
        connect_timeout: Duration::from_secs(10),
        rpc_timeout: Duration::from_secs(15),
        ..ApplyOptions::default()
    };
    let started = Instant::now();
    let result = onramp_pe_netconf::get_running_with(&target, &opts).await;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let mut check = PeCheck {
        pe: pe.name.clone(),
        ok: false,
        reachable: true,
        host_key: "verified".into(),
        presented_fingerprint: None,
        error: None,
        elapsed_ms,
    };
    match result {
        Ok(_) => check.ok = true,
        Err(NetconfError::HostKeyMismatch { expected, got, .. }) => {
            tracing::warn!(pe = %pe.name, %expected, presented = %got, "PE host key mismatch");
            return Err(host_key_mismatch(&pe, &expected, &got));
        }
        Err(NetconfError::HostKeyNotPinned { got, .. }) => {
            check.host_key = "not_pinned".into();
            check.presented_fingerprint = Some(got.clone());
            check.error = Some(format!(
                "no host key fingerprint is pinned for {}, so onramp refused its key {got}; verify it out of band, then PATCH host_key_fingerprint",
                pe.name
            ));
        }
        Err(e @ NetconfError::Connect { .. }) => {
            check.reachable = false;
            check.host_key = "unknown".into();
            check.error = Some(e.to_string());
        }
        Err(
            e @ NetconfError::Timeout {
                step: "connect", ..
            },
        ) => {
            check.reachable = false;
            check.host_key = "unknown".into();
            check.error = Some(format!("PE {}: {e}", pe.name));
        }
        // The host key is checked during the SSH key exchange, before the
        // login and every RPC: past it, the key was the pinned one.
        Err(e) => check.error = Some(e.to_string()),
    }
    Ok(Json(check))
}

fn host_key_mismatch(pe: &pe_router::Model, expected: &str, got: &str) -> Response {
    let detail = format!(
        "PE {} at {}:{} presented SSH host key {got}, but the pinned fingerprint is {expected}; onramp refused to connect and sent nothing",
        pe.name, pe.host, pe.port
    );
    let problem = Problem::new(
        StatusCode::BAD_GATEWAY,
        "host_key_mismatch",
        "SSH host key mismatch",
        detail.clone(),
    )
    .with_errors(vec![FieldError {
        field: "host_key_fingerprint".into(),
        code: "mismatch".into(),
        detail,
    }])
    .with_hint(
        "a re-keyed router or a man in the middle: verify the router's key out of band before pinning the new one",
    );
    // RFC 9457 extension members: both keys, for tools.
    let mut body = serde_json::to_value(&problem).unwrap_or_default();
    if let Some(obj) = body.as_object_mut() {
        obj.insert("expected_fingerprint".into(), expected.into());
        obj.insert("presented_fingerprint".into(), got.into());
    }
    (
        StatusCode::BAD_GATEWAY,
        [(header::CONTENT_TYPE, problem_json())],
        body.to_string(),
    )
        .into_response()
}

// ===== ports =====

async fn port_view(
    state: &AppState,
    m: pe_port::Model,
    pe_name: Option<&str>,
) -> Result<Port, Problem> {
    let pe = match pe_name {
        Some(n) => n.to_string(),
        None => store::get_pe(&state.db, m.pe_id).await?.name,
    };
    let vlans_allocated = store::allocated_count(&state.db, alloc::VLAN, m.id).await?;
    Ok(Port {
        links: PortLinks {
            self_: format!("/v1/admin/ports/{}", m.id),
            pe: format!("/v1/admin/pes/{}", m.pe_id),
        },
        id: m.id,
        pe_id: m.pe_id,
        pe,
        name: m.name,
        vlan_min: m.vlan_min,
        vlan_max: m.vlan_max,
        vlans_allocated,
    })
}

/// List a PE's ports, by name.
#[utoipa::path(get, path = "/v1/admin/pes/{id}/ports", tag = "admin",
    params(("id" = Uuid, Path, description = "PE id"), PageParams),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The PE's ports", body = PortList),
        BadQuery,
        Unauthenticated,
        NotAdmin,
        (status = 404, description = "No such PE", body = Problem, content_type = problem_json()),
        (status = 422, description = "The limit or the cursor is invalid", body = Problem, content_type = problem_json()),
    ))]
async fn list_ports(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<PortList>, Problem> {
    let page = p.checked::<(String, uuid::Uuid)>()?;
    let id = parse_id(&id, "PE")?;
    let pe = store::get_pe(&state.db, id).await?;
    let mut items = Vec::new();
    let (rows, next_cursor) = slice(store::list_ports(&state.db, id).await?, &page, |r| {
        (r.name.clone(), r.id)
    });
    for p in rows {
        items.push(port_view(&state, p, Some(&pe.name)).await?);
    }
    Ok(Json(PortList { items, next_cursor }))
}

/// Add a port to a PE, with the VLAN range onramp may allocate on it.
#[utoipa::path(post, path = "/v1/admin/pes/{id}/ports", tag = "admin",
    params(("id" = Uuid, Path, description = "PE id")),
    request_body(content = NewPort, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 201, description = "Created", body = Port,
            headers(("Location" = String, description = "The port's URL"))),
        MalformedJson,
        Unauthenticated,
        NotAdmin,
        (status = 404, description = "No such PE", body = Problem, content_type = problem_json()),
        (status = 409, description = "The PE already has a port of that name", body = Problem, content_type = problem_json()),
        NotJson,
        (status = 422, description = "Invalid; `errors` names the fields", body = Problem, content_type = problem_json()),
    ))]
async fn create_port(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, HeaderMap, Json<Port>), Problem> {
    let pe_id = parse_id(&id, "PE")?;
    store::get_pe(&state.db, pe_id).await?;
    let new: NewPort = parse_body(&headers, &body)?;
    let spec = PortSpec {
        name: new.name,
        vlan_min: new.vlan_min,
        vlan_max: new.vlan_max,
    };
    let m = store::create_port(&state.db, pe_id, spec).await?;
    tracing::info!(port = %m.name, id = %m.id, pe = %pe_id, by = %who.name, "port created");
    let view = port_view(&state, m, None).await?;
    Ok(created(&view.links.self_.clone(), view))
}

/// One port.
#[utoipa::path(get, path = "/v1/admin/ports/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "Port id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The port", body = Port),
        Unauthenticated,
        NotAdmin,
        (status = 404, description = "No such port", body = Problem, content_type = problem_json()),
    ))]
async fn get_port(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<Port>, Problem> {
    let id = parse_id(&id, "port")?;
    let m = store::get_port(&state.db, id).await?;
    Ok(Json(port_view(&state, m, None).await?))
}

/// Change a port.
///
/// Shrinking the VLAN range so that an allocated VLAN falls outside is
/// refused (409 `in_use`, naming the VLANs and their connectors).
#[utoipa::path(patch, path = "/v1/admin/ports/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "Port id")),
    request_body(content = PortUpdate, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The updated port", body = Port),
        MalformedJson,
        Unauthenticated,
        NotAdmin,
        (status = 404, description = "No such port", body = Problem, content_type = problem_json()),
        (status = 409, description = "Name taken, or allocated VLANs would fall outside", body = Problem, content_type = problem_json()),
        NotJson,
        (status = 422, description = "Invalid; `errors` names the fields", body = Problem, content_type = problem_json()),
    ))]
async fn update_port(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Port>, Problem> {
    let id = parse_id(&id, "port")?;
    let u: PortUpdate = parse_body(&headers, &body)?;
    let patch = PortPatch {
        name: u.name,
        vlan_min: u.vlan_min,
        vlan_max: u.vlan_max,
    };
    let m = store::update_port(&state.db, id, patch).await?;
    tracing::info!(port = %m.name, id = %m.id, by = %who.name, "port updated");
    Ok(Json(port_view(&state, m, None).await?))
}

/// Remove a port.
///
/// Refused (409 `in_use`) while NNIs sit on it or VLANs are allocated on it.
#[utoipa::path(delete, path = "/v1/admin/ports/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "Port id")),
    security(("api_key" = [])),
    responses(
        (status = 204, description = "Deleted"),
        Unauthenticated,
        NotAdmin,
        (status = 404, description = "No such port", body = Problem, content_type = problem_json()),
        (status = 409, description = "In use; `detail` names the users", body = Problem, content_type = problem_json()),
    ))]
async fn delete_port(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let id = parse_id(&id, "port")?;
    store::delete_port(&state.db, id).await?;
    tracing::info!(id = %id, by = %who.name, "port deleted");
    Ok(StatusCode::NO_CONTENT)
}
