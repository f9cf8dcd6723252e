//! `GET /v1/events`, the Server-Sent Events stream of connector state
//! changes: a customer sees its own tenant's events in id order and never
//! another tenant's, ops see every tenant's, `Last-Event-ID` resumes with
//! nothing lost or repeated, and bad parameters are problems naming the
//! field. The SSE frames are parsed here, by hand, from the raw body.

mod support;

use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use onramp_store::connectors::{Transition, commit_transition};
use serde_json::{Value, json};
use support::inproc::{Api, start};
use uuid::Uuid;

const EVENT_NAME: &str = "connector.state_changed";
/// Long enough for a few polls (300 ms) on a loaded CI box.
const WAIT: Duration = Duration::from_secs(30);

/// One SSE frame: the fields up to a blank line.
#[derive(Debug, Default)]
struct Frame {
    id: Option<String>,
    event: Option<String>,
    data: Option<String>,
    retry: Option<String>,
    comments: Vec<String>,
}

/// A `text/event-stream` body read chunk by chunk.
struct SseReader {
    resp: reqwest::Response,
    buf: String,
}

impl SseReader {
    /// The next complete frame, waiting at most `timeout`.
    async fn frame(&mut self, timeout: Duration) -> Result<Option<Frame>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(frame) = self.take_frame() {
                return Ok(Some(frame));
            }
            match tokio::time::timeout_at(deadline, self.resp.chunk()).await {
                Err(_) => return Ok(None),
                Ok(chunk) => match chunk? {
                    Some(bytes) => {
                        self.buf.push_str(std::str::from_utf8(&bytes)?);
                        // The spec allows CRLF and CR line ends.
                        self.buf = self.buf.replace("\r\n", "\n").replace('\r', "\n");
                    }
                    None => bail!("the stream ended"),
                },
            }
        }
    }

    fn take_frame(&mut self) -> Option<Frame> {
        let end = self.buf.find("\n\n")?;
        let raw: String = self.buf.drain(..end + 2).collect();
        let mut f = Frame::default();
        for line in raw.lines().filter(|l| !l.is_empty()) {
            let (name, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value).to_string();
            match name {
                "" => f.comments.push(value),
                "id" => f.id = Some(value),
                "event" => f.event = Some(value),
                "retry" => f.retry = Some(value),
                "data" => {
                    f.data = Some(match f.data.take() {
                        Some(d) => format!("{d}\n{value}"),
                        None => value,
                    })
                }
                _ => {}
            }
        }
        Some(f)
    }

    /// The first frame: no data, its `id:` is where the stream starts.
    async fn opening(&mut self) -> Result<i64> {
        let f = self
            .frame(WAIT)
            .await?
            .context("no opening frame within the wait")?;
        ensure!(f.data.is_none(), "opening frame carries no data: {f:?}");
        ensure!(f.retry.is_some(), "opening frame sets retry: {f:?}");
        f.id.context("opening frame has an id")?
            .parse()
            .context("opening id is a number")
    }

    /// The next state change, skipping keep-alive comments.
    async fn change(&mut self, timeout: Duration) -> Result<Option<Value>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Some(f) = self.frame(left).await? else {
                return Ok(None);
            };
            let Some(data) = f.data.as_deref() else {
                continue;
            };
            ensure!(f.event.as_deref() == Some(EVENT_NAME), "event name: {f:?}");
            let v: Value = serde_json::from_str(data).context("data is JSON")?;
            let id = f.id.clone().context("a change has an id")?;
            ensure!(
                v["id"].as_i64().map(|i| i.to_string()) == Some(id.clone()),
                "SSE id {id} matches data id {}",
                v["id"]
            );
            return Ok(Some(v));
        }
    }

    /// The next `n` changes; fails if they do not all come within the wait.
    async fn changes(&mut self, n: usize) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        while out.len() < n {
            match self.change(WAIT).await? {
                Some(v) => out.push(v),
                None => bail!("got {} of {n} changes: {out:#?}", out.len()),
            }
        }
        Ok(out)
    }

    /// Asserts nothing more comes for a few polls (the server reads every
    /// 300 ms). An absence check: the stream has nothing it may legitimately
    /// send, so a busy machine can make it weaker, never red.
    async fn quiet(&mut self, ctx: &str) -> Result<()> {
        if let Some(v) = self.change(Duration::from_millis(1500)).await? {
            bail!("{ctx}: unexpected change {v:#}");
        }
        Ok(())
    }
}

