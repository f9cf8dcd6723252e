//! Operation-level checks, straight on the state (no HTTP).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::*;

const PARTNER: Caller = Caller::Partner;
const CUSTOMER: &str = "444455556666";

fn customer() -> Caller {
    Caller::Customer(CUSTOMER.to_owned())
}

fn sim(delay: Duration) -> SimState {
    SimState::new(SimConfig {
        available_after: delay,
        bgp_up_after: delay,
        deleted_after: delay,
        ..SimConfig::default()
    })
}

fn call(
    s: &mut SimState,
    op: &str,
    caller: &Caller,
    body: Value,
    now: Instant,
) -> Result<Value, ApiError> {
    s.advance(now);
    s.dispatch(op, caller, body.to_string().as_bytes(), now)
}

fn alloc_body(vlan: i64) -> Value {
    json!({
        "connectionId": "dxcon-onramp01",
        "ownerAccount": CUSTOMER,
        "newPrivateVirtualInterfaceAllocation": {
            "virtualInterfaceName": format!("svc-{vlan}"),
            "vlan": vlan,
            "asn": 65001,
            "amazonAddress": "169.254.10.0/31",
            "customerAddress": "169.254.10.1/31",
            "authKey": "s3cr3t-key"
        }
    })
}

fn allocate(s: &mut SimState, body: Value, now: Instant) -> Result<Value, ApiError> {
    call(s, "AllocatePrivateVirtualInterface", &PARTNER, body, now)
}

fn client_message(r: Result<Value, ApiError>) -> String {
    let e = r.expect_err("expected an error");
    assert_eq!(e.error_type, "DirectConnectClientException", "{e:?}");
    assert_eq!(e.status, StatusCode::BAD_REQUEST);
    e.message
}

#[test]
fn allocate_returns_a_confirming_vif_with_one_pending_peer() {
    let mut s = sim(Duration::ZERO);
    let vif = allocate(&mut s, alloc_body(101), Instant::now()).unwrap();
    let id = vif["virtualInterfaceId"].as_str().unwrap();
    assert!(id.starts_with("dxvif-") && id.len() == 14, "{id}");
    assert!(
        id[6..]
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
        "{id}"
    );
    assert_eq!(vif["virtualInterfaceState"], "confirming");
    assert_eq!(vif["ownerAccount"], CUSTOMER);
    assert_eq!(vif["connectionId"], "dxcon-onramp01");
    assert_eq!(vif["location"], "EqDC2");
    assert_eq!(vif["region"], "us-east-1");
    assert_eq!(vif["vlan"], 101);
    assert_eq!(vif["asn"], 65001);
    assert_eq!(vif["asnLong"], 65001);
    assert_eq!(vif["amazonSideAsn"], 64512);
    assert_eq!(vif["mtu"], 1500);
    assert_eq!(vif["virtualInterfaceType"], "private");
    let peers = vif["bgpPeers"].as_array().unwrap();
    assert_eq!(peers.len(), 1);
    assert_eq!(peers[0]["bgpPeerState"], "pending");
    assert_eq!(peers[0]["bgpStatus"], "down");
    assert!(
        peers[0]["bgpPeerId"]
            .as_str()
            .unwrap()
            .starts_with("dxpeer-")
    );
    assert_eq!(peers[0]["amazonAddress"], "169.254.10.0/31");
}

#[test]
fn allocate_rejects_bad_requests_with_aws_messages() {
    let mut s = sim(Duration::ZERO);
    let now = Instant::now();

    let mut b = alloc_body(10);
    b["connectionId"] = json!("dxcon-nope1234");
    assert_eq!(
        client_message(allocate(&mut s, b, now)),
        "Could not find Connection with ID dxcon-nope1234"
    );

    let mut b = alloc_body(10);
    b["ownerAccount"] = json!("1234");
    assert!(client_message(allocate(&mut s, b, now)).contains("12-digit"));

    let mut b = alloc_body(10);
    b["ownerAccount"] = json!("111122223333");
    assert_eq!(
        client_message(allocate(&mut s, b, now)),
        "Cannot allocate VirtualInterface for the connection owner."
    );

    for vlan in [0, 4095] {
        assert!(client_message(allocate(&mut s, alloc_body(vlan), now)).contains("VLAN"));
    }

    let mut b = alloc_body(10);
    b["newPrivateVirtualInterfaceAllocation"]["asn"] = json!(2_147_483_647i64);
    assert!(client_message(allocate(&mut s, b, now)).contains("asnLong"));

    let mut b = alloc_body(10);
    b["newPrivateVirtualInterfaceAllocation"]["authKey"] = json!("abc");
    assert!(client_message(allocate(&mut s, b, now)).contains("between 6 and 80"));

    let mut b = alloc_body(10);
    b["newPrivateVirtualInterfaceAllocation"]["customerAddress"] = json!("169.254.99.1/31");
    assert!(client_message(allocate(&mut s, b, now)).contains("same subnet"));

    let mut b = alloc_body(10);
    b["newPrivateVirtualInterfaceAllocation"]
        .as_object_mut()
        .unwrap()
        .remove("customerAddress");
    assert!(client_message(allocate(&mut s, b, now)).contains("both"));

    // The partner cannot allocate on a connection it does not own; a customer
    // cannot allocate at all.
    let e = call(
        &mut s,
        "AllocatePrivateVirtualInterface",
        &customer(),
        alloc_body(10),
        now,
    );
    assert!(client_message(e).starts_with("Could not find Connection"));

    assert!(
        s.snapshot().is_empty(),
        "nothing may be created by refused calls"
    );
}

