//! The router pipeline under trouble: a PE that hangs holds up its own
//! router changes and nothing else, and what queued behind it goes in few
//! commits once it answers again.

mod support;

use std::time::{Duration, Instant};

use anyhow::Result;
use onramp_store::entity::{pe_change, pe_commit};
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
    stack
        .customer_aws()
        .confirm_private_virtual_interface()
        .virtual_interface_id(&vif_id)
        .virtual_gateway_id("vgw-0123abcd")
        .send()
        .await?;
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
