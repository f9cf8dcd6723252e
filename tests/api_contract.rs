//! The HTTP contract without workers: bad input is refused with RFC 9457
//! problem+json naming the field, and refused orders leave no trace (no
//! connector, no allocation, no job). Also the OpenAPI document, the offline
//! Swagger UI and the health endpoints. Runs on SQLite and PostgreSQL.

mod support;

use anyhow::Result;
use serde_json::{Value, json};
use support::inproc::start;

fn good() -> Value {
    json!({"kind": "aws-hosted-vif", "aws_account_id": "123456789012", "location": "EqDC2", "bandwidth": "1Gbps"})
}

fn with(field: &str, v: Value) -> Value {
    let mut b = good();
    b[field] = v;
    b
}

/// Asserts a problem+json of `status` whose `errors` name `field`.
fn assert_problem(resp: &(u16, String, Value), status: u16, field: Option<&str>, ctx: &str) {
    let (s, ct, body) = resp;
    assert_eq!(*s, status, "{ctx}: {body:#}");
    assert_eq!(ct, "application/problem+json", "{ctx}");
    assert_eq!(body["status"], status, "{ctx}");
    for k in ["type", "title", "detail", "code"] {
        assert!(
            body[k].as_str().is_some_and(|v| !v.is_empty()),
            "{ctx}: missing {k} in {body:#}"
        );
    }
    if let Some(f) = field {
        let fields: Vec<&str> = body["errors"]
            .as_array()
            .map(|a| a.iter().filter_map(|e| e["field"].as_str()).collect())
            .unwrap_or_default();
        assert!(
            fields.contains(&f),
            "{ctx}: expected field {f}, got {body:#}"
        );
    }
}

