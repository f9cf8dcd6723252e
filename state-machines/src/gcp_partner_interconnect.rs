//! Connector kind `gcp-partner-interconnect`: a Google Cloud Partner
//! Interconnect VLAN attachment. The customer creates a `PARTNER` attachment
//! in their project and hands onramp its pairing key; onramp creates the
//! matching `PARTNER_PROVIDER` attachment on its own interconnect, Google
//! picks the /29 and its two addresses, and onramp configures the provider
//! edge (PE) router with them and Google's ASN (16550). The customer then
//! activates the attachment in their project.
//!
//! The VLAN is allocated by the API in the same transaction as the order, so
//! the machine starts at Google and ends by handing it back.
//!
//! ```text
//! live ────────────────────────────────────────── delete_requested ──┐
//! │ creating_attachment → configuring_pe                              │
//! │ watching_attachment                                               │
//! │ │ waiting_customer_activation ─ deleted by customer (rejected) ────┤
//! │ │ ⇅ (activated / deactivated)                                     │
//! │ │ active ─────────────────────── removed outside onramp (failed) ─┤
//! tearing_down {then} ◀───────────────────────────────────────────────┘
//! │ deleting_attachment → removing_pe_config → releasing_resources
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
use crate::machine::{
    self, Ends, already_deleted, change_kept, change_reverted, close, delete_while_tearing_down,
    end_teardown, go, keep_polling,
};

mod docs;

#[cfg(test)]
mod tests;

pub use docs::{TransitionRow, mermaid, transition_table_markdown, transitions};

/// Google's BGP ASN on every Partner Interconnect Cloud Router session.
pub const GOOGLE_ASN: u32 = 16550;

/// An input to the machine: a job result reported by the worker, or a request
/// from the API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// Google created the `PARTNER_PROVIDER` attachment (or it already existed
    /// under our name) and assigned the /29: `cloud_router_ip` is Google's
    /// side, `customer_router_ip` onramp's PE side, both in CIDR notation
    /// (e.g. `169.254.67.201/29`).
    AttachmentCreated {
        cloud_router_ip: String,
        customer_router_ip: String,
    },
    /// Google refused the attachment (unknown or used pairing key, region
    /// mismatch, quota, ...).
    AttachmentFailed { reason: String },
    /// The PE router committed the connector's config.
    PeConfigured,
    /// The PE router refused the config (validation or commit failed).
    PeFailed { reason: String },
    /// One poll of the attachment at Google.
    AttachmentObserved { status: AttachmentStatus },
    /// The customer (or ops) asked for the connector to be deleted.
    DeleteRequested,
    /// The customer (or ops) changed the connector's settings (bandwidth,
    /// BGP options); the row already holds the new ones.
    ChangeRequested,
    /// The attachment's capacity at Google is the connector's bandwidth.
    AttachmentUpdated,
    /// Google refused the new capacity.
    AttachmentUpdateFailed { reason: String },
    /// The customer (or ops) asked to start a failed connector again, once
    /// the cause is fixed; it still holds its allocations.
    RetryRequested,
    /// The attachment is gone at Google (deleted now, or never existed).
    AttachmentDeleted,
    /// The PE no longer carries the connector's config.
    PeConfigRemoved,
    /// The connector's allocations are back in their pools.
    ResourcesReleased,
}

impl Event {
    /// snake_case name of the event, as in its serde `type` tag.
    pub fn name(&self) -> &'static str {
        match self {
            Event::AttachmentCreated { .. } => "attachment_created",
            Event::AttachmentFailed { .. } => "attachment_failed",
            Event::PeConfigured => "pe_configured",
            Event::PeFailed { .. } => "pe_failed",
            Event::AttachmentObserved { .. } => "attachment_observed",
            Event::DeleteRequested => "delete_requested",
            Event::ChangeRequested => "change_requested",
            Event::AttachmentUpdated => "attachment_updated",
            Event::AttachmentUpdateFailed { .. } => "attachment_update_failed",
            Event::RetryRequested => "retry_requested",
            Event::AttachmentDeleted => "attachment_deleted",
            Event::PeConfigRemoved => "pe_config_removed",
            Event::ResourcesReleased => "resources_released",
        }
    }
}

