//! `/v1/admin/pools/{linknet,asn,route-target}`: the resource pools.
//!
//! The three kinds are served alike: each is a [`PoolView`] (its store
//! descriptor, request bodies and response), and listing, creating,
//! reading, changing and deleting are written once below. The handlers stay
//! one per route because each carries its own OpenAPI description.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use onramp_store::DatabaseConnection;
use onramp_store::admin::pools::{self, RangePool};
use onramp_store::admin::{
    self as store, AsnPoolPatch, AsnPoolSpec, LinknetPoolPatch, LinknetPoolSpec,
    RouteTargetPoolPatch, RouteTargetPoolSpec,
};
use onramp_store::alloc;
use onramp_store::entity::{asn_pool, linknet_pool, route_target_pool};
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::views::{
    AsnPool, AsnPoolList, AsnPoolUpdate, LinknetPool, LinknetPoolList, LinknetPoolUpdate,
    NewAsnPool, NewLinknetPool, NewRouteTargetPool, RouteTargetPool, RouteTargetPoolList,
    RouteTargetPoolUpdate, SelfLink,
};
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

type Model<V> = <<V as PoolView>::Spec as RangePool>::Model;

/// A pool kind as the API shows it.
trait PoolView: Serialize + Sized {
    /// The store's descriptor of the kind.
    type Spec: RangePool;
    type New: DeserializeOwned + Into<Self::Spec>;
    type Update: DeserializeOwned + Into<<Self::Spec as RangePool>::Patch>;
    type List: Serialize;
    /// The collection's URL; a pool's is `PATH/<id>`.
    const PATH: &'static str;

    /// The response body for `m`, of which `allocated` values are allocated.
    fn new(m: Model<Self>, allocated: u64, links: SelfLink) -> Self;
    fn list(items: Vec<Self>, next_cursor: Option<String>) -> Self::List;
}

fn url<V: PoolView>(id: uuid::Uuid) -> String {
    format!("{}/{id}", V::PATH)
}

fn span(first: i64, last: i64) -> u64 {
    u64::try_from(last - first + 1).unwrap_or(0)
}

async fn view<V: PoolView>(db: &DatabaseConnection, m: Model<V>) -> Result<V, Problem> {
    let id = V::Spec::id(&m);
    let allocated = store::allocated_count(db, V::Spec::RESOURCE, id).await?;
    Ok(V::new(
        m,
        allocated,
        SelfLink {
            self_: url::<V>(id),
        },
    ))
}

fn log_write<V: PoolView>(m: &Model<V>, who: &str, done: &str) {
    let spec = V::Spec::of(m);
    tracing::info!(pool = %spec.name(), range = %spec.range(), by = %who, "{} {done}", V::Spec::WHAT);
}

async fn list<V: PoolView>(state: &AppState, p: PageParams) -> Result<Json<V::List>, Problem> {
    let page = p.checked::<(String, uuid::Uuid)>()?;
    let rows = pools::list_all::<V::Spec>(&state.db).await?;
    let (rows, next_cursor) = slice(rows, &page, |r| {
        (V::Spec::of(r).name().to_owned(), V::Spec::id(r))
    });
    let mut items = Vec::new();
    for m in rows {
        items.push(view::<V>(&state.db, m).await?);
    }
    Ok(Json(V::list(items, next_cursor)))
}

async fn create<V: PoolView>(
    state: &AppState,
    who: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(StatusCode, HeaderMap, Json<V>), Problem> {
    let n: V::New = parse_body(headers, body)?;
    let m = pools::create(&state.db, n.into()).await?;
    log_write::<V>(&m, who, "created");
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&url::<V>(V::Spec::id(&m))) {
        h.insert(header::LOCATION, v);
    }
    Ok((StatusCode::CREATED, h, Json(view::<V>(&state.db, m).await?)))
}

async fn get<V: PoolView>(state: &AppState, id: &str) -> Result<Json<V>, Problem> {
    let id = parse_id(id, V::Spec::WHAT)?;
    let m = pools::get::<V::Spec, _>(&state.db, id).await?;
    Ok(Json(view::<V>(&state.db, m).await?))
}

