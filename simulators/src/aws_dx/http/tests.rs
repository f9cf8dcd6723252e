//! Wire-level checks through the router (no socket): headers, status codes,
//! error envelopes, the control plane.

use axum::body::{Body, to_bytes};
use axum::http::Request;
use tower::ServiceExt;

use super::*;
use crate::aws_dx::SimConfig;

const PARTNER_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIAONRAMPPARTNER/20250101/us-east-1/directconnect/aws4_request, SignedHeaders=host, Signature=0";

fn auth_for(key: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential={key}/20250101/us-east-1/directconnect/aws4_request, SignedHeaders=host, Signature=0"
    )
}

fn aws(op: &str, auth: Option<&str>, body: Value) -> Request<Body> {
    let mut b = Request::post("/")
        .header("content-type", AMZ_JSON)
        .header("x-amz-target", format!("{TARGET_PREFIX}{op}"));
    if let Some(auth) = auth {
        b = b.header("authorization", auth);
    }
    b.body(Body::from(body.to_string())).unwrap()
}

async fn send(sim: &AwsDxSim, req: Request<Body>) -> (StatusCode, HeaderMap, Value) {
    let resp = sim.router().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, headers, body)
}

fn sim() -> AwsDxSim {
    AwsDxSim::new(SimConfig {
        available_after: std::time::Duration::ZERO,
        bgp_up_after: std::time::Duration::ZERO,
        deleted_after: std::time::Duration::ZERO,
        ..SimConfig::default()
    })
}

fn alloc(vlan: u16) -> Value {
    json!({
        "connectionId": "dxcon-onramp01",
        "ownerAccount": "444455556666",
        "newPrivateVirtualInterfaceAllocation": {
            "virtualInterfaceName": "svc", "vlan": vlan, "asn": 65001
        }
    })
}

#[tokio::test]
async fn success_carries_json_content_type_and_request_id() {
    let sim = sim();
    let (status, headers, body) = send(
        &sim,
        aws("DescribeLocations", Some(PARTNER_AUTH), json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], AMZ_JSON);
    assert!(!headers["x-amzn-requestid"].is_empty());
    assert!(headers.get("x-amzn-errortype").is_none());
    assert_eq!(body["locations"][0]["locationCode"], "EqDC2");
}

