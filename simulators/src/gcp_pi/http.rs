//! HTTP surface: the metadata token endpoint, Compute endpoints and the
//! `/_sim/` control plane.

use std::collections::HashMap;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde_json::{Value, json};

use super::state::{GoogleError, Operation, SimState};
use super::{CreatePairingKey, GcpFault, GcpPiSim, SimPartnerAttachment};

const ATTACHMENTS: &str = "/compute/v1/projects/{project}/regions/{region}/interconnectAttachments";
const OPERATIONS: &str = "/compute/v1/projects/{project}/regions/{region}/operations";

pub(crate) fn router(sim: GcpPiSim) -> Router {
    Router::new()
        .route(
            "/computeMetadata/v1/instance/service-accounts/default/token",
            get(token),
        )
        .route("/computeMetadata/v1/project/project-id", get(project_id))
        .route(ATTACHMENTS, get(list).post(insert))
        .route(
            &format!("{ATTACHMENTS}/{{name}}"),
            get(get_attachment)
                .delete(delete_attachment)
                .patch(patch_attachment),
        )
        .route(&format!("{OPERATIONS}/{{op}}"), get(get_operation))
        .route(&format!("{OPERATIONS}/{{op}}/wait"), post(wait_operation))
        .route("/_sim/pairing-keys", post(create_pairing_key))
        .route("/_sim/customer-attachments/{key}", delete(customer_delete))
        .route("/_sim/customer-attachments/{key}/activate", post(activate))
        .route("/_sim/attachments", get(attachments))
        .route("/_sim/operations", get(operations))
        .route("/_sim/tokens", delete(revoke_tokens))
        .route(
            "/_sim/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/_sim/stats", get(stats))
        .merge(crate::clock_http::routes(GcpPiSim::clock))
        .fallback(not_found)
        .with_state(sim)
}

// ----- metadata server -----

fn metadata_text(status: StatusCode, text: String) -> Response {
    let mut r = (status, text).into_response();
    r.headers_mut()
        .insert("metadata-flavor", HeaderValue::from_static("Google"));
    r
}

fn metadata_flavor_ok(headers: &HeaderMap) -> bool {
    headers
        .get("metadata-flavor")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "Google")
}

fn missing_flavor(path: &str) -> Response {
    metadata_text(
        StatusCode::FORBIDDEN,
        format!(
            "Your client does not have permission to get URL `{path}` from this server. Missing Metadata-Flavor:Google header.\n"
        ),
    )
}

async fn token(State(sim): State<GcpPiSim>, headers: HeaderMap) -> Response {
    let mut state = sim.lock();
    state.record_call("metadata.token");
    if !metadata_flavor_ok(&headers) {
        return missing_flavor("/computeMetadata/v1/instance/service-accounts/default/token");
    }
    let now = state.cfg.clock.now();
    let access_token = state.issue_token(now);
    let ttl = state.cfg.token_ttl.as_secs();
    let mut r = axum::Json(json!({
        "access_token": access_token,
        "expires_in": ttl,
        "token_type": "Bearer",
    }))
    .into_response();
    r.headers_mut()
        .insert("metadata-flavor", HeaderValue::from_static("Google"));
    r
}

async fn project_id(State(sim): State<GcpPiSim>, headers: HeaderMap) -> Response {
    if !metadata_flavor_ok(&headers) {
        return missing_flavor("/computeMetadata/v1/project/project-id");
    }
    let project = sim.lock().cfg.project.clone();
    metadata_text(StatusCode::OK, project)
}

// ----- Compute plumbing -----

type Q = Query<HashMap<String, String>>;

/// Where self links point: this server, as the client addressed it.
struct Links {
    base: String,
    project: String,
}

impl Links {
    fn new(headers: &HeaderMap, project: &str) -> Self {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("127.0.0.1");
        Self {
            base: format!("http://{host}/compute/v1/projects/{project}"),
            project: project.to_owned(),
        }
    }

    fn region(&self, region: &str) -> String {
        format!("{}/regions/{region}", self.base)
    }

