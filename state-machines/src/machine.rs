//! The plumbing every connector kind's machine runs on: what a step returns,
//! how a teardown ends, the statig context handlers write into, and the
//! restore → init → handle dance that keeps a machine pure. The states and
//! their transitions stay in each kind's module.

use serde::{Deserialize, Serialize};
use statig::Outcome as Step;
use statig::Outcome::{Handled, Transition};
use statig::blocking::{IntoStateMachine, IntoStateMachineExt as _, State, Superstate};

/// The result of a machine's `start` or `handle`; each kind's module names
/// its own as `Outcome`.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome<S, A> {
    pub state: S,
    pub actions: Vec<A>,
    /// false when the event left the state as it was (e.g. a poll that saw no change,
    /// or an event ignored in this state). The worker then naks the job with a delay
    /// instead of committing.
    pub changed: bool,
    /// Human-readable line for the connector's event timeline (e.g. "customer accepted the VIF"),
    /// or why an event was ignored ("unexpected event vif_deleted in state active").
    pub note: String,
    /// What this step means for a change of the connector's settings in
    /// flight, if it ends one.
    pub change: Option<ChangeEnd>,
}

impl<S, A> Outcome<S, A> {
    /// The event had no effect and asks for nothing: the job that carried it
    /// is stale or a duplicate and should be acked and dropped, not naked
    /// (redelivering it would never change the answer).
    pub fn is_ignored(&self) -> bool {
        !self.changed && self.actions.is_empty()
    }

    /// Nothing changed but the state is still watching something (a poll):
    /// nak the job with a delay so it runs again.
    pub fn is_still_waiting(&self) -> bool {
        !self.changed && !self.actions.is_empty()
    }
}

/// How a change of a live connector's settings (bandwidth, BGP options)
/// ends. The machine decides; the store keeps the new settings or puts the
/// ones from before the change back, in the same commit as the transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeEnd {
    /// The PE took the change and read it back: the new settings stay.
    Kept,
    /// Refused: the settings from before the change are restored, so what
    /// onramp renders from now on is what the PE still carries.
    Reverted,
}

/// Where a teardown ends. Carried by the teardown states so that a worker
/// restarted mid-rollback still knows whether it is deleting on request or
/// cleaning up after a failure.
///
/// Every connector kind ends in these same three terminals, so the API can
/// map them without knowing the kind, even where a kind never reaches one
/// (`azure-expressroute` has no "customer declined" step, so no
/// `Rejected`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Terminal {
    Deleted,
    Failed { reason: String },
    Rejected { reason: String },
}

impl Terminal {
    pub(crate) fn reason(&self) -> Option<&str> {
        match self {
            Terminal::Deleted => None,
            Terminal::Failed { reason } | Terminal::Rejected { reason } => Some(reason),
        }
    }
}

/// statig's context: what a handler asks the world for while it runs.
pub(crate) struct Effects<A> {
    pub(crate) actions: Vec<A>,
    pub(crate) note: Option<String>,
    pub(crate) change: Option<ChangeEnd>,
}

// Not derived: the derive would ask for `A: Default`, which no action is.
impl<A> Default for Effects<A> {
    fn default() -> Self {
        Effects {
            actions: Vec::new(),
            note: None,
            change: None,
        }
    }
}

/// Moves to `next`, noting why.
pub(crate) fn go<S, A>(context: &mut Effects<A>, next: S, note: impl Into<String>) -> Step<S> {
    context.note = Some(note.into());
    Transition(next)
}

/// A poll that saw nothing new: stay, and queue `poll` again.
pub(crate) fn keep_polling<S, A>(
    context: &mut Effects<A>,
    poll: A,
    note: impl Into<String>,
) -> Step<S> {
    context.actions.push(poll);
    context.note = Some(note.into());
    Handled
}

/// Starts the teardown towards `then` at `first_step`, the kind's first
/// teardown state.
pub(crate) fn teardown<S, A>(
    context: &mut Effects<A>,
    then: Terminal,
    first_step: fn(Terminal) -> S,
) -> Step<S> {
    let note = match &then {
        Terminal::Deleted => "delete requested; tearing the connector down".to_string(),
        Terminal::Failed { reason } => {
            format!("{reason}; tearing down, the connector will end as failed")
        }
        Terminal::Rejected { reason } => {
            format!("{reason}; tearing down, the connector will end as rejected")
        }
    };
    go(context, first_step(then), note)
}

/// A delete request while tearing down.
pub(crate) fn delete_while_tearing_down<S, A>(
    then: &mut Terminal,
    context: &mut Effects<A>,
) -> Step<S> {
    // The step's action is already queued, so only the ending
    // changes; re-emitting it would just duplicate the job.
    if let Some(reason) = then.reason() {
        context.note = Some(format!(
            "delete requested during the rollback ({reason}); the connector will end as deleted"
        ));
        *then = Terminal::Deleted;
    } else {
        context.note = Some("delete already in progress".to_string());
    }
    Handled
}

/// A kind's three terminal states, as statig builds them.
pub(crate) struct Ends<S> {
    pub(crate) deleted: fn() -> S,
    pub(crate) failed: fn(String) -> S,
    pub(crate) rejected: fn(String) -> S,
}

