//! A PE in maintenance: onramp pushes nothing to it, orders taken meanwhile
//! wait with their changes held (and say why), and everything held goes
//! out when the maintenance ends. Read back over NETCONF, on SQLite and
//! PostgreSQL.

mod support;

use std::time::Duration;

use anyhow::Result;
use onramp_store::entity::{nni, pe_port, pe_router};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use support::{Db, Stack, StackOptions, attachment};

const T: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread")]
async fn a_pe_in_maintenance_gets_nothing_until_it_ends_sqlite() -> Result<()> {
    a_pe_in_maintenance_gets_nothing_until_it_ends(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pe_in_maintenance_gets_nothing_until_it_ends_postgres() -> Result<()> {
    a_pe_in_maintenance_gets_nothing_until_it_ends(Db::Postgres).await
}

#[tokio::test(flavor = "multi_thread")]
async fn orders_go_around_a_drained_pe_to_its_nni_group_sqlite() -> Result<()> {
    orders_go_around_a_drained_pe_to_its_nni_group(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread")]
async fn orders_go_around_a_drained_pe_to_its_nni_group_postgres() -> Result<()> {
    orders_go_around_a_drained_pe_to_its_nni_group(Db::Postgres).await
}

async fn send(
    stack: &Stack,
    method: reqwest::Method,
    path: &str,
    key: &str,
    body: Option<&str>,
) -> Result<(u16, Value)> {
    let mut req = stack.http.request(method, stack.url(path)).bearer_auth(key);
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let r = req.send().await?;
    let status = r.status().as_u16();
    Ok((status, r.json().await.unwrap_or(Value::Null)))
}

async fn a_pe_in_maintenance_gets_nothing_until_it_ends(db: Db) -> Result<()> {
    use reqwest::Method;
    let stack = Stack::start(db).await?;
    let admin = onramp_store::auth::generate_key();
    let operator = onramp_store::seed::seed_admin_key(&stack.db, &admin).await?;
    let pe1 = pe_router::Entity::find()
        .filter(pe_router::Column::Name.eq("pe1"))
        .one(&stack.db)
        .await?
        .expect("pe1 seeded");
    let path = format!("/v1/admin/pes/{}/maintenance", pe1.id);

    // Refusals, each a problem that names what is wrong, and none of them
    // starts a maintenance.
    let (status, p) = send(
        &stack,
        Method::PUT,
        &path,
        &admin,
        Some(r#"{"reason": " "}"#),
    )
    .await?;
    assert_eq!(status, 422, "{p:#}");
    assert_eq!(p["errors"][0]["field"], "reason", "{p:#}");
    let (status, p) = send(&stack, Method::PUT, &path, &admin, Some("{}")).await?;
    assert_eq!(status, 422, "{p:#}");
    assert_eq!(p["errors"][0]["field"], "reason", "{p:#}");
    let (status, p) = send(&stack, Method::PUT, &path, &admin, Some(r#"{"reason": "#)).await?;
    assert_eq!(status, 400, "{p:#}");
    let unknown = format!("/v1/admin/pes/{}/maintenance", uuid::Uuid::new_v4());
    let (status, p) = send(
        &stack,
        Method::PUT,
        &unknown,
        &admin,
        Some(r#"{"reason": "x"}"#),
    )
    .await?;
    assert_eq!(status, 404, "{p:#}");
    let (status, p) = send(
        &stack,
        Method::PUT,
        &path,
        &stack.key,
        Some(r#"{"reason": "x"}"#),
    )
    .await?;
    assert_eq!(status, 403, "a customer cannot: {p:#}");
    let (status, p) = send(&stack, Method::GET, &path, &admin, None).await?;
    assert_eq!(
        (status, p["code"].as_str()),
        (404, Some("not_in_maintenance")),
        "{p:#}"
    );

    // The maintenance starts.
    let (status, m) = send(
        &stack,
        Method::PUT,
        &path,
        &admin,
        Some(r#"{"reason": "line card swap, CHG-1234"}"#),
    )
    .await?;
    assert_eq!(status, 200, "{m:#}");
    assert_eq!(m["reason"], "line card swap, CHG-1234");
    assert_eq!(m["held_changes"], 0);
    let (_, pe) = send(
        &stack,
        Method::GET,
        &format!("/v1/admin/pes/{}", pe1.id),
        &admin,
        None,
    )
    .await?;
    assert_eq!(pe["maintenance"]["since"], m["since"], "{pe:#}");

    // An order for pe1 is taken; its change waits, and it says why without
    // the operator's reason.
    let (status, c) = stack.order_vif(json!({"bandwidth": "200Mbps"})).await?;
    assert_eq!(status, 202, "{c:#}");
    let id = c["id"].as_str().unwrap().to_string();
    let c = stack
        .wait_connector(&id, "told it waits for the maintenance", T, |c| {
            c["last_error"]
                .as_str()
                .is_some_and(|e| e.contains("planned maintenance"))
        })
        .await?;
    assert_eq!(c["state"], "configuring_pe", "{c:#}");
    // It waits on the operator's staff, and an ops filter finds it.
    assert_eq!(c["waiting_on"], "ops", "{c:#}");
    let (_, list) = stack.get_json("/v1/connectors?waiting_on=ops").await?;
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(ids, [id.as_str()], "{list:#}");
    assert!(
        !c["last_error"].as_str().unwrap().contains("CHG-1234"),
        "the operator's reason reached the customer: {c:#}"
    );
    let vlan = c["peering"]["vlan"].as_u64().expect("VLAN allocated") as u16;
    let neighbor = c["peering"]["csp_address"].as_str().unwrap_or_default();
    let neighbor = neighbor.split('/').next().unwrap().to_string();
    assert!(
        attachment(&stack.running("pe1").await?, "ge-0/0/1", vlan, &neighbor).is_none(),
        "pe1 got the unit during its maintenance"
    );
    let (_, m) = send(&stack, Method::GET, &path, &admin, None).await?;
    assert_eq!(m["held_changes"], 1, "{m:#}");
    // The PE's queue shows it; a PE that does not exist is a 404.
    let changes = format!("/v1/admin/pes/{}/changes", pe1.id);
    let (status, q) = send(&stack, Method::GET, &changes, &admin, None).await?;
    assert_eq!(status, 200, "{q:#}");
    assert_eq!(q["items"][0]["owner_id"], id.as_str(), "{q:#}");
    assert_eq!(q["items"][0]["op"], "create", "{q:#}");
    let (status, _) = send(
        &stack,
        Method::GET,
        &format!("/v1/admin/pes/{}/changes", uuid::Uuid::new_v4()),
        &admin,
        None,
    )
    .await?;
    assert_eq!(status, 404);

    // Putting it in maintenance again keeps its start.
    let (_, again) = send(
        &stack,
        Method::PUT,
        &path,
        &admin,
        Some(r#"{"reason": "still swapping"}"#),
    )
    .await?;
    assert_eq!(
        (again["since"].clone(), again["reason"].clone()),
        (m["since"].clone(), json!("still swapping"))
    );

    // It ends (an ops engineer's key may end it): what waited goes out, and
    // the PE carries it.
    let ops = onramp_store::auth::generate_key();
    onramp_store::auth::add_key(
        &stack.db,
        operator,
        "ops",
        &ops,
        onramp_store::auth::ROLE_OPS,
    )
    .await?;
    let (status, pe) = send(&stack, Method::DELETE, &path, &ops, None).await?;
    assert_eq!(status, 200, "{pe:#}");
    assert!(pe.get("maintenance").is_none(), "{pe:#}");
    stack
        .wait_state(&id, "waiting_customer_acceptance", T)
        .await?;
    let a = attachment(&stack.running("pe1").await?, "ge-0/0/1", vlan, &neighbor)
        .expect("the unit went out after the maintenance");
    assert_eq!(a.bandwidth_limit.as_deref(), Some("200000000"));
    // Ending it twice is harmless.
    let (status, _) = send(&stack, Method::DELETE, &path, &admin, None).await?;
    assert_eq!(status, 200);
    Ok(())
}

async fn pe_named(stack: &Stack, name: &str) -> Result<pe_router::Model> {
    Ok(pe_router::Entity::find()
        .filter(pe_router::Column::Name.eq(name))
        .one(&stack.db)
        .await?
        .expect("seeded"))
}

/// The VLAN and the CSP's peer address of a connector that has them.
fn unit_of(c: &Value) -> (u16, String) {
    let vlan = c["peering"]["vlan"].as_u64().expect("VLAN allocated") as u16;
    let neighbor = c["peering"]["csp_address"].as_str().unwrap_or_default();
    (vlan, neighbor.split('/').next().unwrap().to_string())
}

/// Two NNIs at EqDC2, on pe1 and on pe2, form a group: with pe1 in
/// maintenance an order goes to pe2 and runs to the customer's acceptance;
/// with both in maintenance it waits on ops for the first, and goes out
/// there when the maintenance ends.
async fn orders_go_around_a_drained_pe_to_its_nni_group(db: Db) -> Result<()> {
    use reqwest::Method;
    let stack = Stack::start_with(
        db,
        StackOptions {
            second_dx_interconnect: true,
            ..StackOptions::default()
        },
    )
    .await?;
    let admin = onramp_store::auth::generate_key();
    onramp_store::seed::seed_admin_key(&stack.db, &admin).await?;
    let (pe1, pe2) = (
        pe_named(&stack, "pe1").await?,
        pe_named(&stack, "pe2").await?,
    );
    let first = nni::Entity::find()
        .filter(nni::Column::Csp.eq("aws"))
        .one(&stack.db)
        .await?
        .expect("seeded");
    let pe2_port = pe_port::Entity::find()
        .filter(pe_port::Column::PeId.eq(pe2.id))
        .filter(pe_port::Column::Name.eq("ge-0/0/1"))
        .one(&stack.db)
        .await?
        .expect("seeded");

    // The same interconnect twice is refused, naming the field; a second
    // interconnect at the same location is the group's second NNI.
    let nni_body = |csp_ref: &str| {
        json!({"csp": "aws", "location_code": "EqDC2", "name": "Equinix DC2 (2)",
               "region": "us-east-1", "csp_ref": csp_ref, "port_id": pe2_port.id,
               "linknet_pool_id": first.linknet_pool_id, "csp_asn": first.csp_asn,
               "capacity_mbps": 10_000})
        .to_string()
    };
    let (status, p) = send(
        &stack,
        Method::POST,
        "/v1/admin/nnis",
        &admin,
        Some(&nni_body(&first.csp_ref)),
    )
    .await?;
    assert_eq!(
        (status, p["errors"][0]["field"].as_str()),
        (409, Some("csp_ref")),
        "{p:#}"
    );
    let (status, second) = send(
        &stack,
        Method::POST,
        "/v1/admin/nnis",
        &admin,
        Some(&nni_body("dxcon-onramp03")),
    )
    .await?;
    assert_eq!(status, 201, "{second:#}");

    // pe1 drained: the order lands on pe2, on the second interconnect.
    let maintenance = |pe: &pe_router::Model| format!("/v1/admin/pes/{}/maintenance", pe.id);
    let (status, _) = send(
        &stack,
        Method::PUT,
        &maintenance(&pe1),
        &admin,
        Some(r#"{"reason": "optics swap"}"#),
    )
    .await?;
    assert_eq!(status, 200);
    let (status, c) = stack.order_vif(json!({"bandwidth": "200Mbps"})).await?;
    assert_eq!(status, 202, "{c:#}");
    let around = c["id"].as_str().unwrap().to_string();
    let c = stack
        .wait_state(&around, "waiting_customer_acceptance", T)
        .await?;
    let (vlan, neighbor) = unit_of(&c);
    assert!(
        attachment(&stack.running("pe2").await?, "ge-0/0/1", vlan, &neighbor).is_some(),
        "the order did not land on pe2: {c:#}"
    );
    assert!(
        attachment(&stack.running("pe1").await?, "ge-0/0/1", vlan, &neighbor).is_none(),
        "the drained pe1 got a unit"
    );
    let vif = stack
        .sim
        .sim
        .virtual_interface(c["vif_id"].as_str().unwrap())
        .expect("the VIF exists at AWS");
    assert_eq!(vif.connection_id, "dxcon-onramp03");

    // Both drained: the order waits on ops for the group's first NNI.
    let (status, _) = send(
        &stack,
        Method::PUT,
        &maintenance(&pe2),
        &admin,
        Some(r#"{"reason": "optics swap too"}"#),
    )
    .await?;
    assert_eq!(status, 200);
    let (status, c) = stack.order_vif(json!({"bandwidth": "100Mbps"})).await?;
    assert_eq!(status, 202, "{c:#}");
    let waiting = c["id"].as_str().unwrap().to_string();
    let c = stack
        .wait_connector(&waiting, "waiting for the maintenance", T, |c| {
            c["waiting_on"] == "ops"
                && c["last_error"]
                    .as_str()
                    .is_some_and(|e| e.contains("planned maintenance"))
        })
        .await?;
    let (vlan, neighbor) = unit_of(&c);
    for pe in [&pe1, &pe2] {
        let (status, _) = send(&stack, Method::DELETE, &maintenance(pe), &admin, None).await?;
        assert_eq!(status, 200);
    }
    stack
        .wait_state(&waiting, "waiting_customer_acceptance", T)
        .await?;
    assert!(
        attachment(&stack.running("pe1").await?, "ge-0/0/1", vlan, &neighbor).is_some(),
        "the held order did not go out on pe1"
    );
    Ok(())
}
