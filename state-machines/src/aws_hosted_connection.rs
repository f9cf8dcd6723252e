//! Connector kind `aws-hosted-connection`: an AWS Direct Connect hosted
//! connection on one of the operator's interconnects, allocated with
//! onramp's VLAN for the customer's AWS account, plus the matching config
//! on the provider edge (PE) router.
//!
//! Unlike `aws-hosted-vif`, the virtual interface is the customer's: they
//! accept the hosted connection, create a private VIF on it in their own
//! account, and tell onramp its peer IPs, ASN and BGP key through the API.
//! Only then does onramp configure the PE, and from there it watches that
//! VIF. The VLAN is allocated by the API in the same transaction as the
//! order, so the machine starts at AWS and ends by handing it back.
//!
//! ```text
//! live ──────────────────────────────────────────────── delete_requested ──┐
//! │ allocating_connection                                                   │
//! │ waiting_customer_confirmation ─ declined (rejected) / deleted (failed) ─┤
//! │ waiting_vif_details ◀──────┐ ── connection deleted (failed) ────────────┤
//! │ configuring_pe             │ customer deleted their VIF                 │
//! │ watching_vif ──────────────┘                                            │
//! │ │ waiting_bgp → active ⇄ down                                           │
//! tearing_down {then} ◀─────────────────────────────────────────────────────┘
//! │ deleting_connection → removing_pe_config → releasing_resources
//! │ → deleted | failed | rejected
//! ```
//!
//! Every state has at most one standing action (its statig entry action):
//! the one job whose result it is waiting for. See [`current_action`].

use serde::{Deserialize, Serialize};
use statig::Outcome as Step;
use statig::Outcome::Super;
use statig::state_machine;

pub use crate::Terminal;
use crate::WaitingOn;
pub use crate::aws_hosted_vif::VifStatus;
use crate::aws_hosted_vif::describe;
use crate::machine::{
    self, Ends, already_deleted, change_kept, change_reverted, change_settings, close,
    delete_while_tearing_down, end_teardown, go, keep_polling,
};

mod docs;

#[cfg(test)]
mod tests;

pub use docs::{TransitionRow, mermaid, transition_table_markdown, transitions};

/// An input to the machine: a job result reported by the worker, or a request
/// from the API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// AWS accepted `AllocateHostedConnection` (or the connection already
    /// existed under our name).
    ConnectionAllocated { connection_id: String },
    /// AWS refused the allocation (wrong account, capacity, VLAN in use, ...).
    ConnectionAllocationRejected { reason: String },
    /// One poll of the hosted connection at AWS.
    ConnectionObserved { status: ConnectionStatus },
    /// The customer's VIF details (peer IPs, ASN, BGP key) were validated and
    /// stored by the API.
    VifDetailsProvided,
    /// The PE router committed the connector's config.
    PeConfigured,
    /// The PE router refused the config (validation or commit failed).
    PeFailed { reason: String },
    /// One poll of the customer's VIF on the hosted connection; `Deleted`
    /// when there is none any more.
    VifObserved { vif_state: VifStatus, bgp_up: bool },
    /// The customer (or ops) asked for the connector to be deleted.
    DeleteRequested,
    /// The customer (or ops) changed the connector's settings (bandwidth,
    /// BGP options); the row already holds the new ones.
    ChangeRequested,
    /// The customer (or ops) asked to start a failed connector again, once
    /// the cause is fixed; it still holds its allocations.
    RetryRequested,
    /// The hosted connection is gone at AWS (deleted now, or never existed).
    ConnectionDeleted,
    /// The PE no longer carries the connector's config.
    PeConfigRemoved,
    /// The VLAN is back in its pool.
    ResourcesReleased,
}

impl Event {
    /// snake_case name of the event, as in its serde `type` tag.
    pub fn name(&self) -> &'static str {
        match self {
            Event::ConnectionAllocated { .. } => "connection_allocated",
            Event::ConnectionAllocationRejected { .. } => "connection_allocation_rejected",
            Event::ConnectionObserved { .. } => "connection_observed",
            Event::VifDetailsProvided => "vif_details_provided",
            Event::PeConfigured => "pe_configured",
            Event::PeFailed { .. } => "pe_failed",
            Event::VifObserved { .. } => "vif_observed",
            Event::DeleteRequested => "delete_requested",
            Event::ChangeRequested => "change_requested",
            Event::RetryRequested => "retry_requested",
            Event::ConnectionDeleted => "connection_deleted",
            Event::PeConfigRemoved => "pe_config_removed",
            Event::ResourcesReleased => "resources_released",
        }
    }
}

