//! Changing a live connector (issue 18), end to end through the public API
//! and read back from the PEs over NETCONF, on SQLite and PostgreSQL: a
//! hosted VIF's bandwidth and BGP options; an ExpressRoute connector's
//! prefix limit on both legs and the bandwidth its circuit's owner raised
//! at Azure, and a new BGP key on both legs and at Microsoft (put back
//! everywhere when Microsoft refuses it); a Google attachment's capacity,
//! changed at Google then on the PE; a change the PE (or Google) refuses,
//! which leaves everything as it was.

mod support;

use std::time::Duration;

use anyhow::Result;
use onramp_router_templates::{AttachmentIntent, NeighborIntent, Operation, Platform, VrfIntent};
use onramp_simulators::azure_er::{AzureFault, CreateCircuit};
use onramp_simulators::gcp_pi::{CreatePairingKey, GcpFault};
use onramp_store::entity::pe_router;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use support::{Db, Stack, attachment};

const T: Duration = Duration::from_secs(60);
const VIF_PORT: &str = "ge-0/0/1";
const ER_PORT: &str = "ge-0/0/2";

#[tokio::test(flavor = "multi_thread")]
async fn a_hosted_vif_changes_live_and_a_refused_change_changes_nothing_sqlite() -> Result<()> {
    hosted_vif(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hosted_vif_changes_live_and_a_refused_change_changes_nothing_postgres() -> Result<()> {
    hosted_vif(Db::Postgres).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_google_attachment_s_capacity_changes_at_google_then_on_the_pe_sqlite() -> Result<()> {
    google(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_google_attachment_s_capacity_changes_at_google_then_on_the_pe_postgres() -> Result<()> {
    google(Db::Postgres).await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expressroute_connector_changes_on_both_legs_sqlite() -> Result<()> {
    expressroute(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expressroute_connector_changes_on_both_legs_postgres() -> Result<()> {
    expressroute(Db::Postgres).await
}

fn strip(cidr: &str) -> &str {
    cidr.split('/').next().unwrap_or(cidr)
}

async fn events(stack: &Stack, id: &str) -> Result<Vec<Value>> {
    let (_, e) = stack
        .get_json(&format!("/v1/connectors/{id}/events?limit=200"))
        .await?;
    Ok(e["items"].as_array().cloned().unwrap_or_default())
}

/// Waits for the change in flight to settle back in `active`.
async fn settled(stack: &Stack, id: &str) -> Result<Value> {
    stack
        .wait_connector(id, "active with the change settled", T, |c| {
            c["state"] == "active" && c.get("change").is_none()
        })
        .await
}

async fn hosted_vif(db: Db) -> Result<()> {
    let stack = Stack::start(db).await?;
    let (status, c) = stack.order_vif(json!({"bandwidth": "200Mbps"})).await?;
    assert_eq!(status, 202, "{c:#}");
    let id = c["id"].as_str().unwrap().to_string();
    let path = format!("/v1/connectors/{id}");
    let c = stack
        .wait_state(&id, "waiting_customer_acceptance", T)
        .await?;
    stack.accept_vif(c["vif_id"].as_str().unwrap()).await?;
    let c = stack.wait_state(&id, "active", T).await?;
    assert_eq!(
        c["bgp"],
        json!({"prefix_limit": 1000, "bfd": false}),
        "{c:#}"
    );
    let vlan = c["peering"]["vlan"].as_u64().unwrap() as u16;
    let neighbor = strip(c["peering"]["aws_address"].as_str().unwrap()).to_string();
    let on_pe = |running: &str| attachment(running, VIF_PORT, vlan, &neighbor).expect("unit");
    let before = stack.running("pe1").await?;
    let a = on_pe(&before);
    assert_eq!(a.bandwidth_limit.as_deref(), Some("200000000"));
    assert_eq!(a.prefix_limit.as_deref(), Some("1000"));
    assert!(!a.bfd);

    // Bad changes: a problem naming the field, and nothing changes.
    for (body, field, code) in [
        (json!({}), "body", "empty_change"),
        (json!({"prefix_limit": 0}), "prefix_limit", "out_of_range"),
        (
            json!({"bandwidth": "7Gbps"}),
            "bandwidth",
            "unsupported_bandwidth",
        ),
        (
            json!({"bandwidth": "100Gbps"}),
            "bandwidth",
            "unsupported_bandwidth",
        ),
        (
            json!({"description": "x".repeat(101)}),
            "description",
            "too_long",
        ),
        (
            json!({"description": "two\nlines"}),
            "description",
            "invalid_characters",
        ),
        (json!({"vlan": 5}), "vlan", "unknown_field"),
        (json!({"bfd": "yes"}), "bfd", ""),
        // AWS has no call that changes a VIF's key: the customer's side
        // would keep the old one.
        (
            json!({"rotate_bgp_key": true, "bfd": true}),
            "rotate_bgp_key",
            "not_rotatable",
        ),
    ] {
        let (status, p) = stack.patch_json(&path, &body).await?;
        assert_eq!(status, 422, "{body}: {p:#}");
        assert_eq!(p["errors"][0]["field"], field, "{body}: {p:#}");
        if !code.is_empty() {
            assert_eq!(p["errors"][0]["code"], code, "{body}: {p:#}");
        }
    }
    let (status, _) = stack
        .patch_json(
            &format!("/v1/connectors/{}", uuid::Uuid::new_v4()),
            &json!({"bfd": true}),
        )
        .await?;
    assert_eq!(status, 404);
    // A stale If-Match is refused before anything is read from the body.
    let r = stack
        .http
        .patch(stack.url(&path))
        .bearer_auth(&stack.key)
        .header("if-match", "\"stale\"")
        .json(&json!({"bfd": true}))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 412);
    let (_, now) = stack.get_json(&path).await?;
    assert_eq!(
        (now["state"].clone(), now.get("change")),
        (json!("active"), None)
    );
    assert_eq!(
        stack.running("pe1").await?,
        before,
        "a refused request changed the PE"
    );

    // The plan: each value the change replaces, read from the PE now, and
    // the PE left as it is.
    let change = json!({"bandwidth": "500Mbps", "prefix_limit": 250, "bfd": true,
                        "description": "prod eu-west-1"});
    let (status, plan) = stack
        .patch_json(&format!("{path}?dry_run=true"), &change)
        .await?;
    assert_eq!(status, 200, "{plan:#}");
    assert_eq!(plan["dry_run"], true);
    assert_eq!(
        plan["fields"],
        json!(["prefix_limit", "bfd", "description", "bandwidth"])
    );
    let rc = &plan["router_changes"][0];
    assert_eq!(rc["pe"], "pe1", "{plan:#}");
    assert!(rc.get("facts_unavailable").is_none(), "{plan:#}");
    let fact = |leaf: &str| -> Value {
        rc["facts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"].as_str().unwrap().ends_with(leaf))
            .cloned()
            .unwrap_or_else(|| panic!("{leaf} in {plan:#}"))
    };
    assert_eq!(
        fact("/policer/bandwidth-limit"),
        json!({"path": fact("/policer/bandwidth-limit")["path"], "change": "replaced",
               "before": "200000000", "after": "500000000"})
    );
    assert_eq!(fact("/prefix-limit")["before"], "1000");
    assert_eq!(fact("/prefix-limit")["after"], "250");
    assert_eq!(fact("/bfd/multiplier")["change"], "added");
    assert_eq!(fact("/vlan-id")["change"], "unchanged");
    assert_eq!(fact("/authentication-key")["change"], "unchanged");
    assert!(
        !plan.to_string().contains(&a.neighbor_key.clone().unwrap()),
        "the plan shows the BGP key"
    );
    assert!(rc["config_xml"].as_str().unwrap().contains("********"));
    assert_eq!(
        stack.running("pe1").await?,
        before,
        "the plan changed the PE"
    );

    // Applied while the PE is in maintenance, so it stays in flight: a
    // second change meanwhile is a 409.
    let admin = onramp_store::auth::generate_key();
    onramp_store::seed::seed_admin_key(&stack.db, &admin).await?;
    let pe1 = pe_router::Entity::find()
        .filter(pe_router::Column::Name.eq("pe1"))
        .one(&stack.db)
        .await?
        .expect("pe1 seeded");
    let maintenance = format!("/v1/admin/pes/{}/maintenance", pe1.id);
    let r = stack
        .http
        .put(stack.url(&maintenance))
        .bearer_auth(&admin)
        .json(&json!({"reason": "hold the change"}))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 200);
    let (_, current) = stack.get_json(&path).await?;
    let etag = stack
        .http
        .get(stack.url(&path))
        .bearer_auth(&stack.key)
        .send()
        .await?
        .headers()["etag"]
        .to_str()?
        .to_string();
    assert_eq!(current["state"], "active");
    let r = stack
        .http
        .patch(stack.url(&path))
        .bearer_auth(&stack.key)
        .header("if-match", etag)
        .json(&change)
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 202);
    let c: Value = r.json().await?;
    assert_eq!(c["state"], "changing_pe", "{c:#}");
    assert_eq!(c["change"]["fields"], plan["fields"], "{c:#}");
    assert_eq!(c["bandwidth"], "500Mbps");
    let (status, p) = stack
        .patch_json(&path, &json!({"prefix_limit": 10}))
        .await?;
    assert_eq!(
        (status, p["code"].as_str()),
        (409, Some("change_in_progress")),
        "{p:#}"
    );
    assert_eq!(
        stack.running("pe1").await?,
        before,
        "pushed during maintenance"
    );

    let r = stack
        .http
        .delete(stack.url(&maintenance))
        .bearer_auth(&admin)
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 200);
    let c = settled(&stack, &id).await?;
    assert_eq!(
        c["bgp"],
        json!({"prefix_limit": 250, "bfd": true}),
        "{c:#}\n{:#?}",
        events(&stack, &id).await?
    );
    assert_eq!(c["description"], "prod eu-west-1");
    let a = on_pe(&stack.running("pe1").await?);
    assert_eq!(a.bandwidth_limit.as_deref(), Some("500000000"));
    assert_eq!(a.prefix_limit.as_deref(), Some("250"));
    assert!(a.bfd, "BFD on the session");
    assert!(
        a.neighbor_description
            .as_deref()
            .is_some_and(|d| d.contains(&id) && d.ends_with("(prod eu-west-1)")),
        "{a:?}"
    );
    let timeline = events(&stack, &id).await?;
    assert!(
        timeline.iter().any(|e| e["event"] == "change_requested"
            && e["message"]
                .as_str()
                .unwrap()
                .contains("bandwidth 200Mbps → 500Mbps")),
        "{timeline:#?}"
    );
    // The same values again change nothing, and push nothing.
    let events_before = timeline.len();
    let (status, same) = stack.patch_json(&path, &change).await?;
    assert_eq!(
        (status, same["state"].as_str()),
        (200, Some("active")),
        "{same:#}"
    );
    assert_eq!(events(&stack, &id).await?.len(), events_before);

    // Someone configures a unit by hand whose address overlaps the
    // connector's peering subnet: the PE's validation refuses the next
    // change, and the connector stays active with what the PE carries.
    let platform = Platform::load(&stack.templates, "reference-pe")?;
    let aws = c["peering"]["aws_address"].as_str().unwrap();
    let foreign = AttachmentIntent {
        connector_id: "hand-made-1".into(),
        interface: VIF_PORT.into(),
        vlan: 3999,
        inner_vlan: None,
        local_address: aws.into(),
        vrf: VrfIntent {
            name: "legacy".into(),
            route_distinguisher: "65000:9".into(),
            route_target: "target:65000:9".into(),
        },
        neighbor: NeighborIntent {
            address: "10.99.0.0".into(),
            peer_as: 65099,
            local_as: 65000,
            auth_key: String::new(),
            prefix_limit: 10,
            bfd: false,
            description: "legacy".into(),
        },
        policer: None,
    };
    let rendered = platform.render(Operation::Create, &foreign)?;
    onramp_pe_netconf::apply(&stack.pe_target("pe1"), platform.quirks(), &rendered).await?;
    let hand_made = stack.running("pe1").await?;
    let (status, c) = stack
        .patch_json(&path, &json!({"prefix_limit": 5000, "bfd": false}))
        .await?;
    assert_eq!(status, 202, "{c:#}");
    let c = settled(&stack, &id).await?;
    assert_eq!(
        c["bgp"],
        json!({"prefix_limit": 250, "bfd": true}),
        "old settings kept: {c:#}"
    );
    let timeline = events(&stack, &id).await?;
    let last = timeline.last().unwrap();
    assert_eq!(last["to_state"], "active", "{last:#}");
    let msg = last["message"].as_str().unwrap();
    assert!(
        msg.contains("refused the change") && msg.contains("overlaps"),
        "{msg}"
    );
    assert_eq!(
        stack.running("pe1").await?,
        hand_made,
        "the refused change reached the PE"
    );
    // Still a normal connector: it deletes cleanly.
    let (status, _) = stack.delete(&path).await?;
    assert_eq!(status, 202);
    stack.wait_state(&id, "deleted", T).await?;
    Ok(())
}

async fn expressroute(db: Db) -> Result<()> {
    let stack = Stack::start(db).await?;
    let xc = stack
        .azure
        .sim
        .create_circuit(CreateCircuit {
            peering_location: "Silicon Valley".into(),
            bandwidth_in_mbps: 200,
            circuit_name: None,
            location: None,
        })
        .map_err(anyhow::Error::msg)?;
    let (status, c) = stack
        .post_json(
            "/v1/connectors",
            &json!({"kind": "azure-expressroute", "service_key": xc.service_key}),
        )
        .await?;
    assert_eq!(status, 202, "{c:#}");
    let id = c["id"].as_str().unwrap().to_string();
    let path = format!("/v1/connectors/{id}");
    let c = stack.wait_state(&id, "active", T).await?;
    let s_tag = c["azure"]["s_tag"].as_u64().unwrap() as u16;
    let legs = |c: &Value| -> Vec<(String, String)> {
        ["primary", "secondary"]
            .iter()
            .map(|l| {
                (
                    c["azure"][*l]["pe"].as_str().unwrap().to_string(),
                    strip(c["azure"][*l]["microsoft_address"].as_str().unwrap()).to_string(),
                )
            })
            .collect()
    };
    let on_legs = |c: Value| {
        let stack = &stack;
        async move {
            let mut out = Vec::new();
            for (pe, neighbor) in legs(&c) {
                let running = stack.running(&pe).await?;
                out.push(attachment(&running, ER_PORT, s_tag, &neighbor).expect("leg unit"));
            }
            anyhow::Ok(out)
        }
    };
    for a in on_legs(c.clone()).await? {
        assert_eq!(a.bandwidth_limit.as_deref(), Some("200000000"));
        assert_eq!(a.prefix_limit.as_deref(), Some("1000"));
    }

    // Its bandwidth is the circuit owner's: refused with where to change it.
    let (status, p) = stack
        .patch_json(&path, &json!({"bandwidth": "1Gbps"}))
        .await?;
    assert_eq!(status, 422, "{p:#}");
    assert_eq!(p["errors"][0]["field"], "bandwidth");
    assert_eq!(p["errors"][0]["code"], "not_changeable");
    assert!(
        p["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("in Azure"),
        "{p:#}"
    );

    // The prefix limit: planned on both legs, then applied to both.
    let (status, plan) = stack
        .patch_json(
            &format!("{path}?dry_run=true"),
            &json!({"prefix_limit": 200}),
        )
        .await?;
    assert_eq!(status, 200, "{plan:#}");
    let pes: Vec<(&str, &str)> = plan["router_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["leg"].as_str().unwrap(), r["pe"].as_str().unwrap()))
        .collect();
    assert_eq!(pes, [("primary", "pe1"), ("secondary", "pe2")], "{plan:#}");
    let (status, c) = stack
        .patch_json(&path, &json!({"prefix_limit": 200}))
        .await?;
    assert_eq!(status, 202, "{c:#}");
    assert_eq!(c["state"], "changing_primary_pe", "{c:#}");
    let c = settled(&stack, &id).await?;
    assert_eq!(c["bgp"]["prefix_limit"], 200);
    for a in on_legs(c.clone()).await? {
        assert_eq!(a.prefix_limit.as_deref(), Some("200"), "{a:?}");
        assert_eq!(a.bandwidth_limit.as_deref(), Some("200000000"));
    }

    // The customer upgrades the circuit in Azure: onramp notices when it
    // polls and polices both legs at the new rate.
    stack
        .azure
        .sim
        .set_circuit_bandwidth(&xc.service_key, 500)
        .map_err(anyhow::Error::msg)?;
    let c = stack
        .wait_connector(&id, "following the circuit's 500 Mbps", T, |c| {
            c["state"] == "active" && c["bandwidth"] == "500Mbps" && c.get("change").is_none()
        })
        .await?;
    for a in on_legs(c.clone()).await? {
        assert_eq!(a.bandwidth_limit.as_deref(), Some("500000000"), "{a:?}");
        assert_eq!(a.prefix_limit.as_deref(), Some("200"));
    }
    let timeline = events(&stack, &id).await?;
    assert!(
        timeline
            .iter()
            .any(|e| e["event"] == "circuit_bandwidth_changed" && e["actor"] == "azure"),
        "{timeline:#?}"
    );

    // A new BGP key: planned (both PEs' key replaced, Microsoft's peering
    // PUT, the key itself never shown), then on both PEs and at Microsoft.
    let old_key = reveal_key(&stack, &id).await?;
    let shared_key = |stack: &Stack| {
        stack
            .azure
            .sim
            .cross_connection(&xc.service_key)
            .and_then(|x| x.private_peering)
            .and_then(|p| p.shared_key)
    };
    assert_eq!(shared_key(&stack).as_deref(), Some(old_key.as_str()));
    let (status, plan) = stack
        .patch_json(
            &format!("{path}?dry_run=true"),
            &json!({"rotate_bgp_key": true}),
        )
        .await?;
    assert_eq!(status, 200, "{plan:#}");
    assert_eq!(plan["fields"], json!(["bgp_key"]), "{plan:#}");
    assert!(
        !plan.to_string().contains(&old_key),
        "a key leaked: {plan:#}"
    );
    for r in plan["router_changes"].as_array().unwrap() {
        let facts = r["facts"].as_array().unwrap();
        let replaced: Vec<&str> = facts
            .iter()
            .filter(|f| f["change"] == "replaced")
            .filter_map(|f| f["path"].as_str())
            .collect();
        assert!(
            replaced.iter().any(|p| p.contains("authentication-key")),
            "{r:#}"
        );
    }
    let calls = plan["csp_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1, "{plan:#}");
    assert!(
        calls[0]["operation"]
            .as_str()
            .unwrap()
            .ends_with("/peerings/AzurePrivatePeering"),
        "{plan:#}"
    );
    assert_eq!(
        reveal_key(&stack, &id).await?,
        old_key,
        "a dry run kept a key"
    );

    let (status, c) = stack
        .patch_json(&path, &json!({"rotate_bgp_key": true}))
        .await?;
    assert_eq!(status, 202, "{c:#}");
    assert_eq!(c["state"], "rotating_key_primary_pe", "{c:#}");
    let c = settled(&stack, &id).await?;
    let new_key = reveal_key(&stack, &id).await?;
    assert_ne!(new_key, old_key);
    assert_eq!(shared_key(&stack).as_deref(), Some(new_key.as_str()));
    for a in on_legs(c.clone()).await? {
        assert_eq!(a.neighbor_key.as_deref(), Some(new_key.as_str()), "{a:?}");
        assert_eq!(a.prefix_limit.as_deref(), Some("200"), "kept: {a:?}");
    }

    // Microsoft refuses the next key: both PEs go back to the current one,
    // which the connector keeps, and the timeline says why.
    stack.azure.sim.inject_fault(AzureFault::LroFailure {
        count: 1,
        code: "InvalidSharedKey".into(),
        message: "The shared key is not valid.".into(),
    });
    let (status, c) = stack
        .patch_json(&path, &json!({"rotate_bgp_key": true}))
        .await?;
    assert_eq!(status, 202, "{c:#}");
    let c = settled(&stack, &id).await?;
    assert_eq!(reveal_key(&stack, &id).await?, new_key, "{c:#}");
    assert_eq!(shared_key(&stack).as_deref(), Some(new_key.as_str()));
    for a in on_legs(c.clone()).await? {
        assert_eq!(a.neighbor_key.as_deref(), Some(new_key.as_str()), "{a:?}");
    }
    let timeline = events(&stack, &id).await?;
    let states: Vec<&str> = timeline
        .iter()
        .filter_map(|e| e["to_state"].as_str())
        .collect();
    for s in [
        "restoring_peering_key",
        "restoring_secondary_pe",
        "restoring_primary_pe",
    ] {
        assert!(states.contains(&s), "{s} missing: {timeline:#?}");
    }
    assert!(
        timeline.iter().any(|e| e["message"]
            .as_str()
            .is_some_and(|m| m.contains("InvalidSharedKey"))),
        "{timeline:#?}"
    );
    Ok(())
}

async fn reveal_key(stack: &Stack, id: &str) -> Result<String> {
    let (status, k) = stack
        .post_json(&format!("/v1/connectors/{id}/bgp-key/reveal"), &json!({}))
        .await?;
    anyhow::ensure!(status == 200, "reveal: {status} {k:#}");
    Ok(k["bgp_key"].as_str().unwrap_or_default().to_string())
}

/// Google lets the partner change an attachment's capacity: onramp changes
/// it at Google, then polices the PE at it; when Google refuses, nothing
/// changes anywhere.
async fn google(db: Db) -> Result<()> {
    let stack = Stack::start(db).await?;
    let key = stack
        .gcp
        .sim
        .create_pairing_key(CreatePairingKey::new("us-west1", 1))
        .map_err(anyhow::Error::msg)?
        .pairing_key;
    let (status, c) = stack
        .post_json(
            "/v1/connectors",
            &json!({"kind": "gcp-partner-interconnect", "pairing_key": key, "bandwidth": "BPS_200M"}),
        )
        .await?;
    assert_eq!(status, 202, "{c:#}");
    let id = c["id"].as_str().unwrap().to_string();
    let path = format!("/v1/connectors/{id}");
    stack
        .wait_state(&id, "waiting_customer_activation", T)
        .await?;
    stack.gcp.sim.activate(&key).map_err(anyhow::Error::msg)?;
    let c = stack.wait_state(&id, "active", T).await?;
    let name = c["gcp"]["attachment"].as_str().unwrap().to_string();
    let vlan = c["peering"]["vlan"].as_u64().unwrap() as u16;
    let google_ip = strip(c["peering"]["csp_address"].as_str().unwrap()).to_string();
    let at_google = |stack: &Stack| {
        stack
            .gcp
            .sim
            .partner_attachment("us-west1", &name)
            .map(|a| a.bandwidth)
    };
    let policed = |running: &str| {
        attachment(running, "ge-0/0/3", vlan, &google_ip).and_then(|a| a.bandwidth_limit)
    };

    let (status, p) = stack
        .patch_json(&path, &json!({"bandwidth": "1Gbps"}))
        .await?;
    assert_eq!(
        (status, p["errors"][0]["code"].as_str()),
        (422, Some("unsupported_bandwidth")),
        "{p:#}"
    );
    let (status, p) = stack
        .patch_json(&path, &json!({"bandwidth": "BPS_50G"}))
        .await?;
    assert_eq!(
        (status, p["errors"][0]["code"].as_str()),
        (422, Some("exceeds_capacity")),
        "{p:#}"
    );

    // The plan names Google's call as well as the PE's policer.
    let (status, plan) = stack
        .patch_json(
            &format!("{path}?dry_run=true"),
            &json!({"bandwidth": "BPS_500M"}),
        )
        .await?;
    assert_eq!(status, 200, "{plan:#}");
    let call = &plan["csp_calls"][0];
    assert!(
        call["operation"]
            .as_str()
            .is_some_and(|o| o.starts_with("PATCH ") && o.contains("/interconnectAttachments/")),
        "{plan:#}"
    );
    assert_eq!(
        call["request"],
        json!({"bandwidth": "BPS_500M"}),
        "{plan:#}"
    );
    let (status, c) = stack
        .patch_json(&path, &json!({"bandwidth": "BPS_500M"}))
        .await?;
    assert_eq!(status, 202, "{c:#}");
    assert_eq!(c["state"], "changing_attachment", "{c:#}");
    stack
        .wait_connector(&id, "active at 500 Mbps", T, |c| {
            c["state"] == "active" && c.get("change").is_none()
        })
        .await?;
    assert_eq!(at_google(&stack).as_deref(), Some("BPS_500M"));
    assert_eq!(
        policed(&stack.running("pe1").await?).as_deref(),
        Some("500000000")
    );

    // Google refuses the next one (a transient 500 would be retried):
    // the attachment, the PE and the connector stay at 500 Mbps, and the
    // timeline says why.
    stack.gcp.sim.inject_fault(GcpFault::OperationFailure {
        count: 1,
        code: "QUOTA_EXCEEDED".into(),
        message: "Quota 'INTERCONNECT_ATTACHMENT_CAPACITY' exceeded.".into(),
        http_status: 403,
    });
    let (status, c) = stack
        .patch_json(&path, &json!({"bandwidth": "BPS_1G"}))
        .await?;
    assert_eq!(status, 202, "{c:#}");
    let c = settled(&stack, &id).await?;
    assert_eq!(c["bandwidth"], "BPS_500M", "{c:#}");
    assert_eq!(at_google(&stack).as_deref(), Some("BPS_500M"));
    assert_eq!(
        policed(&stack.running("pe1").await?).as_deref(),
        Some("500000000")
    );
    let timeline = events(&stack, &id).await?;
    assert!(
        timeline.last().unwrap()["message"]
            .as_str()
            .is_some_and(|m| m.contains("Google refused the new capacity")),
        "{timeline:#?}"
    );
    Ok(())
}
