//! The PE writer: one loop per PE ([`owner`]), held by the PE's lease in
//! exactly one worker process, pushes every change queued for that PE. Each
//! change is validated twice before it may go (semantic checks against the
//! PE's running config folded with the changes before it in the batch, then
//! libyang against the platform's modules); what passes goes in ONE NETCONF
//! commit, which the adapter verifies by reading running back (the third
//! validation). The outcome of every change, and the transition it causes
//! to its connector, commit in one transaction.
//!
//! ```text
//!  job of connector a: queue change a, ack ─┐                      ┌─> a: done + a's transition + next job
//!  job of connector b: queue change b, ack ─┼─> PE's writer loop ─> batch [a, b, c] ─> one commit
//!  job of link l:      queue change c, ack ─┘   (lease, heartbeat)  └─> c: failed + reason + l's job
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use onramp_pe_netconf::PeTarget;
use onramp_router_templates::{AttachmentIntent, Operation, Platform, Rendered, VrfIntent};
use onramp_router_validate::{
    PeFacts, ValidationError, YangValidator, validate_change, validate_vrf_delete,
};
use onramp_store::DatabaseConnection;
use onramp_store::entity::{pe_change, pe_router};
use onramp_store::pe_changes::{self, FAILED};
use onramp_store::secrets::SecretBox;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tracing::Instrument;
use uuid::Uuid;

use crate::router_push::RouterOutcome;

pub(crate) mod owner;

/// Most changes taken for one commit before the loop has measured the PE.
const FIRST_BATCH: u64 = 100;

pub(crate) struct PeWriter {
    db: DatabaseConnection,
    secrets: SecretBox,
    templates_root: std::path::PathBuf,
    holder: String,
    lease: Duration,
    platforms: Mutex<HashMap<String, Arc<Loaded>>>,
    /// Wakes the loop of a PE when this process queues a change for it;
    /// loops in other processes find it by their idle look at the queue.
    wakers: Mutex<HashMap<Uuid, Arc<Notify>>>,
    /// Refusals of a teardown change after which it goes to people.
    stuck_after: i32,
}

/// What one drain did, for tuning the batch size.
#[derive(Debug, Default)]
pub(crate) struct Drained {
    /// Changes taken from the queue (settled either way).
    pub(crate) taken: usize,
    /// Changes that went to the router in the commit.
    pub(crate) pushed: usize,
    /// How long the NETCONF part took (edits, commit, read-back).
    pub(crate) push_time: Duration,
}

struct Loaded {
    platform: Platform,
    /// None when the platform ships no YANG modules (e.g. openconfig, which
    /// netconfd cannot load); the device still validates on commit.
    yang: Option<YangValidator>,
}

enum Prepared {
    /// One change may take several edits (a link move: detach the
    /// attachment from one VRF, create it in another), all in the same
    /// commit, so the BGP session flaps once.
    Push(Vec<Rendered>),
    NothingToRemove,
}

/// Queue ops of link changes start with these; the rest of the op name
/// makes the (owner, step, op) key unique (several PEs or legs per step).
pub(crate) const MOVE_OP: &str = "move";
pub(crate) const VRF_DELETE_OP: &str = "vrf-delete";

/// A link move's payload: one attachment out of one VRF (detached: the unit
/// stays) and into another, on one PE.
#[derive(Serialize, Deserialize)]
pub(crate) struct MovePayload {
    pub(crate) remove: AttachmentIntent,
    pub(crate) create: AttachmentIntent,
}

/// Whether any unit or BGP neighbor on the PE is tagged with the connector.
fn carries_anything_of(facts: &PeFacts, connector_id: &str) -> bool {
    let ours = |d: &Option<String>| d.as_deref().is_some_and(|d| d.contains(connector_id));
    facts.units.iter().any(|u| ours(&u.description))
        || facts.neighbors.iter().any(|n| ours(&n.description))
}

/// Why a drain did not finish; the queued changes stay pending.
pub(crate) struct Transient(pub String);

