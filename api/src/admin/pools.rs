//! `/v1/admin/pools/{linknet,asn,route-target}`: the resource pools.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use onramp_store::DatabaseConnection;
use onramp_store::admin::{
    self as store, AsnPoolPatch, AsnPoolSpec, LinknetPoolPatch, LinknetPoolSpec,
    RouteTargetPoolPatch, RouteTargetPoolSpec,
};
use onramp_store::alloc;
use onramp_store::entity::{asn_pool, linknet_pool, route_target_pool};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::views::{
    AsnPool, AsnPoolList, AsnPoolUpdate, LinknetPool, LinknetPoolList, LinknetPoolUpdate,
    NewAsnPool, NewLinknetPool, NewRouteTargetPool, RouteTargetPool, RouteTargetPoolList,
    RouteTargetPoolUpdate, SelfLink,
};
use super::{parse_body, parse_id, problem_json};
use crate::AppState;
use crate::auth::Admin;
use crate::body::ApiQuery;
use crate::page::{PageParams, slice};
use crate::problem::Problem;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_linknet_pools, create_linknet_pool))
        .routes(routes!(
            get_linknet_pool,
            update_linknet_pool,
            delete_linknet_pool
        ))
        .routes(routes!(list_asn_pools, create_asn_pool))
        .routes(routes!(get_asn_pool, update_asn_pool, delete_asn_pool))
        .routes(routes!(list_route_target_pools, create_route_target_pool))
        .routes(routes!(
            get_route_target_pool,
            update_route_target_pool,
            delete_route_target_pool
        ))
}

fn created<T>(location: &str, body: T) -> (StatusCode, HeaderMap, Json<T>) {
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(location) {
        h.insert(header::LOCATION, v);
    }
    (StatusCode::CREATED, h, Json(body))
}

fn span(first: i64, last: i64) -> u64 {
    u64::try_from(last - first + 1).unwrap_or(0)
}

// ===== link-net pools =====

async fn linknet_view(
    db: &DatabaseConnection,
    m: linknet_pool::Model,
) -> Result<LinknetPool, Problem> {
    let size_31 = alloc::parse_cidr(&m.cidr)
        .filter(|(_, len)| *len <= 31)
        .map(|(_, len)| 1u64 << (31 - len))
        .unwrap_or(0);
    Ok(LinknetPool {
        allocated_31: store::allocated_count(db, alloc::LINKNET, m.id).await?,
        links: SelfLink {
            self_: format!("/v1/admin/pools/linknet/{}", m.id),
        },
        id: m.id,
        name: m.name,
        cidr: m.cidr,
        size_31,
    })
}

/// List link-net pools, by name.
#[utoipa::path(get, path = "/v1/admin/pools/linknet", tag = "admin",
    params(PageParams),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The link-net pools", body = LinknetPoolList),
        (status = 400, description = "The query string does not parse; `errors` names the parameter", body = Problem, content_type = problem_json()),
        (status = 401, description = "No or bad API key", body = Problem, content_type = problem_json()),
        (status = 403, description = "The key is not an admin key", body = Problem, content_type = problem_json()),
        (status = 422, description = "The limit or the cursor is invalid", body = Problem, content_type = problem_json()),
    ))]
async fn list_linknet_pools(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<LinknetPoolList>, Problem> {
    let page = p.checked::<(String, uuid::Uuid)>()?;
    let mut items = Vec::new();
    let (rows, next_cursor) = slice(store::list_linknet_pools(&state.db).await?, &page, |r| {
        (r.name.clone(), r.id)
    });
    for m in rows {
        items.push(linknet_view(&state.db, m).await?);
    }
    Ok(Json(LinknetPoolList { items, next_cursor }))
}

/// Add a link-net pool: a /29 or larger inside 169.254.0.0/16 that overlaps
/// no other pool.
#[utoipa::path(post, path = "/v1/admin/pools/linknet", tag = "admin",
    request_body(content = NewLinknetPool, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 201, description = "Created", body = LinknetPool,
            headers(("Location" = String, description = "The pool's URL"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = problem_json()),
        (status = 401, description = "No or bad API key", body = Problem, content_type = problem_json()),
        (status = 403, description = "The key is not an admin key", body = Problem, content_type = problem_json()),
        (status = 409, description = "Name taken, or overlaps another pool", body = Problem, content_type = problem_json()),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = problem_json()),
        (status = 422, description = "Invalid; `errors` names the fields", body = Problem, content_type = problem_json()),
    ))]
