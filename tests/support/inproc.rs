//! The API alone, in-process on a free port, over SQLite or PostgreSQL:
//! for contract tests that need no workers.

use anyhow::Result;
use onramp_store::seed::{Seed, SeedDx, SeedPe};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::Value;

pub(crate) struct Api {
    pub base: String,
    pub key: String,
    pub db: onramp_store::DatabaseConnection,
    pub http: reqwest::Client,
    /// The secret key the API seals with (workers run in-process need it).
    pub secrets: onramp_store::secrets::SecretBox,
    _dir: tempfile::TempDir,
    _pg: Option<onramp_devstack::postgres::PostgresServer>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

pub(crate) async fn start(postgres: bool) -> Result<Api> {
    start_with(postgres, (100, 3999)).await
}

/// An API on a free port over a fresh SQLite file or PostgreSQL database,
/// seeded with one PE port (VLANs `vlans`) and the AWS location EqDC2.
pub(crate) async fn start_with(postgres: bool, vlans: (u16, u16)) -> Result<Api> {
    start_configured(postgres, vlans, |state| state).await
}

/// As [`start_with`], with the API's state adjusted by `configure`.
pub(crate) async fn start_configured(
    postgres: bool,
    vlans: (u16, u16),
    configure: impl FnOnce(onramp_api::AppState) -> onramp_api::AppState,
) -> Result<Api> {
    let dir = tempfile::tempdir()?;
    let (pg, url) = if postgres {
        let pg = onramp_devstack::postgres::PostgresServer::start(&dir.path().join("pg"))?;
        let url = pg.create_database("contract")?;
        (Some(pg), url)
    } else {
        (
            None,
            format!("sqlite://{}?mode=rwc", dir.path().join("c.db").display()),
        )
    };
    let db = onramp_store::connect_and_migrate(&url).await?;
    let key = onramp_store::auth::generate_key();
    let secrets = onramp_store::secrets::SecretBox::from_base64_key(
        &onramp_store::secrets::SecretBox::generate_base64_key(),
    )?;
    let seal_box = secrets.clone();
    onramp_store::seed::seed(
        &db,
        &Seed {
            // Nothing is pushed in these tests, so the PE needs no server.
            pes: vec![SeedPe {
                name: "pe1".into(),
                host: "127.0.0.1".into(),
                port: 830,
                username: "x".into(),
                password: "x".into(),
                host_key_fingerprint: None,
                platform: "reference-pe".into(),
                port_name: "ge-0/0/1".into(),
                vlan_range: vlans,
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
            linknet_cidr: "169.254.0.0/16".into(),
            tenant_name: "Acme".into(),
            api_key: key.clone(),
        },
        &seal_box,
    )
    .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let state = configure(onramp_api::AppState::new(db.clone(), secrets.clone()));
    tokio::spawn(onramp_web::serve(listener, state, async {
        let _ = rx.await;
    }));
    Ok(Api {
        base,
        key,
        db,
        http: reqwest::Client::new(),
        secrets,
        _dir: dir,
        _pg: pg,
        _shutdown: tx,
    })
}

impl Api {
    pub(crate) async fn post_raw(
        &self,
        body: &str,
        content_type: &str,
    ) -> Result<(u16, String, Value)> {
        let r = self
            .http
            .post(format!("{}/v1/connectors", self.base))
            .bearer_auth(&self.key)
            .header("content-type", content_type)
            .body(body.to_string())
            .send()
            .await?;
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap_or("").to_string())
            .unwrap_or_default();
        Ok((status, ct, r.json().await.unwrap_or(Value::Null)))
    }

    pub(crate) async fn order(&self, body: Value) -> Result<(u16, String, Value)> {
        self.post_raw(&body.to_string(), "application/json").await
    }

    /// Rows that any accepted order would have written.
    pub(crate) async fn traces(&self) -> Result<(u64, u64, u64)> {
        use onramp_store::entity::{allocation, connector, outbox};
        Ok((
            connector::Entity::find().count(&self.db).await?,
            allocation::Entity::find()
                .filter(allocation::Column::ConnectorId.is_not_null())
                .count(&self.db)
                .await?,
            outbox::Entity::find().count(&self.db).await?,
        ))
    }
}

/// An answer: status, headers and the JSON body (`Null` when none).
#[allow(dead_code)]
pub(crate) struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

#[allow(dead_code)]
impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// The fields the problem's `errors` name.
    pub(crate) fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A browser's sign-in, for calls made as a signed-in person.
#[allow(dead_code)]
pub(crate) struct Session {
    /// `onramp_session=<token>`, for the `Cookie` header.
    pub cookie: String,
    /// The session's CSRF token (`X-CSRF-Token`, or a form's `csrf_token`).
    pub csrf: String,
}

#[allow(dead_code)]
impl Api {
    /// A user of `tenant_id` with `role`; their email and password.
    pub(crate) async fn user(&self, tenant_id: uuid::Uuid, role: &str) -> Result<(String, String)> {
        let email = format!("{role}-{}@example.test", uuid::Uuid::new_v4().simple());
        let password = format!("pw-{}", uuid::Uuid::new_v4().simple());
        onramp_store::users::create_user(
            &self.db,
            &onramp_store::users::NewUser {
                tenant_id,
                email: &email,
                name: role,
                role,
                password: &password,
            },
        )
        .await?;
        Ok((email, password))
    }

    /// Signs in through `POST /login` as a browser would.
    pub(crate) async fn sign_in(&self, email: &str, password: &str) -> Result<Session> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let r = http
            .post(format!("{}/login", self.base))
            .form(&[("email", email), ("password", password)])
            .send()
            .await?;
        anyhow::ensure!(r.status().as_u16() == 303, "sign-in: {}", r.status());
        let cookie = r
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .ok_or_else(|| anyhow::anyhow!("sign-in set no cookie"))?
            .to_string();
        let token = cookie.trim_start_matches("onramp_session=");
        let s = onramp_store::users::session(&self.db, token)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no session behind the cookie"))?;
        Ok(Session {
            cookie,
            csrf: s.csrf_token,
        })
    }
    /// Any request, with `key` as the bearer and `body` as JSON.
    pub(crate) async fn call(
        &self,
        method: &str,
        path: &str,
        key: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Result<Reply> {
        let method = reqwest::Method::from_bytes(method.as_bytes())?;
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let r = req.send().await?;
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await?;
        Ok(Reply {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        })
    }
}

#[allow(dead_code)]
impl Api {
    /// Another tenant with a key of `role`.
    pub(crate) async fn tenant_with_key(
        &self,
        name: &str,
        role: &str,
    ) -> Result<(uuid::Uuid, String)> {
        let t = onramp_store::seed::create_tenant(&self.db, name).await?;
        let key = onramp_store::auth::generate_key();
        onramp_store::auth::add_key(&self.db, t.id, "test", &key, role).await?;
        Ok((t.id, key))
    }

    /// Orders a hosted VIF as `key`'s tenant (its timeline starts with
    /// `ordered`); the connector id.
    pub(crate) async fn order_vif_as(&self, key: &str) -> Result<uuid::Uuid> {
        let r = self
            .http
            .post(format!("{}/v1/connectors", self.base))
            .bearer_auth(key)
            .json(
                &serde_json::json!({"kind": "aws-hosted-vif", "aws_account_id": "123456789012",
                                      "location": "EqDC2", "bandwidth": "50Mbps"}),
            )
            .send()
            .await?;
        let status = r.status().as_u16();
        let body: Value = r.json().await?;
        anyhow::ensure!(status == 202, "order: {status} {body:#}");
        Ok(body["id"].as_str().unwrap_or_default().parse()?)
    }

    /// One more timeline event of the connector, as a worker step would
    /// commit it (the machine state stays as it is); the event's id.
    pub(crate) async fn step(&self, id: uuid::Uuid, event: &str) -> Result<i64> {
        use onramp_store::connectors::{Transition, commit_transition};
        use onramp_store::entity::connector_event;
        use sea_orm::QueryOrder;
        let row = onramp_store::connectors::get(&self.db, id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("connector {id} exists"))?;
        let t = Transition {
            expected_step: row.step,
            state: row.state.clone(),
            machine_state: row.machine_state.clone(),
            waiting_on: "aws".into(),
            event: event.into(),
            from_state: Some(row.state.clone()),
            message: format!("test step {event}"),
            actor: "onramp".into(),
            ..Default::default()
        };
        anyhow::ensure!(
            commit_transition(&self.db, id, &t).await?,
            "step {event} committed"
        );
        let e = connector_event::Entity::find()
            .filter(connector_event::Column::ConnectorId.eq(id))
            .order_by_desc(connector_event::Column::Id)
            .one(&self.db)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the step's event"))?;
        Ok(e.id)
    }
}
