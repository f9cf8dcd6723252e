//! One writer loop per PE. Every worker process runs a loop for every PE;
//! the PE's lease lets exactly one of them push at a time. The holder keeps
//! the lease by heartbeat, also while a long commit runs, so a killed
//! process stalls its PEs for one lease (seconds), and another process's
//! loop takes over with the queue as it stands: a change is settled in the
//! transaction that records its outcome, so it is never lost, and one that
//! was pushed but not recorded is found on the PE and re-validated.
//!
//! ```text
//!  try lease ──no──> wait (lease/2, or a wake) ──┐
//!     │ yes                                      │
//!     v                                          │
//!  drain(batch) ─ changes ─> tune batch, drain again
//!     │ none         │ transient: note it on the waiting connectors, back off
//!     v              v
//!  wait for a wake or the idle look; renew when due; lost lease ──> back to the top
//! ```

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use onramp_store::entity::pe_change;
use onramp_store::{connectors, inventory, pe_changes};
use uuid::Uuid;

use super::{Drained, PeWriter, Transient};

/// How often an idle holder looks at the queue for changes queued by
/// other processes (its own process wakes it at once).
const IDLE_LOOK: Duration = Duration::from_millis(100);
/// How often the loops look for PEs added to the inventory.
const NEW_PES: Duration = Duration::from_secs(2);
/// A commit costs a large fixed part (the router re-validates its whole
/// datastore, twice with the confirmed commit) and a small part per change
/// (docs/decisions/0012). While a full batch still costs more than this per
/// change, the next batch may be twice as large...
const TARGET_PER_CHANGE: Duration = Duration::from_millis(10);
/// ...unless a push took longer than this: then halve it, so the first
/// change of a batch never waits behind an unbounded commit.
const MAX_PUSH: Duration = Duration::from_secs(10);
const MIN_BATCH: u64 = 10;
const MAX_BATCH: u64 = 2_000;

