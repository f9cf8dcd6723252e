//! Connector kind `azure-expressroute`: an ExpressRoute circuit the customer
//! created in their Azure subscription with the operator as provider, reached
//! by its service key through the operator's `expressRouteCrossConnection`,
//! plus the matching config on the two provider edge (PE) routers, one per
//! leg, and the circuit's Azure private peering.
//!
//! The VLAN, the primary and secondary /30 peering subnets, the peer ASN and
//! the BGP MD5 key are allocated by the API in the same transaction as the
//! order, so the machine starts at Azure and ends by handing those resources
//! back. Private peering is either configured by onramp (`managed_peering`)
//! or by the customer on their circuit, in which case onramp only checks
//! that what they configured matches what it allocated.
//!
//! ```text
//! live ────────────────────────────────────────────────── delete_requested ──┐
//! │ provisioning_circuit → configuring_primary_pe → configuring_secondary_pe │
//! │ ├ managed:  configuring_peering ────────────────┐                        │
//! │ └ customer: waiting_customer_peering ───────────┤─ circuit lost (failed) ┤
//! │ watching_legs ◀─────────────────────────────────┘─ circuit lost (failed) ┤
//! │ │ waiting_bgp → active ⇄ degraded{leg} ⇄ down                            │
//! │ change:   changing_primary_pe → changing_secondary_pe (→ restoring_primary_pe)
//! │ new key:  rotating_key_primary_pe → rotating_key_secondary_pe
//! │           → rotating_peering_key
//! │             (→ restoring_peering_key → restoring_secondary_pe → restoring_primary_pe)
//! tearing_down {then} ◀──────────────────────────────────────────────────────┘
//! │ removing_secondary_pe → removing_primary_pe → deleting_peering
//! │ → deprovisioning_circuit → releasing_resources → deleted | failed | rejected
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

/// One of the circuit's two redundant legs: each is a PE router at the
/// operator and an MSEE at Microsoft, with its own /30 and BGP session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Leg {
    Primary,
    Secondary,
}

impl Leg {
    /// Both legs, primary first.
    pub const ALL: [Leg; 2] = [Leg::Primary, Leg::Secondary];

    /// snake_case name, as serialised.
    pub fn as_str(&self) -> &'static str {
        match self {
            Leg::Primary => "primary",
            Leg::Secondary => "secondary",
        }
    }

    /// The leg that carries the traffic while this one is down.
    pub fn other(&self) -> Leg {
        match self {
            Leg::Primary => Leg::Secondary,
            Leg::Secondary => Leg::Primary,
        }
    }
}

/// An input to the machine: a job result reported by the worker, or a request
/// from the API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// Azure reports the cross-connection's `serviceProviderProvisioningState`
    /// as `Provisioned`.
    CircuitProvisioned,
    /// The PUT that provisions the cross-connection, or its long-running
    /// operation, failed (unknown service key, circuit not in our location, ...).
    CircuitProvisionFailed { reason: String },
    /// The PE router of `leg` committed the connector's config.
    PeConfigured { leg: Leg },
    /// The PE router of `leg` refused the config (validation or commit failed).
    PeFailed { leg: Leg, reason: String },
    /// onramp's PUT of `AzurePrivatePeering` (and its long-running operation)
    /// succeeded.
    PeeringConfigured,
    /// onramp's PUT of `AzurePrivatePeering` failed.
    PeeringFailed { reason: String },
    /// One poll of a customer-configured private peering. `None`: it exists
    /// and matches what onramp allocated. `Some(why)`: it is absent or
    /// differs, e.g. "no private peering yet" or "vlanId is 200, onramp
    /// allocated 100".
    PeeringObserved { problem: Option<String> },
    /// One poll of both legs' BGP sessions.
    LegsObserved {
        primary_up: bool,
        secondary_up: bool,
    },
    /// The cross-connection vanished or was deprovisioned outside onramp.
    CircuitLost { reason: String },
    /// The customer (or ops) asked for the connector to be deleted.
    DeleteRequested,
    /// The connector's settings changed (bandwidth or BGP options, by the
    /// customer through onramp or on the circuit at Azure); the row
    /// already holds the new ones.
    ChangeRequested,
    /// The customer (or ops) asked for a new BGP MD5 key, with or without
    /// other settings; the row already holds the new key. Only where
    /// onramp runs the private peering: Microsoft's side of the sessions is
    /// changed by the peering's `sharedKey`.
    KeyRotationRequested,
    /// The customer (or ops) asked to start a failed connector again, once
    /// the cause is fixed; it still holds its allocations.
    RetryRequested { managed_peering: bool },
    /// The poll found the circuit's bandwidth changed at Azure (its owner
    /// changed it); the row already holds it, and the PEs follow.
    CircuitBandwidthChanged { mbps: u32 },
    /// The PE of `leg` no longer carries the connector's config.
    PeConfigRemoved { leg: Leg },
    /// The private peering is gone at Azure (deleted now, or never existed).
    PeeringDeleted,
    /// The cross-connection is back to `NotProvisioned` (or was never
    /// provisioned).
    CircuitDeprovisioned,
    /// VLAN, subnets, ASN and key are back in their pools.
    ResourcesReleased,
}

