//! The browser harness end to end: a real headless Chromium over chromedriver
//! against pages served by an in-test axum server. Needs the Debian packages
//! `chromium` and `chromium-driver` (scripts/install-deps.sh); without them
//! these tests fail, they do not skip.
//!
//! Screenshots land in `<target>/tmp/browser-artifacts/<test>/`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use onramp_devstack::browser::{Browser, BrowserOptions, Error};

const WAIT: Duration = Duration::from_secs(30);

/// A form whose button updates a paragraph from inline JS, a little later
/// (so the test has to wait for it, as it will for a real API call).
const FORM_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>onramp browser harness</title>
<style>
  body { font-family: sans-serif; margin: 2rem; }
  #greeting { font-size: 1.5rem; color: #1a5; }
</style></head>
<body>
  <h1>Connector request</h1>
  <form id="request" onsubmit="return false">
    <label for="name">Customer</label>
    <input id="name" name="name" value="placeholder">
    <button id="greet" type="submit">Request</button>
  </form>
  <p id="greeting">waiting</p>
  <script>
    document.getElementById('greet').addEventListener('click', () => {
      const name = document.getElementById('name').value;
      setTimeout(() => {
        document.getElementById('greeting').textContent = 'Hello, ' + name + '!';
      }, 200);
    });
  </script>
</body>
</html>
"#;

fn app() -> Router {
    Router::new()
        .route("/form", get(|| async { Html(FORM_PAGE) }))
        .route("/", get(|| async { Html("<p id=\"ok\">reachable</p>") }))
}

/// Serves `app()` on `ip`:0 in the background; returns its address.
async fn serve(ip: IpAddr) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind((ip, 0))
        .await
        .expect("bind test server");
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app()).await });
    addr
}

/// A fresh, empty artifacts dir per test, so a PNG found there is this run's.
fn artifacts(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("browser-artifacts")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn png_size(png: &[u8]) -> (u32, u32) {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    assert!(png.starts_with(SIGNATURE), "not a PNG");
    // The IHDR chunk comes first: length, "IHDR", width, height.
    assert_eq!(&png[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes(b.try_into().unwrap());
    (be(&png[16..20]), be(&png[20..24]))
}

#[tokio::test]
async fn fills_a_form_clicks_and_screenshots() {
    let addr = serve(IpAddr::V4(Ipv4Addr::LOCALHOST)).await;
    let dir = artifacts("form");
    let browser = Browser::start(&dir).await.expect("start headless Chromium");

    let url = format!("http://{addr}/form");
    browser.goto(&url).await.unwrap();
    assert_eq!(browser.current_url().await.unwrap(), url);
    browser.wait_for("#name", WAIT).await.unwrap();
    assert_eq!(browser.text("#greeting").await.unwrap(), "waiting");

    browser.fill("#name", "Ada Lovelace").await.unwrap();
    browser.click("#greet").await.unwrap();
    let text = browser
        .wait_for_text("#greeting", "Hello", WAIT)
        .await
        .unwrap();
    // fill() replaced the input's initial value instead of appending to it.
    assert_eq!(text, "Hello, Ada Lovelace!");

    let shot = browser.screenshot("form after greet").await.unwrap();
    assert_eq!(shot, dir.join("form-after-greet.png"));
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(png_size(&png), (1280, 900), "viewport size");

    // Failures name what was looked for and leave a screenshot behind.
    let err = browser
        .wait_for_text("#greeting", "Goodbye", Duration::from_millis(300))
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Timeout { .. }), "{msg}");
    assert!(
        msg.contains("`#greeting`") && msg.contains("\"Goodbye\""),
        "{msg}"
    );
    assert!(
        msg.contains("Hello, Ada Lovelace!"),
        "last text seen: {msg}"
    );
    let failure_shot = err.screenshot().expect("timeout screenshot");
    assert!(msg.contains(&failure_shot.display().to_string()), "{msg}");
    assert!(std::fs::read(failure_shot).unwrap().starts_with(b"\x89PNG"));

    let err = browser.click("#no-such-button").await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("click `#no-such-button`"), "{msg}");
    assert!(msg.contains("no such element"), "{msg}");
    let shot = err.screenshot().expect("failure screenshot");
    assert!(shot.exists(), "{msg}");
    let first_line = msg.lines().next().unwrap();
    assert!(first_line.contains(&shot.display().to_string()), "{msg}");

    let err = browser
        .wait_for("#never", Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("`#never`"), "{err}");

    browser.close().await.expect("close the session");
}

