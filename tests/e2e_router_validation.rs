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

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use onramp_router_templates::{AttachmentIntent, NeighborIntent, Operation, Platform, VrfIntent};
use serde_json::json;
use support::{Db, Stack, templates_root, unit_count};

const T: Duration = Duration::from_secs(60);

/// Copies router-templates to a temp dir and applies `edit` to the
/// reference-pe create template.
fn planted(dir: &Path, edit: impl Fn(&str) -> String) -> Result<PathBuf> {
    planted_in(dir, "attachment-create.xml.j2", edit)
}

/// [`planted`], in the reference-pe template `file`.
fn planted_in(dir: &Path, file: &str, edit: impl Fn(&str) -> String) -> Result<PathBuf> {
    let root = dir.join("templates");
    copy_dir(
        &templates_root().join("reference-pe"),
        &root.join("reference-pe"),
    )?;
    let f = root.join("reference-pe").join(file);
    let text = std::fs::read_to_string(&f)?;
    let changed = edit(&text);
    assert_ne!(text, changed, "the planted bug must change the template");
    std::fs::write(&f, changed)?;
    Ok(root)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let dest = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &dest)?;
        } else {
            std::fs::copy(e.path(), dest)?;
        }
    }
    Ok(())
}

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
