//! Hosted connections through the adapter against the Direct Connect
//! simulator over real HTTP on 127.0.0.1, with the customer played by the same
//! official SDK under a 12-digit access key.

use std::time::{Duration, Instant};

use aws_sdk_directconnect::error::ProvideErrorMetadata;
use aws_sdk_directconnect::operation::create_private_virtual_interface::{
    CreatePrivateVirtualInterfaceError, CreatePrivateVirtualInterfaceOutput,
};
use aws_sdk_directconnect::types::{
    ConnectionState, NewPrivateVirtualInterface, VirtualInterfaceState,
};
use onramp_aws_dx::{
    DxClient, DxConfig, Error, HOSTED_BANDWIDTHS, HostedConnection, HostedConnectionRequest,
};
use onramp_simulators::aws_dx::{AwsDxSim, Fault, RunningSim, SimConfig};

const CUSTOMER: &str = "444455556666";
const INTERCONNECT: &str = "dxcon-onramp01";
const ALLOCATE: &str = "AllocateHostedConnection";
const DXGW: &str = "5f294f92-bafb-4011-916d-9b0b03f6e2a1";

async fn start(available_after: Duration, deleted_after: Duration) -> RunningSim {
    let cfg = SimConfig {
        available_after,
        bgp_up_after: available_after,
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
    start(ms, ms).await
}

fn client_as(sim: &RunningSim, access_key_id: &str) -> DxClient {
    DxClient::new(&DxConfig {
        endpoint_url: sim.endpoint_url(),
        region: "us-east-1".to_owned(),
        access_key_id: access_key_id.to_owned(),
        secret_access_key: "not-checked-by-the-simulator".to_owned(),
    })
}

fn partner(sim: &RunningSim) -> DxClient {
    client_as(sim, &sim.sim.config().partner_access_key_id)
}

/// The customer "in their AWS console".
fn customer(sim: &RunningSim) -> DxClient {
    client_as(sim, CUSTOMER)
}

fn request(name: &str, vlan: u16) -> HostedConnectionRequest {
    HostedConnectionRequest {
        interconnect_id: INTERCONNECT.to_owned(),
        owner_account: CUSTOMER.to_owned(),
        bandwidth: "500Mbps".to_owned(),
        name: name.to_owned(),
        vlan,
    }
}

fn calls(sim: &RunningSim, operation: &str) -> u64 {
    sim.sim.stats().get(operation).copied().unwrap_or(0)
}

/// Polls the partner's view until `done` holds; bounded.
async fn wait_for(
    dx: &DxClient,
    id: &str,
    done: impl Fn(&HostedConnection) -> bool,
) -> HostedConnection {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let conn = dx
            .describe_hosted_connection(INTERCONNECT, id)
            .await
            .unwrap()
            .expect("hosted connection is listed");
        if done(&conn) {
            return conn;
        }
        assert!(Instant::now() < deadline, "timed out; last seen {conn:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn confirm(sim: &RunningSim, id: &str) -> Option<ConnectionState> {
    customer(sim)
        .sdk()
        .confirm_connection()
        .connection_id(id)
        .send()
        .await
        .unwrap()
        .connection_state()
        .cloned()
}

/// An allocated, confirmed, available hosted connection.
async fn available(sim: &RunningSim, name: &str, vlan: u16) -> HostedConnection {
    let dx = partner(sim);
    let conn = dx
        .ensure_hosted_connection(&request(name, vlan))
        .await
        .unwrap();
    confirm(sim, &conn.id).await;
    wait_for(&dx, &conn.id, |c| c.state == "available").await
}

fn customer_vif(name: &str, vlan: u16) -> NewPrivateVirtualInterface {
    NewPrivateVirtualInterface::builder()
        .virtual_interface_name(name)
        .vlan(i32::from(vlan))
        .asn(65100)
        .auth_key("customer-md5-key")
        .amazon_address("169.254.30.1/30")
        .customer_address("169.254.30.2/30")
        .direct_connect_gateway_id(DXGW)
        .build()
        .unwrap()
}

/// The customer creates its VIF on its hosted connection.
async fn create_vif(
    sim: &RunningSim,
    connection_id: &str,
    name: &str,
    vlan: u16,
) -> Result<CreatePrivateVirtualInterfaceOutput, CreatePrivateVirtualInterfaceError> {
    customer(sim)
        .sdk()
        .create_private_virtual_interface()
        .connection_id(connection_id)
        .new_private_virtual_interface(customer_vif(name, vlan))
        .send()
        .await
        .map_err(aws_sdk_directconnect::error::SdkError::into_service_error)
}

/// AWS's message of a DirectConnectClientException.
fn refusal(err: &CreatePrivateVirtualInterfaceError) -> String {
    assert!(err.is_direct_connect_client_exception(), "{err:?}");
    err.message().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn allocation_is_ordering_and_a_retry_finds_it() {
    let sim = start_fast().await;
    let dx = partner(&sim);
    let req = request("onramp-hc-0001", 300);

    let first = dx.ensure_hosted_connection(&req).await.unwrap();
    assert!(first.id.starts_with("dxcon-"), "{}", first.id);
    assert_ne!(first.id, INTERCONNECT);
    assert_eq!(first.name, req.name);
    assert_eq!(first.state, "ordering");
    assert_eq!(first.owner_account, CUSTOMER);
    assert_eq!(first.bandwidth, "500Mbps");
    assert_eq!(first.vlan, 300);
    assert!(first.is_live());

    // The worker crashed before recording the id; the redelivered job calls
    // ensure again and gets the same connection, without a second allocation.
    let second = dx.ensure_hosted_connection(&req).await.unwrap();
    assert_eq!(second, first);
    assert_eq!(calls(&sim, ALLOCATE), 1);
    assert_eq!(sim.sim.hosted_connections().len(), 1);
    let simulated = &sim.sim.hosted_connections()[0];
    assert_eq!(simulated.connection_id, first.id);
    assert_eq!(simulated.interconnect_id, INTERCONNECT);
    assert_eq!(simulated.partner_name, "Onramp");

    // Lookups agree.
    assert_eq!(
        dx.describe_hosted_connection(INTERCONNECT, &first.id)
            .await
            .unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        dx.find_hosted_connection_by_name(INTERCONNECT, &req.name)
            .await
            .unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        dx.find_hosted_connection_by_name(INTERCONNECT, "other")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        dx.describe_hosted_connection(INTERCONNECT, "dxcon-zz99zz99")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn a_live_connection_with_other_parameters_is_a_conflict() {
    let sim = start_fast().await;
    let dx = partner(&sim);
    let conn = dx
        .ensure_hosted_connection(&request("onramp-hc-0002", 310))
        .await
        .unwrap();
    let mut other = request("onramp-hc-0002", 311);
    other.bandwidth = "1Gbps".to_owned();
    let err = dx.ensure_hosted_connection(&other).await.unwrap_err();
    match &err {
        Error::ConnectionConflict {
            connection_id,
            details,
            ..
        } => {
            assert_eq!(*connection_id, conn.id);
            assert_eq!(
                details,
                "bandwidth is 500Mbps, requested 1Gbps; VLAN is 310, requested 311"
            );
        }
        other => panic!("expected ConnectionConflict, got {other:?}"),
    }
    assert!(!err.is_retryable());
    assert_eq!(err.operation(), ALLOCATE);
    assert_eq!(calls(&sim, ALLOCATE), 1);
}

#[tokio::test]
async fn customer_confirmation_makes_it_available() {
    let sim = start_fast().await;
    let dx = partner(&sim);
    let req = request("onramp-hc-0003", 320);
    let conn = dx.ensure_hosted_connection(&req).await.unwrap();

    assert_eq!(
        confirm(&sim, &conn.id).await,
        Some(ConnectionState::Pending)
    );
    let up = wait_for(&dx, &conn.id, |c| c.state == "available").await;
    assert_eq!(up.id, conn.id);

    // The customer's own view of it.
    let mine = customer(&sim)
        .sdk()
        .describe_connections()
        .send()
        .await
        .unwrap();
    let c = &mine.connections()[0];
    assert_eq!(c.connection_id(), Some(conn.id.as_str()));
    assert_eq!(c.connection_state(), Some(&ConnectionState::Available));
    assert_eq!(c.partner_name(), Some("Onramp"));
    assert_eq!(c.vlan(), 320);

    // A redelivered provisioning job still finds it.
    assert_eq!(dx.ensure_hosted_connection(&req).await.unwrap(), up);
    assert_eq!(calls(&sim, ALLOCATE), 1);

    // Only its owner confirms.
    let err = partner(&sim)
        .sdk()
        .confirm_connection()
        .connection_id(&conn.id)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_direct_connect_client_exception(), "{err:?}");
}

#[tokio::test]
async fn customer_declining_rejects_it() {
    let sim = start_fast().await;
    let dx = partner(&sim);
    let req = request("onramp-hc-0004", 330);
    let conn = dx.ensure_hosted_connection(&req).await.unwrap();

    // Declining is the customer deleting the offer while it is ordering.
    let out = customer(&sim)
        .sdk()
        .delete_connection()
        .connection_id(&conn.id)
        .send()
        .await
        .unwrap();
    assert_eq!(out.connection_state(), Some(&ConnectionState::Rejected));

    let rejected = dx
        .describe_hosted_connection(INTERCONNECT, &conn.id)
        .await
        .unwrap()
        .expect("rejected connections stay listed");
    assert_eq!(rejected.state, "rejected");
    assert!(!rejected.is_live());
    // Not reused: the next ensure allocates afresh, on the freed VLAN.
    assert_eq!(
        dx.find_hosted_connection_by_name(INTERCONNECT, &req.name)
            .await
            .unwrap(),
        None
    );
    let again = dx.ensure_hosted_connection(&req).await.unwrap();
    assert_ne!(again.id, conn.id);
    assert_eq!(again.state, "ordering");
    assert_eq!(calls(&sim, ALLOCATE), 2);
    // Deleting the rejected one is a no-op success.
    dx.delete_connection(&conn.id).await.unwrap();
}

#[tokio::test]
async fn delete_connection_is_idempotent() {
    // Deleting → deleted takes long here: the repeat lands while deleting.
    let sim = start(Duration::ZERO, Duration::from_secs(3600)).await;
    let dx = partner(&sim);
    let conn = dx
        .ensure_hosted_connection(&request("onramp-hc-0005", 340))
        .await
        .unwrap();
    dx.delete_connection(&conn.id).await.unwrap();
    dx.delete_connection(&conn.id).await.unwrap();
    assert_eq!(
        dx.describe_hosted_connection(INTERCONNECT, &conn.id)
            .await
            .unwrap()
            .unwrap()
            .state,
        "deleting"
    );
    assert_eq!(calls(&sim, "DeleteConnection"), 2);

    // Deleted at once here: the simulator refuses the repeat, the adapter sees
    // the connection is gone and reports success.
    let sim = start(Duration::ZERO, Duration::ZERO).await;
    let dx = partner(&sim);
    let req = request("onramp-hc-0006", 341);
    let conn = dx.ensure_hosted_connection(&req).await.unwrap();
    dx.delete_connection(&conn.id).await.unwrap();
    let gone = dx
        .describe_hosted_connection(INTERCONNECT, &conn.id)
        .await
        .unwrap()
        .expect("deleted connections stay listed");
    assert_eq!(gone.state, "deleted");
    dx.delete_connection(&conn.id).await.unwrap();
    assert_eq!(
        dx.find_hosted_connection_by_name(INTERCONNECT, &req.name)
            .await
            .unwrap(),
        None
    );

    // The customer's keys work the same way.
    let conn = available(&sim, "onramp-hc-0007", 342).await;
    let cust = customer(&sim);
    cust.delete_connection(&conn.id).await.unwrap();
    cust.delete_connection(&conn.id).await.unwrap();
    assert_eq!(
        sim.sim.hosted_connection(&conn.id).unwrap().state,
        "deleted"
    );

    // Unknown ids: nothing to delete.
    dx.delete_connection("dxcon-zz99zz99").await.unwrap();

    // The partner's interconnect itself is not deletable this way, and that
    // refusal is not swallowed.
    let err = dx.delete_connection(INTERCONNECT).await.unwrap_err();
    assert!(!err.is_retryable(), "{err:?}");
    assert_eq!(err.operation(), "DeleteConnection");
}

#[tokio::test]
async fn a_bad_bandwidth_is_rejected_naming_it() {
    let sim = start_fast().await;
    let dx = partner(&sim);
    let mut req = request("onramp-hc-0010", 350);
    req.bandwidth = "3Gbps".to_owned();
    assert!(!HOSTED_BANDWIDTHS.contains(&"3Gbps"));
    let err = dx.ensure_hosted_connection(&req).await.unwrap_err();
    assert!(!err.is_retryable(), "{err:?}");
    match &err {
        Error::Rejected { operation, message } => {
            assert_eq!(*operation, ALLOCATE);
            assert!(message.contains("Bandwidth 3Gbps"), "{message}");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert!(err.to_string().contains("3Gbps"), "{err}");
    assert!(sim.sim.hosted_connections().is_empty());

    // Every documented bandwidth the 10G interconnect can carry is accepted.
    for (i, bandwidth) in HOSTED_BANDWIDTHS
        .iter()
        .filter(|b| **b != "25Gbps")
        .enumerate()
    {
        let vlan = 360 + u16::try_from(i).unwrap();
        let mut req = request(&format!("onramp-hc-bw-{i}"), vlan);
        req.bandwidth = (*bandwidth).to_owned();
        let conn = dx.ensure_hosted_connection(&req).await.unwrap();
        assert_eq!(conn.bandwidth, *bandwidth);
    }
}

#[tokio::test]
async fn other_refusals_and_transient_failures() {
    let sim = start_fast().await;
    let dx = partner(&sim);

    // The VLAN is taken by a hosted connection already.
    dx.ensure_hosted_connection(&request("onramp-hc-0020", 370))
        .await
        .unwrap();
    let err = dx
        .ensure_hosted_connection(&request("onramp-hc-0021", 370))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Rejected { operation: ALLOCATE, message }
            if message == "VLAN 370 is already in use on connection dxcon-onramp01."),
        "{err:?}"
    );

    // An unknown interconnect fails on the lookup.
    let mut req = request("onramp-hc-0022", 371);
    req.interconnect_id = "dxcon-nope1234".to_owned();
    let err = dx.ensure_hosted_connection(&req).await.unwrap_err();
    assert!(
        matches!(&err, Error::Rejected { operation: "DescribeHostedConnections", message }
            if message == "Could not find Connection with ID dxcon-nope1234"),
        "{err:?}"
    );

    // Two 500s in a row exhaust the SDK's single retry: retry later.
    sim.sim
        .inject_fault(Fault::server(ALLOCATE, "Internal error", 2));
    let err = dx
        .ensure_hosted_connection(&request("onramp-hc-0023", 372))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert_eq!(err.operation(), ALLOCATE);
    // The job's next attempt goes through.
    dx.ensure_hosted_connection(&request("onramp-hc-0023", 372))
        .await
        .unwrap();

    sim.sim.inject_fault(Fault {
        error_type: Some("ThrottlingException".to_owned()),
        ..Fault::client("DescribeHostedConnections", "Rate exceeded", 2)
    });
    let err = dx
        .describe_hosted_connection(INTERCONNECT, "dxcon-abcdefgh")
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");

    sim.sim
        .inject_fault(Fault::server("DeleteConnection", "Internal error", 2));
    let err = dx.delete_connection("dxcon-abcdefgh").await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
}

#[tokio::test]
async fn the_customers_vif_on_the_hosted_connection() {
    let sim = start_fast().await;
    let dx = partner(&sim);
    let conn = available(&sim, "onramp-hc-0030", 380).await;
    assert!(dx.vifs_on_connection(&conn.id).await.unwrap().is_empty());

    let created = create_vif(&sim, &conn.id, "customer-vif", 380)
        .await
        .unwrap();
    let vif_id = created.virtual_interface_id().unwrap().to_owned();
    assert_eq!(
        created.virtual_interface_state(),
        Some(&VirtualInterfaceState::Pending)
    );

    // The partner sees it on the hosted connection, and sees it come up.
    let deadline = Instant::now() + Duration::from_secs(30);
    let vif = loop {
        let vifs = dx.vifs_on_connection(&conn.id).await.unwrap();
        assert_eq!(vifs.len(), 1, "{vifs:?}");
        if vifs[0].state == "available" && vifs[0].bgp_up {
            break vifs.into_iter().next().unwrap();
        }
        assert!(Instant::now() < deadline, "timed out; last seen {vifs:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert_eq!(vif.id, vif_id);
    assert_eq!(vif.name, "customer-vif");
    assert_eq!(vif.vlan, 380);
    assert_eq!(vif.asn, 65100);
    assert_eq!(vif.owner_account, CUSTOMER);
    assert_eq!(vif.amazon_address, "169.254.30.1/30");
    // The interconnect's own hosted VIFs do not include it.
    assert!(
        dx.vifs_on_connection(INTERCONNECT)
            .await
            .unwrap()
            .is_empty()
    );

    // A hosted connection carries one VIF.
    let err = create_vif(&sim, &conn.id, "second-vif", 380)
        .await
        .unwrap_err();
    let message = refusal(&err);
    assert!(message.contains("only one virtual interface"), "{message}");
    assert_eq!(dx.vifs_on_connection(&conn.id).await.unwrap().len(), 1);

    // Deleting the connection takes the VIF with it.
    dx.delete_connection(&conn.id).await.unwrap();
    let gone = wait_for(&dx, &conn.id, |c| c.state == "deleted").await;
    assert!(!gone.is_live());
    let vifs = dx.vifs_on_connection(&conn.id).await.unwrap();
    assert_eq!(vifs[0].state, "deleted");

    // Unknown connections are AWS's "could not find".
    let err = dx.vifs_on_connection("dxcon-zz99zz99").await.unwrap_err();
    assert!(!err.is_retryable());
    assert!(
        err.to_string().contains("Could not find Connection"),
        "{err}"
    );
}

#[tokio::test]
async fn a_vif_needs_an_available_connection_and_its_vlan() {
    let sim = start(Duration::from_secs(3600), Duration::ZERO).await;
    let conn = partner(&sim)
        .ensure_hosted_connection(&request("onramp-hc-0040", 390))
        .await
        .unwrap();
    let err = create_vif(&sim, &conn.id, "customer-vif", 390)
        .await
        .unwrap_err();
    let m = refusal(&err);
    assert!(m.contains("is in state ordering"), "{m}");
    confirm(&sim, &conn.id).await;
    let err = create_vif(&sim, &conn.id, "customer-vif", 390)
        .await
        .unwrap_err();
    let m = refusal(&err);
    assert!(m.contains("is in state pending"), "{m}");
    assert!(sim.sim.virtual_interfaces().is_empty());

    let sim = start_fast().await;
    let conn = available(&sim, "onramp-hc-0041", 391).await;
    let err = create_vif(&sim, &conn.id, "customer-vif", 392)
        .await
        .unwrap_err();
    assert_eq!(
        refusal(&err),
        format!(
            "VLAN 392 does not match VLAN 391 of hosted connection {}.",
            conn.id
        )
    );
    // The partner cannot create the customer's VIF for it.
    let err = partner(&sim)
        .sdk()
        .create_private_virtual_interface()
        .connection_id(&conn.id)
        .new_private_virtual_interface(customer_vif("customer-vif", 391))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(refusal(&err).contains("Only the owner account"));
}
