//! Connector kind `aws-hosted-vif`: an AWS Direct Connect hosted virtual
//! interface on one of the operator's interconnects, plus the matching
//! config on the provider edge (PE) router.
//!
//! The VLAN, /31 peering subnet, customer ASN and BGP MD5 key are allocated by
//! the API in the same transaction as the order, so the machine starts at the
//! router and ends by handing those resources back.
//!
//! ```text
//! live ─────────────────────────────── delete_requested ──┐
//! │ configuring_pe → allocating_vif                        │
//! │ watching_vif ───── VIF gone at AWS (failed) ───────────┤
//! │ │ waiting_customer_acceptance ── declined (rejected) ──┤
//! │ │ waiting_bgp → active ⇄ down                          │
//! tearing_down {then} ◀────────────────────────────────────┘
//! │ deleting_vif → removing_pe_config → releasing_resources → deleted | failed | rejected
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
    /// The PE router committed the connector's config.
    PeConfigured,
    /// The PE router refused the config (validation or commit failed).
    PeFailed { reason: String },
    /// AWS accepted `AllocateHostedPrivateVirtualInterface` (or the VIF
    /// already existed under our name).
    VifAllocated { vif_id: String },
    /// AWS refused the allocation (wrong account, quota, VLAN in use, ...).
    VifAllocationRejected { reason: String },
    /// One poll of the VIF at AWS.
    VifObserved { vif_state: VifStatus, bgp_up: bool },
    /// The customer (or ops) asked for the connector to be deleted.
    DeleteRequested,
    /// The customer (or ops) changed the connector's settings (bandwidth,
    /// BGP options); the row already holds the new ones.
    ChangeRequested,
    /// The customer (or ops) asked to start a failed connector again, once
    /// the cause is fixed; it still holds its allocations.
    RetryRequested,
    /// The VIF is gone at AWS (deleted now, or never existed).
    VifDeleted,
    /// The PE no longer carries the connector's config.
    PeConfigRemoved,
    /// VLAN, subnet, ASN and key are back in their pools.
    ResourcesReleased,
}

impl Event {
    /// snake_case name of the event, as in its serde `type` tag.
    pub fn name(&self) -> &'static str {
        match self {
            Event::PeConfigured => "pe_configured",
            Event::PeFailed { .. } => "pe_failed",
            Event::VifAllocated { .. } => "vif_allocated",
            Event::VifAllocationRejected { .. } => "vif_allocation_rejected",
            Event::VifObserved { .. } => "vif_observed",
            Event::DeleteRequested => "delete_requested",
            Event::ChangeRequested => "change_requested",
            Event::RetryRequested => "retry_requested",
            Event::VifDeleted => "vif_deleted",
            Event::PeConfigRemoved => "pe_config_removed",
            Event::ResourcesReleased => "resources_released",
        }
    }
}

/// AWS `VirtualInterfaceState`, closed over the values this machine reasons
/// about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VifStatus {
    Confirming,
    Verifying,
    Pending,
    Available,
    Down,
    Testing,
    Deleting,
    Deleted,
    Rejected,
    Unknown,
}

impl VifStatus {
    /// Every status, for exhaustive tests and docs.
    pub const ALL: [VifStatus; 10] = [
        VifStatus::Confirming,
        VifStatus::Verifying,
        VifStatus::Pending,
        VifStatus::Available,
        VifStatus::Down,
        VifStatus::Testing,
        VifStatus::Deleting,
        VifStatus::Deleted,
        VifStatus::Rejected,
        VifStatus::Unknown,
    ];

    /// Reads the AWS wire string. Anything AWS adds later becomes `Unknown`,
    /// which the machine treats as "keep watching" rather than as a failure.
    pub fn parse(aws: &str) -> VifStatus {
        machine::parse_wire(&VifStatus::ALL, VifStatus::as_str, aws, VifStatus::Unknown)
    }

