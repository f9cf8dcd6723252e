//! Router changes handed to people. A teardown has no failure exit: a PE
//! that refuses to remove an attachment is asked again, with a growing
//! delay, until it takes it. Past a limit of refusals the change stops
//! being retried and becomes an ops task: the connector waits on ops, and
//! an operator either retries it now (the cause is fixed), marks it done by
//! hand (they removed the config themselves: the teardown goes on), or
//! gives up (the connector stays where it is, holding its resources, until
//! someone marks the change done). Every decision is audited with who made
//! it and why.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set, sea_query::Expr,
};
use uuid::Uuid;

use crate::connectors::Transition;
use crate::entity::{connector, ops_audit, pe_change, pe_router};
use crate::pe_changes::{DONE, PENDING};
use crate::{Error, Result};

/// Refused too often: no longer retried, waiting for an operator.
pub const STUCK: &str = "stuck";
/// An operator gave up on it; the connector keeps its resources.
pub const ABANDONED: &str = "abandoned";

/// A change handed to people, with what they need to decide.
#[derive(Clone, Debug)]
pub struct StuckChange {
    pub id: i64,
    pub status: String,
    pub pe_id: Uuid,
    pub pe: String,
    pub connector_id: Uuid,
    pub connector_state: String,
    pub tenant_id: Uuid,
    pub op: String,
    pub attempts: i32,
    pub error: Option<String>,
    pub since: DateTime<Utc>,
}

/// What the operator decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    RetryNow,
    DoneByHand,
    GiveUp,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::RetryNow => "retry_now",
            Decision::DoneByHand => "done_by_hand",
            Decision::GiveUp => "give_up",
        }
    }
}

/// Why a decision was refused.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("no stuck router change {0}")]
    NotFound(i64),
    #[error("router change {id} is {status}; only a stuck one can be {what}")]
    WrongStatus {
        id: i64,
        status: String,
        what: &'static str,
    },
    #[error("the connector moved on since the change was handed over; reload")]
    Moved,
    #[error(transparent)]
    Store(#[from] Error),
}

/// Hands change `change` to people: it is no longer retried, and its
/// connector waits on ops and says why.
pub async fn hand_over<C: ConnectionTrait>(
    db: &C,
    change: &pe_change::Model,
    why: &str,
) -> Result<()> {
    pe_change::Entity::update_many()
        .col_expr(pe_change::Column::Status, Expr::value(STUCK))
        .col_expr(pe_change::Column::Error, Expr::value(Some(why.to_string())))
        // This refusal counts too: it is the one that handed it over.
        .col_expr(
            pe_change::Column::Attempts,
            Expr::value(change.attempts.saturating_add(1)),
        )
        .col_expr(pe_change::Column::DoneAt, Expr::value(Some(Utc::now())))
        .filter(pe_change::Column::Id.eq(change.id))
        .exec(db)
        .await?;
    crate::connectors::set_held(db, change.connector_id, change.step, Some(why)).await
}

/// Every change handed to people (stuck, and given up), oldest first.
pub async fn list(db: &DatabaseConnection) -> Result<Vec<StuckChange>> {
    let rows = pe_change::Entity::find()
        .filter(pe_change::Column::Status.is_in([STUCK, ABANDONED]))
        .order_by_asc(pe_change::Column::Id)
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for c in rows {
        out.push(describe(db, c).await?);
    }
    Ok(out)
}

pub async fn get(db: &DatabaseConnection, id: i64) -> std::result::Result<StuckChange, Refusal> {
    let c = pe_change::Entity::find_by_id(id)
        .one(db)
        .await
        .map_err(Error::from)?
        .filter(|c| c.status == STUCK || c.status == ABANDONED)
        .ok_or(Refusal::NotFound(id))?;
    Ok(describe(db, c).await?)
}

async fn describe(db: &impl ConnectionTrait, c: pe_change::Model) -> Result<StuckChange> {
    let pe = pe_router::Entity::find_by_id(c.pe_id)
        .one(db)
        .await?
        .map(|p| p.name)
        .unwrap_or_else(|| c.pe_id.to_string());
    let row = connector::Entity::find_by_id(c.connector_id)
        .one(db)
        .await?
        .ok_or_else(|| Error::Corrupt(format!("router change {} has no connector", c.id)))?;
    Ok(StuckChange {
        id: c.id,
        status: c.status,
        pe_id: c.pe_id,
        pe,
        connector_id: c.connector_id,
        connector_state: row.state,
        tenant_id: row.tenant_id,
        op: c.op,
        attempts: c.attempts,
        error: c.error,
        since: c.done_at.unwrap_or(c.created_at),
    })
}

