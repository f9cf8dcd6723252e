//! `onramp-dev up`: the whole stack on one machine, for a demo or a try-out.
//! Everything listens on 127.0.0.1 only. The API and the worker run in this
//! process (the same library calls `onramp serve` and `onramp worker` make),
//! with the PEs' SNMP agents; nats-server, netconfd, sshd, Prometheus and
//! its SNMP exporter are children that die with it.

mod banner;
mod demo;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use onramp_devstack::nats::NatsServer;
use onramp_devstack::pe::{PeLab, PeLabConfig};
use onramp_devstack::telemetry::{Prometheus, SnmpExporter};
use onramp_simulators::aws_dx::{AwsDxSim, Interconnect, RunningSim, SimConfig};
use onramp_simulators::azure_er::{AzureErSim, AzureSimConfig, RunningAzureSim};
use onramp_simulators::gcp_pi::{GcpPiSim, GcpSimConfig, RunningGcpSim};
use onramp_store::DatabaseConnection;
use onramp_store::secrets::SecretBox;
use onramp_workers::{AzureConfig, DxConfig, GcpConfig, GcpSettings, WorkerConfig};
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Args)]
pub(crate) struct UpArgs {
    /// Where the SQLite database and the servers' files live.
    #[arg(long, default_value = ".onramp-dev")]
    dir: PathBuf,
    /// Where the API and the web front ends listen.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Where the worker serves /metrics, /healthz and /readyz (what
    /// `onramp worker --listen` serves; one registry for the whole process).
    #[arg(long, default_value = "127.0.0.1:9465")]
    worker_listen: SocketAddr,
    /// The AWS simulator's port.
    #[arg(long, default_value_t = 4566)]
    aws_port: u16,
    /// Seconds from the customer's acceptance to the VIF being available, and again to BGP up.
    #[arg(long, default_value_t = 2)]
    aws_delay_secs: u64,
    /// The Azure ExpressRoute simulator's port (ARM and the token endpoint).
    #[arg(long, default_value_t = 4567)]
    azure_port: u16,
    /// The Google Compute simulator's port (Compute and the metadata token endpoint).
    #[arg(long, default_value_t = 4568)]
    gcp_port: u16,
}

pub(crate) async fn run(a: UpArgs) -> anyhow::Result<()> {
    let dirs = Dirs::prepare(&a.dir)?;
    let children = Children::start(&dirs.run)?;
    let sims = Simulators::start(&a).await?;
    let agents = start_agents(&children, &sims).await?;
    let secrets = open_sealing_key(&dirs.root)?;
    let db_url = format!(
        "sqlite://{}?mode=rwc",
        dirs.root.join("onramp.db").display()
    );
    let db = onramp_store::connect_and_migrate(&db_url).await?;
    let seeded = demo::seed(&db, children.pes.endpoints(), &agents, &secrets).await?;

    let scrape = onramp_signals::install::metrics()?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let cfg = worker_config(&children, &sims, secrets.clone(), a.listen);
    let worker_listener = tokio::net::TcpListener::bind(a.worker_listen)
        .await
        .with_context(|| format!("binding {} (is another onramp running?)", a.worker_listen))?;
    let worker_base = format!("http://{}", worker_listener.local_addr()?);
    let worker = Worker::start(
        db.clone(),
        cfg,
        &children,
        (worker_listener, scrape.clone()),
        stop_rx.clone(),
    )
    .await?;
    let (base, api) = start_api(
        a.listen,
        db,
        secrets,
        sims.azure_config(),
        (&children.prometheus.url(), scrape),
        stop_rx,
    )
    .await?;

    banner::print(&banner::Stack {
        tenant_id: seeded.tenant_id.to_string(),
        base,
        worker: worker_base,
        aws: sims.aws.endpoint_url(),
        azure: sims.azure.endpoint_url(),
        gcp: sims.gcp.endpoint_url(),
        nats: children.nats.url(),
        prometheus: children.prometheus.url(),
        agents: agents
            .agents()
            .iter()
            .map(|a| (a.pe.clone(), a.snmp_addr.to_string()))
            .collect(),
        db_url,
        pes: children.pes.endpoints(),
        run_dir: dirs.run,
        dev_bin: this_binary(),
    });

    shutdown_signal().await;
    eprintln!("stopping ...");
    let _ = stop_tx.send(true);
    // The in-process parts first, while what they talk to is still up.
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        let _ = api.await;
        worker.join().await;
    })
    .await;
    drop(agents);
    drop(sims);
    children.stop();
    Ok(())
}

