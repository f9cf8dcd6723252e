//! HTTP surface: AAD token endpoint, ARM endpoints and the `/_sim/` control plane.

use std::collections::HashMap;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use serde_json::{Value, json};

use super::state::{ArmError, OperationResult, PRIVATE_PEERING, SimState, check_api_version};
use super::{
    AzureErSim, AzureFault, CreateCircuit, CustomerPeering, SimCrossConnection, SimLeg, SimPeering,
};

const XC_TYPE: &str = "Microsoft.Network/expressRouteCrossConnections";
const ACCEPTED_SCOPES: [&str; 2] = [
    "https://management.azure.com/.default",
    "https://management.core.windows.net/.default",
];

pub(crate) fn router(sim: AzureErSim) -> Router {
    let xc = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/expressRouteCrossConnections/{key}";
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route(
            "/subscriptions/{sub}/providers/Microsoft.Network/expressRouteCrossConnections",
            get(list_xcs),
        )
        .route(
            "/subscriptions/{sub}/providers/Microsoft.Network/locations/{loc}/azureAsyncOperations/{id}",
            get(operation_status),
        )
        .route(
            "/subscriptions/{sub}/providers/Microsoft.Network/locations/{loc}/operationResults/{id}",
            get(operation_result),
        )
        .route(xc, get(get_xc).put(put_xc))
        .route(
            &format!("{xc}/peerings/{{peering}}"),
            get(get_peering).put(put_peering).delete(delete_peering),
        )
        .route(
            &format!("{xc}/peerings/{{peering}}/routeTablesSummary/{{device_path}}"),
            post(route_tables_summary),
        )
        .route("/_sim/circuits", post(create_circuit))
        .route("/_sim/cross-connections", get(list_sim_xcs))
        .route("/_sim/cross-connections/{key}", get(get_sim_xc))
        .route("/_sim/cross-connections/{key}/legs/{leg}", post(set_leg))
        .route(
            "/_sim/cross-connections/{key}/bandwidth",
            post(set_bandwidth),
        )
        .route(
            "/_sim/cross-connections/{key}/private-peering",
            put(customer_peering),
        )
        .route("/_sim/tokens", delete(revoke_tokens))
        .route(
            "/_sim/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/_sim/stats", get(stats))
        .merge(crate::clock_http::routes(AzureErSim::clock))
        .fallback(not_found)
        .with_state(sim)
}

// ----- AAD -----

fn aad_error(status: StatusCode, error: &str, code: u32, description: &str) -> Response {
    let body = json!({
        "error": error,
        "error_description": format!("AADSTS{code}: {description}"),
        "error_codes": [code],
        "timestamp": chrono::Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string(),
        "trace_id": uuid::Uuid::new_v4().to_string(),
        "correlation_id": uuid::Uuid::new_v4().to_string(),
    });
    (status, axum::Json(body)).into_response()
}

async fn token(State(sim): State<AzureErSim>, Path(tenant): Path<String>, body: Bytes) -> Response {
    let form: HashMap<String, String> = match serde_urlencoded_parse(&body) {
        Some(f) => f,
        None => {
            return aad_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                900144,
                "The request body must be application/x-www-form-urlencoded.",
            );
        }
    };
    let mut state = sim.lock();
    state.record_call("Token");
    let cfg = state.cfg.clone();
    if !tenant.eq_ignore_ascii_case(&cfg.tenant_id) {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!("Tenant '{tenant}' not found."),
        );
    }
    let field = |k: &str| form.get(k).map(String::as_str);
    if field("grant_type") != Some("client_credentials") {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type; use client_credentials.",
        );
    }
    match field("scope") {
        Some(s) if ACCEPTED_SCOPES.contains(&s) => {}
        Some(s) => {
            return aad_error(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                1002012,
                &format!("The provided value for scope {s} is not valid."),
            );
        }
        None => {
            return aad_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'scope'.",
            );
        }
    }
    if field("client_id") != Some(cfg.client_id.as_str()) {
        return aad_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            700016,
            "Application with the given identifier was not found in the directory.",
        );
    }
    if field("client_secret") != Some(cfg.client_secret.as_str()) {
        return aad_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            "Invalid client secret provided.",
        );
    }
    let now = state.cfg.clock.now();
    let access_token = state.issue_token(now);
    let ttl = cfg.token_ttl.as_secs();
    axum::Json(json!({
        "token_type": "Bearer",
        "expires_in": ttl,
        "ext_expires_in": ttl,
        "access_token": access_token,
    }))
    .into_response()
}

