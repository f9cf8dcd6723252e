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
    let pe = inventory::pe(db, pe_id).await?;
    let mut change = pe_changes::enqueue(
        db,
        pe.id,
        row.id,
        row.step,
        op_name(op),
        &writer.seal(intent),
    )
    .await?;
    if change.status == pe_changes::PENDING {
        match writer.drain_if_free(&pe).await {
            Ok(true) => {
                if let Some(c) = pe_changes::find(db, row.id, row.step, op_name(op)).await? {
                    change = c;
                }
            }
            // Another worker is pushing to this PE; our change rides in its
            // next batch, or we take the lease next time.
            Ok(false) => return Ok(Pushed::Wait(WAIT_FOR_WRITER)),
            Err(Transient(reason)) => return Ok(Pushed::Retry(reason)),
        }
    }
    let reason = change.error.clone().unwrap_or_default();
    Ok(match change.status.as_str() {
        pe_changes::DONE => Pushed::Done,
        pe_changes::FAILED if op == Operation::Delete => {
            // Teardown has no failure exit: queue it again and retry, visibly.
            pe_changes::requeue(db, change.id).await?;
            Pushed::Retry(reason)
        }
        pe_changes::FAILED => Pushed::Refused(reason),
        _ => Pushed::Wait(WAIT_FOR_WRITER),
    })
}
