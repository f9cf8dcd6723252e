//! The Azure ExpressRoute simulator over real HTTP, as a partner client sees it.

use std::time::Duration;

use onramp_simulators::azure_er::{AzureErSim, AzureSimConfig, Clock, RunningAzureSim};
use reqwest::StatusCode;
use serde_json::{Value, json};

const API: &str = "2024-05-01";

struct Fixture {
    running: RunningAzureSim,
    http: reqwest::Client,
    cfg: AzureSimConfig,
    token: String,
}

async fn start(cfg: AzureSimConfig) -> Fixture {
    let running = AzureErSim::new(cfg.clone())
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let mut f = Fixture {
        running,
        http,
        cfg,
        token: String::new(),
    };
    let (status, body) = f
        .token_with(&f.cfg.client_id.clone(), &f.cfg.client_secret.clone())
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    f.token = body["access_token"].as_str().unwrap().to_owned();
    f
}

fn with_query(url: &str, params: &[(&str, &str)]) -> String {
    reqwest::Url::parse_with_params(url, params)
        .unwrap()
        .to_string()
}

/// Time stands still until a test moves it: what a test sees between two
/// of its calls never depends on how busy the machine is.
fn fast() -> AzureSimConfig {
    AzureSimConfig {
        lro_delay: Duration::from_millis(150),
        clock: Clock::manual(),
        ..AzureSimConfig::default()
    }
}

impl Fixture {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.endpoint_url())
    }

    async fn token_with(&self, id: &str, secret: &str) -> (StatusCode, Value) {
        let body = format!(
            "grant_type=client_credentials&client_id={id}&client_secret={secret}&scope=https%3A%2F%2Fmanagement.azure.com%2F.default"
        );
        let r = self
            .http
            .post(self.url(&format!("/{}/oauth2/v2.0/token", self.cfg.tenant_id)))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap())
    }

    async fn create_circuit(&self, location: &str) -> Value {
        let r = self
            .http
            .post(self.url("/_sim/circuits"))
            .json(&json!({"peeringLocation": location, "bandwidthInMbps": 1000}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json().await.unwrap()
    }

    fn xc_path(&self, circuit: &Value) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Network/expressRouteCrossConnections/{}",
            self.cfg.subscription_id,
            circuit["resourceGroup"].as_str().unwrap(),
            circuit["serviceKey"].as_str().unwrap()
        )
    }

    /// An ARM call with the fixture token and api-version.
    async fn arm(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            self.url(path)
        };
        let url = if path.contains("api-version=") {
            url
        } else {
            with_query(&url, &[("api-version", API)])
        };
        let mut req = self.http.request(method, url).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }

    async fn get_json(&self, path: &str) -> (StatusCode, Value) {
        let r = self.arm(reqwest::Method::GET, path, None).await;
        let s = r.status();
        (s, r.json().await.unwrap())
    }

    fn advance(&self, by: Duration) {
        self.running.sim.clock().advance(by).unwrap();
    }

    /// Lets an operation's worth of time pass (`lro_delay`), then polls its
    /// Azure-AsyncOperation URL until it leaves InProgress.
    async fn wait_lro(&self, r: &reqwest::Response) -> Value {
        self.advance(self.cfg.lro_delay);
        let op = r.headers()["azure-asyncoperation"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(r.headers().contains_key("retry-after"));
        for _ in 0..100 {
            let (s, body) = self.get_json(&op).await;
            assert_eq!(s, StatusCode::OK, "{body}");
            if body["status"] != "InProgress" {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("operation never finished");
    }

    async fn set_state(&self, circuit: &Value, state: &str) -> reqwest::Response {
        self.arm(
            reqwest::Method::PUT,
            &self.xc_path(circuit),
            Some(json!({"properties": {"serviceProviderProvisioningState": state, "serviceProviderNotes": format!("set {state}")}})),
        )
        .await
    }

    async fn provision(&self, circuit: &Value) {
        let r = self.set_state(circuit, "Provisioned").await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        assert_eq!(self.wait_lro(&r).await["status"], "Succeeded");
    }
}

fn peering(vlan: u64, primary: &str) -> Value {
    json!({"properties": {
        "peeringType": "AzurePrivatePeering",
        "peerASN": 65010,
        "primaryPeerAddressPrefix": primary,
        "secondaryPeerAddressPrefix": "192.168.10.4/30",
        "vlanId": vlan,
        "sharedKey": "s3cret",
    }})
}

#[tokio::test]
async fn token_flow_good_bad_and_expired() {
    let cfg = AzureSimConfig {
        token_ttl: Duration::from_millis(300),
        ..fast()
    };
    let f = start(cfg).await;
    let (s, body) = f.token_with(&f.cfg.client_id, &f.cfg.client_secret).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["access_token"].as_str().unwrap().len() > 20);
    assert!(body["expires_in"].is_u64());

    let (s, body) = f.token_with(&f.cfg.client_id, "wrong").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS")
    );
    let (s, _) = f.token_with("someone-else", &f.cfg.client_secret).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    let list = format!(
        "/subscriptions/{}/providers/Microsoft.Network/expressRouteCrossConnections",
        f.cfg.subscription_id
    );
    // No token at all.
    let r = f
        .http
        .get(with_query(&f.url(&list), &[("api-version", API)]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "AuthenticationFailed");
    // Valid token works, then expires.
    let (s, _) = f.get_json(&list).await;
    assert_eq!(s, StatusCode::OK);
    f.advance(Duration::from_millis(299));
    let (s, _) = f.get_json(&list).await;
    assert_eq!(s, StatusCode::OK, "still valid 1 ms before it expires");
    f.advance(Duration::from_millis(1));
    let (s, body) = f.get_json(&list).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"]["code"]
            .as_str()
            .unwrap()
            .contains("Authentication")
    );
}

