//! Pushes one rendered change to a PE router over NETCONF (rustnetconf over
//! SSH), as a transaction on the candidate datastore, and proves it landed by
//! reading running back (DESIGN.md rule 5c):
//!
//! ```text
//!  lock candidate ─> discard-changes ─> edit-config ─> [validate] ─> commit confirmed
//!       │ lock-denied: retried             (payload)    (unless the     │
//!       │ until ApplyOptions::lock_wait                 platform quirk) v
//!       v                                         get-config running, check expectations
//!  Error (retryable)                                                     │
//!                                               ok: confirming commit ─> unlock
//!                                     any failure: cancel-commit (if pending),
//!                                                  discard-changes, unlock
//! ```
//!
//! One writer per PE: pushes from this process to the same PE queue on an
//! in-process gate, and the candidate lock keeps other processes out (a
//! lock-denied answer that outlasts `lock_wait` comes back retryable).
//!
//! Every push is a declarative merge or remove, so retrying after an unknown
//! outcome (timeout, lost session) is safe. A removal whose parent is already
//! gone on the router (a redelivered delete) succeeds without a commit once
//! running is checked to lack everything it removes.

mod error;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use rustnetconf::capability::uri;
use rustnetconf::transport::ssh::HostKeyVerification;
use rustnetconf::{Client, Datastore};

pub use error::Error;
pub use onramp_router_templates::{DefaultOperation, Expectation, Quirks, Rendered};

pub(crate) const STEP_CONNECT: &str = "connect";
const STEP_CAPABILITIES: &str = "capabilities";
const STEP_FIRST_RPC: &str = "first-rpc";
const STEP_LOCK: &str = "lock";
const STEP_DISCARD: &str = "discard-changes";
const STEP_EDIT: &str = "edit-config";
const STEP_VALIDATE: &str = "validate";
const STEP_COMMIT_CONFIRMED: &str = "commit-confirmed";
const STEP_GET_RUNNING: &str = "get-config";
const STEP_COMMIT_CONFIRMING: &str = "commit-confirming";

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
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            rpc_timeout: Duration::from_secs(30),
            confirm_timeout_secs: 120,
            lock_wait: Duration::from_secs(5),
        }
    }
}

/// Applies one rendered change transactionally (see the crate docs for the
/// steps). On any failure the candidate is discarded, a pending confirmed
/// commit is cancelled, the lock released, and the error says which step
/// failed and what the router answered.
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
    let gate = pe_gate(target);
    let _turn = gate.lock().await;

    let started = Instant::now();
    let mut client = connect(target, opts).await?;
    let result = transaction(&mut client, target, quirks, change, opts).await;
    let _ = client.close_session().await;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    match &result {
        Ok(()) => tracing::info!(pe = %target.name, elapsed_ms, "change applied and verified"),
        Err(e) => tracing::warn!(pe = %target.name, elapsed_ms, error = %e, "change not applied"),
    }
    result
}

/// The running configuration (the content of `<data>`), for tests and drift
/// checks.
pub async fn get_running(target: &PeTarget) -> Result<String, Error> {
    get_running_with(target, &ApplyOptions::default()).await
}

/// [`get_running`] with explicit timeouts.
pub async fn get_running_with(target: &PeTarget, opts: &ApplyOptions) -> Result<String, Error> {
    let mut client = connect(target, opts).await?;
    let result = client
        .get_config(Datastore::Running)
        .await
        .map_err(|e| Error::from_netconf(STEP_GET_RUNNING, &target.name, e));
    let _ = client.close_session().await;
    result
}

// ===== transaction =====