    fn attachment(&self, region: &str, name: &str) -> String {
        format!("{}/interconnectAttachments/{name}", self.region(region))
    }

    fn interconnect(&self, name: &str) -> String {
        format!("{}/global/interconnects/{name}", self.base)
    }

    fn operation(&self, region: &str, name: &str) -> String {
        format!("{}/operations/{name}", self.region(region))
    }
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
}

fn attachment_json(links: &Links, a: &SimPartnerAttachment) -> Value {
    let operational = if a.state == "ACTIVE" {
        "OS_ACTIVE"
    } else {
        "OS_UNPROVISIONED"
    };
    let mut v = json!({
        "kind": "compute#interconnectAttachment",
        "id": a.id,
        "creationTimestamp": rfc3339(a.created_at),
        "name": a.name,
        "selfLink": links.attachment(&a.region, &a.name),
        "region": links.region(&a.region),
        "type": "PARTNER_PROVIDER",
        "interconnect": links.interconnect(&a.interconnect),
        "pairingKey": a.pairing_key,
        "vlanTag8021q": a.vlan_tag8021q,
        "bandwidth": a.bandwidth,
        "partnerMetadata": {
            "partnerName": a.partner_metadata.partner_name,
            "interconnectName": a.partner_metadata.interconnect_name,
            "portalUrl": a.partner_metadata.portal_url,
        },
        "state": a.state,
        "operationalStatus": operational,
        "cloudRouterIpAddress": a.cloud_router_ip_address,
        "customerRouterIpAddress": a.customer_router_ip_address,
        "edgeAvailabilityDomain": a.edge_availability_domain,
        "googleReferenceId": a.google_reference_id,
        "mtu": 1440,
        "stackType": "IPV4_ONLY",
        "encryption": "NONE",
        "dataplaneVersion": 2,
    });
    if let Some(asn) = a.partner_asn {
        // int64: a string on the wire.
        v["partnerAsn"] = json!(asn.to_string());
    }
    if let Some(d) = &a.description {
        v["description"] = json!(d);
    }
    v
}

fn http_error_message(status: u16) -> String {
    StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("ERROR")
        .to_ascii_uppercase()
}

fn operation_json(links: &Links, op: &Operation, now: Instant) -> Value {
    let status = op.status(now);
    let mut v = json!({
        "kind": "compute#operation",
        "id": op.id,
        "name": op.name,
        "operationType": op.operation_type(),
        "targetLink": links.attachment(&op.region, &op.target),
        "targetId": op.target_id,
        "status": status,
        "user": format!("onramp-provisioner@{}.iam.gserviceaccount.com", links.project),
        "progress": op.progress(now),
        "insertTime": rfc3339(op.insert_time),
        "selfLink": links.operation(&op.region, &op.name),
        "region": links.region(&op.region),
    });
    if status != "PENDING" {
        v["startTime"] = json!(rfc3339(op.start_time));
    }
    if let Some(end) = op.end_time.filter(|_| op.done) {
        v["endTime"] = json!(rfc3339(end));
    }
    if let Some(rid) = &op.request_id {
        v["clientOperationId"] = json!(rid);
    }
    if op.done
        && let Some((code, message, http)) = &op.failure
    {
        v["error"] = json!({ "errors": [{ "code": code, "message": message }] });
        v["httpErrorStatusCode"] = json!(http);
        v["httpErrorMessage"] = json!(http_error_message(*http));
    }
    v
}

fn google_error(e: &GoogleError) -> Response {
    let mut r = (e.status, axum::Json(e.body())).into_response();
    if let Some(s) = e.retry_after {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(s));
    }
    if e.status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(
                "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"",
            ),
        );
    }
    r
}