impl Event {
    /// snake_case name of the event, as in its serde `type` tag.
    pub fn name(&self) -> &'static str {
        match self {
            Event::CircuitProvisioned => "circuit_provisioned",
            Event::CircuitProvisionFailed { .. } => "circuit_provision_failed",
            Event::PeConfigured { .. } => "pe_configured",
            Event::PeFailed { .. } => "pe_failed",
            Event::PeeringConfigured => "peering_configured",
            Event::PeeringFailed { .. } => "peering_failed",
            Event::PeeringObserved { .. } => "peering_observed",
            Event::LegsObserved { .. } => "legs_observed",
            Event::CircuitLost { .. } => "circuit_lost",
            Event::DeleteRequested => "delete_requested",
            Event::ChangeRequested => "change_requested",
            Event::KeyRotationRequested => "key_rotation_requested",
            Event::RetryRequested { .. } => "retry_requested",
            Event::CircuitBandwidthChanged { .. } => "circuit_bandwidth_changed",
            Event::PeConfigRemoved { .. } => "pe_config_removed",
            Event::PeeringDeleted => "peering_deleted",
            Event::CircuitDeprovisioned => "circuit_deprovisioned",
            Event::ResourcesReleased => "resources_released",
        }
    }
}

/// Work the worker must do, idempotently, after committing the new state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    ProvisionCircuit,
    PushPrimaryPe,
    PushSecondaryPe,
    ConfigurePeering,
    PollPeering,
    PollLegs,
    RemoveSecondaryPe,
    RemovePrimaryPe,
    DeletePeering,
    DeprovisionCircuit,
    ReleaseResources,
}

impl Action {
    /// Every action, in lifecycle order.
    pub const ALL: [Action; 11] = [
        Action::ProvisionCircuit,
        Action::PushPrimaryPe,
        Action::PushSecondaryPe,
        Action::ConfigurePeering,
        Action::PollPeering,
        Action::PollLegs,
        Action::RemoveSecondaryPe,
        Action::RemovePrimaryPe,
        Action::DeletePeering,
        Action::DeprovisionCircuit,
        Action::ReleaseResources,
    ];

    /// snake_case name, as serialised.
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::ProvisionCircuit => "provision_circuit",
            Action::PushPrimaryPe => "push_primary_pe",
            Action::PushSecondaryPe => "push_secondary_pe",
            Action::ConfigurePeering => "configure_peering",
            Action::PollPeering => "poll_peering",
            Action::PollLegs => "poll_legs",
            Action::RemoveSecondaryPe => "remove_secondary_pe",
            Action::RemovePrimaryPe => "remove_primary_pe",
            Action::DeletePeering => "delete_peering",
            Action::DeprovisionCircuit => "deprovision_circuit",
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

/// How a `LegsObserved` reads, independent of the state it arrives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Legs {
    BothUp,
    /// Exactly this leg is down; the other one carries the traffic.
    OneDown(Leg),
    BothDown,
}

impl Legs {
    fn of(primary_up: bool, secondary_up: bool) -> Legs {
        match (primary_up, secondary_up) {
            (true, true) => Legs::BothUp,
            (false, true) => Legs::OneDown(Leg::Primary),
            (true, false) => Legs::OneDown(Leg::Secondary),
            (false, false) => Legs::BothDown,
        }
    }

    fn label(&self) -> &'static str {
        match self {
            Legs::BothUp => "both up",
            Legs::OneDown(Leg::Primary) => "primary down",
            Legs::OneDown(Leg::Secondary) => "secondary down",
            Legs::BothDown => "both down",
        }
    }
}

fn describe(primary_up: bool, secondary_up: bool) -> String {
    let word = |up: bool| if up { "up" } else { "down" };
    format!(
        "primary BGP {}, secondary BGP {}",
        word(primary_up),
        word(secondary_up)
    )
}

/// Every way out (delete, rollback, circuit lost) takes the same teardown
/// path, so the cleanup is written once and a crash anywhere in it resumes.
///
/// It always starts at the secondary PE, whatever was done so far: removals
/// are idempotent, so a teardown that starts before anything was pushed
/// costs a few no-op removals, and one that starts after a half-done push
/// cleans it up.
fn teardown(context: &mut Effects, then: Terminal) -> Step<State> {
    machine::teardown(context, then, State::removing_secondary_pe)
}

/// The cross-connection went away behind onramp's back: whatever is left on
/// the routers and in the pools must still be cleaned up.
fn circuit_lost(context: &mut Effects, reason: &str) -> Step<State> {
    teardown(
        context,
        Terminal::Failed {
            reason: format!("the ExpressRoute circuit was removed outside onramp: {reason}"),
        },
    )
}

/// The teardown states, in the order a teardown runs through them.
const TEARDOWN: [fn(Terminal) -> State; 5] = [
    State::removing_secondary_pe,
    State::removing_primary_pe,
    State::deleting_peering,
    State::deprovisioning_circuit,
    State::releasing_resources,
];

/// The three terminal states every teardown ends in.
const ENDS: Ends<State> = Ends {
    deleted: State::deleted,
    failed: State::failed,
    rejected: State::rejected,
};

