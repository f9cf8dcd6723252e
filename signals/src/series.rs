//! Every series onramp records: its name (prefixed `onramp_`, unit in the
//! name), its labels, and the function that records it. Call sites use
//! these functions, never the names, so a label set cannot drift between
//! two places that record the same series.

use std::time::Duration;

use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};

pub const HTTP_REQUEST_DURATION: &str = "onramp_http_request_duration_seconds";
pub const JOBS: &str = "onramp_jobs_total";
pub const JOB_DURATION: &str = "onramp_job_duration_seconds";
pub const OUTBOX_LAG: &str = "onramp_outbox_lag_seconds";
pub const QUEUE_DEPTH: &str = "onramp_queue_depth";
pub const QUEUE_IN_FLIGHT: &str = "onramp_queue_in_flight";
pub const PE_COMMIT_DURATION: &str = "onramp_pe_commit_duration_seconds";
pub const PE_COMMIT_BATCH_SIZE: &str = "onramp_pe_commit_batch_size";
pub const CSP_CALL_DURATION: &str = "onramp_csp_call_duration_seconds";
pub const CSP_CALL_ERRORS: &str = "onramp_csp_call_errors_total";
pub const WEBHOOK_DELIVERIES: &str = "onramp_webhook_deliveries_total";
pub const OPS_TASKS_OVERDUE: &str = "onramp_ops_tasks_overdue";

/// Upper bounds of the `_seconds` histograms: a cached API read (ms) to a
/// PE commit on a large datastore or an LRO budget (a minute and more).
pub const SECONDS_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];
/// Upper bounds of the batch size histogram: one change up to the writer's
/// largest batches (it doubles while commits stay cheap).
pub const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0];

/// Describes every series to the installed recorder (HELP and TYPE lines).
pub fn describe() {
    describe_histogram!(
        HTTP_REQUEST_DURATION,
        Unit::Seconds,
        "API requests by method, matched route template and status"
    );
    describe_counter!(
        JOBS,
        "Jobs run by a worker, by connector kind (or link), action and outcome"
    );
    describe_histogram!(
        JOB_DURATION,
        Unit::Seconds,
        "Time a worker spent on one job, by kind and action"
    );
    describe_gauge!(
        OUTBOX_LAG,
        Unit::Seconds,
        "Age of the oldest unpublished outbox row when the relay last looked (0: none waiting)"
    );
    describe_gauge!(
        QUEUE_DEPTH,
        "Jobs waiting for delivery on a JetStream consumer (num_pending)"
    );
    describe_gauge!(
        QUEUE_IN_FLIGHT,
        "Jobs delivered and not yet acked on a JetStream consumer: running, or naked until a poll is due (num_ack_pending)"
    );
    describe_histogram!(
        PE_COMMIT_DURATION,
        Unit::Seconds,
        "One PE writer push: edits, confirmed commit, read-back, confirming commit"
    );
    describe_histogram!(
        PE_COMMIT_BATCH_SIZE,
        Unit::Count,
        "Changes pushed in one PE commit"
    );
    describe_histogram!(
        CSP_CALL_DURATION,
        Unit::Seconds,
        "One call to a CSP API (AWS: one SDK operation with its retries; Azure, Google: one HTTP exchange)"
    );
    describe_counter!(
        CSP_CALL_ERRORS,
        "CSP calls that did not succeed, by what went wrong"
    );
    describe_counter!(WEBHOOK_DELIVERIES, "Webhook delivery attempts by outcome");
    describe_gauge!(
        OPS_TASKS_OVERDUE,
        "Ticket providers' ops tasks open or claimed past their due time, by provider"
    );
}

/// One API request, labelled with the route template (`/v1/connectors/{id}`),
/// never the path a client sent.
pub fn http_request(method: &str, route: &str, status: u16, took: Duration) {
    histogram!(
        HTTP_REQUEST_DURATION,
        "method" => method.to_owned(),
        "route" => route.to_owned(),
        "status" => status.to_string(),
    )
    .record(took.as_secs_f64());
}

/// How a job ended, as the runner settled its message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobOutcome {
    /// The machine's transition (and next job) committed.
    Done,
    /// Still waiting on someone (a customer, a CSP operation): looked again
    /// after the poll interval.
    Waiting,
    /// The router change is queued; the PE's writer settles the connector.
    Queued,
    /// Handed to a person (an ops task); nothing to commit now.
    Parked,
    /// A transient failure; the job runs again after a backoff.
    Retry,
    /// The CSP throttled it; the job runs again after its Retry-After.
    Throttled,
    /// Another worker holds the connector, or changed it meanwhile.
    Busy,
    /// The connector has moved past the job's action.
    Stale,
    /// The machine ignored the event.
    Ignored,
    /// The job cannot be run (unreadable, unknown connector or action).
    Dropped,
    /// The store failed; the job runs again after a backoff.
    Error,
}

