//! Test harness: the real stack on free loopback ports. nats-server, netconfd
//! PEs behind sshd, the AWS Direct Connect simulator, SQLite or PostgreSQL,
//! and the `onramp` binary itself as `serve` and `worker` child processes, so
//! a test can SIGKILL a worker the way a crash would.

#![allow(dead_code)]

pub(crate) mod inproc;
pub(crate) mod leaks;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use onramp_devstack::nats::NatsServer;
use onramp_devstack::pe::{PeLab, PeLabConfig};
use onramp_devstack::postgres::PostgresServer;
use onramp_devstack::{ChildGuard, free_port, wait_for_tcp};
use onramp_pe_netconf::PeTarget;
use onramp_simulators::aws_dx::{AwsDxSim, Interconnect, RunningSim, SimConfig};
use onramp_simulators::azure_er::{AzureErSim, AzureSimConfig, RunningAzureSim};
use onramp_simulators::gcp_pi::{GcpPiSim, GcpSimConfig, RunningGcpSim};
use onramp_store::seed::{Seed, SeedDx, SeedEr, SeedGcp, SeedPe};
use serde_json::Value;

/// Where a browser test saves its screenshots, emptied first:
/// `$ONRAMP_ARTIFACTS/<test>`, by default `artifacts/browser/<test>` in the
/// workspace, which `scripts/test.sh` names when the suite ends.
pub(crate) fn artifacts_dir(test: &str) -> PathBuf {
    let root = std::env::var_os("ONRAMP_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("artifacts/browser"));
    let dir = root.join(test);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Db {
    Sqlite,
    Postgres,
}

pub(crate) const CUSTOMER_ACCOUNT: &str = "123456789012";

pub(crate) struct Stack {
    pub dir: tempfile::TempDir,
    pub nats: NatsServer,
    pub pg: Option<PostgresServer>,
    pub pes: PeLab,
    pub sim: RunningSim,
    /// The ExpressRoute simulator (ARM and the token endpoint).
    pub azure: RunningAzureSim,
    /// The Compute simulator (Partner Interconnect) and its token endpoint.
    pub gcp: RunningGcpSim,
    pub db_url: String,
    pub db: onramp_store::DatabaseConnection,
    pub api: ChildGuard,
    pub worker: Option<ChildGuard>,
    pub extra_workers: Vec<ChildGuard>,
    pub secret_key: String,
    pub templates: PathBuf,
    pub base: String,
    pub key: String,
    pub http: reqwest::Client,
    worker_starts: u32,
    /// More environment for workers started from now on (empty: none).
    pub worker_env: Vec<(String, String)>,
    /// The PEs' SNMP agents, the SNMP exporter and Prometheus, when the
    /// stack was started with `telemetry`.
    pub telemetry: Option<Telemetry>,
    /// The log file of worker 0 (`worker`), where it says where its
    /// signals listener is.
    worker_log: PathBuf,
}

/// The KPI side of a stack: an agent per PE, the exporter, Prometheus.
pub(crate) struct Telemetry {
    pub lab: onramp_lab_agent::Lab,
    pub prometheus: onramp_devstack::telemetry::Prometheus,
    _exporter: onramp_devstack::telemetry::SnmpExporter,
}

/// How often the test stack's Prometheus scrapes the PEs.
pub(crate) const SCRAPE_INTERVAL: Duration = Duration::from_secs(1);

/// Microsoft's primary port name for circuits the simulator creates at
/// "Silicon Valley" for provider "Onramp"; the seeded NNI sits on it.
pub(crate) const AZURE_PRIMARY_PORT: &str = SeedEr::LAB_PRIMARY_PORT;

/// The partner credentials the simulator accepts.
fn azure_env<'a>(cmd: &'a mut Command, sim: &RunningAzureSim) -> &'a mut Command {
    let cfg = sim.sim.config();
    cmd.env("ONRAMP_AZURE_ARM_URL", sim.endpoint_url())
        .env("ONRAMP_AZURE_LOGIN_URL", sim.endpoint_url())
        .env("ONRAMP_AZURE_TENANT_ID", cfg.tenant_id)
        .env("ONRAMP_AZURE_CLIENT_ID", cfg.client_id)
        .env("ONRAMP_AZURE_CLIENT_SECRET", cfg.client_secret)
        .env("ONRAMP_AZURE_SUBSCRIPTION_ID", cfg.subscription_id)
}

pub(crate) fn templates_root() -> PathBuf {
    onramp_router_templates::default_templates_root()
}