/// The last teardown step is done: end in the terminal `then` names.
pub(crate) fn end_teardown<S, A>(
    context: &mut Effects<A>,
    then: &Terminal,
    ends: &Ends<S>,
) -> Step<S> {
    match then {
        Terminal::Deleted => go(
            context,
            (ends.deleted)(),
            "resources released; connector deleted",
        ),
        // A failed connector keeps its allocations (the worker does not
        // release them on the way to `failed`): a retry starts again with
        // them, and deleting it releases them.
        Terminal::Failed { reason } => go(
            context,
            (ends.failed)(reason.clone()),
            format!(
                "rolled back; connector failed: {reason} (it keeps its allocations until it is \
                 deleted)"
            ),
        ),
        Terminal::Rejected { reason } => go(
            context,
            (ends.rejected)(reason.clone()),
            format!("resources released; connector rejected: {reason}"),
        ),
    }
}

/// The customer asked for new settings: push them to the PE from `next`
/// (its entry action renders the connector's settings, already the new
/// ones in the row the API committed with this transition).
pub(crate) fn change_settings<S, A>(context: &mut Effects<A>, next: S) -> Step<S> {
    go(
        context,
        next,
        "settings change requested; pushing the new settings to the PE",
    )
}

/// The change is on the PE, read back: back to `active`, the new settings kept.
pub(crate) fn change_kept<S, A>(
    context: &mut Effects<A>,
    active: S,
    note: impl Into<String>,
) -> Step<S> {
    context.change = Some(ChangeEnd::Kept);
    go(context, active, note)
}

/// The PE refused the change (`reason`); nothing of it is on the PE, so the
/// connector goes on at `next` with the settings it had before.
pub(crate) fn change_reverted<S, A>(
    context: &mut Effects<A>,
    next: S,
    note: impl Into<String>,
) -> Step<S> {
    context.change = Some(ChangeEnd::Reverted);
    go(context, next, note)
}

/// A delete request for a connector that is already deleted.
pub(crate) fn already_deleted<S, A>(context: &mut Effects<A>) -> Step<S> {
    context.note = Some("already deleted; nothing to do".to_string());
    Handled
}

/// A delete request for a `failed` or `rejected` connector (`ending`). It
/// was already torn down, so deleting it only closes the record.
pub(crate) fn close<S, A>(
    context: &mut Effects<A>,
    deleted: S,
    ending: &str,
    reason: &str,
) -> Step<S> {
    go(
        context,
        deleted,
        format!("{ending} connector deleted; its resources were already released ({reason})"),
    )
}

/// The state a freshly ordered connector starts in (the machine's
/// `initial`), with its entry action.
pub(crate) fn start<M, A>(machine: M, note: impl Into<String>) -> Outcome<M::State, A>
where
    M: for<'ctx> IntoStateMachine<Context<'ctx> = Effects<A>>,
    M::State: State<M> + Clone,
    for<'sub> M::Superstate<'sub>: Superstate<M>,
{
    start_in(machine, M::initial(), note)
}

/// A freshly ordered connector starting in `state`, with its entry action.
pub(crate) fn start_in<M, A>(
    machine: M,
    state: M::State,
    note: impl Into<String>,
) -> Outcome<M::State, A>
where
    M: for<'ctx> IntoStateMachine<Context<'ctx> = Effects<A>>,
    M::State: State<M> + Clone,
    for<'sub> M::Superstate<'sub>: Superstate<M>,
{
    let mut machine = machine.uninitialized_state_machine();
    *machine.state_mut() = state;
    let mut effects = Effects::default();
    let machine = machine.init_with_context(&mut effects);
    Outcome {
        state: machine.state().clone(),
        actions: effects.actions,
        changed: true,
        note: note.into(),
        change: None,
    }
}

/// Feeds one event to the machine restored at `state`. `event_name` and
/// `state_name` only make the note when no handler wrote one.
pub(crate) fn handle<M, A>(
    machine: M,
    state: &M::State,
    event: &M::Event<'_>,
    event_name: &str,
    state_name: &str,
) -> Outcome<M::State, A>
where
    M: for<'ctx> IntoStateMachine<Context<'ctx> = Effects<A>>,
    M::State: State<M> + Clone + PartialEq,
    for<'sub> M::Superstate<'sub>: Superstate<M>,
{
    let mut machine = machine.uninitialized_state_machine();
    *machine.state_mut() = state.clone();
    // Initialising replays the restored state's entry action. That action was
    // emitted and committed when the state was first entered, so it is dropped.
    let mut machine = machine.init_with_context(&mut Effects::default());

    let mut effects = Effects::default();
    machine.handle_with_context(event, &mut effects);

    let next = machine.state().clone();
    let changed = next != *state;
    let note = effects
        .note
        .unwrap_or_else(|| format!("unexpected event {event_name} in state {state_name}"));
    Outcome {
        state: next,
        actions: effects.actions,
        changed,
        note,
        change: effects.change,
    }
}

/// The entry action of `state`, if any: what its standing job is.
pub(crate) fn entry_action<M, A>(machine: M, state: &M::State) -> Option<A>
where
    M: for<'ctx> IntoStateMachine<Context<'ctx> = Effects<A>>,
    M::State: State<M> + Clone,
    for<'sub> M::Superstate<'sub>: Superstate<M>,
    A: Copy,
{
    let mut machine = machine.uninitialized_state_machine();
    *machine.state_mut() = state.clone();
    let mut effects = Effects::default();
    machine.init_with_context(&mut effects);
    effects.actions.first().copied()
}

/// Reads a provider's wire string into one of `all`, by `as_str` and
/// ignoring case. Anything the provider adds later becomes `unknown`, which
/// the machines treat as "keep watching" rather than as a failure.
pub(crate) fn parse_wire<T: Copy>(
    all: &[T],
    as_str: fn(&T) -> &'static str,
    wire: &str,
    unknown: T,
) -> T {
    let wire = wire.trim();
    all.iter()
        .copied()
        .find(|s| as_str(s).eq_ignore_ascii_case(wire))
        .unwrap_or(unknown)
}