/// `root` keeps the database and the sealing key across runs; `run`, the
/// servers' files, is laid anew each time.
struct Dirs {
    root: PathBuf,
    run: PathBuf,
}

impl Dirs {
    fn prepare(dir: &Path) -> anyhow::Result<Dirs> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let root = std::fs::canonicalize(dir)?;
        let run = root.join("run");
        let _ = std::fs::remove_dir_all(&run);
        std::fs::create_dir_all(&run)?;
        Ok(Dirs { root, run })
    }
}

/// The stack's external servers, run as child processes.
struct Children {
    nats: NatsServer,
    pes: PeLab,
    snmp_exporter: SnmpExporter,
    prometheus: Prometheus,
}

/// How often the dev stack's Prometheus scrapes the PEs.
const SCRAPE_INTERVAL: Duration = Duration::from_secs(5);

impl Children {
    fn start(run_dir: &Path) -> anyhow::Result<Children> {
        eprintln!("starting nats-server (JetStream) ...");
        let nats = NatsServer::start(run_dir).context("starting nats-server")?;
        eprintln!("starting two netconfd PEs behind sshd ...");
        let yang = onramp_router_templates::default_templates_root()
            .join("reference-pe")
            .join("yang");
        let pes = PeLab::start(PeLabConfig::new(&["pe1", "pe2"], yang, run_dir.join("pes")))
            .context("starting the netconfd PEs")?;
        eprintln!("starting Prometheus and its SNMP exporter ...");
        let snmp_yml = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("telemetry")
            .join("snmp.yml");
        let snmp_exporter =
            SnmpExporter::start(run_dir, &snmp_yml).context("starting prometheus-snmp-exporter")?;
        let prometheus = Prometheus::start(run_dir, &snmp_exporter, SCRAPE_INTERVAL)
            .context("starting Prometheus")?;
        Ok(Children {
            nats,
            pes,
            snmp_exporter,
            prometheus,
        })
    }

    /// The PEs first, as before the split: nats last.
    fn stop(self) {
        self.prometheus.stop();
        self.snmp_exporter.stop();
        drop(self.pes);
        self.nats.stop();
    }
}

/// The three CSP simulators, served in this process, and the settings onramp
/// needs to talk to them as the partner.
struct Simulators {
    aws: RunningSim,
    aws_partner_key: String,
    azure: RunningAzureSim,
    azure_cfg: AzureSimConfig,
    gcp: RunningGcpSim,
    gcp_cfg: GcpSimConfig,
}

impl Simulators {
    async fn start(a: &UpArgs) -> anyhow::Result<Simulators> {
        let delay = Duration::from_secs(a.aws_delay_secs);
        // The interconnects the demo inventory names (demo.rs).
        let aws_cfg = SimConfig {
            interconnects: vec![
                Interconnect {
                    connection_id: "dxcon-onramp01".into(),
                    name: "onramp-eqdc2-1".into(),
                    location: "EqDC2".into(),
                    region: "us-east-1".into(),
                    bandwidth: "10Gbps".into(),
                },
                Interconnect {
                    connection_id: "dxcon-onramp02".into(),
                    name: "onramp-eqse2-1".into(),
                    location: "EqSE2".into(),
                    region: "us-west-2".into(),
                    bandwidth: "10Gbps".into(),
                },
            ],
            available_after: delay,
            bgp_up_after: delay,
            ..SimConfig::default()
        };
        let aws_partner_key = aws_cfg.partner_access_key_id.clone();
        let aws = AwsDxSim::new(aws_cfg)
            .serve(([127, 0, 0, 1], a.aws_port).into())
            .await
            .with_context(|| format!("starting the AWS simulator on port {}", a.aws_port))?;

        let azure_cfg = AzureSimConfig {
            lro_delay: Duration::from_secs(1),
            ..AzureSimConfig::default()
        };
        let azure = AzureErSim::new(azure_cfg.clone())
            .serve(([127, 0, 0, 1], a.azure_port).into())
            .await
            .with_context(|| format!("starting the Azure simulator on port {}", a.azure_port))?;

        let gcp_cfg = GcpSimConfig {
            op_delay: Duration::from_secs(1),
            ..GcpSimConfig::default()
        };
        let gcp = GcpPiSim::new(gcp_cfg.clone())
            .serve(([127, 0, 0, 1], a.gcp_port).into())
            .await
            .with_context(|| format!("starting the Google simulator on port {}", a.gcp_port))?;

        Ok(Simulators {
            aws,
            aws_partner_key,
            azure,
            azure_cfg,
            gcp,
            gcp_cfg,
        })
    }

