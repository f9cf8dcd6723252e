//! Simulated PE routers: one yuma123 `netconfd` per PE behind its own OpenSSH
//! `sshd`, all on loopback.
//!
//! ```text
//!  NETCONF client ──ssh 127.0.0.1:<port>──> sshd (own config, host key, pid file)
//!                                             │ Subsystem netconf
//!                                             v
//!                                  netconf-subsystem ──unix socket──> netconfd
//!                                                                 (--module onramp-pe,
//!                                                                  --port <port>)
//! ```
//!
//! Each PE has its own host key (so a test can present one PE's fingerprint to
//! another and watch the client fail closed), its own port and its own socket;
//! several labs can run at once in one machine (cargo test threads, nextest
//! processes).
//!
//! Requirements, all set up by `scripts/install-deps.sh` as root:
//! - packages `netconfd` and `openssh-server` (which brings `ssh` and
//!   `ssh-keygen`);
//! - a local user with a password and a login shell, by default
//!   [`DEFAULT_PE_USER`] / [`DEFAULT_PE_PASSWORD`]:
//!   `useradd --create-home --shell /bin/sh onramp-pe` then
//!   `echo 'onramp-pe:onramp-pe-lab' | chpasswd`. sshd runs the `netconf`
//!   subsystem through that user's shell, so `nologin` does not work;
//! - root, because sshd must check a password and switch to that user.

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::{ChildGuard, Error, Result, free_port, io_err, wait_for_tcp};

/// The local user the simulated PEs accept over SSH (and netconfd's
/// `--superuser`). Created by `scripts/install-deps.sh`.
pub const DEFAULT_PE_USER: &str = "onramp-pe";

/// Password of [`DEFAULT_PE_USER`]. A lab credential for loopback-only
/// simulated routers, never a production one.
pub const DEFAULT_PE_PASSWORD: &str = "onramp-pe-lab";

const INSTALL_HINT: &str = "run scripts/install-deps.sh as root";
const NETCONFD: &str = "/usr/sbin/netconfd";
const SSHD: &str = "/usr/sbin/sshd";
const NETCONF_SUBSYSTEM: &str = "/usr/sbin/netconf-subsystem";
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// What to start.
#[derive(Clone, Debug)]
pub struct PeLabConfig {
    /// One simulated PE per name, e.g. `["pe1", "pe2"]`. Names become file
    /// names: letters, digits, `-`, `_` and `.` only.
    pub names: Vec<String>,
    /// The YANG modules of the platform, e.g. `router-templates/reference-pe/yang`:
    /// every `*.yang` file in it is loaded.
    pub yang_dir: PathBuf,
    /// Per-PE configs, host keys and logs go under `<work_dir>/<name>/`.
    pub work_dir: PathBuf,
    pub username: String,
    pub password: String,
}

impl PeLabConfig {
    /// A lab with the default user and password.
    pub fn new(names: &[&str], yang_dir: impl Into<PathBuf>, work_dir: impl Into<PathBuf>) -> Self {
        Self {
            names: names.iter().map(std::string::ToString::to_string).collect(),
            yang_dir: yang_dir.into(),
            work_dir: work_dir.into(),
            username: DEFAULT_PE_USER.to_string(),
            password: DEFAULT_PE_PASSWORD.to_string(),
        }
    }
}

/// Where and how to reach one simulated PE.
#[derive(Clone, Debug)]
pub struct PeEndpoint {
    pub name: String,
    /// Always `127.0.0.1`.
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: String,
    /// `SHA256:...`, as `ssh-keygen -lf` prints it.
    pub host_key_fingerprint: String,
}

/// Running PEs. Every netconfd and sshd is killed when this drops.
#[derive(Debug)]
pub struct PeLab {
    endpoints: Vec<PeEndpoint>,
    // Declared before `_sock_dir` so the processes die before their sockets'
    // directory is removed.
    _children: Vec<ChildGuard>,
    _sock_dir: tempfile::TempDir,
    work_dir: PathBuf,
    /// (PE name, netconfd's pid), for freezing a PE in tests.
    netconfd_pids: Vec<(String, u32)>,
}