/// `onramp serve` alone, with `args`, on a new SQLite database in `dir`
/// and a free port, its log in `dir/serve.log`; `env` after the defaults.
/// Answers once it listens.
pub(crate) fn serve_alone(
    dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<(ChildGuard, u16, PathBuf)> {
    let port = free_port();
    let log = dir.join("serve.log");
    let mut serve = ChildGuard::spawn(
        "onramp serve",
        Command::new(bin())
            .arg("serve")
            .args(args)
            .env(
                "DATABASE_URL",
                format!("sqlite://{}?mode=rwc", dir.join("s.db").display()),
            )
            .env(
                "ONRAMP_SECRET_KEY",
                onramp_store::secrets::SecretBox::generate_base64_key(),
            )
            .env("ONRAMP_LISTEN", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "info")
            .envs(env.iter().copied()),
        &log,
    )?;
    wait_for_tcp("onramp serve", port, Duration::from_secs(30), &mut serve)?;
    Ok((serve, port, log))
}

/// The repository's root (telemetry/snmp.yml and the like).
pub(crate) fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Copies router-templates to a temp dir and applies `edit` to the
/// reference-pe create template.
pub(crate) fn planted(dir: &Path, edit: impl Fn(&str) -> String) -> anyhow::Result<PathBuf> {
    planted_in(dir, "attachment-create.xml.j2", edit)
}

/// [`planted`], in the reference-pe template `file`.
pub(crate) fn planted_in(
    dir: &Path,
    file: &str,
    edit: impl Fn(&str) -> String,
) -> anyhow::Result<PathBuf> {
    let root = dir.join("templates");
    copy_dir(
        &templates_root().join("reference-pe"),
        &root.join("reference-pe"),
    )?;
    let f = root.join("reference-pe").join(file);
    let text = std::fs::read_to_string(&f)?;
    let changed = edit(&text);
    assert_ne!(text, changed, "the planted bug must change the template");
    std::fs::write(&f, changed)?;
    Ok(root)
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let dest = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &dest)?;
        } else {
            std::fs::copy(e.path(), dest)?;
        }
    }
    Ok(())
}

/// What differs between stacks.
pub(crate) struct StackOptions {
    /// Router templates the worker renders from.
    pub templates: PathBuf,
    /// The AWS simulator's `available_after` and `bgp_up_after`.
    pub aws_delay: Duration,
    /// A second Direct Connect location, `EqDC3` on interconnect
    /// `dxcon-onramp02`, homed on pe2 (the first, `EqDC2`, is on pe1).
    pub second_dx_location: bool,
    /// A second interconnect at `EqDC2`, `dxcon-onramp03`, at the AWS
    /// simulator only: a test makes it an NNI (of the same group) itself.
    pub second_dx_interconnect: bool,
    /// Extra environment for the worker processes (after the defaults, so
    /// it overrides them).
    pub worker_env: Vec<(String, String)>,
    /// An SNMP agent per PE, scraped by Prometheus through the SNMP
    /// exporter, and the API reading the KPIs from it.
    pub telemetry: bool,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            templates: templates_root(),
            aws_delay: Duration::from_millis(300),
            second_dx_location: false,
            second_dx_interconnect: false,
            worker_env: Vec::new(),
            telemetry: false,
        }
    }
}

impl Stack {
    pub(crate) async fn start(db: Db) -> Result<Stack> {
        Self::start_with(db, StackOptions::default()).await
    }

    /// A stack whose worker renders from `templates` (a copy of
    /// router-templates with a planted bug, for instance).
    pub(crate) async fn start_with_templates(db: Db, templates: PathBuf) -> Result<Stack> {
        Self::start_with(
            db,
            StackOptions {
                templates,
                ..StackOptions::default()
            },
        )
        .await
    }