/// The `state` of a Compute Engine `interconnectAttachment`, closed over the
/// values this machine reasons about, plus `Gone` for an attachment that no
/// longer exists (a 404), which Google reports as an error, not a state.
///
/// Serialised as Google's upper-case wire string, so `as_str`, serde and the
/// API all agree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AttachmentStatus {
    PendingPartner,
    PartnerRequestReceived,
    PendingCustomer,
    Active,
    Unprovisioned,
    Defunct,
    Gone,
    Unknown,
}

impl AttachmentStatus {
    /// Every status, for exhaustive tests and docs.
    pub const ALL: [AttachmentStatus; 8] = [
        AttachmentStatus::PendingPartner,
        AttachmentStatus::PartnerRequestReceived,
        AttachmentStatus::PendingCustomer,
        AttachmentStatus::Active,
        AttachmentStatus::Unprovisioned,
        AttachmentStatus::Defunct,
        AttachmentStatus::Gone,
        AttachmentStatus::Unknown,
    ];

    /// Reads Google's wire string (`PENDING_CUSTOMER`, ...). Anything else,
    /// `STATE_UNSPECIFIED` or a state Google adds later, becomes `Unknown`,
    /// which the machine treats as "keep watching" rather than as a failure.
    pub fn parse(google: &str) -> AttachmentStatus {
        machine::parse_wire(
            &AttachmentStatus::ALL,
            AttachmentStatus::as_str,
            google,
            AttachmentStatus::Unknown,
        )
    }

    /// Google's wire string; `GONE` and `UNKNOWN` are onramp's own.
    pub fn as_str(&self) -> &'static str {
        match self {
            AttachmentStatus::PendingPartner => "PENDING_PARTNER",
            AttachmentStatus::PartnerRequestReceived => "PARTNER_REQUEST_RECEIVED",
            AttachmentStatus::PendingCustomer => "PENDING_CUSTOMER",
            AttachmentStatus::Active => "ACTIVE",
            AttachmentStatus::Unprovisioned => "UNPROVISIONED",
            AttachmentStatus::Defunct => "DEFUNCT",
            AttachmentStatus::Gone => "GONE",
            AttachmentStatus::Unknown => "UNKNOWN",
        }
    }
}

/// Work the worker must do, idempotently, after committing the new state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    CreateAttachment,
    PushPeConfig,
    PollAttachment,
    /// Makes the attachment's capacity at Google the connector's bandwidth
    /// (nothing to do when it already is).
    UpdateAttachment,
    DeleteAttachment,
    RemovePeConfig,
    ReleaseResources,
}

impl Action {
    /// Every action, in lifecycle order.
    pub const ALL: [Action; 7] = [
        Action::CreateAttachment,
        Action::PushPeConfig,
        Action::PollAttachment,
        Action::UpdateAttachment,
        Action::DeleteAttachment,
        Action::RemovePeConfig,
        Action::ReleaseResources,
    ];

    /// snake_case name, as serialised.
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::CreateAttachment => "create_attachment",
            Action::PushPeConfig => "push_pe_config",
            Action::PollAttachment => "poll_attachment",
            Action::UpdateAttachment => "update_attachment",
            Action::DeleteAttachment => "delete_attachment",
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

/// How an `AttachmentObserved` reads, independent of the state it arrives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Seen {
    /// Paired, waiting for the customer to activate it.
    PendingCustomer,
    /// Google has not finished pairing it with the customer's attachment.
    PendingPartner,
    /// Activated: passing traffic.
    Active,
    /// Defunct, unprovisioned or no longer there.
    Gone,
    /// A state Google added after this code was written.
    Unreadable,
}