/// AWS `ConnectionState`, closed over the values this machine reasons about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    Ordering,
    Requested,
    Pending,
    Available,
    Down,
    Deleting,
    Deleted,
    Rejected,
    Unknown,
}

impl ConnectionStatus {
    /// Every status, for exhaustive tests and docs.
    pub const ALL: [ConnectionStatus; 9] = [
        ConnectionStatus::Ordering,
        ConnectionStatus::Requested,
        ConnectionStatus::Pending,
        ConnectionStatus::Available,
        ConnectionStatus::Down,
        ConnectionStatus::Deleting,
        ConnectionStatus::Deleted,
        ConnectionStatus::Rejected,
        ConnectionStatus::Unknown,
    ];

    /// Reads the AWS wire string. Anything AWS adds later becomes `Unknown`,
    /// which the machine treats as "keep watching" rather than as a failure.
    pub fn parse(aws: &str) -> ConnectionStatus {
        machine::parse_wire(
            &ConnectionStatus::ALL,
            ConnectionStatus::as_str,
            aws,
            ConnectionStatus::Unknown,
        )
    }

    /// The AWS wire string.
    pub fn as_str(&self) -> &'static str {
        match self {
            ConnectionStatus::Ordering => "ordering",
            ConnectionStatus::Requested => "requested",
            ConnectionStatus::Pending => "pending",
            ConnectionStatus::Available => "available",
            ConnectionStatus::Down => "down",
            ConnectionStatus::Deleting => "deleting",
            ConnectionStatus::Deleted => "deleted",
            ConnectionStatus::Rejected => "rejected",
            ConnectionStatus::Unknown => "unknown",
        }
    }
}

/// Work the worker must do, idempotently, after committing the new state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    AllocateConnection,
    PollConnection,
    PushPeConfig,
    PollVif,
    DeleteConnection,
    RemovePeConfig,
    ReleaseResources,
}

impl Action {
    /// Every action, in lifecycle order.
    pub const ALL: [Action; 7] = [
        Action::AllocateConnection,
        Action::PollConnection,
        Action::PushPeConfig,
        Action::PollVif,
        Action::DeleteConnection,
        Action::RemovePeConfig,
        Action::ReleaseResources,
    ];

    /// snake_case name, as serialised.
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::AllocateConnection => "allocate_connection",
            Action::PollConnection => "poll_connection",
            Action::PushPeConfig => "push_pe_config",
            Action::PollVif => "poll_vif",
            Action::DeleteConnection => "delete_connection",
            Action::RemovePeConfig => "remove_pe_config",
            Action::ReleaseResources => "release_resources",
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

/// How a `ConnectionObserved` reads, independent of the state it arrives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Connection {
    /// Ordering or requested: not confirmed by the customer yet.
    Unconfirmed,
    /// Pending, available or down: the customer confirmed it.
    Confirmed,
    /// Rejected: the customer deleted it while it was ordering, which is how
    /// AWS records a decline.
    Declined,
    /// Deleting or deleted.
    Deleted,
    /// A state AWS added after this code was written.
    Unreadable,
}

impl Connection {
    fn of(status: ConnectionStatus) -> Connection {
        match status {
            ConnectionStatus::Ordering | ConnectionStatus::Requested => Connection::Unconfirmed,
            ConnectionStatus::Pending | ConnectionStatus::Available | ConnectionStatus::Down => {
                Connection::Confirmed
            }
            ConnectionStatus::Rejected => Connection::Declined,
            ConnectionStatus::Deleting | ConnectionStatus::Deleted => Connection::Deleted,
            ConnectionStatus::Unknown => Connection::Unreadable,
        }
    }

