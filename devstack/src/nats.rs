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
        // free_port() only finds a port free now: on a busy machine another
        // server can take it before nats-server binds, which then exits at
        // once. A fresh port then, as the PE lab does for sshd.
        let mut attempt = 1;
        loop {
            let port = free_port();
            let mut guard = ChildGuard::spawn(
                "nats-server",
                Command::new("nats-server")
                    .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
                    .arg(&store_dir),
                &work_dir.join("nats.log"),
            )?;
            match wait_for_tcp("nats-server", port, Duration::from_secs(20), &mut guard) {
                Ok(()) => {
                    return Ok(Self {
                        guard,
                        port,
                        store_dir,
                    });
                }
                Err(e) if attempt < 3 && e.to_string().contains("exited early") => {
                    tracing::warn!(port, error = %e, attempt, "nats-server did not start; trying another port");
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
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

    /// Kills the server, as an outage would; [`NatsServer::restart`] brings
    /// it back with its streams.
    pub fn kill(&mut self) {
        self.guard.kill();
    }

    /// Starts the server again on its port with its store, after
    /// [`NatsServer::kill`]: clients reconnect to the address they know.
    pub fn restart(&mut self) -> Result<()> {
        self.guard.kill();
        let work_dir = self
            .store_dir
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let mut guard = ChildGuard::spawn(
            "nats-server",
            Command::new("nats-server")
                .args([
                    "-a",
                    "127.0.0.1",
                    "-p",
                    &self.port.to_string(),
                    "-js",
                    "-sd",
                ])
                .arg(&self.store_dir),
            &work_dir.join("nats.log"),
        )?;
        wait_for_tcp(
            "nats-server",
            self.port,
            Duration::from_secs(20),
            &mut guard,
        )?;
        self.guard = guard;
        Ok(())
    }
}
