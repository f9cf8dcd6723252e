//! Pushes rendered changes to a PE router over NETCONF (rustnetconf over
//! SSH), as one transaction on the candidate datastore per call, and proves
//! they landed by reading running back (DESIGN.md rule 5c):
//!
//! ```text
//!  lock candidate ─> discard-changes ─> edit-config(s) ─> [validate] ─> commit confirmed
//!       │ lock-denied: retried          one per change,    (unless the     │
//!       │ until ApplyOptions::lock_wait or merged (merge.rs) platform quirk) v
//!       v                                         get-config running, check the
//!  Error (retryable)                              expectations of every change
//!                                                                        │
//!                                               ok: confirming commit ─> unlock
//!                                     any failure: cancel-commit (if pending),
//!                                                  discard-changes, unlock
//! ```
//!
//! [`apply`] pushes one change, [`apply_batch`] several in that one
//! transaction (one lock, one confirmed commit, one read-back): all of them
//! land or none does, and a failure names the change at fault
//! ([`Error::Change`]).
//!
//! Sessions are kept open (`pool.rs`): one NETCONF session per PE in this
//! process, reused by every push and read, and re-opened transparently when
//! the PE closed it (a pooled session found dead at the first RPC is
//! replaced once; any other failure is returned). [`session_stats`] tells how
//! they were used, [`close_sessions`] closes them at shutdown.
//!
//! One writer per PE: pushes from this process to the same PE queue on an
//! in-process gate (which also owns the pooled session), and the candidate
//! lock keeps other processes out (a lock-denied answer that outlasts
//! `lock_wait` comes back retryable).
//!
//! Every push is a declarative merge or remove, so retrying after an unknown
//! outcome (timeout, lost session) is safe. A removal whose parent is already
//! gone on the router (a redelivered delete) succeeds without a commit once
//! running is checked to lack everything it removes.

mod error;
mod merge;
mod pool;
mod transaction;

use std::time::{Duration, Instant};

use rustnetconf::Datastore;

pub use error::Error;
pub use onramp_router_templates::{DefaultOperation, Expectation, Quirks, Rendered};
pub use pool::SessionStats;

pub(crate) const STEP_CONNECT: &str = "connect";
pub(crate) const STEP_CAPABILITIES: &str = "capabilities";
pub(crate) const STEP_FIRST_RPC: &str = "first-rpc";
pub(crate) const STEP_LOCK: &str = "lock";
pub(crate) const STEP_DISCARD: &str = "discard-changes";
pub(crate) const STEP_EDIT: &str = "edit-config";
pub(crate) const STEP_VALIDATE: &str = "validate";
pub(crate) const STEP_COMMIT_CONFIRMED: &str = "commit-confirmed";
pub(crate) const STEP_GET_RUNNING: &str = "get-config";
pub(crate) const STEP_GET_CANDIDATE: &str = "get-config-candidate";
pub(crate) const STEP_COMMIT_CONFIRMING: &str = "commit-confirming";

/// How to reach one PE.
#[derive(Clone)]
pub struct PeTarget {
    /// For errors and logs.
    pub name: String,
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: String,
    /// `SHA256:...` as `ssh-keygen -lf` prints it. A mismatch fails closed;
    /// `None` trusts no key at all (the error names the key presented).
    pub host_key_fingerprint: Option<String>,
}

impl std::fmt::Debug for PeTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeTarget")
            .field("name", &self.name)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("host_key_fingerprint", &self.host_key_fingerprint)
            .finish()
    }
}

/// Timeouts of one push. [`apply`] uses the defaults.
#[derive(Clone, Debug)]
pub struct ApplyOptions {
    /// TCP + SSH handshake + NETCONF hello.
    pub connect_timeout: Duration,
    /// Each RPC.
    pub rpc_timeout: Duration,
    /// How long the router keeps a confirmed commit before rolling it back
    /// on its own (if this process dies between commit and confirmation).
    pub confirm_timeout_secs: u32,
    /// How long to keep retrying a lock another session holds.
    pub lock_wait: Duration,
    /// Test hook: cut the session at a chosen point of the transaction.
    /// `None` (the default) in production.
    #[doc(hidden)]
    pub fault: Option<FaultPoint>,
}

/// Where a test cuts the NETCONF session (drops the SSH connection, as a
/// crash or a network cut would), to prove what the router does then.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultPoint {
    /// Right after `<commit><confirmed/>` is written, before its reply is
    /// read.
    CutAfterConfirmedCommitSent,
    /// After the confirmed commit was answered and running read back and
    /// verified, before the confirming `<commit>` is sent.
    CutBeforeConfirmingCommit,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            rpc_timeout: Duration::from_secs(30),
            confirm_timeout_secs: 120,
            lock_wait: Duration::from_secs(5),
            fault: None,
        }
    }
}