    fn label(&self) -> &'static str {
        match self {
            Connection::Unconfirmed => "ordering or requested",
            Connection::Confirmed => "pending, available or down",
            Connection::Declined => "rejected",
            Connection::Deleted => "deleting or deleted",
            Connection::Unreadable => "unknown",
        }
    }
}

/// How a `VifObserved` reads, independent of the state it arrives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Seen {
    /// The customer has not finished creating it.
    Confirming,
    /// Available with BGP up: passing traffic.
    Up,
    /// Not passing traffic: pending, verifying, down, testing, or available
    /// with BGP down.
    NotUp,
    /// Deleting, deleted or rejected: there is no usable VIF any more.
    Gone,
    /// A state AWS added after this code was written.
    Unreadable,
}

impl Seen {
    fn of(vif_state: VifStatus, bgp_up: bool) -> Seen {
        match vif_state {
            VifStatus::Confirming => Seen::Confirming,
            VifStatus::Available if bgp_up => Seen::Up,
            VifStatus::Available
            | VifStatus::Pending
            | VifStatus::Verifying
            | VifStatus::Down
            | VifStatus::Testing => Seen::NotUp,
            VifStatus::Deleting | VifStatus::Deleted | VifStatus::Rejected => Seen::Gone,
            VifStatus::Unknown => Seen::Unreadable,
        }
    }

    fn label(&self) -> &'static str {
        match self {
            Seen::Confirming => "confirming",
            Seen::Up => "available, BGP up",
            Seen::NotUp => "not up",
            Seen::Gone => "deleting, deleted or rejected",
            Seen::Unreadable => "unknown",
        }
    }
}

/// Every way out (delete, rollback, connection lost) takes the same teardown
/// path, so the cleanup is written once and a crash anywhere in it resumes.
///
/// It always starts at the hosted connection, whatever was done so far: the
/// worker's delete looks the connection up by name and is a no-op when there
/// is none, so a teardown that starts before anything was allocated costs
/// one describe call, and one that starts after a half-done allocation
/// cleans it up.
fn teardown(context: &mut Effects, then: Terminal) -> Step<State> {
    machine::teardown(context, then, State::deleting_connection)
}

/// The hosted connection went away behind onramp's back: whatever is left
/// on the router and in the pools must still be cleaned up.
fn connection_lost(
    context: &mut Effects,
    connection_id: &str,
    status: ConnectionStatus,
) -> Step<State> {
    teardown(
        context,
        Terminal::Failed {
            reason: format!(
                "AWS reports hosted connection {connection_id} as {}: it was deleted outside onramp",
                status.as_str()
            ),
        },
    )
}

/// The teardown states, in the order a teardown runs through them.
const TEARDOWN: [fn(Terminal) -> State; 3] = [
    State::deleting_connection,
    State::removing_pe_config,
    State::releasing_resources,
];

/// The three terminal states every teardown ends in.
const ENDS: Ends<State> = Ends {
    deleted: State::deleted,
    failed: State::failed,
    rejected: State::rejected,
};

