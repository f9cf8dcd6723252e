//! Tenants, API keys and roles, in process without workers.
//!
//! - The role matrix (SQLite): tenant B's customer key gets 404 for every
//!   one of tenant A's objects on every customer route, exactly as for an
//!   id that does not exist, and A's objects are unchanged afterwards; B's
//!   lists show none of A's. Customer keys get 403 on every `/v1/admin/...`
//!   operation, and ops keys on every one whose document does not let ops
//!   in (reading PEs, a PE's maintenance), enumerated from the OpenAPI
//!   document so a new admin route is covered without editing this file; a new customer route
//!   with an id fails the matrix until it is added here. No key, an unknown
//!   key and a revoked key get 401 on every secured operation.
//! - Ops tasks (`/v1/tasks...`, enumerated from the document): every
//!   customer key, the connector owner's included, gets 403 on every
//!   operation with a real task's id; ops and admin keys get in. These
//!   routes are the operator's, so they are outside the tenant matrix.
//! - Key lifecycle (SQLite and PostgreSQL): a key is shown once, never
//!   listed, stored as its SHA-256 digest only, works, and gets 401 as soon
//!   as it is revoked, also when it revoked itself; customers cannot mint
//!   higher roles; a key-creating request retried with `Idempotency-Key`
//!   creates one key, and its replay withholds the secret (none is kept).
//! - Tenants (SQLite and PostgreSQL): an admin creates a tenant and gets its
//!   first key, which works and sees no connectors; duplicate names and VRF
//!   names are 409 and leave nothing behind, also when two creates race.

mod support;

use std::collections::BTreeSet;

use anyhow::Result;
use onramp_store::entity::{allocation, api_key, connector, connector_event, tenant};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use support::inproc::{Api, start};
use uuid::Uuid;

#[derive(Debug)]
struct Resp {
    status: u16,
    content_type: String,
    location: Option<String>,
    cache_control: Option<String>,
    /// The body as sent, to search for secrets.
    text: String,
    body: Value,
}

impl Resp {
    fn str(&self, field: &str) -> String {
        self.body[field]
            .as_str()
            .unwrap_or_else(|| panic!("no {field} in {:#}", self.body))
            .to_string()
    }

