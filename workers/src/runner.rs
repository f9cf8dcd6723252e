//! Pulls jobs, runs them, and settles each message (ack or nak) only after
//! the outcome is committed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{AckKind, Message};
use futures::StreamExt;
use onramp_signals::request_id;
use onramp_signals::series::{self, JobOutcome};
use onramp_store::DatabaseConnection;
use onramp_store::connectors as store;
use onramp_store::jobs::{ConnectorJob, LINK_SUBJECT, LinkJob};
use tokio::sync::Semaphore;
use tracing::Instrument;

use onramp_state_machines::with_kind;

use crate::kinds::{Executors, WorkerKind};
use crate::links::{LinkWorker, Settled};
use crate::pe_writer::PeWriter;
use crate::settle::{Next, transition};
use crate::step::Step;
use crate::{Error, WorkerConfig, queue};

/// Runs jobs until `shutdown` fires.
pub async fn run_worker(
    db: DatabaseConnection,
    cfg: WorkerConfig,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), Error> {
    let js = queue::connect_jetstream(&cfg.nats_url).await?;
    let consumers = queue::ensure_stream_and_consumers(&js, cfg.ack_wait).await?;
    // One writer per process: its platform cache and PE leases are shared
    // by every connector kind.
    let writer = Arc::new(
        PeWriter::new(
            db.clone(),
            cfg.secrets.clone(),
            cfg.templates_root.clone(),
            cfg.worker_id.clone(),
            cfg.pe_lease,
        )
        .with_stuck_after(cfg.stuck_after),
    );
    let owners = tokio::spawn(crate::pe_writer::owner::run_owners(
        writer.clone(),
        shutdown.clone(),
    ));
    let ctx = Arc::new(Ctx {
        executors: Executors::new(&db, &cfg, &writer),
        links: LinkWorker::new(db.clone(), &cfg, writer),
        db,
        cfg: cfg.clone(),
    });
    tracing::info!(worker = %cfg.worker_id, "worker started");
    // Each class of work pulls from its own consumer within its own limit.
    let polls = tokio::spawn(pull(
        "polls",
        consumers.polls,
        cfg.max_polls_in_flight,
        ctx.clone(),
        shutdown.clone(),
    ));
    pull(
        "actions",
        consumers.actions,
        cfg.max_in_flight,
        ctx,
        shutdown,
    )
    .await;
    let _ = polls.await;
    let _ = owners.await;
    Ok(())
}

/// Runs the jobs of one consumer, at most `limit` at a time, until
/// `shutdown` fires; then lets the running ones settle their messages.
async fn pull(
    class: &'static str,
    consumer: async_nats::jetstream::consumer::Consumer<
        async_nats::jetstream::consumer::pull::Config,
    >,
    limit: usize,
    ctx: Arc<Ctx>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(limit));
    loop {
        if *shutdown.borrow() {
            break;
        }
        let want = permits.available_permits().max(1);
        let batch = consumer
            .batch()
            .max_messages(want)
            .expires(Duration::from_secs(1))
            .messages()
            .await;
        let mut batch = match batch {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(class, error = %e, "fetching jobs failed; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        while let Some(msg) = tokio::select! {
            m = batch.next() => m,
            _ = shutdown.changed() => None,
        } {
            let msg = match msg {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(class, error = %e, "receiving a job failed");
                    continue;
                }
            };
            let permit = permits
                .clone()
                .acquire_owned()
                .await
                .expect("semaphore open");
            let ctx = ctx.clone();
            tokio::spawn(async move {
                ctx.handle(msg).await;
                drop(permit);
            });
        }
    }
    let _ = permits.acquire_many(limit as u32).await;
}

struct Ctx {
    db: DatabaseConnection,
    cfg: WorkerConfig,
    executors: Executors,
    links: LinkWorker,
}

enum Settle {
    Ack,
    Nak(Duration),
}

/// How a job is settled, and what that was for the metrics.
type Verdict = (Settle, JobOutcome);

/// The bounded labels of a job's metrics: the connector kind's wire name
/// (or `link`) and the action, as far as the job could be read.
struct JobLabels {
    kind: String,
    action: String,
}

