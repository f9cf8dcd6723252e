//! End-to-end throughput: a burst of hosted-VIF orders through the public
//! API, on the whole stack (nats-server, netconfd PEs behind sshd, the AWS
//! simulator with no delays, the `onramp` binary as `serve` and `worker`),
//! the customer accepting each VIF the moment it appears.
//!
//! `cargo bench --bench orders` (release build; needs what
//! `scripts/install-deps.sh` installs). Prints the API's create latency and
//! rate during the burst, connectors/s from the first order to the last
//! `active`, order-to-active latency, the PE writer's changes per commit,
//! and AWS describe calls per connector.
//!
//! Environment: `ORDERS_BENCH_N` (orders, default 200), `ORDERS_BENCH_CLIENTS`
//! (concurrent API clients, default 16), `ORDERS_BENCH_DB` (`sqlite`, the
//! default, or `postgres`), `ORDERS_BENCH_TIMEOUT_S` (give up waiting for
//! `active` after this, default 600), `ORDERS_BENCH_POLL_MS` (the workers'
//! poll interval, default 1000), `ORDERS_BENCH_IN_FLIGHT` (the workers'
//! `ONRAMP_MAX_IN_FLIGHT`, default theirs). Orders alternate between the two
//! locations, EqDC2 on pe1 and EqDC3 on pe2.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use onramp_store::entity::{connector, connector_event, pe_change, pe_commit};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use support::{CUSTOMER_ACCOUNT, Db, Stack, StackOptions};
use tokio::sync::Semaphore;

/// `name` parsed, or `default` when unset; a value that does not parse
/// stops the run with its name, rather than quietly measuring something else.
fn env_or<T: std::str::FromStr>(name: &str, default: T) -> Result<T> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}={v:?} is not a valid value")),
        Err(_) => Ok(default),
    }
}

fn main() -> Result<()> {
    let n: usize = env_or("ORDERS_BENCH_N", 200)?;
    let clients: usize = env_or("ORDERS_BENCH_CLIENTS", 16)?;
    let timeout = Duration::from_secs(env_or("ORDERS_BENCH_TIMEOUT_S", 600)?);
    let poll = Duration::from_millis(env_or("ORDERS_BENCH_POLL_MS", 1000)?);
    let db = match std::env::var("ORDERS_BENCH_DB").as_deref() {
        Ok("postgres") => Db::Postgres,
        Ok("sqlite") | Err(_) => Db::Sqlite,
        Ok(other) => bail!("ORDERS_BENCH_DB is sqlite or postgres, not {other:?}"),
    };
    anyhow::ensure!(n >= 1 && clients >= 1, "N and clients must be at least 1");
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(n, clients, db, timeout, poll))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

