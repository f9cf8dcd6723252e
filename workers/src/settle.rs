//! Turning an action's event into the transition to commit, for the job
//! runner and for the PE writer. The writer settles a connector in the same
//! transaction that records its router change's outcome, so a connector
//! waiting for the router needs no job until the router has answered.

use onramp_store::connectors as store;
use onramp_store::entity::{connector, pe_change};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use onramp_state_machines::with_kind;

use crate::kinds::WorkerKind;
use crate::pe_writer::{MOVE_OP, VRF_DELETE_OP};
use crate::router_push::RouterOutcome;

pub(crate) use onramp_kinds::transition::Next;

/// The machine's answer to `event`, the outcome of `action`, as the
/// transition to commit. `lease_holder` is the worker lease the commit
/// hands back, if the caller holds one.
pub(crate) fn transition<K: WorkerKind>(
    row: &connector::Model,
    state: &K::State,
    action: K::Action,
    event: &K::Event,
    actor: &str,
    csp_ref: Option<Option<String>>,
    lease_holder: Option<String>,
) -> Result<Next, onramp_store::Error> {
    Ok(
        match onramp_kinds::transition::transition::<K>(row, state, event, actor)? {
            Next::Commit(mut t) => {
                t.csp_ref = csp_ref;
                // A rollback that ends in `failed` keeps the allocations for
                // a retry; deleting the failed connector releases them.
                t.release_resources = K::releases(action) && t.state != "failed";
                // Only a kind that learnt resources from this event replaces
                // them; otherwise the machine's transition (a reverted key
                // rotation putting the old key back) stands.
                if let Some(resources) = K::resources_after(row, event)? {
                    t.resources = Some(resources);
                }
                if let Some((params, pending)) = K::change_after(row, event)? {
                    t.params = Some(params);
                    t.pending_change = Some(Some(pending.to_json()));
                }
                t.lease_holder = lease_holder;
                Next::Commit(t)
            }
            other => other,
        },
    )
}

/// The link a link change (`move:<link>:<i>`, `vrf-delete:<link>:<pe>`)
/// belongs to, or None for a connector's own change.
pub(crate) fn link_of(op: &str) -> Option<Uuid> {
    let rest = op
        .strip_prefix(MOVE_OP)
        .or_else(|| op.strip_prefix(VRF_DELETE_OP))?;
    rest.trim_start_matches(':').split(':').next()?.parse().ok()
}

/// Settles the owner of a change the writer has just marked done or
/// refused, inside the writer's transaction: a connector takes its
/// transition; a link is woken to read the outcome.
pub(crate) async fn settle_change<C: ConnectionTrait>(
    tx: &C,
    ch: &pe_change::Model,
    outcome: &RouterOutcome,
) -> Result<(), onramp_store::Error> {
    if let Some(link_id) = link_of(&ch.op) {
        return onramp_store::links::enqueue(tx, link_id, ch.step).await;
    }
    let Some(row) = store::get(tx, ch.connector_id).await? else {
        return Ok(());
    };
    // The connector moved on while its change waited (a delete request):
    // the job of its new step already runs, and this outcome is history.
    if row.step != ch.step {
        return Ok(());
    }
    // One unreadable connector must not hold back the batch of its PE.
    let kind = match row.connector_kind() {
        Ok(k) => k,
        Err(e) => {
            tracing::error!(connector = %row.id, error = %e, "no machine for this connector; change left unsettled");
            return Ok(());
        }
    };
    with_kind!(kind, |K| settle_kind::<K, C>(tx, &row, outcome).await)
}

async fn settle_kind<K: WorkerKind, C: ConnectionTrait>(
    tx: &C,
    row: &connector::Model,
    outcome: &RouterOutcome,
) -> Result<(), onramp_store::Error> {
    // One unreadable connector must not hold back the batch of its PE.
    let state = match row.machine_state::<K>() {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(connector = %row.id, error = %e, "machine state unreadable; router outcome not settled");
            return Ok(());
        }
    };
    let Some(action) = K::current_action(&state) else {
        return Ok(());
    };
    let name = K::action_name(action);
    match (K::router_event(action, outcome), outcome) {
        (Some(event), _) => {
            match transition::<K>(row, &state, action, &event, "router", None, None)? {
                Next::Commit(t) => {
                    if store::apply_transition(tx, row.id, &t).await? {
                        tracing::info!(connector = %row.id, from = %row.state, to = %t.state, "{}", t.message);
                    }
                }
                Next::StillWaiting | Next::Ignored(_) => {}
            }
        }
        // A refused teardown has no failure exit: the job runs again, puts
        // the change back in the queue and backs off, visibly.
        (None, RouterOutcome::Refused(reason)) => {
            store::set_last_error(tx, row.id, row.step, &format!("retrying {name}: {reason}"))
                .await?;
            store::enqueue(tx, row.id, row.step, name).await?;
        }
        (None, RouterOutcome::Done) => {
            tracing::warn!(connector = %row.id, action = name, "a router change settled for a connector whose standing action is not a router action");
        }
    }
    Ok(())
}