async fn update<V: PoolView>(
    state: &AppState,
    who: &str,
    id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Json<V>, Problem> {
    let id = parse_id(id, V::Spec::WHAT)?;
    let u: V::Update = parse_body(headers, body)?;
    let m = pools::update::<V::Spec>(&state.db, id, u.into()).await?;
    log_write::<V>(&m, who, "updated");
    Ok(Json(view::<V>(&state.db, m).await?))
}

async fn delete<V: PoolView>(state: &AppState, who: &str, id: &str) -> Result<StatusCode, Problem> {
    let id = parse_id(id, V::Spec::WHAT)?;
    pools::delete::<V::Spec>(&state.db, id).await?;
    tracing::info!(id = %id, by = %who, "{} deleted", V::Spec::WHAT);
    Ok(StatusCode::NO_CONTENT)
}

// ===== link-net pools =====

impl From<NewLinknetPool> for LinknetPoolSpec {
    fn from(n: NewLinknetPool) -> Self {
        LinknetPoolSpec {
            name: n.name,
            cidr: n.cidr,
        }
    }
}

impl From<LinknetPoolUpdate> for LinknetPoolPatch {
    fn from(u: LinknetPoolUpdate) -> Self {
        LinknetPoolPatch {
            name: u.name,
            cidr: u.cidr,
        }
    }
}

impl PoolView for LinknetPool {
    type Spec = LinknetPoolSpec;
    type New = NewLinknetPool;
    type Update = LinknetPoolUpdate;
    type List = LinknetPoolList;
    const PATH: &'static str = "/v1/admin/pools/linknet";

    fn new(m: linknet_pool::Model, allocated: u64, links: SelfLink) -> Self {
        let size_31 = alloc::parse_cidr(&m.cidr)
            .filter(|(_, len)| *len <= 31)
            .map(|(_, len)| 1u64 << (31 - len))
            .unwrap_or(0);
        LinknetPool {
            allocated_31: allocated,
            links,
            id: m.id,
            name: m.name,
            cidr: m.cidr,
            size_31,
        }
    }

    fn list(items: Vec<Self>, next_cursor: Option<String>) -> LinknetPoolList {
        LinknetPoolList { items, next_cursor }
    }
}

/// List link-net pools, by name.
#[utoipa::path(get, path = "/v1/admin/pools/linknet", tag = "admin",
    params(PageParams),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The link-net pools", body = LinknetPoolList),
        BadQuery,
        Unauthenticated,
        NotAdmin,
        (status = 422, description = "The limit or the cursor is invalid", body = Problem, content_type = problem_json()),
    ))]
async fn list_linknet_pools(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<LinknetPoolList>, Problem> {
    list::<LinknetPool>(&state, p).await
}

/// Add a link-net pool: a /29 or larger inside 169.254.0.0/16 that overlaps
/// no other pool.
#[utoipa::path(post, path = "/v1/admin/pools/linknet", tag = "admin",
    request_body(content = NewLinknetPool, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 201, description = "Created", body = LinknetPool,
            headers(("Location" = String, description = "The pool's URL"))),
        MalformedJson,
        Unauthenticated,
        NotAdmin,
        (status = 409, description = "Name taken, or overlaps another pool", body = Problem, content_type = problem_json()),
        NotJson,
        (status = 422, description = "Invalid; `errors` names the fields", body = Problem, content_type = problem_json()),
    ))]
async fn create_linknet_pool(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, HeaderMap, Json<LinknetPool>), Problem> {
    create::<LinknetPool>(&state, &who.name, &headers, &body).await
}

/// One link-net pool.
#[utoipa::path(get, path = "/v1/admin/pools/linknet/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "Pool id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The pool", body = LinknetPool),
        Unauthenticated,
        NotAdmin,
        (status = 404, description = "No such pool", body = Problem, content_type = problem_json()),
    ))]
async fn get_linknet_pool(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<LinknetPool>, Problem> {
    get::<LinknetPool>(&state, &id).await
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
        MalformedJson,
        Unauthenticated,
        NotAdmin,
        (status = 404, description = "No such pool", body = Problem, content_type = problem_json()),
        (status = 409, description = "Name taken, overlap, or allocated subnets in the way", body = Problem, content_type = problem_json()),
        NotJson,
        (status = 422, description = "Invalid; `errors` names the fields", body = Problem, content_type = problem_json()),
    ))]
async fn update_linknet_pool(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<LinknetPool>, Problem> {
    update::<LinknetPool>(&state, &who.name, &id, &headers, &body).await
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
        Unauthenticated,
        NotAdmin,
        (status = 404, description = "No such pool", body = Problem, content_type = problem_json()),
        (status = 409, description = "In use; `detail` names the users", body = Problem, content_type = problem_json()),
    ))]
