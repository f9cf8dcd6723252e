//! The API's conventions, in process without workers, on SQLite and
//! PostgreSQL:
//! - lists page with `limit`/`cursor` (every item exactly once, newest
//!   first) and filter connectors by state, kind and who they wait on; bad
//!   filters, limits and cursors are problems naming the parameter;
//! - ops keys read every tenant's connectors but change none of them, and
//!   customers read only their own;
//! - reads carry ETags; `If-None-Match` answers 304; an update with a stale
//!   `If-Match` is 412 and changes nothing, with the current one it runs;
//! - the OpenAPI document says all of it: the bearer scheme, the headers,
//!   412/401/500 problems, and the paging parameters of every list.

mod support;

use std::collections::BTreeSet;

use anyhow::Result;
use serde_json::{Value, json};
use support::inproc::{Api, start};

fn order(vlan: u16) -> Value {
    json!({"kind": "aws-hosted-vif", "aws_account_id": "123456789012",
           "location": "EqDC2", "bandwidth": "1Gbps", "vlan": vlan})
}

/// Every id of a paged list, following `next_cursor`; and the pages' sizes.
async fn walk(api: &Api, key: &str, path: &str) -> Result<(Vec<String>, Vec<usize>)> {
    let mut ids = Vec::new();
    let mut sizes = Vec::new();
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut url = path.to_string();
    for _ in 0..100 {
        let r = api.call("GET", &url, key, None, &[]).await?;
        assert_eq!(r.status, 200, "{url}: {:#}", r.body);
        let items = r.body["items"].as_array().expect("items");
        sizes.push(items.len());
        ids.extend(items.iter().map(|i| i["id"].to_string()));
        match r.body["next_cursor"].as_str() {
            Some(c) => url = format!("{path}{sep}cursor={c}"),
            None => return Ok((ids, sizes)),
        }
    }
    anyhow::bail!("{path} never ended")
}

async fn ops_key(api: &Api) -> Result<String> {
    let t = onramp_store::seed::create_tenant(&api.db, "Operator NOC").await?;
    let key = onramp_store::auth::generate_key();
    onramp_store::auth::add_key(&api.db, t.id, "noc", &key, onramp_store::auth::ROLE_OPS).await?;
    Ok(key)
}

async fn customer_key(api: &Api, name: &str) -> Result<String> {
    let t = onramp_store::seed::create_tenant(&api.db, name).await?;
    let key = onramp_store::auth::generate_key();
    onramp_store::auth::add_key(&api.db, t.id, "ci", &key, onramp_store::auth::ROLE_CUSTOMER)
        .await?;
    Ok(key)
}

