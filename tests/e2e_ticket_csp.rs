//! Ticket-based providers end to end through the public HTTP API (issue 6),
//! against a real worker, nats-server and netconfd PE: a customer orders a
//! `ticket-csp` connector from Oracle FastConnect, ops work the two tasks
//! of the provider's runbook over `/v1/tasks` (claim, a refused completion
//! that changes nothing, valid completions), and the connector turns active
//! with the provider's VLAN, peer address and ASN on the PE, read back over
//! NETCONF. Then the exits: a rejected task fails the connector and
//! releases its resources; a delete during a manual step cancels the task.
//! And who may: customers get 403 on the tasks API, another tenant's
//! customer does not see the connector, every action is audited.

mod support;

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use onramp_store::auth::{ROLE_CUSTOMER, ROLE_OPS};
use onramp_store::entity::pe_router;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use support::{Db, Stack, attachment, unit_count};

const T: Duration = Duration::from_secs(60);
const PORT: &str = "ge-0/0/4";

/// The demo providers, with their NNIs on pe1's ge-0/0/4.
async fn seed_providers(stack: &Stack) -> Result<()> {
    let pe1 = pe_router::Entity::find()
        .filter(pe_router::Column::Name.eq("pe1"))
        .one(&stack.db)
        .await?
        .expect("pe1 seeded");
    onramp_store::seed::seed_ticket_providers(
        &stack.db,
        &onramp_store::seed::demo_ticket_providers(0, PORT),
        &[pe1.id],
    )
    .await?;
    Ok(())
}

/// A key of `role` for a new tenant `name`.
async fn key(stack: &Stack, name: &str, role: &str) -> Result<String> {
    let (_, k) = onramp_store::seed::create_tenant_with_key(&stack.db, name, "test", role).await?;
    Ok(k.secret)
}

async fn call(
    stack: &Stack,
    method: &str,
    path: &str,
    key: &str,
    body: Option<Value>,
) -> Result<(u16, Value)> {
    let url = stack.url(path);
    let req = match method {
        "GET" => stack.http.get(url),
        "POST" => stack.http.post(url),
        "DELETE" => stack.http.delete(url),
        other => bail!("method {other}"),
    };
    let req = match body {
        Some(b) => req.json(&b),
        None => req,
    };
    let r = req.bearer_auth(key).send().await?;
    let status = r.status().as_u16();
    Ok((status, r.json().await.unwrap_or(Value::Null)))
}

