//! Workers: the outbox relay, the job runner and the PE writers. A job names
//! one action of one connector; the runner executes it through an adapter
//! (AWS, Azure, Google, an ops task), feeds the outcome to the connector's
//! state machine, commits the new state with the next job, and only then
//! acks. A router action only queues its change: the PE's writer loop pushes
//! it with the PE's other queued changes and settles the connector itself.
//!
//! ```text
//!  outbox (db) ──relay──> JetStream ONRAMP_JOBS (work queue)
//!                   │ consumer "onramp-actions"     │ consumer "onramp-polls"
//!                   v (connector and link steps)    v (poll_* / check_*, no lease)
//!   job ─> stale? ─> lease ─> execute action ─> machine.handle(event)
//!                                  │                 │ changed: commit state + event + next job; ack
//!                                  │ transient       │ still waiting: nak(poll interval)
//!                                  v                 │ ignored: ack
//!                       record last_error; nak(backoff)
//!                                  │ router change queued: ack
//!                                  v
//!   pe_changes ──> PE writer loop (one per PE, leased) ──> one commit ──> settle each owner
//! ```

mod error;
mod gauges;
pub mod health;
mod kinds;
mod links;
mod pe_writer;
mod queue;
mod relay;
mod router_push;
mod runner;
mod settle;
pub mod sla;
mod step;
pub mod telemetry;
pub mod webhooks;

use std::path::PathBuf;
use std::time::Duration;

pub use error::Error;
pub use gauges::run_gauges;
pub use health::{HealthState, serve_health};
pub use onramp_aws_dx::DxConfig;
pub use onramp_azure_er::AzureConfig;
pub use onramp_gcp_pi::GcpConfig;
pub use onramp_prometheus::PromClient;
pub use onramp_store::secrets::SecretBox;
pub use queue::{connect_jetstream, ensure_stream_and_consumers};
pub use relay::run_relay;
pub use runner::run_worker;
pub use sla::{SlaConfig, run_sla};
pub use telemetry::{TelemetryConfig, run_telemetry};
pub use webhooks::{WebhookConfig, run_webhooks};

#[derive(Clone, Debug)]
pub struct WorkerConfig {
    pub nats_url: String,
    /// Opens the sealed BGP keys.
    pub secrets: SecretBox,
    pub dx: DxConfig,
    /// The ExpressRoute partner API; `None` leaves Azure connectors retrying
    /// with a message that says so.
    pub azure: Option<AzureConfig>,
    /// Compute (Partner Interconnect); `None` leaves Google connectors
    /// retrying with a message that says so.
    pub gcp: Option<GcpSettings>,
    pub templates_root: PathBuf,
    /// How long a poll that saw no change waits before the next look.
    pub poll_interval: Duration,
    /// JetStream redelivers a job that was not acked within this time (the
    /// worker died). Also bounds how long one action may take.
    pub ack_wait: Duration,
    /// How long a worker owns a connector while running one of its actions.
    pub lease: Duration,
    /// How long a PE's writer lease lasts without a heartbeat: a killed
    /// worker's PEs stall this long before another worker takes them.
    pub pe_lease: Duration,
    /// Upper bound of the retry backoff for transient failures.
    pub max_backoff: Duration,
    /// A teardown change the router refused this many times stops being
    /// retried and is handed to ops (`onramp_store::stuck`).
    pub stuck_after: u32,
    /// Actions (a connector's or a link's next step) run at once.
    pub max_in_flight: usize,
    /// Polls (looks at a CSP or a PE) run at once; they wait on the network
    /// and cost one read each, so many may run beside the actions.
    pub max_polls_in_flight: usize,
    /// Names this worker in leases and logs.
    pub worker_id: String,
}

/// Google Partner Interconnect settings of the partner.
#[derive(Clone, Debug)]
pub struct GcpSettings {
    pub api: GcpConfig,
    /// `partnerMetadata.partnerName`: shown to the customer in the Google
    /// Cloud console.
    pub partner_name: String,
    /// `partnerMetadata.portalUrl`: where the customer manages the connection.
    pub portal_url: String,
}

impl WorkerConfig {
    pub fn new(nats_url: String, dx: DxConfig, secrets: SecretBox) -> Self {
        Self {
            nats_url,
            secrets,
            dx,
            azure: None,
            gcp: None,
            templates_root: onramp_router_templates::default_templates_root(),
            poll_interval: Duration::from_secs(5),
            ack_wait: Duration::from_secs(60),
            lease: Duration::from_secs(60),
            pe_lease: Duration::from_secs(5),
            max_backoff: Duration::from_secs(60),
            stuck_after: 8,
            max_in_flight: 16,
            max_polls_in_flight: 64,
            worker_id: format!("worker-{}", std::process::id()),
        }
    }
}