async fn connect(target: &PeTarget, opts: &ApplyOptions) -> Result<Client, Error> {
    let policy = match &target.host_key_fingerprint {
        Some(fp) => HostKeyVerification::Fingerprint(fp.clone()),
        None => HostKeyVerification::RejectAll,
    };
    let address = if target.host.contains(':') {
        format!("[{}]:{}", target.host, target.port)
    } else {
        format!("{}:{}", target.host, target.port)
    };
    let connecting = Client::connect(&address)
        .username(&target.username)
        .password(&target.password)
        .host_key_verification(policy)
        .gather_facts(false)
        .rpc_timeout(opts.rpc_timeout)
        .connect();
    let mut client = match tokio::time::timeout(opts.connect_timeout, connecting).await {
        Err(_) => {
            return Err(Error::Timeout {
                step: STEP_CONNECT,
                after: opts.connect_timeout,
            });
        }
        Ok(Err(e)) => return Err(Error::from_netconf(STEP_CONNECT, &target.name, e)),
        Ok(Ok(client)) => client,
    };
    for (cap, what) in [
        (uri::CANDIDATE, ":candidate"),
        (
            uri::CONFIRMED_COMMIT_1_1,
            ":confirmed-commit:1.1 (for cancel-commit)",
        ),
    ] {
        if !client.supports(cap) {
            return Err(Error::Protocol {
                step: STEP_CAPABILITIES,
                detail: format!("PE {} does not advertise {what}", target.name),
            });
        }
    }
    first_exchange(&mut client, target, opts).await?;
    Ok(client)
}