async fn conventions(postgres: bool) -> Result<()> {
    let api = start(postgres).await?;
    let acme = api.key.clone();
    let mut created = Vec::new();
    for vlan in 200..205 {
        let (status, _, body) = api.order(order(vlan)).await?;
        assert_eq!(status, 202, "{body:#}");
        created.push(body["id"].to_string());
    }

    // Paging: every connector exactly once, newest first, in pages of 2.
    let (ids, sizes) = walk(&api, &acme, "/v1/connectors?limit=2").await?;
    assert_eq!(sizes, [2, 2, 1]);
    let newest_first: Vec<String> = created.iter().rev().cloned().collect();
    assert_eq!(ids, newest_first);
    // A page that ends exactly at the end has no next cursor.
    let r = api
        .call("GET", "/v1/connectors?limit=5", &acme, None, &[])
        .await?;
    assert!(r.body.get("next_cursor").is_none(), "{:#}", r.body);

    // Filters combine with paging.
    let (ids, _) = walk(
        &api,
        &acme,
        "/v1/connectors?state=configuring_pe,active&limit=3",
    )
    .await?;
    assert_eq!(ids.len(), 5);
    let (ids, _) = walk(&api, &acme, "/v1/connectors?state=active").await?;
    assert!(ids.is_empty());
    let (ids, _) = walk(
        &api,
        &acme,
        "/v1/connectors?kind=aws-hosted-vif&waiting_on=router",
    )
    .await?;
    assert_eq!(ids.len(), 5);
    let (ids, _) = walk(&api, &acme, "/v1/connectors?kind=azure-expressroute").await?;
    assert!(ids.is_empty());

    // Bad paging and filters: problems naming each parameter, together.
    let r = api
        .call(
            "GET",
            "/v1/connectors?kind=ibm&limit=0&cursor=nope&state=Active!&waiting_on=me",
            &acme,
            None,
            &[],
        )
        .await?;
    assert_eq!(r.status, 422, "{:#}", r.body);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/problem+json")
    );
    let fields: BTreeSet<String> = r.error_fields().into_iter().collect();
    let want: BTreeSet<String> = ["kind", "limit", "cursor", "state", "waiting_on"]
        .map(String::from)
        .into();
    assert_eq!(fields, want, "{:#}", r.body);
    let r = api
        .call("GET", "/v1/connectors?limit=lots", &acme, None, &[])
        .await?;
    assert_eq!(
        (r.status, r.error_fields()),
        (400, vec!["limit".to_string()])
    );
    // A cursor of another list is refused, not misread.
    let keys_page = api
        .call("GET", "/v1/connectors?limit=1", &acme, None, &[])
        .await?;
    let cursor = keys_page.body["next_cursor"].as_str().unwrap().to_string();
    let id = created[0].trim_matches('"');
    let r = api
        .call(
            "GET",
            &format!("/v1/connectors/{id}/events?cursor={cursor}"),
            &acme,
            None,
            &[],
        )
        .await?;
    assert_eq!(
        (r.status, r.error_fields()),
        (422, vec!["cursor".to_string()])
    );
    // The timeline pages too.
    let (events, sizes) = walk(&api, &acme, &format!("/v1/connectors/{id}/events?limit=1")).await?;
    assert!(
        !events.is_empty() && sizes.iter().all(|s| *s <= 1),
        "{sizes:?}"
    );

    // Scope: another customer sees none of Acme's; ops reads all but
    // changes nothing of another tenant's.
    let globex = customer_key(&api, "Globex").await?;
    let (ids, _) = walk(&api, &globex, "/v1/connectors").await?;
    assert!(ids.is_empty());
    let r = api
        .call("GET", &format!("/v1/connectors/{id}"), &globex, None, &[])
        .await?;
    assert_eq!(r.status, 404);
    let ops = ops_key(&api).await?;
    let (ids, _) = walk(&api, &ops, "/v1/connectors?limit=4").await?;
    assert_eq!(ids.len(), 5);
    let acme_id = onramp_store::auth::list_tenants(&api.db)
        .await?
        .into_iter()
        .find(|t| t.name == "Acme")
        .unwrap()
        .id;
    let (ids, _) = walk(&api, &ops, &format!("/v1/connectors?tenant={acme_id}")).await?;
    assert_eq!(ids.len(), 5);
    let r = api
        .call("GET", &format!("/v1/connectors/{id}"), &ops, None, &[])
        .await?;
    assert_eq!(r.status, 200);
    let r = api
        .call(
            "GET",
            &format!("/v1/connectors/{id}/events"),
            &ops,
            None,
            &[],
        )
        .await?;
    assert_eq!(r.status, 200);
    let r = api
        .call("DELETE", &format!("/v1/connectors/{id}"), &ops, None, &[])
        .await?;
    assert_eq!(
        r.status, 403,
        "ops may read, not delete, another tenant's connector"
    );
    assert_eq!(r.body["code"], "forbidden");
    let r = api
        .call(
            "PUT",
            &format!("/v1/connectors/{id}/vif"),
            &ops,
            Some(json!({})),
            &[],
        )
        .await?;
    assert_eq!(r.status, 403, "{:#}", r.body);
    // A customer's `tenant` filter cannot widen its scope.
    let (ids, _) = walk(&api, &globex, &format!("/v1/connectors?tenant={acme_id}")).await?;
    assert!(ids.is_empty());

    // ETags and conditional updates, on an admin PATCH.
    let admin = onramp_store::auth::generate_key();
    onramp_store::seed::seed_admin_key(&api.db, &admin).await?;
    let pes = api.call("GET", "/v1/admin/pes", &admin, None, &[]).await?;
    let pe = pes.body["items"][0]["id"].as_str().unwrap().to_string();
    let path = format!("/v1/admin/pes/{pe}");
    let read = api.call("GET", &path, &admin, None, &[]).await?;
    let etag = read.header("etag").expect("a GET carries an ETag");
    let again = api
        .call("GET", &path, &admin, None, &[("if-none-match", &etag)])
        .await?;
    assert_eq!(again.status, 304);
    let changed = api
        .call(
            "PATCH",
            &path,
            &admin,
            Some(json!({"host": "127.0.0.2"})),
            &[("if-match", &etag)],
        )
        .await?;
    assert_eq!(changed.status, 200, "{:#}", changed.body);
    let new_tag = changed
        .header("etag")
        .expect("an update answers the new ETag");
    assert_ne!(new_tag, etag);
    // The old ETag is stale now: 412, and the PE is unchanged.
    let stale = api
        .call(
            "PATCH",
            &path,
            &admin,
            Some(json!({"host": "127.0.0.3"})),
            &[("if-match", &etag)],
        )
        .await?;
    assert_eq!(stale.status, 412, "{:#}", stale.body);
    assert_eq!(stale.body["code"], "precondition_failed");
    assert_eq!(stale.error_fields(), ["If-Match"]);
    let now = api.call("GET", &path, &admin, None, &[]).await?;
    assert_eq!(now.body["host"], "127.0.0.2");
    assert_eq!(now.header("etag"), Some(new_tag.clone()));
    let bad = api
        .call(
            "PATCH",
            &path,
            &admin,
            Some(json!({"host": "127.0.0.3"})),
            &[("if-match", "no-quotes")],
        )
        .await?;
    assert_eq!(
        (bad.status, bad.error_fields()),
        (422, vec!["If-Match".to_string()])
    );
    // The key is checked before the precondition: no key, any If-Match, 401.
    let r = api
        .http
        .patch(format!("{}{path}", api.base))
        .header("if-match", "")
        .json(&json!({"host": "127.0.0.3"}))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 401);
    let any = api
        .call(
            "PATCH",
            &path,
            &admin,
            Some(json!({"host": "127.0.0.4"})),
            &[("if-match", "*")],
        )
        .await?;
    assert_eq!(any.status, 200);
    // A connector's ETag changes with its state; a stale one stops a VIF
    // report before anything is judged.
    let c = api
        .call("GET", &format!("/v1/connectors/{id}"), &acme, None, &[])
        .await?;
    assert!(c.header("etag").is_some());
    let r = api
        .call(
            "PUT",
            &format!("/v1/connectors/{id}/vif"),
            &acme,
            Some(json!({})),
            &[("if-match", "\"0\"")],
        )
        .await?;
    assert_eq!(r.status, 412, "{:#}", r.body);
    // A method the path does not have is a 405, If-Match or not.
    let r = api
        .call(
            "PATCH",
            &format!("/v1/connectors/{id}/vif"),
            &acme,
            Some(json!({})),
            &[("if-match", "")],
        )
        .await?;
    assert_eq!(r.status, 405);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn paging_filters_scope_and_etags_sqlite() -> Result<()> {
    conventions(false).await
}

