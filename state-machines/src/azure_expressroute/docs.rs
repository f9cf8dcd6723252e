//! What this machine's transition table and diagram are discovered from:
//! one sample of every state and every kind of event, and how the table
//! labels them. [`crate::docs`] runs the machine over them and renders.

use super::{
    Action, ENDS, Event, Leg, Legs, State, TEARDOWN, handle, start, state_name, waiting_on,
};
use crate::docs::{Spec, ending, sample_teardown};

/// One distinct (state, event) → state step of the machine. `from` and `to`
/// carry what tells a state's variants apart if any, e.g.
/// `configuring_secondary_pe{managed_peering}`, `degraded{primary}`,
/// `removing_secondary_pe{failed}`; `trigger` carries the leg or the class
/// of observation in brackets.
pub type TransitionRow = crate::TransitionRow<Action>;

/// The problem the sample `waiting_customer_peering{problem}` state carries;
/// [`sample_events`] reports it again, and a different one.
pub(crate) const SAMPLE_PROBLEM: &str = "vlanId is 200, onramp allocated 100";

/// One of every state, both peering modes, both degraded legs, and one
/// teardown state per ending.
pub(crate) fn sample_states() -> Vec<State> {
    let mut states = Vec::new();
    for build in [
        State::provisioning_circuit as fn(bool) -> State,
        State::configuring_primary_pe,
        State::configuring_secondary_pe,
    ] {
        states.extend([true, false].map(build));
    }
    states.extend([
        State::configuring_peering(),
        State::waiting_customer_peering(None),
        State::waiting_customer_peering(Some(SAMPLE_PROBLEM.to_string())),
        State::waiting_bgp(),
        State::active(),
        State::degraded(Leg::Primary),
        State::degraded(Leg::Secondary),
        State::down(),
        State::changing_primary_pe(),
        State::changing_secondary_pe(),
        State::restoring_primary_pe(),
        State::rotating_key_primary_pe(),
        State::rotating_key_secondary_pe(),
        State::rotating_peering_key(),
        State::restoring_peering_key(),
        State::restoring_secondary_pe(),
    ]);
    states.extend(sample_teardown(&TEARDOWN, &ENDS));
    states
}

/// Every event, for both legs where it names one, with every combination of
/// BGP flags for `legs_observed`, and for `peering_observed` a match, the
/// sample problem and another one.
pub(crate) fn sample_events() -> Vec<Event> {
    let mut events = vec![
        Event::CircuitProvisioned,
        Event::CircuitProvisionFailed {
            reason: "service key not found".to_string(),
        },
    ];
    for leg in Leg::ALL {
        events.push(Event::PeConfigured { leg });
        events.push(Event::PeFailed {
            leg,
            reason: "commit failed".to_string(),
        });
    }
    events.extend([
        Event::PeeringConfigured,
        Event::PeeringFailed {
            reason: "InvalidPeeringConfiguration".to_string(),
        },
        Event::PeeringObserved { problem: None },
        Event::PeeringObserved {
            problem: Some(SAMPLE_PROBLEM.to_string()),
        },
        Event::PeeringObserved {
            problem: Some("no private peering yet".to_string()),
        },
    ]);
    for primary_up in [false, true] {
        for secondary_up in [false, true] {
            events.push(Event::LegsObserved {
                primary_up,
                secondary_up,
            });
        }
    }
    events.extend([
        Event::CircuitLost {
            reason: "cross-connection not found".to_string(),
        },
        Event::DeleteRequested,
        Event::ChangeRequested,
        Event::KeyRotationRequested,
        Event::RetryRequested {
            managed_peering: true,
        },
        Event::CircuitBandwidthChanged { mbps: 2000 },
    ]);
    for leg in Leg::ALL {
        events.push(Event::PeConfigRemoved { leg });
    }
    events.extend([
        Event::PeeringDeleted,
        Event::CircuitDeprovisioned,
        Event::ResourcesReleased,
    ]);
    events
}

fn peering_mode(managed_peering: bool) -> &'static str {
    if managed_peering {
        "managed_peering"
    } else {
        "customer_peering"
    }
}

fn state_label(state: &State) -> String {
    let detail = match state {
        State::ProvisioningCircuit { managed_peering }
        | State::ConfiguringPrimaryPe { managed_peering }
        | State::ConfiguringSecondaryPe { managed_peering } => peering_mode(*managed_peering),
        State::WaitingCustomerPeering { problem: Some(_) } => "problem",
        State::Degraded { down } => down.as_str(),
        State::RemovingSecondaryPe { then }
        | State::RemovingPrimaryPe { then }
        | State::DeletingPeering { then }
        | State::DeprovisioningCircuit { then }
        | State::ReleasingResources { then } => ending(then),
        _ => return state_name(state).to_string(),
    };
    format!("{}{{{detail}}}", state_name(state))
}

/// The event as the table shows it. A peering problem is "same" or "new"
/// relative to the one the state already carries.
fn trigger(state: &State, event: &Event) -> String {
    let class = match event {
        Event::PeConfigured { leg }
        | Event::PeFailed { leg, .. }
        | Event::PeConfigRemoved { leg } => leg.as_str(),
        Event::PeeringObserved { problem: None } => "matches",
        Event::PeeringObserved { problem: Some(p) } => match state {
            State::WaitingCustomerPeering { problem: Some(q) } if p == q => "same problem",
            _ => "new problem",
        },
        Event::LegsObserved {
            primary_up,
            secondary_up,
        } => Legs::of(*primary_up, *secondary_up).label(),
        _ => return event.name().to_string(),
    };
    format!("{} [{class}]", event.name())
}

/// What the crate's renderer needs to draw this machine.
pub(crate) const SPEC: Spec<State, Event, Action> = Spec {
    sample_states,
    sample_events,
    handle,
    state_name,
    state_label,
    trigger,
    waiting_on,
    action_name: Action::as_str,
};

/// Every distinct step the machine takes, ignored events left out.
pub fn transitions() -> Vec<TransitionRow> {
    SPEC.transitions()
}

/// Mermaid `stateDiagram-v2` of the machine, coloured by who each state
/// waits on. Polls that change nothing are left out.
pub fn mermaid() -> String {
    // Both peering modes start in the same state with the same action.
    SPEC.mermaid(&start(true))
}

/// The transition table as Markdown, for the README.
pub fn transition_table_markdown() -> String {
    SPEC.markdown_table()
}
