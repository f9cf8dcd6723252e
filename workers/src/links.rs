//! The link worker: one step of a link per job. The step comes from the
//! pure reconciler (`onramp_state_machines::link::next`) over the link's
//! rows; its router work goes through the same per-PE queue and validated
//! push as the connectors' own changes; its outcome is committed with the
//! next job (`onramp_store::links::commit_step`), and only then acked.
//!
//! ```text
//!  job {link, step} ─> stale? ─> lease ─> next(state, members) ─> router work ─> commit outcome + next job
//!     move:       per PE of the member, ONE queued change = detach from VRF a + create in VRF b,
//!                 pushed in one commit (the BGP session flaps once)
//!     remove_vrf: per PE no live member uses, routing-instances/instance remove
//! ```
//!
//! Re-running a step is harmless: a move re-applied finds the attachment
//! already where it goes (the detach of what is absent is a no-op, the
//! creation a merge, and the unit is never removed, so the VRF that holds
//! it keeps a valid reference), and a removed VRF stays removed.

use std::time::Duration;

use onramp_router_templates::VrfIntent;
use onramp_state_machines::link::{self as machine, LinkState, Member, MemberState, Step, Vrf};
use onramp_store::entity::{connector, link};
use onramp_store::jobs::LinkJob;
use onramp_store::links::{self as store, StepCommit};
use onramp_store::secrets::SecretBox;
use onramp_store::{DatabaseConnection, connectors, inventory, pe_changes};
use uuid::Uuid;

use crate::pe_writer::{MOVE_OP, MovePayload, PeWriter, VRF_DELETE_OP};
use crate::router_push::{Pushed, RouterOutcome, push_change};

/// The VRF a connector's attachments are in now: its link's once it has
/// joined one (also while it leaves, until it is back), else its tenant's.
/// The connector's own pushes (a teardown of a linked connector) use it.
pub(crate) async fn vrf_of(
    db: &DatabaseConnection,
    row: &connector::Model,
) -> Result<VrfIntent, onramp_store::Error> {
    if let Some(l) = store::vrf_link_of(db, row.id).await? {
        return Ok(onramp_kinds::link_vrf(&l));
    }
    let tenant = inventory::tenant(db, row.tenant_id).await?;
    Ok(onramp_kinds::tenant_vrf(&tenant))
}

/// What the runner does with the job's message.
pub(crate) enum Settled {
    Ack,
    Nak(Duration),
    /// Transient failure: retry with backoff (recorded on the link).
    Retry,
}

pub(crate) struct LinkWorker {
    db: DatabaseConnection,
    secrets: SecretBox,
    writer: std::sync::Arc<PeWriter>,
    holder: String,
    lease: Duration,
}

/// The router work's result, for one step.
enum Work {
    Done(String),
    Refused(String),
    /// A change is queued; the PE's writer wakes the link when it has
    /// settled it.
    Queued,
    Retry(String),
}

impl LinkWorker {
    pub(crate) fn new(
        db: DatabaseConnection,
        cfg: &crate::WorkerConfig,
        writer: std::sync::Arc<PeWriter>,
    ) -> Self {
        Self {
            db,
            secrets: cfg.secrets.clone(),
            writer,
            holder: cfg.worker_id.clone(),
            lease: cfg.lease,
        }
    }

    pub(crate) async fn run(&self, job: &LinkJob) -> Result<Settled, onramp_store::Error> {
        let Some(l) = store::get(&self.db, job.link_id).await? else {
            tracing::warn!(link = %job.link_id, "job for unknown link; dropping");
            return Ok(Settled::Ack);
        };
        if l.step != job.step {
            tracing::debug!(link = %l.id, step = job.step, now = l.step, "stale link job");
            return Ok(Settled::Ack);
        }
        if !store::try_lease(&self.db, l.id, &self.holder, self.lease).await? {
            return Ok(Settled::Nak(Duration::from_millis(300)));
        }
        let settled = self.run_leased(&l).await;
        store::release_lease(&self.db, l.id, &self.holder).await?;
        settled
    }

    async fn members(
        &self,
        l: &link::Model,
    ) -> Result<Vec<(Member, connector::Model)>, onramp_store::Error> {
        let view = store::view(&self.db, l.id).await?;
        let mut out = Vec::new();
        for m in view.members {
            let Some(state) = MemberState::parse(&m.state) else {
                return Err(onramp_store::Error::Corrupt(format!(
                    "link {} member {}: state {}",
                    l.id, m.connector_id, m.state
                )));
            };
            if state == MemberState::Removed {
                continue;
            }
            let row = connectors::get(&self.db, m.connector_id)
                .await?
                .ok_or_else(|| onramp_store::Error::NotFound {
                    what: format!("connector {}", m.connector_id),
                })?;
            // Which PEs it is on does not depend on the VRF.
            let pes = onramp_kinds::attachments_of(&row, &onramp_kinds::link_vrf(l), "")?
                .into_iter()
                .map(|(pe, _)| pe.to_string())
                .collect();
            out.push((
                Member {
                    connector: m.connector_id.to_string(),
                    state,
                    pes,
                },
                row,
            ));
        }
        Ok(out)
    }

