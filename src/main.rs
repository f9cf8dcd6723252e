//! The `onramp` binary: one executable, one subcommand per role. The dev
//! stack and the simulated cloud customers are `onramp-dev` (devtools/), so
//! that what operators deploy links no simulator.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use onramp_signals::install::LogFormat;
use onramp_workers::{DxConfig, WebhookConfig, WorkerConfig};

#[derive(Parser)]
#[command(
    name = "onramp",
    version,
    about = "Provisioning orchestrator for private connectivity into the clouds"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log lines for people (`text`) or one JSON object per line (`json`),
    /// each with the fields of its span (`request_id`), on stderr.
    #[arg(long, global = true, env = "ONRAMP_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// An OpenTelemetry collector's OTLP/HTTP base URL
    /// (`http://collector:4318`): every span (requests, jobs, PE changes,
    /// with their request ids) is exported there too, as
    /// `service.name` `onramp-api` or `onramp-worker`.
    #[arg(long, global = true, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    otlp_endpoint: Option<String>,
}

// Parsed once at start-up; the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Serve the REST API.
    Serve(ServeArgs),
    /// Run a worker: the outbox relay, the job runner and webhook delivery.
    Worker(WorkerArgs),
    /// Apply database migrations and exit.
    Migrate(DbArgs),
    /// First start of an install: the operator's tenant, an admin API key
    /// (printed once) and, with --admin-email, an admin who can sign in to
    /// the ops console.
    Bootstrap(BootstrapArgs),
    /// Print the OpenAPI document.
    Openapi,
    /// Operate onramp through its REST API: connectors, PEs and their
    /// maintenance (an admin or ops API key).
    Ctl(onramp_ctl::CtlArgs),
}

#[derive(Args, Clone)]
pub struct SecretArgs {
    /// 32 random bytes, base64: seals BGP keys at rest. `onramp-dev` makes
    /// one; elsewhere generate one with `head -c32 /dev/urandom | base64`.
    #[arg(long = "secret-key", env = "ONRAMP_SECRET_KEY", hide_env_values = true)]
    secret_key: String,
}

impl SecretArgs {
    fn open(&self) -> anyhow::Result<onramp_store::secrets::SecretBox> {
        onramp_store::secrets::SecretBox::from_base64_key(&self.secret_key)
            .context("ONRAMP_SECRET_KEY is unusable")
    }
}

#[derive(Args)]
struct BootstrapArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Also create an admin user with this email, for the ops console.
    #[arg(long)]
    admin_email: Option<String>,
    #[arg(long, default_value = "Administrator")]
    admin_name: String,
    /// The admin user's password (at least 12 characters); required with
    /// --admin-email. Read from the environment so it stays out of `ps`.
    #[arg(
        long = "admin-password-env-only",
        env = "ONRAMP_BOOTSTRAP_PASSWORD",
        hide = true
    )]
    admin_password: Option<String>,
}

#[derive(Args, Clone)]
pub struct DbArgs {
    /// `sqlite://path?mode=rwc` (the default) or `postgres://...`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://onramp.db?mode=rwc"
    )]
    database_url: String,
    /// Seconds to keep trying to reach the database at start-up, and the
    /// longest a request waits for a pooled connection.
    #[arg(long, env = "ONRAMP_DATABASE_WAIT", default_value_t = 30)]
    database_wait: u64,
}

impl DbArgs {
    /// Opens and migrates the database, naming it when that fails.
    async fn open(&self, doing: &str) -> anyhow::Result<onramp_store::DatabaseConnection> {
        onramp_store::connect_and_migrate_within(
            &self.database_url,
            std::time::Duration::from_secs(self.database_wait),
        )
        .await
        .with_context(|| format!("{doing} {}", self.database_url))
    }
}