/// netconfd 2.13 drops into a wait when the client's `<hello>` and its first
/// `<rpc>` reach it in one read (likely under load: the client may send the
/// RPC as soon as it has the server's hello): it handles the hello and leaves
/// the RPC in its buffer until more bytes arrive. So the first exchange is a
/// harmless `<get>` with an empty filter, re-sent with a short timeout until
/// one is answered: each new probe pushes the stuck one through, and the
/// stale replies are drained by message-id. After that the client only sends
/// after a reply, so nothing else can coalesce. Costs one round trip.
async fn first_exchange(
    client: &mut Client,
    target: &PeTarget,
    opts: &ApplyOptions,
) -> Result<(), Error> {
    let deadline = Instant::now() + opts.connect_timeout;
    let mut wait = Duration::from_millis(200);
    loop {
        match tokio::time::timeout(wait, client.get(Some(""))).await {
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

async fn transaction(
    client: &mut Client,
    target: &PeTarget,
    quirks: &Quirks,
    change: &Rendered,
    opts: &ApplyOptions,
) -> Result<(), Error> {
    lock_candidate(client, target, opts).await?;
    let mut confirmed_pending = false;
    match steps(client, target, quirks, change, opts, &mut confirmed_pending).await {
        Ok(outcome) => {
            if outcome == Outcome::AlreadyInPlace {
                // Nothing was committed; drop the refused edit.
                if let Err(e) = client.discard_changes().await {
                    tracing::warn!(pe = %target.name, error = %e, "discard-changes failed");
                }
            }
            // The lock also dies with the session.
            if let Err(e) = client.unlock(Datastore::Candidate).await {
                tracing::warn!(pe = %target.name, error = %e, "unlock failed");
            }
            Ok(())
        }
        Err(e) => {
            roll_back(client, target, confirmed_pending).await;
            Err(e)
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Committed,
    /// A removal whose target's parent is already gone: nothing to do.
    AlreadyInPlace,
}

async fn steps(
    client: &mut Client,
    target: &PeTarget,
    quirks: &Quirks,
    change: &Rendered,
    opts: &ApplyOptions,
    confirmed_pending: &mut bool,
) -> Result<Outcome, Error> {
    let pe = target.name.as_str();
    let err = |step: &'static str| move |e| Error::from_netconf(step, pe, e);

    // Leftovers of a session that died before committing.
    client.discard_changes().await.map_err(err(STEP_DISCARD))?;
    let edited = client
        .edit_config(Datastore::Candidate)
        .config(&change.config_xml)
        .default_operation(default_operation(change.default_operation))
        .send()
        .await
        .map_err(err(STEP_EDIT));
    if let Err(e) = edited {
        // With default-operation "none", removing something under a parent
        // the router does not have is refused as data-missing. If the change
        // only removes things and running already lacks all of them (a
        // redelivered delete, or one for a create that never reached this
        // PE), the desired state holds: succeed without a commit.
        if e.rpc_tag() == Some("data-missing")
            && change.default_operation == DefaultOperation::None
            && !change.expectations.is_empty()
            && change
                .expectations
                .iter()
                .all(|x| matches!(x, Expectation::Absent { .. }))
        {
            let running = read_running(client, change)
                .await
                .map_err(err(STEP_GET_RUNNING))?;
            if change.verify(&running).is_ok() {
                tracing::info!(pe, "nothing to remove: already absent");
                return Ok(Outcome::AlreadyInPlace);
            }
        }
        return Err(e);
    }
    if !quirks.skip_explicit_validate {
        client
            .validate(Datastore::Candidate)
            .await
            .map_err(err(STEP_VALIDATE))?;
    }
    // Set first: after a timeout the router may hold a pending commit.
    *confirmed_pending = true;
    client
        .confirmed_commit(opts.confirm_timeout_secs)
        .await
        .map_err(err(STEP_COMMIT_CONFIRMED))?;

    let running = read_running(client, change)
        .await
        .map_err(err(STEP_GET_RUNNING))?;
    change.verify(&running).map_err(|f| Error::Verify {
        expectation: f.expectation,
        running_excerpt: f.running_excerpt,
    })?;

    client
        .confirming_commit()
        .await
        .map_err(err(STEP_COMMIT_CONFIRMING))?;
    *confirmed_pending = false;
    Ok(Outcome::Committed)
}

/// Running, restricted to the top-level containers the change touches.
async fn read_running(
    client: &mut Client,
    change: &Rendered,
) -> Result<String, rustnetconf::NetconfError> {
    match change.running_filter() {
        Some(filter) => {
            client
                .get_config_filtered(Datastore::Running, &filter)
                .await
        }
        None => client.get_config(Datastore::Running).await,
    }
}

async fn lock_candidate(
    client: &mut Client,
    target: &PeTarget,
    opts: &ApplyOptions,
) -> Result<(), Error> {
    let deadline = Instant::now() + opts.lock_wait;
    let mut backoff = Duration::from_millis(25);
    loop {
        let e = match client.lock(Datastore::Candidate).await {
            Ok(()) => return Ok(()),
            Err(e) => Error::from_netconf(STEP_LOCK, &target.name, e),
        };
        if e.rpc_tag() != Some("lock-denied") || Instant::now() + backoff > deadline {
            return Err(e);
        }
        tracing::debug!(pe = %target.name, "candidate locked by another session, waiting");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_millis(400));
    }
}

/// Best effort: each step is tried even if the previous one failed. If the
/// cancel cannot be sent, the router still rolls the confirmed commit back
/// when this session closes (RFC 6241 8.4) or the confirm timeout expires.
async fn roll_back(client: &mut Client, target: &PeTarget, confirmed_pending: bool) {
    let pe = target.name.as_str();
    if confirmed_pending {
        match client.cancel_commit(None).await {
            Ok(()) => tracing::info!(pe, "confirmed commit cancelled, running rolled back"),
            Err(e) => {
                tracing::warn!(pe, error = %e, "cancel-commit failed; the router rolls back on session close")
            }
        }
    }
    if let Err(e) = client.discard_changes().await {
        tracing::warn!(pe, error = %e, "discard-changes during rollback failed");
    }
    if let Err(e) = client.unlock(Datastore::Candidate).await {
        tracing::warn!(pe, error = %e, "unlock during rollback failed");
    }
}

fn default_operation(op: DefaultOperation) -> rustnetconf::DefaultOperation {
    match op {
        DefaultOperation::Merge => rustnetconf::DefaultOperation::Merge,
        DefaultOperation::Replace => rustnetconf::DefaultOperation::Replace,
        DefaultOperation::None => rustnetconf::DefaultOperation::None,
    }
}

/// The in-process queue of pushes to one PE.
fn pe_gate(target: &PeTarget) -> Arc<tokio::sync::Mutex<()>> {
    type Gates = Mutex<HashMap<(String, u16), Arc<tokio::sync::Mutex<()>>>>;
    static GATES: OnceLock<Gates> = OnceLock::new();
    let mut gates = GATES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    gates
        .entry((target.host.clone(), target.port))
        .or_default()
        .clone()
}