    async fn run_leased(&self, l: &link::Model) -> Result<Settled, onramp_store::Error> {
        let Some(state) = LinkState::parse(&l.state) else {
            return Err(onramp_store::Error::Corrupt(format!(
                "link {}: state {}",
                l.id, l.state
            )));
        };
        let rows = self.members(l).await?;
        let members: Vec<Member> = rows.iter().map(|(m, _)| m.clone()).collect();
        let Some(step) = machine::next(state, &members) else {
            return Ok(Settled::Ack);
        };
        let row = step
            .connector()
            .and_then(|c| rows.iter().find(|(m, _)| m.connector == c))
            .map(|(_, r)| r);
        let work = match (&step, row) {
            (Step::Move { to, .. }, Some(row)) => self.do_move(l, row, *to).await?,
            (Step::RemoveVrf { pes, .. }, Some(row)) => self.remove_vrf(l, row, pes).await?,
            (Step::Forget { connector }, _) => Work::Done(format!(
                "connector {connector} is out of the link; another member still uses VRF {} on its PEs, so it stays",
                l.vrf_name
            )),
            (Step::Settle { state }, _) => Work::Done(match state {
                LinkState::Deleted => format!(
                    "link deleted: VRF {} is gone from every PE, route target {} released",
                    l.vrf_name, l.route_target
                ),
                _ => format!(
                    "link configured: {} connectors in VRF {} (route target {})",
                    members
                        .iter()
                        .filter(|m| m.state == MemberState::Joined)
                        .count(),
                    l.vrf_name,
                    l.route_target
                ),
            }),
            (Step::Move { connector, .. } | Step::RemoveVrf { connector, .. }, None) => {
                return Err(onramp_store::Error::Corrupt(format!(
                    "link {}: member {connector} has no connector row",
                    l.id
                )));
            }
        };
        let (outcome, message, actor) = match work {
            Work::Done(msg) => (step.outcome(), msg, "router"),
            Work::Refused(reason) => match step.on_refused() {
                Some(o) => (o, format!("refused, undoing: {reason}"), "router"),
                None => {
                    store::set_last_error(&self.db, l.id, l.step, &reason).await?;
                    return Ok(Settled::Retry);
                }
            },
            Work::Queued => return Ok(Settled::Ack),
            Work::Retry(reason) => {
                tracing::warn!(link = %l.id, %reason, "link step will be retried");
                store::set_last_error(&self.db, l.id, l.step, &format!("retrying: {reason}"))
                    .await?;
                return Ok(Settled::Retry);
            }
        };
        // Whether another step follows, from the state this one leaves.
        let mut after = members.clone();
        if let Some((c, s)) = &outcome.member
            && let Some(m) = after.iter_mut().find(|m| &m.connector == c)
        {
            m.state = *s;
        }
        let after: Vec<Member> = after
            .into_iter()
            .filter(|m| m.state != MemberState::Removed)
            .collect();
        let new_state = outcome.link.unwrap_or(state);
        let commit = StepCommit {
            expected_step: l.step,
            member: match &outcome.member {
                Some((c, s)) => Some((
                    c.parse::<Uuid>()
                        .map_err(|e| onramp_store::Error::Corrupt(e.to_string()))?,
                    s.as_str().to_string(),
                )),
                None => None,
            },
            link_state: outcome.link.map(|s| s.as_str().to_string()),
            event: outcome.event.to_string(),
            message: message.clone(),
            actor: actor.into(),
            more: machine::next(new_state, &after).is_some(),
            release_route_target: outcome.link == Some(LinkState::Deleted),
            lease_holder: self.holder.clone(),
        };
        if store::commit_step(&self.db, l.id, &commit).await? {
            tracing::info!(link = %l.id, event = outcome.event, "{message}");
            Ok(Settled::Ack)
        } else {
            // The API moved the link on (a member added, a delete) while we
            // worked; its job carries the next step.
            Ok(Settled::Ack)
        }
    }

    /// A refused change the link cannot fail on: says why on the link and
    /// puts the change back in its PE's queue, after a growing delay.
    async fn retry_later(
        &self,
        l: &link::Model,
        change: &onramp_store::entity::pe_change::Model,
        reason: &str,
    ) -> Result<(), onramp_store::Error> {
        tracing::warn!(link = %l.id, %reason, "link step will be retried");
        store::set_last_error(&self.db, l.id, l.step, &format!("retrying: {reason}")).await?;
        pe_changes::requeue(&self.db, change).await
    }

