//! A throw-away PostgreSQL cluster on a free loopback port, for the test
//! suite's PostgreSQL runs. Run as root (CI), it drops to the `postgres`
//! user, since initdb and postgres refuse to run as root.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::{ChildGuard, Error, Result, free_port, io_err, wait_for_tcp};

#[derive(Debug)]
pub struct PostgresServer {
    guard: ChildGuard,
    port: u16,
    socket_dir: PathBuf,
}

/// Where Debian puts the server binaries; `ONRAMP_PG_BIN` overrides.
fn bin_dir() -> Result<PathBuf> {
    if let Ok(dir) = std::env::var("ONRAMP_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| Error::Missing {
            program: "postgresql".into(),
            hint: "run scripts/install-deps.sh (apt-get install postgresql)".into(),
        })?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().ok_or_else(|| Error::Missing {
        program: "initdb".into(),
        hint: "run scripts/install-deps.sh (apt-get install postgresql)".into(),
    })
}

/// uid/gid of the `postgres` user when we run as root.
fn drop_to() -> Option<(u32, u32)> {
    let me = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid_line = me.lines().find(|l| l.starts_with("Uid:"))?;
    if uid_line.split_whitespace().nth(1)? != "0" {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.first() == Some(&"postgres")).then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
    })
}

fn as_postgres(cmd: &mut Command, owner: Option<(u32, u32)>) -> &mut Command {
    if let Some((uid, gid)) = owner {
        cmd.uid(uid).gid(gid);
    }
    cmd
}

impl PostgresServer {
    /// initdb under `work_dir/pg` and start postgres on 127.0.0.1.
    pub fn start(work_dir: &Path) -> Result<Self> {
        let bin = bin_dir()?;
        let owner = drop_to();
        let data = work_dir.join("pg");
        let socket_dir = work_dir.join("pg-sock");
        for d in [&data, &socket_dir] {
            std::fs::create_dir_all(d).map_err(io_err(format!("create {}", d.display())))?;
        }
        if let Some((uid, gid)) = owner {
            chown_tree(work_dir, uid, gid)?;
        }
        let log = work_dir.join("postgres.log");
        let out = as_postgres(
            Command::new(bin.join("initdb"))
                .args([
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--no-sync",
                    "-D",
                ])
                .arg(&data),
            owner,
        )
        .output()
        .map_err(io_err("run initdb"))?;
        if !out.status.success() {
            return Err(Error::Other(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        let port = free_port();
        let mut guard = ChildGuard::spawn(
            "postgres",
            as_postgres(
                Command::new(bin.join("postgres"))
                    .arg("-D")
                    .arg(&data)
                    .args(["-p", &port.to_string(), "-h", "127.0.0.1", "-k"])
                    .arg(&socket_dir)
                    // A test database: durability buys nothing and costs fsyncs.
                    .args([
                        "-c",
                        "fsync=off",
                        "-c",
                        "synchronous_commit=off",
                        "-c",
                        "full_page_writes=off",
                    ])
                    .args(["-c", "max_connections=300"]),
                owner,
            ),
            &log,
        )?;
        wait_for_tcp("postgres", port, Duration::from_secs(30), &mut guard)?;
        let server = Self {
            guard,
            port,
            socket_dir,
        };
        // Accepting TCP comes a moment before accepting logins.
        for _ in 0..100 {
            if server.psql("SELECT 1").is_ok() {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        server.psql("SELECT 1")?;
        Ok(server)
    }

    fn psql(&self, sql: &str) -> Result<()> {
        let out = Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ])
            .output()
            .map_err(|_| Error::Missing {
                program: "psql".into(),
                hint: "run scripts/install-deps.sh (apt-get install postgresql-client)".into(),
            })?;
        if out.status.success() {
            Ok(())
        } else {
            Err(Error::Other(format!(
                "psql `{sql}`: {}",
                String::from_utf8_lossy(&out.stderr)
            )))
        }
    }

    /// Creates a fresh database and returns its URL.
    pub fn create_database(&self, name: &str) -> Result<String> {
        self.psql(&format!("CREATE DATABASE \"{name}\""))?;
        Ok(format!(
            "postgres://postgres@127.0.0.1:{}/{name}",
            self.port
        ))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    pub fn stop(mut self) {
        self.guard.kill();
    }
}

fn chown_tree(dir: &Path, uid: u32, gid: u32) -> Result<()> {
    std::os::unix::fs::chown(dir, Some(uid), Some(gid))
        .map_err(io_err(format!("chown {}", dir.display())))?;
    for entry in std::fs::read_dir(dir).map_err(io_err(format!("read {}", dir.display())))? {
        let p = entry.map_err(io_err("read dir entry"))?.path();
        if p.is_dir() {
            chown_tree(&p, uid, gid)?;
        } else {
            std::os::unix::fs::chown(&p, Some(uid), Some(gid))
                .map_err(io_err(format!("chown {}", p.display())))?;
        }
    }
    Ok(())
}
