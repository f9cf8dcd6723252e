//! Queues one connector's router change for its PE. The PE's writer loop
//! (`pe_writer::owner`) pushes it and settles the connector in the same
//! transaction that records the outcome, so the job that queued the change
//! acks at once: "waiting for the router" is the queued row, not a job
//! that naks itself until the writer is done. Shared by every connector
//! kind: a kind only decides what the intent is and what the outcome means
//! to its machine (`Machine::router_event`).

use onramp_router_templates::{AttachmentIntent, Operation};
use onramp_store::entity::{connector, pe_change};
use onramp_store::pe_changes;
use uuid::Uuid;

use onramp_state_machines::Machine;
pub(crate) use onramp_state_machines::RouterOutcome;

use crate::pe_writer::{PeWriter, op_name};
use crate::step::{Step, done};

/// What became of one queued change, as the job that queued it sees it.
pub(crate) enum Pushed {
    /// Settled before this job looked (a redelivered job).
    Settled(RouterOutcome),
    /// Queued (or, a refused teardown, queued again after a delay); the
    /// PE's writer settles the connector when it has pushed it.
    Queued,
}

/// Queues the change (once per connector step: a redelivered job finds the
/// row it queued before) and wakes the PE's writer.
pub(crate) async fn push(
    writer: &PeWriter,
    db: &onramp_store::DatabaseConnection,
    row: &connector::Model,
    pe_id: Uuid,
    intent: &AttachmentIntent,
    op: Operation,
) -> Result<Pushed, onramp_store::Error> {
    let (pushed, change) = push_change(
        writer,
        db,
        pe_id,
        (row.id, row.step, op_name(op)),
        &writer.seal(intent),
    )
    .await?;
    Ok(match pushed {
        // Teardown has no failure exit: the refusal is on the connector
        // (the writer put it there); queue the change again, after a delay
        // that grows with each refusal.
        Pushed::Settled(RouterOutcome::Refused(reason)) if op == Operation::Delete => {
            // Refused too often: people look at it instead (the connector
            // waits on ops, the console lists it).
            if change.attempts.saturating_add(1) >= writer.stuck_after() {
                let pe = onramp_store::inventory::pe(db, pe_id).await?;
                let why = format!(
                    "PE {} refused removing this connector's configuration {} times (last: {reason}); \
                     handed to the operator's ops team",
                    pe.name,
                    change.attempts.saturating_add(1)
                );
                tracing::warn!(connector = %row.id, pe = %pe.name, change = change.id, "{why}");
                onramp_store::stuck::hand_over(db, &change, &why).await?;
            } else {
                pe_changes::requeue(db, &change).await?;
            }
            Pushed::Queued
        }
        p => p,
    })
}

/// Queues one change keyed by (connector, step, op) — a connector's own, or
/// a link's for one member (the link's step, and an op naming the link and
/// the move or removal) — with its sealed payload, wakes the PE's writer,
/// and says where the change stands, with its queue row.
pub(crate) async fn push_change(
    writer: &PeWriter,
    db: &onramp_store::DatabaseConnection,
    pe_id: Uuid,
    (owner, step, op): (Uuid, i64, &str),
    sealed: &str,
) -> Result<(Pushed, pe_change::Model), onramp_store::Error> {
    let change = pe_changes::enqueue(db, pe_id, owner, step, op, sealed).await?;
    let pushed = match change.status.as_str() {
        pe_changes::DONE => Pushed::Settled(RouterOutcome::Done),
        pe_changes::FAILED => Pushed::Settled(RouterOutcome::Refused(
            change.error.clone().unwrap_or_default(),
        )),
        _ => {
            writer.wake(pe_id);
            Pushed::Queued
        }
    };
    Ok((pushed, change))
}

/// The step a router action of kind `K` took, from where its change stands.
pub(crate) fn step<K: Machine>(action: K::Action, pushed: Pushed) -> Step<K::Event> {
    match pushed {
        Pushed::Queued => Step::Queued,
        Pushed::Settled(outcome) => match (K::router_event(action, &outcome), outcome) {
            (Some(event), _) => done(event, "router"),
            // Teardown has no failure exit; push() already turns a refused
            // removal into a retry, and this keeps it so if that changes.
            (None, RouterOutcome::Refused(reason)) => Step::Retry(reason),
            (None, RouterOutcome::Done) => Step::Retry(format!(
                "{} is not a router action of this kind",
                K::action_name(action)
            )),
        },
    }
}