/// Minimal `application/x-www-form-urlencoded` parsing via axum's query extractor.
fn serde_urlencoded_parse(body: &[u8]) -> Option<HashMap<String, String>> {
    let text = std::str::from_utf8(body).ok()?;
    let uri: axum::http::Uri = format!("/?{text}").parse().ok()?;
    Query::<HashMap<String, String>>::try_from_uri(&uri)
        .ok()
        .map(|q| q.0)
}

// ----- ARM plumbing -----

struct ArmOk {
    status: StatusCode,
    body: Option<Value>,
    /// `(location, operation id)` of a started LRO.
    operation: Option<(String, String)>,
    /// Also send `Location` (the operation's result URL) with the LRO headers.
    location: bool,
}

impl ArmOk {
    fn ok(body: Value) -> Self {
        Self {
            status: StatusCode::OK,
            body: Some(body),
            operation: None,
            location: false,
        }
    }

    fn started(status: StatusCode, body: Option<Value>, location: String, op: String) -> Self {
        Self {
            status,
            body,
            operation: Some((location, op)),
            location: false,
        }
    }
}

type Q = Query<HashMap<String, String>>;

/// Auth, api-version, throttling, then `f` on the advanced state.
fn arm(
    sim: &AzureErSim,
    operation: &str,
    headers: &HeaderMap,
    query: &Q,
    sub: &str,
    f: impl FnOnce(&mut SimState, Instant) -> Result<ArmOk, ArmError>,
) -> Response {
    let now = sim.clock().now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let api_version = query.get("api-version").cloned();
    let mut state = sim.lock();
    state.record_call(operation);
    state.advance(now);
    let retry_after = state.retry_after_secs();
    let sub_id = state.cfg.subscription_id.clone();
    let result = (|| {
        let auth = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        state.check_token(auth, now)?;
        check_api_version(api_version.as_deref())?;
        if let Some(e) = state.take_throttle() {
            return Err(e);
        }
        state.check_subscription(sub)?;
        f(&mut state, now)
    })();
    state.refresh_bgp();
    drop(state);
    let mut response = match result {
        Ok(ok) => {
            let mut r = match ok.body {
                Some(b) => (ok.status, axum::Json(b)).into_response(),
                None => ok.status.into_response(),
            };
            if let Some((loc, id)) = ok.operation {
                let host = headers
                    .get(header::HOST)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("127.0.0.1");
                let base = format!(
                    "http://{host}/subscriptions/{sub_id}/providers/Microsoft.Network/locations/{loc}"
                );
                let api = api_version.as_deref().unwrap_or_default();
                let url = format!("{base}/azureAsyncOperations/{id}?api-version={api}");
                let h = r.headers_mut();
                if let Ok(v) = HeaderValue::from_str(&url) {
                    h.insert("azure-asyncoperation", v);
                }
                if ok.location {
                    let url = format!("{base}/operationResults/{id}?api-version={api}");
                    if let Ok(v) = HeaderValue::from_str(&url) {
                        h.insert(header::LOCATION, v);
                    }
                }
                h.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            }
            r
        }
        Err(e) => {
            tracing::debug!(operation, code = %e.code, message = %e.message, "Azure ER sim call refused");
            let mut r = (e.status, axum::Json(e.body())).into_response();
            if let Some(s) = e.retry_after {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(s));
            }
            if e.status == StatusCode::UNAUTHORIZED {
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(
                        "Bearer authorization_uri=\"https://login.microsoftonline.com/\"",
                    ),
                );
            }
            if let Ok(v) = HeaderValue::from_str(&e.code) {
                r.headers_mut().insert("x-ms-failure-cause", v);
            }
            r
        }
    };
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-ms-request-id", v);
    }
    response
}

fn parse_json(body: &[u8]) -> Result<Value, ArmError> {
    serde_json::from_slice(body).map_err(|e| {
        ArmError::new(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContent",
            format!("The request content was invalid and could not be deserialized: {e}"),
        )
    })
}