/// A change of the connector's settings, asked through onramp or made to
/// the circuit at Azure: both go out one leg at a time.
fn follow_change(context: &mut Effects, event: &Event) -> Option<Step<State>> {
    match event {
        Event::ChangeRequested => Some(change_settings(context, State::changing_primary_pe())),
        Event::KeyRotationRequested => Some(go(
            context,
            State::rotating_key_primary_pe(),
            "new BGP key requested; pushing it to the primary PE, then the secondary, then to \
             Microsoft's side through the private peering",
        )),
        Event::CircuitBandwidthChanged { mbps } => Some(go(
            context,
            State::changing_primary_pe(),
            format!(
                "the circuit's bandwidth is now {mbps} Mbps at Azure; policing both legs at it"
            ),
        )),
        _ => None,
    }
}

// statig derives each state's fields from its handler's reference parameters,
// so string-carrying states must take `&String`, not `&str`.
#[allow(clippy::ptr_arg)]
#[state_machine(
    initial = "State::provisioning_circuit(true)",
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

    // Azure first: until the provider marks the cross-connection
    // Provisioned, the service key may still be wrong (another provider,
    // another location), and nothing on the routers should depend on it.
    #[state(superstate = "live", entry_action = "provision_circuit")]
    fn provisioning_circuit(
        managed_peering: &bool,
        context: &mut Effects,
        event: &Event,
    ) -> Step<State> {
        match event {
            Event::CircuitProvisioned => go(
                context,
                State::configuring_primary_pe(*managed_peering),
                "circuit provisioned at Azure; configuring the primary PE router",
            ),
            // Nothing was pushed yet, but teardown starts at the PEs anyway:
            // the removals are no-ops, and deprovisioning looks the
            // cross-connection up by service key, which covers a PUT that
            // half-succeeded.
            Event::CircuitProvisionFailed { reason } => teardown(
                context,
                Terminal::Failed {
                    reason: format!("Azure refused to provision the circuit: {reason}"),
                },
            ),
            _ => Super,
        }
    }

    // One PE at a time, primary first: if the primary refuses, the secondary
    // is never touched, and the two legs never differ by more than one push.
    // Results for the other leg are stale (a redelivered job) and ignored.
    #[state(superstate = "live", entry_action = "push_primary_pe")]
    fn configuring_primary_pe(
        managed_peering: &bool,
        context: &mut Effects,
        event: &Event,
    ) -> Step<State> {
        match event {
            Event::PeConfigured { leg: Leg::Primary } => go(
                context,
                State::configuring_secondary_pe(*managed_peering),
                "primary PE configured; configuring the secondary PE router",
            ),
            Event::PeFailed {
                leg: Leg::Primary,
                reason,
            } => teardown(
                context,
                Terminal::Failed {
                    reason: format!("the primary PE router refused the configuration: {reason}"),
                },
            ),
            _ => Super,
        }
    }

    #[state(superstate = "live", entry_action = "push_secondary_pe")]
    fn configuring_secondary_pe(
        managed_peering: &bool,
        context: &mut Effects,
        event: &Event,
    ) -> Step<State> {
        match event {
            Event::PeConfigured {
                leg: Leg::Secondary,
            } => {
                if *managed_peering {
                    go(
                        context,
                        State::configuring_peering(),
                        "secondary PE configured; configuring Azure private peering on the circuit",
                    )
                } else {
                    go(
                        context,
                        State::waiting_customer_peering(None),
                        "secondary PE configured; waiting for the customer to configure Azure private peering",
                    )
                }
            }
            Event::PeFailed {
                leg: Leg::Secondary,
                reason,
            } => teardown(
                context,
                Terminal::Failed {
                    reason: format!("the secondary PE router refused the configuration: {reason}"),
                },
            ),
            _ => Super,
        }
    }

    // The peering comes last so that both PEs already listen when Microsoft
    // starts its BGP sessions: the legs then come up together.
    #[state(superstate = "live", entry_action = "configure_peering")]
    fn configuring_peering(context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::PeeringConfigured => go(
                context,
                State::waiting_bgp(),
                "Azure private peering configured; waiting for BGP on both legs",
            ),
            Event::PeeringFailed { reason } => teardown(
                context,
                Terminal::Failed {
                    reason: format!("Azure refused the private peering: {reason}"),
                },
            ),
            _ => Super,
        }
    }

    // The customer may need several tries. The last problem seen is kept so
    // the timeline records each new one once, not every poll that repeats it.
    #[state(superstate = "live", entry_action = "poll_peering")]
    fn waiting_customer_peering(
        problem: &Option<String>,
        context: &mut Effects,
        event: &Event,
    ) -> Step<State> {
        match event {
            Event::PeeringObserved { problem: None } => go(
                context,
                State::waiting_bgp(),
                "the customer's private peering matches what onramp allocated; waiting for BGP on both legs",
            ),
            Event::PeeringObserved { problem: Some(now) } if problem.as_ref() == Some(now) => {
                keep_polling(
                    context,
                    Action::PollPeering,
                    format!("still waiting for the customer's private peering: {now}"),
                )
            }
            Event::PeeringObserved { problem: Some(now) } => go(
                context,
                State::waiting_customer_peering(Some(now.clone())),
                format!("the customer's private peering is not usable yet: {now}"),
            ),
            // The cross-connection is polled here too, so its loss shows up
            // here as well as once the legs are watched.
            Event::CircuitLost { reason } => circuit_lost(context, reason),
            _ => Super,
        }
    }

    // ----- watching_legs: the peering exists and both BGP sessions are polled -----

    #[superstate(superstate = "live")]
    fn watching_legs(context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::CircuitLost { reason } => circuit_lost(context, reason),
            _ => Super,
        }
    }

    // Never up yet, so a leg that is down here is "not up yet", not an
    // outage: no degraded or down until both have been up once.
    #[state(superstate = "watching_legs", entry_action = "poll_legs")]
    fn waiting_bgp(context: &mut Effects, event: &Event) -> Step<State> {
        let Event::LegsObserved {
            primary_up,
            secondary_up,
        } = event
        else {
            return Super;
        };
        match Legs::of(*primary_up, *secondary_up) {
            Legs::BothUp => go(
                context,
                State::active(),
                "BGP is up on both legs; connector active",
            ),
            Legs::OneDown(_) | Legs::BothDown => keep_polling(
                context,
                Action::PollLegs,
                format!(
                    "{}; waiting for both to come up",
                    describe(*primary_up, *secondary_up)
                ),
            ),
        }
    }

    #[state(superstate = "watching_legs", entry_action = "poll_legs")]
    fn active(context: &mut Effects, event: &Event) -> Step<State> {
        if let Some(step) = follow_change(context, event) {
            return step;
        }
        let Event::LegsObserved {
            primary_up,
            secondary_up,
        } = event
        else {
            return Super;
        };
        match Legs::of(*primary_up, *secondary_up) {
            Legs::BothUp => keep_polling(context, Action::PollLegs, "BGP up on both legs"),
            Legs::OneDown(leg) => go(
                context,
                State::degraded(leg),
                format!(
                    "the {} BGP session is down; connector degraded, traffic runs on the {} leg",
                    leg.as_str(),
                    leg.other().as_str()
                ),
            ),
            Legs::BothDown => go(
                context,
                State::down(),
                "BGP is down on both legs; connector down",
            ),
        }
    }

    // Degraded is its own state, not a flavour of active: the connector
    // still passes traffic but has lost its redundancy, and the customer's
    // SLA depends on knowing that.
    #[state(superstate = "watching_legs", entry_action = "poll_legs")]
    fn degraded(down: &Leg, context: &mut Effects, event: &Event) -> Step<State> {
        if let Some(step) = follow_change(context, event) {
            return step;
        }
        let Event::LegsObserved {
            primary_up,
            secondary_up,
        } = event
        else {
            return Super;
        };
        match Legs::of(*primary_up, *secondary_up) {
            Legs::BothUp => go(
                context,
                State::active(),
                format!(
                    "the {} BGP session recovered; both legs up, connector active",
                    down.as_str()
                ),
            ),
            Legs::OneDown(leg) if leg == *down => keep_polling(
                context,
                Action::PollLegs,
                format!(
                    "the {} BGP session is still down; traffic runs on the {} leg",
                    leg.as_str(),
                    leg.other().as_str()
                ),
            ),
            Legs::OneDown(leg) => go(
                context,
                State::degraded(leg),
                format!(
                    "the {} BGP session recovered but the {} went down; connector still degraded",
                    down.as_str(),
                    leg.as_str()
                ),
            ),
            Legs::BothDown => go(
                context,
                State::down(),
                format!(
                    "the {} BGP session went down too; connector down",
                    down.other().as_str()
                ),
            ),
        }
    }

    #[state(superstate = "watching_legs", entry_action = "poll_legs")]
    fn down(context: &mut Effects, event: &Event) -> Step<State> {
        if let Some(step) = follow_change(context, event) {
            return step;
        }
        let Event::LegsObserved {
            primary_up,
            secondary_up,
        } = event
        else {
            return Super;
        };
        match Legs::of(*primary_up, *secondary_up) {
            Legs::BothUp => go(
                context,
                State::active(),
                "BGP recovered on both legs; connector active",
            ),
            Legs::OneDown(leg) => go(
                context,
                State::degraded(leg),
                format!(
                    "the {} BGP session recovered; connector degraded, the {} is still down",
                    leg.other().as_str(),
                    leg.as_str()
                ),
            ),
            Legs::BothDown => {
                keep_polling(context, Action::PollLegs, "BGP still down on both legs")
            }
        }
    }

    // A change goes out one leg at a time, primary first, like the order:
    // while one PE takes it the other leg carries the traffic. A refusal on
    // the secondary puts the primary back to the settings it had, so both
    // legs always carry the same ones once the change has settled.
    #[state(superstate = "live", entry_action = "push_primary_pe")]
    fn changing_primary_pe(context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::PeConfigured { leg: Leg::Primary } => go(
                context,
                State::changing_secondary_pe(),
                "the primary PE took the new settings; changing the secondary PE",
            ),
            Event::PeFailed {
                leg: Leg::Primary,
                reason,
            } => change_reverted(
                context,
                State::active(),
                format!(
                    "the primary PE refused the change ({reason}); the connector keeps its \
                     previous settings"
                ),
            ),
            _ => Super,
        }
    }

    #[state(superstate = "live", entry_action = "push_secondary_pe")]
    fn changing_secondary_pe(context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::PeConfigured {
                leg: Leg::Secondary,
            } => change_kept(
                context,
                State::active(),
                "both PEs took the new settings and read them back",
            ),
            Event::PeFailed {
                leg: Leg::Secondary,
                reason,
            } => change_reverted(
                context,
                State::restoring_primary_pe(),
                format!(
                    "the secondary PE refused the change ({reason}); putting the previous \
                     settings back on the primary PE"
                ),
            ),
            _ => Super,
        }
    }

    #[state(superstate = "live", entry_action = "push_primary_pe")]
    fn restoring_primary_pe(context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::PeConfigured { leg: Leg::Primary } => go(
                context,
                State::active(),
                "the primary PE is back on the previous settings; both legs agree again",
            ),
            // The primary carried these very settings minutes ago; a refusal
            // now is for people to look at, and the poll that follows shows
            // whether the legs are still up.
            Event::PeFailed {
                leg: Leg::Primary,
                reason,
            } => go(
                context,
                State::active(),
                format!(
                    "the primary PE refused its previous settings ({reason}); the legs differ \
                     until ops fixes the primary PE"
                ),
            ),
            _ => Super,
        }
    }

    // A new key goes out like a change, then to Microsoft through the
    // private peering's sharedKey: until the peering has it, each leg's
    // session runs on a key only one side knows, so the three steps follow
    // each other without waiting for anyone. If Microsoft refuses the key,
    // everything goes back to the old one in the reverse order: the peering
    // first (a failed ARM operation may have left the new key in place),
    // then the secondary PE, then the primary.
    #[state(superstate = "live", entry_action = "push_primary_pe")]
    fn rotating_key_primary_pe(context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::PeConfigured { leg: Leg::Primary } => go(
                context,
                State::rotating_key_secondary_pe(),
                "the primary PE took the new BGP key; pushing it to the secondary PE",
            ),
            Event::PeFailed {
                leg: Leg::Primary,
                reason,
            } => change_reverted(
                context,
                State::active(),
                format!(
                    "the primary PE refused the new BGP key ({reason}); the connector keeps its \
                     previous key and settings"
                ),
            ),
            _ => Super,
        }
    }

    #[state(superstate = "live", entry_action = "push_secondary_pe")]
    fn rotating_key_secondary_pe(context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::PeConfigured {
                leg: Leg::Secondary,
            } => go(
                context,
                State::rotating_peering_key(),
                "the secondary PE took the new BGP key; giving it to Microsoft through the \
                 private peering",
            ),
            Event::PeFailed {
                leg: Leg::Secondary,
                reason,
            } => change_reverted(
                context,
                State::restoring_primary_pe(),
                format!(
                    "the secondary PE refused the new BGP key ({reason}); putting the previous \
                     key back on the primary PE"
                ),
            ),
            _ => Super,
        }
    }

    #[state(superstate = "live", entry_action = "configure_peering")]
    fn rotating_peering_key(context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::PeeringConfigured => change_kept(
                context,
                State::active(),
                "Microsoft took the new BGP key on the private peering; both legs and Azure \
                 use it",
            ),
            Event::PeeringFailed { reason } => change_reverted(
                context,
                State::restoring_peering_key(),
                format!(
                    "Azure refused the new BGP key on the private peering ({reason}); putting \
                     the previous key back on the peering and both PEs"
                ),
            ),
            _ => Super,
        }
    }

    #[state(superstate = "live", entry_action = "configure_peering")]
    fn restoring_peering_key(context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::PeeringConfigured => go(
                context,
                State::restoring_secondary_pe(),
                "the private peering is back on the previous key; restoring the secondary PE",
            ),
            // The PEs still go back: they then match what Microsoft had
            // before the rotation, whatever the failed operation left.
            Event::PeeringFailed { reason } => go(
                context,
                State::restoring_secondary_pe(),
                format!(
                    "Azure refused the previous key too ({reason}); restoring both PEs, and ops \
                     must check the circuit's private peering"
                ),
            ),
            _ => Super,
        }
    }

    #[state(superstate = "live", entry_action = "push_secondary_pe")]
    fn restoring_secondary_pe(context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::PeConfigured {
                leg: Leg::Secondary,
            } => go(
                context,
                State::restoring_primary_pe(),
                "the secondary PE is back on the previous settings; restoring the primary PE",
            ),
            // As on the primary: settings it carried minutes ago, refused
            // now, are for people to look at. The primary still goes back,
            // so that at least one leg matches Microsoft again.
            Event::PeFailed {
                leg: Leg::Secondary,
                reason,
            } => go(
                context,
                State::restoring_primary_pe(),
                format!(
                    "the secondary PE refused its previous settings ({reason}); restoring the \
                     primary PE, and the secondary leg stays down until ops fixes it"
                ),
            ),
            _ => Super,
        }
    }

    // ----- tearing_down: secondary PE → primary PE → peering → circuit → pools -----
    //
    // Routers first, so traffic stops on onramp's side before Azure's; then
    // the peering, because Azure refuses to deprovision a cross-connection
    // that still has one (CrossConnectionHasPeerings); the pools last, so
    // nothing is reused while Azure or a router still holds it.

    #[superstate]
    fn tearing_down(then: &mut Terminal, context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::DeleteRequested => delete_while_tearing_down(then, context),
            _ => Super,
        }
    }

    #[state(superstate = "tearing_down", entry_action = "remove_secondary_pe")]
    fn removing_secondary_pe(then: &Terminal, context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::PeConfigRemoved {
                leg: Leg::Secondary,
            } => go(
                context,
                State::removing_primary_pe(then.clone()),
                "secondary PE configuration removed; removing the primary PE configuration",
            ),
            _ => Super,
        }
    }

    #[state(superstate = "tearing_down", entry_action = "remove_primary_pe")]
    fn removing_primary_pe(then: &Terminal, context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::PeConfigRemoved { leg: Leg::Primary } => go(
                context,
                State::deleting_peering(then.clone()),
                "primary PE configuration removed; deleting the private peering at Azure",
            ),
            _ => Super,
        }
    }

    #[state(superstate = "tearing_down", entry_action = "delete_peering")]
    fn deleting_peering(then: &Terminal, context: &mut Effects, event: &Event) -> Step<State> {
        match event {
            Event::PeeringDeleted => go(
                context,
                State::deprovisioning_circuit(then.clone()),
                "private peering gone at Azure; deprovisioning the circuit",
            ),
            _ => Super,
        }
    }

    #[state(superstate = "tearing_down", entry_action = "deprovision_circuit")]
    fn deprovisioning_circuit(
        then: &Terminal,
        context: &mut Effects,
        event: &Event,
    ) -> Step<State> {
        match event {
            Event::CircuitDeprovisioned => go(
                context,
                State::releasing_resources(then.clone()),
                "circuit deprovisioned at Azure; releasing VLAN, subnets, ASN and BGP key",
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
            Event::RetryRequested { managed_peering } => go(
                context,
                State::provisioning_circuit(*managed_peering),
                format!(
                    "retry requested after the failure ({reason}); provisioning the circuit again with the resources the connector held"
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
    fn provision_circuit(context: &mut Effects) {
        context.actions.push(Action::ProvisionCircuit);
    }

    #[action]
    fn push_primary_pe(context: &mut Effects) {
        context.actions.push(Action::PushPrimaryPe);
    }

    #[action]
    fn push_secondary_pe(context: &mut Effects) {
        context.actions.push(Action::PushSecondaryPe);
    }

    #[action]
    fn configure_peering(context: &mut Effects) {
        context.actions.push(Action::ConfigurePeering);
    }

    #[action]
    fn poll_peering(context: &mut Effects) {
        context.actions.push(Action::PollPeering);
    }

    #[action]
    fn poll_legs(context: &mut Effects) {
        context.actions.push(Action::PollLegs);
    }

    #[action]
    fn remove_secondary_pe(context: &mut Effects) {
        context.actions.push(Action::RemoveSecondaryPe);
    }

    #[action]
    fn remove_primary_pe(context: &mut Effects) {
        context.actions.push(Action::RemovePrimaryPe);
    }

    #[action]
    fn delete_peering(context: &mut Effects) {
        context.actions.push(Action::DeletePeering);
    }

    #[action]
    fn deprovision_circuit(context: &mut Effects) {
        context.actions.push(Action::DeprovisionCircuit);
    }

    #[action]
    fn release_resources(context: &mut Effects) {
        context.actions.push(Action::ReleaseResources);
    }
}

/// The state a freshly ordered connector starts in, and its first actions
/// (`[ProvisionCircuit]`). `managed_peering`: onramp configures the circuit's
/// private peering itself; otherwise the customer does and onramp checks it.
pub fn start(managed_peering: bool) -> Outcome {
    let note = if managed_peering {
        "connector ordered; provisioning the ExpressRoute circuit at Azure (onramp will configure private peering)"
    } else {
        "connector ordered; provisioning the ExpressRoute circuit at Azure (the customer will configure private peering)"
    };
    machine::start_in(Machine, State::provisioning_circuit(managed_peering), note)
}

/// Feeds one event to the machine restored at `state`.
pub fn handle(state: &State, event: &Event) -> Outcome {
    machine::handle(Machine, state, event, event.name(), state_name(state))
}

/// The one action whose result `state` is waiting for (its entry action), if
/// any. A job carrying any other action is stale: the connector moved on
/// after it was queued (e.g. a `poll_legs` still queued when a delete came in),
/// and the worker should ack it without running it.
pub fn current_action(state: &State) -> Option<Action> {
    machine::entry_action(Machine, state)
}

/// snake_case public name of the state, one of [`STATE_NAMES`].
pub fn state_name(state: &State) -> &'static str {
    match state {
        State::ProvisioningCircuit { .. } => "provisioning_circuit",
        State::ConfiguringPrimaryPe { .. } => "configuring_primary_pe",
        State::ConfiguringSecondaryPe { .. } => "configuring_secondary_pe",
        State::ConfiguringPeering {} => "configuring_peering",
        State::WaitingCustomerPeering { .. } => "waiting_customer_peering",
        State::WaitingBgp {} => "waiting_bgp",
        State::Active {} => "active",
        State::Degraded { .. } => "degraded",
        State::Down {} => "down",
        State::ChangingPrimaryPe {} => "changing_primary_pe",
        State::ChangingSecondaryPe {} => "changing_secondary_pe",
        State::RestoringPrimaryPe {} => "restoring_primary_pe",
        State::RotatingKeyPrimaryPe {} => "rotating_key_primary_pe",
        State::RotatingKeySecondaryPe {} => "rotating_key_secondary_pe",
        State::RotatingPeeringKey {} => "rotating_peering_key",
        State::RestoringPeeringKey {} => "restoring_peering_key",
        State::RestoringSecondaryPe {} => "restoring_secondary_pe",
        State::RemovingSecondaryPe { .. } => "removing_secondary_pe",
        State::RemovingPrimaryPe { .. } => "removing_primary_pe",
        State::DeletingPeering { .. } => "deleting_peering",
        State::DeprovisioningCircuit { .. } => "deprovisioning_circuit",
        State::ReleasingResources { .. } => "releasing_resources",
        State::Deleted {} => "deleted",
        State::Failed { .. } => "failed",
        State::Rejected { .. } => "rejected",
    }
}

/// Every state name, in lifecycle order (for docs and the API schema).
pub const STATE_NAMES: &[&str] = &[
    "provisioning_circuit",
    "configuring_primary_pe",
    "configuring_secondary_pe",
    "configuring_peering",
    "waiting_customer_peering",
    "waiting_bgp",
    "active",
    "degraded",
    "down",
    "changing_primary_pe",
    "changing_secondary_pe",
    "restoring_primary_pe",
    "rotating_key_primary_pe",
    "rotating_key_secondary_pe",
    "rotating_peering_key",
    "restoring_peering_key",
    "restoring_secondary_pe",
    "removing_secondary_pe",
    "removing_primary_pe",
    "deleting_peering",
    "deprovisioning_circuit",
    "releasing_resources",
    "deleted",
    "failed",
    "rejected",
];

/// Who has to act for the connector to move on.
pub fn waiting_on(state: &State) -> WaitingOn {
    match state {
        State::ConfiguringPrimaryPe { .. }
        | State::ConfiguringSecondaryPe { .. }
        | State::ChangingPrimaryPe {}
        | State::ChangingSecondaryPe {}
        | State::RestoringPrimaryPe {}
        | State::RotatingKeyPrimaryPe {}
        | State::RotatingKeySecondaryPe {}
        | State::RestoringSecondaryPe {}
        | State::RemovingSecondaryPe { .. }
        | State::RemovingPrimaryPe { .. } => WaitingOn::Router,
        State::ProvisioningCircuit { .. }
        | State::ConfiguringPeering {}
        | State::RotatingPeeringKey {}
        | State::RestoringPeeringKey {}
        | State::DeletingPeering { .. }
        | State::DeprovisioningCircuit { .. }
        | State::ReleasingResources { .. } => WaitingOn::Onramp,
        State::WaitingCustomerPeering { .. } => WaitingOn::Customer,
        State::WaitingBgp {} | State::Degraded { .. } | State::Down {} => WaitingOn::Csp,
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
        State::ProvisioningCircuit { .. } => {
            "Nothing to do yet: onramp is provisioning your ExpressRoute circuit at Azure with the \
             service key you gave."
        }
        State::ConfiguringPrimaryPe { .. } => {
            "Nothing to do yet: onramp is configuring the primary provider edge router for this connector."
        }
        State::ConfiguringSecondaryPe { .. } => {
            "Nothing to do yet: onramp is configuring the secondary provider edge router for this connector."
        }
        State::ConfiguringPeering {} => {
            "Nothing to do yet: onramp is configuring Azure private peering on your ExpressRoute circuit."
        }
        State::WaitingCustomerPeering { .. } => {
            "Configure Azure private peering on your ExpressRoute circuit (Azure portal → \
             ExpressRoute circuits → Peerings → Azure private) with the VLAN ID, peer ASN and \
             primary and secondary subnets shown for this connector. onramp checks it and carries \
             on by itself; the last problem it found is shown on the connector."
        }
        State::WaitingBgp {} => {
            "Nothing to do unless this lasts: the BGP sessions on both legs are establishing. If it \
             stays here, check the private peering in the Azure portal (ExpressRoute circuits → \
             Peerings) and contact support."
        }
        State::ChangingPrimaryPe {} => {
            "Nothing to do: onramp is applying the connector's new settings on the primary leg's \
             provider edge router (the secondary leg carries the traffic); if it refuses them, \
             the connector keeps its previous settings."
        }
        State::ChangingSecondaryPe {} => {
            "Nothing to do: the primary leg has the new settings and onramp is applying them on \
             the secondary leg's provider edge router; if it refuses them, the primary goes back \
             to the previous settings."
        }
        State::RestoringPrimaryPe {} => {
            "Nothing to do: a router refused the new settings, and onramp is putting the previous \
             ones back on the primary leg."
        }
        State::RotatingKeyPrimaryPe {} => {
            "Nothing to do: onramp is putting the connector's new BGP key on the primary leg's \
             provider edge router; the sessions may reset until Microsoft has it too."
        }
        State::RotatingKeySecondaryPe {} => {
            "Nothing to do: onramp is putting the connector's new BGP key on the secondary leg's \
             provider edge router; the sessions may reset until Microsoft has it too."
        }
        State::RotatingPeeringKey {} => {
            "Nothing to do: both provider edge routers have the new BGP key and onramp is giving \
             it to Microsoft through the circuit's private peering."
        }
        State::RestoringPeeringKey {} => {
            "Nothing to do: Azure refused the new BGP key, and onramp is putting the previous \
             one back on the circuit's private peering, then on both provider edge routers."
        }
        State::RestoringSecondaryPe {} => {
            "Nothing to do: Azure or a router refused the new settings, and onramp is putting \
             the previous ones back on the secondary leg, then on the primary."
        }
        State::Active {} => {
            "Nothing to do: the connector is up and BGP is established on both legs."
        }
        State::Degraded { .. } => {
            "One of the two legs is down: traffic still flows on the other, but without \
             redundancy. onramp keeps watching and marks the connector active again when the leg \
             recovers; contact support if it persists."
        }
        State::Down {} => {
            "Both legs are down and the connector passes no traffic. onramp keeps watching and \
             marks it active again when they recover; if it persists, check the circuit in the \
             Azure portal (ExpressRoute circuits) and contact support."
        }
        State::RemovingSecondaryPe { .. } => {
            "Nothing to do: onramp is removing the connector's configuration from the secondary \
             provider edge router."
        }
        State::RemovingPrimaryPe { .. } => {
            "Nothing to do: onramp is removing the connector's configuration from the primary \
             provider edge router."
        }
        State::DeletingPeering { .. } => {
            "Nothing to do: onramp is deleting the circuit's Azure private peering."
        }
        State::DeprovisioningCircuit { .. } => {
            "Nothing to do: onramp is deprovisioning the ExpressRoute circuit at Azure."
        }
        State::ReleasingResources { .. } => {
            "Nothing to do: onramp is releasing the connector's VLAN, peering subnets, ASN and BGP key."
        }
        State::Deleted {} => {
            "The connector is deleted and the circuit deprovisioned. Delete the ExpressRoute \
             circuit in your Azure subscription too if you no longer need it: Azure bills it \
             until you do."
        }
        State::Failed { .. } => {
            "Provisioning failed and was rolled back (see the failure reason); the connector still \
             holds its VLAN, addresses and ASN. Once the cause is fixed, retry it \
             (POST /v1/connectors/{id}/retry) to start again with them, or delete it to release them."
        }
        State::Rejected { .. } => {
            "The order was refused and rolled back (see the reason). Delete this connector, and \
             order a new one if you still need it."
        }
    }
}

/// For terminal failed/rejected: the reason carried in the state. Also
/// returned while a rollback towards failed/rejected is still running, so
/// the portal can say why the connector is being torn down.
pub fn failure_reason(state: &State) -> Option<&str> {
    match state {
        State::Failed { reason } | State::Rejected { reason } => Some(reason),
        State::RemovingSecondaryPe { then }
        | State::RemovingPrimaryPe { then }
        | State::DeletingPeering { then }
        | State::DeprovisioningCircuit { then }
        | State::ReleasingResources { then } => then.reason(),
        _ => None,
    }
}

/// The leg that is down while the connector runs on the other one.
pub fn degraded_leg(state: &State) -> Option<Leg> {
    match state {
        State::Degraded { down } => Some(*down),
        _ => None,
    }
}

/// While waiting for the customer's private peering: why the last poll found
/// it unusable, if it has been polled and was.
pub fn peering_problem(state: &State) -> Option<&str> {
    match state {
        State::WaitingCustomerPeering { problem } => problem.as_deref(),
        _ => None,
    }
}

crate::kind::machine!(
    AzureExpressroute,
    AzureExpressroute,
    release = ReleaseResources,
    router = router_event
);

/// ExpressRoute has two legs, each with its own push and removal.
fn router_event(action: Action, outcome: &crate::kind::RouterOutcome) -> Option<Event> {
    use crate::kind::RouterOutcome;
    let (leg, push) = match action {
        Action::PushPrimaryPe => (Leg::Primary, true),
        Action::PushSecondaryPe => (Leg::Secondary, true),
        Action::RemovePrimaryPe => (Leg::Primary, false),
        Action::RemoveSecondaryPe => (Leg::Secondary, false),
        _ => return None,
    };
    match (push, outcome) {
        (true, RouterOutcome::Done) => Some(Event::PeConfigured { leg }),
        (true, RouterOutcome::Refused(reason)) => Some(Event::PeFailed {
            leg,
            reason: reason.clone(),
        }),
        (false, RouterOutcome::Done) => Some(Event::PeConfigRemoved { leg }),
        (false, RouterOutcome::Refused(_)) => None,
    }
}
