//! Bad input through the real API, one refusal at a time: each is a
//! problem+json with a stable code naming the field at fault, and changes
//! nothing (the connector stays where it was, nothing is ordered, created
//! or pushed to a PE).
//!
//! - a hosted connection's VIF report with a peer address no router can
//!   use (0.0.0.0/8, multicast, a /30's network or broadcast address), a
//!   reserved ASN, or an MD5 key with a NUL, an emoji or markup;
//! - an order of every kind that takes an ASN, with 65535;
//! - a route-target pool whose administrator is AS_TRANS;
//! - a webhook URL with a NUL that `Url::parse` would drop;
//! - a body that names a member twice (I-JSON);
//! - a body over 2 MiB, with and without an Idempotency-Key;
//! - and the OpenAPI document names both refusals for every body.

mod support;

use std::time::Duration;

use anyhow::{Context, Result};
use onramp_simulators::gcp_pi::CreatePairingKey;
use onramp_store::entity::pe_router;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use support::{CUSTOMER_ACCOUNT, Db, Stack};

const T: Duration = Duration::from_secs(60);
const PROBLEM: &str = "application/problem+json";

/// An answer: status, content type, body.
struct Reply {
    status: u16,
    content_type: String,
    body: Value,
}

impl Reply {
    /// Asserts the answer is a `status` problem whose error on `field` has
    /// `code`; `what` says which request it was.
    fn refused(&self, what: &str, status: u16, field: &str, code: &str) {
        assert_eq!(
            (self.status, self.content_type.as_str()),
            (status, PROBLEM),
            "{what}: {:#}",
            self.body
        );
        let errors = self.body["errors"].as_array().cloned().unwrap_or_default();
        let hit = errors.iter().find(|e| e["field"] == field);
        assert_eq!(
            hit.map(|e| e["code"].clone()),
            Some(json!(code)),
            "{what}: no `{code}` on `{field}`: {:#}",
            self.body
        );
    }
}

async fn send(
    stack: &Stack,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: Vec<u8>,
    headers: &[(&str, &str)],
) -> Result<Reply> {
    let mut req = stack
        .http
        .request(method, stack.url(path))
        .bearer_auth(key)
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let r = req.send().await?;
    let status = r.status().as_u16();
    let content_type = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = r.text().await?;
    Ok(Reply {
        status,
        content_type,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    })
}

