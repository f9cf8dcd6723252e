//! What running one action of a connector's machine gives the runner. Every
//! action is idempotent: a redelivered job runs it again and gets the same
//! result.

use std::time::Duration;

/// The result of running one action, for a machine whose events are `E`.
pub(crate) enum Step<E> {
    /// The action finished; feed `event` to the machine.
    Done {
        event: E,
        actor: &'static str,
        /// `Some(x)`: remember x as the connector's CSP object id.
        csp_ref: Option<Option<String>>,
    },
    /// Not done yet through no fault (a CSP operation still running); look
    /// again after the delay.
    Wait(Duration),
    /// The router change is queued; the PE's writer settles the connector
    /// (transition, timeline event, next job) when it has pushed it. Ack
    /// the job without a transition.
    Queued,
    /// A transient failure (CSP or router unreachable, throttled, lock held):
    /// run the same action again later.
    Retry(String),
    /// A transient failure with the CSP's own hint of when to try again
    /// (Retry-After); never sooner than that.
    RetryIn(String, Duration),
    /// The action is done, and its result is not this job's to report: a
    /// person will (an ops task was opened; completing it commits the
    /// machine's event). Ack the job without a transition; the state, and
    /// so the standing action, stays as it is.
    Parked,
}

pub(crate) fn done<E>(event: E, actor: &'static str) -> Step<E> {
    Step::Done {
        event,
        actor,
        csp_ref: None,
    }
}
