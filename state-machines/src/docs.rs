//! The transition table and diagram of a machine, discovered by running it
//! over one sample of every state and every kind of event, so the docs
//! cannot drift from the code. The golden tests pin both.
//!
//! This module renders; each kind's `docs` module says what to sample and
//! how to label it, in a [`Spec`].

use std::fmt::Write as _;

use crate::machine::{Ends, Outcome};
use crate::{Terminal, WaitingOn};

/// One distinct (state, event) → state step of a machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransitionRow<A> {
    /// State before, with what tells its variants apart if any, e.g. the
    /// teardown ending in `deleting_vif{failed}`.
    pub from: String,
    /// Event name; for observations, the class of observation in brackets.
    pub trigger: String,
    /// State after, same format as `from`.
    pub to: String,
    pub actions: Vec<A>,
    /// false: the state stayed (a poll that saw nothing new).
    pub changed: bool,
}

/// What the rendering needs from one kind's machine.
pub(crate) struct Spec<S: 'static, E: 'static, A: 'static> {
    /// One of every state (and of every variant worth telling apart).
    pub sample_states: fn() -> Vec<S>,
    /// Every event, with every class of observation.
    pub sample_events: fn() -> Vec<E>,
    pub handle: fn(&S, &E) -> Outcome<S, A>,
    pub state_name: fn(&S) -> &'static str,
    /// The state as the table shows it: its name, and its variant in braces.
    pub state_label: fn(&S) -> String,
    /// The event as the table and diagram show it, in the state it arrives in.
    pub trigger: fn(&S, &E) -> String,
    pub waiting_on: fn(&S) -> WaitingOn,
    pub action_name: fn(&A) -> &'static str,
}

/// The sample endings a teardown state is shown with.
fn sample_endings() -> [Terminal; 3] {
    [
        Terminal::Deleted,
        Terminal::Failed {
            reason: "sample failure".to_string(),
        },
        Terminal::Rejected {
            reason: "sample rejection".to_string(),
        },
    ]
}

/// One sample of each `teardown` state per ending, then the three
/// terminals.
pub(crate) fn sample_teardown<S>(teardown: &[fn(Terminal) -> S], ends: &Ends<S>) -> Vec<S> {
    let mut states = Vec::new();
    for build in teardown {
        states.extend(sample_endings().into_iter().map(build));
    }
    states.extend([
        (ends.deleted)(),
        (ends.failed)("sample failure".to_string()),
        (ends.rejected)("sample rejection".to_string()),
    ]);
    states
}

/// The ending as a teardown state's label shows it.
pub(crate) fn ending(then: &Terminal) -> &'static str {
    match then {
        Terminal::Deleted => "deleted",
        Terminal::Failed { .. } => "failed",
        Terminal::Rejected { .. } => "rejected",
    }
}

/// Mermaid class of the states each party is waiting on.
const CLASSES: [(WaitingOn, &str); 5] = [
    (WaitingOn::Onramp, "fill:#e3ecfa,stroke:#3d6bb3"),
    (WaitingOn::Customer, "fill:#fff1d6,stroke:#b97800"),
    (WaitingOn::Csp, "fill:#efe3fa,stroke:#7a45a8"),
    (WaitingOn::Ops, "fill:#fde2e2,stroke:#b33d3d"),
    (WaitingOn::Nobody, "fill:#e2f4e6,stroke:#2e7d3e"),
];

impl<S: Clone, E, A: Clone + PartialEq> Spec<S, E, A> {
    /// Every (state, event) pair, in sample order, with what it led to.
    fn steps(&self) -> Vec<(S, E, Outcome<S, A>)> {
        let mut steps = Vec::new();
        for state in (self.sample_states)() {
            for event in (self.sample_events)() {
                let outcome = (self.handle)(&state, &event);
                steps.push((state.clone(), event, outcome));
            }
        }
        steps
    }

    /// Every distinct step the machine takes, ignored events left out.
    pub(crate) fn transitions(&self) -> Vec<TransitionRow<A>> {
        let mut rows: Vec<TransitionRow<A>> = Vec::new();
        for (state, event, outcome) in self.steps() {
            if outcome.is_ignored() {
                continue;
            }
            let row = TransitionRow {
                from: (self.state_label)(&state),
                trigger: (self.trigger)(&state, &event),
                to: (self.state_label)(&outcome.state),
                actions: outcome.actions,
                changed: outcome.changed,
            };
            if !rows.contains(&row) {
                rows.push(row);
            }
        }
        rows
    }

    fn actions_label(&self, actions: &[A]) -> String {
        actions
            .iter()
            .map(self.action_name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Mermaid `stateDiagram-v2` of the machine from `first` (its `start`),
    /// coloured by who each state waits on. Polls that change nothing are
    /// left out.
    pub(crate) fn mermaid(&self, first: &Outcome<S, A>) -> String {
        let mut out = String::from("stateDiagram-v2\n");
        let _ = writeln!(
            out,
            "    [*] --> {} : start / {}",
            (self.state_name)(&first.state),
            self.actions_label(&first.actions)
        );

        let mut edges: Vec<String> = Vec::new();
        for (state, event, outcome) in self.steps() {
            if !outcome.changed {
                continue;
            }
            let mut label = (self.trigger)(&state, &event);
            if !outcome.actions.is_empty() {
                label = format!("{label} / {}", self.actions_label(&outcome.actions));
            }
            let edge = format!(
                "    {} --> {} : {label}",
                (self.state_name)(&state),
                (self.state_name)(&outcome.state)
            );
            if !edges.contains(&edge) {
                edges.push(edge);
            }
        }
        for edge in edges {
            out.push_str(&edge);
            out.push('\n');
        }
        out.push_str("    deleted --> [*]\n");

        let states = (self.sample_states)();
        for (who, style) in CLASSES {
            let mut members: Vec<&str> = Vec::new();
            for name in states
                .iter()
                .filter(|s| (self.waiting_on)(s) == who)
                .map(self.state_name)
            {
                if !members.contains(&name) {
                    members.push(name);
                }
            }
            if members.is_empty() {
                continue;
            }
            let _ = writeln!(out, "    classDef {} {style}", who.as_str());
            let _ = writeln!(out, "    class {} {}", members.join(","), who.as_str());
        }
        out
    }

    /// The transition table as Markdown, for the README.
    pub(crate) fn markdown_table(&self) -> String {
        let mut out = String::from("| From | Event | To | Actions |\n|---|---|---|---|\n");
        for row in self.transitions() {
            let to = if row.changed {
                format!("`{}`", row.to)
            } else {
                "stays".to_string()
            };
            let actions = if row.actions.is_empty() {
                "—".to_string()
            } else {
                format!("`{}`", self.actions_label(&row.actions))
            };
            let _ = writeln!(
                out,
                "| `{}` | `{}` | {to} | {actions} |",
                row.from, row.trigger
            );
        }
        out
    }
}