#[test]
fn missing_members_and_bad_json_are_validation_errors() {
    let mut s = sim(Duration::ZERO);
    let now = Instant::now();
    let e = allocate(&mut s, json!({"connectionId": "dxcon-onramp01"}), now).unwrap_err();
    assert_eq!(e.error_type, "ValidationException");
    assert!(e.message.contains("'ownerAccount'"), "{}", e.message);

    let mut b = alloc_body(10);
    b["newPrivateVirtualInterfaceAllocation"]
        .as_object_mut()
        .unwrap()
        .remove("vlan");
    let e = allocate(&mut s, b, now).unwrap_err();
    assert!(e.message.contains("vlan"), "{}", e.message);

    let e = s
        .dispatch(
            "AllocatePrivateVirtualInterface",
            &PARTNER,
            b"{not json",
            now,
        )
        .unwrap_err();
    assert_eq!(e.error_type, "SerializationException");

    let mut b = alloc_body(10);
    b["newPrivateVirtualInterfaceAllocation"]["vlan"] = json!("ten");
    assert_eq!(
        allocate(&mut s, b, now).unwrap_err().error_type,
        "SerializationException"
    );

    let e = s.dispatch("CreateLag", &PARTNER, b"{}", now).unwrap_err();
    assert_eq!(e.error_type, "UnknownOperationException");
}

#[test]
fn vlan_is_unique_per_connection_until_the_vif_is_gone() {
    let mut s = sim(Duration::from_secs(3600));
    let now = Instant::now();
    let first = allocate(&mut s, alloc_body(200), now).unwrap();
    assert_eq!(
        client_message(allocate(&mut s, alloc_body(200), now)),
        "VLAN 200 is already in use on connection dxcon-onramp01."
    );
    // Deleting still holds the VLAN...
    let id = first["virtualInterfaceId"].clone();
    call(
        &mut s,
        "DeleteVirtualInterface",
        &PARTNER,
        json!({"virtualInterfaceId": id}),
        now,
    )
    .unwrap();
    assert!(allocate(&mut s, alloc_body(200), now).is_err());
    // ...deleted frees it.
    let later = now + Duration::from_secs(3600);
    allocate(&mut s, alloc_body(200), later).unwrap();
}

#[test]
fn asn_long_and_generated_values() {
    let mut s = sim(Duration::ZERO);
    let now = Instant::now();
    let mut b = alloc_body(300);
    let a = b["newPrivateVirtualInterfaceAllocation"]
        .as_object_mut()
        .unwrap();
    a.remove("amazonAddress");
    a.remove("customerAddress");
    a.remove("authKey");
    a.insert("asnLong".into(), json!(4_200_000_001u64));
    let vif = allocate(&mut s, b, now).unwrap();
    assert_eq!(vif["asnLong"], 4_200_000_001u64);
    assert_eq!(vif["asn"], 0, "a 4-byte asnLong echoes 0 in asn");
    let key = vif["authKey"].as_str().unwrap();
    assert!((6..=80).contains(&key.len()));
    let amazon = vif["amazonAddress"].as_str().unwrap();
    let customer = vif["customerAddress"].as_str().unwrap();
    assert!(
        amazon.starts_with("169.254.") && amazon.ends_with("/30"),
        "{amazon}"
    );
    validate::peer_addresses(amazon, customer).unwrap();
    assert_eq!(s.snapshot()[0].asn, 4_200_000_001);
}

