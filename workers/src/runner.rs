//! Pulls jobs, runs them, and settles each message (ack or nak) only after
//! the outcome is committed.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{AckKind, Message};
use futures::StreamExt;
use onramp_state_machines::aws_hosted_vif::{self as vif, Action};
use onramp_store::DatabaseConnection;
use onramp_store::connectors::{self as store, Transition};
use onramp_store::jobs::ConnectorJob;
use tokio::sync::Semaphore;

use crate::actions::{Actions, Step};
use crate::{Error, WorkerConfig, queue};

/// Runs jobs until `shutdown` fires.
pub async fn run_worker(
    db: DatabaseConnection,
    cfg: WorkerConfig,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), Error> {
    let js = queue::connect_jetstream(&cfg.nats_url).await?;
    let consumer = queue::ensure_stream_and_consumer(&js, cfg.ack_wait).await?;
    let ctx = Arc::new(Ctx {
        actions: Actions::new(db.clone(), &cfg),
        db,
        cfg: cfg.clone(),
    });
    let permits = Arc::new(Semaphore::new(cfg.max_in_flight));
    tracing::info!(worker = %cfg.worker_id, "worker started");
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
                tracing::warn!(error = %e, "fetching jobs failed; retrying");
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
                    tracing::warn!(error = %e, "receiving a job failed");
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
    // Let running jobs settle their messages before returning.
    let _ = permits.acquire_many(cfg.max_in_flight as u32).await;
    Ok(())
}

struct Ctx {
    db: DatabaseConnection,
    cfg: WorkerConfig,
    actions: Actions,
}

enum Settle {
    Ack,
    Nak(Duration),
}

impl Ctx {
    async fn handle(&self, msg: Message) {
        let delivered = msg.info().map(|i| i.delivered).unwrap_or(1);
        let settle = match serde_json::from_slice::<ConnectorJob>(&msg.payload) {
            Ok(job) => match self.run(&job, delivered).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(connector = %job.connector_id, action = %job.action, error = %e, "job failed; will retry");
                    Settle::Nak(self.backoff(delivered))
                }
            },
            Err(e) => {
                // Retrying cannot fix a payload we cannot read.
                tracing::error!(error = %e, "dropping unreadable job");
                Settle::Ack
            }
        };
        let res = match settle {
            Settle::Ack => msg.ack().await,
            Settle::Nak(d) => msg.ack_with(AckKind::Nak(Some(d))).await,
        };
        if let Err(e) = res {
            // The job will be redelivered after ack_wait; actions are idempotent.
            tracing::warn!(error = %e, "settling a job failed");
        }
    }

    fn backoff(&self, delivered: i64) -> Duration {
        let exp = delivered.clamp(1, 10) as u32 - 1;
        Duration::from_millis(500u64 << exp).min(self.cfg.max_backoff)
    }

    async fn run(&self, job: &ConnectorJob, delivered: i64) -> Result<Settle, onramp_store::Error> {
        let Some(row) = store::get(&self.db, job.connector_id).await? else {
            tracing::warn!(connector = %job.connector_id, "job for unknown connector; dropping");
            return Ok(Settle::Ack);
        };
        if row.kind != "aws-hosted-vif" {
            tracing::error!(connector = %row.id, kind = %row.kind, "no worker for this kind; dropping job");
            return Ok(Settle::Ack);
        }
        let state: vif::State = serde_json::from_str(&row.machine_state).map_err(|e| {
            onramp_store::Error::Corrupt(format!("machine state of {}: {e}", row.id))
        })?;
        let Ok(action) =
            serde_json::from_value::<Action>(serde_json::Value::String(job.action.clone()))
        else {
            tracing::error!(connector = %row.id, action = %job.action, "unknown action; dropping job");
            return Ok(Settle::Ack);
        };
        // The connector moved on (a redelivery after a crash, or a poll made
        // stale by a delete): the job's work is done or no longer wanted.
        if vif::current_action(&state) != Some(action) {
            tracing::debug!(connector = %row.id, action = %job.action, state = %row.state, "stale job");
            return Ok(Settle::Ack);
        }
        let holder = &self.cfg.worker_id;
        if !store::try_lease(&self.db, row.id, holder, self.cfg.lease).await? {
            // Another worker is mid-action on this connector; try again soon.
            return Ok(Settle::Nak(Duration::from_millis(300)));
        }
        let settle = self.run_leased(&row, &state, action, delivered).await;
        // A commit hands the lease back itself; every other outcome must.
        store::release_lease(&self.db, row.id, holder).await?;
        settle
    }

    async fn run_leased(
        &self,
        row: &onramp_store::entity::connector::Model,
        state: &vif::State,
        action: Action,
        delivered: i64,
    ) -> Result<Settle, onramp_store::Error> {
        let step = match self.actions.execute(action, row).await? {
            Step::Retry(reason) => {
                tracing::warn!(connector = %row.id, action = action.as_str(), attempt = delivered, %reason, "transient failure; will retry");
                store::set_last_error(
                    &self.db,
                    row.id,
                    row.step,
                    &format!("retrying {}: {reason}", action.as_str()),
                )
                .await?;
                return Ok(Settle::Nak(self.backoff(delivered)));
            }
            Step::Wait(d) => return Ok(Settle::Nak(d)),
            Step::Done {
                event,
                actor,
                csp_ref,
            } => (event, actor, csp_ref),
        };
        let (event, actor, csp_ref) = step;
        let out = vif::handle(state, &event);
        if out.is_still_waiting() {
            if row.last_error.is_some() {
                store::set_last_error_cleared(&self.db, row.id, row.step).await?;
            }
            return Ok(Settle::Nak(self.cfg.poll_interval));
        }
        if out.is_ignored() {
            tracing::info!(connector = %row.id, note = %out.note, "event ignored");
            return Ok(Settle::Ack);
        }
        let t = Transition {
            expected_step: row.step,
            state: vif::state_name(&out.state).into(),
            machine_state: serde_json::to_string(&out.state).expect("state serializes"),
            waiting_on: vif::waiting_on(&out.state).as_str().into(),
            event: event.name().into(),
            from_state: Some(row.state.clone()),
            message: out.note.clone(),
            actor: actor.into(),
            next_action: out.actions.first().map(|a| a.as_str().to_string()),
            csp_ref,
            last_error: None,
            release_resources: action == Action::ReleaseResources,
            lease_holder: Some(self.cfg.worker_id.clone()),
        };
        if store::commit_transition(&self.db, row.id, &t).await? {
            tracing::info!(connector = %row.id, from = %row.state, to = %t.state, "{}", out.note);
            Ok(Settle::Ack)
        } else {
            // A delete request moved the connector while we worked; look again.
            Ok(Settle::Nak(Duration::from_millis(100)))
        }
    }
}
