//! One NETCONF session per PE, kept open across pushes.
//!
//! ```text
//!  PE (host, port) ──> Pe { gate: tokio Mutex<Option<Conn>>, stats }
//!                              │ the gate is the per-PE writer queue: whoever
//!                              │ holds it owns the session for one transaction
//!                              v
//!                        Conn: rustnetconf Session over Wire (SshTransport,
//!                              plus the test-only cut switch)
//! ```
//!
//! A pooled session is reused only by a caller with the same name, user,
//! password and pinned fingerprint (another one gets its own SSH login, so a
//! wrong key or password is still refused), on the tokio runtime that opened
//! it (russh runs the connection as a task of that runtime), and only if the
//! last transaction on it finished: a caller cancelled mid-transaction leaves
//! the session marked unfinished, and it is dropped rather than reused (the
//! router then rolls back a pending confirmed commit and releases the lock,
//! RFC 6241 8.4 and 7.5).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rustnetconf::capability::uri;
use rustnetconf::error::TransportError;
use rustnetconf::session::Session;
use rustnetconf::transport::Transport;
use rustnetconf::transport::ssh::{HostKeyVerification, SshAuth, SshConfig, SshTransport};

use crate::{ApplyOptions, Error, PeTarget, STEP_CAPABILITIES, STEP_CONNECT, STEP_FIRST_RPC};

/// How this process's sessions to one PE have been used.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// SSH logins + NETCONF hellos made to the PE.
    pub connects: u64,
    /// Of those, how many replaced a pooled session that had died (closed by
    /// the PE, broken, cancelled mid-transaction).
    pub reconnects: u64,
    /// Pushes and reads served by an already-open session.
    pub reuses: u64,
    /// The NETCONF session-id the PE gave the pooled session, if one is open.
    pub session_id: Option<u32>,
}

/// The pooled session of one PE and its writer queue.
pub(crate) struct Pe {
    pub(crate) gate: tokio::sync::Mutex<Option<Conn>>,
    stats: Mutex<SessionStats>,
    /// A session of this PE was lost since the last connect: the next
    /// connect is a reconnect.
    lost: AtomicBool,
}

impl Pe {
    fn stats(&self) -> std::sync::MutexGuard<'_, SessionStats> {
        self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

type Pes = Mutex<HashMap<(String, u16), Arc<Pe>>>;

fn pes() -> &'static Pes {
    static PES: OnceLock<Pes> = OnceLock::new();
    PES.get_or_init(Default::default)
}

/// The PE entry (writer queue + pooled session) for the target's address.
pub(crate) fn pe(target: &PeTarget) -> Arc<Pe> {
    let mut pes = pes().lock().unwrap_or_else(PoisonError::into_inner);
    pes.entry((target.host.clone(), target.port))
        .or_insert_with(|| {
            Arc::new(Pe {
                gate: tokio::sync::Mutex::new(None),
                stats: Mutex::new(SessionStats::default()),
                lost: AtomicBool::new(false),
            })
        })
        .clone()
}

pub(crate) fn stats(target: &PeTarget) -> SessionStats {
    let pes = pes().lock().unwrap_or_else(PoisonError::into_inner);
    pes.get(&(target.host.clone(), target.port))
        .map(|pe| pe.stats().clone())
        .unwrap_or_default()
}

/// Closes every pooled session (politely, `<close-session>`, bounded by
/// `within` per session).
pub(crate) async fn close_all(within: Duration) {
    let all: Vec<Arc<Pe>> = pes()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .values()
        .cloned()
        .collect();
    for pe in all {
        let mut slot = pe.gate.lock().await;
        if let Some(mut conn) = slot.take() {
            conn.close(within).await;
        }
        pe.stats().session_id = None;
    }
}

/// Who may reuse a session: everything that authenticates or names the PE.
#[derive(PartialEq, Eq)]
struct Key {
    name: String,
    username: String,
    password: String,
    fingerprint: Option<String>,
}

impl Key {
    fn of(t: &PeTarget) -> Key {
        Key {
            name: t.name.clone(),
            username: t.username.clone(),
            password: t.password.clone(),
            fingerprint: t.host_key_fingerprint.clone(),
        }
    }
}