impl Seen {
    fn of(status: AttachmentStatus) -> Seen {
        match status {
            AttachmentStatus::PendingCustomer => Seen::PendingCustomer,
            AttachmentStatus::PendingPartner | AttachmentStatus::PartnerRequestReceived => {
                Seen::PendingPartner
            }
            AttachmentStatus::Active => Seen::Active,
            AttachmentStatus::Unprovisioned
            | AttachmentStatus::Defunct
            | AttachmentStatus::Gone => Seen::Gone,
            AttachmentStatus::Unknown => Seen::Unreadable,
        }
    }

    fn label(&self) -> &'static str {
        match self {
            Seen::PendingCustomer => "pending customer",
            Seen::PendingPartner => "pending partner",
            Seen::Active => "active",
            Seen::Gone => "defunct, unprovisioned or gone",
            Seen::Unreadable => "unknown",
        }
    }
}

/// How the timeline names what Google reported.
fn describe(status: AttachmentStatus) -> String {
    match status {
        AttachmentStatus::Gone => "the attachment no longer exists at Google".to_string(),
        other => format!("Google reports the attachment as {}", other.as_str()),
    }
}

/// Every way out (delete, rollback, attachment lost) takes the same teardown
/// path, so the cleanup is written once and a crash anywhere in it resumes.
///
/// It always starts at the attachment, whatever was done so far: the
/// worker's delete looks the attachment up by name and is a no-op when there
/// is none, so a teardown that starts before anything was created costs one
/// GET, and one that starts after a half-done insert cleans it up.
fn teardown(context: &mut Effects, then: Terminal) -> Step<State> {
    machine::teardown(context, then, State::deleting_attachment)
}

