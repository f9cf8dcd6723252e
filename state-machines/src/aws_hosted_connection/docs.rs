//! The transition table and diagram, discovered by running the machine over
//! one sample of every state and every kind of event, so the docs cannot
//! drift from the code. The golden tests pin both.

use std::fmt::Write as _;

use super::{
    Action, Connection, ConnectionStatus, Event, Seen, State, Terminal, VifStatus, handle, start,
    state_name, waiting_on,
};
use crate::WaitingOn;

/// One distinct (state, event) → state step of the machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransitionRow {
    /// State before, with the teardown ending if any, e.g.
    /// `deleting_connection{failed}`.
    pub from: String,
    /// Event name; for `connection_observed` and `vif_observed`, the class of
    /// observation in brackets.
    pub trigger: String,
    /// State after, same format as `from`.
    pub to: String,
    pub actions: Vec<Action>,
    /// false: the state stayed (a poll that saw nothing new).
    pub changed: bool,
}

/// One of every state, and one teardown state per ending.
pub(crate) fn sample_states() -> Vec<State> {
    let id = || "dxcon-ffx1k2zq".to_string();
    let endings = [
        Terminal::Deleted,
        Terminal::Failed {
            reason: "sample failure".to_string(),
        },
        Terminal::Rejected {
            reason: "sample rejection".to_string(),
        },
    ];
    let mut states = vec![
        State::allocating_connection(),
        State::waiting_customer_confirmation(id()),
        State::waiting_vif_details(id()),
        State::configuring_pe(id()),
        State::waiting_bgp(id()),
        State::active(id()),
        State::down(id()),
    ];
    for build in [
        State::deleting_connection as fn(Terminal) -> State,
        State::removing_pe_config,
        State::releasing_resources,
    ] {
        states.extend(endings.iter().cloned().map(build));
    }
    states.extend([
        State::deleted(),
        State::failed("sample failure".to_string()),
        State::rejected("sample rejection".to_string()),
    ]);
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
        Event::ConnectionDeleted,
        Event::PeConfigRemoved,
        Event::ResourcesReleased,
    ]);
    events
}

fn ending(then: &Terminal) -> &'static str {
    match then {
        Terminal::Deleted => "deleted",
        Terminal::Failed { .. } => "failed",
        Terminal::Rejected { .. } => "rejected",
    }
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

/// Every distinct step the machine takes, ignored events left out.
pub fn transitions() -> Vec<TransitionRow> {
    let mut rows: Vec<TransitionRow> = Vec::new();
    for state in sample_states() {
        for event in sample_events() {
            let outcome = handle(&state, &event);
            if outcome.is_ignored() {
                continue;
            }
            let row = TransitionRow {
                from: state_label(&state),
                trigger: trigger(&event),
                to: state_label(&outcome.state),
                actions: outcome.actions,
                changed: outcome.changed,
            };
            if !rows.contains(&row) {
                rows.push(row);
            }
        }
    }
    rows
}

fn actions_label(actions: &[Action]) -> String {
    actions
        .iter()
        .map(Action::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Mermaid `stateDiagram-v2` of the machine, coloured by who each state
/// waits on. Polls that change nothing are left out.
pub fn mermaid() -> String {
    let mut out = String::from("stateDiagram-v2\n");
    let first = start();
    let _ = writeln!(
        out,
        "    [*] --> {} : start / {}",
        state_name(&first.state),
        actions_label(&first.actions)
    );

    let mut edges: Vec<String> = Vec::new();
    for state in sample_states() {
        for event in sample_events() {
            let outcome = handle(&state, &event);
            if !outcome.changed {
                continue;
            }
            let mut label = trigger(&event);
            if !outcome.actions.is_empty() {
                label = format!("{label} / {}", actions_label(&outcome.actions));
            }
            let edge = format!(
                "    {} --> {} : {label}",
                state_name(&state),
                state_name(&outcome.state)
            );
            if !edges.contains(&edge) {
                edges.push(edge);
            }
        }
    }
    for edge in edges {
        out.push_str(&edge);
        out.push('\n');
    }
    out.push_str("    deleted --> [*]\n");

    let classes = [
        (WaitingOn::Onramp, "fill:#e3ecfa,stroke:#3d6bb3"),
        (WaitingOn::Customer, "fill:#fff1d6,stroke:#b97800"),
        (WaitingOn::Csp, "fill:#efe3fa,stroke:#7a45a8"),
        (WaitingOn::Ops, "fill:#fde2e2,stroke:#b33d3d"),
        (WaitingOn::Nobody, "fill:#e2f4e6,stroke:#2e7d3e"),
    ];
    for (who, style) in classes {
        let members: Vec<&str> = sample_states()
            .iter()
            .filter(|s| waiting_on(s) == who)
            .map(state_name)
            .fold(Vec::new(), |mut names, name| {
                if !names.contains(&name) {
                    names.push(name);
                }
                names
            });
        if members.is_empty() {
            continue;
        }
        let _ = writeln!(out, "    classDef {} {style}", who.as_str());
        let _ = writeln!(out, "    class {} {}", members.join(","), who.as_str());
    }
    out
}

/// The transition table as Markdown, for the README.
pub fn transition_table_markdown() -> String {
    let mut out = String::from("| From | Event | To | Actions |\n|---|---|---|---|\n");
    for row in transitions() {
        let to = if row.changed {
            format!("`{}`", row.to)
        } else {
            "stays".to_string()
        };
        let actions = if row.actions.is_empty() {
            "—".to_string()
        } else {
            format!("`{}`", actions_label(&row.actions))
        };
        let _ = writeln!(
            out,
            "| `{}` | `{}` | {to} | {actions} |",
            row.from, row.trigger
        );
    }
    out
}