    /// ARM and the token endpoint are one server in the simulator.
    fn azure_config(&self) -> AzureConfig {
        AzureConfig::new(
            self.azure.endpoint_url(),
            self.azure.endpoint_url(),
            self.azure_cfg.tenant_id.clone(),
            self.azure_cfg.client_id.clone(),
            self.azure_cfg.client_secret.clone(),
            self.azure_cfg.subscription_id.clone(),
        )
    }
}

/// An SNMP agent per PE, following the PEs and the CSP simulators.
async fn start_agents(
    children: &Children,
    sims: &Simulators,
) -> anyhow::Result<onramp_lab_agent::Lab> {
    let targets = children
        .pes
        .endpoints()
        .iter()
        .map(|e| onramp_pe_netconf::PeTarget {
            name: e.name.clone(),
            host: e.host.clone(),
            port: e.port,
            username: e.username.clone(),
            password: e.password.clone(),
            host_key_fingerprint: Some(e.host_key_fingerprint.clone()),
        })
        .collect();
    onramp_lab_agent::Lab::start(
        targets,
        onramp_lab_agent::LabConfig {
            csps: onramp_lab_agent::Csps {
                aws: Some(sims.aws.sim.clone()),
                azure: Some(sims.azure.sim.clone()),
                gcp: Some(sims.gcp.sim.clone()),
            },
            ..onramp_lab_agent::LabConfig::default()
        },
    )
    .await
    .context("starting the PEs' SNMP agents")
}

/// The dev stack's own sealing key, kept with its database: a new one would
/// leave the sealed BGP keys of earlier runs unreadable.
fn open_sealing_key(dir: &Path) -> anyhow::Result<SecretBox> {
    let key_file = dir.join("secret.key");
    let secret_key = match std::fs::read_to_string(&key_file) {
        Ok(k) => k,
        Err(_) => {
            let k = SecretBox::generate_base64_key();
            std::fs::write(&key_file, &k)?;
            k
        }
    };
    SecretBox::from_base64_key(&secret_key)
        .with_context(|| format!("{} is not a usable key", key_file.display()))
}

/// The worker pointed at the simulators, with shorter waits than in
/// production so that a demo order moves along while one watches.
fn worker_config(
    children: &Children,
    sims: &Simulators,
    secrets: SecretBox,
    listen: SocketAddr,
) -> WorkerConfig {
    let mut cfg = WorkerConfig::new(
        children.nats.url(),
        DxConfig {
            endpoint_url: sims.aws.endpoint_url(),
            region: "us-east-1".into(),
            access_key_id: sims.aws_partner_key.clone(),
            secret_access_key: "onramp-dev-secret".into(),
        },
        secrets,
    );
    cfg.poll_interval = Duration::from_secs(1);
    cfg.ack_wait = Duration::from_secs(20);
    cfg.lease = Duration::from_secs(20);
    cfg.templates_root = onramp_router_templates::default_templates_root();
    cfg.azure = Some(sims.azure_config());
    cfg.gcp = Some(GcpSettings {
        api: GcpConfig::new(
            sims.gcp.endpoint_url(),
            sims.gcp.endpoint_url(),
            sims.gcp_cfg.project.clone(),
        ),
        partner_name: sims.gcp_cfg.partner_name.clone(),
        portal_url: format!("http://{listen}"),
    });
    cfg
}