    fn error_fields(&self) -> Vec<(String, String)> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| {
                        (
                            e["field"].as_str().unwrap_or("").to_string(),
                            e["code"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A problem+json of `status` and `code`.
    fn assert_problem(&self, status: u16, code: &str, ctx: &str) {
        assert_eq!(self.status, status, "{ctx}: {:#}", self.body);
        assert_eq!(self.content_type, "application/problem+json", "{ctx}");
        assert_eq!(self.body["code"], code, "{ctx}: {:#}", self.body);
    }
}

async fn send(
    api: &Api,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> Result<Resp> {
    let method = reqwest::Method::from_bytes(method.as_bytes())?;
    let mut req = api.http.request(method, format!("{}{path}", api.base));
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let r = req.send().await?;
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header("content-type").unwrap_or_default();
    let location = header("location");
    let cache_control = header("cache-control");
    let status = r.status().as_u16();
    let text = if content_type.starts_with("text/event-stream") {
        read_stream(r).await?
    } else {
        r.text().await?
    };
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok(Resp {
        status,
        content_type,
        location,
        cache_control,
        text,
        body,
    })
}

/// What an endless stream sends within [`STREAM_WINDOW`]: a replay from the
/// start arrives at once.
async fn read_stream(mut r: reqwest::Response) -> Result<String> {
    let mut bytes = Vec::new();
    let until = tokio::time::Instant::now() + STREAM_WINDOW;
    while let Ok(chunk) = tokio::time::timeout_at(until, r.chunk()).await {
        match chunk? {
            Some(c) => bytes.extend_from_slice(&c),
            None => break,
        }
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

const STREAM_WINDOW: std::time::Duration = std::time::Duration::from_millis(1500);

async fn get(api: &Api, path: &str, key: &str) -> Result<Resp> {
    send(api, "GET", path, Some(key), None, &[]).await
}

async fn post(api: &Api, path: &str, key: &str, body: Value) -> Result<Resp> {
    send(api, "POST", path, Some(key), Some(body), &[]).await
}

async fn delete(api: &Api, path: &str, key: &str) -> Result<Resp> {
    send(api, "DELETE", path, Some(key), None, &[]).await
}

/// An admin key of the operator tenant.
async fn admin_key(api: &Api) -> Result<String> {
    let key = onramp_store::auth::generate_key();
    onramp_store::seed::seed_admin_key(&api.db, &key).await?;
    Ok(key)
}

/// A tenant of its own with a customer key, made in the store.
async fn customer(api: &Api, name: &str) -> Result<(Uuid, String)> {
    let t = onramp_store::seed::create_tenant(&api.db, name).await?;
    let key = onramp_store::auth::generate_key();
    onramp_store::auth::add_key(
        &api.db,
        t.id,
        "customer",
        &key,
        onramp_store::auth::ROLE_CUSTOMER,
    )
    .await?;
    Ok((t.id, key))
}

/// Every operation of the OpenAPI document: (method, path, secured).
fn operations() -> Vec<(String, String, bool)> {
    let mut ops = Vec::new();
    for (path, item) in openapi_paths() {
        for method in ["get", "put", "post", "delete", "patch"] {
            if let Some(op) = item.get(method) {
                let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
                ops.push((method.to_uppercase(), path.clone(), secured));
            }
        }
    }
    ops
}

/// Whether the document says an ops key may call the operation: its 403 is
/// the "neither ops nor admin" one (`problem::NotOperator`).
fn ops_may(method: &str, path: &str) -> bool {
    openapi_paths()[path][method.to_lowercase()]["responses"]["403"]["description"]
        .as_str()
        .is_some_and(|d| d.contains("neither an ops nor an admin key"))
}

fn openapi_paths() -> serde_json::Map<String, Value> {
    let doc = serde_json::to_value(onramp_api::openapi()).expect("the document serializes");
    doc["paths"].as_object().expect("paths").clone()
}

/// The query parameters a GET operation declares.
fn query_params(path: &str) -> Vec<String> {
    openapi_paths()[path]["get"]["parameters"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter(|p| p["in"] == "query")
                .filter_map(|p| p["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `path` with every `{param}` replaced by `id`.
fn fill(path: &str, id: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').expect("closed parameter") + open;
        out.push_str(id);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Routes only ops and admin keys reach (customers get 403 whatever the
/// object): the operator's task queue.
fn ops_only(path: &str) -> bool {
    path == "/v1/tasks" || path.starts_with("/v1/tasks/")
}

/// A valid body for `method`, so that only authorization can refuse it.
fn some_body(method: &str) -> Option<Value> {
    matches!(method, "POST" | "PUT" | "PATCH").then(|| json!({}))
}

fn hosted_vif_order() -> Value {
    json!({"kind": "aws-hosted-vif", "aws_account_id": "123456789012", "location": "EqDC2", "bandwidth": "1Gbps"})
}

fn vif_report() -> Value {
    json!({
        "customer_address": "169.254.10.2/30",
        "amazon_address": "169.254.10.1/30",
        "asn": 65010,
        "auth_key": "a-bgp-key-1234"
    })
}

// ===== the role matrix =====

/// What tenant A owns, as the database holds it.
#[derive(Debug, PartialEq)]
struct Snapshot {
    connector: connector::Model,
    events: u64,
    key: api_key::Model,
    allocations: u64,
}

async fn snapshot(api: &Api, connector_id: Uuid, key_id: Uuid) -> Result<Snapshot> {
    Ok(Snapshot {
        connector: connector::Entity::find_by_id(connector_id)
            .one(&api.db)
            .await?
            .expect("A's connector"),
        events: connector_event::Entity::find()
            .filter(connector_event::Column::ConnectorId.eq(connector_id))
            .count(&api.db)
            .await?,
        key: api_key::Entity::find_by_id(key_id)
            .one(&api.db)
            .await?
            .expect("A's key"),
        allocations: allocation::Entity::find()
            .filter(allocation::Column::ConnectorId.eq(connector_id))
            .count(&api.db)
            .await?,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_sees_only_its_own_tenant() -> Result<()> {
    let api = start(false).await?;
    let a = api.key.clone();
    let (_, b) = customer(&api, "Beta").await?;

    let order = post(&api, "/v1/connectors", &a, hosted_vif_order()).await?;
    assert_eq!(order.status, 202, "{:#}", order.body);
    let conn_id = order.str("id");
    let a_key = post(&api, "/v1/api-keys", &a, json!({"name": "a-ci"})).await?;
    assert_eq!(a_key.status, 201, "{:#}", a_key.body);
    let key_id = a_key.str("id");
    let a_secret = a_key.str("key");
    let a_hook = post(
        &api,
        "/v1/webhooks",
        &a,
        json!({"url": "https://hooks.example.com/a"}),
    )
    .await?;
    assert_eq!(a_hook.status, 201, "{:#}", a_hook.body);
    let hook_id = a_hook.str("id");
    let hook_secret = a_hook.str("secret");
    // A link of A's two connectors. No worker runs here, so the connectors
    // are made active in the store: a link takes only active connectors.
    let second = post(&api, "/v1/connectors", &a, hosted_vif_order()).await?;
    assert_eq!(second.status, 202, "{:#}", second.body);
    let second_id = second.str("id");
    for id in [&conn_id, &second_id] {
        connector::Entity::update_many()
            .col_expr(
                connector::Column::State,
                sea_orm::sea_query::Expr::value("active"),
            )
            .filter(connector::Column::Id.eq(id.parse::<Uuid>()?))
            .exec(&api.db)
            .await?;
    }
    let a_link = post(
        &api,
        "/v1/links",
        &a,
        json!({"name": "a-link", "connectors": [conn_id, second_id]}),
    )
    .await?;
    assert_eq!(a_link.status, 202, "{:#}", a_link.body);
    let link_id = a_link.str("id");
    // B naming A's connectors in its own link: not found, like any unknown id.
    let b_link = post(
        &api,
        "/v1/links",
        &b,
        json!({"name": "b-link", "connectors": [conn_id, second_id]}),
    )
    .await?;
    b_link.assert_problem(404, "not_found", "B: POST /v1/links with A's connectors");
    assert_eq!(b_link.body["errors"][0]["field"], "connectors[0]");
    let before = snapshot(&api, conn_id.parse()?, key_id.parse()?).await?;

    // Every customer route that names an object, with a body that would be
    // accepted for the owner, so only tenancy can refuse it.
    let matrix: Vec<(&str, &str, &str, Option<Value>)> = vec![
        ("GET", "/v1/connectors/{id}", &conn_id, None),
        ("GET", "/v1/connectors/{id}/events", &conn_id, None),
        ("GET", "/v1/connectors/{id}/metrics", &conn_id, None),
        (
            "PUT",
            "/v1/connectors/{id}/vif",
            &conn_id,
            Some(vif_report()),
        ),
        ("DELETE", "/v1/connectors/{id}", &conn_id, None),
        (
            "PATCH",
            "/v1/connectors/{id}",
            &conn_id,
            Some(json!({"prefix_limit": 200})),
        ),
        ("POST", "/v1/connectors/{id}/retry", &conn_id, None),
        ("POST", "/v1/connectors/{id}/bgp-key/reveal", &conn_id, None),
        ("GET", "/v1/api-keys/{id}", &key_id, None),
        ("DELETE", "/v1/api-keys/{id}", &key_id, None),
        ("GET", "/v1/webhooks/{id}", &hook_id, None),
        ("GET", "/v1/webhooks/{id}/deliveries", &hook_id, None),
        ("DELETE", "/v1/webhooks/{id}", &hook_id, None),
        ("GET", "/v1/links/{id}", &link_id, None),
        ("GET", "/v1/links/{id}/metrics", &link_id, None),
        (
            "PUT",
            "/v1/links/{id}/sla",
            &link_id,
            Some(json!({"profile": "premium"})),
        ),
        (
            "POST",
            "/v1/links/{id}/connectors",
            &link_id,
            Some(json!({"connector": second_id})),
        ),
        (
            "DELETE",
            "/v1/links/{id}/connectors/{connector_id}",
            &link_id,
            None,
        ),
        ("DELETE", "/v1/links/{id}", &link_id, None),
    ];

    // A new customer route with an id must join the matrix.
    let covered: BTreeSet<(String, String)> = matrix
        .iter()
        .map(|(m, p, _, _)| (m.to_string(), p.to_string()))
        .collect();
    for (method, path, _) in operations() {
        if path.contains('{') && !path.starts_with("/v1/admin/") && !ops_only(&path) {
            assert!(
                covered.contains(&(method.clone(), path.clone())),
                "{method} {path} names an object but is not in the tenant-isolation matrix; add it"
            );
        }
    }

    for (method, path, id, body) in &matrix {
        let ctx = format!("B: {method} {path}");
        let theirs = send(&api, method, &fill(path, id), Some(&b), body.clone(), &[]).await?;
        theirs.assert_problem(404, "not_found", &ctx);
        // Exactly what an id that exists nowhere gets: nothing leaks.
        let nobody = Uuid::new_v4().to_string();
        let missing = send(
            &api,
            method,
            &fill(path, &nobody),
            Some(&b),
            body.clone(),
            &[],
        )
        .await?;
        assert_eq!(
            (
                missing.status,
                &missing.body["code"],
                &missing.body["title"]
            ),
            (theirs.status, &theirs.body["code"], &theirs.body["title"]),
            "{ctx}"
        );
        assert_eq!(
            missing.text.replace(&nobody, "ID"),
            theirs.text.replace(id, "ID"),
            "{ctx}"
        );
    }

    // B's lists and streams show nothing of A's, on every such route there
    // is; A's own view of a stream is the control that the replay (`after=0`)
    // would show A's connector. A query parameter naming a connector reads
    // A's id as one that does not exist.
    assert!(before.events > 0, "the order recorded no event");
    for (method, path, secured) in operations() {
        if method != "GET"
            || path.contains('{')
            || path.starts_with("/v1/admin/")
            || ops_only(&path)
            // The operator's staff's routes (`/metrics`): no customer's list.
            || ops_may(&method, &path)
            || !secured
        {
            continue;
        }
        let params = query_params(&path);
        let url = if params.iter().any(|p| p == "after") {
            format!("{path}?after=0")
        } else {
            path.clone()
        };
        let r = get(&api, &url, &b).await?;
        assert_eq!(r.status, 200, "B: GET {url}: {:#}", r.body);
        for secret in [
            &conn_id,
            &key_id,
            &a_secret,
            &hook_id,
            &hook_secret,
            &link_id,
        ] {
            assert!(
                !r.text.contains(secret.as_str()),
                "B: GET {url} shows {secret}"
            );
        }
        if r.content_type.starts_with("text/event-stream") {
            let mine = get(&api, &url, &a).await?;
            assert!(mine.text.contains(&conn_id), "A: GET {url}: {}", mine.text);
        }
        if params.iter().any(|p| p == "connector") {
            let ctx = format!("B: GET {path}?connector=");
            let nobody = Uuid::new_v4().to_string();
            let theirs = get(&api, &format!("{path}?connector={conn_id}"), &b).await?;
            let missing = get(&api, &format!("{path}?connector={nobody}"), &b).await?;
            assert!(theirs.status >= 400, "{ctx}A's: {}", theirs.text);
            assert_eq!(
                missing.text.replace(&nobody, "ID"),
                theirs.text.replace(&conn_id, "ID"),
                "{ctx}"
            );
        }
    }

    // A's objects are as they were, and A still reaches them.
    assert_eq!(
        snapshot(&api, conn_id.parse()?, key_id.parse()?).await?,
        before
    );
    assert_eq!(before.key.revoked_at, None);
    for path in [
        format!("/v1/connectors/{conn_id}"),
        format!("/v1/connectors/{conn_id}/events"),
        format!("/v1/api-keys/{key_id}"),
        format!("/v1/links/{link_id}"),
    ] {
        assert_eq!(get(&api, &path, &a).await?.status, 200, "A: GET {path}");
    }
    assert_eq!(get(&api, "/v1/connectors", &a_secret).await?.status, 200);
    // B's attempts on A's link changed nothing: both members still joining.
    let l = get(&api, &format!("/v1/links/{link_id}"), &a).await?;
    assert_eq!(l.body["state"], "configuring", "{:#}", l.body);
    assert_eq!(
        l.body["members"]
            .as_array()
            .map(|m| m.iter().filter(|m| m["state"] == "joining").count()),
        Some(2),
        "{:#}",
        l.body
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn only_admin_keys_reach_the_admin_api() -> Result<()> {
    let api = start(false).await?;
    let admin = admin_key(&api).await?;
    let operator = onramp_store::auth::tenant_for_key(&api.db, &admin)
        .await?
        .expect("admin key")
        .0;
    let ops = onramp_store::auth::create_key(
        &api.db,
        operator.id,
        "console",
        onramp_store::auth::ROLE_OPS,
    )
    .await?
    .secret;
    let tenants_before = tenant::Entity::find().count(&api.db).await?;
    let keys_before = api_key::Entity::find().count(&api.db).await?;

    let admin_ops: Vec<(String, String)> = operations()
        .into_iter()
        .filter(|(_, path, _)| path.starts_with("/v1/admin/"))
        .map(|(method, path, _)| (method, path))
        .collect();
    assert!(
        !admin_ops.is_empty(),
        "the OpenAPI document has no admin routes"
    );
    for required in ["/v1/admin/tenants", "/v1/admin/pes"] {
        assert!(
            admin_ops.iter().any(|(_, p)| p == required),
            "{required} missing from {admin_ops:?}"
        );
    }
    // The ids of objects that exist, so that only the role can refuse.
    let real_id = operator.id.to_string();
    let mut ops_allowed = Vec::new();
    for (method, path) in &admin_ops {
        for (who, key) in [("customer", &api.key), ("ops", &ops)] {
            for id in [real_id.as_str(), &Uuid::new_v4().to_string()] {
                let r = send(
                    &api,
                    method,
                    &fill(path, id),
                    Some(key),
                    some_body(method),
                    &[],
                )
                .await?;
                if who == "ops" && ops_may(method, path) {
                    // Let in: whatever it answers, it is not the role.
                    assert_ne!(r.status, 403, "ops: {method} {path}: {:?}", r.body);
                    ops_allowed.push(format!("{method} {path}"));
                } else {
                    r.assert_problem(403, "forbidden", &format!("{who}: {method} {path}"));
                }
            }
        }
    }
    // What ops engineers do day to day; the inventory itself stays admin's.
    ops_allowed.sort();
    ops_allowed.dedup();
    assert_eq!(
        ops_allowed,
        [
            "DELETE /v1/admin/pes/{id}/maintenance",
            "GET /v1/admin/pes",
            "GET /v1/admin/pes/{id}",
            "GET /v1/admin/pes/{id}/changes",
            "GET /v1/admin/pes/{id}/commits",
            "GET /v1/admin/pes/{id}/maintenance",
            "GET /v1/admin/stuck-changes",
            "GET /v1/admin/stuck-changes/{id}",
            "POST /v1/admin/stuck-changes/{id}/done",
            "POST /v1/admin/stuck-changes/{id}/give-up",
            "POST /v1/admin/stuck-changes/{id}/retry",
            "PUT /v1/admin/pes/{id}/maintenance",
        ]
    );
    // The refusals changed nothing.
    assert_eq!(tenant::Entity::find().count(&api.db).await?, tenants_before);
    assert_eq!(api_key::Entity::find().count(&api.db).await?, keys_before);
    // The admin key does get in.
    assert_eq!(get(&api, "/v1/admin/tenants", &admin).await?.status, 200);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn every_secured_route_needs_a_live_key() -> Result<()> {
    let api = start(false).await?;
    // A key that was good and is revoked is as good as none.
    let made = post(
        &api,
        "/v1/api-keys",
        &api.key,
        json!({"name": "soon revoked"}),
    )
    .await?;
    let revoked = made.str("key");
    let r = delete(&api, &format!("/v1/api-keys/{}", made.str("id")), &api.key).await?;
    assert_eq!(r.status, 200, "{:#}", r.body);

    let ops = operations();
    let unsecured: Vec<&str> = ops
        .iter()
        .filter(|(_, _, secured)| !secured)
        .map(|(_, path, _)| path.as_str())
        .collect();
    assert!(
        unsecured
            .iter()
            .all(|p| ["/healthz", "/readyz"].contains(p)),
        "only health checks may go without a key: {unsecured:?}"
    );
    let unknown = onramp_store::auth::generate_key();
    let id = Uuid::new_v4().to_string();
    for (method, path, secured) in &ops {
        if !secured {
            continue;
        }
        for (who, key) in [
            ("no key", None),
            ("unknown key", Some(unknown.as_str())),
            ("revoked key", Some(revoked.as_str())),
        ] {
            let r = send(&api, method, &fill(path, &id), key, some_body(method), &[]).await?;
            r.assert_problem(401, "unauthorized", &format!("{who}: {method} {path}"));
        }
    }
    Ok(())
}

// ===== key lifecycle =====

async fn key_lifecycle(postgres: bool) -> Result<()> {
    let api = start(postgres).await?;
    let a = api.key.clone();
    let keys = || api_key::Entity::find().count(&api.db);

    // Created: shown once, with its prefix, role and a Location.
    let made = post(&api, "/v1/api-keys", &a, json!({"name": "ci pipeline"})).await?;
    assert_eq!(made.status, 201, "{:#}", made.body);
    let id = made.str("id");
    let secret = made.str("key");
    assert_eq!(
        made.location.as_deref(),
        Some(&*format!("/v1/api-keys/{id}"))
    );
    assert_eq!(made.cache_control.as_deref(), Some("no-store"));
    assert!(secret.starts_with("onr_") && secret.len() == 36, "{secret}");
    assert_eq!(made.str("prefix"), secret[..8]);
    assert_eq!(made.str("role"), "customer");
    assert_eq!(made.str("name"), "ci pipeline");

    // Never shown again.
    let list = get(&api, "/v1/api-keys", &a).await?;
    assert_eq!(list.status, 200);
    let items = list.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{:#}", list.body);
    assert!(items.iter().any(|k| k["id"] == id.as_str()));
    assert!(items.iter().all(|k| k.get("key").is_none()));
    let one = get(&api, &format!("/v1/api-keys/{id}"), &a).await?;
    assert_eq!(one.status, 200);
    for r in [&list, &one] {
        assert!(!r.text.contains(&secret), "{}", r.text);
    }

    // The database holds its digest and prefix, never the key.
    let row = api_key::Entity::find_by_id(id.parse::<Uuid>()?)
        .one(&api.db)
        .await?
        .expect("row");
    assert_eq!(row.key_hash, onramp_store::auth::hash_key(&secret));
    assert_eq!(row.key_hash.len(), 64);
    assert_eq!(row.key_prefix, secret[..8]);
    assert!(!format!("{row:?}").contains(&secret[8..]));

    // It works.
    let mine = get(&api, "/v1/connectors", &secret).await?;
    assert_eq!(mine.status, 200, "{:#}", mine.body);

    // Customers mint customer keys only; bad input names its field; the
    // refusals create nothing.
    let count = keys().await?;
    for (body, status, field, code) in [
        (
            json!({"name": "x", "role": "admin"}),
            403,
            "role",
            "not_allowed",
        ),
        (
            json!({"name": "x", "role": "ops"}),
            403,
            "role",
            "not_allowed",
        ),
        (
            json!({"name": "x", "role": "root"}),
            422,
            "role",
            "invalid_value",
        ),
        (json!({"role": "customer"}), 422, "name", "required"),
        (json!({"name": "   "}), 422, "name", "required"),
        (
            json!({"name": "x", "scope": "all"}),
            422,
            "scope",
            "unknown_field",
        ),
    ] {
        let r = post(&api, "/v1/api-keys", &secret, body.clone()).await?;
        assert_eq!(r.status, status, "{body}: {:#}", r.body);
        assert_eq!(r.content_type, "application/problem+json");
        assert!(
            r.error_fields().contains(&(field.into(), code.into())),
            "{body}: {:#}",
            r.body
        );
    }
    // A retried create with an Idempotency-Key makes no second key, and
    // its replay withholds the secret, of which onramp kept no copy.
    let retried = || {
        send(
            &api,
            "POST",
            "/v1/api-keys",
            Some(&a),
            Some(json!({"name": "retried"})),
            &[("Idempotency-Key", "k-1")],
        )
    };
    let first = retried().await?;
    assert_eq!(first.status, 201, "{:#}", first.body);
    let made = first.str("key");
    let again = retried().await?;
    assert_eq!(again.status, 201, "{:#}", again.body);
    assert_eq!(again.body["id"], first.body["id"]);
    assert!(again.body["key"].is_null(), "{:#}", again.body);
    assert!(!again.text.contains(&made));
    assert_eq!(keys().await?, count + 1);
    // Revoke it again so the counts below hold.
    let made_id = first.str("id");
    assert_eq!(
        delete(&api, &format!("/v1/api-keys/{made_id}"), &a)
            .await?
            .status,
        200
    );

    // Revoked by itself: this request completes, the next one is a 401.
    let gone = delete(&api, &format!("/v1/api-keys/{id}"), &secret).await?;
    assert_eq!(gone.status, 200, "{:#}", gone.body);
    let revoked_at = gone.body["revoked_at"].clone();
    assert!(revoked_at.is_string(), "{:#}", gone.body);
    let r = get(&api, "/v1/connectors", &secret).await?;
    r.assert_problem(401, "unauthorized", "revoked key");
    // Revoking again changes nothing; the list shows when.
    let again = delete(&api, &format!("/v1/api-keys/{id}"), &a).await?;
    assert_eq!(
        (again.status, &again.body["revoked_at"]),
        (200, &revoked_at)
    );
    let listed = get(&api, "/v1/api-keys", &a).await?;
    let item = listed.body["items"]
        .as_array()
        .and_then(|a| a.iter().find(|k| k["id"] == id.as_str()).cloned())
        .expect("listed");
    assert_eq!(item["revoked_at"], revoked_at);
    // Not a UUID: names no key.
    delete(&api, "/v1/api-keys/not-a-key", &a)
        .await?
        .assert_problem(404, "not_found", "bad id");
    // The other key was not touched.
    assert_eq!(get(&api, "/v1/connectors", &a).await?.status, 200);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_is_shown_once_stored_hashed_and_revocable() -> Result<()> {
    key_lifecycle(false).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_is_shown_once_stored_hashed_and_revocable_postgres() -> Result<()> {
    key_lifecycle(true).await
}

// ===== tenants =====

async fn tenants(postgres: bool) -> Result<()> {
    let api = start(postgres).await?;
    let admin = admin_key(&api).await?;
    let count = || async {
        Ok::<_, anyhow::Error>((
            tenant::Entity::find().count(&api.db).await?,
            api_key::Entity::find().count(&api.db).await?,
            allocation::Entity::find()
                .filter(allocation::Column::TenantId.is_not_null())
                .count(&api.db)
                .await?,
        ))
    };

    let made = post(
        &api,
        "/v1/admin/tenants",
        &admin,
        json!({"name": "Globex Corp"}),
    )
    .await?;
    assert_eq!(made.status, 201, "{:#}", made.body);
    let id = made.str("id");
    assert_eq!(
        made.location.as_deref(),
        Some(&*format!("/v1/admin/tenants/{id}"))
    );
    assert_eq!(made.cache_control.as_deref(), Some("no-store"));
    assert_eq!(made.str("vrf_name"), "cust-globex-corp");
    assert!(made.str("route_distinguisher").contains(':'));
    assert!(made.str("route_target").starts_with("target:"));
    let first = &made.body["api_key"];
    assert_eq!(first["role"], "customer");
    let key = first["key"].as_str().expect("first key").to_string();

    // The first key works and sees an empty tenant.
    let conns = get(&api, "/v1/connectors", &key).await?;
    assert_eq!(conns.status, 200, "{:#}", conns.body);
    assert_eq!(conns.body["items"], json!([]));
    let own = get(&api, "/v1/api-keys", &key).await?;
    assert_eq!(own.body["items"].as_array().map(Vec::len), Some(1));
    assert!(!own.text.contains(&key));
    let row = api_key::Entity::find()
        .filter(api_key::Column::TenantId.eq(id.parse::<Uuid>()?))
        .one(&api.db)
        .await?
        .expect("first key row");
    assert_eq!(row.key_hash, onramp_store::auth::hash_key(&key));

    // Listed and readable; unknown ids are 404.
    let list = get(&api, "/v1/admin/tenants", &admin).await?;
    let names: Vec<&str> = list.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(
        names.contains(&"Globex Corp") && names.contains(&"Acme"),
        "{names:?}"
    );
    assert!(!list.text.contains(&key));
    let one = get(&api, &format!("/v1/admin/tenants/{id}"), &admin).await?;
    assert_eq!((one.status, one.str("name")), (200, "Globex Corp".into()));
    for bad in [Uuid::new_v4().to_string(), "globex".into()] {
        get(&api, &format!("/v1/admin/tenants/{bad}"), &admin)
            .await?
            .assert_problem(404, "not_found", &bad);
    }

    // Taken names, VRF names and bad names are refused and leave nothing.
    let before = count().await?;
    for (body, status, field, code) in [
        (json!({"name": "Globex Corp"}), 409, "name", "duplicate"),
        (json!({"name": "globex-corp"}), 409, "name", "duplicate"),
        (json!({"name": ""}), 422, "name", "invalid_format"),
        (
            json!({"name": "x".repeat(59)}),
            422,
            "name",
            "invalid_format",
        ),
        (json!({}), 422, "name", "required"),
        (
            json!({"name": "Initech", "tier": 1}),
            422,
            "tier",
            "unknown_field",
        ),
    ] {
        let r = post(&api, "/v1/admin/tenants", &admin, body.clone()).await?;
        assert_eq!(r.status, status, "{body}: {:#}", r.body);
        assert!(
            r.error_fields().contains(&(field.into(), code.into())),
            "{body}: {:#}",
            r.body
        );
    }
    assert_eq!(count().await?, before);

    // Two creates of one name race: one wins, the other is a 409.
    let (x, y) = tokio::join!(
        post(&api, "/v1/admin/tenants", &admin, json!({"name": "Racer"})),
        post(&api, "/v1/admin/tenants", &admin, json!({"name": "racer"})),
    );
    let mut statuses = [x?.status, y?.status];
    statuses.sort();
    assert_eq!(statuses, [201, 409]);
    assert_eq!(count().await?.0, before.0 + 1);

    // Keys of any role for the tenant, shown once.
    let ops = post(
        &api,
        &format!("/v1/admin/tenants/{id}/api-keys"),
        &admin,
        json!({"name": "noc", "role": "ops"}),
    )
    .await?;
    assert_eq!(ops.status, 201, "{:#}", ops.body);
    assert_eq!(ops.str("role"), "ops");
    let ops_id = ops.str("id");
    assert_eq!(
        ops.location.as_deref(),
        Some(&*format!("/v1/admin/tenants/{id}/api-keys/{ops_id}"))
    );
    let seen = get(&api, ops.location.as_deref().unwrap_or_default(), &admin).await?;
    assert_eq!(seen.status, 200);
    assert!(!seen.text.contains(&ops.str("key")));
    let r = post(
        &api,
        &format!("/v1/admin/tenants/{id}/api-keys"),
        &admin,
        json!({"name": "x"}),
    )
    .await?;
    assert!(
        r.error_fields()
            .contains(&("role".into(), "required".into()))
    );
    post(
        &api,
        &format!("/v1/admin/tenants/{}/api-keys", Uuid::new_v4()),
        &admin,
        json!({"name": "x", "role": "customer"}),
    )
    .await?
    .assert_problem(404, "not_found", "no tenant");

    // The tenant's customer key can neither mint an admin key nor revoke
    // the tenant's ops key.
    let r = post(
        &api,
        "/v1/api-keys",
        &key,
        json!({"name": "escalate", "role": "admin"}),
    )
    .await?;
    r.assert_problem(403, "forbidden", "customer asks for admin");
    assert_eq!(
        r.error_fields(),
        [("role".to_string(), "not_allowed".to_string())]
    );
    let r = delete(&api, &format!("/v1/api-keys/{ops_id}"), &key).await?;
    r.assert_problem(403, "forbidden", "customer revokes ops");

    // The operator revokes the tenant's first key: 401 from then on.
    let r = delete(
        &api,
        &format!("/v1/admin/tenants/{id}/api-keys/{}", row.id),
        &admin,
    )
    .await?;
    assert_eq!(r.status, 200, "{:#}", r.body);
    get(&api, "/v1/connectors", &key).await?.assert_problem(
        401,
        "unauthorized",
        "revoked by the operator",
    );
    // And another tenant's key under this tenant is not found.
    let acme_key = onramp_store::auth::tenant_for_key(&api.db, &api.key)
        .await?
        .expect("Acme");
    let acme_keys = onramp_store::auth::list_keys(&api.db, acme_key.0.id).await?;
    delete(
        &api,
        &format!("/v1/admin/tenants/{id}/api-keys/{}", acme_keys[0].id),
        &admin,
    )
    .await?
    .assert_problem(404, "not_found", "key of another tenant");
    assert_eq!(get(&api, "/v1/connectors", &api.key).await?.status, 200);
    // Creating a tenant twice with one Idempotency-Key makes one tenant;
    // the replay withholds its first key.
    let create = || {
        send(
            &api,
            "POST",
            "/v1/admin/tenants",
            Some(&admin),
            Some(json!({"name": "Umbrella"})),
            &[("Idempotency-Key", "t-1")],
        )
    };
    let first = create().await?;
    assert_eq!(first.status, 201, "{:#}", first.body);
    assert!(first.body["api_key"]["key"].is_string());
    let again = create().await?;
    assert_eq!((again.status, &again.body["id"]), (201, &first.body["id"]));
    assert!(again.body["api_key"]["key"].is_null(), "{:#}", again.body);
    let umbrellas = tenant::Entity::find()
        .filter(tenant::Column::Name.eq("Umbrella"))
        .count(&api.db)
        .await?;
    assert_eq!(umbrellas, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn admins_create_tenants_with_a_first_key() -> Result<()> {
    tenants(false).await
}

#[tokio::test(flavor = "multi_thread")]
async fn admins_create_tenants_with_a_first_key_postgres() -> Result<()> {
    tenants(true).await
}

#[tokio::test(flavor = "multi_thread")]
async fn only_ops_and_admin_keys_reach_the_tasks_api() -> Result<()> {
    use onramp_store::entity::{ops_audit, ops_task, pe_router};
    let api = start(false).await?;
    let admin = admin_key(&api).await?;
    let (_, ops) = api
        .tenant_with_key("NOC", onramp_store::auth::ROLE_OPS)
        .await?;
    let (_, other) = customer(&api, "Globex").await?;
    // A ticket-csp connector of Acme's with its first task open (no worker
    // runs here: the task is opened as the worker would).
    let pe1 = pe_router::Entity::find().one(&api.db).await?.expect("pe1");
    onramp_store::seed::seed_ticket_providers(
        &api.db,
        &onramp_store::seed::demo_ticket_providers(0, "ge-0/0/4"),
        &[pe1.id],
    )
    .await?;
    let order = post(
        &api,
        "/v1/connectors",
        &api.key,
        json!({"kind": "ticket-csp", "provider": "ibm-direct-link", "location": "IBM-WDC", "bandwidth": "1Gbps"}),
    )
    .await?;
    assert_eq!(order.status, 202, "{:#}", order.body);
    let row = connector::Entity::find_by_id(order.str("id").parse::<Uuid>()?)
        .one(&api.db)
        .await?
        .expect("connector");
    let task = onramp_store::tasks::open(&api.db, &row, 0).await?;
    let task_id = task.id.to_string();

    let task_ops: Vec<(String, String)> = operations()
        .into_iter()
        .filter(|(_, path, _)| ops_only(path))
        .map(|(m, p, _)| (m, p))
        .collect();
    assert!(task_ops.len() >= 7, "{task_ops:?}");
    for (method, path) in &task_ops {
        for (who, key) in [("owner", &api.key), ("other customer", &other)] {
            let r = send(
                &api,
                method,
                &fill(path, &task_id),
                Some(key),
                some_body(method),
                &[],
            )
            .await?;
            r.assert_problem(403, "forbidden", &format!("{who}: {method} {path}"));
        }
    }
    let unchanged = ops_task::Entity::find_by_id(task.id)
        .one(&api.db)
        .await?
        .expect("task");
    assert_eq!(unchanged, task, "the refusals changed nothing");
    assert_eq!(
        ops_audit::Entity::find().count(&api.db).await?,
        1,
        "only the opening is audited"
    );

    // Ops and admin keys get in, and see every tenant's tasks.
    for key in [&ops, &admin] {
        let list = get(&api, "/v1/tasks", key).await?;
        assert_eq!(list.status, 200, "{:#}", list.body);
        assert_eq!(list.body["items"][0]["id"], task_id.as_str());
        let one = get(&api, &format!("/v1/tasks/{task_id}"), key).await?;
        assert_eq!(one.status, 200, "{:#}", one.body);
    }
    let claimed = post(&api, &format!("/v1/tasks/{task_id}/claim"), &ops, json!({})).await?;
    assert_eq!(claimed.status, 200, "{:#}", claimed.body);
    let r = post(
        &api,
        &format!("/v1/tasks/{task_id}/claim"),
        &admin,
        json!({}),
    )
    .await?;
    r.assert_problem(409, "claimed_by_other", "admin claims ops' task");
    let r = post(
        &api,
        &format!("/v1/tasks/{task_id}/unclaim?force=true"),
        &admin,
        json!({}),
    )
    .await?;
    assert_eq!(r.status, 200, "{:#}", r.body);
    let d = get(&api, &format!("/v1/tasks/{task_id}"), &admin).await?;
    let actions: Vec<&str> = d.body["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["open", "claim", "unclaim"]);
    assert_eq!(d.body["audit"][2]["detail"]["forced"], true);
    Ok(())
}