#[tokio::test]
async fn api_version_is_required_and_checked() {
    let f = start(fast()).await;
    let list = format!(
        "/subscriptions/{}/providers/Microsoft.Network/expressRouteCrossConnections",
        f.cfg.subscription_id
    );
    let r = f
        .http
        .get(f.url(&list))
        .bearer_auth(&f.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "MissingApiVersionParameter");
    let (s, body) = f.get_json(&format!("{list}?api-version=2019-01-01")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "InvalidApiVersionParameter");
}

#[tokio::test]
async fn lookup_by_service_key() {
    let f = start(fast()).await;
    let c = f.create_circuit("Silicon Valley").await;
    let key = c["serviceKey"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(key).is_ok());
    assert_eq!(c["resourceGroup"], "CrossConnection-SiliconValley");
    let list = format!(
        "/subscriptions/{}/providers/Microsoft.Network/expressRouteCrossConnections",
        f.cfg.subscription_id
    );
    let r = f
        .http
        .get(with_query(
            &f.url(&list),
            &[
                ("api-version", API),
                ("$filter", &format!("name eq '{key}'")),
            ],
        ))
        .bearer_auth(&f.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    let value = body["value"].as_array().unwrap();
    assert_eq!(value.len(), 1);
    let xc = &value[0];
    assert_eq!(xc["name"], key);
    assert_eq!(
        xc["properties"]["serviceProviderProvisioningState"],
        "NotProvisioned"
    );
    assert_eq!(xc["properties"]["peeringLocation"], "Silicon Valley");
    assert_eq!(xc["properties"]["bandwidthInMbps"], 1000);
    assert!(xc["properties"]["sTag"].is_u64());
    assert!(xc["properties"]["primaryAzurePort"].is_string());
    assert!(xc["properties"]["secondaryAzurePort"].is_string());
    assert!(
        xc["id"]
            .as_str()
            .unwrap()
            .contains("/resourceGroups/CrossConnection-SiliconValley/")
    );

    let unknown = uuid::Uuid::new_v4().to_string();
    let r = f
        .http
        .get(with_query(
            &f.url(&list),
            &[
                ("api-version", API),
                ("$filter", &format!("name eq '{unknown}'")),
            ],
        ))
        .bearer_auth(&f.token)
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["value"].as_array().unwrap().len(), 0);

    // Direct GET of an unknown resource.
    let mut other = c.clone();
    other["serviceKey"] = json!(unknown);
    let (s, body) = f.get_json(&f.xc_path(&other)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "ResourceNotFound");

    // The control plane sees it too.
    let all: Value = f
        .http
        .get(f.url("/_sim/cross-connections"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn provision_is_a_long_running_operation() {
    let f = start(fast()).await;
    let c = f.create_circuit("Washington DC").await;
    let r = f.set_state(&c, "Provisioned").await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let op = r.headers()["azure-asyncoperation"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(op.contains("/azureAsyncOperations/"));
    assert!(op.contains("api-version="));
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    // Right away: still in progress, not yet applied.
    let (_, status) = f.get_json(&op).await;
    assert_eq!(status["status"], "InProgress");
    let (_, xc) = f.get_json(&f.xc_path(&c)).await;
    assert_eq!(
        xc["properties"]["serviceProviderProvisioningState"],
        "NotProvisioned"
    );
    assert_eq!(xc["properties"]["provisioningState"], "Updating");
    // A second PUT while busy conflicts.
    let r2 = f.set_state(&c, "Provisioned").await;
    assert_eq!(r2.status(), StatusCode::CONFLICT);

    assert_eq!(f.wait_lro(&r).await["status"], "Succeeded");
    let (_, xc) = f.get_json(&f.xc_path(&c)).await;
    assert_eq!(
        xc["properties"]["serviceProviderProvisioningState"],
        "Provisioned"
    );
    assert_eq!(xc["properties"]["provisioningState"], "Succeeded");
    assert_eq!(xc["properties"]["serviceProviderNotes"], "set Provisioned");

    // Invalid transition and invalid value.
    let r = f.set_state(&c, "Bogus").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let stats = f.running.sim.stats();
    assert!(stats["ExpressRouteCrossConnections_CreateOrUpdate"] >= 3);
    assert!(stats["AzureAsyncOperations_Get"] >= 1);
}

#[tokio::test]
async fn invalid_transition_is_refused() {
    let f = start(fast()).await;
    let c = f.create_circuit("Silicon Valley").await;
    let r = f.set_state(&c, "Deprovisioning").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["error"]["code"],
        "InvalidServiceProviderProvisioningStateTransition"
    );
}

#[tokio::test]
async fn private_peering_needs_provisioned_then_works() {
    let f = start(fast()).await;
    let c = f.create_circuit("Silicon Valley").await;
    let pp = format!("{}/peerings/AzurePrivatePeering", f.xc_path(&c));

    let r = f
        .arm(
            reqwest::Method::PUT,
            &pp,
            Some(peering(100, "192.168.10.0/30")),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "CrossConnectionNotProvisioned");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Provisioned")
    );

    f.provision(&c).await;
    let r = f
        .arm(
            reqwest::Method::PUT,
            &pp,
            Some(peering(100, "192.168.10.0/30")),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(f.wait_lro(&r).await["status"], "Succeeded");
    let (s, p) = f.get_json(&pp).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(p["properties"]["azureASN"], 12076);
    assert_eq!(p["properties"]["peerASN"], 65010);
    assert_eq!(p["properties"]["vlanId"], 100);
    assert_eq!(p["properties"]["state"], "Enabled");
    assert_eq!(p["properties"]["provisioningState"], "Succeeded");
    assert_eq!(
        p["properties"]["primaryPeerAddressPrefix"],
        "192.168.10.0/30"
    );

    // The peering blocks going straight back to NotProvisioned.
    let r = f.set_state(&c, "NotProvisioned").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Delete, then deprovision back to NotProvisioned.
    let r = f.arm(reqwest::Method::DELETE, &pp, None).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(f.wait_lro(&r).await["status"], "Succeeded");
    let (s, _) = f.get_json(&pp).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let r = f.arm(reqwest::Method::DELETE, &pp, None).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    let r = f.set_state(&c, "Deprovisioning").await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(f.wait_lro(&r).await["status"], "Succeeded");
    let r = f.set_state(&c, "NotProvisioned").await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(f.wait_lro(&r).await["status"], "Succeeded");
    let key = c["serviceKey"].as_str().unwrap();
    let xc = f.running.sim.cross_connection(key).unwrap();
    assert_eq!(xc.service_provider_provisioning_state, "NotProvisioned");
    assert!(xc.private_peering.is_none());
}

#[tokio::test]
async fn invalid_peering_properties_are_named() {
    let f = start(fast()).await;
    let c = f.create_circuit("Silicon Valley").await;
    f.provision(&c).await;
    let pp = format!("{}/peerings/AzurePrivatePeering", f.xc_path(&c));
    for (body, prop) in [
        (peering(0, "192.168.10.0/30"), "vlanId"),
        (peering(4095, "192.168.10.0/30"), "vlanId"),
        (peering(100, "192.168.10.0/29"), "primaryPeerAddressPrefix"),
        (peering(100, "192.168.10.1/30"), "primaryPeerAddressPrefix"),
        (peering(100, "not-an-ip/30"), "primaryPeerAddressPrefix"),
    ] {
        let r = f.arm(reqwest::Method::PUT, &pp, Some(body)).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let e: Value = r.json().await.unwrap();
        assert!(
            e["error"]["message"].as_str().unwrap().contains(prop),
            "{e}"
        );
        assert_eq!(e["error"]["target"], format!("properties.{prop}"));
    }
    let mut bad_asn = peering(100, "192.168.10.0/30");
    bad_asn["properties"]["peerASN"] = json!(4_294_967_296u64);
    let r = f.arm(reqwest::Method::PUT, &pp, Some(bad_asn)).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["target"], "properties.peerASN");
}

#[tokio::test]
async fn throttle_storm_returns_429_with_retry_after() {
    let f = start(fast()).await;
    let c = f.create_circuit("Silicon Valley").await;
    let r = f
        .http
        .post(f.url("/_sim/faults"))
        .json(&json!({"kind": "throttle", "count": 3, "retry_after": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    for _ in 0..3 {
        let r = f.arm(reqwest::Method::GET, &f.xc_path(&c), None).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()["retry-after"], "7");
        let body: Value = r.json().await.unwrap();
        assert!(body["error"]["code"].is_string());
    }
    let (s, _) = f.get_json(&f.xc_path(&c)).await;
    assert_eq!(s, StatusCode::OK);
    let stats: Value = f
        .http
        .get(f.url("/_sim/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["ExpressRouteCrossConnections_Get"], 4);
}

#[tokio::test]
async fn lro_failure_is_reported_and_not_applied() {
    let f = start(fast()).await;
    let c = f.create_circuit("Silicon Valley").await;
    let r = f
        .http
        .post(f.url("/_sim/faults"))
        .json(&json!({"kind": "lro_failure", "count": 1, "message": "backend exploded"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = f.set_state(&c, "Provisioned").await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let status = f.wait_lro(&r).await;
    assert_eq!(status["status"], "Failed");
    assert_eq!(status["error"]["message"], "backend exploded");
    assert!(status["error"]["code"].is_string());
    let (_, xc) = f.get_json(&f.xc_path(&c)).await;
    assert_eq!(
        xc["properties"]["serviceProviderProvisioningState"],
        "NotProvisioned"
    );
    assert_eq!(xc["properties"]["provisioningState"], "Failed");
    // The fault is spent: a retry succeeds.
    f.provision(&c).await;
}

// ----- BGP sessions per leg (routeTablesSummary) and the control plane -----

impl Fixture {
    fn summary_path(&self, circuit: &Value, device_path: &str) -> String {
        format!(
            "{}/peerings/AzurePrivatePeering/routeTablesSummary/{device_path}",
            self.xc_path(circuit)
        )
    }

    async fn summary(&self, circuit: &Value, device_path: &str) -> (StatusCode, Value) {
        let r = self
            .arm(
                reqwest::Method::POST,
                &self.summary_path(circuit, device_path),
                None,
            )
            .await;
        let s = r.status();
        (s, r.json().await.unwrap())
    }

    /// The one row of a leg's summary (asserting a 200).
    async fn leg(&self, circuit: &Value, device_path: &str) -> Value {
        let (s, body) = self.summary(circuit, device_path).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let rows = body["value"].as_array().unwrap();
        assert_eq!(rows.len(), 1, "{body}");
        rows[0].clone()
    }

    async fn control(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let r = self
            .http
            .request(method, self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        let s = r.status();
        (s, r.json().await.unwrap())
    }

    async fn set_leg(&self, circuit: &Value, leg: &str, up: bool) -> (StatusCode, Value) {
        let key = circuit["serviceKey"].as_str().unwrap();
        self.control(
            reqwest::Method::POST,
            &format!("/_sim/cross-connections/{key}/legs/{leg}"),
            json!({ "up": up }),
        )
        .await
    }

    async fn add_peering(&self, circuit: &Value) {
        let pp = format!("{}/peerings/AzurePrivatePeering", self.xc_path(circuit));
        let r = self
            .arm(
                reqwest::Method::PUT,
                &pp,
                Some(peering(100, "192.168.10.0/30")),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        assert_eq!(self.wait_lro(&r).await["status"], "Succeeded");
    }
}

fn established(row: &Value) -> bool {
    row["stateOrPrefixesReceived"]
        .as_str()
        .unwrap()
        .parse::<u32>()
        .is_ok()
}

#[tokio::test]
async fn route_tables_summary_needs_a_peering_and_a_valid_device_path() {
    let f = start(fast()).await;
    let c = f.create_circuit("Silicon Valley").await;
    let (s, body) = f.summary(&c, "primary").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "NotFound");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("peerings/AzurePrivatePeering")
    );

    f.provision(&c).await;
    f.add_peering(&c).await;
    let (s, body) = f.summary(&c, "tertiary").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["target"], "devicePath");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("tertiary")
    );

    // Unknown cross-connection: the parent's 404.
    let mut other = c.clone();
    other["serviceKey"] = json!(uuid::Uuid::new_v4().to_string());
    let (s, body) = f.summary(&other, "primary").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "ResourceNotFound");
    assert_eq!(
        f.running.sim.stats()["ExpressRouteCrossConnections_ListRoutesTableSummary"],
        3
    );
}

#[tokio::test]
async fn both_legs_come_up_and_one_can_be_forced_down() {
    let f = start(fast()).await;
    let c = f.create_circuit("Silicon Valley").await;
    f.provision(&c).await;
    f.add_peering(&c).await;

    let primary = f.leg(&c, "primary").await;
    let secondary = f.leg(&c, "secondary").await;
    // Microsoft takes the second usable address of each /30.
    assert_eq!(primary["neighbor"], "192.168.10.2");
    assert_eq!(secondary["neighbor"], "192.168.10.6");
    assert_eq!(primary["asn"], 12076);
    assert!(established(&primary), "{primary}");
    assert!(established(&secondary), "{secondary}");
    let up_down = primary["upDown"].as_str().unwrap();
    assert_eq!(up_down.len(), 8, "{up_down}");
    assert!(up_down.starts_with("00:00:"), "{up_down}");

    // One leg down: the other stays up (degraded, not down).
    let (s, xc) = f.set_leg(&c, "primary", false).await;
    assert_eq!(s, StatusCode::OK, "{xc}");
    assert_eq!(xc["primaryBgp"]["forcedDown"], true);
    assert_eq!(xc["primaryBgp"]["established"], false);
    let primary = f.leg(&c, "primary").await;
    assert_eq!(primary["stateOrPrefixesReceived"], "Active");
    assert!(established(&f.leg(&c, "secondary").await));

    // Back up.
    let (s, _) = f.set_leg(&c, "PRIMARY", true).await;
    assert_eq!(s, StatusCode::OK);
    assert!(established(&f.leg(&c, "primary").await));
    let key = c["serviceKey"].as_str().unwrap();
    let snap = f.running.sim.cross_connection(key).unwrap();
    assert!(snap.primary_bgp.established && snap.secondary_bgp.established);

    // The Rust method does the same.
    use onramp_simulators::azure_er::SimLeg;
    let snap = f
        .running
        .sim
        .set_leg_up(key, SimLeg::Secondary, false)
        .unwrap();
    assert!(!snap.secondary_bgp.established);
    assert!(!established(&f.leg(&c, "secondary").await));

    // Control-plane errors are plain JSON with a message.
    let (s, body) = f.set_leg(&c, "tertiary", false).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("tertiary"));
    let mut other = c.clone();
    other["serviceKey"] = json!(uuid::Uuid::new_v4().to_string());
    let (s, body) = f.set_leg(&other, "primary", false).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(body["message"].is_string());
    let (s, body) = f
        .control(
            reqwest::Method::POST,
            &format!("/_sim/cross-connections/{key}/legs/primary"),
            json!({"up": "maybe"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body["message"].is_string());
}

#[tokio::test]
async fn sessions_drop_while_the_peering_is_not_ready_or_disabled() {
    let f = start(AzureSimConfig {
        lro_delay: Duration::from_millis(300),
        ..fast()
    })
    .await;
    let c = f.create_circuit("Silicon Valley").await;
    f.provision(&c).await;
    let pp = format!("{}/peerings/AzurePrivatePeering", f.xc_path(&c));
    let r = f
        .arm(
            reqwest::Method::PUT,
            &pp,
            Some(peering(100, "192.168.10.0/30")),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    // Still Updating: the session is not up and never was.
    let row = f.leg(&c, "primary").await;
    assert_eq!(row["stateOrPrefixesReceived"], "Idle");
    assert_eq!(row["upDown"], "never");
    assert_eq!(f.wait_lro(&r).await["status"], "Succeeded");
    assert!(established(&f.leg(&c, "primary").await));

    // Disabled by the provider.
    let mut disabled = peering(100, "192.168.10.0/30");
    disabled["properties"]["state"] = json!("Disabled");
    let r = f.arm(reqwest::Method::PUT, &pp, Some(disabled)).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(f.wait_lro(&r).await["status"], "Succeeded");
    let row = f.leg(&c, "secondary").await;
    assert_eq!(row["stateOrPrefixesReceived"], "Idle (Admin)");
    assert_ne!(row["upDown"], "never");
}

#[tokio::test]
async fn route_tables_summary_is_throttled_like_any_arm_call() {
    let f = start(fast()).await;
    let c = f.create_circuit("Silicon Valley").await;
    f.provision(&c).await;
    f.add_peering(&c).await;
    let (s, _) = f
        .control(
            reqwest::Method::POST,
            "/_sim/faults",
            json!({"kind": "throttle", "count": 2, "retry_after": 3}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    for _ in 0..2 {
        let r = f
            .arm(reqwest::Method::POST, &f.summary_path(&c, "primary"), None)
            .await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()["retry-after"], "3");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "TooManyRequests");
    }
    assert!(established(&f.leg(&c, "primary").await));
    assert_eq!(
        f.running.sim.stats()["ExpressRouteCrossConnections_ListRoutesTableSummary"],
        3
    );
}

#[tokio::test]
async fn route_tables_summary_can_answer_as_a_long_running_operation() {
    let f = start(fast()).await;
    let c = f.create_circuit("Silicon Valley").await;
    f.provision(&c).await;
    f.add_peering(&c).await;
    let (s, _) = f
        .control(
            reqwest::Method::POST,
            "/_sim/faults",
            json!({"kind": "async_route_summary"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let r = f
        .arm(
            reqwest::Method::POST,
            &f.summary_path(&c, "secondary"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.contains("/operationResults/"), "{location}");
    // Not ready yet: 202 again.
    let early = f.arm(reqwest::Method::GET, &location, None).await;
    assert_eq!(early.status(), StatusCode::ACCEPTED);
    assert!(early.headers().contains_key("location"));
    // A read-only operation does not block writes on the cross-connection.
    let write = f.set_state(&c, "Provisioned").await;
    assert_eq!(write.status(), StatusCode::ACCEPTED);
    assert_eq!(f.wait_lro(&r).await["status"], "Succeeded");
    let (s, body) = f.get_json(&location).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["value"][0]["neighbor"], "192.168.10.6");
    assert_eq!(f.wait_lro(&write).await["status"], "Succeeded");
    // The fault is spent: the next one is synchronous.
    assert!(f.running.sim.faults().is_empty());
    assert!(established(&f.leg(&c, "secondary").await));
    assert_eq!(f.running.sim.stats()["OperationResults_Get"], 2);
}

#[tokio::test]
async fn customer_configures_the_private_peering_from_the_circuit() {
    let f = start(fast()).await;
    let c = f.create_circuit("Washington DC").await;
    let key = c["serviceKey"].as_str().unwrap().to_owned();
    let path = format!("/_sim/cross-connections/{key}/private-peering");
    let body = json!({
        "peerASN": 65020,
        "primaryPeerAddressPrefix": "10.9.0.0/30",
        "secondaryPeerAddressPrefix": "10.9.0.4/30",
        "vlanId": 200,
    });
    // Needs Provisioned first.
    let (s, e) = f.control(reqwest::Method::PUT, &path, body.clone()).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(
        e["message"].as_str().unwrap().contains("NotProvisioned"),
        "{e}"
    );

    f.provision(&c).await;
    let (s, xc) = f.control(reqwest::Method::PUT, &path, body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{xc}");
    assert_eq!(xc["privatePeering"]["provisioningState"], "Succeeded");
    // Applied at once, visible over ARM as the customer's.
    let pp = format!("{}/peerings/AzurePrivatePeering", f.xc_path(&c));
    let (s, p) = f.get_json(&pp).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(p["properties"]["peerASN"], 65020);
    assert_eq!(p["properties"]["vlanId"], 200);
    assert_eq!(p["properties"]["lastModifiedBy"], "Customer");
    assert_eq!(p["properties"]["provisioningState"], "Succeeded");
    assert!(established(&f.leg(&c, "primary").await));
    assert_eq!(f.leg(&c, "primary").await["neighbor"], "10.9.0.2");

    // Again (ARM shape this time, with a key): an update, 200.
    let (s, xc) = f
        .control(
            reqwest::Method::PUT,
            &path,
            json!({"properties": {
                "peerASN": 65020,
                "primaryPeerAddressPrefix": "10.9.0.0/30",
                "secondaryPeerAddressPrefix": "10.9.0.4/30",
                "vlanId": 201,
                "sharedKey": "k3y",
            }}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{xc}");
    assert_eq!(xc["privatePeering"]["vlanId"], 201);

    // Invalid values are named; unknown keys are 404.
    let mut bad = body.clone();
    bad["vlanId"] = json!(0);
    let (s, e) = f.control(reqwest::Method::PUT, &path, bad).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(e["message"].as_str().unwrap().contains("vlanId"), "{e}");
    let (s, e) = f
        .control(reqwest::Method::PUT, &path, json!({"peerASN": 1}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(e["message"].is_string());
    let (s, _) = f
        .control(
            reqwest::Method::PUT,
            &format!(
                "/_sim/cross-connections/{}/private-peering",
                uuid::Uuid::new_v4()
            ),
            body.clone(),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Busy while an ARM operation runs on the cross-connection.
    let r = f.arm(reqwest::Method::DELETE, &pp, None).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let (s, e) = f.control(reqwest::Method::PUT, &path, body.clone()).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(
        e["message"].as_str().unwrap().contains("in progress"),
        "{e}"
    );
    f.wait_lro(&r).await;

    // The Rust method.
    let xc = f
        .running
        .sim
        .customer_private_peering(
            &key,
            onramp_simulators::azure_er::CustomerPeering {
                peer_asn: 65021,
                primary_peer_address_prefix: "10.9.1.0/30".into(),
                secondary_peer_address_prefix: "10.9.1.4/30".into(),
                vlan_id: 300,
                shared_key: None,
            },
        )
        .unwrap();
    assert_eq!(xc.private_peering.unwrap().last_modified_by, "Customer");
}

#[tokio::test]
async fn revoked_tokens_get_401() {
    let f = start(fast()).await;
    let list = format!(
        "/subscriptions/{}/providers/Microsoft.Network/expressRouteCrossConnections",
        f.cfg.subscription_id
    );
    assert_eq!(f.get_json(&list).await.0, StatusCode::OK);
    let r = f.http.delete(f.url("/_sim/tokens")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (s, body) = f.get_json(&list).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "AuthenticationFailed");
}