/// What `onramp worker` runs: the outbox relay, webhook delivery and the job
/// runner, until `stop` turns true.
struct Worker {
    relay: JoinHandle<()>,
    webhooks: JoinHandle<()>,
    telemetry: JoinHandle<()>,
    sla: JoinHandle<()>,
    gauges: JoinHandle<()>,
    health: JoinHandle<std::io::Result<()>>,
    jobs: JoinHandle<Result<(), onramp_workers::Error>>,
}

impl Worker {
    async fn start(
        db: DatabaseConnection,
        cfg: WorkerConfig,
        children: &Children,
        (listener, scrape): (tokio::net::TcpListener, onramp_signals::Scrape),
        stop: watch::Receiver<bool>,
    ) -> anyhow::Result<Worker> {
        let telemetry = tokio::spawn(onramp_workers::run_telemetry(
            db.clone(),
            onramp_workers::TelemetryConfig {
                sd_file: children.prometheus.sd_dir().join("onramp-pes.json"),
                interval: Duration::from_secs(2),
            },
            stop.clone(),
        ));
        let sla = tokio::spawn(onramp_workers::run_sla(
            db.clone(),
            onramp_workers::SlaConfig {
                prometheus: onramp_workers::PromClient::new(
                    &children.prometheus.url(),
                    Duration::from_secs(10),
                )?,
                interval: Duration::from_secs(10),
            },
            stop.clone(),
        ));
        let js = onramp_workers::connect_jetstream(&cfg.nats_url).await?;
        onramp_workers::ensure_stream_and_consumers(&js, cfg.ack_wait).await?;
        let mut health_stop = stop.clone();
        let health = tokio::spawn(onramp_workers::serve_health(
            listener,
            onramp_workers::HealthState {
                db: db.clone(),
                nats: js.client(),
                scrape,
            },
            async move {
                let _ = health_stop.changed().await;
            },
        ));
        let gauges = tokio::spawn(onramp_workers::run_gauges(
            db.clone(),
            js.clone(),
            Duration::from_secs(5),
            stop.clone(),
        ));
        let relay = tokio::spawn(onramp_workers::run_relay(db.clone(), js, stop.clone()));
        let webhooks = tokio::spawn(onramp_workers::run_webhooks(
            db.clone(),
            cfg.secrets.clone(),
            onramp_workers::WebhookConfig::new(cfg.worker_id.clone()),
            stop.clone(),
        ));
        let jobs = tokio::spawn(onramp_workers::run_worker(db, cfg, stop));
        Ok(Worker {
            relay,
            webhooks,
            telemetry,
            sla,
            gauges,
            health,
            jobs,
        })
    }

    async fn join(self) {
        let _ = self.relay.await;
        let _ = self.gauges.await;
        let _ = self.health.await;
        if let Ok(Err(e)) = self.jobs.await {
            eprintln!("the worker stopped with an error: {e}");
        }
        let _ = self.webhooks.await;
        let _ = self.telemetry.await;
        let _ = self.sla.await;
    }
}

/// What `onramp serve` runs, until `stop` turns true. Returns the API's base
/// URL.
async fn start_api(
    listen: SocketAddr,
    db: DatabaseConnection,
    secrets: SecretBox,
    azure: AzureConfig,
    (prometheus, scrape): (&str, onramp_signals::Scrape),
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<(String, JoinHandle<std::io::Result<()>>)> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen} (is another onramp running?)"))?;
    let base = format!("http://{}", listener.local_addr()?);
    let api = tokio::spawn(onramp_web::serve(
        listener,
        onramp_api::AppState::new(db, secrets)
            .with_azure(Some(azure))
            .with_scrape(scrape)
            .with_prometheus(prometheus, SCRAPE_INTERVAL)?,
        async move {
            let _ = stop.changed().await;
        },
    ));
    Ok((base, api))
}

/// This binary's path, for the commands the banner prints; its bare name
/// when the path is unknown.
fn this_binary() -> String {
    std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "onramp-dev".into())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("install SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