impl JobOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Waiting => "waiting",
            Self::Queued => "queued",
            Self::Parked => "parked",
            Self::Retry => "retry",
            Self::Throttled => "throttled",
            Self::Busy => "busy",
            Self::Stale => "stale",
            Self::Ignored => "ignored",
            Self::Dropped => "dropped",
            Self::Error => "error",
        }
    }
}

/// One job: `kind` is the connector kind's wire name or `link`.
pub fn job(kind: &str, action: &str, outcome: JobOutcome, took: Duration) {
    counter!(
        JOBS,
        "kind" => kind.to_owned(),
        "action" => action.to_owned(),
        "outcome" => outcome.as_str(),
    )
    .increment(1);
    histogram!(
        JOB_DURATION,
        "kind" => kind.to_owned(),
        "action" => action.to_owned(),
    )
    .record(took.as_secs_f64());
}

pub fn outbox_lag(age: Duration) {
    gauge!(OUTBOX_LAG).set(age.as_secs_f64());
}

pub fn queue(consumer: &str, pending: u64, in_flight: u64) {
    gauge!(QUEUE_DEPTH, "consumer" => consumer.to_owned()).set(pending as f64);
    gauge!(QUEUE_IN_FLIGHT, "consumer" => consumer.to_owned()).set(in_flight as f64);
}

/// One commit of PE `pe` (its inventory name) carrying `changes` changes.
pub fn pe_commit(pe: &str, took: Duration, changes: usize) {
    histogram!(PE_COMMIT_DURATION, "pe" => pe.to_owned()).record(took.as_secs_f64());
    histogram!(PE_COMMIT_BATCH_SIZE, "pe" => pe.to_owned()).record(changes as f64);
}

/// Which CSP a call went to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Csp {
    Aws,
    Azure,
    Gcp,
}

impl Csp {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Aws => "aws",
            Self::Azure => "azure",
            Self::Gcp => "gcp",
        }
    }
}

/// What went wrong with a CSP call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CspError {
    /// 429, or a throttling error code.
    Throttled,
    /// 5xx.
    Server,
    /// 404: often an answer, not a fault (a lookup of something already
    /// gone), hence apart from [`CspError::Client`].
    NotFound,
    /// Any other 4xx: the CSP refused the request.
    Client,
    /// No answer in time.
    Timeout,
    /// No answer: connection refused, TLS, a reset.
    Transport,
    /// No access token from the CSP's token endpoint.
    Token,
    /// Anything else (an answer the client could not read).
    Other,
}

impl CspError {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Throttled => "throttled",
            Self::Server => "server",
            Self::NotFound => "not_found",
            Self::Client => "client",
            Self::Timeout => "timeout",
            Self::Transport => "transport",
            Self::Token => "token",
            Self::Other => "other",
        }
    }

    /// The error an HTTP status is, `None` for a success.
    pub fn from_status(status: u16) -> Option<Self> {
        match status {
            429 => Some(Self::Throttled),
            404 => Some(Self::NotFound),
            500..=599 => Some(Self::Server),
            400..=499 => Some(Self::Client),
            _ => None,
        }
    }
}

/// One call of `operation` (the CSP's own name for it, e.g.
/// `AllocatePrivateVirtualInterface`, `compute.interconnectAttachments.insert`).
pub fn csp_call(csp: Csp, operation: &str, took: Duration, error: Option<CspError>) {
    histogram!(
        CSP_CALL_DURATION,
        "csp" => csp.as_str(),
        "operation" => operation.to_owned(),
    )
    .record(took.as_secs_f64());
    if let Some(e) = error {
        counter!(
            CSP_CALL_ERRORS,
            "csp" => csp.as_str(),
            "operation" => operation.to_owned(),
            "error" => e.as_str(),
        )
        .increment(1);
    }
}

/// How one webhook delivery attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// 2xx from the receiver.
    Delivered,
    /// Anything else; the event is tried again later.
    Failed,
    /// Failed for the last time; the webhook moves past the event.
    GaveUp,
}

impl WebhookOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::GaveUp => "gave_up",
        }
    }
}

pub fn webhook_delivery(outcome: WebhookOutcome) {
    counter!(WEBHOOK_DELIVERIES, "outcome" => outcome.as_str()).increment(1);
}

/// Ops tasks of `provider` (its key) past due now.
pub fn ops_tasks_overdue(provider: &str, overdue: u64) {
    gauge!(OPS_TASKS_OVERDUE, "provider" => provider.to_owned()).set(overdue as f64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_bounded_error_kinds() {
        assert_eq!(CspError::from_status(200), None);
        assert_eq!(CspError::from_status(202), None);
        assert_eq!(CspError::from_status(429), Some(CspError::Throttled));
        assert_eq!(CspError::from_status(404), Some(CspError::NotFound));
        assert_eq!(CspError::from_status(409), Some(CspError::Client));
        assert_eq!(CspError::from_status(503), Some(CspError::Server));
    }

    #[test]
    fn buckets_ascend() {
        for b in [SECONDS_BUCKETS, BATCH_BUCKETS] {
            assert!(b.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
