//! The adapter against the Direct Connect simulator over real HTTP on
//! 127.0.0.1: the official SDK on one side, the simulator's AWS JSON 1.1
//! endpoint on the other.

use std::time::{Duration, Instant};

use aws_sdk_directconnect::types::VirtualInterfaceState;
use onramp_aws_dx::{DxClient, DxConfig, Error, Vif, VifRequest};
use onramp_simulators::aws_dx::{AwsDxSim, Fault, RunningSim, SimConfig};

const CUSTOMER: &str = "444455556666";
const ALLOCATE: &str = "AllocatePrivateVirtualInterface";

async fn start(
    available_after: Duration,
    bgp_up_after: Duration,
    deleted_after: Duration,
) -> RunningSim {
    let cfg = SimConfig {
        available_after,
        bgp_up_after,
        deleted_after,
        ..SimConfig::default()
    };
    AwsDxSim::new(cfg)
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .expect("simulator binds")
}

async fn start_fast() -> RunningSim {
    let ms = Duration::from_millis(20);
    start(ms, ms, ms).await
}

fn client_as(endpoint_url: String, access_key_id: &str) -> DxClient {
    DxClient::new(&DxConfig {
        endpoint_url,
        region: "us-east-1".to_owned(),
        access_key_id: access_key_id.to_owned(),
        secret_access_key: "not-checked-by-the-simulator".to_owned(),
    })
}

fn partner(sim: &RunningSim) -> DxClient {
    client_as(sim.endpoint_url(), &sim.sim.config().partner_access_key_id)
}

/// The customer "in their AWS console": the same SDK, a 12-digit access key.
fn customer(sim: &RunningSim) -> DxClient {
    client_as(sim.endpoint_url(), CUSTOMER)
}

fn request(name: &str, vlan: u16) -> VifRequest {
    VifRequest {
        connection_id: "dxcon-onramp01".to_owned(),
        owner_account: CUSTOMER.to_owned(),
        name: name.to_owned(),
        vlan,
        asn: 65010,
        amazon_address: "169.254.100.0/31".to_owned(),
        customer_address: "169.254.100.1/31".to_owned(),
        auth_key: "md5-key-0123".to_owned(),
    }
}

fn allocations(sim: &RunningSim) -> u64 {
    sim.sim.stats().get(ALLOCATE).copied().unwrap_or(0)
}