// statig derives each state's fields from its handler's reference parameters,
// so string-carrying states must take `&String`, not `&str`.
#[allow(clippy::ptr_arg)]
#[state_machine(
    initial = "State::allocating_connection()",
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

    // AWS first: nothing on the router can be configured before the
    // customer has created their VIF, and that needs the connection.
    #[state(superstate = "live", entry_action = "allocate_connection")]
    fn allocating_connection(context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::ConnectionAllocated { connection_id } => go(
                context,
                State::waiting_customer_confirmation(connection_id.clone()),
                format!(
                    "hosted connection {connection_id} allocated; waiting for the customer to \
                     accept it"
                ),
            ),
            // No connection exists, but teardown starts at
            // deleting_connection anyway: the delete looks the connection up
            // by name, which covers an allocation that half-succeeded.
            Event::ConnectionAllocationRejected { reason } => teardown(
                context,
                Terminal::Failed {
                    reason: format!("AWS rejected the hosted connection: {reason}"),
                },
            ),
            _ => Super,
        }
    }

    #[state(superstate = "live", entry_action = "poll_connection")]
    fn waiting_customer_confirmation(
        connection_id: &String,
        context: &mut Effects,
        event: &Event,
    ) -> Step<State> {
        let Event::ConnectionObserved { status } = event else {
            return Super;
        };
        match Connection::of(*status) {
            Connection::Unconfirmed => keep_polling(
                context,
                Action::PollConnection,
                format!(
                    "hosted connection {connection_id} is {}; still awaiting the customer's \
                     acceptance",
                    status.as_str()
                ),
            ),
            Connection::Confirmed => go(
                context,
                State::waiting_vif_details(connection_id.clone()),
                format!(
                    "the customer accepted hosted connection {connection_id} ({}); waiting for \
                     them to create a VIF on it and send its details",
                    status.as_str()
                ),
            ),
            // AWS moves an ordering hosted connection to `rejected` when its
            // customer deletes it: that is how they say no.
            Connection::Declined => teardown(
                context,
                Terminal::Rejected {
                    reason: format!("the customer declined the hosted connection {connection_id}"),
                },
            ),
            // A customer who deletes an ordering connection leaves it
            // `rejected`, so `deleting` here means it was removed from the
            // interconnect's side, outside onramp.
            Connection::Deleted => connection_lost(context, connection_id, *status),
            // Flapping the connector on a state we cannot read would page
            // people for nothing; look again.
            Connection::Unreadable => keep_polling(
                context,
                Action::PollConnection,
                format!(
                    "AWS reports a connection state onramp does not recognise ({}); still \
                     waiting for the customer to accept hosted connection {connection_id}",
                    status.as_str()
                ),
            ),
        }
    }

    // The connection is still polled while the customer works on their VIF,
    // so a connection deleted at AWS meanwhile does not leave the connector
    // waiting forever.
    #[state(superstate = "live", entry_action = "poll_connection")]
    fn waiting_vif_details(
        connection_id: &String,
        context: &mut Effects,
        event: &Event,
    ) -> Step<State> {
        match event {
            Event::VifDetailsProvided => go(
                context,
                State::configuring_pe(connection_id.clone()),
                format!(
                    "the customer sent the details of their VIF on {connection_id}; configuring \
                     the PE router"
                ),
            ),
            Event::ConnectionObserved { status } => match Connection::of(*status) {
                // Once accepted, a connection that is declined or deleted was
                // removed behind onramp's back: a failure, not a decision.
                Connection::Declined | Connection::Deleted => {
                    connection_lost(context, connection_id, *status)
                }
                Connection::Unconfirmed | Connection::Confirmed | Connection::Unreadable => {
                    keep_polling(
                        context,
                        Action::PollConnection,
                        format!(
                            "hosted connection {connection_id} is {}; still waiting for the \
                             customer's VIF details",
                            status.as_str()
                        ),
                    )
                }
            },
            _ => Super,
        }
    }

    #[state(superstate = "live", entry_action = "push_pe_config")]
    fn configuring_pe(connection_id: &String, context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::PeConfigured => go(
                context,
                State::waiting_bgp(connection_id.clone()),
                "PE configured; waiting for the customer's VIF and its BGP session to come up",
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

    // ----- watching_vif: the PE is configured and the customer's VIF is polled -----
    //
    // The connection itself is no longer polled here: if it is deleted, the
    // VIF on it goes too, which leads back to waiting_vif_details, and that
    // state's connection poll then fails the connector.

    #[superstate(superstate = "live")]
    fn watching_vif(connection_id: &String, context: &mut Effects, event: &Event) -> Step<State> {
        let Event::VifObserved { vif_state, bgp_up } = event else {
            return Super;
        };
        match Seen::of(*vif_state, *bgp_up) {
            // The VIF is the customer's to delete and to recreate, so this is
            // not a failure: wait for the details of the next one. The PE
            // keeps the old config until then; the next push replaces it.
            Seen::Gone => go(
                context,
                State::waiting_vif_details(connection_id.clone()),
                format!(
                    "the customer's VIF on {connection_id} is {}; waiting for them to create a \
                     new one and send its details",
                    vif_state.as_str()
                ),
            ),
            // Flapping the connector on a state we cannot read would page
            // people for nothing; keep the last known state and look again.
            Seen::Unreadable => keep_polling(
                context,
                Action::PollVif,
                format!(
                    "AWS reports a VIF state onramp does not recognise ({}); still watching",
                    describe(*vif_state, *bgp_up)
                ),
            ),
            Seen::Confirming | Seen::Up | Seen::NotUp => Super,
        }
    }

    #[state(superstate = "watching_vif", entry_action = "poll_vif")]
    fn waiting_bgp(connection_id: &String, context: &mut Effects, event: &Event) -> Step<State> {
        let Event::VifObserved { vif_state, bgp_up } = event else {
            return Super;
        };
        match Seen::of(*vif_state, *bgp_up) {
            Seen::Up => go(
                context,
                State::active(connection_id.clone()),
                format!("the VIF on {connection_id} is available and BGP is up; connector active"),
            ),
            // It has never been up, so "down" here is still "not up yet", and
            // a confirming VIF is one the customer has not finished.
            Seen::Confirming | Seen::NotUp => keep_polling(
                context,
                Action::PollVif,
                format!(
                    "the VIF on {connection_id} is {}; waiting for it to come up",
                    describe(*vif_state, *bgp_up)
                ),
            ),
            Seen::Gone | Seen::Unreadable => Super,
        }
    }

    #[state(superstate = "watching_vif", entry_action = "poll_vif")]
    fn active(connection_id: &String, context: &mut Effects, event: &Event) -> Step<State> {
        if *event == Event::ChangeRequested {
            return change_settings(context, State::changing_pe(connection_id.clone()));
        }
        let Event::VifObserved { vif_state, bgp_up } = event else {
            return Super;
        };
        match Seen::of(*vif_state, *bgp_up) {
            Seen::Up => keep_polling(
                context,
                Action::PollVif,
                format!("the VIF on {connection_id} is available, BGP up"),
            ),
            Seen::Confirming | Seen::NotUp => go(
                context,
                State::down(connection_id.clone()),
                format!(
                    "the VIF on {connection_id} is {}; connector down",
                    describe(*vif_state, *bgp_up)
                ),
            ),
            Seen::Gone | Seen::Unreadable => Super,
        }
    }

    #[state(superstate = "watching_vif", entry_action = "poll_vif")]
    fn down(connection_id: &String, context: &mut Effects, event: &Event) -> Step<State> {
        if *event == Event::ChangeRequested {
            return change_settings(context, State::changing_pe(connection_id.clone()));
        }
        let Event::VifObserved { vif_state, bgp_up } = event else {
            return Super;
        };
        match Seen::of(*vif_state, *bgp_up) {
            Seen::Up => go(
                context,
                State::active(connection_id.clone()),
                format!("the VIF on {connection_id} recovered: available and BGP up"),
            ),
            Seen::Confirming | Seen::NotUp => keep_polling(
                context,
                Action::PollVif,
                format!(
                    "the VIF on {connection_id} is {}; still down",
                    describe(*vif_state, *bgp_up)
                ),
            ),
            Seen::Gone | Seen::Unreadable => Super,
        }
    }

    /// New settings on their way to the PE; back in `active`, the first
    /// poll says whether the service is still up.
    #[state(superstate = "live", entry_action = "push_pe_config")]
    fn changing_pe(connection_id: &String, context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::PeConfigured => change_kept(
                context,
                State::active(connection_id.clone()),
                "the PE took the new settings and read them back",
            ),
            Event::PeFailed { reason } => change_reverted(
                context,
                State::active(connection_id.clone()),
                format!(
                    "the PE refused the change ({reason}); the connector keeps its previous settings"
                ),
            ),
            _ => Super,
        }
    }
    // ----- tearing_down: deleting_connection → removing_pe_config → releasing_resources -----
    //
    // AWS first, since the hosted connection is what carries the customer's
    // traffic and the PE config only matters while it exists; the pools
    // last, so the VLAN is never reused while AWS or the PE still holds it.

    #[superstate]
    fn tearing_down(then: &mut Terminal, context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::DeleteRequested => delete_while_tearing_down(then, context),
            _ => Super,
        }
    }

    #[state(superstate = "tearing_down", entry_action = "delete_connection")]
    fn deleting_connection(then: &Terminal, context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::ConnectionDeleted => go(
                context,
                State::removing_pe_config(then.clone()),
                "hosted connection gone at AWS; removing the PE configuration",
            ),
            _ => Super,
        }
    }

    #[state(superstate = "tearing_down", entry_action = "remove_pe_config")]
    fn removing_pe_config(then: &Terminal, context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::PeConfigRemoved => go(
                context,
                State::releasing_resources(then.clone()),
                "PE configuration removed; releasing the connector's VLAN",
            ),
            _ => Super,
        }
    }

    #[state(superstate = "tearing_down", entry_action = "release_resources")]
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
            Event::RetryRequested => go(
                context,
                State::allocating_connection(),
                format!(
                    "retry requested after the failure ({reason}); allocating the hosted connection again with the resources the connector held"
                ),
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
    fn allocate_connection(context: &mut Effects) {
        context.actions.push(Action::AllocateConnection);
    }

    #[action]
    fn poll_connection(context: &mut Effects) {
        context.actions.push(Action::PollConnection);
    }

    #[action]
    fn push_pe_config(context: &mut Effects) {
        context.actions.push(Action::PushPeConfig);
    }

    #[action]
    fn poll_vif(context: &mut Effects) {
        context.actions.push(Action::PollVif);
    }

    #[action]
    fn delete_connection(context: &mut Effects) {
        context.actions.push(Action::DeleteConnection);
    }

    #[action]
    fn remove_pe_config(context: &mut Effects) {
        context.actions.push(Action::RemovePeConfig);
    }

    #[action]
    fn release_resources(context: &mut Effects) {
        context.actions.push(Action::ReleaseResources);
    }
}