/// Counts the call, then auth, rate limit and scope; then `f` on the
/// advanced state.
fn compute(
    sim: &GcpPiSim,
    method: &str,
    headers: &HeaderMap,
    project: &str,
    region: &str,
    resource: &str,
    f: impl FnOnce(&mut SimState, &Links, Instant) -> Result<Value, GoogleError>,
) -> Response {
    let now = sim.clock().now();
    let mut state = sim.lock();
    state.record_call(method);
    state.advance(now);
    let links = Links::new(headers, &state.cfg.project);
    let result = (|| {
        let auth = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        state.check_token(auth, now)?;
        if let Some(e) = state.take_rate_limit() {
            return Err(e);
        }
        state.check_scope(method, project, region, resource)?;
        f(&mut state, &links, now)
    })();
    drop(state);
    match result {
        Ok(body) => axum::Json(body).into_response(),
        Err(e) => {
            tracing::debug!(method, status = e.status.as_u16(), reason = %e.reason, message = %e.message, "GCP PI sim call refused");
            google_error(&e)
        }
    }
}

// ----- Compute handlers -----

async fn insert(
    State(sim): State<GcpPiSim>,
    Path((project, region)): Path<(String, String)>,
    headers: HeaderMap,
    query: Q,
    body: Bytes,
) -> Response {
    let request_id = query.get("requestId").cloned();
    compute(
        &sim,
        "compute.interconnectAttachments.insert",
        &headers,
        &project,
        &region,
        "interconnectAttachments",
        |s, links, now| {
            let v: Value = serde_json::from_slice(&body)
                .map_err(|e| GoogleError::invalid(format!("Invalid JSON payload received. {e}")))?;
            let op = s.insert(&region, request_id.as_deref(), &v, now)?;
            Ok(operation_json(links, &op, now))
        },
    )
}