async fn open(api: &Api, key: &str, query: &str, last_event_id: Option<i64>) -> Result<SseReader> {
    let mut req = api
        .http
        .get(format!("{}/v1/events{query}", api.base))
        .bearer_auth(key);
    if let Some(id) = last_event_id {
        req = req.header("Last-Event-ID", id.to_string());
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    if status != 200 {
        bail!("GET /v1/events{query}: {status} {}", resp.text().await?);
    }
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    ensure!(ct.starts_with("text/event-stream"), "content type {ct}");
    Ok(SseReader {
        resp,
        buf: String::new(),
    })
}

/// A second tenant with its own customer key.
async fn other_tenant(api: &Api, name: &str) -> Result<(Uuid, String)> {
    let t = onramp_store::seed::create_tenant(&api.db, name).await?;
    let key = onramp_store::auth::generate_key();
    onramp_store::auth::add_key(&api.db, t.id, "ci", &key, onramp_store::auth::ROLE_CUSTOMER)
        .await?;
    Ok((t.id, key))
}

/// Orders a hosted VIF as `key`'s tenant; the order writes `ordered`.
async fn order(api: &Api, key: &str) -> Result<Uuid> {
    let r = api
        .http
        .post(format!("{}/v1/connectors", api.base))
        .bearer_auth(key)
        .json(
            &json!({"kind": "aws-hosted-vif", "aws_account_id": "123456789012",
                      "location": "EqDC2", "bandwidth": "50Mbps"}),
        )
        .send()
        .await?;
    let status = r.status().as_u16();
    let body: Value = r.json().await?;
    ensure!(status == 202, "order: {status} {body:#}");
    Ok(body["id"].as_str().context("connector id")?.parse()?)
}

/// One more timeline event, as a worker step would commit it. The machine
/// state stays as it is, so a later DELETE still reads it.
async fn step(api: &Api, id: Uuid, event: &str) -> Result<()> {
    let row = onramp_store::connectors::get(&api.db, id)
        .await?
        .context("connector exists")?;
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
    ensure!(
        commit_transition(&api.db, id, &t).await?,
        "step {event} committed"
    );
    Ok(())
}

async fn delete(api: &Api, key: &str, id: Uuid) -> Result<()> {
    let r = api
        .http
        .delete(format!("{}/v1/connectors/{id}", api.base))
        .bearer_auth(key)
        .send()
        .await?;
    ensure!(r.status().as_u16() == 202, "delete: {}", r.status());
    Ok(())
}

/// The ids of a connector's timeline, oldest first, from the REST API.
async fn timeline(api: &Api, key: &str, id: Uuid) -> Result<Vec<i64>> {
    let v: Value = api
        .http
        .get(format!("{}/v1/connectors/{id}/events", api.base))
        .bearer_auth(key)
        .send()
        .await?
        .json()
        .await?;
    Ok(v["items"]
        .as_array()
        .context("items")?
        .iter()
        .filter_map(|e| e["id"].as_i64())
        .collect())
}

fn ids(changes: &[Value]) -> Vec<i64> {
    changes.iter().filter_map(|c| c["id"].as_i64()).collect()
}

fn field_of(c: &Value, k: &str) -> String {
    c[k].as_str().unwrap_or_default().to_string()
}

async fn tenants_are_kept_apart(postgres: bool) -> Result<()> {
    let api = start(postgres).await?;
    let (_, key_b) = other_tenant(&api, "Globex").await?;
    let ops_key = onramp_store::auth::generate_key();
    let (ops_tenant, _) = other_tenant(&api, "operator-ops").await?;
    onramp_store::auth::add_key(
        &api.db,
        ops_tenant,
        "console",
        &ops_key,
        onramp_store::auth::ROLE_OPS,
    )
    .await?;

    // Both streams start "now": the opening frame fixes the cursor, so
    // everything below comes after it.
    let mut stream_a = open(&api, &api.key, "", None).await?;
    let mut stream_b = open(&api, &key_b, "", None).await?;
    let start_a = stream_a.opening().await?;
    let start_b = stream_b.opening().await?;
    assert_eq!(start_a, start_b, "both start at the newest event");

    // Interleaved, so B's ids fall between A's.
    let a = order(&api, &api.key).await?;
    let b = order(&api, &key_b).await?;
    step(&api, a, "vif_allocated").await?;
    step(&api, b, "vif_allocated").await?;
    delete(&api, &api.key, a).await?;

    let got_a = stream_a.changes(3).await?;
    let want_a = timeline(&api, &api.key, a).await?;
    assert_eq!(ids(&got_a), want_a, "A's stream: A's timeline, in order");
    assert!(
        ids(&got_a).windows(2).all(|w| w[0] < w[1]),
        "ids increase: {:?}",
        ids(&got_a)
    );
    assert!(
        got_a
            .iter()
            .all(|c| field_of(c, "connector_id") == a.to_string()),
        "only A's connector on A's stream: {got_a:#?}"
    );
    assert_eq!(
        got_a
            .iter()
            .map(|c| field_of(c, "event"))
            .collect::<Vec<_>>()[..2],
        ["ordered".to_string(), "vif_allocated".to_string()]
    );
    let ordered = &got_a[0];
    assert_eq!(ordered["kind"], "aws-hosted-vif");
    assert_eq!(ordered["step"], 0);
    assert_eq!(ordered["actor"], "customer");
    assert!(ordered.get("from_state").is_none(), "{ordered:#}");
    assert!(ordered["to_state"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(ordered["message"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(ordered["at"].as_str().is_some(), "{ordered:#}");
    let stepped = &got_a[1];
    assert_eq!(stepped["from_state"], ordered["to_state"]);
    // The delete is A's latest change, so it says who the connector waits
    // on; the connector has moved on since the first two.
    let deleted = &got_a[2];
    assert_eq!(deleted["actor"], "customer", "{deleted:#}");
    let now: Value = api
        .http
        .get(format!("{}/v1/connectors/{a}", api.base))
        .bearer_auth(&api.key)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(deleted["waiting_on"], now["waiting_on"], "{deleted:#}");
    assert_eq!(deleted["to_state"], now["state"], "{deleted:#}");
    assert!(stepped.get("waiting_on").is_none(), "{stepped:#}");
    stream_a.quiet("A's stream after A's last change").await?;

    let got_b = stream_b.changes(2).await?;
    assert_eq!(ids(&got_b), timeline(&api, &key_b, b).await?);
    assert!(
        got_b
            .iter()
            .all(|c| field_of(c, "connector_id") == b.to_string()),
        "only B's connector on B's stream: {got_b:#?}"
    );
    stream_b.quiet("B's stream after B's last change").await?;

    // Ops read every tenant: a replay shows all five, in id order.
    let mut ops = open(&api, &ops_key, "?after=0", None).await?;
    assert_eq!(ops.opening().await?, 0);
    let all = ops.changes(5).await?;
    let mut want_all = [ids(&got_a), ids(&got_b)].concat();
    want_all.sort();
    assert_eq!(ids(&all), want_all, "ops see both tenants, in order");
    ops.quiet("ops replay").await?;

    // Filters narrow a replay; a filter on another tenant's connector is
    // refused, as if the connector did not exist.
    let mut only_a = open(&api, &api.key, &format!("?after=0&connector={a}"), None).await?;
    only_a.opening().await?;
    assert_eq!(ids(&only_a.changes(3).await?), ids(&got_a));
    only_a.quiet("connector filter").await?;
    let mut ops_b = open(&api, &ops_key, &format!("?after=0&connector={b}"), None).await?;
    ops_b.opening().await?;
    assert_eq!(ids(&ops_b.changes(2).await?), ids(&got_b));
    ops_b.quiet("ops connector filter").await?;
    let mut by_kind = open(&api, &key_b, "?after=0&kind=aws-hosted-vif", None).await?;
    by_kind.opening().await?;
    assert_eq!(ids(&by_kind.changes(2).await?), ids(&got_b));
    by_kind.quiet("kind filter").await?;
    let mut other_kind = open(&api, &key_b, "?after=0&kind=gcp-partner-interconnect", None).await?;
    other_kind.opening().await?;
    other_kind.quiet("kind filter without match").await?;
    let r = api
        .http
        .get(format!("{}/v1/events?connector={a}", api.base))
        .bearer_auth(&key_b)
        .send()
        .await?;
    assert_problem(r, 422, "connector").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_sees_its_own_events_in_order_and_no_others() -> Result<()> {
    tenants_are_kept_apart(false).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_sees_its_own_events_in_order_and_no_others_postgres() -> Result<()> {
    tenants_are_kept_apart(true).await
}

#[tokio::test(flavor = "multi_thread")]
async fn last_event_id_resumes_with_nothing_lost_or_repeated() -> Result<()> {
    let api = start(false).await?;
    let c = order(&api, &api.key).await?;
    step(&api, c, "one").await?;
    step(&api, c, "two").await?;
    step(&api, c, "three").await?;

    // A stream that starts now does not replay what came before it.
    let mut live = open(&api, &api.key, "", None).await?;
    let head = live.opening().await?;
    assert_eq!(head, *timeline(&api, &api.key, c).await?.last().unwrap());
    live.quiet("a stream from now, before anything new").await?;

    // Read two of four, then go away.
    let mut first = open(&api, &api.key, "?after=0", None).await?;
    first.opening().await?;
    let seen = first.changes(2).await?;
    let last_seen = *ids(&seen).last().unwrap();
    drop(first);

    // Two more while disconnected.
    step(&api, c, "four").await?;
    step(&api, c, "five").await?;
    let live_got = live.changes(2).await?;
    assert_eq!(
        live_got
            .iter()
            .map(|v| field_of(v, "event"))
            .collect::<Vec<_>>(),
        ["four", "five"],
        "the live stream sees only the new ones"
    );

    // Reconnect as an EventSource does: same URL, plus Last-Event-ID,
    // which wins over `after`.
    let mut resumed = open(&api, &api.key, "?after=0", Some(last_seen)).await?;
    assert_eq!(resumed.opening().await?, last_seen);
    let full = timeline(&api, &api.key, c).await?;
    let rest: Vec<i64> = full.iter().copied().filter(|i| *i > last_seen).collect();
    assert_eq!(rest.len(), 4, "timeline: {full:?}");
    let got = resumed.changes(rest.len()).await?;
    assert_eq!(ids(&got), rest, "exactly the events after {last_seen}");
    assert_eq!(
        [ids(&seen), ids(&got)].concat(),
        full,
        "before and after the reconnect, the whole timeline once"
    );
    resumed.quiet("after the catch-up").await?;

    // And it goes on live.
    delete(&api, &api.key, c).await?;
    let next = resumed.changes(1).await?;
    assert_eq!(
        ids(&next),
        vec![*timeline(&api, &api.key, c).await?.last().unwrap()]
    );
    resumed.quiet("after the live event").await?;

    // `after` alone resumes the same way.
    let mut by_query = open(&api, &api.key, &format!("?after={last_seen}"), None).await?;
    assert_eq!(by_query.opening().await?, last_seen);
    let again = by_query.changes(rest.len() + 1).await?;
    assert_eq!(
        ids(&again),
        timeline(&api, &api.key, c)
            .await?
            .into_iter()
            .filter(|i| *i > last_seen)
            .collect::<Vec<_>>()
    );
    by_query.quiet("after= replay").await?;
    Ok(())
}

/// Asserts a problem+json of `status` whose `errors` name `field`.
async fn assert_problem(r: reqwest::Response, status: u16, field: &str) -> Result<()> {
    let s = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    // Checked before the body is read: a stream that opened by mistake
    // would never end.
    ensure!(s == status, "status {s} ({ct}), want {status}");
    ensure!(ct == "application/problem+json", "content type {ct}");
    let body: Value = tokio::time::timeout(WAIT, r.json())
        .await
        .context("problem body within the wait")?
        .unwrap_or(Value::Null);
    ensure!(body["status"] == status, "{body:#}");
    if !field.is_empty() {
        let fields: Vec<&str> = body["errors"]
            .as_array()
            .map(|a| a.iter().filter_map(|e| e["field"].as_str()).collect())
            .unwrap_or_default();
        ensure!(fields.contains(&field), "want field {field}: {body:#}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_parameters_and_missing_keys_are_problems() -> Result<()> {
    let api = start(false).await?;
    let get = |q: &str| {
        api.http
            .get(format!("{}/v1/events{q}", api.base))
            .bearer_auth(&api.key)
    };
    for (q, field) in [
        ("?after=abc", "after"),
        ("?after=-1", "after"),
        ("?after=1.5", "after"),
        ("?after=1&after=2", "after"),
        ("?connector=abc", "connector"),
        (
            "?connector=00000000-0000-4000-8000-000000000000",
            "connector",
        ),
        ("?kind=aws", "kind"),
    ] {
        assert_problem(get(q).send().await?, 422, field)
            .await
            .with_context(|| q.to_string())?;
    }
    assert_problem(
        get("").header("Last-Event-ID", "abc").send().await?,
        422,
        "Last-Event-ID",
    )
    .await?;

    let r = api
        .http
        .get(format!("{}/v1/events", api.base))
        .send()
        .await?;
    assert_problem(r, 401, "").await?;
    let r = api
        .http
        .get(format!("{}/v1/events?after=abc", api.base))
        .bearer_auth("onr_not-a-key")
        .send()
        .await?;
    assert_problem(r, 401, "").await?;

    // The operation is in the OpenAPI document as an event stream.
    let doc: Value = api
        .http
        .get(format!("{}/openapi.json", api.base))
        .send()
        .await?
        .json()
        .await?;
    let op = &doc["paths"]["/v1/events"]["get"];
    assert!(
        op["responses"]["200"]["content"]["text/event-stream"].is_object(),
        "{op:#}"
    );
    for code in ["401", "422"] {
        assert!(op["responses"][code].is_object(), "{code}: {op:#}");
    }
    let params: Vec<&str> = op["parameters"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| p["name"].as_str()).collect())
        .unwrap_or_default();
    for p in ["after", "connector", "kind", "Last-Event-ID"] {
        assert!(params.contains(&p), "{p}: {params:?}");
    }
    assert!(
        doc["components"]["schemas"]["ConnectorStateChange"].is_object(),
        "payload schema"
    );
    Ok(())
}