async fn create_linknet_pool(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, HeaderMap, Json<LinknetPool>), Problem> {
    let n: NewLinknetPool = parse_body(&headers, &body)?;
    let m = store::create_linknet_pool(
        &state.db,
        LinknetPoolSpec {
            name: n.name,
            cidr: n.cidr,
        },
    )
    .await?;
    tracing::info!(pool = %m.name, cidr = %m.cidr, by = %who.name, "link-net pool created");
    let view = linknet_view(&state.db, m).await?;
    Ok(created(&view.links.self_.clone(), view))
}

/// One link-net pool.
#[utoipa::path(get, path = "/v1/admin/pools/linknet/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "Pool id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The pool", body = LinknetPool),
        (status = 401, description = "No or bad API key", body = Problem, content_type = problem_json()),
        (status = 403, description = "The key is not an admin key", body = Problem, content_type = problem_json()),
        (status = 404, description = "No such pool", body = Problem, content_type = problem_json()),
    ))]
async fn get_linknet_pool(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<LinknetPool>, Problem> {
    let id = parse_id(&id, "link-net pool")?;
    let m = store::get_linknet_pool(&state.db, id).await?;
    Ok(Json(linknet_view(&state.db, m).await?))
}

/// Change a link-net pool.
///
/// While it has allocated subnets it may grow or shrink at the same base
/// address but not move, and not shrink below an allocated subnet (409
/// `in_use`, naming the subnets and their connectors).
#[utoipa::path(patch, path = "/v1/admin/pools/linknet/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "Pool id")),
    request_body(content = LinknetPoolUpdate, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The updated pool", body = LinknetPool),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = problem_json()),
        (status = 401, description = "No or bad API key", body = Problem, content_type = problem_json()),
        (status = 403, description = "The key is not an admin key", body = Problem, content_type = problem_json()),
        (status = 404, description = "No such pool", body = Problem, content_type = problem_json()),
        (status = 409, description = "Name taken, overlap, or allocated subnets in the way", body = Problem, content_type = problem_json()),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = problem_json()),
        (status = 422, description = "Invalid; `errors` names the fields", body = Problem, content_type = problem_json()),
    ))]
async fn update_linknet_pool(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<LinknetPool>, Problem> {
    let id = parse_id(&id, "link-net pool")?;
    let u: LinknetPoolUpdate = parse_body(&headers, &body)?;
    let m = store::update_linknet_pool(
        &state.db,
        id,
        LinknetPoolPatch {
            name: u.name,
            cidr: u.cidr,
        },
    )
    .await?;
    tracing::info!(pool = %m.name, cidr = %m.cidr, by = %who.name, "link-net pool updated");
    Ok(Json(linknet_view(&state.db, m).await?))
}

/// Remove a link-net pool.
///
/// Refused (409 `in_use`) while subnets are allocated from it or NNIs draw
/// from it.
#[utoipa::path(delete, path = "/v1/admin/pools/linknet/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "Pool id")),
    security(("api_key" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No or bad API key", body = Problem, content_type = problem_json()),
        (status = 403, description = "The key is not an admin key", body = Problem, content_type = problem_json()),
        (status = 404, description = "No such pool", body = Problem, content_type = problem_json()),
        (status = 409, description = "In use; `detail` names the users", body = Problem, content_type = problem_json()),
    ))]
async fn delete_linknet_pool(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let id = parse_id(&id, "link-net pool")?;
    store::delete_linknet_pool(&state.db, id).await?;
    tracing::info!(id = %id, by = %who.name, "link-net pool deleted");
    Ok(StatusCode::NO_CONTENT)
}

