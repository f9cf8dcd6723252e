//! A connector's machine answering one event, as the transition the store
//! persists. Written once for every kind and every caller: the job runner,
//! the PE writer, a delete request, an ops task.

use onramp_state_machines::{ChangeEnd, Machine};
use onramp_store::connectors::Transition;
use onramp_store::entity::connector;
use onramp_store::model::PendingChange;

/// What feeding an event to a connector's machine calls for.
pub enum Next {
    /// Persist this transition (with its timeline event and next job).
    Commit(Box<Transition>),
    /// A poll that saw nothing new: look again later.
    StillWaiting,
    /// A stale or duplicate event: drop it (the note says why).
    Ignored(String),
}

/// The answer of `row`'s machine (kind `K`, now in `state`) to `event`,
/// made by `actor`. The caller adds what only it knows (a CSP object id,
/// released resources, a lease to hand back).
pub fn transition<K: Machine>(
    row: &connector::Model,
    state: &K::State,
    event: &K::Event,
    actor: &str,
) -> onramp_store::Result<Next> {
    let out = K::handle(state, event);
    if out.is_still_waiting() {
        return Ok(Next::StillWaiting);
    }
    if out.is_ignored() {
        return Ok(Next::Ignored(out.note));
    }
    let mut t = Transition {
        expected_step: row.step,
        state: K::state_name(&out.state).into(),
        machine_state: serde_json::to_string(&out.state).expect("state serializes"),
        waiting_on: K::waiting_on(&out.state).as_str().into(),
        event: K::event_name(event).into(),
        from_state: Some(row.state.clone()),
        message: out.note,
        actor: actor.into(),
        next_action: out.actions.first().map(|a| K::action_name(*a).to_string()),
        ..Default::default()
    };
    match out.change {
        None => {}
        Some(ChangeEnd::Kept) => t.pending_change = Some(None),
        // What the PE refused never reached it, so the settings from before
        // the change are what it carries: onramp renders those again.
        Some(ChangeEnd::Reverted) => {
            if let Some(pending) = &row.pending_change {
                let pending = PendingChange::from_json(pending)?;
                t.params = Some(pending.previous_params);
                t.options = Some(pending.previous_options);
                t.resources = pending.previous_resources;
            }
            t.pending_change = Some(None);
        }
    }
    Ok(Next::Commit(Box::new(t)))
}

/// The transition `event` makes from the connector's stored state, or None
/// when the machine ignores it (nothing to change).
pub fn on_event<K: Machine>(
    row: &connector::Model,
    event: &K::Event,
    actor: &str,
) -> onramp_store::Result<Option<Transition>> {
    let state = row.machine_state::<K>()?;
    Ok(match transition::<K>(row, &state, event, actor)? {
        Next::Commit(t) => Some(*t),
        Next::StillWaiting | Next::Ignored(_) => None,
    })
}

/// The transition a connector of any kind makes when the router change of
/// its standing action is done: what a PE's writer commits after a push,
/// and what an operator's "done by hand" stands for. None when its standing
/// action changes no router.
pub fn router_done(row: &connector::Model) -> onramp_store::Result<Option<Transition>> {
    onramp_state_machines::with_kind!(row.connector_kind()?, |K| {
        let state = row.machine_state::<K>()?;
        let Some(event) = K::current_action(&state)
            .and_then(|a| K::router_event(a, &onramp_state_machines::RouterOutcome::Done))
        else {
            return Ok(None);
        };
        on_event::<K>(row, &event, "router")
    })
}