/// The task of the connector's manual step `number` (1-based), once the
/// worker opened it.
async fn wait_task(stack: &Stack, ops: &str, connector: &str, number: u64) -> Result<Value> {
    let start = Instant::now();
    loop {
        let (status, list) = call(
            stack,
            "GET",
            "/v1/tasks?provider=oracle-fastconnect&state=open,claimed,completed,rejected,cancelled",
            ops,
            None,
        )
        .await?;
        assert_eq!(status, 200, "{list:#}");
        if let Some(t) = list["items"].as_array().and_then(|items| {
            items
                .iter()
                .find(|t| t["connector_id"] == connector && t["step_number"] == number)
        }) {
            return Ok(t.clone());
        }
        if start.elapsed() > T {
            bail!(
                "no task {number} for {connector}: {list:#}\n{}",
                stack.logs()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn order(stack: &Stack, dry_run: bool) -> Result<(u16, Value)> {
    let path = if dry_run {
        "/v1/connectors?dry_run=true"
    } else {
        "/v1/connectors"
    };
    stack
        .post_json(
            path,
            &json!({"kind": "ticket-csp", "provider": "oracle-fastconnect",
                    "location": "OCI-ASH", "bandwidth": "1Gbps", "customer_asn": 65030}),
        )
        .await
}

fn actions(detail: &Value) -> Vec<String> {
    detail["audit"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| r["action"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The second usable address of a /30 such as `169.254.0.4/30`.
fn provider_side(subnet: &str) -> String {
    let (net, len) = subnet.split_once('/').expect("cidr");
    let ip: std::net::Ipv4Addr = net.parse().expect("ipv4");
    format!("{}/{len}", std::net::Ipv4Addr::from(u32::from(ip) + 2))
}

async fn ordered_to_active(db: Db) -> Result<()> {
    let stack = Stack::start(db).await?;
    seed_providers(&stack).await?;
    let ops = key(&stack, "NOC", ROLE_OPS).await?;
    let ops2 = key(&stack, "NOC night shift", ROLE_OPS).await?;
    let other_customer = key(&stack, "Globex", ROLE_CUSTOMER).await?;

    // Customers see the providers they can order from.
    let (status, providers) = stack.get_json("/v1/ticket-providers").await?;
    assert_eq!(status, 200, "{providers:#}");
    let oracle = providers["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["key"] == "oracle-fastconnect")
        .expect("oracle listed")
        .clone();
    assert_eq!(oracle["locations"][0]["code"], "OCI-ASH");
    assert_eq!(oracle["steps"].as_array().unwrap().len(), 2);

    // The plan says what people will do, and keeps nothing.
    let (status, plan) = order(&stack, true).await?;
    assert_eq!(status, 200, "{plan:#}");
    assert!(
        plan["steps"][0]
            .as_str()
            .unwrap()
            .contains("2 manual steps"),
        "{plan:#}"
    );
    assert!(
        plan["router_changes"][0]["config_xml"]
            .as_str()
            .unwrap()
            .contains(PORT)
    );
    assert!(
        stack.allocations().await?.is_empty(),
        "a plan keeps nothing"
    );

    let (status, c) = order(&stack, false).await?;
    assert_eq!(status, 202, "{c:#}");
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(c["state"], "waiting_ops");
    assert_eq!(c["waiting_on"], "ops");
    assert_eq!(c["ticket"]["waiting_on_step"]["number"], 1);
    assert!(
        c["ticket"]["waiting_on_step"]["title"]
            .as_str()
            .unwrap()
            .contains("cross-connect"),
        "{c:#}"
    );
    let allocated = stack.allocations().await?;

    let task1 = wait_task(&stack, &ops, &id, 1).await?;
    let t1 = task1["id"].as_str().unwrap().to_string();
    assert_eq!(task1["state"], "open");
    assert_eq!(task1["overdue"], false);

    // Customers, this one's and another tenant's, have no business here.
    for path in ["/v1/tasks".to_string(), format!("/v1/tasks/{t1}")] {
        for k in [&stack.key, &other_customer] {
            let (status, p) = call(&stack, "GET", &path, k, None).await?;
            assert_eq!(status, 403, "customer GET {path}: {p:#}");
            assert_eq!(p["code"], "forbidden");
        }
    }
    let (status, _) = call(
        &stack,
        "POST",
        &format!("/v1/tasks/{t1}/claim"),
        &stack.key,
        None,
    )
    .await?;
    assert_eq!(status, 403);
    let (status, _) = call(
        &stack,
        "GET",
        &format!("/v1/connectors/{id}"),
        &other_customer,
        None,
    )
    .await?;
    assert_eq!(
        status, 404,
        "another tenant's customer does not see the connector"
    );

    // The task carries what ops need: the step and the allocation.
    let (status, d) = call(&stack, "GET", &format!("/v1/tasks/{t1}"), &ops, None).await?;
    assert_eq!(status, 200, "{d:#}");
    assert_eq!(d["context"]["tenant"], "Acme");
    assert_eq!(d["context"]["location"], "OCI-ASH");
    assert_eq!(d["context"]["pe"], "pe1");
    assert_eq!(d["step"]["fields"][0]["name"], "provider_ticket");
    let subnet = d["context"]["subnet"].as_str().unwrap().to_string();

    // Claim; someone else's claim is respected.
    let (status, t) = call(&stack, "POST", &format!("/v1/tasks/{t1}/claim"), &ops, None).await?;
    assert_eq!(status, 200, "{t:#}");
    assert_eq!(t["state"], "claimed");
    assert!(
        t["claimed_by"].as_str().unwrap().starts_with("key "),
        "{t:#}"
    );
    let (status, p) = call(
        &stack,
        "POST",
        &format!("/v1/tasks/{t1}/complete"),
        &ops2,
        Some(json!({"values": {"provider_ticket": "SR-1"}})),
    )
    .await?;
    assert_eq!(status, 409, "{p:#}");
    assert_eq!(p["code"], "claimed_by_other");

    // An invalid value is refused naming the field, and nothing changes.
    let (status, p) = call(
        &stack,
        "POST",
        &format!("/v1/tasks/{t1}/complete"),
        &ops,
        Some(json!({"values": {"provider_ticket": "x".repeat(65)}})),
    )
    .await?;
    assert_eq!(status, 422, "{p:#}");
    assert_eq!(p["errors"][0]["field"], "values.provider_ticket");
    assert_eq!(p["errors"][0]["code"], "too_long");
    let (_, d) = call(&stack, "GET", &format!("/v1/tasks/{t1}"), &ops, None).await?;
    assert_eq!(d["task"]["state"], "claimed");
    let (_, c) = stack.get_json(&format!("/v1/connectors/{id}")).await?;
    assert_eq!(c["state"], "waiting_ops");
    assert_eq!(c["ticket"]["waiting_on_step"]["number"], 1);

    let (status, t) = call(
        &stack,
        "POST",
        &format!("/v1/tasks/{t1}/complete"),
        &ops,
        Some(json!({"values": {"provider_ticket": " SR-3-1234 "}})),
    )
    .await?;
    assert_eq!(status, 200, "{t:#}");
    assert_eq!(t["state"], "completed");
    assert_eq!(t["values"]["provider_ticket"], "SR-3-1234");

    // Step 2: the connector says so, and its task opens.
    let c = stack
        .wait_connector(&id, "step 2", T, |c| {
            c["ticket"]["waiting_on_step"]["number"] == 2
        })
        .await?;
    assert_eq!(c["waiting_on"], "ops");
    let task2 = wait_task(&stack, &ops, &id, 2).await?;
    let t2 = task2["id"].as_str().unwrap().to_string();
    let (status, n) = call(
        &stack,
        "POST",
        &format!("/v1/tasks/{t2}/notes"),
        &ops,
        Some(json!({"text": "Oracle says VLAN within the hour"})),
    )
    .await?;
    assert_eq!(status, 201, "{n:#}");

    // A bad VLAN and ASN on an unclaimed task: both named, nothing changes.
    let peer_ip = provider_side(&subnet);
    let (status, p) = call(
        &stack,
        "POST",
        &format!("/v1/tasks/{t2}/complete"),
        &ops,
        Some(json!({"values": {"provider_vlan": "5000", "provider_peer_ip": peer_ip, "provider_asn": "AS23456"}})),
    )
    .await?;
    assert_eq!(status, 422, "{p:#}");
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["values.provider_vlan", "values.provider_asn"],
        "{p:#}"
    );
    let (_, d) = call(&stack, "GET", &format!("/v1/tasks/{t2}"), &ops, None).await?;
    assert_eq!(d["task"]["state"], "open");
    assert_eq!(
        stack.allocations().await?,
        allocated,
        "allocations unchanged"
    );

    // Valid: numbers are taken as their text. The task is taken by who completes it.
    let (status, t) = call(
        &stack,
        "POST",
        &format!("/v1/tasks/{t2}/complete"),
        &ops,
        Some(json!({"values": {"provider_vlan": 812, "provider_peer_ip": peer_ip, "provider_asn": "AS31898"}})),
    )
    .await?;
    assert_eq!(status, 200, "{t:#}");
    assert_eq!(t["values"]["provider_asn"], "31898");

    let c = stack.wait_state(&id, "active", T).await?;
    assert_eq!(c["waiting_on"], "nobody");
    assert_eq!(c["peering"]["vlan"], 812);
    assert_eq!(c["peering"]["csp_address"], peer_ip);
    assert_eq!(c["peering"]["csp_asn"], 31898);
    let ours = c["peering"]["onramp_address"].as_str().unwrap().to_string();

    // The PE carries the provider's values.
    let running = stack.running("pe1").await?;
    let a = attachment(&running, PORT, 812, peer_ip.split('/').next().unwrap())
        .expect("unit 812 on pe1");
    assert_eq!(a.vlan.as_deref(), Some("812"));
    assert_eq!(a.address.as_deref(), Some(ours.as_str()));
    assert_eq!(a.neighbor_peer_as.as_deref(), Some("31898"));
    assert_eq!(a.neighbor_local_as.as_deref(), Some("65030"));
    assert_eq!(a.bandwidth_limit.as_deref(), Some("1000000000"), "1Gbps");

    // Every action is audited, with who did it.
    let (_, d1) = call(&stack, "GET", &format!("/v1/tasks/{t1}"), &ops, None).await?;
    assert_eq!(actions(&d1), ["open", "claim", "complete"], "{d1:#}");
    assert_eq!(d1["audit"][0]["actor"], "onramp");
    assert!(
        d1["audit"][1]["actor"].as_str().unwrap().contains("(test)"),
        "{d1:#}"
    );
    let (_, d2) = call(&stack, "GET", &format!("/v1/tasks/{t2}"), &ops, None).await?;
    assert_eq!(actions(&d2), ["open", "note", "complete"], "{d2:#}");
    assert_eq!(d2["notes"][0]["text"], "Oracle says VLAN within the hour");
    assert_eq!(d2["task"]["claimed_by"], d2["audit"][2]["actor"]);
    assert_eq!(d2["audit"][2]["detail"]["values"]["provider_vlan"], "812");
    let (_, events) = stack
        .get_json(&format!("/v1/connectors/{id}/events"))
        .await?;
    assert!(
        events["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "task_completed" && e["actor"] == "ops"),
        "{events:#}"
    );

    // Deprovision: the PE is clean and everything is released.
    let (status, _) = stack.delete(&format!("/v1/connectors/{id}")).await?;
    assert_eq!(status, 202);
    stack.wait_state(&id, "deleted", T).await?;
    assert_eq!(unit_count(&stack.running("pe1").await?, PORT), 0);
    assert!(stack.allocations().await?.is_empty(), "resources released");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn ticket_order_to_active_with_the_providers_values() -> Result<()> {
    ordered_to_active(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread")]
async fn ticket_order_to_active_with_the_providers_values_postgres() -> Result<()> {
    ordered_to_active(Db::Postgres).await
}

async fn rejected_and_cancelled(db: Db) -> Result<()> {
    let stack = Stack::start(db).await?;
    seed_providers(&stack).await?;
    let ops = key(&stack, "NOC", ROLE_OPS).await?;

    let (status, c) = order(&stack, false).await?;
    assert_eq!(status, 202, "{c:#}");
    let id = c["id"].as_str().unwrap().to_string();
    let t1 = wait_task(&stack, &ops, &id, 1).await?["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!stack.allocations().await?.is_empty());

    let (status, p) = call(
        &stack,
        "POST",
        &format!("/v1/tasks/{t1}/reject"),
        &ops,
        Some(json!({"reason": "  "})),
    )
    .await?;
    assert_eq!(status, 422, "{p:#}");
    assert_eq!(p["errors"][0]["field"], "reason");

    let (status, t) = call(
        &stack,
        "POST",
        &format!("/v1/tasks/{t1}/reject"),
        &ops,
        Some(json!({"reason": "Oracle has no capacity on this port until Q3"})),
    )
    .await?;
    assert_eq!(status, 200, "{t:#}");
    assert_eq!(t["state"], "rejected");
    let c = stack.wait_state(&id, "failed", T).await?;
    assert!(
        c["failure_reason"]
            .as_str()
            .unwrap()
            .contains("no capacity on this port"),
        "{c:#}"
    );
    // A ticket connector is not retried: it keeps its allocations until it
    // is deleted, and is ordered again.
    let (status, p) = stack
        .post_json(&format!("/v1/connectors/{id}/retry"), &json!({}))
        .await?;
    assert_eq!(
        (status, p["code"].as_str()),
        (409, Some("not_retryable")),
        "{p:#}"
    );
    stack.delete_failed(&id).await?;
    assert!(stack.allocations().await?.is_empty(), "resources released");
    let (status, p) = call(
        &stack,
        "POST",
        &format!("/v1/tasks/{t1}/complete"),
        &ops,
        Some(json!({"values": {"provider_ticket": "SR-1"}})),
    )
    .await?;
    assert_eq!(status, 409, "{p:#}");
    assert_eq!(p["code"], "task_closed");
    let (_, d) = call(&stack, "GET", &format!("/v1/tasks/{t1}"), &ops, None).await?;
    assert_eq!(actions(&d), ["open", "reject"], "{d:#}");
    assert_eq!(
        d["audit"][1]["detail"]["reason"],
        "Oracle has no capacity on this port until Q3"
    );

    // A delete during a manual step cancels its task (audited).
    let (status, c) = order(&stack, false).await?;
    assert_eq!(status, 202, "{c:#}");
    let id = c["id"].as_str().unwrap().to_string();
    let t = wait_task(&stack, &ops, &id, 1).await?;
    let tid = t["id"].as_str().unwrap().to_string();
    let (status, _) = call(
        &stack,
        "POST",
        &format!("/v1/tasks/{tid}/claim"),
        &ops,
        None,
    )
    .await?;
    assert_eq!(status, 200);
    let (status, _) = stack.delete(&format!("/v1/connectors/{id}")).await?;
    assert_eq!(status, 202);
    stack.wait_state(&id, "deleted", T).await?;
    let (_, d) = call(&stack, "GET", &format!("/v1/tasks/{tid}"), &ops, None).await?;
    assert_eq!(d["task"]["state"], "cancelled", "{d:#}");
    assert_eq!(actions(&d), ["open", "claim", "cancel"], "{d:#}");
    let (_, list) = call(&stack, "GET", "/v1/tasks", &ops, None).await?;
    assert!(
        list["items"].as_array().unwrap().is_empty(),
        "no active task left: {list:#}"
    );
    assert!(stack.allocations().await?.is_empty(), "resources released");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_task_fails_the_connector_and_a_delete_cancels_its_task() -> Result<()> {
    rejected_and_cancelled(Db::Sqlite).await
}