// ===== ASN pools =====

async fn asn_view(db: &DatabaseConnection, m: asn_pool::Model) -> Result<AsnPool, Problem> {
    Ok(AsnPool {
        allocated: store::allocated_count(db, alloc::ASN, m.id).await?,
        size: span(m.first, m.last),
        links: SelfLink {
            self_: format!("/v1/admin/pools/asn/{}", m.id),
        },
        id: m.id,
        name: m.name,
        first: m.first,
        last: m.last,
    })
}

/// List ASN pools, lowest range first (the order allocation uses them in).
#[utoipa::path(get, path = "/v1/admin/pools/asn", tag = "admin",
    params(PageParams),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The ASN pools", body = AsnPoolList),
        (status = 400, description = "The query string does not parse; `errors` names the parameter", body = Problem, content_type = problem_json()),
        (status = 401, description = "No or bad API key", body = Problem, content_type = problem_json()),
        (status = 403, description = "The key is not an admin key", body = Problem, content_type = problem_json()),
        (status = 422, description = "The limit or the cursor is invalid", body = Problem, content_type = problem_json()),
    ))]
async fn list_asn_pools(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<AsnPoolList>, Problem> {
    let page = p.checked::<(String, uuid::Uuid)>()?;
    let mut items = Vec::new();
    let (rows, next_cursor) = slice(store::list_asn_pools(&state.db).await?, &page, |r| {
        (r.name.clone(), r.id)
    });
    for m in rows {
        items.push(asn_view(&state.db, m).await?);
    }
    Ok(Json(AsnPoolList { items, next_cursor }))
}

/// Add an ASN pool: a range inside 64512-65534 or 4200000000-4294967294
/// that overlaps no other pool.
#[utoipa::path(post, path = "/v1/admin/pools/asn", tag = "admin",
    request_body(content = NewAsnPool, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 201, description = "Created", body = AsnPool,
            headers(("Location" = String, description = "The pool's URL"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = problem_json()),
        (status = 401, description = "No or bad API key", body = Problem, content_type = problem_json()),
        (status = 403, description = "The key is not an admin key", body = Problem, content_type = problem_json()),
        (status = 409, description = "Name taken, or overlaps another pool", body = Problem, content_type = problem_json()),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = problem_json()),
        (status = 422, description = "Invalid; `errors` names the fields", body = Problem, content_type = problem_json()),
    ))]
async fn create_asn_pool(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, HeaderMap, Json<AsnPool>), Problem> {
    let n: NewAsnPool = parse_body(&headers, &body)?;
    let m = store::create_asn_pool(
        &state.db,
        AsnPoolSpec {
            name: n.name,
            first: n.first,
            last: n.last,
        },
    )
    .await?;
    tracing::info!(pool = %m.name, first = m.first, last = m.last, by = %who.name, "ASN pool created");
    let view = asn_view(&state.db, m).await?;
    Ok(created(&view.links.self_.clone(), view))
}

/// One ASN pool.
#[utoipa::path(get, path = "/v1/admin/pools/asn/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "Pool id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The pool", body = AsnPool),
        (status = 401, description = "No or bad API key", body = Problem, content_type = problem_json()),
        (status = 403, description = "The key is not an admin key", body = Problem, content_type = problem_json()),
        (status = 404, description = "No such pool", body = Problem, content_type = problem_json()),
    ))]
async fn get_asn_pool(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<AsnPool>, Problem> {
    let id = parse_id(&id, "ASN pool")?;
    let m = store::get_asn_pool(&state.db, id).await?;
    Ok(Json(asn_view(&state.db, m).await?))
}

/// Change an ASN pool.
///
/// Shrinking it so that an allocated ASN falls outside is refused (409
/// `in_use`, naming the ASNs and their connectors).
#[utoipa::path(patch, path = "/v1/admin/pools/asn/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "Pool id")),
    request_body(content = AsnPoolUpdate, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The updated pool", body = AsnPool),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = problem_json()),
        (status = 401, description = "No or bad API key", body = Problem, content_type = problem_json()),
        (status = 403, description = "The key is not an admin key", body = Problem, content_type = problem_json()),
        (status = 404, description = "No such pool", body = Problem, content_type = problem_json()),
        (status = 409, description = "Name taken, overlap, or allocated ASNs in the way", body = Problem, content_type = problem_json()),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = problem_json()),
        (status = 422, description = "Invalid; `errors` names the fields", body = Problem, content_type = problem_json()),
    ))]
