//! The router pipeline under trouble: a PE that hangs holds up its own
//! router changes and nothing else, and what queued behind it goes in few
//! commits once it answers again; workers killed at random during a burst
//! lose nothing and do nothing twice.

mod support;

use std::time::{Duration, Instant};

use anyhow::Result;
use onramp_router_templates::Platform;
use onramp_router_validate::PeFacts;
use onramp_store::entity::{allocation, connector, pe_change, pe_commit};
use onramp_store::model::Resources;
use onramp_store::pe_changes;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use support::{Db, Stack, StackOptions};

const T: Duration = Duration::from_secs(90);
const POLL: Duration = Duration::from_millis(500);
const QUEUED: usize = 12;

#[tokio::test(flavor = "multi_thread")]
async fn an_accepted_vif_is_observed_within_a_poll_interval_while_its_pe_hangs() -> Result<()> {
    let stack = Stack::start_with(
        Db::Sqlite,
        StackOptions {
            aws_delay: Duration::ZERO,
            worker_env: vec![(
                "ONRAMP_POLL_INTERVAL_MS".into(),
                POLL.as_millis().to_string(),
            )],
            ..StackOptions::default()
        },
    )
    .await?;

    // A connector configured on pe1, waiting for its customer.
    let (status, c) = stack.order_vif(json!({})).await?;
    assert_eq!(status, 202, "{c:#}");
    let first = c["id"].as_str().unwrap().to_string();
    let c = stack
        .wait_state(&first, "waiting_customer_acceptance", T)
        .await?;
    let vif_id = c["vif_id"].as_str().unwrap().to_string();

    // pe1's control plane hangs; more orders queue their changes for it.
    stack.pes.freeze("pe1")?;
    let mut queued = Vec::new();
    for _ in 0..QUEUED {
        let (status, c) = stack.order_vif(json!({})).await?;
        assert_eq!(status, 202, "{c:#}");
        queued.push(c["id"].as_str().unwrap().to_string());
    }
    let deadline = Instant::now() + T;
    loop {
        let pending = pe_change::Entity::find()
            .filter(pe_change::Column::Status.eq(pe_changes::PENDING))
            .count(&stack.db)
            .await? as usize;
        if pending >= QUEUED {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {pending} of {QUEUED} changes queued\n{}",
            stack.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The customer accepts the first VIF: it is seen, and the connector
    // moves on, within one poll interval and a second, although its PE
    // (and a queue of changes for it) hangs.
    stack.accept_vif(&vif_id).await?;
    let accepted = Instant::now();
    stack.wait_state(&first, "active", T).await?;
    let took = accepted.elapsed();
    eprintln!("the accepted VIF was observed after {took:?}");
    assert!(
        took <= POLL + Duration::from_secs(1),
        "an accepted VIF went unobserved for {took:?} (poll interval {POLL:?})"
    );
    for id in &queued {
        let (_, c) = stack.get_json(&format!("/v1/connectors/{id}")).await?;
        assert_eq!(c["state"], "configuring_pe", "{c:#}");
    }

    // pe1 answers again: everything queued goes, in batches.
    stack.pes.thaw("pe1")?;
    for id in &queued {
        stack
            .wait_state(id, "waiting_customer_acceptance", T)
            .await?;
    }
    let commits = pe_commit::Entity::find().all(&stack.db).await?;
    let after_thaw: Vec<i32> = commits.iter().skip(1).map(|c| c.changes).collect();
    assert_eq!(
        after_thaw.iter().sum::<i32>() as usize,
        QUEUED,
        "{commits:#?}"
    );
    assert!(
        after_thaw.len() < QUEUED,
        "the queued changes went one commit each: {after_thaw:?}"
    );
    Ok(())
}

const BURST: usize = 500;

/// A burst of hosted-VIF orders over both PEs, the customer accepting each
/// VIF as it appears, while three workers are each SIGKILLed at random
/// every 0.5-2 s and restarted. Nothing may be lost or done twice.
#[tokio::test(flavor = "multi_thread")]
async fn workers_killed_at_random_during_a_burst_lose_nothing_and_double_nothing() -> Result<()> {
    let mut stack = Stack::start_with(
        Db::Postgres,
        StackOptions {
            aws_delay: Duration::ZERO,
            second_dx_location: true,
            worker_env: vec![
                ("ONRAMP_POLL_INTERVAL_MS".into(), "500".into()),
                // Kills come every 0.5-2 s: a PE whose writer died must
                // find a new one sooner than that.
                ("ONRAMP_PE_LEASE_MS".into(), "1500".into()),
            ],
            ..StackOptions::default()
        },
    )
    .await?;
    stack.add_worker()?;
    stack.add_worker()?;

    let acceptor = stack.accept_every_vif();
    let burst = tokio::spawn({
        let (http, url, key) = (
            stack.http.clone(),
            stack.url("/v1/connectors"),
            stack.key.clone(),
        );
        async move {
            let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(8));
            let mut posts = Vec::new();
            for i in 0..BURST {
                let permit = permits.clone().acquire_owned().await?;
                let (http, url, key) = (http.clone(), url.clone(), key.clone());
                posts.push(tokio::spawn(async move {
                    let location = if i % 2 == 0 { "EqDC2" } else { "EqDC3" };
                    let body = json!({"kind": "aws-hosted-vif", "aws_account_id": support::CUSTOMER_ACCOUNT,
                                      "location": location, "bandwidth": "50Mbps"});
                    let r = http.post(url).bearer_auth(key).json(&body).send().await;
                    drop(permit);
                    r
                }));
            }
            for p in posts {
                let r = p.await??;
                anyhow::ensure!(r.status() == 202, "order refused: {}", r.status());
            }
            Ok::<(), anyhow::Error>(())
        }
    });

    // The chaos: each worker dies at its own random moments, until the
    // burst is in and a good part of it is being worked on.
    let mut next: Vec<Instant> = (0..3).map(|_| Instant::now() + kill_gap()).collect();
    let mut kills = 0;
    let chaos_ends = Instant::now() + Duration::from_secs(20);
    while Instant::now() < chaos_ends || !burst.is_finished() {
        for (i, at) in next.iter_mut().enumerate() {
            if Instant::now() >= *at {
                stack.crash_and_restart_worker(i)?;
                kills += 1;
                *at = Instant::now() + kill_gap();
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    burst.await??;
    eprintln!("{kills} worker kills during the burst");

    // Then every connector becomes active.
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let active = connector::Entity::find()
            .filter(connector::Column::State.eq("active"))
            .count(&stack.db)
            .await? as usize;
        if active == BURST {
            break;
        }
        // A failed connector stays failed: no need to wait out the deadline.
        let failed = connector::Entity::find()
            .filter(connector::Column::State.eq("failed"))
            .count(&stack.db)
            .await?;
        if failed > 0 || Instant::now() > deadline {
            anyhow::bail!("{active} of {BURST} active\n{}", explain(&stack).await?);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    acceptor.abort();

    let rows = connector::Entity::find().all(&stack.db).await?;
    // Exactly one VIF per connector at AWS, and it is the one recorded.
    let vifs = stack.sim.sim.virtual_interfaces();
    let live: Vec<_> = vifs.iter().filter(|v| v.state != "deleted").collect();
    assert_eq!(live.len(), BURST, "VIFs at AWS");
    let recorded: std::collections::HashSet<_> =
        rows.iter().filter_map(|r| r.csp_ref.clone()).collect();
    let at_aws: std::collections::HashSet<_> = live
        .iter()
        .map(|v| v.virtual_interface_id.clone())
        .collect();
    assert_eq!(recorded, at_aws);

    // Each PE holds exactly the active attachments, read back over NETCONF.
    let platform = Platform::load(&support::templates_root(), "reference-pe")?;
    for pe in ["pe1", "pe2"] {
        let facts = PeFacts::from_running(&platform, &stack.running(pe).await?)?;
        let mut expected = std::collections::BTreeSet::new();
        for r in &rows {
            let res = Resources::from_json(&r.resources)?;
            if res.pe_name == pe {
                expected.insert((res.port_name.clone(), u32::from(res.vlan), res.pe_address));
            }
        }
        let held: std::collections::BTreeSet<_> = facts
            .units
            .iter()
            .map(|u| {
                (
                    u.interface.clone(),
                    u.unit,
                    u.address.clone().unwrap_or_default(),
                )
            })
            .collect();
        if held != expected {
            let extra: Vec<_> = held.difference(&expected).collect();
            let missing: Vec<_> = expected.difference(&held).collect();
            let changes = pe_change::Entity::find().all(&stack.db).await?;
            let mut of_missing = Vec::new();
            for r in &rows {
                let res = Resources::from_json(&r.resources)?;
                let unit = (res.port_name.clone(), u32::from(res.vlan), res.pe_address);
                if res.pe_name == pe && missing.contains(&&unit) {
                    let theirs: Vec<_> = changes
                        .iter()
                        .filter(|c| c.connector_id == r.id)
                        .map(|c| (c.id, c.op.clone(), c.status.clone(), c.attempts, c.done_at))
                        .collect();
                    of_missing.push((r.id, r.state.clone(), theirs));
                }
            }
            anyhow::bail!(
                "{pe} holds {} units, the active connectors expect {}\n\
                 on {pe} but not expected: {extra:?}\n\
                 expected but not on {pe}: {missing:?}\n\
                 their connectors and changes: {of_missing:#?}\n\
                 pe_changes: {} ({:?} by status)\n{}",
                held.len(),
                expected.len(),
                changes.len(),
                changes.iter().fold(
                    std::collections::BTreeMap::<String, usize>::new(),
                    |mut m, c| {
                        *m.entry(c.status.clone()).or_default() += 1;
                        m
                    }
                ),
                explain(&stack).await?
            );
        }
        assert_eq!(
            facts.neighbors.len(),
            expected.len(),
            "{pe}'s BGP neighbors"
        );
    }

    // No allocation without a live connector.
    let ids: std::collections::HashSet<_> = rows.iter().map(|r| r.id).collect();
    let owners = allocation::Entity::find()
        .filter(allocation::Column::ConnectorId.is_not_null())
        .all(&stack.db)
        .await?;
    assert!(
        owners
            .iter()
            .all(|a| a.connector_id.is_some_and(|c| ids.contains(&c))),
        "an allocation outlived its connector"
    );
    Ok(())
}

/// What went wrong, from the database's side, for a failure that is rare:
/// the states, each connector not active with its attachment and queued
/// changes, any other connector holding the same PE, port and VLAN; and
/// where the logs were kept.
async fn explain(stack: &Stack) -> Result<String> {
    use std::fmt::Write;
    let rows = connector::Entity::find().all(&stack.db).await?;
    let changes = pe_change::Entity::find().all(&stack.db).await?;
    let pes = onramp_store::entity::pe_router::Entity::find()
        .all(&stack.db)
        .await?;
    let pe_name = |id| {
        pes.iter()
            .find(|p| p.id == id)
            .map_or("?".to_string(), |p| p.name.clone())
    };
    let attachment = |r: &connector::Model| {
        Resources::from_json(&r.resources)
            .map(|res| (res.pe_name, res.port_name, res.vlan, res.pe_address))
            .ok()
    };
    let mut out = String::new();
    let mut states = std::collections::BTreeMap::<&str, usize>::new();
    for r in &rows {
        *states.entry(r.state.as_str()).or_default() += 1;
    }
    writeln!(out, "states: {states:?}")?;
    for r in rows.iter().filter(|r| r.state != "active") {
        let at = attachment(r);
        writeln!(
            out,
            "connector {} {} at {:?}: {:?}",
            r.id, r.state, at, r.last_error
        )?;
        for c in changes.iter().filter(|c| c.connector_id == r.id) {
            writeln!(
                out,
                "  change {} {} on {} {} attempts {}: {:?}",
                c.id,
                c.op,
                pe_name(c.pe_id),
                c.status,
                c.attempts,
                c.error
            )?;
        }
        let same = at.map(|(pe, port, vlan, _)| (pe, port, vlan));
        for o in rows.iter().filter(|o| o.id != r.id) {
            if attachment(o).map(|(pe, port, vlan, _)| (pe, port, vlan)) == same {
                writeln!(
                    out,
                    "  same VLAN: {} {} at {:?}",
                    o.id,
                    o.state,
                    attachment(o)
                )?;
                for c in changes.iter().filter(|c| c.connector_id == o.id) {
                    writeln!(
                        out,
                        "    change {} {} on {} {} attempts {}",
                        c.id,
                        c.op,
                        pe_name(c.pe_id),
                        c.status,
                        c.attempts
                    )?;
                }
            }
        }
    }
    writeln!(out, "logs kept in {}", stack.keep_logs()?.display())?;
    Ok(out)
}

fn kill_gap() -> Duration {
    Duration::from_millis(rand::random_range(500..=2000))
}