fn xc_id(sub: &str, xc: &SimCrossConnection) -> String {
    format!(
        "/subscriptions/{sub}/resourceGroups/{}/providers/{XC_TYPE}/{}",
        xc.resource_group, xc.service_key
    )
}

fn peering_json(sub: &str, xc: &SimCrossConnection, p: &SimPeering) -> Value {
    let mut props = json!({
        "peeringType": PRIVATE_PEERING,
        "state": p.state,
        "azureASN": p.azure_asn,
        "peerASN": p.peer_asn,
        "primaryPeerAddressPrefix": p.primary_peer_address_prefix,
        "secondaryPeerAddressPrefix": p.secondary_peer_address_prefix,
        "primaryAzurePort": xc.primary_azure_port,
        "secondaryAzurePort": xc.secondary_azure_port,
        "vlanId": p.vlan_id,
        "provisioningState": p.provisioning_state,
        "lastModifiedBy": p.last_modified_by,
    });
    if let Some(k) = &p.shared_key {
        props["sharedKey"] = json!(k);
    }
    json!({
        "id": format!("{}/peerings/{PRIVATE_PEERING}", xc_id(sub, xc)),
        "name": PRIVATE_PEERING,
        "type": format!("{XC_TYPE}/peerings"),
        "etag": format!("W/\"{}\"", xc.etag),
        "properties": props,
    })
}

fn xc_json(sub: &str, xc: &SimCrossConnection) -> Value {
    let peerings: Vec<Value> = xc
        .private_peering
        .iter()
        .map(|p| peering_json(sub, xc, p))
        .collect();
    let mut props = json!({
        "primaryAzurePort": xc.primary_azure_port,
        "secondaryAzurePort": xc.secondary_azure_port,
        "sTag": xc.s_tag,
        "peeringLocation": xc.peering_location,
        "bandwidthInMbps": xc.bandwidth_in_mbps,
        "expressRouteCircuit": { "id": xc.circuit_id },
        "serviceProviderProvisioningState": xc.service_provider_provisioning_state,
        "provisioningState": xc.provisioning_state,
        "peerings": peerings,
    });
    if let Some(n) = &xc.service_provider_notes {
        props["serviceProviderNotes"] = json!(n);
    }
    json!({
        "id": xc_id(sub, xc),
        "name": xc.service_key,
        "type": XC_TYPE,
        "location": xc.location,
        "etag": format!("W/\"{}\"", xc.etag),
        "tags": {},
        "properties": props,
    })
}

// ----- ARM handlers -----

async fn list_xcs(
    State(sim): State<AzureErSim>,
    Path(sub): Path<String>,
    headers: HeaderMap,
    query: Q,
) -> Response {
    let filter = query.get("$filter").cloned();
    arm(
        &sim,
        "ExpressRouteCrossConnections_List",
        &headers,
        &query,
        &sub,
        |s, _| {
            let sub = s.cfg.subscription_id.clone();
            let all = s.list(filter.as_deref())?;
            let value: Vec<Value> = all.iter().map(|x| xc_json(&sub, x)).collect();
            Ok(ArmOk::ok(json!({ "value": value })))
        },
    )
}