async fn update_asn_pool(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<AsnPool>, Problem> {
    let id = parse_id(&id, "ASN pool")?;
    let u: AsnPoolUpdate = parse_body(&headers, &body)?;
    let m = store::update_asn_pool(
        &state.db,
        id,
        AsnPoolPatch {
            name: u.name,
            first: u.first,
            last: u.last,
        },
    )
    .await?;
    tracing::info!(pool = %m.name, first = m.first, last = m.last, by = %who.name, "ASN pool updated");
    Ok(Json(asn_view(&state.db, m).await?))
}

/// Remove an ASN pool; refused (409 `in_use`) while ASNs are allocated from it.
#[utoipa::path(delete, path = "/v1/admin/pools/asn/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "Pool id")),
    security(("api_key" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No or bad API key", body = Problem, content_type = problem_json()),
        (status = 403, description = "The key is not an admin key", body = Problem, content_type = problem_json()),
        (status = 404, description = "No such pool", body = Problem, content_type = problem_json()),
        (status = 409, description = "In use; `detail` names the users", body = Problem, content_type = problem_json()),
    ))]
async fn delete_asn_pool(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let id = parse_id(&id, "ASN pool")?;
    store::delete_asn_pool(&state.db, id).await?;
    tracing::info!(id = %id, by = %who.name, "ASN pool deleted");
    Ok(StatusCode::NO_CONTENT)
}

// ===== route-target pools =====

async fn rt_view(
    db: &DatabaseConnection,
    m: route_target_pool::Model,
) -> Result<RouteTargetPool, Problem> {
    Ok(RouteTargetPool {
        allocated: store::allocated_count(db, alloc::ROUTE_TARGET, m.id).await?,
        size: span(m.first, m.last),
        links: SelfLink {
            self_: format!("/v1/admin/pools/route-target/{}", m.id),
        },
        id: m.id,
        name: m.name,
        admin_asn: m.admin_asn,
        first: m.first,
        last: m.last,
    })
}

/// List route-target pools, by name (the order allocation uses them in).
#[utoipa::path(get, path = "/v1/admin/pools/route-target", tag = "admin",
    params(PageParams),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The route-target pools", body = RouteTargetPoolList),
        (status = 400, description = "The query string does not parse; `errors` names the parameter", body = Problem, content_type = problem_json()),
        (status = 401, description = "No or bad API key", body = Problem, content_type = problem_json()),
        (status = 403, description = "The key is not an admin key", body = Problem, content_type = problem_json()),
        (status = 422, description = "The limit or the cursor is invalid", body = Problem, content_type = problem_json()),
    ))]
async fn list_route_target_pools(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<RouteTargetPoolList>, Problem> {
    let page = p.checked::<(String, uuid::Uuid)>()?;
    let mut items = Vec::new();
    let (rows, next_cursor) = slice(
        store::list_route_target_pools(&state.db).await?,
        &page,
        |r| (r.name.clone(), r.id),
    );
    for m in rows {
        items.push(rt_view(&state.db, m).await?);
    }
    Ok(Json(RouteTargetPoolList { items, next_cursor }))
}

/// Add a route-target pool: RD/RTs `<admin_asn>:<first..=last>`, not
/// overlapping another pool of the same administrator.
#[utoipa::path(post, path = "/v1/admin/pools/route-target", tag = "admin",
    request_body(content = NewRouteTargetPool, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 201, description = "Created", body = RouteTargetPool,
            headers(("Location" = String, description = "The pool's URL"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = problem_json()),
        (status = 401, description = "No or bad API key", body = Problem, content_type = problem_json()),
        (status = 403, description = "The key is not an admin key", body = Problem, content_type = problem_json()),
        (status = 409, description = "Name taken, or overlaps another pool", body = Problem, content_type = problem_json()),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = problem_json()),
        (status = 422, description = "Invalid; `errors` names the fields", body = Problem, content_type = problem_json()),
    ))]