    async fn do_move(
        &self,
        l: &link::Model,
        row: &connector::Model,
        to: Vrf,
    ) -> Result<Work, onramp_store::Error> {
        let tenant = inventory::tenant(&self.db, row.tenant_id).await?;
        let (from_vrf, to_vrf) = match to {
            Vrf::Link => (onramp_kinds::tenant_vrf(&tenant), onramp_kinds::link_vrf(l)),
            Vrf::Tenant => (onramp_kinds::link_vrf(l), onramp_kinds::tenant_vrf(&tenant)),
        };
        let sealed = onramp_kinds::sealed_auth_key(row)?;
        let key = if sealed.is_empty() {
            String::new()
        } else {
            match self.secrets.open(&sealed) {
                Ok(k) => k,
                Err(e) => return Ok(Work::Retry(format!("BGP key of {}: {e}", row.id))),
            }
        };
        let from = onramp_kinds::attachments_of(row, &from_vrf, &key)?;
        let into = onramp_kinds::attachments_of(row, &to_vrf, &key)?;
        let mut pes = Vec::new();
        let mut refused = Vec::new();
        let mut queued = false;
        for (i, ((pe, remove), (_, create))) in from.into_iter().zip(into).enumerate() {
            // Keyed by the member (pe_changes rows belong to a connector)
            // and the link's step, which only grows: unique per move.
            let op = format!("{MOVE_OP}:{}:{i}", l.id);
            let payload = self.writer.seal(&MovePayload { remove, create });
            let (pushed, change) =
                push_change(&self.writer, &self.db, pe, (row.id, l.step, &op), &payload).await?;
            let pe_name = inventory::pe(&self.db, pe).await?.name;
            match pushed {
                Pushed::Settled(RouterOutcome::Done) => pes.push(pe_name),
                Pushed::Settled(RouterOutcome::Refused(reason)) if to == Vrf::Link => {
                    refused.push(format!("{pe_name}: {reason}"));
                }
                Pushed::Settled(RouterOutcome::Refused(reason)) => {
                    // Going back has no failure exit: queue it again, after
                    // a growing delay; the writer wakes the link once more.
                    self.retry_later(l, &change, &format!("{pe_name}: {reason}"))
                        .await?;
                    queued = true;
                }
                // Every leg is queued before the job rests, so the PEs
                // push them side by side.
                Pushed::Queued => queued = true,
            }
        }
        if queued {
            return Ok(Work::Queued);
        }
        if !refused.is_empty() {
            return Ok(Work::Refused(refused.join("; ")));
        }
        Ok(Work::Done(match to {
            Vrf::Link => format!(
                "connector {} moved into VRF {} (route target {}) on {}",
                row.id,
                l.vrf_name,
                l.route_target,
                names(&pes)
            ),
            Vrf::Tenant => format!(
                "connector {} moved back into the tenant's VRF {} on {}",
                row.id,
                tenant.vrf_name,
                names(&pes)
            ),
        }))
    }

    /// Removes the link's VRF from `pes`, for the member `row` whose
    /// departure left them without a live member.
    async fn remove_vrf(
        &self,
        l: &link::Model,
        row: &connector::Model,
        pes: &[String],
    ) -> Result<Work, onramp_store::Error> {
        let vrf = onramp_kinds::link_vrf(l);
        let mut done = Vec::new();
        let mut queued = false;
        for pe in pes {
            let pe: Uuid = pe
                .parse()
                .map_err(|e: uuid::Error| onramp_store::Error::Corrupt(e.to_string()))?;
            let op = format!("{VRF_DELETE_OP}:{}:{pe}", l.id);
            let payload = self.writer.seal(&vrf);
            let (pushed, change) =
                push_change(&self.writer, &self.db, pe, (row.id, l.step, &op), &payload).await?;
            let pe_name = inventory::pe(&self.db, pe).await?.name;
            match pushed {
                Pushed::Settled(RouterOutcome::Done) => done.push(pe_name),
                Pushed::Settled(RouterOutcome::Refused(reason)) => {
                    self.retry_later(l, &change, &format!("{pe_name}: {reason}"))
                        .await?;
                    queued = true;
                }
                Pushed::Queued => queued = true,
            }
        }
        if queued {
            return Ok(Work::Queued);
        }
        Ok(Work::Done(format!(
            "VRF {} removed from {}: no unit of the link is left there",
            l.vrf_name,
            names(&done)
        )))
    }
}

fn names(pes: &[String]) -> String {
    if pes.is_empty() {
        "no PE (nothing was configured)".into()
    } else {
        pes.join(", ")
    }
}
