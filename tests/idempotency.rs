//! `Idempotency-Key` on POST, against the in-process API on SQLite and
//! PostgreSQL: concurrent and sequential retries create one connector and
//! get the first answer back, a reused key with another request is a 422,
//! tenants (and roles) never share keys, 4xx answers are replayed and 5xx
//! ones are not, malformed keys are refused, expired keys run as new, and a
//! retry waits for a first request still running.

mod support;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, ensure};
use onramp_store::entity::{connector, idempotency_key};
use onramp_store::idempotency::{self as idem, Scope};
use reqwest::header::HeaderValue;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use support::inproc::{Api, start, start_configured};

/// The API's idempotency wait in `retry_gives_up_after_waiting` (30 s in
/// production).
const WAIT: Duration = Duration::from_secs(2);
use uuid::Uuid;

const PATH: &str = "/v1/connectors";

fn order() -> Value {
    json!({"kind": "aws-hosted-vif", "aws_account_id": "123456789012",
           "location": "EqDC2", "bandwidth": "50Mbps"})
}

/// A tenant of its own with a key of `role`, so that each scenario counts
/// only its own connectors.
struct Caller {
    tenant: Uuid,
    key: String,
}

async fn caller(api: &Api, name: &str) -> Result<Caller> {
    let t = onramp_store::seed::create_tenant(&api.db, name).await?;
    Ok(Caller {
        tenant: t.id,
        key: key_for(api, t.id, onramp_store::auth::ROLE_CUSTOMER).await?,
    })
}

async fn key_for(api: &Api, tenant: Uuid, role: &str) -> Result<String> {
    let key = onramp_store::auth::generate_key();
    onramp_store::auth::add_key(&api.db, tenant, role, &key, role).await?;
    Ok(key)
}

/// An answer with everything a replay must reproduce.
#[derive(Clone, Debug, PartialEq)]
struct Reply {
    status: u16,
    content_type: Option<String>,
    location: Option<String>,
    retry_after: Option<String>,
    /// The `Idempotent-Replayed` header, if any.
    replayed: Option<String>,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    fn is_replay(&self) -> bool {
        self.replayed.as_deref() == Some("true")
    }

    /// Status, headers and body, without the replay marker.
    fn answer(&self) -> Reply {
        Reply {
            replayed: None,
            ..self.clone()
        }
    }
}

async fn post_to(
    http: &reqwest::Client,
    base: &str,
    bearer: Option<&str>,
    idem_key: Option<HeaderValue>,
    path_and_query: &str,
    body: &str,
) -> Result<Reply> {
    let mut req = http
        .post(format!("{base}{path_and_query}"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    if let Some(k) = idem_key {
        req = req.header("Idempotency-Key", k);
    }
    let r = req.send().await?;
    let h = |name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap_or("<binary>").to_string())
    };
    Ok(Reply {
        status: r.status().as_u16(),
        content_type: h("content-type"),
        location: h("location"),
        retry_after: h("retry-after"),
        replayed: h("idempotent-replayed"),
        body: r.text().await?,
    })
}

async fn post(api: &Api, c: &Caller, idem_key: Option<&str>, body: &Value) -> Result<Reply> {
    post_to(
        &api.http,
        &api.base,
        Some(&c.key),
        idem_key.map(|k| HeaderValue::from_str(k).unwrap()),
        PATH,
        &body.to_string(),
    )
    .await
}

/// The caller's connectors, counted in the database and checked against
/// what `GET /v1/connectors` lists.
async fn connectors(api: &Api, c: &Caller) -> Result<u64> {
    let rows = connector::Entity::find()
        .filter(connector::Column::TenantId.eq(c.tenant))
        .count(&api.db)
        .await?;
    let list: Value = api
        .http
        .get(format!("{}{PATH}", api.base))
        .bearer_auth(&c.key)
        .send()
        .await?
        .json()
        .await?;
    let listed = list["items"].as_array().map_or(0, Vec::len) as u64;
    ensure!(listed == rows, "API lists {listed}, database has {rows}");
    Ok(rows)
}

async fn key_rows(api: &Api, key: &str) -> Result<Vec<idempotency_key::Model>> {
    Ok(idempotency_key::Entity::find()
        .filter(idempotency_key::Column::IdempotencyKey.eq(key))
        .all(&api.db)
        .await?)
}

fn assert_problem(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status, status, "{r:#?}");
    assert_eq!(
        r.content_type.as_deref(),
        Some("application/problem+json"),
        "{r:#?}"
    );
    let p = r.json();
    assert_eq!(p["code"], code, "{r:#?}");
    assert_eq!(p["status"], status, "{r:#?}");
}

