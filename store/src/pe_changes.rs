//! The per-PE change queue and the PE writer lease. Workers queue router
//! changes here; whichever worker holds a PE's lease pushes everything queued
//! for that PE in one commit and records each change's outcome.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, sea_query::Expr,
};
use uuid::Uuid;

use crate::Result;
use crate::entity::{pe_change, pe_commit, pe_router};

pub const PENDING: &str = "pending";
pub const DONE: &str = "done";
pub const FAILED: &str = "failed";

/// Queues the change unless it is already queued (a redelivered job), and
/// returns the row either way.
pub async fn enqueue(
    db: &DatabaseConnection,
    pe_id: Uuid,
    connector_id: Uuid,
    step: i64,
    op: &str,
    sealed_payload: &str,
) -> Result<pe_change::Model> {
    if let Some(existing) = find(db, connector_id, step, op).await? {
        return Ok(existing);
    }
    let inserted = pe_change::ActiveModel {
        pe_id: Set(pe_id),
        connector_id: Set(connector_id),
        step: Set(step),
        op: Set(op.into()),
        payload: Set(sealed_payload.into()),
        status: Set(PENDING.into()),
        error: Set(None),
        created_at: Set(Utc::now()),
        done_at: Set(None),
        attempts: Set(0),
        retry_at_ms: Set(None),
        // The writer settles the connector with it current again, so the
        // job that follows the router's answer carries it on.
        request_id: Set(onramp_signals::request_id::current()),
        ..Default::default()
    }
    .insert(db)
    .await;
    match inserted {
        Ok(m) => Ok(m),
        // Another delivery of the same job queued it a moment ago.
        Err(e) if crate::error::is_contention(&e) => find(db, connector_id, step, op)
            .await?
            .ok_or(crate::Error::Db(e)),
        Err(e) => Err(e.into()),
    }
}

pub async fn find(
    db: &impl ConnectionTrait,
    connector_id: Uuid,
    step: i64,
    op: &str,
) -> Result<Option<pe_change::Model>> {
    Ok(pe_change::Entity::find()
        .filter(pe_change::Column::ConnectorId.eq(connector_id))
        .filter(pe_change::Column::Step.eq(step))
        .filter(pe_change::Column::Op.eq(op))
        .one(db)
        .await?)
}

