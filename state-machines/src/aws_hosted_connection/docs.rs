//! What this machine's transition table and diagram are discovered from:
//! one sample of every state and every kind of event, and how the table
//! labels them. [`crate::docs`] runs the machine over them and renders.

use super::{
    Action, Connection, ConnectionStatus, ENDS, Event, Seen, State, TEARDOWN, VifStatus, handle,
    start, state_name, waiting_on,
};
use crate::docs::{Spec, ending, sample_teardown};

/// One distinct (state, event) → state step of the machine. `from` and `to`
/// carry the teardown ending if any, e.g. `deleting_connection{failed}`; for
/// `connection_observed` and `vif_observed`, `trigger` carries the class of
/// observation in brackets.
pub type TransitionRow = crate::TransitionRow<Action>;

/// One of every state, and one teardown state per ending.
pub(crate) fn sample_states() -> Vec<State> {
    let id = || "dxcon-ffx1k2zq".to_string();
    let mut states = vec![
        State::allocating_connection(),
        State::waiting_customer_confirmation(id()),
        State::waiting_vif_details(id()),
        State::configuring_pe(id()),
        State::waiting_bgp(id()),
        State::active(id()),
        State::down(id()),
        State::changing_pe(id()),
    ];
    states.extend(sample_teardown(&TEARDOWN, &ENDS));
    states
}

/// Every event, with every connection status for `connection_observed` and
/// every VIF status × BGP flag for `vif_observed`.
pub(crate) fn sample_events() -> Vec<Event> {
    let mut events = vec![
        Event::ConnectionAllocated {
            connection_id: "dxcon-ffx1k2zq".to_string(),
        },
        Event::ConnectionAllocationRejected {
            reason: "VLAN in use".to_string(),
        },
    ];
    for status in ConnectionStatus::ALL {
        events.push(Event::ConnectionObserved { status });
    }
    events.extend([
        Event::VifDetailsProvided,
        Event::PeConfigured,
        Event::PeFailed {
            reason: "commit failed".to_string(),
        },
    ]);
    for vif_state in VifStatus::ALL {
        for bgp_up in [false, true] {
            events.push(Event::VifObserved { vif_state, bgp_up });
        }
    }
    events.extend([
        Event::DeleteRequested,
        Event::ChangeRequested,
        Event::RetryRequested,
        Event::ConnectionDeleted,
        Event::PeConfigRemoved,
        Event::ResourcesReleased,
    ]);
    events
}

fn state_label(state: &State) -> String {
    match state {
        State::DeletingConnection { then }
        | State::RemovingPeConfig { then }
        | State::ReleasingResources { then } => {
            format!("{}{{{}}}", state_name(state), ending(then))
        }
        _ => state_name(state).to_string(),
    }
}

fn trigger(event: &Event) -> String {
    match event {
        Event::ConnectionObserved { status } => {
            format!("connection_observed [{}]", Connection::of(*status).label())
        }
        Event::VifObserved { vif_state, bgp_up } => {
            format!("vif_observed [{}]", Seen::of(*vif_state, *bgp_up).label())
        }
        other => other.name().to_string(),
    }
}

/// What the crate's renderer needs to draw this machine.
pub(crate) const SPEC: Spec<State, Event, Action> = Spec {
    sample_states,
    sample_events,
    handle,
    state_name,
    state_label,
    trigger: |_, event| trigger(event),
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
    SPEC.mermaid(&start())
}

/// The transition table as Markdown, for the README.
pub fn transition_table_markdown() -> String {
    SPEC.markdown_table()
}