/// Starts a writer loop for every PE, and for PEs added later, until
/// `shutdown` fires.
pub(crate) async fn run_owners(
    writer: Arc<PeWriter>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut started: HashSet<Uuid> = HashSet::new();
    let mut loops = tokio::task::JoinSet::new();
    loop {
        match inventory::pe_ids(&writer.db).await {
            Ok(ids) => {
                for id in ids {
                    if started.insert(id) {
                        loops.spawn(own(writer.clone(), id, shutdown.clone()));
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "listing PEs for the writers failed; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(NEW_PES) => {}
            _ = shutdown.changed() => break,
        }
    }
    while loops.join_next().await.is_some() {}
}

/// The batch size for the next drain, from what the last one cost.
pub(crate) fn next_batch(current: u64, drained: &Drained) -> u64 {
    if drained.pushed == 0 {
        return current;
    }
    let per_change = drained.push_time / drained.pushed as u32;
    if drained.push_time > MAX_PUSH {
        (current / 2).max(MIN_BATCH)
    } else if drained.taken as u64 >= current && per_change > TARGET_PER_CHANGE {
        // The queue filled the batch, and the fixed cost still dominates.
        (current * 2).min(MAX_BATCH)
    } else {
        current
    }
}

async fn own(writer: Arc<PeWriter>, pe_id: Uuid, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let waker = writer.waker(pe_id);
    let mut batch = super::FIRST_BATCH;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let held = pe_changes::try_lease(&writer.db, pe_id, &writer.holder, writer.lease).await;
        if !matches!(held, Ok(true)) {
            if let Err(e) = held {
                tracing::warn!(pe = %pe_id, error = %e, "taking the PE writer lease failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(writer.lease / 2) => {}
                _ = shutdown.changed() => {}
            }
            continue;
        }
        let mut pe = match inventory::pe(&writer.db, pe_id).await {
            Ok(pe) => pe,
            Err(e) => {
                tracing::warn!(pe = %pe_id, error = %e, "reading the PE failed");
                let _ = pe_changes::release_lease(&writer.db, pe_id, &writer.holder).await;
                tokio::time::sleep(writer.lease / 2).await;
                continue;
            }
        };
        tracing::info!(pe = %pe.name, writer = %writer.holder, "PE writer lease taken");
        let mut renewed = Instant::now();
        // The backoff of a failure streak, if the PE is failing.
        let mut failing: Option<Duration> = None;
        // While the PE is in maintenance: how many held changes the waiting
        // connectors were last told about.
        let mut held: Option<usize> = None;
        loop {
            if *shutdown.borrow() {
                let _ = pe_changes::release_lease(&writer.db, pe_id, &writer.holder).await;
                return;
            }
            // Read every turn, so that an operator's edit of the PE (its
            // address, its credentials, a maintenance starting or ending)
            // takes effect at once, not at the next lease.
            match inventory::pe(&writer.db, pe_id).await {
                Ok(now) => pe = now,
                Err(e) => tracing::warn!(pe = %pe.name, error = %e, "reading the PE failed"),
            }
            if pe.maintenance_since.is_some() {
                held = Some(hold(&writer, &pe, held).await);
                tokio::select! {
                    _ = tokio::time::sleep(IDLE_LOOK) => {}
                    _ = shutdown.changed() => {}
                }
                if !renew(&writer, &pe, &mut renewed).await {
                    break;
                }
                continue;
            }
            if held.take().is_some() {
                tracing::info!(pe = %pe.name, "PE maintenance over; pushing what waited");
                if let Ok(queued) = pe_changes::queued(&writer.db, pe.id).await {
                    mark_held(&writer, &queued, None).await;
                }
            }
            let (drained, lost) =
                with_heartbeat(&writer, pe_id, &mut renewed, writer.drain(&pe, batch)).await;
            if lost {
                // Another process may hold the PE now; never push beside it.
                tracing::warn!(pe = %pe.name, "PE writer lease lost during a push; standing down");
                break;
            }
            let pause = match drained {
                Ok(d) if d.taken > 0 => {
                    if failing.take().is_some() {
                        tracing::info!(pe = %pe.name, "PE reachable again");
                    }
                    batch = next_batch(batch, &d);
                    continue;
                }
                Ok(_) => IDLE_LOOK,
                Err(Transient(reason)) => {
                    let backoff = match failing {
                        None => {
                            note_waiting(&writer, &pe, &reason).await;
                            Duration::from_millis(500)
                        }
                        Some(b) => (b * 2).min(Duration::from_secs(10)),
                    };
                    tracing::warn!(pe = %pe.name, %reason, retry_ms = backoff.as_millis() as u64, "PE push failed; retrying");
                    failing = Some(backoff);
                    backoff
                }
            };
            tokio::select! {
                _ = waker.notified(), if failing.is_none() => {}
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.changed() => {}
            }
            if !renew(&writer, &pe, &mut renewed).await {
                break;
            }
        }
    }
}

/// Renews the lease when a third of it has passed; false once it is lost.
async fn renew(
    writer: &PeWriter,
    pe: &onramp_store::entity::pe_router::Model,
    renewed: &mut Instant,
) -> bool {
    if renewed.elapsed() < writer.lease / 3 {
        return true;
    }
    match pe_changes::fence(&writer.db, pe.id, &writer.holder, writer.lease).await {
        Ok(true) => *renewed = Instant::now(),
        Ok(false) => {
            tracing::warn!(pe = %pe.name, "PE writer lease lost; another process may hold it");
            return false;
        }
        Err(e) => {
            tracing::warn!(pe = %pe.name, error = %e, "renewing the PE writer lease failed");
        }
    }
    true
}

/// A turn of a PE in maintenance: nothing is pushed, and the connectors
/// whose changes wait are told why, and that they wait on ops, whenever
/// the queue changed (not every turn). The operator's reason stays with the
/// operators. Returns the number of held changes.
async fn hold(
    writer: &PeWriter,
    pe: &onramp_store::entity::pe_router::Model,
    told: Option<usize>,
) -> usize {
    // Every queued change, also a refused teardown put back until later:
    // the maintenance holds it too.
    let queued = pe_changes::queued(&writer.db, pe.id)
        .await
        .unwrap_or_default();
    let held = queued.len();
    if told != Some(held) {
        if told.is_none() {
            tracing::info!(pe = %pe.name, held, reason = pe.maintenance_reason.as_deref().unwrap_or(""),
                "PE in maintenance; holding its changes");
        }
        let why = format!(
            "waiting for PE {}: it is in planned maintenance; the change goes out when the maintenance ends",
            pe.name
        );
        mark_held(writer, &queued, Some(&why)).await;
    }
    held
}

/// Tells each connector whose change waits for the PE that it waits on the
/// operator's staff, and why (`Some`), or that it is the router's again.
async fn mark_held(writer: &PeWriter, queued: &[pe_change::Model], why: Option<&str>) {
    for ch in queued {
        if crate::settle::link_of(&ch.op).is_some() {
            continue;
        }
        if let Err(e) = connectors::set_held(&writer.db, ch.connector_id, ch.step, why).await {
            tracing::warn!(connector = %ch.connector_id, error = %e, "noting a held change failed");
        }
    }
}

/// Runs `work` while renewing the PE's lease every third of its length, so
/// a commit that takes longer than the lease does not lose it. Also says
/// whether the lease was lost meanwhile.
///
/// The heartbeat runs as a task of its own: on PostgreSQL its renewal
/// waits for the row lock the drain's settle transaction holds on the PE,
/// so run inside the drain's task it would wait for a transaction that
/// cannot progress until it returns.
async fn with_heartbeat<T>(
    writer: &Arc<PeWriter>,
    pe_id: Uuid,
    renewed: &mut Instant,
    work: impl Future<Output = T>,
) -> (T, bool) {
    let lost = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let last = Arc::new(std::sync::Mutex::new(*renewed));
    let heartbeat = tokio::spawn({
        let writer = writer.clone();
        let (lost, last) = (lost.clone(), last.clone());
        let first = (writer.lease / 3).saturating_sub(renewed.elapsed());
        async move {
            tokio::time::sleep(first).await;
            loop {
                match pe_changes::fence(&writer.db, pe_id, &writer.holder, writer.lease).await {
                    Ok(true) => {
                        *last
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner) = Instant::now()
                    }
                    // The settle at the end of the drain checks again and
                    // leaves the batch to the next holder.
                    Ok(false) => {
                        lost.store(true, std::sync::atomic::Ordering::SeqCst);
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(pe = %pe_id, error = %e, "renewing the PE writer lease failed");
                    }
                }
                tokio::time::sleep(writer.lease / 3).await;
            }
        }
    });
    let out = work.await;
    heartbeat.abort();
    let _ = heartbeat.await;
    *renewed = *last
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    (out, lost.load(std::sync::atomic::Ordering::SeqCst))
}

/// Tells each connector with a change queued for the PE why it is still
/// waiting, once per failure streak (the customer sees "retrying: ...").
async fn note_waiting(
    writer: &PeWriter,
    pe: &onramp_store::entity::pe_router::Model,
    reason: &str,
) {
    let Ok(queued) = pe_changes::pending(&writer.db, pe.id, MAX_BATCH).await else {
        return;
    };
    for ch in queued {
        if crate::settle::link_of(&ch.op).is_some() {
            continue;
        }
        let note = format!("waiting for PE {}: {reason}", pe.name);
        let _ = connectors::set_last_error(&writer.db, ch.connector_id, ch.step, &note).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drained(taken: usize, pushed: usize, ms: u64) -> Drained {
        Drained {
            taken,
            pushed,
            push_time: Duration::from_millis(ms),
        }
    }

    #[test]
    fn a_full_batch_that_costs_much_per_change_doubles_the_next() {
        // 2,000 attachments: 100 changes in 3.8 s, 38 ms each.
        assert_eq!(next_batch(100, &drained(100, 100, 3_800)), 200);
        // Most of it refused before the push: still 11 ms per pushed change.
        assert_eq!(next_batch(1_500, &drained(1_500, 900, 9_900)), MAX_BATCH);
    }

    #[test]
    fn a_batch_the_queue_did_not_fill_or_that_is_cheap_stays() {
        assert_eq!(next_batch(100, &drained(40, 40, 3_000)), 100);
        assert_eq!(next_batch(100, &drained(100, 100, 500)), 100);
        assert_eq!(next_batch(100, &drained(100, 0, 0)), 100);
    }

    #[test]
    fn a_push_past_the_bound_halves_the_next() {
        assert_eq!(next_batch(400, &drained(400, 400, 12_000)), 200);
        assert_eq!(next_batch(15, &drained(15, 15, 12_000)), MIN_BATCH);
    }
}
