//! Starts the real third-party servers onramp runs against (nats-server with
//! JetStream, PostgreSQL, netconfd behind sshd) on free loopback ports, for
//! `onramp-dev` and for the test harnesses. Every child is killed when its
//! guard drops, so a failed test leaves no server behind. [`browser`] drives a
//! headless Chromium over WebDriver for the browser end-to-end tests.

pub mod browser;
pub mod nats;
pub mod pe;
pub mod postgres;
mod process;
pub mod telemetry;

pub use process::{ChildGuard, free_port, wait_for_tcp};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("`{program}` is not installed: {hint}")]
    Missing { program: String, hint: String },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} did not become ready within {secs}s: {detail}")]
    NotReady {
        what: String,
        secs: u64,
        detail: String,
    },
    #[error("{0}")]
    Other(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let what = what.into();
    move |source| Error::Io { what, source }
}
