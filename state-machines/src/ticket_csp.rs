//! Connector kind `ticket-csp`: a provider without an API, provisioned by
//! people following the provider's runbook (issue 6). The runbook is data
//! ([`crate::ticket_runbook`]): an ordered list of manual steps, each an ops
//! task with instructions, fields to fill in and an SLA. The machine opens
//! one task per manual step and waits for it, then runs the automated steps:
//! the PE push with what the tasks collected (provider VLAN, peer IP and
//! ASN), then the BGP check.
//!
//! The VLAN and addresses on onramp's side are allocated by the API in the
//! same transaction as the order, as for the other kinds, so the machine
//! starts at the first task and ends by handing them back. The number of
//! manual steps is fixed at order time (the runbook is snapshotted with the
//! connector) and carried in the state.
//!
//! ```text
//! live ─────────────────────────────────────────── delete_requested ──┐
//! │ waiting_ops{0 of n} → … → waiting_ops{n-1 of n}                    │
//! │ │  └─ task_rejected (the provider refused) (failed) ──────────────┤
//! │ configuring_pe ─ pe_failed (failed) ─────────────────────────────┤
//! │ waiting_bgp ⇄ active (bgp_observed up / down)                      │
//! tearing_down {then} ◀────────────────────────────────────────────────┘
//! │ removing_pe → releasing_resources → deleted | failed | rejected
//! ```
//!
//! Every state has at most one standing action (its statig entry action):
//! the one job whose result it is waiting for. See [`current_action`]. A
//! manual step's standing action is `open_task{step_index}`: opening the
//! task is the job, and its result is the person completing or rejecting it.

use serde::{Deserialize, Serialize};
use statig::Outcome as Step;
use statig::Outcome::Super;
use statig::state_machine;

pub use crate::Terminal;
use crate::WaitingOn;
use crate::machine::{
    self, Ends, already_deleted, change_kept, change_reverted, change_settings, close,
    delete_while_tearing_down, end_teardown, go, keep_polling,
};

mod docs;

#[cfg(test)]
mod tests;

pub use docs::{TransitionRow, mermaid, transition_table_markdown, transitions};

/// An input to the machine: a job result reported by the worker, an ops
/// task closed in the console, or a request from the API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A person completed the task of manual step `step_index`. The API has
    /// already checked its fields with [`crate::ticket_runbook::validate`]
    /// and stored them with the connector's resources, where the PE push
    /// finds them.
    TaskCompleted { step_index: usize },
    /// A person rejected the task of manual step `step_index`: the provider
    /// refused the order, with `reason`.
    TaskRejected { step_index: usize, reason: String },
    /// The PE router committed the connector's config.
    PeConfigured,
    /// The PE router refused the config (validation or commit failed).
    PeFailed { reason: String },
    /// One check of the connector's BGP session on the PE.
    BgpObserved { up: bool },
    /// The customer (or ops) asked for the connector to be deleted.
    DeleteRequested,
    /// The customer (or ops) changed the connector's settings (bandwidth,
    /// BGP options); the row already holds the new ones.
    ChangeRequested,
    /// The PE no longer carries the connector's config.
    PeRemoved,
    /// The connector's allocations are back in their pools.
    ResourcesReleased,
}

impl Event {
    /// snake_case name of the event, as in its serde `type` tag.
    pub fn name(&self) -> &'static str {
        match self {
            Event::TaskCompleted { .. } => "task_completed",
            Event::TaskRejected { .. } => "task_rejected",
            Event::PeConfigured => "pe_configured",
            Event::PeFailed { .. } => "pe_failed",
            Event::BgpObserved { .. } => "bgp_observed",
            Event::DeleteRequested => "delete_requested",
            Event::ChangeRequested => "change_requested",
            Event::PeRemoved => "pe_removed",
            Event::ResourcesReleased => "resources_released",
        }
    }
}

/// Work the worker must do, idempotently, after committing the new state.
///
/// Serialised externally tagged: `"push_pe"`, and
/// `{"open_task":{"step_index":0}}` for the one that carries data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Open the ops task for manual step `step_index` of the connector's
    /// runbook (a no-op if it is already open). Carrying the index lets the
    /// worker drop a job queued for an earlier step as stale.
    OpenTask {
        step_index: usize,
    },
    PushPe,
    CheckBgp,
    RemovePe,
    Release,
}

impl Action {
    /// snake_case name, as serialised (the tag, for `open_task`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::OpenTask { .. } => "open_task",
            Action::PushPe => "push_pe",
            Action::CheckBgp => "check_bgp",
            Action::RemovePe => "remove_pe",
            Action::Release => "release",
        }
    }
}

