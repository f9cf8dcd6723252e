//! What this machine's transition table and diagram are discovered from:
//! one sample of every state and every kind of event, and how the table
//! labels them. [`crate::docs`] runs the machine over them and renders.

use super::{Action, ENDS, Event, State, TEARDOWN, handle, start, state_name, waiting_on};
use crate::docs::{Spec, ending, sample_teardown};

/// One distinct (state, event) → state step of the machine. `from` and `to`
/// carry the teardown ending if any, e.g. `removing_pe{failed}`, and for
/// `waiting_ops` whether the step is the last one, e.g.
/// `waiting_ops{last}`; `bgp_observed` carries `[up]` or `[down]`.
pub type TransitionRow = crate::TransitionRow<Action>;

/// How many manual steps the samples' runbook has.
const SAMPLE_STEPS: usize = 2;

/// One of every state, `waiting_ops` at a middle and at the last step, and
/// one teardown state per ending.
pub(crate) fn sample_states() -> Vec<State> {
    let mut states = vec![
        State::waiting_ops(0, SAMPLE_STEPS),
        State::waiting_ops(SAMPLE_STEPS - 1, SAMPLE_STEPS),
        State::configuring_pe(),
        State::waiting_bgp(),
        State::active(),
        State::changing_pe(),
    ];
    states.extend(sample_teardown(&TEARDOWN, &ENDS));
    states
}

/// Every event; task results for both sampled steps, so a result for
/// another step shows as ignored.
pub(crate) fn sample_events() -> Vec<Event> {
    let mut events = Vec::new();
    for step_index in 0..SAMPLE_STEPS {
        events.push(Event::TaskCompleted { step_index });
        events.push(Event::TaskRejected {
            step_index,
            reason: "provider has no capacity at that site".to_string(),
        });
    }
    events.extend([
        Event::PeConfigured,
        Event::PeFailed {
            reason: "commit failed".to_string(),
        },
        Event::BgpObserved { up: true },
        Event::BgpObserved { up: false },
        Event::DeleteRequested,
        Event::ChangeRequested,
        Event::PeRemoved,
        Event::ResourcesReleased,
    ]);
    events
}

fn state_label(state: &State) -> String {
    match state {
        State::WaitingOps { step, steps } => {
            let which = if step + 1 == *steps { "last" } else { "step" };
            format!("{}{{{which}}}", state_name(state))
        }
        State::RemovingPe { then } | State::ReleasingResources { then } => {
            format!("{}{{{}}}", state_name(state), ending(then))
        }
        _ => state_name(state).to_string(),
    }
}

fn trigger(event: &Event) -> String {
    match event {
        Event::BgpObserved { up: true } => "bgp_observed [up]".to_string(),
        Event::BgpObserved { up: false } => "bgp_observed [down]".to_string(),
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
    SPEC.mermaid(&start(SAMPLE_STEPS))
}

/// The transition table as Markdown, for the README.
pub fn transition_table_markdown() -> String {
    SPEC.markdown_table()
}