    /// The AWS wire string.
    pub fn as_str(&self) -> &'static str {
        match self {
            VifStatus::Confirming => "confirming",
            VifStatus::Verifying => "verifying",
            VifStatus::Pending => "pending",
            VifStatus::Available => "available",
            VifStatus::Down => "down",
            VifStatus::Testing => "testing",
            VifStatus::Deleting => "deleting",
            VifStatus::Deleted => "deleted",
            VifStatus::Rejected => "rejected",
            VifStatus::Unknown => "unknown",
        }
    }
}

/// Work the worker must do, idempotently, after committing the new state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    PushPeConfig,
    AllocateVif,
    PollVif,
    DeleteVif,
    RemovePeConfig,
    ReleaseResources,
}

impl Action {
    /// snake_case name, as serialised.
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::PushPeConfig => "push_pe_config",
            Action::AllocateVif => "allocate_vif",
            Action::PollVif => "poll_vif",
            Action::DeleteVif => "delete_vif",
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

/// How a `VifObserved` reads, independent of the state it arrives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Seen {
    /// Not yet accepted by the customer.
    Confirming,
    /// Available with BGP up: passing traffic.
    Up,
    /// Accepted but not passing traffic: pending, verifying, down, testing,
    /// or available with BGP down.
    NotUp,
    /// Deleting or deleted at AWS.
    Gone,
    /// Declined by the customer.
    Declined,
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
            VifStatus::Deleting | VifStatus::Deleted => Seen::Gone,
            VifStatus::Rejected => Seen::Declined,
            VifStatus::Unknown => Seen::Unreadable,
        }
    }

    fn label(&self) -> &'static str {
        match self {
            Seen::Confirming => "confirming",
            Seen::Up => "available, BGP up",
            Seen::NotUp => "accepted, not up",
            Seen::Gone => "deleting or deleted",
            Seen::Declined => "rejected",
            Seen::Unreadable => "unknown",
        }
    }
}

/// How the timeline names one poll of a VIF (also `aws-hosted-connection`'s).
pub(crate) fn describe(vif_state: VifStatus, bgp_up: bool) -> String {
    let bgp = if bgp_up { "up" } else { "down" };
    format!("{}, BGP {bgp}", vif_state.as_str())
}

/// Every way out (delete, rollback, VIF lost) takes the same teardown path,
/// so the cleanup is written once and a crash anywhere in it resumes.
fn teardown(context: &mut Effects, then: Terminal) -> Step<State> {
    machine::teardown(context, then, State::deleting_vif)
}