/// The result of [`start`] or [`handle`].
pub type Outcome = crate::Outcome<State, Action>;

/// The statig shared storage. Empty: everything a connector needs to persist
/// lives in [`State`], so the state alone is the persisted form.
struct Machine;

/// statig's context: what a handler asks the world for while it runs.
type Effects = machine::Effects<Action>;

/// Every way out (delete, rollback) takes the same teardown path, so the
/// cleanup is written once and a crash anywhere in it resumes.
///
/// It always starts at the PE, whatever was done so far: removing a config
/// that was never pushed is a no-op for the worker, so a teardown that
/// starts during a manual step costs one empty commit check.
fn teardown(context: &mut Effects, then: Terminal) -> Step<State> {
    machine::teardown(context, then, State::removing_pe)
}

/// The teardown states, in the order a teardown runs through them.
const TEARDOWN: [fn(Terminal) -> State; 2] = [State::removing_pe, State::releasing_resources];

/// The three terminal states every teardown ends in.
const ENDS: Ends<State> = Ends {
    deleted: State::deleted,
    failed: State::failed,
    rejected: State::rejected,
};

/// Where the machine goes once manual step `done` of `steps` is complete.
fn after_step(context: &mut Effects, done: usize, steps: usize) -> Step<State> {
    let next = done + 1;
    if next < steps {
        go(
            context,
            State::waiting_ops(next, steps),
            format!(
                "ops completed manual step {} of {steps}; opening the task for step {}",
                done + 1,
                next + 1
            ),
        )
    } else {
        go(
            context,
            State::configuring_pe(),
            format!(
                "ops completed manual step {} of {steps}, the last; configuring the PE with \
                 what the tasks collected",
                done + 1
            ),
        )
    }
}

// statig derives each state's fields from its handler's reference parameters,
// so string-carrying states must take `&String`, not `&str`.
#[allow(clippy::ptr_arg)]
#[state_machine(
    initial = "State::waiting_ops(0, 1)",
    state(derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize))
)]
impl Machine {
    // ----- live: not being torn down -----

