//! Recovering a failed connector (issue 18), end to end and read back from
//! the PE, on SQLite and PostgreSQL: a hosted VIF whose VLAN someone had
//! configured on the PE by hand fails; it keeps its allocations; once the
//! hand-made unit is gone the customer retries it and it reaches `active`
//! with the very same VLAN and addresses. Deleting a failed connector
//! releases what it held.

mod support;

use std::time::Duration;

use anyhow::Result;
use onramp_router_templates::{AttachmentIntent, NeighborIntent, Operation, Platform, VrfIntent};
use serde_json::{Value, json};
use support::{Db, Stack, attachment, templates_root};

const T: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_connector_is_retried_to_active_sqlite() -> Result<()> {
    retried(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_connector_is_retried_to_active_postgres() -> Result<()> {
    retried(Db::Postgres).await
}

/// A unit someone configured by hand on VLAN 100 of pe1's AWS port: the
/// first VLAN onramp's pool hands out there.
fn hand_made() -> AttachmentIntent {
    AttachmentIntent {
        connector_id: "hand-made-1".into(),
        interface: "ge-0/0/1".into(),
        vlan: 100,
        inner_vlan: None,
        local_address: "10.99.0.1/31".into(),
        vrf: VrfIntent {
            name: "legacy".into(),
            route_distinguisher: "65000:9".into(),
            route_target: "target:65000:9".into(),
        },
        neighbor: NeighborIntent {
            address: "10.99.0.0".into(),
            peer_as: 65099,
            local_as: 65000,
            auth_key: "legacy-key".into(),
            prefix_limit: 10,
            bfd: false,
            description: "legacy".into(),
        },
        policer: None,
    }
}

async fn retried(db: Db) -> Result<()> {
    let stack = Stack::start(db).await?;
    let platform = Platform::load(&templates_root(), "reference-pe")?;
    let pe1 = stack.pe_target("pe1");
    onramp_pe_netconf::apply(
        &pe1,
        platform.quirks(),
        &platform.render(Operation::Create, &hand_made())?,
    )
    .await?;

    let (status, c) = stack.order_vif(json!({"bandwidth": "100Mbps"})).await?;
    assert_eq!(status, 202, "{c:#}");
    let id = c["id"].as_str().unwrap().to_string();
    let path = format!("/v1/connectors/{id}");
    let failed = stack.wait_state(&id, "failed", T).await?;
    assert!(
        failed["failure_reason"]
            .as_str()
            .is_some_and(|r| r.contains("VLAN 100 on ge-0/0/1 is already carried")),
        "{failed:#}"
    );
    assert!(
        failed["next_step"].as_str().unwrap().contains("retry"),
        "{failed:#}"
    );
    // Rolled back on the router, yet it keeps what was allocated to it.
    let held = stack.allocations().await?;
    assert!(held.contains(&("vlan".to_string(), 100)), "{held:?}");

    // Retrying before the cause is fixed fails again, the same way, and
    // still holds the same resources.
    let (status, again) = stack
        .post_json(&format!("{path}/retry"), &json!({}))
        .await?;
    assert_eq!(status, 202, "{again:#}");
    assert_eq!(again["state"], "configuring_pe", "{again:#}");
    stack
        .wait_connector(&id, "failed a second time", T, |c| {
            c["state"] == "failed" && c["updated_at"] != failed["updated_at"]
        })
        .await?;
    assert_eq!(stack.allocations().await?, held, "a retry re-allocated");

    // The hand-made unit is removed; the retry goes through to active, on
    // the VLAN and addresses it held.
    onramp_pe_netconf::apply(
        &pe1,
        platform.quirks(),
        &platform.render(Operation::Delete, &hand_made())?,
    )
    .await?;
    let (status, c) = stack
        .post_json(&format!("{path}/retry"), &json!({}))
        .await?;
    assert_eq!(status, 202, "{c:#}");
    let c = stack
        .wait_state(&id, "waiting_customer_acceptance", T)
        .await?;
    stack.accept_vif(c["vif_id"].as_str().unwrap()).await?;
    let c = stack.wait_state(&id, "active", T).await?;
    assert_eq!(c["peering"]["vlan"], 100, "{c:#}");
    assert_eq!(
        stack.allocations().await?,
        held,
        "the retry kept its allocations"
    );
    let neighbor = c["peering"]["aws_address"].as_str().unwrap();
    let a = attachment(
        &stack.running("pe1").await?,
        "ge-0/0/1",
        100,
        neighbor.split('/').next().unwrap(),
    )
    .expect("the unit is on the PE");
    assert_eq!(a.vrf.as_deref(), Some("cust-acme"));
    assert_eq!(a.bandwidth_limit.as_deref(), Some("100000000"));
    let (_, events) = stack.get_json(&format!("{path}/events?limit=200")).await?;
    let retries: Vec<&Value> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "retry_requested")
        .collect();
    assert_eq!(retries.len(), 2, "{events:#}");
    assert!(
        retries[0]["actor"].as_str().unwrap().starts_with("key "),
        "{events:#}"
    );

    // Only a failed connector is retried.
    let (status, p) = stack
        .post_json(&format!("{path}/retry"), &json!({}))
        .await?;
    assert_eq!(
        (status, p["code"].as_str()),
        (409, Some("not_failed")),
        "{p:#}"
    );
    let (status, p) = stack
        .post_json(
            &format!("/v1/connectors/{}/retry", uuid::Uuid::new_v4()),
            &json!({}),
        )
        .await?;
    assert_eq!(status, 404, "{p:#}");

    // A failed connector that is deleted instead releases what it held.
    onramp_pe_netconf::apply(
        &pe1,
        platform.quirks(),
        &platform.render(
            Operation::Create,
            &AttachmentIntent {
                vlan: 101,
                local_address: "10.99.0.3/31".into(),
                neighbor: NeighborIntent {
                    address: "10.99.0.2".into(),
                    ..hand_made().neighbor
                },
                ..hand_made()
            },
        )?,
    )
    .await?;
    let (status, c) = stack.order_vif(json!({})).await?;
    assert_eq!(status, 202, "{c:#}");
    let second = c["id"].as_str().unwrap().to_string();
    stack.wait_state(&second, "failed", T).await?;
    assert!(stack.allocations().await?.len() > held.len());
    let (status, _) = stack.delete(&format!("/v1/connectors/{second}")).await?;
    assert_eq!(status, 202);
    stack.wait_state(&second, "deleted", T).await?;
    assert_eq!(
        stack.allocations().await?,
        held,
        "the deleted one released its own"
    );
    Ok(())
}
