//! The adapter against the Partner Interconnect simulator over real HTTP on
//! 127.0.0.1: the simulator stands for both `compute.googleapis.com` and the
//! metadata server.

use std::time::{Duration, Instant};

use onramp_gcp_pi::{
    Attachment, AttachmentRequest, Error, GcpConfig, PiClient, Progress, parse_pairing_key,
};
use onramp_simulators::gcp_pi::{
    Clock, CreatePairingKey, GcpFault, GcpPiSim, GcpSimConfig, RunningGcpSim,
};

const INSERT: &str = "compute.interconnectAttachments.insert";
const DELETE: &str = "compute.interconnectAttachments.delete";
const GET: &str = "compute.interconnectAttachments.get";
const TOKEN: &str = "metadata.token";

async fn start_with(cfg: GcpSimConfig) -> RunningGcpSim {
    GcpPiSim::new(cfg)
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .expect("simulator binds")
}

async fn start() -> RunningGcpSim {
    start_with(GcpSimConfig {
        op_delay: Duration::from_millis(200),
        wait_max: Duration::from_secs(5),
        ..GcpSimConfig::default()
    })
    .await
}

/// A simulator whose time stands still until the test moves it.
async fn start_manual(cfg: GcpSimConfig) -> RunningGcpSim {
    start_with(GcpSimConfig {
        clock: Clock::manual(),
        ..cfg
    })
    .await
}

/// The client reads the simulator's clock, so that a manual one moves both.
fn config(sim: &RunningGcpSim) -> GcpConfig {
    let mut cfg = GcpConfig::new(
        sim.endpoint_url(),
        sim.endpoint_url(),
        sim.sim.config().project,
    );
    cfg.clock = sim.sim.clock();
    cfg
}

