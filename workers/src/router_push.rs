//! Queues one connector's router change for its PE. The PE's writer loop
//! (`pe_writer::owner`) pushes it and settles the connector in the same
//! transaction that records the outcome, so the job that queued the change
//! acks at once: "waiting for the router" is the queued row, not a job
//! that naks itself until the writer is done. Shared by every connector
//! kind: a kind only decides what the intent is and what the outcome means
//! to its machine ([`Kind::router_event`]).

use onramp_router_templates::{AttachmentIntent, Operation};
use onramp_store::entity::connector;
use onramp_store::pe_changes;
use uuid::Uuid;

use crate::actions::{Step, done};
use crate::kinds::Kind;
use crate::pe_writer::{PeWriter, op_name};

/// How a change the writer pushed (or refused) ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RouterOutcome {
    /// The PE carries the change (verified by reading running back).
    Done,
    /// Validation or the device refused the change, with the reason.
    Refused(String),
}

/// What became of one queued change, as the job that queued it sees it.
pub(crate) enum Pushed {
    /// Settled before this job looked (a redelivered job).
    Settled(RouterOutcome),
    /// Queued; the PE's writer settles the connector when it has pushed.
    Queued,
    /// The database is unreachable for now, or a refused teardown was put
    /// back in the queue: run the job again later.
    Retry(String),
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
    let (status, pushed, id) = push_change(
        writer,
        db,
        pe_id,
        (row.id, row.step, op_name(op)),
        &writer.seal(intent),
    )
    .await?;
    Ok(match pushed {
        Pushed::Settled(RouterOutcome::Refused(reason))
            if op == Operation::Delete && status == pe_changes::FAILED =>
        {
            // Teardown has no failure exit: queue it again and retry, visibly.
            pe_changes::requeue(db, id).await?;
            writer.wake(pe_id);
            Pushed::Retry(reason)
        }
        p => p,
    })
}

/// Queues one change keyed by (connector, step, op) — a connector's own, or
/// a link's for one member (the link's step, and an op naming the link and
/// the move or removal) — with its sealed payload, wakes the PE's writer,
/// and says where the change stands: (status, outcome, queue row id).
pub(crate) async fn push_change(
    writer: &PeWriter,
    db: &onramp_store::DatabaseConnection,
    pe_id: Uuid,
    (owner, step, op): (Uuid, i64, &str),
    sealed: &str,
) -> Result<(&'static str, Pushed, i64), onramp_store::Error> {
    let change = pe_changes::enqueue(db, pe_id, owner, step, op, sealed).await?;
    let reason = change.error.clone().unwrap_or_default();
    Ok(match change.status.as_str() {
        pe_changes::DONE => (
            pe_changes::DONE,
            Pushed::Settled(RouterOutcome::Done),
            change.id,
        ),
        pe_changes::FAILED => (
            pe_changes::FAILED,
            Pushed::Settled(RouterOutcome::Refused(reason)),
            change.id,
        ),
        _ => {
            writer.wake(pe_id);
            (pe_changes::PENDING, Pushed::Queued, change.id)
        }
    })
}

/// The step a router action of kind `K` took, from where its change stands.
pub(crate) fn step<K: Kind>(action: K::Action, pushed: Pushed) -> Step<K::Event> {
    match pushed {
        Pushed::Queued => Step::Queued,
        Pushed::Retry(reason) => Step::Retry(reason),
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
