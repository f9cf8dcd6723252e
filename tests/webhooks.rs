//! Tenant webhooks (`/v1/webhooks`): deliveries are signed with the secret
//! shown at creation, carry the documented headers and the same JSON as the
//! SSE stream, arrive in order, are retried with growing pauses and given
//! up after the last attempt; tenants never see each other's webhooks or
//! events; bad URLs are refused naming `url`; the secret is never returned
//! again, never logged and sealed at rest; a deleted webhook gets nothing
//! more; two workers never deliver one event twice.
//!
//! A receiver (axum on 127.0.0.1:0) records every request. Most tests run
//! the API and the delivery loop in-process with short backoffs; one runs
//! the whole stack with `onramp worker` processes and a real connector.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, KeyInit, Mac};
use onramp_store::auth::{ROLE_CUSTOMER, ROLE_OPS};
use onramp_workers::webhooks::{WebhookConfig, run_webhooks};
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use support::inproc::{Api, start};
use support::{Db, Stack};
use uuid::Uuid;

/// Generous: CI is a loaded two-core box.
const WAIT: Duration = Duration::from_secs(30);

// ===== the receiver =====

#[derive(Clone, Debug)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
    at: Instant,
}

impl Received {
    fn event_id(&self) -> i64 {
        self.header("onramp-event-id").parse().unwrap_or(-1)
    }

    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// Decides each request's status from its event id and how many requests
/// for that event came before it.
type Answer = Arc<dyn Fn(i64, usize) -> StatusCode + Send + Sync>;

struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(answer: Answer) -> Result<Receiver> {
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let seen = got.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let seen = seen.clone();
                let answer = answer.clone();
                async move {
                    let r = Received {
                        headers,
                        body,
                        at: Instant::now(),
                    };
                    let id = r.event_id();
                    let mut all = seen.lock().unwrap();
                    let before = all.iter().filter(|x| x.event_id() == id).count();
                    all.push(r);
                    answer(id, before)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/hook", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Receiver { url, got })
    }

    async fn ok() -> Result<Receiver> {
        Self::start(Arc::new(|_, _| StatusCode::NO_CONTENT)).await
    }

    fn all(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until `pred` holds for what was received.
    async fn wait(&self, what: &str, pred: impl Fn(&[Received]) -> bool) -> Result<Vec<Received>> {
        let start = Instant::now();
        loop {
            let all = self.all();
            if pred(&all) {
                return Ok(all);
            }
            if start.elapsed() > WAIT {
                bail!(
                    "receiver: {what} did not happen within {WAIT:?}; got ids {:?}",
                    all.iter().map(Received::event_id).collect::<Vec<_>>()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn hmac_hex(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The receiver's check, as the README tells receivers to do it.
fn signature_ok(r: &Received, secret: &str) -> bool {
    let sig = r.header("onramp-signature");
    let want = format!(
        "v1={}",
        hmac_hex(secret, &r.header("onramp-timestamp"), &r.body)
    );
    sig == want
}

// ===== in-process delivery =====

fn fast(worker: &str) -> WebhookConfig {
    let mut cfg = WebhookConfig::new(worker.into());
    cfg.base_backoff = Duration::from_millis(200);
    cfg.max_backoff = Duration::from_secs(2);
    cfg.poll_interval = Duration::from_millis(50);
    cfg.timeout = Duration::from_secs(5);
    cfg
}

/// A delivery loop in this process; it stops when the guard drops.
struct Loop(tokio::sync::watch::Sender<bool>);

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = self.0.send(true);
    }
}

fn deliver(api: &Api, cfg: WebhookConfig) -> Loop {
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(run_webhooks(api.db.clone(), api.secrets.clone(), cfg, rx));
    Loop(tx)
}

async fn call(
    api: &Api,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Result<(u16, String, Value)> {
    let mut req = api
        .http
        .request(method, format!("{}{path}", api.base))
        .bearer_auth(key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await?;
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    Ok((status, ct, r.json().await.unwrap_or(Value::Null)))
}

/// Registers a webhook to `url`; its id and secret.
async fn register(api: &Api, key: &str, url: &str) -> Result<(String, String)> {
    let (status, _, w) = call(
        api,
        key,
        reqwest::Method::POST,
        "/v1/webhooks",
        Some(json!({"url": url, "description": "test"})),
    )
    .await?;
    ensure!(status == 201, "register: {status} {w:#}");
    Ok((
        w["id"].as_str().context("id")?.to_string(),
        w["secret"].as_str().context("secret")?.to_string(),
    ))
}

async fn get(api: &Api, key: &str, path: &str) -> Result<(u16, Value)> {
    let (s, _, v) = call(api, key, reqwest::Method::GET, path, None).await?;
    Ok((s, v))
}

// ===== tests =====

#[tokio::test(flavor = "multi_thread")]
async fn retries_back_off_then_succeed_and_the_last_attempt_gives_up() -> Result<()> {
    let api = start(false).await?;
    // Event `flaky` fails twice then succeeds; event `dead` always fails.
    let flaky = Arc::new(Mutex::new(-1i64));
    let dead = Arc::new(Mutex::new(-1i64));
    let (f, d) = (flaky.clone(), dead.clone());
    let rx = Receiver::start(Arc::new(move |id, before| {
        if id == *d.lock().unwrap() || (id == *f.lock().unwrap() && before < 2) {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::OK
        }
    }))
    .await?;
    let (wh, _) = register(&api, &api.key, &rx.url).await?;
    let c = api.order_vif_as(&api.key).await?;
    let first = api.step(c, "first").await?;
    *flaky.lock().unwrap() = first;
    let gone = api.step(c, "gone").await?;
    *dead.lock().unwrap() = gone;
    let last = api.step(c, "last").await?;

    let mut cfg = fast("w1");
    cfg.max_attempts = 3;
    let _loop = deliver(&api, cfg.clone());
    let got = rx
        .wait("the last event", |all| {
            all.iter().any(|r| r.event_id() == last)
        })
        .await?;
    let ids: Vec<i64> = got.iter().map(Received::event_id).collect();
    let ordered = ids[0];
    assert!(ordered < first, "{ids:?}");
    // In order; a failing event holds the later ones back until it is
    // delivered or given up.
    assert_eq!(
        ids,
        [ordered, first, first, first, gone, gone, gone, last],
        "arrival order"
    );

    // The pauses grow: at least half the (doubling) backoff each time.
    let at: Vec<Instant> = got
        .iter()
        .filter(|r| r.event_id() == first)
        .map(|r| r.at)
        .collect();
    let (gap1, gap2) = (at[1] - at[0], at[2] - at[1]);
    assert!(gap1 >= cfg.base_backoff / 2, "first pause {gap1:?}");
    assert!(gap2 >= cfg.base_backoff, "second pause {gap2:?}");

    // The history says the same, newest first.
    let (s, d) = get(&api, &api.key, &format!("/v1/webhooks/{wh}/deliveries")).await?;
    assert_eq!(s, 200, "{d:#}");
    let rows: Vec<(i64, i64, String, Option<i64>)> = d["items"]
        .as_array()
        .context("items")?
        .iter()
        .map(|r| {
            (
                r["event_id"].as_i64().unwrap_or(-1),
                r["attempt"].as_i64().unwrap_or(-1),
                r["outcome"].as_str().unwrap_or("").to_string(),
                r["status_code"].as_i64(),
            )
        })
        .rev()
        .collect();
    let want = [
        (ordered, 1, "delivered", Some(200)),
        (first, 1, "failed", Some(503)),
        (first, 2, "failed", Some(503)),
        (first, 3, "delivered", Some(200)),
        (gone, 1, "failed", Some(503)),
        (gone, 2, "failed", Some(503)),
        (gone, 3, "gave_up", Some(503)),
        (last, 1, "delivered", Some(200)),
    ];
    let want: Vec<(i64, i64, String, Option<i64>)> = want
        .iter()
        .map(|(e, a, o, s)| (*e, *a, o.to_string(), *s))
        .collect();
    assert_eq!(rows, want);

    let (_, w) = get(&api, &api.key, &format!("/v1/webhooks/{wh}")).await?;
    assert_eq!(w["delivery"]["cursor"], last, "{w:#}");
    assert_eq!(w["delivery"]["consecutive_failures"], 0, "{w:#}");
    assert_eq!(w["delivery"]["pending_attempts"], 0, "{w:#}");
    assert!(w["delivery"]["next_attempt_at"].is_null(), "{w:#}");
    assert_eq!(w["delivery"]["last_delivery"]["event_id"], last, "{w:#}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_webhook_shows_its_pending_retry() -> Result<()> {
    let api = start(false).await?;
    let rx = Receiver::start(Arc::new(|_, _| StatusCode::INTERNAL_SERVER_ERROR)).await?;
    let (wh, _) = register(&api, &api.key, &rx.url).await?;
    let mut cfg = fast("w1");
    cfg.base_backoff = Duration::from_secs(600);
    let _loop = deliver(&api, cfg);
    let c = api.order_vif_as(&api.key).await?;
    rx.wait("one attempt", |all| !all.is_empty()).await?;
    let start = Instant::now();
    loop {
        let (_, w) = get(&api, &api.key, &format!("/v1/webhooks/{wh}")).await?;
        if w["delivery"]["pending_attempts"] == 1 {
            assert_eq!(w["delivery"]["consecutive_failures"], 1, "{w:#}");
            assert!(w["delivery"]["next_attempt_at"].is_string(), "{w:#}");
            assert_eq!(w["delivery"]["last_delivery"]["outcome"], "failed");
            assert_eq!(w["delivery"]["last_delivery"]["status_code"], 500);
            break;
        }
        ensure!(start.elapsed() < WAIT, "failure not recorded: {w:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Held back: nothing else goes out while the retry waits. A witness
    // webhook registered now receives the next event, so the loop has
    // provably had its chance to send it to the failing one too.
    let witness = Receiver::ok().await?;
    register(&api, &api.key, &witness.url).await?;
    let later = api.step(c, "later").await?;
    witness
        .wait("the witness gets the later event", |all| {
            all.iter().any(|r| r.event_id() == later)
        })
        .await?;
    assert_eq!(rx.all().len(), 1);
    Ok(())
}

async fn isolation(postgres: bool) -> Result<()> {
    let api = start(postgres).await?;
    let (_, key_b) = api.tenant_with_key("Globex", ROLE_CUSTOMER).await?;
    let (_, ops) = api.tenant_with_key("operator", ROLE_OPS).await?;
    let (rx_a, rx_b) = (Receiver::ok().await?, Receiver::ok().await?);
    let (wh_a, _) = register(&api, &api.key, &rx_a.url).await?;
    let (wh_b, _) = register(&api, &key_b, &rx_b.url).await?;
    let _loop = deliver(&api, fast("w1"));

    let a = api.order_vif_as(&api.key).await?;
    let b = api.order_vif_as(&key_b).await?;
    api.step(a, "a1").await?;
    api.step(b, "b1").await?;
    let a_last = api.step(a, "a2").await?;
    let b_last = api.step(b, "b2").await?;

    let got_a = rx_a
        .wait("A's last", |all| all.iter().any(|r| r.event_id() == a_last))
        .await?;
    let got_b = rx_b
        .wait("B's last", |all| all.iter().any(|r| r.event_id() == b_last))
        .await?;
    for (got, mine) in [(&got_a, a), (&got_b, b)] {
        assert_eq!(got.len(), 3, "ordered and two steps");
        assert!(
            got.iter()
                .all(|r| r.json()["connector_id"] == mine.to_string()),
            "only the tenant's own connector"
        );
        let ids: Vec<i64> = got.iter().map(Received::event_id).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "in order: {ids:?}");
    }

    // B cannot see or touch A's webhook: it does not exist for B.
    for path in [
        format!("/v1/webhooks/{wh_a}"),
        format!("/v1/webhooks/{wh_a}/deliveries"),
    ] {
        let (s, ct, p) = call(&api, &key_b, reqwest::Method::GET, &path, None).await?;
        assert_eq!(
            (s, ct.as_str()),
            (404, "application/problem+json"),
            "{path}"
        );
        assert_eq!(p["code"], "not_found");
    }
    let del = format!("/v1/webhooks/{wh_a}");
    let (s, _, _) = call(&api, &key_b, reqwest::Method::DELETE, &del, None).await?;
    assert_eq!(s, 404);
    let (_, list_b) = get(&api, &key_b, "/v1/webhooks").await?;
    let ids: Vec<&str> = list_b["items"]
        .as_array()
        .context("items")?
        .iter()
        .filter_map(|w| w["id"].as_str())
        .collect();
    assert_eq!(ids, [wh_b.as_str()]);

    // Ops read every tenant's, a page at a time, but delete only their own.
    let (s, p1) = get(&api, &ops, "/v1/webhooks?limit=1").await?;
    assert_eq!(s, 200, "{p1:#}");
    assert_eq!(p1["items"][0]["id"], wh_a.as_str());
    let cursor = p1["next_cursor"].as_str().context("a next page")?;
    let (_, p2) = get(&api, &ops, &format!("/v1/webhooks?limit=1&cursor={cursor}")).await?;
    assert_eq!(p2["items"][0]["id"], wh_b.as_str());
    assert!(p2["next_cursor"].is_null(), "{p2:#}");
    let (s, _) = get(&api, &ops, &format!("/v1/webhooks/{wh_b}")).await?;
    assert_eq!(s, 200);
    let (s, ct, p) = call(&api, &ops, reqwest::Method::DELETE, &del, None).await?;
    assert_eq!((s, ct.as_str()), (403, "application/problem+json"), "{p:#}");
    let (s, ct, p) = call(
        &api,
        &ops,
        reqwest::Method::GET,
        "/v1/webhooks?cursor=bm90LWEtY3Vyc29y",
        None,
    )
    .await?;
    assert_eq!((s, ct.as_str()), (422, "application/problem+json"));
    assert_eq!(
        (
            p["errors"][0]["code"].as_str(),
            p["errors"][0]["field"].as_str()
        ),
        (Some("invalid_cursor"), Some("cursor"))
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn tenants_get_only_their_own_events_and_webhooks() -> Result<()> {
    isolation(false).await
}

#[tokio::test(flavor = "multi_thread")]
async fn tenants_get_only_their_own_events_and_webhooks_postgres() -> Result<()> {
    isolation(true).await
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_urls_and_bodies_are_problems_naming_the_field() -> Result<()> {
    let api = start(false).await?;
    let bad = [
        "not a url",
        "ftp://example.com/x",
        "http://example.com/hook",
        "https://user:pw@example.com/",
        "https://example.com/#top",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::ffff:a9fe:a9fe]/",
        "https://0.0.0.0/",
        "https://[ff02::1]/",
    ];
    let long = format!("https://example.com/{}", "a".repeat(2048));
    for url in bad.iter().copied().chain([long.as_str()]) {
        let (s, ct, p) = call(
            &api,
            &api.key,
            reqwest::Method::POST,
            "/v1/webhooks",
            Some(json!({ "url": url })),
        )
        .await?;
        assert_eq!(
            (s, ct.as_str()),
            (422, "application/problem+json"),
            "{url}: {p:#}"
        );
        assert_eq!(p["code"], "validation_failed", "{url}");
        assert_eq!(p["errors"][0]["field"], "url", "{url}: {p:#}");
    }
    let cases = [
        (json!({}), "url"),
        (json!({"url": 7}), "url"),
        (
            json!({"url": "https://example.com/", "description": "x".repeat(201)}),
            "description",
        ),
        (
            json!({"url": "https://example.com/", "secret": "mine"}),
            "secret",
        ),
    ];
    for (body, field) in cases {
        let (s, _, p) = call(
            &api,
            &api.key,
            reqwest::Method::POST,
            "/v1/webhooks",
            Some(body.clone()),
        )
        .await?;
        assert_eq!(s, 422, "{body}: {p:#}");
        assert_eq!(p["errors"][0]["field"], field, "{body}: {p:#}");
    }

    // A retry with the same Idempotency-Key registers nothing more; its
    // replay withholds the secret, of which onramp keeps no copy.
    let register_once = || {
        api.http
            .post(format!("{}/v1/webhooks", api.base))
            .bearer_auth(&api.key)
            .header("Idempotency-Key", "retry-1")
            .json(&json!({"url": "https://example.com/"}))
            .send()
    };
    let first: Value = register_once().await?.json().await?;
    let secret = first["secret"]
        .as_str()
        .context("the secret, once")?
        .to_string();
    let r = register_once().await?;
    assert_eq!(r.status().as_u16(), 201);
    assert_eq!(r.headers()["idempotent-replayed"], "true");
    let again: Value = r.json().await?;
    assert_eq!(again["id"], first["id"]);
    assert!(again["secret"].is_null(), "{again:#}");
    assert!(!again.to_string().contains(&secret));
    let (_, list) = get(&api, &api.key, "/v1/webhooks").await?;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list:#}");
    let id = first["id"].as_str().context("id")?;
    let (s, _, _) = call(
        &api,
        &api.key,
        reqwest::Method::DELETE,
        &format!("/v1/webhooks/{id}"),
        None,
    )
    .await?;
    assert_eq!(s, 204);

    // No key: 401 problem.
    let r = api
        .http
        .get(format!("{}/v1/webhooks", api.base))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 401);

    // Ten per tenant; the eleventh is a 409.
    for i in 0..10 {
        register(&api, &api.key, &format!("https://example.com/{i}")).await?;
    }
    let (s, ct, p) = call(
        &api,
        &api.key,
        reqwest::Method::POST,
        "/v1/webhooks",
        Some(json!({"url": "https://example.com/11"})),
    )
    .await?;
    assert_eq!((s, ct.as_str()), (409, "application/problem+json"));
    assert_eq!(p["code"], "limit_reached");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_webhook_gets_nothing_more() -> Result<()> {
    let api = start(false).await?;
    let rx = Receiver::ok().await?;
    let (wh, _) = register(&api, &api.key, &rx.url).await?;
    let _loop = deliver(&api, fast("w1"));
    let c = api.order_vif_as(&api.key).await?;
    rx.wait("the order", |all| all.len() == 1).await?;

    let path = format!("/v1/webhooks/{wh}");
    let (s, _, _) = call(&api, &api.key, reqwest::Method::DELETE, &path, None).await?;
    assert_eq!(s, 204);
    // A witness webhook gets the next two events: by the second, the loop
    // has passed the first by a whole round and sent what it would send.
    let witness = Receiver::ok().await?;
    register(&api, &api.key, &witness.url).await?;
    api.step(c, "after_delete").await?;
    let next = api.step(c, "after_that").await?;
    witness
        .wait("the witness gets both events", |all| {
            all.iter().any(|r| r.event_id() == next)
        })
        .await?;
    assert_eq!(rx.all().len(), 1, "nothing after the delete");
    let (s, _) = get(&api, &api.key, &path).await?;
    assert_eq!(s, 404);
    let (s, _, _) = call(&api, &api.key, reqwest::Method::DELETE, &path, None).await?;
    assert_eq!(s, 404, "deleted twice");
    Ok(())
}

async fn two_workers(postgres: bool) -> Result<()> {
    let api = start(postgres).await?;
    let rx = Receiver::ok().await?;
    register(&api, &api.key, &rx.url).await?;
    register(&api, &api.key, &rx.url.replace("/hook", "/hook?second")).await?;
    let _w1 = deliver(&api, fast("w1"));
    let _w2 = deliver(&api, fast("w2"));
    let c = api.order_vif_as(&api.key).await?;
    let mut last = 0;
    for i in 0..15 {
        last = api.step(c, &format!("s{i}")).await?;
    }
    rx.wait("both webhooks' last event", |all| {
        all.iter().filter(|r| r.event_id() == last).count() >= 2
    })
    .await?;
    // One more event through both webhooks: a double delivery of any of the
    // first sixteen would have to come before it, in cursor order.
    let sentinel = api.step(c, "sentinel").await?;
    let got = rx
        .wait("both webhooks' sentinel", |all| {
            all.iter().filter(|r| r.event_id() == sentinel).count() >= 2
        })
        .await?;
    let got_now: Vec<Received> = got.into_iter().filter(|r| r.event_id() <= last).collect();
    for wh in got_now
        .iter()
        .map(|r| r.header("onramp-webhook-id"))
        .collect::<std::collections::BTreeSet<_>>()
    {
        let ids: Vec<i64> = got_now
            .iter()
            .filter(|r| r.header("onramp-webhook-id") == wh)
            .map(Received::event_id)
            .collect();
        assert_eq!(ids.len(), 16, "each event once to {wh}: {ids:?}");
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "in order: {ids:?}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn two_workers_never_deliver_an_event_twice() -> Result<()> {
    two_workers(false).await
}

#[tokio::test(flavor = "multi_thread")]
async fn two_workers_never_deliver_an_event_twice_postgres() -> Result<()> {
    two_workers(true).await
}

/// The whole stack: `onramp worker` processes deliver a real connector's
/// changes, signed, with the documented headers, the same JSON as the SSE
/// stream, and the secret nowhere but in the creating answer.
#[tokio::test(flavor = "multi_thread")]
async fn the_worker_signs_real_changes_and_keeps_the_secret() -> Result<()> {
    let mut stack = Stack::start(Db::Sqlite).await?;
    for (k, v) in [
        ("ONRAMP_WEBHOOK_BACKOFF_MS", "300"),
        ("ONRAMP_WEBHOOK_MAX_BACKOFF_MS", "2000"),
        ("ONRAMP_WEBHOOK_POLL_MS", "100"),
    ] {
        stack.worker_env.push((k.into(), v.into()));
    }
    stack.kill_worker();
    stack.start_worker()?;

    // The first two requests fail: the first event is retried.
    let requests = std::sync::atomic::AtomicUsize::new(0);
    let rx = Receiver::start(Arc::new(move |_, _| {
        if requests.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2 {
            StatusCode::BAD_GATEWAY
        } else {
            StatusCode::OK
        }
    }))
    .await?;
    let (status, created) = stack
        .post_json("/v1/webhooks", &json!({"url": rx.url}))
        .await?;
    assert_eq!(status, 201, "{created:#}");
    let wh = created["id"].as_str().context("id")?.to_string();
    let secret = created["secret"].as_str().context("secret")?.to_string();
    assert!(
        secret.starts_with("whsec_") && secret.len() > 40,
        "{secret}"
    );
    let start_cursor = created["delivery"]["cursor"].as_i64().context("cursor")?;

    let (status, c) = stack.order_vif(json!({})).await?;
    assert_eq!(status, 202, "{c:#}");
    let id = c["id"].as_str().context("connector id")?.to_string();
    stack
        .wait_state(&id, "waiting_customer_acceptance", Duration::from_secs(60))
        .await?;
    let (_, timeline) = stack
        .get_json(&format!("/v1/connectors/{id}/events"))
        .await?;
    let want: Vec<i64> = timeline["items"]
        .as_array()
        .context("items")?
        .iter()
        .filter_map(|e| e["id"].as_i64())
        .collect();
    let newest = *want.last().context("events")?;
    let got = rx
        .wait("the newest event", |all| {
            all.iter().any(|r| r.event_id() == newest)
        })
        .await
        .with_context(|| stack.logs())?;

    // Each event once after the two failures of the first, in order.
    let ids: Vec<i64> = got.iter().map(Received::event_id).collect();
    assert_eq!(ids[..3], [want[0]; 3], "{ids:?}");
    assert_eq!(ids[2..], want[..], "{ids:?}");
    assert!(want[0] > start_cursor);

    for r in &got {
        assert_eq!(r.header("content-type"), "application/json");
        assert_eq!(r.header("onramp-webhook-id"), wh);
        assert_eq!(r.json()["id"], r.event_id());
        let ts: i64 = r.header("onramp-timestamp").parse()?;
        assert!((chrono::Utc::now().timestamp() - ts).abs() < 300, "{ts}");
        assert!(
            signature_ok(r, &secret),
            "signature verifies with the secret"
        );
        assert!(
            !signature_ok(r, "whsec_another"),
            "and not with another secret"
        );
        let body = String::from_utf8_lossy(&r.body);
        assert!(!body.contains(&secret));
    }

    // The body is the SSE stream's `data:` for the same event. Older
    // events lose `waiting_on` once the connector moves on, so the newest
    // (the connector waits for the customer now) is compared byte for byte.
    let sse = sse_data(&stack, start_cursor, want.len()).await?;
    let newest_body = &got.last().context("newest")?.body;
    assert_eq!(sse.last().map(String::as_bytes), Some(&newest_body[..]));
    for (data, r) in sse.iter().zip(&got[2..]) {
        let (mut a, mut b): (Value, Value) = (serde_json::from_str(data)?, r.json());
        a.as_object_mut().context("object")?.remove("waiting_on");
        b.as_object_mut().context("object")?.remove("waiting_on");
        assert_eq!(a, b);
    }

    // The secret is never returned again, nor logged, and is sealed at rest.
    for path in [
        format!("/v1/webhooks/{wh}"),
        "/v1/webhooks".to_string(),
        format!("/v1/webhooks/{wh}/deliveries"),
    ] {
        let (s, v) = stack.get_json(&path).await?;
        assert_eq!(s, 200, "{path}");
        assert!(!v.to_string().contains(&secret), "{path}: {v:#}");
        assert!(!v.to_string().contains("secret"), "{path}: {v:#}");
    }
    let logs = stack.full_logs();
    assert!(!logs.contains(&secret), "the secret is in the logs");
    assert!(!logs.contains("v1="), "a signature is in the logs");
    assert!(
        logs.lines()
            .any(|l| l.contains("webhook delivery failed") && l.contains(&wh) && l.contains("502")),
        "a failed delivery is logged with the webhook and the status"
    );
    let row = onramp_store::entity::webhook::Entity::find_by_id(wh.parse::<Uuid>()?)
        .one(&stack.db)
        .await?
        .context("row")?;
    assert!(!row.secret.contains(&secret[6..]), "stored in the clear");
    assert!(row.secret.starts_with("v1:"), "sealed: {}", row.secret);
    Ok(())
}

/// The `data:` lines of `GET /v1/events?after=<after>`, `n` of them.
async fn sse_data(stack: &Stack, after: i64, n: usize) -> Result<Vec<String>> {
    let mut resp = stack
        .http
        .get(stack.url(&format!("/v1/events?after={after}")))
        .bearer_auth(&stack.key)
        .send()
        .await?;
    ensure!(resp.status().as_u16() == 200, "events: {}", resp.status());
    let mut buf = String::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let data: Vec<String> = buf
            .lines()
            .filter_map(|l| l.strip_prefix("data: ").or_else(|| l.strip_prefix("data:")))
            .map(str::to_string)
            .collect();
        if data.len() >= n {
            return Ok(data[..n].to_vec());
        }
        match tokio::time::timeout_at(deadline, resp.chunk()).await {
            Ok(Ok(Some(bytes))) => buf.push_str(std::str::from_utf8(&bytes)?),
            other => bail!(
                "SSE ended or timed out with {} of {n}: {other:?}",
                data.len()
            ),
        }
    }
}
