//! `/_sim/clock` on every simulator: a manual clock is read and moved over
//! HTTP; the system clock and a malformed body are refused with a message.

use std::time::Duration;

use onramp_simulators::aws_dx::{AwsDxSim, RunningSim, SimConfig};
use onramp_simulators::azure_er::{AzureErSim, AzureSimConfig, RunningAzureSim};
use onramp_simulators::gcp_pi::{Clock, GcpPiSim, GcpSimConfig, RunningGcpSim};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The three simulators on `clock`, and their endpoint URLs.
async fn start(clock: Clock) -> (Vec<String>, (RunningSim, RunningAzureSim, RunningGcpSim)) {
    let addr = "127.0.0.1:0".parse().unwrap();
    let aws = AwsDxSim::new(SimConfig {
        clock: clock.clone(),
        ..SimConfig::default()
    })
    .serve(addr)
    .await
    .unwrap();
    let azure = AzureErSim::new(AzureSimConfig {
        clock: clock.clone(),
        ..AzureSimConfig::default()
    })
    .serve(addr)
    .await
    .unwrap();
    let gcp = GcpPiSim::new(GcpSimConfig {
        clock,
        ..GcpSimConfig::default()
    })
    .serve(addr)
    .await
    .unwrap();
    let urls = vec![aws.endpoint_url(), azure.endpoint_url(), gcp.endpoint_url()];
    (urls, (aws, azure, gcp))
}

async fn call(method: reqwest::Method, url: String, body: Option<&str>) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new().request(method, url);
    if let Some(b) = body {
        req = req.body(b.to_owned());
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

fn rfc3339(v: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(v["now"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn a_manual_clock_is_read_and_moved_over_http() {
    let clock = Clock::manual();
    let (urls, _sims) = start(clock.clone()).await;
    for base in &urls {
        let (s, before) = call(reqwest::Method::GET, format!("{base}/_sim/clock"), None).await;
        assert_eq!(s, StatusCode::OK, "{base}: {before}");
        assert_eq!(before["manual"], true);

        let (s, after) = call(
            reqwest::Method::POST,
            format!("{base}/_sim/clock/advance"),
            Some(r#"{"ms": 1500}"#),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{base}: {after}");
        assert_eq!(
            after["advanced_ms"].as_u64().unwrap() - before["advanced_ms"].as_u64().unwrap(),
            1500
        );
        assert_eq!(
            (rfc3339(&after) - rfc3339(&before)).num_milliseconds(),
            1500,
            "{base}: {before} then {after}"
        );
    }
    // One clock, shared: three advances of 1.5 s.
    assert_eq!(clock.advanced(), Duration::from_millis(4500));
}

#[tokio::test]
async fn the_system_clock_and_bad_bodies_are_refused_with_a_message() {
    let (urls, _sims) = start(Clock::system()).await;
    for base in &urls {
        let (s, v) = call(reqwest::Method::GET, format!("{base}/_sim/clock"), None).await;
        assert_eq!((s, &v["manual"]), (StatusCode::OK, &json!(false)));
        assert_eq!(v["advanced_ms"], 0);

        let advance = format!("{base}/_sim/clock/advance");
        let (s, v) = call(
            reqwest::Method::POST,
            advance.clone(),
            Some(r#"{"ms": 10}"#),
        )
        .await;
        assert_eq!(s, StatusCode::CONFLICT, "{base}: {v}");
        assert!(
            v["message"].as_str().unwrap().contains("Clock::manual()"),
            "{v}"
        );

        for bad in [r#"{"seconds": 1}"#, r#"{"ms": -5}"#, "not json"] {
            let (s, v) = call(reqwest::Method::POST, advance.clone(), Some(bad)).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{base} {bad}: {v}");
            assert!(
                v["message"]
                    .as_str()
                    .unwrap()
                    .contains(r#"expected {"ms": <milliseconds>}"#),
                "{v}"
            );
        }
    }
}