async fn contract(postgres: bool) -> Result<()> {
    let api = start(postgres).await?;

    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "short account id",
            with("aws_account_id", json!("12345")),
            422,
            "aws_account_id",
        ),
        (
            "letters in account id",
            with("aws_account_id", json!("12345678901a")),
            422,
            "aws_account_id",
        ),
        (
            "numeric account id",
            with("aws_account_id", json!(123456789012u64)),
            422,
            "aws_account_id",
        ),
        (
            "unknown location",
            with("location", json!("Mars1")),
            422,
            "location",
        ),
        ("vlan 0", with("vlan", json!(0)), 422, "vlan"),
        ("vlan 4095", with("vlan", json!(4095)), 422, "vlan"),
        ("vlan 70000", with("vlan", json!(70000)), 422, "vlan"),
        (
            "vlan outside the port's range",
            with("vlan", json!(50)),
            422,
            "vlan",
        ),
        ("vlan as text", with("vlan", json!("ten")), 422, "vlan"),
        ("asn 0", with("customer_asn", json!(0)), 422, "customer_asn"),
        (
            "asn 4294967295",
            with("customer_asn", json!(4_294_967_295u64)),
            422,
            "customer_asn",
        ),
        (
            "asn negative",
            with("customer_asn", json!(-5)),
            422,
            "customer_asn",
        ),
        (
            "asn AS_TRANS",
            with("customer_asn", json!(23456)),
            422,
            "customer_asn",
        ),
        (
            "asn equal to Amazon's side",
            with("customer_asn", json!(64512)),
            422,
            "customer_asn",
        ),
        (
            "bandwidth not hosted",
            with("bandwidth", json!("3Gbps")),
            422,
            "bandwidth",
        ),
        (
            "bandwidth above the interconnect",
            with("bandwidth", json!("10Gbps")),
            422,
            "bandwidth",
        ),
        (
            "unknown kind",
            with("kind", json!("aws-dedicated")),
            422,
            "kind",
        ),
        (
            "kind missing",
            {
                let mut b = good();
                b.as_object_mut().unwrap().remove("kind");
                b
            },
            422,
            "kind",
        ),
        (
            "bandwidth missing",
            {
                let mut b = good();
                b.as_object_mut().unwrap().remove("bandwidth");
                b
            },
            422,
            "bandwidth",
        ),
        (
            "unknown field",
            with("colour", json!("blue")),
            422,
            "colour",
        ),
    ];
    for (name, body, status, field) in cases {
        let resp = api.order(body).await?;
        assert_problem(&resp, status, Some(field), name);
    }
    // Several faults at once are all reported.
    let mut b = with("aws_account_id", json!("1"));
    b["location"] = json!("Nowhere");
    let resp = api.order(b).await?;
    assert_problem(&resp, 422, Some("aws_account_id"), "two faults");
    assert_problem(&resp, 422, Some("location"), "two faults");

    let resp = api
        .post_raw("{\"kind\": \"aws-hosted-vif\",", "application/json")
        .await?;
    assert_problem(&resp, 400, None, "malformed JSON");
    assert_eq!(resp.2["code"], "malformed_json");
    let resp = api.post_raw("[1,2]", "application/json").await?;
    assert_problem(&resp, 422, None, "array body");
    let resp = api.post_raw(&good().to_string(), "text/plain").await?;
    assert_problem(&resp, 415, None, "text/plain");

    assert_eq!(
        api.traces().await?,
        (0, 0, 0),
        "refused orders leave nothing behind"
    );

    // A plan shows resources, router XML and CSP calls, and changes nothing.
    let r = api
        .http
        .post(format!("{}/v1/connectors?dry_run=true", api.base))
        .bearer_auth(&api.key)
        .json(&with("customer_asn", json!(65010)))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 200);
    let plan: Value = r.json().await?;
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["peering"]["vlan"], 100);
    assert_eq!(plan["peering"]["subnet"], "169.254.0.0/31");
    assert_eq!(plan["router_changes"][0]["pe"], "pe1");
    let xml = plan["router_changes"][0]["config_xml"].as_str().unwrap();
    assert!(
        xml.contains("<vlan-id>100</vlan-id>") && xml.contains("<peer-as>64512</peer-as>"),
        "{xml}"
    );
    assert!(
        xml.contains("<local-as>65010</local-as>") && xml.contains("********"),
        "{xml}"
    );
    assert_eq!(
        plan["csp_calls"][0]["operation"],
        "AllocatePrivateVirtualInterface"
    );
    assert_eq!(
        plan["csp_calls"][0]["request"]["newPrivateVirtualInterfaceAllocation"]["vlan"],
        100
    );
    assert_eq!(
        api.traces().await?,
        (0, 0, 0),
        "a plan leaves nothing behind"
    );
    // A plan of a bad order is refused like the order.
    let r = api
        .http
        .post(format!("{}/v1/connectors?dry_run=true", api.base))
        .bearer_auth(&api.key)
        .json(&with("vlan", json!(9000)))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 422);
    // A query string that does not parse is a problem naming the parameter,
    // and changes nothing.
    let r = api
        .http
        .post(format!("{}/v1/connectors?dry_run=maybe", api.base))
        .bearer_auth(&api.key)
        .json(&good())
        .send()
        .await?;
    let resp = (
        r.status().as_u16(),
        r.headers()["content-type"].to_str()?.to_string(),
        r.json::<Value>().await?,
    );
    assert_problem(&resp, 400, Some("dry_run"), "dry_run=maybe");
    assert_eq!(api.traces().await?, (0, 0, 0), "a bad query leaves nothing");

    // Authentication.
    let r = api
        .http
        .get(format!("{}/v1/connectors", api.base))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 401);
    let r = api
        .http
        .get(format!("{}/v1/connectors", api.base))
        .bearer_auth("onr_not_a_real_key")
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(r.headers()["content-type"], "application/problem+json");

    // A good order, then the same VLAN again: 409 naming the field, and the
    // second order leaves nothing behind.
    let resp = api.order(with("vlan", json!(200))).await?;
    assert_eq!(resp.0, 202, "{:#}", resp.2);
    assert_eq!(resp.2["state"], "configuring_pe");
    assert_eq!(resp.2["waiting_on"], "router");
    assert_eq!(resp.2["peering"]["vlan"], 200);
    assert_eq!(resp.2["peering"]["subnet"], "169.254.0.0/31");
    let before = api.traces().await?;
    assert_eq!(
        before,
        (1, 3, 1),
        "one connector, VLAN + /31 + ASN, one job"
    );
    let resp = api.order(with("vlan", json!(200))).await?;
    assert_problem(&resp, 409, Some("vlan"), "VLAN in use");
    assert_eq!(api.traces().await?, before);

    // Unknown connector and route.
    let r = api
        .http
        .get(format!(
            "{}/v1/connectors/00000000-0000-4000-8000-000000000000",
            api.base
        ))
        .bearer_auth(&api.key)
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 404);
    // An id that is not a UUID names no connector: the same 404 problem,
    // on every route that takes one.
    for (method, path) in [
        ("GET", "/v1/connectors/null,null"),
        ("GET", "/v1/connectors/42/events"),
        ("DELETE", "/v1/connectors/not-an-id"),
        ("PUT", "/v1/connectors/null/vif"),
    ] {
        let r = api
            .http
            .request(method.parse()?, format!("{}{path}", api.base))
            .bearer_auth(&api.key)
            .json(&json!({}))
            .send()
            .await?;
        let resp = (
            r.status().as_u16(),
            r.headers()["content-type"].to_str()?.to_string(),
            r.json::<Value>().await?,
        );
        assert_problem(&resp, 404, None, &format!("{method} {path}"));
    }
    let r = api
        .http
        .get(format!("{}/v2/nothing", api.base))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_and_leaves_nothing_sqlite() -> Result<()> {
    contract(false).await
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_and_leaves_nothing_postgres() -> Result<()> {
    contract(true).await
}

#[tokio::test(flavor = "multi_thread")]
async fn openapi_swagger_and_health() -> Result<()> {
    let api = start(false).await?;
    let doc: Value = api
        .http
        .get(format!("{}/openapi.json", api.base))
        .send()
        .await?
        .json()
        .await?;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    for path in [
        "/v1/connectors",
        "/v1/connectors/{id}",
        "/v1/connectors/{id}/events",
        "/v1/locations",
        "/healthz",
        "/readyz",
    ] {
        assert!(doc["paths"][path].is_object(), "missing {path}");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    let post = &doc["paths"]["/v1/connectors"]["post"]["responses"];
    for code in ["202", "400", "401", "409", "415", "422"] {
        assert!(
            post[code].is_object(),
            "POST /v1/connectors documents {code}"
        );
    }

    let r = api.http.get(format!("{}/docs/", api.base)).send().await?;
    assert_eq!(r.status().as_u16(), 200);
    let html = r.text().await?;
    assert!(html.contains("swagger"), "Swagger UI page");
    // Served from the binary, not a CDN.
    assert!(!html.contains("https://"), "no remote assets: {html}");
    let r = api
        .http
        .get(format!("{}/docs/swagger-ui-bundle.js", api.base))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 200);

    let r = api.http.get(format!("{}/healthz", api.base)).send().await?;
    assert_eq!(r.status().as_u16(), 200);
    let r = api.http.get(format!("{}/readyz", api.base)).send().await?;
    assert_eq!(r.status().as_u16(), 200);
    Ok(())
}