async fn list(
    State(sim): State<GcpPiSim>,
    Path((project, region)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    compute(
        &sim,
        "compute.interconnectAttachments.list",
        &headers,
        &project,
        &region,
        "interconnectAttachments",
        |s, links, _| {
            let items: Vec<Value> = s
                .list(&region)
                .iter()
                .map(|a| attachment_json(links, a))
                .collect();
            Ok(json!({
                "kind": "compute#interconnectAttachmentList",
                "id": format!("projects/{}/regions/{region}/interconnectAttachments", links.project),
                "items": items,
                "selfLink": format!("{}/interconnectAttachments", links.region(&region)),
            }))
        },
    )
}

async fn get_attachment(
    State(sim): State<GcpPiSim>,
    Path((project, region, name)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    compute(
        &sim,
        "compute.interconnectAttachments.get",
        &headers,
        &project,
        &region,
        &format!("interconnectAttachments/{name}"),
        |s, links, _| Ok(attachment_json(links, &s.get(&region, &name)?)),
    )
}

async fn delete_attachment(
    State(sim): State<GcpPiSim>,
    Path((project, region, name)): Path<(String, String, String)>,
    headers: HeaderMap,
    query: Q,
) -> Response {
    let request_id = query.get("requestId").cloned();
    compute(
        &sim,
        "compute.interconnectAttachments.delete",
        &headers,
        &project,
        &region,
        &format!("interconnectAttachments/{name}"),
        |s, links, now| {
            let op = s.delete(&region, &name, request_id.as_deref(), now)?;
            Ok(operation_json(links, &op, now))
        },
    )
}

async fn patch_attachment(
    State(sim): State<GcpPiSim>,
    Path((project, region, name)): Path<(String, String, String)>,
    headers: HeaderMap,
    query: Q,
    body: Bytes,
) -> Response {
    let request_id = query.get("requestId").cloned();
    compute(
        &sim,
        "compute.interconnectAttachments.patch",
        &headers,
        &project,
        &region,
        &format!("interconnectAttachments/{name}"),
        |s, links, now| {
            let v: Value = serde_json::from_slice(&body)
                .map_err(|e| GoogleError::invalid(format!("Invalid JSON payload received. {e}")))?;
            let op = s.patch(&region, &name, request_id.as_deref(), &v, now)?;
            Ok(operation_json(links, &op, now))
        },
    )
}

async fn get_operation(
    State(sim): State<GcpPiSim>,
    Path((project, region, op)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    compute(
        &sim,
        "compute.regionOperations.get",
        &headers,
        &project,
        &region,
        &format!("operations/{op}"),
        |s, links, now| Ok(operation_json(links, &s.operation(&region, &op)?, now)),
    )
}

/// Holds the call until the operation is done or `wait_max` passed (checks
/// and counts happen once, up front).
async fn wait_operation(
    State(sim): State<GcpPiSim>,
    Path((project, region, op)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    // wait_max counts from the call's arrival, as a client measures it.
    let clock = sim.clock();
    let arrived = clock.now();
    let mut ready_at = None;
    let first = compute(
        &sim,
        "compute.regionOperations.wait",
        &headers,
        &project,
        &region,
        &format!("operations/{op}"),
        |s, links, now| {
            let o = s.operation(&region, &op)?;
            if !o.done {
                ready_at = Some(o.ready_at);
            }
            Ok(operation_json(links, &o, now))
        },
    );
    let Some(ready_at) = ready_at else {
        return first;
    };
    let deadline = arrived + sim.lock().cfg.wait_max;
    clock.sleep_until(ready_at.min(deadline)).await;
    let now = clock.now();
    let mut state = sim.lock();
    state.advance(now);
    let links = Links::new(&headers, &state.cfg.project);
    match state.operation(&region, &op) {
        Ok(o) => axum::Json(operation_json(&links, &o, now)).into_response(),
        Err(e) => google_error(&e),
    }
}

// ----- control plane -----

/// `{"message": ..., "error": ...}`, as the other simulators answer.
fn control_error(status: StatusCode, message: impl Into<String>) -> Response {
    let message = message.into();
    (
        status,
        axum::Json(json!({ "message": message, "error": message })),
    )
        .into_response()
}

async fn create_pairing_key(State(sim): State<GcpPiSim>, body: Bytes) -> Response {
    let req: CreatePairingKey = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return control_error(StatusCode::BAD_REQUEST, format!("invalid body: {e}")),
    };
    match sim.create_pairing_key(req) {
        Ok(c) => (StatusCode::CREATED, axum::Json(c)).into_response(),
        Err(msg) => control_error(StatusCode::BAD_REQUEST, msg),
    }
}

async fn activate(State(sim): State<GcpPiSim>, Path(key): Path<String>) -> Response {
    match sim.lock_now().activate(&key) {
        Ok(c) => axum::Json(c).into_response(),
        Err((status, msg)) => control_error(status, msg),
    }
}

async fn customer_delete(State(sim): State<GcpPiSim>, Path(key): Path<String>) -> Response {
    match sim.lock_now().customer_delete(&key) {
        Ok(c) => axum::Json(c).into_response(),
        Err((status, msg)) => control_error(status, msg),
    }
}

async fn attachments(State(sim): State<GcpPiSim>) -> Response {
    axum::Json(sim.attachments()).into_response()
}

async fn operations(State(sim): State<GcpPiSim>) -> Response {
    axum::Json(sim.operations()).into_response()
}

async fn revoke_tokens(State(sim): State<GcpPiSim>) -> Response {
    sim.revoke_tokens();
    StatusCode::NO_CONTENT.into_response()
}

async fn list_faults(State(sim): State<GcpPiSim>) -> Response {
    axum::Json(sim.faults()).into_response()
}

async fn add_fault(State(sim): State<GcpPiSim>, body: Bytes) -> Response {
    let fault: GcpFault = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => return control_error(StatusCode::BAD_REQUEST, format!("invalid body: {e}")),
    };
    sim.inject_fault(fault);
    (StatusCode::CREATED, axum::Json(sim.faults())).into_response()
}

async fn clear_faults(State(sim): State<GcpPiSim>) -> Response {
    sim.clear_faults();
    StatusCode::NO_CONTENT.into_response()
}

async fn stats(State(sim): State<GcpPiSim>) -> Response {
    axum::Json(sim.stats()).into_response()
}

async fn not_found() -> Response {
    google_error(&GoogleError::new(
        StatusCode::NOT_FOUND,
        "notFound",
        "The requested URL was not found on this server.",
    ))
}
