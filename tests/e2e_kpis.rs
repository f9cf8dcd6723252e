//! The customer KPIs end to end on the lab (issue 19): a hosted VIF on pe1
//! and a Google attachment on pe2, linked; the PEs' SNMP agents scraped by
//! Prometheus through Debian's SNMP exporter; the API reading bitrate, BGP
//! state and routes per connector and latency, jitter and loss per link.
//! Loss injected at a PE shows on the link; a session taken down at the AWS
//! simulator shows down in the connector's metrics and on its timeline.

mod support;

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use onramp_simulators::gcp_pi::CreatePairingKey;
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

fn since(secs: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::seconds(secs))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        .replace('+', "%2B")
}

async fn active_vif(stack: &Stack) -> Result<Value> {
    let (status, c) = stack.order_vif(json!({"bandwidth": "200Mbps"})).await?;
    assert_eq!(status, 202, "{c:#}");
    let id = c["id"].as_str().unwrap().to_string();
    let c = stack
        .wait_state(&id, "waiting_customer_acceptance", T)
        .await?;
    stack.accept_vif(c["vif_id"].as_str().unwrap()).await?;
    stack.wait_state(&id, "active", T).await
}

async fn active_gcp(stack: &Stack) -> Result<Value> {
    let key = stack
        .gcp
        .sim
        .create_pairing_key(CreatePairingKey::new("us-west1", 2))
        .expect("pairing key")
        .pairing_key;
    let (status, c) = stack
        .post_json(
            "/v1/connectors",
            &json!({"kind": "gcp-partner-interconnect", "pairing_key": key, "bandwidth": "BPS_500M"}),
        )
        .await?;
    assert_eq!(status, 202, "{c:#}");
    let id = c["id"].as_str().unwrap().to_string();
    stack
        .wait_state(&id, "waiting_customer_activation", T)
        .await?;
    stack.gcp.sim.activate(&key).expect("activate");
    stack.wait_state(&id, "active", T).await
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
    let vif = active_vif(&stack).await?;
    let gcp = active_gcp(&stack).await?;
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

    // Half the probes reaching pe2 are lost: pe1's towards pe2 say so.
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
    telemetry
        .lab
        .agent("pe2")
        .expect("pe2's agent")
        .knobs
        .set_loss_percent(0.0);

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
    // This stack's API has no Prometheus: a valid question is a 503 that
    // says so, not an empty answer.
    let (status, p) = stack.get_json(&path).await?;
    assert_eq!(status, 503, "{p:#}");
    assert_eq!(p["code"], "metrics_unavailable", "{p:#}");
    Ok(())
}
