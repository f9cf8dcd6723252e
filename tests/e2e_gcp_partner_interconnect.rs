//! Google Partner Interconnect end to end through the public HTTP API,
//! against the Compute simulator and a real netconfd PE: the customer makes
//! a pairing key, orders with it, onramp creates the PARTNER_PROVIDER
//! attachment, configures the PE with the /29 Google picked and waits for
//! the customer to activate. Then the refusals and the customer-side exits.

mod support;

use std::time::Duration;

use anyhow::Result;
use onramp_simulators::gcp_pi::CreatePairingKey;
use serde_json::{Value, json};
use support::{Db, Stack, attachment, unit_count};

const T: Duration = Duration::from_secs(60);
const GCP_PORT: &str = "ge-0/0/3";

fn pairing_key(stack: &Stack, region: &str, domain: u8) -> String {
    stack
        .gcp
        .sim
        .create_pairing_key(CreatePairingKey::new(region, domain))
        .expect("the simulator creates the customer's attachment")
        .pairing_key
}

async fn order(stack: &Stack, key: &str, extra: Value) -> Result<(u16, Value)> {
    let mut body =
        json!({"kind": "gcp-partner-interconnect", "pairing_key": key, "bandwidth": "BPS_1G"});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    stack.post_json("/v1/connectors", &body).await
}