#[test]
fn confirm_then_available_then_bgp_up() {
    let mut s = sim(Duration::from_secs(10));
    let t0 = Instant::now();
    let vif = allocate(&mut s, alloc_body(101), t0).unwrap();
    let id = vif["virtualInterfaceId"].as_str().unwrap().to_owned();
    let confirm = json!({"virtualInterfaceId": id, "virtualGatewayId": "vgw-0123abcd"});

    // Only the owner may confirm.
    let e = call(
        &mut s,
        "ConfirmPrivateVirtualInterface",
        &PARTNER,
        confirm.clone(),
        t0,
    );
    assert!(client_message(e).contains("owner"));
    let other = Caller::Customer("999988887777".into());
    let e = call(
        &mut s,
        "ConfirmPrivateVirtualInterface",
        &other,
        confirm.clone(),
        t0,
    );
    assert!(client_message(e).contains("does not exist"));
    let no_gw = json!({"virtualInterfaceId": id});
    assert!(
        call(
            &mut s,
            "ConfirmPrivateVirtualInterface",
            &customer(),
            no_gw,
            t0
        )
        .is_err()
    );

    let out = call(
        &mut s,
        "ConfirmPrivateVirtualInterface",
        &customer(),
        confirm.clone(),
        t0,
    )
    .unwrap();
    assert_eq!(out, json!({"virtualInterfaceState": "pending"}));
    let e = call(
        &mut s,
        "ConfirmPrivateVirtualInterface",
        &customer(),
        confirm,
        t0,
    );
    assert!(client_message(e).contains("cannot be confirmed"));

    let state = |s: &mut SimState, at: Instant| {
        s.advance(at);
        let v = &s.snapshot()[0];
        (
            v.state.clone(),
            v.bgp_status.clone(),
            v.bgp_peer_state.clone(),
        )
    };
    let secs = Duration::from_secs;
    assert_eq!(
        state(&mut s, t0 + secs(9)),
        ("pending".into(), "down".into(), "pending".into())
    );
    assert_eq!(
        state(&mut s, t0 + secs(10)),
        ("available".into(), "down".into(), "pending".into())
    );
    assert_eq!(
        state(&mut s, t0 + secs(20)),
        ("available".into(), "up".into(), "available".into())
    );
    assert_eq!(
        s.snapshot()[0].virtual_gateway_id.as_deref(),
        Some("vgw-0123abcd")
    );

    // The customer sees it; the partner too.
    for caller in [customer(), PARTNER] {
        let out = call(
            &mut s,
            "DescribeVirtualInterfaces",
            &caller,
            json!({"virtualInterfaceId": id}),
            t0 + secs(20),
        )
        .unwrap();
        assert_eq!(
            out["virtualInterfaces"][0]["virtualInterfaceState"],
            "available"
        );
        assert_eq!(
            out["virtualInterfaces"][0]["bgpPeers"][0]["bgpStatus"],
            "up"
        );
    }

    // Control plane: BGP down, then up again.
    let v = s.set_bgp(&id, false, t0 + secs(21)).unwrap();
    assert_eq!((v.state.as_str(), v.bgp_status.as_str()), ("down", "down"));
    assert_eq!(state(&mut s, t0 + secs(100)).0, "down", "held down");
    let v = s.set_bgp(&id, true, t0 + secs(101)).unwrap();
    assert_eq!(
        (v.state.as_str(), v.bgp_status.as_str()),
        ("available", "up")
    );
}

#[test]
fn customer_deleting_while_confirming_rejects() {
    let mut s = sim(Duration::ZERO);
    let now = Instant::now();
    let vif = allocate(&mut s, alloc_body(101), now).unwrap();
    let id = vif["virtualInterfaceId"].clone();
    let out = call(
        &mut s,
        "DeleteVirtualInterface",
        &customer(),
        json!({"virtualInterfaceId": id}),
        now,
    )
    .unwrap();
    assert_eq!(out["virtualInterfaceState"], "rejected");
    assert_eq!(s.snapshot()[0].state, "rejected");
    assert_eq!(s.snapshot()[0].bgp_peer_state, "deleted");
    // Gone for good: deleting again is refused, the VLAN is free.
    let e = call(
        &mut s,
        "DeleteVirtualInterface",
        &PARTNER,
        json!({"virtualInterfaceId": id}),
        now,
    );
    assert!(client_message(e).contains("cannot be deleted"));
    allocate(&mut s, alloc_body(101), now).unwrap();
}

#[test]
fn partner_delete_goes_through_deleting_and_stays_listed() {
    let mut s = sim(Duration::from_millis(500));
    let t0 = Instant::now();
    let vif = allocate(&mut s, alloc_body(101), t0).unwrap();
    let id = vif["virtualInterfaceId"].clone();
    let body = json!({"virtualInterfaceId": id});
    let out = call(&mut s, "DeleteVirtualInterface", &PARTNER, body.clone(), t0).unwrap();
    assert_eq!(out["virtualInterfaceState"], "deleting");
    // A repeat while deleting is accepted.
    let out = call(&mut s, "DeleteVirtualInterface", &PARTNER, body, t0).unwrap();
    assert_eq!(out["virtualInterfaceState"], "deleting");
    let later = t0 + Duration::from_millis(500);
    let out = call(
        &mut s,
        "DescribeVirtualInterfaces",
        &PARTNER,
        json!({"connectionId": "dxcon-onramp01"}),
        later,
    )
    .unwrap();
    assert_eq!(
        out["virtualInterfaces"][0]["virtualInterfaceState"],
        "deleted"
    );
}