    pub(crate) async fn start_with(db: Db, opts: StackOptions) -> Result<Stack> {
        let templates = opts.templates;
        let dir = tempfile::Builder::new().prefix("onramp-e2e-").tempdir()?;
        let nats = NatsServer::start(dir.path())?;
        let pes = PeLab::start(PeLabConfig::new(
            &["pe1", "pe2"],
            templates_root().join("reference-pe").join("yang"),
            dir.path().join("pes"),
        ))?;
        let mut aws = SimConfig {
            available_after: opts.aws_delay,
            bgp_up_after: opts.aws_delay,
            deleted_after: Duration::from_millis(100),
            ..SimConfig::default()
        };
        let mut dx = vec![SeedDx {
            location_code: "EqDC2".into(),
            name: "Equinix DC2".into(),
            region: "us-east-1".into(),
            interconnect_id: "dxcon-onramp01".into(),
            pe: 0,
            amazon_side_asn: 64512,
            capacity_mbps: 10_000,
        }];
        let interconnect = |id: &str, name: &str, location: &str| Interconnect {
            connection_id: id.into(),
            name: name.into(),
            location: location.into(),
            region: "us-east-1".into(),
            bandwidth: "10Gbps".into(),
        };
        if opts.second_dx_location {
            aws.interconnects.push(interconnect(
                "dxcon-onramp02",
                "onramp-eqdc3-interconnect-1",
                "EqDC3",
            ));
            dx.push(SeedDx {
                location_code: "EqDC3".into(),
                name: "Equinix DC3".into(),
                interconnect_id: "dxcon-onramp02".into(),
                pe: 1,
                ..dx[0].clone()
            });
        }
        if opts.second_dx_interconnect {
            aws.interconnects.push(interconnect(
                "dxcon-onramp03",
                "onramp-eqdc2-interconnect-2",
                "EqDC2",
            ));
        }
        let sim = AwsDxSim::new(aws).serve(([127, 0, 0, 1], 0).into()).await?;
        let azure = AzureErSim::new(AzureSimConfig {
            lro_delay: Duration::from_millis(300),
            ..AzureSimConfig::default()
        })
        .serve(([127, 0, 0, 1], 0).into())
        .await?;
        let gcp = GcpPiSim::new(GcpSimConfig {
            op_delay: Duration::from_millis(300),
            ..GcpSimConfig::default()
        })
        .serve(([127, 0, 0, 1], 0).into())
        .await?;
        let (pg, db_url) = match db {
            Db::Sqlite => (
                None,
                format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("onramp.db").display()
                ),
            ),
            Db::Postgres => {
                let pg = PostgresServer::start(&dir.path().join("postgres"))?;
                let url = pg.create_database("onramp")?;
                (Some(pg), url)
            }
        };
        let telemetry = if opts.telemetry {
            let lab = onramp_lab_agent::Lab::start(
                pes.endpoints()
                    .iter()
                    .map(|e| PeTarget {
                        name: e.name.clone(),
                        host: e.host.clone(),
                        port: e.port,
                        username: e.username.clone(),
                        password: e.password.clone(),
                        host_key_fingerprint: Some(e.host_key_fingerprint.clone()),
                    })
                    .collect(),
                onramp_lab_agent::LabConfig {
                    csps: onramp_lab_agent::Csps {
                        aws: Some(sim.sim.clone()),
                        azure: Some(azure.sim.clone()),
                        gcp: Some(gcp.sim.clone()),
                    },
                    refresh: Duration::from_millis(500),
                    probe_interval: Duration::from_secs(1),
                    ..onramp_lab_agent::LabConfig::default()
                },
            )
            .await?;
            let exporter = onramp_devstack::telemetry::SnmpExporter::start(
                dir.path(),
                &repo_root().join("telemetry").join("snmp.yml"),
            )?;
            let prometheus = onramp_devstack::telemetry::Prometheus::start(
                dir.path(),
                &exporter,
                SCRAPE_INTERVAL,
            )?;
            Some(Telemetry {
                lab,
                prometheus,
                _exporter: exporter,
            })
        } else {
            None
        };
        let conn = onramp_store::connect_and_migrate(&db_url).await?;
        let key = onramp_store::auth::generate_key();
        let secret_key = onramp_store::secrets::SecretBox::generate_base64_key();
        let seal_box = onramp_store::secrets::SecretBox::from_base64_key(&secret_key)?;
        let pe_seeds = pes
            .endpoints()
            .iter()
            .map(|e| SeedPe {
                snmp_target: telemetry
                    .as_ref()
                    .and_then(|t| t.lab.agent(&e.name))
                    .map(|a| a.snmp_addr.to_string()),
                ..SeedPe::reference_pe(
                    &e.name,
                    &e.host,
                    e.port,
                    &e.username,
                    &e.password,
                    &e.host_key_fingerprint,
                )
            })
            .collect();
        onramp_store::seed::seed(
            &conn,
            &Seed {
                pes: pe_seeds,
                dx,
                er: vec![SeedEr::lab()],
                gcp: SeedGcp::lab_zones(),
                linknet_cidr: "169.254.0.0/16".into(),
                tenant_name: "Acme".into(),
                api_key: key.clone(),
            },
            &seal_box,
        )
        .await?;