/// The ExpressRoute partner API. Azure is enabled when a client id is set.
#[derive(Args, Clone)]
pub struct AzureArgs {
    /// Azure Resource Manager; the simulator's URL in dev and tests.
    #[arg(
        long = "azure-arm-url",
        env = "ONRAMP_AZURE_ARM_URL",
        default_value = "https://management.azure.com"
    )]
    arm_url: String,
    /// Microsoft Entra ID (AAD) token endpoint host.
    #[arg(
        long = "azure-login-url",
        env = "ONRAMP_AZURE_LOGIN_URL",
        default_value = "https://login.microsoftonline.com"
    )]
    login_url: String,
    #[arg(
        long = "azure-tenant-id",
        env = "ONRAMP_AZURE_TENANT_ID",
        default_value = ""
    )]
    tenant_id: String,
    /// The partner's app registration; empty disables Azure connectors.
    #[arg(
        long = "azure-client-id",
        env = "ONRAMP_AZURE_CLIENT_ID",
        default_value = ""
    )]
    client_id: String,
    #[arg(
        long = "azure-client-secret",
        env = "ONRAMP_AZURE_CLIENT_SECRET",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true
    )]
    client_secret: String,
    /// The partner subscription that holds the cross-connections.
    #[arg(
        long = "azure-subscription-id",
        env = "ONRAMP_AZURE_SUBSCRIPTION_ID",
        default_value = ""
    )]
    subscription_id: String,
}

impl AzureArgs {
    /// None when Azure is not configured; an error naming the setting when
    /// it is configured halfway.
    pub fn config(&self) -> anyhow::Result<Option<onramp_workers::AzureConfig>> {
        if self.client_id.is_empty() {
            return Ok(None);
        }
        for (name, value) in [
            ("ONRAMP_AZURE_TENANT_ID", &self.tenant_id),
            ("ONRAMP_AZURE_CLIENT_SECRET", &self.client_secret),
            ("ONRAMP_AZURE_SUBSCRIPTION_ID", &self.subscription_id),
        ] {
            if value.trim().is_empty() {
                anyhow::bail!("{name} is required when ONRAMP_AZURE_CLIENT_ID is set");
            }
        }
        for (name, value) in [
            ("ONRAMP_AZURE_ARM_URL", &self.arm_url),
            ("ONRAMP_AZURE_LOGIN_URL", &self.login_url),
        ] {
            if !(value.starts_with("https://") || value.starts_with("http://")) {
                anyhow::bail!("{name} must be an http(s) URL, got `{value}`");
            }
        }
        let mut cfg = onramp_workers::AzureConfig::new(
            self.arm_url.trim_end_matches('/').to_string(),
            self.login_url.trim_end_matches('/').to_string(),
            self.tenant_id.clone(),
            self.client_id.clone(),
            self.client_secret.clone(),
            self.subscription_id.clone(),
        );
        // One call must end well inside the job's ack wait (60 s by default)
        // and an API request should not hang: longer operations and storms
        // are left to the next delivery of the job, which reads and resumes.
        cfg.lro_budget = Duration::from_secs(20);
        cfg.max_throttle_wait = Duration::from_secs(10);
        Ok(Some(cfg))
    }
}

/// Google Partner Interconnect (worker only). Enabled when a project is set.
#[derive(Args, Clone)]
pub struct GcpArgs {
    #[arg(
        long = "gcp-compute-url",
        env = "ONRAMP_GCP_COMPUTE_URL",
        default_value = "https://compute.googleapis.com"
    )]
    compute_url: String,
    /// Where access tokens come from: the GCE metadata server, or the
    /// simulator in dev and tests.
    #[arg(
        long = "gcp-metadata-url",
        env = "ONRAMP_GCP_METADATA_URL",
        default_value = "http://metadata.google.internal"
    )]
    metadata_url: String,
    /// The partner project holding the interconnects; empty disables Google.
    #[arg(long = "gcp-project", env = "ONRAMP_GCP_PROJECT", default_value = "")]
    project: String,
    /// `partnerMetadata.partnerName`, shown to customers by Google.
    #[arg(
        long = "gcp-partner-name",
        env = "ONRAMP_GCP_PARTNER_NAME",
        default_value = "Onramp"
    )]
    partner_name: String,
    /// `partnerMetadata.portalUrl`: where customers manage their connection.
    #[arg(
        long = "portal-url",
        env = "ONRAMP_PORTAL_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    portal_url: String,
}