impl Ctx {
    /// Runs one job inside a span carrying the id of the request that
    /// caused it, current for the job's own transitions too, so the jobs
    /// and router changes it causes carry it on.
    async fn handle(&self, msg: Message) {
        let id = msg
            .headers
            .as_ref()
            .and_then(|h| h.get(request_id::JOB_HEADER))
            .map(|v| v.as_str().to_owned())
            .filter(|id| request_id::is_sane(id));
        let span = tracing::info_span!("job", request_id = tracing::field::Empty);
        if let Some(id) = &id {
            span.record("request_id", id.as_str());
        }
        request_id::scope(id, self.handle_in_span(msg))
            .instrument(span)
            .await
    }

    async fn handle_in_span(&self, msg: Message) {
        let started = Instant::now();
        let delivered = msg.info().map(|i| i.delivered).unwrap_or(1);
        let mut labels = JobLabels {
            kind: "unknown".into(),
            action: "unknown".into(),
        };
        let (settle, outcome) = if msg.subject.as_str() == LINK_SUBJECT {
            labels.kind = "link".into();
            labels.action = "reconcile".into();
            self.handle_link(&msg, delivered).await
        } else {
            self.handle_connector(&msg, delivered, &mut labels).await
        };
        series::job(&labels.kind, &labels.action, outcome, started.elapsed());
        let res = match settle {
            Settle::Ack => msg.ack().await,
            Settle::Nak(d) => msg.ack_with(AckKind::Nak(Some(d))).await,
        };
        if let Err(e) = res {
            // The job will be redelivered after ack_wait; actions are idempotent.
            tracing::warn!(error = %e, "settling a job failed");
        }
    }

    async fn handle_link(&self, msg: &Message, delivered: i64) -> Verdict {
        match serde_json::from_slice::<LinkJob>(&msg.payload) {
            Ok(job) => match self.links.run(&job).await {
                Ok(Settled::Ack) => (Settle::Ack, JobOutcome::Done),
                Ok(Settled::Nak(d)) => (Settle::Nak(d), JobOutcome::Waiting),
                Ok(Settled::Retry) => (Settle::Nak(self.backoff(delivered)), JobOutcome::Retry),
                Err(e) => {
                    tracing::warn!(link = %job.link_id, error = %e, "link job failed; will retry");
                    (Settle::Nak(self.backoff(delivered)), JobOutcome::Error)
                }
            },
            Err(e) => {
                tracing::error!(error = %e, "dropping unreadable link job");
                (Settle::Ack, JobOutcome::Dropped)
            }
        }
    }

