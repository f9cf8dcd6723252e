//! The transactional outbox: jobs are written in the same transaction as the
//! state that needs them, and the relay publishes them afterwards.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, sea_query::Expr,
};

use crate::Result;
use crate::entity::outbox;

/// Writes the job in the caller's transaction, with the id of the request
/// the current work serves, for the relay to put on the message.
pub async fn push<C: ConnectionTrait>(db: &C, subject: &str, payload: &str) -> Result<()> {
    outbox::ActiveModel {
        subject: Set(subject.into()),
        payload: Set(payload.into()),
        created_at: Set(Utc::now()),
        published_at: Set(None),
        request_id: Set(onramp_signals::request_id::current()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The oldest unpublished rows, in commit order.
pub async fn pending(db: &DatabaseConnection, limit: u64) -> Result<Vec<outbox::Model>> {
    Ok(outbox::Entity::find()
        .filter(outbox::Column::PublishedAt.is_null())
        .order_by_asc(outbox::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

pub async fn mark_published(db: &DatabaseConnection, id: i64) -> Result<()> {
    outbox::Entity::update_many()
        .col_expr(outbox::Column::PublishedAt, Expr::value(Some(Utc::now())))
        .filter(outbox::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Marks many rows published in one statement.
pub async fn mark_published_many(db: &DatabaseConnection, ids: &[i64]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    outbox::Entity::update_many()
        .col_expr(outbox::Column::PublishedAt, Expr::value(Some(Utc::now())))
        .filter(outbox::Column::Id.is_in(ids.iter().copied()))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes rows published before `older_than`; they only matter until
/// JetStream's duplicate window has passed.
pub async fn prune(db: &DatabaseConnection, older_than: chrono::DateTime<Utc>) -> Result<u64> {
    Ok(outbox::Entity::delete_many()
        .filter(outbox::Column::PublishedAt.lt(older_than))
        .exec(db)
        .await?
        .rows_affected)
}