struct RunningPe {
    endpoint: PeEndpoint,
    netconfd: ChildGuard,
    sshd: ChildGuard,
}

// ===== impl PeLab =====

impl PeLab {
    /// Starts one netconfd + sshd pair per configured name and returns once
    /// every PE has answered a NETCONF `<hello>` over SSH with the configured
    /// password.
    pub fn start(cfg: PeLabConfig) -> Result<PeLab> {
        preflight(&cfg)?;
        let modules = yang_modules(&cfg.yang_dir)?;

        fs::create_dir_all(&cfg.work_dir)
            .map_err(io_err(format!("create {}", cfg.work_dir.display())))?;
        fs::create_dir_all("/run/sshd").map_err(io_err("create /run/sshd (sshd privsep dir)"))?;

        // Sockets live in a short, world-traversable directory: the subsystem
        // runs as the PE user (so the caller's 0700 temp dir is out), and a
        // unix socket path must fit in 108 bytes.
        let sock_dir = tempfile::Builder::new()
            .prefix("onramp-pe.")
            .permissions(fs::Permissions::from_mode(0o755))
            .tempdir_in("/tmp")
            .map_err(io_err("create the PE socket dir in /tmp"))?;

        let mut children = Vec::new();
        let mut endpoints = Vec::new();
        let mut netconfd_pids = Vec::new();
        for (i, name) in cfg.names.iter().enumerate() {
            let sock = sock_dir.path().join(format!("{i}.sock"));
            let pe = match start_pe(&cfg, name, &modules, &sock, 1) {
                Ok(pe) => pe,
                // Most often a port another lab took between free_port() and
                // sshd's bind: try once more on fresh ports.
                Err(first) => {
                    tracing::warn!(pe = %name, error = %first, "PE did not start, retrying once");
                    start_pe(&cfg, name, &modules, &sock, 2).map_err(|second| {
                        Error::Other(format!(
                            "PE {name} did not start twice; first: {first}; then: {second}"
                        ))
                    })?
                }
            };
            if let Some(pid) = pe.netconfd.pid() {
                netconfd_pids.push((name.clone(), pid));
            }
            endpoints.push(pe.endpoint);
            children.push(pe.sshd);
            children.push(pe.netconfd);
        }
        Ok(PeLab {
            endpoints,
            _children: children,
            _sock_dir: sock_dir,
            work_dir: cfg.work_dir,
            netconfd_pids,
        })
    }

    /// Stops the PE's netconfd (SIGSTOP): sessions stay open and every RPC
    /// hangs, as on a router whose control plane is overloaded. `thaw`
    /// resumes it.
    pub fn freeze(&self, name: &str) -> Result<()> {
        self.signal(name, "STOP")
    }

    pub fn thaw(&self, name: &str) -> Result<()> {
        self.signal(name, "CONT")
    }

    fn signal(&self, name: &str, signal: &str) -> Result<()> {
        let pid = self
            .netconfd_pids
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| *p)
            .ok_or_else(|| Error::Other(format!("no PE called {name} in this lab")))?;
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .map_err(io_err(format!("kill -{signal} {pid}")))?;
        if !status.success() {
            return Err(Error::Other(format!(
                "kill -{signal} {pid} (netconfd of {name}) failed: {status}"
            )));
        }
        Ok(())
    }

    pub fn endpoints(&self) -> &[PeEndpoint] {
        &self.endpoints
    }

    /// The endpoint of the PE called `name`.
    pub fn endpoint(&self, name: &str) -> Option<&PeEndpoint> {
        self.endpoints.iter().find(|e| e.name == name)
    }

    /// Where the PE's netconfd and sshd logs are (`netconfd.log`, `sshd.log`).
    pub fn log_dir(&self, name: &str) -> PathBuf {
        self.work_dir.join(name)
    }
}

// ===== helpers =====

