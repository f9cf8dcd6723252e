//! Queues one connector's router change for its PE and, when the PE's writer
//! lease is free, pushes the queue. Shared by every connector kind: a kind
//! only decides what the intent is and what the outcome means to its machine.

use std::time::Duration;

use onramp_router_templates::{AttachmentIntent, Operation};
use onramp_store::entity::connector;
use onramp_store::{inventory, pe_changes};
use uuid::Uuid;

use crate::pe_writer::{PeWriter, Transient, op_name};

/// How soon to look again when another worker holds the PE's writer lease.
pub(crate) const WAIT_FOR_WRITER: Duration = Duration::from_millis(150);

/// What became of one queued change.
pub(crate) enum Pushed {
    /// The PE carries the change (verified by reading running back).
    Done,
    /// Validation or the device refused the change, with the reason.
    Refused(String),
    /// Another writer holds the PE; look again after the delay.
    Wait(Duration),
    /// The PE or the database is unreachable for now.
    Retry(String),
}

/// Queues the change (once per connector step: a redelivered job finds the
/// row it queued before) and drains the PE's queue if nobody else is.
pub(crate) async fn push(
    writer: &PeWriter,
    db: &onramp_store::DatabaseConnection,
    row: &connector::Model,
    pe_id: Uuid,
    intent: &AttachmentIntent,
    op: Operation,
) -> Result<Pushed, onramp_store::Error> {
    let pushed = push_change(
        writer,
        db,
        pe_id,
        (row.id, row.step, op_name(op)),
        &writer.seal(intent),
    )
    .await?;
    Ok(match pushed {
        (pe_changes::FAILED, Pushed::Refused(reason), id) if op == Operation::Delete => {
            // Teardown has no failure exit: queue it again and retry, visibly.
            pe_changes::requeue(db, id).await?;
            Pushed::Retry(reason)
        }
        (_, p, _) => p,
    })
}

/// Queues one change keyed by (connector, step, op) — a connector's own, or
/// a link's for one member (the link's step, and an op naming the link and
/// the move or removal) —
/// with its sealed payload, drains the PE's queue if nobody else is, and
/// says what became of it: (status, outcome, queue row id).
pub(crate) async fn push_change(
    writer: &PeWriter,
    db: &onramp_store::DatabaseConnection,
    pe_id: Uuid,
    (owner, step, op): (Uuid, i64, &str),
    sealed: &str,
) -> Result<(&'static str, Pushed, i64), onramp_store::Error> {
    let pe = inventory::pe(db, pe_id).await?;
    let mut change = pe_changes::enqueue(db, pe.id, owner, step, op, sealed).await?;
    if change.status == pe_changes::PENDING {
        match writer.drain_if_free(&pe).await {
            Ok(true) => {
                if let Some(c) = pe_changes::find(db, owner, step, op).await? {
                    change = c;
                }
            }
            // Another worker is pushing to this PE; our change rides in its
            // next batch, or we take the lease next time.
            Ok(false) => {
                return Ok((
                    pe_changes::PENDING,
                    Pushed::Wait(WAIT_FOR_WRITER),
                    change.id,
                ));
            }
            Err(Transient(reason)) => {
                return Ok((pe_changes::PENDING, Pushed::Retry(reason), change.id));
            }
        }
    }
    let reason = change.error.clone().unwrap_or_default();
    Ok(match change.status.as_str() {
        pe_changes::DONE => (pe_changes::DONE, Pushed::Done, change.id),
        pe_changes::FAILED => (pe_changes::FAILED, Pushed::Refused(reason), change.id),
        _ => (
            pe_changes::PENDING,
            Pushed::Wait(WAIT_FOR_WRITER),
            change.id,
        ),
    })
}