#[tokio::test(flavor = "multi_thread")]
async fn paging_filters_scope_and_etags_postgres() -> Result<()> {
    conventions(true).await
}

#[test]
fn the_document_describes_the_conventions() {
    let doc = serde_json::to_value(onramp_api::openapi()).unwrap();
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    let paths = doc["paths"].as_object().unwrap();
    let names = |op: &Value| -> BTreeSet<String> {
        op["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .filter_map(|p| p["name"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut lists = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let ctx = format!("{method} {path}");
            let responses = op["responses"].as_object().unwrap();
            let params = names(op);
            assert!(responses.contains_key("500"), "{ctx}: no 500 problem");
            if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                assert!(responses.contains_key("401"), "{ctx}: no 401");
            }
            for (code, r) in responses {
                if code.starts_with('4') || code.starts_with('5') {
                    assert!(
                        r["content"]["application/problem+json"].is_object(),
                        "{ctx}: {code} is not a problem"
                    );
                }
            }
            match method.as_str() {
                "post" => assert!(params.contains("Idempotency-Key"), "{ctx}"),
                "put" | "patch" => {
                    assert!(params.contains("If-Match"), "{ctx}");
                    assert!(responses.contains_key("412"), "{ctx}");
                    let ok = responses
                        .iter()
                        .find(|(c, _)| c.starts_with('2'))
                        .unwrap()
                        .1;
                    assert!(ok["headers"]["ETag"].is_object(), "{ctx}");
                }
                "get" => {
                    let body = &responses["200"]["content"]["application/json"]["schema"];
                    let is_list = body["$ref"].as_str().is_some_and(|r| r.ends_with("List"));
                    if is_list && path != "/v1/locations" {
                        lists += 1;
                        assert!(
                            params.contains("limit") && params.contains("cursor"),
                            "{ctx}: a list without paging"
                        );
                    }
                }
                _ => {}
            }
        }
    }
    assert!(lists >= 10, "only {lists} paged lists found");
}