impl GcpArgs {
    pub fn config(&self) -> anyhow::Result<Option<onramp_workers::GcpSettings>> {
        if self.project.trim().is_empty() {
            return Ok(None);
        }
        for (name, value) in [
            ("ONRAMP_GCP_COMPUTE_URL", &self.compute_url),
            ("ONRAMP_GCP_METADATA_URL", &self.metadata_url),
            ("ONRAMP_PORTAL_URL", &self.portal_url),
        ] {
            if !(value.starts_with("https://") || value.starts_with("http://")) {
                anyhow::bail!("{name} must be an http(s) URL, got `{value}`");
            }
        }
        let mut api = onramp_workers::GcpConfig::new(
            self.compute_url.trim_end_matches('/').to_string(),
            self.metadata_url.trim_end_matches('/').to_string(),
            self.project.clone(),
        );
        // Same reasoning as Azure: stay well inside the job's ack wait.
        api.op_budget = Duration::from_secs(20);
        api.max_throttle_wait = Duration::from_secs(10);
        Ok(Some(onramp_workers::GcpSettings {
            api,
            partner_name: self.partner_name.clone(),
            portal_url: self.portal_url.clone(),
        }))
    }
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    secrets: SecretArgs,
    #[command(flatten)]
    azure: AzureArgs,
    #[arg(long, env = "ONRAMP_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Whether customers may reveal their connectors' BGP keys (API and
    /// portal): `allow` or `deny`.
    #[arg(long, env = "ONRAMP_BGP_KEY_REVEAL", default_value = "allow")]
    bgp_key_reveal: onramp_api::bgp_key::RevealPolicy,
    /// Prometheus's base URL, for the customer KPIs
    /// (`/v1/connectors/{id}/metrics`, `/v1/links/{id}/metrics`). Unset:
    /// those answer 503 `metrics_unavailable`.
    #[arg(long, env = "ONRAMP_PROMETHEUS_URL")]
    prometheus_url: Option<String>,
    /// How often Prometheus scrapes the PEs; bitrates are rates over four
    /// scrapes.
    #[arg(long, env = "ONRAMP_PROMETHEUS_SCRAPE_INTERVAL_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(100..))]
    prometheus_scrape_interval_ms: u64,
}