    #[superstate]
    fn live(context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::DeleteRequested => teardown(context, Terminal::Deleted),
            _ => Super,
        }
    }

    // `step` counts from 0; `steps` is how many manual steps the
    // connector's runbook has, at least 1 here (a runbook without any starts
    // at configuring_pe). A completion or rejection for another step is a
    // late or duplicate one and is ignored.
    #[state(superstate = "live", entry_action = "open_task")]
    fn waiting_ops(
        step: &usize,
        steps: &usize,
        context: &mut Effects,
        event: &Event,
    ) -> Step<State> {
        match event {
            Event::TaskCompleted { step_index } if step_index == step => {
                after_step(context, *step, *steps)
            }
            Event::TaskRejected { step_index, reason } if step_index == step => teardown(
                context,
                Terminal::Failed {
                    reason: format!("ops rejected manual step {} of {steps}: {reason}", step + 1),
                },
            ),
            _ => Super,
        }
    }

    #[state(superstate = "live", entry_action = "push_pe")]
    fn configuring_pe(context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::PeConfigured => go(
                context,
                State::waiting_bgp(),
                "PE configured; waiting for the BGP session with the provider",
            ),
            Event::PeFailed { reason } => teardown(
                context,
                Terminal::Failed {
                    reason: format!("the PE router refused the configuration: {reason}"),
                },
            ),
            _ => Super,
        }
    }

    // The provider brings its side up on its own schedule; a session that
    // never comes up is for ops to chase with the provider, not a reason
    // for the machine to give up (it has no clock).
    #[state(superstate = "live", entry_action = "check_bgp")]
    fn waiting_bgp(context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::BgpObserved { up: true } => go(
                context,
                State::active(),
                "BGP session with the provider established; connector active",
            ),
            Event::BgpObserved { up: false } => keep_polling(
                context,
                Action::CheckBgp,
                "BGP session with the provider not up yet; checking again",
            ),
            _ => Super,
        }
    }

    #[state(superstate = "live", entry_action = "check_bgp")]
    fn active(context: &mut Effects, event: &Event) -> Step<State> {
        if *event == Event::ChangeRequested {
            return change_settings(context, State::changing_pe());
        }
        match event {
            Event::BgpObserved { up: true } => {
                keep_polling(context, Action::CheckBgp, "BGP session up")
            }
            // Flapping to failed would tear down a circuit someone paid
            // for; wait for it to come back and let ops chase the provider.
            Event::BgpObserved { up: false } => go(
                context,
                State::waiting_bgp(),
                "BGP session with the provider went down; waiting for it to come back",
            ),
            _ => Super,
        }
    }

    /// New settings on their way to the PE; back in `active`, the first
    /// poll says whether the service is still up.
    #[state(superstate = "live", entry_action = "push_pe")]
    fn changing_pe(context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::PeConfigured => change_kept(
                context,
                State::active(),
                "the PE took the new settings and read them back",
            ),
            Event::PeFailed { reason } => change_reverted(
                context,
                State::active(),
                format!(
                    "the PE refused the change ({reason}); the connector keeps its previous settings"
                ),
            ),
            _ => Super,
        }
    }
    // ----- tearing_down: removing_pe → releasing_resources -----
    //
    // The pools last, so the VLAN and addresses are never reused while the
    // PE still holds them.

    #[superstate]
    fn tearing_down(then: &mut Terminal, context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::DeleteRequested => delete_while_tearing_down(then, context),
            _ => Super,
        }
    }

    #[state(superstate = "tearing_down", entry_action = "remove_pe")]
    fn removing_pe(then: &Terminal, context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::PeRemoved => go(
                context,
                State::releasing_resources(then.clone()),
                "PE configuration removed; releasing the connector's VLAN and addresses",
            ),
            _ => Super,
        }
    }

    #[state(superstate = "tearing_down", entry_action = "release")]
    fn releasing_resources(then: &Terminal, context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::ResourcesReleased => end_teardown(context, then, &ENDS),
            _ => Super,
        }
    }

    // ----- terminals -----

    #[state]
    fn deleted(context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::DeleteRequested => already_deleted(context),
            _ => Super,
        }
    }

    // A failed connector was rolled back but keeps its allocations, for a
    // retry; deleting it releases them. A rejected one released them
    // already, so deleting it only closes the record.
    #[state]
    fn failed(reason: &String, context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::DeleteRequested => go(
                context,
                State::releasing_resources(Terminal::Deleted),
                format!("failed connector deleted ({reason}); releasing the resources it held"),
            ),
            _ => Super,
        }
    }

    #[state]
    fn rejected(reason: &String, context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::DeleteRequested => close(context, State::deleted(), "rejected", reason),
            _ => Super,
        }
    }

    // ----- entry actions: each state's standing job -----

    #[action]
    fn open_task(step: &usize, context: &mut Effects) {
        context.actions.push(Action::OpenTask { step_index: *step });
    }

    #[action]
    fn push_pe(context: &mut Effects) {
        context.actions.push(Action::PushPe);
    }

    #[action]
    fn check_bgp(context: &mut Effects) {
        context.actions.push(Action::CheckBgp);
    }

    #[action]
    fn remove_pe(context: &mut Effects) {
        context.actions.push(Action::RemovePe);
    }

    #[action]
    fn release(context: &mut Effects) {
        context.actions.push(Action::Release);
    }
}

/// The state a freshly ordered connector starts in, and its first actions:
/// `[OpenTask{0}]` for a runbook with `manual_steps` ≥ 1, `[PushPe]` for one
/// without manual steps.
pub fn start(manual_steps: usize) -> Outcome {
    if manual_steps == 0 {
        machine::start_in(
            Machine,
            State::configuring_pe(),
            "connector ordered; the provider's runbook has no manual steps, configuring the PE",
        )
    } else {
        machine::start_in(
            Machine,
            State::waiting_ops(0, manual_steps),
            format!(
                "connector ordered; opening the ops task for manual step 1 of {manual_steps} of \
                 the provider's runbook"
            ),
        )
    }
}

/// Feeds one event to the machine restored at `state`.
pub fn handle(state: &State, event: &Event) -> Outcome {
    machine::handle(Machine, state, event, event.name(), state_name(state))
}

/// The one action whose result `state` is waiting for (its entry action), if
/// any. A job carrying any other action is stale: the connector moved on
/// after it was queued (e.g. an `open_task` for a step already completed, or
/// a `check_bgp` still queued when a delete came in), and the worker should
/// ack it without running it.
pub fn current_action(state: &State) -> Option<Action> {
    machine::entry_action(Machine, state)
}

/// The manual step whose ops task is open, if any: `(step_index, steps)`.
pub fn open_step(state: &State) -> Option<(usize, usize)> {
    match state {
        State::WaitingOps { step, steps } => Some((*step, *steps)),
        _ => None,
    }
}

