//! The customer KPIs end to end on the lab (issue 19): a hosted VIF on pe1
//! and a Google attachment on pe2, linked; the PEs' SNMP agents scraped by
//! Prometheus through Debian's SNMP exporter; the API reading bitrate, BGP
//! state and routes per connector and latency, jitter and loss per link.
//! Loss injected at a PE shows on the link and breaches its SLA (on the
//! link's and its members' timelines, the event stream and a webhook), then
//! recovers; a session taken down at the AWS simulator shows down in the
//! connector's metrics and on its timeline.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use axum::body::Bytes;
use axum::http::HeaderMap;
use serde_json::{Value, json};
use support::{Db, Stack, StackOptions};

const T: Duration = Duration::from_secs(60);

/// The last value of the series `metric` (of `pe`, and towards `to_pe` for
/// a link), if it has points.
fn last(m: &Value, metric: &str, pe: &str, to_pe: Option<&str>) -> Option<f64> {
    m["series"].as_array()?.iter().find_map(|s| {
        (s["metric"] == metric && s["pe"] == pe && to_pe.is_none_or(|t| s["to_pe"] == t))
            .then(|| s["points"].as_array()?.last()?[1].as_f64())
            .flatten()
    })
}

/// Reads `path` (a metrics URL) until `pred` holds.
async fn metrics_until(
    stack: &Stack,
    path: &str,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Result<Value> {
    let started = Instant::now();
    loop {
        // The last two minutes at one point a second: the newest sample is
        // the last point.
        let (status, m) = stack
            .get_json(&format!("{path}?step=1&start={}", since(120)))
            .await?;
        if status == 200 && pred(&m) {
            return Ok(m);
        }
        if started.elapsed() > T {
            bail!("{what}: not seen within {T:?}; last answer {status}:\n{m:#}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Records every webhook delivery as (event type header, body).
async fn webhook_receiver() -> Result<(String, Arc<Mutex<Vec<(String, Value)>>>)> {
    let got: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let seen = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let seen = seen.clone();
            async move {
                let kind = headers
                    .get("onramp-event-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
                seen.lock().unwrap().push((kind, body));
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, got))
}

async fn webhook_until(
    got: &Arc<Mutex<Vec<(String, Value)>>>,
    what: &str,
    pred: impl Fn(&(String, Value)) -> bool,
) -> Result<Value> {
    let started = Instant::now();
    loop {
        if let Some((_, body)) = got.lock().unwrap().iter().find(|d| pred(d)) {
            return Ok(body.clone());
        }
        if started.elapsed() > T {
            bail!("webhook: {what} not delivered within {T:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn link_until(
    stack: &Stack,
    id: &str,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Result<Value> {
    let started = Instant::now();
    loop {
        let (_, l) = stack.get_json(&format!("/v1/links/{id}")).await?;
        if pred(&l) {
            return Ok(l);
        }
        if started.elapsed() > T {
            bail!("link {what}: not seen within {T:?}:\n{l:#}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Reads the event stream from the start until a frame named `name`.
async fn sse_until(stack: &Stack, name: &str) -> Result<String> {
    let mut r = stack
        .http
        .get(stack.url("/v1/events?after=0"))
        .bearer_auth(&stack.key)
        .send()
        .await?;
    let started = Instant::now();
    let mut text = String::new();
    while started.elapsed() < T {
        match tokio::time::timeout(Duration::from_secs(5), r.chunk()).await {
            Ok(Ok(Some(chunk))) => text.push_str(&String::from_utf8_lossy(&chunk)),
            Ok(Ok(None)) => break,
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => {}
        }
        if text.contains(&format!("event: {name}")) {
            return Ok(text);
        }
    }
    bail!("no `{name}` frame on the event stream within {T:?}:\n{text}")
}

fn since(secs: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::seconds(secs))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        .replace('+', "%2B")
}

#[tokio::test(flavor = "multi_thread")]
async fn kpis_follow_the_network_and_the_faults_injected_into_it() -> Result<()> {
    let stack = Stack::start_with(
        Db::Sqlite,
        StackOptions {
            telemetry: true,
            ..StackOptions::default()
        },
    )
    .await?;
    let telemetry = stack.telemetry.as_ref().expect("a telemetry stack");
    let vif = stack.active_vif(json!({"bandwidth": "200Mbps"})).await?;
    let gcp = stack.active_gcp("BPS_500M").await?;
    let (vif_id, gcp_id) = (vif["id"].as_str().unwrap(), gcp["id"].as_str().unwrap());

    // The hosted VIF's session is up on pe1 with routes, and its unit
    // carries traffic within its 200 Mbps.
    let path = format!("/v1/connectors/{vif_id}/metrics");
    let m = metrics_until(&stack, &path, "the VIF live on pe1", |m| {
        last(m, "bgp_established", "pe1", None) == Some(1.0)
            && last(m, "in_bps", "pe1", None).is_some_and(|v| v > 0.0)
            && last(m, "prefixes_received", "pe1", None).is_some_and(|v| v > 0.0)
    })
    .await?;
    let bps = last(&m, "in_bps", "pe1", None).unwrap();
    assert!(bps <= 200_000_000.0, "above the policer: {bps}");
    assert!(
        last(&m, "out_bps", "pe1", None).is_some_and(|v| v > 0.0),
        "{m:#}"
    );
    assert_eq!(m["connector_id"], vif_id);
    assert_eq!(m["step_seconds"], 1);

    // Linked with the Google attachment on pe2: the two PEs probe each
    // other in the link's VRF, two 2 ms path delays apart, and lose nothing.
    let (status, l) = stack
        .post_json(
            "/v1/links",
            &json!({"name": "dc-to-clouds", "connectors": [vif_id, gcp_id]}),
        )
        .await?;
    assert_eq!(status, 202, "{l:#}");
    let link = l["id"].as_str().unwrap().to_string();
    let link_path = format!("/v1/links/{link}/metrics");
    let m = metrics_until(&stack, &link_path, "probes both ways", |m| {
        ["pe1", "pe2"].iter().zip(["pe2", "pe1"]).all(|(from, to)| {
            last(m, "latency_ms", from, Some(to)).is_some_and(|v| v >= 4.0)
                && last(m, "loss_percent", from, Some(to)) == Some(0.0)
        })
    })
    .await?;
    assert!(
        last(&m, "jitter_ms", "pe1", Some("pe2")).is_some_and(|v| v >= 0.0),
        "{m:#}"
    );
    let l = link_until(&stack, &link, "measured and met", |l| {
        l["sla"]["status"] == "met"
    })
    .await?;
    assert_eq!(
        (&l["sla"]["profile"], &l["sla"]["loss_percent"]),
        (&json!("standard"), &json!(1.0)),
        "{l:#}"
    );
    let (hook_url, deliveries) = webhook_receiver().await?;
    let (status, w) = stack
        .post_json("/v1/webhooks", &json!({"url": hook_url}))
        .await?;
    assert_eq!(status, 201, "{w:#}");

    // Half the probes reaching pe2 are lost: pe1's towards pe2 say so, and
    // the link's SLA (1 % loss) is breached: on the link, on its members'
    // timelines, on the event stream and at the webhook.
    telemetry
        .lab
        .agent("pe2")
        .expect("pe2's agent")
        .knobs
        .set_loss_percent(60.0);
    metrics_until(&stack, &link_path, "the loss towards pe2", |m| {
        last(m, "loss_percent", "pe1", Some("pe2")).is_some_and(|v| v >= 20.0)
    })
    .await?;
    let l = link_until(&stack, &link, "breached", |l| {
        l["sla"]["status"] == "breached"
    })
    .await?;
    let b = &l["sla"]["breached"][0];
    assert_eq!(
        (&b["measure"], &b["from_pe"], &b["to_pe"]),
        (&json!("loss_percent"), &json!("pe1"), &json!("pe2")),
        "{l:#}"
    );
    assert!(
        l["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "sla_breached"),
        "{l:#}"
    );
    let (_, events) = stack
        .get_json(&format!("/v1/connectors/{vif_id}/events?limit=200"))
        .await?;
    let on_vif = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "link_sla_breached")
        .cloned()
        .unwrap_or(Value::Null);
    assert!(
        on_vif["message"]
            .as_str()
            .is_some_and(|m| m.contains("loss percent")),
        "{events:#}"
    );
    let hooked = webhook_until(&deliveries, "the breach", |(kind, body)| {
        kind == "link.sla_breached" && body["link_id"] == link.as_str()
    })
    .await?;
    assert_eq!(hooked["event"], "link_sla_breached", "{hooked:#}");
    sse_until(&stack, "link.sla_breached").await?;
    telemetry
        .lab
        .agent("pe2")
        .expect("pe2's agent")
        .knobs
        .set_loss_percent(0.0);
    link_until(&stack, &link, "met again", |l| l["sla"]["status"] == "met").await?;
    webhook_until(&deliveries, "the recovery", |(kind, _)| {
        kind == "link.sla_recovered"
    })
    .await?;

    // The SLA is the link's to set: a profile and overrides, checked.
    let sla_path = format!("/v1/links/{link}/sla");
    let (status, p) = stack
        .put_json(&sla_path, &json!({"profile": "gold"}))
        .await?;
    assert_eq!(status, 422, "{p:#}");
    assert_eq!(p["errors"][0]["field"], "profile", "{p:#}");
    let (status, p) = stack
        .put_json(&sla_path, &json!({"loss_percent": 101}))
        .await?;
    assert_eq!(
        (status, p["errors"][0]["field"].as_str()),
        (422, Some("loss_percent")),
        "{p:#}"
    );
    let (status, sla) = stack
        .put_json(&sla_path, &json!({"profile": "premium", "loss_percent": 5}))
        .await?;
    assert_eq!(status, 200, "{sla:#}");
    assert_eq!(
        (&sla["latency_ms"], &sla["loss_percent"]),
        (&json!(20.0), &json!(5.0)),
        "{sla:#}"
    );

    // The VIF's session goes down at AWS: down in its metrics (its unit
    // stops carrying traffic) and, from the connector's own poll, on its
    // timeline.
    stack
        .sim
        .sim
        .set_bgp(vif["vif_id"].as_str().unwrap(), false)
        .map_err(anyhow::Error::msg)?;
    let m = metrics_until(&stack, &path, "the session down on pe1", |m| {
        last(m, "bgp_established", "pe1", None) == Some(0.0)
            && last(m, "bgp_uptime_seconds", "pe1", None) == Some(0.0)
    })
    .await?;
    assert_eq!(last(&m, "prefixes_received", "pe1", None), Some(0.0));
    stack.wait_state(vif_id, "down", T).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_ranges_are_refused_and_no_database_is_a_503() -> Result<()> {
    let stack = Stack::start(Db::Sqlite).await?;
    let (status, c) = stack.order_vif(json!({})).await?;
    assert_eq!(status, 202, "{c:#}");
    let path = format!("/v1/connectors/{}/metrics", c["id"].as_str().unwrap());
    for (query, field, code) in [
        ("step=0", "step", "out_of_range"),
        ("start=yesterday", "start", "invalid_format"),
        ("end=2026-13-01T00:00:00Z", "end", "invalid_format"),
        (
            "start=2026-12-07T10:00:00Z&end=2026-12-07T09:00:00Z",
            "start",
            "out_of_range",
        ),
        (
            "start=2026-01-01T00:00:00Z&end=2026-03-01T00:00:00Z",
            "start",
            "out_of_range",
        ),
        (
            "start=2026-12-01T00:00:00Z&end=2026-12-07T00:00:00Z&step=1",
            "step",
            "too_many_points",
        ),
    ] {
        let (status, p) = stack.get_json(&format!("{path}?{query}")).await?;
        assert_eq!(status, 422, "{query}: {p:#}");
        assert_eq!(p["errors"][0]["field"], field, "{query}: {p:#}");
        assert_eq!(p["errors"][0]["code"], code, "{query}: {p:#}");
    }
    let (status, p) = stack.get_json(&format!("{path}?bogus=1")).await?;
    assert_eq!(status, 400, "{p:#}");
    let (status, _) = stack
        .get_json(&format!("/v1/connectors/{}/metrics", uuid::Uuid::new_v4()))
        .await?;
    assert_eq!(status, 404);
    let (status, _) = stack
        .get_json(&format!("/v1/links/{}/metrics", uuid::Uuid::new_v4()))
        .await?;
    assert_eq!(status, 404);
    let (status, p) = stack
        .post_json(
            "/v1/links",
            &json!({"name": "x", "connectors": [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()],
                    "sla": {"profile": "premium", "loss_percent": -1}}),
        )
        .await?;
    assert_eq!(status, 422, "{p:#}");
    assert_eq!(p["errors"][0]["field"], "sla.loss_percent", "{p:#}");
    // This stack's API has no Prometheus: a valid question is a 503 that
    // says so, not an empty answer.
    let (status, p) = stack.get_json(&path).await?;
    assert_eq!(status, 503, "{p:#}");
    assert_eq!(p["code"], "metrics_unavailable", "{p:#}");
    Ok(())
}