    async fn handle_connector(
        &self,
        msg: &Message,
        delivered: i64,
        labels: &mut JobLabels,
    ) -> Verdict {
        match serde_json::from_slice::<ConnectorJob>(&msg.payload) {
            Ok(job) => match self.run(&job, delivered, labels).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(connector = %job.connector_id, action = %job.action, error = %e, "job failed; will retry");
                    (Settle::Nak(self.backoff(delivered)), JobOutcome::Error)
                }
            },
            Err(e) => {
                // Retrying cannot fix a payload we cannot read.
                tracing::error!(error = %e, "dropping unreadable job");
                (Settle::Ack, JobOutcome::Dropped)
            }
        }
    }

    fn backoff(&self, delivered: i64) -> Duration {
        let exp = delivered.clamp(1, 10) as u32 - 1;
        Duration::from_millis(500u64 << exp).min(self.cfg.max_backoff)
    }

    async fn run(
        &self,
        job: &ConnectorJob,
        delivered: i64,
        labels: &mut JobLabels,
    ) -> Result<Verdict, onramp_store::Error> {
        let Some(row) = store::get(&self.db, job.connector_id).await? else {
            tracing::warn!(connector = %job.connector_id, "job for unknown connector; dropping");
            return Ok((Settle::Ack, JobOutcome::Dropped));
        };
        let kind = match row.connector_kind() {
            Ok(k) => k,
            Err(e) => {
                tracing::error!(error = %e, "no worker for this connector; dropping job");
                return Ok((Settle::Ack, JobOutcome::Dropped));
            }
        };
        labels.kind.clone_from(&row.kind);
        with_kind!(kind, |K| self
            .run_kind::<K>(row, job, delivered, labels)
            .await)
    }

    async fn run_kind<K: WorkerKind>(
        &self,
        row: onramp_store::entity::connector::Model,
        job: &ConnectorJob,
        delivered: i64,
        labels: &mut JobLabels,
    ) -> Result<Verdict, onramp_store::Error> {
        let state = row.machine_state::<K>()?;
        let Some(action) = K::parse_action(&job.action, &state) else {
            tracing::error!(connector = %row.id, action = %job.action, "unknown action; dropping job");
            return Ok((Settle::Ack, JobOutcome::Dropped));
        };
        // The machine's own name, not the payload's: labels stay bounded.
        labels.action = K::action_name(action).to_owned();
        // The connector moved on (a redelivery after a crash, or a poll made
        // stale by a delete): the job's work is done or no longer wanted.
        if K::current_action(&state) != Some(action) {
            tracing::debug!(connector = %row.id, action = %job.action, state = %row.state, "stale job");
            return Ok((Settle::Ack, JobOutcome::Stale));
        }
        // A look changes nothing until its outcome commits, and that commit
        // is guarded by the step like every other: it needs no lease, so a
        // poll that sees nothing new costs no write at all.
        if onramp_store::jobs::is_poll(K::action_name(action)) {
            return self.run_leased::<K>(&row, &state, action, delivered).await;
        }
        let holder = &self.cfg.worker_id;
        if !store::try_lease(&self.db, row.id, holder, self.cfg.lease).await? {
            // Another worker is mid-action on this connector; try again soon.
            return Ok((Settle::Nak(Duration::from_millis(300)), JobOutcome::Busy));
        }
        let settle = self.run_leased::<K>(&row, &state, action, delivered).await;
        // A commit hands the lease back itself; every other outcome must.
        store::release_lease(&self.db, row.id, holder).await?;
        settle
    }

    async fn run_leased<K: WorkerKind>(
        &self,
        row: &onramp_store::entity::connector::Model,
        state: &K::State,
        action: K::Action,
        delivered: i64,
    ) -> Result<Verdict, onramp_store::Error> {
        let name = K::action_name(action);
        let (event, actor, csp_ref) = match K::execute(K::executor(&self.executors), action, row)
            .await?
        {
            Step::Retry(reason) => {
                tracing::warn!(connector = %row.id, action = name, attempt = delivered, %reason, "transient failure; will retry");
                self.record_retry(row, name, &reason).await?;
                return Ok((Settle::Nak(self.backoff(delivered)), JobOutcome::Retry));
            }
            Step::RetryIn(reason, after) => {
                tracing::warn!(connector = %row.id, action = name, attempt = delivered, %reason, retry_after_ms = after.as_millis() as u64, "throttled; will retry");
                self.record_retry(row, name, &reason).await?;
                return Ok((
                    Settle::Nak(after.max(self.backoff(delivered))),
                    JobOutcome::Throttled,
                ));
            }
            Step::Wait(d) => return Ok((Settle::Nak(d), JobOutcome::Waiting)),
            Step::Queued => {
                tracing::info!(connector = %row.id, action = name, "router change queued; the PE's writer settles it");
                return Ok((Settle::Ack, JobOutcome::Queued));
            }
            Step::Parked => {
                if row.last_error.is_some() {
                    store::set_last_error_cleared(&self.db, row.id, row.step).await?;
                }
                tracing::info!(connector = %row.id, action = name, "done; waiting for a person");
                return Ok((Settle::Ack, JobOutcome::Parked));
            }
            Step::Done {
                event,
                actor,
                csp_ref,
            } => (event, actor, csp_ref),
        };
        let holder = Some(self.cfg.worker_id.clone());
        match transition::<K>(row, state, action, &event, actor, csp_ref, holder)? {
            Next::StillWaiting => {
                if row.last_error.is_some() {
                    store::set_last_error_cleared(&self.db, row.id, row.step).await?;
                }
                Ok((Settle::Nak(self.cfg.poll_interval), JobOutcome::Waiting))
            }
            Next::Ignored(note) => {
                tracing::info!(connector = %row.id, %note, "event ignored");
                Ok((Settle::Ack, JobOutcome::Ignored))
            }
            Next::Commit(t) => {
                if store::commit_transition(&self.db, row.id, &t).await? {
                    tracing::info!(connector = %row.id, from = %row.state, to = %t.state, "{}", t.message);
                    Ok((Settle::Ack, JobOutcome::Done))
                } else {
                    // A delete request moved the connector while we worked; look again.
                    Ok((Settle::Nak(Duration::from_millis(100)), JobOutcome::Busy))
                }
            }
        }
    }

    async fn record_retry(
        &self,
        row: &onramp_store::entity::connector::Model,
        action: &str,
        reason: &str,
    ) -> Result<(), onramp_store::Error> {
        store::set_last_error(
            &self.db,
            row.id,
            row.step,
            &format!("retrying {action}: {reason}"),
        )
        .await
    }
}