async fn create_route_target_pool(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, HeaderMap, Json<RouteTargetPool>), Problem> {
    let n: NewRouteTargetPool = parse_body(&headers, &body)?;
    let m = store::create_route_target_pool(
        &state.db,
        RouteTargetPoolSpec {
            name: n.name,
            admin_asn: n.admin_asn,
            first: n.first,
            last: n.last,
        },
    )
    .await?;
    tracing::info!(pool = %m.name, admin_asn = m.admin_asn, by = %who.name, "route-target pool created");
    let view = rt_view(&state.db, m).await?;
    Ok(created(&view.links.self_.clone(), view))
}

/// One route-target pool.
#[utoipa::path(get, path = "/v1/admin/pools/route-target/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "Pool id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The pool", body = RouteTargetPool),
        (status = 401, description = "No or bad API key", body = Problem, content_type = problem_json()),
        (status = 403, description = "The key is not an admin key", body = Problem, content_type = problem_json()),
        (status = 404, description = "No such pool", body = Problem, content_type = problem_json()),
    ))]
async fn get_route_target_pool(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<RouteTargetPool>, Problem> {
    let id = parse_id(&id, "route-target pool")?;
    let m = store::get_route_target_pool(&state.db, id).await?;
    Ok(Json(rt_view(&state.db, m).await?))
}

/// Change a route-target pool.
///
/// Shrinking it so that an allocated number falls outside, or changing the
/// administrator while RD/RTs are allocated, is refused (409 `in_use`,
/// naming the tenants and connectors that hold them).
#[utoipa::path(patch, path = "/v1/admin/pools/route-target/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "Pool id")),
    request_body(content = RouteTargetPoolUpdate, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The updated pool", body = RouteTargetPool),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = problem_json()),
        (status = 401, description = "No or bad API key", body = Problem, content_type = problem_json()),
        (status = 403, description = "The key is not an admin key", body = Problem, content_type = problem_json()),
        (status = 404, description = "No such pool", body = Problem, content_type = problem_json()),
        (status = 409, description = "Name taken, overlap, or allocated RD/RTs in the way", body = Problem, content_type = problem_json()),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = problem_json()),
        (status = 422, description = "Invalid; `errors` names the fields", body = Problem, content_type = problem_json()),
    ))]
async fn update_route_target_pool(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<RouteTargetPool>, Problem> {
    let id = parse_id(&id, "route-target pool")?;
    let u: RouteTargetPoolUpdate = parse_body(&headers, &body)?;
    let m = store::update_route_target_pool(
        &state.db,
        id,
        RouteTargetPoolPatch {
            name: u.name,
            admin_asn: u.admin_asn,
            first: u.first,
            last: u.last,
        },
    )
    .await?;
    tracing::info!(pool = %m.name, admin_asn = m.admin_asn, by = %who.name, "route-target pool updated");
    Ok(Json(rt_view(&state.db, m).await?))
}

/// Remove a route-target pool; refused (409 `in_use`) while RD/RTs are
/// allocated from it.
#[utoipa::path(delete, path = "/v1/admin/pools/route-target/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "Pool id")),
    security(("api_key" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No or bad API key", body = Problem, content_type = problem_json()),
        (status = 403, description = "The key is not an admin key", body = Problem, content_type = problem_json()),
        (status = 404, description = "No such pool", body = Problem, content_type = problem_json()),
        (status = 409, description = "In use; `detail` names the users", body = Problem, content_type = problem_json()),
    ))]
async fn delete_route_target_pool(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let id = parse_id(&id, "route-target pool")?;
    store::delete_route_target_pool(&state.db, id).await?;
    tracing::info!(id = %id, by = %who.name, "route-target pool deleted");
    Ok(StatusCode::NO_CONTENT)
}
