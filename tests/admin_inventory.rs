//! The inventory admin API (`/v1/admin/...`), in process: CRUD round trips
//! for PEs, ports, NNIs and the three pools (SQLite, and PostgreSQL for the
//! happy path); every validation error names its field and changes nothing;
//! deleting or shrinking what connectors use is refused naming them; only
//! admin keys get in; passwords never come back; and the NETCONF check
//! verifies host keys against real PEs (netconfd behind sshd), failing closed
//! on a mismatch.

use anyhow::Result;
use onramp_store::entity::{
    allocation, asn_pool, connector, linknet_pool, nni, pe_port, pe_router, route_target_pool,
};
use onramp_store::seed::{Seed, SeedDx, SeedPe};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

/// Every password the tests send contains this; no response may.
const SENTINEL: &str = "pw-sentinel";

struct App {
    base: String,
    admin: String,
    customer: String,
    db: onramp_store::DatabaseConnection,
    secrets: onramp_store::secrets::SecretBox,
    http: reqwest::Client,
    _pg: Option<onramp_devstack::postgres::PostgresServer>,
    _dir: tempfile::TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

#[derive(Debug)]
struct Resp {
    status: u16,
    content_type: String,
    location: Option<String>,
    body: Value,
}

impl Resp {
    fn id(&self) -> String {
        self.body["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no id in {:#}", self.body))
            .to_string()
    }

    fn detail(&self) -> &str {
        self.body["detail"].as_str().unwrap_or("")
    }
}

enum Db {
    Sqlite,
    Postgres,
}

/// Which inventory the app starts with.
enum Start {
    /// Default pools, an admin key and a customer tenant; nothing else.
    Empty,
    /// `seed()`: pe1 with ge-0/0/1 (VLANs 100-3999), the AWS NNI EqDC2 on it
    /// drawing from aws-linknets 169.254.0.0/24, the default pools, tenant
    /// Acme with a customer key; plus an admin key.
    Seeded,
}

async fn start(db: Db, inventory: Start) -> Result<App> {
    let dir = tempfile::tempdir()?;
    let (pg, url) = match db {
        Db::Postgres => {
            let pg = onramp_devstack::postgres::PostgresServer::start(&dir.path().join("pg"))?;
            let url = pg.create_database("admin")?;
            (Some(pg), url)
        }
        Db::Sqlite => (
            None,
            format!("sqlite://{}?mode=rwc", dir.path().join("a.db").display()),
        ),
    };
    let conn = onramp_store::connect_and_migrate(&url).await?;
    let customer = onramp_store::auth::generate_key();
    let secrets = onramp_store::secrets::SecretBox::from_base64_key(
        &onramp_store::secrets::SecretBox::generate_base64_key(),
    )?;
    match inventory {
        Start::Empty => {
            onramp_store::seed::ensure_default_pools(&conn).await?;
            let t = onramp_store::seed::create_tenant(&conn, "Acme").await?;
            onramp_store::auth::add_key(
                &conn,
                t.id,
                "customer",
                &customer,
                onramp_store::auth::ROLE_CUSTOMER,
            )
            .await?;
        }
        Start::Seeded => {
            onramp_store::seed::seed(
                &conn,
                &Seed {
                    // Nothing is pushed here, so the PE needs no server.
                    pes: vec![SeedPe {
                        name: "pe1".into(),
                        host: "127.0.0.1".into(),
                        port: 830,
                        username: "x".into(),
                        password: format!("{SENTINEL}-seed"),
                        host_key_fingerprint: None,
                        platform: "reference-pe".into(),
                        port_name: "ge-0/0/1".into(),
                        vlan_range: (100, 3999),
                        snmp_target: None,
                    }],
                    dx: vec![SeedDx {
                        location_code: "EqDC2".into(),
                        name: "Equinix DC2".into(),
                        region: "us-east-1".into(),
                        interconnect_id: "dxcon-onramp01".into(),
                        pe: 0,
                        amazon_side_asn: 64512,
                        capacity_mbps: 1_000,
                    }],
                    er: vec![],
                    gcp: vec![],
                    linknet_cidr: "169.254.0.0/24".into(),
                    tenant_name: "Acme".into(),
                    api_key: customer.clone(),
                },
                &secrets,
            )
            .await?;
        }
    }
    let admin = onramp_store::auth::generate_key();
    onramp_store::seed::seed_admin_key(&conn, &admin).await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let state = onramp_api::AppState::new(conn.clone(), secrets.clone());
    tokio::spawn(onramp_api::serve(listener, state, async {
        let _ = rx.await;
    }));
    Ok(App {
        base,
        admin,
        customer,
        db: conn,
        secrets,
        http: reqwest::Client::new(),
        _pg: pg,
        _dir: dir,
        _shutdown: tx,
    })
}