#[derive(Args, Clone)]
pub struct WorkerArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    secrets: SecretArgs,
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4222")]
    nats_url: String,
    /// Direct Connect endpoint; empty means AWS itself.
    #[arg(long, env = "ONRAMP_AWS_ENDPOINT", default_value = "")]
    aws_endpoint: String,
    #[arg(long, env = "ONRAMP_AWS_REGION", default_value = "us-east-1")]
    aws_region: String,
    #[arg(
        long,
        env = "ONRAMP_AWS_ACCESS_KEY_ID",
        default_value = "AKIAONRAMPPARTNER"
    )]
    aws_access_key_id: String,
    #[arg(
        long,
        env = "ONRAMP_AWS_SECRET_ACCESS_KEY",
        default_value = "onramp-dev-secret",
        hide_env_values = true
    )]
    aws_secret_access_key: String,
    #[command(flatten)]
    azure: AzureArgs,
    #[command(flatten)]
    gcp: GcpArgs,
    /// Router template folder (one sub-folder per platform).
    #[arg(long, env = "ONRAMP_TEMPLATES_DIR")]
    templates_dir: Option<PathBuf>,
    /// Wait between two polls of a CSP that saw no change.
    #[arg(long, env = "ONRAMP_POLL_INTERVAL_MS", default_value_t = 5000)]
    poll_interval_ms: u64,
    /// JetStream redelivers an unacked job after this long.
    #[arg(long, env = "ONRAMP_ACK_WAIT_MS", default_value_t = 60_000)]
    ack_wait_ms: u64,
    /// How long a worker owns a connector while it runs one action.
    #[arg(long, env = "ONRAMP_LEASE_MS", default_value_t = 60_000)]
    lease_ms: u64,
    /// How long a PE's writer lease lasts without a heartbeat (renewed every
    /// third of it): a killed worker's PEs wait this long for a new writer.
    #[arg(long, env = "ONRAMP_PE_LEASE_MS", default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(300..))]
    pe_lease_ms: u64,
    /// A teardown the PE refused this many times is handed to the ops team
    /// (console: Stuck changes) instead of being retried again.
    #[arg(long, env = "ONRAMP_STUCK_AFTER", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1000))]
    stuck_after: u32,
    /// Connector and link actions one worker runs at once.
    #[arg(long, env = "ONRAMP_MAX_IN_FLIGHT", default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=1024))]
    max_in_flight: u64,
    /// Polls (looks at a CSP or a PE) one worker runs at once, beside the
    /// actions.
    #[arg(long, env = "ONRAMP_MAX_POLLS_IN_FLIGHT", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=4096))]
    max_polls_in_flight: u64,
    #[arg(long, env = "ONRAMP_WORKER_ID")]
    worker_id: Option<String>,
    /// Where the worker serves /metrics, /healthz and /readyz. Port 0 takes
    /// a free one; the bound address is logged ("worker signals listening").
    #[arg(long, env = "ONRAMP_WORKER_LISTEN", default_value = "127.0.0.1:9465")]
    listen: SocketAddr,
    #[command(flatten)]
    webhooks: WebhookArgs,
    /// Where to write the PEs' SNMP agents as Prometheus file-based service
    /// discovery targets (a `.json` file in a directory Prometheus's
    /// `file_sd_configs` reads). Unset: onramp hands Prometheus nothing.
    #[arg(long, env = "ONRAMP_PROMETHEUS_SD_FILE")]
    prometheus_sd_file: Option<PathBuf>,
    /// Prometheus's base URL, to measure links against their SLA. Unset:
    /// no SLA is evaluated.
    #[arg(long, env = "ONRAMP_PROMETHEUS_URL")]
    prometheus_url: Option<String>,
    /// How often each active link is measured against its SLA.
    #[arg(long, env = "ONRAMP_SLA_INTERVAL_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(100..))]
    sla_interval_ms: u64,
}

/// Webhook delivery; unset settings keep the defaults named.
#[derive(Args, Clone)]
pub struct WebhookArgs {
    /// Wait after an event's first failed delivery; doubles per failure
    /// (default 5000).
    #[arg(long, env = "ONRAMP_WEBHOOK_BACKOFF_MS")]
    webhook_backoff_ms: Option<u64>,
    /// Longest wait between two attempts at one event (default 3600000).
    #[arg(long, env = "ONRAMP_WEBHOOK_MAX_BACKOFF_MS")]
    webhook_max_backoff_ms: Option<u64>,
    /// Attempts at one event before it is given up (default 30).
    #[arg(long, env = "ONRAMP_WEBHOOK_MAX_ATTEMPTS", value_parser = clap::value_parser!(u32).range(1..))]
    webhook_max_attempts: Option<u32>,
    /// One delivery request, connect to answer (default 10000).
    #[arg(long, env = "ONRAMP_WEBHOOK_TIMEOUT_MS", value_parser = clap::value_parser!(u64).range(1..))]
    webhook_timeout_ms: Option<u64>,
    /// How often to look for webhooks with events to deliver (default 1000).
    #[arg(long, env = "ONRAMP_WEBHOOK_POLL_MS", value_parser = clap::value_parser!(u64).range(1..))]
    webhook_poll_ms: Option<u64>,
}

impl WebhookArgs {
    fn config(&self, worker_id: String) -> WebhookConfig {
        let mut cfg = WebhookConfig::new(worker_id);
        let ms = Duration::from_millis;
        if let Some(v) = self.webhook_backoff_ms {
            cfg.base_backoff = ms(v);
        }
        if let Some(v) = self.webhook_max_backoff_ms {
            cfg.max_backoff = ms(v);
        }
        if let Some(v) = self.webhook_max_attempts {
            cfg.max_attempts = v;
        }
        if let Some(v) = self.webhook_timeout_ms {
            cfg.timeout = ms(v);
        }
        if let Some(v) = self.webhook_poll_ms {
            cfg.poll_interval = ms(v);
        }
        cfg
    }
}