/// Waits (with a deadline) until the simulator has counted `n` calls of
/// `method`: the client is past that call.
async fn until_called(sim: &RunningGcpSim, method: &str, n: u64) {
    let start = Instant::now();
    while stat(sim, method) < n {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{method} was not called {n} times"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn client(sim: &RunningGcpSim) -> PiClient {
    PiClient::new(config(sim))
}

/// The customer creates their attachment; returns the pairing key.
fn pairing_key(sim: &RunningGcpSim, region: &str, domain: u8) -> String {
    sim.sim
        .create_pairing_key(CreatePairingKey::new(region, domain))
        .unwrap()
        .pairing_key
}

fn request(name: &str, key: &str, vlan: u16) -> AttachmentRequest {
    let domain = parse_pairing_key(key).map_or(1, |k| k.domain);
    AttachmentRequest {
        name: name.to_owned(),
        region: "us-west1".to_owned(),
        interconnect: format!("onramp-sjc-zone{domain}"),
        pairing_key: key.to_owned(),
        vlan,
        bandwidth: "BPS_1G".to_owned(),
        partner_name: "Onramp".to_owned(),
        interconnect_name: format!("San Jose zone {domain}"),
        portal_url: format!("https://portal.onramp.example/orders/{name}"),
        partner_asn: Some(65010),
    }
}

fn stat(sim: &RunningGcpSim, method: &str) -> u64 {
    sim.sim.stats().get(method).copied().unwrap_or_default()
}

fn done<T: std::fmt::Debug>(p: Progress<T>) -> T {
    match p {
        Progress::Done(t) => t,
        other => panic!("expected Done, got {other:?}"),
    }
}

#[tokio::test]
async fn ensure_creates_the_attachment_once() {
    let sim = start().await;
    let pi = client(&sim);
    let key = pairing_key(&sim, "us-west1", 1);
    let req = request("pi-order-1", &key, 100);

    let a = done(pi.ensure_attachment(&req).await.unwrap());
    assert_eq!(
        a,
        Attachment {
            name: "pi-order-1".into(),
            state: "PENDING_CUSTOMER".into(),
            cloud_router_ip: Some("169.254.1.1/29".into()),
            customer_router_ip: Some("169.254.1.2/29".into()),
            vlan: Some(100),
            pairing_key: Some(key.clone()),
            edge_availability_domain: Some("AVAILABILITY_DOMAIN_1".into()),
            bandwidth: Some("BPS_1G".into()),
        }
    );
    let ours = sim
        .sim
        .partner_attachment("us-west1", "pi-order-1")
        .unwrap();
    assert_eq!(ours.partner_asn, Some(65010));
    assert_eq!(ours.partner_metadata.interconnect_name, "San Jose zone 1");

    // Again: read, found, nothing sent.
    let again = done(pi.ensure_attachment(&req).await.unwrap());
    assert_eq!(again, a);
    assert_eq!(stat(&sim, INSERT), 1);
    assert_eq!(sim.sim.operations().len(), 1);
    assert!(sim.sim.operations()[0].request_id.is_some());
    assert_eq!(
        pi.get_attachment("us-west1", "pi-order-1").await.unwrap(),
        Some(a)
    );
    assert_eq!(
        pi.get_attachment("us-west1", "pi-none").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn a_retried_insert_after_a_crash_is_deduplicated_by_request_id() {
    let sim = start_manual(GcpSimConfig {
        op_delay: Duration::from_millis(400),
        wait_max: Duration::from_secs(5),
        ..GcpSimConfig::default()
    })
    .await;
    let key = pairing_key(&sim, "us-west1", 1);
    let req = request("pi-crash", &key, 200);

    // The first worker sends the insert and "dies" (no budget to follow).
    let mut cfg = config(&sim);
    cfg.op_budget = Duration::ZERO;
    let first = PiClient::new(cfg).ensure_attachment(&req).await.unwrap();
    assert!(matches!(first, Progress::InProgress { .. }), "{first:?}");
    assert_eq!(sim.sim.operations()[0].status, "PENDING");

    // Its successor, a new process, runs the same job while the operation
    // still runs, and follows it to the end.
    let successor = tokio::spawn({
        let (pi, req) = (client(&sim), req.clone());
        async move { pi.ensure_attachment(&req).await }
    });
    until_called(&sim, "compute.regionOperations.wait", 1).await;
    sim.sim.clock().advance(Duration::from_millis(400)).unwrap();
    let a = done(successor.await.unwrap().unwrap());
    assert_eq!(a.state, "PENDING_CUSTOMER");
    assert_eq!(stat(&sim, INSERT), 2, "the insert was sent twice");
    assert_eq!(sim.sim.operations().len(), 1, "Google ran it once");
    assert_eq!(sim.sim.attachments().partner.len(), 1);
}

#[tokio::test]
async fn a_failed_operation_reports_googles_error_and_a_retry_recovers() {
    let sim = start().await;
    let pi = client(&sim);
    let key = pairing_key(&sim, "us-west1", 1);
    let req = request("pi-fail", &key, 300);
    sim.sim.inject_fault(GcpFault::OperationFailure {
        count: 1,
        code: "RESOURCE_NOT_READY".into(),
        message: "The interconnect onramp-sjc-zone1 is under maintenance.".into(),
        http_status: 400,
    });
    let err = pi.ensure_attachment(&req).await.unwrap_err();
    assert_eq!(
        err,
        Error::OperationFailed {
            code: "RESOURCE_NOT_READY".into(),
            message: "The interconnect onramp-sjc-zone1 is under maintenance.".into(),
        }
    );
    assert!(err.is_retryable());
    assert_eq!(
        pi.get_attachment("us-west1", "pi-fail").await.unwrap(),
        None
    );

    // The retry replays the failed request id, sees it failed, and moves on
    // to the next one.
    let a = done(pi.ensure_attachment(&req).await.unwrap());
    assert_eq!(a.vlan, Some(300));
    assert_eq!(stat(&sim, INSERT), 3);
    assert_eq!(sim.sim.operations().len(), 2);

    // A permanent failure is not retryable.
    let key2 = pairing_key(&sim, "us-west1", 1);
    sim.sim.inject_fault(GcpFault::OperationFailure {
        count: 1,
        code: "QUOTA_EXCEEDED".into(),
        message: "Quota 'INTERCONNECT_ATTACHMENTS_PER_REGION' exceeded.".into(),
        http_status: 403,
    });
    let err = pi
        .ensure_attachment(&request("pi-quota", &key2, 301))
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::OperationFailed { code, .. } if code == "QUOTA_EXCEEDED"));
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn activation_by_the_customer_shows_in_get_attachment() {
    let sim = start().await;
    let pi = client(&sim);
    let key = pairing_key(&sim, "us-west1", 2);
    done(
        pi.ensure_attachment(&request("pi-act", &key, 400))
            .await
            .unwrap(),
    );
    let a = pi
        .get_attachment("us-west1", "pi-act")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.state, "PENDING_CUSTOMER");
    assert_eq!(
        a.edge_availability_domain.as_deref(),
        Some("AVAILABILITY_DOMAIN_2")
    );

    sim.sim.activate(&key).unwrap();
    let a = pi
        .get_attachment("us-west1", "pi-act")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.state, "ACTIVE");
}

