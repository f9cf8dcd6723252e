//! The job message that travels from the outbox through JetStream to a worker.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Subjects of the work-queue stream.
pub const STREAM: &str = "ONRAMP_JOBS";
pub const SUBJECT_PREFIX: &str = "onramp.jobs";
pub const CONNECTOR_SUBJECT: &str = "onramp.jobs.connector";
/// Connector actions that only look (at a CSP, or at a PE's running
/// config) travel apart from the rest, so a thousand waiting connectors
/// polling never delay one that has work to do. One token deeper than the
/// action subjects, so `onramp.jobs.*` (actions) and `onramp.jobs.poll.>`
/// (looks) never overlap, as a work-queue stream requires.
pub const POLL_SUBJECT: &str = "onramp.jobs.poll.connector";

/// Whether the action named `action` only looks: `poll_*` and `check_*`
/// actions read a CSP or a PE and change nothing until their outcome is
/// committed, guarded by the connector's step.
pub fn is_poll(action: &str) -> bool {
    action.starts_with("poll_") || action.starts_with("check_")
}

/// The subject a connector job for `action` is published on.
pub fn connector_subject(action: &str) -> &'static str {
    if is_poll(action) {
        POLL_SUBJECT
    } else {
        CONNECTOR_SUBJECT
    }
}

/// "Carry out `action` for connector `connector_id` at step `step`." The step
/// lets a worker drop a job the connector has moved past (a redelivery after a
/// crash, or a poll made stale by a delete request).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorJob {
    pub connector_id: Uuid,
    pub step: i64,
    pub action: String,
}

pub const LINK_SUBJECT: &str = "onramp.jobs.link";

/// "Take the next step of link `link_id`, which is at `step`." What the step
/// is follows from the link's rows (the reconciler in
/// `onramp_state_machines::link`); a job for an older step is stale.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkJob {
    pub link_id: Uuid,
    pub step: i64,
}