#[tokio::test]
async fn browser_cannot_leave_loopback() {
    let local = serve(IpAddr::V4(Ipv4Addr::LOCALHOST)).await;
    let browser = Browser::start(&artifacts("isolation"))
        .await
        .expect("start headless Chromium");

    // Control: loopback works, by IP and by name.
    browser.goto(&format!("http://{local}/")).await.unwrap();
    assert_eq!(browser.text("#ok").await.unwrap(), "reachable");
    browser
        .goto(&format!("http://localhost:{}/", local.port()))
        .await
        .unwrap();

    // The error must come from the dead proxy, not from this machine's lack
    // of internet (that would be ERR_NAME_NOT_RESOLVED or a timeout): so the
    // test means the same on a machine that is online.
    let blocked = |what: &str, res: Result<(), Error>| {
        let err = res.expect_err(what);
        assert!(
            err.to_string().contains("ERR_PROXY_CONNECTION_FAILED"),
            "{what}: {err}"
        );
    };
    blocked("example.com", browser.goto("http://example.com/").await);
    blocked("https", browser.goto("https://example.com/").await);
    blocked("IP literal", browser.goto("http://203.0.113.10/").await);
    // Link-local (cloud metadata) bypasses a proxy by Chromium's default rules.
    blocked(
        "metadata service",
        browser
            .goto("http://169.254.169.254/latest/meta-data/")
            .await,
    );

    // A server on this machine's own non-loopback address: reachable from
    // here directly, so only the browser's isolation can stop it.
    match non_loopback_ipv4() {
        Some(ip) => {
            let lan = serve(IpAddr::V4(ip)).await;
            TcpStream::connect_timeout(&lan, Duration::from_secs(2))
                .expect("the non-loopback test server is reachable directly");
            blocked(
                "non-loopback address",
                browser.goto(&format!("http://{lan}/")).await,
            );
        }
        None => eprintln!("no non-loopback IPv4 address here: that case was not checked"),
    }

    // Still usable after the blocked navigations.
    browser.goto(&format!("http://{local}/")).await.unwrap();
    assert_eq!(browser.text("#ok").await.unwrap(), "reachable");
}

/// The address this machine would send from towards a public host (a UDP
/// connect sends nothing), if it has one.
fn non_loopback_ipv4() -> Option<Ipv4Addr> {
    let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    sock.connect((Ipv4Addr::new(192, 0, 2, 1), 9)).ok()?;
    match sock.local_addr().ok()?.ip() {
        IpAddr::V4(ip) if !ip.is_loopback() && !ip.is_unspecified() => Some(ip),
        _ => None,
    }
}

#[tokio::test]
async fn drop_stops_chromium_and_chromedriver() {
    let browser = Browser::start(&artifacts("drop"))
        .await
        .expect("start headless Chromium");
    let profile = browser.profile_dir().to_path_buf();
    let port = browser.driver_port();
    assert!(
        !processes_using(&profile).is_empty(),
        "Chromium runs with its profile {}",
        profile.display()
    );

    drop(browser);

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = processes_using(&profile);
        if left.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "left running: {left:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!profile.exists(), "profile dir removed");
    let driver = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    assert!(
        TcpStream::connect_timeout(&driver, Duration::from_millis(200)).is_err(),
        "chromedriver still listens on {driver}"
    );
}

/// Command lines (from /proc) that mention `profile`.
fn processes_using(profile: &Path) -> Vec<String> {
    let needle = profile.display().to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(&needle) {
                found.push(cmdline);
            }
        }
    }
    found
}

#[tokio::test]
async fn missing_chromium_names_the_package() {
    let mut opts = BrowserOptions::new(artifacts("missing"));
    opts.chromium = "/nonexistent/chromium".into();
    let msg = Browser::start_with(opts.clone())
        .await
        .unwrap_err()
        .to_string();
    assert!(msg.contains("Debian package `chromium`"), "{msg}");

    opts.chromedriver = "/nonexistent/chromedriver".into();
    let msg = Browser::start_with(opts).await.unwrap_err().to_string();
    assert!(msg.contains("Debian package `chromium-driver`"), "{msg}");
}
