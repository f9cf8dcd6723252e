//! Where and as whom to call ARM.

use std::time::Duration;

use onramp_clock::Clock;

/// The partner's app registration and subscription, and the call budgets.
#[derive(Clone)]
pub struct AzureConfig {
    /// `https://management.azure.com` in production; the simulator's
    /// `endpoint_url()` in tests.
    pub arm_url: String,
    /// `https://login.microsoftonline.com`.
    pub login_url: String,
    pub tenant_id: String,
    pub client_id: String,
    /// Never logged, never in `Debug` output.
    pub client_secret: String,
    /// The partner subscription that holds the cross-connections.
    pub subscription_id: String,
    /// ARM `api-version`; default [`AzureConfig::DEFAULT_API_VERSION`].
    pub api_version: String,
    /// How long one call may follow a long-running operation before
    /// reporting `Progress::InProgress`; default 60 s.
    pub lro_budget: Duration,
    /// Total `Retry-After` sleeping one call may do on 429s before giving up
    /// with `Error::Throttled`; default 30 s.
    pub max_throttle_wait: Duration,
    /// Decides when a cached token is due for renewal: the system clock,
    /// or in tests the simulator's manual one.
    pub clock: Clock,
}

impl AzureConfig {
    pub const DEFAULT_API_VERSION: &'static str = "2024-05-01";
    pub const DEFAULT_LRO_BUDGET: Duration = Duration::from_secs(60);
    pub const DEFAULT_MAX_THROTTLE_WAIT: Duration = Duration::from_secs(30);

    /// The given endpoints and credentials, default budgets and api-version.
    pub fn new(
        arm_url: impl Into<String>,
        login_url: impl Into<String>,
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        subscription_id: impl Into<String>,
    ) -> Self {
        Self {
            arm_url: arm_url.into(),
            login_url: login_url.into(),
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            subscription_id: subscription_id.into(),
            api_version: Self::DEFAULT_API_VERSION.to_owned(),
            lro_budget: Self::DEFAULT_LRO_BUDGET,
            max_throttle_wait: Self::DEFAULT_MAX_THROTTLE_WAIT,
            clock: Clock::system(),
        }
    }
}

impl std::fmt::Debug for AzureConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureConfig")
            .field("arm_url", &self.arm_url)
            .field("login_url", &self.login_url)
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("subscription_id", &self.subscription_id)
            .field("api_version", &self.api_version)
            .field("lro_budget", &self.lro_budget)
            .field("max_throttle_wait", &self.max_throttle_wait)
            .field("clock", &self.clock)
            .finish()
    }
}