/// Ten identical orders with one key at once: one connector, ten identical
/// answers, nine of them marked as replays.
async fn concurrent_retries(api: Api) -> Result<()> {
    let c = caller(&api, "Concurrent").await?;
    let body = order().to_string();
    let barrier = Arc::new(tokio::sync::Barrier::new(10));
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (http, base, key, body, barrier) = (
                api.http.clone(),
                api.base.clone(),
                c.key.clone(),
                body.clone(),
                barrier.clone(),
            );
            tokio::spawn(async move {
                barrier.wait().await;
                post_to(
                    &http,
                    &base,
                    Some(&key),
                    Some(HeaderValue::from_static("order-concurrent-1")),
                    PATH,
                    &body,
                )
                .await
            })
        })
        .collect();
    let mut replies = Vec::new();
    for t in tasks {
        replies.push(t.await??);
    }
    let first = replies.iter().find(|r| !r.is_replay()).expect("one ran");
    assert_eq!(first.status, 202, "{first:#?}");
    assert!(first.location.is_some(), "{first:#?}");
    for r in &replies {
        assert_eq!(r.answer(), first.answer(), "every answer is the first one");
    }
    assert_eq!(
        replies.iter().filter(|r| r.is_replay()).count(),
        9,
        "{replies:#?}"
    );
    assert_eq!(connectors(&api, &c).await?, 1, "exactly one connector");
    Ok(())
}

/// A retry after the answer arrived gets it again and creates nothing.
async fn sequential_retry(api: Api) -> Result<()> {
    let c = caller(&api, "Sequential").await?;
    let first = post(&api, &c, Some("order-seq-1"), &order()).await?;
    assert_eq!(first.status, 202, "{first:#?}");
    assert_eq!(first.replayed, None, "the first answer is not a replay");
    let again = post(&api, &c, Some("order-seq-1"), &order()).await?;
    assert!(again.is_replay(), "{again:#?}");
    assert_eq!(again.answer(), first);
    assert_eq!(
        again.location.as_deref(),
        Some(format!("{PATH}/{}", first.json()["id"].as_str().unwrap()).as_str())
    );
    assert_eq!(connectors(&api, &c).await?, 1);
    Ok(())
}

/// The same key with another body or query string is refused, and nothing
/// runs.
async fn reused_key(api: Api) -> Result<()> {
    let c = caller(&api, "Reuse").await?;
    let first = post(&api, &c, Some("order-reuse-1"), &order()).await?;
    assert_eq!(first.status, 202, "{first:#?}");
    let mut other = order();
    other["vlan"] = json!(700);
    let r = post(&api, &c, Some("order-reuse-1"), &other).await?;
    assert_problem(&r, 422, "idempotency_key_reused");
    assert_eq!(r.json()["errors"][0]["field"], "Idempotency-Key", "{r:#?}");
    assert_eq!(r.replayed, None);
    // A dry run is another request too.
    let r = post_to(
        &api.http,
        &api.base,
        Some(&c.key),
        Some(HeaderValue::from_static("order-reuse-1")),
        &format!("{PATH}?dry_run=true"),
        &order().to_string(),
    )
    .await?;
    assert_problem(&r, 422, "idempotency_key_reused");
    assert_eq!(connectors(&api, &c).await?, 1);
    // The original request still replays.
    let again = post(&api, &c, Some("order-reuse-1"), &order()).await?;
    assert!(again.is_replay());
    assert_eq!(again.answer(), first);
    Ok(())
}

/// Another tenant's (or another role's) request with the same key runs as
/// its own and never sees the first one's answer.
async fn other_tenant(api: Api) -> Result<()> {
    let a = caller(&api, "Tenant A").await?;
    let b = caller(&api, "Tenant B").await?;
    let ra = post(&api, &a, Some("shared-key"), &order()).await?;
    let rb = post(&api, &b, Some("shared-key"), &order()).await?;
    assert_eq!(ra.status, 202, "{ra:#?}");
    assert_eq!(rb.status, 202, "{rb:#?}");
    assert_eq!(rb.replayed, None, "{rb:#?}");
    assert_ne!(ra.json()["id"], rb.json()["id"]);
    assert_eq!(connectors(&api, &a).await?, 1);
    assert_eq!(connectors(&api, &b).await?, 1);
    // Same tenant, another role: its own scope as well.
    let ops = Caller {
        tenant: a.tenant,
        key: key_for(&api, a.tenant, onramp_store::auth::ROLE_OPS).await?,
    };
    let ro = post(&api, &ops, Some("shared-key"), &order()).await?;
    assert_eq!(ro.status, 202, "{ro:#?}");
    assert_eq!(ro.replayed, None, "{ro:#?}");
    assert_eq!(connectors(&api, &a).await?, 2);
    // Each retry still gets its own answer.
    let again = post(&api, &b, Some("shared-key"), &order()).await?;
    assert_eq!(again.answer(), rb);
    Ok(())
}