/// The teardown states, in the order a teardown runs through them.
const TEARDOWN: [fn(Terminal) -> State; 3] = [
    State::deleting_attachment,
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
    initial = "State::creating_attachment()",
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

    // Google first: the PE config needs the addresses Google picks, and until
    // the attachment exists the pairing key may still be wrong (used,
    // expired, another region), so nothing on the router depends on it yet.
    #[state(superstate = "live", entry_action = "create_attachment")]
    fn creating_attachment(context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::AttachmentCreated {
                cloud_router_ip,
                customer_router_ip,
            } => go(
                context,
                State::configuring_pe(),
                format!(
                    "attachment created at Google ({cloud_router_ip} on Google's Cloud Router, \
                     {customer_router_ip} on onramp's side); configuring the PE with them and \
                     Google's ASN {GOOGLE_ASN}"
                ),
            ),
            // Nothing may exist, but teardown starts at deleting_attachment
            // anyway: the delete looks the attachment up by name, which
            // covers an insert that half-succeeded.
            Event::AttachmentFailed { reason } => teardown(
                context,
                Terminal::Failed {
                    reason: format!("Google refused the attachment: {reason}"),
                },
            ),
            _ => Super,
        }
    }

    // The state carries no addresses: the worker stores the ones
    // `attachment_created` reports with the connector's other resources,
    // where the push and the later removal both find them.
    #[state(superstate = "live", entry_action = "push_pe_config")]
    fn configuring_pe(context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::PeConfigured => go(
                context,
                State::waiting_customer_activation(),
                "PE configured; waiting for the customer to activate the attachment",
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

    // ----- watching_attachment: the attachment exists and is polled -----

    #[superstate(superstate = "live")]
    fn watching_attachment(context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            // Flapping the connector on a state we cannot read would page
            // people for nothing; keep the last known state and look again.
            Event::AttachmentObserved { status } if Seen::of(*status) == Seen::Unreadable => {
                keep_polling(
                    context,
                    Action::PollAttachment,
                    format!(
                        "Google reports an attachment state onramp does not recognise ({}); \
                         still watching",
                        status.as_str()
                    ),
                )
            }
            _ => Super,
        }
    }

    #[state(superstate = "watching_attachment", entry_action = "poll_attachment")]
    fn waiting_customer_activation(context: &mut Effects, event: &Event) -> Step<State> {
        let Event::AttachmentObserved { status } = event else {
            return Super;
        };
        match Seen::of(*status) {
            Seen::PendingCustomer => keep_polling(
                context,
                Action::PollAttachment,
                "the attachment still awaits the customer's activation",
            ),
            // Google is still pairing the two attachments; nothing for
            // anyone to do but wait.
            Seen::PendingPartner => keep_polling(
                context,
                Action::PollAttachment,
                format!(
                    "{}: Google is still pairing it with the customer's; waiting",
                    describe(*status)
                ),
            ),
            // A customer who pre-activated their attachment skips the wait.
            Seen::Active => go(
                context,
                State::active(),
                "the customer activated the attachment; connector active",
            ),
            // The customer's own attachment is what they delete to say no:
            // Google then marks ours DEFUNCT. That is their decision, not a
            // failure of the connector.
            Seen::Gone => teardown(
                context,
                Terminal::Rejected {
                    reason: "the customer deleted their attachment before activating it"
                        .to_string(),
                },
            ),
            Seen::Unreadable => Super,
        }
    }

    #[state(superstate = "watching_attachment", entry_action = "poll_attachment")]
    fn active(context: &mut Effects, event: &Event) -> Step<State> {
        if *event == Event::ChangeRequested {
            return go(
                context,
                State::changing_attachment(),
                "settings change requested; setting the attachment's capacity at Google first",
            );
        }
        let Event::AttachmentObserved { status } = event else {
            return Super;
        };
        match Seen::of(*status) {
            Seen::Active => keep_polling(context, Action::PollAttachment, "attachment active"),
            // Deactivating is the customer's to undo, so the connector waits
            // on them again rather than failing.
            Seen::PendingCustomer => go(
                context,
                State::waiting_customer_activation(),
                "the customer deactivated the attachment (PENDING_CUSTOMER); waiting for them to \
                 activate it again",
            ),
            // An active attachment going back to pairing is not something
            // Google documents; like an unreadable state, watch rather than
            // flap the connector.
            Seen::PendingPartner => keep_polling(
                context,
                Action::PollAttachment,
                format!(
                    "{}, which onramp does not expect once active; still watching",
                    describe(*status)
                ),
            ),
            // Once activated, an attachment that disappears was removed
            // behind our back: a failure of the connector.
            Seen::Gone => teardown(
                context,
                Terminal::Failed {
                    reason: format!("{}: it was removed outside onramp", describe(*status)),
                },
            ),
            Seen::Unreadable => Super,
        }
    }

    // A change goes to Google first (the capacity is what the customer
    // pays Google for and what Cloud Router is sized for), then to the PE.
    // A PE that refuses puts Google back to the previous capacity, so both
    // sides always agree once the change has settled.
    #[state(superstate = "live", entry_action = "update_attachment")]
    fn changing_attachment(context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::AttachmentUpdated => go(
                context,
                State::changing_pe(),
                "the attachment's capacity at Google is the new bandwidth; changing the PE",
            ),
            Event::AttachmentUpdateFailed { reason } => change_reverted(
                context,
                State::active(),
                format!(
                    "Google refused the new capacity ({reason}); the connector keeps its previous \
                     settings"
                ),
            ),
            _ => Super,
        }
    }

    /// New settings on their way to the PE; back in `active`, the first
    /// poll says whether the service is still up.
    #[state(superstate = "live", entry_action = "push_pe_config")]
    fn changing_pe(context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::PeConfigured => change_kept(
                context,
                State::active(),
                "the PE took the new settings and read them back",
            ),
            Event::PeFailed { reason } => change_reverted(
                context,
                State::restoring_attachment(),
                format!(
                    "the PE refused the change ({reason}); putting the attachment's previous \
                     capacity back at Google"
                ),
            ),
            _ => Super,
        }
    }

    #[state(superstate = "live", entry_action = "update_attachment")]
    fn restoring_attachment(context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::AttachmentUpdated => go(
                context,
                State::active(),
                "the attachment is back at its previous capacity; the connector keeps its \
                 previous settings",
            ),
            // Google took this very capacity minutes ago; a refusal now is
            // for people, and the next poll shows whether it is still up.
            Event::AttachmentUpdateFailed { reason } => go(
                context,
                State::active(),
                format!(
                    "Google refused the previous capacity ({reason}); the attachment and the PE \
                     differ until ops fixes it"
                ),
            ),
            _ => Super,
        }
    }

    // ----- tearing_down: deleting_attachment → removing_pe_config → releasing_resources -----
    //
    // Google first, since the attachment is what carries the customer's
    // traffic and the PE config only matters while it exists; the pools
    // last, so the VLAN is never reused while Google or the PE still holds it.

    #[superstate]
    fn tearing_down(then: &mut Terminal, context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::DeleteRequested => delete_while_tearing_down(then, context),
            _ => Super,
        }
    }

    #[state(superstate = "tearing_down", entry_action = "delete_attachment")]
    fn deleting_attachment(then: &Terminal, context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::AttachmentDeleted => go(
                context,
                State::removing_pe_config(then.clone()),
                "attachment gone at Google; removing the PE configuration",
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
                State::creating_attachment(),
                format!(
                    "retry requested after the failure ({reason}); creating the partner attachment again with the resources the connector held"
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
    fn create_attachment(context: &mut Effects) {
        context.actions.push(Action::CreateAttachment);
    }

    #[action]
    fn push_pe_config(context: &mut Effects) {
        context.actions.push(Action::PushPeConfig);
    }

    #[action]
    fn update_attachment(context: &mut Effects) {
        context.actions.push(Action::UpdateAttachment);
    }

    #[action]
    fn poll_attachment(context: &mut Effects) {
        context.actions.push(Action::PollAttachment);
    }

    #[action]
    fn delete_attachment(context: &mut Effects) {
        context.actions.push(Action::DeleteAttachment);
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
/// (`[CreateAttachment]`).
pub fn start() -> Outcome {
    machine::start(
        Machine,
        "connector ordered; creating the partner attachment at Google with the customer's \
               pairing key",
    )
}

/// Feeds one event to the machine restored at `state`.
pub fn handle(state: &State, event: &Event) -> Outcome {
    machine::handle(Machine, state, event, event.name(), state_name(state))
}

/// The one action whose result `state` is waiting for (its entry action), if
/// any. A job carrying any other action is stale: the connector moved on
/// after it was queued (e.g. a `poll_attachment` still queued when a delete
/// came in), and the worker should ack it without running it.
pub fn current_action(state: &State) -> Option<Action> {
    machine::entry_action(Machine, state)
}

/// snake_case public name of the state, one of [`STATE_NAMES`].
pub fn state_name(state: &State) -> &'static str {
    match state {
        State::CreatingAttachment {} => "creating_attachment",
        State::ConfiguringPe {} => "configuring_pe",
        State::WaitingCustomerActivation {} => "waiting_customer_activation",
        State::Active {} => "active",
        State::ChangingAttachment {} => "changing_attachment",
        State::ChangingPe { .. } => "changing_pe",
        State::RestoringAttachment {} => "restoring_attachment",
        State::DeletingAttachment { .. } => "deleting_attachment",
        State::RemovingPeConfig { .. } => "removing_pe_config",
        State::ReleasingResources { .. } => "releasing_resources",
        State::Deleted {} => "deleted",
        State::Failed { .. } => "failed",
        State::Rejected { .. } => "rejected",
    }
}

/// Every state name, in lifecycle order (for docs and the API schema).
pub const STATE_NAMES: &[&str] = &[
    "creating_attachment",
    "configuring_pe",
    "waiting_customer_activation",
    "active",
    "changing_attachment",
    "changing_pe",
    "restoring_attachment",
    "deleting_attachment",
    "removing_pe_config",
    "releasing_resources",
    "deleted",
    "failed",
    "rejected",
];

/// Who has to act for the connector to move on.
pub fn waiting_on(state: &State) -> WaitingOn {
    match state {
        State::ConfiguringPe {} | State::ChangingPe {} | State::RemovingPeConfig { .. } => {
            WaitingOn::Router
        }
        State::CreatingAttachment {}
        | State::ChangingAttachment {}
        | State::RestoringAttachment {}
        | State::DeletingAttachment { .. }
        | State::ReleasingResources { .. } => WaitingOn::Onramp,
        State::WaitingCustomerActivation {} => WaitingOn::Customer,
        State::Active {} | State::Deleted {} | State::Failed { .. } | State::Rejected { .. } => {
            WaitingOn::Nobody
        }
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
        State::CreatingAttachment {} => {
            "Nothing to do yet: onramp is creating the partner side of your VLAN attachment at \
             Google with the pairing key you gave."
        }
        State::ChangingAttachment {} => {
            "Nothing to do: onramp is changing your VLAN attachment's capacity at Google, then \
             the provider edge router; if either refuses, the connector keeps its previous settings."
        }
        State::RestoringAttachment {} => {
            "Nothing to do: the router refused the new settings, and onramp is putting your VLAN \
             attachment's previous capacity back at Google."
        }
        State::ConfiguringPe {} => {
            "Nothing to do yet: onramp is configuring the provider edge router with the BGP \
             addresses Google assigned to your VLAN attachment."
        }
        State::WaitingCustomerActivation {} => {
            "Activate your VLAN attachment in the Google Cloud console (Network Connectivity → \
             Interconnect → VLAN attachments → Activate), or with `gcloud compute interconnects \
             attachments partner update <name> --region <region> --admin-enabled`. onramp \
             notices by itself and carries on."
        }
        State::ChangingPe { .. } => {
            "Nothing to do: onramp is applying the connector's new settings on the provider edge \
             router; if the router refuses them, the connector keeps its previous settings."
        }
        State::Active {} => {
            "Nothing to do: the connector is up and your VLAN attachment is active at Google."
        }
        State::DeletingAttachment { .. } => {
            "Nothing to do: onramp is deleting the partner side of your VLAN attachment at Google."
        }
        State::RemovingPeConfig { .. } => {
            "Nothing to do: onramp is removing the connector's configuration from the provider \
             edge router."
        }
        State::ReleasingResources { .. } => {
            "Nothing to do: onramp is releasing the connector's VLAN."
        }
        State::Deleted {} => {
            "The connector is deleted. Your own VLAN attachment stays in your Google Cloud \
             project until you delete it there."
        }
        State::Failed { .. } => {
            "Provisioning failed and was rolled back (see the failure reason); the connector still \
             holds its VLAN, addresses and ASN. Once the cause is fixed, retry it \
             (POST /v1/connectors/{id}/retry) to start again with them, or delete it to release them."
        }
        State::Rejected { .. } => {
            "Your VLAN attachment was deleted before it was activated, so the order was rolled \
             back. Delete this connector, and order a new one with a new pairing key if you \
             still need it."
        }
    }
}

/// For terminal failed/rejected: the reason carried in the state. Also
/// returned while a rollback towards failed/rejected is still running, so
/// the portal can say why the connector is being torn down.
pub fn failure_reason(state: &State) -> Option<&str> {
    match state {
        State::Failed { reason } | State::Rejected { reason } => Some(reason),
        State::DeletingAttachment { then }
        | State::RemovingPeConfig { then }
        | State::ReleasingResources { then } => then.reason(),
        _ => None,
    }
}

crate::kind::machine!(
    GcpPartnerInterconnect,
    GcpPartnerInterconnect,
    release = ReleaseResources,
    router = router_event
);
crate::kind::single_attachment_router!(
    push = PushPeConfig,
    remove = RemovePeConfig,
    removed = PeConfigRemoved
);
