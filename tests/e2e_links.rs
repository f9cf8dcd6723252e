//! Links end to end through the public API, against real netconfd PEs:
//! connectors on two PEs (AWS hosted VIFs on pe1, Google attachments in edge
//! domain 2 on pe2) joined in links.
//!
//! - Both PEs' running configs carry the same route target for a link, and
//!   a second link gets a different one.
//! - Removing a connector removes exactly its part: its unit and session
//!   leave the link's VRF for the tenant's, every other fact of that PE is
//!   unchanged and the other PE is byte-identical.
//! - Deleting a link removes its VRF where no unit uses it and releases its
//!   RD/RT.
//! - The plan shows the router diff and changes nothing.
//! - Refusals (404/409/422 naming the field) change nothing; concurrent
//!   joins of one connector: exactly one wins, and the database itself
//!   refuses a second live membership.

mod support;

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use onramp_router_templates::Platform;
use onramp_router_validate::PeFacts;
use onramp_simulators::gcp_pi::CreatePairingKey;
use onramp_store::entity::{allocation, link, link_member};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};
use support::{Db, Stack, attachment};

const T: Duration = Duration::from_secs(90);

/// One active connector and where it sits.
#[derive(Clone, Debug)]
struct Att {
    id: String,
    pe: &'static str,
    iface: &'static str,
    vlan: u16,
    neighbor: String,
}

async fn active_vif(stack: &Stack) -> Result<Att> {
    let (status, c) = stack.order_vif(json!({})).await?;
    assert_eq!(status, 202, "{c:#}");
    let id = c["id"].as_str().unwrap().to_string();
    let c = stack
        .wait_state(&id, "waiting_customer_acceptance", T)
        .await?;
    stack
        .customer_aws()
        .confirm_private_virtual_interface()
        .virtual_interface_id(c["vif_id"].as_str().unwrap())
        .virtual_gateway_id("vgw-0123abcd")
        .send()
        .await?;
    let c = stack.wait_state(&id, "active", T).await?;
    Ok(Att {
        id,
        pe: "pe1",
        iface: "ge-0/0/1",
        vlan: c["peering"]["vlan"].as_u64().unwrap() as u16,
        neighbor: strip(&c["peering"]["aws_address"]),
    })
}

async fn active_gcp(stack: &Stack) -> Result<Att> {
    let key = stack
        .gcp
        .sim
        .create_pairing_key(CreatePairingKey::new("us-west1", 2))
        .expect("pairing key")
        .pairing_key;
    let (status, c) = stack
        .post_json(
            "/v1/connectors",
            &json!({"kind": "gcp-partner-interconnect", "pairing_key": key, "bandwidth": "BPS_1G"}),
        )
        .await?;
    assert_eq!(status, 202, "{c:#}");
    let id = c["id"].as_str().unwrap().to_string();
    stack
        .wait_state(&id, "waiting_customer_activation", T)
        .await?;
    stack.gcp.sim.activate(&key).expect("activate");
    let c = stack.wait_state(&id, "active", T).await?;
    Ok(Att {
        id,
        pe: "pe2",
        iface: "ge-0/0/3",
        vlan: c["peering"]["vlan"].as_u64().unwrap() as u16,
        neighbor: strip(&c["peering"]["csp_address"]),
    })
}

fn strip(v: &Value) -> String {
    v.as_str().unwrap().split('/').next().unwrap().to_string()
}

async fn facts(stack: &Stack, pe: &str) -> Result<PeFacts> {
    let platform = Platform::load(&support::templates_root(), "reference-pe")?;
    Ok(PeFacts::from_running(&platform, &stack.running(pe).await?)?)
}

/// The VRF the connector's BGP session is in, on its PE.
async fn vrf_of(stack: &Stack, a: &Att) -> Result<String> {
    let running = stack.running(a.pe).await?;
    let found = attachment(&running, a.iface, a.vlan, &a.neighbor)
        .unwrap_or_else(|| panic!("{} has no unit on {}", a.id, a.pe));
    Ok(found.vrf.expect("the session is in a VRF"))
}

fn route_targets(f: &PeFacts, vrf: &str) -> Option<Vec<String>> {
    f.vrfs
        .iter()
        .find(|v| v.name == vrf)
        .map(|v| v.route_targets.clone())
}