/// The state a freshly ordered connector starts in, and its first actions
/// (`[AllocateConnection]`).
pub fn start() -> Outcome {
    machine::start(
        Machine,
        "connector ordered; allocating the hosted connection for the customer's AWS account",
    )
}

/// Feeds one event to the machine restored at `state`.
pub fn handle(state: &State, event: &Event) -> Outcome {
    machine::handle(Machine, state, event, event.name(), state_name(state))
}

/// The one action whose result `state` is waiting for (its entry action), if
/// any. A job carrying any other action is stale: the connector moved on
/// after it was queued (e.g. a `poll_vif` still queued when the customer's
/// VIF vanished and the connector went back to polling the connection), and
/// the worker should ack it without running it.
pub fn current_action(state: &State) -> Option<Action> {
    machine::entry_action(Machine, state)
}

/// snake_case public name of the state, one of [`STATE_NAMES`].
pub fn state_name(state: &State) -> &'static str {
    match state {
        State::AllocatingConnection {} => "allocating_connection",
        State::WaitingCustomerConfirmation { .. } => "waiting_customer_confirmation",
        State::WaitingVifDetails { .. } => "waiting_vif_details",
        State::ConfiguringPe { .. } => "configuring_pe",
        State::WaitingBgp { .. } => "waiting_bgp",
        State::Active { .. } => "active",
        State::ChangingPe { .. } => "changing_pe",
        State::Down { .. } => "down",
        State::DeletingConnection { .. } => "deleting_connection",
        State::RemovingPeConfig { .. } => "removing_pe_config",
        State::ReleasingResources { .. } => "releasing_resources",
        State::Deleted {} => "deleted",
        State::Failed { .. } => "failed",
        State::Rejected { .. } => "rejected",
    }
}