#[tokio::test]
async fn delete_is_idempotent_and_unpairs_the_customer() {
    let sim = start().await;
    let pi = client(&sim);
    let key = pairing_key(&sim, "us-west1", 1);
    done(
        pi.ensure_attachment(&request("pi-del", &key, 500))
            .await
            .unwrap(),
    );

    done(pi.delete_attachment("us-west1", "pi-del").await.unwrap());
    assert_eq!(pi.get_attachment("us-west1", "pi-del").await.unwrap(), None);
    assert_eq!(
        sim.sim.customer_attachment(&key).unwrap().state,
        "PENDING_PARTNER"
    );
    // Absent: done without a DELETE.
    done(pi.delete_attachment("us-west1", "pi-del").await.unwrap());
    assert_eq!(stat(&sim, DELETE), 1);

    // Same name and key again: a new attachment, not the old operation.
    let a = done(
        pi.ensure_attachment(&request("pi-del", &key, 500))
            .await
            .unwrap(),
    );
    assert_eq!(a.state, "PENDING_CUSTOMER");

    // A crash while deleting: the successor picks the operation up.
    let mut cfg = config(&sim);
    cfg.op_budget = Duration::ZERO;
    let first = PiClient::new(cfg)
        .delete_attachment("us-west1", "pi-del")
        .await
        .unwrap();
    assert!(matches!(first, Progress::InProgress { .. }), "{first:?}");
    done(pi.delete_attachment("us-west1", "pi-del").await.unwrap());
    assert_eq!(pi.get_attachment("us-west1", "pi-del").await.unwrap(), None);
    let deletes = sim
        .sim
        .operations()
        .iter()
        .filter(|o| o.operation_type == "delete")
        .count();
    assert_eq!(deletes, 2, "one per attachment instance");
}

#[tokio::test]
async fn a_customer_deletion_leaves_ours_defunct_and_we_clean_up() {
    let sim = start().await;
    let pi = client(&sim);
    let key = pairing_key(&sim, "us-west1", 1);
    done(
        pi.ensure_attachment(&request("pi-gone", &key, 600))
            .await
            .unwrap(),
    );
    sim.sim.activate(&key).unwrap();
    sim.sim.customer_delete(&key).unwrap();
    let a = pi
        .get_attachment("us-west1", "pi-gone")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.state, "DEFUNCT");
    done(pi.delete_attachment("us-west1", "pi-gone").await.unwrap());
    assert!(sim.sim.attachments().partner.is_empty());
}

#[tokio::test]
async fn throttling_is_slept_off_within_the_budget() {
    let sim = start().await;
    let pi = client(&sim);
    sim.sim.inject_fault(GcpFault::rate_limit(2, 1));
    let t0 = Instant::now();
    assert_eq!(pi.get_attachment("us-west1", "pi-x").await.unwrap(), None);
    assert!(t0.elapsed() >= Duration::from_secs(2));
    assert_eq!(stat(&sim, GET), 3);

    let mut cfg = config(&sim);
    cfg.max_throttle_wait = Duration::from_secs(1);
    let impatient = PiClient::new(cfg);
    sim.sim.inject_fault(GcpFault::rate_limit(1, 2));
    let err = impatient
        .get_attachment("us-west1", "pi-x")
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::Throttled {
            retry_after: Duration::from_secs(2)
        }
    );
    assert!(err.is_retryable());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
}

#[tokio::test]
async fn the_token_is_cached_renewed_and_refetched_after_a_401() {
    let sim = start_manual(GcpSimConfig {
        token_ttl: Duration::from_secs(2),
        ..GcpSimConfig::default()
    })
    .await;
    let pi = client(&sim);
    for _ in 0..3 {
        pi.get_attachment("us-west1", "pi-x").await.unwrap();
    }
    // Clones share the cache.
    pi.clone().get_attachment("us-west1", "pi-x").await.unwrap();
    assert_eq!(stat(&sim, TOKEN), 1);

    sim.sim.revoke_tokens();
    pi.get_attachment("us-west1", "pi-x").await.unwrap();
    assert_eq!(stat(&sim, TOKEN), 2);
    assert_eq!(stat(&sim, GET), 6, "one refused, then retried");

    // Renewed before it expires: no call is refused.
    sim.sim
        .clock()
        .advance(Duration::from_millis(1850))
        .unwrap();
    pi.get_attachment("us-west1", "pi-x").await.unwrap();
    assert_eq!(stat(&sim, TOKEN), 3);
    assert_eq!(stat(&sim, GET), 7);
}