/// A 4xx answer is kept and replayed as is; a 5xx is not, so the retry runs.
async fn client_errors_replay_server_errors_do_not(api: Api) -> Result<()> {
    let c = caller(&api, "Errors").await?;
    let mut bad = order();
    bad["aws_account_id"] = json!("12345");
    let first = post(&api, &c, Some("order-bad-1"), &bad).await?;
    assert_problem(&first, 422, "validation_failed");
    assert_eq!(first.replayed, None);
    let again = post(&api, &c, Some("order-bad-1"), &bad).await?;
    assert!(again.is_replay(), "{again:#?}");
    assert_eq!(again.answer(), first);
    let rows = key_rows(&api, "order-bad-1").await?;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].response_status, Some(422));

    // This API has no Azure credentials: an ExpressRoute order is a 503,
    // which is not kept, so a retry asks again.
    let azure = json!({"kind": "azure-expressroute",
                       "service_key": "0d9c4b4e-6f2a-4b1e-9a8f-3c2d1e0f9a8b"});
    let first = post(&api, &c, Some("order-azure-1"), &azure).await?;
    assert_problem(&first, 503, "csp_not_configured");
    assert!(key_rows(&api, "order-azure-1").await?.is_empty());
    let again = post(&api, &c, Some("order-azure-1"), &azure).await?;
    assert_problem(&again, 503, "csp_not_configured");
    assert_eq!(again.replayed, None, "a 5xx is never replayed");
    assert_eq!(connectors(&api, &c).await?, 0);
    Ok(())
}

/// Keys must be 1-255 printable ASCII; an unauthenticated request is a 401
/// and leaves no key behind.
async fn bad_keys(api: Api) -> Result<()> {
    let c = caller(&api, "Bad keys").await?;
    let long = "k".repeat(256);
    let bad: Vec<HeaderValue> = vec![
        HeaderValue::from_static(""),
        HeaderValue::from_str(&long)?,
        HeaderValue::from_bytes("café".as_bytes())?,
        HeaderValue::from_bytes(b"a\tb")?,
    ];
    for k in bad {
        let r = post_to(
            &api.http,
            &api.base,
            Some(&c.key),
            Some(k.clone()),
            PATH,
            &order().to_string(),
        )
        .await?;
        assert_problem(&r, 400, "invalid_idempotency_key");
        assert_eq!(r.json()["errors"][0]["field"], "Idempotency-Key", "{k:?}");
    }
    let ok = post(&api, &c, Some(&"k".repeat(255)), &order()).await?;
    assert_eq!(ok.status, 202, "{ok:#?}");
    assert_eq!(connectors(&api, &c).await?, 1);

    let r = post_to(
        &api.http,
        &api.base,
        None,
        Some(HeaderValue::from_static("anon-1")),
        PATH,
        &order().to_string(),
    )
    .await?;
    assert_problem(&r, 401, "unauthorized");
    let r = post_to(
        &api.http,
        &api.base,
        Some("onr_not_a_real_key"),
        Some(HeaderValue::from_static("anon-1")),
        PATH,
        &order().to_string(),
    )
    .await?;
    assert_problem(&r, 401, "unauthorized");
    assert!(key_rows(&api, "anon-1").await?.is_empty());
    Ok(())
}

/// Without the header every POST is a new order.
async fn no_header(api: Api) -> Result<()> {
    let c = caller(&api, "No header").await?;
    let a = post(&api, &c, None, &order()).await?;
    let b = post(&api, &c, None, &order()).await?;
    assert_eq!((a.status, b.status), (202, 202), "{a:#?} {b:#?}");
    assert_eq!((a.replayed.as_deref(), b.replayed.as_deref()), (None, None));
    assert_ne!(a.json()["id"], b.json()["id"]);
    assert_eq!(connectors(&api, &c).await?, 2);
    assert_eq!(idempotency_key::Entity::find().count(&api.db).await?, 0);
    Ok(())
}