pub(crate) fn op_name(op: Operation) -> &'static str {
    op.as_str()
}

impl PeWriter {
    pub(crate) fn new(
        db: DatabaseConnection,
        secrets: SecretBox,
        templates_root: std::path::PathBuf,
        holder: String,
        lease: Duration,
    ) -> Self {
        Self {
            db,
            secrets,
            templates_root,
            holder,
            lease,
            platforms: Mutex::new(HashMap::new()),
            wakers: Mutex::new(HashMap::new()),
            stuck_after: 8,
        }
    }

    /// Hands a teardown change the router refused `n` times to people
    /// instead of asking the router again.
    pub(crate) fn with_stuck_after(mut self, n: u32) -> Self {
        self.stuck_after = i32::try_from(n).unwrap_or(i32::MAX);
        self
    }

    pub(crate) fn stuck_after(&self) -> i32 {
        self.stuck_after
    }

    fn waker(&self, pe_id: Uuid) -> Arc<Notify> {
        let mut w = self
            .wakers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        w.entry(pe_id).or_default().clone()
    }

    /// Tells the PE's loop (if it runs in this process) that a change is
    /// queued.
    pub(crate) fn wake(&self, pe_id: Uuid) {
        self.waker(pe_id).notify_one();
    }

    fn platform(&self, name: &str) -> Result<Arc<Loaded>, String> {
        let mut cache = self
            .platforms
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(p) = cache.get(name) {
            return Ok(p.clone());
        }
        let platform = Platform::load(&self.templates_root, name).map_err(|e| e.to_string())?;
        let yang = match YangValidator::for_platform(&platform) {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::warn!(platform = name, error = %e, "no YANG validation for this platform");
                None
            }
        };
        let loaded = Arc::new(Loaded { platform, yang });
        cache.insert(name.to_string(), loaded.clone());
        Ok(loaded)
    }

    /// Seals the intent so the BGP key is not stored in clear in the queue.
    pub(crate) fn seal(&self, intent: &impl Serialize) -> String {
        self.secrets
            .seal(&serde_json::to_string(intent).expect("intent serializes"))
    }

    /// If the PE's lease is free, takes it, pushes what is queued and lets go.
    /// Ok(false) when another writer holds it.
    #[cfg(test)]
    pub(crate) async fn drain_if_free(&self, pe: &pe_router::Model) -> Result<bool, Transient> {
        let got = pe_changes::try_lease(&self.db, pe.id, &self.holder, self.lease)
            .await
            .map_err(|e| Transient(e.to_string()))?;
        if !got {
            return Ok(false);
        }
        let result = self.drain(pe, FIRST_BATCH).await;
        if let Err(e) = pe_changes::release_lease(&self.db, pe.id, &self.holder).await {
            tracing::warn!(pe = %pe.name, error = %e, "releasing the PE lease failed; it will expire");
        }
        result.map(|_| true)
    }

    /// Whether the PE's running config carries a BGP neighbor at `address`
    /// with `peer_as` (in any VRF): what a ticket provider's BGP check can
    /// see on a platform without operational BGP state (the reference PE's
    /// model is config only). Read-only; takes no lease.
    pub(crate) async fn neighbor_configured(
        &self,
        pe: &pe_router::Model,
        address: &str,
        peer_as: u32,
    ) -> Result<bool, Transient> {
        let target = self.target(pe)?;
        let loaded = self.platform(&pe.platform).map_err(Transient)?;
        let running = onramp_pe_netconf::get_running(&target)
            .await
            .map_err(|e| Transient(format!("PE {}: reading running: {e}", pe.name)))?;
        let facts = PeFacts::from_running(&loaded.platform, &running)
            .map_err(|e| Transient(format!("PE {}: reading running: {e}", pe.name)))?;
        Ok(facts
            .neighbors
            .iter()
            .any(|n| n.address == address && n.peer_as == Some(peer_as)))
    }

    fn target(&self, pe: &pe_router::Model) -> Result<PeTarget, Transient> {
        Ok(PeTarget {
            name: pe.name.clone(),
            host: pe.host.clone(),
            port: pe.port as u16,
            username: pe.username.clone(),
            password: self
                .secrets
                .open(&pe.password)
                .map_err(|e| Transient(format!("PE {} credentials: {e}", pe.name)))?,
            host_key_fingerprint: pe.host_key_fingerprint.clone(),
        })
    }

    /// Takes up to `limit` queued changes of the PE, validates them, pushes
    /// what passes in one commit, and settles every one of them (and its
    /// owner) in one transaction. The caller holds the PE's lease.
    pub(crate) async fn drain(
        &self,
        pe: &pe_router::Model,
        limit: u64,
    ) -> Result<Drained, Transient> {
        let queued = pe_changes::pending(&self.db, pe.id, limit)
            .await
            .map_err(|e| Transient(e.to_string()))?;
        if queued.is_empty() {
            return Ok(Drained::default());
        }
        let taken = queued.len();
        let target = self.target(pe)?;
        let loaded = match self.platform(&pe.platform) {
            Ok(l) => l,
            Err(e) => {
                // Every change for this PE fails the same way.
                let reason = format!("PE {}: {e}", pe.name);
                let settled = queued
                    .into_iter()
                    .map(|ch| (ch, RouterOutcome::Refused(reason.clone())))
                    .collect();
                self.settle(pe, settled, None).await?;
                return Ok(Drained {
                    taken,
                    ..Default::default()
                });
            }
        };
        let running = onramp_pe_netconf::get_running(&target)
            .await
            .map_err(|e| Transient(format!("PE {}: reading running: {e}", pe.name)))?;
        // Each change is checked against running folded with the changes
        // accepted before it, so two that each fit alone but clash together
        // (the same subnet, neighbor or unit) never go in one commit.
        let mut facts = PeFacts::from_running(&loaded.platform, &running).ok();
        let attachments_before = facts.as_ref().map_or(0, |f| f.units.len());
        let mut batch: Vec<(pe_change::Model, Vec<Rendered>)> = Vec::new();
        let mut settled: Vec<(pe_change::Model, RouterOutcome)> = Vec::new();
        for ch in queued {
            match self.prepare(&loaded, &ch, facts.as_mut()) {
                Ok(Prepared::Push(rendered)) => batch.push((ch, rendered)),
                Ok(Prepared::NothingToRemove) => {
                    tracing::info!(pe = %pe.name, connector = %ch.connector_id, "nothing of this connector on the PE; delete is a no-op");
                    settled.push((ch, RouterOutcome::Done));
                }
                Err(reason) => {
                    tracing::warn!(pe = %pe.name, connector = %ch.connector_id, %reason, "change refused before the push");
                    settled.push((ch, RouterOutcome::Refused(reason)));
                }
            }
        }
        let pushed = batch.len();
        let started = std::time::Instant::now();
        settled.extend(self.push(&target, &loaded.platform, batch).await?);
        let push_time = started.elapsed();
        if pushed > 0 {
            onramp_signals::series::pe_commit(&pe.name, push_time, pushed);
        }
        let record = (pushed > 0).then(|| pe_changes::CommitRecord {
            pe_id: pe.id,
            writer: self.holder.clone(),
            changes: pushed,
            attachments_before,
            push: push_time,
        });
        self.settle(pe, settled, record.as_ref()).await?;
        Ok(Drained {
            taken,
            pushed,
            push_time,
        })
    }

    /// Records each change's outcome and settles its owner, in one
    /// transaction, and only while this writer still holds the PE: a writer
    /// that stalled past its lease leaves the changes pending for the next
    /// holder, which finds them on the PE and re-validates them.
    async fn settle(
        &self,
        pe: &pe_router::Model,
        settled: Vec<(pe_change::Model, RouterOutcome)>,
        commit: Option<&pe_changes::CommitRecord>,
    ) -> Result<(), Transient> {
        let t =
            |e: onramp_store::Error| Transient(format!("recording PE {}'s batch: {e}", pe.name));
        let tx = onramp_store::db::begin_write(&self.db)
            .await
            .map_err(|e| t(e.into()))?;
        if !pe_changes::fence(&tx, pe.id, &self.holder, self.lease)
            .await
            .map_err(t)?
        {
            let _ = tx.rollback().await;
            return Err(Transient(format!(
                "PE {}: the writer lease ran out during the push; the next holder settles the batch",
                pe.name
            )));
        }
        let done: Vec<i64> = settled
            .iter()
            .filter(|(_, o)| *o == RouterOutcome::Done)
            .map(|(ch, _)| ch.id)
            .collect();
        pe_changes::finish_batch(&tx, &done).await.map_err(t)?;
        if let Some(commit) = commit {
            pe_changes::record_commit(&tx, commit).await.map_err(t)?;
        }
        for (ch, outcome) in &settled {
            if let RouterOutcome::Refused(reason) = outcome {
                pe_changes::finish(&tx, ch.id, FAILED, Some(reason.clone()))
                    .await
                    .map_err(t)?;
            }
            // The change's request is current again while its owner is
            // settled: the job that follows carries it on, and the log line
            // of the transition names it.
            let span = tracing::info_span!("pe_change", request_id = tracing::field::Empty);
            if let Some(id) = &ch.request_id {
                span.record("request_id", id.as_str());
            }
            onramp_signals::request_id::scope(
                ch.request_id.clone(),
                crate::settle::settle_change(&tx, ch, outcome),
            )
            .instrument(span)
            .await
            .map_err(t)?;
        }
        tx.commit().await.map_err(|e| t(e.into()))
    }

    /// Render, then the two validations that run before anything is sent.
    /// A change that passes is folded into `facts`, for the next one.
    fn prepare(
        &self,
        loaded: &Loaded,
        ch: &pe_change::Model,
        facts: Option<&mut PeFacts>,
    ) -> Result<Prepared, String> {
        let json = self.secrets.open(&ch.payload).map_err(|e| e.to_string())?;
        let op = match ch.op.as_str() {
            "create" => Operation::Create,
            "delete" => Operation::Delete,
            o if o.starts_with(MOVE_OP) => {
                let mv: MovePayload = serde_json::from_str(&json)
                    .map_err(|e| format!("queued move unreadable: {e}"))?;
                let remove =
                    self.prepare_one(loaded, Operation::Detach, &mv.remove, facts.as_deref())?;
                // The creation is checked with the removal folded in: the
                // unit and session being moved are the same attachment.
                let mut moved = facts.as_deref().cloned();
                if let Some(f) = moved.as_mut() {
                    f.apply(Operation::Detach, &mv.remove);
                }
                let create =
                    self.prepare_one(loaded, Operation::Create, &mv.create, moved.as_ref())?;
                if let (Some(f), Some(moved)) = (facts, moved) {
                    *f = moved;
                    f.apply(Operation::Create, &mv.create);
                }
                return Ok(Prepared::Push(vec![remove, create]));
            }
            o if o.starts_with(VRF_DELETE_OP) => {
                let vrf: VrfIntent = serde_json::from_str(&json)
                    .map_err(|e| format!("queued VRF removal unreadable: {e}"))?;
                let rendered = loaded
                    .platform
                    .render_vrf_delete(&vrf)
                    .map_err(|e| format!("rendering for {}: {e}", loaded.platform.name()))?;
                if let Some(facts) = facts {
                    validate_vrf_delete(
                        &loaded.platform,
                        loaded.yang.as_ref(),
                        &vrf,
                        &rendered,
                        facts,
                    )
                    .map_err(|e| e.to_string())?;
                    facts.apply_vrf_delete(&vrf);
                }
                return Ok(Prepared::Push(vec![rendered]));
            }
            other => return Err(format!("unknown operation {other}")),
        };
        let intent: AttachmentIntent =
            serde_json::from_str(&json).map_err(|e| format!("queued intent unreadable: {e}"))?;
        let rendered = loaded
            .platform
            .render(op, &intent)
            .map_err(|e| format!("rendering for {}: {e}", loaded.platform.name()))?;
        if let Some(facts) = facts {
            let checked = validate_change(
                &loaded.platform,
                loaded.yang.as_ref(),
                op,
                &intent,
                &rendered,
                facts,
            );
            match checked {
                Ok(()) => {}
                // A rollback after a refused create: the objects at our keys
                // belong to someone else and nothing of ours was ever pushed,
                // so there is nothing to remove (and removing would cut them).
                Err(ValidationError::Semantic { violations, .. })
                    if op == Operation::Delete
                        && violations.iter().all(|v| v.code == "not_owned")
                        && !carries_anything_of(facts, &intent.connector_id) =>
                {
                    return Ok(Prepared::NothingToRemove);
                }
                Err(e) => return Err(e.to_string()),
            }
            facts.apply(op, &intent);
        }
        Ok(Prepared::Push(vec![rendered]))
    }

    /// Render and validate one part of a move. Both parts are checked
    /// against running as read before the batch: the removal against the
    /// attachment where it is, the creation against everything else (the
    /// unit and session being moved are the same attachment, by connector
    /// id, so they do not clash with themselves).
    fn prepare_one(
        &self,
        loaded: &Loaded,
        op: Operation,
        intent: &AttachmentIntent,
        facts: Option<&PeFacts>,
    ) -> Result<Rendered, String> {
        let rendered = loaded
            .platform
            .render(op, intent)
            .map_err(|e| format!("rendering for {}: {e}", loaded.platform.name()))?;
        if let Some(facts) = facts {
            validate_change(
                &loaded.platform,
                loaded.yang.as_ref(),
                op,
                intent,
                &rendered,
                facts,
            )
            .map_err(|e| e.to_string())?;
        }
        Ok(rendered)
    }

    /// One commit for the whole batch. A change the router refuses is taken
    /// out (refused, with the router's answer) and the rest is pushed again.
    async fn push(
        &self,
        target: &PeTarget,
        platform: &Platform,
        mut batch: Vec<(pe_change::Model, Vec<Rendered>)>,
    ) -> Result<Vec<(pe_change::Model, RouterOutcome)>, Transient> {
        let mut settled = Vec::new();
        while !batch.is_empty() {
            // Flattened in order; `owner[i]` is the change edit i belongs to.
            let mut rendered: Vec<Rendered> = Vec::new();
            let mut owner: Vec<usize> = Vec::new();
            for (i, (_, parts)) in batch.iter().enumerate() {
                rendered.extend(parts.iter().cloned());
                owner.extend(std::iter::repeat_n(i, parts.len()));
            }
            match onramp_pe_netconf::apply_batch(target, platform.quirks(), &rendered).await {
                Ok(()) => {
                    settled.extend(batch.into_iter().map(|(ch, _)| (ch, RouterOutcome::Done)));
                    return Ok(settled);
                }
                Err(e) if e.is_retryable() => {
                    return Err(Transient(format!("PE {}: {e}", target.name)));
                }
                Err(e) => {
                    let at_fault = match e.change_index().and_then(|i| owner.get(i)) {
                        Some(&i) => i,
                        // Not attributable: push one by one to find out.
                        _ if batch.len() > 1 => {
                            for one in std::mem::take(&mut batch) {
                                settled.extend(
                                    Box::pin(self.push(target, platform, vec![one])).await?,
                                );
                            }
                            return Ok(settled);
                        }
                        _ => 0,
                    };
                    let (ch, _) = batch.remove(at_fault);
                    settled.push((
                        ch,
                        RouterOutcome::Refused(format!("PE {}: {e}", target.name)),
                    ));
                }
            }
        }
        Ok(settled)
    }
}

#[cfg(test)]
mod tests;