async fn delete_linknet_pool(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    delete::<LinknetPool>(&state, &who.name, &id).await
}

// ===== ASN pools =====

impl From<NewAsnPool> for AsnPoolSpec {
    fn from(n: NewAsnPool) -> Self {
        AsnPoolSpec {
            name: n.name,
            first: n.first,
            last: n.last,
        }
    }
}

impl From<AsnPoolUpdate> for AsnPoolPatch {
    fn from(u: AsnPoolUpdate) -> Self {
        AsnPoolPatch {
            name: u.name,
            first: u.first,
            last: u.last,
        }
    }
}

impl PoolView for AsnPool {
    type Spec = AsnPoolSpec;
    type New = NewAsnPool;
    type Update = AsnPoolUpdate;
    type List = AsnPoolList;
    const PATH: &'static str = "/v1/admin/pools/asn";

    fn new(m: asn_pool::Model, allocated: u64, links: SelfLink) -> Self {
        AsnPool {
            allocated,
            size: span(m.first, m.last),
            links,
            id: m.id,
            name: m.name,
            first: m.first,
            last: m.last,
        }
    }

    fn list(items: Vec<Self>, next_cursor: Option<String>) -> AsnPoolList {
        AsnPoolList { items, next_cursor }
    }
}

/// List ASN pools, lowest range first (the order allocation uses them in).
#[utoipa::path(get, path = "/v1/admin/pools/asn", tag = "admin",
    params(PageParams),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The ASN pools", body = AsnPoolList),
        BadQuery,
        Unauthenticated,
        NotAdmin,
        (status = 422, description = "The limit or the cursor is invalid", body = Problem, content_type = problem_json()),
    ))]
async fn list_asn_pools(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<AsnPoolList>, Problem> {
    list::<AsnPool>(&state, p).await
}

/// Add an ASN pool: a range inside 64512-65534 or 4200000000-4294967294
/// that overlaps no other pool.
#[utoipa::path(post, path = "/v1/admin/pools/asn", tag = "admin",
    request_body(content = NewAsnPool, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 201, description = "Created", body = AsnPool,
            headers(("Location" = String, description = "The pool's URL"))),
        MalformedJson,
        Unauthenticated,
        NotAdmin,
        (status = 409, description = "Name taken, or overlaps another pool", body = Problem, content_type = problem_json()),
        NotJson,
        (status = 422, description = "Invalid; `errors` names the fields", body = Problem, content_type = problem_json()),
    ))]
async fn create_asn_pool(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, HeaderMap, Json<AsnPool>), Problem> {
    create::<AsnPool>(&state, &who.name, &headers, &body).await
}

/// One ASN pool.
#[utoipa::path(get, path = "/v1/admin/pools/asn/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "Pool id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The pool", body = AsnPool),
        Unauthenticated,
        NotAdmin,
        (status = 404, description = "No such pool", body = Problem, content_type = problem_json()),
    ))]
async fn get_asn_pool(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<AsnPool>, Problem> {
    get::<AsnPool>(&state, &id).await
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
        MalformedJson,
        Unauthenticated,
        NotAdmin,
        (status = 404, description = "No such pool", body = Problem, content_type = problem_json()),
        (status = 409, description = "Name taken, overlap, or allocated ASNs in the way", body = Problem, content_type = problem_json()),
        NotJson,
        (status = 422, description = "Invalid; `errors` names the fields", body = Problem, content_type = problem_json()),
    ))]
async fn update_asn_pool(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<AsnPool>, Problem> {
    update::<AsnPool>(&state, &who.name, &id, &headers, &body).await
}

/// Remove an ASN pool; refused (409 `in_use`) while ASNs are allocated from it.
#[utoipa::path(delete, path = "/v1/admin/pools/asn/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "Pool id")),
    security(("api_key" = [])),
    responses(
        (status = 204, description = "Deleted"),
        Unauthenticated,
        NotAdmin,
        (status = 404, description = "No such pool", body = Problem, content_type = problem_json()),
        (status = 409, description = "In use; `detail` names the users", body = Problem, content_type = problem_json()),
    ))]
async fn delete_asn_pool(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    delete::<AsnPool>(&state, &who.name, &id).await
}

// ===== route-target pools =====