#[tokio::test]
async fn credential_and_transport_failures() {
    let sim = start().await;
    // No metadata server there (the simulator answers 404).
    let mut cfg = config(&sim);
    cfg.metadata_url = format!("{}/nowhere", sim.endpoint_url());
    let err = PiClient::new(cfg)
        .get_attachment("us-west1", "pi-x")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Auth(m) if m.contains("404")),
        "{err:?}"
    );
    assert!(!err.is_retryable());

    // Nothing listening.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let url = format!("http://{closed}");
    let err = PiClient::new(GcpConfig::new(&url, &url, "onramp-partner"))
        .get_attachment("us-west1", "pi-x")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn googles_refusals_come_back_as_google_errors() {
    let sim = start().await;
    let pi = client(&sim);
    let k1 = pairing_key(&sim, "us-west1", 1);
    let k2 = pairing_key(&sim, "us-west1", 1);
    done(
        pi.ensure_attachment(&request("pi-a", &k1, 700))
            .await
            .unwrap(),
    );

    // Duplicate VLAN on the interconnect.
    let err = pi
        .ensure_attachment(&request("pi-b", &k2, 700))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Google { status: 409, reason, message } if reason == "conflict" && message.contains("VLAN")),
        "{err:?}"
    );
    assert!(!err.is_retryable());

    // Domain 1 key on the domain 2 interconnect.
    let mut wrong = request("pi-b", &k2, 701);
    wrong.interconnect = "onramp-sjc-zone2".into();
    let err = pi.ensure_attachment(&wrong).await.unwrap_err();
    assert!(
        matches!(&err, Error::Google { status: 400, reason, message } if reason == "invalid" && message.contains("edge availability domain")),
        "{err:?}"
    );

    // A well-formed key no customer created.
    let unknown = "2dfcdee7-b6f9-41d0-b98f-639151097693/us-west1/1";
    let err = pi
        .ensure_attachment(&request("pi-c", unknown, 702))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Google { status: 404, reason, .. } if reason == "notFound"),
        "{err:?}"
    );

    // Refused before sending: nothing reaches Google.
    let before = stat(&sim, GET) + stat(&sim, INSERT);
    for bad in [
        request("pi-d", "not-a-key", 703),
        request("pi-d", &pairing_key(&sim, "us-east4", 1), 703),
        request("pi-d", &k2, 4095),
    ] {
        let err = pi.ensure_attachment(&bad).await.unwrap_err();
        assert!(
            matches!(&err, Error::Google { status: 400, reason, .. } if reason == "invalid"),
            "{err:?}"
        );
    }
    assert_eq!(stat(&sim, GET) + stat(&sim, INSERT), before);
}

#[tokio::test]
async fn an_insert_by_someone_else_in_flight_is_in_progress() {
    let sim = start_with(GcpSimConfig {
        op_delay: Duration::from_millis(500),
        wait_max: Duration::from_secs(5),
        clock: Clock::manual(),
        ..GcpSimConfig::default()
    })
    .await;
    let key = pairing_key(&sim, "us-west1", 1);
    let req = request("pi-race", &key, 800);
    // Another client inserts the same attachment with its own request id.
    let token = sim.sim.issue_token();
    let body = serde_json::json!({
        "name": "pi-race",
        "type": "PARTNER_PROVIDER",
        "interconnect": "projects/onramp-partner/global/interconnects/onramp-sjc-zone1",
        "pairingKey": key,
        "vlanTag8021q": 800,
        "bandwidth": "BPS_1G",
        "partnerMetadata": {"partnerName": "Onramp", "interconnectName": "x", "portalUrl": "https://p.example"},
    });
    let r = reqwest::Client::new()
        .post(format!(
            "{}/compute/v1/projects/onramp-partner/regions/us-west1/interconnectAttachments",
            sim.endpoint_url()
        ))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());

    let pi = client(&sim);
    let p = pi.ensure_attachment(&req).await.unwrap();
    assert!(matches!(p, Progress::InProgress { .. }), "{p:?}");
    sim.sim.clock().advance(Duration::from_millis(500)).unwrap();
    let a = done(pi.ensure_attachment(&req).await.unwrap());
    assert_eq!(a.vlan, Some(800));
}