async fn run(n: usize, clients: usize, db: Db, timeout: Duration, poll: Duration) -> Result<()> {
    let stack = Arc::new(
        Stack::start_with(
            db,
            StackOptions {
                aws_delay: Duration::ZERO,
                second_dx_location: true,
                // A realistic poll interval: the test stack's 200 ms would
                // have a thousand waiting connectors poll 5,000 times a
                // second.
                worker_env: [(
                    "ONRAMP_POLL_INTERVAL_MS".to_string(),
                    poll.as_millis().to_string(),
                )]
                .into_iter()
                .chain(
                    std::env::var("ORDERS_BENCH_IN_FLIGHT")
                        .ok()
                        .map(|n| ("ONRAMP_MAX_IN_FLIGHT".to_string(), n)),
                )
                .collect(),
                ..StackOptions::default()
            },
        )
        .await?,
    );
    println!(
        "orders bench: N={n} over 2 PEs, {clients} clients, {db:?}, poll interval {}",
        ms(poll)
    );

    // The customer, accepting every VIF as soon as AWS shows it.
    let acceptor = stack.accept_every_vif();

    // The burst.
    let permits = Arc::new(Semaphore::new(clients));
    let started = Instant::now();
    let mut posts = Vec::with_capacity(n);
    for i in 0..n {
        let permit = permits.clone().acquire_owned().await?;
        let stack = stack.clone();
        posts.push(tokio::spawn(async move {
            let location = if i % 2 == 0 { "EqDC2" } else { "EqDC3" };
            let body = json!({"kind": "aws-hosted-vif", "aws_account_id": CUSTOMER_ACCOUNT,
                              "location": location, "bandwidth": "50Mbps"});
            let t = Instant::now();
            let r = stack.post_json("/v1/connectors", &body).await;
            drop(permit);
            (t.elapsed(), r)
        }));
    }
    let mut create = Vec::with_capacity(n);
    let mut ids = Vec::with_capacity(n);
    for p in posts {
        let (took, r) = p.await?;
        let (status, c) = r?;
        anyhow::ensure!(status == 202, "order refused: {status} {c:#}");
        create.push(took);
        ids.push(c["id"].as_str().context("id")?.parse::<uuid::Uuid>()?);
    }
    let posted = started.elapsed();
    create.sort();

    // Until every connector is active, or the time is up.
    let deadline = Instant::now() + timeout;
    let active = loop {
        let active = connector::Entity::find()
            .filter(connector::Column::State.eq("active"))
            .count(&stack.db)
            .await?;
        if active as usize >= n || Instant::now() > deadline {
            break active as usize;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let all_active = started.elapsed();
    acceptor.abort();

    // Order to active, from the timeline.
    let events = connector_event::Entity::find()
        .filter(connector_event::Column::ToState.eq("active"))
        .all(&stack.db)
        .await?;
    let rows = connector::Entity::find().all(&stack.db).await?;
    let created: BTreeMap<_, _> = rows.iter().map(|c| (c.id, c.created_at)).collect();
    let mut first_active = BTreeMap::new();
    for e in &events {
        first_active.entry(e.connector_id).or_insert(e.at);
    }
    let mut to_active: Vec<Duration> = first_active
        .iter()
        .filter_map(|(id, at)| (*at - *created.get(id)?).to_std().ok())
        .collect();
    to_active.sort();
    let last_active = events.iter().map(|e| e.at).max();
    let first_created = rows.iter().map(|c| c.created_at).min();
    let span = match (first_created, last_active) {
        (Some(a), Some(b)) => (b - a).to_std().unwrap_or_default(),
        _ => all_active,
    };

    // The writers' commits, as they recorded them.
    let changes = pe_change::Entity::find().all(&stack.db).await?;
    let commits = pe_commit::Entity::find().all(&stack.db).await?;
    let mut sizes: Vec<usize> = commits.iter().map(|c| c.changes as usize).collect();
    sizes.sort();
    // Commit cost by the PE's size when the batch went in, in buckets.
    let bucket = (n / 2 / 5).max(50);
    let mut by_size: BTreeMap<usize, (usize, usize, i64)> = BTreeMap::new();
    for c in &commits {
        let e = by_size
            .entry(c.attachments_before as usize / bucket * bucket)
            .or_default();
        e.0 += 1;
        e.1 += c.changes as usize;
        e.2 += c.push_ms;
    }

    let describes = stack.aws_calls("DescribeVirtualInterfaces");
    println!(
        "API create: {} orders in {:.2} s = {:.1} orders/s; latency p50 {}, p99 {}, max {}",
        n,
        posted.as_secs_f64(),
        n as f64 / posted.as_secs_f64(),
        ms(percentile(&create, 0.5)),
        ms(percentile(&create, 0.99)),
        ms(*create.last().unwrap_or(&Duration::ZERO)),
    );
    println!(
        "active: {active} of {n}; first order to last active {:.2} s = {:.1} connectors/s",
        span.as_secs_f64(),
        active as f64 / span.as_secs_f64().max(1e-9),
    );
    println!(
        "order to active: p50 {}, p99 {}",
        ms(percentile(&to_active, 0.5)),
        ms(percentile(&to_active, 0.99)),
    );
    println!(
        "PE commits: {} for {} changes; changes per commit mean {:.1}, p50 {}, max {}",
        sizes.len(),
        sizes.iter().sum::<usize>(),
        sizes.iter().sum::<usize>() as f64 / sizes.len().max(1) as f64,
        sizes.get(sizes.len() / 2).copied().unwrap_or(0),
        sizes.last().copied().unwrap_or(0),
    );
    println!("commit time by PE size (attachments on the PE before the batch):");
    for (from, (count, changes, push_ms)) in &by_size {
        println!(
            "  {from:>5}-{:<5} {count:>3} commits, {:>5.1} changes each, {:>7.1} ms each, {:>6.2} ms per change",
            from + bucket - 1,
            *changes as f64 / *count as f64,
            *push_ms as f64 / *count as f64,
            *push_ms as f64 / (*changes).max(1) as f64,
        );
    }
    println!(
        "AWS DescribeVirtualInterfaces: {describes} = {:.1} per connector",
        describes as f64 / n as f64
    );
    if active < n {
        // Where the rest stand, and what the processes said, to see why.
        let mut states: BTreeMap<&str, usize> = BTreeMap::new();
        for r in &rows {
            *states.entry(r.state.as_str()).or_default() += 1;
        }
        let mut queue: BTreeMap<&str, usize> = BTreeMap::new();
        for c in &changes {
            *queue.entry(c.status.as_str()).or_default() += 1;
        }
        eprintln!(
            "states: {states:?}\nPE changes: {queue:?}\n{}",
            stack.logs()
        );
        bail!("only {active} of {n} connectors became active within {timeout:?}");
    }
    Ok(())
}