/// snake_case public name of the state, one of [`STATE_NAMES`].
pub fn state_name(state: &State) -> &'static str {
    match state {
        State::WaitingOps { .. } => "waiting_ops",
        State::ConfiguringPe {} => "configuring_pe",
        State::WaitingBgp {} => "waiting_bgp",
        State::Active {} => "active",
        State::ChangingPe { .. } => "changing_pe",
        State::RemovingPe { .. } => "removing_pe",
        State::ReleasingResources { .. } => "releasing_resources",
        State::Deleted {} => "deleted",
        State::Failed { .. } => "failed",
        State::Rejected { .. } => "rejected",
    }
}

/// Every state name, in lifecycle order (for docs and the API schema).
pub const STATE_NAMES: &[&str] = &[
    "waiting_ops",
    "configuring_pe",
    "waiting_bgp",
    "active",
    "changing_pe",
    "removing_pe",
    "releasing_resources",
    "deleted",
    "failed",
    "rejected",
];

/// Who has to act for the connector to move on.
pub fn waiting_on(state: &State) -> WaitingOn {
    match state {
        State::WaitingOps { .. } => WaitingOn::Ops,
        State::ConfiguringPe {} | State::ChangingPe {} | State::RemovingPe { .. } => {
            WaitingOn::Router
        }
        State::ReleasingResources { .. } => WaitingOn::Onramp,
        State::WaitingBgp {} => WaitingOn::Csp,
        State::Active {} | State::Deleted {} | State::Failed { .. } | State::Rejected { .. } => {
            WaitingOn::Nobody
        }
    }
}

/// Nothing happens unless someone asks: a `failed` connector can be
/// deleted (which releases what it holds), a `rejected` one
/// deleted (which only closes the record).
pub fn is_terminal(state: &State) -> bool {
    matches!(
        state,
        State::Deleted {} | State::Failed { .. } | State::Rejected { .. }
    )
}

/// What happens next, for people.
pub fn next_step(state: &State) -> &'static str {
    match state {
        State::WaitingOps { .. } => {
            "Nothing to do yet: the operator's team is ordering your circuit from the provider, \
             one step of the provider's process at a time. This takes days rather than minutes."
        }
        State::ConfiguringPe {} => {
            "Nothing to do yet: onramp is configuring the provider edge router with the VLAN and \
             BGP details the provider gave."
        }
        State::WaitingBgp {} => {
            "Nothing to do yet: onramp is waiting for the provider to bring up the BGP session \
             on their side."
        }
        State::ChangingPe { .. } => {
            "Nothing to do: onramp is applying the connector's new settings on the provider edge \
             router; if the router refuses them, the connector keeps its previous settings."
        }
        State::Active {} => {
            "Nothing to do: the connector is up and BGP with the provider is established."
        }
        State::RemovingPe { .. } => {
            "Nothing to do: onramp is removing the connector's configuration from the provider \
             edge router."
        }
        State::ReleasingResources { .. } => {
            "Nothing to do: onramp is releasing the connector's VLAN and addresses."
        }
        State::Deleted {} => "The connector is deleted.",
        State::Failed { .. } => {
            "Provisioning failed and was rolled back (see the failure reason); the connector still \
             holds its VLAN, addresses and ASN. Delete it to release them, and order again once the \
             provider's issue is settled."
        }
        State::Rejected { .. } => {
            "The order was declined and rolled back (see the reason). Delete this connector, \
             and order a new one if you still need it."
        }
    }
}

/// For terminal failed/rejected: the reason carried in the state. Also
/// returned while a rollback towards failed/rejected is still running, so
/// the portal can say why the connector is being torn down.
pub fn failure_reason(state: &State) -> Option<&str> {
    match state {
        State::Failed { reason } | State::Rejected { reason } => Some(reason),
        State::RemovingPe { then } | State::ReleasingResources { then } => then.reason(),
        _ => None,
    }
}

crate::kind::machine!(
    TicketCsp,
    TicketCsp,
    release = Release,
    router = router_event,
    parse_action = parse_action
);
crate::kind::single_attachment_router!(push = PushPe, remove = RemovePe, removed = PeRemoved);

/// A job names only its action; `open_task` carries the step, so it is read
/// against `state`: the standing open_task, if the state has one, otherwise
/// one no state stands for, so the job is dropped as stale.
fn parse_action(name: &str, state: &State) -> Option<Action> {
    match name {
        "open_task" => Some(match current_action(state) {
            Some(a @ Action::OpenTask { .. }) => a,
            _ => Action::OpenTask {
                step_index: usize::MAX,
            },
        }),
        other => serde_json::from_value(serde_json::Value::String(other.to_string())).ok(),
    }
}