/// POSTs `body` in 64 KiB chunks (`Transfer-Encoding: chunked`, so the
/// server cannot know its size up front) over a raw HTTP/1.1 connection;
/// the status line and headers, and the body, of the answer. The body is
/// written while the answer is read: the server may answer, and stop
/// reading, before it has all of it.
async fn chunked_post(stack: &Stack, path: &str, body: &[u8]) -> Result<(u16, String, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = stack.base.trim_start_matches("http://").to_string();
    let stream = tokio::net::TcpStream::connect(&addr).await?;
    let (mut rd, mut wr) = stream.into_split();
    let mut out = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        stack.key
    )
    .into_bytes();
    for chunk in body.chunks(64 << 10) {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    // Its failure (the server closed after answering) is no concern here.
    // The write half stays open until the answer is read: hyper drops a
    // connection whose client half-closed it.
    let writer = tokio::spawn(async move {
        let written = wr.write_all(&out).await;
        (wr, written)
    });
    let mut answer = Vec::new();
    let read = rd.read_to_end(&mut answer).await;
    writer.abort();
    if answer.is_empty() {
        read?;
    }
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .with_context(|| format!("no answer head: {text:?}"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("status line")?;
    Ok((status, head.to_string(), rest.to_string()))
}

async fn post(stack: &Stack, key: &str, path: &str, body: &Value) -> Result<Reply> {
    send(
        stack,
        key,
        reqwest::Method::POST,
        path,
        body.to_string().into_bytes(),
        &[],
    )
    .await
}

async fn connector_ids(stack: &Stack) -> Result<Vec<Value>> {
    let (status, list) = stack.get_json("/v1/connectors").await?;
    assert_eq!(status, 200, "{list:#}");
    Ok(list["items"]
        .as_array()
        .context("items")?
        .iter()
        .map(|c| c["id"].clone())
        .collect())
}

/// What a VIF report could change: the connector's state and details, its
/// timeline, and what pe1 runs.
async fn vif_snapshot(stack: &Stack, id: &str) -> Result<(Value, Value, usize, String)> {
    let (_, c) = stack.get_json(&format!("/v1/connectors/{id}")).await?;
    let (_, events) = stack
        .get_json(&format!("/v1/connectors/{id}/events"))
        .await?;
    let n = events["items"].as_array().map_or(0, Vec::len);
    Ok((
        c["state"].clone(),
        c["hosted_connection"].clone(),
        n,
        stack.running("pe1").await?,
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vif_report_with_unusable_addresses_asns_or_keys_changes_nothing() -> Result<()> {
    let stack = Stack::start(Db::Sqlite).await?;
    let (status, c) = stack
        .post_json(
            "/v1/connectors",
            &json!({"kind": "aws-hosted-connection", "aws_account_id": CUSTOMER_ACCOUNT,
                    "location": "EqDC2", "bandwidth": "500Mbps"}),
        )
        .await?;
    assert_eq!(status, 202, "{c:#}");
    let id = c["id"].as_str().context("id")?.to_string();
    let c = stack
        .wait_state(&id, "waiting_customer_confirmation", T)
        .await?;
    let conn = c["hosted_connection"]["connection_id"]
        .as_str()
        .context("connection id")?
        .to_string();
    stack
        .customer_aws()
        .confirm_connection()
        .connection_id(&conn)
        .send()
        .await?;
    stack.wait_state(&id, "waiting_vif_details", T).await?;
    let before = vif_snapshot(&stack, &id).await?;

    let good = json!({"customer_address": "169.254.20.2/30", "amazon_address": "169.254.20.1/30",
                      "asn": 65030, "auth_key": "hosted-conn-key-01"});
    let cases = [
        (
            "customer 0.0.0.0",
            json!({"customer_address": "0.0.0.0/30", "amazon_address": "0.0.0.1/30"}),
            "customer_address",
            "reserved_address",
        ),
        (
            "amazon 0.0.0.1",
            json!({"amazon_address": "0.0.0.1/30"}),
            "amazon_address",
            "reserved_address",
        ),
        (
            "multicast 224.0.0.1",
            json!({"customer_address": "224.0.0.2/30", "amazon_address": "224.0.0.1/30"}),
            "amazon_address",
            "reserved_address",
        ),
        (
            "the /30's network address",
            json!({"amazon_address": "169.254.20.0/30"}),
            "amazon_address",
            "network_address",
        ),
        (
            "the /30's broadcast address",
            json!({"customer_address": "169.254.20.3/30"}),
            "customer_address",
            "broadcast_address",
        ),
        ("ASN 65535", json!({"asn": 65535}), "asn", "reserved_asn"),
        (
            "key with NUL",
            json!({"auth_key": "hosted\u{0}key-01"}),
            "auth_key",
            "invalid_character",
        ),
        (
            "key with emoji",
            json!({"auth_key": "hosted-key-\u{1F600}"}),
            "auth_key",
            "invalid_character",
        ),
        (
            "key with markup",
            json!({"auth_key": "<b>hosted-key</b>"}),
            "auth_key",
            "invalid_character",
        ),
    ];
    for (what, change, field, code) in cases {
        // A case may change both addresses, to stay in one subnet.
        let mut report = good.clone();
        for (k, v) in change.as_object().context("change")? {
            report[k] = v.clone();
        }
        let r = send(
            &stack,
            &stack.key,
            reqwest::Method::PUT,
            &format!("/v1/connectors/{id}/vif"),
            report.to_string().into_bytes(),
            &[],
        )
        .await?;
        r.refused(what, 422, field, code);
        assert!(
            !r.body.to_string().contains("hosted-key"),
            "{what}: the key is repeated: {:#}",
            r.body
        );
    }
    assert_eq!(
        vif_snapshot(&stack, &id).await?,
        before,
        "a refused report changes nothing"
    );
    // The same connector takes the good report: the refusals were the
    // values', not the connector's.
    let (status, c) = stack
        .put_json(&format!("/v1/connectors/{id}/vif"), &good)
        .await?;
    assert_eq!(status, 202, "{c:#}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn reserved_asns_bad_urls_duplicate_members_and_large_bodies_are_refused() -> Result<()> {
    let stack = Stack::start(Db::Sqlite).await?;
    let pe1 = pe_router::Entity::find()
        .filter(pe_router::Column::Name.eq("pe1"))
        .one(&stack.db)
        .await?
        .context("pe1 seeded")?;
    onramp_store::seed::seed_ticket_providers(
        &stack.db,
        &onramp_store::seed::demo_ticket_providers(0, "ge-0/0/4"),
        &[pe1.id],
    )
    .await?;
    let admin = onramp_store::auth::generate_key();
    onramp_store::seed::seed_admin_key(&stack.db, &admin).await?;
    let pairing_key = stack
        .gcp
        .sim
        .create_pairing_key(CreatePairingKey::new("us-west1", 1))
        .expect("the simulator creates the customer's attachment")
        .pairing_key;
    let allocations = stack.allocations().await?;
    let connectors = connector_ids(&stack).await?;

    // 65535 as the customer's ASN, for every kind that takes one.
    let orders = [
        (
            json!({"kind": "aws-hosted-vif", "aws_account_id": CUSTOMER_ACCOUNT,
                   "location": "EqDC2", "bandwidth": "1Gbps", "customer_asn": 65535}),
            "customer_asn",
        ),
        (
            json!({"kind": "azure-expressroute",
                   "service_key": "0d9c4b4e-6f2a-4b1e-9a8f-3c2d1e0f9a8b", "peer_asn": 65535}),
            "peer_asn",
        ),
        (
            json!({"kind": "gcp-partner-interconnect", "pairing_key": pairing_key,
                   "bandwidth": "BPS_1G", "peer_asn": 65535}),
            "peer_asn",
        ),
        (
            json!({"kind": "ticket-csp", "provider": "oracle-fastconnect",
                   "location": "OCI-ASH", "bandwidth": "1Gbps",
                   "customer_asn": 65535}),
            "customer_asn",
        ),
    ];
    for (order, field) in orders {
        let r = post(&stack, &stack.key, "/v1/connectors", &order).await?;
        r.refused(&order["kind"].to_string(), 422, field, "reserved_asn");
        assert_eq!(
            r.body["errors"].as_array().map(Vec::len),
            Some(1),
            "{:#}",
            r.body
        );
    }

    // AS_TRANS as a route-target administrator.
    let pools = || {
        send(
            &stack,
            &admin,
            reqwest::Method::GET,
            "/v1/admin/pools/route-target",
            Vec::new(),
            &[],
        )
    };
    let before = pools().await?;
    assert_eq!(before.status, 200, "{:#}", before.body);
    let r = post(
        &stack,
        &admin,
        "/v1/admin/pools/route-target",
        &json!({"name": "trans", "admin_asn": 23456, "first": 1, "last": 100}),
    )
    .await?;
    r.refused("admin_asn 23456", 422, "admin_asn", "reserved_asn");
    assert_eq!(pools().await?.body, before.body, "no pool created");

    // A NUL in a webhook URL: refused, not dropped.
    let r = post(
        &stack,
        &stack.key,
        "/v1/webhooks",
        &json!({"url": "https://example.com/\u{0}hook"}),
    )
    .await?;
    r.refused("webhook url with NUL", 422, "url", "invalid_character");
    let (status, hooks) = stack.get_json("/v1/webhooks").await?;
    assert_eq!(status, 200);
    assert_eq!(hooks["items"], json!([]), "no webhook created");

    // A member named twice, at the top and deeper down.
    for (body, path, field) in [
        (
            r#"{"kind":"x","kind":"aws-hosted-vif","aws_account_id":"123456789012","location":"EqDC2","bandwidth":"1Gbps"}"#,
            "/v1/connectors",
            "kind",
        ),
        (
            r#"{"kind":"aws-hosted-vif","aws_account_id":"123456789012","location":"EqDC2","bandwidth":"1Gbps","vlan":{"a":1,"a":2}}"#,
            "/v1/connectors",
            "vlan.a",
        ),
        (
            r#"{"url":"https://example.com/hook","description":"a","description":"b"}"#,
            "/v1/webhooks",
            "description",
        ),
    ] {
        let r = send(
            &stack,
            &stack.key,
            reqwest::Method::POST,
            path,
            body.as_bytes().to_vec(),
            &[],
        )
        .await?;
        r.refused(body, 400, field, "duplicate_member");
        assert_eq!(r.body["code"], "duplicate_member", "{:#}", r.body);
    }
    let (_, hooks) = stack.get_json("/v1/webhooks").await?;
    assert_eq!(hooks["items"], json!([]), "no webhook created");

    // 3 MiB: a problem like any other, whether or not a retry key is sent.
    let big = format!(
        r#"{{"kind":"aws-hosted-vif","aws_account_id":"123456789012","location":"EqDC2","bandwidth":"1Gbps","pad":"{}"}}"#,
        "x".repeat(3 << 20)
    );
    for headers in [&[][..], &[("Idempotency-Key", "big-body-1")][..]] {
        let r = send(
            &stack,
            &stack.key,
            reqwest::Method::POST,
            "/v1/connectors",
            big.clone().into_bytes(),
            headers,
        )
        .await?;
        assert_eq!(
            (r.status, r.content_type.as_str()),
            (413, PROBLEM),
            "{headers:?}: {:#}",
            r.body
        );
        assert_eq!(r.body["code"], "payload_too_large", "{headers:?}");
    }

    // The same without a Content-Length: refused once 2 MiB have been read.
    let (status, head, body) = chunked_post(&stack, "/v1/connectors", big.as_bytes()).await?;
    assert_eq!(status, 413, "{head}\n{body}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{head}"
    );
    assert!(body.contains("payload_too_large"), "{body}");

    // The document says so for every operation that takes a body.
    let (_, doc) = stack.get_json("/openapi.json").await?;
    let mut with_body = 0;
    for (path, item) in doc["paths"].as_object().context("paths")? {
        for (method, op) in item.as_object().context("path item")? {
            if op.get("requestBody").is_none() {
                continue;
            }
            with_body += 1;
            let r = &op["responses"];
            assert!(
                r["413"]["content"].get(PROBLEM).is_some(),
                "{method} {path}: 413 {:#}",
                r["413"]
            );
            assert!(
                r["400"]["description"]
                    .as_str()
                    .is_some_and(|d| d.contains("duplicate_member")),
                "{method} {path}: 400 {:#}",
                r["400"]
            );
        }
    }
    assert!(with_body > 10, "{with_body} operations take a body");

    assert_eq!(connector_ids(&stack).await?, connectors, "nothing ordered");
    assert_eq!(stack.allocations().await?, allocations, "nothing allocated");
    Ok(())
}