/// Applies an operator's decision on change `id`, audited with `actor` and
/// `reason`, in one transaction. `settle` is the connector's transition
/// for a change done by hand (its machine's answer to the PE having done
/// it), computed by the caller, which knows the machines.
pub async fn decide(
    db: &DatabaseConnection,
    id: i64,
    decision: Decision,
    actor: &str,
    reason: &str,
    settle: impl FnOnce(&connector::Model) -> Result<Option<Transition>>,
) -> std::result::Result<StuckChange, Refusal> {
    let tx = crate::db::begin_write(db).await.map_err(Error::from)?;
    let change = pe_change::Entity::find_by_id(id)
        .one(&tx)
        .await
        .map_err(Error::from)?
        .ok_or(Refusal::NotFound(id))?;
    let allowed: &[&str] = match decision {
        // Given up is final until someone marks it done by hand (the way
        // an admin releases what it holds).
        Decision::RetryNow | Decision::GiveUp => &[STUCK],
        Decision::DoneByHand => &[STUCK, ABANDONED],
    };
    if !allowed.contains(&change.status.as_str()) {
        let what = match decision {
            Decision::RetryNow => "retried",
            Decision::DoneByHand => "marked done",
            Decision::GiveUp => "given up",
        };
        return Err(if change.status == STUCK || change.status == ABANDONED {
            Refusal::WrongStatus {
                id,
                status: change.status,
                what,
            }
        } else {
            Refusal::NotFound(id)
        });
    }
    let row = connector::Entity::find_by_id(change.connector_id)
        .one(&tx)
        .await
        .map_err(Error::from)?
        .ok_or_else(|| Error::Corrupt(format!("router change {id} has no connector")))?;
    if row.step != change.step {
        return Err(Refusal::Moved);
    }
    let (status, note) = match decision {
        Decision::RetryNow => (PENDING, None),
        Decision::DoneByHand => (DONE, None),
        Decision::GiveUp => (
            ABANDONED,
            Some(format!(
                "ops gave up on this change ({reason}); the connector keeps its resources until the change is marked done by hand"
            )),
        ),
    };
    // Each column once: PostgreSQL refuses an UPDATE that sets one twice.
    let done_at = (decision != Decision::RetryNow).then(Utc::now);
    let mut update = pe_change::Entity::update_many()
        .col_expr(pe_change::Column::Status, Expr::value(status))
        .col_expr(pe_change::Column::DoneAt, Expr::value(done_at))
        .filter(pe_change::Column::Id.eq(id))
        .filter(pe_change::Column::Status.eq(change.status.clone()));
    if decision == Decision::RetryNow {
        update = update
            .col_expr(pe_change::Column::Attempts, Expr::value(0))
            .col_expr(
                pe_change::Column::RetryAtMs,
                Expr::value(Option::<i64>::None),
            );
    }
    if update.exec(&tx).await.map_err(Error::from)?.rows_affected == 0 {
        return Err(Refusal::Moved);
    }
    match decision {
        // Back to the router: its writer takes it on its next turn.
        Decision::RetryNow => {
            crate::connectors::set_held(&tx, row.id, change.step, None).await?;
        }
        Decision::GiveUp => {
            crate::connectors::set_held(&tx, row.id, change.step, note.as_deref()).await?;
        }
        Decision::DoneByHand => {
            if let Some(mut t) = settle(&row)? {
                t.actor = actor.to_string();
                t.message = format!("{} by hand ({reason}): {}", actor, t.message);
                if !crate::connectors::apply_transition(&tx, row.id, &t).await? {
                    return Err(Refusal::Moved);
                }
            }
        }
    }
    ops_audit::ActiveModel {
        task_id: Set(None),
        connector_id: Set(row.id),
        actor: Set(actor.into()),
        action: Set(decision.as_str().into()),
        detail: Set(serde_json::json!({
            "router_change": id,
            "op": change.op,
            "pe_id": change.pe_id,
            "reason": reason,
            "router_said": change.error,
        })
        .to_string()),
        at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&tx)
    .await
    .map_err(Error::from)?;
    tx.commit().await.map_err(Error::from)?;
    let c = pe_change::Entity::find_by_id(id)
        .one(db)
        .await
        .map_err(Error::from)?
        .ok_or(Refusal::NotFound(id))?;
    Ok(describe(db, c).await?)
}