async fn operation_status(
    State(sim): State<AzureErSim>,
    Path((sub, _loc, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    query: Q,
) -> Response {
    arm(
        &sim,
        "AzureAsyncOperations_Get",
        &headers,
        &query,
        &sub,
        |s, _| s.operation_status(&id).map(ArmOk::ok),
    )
}

async fn get_xc(
    State(sim): State<AzureErSim>,
    Path((sub, rg, key)): Path<(String, String, String)>,
    headers: HeaderMap,
    query: Q,
) -> Response {
    arm(
        &sim,
        "ExpressRouteCrossConnections_Get",
        &headers,
        &query,
        &sub,
        |s, _| {
            let x = s.get(&rg, &key)?;
            Ok(ArmOk::ok(xc_json(&s.cfg.subscription_id, &x)))
        },
    )
}

async fn put_xc(
    State(sim): State<AzureErSim>,
    Path((sub, rg, key)): Path<(String, String, String)>,
    headers: HeaderMap,
    query: Q,
    body: Bytes,
) -> Response {
    arm(
        &sim,
        "ExpressRouteCrossConnections_CreateOrUpdate",
        &headers,
        &query,
        &sub,
        |s, now| {
            let v = parse_json(&body)?;
            let (x, op) = s.put(&rg, &key, &v, now)?;
            Ok(ArmOk::started(
                StatusCode::ACCEPTED,
                Some(xc_json(&s.cfg.subscription_id, &x)),
                x.location.clone(),
                op,
            ))
        },
    )
}

async fn get_peering(
    State(sim): State<AzureErSim>,
    Path((sub, rg, key, name)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    query: Q,
) -> Response {
    arm(
        &sim,
        "ExpressRouteCrossConnectionPeerings_Get",
        &headers,
        &query,
        &sub,
        |s, _| {
            let (x, p) = s.get_peering(&rg, &key, &name)?;
            Ok(ArmOk::ok(peering_json(&s.cfg.subscription_id, &x, &p)))
        },
    )
}

async fn put_peering(
    State(sim): State<AzureErSim>,
    Path((sub, rg, key, name)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    query: Q,
    body: Bytes,
) -> Response {
    arm(
        &sim,
        "ExpressRouteCrossConnectionPeerings_CreateOrUpdate",
        &headers,
        &query,
        &sub,
        |s, now| {
            let v = parse_json(&body)?;
            let (x, p, created, op) = s.put_peering(&rg, &key, &name, &v, now)?;
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::ACCEPTED
            };
            Ok(ArmOk::started(
                status,
                Some(peering_json(&s.cfg.subscription_id, &x, &p)),
                x.location.clone(),
                op,
            ))
        },
    )
}

async fn delete_peering(
    State(sim): State<AzureErSim>,
    Path((sub, rg, key, name)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    query: Q,
) -> Response {
    arm(
        &sim,
        "ExpressRouteCrossConnectionPeerings_Delete",
        &headers,
        &query,
        &sub,
        |s, now| {
            let location = s.get(&rg, &key)?.location;
            Ok(match s.delete_peering(&rg, &key, &name, now)? {
                Some(op) => ArmOk::started(StatusCode::ACCEPTED, None, location, op),
                None => ArmOk {
                    status: StatusCode::NO_CONTENT,
                    body: None,
                    operation: None,
                    location: false,
                },
            })
        },
    )
}

async fn route_tables_summary(
    State(sim): State<AzureErSim>,
    Path((sub, rg, key, name, device_path)): Path<(String, String, String, String, String)>,
    headers: HeaderMap,
    query: Q,
) -> Response {
    arm(
        &sim,
        "ExpressRouteCrossConnections_ListRoutesTableSummary",
        &headers,
        &query,
        &sub,
        |s, now| {
            let location = s.get(&rg, &key)?.location;
            Ok(
                match s.route_tables_summary(&rg, &key, &name, &device_path, now)? {
                    Ok(body) => ArmOk::ok(body),
                    Err(op) => ArmOk {
                        location: true,
                        ..ArmOk::started(StatusCode::ACCEPTED, None, location, op)
                    },
                },
            )
        },
    )
}

async fn operation_result(
    State(sim): State<AzureErSim>,
    Path((sub, loc, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    query: Q,
) -> Response {
    arm(
        &sim,
        "OperationResults_Get",
        &headers,
        &query,
        &sub,
        |s, _| match s.operation_result(&id)? {
            OperationResult::Running => Ok(ArmOk {
                location: true,
                ..ArmOk::started(StatusCode::ACCEPTED, None, loc.clone(), id.clone())
            }),
            OperationResult::Succeeded(Some(body)) => Ok(ArmOk::ok(body)),
            OperationResult::Succeeded(None) => Ok(ArmOk {
                status: StatusCode::NO_CONTENT,
                body: None,
                operation: None,
                location: false,
            }),
            OperationResult::Failed(e) => Err(e),
        },
    )
}

// ----- control plane -----

/// `{"message": ..., "error": ...}`: `error` is what the first endpoints
/// answered, `message` what the later ones document; both carry the text.
fn control_error(status: StatusCode, message: impl Into<String>) -> Response {
    let message = message.into();
    (
        status,
        axum::Json(json!({ "message": message, "error": message })),
    )
        .into_response()
}

async fn create_circuit(State(sim): State<AzureErSim>, body: Bytes) -> Response {
    let req: CreateCircuit = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return control_error(StatusCode::BAD_REQUEST, format!("invalid body: {e}")),
    };
    match sim.create_circuit(req) {
        Ok(xc) => (StatusCode::CREATED, axum::Json(xc)).into_response(),
        Err(msg) => control_error(StatusCode::BAD_REQUEST, msg),
    }
}

async fn list_sim_xcs(State(sim): State<AzureErSim>) -> Response {
    axum::Json(sim.cross_connections()).into_response()
}

async fn get_sim_xc(State(sim): State<AzureErSim>, Path(key): Path<String>) -> Response {
    match sim.cross_connection(&key) {
        Some(x) => axum::Json(x).into_response(),
        None => control_error(StatusCode::NOT_FOUND, format!("no cross-connection {key}")),
    }
}

async fn set_bandwidth(
    State(sim): State<AzureErSim>,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    #[derive(serde::Deserialize)]
    struct Body {
        mbps: u32,
    }
    let mbps = match serde_json::from_slice::<Body>(&body) {
        Ok(b) => b.mbps,
        Err(e) => {
            return control_error(
                StatusCode::BAD_REQUEST,
                format!("invalid body, expected {{\"mbps\": N}}: {e}"),
            );
        }
    };
    match sim.lock_now().set_circuit_bandwidth(&key, mbps) {
        Ok(xc) => axum::Json(xc).into_response(),
        Err((status, msg)) => control_error(status, msg),
    }
}

async fn set_leg(
    State(sim): State<AzureErSim>,
    Path((key, leg)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    #[derive(serde::Deserialize)]
    struct Body {
        up: bool,
    }
    let leg: SimLeg = match leg.parse() {
        Ok(l) => l,
        Err(msg) => return control_error(StatusCode::BAD_REQUEST, msg),
    };
    let up = match serde_json::from_slice::<Body>(&body) {
        Ok(b) => b.up,
        Err(e) => {
            return control_error(
                StatusCode::BAD_REQUEST,
                format!("invalid body, expected {{\"up\": true|false}}: {e}"),
            );
        }
    };
    match sim.lock_now().set_leg_up(&key, leg, up) {
        Ok(xc) => axum::Json(xc).into_response(),
        Err((status, msg)) => control_error(status, msg),
    }
}

async fn customer_peering(
    State(sim): State<AzureErSim>,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    let parsed = serde_json::from_slice::<Value>(&body).and_then(|mut v| {
        // Accept the ARM shape (`{"properties": {...}}`) as well as flat fields.
        if let Some(props) = v.get_mut("properties").filter(|p| p.is_object()) {
            v = props.take();
        }
        serde_json::from_value::<CustomerPeering>(v)
    });
    let req = match parsed {
        Ok(r) => r,
        Err(e) => return control_error(StatusCode::BAD_REQUEST, format!("invalid body: {e}")),
    };
    match sim.lock_now().customer_private_peering(&key, &req) {
        Ok((xc, true)) => (StatusCode::CREATED, axum::Json(xc)).into_response(),
        Ok((xc, false)) => axum::Json(xc).into_response(),
        Err((status, msg)) => control_error(status, msg),
    }
}

async fn revoke_tokens(State(sim): State<AzureErSim>) -> Response {
    sim.revoke_tokens();
    StatusCode::NO_CONTENT.into_response()
}

async fn list_faults(State(sim): State<AzureErSim>) -> Response {
    axum::Json(sim.faults()).into_response()
}

async fn add_fault(State(sim): State<AzureErSim>, body: Bytes) -> Response {
    let fault: AzureFault = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => return control_error(StatusCode::BAD_REQUEST, format!("invalid body: {e}")),
    };
    sim.inject_fault(fault);
    (StatusCode::CREATED, axum::Json(sim.faults())).into_response()
}

async fn clear_faults(State(sim): State<AzureErSim>) -> Response {
    sim.clear_faults();
    StatusCode::NO_CONTENT.into_response()
}

async fn stats(State(sim): State<AzureErSim>) -> Response {
    axum::Json(sim.stats()).into_response()
}

async fn not_found() -> Response {
    let e = ArmError::new(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        "The requested resource or path was not found.",
    );
    (e.status, axum::Json(e.body())).into_response()
}