/// Polls until `done` holds; a few milliseconds per round, bounded.
async fn wait_for(dx: &DxClient, vif_id: &str, done: impl Fn(&Vif) -> bool) -> Vif {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let vif = dx.describe_vif(vif_id).await.unwrap().expect("VIF exists");
        if done(&vif) {
            return vif;
        }
        assert!(Instant::now() < deadline, "timed out; last seen {vif:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn expect_rejected(result: Result<Vif, Error>, operation: &str, message: &str) {
    match result {
        Err(e @ Error::Rejected { .. }) => {
            assert!(!e.is_retryable());
            let Error::Rejected {
                operation: op,
                message: msg,
            } = &e
            else {
                unreachable!()
            };
            assert_eq!(*op, operation);
            assert_eq!(msg, message);
        }
        other => panic!("expected Rejected({message}), got {other:?}"),
    }
}

#[tokio::test]
async fn ensure_private_vif_allocates_once_and_reports_the_fields() {
    let sim = start_fast().await;
    let dx = partner(&sim);
    let req = request("onramp-svc-0001", 101);

    let first = dx.ensure_private_vif(&req).await.unwrap();
    let second = dx.ensure_private_vif(&req).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(
        allocations(&sim),
        1,
        "the second call must find the first VIF"
    );
    assert_eq!(sim.sim.virtual_interfaces().len(), 1);

    assert!(first.id.starts_with("dxvif-"), "{}", first.id);
    assert_eq!(first.name, req.name);
    assert_eq!(first.state, "confirming");
    assert_eq!(first.vlan, 101);
    assert_eq!(first.asn, 65010);
    assert_eq!(first.amazon_address, req.amazon_address);
    assert_eq!(first.customer_address, req.customer_address);
    assert_eq!(first.owner_account, CUSTOMER);
    assert!(!first.bgp_up);
    assert_eq!(first.amazon_side_asn, Some(64512));

    let simulated = &sim.sim.virtual_interfaces()[0];
    assert_eq!(simulated.virtual_interface_id, first.id);
    assert_eq!(simulated.auth_key, req.auth_key);
    assert_eq!(simulated.connection_id, req.connection_id);

    // find_vif_by_name and describe_vif agree.
    let found = dx
        .find_vif_by_name(&req.connection_id, &req.name)
        .await
        .unwrap();
    assert_eq!(found.as_ref(), Some(&first));
    assert_eq!(dx.describe_vif(&first.id).await.unwrap(), Some(first));
    assert_eq!(
        dx.find_vif_by_name(&req.connection_id, "other")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn four_byte_asns_go_in_asn_long() {
    let sim = start_fast().await;
    let dx = partner(&sim);
    let mut req = request("onramp-svc-4byte", 102);
    req.asn = 4_200_000_123;
    let vif = dx.ensure_private_vif(&req).await.unwrap();
    assert_eq!(vif.asn, 4_200_000_123);
    assert_eq!(sim.sim.virtual_interfaces()[0].asn, 4_200_000_123);
    // And the lookup on retry compares equal, so no conflict.
    assert_eq!(dx.ensure_private_vif(&req).await.unwrap(), vif);
}

#[tokio::test]
async fn a_live_vif_with_other_parameters_is_a_conflict() {
    let sim = start_fast().await;
    let dx = partner(&sim);
    let vif = dx
        .ensure_private_vif(&request("onramp-svc-0002", 110))
        .await
        .unwrap();
    let err = dx
        .ensure_private_vif(&request("onramp-svc-0002", 111))
        .await
        .unwrap_err();
    match &err {
        Error::Conflict {
            vif_id, details, ..
        } => {
            assert_eq!(*vif_id, vif.id);
            assert!(details.contains("VLAN is 110, requested 111"), "{details}");
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert!(!err.is_retryable());
    assert_eq!(allocations(&sim), 1);
}

#[tokio::test]
async fn customer_confirmation_brings_the_vif_and_bgp_up() {
    let sim = start_fast().await;
    let dx = partner(&sim);
    let req = request("onramp-svc-0003", 120);
    let vif = dx.ensure_private_vif(&req).await.unwrap();

    let confirmed = customer(&sim)
        .sdk()
        .confirm_private_virtual_interface()
        .virtual_interface_id(&vif.id)
        .direct_connect_gateway_id("5f294f92-bafb-4011-916d-9b0b03f6e2a1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        confirmed.virtual_interface_state(),
        Some(&VirtualInterfaceState::Pending)
    );

    let up = wait_for(&dx, &vif.id, |v| v.state == "available" && v.bgp_up).await;
    assert_eq!(up.id, vif.id);
    // A redelivered provisioning job still finds the same VIF.
    assert_eq!(dx.ensure_private_vif(&req).await.unwrap(), up);
    assert_eq!(allocations(&sim), 1);

    // The network takes BGP down (simulator control plane); the adapter sees it.
    sim.sim.set_bgp(&vif.id, false).unwrap();
    let down = dx.describe_vif(&vif.id).await.unwrap().unwrap();
    assert_eq!((down.state.as_str(), down.bgp_up), ("down", false));
}

#[tokio::test]
async fn only_the_owner_may_confirm() {
    let sim = start_fast().await;
    let vif = partner(&sim)
        .ensure_private_vif(&request("onramp-svc-0004", 130))
        .await
        .unwrap();
    let stranger = client_as(sim.endpoint_url(), "999988887777");
    let err = stranger
        .sdk()
        .confirm_private_virtual_interface()
        .virtual_interface_id(&vif.id)
        .virtual_gateway_id("vgw-0a1b2c3d")
        .send()
        .await
        .unwrap_err();
    assert!(
        err.into_service_error()
            .is_direct_connect_client_exception()
    );
    assert_eq!(sim.sim.virtual_interfaces()[0].state, "confirming");
}

#[tokio::test]
async fn customer_declining_rejects_the_vif() {
    let sim = start_fast().await;
    let dx = partner(&sim);
    let req = request("onramp-svc-0005", 140);
    let vif = dx.ensure_private_vif(&req).await.unwrap();

    let out = customer(&sim)
        .sdk()
        .delete_virtual_interface()
        .virtual_interface_id(&vif.id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.virtual_interface_state(),
        Some(&VirtualInterfaceState::Rejected)
    );
    let rejected = dx.describe_vif(&vif.id).await.unwrap().unwrap();
    assert_eq!(rejected.state, "rejected");
    assert!(!rejected.is_live());
    // Rejected VIFs are not reused.
    assert_eq!(
        dx.find_vif_by_name(&req.connection_id, &req.name)
            .await
            .unwrap(),
        None
    );
    // Deleting it from the partner side is a no-op success.
    dx.delete_vif(&vif.id).await.unwrap();
}

#[tokio::test]
async fn delete_vif_is_idempotent() {
    // Deleting → deleted takes long here: the repeat lands while deleting.
    let sim = start(Duration::ZERO, Duration::ZERO, Duration::from_secs(3600)).await;
    let dx = partner(&sim);
    let vif = dx
        .ensure_private_vif(&request("onramp-svc-0006", 150))
        .await
        .unwrap();
    dx.delete_vif(&vif.id).await.unwrap();
    dx.delete_vif(&vif.id).await.unwrap();
    assert_eq!(
        dx.describe_vif(&vif.id).await.unwrap().unwrap().state,
        "deleting"
    );
    assert_eq!(sim.sim.stats().get("DeleteVirtualInterface"), Some(&2));

    // Here it is deleted at once: the simulator refuses the repeat, the adapter
    // sees the VIF is gone and reports success.
    let sim = start(Duration::ZERO, Duration::ZERO, Duration::ZERO).await;
    let dx = partner(&sim);
    let req = request("onramp-svc-0007", 151);
    let vif = dx.ensure_private_vif(&req).await.unwrap();
    dx.delete_vif(&vif.id).await.unwrap();
    assert_eq!(
        dx.describe_vif(&vif.id).await.unwrap().unwrap().state,
        "deleted"
    );
    dx.delete_vif(&vif.id).await.unwrap();
    assert_eq!(
        dx.find_vif_by_name(&req.connection_id, &req.name)
            .await
            .unwrap(),
        None
    );

    // Unknown ids: nothing to delete, nothing to describe.
    dx.delete_vif("dxvif-zz99zz99").await.unwrap();
    assert_eq!(dx.describe_vif("dxvif-zz99zz99").await.unwrap(), None);
}

#[tokio::test]
async fn aws_refusals_are_rejected_with_aws_messages() {
    let sim = start_fast().await;
    let dx = partner(&sim);

    let mut req = request("onramp-svc-0010", 160);
    req.connection_id = "dxcon-nope1234".to_owned();
    // The lookup by name runs first and already fails on the unknown connection.
    expect_rejected(
        dx.ensure_private_vif(&req).await,
        "DescribeVirtualInterfaces",
        "Could not find Connection with ID dxcon-nope1234",
    );

    let mut req = request("onramp-svc-0011", 160);
    req.owner_account = "111122223333".to_owned();
    expect_rejected(
        dx.ensure_private_vif(&req).await,
        ALLOCATE,
        "Cannot allocate VirtualInterface for the connection owner.",
    );

    dx.ensure_private_vif(&request("onramp-svc-0012", 161))
        .await
        .unwrap();
    expect_rejected(
        dx.ensure_private_vif(&request("onramp-svc-0013", 161))
            .await,
        ALLOCATE,
        "VLAN 161 is already in use on connection dxcon-onramp01.",
    );

    sim.sim.inject_fault(Fault::client(
        ALLOCATE,
        "Exceeded the maximum number of virtual interfaces on dxcon-onramp01.",
        1,
    ));
    expect_rejected(
        dx.ensure_private_vif(&request("onramp-svc-0014", 162))
            .await,
        ALLOCATE,
        "Exceeded the maximum number of virtual interfaces on dxcon-onramp01.",
    );
    // The fault is spent: the job's next attempt goes through.
    dx.ensure_private_vif(&request("onramp-svc-0014", 162))
        .await
        .unwrap();

    // Credentials AWS does not know.
    let stranger = client_as(sim.endpoint_url(), "AKIASOMEBODYELSE");
    expect_rejected(
        stranger
            .ensure_private_vif(&request("onramp-svc-0015", 163))
            .await,
        "DescribeVirtualInterfaces",
        "The security token included in the request is invalid.",
    );
}

#[tokio::test]
async fn server_errors_and_throttling_are_transient() {
    let sim = start_fast().await;
    let dx = partner(&sim);

    // One 500 is absorbed by the SDK's single retry.
    sim.sim
        .inject_fault(Fault::server(ALLOCATE, "Internal error", 1));
    dx.ensure_private_vif(&request("onramp-svc-0020", 170))
        .await
        .unwrap();
    assert_eq!(allocations(&sim), 2);

    // Two in a row exhaust it: the worker's queue retries later.
    sim.sim
        .inject_fault(Fault::server(ALLOCATE, "Internal error", 2));
    let err = dx
        .ensure_private_vif(&request("onramp-svc-0021", 171))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    match &err {
        Error::Transient { operation, message } => {
            assert_eq!(*operation, ALLOCATE);
            assert_eq!(message, "Internal error");
        }
        other => panic!("expected Transient, got {other:?}"),
    }
    assert_eq!(allocations(&sim), 4);

    sim.sim.inject_fault(Fault {
        error_type: Some("ThrottlingException".to_owned()),
        ..Fault::client("DescribeVirtualInterfaces", "Rate exceeded", 2)
    });
    let err = dx.describe_vif("dxvif-abcdefgh").await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert!(err.to_string().contains("Rate exceeded"), "{err}");
}

#[tokio::test]
async fn no_simulator_is_transient() {
    // A port nobody listens on.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let dx = client_as(format!("http://127.0.0.1:{port}"), "AKIAONRAMPPARTNER");
    let err = dx
        .ensure_private_vif(&request("onramp-svc-0030", 180))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Transient {
                operation: "DescribeVirtualInterfaces",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert!(matches!(
        dx.delete_vif("dxvif-abcdefgh").await,
        Err(Error::Transient { .. })
    ));

    // A simulator that went away behaves the same.
    let sim = start_fast().await;
    let url = sim.endpoint_url();
    drop(sim);
    let dx = client_as(url, "AKIAONRAMPPARTNER");
    let err = dx.describe_vif("dxvif-abcdefgh").await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
}

// ===== one listing per interconnect =====

const DESCRIBE: &str = "DescribeVirtualInterfaces";

fn describes(sim: &RunningSim) -> u64 {
    sim.sim.stats().get(DESCRIBE).copied().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn many_pollers_of_one_interconnect_share_one_describe_call() {
    // Frozen transitions: what each poller sees is decided by the test.
    let hour = Duration::from_secs(3600);
    let sim = start(hour, hour, hour).await;
    let dx = partner(&sim);
    let mut ids = Vec::new();
    for n in 0..10 {
        let vif = dx
            .ensure_private_vif(&request(&format!("onramp-svc-10{n:02}"), 400 + n))
            .await
            .unwrap();
        ids.push(vif.id);
    }
    let listings = onramp_aws_dx::VifListings::new(dx.clone(), hour);
    let before = describes(&sim);
    // Ten pollers at once, then ten more: one call between them.
    for _ in 0..2 {
        let polls: Vec<_> = ids
            .iter()
            .map(|id| {
                let (listings, id) = (listings.clone(), id.clone());
                tokio::spawn(async move { listings.vif("dxcon-onramp01", &id).await })
            })
            .collect();
        for (poll, id) in polls.into_iter().zip(&ids) {
            let vif = poll.await.unwrap().unwrap().expect("listed");
            assert_eq!((&vif.id, vif.state.as_str()), (id, "confirming"));
        }
    }
    assert_eq!(describes(&sim) - before, 1, "one listing for twenty polls");

    // A VIF allocated after the listing was taken is described on its own,
    // never reported gone; so is an unknown one (AWS: not found).
    let late = dx
        .ensure_private_vif(&request("onramp-svc-1099", 499))
        .await
        .unwrap();
    let before = describes(&sim);
    let seen = listings.vif("dxcon-onramp01", &late.id).await.unwrap();
    assert_eq!(seen.map(|v| v.id), Some(late.id));
    assert_eq!(
        listings
            .vif("dxcon-onramp01", "dxvif-ffffffff")
            .await
            .unwrap(),
        None
    );
    assert_eq!(describes(&sim) - before, 2, "one describe each");
}

#[tokio::test]
async fn a_listing_is_taken_again_once_it_is_older_than_max_age() {
    let sim = start(Duration::ZERO, Duration::ZERO, Duration::ZERO).await;
    let dx = partner(&sim);
    let vif = dx
        .ensure_private_vif(&request("onramp-svc-1100", 410))
        .await
        .unwrap();
    // max_age zero: every poll lists again, and sees the customer's accept.
    let listings = onramp_aws_dx::VifListings::new(dx.clone(), Duration::ZERO);
    let first = listings
        .vif("dxcon-onramp01", &vif.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.state, "confirming");
    customer(&sim)
        .sdk()
        .confirm_private_virtual_interface()
        .virtual_interface_id(&vif.id)
        .direct_connect_gateway_id("5f294f92-bafb-4011-916d-9b0b03f6e2a1")
        .send()
        .await
        .unwrap();
    let before = describes(&sim);
    let next = listings
        .vif("dxcon-onramp01", &vif.id)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(next.state, "confirming", "{next:?}");
    assert_eq!(describes(&sim) - before, 1);

    // An unknown interconnect is AWS's refusal, as for vifs_on_connection.
    let err = listings.vif("dxcon-nope", &vif.id).await.unwrap_err();
    assert!(matches!(err, Error::Rejected { .. }), "{err:?}");
}
