//! The Google Cloud Partner Interconnect simulator over real HTTP, as a
//! partner's Compute client sees it.

use std::time::{Duration, Instant};

use onramp_simulators::gcp_pi::{
    Clock, CreatePairingKey, GcpFault, GcpPiSim, GcpSimConfig, RunningGcpSim, SimInterconnect,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const TOKEN_PATH: &str = "/computeMetadata/v1/instance/service-accounts/default/token";

struct Fixture {
    running: RunningGcpSim,
    http: reqwest::Client,
    project: String,
    token: String,
}

/// Time stands still until a test moves it: what a test sees between two
/// of its calls never depends on how busy the machine is.
fn fast() -> GcpSimConfig {
    GcpSimConfig {
        op_delay: Duration::from_millis(200),
        wait_max: Duration::from_secs(5),
        clock: Clock::manual(),
        ..GcpSimConfig::default()
    }
}

async fn start(cfg: GcpSimConfig) -> Fixture {
    let project = cfg.project.clone();
    let running = GcpPiSim::new(cfg)
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut f = Fixture {
        running,
        http: reqwest::Client::new(),
        project,
        token: String::new(),
    };
    f.token = f.fetch_token().await;
    f
}

impl Fixture {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.endpoint_url())
    }

    async fn fetch_token(&self) -> String {
        let r = self
            .http
            .get(self.url(TOKEN_PATH))
            .header("Metadata-Flavor", "Google")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.unwrap();
        v["access_token"].as_str().unwrap().to_owned()
    }

    fn advance(&self, by: Duration) {
        self.running.sim.clock().advance(by).unwrap();
    }

    fn region_path(&self, region: &str) -> String {
        format!("/compute/v1/projects/{}/regions/{region}", self.project)
    }

    fn attachments_path(&self, region: &str) -> String {
        format!("{}/interconnectAttachments", self.region_path(region))
    }

    /// A Compute call with the fixture's token.
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call_as(Some(&self.token), method, path, body).await
    }

    async fn call_as(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn pairing_key(&self, region: &str, domain: u8) -> String {
        self.pairing_key_with(json!({"region": region, "edgeAvailabilityDomain": domain}))
            .await
    }

    async fn pairing_key_with(&self, body: Value) -> String {
        let r = self
            .http
            .post(self.url("/_sim/pairing-keys"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["state"], "PENDING_PARTNER");
        v["pairingKey"].as_str().unwrap().to_owned()
    }

    async fn insert(
        &self,
        region: &str,
        request_id: Option<&str>,
        body: Value,
    ) -> (StatusCode, Value) {
        let mut path = self.attachments_path(region);
        if let Some(r) = request_id {
            path = format!("{path}?requestId={r}");
        }
        self.call(Method::POST, &path, Some(body)).await
    }

    async fn get(&self, region: &str, name: &str) -> (StatusCode, Value) {
        let path = format!("{}/{name}", self.attachments_path(region));
        self.call(Method::GET, &path, None).await
    }

    /// Lets an operation's worth of time pass (`op_delay`), then waits for
    /// it as a client would.
    async fn wait(&self, op: &Value) -> Value {
        self.advance(self.running.sim.config().op_delay);
        let path = format!(
            "{}/operations/{}/wait",
            self.region_path(&region_of(op)),
            op["name"].as_str().unwrap()
        );
        let (status, v) = self.call(Method::POST, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        v
    }

    /// Inserts and waits for the operation: the attachment must exist then.
    async fn provision(&self, name: &str, interconnect: &str, key: &str, vlan: u16) -> Value {
        let (status, op) = self
            .insert(
                "us-west1",
                None,
                attachment_body(name, interconnect, key, vlan),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{op}");
        let done = self.wait(&op).await;
        assert_eq!(done["status"], "DONE");
        assert!(done.get("error").is_none(), "{done}");
        let (status, a) = self.get("us-west1", name).await;
        assert_eq!(status, StatusCode::OK, "{a}");
        a
    }

    async fn control(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call_as(None, method, path, body).await
    }

    fn stat(&self, method: &str) -> u64 {
        self.running
            .sim
            .stats()
            .get(method)
            .copied()
            .unwrap_or_default()
    }
}

fn region_of(op: &Value) -> String {
    op["region"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned()
}

fn attachment_body(name: &str, interconnect: &str, key: &str, vlan: u16) -> Value {
    json!({
        "name": name,
        "type": "PARTNER_PROVIDER",
        "interconnect": format!("projects/onramp-partner/global/interconnects/{interconnect}"),
        "pairingKey": key,
        "vlanTag8021q": vlan,
        "bandwidth": "BPS_1G",
        "partnerMetadata": {
            "partnerName": "Onramp",
            "interconnectName": "San Jose zone 1",
            "portalUrl": "https://portal.onramp.example/orders/1",
        },
        "partnerAsn": "65010",
        "description": "order 1",
    })
}

/// `(reason, status)` of a Google error body, checking its shape.
fn google_error(body: &Value, code: StatusCode) -> (String, String) {
    let e = &body["error"];
    assert_eq!(e["code"], code.as_u16(), "{body}");
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    let first = &e["errors"][0];
    assert_eq!(first["message"], e["message"], "{body}");
    assert!(first["domain"].is_string(), "{body}");
    (
        first["reason"].as_str().unwrap().to_owned(),
        e["status"].as_str().unwrap().to_owned(),
    )
}

fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn metadata_token_needs_the_flavor_header() {
    let f = start(fast()).await;
    let r = f.http.get(f.url(TOKEN_PATH)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("Metadata-Flavor"));

    let r = f
        .http
        .get(f.url(TOKEN_PATH))
        .header("Metadata-Flavor", "Google")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["metadata-flavor"], "Google");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 3599);
    assert!(v["access_token"].as_str().unwrap().starts_with("ya29."));
    assert_eq!(f.stat("metadata.token"), 3);

    let r = f
        .http
        .get(f.url("/computeMetadata/v1/project/project-id"))
        .header("Metadata-Flavor", "Google")
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "onramp-partner");
}

#[tokio::test]
async fn compute_refuses_missing_unknown_revoked_and_expired_tokens() {
    let f = start(GcpSimConfig {
        token_ttl: Duration::from_millis(300),
        ..fast()
    })
    .await;
    let path = f.attachments_path("us-west1");

    let (status, body) = f.call_as(None, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        google_error(&body, status),
        ("required".to_owned(), "UNAUTHENTICATED".to_owned())
    );

    let (status, body) = f
        .call_as(Some("ya29.forged"), Method::GET, &path, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        google_error(&body, status),
        ("authError".to_owned(), "UNAUTHENTICATED".to_owned())
    );

    let (status, _) = f.call(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    f.advance(Duration::from_millis(299));
    let (status, _) = f.call(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK, "still valid 1 ms before it expires");
    f.advance(Duration::from_millis(1));
    let (status, _) = f.call(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "expired");

    let fresh = f.fetch_token().await;
    let (status, _) = f.call_as(Some(&fresh), Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = f.control(Method::DELETE, "/_sim/tokens", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = f.call_as(Some(&fresh), Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "revoked");
}

#[tokio::test]
async fn insert_runs_an_operation_then_the_attachment_waits_for_the_customer() {
    // PENDING for 150 ms, RUNNING until 600 ms, on the simulator's clock.
    let f = start(GcpSimConfig {
        op_delay: Duration::from_millis(600),
        ..fast()
    })
    .await;
    let key = f.pairing_key("us-west1", 1).await;
    let (status, op) = f
        .insert(
            "us-west1",
            None,
            attachment_body("pi-order-1", "onramp-sjc-zone1", &key, 100),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{op}");
    assert_eq!(op["kind"], "compute#operation");
    assert_eq!(op["operationType"], "insert");
    assert_eq!(op["status"], "PENDING");
    assert!(op["name"].as_str().unwrap().starts_with("operation-"));
    assert!(
        op["targetLink"].as_str().unwrap().ends_with(
            "/projects/onramp-partner/regions/us-west1/interconnectAttachments/pi-order-1"
        )
    );
    assert!(
        op["selfLink"]
            .as_str()
            .unwrap()
            .contains("/regions/us-west1/operations/")
    );
    assert!(op["insertTime"].is_string());

    // Not there until the operation is done; the customer sees the request.
    let (status, body) = f.get("us-west1", "pi-order-1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(google_error(&body, status).0, "notFound");
    let customer = f.running.sim.customer_attachment(&key).unwrap();
    assert_eq!(customer.state, "PARTNER_REQUEST_RECEIVED");

    f.advance(Duration::from_millis(250));
    let op_path = format!(
        "{}/operations/{}",
        f.region_path("us-west1"),
        op["name"].as_str().unwrap()
    );
    let (_, running) = f.call(Method::GET, &op_path, None).await;
    assert_eq!(running["status"], "RUNNING");
    let done = f.wait(&op).await;
    assert_eq!(done["status"], "DONE");
    assert_eq!(done["progress"], 100);
    assert!(done["endTime"].is_string());
    assert!(done.get("error").is_none());

    let (status, a) = f.get("us-west1", "pi-order-1").await;
    assert_eq!(status, StatusCode::OK, "{a}");
    assert_eq!(a["kind"], "compute#interconnectAttachment");
    assert_eq!(a["type"], "PARTNER_PROVIDER");
    assert_eq!(a["state"], "PENDING_CUSTOMER");
    assert_eq!(a["operationalStatus"], "OS_UNPROVISIONED");
    assert_eq!(a["pairingKey"], key.as_str());
    assert_eq!(a["vlanTag8021q"], 100);
    assert_eq!(a["bandwidth"], "BPS_1G");
    assert_eq!(a["partnerAsn"], "65010");
    assert_eq!(a["edgeAvailabilityDomain"], "AVAILABILITY_DOMAIN_1");
    assert_eq!(a["partnerMetadata"]["partnerName"], "Onramp");
    assert_eq!(a["cloudRouterIpAddress"], "169.254.1.1/29");
    assert_eq!(a["customerRouterIpAddress"], "169.254.1.2/29");
    assert!(
        a["googleReferenceId"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );
    assert!(a["id"].as_str().unwrap().parse::<u64>().is_ok());
    assert_eq!(done["targetId"], a["id"]);
    assert!(
        a["interconnect"]
            .as_str()
            .unwrap()
            .ends_with("/projects/onramp-partner/global/interconnects/onramp-sjc-zone1")
    );

    let customer = f.running.sim.customer_attachment(&key).unwrap();
    assert_eq!(customer.state, "PENDING_CUSTOMER");
    assert_eq!(customer.partner_attachment.as_deref(), Some("pi-order-1"));
    assert_eq!(customer.vlan_tag8021q, Some(100));
    assert_eq!(
        customer.cloud_router_ip_address.as_deref(),
        Some("169.254.1.1/29")
    );

    let (status, list) = f
        .call(Method::GET, &f.attachments_path("us-west1"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (_, list) = f
        .call(Method::GET, &f.attachments_path("us-east4"), None)
        .await;
    assert!(list["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn the_same_request_id_returns_the_same_operation() {
    let f = start(fast()).await;
    let key = f.pairing_key("us-west1", 1).await;
    let rid = "5b6f3e2a-8c1d-4e0f-9a7b-1c2d3e4f5a6b";
    let body = attachment_body("pi-idem", "onramp-sjc-zone1", &key, 200);
    let (_, first) = f.insert("us-west1", Some(rid), body.clone()).await;
    let (status, again) = f.insert("us-west1", Some(rid), body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["name"], first["name"]);
    assert_eq!(again["clientOperationId"], rid);
    f.wait(&first).await;

    // Even once done, and even with another body: no second attachment.
    let (status, later) = f
        .insert(
            "us-west1",
            Some(&rid.to_uppercase()),
            attachment_body("pi-other", "onramp-sjc-zone1", &key, 201),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(later["name"], first["name"]);
    assert_eq!(later["status"], "DONE");
    let snap = f.running.sim.attachments();
    assert_eq!(snap.partner.len(), 1);
    assert_eq!(f.running.sim.operations().len(), 1);
    assert_eq!(f.stat("compute.interconnectAttachments.insert"), 3);

    // Without a request id the name is taken.
    let (status, body) = f.insert("us-west1", None, body).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        google_error(&body, status),
        ("alreadyExists".to_owned(), "ALREADY_EXISTS".to_owned())
    );

    let (status, body) = f.insert("us-west1", Some("not-a-uuid"), json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&body).contains("requestId"), "{body}");
}

#[tokio::test]
async fn malformed_pairing_keys_are_invalid() {
    let f = start(fast()).await;
    for (key, hint) in [
        ("2dfcdee7-b6f9-41d0-b98f-639151097693", "part"),
        ("2dfcdee7/us-west1/1", "not a UUID"),
        ("2dfcdee7-b6f9-41d0-b98f-639151097693/us-west1/3", "1 or 2"),
        ("2dfcdee7-b6f9-41d0-b98f-639151097693/US West/1", "region"),
    ] {
        let (status, body) = f
            .insert(
                "us-west1",
                None,
                attachment_body("pi-bad", "onramp-sjc-zone1", key, 300),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{key}");
        let (reason, canonical) = google_error(&body, status);
        assert_eq!(
            (reason.as_str(), canonical.as_str()),
            ("invalid", "INVALID_ARGUMENT")
        );
        assert!(message(&body).contains("pairingKey"), "{body}");
        assert!(message(&body).contains(hint), "{key}: {body}");
    }
    // Well formed, but no customer created it.
    let (status, body) = f
        .insert(
            "us-west1",
            None,
            attachment_body(
                "pi-bad",
                "onramp-sjc-zone1",
                "2dfcdee7-b6f9-41d0-b98f-639151097693/us-west1/1",
                300,
            ),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(google_error(&body, status).0, "notFound");
    assert!(f.running.sim.operations().is_empty());
}

#[tokio::test]
async fn regions_and_edge_domains_must_match() {
    let f = start(fast()).await;
    let east = f.pairing_key("us-east4", 1).await;
    let west2 = f.pairing_key("us-west1", 2).await;

    // Key for us-east4 used in us-west1.
    let (status, body) = f
        .insert(
            "us-west1",
            None,
            attachment_body("pi-x", "onramp-sjc-zone1", &east, 10),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&body).contains("region 'us-east4'"), "{body}");

    // A region Compute does not know.
    let (status, body) = f
        .insert(
            "mars-north1",
            None,
            attachment_body("pi-x", "onramp-sjc-zone1", &east, 10),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&body).contains("Unknown region"), "{body}");

    // The interconnect serves another region.
    let (status, body) = f
        .insert(
            "us-east4",
            None,
            attachment_body("pi-x", "onramp-sjc-zone1", &east, 10),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&body).contains("cannot serve region"), "{body}");

    // Domain 2 key on a domain 1 interconnect.
    let (status, body) = f
        .insert(
            "us-west1",
            None,
            attachment_body("pi-x", "onramp-sjc-zone1", &west2, 10),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        message(&body).contains("edge availability domain 2"),
        "{body}"
    );

    // Unknown interconnect.
    let (status, body) = f
        .insert(
            "us-west1",
            None,
            attachment_body("pi-x", "onramp-nowhere", &west2, 10),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(google_error(&body, status).0, "notFound");

    // The right interconnect for that key.
    f.provision("pi-x", "onramp-sjc-zone2", &west2, 10).await;
    let a = f
        .running
        .sim
        .partner_attachment("us-west1", "pi-x")
        .unwrap();
    assert_eq!(a.edge_availability_domain, "AVAILABILITY_DOMAIN_2");
}

#[tokio::test]
async fn vlans_are_unique_per_interconnect_and_keys_pair_once() {
    let f = start(fast()).await;
    let k1 = f.pairing_key("us-west1", 1).await;
    let k2 = f.pairing_key("us-west1", 1).await;
    let k3 = f.pairing_key("us-west1", 2).await;
    let (status, op) = f
        .insert(
            "us-west1",
            None,
            attachment_body("pi-a", "onramp-sjc-zone1", &k1, 500),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // Reserved by the running insert already.
    let (status, body) = f
        .insert(
            "us-west1",
            None,
            attachment_body("pi-b", "onramp-sjc-zone1", &k2, 500),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        google_error(&body, status),
        ("conflict".to_owned(), "ABORTED".to_owned())
    );
    assert!(message(&body).contains("VLAN tag 500"), "{body}");

    // The key is taken by the running insert too.
    let (status, body) = f
        .insert(
            "us-west1",
            None,
            attachment_body("pi-b", "onramp-sjc-zone1", &k1, 501),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(message(&body).contains("already paired"), "{body}");

    f.wait(&op).await;
    let (status, _) = f
        .insert(
            "us-west1",
            None,
            attachment_body("pi-b", "onramp-sjc-zone1", &k2, 500),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "still taken once provisioned");

    // Same VLAN on the other interconnect is fine; addresses differ.
    let b = f.provision("pi-c", "onramp-sjc-zone2", &k3, 500).await;
    assert_eq!(b["cloudRouterIpAddress"], "169.254.2.1/29");
    let b = f.provision("pi-b", "onramp-sjc-zone1", &k2, 501).await;
    assert_eq!(b["cloudRouterIpAddress"], "169.254.3.1/29");
}

#[tokio::test]
async fn insert_bodies_are_validated_like_compute() {
    let f = start(fast()).await;
    let key = f.pairing_key("us-west1", 1).await;
    let base = attachment_body("pi-v", "onramp-sjc-zone1", &key, 42);
    type Change = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Change, &str, &str)> = vec![
        (
            "no metadata",
            Box::new(|b| {
                b.as_object_mut().unwrap().remove("partnerMetadata");
            }),
            "required",
            "partnerMetadata",
        ),
        (
            "no portal url",
            Box::new(|b| b["partnerMetadata"]["portalUrl"] = json!("")),
            "required",
            "partnerMetadata.portalUrl",
        ),
        (
            "vlan 1",
            Box::new(|b| b["vlanTag8021q"] = json!(1)),
            "invalid",
            "vlanTag8021q",
        ),
        (
            "vlan 4095",
            Box::new(|b| b["vlanTag8021q"] = json!(4095)),
            "invalid",
            "vlanTag8021q",
        ),
        (
            "bandwidth",
            Box::new(|b| b["bandwidth"] = json!("BPS_3G")),
            "invalid",
            "bandwidth",
        ),
        (
            "type",
            Box::new(|b| b["type"] = json!("PARTNER")),
            "invalid",
            "type",
        ),
        (
            "name",
            Box::new(|b| b["name"] = json!("Bad_Name")),
            "invalid",
            "name",
        ),
        (
            "unknown field",
            Box::new(|b| b["vlanTag"] = json!(42)),
            "invalid",
            "vlanTag",
        ),
        (
            "interconnect",
            Box::new(|b| b["interconnect"] = json!("onramp-sjc-zone1")),
            "invalid",
            "interconnect",
        ),
        (
            "subnet length",
            Box::new(|b| b["subnetLength"] = json!(28)),
            "invalid",
            "subnetLength",
        ),
    ];
    for (what, change, reason, field) in cases {
        let mut body = base.clone();
        change(&mut body);
        let (status, err) = f.insert("us-west1", None, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {err}");
        assert_eq!(google_error(&err, status).0, reason, "{what}: {err}");
        assert!(message(&err).contains(field), "{what}: {err}");
    }

    // Another project: not ours.
    let (status, err) = f
        .call(
            Method::POST,
            "/compute/v1/projects/someone-else/regions/us-west1/interconnectAttachments",
            Some(base.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        google_error(&err, status),
        ("forbidden".to_owned(), "PERMISSION_DENIED".to_owned())
    );

    // A /30 from the candidates, when asked.
    let mut body = base;
    body["subnetLength"] = json!(30);
    body["candidateSubnets"] = json!(["169.254.180.0/29"]);
    let (status, op) = f.insert("us-west1", None, body).await;
    assert_eq!(status, StatusCode::OK, "{op}");
    f.wait(&op).await;
    let (_, a) = f.get("us-west1", "pi-v").await;
    assert_eq!(a["cloudRouterIpAddress"], "169.254.180.1/30");
    assert_eq!(a["customerRouterIpAddress"], "169.254.180.2/30");
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let f = start(fast()).await;
    let (status, _) = f
        .control(
            Method::POST,
            "/_sim/faults",
            Some(json!({"kind": "rate_limit", "count": 2, "retry_after": 3})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, faults) = f.control(Method::GET, "/_sim/faults", None).await;
    assert_eq!(faults[0]["kind"], "rate_limit");

    let path = f.attachments_path("us-west1");
    for _ in 0..2 {
        let r = f
            .http
            .get(f.url(&path))
            .bearer_auth(&f.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()["retry-after"], "3");
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            google_error(&body, StatusCode::TOO_MANY_REQUESTS),
            (
                "rateLimitExceeded".to_owned(),
                "RESOURCE_EXHAUSTED".to_owned()
            )
        );
        assert_eq!(body["error"]["errors"][0]["domain"], "usageLimits");
    }
    let (status, _) = f.call(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(f.stat("compute.interconnectAttachments.list"), 3);

    f.running.sim.inject_fault(GcpFault::rate_limit(5, 1));
    let (status, _) = f.control(Method::DELETE, "/_sim/faults", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(f.running.sim.faults().is_empty());
    let (status, _) = f.call(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn failed_operations_carry_the_error_and_change_nothing() {
    let f = start(fast()).await;
    let key = f.pairing_key("us-west1", 1).await;
    let (status, _) = f
        .control(
            Method::POST,
            "/_sim/faults",
            Some(json!({
                "kind": "operation_failure",
                "code": "RESOURCE_NOT_READY",
                "message": "The interconnect is under maintenance.",
                "http_status": 400,
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, op) = f
        .insert(
            "us-west1",
            None,
            attachment_body("pi-fail", "onramp-sjc-zone1", &key, 700),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "the insert itself is accepted");
    assert!(op.get("error").is_none());
    let done = f.wait(&op).await;
    assert_eq!(done["status"], "DONE");
    assert_eq!(done["error"]["errors"][0]["code"], "RESOURCE_NOT_READY");
    assert_eq!(
        done["error"]["errors"][0]["message"],
        "The interconnect is under maintenance."
    );
    assert_eq!(done["httpErrorStatusCode"], 400);
    assert_eq!(done["httpErrorMessage"], "BAD REQUEST");

    let (status, _) = f.get("us-west1", "pi-fail").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        f.running.sim.customer_attachment(&key).unwrap().state,
        "PENDING_PARTNER"
    );
    // Everything it reserved is free again; the fault was used up.
    let a = f.provision("pi-fail", "onramp-sjc-zone1", &key, 700).await;
    assert_eq!(a["cloudRouterIpAddress"], "169.254.1.1/29");
}

#[tokio::test]
async fn activation_by_the_customer_makes_both_sides_active() {
    let f = start(fast()).await;
    let key = f.pairing_key("us-west1", 1).await;
    f.provision("pi-act", "onramp-sjc-zone1", &key, 800).await;

    let encoded = key.replace('/', "%2F");
    let (status, c) = f
        .control(
            Method::POST,
            &format!("/_sim/customer-attachments/{encoded}/activate"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{c}");
    assert_eq!(c["state"], "ACTIVE");
    assert_eq!(c["adminEnabled"], true);
    let (_, a) = f.get("us-west1", "pi-act").await;
    assert_eq!(a["state"], "ACTIVE");
    assert_eq!(a["operationalStatus"], "OS_ACTIVE");

    // Pre-activated by the customer: active as soon as it is provisioned.
    let pre = f
        .pairing_key_with(json!({
            "region": "us-west1",
            "edgeAvailabilityDomain": "AVAILABILITY_DOMAIN_2",
            "adminEnabled": true,
            "customerProject": "acme-prod",
            "name": "acme-sjc-2",
        }))
        .await;
    let a = f.provision("pi-pre", "onramp-sjc-zone2", &pre, 800).await;
    assert_eq!(a["state"], "ACTIVE");
    let c = f.running.sim.customer_attachment(&pre).unwrap();
    assert_eq!(
        (c.state.as_str(), c.name.as_str()),
        ("ACTIVE", "acme-sjc-2")
    );

    let (status, _) = f
        .control(
            Method::POST,
            "/_sim/customer-attachments/00000000-0000-4000-8000-000000000000/activate",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn customer_deletion_leaves_the_partner_side_defunct() {
    let f = start(fast()).await;
    let key = f.pairing_key("us-west1", 1).await;
    f.provision("pi-def", "onramp-sjc-zone1", &key, 900).await;
    let uuid = key.split('/').next().unwrap();
    let (status, gone) = f
        .control(
            Method::DELETE,
            &format!("/_sim/customer-attachments/{uuid}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(gone["pairingKey"], key.as_str());
    let (_, a) = f.get("us-west1", "pi-def").await;
    assert_eq!(a["state"], "DEFUNCT");
    assert_eq!(a["operationalStatus"], "OS_UNPROVISIONED");

    // The partner cleans up.
    let (status, op) = f
        .call(
            Method::DELETE,
            &format!("{}/pi-def", f.attachments_path("us-west1")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{op}");
    assert_eq!(op["operationType"], "delete");
    f.wait(&op).await;
    assert!(f.running.sim.attachments().partner.is_empty());
    assert!(f.running.sim.attachments().customer.is_empty());
}

#[tokio::test]
async fn partner_deletion_unpairs_or_defuncts_the_customer_side() {
    let f = start(fast()).await;
    let pending = f.pairing_key("us-west1", 1).await;
    let active = f.pairing_key("us-west1", 2).await;
    f.provision("pi-p", "onramp-sjc-zone1", &pending, 10).await;
    f.provision("pi-a", "onramp-sjc-zone2", &active, 10).await;
    f.running.sim.activate(&active).unwrap();

    let path = f.attachments_path("us-west1");
    let rid = "0f0e0d0c-0b0a-4908-8706-050403020100";
    let (status, op) = f
        .call(
            Method::DELETE,
            &format!("{path}/pi-p?requestId={rid}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // Still there while the operation runs; a second delete is refused...
    assert_eq!(f.get("us-west1", "pi-p").await.0, StatusCode::OK);
    let (status, body) = f.call(Method::DELETE, &format!("{path}/pi-p"), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(google_error(&body, status).0, "resourceNotReady");
    // ... unless it is the same request.
    let (status, again) = f
        .call(
            Method::DELETE,
            &format!("{path}/pi-p?requestId={rid}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["name"], op["name"]);
    f.wait(&op).await;
    assert_eq!(f.get("us-west1", "pi-p").await.0, StatusCode::NOT_FOUND);
    let c = f.running.sim.customer_attachment(&pending).unwrap();
    assert_eq!(c.state, "PENDING_PARTNER");
    assert_eq!(c.partner_attachment, None);

    let (_, op) = f.call(Method::DELETE, &format!("{path}/pi-a"), None).await;
    f.wait(&op).await;
    let c = f.running.sim.customer_attachment(&active).unwrap();
    assert_eq!(c.state, "DEFUNCT");
    // A defunct key can be neither activated nor paired again.
    assert!(f.running.sim.activate(&active).is_err());
    let (status, body) = f
        .insert(
            "us-west1",
            None,
            attachment_body("pi-a2", "onramp-sjc-zone2", &active, 11),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // The unpaired one can.
    f.provision("pi-p2", "onramp-sjc-zone1", &pending, 10).await;

    let (status, body) = f.call(Method::DELETE, &format!("{path}/nope"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(google_error(&body, status).0, "notFound");
}

#[tokio::test]
async fn wait_gives_up_after_wait_max() {
    let f = start(GcpSimConfig {
        op_delay: Duration::from_secs(30),
        wait_max: Duration::from_millis(150),
        ..fast()
    })
    .await;
    let key = f.pairing_key("us-west1", 1).await;
    let (_, op) = f
        .insert(
            "us-west1",
            None,
            attachment_body("pi-slow", "onramp-sjc-zone1", &key, 5),
        )
        .await;
    // The wait holds the request until the operation is done or wait_max
    // has passed on the simulator's clock, whichever comes first.
    let path = format!(
        "{}/operations/{}/wait",
        f.region_path("us-west1"),
        op["name"].as_str().unwrap()
    );
    let waiting = tokio::spawn({
        let (http, url, token) = (f.http.clone(), f.url(&path), f.token.clone());
        async move {
            let r = http.post(url).bearer_auth(token).send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }
    });
    // Wait for the simulator to hold the request: it counted the call.
    let held = Instant::now();
    while !f
        .running
        .sim
        .stats()
        .contains_key("compute.regionOperations.wait")
    {
        assert!(
            held.elapsed() < Duration::from_secs(30),
            "wait never arrived"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    f.advance(Duration::from_millis(149));
    tokio::task::yield_now().await;
    assert!(!waiting.is_finished(), "answered before wait_max");
    f.advance(Duration::from_millis(1));
    let (status, v) = tokio::time::timeout(Duration::from_secs(30), waiting)
        .await
        .expect("wait answered once wait_max passed")
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "PENDING", "a quarter of op_delay is PENDING");

    let (status, body) = f
        .call(
            Method::GET,
            &format!("{}/operations/operation-nope", f.region_path("us-west1")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(google_error(&body, status).0, "notFound");
    // Operations are regional.
    let (status, _) = f
        .call(
            Method::GET,
            &format!(
                "{}/operations/{}",
                f.region_path("us-east4"),
                op["name"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn control_plane_snapshots_and_rust_methods() {
    let f = start(GcpSimConfig {
        interconnects: vec![SimInterconnect::new("ic-fra", "europe-west3", 1)],
        ..fast()
    })
    .await;
    let sim = &f.running.sim;
    assert!(
        sim.create_pairing_key(CreatePairingKey::new("nowhere1", 1))
            .is_err()
    );
    let c = sim
        .create_pairing_key(CreatePairingKey::new("europe-west3", 1))
        .unwrap();
    assert!(c.pairing_key.ends_with("/europe-west3/1"));
    let (status, body) = f
        .control(
            Method::POST,
            "/_sim/pairing-keys",
            Some(json!({"region": "europe-west3", "edgeAvailabilityDomain": 3})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("1 or 2"));

    let (status, snap) = f.control(Method::GET, "/_sim/attachments", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(snap["customer"][0]["state"], "PENDING_PARTNER");
    assert!(snap["partner"].as_array().unwrap().is_empty());

    let mut body = attachment_body("pi-fra", "ic-fra", &c.pairing_key, 7);
    body["interconnect"] = json!(format!(
        "https://www.googleapis.com/compute/v1/projects/{}/global/interconnects/ic-fra",
        f.project
    ));
    let (status, op) = f.insert("europe-west3", None, body).await;
    assert_eq!(status, StatusCode::OK, "{op}");
    let (_, ops) = f.control(Method::GET, "/_sim/operations", None).await;
    assert_eq!(ops[0]["operationType"], "insert");
    assert_eq!(ops[0]["target"], "pi-fra");
    f.wait(&op).await;
    let gone = sim.customer_delete(&c.pairing_key).unwrap();
    assert_eq!(gone.state, "PENDING_CUSTOMER");
    assert_eq!(
        sim.partner_attachment("europe-west3", "pi-fra")
            .unwrap()
            .state,
        "DEFUNCT"
    );
    let (_, stats) = f.control(Method::GET, "/_sim/stats", None).await;
    assert_eq!(stats["compute.interconnectAttachments.insert"], 1);
    assert_eq!(stats["compute.regionOperations.wait"], 1);
    assert_eq!(sim.config().project, "onramp-partner");
}
