//! HTTP surface: the AWS JSON 1.1 endpoint and the `/_sim/` control plane.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use super::{AwsDxSim, Fault, validate};

const AMZ_JSON: &str = "application/x-amz-json-1.1";
const TARGET_PREFIX: &str = "OvertureService.";

pub(crate) fn router(sim: AwsDxSim) -> Router {
    Router::new()
        .route("/", post(aws_endpoint))
        .route("/_sim/virtual-interfaces", get(list_vifs))
        .route("/_sim/virtual-interfaces/{id}", get(get_vif))
        .route("/_sim/virtual-interfaces/{id}/bgp", post(set_bgp))
        .route("/_sim/connections", get(list_connections))
        .route("/_sim/connections/{id}", get(get_connection))
        .route(
            "/_sim/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/_sim/stats", get(stats))
        .merge(crate::clock_http::routes(AwsDxSim::clock))
        .fallback(not_found)
        .with_state(sim)
}

async fn aws_endpoint(State(sim): State<AwsDxSim>, headers: HeaderMap, body: Bytes) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let operation = target.strip_prefix(TARGET_PREFIX);
    let result = match operation {
        None => Err(ApiError::unknown_operation(target)),
        Some(operation) => call(&sim, operation, &headers, &body),
    };
    match &result {
        Ok(_) => tracing::debug!(target, %request_id, "AWS DX sim call"),
        Err(e) => tracing::debug!(
            target, %request_id, error_type = %e.error_type, message = %e.message,
            "AWS DX sim call refused"
        ),
    }
    aws_response(result, &request_id)
}

fn call(
    sim: &AwsDxSim,
    operation: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, ApiError> {
    let mut state = sim.lock();
    state.record_call(operation);
    let access_key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(ApiError::missing_authentication)?;
    let access_key = validate::access_key_from_authorization(access_key)
        .ok_or_else(ApiError::missing_authentication)?;
    let caller = state
        .identify(access_key)
        .ok_or_else(ApiError::unrecognized_client)?;
    let now = state.cfg.clock.now();
    state.advance(now);
    if let Some(fault) = state.take_fault(operation) {
        return Err(fault);
    }
    state.dispatch(operation, &caller, body, now)
}

fn aws_response(result: Result<Value, ApiError>, request_id: &str) -> Response {
    let (status, body, error_type) = match result {
        Ok(body) => (StatusCode::OK, body, None),
        Err(e) => (
            e.status,
            json!({ "__type": e.error_type, "message": e.message }),
            Some(e.error_type),
        ),
    };
    let mut response = (status, body.to_string()).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(AMZ_JSON));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    if let Some(v) = error_type.and_then(|t| HeaderValue::from_str(&t).ok()) {
        h.insert("x-amzn-errortype", v);
    }
    response
}

fn control_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": message.into() }))).into_response()
}

/// Control-plane bodies are parsed whatever the content type, for `curl -d`.
fn parse_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("invalid body: {e}"))
}

async fn list_vifs(State(sim): State<AwsDxSim>) -> Response {
    axum::Json(sim.virtual_interfaces()).into_response()
}

async fn get_vif(State(sim): State<AwsDxSim>, Path(id): Path<String>) -> Response {
    match sim.virtual_interface(&id) {
        Some(vif) => axum::Json(vif).into_response(),
        None => control_error(StatusCode::NOT_FOUND, format!("no virtual interface {id}")),
    }
}

async fn list_connections(State(sim): State<AwsDxSim>) -> Response {
    axum::Json(sim.hosted_connections()).into_response()
}

async fn get_connection(State(sim): State<AwsDxSim>, Path(id): Path<String>) -> Response {
    match sim.hosted_connection(&id) {
        Some(conn) => axum::Json(conn).into_response(),
        None => control_error(StatusCode::NOT_FOUND, format!("no hosted connection {id}")),
    }
}

#[derive(Deserialize)]
struct BgpRequest {
    status: String,
}

async fn set_bgp(State(sim): State<AwsDxSim>, Path(id): Path<String>, body: Bytes) -> Response {
    let req: BgpRequest = match parse_body(&body) {
        Ok(req) => req,
        Err(msg) => return control_error(StatusCode::BAD_REQUEST, msg),
    };
    let up = match req.status.as_str() {
        "up" => true,
        "down" => false,
        other => {
            return control_error(
                StatusCode::BAD_REQUEST,
                format!("status must be \"up\" or \"down\", not {other:?}"),
            );
        }
    };
    let result = {
        let mut state = sim.lock_now();
        let now = state.cfg.clock.now();
        state.set_bgp(&id, up, now)
    };
    match result {
        Ok(vif) => axum::Json(vif).into_response(),
        Err((status, msg)) => control_error(status, msg),
    }
}

async fn list_faults(State(sim): State<AwsDxSim>) -> Response {
    axum::Json(sim.lock().faults()).into_response()
}

async fn add_fault(State(sim): State<AwsDxSim>, body: Bytes) -> Response {
    let fault: Fault = match parse_body(&body) {
        Ok(f) => f,
        Err(msg) => return control_error(StatusCode::BAD_REQUEST, msg),
    };
    if !(400..=599).contains(&fault.status) {
        return control_error(
            StatusCode::BAD_REQUEST,
            format!("status {} is not an HTTP error status", fault.status),
        );
    }
    let mut state = sim.lock();
    state.add_fault(fault);
    (StatusCode::CREATED, axum::Json(state.faults())).into_response()
}

async fn clear_faults(State(sim): State<AwsDxSim>) -> Response {
    sim.clear_faults();
    StatusCode::NO_CONTENT.into_response()
}

async fn stats(State(sim): State<AwsDxSim>) -> Response {
    axum::Json(sim.stats()).into_response()
}

async fn not_found() -> Response {
    control_error(StatusCode::NOT_FOUND, "not found")
}

#[cfg(test)]
mod tests;
