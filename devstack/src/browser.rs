//! A real headless Chromium driven over WebDriver, for browser end-to-end
//! tests (ops console, customer portal).
//!
//! ```text
//!  test ──WebDriver HTTP 127.0.0.1:<port>──> chromedriver ──DevTools──> chromium --headless=new
//!   │                                        (own log file)             (fresh profile in a temp
//!   │                                                                    dir; every non-loopback
//!   └── screenshots, chromedriver.log ──> <artifacts_dir>/               URL goes to a dead proxy)
//! ```
//!
//! [`Browser::start`] starts `chromedriver` on a free loopback port, opens one
//! session and hands back a [`Browser`] with the few helpers the tests need
//! (`goto`, `fill`, `click`, `text`, `wait_for`, `wait_for_text`,
//! `screenshot`). Anything else goes through [`Browser::client`], the
//! underlying [`fantoccini::Client`]. Dropping the `Browser` ends the session
//! (chromedriver then quits Chromium) and kills chromedriver's whole process
//! group, so a failed test leaves no browser behind.
//!
//! Network isolation: Chromium is told to send every request through the
//! proxy `127.0.0.1:9`, where nothing listens, so anything but loopback fails
//! with `net::ERR_PROXY_CONNECTION_FAILED` (no DNS lookup is made either: the
//! proxy would resolve). Chromium's implicit bypass rules keep loopback
//! direct, but they also exempt link-local addresses (169.254.0.0/16, the
//! cloud metadata service among them), so the bypass list first removes the
//! implicit rules (`<-loopback>`) and then names loopback again explicitly.
//!
//! Requirements, installed by `scripts/install-deps.sh`: the Debian packages
//! `chromium` and `chromium-driver` (`/usr/bin/chromium`,
//! `/usr/bin/chromedriver`; override with `CHROMIUM` / `CHROMEDRIVER`).
//! Tests must not skip when they are missing: [`Browser::start`] fails and
//! names the package.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub use fantoccini;
use fantoccini::elements::Element;
use fantoccini::error::{CmdError, NewSessionError};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::{ChildGuard, free_port};

/// Where Debian's `chromium-driver` package installs chromedriver.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Debian's `chromium` launcher (a shell script that runs
/// `/usr/lib/chromium/chromium`).
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The proxy every non-loopback request is sent to. Port 9 (discard) is
/// privileged and unused here, so connecting fails at once; `start` checks
/// that nothing listens on it.
const DEAD_PROXY: (Ipv4Addr, u16) = (Ipv4Addr::LOCALHOST, 9);
/// Loopback, stated explicitly after `<-loopback>` removed Chromium's
/// implicit rules (which also let link-local addresses through).
const PROXY_BYPASS: &str = "<-loopback>;localhost;*.localhost;127.0.0.1/8;[::1]";
const POLL: Duration = Duration::from_millis(50);
/// How long `Drop` waits for chromedriver to end the session (and quit
/// Chromium) before killing everything.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "{program} not found at {}: install the Debian package `{package}` \
         (scripts/install-deps.sh does)",
        path.display()
    )]
    Missing {
        program: &'static str,
        path: PathBuf,
        package: &'static str,
    },
    #[error("chromedriver: {0}")]
    Driver(#[source] crate::Error),
    #[error(
        "no WebDriver session from chromedriver on port {port}: {detail} \
         (chromedriver log: {})",
        log.display()
    )]
    Session {
        port: u16,
        detail: String,
        log: PathBuf,
    },
    // The screenshot before the source: chromedriver's messages end with a
    // "(Session info: ...)" line.
    #[error("{action}{}: {source}", screenshot_note(.screenshot))]
    Command {
        action: String,
        #[source]
        source: Box<CmdError>,
        screenshot: Option<PathBuf>,
    },
    #[error(
        "timed out after {timeout:?} waiting for {what}; last seen: {last}{}",
        screenshot_note(.screenshot)
    )]
    Timeout {
        what: String,
        timeout: Duration,
        last: String,
        screenshot: Option<PathBuf>,
    },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// The screenshot saved when this error happened, if any.
    pub fn screenshot(&self) -> Option<&Path> {
        match self {
            Error::Command { screenshot, .. } | Error::Timeout { screenshot, .. } => {
                screenshot.as_deref()
            }
            _ => None,
        }
    }
}