fn preflight(cfg: &PeLabConfig) -> Result<()> {
    if cfg.names.is_empty() {
        return Err(Error::Other("PeLabConfig.names is empty".into()));
    }
    for name in &cfg.names {
        let ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && name != "."
            && name != "..";
        if !ok {
            return Err(Error::Other(format!(
                "PE name {name:?}: use letters, digits, '-', '_' and '.' only"
            )));
        }
    }
    for program in [NETCONFD, NETCONF_SUBSYSTEM, SSHD] {
        if !Path::new(program).exists() {
            return Err(Error::Missing {
                program: program.into(),
                hint: format!("{INSTALL_HINT} (apt packages netconfd, openssh-server)"),
            });
        }
    }
    let user_known = Command::new("getent")
        .args(["passwd", &cfg.username])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(io_err("run getent passwd"))?
        .success();
    if !user_known {
        return Err(Error::Missing {
            program: format!("local user `{}`", cfg.username),
            hint: format!(
                "{INSTALL_HINT}; it runs `useradd --create-home --shell /bin/sh {user}` and \
                 `echo '{user}:<password>' | chpasswd` (default password for {DEFAULT_PE_USER}: \
                 {DEFAULT_PE_PASSWORD})",
                user = cfg.username
            ),
        });
    }
    if effective_uid() != Some(0) {
        return Err(Error::Other(
            "PeLab needs root: sshd must check a password and switch to the PE user".into(),
        ));
    }
    Ok(())
}

fn effective_uid() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

fn yang_modules(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut modules: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(io_err(format!("read YANG dir {}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yang"))
        .collect();
    modules.sort();
    if modules.is_empty() {
        return Err(Error::Other(format!(
            "no *.yang module in {}",
            dir.display()
        )));
    }
    // netconfd resolves `--module` relative to its working directory.
    modules
        .into_iter()
        .map(|m| fs::canonicalize(&m).map_err(io_err(format!("resolve {}", m.display()))))
        .collect()
}

fn start_pe(
    cfg: &PeLabConfig,
    name: &str,
    modules: &[PathBuf],
    sock: &Path,
    attempt: u32,
) -> Result<RunningPe> {
    let dir = cfg.work_dir.join(name);
    let yuma_home = dir.join("yuma");
    // netconfd writes its transaction-id file to <yuma-home>/data; without a
    // private yuma-home every lab would share root's ~/.yuma.
    fs::create_dir_all(yuma_home.join("data"))
        .map_err(io_err(format!("create {}", yuma_home.display())))?;
    // Absolute: netconfd runs in `dir` and is handed paths under it.
    let dir = fs::canonicalize(&dir).map_err(io_err(format!("resolve {}", dir.display())))?;
    let yuma_home = dir.join("yuma");
    let _ = fs::remove_file(sock);

    let host_key = dir.join("ssh_host_ed25519_key");
    if !host_key.exists() {
        ssh_keygen(&host_key, name)?;
    }
    let fingerprint = fingerprint(&host_key.with_extension("pub"))?;
    let port = free_port();

    let mut cmd = Command::new(NETCONFD);
    // netconfd keeps the rollback copy of a confirmed commit in
    // backup-cfg.xml, found on a search path that includes ~/.yuma before
    // --yuma-home: with root's HOME every netconfd on the machine shared one
    // file, so a PE whose confirmed commit was cancelled (its session died)
    // restored ANOTHER PE's configuration. A private HOME and datapath keep
    // every file of this PE in its own directory.
    cmd.current_dir(&dir)
        .env("HOME", &dir)
        .env("YUMA_HOME", &yuma_home)
        .env_remove("YUMA_DATAPATH");
    for m in modules {
        cmd.arg(format!("--module={}", m.display()));
    }
    cmd.arg("--no-startup")
        .arg(format!("--superuser={}", cfg.username))
        .arg(format!("--port={port}"))
        .arg(format!("--ncxserver-sockname={}", sock.display()))
        .arg(format!("--yuma-home={}", yuma_home.display()))
        .arg(format!("--datapath={}", yuma_home.join("data").display()))
        .arg("--log-level=info");
    let mut netconfd = ChildGuard::spawn(
        &format!("netconfd {name}"),
        &mut cmd,
        &dir.join("netconfd.log"),
    )?;
    wait_for_socket(name, sock, &mut netconfd)?;

    let sshd_config = dir.join("sshd_config");
    fs::write(
        &sshd_config,
        sshd_config_text(cfg, &dir, &host_key, port, sock),
    )
    .map_err(io_err(format!("write {}", sshd_config.display())))?;
    let sshd_log = dir.join("sshd.log");
    let mut sshd = ChildGuard::spawn(
        &format!("sshd {name}"),
        Command::new(SSHD)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&sshd_config),
        &sshd_log,
    )?;
    wait_for_tcp(
        &format!("sshd of PE {name}"),
        port,
        READY_TIMEOUT,
        &mut sshd,
    )
    .map_err(|e| {
        Error::Other(format!(
            "{e} (attempt {attempt}; see {})",
            sshd_log.display()
        ))
    })?;

    let endpoint = PeEndpoint {
        name: name.to_string(),
        host: "127.0.0.1".into(),
        port,
        username: cfg.username.clone(),
        password: cfg.password.clone(),
        host_key_fingerprint: fingerprint,
    };
    wait_for_hello(
        &endpoint,
        &dir,
        &host_key.with_extension("pub"),
        &mut netconfd,
    )?;
    Ok(RunningPe {
        endpoint,
        netconfd,
        sshd,
    })
}

