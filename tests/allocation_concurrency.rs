//! 200 orders at once on one port, through the API: every order gets its own
//! VLAN and its own /31, on SQLite and on PostgreSQL. With a pool smaller
//! than the burst, the only errors are exhaustion of that pool.

mod support;

use std::collections::HashSet;

use anyhow::Result;
use serde_json::{Value, json};
use support::inproc::{Api, start_with};

const ORDERS: usize = 200;

async fn burst(api: &Api) -> Result<Vec<(u16, Value)>> {
    let mut tasks = Vec::new();
    for i in 0..ORDERS {
        let http = api.http.clone();
        let url = format!("{}/v1/connectors", api.base);
        let key = api.key.clone();
        tasks.push(tokio::spawn(async move {
            let body = json!({"kind": "aws-hosted-vif", "aws_account_id": format!("{:012}", 100_000_000_000u64 + i as u64),
                              "location": "EqDC2", "bandwidth": "100Mbps"});
            let r = http.post(url).bearer_auth(key).json(&body).send().await?;
            let status = r.status().as_u16();
            anyhow::Ok((status, r.json::<Value>().await?))
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await??);
    }
    Ok(out)
}

fn distinct(results: &[(u16, Value)]) -> (usize, usize, usize) {
    let ok: Vec<&Value> = results
        .iter()
        .filter(|(s, _)| *s == 202)
        .map(|(_, v)| v)
        .collect();
    let vlans: HashSet<u64> = ok
        .iter()
        .map(|c| c["peering"]["vlan"].as_u64().unwrap())
        .collect();
    let subnets: HashSet<&str> = ok
        .iter()
        .map(|c| c["peering"]["subnet"].as_str().unwrap())
        .collect();
    (ok.len(), vlans.len(), subnets.len())
}

async fn all_distinct(postgres: bool) -> Result<()> {
    let api = start_with(postgres, (100, 3999)).await?;
    let results = burst(&api).await?;
    let failures: Vec<_> = results.iter().filter(|(s, _)| *s != 202).collect();
    assert!(
        failures.is_empty(),
        "{} failed, first: {:#?}",
        failures.len(),
        failures.first()
    );
    assert_eq!(distinct(&results), (ORDERS, ORDERS, ORDERS));
    // One VLAN, one /31 (one unit) and one ASN per order, nothing more.
    let (connectors, allocations, jobs) = api.traces().await?;
    assert_eq!(
        (connectors, allocations, jobs),
        (ORDERS as u64, 3 * ORDERS as u64, ORDERS as u64)
    );
    Ok(())
}

async fn exhaustion(postgres: bool) -> Result<()> {
    // 50 VLANs for 200 orders.
    let api = start_with(postgres, (100, 149)).await?;
    let results = burst(&api).await?;
    let (ok, vlans, subnets) = distinct(&results);
    assert_eq!((ok, vlans, subnets), (50, 50, 50));
    for (status, body) in results.iter().filter(|(s, _)| *s != 202) {
        assert_eq!(*status, 409, "{body:#}");
        assert_eq!(body["code"], "pool_exhausted", "{body:#}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("vlans of port ge-0/0/1 (100-149)"),
            "{body:#}"
        );
    }
    let (connectors, allocations, _) = api.traces().await?;
    assert_eq!(
        (connectors, allocations),
        (50, 150),
        "refused orders left nothing"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_orders_get_distinct_vlans_and_subnets_sqlite() -> Result<()> {
    all_distinct(false).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_orders_get_distinct_vlans_and_subnets_postgres() -> Result<()> {
    all_distinct(true).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_small_pool_only_fails_with_exhaustion_sqlite() -> Result<()> {
    exhaustion(false).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_small_pool_only_fails_with_exhaustion_postgres() -> Result<()> {
    exhaustion(true).await
}
