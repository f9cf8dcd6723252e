//! Where and with which budgets to call Compute.

use std::time::Duration;

use onramp_clock::Clock;

/// The partner project, the endpoints and the call budgets. Credentials
/// come from the metadata server (the workload's service account), so
/// nothing here is secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GcpConfig {
    /// `https://compute.googleapis.com` in production; the simulator's
    /// `endpoint_url()` in tests.
    pub compute_url: String,
    /// `http://metadata.google.internal` on GCE/GKE; the simulator's
    /// `endpoint_url()` in tests.
    pub metadata_url: String,
    /// The partner project that owns the interconnects and the
    /// `PARTNER_PROVIDER` attachments.
    pub project: String,
    /// How long one call may follow a Compute operation before reporting
    /// `Progress::InProgress`; default 60 s.
    pub op_budget: Duration,
    /// Total `Retry-After` sleeping one call may do on 429s before giving up
    /// with `Error::Throttled`; default 30 s.
    pub max_throttle_wait: Duration,
    /// Decides when a cached token is due for renewal: the system clock,
    /// or in tests the simulator's manual one.
    pub clock: Clock,
}

impl GcpConfig {
    pub const DEFAULT_OP_BUDGET: Duration = Duration::from_secs(60);
    pub const DEFAULT_MAX_THROTTLE_WAIT: Duration = Duration::from_secs(30);

    /// The given endpoints and project, default budgets.
    pub fn new(
        compute_url: impl Into<String>,
        metadata_url: impl Into<String>,
        project: impl Into<String>,
    ) -> Self {
        Self {
            compute_url: compute_url.into(),
            metadata_url: metadata_url.into(),
            project: project.into(),
            op_budget: Self::DEFAULT_OP_BUDGET,
            max_throttle_wait: Self::DEFAULT_MAX_THROTTLE_WAIT,
            clock: Clock::system(),
        }
    }
}