/// Every state name, in lifecycle order (for docs and the API schema).
pub const STATE_NAMES: &[&str] = &[
    "allocating_connection",
    "waiting_customer_confirmation",
    "waiting_vif_details",
    "configuring_pe",
    "waiting_bgp",
    "active",
    "down",
    "changing_pe",
    "deleting_connection",
    "removing_pe_config",
    "releasing_resources",
    "deleted",
    "failed",
    "rejected",
];

/// Who has to act for the connector to move on.
pub fn waiting_on(state: &State) -> WaitingOn {
    match state {
        State::ConfiguringPe { .. } | State::ChangingPe { .. } | State::RemovingPeConfig { .. } => {
            WaitingOn::Router
        }
        State::AllocatingConnection {}
        | State::DeletingConnection { .. }
        | State::ReleasingResources { .. } => WaitingOn::Onramp,
        State::WaitingCustomerConfirmation { .. } | State::WaitingVifDetails { .. } => {
            WaitingOn::Customer
        }
        State::WaitingBgp { .. } | State::Down { .. } => WaitingOn::Csp,
        State::Active { .. }
        | State::Deleted {}
        | State::Failed { .. }
        | State::Rejected { .. } => WaitingOn::Nobody,
    }
}

/// Nothing happens unless someone asks: a `failed` connector can be
/// retried or deleted (which releases what it holds), a `rejected` one
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
        State::AllocatingConnection {} => {
            "Nothing to do yet: onramp is creating the hosted connection for your AWS account."
        }
        State::WaitingCustomerConfirmation { .. } => {
            "Accept the hosted connection in your AWS console (Direct Connect → Connections → \
             select the connection → Accept). onramp notices by itself and carries on."
        }
        State::WaitingVifDetails { .. } => {
            "Create a private virtual interface on the hosted connection in your AWS console \
             (Direct Connect → Virtual interfaces → Create virtual interface), then enter its \
             peer IP addresses, BGP ASN and authentication key for this connector in the portal \
             or through the API."
        }
        State::ConfiguringPe { .. } => {
            "Nothing to do yet: onramp is configuring the provider edge router with your virtual \
             interface's details."
        }
        State::WaitingBgp { .. } => {
            "Nothing to do unless this lasts: AWS is bringing your virtual interface up and BGP \
             is establishing. If it stays here, check that the peer IPs, ASN and authentication \
             key you gave match the interface, and that it is attached to a gateway."
        }
        State::ChangingPe { .. } => {
            "Nothing to do: onramp is applying the connector's new settings on the provider edge \
             router; if the router refuses them, the connector keeps its previous settings."
        }
        State::Active { .. } => "Nothing to do: the connector is up and BGP is established.",
        State::Down { .. } => {
            "Your virtual interface or its BGP session is down. onramp keeps watching and marks \
             the connector active again when it recovers; if it persists, check the interface \
             in your AWS console (Direct Connect → Virtual interfaces)."
        }
        State::DeletingConnection { .. } => {
            "Nothing to do: onramp is deleting the hosted connection at AWS."
        }
        State::RemovingPeConfig { .. } => {
            "Nothing to do: onramp is removing the connector's configuration from the provider \
             edge router."
        }
        State::ReleasingResources { .. } => {
            "Nothing to do: onramp is releasing the connector's VLAN."
        }
        State::Deleted {} => "Nothing to do: the connector and its hosted connection are deleted.",
        State::Failed { .. } => {
            "Provisioning failed and was rolled back (see the failure reason); the connector still \
             holds its VLAN, addresses and ASN. Once the cause is fixed, retry it \
             (POST /v1/connectors/{id}/retry) to start again with them, or delete it to release them."
        }
        State::Rejected { .. } => {
            "The hosted connection was declined in AWS, so the order was rolled back. Delete \
             this connector, and order a new one if you still need it."
        }
    }
}