async fn wait_link(
    stack: &Stack,
    id: &str,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Result<Value> {
    let start = Instant::now();
    loop {
        let (status, l) = stack.get_json(&format!("/v1/links/{id}")).await?;
        if status == 200 && pred(&l) {
            return Ok(l);
        }
        if start.elapsed() > T {
            bail!("link {id} did not reach {what}:\n{l:#}\n{}", stack.logs());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn create_link(stack: &Stack, name: &str, members: &[&Att]) -> Result<Value> {
    let ids: Vec<&str> = members.iter().map(|a| a.id.as_str()).collect();
    let (status, l) = stack
        .post_json("/v1/links", &json!({"name": name, "connectors": ids}))
        .await?;
    assert_eq!(status, 202, "{l:#}");
    let id = l["id"].as_str().unwrap().to_string();
    wait_link(stack, &id, "active", |l| l["state"] == "active").await
}

fn member_state(l: &Value, connector: &str) -> Option<String> {
    l["members"].as_array().and_then(|ms| {
        ms.iter()
            .rfind(|m| m["connector"] == connector)
            .map(|m| m["state"].as_str().unwrap().to_string())
    })
}

async fn route_target_allocations(stack: &Stack) -> Result<u64> {
    Ok(allocation::Entity::find()
        .filter(allocation::Column::Resource.eq("route_target"))
        .count(&stack.db)
        .await?)
}

async fn links_on_two_pes(db: Db) -> Result<()> {
    let stack = Stack::start(db).await?;
    let a = active_vif(&stack).await?; // pe1
    let c = active_vif(&stack).await?; // pe1
    let e = active_vif(&stack).await?; // pe1
    let b = active_gcp(&stack).await?; // pe2
    let d = active_gcp(&stack).await?; // pe2
    let tenant_vrf = vrf_of(&stack, &a).await?;

    // ----- the plan: the diff per PE, and nothing changes -----
    let (pe1_before, pe2_before) = (stack.running("pe1").await?, stack.running("pe2").await?);
    let rt_before = route_target_allocations(&stack).await?;
    let (status, plan) = stack
        .post_json(
            "/v1/links?dry_run=true",
            &json!({"name": "plan", "connectors": [a.id, b.id, c.id]}),
        )
        .await?;
    assert_eq!(status, 200, "{plan:#}");
    let changes = plan["router_changes"].as_array().unwrap();
    let pes: Vec<&str> = changes.iter().map(|c| c["pe"].as_str().unwrap()).collect();
    assert_eq!(pes, ["pe1", "pe2", "pe1"], "{plan:#}");
    let plan_vrf = plan["link"]["vrf_name"].as_str().unwrap();
    for ch in changes {
        assert_eq!(ch["operation"], "move");
        let xml = ch["config_xml"].as_array().unwrap();
        assert!(xml[0].as_str().unwrap().contains("nc:operation=\"remove\""));
        assert!(xml[1].as_str().unwrap().contains(plan_vrf), "{ch:#}");
        if ch["pe"] == "pe1" {
            // AWS sessions carry an MD5 key; the plan never shows it.
            assert!(
                xml[1]
                    .as_str()
                    .unwrap()
                    .contains("<authentication-key>********</authentication-key>"),
                "keys redacted: {ch:#}"
            );
        }
        let diff = ch["diff"]
            .as_str()
            .unwrap_or_else(|| panic!("no diff: {ch:#}"));
        assert!(
            diff.contains(&format!("+routing-instance {plan_vrf} interface ")),
            "{diff}"
        );
    }
    // The link's VRF appears with its first unit on each PE (pe1 with A,
    // pe2 with B); C's step finds it on pe1 already.
    for (i, new_vrf) in [(0, true), (1, true), (2, false)] {
        let diff = changes[i]["diff"].as_str().unwrap();
        assert_eq!(
            diff.contains(&format!("+routing-instance {plan_vrf} vrf-target target:")),
            new_vrf,
            "{diff}"
        );
    }
    let first = changes[0]["diff"].as_str().unwrap();
    assert!(
        first.contains(&format!(
            "-routing-instance {tenant_vrf} interface {}.{}\n",
            a.iface, a.vlan
        )) && first.contains(&format!(
            "+routing-instance {plan_vrf} interface {}.{}\n",
            a.iface, a.vlan
        )) && first.contains(&format!(
            "+routing-instance {plan_vrf} bgp neighbor {} ",
            a.neighbor
        )),
        "A leaves the tenant VRF and joins the link's:\n{first}"
    );
    // Only A's lines change in the first step; C's unit is still at home.
    assert_eq!(
        first.lines().filter(|l| l.starts_with('-')).count(),
        2,
        "{first}"
    );
    assert!(
        first.contains(&format!(
            " routing-instance {tenant_vrf} interface {}.{}\n",
            c.iface, c.vlan
        )),
        "{first}"
    );
    assert_eq!(
        stack.running("pe1").await?,
        pe1_before,
        "the plan pushed to pe1"
    );
    assert_eq!(
        stack.running("pe2").await?,
        pe2_before,
        "the plan pushed to pe2"
    );
    assert_eq!(route_target_allocations(&stack).await?, rt_before);
    assert_eq!(link::Entity::find().count(&stack.db).await?, 0);
    let (_, list) = stack.get_json("/v1/links").await?;
    assert_eq!(list["items"], json!([]));

    // ----- link 1 on both PEs: one route target -----
    let l1 = create_link(&stack, "prod", &[&a, &b, &c]).await?;
    let vrf1 = l1["vrf_name"].as_str().unwrap().to_string();
    let rt1 = l1["route_target"].as_str().unwrap().to_string();
    assert!(vrf1.starts_with("lnk-"));
    for m in [&a, &b, &c] {
        assert_eq!(vrf_of(&stack, m).await?, vrf1, "{} in link 1's VRF", m.id);
    }
    assert_eq!(vrf_of(&stack, &e).await?, tenant_vrf, "E is in no link");
    let (f1, f2) = (facts(&stack, "pe1").await?, facts(&stack, "pe2").await?);
    assert_eq!(route_targets(&f1, &vrf1), Some(vec![rt1.clone()]));
    assert_eq!(route_targets(&f2, &vrf1), Some(vec![rt1.clone()]));
    assert_ne!(route_targets(&f1, &tenant_vrf), Some(vec![rt1.clone()]));
    // Progress a person can follow.
    let events: Vec<&str> = l1["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "ordered",
            "member_joined",
            "member_joined",
            "member_joined",
            "configured"
        ]
    );

    // ----- link 2: another route target -----
    let l2 = create_link(&stack, "dev", &[&d, &e]).await?;
    let vrf2 = l2["vrf_name"].as_str().unwrap().to_string();
    let rt2 = l2["route_target"].as_str().unwrap().to_string();
    assert_ne!(rt1, rt2);
    assert_ne!(vrf1, vrf2);
    let (f1, f2) = (facts(&stack, "pe1").await?, facts(&stack, "pe2").await?);
    assert_eq!(route_targets(&f1, &vrf2), Some(vec![rt2.clone()]));
    assert_eq!(route_targets(&f2, &vrf2), Some(vec![rt2.clone()]));
    assert_eq!(route_targets(&f1, &vrf1), Some(vec![rt1.clone()]));

    // ----- removing C: exactly its part moves, nothing else -----
    let pe2_before = stack.running("pe2").await?;
    let f1_before = facts(&stack, "pe1").await?;
    let c_before = attachment(&stack.running("pe1").await?, c.iface, c.vlan, &c.neighbor);
    let (status, plan) = stack
        .delete(&format!(
            "/v1/links/{}/connectors/{}?dry_run=true",
            l1["id"].as_str().unwrap(),
            c.id
        ))
        .await?;
    assert_eq!(status, 200, "{plan:#}");
    let pes: Vec<&str> = plan["router_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["pe"].as_str().unwrap())
        .collect();
    assert_eq!(pes, ["pe1"], "only C's PE is concerned: {plan:#}");
    let (status, l) = stack
        .delete(&format!(
            "/v1/links/{}/connectors/{}",
            l1["id"].as_str().unwrap(),
            c.id
        ))
        .await?;
    assert_eq!(status, 202, "{l:#}");
    let l1_id = l1["id"].as_str().unwrap().to_string();
    wait_link(&stack, &l1_id, "C removed", |l| {
        l["state"] == "active" && member_state(l, &c.id).as_deref() == Some("removed")
    })
    .await?;
    assert_eq!(stack.running("pe2").await?, pe2_before, "pe2 untouched");
    assert_eq!(vrf_of(&stack, &c).await?, tenant_vrf);
    let mut expected = f1_before.clone();
    let c_unit = (c.iface.to_string(), u32::from(c.vlan));
    for v in expected.vrfs.iter_mut() {
        if v.name == vrf1 {
            v.members.retain(|m| *m != c_unit);
        }
        if v.name == tenant_vrf {
            v.members.push(c_unit.clone());
        }
    }
    for n in expected
        .neighbors
        .iter_mut()
        .filter(|n| n.address == c.neighbor)
    {
        n.vrf = tenant_vrf.clone();
    }
    let mut after = facts(&stack, "pe1").await?;
    for f in [&mut expected, &mut after] {
        for v in f.vrfs.iter_mut() {
            v.members.sort();
        }
        f.vrfs.sort_by(|x, y| x.name.cmp(&y.name));
        f.neighbors
            .sort_by(|x, y| (&x.vrf, &x.address).cmp(&(&y.vrf, &y.address)));
        f.units
            .sort_by(|x, y| (&x.interface, x.unit).cmp(&(&y.interface, y.unit)));
    }
    assert_eq!(
        after, expected,
        "pe1: only C's unit and session changed VRF"
    );
    let c_after = attachment(&stack.running("pe1").await?, c.iface, c.vlan, &c.neighbor);
    let strip_vrf = |a: Option<support::PeAttachment>| {
        a.map(|a| {
            (
                a.vlan,
                a.address,
                a.neighbor_peer_as,
                a.neighbor_local_as,
                a.neighbor_key,
            )
        })
    };
    assert_eq!(
        strip_vrf(c_after),
        strip_vrf(c_before),
        "C's unit and session unchanged"
    );
    // Link 1 still has A on pe1, so its VRF stays there.
    assert_eq!(
        route_targets(&facts(&stack, "pe1").await?, &vrf1),
        Some(vec![rt1.clone()])
    );

    // A linked connector cannot be deleted behind its link's back.
    let (status, p) = stack.delete(&format!("/v1/connectors/{}", a.id)).await?;
    assert_eq!(status, 409, "{p:#}");
    assert_eq!(p["code"], "connector_in_link");
    assert!(p["detail"].as_str().unwrap().contains(&l1_id));

    // ----- deleting link 1: members back, its VRF gone from both PEs -----
    let (status, plan) = stack
        .delete(&format!("/v1/links/{l1_id}?dry_run=true"))
        .await?;
    assert_eq!(status, 200, "{plan:#}");
    let ops: Vec<(&str, &str)> = plan["router_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["pe"].as_str().unwrap(), c["operation"].as_str().unwrap()))
        .collect();
    assert_eq!(
        ops,
        // Members go home first, then the VRF leaves each PE.
        [
            ("pe1", "move"),
            ("pe2", "move"),
            ("pe1", "vrf-delete"),
            ("pe2", "vrf-delete")
        ],
        "{plan:#}"
    );
    let (status, _) = stack.delete(&format!("/v1/links/{l1_id}")).await?;
    assert_eq!(status, 202);
    wait_link(&stack, &l1_id, "deleted", |l| l["state"] == "deleted").await?;
    for m in [&a, &b, &c] {
        assert_eq!(vrf_of(&stack, m).await?, tenant_vrf, "{} back home", m.id);
    }
    let (f1, f2) = (facts(&stack, "pe1").await?, facts(&stack, "pe2").await?);
    assert_eq!(
        route_targets(&f1, &vrf1),
        None,
        "link 1's VRF gone from pe1"
    );
    assert_eq!(
        route_targets(&f2, &vrf1),
        None,
        "link 1's VRF gone from pe2"
    );
    assert_eq!(
        route_targets(&f1, &vrf2),
        Some(vec![rt2.clone()]),
        "link 2 untouched"
    );
    assert_eq!(vrf_of(&stack, &d).await?, vrf2);
    assert_eq!(vrf_of(&stack, &e).await?, vrf2);
    assert_eq!(
        route_target_allocations(&stack).await?,
        rt_before + 1,
        "link 1's RT released"
    );
    // A connector out of its link can be deleted again, and A is free to join.
    let (status, _) = stack.delete(&format!("/v1/connectors/{}", a.id)).await?;
    assert_eq!(status, 202);
    stack.wait_state(&a.id, "deleted", T).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn links_on_two_pes_sqlite() -> Result<()> {
    links_on_two_pes(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread")]
async fn links_on_two_pes_postgres() -> Result<()> {
    links_on_two_pes(Db::Postgres).await
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_change_nothing_and_one_concurrent_join_wins() -> Result<()> {
    let stack = Stack::start(Db::Sqlite).await?;
    let a = active_vif(&stack).await?;
    let b = active_vif(&stack).await?;
    let c = active_vif(&stack).await?;
    // Not active: ordered, waiting for the customer.
    let (_, pending) = stack.order_vif(json!({})).await?;
    let pending = pending["id"].as_str().unwrap().to_string();
    stack
        .wait_state(&pending, "waiting_customer_acceptance", T)
        .await?;
    // Another tenant's connector.
    let other = onramp_store::seed::create_tenant(&stack.db, "Other").await?;
    let other_key = onramp_store::auth::generate_key();
    onramp_store::auth::add_key(
        &stack.db,
        other.id,
        "customer",
        &other_key,
        onramp_store::auth::ROLE_CUSTOMER,
    )
    .await?;
    let r = stack
        .http
        .post(stack.url("/v1/connectors"))
        .bearer_auth(&other_key)
        .json(&json!({"kind": "aws-hosted-vif", "aws_account_id": support::CUSTOMER_ACCOUNT, "location": "EqDC2", "bandwidth": "1Gbps"}))
        .send()
        .await?;
    assert_eq!(r.status(), 202);
    let theirs = r.json::<Value>().await?["id"].as_str().unwrap().to_string();

    let rt_before = route_target_allocations(&stack).await?;
    let pe1_before = stack.running("pe1").await?;
    let refuse = |body: Value, status: u16, code: &'static str, field: &'static str| {
        let stack = &stack;
        async move {
            let (s, p) = stack.post_json("/v1/links", &body).await?;
            assert_eq!(s, status, "{body} → {p:#}");
            assert_eq!(p["errors"][0]["code"], code, "{p:#}");
            assert_eq!(p["errors"][0]["field"], field, "{p:#}");
            anyhow::Ok(p)
        }
    };
    refuse(
        json!({"name": "x", "connectors": [a.id]}),
        422,
        "too_few_connectors",
        "connectors",
    )
    .await?;
    refuse(
        json!({"name": "x", "connectors": [a.id, a.id]}),
        422,
        "duplicate",
        "connectors[1]",
    )
    .await?;
    refuse(
        json!({"name": "x", "connectors": [a.id, "nope"]}),
        422,
        "invalid_format",
        "connectors[1]",
    )
    .await?;
    refuse(
        json!({"name": "", "connectors": [a.id, b.id]}),
        422,
        "invalid_value",
        "name",
    )
    .await?;
    refuse(
        json!({"name": "x", "connectors": [a.id, theirs]}),
        404,
        "not_found",
        "connectors[1]",
    )
    .await?;
    refuse(
        json!({"name": "x", "connectors": [a.id, uuid::Uuid::new_v4().to_string()]}),
        404,
        "not_found",
        "connectors[1]",
    )
    .await?;
    let p = refuse(
        json!({"name": "x", "connectors": [a.id, pending]}),
        409,
        "connector_not_active",
        "connectors[1]",
    )
    .await?;
    assert_eq!(p["code"], "connector_not_active");
    assert_eq!(route_target_allocations(&stack).await?, rt_before);
    assert_eq!(link::Entity::find().count(&stack.db).await?, 0);
    assert_eq!(link_member::Entity::find().count(&stack.db).await?, 0);

    // ----- the race: eight concurrent links want B; one gets it -----
    let mut racers = Vec::new();
    for i in 0..8 {
        let others = [&a.id, &c.id];
        let body = json!({"name": format!("race-{i}"), "connectors": [b.id, others[i % 2]]});
        let http = stack.http.clone();
        let url = stack.url("/v1/links");
        let key = stack.key.clone();
        racers.push(tokio::spawn(async move {
            let r = http.post(url).bearer_auth(key).json(&body).send().await?;
            let status = r.status().as_u16();
            anyhow::Ok((status, r.json::<Value>().await?))
        }));
    }
    let mut won = Vec::new();
    for r in racers {
        let (status, body) = r.await??;
        match status {
            202 => won.push(body),
            409 => assert_eq!(body["code"], "connector_in_link", "{body:#}"),
            other => panic!("unexpected {other}: {body:#}"),
        }
    }
    assert_eq!(won.len(), 1, "exactly one link gets B: {won:#?}");
    let winner = won[0]["id"].as_str().unwrap().to_string();
    assert_eq!(link::Entity::find().count(&stack.db).await?, 1);
    assert_eq!(route_target_allocations(&stack).await?, rt_before + 1);
    let l = wait_link(&stack, &winner, "active", |l| l["state"] == "active").await?;

    // In another link: 409 naming the link, for a new link and for an add.
    let (s, p) = stack
        .post_json(
            "/v1/links",
            &json!({"name": "y", "connectors": [b.id, pending]}),
        )
        .await?;
    assert_eq!(
        (s, p["code"].as_str()),
        (409, Some("connector_in_link")),
        "{p:#}"
    );
    assert_eq!(p["errors"][0]["field"], "connectors[0]");
    assert!(p["detail"].as_str().unwrap().contains(&winner), "{p:#}");
    let loser_member = [&a, &c]
        .into_iter()
        .find(|x| member_state(&l, &x.id).is_none())
        .unwrap();
    let (s, p) = stack
        .post_json(
            &format!("/v1/links/{winner}/connectors"),
            &json!({"connector": pending}),
        )
        .await?;
    assert_eq!(
        (s, p["code"].as_str()),
        (409, Some("connector_not_active")),
        "{p:#}"
    );
    assert_eq!(p["errors"][0]["field"], "connector");

    // An ops key reads the link but changes none of another tenant's.
    let noc = onramp_store::seed::create_tenant(&stack.db, "NOC").await?;
    let ops_key = onramp_store::auth::generate_key();
    onramp_store::auth::add_key(
        &stack.db,
        noc.id,
        "noc",
        &ops_key,
        onramp_store::auth::ROLE_OPS,
    )
    .await?;
    let r = stack
        .http
        .get(stack.url(&format!("/v1/links/{winner}")))
        .bearer_auth(&ops_key)
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    for (method, path) in [
        ("DELETE", format!("/v1/links/{winner}")),
        ("DELETE", format!("/v1/links/{winner}/connectors/{}", b.id)),
        ("POST", format!("/v1/links/{winner}/connectors")),
    ] {
        let r = stack
            .http
            .request(method.parse()?, stack.url(&path))
            .bearer_auth(&ops_key)
            .json(&json!({"connector": c.id}))
            .send()
            .await?;
        assert_eq!(r.status(), 403, "{method} {path}");
    }

    // The database refuses a second live membership whatever the code does.
    let dup = link_member::ActiveModel {
        link_id: Set(winner.parse()?),
        connector_id: Set(b.id.parse()?),
        state: Set("joining".into()),
        created_at: Set(chrono::Utc::now()),
        updated_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
    .insert(&stack.db)
    .await;
    assert!(dup.is_err(), "a second live membership of B was stored");

    // Adding the free connector works, and reconfigures only its PE.
    let (s, l) = stack
        .post_json(
            &format!("/v1/links/{winner}/connectors"),
            &json!({"connector": loser_member.id}),
        )
        .await?;
    assert_eq!(s, 202, "{l:#}");
    let l = wait_link(&stack, &winner, "active with three", |l| {
        l["state"] == "active" && member_state(l, &loser_member.id).as_deref() == Some("joined")
    })
    .await?;
    assert_eq!(
        vrf_of(&stack, loser_member).await?,
        l["vrf_name"].as_str().unwrap()
    );
    assert_ne!(stack.running("pe1").await?, pe1_before);

    // A worker that died after its router work but before its commit: the
    // step runs again (the member is back to `joining`, a job for the
    // current step is queued) and leaves the PE exactly as it was.
    let settled = facts(&stack, "pe1").await?;
    let link_id: uuid::Uuid = winner.parse()?;
    let row = link::Entity::find_by_id(link_id)
        .one(&stack.db)
        .await?
        .unwrap();
    link_member::Entity::update_many()
        .col_expr(
            link_member::Column::State,
            sea_orm::sea_query::Expr::value("joining"),
        )
        .filter(link_member::Column::LinkId.eq(link_id))
        .filter(link_member::Column::ConnectorId.eq(loser_member.id.parse::<uuid::Uuid>()?))
        .exec(&stack.db)
        .await?;
    link::Entity::update_many()
        .col_expr(
            link::Column::State,
            sea_orm::sea_query::Expr::value("configuring"),
        )
        .filter(link::Column::Id.eq(link_id))
        .exec(&stack.db)
        .await?;
    onramp_store::outbox::push(
        &stack.db,
        onramp_store::jobs::LINK_SUBJECT,
        &serde_json::to_string(&onramp_store::jobs::LinkJob {
            link_id,
            step: row.step,
        })?,
    )
    .await?;
    let events_before = l["timeline"].as_array().unwrap().len();
    let l = wait_link(&stack, &winner, "the step re-run", |l| {
        l["state"] == "active" && l["timeline"].as_array().unwrap().len() >= events_before + 2
    })
    .await?;
    assert_eq!(
        member_state(&l, &loser_member.id).as_deref(),
        Some("joined"),
        "{l:#}"
    );
    assert_eq!(
        facts(&stack, "pe1").await?,
        settled,
        "a re-run step changes nothing"
    );
    Ok(())
}