/// The oldest pending changes of a PE that are due, in queue order.
pub async fn pending(
    db: &DatabaseConnection,
    pe_id: Uuid,
    limit: u64,
) -> Result<Vec<pe_change::Model>> {
    let now = Utc::now().timestamp_millis();
    Ok(pe_change::Entity::find()
        .filter(pe_change::Column::PeId.eq(pe_id))
        .filter(pe_change::Column::Status.eq(PENDING))
        .filter(
            sea_orm::Condition::any()
                .add(pe_change::Column::RetryAtMs.is_null())
                .add(pe_change::Column::RetryAtMs.lte(now)),
        )
        .order_by_asc(pe_change::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Every change waiting for the PE, oldest first: those due, and those
/// put back after a refusal until their `retry_at_ms` (what an operator
/// looking at the PE's queue wants to see, where [`pending`] is what the
/// writer may take now).
pub async fn queued(db: &DatabaseConnection, pe_id: Uuid) -> Result<Vec<pe_change::Model>> {
    Ok(pe_change::Entity::find()
        .filter(pe_change::Column::PeId.eq(pe_id))
        .filter(pe_change::Column::Status.eq(PENDING))
        .order_by_asc(pe_change::Column::Id)
        .all(db)
        .await?)
}

/// The PE's commits before commit `before` (all, without one), newest
/// first, at most `limit`.
pub async fn recent_commits(
    db: &DatabaseConnection,
    pe_id: Uuid,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<crate::entity::pe_commit::Model>> {
    use crate::entity::pe_commit;
    let mut q = pe_commit::Entity::find().filter(pe_commit::Column::PeId.eq(pe_id));
    if let Some(b) = before {
        q = q.filter(pe_commit::Column::Id.lt(b));
    }
    Ok(q.order_by_desc(pe_commit::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

pub async fn finish<C: ConnectionTrait>(
    db: &C,
    id: i64,
    status: &str,
    error: Option<String>,
) -> Result<()> {
    pe_change::Entity::update_many()
        .col_expr(pe_change::Column::Status, Expr::value(status.to_string()))
        .col_expr(pe_change::Column::Error, Expr::value(error))
        .col_expr(pe_change::Column::DoneAt, Expr::value(Some(Utc::now())))
        .filter(pe_change::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Marks the changes of one commit done, in one statement and with one
/// `done_at`, so the batch a change went in stays visible.
pub async fn finish_batch<C: ConnectionTrait>(db: &C, ids: &[i64]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    pe_change::Entity::update_many()
        .col_expr(pe_change::Column::Status, Expr::value(DONE.to_string()))
        .col_expr(
            pe_change::Column::Error,
            Expr::value(Option::<String>::None),
        )
        .col_expr(pe_change::Column::DoneAt, Expr::value(Some(Utc::now())))
        .filter(pe_change::Column::Id.is_in(ids.iter().copied()))
        .exec(db)
        .await?;
    Ok(())
}

/// What one commit of a PE writer carried and cost.
#[derive(Clone, Debug)]
pub struct CommitRecord {
    pub pe_id: Uuid,
    pub writer: String,
    pub changes: usize,
    pub attachments_before: usize,
    pub push: std::time::Duration,
}

/// Records a commit, in the transaction that settles its changes.
pub async fn record_commit<C: ConnectionTrait>(db: &C, r: &CommitRecord) -> Result<()> {
    pe_commit::ActiveModel {
        pe_id: Set(r.pe_id),
        writer: Set(r.writer.clone()),
        changes: Set(i32::try_from(r.changes).unwrap_or(i32::MAX)),
        attachments_before: Set(i32::try_from(r.attachments_before).unwrap_or(i32::MAX)),
        push_ms: Set(i64::try_from(r.push.as_millis()).unwrap_or(i64::MAX)),
        at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Puts a refused change back in the queue, to be taken again after a
/// delay that doubles with each refusal (0.5 s up to a minute): a teardown
/// has no failure exit, and retrying it must not hammer the router.
pub async fn requeue<C: ConnectionTrait>(db: &C, change: &pe_change::Model) -> Result<()> {
    let attempts = change.attempts.saturating_add(1);
    let delay_ms = (500_i64 << attempts.clamp(0, 7) as u32).min(60_000);
    pe_change::Entity::update_many()
        .col_expr(pe_change::Column::Status, Expr::value(PENDING.to_string()))
        .col_expr(
            pe_change::Column::DoneAt,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .col_expr(pe_change::Column::Attempts, Expr::value(attempts))
        .col_expr(
            pe_change::Column::RetryAtMs,
            Expr::value(Some(Utc::now().timestamp_millis() + delay_ms)),
        )
        .filter(pe_change::Column::Id.eq(change.id))
        .filter(pe_change::Column::Status.eq(FAILED))
        .exec(db)
        .await?;
    Ok(())
}

/// Takes the PE's writer lease unless another holder has an unexpired one.
pub async fn try_lease(
    db: &DatabaseConnection,
    pe_id: Uuid,
    holder: &str,
    duration: std::time::Duration,
) -> Result<bool> {
    LEASE.take(db, pe_id, holder, duration).await
}

pub async fn release_lease(db: &DatabaseConnection, pe_id: Uuid, holder: &str) -> Result<()> {
    LEASE.release(db, pe_id, holder).await
}

/// Renews the PE's writer lease inside the caller's transaction, or says it
/// is lost. The writer settles a batch only while it still holds the PE:
/// a writer that stalled past its lease (and was replaced) rolls back, and
/// its changes stay pending for the new holder, which re-validates them
/// against running.
pub async fn fence<C: ConnectionTrait>(
    tx: &C,
    pe_id: Uuid,
    holder: &str,
    duration: std::time::Duration,
) -> Result<bool> {
    LEASE.renew(tx, pe_id, holder, duration).await
}

const LEASE: crate::lease::Lease<pe_router::Entity> = crate::lease::Lease::<pe_router::Entity> {
    id: pe_router::Column::Id,
    until_ms: pe_router::Column::LeaseUntilMs,
    holder: pe_router::Column::LeaseHolder,
};