#[test]
fn describe_visibility_errors_and_pagination() {
    let mut s = sim(Duration::ZERO);
    let now = Instant::now();
    for vlan in 1..=5 {
        allocate(&mut s, alloc_body(vlan), now).unwrap();
    }
    let mut b = alloc_body(6);
    b["ownerAccount"] = json!("999988887777");
    allocate(&mut s, b, now).unwrap();

    let all = call(
        &mut s,
        "DescribeVirtualInterfaces",
        &PARTNER,
        json!({}),
        now,
    )
    .unwrap();
    assert_eq!(all["virtualInterfaces"].as_array().unwrap().len(), 6);
    assert!(all.get("nextToken").is_none());
    let mine = call(
        &mut s,
        "DescribeVirtualInterfaces",
        &customer(),
        json!({}),
        now,
    )
    .unwrap();
    assert_eq!(mine["virtualInterfaces"].as_array().unwrap().len(), 5);

    let e = call(
        &mut s,
        "DescribeVirtualInterfaces",
        &PARTNER,
        json!({"virtualInterfaceId": "dxvif-zzzzzzzz"}),
        now,
    );
    assert_eq!(
        client_message(e),
        "Virtual interface dxvif-zzzzzzzz does not exist."
    );
    let e = call(
        &mut s,
        "DescribeVirtualInterfaces",
        &PARTNER,
        json!({"connectionId": "dxcon-zzzzzzzz"}),
        now,
    );
    assert!(client_message(e).starts_with("Could not find Connection"));

    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut req = json!({"maxResults": 2});
        if let Some(t) = &token {
            req["nextToken"] = json!(t);
        }
        let page = call(&mut s, "DescribeVirtualInterfaces", &PARTNER, req, now).unwrap();
        let vifs = page["virtualInterfaces"].as_array().unwrap();
        assert!(vifs.len() <= 2);
        seen.extend(vifs.iter().map(|v| v["vlan"].as_u64().unwrap()));
        match page.get("nextToken").and_then(Value::as_str) {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, vec![1, 2, 3, 4, 5, 6]);
    let e = call(
        &mut s,
        "DescribeVirtualInterfaces",
        &PARTNER,
        json!({"nextToken": "garbage"}),
        now,
    );
    assert!(client_message(e).contains("nextToken"));
}

#[test]
fn connections_interconnects_and_locations() {
    let mut s = sim(Duration::ZERO);
    let now = Instant::now();
    let c = call(&mut s, "DescribeConnections", &PARTNER, json!({}), now).unwrap();
    assert_eq!(c["connections"][0]["connectionId"], "dxcon-onramp01");
    assert_eq!(c["connections"][0]["connectionState"], "available");
    assert_eq!(c["connections"][0]["bandwidth"], "10Gbps");
    assert_eq!(c["connections"][0]["ownerAccount"], "111122223333");
    let c = call(&mut s, "DescribeConnections", &customer(), json!({}), now).unwrap();
    assert_eq!(c, json!({"connections": []}));
    let i = call(&mut s, "DescribeInterconnects", &PARTNER, json!({}), now).unwrap();
    assert_eq!(i["interconnects"][0]["interconnectId"], "dxcon-onramp01");
    let l = s.dispatch("DescribeLocations", &PARTNER, b"", now).unwrap();
    assert_eq!(l["locations"][0]["locationCode"], "EqDC2");
    assert_eq!(l["locations"][0]["region"], "us-east-1");
}

#[test]
fn identities_and_faults() {
    let mut s = sim(Duration::ZERO);
    assert_eq!(s.identify("AKIAONRAMPPARTNER"), Some(Caller::Partner));
    assert_eq!(s.identify("444455556666"), Some(customer()));
    assert_eq!(s.identify("AKIASOMEBODYELSE"), None);
    assert_eq!(s.identify("44445555666"), None);

    s.add_fault(Fault::client("DeleteVirtualInterface", "nope", 2));
    s.add_fault(Fault::server("DescribeLocations", "boom", 1));
    assert!(s.take_fault("AllocatePrivateVirtualInterface").is_none());
    let e = s.take_fault("DescribeLocations").unwrap();
    assert_eq!(
        (e.status.as_u16(), e.error_type.as_str(), e.message.as_str()),
        (500, "DirectConnectServerException", "boom")
    );
    assert!(s.take_fault("DescribeLocations").is_none());
    assert_eq!(
        s.take_fault("DeleteVirtualInterface").unwrap().error_type,
        "DirectConnectClientException"
    );
    assert!(s.take_fault("DeleteVirtualInterface").is_some());
    assert!(s.take_fault("DeleteVirtualInterface").is_none());
    assert!(s.faults().is_empty());
}

// ===== hosted connections =====

const INTERCONNECT: &str = "dxcon-onramp01";

fn hosted_body(vlan: i64, bandwidth: &str) -> Value {
    json!({
        "connectionId": INTERCONNECT,
        "ownerAccount": CUSTOMER,
        "bandwidth": bandwidth,
        "connectionName": format!("hc-{vlan}"),
        "vlan": vlan,
        "tags": [{"key": "onramp:service", "value": "svc-1"}]
    })
}

fn allocate_hosted(s: &mut SimState, body: Value, now: Instant) -> Result<Value, ApiError> {
    call(s, "AllocateHostedConnection", &PARTNER, body, now)
}

/// Allocates a hosted connection and returns its id.
fn hosted(s: &mut SimState, vlan: i64, now: Instant) -> String {
    let c = allocate_hosted(s, hosted_body(vlan, "500Mbps"), now).unwrap();
    c["connectionId"].as_str().unwrap().to_owned()
}

fn conn_state(s: &mut SimState, id: &str, at: Instant) -> String {
    s.advance(at);
    s.hosted(id).expect("connection exists").state
}