impl App {
    async fn send(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<(&str, &str)>,
    ) -> Result<Resp> {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        let mut req = self
            .http
            .request(reqwest::Method::from_bytes(method.as_bytes())?, url);
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some((ct, text)) = body {
            req = req.header("content-type", ct).body(text.to_string());
        }
        let r = req.send().await?;
        let status = r.status().as_u16();
        let header = |name: &str| {
            r.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header("content-type").unwrap_or_default();
        let location = header("location");
        let text = r.text().await?;
        assert!(
            !text.contains(SENTINEL),
            "{method} {path} returned a password: {text}"
        );
        Ok(Resp {
            status,
            content_type,
            location,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        })
    }

    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Result<Resp> {
        let text = body.map(|b| b.to_string());
        self.send(
            method,
            path,
            Some(&self.admin),
            text.as_deref().map(|t| ("application/json", t)),
        )
        .await
    }

    async fn get(&self, path: &str) -> Result<Resp> {
        self.admin("GET", path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Result<Resp> {
        self.admin("POST", path, Some(body)).await
    }

    async fn patch(&self, path: &str, body: Value) -> Result<Resp> {
        self.admin("PATCH", path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> Result<Resp> {
        self.admin("DELETE", path, None).await
    }

    /// Creates and returns the object, asserting 201 and its Location.
    async fn create(&self, path: &str, body: Value) -> Result<Value> {
        let r = self.post(path, body).await?;
        assert_eq!(r.status, 201, "POST {path}: {:#}", r.body);
        let self_link = r.body["links"]["self"].as_str().unwrap_or_default();
        assert_eq!(r.location.as_deref(), Some(self_link), "Location of {path}");
        Ok(r.body)
    }

    async fn order(&self, vlan: Option<u16>) -> Result<String> {
        let mut body = json!({"kind": "aws-hosted-vif", "aws_account_id": "123456789012",
            "location": "EqDC2", "bandwidth": "1Gbps"});
        if let Some(v) = vlan {
            body["vlan"] = json!(v);
        }
        let text = body.to_string();
        let r = self
            .send(
                "POST",
                "/v1/connectors",
                Some(&self.customer),
                Some(("application/json", &text)),
            )
            .await?;
        assert_eq!(r.status, 202, "order: {:#}", r.body);
        Ok(r.id())
    }

    /// Row counts of every inventory table and of allocations and connectors.
    async fn counts(&self) -> Result<[u64; 8]> {
        let db = &self.db;
        Ok([
            pe_router::Entity::find().count(db).await?,
            pe_port::Entity::find().count(db).await?,
            nni::Entity::find().count(db).await?,
            linknet_pool::Entity::find().count(db).await?,
            asn_pool::Entity::find().count(db).await?,
            route_target_pool::Entity::find().count(db).await?,
            allocation::Entity::find().count(db).await?,
            connector::Entity::find().count(db).await?,
        ])
    }

    /// The first item of a list whose `key` is `value`.
    async fn find(&self, list: &str, key: &str, value: &str) -> Result<Value> {
        let r = self.get(list).await?;
        assert_eq!(r.status, 200, "GET {list}: {:#}", r.body);
        r.body["items"]
            .as_array()
            .and_then(|a| a.iter().find(|i| i[key] == value).cloned())
            .ok_or_else(|| anyhow::anyhow!("no {key}={value} in {list}: {:#}", r.body))
    }
}

/// Asserts a problem+json of `status` and `code`; if `field` is given,
/// `errors[].field` must name it.
fn assert_problem(r: &Resp, status: u16, code: &str, field: Option<&str>, ctx: &str) {
    assert_eq!(r.status, status, "{ctx}: {:#}", r.body);
    assert_eq!(r.content_type, "application/problem+json", "{ctx}");
    assert_eq!(r.body["status"], status, "{ctx}");
    assert_eq!(r.body["code"], code, "{ctx}: {:#}", r.body);
    for k in ["type", "title", "detail"] {
        assert!(
            r.body[k].as_str().is_some_and(|v| !v.is_empty()),
            "{ctx}: missing {k} in {:#}",
            r.body
        );
    }
    if let Some(f) = field {
        let fields: Vec<&str> = r.body["errors"]
            .as_array()
            .map(|a| a.iter().filter_map(|e| e["field"].as_str()).collect())
            .unwrap_or_default();
        assert!(
            fields.contains(&f),
            "{ctx}: expected errors[].field {f}, got {:#}",
            r.body
        );
    }
}

fn assert_mentions(r: &Resp, needles: &[&str], ctx: &str) {
    for n in needles {
        assert!(
            r.detail().contains(n),
            "{ctx}: detail should name {n}: {}",
            r.detail()
        );
    }
}

fn new_pe(name: &str) -> Value {
    json!({
        "name": name,
        "host": "192.0.2.10",
        "netconf_port": 830,
        "username": "onramp",
        "password": format!("{SENTINEL}-{name}"),
        "host_key_fingerprint": "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s",
        "platform": "reference-pe",
    })
}

fn with(mut v: Value, field: &str, x: Value) -> Value {
    v[field] = x;
    v
}

fn without(mut v: Value, field: &str) -> Value {
    v.as_object_mut().unwrap().remove(field);
    v
}

// ===== CRUD =====

async fn crud(db: Db) -> Result<()> {
    let app = start(db, Start::Empty).await?;

    // PE routers.
    let pe1 = app.create("/v1/admin/pes", new_pe("pe1")).await?;
    assert_eq!(pe1["name"], "pe1");
    assert_eq!(pe1["has_password"], true);
    assert!(pe1.get("password").is_none(), "{pe1:#}");
    assert_eq!(pe1["netconf_port"], 830);
    let pe1_url = pe1["links"]["self"].as_str().unwrap().to_string();
    let pe2 = app
        .create("/v1/admin/pes", without(new_pe("pe2"), "netconf_port"))
        .await?;
    assert_eq!(pe2["netconf_port"], 830, "default NETCONF port");
    let got = app.get(&pe1_url).await?;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, pe1);
    let list = app.get("/v1/admin/pes").await?;
    let names: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["pe1", "pe2"]);

    let r = app
        .patch(
            &pe1_url,
            json!({"name": "pe1-par", "host": "pe1.par.example.net", "netconf_port": 2830,
                   "password": format!("{SENTINEL}-new")}),
        )
        .await?;
    assert_eq!(r.status, 200, "{:#}", r.body);
    assert_eq!(r.body["name"], "pe1-par");
    assert_eq!(r.body["host"], "pe1.par.example.net");
    assert_eq!(r.body["netconf_port"], 2830);
    assert_eq!(r.body["username"], "onramp", "untouched");
    assert_eq!(r.body["has_password"], true);
    let row = pe_router::Entity::find_by_id(uuid::Uuid::parse_str(&r.id())?)
        .one(&app.db)
        .await?
        .unwrap();
    // Stored sealed, and it opens to what was set.
    assert!(!row.password.contains(SENTINEL), "password stored in clear");
    assert_eq!(app.secrets.open(&row.password)?, format!("{SENTINEL}-new"));
    let r = app
        .patch(&pe1_url, json!({"host_key_fingerprint": null}))
        .await?;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["host_key_fingerprint"], Value::Null, "unpinned");
    assert_eq!(
        app.get(&pe1_url).await?.body,
        r.body,
        "GET shows the update"
    );

    // Ports.
    let ports_url = pe1["links"]["ports"].as_str().unwrap().to_string();
    let port = app
        .create(
            &ports_url,
            json!({"name": "ge-0/0/1", "vlan_min": 100, "vlan_max": 3999}),
        )
        .await?;
    assert_eq!(port["pe"], "pe1-par");
    assert_eq!(port["vlans_allocated"], 0);
    let port_url = port["links"]["self"].as_str().unwrap().to_string();
    let port2 = app
        .create(
            &ports_url,
            json!({"name": "ge-0/0/2", "vlan_min": 2, "vlan_max": 4094}),
        )
        .await?;
    let pe2_ports = pe2["links"]["ports"].as_str().unwrap();
    let port_pe2 = app
        .create(
            pe2_ports,
            json!({"name": "ge-0/0/1", "vlan_min": 100, "vlan_max": 200}),
        )
        .await?;
    assert_eq!(app.get(&port_url).await?.body, port);
    let list = app.get(&ports_url).await?;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 2);
    let r = app
        .patch(&port_url, json!({"vlan_min": 10, "vlan_max": 4000}))
        .await?;
    assert_eq!(r.status, 200, "{:#}", r.body);
    assert_eq!(
        (r.body["vlan_min"].clone(), r.body["vlan_max"].clone()),
        (json!(10), json!(4000))
    );
    assert_eq!(r.body["name"], "ge-0/0/1");

    // Link-net pools.
    let pool = app
        .create(
            "/v1/admin/pools/linknet",
            json!({"name": "aws-linknets", "cidr": "169.254.0.0/24"}),
        )
        .await?;
    assert_eq!(pool["size_31"], 128);
    assert_eq!(pool["allocated_31"], 0);
    let pool_url = pool["links"]["self"].as_str().unwrap().to_string();
    let r = app
        .patch(&pool_url, json!({"cidr": "169.254.0.0/23"}))
        .await?;
    assert_eq!(r.status, 200, "{:#}", r.body);
    assert_eq!(r.body["size_31"], 256);
    let gcp_pool = app
        .create(
            "/v1/admin/pools/linknet",
            json!({"name": "gcp-linknets", "cidr": "169.254.64.0/29"}),
        )
        .await?;
    assert_eq!(app.get(&pool_url).await?.body, r.body);
    assert_eq!(
        app.get("/v1/admin/pools/linknet").await?.body["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // NNIs, one per CSP.
    let aws = app
        .create(
            "/v1/admin/nnis",
            json!({"csp": "aws", "location_code": "EqDC2", "name": "Equinix DC2",
                   "region": "us-east-1", "csp_ref": "dxcon-fgq5f0tz", "port_id": port["id"],
                   "linknet_pool_id": pool["id"], "csp_asn": 64512, "capacity_mbps": 10000}),
        )
        .await?;
    assert_eq!(aws["attributes"], json!({}));
    let aws_url = aws["links"]["self"].as_str().unwrap().to_string();
    let azure = app
        .create(
            "/v1/admin/nnis",
            json!({"csp": "azure", "location_code": "Washington", "name": "ExpressRoute Washington",
                   "region": "eastus2", "csp_ref": "er-port-pair-wdc", "port_id": port2["id"],
                   "linknet_pool_id": pool["id"], "csp_asn": 12076, "capacity_mbps": 10000,
                   "attributes": {"secondary_port_id": port_pe2["id"]}}),
        )
        .await?;
    assert_eq!(azure["attributes"]["secondary_port_id"], port_pe2["id"]);
    let gcp = app
        .create(
            "/v1/admin/nnis",
            json!({"csp": "gcp", "location_code": "iad-zone1-1", "name": "Google Ashburn 1",
                   "region": "us-east4", "csp_ref": "onramp-iad-1", "port_id": port_pe2["id"],
                   "linknet_pool_id": gcp_pool["id"], "csp_asn": 16550, "capacity_mbps": 10000,
                   "attributes": {"edge_availability_domain": 1}}),
        )
        .await?;
    assert_eq!(app.get(&aws_url).await?.body, aws);
    let r = app.get("/v1/admin/nnis?csp=gcp").await?;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["items"][0]["id"], gcp["id"]);
    assert_eq!(
        app.get("/v1/admin/nnis").await?.body["items"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let r = app
        .patch(
            &aws_url,
            json!({"capacity_mbps": 100000, "name": "Equinix DC2 (LAG)", "csp_ref": "dxlag-ffrz71kw"}),
        )
        .await?;
    assert_eq!(r.status, 200, "{:#}", r.body);
    assert_eq!(r.body["capacity_mbps"], 100000);
    assert_eq!(r.body["csp_ref"], "dxlag-ffrz71kw");
    assert_eq!(r.body["location_code"], "EqDC2", "untouched");
    let gcp_url = gcp["links"]["self"].as_str().unwrap();
    let r = app
        .patch(
            gcp_url,
            json!({"attributes": {"edge_availability_domain": 2}}),
        )
        .await?;
    assert_eq!(r.status, 200, "{:#}", r.body);
    assert_eq!(r.body["attributes"]["edge_availability_domain"], 2);

    // ASN pools: the defaults cover every private ASN, so one goes first.
    let four = app
        .find("/v1/admin/pools/asn", "name", "private-4byte")
        .await?;
    let r = app.delete(four["links"]["self"].as_str().unwrap()).await?;
    assert_eq!(r.status, 204, "{:#}", r.body);
    let asn = app
        .create(
            "/v1/admin/pools/asn",
            json!({"name": "customer-4byte", "first": 4200000000u64, "last": 4200000999u64}),
        )
        .await?;
    assert_eq!(asn["size"], 1000);
    let asn_url = asn["links"]["self"].as_str().unwrap().to_string();
    let r = app.patch(&asn_url, json!({"last": 4200009999u64})).await?;
    assert_eq!(r.status, 200, "{:#}", r.body);
    assert_eq!(r.body["size"], 10000);
    assert_eq!(app.get(&asn_url).await?.body, r.body);
    assert_eq!(
        app.get("/v1/admin/pools/asn").await?.body["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Route-target pools.
    let rt = app
        .create(
            "/v1/admin/pools/route-target",
            json!({"name": "second", "admin_asn": 4200000001u64, "first": 1, "last": 100}),
        )
        .await?;
    let rt_url = rt["links"]["self"].as_str().unwrap().to_string();
    let r = app
        .patch(&rt_url, json!({"last": 65535, "name": "second-4byte"}))
        .await?;
    assert_eq!(r.status, 200, "{:#}", r.body);
    assert_eq!(r.body["name"], "second-4byte");
    assert_eq!(app.get(&rt_url).await?.body, r.body);
    assert_eq!(
        app.get("/v1/admin/pools/route-target").await?.body["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // A port that is only an Azure pair's secondary is still in use.
    let r = app
        .delete(port_pe2["links"]["self"].as_str().unwrap())
        .await?;
    assert_problem(&r, 409, "in_use", None, "delete a secondary port");
    assert_mentions(
        &r,
        &["NNI Washington", "as its secondary port", "NNI iad-zone1-1"],
        "delete a secondary port",
    );

    // Deletes, users before what they use.
    for url in [
        aws_url.as_str(),
        azure["links"]["self"].as_str().unwrap(),
        gcp_url,
        port_url.as_str(),
        port2["links"]["self"].as_str().unwrap(),
        port_pe2["links"]["self"].as_str().unwrap(),
        pe1_url.as_str(),
        pe2["links"]["self"].as_str().unwrap(),
        pool_url.as_str(),
        gcp_pool["links"]["self"].as_str().unwrap(),
        asn_url.as_str(),
        rt_url.as_str(),
    ] {
        let r = app.delete(url).await?;
        assert_eq!(r.status, 204, "DELETE {url}: {:#}", r.body);
        let r = app.get(url).await?;
        assert_problem(
            &r,
            404,
            "not_found",
            None,
            &format!("GET {url} after delete"),
        );
        let r = app.delete(url).await?;
        assert_problem(&r, 404, "not_found", None, &format!("DELETE {url} twice"));
    }
    for list in ["/v1/admin/pes", "/v1/admin/nnis", "/v1/admin/pools/linknet"] {
        assert_eq!(app.get(list).await?.body["items"], json!([]), "{list}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn crud_round_trips_sqlite() -> Result<()> {
    crud(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread")]
async fn crud_round_trips_postgres() -> Result<()> {
    crud(Db::Postgres).await
}

// ===== validation =====

#[tokio::test(flavor = "multi_thread")]
async fn every_validation_error_names_its_field_and_changes_nothing() -> Result<()> {
    let app = start(Db::Sqlite, Start::Seeded).await?;
    let pe1 = app.find("/v1/admin/pes", "name", "pe1").await?;
    let pe1_url = pe1["links"]["self"].as_str().unwrap().to_string();
    let ports_url = pe1["links"]["ports"].as_str().unwrap().to_string();
    let port = app.find(&ports_url, "name", "ge-0/0/1").await?;
    let port_url = port["links"]["self"].as_str().unwrap().to_string();
    let pool = app
        .find("/v1/admin/pools/linknet", "name", "aws-linknets")
        .await?;
    // A second PE and port, to test Azure's anti-affinity; a second port on pe1.
    let pe2 = app.create("/v1/admin/pes", new_pe("pe2")).await?;
    let pe2_port = app
        .create(
            pe2["links"]["ports"].as_str().unwrap(),
            json!({"name": "ge-0/0/1", "vlan_min": 100, "vlan_max": 200}),
        )
        .await?;
    let pe1_port2 = app
        .create(
            &ports_url,
            json!({"name": "ge-0/0/9", "vlan_min": 100, "vlan_max": 200}),
        )
        .await?;
    let nni = app.find("/v1/admin/nnis", "location_code", "EqDC2").await?;
    let nni_url = nni["links"]["self"].as_str().unwrap().to_string();
    let asn = app
        .find("/v1/admin/pools/asn", "name", "private-2byte")
        .await?;
    let asn_url = asn["links"]["self"].as_str().unwrap().to_string();
    let rt = app
        .find("/v1/admin/pools/route-target", "name", "default")
        .await?;
    let rt_url = rt["links"]["self"].as_str().unwrap().to_string();
    let pool_url = pool["links"]["self"].as_str().unwrap().to_string();

    let good_nni = |csp: &str| {
        let (loc, region, csp_ref, attrs) = match csp {
            "aws" => ("EqSE2", "us-west-2", "dxcon-ffabc123", json!({})),
            "azure" => (
                "Seattle",
                "westus2",
                "er-sea",
                json!({"secondary_port_id": pe2_port["id"]}),
            ),
            _ => (
                "sea-zone1-86",
                "us-west1",
                "onramp-sea-1",
                json!({"edge_availability_domain": 1}),
            ),
        };
        json!({"csp": csp, "location_code": loc, "name": "Somewhere", "region": region,
               "csp_ref": csp_ref, "port_id": port["id"], "linknet_pool_id": pool["id"],
               "csp_asn": 64512, "capacity_mbps": 10000, "attributes": attrs})
    };
    let nni_attrs = |csp: &str, attrs: Value| with(good_nni(csp), "attributes", attrs);
    let unknown = "00000000-0000-4000-8000-000000000000";

    let before = app.counts().await?;
    let cases: Vec<(&str, &str, Value, &str)> = vec![
        // PE create.
        (
            "POST",
            "/v1/admin/pes",
            with(new_pe("x1"), "name", json!("PE1")),
            "name",
        ),
        (
            "POST",
            "/v1/admin/pes",
            with(new_pe("x1"), "name", json!("a".repeat(64))),
            "name",
        ),
        (
            "POST",
            "/v1/admin/pes",
            with(new_pe("x1"), "name", json!("")),
            "name",
        ),
        (
            "POST",
            "/v1/admin/pes",
            with(new_pe("x1"), "name", json!(null)),
            "name",
        ),
        (
            "POST",
            "/v1/admin/pes",
            without(new_pe("x1"), "name"),
            "name",
        ),
        (
            "POST",
            "/v1/admin/pes",
            with(new_pe("x1"), "host", json!("10.0.0.256")),
            "host",
        ),
        (
            "POST",
            "/v1/admin/pes",
            with(new_pe("x1"), "host", json!("pe 1.example.net")),
            "host",
        ),
        (
            "POST",
            "/v1/admin/pes",
            with(new_pe("x1"), "host", json!("")),
            "host",
        ),
        (
            "POST",
            "/v1/admin/pes",
            with(new_pe("x1"), "host", json!("0.0.0.0")),
            "host",
        ),
        (
            "POST",
            "/v1/admin/pes",
            with(new_pe("x1"), "host", json!("224.0.0.5")),
            "host",
        ),
        (
            "POST",
            "/v1/admin/pes",
            with(new_pe("x1"), "snmp_target", json!("192.0.2.10")),
            "snmp_target",
        ),
        (
            "POST",
            "/v1/admin/pes",
            with(new_pe("x1"), "snmp_target", json!("192.0.2.10:0")),
            "snmp_target",
        ),
        (
            "POST",
            "/v1/admin/pes",
            with(new_pe("x1"), "snmp_target", json!("224.0.0.5:161")),
            "snmp_target",
        ),
        (
            "POST",
            "/v1/admin/pes",
            with(new_pe("x1"), "snmp_target", json!(161)),
            "snmp_target",
        ),
        (
            "POST",
            "/v1/admin/pes",
            with(new_pe("x1"), "host", json!("ff02::1")),
            "host",
        ),
        (
            "POST",
            "/v1/admin/pools/route-target",
            json!({"name": "x", "admin_asn": 65535, "first": 1, "last": 2}),
            "admin_asn",
        ),
        (
            "POST",
            "/v1/admin/pes",
            with(new_pe("x1"), "netconf_port", json!(0)),
            "netconf_port",
        ),
        (
            "POST",
            "/v1/admin/pes",
            with(new_pe("x1"), "netconf_port", json!(65536)),
            "netconf_port",
        ),
        (
            "POST",
            "/v1/admin/pes",
            with(new_pe("x1"), "netconf_port", json!("830")),
            "netconf_port",
        ),
        (
            "POST",
            "/v1/admin/pes",
            with(new_pe("x1"), "username", json!("")),
            "username",
        ),
        (
            "POST",
            "/v1/admin/pes",
            with(new_pe("x1"), "username", json!("on ramp")),
            "username",
        ),
        (
            "POST",
            "/v1/admin/pes",
            with(new_pe("x1"), "password", json!("")),
            "password",
        ),
        (
            "POST",
            "/v1/admin/pes",
            without(new_pe("x1"), "password"),
            "password",
        ),
        (
            "POST",
            "/v1/admin/pes",
            with(new_pe("x1"), "host_key_fingerprint", json!("SHA256:short")),
            "host_key_fingerprint",
        ),
        (
            "POST",
            "/v1/admin/pes",
            with(
                new_pe("x1"),
                "host_key_fingerprint",
                json!("MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48"),
            ),
            "host_key_fingerprint",
        ),
        (
            "POST",
            "/v1/admin/pes",
            with(new_pe("x1"), "platform", json!("junos-magic")),
            "platform",
        ),
        (
            "POST",
            "/v1/admin/pes",
            with(new_pe("x1"), "colour", json!("blue")),
            "colour",
        ),
        // PE update.
        ("PATCH", &pe1_url, json!({"name": "Bad Name"}), "name"),
        ("PATCH", &pe1_url, json!({"name": null}), "name"),
        ("PATCH", &pe1_url, json!({"host": "-bad-"}), "host"),
        (
            "PATCH",
            &pe1_url,
            json!({"netconf_port": -1}),
            "netconf_port",
        ),
        ("PATCH", &pe1_url, json!({"password": ""}), "password"),
        ("PATCH", &pe1_url, json!({"password": null}), "password"),
        (
            "PATCH",
            &pe1_url,
            json!({"host_key_fingerprint": "SHA256:"}),
            "host_key_fingerprint",
        ),
        ("PATCH", &pe1_url, json!({"platform": "nope"}), "platform"),
        (
            "PATCH",
            &pe1_url,
            json!({"lease_holder": "me"}),
            "lease_holder",
        ),
        (
            "PATCH",
            &pe1_url,
            json!({"has_password": false}),
            "has_password",
        ),
        // Port create and update.
        (
            "POST",
            &ports_url,
            json!({"name": "", "vlan_min": 1, "vlan_max": 10}),
            "name",
        ),
        (
            "POST",
            &ports_url,
            json!({"name": "ge 0/0/2", "vlan_min": 1, "vlan_max": 10}),
            "name",
        ),
        (
            "POST",
            &ports_url,
            json!({"name": "ge-0/0/2", "vlan_min": 0, "vlan_max": 10}),
            "vlan_min",
        ),
        (
            "POST",
            &ports_url,
            json!({"name": "ge-0/0/2", "vlan_min": 1, "vlan_max": 4095}),
            "vlan_max",
        ),
        (
            "POST",
            &ports_url,
            json!({"name": "ge-0/0/2", "vlan_min": 300, "vlan_max": 200}),
            "vlan_max",
        ),
        (
            "POST",
            &ports_url,
            json!({"name": "ge-0/0/2", "vlan_min": 1}),
            "vlan_max",
        ),
        (
            "POST",
            &ports_url,
            json!({"name": "ge-0/0/2", "vlan_min": "one", "vlan_max": 10}),
            "vlan_min",
        ),
        (
            "POST",
            &ports_url,
            json!({"name": "ge-0/0/2", "vlan_min": 1, "vlan_max": 10, "pe_id": unknown}),
            "pe_id",
        ),
        ("PATCH", &port_url, json!({"vlan_min": 4000}), "vlan_max"),
        ("PATCH", &port_url, json!({"vlan_max": 99}), "vlan_max"),
        ("PATCH", &port_url, json!({"vlan_max": 5000}), "vlan_max"),
        ("PATCH", &port_url, json!({"name": ""}), "name"),
        ("PATCH", &port_url, json!({"speed": "10G"}), "speed"),
        // NNI create.
        (
            "POST",
            "/v1/admin/nnis",
            with(good_nni("aws"), "csp", json!("oracle")),
            "csp",
        ),
        (
            "POST",
            "/v1/admin/nnis",
            with(good_nni("aws"), "location_code", json!("Eq SE2")),
            "location_code",
        ),
        (
            "POST",
            "/v1/admin/nnis",
            with(good_nni("aws"), "location_code", json!("")),
            "location_code",
        ),
        (
            "POST",
            "/v1/admin/nnis",
            with(good_nni("aws"), "name", json!("  ")),
            "name",
        ),
        (
            "POST",
            "/v1/admin/nnis",
            with(good_nni("aws"), "region", json!("Oregon")),
            "region",
        ),
        (
            "POST",
            "/v1/admin/nnis",
            with(good_nni("gcp"), "region", json!("us-west")),
            "region",
        ),
        (
            "POST",
            "/v1/admin/nnis",
            with(good_nni("azure"), "region", json!("west-us-2")),
            "region",
        ),
        (
            "POST",
            "/v1/admin/nnis",
            with(good_nni("aws"), "csp_ref", json!("ffabc123")),
            "csp_ref",
        ),
        (
            "POST",
            "/v1/admin/nnis",
            with(good_nni("gcp"), "csp_ref", json!("Onramp_1")),
            "csp_ref",
        ),
        (
            "POST",
            "/v1/admin/nnis",
            with(good_nni("aws"), "port_id", json!(unknown)),
            "port_id",
        ),
        (
            "POST",
            "/v1/admin/nnis",
            with(good_nni("aws"), "port_id", json!("port-1")),
            "port_id",
        ),
        (
            "POST",
            "/v1/admin/nnis",
            without(good_nni("aws"), "port_id"),
            "port_id",
        ),
        (
            "POST",
            "/v1/admin/nnis",
            with(good_nni("aws"), "linknet_pool_id", json!(unknown)),
            "linknet_pool_id",
        ),
        (
            "POST",
            "/v1/admin/nnis",
            with(good_nni("aws"), "csp_asn", json!(0)),
            "csp_asn",
        ),
        (
            "POST",
            "/v1/admin/nnis",
            with(good_nni("aws"), "csp_asn", json!(4294967295u64)),
            "csp_asn",
        ),
        (
            "POST",
            "/v1/admin/nnis",
            with(good_nni("aws"), "csp_asn", json!(23456)),
            "csp_asn",
        ),
        (
            "POST",
            "/v1/admin/nnis",
            with(good_nni("aws"), "capacity_mbps", json!(0)),
            "capacity_mbps",
        ),
        (
            "POST",
            "/v1/admin/nnis",
            with(good_nni("aws"), "capacity_mbps", json!(-10)),
            "capacity_mbps",
        ),
        (
            "POST",
            "/v1/admin/nnis",
            with(good_nni("aws"), "attributes", json!([1])),
            "attributes",
        ),
        (
            "POST",
            "/v1/admin/nnis",
            nni_attrs("aws", json!({"edge_availability_domain": 1})),
            "attributes.edge_availability_domain",
        ),
        (
            "POST",
            "/v1/admin/nnis",
            nni_attrs("gcp", json!({})),
            "attributes.edge_availability_domain",
        ),
        (
            "POST",
            "/v1/admin/nnis",
            nni_attrs("gcp", json!({"edge_availability_domain": 3})),
            "attributes.edge_availability_domain",
        ),
        (
            "POST",
            "/v1/admin/nnis",
            nni_attrs("gcp", json!({"edge_availability_domain": "1"})),
            "attributes.edge_availability_domain",
        ),
        (
            "POST",
            "/v1/admin/nnis",
            nni_attrs(
                "gcp",
                json!({"edge_availability_domain": 1, "region": "us-west1"}),
            ),
            "attributes.region",
        ),
        (
            "POST",
            "/v1/admin/nnis",
            nni_attrs("azure", json!({"secondary_port_id": unknown})),
            "attributes.secondary_port_id",
        ),
        (
            "POST",
            "/v1/admin/nnis",
            nni_attrs("azure", json!({"secondary_port_id": "not-a-uuid"})),
            "attributes.secondary_port_id",
        ),
        (
            "POST",
            "/v1/admin/nnis",
            nni_attrs("azure", json!({"secondary_port_id": port["id"]})),
            "attributes.secondary_port_id",
        ),
        (
            "POST",
            "/v1/admin/nnis",
            nni_attrs("azure", json!({"secondary_port_id": pe1_port2["id"]})),
            "attributes.secondary_port_id",
        ),
        // NNI update.
        (
            "PATCH",
            &nni_url,
            json!({"capacity_mbps": 0}),
            "capacity_mbps",
        ),
        (
            "PATCH",
            &nni_url,
            json!({"csp": "gcp"}),
            "attributes.edge_availability_domain",
        ),
        ("PATCH", &nni_url, json!({"attributes": null}), "attributes"),
        ("PATCH", &nni_url, json!({"port_id": unknown}), "port_id"),
        ("PATCH", &nni_url, json!({"tenant": "x"}), "tenant"),
        // Link-net pools.
        (
            "POST",
            "/v1/admin/pools/linknet",
            json!({"name": "lan", "cidr": "10.0.0.0/24"}),
            "cidr",
        ),
        (
            "POST",
            "/v1/admin/pools/linknet",
            json!({"name": "big", "cidr": "169.0.0.0/8"}),
            "cidr",
        ),
        (
            "POST",
            "/v1/admin/pools/linknet",
            json!({"name": "hostbits", "cidr": "169.254.1.1/24"}),
            "cidr",
        ),
        (
            "POST",
            "/v1/admin/pools/linknet",
            json!({"name": "tiny", "cidr": "169.254.1.0/30"}),
            "cidr",
        ),
        (
            "POST",
            "/v1/admin/pools/linknet",
            json!({"name": "junk", "cidr": "nope"}),
            "cidr",
        ),
        (
            "POST",
            "/v1/admin/pools/linknet",
            json!({"name": "Bad_Name", "cidr": "169.254.1.0/24"}),
            "name",
        ),
        (
            "POST",
            "/v1/admin/pools/linknet",
            json!({"name": "nocidr"}),
            "cidr",
        ),
        (
            "PATCH",
            &pool_url,
            json!({"cidr": "169.254.0.0/31"}),
            "cidr",
        ),
        // ASN pools.
        (
            "POST",
            "/v1/admin/pools/asn",
            json!({"name": "public", "first": 100, "last": 200}),
            "first",
        ),
        (
            "POST",
            "/v1/admin/pools/asn",
            json!({"name": "public", "first": 100, "last": 200}),
            "last",
        ),
        (
            "POST",
            "/v1/admin/pools/asn",
            json!({"name": "x", "first": 64512, "last": 70000}),
            "last",
        ),
        (
            "POST",
            "/v1/admin/pools/asn",
            json!({"name": "x", "first": 4294967295u64, "last": 4294967295u64}),
            "first",
        ),
        (
            "POST",
            "/v1/admin/pools/asn",
            json!({"name": "x", "first": 65000, "last": 64600}),
            "last",
        ),
        (
            "POST",
            "/v1/admin/pools/asn",
            json!({"name": "x", "first": 65000, "last": 4200000000u64}),
            "last",
        ),
        (
            "POST",
            "/v1/admin/pools/asn",
            json!({"name": "", "first": 64600, "last": 64601}),
            "name",
        ),
        ("PATCH", &asn_url, json!({"first": 65535}), "first"),
        // Route-target pools.
        (
            "POST",
            "/v1/admin/pools/route-target",
            json!({"name": "x", "admin_asn": 0, "first": 1, "last": 2}),
            "admin_asn",
        ),
        (
            "POST",
            "/v1/admin/pools/route-target",
            json!({"name": "x", "admin_asn": 4294967295u64, "first": 1, "last": 2}),
            "admin_asn",
        ),
        (
            "POST",
            "/v1/admin/pools/route-target",
            json!({"name": "x", "admin_asn": 65001, "first": 5, "last": 2}),
            "last",
        ),
        (
            "POST",
            "/v1/admin/pools/route-target",
            json!({"name": "x", "admin_asn": 65001, "first": -1, "last": 2}),
            "first",
        ),
        (
            "POST",
            "/v1/admin/pools/route-target",
            json!({"name": "x", "admin_asn": 4200000000u64, "first": 1, "last": 70000}),
            "last",
        ),
        (
            "POST",
            "/v1/admin/pools/route-target",
            json!({"name": "x", "admin_asn": 65001, "first": 1}),
            "last",
        ),
        ("PATCH", &rt_url, json!({"admin_asn": "65000"}), "admin_asn"),
    ];
    for (method, path, body, field) in &cases {
        let ctx = format!("{method} {path} {body}");
        let r = app.admin(method, path, Some(body.clone())).await?;
        assert_problem(&r, 422, "validation_failed", Some(field), &ctx);
        let e = r.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["field"] == *field)
            .unwrap();
        assert!(
            e["code"].as_str().is_some_and(|c| !c.is_empty())
                && e["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{ctx}: {e:#}"
        );
    }
    // Several faults at once are all named.
    let r = app
        .post(
            "/v1/admin/pes",
            json!({"name": "Bad", "host": "", "netconf_port": 0, "username": "u",
                   "password": format!("{SENTINEL}-x"), "platform": "nope"}),
        )
        .await?;
    for f in ["name", "host", "netconf_port", "platform"] {
        assert_problem(&r, 422, "validation_failed", Some(f), "four faults");
    }

    // Not JSON, not an object, bad ids.
    let bad_bodies = [
        ("application/json", "{\"name\": ", 400, "malformed_json"),
        ("text/plain", "{}", 415, "unsupported_media_type"),
        ("application/json", "[1]", 422, "validation_failed"),
    ];
    for (ct, text, status, code) in bad_bodies {
        for (method, path) in [("POST", "/v1/admin/pes"), ("PATCH", pe1_url.as_str())] {
            let r = app
                .send(method, path, Some(&app.admin), Some((ct, text)))
                .await?;
            assert_problem(
                &r,
                status,
                code,
                None,
                &format!("{method} {path} {ct} {text}"),
            );
        }
    }
    for path in [
        format!("/v1/admin/pes/{unknown}"),
        "/v1/admin/pes/not-a-uuid".into(),
        format!("/v1/admin/pes/{unknown}/ports"),
        format!("/v1/admin/ports/{unknown}"),
        format!("/v1/admin/nnis/{unknown}"),
        format!("/v1/admin/pools/linknet/{unknown}"),
        format!("/v1/admin/pools/asn/{unknown}"),
        format!("/v1/admin/pools/route-target/{unknown}"),
    ] {
        let r = app.get(&path).await?;
        assert_problem(&r, 404, "not_found", None, &path);
        if !path.ends_with("/ports") {
            let r = app.patch(&path, json!({})).await?;
            assert_problem(&r, 404, "not_found", None, &format!("PATCH {path}"));
            let r = app.delete(&path).await?;
            assert_problem(&r, 404, "not_found", None, &format!("DELETE {path}"));
        }
    }
    let r = app
        .post(
            &format!("/v1/admin/pes/{unknown}/ports"),
            json!({"name": "ge-0/0/2", "vlan_min": 1, "vlan_max": 10}),
        )
        .await?;
    assert_problem(&r, 404, "not_found", None, "port on unknown PE");

    assert_eq!(app.counts().await?, before, "refused writes change nothing");
    // And the refused PATCHes left the objects as they were.
    assert_eq!(app.get(&pe1_url).await?.body, pe1);
    assert_eq!(app.get(&port_url).await?.body, port);
    assert_eq!(app.get(&nni_url).await?.body, nni);
    assert_eq!(app.get(&pool_url).await?.body, pool);
    assert_eq!(app.get(&asn_url).await?.body, asn);
    assert_eq!(app.get(&rt_url).await?.body, rt);
    // An empty PATCH changes nothing and answers the object.
    let r = app.patch(&pe1_url, json!({})).await?;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, pe1);
    Ok(())
}

// ===== in use, duplicates =====

#[tokio::test(flavor = "multi_thread")]
async fn deleting_or_shrinking_what_is_in_use_is_refused_naming_the_users() -> Result<()> {
    let app = start(Db::Sqlite, Start::Seeded).await?;
    // Five connectors: VLANs 200, 3000 and three picked (100, 101, 102);
    // /31s 169.254.0.0-.9; ASNs 64513-64517.
    let mut ids = vec![app.order(Some(200)).await?, app.order(Some(3000)).await?];
    for _ in 0..3 {
        ids.push(app.order(None).await?);
    }
    let (c200, c3000, c_last) = (ids[0].as_str(), ids[1].as_str(), ids[4].as_str());
    let before = app.counts().await?;

    let pe1 = app.find("/v1/admin/pes", "name", "pe1").await?;
    let pe1_url = pe1["links"]["self"].as_str().unwrap().to_string();
    let ports_url = pe1["links"]["ports"].as_str().unwrap().to_string();
    let port = app.find(&ports_url, "name", "ge-0/0/1").await?;
    assert_eq!(port["vlans_allocated"], 5);
    let port_url = port["links"]["self"].as_str().unwrap().to_string();
    let nni = app.find("/v1/admin/nnis", "location_code", "EqDC2").await?;
    let nni_url = nni["links"]["self"].as_str().unwrap().to_string();
    let pool = app
        .find("/v1/admin/pools/linknet", "name", "aws-linknets")
        .await?;
    assert_eq!(pool["allocated_31"], 5);
    let pool_url = pool["links"]["self"].as_str().unwrap().to_string();
    let asn = app
        .find("/v1/admin/pools/asn", "name", "private-2byte")
        .await?;
    assert_eq!(asn["allocated"], 5);
    let asn_url = asn["links"]["self"].as_str().unwrap().to_string();
    let rt = app
        .find("/v1/admin/pools/route-target", "name", "default")
        .await?;
    assert_eq!(rt["allocated"], 2, "Acme's and the operator's VRFs");
    let rt_url = rt["links"]["self"].as_str().unwrap().to_string();

    // Deletes.
    let r = app.delete(&port_url).await?;
    assert_problem(&r, 409, "in_use", None, "delete port");
    assert_mentions(
        &r,
        &[
            "port ge-0/0/1 on pe1",
            "5 allocated VLANs",
            "VLAN 200",
            c200,
            "VLAN 3000",
            c3000,
            "NNI EqDC2",
            "Acme",
        ],
        "delete port",
    );
    let r = app.delete(&pe1_url).await?;
    assert_problem(&r, 409, "in_use", None, "delete PE");
    assert_mentions(
        &r,
        &["PE pe1", "ge-0/0/1", "NNI EqDC2", "5 allocated VLANs"],
        "delete PE",
    );
    let r = app.delete(&nni_url).await?;
    assert_problem(&r, 409, "in_use", None, "delete NNI");
    assert_mentions(
        &r,
        &["NNI EqDC2", "5 live connectors", c200, c3000],
        "delete NNI",
    );
    let r = app.delete(&pool_url).await?;
    assert_problem(&r, 409, "in_use", None, "delete link-net pool");
    assert_mentions(
        &r,
        &[
            "aws-linknets",
            "169.254.0.0/31",
            "169.254.0.8/31",
            c200,
            c_last,
            "NNI EqDC2",
        ],
        "delete link-net pool",
    );
    let r = app.delete(&asn_url).await?;
    assert_problem(&r, 409, "in_use", None, "delete ASN pool");
    assert_mentions(
        &r,
        &["private-2byte", "ASN 64513", "ASN 64517", c200],
        "delete ASN pool",
    );
    let r = app.delete(&rt_url).await?;
    assert_problem(&r, 409, "in_use", None, "delete RT pool");
    assert_mentions(
        &r,
        &["65000:1000", "65000:1001", "tenant Acme", "tenant operator"],
        "delete RT pool",
    );

    // Shrinks.
    let r = app.patch(&port_url, json!({"vlan_min": 300})).await?;
    assert_problem(&r, 409, "in_use", Some("vlan_min"), "port vlan_min");
    assert_mentions(&r, &["VLAN 100", "VLAN 200", c200], "port vlan_min");
    assert!(!r.detail().contains("VLAN 3000"), "{}", r.detail());
    let r = app.patch(&port_url, json!({"vlan_max": 2999})).await?;
    assert_problem(&r, 409, "in_use", Some("vlan_max"), "port vlan_max");
    assert_mentions(&r, &["VLAN 3000", c3000], "port vlan_max");
    let r = app
        .patch(&port_url, json!({"vlan_min": 150, "vlan_max": 2000}))
        .await?;
    assert_problem(&r, 409, "in_use", Some("vlan_min"), "port both ends");
    assert_problem(&r, 409, "in_use", Some("vlan_max"), "port both ends");
    let r = app.patch(&asn_url, json!({"first": 64600})).await?;
    assert_problem(&r, 409, "in_use", Some("first"), "ASN first");
    assert_mentions(&r, &["ASN 64513", c200, "5 allocated ASNs"], "ASN first");
    let r = app.patch(&asn_url, json!({"last": 64515})).await?;
    assert_problem(&r, 409, "in_use", Some("last"), "ASN last");
    assert_mentions(&r, &["ASN 64516", "ASN 64517", c_last], "ASN last");
    assert!(!r.detail().contains("ASN 64515"), "{}", r.detail());
    let r = app.patch(&rt_url, json!({"first": 1001})).await?;
    assert_problem(&r, 409, "in_use", Some("first"), "RT first");
    assert_mentions(&r, &["65000:1000"], "RT first");
    let r = app.patch(&rt_url, json!({"admin_asn": 65001})).await?;
    assert_problem(&r, 409, "in_use", Some("admin_asn"), "RT admin");
    let r = app
        .patch(&pool_url, json!({"cidr": "169.254.1.0/24"}))
        .await?;
    assert_problem(&r, 409, "in_use", Some("cidr"), "move link-net pool");
    assert_mentions(&r, &["169.254.0.0/31", c200], "move link-net pool");
    let r = app
        .patch(&pool_url, json!({"cidr": "169.254.0.0/29"}))
        .await?;
    assert_problem(&r, 409, "in_use", Some("cidr"), "shrink link-net pool");
    assert_mentions(&r, &["169.254.0.8/31", c_last], "shrink link-net pool");
    assert!(!r.detail().contains("169.254.0.0/31"), "{}", r.detail());

    // A live NNI keeps its port, pool, CSP and peer ASN, and its capacity.
    let other_port = app
        .create(
            &ports_url,
            json!({"name": "ge-0/0/2", "vlan_min": 100, "vlan_max": 200}),
        )
        .await?;
    let r = app
        .patch(&nni_url, json!({"port_id": other_port["id"]}))
        .await?;
    assert_problem(&r, 409, "in_use", Some("port_id"), "move NNI");
    assert_mentions(&r, &[c200, c3000], "move NNI");
    let r = app.patch(&nni_url, json!({"csp_asn": 7224})).await?;
    assert_problem(&r, 409, "in_use", Some("csp_asn"), "NNI peer ASN");
    let r = app.patch(&nni_url, json!({"capacity_mbps": 500})).await?;
    assert_problem(&r, 409, "in_use", Some("capacity_mbps"), "NNI capacity");
    assert_mentions(&r, &["1Gbps", c200], "NNI capacity");

    // Duplicates: 409 conflict naming the field.
    let dup_cases: Vec<(&str, String, Value, &str)> = vec![
        ("POST", "/v1/admin/pes".into(), new_pe("pe1"), "name"),
        (
            "POST",
            ports_url.clone(),
            json!({"name": "ge-0/0/1", "vlan_min": 1, "vlan_max": 2}),
            "name",
        ),
        (
            "PATCH",
            other_port["links"]["self"].as_str().unwrap().into(),
            json!({"name": "ge-0/0/1"}),
            "name",
        ),
        (
            "POST",
            "/v1/admin/nnis".into(),
            json!({"csp": "aws", "location_code": "EqSE2", "name": "again",
            "region": "us-east-1", "csp_ref": "dxcon-onramp01", "port_id": other_port["id"],
            "linknet_pool_id": pool["id"], "csp_asn": 64512, "capacity_mbps": 1000}),
            "csp_ref",
        ),
        (
            "POST",
            "/v1/admin/pools/linknet".into(),
            json!({"name": "aws-linknets", "cidr": "169.254.9.0/24"}),
            "name",
        ),
        (
            "POST",
            "/v1/admin/pools/linknet".into(),
            json!({"name": "overlap", "cidr": "169.254.0.128/25"}),
            "cidr",
        ),
        (
            "POST",
            "/v1/admin/pools/linknet".into(),
            json!({"name": "wide", "cidr": "169.254.0.0/16"}),
            "cidr",
        ),
        (
            "POST",
            "/v1/admin/pools/asn".into(),
            json!({"name": "private-2byte", "first": 4200000000u64, "last": 4200000001u64}),
            "name",
        ),
        (
            "POST",
            "/v1/admin/pools/asn".into(),
            json!({"name": "overlap", "first": 64600, "last": 64700}),
            "first",
        ),
        (
            "POST",
            "/v1/admin/pools/route-target".into(),
            json!({"name": "default", "admin_asn": 65001, "first": 1, "last": 2}),
            "name",
        ),
        (
            "POST",
            "/v1/admin/pools/route-target".into(),
            json!({"name": "overlap", "admin_asn": 65000, "first": 1, "last": 1000}),
            "first",
        ),
    ];
    for (method, path, body, field) in &dup_cases {
        let ctx = format!("{method} {path} {body}");
        let r = app.admin(method, path, Some(body.clone())).await?;
        assert_problem(&r, 409, "conflict", Some(field), &ctx);
    }
    // A second PE renamed onto pe1.
    let pe2 = app.create("/v1/admin/pes", new_pe("pe2")).await?;
    let r = app
        .patch(
            pe2["links"]["self"].as_str().unwrap(),
            json!({"name": "pe1"}),
        )
        .await?;
    assert_problem(&r, 409, "conflict", Some("name"), "rename onto pe1");
    assert_mentions(&r, &["pe1"], "rename onto pe1");

    // Nothing moved: the only new rows are ge-0/0/2 and pe2.
    let mut expected = before;
    expected[0] += 1;
    expected[1] += 1;
    assert_eq!(app.counts().await?, expected);
    assert_eq!(app.get(&port_url).await?.body, port);
    assert_eq!(app.get(&nni_url).await?.body, nni);
    assert_eq!(app.get(&pool_url).await?.body, pool);
    assert_eq!(app.get(&asn_url).await?.body, asn);

    // What stays inside the allocations is allowed.
    let r = app
        .patch(&port_url, json!({"vlan_min": 100, "vlan_max": 3000}))
        .await?;
    assert_eq!(r.status, 200, "{:#}", r.body);
    let r = app
        .patch(&pool_url, json!({"cidr": "169.254.0.0/28"}))
        .await?;
    assert_eq!(r.status, 200, "{:#}", r.body);
    let r = app
        .patch(&asn_url, json!({"first": 64513, "last": 64517}))
        .await?;
    assert_eq!(r.status, 200, "{:#}", r.body);
    let r = app
        .patch(&nni_url, json!({"capacity_mbps": 1000, "name": "DC2"}))
        .await?;
    assert_eq!(r.status, 200, "{:#}", r.body);

    // A finished connector holds nothing, but its history still names the NNI.
    connector::Entity::update_many()
        .col_expr(connector::Column::State, Expr::value("deleted"))
        .filter(connector::Column::Id.eq(uuid::Uuid::parse_str(c200)?))
        .exec(&app.db)
        .await?;
    let r = app.delete(&nni_url).await?;
    assert_problem(&r, 409, "in_use", None, "delete NNI with history");
    assert_mentions(
        &r,
        &[
            "4 live connectors",
            "1 finished connector kept for their history",
            c200,
        ],
        "delete NNI with history",
    );
    Ok(())
}

// ===== roles =====

#[tokio::test(flavor = "multi_thread")]
async fn only_admin_keys_change_the_inventory_and_ops_read_pes() -> Result<()> {
    let app = start(Db::Sqlite, Start::Seeded).await?;
    let ops = onramp_store::auth::generate_key();
    let acme = onramp_store::entity::tenant::Entity::find()
        .all(&app.db)
        .await?
        .into_iter()
        .find(|t| t.name == "Acme")
        .unwrap();
    onramp_store::auth::add_key(&app.db, acme.id, "ops", &ops, onramp_store::auth::ROLE_OPS)
        .await?;
    let id = "00000000-0000-4000-8000-000000000000";
    // What ops engineers may also do: read the PEs, and a PE's maintenance.
    let ops_too = [
        ("GET", "/v1/admin/pes".to_string()),
        ("GET", format!("/v1/admin/pes/{id}")),
        ("GET", format!("/v1/admin/pes/{id}/maintenance")),
        ("GET", format!("/v1/admin/pes/{id}/changes")),
        ("GET", format!("/v1/admin/pes/{id}/commits")),
        ("PUT", format!("/v1/admin/pes/{id}/maintenance")),
        ("DELETE", format!("/v1/admin/pes/{id}/maintenance")),
    ];
    let endpoints = [
        ("POST", "/v1/admin/pes".to_string()),
        ("PATCH", format!("/v1/admin/pes/{id}")),
        ("DELETE", format!("/v1/admin/pes/{id}")),
        ("POST", format!("/v1/admin/pes/{id}/check")),
        ("GET", format!("/v1/admin/pes/{id}/ports")),
        ("POST", format!("/v1/admin/pes/{id}/ports")),
        ("GET", format!("/v1/admin/ports/{id}")),
        ("PATCH", format!("/v1/admin/ports/{id}")),
        ("DELETE", format!("/v1/admin/ports/{id}")),
        ("GET", "/v1/admin/nnis".into()),
        ("POST", "/v1/admin/nnis".into()),
        ("GET", format!("/v1/admin/nnis/{id}")),
        ("PATCH", format!("/v1/admin/nnis/{id}")),
        ("DELETE", format!("/v1/admin/nnis/{id}")),
        ("GET", "/v1/admin/pools/linknet".into()),
        ("POST", "/v1/admin/pools/linknet".into()),
        ("GET", format!("/v1/admin/pools/linknet/{id}")),
        ("PATCH", format!("/v1/admin/pools/linknet/{id}")),
        ("DELETE", format!("/v1/admin/pools/linknet/{id}")),
        ("GET", "/v1/admin/pools/asn".into()),
        ("POST", "/v1/admin/pools/asn".into()),
        ("GET", format!("/v1/admin/pools/asn/{id}")),
        ("PATCH", format!("/v1/admin/pools/asn/{id}")),
        ("DELETE", format!("/v1/admin/pools/asn/{id}")),
        ("GET", "/v1/admin/pools/route-target".into()),
        ("POST", "/v1/admin/pools/route-target".into()),
        ("GET", format!("/v1/admin/pools/route-target/{id}")),
        ("PATCH", format!("/v1/admin/pools/route-target/{id}")),
        ("DELETE", format!("/v1/admin/pools/route-target/{id}")),
    ];
    let before = app.counts().await?;
    let body = Some(("application/json", "{\"name\": \"sneaky\"}"));
    for (method, path) in &endpoints {
        let ctx = format!("{method} {path}");
        for key in [&app.customer, &ops] {
            let r = app.send(method, path, Some(key), body).await?;
            assert_problem(&r, 403, "forbidden", None, &ctx);
            assert!(r.detail().contains("admin"), "{ctx}: {}", r.detail());
        }
        let r = app.send(method, path, None, body).await?;
        assert_problem(&r, 401, "unauthorized", None, &ctx);
        let r = app.send(method, path, Some("onr_not_a_key"), body).await?;
        assert_problem(&r, 401, "unauthorized", None, &ctx);
    }
    for (method, path) in &ops_too {
        let ctx = format!("{method} {path}");
        let r = app.send(method, path, Some(&app.customer), body).await?;
        assert_problem(&r, 403, "forbidden", None, &ctx);
        assert!(
            r.detail().contains("`ops` or `admin`"),
            "{ctx}: {}",
            r.detail()
        );
        let r = app.send(method, path, Some(&ops), body).await?;
        assert!(![401, 403].contains(&r.status), "{ctx}: {:#}", r.body);
        let r = app.send(method, path, None, body).await?;
        assert_problem(&r, 401, "unauthorized", None, &ctx);
    }
    assert_eq!(app.counts().await?, before);
    // The admin key itself works on all of them (no 401/403).
    for (method, path) in &endpoints {
        let r = app.send(method, path, Some(&app.admin), body).await?;
        assert!(
            ![401, 403].contains(&r.status),
            "{method} {path}: {:#}",
            r.body
        );
    }
    Ok(())
}

// ===== OpenAPI =====

#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_describes_the_admin_api() -> Result<()> {
    let app = start(Db::Sqlite, Start::Empty).await?;
    let doc = app.send("GET", "/openapi.json", None, None).await?.body;
    let expect = [
        ("/v1/admin/pes", &["get", "post"][..]),
        ("/v1/admin/pes/{id}", &["get", "patch", "delete"]),
        ("/v1/admin/pes/{id}/check", &["post"]),
        ("/v1/admin/pes/{id}/ports", &["get", "post"]),
        ("/v1/admin/ports/{id}", &["get", "patch", "delete"]),
        ("/v1/admin/nnis", &["get", "post"]),
        ("/v1/admin/nnis/{id}", &["get", "patch", "delete"]),
        ("/v1/admin/pools/linknet", &["get", "post"]),
        ("/v1/admin/pools/linknet/{id}", &["get", "patch", "delete"]),
        ("/v1/admin/pools/asn", &["get", "post"]),
        ("/v1/admin/pools/asn/{id}", &["get", "patch", "delete"]),
        ("/v1/admin/pools/route-target", &["get", "post"]),
        (
            "/v1/admin/pools/route-target/{id}",
            &["get", "patch", "delete"],
        ),
    ];
    for (path, methods) in expect {
        for m in methods {
            let op = &doc["paths"][path][m];
            assert!(op.is_object(), "{m} {path} missing");
            assert_eq!(op["tags"], json!(["admin"]), "{m} {path}");
            assert!(
                op["responses"]["403"].is_object(),
                "{m} {path} documents 403"
            );
        }
    }
    assert!(doc["paths"]["/v1/admin/pes/{id}/check"]["post"]["responses"]["502"].is_object());
    assert!(
        doc["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "admin")
    );
    let pe = &doc["components"]["schemas"]["Pe"]["properties"];
    assert!(pe["has_password"].is_object());
    assert!(pe["password"].is_null(), "the PE view has no password");
    assert_eq!(
        doc["components"]["schemas"]["NewPe"]["properties"]["password"]["writeOnly"],
        true
    );
    Ok(())
}

// ===== NETCONF check against real PEs =====

#[tokio::test(flavor = "multi_thread")]
async fn the_check_verifies_host_keys_against_real_pes() -> Result<()> {
    use onramp_devstack::pe::{PeLab, PeLabConfig};
    let app = start(Db::Sqlite, Start::Empty).await?;
    let work = tempfile::tempdir()?;
    let yang = onramp_router_templates::default_templates_root()
        .join("reference-pe")
        .join("yang");
    let lab = PeLab::start(PeLabConfig::new(&["pe1", "pe2"], yang, work.path()))?;
    let ep1 = lab.endpoint("pe1").unwrap().clone();
    let ep2 = lab.endpoint("pe2").unwrap().clone();
    assert_ne!(ep1.host_key_fingerprint, ep2.host_key_fingerprint);

    // PE1's address and login, but PE2's host key pinned.
    let pe = app
        .create(
            "/v1/admin/pes",
            json!({"name": "lab-pe1", "host": ep1.host, "netconf_port": ep1.port,
                   "username": ep1.username, "password": ep1.password,
                   "host_key_fingerprint": ep2.host_key_fingerprint, "platform": "reference-pe"}),
        )
        .await?;
    let pe_url = pe["links"]["self"].as_str().unwrap().to_string();
    let check_url = pe["links"]["check"].as_str().unwrap().to_string();
    let r = app.admin("POST", &check_url, None).await?;
    assert_problem(
        &r,
        502,
        "host_key_mismatch",
        Some("host_key_fingerprint"),
        "mismatch",
    );
    assert_mentions(
        &r,
        &[
            "lab-pe1",
            &ep1.host_key_fingerprint,
            &ep2.host_key_fingerprint,
        ],
        "mismatch",
    );
    assert_eq!(r.body["expected_fingerprint"], ep2.host_key_fingerprint);
    assert_eq!(r.body["presented_fingerprint"], ep1.host_key_fingerprint);

    // The right key: verified, logged in, running read.
    let r = app
        .patch(
            &pe_url,
            json!({"host_key_fingerprint": ep1.host_key_fingerprint}),
        )
        .await?;
    assert_eq!(r.status, 200, "{:#}", r.body);
    let r = app.admin("POST", &check_url, None).await?;
    assert_eq!(r.status, 200, "{:#}", r.body);
    assert_eq!(r.body["ok"], true, "{:#}", r.body);
    assert_eq!(r.body["reachable"], true);
    assert_eq!(r.body["host_key"], "verified");
    assert_eq!(r.body["error"], Value::Null);

    // No key pinned: refused, and the presented key is reported for pinning.
    app.patch(&pe_url, json!({"host_key_fingerprint": null}))
        .await?;
    let r = app.admin("POST", &check_url, None).await?;
    assert_eq!(r.status, 200, "{:#}", r.body);
    assert_eq!(r.body["ok"], false);
    assert_eq!(r.body["host_key"], "not_pinned");
    assert_eq!(r.body["presented_fingerprint"], ep1.host_key_fingerprint);

    // Right key, wrong password: the key is verified, the login fails.
    app.patch(
        &pe_url,
        json!({"host_key_fingerprint": ep1.host_key_fingerprint,
               "password": format!("{SENTINEL}-wrong")}),
    )
    .await?;
    let r = app.admin("POST", &check_url, None).await?;
    assert_eq!(r.status, 200, "{:#}", r.body);
    assert_eq!(r.body["ok"], false);
    assert_eq!(r.body["reachable"], true);
    assert_eq!(r.body["host_key"], "verified");
    assert!(
        r.body["error"]
            .as_str()
            .is_some_and(|e| e.contains("authentication")),
        "{:#}",
        r.body
    );

    // Nothing listening.
    app.patch(
        &pe_url,
        json!({"netconf_port": onramp_devstack::free_port(), "password": ep1.password}),
    )
    .await?;
    let r = app.admin("POST", &check_url, None).await?;
    assert_eq!(r.status, 200, "{:#}", r.body);
    assert_eq!(r.body["ok"], false);
    assert_eq!(r.body["reachable"], false);
    assert_eq!(r.body["host_key"], "unknown");
    assert!(r.body["error"].as_str().is_some_and(|e| !e.is_empty()));
    Ok(())
}
