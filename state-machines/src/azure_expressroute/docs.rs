//! The transition table and diagram, discovered by running the machine over
//! one sample of every state and every kind of event, so the docs cannot
//! drift from the code. The golden tests pin both.

use std::fmt::Write as _;

use super::{Action, Event, Leg, Legs, State, Terminal, handle, start, state_name, waiting_on};
use crate::WaitingOn;

/// One distinct (state, event) → state step of the machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransitionRow {
    /// State before, with what tells its variants apart if any, e.g.
    /// `configuring_secondary_pe{managed_peering}`, `degraded{primary}`,
    /// `removing_secondary_pe{failed}`.
    pub from: String,
    /// Event name; the leg or the class of observation in brackets.
    pub trigger: String,
    /// State after, same format as `from`.
    pub to: String,
    pub actions: Vec<Action>,
    /// false: the state stayed (a poll that saw nothing new).
    pub changed: bool,
}

/// The problem the sample `waiting_customer_peering{problem}` state carries;
/// [`sample_events`] reports it again, and a different one.
pub(crate) const SAMPLE_PROBLEM: &str = "vlanId is 200, onramp allocated 100";

/// One of every state, both peering modes, both degraded legs, and one
/// teardown state per ending.
pub(crate) fn sample_states() -> Vec<State> {
    let endings = [
        Terminal::Deleted,
        Terminal::Failed {
            reason: "sample failure".to_string(),
        },
        Terminal::Rejected {
            reason: "sample rejection".to_string(),
        },
    ];
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
    ]);
    for build in [
        State::removing_secondary_pe as fn(Terminal) -> State,
        State::removing_primary_pe,
        State::deleting_peering,
        State::deprovisioning_circuit,
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

fn ending(then: &Terminal) -> &'static str {
    match then {
        Terminal::Deleted => "deleted",
        Terminal::Failed { .. } => "failed",
        Terminal::Rejected { .. } => "rejected",
    }
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
                trigger: trigger(&state, &event),
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
    // Both peering modes start in the same state with the same action.
    let first = start(true);
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
            let mut label = trigger(&state, &event);
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