fn by_id(id: &str) -> Value {
    json!({ "connectionId": id })
}

/// The customer's own VIF on a hosted connection.
fn create_body(connection_id: &str, vlan: i64) -> Value {
    json!({
        "connectionId": connection_id,
        "newPrivateVirtualInterface": {
            "virtualInterfaceName": "customer-vif",
            "vlan": vlan,
            "asnLong": 65100,
            "authKey": "customer-key",
            "amazonAddress": "169.254.20.1/30",
            "customerAddress": "169.254.20.2/30",
            "directConnectGatewayId": "5f294f92-bafb-4011-916d-9b0b03f6e2a1"
        }
    })
}

/// Allocated at `now` and confirmed; available once `available_after` has
/// passed, which the state has been advanced to.
fn available_hosted(s: &mut SimState, vlan: i64, now: Instant) -> String {
    let id = hosted(s, vlan, now);
    call(s, "ConfirmConnection", &customer(), by_id(&id), now).unwrap();
    let ready = now + s.cfg.available_after;
    assert_eq!(conn_state(s, &id, ready), "available");
    id
}

#[test]
fn allocate_hosted_connection_returns_an_ordering_connection() {
    let mut s = sim(Duration::ZERO);
    let c = allocate_hosted(&mut s, hosted_body(400, "500Mbps"), Instant::now()).unwrap();
    let id = c["connectionId"].as_str().unwrap();
    assert!(id.starts_with("dxcon-") && id.len() == 14, "{id}");
    assert!(
        id[6..]
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
        "{id}"
    );
    assert_ne!(id, INTERCONNECT);
    assert_eq!(c["connectionState"], "ordering");
    assert_eq!(c["connectionName"], "hc-400");
    assert_eq!(c["ownerAccount"], CUSTOMER);
    assert_eq!(c["partnerName"], "Onramp");
    assert_eq!(c["bandwidth"], "500Mbps");
    assert_eq!(c["vlan"], 400);
    assert_eq!(c["location"], "EqDC2");
    assert_eq!(c["region"], "us-east-1");
    assert_eq!(c["tags"][0]["key"], "onramp:service");

    let snap = s.hosted(id).unwrap();
    assert_eq!(snap.interconnect_id, INTERCONNECT);
    assert_eq!(snap.state, "ordering");
    assert_eq!(s.hosted_snapshot().len(), 1);
    assert!(s.snapshot().is_empty(), "no VIF comes with it");
}

#[test]
fn allocate_hosted_connection_refusals() {
    let mut s = sim(Duration::ZERO);
    let now = Instant::now();

    for bad in ["3Gbps", "1gbps", "100Gbps"] {
        let m = client_message(allocate_hosted(&mut s, hosted_body(10, bad), now));
        assert!(m.starts_with(&format!("Bandwidth {bad} is invalid")), "{m}");
    }
    // A valid speed, but more than the 10G interconnect carries.
    let m = client_message(allocate_hosted(&mut s, hosted_body(10, "25Gbps"), now));
    assert_eq!(
        m,
        "Bandwidth 25Gbps exceeds the bandwidth 10Gbps of interconnect dxcon-onramp01."
    );
    for vlan in [0, 4095] {
        let m = client_message(allocate_hosted(&mut s, hosted_body(vlan, "50Mbps"), now));
        assert!(m.contains("between 1 and 4094"), "{m}");
    }
    let mut b = hosted_body(10, "50Mbps");
    b["ownerAccount"] = json!("111122223333");
    assert_eq!(
        client_message(allocate_hosted(&mut s, b, now)),
        "Cannot allocate HostedConnection for the connection owner."
    );
    let mut b = hosted_body(10, "50Mbps");
    b["ownerAccount"] = json!("12345");
    assert!(client_message(allocate_hosted(&mut s, b, now)).contains("12-digit"));
    let mut b = hosted_body(10, "50Mbps");
    b["connectionName"] = json!("");
    assert!(client_message(allocate_hosted(&mut s, b, now)).contains("connectionName"));
    let mut b = hosted_body(10, "50Mbps");
    b["connectionId"] = json!("dxcon-nope1234");
    assert_eq!(
        client_message(allocate_hosted(&mut s, b, now)),
        "Could not find Connection with ID dxcon-nope1234"
    );
    // Customers own no interconnect.
    let e = call(
        &mut s,
        "AllocateHostedConnection",
        &customer(),
        hosted_body(10, "50Mbps"),
        now,
    );
    assert!(client_message(e).starts_with("Could not find Connection"));
    let mut b = hosted_body(10, "50Mbps");
    b["tags"] = json!([{"key": "a"}, {"key": "a"}]);
    assert_eq!(
        allocate_hosted(&mut s, b, now).unwrap_err().error_type,
        "DuplicateTagKeysException"
    );
    for member in [
        "connectionId",
        "ownerAccount",
        "bandwidth",
        "connectionName",
        "vlan",
    ] {
        let mut b = hosted_body(10, "50Mbps");
        b.as_object_mut().unwrap().remove(member);
        let e = allocate_hosted(&mut s, b, now).unwrap_err();
        assert_eq!(e.error_type, "ValidationException", "{member}");
        assert!(e.message.contains(&format!("'{member}'")), "{}", e.message);
    }
    assert!(
        s.hosted_snapshot().is_empty(),
        "nothing may be created by refused calls"
    );
}

