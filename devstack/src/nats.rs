//! A throw-away nats-server with JetStream on a free loopback port.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::{ChildGuard, Result, free_port, io_err, wait_for_tcp};

#[derive(Debug)]
pub struct NatsServer {
    guard: ChildGuard,
    port: u16,
    store_dir: PathBuf,
}

impl NatsServer {
    /// Starts `nats-server -js` with its store under `work_dir/nats`.
    pub fn start(work_dir: &Path) -> Result<Self> {
        let store_dir = work_dir.join("nats");
        std::fs::create_dir_all(&store_dir)
            .map_err(io_err(format!("create {}", store_dir.display())))?;
        let port = free_port();
        let mut guard = ChildGuard::spawn(
            "nats-server",
            Command::new("nats-server")
                .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
                .arg(&store_dir),
            &work_dir.join("nats.log"),
        )?;
        wait_for_tcp("nats-server", port, Duration::from_secs(20), &mut guard)?;
        Ok(Self {
            guard,
            port,
            store_dir,
        })
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn store_dir(&self) -> &Path {
        &self.store_dir
    }

    pub fn stop(mut self) {
        self.guard.kill();
    }
}
