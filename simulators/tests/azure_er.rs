//! The Azure ExpressRoute simulator over real HTTP, as a partner client sees it.

use std::time::Duration;

use onramp_simulators::azure_er::{AzureErSim, AzureSimConfig, RunningAzureSim};
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

fn fast() -> AzureSimConfig {
    AzureSimConfig {
        lro_delay: Duration::from_millis(150),
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

    /// Polls an Azure-AsyncOperation URL until it leaves InProgress.
    async fn wait_lro(&self, r: &reqwest::Response) -> Value {
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
    tokio::time::sleep(Duration::from_millis(400)).await;
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