impl From<NewRouteTargetPool> for RouteTargetPoolSpec {
    fn from(n: NewRouteTargetPool) -> Self {
        RouteTargetPoolSpec {
            name: n.name,
            admin_asn: n.admin_asn,
            first: n.first,
            last: n.last,
        }
    }
}

impl From<RouteTargetPoolUpdate> for RouteTargetPoolPatch {
    fn from(u: RouteTargetPoolUpdate) -> Self {
        RouteTargetPoolPatch {
            name: u.name,
            admin_asn: u.admin_asn,
            first: u.first,
            last: u.last,
        }
    }
}

impl PoolView for RouteTargetPool {
    type Spec = RouteTargetPoolSpec;
    type New = NewRouteTargetPool;
    type Update = RouteTargetPoolUpdate;
    type List = RouteTargetPoolList;
    const PATH: &'static str = "/v1/admin/pools/route-target";

    fn new(m: route_target_pool::Model, allocated: u64, links: SelfLink) -> Self {
        RouteTargetPool {
            allocated,
            size: span(m.first, m.last),
            links,
            id: m.id,
            name: m.name,
            admin_asn: m.admin_asn,
            first: m.first,
            last: m.last,
        }
    }

    fn list(items: Vec<Self>, next_cursor: Option<String>) -> RouteTargetPoolList {
        RouteTargetPoolList { items, next_cursor }
    }
}

/// List route-target pools, by name (the order allocation uses them in).
#[utoipa::path(get, path = "/v1/admin/pools/route-target", tag = "admin",
    params(PageParams),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The route-target pools", body = RouteTargetPoolList),
        BadQuery,
        Unauthenticated,
        NotAdmin,
        (status = 422, description = "The limit or the cursor is invalid", body = Problem, content_type = problem_json()),
    ))]
async fn list_route_target_pools(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<RouteTargetPoolList>, Problem> {
    list::<RouteTargetPool>(&state, p).await
}

/// Add a route-target pool: RD/RTs `<admin_asn>:<first..=last>`, not
/// overlapping another pool of the same administrator.
#[utoipa::path(post, path = "/v1/admin/pools/route-target", tag = "admin",
    request_body(content = NewRouteTargetPool, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 201, description = "Created", body = RouteTargetPool,
            headers(("Location" = String, description = "The pool's URL"))),
        MalformedJson,
        Unauthenticated,
        NotAdmin,
        (status = 409, description = "Name taken, or overlaps another pool", body = Problem, content_type = problem_json()),
        NotJson,
        (status = 422, description = "Invalid; `errors` names the fields", body = Problem, content_type = problem_json()),
    ))]
async fn create_route_target_pool(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, HeaderMap, Json<RouteTargetPool>), Problem> {
    create::<RouteTargetPool>(&state, &who.name, &headers, &body).await
}

/// One route-target pool.
#[utoipa::path(get, path = "/v1/admin/pools/route-target/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "Pool id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The pool", body = RouteTargetPool),
        Unauthenticated,
        NotAdmin,
        (status = 404, description = "No such pool", body = Problem, content_type = problem_json()),
    ))]
async fn get_route_target_pool(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<RouteTargetPool>, Problem> {
    get::<RouteTargetPool>(&state, &id).await
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
        MalformedJson,
        Unauthenticated,
        NotAdmin,
        (status = 404, description = "No such pool", body = Problem, content_type = problem_json()),
        (status = 409, description = "Name taken, overlap, or allocated RD/RTs in the way", body = Problem, content_type = problem_json()),
        NotJson,
        (status = 422, description = "Invalid; `errors` names the fields", body = Problem, content_type = problem_json()),
    ))]
async fn update_route_target_pool(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<RouteTargetPool>, Problem> {
    update::<RouteTargetPool>(&state, &who.name, &id, &headers, &body).await
}

/// Remove a route-target pool; refused (409 `in_use`) while RD/RTs are
/// allocated from it.
#[utoipa::path(delete, path = "/v1/admin/pools/route-target/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "Pool id")),
    security(("api_key" = [])),
    responses(
        (status = 204, description = "Deleted"),
        Unauthenticated,
        NotAdmin,
        (status = 404, description = "No such pool", body = Problem, content_type = problem_json()),
        (status = 409, description = "In use; `detail` names the users", body = Problem, content_type = problem_json()),
    ))]
async fn delete_route_target_pool(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    delete::<RouteTargetPool>(&state, &who.name, &id).await
}
