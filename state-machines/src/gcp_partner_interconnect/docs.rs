//! What this machine's transition table and diagram are discovered from:
//! one sample of every state and every kind of event, and how the table
//! labels them. [`crate::docs`] runs the machine over them and renders.

use super::{
    Action, AttachmentStatus, ENDS, Event, Seen, State, TEARDOWN, handle, start, state_name,
    waiting_on,
};
use crate::docs::{Spec, ending, sample_teardown};

/// One distinct (state, event) → state step of the machine. `from` and `to`
/// carry the teardown ending if any, e.g. `deleting_attachment{failed}`; for
/// `attachment_observed`, `trigger` carries the class of observation in
/// brackets.
pub type TransitionRow = crate::TransitionRow<Action>;

/// One of every state, and one teardown state per ending.
pub(crate) fn sample_states() -> Vec<State> {
    let mut states = vec![
        State::creating_attachment(),
        State::configuring_pe(),
        State::waiting_customer_activation(),
        State::active(),
        State::changing_attachment(),
        State::changing_pe(),
        State::restoring_attachment(),
    ];
    states.extend(sample_teardown(&TEARDOWN, &ENDS));
    states
}

/// Every event, with every attachment status for `attachment_observed`.
pub(crate) fn sample_events() -> Vec<Event> {
    let mut events = vec![
        Event::AttachmentCreated {
            cloud_router_ip: "169.254.67.201/29".to_string(),
            customer_router_ip: "169.254.67.202/29".to_string(),
        },
        Event::AttachmentFailed {
            reason: "pairing key not found".to_string(),
        },
        Event::PeConfigured,
        Event::PeFailed {
            reason: "commit failed".to_string(),
        },
    ];
    for status in AttachmentStatus::ALL {
        events.push(Event::AttachmentObserved { status });
    }
    events.extend([
        Event::DeleteRequested,
        Event::ChangeRequested,
        Event::AttachmentUpdated,
        Event::AttachmentUpdateFailed {
            reason: "capacity not available".to_string(),
        },
        Event::RetryRequested,
        Event::AttachmentDeleted,
        Event::PeConfigRemoved,
        Event::ResourcesReleased,
    ]);
    events
}

fn state_label(state: &State) -> String {
    match state {
        State::DeletingAttachment { then }
        | State::RemovingPeConfig { then }
        | State::ReleasingResources { then } => {
            format!("{}{{{}}}", state_name(state), ending(then))
        }
        _ => state_name(state).to_string(),
    }
}

fn trigger(event: &Event) -> String {
    match event {
        Event::AttachmentObserved { status } => {
            format!("attachment_observed [{}]", Seen::of(*status).label())
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
