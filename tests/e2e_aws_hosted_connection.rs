//! AWS hosted connections end to end through the public HTTP API, against
//! the Direct Connect simulator (driven by the official SDK on the customer's
//! side) and a real netconfd PE: order, the customer confirms, creates a VIF
//! on it and reports it, onramp configures the PE and sees BGP up. Then the
//! refusals: a bandwidth AWS does not sell, a customer who declines, and one
//! who never confirms and cancels.

mod support;

use std::time::Duration;

use anyhow::Result;
use aws_sdk_directconnect::types::NewPrivateVirtualInterface;
use serde_json::{Value, json};
use support::{CUSTOMER_ACCOUNT, Db, Stack, attachment, unit_count};

const T: Duration = Duration::from_secs(60);

async fn order(stack: &Stack, extra: Value) -> Result<(u16, Value)> {
    let mut body = json!({"kind": "aws-hosted-connection", "aws_account_id": CUSTOMER_ACCOUNT,
                          "location": "EqDC2", "bandwidth": "500Mbps"});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    stack.post_json("/v1/connectors", &body).await
}

fn report() -> Value {
    json!({
        "customer_address": "169.254.20.2/30",
        "amazon_address": "169.254.20.1/30",
        "asn": 65030,
        "auth_key": "hosted-conn-key-01",
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn hosted_connection_confirmed_vif_reported_active_and_deleted() -> Result<()> {
    let stack = Stack::start(Db::Sqlite).await?;
    let (status, c) = order(&stack, json!({})).await?;
    assert_eq!(status, 202, "{c:#}");
    let id = c["id"].as_str().unwrap().to_string();
    let vlan = c["hosted_connection"]["vlan"].as_u64().unwrap() as i32;

    let c = stack
        .wait_state(&id, "waiting_customer_confirmation", T)
        .await?;
    assert_eq!(c["waiting_on"], "customer");
    let conn = c["hosted_connection"]["connection_id"]
        .as_str()
        .unwrap()
        .to_string();
    let at_aws = stack.sim.sim.hosted_connection(&conn).expect("at AWS");
    assert_eq!(at_aws.state, "ordering");
    assert_eq!(i64::from(at_aws.vlan), i64::from(vlan));

    // Too early: the connection is not accepted yet.
    let (status, p) = stack
        .put_json(&format!("/v1/connectors/{id}/vif"), &report())
        .await?;
    assert_eq!(status, 409, "{p:#}");
    assert_eq!(p["code"], "not_waiting_for_vif");

    let customer = stack.customer_aws();
    customer
        .confirm_connection()
        .connection_id(&conn)
        .send()
        .await?;
    stack.wait_state(&id, "waiting_vif_details", T).await?;
    // The connection becomes available after the simulator's delay; the
    // customer then creates their VIF on it with onramp's VLAN.
    let start = std::time::Instant::now();
    let vif_id = loop {
        let made = customer
            .create_private_virtual_interface()
            .connection_id(&conn)
            .new_private_virtual_interface(
                NewPrivateVirtualInterface::builder()
                    .virtual_interface_name("customer-vif")
                    .vlan(vlan)
                    .asn(65030)
                    .auth_key("hosted-conn-key-01")
                    .customer_address("169.254.20.2/30")
                    .amazon_address("169.254.20.1/30")
                    .virtual_gateway_id("vgw-0123abcd")
                    .build()?,
            )
            .send()
            .await;
        match made {
            Ok(v) => break v.virtual_interface_id().unwrap().to_string(),
            Err(e) if start.elapsed() < T => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => anyhow::bail!("creating the customer's VIF: {e:?}"),
        }
    };

    // Bad reports are refused with the fields named, and change nothing.
    let (status, p) = stack
        .put_json(
            &format!("/v1/connectors/{id}/vif"),
            &json!({"customer_address": "169.254.20.2/30", "amazon_address": "10.0.0.1/30",
                    "asn": 64512, "auth_key": "x"}),
        )
        .await?;
    assert_eq!(status, 422, "{p:#}");
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["amazon_address", "asn", "auth_key"], "{p:#}");
    let (_, c) = stack.get_json(&format!("/v1/connectors/{id}")).await?;
    assert_eq!(c["state"], "waiting_vif_details");

    let mut good = report();
    good["vif_id"] = json!(vif_id);
    let (status, c) = stack
        .put_json(&format!("/v1/connectors/{id}/vif"), &good)
        .await?;
    assert_eq!(status, 202, "{c:#}");
    assert!(
        !c.to_string().contains("hosted-conn-key-01"),
        "key never returned"
    );
    let c = stack.wait_state(&id, "active", T).await?;
    assert_eq!(c["hosted_connection"]["vif_id"], vif_id.as_str());
    // The key the customer reported is on the PE (below) and sealed
    // everywhere onramp keeps it; no log has it.
    stack
        .assert_kept_nowhere("hosted-conn-key-01", "the customer's BGP key")
        .await?;

    let running = stack.running("pe1").await?;
    let a = attachment(&running, "ge-0/0/1", vlan as u16, "169.254.20.1").expect("unit on pe1");
    assert_eq!(a.address.as_deref(), Some("169.254.20.2/30"));
    assert_eq!(a.neighbor_peer_as.as_deref(), Some("64512"));
    assert_eq!(a.neighbor_local_as.as_deref(), Some("65030"));
    assert_eq!(a.neighbor_key.as_deref(), Some("hosted-conn-key-01"));
    assert_eq!(a.bandwidth_limit.as_deref(), Some("500000000"), "500Mbps");

    let (status, _) = stack.delete(&format!("/v1/connectors/{id}")).await?;
    assert_eq!(status, 202);
    stack.wait_state(&id, "deleted", T).await?;
    let at_aws = stack
        .sim
        .sim
        .hosted_connection(&conn)
        .expect("still listed");
    assert!(
        matches!(at_aws.state.as_str(), "deleting" | "deleted"),
        "{}",
        at_aws.state
    );
    assert_eq!(unit_count(&stack.running("pe1").await?, "ge-0/0/1"), 0);
    assert!(stack.allocations().await?.is_empty(), "resources released");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_bandwidth_decline_and_a_customer_who_never_confirms() -> Result<()> {
    let stack = Stack::start(Db::Sqlite).await?;

    let (status, p) = order(&stack, json!({"bandwidth": "3Gbps"})).await?;
    assert_eq!(status, 422, "{p:#}");
    assert_eq!(p["errors"][0]["field"], "bandwidth");
    assert_eq!(p["errors"][0]["code"], "unsupported_bandwidth");
    assert!(stack.allocations().await?.is_empty());

    // The customer declines: the connection is rejected, everything released.
    let (status, c) = order(&stack, json!({})).await?;
    assert_eq!(status, 202, "{c:#}");
    let id = c["id"].as_str().unwrap().to_string();
    let c = stack
        .wait_state(&id, "waiting_customer_confirmation", T)
        .await?;
    let conn = c["hosted_connection"]["connection_id"]
        .as_str()
        .unwrap()
        .to_string();
    stack
        .customer_aws()
        .delete_connection()
        .connection_id(&conn)
        .send()
        .await?;
    let c = stack.wait_state(&id, "rejected", T).await?;
    assert!(
        c["failure_reason"].as_str().unwrap().contains("declined"),
        "{c:#}"
    );
    assert!(stack.allocations().await?.is_empty(), "resources released");

    // Never confirmed: it waits visibly on the customer; cancelling deletes
    // the hosted connection at AWS.
    let (status, c) = order(&stack, json!({})).await?;
    assert_eq!(status, 202, "{c:#}");
    let id = c["id"].as_str().unwrap().to_string();
    let c = stack
        .wait_state(&id, "waiting_customer_confirmation", T)
        .await?;
    let conn = c["hosted_connection"]["connection_id"]
        .as_str()
        .unwrap()
        .to_string();
    // Still waiting after the worker has looked at AWS twice more.
    stack
        .wait_more_calls(
            "the worker polls the hosted connection",
            || stack.aws_calls("DescribeHostedConnections"),
            2,
            T,
        )
        .await?;
    let (_, c) = stack.get_json(&format!("/v1/connectors/{id}")).await?;
    assert_eq!(c["state"], "waiting_customer_confirmation");
    assert_eq!(c["waiting_on"], "customer");
    let (status, _) = stack.delete(&format!("/v1/connectors/{id}")).await?;
    assert_eq!(status, 202);
    stack.wait_state(&id, "deleted", T).await?;
    let at_aws = stack
        .sim
        .sim
        .hosted_connection(&conn)
        .expect("still listed");
    assert!(
        matches!(at_aws.state.as_str(), "deleting" | "deleted"),
        "{}",
        at_aws.state
    );
    assert!(stack.allocations().await?.is_empty());
    Ok(())
}