#[test]
fn vlans_are_unique_across_hosted_connections_and_vifs() {
    let mut s = sim(Duration::ZERO);
    let now = Instant::now();
    allocate(&mut s, alloc_body(500), now).unwrap();
    let id = hosted(&mut s, 501, now);

    let in_use = |vlan| format!("VLAN {vlan} is already in use on connection dxcon-onramp01.");
    // A hosted VIF's VLAN is taken for hosted connections...
    assert_eq!(
        client_message(allocate_hosted(&mut s, hosted_body(500, "50Mbps"), now)),
        in_use(500)
    );
    // ...a hosted connection's VLAN for hosted VIFs and other hosted connections.
    assert_eq!(
        client_message(allocate(&mut s, alloc_body(501), now)),
        in_use(501)
    );
    assert_eq!(
        client_message(allocate_hosted(&mut s, hosted_body(501, "1Gbps"), now)),
        in_use(501)
    );
    // A hosted connection on another interconnect would not clash; a deleted
    // one frees its VLAN.
    call(&mut s, "DeleteConnection", &PARTNER, by_id(&id), now).unwrap();
    assert_eq!(conn_state(&mut s, &id, now), "deleted");
    allocate(&mut s, alloc_body(501), now).unwrap();
}

#[test]
fn describe_hosted_connections_lists_the_interconnect() {
    let mut s = sim(Duration::ZERO);
    let now = Instant::now();
    let ids: Vec<String> = (1..=3).map(|v| hosted(&mut s, v, now)).collect();

    let out = call(
        &mut s,
        "DescribeHostedConnections",
        &PARTNER,
        by_id(INTERCONNECT),
        now,
    )
    .unwrap();
    let listed: Vec<&str> = out["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["connectionId"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ids);
    assert!(out.get("nextToken").is_none());

    let page = call(
        &mut s,
        "DescribeHostedConnections",
        &PARTNER,
        json!({"connectionId": INTERCONNECT, "maxResults": 2}),
        now,
    )
    .unwrap();
    assert_eq!(page["connections"].as_array().unwrap().len(), 2);
    let rest = call(
        &mut s,
        "DescribeHostedConnections",
        &PARTNER,
        json!({"connectionId": INTERCONNECT, "nextToken": page["nextToken"]}),
        now,
    )
    .unwrap();
    assert_eq!(rest["connections"][0]["connectionId"], ids[2].as_str());

    for (caller, id) in [(customer(), INTERCONNECT), (PARTNER, "dxcon-nope1234")] {
        let e = call(&mut s, "DescribeHostedConnections", &caller, by_id(id), now);
        assert_eq!(
            client_message(e),
            format!("Could not find Connection with ID {id}")
        );
    }
    let e = call(
        &mut s,
        "DescribeHostedConnections",
        &PARTNER,
        json!({}),
        now,
    );
    assert_eq!(e.unwrap_err().error_type, "ValidationException");

    // The partner's own DescribeConnections still lists just its interconnect.
    let c = call(&mut s, "DescribeConnections", &PARTNER, json!({}), now).unwrap();
    assert_eq!(c["connections"].as_array().unwrap().len(), 1);
}

#[test]
fn customer_confirmation_makes_the_connection_available() {
    let mut s = sim(Duration::from_secs(10));
    let t0 = Instant::now();
    let id = hosted(&mut s, 600, t0);

    // Only its owner confirms; to other customers it does not exist.
    let e = call(&mut s, "ConfirmConnection", &PARTNER, by_id(&id), t0);
    assert_eq!(
        client_message(e),
        format!("Connection {id} can only be confirmed by its owner account {CUSTOMER}.")
    );
    let other = Caller::Customer("999988887777".into());
    let e = call(&mut s, "ConfirmConnection", &other, by_id(&id), t0);
    assert!(client_message(e).starts_with("Could not find Connection"));

    // The customer sees it in DescribeConnections while it is offered.
    let mine = call(&mut s, "DescribeConnections", &customer(), json!({}), t0).unwrap();
    assert_eq!(mine["connections"][0]["connectionId"], id.as_str());
    assert_eq!(mine["connections"][0]["connectionState"], "ordering");
    assert_eq!(mine["connections"][0]["partnerName"], "Onramp");
    let theirs = call(&mut s, "DescribeConnections", &other, json!({}), t0).unwrap();
    assert_eq!(theirs, json!({"connections": []}));
    let e = call(&mut s, "DescribeConnections", &other, by_id(&id), t0);
    assert!(client_message(e).starts_with("Could not find Connection"));

    let out = call(&mut s, "ConfirmConnection", &customer(), by_id(&id), t0).unwrap();
    assert_eq!(out, json!({"connectionState": "pending"}));
    let e = call(&mut s, "ConfirmConnection", &customer(), by_id(&id), t0);
    assert!(client_message(e).contains("cannot be confirmed"));

    let secs = Duration::from_secs;
    assert_eq!(conn_state(&mut s, &id, t0 + secs(9)), "pending");
    assert_eq!(conn_state(&mut s, &id, t0 + secs(10)), "available");
    let one = call(
        &mut s,
        "DescribeConnections",
        &customer(),
        by_id(&id),
        t0 + secs(10),
    )
    .unwrap();
    assert_eq!(one["connections"][0]["connectionState"], "available");
    assert_eq!(one["connections"][0]["vlan"], 600);
}

#[test]
fn customer_deleting_while_ordering_declines() {
    let mut s = sim(Duration::from_secs(3600));
    let now = Instant::now();
    let id = hosted(&mut s, 700, now);
    let out = call(&mut s, "DeleteConnection", &customer(), by_id(&id), now).unwrap();
    assert_eq!(out["connectionId"], id.as_str());
    assert_eq!(out["connectionState"], "rejected");
    assert_eq!(conn_state(&mut s, &id, now), "rejected");

    // Still listed; cannot be confirmed or deleted any more; the VLAN is free.
    let listed = call(
        &mut s,
        "DescribeHostedConnections",
        &PARTNER,
        by_id(INTERCONNECT),
        now,
    )
    .unwrap();
    assert_eq!(listed["connections"][0]["connectionState"], "rejected");
    let e = call(&mut s, "ConfirmConnection", &customer(), by_id(&id), now);
    assert!(client_message(e).contains("cannot be confirmed"));
    let e = call(&mut s, "DeleteConnection", &PARTNER, by_id(&id), now);
    assert_eq!(
        client_message(e),
        format!("Connection {id} is in state rejected and cannot be deleted.")
    );
    hosted(&mut s, 700, now);
}

#[test]
fn delete_connection_goes_through_deleting_and_stays_listed() {
    let mut s = sim(Duration::from_millis(500));
    let t0 = Instant::now();
    // The partner withdrawing an offer: deleting, not rejected.
    let id = hosted(&mut s, 800, t0);
    let out = call(&mut s, "DeleteConnection", &PARTNER, by_id(&id), t0).unwrap();
    assert_eq!(out["connectionState"], "deleting");
    assert_eq!(out["vlan"], 800);
    // A repeat while deleting is accepted.
    let out = call(&mut s, "DeleteConnection", &PARTNER, by_id(&id), t0).unwrap();
    assert_eq!(out["connectionState"], "deleting");
    let later = t0 + Duration::from_millis(500);
    assert_eq!(conn_state(&mut s, &id, later), "deleted");
    let listed = call(
        &mut s,
        "DescribeHostedConnections",
        &PARTNER,
        by_id(INTERCONNECT),
        later,
    )
    .unwrap();
    assert_eq!(listed["connections"][0]["connectionState"], "deleted");
    let e = call(&mut s, "DeleteConnection", &PARTNER, by_id(&id), later);
    assert!(client_message(e).contains("is in state deleted"));

    // The customer deletes its available connection the same way.
    let id = available_hosted(&mut s, 801, later);
    let ready = later + Duration::from_millis(500);
    let out = call(&mut s, "DeleteConnection", &customer(), by_id(&id), ready).unwrap();
    assert_eq!(out["connectionState"], "deleting");

    let e = call(
        &mut s,
        "DeleteConnection",
        &PARTNER,
        by_id("dxcon-zzzz9999"),
        ready,
    );
    assert_eq!(
        client_message(e),
        "Could not find Connection with ID dxcon-zzzz9999"
    );
    let e = call(
        &mut s,
        "DeleteConnection",
        &PARTNER,
        by_id(INTERCONNECT),
        ready,
    );
    assert!(client_message(e).contains("is an interconnect"));
    let e = call(
        &mut s,
        "DeleteConnection",
        &customer(),
        by_id(INTERCONNECT),
        ready,
    );
    assert!(client_message(e).starts_with("Could not find Connection"));
}

#[test]
fn the_customer_creates_one_vif_on_an_available_hosted_connection() {
    let mut s = sim(Duration::from_secs(10));
    let t0 = Instant::now();
    let secs = Duration::from_secs;
    let id = hosted(&mut s, 900, t0);
    let create = |s: &mut SimState, caller: &Caller, body: Value, at: Instant| {
        call(s, "CreatePrivateVirtualInterface", caller, body, at)
    };

    let e = create(&mut s, &customer(), create_body(&id, 900), t0);
    assert_eq!(
        client_message(e),
        format!(
            "Connection {id} is in state ordering. Virtual interfaces can only be created on \
             an available connection."
        )
    );
    call(&mut s, "ConfirmConnection", &customer(), by_id(&id), t0).unwrap();
    let t1 = t0 + secs(10);
    assert_eq!(conn_state(&mut s, &id, t1), "available");

    // Refusals: wrong VLAN, not the owner, no gateway, the partner, the
    // interconnect itself.
    let e = create(&mut s, &customer(), create_body(&id, 901), t1);
    assert_eq!(
        client_message(e),
        format!("VLAN 901 does not match VLAN 900 of hosted connection {id}.")
    );
    let other = Caller::Customer("999988887777".into());
    let e = create(&mut s, &other, create_body(&id, 900), t1);
    assert!(client_message(e).starts_with("Could not find Connection"));
    let e = create(&mut s, &PARTNER, create_body(&id, 900), t1);
    assert!(client_message(e).contains("Only the owner account"));
    let mut b = create_body(&id, 900);
    b["newPrivateVirtualInterface"]
        .as_object_mut()
        .unwrap()
        .remove("directConnectGatewayId");
    let e = create(&mut s, &customer(), b, t1);
    assert!(client_message(e).contains("directConnectGatewayId"));
    let e = create(&mut s, &PARTNER, create_body(INTERCONNECT, 900), t1);
    assert!(client_message(e).contains("AllocatePrivateVirtualInterface"));
    let mut b = create_body(&id, 900);
    b["newPrivateVirtualInterface"]
        .as_object_mut()
        .unwrap()
        .remove("vlan");
    let e = create(&mut s, &customer(), b, t1).unwrap_err();
    assert_eq!(e.error_type, "ValidationException");
    assert!(s.snapshot().is_empty());

    let vif = create(&mut s, &customer(), create_body(&id, 900), t1).unwrap();
    let vif_id = vif["virtualInterfaceId"].as_str().unwrap().to_owned();
    assert!(vif_id.starts_with("dxvif-"));
    assert_eq!(vif["virtualInterfaceState"], "pending");
    assert_eq!(vif["connectionId"], id.as_str());
    assert_eq!(vif["ownerAccount"], CUSTOMER);
    assert_eq!(vif["vlan"], 900);
    assert_eq!(vif["asnLong"], 65100);
    assert_eq!(
        vif["directConnectGatewayId"],
        "5f294f92-bafb-4011-916d-9b0b03f6e2a1"
    );
    assert_eq!(vif["bgpPeers"][0]["bgpStatus"], "down");

    // A hosted connection carries one VIF.
    let e = create(&mut s, &customer(), create_body(&id, 900), t1);
    assert_eq!(
        client_message(e),
        format!(
            "Hosted connection {id} already has virtual interface {vif_id}. A hosted \
             connection supports only one virtual interface."
        )
    );

    // The partner sees it on the hosted connection, as it comes up.
    let seen = |s: &mut SimState, at: Instant| {
        let out = call(s, "DescribeVirtualInterfaces", &PARTNER, by_id(&id), at).unwrap();
        let v = &out["virtualInterfaces"];
        assert_eq!(v.as_array().unwrap().len(), 1);
        (
            v[0]["virtualInterfaceState"].as_str().unwrap().to_owned(),
            v[0]["bgpPeers"][0]["bgpStatus"]
                .as_str()
                .unwrap()
                .to_owned(),
        )
    };
    assert_eq!(
        seen(&mut s, t1 + secs(9)),
        ("pending".into(), "down".into())
    );
    assert_eq!(
        seen(&mut s, t1 + secs(10)),
        ("available".into(), "down".into())
    );
    assert_eq!(
        seen(&mut s, t1 + secs(20)),
        ("available".into(), "up".into())
    );
    // Not among the interconnect's own VIFs, but in the partner's full list.
    let on_ic = call(
        &mut s,
        "DescribeVirtualInterfaces",
        &PARTNER,
        by_id(INTERCONNECT),
        t1 + secs(20),
    )
    .unwrap();
    assert_eq!(on_ic, json!({"virtualInterfaces": []}));
    let all = call(
        &mut s,
        "DescribeVirtualInterfaces",
        &PARTNER,
        json!({}),
        t1 + secs(20),
    )
    .unwrap();
    assert_eq!(
        all["virtualInterfaces"][0]["virtualInterfaceId"],
        vif_id.as_str()
    );

    // Deleting the connection takes the VIF with it.
    let t2 = t1 + secs(30);
    call(&mut s, "DeleteConnection", &customer(), by_id(&id), t2).unwrap();
    assert_eq!(s.vif(&vif_id).unwrap().state, "deleting");
    assert_eq!(conn_state(&mut s, &id, t2 + secs(10)), "deleted");
    assert_eq!(s.vif(&vif_id).unwrap().state, "deleted");
}

#[test]
fn deleting_the_vif_frees_the_hosted_connection_for_another() {
    let mut s = sim(Duration::ZERO);
    let now = Instant::now();
    let id = available_hosted(&mut s, 950, now);
    let vif = call(
        &mut s,
        "CreatePrivateVirtualInterface",
        &customer(),
        create_body(&id, 950),
        now,
    )
    .unwrap();
    call(
        &mut s,
        "DeleteVirtualInterface",
        &customer(),
        json!({"virtualInterfaceId": vif["virtualInterfaceId"]}),
        now,
    )
    .unwrap();
    s.advance(now);
    let second = call(
        &mut s,
        "CreatePrivateVirtualInterface",
        &customer(),
        create_body(&id, 950),
        now,
    )
    .unwrap();
    assert_ne!(second["virtualInterfaceId"], vif["virtualInterfaceId"]);
}