/// An open NETCONF session in the pool.
pub(crate) struct Conn {
    pub(crate) session: Session,
    pub(crate) cut: Arc<CutSwitch>,
    key: Key,
    runtime: tokio::runtime::Id,
    /// False while a transaction runs; one that never finished (its caller
    /// was cancelled) leaves the session in an unknown state.
    pub(crate) finished: bool,
}

impl Conn {
    fn usable_by(&self, target: &PeTarget) -> bool {
        self.finished
            && self.session.is_alive()
            && self.key == Key::of(target)
            && tokio::runtime::Handle::try_current().is_ok_and(|h| h.id() == self.runtime)
    }

    async fn close(&mut self, within: Duration) {
        let same_runtime =
            tokio::runtime::Handle::try_current().is_ok_and(|h| h.id() == self.runtime);
        if same_runtime && self.session.is_alive() {
            let _ = tokio::time::timeout(within, self.session.close_session()).await;
        }
    }
}

/// Ensures `slot` holds a session usable by `target` and says whether it was
/// already open. `fresh` forces a new one.
pub(crate) async fn checkout(
    pe: &Pe,
    slot: &mut Option<Conn>,
    target: &PeTarget,
    opts: &ApplyOptions,
    fresh: bool,
) -> Result<bool, Error> {
    if let Some(conn) = slot.as_mut()
        && !fresh
        && conn.usable_by(target)
    {
        conn.session.set_rpc_timeout(Some(opts.rpc_timeout));
        conn.cut.reset();
        pe.stats().reuses += 1;
        return Ok(true);
    }
    if let Some(old) = slot.as_ref()
        && old.key == Key::of(target)
    {
        // Ours, but dead, broken, unfinished or from another runtime.
        pe.lost.store(true, Ordering::SeqCst);
    }
    let new = connect(target, opts).await?;
    if let Some(mut old) = slot.take() {
        // Another identity's session, or a lost one: let it go.
        old.close(Duration::from_millis(200)).await;
    }
    let mut stats = pe.stats();
    stats.connects += 1;
    if pe.lost.swap(false, Ordering::SeqCst) {
        stats.reconnects += 1;
    }
    stats.session_id = new
        .session
        .capabilities()
        .and_then(rustnetconf::capability::Capabilities::session_id);
    *slot = Some(new);
    Ok(false)
}

/// Forgets the pooled session of `pe` (it broke).
pub(crate) fn discard(pe: &Pe, slot: &mut Option<Conn>) {
    *slot = None;
    pe.lost.store(true, Ordering::SeqCst);
    pe.stats().session_id = None;
}

async fn connect(target: &PeTarget, opts: &ApplyOptions) -> Result<Conn, Error> {
    let config = SshConfig {
        host: target.host.clone(),
        port: target.port,
        username: target.username.clone(),
        auth: SshAuth::Password(target.password.clone().into()),
        host_key_verification: match &target.host_key_fingerprint {
            Some(fp) => HostKeyVerification::Fingerprint(fp.clone()),
            None => HostKeyVerification::RejectAll,
        },
        jump_hosts: Vec::new(),
        proxy_command: None,
    };
    let cut = Arc::new(CutSwitch::default());
    let opening = async {
        let transport = SshTransport::connect(config).await?;
        let mut session = Session::new(Box::new(Wire {
            inner: Some(transport),
            cut: cut.clone(),
        }));
        session.set_rpc_timeout(Some(opts.rpc_timeout));
        session.establish().await?;
        Ok::<_, rustnetconf::NetconfError>(session)
    };
    let mut session = match tokio::time::timeout(opts.connect_timeout, opening).await {
        Err(_) => {
            return Err(Error::Timeout {
                step: STEP_CONNECT,
                after: opts.connect_timeout,
            });
        }
        Ok(Err(e)) => return Err(Error::from_netconf(STEP_CONNECT, &target.name, e)),
        Ok(Ok(session)) => session,
    };
    for (cap, what) in [
        (uri::CANDIDATE, ":candidate"),
        (
            uri::CONFIRMED_COMMIT_1_1,
            ":confirmed-commit:1.1 (for cancel-commit)",
        ),
    ] {
        if !session.supports(cap) {
            let _ = tokio::time::timeout(Duration::from_secs(1), session.close_session()).await;
            return Err(Error::Protocol {
                step: STEP_CAPABILITIES,
                detail: format!("PE {} does not advertise {what}", target.name),
            });
        }
    }
    first_exchange(&mut session, target, opts).await?;
    tracing::debug!(pe = %target.name, "NETCONF session opened");
    Ok(Conn {
        session,
        cut,
        key: Key::of(target),
        runtime: tokio::runtime::Handle::current().id(),
        finished: true,
    })
}

