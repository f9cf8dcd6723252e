//! `/v1/admin/nnis`: network-to-network interfaces with the CSPs.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use onramp_store::admin::{self as store, NniPatch, NniSpec};
use onramp_store::entity::nni;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::views::{NewNni, Nni, NniList, NniUpdate, SelfLink};
use super::{parse_body, parse_id};
use crate::AppState;
use crate::auth::Admin;
use crate::body::ApiQuery;
use crate::page::{PageParams, slice};
use crate::problem::{
    BadQuery, MalformedJson, NotAdmin, NotJson, Problem, Unauthenticated, problem_json,
};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_nnis, create_nni))
        .routes(routes!(get_nni, update_nni, delete_nni))
}

fn nni_view(m: nni::Model) -> Result<Nni, Problem> {
    let attributes = serde_json::from_str(&m.attributes)
        .map_err(|e| onramp_store::Error::Corrupt(format!("attributes of NNI {}: {e}", m.id)))?;
    Ok(Nni {
        links: SelfLink {
            self_: format!("/v1/admin/nnis/{}", m.id),
        },
        id: m.id,
        csp: m.csp,
        location_code: m.location_code,
        name: m.name,
        region: m.region,
        csp_ref: m.csp_ref,
        port_id: m.port_id,
        linknet_pool_id: m.linknet_pool_id,
        csp_asn: m.csp_asn,
        capacity_mbps: m.capacity_mbps,
        attributes,
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct NniFilter {
    /// Only this CSP's NNIs: `aws`, `azure` or `gcp`.
    csp: Option<String>,
}

/// List NNIs, by CSP and location.
#[utoipa::path(get, path = "/v1/admin/nnis", tag = "admin",
    params(NniFilter, PageParams),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The NNIs", body = NniList),
        BadQuery,
        Unauthenticated,
        NotAdmin,
        (status = 422, description = "The limit or the cursor is invalid", body = Problem, content_type = problem_json()),
    ))]
async fn list_nnis(
    State(state): State<AppState>,
    _admin: Admin,
    crate::body::ApiQuery(filter): crate::body::ApiQuery<NniFilter>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<NniList>, Problem> {
    let page = p.checked::<(String, uuid::Uuid)>()?;
    let rows = store::list_nnis(&state.db, filter.csp.as_deref()).await?;
    let (rows, next_cursor) = slice(rows, &page, |r| (r.name.clone(), r.id));
    let items = rows.into_iter().map(nni_view).collect::<Result<_, _>>()?;
    Ok(Json(NniList { items, next_cursor }))
}

/// Add an NNI.
///
/// Its port and link-net pool must exist; `attributes` is checked per CSP
/// (gcp needs `edge_availability_domain` 1 or 2; an azure
/// `secondary_port_id` must be a port on another PE than `port_id`'s).
#[utoipa::path(post, path = "/v1/admin/nnis", tag = "admin",
    request_body(content = NewNni, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 201, description = "Created", body = Nni,
            headers(("Location" = String, description = "The NNI's URL"))),
        MalformedJson,
        Unauthenticated,
        NotAdmin,
        (status = 409, description = "That CSP object (interconnect, port) already is an NNI", body = Problem, content_type = problem_json()),
        NotJson,
        (status = 422, description = "Invalid; `errors` names the fields", body = Problem, content_type = problem_json()),
    ))]
async fn create_nni(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, HeaderMap, Json<Nni>), Problem> {
    let n: NewNni = parse_body(&headers, &body)?;
    let spec = NniSpec {
        csp: n.csp,
        location_code: n.location_code,
        name: n.name,
        region: n.region,
        csp_ref: n.csp_ref,
        port_id: n.port_id,
        linknet_pool_id: n.linknet_pool_id,
        csp_asn: n.csp_asn,
        capacity_mbps: n.capacity_mbps,
        attributes: n.attributes,
    };
    let m = store::create_nni(&state.db, spec).await?;
    tracing::info!(nni = %m.location_code, csp = %m.csp, id = %m.id, by = %who.name, "NNI created");
    let view = nni_view(m)?;
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&view.links.self_) {
        h.insert(header::LOCATION, v);
    }
    Ok((StatusCode::CREATED, h, Json(view)))
}

/// One NNI.
#[utoipa::path(get, path = "/v1/admin/nnis/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "NNI id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The NNI", body = Nni),
        Unauthenticated,
        NotAdmin,
        (status = 404, description = "No such NNI", body = Problem, content_type = problem_json()),
    ))]
async fn get_nni(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<Nni>, Problem> {
    let id = parse_id(&id, "NNI")?;
    Ok(Json(nni_view(store::get_nni(&state.db, id).await?)?))
}

/// Change an NNI.
///
/// While live connectors use it, its port, link-net pool, CSP and peer ASN
/// cannot change and its capacity cannot drop below a connector's bandwidth
/// (409 `in_use`, naming them).
#[utoipa::path(patch, path = "/v1/admin/nnis/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "NNI id")),
    request_body(content = NniUpdate, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The updated NNI", body = Nni),
        MalformedJson,
        Unauthenticated,
        NotAdmin,
        (status = 404, description = "No such NNI", body = Problem, content_type = problem_json()),
        (status = 409, description = "Location taken, or live connectors depend on the change", body = Problem, content_type = problem_json()),
        NotJson,
        (status = 422, description = "Invalid; `errors` names the fields", body = Problem, content_type = problem_json()),
    ))]
async fn update_nni(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Nni>, Problem> {
    let id = parse_id(&id, "NNI")?;
    let u: NniUpdate = parse_body(&headers, &body)?;
    let patch = NniPatch {
        csp: u.csp,
        location_code: u.location_code,
        name: u.name,
        region: u.region,
        csp_ref: u.csp_ref,
        port_id: u.port_id,
        linknet_pool_id: u.linknet_pool_id,
        csp_asn: u.csp_asn,
        capacity_mbps: u.capacity_mbps,
        attributes: u.attributes,
    };
    let m = store::update_nni(&state.db, id, patch).await?;
    tracing::info!(nni = %m.location_code, id = %m.id, by = %who.name, "NNI updated");
    Ok(Json(nni_view(m)?))
}

/// Remove an NNI.
///
/// Refused (409 `in_use`) while any connector references it, live or kept
/// for its history.
#[utoipa::path(delete, path = "/v1/admin/nnis/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "NNI id")),
    security(("api_key" = [])),
    responses(
        (status = 204, description = "Deleted"),
        Unauthenticated,
        NotAdmin,
        (status = 404, description = "No such NNI", body = Problem, content_type = problem_json()),
        (status = 409, description = "In use; `detail` names the connectors", body = Problem, content_type = problem_json()),
    ))]
async fn delete_nni(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let id = parse_id(&id, "NNI")?;
    store::delete_nni(&state.db, id).await?;
    tracing::info!(id = %id, by = %who.name, "NNI deleted");
    Ok(StatusCode::NO_CONTENT)
}
