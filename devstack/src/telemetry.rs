//! Prometheus and its SNMP exporter, from Debian's packages, on free
//! loopback ports: the time-series side of the customer KPIs. Prometheus
//! scrapes the PEs' SNMP agents through the exporter (module `onramp_pe` of
//! `telemetry/snmp.yml`), finding them in the file-based service discovery
//! directory onramp's worker writes its PE targets to.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::{ChildGuard, Error, Result, free_port, io_err, wait_for_tcp};

const PROMETHEUS: &str = "prometheus";
const SNMP_EXPORTER: &str = "prometheus-snmp-exporter";

fn installed(program: &str) -> Result<()> {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()));
    if found {
        Ok(())
    } else {
        Err(Error::Missing {
            program: program.into(),
            hint: "run scripts/install-deps.sh (Debian packages prometheus and \
                   prometheus-snmp-exporter)"
                .into(),
        })
    }
}

/// `prometheus-snmp-exporter` with onramp's module file.
#[derive(Debug)]
pub struct SnmpExporter {
    guard: ChildGuard,
    port: u16,
}

impl SnmpExporter {
    /// Starts the exporter with `config` (onramp's `telemetry/snmp.yml`),
    /// logging to `work_dir/snmp-exporter.log`.
    pub fn start(work_dir: &Path, config: &Path) -> Result<Self> {
        installed(SNMP_EXPORTER)?;
        let port = free_port();
        let mut guard = ChildGuard::spawn(
            SNMP_EXPORTER,
            Command::new(SNMP_EXPORTER)
                .arg(format!("--config.file={}", config.display()))
                .arg(format!("--web.listen-address=127.0.0.1:{port}")),
            &work_dir.join("snmp-exporter.log"),
        )?;
        wait_for_tcp(SNMP_EXPORTER, port, Duration::from_secs(20), &mut guard)?;
        Ok(Self { guard, port })
    }

    /// `127.0.0.1:port`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn stop(mut self) {
        self.guard.kill();
    }
}

/// A Prometheus server scraping the PEs (through `exporter`) every
/// `interval`, with its targets in [`Prometheus::sd_dir`].
#[derive(Debug)]
pub struct Prometheus {
    guard: ChildGuard,
    port: u16,
    sd_dir: PathBuf,
}

impl Prometheus {
    pub fn start(work_dir: &Path, exporter: &SnmpExporter, interval: Duration) -> Result<Self> {
        installed(PROMETHEUS)?;
        let dir = work_dir.join("prometheus");
        let sd_dir = dir.join("targets");
        let data = dir.join("data");
        for d in [&sd_dir, &data] {
            std::fs::create_dir_all(d).map_err(io_err(format!("create {}", d.display())))?;
        }
        let config = dir.join("prometheus.yml");
        std::fs::write(&config, config_yaml(&sd_dir, &exporter.address(), interval))
            .map_err(io_err(format!("write {}", config.display())))?;
        let port = free_port();
        let mut guard = ChildGuard::spawn(
            PROMETHEUS,
            Command::new(PROMETHEUS)
                .arg(format!("--config.file={}", config.display()))
                .arg(format!("--storage.tsdb.path={}", data.display()))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                // The lab keeps what a session shows; a day is plenty.
                .arg("--storage.tsdb.retention.time=1d"),
            &work_dir.join("prometheus.log"),
        )?;
        wait_for_tcp(PROMETHEUS, port, Duration::from_secs(30), &mut guard)?;
        Ok(Self {
            guard,
            port,
            sd_dir,
        })
    }

    /// `http://127.0.0.1:port`: the HTTP API onramp queries.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Where onramp writes its file-based service discovery targets
    /// (`*.json`).
    pub fn sd_dir(&self) -> &Path {
        &self.sd_dir
    }

    pub fn stop(mut self) {
        self.guard.kill();
    }
}

/// One scrape job: every target in `sd_dir/*.json` is an SNMP agent, asked
/// through the exporter with module `onramp_pe`.
fn config_yaml(sd_dir: &Path, exporter: &str, interval: Duration) -> String {
    let every = format!("{}ms", interval.as_millis());
    [
        "global:".to_string(),
        format!("  scrape_interval: {every}"),
        format!("  evaluation_interval: {every}"),
        "scrape_configs:".into(),
        "  - job_name: onramp-pe-snmp".into(),
        format!("    scrape_timeout: {every}"),
        "    metrics_path: /snmp".into(),
        "    params:".into(),
        "      module: [onramp_pe]".into(),
        "    file_sd_configs:".into(),
        format!("      - files: ['{}/*.json']", sd_dir.display()),
        "        refresh_interval: 1s".into(),
        "    relabel_configs:".into(),
        "      - source_labels: [__address__]".into(),
        "        target_label: __param_target".into(),
        "      - source_labels: [__param_target]".into(),
        "        target_label: instance".into(),
        "      - target_label: __address__".into(),
        format!("        replacement: {exporter}"),
        String::new(),
    ]
    .join("\n")
}