        let port = free_port();
        let mut worker_env = opts.worker_env;
        let mut api_env = Vec::new();
        if let Some(t) = &telemetry {
            worker_env.push((
                "ONRAMP_PROMETHEUS_SD_FILE".into(),
                t.prometheus
                    .sd_dir()
                    .join("onramp-pes.json")
                    .display()
                    .to_string(),
            ));
            api_env.push(("ONRAMP_PROMETHEUS_URL", t.prometheus.url()));
            worker_env.push(("ONRAMP_PROMETHEUS_URL".into(), t.prometheus.url()));
            worker_env.push(("ONRAMP_SLA_INTERVAL_MS".into(), "1000".into()));
            api_env.push((
                "ONRAMP_PROMETHEUS_SCRAPE_INTERVAL_MS",
                SCRAPE_INTERVAL.as_millis().to_string(),
            ));
        }
        let mut api = ChildGuard::spawn(
            "onramp serve",
            azure_env(Command::new(bin()).arg("serve"), &azure)
                .envs(api_env)
                .env("ONRAMP_SECRET_KEY", &secret_key)
                .env("DATABASE_URL", &db_url)
                .env("ONRAMP_LISTEN", format!("127.0.0.1:{port}"))
                .env("RUST_LOG", "info"),
            &dir.path().join("api.log"),
        )?;
        wait_for_tcp("onramp serve", port, Duration::from_secs(30), &mut api)?;
        let mut stack = Stack {
            dir,
            nats,
            pg,
            pes,
            sim,
            azure,
            gcp,
            db_url,
            db: conn,
            api,
            worker: None,
            extra_workers: Vec::new(),
            templates,
            secret_key,
            base: format!("http://127.0.0.1:{port}"),
            key,
            http: reqwest::Client::new(),
            worker_starts: 0,
            worker_env,
            telemetry,
            worker_log: PathBuf::new(),
        };
        stack.start_worker()?;
        Ok(stack)
    }

    pub(crate) fn start_worker(&mut self) -> Result<()> {
        let w = self.spawn_worker()?;
        self.worker = Some(w);
        self.worker_log = self.last_worker_log();
        Ok(())
    }

    fn last_worker_log(&self) -> PathBuf {
        self.dir
            .path()
            .join(format!("worker-{}.log", self.worker_starts))
    }

    /// The base URL of worker 0's signals listener (`/metrics`, `/healthz`,
    /// `/readyz`), read from the line its log has once it is bound (text or
    /// JSON logs alike).
    pub(crate) async fn worker_signals(&self) -> Result<String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let log = std::fs::read_to_string(&self.worker_log).unwrap_or_default();
            if let Some(addr) = log
                .lines()
                .filter(|l| l.contains("worker signals listening"))
                .find_map(listening_addr)
            {
                return Ok(format!("http://{addr}"));
            }
            if Instant::now() > deadline {
                bail!(
                    "worker 0 never said where it listens ({})\n{}",
                    self.worker_log.display(),
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Another worker process beside the first (they share the consumer).
    pub(crate) fn add_worker(&mut self) -> Result<()> {
        let w = self.spawn_worker()?;
        self.extra_workers.push(w);
        Ok(())
    }

    fn spawn_worker(&mut self) -> Result<ChildGuard> {
        self.worker_starts += 1;
        let n = self.worker_starts;
        let w = ChildGuard::spawn(
            "onramp worker",
            azure_env(Command::new(bin()).arg("worker"), &self.azure)
                .env("ONRAMP_SECRET_KEY", &self.secret_key)
                .env("DATABASE_URL", &self.db_url)
                .env("NATS_URL", self.nats.url())
                .env("ONRAMP_AWS_ENDPOINT", self.sim.endpoint_url())
                .env("ONRAMP_GCP_COMPUTE_URL", self.gcp.endpoint_url())
                .env("ONRAMP_GCP_METADATA_URL", self.gcp.endpoint_url())
                .env("ONRAMP_GCP_PROJECT", self.gcp.sim.config().project)
                .env("ONRAMP_AWS_ACCESS_KEY_ID", "AKIAONRAMPPARTNER")
                .env("ONRAMP_TEMPLATES_DIR", &self.templates)
                .env("ONRAMP_POLL_INTERVAL_MS", "200")
                // Short enough that a killed worker's job comes back quickly.
                .env("ONRAMP_ACK_WAIT_MS", "3000")
                .env("ONRAMP_LEASE_MS", "3000")
                .env("ONRAMP_WORKER_ID", format!("worker-{n}"))
                // Several workers per stack, and stacks side by side.
                .env("ONRAMP_WORKER_LISTEN", "127.0.0.1:0")
                .env("RUST_LOG", "info")
                .envs(self.worker_env.iter().map(|(k, v)| (k, v))),
            &self.dir.path().join(format!("worker-{n}.log")),
        )?;
        Ok(w)
    }

    /// SIGKILLs worker `i` (0: the first, then those `add_worker` started)
    /// and starts a new process in its place, as a supervisor would.
    pub(crate) fn crash_and_restart_worker(&mut self, i: usize) -> Result<()> {
        match i {
            0 => {
                if let Some(mut w) = self.worker.take() {
                    w.kill();
                }
                self.worker = Some(self.spawn_worker()?);
                self.worker_log = self.last_worker_log();
            }
            _ => {
                let n = self.extra_workers.len();
                let w = self
                    .extra_workers
                    .get_mut(i - 1)
                    .with_context(|| format!("no worker {i} (there are {})", n + 1))?;
                w.kill();
                let fresh = self.spawn_worker()?;
                self.extra_workers[i - 1] = fresh;
            }
        }
        Ok(())
    }

    /// SIGKILL, as a crash would.
    pub(crate) fn kill_worker(&mut self) {
        if let Some(mut w) = self.worker.take() {
            w.kill();
        }
    }

    pub(crate) fn logs(&self) -> String {
        let mut out = String::new();
        for entry in std::fs::read_dir(self.dir.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let p = entry.path();
            if p.extension().is_some_and(|e| e == "log") {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(40).collect();
                out.push_str(&format!("==== {} (last 40 lines)\n", p.display()));
                for l in tail.into_iter().rev() {
                    out.push_str(l);
                    out.push('\n');
                }
            }
        }
        out
    }

    /// Every log file of the stack, whole (`logs` shows only their tails).
    pub(crate) fn full_logs(&self) -> String {
        let mut out = String::new();
        for entry in std::fs::read_dir(self.dir.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let p = entry.path();
            if p.extension().is_some_and(|e| e == "log") {
                out.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
            }
        }
        out
    }

    /// Copies every log of the stack (workers, API, NATS, each PE's
    /// netconfd and sshd) to a fresh directory under /var/tmp that outlives
    /// the stack, so a rare failure can be read after the fact.
    pub(crate) fn keep_logs(&self) -> Result<PathBuf> {
        let kept = tempfile::Builder::new()
            .prefix("onramp-failed-")
            .tempdir_in("/var/tmp")?
            .keep();
        let mut dirs = vec![self.dir.path().to_path_buf()];
        while let Some(d) = dirs.pop() {
            for entry in std::fs::read_dir(&d)?.flatten() {
                let p = entry.path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|e| e == "log") {
                    let rel = p.strip_prefix(self.dir.path())?;
                    let to = kept.join(rel);
                    if let Some(parent) = to.parent() {
                        std::fs::create_dir_all(parent)?;
                    }
                    std::fs::copy(&p, &to)?;
                }
            }
        }
        Ok(kept)
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<(u16, Value)> {
        let r = req.bearer_auth(&self.key).send().await?;
        let status = r.status().as_u16();
        Ok((status, r.json().await.unwrap_or(Value::Null)))
    }

    pub(crate) async fn post_json(&self, path: &str, body: &Value) -> Result<(u16, Value)> {
        self.send(self.http.post(self.url(path)).json(body)).await
    }

    pub(crate) async fn put_json(&self, path: &str, body: &Value) -> Result<(u16, Value)> {
        self.send(self.http.put(self.url(path)).json(body)).await
    }

    pub(crate) async fn patch_json(&self, path: &str, body: &Value) -> Result<(u16, Value)> {
        self.send(self.http.patch(self.url(path)).json(body)).await
    }

    pub(crate) async fn get_json(&self, path: &str) -> Result<(u16, Value)> {
        self.send(self.http.get(self.url(path))).await
    }

    pub(crate) async fn delete(&self, path: &str) -> Result<(u16, Value)> {
        self.send(self.http.delete(self.url(path))).await
    }

    /// Orders a hosted VIF at EqDC2 with `extra` fields merged in.
    pub(crate) async fn order_vif(&self, extra: Value) -> Result<(u16, Value)> {
        let mut body = serde_json::json!({"kind": "aws-hosted-vif", "aws_account_id": CUSTOMER_ACCOUNT,
                                          "location": "EqDC2", "bandwidth": "1Gbps"});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        self.post_json("/v1/connectors", &body).await
    }

    /// Polls the connector until `pred` holds, failing with the timeline and
    /// the logs when it does not within `timeout`.
    pub(crate) async fn wait_connector(
        &self,
        id: &str,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Result<Value> {
        let start = Instant::now();
        loop {
            let (status, c) = self.get_json(&format!("/v1/connectors/{id}")).await?;
            if status == 200 && pred(&c) {
                return Ok(c);
            }
            if start.elapsed() > timeout {
                let (_, events) = self
                    .get_json(&format!("/v1/connectors/{id}/events"))
                    .await?;
                bail!(
                    "connector {id} did not reach {what} within {timeout:?}\nlast: {c:#}\nevents: {events:#}\n{}",
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until a counter of calls (a simulator's stats) has grown by
    /// `more` from what it reads now. "Nothing moves without the customer"
    /// is asserted after the worker has provably looked again, not after a
    /// sleep that a busy machine may spend doing nothing.
    pub(crate) async fn wait_more_calls(
        &self,
        what: &str,
        calls: impl Fn() -> u64,
        more: u64,
        timeout: Duration,
    ) -> Result<()> {
        let target = calls() + more;
        let start = Instant::now();
        while calls() < target {
            if start.elapsed() > timeout {
                bail!(
                    "{what}: {} of {more} more calls within {timeout:?}\n{}",
                    calls() + more - target,
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// AWS calls of `operation` the simulator has received so far.
    pub(crate) fn aws_calls(&self, operation: &str) -> u64 {
        self.sim.sim.stats().get(operation).copied().unwrap_or(0)
    }

    /// Compute calls of `method` the simulator has received so far.
    pub(crate) fn gcp_calls(&self, method: &str) -> u64 {
        self.gcp.sim.stats().get(method).copied().unwrap_or(0)
    }

    pub(crate) async fn wait_state(
        &self,
        id: &str,
        state: &str,
        timeout: Duration,
    ) -> Result<Value> {
        self.wait_connector(id, state, timeout, |c| c["state"] == state)
            .await
    }

    pub(crate) fn pe_target(&self, name: &str) -> PeTarget {
        let e = self.pes.endpoint(name).expect("PE exists");
        PeTarget {
            name: e.name.clone(),
            host: e.host.clone(),
            port: e.port,
            username: e.username.clone(),
            password: e.password.clone(),
            host_key_fingerprint: Some(e.host_key_fingerprint.clone()),
        }
    }

    /// The PE's running datastore, read over NETCONF.
    pub(crate) async fn running(&self, pe: &str) -> Result<String> {
        onramp_pe_netconf::get_running(&self.pe_target(pe))
            .await
            .context("reading running config")
    }

    /// What an operator does at a PE's CLI: removes the unit (and its VRF
    /// membership and session) of hosted VIF connector `c` (its API view)
    /// from PE `pe`, outside onramp.
    pub(crate) async fn remove_unit_by_hand(&self, pe: &str, c: &Value) -> Result<()> {
        use onramp_router_templates::{
            AttachmentIntent, NeighborIntent, Operation, Platform, VrfIntent,
        };
        let platform = Platform::load(&templates_root(), "reference-pe")?;
        let p = &c["peering"];
        let field = |k: &str| p[k].as_str().map(str::to_string).context(k.to_string());
        let unit = AttachmentIntent {
            connector_id: c["id"].as_str().context("id")?.to_string(),
            interface: field("port")?,
            vlan: p["vlan"].as_u64().context("vlan")? as u16,
            inner_vlan: None,
            local_address: field("onramp_address")?,
            vrf: VrfIntent {
                name: "cust-acme".into(),
                route_distinguisher: String::new(),
                route_target: String::new(),
            },
            neighbor: NeighborIntent {
                address: field("aws_address")?
                    .split('/')
                    .next()
                    .unwrap_or_default()
                    .into(),
                peer_as: 64512,
                local_as: 0,
                auth_key: String::new(),
                prefix_limit: 1,
                bfd: false,
                description: String::new(),
            },
            policer: None,
        };
        onramp_pe_netconf::apply(
            &self.pe_target(pe),
            platform.quirks(),
            &platform.render(Operation::Delete, &unit)?,
        )
        .await?;
        Ok(())
    }

    /// A client acting as the customer's AWS account.
    pub(crate) fn customer_aws(&self) -> aws_sdk_directconnect::Client {
        onramp_aws_dx::DxClient::new(&onramp_aws_dx::DxConfig {
            endpoint_url: self.sim.endpoint_url(),
            region: "us-east-1".into(),
            access_key_id: CUSTOMER_ACCOUNT.into(),
            secret_access_key: "customer-secret".into(),
        })
        .sdk()
        .clone()
    }

    /// The customer accepts VIF `vif_id` in "their AWS console".
    pub(crate) async fn accept_vif(
        &self,
        vif_id: &str,
    ) -> Result<aws_sdk_directconnect::operation::confirm_private_virtual_interface::ConfirmPrivateVirtualInterfaceOutput>
    {
        Ok(self
            .customer_aws()
            .confirm_private_virtual_interface()
            .virtual_interface_id(vif_id)
            .virtual_gateway_id("vgw-0123abcd")
            .send()
            .await?)
    }

    /// A hosted VIF at EqDC2 (pe1) with `extra` order fields, accepted by
    /// the customer and `active`.
    pub(crate) async fn active_vif(&self, extra: Value) -> Result<Value> {
        let (status, c) = self.order_vif(extra).await?;
        anyhow::ensure!(status == 202, "order: {status} {c:#}");
        let id = c["id"].as_str().unwrap_or_default().to_string();
        let c = self
            .wait_state(&id, "waiting_customer_acceptance", Duration::from_secs(60))
            .await?;
        self.accept_vif(c["vif_id"].as_str().unwrap_or_default())
            .await?;
        self.wait_state(&id, "active", Duration::from_secs(60))
            .await
    }

    /// A Google attachment in us-west1 zone 2 (pe2) at `bandwidth`,
    /// activated by the customer and `active`.
    pub(crate) async fn active_gcp(&self, bandwidth: &str) -> Result<Value> {
        let key = self
            .gcp
            .sim
            .create_pairing_key(onramp_simulators::gcp_pi::CreatePairingKey::new(
                "us-west1", 2,
            ))
            .map_err(anyhow::Error::msg)?
            .pairing_key;
        let (status, c) = self
            .post_json(
                "/v1/connectors",
                &serde_json::json!({"kind": "gcp-partner-interconnect", "pairing_key": key, "bandwidth": bandwidth}),
            )
            .await?;
        anyhow::ensure!(status == 202, "order: {status} {c:#}");
        let id = c["id"].as_str().unwrap_or_default().to_string();
        self.wait_state(&id, "waiting_customer_activation", Duration::from_secs(60))
            .await?;
        self.gcp.sim.activate(&key).map_err(anyhow::Error::msg)?;
        self.wait_state(&id, "active", Duration::from_secs(60))
            .await
    }

    /// A customer who accepts every VIF the moment AWS shows it, until the
    /// task is aborted (bursts: benchmarks and load tests).
    pub(crate) fn accept_every_vif(&self) -> tokio::task::JoinHandle<Result<()>> {
        let (sim, aws) = (self.sim.sim.clone(), self.customer_aws());
        tokio::spawn(async move {
            let mut accepted = std::collections::HashSet::new();
            loop {
                for vif in sim.virtual_interfaces() {
                    if vif.state == "confirming"
                        && accepted.insert(vif.virtual_interface_id.clone())
                    {
                        aws.confirm_private_virtual_interface()
                            .virtual_interface_id(&vif.virtual_interface_id)
                            .virtual_gateway_id("vgw-burst")
                            .send()
                            .await
                            .context("confirming a VIF")?;
                    }
                }
                // Looks again soon: a poll of the simulator's state, not a
                // wait for a condition (the VIFs keep coming).
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    }

    /// Everything allocated to connectors (tenants' VRF route targets aside).
    /// A failed connector keeps its allocations until it is deleted: checks
    /// it holds some, deletes it, and waits for it to hand them back.
    pub(crate) async fn delete_failed(&self, id: &str) -> Result<()> {
        let before = self.allocations().await?;
        anyhow::ensure!(
            !before.is_empty(),
            "failed connector {id} holds no allocations"
        );
        let (status, body) = self.delete(&format!("/v1/connectors/{id}")).await?;
        anyhow::ensure!(status == 202, "DELETE {id}: {status} {body:#}");
        self.wait_state(id, "deleted", Duration::from_secs(60))
            .await?;
        Ok(())
    }

    pub(crate) async fn allocations(&self) -> Result<Vec<(String, i64)>> {
        use onramp_store::entity::allocation;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
        Ok(allocation::Entity::find()
            .filter(allocation::Column::ConnectorId.is_not_null())
            .select_only()
            .column(allocation::Column::Resource)
            .column(allocation::Column::Value)
            .into_tuple::<(String, i64)>()
            .all(&self.db)
            .await?)
    }
}

pub(crate) fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_onramp")
}

/// The address in a "worker signals listening" log line: `addr=…` in text,
/// `"addr":"…"` in JSON.
fn listening_addr(line: &str) -> Option<String> {
    if let Ok(v) = serde_json::from_str::<Value>(line) {
        return v["fields"]["addr"].as_str().map(str::to_string);
    }
    let line = strip_ansi(line);
    let rest = &line[line.find("addr=")? + "addr=".len()..];
    Some(rest.split_whitespace().next()?.to_string())
}

/// `text` without terminal colour codes (text logs style field names).
pub(crate) fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters, then one final letter.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// What the PE carries for one attachment, parsed from running.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct PeAttachment {
    pub vlan: Option<String>,
    /// The C-tag of a QinQ unit.
    pub inner_vlan: Option<String>,
    pub address: Option<String>,
    pub neighbor_peer_as: Option<String>,
    pub neighbor_local_as: Option<String>,
    pub neighbor_key: Option<String>,
    pub vrf: Option<String>,
    /// The unit's policer rate in bit/s: the connector's bandwidth.
    pub bandwidth_limit: Option<String>,
    pub prefix_limit: Option<String>,
    /// BFD configured on the session.
    pub bfd: bool,
    pub neighbor_description: Option<String>,
}

/// Finds unit `vlan` of `interface` and BGP neighbor `neighbor` in a running
/// config of the reference platform. `None` when the unit is absent.
pub(crate) fn attachment(
    running: &str,
    interface: &str,
    vlan: u16,
    neighbor: &str,
) -> Option<PeAttachment> {
    let xml = format!("<root>{running}</root>");
    let doc = roxmltree::Document::parse(&xml).expect("running is XML");
    let child_text = |n: roxmltree::Node, name: &str| -> Option<String> {
        n.children()
            .find(|c| c.tag_name().name() == name)
            .and_then(|c| c.text())
            .map(|t| t.trim().to_string())
    };
    let unit = doc.descendants().find(|n| {
        n.tag_name().name() == "unit"
            && child_text(*n, "id").as_deref() == Some(&vlan.to_string())
            && n.parent().is_some_and(|p| {
                p.tag_name().name() == "interface"
                    && child_text(p, "name").as_deref() == Some(interface)
            })
    })?;
    let mut a = PeAttachment {
        vlan: child_text(unit, "vlan-id"),
        inner_vlan: child_text(unit, "inner-vlan-id"),
        address: unit
            .descendants()
            .find(|n| n.tag_name().name() == "address")
            .and_then(|n| n.text())
            .map(|t| t.trim().to_string()),
        bandwidth_limit: unit
            .children()
            .find(|n| n.tag_name().name() == "policer")
            .and_then(|p| child_text(p, "bandwidth-limit")),
        ..Default::default()
    };
    if let Some(nb) = doc.descendants().find(|n| {
        n.tag_name().name() == "neighbor" && child_text(*n, "address").as_deref() == Some(neighbor)
    }) {
        a.neighbor_peer_as = child_text(nb, "peer-as");
        a.neighbor_local_as = child_text(nb, "local-as");
        a.neighbor_key = child_text(nb, "authentication-key").filter(|k| !k.is_empty());
        a.prefix_limit = child_text(nb, "prefix-limit");
        a.bfd = nb
            .children()
            .find(|c| c.tag_name().name() == "bfd")
            .and_then(|b| child_text(b, "enabled"))
            .as_deref()
            == Some("true");
        a.neighbor_description = child_text(nb, "description");
        a.vrf = nb
            .ancestors()
            .find(|n| n.tag_name().name() == "instance")
            .and_then(|i| child_text(i, "name"));
    }
    Some(a)
}

/// Counts units on `interface` of a running config.
pub(crate) fn unit_count(running: &str, interface: &str) -> usize {
    let xml = format!("<root>{running}</root>");
    let doc = roxmltree::Document::parse(&xml).expect("running is XML");
    doc.descendants()
        .filter(|n| {
            n.tag_name().name() == "unit" && n.children().any(|c| c.tag_name().name() == "vlan-id")
        })
        .filter(|n| {
            n.parent().is_some_and(|p| {
                p.children().any(|c| {
                    c.tag_name().name() == "name" && c.text().map(str::trim) == Some(interface)
                })
            })
        })
        .count()
}
