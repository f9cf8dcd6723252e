//! ExpressRoute end to end through the public HTTP API, against the ARM
//! simulator and two real netconfd PEs: the customer creates a circuit (a
//! service key), orders with it, and onramp provisions the circuit, pushes
//! both legs (QinQ, a /30 and a BGP session to AS 12076 each, on two PEs),
//! configures the private peering and waits for both sessions. Then the
//! failure paths: bad and unknown keys, a failed long-running operation, a
//! 429 storm, a leg going down, a PE refusing a leg, and deprovisioning.

mod support;

use std::time::Duration;

use anyhow::Result;
use onramp_router_templates::{AttachmentIntent, NeighborIntent, Operation, Platform, VrfIntent};
use onramp_simulators::azure_er::{AzureFault, CreateCircuit, SimCrossConnection};
use serde_json::{Value, json};
use support::{Db, Stack, attachment, templates_root, unit_count};

const T: Duration = Duration::from_secs(60);
const ER_PORT: &str = "ge-0/0/2";

fn circuit(stack: &Stack, location: &str) -> SimCrossConnection {
    stack
        .azure
        .sim
        .create_circuit(CreateCircuit {
            peering_location: location.into(),
            bandwidth_in_mbps: 1000,
            circuit_name: None,
            location: None,
        })
        .expect("the simulator creates the circuit")
}

async fn order(stack: &Stack, extra: Value) -> Result<(u16, Value)> {
    let mut body = json!({"kind": "azure-expressroute"});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    stack.post_json("/v1/connectors", &body).await
}

async fn set_leg(stack: &Stack, key: &str, leg: &str, up: bool) -> Result<()> {
    let r = stack
        .http
        .post(format!(
            "{}/_sim/cross-connections/{key}/legs/{leg}",
            stack.azure.endpoint_url()
        ))
        .json(&json!({ "up": up }))
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "leg control: {}", r.status());
    Ok(())
}

async fn connector_count(stack: &Stack) -> Result<usize> {
    let (_, list) = stack.get_json("/v1/connectors").await?;
    Ok(list["items"].as_array().map_or(0, Vec::len))
}

fn strip(cidr: &str) -> &str {
    cidr.split('/').next().unwrap()
}