/// netconfd 2.13 drops into a wait when the client's `<hello>` and its first
/// `<rpc>` reach it in one read (likely under load: the client may send the
/// RPC as soon as it has the server's hello): it handles the hello and leaves
/// the RPC in its buffer until more bytes arrive. So the first exchange of
/// every new session is a harmless `<get>` with an empty filter, re-sent with
/// a short timeout until one is answered: each new probe pushes the stuck one
/// through, and the stale replies are drained by message-id. After that the
/// client only sends after a reply, so nothing else can coalesce. Costs one
/// round trip per session (not per push).
async fn first_exchange(
    session: &mut Session,
    target: &PeTarget,
    opts: &ApplyOptions,
) -> Result<(), Error> {
    let deadline = Instant::now() + opts.connect_timeout;
    let mut wait = Duration::from_millis(200);
    loop {
        match tokio::time::timeout(wait, session.get(Some(""))).await {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(e)) => return Err(Error::from_netconf(STEP_FIRST_RPC, &target.name, e)),
            Err(_) if Instant::now() + wait < deadline => {
                tracing::debug!(pe = %target.name, ?wait, "first RPC unanswered, probing again");
                wait = (wait * 2).min(Duration::from_secs(2));
            }
            Err(_) => {
                return Err(Error::Timeout {
                    step: STEP_FIRST_RPC,
                    after: opts.connect_timeout,
                });
            }
        }
    }
}

// ===== the wire, with the test-only cut =====

/// Lets a test cut the SSH connection at a precise point of a transaction
/// (see [`crate::FaultPoint`]). Inert unless armed.
#[derive(Default)]
pub(crate) struct CutSwitch(AtomicU8);

const CUT_OFF: u8 = 0;
const CUT_AFTER_NEXT_WRITE: u8 = 1;
const CUT_NOW: u8 = 2;

impl CutSwitch {
    fn reset(&self) {
        self.0.store(CUT_OFF, Ordering::SeqCst);
    }
    /// The connection drops right after the next message is written, before
    /// its reply is read.
    pub(crate) fn after_next_write(&self) {
        self.0.store(CUT_AFTER_NEXT_WRITE, Ordering::SeqCst);
    }
    /// The connection drops at its next use.
    pub(crate) fn now(&self) {
        self.0.store(CUT_NOW, Ordering::SeqCst);
    }
}

/// The SSH transport, which a [`CutSwitch`] can drop (closing the TCP
/// connection, as a crash or a network cut would) at a chosen point.
struct Wire {
    inner: Option<SshTransport>,
    cut: Arc<CutSwitch>,
}

fn gone() -> TransportError {
    TransportError::ChannelClosed("connection cut (test fault injection)".into())
}

#[async_trait]
impl Transport for Wire {
    async fn write_all(&mut self, data: &[u8]) -> Result<(), TransportError> {
        if self.cut.0.load(Ordering::SeqCst) == CUT_NOW {
            self.inner = None;
        }
        let inner = self.inner.as_mut().ok_or_else(gone)?;
        inner.write_all(data).await?;
        if self.cut.0.load(Ordering::SeqCst) == CUT_AFTER_NEXT_WRITE {
            // Dropping the russh handle and channel ends its connection task
            // once it has flushed what was queued: the message goes out, then
            // the TCP connection closes.
            self.inner = None;
            self.cut.0.store(CUT_NOW, Ordering::SeqCst);
            tracing::warn!("test fault: SSH connection cut right after a write");
        }
        Ok(())
    }

    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        if self.cut.0.load(Ordering::SeqCst) == CUT_NOW {
            self.inner = None;
        }
        match self.inner.as_mut() {
            Some(inner) => inner.read(buf).await,
            None => Ok(0), // EOF
        }
    }

    async fn close(&mut self) -> Result<(), TransportError> {
        match self.inner.as_mut() {
            Some(inner) => inner.close().await,
            None => Ok(()),
        }
    }
}
