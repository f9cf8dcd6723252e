//! End to end through the public HTTP API: order a hosted VIF, accept it as
//! the customer, see it active on the PE and at AWS, delete it and see
//! everything gone. Runs on SQLite and on PostgreSQL.

mod support;

use std::time::Duration;

use anyhow::Result;
use serde_json::json;
use support::{CUSTOMER_ACCOUNT, Db, Stack, attachment, unit_count};

const T: Duration = Duration::from_secs(60);

async fn lifecycle(db: Db) -> Result<()> {
    let stack = Stack::start(db).await?;

    let (status, c) = stack.order_vif(json!({})).await?;
    assert_eq!(status, 202, "{c:#}");
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(c["links"]["events"], format!("/v1/connectors/{id}/events"));
    assert_eq!(c["peering"]["asn_source"], "allocated");

    let c = stack
        .wait_state(&id, "waiting_customer_acceptance", T)
        .await?;
    assert_eq!(c["waiting_on"], "customer");
    let vif_id = c["vif_id"].as_str().unwrap().to_string();
    let vlan = c["peering"]["vlan"].as_u64().unwrap() as u16;
    let asn = c["peering"]["customer_asn"].as_u64().unwrap();
    let pe_addr = c["peering"]["onramp_address"].as_str().unwrap().to_string();
    let aws_addr = c["peering"]["aws_address"].as_str().unwrap().to_string();
    assert!(
        (64513..=65534).contains(&asn),
        "private ASN allocated, got {asn}"
    );

    // Still waiting after the worker has looked at AWS twice more: nothing
    // moves without the customer.
    stack
        .wait_more_calls(
            "the worker polls the VIF",
            || stack.aws_calls("DescribeVirtualInterfaces"),
            2,
            T,
        )
        .await?;
    let (_, c) = stack.get_json(&format!("/v1/connectors/{id}")).await?;
    assert_eq!(c["state"], "waiting_customer_acceptance");

    // The customer accepts in "their AWS console".
    let out = stack.accept_vif(&vif_id).await?;
    assert_eq!(
        out.virtual_interface_state()
            .map(aws_sdk_directconnect::types::VirtualInterfaceState::as_str),
        Some("pending")
    );

    stack.wait_state(&id, "active", T).await?;

    // The PE carries exactly what was allocated.
    let running = stack.running("pe1").await?;
    let neighbor = aws_addr.split('/').next().unwrap();
    let a = attachment(&running, "ge-0/0/1", vlan, neighbor).expect("unit on the PE");
    assert_eq!(a.vlan.as_deref(), Some(vlan.to_string().as_str()));
    assert_eq!(a.address.as_deref(), Some(pe_addr.as_str()));
    assert_eq!(a.neighbor_peer_as.as_deref(), Some("64512"));
    assert_eq!(
        a.neighbor_local_as.as_deref(),
        Some(asn.to_string().as_str())
    );
    // The 1Gbps ordered is enforced on the unit.
    assert_eq!(a.bandwidth_limit.as_deref(), Some("1000000000"));
    let md5 = a.neighbor_key.clone().expect("MD5 key configured");
    assert_eq!(md5.len(), 24);
    // The key is sealed at rest and never leaves through the API.
    let row = onramp_store::connectors::get(&stack.db, id.parse()?)
        .await?
        .unwrap();
    assert!(
        !row.resources.contains(&md5),
        "BGP key stored in clear: {}",
        row.resources
    );
    let (_, body) = stack.get_json(&format!("/v1/connectors/{id}")).await?;
    assert!(!body.to_string().contains(&md5));
    let (_, events) = stack
        .get_json(&format!("/v1/connectors/{id}/events"))
        .await?;
    assert!(!events.to_string().contains(&md5));
    // Nor anywhere else onramp keeps data or logs: the whole database
    // (jobs, outbox, timeline, idempotency records) and every log.
    stack.assert_kept_nowhere(&md5, "the BGP key").await?;
    stack
        .assert_kept_nowhere(
            &stack.pes.endpoint("pe1").unwrap().password,
            "the PE password",
        )
        .await?;
    assert_eq!(a.vrf.as_deref(), Some("cust-acme"));

    // AWS holds the same VLAN, ASN and addresses.
    let vif = stack
        .sim
        .sim
        .virtual_interfaces()
        .into_iter()
        .find(|v| v.virtual_interface_id == vif_id)
        .unwrap();
    assert_eq!(vif.vlan, vlan);
    assert_eq!(u64::from(vif.asn), asn);
    assert_eq!(vif.customer_address, pe_addr);
    assert_eq!(vif.amazon_address, aws_addr);
    assert_eq!(vif.owner_account, CUSTOMER_ACCOUNT);
    assert_eq!(vif.state, "available");

    let (_, events) = stack
        .get_json(&format!("/v1/connectors/{id}/events"))
        .await?;
    let states: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to_state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        [
            "configuring_pe",
            "allocating_vif",
            "waiting_customer_acceptance",
            "waiting_bgp",
            "active"
        ]
    );

    // Deprovision.
    let (status, _) = stack.delete(&format!("/v1/connectors/{id}")).await?;
    assert_eq!(status, 202);
    stack.wait_state(&id, "deleted", T).await?;
    let running = stack.running("pe1").await?;
    assert!(
        attachment(&running, "ge-0/0/1", vlan, neighbor).is_none(),
        "unit removed: {running}"
    );
    assert!(!running.contains(neighbor), "neighbor removed: {running}");
    let vif = stack
        .sim
        .sim
        .virtual_interfaces()
        .into_iter()
        .find(|v| v.virtual_interface_id == vif_id)
        .unwrap();
    assert!(
        matches!(vif.state.as_str(), "deleting" | "deleted"),
        "VIF state {}",
        vif.state
    );
    assert!(stack.allocations().await?.is_empty(), "resources released");

    // A second delete is a no-op.
    let (status, c) = stack.delete(&format!("/v1/connectors/{id}")).await?;
    assert_eq!((status, c["state"].as_str()), (202, Some("deleted")));

    // The released VLAN and subnet are handed out again.
    let (status, c2) = stack.order_vif(json!({"customer_asn": 65010})).await?;
    assert_eq!(status, 202);
    assert_eq!(c2["peering"]["vlan"].as_u64(), Some(u64::from(vlan)));
    assert_eq!(c2["peering"]["aws_address"], aws_addr.as_str());
    assert_eq!(c2["peering"]["customer_asn"], 65010);
    assert_eq!(c2["peering"]["asn_source"], "customer");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn hosted_vif_lifecycle_sqlite() -> Result<()> {
    lifecycle(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread")]
async fn hosted_vif_lifecycle_postgres() -> Result<()> {
    lifecycle(Db::Postgres).await
}

/// The customer declines the VIF: the connector rolls back, ends `rejected`,
/// and the PE and the pools are clean again.
#[tokio::test(flavor = "multi_thread")]
async fn customer_declines_vif() -> Result<()> {
    let stack = Stack::start(Db::Sqlite).await?;
    let (_, c) = stack
        .order_vif(json!({"bandwidth": "500Mbps", "vlan": 321}))
        .await?;
    let id = c["id"].as_str().unwrap().to_string();
    let c = stack
        .wait_state(&id, "waiting_customer_acceptance", T)
        .await?;
    let vif_id = c["vif_id"].as_str().unwrap();
    stack
        .customer_aws()
        .delete_virtual_interface()
        .virtual_interface_id(vif_id)
        .send()
        .await?;
    let c = stack.wait_state(&id, "rejected", T).await?;
    assert!(
        c["failure_reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{c:#}"
    );
    assert_eq!(unit_count(&stack.running("pe1").await?, "ge-0/0/1"), 0);
    assert!(stack.allocations().await?.is_empty());
    Ok(())
}

/// AWS refuses the allocation: the connector fails with AWS's message and
/// releases nothing: a retry once AWS takes VIFs again goes through.
#[tokio::test(flavor = "multi_thread")]
async fn aws_rejects_allocation() -> Result<()> {
    let stack = Stack::start(Db::Sqlite).await?;
    stack
        .sim
        .sim
        .inject_fault(onramp_simulators::aws_dx::Fault::client(
            "AllocatePrivateVirtualInterface",
            "Exceeded the maximum number of virtual interfaces on dxcon-onramp01",
            1,
        ));
    let (_, c) = stack.order_vif(json!({})).await?;
    let id = c["id"].as_str().unwrap().to_string();
    let c = stack.wait_state(&id, "failed", T).await?;
    assert!(
        c["failure_reason"]
            .as_str()
            .unwrap()
            .contains("Exceeded the maximum number of virtual interfaces"),
        "{c:#}"
    );
    assert_eq!(
        unit_count(&stack.running("pe1").await?, "ge-0/0/1"),
        0,
        "PE rolled back"
    );
    // It keeps its allocations, so that once AWS takes VIFs again (the
    // fault fired once) a retry goes through with the same ones.
    let held = stack.allocations().await?;
    assert!(!held.is_empty());
    let (status, c) = stack
        .post_json(&format!("/v1/connectors/{id}/retry"), &json!({}))
        .await?;
    assert_eq!(status, 202, "{c:#}");
    stack
        .wait_state(&id, "waiting_customer_acceptance", T)
        .await?;
    assert_eq!(stack.allocations().await?, held);
    let (status, _) = stack.delete(&format!("/v1/connectors/{id}")).await?;
    assert_eq!(status, 202);
    stack.wait_state(&id, "deleted", T).await?;
    assert!(stack.allocations().await?.is_empty());
    Ok(())
}

/// A worker SIGKILLed mid-provisioning, then restarted: the connector still
/// finishes, with exactly one VIF at AWS and one attachment on the PE.
async fn crash(db: Db) -> Result<()> {
    let mut stack = Stack::start(db).await?;
    let (_, c) = stack.order_vif(json!({})).await?;
    let id = c["id"].as_str().unwrap().to_string();
    // Kill as soon as the worker is past the PE push, i.e. while it is
    // talking to AWS, then again while it is waiting on the customer.
    stack
        .wait_connector(&id, "past configuring_pe", T, |c| {
            c["state"] != "configuring_pe"
        })
        .await?;
    stack.kill_worker();
    stack.start_worker()?;
    let c = stack
        .wait_state(&id, "waiting_customer_acceptance", T)
        .await?;
    stack.kill_worker();
    let vif_id = c["vif_id"].as_str().unwrap().to_string();
    stack.accept_vif(&vif_id).await?;
    stack.start_worker()?;
    stack.wait_state(&id, "active", T).await?;

    let name = format!("onramp-{id}");
    let vifs: Vec<_> = stack
        .sim
        .sim
        .virtual_interfaces()
        .into_iter()
        .filter(|v| v.virtual_interface_name == name)
        .collect();
    assert_eq!(vifs.len(), 1, "exactly one VIF: {vifs:#?}");
    assert_eq!(unit_count(&stack.running("pe1").await?, "ge-0/0/1"), 1);

    // Kill during teardown too; it must still end clean.
    stack.delete(&format!("/v1/connectors/{id}")).await?;
    stack.kill_worker();
    stack.start_worker()?;
    stack.wait_state(&id, "deleted", T).await?;
    assert_eq!(unit_count(&stack.running("pe1").await?, "ge-0/0/1"), 0);
    assert!(stack.allocations().await?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn worker_crash_mid_provisioning_sqlite() -> Result<()> {
    crash(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread")]
async fn worker_crash_mid_provisioning_postgres() -> Result<()> {
    crash(Db::Postgres).await
}

/// Two worker processes and a burst of orders on one PE: one writer at a time
/// pushes (the PE lease), changes that queue up meanwhile ride in one commit,
/// and every connector ends configured exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn burst_on_one_pe_with_two_workers() -> Result<()> {
    let mut stack = Stack::start(Db::Sqlite).await?;
    stack.add_worker()?;
    let mut ids = Vec::new();
    for _ in 0..20 {
        let (status, c) = stack.order_vif(json!({})).await?;
        assert_eq!(status, 202);
        ids.push(c["id"].as_str().unwrap().to_string());
    }
    for id in &ids {
        stack
            .wait_state(id, "waiting_customer_acceptance", T)
            .await?;
    }
    assert_eq!(unit_count(&stack.running("pe1").await?, "ge-0/0/1"), 20);
    use sea_orm::{EntityTrait, QuerySelect};
    let done_at: Vec<Option<chrono::DateTime<chrono::Utc>>> =
        onramp_store::entity::pe_change::Entity::find()
            .select_only()
            .column(onramp_store::entity::pe_change::Column::DoneAt)
            .into_tuple()
            .all(&stack.db)
            .await?;
    assert_eq!(done_at.len(), 20, "one queued change per connector");
    assert!(done_at.iter().all(Option::is_some));
    Ok(())
}