fn screenshot_note(shot: &Option<PathBuf>) -> String {
    shot.as_ref()
        .map(|p| format!(" (screenshot: {})", p.display()))
        .unwrap_or_default()
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How to start the browser. [`BrowserOptions::new`] gives the defaults.
#[derive(Clone, Debug)]
pub struct BrowserOptions {
    /// Screenshots and `chromedriver.log` go here (created if missing).
    pub artifacts_dir: PathBuf,
    /// `CHROMEDRIVER` from the environment, else [`CHROMEDRIVER`].
    pub chromedriver: PathBuf,
    /// `CHROMIUM` from the environment, else [`CHROMIUM`].
    pub chromium: PathBuf,
    /// Viewport size in CSS pixels (width, height); screenshots have this
    /// size.
    pub window: (u32, u32),
    /// Bounds chromedriver's start and the session's creation (Chromium's
    /// start), each.
    pub start_timeout: Duration,
}

impl BrowserOptions {
    pub fn new(artifacts_dir: impl Into<PathBuf>) -> Self {
        let from_env = |var: &str, default: &str| {
            std::env::var_os(var)
                .filter(|v| !v.is_empty())
                .map_or_else(|| PathBuf::from(default), PathBuf::from)
        };
        Self {
            artifacts_dir: artifacts_dir.into(),
            chromedriver: from_env("CHROMEDRIVER", CHROMEDRIVER),
            chromium: from_env("CHROMIUM", CHROMIUM),
            window: (1280, 900),
            start_timeout: Duration::from_secs(30),
        }
    }

    /// Chromium's command line. Headless, no sandbox (CI runs as root), no
    /// GPU, no /dev/shm (small in containers), a fixed window, its own
    /// profile, and none of its background traffic (updates, sync,
    /// safe-browsing lists, metrics): on a closed network those fail
    /// repeatedly, and they must not reach the network anyway.
    fn chromium_args(&self, profile: &Path) -> Vec<String> {
        let (w, h) = self.window;
        let (proxy_ip, proxy_port) = DEAD_PROXY;
        vec![
            "--headless=new".into(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            format!("--window-size={w},{h}"),
            format!("--user-data-dir={}", profile.display()),
            format!("--proxy-server=http://{proxy_ip}:{proxy_port}"),
            format!("--proxy-bypass-list={PROXY_BYPASS}"),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--no-default-browser-check".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-default-apps".into(),
            "--disable-extensions".into(),
            "--metrics-recording-only".into(),
            "--password-store=basic".into(),
            "--hide-scrollbars".into(),
            "--force-color-profile=srgb".into(),
        ]
    }
}

/// One headless Chromium session behind its own chromedriver.
#[derive(Debug)]
pub struct Browser {
    client: Client,
    session_id: String,
    driver: Driver,
    artifacts_dir: PathBuf,
    /// Chromium's `--user-data-dir`. Declared after `driver`, so it is
    /// removed only once Chromium is gone.
    profile: tempfile::TempDir,
    failures: AtomicUsize,
    closed: bool,
}

impl Browser {
    /// Starts chromedriver and headless Chromium with the default
    /// [`BrowserOptions`]; artifacts go to `artifacts_dir`.
    pub async fn start(artifacts_dir: &Path) -> Result<Browser> {
        Self::start_with(BrowserOptions::new(artifacts_dir)).await
    }

    pub async fn start_with(opts: BrowserOptions) -> Result<Browser> {
        preflight(&opts)?;
        std::fs::create_dir_all(&opts.artifacts_dir).map_err(|source| Error::Io {
            what: format!("create {}", opts.artifacts_dir.display()),
            source,
        })?;
        let profile = tempfile::Builder::new()
            .prefix("onramp-chromium-")
            .tempdir()
            .map_err(|source| Error::Io {
                what: "create Chromium's profile dir".into(),
                source,
            })?;

        let port = free_port();
        let log = opts.artifacts_dir.join("chromedriver.log");
        let mut driver = Driver::spawn(&opts.chromedriver, port, &log)?;
        wait_for_listener(port, opts.start_timeout, &mut driver.child).await?;

        let args = opts.chromium_args(profile.path());
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("pageLoadStrategy".into(), json!("normal"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": opts.chromium, "args": args }),
        );
        let session_err = |detail: String| Error::Session {
            port,
            detail,
            log: log.clone(),
        };
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(caps);
        let driver_url = format!("http://127.0.0.1:{port}");
        let connect = builder.connect(&driver_url);
        let client = match tokio::time::timeout(opts.start_timeout, connect).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => return Err(session_err(new_session_detail(&e))),
            Err(_) => {
                return Err(session_err(format!(
                    "Chromium did not start within {:?}",
                    opts.start_timeout
                )));
            }
        };
        let session_id = match client.session_id().await {
            Ok(Some(id)) => id,
            Ok(None) => return Err(session_err("chromedriver returned no session id".into())),
            Err(e) => return Err(session_err(e.to_string())),
        };
        if let Err(e) = fit_viewport(&client, opts.window).await {
            return Err(session_err(format!("set the viewport size: {e}")));
        }
        tracing::debug!(port, %session_id, "headless Chromium session started");
        Ok(Browser {
            client,
            session_id,
            driver,
            artifacts_dir: opts.artifacts_dir,
            profile,
            failures: AtomicUsize::new(0),
            closed: false,
        })
    }

    /// The underlying WebDriver client, for anything the helpers don't cover
    /// (`execute`, cookies, windows, actions, `find_all`, ...).
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn artifacts_dir(&self) -> &Path {
        &self.artifacts_dir
    }

    /// Chromium's `--user-data-dir`, a fresh temp dir removed on close.
    pub fn profile_dir(&self) -> &Path {
        self.profile.path()
    }

    /// The port chromedriver listens on (127.0.0.1).
    pub fn driver_port(&self) -> u16 {
        self.driver.port
    }

    /// Navigates and waits for the page's load event. A page that cannot be
    /// reached (connection refused, blocked by the isolation proxy) is an
    /// error naming Chromium's `net::ERR_*` code.
    pub async fn goto(&self, url: &str) -> Result<()> {
        self.client
            .goto(url)
            .await
            .map_err(|source| Error::Command {
                action: format!("goto {url}"),
                source: Box::new(source),
                screenshot: None,
            })
    }

    pub async fn current_url(&self) -> Result<String> {
        match self.client.current_url().await {
            Ok(url) => Ok(url.to_string()),
            Err(source) => Err(Error::Command {
                action: "read the current URL".into(),
                source: Box::new(source),
                screenshot: None,
            }),
        }
    }

    /// Clears the element matching `css` and types `text` into it. The
    /// element must already be there (see [`Browser::wait_for`]).
    pub async fn fill(&self, css: &str, text: &str) -> Result<()> {
        let action = format!("fill `{css}`");
        let el = self.find(&action, css).await?;
        let typed = async {
            el.clear().await?;
            el.send_keys(text).await
        };
        match typed.await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.command_failed(action, e).await),
        }
    }

    pub async fn click(&self, css: &str) -> Result<()> {
        let action = format!("click `{css}`");
        let el = self.find(&action, css).await?;
        match el.click().await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.command_failed(action, e).await),
        }
    }

    /// The rendered (visible) text of the element matching `css`.
    pub async fn text(&self, css: &str) -> Result<String> {
        let action = format!("read the text of `{css}`");
        let el = self.find(&action, css).await?;
        match el.text().await {
            Ok(text) => Ok(text),
            Err(e) => Err(self.command_failed(action, e).await),
        }
    }

    /// Waits until an element matches `css` (present in the DOM, visible or
    /// not) and returns it.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Result<Element> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.client.find(Locator::Css(css)).await {
                Ok(el) => return Ok(el),
                Err(e) if e.is_no_such_element() => {}
                Err(e) => return Err(self.command_failed(format!("wait for `{css}`"), e).await),
            }
            if Instant::now() >= deadline {
                let what = format!("an element matching `{css}`");
                return Err(self.timed_out(what, timeout, "no match".into()).await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the element matching `css` shows text containing
    /// `needle`, and returns its whole text.
    pub async fn wait_for_text(
        &self,
        css: &str,
        needle: &str,
        timeout: Duration,
    ) -> Result<String> {
        let deadline = Instant::now() + timeout;
        let mut last: String;
        loop {
            let seen = match self.client.find(Locator::Css(css)).await {
                Ok(el) => el.text().await,
                Err(e) => Err(e),
            };
            match seen {
                Ok(text) if text.contains(needle) => return Ok(text),
                Ok(text) => last = format!("text {text:?}"),
                // The element may be replaced between find and text.
                Err(e) if e.is_no_such_element() || e.is_stale_element_reference() => {
                    last = "no element matched".into();
                }
                Err(e) => {
                    let action = format!("wait for `{css}` to contain {needle:?}");
                    return Err(self.command_failed(action, e).await);
                }
            }
            if Instant::now() >= deadline {
                let what = format!("`{css}` to contain {needle:?}");
                return Err(self.timed_out(what, timeout, last).await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Saves a PNG of the viewport as `<artifacts_dir>/<name>.png` (`name`
    /// reduced to letters, digits, `-`, `_` and `.`) and returns its path.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let png = self
            .client
            .screenshot()
            .await
            .map_err(|source| Error::Command {
                action: format!("take screenshot {name:?}"),
                source: Box::new(source),
                screenshot: None,
            })?;
        let path = self.artifacts_dir.join(format!("{}.png", file_stem(name)));
        std::fs::write(&path, png).map_err(|source| Error::Io {
            what: format!("write {}", path.display()),
            source,
        })?;
        Ok(path)
    }

    /// Ends the session (Chromium quits) and stops chromedriver, reporting a
    /// failure to end the session. Dropping the `Browser` does the same
    /// without the report.
    pub async fn close(mut self) -> Result<()> {
        self.closed = true;
        let res = self.client.clone().close().await;
        self.shutdown();
        res.map_err(|source| Error::Command {
            action: "end the WebDriver session".into(),
            source: Box::new(source),
            screenshot: None,
        })
    }

    async fn find(&self, action: &str, css: &str) -> Result<Element> {
        match self.client.find(Locator::Css(css)).await {
            Ok(el) => Ok(el),
            Err(e) => Err(self.command_failed(action.to_string(), e).await),
        }
    }

    async fn command_failed(&self, action: String, source: CmdError) -> Error {
        let screenshot = self.failure_screenshot(&action).await;
        Error::Command {
            action,
            source: Box::new(source),
            screenshot,
        }
    }

    async fn timed_out(&self, what: String, timeout: Duration, last: String) -> Error {
        let screenshot = self.failure_screenshot(&format!("timeout {what}")).await;
        Error::Timeout {
            what,
            timeout,
            last,
            screenshot,
        }
    }

    /// Best effort: a failure must still be reported if the screenshot fails.
    async fn failure_screenshot(&self, what: &str) -> Option<PathBuf> {
        let n = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        let name = format!("failure-{n:02}-{}", file_stem(what));
        match self.screenshot(&name).await {
            Ok(path) => Some(path),
            Err(e) => {
                tracing::warn!(error = %e, "could not save a failure screenshot");
                None
            }
        }
    }

    /// Synchronous, so it can run in `Drop` (no runtime needed): end the
    /// session over plain HTTP, which makes chromedriver quit Chromium, then
    /// kill chromedriver's process group in case something was left.
    /// Idempotent.
    fn shutdown(&mut self) {
        if !self.closed {
            self.closed = true;
            if let Err(e) = delete_session(self.driver.port, &self.session_id) {
                tracing::debug!(error = %e, "ending the WebDriver session failed");
            }
        }
        self.driver.kill();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// chromedriver in its own process group: Chromium and its helpers are its
/// children and stay in that group, so one `kill(-pgid)` reaches all of them,
/// also when `start` fails half-way (say, the session timed out after
/// Chromium started).
#[derive(Debug)]
struct Driver {
    child: ChildGuard,
    port: u16,
}

impl Driver {
    fn spawn(program: &Path, port: u16, log: &Path) -> Result<Self> {
        let child = ChildGuard::spawn(
            "chromedriver",
            Command::new(program)
                .arg(format!("--port={port}"))
                .arg("--allowed-ips=127.0.0.1")
                .arg("--log-level=INFO")
                .arg("--readable-timestamp")
                .process_group(0),
            log,
        )
        .map_err(Error::Driver)?;
        Ok(Self { child, port })
    }

    fn kill(&mut self) {
        let pgid = self.child.pid();
        self.child.kill();
        let pgid = pgid
            .and_then(|p| i32::try_from(p).ok())
            .and_then(rustix::process::Pid::from_raw);
        if let Some(pgid) = pgid {
            // ESRCH when chromedriver took everything down with it.
            let _ = rustix::process::kill_process_group(pgid, rustix::process::Signal::KILL);
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `--window-size` sizes the window, and headless Chromium still keeps room
/// for its (invisible) toolbars, so the viewport comes out smaller (1280x757
/// for 1280x900 here). Grow the window by the difference so the viewport,
/// and so every screenshot, is exactly `(width, height)`.
async fn fit_viewport(client: &Client, (width, height): (u32, u32)) -> Result<(), CmdError> {
    let inner = client
        .execute("return [window.innerWidth, window.innerHeight];", vec![])
        .await?;
    let dim = |i: usize| inner.get(i).and_then(serde_json::Value::as_u64);
    let (Some(inner_w), Some(inner_h)) = (dim(0), dim(1)) else {
        return Err(CmdError::NotW3C(inner));
    };
    let (outer_w, outer_h) = client.get_window_size().await?;
    let grow = |outer: u64, inner: u64| u32::try_from(outer.saturating_sub(inner)).unwrap_or(0);
    client
        .set_window_size(
            width + grow(outer_w, inner_w),
            height + grow(outer_h, inner_h),
        )
        .await
}

fn preflight(opts: &BrowserOptions) -> Result<()> {
    for (program, path, package) in [
        ("chromedriver", &opts.chromedriver, "chromium-driver"),
        ("chromium", &opts.chromium, "chromium"),
    ] {
        if !path.is_file() {
            return Err(Error::Missing {
                program,
                path: path.clone(),
                package,
            });
        }
    }
    let dead = SocketAddr::from(DEAD_PROXY);
    if TcpStream::connect_timeout(&dead, Duration::from_millis(200)).is_ok() {
        return Err(Error::Other(format!(
            "something listens on {dead}, the dead proxy that keeps the browser off \
             the network: stop it, or the browser tests would not be isolated"
        )));
    }
    Ok(())
}

async fn wait_for_listener(port: u16, timeout: Duration, driver: &mut ChildGuard) -> Result<()> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let start = Instant::now();
    loop {
        driver.check_alive().map_err(Error::Driver)?;
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(());
        }
        if start.elapsed() > timeout {
            return Err(Error::Driver(crate::Error::NotReady {
                what: "chromedriver".into(),
                secs: timeout.as_secs(),
                detail: format!("nothing listens on {addr}"),
            }));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// chromedriver's "session not created" carries Chromium's own complaint
/// (crash at start, wrong binary) in its message; keep it whole.
fn new_session_detail(e: &NewSessionError) -> String {
    match e {
        NewSessionError::SessionNotCreated(wd) => format!("session not created: {}", wd.message),
        other => other.to_string(),
    }
}

/// `DELETE /session/<id>` over a plain TCP stream, waiting for the reply
/// (chromedriver answers once Chromium has quit). chromedriver keeps the
/// connection open despite `Connection: close`, so the reply is read up to
/// its `Content-Length`, not to EOF.
fn delete_session(port: u16, session_id: &str) -> std::io::Result<()> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, CLOSE_TIMEOUT)?;
    stream.set_read_timeout(Some(CLOSE_TIMEOUT))?;
    stream.set_write_timeout(Some(CLOSE_TIMEOUT))?;
    write!(
        stream,
        "DELETE /session/{session_id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        reply.extend_from_slice(&buf[..n]);
        if let Some(head_len) = reply.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&reply[..head_len]).to_ascii_lowercase();
            let body_len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if reply.len() >= head_len + 4 + body_len {
                break;
            }
        }
    }
    if reply.starts_with(b"HTTP/1.1 200") {
        Ok(())
    } else {
        let head = String::from_utf8_lossy(&reply[..reply.len().min(200)]).into_owned();
        Err(std::io::Error::other(format!(
            "chromedriver answered {head:?}"
        )))
    }
}

/// A file-name-safe form of `s`, at most 60 characters.
fn file_stem(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if out.len() >= 60 {
            break;
        }
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches(['-', '.']).to_string();
    if out.is_empty() {
        "screenshot".into()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stem_keeps_names_safe() {
        assert_eq!(file_stem("after submit"), "after-submit");
        assert_eq!(
            file_stem("timeout `#out` to contain \"x\""),
            "timeout-out-to-contain-x"
        );
        assert_eq!(file_stem("../../etc/passwd"), "etc-passwd");
        assert_eq!(file_stem("///"), "screenshot");
        assert!(file_stem(&"a".repeat(200)).len() <= 60);
    }
}