#[tokio::test(flavor = "multi_thread")]
async fn pairing_key_to_active_and_deprovisioned() -> Result<()> {
    let stack = Stack::start(Db::Sqlite).await?;
    let key = pairing_key(&stack, "us-west1", 1);

    let (status, c) = order(&stack, &key, json!({"peer_asn": 65020})).await?;
    assert_eq!(status, 202, "{c:#}");
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(c["gcp"]["region"], "us-west1");
    assert_eq!(c["gcp"]["interconnect"], "onramp-sjc-zone1");

    let c = stack
        .wait_state(&id, "waiting_customer_activation", T)
        .await?;
    assert_eq!(c["waiting_on"], "customer");
    let name = c["gcp"]["attachment"].as_str().unwrap().to_string();
    let at_google = stack
        .gcp
        .sim
        .partner_attachment("us-west1", &name)
        .expect("partner attachment at Google");
    assert_eq!(at_google.state, "PENDING_CUSTOMER");
    let vlan = c["peering"]["vlan"].as_u64().unwrap() as u16;
    assert_eq!(u64::from(at_google.vlan_tag8021q), u64::from(vlan));
    assert_eq!(
        c["peering"]["onramp_address"],
        at_google.customer_router_ip_address
    );
    assert_eq!(
        c["peering"]["csp_address"],
        at_google.cloud_router_ip_address
    );

    // The PE carries Google's /29 and the session to 16550, without MD5.
    let running = stack.running("pe1").await?;
    let google_ip = at_google.cloud_router_ip_address.split('/').next().unwrap();
    let a = attachment(&running, GCP_PORT, vlan, google_ip).expect("unit on pe1");
    assert_eq!(
        a.address.as_deref(),
        Some(at_google.customer_router_ip_address.as_str())
    );
    assert_eq!(a.neighbor_peer_as.as_deref(), Some("16550"));
    assert_eq!(a.neighbor_local_as.as_deref(), Some("65020"));
    assert_eq!(a.neighbor_key, None);
    assert_eq!(a.bandwidth_limit.as_deref(), Some("1000000000"), "BPS_1G");

    // Nothing moves until the customer activates, however often the worker
    // looks.
    stack
        .wait_more_calls(
            "the worker polls the attachment",
            || stack.gcp_calls("compute.interconnectAttachments.get"),
            2,
            T,
        )
        .await?;
    let (_, c) = stack.get_json(&format!("/v1/connectors/{id}")).await?;
    assert_eq!(c["state"], "waiting_customer_activation");
    stack.gcp.sim.activate(&key).expect("activate");
    stack.wait_state(&id, "active", T).await?;

    let (status, _) = stack.delete(&format!("/v1/connectors/{id}")).await?;
    assert_eq!(status, 202);
    stack.wait_state(&id, "deleted", T).await?;
    assert!(
        stack
            .gcp
            .sim
            .partner_attachment("us-west1", &name)
            .is_none()
    );
    assert_eq!(unit_count(&stack.running("pe1").await?, GCP_PORT), 0);
    assert!(stack.allocations().await?.is_empty(), "resources released");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_keys_unknown_regions_and_customer_exits() -> Result<()> {
    let stack = Stack::start(Db::Sqlite).await?;

    let (status, p) = order(&stack, "not-a-pairing-key", json!({})).await?;
    assert_eq!(status, 422, "{p:#}");
    assert_eq!(p["errors"][0]["field"], "pairing_key");
    assert_eq!(p["errors"][0]["code"], "invalid_format");

    let (status, p) = order(
        &stack,
        "2dfcdee7-b6f9-41d0-b98f-639151097693/europe-west3/1",
        json!({}),
    )
    .await?;
    assert_eq!(status, 422, "{p:#}");
    assert_eq!(p["errors"][0]["code"], "unknown_region");
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.contains("europe-west3") && detail.contains("domain 1"),
        "{detail}"
    );

    let key = pairing_key(&stack, "us-west1", 2);
    let (status, p) = order(&stack, &key, json!({"bandwidth": "BPS_3G"})).await?;
    assert_eq!(status, 422, "{p:#}");
    assert_eq!(p["errors"][0]["field"], "bandwidth");
    assert!(
        stack.allocations().await?.is_empty(),
        "refused orders keep nothing"
    );

    // A well-formed key Google does not know: the order is taken (only
    // Google can tell), then fails with Google's answer and keeps nothing.
    let (status, c) = order(
        &stack,
        "2dfcdee7-b6f9-41d0-b98f-639151097693/us-west1/1",
        json!({}),
    )
    .await?;
    assert_eq!(status, 202, "{c:#}");
    let id = c["id"].as_str().unwrap().to_string();
    let c = stack.wait_state(&id, "failed", T).await?;
    assert!(
        c["failure_reason"].as_str().unwrap().contains("Google"),
        "{c:#}"
    );
    // It keeps its VLAN for a retry until it is deleted.
    stack.delete_failed(&id).await?;
    assert!(stack.allocations().await?.is_empty());

    // The customer never activates: the connector waits visibly, and the
    // order can be cancelled; the attachment is deleted at Google.
    let (status, c) = order(&stack, &key, json!({})).await?;
    assert_eq!(status, 202, "{c:#}");
    let id = c["id"].as_str().unwrap().to_string();
    let c = stack
        .wait_state(&id, "waiting_customer_activation", T)
        .await?;
    assert_eq!(c["waiting_on"], "customer");
    assert!(
        c["next_step"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("activate"),
        "{c:#}"
    );
    let name = c["gcp"]["attachment"].as_str().unwrap().to_string();
    let (status, _) = stack.delete(&format!("/v1/connectors/{id}")).await?;
    assert_eq!(status, 202);
    stack.wait_state(&id, "deleted", T).await?;
    assert!(
        stack
            .gcp
            .sim
            .partner_attachment("us-west1", &name)
            .is_none()
    );
    assert_eq!(unit_count(&stack.running("pe2").await?, GCP_PORT), 0);

    // The customer deletes their attachment instead of activating it.
    let key = pairing_key(&stack, "us-west1", 1);
    let (status, c) = order(&stack, &key, json!({})).await?;
    assert_eq!(status, 202, "{c:#}");
    let id = c["id"].as_str().unwrap().to_string();
    stack
        .wait_state(&id, "waiting_customer_activation", T)
        .await?;
    stack
        .gcp
        .sim
        .customer_delete(&key)
        .expect("customer deletes");
    stack.wait_state(&id, "rejected", T).await?;
    assert_eq!(unit_count(&stack.running("pe1").await?, GCP_PORT), 0);
    assert!(stack.allocations().await?.is_empty(), "resources released");
    Ok(())
}