/// After 24 h a key is forgotten: the retry runs as a new order.
async fn expired_key(api: Api) -> Result<()> {
    let c = caller(&api, "Expiry").await?;
    let first = post(&api, &c, Some("order-exp-1"), &order()).await?;
    assert_eq!(first.status, 202);
    let within = post(&api, &c, Some("order-exp-1"), &order()).await?;
    assert!(within.is_replay(), "kept within 24 h: {within:#?}");
    let expired = idempotency_key::Entity::update_many()
        .col_expr(
            idempotency_key::Column::ExpiresAtMs,
            Expr::value(chrono::Utc::now().timestamp_millis() - 1),
        )
        .filter(idempotency_key::Column::IdempotencyKey.eq("order-exp-1"))
        .exec(&api.db)
        .await?;
    assert_eq!(expired.rows_affected, 1);
    let again = post(&api, &c, Some("order-exp-1"), &order()).await?;
    assert_eq!(again.status, 202, "{again:#?}");
    assert_eq!(again.replayed, None, "{again:#?}");
    assert_ne!(again.json()["id"], first.json()["id"]);
    assert_eq!(connectors(&api, &c).await?, 2);
    Ok(())
}

/// The first request's row, as another API process would hold it while its
/// handler runs.
async fn hold(api: &Api, c: &Caller, key: &str, body: &str) -> Result<idem::Claim> {
    let secrets = onramp_store::secrets::SecretBox::from_base64_key(
        &onramp_store::secrets::SecretBox::generate_base64_key(),
    )?;
    let scope = Scope {
        tenant_id: c.tenant,
        role: onramp_store::auth::ROLE_CUSTOMER.into(),
        method: "POST".into(),
        path: PATH.into(),
    };
    let fp = idem::fingerprint("POST", PATH, "", body.as_bytes());
    match idem::begin(&api.db, &secrets, &scope, key, &fp).await? {
        idem::Begin::Run(claim) => Ok(claim),
        other => anyhow::bail!("expected to hold the key, got {other:?}"),
    }
}

/// A retry while the first request runs waits for it; here the first one
/// fails with a 5xx (its row is dropped), so the waiting retry runs it.
async fn retry_waits_for_first(api: Api) -> Result<()> {
    let c = caller(&api, "Waiting").await?;
    let body = order().to_string();
    let claim = hold(&api, &c, "order-wait-1", &body).await?;
    let (http, base, key) = (api.http.clone(), api.base.clone(), c.key.clone());
    let retry = tokio::spawn(async move {
        post_to(
            &http,
            &base,
            Some(&key),
            Some(HeaderValue::from_static("order-wait-1")),
            PATH,
            &body,
        )
        .await
    });
    // An absence check: the retry cannot legitimately finish while the
    // claim is held, so a busy machine can make this check weaker, never
    // red. (The API's wait loop is not observable from outside.)
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        !retry.is_finished(),
        "the retry waits for the first request"
    );
    assert_eq!(connectors(&api, &c).await?, 0);
    idem::abandon(&api.db, claim).await?;
    let r = tokio::time::timeout(Duration::from_secs(10), retry).await???;
    assert_eq!(r.status, 202, "{r:#?}");
    assert_eq!(r.replayed, None, "{r:#?}");
    assert_eq!(connectors(&api, &c).await?, 1);
    Ok(())
}

/// A first request that never finishes: after waiting its time (30 s in
/// production, 2 s here) the retry gets a 409 with Retry-After, and nothing
/// runs.
async fn retry_gives_up_after_waiting(api: Api) -> Result<()> {
    let c = caller(&api, "Stuck").await?;
    let body = order().to_string();
    hold(&api, &c, "order-stuck-1", &body).await?;
    let started = std::time::Instant::now();
    let r = post(&api, &c, Some("order-stuck-1"), &order()).await?;
    assert!(started.elapsed() >= WAIT, "{started:?}");
    assert_problem(&r, 409, "idempotency_in_progress");
    assert!(r.retry_after.is_some(), "{r:#?}");
    assert_eq!(r.json()["errors"][0]["field"], "Idempotency-Key");
    assert_eq!(connectors(&api, &c).await?, 0);
    Ok(())
}

macro_rules! on_both {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $scenario() -> anyhow::Result<()> {
                    super::$scenario(super::start(false).await?).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $scenario() -> anyhow::Result<()> {
                    super::$scenario(super::start(true).await?).await
                }
            )*
        }
    };
}

on_both!(
    concurrent_retries,
    sequential_retry,
    reused_key,
    other_tenant,
    client_errors_replay_server_errors_do_not,
    bad_keys,
    no_header,
    expired_key,
    retry_waits_for_first,
);

// Thirty seconds of waiting; the database makes no difference to it.
#[tokio::test(flavor = "multi_thread")]
async fn retry_gives_up_after_waiting_sqlite() -> Result<()> {
    let api = start_configured(false, (100, 3999), |s| s.with_idempotency_wait(WAIT)).await?;
    retry_gives_up_after_waiting(api).await
}