/// For terminal failed/rejected: the reason carried in the state. Also
/// returned while a rollback towards failed/rejected is still running, so
/// the portal can say why the connector is being torn down.
pub fn failure_reason(state: &State) -> Option<&str> {
    match state {
        State::Failed { reason } | State::Rejected { reason } => Some(reason),
        State::DeletingConnection { then }
        | State::RemovingPeConfig { then }
        | State::ReleasingResources { then } => then.reason(),
        _ => None,
    }
}

/// The AWS id of the hosted connection (`dxcon-…`), from its allocation
/// until teardown starts.
pub fn connection_id(state: &State) -> Option<&str> {
    match state {
        State::WaitingCustomerConfirmation { connection_id }
        | State::WaitingVifDetails { connection_id }
        | State::ConfiguringPe { connection_id }
        | State::WaitingBgp { connection_id }
        | State::Active { connection_id }
        | State::Down { connection_id }
        | State::ChangingPe { connection_id } => Some(connection_id),
        _ => None,
    }
}

crate::kind::machine!(
    AwsHostedConnection,
    AwsHostedConnection,
    release = ReleaseResources,
    router = router_event
);
crate::kind::single_attachment_router!(
    push = PushPeConfig,
    remove = RemovePeConfig,
    removed = PeConfigRemoved
);