/// The teardown states, in the order a teardown runs through them.
const TEARDOWN: [fn(Terminal) -> State; 3] = [
    State::deleting_vif,
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
    initial = "State::configuring_pe()",
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

    #[state(superstate = "live", entry_action = "push_pe_config")]
    fn configuring_pe(context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::PeConfigured => go(
                context,
                State::allocating_vif(),
                "PE configured; allocating the hosted VIF at AWS",
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

    #[state(superstate = "live", entry_action = "allocate_vif")]
    fn allocating_vif(context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::VifAllocated { vif_id } => go(
                context,
                State::waiting_customer_acceptance(vif_id.clone()),
                format!("VIF {vif_id} allocated; waiting for the customer to accept it"),
            ),
            // No VIF exists, but teardown starts at deleting_vif anyway: the
            // worker's delete looks the VIF up by name, so it costs one
            // describe call and covers an allocation that half-succeeded.
            Event::VifAllocationRejected { reason } => teardown(
                context,
                Terminal::Failed {
                    reason: format!("AWS rejected the VIF allocation: {reason}"),
                },
            ),
            _ => Super,
        }
    }

    // ----- watching_vif: a VIF exists and is polled -----

    #[superstate(superstate = "live")]
    fn watching_vif(context: &mut Effects, event: &Event) -> Step<State> {
        let Event::VifObserved { vif_state, bgp_up } = event else {
            return Super;
        };
        match Seen::of(*vif_state, *bgp_up) {
            // Once accepted, a VIF that disappears was removed behind our back:
            // that is a failure of the connector, not a customer decision.
            Seen::Gone | Seen::Declined => teardown(
                context,
                Terminal::Failed {
                    reason: format!(
                        "AWS reports the virtual interface as {}: it was removed outside onramp",
                        vif_state.as_str()
                    ),
                },
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
    fn waiting_customer_acceptance(
        vif_id: &String,
        context: &mut Effects,
        event: &Event,
    ) -> Step<State> {
        let Event::VifObserved { vif_state, bgp_up } = event else {
            return Super;
        };
        match Seen::of(*vif_state, *bgp_up) {
            Seen::Confirming => keep_polling(
                context,
                Action::PollVif,
                format!("VIF {vif_id} still awaits the customer's acceptance"),
            ),
            Seen::Up => go(
                context,
                State::active(vif_id.clone()),
                format!("customer accepted VIF {vif_id}; it is available and BGP is up"),
            ),
            Seen::NotUp => go(
                context,
                State::waiting_bgp(vif_id.clone()),
                format!(
                    "customer accepted VIF {vif_id} ({}); waiting for it to come up",
                    describe(*vif_state, *bgp_up)
                ),
            ),
            Seen::Declined => teardown(
                context,
                Terminal::Rejected {
                    reason: format!("the customer declined VIF {vif_id}"),
                },
            ),
            // Deleting a hosted VIF while it is still confirming is how the
            // AWS console lets a customer say no, so it counts as a decline.
            Seen::Gone => teardown(
                context,
                Terminal::Rejected {
                    reason: format!("the customer deleted VIF {vif_id} instead of accepting it"),
                },
            ),
            Seen::Unreadable => Super,
        }
    }

    #[state(superstate = "watching_vif", entry_action = "poll_vif")]
    fn waiting_bgp(vif_id: &String, context: &mut Effects, event: &Event) -> Step<State> {
        let Event::VifObserved { vif_state, bgp_up } = event else {
            return Super;
        };
        match Seen::of(*vif_state, *bgp_up) {
            Seen::Up => go(
                context,
                State::active(vif_id.clone()),
                format!("VIF {vif_id} is available and BGP is up; connector active"),
            ),
            // It has never been up, so "down" here is still "not up yet".
            Seen::Confirming | Seen::NotUp => keep_polling(
                context,
                Action::PollVif,
                format!(
                    "VIF {vif_id} {}; waiting for it to come up",
                    describe(*vif_state, *bgp_up)
                ),
            ),
            Seen::Gone | Seen::Declined | Seen::Unreadable => Super,
        }
    }

    #[state(superstate = "watching_vif", entry_action = "poll_vif")]
    fn active(vif_id: &String, context: &mut Effects, event: &Event) -> Step<State> {
        if *event == Event::ChangeRequested {
            return change_settings(context, State::changing_pe(vif_id.clone()));
        }
        let Event::VifObserved { vif_state, bgp_up } = event else {
            return Super;
        };
        match Seen::of(*vif_state, *bgp_up) {
            Seen::Up => keep_polling(
                context,
                Action::PollVif,
                format!("VIF {vif_id} available, BGP up"),
            ),
            Seen::Confirming | Seen::NotUp => go(
                context,
                State::down(vif_id.clone()),
                format!(
                    "VIF {vif_id} {}; connector down",
                    describe(*vif_state, *bgp_up)
                ),
            ),
            Seen::Gone | Seen::Declined | Seen::Unreadable => Super,
        }
    }

    #[state(superstate = "watching_vif", entry_action = "poll_vif")]
    fn down(vif_id: &String, context: &mut Effects, event: &Event) -> Step<State> {
        if *event == Event::ChangeRequested {
            return change_settings(context, State::changing_pe(vif_id.clone()));
        }
        let Event::VifObserved { vif_state, bgp_up } = event else {
            return Super;
        };
        match Seen::of(*vif_state, *bgp_up) {
            Seen::Up => go(
                context,
                State::active(vif_id.clone()),
                format!("VIF {vif_id} recovered: available and BGP up"),
            ),
            Seen::Confirming | Seen::NotUp => keep_polling(
                context,
                Action::PollVif,
                format!("VIF {vif_id} {}; still down", describe(*vif_state, *bgp_up)),
            ),
            Seen::Gone | Seen::Declined | Seen::Unreadable => Super,
        }
    }

    /// New settings on their way to the PE. The VIF is not polled meanwhile:
    /// back in `active`, the first poll says whether it is still up.
    #[state(superstate = "live", entry_action = "push_pe_config")]
    fn changing_pe(vif_id: &String, context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::PeConfigured => change_kept(
                context,
                State::active(vif_id.clone()),
                "the PE took the new settings and read them back",
            ),
            Event::PeFailed { reason } => change_reverted(
                context,
                State::active(vif_id.clone()),
                format!(
                    "the PE refused the change ({reason}); the connector keeps its previous settings"
                ),
            ),
            _ => Super,
        }
    }

    // ----- tearing_down: deleting_vif → removing_pe_config → releasing_resources -----

    #[superstate]
    fn tearing_down(then: &mut Terminal, context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::DeleteRequested => delete_while_tearing_down(then, context),
            _ => Super,
        }
    }

    #[state(superstate = "tearing_down", entry_action = "delete_vif")]
    fn deleting_vif(then: &Terminal, context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::VifDeleted => go(
                context,
                State::removing_pe_config(then.clone()),
                "VIF gone at AWS; removing the PE configuration",
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
                "PE configuration removed; releasing VLAN, subnet, ASN and BGP key",
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
                State::configuring_pe(),
                format!(
                    "retry requested after the failure ({reason}); configuring the PE router with the resources the connector held"
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
    fn push_pe_config(context: &mut Effects) {
        context.actions.push(Action::PushPeConfig);
    }

    #[action]
    fn allocate_vif(context: &mut Effects) {
        context.actions.push(Action::AllocateVif);
    }

    #[action]
    fn poll_vif(context: &mut Effects) {
        context.actions.push(Action::PollVif);
    }

    #[action]
    fn delete_vif(context: &mut Effects) {
        context.actions.push(Action::DeleteVif);
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
/// (`[PushPeConfig]`).
pub fn start() -> Outcome {
    machine::start(Machine, "connector ordered; configuring the PE router")
}

/// Feeds one event to the machine restored at `state`.
pub fn handle(state: &State, event: &Event) -> Outcome {
    machine::handle(Machine, state, event, event.name(), state_name(state))
}

/// The one action whose result `state` is waiting for (its entry action), if
/// any. A job carrying any other action is stale: the connector moved on
/// after it was queued (e.g. a `poll_vif` still queued when a delete came in),
/// and the worker should ack it without running it.
pub fn current_action(state: &State) -> Option<Action> {
    machine::entry_action(Machine, state)
}

/// snake_case public name of the state: "configuring_pe", "allocating_vif",
/// "waiting_customer_acceptance", "waiting_bgp", "active", "down", "deleting_vif",
/// "removing_pe_config", "releasing_resources", "deleted", "failed", "rejected".
pub fn state_name(state: &State) -> &'static str {
    match state {
        State::ConfiguringPe {} => "configuring_pe",
        State::AllocatingVif {} => "allocating_vif",
        State::WaitingCustomerAcceptance { .. } => "waiting_customer_acceptance",
        State::WaitingBgp { .. } => "waiting_bgp",
        State::Active { .. } => "active",
        State::Down { .. } => "down",
        State::ChangingPe { .. } => "changing_pe",
        State::DeletingVif { .. } => "deleting_vif",
        State::RemovingPeConfig { .. } => "removing_pe_config",
        State::ReleasingResources { .. } => "releasing_resources",
        State::Deleted {} => "deleted",
        State::Failed { .. } => "failed",
        State::Rejected { .. } => "rejected",
    }
}

/// Every state name, in lifecycle order (for docs and the API schema).
pub const STATE_NAMES: &[&str] = &[
    "configuring_pe",
    "allocating_vif",
    "waiting_customer_acceptance",
    "waiting_bgp",
    "active",
    "down",
    "changing_pe",
    "deleting_vif",
    "removing_pe_config",
    "releasing_resources",
    "deleted",
    "failed",
    "rejected",
];

/// Who has to act for the connector to move on.
pub fn waiting_on(state: &State) -> WaitingOn {
    match state {
        State::ConfiguringPe {} | State::ChangingPe { .. } | State::RemovingPeConfig { .. } => {
            WaitingOn::Router
        }
        State::AllocatingVif {} | State::DeletingVif { .. } | State::ReleasingResources { .. } => {
            WaitingOn::Onramp
        }
        State::WaitingCustomerAcceptance { .. } => WaitingOn::Customer,
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
        State::ConfiguringPe {} => {
            "Nothing to do yet: onramp is configuring the provider edge router for this connector."
        }
        State::AllocatingVif {} => {
            "Nothing to do yet: onramp is creating the hosted virtual interface in your AWS account."
        }
        State::WaitingCustomerAcceptance { .. } => {
            "Accept the virtual interface in your AWS console (Direct Connect → Virtual interfaces) \
             and attach it to a virtual private gateway or Direct Connect gateway."
        }
        State::WaitingBgp { .. } => {
            "Nothing to do unless this lasts: AWS is bringing the virtual interface up and BGP is \
             establishing. If it stays here, check in your AWS console that the interface is \
             attached to a gateway."
        }
        State::Active { .. } => "Nothing to do: the connector is up and BGP is established.",
        State::Down { .. } => {
            "The virtual interface or its BGP session is down. onramp keeps watching and marks the \
             connector active again when it recovers; if it persists, check the interface in your \
             AWS console (Direct Connect → Virtual interfaces)."
        }
        State::ChangingPe { .. } => {
            "Nothing to do: onramp is applying the connector's new settings on the provider edge \
             router; if the router refuses them, the connector keeps its previous settings."
        }
        State::DeletingVif { .. } => {
            "Nothing to do: onramp is deleting the hosted virtual interface at AWS."
        }
        State::RemovingPeConfig { .. } => {
            "Nothing to do: onramp is removing the connector's configuration from the provider edge router."
        }
        State::ReleasingResources { .. } => {
            "Nothing to do: onramp is releasing the connector's VLAN, peering subnet, ASN and BGP key."
        }
        State::Deleted {} => "Nothing to do: the connector is deleted.",
        State::Failed { .. } => {
            "Provisioning failed and was rolled back (see the failure reason); the connector still \
             holds its VLAN, addresses and ASN. Once the cause is fixed, retry it \
             (POST /v1/connectors/{id}/retry) to start again with them, or delete it to release them."
        }
        State::Rejected { .. } => {
            "The virtual interface was declined or deleted in AWS before it was accepted. Delete \
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
        State::DeletingVif { then }
        | State::RemovingPeConfig { then }
        | State::ReleasingResources { then } => then.reason(),
        _ => None,
    }
}

/// The AWS id of the VIF, once allocated and while it is being watched.
pub fn vif_id(state: &State) -> Option<&str> {
    match state {
        State::WaitingCustomerAcceptance { vif_id }
        | State::WaitingBgp { vif_id }
        | State::Active { vif_id }
        | State::Down { vif_id }
        | State::ChangingPe { vif_id } => Some(vif_id),
        _ => None,
    }
}

crate::kind::machine!(
    AwsHostedVif,
    AwsHostedVif,
    release = ReleaseResources,
    router = router_event
);
crate::kind::single_attachment_router!(
    push = PushPeConfig,
    remove = RemovePeConfig,
    removed = PeConfigRemoved
);