/// Applies one rendered change transactionally (see the crate docs for the
/// steps): a batch of one. On any failure the candidate is discarded, a
/// pending confirmed commit is cancelled, the lock released, and the error
/// says which step failed and what the router answered.
pub async fn apply(target: &PeTarget, quirks: &Quirks, change: &Rendered) -> Result<(), Error> {
    apply_with(target, quirks, change, &ApplyOptions::default()).await
}

/// [`apply`] with explicit timeouts.
pub async fn apply_with(
    target: &PeTarget,
    quirks: &Quirks,
    change: &Rendered,
    opts: &ApplyOptions,
) -> Result<(), Error> {
    apply_batch_with(target, quirks, std::slice::from_ref(change), opts)
        .await
        .map_err(Error::into_innermost)
}

/// Applies several changes to one PE in one transaction: one lock, one
/// discard, their edits in order (merged into fewer `<edit-config>`s where
/// that provably changes nothing, each change's default-operation
/// honoured), [validate], one confirmed commit, one read-back checking the
/// expectations of every change (those a later change of the batch
/// overrides excepted), the confirming commit, unlock.
///
/// All or nothing: any failure rolls the whole batch back (discard,
/// cancel-commit), and the error says which step failed, what the router
/// answered and, when one change is at fault (its edit refused, its
/// expectations not met), which: [`Error::Change`] with its index in
/// `changes`. An empty batch is Ok without touching the PE.
pub async fn apply_batch(
    target: &PeTarget,
    quirks: &Quirks,
    changes: &[Rendered],
) -> Result<(), Error> {
    apply_batch_with(target, quirks, changes, &ApplyOptions::default()).await
}

/// [`apply_batch`] with explicit timeouts.
pub async fn apply_batch_with(
    target: &PeTarget,
    quirks: &Quirks,
    changes: &[Rendered],
    opts: &ApplyOptions,
) -> Result<(), Error> {
    if changes.is_empty() {
        return Ok(());
    }
    let pe = pool::pe(target);
    let mut slot = pe.gate.lock().await;

    let started = Instant::now();
    let mut fresh = false;
    let result = loop {
        let reused = match pool::checkout(&pe, &mut slot, target, opts, fresh).await {
            Ok(reused) => reused,
            Err(e) => break Err(e),
        };
        let Some(conn) = slot.as_mut() else {
            unreachable!("checkout leaves a session in the slot")
        };
        conn.finished = false;
        let outcome =
            transaction::run(&mut conn.session, &conn.cut, target, quirks, changes, opts).await;
        conn.finished = true;
        let Err(failure) = outcome else {
            break Ok(());
        };
        if failure.error.breaks_session() {
            pool::discard(&pe, &mut slot);
            if failure.at_first_rpc && reused && !fresh {
                tracing::info!(pe = %target.name, error = %failure.error,
                    "pooled session is gone, opening a new one");
                fresh = true;
                continue;
            }
        }
        break Err(failure.error);
    };
    let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
    match &result {
        Ok(()) => tracing::info!(
            pe = %target.name,
            changes = changes.len(),
            elapsed_ms,
            "changes applied and verified"
        ),
        Err(e) => tracing::warn!(
            pe = %target.name,
            changes = changes.len(),
            elapsed_ms,
            error = %e,
            "changes not applied"
        ),
    }
    result
}

/// The running configuration (the content of `<data>`), for tests and drift
/// checks. Uses the PE's pooled session (and waits for the push in progress
/// on it, if any).
pub async fn get_running(target: &PeTarget) -> Result<String, Error> {
    get_running_with(target, &ApplyOptions::default()).await
}

/// [`get_running`] with explicit timeouts.
pub async fn get_running_with(target: &PeTarget, opts: &ApplyOptions) -> Result<String, Error> {
    let pe = pool::pe(target);
    let mut slot = pe.gate.lock().await;
    let mut fresh = false;
    loop {
        let reused = pool::checkout(&pe, &mut slot, target, opts, fresh).await?;
        let Some(conn) = slot.as_mut() else {
            unreachable!("checkout leaves a session in the slot")
        };
        conn.finished = false;
        let result = conn
            .session
            .get_config(Datastore::Running, None)
            .await
            .map_err(|e| Error::from_netconf(STEP_GET_RUNNING, &target.name, e));
        conn.finished = true;
        match result {
            Err(e) if e.breaks_session() => {
                pool::discard(&pe, &mut slot);
                if reused && !fresh {
                    fresh = true;
                    continue;
                }
                return Err(e);
            }
            other => return other,
        }
    }
}

/// How this process's sessions to the target's PE (its host and port) have
/// been used: connects, reconnects, reuses, the open session's id.
pub fn session_stats(target: &PeTarget) -> SessionStats {
    pool::stats(target)
}

/// Closes every pooled session with `<close-session>` (for a graceful
/// shutdown; the next push opens a new one). Waits for pushes in progress.
pub async fn close_sessions() {
    pool::close_all(Duration::from_secs(2)).await
}