/// Both PEs carry their leg: S-tag outside, C-tag inside, the leg's
/// address, and the session to Microsoft with our ASN and the MD5 key.
async fn assert_legs_on_pes(stack: &Stack, c: &Value) -> Result<()> {
    let az = &c["azure"];
    let s_tag = az["s_tag"].as_u64().unwrap() as u16;
    for (leg, pe) in [("primary", "pe1"), ("secondary", "pe2")] {
        assert_eq!(az[leg]["pe"], pe, "{leg} leg placement");
        let running = stack.running(pe).await?;
        let a = attachment(
            &running,
            ER_PORT,
            s_tag,
            strip(az[leg]["microsoft_address"].as_str().unwrap()),
        )
        .unwrap_or_else(|| panic!("{leg} leg unit on {pe}: {running}"));
        assert_eq!(a.vlan, Some(s_tag.to_string()));
        assert_eq!(a.inner_vlan, Some(az["vlan_id"].to_string()));
        assert_eq!(
            a.address.as_deref(),
            az[leg]["onramp_address"].as_str(),
            "{leg} address"
        );
        assert_eq!(a.neighbor_peer_as.as_deref(), Some("12076"));
        assert_eq!(a.neighbor_local_as, Some(az["peer_asn"].to_string()));
        assert!(a.neighbor_key.is_some(), "MD5 key on the {leg} session");
        // The circuit's 1000 Mbps, enforced on each leg.
        assert_eq!(a.bandwidth_limit.as_deref(), Some("1000000000"), "{leg}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn expressroute_lifecycle_with_a_leg_down_and_deprovisioning() -> Result<()> {
    let stack = Stack::start(Db::Sqlite).await?;
    let xc = circuit(&stack, "Silicon Valley");
    let key = xc.service_key.clone();

    // The plan shows both legs' router XML and the ARM calls, and keeps nothing.
    let (status, plan) = stack
        .post_json(
            "/v1/connectors?dry_run=true",
            &json!({"kind": "azure-expressroute", "service_key": key}),
        )
        .await?;
    assert_eq!(status, 200, "{plan:#}");
    let changes = plan["router_changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2, "{plan:#}");
    assert_eq!(changes[0]["pe"], "pe1");
    assert_eq!(changes[1]["pe"], "pe2");
    assert!(
        changes[0]["config_xml"]
            .as_str()
            .unwrap()
            .contains(&format!("<vlan-id>{}</vlan-id>", xc.s_tag)),
        "S-tag in the plan"
    );
    assert!(
        plan["csp_calls"][1]["operation"]
            .as_str()
            .unwrap()
            .ends_with("/peerings/AzurePrivatePeering")
    );
    assert_eq!(
        plan["csp_calls"][1]["request"]["properties"]["sharedKey"],
        "********"
    );
    assert!(
        stack.allocations().await?.is_empty(),
        "a plan keeps nothing"
    );
    assert_eq!(
        stack
            .azure
            .sim
            .cross_connection(&key)
            .unwrap()
            .service_provider_provisioning_state,
        "NotProvisioned",
        "a plan calls nothing at Azure but the lookup"
    );

    let (status, c) = order(&stack, json!({"service_key": key, "peer_asn": 65010})).await?;
    assert_eq!(status, 202, "{c:#}");
    assert!(
        c.get("shared_key").is_none(),
        "the key is never shown when onramp peers"
    );
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(c["azure"]["s_tag"], xc.s_tag);
    assert_eq!(c["azure"]["vlan_id"], 100);
    assert_ne!(c["azure"]["primary"]["pe"], c["azure"]["secondary"]["pe"]);
    assert!(
        c["azure"]["primary"]["subnet"]
            .as_str()
            .unwrap()
            .ends_with("/30")
    );

    // Ordering the same key again is refused while the first one lives.
    let (status, again) = order(&stack, json!({"service_key": key})).await?;
    assert_eq!(status, 409, "{again:#}");
    assert_eq!(again["code"], "service_key_in_use");

    let c = stack.wait_state(&id, "active", T).await?;
    assert_eq!(c["waiting_on"], "nobody");
    assert_legs_on_pes(&stack, &c).await?;

    // Azure's side: provisioned, and the peering carries our values.
    let sim_xc = stack.azure.sim.cross_connection(&key).unwrap();
    assert_eq!(sim_xc.service_provider_provisioning_state, "Provisioned");
    let p = sim_xc.private_peering.expect("private peering configured");
    assert_eq!(p.peer_asn, 65010);
    assert_eq!(p.vlan_id, 100);
    assert_eq!(
        p.primary_peer_address_prefix,
        c["azure"]["primary"]["subnet"]
    );
    assert_eq!(
        p.secondary_peer_address_prefix,
        c["azure"]["secondary"]["subnet"]
    );
    let md5 = attachment(
        &stack.running("pe1").await?,
        ER_PORT,
        xc.s_tag as u16,
        strip(c["azure"]["primary"]["microsoft_address"].as_str().unwrap()),
    )
    .unwrap()
    .neighbor_key
    .unwrap();
    assert_eq!(
        p.shared_key.as_deref(),
        Some(md5.as_str()),
        "same key at both ends"
    );
    let (_, body) = stack.get_json(&format!("/v1/connectors/{id}")).await?;
    assert!(
        !body.to_string().contains(&md5),
        "the key never leaves the API"
    );

    // One leg down is visible as degraded, and recovers.
    set_leg(&stack, &key, "primary", false).await?;
    let c = stack.wait_state(&id, "degraded", T).await?;
    assert_eq!(c["azure"]["degraded_leg"], "primary");
    assert_eq!(c["waiting_on"], "csp");
    set_leg(&stack, &key, "primary", true).await?;
    let c = stack.wait_state(&id, "active", T).await?;
    assert!(c["azure"].get("degraded_leg").is_none());

    // Deprovision: both PEs cleaned, peering deleted, circuit back to
    // NotProvisioned, every allocation released.
    let (status, _) = stack.delete(&format!("/v1/connectors/{id}")).await?;
    assert_eq!(status, 202);
    stack.wait_state(&id, "deleted", T).await?;
    for pe in ["pe1", "pe2"] {
        assert_eq!(
            unit_count(&stack.running(pe).await?, ER_PORT),
            0,
            "{pe} clean"
        );
    }
    let sim_xc = stack.azure.sim.cross_connection(&key).unwrap();
    assert_eq!(sim_xc.service_provider_provisioning_state, "NotProvisioned");
    assert!(sim_xc.private_peering.is_none());
    assert!(stack.allocations().await?.is_empty(), "resources released");
    let (_, events) = stack
        .get_json(&format!("/v1/connectors/{id}/events"))
        .await?;
    let states: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to_state"].as_str().unwrap())
        .collect();
    for s in [
        "removing_secondary_pe",
        "removing_primary_pe",
        "deleting_peering",
        "deprovisioning_circuit",
        "releasing_resources",
        "deleted",
    ] {
        assert!(states.contains(&s), "teardown passes {s}: {states:?}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_orders_and_azure_failures_change_nothing_or_roll_back() -> Result<()> {
    let stack = Stack::start(Db::Sqlite).await?;

    // A malformed key is refused before Azure is asked.
    let calls_before: u64 = stack.azure.sim.stats().values().sum();
    let (status, p) = order(&stack, json!({"service_key": "not-a-key"})).await?;
    assert_eq!(status, 422, "{p:#}");
    assert_eq!(p["errors"][0]["field"], "service_key");
    assert_eq!(p["errors"][0]["code"], "invalid_format");
    assert_eq!(stack.azure.sim.stats().values().sum::<u64>(), calls_before);

    // A well-formed key no circuit has: 422 naming the key.
    let unknown = "0d9c4b4e-6f2a-4b1e-9a8f-3c2d1e0f9a8b";
    let (status, p) = order(&stack, json!({"service_key": unknown})).await?;
    assert_eq!(status, 422, "{p:#}");
    assert_eq!(p["errors"][0]["code"], "unknown_service_key");
    assert!(p["detail"].as_str().unwrap().contains(unknown), "{p:#}");

    // A circuit at a peering location onramp has no NNI for.
    let elsewhere = circuit(&stack, "Washington DC");
    let (status, p) = order(&stack, json!({"service_key": elsewhere.service_key})).await?;
    assert_eq!(status, 422, "{p:#}");
    assert_eq!(p["errors"][0]["code"], "location_not_served");
    assert!(
        p["detail"].as_str().unwrap().contains("Washington DC"),
        "{p:#}"
    );

    // Field errors are reported together, with the field at fault.
    let (status, p) = order(
        &stack,
        json!({"service_key": unknown, "peer_asn": 65517, "vlan_id": 5000}),
    )
    .await?;
    assert_eq!(status, 422, "{p:#}");
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["peer_asn", "vlan_id"], "{p:#}");

    // A 429 storm at order time: 503 with Retry-After, nothing ordered.
    let xc = circuit(&stack, "Silicon Valley");
    stack.azure.sim.inject_fault(AzureFault::Throttle {
        count: 1000,
        retry_after: 40,
    });
    let r = stack
        .http
        .post(stack.url("/v1/connectors"))
        .bearer_auth(&stack.key)
        .json(&json!({"kind": "azure-expressroute", "service_key": xc.service_key}))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 503);
    assert!(
        r.headers().get("retry-after").is_some(),
        "Retry-After passed on"
    );
    let p: Value = r.json().await?;
    assert_eq!(p["code"], "csp_throttled");
    stack.azure.sim.clear_faults();
    assert_eq!(
        connector_count(&stack).await?,
        0,
        "no connector from a refused order"
    );
    assert!(stack.allocations().await?.is_empty(), "nothing allocated");

    // A short 429 storm while provisioning is absorbed: the worker honours
    // Retry-After and the order still goes through.
    let (status, c) = order(&stack, json!({"service_key": xc.service_key})).await?;
    assert_eq!(status, 202, "{c:#}");
    stack.azure.sim.inject_fault(AzureFault::Throttle {
        count: 3,
        retry_after: 1,
    });
    let id = c["id"].as_str().unwrap().to_string();
    stack.wait_state(&id, "active", T).await?;
    let (status, _) = stack.delete(&format!("/v1/connectors/{id}")).await?;
    assert_eq!(status, 202);
    stack.wait_state(&id, "deleted", T).await?;

    // The circuit's provisioning LRO fails at Azure: the connector fails
    // with Azure's message, nothing stays on the PEs, all is released.
    let xc = circuit(&stack, "Silicon Valley");
    stack.azure.sim.inject_fault(AzureFault::LroFailure {
        count: 1,
        code: "InternalServerError".into(),
        message: "Simulated provisioning failure.".into(),
    });
    let (status, c) = order(&stack, json!({"service_key": xc.service_key})).await?;
    assert_eq!(status, 202, "{c:#}");
    let id = c["id"].as_str().unwrap().to_string();
    let c = stack.wait_state(&id, "failed", T).await?;
    let reason = c["failure_reason"].as_str().unwrap();
    assert!(
        reason.contains("Simulated provisioning failure"),
        "{reason}"
    );
    for pe in ["pe1", "pe2"] {
        assert_eq!(unit_count(&stack.running(pe).await?, ER_PORT), 0);
    }
    // It keeps its allocations for a retry until it is deleted.
    stack.delete_failed(&id).await?;
    assert!(
        stack.allocations().await?.is_empty(),
        "released once the failed connector is deleted"
    );
    assert_eq!(
        stack
            .azure
            .sim
            .cross_connection(&xc.service_key)
            .unwrap()
            .service_provider_provisioning_state,
        "NotProvisioned"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_secondary_leg_rolls_back_the_primary_and_azure() -> Result<()> {
    let stack = Stack::start(Db::Sqlite).await?;
    let xc = circuit(&stack, "Silicon Valley");
    // Someone configured a unit with Microsoft's S-tag on pe2 by hand; the
    // semantic check refuses the secondary leg.
    let platform = Platform::load(&templates_root(), "reference-pe")?;
    let foreign = AttachmentIntent {
        connector_id: "hand-made-er".into(),
        interface: ER_PORT.into(),
        vlan: xc.s_tag as u16,
        inner_vlan: None,
        local_address: "10.98.0.1/31".into(),
        vrf: VrfIntent {
            name: "legacy".into(),
            route_distinguisher: "65000:8".into(),
            route_target: "target:65000:8".into(),
        },
        neighbor: NeighborIntent {
            address: "10.98.0.0".into(),
            peer_as: 65098,
            local_as: 65000,
            auth_key: "legacy-key".into(),
            prefix_limit: 10,
            bfd: false,
            description: "legacy".into(),
        },
        policer: None,
    };
    let rendered = platform.render(Operation::Create, &foreign)?;
    onramp_pe_netconf::apply(&stack.pe_target("pe2"), platform.quirks(), &rendered).await?;
    let pe2_before = stack.running("pe2").await?;

    let (status, c) = order(&stack, json!({"service_key": xc.service_key})).await?;
    assert_eq!(status, 202, "{c:#}");
    let id = c["id"].as_str().unwrap().to_string();
    let c = stack.wait_state(&id, "failed", T).await?;
    let reason = c["failure_reason"].as_str().unwrap();
    assert!(reason.contains("secondary"), "{reason}");
    assert!(
        reason.contains(&format!("unit {} on {ER_PORT} already exists", xc.s_tag)),
        "{reason}"
    );
    assert_eq!(
        unit_count(&stack.running("pe1").await?, ER_PORT),
        0,
        "primary removed"
    );
    assert_eq!(stack.running("pe2").await?, pe2_before, "pe2 untouched");
    assert_eq!(
        stack
            .azure
            .sim
            .cross_connection(&xc.service_key)
            .unwrap()
            .service_provider_provisioning_state,
        "NotProvisioned",
        "Azure rolled back"
    );
    stack.delete_failed(&id).await?;
    assert!(stack.allocations().await?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn customer_configured_peering_is_checked_against_the_allocation() -> Result<()> {
    let stack = Stack::start(Db::Sqlite).await?;
    let xc = circuit(&stack, "Silicon Valley");
    let (status, c) = order(
        &stack,
        json!({"service_key": xc.service_key, "configure_peering": false, "vlan_id": 300}),
    )
    .await?;
    assert_eq!(status, 202, "{c:#}");
    let id = c["id"].as_str().unwrap().to_string();
    let shared_key = c["shared_key"]
        .as_str()
        .expect("key shown once")
        .to_string();
    let (_, again) = stack.get_json(&format!("/v1/connectors/{id}")).await?;
    assert!(again.get("shared_key").is_none(), "shown only once");

    let c = stack.wait_state(&id, "waiting_customer_peering", T).await?;
    assert_eq!(c["waiting_on"], "customer");
    let az = c["azure"].clone();

    let put = |vlan: u64| {
        stack
            .http
            .put(format!(
                "{}/_sim/cross-connections/{}/private-peering",
                stack.azure.endpoint_url(),
                xc.service_key
            ))
            .json(&json!({
                "peerASN": az["peer_asn"],
                "primaryPeerAddressPrefix": az["primary"]["subnet"],
                "secondaryPeerAddressPrefix": az["secondary"]["subnet"],
                "vlanId": vlan,
                "sharedKey": shared_key,
            }))
            .send()
    };
    // The customer types the wrong VLAN: the connector says so and waits.
    assert!(put(301).await?.status().is_success());
    let start = std::time::Instant::now();
    loop {
        let (_, events) = stack
            .get_json(&format!("/v1/connectors/{id}/events"))
            .await?;
        if events
            .to_string()
            .contains("vlanId is 301, onramp allocated 300")
        {
            break;
        }
        assert!(start.elapsed() < T, "mismatch never shown: {events:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, c) = stack.get_json(&format!("/v1/connectors/{id}")).await?;
    assert_eq!(
        c["state"], "waiting_customer_peering",
        "still waiting: {c:#}"
    );
    // Fixed: both sessions come up.
    assert!(put(300).await?.status().is_success());
    let c = stack.wait_state(&id, "active", T).await?;
    assert_legs_on_pes(&stack, &c).await?;
    Ok(())
}