fn sshd_config_text(
    cfg: &PeLabConfig,
    dir: &Path,
    host_key: &Path,
    port: u16,
    sock: &Path,
) -> String {
    format!(
        "# Written by onramp_devstack::pe for one simulated PE.\n\
         Port {port}\n\
         ListenAddress 127.0.0.1\n\
         HostKey {host_key}\n\
         PidFile {pid}\n\
         PasswordAuthentication yes\n\
         KbdInteractiveAuthentication no\n\
         PubkeyAuthentication no\n\
         UsePAM no\n\
         PermitRootLogin no\n\
         AllowUsers {user}\n\
         StrictModes no\n\
         X11Forwarding no\n\
         AllowTcpForwarding no\n\
         PrintMotd no\n\
         LogLevel VERBOSE\n\
         MaxStartups 64:30:128\n\
         Subsystem netconf \"{subsystem} --ncxserver-sockname={port}@{sock}\"\n",
        host_key = host_key.display(),
        pid = dir.join("sshd.pid").display(),
        user = cfg.username,
        subsystem = NETCONF_SUBSYSTEM,
        sock = sock.display(),
    )
}

fn ssh_keygen(key: &Path, name: &str) -> Result<()> {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C"])
        .arg(format!("onramp-pe-{name}"))
        .arg("-f")
        .arg(key)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| missing_or_io("ssh-keygen", source))?;
    if !out.status.success() {
        return Err(Error::Other(format!(
            "ssh-keygen for PE {name} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// `SHA256:...` of a public key file, from `ssh-keygen -lf`
/// (`256 SHA256:... comment (ED25519)`).
fn fingerprint(pub_key: &Path) -> Result<String> {
    let out = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(pub_key)
        .output()
        .map_err(|source| missing_or_io("ssh-keygen", source))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .nth(1)
        .filter(|f| out.status.success() && f.starts_with("SHA256:"))
        .map(str::to_string)
        .ok_or_else(|| {
            Error::Other(format!(
                "ssh-keygen -lf {}: unexpected output {text:?} {}",
                pub_key.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        })
}

fn missing_or_io(program: &str, source: std::io::Error) -> Error {
    if source.kind() == std::io::ErrorKind::NotFound {
        Error::Missing {
            program: program.into(),
            hint: format!("{INSTALL_HINT} (apt package openssh-client)"),
        }
    } else {
        Error::Io {
            what: format!("run {program}"),
            source,
        }
    }
}

fn wait_for_socket(name: &str, sock: &Path, netconfd: &mut ChildGuard) -> Result<()> {
    let start = Instant::now();
    while !sock.exists() {
        netconfd.check_alive()?;
        if start.elapsed() > READY_TIMEOUT {
            return Err(Error::NotReady {
                what: format!("netconfd of PE {name}"),
                secs: READY_TIMEOUT.as_secs(),
                detail: format!("no socket at {}", sock.display()),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Opens the `netconf` subsystem with OpenSSH's client, exactly as a NETCONF
/// client would (password auth, pinned host key), and waits for the server's
/// `<hello>`. This checks the whole chain: sshd, the PE user and its shell,
/// netconf-subsystem, the socket and netconfd's `--port`/`--superuser`.
fn wait_for_hello(
    ep: &PeEndpoint,
    dir: &Path,
    host_pub_key: &Path,
    netconfd: &mut ChildGuard,
) -> Result<()> {
    let known_hosts = dir.join("known_hosts");
    let key = fs::read_to_string(host_pub_key)
        .map_err(io_err(format!("read {}", host_pub_key.display())))?;
    let key = key.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
    fs::write(&known_hosts, format!("[{}]:{} {key}\n", ep.host, ep.port))
        .map_err(io_err(format!("write {}", known_hosts.display())))?;
    // OpenSSH reads passwords from a terminal or from SSH_ASKPASS only.
    let askpass = dir.join("askpass.sh");
    fs::write(
        &askpass,
        "#!/bin/sh\nprintf '%s\\n' \"$ONRAMP_PE_PASSWORD\"\n",
    )
    .and_then(|()| fs::set_permissions(&askpass, fs::Permissions::from_mode(0o700)))
    .map_err(io_err(format!("write {}", askpass.display())))?;

    let start = Instant::now();
    let mut last_detail = String::new();
    while start.elapsed() < READY_TIMEOUT {
        netconfd.check_alive()?;
        match probe_hello(ep, &known_hosts, &askpass) {
            Ok(()) => return Ok(()),
            Err(detail) => last_detail = detail,
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(Error::NotReady {
        what: format!("NETCONF on PE {} (127.0.0.1:{})", ep.name, ep.port),
        secs: READY_TIMEOUT.as_secs(),
        detail: format!("{last_detail} (logs in {})", dir.display()),
    })
}

fn probe_hello(
    ep: &PeEndpoint,
    known_hosts: &Path,
    askpass: &Path,
) -> std::result::Result<(), String> {
    let mut child = Command::new("ssh")
        .args(["-F", "/dev/null", "-p", &ep.port.to_string()])
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", known_hosts.display()))
        .args([
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "PreferredAuthentications=password",
            "-o",
            "PubkeyAuthentication=no",
            "-o",
            "NumberOfPasswordPrompts=1",
            "-o",
            "ConnectTimeout=5",
            "-o",
            "LogLevel=ERROR",
            "-s",
        ])
        .arg(format!("{}@{}", ep.username, ep.host))
        .arg("netconf")
        .env("SSH_ASKPASS", askpass)
        .env("SSH_ASKPASS_REQUIRE", "force")
        .env("DISPLAY", ":0")
        .env("ONRAMP_PE_PASSWORD", &ep.password)
        // Kept open (and unused) so the subsystem is not told EOF before it
        // has sent its hello.
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn ssh: {e}"))?;

    let stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut seen = Vec::new();
        let mut buf = Vec::new();
        // The server hello ends with the base:1.0 end-of-message marker.
        while let Ok(n) = reader.read_until(b'>', &mut buf) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf);
            buf.clear();
            if seen.windows(6).any(|w| w == b"]]>]]>") {
                let _ = tx.send(String::from_utf8_lossy(&seen).into_owned());
                return;
            }
        }
        let _ = tx.send(String::new());
    });
    let got = rx.recv_timeout(Duration::from_secs(8)).unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    if got.contains("<hello") && got.contains("capability") {
        return Ok(());
    }
    let mut err = String::new();
    let _ = stderr.read_to_string(&mut err);
    Err(format!(
        "no NETCONF hello from ssh -s netconf: {}",
        if err.trim().is_empty() {
            "(no ssh error output)"
        } else {
            err.trim()
        }
    ))
}
