//! Each validation layer stops a different bad change before it counts, and
//! in every case the PE is left as it was (read back over NETCONF):
//! 1. a VLAN clash with what the PE already carries: the semantic check;
//! 2. a template that renders an element the device model lacks: libyang;
//! 3. a template that references a unit that does not exist: libyang checks
//!    a fragment, not references across the datastore, so onramp's own
//!    reference check refuses it (the device model no longer carries that
//!    leafref, see docs/decisions/0012);
//! 4. a teardown template that removes a whole port another connector's VRF
//!    membership still names: passes all of onramp's checks, and the device
//!    refuses it with an rpc-error naming the path; the teardown retries,
//!    visibly, and the PE keeps both attachments.

mod support;

use std::time::Duration;

use anyhow::Result;
use onramp_router_templates::{AttachmentIntent, NeighborIntent, Operation, Platform, VrfIntent};
use serde_json::json;
use support::{Db, Stack, StackOptions, planted, planted_in, templates_root, unit_count};

const T: Duration = Duration::from_secs(60);

async fn order_and_expect_failure(stack: &Stack) -> Result<String> {
    let (status, c) = stack.order_vif(json!({})).await?;
    assert_eq!(status, 202, "{c:#}");
    let id = c["id"].as_str().unwrap().to_string();
    let c = stack.wait_state(&id, "failed", T).await?;
    assert!(
        !stack.allocations().await?.is_empty(),
        "a failed connector keeps its allocations for a retry"
    );
    let (_, events) = stack
        .get_json(&format!("/v1/connectors/{id}/events"))
        .await?;
    let states: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to_state"].as_str().unwrap())
        .collect();
    assert!(
        !states.contains(&"allocating_vif"),
        "nothing was asked of AWS: {states:?}"
    );
    Ok(c["failure_reason"].as_str().unwrap_or_default().to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn semantic_check_refuses_a_vlan_the_pe_already_carries() -> Result<()> {
    let stack = Stack::start(Db::Sqlite).await?;
    // Someone configured unit 100 on the port by hand; onramp's pool does not
    // know, and would hand VLAN 100 out.
    let platform = Platform::load(&templates_root(), "reference-pe")?;
    let foreign = AttachmentIntent {
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
    };
    let rendered = platform.render(Operation::Create, &foreign)?;
    onramp_pe_netconf::apply(&stack.pe_target("pe1"), platform.quirks(), &rendered).await?;
    let before = stack.running("pe1").await?;

    let reason = order_and_expect_failure(&stack).await?;
    assert!(
        reason.contains("VLAN 100 on ge-0/0/1 is already carried"),
        "{reason}"
    );
    assert_eq!(stack.running("pe1").await?, before, "PE unchanged");
    assert_eq!(unit_count(&before, "ge-0/0/1"), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn libyang_refuses_a_template_bug() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let templates = planted(dir.path(), |t| {
        t.replace(
            "<vlan-id>{{ vlan }}</vlan-id>",
            "<vlan-id>{{ vlan }}</vlan-id>\n      <colour>blue</colour>",
        )
    })?;
    let stack = Stack::start_with_templates(Db::Sqlite, templates).await?;
    let before = stack.running("pe1").await?;
    let reason = order_and_expect_failure(&stack).await?;
    assert!(reason.to_lowercase().contains("yang"), "{reason}");
    assert!(reason.contains("colour"), "{reason}");
    assert_eq!(stack.running("pe1").await?, before, "PE unchanged");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reference_to_a_unit_nobody_creates_is_refused_before_the_push() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let templates = planted(dir.path(), |t| {
        t.replace(
            "      <unit>{{ vlan }}</unit>",
            "      <unit>{{ vlan + 1 }}</unit>",
        )
    })?;
    let stack = Stack::start_with_templates(Db::Sqlite, templates).await?;
    let before = stack.running("pe1").await?;
    let reason = order_and_expect_failure(&stack).await?;
    assert!(reason.contains("unit_missing"), "{reason}");
    assert!(
        reason.contains("neither the PE nor this change"),
        "{reason}"
    );
    assert_eq!(stack.running("pe1").await?, before, "PE unchanged");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_device_refuses_a_dangling_reference_with_its_path() -> Result<()> {
    let dir = tempfile::tempdir()?;
    // The bug: the teardown removes the whole port, not the unit.
    let templates = planted_in(dir.path(), "attachment-delete.xml.j2", |t| {
        t.replace(
            "  <interface>\n    <name>{{ interface }}</name>\n    <unit nc:operation=\"remove\">\n      <id>{{ vlan }}</id>\n    </unit>\n  </interface>",
            "  <interface nc:operation=\"remove\">\n    <name>{{ interface }}</name>\n  </interface>",
        )
    })?;
    let stack = Stack::start_with_templates(Db::Sqlite, templates).await?;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (status, c) = stack.order_vif(json!({})).await?;
        assert_eq!(status, 202, "{c:#}");
        ids.push(c["id"].as_str().unwrap().to_string());
    }
    for id in &ids {
        stack
            .wait_state(id, "waiting_customer_acceptance", T)
            .await?;
    }
    let before = stack.running("pe1").await?;
    assert_eq!(unit_count(&before, "ge-0/0/1"), 2);

    let (status, _) = stack.delete(&format!("/v1/connectors/{}", ids[0])).await?;
    assert_eq!(status, 202);
    // The second connector's VRF membership still names the port, so the
    // device refuses; the teardown keeps retrying, and says why.
    let c = stack
        .wait_connector(&ids[0], "a refused teardown, retrying", T, |c| {
            c["state"] == "removing_pe_config"
                && c["last_error"]
                    .as_str()
                    .is_some_and(|e| e.contains("retrying remove_pe_config"))
        })
        .await?;
    let reason = c["last_error"].as_str().unwrap_or_default();
    assert!(
        reason.contains("edit-config") || reason.contains("commit"),
        "which step: {reason}"
    );
    assert!(reason.contains("/"), "the router's path: {reason}");
    assert_eq!(stack.running("pe1").await?, before, "PE unchanged");
    let (_, other) = stack
        .get_json(&format!("/v1/connectors/{}", ids[1]))
        .await?;
    assert_eq!(other["state"], "waiting_customer_acceptance");
    Ok(())
}

/// The teardown the PE keeps refusing (the planted bug above) is handed to
/// ops after `ONRAMP_STUCK_AFTER` refusals; an operator retries it (refused
/// again, handed over again), gives up (the connector keeps its resources),
/// then removes the unit by hand and marks the change done: the teardown
/// goes on to `deleted`. Every decision is audited.
#[tokio::test(flavor = "multi_thread")]
async fn a_stuck_teardown_is_handed_to_ops_and_finished_by_hand_sqlite() -> Result<()> {
    stuck_teardown(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stuck_teardown_is_handed_to_ops_and_finished_by_hand_postgres() -> Result<()> {
    stuck_teardown(Db::Postgres).await
}

async fn stuck_teardown(db: Db) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let templates = planted_in(dir.path(), "attachment-delete.xml.j2", |t| {
        t.replace(
            "  <interface>\n    <name>{{ interface }}</name>\n    <unit nc:operation=\"remove\">\n      <id>{{ vlan }}</id>\n    </unit>\n  </interface>",
            "  <interface nc:operation=\"remove\">\n    <name>{{ interface }}</name>\n  </interface>",
        )
    })?;
    let stack = Stack::start_with(
        db,
        StackOptions {
            templates,
            worker_env: vec![("ONRAMP_STUCK_AFTER".into(), "2".into())],
            ..StackOptions::default()
        },
    )
    .await?;
    let admin = onramp_store::auth::generate_key();
    onramp_store::seed::seed_admin_key(&stack.db, &admin).await?;
    let as_admin = |method: reqwest::Method, path: &str, body: Option<serde_json::Value>| {
        let mut r = stack
            .http
            .request(method, stack.url(path))
            .bearer_auth(&admin);
        if let Some(b) = body {
            r = r.json(&b);
        }
        async move {
            let r = r.send().await?;
            let status = r.status().as_u16();
            anyhow::Ok((
                status,
                r.json::<serde_json::Value>().await.unwrap_or_default(),
            ))
        }
    };
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (status, c) = stack.order_vif(json!({})).await?;
        assert_eq!(status, 202, "{c:#}");
        ids.push(c["id"].as_str().unwrap().to_string());
    }
    let mut first = None;
    for id in &ids {
        let c = stack
            .wait_state(id, "waiting_customer_acceptance", T)
            .await?;
        first.get_or_insert(c);
    }
    let first = first.unwrap();
    let (status, _) = stack.delete(&format!("/v1/connectors/{}", ids[0])).await?;
    assert_eq!(status, 202);
    let handed = |c: &serde_json::Value| {
        c["state"] == "removing_pe_config"
            && c["waiting_on"] == "ops"
            && c["last_error"]
                .as_str()
                .is_some_and(|e| e.contains("handed to the operator's ops team"))
    };
    let c = stack
        .wait_connector(&ids[0], "handed to ops", T, handed)
        .await?;
    assert!(
        c["last_error"]
            .as_str()
            .unwrap()
            .contains("refused removing this connector's configuration 2 times"),
        "{c:#}"
    );

    // The ops list shows it; a customer key may not see it.
    let (status, list) = as_admin(reqwest::Method::GET, "/v1/admin/stuck-changes", None).await?;
    assert_eq!(status, 200, "{list:#}");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list:#}");
    assert_eq!(items[0]["connector_id"], ids[0].as_str());
    assert_eq!(
        (items[0]["status"].as_str(), items[0]["pe"].as_str()),
        (Some("stuck"), Some("pe1"))
    );
    assert_eq!(items[0]["attempts"], 2, "{list:#}");
    let change = items[0]["id"].as_i64().unwrap();
    let (status, _) = stack.get_json("/v1/admin/stuck-changes").await?;
    assert_eq!(status, 403);
    let path = |what: &str| format!("/v1/admin/stuck-changes/{change}/{what}");
    // A decision without a reason is refused and changes nothing.
    let (status, p) = as_admin(
        reqwest::Method::POST,
        &path("done"),
        Some(json!({"reason": " "})),
    )
    .await?;
    assert_eq!(
        (status, p["errors"][0]["field"].as_str()),
        (422, Some("reason")),
        "{p:#}"
    );
    let (status, p) = as_admin(reqwest::Method::POST, &path("give-up"), Some(json!({}))).await?;
    assert_eq!(status, 422, "{p:#}");
    let (status, _) = as_admin(
        reqwest::Method::POST,
        "/v1/admin/stuck-changes/999999/retry",
        None,
    )
    .await?;
    assert_eq!(status, 404);

    // Retry now: the PE refuses again, twice, and it is handed over again.
    let (status, r) = as_admin(reqwest::Method::POST, &path("retry"), None).await?;
    assert_eq!(
        (status, r["status"].as_str()),
        (200, Some("pending")),
        "{r:#}"
    );
    stack
        .wait_connector(&ids[0], "handed to ops again", T, handed)
        .await?;
    let deadline = std::time::Instant::now() + T;
    loop {
        let (_, list) = as_admin(reqwest::Method::GET, "/v1/admin/stuck-changes", None).await?;
        if list["items"][0]["status"] == "stuck" {
            break;
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "not stuck again: {list:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Give up: it stays where it is, and holds its resources.
    let (status, r) = as_admin(
        reqwest::Method::POST,
        &path("give-up"),
        Some(json!({"reason": "vendor case open, CHG-880"})),
    )
    .await?;
    assert_eq!(
        (status, r["status"].as_str()),
        (200, Some("abandoned")),
        "{r:#}"
    );
    let (status, p) = as_admin(reqwest::Method::POST, &path("retry"), None).await?;
    assert_eq!(
        (status, p["code"].as_str()),
        (409, Some("wrong_status")),
        "{p:#}"
    );
    let (_, c) = stack
        .get_json(&format!("/v1/connectors/{}", ids[0]))
        .await?;
    assert_eq!(
        (c["state"].as_str(), c["waiting_on"].as_str()),
        (Some("removing_pe_config"), Some("ops"))
    );
    assert!(
        c["last_error"].as_str().unwrap().contains("ops gave up"),
        "{c:#}"
    );
    let held = stack.allocations().await?.len();

    // The operator removes the unit by hand, then marks the change done:
    // the teardown goes on and the connector is deleted.
    stack.remove_unit_by_hand("pe1", &first).await?;
    assert_eq!(unit_count(&stack.running("pe1").await?, "ge-0/0/1"), 1);
    let (status, r) = as_admin(
        reqwest::Method::POST,
        &path("done"),
        Some(json!({"reason": "removed unit by hand, CHG-881"})),
    )
    .await?;
    assert_eq!((status, r["status"].as_str()), (200, Some("done")), "{r:#}");
    stack.wait_state(&ids[0], "deleted", T).await?;
    assert!(
        stack.allocations().await?.len() < held,
        "its resources were released"
    );
    let (_, events) = stack
        .get_json(&format!("/v1/connectors/{}/events?limit=200", ids[0]))
        .await?;
    assert!(
        events["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["message"]
                .as_str()
                .is_some_and(|m| m.contains("by hand (removed unit by hand, CHG-881)"))),
        "{events:#}"
    );
    let (status, list) = as_admin(reqwest::Method::GET, "/v1/admin/stuck-changes", None).await?;
    assert_eq!(
        (status, list["items"].as_array().map(Vec::len)),
        (200, Some(0)),
        "{list:#}"
    );
    // The other connector never noticed.
    let (_, other) = stack
        .get_json(&format!("/v1/connectors/{}", ids[1]))
        .await?;
    assert_eq!(other["state"], "waiting_customer_acceptance");
    Ok(())
}