#[tokio::test]
async fn client_errors_use_the_aws_envelope() {
    let sim = sim();
    let mut body = alloc(10);
    body["ownerAccount"] = json!("111122223333");
    let (status, headers, body) = send(
        &sim,
        aws("AllocatePrivateVirtualInterface", Some(PARTNER_AUTH), body),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(headers["x-amzn-errortype"], "DirectConnectClientException");
    assert!(!headers["x-amzn-requestid"].is_empty());
    assert_eq!(
        body,
        json!({
            "__type": "DirectConnectClientException",
            "message": "Cannot allocate VirtualInterface for the connection owner."
        })
    );
}

#[tokio::test]
async fn identity_comes_from_the_access_key() {
    let sim = sim();
    let (status, _, body) = send(&sim, aws("DescribeLocations", None, json!({}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["__type"], "MissingAuthenticationTokenException");

    let bad = auth_for("AKIAUNKNOWN");
    let (status, headers, body) = send(&sim, aws("DescribeLocations", Some(&bad), json!({}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(headers["x-amzn-errortype"], "UnrecognizedClientException");
    assert_eq!(body["__type"], "UnrecognizedClientException");

    // A 12-digit key is a customer: it owns no interconnect.
    let customer = auth_for("444455556666");
    let (status, _, body) =
        send(&sim, aws("DescribeConnections", Some(&customer), json!({}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"connections": []}));
}

#[tokio::test]
async fn unknown_targets_are_refused() {
    let sim = sim();
    let req = Request::post("/")
        .header("x-amz-target", "SomethingElse.DescribeLocations")
        .header("authorization", PARTNER_AUTH)
        .body(Body::from("{}"))
        .unwrap();
    let (status, _, body) = send(&sim, req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["__type"], "UnknownOperationException");
}

#[tokio::test]
async fn faults_stats_and_bgp_control() {
    let sim = sim();
    let fault = Request::post("/_sim/faults")
        .body(Body::from(
            json!({"operation": "AllocatePrivateVirtualInterface", "message": "Capacity exhausted", "count": 1, "status": 500})
                .to_string(),
        ))
        .unwrap();
    let (status, _, armed) = send(&sim, fault).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(armed[0]["count"], 1);

    let (status, headers, body) = send(
        &sim,
        aws(
            "AllocatePrivateVirtualInterface",
            Some(PARTNER_AUTH),
            alloc(10),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(headers["x-amzn-errortype"], "DirectConnectServerException");
    assert_eq!(body["message"], "Capacity exhausted");

    let (status, _, vif) = send(
        &sim,
        aws(
            "AllocatePrivateVirtualInterface",
            Some(PARTNER_AUTH),
            alloc(10),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let id = vif["virtualInterfaceId"].as_str().unwrap().to_owned();

    let (_, _, stats) = send(
        &sim,
        Request::get("/_sim/stats").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(stats, json!({"AllocatePrivateVirtualInterface": 2}));

    // BGP control needs an active VIF.
    let bgp = |status: &str| {
        Request::post(format!("/_sim/virtual-interfaces/{id}/bgp"))
            .body(Body::from(json!({ "status": status }).to_string()))
            .unwrap()
    };
    let (status, _, _) = send(&sim, bgp("down")).await;
    assert_eq!(status, StatusCode::CONFLICT);

    let customer = auth_for("444455556666");
    let confirm = json!({"virtualInterfaceId": id, "directConnectGatewayId": "5f294f92-bafb-4011-916d-9b0b03f6e2a1"});
    let (status, _, body) = send(
        &sim,
        aws("ConfirmPrivateVirtualInterface", Some(&customer), confirm),
    )
    .await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"virtualInterfaceState": "pending"}))
    );

    let (status, _, body) = send(&sim, bgp("down")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (body["state"].as_str(), body["bgp_status"].as_str()),
        (Some("down"), Some("down"))
    );
    let (status, _, _) = send(&sim, bgp("sideways")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (_, _, list) = send(
        &sim,
        Request::get("/_sim/virtual-interfaces")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["virtual_interface_id"], id.as_str());
    let listed: Vec<crate::aws_dx::SimVif> = serde_json::from_value(list).unwrap();
    assert_eq!(listed[0].state, "down");

    let (status, _, _) = send(
        &sim,
        Request::get("/_sim/virtual-interfaces/dxvif-nothere0")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn hosted_connection_calls_fail_on_demand_and_are_counted() {
    let sim = sim();
    let customer = auth_for("444455556666");
    sim.inject_fault(Fault {
        error_type: Some("ThrottlingException".to_owned()),
        ..Fault::client("AllocateHostedConnection", "Rate exceeded", 1)
    });
    sim.inject_fault(Fault::server("ConfirmConnection", "Internal error", 1));
    let allocate = json!({
        "connectionId": "dxcon-onramp01", "ownerAccount": "444455556666",
        "bandwidth": "200Mbps", "connectionName": "hc-1", "vlan": 42
    });

    let (status, headers, body) = send(
        &sim,
        aws(
            "AllocateHostedConnection",
            Some(PARTNER_AUTH),
            allocate.clone(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(headers["x-amzn-errortype"], "ThrottlingException");
    assert_eq!(body["message"], "Rate exceeded");
    assert!(sim.hosted_connections().is_empty());

    let (status, _, conn) = send(
        &sim,
        aws("AllocateHostedConnection", Some(PARTNER_AUTH), allocate),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(conn["connectionState"], "ordering");
    let id = conn["connectionId"].as_str().unwrap().to_owned();

    let confirm = json!({ "connectionId": id });
    let (status, headers, _) = send(
        &sim,
        aws("ConfirmConnection", Some(&customer), confirm.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(headers["x-amzn-errortype"], "DirectConnectServerException");
    let (status, _, body) = send(&sim, aws("ConfirmConnection", Some(&customer), confirm)).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"connectionState": "pending"}))
    );

    let (_, _, mine) = send(&sim, aws("DescribeConnections", Some(&customer), json!({}))).await;
    assert_eq!(mine["connections"][0]["connectionState"], "available");
    let (status, _, body) = send(
        &sim,
        aws(
            "DeleteConnection",
            Some(PARTNER_AUTH),
            json!({"connectionId": "dxcon-unknown0"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["message"],
        "Could not find Connection with ID dxcon-unknown0"
    );

    let (_, _, stats) = send(
        &sim,
        Request::get("/_sim/stats").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(
        stats,
        json!({
            "AllocateHostedConnection": 2,
            "ConfirmConnection": 2,
            "DeleteConnection": 1,
            "DescribeConnections": 1
        })
    );

    // Control plane.
    let (status, _, list) = send(
        &sim,
        Request::get("/_sim/connections")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let listed: Vec<crate::aws_dx::SimConnection> = serde_json::from_value(list).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].connection_id.as_str(), listed[0].state.as_str()),
        (id.as_str(), "available")
    );
    assert_eq!(listed[0].interconnect_id, "dxcon-onramp01");
    let (status, _, one) = send(
        &sim,
        Request::get(format!("/_sim/connections/{id}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["vlan"], 42);
    let (status, _, _) = send(
        &sim,
        Request::get("/_sim/connections/dxcon-nothere0")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