impl WorkerArgs {
    fn config(&self) -> anyhow::Result<WorkerConfig> {
        let mut cfg = WorkerConfig::new(
            self.nats_url.clone(),
            DxConfig {
                endpoint_url: self.aws_endpoint.clone(),
                region: self.aws_region.clone(),
                access_key_id: self.aws_access_key_id.clone(),
                secret_access_key: self.aws_secret_access_key.clone(),
            },
            self.secrets.open()?,
        );
        cfg.azure = self.azure.config()?;
        cfg.gcp = self.gcp.config()?;
        if let Some(dir) = &self.templates_dir {
            cfg.templates_root = dir.clone();
        }
        cfg.poll_interval = Duration::from_millis(self.poll_interval_ms);
        cfg.ack_wait = Duration::from_millis(self.ack_wait_ms);
        cfg.lease = Duration::from_millis(self.lease_ms);
        cfg.pe_lease = Duration::from_millis(self.pe_lease_ms);
        cfg.stuck_after = self.stuck_after;
        cfg.max_in_flight = self.max_in_flight as usize;
        cfg.max_polls_in_flight = self.max_polls_in_flight as usize;
        if let Some(id) = &self.worker_id {
            cfg.worker_id = id.clone();
        }
        Ok(cfg)
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<std::process::ExitCode> {
    let cli = Cli::parse();
    let service = match &cli.command {
        Command::Serve(_) => "onramp-api",
        Command::Worker(_) => "onramp-worker",
        _ => "onramp",
    };
    let otlp = cli
        .otlp_endpoint
        .as_ref()
        .map(|endpoint| onramp_signals::install::Otlp {
            endpoint: endpoint.clone(),
            service: service.into(),
        });
    // Held to the end of main: dropping it flushes the last spans.
    let _otlp = onramp_signals::install::logs(cli.log_format, otlp.as_ref())?;
    let done = match cli.command {
        // Its own exit codes: 1 the API refused or is unreachable, 2 bad
        // usage.
        Command::Ctl(a) => {
            let root = <Cli as clap::CommandFactory>::command();
            return Ok(onramp_ctl::run(a, root).await);
        }
        Command::Serve(a) => serve(a).await,
        Command::Worker(a) => worker(a).await,
        Command::Migrate(a) => {
            a.open("migrating").await?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::Bootstrap(a) => bootstrap(a).await,
        Command::Openapi => {
            println!("{}", serde_json::to_string_pretty(&onramp_api::openapi())?);
            Ok(())
        }
    };
    done.map(|()| std::process::ExitCode::SUCCESS)
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("install SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

async fn bootstrap(a: BootstrapArgs) -> anyhow::Result<()> {
    // Check everything before touching the database.
    let admin = match (&a.admin_email, &a.admin_password) {
        (None, _) => None,
        (Some(_), None) => {
            anyhow::bail!("--admin-email needs the admin's password in ONRAMP_BOOTSTRAP_PASSWORD")
        }
        (Some(email), Some(pw)) => {
            if !email.contains('@') || email.trim() != email {
                anyhow::bail!("--admin-email: `{email}` is not an email address");
            }
            if pw.chars().count() < onramp_api::PASSWORD_MIN {
                anyhow::bail!(
                    "ONRAMP_BOOTSTRAP_PASSWORD: at least {} characters",
                    onramp_api::PASSWORD_MIN
                );
            }
            Some((email.clone(), pw.clone()))
        }
    };
    let db = a.db.open("opening database").await?;
    onramp_store::seed::ensure_default_pools(&db).await?;
    let key = onramp_store::auth::generate_key();
    let operator = onramp_store::seed::seed_admin_key(&db, &key).await?;
    if let Some((email, password)) = admin {
        onramp_store::users::create_user(
            &db,
            &onramp_store::users::NewUser {
                tenant_id: operator,
                email: &email,
                name: &a.admin_name,
                role: onramp_store::auth::ROLE_ADMIN,
                password: &password,
            },
        )
        .await
        .with_context(|| format!("creating admin user {email}"))?;
        eprintln!("admin user {email} created; sign in at /login");
    }
    eprintln!("admin API key (shown once; keep it safe):");
    println!("{key}");
    Ok(())
}

async fn serve(a: ServeArgs) -> anyhow::Result<()> {
    let secrets = a.secrets.open()?;
    let azure = a.azure.config()?;
    let scrape = onramp_signals::install::metrics()?;
    let db = a.db.open("opening database").await?;
    let mut state = onramp_api::AppState::new(db, secrets)
        .with_azure(azure)
        .with_bgp_key_reveal(a.bgp_key_reveal);
    if let Some(url) = &a.prometheus_url {
        state = state
            .with_prometheus(url, Duration::from_millis(a.prometheus_scrape_interval_ms))
            .context("ONRAMP_PROMETHEUS_URL")?;
    }
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .with_context(|| format!("binding {}", a.listen))?;
    tracing::info!(addr = %listener.local_addr()?, "API listening");
    onramp_web::serve(listener, state.with_scrape(scrape), shutdown_signal()).await?;
    Ok(())
}

fn onramp_prometheus_client(url: &str) -> anyhow::Result<onramp_workers::PromClient> {
    onramp_workers::PromClient::new(url, Duration::from_secs(10)).context("ONRAMP_PROMETHEUS_URL")
}

async fn worker(a: WorkerArgs) -> anyhow::Result<()> {
    let cfg = a.config()?;
    let scrape = onramp_signals::install::metrics()?;
    // Bound before anything else starts, so a taken port stops the worker
    // at once, saying which.
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .with_context(|| format!("binding the worker's signals listener {}", a.listen))?;
    let db = a.db.open("opening database").await?;
    let (tx, rx) = tokio::sync::watch::channel(false);
    let js = onramp_workers::connect_jetstream(&cfg.nats_url).await?;
    onramp_workers::ensure_stream_and_consumers(&js, cfg.ack_wait).await?;
    tracing::info!(addr = %listener.local_addr()?, "worker signals listening");
    let mut stop = rx.clone();
    let health = tokio::spawn(onramp_workers::serve_health(
        listener,
        onramp_workers::HealthState {
            db: db.clone(),
            nats: js.client(),
            scrape,
        },
        async move {
            let _ = stop.changed().await;
        },
    ));
    let gauges = tokio::spawn(onramp_workers::run_gauges(
        db.clone(),
        js.clone(),
        GAUGE_INTERVAL,
        rx.clone(),
    ));
    let relay = tokio::spawn(onramp_workers::run_relay(db.clone(), js, rx.clone()));
    let webhooks = tokio::spawn(onramp_workers::run_webhooks(
        db.clone(),
        cfg.secrets.clone(),
        a.webhooks.config(cfg.worker_id.clone()),
        rx.clone(),
    ));
    let telemetry = a.prometheus_sd_file.clone().map(|sd_file| {
        tokio::spawn(onramp_workers::run_telemetry(
            db.clone(),
            onramp_workers::TelemetryConfig {
                sd_file,
                interval: Duration::from_secs(5),
            },
            rx.clone(),
        ))
    });
    let sla = match &a.prometheus_url {
        Some(url) => Some(tokio::spawn(onramp_workers::run_sla(
            db.clone(),
            onramp_workers::SlaConfig {
                prometheus: onramp_prometheus_client(url)?,
                interval: Duration::from_millis(a.sla_interval_ms),
            },
            rx.clone(),
        ))),
        None => None,
    };
    let run = tokio::spawn(onramp_workers::run_worker(db, cfg, rx));
    shutdown_signal().await;
    tracing::info!("shutting down");
    let _ = tx.send(true);
    let _ = relay.await;
    let _ = webhooks.await;
    let _ = gauges.await;
    let _ = health.await;
    for t in [telemetry, sla].into_iter().flatten() {
        let _ = t.await;
    }
    run.await??;
    Ok(())
}

/// How often a worker samples its consumers' depth and the overdue tasks.
const GAUGE_INTERVAL: Duration = Duration::from_secs(5);
